/* cmd_history: `bulkreg batches show N` and `bulkreg student ID` -- the history, read. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

/* The text tables' code and id columns (roster and the report cut ids at
 * 20 columns too). */
#define TABLE_COURSE_COLS 20
#define TABLE_STUDENT_COLS 20

static const char show_usage[] =
	"usage: bulkreg batches show N [--format text|csv|json]\n";
static const char show_help[] =
	"\nLists batch N: its header as 'bulkreg batches' shows it (kind, outcome,\n"
	"label, source, options, undo links, counts), then every change it made,\n"
	"in order: the event (added, promoted, dropped, restored, student), the\n"
	"course, the student, the roster line, and the state before and after\n"
	"(status with seat or waitlist position; a student's old and new values).\n"
	"\n"
	"  --format FMT   text (default), csv or json\n"
	"\n"
	"Exit status: 0 listed; 2 usage error, no database, or no batch N; 3\n"
	"database or system error, or the listing could not be written.\n";
static const char student_usage[] =
	"usage: bulkreg student ID [--format text|csv|json]\n";
static const char student_help[] =
	"\nShows a student: their names and email, their courses (status, seat\n"
	"number or waitlist position, the batch and roster line that registered\n"
	"them) and every change to them, oldest first.\n"
	"\n"
	"  --format FMT   text (default), csv or json\n"
	"\n"
	"Exit status: 0 listed; 2 usage error, no database, or no such student\n"
	"(nor any history of one); 3 database or system error, or the listing\n"
	"could not be written.\n";

struct listing {
	const struct cli *cli;
	enum report_format fmt;
	size_t n;          /* entries printed in the current json array */
	bool in_history;   /* student: the courses are done */
};

/* "registered seat 3", "waitlisted position 2", or "-" for absent. */
static void place(char *buf, size_t size, enum row_status st, int64_t seq)
{
	if (st == STATUS_NONE)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%s %s %" PRId64, row_status_name(st),
			 st == STATUS_REGISTERED ? "seat" : "position", seq);
}

/* A student's values as people read them: "First Last <email>". */
static void values(char *buf, size_t size, const char *first,
		   const char *last, const char *email)
{
	if (!first && !last && !email) {
		snprintf(buf, size, "-");
		return;
	}
	first = first ? first : "";
	last = last ? last : "";
	bool named = *first || *last;
	snprintf(buf, size, "%s%s%s%s<%s>", first, *first && *last ? " " : "",
		 last, named ? " " : "", email ? email : "");
}

static void print_num(int64_t n, bool present, bool json)
{
	if (present)
		printf("%" PRId64, n);
	else if (json)
		fputs("null", stdout);
}

/* seat and position columns (csv) of a status. */
static void csv_seat_pos(enum row_status st, int64_t seq)
{
	print_num(seq, st == STATUS_REGISTERED, false);
	fputc(',', stdout);
	print_num(seq, st == STATUS_WAITLISTED, false);
	fputc(',', stdout);
}

static void csv_status(enum row_status st)
{
	cli_csv_str(st == STATUS_NONE ? "" : row_status_name(st), false);
}

/* ---- one history event, in each format ---------------------------------- */

static void change_text(const struct db_change *c, bool with_batch)
{
	char from[1024], to[1024];
	if (c->course) {
		place(from, sizeof(from), c->old_status, c->old_seq);
		place(to, sizeof(to), c->new_status, c->new_seq);
	} else {
		values(from, sizeof(from), c->old_first_name, c->old_last_name,
		       c->old_email);
		values(to, sizeof(to), c->new_first_name, c->new_last_name,
		       c->new_email);
	}
	/* Stored text, escaped whoever wrote it (review 21, F11). */
	if (with_batch) {
		printf("%5" PRId64 "  ", c->batch_id);
		text_write_value(stdout, c->batch_kind, strlen(c->batch_kind), 8, 0);
		fputs("  ", stdout);
	}
	text_write_value(stdout, c->event, strlen(c->event), 9, 0);
	fputc(' ', stdout);
	/* Columns keep their width: a longer code or id is cut ("...");
	 * csv and json carry it whole. */
	const char *course = c->course ? c->course : "-";
	text_write_value(stdout, course, strlen(course), TABLE_COURSE_COLS,
			 TABLE_COURSE_COLS);
	fputs("  ", stdout);
	text_write_value(stdout, c->student_id, strlen(c->student_id),
			 TABLE_STUDENT_COLS, TABLE_STUDENT_COLS);
	char line[24] = "";
	if (c->line)
		snprintf(line, sizeof(line), "%" PRId64, c->line);
	printf("  %6s  ", line);
	text_write_value(stdout, from, strlen(from), 24, 0);
	fputs(" -> ", stdout);
	text_write_value(stdout, to, strlen(to), 0, 0);
	fputc('\n', stdout);
}

static const char change_csv_header[] =
	"event,course,student_id,line,old_status,old_seat,old_position,"
	"old_batch,old_line,new_status,new_seat,new_position,old_first_name,"
	"old_last_name,old_email,new_first_name,new_last_name,new_email\n";

static void change_csv(const struct db_change *c)
{
	cli_csv_str(c->event, false);
	cli_csv_str(c->course, false);
	cli_csv_str(c->student_id, false);
	print_num(c->line, c->line != 0, false);
	fputc(',', stdout);
	csv_status(c->old_status);
	csv_seat_pos(c->old_status, c->old_seq);
	print_num(c->old_batch, c->old_batch != 0, false);
	fputc(',', stdout);
	print_num(c->old_line, c->old_line != 0, false);
	fputc(',', stdout);
	csv_status(c->new_status);
	csv_seat_pos(c->new_status, c->new_seq);
	cli_csv_str(c->old_first_name, false);
	cli_csv_str(c->old_last_name, false);
	cli_csv_str(c->old_email, false);
	cli_csv_str(c->new_first_name, false);
	cli_csv_str(c->new_last_name, false);
	cli_csv_str(c->new_email, true);
}

/* {"status": ..., "seat": ..., "position": ...} or null. */
static void json_state(const char *key, enum row_status st, int64_t seq)
{
	printf(", \"%s\": ", key);
	if (st == STATUS_NONE) {
		fputs("null", stdout);
		return;
	}
	printf("{\"status\": \"%s\", \"seat\": ", row_status_name(st));
	print_num(seq, st == STATUS_REGISTERED, true);
	fputs(", \"position\": ", stdout);
	print_num(seq, st == STATUS_WAITLISTED, true);
	fputc('}', stdout);
}

static void json_values(const char *key, const char *first, const char *last,
			const char *email)
{
	printf(", \"%s\": ", key);
	if (!first && !last && !email) {
		fputs("null", stdout);
		return;
	}
	fputc('{', stdout);
	cli_json_str("first_name", first);
	fputs(", ", stdout);
	cli_json_str("last_name", last);
	fputs(", ", stdout);
	cli_json_str("email", email);
	fputc('}', stdout);
}

static void change_json(const struct db_change *c)
{
	/* An addition is its registration, not a history row: no id. */
	fputs("{\"id\": ", stdout);
	print_num(c->id, c->id != 0, true);
	printf(", \"batch\": %" PRId64 ", ", c->batch_id);
	cli_json_str("event", c->event);
	fputs(", ", stdout);
	cli_json_str("course", c->course);
	fputs(", ", stdout);
	cli_json_str("student_id", c->student_id);
	fputs(", \"line\": ", stdout);
	print_num(c->line, c->line != 0, true);
	if (c->course) {
		json_state("old", c->old_status, c->old_seq);
		json_state("new", c->new_status, c->new_seq);
		fputs(", \"old_batch\": ", stdout);
		print_num(c->old_batch, c->old_batch != 0, true);
		fputs(", \"old_line\": ", stdout);
		print_num(c->old_line, c->old_line != 0, true);
	} else {
		json_values("old", c->old_first_name, c->old_last_name,
			    c->old_email);
		json_values("new", c->new_first_name, c->new_last_name,
			    c->new_email);
	}
	fputc('}', stdout);
}

static void change_text_header(bool with_batch)
{
	if (with_batch)
		printf("%5s  %-8s  ", "BATCH", "KIND");
	printf("%-9s %-*s  %-*s  %6s  %-24s    %s\n", "EVENT", TABLE_COURSE_COLS,
	       "COURSE", TABLE_STUDENT_COLS, "STUDENT", "LINE", "BEFORE", "AFTER");
}

/* ---- batches show N ----------------------------------------------------- */

static int show_header(void *ctx, const struct batch_record *b,
			struct error *err)
{
	struct listing *l = ctx;
	if (l->fmt == REPORT_CSV) {
		fputs(change_csv_header, stdout);
	} else if (l->fmt == REPORT_JSON) {
		fputs("{\"batch\": ", stdout);
		cli_batch_json(b);
		fputs(",\n \"changes\": [", stdout);
	} else {
		cli_batch_text_header();
		cli_batch_text(b);
		putchar('\n');
		change_text_header(false);
	}
	return cli_stdout_check(l->cli, err);
}

static int show_change(void *ctx, const struct db_change *c,
			struct error *err)
{
	struct listing *l = ctx;
	if (l->fmt == REPORT_CSV) {
		change_csv(c);
	} else if (l->fmt == REPORT_JSON) {
		fputs(l->n ? ",\n  " : "\n  ", stdout);
		change_json(c);
	} else {
		change_text(c, false);
	}
	l->n++;
	return cli_stdout_check(l->cli, err);
}

int cmd_batches_show(struct cli *cli, int argc, char **argv)
{
	enum report_format fmt;
	int rc = cli_parse_format(cli, argc, argv, "batches show", show_usage,
				  show_help, &fmt);
	if (rc >= 0)
		return rc;
	int64_t id;
	if (optind != argc - 1)
		return cli_usage_error(cli, "exactly one batch N is needed");
	if (!parse_int64(argv[optind], 1, INT64_MAX, &id))
		return cli_usage_error(cli,
				       "no batch '%s' (batches are numbered 1, 2, "
				       "...; see 'bulkreg batches')",
				       argv[optind]);
	struct db *db;
	if ((rc = cli_open_db(cli, DEFAULT_WAIT_SECONDS, &db)) != 0)
		return rc;
	struct listing l = {cli, fmt, 0, false};
	struct error err = {0};
	enum status st = db_batch_show(db, id, show_header, show_change, &l, &err);
	db_close(db);
	if (st == ST_NOTFOUND)
		return cli_fail_cmd(cli, st, &err);
	if (st != ST_OK)
		return cli_fail(st, &err);
	if (fmt == REPORT_JSON)
		fputs(l.n ? "\n]}\n" : "]}\n", stdout);
	else if (fmt == REPORT_TEXT && l.n == 0)
		puts("(no changes)");
	return cli_close_stdout(cli);
}

/* ---- student ID --------------------------------------------------------- */

static const char student_csv_header[] =
	"record,student_id,course,status,seat,position,batch,line,event,"
	"old_status,old_seat,old_position,old_first_name,old_last_name,"
	"old_email,first_name,last_name,email\n";

static int student_values(void *ctx, const struct db_student *s,
			struct error *err)
{
	struct listing *l = ctx;
	if (l->fmt == REPORT_CSV) {
		fputs(student_csv_header, stdout);
		if (!s->exists)
			return cli_stdout_check(l->cli, err);
		fputs("student,", stdout);
		cli_csv_str(s->student_id, false);
		fputs(",,,,", stdout);
		print_num(s->created_batch, s->created_batch != 0, false);
		fputs(",,,,,,,,,", stdout);
		cli_csv_str(s->first_name, false);
		cli_csv_str(s->last_name, false);
		cli_csv_str(s->email, true);
	} else if (l->fmt == REPORT_JSON) {
		fputs("{", stdout);
		cli_json_str("student_id", s->student_id);
		printf(", \"exists\": %s", s->exists ? "true" : "false");
		fputs(", ", stdout);
		cli_json_str("first_name", s->exists ? s->first_name : NULL);
		fputs(", ", stdout);
		cli_json_str("last_name", s->exists ? s->last_name : NULL);
		fputs(", ", stdout);
		cli_json_str("email", s->exists ? s->email : NULL);
		fputs(", \"created_batch\": ", stdout);
		print_num(s->created_batch, s->created_batch != 0, true);
		fputs(",\n \"courses\": [", stdout);
	} else {
		fputs("student ", stdout);
		text_write_value(stdout, s->student_id, strlen(s->student_id), 0, 0);
		if (s->exists) {
			char v[1024];
			values(v, sizeof(v), s->first_name, s->last_name, s->email);
			fputs(": ", stdout);
			text_write_value(stdout, v, strlen(v), 0, 0);
			if (s->created_batch)
				printf("  (created by batch %" PRId64 ")",
				       s->created_batch);
			putchar('\n');
		} else {
			puts(": no longer in the database (history only)");
		}
		printf("\n%-*s  %-10s  %6s  %6s  %5s  %6s\n", TABLE_COURSE_COLS,
		       "COURSE", "STATUS", "SEAT", "POS", "BATCH", "LINE");
	}
	return cli_stdout_check(l->cli, err);
}

static int student_course(void *ctx, const struct db_student_course *c,
			struct error *err)
{
	struct listing *l = ctx;
	bool reg = c->status == STATUS_REGISTERED;
	if (l->fmt == REPORT_CSV) {
		fputs("course,,", stdout);
		cli_csv_str(c->course, false);
		csv_status(c->status);
		csv_seat_pos(c->status, c->seq);
		printf("%" PRId64 ",%" PRId64 ",,,,,,,,,,\n", c->batch_id, c->line);
	} else if (l->fmt == REPORT_JSON) {
		fputs(l->n ? ",\n  {" : "\n  {", stdout);
		cli_json_str("course", c->course);
		printf(", \"status\": \"%s\", \"seat\": ", row_status_name(c->status));
		print_num(c->seq, reg, true);
		fputs(", \"position\": ", stdout);
		print_num(c->seq, !reg, true);
		printf(", \"batch\": %" PRId64 ", \"line\": %" PRId64 "}",
		       c->batch_id, c->line);
	} else {
		text_write_value(stdout, c->course, strlen(c->course),
				 TABLE_COURSE_COLS, TABLE_COURSE_COLS);
		char seat[24] = "", pos[24] = "";
		snprintf(reg ? seat : pos, 24, "%" PRId64, c->seq);
		printf("  %-10s  %6s  %6s  %5" PRId64 "  %6" PRId64 "\n",
		       row_status_name(c->status), seat, pos, c->batch_id, c->line);
	}
	l->n++;
	return cli_stdout_check(l->cli, err);
}

/* The first history entry closes the courses part. */
static void student_history_start(struct listing *l)
{
	if (l->in_history)
		return;
	if (l->fmt == REPORT_JSON)
		fputs(l->n ? "\n ],\n \"history\": [" : "],\n \"history\": [",
		      stdout);
	else if (l->fmt == REPORT_TEXT) {
		if (l->n == 0)
			puts("(no courses)");
		puts("\nHISTORY (oldest first)");
		change_text_header(true);
	}
	l->in_history = true;
	l->n = 0;
}

static int student_change(void *ctx, const struct db_change *c,
			struct error *err)
{
	struct listing *l = ctx;
	student_history_start(l);
	if (l->fmt == REPORT_CSV) {
		fputs("history,", stdout);
		cli_csv_str(c->student_id, false);
		cli_csv_str(c->course, false);
		csv_status(c->new_status);
		csv_seat_pos(c->new_status, c->new_seq);
		printf("%" PRId64 ",", c->batch_id);
		print_num(c->line, c->line != 0, false);
		fputc(',', stdout);
		cli_csv_str(c->event, false);
		csv_status(c->old_status);
		csv_seat_pos(c->old_status, c->old_seq);
		cli_csv_str(c->old_first_name, false);
		cli_csv_str(c->old_last_name, false);
		cli_csv_str(c->old_email, false);
		cli_csv_str(c->new_first_name, false);
		cli_csv_str(c->new_last_name, false);
		cli_csv_str(c->new_email, true);
	} else if (l->fmt == REPORT_JSON) {
		fputs(l->n ? ",\n  " : "\n  ", stdout);
		change_json(c);
	} else {
		change_text(c, true);
	}
	l->n++;
	return cli_stdout_check(l->cli, err);
}

int cmd_student(struct cli *cli, int argc, char **argv)
{
	enum report_format fmt;
	int rc = cli_parse_format(cli, argc, argv, "student", student_usage,
				  student_help, &fmt);
	if (rc >= 0)
		return rc;
	if (optind != argc - 1)
		return cli_usage_error(cli, "exactly one student ID is needed");
	struct db *db;
	if ((rc = cli_open_db(cli, DEFAULT_WAIT_SECONDS, &db)) != 0)
		return rc;
	struct listing l = {cli, fmt, 0, false};
	static const struct db_student_fns fns = {
		student_values, student_course, student_change,
	};
	struct error err = {0};
	enum status st = db_student_show(db, argv[optind], &fns, &l, &err);
	db_close(db);
	if (st == ST_NOTFOUND)
		return cli_fail_cmd(cli, st, &err);
	if (st != ST_OK)
		return cli_fail(st, &err);
	student_history_start(&l);
	if (fmt == REPORT_JSON)
		fputs(l.n ? "\n]}\n" : "]}\n", stdout);
	else if (fmt == REPORT_TEXT && l.n == 0)
		puts("(no history)");
	return cli_close_stdout(cli);
}
