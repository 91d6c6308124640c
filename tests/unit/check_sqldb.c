/* check_sqldb: the SQL driver -- SQLite behind it, PostgreSQL's translation, and a live server when one is given. */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		suite_add_tcase(s, tc);
	}
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
