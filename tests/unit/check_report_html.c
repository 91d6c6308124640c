/* check_report_html: the html page's escaping and its list bounds. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_html.h"

/* ---- escaping -------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len;
};

static int to_sbuf(void *ctx, const char *p, size_t n)
{
	struct sbuf *b = ctx;
	char *q = realloc(b->p, b->len + n + 1);
	if (!q)
		return -1;
	memcpy(q + b->len, p, n);
	b->p = q;
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* The escaped form of s[0..len); the caller frees it. */
static char *esc(const char *s, size_t len, bool markup)
{
	struct sbuf b = { calloc(1, 1), 0 };
	ck_assert_int_eq(html_write_escaped(to_sbuf, &b, s, len, markup), 0);
	return b.p;
}

static void expect_esc(const char *in, const char *want)
{
	char *got = esc(in, strlen(in), true);
	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_markup_characters_become_entities)
{
	expect_esc("<script>alert(1)</script>",
		   "&lt;script&gt;alert(1)&lt;/script&gt;");
	expect_esc("a & b", "a &amp; b");
	expect_esc("\"q\" 'a'", "&quot;q&quot; &#39;a&#39;");
	expect_esc("&amp;", "&amp;amp;");
}
END_TEST

START_TEST(test_plain_text_and_letters_pass_as_they_are)
{
	expect_esc("S1001 Jos\xC3\xA9 \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D",
		   "S1001 Jos\xC3\xA9 \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D");
	expect_esc("", "");
}
END_TEST

START_TEST(test_bidi_and_invisible_characters_are_shown_as_codes)
{
	expect_esc("a\xE2\x80\xAE" "b", /* U+202E RIGHT-TO-LEFT OVERRIDE */
		   "a<span class=\"cp\" data-cp=\"202E\">U+202E</span>b");
	expect_esc("\xE2\x80\x8B", /* U+200B ZERO WIDTH SPACE */
		   "<span class=\"cp\" data-cp=\"200B\">U+200B</span>");
	expect_esc("\xF3\xA0\x80\x81", /* U+E0001 LANGUAGE TAG */
		   "<span class=\"cp\" data-cp=\"E0001\">U+E0001</span>");
	expect_esc("\xC2\xA0", /* U+00A0 NO-BREAK SPACE */
		   "<span class=\"cp\" data-cp=\"00A0\">U+00A0</span>");
	expect_esc("\x1B[31m", "<span class=\"cp\" data-cp=\"001B\">U+001B</span>[31m");
	expect_esc("a\tb\n", "a<span class=\"cp\" data-cp=\"0009\">U+0009</span>b"
			     "<span class=\"cp\" data-cp=\"000A\">U+000A</span>");
}
END_TEST

START_TEST(test_in_an_attribute_codes_are_plain_text)
{
	char *got = esc("x\xE2\x80\xAE\"y", 6, false);
	ck_assert_str_eq(got, "xU+202E&quot;y");
	free(got);
}
END_TEST

START_TEST(test_invalid_utf8_and_nul_become_replacement_characters)
{
	char *got = esc("a\xFF" "b\0c\xE2\x82", 7, true);
	ck_assert_str_eq(got, "a&#xFFFD;b&#xFFFD;c&#xFFFD;&#xFFFD;");
	free(got);
}
END_TEST

static int failing_sink(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	errno = ENOSPC;
	return -1;
}

START_TEST(test_a_failed_write_is_reported)
{
	errno = 0;
	ck_assert_int_eq(html_write_escaped(failing_sink, NULL, "x", 1, true), -1);
	ck_assert_int_eq(errno, ENOSPC);
}
END_TEST

/* ---- the list bounds -------------------------------------------------------- */

static struct row make_row(uint64_t line, enum row_status st)
{
	struct row row;
	memset(&row, 0, sizeof(row));
	row.line = line;
	row.status = st;
	row.reason = st == STATUS_REJECTED ? REASON_UNKNOWN_COURSE : REASON_NONE;
	snprintf(row.v[FIELD_STUDENT_ID].text, sizeof(row.v[0].text), "S%llu",
		 (unsigned long long)line);
	row.v[FIELD_STUDENT_ID].len = (uint32_t)strlen(row.v[FIELD_STUDENT_ID].text);
	strcpy(row.v[FIELD_COURSE].text, "C1");
	row.v[FIELD_COURSE].len = 2;
	return row;
}

START_TEST(test_every_row_list_stops_at_the_bound_rejected_rows_go_on)
{
	struct report_html *h;
	struct error err;
	char buf[REPORT_HTML_RECORD_MAX];
	size_t len;
	ck_assert_int_eq(report_html_new(&h, &err), ST_OK);
	for (uint64_t i = 0; i < REPORT_HTML_ROWS_MAX; i++) {
		struct row row = make_row(i + 2, STATUS_REGISTERED);
		ck_assert_int_eq(report_html_record(h, &row, buf, sizeof(buf), &len,
						    &err), ST_OK);
		ck_assert_uint_gt(len, 0);
	}
	/* Past the bound a row that lists nowhere is not kept; a rejected
	 * one still goes to its reason's list. */
	struct row ok = make_row(REPORT_HTML_ROWS_MAX + 2, STATUS_REGISTERED);
	ck_assert_int_eq(report_html_record(h, &ok, buf, sizeof(buf), &len, &err),
			 ST_OK);
	ck_assert_uint_eq(len, 0);
	struct row bad = make_row(REPORT_HTML_ROWS_MAX + 3, STATUS_REJECTED);
	ck_assert_int_eq(report_html_record(h, &bad, buf, sizeof(buf), &len, &err),
			 ST_OK);
	ck_assert_uint_gt(len, 0);
	report_html_free(h);
}
END_TEST

static Suite *report_html_suite(void)
{
	Suite *s = suite_create("report_html");
	TCase *tc = tcase_create("escaping");
	tcase_add_test(tc, test_markup_characters_become_entities);
	tcase_add_test(tc, test_plain_text_and_letters_pass_as_they_are);
	tcase_add_test(tc, test_bidi_and_invisible_characters_are_shown_as_codes);
	tcase_add_test(tc, test_in_an_attribute_codes_are_plain_text);
	tcase_add_test(tc, test_invalid_utf8_and_nul_become_replacement_characters);
	tcase_add_test(tc, test_a_failed_write_is_reported);
	suite_add_tcase(s, tc);
	tc = tcase_create("bounds");
	tcase_add_test(tc, test_every_row_list_stops_at_the_bound_rejected_rows_go_on);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(report_html_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
