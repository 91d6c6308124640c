/* check_validate: the per-row checks, each reason and their order. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "courses.h"
#include "testutil.h"
#include "validate.h"

static struct course_table courses;

static void setup(void)
{
	static const char *const codes[] = {"MATH-101", "CS.2", "bio_3"};
	struct error err;
	course_table_init(&courses);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct course c = {.id = (int64_t)i + 1, .capacity = 10,
				   .waitlist_max = WAITLIST_UNLIMITED};
		strcpy(c.code, codes[i]);
		c.title = "A course";
		ck_assert_int_eq(course_table_add(&courses, &c, &err), ST_OK);
	}
}

static void teardown(void)
{
	course_table_free(&courses);
}

static void set(struct row *row, enum row_field f, const char *s, size_t len)
{
	size_t keep = len < ROW_VALUE_MAX ? len : ROW_VALUE_MAX;
	memcpy(row->v[f].text, s, keep);
	row->v[f].text[keep] = '\0';
	row->v[f].len = (uint32_t)len;
	row->present |= 1u << f;
}

static void set_str(struct row *row, enum row_field f, const char *s)
{
	set(row, f, s, strlen(s));
}

/* A valid five-column row; tests spoil one thing at a time. */
static struct row good_row(void)
{
	struct row row;
	memset(&row, 0, sizeof(row));
	row.line = 2;
	row.nfields = 5;
	set_str(&row, FIELD_STUDENT_ID, "s-001");
	set_str(&row, FIELD_FIRST_NAME, "Zo\xC3\xAB");
	set_str(&row, FIELD_LAST_NAME, "Lee");
	set_str(&row, FIELD_EMAIL, "zoe.lee@example.edu");
	set_str(&row, FIELD_COURSE, "MATH-101");
	return row;
}

static void expect_reject(struct row *row, enum row_reason reason,
			  const char *detail)
{
	ck_assert(!validate_row(row, 5, &courses));
	ck_assert_int_eq(row->status, STATUS_REJECTED);
	ck_assert_msg(row->reason == reason, "reason %s, want %s (%s)",
		      row_reason_name(row->reason), row_reason_name(reason),
		      row->detail);
	ck_assert_msg(strstr(row->detail, detail), "detail '%s' lacks '%s'",
		      row->detail, detail);
	ck_assert_ptr_null(row->course);
}

/* A value of `len` copies of `c`. */
static void set_repeated(struct row *row, enum row_field f, char c, size_t len)
{
	char *s = malloc(len + 1);
	memset(s, c, len);
	set(row, f, s, len);
	free(s);
}

/* ---- success ------------------------------------------------------------ */

START_TEST(valid_row_passes_and_finds_its_course)
{
	struct row row = good_row();
	ck_assert(validate_row(&row, 5, &courses));
	ck_assert_ptr_nonnull(row.course);
	ck_assert_str_eq(row.course->code, "MATH-101");
	ck_assert_int_eq(row.status, STATUS_NONE);
	ck_assert_int_eq(row.reason, REASON_NONE);
}
END_TEST

START_TEST(names_are_optional)
{
	struct row row = good_row();
	row.present &= ~(1u << FIELD_FIRST_NAME);
	set_str(&row, FIELD_LAST_NAME, "");
	ck_assert(validate_row(&row, 5, &courses));
}
END_TEST

START_TEST(details_name_a_fields_label)
{
	struct row row = good_row();
	set_str(&row, FIELD_STUDENT_ID, "");
	row.label[FIELD_STUDENT_ID] = "user_id (student_id)";
	expect_reject(&row, REASON_MISSING_STUDENT_ID, "user_id (student_id) is empty");
	row = good_row();
	set_str(&row, FIELD_EMAIL, "nope");
	row.label[FIELD_EMAIL] = "email (from users.csv)";
	expect_reject(&row, REASON_INVALID_EMAIL, "email (from users.csv): no '@'");
	row = good_row();
	set_str(&row, FIELD_COURSE, "");
	expect_reject(&row, REASON_MISSING_COURSE, "course is empty");
}
END_TEST

/* ---- malformed_row -------------------------------------------------------- */

START_TEST(field_count_must_match_header)
{
	struct row row = good_row();
	row.nfields = 3;
	expect_reject(&row, REASON_MALFORMED_ROW, "3 fields, the header has 5");
	row = good_row();
	row.nfields = 6;
	expect_reject(&row, REASON_MALFORMED_ROW, "6 fields, the header has 5");
	row = good_row();
	row.nfields = 1;
	expect_reject(&row, REASON_MALFORMED_ROW, "1 field, the header has 5");
}
END_TEST

START_TEST(malformed_row_comes_before_everything)
{
	struct row row = good_row();
	row.nfields = 4;
	set(&row, FIELD_FIRST_NAME, "\xC0\xAF", 2);
	set_str(&row, FIELD_EMAIL, "");
	expect_reject(&row, REASON_MALFORMED_ROW, "4 fields");
}
END_TEST

/* ---- invalid_characters ------------------------------------------------------ */

START_TEST(control_character_in_a_name_is_invalid_characters)
{
	struct row row = good_row();
	set_str(&row, FIELD_LAST_NAME, "Le\x1B[2Je");
	expect_reject(&row, REASON_INVALID_CHARACTERS,
		      "last_name: character 3 (0x1B) is a control character");
	row = good_row();
	set_str(&row, FIELD_FIRST_NAME, "Zo\x7F");
	expect_reject(&row, REASON_INVALID_CHARACTERS, "first_name: character 3 (0x7F)");
	row = good_row();
	set(&row, FIELD_FIRST_NAME, "Zo\0e", 4);
	expect_reject(&row, REASON_INVALID_CHARACTERS, "first_name: character 3 (0x00)");
}
END_TEST

START_TEST(c1_control_says_the_encoding_is_probably_wrong)
{
	struct row row = good_row();
	set_str(&row, FIELD_LAST_NAME, "O\xC2\x92" "Neil"); /* U+0092 */
	expect_reject(&row, REASON_INVALID_CHARACTERS,
		      "last_name: character 2 (U+0092) is a control character");
	ck_assert(!strstr(row.detail, "encoding"));
	row = good_row();
	row.transcoded = true;
	set_str(&row, FIELD_LAST_NAME, "O\xC2\x92" "Neil");
	expect_reject(&row, REASON_INVALID_CHARACTERS,
		      "the file's --encoding is probably wrong");
}
END_TEST

START_TEST(bidi_override_in_name_or_email_is_invalid_characters)
{
	struct row row = good_row();
	set_str(&row, FIELD_FIRST_NAME, "\xE2\x80\xAE" "evil");
	expect_reject(&row, REASON_INVALID_CHARACTERS,
		      "first_name: character 1 (U+202E) is a bidi control");
	row = good_row();
	set_str(&row, FIELD_EMAIL, "a\xE2\x81\xA6" "b@x.org");
	expect_reject(&row, REASON_INVALID_CHARACTERS, "email: character 2 (U+2066)");
}
END_TEST

START_TEST(accents_and_apostrophes_in_names_are_fine)
{
	struct row row = good_row();
	set_str(&row, FIELD_LAST_NAME, "O\xE2\x80\x99" "Neil-Br\xC3\xBC" "ck");
	set_str(&row, FIELD_FIRST_NAME, "\xE6\x9D\x8E \xE5\xB0\x8F\xE9\xBE\x99");
	ck_assert(validate_row(&row, 5, &courses));
}
END_TEST

START_TEST(invalid_characters_comes_after_the_student_id)
{
	struct row row = good_row();
	set_str(&row, FIELD_STUDENT_ID, "");
	set_str(&row, FIELD_LAST_NAME, "\x01");
	expect_reject(&row, REASON_MISSING_STUDENT_ID, "");
	row = good_row();
	set_str(&row, FIELD_LAST_NAME, "\x01");
	set_str(&row, FIELD_EMAIL, "nope");
	expect_reject(&row, REASON_INVALID_CHARACTERS, "last_name");
}
END_TEST

/* ---- roles and malformed quotes ---------------------------------------------- */

START_TEST(a_row_that_is_not_a_students_is_skipped_not_rejected)
{
	struct row row = good_row();
	row.not_a_student = true;
	strcpy(row.role, "teacher");
	set_str(&row, FIELD_EMAIL, ""); /* would be missing_email */
	ck_assert(!validate_row(&row, 5, &courses));
	ck_assert_int_eq(row.status, STATUS_SKIPPED);
	ck_assert_int_eq(row.reason, REASON_NOT_A_STUDENT);
	ck_assert_msg(strstr(row.detail, "role 'teacher'"), "%s", row.detail);
	ck_assert(!row_status_is_success(row.status));
}
END_TEST

START_TEST(text_after_a_closing_quote_is_malformed_row)
{
	struct row row = good_row();
	row.malformed = true;
	expect_reject(&row, REASON_MALFORMED_ROW, "text after a closing quote");
}
END_TEST

START_TEST(absent_columns_are_not_checked)
{
	struct row row = good_row();
	set(&row, FIELD_LAST_NAME, "\xFF", 1);
	row.present &= ~(1u << FIELD_LAST_NAME);
	ck_assert(validate_row(&row, 5, &courses));
}
END_TEST

/* ---- field_too_long ---------------------------------------------------------- */

START_TEST(value_of_256_bytes_is_accepted)
{
	struct row row = good_row();
	set_repeated(&row, FIELD_LAST_NAME, 'x', ROW_VALUE_MAX);
	ck_assert(validate_row(&row, 5, &courses));
}
END_TEST

START_TEST(value_of_257_bytes_is_too_long)
{
	struct row row = good_row();
	set_repeated(&row, FIELD_LAST_NAME, 'x', ROW_VALUE_MAX + 1);
	expect_reject(&row, REASON_FIELD_TOO_LONG, "last_name is 257 bytes (limit 256)");
}
END_TEST

START_TEST(too_long_beats_missing_email)
{
	struct row row = good_row();
	set_repeated(&row, FIELD_FIRST_NAME, 'x', 300);
	set_str(&row, FIELD_EMAIL, "");
	expect_reject(&row, REASON_FIELD_TOO_LONG, "first_name is 300 bytes (limit 256)");
}
END_TEST

START_TEST(ten_megabyte_value_is_too_long)
{
	struct row row = good_row();
	set_repeated(&row, FIELD_EMAIL, 'x', 10u << 20);
	expect_reject(&row, REASON_FIELD_TOO_LONG, "email is 10,485,760 bytes");
}
END_TEST

/* ---- student_id ----------------------------------------------------------------- */

START_TEST(empty_student_id_is_missing)
{
	struct row row = good_row();
	set_str(&row, FIELD_STUDENT_ID, "");
	expect_reject(&row, REASON_MISSING_STUDENT_ID, "student_id is empty");
	row = good_row();
	row.present &= ~(1u << FIELD_STUDENT_ID);
	expect_reject(&row, REASON_MISSING_STUDENT_ID, "student_id");
}
END_TEST

START_TEST(student_id_of_255_bytes_is_accepted)
{
	struct row row = good_row();
	set_repeated(&row, FIELD_STUDENT_ID, '7', 255);
	ck_assert(validate_row(&row, 5, &courses));
}
END_TEST

START_TEST(student_id_of_256_bytes_is_invalid)
{
	struct row row = good_row();
	set_repeated(&row, FIELD_STUDENT_ID, '7', 256);
	expect_reject(&row, REASON_INVALID_STUDENT_ID, "student_id is 256 bytes (1 to 255)");
}
END_TEST

/* What SIS exports use as ids: GUIDs, emails, Canvas's long ids, codes
 * with spaces, Unicode. */
START_TEST(real_world_ids_are_valid)
{
	static const char *const ok[] = {
		"8f14e45f-ceea-467f-a8f2-7b1d0c3e9a12",
		"{8F14E45F-CEEA-467F-A8F2-7B1D0C3E9A12}",
		"jane.doe@school.edu", "Phys 100 - 1", "-X1", "_x", ".dot",
		"J\xC3\xBCrgen", "\xE6\x9D\x8E\xE5\xB0\x8F", "a/b:c#1",
		"sis_user_id:00012345", "A\xF0\x9F\x98\x80",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct row row = good_row();
		set_str(&row, FIELD_STUDENT_ID, ok[i]);
		ck_assert_msg(validate_row(&row, 5, &courses), "%s: %s", ok[i],
			      row.detail);
		ck_assert_msg(id_valid(ok[i], strlen(ok[i])), "%s", ok[i]);
	}
}
END_TEST

START_TEST(student_id_with_space_at_either_end_is_invalid)
{
	/* The reader trims; a value set by other means is still checked. */
	struct row row = good_row();
	set_str(&row, FIELD_STUDENT_ID, " s1");
	expect_reject(&row, REASON_INVALID_STUDENT_ID, "starts with a space");
	set_str(&row, FIELD_STUDENT_ID, "s1 ");
	expect_reject(&row, REASON_INVALID_STUDENT_ID, "ends with a space");
	ck_assert(!id_valid("C1 ", 3));
}
END_TEST

START_TEST(student_id_rule_is_the_course_code_rule)
{
	ck_assert(id_valid("a b", 3));
	ck_assert(!id_valid("", 0));
	ck_assert(!id_valid("a\tb", 3));
	ck_assert(!id_valid("a\tb", 3));
	ck_assert(!id_valid("a\xC2\x85", 3));  /* C1: NEL */
	ck_assert(!id_valid("a\xC2\x85", 3));
	ck_assert(!id_valid("OPEN\xE2\x80\x8B", 7)); /* ZWSP */
	char why[96];
	ck_assert(!id_check("a\xE2\x80\x8B", 4, why, sizeof(why)));
	ck_assert_msg(strstr(why, "character 2 (U+200B) is invisible"), "%s", why);
	/* Review 16, A4: a variation selector, a tag-plane variation selector,
	 * a shorthand format control, the Ogham space mark, the braille blank. */
	ck_assert(!id_valid("X\xEF\xB8\x8F" "1", 5));
	ck_assert(!id_valid("X\xF3\xA0\x84\x80" "1", 6));
	ck_assert(!id_valid("X\xF0\x9B\xB2\xA0" "1", 6));
	ck_assert(!id_valid("X\xE1\x9A\x80" "1", 5));
	ck_assert(!id_valid("X\xE2\xA0\x80" "1", 5));
	ck_assert(!id_check("S\xEF\xB8\x8F" "1", 5, why, sizeof(why)));
	ck_assert_msg(strstr(why, "character 2 (U+FE0F) is invisible"), "%s", why);
	ck_assert(id_valid("Caf\xC3\xA9 \xE2\x80\x93 1", 11)); /* e-acute, en dash */
}
END_TEST

START_TEST(missing_student_id_beats_invalid_email)
{
	struct row row = good_row();
	set_str(&row, FIELD_STUDENT_ID, "");
	set_str(&row, FIELD_EMAIL, "nope");
	expect_reject(&row, REASON_MISSING_STUDENT_ID, "");
}
END_TEST

/* ---- email -------------------------------------------------------------------------- */

/* Enrollment exports carry no email: the row is for a student the
 * database knows, which only the collector can tell. */
START_TEST(empty_email_passes_for_a_known_student_only)
{
	struct row row = good_row();
	set_str(&row, FIELD_EMAIL, "");
	ck_assert(validate_row(&row, 5, &courses));
	ck_assert_int_eq(row.if_new_student, REASON_MISSING_EMAIL);
	row = good_row();
	row.present &= ~(1u << FIELD_EMAIL);
	ck_assert(validate_row(&row, 5, &courses));
	ck_assert_int_eq(row.if_new_student, REASON_MISSING_EMAIL);
	row = good_row();
	ck_assert(validate_row(&row, 5, &courses));
	ck_assert_int_eq(row.if_new_student, REASON_NONE);
}
END_TEST

START_TEST(invalid_student_id_beats_missing_email)
{
	struct row row = good_row();
	set_str(&row, FIELD_STUDENT_ID, "a\tb");
	set_str(&row, FIELD_EMAIL, "");
	expect_reject(&row, REASON_INVALID_STUDENT_ID, "");
}
END_TEST

static void expect_bad_email(const char *email, const char *why)
{
	struct row row = good_row();
	set_str(&row, FIELD_EMAIL, email);
	expect_reject(&row, REASON_INVALID_EMAIL, why);
	const char *got = NULL;
	ck_assert(!email_valid(email, strlen(email), &got));
	ck_assert_ptr_nonnull(got);
	ck_assert(!email_valid(email, strlen(email), NULL));
}

START_TEST(email_rules_are_explained)
{
	expect_bad_email("zoe.example.edu", "email: no '@'");
	expect_bad_email("zoe@lee@example.edu", "more than one '@'");
	expect_bad_email("@example.edu", "nothing before the '@'");
	expect_bad_email("zoe@", "nothing after the '@'");
	expect_bad_email("zoe@localhost", "the domain has no dot");
	expect_bad_email("zoe@.example.edu", "starts with a dot");
	expect_bad_email("zoe@example.edu.", "ends with a dot");
	expect_bad_email("zoe@example..edu", "empty label");
	expect_bad_email("zoe lee@example.edu", "contains a space");
	/* In a row, invalid_characters comes first (see below). */
	ck_assert(!email_valid("zoe\t@example.edu", 16, NULL));
	ck_assert(!email_valid("zoe\x7f@example.edu", 16, NULL));
}
END_TEST

START_TEST(good_emails_pass)
{
	static const char *const ok[] = {
		"a@b.c", "zoe+tag@mail.example.edu", "o'hara@x.org",
		"j\xC3\xBCrgen@beispiel.de", "x.y@sub-domain.example.co.uk",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const char *why = NULL;
		ck_assert_msg(email_valid(ok[i], strlen(ok[i]), &why), "%s: %s", ok[i],
			      why);
	}
}
END_TEST

START_TEST(email_of_254_bytes_is_accepted_255_is_not)
{
	char email[256];
	memset(email, 'a', sizeof(email));
	memcpy(email + 254 - 6, "@x.org", 6);
	ck_assert(email_valid(email, 254, NULL));
	struct row row = good_row();
	set(&row, FIELD_EMAIL, email, 254);
	ck_assert(validate_row(&row, 5, &courses));

	memset(email, 'a', sizeof(email));
	memcpy(email + 255 - 6, "@x.org", 6);
	row = good_row();
	set(&row, FIELD_EMAIL, email, 255);
	expect_reject(&row, REASON_INVALID_EMAIL, "longer than 254 bytes");
}
END_TEST

START_TEST(invalid_email_beats_missing_course)
{
	struct row row = good_row();
	set_str(&row, FIELD_EMAIL, "nope");
	set_str(&row, FIELD_COURSE, "");
	expect_reject(&row, REASON_INVALID_EMAIL, "no '@'");
}
END_TEST

/* ---- course ---------------------------------------------------------------------------- */

START_TEST(empty_course_is_missing)
{
	struct row row = good_row();
	set_str(&row, FIELD_COURSE, "");
	expect_reject(&row, REASON_MISSING_COURSE, "course is empty");
	row = good_row();
	row.present &= ~(1u << FIELD_COURSE);
	expect_reject(&row, REASON_MISSING_COURSE, "course");
}
END_TEST

START_TEST(unknown_course_is_named)
{
	struct row row = good_row();
	set_str(&row, FIELD_COURSE, "MATH-999");
	expect_reject(&row, REASON_UNKNOWN_COURSE, "no course 'MATH-999'");
}
END_TEST

START_TEST(course_codes_are_case_sensitive)
{
	struct row row = good_row();
	set_str(&row, FIELD_COURSE, "math-101");
	expect_reject(&row, REASON_UNKNOWN_COURSE, "no course 'math-101'");
	row = good_row();
	set_str(&row, FIELD_COURSE, "bio_3");
	ck_assert(validate_row(&row, 5, &courses));
	ck_assert_str_eq(row.course->code, "bio_3");
}
END_TEST

START_TEST(unknown_course_detail_is_escaped_and_bounded)
{
	struct row row = good_row();
	set_str(&row, FIELD_COURSE, "A\x01" "B");
	expect_reject(&row, REASON_UNKNOWN_COURSE, "no course 'A\\x01B'");
	row = good_row();
	set_repeated(&row, FIELD_COURSE, 'C', ROW_VALUE_MAX);
	expect_reject(&row, REASON_UNKNOWN_COURSE, "CCC...'");
	ck_assert_uint_lt(strlen(row.detail), ROW_DETAIL_MAX);
}
END_TEST

/* t_bad_inputs: 'OPEN' with a zero-width space or a no-break space after
 * it was reported as "no course 'OPEN'" -- when OPEN exists. */
START_TEST(unknown_course_detail_shows_invisible_characters)
{
	struct row row = good_row();
	set_str(&row, FIELD_COURSE, "MATH-101\xE2\x80\x8B");
	expect_reject(&row, REASON_UNKNOWN_COURSE, "no course 'MATH-101\\u200b'");
	set_str(&row, FIELD_COURSE, "MATH-101\xC2\xA0");
	expect_reject(&row, REASON_UNKNOWN_COURSE, "no course 'MATH-101\\u00a0'");
	set_str(&row, FIELD_COURSE, "\xE2\x80\xAEMATH");
	expect_reject(&row, REASON_UNKNOWN_COURSE, "no course '\\u202eMATH'");
	set_str(&row, FIELD_COURSE, "Math\xC3\xA9");
	expect_reject(&row, REASON_UNKNOWN_COURSE, "no course 'Math\xC3\xA9'");
}
END_TEST

START_TEST(revalidating_a_row_clears_the_old_course)
{
	struct row row = good_row();
	ck_assert(validate_row(&row, 5, &courses));
	ck_assert_ptr_nonnull(row.course);
	ck_assert(!validate_row(&row, 4, &courses));
	ck_assert_ptr_null(row.course);
}
END_TEST

/* t_bad_inputs: a BOM, a bidi override or a no-break space in an id are
 * named by code point, not by the first byte of their encoding. */
START_TEST(student_id_names_a_bad_character_by_code_point)
{
	struct row row = good_row();
	set_str(&row, FIELD_STUDENT_ID, "Z3\xE2\x80\xAE");
	expect_reject(&row, REASON_INVALID_STUDENT_ID,
		      "student_id character 3 (U+202E) is invisible");
	set_str(&row, FIELD_STUDENT_ID, "\xEF\xBB\xBF" "B1");
	expect_reject(&row, REASON_INVALID_STUDENT_ID, "character 1 (U+FEFF)");
	set_str(&row, FIELD_STUDENT_ID, "s\xC2\xA0" "1");
	expect_reject(&row, REASON_INVALID_STUDENT_ID, "character 2 (U+00A0)");
	set_str(&row, FIELD_STUDENT_ID, "a\x1B[2J");
	expect_reject(&row, REASON_INVALID_STUDENT_ID,
		      "character 2 (0x1B) is a control character");
	set_str(&row, FIELD_STUDENT_ID, "a\xC2\x92");
	row.transcoded = true;
	expect_reject(&row, REASON_INVALID_STUDENT_ID,
		      "--encoding is probably wrong");
}
END_TEST

static Suite *validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase_create("rules");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, valid_row_passes_and_finds_its_course);
	tcase_add_test(tc, names_are_optional);
	tcase_add_test(tc, details_name_a_fields_label);
	tcase_add_test(tc, field_count_must_match_header);
	tcase_add_test(tc, malformed_row_comes_before_everything);
	tcase_add_test(tc, absent_columns_are_not_checked);
	tcase_add_test(tc, value_of_256_bytes_is_accepted);
	tcase_add_test(tc, value_of_257_bytes_is_too_long);
	tcase_add_test(tc, too_long_beats_missing_email);
	tcase_add_test(tc, ten_megabyte_value_is_too_long);
	tcase_add_test(tc, empty_student_id_is_missing);
	tcase_add_test(tc, student_id_of_255_bytes_is_accepted);
	tcase_add_test(tc, student_id_of_256_bytes_is_invalid);
	tcase_add_test(tc, real_world_ids_are_valid);
	tcase_add_test(tc, student_id_with_space_at_either_end_is_invalid);
	tcase_add_test(tc, student_id_rule_is_the_course_code_rule);
	tcase_add_test(tc, control_character_in_a_name_is_invalid_characters);
	tcase_add_test(tc, c1_control_says_the_encoding_is_probably_wrong);
	tcase_add_test(tc, bidi_override_in_name_or_email_is_invalid_characters);
	tcase_add_test(tc, accents_and_apostrophes_in_names_are_fine);
	tcase_add_test(tc, invalid_characters_comes_after_the_student_id);
	tcase_add_test(tc, a_row_that_is_not_a_students_is_skipped_not_rejected);
	tcase_add_test(tc, text_after_a_closing_quote_is_malformed_row);
	tcase_add_test(tc, missing_student_id_beats_invalid_email);
	tcase_add_test(tc, empty_email_passes_for_a_known_student_only);
	tcase_add_test(tc, invalid_student_id_beats_missing_email);
	tcase_add_test(tc, email_rules_are_explained);
	tcase_add_test(tc, good_emails_pass);
	tcase_add_test(tc, email_of_254_bytes_is_accepted_255_is_not);
	tcase_add_test(tc, invalid_email_beats_missing_course);
	tcase_add_test(tc, empty_course_is_missing);
	tcase_add_test(tc, unknown_course_is_named);
	tcase_add_test(tc, course_codes_are_case_sensitive);
	tcase_add_test(tc, unknown_course_detail_is_escaped_and_bounded);
	tcase_add_test(tc, unknown_course_detail_shows_invisible_characters);
	tcase_add_test(tc, revalidating_a_row_clears_the_old_course);
	tcase_add_test(tc, student_id_names_a_bad_character_by_code_point);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(validate_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
