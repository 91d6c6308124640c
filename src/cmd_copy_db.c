/* cmd_copy_db: `bulkreg copy-db FROM TO` -- a whole database into an empty one, between stores. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "copy_db.h"
#include "dbtarget.h"
#include "report.h"
#include "signals.h"

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
	"all of FROM, or nothing.  FROM is read as of one moment and not changed:\n"
	"an older schema is not upgraded but refused (upgrade it first with any\n"
	"other command).\n"
	"\n"
	"  --wait SECONDS   wait at most this long for a lock (default 30)\n"
	"\n"
	"Exit status: 0 copied; 2 usage error, FROM missing, or TO not empty;\n"
	"3 database or system error, or FROM of an older schema (TO unchanged);\n"
	"128+N interrupted by signal N (TO unchanged, a file copy-db created\n"
	"removed).\n";

/* A path that exists as a file: an SQLite target that is there already. */
static bool file_exists(const char *target, struct stat *sb)
{
	return !db_target_is_pg(target) && stat(target, sb) == 0;
}

static int parse(struct cli *cli, int argc, char **argv, double *wait)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"wait", required_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	struct cli_getopt g;
	cli_getopt_init(&g, cli, "copy-db", "h", opts);
	int c;
	while ((c = cli_getopt_next(&g, argc, argv, NULL)) != -1) {
		if (c == 'h')
			return cli_help(cli, copy_usage, copy_help);
		if (c == 'w') {
			if (cli_wait_arg(cli, optarg, wait) != 0)
				return 2;
			continue;
		}
		return 2;
	}
	if (argc - optind != 2)
		return cli_usage_error(cli, "%s",
				       "two databases are needed: FROM TO");
	return -1;
}

/* Exit 2 when FROM and TO are one database, or --schema names a schema
 * while neither is PostgreSQL. */
static int check_operands(const struct cli *cli, const char *from,
			  const char *to)
{
	struct stat a, b;
	bool same = strcmp(from, to) == 0 ||
		    (file_exists(from, &a) && file_exists(to, &b) &&
		     a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	if (same) {
		char shown[1024];
		db_target_redact(to, shown, sizeof(shown));
		cli_error("copy-db: %s: FROM and TO are the same database",
			  shown);
		return 2;
	}
	if (cli->schema_given && !db_target_is_pg(from) &&
	    !db_target_is_pg(to)) {
		cli_error("copy-db: --schema: neither database is PostgreSQL; "
			  "only a PostgreSQL database has schemas");
		return 2;
	}
	return 0;
}

/* --schema, else $BULKREG_SCHEMA, for a PostgreSQL target (db_open_target
 * checks the name). */
static const char *schema_of(const struct cli *cli, const char *target)
{
	if (!db_target_is_pg(target))
		return NULL;
	if (cli->schema)
		return cli->schema;
	const char *env = getenv("BULKREG_SCHEMA");
	return env && *env ? env : NULL;
}

/* "1 course", "2 courses". */
static const char *plural(int64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void say_copied(const struct cli *cli, struct db *from, struct db *to,
		       const struct copy_counts *n)
{
	if (cli->quiet)
		return;
	const int64_t *r = n->rows;
	char g[5][32]; /* counts a person reads: grouped by thousands */
	/* Escaped as every message is: a database's name is the user's
	 * (review 21, F11). */
	cli_error("copied %s into %s: %s %s, %s %s, %s %s, %s %s, %s %s",
		db_name(from), db_name(to),
		text_group_digits(r[COPY_COURSES], g[0]),
		plural(r[COPY_COURSES], "course", "courses"),
		text_group_digits(r[COPY_STUDENTS], g[1]),
		plural(r[COPY_STUDENTS], "student", "students"),
		text_group_digits(r[COPY_REGISTRATIONS], g[2]),
		plural(r[COPY_REGISTRATIONS], "registration", "registrations"),
		text_group_digits(r[COPY_BATCHES], g[3]),
		plural(r[COPY_BATCHES], "batch", "batches"),
		text_group_digits(r[COPY_HISTORY], g[4]),
		plural(r[COPY_HISTORY], "history event", "history events"));
}

static bool done_closed(void *done)
{
	return chan_is_closed(done);
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
	double wait = DEFAULT_WAIT_SECONDS;
	int rc = parse(cli, argc, argv, &wait);
	if (rc >= 0)
		return rc;
	const char *from_target = argv[optind], *to_target = argv[optind + 1];
	if ((rc = check_operands(cli, from_target, to_target)) != 0)
		return rc;
	/* As -d warns: where others can write, they can put files beside. */
	cli_warn_shared_dir(cli, from_target);
	cli_warn_shared_dir(cli, to_target);
	struct stat sb;
	bool created = !db_target_is_pg(to_target) &&
		       stat(to_target, &sb) != 0 && errno == ENOENT;

	/* SIGINT/SIGTERM/SIGHUP stop the copy, which then rolls back (and a
	 * target it created goes away) instead of dying half-way. */
	struct chan *done;
	if ((rc = cli_cancel_start(&done)) != 0)
		return rc;
	struct error err = {0};
	/* FROM must be there (a mistyped path leaves no file behind); TO is
	 * made if need be (a new file, or the schema init would make), and
	 * must be writable. */
	struct db *from = NULL, *to = NULL;
	enum status st = db_open_target(from_target, schema_of(cli, from_target),
					wait,
					cli->file_mode | DB_OPEN_EXISTING |
						DB_OPEN_AS_IS,
					&from, &err);
	if (st == ST_OK)
		st = db_open_target(to_target, schema_of(cli, to_target), wait,
				    cli->file_mode | DB_OPEN_INIT |
					    DB_OPEN_WRITE,
				    &to, &err);
	if (st == ST_OK) {
		db_set_cancel(from, done_closed, done);
		db_set_cancel(to, done_closed, done);
	}
	struct copy_counts n;
	if (st == ST_OK)
		st = copy_db(from, to, &n, &err);
	if (st == ST_OK)
		say_copied(cli, from, to, &n);
	db_close(from);
	db_close(to);
	int sig = signals_received();
	cli_cancel_stop(done);
	if (st != ST_OK) {
		if (created)
			remove_created(to_target);
		if (sig) {
			cli_error("interrupted: nothing was copied%s",
				  created ? "; the new target was removed" : "");
			return 128 + sig;
		}
		return cli_fail(st, &err);
	}
	return 0;
}
