/* validate: the per-row format checks, run by the workers. */
#ifndef BULKREG_VALIDATE_H
#define BULKREG_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "courses.h"
#include "row.h"

#define ID_MAX 255 /* longest student id or course code, in bytes */

/*
 * Checks a row in the documented order and stops at the first failure:
 * malformed_row (nfields != header_columns, or text after a closing
 * quote), not_a_student and no_course (skipped, not rejected), field_too_long,
 * missing_student_id, invalid_student_id, invalid_characters (a name or the
 * email), invalid_email, missing_course, unknown_course (the name and email
 * checks only for a row that enrols: a drop needs only its pair).  On
 * failure the row is rejected (or skipped) with a detail naming the column
 * ("email: no '@'"); returns false.  On success sets row->course and
 * returns true; an empty or absent email sets row->if_new_student to
 * REASON_MISSING_EMAIL (unless it is already REASON_UNKNOWN_STUDENT).
 * Thread-safe: reads `courses` only.
 */
bool validate_row(struct row *row, size_t header_columns,
		  const struct course_table *courses);

/*
 * The rule for student ids and course codes: 1 to ID_MAX bytes of UTF-8,
 * no control characters (C0, DEL, C1), no invisible, format or special
 * space characters, no leading or trailing space.  Anything else goes:
 * GUIDs, "jane@school.edu", "Phys 100 - 1".  On false, why[0..cap) says
 * what is wrong ("character 3 (U+200B) is invisible ...").
 */
bool id_check(const char *s, size_t len, char *why, size_t cap);

/* id_check without the explanation: the one test of a student id or a
 * course code. */
bool id_valid(const char *s, size_t len);

/* One '@', a non-empty local part, a domain holding a dot (not at either
 * end), no spaces or control characters, at most 254 bytes.  On false,
 * *why (if not NULL) is a short explanation. */
bool email_valid(const char *s, size_t len, const char **why);

#endif
