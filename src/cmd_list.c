/* cmd_list: `bulkreg roster CODE` and `bulkreg batches` -- read-only listings. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "courses.h"
#include "hint.h"

static const char roster_usage[] =
	"usage: bulkreg roster CODE [--format text|csv|json]\n";
static const char roster_help[] =
	"\nLists course CODE's students: the registered ones in seat order, then\n"
	"the waitlist by position, each with id, name, email, and the batch and\n"
	"roster line that put them there.\n"
	"\n"
	"  --format FMT   text (default), csv or json\n"
	"\n"
	"Exit status: 0 listed; 2 usage error, no database, or no course CODE;\n"
	"3 database or system error, or the listing could not be written.\n";
static const char batches_usage[] =
	"usage: bulkreg batches [--format text|csv|json]\n"
	"       bulkreg batches show N [--format text|csv|json]\n";
static const char batches_help[] =
	"\nLists every batch run so far, oldest first: times, kind, source and its\n"
	"SHA-256, label, options, counts per outcome and per reason, undo links,\n"
	"and whether it was committed.\n"
	"\n"
	"  show N         one batch: its header and every change it made (see\n"
	"                 'bulkreg batches show --help')\n"
	"  --format FMT   text (default), csv or json\n"
	"\n"
	"Exit status: 0 listed; 2 usage error or no database; 3 database or\n"
	"system error, or the listing could not be written.\n";

/* ---- roster CODE -------------------------------------------------------- */

struct roster_listing {
	const struct cli *cli;
	enum report_format fmt;
	size_t n;
};

static int roster_row(void *ctx, const struct roster_entry *e,
		      struct error *err)
{
	struct roster_listing *l = ctx;
	const char *status = row_status_name(e->status);
	if (l->fmt == REPORT_CSV) {
		cli_csv_str(e->student_id, false);
		cli_csv_str(e->first_name, false);
		cli_csv_str(e->last_name, false);
		cli_csv_str(e->email, false);
		cli_csv_str(status, false);
		if (e->position)
			printf("%" PRId64, e->position);
		printf(",%" PRId64 ",%" PRId64 "\n", e->batch_id, e->line);
	} else if (l->fmt == REPORT_JSON) {
		fputs(l->n ? ",\n  {" : "\n  {", stdout);
		cli_json_str("student_id", e->student_id);
		fputs(", ", stdout);
		cli_json_str("first_name", e->first_name);
		fputs(", ", stdout);
		cli_json_str("last_name", e->last_name);
		fputs(", ", stdout);
		cli_json_str("email", e->email);
		printf(", \"status\": \"%s\", \"position\": ", status);
		if (e->position)
			printf("%" PRId64, e->position);
		else
			fputs("null", stdout);
		printf(", \"batch\": %" PRId64 ", \"line\": %" PRId64 "}", e->batch_id,
		       e->line);
	} else {
		char pos[24] = "";
		if (e->position)
			snprintf(pos, sizeof(pos), "%" PRId64, e->position);
		printf("%-10s %4s  ", status, pos);
		text_write_value(stdout, e->student_id, strlen(e->student_id), 20, 20);
		fputs("  ", stdout);
		size_t nf = strlen(e->first_name), nl = strlen(e->last_name);
		char name[520];
		snprintf(name, sizeof(name), "%s%s%s", e->first_name,
			 nf && nl ? " " : "", e->last_name);
		text_write_value(stdout, name, strlen(name), 28, 28);
		/* The email last: a long one cannot push a column out of line. */
		printf("  %5" PRId64 "  %6" PRId64 "  ", e->batch_id, e->line);
		text_write_value(stdout, e->email, strlen(e->email), 0, 40);
		putchar('\n');
	}
	l->n++;
	return cli_stdout_check(l->cli, err);
}

int cmd_roster(struct cli *cli, int argc, char **argv)
{
	enum report_format fmt;
	int rc = cli_parse_format(cli, argc, argv, "roster", roster_usage,
				  roster_help, &fmt);
	if (rc >= 0)
		return rc;
	if (optind != argc - 1)
		return cli_usage_error(cli, "exactly one course CODE is needed");
	const char *code = argv[optind];
	struct db *db;
	if ((rc = cli_open_db(cli, DEFAULT_WAIT_SECONDS, &db)) != 0)
		return rc;
	struct course_table courses;
	course_table_init(&courses);
	struct error err = {0};
	enum status st = db_courses_load(db, &courses, &err);
	bool known = st == ST_OK && course_table_find(&courses, code, strlen(code));
	char hint[COURSE_HINT_MAX];
	course_table_hint(hint, sizeof(hint), &courses, code, strlen(code));
	course_table_free(&courses);
	if (st != ST_OK || !known) {
		db_close(db);
		if (st != ST_OK)
			return cli_fail(st, &err);
		cli_error("%s: no course '%s'%s (see 'bulkreg course list')",
			  cli->cmd, code, hint);
		return 2;
	}
	struct roster_listing l = {cli, fmt, 0};
	if (fmt == REPORT_CSV)
		fputs("student_id,first_name,last_name,email,status,position,batch,"
		      "line\n",
		      stdout);
	else if (fmt == REPORT_JSON) {
		fputs("{\"course\": ", stdout);
		json_write_string(stdout, code, strlen(code));
		fputs(", \"students\": [", stdout);
	} else {
		printf("%-10s %4s  %-20s  %-28s  %5s  %6s  %s\n", "STATUS", "POS",
		       "STUDENT", "NAME", "BATCH", "LINE", "EMAIL");
	}
	st = db_course_roster(db, code, roster_row, &l, &err);
	db_close(db);
	if (st != ST_OK)
		return cli_fail(st, &err);
	if (fmt == REPORT_JSON)
		fputs(l.n ? "\n]}\n" : "]}\n", stdout);
	else if (fmt == REPORT_TEXT && l.n == 0)
		puts("(no students)");
	return cli_close_stdout(cli);
}

/* ---- batches ------------------------------------------------------------ */

static const enum row_status listed_statuses[] = {
	STATUS_REGISTERED, STATUS_WAITLISTED, STATUS_ALREADY_REGISTERED,
	STATUS_ALREADY_WAITLISTED, STATUS_PROMOTED, STATUS_DROPPED,
	STATUS_SKIPPED, STATUS_REJECTED,
};
#define NLISTED (sizeof(listed_statuses) / sizeof(listed_statuses[0]))

/* A batch id or nothing (csv) / null (json). */
static void print_id(int64_t id, bool json)
{
	if (id)
		printf("%" PRId64, id);
	else if (json)
		fputs("null", stdout);
}

static void batch_csv(const struct batch_record *b)
{
	printf("%" PRId64 ",", b->id);
	cli_csv_str(b->started_at, false);
	cli_csv_str(b->finished_at, false);
	cli_csv_str(b->source, false);
	cli_csv_str(b->sha256, false);
	cli_csv_str(b->label, false);
	printf("%s,%" PRId64, batch_outcome_name(b->outcome), b->counts.rows);
	static const enum row_status v1[] = {
		STATUS_REGISTERED, STATUS_WAITLISTED, STATUS_ALREADY_REGISTERED,
		STATUS_ALREADY_WAITLISTED, STATUS_REJECTED,
	};
	for (size_t i = 0; i < 5; i++)
		printf(",%" PRId64, b->counts.by_status[v1[i]]);
	/* Version 2's columns after version 1's, so old scripts still work. */
	/* Stored text, like the source: escaped (review 21, F11: a
	 * database edited by hand may hold anything). */
	fputc(',', stdout);
	cli_csv_str(b->kind, false);
	printf("%" PRId64 ",%" PRId64 ",%" PRId64 ",",
	       b->counts.by_status[STATUS_PROMOTED],
	       b->counts.by_status[STATUS_DROPPED],
	       b->counts.by_status[STATUS_SKIPPED]);
	print_id(b->undo_of, false);
	fputc(',', stdout);
	print_id(b->undone_by, false);
	fputc(',', stdout);
	cli_csv_str(b->options, true);
}

/* Valid JSON as stored, with the controls a terminal acts on that JSON
 * allows raw (DEL, C1 as C2 80..9F; and any C0 byte but the whitespace
 * between tokens) written as \u00XX: they can stand only inside a
 * string, where that escape means the same (review 21, F11). */
static void json_raw(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	for (; *p; p++) {
		if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
			printf("\\u%04x", p[1]);
			p++;
		} else if (*p == 0x7F ||
			   (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')) {
			printf("\\u%04x", *p);
		} else {
			putchar(*p);
		}
	}
}

void cli_batch_json(const struct batch_record *b)
{
	printf("{\"id\": %" PRId64 ", ", b->id);
	cli_json_str("kind", b->kind);
	fputs(", ", stdout);
	cli_json_str("started_at", b->started_at);
	fputs(", ", stdout);
	cli_json_str("finished_at", b->finished_at);
	fputs(", ", stdout);
	cli_json_str("source", b->source);
	fputs(", ", stdout);
	cli_json_str("sha256", b->sha256);
	fputs(", ", stdout);
	cli_json_str("label", b->label);
	fputs(", ", stdout);
	cli_json_str("profile", b->profile);
	/* The store hands out options only when it is valid JSON. */
	fputs(", \"options\": ", stdout);
	json_raw(b->options ? b->options : "null");
	fputs(", \"undo_of\": ", stdout);
	print_id(b->undo_of, true);
	fputs(", \"undone_by\": ", stdout);
	print_id(b->undone_by, true);
	printf(", \"outcome\": \"%s\", \"rows\": %" PRId64,
	       batch_outcome_name(b->outcome), b->counts.rows);
	for (size_t i = 0; i < NLISTED; i++)
		printf(", \"%s\": %" PRId64, row_status_name(listed_statuses[i]),
		       b->counts.by_status[listed_statuses[i]]);
	/* Every reason, zero or not: the keys of the report's json. */
	fputs(", \"reasons\": {", stdout);
	for (int r = 1; r < REASON_COUNT; r++)
		printf("%s\"%s\": %" PRId64, r > 1 ? ", " : "",
		       row_reason_name((enum row_reason)r), b->counts.by_reason[r]);
	fputs("}}", stdout);
}

void cli_batch_text_header(void)
{
	printf("%5s  %-24s  %-8s  %-11s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n",
	       "BATCH", "STARTED (UTC)", "KIND", "OUTCOME", "ROWS", "REG", "WAIT",
	       "ALR.REG", "ALR.WL", "PROM", "DROP", "SKIP", "REJ");
}

void cli_batch_text(const struct batch_record *b)
{
	/* Stored text is shown escaped, whoever wrote it (review 21,
	 * F11). */
	const char *started = b->started_at ? b->started_at : "";
	printf("%5" PRId64 "  ", b->id);
	text_write_value(stdout, started, strlen(started), 24, 24);
	fputs("  ", stdout);
	text_write_value(stdout, b->kind, strlen(b->kind), 8, 0);
	printf("  %-11s %7" PRId64, batch_outcome_name(b->outcome),
	       b->counts.rows);
	for (size_t i = 0; i < NLISTED; i++)
		printf(" %7" PRId64, b->counts.by_status[listed_statuses[i]]);
	/* The rest is long: its own indented lines, so rows stay aligned. */
	const char *finished = b->finished_at ? b->finished_at : "-";
	const char *sha = b->sha256 ? b->sha256 : "-";
	fputs("\n       finished ", stdout);
	text_write_value(stdout, finished, strlen(finished), 0, 0);
	fputs("  sha256 ", stdout);
	text_write_value(stdout, sha, strlen(sha), 0, 0);
	fputs("\n       source ", stdout);
	text_write_value(stdout, b->source, strlen(b->source), 0, 0);
	if (b->label) {
		fputs("  label ", stdout);
		text_write_value(stdout, b->label, strlen(b->label), 0, 0);
	}
	fputc('\n', stdout);
	/* "{}": no option shaped the batch, nothing worth a word. */
	bool options = b->options && strcmp(b->options, "{}") != 0;
	if (!options && !b->profile && !b->undo_of && !b->undone_by)
		return;
	fputs("      ", stdout);
	if (options) {
		fputs(" options ", stdout);
		text_write_value(stdout, b->options, strlen(b->options), 0, 0);
	}
	if (b->profile) {
		fputs(" profile ", stdout);
		text_write_value(stdout, b->profile, strlen(b->profile), 0, 0);
	}
	if (b->undo_of)
		printf(" undo of %" PRId64, b->undo_of);
	if (b->undone_by)
		printf(" undone by %" PRId64, b->undone_by);
	fputc('\n', stdout);
}

static int batch_row(void *ctx, const struct batch_record *b,
		     struct error *err)
{
	struct roster_listing *l = ctx;
	if (l->fmt == REPORT_CSV) {
		batch_csv(b);
	} else if (l->fmt == REPORT_JSON) {
		fputs(l->n ? ",\n  " : "\n  ", stdout);
		cli_batch_json(b);
	} else {
		cli_batch_text(b);
	}
	l->n++;
	return cli_stdout_check(l->cli, err);
}

/* `batches ... show N ...`: the index of "show" when it is the first
 * operand (options of either kind may come before it), else 0.  A silent
 * pass of getopt: the real parser, show's or batches', reports errors. */
static int show_operand(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_getopt g;
	struct cli scratch = *cli; /* its global options are applied later */
	cli_getopt_init(&g, &scratch, "batches", "+h", opts);
	while (getopt_long(argc, argv, g.shortopts, g.longopts, NULL) != -1)
		continue; /* silent: opterr is 0; the real parse complains */
	return optind < argc && strcmp(argv[optind], "show") == 0 ? optind : 0;
}

int cmd_batches(struct cli *cli, int argc, char **argv)
{
	int show = show_operand(cli, argc, argv);
	if (show) {
		/* "show" first, then everything else in order. */
		char *s = argv[show];
		memmove(&argv[2], &argv[1], (size_t)(show - 1) * sizeof(*argv));
		argv[1] = s;
		return cmd_batches_show(cli, argc - 1, argv + 1);
	}
	enum report_format fmt;
	int rc = cli_parse_format(cli, argc, argv, "batches", batches_usage,
				  batches_help, &fmt);
	if (rc >= 0)
		return rc;
	if (optind != argc) {
		/* A batch number was meant for show; a near miss of "show"
		 * ("shw 1") was show itself.  Anything else: no guess. */
		const char *arg = argv[optind];
		const char *next = optind + 1 < argc ? argv[optind + 1] : "N";
		char *end;
		errno = 0;
		long long n = strtoll(arg, &end, 10);
		if (*arg && *end == '\0' && errno == 0 && n > 0)
			return cli_usage_error(cli, "unexpected argument '%s' "
						    "(did you mean 'batches "
						    "show %s'?)",
					       arg, arg);
		if (strcmp(arg, "show") != 0 &&
		    hint_distance(arg, strlen(arg), "show", 4) <= 2 &&
		    strlen(arg) >= 3)
			return cli_usage_error(cli, "unexpected argument '%s' "
						    "(did you mean 'batches "
						    "show %s'?)",
					       arg, next);
		return cli_usage_error(cli, "unexpected argument '%s'", arg);
	}
	struct db *db;
	if ((rc = cli_open_db(cli, DEFAULT_WAIT_SECONDS, &db)) != 0)
		return rc;
	struct roster_listing l = {cli, fmt, 0};
	if (fmt == REPORT_CSV)
		fputs("id,started_at,finished_at,source,sha256,label,outcome,rows,"
		      "registered,waitlisted,already_registered,already_waitlisted,"
		      "rejected,kind,promoted,dropped,skipped,undo_of,undone_by,"
		      "options\n",
		      stdout);
	else if (fmt == REPORT_JSON)
		fputs("{\"batches\": [", stdout);
	else
		cli_batch_text_header();
	struct error err = {0};
	enum status st = db_batches_list(db, batch_row, &l, &err);
	db_close(db);
	if (st != ST_OK)
		return cli_fail(st, &err);
	if (fmt == REPORT_JSON)
		fputs(l.n ? "\n]}\n" : "]}\n", stdout);
	else if (fmt == REPORT_TEXT && l.n == 0)
		puts("(no batches yet)");
	return cli_close_stdout(cli);
}
