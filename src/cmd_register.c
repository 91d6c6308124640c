/* cmd_register: `bulkreg register` -- options, progress, signals, exit status. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "pool.h"
#include "register.h"
#include "signals.h"

static const char usage[] =
	"usage: bulkreg register ROSTER.csv|- [--course CODE] [--dry-run] [--strict]\n"
	"                [--workers N] [--format text|csv|json] [-o FILE] [--label TEXT]\n"
	"                [--delimiter C] [--wait SECONDS] [--check CMD]\n"
	"                [--check-timeout SECONDS]\n";

static const char help[] =
	"\n"
	"Registers every row of ROSTER.csv (or standard input, '-') in one\n"
	"transaction and reports what happened to each row.\n"
	"\n"
	"  --course CODE          register every row into CODE (a course column\n"
	"                         is then ignored)\n"
	"  --dry-run              do everything and report, then roll back\n"
	"  --strict               any rejected row rolls the whole batch back\n"
	"  --workers N            worker threads, 1..1024 (default: CPUs online;\n"
	"                         32 with --check)\n"
	"  --format FMT           report format: text (default), csv or json\n"
	"  -o, --output FILE      write the report to FILE (atomically) instead of\n"
	"                         standard output\n"
	"  --label TEXT           a note stored with the batch\n"
	"  --delimiter C          ',' (default), ';', 'tab' or '|'\n"
	"  --wait SECONDS         wait this long for another bulkreg to finish\n"
	"                         (default 30)\n"
	"  --check CMD            run CMD for every valid row; non-zero rejects it\n"
	"                         (row values in BULKREG_* environment variables)\n"
	"  --check-timeout SECS   per-row limit for CMD (default 10)\n"
	"\n"
	"Exit status: 0 all rows succeeded, 1 some rejected, 2 unusable input,\n"
	"3 database or system error, 128+N interrupted by signal N.\n";

enum {
	OPT_COURSE = 256,
	OPT_DRY_RUN,
	OPT_STRICT,
	OPT_WORKERS,
	OPT_FORMAT,
	OPT_LABEL,
	OPT_DELIMITER,
	OPT_WAIT,
	OPT_CHECK,
	OPT_CHECK_TIMEOUT,
};

static bool parse_delimiter(const char *s, unsigned char *out)
{
	if (strcmp(s, "tab") == 0 || strcmp(s, "\\t") == 0 || strcmp(s, "\t") == 0)
		*out = '\t';
	else if (strlen(s) == 1 && strchr(",;|", s[0]))
		*out = (unsigned char)s[0];
	else
		return false;
	return true;
}

static size_t online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > POOL_MAX_WORKERS ? POOL_MAX_WORKERS : (size_t)n;
}

/* ---- the progress line (only when stderr is a terminal) ----------------- */

struct progress {
	_Atomic uint64_t rows;
	struct chan *stop;
	pthread_t thread;
	bool running;
};

static void *progress_main(void *arg)
{
	struct progress *p = arg;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool shown = false;
	for (;;) {
		/* A ticker: the stop channel never carries a value; its close
		 * ends us, a timeout means "time to redraw". */
		struct timespec tick = chan_deadline_after(0.25);
		int unused;
		if (chan_recv_until(p->stop, &unused, &tick) != CHAN_TIMEOUT)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double dt = (double)(now.tv_sec - t0.tv_sec) +
			    (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		uint64_t rows = atomic_load_explicit(&p->rows, memory_order_relaxed);
		fprintf(stderr, "\r\033[Kbulkreg: %llu rows (%.0f rows/s)",
			(unsigned long long)rows, dt > 0 ? (double)rows / dt : 0.0);
		shown = true;
	}
	if (shown)
		fputs("\r\033[K", stderr);
	return NULL;
}

static void progress_start(struct progress *p, const struct cli *cli)
{
	atomic_init(&p->rows, 0);
	p->running = false;
	p->stop = NULL;
	if (cli->quiet || !isatty(2))
		return;
	p->stop = chan_new(sizeof(int), 0);
	if (p->stop && pthread_create(&p->thread, NULL, progress_main, p) == 0)
		p->running = true;
}

static void progress_stop(struct progress *p)
{
	if (p->running) {
		chan_close(p->stop);
		pthread_join(p->thread, NULL);
	}
	chan_free(p->stop);
	p->stop = NULL;
}

static void warn_cb(void *ctx, const char *msg)
{
	cli_warn(ctx, "%s", msg);
}

/* ---- the command -------------------------------------------------------- */

int cmd_register(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"check", required_argument, NULL, OPT_CHECK},
		{"check-timeout", required_argument, NULL, OPT_CHECK_TIMEOUT},
		{"course", required_argument, NULL, OPT_COURSE},
		{"delimiter", required_argument, NULL, OPT_DELIMITER},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"help", no_argument, NULL, 'h'},
		{"label", required_argument, NULL, OPT_LABEL},
		{"output", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"strict", no_argument, NULL, OPT_STRICT},
		{"wait", required_argument, NULL, OPT_WAIT},
		{"workers", required_argument, NULL, OPT_WORKERS},
		{NULL, 0, NULL, 0},
	};
	struct register_options ro = {
		.delimiter = ',',
		.format = REPORT_TEXT,
		.check_timeout = 10,
		.quiet = cli->quiet,
	};
	double wait = DEFAULT_WAIT_SECONDS;
	int64_t workers = 0;
	int c;
	while ((c = getopt_long(argc, argv, "ho:q", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			return cli_close_stdout();
		case 'o':
			ro.output_path = optarg;
			break;
		case 'q': /* also accepted after the command */
			cli->quiet = ro.quiet = true;
			break;
		case OPT_CHECK:
			ro.check_cmd = optarg;
			break;
		case OPT_CHECK_TIMEOUT:
			if (!parse_seconds(optarg, 0.001, 86400, &ro.check_timeout))
				return cli_usage_error(usage, "register",
						       "--check-timeout: '%s' is not a "
						       "number of seconds (0.001..86400)",
						       optarg);
			break;
		case OPT_COURSE:
			ro.course = optarg;
			break;
		case OPT_DELIMITER:
			if (!parse_delimiter(optarg, &ro.delimiter))
				return cli_usage_error(usage, "register",
						       "--delimiter: '%s' is not one of "
						       "',' ';' 'tab' '|'",
						       optarg);
			break;
		case OPT_DRY_RUN:
			ro.dry_run = true;
			break;
		case OPT_FORMAT:
			if (!report_format_parse(optarg, &ro.format))
				return cli_usage_error(usage, "register",
						       "--format: '%s' is not text, csv "
						       "or json",
						       optarg);
			break;
		case OPT_LABEL:
			ro.label = optarg;
			break;
		case OPT_STRICT:
			ro.strict = true;
			break;
		case OPT_WAIT:
			if (!parse_seconds(optarg, 0, 86400, &wait))
				return cli_usage_error(usage, "register",
						       "--wait: '%s' is not a number of "
						       "seconds (0..86400)",
						       optarg);
			break;
		case OPT_WORKERS:
			if (!parse_int64(optarg, 1, POOL_MAX_WORKERS, &workers))
				return cli_usage_error(usage, "register",
						       "--workers: '%s' is not a whole "
						       "number from 1 to %d",
						       optarg, POOL_MAX_WORKERS);
			break;
		default:
			fprintf(stderr, "%sTry 'bulkreg register --help'.\n", usage);
			return 2;
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(usage, "register",
				       optind >= argc ? "a roster file is required"
						      : "only one roster file at a time");
	ro.roster_path = argv[optind];
	ro.workers = workers ? (size_t)workers : ro.check_cmd ? 32 : online_cpus();
	if (ro.course && !course_code_valid(ro.course, strlen(ro.course)))
		return cli_usage_error(usage, "register",
				       "--course: '%s' is not a course code", ro.course);

	/* Cancellation must exist before any thread does. */
	struct chan *done = chan_new(sizeof(int), 0);
	struct error err;
	if (!done)
		return cli_error("out of memory"), 3;
	enum status st = signals_start(done, &err);
	if (st != ST_OK) {
		chan_free(done);
		return cli_fail(st, &err);
	}
	ro.done = done;
	ro.warn = warn_cb;
	ro.warn_ctx = cli;
	ro.db_path = cli->db_path;
	ro.wait_seconds = wait;

	struct progress progress;
	progress_start(&progress, cli);
	ro.progress = &progress.rows;

	struct register_result res;
	st = register_run(&ro, &res, &err);
	progress_stop(&progress);
	int sig = signals_received();
	signals_stop();
	chan_free(done);

	if (st == ST_CANCELLED || (st != ST_OK && sig)) {
		cli_error("%s", st == ST_CANCELLED ? err.msg : "interrupted");
		return 128 + (sig ? sig : SIGINT);
	}
	if (st != ST_OK)
		return cli_fail(st, &err);
	int rc;
	if (res.report_written && !ro.output_path && (rc = cli_close_stdout()))
		return rc;
	int64_t rejected = res.counts.by_status[STATUS_REJECTED];
	if (ro.output_path && !cli->quiet) {
		/* The summary is in the file; at a terminal, say where it went
		 * and what it says in one line. */
		const int64_t *n = res.counts.by_status;
		cli_error("batch %lld %s: %lld row%s: %lld registered, %lld "
			  "waitlisted, %lld already there, %lld rejected; "
			  "report in %s",
			  (long long)res.batch_id, batch_outcome_name(res.outcome),
			  (long long)res.counts.rows,
			  res.counts.rows == 1 ? "" : "s",
			  (long long)n[STATUS_REGISTERED],
			  (long long)n[STATUS_WAITLISTED],
			  (long long)(n[STATUS_ALREADY_REGISTERED] +
				      n[STATUS_ALREADY_WAITLISTED]),
			  (long long)rejected, ro.output_path);
	} else if (rejected > 0 && ro.output_path)
		/* Quiet runs from cron still need to say that something needs a
		 * human; the details are in the report file. */
		cli_error("batch %lld %s: %lld of %lld rows rejected; see %s",
			  (long long)res.batch_id, batch_outcome_name(res.outcome),
			  (long long)rejected, (long long)res.counts.rows,
			  ro.output_path);
	return rejected > 0 ? 1 : 0;
}
