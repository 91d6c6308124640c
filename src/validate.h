/* validate: the per-row format checks, run by the workers. */
#ifndef BULKREG_VALIDATE_H
#define BULKREG_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "courses.h"
#include "row.h"

/*
 * Checks a row in the documented order and stops at the first failure:
 * malformed_row (nfields != header_columns), invalid_utf8, field_too_long,
 * missing_student_id, invalid_student_id, missing_email, invalid_email,
 * missing_course, unknown_course (the email checks only for a row that
 * enrols: a drop needs only its pair).  On failure the row is rejected with a
 * detail naming the column ("email: no '@'"); returns false.  On success
 * sets row->course and returns true.  Thread-safe: reads `courses` only.
 */
bool validate_row(struct row *row, size_t header_columns,
		  const struct course_table *courses);

/* 1-64 bytes of A-Z a-z 0-9 . _ -, the first a letter or digit. */
bool student_id_valid(const char *s, size_t len);

/* One '@', a non-empty local part, a domain holding a dot (not at either
 * end), no spaces or control characters, at most 254 bytes.  On false,
 * *why (if not NULL) is a short explanation. */
bool email_valid(const char *s, size_t len, const char **why);

#endif
