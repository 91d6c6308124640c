/* cmd_common: messages, number parsing and terminal-safe output for the CLI. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"

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

void cli_warn_shared_dir(const struct cli *cli)
{
	char dir[4096];
	if (!cli->db_pg &&
	    db_dir_writable_by_others(cli->db_path, dir, sizeof(dir)))
		cli_warn(cli,
			 "%s: the database's directory is writable by other "
			 "users, who could put files beside it; keep the "
			 "database in a directory only you can write",
			 dir);
}

int cli_fail(enum status st, const struct error *err)
{
	cli_error("%s", err->msg);
	return status_exit_code(st);
}

int cli_usage_error(const char *usage, const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	print_escaped("", fmt, ap);
	va_end(ap);
	fprintf(stderr, "%sTry 'bulkreg %s --help'.\n", usage, cmd);
	return 2;
}

int cli_open_db(const struct cli *cli, double wait_seconds, bool must_exist,
		struct db **out)
{
	struct stat sb;
	if (must_exist && !cli->db_pg && stat(cli->db_path, &sb) != 0 &&
	    errno == ENOENT) {
		cli_error("%s: no such database (run 'bulkreg init' to create it, "
			  "or give the right path with -d)",
			  cli->db_shown);
		return 3;
	}
	cli_warn_shared_dir(cli);
	struct error err;
	unsigned mode = cli->file_mode | (cli->examine ? DB_OPEN_EXAMINE : 0) |
			(cli->init ? DB_OPEN_INIT : 0) |
			(cli->writes || cli->init ? DB_OPEN_WRITE : 0);
	enum status st = db_open_target(cli->db_path, cli->schema, wait_seconds,
					mode, out, &err);
	if (st != ST_OK)
		return cli_fail(st, &err);
	return 0;
}

bool parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	/* strtoll would take leading spaces and a '+'. */
	if (!s || !*s || !(isdigit((unsigned char)s[0]) || s[0] == '-'))
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool parse_seconds(const char *s, double min, double max, double *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int cli_close_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("standard output: write failed: %s", strerror(errno));
		return 3;
	}
	return 0;
}

void cli_take_quiet(struct cli *cli, int *argc, char **argv)
{
	int kept = 1;
	bool options = true;
	for (int i = 1; i < *argc; i++) {
		if (options && strcmp(argv[i], "--") == 0)
			options = false;
		if (options && (strcmp(argv[i], "-q") == 0 ||
				strcmp(argv[i], "--quiet") == 0)) {
			cli->quiet = true;
			continue;
		}
		if (options && strcmp(argv[i], "--group-readable") == 0) {
			cli->file_mode = DB_MODE_GROUP;
			continue;
		}
		argv[kept++] = argv[i];
	}
	*argc = kept;
	argv[kept] = NULL;
}

int cli_parse_format(int argc, char **argv, const char *usage,
			const char *help, const char *cmd, enum report_format *fmt)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	*fmt = REPORT_TEXT;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'f' && report_format_parse(optarg, fmt))
			continue;
		if (c == 'h') {
			fputs(usage, stdout);
			fputs(help, stdout);
			return cli_close_stdout();
		}
		if (c == 'f')
			return cli_usage_error(usage, cmd,
					       "--format: '%s' is not text, csv or json",
					       optarg);
		fprintf(stderr, "%sTry 'bulkreg %s --help'.\n", usage, cmd);
		return 2;
	}
	return -1;
}

void cli_csv_str(const char *s, bool last)
{
	csv_write_field(stdout, s ? s : "", s ? strlen(s) : 0);
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
