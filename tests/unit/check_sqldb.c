/* check_sqldb: the SQL driver -- SQLite behind it, PostgreSQL's translation, and a live server when one is given. */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqldb.h"
#include "sqldb_internal.h"
#include "testutil.h"

/* ---- SQLite ---------------------------------------------------------------- */

static sqlite3 *raw;

static struct sqldb *open_memory(void)
{
	ck_assert_int_eq(sqlite3_open(":memory:", &raw), SQLITE_OK);
	struct sqldb *c = sqldb_wrap_sqlite(raw);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(sqldb_exec(c, "CREATE TABLE t (id INTEGER PRIMARY KEY,"
				       " name TEXT NOT NULL UNIQUE, n INTEGER)"),
			 SQLDB_OK);
	return c;
}

static void close_memory(struct sqldb *c)
{
	sqldb_close(c);
	sqlite3_close(raw);
}

START_TEST(sqlite_binds_steps_and_reads)
{
	struct sqldb *c = open_memory();
	ck_assert_int_eq(sqldb_dialect(c), SQLDB_SQLITE);
	struct sqldb_stmt *s = NULL;
	ck_assert_int_eq(sqldb_prepare(c, "INSERT INTO t (name, n) VALUES (?1, ?2)"
					  " RETURNING id", SQLDB_PERSISTENT, &s, NULL),
			 SQLDB_OK);
	ck_assert_int_eq(sqldb_bind_count(s), 2);
	sqldb_bind_text(s, 1, "alpha-cut", 5);
	sqldb_bind_int64(s, 2, INT64_C(9007199254740993));
	ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
	ck_assert_int_eq(sqldb_column_int64(s, 0), 1);
	ck_assert_int_eq(sqldb_step(s), SQLDB_DONE);
	sqldb_reset(s);
	sqldb_bind_text_copy(s, 1, "beta", -1);
	sqldb_bind_null(s, 2);
	ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
	sqldb_finalize(s);

	ck_assert_int_eq(sqldb_prepare(c, "SELECT name, n, n IS NULL FROM t"
					  " ORDER BY id", 0, &s, NULL),
			 SQLDB_OK);
	ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
	ck_assert_str_eq(sqldb_column_text(s, 0), "alpha");
	ck_assert_uint_eq(sqldb_column_bytes(s, 0), 5);
	ck_assert(sqldb_column_int64(s, 1) == INT64_C(9007199254740993));
	ck_assert(!sqldb_column_is_null(s, 1));
	ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
	ck_assert(sqldb_column_is_null(s, 1));
	ck_assert_ptr_null(sqldb_column_text(s, 1));
	ck_assert_int_eq(sqldb_column_int64(s, 2), 1);
	ck_assert_int_eq(sqldb_column_count(s), 3);
	ck_assert_int_eq(sqldb_step(s), SQLDB_DONE);
	sqldb_finalize(s);
	close_memory(c);
}
END_TEST

START_TEST(sqlite_errors_have_classes)
{
	struct sqldb *c = open_memory();
	ck_assert_int_eq(sqldb_exec(c, "INSERT INTO t (name) VALUES ('x')"), SQLDB_OK);
	ck_assert_int_eq(sqldb_changes(c), 1);
	ck_assert_int_eq(sqldb_exec(c, "INSERT INTO t (name) VALUES ('x')"),
			 SQLDB_ECONSTRAINT);
	ck_assert_ptr_nonnull(strstr(sqldb_errmsg(c), "UNIQUE"));
	struct sqldb_stmt *s = NULL;
	ck_assert_int_ne(sqldb_prepare(c, "SELEKT 1", 0, &s, NULL), SQLDB_OK);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(sqldb_sqlite_rc(SQLITE_BUSY), SQLDB_EBUSY);
	ck_assert_int_eq(sqldb_sqlite_rc(SQLITE_IOERR_WRITE), SQLDB_EIO);
	close_memory(c);
}
END_TEST

START_TEST(sqlite_transactions_and_tails)
{
	struct sqldb *c = open_memory();
	ck_assert(!sqldb_in_transaction(c));
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert(sqldb_in_transaction(c));
	ck_assert_int_eq(sqldb_exec(c, "ROLLBACK"), SQLDB_OK);
	ck_assert(!sqldb_in_transaction(c));
	const char *sql = "SELECT 1; SELECT 2;  ";
	const char *tail = NULL;
	struct sqldb_stmt *s = NULL;
	ck_assert_int_eq(sqldb_prepare(c, sql, 0, &s, &tail), SQLDB_OK);
	ck_assert_ptr_nonnull(s);
	sqldb_finalize(s);
	ck_assert_int_eq(sqldb_prepare(c, tail, 0, &s, &tail), SQLDB_OK);
	ck_assert_ptr_nonnull(s);
	sqldb_finalize(s);
	ck_assert_int_eq(sqldb_prepare(c, tail, 0, &s, &tail), SQLDB_OK);
	ck_assert_ptr_null(s); /* only white space was left */
	ck_assert_int_eq(sqldb_flush(c), SQLDB_OK);
	close_memory(c);
}
END_TEST

/* ---- PostgreSQL's spelling ------------------------------------------------ */

static char *translated(const char *sql, int *nparams, const char **tail)
{
	char *out = NULL;
	ck_assert(sqldb__pg_translate(sql, &out, nparams, tail));
	return out;
}

START_TEST(placeholders_become_dollars)
{
	int n = 0;
	const char *tail = NULL;
	char *t = translated("SELECT ?1, ?12 FROM x WHERE a = ?2 AND b = '?3'"
			     " AND c = \"?4\"; SELECT 2", &n, &tail);
	ck_assert_str_eq(t, "SELECT $1, $12 FROM x WHERE a = $2 AND b = '?3'"
			    " AND c = \"?4\"");
	ck_assert_int_eq(n, 12);
	ck_assert_str_eq(tail, " SELECT 2");
	free(t);
	t = translated("SELECT 'it''s ?1; not a tail'", &n, &tail);
	ck_assert_str_eq(t, "SELECT 'it''s ?1; not a tail'");
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(tail, "");
	free(t);
}
END_TEST

START_TEST(sqlite_spellings_are_translated)
{
	int n;
	char *t = translated("UPDATE c SET at = strftime('%Y-%m-%dT%H:%M:%fZ','now')"
			     " WHERE id IN (SELECT id FROM temp.seen)", &n, NULL);
	ck_assert_ptr_nonnull(strstr(t, "to_char(clock_timestamp() AT TIME ZONE 'UTC'"));
	ck_assert_ptr_nonnull(strstr(t, "FROM pg_temp.seen"));
	ck_assert_ptr_null(strstr(t, "strftime"));
	free(t);
	/* Not inside a word: "attempt." is not "temp.". */
	t = translated("SELECT attempt.x FROM attempt", &n, NULL);
	ck_assert_str_eq(t, "SELECT attempt.x FROM attempt");
	free(t);
}
END_TEST

START_TEST(ddl_is_translated)
{
	int n;
	char *t = translated("CREATE TABLE b (id INTEGER PRIMARY KEY,"
			     " code TEXT NOT NULL, n INTEGER) WITHOUT ROWID", &n, NULL);
	ck_assert_str_eq(t, "CREATE TABLE b (id BIGINT GENERATED BY DEFAULT AS"
			    " IDENTITY PRIMARY KEY, code TEXT COLLATE \"C\" NOT NULL,"
			    " n BIGINT)");
	free(t);
	t = translated("ALTER TABLE b ADD COLUMN k TEXT NOT NULL DEFAULT ' TEXT'",
		       &n, NULL);
	ck_assert_str_eq(t, "ALTER TABLE b ADD COLUMN k TEXT COLLATE \"C\" NOT NULL"
			    " DEFAULT ' TEXT'");
	free(t);
	/* Outside DDL the words stay. */
	t = translated("SELECT CAST(x AS INTEGER) FROM b", &n, NULL);
	ck_assert_str_eq(t, "SELECT CAST(x AS INTEGER) FROM b");
	free(t);
}
END_TEST

/* ---- a live server (BULKREG_TEST_PG_URI) ------------------------------------ */

static struct sqldb *pg_connect(void)
{
	const char *uri = getenv("BULKREG_TEST_PG_URI");
	struct sqldb *c = NULL;
	ck_assert_int_eq(sqldb_connect_pg(uri, 10, &c), SQLDB_OK);
	ck_assert_int_eq(sqldb_dialect(c), SQLDB_PG);
	return c;
}

START_TEST(pg_round_trip)
{
	struct sqldb *c = pg_connect();
	ck_assert_int_eq(sqldb_exec(c, "CREATE TEMP TABLE t (id INTEGER PRIMARY KEY,"
				       " name TEXT NOT NULL UNIQUE, n INTEGER)"),
			 SQLDB_OK);
	struct sqldb_stmt *s = NULL;
	ck_assert_int_eq(sqldb_prepare(c, "INSERT INTO temp.t (name, n)"
					  " VALUES (?1, ?2) RETURNING id",
					  SQLDB_PERSISTENT, &s, NULL),
			 SQLDB_OK);
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof(name), "s%d-cut", i);
		sqldb_bind_text(s, 1, name, 2);
		if (i == 1)
			sqldb_bind_null(s, 2);
		else
			sqldb_bind_int64(s, 2, INT64_C(9007199254740993) + i);
		ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
		ck_assert_int_eq(sqldb_column_int64(s, 0), i + 1);
		ck_assert_int_eq(sqldb_step(s), SQLDB_DONE);
		sqldb_reset(s);
	}
	sqldb_finalize(s);
	ck_assert_int_eq(sqldb_prepare(c, "SELECT name, n, n IS NULL, ?1"
					  " FROM temp.t ORDER BY id", 0, &s, NULL),
			 SQLDB_OK);
	sqldb_bind_text(s, 1, "ünï", -1);
	ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
	ck_assert_str_eq(sqldb_column_text(s, 0), "s0");
	ck_assert(sqldb_column_int64(s, 1) == INT64_C(9007199254740993));
	ck_assert_int_eq(sqldb_column_int64(s, 2), 0);
	ck_assert_str_eq(sqldb_column_text(s, 3), "ünï");
	ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
	ck_assert(sqldb_column_is_null(s, 1));
	ck_assert_int_eq(sqldb_column_int64(s, 2), 1); /* 't' */
	ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
	ck_assert_int_eq(sqldb_step(s), SQLDB_DONE);
	sqldb_finalize(s);
	ck_assert_int_eq(sqldb_exec(c, "INSERT INTO temp.t (name) VALUES ('s0')"),
			 SQLDB_ECONSTRAINT);
	ck_assert_int_eq(sqldb_exec(c, "UPDATE temp.t SET n = 1"), SQLDB_OK);
	ck_assert_int_eq(sqldb_changes(c), 3);
	sqldb_close(c);
}
END_TEST

START_TEST(pg_failed_commit_is_an_error)
{
	struct sqldb *c = pg_connect();
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert(sqldb_in_transaction(c));
	ck_assert_int_ne(sqldb_exec(c, "SELECT 1/0"), SQLDB_OK);
	/* PostgreSQL answers COMMIT of a failed transaction with ROLLBACK. */
	ck_assert_int_ne(sqldb_exec(c, "COMMIT"), SQLDB_OK);
	ck_assert(!sqldb_in_transaction(c));
	sqldb_close(c);
}
END_TEST

START_TEST(pg_lock_wait_is_busy)
{
	struct sqldb *a = pg_connect(), *b = pg_connect();
	ck_assert_int_eq(sqldb_exec(a, "SELECT pg_advisory_lock(424242)"), SQLDB_OK);
	ck_assert_int_eq(sqldb_exec(b, "SET lock_timeout = 50"), SQLDB_OK);
	ck_assert_int_eq(sqldb_exec(b, "SELECT pg_advisory_lock(424242)"),
			 SQLDB_EBUSY);
	sqldb_close(a);
	sqldb_close(b);
}
END_TEST

START_TEST(pg_lost_connection_is_conn)
{
	struct sqldb *a = pg_connect(), *b = pg_connect();
	struct sqldb_stmt *s = NULL;
	ck_assert_int_eq(sqldb_prepare(a, "SELECT pg_backend_pid()", 0, &s, NULL),
			 SQLDB_OK);
	ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
	int64_t pid = sqldb_column_int64(s, 0);
	sqldb_finalize(s);
	char sql[64];
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)",
		 (long long)pid);
	ck_assert_int_eq(sqldb_exec(b, sql), SQLDB_OK);
	ck_assert_int_eq(sqldb_exec(a, "SELECT 1"), SQLDB_ECONN);
	sqldb_close(a);
	sqldb_close(b);
}
END_TEST

START_TEST(pg_unreachable_is_conn)
{
	struct sqldb *c = NULL;
	ck_assert_int_eq(sqldb_connect_pg("host=/nonexistent-dir port=1", 2, &c),
			 SQLDB_ECONN);
	ck_assert_ptr_nonnull(strstr(sqldb_errmsg(c), "/nonexistent-dir"));
	ck_assert_ptr_null(strchr(sqldb_errmsg(c), '\n'));
	sqldb_close(c);
}
END_TEST

/* ---- bulk writes, on both engines (loop index 0: SQLite, 1: PostgreSQL) ---- */

#define BULK_COLS "course_id bigint, student_id text, seq bigint, note text"
#define ROW_INSERT "INSERT INTO target (course_id, student_id, seq, note)" \
		   " VALUES (?1, ?2, ?3, ?4)"
#define SET_INSERT "INSERT INTO target (course_id, student_id, seq, note)" \
		   " SELECT course_id, student_id, seq, note FROM staging"
#define ROW_UPSERT ROW_INSERT " ON CONFLICT (course_id, student_id) DO UPDATE" \
		   " SET seq = excluded.seq WHERE target.seq <> excluded.seq"
#define SET_UPSERT SET_INSERT " ON CONFLICT (course_id, student_id) DO UPDATE" \
		   " SET seq = excluded.seq WHERE target.seq <> excluded.seq"

static struct sqldb *bulk_open(int engine)
{
	struct sqldb *c;
	if (engine == 0) {
		ck_assert_int_eq(sqlite3_open(":memory:", &raw), SQLITE_OK);
		c = sqldb_wrap_sqlite(raw);
		ck_assert_ptr_nonnull(c);
	} else {
		c = pg_connect();
	}
	ck_assert_int_eq(sqldb_exec(c, "CREATE TEMP TABLE target ("
				       "course_id INTEGER NOT NULL,"
				       " student_id TEXT NOT NULL, seq INTEGER"
				       " CHECK (seq >= 0), note TEXT,"
				       " PRIMARY KEY (course_id, student_id))"
				       " WITHOUT ROWID"),
			 SQLDB_OK);
	return c;
}

static void bulk_close(struct sqldb *c)
{
	bool lite = sqldb_dialect(c) == SQLDB_SQLITE;
	sqldb_close(c);
	if (lite)
		sqlite3_close(raw);
}

static int64_t query_int(struct sqldb *c, const char *sql)
{
	struct sqldb_stmt *s = NULL;
	ck_assert_int_eq(sqldb_prepare(c, sql, 0, &s, NULL), SQLDB_OK);
	ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
	int64_t v = sqldb_column_int64(s, 0);
	sqldb_finalize(s);
	return v;
}

/* One row: course, the student's key (text), seq, note (NULL: none). */
static enum sqldb_rc bulk_row(struct sqldb_bulk *b, int64_t course,
			      const char *student, int64_t seq, const char *note)
{
	sqldb_bulk_int64(b, course);
	sqldb_bulk_text(b, student, strlen(student));
	sqldb_bulk_int64(b, seq);
	if (note)
		sqldb_bulk_text(b, note, strlen(note));
	else
		sqldb_bulk_null(b);
	return sqldb_bulk_row_end(b);
}

/* Rows [from, to) of course 1: student "s<i>", seq `seq`. */
static enum sqldb_rc bulk_rows(struct sqldb_bulk *b, int from, int to,
			       int64_t seq)
{
	for (int i = from; i < to; i++) {
		char key[32];
		snprintf(key, sizeof(key), "s%07d", i);
		enum sqldb_rc rc = bulk_row(b, 1, key, seq, NULL);
		if (rc != SQLDB_OK)
			return rc;
	}
	return SQLDB_OK;
}

static const char *const special[] = {
	"plain", "tab\there", "new\nline", "cr\rhere", "crlf\r\n",
	"back\\slash", "trailing\\", "\\N", "\\.", "\\", "\t", "\n",
	"quote'd \"both\"", "ünï 漢字 😀", "", "a\tb\nc\rd\\e\\\\f",
	"\x01\x02\x1b[31m\x7f", " lead and trail ", "comma,semi;colon",
};
#define NSPECIAL (sizeof(special) / sizeof(special[0]))

START_TEST(bulk_round_trips_every_byte)
{
	struct sqldb *c = bulk_open(_i);
	/* Every ASCII byte but NUL, in one text. */
	char ascii[128];
	for (int i = 1; i < 128; i++)
		ascii[i - 1] = (char)i;
	ascii[127] = '\0';
	/* Parameters in another order than the columns. */
	struct sqldb_bulk *b = NULL;
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS,
					  "INSERT INTO target (note, seq, student_id,"
					  " course_id) VALUES (?4, ?3, ?2, ?1)",
					  SET_INSERT, &b),
			 SQLDB_OK);
	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < NSPECIAL; i++)
		ck_assert_int_eq(bulk_row(b, (int64_t)i, special[i], (int64_t)i,
					  special[i]), SQLDB_OK);
	ck_assert_int_eq(bulk_row(b, 100, ascii, INT64_MAX, ascii), SQLDB_OK);
	ck_assert_int_eq(bulk_row(b, INT64_MIN, "null note", 0, NULL), SQLDB_OK);
	ck_assert_int_eq(bulk_row(b, -1, "empty note", 0, ""), SQLDB_OK);
	int64_t changes = -1;
	ck_assert_int_eq(sqldb_bulk_finish(b, &changes), SQLDB_OK);
	ck_assert_int_eq(changes, (int64_t)NSPECIAL + 3);

	struct sqldb_stmt *s = NULL;
	ck_assert_int_eq(sqldb_prepare(c, "SELECT course_id, student_id, seq, note"
					  " FROM target ORDER BY course_id", 0, &s, NULL),
			 SQLDB_OK);
	ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
	ck_assert(sqldb_column_int64(s, 0) == INT64_MIN);
	ck_assert_str_eq(sqldb_column_text(s, 1), "null note");
	ck_assert(sqldb_column_is_null(s, 3));
	ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
	ck_assert_int_eq(sqldb_column_int64(s, 0), -1);
	ck_assert(!sqldb_column_is_null(s, 3));
	ck_assert_uint_eq(sqldb_column_bytes(s, 3), 0);
	for (size_t i = 0; i < NSPECIAL; i++) {
		ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
		ck_assert_int_eq(sqldb_column_int64(s, 0), (int64_t)i);
		ck_assert_int_eq(sqldb_column_int64(s, 2), (int64_t)i);
		for (int col = 1; col <= 3; col += 2) {
			ck_assert_msg(!sqldb_column_is_null(s, col), "row %zu", i);
			ck_assert_uint_eq(sqldb_column_bytes(s, col), strlen(special[i]));
			ck_assert_msg(memcmp(sqldb_column_text(s, col), special[i],
					     strlen(special[i])) == 0,
				      "row %zu col %d: [%s]", i, col,
				      sqldb_column_text(s, col));
		}
	}
	ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
	ck_assert_int_eq(sqldb_column_int64(s, 0), 100);
	ck_assert(sqldb_column_int64(s, 2) == INT64_MAX);
	ck_assert_str_eq(sqldb_column_text(s, 1), ascii);
	ck_assert_str_eq(sqldb_column_text(s, 3), ascii);
	ck_assert_int_eq(sqldb_step(s), SQLDB_DONE);
	sqldb_finalize(s);
	bulk_close(c);
}
END_TEST

START_TEST(bulk_writes_100k_rows_in_a_transaction)
{
	struct sqldb *c = bulk_open(_i);
	enum { N = 100000 };
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	struct sqldb_bulk *b = NULL;
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, ROW_INSERT,
					  SET_INSERT, &b), SQLDB_OK);
	for (int i = 0; i < N; i++) {
		char key[32], note[48];
		snprintf(key, sizeof(key), "student-%d", i);
		snprintf(note, sizeof(note), "n\\%d", i * 7);
		ck_assert_int_eq(bulk_row(b, i % 97, key, i, note), SQLDB_OK);
	}
	int64_t changes = 0;
	ck_assert_int_eq(sqldb_bulk_finish(b, &changes), SQLDB_OK);
	ck_assert_int_eq(changes, N);
	ck_assert(sqldb_in_transaction(c));
	ck_assert_int_eq(sqldb_exec(c, "COMMIT"), SQLDB_OK);
	ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target"), N);
	ck_assert_int_eq(query_int(c, "SELECT sum(seq) FROM target"),
			 (int64_t)N * (N - 1) / 2);
	ck_assert_int_eq(query_int(c, "SELECT sum(course_id) FROM target"),
			 query_int(c, "SELECT sum(seq % 97) FROM target"));
	ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target WHERE"
				      " note = 'n\\' || (seq * 7)"
				      " AND student_id = 'student-' || seq"),
			 N);
	bulk_close(c);
}
END_TEST

START_TEST(bulk_upsert_counts_changes)
{
	struct sqldb *c = bulk_open(_i);
	struct sqldb_bulk *b = NULL;
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, ROW_UPSERT,
					  SET_UPSERT, &b), SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 0, 10, 0), SQLDB_OK);
	int64_t changes = -1;
	ck_assert_int_eq(sqldb_bulk_finish(b, &changes), SQLDB_OK);
	ck_assert_int_eq(changes, 10);
	/* The same staging name again in the transaction: emptied first.
	 * s5, s6 keep seq 0 (unchanged: not counted), s7..s9 change, s10..s14
	 * are new: 8 changes. */
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, ROW_UPSERT,
					  SET_UPSERT, &b), SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 5, 7, 0), SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 7, 15, 3), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_finish(b, &changes), SQLDB_OK);
	ck_assert_int_eq(changes, 8);
	if (sqldb_dialect(c) == SQLDB_PG)
		ck_assert_int_eq(query_int(c, "SELECT count(*) FROM staging"), 10);
	ck_assert_int_eq(sqldb_exec(c, "COMMIT"), SQLDB_OK);
	if (sqldb_dialect(c) == SQLDB_PG) /* dropped at COMMIT */
		ck_assert_int_eq(query_int(c, "SELECT to_regclass('pg_temp.staging')"
					      " IS NULL"), 1);
	ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target"), 15);
	ck_assert_int_eq(query_int(c, "SELECT sum(seq) FROM target"), 8 * 3);
	/* In the next transaction, and outside any (PostgreSQL: a
	 * transaction of its own, committed): the staging table again. */
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, ROW_UPSERT,
					  SET_UPSERT, &b), SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 0, 2, 4), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_finish(b, &changes), SQLDB_OK);
	ck_assert_int_eq(changes, 2);
	ck_assert_int_eq(sqldb_exec(c, "COMMIT"), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, ROW_UPSERT,
					  SET_UPSERT, &b), SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 15, 18, 5), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_finish(b, NULL), SQLDB_OK);
	ck_assert(!sqldb_in_transaction(c));
	ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target"), 18);
	ck_assert_int_eq(query_int(c, "SELECT sum(seq) FROM target"),
			 8 * 3 + 2 * 4 + 3 * 5);
	bulk_close(c);
}
END_TEST

/* set_sql of several statements (an UPDATE, then an INSERT of the rest):
 * *changes counts what they all changed. */
START_TEST(bulk_changes_sum_set_sql_statements)
{
	struct sqldb *c = bulk_open(_i);
	struct sqldb_bulk *b = NULL;
	int64_t changes = 0;
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, ROW_UPSERT,
					  SET_UPSERT, &b), SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 0, 5, 0), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_finish(b, &changes), SQLDB_OK);
	ck_assert_int_eq(changes, 5);
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_begin(
				 c, "staging", BULK_COLS, ROW_UPSERT,
				 "UPDATE target SET seq = s.seq FROM staging AS s"
				 " WHERE target.course_id = s.course_id"
				 " AND target.student_id = s.student_id;"
				 " SELECT count(*) FROM staging;"
				 " INSERT INTO target (course_id, student_id, seq)"
				 " SELECT course_id, student_id, seq FROM staging AS s"
				 " WHERE NOT EXISTS (SELECT 1 FROM target AS t"
				 " WHERE t.course_id = s.course_id"
				 " AND t.student_id = s.student_id);  ",
				 &b),
			 SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 0, 10, 2), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_finish(b, &changes), SQLDB_OK);
	ck_assert_int_eq(changes, 10);
	ck_assert_int_eq(sqldb_exec(c, "COMMIT"), SQLDB_OK);
	ck_assert_int_eq(query_int(c, "SELECT sum(seq) FROM target"), 20);
	/* row_sql is one statement: a second is refused, not dropped. */
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS,
					  ROW_INSERT "; DELETE FROM target",
					  SET_INSERT, &b),
			 sqldb_dialect(c) == SQLDB_SQLITE ? SQLDB_EOTHER : SQLDB_OK);
	if (b) {
		ck_assert_int_eq(bulk_rows(b, 10, 11, 2), SQLDB_OK);
		ck_assert_int_eq(sqldb_bulk_finish(b, NULL), SQLDB_OK);
	}
	bulk_close(c);
}
END_TEST

START_TEST(bulk_abort_leaves_the_connection_usable)
{
	struct sqldb *c = bulk_open(_i);
	struct sqldb_bulk *b = NULL;
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, ROW_INSERT,
					  SET_INSERT, &b), SQLDB_OK);
	/* Enough for PostgreSQL to have sent several chunks. */
	ck_assert_int_eq(bulk_rows(b, 0, 50000, 1), SQLDB_OK);
	sqldb_bulk_int64(b, 1); /* and half a row */
	sqldb_bulk_abort(b);
	ck_assert_int_eq(sqldb_exec(c, "ROLLBACK"), SQLDB_OK);
	ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target"), 0);
	/* Outside a transaction: nothing written, none left open. */
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, ROW_INSERT,
					  SET_INSERT, &b), SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 0, 10, 1), SQLDB_OK);
	sqldb_bulk_abort(b);
	sqldb_bulk_abort(NULL);
	if (sqldb_dialect(c) == SQLDB_PG) {
		ck_assert(!sqldb_in_transaction(c));
		ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target"), 0);
	}
	/* The connection works, a bulk too. */
	ck_assert_int_eq(sqldb_exec(c, "DELETE FROM target"), SQLDB_OK);
	ck_assert_int_eq(query_int(c, "SELECT 41 + 1"), 42);
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, ROW_INSERT,
					  SET_INSERT, &b), SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 0, 3, 1), SQLDB_OK);
	int64_t changes = 0;
	ck_assert_int_eq(sqldb_bulk_finish(b, &changes), SQLDB_OK);
	ck_assert_int_eq(changes, 3);
	ck_assert_int_eq(sqldb_exec(c, "COMMIT"), SQLDB_OK);
	ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target"), 3);
	bulk_close(c);
}
END_TEST

/* Rows until one fails (then aborts) or all pass (then finishes): the
 * class of the first failure, wherever the engine finds it. */
static enum sqldb_rc bulk_until_failure(struct sqldb *c, const char *row_sql,
					const char *set_sql, int bad_row,
					int64_t bad_seq, const char *bad_key)
{
	struct sqldb_bulk *b = NULL;
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, row_sql,
					  set_sql, &b), SQLDB_OK);
	for (int i = 0; i < 1000; i++) {
		char key[32];
		snprintf(key, sizeof(key), "k%d", i);
		enum sqldb_rc rc;
		if (i == bad_row && bad_key)
			rc = bulk_row(b, 1, bad_key, bad_seq, NULL);
		else
			rc = bulk_row(b, 1, key, i == bad_row ? bad_seq : 0, NULL);
		if (rc != SQLDB_OK) {
			sqldb_bulk_abort(b);
			return rc;
		}
	}
	int64_t changes = 99;
	enum sqldb_rc rc = sqldb_bulk_finish(b, &changes);
	if (rc != SQLDB_OK)
		ck_assert_int_eq(changes, 0);
	return rc;
}

START_TEST(bulk_constraint_failure_has_its_class)
{
	struct sqldb *c = bulk_open(_i);
	/* A CHECK the set-based statement breaks. */
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert_int_eq(bulk_until_failure(c, ROW_INSERT, SET_INSERT, 500, -1,
					    NULL),
			 SQLDB_ECONSTRAINT);
	ck_assert_ptr_nonnull(strstr(sqldb_errmsg(c), "onstraint"));
	ck_assert_int_eq(sqldb_exec(c, "ROLLBACK"), SQLDB_OK);
	/* A duplicate key. */
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert_int_eq(bulk_until_failure(c, ROW_INSERT, SET_INSERT, 700, 0,
					    "k3"),
			 SQLDB_ECONSTRAINT);
	ck_assert_int_eq(sqldb_exec(c, "ROLLBACK"), SQLDB_OK);
	/* Outside a transaction, PostgreSQL's own is rolled back. */
	ck_assert_int_eq(bulk_until_failure(c, ROW_INSERT, SET_INSERT, 999, -5,
					    NULL),
			 SQLDB_ECONSTRAINT);
	ck_assert(!sqldb_in_transaction(c));
	if (sqldb_dialect(c) == SQLDB_PG)
		ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target"), 0);
	/* The connection still works. */
	ck_assert_int_eq(sqldb_exec(c, "DELETE FROM target"), SQLDB_OK);
	ck_assert_int_eq(bulk_until_failure(c, ROW_INSERT, SET_INSERT, -1, 0,
					    NULL),
			 SQLDB_OK);
	ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target"), 1000);
	bulk_close(c);
}
END_TEST

/* SQLite writes an INSERT ... VALUES (?1, ..., ?N) 64 rows at a time:
 * in the order given (a later duplicate is the one left out), the last
 * short group too, its error reported by the row that completes it;
 * inside a transaction, with no statement journal (INSERT OR FAIL): the
 * rows before the failed one stay, and nothing was copied to a journal;
 * outside one, a group is whole or not at all. */
START_TEST(sqlite_bulk_insert_groups)
{
	struct sqldb *c = bulk_open(0);
	struct sqldb_bulk *b = NULL;
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS,
					  ROW_INSERT " ON CONFLICT DO NOTHING",
					  SET_INSERT " ON CONFLICT DO NOTHING", &b),
			 SQLDB_OK);
	/* 1,037 rows: 16 full groups and 13; s5 again in the same group
	 * and s6 in a later one, with other seqs: the first rows stay. */
	ck_assert_int_eq(bulk_rows(b, 0, 10, 1), SQLDB_OK);
	ck_assert_int_eq(bulk_row(b, 1, "s0000005", 2, "again"), SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 10, 500, 1), SQLDB_OK);
	ck_assert_int_eq(bulk_row(b, 1, "s0000006", 3, "again"), SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 500, 1035, 1), SQLDB_OK);
	int64_t changes = 0;
	ck_assert_int_eq(sqldb_bulk_finish(b, &changes), SQLDB_OK);
	ck_assert_int_eq(changes, 1035);
	ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target"), 1035);
	ck_assert_int_eq(query_int(c, "SELECT sum(seq) FROM target"), 1035);
	ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target WHERE"
				      " note IS NOT NULL"), 0);
	ck_assert_int_eq(sqldb_exec(c, "ROLLBACK"), SQLDB_OK);

	/* A CHECK broken by row 130: the third group (rows 128..191) fails
	 * when row 191 completes it; in a transaction, rows 128 and 129 stay
	 * (the caller rolls back), outside one none of the group is written. */
	for (int in_transaction = 1; in_transaction >= 0; in_transaction--) {
		if (in_transaction)
			ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
		ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS,
						  ROW_INSERT, SET_INSERT, &b),
				 SQLDB_OK);
		int failed_at = -1;
		for (int i = 0; i < 300 && failed_at < 0; i++) {
			char key[32];
			snprintf(key, sizeof(key), "k%d", i);
			if (bulk_row(b, 1, key, i == 130 ? -1 : 0, NULL) !=
			    SQLDB_OK)
				failed_at = i;
		}
		ck_assert_int_eq(failed_at, 191);
		ck_assert_ptr_nonnull(strstr(sqldb_errmsg(c), "onstraint"));
		sqldb_bulk_abort(b);
		ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target"),
				 in_transaction ? 130 : 128);
		ck_assert_int_eq(sqldb_exec(c, in_transaction ?
						       "ROLLBACK" :
						       "DELETE FROM target"),
				 SQLDB_OK);
	}
	bulk_close(c);
}
END_TEST

/* A VFS that counts the statement journals SQLite opens (as a file: one
 * over 64 KiB spills to one), around the default one. */
static sqlite3_vfs counting_vfs, *real_vfs;
static int journals_opened;

static int counting_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
			 int flags, int *out_flags)
{
	(void)vfs;
	if (flags & SQLITE_OPEN_SUBJOURNAL)
		journals_opened++;
	return real_vfs->xOpen(real_vfs, name, f, flags, out_flags);
}

/* A grouped write in a transaction needs no statement journal (the copy of
 * every page it changes that the transaction had already): none is opened
 * by groups of wide rows landing between rows written before, where a
 * plain 64-row INSERT of the same rows opens them. */
START_TEST(sqlite_bulk_groups_without_statement_journal)
{
	real_vfs = sqlite3_vfs_find(NULL);
	counting_vfs = *real_vfs;
	counting_vfs.zName = "counting";
	counting_vfs.xOpen = counting_open;
	ck_assert_int_eq(sqlite3_vfs_register(&counting_vfs, 0), SQLITE_OK);
	char dir[] = "/tmp/check_sqldb.XXXXXX", path[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/db", dir);
	ck_assert_int_eq(sqlite3_open_v2(path, &raw,
					 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					 "counting"),
			 SQLITE_OK);
	struct sqldb *c = sqldb_wrap_sqlite(raw);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(sqldb_exec(c, "PRAGMA temp_store = FILE;"
				       "CREATE TABLE target (course_id INTEGER"
				       " NOT NULL, student_id TEXT NOT NULL, seq"
				       " INTEGER CHECK (seq >= 0), note TEXT,"
				       " PRIMARY KEY (course_id, student_id))"
				       " WITHOUT ROWID"),
			 SQLDB_OK);
	char wide[1024];
	memset(wide, 'w', sizeof(wide) - 1);
	wide[sizeof(wide) - 1] = '\0';
	for (int plain = 0; plain <= 1; plain++) {
		journals_opened = 0;
		ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
		for (int round = 0; round < 2; round++) {
			struct sqldb_bulk *b = NULL;
			/* The plain one: an INSERT that is not the row's form
			 * (the group's), one statement of 64 rows by SQL. */
			if (!plain)
				ck_assert_int_eq(sqldb_bulk_begin(c, "staging",
								  BULK_COLS,
								  ROW_INSERT,
								  SET_INSERT, &b),
						 SQLDB_OK);
			for (int i = 0; i < 1024; i += 64) {
				char sql[64 * 1100 + 128];
				size_t used = (size_t)snprintf(
					sql, sizeof(sql),
					"INSERT INTO target VALUES ");
				for (int k = i; k < i + 64; k++) {
					char key[32];
					/* Round 1 lands between round 0's. */
					snprintf(key, sizeof(key), "w%05d%d", k,
						 round);
					if (!plain) {
						ck_assert_int_eq(
							bulk_row(b, 1, key, 0,
								 wide),
							SQLDB_OK);
						continue;
					}
					used += (size_t)snprintf(
						sql + used, sizeof(sql) - used,
						"%s(1, '%s', 0, '%s')",
						k > i ? ", " : "", key, wide);
				}
				if (plain)
					ck_assert_int_eq(sqldb_exec(c, sql),
							 SQLDB_OK);
			}
			if (!plain)
				ck_assert_int_eq(sqldb_bulk_finish(b, NULL),
						 SQLDB_OK);
		}
		ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target"),
				 2048);
		ck_assert_int_eq(sqldb_exec(c, "ROLLBACK"), SQLDB_OK);
		if (plain)
			ck_assert_int_gt(journals_opened, 0);
		else
			ck_assert_int_eq(journals_opened, 0);
	}
	sqldb_close(c);
	sqlite3_close(raw);
	sqlite3_vfs_unregister(&counting_vfs);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(bulk_refuses_a_nul_byte)
{
	struct sqldb *c = bulk_open(_i);
	struct sqldb_bulk *b = NULL;
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, ROW_INSERT,
					  SET_INSERT, &b), SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 0, 5, 0), SQLDB_OK);
	sqldb_bulk_int64(b, 1);
	sqldb_bulk_text(b, "nul\0inside", 10);
	sqldb_bulk_int64(b, 0);
	sqldb_bulk_null(b);
	ck_assert_int_eq(sqldb_bulk_row_end(b), SQLDB_EOTHER);
	ck_assert_ptr_nonnull(strstr(sqldb_errmsg(c), "NUL"));
	/* The error stays: finish says it too (and frees). */
	ck_assert_int_eq(bulk_rows(b, 5, 6, 0), SQLDB_EOTHER);
	ck_assert_int_eq(sqldb_bulk_finish(b, NULL), SQLDB_EOTHER);
	ck_assert_int_eq(sqldb_exec(c, "ROLLBACK"), SQLDB_OK);
	ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target"), 0);
	bulk_close(c);
}
END_TEST

START_TEST(bulk_bad_arguments_are_refused)
{
	struct sqldb *c = bulk_open(_i);
	struct sqldb_bulk *b = (struct sqldb_bulk *)c;
	ck_assert_int_eq(sqldb_bulk_begin(c, "st; DROP TABLE target", BULK_COLS,
					  ROW_INSERT, SET_INSERT, &b),
			 SQLDB_EOTHER);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", " ", ROW_INSERT,
					  SET_INSERT, &b),
			 SQLDB_EOTHER);
	ck_assert_ptr_null(b);
	/* row_sql that does not prepare on SQLite, a column list that does not
	 * parse on PostgreSQL: the engine's class, nothing left behind. */
	ck_assert_int_ne(sqldb_bulk_begin(c, "staging", "a bogus_type_x, b",
					  "INSERT INTO no_such_table VALUES (?1)",
					  SET_INSERT, &b),
			 SQLDB_OK);
	ck_assert_ptr_null(b);
	ck_assert(!sqldb_in_transaction(c));
	ck_assert_int_eq(query_int(c, "SELECT 7"), 7);
	bulk_close(c);
}
END_TEST

START_TEST(bulk_columns_get_byte_order)
{
	int n = 0;
	char *ddl = NULL;
	ck_assert(sqldb__bulk_columns("course_id bigint, student_id text,"
				      " x numeric(10, 2) DEFAULT ',', y TEXT"
				      " COLLATE \"en_US\", \"z\" Text NOT NULL,"
				      " w text[], textual int",
				      &n, &ddl));
	ck_assert_int_eq(n, 7);
	ck_assert_str_eq(ddl, "course_id bigint, student_id text COLLATE \"C\","
			      " x numeric(10, 2) DEFAULT ',', y TEXT COLLATE"
			      " \"en_US\", \"z\" Text NOT NULL COLLATE \"C\","
			      " w text[], textual int");
	free(ddl);
	ck_assert(sqldb__bulk_columns(" ", &n, NULL));
	ck_assert_int_eq(n, 0);
}
END_TEST

/* PostgreSQL: the server goes away mid-COPY. */
START_TEST(pg_bulk_lost_connection_is_conn)
{
	struct sqldb *c = bulk_open(1), *killer = pg_connect();
	int64_t pid = query_int(c, "SELECT pg_backend_pid()");
	struct sqldb_bulk *b = NULL;
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, ROW_INSERT,
					  SET_INSERT, &b), SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 0, 1000, 0), SQLDB_OK);
	char sql[64];
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)",
		 (long long)pid);
	ck_assert_int_eq(sqldb_exec(killer, sql), SQLDB_OK);
	/* More rows than a chunk, then the end: the loss shows in one. */
	enum sqldb_rc rc = bulk_rows(b, 1000, 60000, 0);
	if (rc == SQLDB_OK) {
		rc = sqldb_bulk_finish(b, NULL);
	} else {
		sqldb_bulk_abort(b);
	}
	ck_assert_int_eq(rc, SQLDB_ECONN);
	ck_assert_ptr_null(strchr(sqldb_errmsg(c), '\n'));
	ck_assert_int_eq(sqldb_exec(c, "ROLLBACK"), SQLDB_ECONN);
	sqldb_close(killer);
	bulk_close(c);
}
END_TEST

struct progress {
	struct sqldb *watcher;
	int64_t pid;
};

/* Whether the server has taken rows of the COPY already. */
static bool copy_progressed(void *arg)
{
	struct progress *p = arg;
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT coalesce(max(tuples_processed), 0)"
				   " FROM pg_stat_progress_copy WHERE pid = %lld",
		 (long long)p->pid);
	return query_int(p->watcher, sql) >= 10000;
}

/* PostgreSQL: the rows go out in chunks while they are given, not all at
 * the end (the buffer stays small whatever the number of rows). */
START_TEST(pg_bulk_sends_rows_before_the_end)
{
	struct sqldb *c = bulk_open(1);
	struct progress p = { .watcher = pg_connect(),
			      .pid = query_int(c, "SELECT pg_backend_pid()") };
	struct sqldb_bulk *b = NULL;
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, ROW_INSERT,
					  SET_INSERT, &b), SQLDB_OK);
	ck_assert_int_eq(bulk_rows(b, 0, 100000, 0), SQLDB_OK);
	ck_assert_msg(wait_until(copy_progressed, &p, 30),
		      "the server saw no rows before the end of the COPY");
	int64_t changes = 0;
	ck_assert_int_eq(sqldb_bulk_finish(b, &changes), SQLDB_OK);
	ck_assert_int_eq(changes, 100000);
	ck_assert_int_eq(sqldb_exec(c, "COMMIT"), SQLDB_OK);
	sqldb_close(p.watcher);
	bulk_close(c);
}
END_TEST

static bool always(void *ctx)
{
	(void)ctx;
	return true;
}

/* PostgreSQL: a cancel stops the COPY at the next chunk. */
START_TEST(pg_bulk_cancel_is_interrupt)
{
	struct sqldb *c = bulk_open(1);
	struct sqldb_bulk *b = NULL;
	ck_assert_int_eq(sqldb_exec(c, "BEGIN"), SQLDB_OK);
	ck_assert_int_eq(sqldb_bulk_begin(c, "staging", BULK_COLS, ROW_INSERT,
					  SET_INSERT, &b), SQLDB_OK);
	sqldb_set_cancel(c, always, NULL);
	ck_assert_int_eq(bulk_rows(b, 0, 60000, 0), SQLDB_EINTERRUPT);
	sqldb_bulk_abort(b);
	sqldb_set_cancel(c, NULL, NULL);
	ck_assert_int_eq(sqldb_exec(c, "ROLLBACK"), SQLDB_OK);
	ck_assert_int_eq(query_int(c, "SELECT count(*) FROM target"), 0);
	bulk_close(c);
}
END_TEST

static Suite *sqldb_suite(void)
{
	Suite *s = suite_create("sqldb");
	TCase *tc = tcase_create("sqlite");
	tcase_add_test(tc, sqlite_binds_steps_and_reads);
	tcase_add_test(tc, sqlite_errors_have_classes);
	tcase_add_test(tc, sqlite_transactions_and_tails);
	suite_add_tcase(s, tc);
	tc = tcase_create("pg_spelling");
	tcase_add_test(tc, placeholders_become_dollars);
	tcase_add_test(tc, sqlite_spellings_are_translated);
	tcase_add_test(tc, ddl_is_translated);
	tcase_add_test(tc, pg_unreachable_is_conn);
	suite_add_tcase(s, tc);
	/* The live cases need a server: the test harness exports its URI. */
	if (getenv("BULKREG_TEST_PG_URI") && *getenv("BULKREG_TEST_PG_URI")) {
		tc = tcase_create("pg_live");
		tcase_add_test(tc, pg_round_trip);
		tcase_add_test(tc, pg_failed_commit_is_an_error);
		tcase_add_test(tc, pg_lock_wait_is_busy);
		tcase_add_test(tc, pg_lost_connection_is_conn);
		tcase_add_test(tc, pg_bulk_lost_connection_is_conn);
		tcase_add_test(tc, pg_bulk_cancel_is_interrupt);
		tcase_add_test(tc, pg_bulk_sends_rows_before_the_end);
		suite_add_tcase(s, tc);
	}
	/* The bulk cases on SQLite (0) and, with a server, PostgreSQL (1). */
	int engines = getenv("BULKREG_TEST_PG_URI") &&
				      *getenv("BULKREG_TEST_PG_URI") ? 2 : 1;
	tc = tcase_create("bulk");
	tcase_add_test(tc, bulk_columns_get_byte_order);
	tcase_add_test(tc, sqlite_bulk_insert_groups);
	tcase_add_test(tc, sqlite_bulk_groups_without_statement_journal);
	tcase_add_loop_test(tc, bulk_round_trips_every_byte, 0, engines);
	tcase_add_loop_test(tc, bulk_writes_100k_rows_in_a_transaction, 0, engines);
	tcase_add_loop_test(tc, bulk_upsert_counts_changes, 0, engines);
	tcase_add_loop_test(tc, bulk_changes_sum_set_sql_statements, 0, engines);
	tcase_add_loop_test(tc, bulk_abort_leaves_the_connection_usable, 0, engines);
	tcase_add_loop_test(tc, bulk_constraint_failure_has_its_class, 0, engines);
	tcase_add_loop_test(tc, bulk_refuses_a_nul_byte, 0, engines);
	tcase_add_loop_test(tc, bulk_bad_arguments_are_refused, 0, engines);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sqldb_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
