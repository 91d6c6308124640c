/* check_escape: the one escaping of csv, json and terminal text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

static char out[4096];

static const char *text(const char *s, size_t max_cols, bool value)
{
	size_t cols;
	size_t n = esc_text(out, s, strlen(s), max_cols, value, &cols);
	out[n] = '\0';
	return out;
}

/* Every class of invisible character is shown by code point, tag
 * characters (past U+FFFF) included: issue 13's misaligned table. */
START_TEST(test_invisible_characters_by_code_point)
{
	ck_assert_str_eq(text("a\xF3\xA0\x81\x81" "b", 0, true), "a\\U000e0041b");
	ck_assert_str_eq(text("\xF3\xA0\x80\x81", 0, true), "\\U000e0001");
	ck_assert_str_eq(text("\xF3\xA0\x81\xBF", 0, true), "\\U000e007f");
	ck_assert_str_eq(text("x\xE2\x80\x8B", 0, true), "x\\u200b");   /* ZWSP */
	ck_assert_str_eq(text("\xC2\xA0", 0, true), "\\u00a0");          /* NBSP */
	ck_assert_str_eq(text("\xC2\xAD", 0, true), "\\u00ad");          /* SHY */
	ck_assert_str_eq(text("\xE2\x80\xAE", 0, true), "\\u202e");      /* RLO */
	ck_assert_str_eq(text("\xE2\x81\xA0", 0, true), "\\u2060");      /* WJ */
	ck_assert_str_eq(text("\xEF\xBB\xBF", 0, true), "\\ufeff");      /* BOM */
	ck_assert_str_eq(text("\xE3\x80\x80", 0, true), "\\u3000");
	ck_assert_str_eq(text("\xC2\x85", 0, true), "\\u0085");          /* C1 */
	/* Review 16, A4: variation selectors, Ogham space, braille blank,
	 * shorthand format controls. */
	ck_assert_str_eq(text("X\xEF\xB8\x8F" "1", 0, true), "X\\ufe0f1");
	ck_assert_str_eq(text("X\xF3\xA0\x84\x80" "1", 0, true), "X\\U000e01001");
	ck_assert_str_eq(text("X\xE1\x9A\x80" "1", 0, true), "X\\u16801");
	ck_assert_str_eq(text("X\xE2\xA0\x80" "1", 0, true), "X\\u28001");
	ck_assert_str_eq(text("X\xF0\x9B\xB2\xA0" "1", 0, true), "X\\U0001bca01");
	/* Other characters past U+FFFF are shown as they are. */
	ck_assert_str_eq(text("\xF0\x9F\x98\x80", 0, true), "\xF0\x9F\x98\x80");
}
END_TEST

START_TEST(test_controls_and_bad_bytes_by_byte)
{
	ck_assert_str_eq(text("a\x1b[2J\x7f", 0, true), "a\\x1b[2J\\x7f");
	ck_assert_str_eq(text("bad\xFF\xC3(", 0, true), "bad\\xff\\xc3(");
	ck_assert_str_eq(text("a\\x1b", 0, true), "a\\\\x1b");
	ck_assert_str_eq(text("a\\x1b", 0, false), "a\\x1b");
}
END_TEST

START_TEST(test_columns_and_cuts)
{
	ck_assert_uint_eq(esc_text_cols("S1\xF3\xA0\x81\x81", 6, true), 12);
	ck_assert_uint_eq(esc_text_cols("Zo\xC3\xAB", 4, true), 3);
	size_t cols;
	size_t n = esc_text(out, "ABCDEFGHIJ\xE2\x80\x8B", 13, 8, true, &cols);
	out[n] = '\0';
	ck_assert_str_eq(out, "ABCDE...");
	ck_assert_uint_eq(cols, 8);
	/* An escape is never split by a cut. */
	n = esc_text(out, "AB\xE2\x80\x8B" "CDEFGH", 11, 7, true, &cols);
	out[n] = '\0';
	ck_assert_str_eq(out, "AB...");
	ck_assert_uint_eq(cols, 5);
}
END_TEST

/* Wide (CJK) characters take two columns and combining marks none, so
 * the text listings stay aligned; a cut never splits a wide character. */
START_TEST(test_wide_and_combining_columns)
{
	/* 学生1: two wide characters and a digit. */
	ck_assert_uint_eq(esc_text_cols("\xE5\xAD\xA6\xE7\x94\x9F" "1", 7, true),
			  5);
	/* e + COMBINING ACUTE ACCENT: one column. */
	ck_assert_uint_eq(esc_text_cols("e\xCC\x81", 3, true), 1);
	/* Hangul syllable, fullwidth A: two each. */
	ck_assert_uint_eq(esc_text_cols("\xEA\xB0\x80\xEF\xBC\xA1", 6, true), 4);
	size_t cols;
	/* Six wide characters (12 columns) cut to 8: two of them and "...",
	 * 7 columns, since a third would make 9. */
	const char *six = "\xE5\xAD\xA6\xE5\xAD\xA6\xE5\xAD\xA6"
			  "\xE5\xAD\xA6\xE5\xAD\xA6\xE5\xAD\xA6";
	size_t n = esc_text(out, six, strlen(six), 8, true, &cols);
	out[n] = '\0';
	ck_assert_str_eq(out, "\xE5\xAD\xA6\xE5\xAD\xA6...");
	ck_assert_uint_eq(cols, 7);
	ck_assert_uint_eq(text_value_width(six, strlen(six), 0), 12);
}
END_TEST

START_TEST(test_csv_and_json)
{
	size_t n = esc_csv(out, "=1+1", 4);
	ck_assert_int_eq(memcmp(out, "'=1+1", n), 0);
	n = esc_csv(out, "a,\"b\"", 5);
	out[n] = '\0';
	ck_assert_str_eq(out, "\"a,\"\"b\"\"\"");
	n = esc_csv(out, "x\0y\xFF", 4);
	out[n] = '\0';
	ck_assert_str_eq(out, "x\xEF\xBF\xBDy\xEF\xBF\xBD");
	n = esc_json(out, "a\"\\\x01\xE2\x80\xA8\xF3\xA0\x81\x81", 11);
	out[n] = '\0';
	/* JSON keeps the characters: only what JSON needs is escaped. */
	ck_assert_str_eq(out, "\"a\\\"\\\\\\u0001\\u2028\xF3\xA0\x81\x81\"");
}
END_TEST

START_TEST(test_quote_for_messages)
{
	char q[64];
	size_t used = 0;
	q[0] = '\0';
	esc_quote(q, sizeof(q), &used, "OPEN\xF3\xA0\x81\x81", 8, 40);
	ck_assert_str_eq(q, "'OPEN\\U000e0041'");
	used = 0;
	esc_quote(q, sizeof(q), &used, "abc\xC3\xA9" "def", 8, 4);
	ck_assert_str_eq(q, "'abc...'");
	/* A small buffer: cut, closed and terminated. */
	used = 0;
	esc_quote(q, 10, &used, "abcdefghijklmnop", 16, 40);
	ck_assert_uint_lt(used, 10);
	ck_assert_uint_eq(strlen(q), used);
	ck_assert_int_eq(q[used - 1], '\'');
}
END_TEST

static Suite *escape_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("escape");
	tcase_add_test(tc, test_invisible_characters_by_code_point);
	tcase_add_test(tc, test_controls_and_bad_bytes_by_byte);
	tcase_add_test(tc, test_columns_and_cuts);
	tcase_add_test(tc, test_wide_and_combining_columns);
	tcase_add_test(tc, test_csv_and_json);
	tcase_add_test(tc, test_quote_for_messages);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(escape_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
