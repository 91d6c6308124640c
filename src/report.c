/* report: the per-row report of a batch in text, csv or json; see report.h. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "report_html.h"
#include "spool.h"

#define SPOOL_BUFFER (256u << 10)  /* stdio buffer of the spool */
#define WRITE_BUFFER (64u << 10)   /* output buffer of report_write */
#define TEXT_COL_MAX 20            /* widest STUDENT/COURSE cell, in columns */
#define SPOOL_NAME "temporary report file"

/* ---- output buffer --------------------------------------------------------
 * Every format is written through an obuf.  Rows are formatted into a
 * fixed buffer sized for the largest possible record (no flush function:
 * overflowing it is a bug); report_write and the FILE helpers flush to their
 * destination when the buffer fills. */

struct obuf {
	char *buf;
	size_t len, cap;
	int (*flush)(void *ctx, const char *p, size_t n); /* 0 or -1 + errno */
	void *ctx;
	int err;  /* errno of the first failed flush; later output is dropped */
};

static void ob_flush(struct obuf *o)
{
	if (o->len > 0 && o->err == 0 && o->flush(o->ctx, o->buf, o->len) < 0)
		o->err = errno ? errno : EIO;
	o->len = 0;
}

/* Makes room for n bytes (n <= cap). */
static inline void ob_room(struct obuf *o, size_t n)
{
	if (o->cap - o->len >= n)
		return;
	if (!o->flush || n > o->cap)
		abort(); /* a record bound in this file is wrong */
	ob_flush(o);
}

static inline void ob_putc(struct obuf *o, char c)
{
	ob_room(o, 1);
	o->buf[o->len++] = c;
}

static void ob_write(struct obuf *o, const char *p, size_t n)
{
	if (n > o->cap && o->flush) {
		/* Large blocks (the spool copy) bypass the buffer. */
		ob_flush(o);
		if (o->err == 0 && o->flush(o->ctx, p, n) < 0)
			o->err = errno ? errno : EIO;
		return;
	}
	ob_room(o, n);
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void ob_puts(struct obuf *o, const char *s)
{
	ob_write(o, s, strlen(s));
}

static void ob_u64(struct obuf *o, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ob_room(o, n);
	while (n)
		o->buf[o->len++] = tmp[--n];
}

static void ob_i64(struct obuf *o, int64_t v)
{
	if (v < 0) {
		ob_putc(o, '-');
		ob_u64(o, -(uint64_t)v);
	} else {
		ob_u64(o, (uint64_t)v);
	}
}

static void ob_printf(struct obuf *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* For the few summary lines; never for values of unbounded length. */
static void ob_printf(struct obuf *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	ob_write(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void ob_pad(struct obuf *o, size_t n)
{
	while (n--)
		ob_putc(o, ' ');
}

/* Where report_write sends its bytes, and how it learns to give up. */
struct fd_sink {
	int fd;
	bool (*cancelled)(void *ctx);
	void *cancel_ctx;
};

/* An interrupted write (a signal) is retried unless the run was cancelled:
 * a reader that never reads must not hold the process forever. */
static bool sink_gives_up(const struct fd_sink *sink)
{
	if (sink->cancelled && sink->cancelled(sink->cancel_ctx)) {
		errno = ECANCELED;
		return true;
	}
	return false;
}

static int fd_flush(void *ctx, const char *p, size_t n)
{
	const struct fd_sink *sink = ctx;
	int fd = sink->fd;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR) {
				if (sink_gives_up(sink))
					return -1;
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* A non-blocking stdout: wait until it drains. */
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };
				if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
					return -1;
				if (sink_gives_up(sink))
					return -1;
				continue;
			}
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- escaped values -------------------------------------------------------
 * The escaping is escape.c's; these put its output in an obuf.  A row's
 * values are bounded (the record bounds below); a summary's may not be, and
 * go through a buffer of their own. */

static void ob_escaped(struct obuf *o, size_t bound,
		       size_t (*escape)(char *, const char *, size_t),
		       const char *s, size_t len)
{
	if (bound <= o->cap) {
		ob_room(o, bound);
		o->len += escape(o->buf + o->len, s, len);
		return;
	}
	char *tmp = malloc(bound);
	if (!tmp) {
		if (o->err == 0)
			o->err = ENOMEM;
		return;
	}
	ob_write(o, tmp, escape(tmp, s, len));
	free(tmp);
}

static void csv_put(struct obuf *o, const char *s, size_t len)
{
	ob_escaped(o, ESC_CSV_MAX(len), esc_csv, s, len);
}

static void json_put_string(struct obuf *o, const char *s, size_t len)
{
	ob_escaped(o, ESC_JSON_MAX(len), esc_json, s, len);
}

/* A string, or null for NULL. */
static void json_put_string_or_null(struct obuf *o, const char *s)
{
	if (s)
		json_put_string(o, s, strlen(s));
	else
		ob_puts(o, "null");
}

/* JSON has no NaN or infinity. */
static void json_put_double(struct obuf *o, double x)
{
	if (isfinite(x))
		ob_printf(o, "%.6g", x);
	else
		ob_puts(o, "null");
}

/* Writes s as esc_text shows it, cut to max_cols columns with "..." (0: no
 * limit); returns the columns written. */
static size_t text_put(struct obuf *o, const char *s, size_t len,
		       size_t max_cols, bool value)
{
	size_t cols = 0, bound = ESC_TEXT_MAX(len);
	if (max_cols > 0 && bound > 4 * max_cols + 3)
		bound = 4 * max_cols + 3; /* 4 bytes a column at most */
	if (bound <= o->cap) {
		ob_room(o, bound);
		o->len += esc_text(o->buf + o->len, s, len, max_cols, value, &cols);
		return cols;
	}
	char *tmp = malloc(bound);
	if (!tmp) {
		if (o->err == 0)
			o->err = ENOMEM;
		return 0;
	}
	ob_write(o, tmp, esc_text(tmp, s, len, max_cols, value, &cols));
	free(tmp);
	return cols;
}

const char *report_source_words(const char *source)
{
	return strcmp(source, "stdin") == 0 ? "standard input" : source;
}


static size_t u64_digits(uint64_t v)
{
	size_t n = 1;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* ---- the report -----------------------------------------------------------*/

/* A rejected row as the text format spools it: this header, then the
 * escaped and cut student and course cells and the escaped detail. */
struct text_record {
	uint64_t line;
	int64_t position;     /* waitlist position, 0 if none (--all) */
	uint16_t reason;
	uint16_t status;
	uint16_t student_len, student_cols;
	uint16_t course_len, course_cols;
	uint16_t detail_len;
};

#define ROW_LINE_MAX 20  /* digits of a uint64_t */
#define REASON_NAME_MAX 32

/* The largest record of any format, and the buffer rows are built in. */
#define CSV_RECORD_MAX                                                     \
	(ROW_LINE_MAX + 2 * ESC_CSV_MAX(ROW_VALUE_MAX) + REASON_NAME_MAX + \
	 ROW_LINE_MAX + REASON_NAME_MAX + ESC_CSV_MAX(ROW_DETAIL_MAX) + 8)
#define JSON_RECORD_MAX                                                     \
	(160 + ROW_LINE_MAX + 2 * ESC_JSON_MAX(ROW_VALUE_MAX) +           \
	 REASON_NAME_MAX + ROW_LINE_MAX + REASON_NAME_MAX +                   \
	 ESC_JSON_MAX(ROW_DETAIL_MAX))
#define TEXT_RECORD_MAX                                                     \
	(sizeof(struct text_record) + 2 * ESC_TEXT_MAX(TEXT_COL_MAX * 2) + \
	 ESC_TEXT_MAX(ROW_DETAIL_MAX))
#define RECORD_MAX 16384

_Static_assert(CSV_RECORD_MAX <= RECORD_MAX, "csv record bound");
_Static_assert(JSON_RECORD_MAX <= RECORD_MAX, "json record bound");
_Static_assert(TEXT_RECORD_MAX <= RECORD_MAX, "text record bound");
_Static_assert(REPORT_HTML_RECORD_MAX <= RECORD_MAX, "html record bound");
_Static_assert(ESC_TEXT_MAX(ROW_DETAIL_MAX) <= UINT16_MAX, "detail length");

struct report {
	enum report_format fmt;
	bool (*cancelled)(void *ctx);
	void *cancel_ctx;
	FILE *spool;
	char *spool_buf;
	uint64_t rows;        /* rows in the spool */
	uint64_t bytes;       /* bytes in the spool */
	uint64_t spool_limit; /* REPORT_SPOOL_MAX unless set */
	char spool_dir[4096]; /* where the spool is, for messages */
	struct report_html *html; /* html: the page's tallies, else NULL */
	/* text: the widest cell of each table column */
	size_t w_line, w_student, w_course, w_reason, w_status, w_position;
	bool all;             /* text: every row in the table (--all) */
};

bool report_format_parse(const char *s, enum report_format *out)
{
	static const struct {
		const char *name;
		enum report_format fmt;
	} formats[] = {
		{ "text", REPORT_TEXT },
		{ "csv", REPORT_CSV },
		{ "json", REPORT_JSON },
		{ "html", REPORT_HTML },
	};
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (s && strcmp(s, formats[i].name) == 0) {
			*out = formats[i].fmt;
			return true;
		}
	}
	return false;
}

enum status report_new(enum report_format fmt, int dirfd, const char *dir,
		       struct report **out, struct error *err)
{
	*out = NULL;
	struct report *r = calloc(1, sizeof(*r));
	char *buf = malloc(SPOOL_BUFFER);
	if (!r || !buf) {
		free(r);
		free(buf);
		return error_set(err, ST_NOMEM, "out of memory for the report");
	}
	enum status st = spool_open(dirfd, dir, SPOOL_NAME, &r->spool,
					   err);
	if (st != ST_OK) {
		free(r);
		free(buf);
		return st;
	}
	if (fmt == REPORT_HTML && (st = report_html_new(&r->html, err)) != ST_OK) {
		fclose(r->spool);
		free(r);
		free(buf);
		return st;
	}
	setvbuf(r->spool, buf, _IOFBF, SPOOL_BUFFER);
	r->spool_buf = buf;
	snprintf(r->spool_dir, sizeof(r->spool_dir), "%s", spool_dir(dir));
	r->fmt = fmt;
	r->spool_limit = REPORT_SPOOL_MAX;
	r->w_line = strlen("LINE");
	r->w_student = strlen("STUDENT");
	r->w_course = strlen("COURSE");
	r->w_reason = strlen("REASON");
	r->w_status = strlen("STATUS");
	r->w_position = strlen("POSITION");
	*out = r;
	return ST_OK;
}

void report_set_all(struct report *r, bool all)
{
	r->all = all;
}

void report_set_spool_limit(struct report *r, uint64_t bytes)
{
	r->spool_limit = bytes;
}

void report_set_cancel(struct report *r, bool (*cancelled)(void *ctx),
		       void *ctx)
{
	r->cancelled = cancelled;
	r->cancel_ctx = ctx;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	fclose(r->spool);
	free(r->spool_buf);
	report_html_free(r->html);
	free(r);
}

/* A row's student id and course as shown (row_value_shown; they may
 * hold NULs). */
struct shown_values {
	char sid_buf[ROW_VALUE_SHOWN_MAX], course_buf[ROW_VALUE_SHOWN_MAX];
	const char *sid, *course;
	size_t sid_len, course_len;
};

static void shown_values(const struct row *row, struct shown_values *v)
{
	v->sid_len = row_value_shown(&row->v[FIELD_STUDENT_ID], v->sid_buf,
				     &v->sid);
	v->course_len = row_value_shown(&row->v[FIELD_COURSE], v->course_buf,
					&v->course);
}

/* A waitlist position: the pair's now, or the one it had when dropped. */
static bool has_position(const struct row *row)
{
	return row->status == STATUS_WAITLISTED ||
	       row->status == STATUS_ALREADY_WAITLISTED ||
	       (row->status == STATUS_DROPPED && row->position > 0);
}

static bool has_reason(const struct row *row)
{
	return row->status == STATUS_REJECTED || row->status == STATUS_SKIPPED;
}

/* The rows the text table lists: those that need a person (rejected), and
 * the changes no row of the input asked for (promotions, --sync drops). */
static bool text_lists(const struct row *row)
{
	return row->status == STATUS_REJECTED || row->derived;
}

/* The text table's REASON cell: the reason, or what happened. */
static const char *text_outcome(enum row_status st, enum row_reason reason)
{
	return reason != REASON_NONE ? row_reason_name(reason)
				     : row_status_name(st);
}

static void csv_put_row(struct obuf *o, const struct row *row)
{
	struct shown_values v;
	shown_values(row, &v);

	if (row->line)
		ob_u64(o, row->line);
	ob_putc(o, ',');
	csv_put(o, v.sid, v.sid_len);
	ob_putc(o, ',');
	csv_put(o, v.course, v.course_len);
	ob_putc(o, ',');
	ob_puts(o, row_status_name(row->status));
	ob_putc(o, ',');
	if (has_position(row))
		ob_i64(o, row->position);
	ob_putc(o, ',');
	if (has_reason(row))
		ob_puts(o, row_reason_name(row->reason));
	ob_putc(o, ',');
	csv_put(o, row->detail, strnlen(row->detail, ROW_DETAIL_MAX));
	ob_putc(o, '\n');
}

static void json_put_row(struct obuf *o, const struct row *row, bool first)
{
	struct shown_values v;
	shown_values(row, &v);
	size_t detail_len = strnlen(row->detail, ROW_DETAIL_MAX);

	ob_puts(o, first ? "  {\"line\": " : ",\n  {\"line\": ");
	if (row->line)
		ob_u64(o, row->line);
	else
		ob_puts(o, "null");
	/* Absent (no such column, or an empty cell) is null, as for the
	 * other fields. */
	ob_puts(o, ", \"student_id\": ");
	if (v.sid_len)
		json_put_string(o, v.sid, v.sid_len);
	else
		ob_puts(o, "null");
	ob_puts(o, ", \"course\": ");
	if (v.course_len)
		json_put_string(o, v.course, v.course_len);
	else
		ob_puts(o, "null");
	ob_puts(o, ", \"status\": \"");
	ob_puts(o, row_status_name(row->status));
	ob_puts(o, "\", \"position\": ");
	if (has_position(row))
		ob_i64(o, row->position);
	else
		ob_puts(o, "null");
	ob_puts(o, ", \"reason\": ");
	if (has_reason(row)) {
		ob_putc(o, '"');
		ob_puts(o, row_reason_name(row->reason));
		ob_putc(o, '"');
	} else {
		ob_puts(o, "null");
	}
	ob_puts(o, ", \"detail\": ");
	if (detail_len)
		json_put_string(o, row->detail, detail_len);
	else
		ob_puts(o, "null");
	ob_putc(o, '}');
}

static size_t max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

/* Spools a rejected row's table cells, escaped and cut, and widens the
 * columns to fit them. */
static void text_put_row(struct report *r, struct obuf *o,
			 const struct row *row)
{
	struct shown_values v;
	shown_values(row, &v);
	struct text_record rec;
	size_t at;

	memset(&rec, 0, sizeof(rec)); /* padding too: it goes to the spool */
	rec.line = row->line;
	rec.reason = (uint16_t)(has_reason(row) ? row->reason : REASON_NONE);
	rec.status = (uint16_t)row->status;
	rec.position = has_position(row) ? row->position : 0;

	o->len = sizeof(rec);
	at = o->len;
	rec.student_cols = (uint16_t)text_put(o, v.sid, v.sid_len,
					      TEXT_COL_MAX, true);
	rec.student_len = (uint16_t)(o->len - at);
	at = o->len;
	rec.course_cols = (uint16_t)text_put(o, v.course, v.course_len,
					     TEXT_COL_MAX, true);
	rec.course_len = (uint16_t)(o->len - at);
	at = o->len;
	/* A check's output is outside text, as a value is: its backslashes
	 * are shown doubled too, so "\x1b" typed never looks like an ESC
	 * escaped (review 14, B3); bulkreg's own details quote values
	 * escaped already. */
	bool from_check = row->reason == REASON_CHECK_FAILED ||
			  row->reason == REASON_CHECK_ERROR;
	text_put(o, row->detail, strnlen(row->detail, ROW_DETAIL_MAX), 0,
		 from_check);
	rec.detail_len = (uint16_t)(o->len - at);
	memcpy(o->buf, &rec, sizeof(rec));

	r->w_line = max_size(r->w_line, u64_digits(row->line));
	r->w_student = max_size(r->w_student, rec.student_cols);
	r->w_course = max_size(r->w_course, rec.course_cols);
	r->w_reason = max_size(r->w_reason,
			       r->all ? strlen(row_reason_name(rec.reason)) :
					strlen(text_outcome(rec.status, rec.reason)));
	r->w_status = max_size(r->w_status, strlen(row_status_name(rec.status)));
	if (rec.position)
		r->w_position = max_size(r->w_position,
					 u64_digits((uint64_t)rec.position));
}

enum status report_add_row(struct report *r, const struct row *row,
			   struct error *err)
{
	char buf[RECORD_MAX];
	struct obuf o = { buf, 0, sizeof(buf), NULL, NULL, 0 };

	switch (r->fmt) {
	case REPORT_CSV:
		csv_put_row(&o, row);
		break;
	case REPORT_JSON:
		json_put_row(&o, row, r->rows == 0);
		break;
	case REPORT_TEXT:
		if (!r->all && !text_lists(row))
			return ST_OK;
		text_put_row(r, &o, row);
		break;
	case REPORT_HTML: {
		enum status st = report_html_record(r->html, row, buf, sizeof(buf),
						    &o.len, err);
		if (st != ST_OK || o.len == 0)
			return st;
		break;
	}
	}
	if (r->bytes + o.len > r->spool_limit) {
		bool mib = r->spool_limit >= (1u << 20);
		char size[32];
		return error_set(err, ST_INPUT,
				 "line %llu: the report of this roster would pass "
				 "%s %s (the most bulkreg keeps while a batch "
				 "runs); split the roster; nothing was written",
				 (unsigned long long)row->line,
				 text_group_digits((int64_t)(mib ? r->spool_limit >> 20 :
								     r->spool_limit),
						     size),
				 mib ? "MiB" : "bytes");
	}
	r->bytes += o.len;
	/* One locked stdio call per row; the 256 KiB buffer batches the I/O. */
	errno = 0;
	if (fwrite(buf, 1, o.len, r->spool) != o.len)
		return error_set(err, ST_IO, "%s: " SPOOL_NAME ": write failed: %s",
				 r->spool_dir, strerror(errno ? errno : EIO));
	r->rows++;
	return ST_OK;
}

/* ---- writing --------------------------------------------------------------*/

struct writer {
	struct report *r;
	struct obuf out;
	int spool_err;  /* errno of a failed spool read, 0 if none */
};

/* Reads exactly n spooled bytes; false (spool_err set) if it cannot. */
static bool spool_read(struct writer *w, void *dst, size_t n)
{
	if (fread(dst, 1, n, w->r->spool) == n)
		return true;
	w->spool_err = ferror(w->r->spool) && errno ? errno : EIO;
	return false;
}

/* Copies the spooled rows (csv, json) to the output as they are. */
static void spool_copy(struct writer *w)
{
	char buf[64 << 10];
	size_t n;
	while (w->out.err == 0 &&
	       (n = fread(buf, 1, sizeof(buf), w->r->spool)) > 0)
		ob_write(&w->out, buf, n);
	if (ferror(w->r->spool))
		w->spool_err = errno ? errno : EIO;
}

/* Copies the spooled csv rows to a terminal, its controls escaped
 * (esc_terminal). */
static void spool_copy_for_terminal(struct writer *w)
{
	char buf[4096], shown[ESC_TERMINAL_MAX(4096)];
	bool held = false;
	size_t n;
	while (w->out.err == 0 &&
	       (n = fread(buf, 1, sizeof(buf), w->r->spool)) > 0)
		ob_write(&w->out, shown, esc_terminal(shown, buf, n, &held));
	ob_write(&w->out, shown, esc_terminal_end(shown, &held));
	if (ferror(w->r->spool))
		w->spool_err = errno ? errno : EIO;
}

static void csv_write_all(struct writer *w, bool terminal)
{
	ob_puts(&w->out, "line,student_id,course,status,position,reason,detail\n");
	if (terminal)
		spool_copy_for_terminal(w);
	else
		spool_copy(w);
}

static const struct outcome_counts no_counts;

static void json_write_all(struct writer *w, const struct report_summary *s)
{
	struct obuf *o = &w->out;
	const struct outcome_counts *c = s->counts ? s->counts : &no_counts;

	ob_printf(o, "{\"batch\": %lld, \"source\": ", (long long)s->batch_id);
	json_put_string_or_null(o, s->source);
	ob_puts(o, ", \"sha256\": ");
	json_put_string_or_null(o, s->sha256);
	ob_puts(o, ", \"label\": ");
	json_put_string_or_null(o, s->label);
	if (s->undo_of)
		ob_printf(o, ", \"undo_of\": %lld", (long long)s->undo_of);
	ob_puts(o, ", \"profile\": ");
	json_put_string_or_null(o, s->profile);
	ob_puts(o, ", \"rolled_back_why\": ");
	json_put_string_or_null(o, s->rolled_back_why);
	ob_printf(o, ", \"outcome\": \"%s\",\n \"summary\": {\"rows\": %lld",
		  batch_outcome_name(s->outcome), (long long)c->rows);
	for (int st = STATUS_REGISTERED; st < STATUS_COUNT; st++)
		ob_printf(o, ", \"%s\": %lld", row_status_name(st),
			  (long long)c->by_status[st]);
	ob_printf(o, ", \"students_changed\": %lld",
		  (long long)c->students_changed);
	ob_puts(o, ",\n  \"reasons\": {");
	for (int rs = REASON_NONE + 1; rs < REASON_COUNT; rs++)
		ob_printf(o, "%s\"%s\": %lld", rs == REASON_NONE + 1 ? "" : ", ",
			  row_reason_name(rs), (long long)c->by_reason[rs]);
	ob_puts(o, "},\n  \"elapsed_seconds\": ");
	json_put_double(o, s->elapsed_seconds);
	ob_puts(o, ", \"rows_per_second\": ");
	if (s->elapsed_seconds > 0 && isfinite(s->elapsed_seconds))
		ob_printf(o, "%.0f", (double)c->rows / s->elapsed_seconds);
	else
		ob_puts(o, "null");
	ob_printf(o, ", \"workers\": %zu,\n  \"checks\": ", s->workers);
	if (s->checks > 0) {
		ob_printf(o, "{\"count\": %lld, \"median_seconds\": ",
			  (long long)s->checks);
		json_put_double(o, s->check_median_seconds);
		ob_puts(o, ", \"max_seconds\": ");
		json_put_double(o, s->check_max_seconds);
		ob_putc(o, '}');
	} else {
		ob_puts(o, "null");
	}
	if (w->r->rows == 0) {
		ob_puts(o, "},\n \"results\": []}\n");
		return;
	}
	ob_puts(o, "},\n \"results\": [\n");
	spool_copy(w);
	ob_puts(o, "\n ]}\n");
}

static const char *plural(int64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

bool report_nothing_changed_words(const struct report_summary *s, char *buf,
				  size_t cap)
{
	const struct outcome_counts *c = s->counts ? s->counts : &no_counts;
	if (s->outcome == BATCH_ROLLED_BACK || !report_changed_nothing(s))
		return false;
	const int64_t *n = c->by_status;
	int64_t there = n[STATUS_ALREADY_REGISTERED] + n[STATUS_ALREADY_WAITLISTED];
	const char *what = s->drop ? "not registered" : "already there";
	if (s->drop) /* a drop's rows that found no pair */
		there = c->by_reason[REASON_NOT_REGISTERED];
	int64_t other = c->rows - there;
	char a[32], b[32], first[96] = "", second[96] = "";
	if (there > 0)
		snprintf(first, sizeof(first), "%s %s %s%s",
			 text_group_digits(there, a), plural(there, "row", "rows"),
			 what, other > 0 ? ", " : "");
	if (other > 0)
		snprintf(second, sizeof(second), "%s %s%s",
			 text_group_digits(other, b),
			 there > 0 ? "" : plural(other, "row ", "rows "),
			 n[STATUS_SKIPPED] == other ? "skipped" :
			 n[STATUS_REJECTED] == other ? "rejected" :
						       "rejected or skipped");
	snprintf(buf, cap, "%s: %s%s.",
		 s->outcome == BATCH_DRY_RUN ? "Nothing would change" :
					       "Nothing changed",
		 first, second);
	return true;
}

/* A re-run says plainly that it changed nothing, under the headline. */
static void text_write_nothing_changed(struct obuf *o,
				       const struct report_summary *s)
{
	char words[256];
	if (report_nothing_changed_words(s, words, sizeof(words)))
		ob_printf(o, "%s\n", words);
}

/* "Batch 12 committed: 48 rows from x.csv in 0.01 s (4,800 rows/s, 2 workers)." */
static void text_write_headline(struct obuf *o, const struct report_summary *s,
				const struct outcome_counts *c)
{
	char rows[32], rate[32];
	const char *src = s->source ? s->source : "(unknown)";

	/* An undo reads no rows: it says what it changed instead. */
	const char *went_on = s->undo_of ? "Undoing" : "Processed";
	switch (s->outcome) {
	case BATCH_COMMITTED:
		ob_printf(o, "Batch %lld committed: ", (long long)s->batch_id);
		break;
	case BATCH_DRY_RUN:
		ob_printf(o, "Batch %lld was a dry run: nothing was committed.\n"
			  "%s ", (long long)s->batch_id, went_on);
		break;
	case BATCH_ROLLED_BACK:
		ob_printf(o, "Batch %lld was rolled back: nothing was committed.\n"
			  "%s ", (long long)s->batch_id, went_on);
		break;
	}
	if (s->undo_of) {
		/* A dry run changed nothing: it says what the undo would do.
		 * Students set back have no row: the line counts them
		 * (review 18, B4). */
		int64_t changed = outcome_counts_changed(c);
		char done[96] = "", would[96] = "", num[32];
		if (c->students_changed) {
			const char *who = plural(c->students_changed, "student's",
						 "students'");
			text_group_digits(c->students_changed, num);
			snprintf(done, sizeof(done),
				 ", %s %s names and email set back", num, who);
			snprintf(would, sizeof(would),
				 " and set back %s %s names and email", num, who);
		}
		if (s->outcome == BATCH_COMMITTED)
			ob_printf(o, "undid batch %lld: %s %s changed%s in "
				  "%.2f s.\n",
				  (long long)s->undo_of,
				  text_group_digits(changed, rows),
				  plural(changed, "registration", "registrations"),
				  done, s->elapsed_seconds);
		else
			ob_printf(o, "batch %lld would change %s %s%s (in %.2f s).\n",
				  (long long)s->undo_of,
				  text_group_digits(changed, rows),
				  plural(changed, "registration", "registrations"),
				  would, s->elapsed_seconds);
		return;
	}
	ob_printf(o, "%s %s from ", text_group_digits(c->rows, rows),
		  plural(c->rows, "row", "rows"));
	src = report_source_words(src);
	text_put(o, src, strlen(src), 0, true);
	ob_printf(o, " in %.2f s (", s->elapsed_seconds);
	if (s->elapsed_seconds > 0 && isfinite(s->elapsed_seconds)) {
		double per_s = (double)c->rows / s->elapsed_seconds;
		ob_printf(o, "%s rows/s, ",
			  text_group_digits(per_s < 9e18 ? (int64_t)(per_s + 0.5) : 0,
				       rate));
	}
	ob_printf(o, "%zu %s).\n", s->workers,
		  plural((int64_t)s->workers, "worker", "workers"));
	if (s->label) {
		ob_puts(o, "Label: ");
		text_put(o, s->label, strlen(s->label), 0, true);
		ob_putc(o, '\n');
	}
	/* A cron job may keep the report and drop standard error: the
	 * reason is here too (review 18, C3 f). */
	if (s->rolled_back_why) {
		ob_puts(o, s->outcome == BATCH_DRY_RUN ?
				   "A real run would be rolled back: " :
				   "Rolled back by ");
		text_put(o, s->rolled_back_why, strlen(s->rolled_back_why), 0,
			 false);
		ob_puts(o, ".\n");
	}
	/* Today's rosters say nothing; an export says how it was read. */
	if (s->profile && strcmp(s->profile, "bulkreg") != 0)
		ob_printf(o, "Read as: %s export.\n", s->profile);
	text_write_nothing_changed(o, s);
}

static const char *const status_labels[STATUS_COUNT] = {
	[STATUS_REGISTERED] = "registered",
	[STATUS_WAITLISTED] = "waitlisted",
	[STATUS_ALREADY_REGISTERED] = "already registered",
	[STATUS_ALREADY_WAITLISTED] = "already waitlisted",
	[STATUS_PROMOTED] = "promoted",
	[STATUS_DROPPED] = "dropped",
	[STATUS_SKIPPED] = "skipped",
	[STATUS_REJECTED] = "rejected",
};

bool report_shows_status(const struct report_summary *s, int st)
{
	const struct outcome_counts *c = s->counts ? s->counts : &no_counts;
	if (c->by_status[st])
		return true;
	if (s->undo_of)
		return st == STATUS_DROPPED || st == STATUS_REGISTERED ||
		       st == STATUS_WAITLISTED || st == STATUS_PROMOTED;
	if (s->drop)
		return st == STATUS_DROPPED || st == STATUS_PROMOTED ||
		       st == STATUS_REJECTED;
	return st < STATUS_PROMOTED || st == STATUS_REJECTED;
}

const int *report_status_order(const struct report_summary *s)
{
	static const int enrol[STATUS_COUNT - 1] = {
		STATUS_REGISTERED, STATUS_WAITLISTED, STATUS_ALREADY_REGISTERED,
		STATUS_ALREADY_WAITLISTED, STATUS_PROMOTED, STATUS_DROPPED,
		STATUS_SKIPPED, STATUS_REJECTED,
	};
	static const int drop[STATUS_COUNT - 1] = {
		STATUS_DROPPED, STATUS_PROMOTED, STATUS_REGISTERED,
		STATUS_WAITLISTED, STATUS_ALREADY_REGISTERED,
		STATUS_ALREADY_WAITLISTED, STATUS_SKIPPED, STATUS_REJECTED,
	};
	static const int undo[STATUS_COUNT - 1] = {
		STATUS_DROPPED, STATUS_REGISTERED, STATUS_WAITLISTED,
		STATUS_PROMOTED, STATUS_ALREADY_REGISTERED,
		STATUS_ALREADY_WAITLISTED, STATUS_SKIPPED, STATUS_REJECTED,
	};
	return s->undo_of ? undo : s->drop ? drop : enrol;
}

bool report_changed_nothing(const struct report_summary *s)
{
	const struct outcome_counts *c = s->counts ? s->counts : &no_counts;
	const int64_t *n = c->by_status;
	return c->rows > 0 && !s->undo_of && c->students_changed == 0 &&
	       n[STATUS_REGISTERED] + n[STATUS_WAITLISTED] + n[STATUS_PROMOTED] +
			       n[STATUS_DROPPED] ==
		       0;
}

/* How many of the rows with status st (skipped or rejected) had reason rs;
 * 0 for the other statuses. */
static int64_t reason_count(const struct outcome_counts *c, int st, int rs)
{
	if (st == STATUS_SKIPPED)
		return c->skipped_by_reason[rs];
	if (st == STATUS_REJECTED)
		return c->by_reason[rs] - c->skipped_by_reason[rs];
	return 0;
}

/* Counts per status, each followed by the reasons of its rows (skipped,
 * rejected) that occurred, in aligned columns. */
static void text_write_counts(struct obuf *o, const struct report_summary *s,
			      const struct outcome_counts *c, bool all)
{
	char num[32];
	size_t wlabel = 0, wnum = 0;
	const int *order = report_status_order(s);

	for (int i = 0; i < STATUS_COUNT - 1; i++) {
		int st = order[i];
		if (!report_shows_status(s, st))
			continue;
		wlabel = max_size(wlabel, strlen(status_labels[st]));
		wnum = max_size(wnum, strlen(text_group_digits(c->by_status[st], num)));
	}
	for (int rs = REASON_NONE + 1; rs < REASON_COUNT; rs++)
		if (c->by_reason[rs])
			wlabel = max_size(wlabel, 2 + strlen(row_reason_name(rs)));

	ob_putc(o, '\n');
	for (int i = 0; i < STATUS_COUNT - 1; i++) {
		int st = order[i];
		if (!report_shows_status(s, st))
			continue;
		ob_printf(o, "  %-*s  %*s\n", (int)wlabel, status_labels[st],
			  (int)wnum, text_group_digits(c->by_status[st], num));
		for (int rs = REASON_NONE + 1; rs < REASON_COUNT; rs++)
			if (reason_count(c, st, rs))
				ob_printf(o, "    %-*s  %*s\n", (int)wlabel - 2,
					  row_reason_name(rs), (int)wnum,
					  text_group_digits(
						  reason_count(c, st, rs), num));
	}
	/* An undo's are on its first line: they have no row to see. */
	/* With --all the table below has their details (review 23 F13). */
	if (c->students_changed && !s->undo_of)
		ob_printf(o, "  (%s known student%s changed names or email: %s)\n",
			  text_group_digits(c->students_changed, num),
			  c->students_changed == 1 ? "" : "s",
			  all ? "the DETAIL column below says how" :
				"--all lists them, as do the csv, json and "
				"html reports");
}

/* One spooled rejected row as a table line. */
static bool text_write_record(struct writer *w)
{
	struct report *r = w->r;
	struct obuf *o = &w->out;
	struct text_record rec;
	char cells[RECORD_MAX];

	if (!spool_read(w, &rec, sizeof(rec)))
		return false;
	size_t n = (size_t)rec.student_len + rec.course_len + rec.detail_len;
	if (n > sizeof(cells) || !spool_read(w, cells, n))
		return false;
	const char *student = cells, *course = cells + rec.student_len;
	const char *detail = course + rec.course_len;
	const char *reason = text_outcome(rec.status, rec.reason);

	if (rec.line) {
		ob_pad(o, r->w_line - u64_digits(rec.line));
		ob_u64(o, rec.line);
	} else {
		ob_pad(o, r->w_line);
	}
	ob_pad(o, 2);
	ob_write(o, student, rec.student_len);
	ob_pad(o, r->w_student - rec.student_cols + 2);
	ob_write(o, course, rec.course_len);
	ob_pad(o, r->w_course - rec.course_cols + 2);
	if (r->all) {
		/* --all: STATUS, POSITION (right-aligned), REASON; no spaces
		 * at the end of a line. */
		const char *status = row_status_name(rec.status);
		reason = row_reason_name(rec.reason);
		ob_puts(o, status);
		if (!rec.position && !reason[0] && !rec.detail_len) {
			ob_putc(o, '\n');
			return true;
		}
		size_t pw = rec.position ? u64_digits((uint64_t)rec.position) : 0;
		ob_pad(o, r->w_status - strlen(status) + 2 + r->w_position - pw);
		if (rec.position)
			ob_i64(o, rec.position);
		if (!reason[0] && !rec.detail_len) {
			ob_putc(o, '\n');
			return true;
		}
		ob_pad(o, 2);
		if (!reason[0]) {
			ob_pad(o, r->w_reason + 2);
			ob_write(o, detail, rec.detail_len);
			ob_putc(o, '\n');
			return true;
		}
	}
	ob_puts(o, reason);
	if (rec.detail_len) {
		ob_pad(o, r->w_reason - strlen(reason) + 2);
		ob_write(o, detail, rec.detail_len);
	}
	ob_putc(o, '\n');
	return true;
}

static void text_write_all(struct writer *w, const struct report_summary *s)
{
	struct report *r = w->r;
	struct obuf *o = &w->out;
	const struct outcome_counts *c = s->counts ? s->counts : &no_counts;

	/* -q keeps the one line that says what happened to the batch. */
	text_write_headline(o, s, c);
	if (!s->quiet) {
		text_write_counts(o, s, c, r->all);
		char run[32];
		if (s->checks > 0)
			ob_printf(o,
				  "\nchecks: %s run, median %.3f s, slowest %.3f s\n",
				  text_group_digits(s->checks, run),
				  s->check_median_seconds, s->check_max_seconds);
	}
	if (r->rows == 0)
		return;
	ob_putc(o, '\n');
	if (r->all)
		ob_printf(o, "%*s  %-*s  %-*s  %-*s  %*s  %-*s  DETAIL\n",
			  (int)r->w_line, "LINE", (int)r->w_student, "STUDENT",
			  (int)r->w_course, "COURSE", (int)r->w_status, "STATUS",
			  (int)r->w_position, "POSITION", (int)r->w_reason,
			  "REASON");
	else
		ob_printf(o, "%*s  %-*s  %-*s  %-*s  DETAIL\n", (int)r->w_line,
			  "LINE", (int)r->w_student, "STUDENT", (int)r->w_course,
			  "COURSE", (int)r->w_reason, "REASON");
	for (uint64_t i = 0; i < r->rows && o->err == 0; i++)
		if (!text_write_record(w))
			break;
}

enum status report_write(struct report *r, const struct report_summary *s,
			 int fd, const char *dest_name, struct error *err)
{
	if (fflush(r->spool) != 0)
		return error_set(err, ST_IO, "%s: " SPOOL_NAME ": write failed: %s",
				 r->spool_dir, strerror(errno));
	if (fseek(r->spool, 0, SEEK_SET) != 0)
		return error_set(err, ST_IO, "%s: " SPOOL_NAME ": cannot rewind: %s",
				 r->spool_dir, strerror(errno));
	char *buf = malloc(WRITE_BUFFER);
	if (!buf)
		return error_set(err, ST_NOMEM, "out of memory writing the report");
	struct fd_sink sink = { fd, r->cancelled, r->cancel_ctx };
	struct writer w = {
		.r = r,
		.out = { buf, 0, WRITE_BUFFER, fd_flush, &sink, 0 },
	};

	switch (r->fmt) {
	case REPORT_CSV:
		/* Byte-exact to a file or a pipe; safe to look at on a
		 * terminal. */
		csv_write_all(&w, isatty(fd) == 1);
		break;
	case REPORT_JSON:
		json_write_all(&w, s);
		break;
	case REPORT_TEXT:
		text_write_all(&w, s);
		break;
	case REPORT_HTML:
		report_html_write(r->html, s, r->spool, fd_flush, &sink,
				  &w.out.err, &w.spool_err);
		break;
	}
	ob_flush(&w.out);
	free(buf);
	/* Back to the end, so that rows can still be added (and the report
	 * written again). */
	if (fseek(r->spool, 0, SEEK_END) != 0 && w.spool_err == 0)
		w.spool_err = errno;

	if (w.out.err == ECANCELED)
		return error_set(err, ST_CANCELLED, "%s: writing the report was "
				 "interrupted", dest_name);
	if (w.out.err)
		return error_set(err, ST_IO, "%s: write failed: %s", dest_name,
				 strerror(w.out.err));
	if (w.spool_err)
		return error_set(err, ST_IO, "%s: " SPOOL_NAME ": read failed: %s",
				 r->spool_dir, strerror(w.spool_err));
	return ST_OK;
}
