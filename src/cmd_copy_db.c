/* cmd_copy_db: `bulkreg copy-db FROM TO` -- a whole database into an empty one, between stores. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "copy_db.h"
#include "dbtarget.h"

static const char copy_usage[] =
	"usage: bulkreg copy-db FROM TO [--wait SECONDS]\n";
static const char copy_help[] =
	"\nCopies the whole database FROM into TO -- courses, students,\n"
	"registrations, every batch and its history, ids and times as they are --\n"
	"so that every listing of TO is FROM's and new batches go on from there.\n"
	"Each of FROM and TO is an SQLite file or a PostgreSQL URI\n"
	"(postgresql://user@host/dbname): SQLite to PostgreSQL when one machine\n"
	"is not enough, and back.  TO must be empty (a new file, or a database\n"
	"where 'bulkreg init' made the schema); it is written in one transaction:\n"
	"all of FROM, or nothing.  FROM is read as of one moment and not changed.\n"
	"\n"
	"  --wait SECONDS   wait at most this long for a lock (default 30)\n"
	"\n"
	"Exit status: 0 copied; 2 usage error, FROM missing, or TO not empty;\n"
	"3 database or system error (TO unchanged).\n";

/* A path that exists as a file: an SQLite target that is there already. */
static bool file_exists(const char *target, struct stat *sb)
{
	return !db_target_is_pg(target) && stat(target, sb) == 0;
}

static int parse(int argc, char **argv, double *wait)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"wait", required_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(copy_usage, stdout);
			fputs(copy_help, stdout);
			return cli_close_stdout();
		case 'w':
			if (!parse_seconds(optarg, 0, 86400, wait))
				return cli_usage_error(copy_usage, "copy-db",
						       "--wait: '%s' is not a "
						       "number of seconds "
						       "(0 to 86400)",
						       optarg);
			break;
		default:
			return cli_usage_error(copy_usage, "copy-db", "%s",
					       "unknown option");
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(copy_usage, "copy-db",
				       "copy-db takes FROM and TO");
	return -1;
}

/* Exit 2 when FROM is missing or FROM and TO are one database. */
static int check_operands(const char *from, const char *to)
{
	struct stat a, b;
	if (!db_target_is_pg(from) && stat(from, &a) != 0 && errno == ENOENT) {
		cli_error("%s: no such database (copy-db copies an existing "
			  "database)",
			  from);
		return 2;
	}
	bool same = strcmp(from, to) == 0 ||
		    (file_exists(from, &a) && file_exists(to, &b) &&
		     a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	if (same) {
		char shown[1024];
		db_target_redact(to, shown, sizeof(shown));
		cli_error("%s: FROM and TO are the same database", shown);
		return 2;
	}
	return 0;
}

static void say_copied(const struct cli *cli, struct db *from, struct db *to,
		       const struct copy_counts *n)
{
	if (cli->quiet)
		return;
	fprintf(stderr,
		"bulkreg: copied %s into %s: %lld courses, %lld students, "
		"%lld registrations, %lld batches, %lld history events\n",
		db_name(from), db_name(to), (long long)n->rows[COPY_COURSES],
		(long long)n->rows[COPY_STUDENTS],
		(long long)n->rows[COPY_REGISTRATIONS],
		(long long)n->rows[COPY_BATCHES],
		(long long)n->rows[COPY_HISTORY]);
}

static const char *schema_of(const struct cli *cli, const char *target)
{
	return db_target_is_pg(target) ? cli->schema : NULL;
}

/* An SQLite target copy-db created and could not fill goes away again. */
static void remove_created(const char *to)
{
	static const char *const suffixes[] = { "", "-wal", "-shm",
						"-journal" };
	char path[4096];
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (snprintf(path, sizeof(path), "%s%s", to, suffixes[i]) <
		    (int)sizeof(path))
			unlink(path);
	}
}

int cmd_copy_db(struct cli *cli, int argc, char **argv)
{
	cli_take_quiet(cli, &argc, argv);
	double wait = DEFAULT_WAIT_SECONDS;
	int rc = parse(argc, argv, &wait);
	if (rc >= 0)
		return rc;
	const char *from_target = argv[optind], *to_target = argv[optind + 1];
	if ((rc = check_operands(from_target, to_target)) != 0)
		return rc;
	struct stat sb;
	bool created = !db_target_is_pg(to_target) &&
		       stat(to_target, &sb) != 0 && errno == ENOENT;

	struct error err;
	struct db *from = NULL, *to = NULL;
	/* --schema (or BULKREG_SCHEMA) names the schema of a PostgreSQL
	 * FROM and TO alike. */
	enum status st = db_open_target(from_target, schema_of(cli, from_target),
					wait, cli->file_mode, &from, &err);
	if (st == ST_OK)
		st = db_open_target(to_target, schema_of(cli, to_target), wait,
				    cli->file_mode | DB_OPEN_INIT, &to, &err);
	struct copy_counts n;
	if (st == ST_OK)
		st = copy_db(from, to, &n, &err);
	if (st == ST_OK)
		say_copied(cli, from, to, &n);
	db_close(from);
	db_close(to);
	if (st != ST_OK) {
		if (created)
			remove_created(to_target);
		return cli_fail(st, &err);
	}
	return 0;
}
