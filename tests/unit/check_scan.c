/* check_scan: a statement's rows read on a thread of their own, in blocks. */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "sqldb.h"

/* Rows 1..n: (id, a text or NULL or empty, id * 3); the text is id % 300
 * + 1 bytes, 9,000 for every 997th id (past a block's first 4 KiB). */
static struct sqldb *open_rows(sqlite3 **raw, int n)
{
	ck_assert_int_eq(sqlite3_open(":memory:", raw), SQLITE_OK);
	struct sqldb *c = sqldb_wrap_sqlite(*raw);
	ck_assert_ptr_nonnull(c);
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE r (id INTEGER PRIMARY KEY, t TEXT, k INTEGER);"
		 "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s"
		 " WHERE i < %d) INSERT INTO r SELECT i, CASE WHEN i %% 11 = 0"
		 " THEN NULL WHEN i %% 13 = 0 THEN '' ELSE"
		 " printf('%%.*c', CASE WHEN i %% 997 = 0 THEN 9000 ELSE"
		 " i %% 300 + 1 END, char(65 + i %% 26)) END, i * 3"
		 " FROM s",
		 n);
	ck_assert_int_eq(sqldb_exec(c, sql), SQLDB_OK);
	return c;
}

static struct sqldb_stmt *prepared(struct sqldb *c, const char *sql)
{
	struct sqldb_stmt *stmt = NULL;
	ck_assert_int_eq(sqldb_prepare(c, sql, 0, &stmt, NULL), SQLDB_OK);
	return stmt;
}

static void close_rows(struct sqldb *c, sqlite3 *raw, struct sqldb_stmt *stmt)
{
	sqldb_finalize(stmt);
	sqldb_close(c);
	sqlite3_close(raw);
}

static void check_row(const struct scan_value *v, int64_t id)
{
	ck_assert_int_eq(v[0].i, id);
	ck_assert_int_eq(v[2].i, id * 3);
	if (id % 11 == 0) {
		ck_assert_ptr_null(v[1].s);
		return;
	}
	ck_assert_ptr_nonnull(v[1].s);
	size_t want = id % 13 == 0  ? 0 :
		      id % 997 == 0 ? 9000 :
				      (size_t)(id % 300 + 1);
	ck_assert_uint_eq(v[1].len, want);
	for (size_t k = 0; k < want; k++)
		ck_assert_int_eq(v[1].s[k], 'A' + id % 26);
}

/* Every row, in order, with its texts whole, whether read on a thread of
 * its own or on the caller's; the connection is usable after. */
START_TEST(test_every_row_in_order)
{
	sqlite3 *raw;
	enum { N = 5000 };
	struct sqldb *c = open_rows(&raw, N);
	struct sqldb_stmt *stmt = prepared(c, "SELECT id, t, k FROM r ORDER BY id");
	struct scan *s = scan_start(stmt, "iti", _i == 1);
	ck_assert_ptr_nonnull(s);
	int64_t next = 1;
	const struct scan_block *b;
	while ((b = scan_next(s)) != NULL) {
		ck_assert_uint_gt(b->n, 0);
		ck_assert_uint_le(b->n, SCAN_BLOCK_ROWS);
		for (size_t i = 0; i < b->n; i++)
			check_row(b->v[i], next++);
	}
	ck_assert_int_eq(next, N + 1);
	ck_assert_ptr_null(scan_next(s)); /* and stays at the end */
	ck_assert_int_eq(scan_end(s), SQLDB_DONE);
	sqldb_finalize(stmt);
	ck_assert_int_eq(sqldb_exec(c, "DELETE FROM r WHERE id > 10"), SQLDB_OK);
	sqldb_close(c);
	sqlite3_close(raw);
}
END_TEST

/* Stopped after its first block (the caller's error): the reader ends,
 * scan_end says rows remained, the statement can run again. */
START_TEST(test_stopped_early)
{
	sqlite3 *raw;
	struct sqldb *c = open_rows(&raw, 20000);
	struct sqldb_stmt *stmt = prepared(c, "SELECT id, t, k FROM r ORDER BY id");
	for (int round = 0; round < 50; round++) {
		struct scan *s = scan_start(stmt, "iti", _i == 1);
		ck_assert_ptr_nonnull(s);
		const struct scan_block *b = scan_next(s);
		ck_assert_ptr_nonnull(b);
		check_row(b->v[0], 1);
		if (round % 2)
			ck_assert_ptr_nonnull(scan_next(s));
		ck_assert_int_eq(scan_end(s), SQLDB_ROW);
		sqldb_reset(stmt);
	}
	close_rows(c, raw, stmt);
}
END_TEST

/* A step that fails mid-way: the rows before it are handed over, then the
 * end, and scan_end gives the error's class. */
START_TEST(test_error_mid_way)
{
	sqlite3 *raw;
	struct sqldb *c = open_rows(&raw, 3000);
	/* abs() of the smallest integer overflows: row 2000 fails. */
	struct sqldb_stmt *stmt = prepared(c,
					   "SELECT CASE WHEN id = 2000 THEN"
					   " abs(-9223372036854775807 - 1) ELSE id"
					   " END, t, k FROM r ORDER BY id");
	struct scan *s = scan_start(stmt, "iti", _i == 1);
	ck_assert_ptr_nonnull(s);
	int64_t next = 1;
	const struct scan_block *b;
	while ((b = scan_next(s)) != NULL)
		for (size_t i = 0; i < b->n; i++)
			check_row(b->v[i], next++);
	ck_assert_int_eq(next, 2000);
	enum sqldb_rc rc = scan_end(s);
	ck_assert(rc != SQLDB_DONE && rc != SQLDB_ROW && rc != SQLDB_OK);
	close_rows(c, raw, stmt);
}
END_TEST

START_TEST(test_bad_columns)
{
	sqlite3 *raw;
	struct sqldb *c = open_rows(&raw, 1);
	struct sqldb_stmt *stmt = prepared(c, "SELECT id FROM r");
	ck_assert_ptr_null(scan_start(stmt, "", true));
	ck_assert_ptr_null(scan_start(stmt, "ix", true));
	ck_assert_ptr_null(scan_start(stmt, "iiiiiii", true));
	close_rows(c, raw, stmt);
}
END_TEST

static Suite *scan_suite(void)
{
	Suite *s = suite_create("scan");
	TCase *tc = tcase_create("scan");
	tcase_set_timeout(tc, 60);
	/* 0: on the caller's thread; 1: on a thread of its own. */
	tcase_add_loop_test(tc, test_every_row_in_order, 0, 2);
	tcase_add_loop_test(tc, test_stopped_early, 0, 2);
	tcase_add_loop_test(tc, test_error_mid_way, 0, 2);
	tcase_add_test(tc, test_bad_columns);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scan_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
