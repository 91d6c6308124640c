/* check_parse: the one strict parser of whole numbers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

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

static Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("int64");
	tcase_add_test(tc, test_whole_numbers_in_range);
	tcase_add_test(tc, test_anything_else_is_syntax);
	tcase_add_test(tc, test_out_of_range_is_range);
	tcase_add_test(tc, test_length_bounds_the_text);
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
