/* check_pgstore: the PostgreSQL store against a live server (BULKREG_TEST_PG_URI) -- schema, failures, locks. */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "sqldb.h"
#include "store.h"
#include "testutil.h"

static const char *uri;
static char schema[64];

/* A connection of the test's own, outside bulkreg's store. */
static struct sqldb *admin(void)
{
	struct sqldb *c = NULL;
	ck_assert_int_eq(sqldb_connect_pg(uri, 10, &c), SQLDB_OK);
	return c;
}

static void admin_exec(const char *fmt, const char *arg)
{
	char sql[512];
	snprintf(sql, sizeof(sql), fmt, arg);
	struct sqldb *c = admin();
	ck_assert_msg(sqldb_exec(c, sql) == SQLDB_OK, "%s: %s", sql,
		      sqldb_errmsg(c));
	sqldb_close(c);
}

static void setup(void)
{
	static int n;
	snprintf(schema, sizeof(schema), "check_pg_%ld_%d", (long)getpid(), n++);
}

static void teardown(void)
{
	struct sqldb *c = NULL;
	char sql[128];
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
	if (sqldb_connect_pg(uri, 10, &c) == SQLDB_OK)
		sqldb_exec(c, "SET client_min_messages = warning"),
			sqldb_exec(c, sql);
	sqldb_close(c);
}

static struct db *open_init(void)
{
	struct db *db = NULL;
	struct error err;
	enum status st = db_open_target(uri, schema, 0.2, DB_OPEN_INIT, &db, &err);
	ck_assert_msg(st == ST_OK, "%s", err.msg);
	ck_assert(db_is_pg(db));
	return db;
}

static void add_course(struct db *db, const char *code, int64_t capacity)
{
	struct course_input in = { .code = code, .capacity = capacity };
	struct error err;
	ck_assert_msg(db_course_put(db, &in, &err) == ST_OK, "%s", err.msg);
}

static int64_t begin(struct db *db, struct course_table *t)
{
	struct batch_meta meta = { .kind = BATCH_KIND_REGISTER, .source = "t.csv" };
	int64_t id = 0;
	struct error err;
	course_table_init(t);
	ck_assert_msg(db_batch_begin(db, &meta, &id, t, &err) == ST_OK, "%s",
		      err.msg);
	return id;
}

START_TEST(init_alone_creates_the_schema)
{
	struct db *db = NULL;
	struct error err;
	ck_assert_int_eq(db_open_target(uri, schema, 1, 0, &db, &err), ST_DB);
	ck_assert_ptr_nonnull(strstr(err.msg, "no bulkreg schema"));
	ck_assert_ptr_nonnull(strstr(err.msg, "bulkreg init"));
	db = open_init();
	db_close(db);
	/* Versioned like user_version; a second open finds it as it is. */
	ck_assert_int_eq(db_open_target(uri, schema, 1, 0, &db, &err), ST_OK);
	db_close(db);
	admin_exec("UPDATE %s.meta SET version = 99", schema);
	ck_assert_int_eq(db_open_target(uri, schema, 1, 0, &db, &err), ST_TOONEW);
	ck_assert_ptr_nonnull(strstr(err.msg, "newer"));
}
END_TEST

START_TEST(password_never_in_messages)
{
	char target[1024];
	/* The test server's URI with a user and password that do not exist. */
	snprintf(target, sizeof(target), "%s%cuser=nobody_x&password=s3cret_pw",
		 uri, strchr(uri, '?') ? '&' : '?');
	struct db *db = NULL;
	struct error err;
	ck_assert_int_eq(db_open_target(target, schema, 1, 0, &db, &err), ST_DB);
	ck_assert_ptr_null(strstr(err.msg, "s3cret_pw"));
	ck_assert_ptr_nonnull(strstr(err.msg, "password=***"));
}
END_TEST

START_TEST(same_course_waits_then_busy)
{
	struct db *a = open_init(), *b = open_init();
	add_course(a, "MATH", 10);
	struct course_table ta, tb;
	begin(a, &ta);
	begin(b, &tb);
	struct error err;
	ck_assert_int_eq(store_course_lock(db_store(a), &ta.items[0], &err), ST_OK);
	double t0 = now_seconds();
	ck_assert_int_eq(store_course_lock(db_store(b), &tb.items[0], &err), ST_BUSY);
	ck_assert(now_seconds() - t0 >= 0.15); /* it waited for --wait */
	ck_assert_ptr_nonnull(strstr(err.msg, "locked by another process"));
	db_batch_abort(b);
	db_batch_abort(a);
	course_table_free(&ta);
	course_table_free(&tb);
	db_close(a);
	db_close(b);
}
END_TEST

START_TEST(disjoint_courses_do_not_wait)
{
	struct db *a = open_init(), *b = open_init();
	add_course(a, "ART", 10);
	add_course(a, "BIO", 10);
	struct course_table ta, tb;
	begin(a, &ta);
	begin(b, &tb);
	struct error err;
	ck_assert_int_eq(store_course_lock(db_store(a), &ta.items[0], &err), ST_OK);
	ck_assert_int_eq(store_course_lock(db_store(b), &tb.items[1], &err), ST_OK);
	db_batch_abort(b);
	db_batch_abort(a);
	course_table_free(&ta);
	course_table_free(&tb);
	db_close(a);
	db_close(b);
}
END_TEST

START_TEST(lock_refreshes_the_course)
{
	struct db *a = open_init(), *b = open_init();
	add_course(a, "CHEM", 10);
	struct course_table tb;
	begin(b, &tb); /* loaded before the change below */
	add_course(a, "CHEM", 25);
	admin_exec("UPDATE %s.courses SET registered = 7, seat_seq = 9", schema);
	struct error err;
	ck_assert_int_eq(store_course_lock(db_store(b), &tb.items[0], &err), ST_OK);
	ck_assert_int_eq(tb.items[0].capacity, 25);
	ck_assert_int_eq(tb.items[0].registered, 7);
	ck_assert_int_eq(tb.items[0].seat_seq, 9);
	db_batch_abort(b);
	course_table_free(&tb);
	db_close(a);
	db_close(b);
}
END_TEST

struct locker {
	struct db *db;
	struct course *c;
	enum status st;
	char msg[ERROR_MAX];
};

static void *lock_in_thread(void *arg)
{
	struct locker *l = arg;
	struct error err;
	l->st = store_course_lock(db_store(l->db), l->c, &err);
	snprintf(l->msg, sizeof(l->msg), "%s", l->st == ST_OK ? "" : err.msg);
	return NULL;
}

START_TEST(deadlock_says_run_it_again)
{
	struct db *a = open_init(), *b = open_init();
	add_course(a, "X", 10);
	add_course(a, "Y", 10);
	struct error err;
	ck_assert_int_eq(db_set_lock_wait(a, 30, &err), ST_OK);
	ck_assert_int_eq(db_set_lock_wait(b, 30, &err), ST_OK);
	struct course_table ta, tb;
	begin(a, &ta);
	begin(b, &tb);
	ck_assert_int_eq(store_course_lock(db_store(a), &ta.items[0], &err), ST_OK);
	ck_assert_int_eq(store_course_lock(db_store(b), &tb.items[1], &err), ST_OK);
	/* a waits for Y in a thread; b then waits for X: one must lose. */
	struct locker la = { a, &ta.items[1], ST_OK, "" };
	pthread_t t = start_thread(lock_in_thread, &la);
	struct locker lb = { b, &tb.items[0], ST_OK, "" };
	lock_in_thread(&lb);
	if (lb.st == ST_OK)
		db_batch_abort(b); /* b won: a's wait ends */
	join_thread(t);
	ck_assert((la.st == ST_CONFLICT) != (lb.st == ST_CONFLICT));
	const char *msg = la.st == ST_CONFLICT ? la.msg : lb.msg;
	ck_assert_ptr_nonnull(strstr(msg, "run it again"));
	db_batch_abort(a);
	db_batch_abort(b);
	course_table_free(&ta);
	course_table_free(&tb);
	db_close(a);
	db_close(b);
}
END_TEST

START_TEST(lost_commit_is_unknown_and_names_the_batch)
{
	struct db *db = open_init();
	add_course(db, "GEO", 10);
	struct course_table t;
	int64_t id = begin(db, &t);
	struct error err;
	struct outcome_counts counts = {0};
	/* The session ends right before the COMMIT (a test-build hook). */
	setenv("BULKREG_TEST_PG_LOSE_COMMIT", "1", 1);
	enum status st = db_batch_finish(db, id, BATCH_COMMITTED, &counts, NULL,
					 &err);
	unsetenv("BULKREG_TEST_PG_LOSE_COMMIT");
	ck_assert_int_eq(st, ST_DB);
	char want[64];
	snprintf(want, sizeof(want), "batch %" PRId64, id);
	ck_assert_msg(strstr(err.msg, want) && strstr(err.msg, "unknown"), "%s",
		      err.msg);
	course_table_free(&t);
	db_close(db);
}
END_TEST

START_TEST(lost_connection_mid_batch_writes_nothing)
{
	struct db *db = open_init();
	add_course(db, "HIS", 10);
	struct course_table t;
	begin(db, &t);
	struct sqldb *c = admin();
	ck_assert_int_eq(sqldb_exec(c, "SELECT pg_terminate_backend(pid) FROM"
				       " pg_stat_activity WHERE application_name ="
				       " 'bulkreg' AND pid <> pg_backend_pid()"
				       " AND state LIKE 'idle in%'"),
			 SQLDB_OK);
	sqldb_close(c);
	struct error err;
	ck_assert_int_eq(store_course_lock(db_store(db), &t.items[0], &err), ST_DB);
	ck_assert_ptr_nonnull(strstr(err.msg, "connection to the server was lost"));
	ck_assert_ptr_nonnull(strstr(err.msg, "nothing was written"));
	db_batch_abort(db);
	course_table_free(&t);
	db_close(db);
	/* No batch row was committed. */
	db = open_init();
	int64_t n = 0;
	struct sqldb *a = admin();
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.batches", schema);
	struct sqldb_stmt *s = NULL;
	ck_assert_int_eq(sqldb_prepare(a, sql, 0, &s, NULL), SQLDB_OK);
	ck_assert_int_eq(sqldb_step(s), SQLDB_ROW);
	n = sqldb_column_int64(s, 0);
	sqldb_finalize(s);
	sqldb_close(a);
	ck_assert_int_eq(n, 0);
	db_close(db);
}
END_TEST

static Suite *pgstore_suite(void)
{
	Suite *s = suite_create("pgstore");
	TCase *tc = tcase_create("live");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, init_alone_creates_the_schema);
	tcase_add_test(tc, password_never_in_messages);
	tcase_add_test(tc, same_course_waits_then_busy);
	tcase_add_test(tc, disjoint_courses_do_not_wait);
	tcase_add_test(tc, lock_refreshes_the_course);
	tcase_add_test(tc, deadlock_says_run_it_again);
	tcase_add_test(tc, lost_commit_is_unknown_and_names_the_batch);
	tcase_add_test(tc, lost_connection_mid_batch_writes_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	uri = getenv("BULKREG_TEST_PG_URI");
	if (!uri || !*uri) {
		puts("check_pgstore: skipped (no BULKREG_TEST_PG_URI: no server)");
		return EXIT_SUCCESS;
	}
	SRunner *sr = srunner_create(pgstore_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
