/* validate: the per-row format checks, run by the workers; see validate.h. */
#include <stdio.h>
#include <string.h>

#include "csvread.h"
#include "utf8.h"
#include "validate.h"

#define STUDENT_ID_MAX 64
#define EMAIL_MAX 254
#define SHOW_MAX 64 /* bytes of a value quoted in a detail */

static bool is_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9');
}

static bool is_id_char(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '-';
}

static bool present(const struct row *row, enum row_field f)
{
	return (row->present & (1u << f)) != 0;
}

/* Writes a value for a detail: quoted, control bytes as \xNN, invisible,
 * space-like and bidi characters by code point (a course 'OPEN' followed by
 * a zero-width space must not look like OPEN), long values cut at a
 * character boundary with "...". */
static void show_value(char *out, size_t cap, const char *s, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	csvread_quote_name(out, cap, &used, (const unsigned char *)s, len, SHOW_MAX);
}

/* Describes the character at s[0..n) (valid UTF-8) for a detail: 'x' if
 * printable ASCII, 0xNN for other ASCII, U+NNNN beyond. */
static void show_char(char out[12], const unsigned char *s, size_t n)
{
	if (s[0] > 0x20 && s[0] < 0x7F) {
		snprintf(out, 12, "'%c'", s[0]);
		return;
	}
	if (s[0] < 0x80) {
		snprintf(out, 12, "0x%02X", s[0]);
		return;
	}
	size_t k = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
	unsigned long cp = s[0] & (0x7F >> k);
	for (size_t i = 1; i < k && i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3F);
	snprintf(out, 12, "U+%04lX", cp);
}

bool student_id_valid(const char *s, size_t len)
{
	if (len == 0 || len > STUDENT_ID_MAX || !is_alnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_id_char((unsigned char)s[i]))
			return false;
	return true;
}

/* Checks the part after the '@': dotted labels, none of them empty. */
static bool domain_valid(const char *d, size_t len, const char **why)
{
	if (len == 0) {
		*why = "nothing after the '@'";
		return false;
	}
	if (!memchr(d, '.', len)) {
		*why = "the domain has no dot";
		return false;
	}
	if (d[0] == '.') {
		*why = "the domain starts with a dot";
		return false;
	}
	if (d[len - 1] == '.') {
		*why = "the domain ends with a dot";
		return false;
	}
	for (size_t i = 1; i < len; i++) {
		if (d[i] == '.' && d[i - 1] == '.') {
			*why = "the domain has an empty label ('..')";
			return false;
		}
	}
	return true;
}

bool email_valid(const char *s, size_t len, const char **why)
{
	const char *dummy, *at = NULL;

	if (!why)
		why = &dummy;
	if (len > EMAIL_MAX) {
		*why = "longer than 254 bytes";
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ') {
			*why = "contains a space";
			return false;
		}
		if (c < 0x20 || c == 0x7F) {
			*why = "contains a control character";
			return false;
		}
		if (c == '@') {
			if (at) {
				*why = "more than one '@'";
				return false;
			}
			at = s + i;
		}
	}
	if (!at) {
		*why = "no '@'";
		return false;
	}
	if (at == s) {
		*why = "nothing before the '@'";
		return false;
	}
	return domain_valid(at + 1, len - (size_t)(at - s) - 1, why);
}

/* ---- the checks, in order ------------------------------------------------ */

/* True if the kept prefix of a long value goes wrong, at *off.  Else the
 * first bad byte lies at or after *off: the end of the prefix, or the start
 * of a character the prefix cuts (which is not wrong in itself). */
static bool bad_in_prefix(const struct row_value *v, size_t *off)
{
	const unsigned char *s = (const unsigned char *)v->text;
	if (utf8_valid(s, ROW_VALUE_MAX, off)) {
		*off = ROW_VALUE_MAX;
		return false;
	}
	struct utf8_state st;
	utf8_state_init(&st);
	utf8_state_feed(&st, s + *off, ROW_VALUE_MAX - *off);
	return st.bad;
}

static bool check_utf8(struct row *row)
{
	for (int f = 0; f < FIELD_COUNT; f++) {
		const struct row_value *v = &row->v[f];
		const char *name = row_field_name(f);
		size_t off;
		if (!present(row, f))
			continue;
		if (v->len > ROW_VALUE_MAX) {
			/* The reader checked the whole value; only the kept
			 * prefix is here to say where. */
			if (!v->long_bad_utf8)
				continue;
			if (!bad_in_prefix(v, &off)) {
				row_reject(row, REASON_INVALID_UTF8,
					   "%s: not valid UTF-8, or holds a NUL "
					   "byte, at or after byte %zu",
					   name, off + 1);
				return false;
			}
		} else if (utf8_valid((const unsigned char *)v->text, v->len, &off)) {
			continue;
		}
		if (v->text[off] == '\0')
			row_reject(row, REASON_INVALID_UTF8,
				   "%s: contains a NUL byte (at byte %zu)", name,
				   off + 1);
		else
			row_reject(row, REASON_INVALID_UTF8,
				   "%s: not valid UTF-8 (at byte %zu)", name,
				   off + 1);
		return false;
	}
	return true;
}

static bool check_lengths(struct row *row)
{
	for (int f = 0; f < FIELD_COUNT; f++) {
		if (present(row, f) && row->v[f].len > ROW_VALUE_MAX) {
			row_reject(row, REASON_FIELD_TOO_LONG,
				   "%s is %lu bytes (limit %d)", row_field_name(f),
				   (unsigned long)row->v[f].len, ROW_VALUE_MAX);
			return false;
		}
	}
	return true;
}

static bool check_student_id(struct row *row)
{
	const struct row_value *v = &row->v[FIELD_STUDENT_ID];
	const unsigned char *s = (const unsigned char *)v->text;
	char what[12];

	if (!present(row, FIELD_STUDENT_ID) || v->len == 0) {
		row_reject(row, REASON_MISSING_STUDENT_ID, "student_id is empty");
		return false;
	}
	if (v->len > STUDENT_ID_MAX) {
		row_reject(row, REASON_INVALID_STUDENT_ID,
			   "student_id is %lu bytes (at most %d)",
			   (unsigned long)v->len, STUDENT_ID_MAX);
		return false;
	}
	/* Every character before the first bad one is ASCII, so its byte
	 * offset is its character number; the value is valid UTF-8
	 * (check_utf8 came first), so a non-ASCII one is named by its code
	 * point. */
	for (size_t i = 0; i < v->len; i++) {
		if (!is_id_char(s[i])) {
			show_char(what, s + i, v->len - i);
			row_reject(row, REASON_INVALID_STUDENT_ID,
				   "student_id: character %zu (%s) is not one of "
				   "A-Z a-z 0-9 . _ -",
				   i + 1, what);
			return false;
		}
	}
	if (!is_alnum(s[0])) {
		show_char(what, s, v->len);
		row_reject(row, REASON_INVALID_STUDENT_ID,
			   "student_id must start with a letter or digit, not %s",
			   what);
		return false;
	}
	return true;
}

static bool check_email(struct row *row)
{
	const struct row_value *v = &row->v[FIELD_EMAIL];
	const char *why;

	if (!present(row, FIELD_EMAIL) || v->len == 0) {
		row_reject(row, REASON_MISSING_EMAIL, "email is empty");
		return false;
	}
	if (!email_valid(v->text, v->len, &why)) {
		row_reject(row, REASON_INVALID_EMAIL, "email: %s", why);
		return false;
	}
	return true;
}

static bool check_course(struct row *row, const struct course_table *courses)
{
	const struct row_value *v = &row->v[FIELD_COURSE];
	char shown[SHOW_MAX * 4 + 8];

	if (!present(row, FIELD_COURSE) || v->len == 0) {
		row_reject(row, REASON_MISSING_COURSE, "course is empty");
		return false;
	}
	row->course = course_table_find(courses, v->text, v->len);
	if (!row->course) {
		show_value(shown, sizeof(shown), v->text, v->len);
		row_reject(row, REASON_UNKNOWN_COURSE, "no course %s", shown);
		return false;
	}
	return true;
}

bool validate_row(struct row *row, size_t header_columns,
		  const struct course_table *courses)
{
	row->course = NULL;
	if (row->nfields != header_columns) {
		row_reject(row, REASON_MALFORMED_ROW, "%lu field%s, the header has %zu",
			   (unsigned long)row->nfields, row->nfields == 1 ? "" : "s",
			   header_columns);
		return false;
	}
	/* A drop needs only the pair: its email and names are ignored. */
	bool enrol = row->action == ROW_ENROL;
	return check_utf8(row) && check_lengths(row) && check_student_id(row) &&
	       (!enrol || check_email(row)) && check_course(row, courses);
}
