/* row: names of statuses and reasons, and small helpers; see row.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "row.h"

size_t row_value_shown(const struct row_value *v,
		       char buf[ROW_VALUE_SHOWN_MAX], const char **shown)
{
	*shown = v->text;
	if (v->len <= ROW_VALUE_MAX)
		return v->len;
	/* The last character kept may be cut short: back to its lead byte
	 * and, when its sequence needs more bytes than were kept, without
	 * it. */
	const unsigned char *u = (const unsigned char *)v->text;
	size_t n = ROW_VALUE_MAX, lead = n;
	while (lead > 0 && n - lead < 4 && (u[lead - 1] & 0xC0) == 0x80)
		lead--;
	if (lead > 0) {
		unsigned char c = u[lead - 1];
		size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
		if (need > n - (lead - 1))
			n = lead - 1;
	}
	memcpy(buf, v->text, n);
	memcpy(buf + n, "...", 3);
	*shown = buf;
	return n + 3;
}

static const char *const status_names[STATUS_COUNT] = {
	[STATUS_NONE] = "none",
	[STATUS_REGISTERED] = "registered",
	[STATUS_WAITLISTED] = "waitlisted",
	[STATUS_ALREADY_REGISTERED] = "already_registered",
	[STATUS_ALREADY_WAITLISTED] = "already_waitlisted",
	[STATUS_PROMOTED] = "promoted",
	[STATUS_DROPPED] = "dropped",
	[STATUS_SKIPPED] = "skipped",
	[STATUS_REJECTED] = "rejected",
};

static const char *const reason_names[REASON_COUNT] = {
	[REASON_NONE] = "",
	[REASON_MALFORMED_ROW] = "malformed_row",
	[REASON_FIELD_TOO_LONG] = "field_too_long",
	[REASON_MISSING_STUDENT_ID] = "missing_student_id",
	[REASON_INVALID_STUDENT_ID] = "invalid_student_id",
	[REASON_INVALID_CHARACTERS] = "invalid_characters",
	[REASON_MISSING_EMAIL] = "missing_email",
	[REASON_INVALID_EMAIL] = "invalid_email",
	[REASON_MISSING_COURSE] = "missing_course",
	[REASON_UNKNOWN_COURSE] = "unknown_course",
	[REASON_UNKNOWN_STUDENT] = "unknown_student",
	[REASON_NOT_A_STUDENT] = "not_a_student",
	[REASON_NO_COURSE] = "no_course",
	[REASON_CHECK_FAILED] = "check_failed",
	[REASON_CHECK_TIMEOUT] = "check_timeout",
	[REASON_CHECK_ERROR] = "check_error",
	[REASON_DUPLICATE_IN_ROSTER] = "duplicate_in_roster",
	[REASON_COURSE_FULL] = "course_full",
	[REASON_NOT_REGISTERED] = "not_registered",
};

static const char *const field_names[FIELD_COUNT] = {
	[FIELD_STUDENT_ID] = "student_id",
	[FIELD_FIRST_NAME] = "first_name",
	[FIELD_LAST_NAME] = "last_name",
	[FIELD_EMAIL] = "email",
	[FIELD_COURSE] = "course",
};

const char *row_status_name(enum row_status st)
{
	return (unsigned)st < STATUS_COUNT ? status_names[st] : "unknown";
}

const char *row_reason_name(enum row_reason r)
{
	return (unsigned)r < REASON_COUNT ? reason_names[r] : "unknown";
}

const char *row_field_name(enum row_field f)
{
	return (unsigned)f < FIELD_COUNT ? field_names[f] : "unknown";
}

const char *row_field_label(const struct row *row, enum row_field f)
{
	if ((unsigned)f < FIELD_COUNT && row->label[f])
		return row->label[f];
	return row_field_name(f);
}

void row_reset_outcome(struct row *row)
{
	row->course = NULL;
	row->status = STATUS_NONE;
	row->reason = REASON_NONE;
	row->position = 0;
	row->check_seconds = 0;
	row->student_changed = false;
	row->if_new_student = REASON_NONE;
	row->detail[0] = '\0';
}

void row_skip(struct row *row, enum row_reason reason, const char *fmt, ...)
{
	row->status = STATUS_SKIPPED;
	row->reason = reason;
	row->position = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(row->detail, sizeof(row->detail), fmt, ap);
	va_end(ap);
}

void row_reject(struct row *row, enum row_reason reason, const char *fmt, ...)
{
	row->status = STATUS_REJECTED;
	row->reason = reason;
	row->position = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(row->detail, sizeof(row->detail), fmt, ap);
	va_end(ap);
}

int64_t outcome_counts_changed(const struct outcome_counts *c)
{
	int64_t n = 0;
	for (int st = STATUS_REGISTERED; st < STATUS_COUNT; st++)
		n += c->by_status[st];
	return n;
}

void outcome_counts_add(struct outcome_counts *c, const struct row *row)
{
	if (!row->derived)
		c->rows++;
	if (row->student_changed)
		c->students_changed++;
	if ((unsigned)row->status < STATUS_COUNT)
		c->by_status[row->status]++;
	/* Rejection reasons, and not_a_student for skipped rows. */
	if ((row->status == STATUS_REJECTED || row->status == STATUS_SKIPPED) &&
	    (unsigned)row->reason < REASON_COUNT) {
		c->by_reason[row->reason]++;
		if (row->status == STATUS_SKIPPED)
			c->skipped_by_reason[row->reason]++;
	}
}

bool row_status_is_success(enum row_status st)
{
	return st == STATUS_REGISTERED || st == STATUS_WAITLISTED ||
	       st == STATUS_ALREADY_REGISTERED || st == STATUS_ALREADY_WAITLISTED;
}
