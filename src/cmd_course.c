/* cmd_course: `bulkreg init` and `bulkreg course add|import|list`. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "report_html.h"
#include "course_save.h"
#include "course_import.h"
#include "courses.h"
#include "dbtarget.h"
#include "hint.h"
#include "monotime.h"
#include "signals.h"
#include "validate.h"

/* "1,000,000", the most seats (and waitlist places) a course may have, as
 * a message says it. */
static const char *capacity_max_words(void)
{
	static char words[32];
	return text_group_digits(COURSE_CAPACITY_MAX, words);
}

static const char init_usage[] = "usage: bulkreg init\n";
static const char init_help[] =
	"\nCreates the database (-d PATH, else $BULKREG_DB, else ./bulkreg.db), or\n"
	"upgrades an older one's schema; safe to repeat.  'bulkreg course add' and\n"
	"'bulkreg course import' create it too; every other command needs it\n"
	"there.\n"
	"\n"
	"Exit status: 0 ready; 2 usage error; 3 database or system error.\n";

static const char add_usage[] =
	"usage: bulkreg course add CODE [--capacity N] [--title TEXT] [--waitlist N]\n"
	"                [--wait SECONDS]\n";
static const char add_help[] =
	"\n"
	"Creates course CODE, or updates it if it exists (creating the database\n"
	"if needed).\n"
	"\n"
	"  --capacity N   seats, 0 to 1,000,000 (required for a new course; an\n"
	"                 existing one changes only what is given)\n"
	"  --title TEXT   a descriptive title\n"
	"  --waitlist N   the longest the waitlist may grow: 0 = no waitlist,\n"
	"                 'unlimited' (the default for a new course)\n"
	"  --wait SECONDS wait this long for the batches running on the database\n"
	"                 (default 30)\n"
	"\n"
	"Raising a capacity moves the first students of the waitlist into the new\n"
	"seats, in waitlist order, as a batch that 'bulkreg undo' can undo.\n"
	"\n"
	"A line on standard error says what changed (course MATH101 updated:\n"
	"capacity 30 -> 35), that the course was created, or that it is unchanged.\n"
	"\n"
	"Exit status: 0 saved; 2 usage error; 3 database or system error.\n";

static const char import_usage[] =
	"usage: bulkreg course import FILE.csv|- [--capacity N [--waitlist N]]\n"
	"                [--dry-run] [--encoding NAME] [--map FIELD=HEADER,...] [-v]\n"
	"                [--wait SECONDS]\n";
static const char import_help[] =
	"\n"
	"Creates or updates every course of FILE.csv ('-': standard input) in one\n"
	"transaction (creating the database if needed).  The header is\n"
	"code,title,capacity[,waitlist] -- or a Canvas courses.csv or\n"
	"sections.csv, a OneRoster classes.csv, a Clever sections.csv.  If any\n"
	"row is bad, nothing is written and the exit status is 1.\n"
	"\n"
	"  --capacity N   seats for the new courses of a file without a capacity\n"
	"                 column (existing courses keep theirs)\n"
	"  --waitlist N   their waitlist (default unlimited)\n"
	"  --dry-run      say what would be created, updated and unchanged, and\n"
	"                 whom new seats would promote; write nothing\n"
	"  --encoding NAME  the file's encoding, converted to UTF-8 as it is\n"
	"                 read (WINDOWS-1252, ISO-8859-1, MACINTOSH, UTF-16LE...;\n"
	"                 see iconv -l), as register reads a roster.  Without it\n"
	"                 the file must be UTF-8 (UTF-16 and UTF-32 with a byte\n"
	"                 order mark are found); a file already UTF-8 is refused\n"
	"                 with it\n"
	"  --map SPEC     name the columns: code=HEADER,title=HEADER,...\n"
	"  -v, --verbose  also list each course created or changed, and how\n"
	"                 (MATH101: capacity 30 -> 35)\n"
	"  --wait SECONDS wait this long for the batches running on the database\n"
	"                 (default 30)\n"
	"\n"
	"It says how many courses it read, created, updated and left unchanged:\n"
	"imported 6 courses from courses.csv: 2 created, 1 updated, 3 unchanged\n"
	"\n"
	"Raising a capacity moves the first students of the waitlist into the new\n"
	"seats, in waitlist order.\n"
	"\n"
	"Exit status: 0 imported; 1 some rows were bad (listed; nothing\n"
	"imported); 2 usage error or unusable file; 3 database or system error.\n";

static const char list_usage[] =
	"usage: bulkreg course list [--format text|csv|json|html]\n";
static const char list_help[] =
	"\n"
	"Lists the courses: code, title, capacity, waitlist maximum, registered,\n"
	"waitlisted, seats left (never below 0) and how many are registered over\n"
	"the capacity.\n"
	"\n"
	"  --format FMT   text (default), csv, json or html (one page with a\n"
	"                 fill chart of every course)\n"
	"\n"
	"Exit status: 0 listed; 2 usage error or no database; 3 database or\n"
	"system error, or the listing could not be written.\n";

static const char course_usage[] =
	"usage: bulkreg course add CODE [--capacity N] [--title TEXT] [--waitlist N]\n"
	"       bulkreg course import FILE.csv|- [--capacity N [--waitlist N]]\n"
	"                [--dry-run] [--encoding NAME] [--map FIELD=HEADER,...] [-v]\n"
	"       bulkreg course list [--format text|csv|json|html]\n";
static const char course_help[] =
	"\n"
	"  add CODE       create the course, or update it if it exists\n"
	"  import FILE    create or update every course of a CSV ('-': standard\n"
	"                 input) in one transaction\n"
	"  list           the courses with their seats and waitlists\n"
	"\n"
	"'bulkreg course add --help' (import, list) tells each one's options.\n";

int cmd_init(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_getopt g;
	cli_getopt_init(&g, cli, "init", "h", opts);
	int c;
	while ((c = cli_getopt_next(&g, argc, argv, NULL)) != -1) {
		if (c == 'h')
			return cli_help(cli, init_usage, init_help);
		return 2;
	}
	if (optind != argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	struct db *db;
	cli->may_create = true;
	cli->init = true;
	int rc = cli_open_db(cli, DEFAULT_WAIT_SECONDS, &db);
	if (rc != 0)
		return rc;
	db_close(db);
	if (!cli->quiet)
		cli_error("%s is ready (schema version %d)", cli->db_shown,
			  DB_SCHEMA_VERSION);
	return 0;
}

/* ---- promotions a capacity change causes ----------------------------------- */

/* One line per student a capacity raise moved into a seat, or in a dry
 * run would move (the emit callbacks' ctx: the cli). */
static void say_promotion(const struct cli *cli, const struct row *row,
			  bool dry_run)
{
	if (cli->quiet)
		return;
	/* The policy's detail says what happened ("took a seat added to
	 * M1 (capacity 3)"); a dry run's says what would. */
	const char *why = row->detail;
	bool took = strncmp(why, "took ", 5) == 0;
	cli_error("%s: %s %s from the waitlist: %s%s",
		  row->v[FIELD_COURSE].text, row->v[FIELD_STUDENT_ID].text,
		  dry_run ? "would be promoted" : "promoted",
		  dry_run && took ? "would take " : "", dry_run && took ? why + 5 : why);
}

static enum status print_promotion(void *ctx, struct row *row, struct error *err)
{
	(void)err;
	say_promotion(ctx, row, false);
	return ST_OK;
}

static enum status print_would_promote(void *ctx, struct row *row,
				       struct error *err)
{
	(void)err;
	say_promotion(ctx, row, true);
	return ST_OK;
}

/* warn_over's context: the dry run's messages say "would be". */
struct over_ctx {
	struct cli *cli;
	bool dry_run;
};

static void warn_over(void *ctx, const struct course *c)
{
	const struct over_ctx *o = ctx;
	char msg[COURSE_OVER_MESSAGE_MAX];
	course_over_capacity_message(msg, sizeof(msg), c, o->dry_run);
	cli_warn(o->cli, "%s", msg);
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

/* ---- what a save changes ------------------------------------------------ */

static void show_waitlist(char *out, size_t cap, int64_t w)
{
	char g[32];
	if (w == WAITLIST_UNLIMITED)
		snprintf(out, cap, "unlimited");
	else
		snprintf(out, cap, "%s", text_group_digits(w, g));
}

/* Appends ", " (after the first item) and the formatted text. */
static void add_item(char *out, size_t cap, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_item(char *out, size_t cap, size_t *used, const char *fmt, ...)
{
	va_list ap;
	if (*used > 0 && *used + 2 < cap) {
		memcpy(out + *used, ", ", 3);
		*used += 2;
	}
	if (*used >= cap)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(out + *used, cap - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n < cap - *used ? (size_t)n : cap - *used - 1;
}

/*
 * What saving `in` does to `before` (NULL: the course is new), as
 * "capacity 30 -> 35, waitlist 10 -> unlimited, title 'A' -> 'B'" or
 * "created (capacity 30, waitlist unlimited, title 'Calculus I')"; "" if
 * nothing changes.  Returns whether anything does.
 */
static bool describe_change(const struct course *before,
			    const struct course_input *in, char *out, size_t cap)
{
	char w1[32], w2[32], t1[96], t2[96], c1[32], c2[32];
	size_t used = 0, u1 = 0, u2 = 0;
	out[0] = '\0';
	if (!before) {
		show_waitlist(w1, sizeof(w1),
			      in->has_waitlist ? in->waitlist_max : WAITLIST_UNLIMITED);
		t1[0] = '\0';
		if (in->title && in->title[0])
			esc_quote(t1, sizeof(t1), &u1, in->title, strlen(in->title), 60);
		snprintf(out, cap, "created (capacity %s, waitlist %s%s%s)",
			 text_group_digits(in->capacity, c1), w1,
			 t1[0] ? ", title " : "", t1);
		return true;
	}
	if (in->capacity != before->capacity)
		add_item(out, cap, &used, "capacity %s -> %s",
			 text_group_digits(before->capacity, c1),
			 text_group_digits(in->capacity, c2));
	if (in->has_waitlist && in->waitlist_max != before->waitlist_max) {
		show_waitlist(w1, sizeof(w1), before->waitlist_max);
		show_waitlist(w2, sizeof(w2), in->waitlist_max);
		add_item(out, cap, &used, "waitlist %s -> %s", w1, w2);
	}
	if (in->title && strcmp(in->title, before->title) != 0) {
		t1[0] = t2[0] = '\0';
		esc_quote(t1, sizeof(t1), &u1, before->title, strlen(before->title), 40);
		esc_quote(t2, sizeof(t2), &u2, in->title, strlen(in->title), 40);
		add_item(out, cap, &used, "title %s -> %s", t1, t2);
	}
	return used > 0;
}

/* ---- course add --------------------------------------------------------- */

/* The course as it is now, into *out; false if there is none. */
/* Codes are case-sensitive, so a new code equal to a known one but for case
 * is a second course -- more often a typo: say so (still created). */
static void warn_case_twin(const struct cli *cli, const struct course_table *t,
			   const char *code)
{
	const struct course *s = course_table_suggest(t, code, strlen(code));
	if (s && strcasecmp(s->code, code) == 0)
		cli_warn(cli,
			 "course %s is a new course: codes are case-sensitive, "
			 "and %s is another one",
			 code, s->code);
}

static bool course_now(struct db *db, const char *code, struct course_table *t,
		       const struct course **out, struct error *err,
		       enum status *st)
{
	*st = db_courses_load(db, t, err);
	*out = *st == ST_OK ? course_table_find(t, code, strlen(code)) : NULL;
	return *out != NULL;
}

/*
 * course_save, run again -- with a warning -- when it lost a race with
 * another batch (ST_CONFLICT, PostgreSQL: nothing was written), while
 * `wait` seconds allow: the courses are in memory, as a roster file is
 * read again by register.
 */
static enum status save_until_settled(struct cli *cli, double wait,
				      struct db *db,
				      const struct course_input *in, size_t n,
				      const char *source, policy_emit_fn emit,
				      bool dry_run,
				      struct course_save_result *res,
				      struct error *err)
{
	struct timespec t0 = monotime_now();
	struct over_ctx over = { cli, dry_run };
	for (;;) {
		enum status st = course_save(db, in, n, source, emit, cli,
					     warn_over, &over, dry_run, res, err);
		if (st != ST_CONFLICT || signals_received() ||
		    monotime_since(&t0) >= wait)
			return st;
		cli_warn(cli, "%s; running it again", err->msg);
		memset(err, 0, sizeof(*err));
	}
}

static int course_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"capacity", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"title", required_argument, NULL, 't'},
		{"wait", required_argument, NULL, 'W'},
		{"waitlist", required_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	struct course_input in = {0};
	double wait = DEFAULT_WAIT_SECONDS;
	bool have_capacity = false;
	struct cli_getopt g;
	cli_getopt_init(&g, cli, "course add", "h", opts);
	int c;
	while ((c = cli_getopt_next(&g, argc, argv, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!parse_int64(optarg, 0, COURSE_CAPACITY_MAX, &in.capacity))
				return cli_usage_error(cli,
						       "--capacity: '%s' is not a whole "
						       "number from 0 to %s",
						       optarg, capacity_max_words());
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
				return cli_usage_error(cli,
						       "--waitlist: '%s' is not a whole "
						       "number from 0 to %s or 'unlimited'",
						       optarg, capacity_max_words());
			break;
		case 'W':
			/* Its own option: "--wait 60" was taken for --waitlist
			 * 60, getopt's abbreviation (review 15, C2). */
			if (cli_wait_arg(cli, optarg, &wait) != 0)
				return 2;
			break;
		case 'h':
			return cli_help(cli, add_usage, add_help);
		default:
			return 2;
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(cli, "exactly one CODE is needed");
	in.code = argv[optind];
	if (!id_valid(in.code, strlen(in.code)))
		return cli_usage_error(cli,
				       "'%s' is not valid as a course code: 1 to 255 "
				       "bytes, no control or invisible characters, no "
				       "space at either end",
				       in.code);
	/* Without --capacity only an existing course can be meant: a new
	 * one needs it, and no SQLite file is created to say so (a
	 * PostgreSQL URI is no file: review 13, A3). */
	struct stat sb;
	if (!have_capacity && !db_target_is_pg(cli->db_path) &&
	    stat(cli->db_path, &sb) != 0)
		return cli_usage_error(cli, "--capacity N is required for a new "
					    "course");
	struct db *db;
	cli->may_create = true;
	cli->writes = true;
	int rc = cli_open_db(cli, wait, &db);
	if (rc != 0)
		return rc;
	struct error err = {0};
	struct course_table now;
	const struct course *before;
	enum status st;
	course_table_init(&now);
	bool exists = course_now(db, in.code, &now, &before, &err, &st);
	if (st != ST_OK || (!exists && !have_capacity)) {
		char hint[COURSE_HINT_MAX] = "";
		if (st == ST_OK)
			course_table_hint(hint, sizeof(hint), &now, in.code,
					  strlen(in.code));
		db_close(db);
		course_table_free(&now);
		if (st != ST_OK)
			return cli_fail(st, &err);
		return cli_usage_error(cli, "--capacity N is required for a new "
					    "course%s",
				       hint);
	}
	if (!exists)
		warn_case_twin(cli, &now, in.code);
	if (!have_capacity)
		in.capacity = before->capacity; /* only what is given changes */
	char change[512];
	bool changed = describe_change(before, &in, change, sizeof(change));
	char source[64];
	snprintf(source, sizeof(source), "course add %s", in.code);
	struct course_save_result res = {0};
	if (changed)
		st = save_until_settled(cli, wait, db, &in, 1, source,
					print_promotion, false, &res, &err);
	db_close(db);
	course_table_free(&now);
	if (st != ST_OK)
		return cli_fail(st, &err);
	if (!cli->quiet && changed && !exists && res.created == 0)
		/* PostgreSQL: another host created it between our look
		 * and our lock; ours was saved over it. */
		cli_error("course %s: another bulkreg created it meanwhile; "
			  "saved as given (%s",
			  in.code, change + strlen("created ("));
	else if (!cli->quiet)
		cli_error("course %s %s%s", in.code,
			  !changed ? "unchanged" : exists ? "updated: " : "",
			  changed ? change : "");
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
	const struct course **before; /* each as it is now, NULL if new */
	size_t n;
	struct course_table have;     /* the courses now */
};

static bool same_title(const char *a, const char *b)
{
	return !a || strcmp(a, b ? b : "") == 0; /* NULL keeps the title */
}

static enum status plan_import(struct db *db, const struct course_import *ci,
			       struct import_plan *plan, struct error *err)
{
	memset(plan, 0, sizeof(*plan));
	struct course_table *have = &plan->have;
	course_table_init(have);
	/* No database (a dry run on a path with none yet): no course known. */
	enum status st = db ? db_courses_load(db, have, err) : ST_OK;
	size_t n = ci->count ? ci->count : 1;
	plan->inputs = calloc(n, sizeof(*plan->inputs));
	plan->lines = calloc(n, sizeof(*plan->lines));
	plan->before = calloc(n, sizeof(*plan->before));
	if (st == ST_OK && (!plan->inputs || !plan->lines || !plan->before))
		st = error_set(err, ST_NOMEM, "out of memory");
	for (size_t i = 0; st == ST_OK && i < ci->count; i++) {
		struct course_input in = ci->rows[i].input;
		const struct course *c = course_table_find(have, in.code,
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
		plan->before[plan->n] = c;
		plan->inputs[plan->n++] = in;
	}
	return st;
}

/* Whether the plan changes a course that exists (a dry run then saves and
 * rolls back: promotions, and what the database refuses, are its to say). */
static bool plan_changes_existing(const struct import_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++)
		if (plan->before[i])
			return true;
	return false;
}

/*
 * A dry run that changes a course saves on a connection that may write,
 * then rolls back (the policy decides, as in the real run).  *may_write
 * false: the database is read-only to this user (said; the dry run goes
 * on without it).  Not 0: the exit status of a failed open (reported;
 * *db is NULL).
 */
static int reopen_for_dry_run(struct cli *cli, double wait, struct db **db,
			      bool *may_write)
{
	*may_write = cli->db_pg || access(cli->db_path, W_OK) == 0;
	if (!*may_write) {
		cli_warn(cli, "dry run: %s is read-only to you: the changes "
			      "are not tried (whom new seats would promote, "
			      "what the database would refuse)",
			 cli->db_path);
		return 0;
	}
	db_close(*db);
	*db = NULL;
	cli->writes = true;
	return cli_open_db(cli, wait, db);
}

static void plan_free(struct import_plan *plan)
{
	free(plan->inputs);
	free(plan->lines);
	free(plan->before);
	course_table_free(&plan->have);
}

/* -v: one line per course created or changed. */
static void say_changes(const struct import_plan *plan)
{
	char change[512];
	for (size_t i = 0; i < plan->n; i++) {
		describe_change(plan->before[i], &plan->inputs[i], change,
				sizeof(change));
		cli_error("%s: %s", plan->inputs[i].code, change);
	}
}

/* "imported 6 courses from FILE: 2 created, 1 updated, 3 unchanged". */
static void say_import(const struct import_plan *plan,
		       const struct course_import *ci, const char *name,
		       bool dry_run, int64_t would_promote)
{
	char format[256] = "", promoted[64] = "", n[4][32];
	if (strcmp(ci->format, "bulkreg") != 0) {
		/* What the export holds that is not a course to register
		 * into is left out, and said. */
		char deleted[64] = "", no_code[128] = "";
		if (ci->skipped_deleted)
			snprintf(deleted, sizeof(deleted), "%s%s deleted in it",
				 ", left out ",
				 text_group_digits((int64_t)ci->skipped_deleted,
						     n[0]));
		if (ci->skipped_no_code)
			snprintf(no_code, sizeof(no_code),
				 "%s%s without a %s (first on line %llu)",
				 ci->skipped_deleted ? " and " : ", left out ",
				 text_group_digits((int64_t)ci->skipped_no_code,
						     n[1]),
				 ci->code_name,
				 (unsigned long long)ci->first_no_code_line);
		snprintf(format, sizeof(format), " (read as %s%s%s)", ci->format,
			 deleted, no_code);
	}
	if (dry_run && would_promote)
		snprintf(promoted, sizeof(promoted),
			 ", %s student%s promoted",
			 text_group_digits(would_promote, n[0]),
			 would_promote == 1 ? "" : "s");
	cli_error("%s %s course%s from %s: %s created, %s updated, %s "
		  "unchanged%s%s%s",
		  dry_run ? "dry run: would import" : "imported",
		  text_group_digits((int64_t)ci->count, n[0]),
		  ci->count == 1 ? "" : "s", name,
		  text_group_digits((int64_t)plan->created, n[1]),
		  text_group_digits((int64_t)plan->updated, n[2]),
		  text_group_digits((int64_t)plan->unchanged, n[3]), promoted,
		  format, dry_run ? "; nothing written" : "");
}

static int course_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"capacity", required_argument, NULL, 'c'},
		{"dry-run", no_argument, NULL, 'n'},
		{"encoding", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{"map", required_argument, NULL, 'm'},
		{"verbose", no_argument, NULL, 'v'},
		{"wait", required_argument, NULL, 'W'},
		{"waitlist", required_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	struct course_import_options io = {.waitlist_max = WAITLIST_UNLIMITED};
	double wait = DEFAULT_WAIT_SECONDS;
	struct error merr = {0};
	bool dry_run = false, verbose = false;
	struct cli_getopt g;
	cli_getopt_init(&g, cli, "course import", "hv", opts);
	int c;
	while ((c = cli_getopt_next(&g, argc, argv, NULL)) != -1) {
		switch (c) {
		case 'v':
			verbose = true;
			break;
		case 'n':
			dry_run = true;
			break;
		case 'e':
			io.encoding = optarg;
			break;
		case 'm':
			if (course_import_map_parse(optarg, &io, &merr) != ST_OK)
				return cli_usage_error(cli, "%s",
						       merr.msg);
			break;
		case 'c':
			if (!parse_int64(optarg, 0, COURSE_CAPACITY_MAX, &io.capacity))
				return cli_usage_error(cli,
						       "--capacity: '%s' is not a whole "
						       "number from 0 to %s",
						       optarg, capacity_max_words());
			io.has_capacity = true;
			break;
		case 'w':
			io.has_waitlist = true;
			if (strcmp(optarg, "unlimited") == 0)
				io.waitlist_max = WAITLIST_UNLIMITED;
			else if (!parse_int64(optarg, 0, COURSE_CAPACITY_MAX,
					      &io.waitlist_max))
				return cli_usage_error(cli,
						       "--waitlist: '%s' is not a whole "
						       "number from 0 to %s, or "
						       "'unlimited'",
						       optarg, capacity_max_words());
			break;
		case 'W':
			/* Its own option: "--wait 60" was taken for --waitlist
			 * 60, getopt's abbreviation (review 15, C2). */
			if (cli_wait_arg(cli, optarg, &wait) != 0)
				return 2;
			break;
		case 'h':
			return cli_help(cli, import_usage, import_help);
		default:
			return 2;
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(cli,
				       "exactly one FILE.csv (or -) is needed");
	if (io.has_waitlist && !io.has_capacity)
		return cli_usage_error(cli,
				       "--waitlist goes with --capacity");
	const char *path = argv[optind];
	/* How messages name the file. */
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
	struct course_import ci;
	struct error err = {0};
	enum status st = course_import_read(path, &io, &ci, &err);
	if (st != ST_OK)
		return cli_fail(st, &err);
	if (ci.problem_count > 0) {
		for (size_t i = 0; i < ci.problem_count; i++)
			cli_error("%s", ci.problems[i].message);
		char bad[32];
		cli_error("%s: %s bad row%s; nothing was imported", name,
			  text_group_digits((int64_t)ci.problem_count, bad),
			  ci.problem_count == 1 ? "" : "s");
		course_import_free(&ci);
		return 1;
	}
	/* Options and files that do nothing are said, not silently passed. */
	if (io.has_capacity && ci.has_capacity)
		cli_warn(cli, "%s has a capacity column: --capacity%s %s ignored "
			      "(each course takes the file's)",
			 name, io.has_waitlist ? " and --waitlist" : "",
			 io.has_waitlist ? "are" : "is");
	if (ci.count == 0 && !ci.skipped_deleted && !ci.skipped_no_code)
		cli_warn(cli, "%s has a header and no course: nothing to import",
			 name);
	/* A dry run writes nothing: not even a database that is not there
	 * yet, whose courses would all be created. */
	struct db *db = NULL;
	struct stat sb;
	int rc = cli_settle_target(cli);
	if (rc != 0) {
		course_import_free(&ci);
		return rc;
	}
	/* (A PostgreSQL database is not a file: it is opened.) */
	bool no_db = dry_run && !cli->db_pg && stat(cli->db_path, &sb) != 0 &&
		     errno == ENOENT;
	cli->may_create = true;
	cli->writes = !dry_run;
	rc = no_db ? 0 : cli_open_db(cli, wait, &db);
	if (rc != 0) {
		course_import_free(&ci);
		return rc;
	}
	struct import_plan plan;
	st = plan_import(db, &ci, &plan, &err);
	struct course_save_result res = {0};
	/* A dry run that changes a course does the save and rolls it back:
	 * it says whom it would promote, and refuses what the real run
	 * would (a waitlist shorter than the students waiting). */
	bool save = st == ST_OK && plan.n > 0 &&
		    (!dry_run || plan_changes_existing(&plan));
	if (save && dry_run) {
		rc = reopen_for_dry_run(cli, wait, &db, &save);
		if (rc != 0) {
			plan_free(&plan);
			course_import_free(&ci);
			return rc;
		}
	}
	if (save) {
		st = save_until_settled(cli, wait, db, plan.inputs, plan.n, path,
					dry_run ? print_would_promote :
						  print_promotion,
					dry_run, &res, &err);
		if (st != ST_OK && res.failed) {
			/* The database refused a row the reader accepted. */
			char inner[ERROR_MAX];
			memcpy(inner, err.msg, sizeof(inner));
			error_set(&err, st, "%s: line %" PRIu64 ": %s", name,
				  plan.lines[res.failed - 1], inner);
		}
	}
	db_close(db);
	for (size_t i = 0; st == ST_OK && i < plan.n; i++)
		if (!plan.before[i])
			warn_case_twin(cli, &plan.have, plan.inputs[i].code);
	if (st == ST_OK && verbose)
		say_changes(&plan);
	if (st == ST_OK && !cli->quiet)
		say_import(&plan, &ci, name, dry_run, res.promoted);
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
		cli_csv_str(c->code, false);
		cli_csv_field(c->title, strlen(c->title));
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
	enum report_format fmt;
	int rc = cli_parse_format_html(cli, argc, argv, "course list", list_usage,
				       list_help, &fmt);
	if (rc >= 0)
		return rc;
	if (optind != argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	struct db *db;
	if ((rc = cli_open_db(cli, DEFAULT_WAIT_SECONDS, &db)) != 0)
		return rc;
	struct course_table t;
	course_table_init(&t);
	struct error err = {0};
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
	else if (fmt == REPORT_HTML)
		report_html_courses(&t, stdout); /* cli_close_stdout reports */
	else
		list_text(&t);
	course_table_free(&t);
	return cli_close_stdout(cli);
}

int cmd_course(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	/* '+': the options before the subcommand (global ones, --help). */
	struct cli_getopt g;
	cli_getopt_init(&g, cli, "course", "+h", opts);
	int c;
	while ((c = cli_getopt_next(&g, argc, argv, NULL)) != -1) {
		if (c == 'h')
			return cli_help(cli, course_usage, course_help);
		return 2;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "which course command? (add, import, "
					    "list)");
	const char *sub = argv[optind];
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	if (strcmp(sub, "add") == 0)
		return course_add(cli, sub_argc, sub_argv);
	if (strcmp(sub, "import") == 0)
		return course_import(cli, sub_argc, sub_argv);
	if (strcmp(sub, "list") == 0)
		return course_list(cli, sub_argc, sub_argv);
	/* The nearest, as for a mistyped command (review 23 F11). */
	static const char *const subs[] = { "add", "import", "list" };
	const char *near = NULL;
	size_t best = HINT_DISTANCE_MAX + 1, chars = hint_length(sub, strlen(sub));
	size_t far = HINT_DISTANCE_MAX < chars / 2 ? HINT_DISTANCE_MAX : chars / 2;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		size_t d = hint_distance(sub, strlen(sub), subs[i], strlen(subs[i]));
		if (d <= far && d < best)
			best = d, near = subs[i];
	}
	if (near)
		return cli_usage_error(cli, "unknown course command '%s'; did you "
					    "mean '%s'? (add, import, list)",
				       sub, near);
	return cli_usage_error(cli, "unknown course command '%s' (add, import, "
				    "list)",
			       sub);
}
