/* check_courses: the course table and course code rules, one rule per test. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courses.h"
#include "testutil.h"
#include "validate.h"

static struct course make_course(const char *code, const char *title,
				 int64_t capacity)
{
	struct course c;
	memset(&c, 0, sizeof(c));
	snprintf(c.code, sizeof(c.code), "%s", code);
	c.title = (char *)title;
	c.capacity = capacity;
	c.waitlist_max = WAITLIST_UNLIMITED;
	return c;
}

static void add_ok(struct course_table *t, const char *code, const char *title,
		   int64_t capacity)
{
	struct course c = make_course(code, title, capacity);
	struct error err = { "" };
	ck_assert_int_eq(course_table_add(t, &c, &err), ST_OK);
}

/* ---- the table ---------------------------------------------------------- */

START_TEST(test_empty_table_finds_nothing)
{
	struct course_table t;
	course_table_init(&t);
	ck_assert_ptr_null(course_table_find(&t, "CS101", 5));
	ck_assert_uint_eq(t.count, 0);
	course_table_free(&t);
}
END_TEST

START_TEST(test_add_then_find_returns_copy)
{
	struct course_table t;
	course_table_init(&t);
	struct course c = make_course("CS101", "Intro", 30);
	c.id = 7;
	c.waitlist_max = 5;
	c.registered = 3;
	c.waitlisted = 1;
	ck_assert_int_eq(course_table_add(&t, &c, NULL), ST_OK);

	struct course *found = course_table_find(&t, "CS101", 5);
	ck_assert_ptr_nonnull(found);
	ck_assert_int_eq(found->id, 7);
	ck_assert_str_eq(found->code, "CS101");
	ck_assert_str_eq(found->title, "Intro");
	ck_assert_int_eq(found->capacity, 30);
	ck_assert_int_eq(found->waitlist_max, 5);
	ck_assert_int_eq(found->registered, 3);
	ck_assert_int_eq(found->waitlisted, 1);
	course_table_free(&t);
}
END_TEST

START_TEST(test_title_is_owned_by_table)
{
	struct course_table t;
	course_table_init(&t);
	char title[] = "Original";
	add_ok(&t, "M1", title, 1);
	title[0] = 'X';
	struct course *found = course_table_find(&t, "M1", 2);
	ck_assert_ptr_ne(found->title, title);
	ck_assert_str_eq(found->title, "Original");
	course_table_free(&t);
}
END_TEST

START_TEST(test_null_title_becomes_empty)
{
	struct course_table t;
	course_table_init(&t);
	add_ok(&t, "M1", NULL, 1);
	ck_assert_str_eq(course_table_find(&t, "M1", 2)->title, "");
	course_table_free(&t);
}
END_TEST

START_TEST(test_duplicate_code_is_input_error_and_table_unchanged)
{
	struct course_table t;
	course_table_init(&t);
	add_ok(&t, "CS101", "First", 1);
	struct course c = make_course("CS101", "Second", 2);
	struct error err = { "" };
	ck_assert_int_eq(course_table_add(&t, &c, &err), ST_INPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "CS101"));
	ck_assert_uint_eq(t.count, 1);
	ck_assert_str_eq(course_table_find(&t, "CS101", 5)->title, "First");
	course_table_free(&t);
}
END_TEST

START_TEST(test_find_is_case_sensitive)
{
	struct course_table t;
	course_table_init(&t);
	add_ok(&t, "CS101", "", 1);
	ck_assert_ptr_null(course_table_find(&t, "cs101", 5));
	course_table_free(&t);
}
END_TEST

START_TEST(test_find_uses_length_not_terminator)
{
	struct course_table t;
	course_table_init(&t);
	add_ok(&t, "CS1", "", 1);
	add_ok(&t, "CS101", "", 1);
	/* A value from a roster is not NUL-terminated at its length. */
	const char *text = "CS101,more";
	ck_assert_str_eq(course_table_find(&t, text, 5)->code, "CS101");
	ck_assert_str_eq(course_table_find(&t, text, 3)->code, "CS1");
	ck_assert_ptr_null(course_table_find(&t, text, 4));
	ck_assert_ptr_null(course_table_find(&t, text, 0));
	course_table_free(&t);
}
END_TEST

START_TEST(test_find_overlong_code_returns_null)
{
	struct course_table t;
	course_table_init(&t);
	add_ok(&t, "A", "", 1);
	char longcode[100];
	memset(longcode, 'A', sizeof(longcode));
	ck_assert_ptr_null(course_table_find(&t, longcode, sizeof(longcode)));
	course_table_free(&t);
}
END_TEST

START_TEST(test_many_courses_grow_and_stay_findable)
{
	struct course_table t;
	course_table_init(&t);
	enum { N = 20000 };
	char code[COURSE_CODE_MAX + 1];
	for (int i = 0; i < N; i++) {
		snprintf(code, sizeof(code), "C%d", i);
		add_ok(&t, code, code, i);
	}
	ck_assert_uint_eq(t.count, N);
	ck_assert_uint_le(t.count * 2, t.index_size);
	for (int i = 0; i < N; i++) {
		snprintf(code, sizeof(code), "C%d", i);
		struct course *c = course_table_find(&t, code, strlen(code));
		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(c->capacity, i);
		ck_assert_str_eq(c->title, code);
	}
	ck_assert_ptr_null(course_table_find(&t, "C20000", 6));
	course_table_free(&t);
}
END_TEST

START_TEST(test_items_keep_insertion_order)
{
	struct course_table t;
	course_table_init(&t);
	add_ok(&t, "B", "", 1);
	add_ok(&t, "A", "", 1);
	add_ok(&t, "C", "", 1);
	ck_assert_str_eq(t.items[0].code, "B");
	ck_assert_str_eq(t.items[1].code, "A");
	ck_assert_str_eq(t.items[2].code, "C");
	course_table_free(&t);
}
END_TEST

START_TEST(test_free_leaves_reusable_empty_table)
{
	struct course_table t;
	course_table_init(&t);
	add_ok(&t, "A", "x", 1);
	course_table_free(&t);
	ck_assert_uint_eq(t.count, 0);
	ck_assert_ptr_null(t.items);
	ck_assert_ptr_null(course_table_find(&t, "A", 1));
	add_ok(&t, "A", "y", 1);
	ck_assert_str_eq(course_table_find(&t, "A", 1)->title, "y");
	course_table_free(&t);
}
END_TEST

struct finder {
	const struct course_table *t;
	int n;
	int found;
};

static void *find_all(void *arg)
{
	struct finder *f = arg;
	char code[COURSE_CODE_MAX + 1];
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < f->n; i++) {
			snprintf(code, sizeof(code), "K%d", i);
			const struct course *c =
				course_table_find(f->t, code, strlen(code));
			if (c && c->capacity == i)
				f->found++;
		}
	}
	return NULL;
}

START_TEST(test_concurrent_finds_agree)
{
	struct course_table t;
	course_table_init(&t);
	enum { N = 500, THREADS = 4 };
	char code[COURSE_CODE_MAX + 1];
	for (int i = 0; i < N; i++) {
		snprintf(code, sizeof(code), "K%d", i);
		add_ok(&t, code, "", i);
	}
	struct finder f[THREADS];
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		f[i] = (struct finder){ &t, N, 0 };
		th[i] = start_thread(find_all, &f[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		join_thread(th[i]);
		ck_assert_int_eq(f[i].found, N * 20);
	}
	course_table_free(&t);
}
END_TEST

/* ---- did you mean ------------------------------------------------------- */

static const char *suggested(const struct course_table *t, const char *code)
{
	const struct course *c = course_table_suggest(t, code, strlen(code));
	return c ? c->code : "(none)";
}

static void add_known(struct course_table *t)
{
	/* Not in code order: ties go by code, not by the table's order. */
	add_ok(t, "MATH102", "", 5);
	add_ok(t, "MATH101", "", 5);
	add_ok(t, "ART105", "", 5);
	add_ok(t, "Math101", "", 5);
	add_ok(t, "CS1", "", 5);
}

START_TEST(test_suggest_equal_but_for_case_first)
{
	struct course_table t;
	course_table_init(&t);
	add_known(&t);
	ck_assert_str_eq(suggested(&t, "art105"), "ART105");
	/* Two codes equal but for case: the first in code order. */
	ck_assert_str_eq(suggested(&t, "math101"), "MATH101");
	ck_assert_str_eq(suggested(&t, "MATh101"), "MATH101");
	/* Equal but for case beats a code one edit away. */
	ck_assert_str_eq(suggested(&t, "math102"), "MATH102");
	course_table_free(&t);
}
END_TEST

START_TEST(test_suggest_near_misses_within_two_edits)
{
	struct course_table t;
	course_table_init(&t);
	add_known(&t);
	ck_assert_str_eq(suggested(&t, "ART10"), "ART105");     /* deletion */
	ck_assert_str_eq(suggested(&t, "ARTT105"), "ART105");   /* insertion */
	ck_assert_str_eq(suggested(&t, "ART1O6"), "ART105");    /* 2 subst. */
	ck_assert_str_eq(suggested(&t, "CS"), "CS1");
	/* Three edits is too far. */
	ck_assert_str_eq(suggested(&t, "AXT1O6"), "(none)");
	ck_assert_str_eq(suggested(&t, "XYZ"), "(none)");
	ck_assert_str_eq(suggested(&t, "PHYS201"), "(none)");
	/* The closest wins; a tie goes to the first in code order. */
	ck_assert_str_eq(suggested(&t, "MATH103"), "MATH101");
	ck_assert_str_eq(suggested(&t, "MATH10"), "MATH101");
	ck_assert_str_eq(suggested(&t, "MATH1022"), "MATH102");
	course_table_free(&t);
}
END_TEST

START_TEST(test_suggest_memo_answers_the_same_and_follows_adds)
{
	struct course_table t;
	course_table_init(&t);
	ck_assert_str_eq(suggested(&t, "bio1"), "(none)"); /* empty table */
	add_ok(&t, "BIO2", "", 5);
	for (int i = 0; i < 3; i++)
		ck_assert_str_eq(suggested(&t, "bio1"), "BIO2");
	/* A course added later is a better answer: the memo is dropped. */
	add_ok(&t, "BIO1", "", 5);
	ck_assert_str_eq(suggested(&t, "bio1"), "BIO1");
	/* More distinct codes than the memo keeps: still answered. */
	char code[32];
	for (int i = 0; i < 7000; i++) {
		snprintf(code, sizeof(code), "zz%d", i);
		ck_assert_str_eq(suggested(&t, code), "(none)");
	}
	ck_assert_str_eq(suggested(&t, "bio2"), "BIO2");
	char hint[COURSE_HINT_MAX];
	course_table_hint(hint, sizeof(hint), &t, "Bio2", 4);
	ck_assert_str_eq(hint, "; did you mean BIO2?");
	course_table_hint(hint, sizeof(hint), &t, "QQQQ", 4);
	ck_assert_str_eq(hint, "");
	course_table_free(&t);
}
END_TEST

/* hint_of(t, code): course_table_hint's text for code. */
static const char *hint_of(const struct course_table *t, const char *code)
{
	static char hint[COURSE_HINT_MAX];
	course_table_hint(hint, sizeof(hint), t, code, strlen(code));
	return hint;
}

START_TEST(test_suggest_names_every_code_as_near)
{
	struct course_table t;
	course_table_init(&t);
	add_ok(&t, "C3", "", 5);
	add_ok(&t, "C1", "", 5);
	add_ok(&t, "C2", "", 5);
	/* Three codes one edit away: all three, in code order. */
	ck_assert_str_eq(hint_of(&t, "CX"), "; did you mean C1, C2 or C3?");
	const struct course *found[COURSE_SUGGEST_MAX];
	ck_assert_uint_eq(course_table_suggest_all(&t, "cx", 2, found), 3);
	ck_assert_str_eq(found[0]->code, "C1");
	ck_assert_str_eq(found[2]->code, "C3");
	/* One nearer than the others: that one alone. */
	add_ok(&t, "CX1", "", 5);
	ck_assert_str_eq(hint_of(&t, "cx1"), "; did you mean CX1?");
	/* Two as near. */
	add_ok(&t, "MATH101", "", 5);
	add_ok(&t, "MATH102", "", 5);
	ck_assert_str_eq(hint_of(&t, "MATH103"),
			 "; did you mean MATH101 or MATH102?");
	/* More as near than COURSE_SUGGEST_MAX: none is named. */
	add_ok(&t, "MATH104", "", 5);
	add_ok(&t, "MATH105", "", 5);
	ck_assert_str_eq(hint_of(&t, "MATH109"), "");
	ck_assert_uint_eq(course_table_suggest_all(&t, "MATH109", 7, found), 0);
	ck_assert_ptr_null(course_table_suggest(&t, "MATH109", 7));
	course_table_free(&t);
}
END_TEST

START_TEST(test_suggest_not_when_most_of_the_code_differs)
{
	struct course_table t;
	course_table_init(&t);
	add_ok(&t, "C1", "", 5);
	add_ok(&t, "C2", "", 5);
	add_ok(&t, "C3", "", 5);
	/* "Q" is two edits from each: more than half of it changes. */
	ck_assert_str_eq(hint_of(&t, "Q"), "");
	/* One letter: only a code equal but for case. */
	add_ok(&t, "X", "", 5);
	ck_assert_str_eq(hint_of(&t, "x"), "; did you mean X?");
	ck_assert_str_eq(hint_of(&t, "C"), "");
	/* Two letters: one edit. */
	ck_assert_str_eq(hint_of(&t, "C11"), "; did you mean C1?");
	course_table_free(&t);
}
END_TEST

struct suggester {
	const struct course_table *t;
	int right;
};

static void *suggest_all(void *arg)
{
	struct suggester *s = arg;
	char code[32];
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 40; i++) {
			snprintf(code, sizeof(code), "k%d", i);
			const struct course *c =
				course_table_suggest(s->t, code, strlen(code));
			if (c && c->capacity == i)
				s->right++;
		}
	}
	return NULL;
}

/* Workers ask at once: one memo, every answer right (TSan checks it). */
START_TEST(test_suggest_from_many_threads)
{
	struct course_table t;
	course_table_init(&t);
	enum { N = 40, THREADS = 4 };
	char code[32];
	for (int i = 0; i < N; i++) {
		snprintf(code, sizeof(code), "K%d", i);
		add_ok(&t, code, "", i);
	}
	struct suggester s[THREADS];
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		s[i] = (struct suggester){ &t, 0 };
		th[i] = start_thread(suggest_all, &s[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		join_thread(th[i]);
		ck_assert_int_eq(s[i].right, N * 50);
	}
	course_table_free(&t);
}
END_TEST

/* ---- course codes ------------------------------------------------------- */

START_TEST(test_code_accepts_allowed_characters)
{
	ck_assert(id_valid("CS101", 5));
	ck_assert(id_valid("a", 1));
	ck_assert(id_valid("Math-2.b_x", 10));
	ck_assert(id_valid("AZaz09._-", 9));
}
END_TEST

START_TEST(test_code_length_bounds)
{
	char code[COURSE_CODE_MAX + 2];
	memset(code, 'X', sizeof(code));
	ck_assert(!id_valid(code, 0));
	ck_assert(id_valid(code, COURSE_CODE_MAX));
	ck_assert(!id_valid(code, COURSE_CODE_MAX + 1));
}
END_TEST

/* Codes are ids (issue 12): what SIS exports use is valid; control,
 * invisible and format characters and spaces at the ends are not. */
START_TEST(test_code_rejects_other_characters)
{
	const char *bad[] = { "CS\t1", "CS\x7F", "CS\xC2\x85", " CS", "CS ",
			      "CS\xE2\x80\x8B", "\xE2\x80\xAE" "CS", "CS\xC2\xA0" "1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!id_valid(bad[i], strlen(bad[i])),
			      "accepted %s", bad[i]);
	const char *good[] = { "CS 101", "CS/101", "Phys 100 - 1", "1\xC3\xA9",
			       "8f14e45f-ceea-467f-a8f2-7b1d0c3e9a12", "-X1" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(id_valid(good[i], strlen(good[i])),
			      "refused %s", good[i]);
	char longest[COURSE_CODE_MAX + 2];
	memset(longest, 'C', sizeof(longest));
	ck_assert(id_valid(longest, 255));
	ck_assert(!id_valid(longest, 256));
}
END_TEST

START_TEST(test_code_rejects_embedded_nul)
{
	ck_assert(!id_valid("CS\0" "1", 4));
}
END_TEST

static Suite *courses_suite(void)
{
	Suite *s = suite_create("courses");
	TCase *tc = tcase_create("table");
	tcase_add_test(tc, test_empty_table_finds_nothing);
	tcase_add_test(tc, test_add_then_find_returns_copy);
	tcase_add_test(tc, test_title_is_owned_by_table);
	tcase_add_test(tc, test_null_title_becomes_empty);
	tcase_add_test(tc, test_duplicate_code_is_input_error_and_table_unchanged);
	tcase_add_test(tc, test_find_is_case_sensitive);
	tcase_add_test(tc, test_find_uses_length_not_terminator);
	tcase_add_test(tc, test_find_overlong_code_returns_null);
	tcase_add_test(tc, test_many_courses_grow_and_stay_findable);
	tcase_add_test(tc, test_items_keep_insertion_order);
	tcase_add_test(tc, test_free_leaves_reusable_empty_table);
	tcase_add_test(tc, test_concurrent_finds_agree);
	suite_add_tcase(s, tc);

	tc = tcase_create("did you mean");
	tcase_add_test(tc, test_suggest_equal_but_for_case_first);
	tcase_add_test(tc, test_suggest_names_every_code_as_near);
	tcase_add_test(tc, test_suggest_not_when_most_of_the_code_differs);
	tcase_add_test(tc, test_suggest_near_misses_within_two_edits);
	tcase_add_test(tc, test_suggest_memo_answers_the_same_and_follows_adds);
	tcase_add_test(tc, test_suggest_from_many_threads);
	suite_add_tcase(s, tc);

	tc = tcase_create("codes");
	tcase_add_test(tc, test_code_accepts_allowed_characters);
	tcase_add_test(tc, test_code_length_bounds);
	tcase_add_test(tc, test_code_rejects_other_characters);
	tcase_add_test(tc, test_code_rejects_embedded_nul);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(courses_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
