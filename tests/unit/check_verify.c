/* check_verify: the store's verify, repair and history readers (db_verify.c, db_history.c). */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "testutil.h"

static char dir[200];
static char path[240];

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/check_verify.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/v.db", dir);
}

static void teardown(void)
{
	char p[300];
	const char *suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* Runs SQL on the file with a plain connection, as a person with sqlite3
 * would (foreign keys off). */
static void raw(const char *sql)
{
	sqlite3 *h = NULL;
	ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
	char *msg = NULL;
	int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
	sqlite3_close(h);
}

static struct db *open_with_courses(void)
{
	struct db *db = NULL;
	struct error err;
	ck_assert_int_eq(db_open(path, 5, 0, &db, &err), ST_OK);
	struct course_input a = { "A1", "A", 1, true, WAITLIST_UNLIMITED };
	struct course_input b = { "B2", "B", 3, true, 1 };
	ck_assert_int_eq(db_course_put(db, &a, &err), ST_OK);
	ck_assert_int_eq(db_course_put(db, &b, &err), ST_OK);
	return db;
}

/*
 * Two batches as bulkreg records them: batch 1 adds S1, S2, S3 to A1 (all
 * waitlisted: additions are their registrations, no history row); batch 2
 * promotes S1 into seat 1 and changes S2's values (one history row each).
 */
static const char hand_batch[] =
	"INSERT INTO batches (id, started_at, source, outcome) VALUES"
	" (1, 'x', 'hand', 'committed'), (2, 'y', 'hand', 'committed');"
	"INSERT INTO students (student_id, first_name, created_batch) VALUES"
	" ('S1', '', 1), ('S2', 'Bo', 1), ('S3', '', 1);"
	"INSERT INTO registrations VALUES (1, 'S1', 'registered', 1, 1, 2),"
	" (1, 'S2', 'waitlisted', 1, 1, 3), (1, 'S3', 'waitlisted', 2, 1, 4);"
	"INSERT INTO history (batch_id, event, course_id, student_id, old_status,"
	" old_seq, old_batch, old_line, new_status, new_seq)"
	" VALUES (2, 'promoted', 1, 'S1', 'waitlisted', 1, 1, 2, 'registered', 1);"
	"INSERT INTO history (batch_id, event, student_id, line, old_first_name,"
	" old_last_name, old_email, new_first_name, new_last_name, new_email)"
	" VALUES (2, 'student', 'S2', 7, '', '', '', 'Bo', '', '');"
	"UPDATE courses SET registered = 1, waitlisted = 2, seat_seq = 1"
	" WHERE id = 1;";

#define MAXF 16

struct found {
	int n;
	char what[MAXF][40], course[MAXF][40], student[MAXF][40];
	char expected[MAXF][80], found[MAXF][80];
	int stop_after; /* 0: never */
};

static int collect(void *ctx, const struct db_finding *f, struct error *err)
{
	struct found *c = ctx;
	if (c->n < MAXF) {
		snprintf(c->what[c->n], 40, "%s", f->what);
		snprintf(c->course[c->n], 40, "%s", f->course);
		snprintf(c->student[c->n], 40, "%s", f->student);
		snprintf(c->expected[c->n], 80, "%s", f->expected);
		snprintf(c->found[c->n], 80, "%s", f->found);
	}
	c->n++;
	if (c->stop_after && c->n >= c->stop_after) {
		error_set(err, ST_IO, "stopped after %d", c->n);
		return 1;
	}
	return 0;
}

/* The index of the finding named `what` about `student` ("" any), or -1. */
static int find(const struct found *c, const char *what, const char *student)
{
	for (int i = 0; i < c->n && i < MAXF; i++)
		if (strcmp(c->what[i], what) == 0 &&
		    (!*student || strcmp(c->student[i], student) == 0))
			return i;
	return -1;
}

static struct found verify(struct db *db, int64_t *problems)
{
	struct found c;
	memset(&c, 0, sizeof(c));
	struct db_verify_totals t;
	struct error err;
	ck_assert_int_eq(db_verify(db, collect, &c, &t, &err), ST_OK);
	ck_assert_int_eq(t.problems, c.n);
	if (problems)
		*problems = t.problems;
	return c;
}

START_TEST(test_sound_database_has_no_findings)
{
	struct db *db = open_with_courses();
	db_close(db);
	raw(hand_batch);
	ck_assert_int_eq(db_open(path, 5, 0, &db, &(struct error){0}), ST_OK);
	struct db_verify_totals t;
	struct error err;
	struct found c;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(db_verify(db, collect, &c, &t, &err), ST_OK);
	ck_assert_int_eq(c.n, 0);
	ck_assert_int_eq(t.courses, 2);
	ck_assert_int_eq(t.registrations, 3);
	ck_assert_int_eq(t.events, 2);
	db_close(db);
}
END_TEST

START_TEST(test_each_broken_invariant_is_named_with_expected_and_found)
{
	struct db *db = open_with_courses();
	db_close(db);
	raw(hand_batch);
	/* Counter, a gap, a lowered seat_seq, a waitlist over B2's maximum,
	 * a student gone, a pair without history. */
	raw("UPDATE courses SET registered = 7 WHERE id = 1;"
	    "UPDATE registrations SET seq = 5 WHERE student_id = 'S3';"
	    "UPDATE courses SET seat_seq = 0 WHERE id = 1;"
	    "INSERT INTO students (student_id) VALUES ('T1'), ('T2');"
	    "INSERT INTO registrations VALUES (2, 'T1', 'waitlisted', 1, 1, 9),"
	    " (2, 'T2', 'waitlisted', 2, 9, 10);"
	    "UPDATE courses SET waitlisted = 2, capacity = 0 WHERE id = 2;"
	    "UPDATE students SET first_name = 'Al' WHERE student_id = 'S2';"
	    "DELETE FROM students WHERE student_id = 'S1';");
	ck_assert_int_eq(db_open(path, 5, 0, &db, &(struct error){0}), ST_OK);
	struct found c = verify(db, NULL);
	int i = find(&c, "registered_count", "");
	ck_assert_int_ge(i, 0);
	ck_assert_str_eq(c.course[i], "A1");
	ck_assert_str_eq(c.expected[i], "1");
	ck_assert_str_eq(c.found[i], "7");
	i = find(&c, "waitlist_positions", "");
	ck_assert_int_ge(i, 0);
	ck_assert_str_eq(c.expected[i], "1..2");
	ck_assert_str_eq(c.found[i], "1,5");
	i = find(&c, "seat_seq", "");
	ck_assert_int_ge(i, 0);
	ck_assert_str_eq(c.expected[i], "at least 1");
	i = find(&c, "waitlist_over_max", "");
	ck_assert_int_ge(i, 0);
	ck_assert_str_eq(c.course[i], "B2");
	ck_assert_str_eq(c.found[i], "2 waiting");
	i = find(&c, "student_missing", "S1");
	ck_assert_int_ge(i, 0);
	/* T1 has no event: its registration is its record. */
	ck_assert_int_eq(find(&c, "history", ""), -1);
	ck_assert_int_eq(find(&c, "registration_batch", "T1"), -1);
	i = find(&c, "registration_batch", "T2");
	ck_assert_int_ge(i, 0);
	ck_assert_str_eq(c.found[i], "batch 9 missing");
	/* S1 has no 'student' event either; S2's says 'Bo'. */
	ck_assert_int_eq(find(&c, "student_history", "S1"), -1);
	i = find(&c, "student_history", "S2");
	ck_assert_int_ge(i, 0);
	ck_assert_str_eq(c.found[i], "Al  <>");
	ck_assert_int_eq(find(&c, "promotions_owed", ""), -1);
	db_close(db);
}
END_TEST

START_TEST(test_repair_promotes_renumbers_and_records_one_batch)
{
	struct db *db = open_with_courses();
	db_close(db);
	raw(hand_batch);
	raw("DELETE FROM registrations WHERE student_id = 'S1';");
	ck_assert_int_eq(db_open(path, 5, 0, &db, &(struct error){0}), ST_OK);
	int64_t problems = 0;
	struct found c = verify(db, &problems);
	ck_assert_int_ge(find(&c, "promotions_owed", ""), 0);

	struct db_repair_result r;
	struct error err;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(db_repair(db, collect, &c, &r, &err), ST_OK);
	ck_assert_int_eq(r.batch_id, 3);
	ck_assert(!r.damaged);
	ck_assert_int_eq(r.changes, c.n);
	int i = find(&c, "promoted", "S2");
	ck_assert_int_ge(i, 0);
	ck_assert_str_eq(c.found[i], "waitlisted position 1");
	ck_assert_str_eq(c.expected[i], "registered seat 2");
	i = find(&c, "history_dropped", "S1");
	ck_assert_int_ge(i, 0);
	ck_assert_str_eq(c.found[i], "registered seat 1");
	i = find(&c, "waitlist_position", "S3");
	ck_assert_int_ge(i, 0);
	ck_assert_str_eq(c.found[i], "2");
	ck_assert_str_eq(c.expected[i], "1");
	ck_assert_int_eq(find(&c, "history_student", ""), -1);

	verify(db, &problems);
	ck_assert_int_eq(problems, 0);
	/* Nothing left: no second batch. */
	ck_assert_int_eq(db_repair(db, NULL, NULL, &r, &err), ST_OK);
	ck_assert_int_eq(r.batch_id, 0);
	ck_assert_int_eq(r.changes, 0);
	db_close(db);
}
END_TEST

START_TEST(test_callback_stop_is_st_io)
{
	struct db *db = open_with_courses();
	db_close(db);
	raw(hand_batch);
	raw("UPDATE courses SET registered = 9, waitlisted = 9;");
	ck_assert_int_eq(db_open(path, 5, 0, &db, &(struct error){0}), ST_OK);
	struct found c;
	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	struct db_verify_totals t;
	struct error err = {0};
	ck_assert_int_eq(db_verify(db, collect, &c, &t, &err), ST_IO);
	ck_assert_int_eq(c.n, 1);
	ck_assert_str_eq(err.msg, "stopped after 1");
	/* The read transaction is over: a write can start. */
	ck_assert_int_eq(db_begin(db, &err), ST_OK);
	db_rollback(db);
	db_close(db);
}
END_TEST

static int count_header(void *ctx, const struct batch_record *b,
			struct error *err)
{
	(void)b;
	(void)err;
	(*(int *)ctx)++;
	return 0;
}

static int count_change(void *ctx, const struct db_change *c,
			struct error *err)
{
	(void)c;
	(void)err;
	(*(int *)ctx)++;
	return 0;
}

static int count_student(void *ctx, const struct db_student *s,
			struct error *err)
{
	(void)s;
	(void)err;
	(*(int *)ctx)++;
	return 0;
}

static int count_course(void *ctx, const struct db_student_course *c,
			struct error *err)
{
	(void)c;
	(void)err;
	(*(int *)ctx)++;
	return 0;
}

START_TEST(test_unknown_batch_and_student_are_not_found)
{
	struct db *db = open_with_courses();
	struct error err;
	int n = 0;
	ck_assert_int_eq(db_batch_show(db, 42, count_header, count_change, &n, &err),
			 ST_NOTFOUND);
	ck_assert(strstr(err.msg, "no batch 42"));
	ck_assert_int_eq(n, 0);
	const struct db_student_fns fns = { count_student, count_course,
					    count_change };
	ck_assert_int_eq(db_student_show(db, "NOPE", &fns, &n, &err), ST_NOTFOUND);
	ck_assert(strstr(err.msg, "NOPE"));
	ck_assert_int_eq(n, 0);
	db_close(db);
}
END_TEST

START_TEST(test_history_only_student_is_shown)
{
	struct db *db = open_with_courses();
	db_close(db);
	raw(hand_batch);
	raw("DELETE FROM students WHERE student_id = 'S1';"
	    "DELETE FROM registrations WHERE student_id = 'S1';");
	ck_assert_int_eq(db_open(path, 5, 0, &db, &(struct error){0}), ST_OK);
	const struct db_student_fns fns = { count_student, count_course,
					    count_change };
	int n = 0;
	struct error err;
	ck_assert_int_eq(db_student_show(db, "S1", &fns, &n, &err), ST_OK);
	/* The student (history only), the addition its promotion's "before"
	 * names, the promotion. */
	ck_assert_int_eq(n, 3);
	n = 0;
	ck_assert_int_eq(db_batch_show(db, 1, count_header, count_change, &n, &err),
			 ST_OK);
	/* The header, S2 and S3 created, S1 S2 S3 added. */
	ck_assert_int_eq(n, 6);
	n = 0;
	ck_assert_int_eq(db_batch_show(db, 2, count_header, count_change, &n, &err),
			 ST_OK);
	ck_assert_int_eq(n, 3); /* the header, the promotion, S2's change */
	/* S3: no event at all, still shown by their row. */
	n = 0;
	ck_assert_int_eq(db_student_show(db, "S3", &fns, &n, &err), ST_OK);
	ck_assert_int_eq(n, 4); /* the student, a course, created, added */
	db_close(db);
}
END_TEST

static Suite *verify_suite(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("verify");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sound_database_has_no_findings);
	tcase_add_test(tc, test_each_broken_invariant_is_named_with_expected_and_found);
	tcase_add_test(tc, test_repair_promotes_renumbers_and_records_one_batch);
	tcase_add_test(tc, test_callback_stop_is_st_io);
	tcase_add_test(tc, test_unknown_batch_and_student_are_not_found);
	tcase_add_test(tc, test_history_only_student_is_shown);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(verify_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
