/* validate: the per-row format checks, run by the workers; see validate.h. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "csvread.h"
#include "escape.h"
#include "utf8.h"
#include "validate.h"

#define EMAIL_MAX 254
#define SHOW_MAX 64 /* bytes of a value quoted in a detail */

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
	esc_quote(out, cap, &used, (const char *)s, len, SHOW_MAX);
}

/* Names a character for a detail: 'x' if printable ASCII, 0xNN for other
 * ASCII, U+NNNN beyond. */
static void show_char(char out[16], uint32_t cp)
{
	if (cp > 0x20 && cp < 0x7F)
		snprintf(out, 16, "'%c'", (char)cp);
	else if (cp < 0x80)
		snprintf(out, 16, "0x%02X", (unsigned)cp);
	else
		snprintf(out, 16, "U+%04lX", (unsigned long)cp);
}

bool id_check(const char *s, size_t len, char *why, size_t cap)
{
	const unsigned char *u = (const unsigned char *)s;
	char what[16];

	if (len == 0 || len > ID_MAX) {
		snprintf(why, cap, "is %zu bytes (1 to %d)", len, ID_MAX);
		return false;
	}
	if (u[0] == ' ' || u[len - 1] == ' ') {
		snprintf(why, cap, "%s with a space", u[0] == ' ' ? "starts" : "ends");
		return false;
	}
	size_t nth = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = utf8_decode(u + i, len - i, &cp);
		nth++;
		if (k == 0) {
			snprintf(why, cap, "character %zu is not UTF-8", nth);
			return false;
		}
		if (utf8_is_control(cp) || utf8_is_invisible(cp)) {
			show_char(what, cp);
			snprintf(why, cap, "character %zu (%s) is %s", nth, what,
				 utf8_is_control(cp) ? "a control character"
						     : "invisible or a special space");
			return false;
		}
		i += k;
	}
	return true;
}

bool id_valid(const char *s, size_t len)
{
	char why[96];
	return id_check(s, len, why, sizeof(why));
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

/* A record with the wrong number of fields, or text after a closing quote,
 * cannot be trusted column by column. */
static bool check_shape(struct row *row, size_t header_columns)
{
	if (row->malformed) {
		/* The reader may have said why (a flat file's operation). */
		char why[ROW_DETAIL_MAX];
		snprintf(why, sizeof(why), "%s",
			 row->detail[0] ? row->detail :
			 "text after a closing quote (write \"\" for a quote "
			 "inside a quoted value)");
		row_reject(row, REASON_MALFORMED_ROW, "%s", why);
		return false;
	}
	if (row->nfields != header_columns) {
		row_reject(row, REASON_MALFORMED_ROW, "%lu field%s, the header has %zu",
			   (unsigned long)row->nfields, row->nfields == 1 ? "" : "s",
			   header_columns);
		return false;
	}
	return true;
}

/* Teachers, parents, administrators: not bulkreg's to register. */
static bool check_role(struct row *row)
{
	if (!row->not_a_student)
		return true;
	row_skip(row, REASON_NOT_A_STUDENT, "role '%s' is not a student's",
		 row->role);
	return false;
}

/* A Moodle upload row may only create or update its user. */
static bool check_user_only(struct row *row)
{
	if (!row->user_only)
		return true;
	row_skip(row, REASON_NO_COURSE,
		 "a user-only row: no course1..N value, nothing to register");
	return false;
}

/* Names and the email: no control characters (C0, DEL, C1) and no bidi
 * controls, which could make a report say something else than it does. */
static bool check_characters(struct row *row)
{
	static const enum row_field fields[] = {FIELD_FIRST_NAME, FIELD_LAST_NAME,
						FIELD_EMAIL};
	char what[16];
	for (size_t n = 0; n < sizeof(fields) / sizeof(fields[0]); n++) {
		const struct row_value *v = &row->v[fields[n]];
		const unsigned char *u = (const unsigned char *)v->text;
		size_t nth = 0;
		if (!present(row, fields[n]))
			continue;
		for (size_t i = 0; i < v->len;) {
			uint32_t cp = 0;
			size_t k = utf8_decode(u + i, v->len - i, &cp);
			nth++;
			if (k == 0)
				break; /* the reader checked the text */
			if (utf8_is_control(cp) || utf8_is_bidi(cp)) {
				bool c1 = cp >= 0x80 && cp <= 0x9F;
				show_char(what, cp);
				row_reject(row, REASON_INVALID_CHARACTERS,
					   "%s: character %zu (%s) is %s%s",
					   row_field_label(row, fields[n]), nth, what,
					   utf8_is_control(cp) ? "a control character"
							       : "a bidi control",
					   c1 && row->transcoded ?
						   "; the file's --encoding is "
						   "probably wrong" : "");
				return false;
			}
			i += k;
		}
	}
	return true;
}

static bool check_lengths(struct row *row)
{
	for (int f = 0; f < FIELD_COUNT; f++) {
		/* A drop reads only its pair. */
		bool used = row->action == ROW_ENROL || f == FIELD_STUDENT_ID ||
			    f == FIELD_COURSE;
		if (used && present(row, f) && row->v[f].len > ROW_VALUE_MAX) {
			char n[32];
			row_reject(row, REASON_FIELD_TOO_LONG,
				   "%s is %s bytes (limit %d)", row_field_label(row, f),
				   text_group_digits((int64_t)row->v[f].len, n),
				   ROW_VALUE_MAX);
			return false;
		}
	}
	return true;
}

static bool check_student_id(struct row *row)
{
	const struct row_value *v = &row->v[FIELD_STUDENT_ID];
	char why[96];

	if (!present(row, FIELD_STUDENT_ID) || v->len == 0) {
		row_reject(row, REASON_MISSING_STUDENT_ID, "%s is empty",
			   row_field_label(row, FIELD_STUDENT_ID));
		return false;
	}
	if (!id_check(v->text, v->len, why, sizeof(why))) {
		bool c1 = strstr(why, "(U+00") && row->transcoded;
		row_reject(row, REASON_INVALID_STUDENT_ID, "%s %s%s",
			   row_field_label(row, FIELD_STUDENT_ID), why,
			   c1 ? "; the file's --encoding is probably wrong" : "");
		return false;
	}
	return true;
}

/* An empty email is fine for a student the database knows: the collector
 * rejects the row if the student is new. */
static bool check_email(struct row *row)
{
	const struct row_value *v = &row->v[FIELD_EMAIL];
	const char *why;

	if (!present(row, FIELD_EMAIL) || v->len == 0) {
		if (row->if_new_student == REASON_NONE) /* not unknown_student */
			row->if_new_student = REASON_MISSING_EMAIL;
		return true;
	}
	if (!email_valid(v->text, v->len, &why)) {
		row_reject(row, REASON_INVALID_EMAIL, "%s: %s",
			   row_field_label(row, FIELD_EMAIL), why);
		return false;
	}
	return true;
}

static bool check_course(struct row *row, const struct course_table *courses)
{
	const struct row_value *v = &row->v[FIELD_COURSE];
	char shown[SHOW_MAX * 4 + 8];

	if (!present(row, FIELD_COURSE) || v->len == 0) {
		row_reject(row, REASON_MISSING_COURSE, "%s is empty",
			   row_field_label(row, FIELD_COURSE));
		return false;
	}
	row->course = course_table_find(courses, v->text, v->len);
	if (!row->course && row->action == ROW_DROP_IF_PRESENT) {
		/* An export's old deletion: nothing is registered there. */
		show_value(shown, sizeof(shown), v->text, v->len);
		row_skip(row, REASON_NOT_REGISTERED,
			 "no course %s is known: nothing to drop", shown);
		return false;
	}
	if (!row->course) {
		show_value(shown, sizeof(shown), v->text, v->len);
		char hint[COURSE_HINT_MAX];
		course_table_hint(hint, sizeof(hint), courses, v->text, v->len);
		row_reject(row, REASON_UNKNOWN_COURSE, "no course %s%s", shown,
			   hint);
		return false;
	}
	return true;
}

bool validate_row(struct row *row, size_t header_columns,
		  const struct course_table *courses)
{
	row->course = NULL;
	/* A drop needs only the pair: its email and names are ignored. */
	bool enrol = row->action == ROW_ENROL;
	return check_shape(row, header_columns) && check_role(row) &&
	       check_user_only(row) && check_lengths(row) && check_student_id(row) &&
	       (!enrol || (check_characters(row) && check_email(row))) &&
	       check_course(row, courses);
}
