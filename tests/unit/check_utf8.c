/* check_utf8: strict UTF-8 validation, whole and incremental. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "utf8.h"

/* Validates `len` bytes, and checks the incremental API agrees whether fed
 * at once or one byte at a time. */
static bool valid_n(const char *s, size_t len, size_t *bad)
{
	const unsigned char *u = (const unsigned char *)s;
	bool whole = utf8_valid(u, len, bad);

	struct utf8_state st;
	utf8_state_init(&st);
	utf8_state_feed(&st, u, len);
	ck_assert_int_eq(utf8_state_ok(&st), whole);

	utf8_state_init(&st);
	for (size_t i = 0; i < len; i++)
		utf8_state_feed(&st, u + i, 1);
	ck_assert_int_eq(utf8_state_ok(&st), whole);
	return whole;
}

static bool valid(const char *s)
{
	return valid_n(s, strlen(s), NULL);
}

static size_t bad_at(const char *s, size_t len)
{
	size_t off = (size_t)-1;
	ck_assert(!valid_n(s, len, &off));
	return off;
}

START_TEST(empty_is_valid)
{
	ck_assert(valid_n("", 0, NULL));
}
END_TEST

START_TEST(ascii_is_valid)
{
	ck_assert(valid("hello, world"));
	ck_assert(valid("\x01\x7f tab\there"));
}
END_TEST

START_TEST(well_formed_multibyte_is_valid)
{
	ck_assert(valid("caf\xc3\xa9"));                 /* U+00E9 */
	ck_assert(valid("\xc2\x80"));                    /* U+0080 */
	ck_assert(valid("\xdf\xbf"));                    /* U+07FF */
	ck_assert(valid("\xe0\xa0\x80"));                /* U+0800 */
	ck_assert(valid("\xe2\x82\xac"));                /* U+20AC */
	ck_assert(valid("\xed\x9f\xbf"));                /* U+D7FF */
	ck_assert(valid("\xee\x80\x80"));                /* U+E000 */
	ck_assert(valid("\xef\xbf\xbf"));                /* U+FFFF */
	ck_assert(valid("\xf0\x90\x80\x80"));            /* U+10000 */
	ck_assert(valid("\xf4\x8f\xbf\xbf"));            /* U+10FFFF */
	ck_assert(valid("Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"));
}
END_TEST

START_TEST(nul_byte_is_rejected)
{
	ck_assert_uint_eq(bad_at("ab\0cd", 5), 2);
	ck_assert_uint_eq(bad_at("\0", 1), 0);
	/* past the word-at-a-time fast path too */
	ck_assert_uint_eq(bad_at("abcdefghijk\0", 12), 11);
	ck_assert_uint_eq(bad_at("abcdefg\0ijklmnop", 16), 7);
}
END_TEST

START_TEST(overlong_two_byte_forms_are_rejected)
{
	ck_assert_uint_eq(bad_at("\xc0\x80", 2), 0);
	ck_assert_uint_eq(bad_at("a\xc0\xaf", 3), 1);
	ck_assert_uint_eq(bad_at("\xc1\xbf", 2), 0);
}
END_TEST

START_TEST(overlong_three_and_four_byte_forms_are_rejected)
{
	ck_assert_uint_eq(bad_at("\xe0\x80\x80", 3), 0);
	ck_assert_uint_eq(bad_at("\xe0\x9f\xbf", 3), 0);
	ck_assert_uint_eq(bad_at("\xf0\x80\x80\x80", 4), 0);
	ck_assert_uint_eq(bad_at("\xf0\x8f\xbf\xbf", 4), 0);
}
END_TEST

START_TEST(surrogates_are_rejected)
{
	ck_assert_uint_eq(bad_at("\xed\xa0\x80", 3), 0);  /* U+D800 */
	ck_assert_uint_eq(bad_at("x\xed\xbf\xbf", 4), 1); /* U+DFFF */
	ck_assert_uint_eq(bad_at("\xed\xa0\xbd\xed\xb2\xa9", 6), 0); /* CESU pair */
}
END_TEST

START_TEST(above_u10ffff_is_rejected)
{
	ck_assert_uint_eq(bad_at("\xf4\x90\x80\x80", 4), 0);
	ck_assert_uint_eq(bad_at("\xf5\x80\x80\x80", 4), 0);
	ck_assert_uint_eq(bad_at("\xf7\xbf\xbf\xbf", 4), 0);
	ck_assert_uint_eq(bad_at("\xf8\x88\x80\x80\x80", 5), 0);
	ck_assert_uint_eq(bad_at("\xff", 1), 0);
	ck_assert_uint_eq(bad_at("\xfe", 1), 0);
}
END_TEST

START_TEST(truncated_sequences_are_rejected)
{
	ck_assert_uint_eq(bad_at("ab\xc3", 3), 2);
	ck_assert_uint_eq(bad_at("\xe2\x82", 2), 0);
	ck_assert_uint_eq(bad_at("\xf0\x9f\x98", 3), 0);
	ck_assert_uint_eq(bad_at("\xe2\x82x", 3), 0); /* cut short by ASCII */
	ck_assert_uint_eq(bad_at("\xc3\xc3\xa9", 3), 0);
}
END_TEST

START_TEST(stray_continuation_bytes_are_rejected)
{
	ck_assert_uint_eq(bad_at("\x80", 1), 0);
	ck_assert_uint_eq(bad_at("abc\xbf", 4), 3);
	ck_assert_uint_eq(bad_at("\xc3\xa9\xa9", 3), 2);
}
END_TEST

START_TEST(bad_offset_is_found_after_long_ascii_run)
{
	char s[300];
	memset(s, 'a', sizeof(s));
	s[257] = (char)0xff;
	ck_assert_uint_eq(bad_at(s, sizeof(s)), 257);
}
END_TEST

START_TEST(every_two_byte_lead_is_classified)
{
	for (int lead = 0x80; lead <= 0xff; lead++) {
		char s[2] = {(char)lead, (char)0x80};
		bool expect = lead >= 0xc2 && lead <= 0xdf;
		ck_assert_msg(valid_n(s, 2, NULL) == expect, "lead %#x", lead);
	}
}
END_TEST

START_TEST(incremental_state_spans_pieces)
{
	const unsigned char euro[] = {0xe2, 0x82, 0xac};
	struct utf8_state st;

	utf8_state_init(&st);
	utf8_state_feed(&st, euro, 1);
	ck_assert(!utf8_state_ok(&st)); /* incomplete so far */
	utf8_state_feed(&st, euro + 1, 2);
	ck_assert(utf8_state_ok(&st));

	/* Once bad, always bad. */
	utf8_state_feed(&st, (const unsigned char *)"\xff", 1);
	ck_assert(!utf8_state_ok(&st));
	utf8_state_feed(&st, (const unsigned char *)"ok", 2);
	ck_assert(!utf8_state_ok(&st));
}
END_TEST

START_TEST(incremental_state_rejects_split_surrogate)
{
	struct utf8_state st;
	utf8_state_init(&st);
	utf8_state_feed(&st, (const unsigned char *)"\xed", 1);
	utf8_state_feed(&st, (const unsigned char *)"\xa0", 1);
	utf8_state_feed(&st, (const unsigned char *)"\x80", 1);
	ck_assert(!utf8_state_ok(&st));
}
END_TEST

/* Review 16, A4: every invisible class the Unicode data names, at the
 * ends of each range, and the visible characters beside them. */
START_TEST(invisible_follows_the_unicode_data)
{
	static const uint32_t invisible[] = {
		0x00A0, 0x00AD, 0x034F, 0x0600, 0x061C, 0x115F, 0x1160,
		0x1680,                   /* OGHAM SPACE MARK: Zs */
		0x17B4, 0x180B, 0x180E, 0x180F, 0x2000, 0x200B, 0x200F,
		0x2028, 0x2029, 0x202F, 0x205F, 0x2060, 0x2065, 0x206F,
		0x2800,                   /* BRAILLE PATTERN BLANK */
		0x3000, 0x3164, 0xFE00, 0xFE0F, 0xFEFF, 0xFFA0,
		0xFFF0, 0xFFF8, 0xFFF9, 0xFFFB, 0x110BD, 0x13430,
		0x1BCA0, 0x1BCA3,         /* shorthand format controls: Cf */
		0x1D173, 0x1D17A, 0xE0000, 0xE0001, 0xE007F,
		0xE0100, 0xE01EF,         /* variation selectors 17..256 */
		0xE0FFF,
	};
	static const uint32_t visible[] = {
		0x0020, 'A', '~', 0x00A1, 0x00AC, 0x00AE, 0x00E9, 0x034E,
		0x0350, 0x05FF, 0x0606, 0x0627, 0x115E, 0x1161, 0x167F,
		0x1681, 0x17B3, 0x17B6, 0x180A, 0x1810, 0x1FFF, 0x2010,
		0x2013, 0x2027, 0x2030, 0x205E, 0x2070, 0x20AC, 0x27FF,
		0x2801, 0x2FFF, 0x3001, 0x3163, 0x3165, 0x4E2D, 0xAC00,
		0xFDFF, 0xFE10, 0xFEFE, 0xFF21, 0xFF9F, 0xFFA1, 0xFFEF,
		0xFFFC, 0xFFFD, 0x1BC9F, 0x1BCA4, 0x1D172, 0x1D17B,
		0x1F600, 0xDFFFF, 0xE1000, 0x10FFFF,
	};
	for (size_t i = 0; i < sizeof(invisible) / sizeof(invisible[0]); i++)
		ck_assert_msg(utf8_is_invisible(invisible[i]), "U+%04X",
			      (unsigned)invisible[i]);
	for (size_t i = 0; i < sizeof(visible) / sizeof(visible[0]); i++)
		ck_assert_msg(!utf8_is_invisible(visible[i]), "U+%04X",
			      (unsigned)visible[i]);
	for (uint32_t cp = 0; cp < 0xA0; cp++)
		ck_assert(!utf8_is_invisible(cp));
}
END_TEST

static Suite *utf8_suite(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, empty_is_valid);
	tcase_add_test(tc, ascii_is_valid);
	tcase_add_test(tc, well_formed_multibyte_is_valid);
	tcase_add_test(tc, nul_byte_is_rejected);
	tcase_add_test(tc, overlong_two_byte_forms_are_rejected);
	tcase_add_test(tc, overlong_three_and_four_byte_forms_are_rejected);
	tcase_add_test(tc, surrogates_are_rejected);
	tcase_add_test(tc, above_u10ffff_is_rejected);
	tcase_add_test(tc, truncated_sequences_are_rejected);
	tcase_add_test(tc, stray_continuation_bytes_are_rejected);
	tcase_add_test(tc, bad_offset_is_found_after_long_ascii_run);
	tcase_add_test(tc, every_two_byte_lead_is_classified);
	tcase_add_test(tc, incremental_state_spans_pieces);
	tcase_add_test(tc, incremental_state_rejects_split_surrogate);
	tcase_add_test(tc, invisible_follows_the_unicode_data);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(utf8_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
