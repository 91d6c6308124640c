/* bench_bulk: rows per second of the driver's bulk write (sqldb_bulk_*) beside a prepared-statement loop. */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqldb.h"

/*
 * Usage: bench_bulk DATABASE [ROWS]
 *
 * DATABASE is an SQLite file or a postgresql:// URI; ROWS defaults to
 * 1000000.  Into a table keyed like bulkreg's enrolments (course_id,
 * student_id; WITHOUT ROWID on SQLite), each in one transaction, rows
 * given in key order (100 students a course):
 *   loop     one prepared INSERT stepped per row (on PostgreSQL the first
 *            20000 rows only: one round trip each), fresh table;
 *   copy     PostgreSQL: the bulk write's COPY alone (set_sql deletes the
 *            staging rows);
 *   insert   the bulk write of every row into the fresh table;
 *   upsert   the bulk write again over the same keys, every row updated.
 * Prints one line each: what, rows, seconds, rows/s.  The table
 * (bench_bulk_enrol) is dropped before and after.  Figures, not pass/fail.
 */

#define TABLE "bench_bulk_enrol"
#define PG_LOOP_ROWS 20000

static const char *const create_sql =
	"CREATE TABLE " TABLE " (course_id INTEGER NOT NULL,"
	" student_id TEXT NOT NULL, seq INTEGER NOT NULL,"
	" PRIMARY KEY (course_id, student_id)) WITHOUT ROWID";
static const char *const row_sql =
	"INSERT INTO " TABLE " (course_id, student_id, seq) VALUES (?1, ?2, ?3)"
	" ON CONFLICT (course_id, student_id) DO UPDATE SET seq = excluded.seq";
static const char *const set_sql =
	"INSERT INTO " TABLE " (course_id, student_id, seq)"
	" SELECT course_id, student_id, seq FROM bench_staging"
	" ON CONFLICT (course_id, student_id) DO UPDATE SET seq = excluded.seq";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(struct sqldb *c, const char *what, enum sqldb_rc rc)
{
	fprintf(stderr, "bench_bulk: %s: class %d: %s\n", what, (int)rc,
		c ? sqldb_errmsg(c) : "");
	exit(1);
}

static void exec(struct sqldb *c, const char *sql)
{
	enum sqldb_rc rc = sqldb_exec(c, sql);
	if (rc != SQLDB_OK)
		die(c, sql, rc);
}

static void fresh_table(struct sqldb *c)
{
	exec(c, "DROP TABLE IF EXISTS " TABLE);
	/* SQLite: an empty file again, so each figure starts alike. */
	if (sqldb_dialect(c) == SQLDB_SQLITE)
		exec(c, "VACUUM");
	exec(c, create_sql);
}

/* Row i: course i / 100, student "s<i % 100, 8 digits>", seq i + bump. */
static int key_of(long i, char *student, size_t size)
{
	return snprintf(student, size, "s%08ld", i % 100);
}

static void report(const char *what, long rows, double secs)
{
	printf("%-8s %9ld %8.2f s %10.0f rows/s\n", what, rows, secs,
	       secs > 0 ? (double)rows / secs : 0);
	fflush(stdout);
}

static void loop(struct sqldb *c, long rows)
{
	struct sqldb_stmt *s = NULL;
	char student[32];
	double t0 = now();
	exec(c, "BEGIN");
	enum sqldb_rc rc = sqldb_prepare(c, row_sql, SQLDB_PERSISTENT, &s, NULL);
	if (rc != SQLDB_OK)
		die(c, "prepare", rc);
	for (long i = 0; i < rows; i++) {
		int n = key_of(i, student, sizeof(student));
		sqldb_bind_int64(s, 1, i / 100);
		sqldb_bind_text(s, 2, student, n);
		sqldb_bind_int64(s, 3, i);
		rc = sqldb_step(s);
		if (rc != SQLDB_DONE)
			die(c, "step", rc);
		sqldb_reset(s);
	}
	sqldb_finalize(s);
	exec(c, "COMMIT");
	report("loop", rows, now() - t0);
}

static void bulk(struct sqldb *c, const char *what, const char *set,
		 long rows, int64_t bump)
{
	struct sqldb_bulk *b = NULL;
	char student[32];
	double t0 = now();
	exec(c, "BEGIN");
	enum sqldb_rc rc = sqldb_bulk_begin(c, "bench_staging",
					    "course_id bigint, student_id text,"
					    " seq bigint",
					    row_sql, set, &b);
	if (rc != SQLDB_OK)
		die(c, "bulk begin", rc);
	for (long i = 0; i < rows; i++) {
		int n = key_of(i, student, sizeof(student));
		sqldb_bulk_int64(b, i / 100);
		sqldb_bulk_text(b, student, (size_t)n);
		sqldb_bulk_int64(b, i + bump);
		rc = sqldb_bulk_row_end(b);
		if (rc != SQLDB_OK)
			die(c, "bulk row", rc);
	}
	int64_t changes = 0;
	rc = sqldb_bulk_finish(b, &changes);
	if (rc != SQLDB_OK)
		die(c, "bulk finish", rc);
	exec(c, "COMMIT");
	double secs = now() - t0;
	if (changes != rows) {
		fprintf(stderr, "bench_bulk: %s changed %" PRId64 " rows of %ld\n",
			what, changes, rows);
		exit(1);
	}
	report(what, rows, secs);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench_bulk DATABASE [ROWS]\n");
		return 2;
	}
	long rows = argc == 3 ? strtol(argv[2], NULL, 10) : 1000000;
	if (rows <= 0) {
		fprintf(stderr, "bench_bulk: ROWS must be a positive number\n");
		return 2;
	}
	struct sqldb *c = NULL;
	sqlite3 *lite = NULL;
	bool pg = strncmp(argv[1], "postgres", 8) == 0;
	if (pg) {
		enum sqldb_rc rc = sqldb_connect_pg(argv[1], 10, &c);
		if (rc != SQLDB_OK)
			die(c, "connect", rc);
	} else {
		if (sqlite3_open(argv[1], &lite) != SQLITE_OK) {
			fprintf(stderr, "bench_bulk: %s: %s\n", argv[1],
				sqlite3_errmsg(lite));
			return 1;
		}
		c = sqldb_wrap_sqlite(lite);
		if (!c)
			die(NULL, "out of memory", SQLDB_ENOMEM);
		/* bulkreg's own settings (db_sqlite.c). */
		exec(c, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			" PRAGMA cache_size = -49152");
	}
	printf("bench_bulk: %s, %ld rows in key order\n",
	       pg ? "PostgreSQL" : "SQLite", rows);
	fresh_table(c);
	loop(c, pg && rows > PG_LOOP_ROWS ? PG_LOOP_ROWS : rows);
	fresh_table(c);
	if (pg) /* the COPY alone: the rows into the staging table */
		bulk(c, "copy", "DELETE FROM bench_staging", rows, 0);
	bulk(c, "insert", set_sql, rows, 0);
	bulk(c, "upsert", set_sql, rows, 1);
	exec(c, "DROP TABLE " TABLE);
	sqldb_close(c);
	if (lite)
		sqlite3_close(lite);
	return 0;
}
