/* cmd_common: messages, number parsing and terminal-safe output for the CLI. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cmd.h"
#include "dbtarget.h"
#include "signals.h"

/* Formats and prints "bulkreg: <prefix><msg>\n", escaped for a terminal. */
static void print_escaped(const char *prefix, const char *fmt, va_list ap)
{
	char raw[ERROR_MAX * 2];
	char shown[ERROR_MAX * 8];
	vsnprintf(raw, sizeof(raw), fmt, ap);
	text_escape_message(shown, sizeof(shown), raw);
	fprintf(stderr, "bulkreg: %s%s\n", prefix, shown);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	print_escaped("", fmt, ap);
	va_end(ap);
}

void cli_warn(const struct cli *cli, const char *fmt, ...)
{
	if (cli->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	print_escaped("warning: ", fmt, ap);
	va_end(ap);
}

/*
 * The warnings about the database's own safety are printed even with -q
 * (review 21, F07): the job run by cron is the one that needs to hear that
 * other users can plant files beside its database or read it, and cron
 * mails what it prints.  Once per database and run.
 */
void cli_warn_shared_dir(const struct cli *cli, const char *target)
{
	(void)cli;
	char dir[4096];
	if (db_dir_writable_by_others(target, dir, sizeof(dir)))
		cli_error("warning: %s: the database's directory is writable "
			  "by other users, who could put files beside it; keep "
			  "the database in a directory only you can write",
			  dir);
	unsigned mode = 0;
	char names[4096];
	if (db_readable_by_others(target, names, sizeof(names), &mode))
		cli_error("warning: %s: readable by every user (mode %04o), "
			  "with the names, emails and ids it holds; bulkreg "
			  "keeps an existing database's mode: chmod o-r them",
			  names, mode);
}

int cli_cancel_start(struct chan **done)
{
	struct error err = {0};
	*done = chan_new(sizeof(int), 0);
	if (!*done)
		return cli_error("out of memory"), 3;
	enum status st = signals_start(*done, &err);
	if (st != ST_OK) {
		chan_free(*done);
		*done = NULL;
		return cli_fail(st, &err);
	}
	return 0;
}

void cli_cancel_stop(struct chan *done)
{
	signals_stop();
	chan_free(done);
}

int cli_fail(enum status st, const struct error *err)
{
	/* A lock held too long: what to do about it (review 17, C8). */
	if (st == ST_BUSY)
		cli_error("%s; run it again once the other process is done "
			  "(--wait SECONDS, where the command takes it, waits "
			  "longer)",
			  err->msg);
	else
		cli_error("%s", err->msg);
	return status_exit_code(st);
}

int cli_fail_cmd(const struct cli *cli, enum status st,
		 const struct error *err)
{
	if (st == ST_BUSY)
		cli_error("%s: %s; run it again once the other process is done "
			  "(--wait SECONDS, where the command takes it, waits "
			  "longer)",
			  cli->cmd, err->msg);
	else
		cli_error("%s: %s", cli->cmd, err->msg);
	return status_exit_code(st);
}

int cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
	char prefix[80];
	snprintf(prefix, sizeof(prefix), "%s: ", cli->cmd);
	va_list ap;
	va_start(ap, fmt);
	print_escaped(prefix, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'bulkreg %s --help'.\n", cli->cmd);
	return 2;
}

int cli_open_db(struct cli *cli, double wait_seconds, struct db **out)
{
	int rc = cli_settle_target(cli);
	if (rc != 0)
		return rc;
	cli_warn_shared_dir(cli, cli->db_path);
	struct error err = {0};
	unsigned mode = cli->file_mode | (cli->examine ? DB_OPEN_EXAMINE : 0) |
			(cli->may_create ? 0 : DB_OPEN_EXISTING) |
			(cli->init ? DB_OPEN_INIT : 0) |
			(cli->writes || cli->init ? DB_OPEN_WRITE : 0);
	enum status st = db_open_target(cli->db_path, cli->schema, wait_seconds,
					mode, out, &err);
	/* Named by the command, as its other errors are (review 23 F17). */
	if (st != ST_OK)
		return cli->cmd ? cli_fail_cmd(cli, st, &err) : cli_fail(st, &err);
	return 0;
}

int cli_settle_target(struct cli *cli)
{
	static char shown[4096];
	db_target_redact(cli->db_path, shown, sizeof(shown));
	cli->db_shown = shown;
	cli->db_pg = db_target_is_pg(cli->db_path);
	if (!cli->schema) {
		const char *env = getenv("BULKREG_SCHEMA");
		cli->schema = env && *env ? env : NULL;
	}
	if (cli->schema_given && !cli->db_pg) {
		cli_error("--schema: %s is an SQLite file; only a PostgreSQL "
			  "database has schemas",
			  shown);
		return 2;
	}
	if (!cli->db_pg)
		return 0;
	struct error err = {0};
	enum status st = db_target_check(cli->db_path, &err);
	if (st == ST_OK && cli->schema && !db_schema_name_valid(cli->schema))
		st = error_set(&err, ST_USAGE,
			       "--schema: '%.80s' is not a name bulkreg uses: "
			       "a lowercase letter or '_', then up to %d "
			       "lowercase letters, digits or '_' (not pg_...)",
			       cli->schema, DB_PG_SCHEMA_MAX - 1);
	return st == ST_OK ? 0 : cli_fail(st, &err);
}

/* ---- options ------------------------------------------------------------ */

enum { OPT_GLOBAL_GROUP_READABLE = 0x4000, OPT_GLOBAL_SCHEMA };

static const struct option global_opts[] = {
	{"db", required_argument, NULL, 'd'},
	{"group-readable", no_argument, NULL, OPT_GLOBAL_GROUP_READABLE},
	{"quiet", no_argument, NULL, 'q'},
	{"schema", required_argument, NULL, OPT_GLOBAL_SCHEMA},
};
#define NGLOBAL (sizeof(global_opts) / sizeof(global_opts[0]))

void cli_getopt_init(struct cli_getopt *g, struct cli *cli, const char *cmd,
		     const char *shortopts,
		     const struct option *longopts)
{
	g->cli = cli;
	cli->cmd = cmd;
	size_t n = 0;
	for (; longopts && longopts[n].name; n++) {
		if (n + NGLOBAL + 1 > CLI_OPTS_MAX) {
			fputs("bulkreg: internal error: more options than "
			      "CLI_OPTS_MAX\n", stderr);
			abort();
		}
		g->longopts[n] = longopts[n];
	}
	for (size_t i = 0; i < NGLOBAL; i++)
		g->longopts[n++] = global_opts[i];
	memset(&g->longopts[n], 0, sizeof(g->longopts[n]));
	/* After the command's own: a leading '+' (stop at the first operand)
	 * stays first. */
	/* ':' first (after a '+'): a missing argument is told from an
	 * unknown option, and opterr = 0 leaves every message to us
	 * (cli_option_error, which escapes the option). */
	bool plus = shortopts[0] == '+';
	int w = snprintf(g->shortopts, sizeof(g->shortopts), "%s:%sd:q",
			 plus ? "+" : "", shortopts + plus);
	if (w < 0 || (size_t)w >= sizeof(g->shortopts)) {
		fputs("bulkreg: internal error: short options too long\n", stderr);
		abort();
	}
	snprintf(g->prog, sizeof(g->prog), "%s", cmd);
	optind = 0; /* GNU getopt: start afresh */
	opterr = 0;
}

/* Whether the long option `name` (len bytes) is one of longopts; *has_arg
 * is its argument rule, *prefix_of how many options it is a prefix of. */
static bool long_option(const struct option *longopts, const char *name,
			size_t len, int *has_arg, int *prefix_of)
{
	*prefix_of = 0;
	for (size_t i = 0; longopts && longopts[i].name; i++) {
		if (strncmp(longopts[i].name, name, len) != 0)
			continue;
		if (longopts[i].name[len] == '\0') {
			*has_arg = longopts[i].has_arg;
			return true;
		}
		(*prefix_of)++;
	}
	return false;
}

void cli_option_error(const char *cmd, int c, char **argv,
		      const struct option *longopts)
{
	const char *who = cmd ? cmd : "", *sep = cmd ? ": " : "";
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	bool is_long = strncmp(arg, "--", 2) == 0 && arg[2] != '\0';
	size_t len = is_long ? strcspn(arg + 2, "=") : 0;
	int has_arg = no_argument, prefix_of = 0;
	bool known = is_long && long_option(longopts, arg + 2, len, &has_arg,
					    &prefix_of);
	char one[2] = {(char)optopt, '\0'};
	if (c == ':' && known)
		cli_error("%s%soption '--%.*s' requires an argument", who, sep,
			  (int)len, arg + 2);
	else if (c == ':')
		cli_error("%s%soption requires an argument -- '%s'", who, sep,
			  one);
	else if (known && arg[2 + len] == '=' && has_arg == no_argument)
		cli_error("%s%soption '--%.*s' doesn't allow an argument", who,
			  sep, (int)len, arg + 2);
	else if (optopt != 0)
		cli_error("%s%sinvalid option -- '%s'", who, sep, one);
	else if (is_long && prefix_of > 1)
		cli_error("%s%soption '%s' is ambiguous", who, sep, arg);
	else
		cli_error("%s%sunrecognized option '%s'", who, sep, arg);
}

int cli_getopt_next(struct cli_getopt *g, int argc, char **argv,
		    int *longindex)
{
	for (;;) {
		int c = getopt_long(argc, argv, g->shortopts, g->longopts,
				    longindex);
		switch (c) {
		case 'd':
			g->cli->db_path = optarg;
			continue;
		case 'q':
			g->cli->quiet = true;
			continue;
		case OPT_GLOBAL_GROUP_READABLE:
			g->cli->file_mode = DB_MODE_GROUP;
			continue;
		case OPT_GLOBAL_SCHEMA:
			g->cli->schema = optarg;
			g->cli->schema_given = true;
			continue;
		case '?':
		case ':':
			cli_option_error(g->prog, c, argv, g->longopts);
			fprintf(stderr, "Try 'bulkreg %s --help'.\n", g->cli->cmd);
			return CLI_OPT_ERROR;
		default:
			return c;
		}
	}
}

int cli_help(const struct cli *cli, const char *usage, const char *help)
{
	fputs(usage, stdout);
	fputs(help, stdout);
	fputs("\nGlobal options, before or after the command: -d, --db DB "
	      "(the\ndatabase: a file or a PostgreSQL URI), --schema NAME, -q, "
	      "--quiet,\n--group-readable; see 'bulkreg --help'.\n",
	      stdout);
	return cli_close_stdout(cli);
}

bool parse_seconds(const char *s, double min, double max, double *out)
{
	/* Digits and one decimal point only, as --workers takes digits:
	 * not strtod's other forms (" 5", "+5", "0x10", "1e3", "inf"). */
	if (!s || !*s)
		return false;
	size_t digits = strspn(s, "0123456789"), at = digits, frac = 0;
	if (s[at] == '.') {
		frac = strspn(s + at + 1, "0123456789");
		at += 1 + frac;
	}
	if (s[at] != '\0' || digits + frac == 0)
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int cli_wait_arg(struct cli *cli, const char *arg, double *wait)
{
	if (parse_seconds(arg, 0, 86400, wait))
		return 0;
	return cli_usage_error(cli, "--wait: '%s' is not a number of seconds "
				    "(0 to 86,400)",
			       arg);
}

/* "CMD: writing standard output: why" into buf. */
static void stdout_error(const struct cli *cli, int errnum, char *buf,
			 size_t size)
{
	snprintf(buf, size, "%s%swriting standard output: %s",
		 cli->cmd ? cli->cmd : "", cli->cmd ? ": " : "",
		 strerror(errnum ? errnum : EIO));
}

int cli_stdout_check(const struct cli *cli, struct error *err)
{
	if (!ferror(stdout))
		return 0;
	char msg[ERROR_MAX];
	stdout_error(cli, errno, msg, sizeof(msg));
	error_set(err, ST_IO, "%s", msg);
	return -1;
}

int cli_close_stdout(const struct cli *cli)
{
	/* A writer that stopped at its first failed write (the html page)
	 * leaves nothing for the flush to fail on again: the errno it left
	 * says why. */
	int earlier = errno;
	errno = 0;
	bool failed = ferror(stdout);
	if (fflush(stdout) != 0 || ferror(stdout) || failed) {
		char msg[ERROR_MAX];
		int why = errno ? errno : failed ? earlier : 0;
		stdout_error(cli, cli->stdout_closed ? EBADF : why, msg,
			     sizeof(msg));
		cli_error("%s", msg);
		return 3;
	}
	return 0;
}

void cli_listing_output(void)
{
	signal(SIGPIPE, SIG_DFL);
}

/* A listing's options; html only where `html` (the listings without a page
 * refuse it). */
static int parse_format(struct cli *cli, int argc, char **argv, const char *cmd,
			const char *usage, const char *help, bool html,
			enum report_format *fmt)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	*fmt = REPORT_TEXT;
	struct cli_getopt g;
	cli_getopt_init(&g, cli, cmd, "h", opts);
	int c;
	while ((c = cli_getopt_next(&g, argc, argv, NULL)) != -1) {
		if (c == 'f' && report_format_parse(optarg, fmt) &&
		    (html || *fmt != REPORT_HTML))
			continue;
		if (c == 'h')
			return cli_help(cli, usage, help);
		if (c == 'f')
			return cli_usage_error(cli,
					       html ? "--format: '%s' is not text, csv, "
						      "json or html" :
						      "--format: '%s' is not text, csv "
						      "or json",
					       optarg);
		return 2;
	}
	cli_listing_output();
	return -1;
}

int cli_parse_format(struct cli *cli, int argc, char **argv, const char *cmd,
		     const char *usage, const char *help,
		     enum report_format *fmt)
{
	return parse_format(cli, argc, argv, cmd, usage, help, false, fmt);
}

int cli_parse_format_html(struct cli *cli, int argc, char **argv,
			  const char *cmd, const char *usage, const char *help,
			  enum report_format *fmt)
{
	return parse_format(cli, argc, argv, cmd, usage, help, true, fmt);
}

void cli_csv_field(const char *s, size_t len)
{
	static int terminal = -1; /* asked once: a listing has many fields */
	if (terminal < 0)
		terminal = isatty(STDOUT_FILENO) == 1;
	csv_write_field(stdout, s, len, terminal == 1);
}

void cli_csv_str(const char *s, bool last)
{
	cli_csv_field(s ? s : "", s ? strlen(s) : 0);
	fputc(last ? '\n' : ',', stdout);
}

void cli_json_str(const char *key, const char *s)
{
	printf("\"%s\": ", key);
	if (s)
		json_write_string(stdout, s, strlen(s));
	else
		fputs("null", stdout);
}
