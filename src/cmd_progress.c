/* cmd_progress: the progress line on a terminal; see cmd_progress.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "cmd_progress.h"
#include "escape.h"
#include "monotime.h"
#include "report.h"

#define TICK_SECONDS 0.25 /* at most 4 redraws a second */

struct progress {
	struct register_progress counts;
	uint64_t size;          /* of the roster; 0 when unknown (a pipe) */
	struct timespec t0;
	pthread_mutex_t lock;   /* standard error: the line and messages */
	bool shown;             /* a line is on the terminal now */
	bool ever_shown;
	bool ended;
	struct chan *stop;      /* closed to end the ticker */
	pthread_t thread;
	/* PostgreSQL's waits for other batches (progress_course_wait), under
	 * wait_lock: since when (waiting), for which course ("": all of
	 * them), and how long in all before. */
	pthread_mutex_t wait_lock;
	bool course_waiting;
	struct timespec course_wait_t0;
	char course_wait_code[COURSE_CODE_MAX + 1];
	double course_waited;
	bool course_wait_shown; /* the line said so once (ticker only) */
	double wait_max;        /* --wait */
};

/* Waits shorter than this are not shown: a course lock no other batch
 * holds is granted at once. */
#define COURSE_WAIT_SHOWN_SECONDS 1.0

/* "0:06", "1:02:03". */
static void clock_text(char *buf, size_t size, double seconds)
{
	unsigned long long s = (unsigned long long)(seconds + 0.5);
	if (s >= 3600)
		snprintf(buf, size, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60,
			 s % 60);
	else
		snprintf(buf, size, "%llu:%02llu", s / 60, s % 60);
}

/* Counts as a person reads them: with thousands separators (README,
 * "Numbers"). */
static const char *group(uint64_t n, char buf[32])
{
	return text_group_digits(n > INT64_MAX ? INT64_MAX : (int64_t)n, buf);
}

static const char *group_rate(double rate, char buf[32])
{
	return group(rate > 0 && rate < 9e18 ? (uint64_t)(rate + 0.5) : 0, buf);
}

/* Seconds spent waiting for other batches (PostgreSQL), the current wait
 * included.  When the batch waits now, and has for COURSE_WAIT_SHOWN_SECONDS
 * or more, and `code` is not NULL: *code gets the course ("" for every
 * other batch), *now how long so far, and it returns true. */
static double course_wait_seconds(struct progress *p, char *code,
				  size_t size, double *now, bool *shown)
{
	pthread_mutex_lock(&p->wait_lock);
	double cur = p->course_waiting ? monotime_since(&p->course_wait_t0) : 0;
	if (code && p->course_waiting && cur >= COURSE_WAIT_SHOWN_SECONDS) {
		snprintf(code, size, "%s", p->course_wait_code);
		*now = cur;
		*shown = true;
	}
	double all = p->course_waited + cur;
	pthread_mutex_unlock(&p->wait_lock);
	return all;
}

void progress_course_wait(void *ctx, const char *course_code, bool waiting)
{
	struct progress *p = ctx;
	pthread_mutex_lock(&p->wait_lock);
	if (waiting && !p->course_waiting) {
		p->course_waiting = true;
		p->course_wait_t0 = monotime_now();
		snprintf(p->course_wait_code, sizeof(p->course_wait_code), "%s",
			 course_code ? course_code : "");
	} else if (!waiting && p->course_waiting) {
		p->course_waiting = false;
		p->course_waited += monotime_since(&p->course_wait_t0);
	}
	pthread_mutex_unlock(&p->wait_lock);
}

/* Seconds since the start, less those spent waiting for the lock or for
 * other batches. */
static double working_seconds(struct progress *p)
{
	double dt = monotime_since(&p->t0) -
		    (double)atomic_load_explicit(&p->counts.lock_waited_ms,
						 memory_order_relaxed) / 1000 -
		    course_wait_seconds(p, NULL, 0, NULL, NULL);
	return dt > 0 ? dt : 0;
}

/* The terminal's width in columns: asked at every redraw (a window can be
 * resized), else $COLUMNS, else 80. */
static size_t terminal_columns(void)
{
	struct winsize ws;
	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *env = getenv("COLUMNS");
	long n = env ? strtol(env, NULL, 10) : 0;
	return n > 0 && n < 100000 ? (size_t)n : 80;
}

/* The line, from the counters: see cmd_progress.h. */
static void format_line(struct progress *p, char *buf, size_t size)
{
	uint64_t done = atomic_load_explicit(&p->counts.rows_done,
					     memory_order_relaxed);
	uint64_t read = atomic_load_explicit(&p->counts.rows_read,
					     memory_order_relaxed);
	uint64_t bytes = atomic_load_explicit(&p->counts.bytes_read,
					      memory_order_relaxed);
	if (atomic_load_explicit(&p->counts.lock_waiting, memory_order_relaxed)) {
		/* The numbers first: a terminal of 80 columns cuts the end
		 * (review 23 F14). */
		snprintf(buf, size, "bulkreg: waiting %.0f s so far, up to %.0f s "
				    "(--wait), for the database's write lock "
				    "(another process holds it)",
			 (double)atomic_load_explicit(&p->counts.lock_waited_ms,
						      memory_order_relaxed) /
				 1000,
			 (double)atomic_load_explicit(&p->counts.lock_wait_max_ms,
						      memory_order_relaxed) /
				 1000);
		return;
	}
	/* A course code is at most COURSE_CODE_MAX bytes of UTF-8 without
	 * control characters (validate.c): shown as it is. */
	char code[COURSE_CODE_MAX + 1];
	double now = 0;
	bool shown = false;
	course_wait_seconds(p, code, sizeof(code), &now, &shown);
	if (shown) {
		p->course_wait_shown = true;
		char what[COURSE_CODE_MAX + 64];
		if (code[0])
			snprintf(what, sizeof(what),
				 "course %s, which another batch is changing",
				 code);
		else
			snprintf(what, sizeof(what),
				 "the other batches to end");
		snprintf(buf, size, "bulkreg: waiting %.0f s so far, up to %.0f s "
				    "(--wait), for %s",
			 now, p->wait_max, what);
		return;
	}
	double dt = working_seconds(p);
	double rate = dt > 0 ? (double)done / dt : 0;
	char a[32], b[32], r[32];
	if (p->size == 0 || bytes == 0) {
		snprintf(buf, size, "bulkreg: %s rows, %s rows/s", group(done, a),
			 group_rate(rate, r));
		return;
	}
	/* Until the reader has parsed the whole file, the rows it handed out
	 * scaled by the share of the file they took. */
	bool estimate = bytes < p->size;
	uint64_t total = read;
	if (estimate)
		total = (uint64_t)((double)read * (double)p->size / (double)bytes);
	if (total < read)
		total = read;
	if (total < done)
		total = done;
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
	char eta[32] = "--:--";
	if (rate > 0)
		clock_text(eta, sizeof(eta), (double)(total - done) / rate);
	snprintf(buf, size, "bulkreg: %s of %s%s rows (%u%%), %s rows/s, ETA %s",
		 group(done, a), estimate ? "~" : "", group(total, b), pct,
		 group_rate(rate, r), eta);
}

static void clear_line(struct progress *p)
{
	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = false;
}

static void *ticker(void *arg)
{
	struct progress *p = arg;
	for (;;) {
		/* The stop channel never carries a value: its close ends us,
		 * a timeout is the next redraw, TICK_SECONDS after the last. */
		struct timespec tick = chan_deadline_after(TICK_SECONDS);
		int unused;
		if (chan_recv_until(p->stop, &unused, &tick) != CHAN_TIMEOUT)
			break;
		char line[COURSE_CODE_MAX + 256];
		format_line(p, line, sizeof(line));
		/* A line wider than the terminal wraps, and \r ESC[K clears
		 * only its last row: every redraw would leave one behind.  So
		 * it is cut ("...") one column short of the width (a line
		 * that fills the last column wraps on some terminals). */
		size_t cols = terminal_columns();
		char cut[ESC_TEXT_MAX(sizeof(line))];
		size_t n = esc_text(cut, line, strlen(line),
				    cols > 4 ? cols - 1 : 4, false, NULL);
		pthread_mutex_lock(&p->lock);
		fprintf(stderr, "\r\033[K%.*s", (int)n, cut);
		fflush(stderr);
		p->shown = p->ever_shown = true;
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

static uint64_t roster_size(const char *path)
{
	struct stat sb;
	int rc = strcmp(path, "-") == 0 ? fstat(0, &sb) : stat(path, &sb);
	return rc == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 ?
		       (uint64_t)sb.st_size :
		       0;
}

struct progress *progress_start(const struct cli *cli, const char *roster_path,
				double wait_seconds)
{
	/* A dumb terminal has no ESC[K to clear the line with. */
	const char *term = getenv("TERM");
	if (cli->quiet || !roster_path || !isatty(2) ||
	    (term && strcmp(term, "dumb") == 0))
		return NULL;
	struct progress *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	atomic_init(&p->counts.rows_done, 0);
	atomic_init(&p->counts.rows_read, 0);
	atomic_init(&p->counts.bytes_read, 0);
	atomic_init(&p->counts.lock_waiting, false);
	atomic_init(&p->counts.lock_waited_ms, 0);
	atomic_init(&p->counts.lock_wait_max_ms, 0);
	p->size = roster_size(roster_path);
	p->t0 = monotime_now();
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->wait_lock, NULL);
	p->wait_max = wait_seconds;
	p->stop = chan_new(sizeof(int), 0);
	if (!p->stop || pthread_create(&p->thread, NULL, ticker, p) != 0) {
		chan_free(p->stop);
		pthread_mutex_destroy(&p->lock);
		pthread_mutex_destroy(&p->wait_lock);
		free(p);
		return NULL;
	}
	return p;
}

struct register_progress *progress_counts(struct progress *p)
{
	return p ? &p->counts : NULL;
}

void progress_end(struct progress *p)
{
	if (!p || p->ended)
		return;
	p->ended = true;
	chan_close(p->stop);
	pthread_join(p->thread, NULL);
	if (!p->ever_shown)
		return;
	clear_line(p);
	uint64_t done = atomic_load(&p->counts.rows_done);
	double dt = working_seconds(p);
	uint64_t waited = atomic_load(&p->counts.lock_waited_ms);
	char a[32], r[32];
	fprintf(stderr, "bulkreg: %s %s in %.1f s (%s rows/s)", group(done, a),
		done == 1 ? "row" : "rows", dt, group_rate(dt > 0 ? (double)done / dt : 0.0, r));
	if (waited)
		fprintf(stderr, ", after %.1f s waiting for the database's "
				"write lock", (double)waited / 1000);
	/* Only waits that were shown: a course lock is taken per course,
	 * granted at once when no other batch holds it. */
	double others = course_wait_seconds(p, NULL, 0, NULL, NULL);
	if (p->course_wait_shown)
		fprintf(stderr, "%s%.1f s waiting for other batches",
			waited ? " and " : ", after ", others);
	fputc('\n', stderr);
	fflush(stderr);
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	progress_end(p);
	chan_free(p->stop);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->wait_lock);
	free(p);
}

void progress_lock(struct progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	clear_line(p);
}

void progress_unlock(struct progress *p)
{
	if (p)
		pthread_mutex_unlock(&p->lock);
}
