/* cmd_course: `bulkreg init` and `bulkreg course add|import|list`. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "course_save.h"
#include "course_import.h"
#include "courses.h"

static const char init_usage[] = "usage: bulkreg init\n";
static const char course_usage[] =
	"usage: bulkreg course add CODE --capacity N [--title TEXT] [--waitlist N]\n"
	"       bulkreg course import FILE.csv [--capacity N [--waitlist N]] [--dry-run]\n"
	"                [--map FIELD=HEADER,...]\n"
	"       bulkreg course list [--format text|csv|json]\n";
static const char course_help[] =
	"\n"
	"  add CODE       create the course, or update it if it exists\n"
	"    --capacity N   seats, 0..1000000 (required)\n"
	"    --title TEXT   a descriptive title\n"
	"    --waitlist N   the longest the waitlist may grow: 0 = no waitlist,\n"
	"                   'unlimited' (the default for a new course)\n"
	"  import FILE    create or update every course of a CSV with the header\n"
	"                 code,title,capacity[,waitlist] -- or a Canvas courses.csv\n"
	"                 or sections.csv, a OneRoster classes.csv, a Clever\n"
	"                 sections.csv -- in one transaction; if any row is bad,\n"
	"                 nothing is written and the exit status is 1\n"
	"    --capacity N   seats for the new courses of a file without a capacity\n"
	"                   column (existing courses keep theirs)\n"
	"    --waitlist N   their waitlist (default unlimited)\n"
	"    --dry-run      say what would be created, updated and unchanged\n"
	"    --map SPEC     name the columns: code=HEADER,title=HEADER,...\n"
	"  list           courses with capacity, registered, waitlisted, seats left\n"
	"                 (never below 0) and how many are over capacity\n"
	"\n"
	"Raising a capacity moves the first students of the waitlist into the new\n"
	"seats, in waitlist order.\n";

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

int cmd_init(struct cli *cli, int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		fputs(init_usage, stdout);
		fputs("\nCreates the database, or upgrades its schema; safe to "
		      "repeat.\n",
		      stdout);
		return cli_close_stdout();
	}
	cli_take_quiet(cli, &argc, argv);
	if (argc != 1)
		return cli_usage_error(init_usage, "init", "init takes no arguments");
	struct db *db;
	cli->init = true;
	int rc = cli_open_db(cli, DEFAULT_WAIT_SECONDS, false, &db);
	if (rc != 0)
		return rc;
	db_close(db);
	if (!cli->quiet)
		cli_error("%s is ready (schema version %d)", cli->db_shown,
			  DB_SCHEMA_VERSION);
	return 0;
}

/* ---- promotions a capacity change causes ----------------------------------- */

/* One line per student a capacity raise moved into a seat. */
static enum status print_promotion(void *ctx, struct row *row, struct error *err)
{
	(void)err;
	const struct cli *cli = ctx;
	if (!cli->quiet)
		cli_error("%s: %s promoted from the waitlist (%s)",
			  row->v[FIELD_COURSE].text, row->v[FIELD_STUDENT_ID].text,
			  row->detail);
	return ST_OK;
}

static void warn_over(void *ctx, const struct course *c)
{
	cli_warn(ctx,
		 "%s: %" PRId64 " registered over its capacity of %" PRId64
		 " (everyone keeps their seat; no one is promoted until fewer "
		 "than %" PRId64 " are registered)",
		 c->code, c->registered - c->capacity, c->capacity, c->capacity);
}

static void say_batch(const struct cli *cli, const struct course_save_result *r)
{
	if (r->batch_id && !cli->quiet)
		fprintf(stderr,
			"bulkreg: batch %" PRId64 ": %" PRId64 " student%s promoted "
			"(undo with 'bulkreg undo %" PRId64 "')\n",
			r->batch_id, r->promoted, r->promoted == 1 ? "" : "s",
			r->batch_id);
}

/* ---- course add --------------------------------------------------------- */

static int course_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"capacity", required_argument, NULL, 'c'},
		{"group-readable", no_argument, NULL, 'G'},
		{"help", no_argument, NULL, 'h'},
		{"quiet", no_argument, NULL, 'q'},
		{"title", required_argument, NULL, 't'},
		{"waitlist", required_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	struct course_input in = {0};
	bool have_capacity = false;
	int c;
	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 'q': /* also accepted after the command */
			cli->quiet = true;
			break;
		case 'G': /* likewise */
			cli->file_mode = DB_MODE_GROUP;
			break;
		case 'c':
			if (!parse_int64(optarg, 0, COURSE_CAPACITY_MAX, &in.capacity))
				return cli_usage_error(course_usage, "course",
						       "--capacity: '%s' is not a whole "
						       "number from 0 to %d",
						       optarg, COURSE_CAPACITY_MAX);
			have_capacity = true;
			break;
		case 't':
			in.title = optarg;
			break;
		case 'w':
			in.has_waitlist = true;
			if (strcmp(optarg, "unlimited") == 0)
				in.waitlist_max = WAITLIST_UNLIMITED;
			else if (!parse_int64(optarg, 0, COURSE_CAPACITY_MAX,
					      &in.waitlist_max))
				return cli_usage_error(course_usage, "course",
						       "--waitlist: '%s' is not a whole "
						       "number from 0 to %d or 'unlimited'",
						       optarg, COURSE_CAPACITY_MAX);
			break;
		case 'h':
			fputs(course_usage, stdout);
			fputs(course_help, stdout);
			return cli_close_stdout();
		default:
			fprintf(stderr, "%sTry 'bulkreg course --help'.\n", course_usage);
			return 2;
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(course_usage, "course",
				       "course add needs exactly one CODE");
	in.code = argv[optind];
	if (!course_code_valid(in.code, strlen(in.code)))
		return cli_usage_error(course_usage, "course",
				       "'%s' is not valid as a course code: 1 to 255 "
				       "bytes, no control or invisible characters, no "
				       "space at either end",
				       in.code);
	if (!have_capacity)
		return cli_usage_error(course_usage, "course",
				       "course add needs --capacity N");
	struct db *db;
	cli->writes = true;
	int rc = cli_open_db(cli, DEFAULT_WAIT_SECONDS, false, &db);
	if (rc != 0)
		return rc;
	struct error err;
	char source[64];
	snprintf(source, sizeof(source), "course add %s", in.code);
	struct course_save_result res;
	enum status st = course_save(db, &in, 1, source, print_promotion, cli,
				     warn_over, cli, &res, &err);
	db_close(db);
	if (st != ST_OK)
		return cli_fail(st, &err);
	if (!cli->quiet)
		cli_error("course %s saved (capacity %" PRId64 ")", in.code,
			  in.capacity);
	say_batch(cli, &res);
	return 0;
}

/* ---- course import ------------------------------------------------------ */

/* What an import does to each course: its counts, and the inputs that
 * change something (an existing course keeps the capacity and waitlist the
 * file does not give). */
struct import_plan {
	size_t created, updated, unchanged;
	struct course_input *inputs;  /* the courses to save */
	uint64_t *lines;              /* their lines */
	size_t n;
};

static bool same_title(const char *a, const char *b)
{
	return !a || strcmp(a, b ? b : "") == 0; /* NULL keeps the title */
}

static enum status plan_import(struct db *db, const struct course_import *ci,
			       struct import_plan *plan, struct error *err)
{
	struct course_table have;
	course_table_init(&have);
	memset(plan, 0, sizeof(*plan));
	enum status st = db_courses_load(db, &have, err);
	plan->inputs = calloc(ci->count ? ci->count : 1, sizeof(*plan->inputs));
	plan->lines = calloc(ci->count ? ci->count : 1, sizeof(*plan->lines));
	if (st == ST_OK && (!plan->inputs || !plan->lines))
		st = error_set(err, ST_NOMEM, "out of memory");
	for (size_t i = 0; st == ST_OK && i < ci->count; i++) {
		struct course_input in = ci->rows[i].input;
		const struct course *c = course_table_find(&have, in.code,
							   strlen(in.code));
		if (!c) {
			plan->created++;
		} else {
			if (!ci->has_capacity) {
				in.capacity = c->capacity;
				in.has_waitlist = true;
				in.waitlist_max = c->waitlist_max;
			}
			bool same = same_title(in.title, c->title) &&
				    in.capacity == c->capacity &&
				    (!in.has_waitlist ||
				     in.waitlist_max == c->waitlist_max);
			if (same) {
				plan->unchanged++;
				continue;
			}
			plan->updated++;
		}
		plan->lines[plan->n] = ci->rows[i].line;
		plan->inputs[plan->n++] = in;
	}
	course_table_free(&have);
	return st;
}

static void plan_free(struct import_plan *plan)
{
	free(plan->inputs);
	free(plan->lines);
}

static int course_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"capacity", required_argument, NULL, 'c'},
		{"dry-run", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{"map", required_argument, NULL, 'm'},
		{"quiet", no_argument, NULL, 'q'},
		{"waitlist", required_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	struct course_import_options io = {.waitlist_max = WAITLIST_UNLIMITED};
	struct error merr;
	bool dry_run = false;
	int c;
	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			cli->quiet = true;
			break;
		case 'n':
			dry_run = true;
			break;
		case 'm':
			if (course_import_map_parse(optarg, &io, &merr) != ST_OK)
				return cli_usage_error(course_usage, "course", "%s",
						       merr.msg);
			break;
		case 'c':
			if (!parse_int64(optarg, 0, COURSE_CAPACITY_MAX, &io.capacity))
				return cli_usage_error(course_usage, "course",
						       "--capacity: '%s' is not a whole "
						       "number from 0 to %d",
						       optarg, COURSE_CAPACITY_MAX);
			io.has_capacity = true;
			break;
		case 'w':
			io.has_waitlist = true;
			if (strcmp(optarg, "unlimited") == 0)
				io.waitlist_max = WAITLIST_UNLIMITED;
			else if (!parse_int64(optarg, 0, COURSE_CAPACITY_MAX,
					      &io.waitlist_max))
				return cli_usage_error(course_usage, "course",
						       "--waitlist: '%s' is not a whole "
						       "number from 0 to %d, or "
						       "'unlimited'",
						       optarg, COURSE_CAPACITY_MAX);
			break;
		case 'h':
			fputs(course_usage, stdout);
			fputs(course_help, stdout);
			return cli_close_stdout();
		default:
			fprintf(stderr, "%sTry 'bulkreg course --help'.\n", course_usage);
			return 2;
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(course_usage, "course",
				       "course import needs exactly one FILE.csv");
	if (io.has_waitlist && !io.has_capacity)
		return cli_usage_error(course_usage, "course",
				       "--waitlist goes with --capacity");
	const char *path = argv[optind];
	struct course_import ci;
	struct error err;
	enum status st = course_import_read(path, &io, &ci, &err);
	if (st != ST_OK)
		return cli_fail(st, &err);
	if (ci.problem_count > 0) {
		for (size_t i = 0; i < ci.problem_count; i++)
			cli_error("%s", ci.problems[i].message);
		cli_error("%s: %zu bad row%s; nothing was imported", path,
			  ci.problem_count, ci.problem_count == 1 ? "" : "s");
		course_import_free(&ci);
		return 1;
	}
	struct db *db;
	cli->writes = !dry_run;
	int rc = cli_open_db(cli, DEFAULT_WAIT_SECONDS, false, &db);
	if (rc != 0) {
		course_import_free(&ci);
		return rc;
	}
	struct import_plan plan;
	st = plan_import(db, &ci, &plan, &err);
	struct course_save_result res = {0};
	if (st == ST_OK && !dry_run && plan.n > 0) {
		st = course_save(db, plan.inputs, plan.n, path, print_promotion, cli,
				 warn_over, cli, &res, &err);
		if (st != ST_OK && res.failed) {
			/* The database refused a row the reader accepted. */
			char inner[ERROR_MAX];
			memcpy(inner, err.msg, sizeof(inner));
			error_set(&err, st, "%s: line %" PRIu64 ": %s", path,
				  plan.lines[res.failed - 1], inner);
		}
	}
	db_close(db);
	if (st == ST_OK && !cli->quiet)
		cli_error("%s%s (%s): %zu course%s created, %zu updated, %zu "
			  "unchanged",
			  dry_run ? "dry run, nothing written: " : "", path,
			  ci.format, plan.created, plan.created == 1 ? "" : "s",
			  plan.updated, plan.unchanged);
	plan_free(&plan);
	course_import_free(&ci);
	if (st != ST_OK)
		return cli_fail(st, &err);
	say_batch(cli, &res);
	return 0;
}

/* ---- course list -------------------------------------------------------- */

/* Never negative: a capacity lowered below the registered count leaves no
 * seat, and over_capacity says by how many it is exceeded. */
static int64_t seats_left(const struct course *c)
{
	return c->registered < c->capacity ? c->capacity - c->registered : 0;
}

static int64_t over_capacity(const struct course *c)
{
	return c->registered > c->capacity ? c->registered - c->capacity : 0;
}

static void list_csv(const struct course_table *t)
{
	fputs("code,title,capacity,waitlist,registered,waitlisted,seats_left,"
	      "over_capacity\n",
	      stdout);
	for (size_t i = 0; i < t->count; i++) {
		const struct course *c = &t->items[i];
		csv_write_field(stdout, c->code, strlen(c->code));
		fputc(',', stdout);
		csv_write_field(stdout, c->title, strlen(c->title));
		printf(",%" PRId64 ",", c->capacity);
		if (c->waitlist_max != WAITLIST_UNLIMITED)
			printf("%" PRId64, c->waitlist_max);
		printf(",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "\n",
		       c->registered, c->waitlisted, seats_left(c),
		       over_capacity(c));
	}
}

static void list_json(const struct course_table *t)
{
	fputs("{\"courses\": [", stdout);
	for (size_t i = 0; i < t->count; i++) {
		const struct course *c = &t->items[i];
		fputs(i ? ",\n  {\"code\": " : "\n  {\"code\": ", stdout);
		json_write_string(stdout, c->code, strlen(c->code));
		fputs(", \"title\": ", stdout);
		json_write_string(stdout, c->title, strlen(c->title));
		printf(", \"capacity\": %" PRId64 ", \"waitlist\": ", c->capacity);
		if (c->waitlist_max == WAITLIST_UNLIMITED)
			fputs("null", stdout);
		else
			printf("%" PRId64, c->waitlist_max);
		printf(", \"registered\": %" PRId64 ", \"waitlisted\": %" PRId64
		       ", \"seats_left\": %" PRId64 ", \"over_capacity\": %" PRId64
		       "}",
		       c->registered, c->waitlisted, seats_left(c),
		       over_capacity(c));
	}
	fputs(t->count ? "\n]}\n" : "]}\n", stdout);
}

static void list_text(const struct course_table *t)
{
	if (t->count == 0) {
		puts("No courses yet: add one with 'bulkreg course add CODE "
		     "--capacity N'.");
		return;
	}
	size_t wcode = 4, wtitle = 5;
	for (size_t i = 0; i < t->count; i++) {
		size_t w = text_value_width(t->items[i].code,
					    strlen(t->items[i].code), 0);
		wcode = w > wcode ? w : wcode;
		w = text_value_width(t->items[i].title, strlen(t->items[i].title), 30);
		wtitle = w > wtitle ? w : wtitle;
	}
	printf("%-*s  %-*s  %8s  %9s  %10s  %10s  %10s  %4s\n", (int)wcode, "CODE",
	       (int)wtitle, "TITLE", "CAPACITY", "WAITLIST", "REGISTERED",
	       "WAITLISTED", "SEATS LEFT", "OVER");
	for (size_t i = 0; i < t->count; i++) {
		const struct course *c = &t->items[i];
		text_write_value(stdout, c->code, strlen(c->code), wcode, 0);
		fputs("  ", stdout);
		text_write_value(stdout, c->title, strlen(c->title), wtitle, 30);
		char wl[24];
		if (c->waitlist_max == WAITLIST_UNLIMITED)
			snprintf(wl, sizeof(wl), "unlimited");
		else
			snprintf(wl, sizeof(wl), "%" PRId64, c->waitlist_max);
		printf("  %8" PRId64 "  %9s  %10" PRId64 "  %10" PRId64 "  %10" PRId64
		       "  %4" PRId64 "\n",
		       c->capacity, wl, c->registered, c->waitlisted, seats_left(c),
		       over_capacity(c));
	}
}

static int course_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum report_format fmt = REPORT_TEXT;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'f' && report_format_parse(optarg, &fmt))
			continue;
		if (c == 'h') {
			fputs(course_usage, stdout);
			return cli_close_stdout();
		}
		return cli_usage_error(course_usage, "course",
				       c == 'f' ? "--format: not text, csv or json"
						: "bad option");
	}
	if (optind != argc)
		return cli_usage_error(course_usage, "course",
				       "course list takes no arguments");
	struct db *db;
	int rc = cli_open_db(cli, DEFAULT_WAIT_SECONDS, true, &db);
	if (rc != 0)
		return rc;
	struct course_table t;
	course_table_init(&t);
	struct error err;
	enum status st = db_courses_load(db, &t, &err);
	db_close(db);
	if (st != ST_OK) {
		course_table_free(&t);
		return cli_fail(st, &err);
	}
	if (fmt == REPORT_CSV)
		list_csv(&t);
	else if (fmt == REPORT_JSON)
		list_json(&t);
	else
		list_text(&t);
	course_table_free(&t);
	return cli_close_stdout();
}

int cmd_course(struct cli *cli, int argc, char **argv)
{
	if (argc < 2) {
		fputs(course_usage, stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		fputs(course_usage, stdout);
		fputs(course_help, stdout);
		return cli_close_stdout();
	}
	if (strcmp(sub, "add") == 0)
		return course_add(cli, argc - 1, argv + 1);
	if (strcmp(sub, "import") == 0) {
		if (wants_help(argc - 1, argv + 1)) {
			fputs(course_usage, stdout);
			fputs(course_help, stdout);
			return cli_close_stdout();
		}
		return course_import(cli, argc - 1, argv + 1);
	}
	if (strcmp(sub, "list") == 0)
		return course_list(cli, argc - 1, argv + 1);
	return cli_usage_error(course_usage, "course",
			       "unknown course command '%s'", sub);
}
