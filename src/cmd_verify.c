/* cmd_verify: `bulkreg verify [--repair]` -- checks the invariants, rebuilds the derived data. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const char verify_usage[] =
	"usage: bulkreg verify [--repair] [--format text|csv|json]\n";
static const char verify_help[] =
	"\nChecks every invariant the commands keep: course counters equal the\n"
	"registrations, waitlist positions are 1..n, no one waits while a seat is\n"
	"free, waitlists within their maximum, every registration has its student\n"
	"and course, seat numbers below the course's seat_seq, the history agrees\n"
	"with the registrations and the students, stored course codes and\n"
	"student ids within the readers' rule (1 to 255 bytes, no control\n"
	"characters), PRAGMA integrity_check, and no trigger, view, index or\n"
	"table (PostgreSQL: rule, row security) bulkreg did not create.\n"
	"Lists each broken invariant (course, student, check, expected, found).\n"
	"Without --repair nothing is written: an older schema is not upgraded\n"
	"but refused (exit 3; any other command upgrades it).\n"
	"\n"
	"  --repair   rebuild the derived data in one transaction (counters,\n"
	"             positions, promotions owed, seat_seq, missing history),\n"
	"             recorded as a batch of kind 'repair'; lists each change,\n"
	"             then verifies again; refused (exit 3) on a database\n"
	"             holding objects bulkreg did not create\n"
	"\n"
	"Exit status: 0 every invariant holds (after the repair, with --repair);\n"
	"1 some are broken (listed); 2 usage error or no database; 3 database\n"
	"error, an older schema, or the listing could not be written.\n";

struct out {
	const struct cli *cli;
	enum report_format fmt;
	size_t n;       /* entries in the current section */
};

static void text_cell(const char *s, size_t width)
{
	text_write_value(stdout, s, strlen(s), width, 0);
	fputs("  ", stdout);
}

/* A problem: "expected" and "found"; a change: "before" then "after". */
static int finding(struct out *o, const struct db_finding *f, bool change,
		   struct error *err)
{
	if (o->fmt == REPORT_CSV) {
		fputs(change ? "changed," : "problem,", stdout);
		cli_csv_str(f->course, false);
		cli_csv_str(f->student, false);
		cli_csv_str(f->what, false);
		cli_csv_str(f->expected, false);
		cli_csv_str(f->found, true);
	} else if (o->fmt == REPORT_JSON) {
		fputs(o->n ? ",\n  {" : "\n  {", stdout);
		cli_json_str("course", f->course);
		fputs(", ", stdout);
		cli_json_str("student", f->student);
		fputs(", ", stdout);
		cli_json_str(change ? "change" : "check", f->what);
		fputs(", ", stdout);
		cli_json_str(change ? "after" : "expected", f->expected);
		fputs(", ", stdout);
		cli_json_str(change ? "before" : "found", f->found);
		fputc('}', stdout);
	} else {
		text_cell(*f->course ? f->course : "-", 10);
		text_cell(*f->student ? f->student : "-", 16);
		text_cell(f->what, 18);
		text_cell(change ? f->found : f->expected, 30);
		const char *last = change ? f->expected : f->found;
		text_write_value(stdout, last, strlen(last), 0, 0);
		putchar('\n');
	}
	o->n++;
	return cli_stdout_check(o->cli, err);
}

static int on_problem(void *ctx, const struct db_finding *f,
		      struct error *err)
{
	struct out *o = ctx;
	if (o->fmt == REPORT_TEXT && o->n == 0)
		printf("%-10s  %-16s  %-18s  %-30s  %s\n", "COURSE", "STUDENT",
		       "CHECK", "EXPECTED", "FOUND");
	return finding(ctx, f, false, err);
}

static int on_change(void *ctx, const struct db_finding *f,
		     struct error *err)
{
	struct out *o = ctx;
	if (o->fmt == REPORT_TEXT && o->n == 0)
		printf("%-10s  %-16s  %-18s  %-30s  %s\n", "COURSE", "STUDENT",
		       "CHANGE", "BEFORE", "AFTER");
	return finding(ctx, f, true, err);
}

/* Opens the problems part (after the changes part when repairing). */
static void problems_start(struct out *o)
{
	if (o->fmt == REPORT_JSON)
		fputs("\"problems\": [", stdout);
	o->n = 0;
}

/* The repair and what it changed.  Returns 0 or an exit code. */
static int repair(const struct cli *cli, struct db *db, struct out *o)
{
	if (o->fmt == REPORT_JSON)
		fputs("{\"changes\": [", stdout);
	struct db_repair_result r;
	struct error err = {0};
	enum status st = db_repair(db, on_change, o, &r, &err);
	if (st != ST_OK)
		return cli_fail(st, &err);
	if (o->fmt == REPORT_JSON) {
		printf("%s], \"repair_batch\": ", o->n ? "\n " : "");
		if (r.batch_id)
			printf("%" PRId64, r.batch_id);
		else
			fputs("null", stdout);
		printf(", \"damaged\": %s,\n ", r.damaged ? "true" : "false");
	} else if (o->fmt == REPORT_TEXT) {
		if (r.batch_id)
			printf("repaired: %" PRId64 " change%s, recorded as batch "
			       "%" PRId64 "\n\n",
			       r.changes, r.changes == 1 ? "" : "s", r.batch_id);
		else if (!r.damaged)
			puts("nothing to repair\n");
	}
	if (r.damaged)
		cli_error("%s: the database fails PRAGMA integrity_check: nothing "
			  "was repaired (restore it from a backup)",
			  cli->db_shown);
	return 0;
}

static int verify(struct db *db, struct out *o, int64_t *problems)
{
	problems_start(o);
	struct db_verify_totals t;
	struct error err = {0};
	enum status st = db_verify(db, on_problem, o, &t, &err);
	if (st != ST_OK)
		return cli_fail(st, &err);
	*problems = t.problems;
	if (o->fmt == REPORT_JSON) {
		printf("%s], \"ok\": %s, \"checked\": {\"courses\": %" PRId64
		       ", \"registrations\": %" PRId64 ", \"events\": %" PRId64
		       "}}\n",
		       o->n ? "\n " : "", t.problems ? "false" : "true", t.courses,
		       t.registrations, t.events);
	} else if (o->fmt == REPORT_TEXT) {
		char a[32], b[32], c[32];
		if (t.problems)
			printf("\n%s broken invariant%s\n",
			       text_group_digits(t.problems, a),
			       t.problems == 1 ? "" : "s");
		else
			printf("ok: every invariant holds (%s course%s, %s "
			       "registration%s, %s history event%s)\n",
			       text_group_digits(t.courses, a),
			       t.courses == 1 ? "" : "s",
			       text_group_digits(t.registrations, b),
			       t.registrations == 1 ? "" : "s",
			       text_group_digits(t.events, c),
			       t.events == 1 ? "" : "s");
	}
	return 0;
}

int cmd_verify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"repair", no_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	struct out o = {cli, REPORT_TEXT, 0};
	bool want_repair = false;
	struct cli_getopt g;
	cli_getopt_init(&g, cli, "verify", "h", opts);
	int c;
	while ((c = cli_getopt_next(&g, argc, argv, NULL)) != -1) {
		if (c == 'f' && report_format_parse(optarg, &o.fmt) &&
		    o.fmt != REPORT_HTML)
			continue;
		if (c == 'r') {
			want_repair = true;
			continue;
		}
		if (c == 'h')
			return cli_help(cli, verify_usage, verify_help);
		if (c == 'f')
			return cli_usage_error(cli,
					       "--format: '%s' is not text, csv or "
					       "json",
					       optarg);
		return 2;
	}
	if (optind != argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (!want_repair)
		cli_listing_output();
	struct db *db;
	/* verify examines a damaged database as it is, schema included (the
	 * objects bulkreg did not create are listed); --repair writes, and
	 * is refused such a database as every other command is. */
	cli->examine = !want_repair;
	cli->writes = want_repair;
	int rc = cli_open_db(cli, DEFAULT_WAIT_SECONDS, &db);
	if (rc != 0)
		return rc;
	if (o.fmt == REPORT_CSV)
		fputs("kind,course,student,check,expected,found\n", stdout);
	else if (o.fmt == REPORT_JSON && !want_repair)
		fputs("{", stdout);
	int64_t problems = 0;
	if (want_repair)
		rc = repair(cli, db, &o);
	if (rc == 0)
		rc = verify(db, &o, &problems);
	db_close(db);
	if (rc != 0)
		return rc;
	rc = cli_close_stdout(cli);
	return rc ? rc : problems ? 1 : 0;
}
