/* cmd_register: `bulkreg register` -- options, progress, signals, exit status. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd_progress.h"
#include "monotime.h"
#include "pool.h"
#include "register.h"
#include "signals.h"
#include "validate.h"

static const char register_usage[] =
	"usage: bulkreg register ROSTER.csv|- [--course CODE] [--dry-run] [--strict]\n"
	"                [--max-rejects N|P%] [--sync [--sync-scope roster|all]\n"
	"                [--max-drops N|P%]] [--update-students always|fill|never]\n"
	"                [--workers N] [--format text|csv|json|html] [-o FILE] [--all]\n"
	"                [--rejects FILE] [--label TEXT]\n"
	"                [--delimiter C] [--wait SECONDS] [--check CMD]\n"
	"                [--check-timeout SECONDS] [--check-env clean|inherit]\n"
	"                [--max-rows N] [--group-readable]\n"
	"                [--encoding NAME] [--allow-missing-email]\n"
	"                [--profile NAME] [--map FIELD=HEADER,...] [--users FILE]\n"
	"                [--users-encoding NAME] [--course-from course_id|section_id]\n";

static const char register_help[] =
	"\n"
	"Registers every row of ROSTER.csv (or standard input, '-') in one\n"
	"transaction and reports what happened to each row.\n"
	"\n"
	"  --course CODE          register every row into CODE (a course column\n"
	"                         is then ignored)\n"
	"  --dry-run              do everything and report, then roll back\n"
	"  --strict               any rejected row rolls the whole batch back\n"
	"  --max-rejects N|P%     more rejected rows than N (or P% of the rows)\n"
	"                         roll the whole batch back\n"
	"  --sync                 the roster is the whole truth for its courses:\n"
	"                         pairs no row names are dropped, seats refilled\n"
	"  --sync-scope SCOPE     roster (default: the courses the rows name) or\n"
	"                         all (every course)\n"
	"  --max-drops N|P%       --sync: more drops than N (or P% of the pairs its\n"
	"                         courses held) roll the batch back (default 10%;\n"
	"                         100% turns the guard off)\n"
	"  --update-students M    a known student's names and email: always take\n"
	"                         the row's (default), fill empty ones, or never\n"
	"  --workers N            worker threads, 1 to 1,024 (default: CPUs online;\n"
	"                         32 with --check)\n"
	"  --format FMT           report format: text (default), csv, json or html\n"
	"                         (one self-contained page to read or print)\n"
	"  -o, --output FILE      write the report to FILE instead of standard\n"
	"                         output ('-'): a file is replaced whole after the\n"
	"                         commit; a device, a FIFO, or the file standard\n"
	"                         output or error goes to, is written in place;\n"
	"                         in --format's format whatever its name (a\n"
	"                         .csv without --format: text, with a warning)\n"
	"  --all                  the text report lists every row (waitlisted rows\n"
	"                         with their positions), not only the rejected ones\n"
	"  --rejects FILE         write the rejected rows to FILE in the roster's own\n"
	"                         format (header, delimiter, encoding, line ends)\n"
	"                         plus reason and detail columns: fix them and run\n"
	"                         FILE as it is (written with the batch, taken as\n"
	"                         -o FILE is; a dry run writes it too)\n"
	"  --label TEXT           a note stored with the batch\n"
	"  --delimiter C          ',' (default), ';', 'tab' or '|'; wins over a\n"
	"                         'sep=' first line; the --users file's too\n"
	"                         (where its own 'sep=' line wins)\n"
	"  --wait SECONDS         wait this long for another bulkreg to finish\n"
	"                         (default 30); on PostgreSQL a batch that lost a\n"
	"                         race with another runs again meanwhile\n"
	"  --check CMD            run CMD for every valid row; non-zero rejects it\n"
	"                         (row values in BULKREG_* environment variables)\n"
	"  --check-timeout SECS   per-row limit for CMD (default 10)\n"
	"  --check-env MODE       clean (default): CMD sees only PATH, HOME, LANG\n"
	"                         and BULKREG_* variables (not BULKREG_DB);\n"
	"                         inherit: all of ours\n"
	"  --max-rows N           refuse a roster of more than N rows (exit 2,\n"
	"                         nothing written)\n"
	"  --group-readable       the report (and a new database) is 0640, not 0600\n"
	"\n"
	"Reading exports:\n"
	"  --encoding NAME        the roster's encoding, converted to UTF-8 as\n"
	"                         it is read (WINDOWS-1252, ISO-8859-1,\n"
	"                         MACINTOSH, UTF-16LE...; see iconv -l).\n"
	"                         Without it the roster must be UTF-8; a file's\n"
	"                         byte order mark (UTF-8, UTF-16, UTF-32) wins\n"
	"                         over it; a file already UTF-8 is refused with it\n"
	"  --allow-missing-email  register new students without an email (a row\n"
	"                         without one is otherwise only for students\n"
	"                         already in the database)\n"
	"  --profile NAME         read the roster as bulkreg, oneroster, canvas,\n"
	"                         moodle-flatfile, moodle-upload or clever (default:\n"
	"                         detected from the header)\n"
	"  --map FIELD=HEADER,... name the columns: student_id, first_name,\n"
	"                         last_name, email, course, role, status, section\n"
	"                         (a HEADER the file lacks: exit 2); a HEADER with\n"
	"                         a comma in double quotes (email=\"Email, primary\");\n"
	"                         --map twice adds up; a field or header given\n"
	"                         twice: exit 2\n"
	"  --users FILE           the export's users file, joined by id for names,\n"
	"                         emails, roles and statuses (a malformed row of\n"
	"                         it refuses the file: exit 2, nothing written;\n"
	"                         '-' is standard input, not both it and ROSTER)\n"
	"  --users-encoding NAME  the --users file's encoding when it differs from\n"
	"                         the roster's (default: --encoding's; UTF-8\n"
	"                         for a UTF-8 file beside a legacy roster)\n"
	"  --course-from COLUMN   course_id (default) or section_id (Canvas)\n"
	"\n"
	"Header names match ignoring case, spaces, '-' and '_' (StudentID,\n"
	"Student ID and student_id are one name).\n"
	"In every profile (today's rosters too) a row whose role is not a\n"
	"student's is skipped (not_a_student), and a status meaning removed\n"
	"(deleted, tobedeleted, inactive, completed) asks to drop the pair\n"
	"(the dropped row's detail names the status, and --users' line);\n"
	"any other status but active enrols, with one warning per value.\n"
	"A Moodle upload row with deleted 1 drops; suspended 1 registers (warned).\n"
	"Canvas's base_role_type decides over role (StudentEnrollment registers);\n"
	"a Canvas file with role_id and no role column is refused (exit 2).\n"
	"\n"
	"A row's status: registered, waitlisted, already_registered,\n"
	"already_waitlisted, rejected (with a reason: invalid_email,\n"
	"unknown_course, duplicate_in_roster, course_full, check_failed...) or\n"
	"skipped (not_a_student, no_course); --sync adds a dropped row for each\n"
	"pair it drops and a promoted row for each student who takes a freed\n"
	"seat.  Every reason: OUTCOMES AND REASONS in bulkreg(1).\n"
	"\n"
	"Exit status: 0 all rows succeeded, 1 some rejected (or a threshold rolled\n"
	"the batch back), 2 usage error, unusable input, a roster over --max-rows,\n"
	"no database, or a --check that cannot run (nothing written), 3 database\n"
	"or system error, 128+N interrupted by signal N.\n";

static const char drop_usage[] =
	"usage: bulkreg drop ROSTER.csv|- [--course CODE] [--dry-run] [--strict]\n"
	"                [--max-rejects N|P%] [--workers N]\n"
	"                [--format text|csv|json|html] [-o FILE] [--all]\n"
	"                [--rejects FILE] [--label TEXT] [--delimiter C] [--wait SECONDS]\n"
	"                [--check CMD] [--check-timeout SECONDS] [--encoding NAME]\n"
	"                [--profile NAME] [--map FIELD=HEADER,...] [--users FILE]\n"
	"                [--users-encoding NAME] [--course-from course_id|section_id]\n"
	"                [--check-env clean|inherit] [--max-rows N] [--group-readable]\n"
	"       bulkreg drop --student ID --course CODE [--dry-run] [--format FMT]\n"
	"                [-o FILE] [--all] [--label TEXT] [--wait SECONDS]\n";

static const char drop_help[] =
	"\n"
	"Drops every (student, course) pair ROSTER.csv names, in one transaction;\n"
	"each freed seat goes to the first student on the course's waitlist.\n"
	"The roster needs student_id and course columns (or --course); email and\n"
	"names are ignored.\n"
	"\n"
	"  --student ID           drop this one student (with --course)\n"
	"  --course CODE          every row drops from CODE\n"
	"  --dry-run              do everything and report, then roll back\n"
	"  --strict               any rejected row rolls the whole batch back\n"
	"  --max-rejects N|P%     more rejected rows than N (or P%) roll it back\n"
	"  --workers N, --format FMT, -o FILE, --all, --rejects FILE,\n"
	"  --label TEXT, --delimiter C,\n"
	"  --wait SECONDS, --check CMD, --check-timeout SECS, --check-env MODE,\n"
	"  --max-rows N, --group-readable, --encoding NAME, --profile NAME,\n"
	"  --map SPEC, --users FILE, --users-encoding NAME,\n"
	"  --course-from COLUMN: as for register\n"
	"\n"
	"A row's status: dropped, or rejected (an input reason such as\n"
	"unknown_course, then duplicate_in_roster, then not_registered: the pair\n"
	"is not in the course); each seat freed gives a promoted row for the\n"
	"student who takes it.\n"
	"\n"
	"Exit status: 0 every row dropped, 1 some rejected, 2 usage error,\n"
	"unusable input, a roster over --max-rows, or no database (nothing\n"
	"written), 3 database or system error, 128+N interrupted by signal N.\n";

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
	OPT_MAX_REJECTS,
	OPT_SYNC,
	OPT_SYNC_SCOPE,
	OPT_MAX_DROPS,
	OPT_UPDATE_STUDENTS,
	OPT_STUDENT,
	/* issue 12: reading exports */
	OPT_ENCODING,
	OPT_ALLOW_MISSING_EMAIL,
	OPT_PROFILE,
	OPT_MAP,
	OPT_USERS,
	OPT_USERS_ENCODING,
	OPT_COURSE_FROM,
	OPT_CHECK_ENV,
	OPT_MAX_ROWS,
	OPT_ALL,
	OPT_REJECTS,
};

static bool parse_update_mode(const char *s, enum student_update *out)
{
	static const char *const names[] = { "always", "fill", "never" };
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum student_update)i;
			return true;
		}
	return false;
}

static bool parse_delimiter(const char *s, unsigned char *out)
{
	/* Names in any case: tab, TAB, Tab. */
	if (strcasecmp(s, "tab") == 0 || strcmp(s, "\\t") == 0 ||
	    strcmp(s, "\t") == 0)
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

/* Warnings while the batch runs: the progress line makes way for them. */
struct run_ctx {
	const struct cli *cli;
	struct progress *progress;
};

static void warn_cb(void *ctx, const char *msg)
{
	struct run_ctx *rc = ctx;
	progress_lock(rc->progress);
	cli_warn(rc->cli, "%s", msg);
	progress_unlock(rc->progress);
}

static void rows_done_cb(void *ctx)
{
	struct run_ctx *rc = ctx;
	progress_end(rc->progress);
}

/* ---- the command -------------------------------------------------------- */

/* -o's argument: '-' is standard output (NULL), as a roster '-' is standard
 * input; a file named - is ./-. */
static const char *output_arg(const char *arg)
{
	return strcmp(arg, "-") == 0 ? NULL : arg;
}

/* -o FILE whose name says csv, json or html, with no --format: the text
 * report goes into it as asked, with a warning (review 17, C8). */
static void warn_format_of_name(const struct cli *cli,
				const struct register_options *ro,
				bool format_given)
{
	static const struct {
		const char *ext, *format;
	} named[] = { {"csv", "csv"}, {"json", "json"}, {"html", "html"},
		      {"htm", "html"} };
	const char *dot = ro->output_path ? strrchr(ro->output_path, '.') : NULL;
	if (format_given || !dot || strchr(dot, '/'))
		return;
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strcasecmp(dot + 1, named[i].ext) == 0)
			cli_warn(cli, "%s: the text report goes into it "
				 "(--format %s writes %s)",
				 ro->output_path, named[i].format, named[i].format);
}

/* Whether the batch's input can be read again from its start: a file (or
 * none: drop --student, undo), not standard input or a FIFO. */
static bool input_rereadable(const char *path)
{
	struct stat sb;
	if (!path)
		return true;
	return strcmp(path, "-") != 0 && stat(path, &sb) == 0 &&
	       S_ISREG(sb.st_mode);
}

/* stat(2) of an input path, "-" being standard input. */
static bool input_stat(const char *path, struct stat *sb)
{
	return strcmp(path, "-") == 0 ? fstat(STDIN_FILENO, sb) == 0
				       : stat(path, sb) == 0;
}

/* Whether the roster and the --users file are one stream -- standard
 * input twice ("-", /dev/stdin, /dev/fd/0), or one pipe or FIFO named
 * twice -- which can be read only once.  A regular file named twice can be
 * read twice. */
static bool same_stream(const char *roster, const char *users)
{
	struct stat a, b;
	if (strcmp(roster, "-") == 0 && strcmp(users, "-") == 0)
		return true;
	return input_stat(roster, &a) && input_stat(users, &b) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
	       !S_ISREG(a.st_mode) && !S_ISDIR(a.st_mode);
}

/*
 * Runs the batch; one that lost a race with another batch (ST_CONFLICT, on
 * PostgreSQL: a deadlock the server broke, a student both added) wrote
 * nothing, and runs again -- with a warning -- while --wait allows and its
 * input can be read again.  Everything it made (report, rejects) was
 * temporary and is made again.
 */
static enum status run_until_settled(struct cli *cli, struct run_ctx *ctx,
				     struct register_options *ro,
				     double wait, struct register_result *res,
				     struct error *err)
{
	struct timespec t0 = monotime_now();
	for (;;) {
		enum status st = register_run(ro, res, err);
		if (st != ST_CONFLICT || res->recorded || signals_received() ||
		    !input_rereadable(ro->roster_path) ||
		    !input_rereadable(ro->users_path) ||
		    monotime_since(&t0) >= wait)
			return st;
		progress_lock(ctx->progress);
		cli_warn(cli, "%s; running it again", err->msg);
		progress_unlock(ctx->progress);
		memset(err, 0, sizeof(*err));
		/* Alone, or the batches that deadlocked would mostly do it
		 * again, each retry taking its courses in roster order: six
		 * at once live-locked (review 20, F02). */
		ro->alone = true;
	}
}

/* Runs the batch the options describe and turns its result into messages
 * and an exit status. */
static int run_job(struct cli *cli, struct register_options *ro, double wait)
{
	int settled = cli_settle_target(cli);
	if (settled != 0)
		return settled;
	/* Cancellation must exist before any thread does. */
	struct chan *done;
	int started = cli_cancel_start(&done);
	if (started != 0)
		return started;
	struct error err = {0};
	enum status st;
	struct run_ctx ctx = {cli, progress_start(cli, ro->roster_path, wait)};
	ro->done = done;
	ro->warn = warn_cb;
	ro->warn_ctx = &ctx;
	ro->progress = progress_counts(ctx.progress);
	if (ctx.progress) {
		ro->wait_notice = progress_course_wait;
		ro->wait_notice_ctx = ctx.progress;
	}
	ro->rows_done = rows_done_cb;
	ro->rows_done_ctx = &ctx;
	ro->db_path = cli->db_path;
	ro->db_shown = cli->db_shown;
	ro->schema = cli->schema;
	ro->wait_seconds = wait;
	ro->file_mode = cli->file_mode;
	/* Only init and course add/import create a database. */
	ro->db_open_flags = DB_OPEN_EXISTING;
	/* "-" with nothing piped in reads what is typed: say so, or the
	 * run looks stuck at 0 rows. */
	if (ro->roster_path && strcmp(ro->roster_path, "-") == 0 && isatty(0) &&
	    !cli->quiet)
		cli_error("reading the roster from the terminal: type or paste "
			  "it, then Ctrl-D on a line of its own (or give a "
			  "file, or pipe one in)");
	progress_lock(ctx.progress);
	cli_warn_shared_dir(cli, cli->db_path);
	progress_unlock(ctx.progress);

	struct register_result res;
	st = run_until_settled(cli, &ctx, ro, wait, &res, &err);
	progress_free(ctx.progress);
	int sig = signals_received();
	cli_cancel_stop(done);

	/* 128+N says "rolled back": only when it is true.  Once the batch is
	 * committed, a failure after it (a report that could not be put in
	 * place) is exit 3 with a message that says committed and where the
	 * report is, whatever signal came meanwhile. */
	if (!res.recorded && (st == ST_CANCELLED || (st != ST_OK && sig))) {
		cli_error("%s", st == ST_CANCELLED ? err.msg : "interrupted");
		return 128 + (sig ? sig : SIGINT);
	}
	/* A usage error found once the run began (an unknown --course, -o
	 * naming the database) is said as one found while parsing. */
	if (st == ST_USAGE && res.usage_error)
		return cli_usage_error(cli, "%s", err.msg);
	/* An undo refused (no such batch, a later batch in the way) names
	 * the command, as the other listings' "no such" messages do. */
	/* Every error names the command, as the listings' do (issue 13
	 * item 4; review 23 F17). */
	if (st != ST_OK)
		return cli_fail_cmd(cli, st, &err);
	int rc;
	if (res.report_written && !ro->output_path && (rc = cli_close_stdout(cli)))
		return rc;
	const int64_t *n = res.counts.by_status;
	int64_t rejected = n[STATUS_REJECTED];
	/* A dry run ends as the real run would, threshold included. */
	bool threshold = res.rolled_back_why[0] != '\0';
	if (threshold)
		/* Even with -q: cron must hear why nothing was committed. */
		cli_error("batch %lld %s: %s", (long long)res.batch_id,
			  res.outcome == BATCH_DRY_RUN ?
				  "(a dry run) would have been rolled back" :
				  "rolled back",
			  res.rolled_back_why);
	if (ro->output_path && !cli->quiet && ro->undo_batch) {
		/* An undo reads no rows: what it changed, as its report says. */
		int64_t changed = outcome_counts_changed(&res.counts);
		char c[32], d[32], r[32], w[32], p[32];
		cli_error("batch %lld %s: %s batch %lld: %s registration%s "
			  "%s (%s dropped, %s registered, %s waitlisted, "
			  "%s promoted); report in %s",
			  (long long)res.batch_id, batch_outcome_words(res.outcome),
			  res.outcome == BATCH_COMMITTED ? "undid" : "undoing",
			  (long long)ro->undo_batch, text_group_digits(changed, c),
			  changed == 1 ? "" : "s",
			  res.outcome == BATCH_COMMITTED ? "changed" : "would change",
			  text_group_digits(n[STATUS_DROPPED], d),
			  text_group_digits(n[STATUS_REGISTERED], r),
			  text_group_digits(n[STATUS_WAITLISTED], w),
			  text_group_digits(n[STATUS_PROMOTED], p), ro->output_path);
	} else if (ro->output_path && !cli->quiet && ro->action != ROW_ENROL) {
		/* A drop: what it dropped, and the seats it gave. */
		char rows[32], d[32], p[32], rej[32];
		cli_error("batch %lld %s: %s row%s: %s dropped, %s promoted, %s "
			  "rejected%s; report in %s",
			  (long long)res.batch_id, batch_outcome_words(res.outcome),
			  text_group_digits(res.counts.rows, rows),
			  res.counts.rows == 1 ? "" : "s",
			  text_group_digits(n[STATUS_DROPPED], d),
			  text_group_digits(n[STATUS_PROMOTED], p),
			  text_group_digits(rejected, rej),
			  n[STATUS_DROPPED] || n[STATUS_PROMOTED] ? "" :
			  res.outcome == BATCH_DRY_RUN ? " (nothing would change)" :
							 " (nothing changed)",
			  ro->output_path);
	} else if (ro->output_path && !cli->quiet) {
		/* The summary is in the file; at a terminal, say where it went
		 * and what it says in one line; a re-run that changed nothing
		 * says so first. */
		char more[160] = "", a[32], b[32], c[32];
		if (n[STATUS_PROMOTED] || n[STATUS_DROPPED] || n[STATUS_SKIPPED])
			snprintf(more, sizeof(more),
				 ", %s dropped, %s promoted, %s skipped",
				 text_group_digits(n[STATUS_DROPPED], a),
				 text_group_digits(n[STATUS_PROMOTED], b),
				 text_group_digits(n[STATUS_SKIPPED], c));
		char rows[32], reg[32], wl[32], there[32], rej[32];
		const struct report_summary sum = { .counts = &res.counts };
		bool nothing = res.outcome != BATCH_ROLLED_BACK &&
			       report_changed_nothing(&sum);
		cli_error("batch %lld %s%s: %s row%s: %s registered, %s "
			  "waitlisted, %s already there%s, %s rejected; "
			  "report in %s",
			  (long long)res.batch_id, batch_outcome_words(res.outcome),
			  !nothing ? "" :
			  res.outcome == BATCH_DRY_RUN ? ", nothing would change" :
							 ", nothing changed",
			  text_group_digits(res.counts.rows, rows),
			  res.counts.rows == 1 ? "" : "s",
			  text_group_digits(n[STATUS_REGISTERED], reg),
			  text_group_digits(n[STATUS_WAITLISTED], wl),
			  text_group_digits(n[STATUS_ALREADY_REGISTERED] +
						      n[STATUS_ALREADY_WAITLISTED],
					      there),
			  more, text_group_digits(rejected, rej), ro->output_path);
	} else if (rejected > 0 && ro->output_path) {
		/* Quiet runs from cron still need to say that something needs a
		 * human; the details are in the report file. */
		char rej[32], rows[32];
		cli_error("batch %lld %s: %s of %s row%s rejected; see %s",
			  (long long)res.batch_id, batch_outcome_words(res.outcome),
			  text_group_digits(rejected, rej),
			  text_group_digits(res.counts.rows, rows),
			  res.counts.rows == 1 ? "" : "s", ro->output_path);
	}
	/* A csv report on standard output holds the rows only: that nothing
	 * was committed is said here (a rollback said it above, even with
	 * -q; json carries its outcome but is told alike). */
	if (!ro->output_path && !threshold && !cli->quiet &&
	    res.outcome == BATCH_DRY_RUN &&
	    (ro->format == REPORT_CSV || ro->format == REPORT_JSON))
		cli_error("batch %lld was a dry run: nothing was committed",
			  (long long)res.batch_id);
	if (ro->rejects_path && (!cli->quiet || rejected > 0)) {
		char rej[32];
		cli_error("%s rejected row%s written to %s",
			  text_group_digits(rejected, rej),
			  rejected == 1 ? "" : "s", ro->rejects_path);
	}
	return rejected > 0 || threshold ? 1 : 0;
}

/* What `register` and `drop` share: their options and the batch's run. */
struct batch_command {
	const char *name;
	const char *usage, *help;
	enum row_action action;
};

static int run_batch(struct cli *cli, const struct batch_command *bc, int argc,
		     char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, OPT_ALL},
		{"allow-missing-email", no_argument, NULL, OPT_ALLOW_MISSING_EMAIL},
		{"check", required_argument, NULL, OPT_CHECK},
		{"check-env", required_argument, NULL, OPT_CHECK_ENV},
		{"check-timeout", required_argument, NULL, OPT_CHECK_TIMEOUT},
		{"course", required_argument, NULL, OPT_COURSE},
		{"course-from", required_argument, NULL, OPT_COURSE_FROM},
		{"delimiter", required_argument, NULL, OPT_DELIMITER},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"encoding", required_argument, NULL, OPT_ENCODING},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"help", no_argument, NULL, 'h'},
		{"label", required_argument, NULL, OPT_LABEL},
		{"map", required_argument, NULL, OPT_MAP},
		{"max-drops", required_argument, NULL, OPT_MAX_DROPS},
		{"max-rejects", required_argument, NULL, OPT_MAX_REJECTS},
		{"max-rows", required_argument, NULL, OPT_MAX_ROWS},
		{"output", required_argument, NULL, 'o'},
		{"profile", required_argument, NULL, OPT_PROFILE},
		{"rejects", required_argument, NULL, OPT_REJECTS},
		{"strict", no_argument, NULL, OPT_STRICT},
		{"student", required_argument, NULL, OPT_STUDENT},
		{"sync", no_argument, NULL, OPT_SYNC},
		{"sync-scope", required_argument, NULL, OPT_SYNC_SCOPE},
		{"update-students", required_argument, NULL, OPT_UPDATE_STUDENTS},
		{"users", required_argument, NULL, OPT_USERS},
		{"users-encoding", required_argument, NULL, OPT_USERS_ENCODING},
		{"wait", required_argument, NULL, OPT_WAIT},
		{"workers", required_argument, NULL, OPT_WORKERS},
		{NULL, 0, NULL, 0},
	};
	const char *name = bc->name;
	bool drop = bc->action != ROW_ENROL;
	struct register_options ro = {
		.delimiter = ',',
		.format = REPORT_TEXT,
		.check_timeout = 10,
		.quiet = cli->quiet,
		.action = bc->action,
	};
	const char *scope = NULL;
	double wait = DEFAULT_WAIT_SECONDS;
	bool format_given = false;
	struct csvread_map map = {0}; /* issue 12: --map, each one adding */
	int64_t workers = 0;
	const char *roster_only = NULL; /* the first such option given */
	int c, at = -1;
	struct cli_getopt g;
	cli_getopt_init(&g, cli, name, "ho:", opts);
	while ((c = cli_getopt_next(&g, argc, argv, &at)) != -1) {
		/* Options of one command only. */
		bool register_only = c == OPT_SYNC || c == OPT_SYNC_SCOPE ||
				     c == OPT_ALLOW_MISSING_EMAIL ||
				     c == OPT_MAX_DROPS || c == OPT_UPDATE_STUDENTS;
		if ((drop && register_only) || (!drop && c == OPT_STUDENT)) {
			return cli_usage_error(cli, "--%s is not an option of '%s'",
					       at >= 0 ? opts[at].name : "?", name);
		}
		/* Options about reading a roster: not for drop --student. */
		if (!roster_only && at >= 0 &&
		    (c == OPT_CHECK || c == OPT_CHECK_ENV || c == OPT_CHECK_TIMEOUT ||
		     c == OPT_MAX_ROWS || c == OPT_DELIMITER || c == OPT_MAX_REJECTS ||
		     c == OPT_STRICT || c == OPT_WORKERS || c == OPT_ENCODING ||
		     c == OPT_PROFILE || c == OPT_MAP || c == OPT_USERS ||
		     c == OPT_USERS_ENCODING || c == OPT_COURSE_FROM))
			roster_only = opts[at].name;
		switch (c) {
		case 'h':
			return cli_help(cli, bc->usage, bc->help);
		case 'o':
			ro.output_path = output_arg(optarg);
			break;
		case OPT_ALL:
			ro.all_rows = true;
			break;
		case OPT_REJECTS:
			ro.rejects_path = optarg;
			break;
		case OPT_CHECK:
			ro.check_cmd = optarg;
			break;
		case OPT_CHECK_ENV:
			if (strcmp(optarg, "clean") != 0 &&
			    strcmp(optarg, "inherit") != 0)
				return cli_usage_error(cli,
						       "--check-env: '%s' is not clean "
						       "or inherit",
						       optarg);
			ro.check_env_inherit = strcmp(optarg, "inherit") == 0;
			break;
		case OPT_MAX_ROWS:
			if (!parse_int64(optarg, 1, INT64_MAX, &ro.max_rows))
				return cli_usage_error(cli,
						       "--max-rows: '%s' is not a whole "
						       "number of at least 1",
						       optarg);
			break;
		case OPT_CHECK_TIMEOUT:
			if (!parse_seconds(optarg, 0.001, 86400, &ro.check_timeout))
				return cli_usage_error(cli,
						       "--check-timeout: '%s' is not a "
						       "number of seconds (0.001 to 86,400)",
						       optarg);
			break;
		case OPT_COURSE:
			ro.course = optarg;
			break;
		case OPT_DELIMITER:
			if (!parse_delimiter(optarg, &ro.delimiter))
				return cli_usage_error(cli,
						       "--delimiter: '%s' is not one of "
						       "',' ';' 'tab' '|'",
						       optarg);
			ro.delimiter_given = true;
			break;
		case OPT_DRY_RUN:
			ro.dry_run = true;
			break;
		case OPT_FORMAT:
			if (!report_format_parse(optarg, &ro.format))
				return cli_usage_error(cli,
						       "--format: '%s' is not text, csv, "
						       "json or html",
						       optarg);
			format_given = true;
			break;
		case OPT_LABEL:
			ro.label = optarg;
			break;
		case OPT_MAX_DROPS:
		case OPT_MAX_REJECTS:
			if (!threshold_parse(optarg, c == OPT_MAX_DROPS ?
							     &ro.max_drops :
							     &ro.max_rejects))
				return cli_usage_error(cli,
						       "%s: '%s' is not a whole number "
						       "N or a percentage P%% (0..100)",
						       c == OPT_MAX_DROPS ? "--max-drops" :
									    "--max-rejects",
						       optarg);
			break;
		case OPT_STRICT:
			ro.strict = true;
			break;
		case OPT_STUDENT:
			ro.single_student = optarg;
			break;
		case OPT_SYNC:
			ro.sync = true;
			break;
		case OPT_SYNC_SCOPE:
			scope = optarg;
			if (strcmp(optarg, "all") != 0 && strcmp(optarg, "roster") != 0)
				return cli_usage_error(cli,
						       "--sync-scope: '%s' is not "
						       "roster or all",
						       optarg);
			ro.sync_all = strcmp(optarg, "all") == 0;
			break;
		case OPT_UPDATE_STUDENTS:
			if (!parse_update_mode(optarg, &ro.update_students))
				return cli_usage_error(cli,
						       "--update-students: '%s' is not "
						       "always, fill or never",
						       optarg);
			break;
		case OPT_WAIT:
			if (cli_wait_arg(cli, optarg, &wait) != 0)
				return 2;
			break;
		case OPT_WORKERS:
			if (!parse_int64(optarg, 1, POOL_MAX_WORKERS, &workers)) {
				char most[32];
				return cli_usage_error(cli,
						       "--workers: '%s' is not a whole "
						       "number from 1 to %s",
						       optarg,
						       text_group_digits(POOL_MAX_WORKERS,
									   most));
			}
			break;
		/* issue 12: reading exports */
		case OPT_ENCODING:
			ro.encoding = optarg;
			break;
		case OPT_ALLOW_MISSING_EMAIL:
			ro.allow_missing_email = true;
			break;
		case OPT_PROFILE: {
			enum profile p;
			if (!profile_parse(optarg, &p))
				return cli_usage_error(cli,
						       "--profile: '%s' is not one of "
						       "bulkreg, oneroster, canvas, "
						       "moodle-flatfile, moodle-upload, "
						       "clever",
						       optarg);
			ro.profile = optarg;
			break;
		}
		case OPT_MAP: {
			struct error merr = {0};
			if (profile_map_parse(optarg, &map, &merr) != ST_OK)
				return cli_usage_error(cli, "%s", merr.msg);
			ro.map = &map;
			break;
		}
		case OPT_USERS:
			ro.users_path = optarg;
			break;
		case OPT_USERS_ENCODING:
			ro.users_encoding = optarg;
			break;
		case OPT_COURSE_FROM:
			if (strcmp(optarg, "section_id") != 0 &&
			    strcmp(optarg, "course_id") != 0)
				return cli_usage_error(cli,
						       "--course-from: '%s' is not "
						       "course_id or section_id",
						       optarg);
			ro.course_from_section = strcmp(optarg, "section_id") == 0;
			break;
		default:
			return 2;
		}
	}
	ro.quiet = cli->quiet;
	if (ro.rejects_path && (strcmp(ro.rejects_path, "-") == 0 ||
				(ro.output_path &&
				 strcmp(ro.rejects_path, ro.output_path) == 0)))
		return cli_usage_error(cli, "--rejects: '%s' is %s", ro.rejects_path,
				       ro.rejects_path[0] == '-' && !ro.rejects_path[1] ?
					       "not a file name" :
					       "the report's file too (-o)");
	if (ro.single_student) {
		if (ro.rejects_path)
			return cli_usage_error(cli,
					       "--rejects writes a roster's rejected "
					       "rows: not with --student");
		if (optind != argc)
			return cli_usage_error(cli,
					       "--student drops one pair: no roster "
					       "file with it");
		if (!ro.course)
			return cli_usage_error(cli,
					       "--student needs --course CODE");
		if (roster_only)
			return cli_usage_error(cli,
					       "--%s is about reading a roster: not "
					       "with --student",
					       roster_only);
	} else if (optind != argc - 1) {
		return cli_usage_error(cli,
				       optind >= argc ? "a roster file is required"
						      : "only one roster file at a time");
	} else {
		ro.roster_path = argv[optind];
	}
	if (ro.users_path && ro.roster_path &&
	    same_stream(ro.roster_path, ro.users_path)) {
		cli_error("%s: the roster and --users are both %s: one stream "
			  "can be read only once; save one of them to a file "
			  "(nothing was written)",
			  name, strcmp(ro.roster_path, "-") == 0 ||
					strcmp(ro.users_path, "-") == 0 ?
				"standard input" : "the same pipe");
		return 2;
	}
	if (ro.users_encoding && !ro.users_path)
		return cli_usage_error(cli,
				       "--users-encoding is the --users file's "
				       "encoding: give --users FILE too");
	if (ro.strict && ro.max_rejects.set)
		return cli_usage_error(cli,
				       "--strict is --max-rejects 0: give one of "
				       "them");
	if ((scope || ro.max_drops.set) && !ro.sync)
		return cli_usage_error(cli, "%s needs --sync",
				       scope ? "--sync-scope" : "--max-drops");
	if (ro.sync && !ro.max_drops.set)
		threshold_parse("10%", &ro.max_drops);
	ro.workers = workers ? (size_t)workers : ro.check_cmd ? 32 : online_cpus();
	if (ro.course && !id_valid(ro.course, strlen(ro.course)))
		return cli_usage_error(cli,
				       "--course: '%s' is not a course code", ro.course);
	warn_format_of_name(cli, &ro, format_given);
	return run_job(cli, &ro, wait);
}

int cmd_register(struct cli *cli, int argc, char **argv)
{
	static const struct batch_command bc = {
		"register", register_usage, register_help, ROW_ENROL,
	};
	return run_batch(cli, &bc, argc, argv);
}

int cmd_drop(struct cli *cli, int argc, char **argv)
{
	static const struct batch_command bc = {
		"drop", drop_usage, drop_help, ROW_DROP,
	};
	return run_batch(cli, &bc, argc, argv);
}

static const char undo_usage[] =
	"usage: bulkreg undo BATCH [--dry-run] [--format text|csv|json|html] [-o FILE]\n"
	"                [--all] [--label TEXT] [--wait SECONDS] [--group-readable]\n";

static const char undo_help[] =
	"\n"
	"Sets back exactly what committed batch BATCH changed -- registrations,\n"
	"seats and waitlist positions, course counts, students it created or\n"
	"changed -- in one transaction, as a batch of its own (which can be undone\n"
	"too).  Refused when a later batch changed the same courses or students\n"
	"(undo those first), when a waitlist would be longer than its maximum\n"
	"(lowered since: raise it first with 'course add CODE --waitlist N'), or\n"
	"when BATCH was a dry run, a repair, rolled back or undone.  Seats put\n"
	"back over a capacity lowered since are kept, with a warning.  A capacity\n"
	"change's undo sets back each course setting it changed (capacity,\n"
	"waitlist, title) that is still as it left it; one edited since is kept,\n"
	"with a warning; a course a course import created stays.\n"
	"\n"
	"  --dry-run              report what the undo would do, then roll back\n"
	"  --format FMT           report format: text (default), csv, json or html\n"
	"  -o, --output FILE      write the report to FILE (as register -o does)\n"
	"  --all                  the text report lists every row it changed\n"
	"  --label TEXT           a note stored with the undo (default: 'undo of\n"
	"                         batch N')\n"
	"  --wait SECONDS         wait this long for another bulkreg (default 30)\n"
	"\n"
	"A row per pair whose status changed, with its new status: dropped (a\n"
	"pair the batch added), registered or waitlisted (a pair it dropped,\n"
	"restored), promoted (a waiting student who takes a seat free after the\n"
	"undo); a pair put back on the waitlist and promoted at once: one row,\n"
	"its status now.  The summary counts the students whose names and email\n"
	"it set back.\n"
	"\n"
	"Exit status: 0 undone, 2 usage error, refused, or no database (nothing\n"
	"written), 3 database or system error, 128+N interrupted by signal N.\n";

int cmd_undo(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, OPT_ALL},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"help", no_argument, NULL, 'h'},
		{"label", required_argument, NULL, OPT_LABEL},
		{"output", required_argument, NULL, 'o'},
		{"wait", required_argument, NULL, OPT_WAIT},
		{NULL, 0, NULL, 0},
	};
	struct register_options ro = {
		.format = REPORT_TEXT,
		.quiet = cli->quiet,
		.workers = 1,
		.delimiter = ',',
	};
	double wait = DEFAULT_WAIT_SECONDS;
	bool format_given = false;
	struct cli_getopt g;
	cli_getopt_init(&g, cli, "undo", "ho:", opts);
	int c;
	while ((c = cli_getopt_next(&g, argc, argv, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(cli, undo_usage, undo_help);
		case 'o':
			ro.output_path = output_arg(optarg);
			break;
		case OPT_ALL:
			ro.all_rows = true;
			break;
		case OPT_DRY_RUN:
			ro.dry_run = true;
			break;
		case OPT_FORMAT:
			if (!report_format_parse(optarg, &ro.format))
				return cli_usage_error(cli,
						       "--format: '%s' is not text, csv, "
						       "json or html",
						       optarg);
			format_given = true;
			break;
		case OPT_LABEL:
			ro.label = optarg;
			break;
		case OPT_WAIT:
			if (cli_wait_arg(cli, optarg, &wait) != 0)
				return 2;
			break;
		default:
			return 2;
		}
	}
	ro.quiet = cli->quiet;
	if (optind != argc - 1)
		return cli_usage_error(cli,
				       optind >= argc ? "which batch? (see 'bulkreg "
							"batches')"
						      : "one batch at a time");
	if (!parse_int64(argv[optind], 1, INT64_MAX, &ro.undo_batch))
		return cli_usage_error(cli,
				       "'%s' is not a batch number", argv[optind]);
	warn_format_of_name(cli, &ro, format_given);
	return run_job(cli, &ro, wait);
}
