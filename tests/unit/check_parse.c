/* check_parse: the one strict parser of whole numbers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "register.h"

static enum parse_result parse(const char *s, int64_t min, int64_t max,
			       int64_t *out)
{
	return parse_int64_n(s, strlen(s), min, max, out);
}

START_TEST(test_whole_numbers_in_range)
{
	int64_t v = -1;
	ck_assert_int_eq(parse("0", 0, 10, &v), PARSE_OK);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(parse("10", 0, 10, &v), PARSE_OK);
	ck_assert_int_eq(v, 10);
	ck_assert_int_eq(parse("-3", -5, 5, &v), PARSE_OK);
	ck_assert_int_eq(v, -3);
	ck_assert_int_eq(parse("007", 0, 10, &v), PARSE_OK);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(parse("9223372036854775807", 0, INT64_MAX, &v), PARSE_OK);
	ck_assert(v == INT64_MAX);
	ck_assert_int_eq(parse("-9223372036854775808", INT64_MIN, 0, &v), PARSE_OK);
	ck_assert(v == INT64_MIN);
}
END_TEST

START_TEST(test_anything_else_is_syntax)
{
	static const char *const bad[] = {
		"", "-", "+1", " 1", "1 ", "1\n", "0x10", "1e3", "1.5", "--1",
		"1-", "ten", "\xEF\xBC\x91", /* a fullwidth digit one */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = 42;
		ck_assert_msg(parse(bad[i], INT64_MIN, INT64_MAX, &v) == PARSE_SYNTAX,
			      "'%s'", bad[i]);
		ck_assert_int_eq(v, 42); /* untouched */
	}
	int64_t v;
	ck_assert_int_eq(parse_int64_n(NULL, 0, 0, 1, &v), PARSE_SYNTAX);
	ck_assert(!parse_int64(NULL, 0, 1, &v));
}
END_TEST

START_TEST(test_out_of_range_is_range)
{
	int64_t v = 42;
	ck_assert_int_eq(parse("11", 0, 10, &v), PARSE_RANGE);
	ck_assert_int_eq(parse("-1", 0, 10, &v), PARSE_RANGE);
	ck_assert_int_eq(parse("9223372036854775808", 0, INT64_MAX, &v), PARSE_RANGE);
	ck_assert_int_eq(parse("-9223372036854775809", INT64_MIN, 0, &v), PARSE_RANGE);
	ck_assert_int_eq(parse("99999999999999999999999", 0, INT64_MAX, &v),
			 PARSE_RANGE);
	ck_assert_int_eq(v, 42);
}
END_TEST

START_TEST(test_length_bounds_the_text)
{
	int64_t v;
	/* Not NUL-terminated where it ends: a field of a bigger buffer. */
	ck_assert_int_eq(parse_int64_n("12,34", 2, 0, 100, &v), PARSE_OK);
	ck_assert_int_eq(v, 12);
	ck_assert_int_eq(parse_int64_n("12,34", 3, 0, 100, &v), PARSE_SYNTAX);
	ck_assert(parse_int64("5", 1, 5, &v));
	ck_assert(!parse_int64("6", 1, 5, &v));
}
END_TEST

/* --max-rejects / --max-drops P%: "more than P percent, no rounding",
 * against exact integer arithmetic for every one-decimal P (review 18,
 * A1: 69 of 375 is exactly 18.4%, which a double called more). */
START_TEST(test_threshold_percent_is_exact)
{
	char text[16];
	struct threshold t;
	for (int p10 = 0; p10 <= 1000; p10++) {
		snprintf(text, sizeof(text), "%d.%d%%", p10 / 10, p10 % 10);
		ck_assert_msg(threshold_parse(text, &t), "%s refused", text);
		/* Either side of the boundary: the most rows P% allows, and
		 * one more. */
		for (int64_t total = 0; total <= 400; total++) {
			int64_t most = p10 * total / 1000;
			if (threshold_exceeded(&t, most, total) ||
			    (most < total && !threshold_exceeded(&t, most + 1, total)))
				ck_abort_msg("%s: %lld of %lld", text,
					     (long long)most, (long long)total);
		}
	}
	ck_assert(threshold_parse("18.4%", &t));
	ck_assert(!threshold_exceeded(&t, 69, 375));
	ck_assert(threshold_exceeded(&t, 70, 375));
	ck_assert(threshold_parse("99.95%", &t));
	ck_assert(!threshold_exceeded(&t, 1999, 2000));
	ck_assert(threshold_exceeded(&t, 19991, 20000));
	ck_assert(threshold_parse("100%", &t));
	ck_assert(!threshold_exceeded(&t, INT64_MAX / 2, INT64_MAX / 2));
}
END_TEST

START_TEST(test_threshold_counts_and_refusals)
{
	struct threshold t;
	ck_assert(threshold_parse("0", &t));
	ck_assert(!threshold_exceeded(&t, 0, 10) && threshold_exceeded(&t, 1, 10));
	ck_assert(threshold_parse("5", &t));
	ck_assert(!threshold_exceeded(&t, 5, 5) && threshold_exceeded(&t, 6, 1000));
	ck_assert(threshold_parse("999999999999999", &t));
	ck_assert(!threshold_exceeded(&t, 999999999999999, 0));
	static const char *const bad[] = {"", "%", "101%", "100.1%", "-1", "+1",
		"1e2", "0x10", "5.", "5.%", ".5%", "12.5", "1 %", " 1", "1%%",
		"1234567890123456", "1.234567890123456%", "nan", "inf%"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!threshold_parse(bad[i], &t), "'%s' taken", bad[i]);
	struct threshold unset = {0};
	ck_assert(!threshold_exceeded(&unset, 100, 1));
}
END_TEST

static Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("int64");
	tcase_add_test(tc, test_whole_numbers_in_range);
	tcase_add_test(tc, test_anything_else_is_syntax);
	tcase_add_test(tc, test_out_of_range_is_range);
	tcase_add_test(tc, test_length_bounds_the_text);
	suite_add_tcase(s, tc);
	tc = tcase_create("threshold");
	tcase_add_test(tc, test_threshold_percent_is_exact);
	tcase_add_test(tc, test_threshold_counts_and_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(parse_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
