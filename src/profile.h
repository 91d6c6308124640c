/* profile: what the columns of a roster mean, for each export format. */
#ifndef BULKREG_PROFILE_H
#define BULKREG_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "csvread.h"
#include "error.h"
#include "row.h"

/*
 * The export formats bulkreg reads (bulkreg(1), INPUT PROFILES).  A profile
 * maps header names onto the row's fields and a few more kinds of column;
 * the reader turns every profile into the same struct row.
 */
enum profile {
	PROFILE_BULKREG,         /* today's headers and their aliases */
	PROFILE_ONEROSTER,       /* OneRoster 1.1/1.2 enrollments.csv */
	PROFILE_CANVAS,          /* Canvas SIS import enrollments.csv */
	PROFILE_MOODLE_FLATFILE, /* no header: op, role, user, course[, start, end] */
	PROFILE_MOODLE_UPLOAD,   /* upload users: username, ..., course1..N */
	PROFILE_CLEVER,          /* Clever enrollments.csv */
	PROFILE_COUNT
};

/* What a column holds: a row field (enum row_field), or one of these. */
enum column_kind {
	COL_IGNORED = -1,
	COL_ROLE = FIELD_COUNT,  /* the row's role: not a student's is skipped */
	COL_STATUS,              /* "deleted" and the like: a drop request */
	COL_SECTION,             /* Canvas section_id */
	COL_OPERATION,           /* Moodle flat file: add / del */
	COL_COURSE_N,            /* Moodle course1..N */
	COL_ROLE_N,              /* Moodle role1..N */
	COL_TYPE_N,              /* Moodle type1..N: 1 student, 2 editing
				  * teacher, 3 non-editing teacher */
	COL_ENROLSTATUS_N,       /* Moodle enrolstatus1..N: 0 active,
				  * 1 suspended (a drop request) */
	COL_DELETED,             /* Moodle upload: deleted 1 = the account
				  * is deleted (each course a drop request) */
	COL_SUSPENDED,           /* Moodle upload: suspended 1 = the account
				  * is suspended (warned; it registers) */
	COL_ROLE_ID,             /* Canvas role_id: an account's number for
				  * a role; not read (alone: exit 2) */
	COL_BASE_ROLE,           /* Canvas base_role_type: StudentEnrollment
				  * is a student's, whatever the role's name */
	COL_KIND_COUNT
};

#define PROFILE_MAX_N 99         /* course1..course99 */

/* "bulkreg", "oneroster", "canvas", "moodle-flatfile", "moodle-upload",
 * "clever". */
const char *profile_name(enum profile p);

/* The header names profile p reads (its alias table, in csvread_name_eq's
 * terms; NULL for the flat file, which has no header), and --map's field
 * names: for the test that no two of a table are one name. */
const struct csvread_alias *profile_names(enum profile p);
const struct csvread_alias *profile_map_fields(void);

/* The profile called `name`; false if none is. */
bool profile_parse(const char *name, enum profile *out);

/*
 * The kind of a column named `norm` (csvread_norm_name's normal form) in
 * profile p, and for course1..N / role1..N its N in *n.  COL_IGNORED for a
 * name the profile does not use.
 */
int profile_column(enum profile p, const char *norm, unsigned *n);

/*
 * For an export profile (not bulkreg): the field a column named as one of
 * bulkreg's names for first_name, last_name or email holds
 * (FIELD_FIRST_NAME...), else COL_IGNORED.  The reader uses it for a
 * column the profile does not read, when no column of the header gives
 * that field: an export never drops such a column silently.
 */
int profile_optional_column(enum profile p, const char *norm);

/*
 * Detects the profile from a header's names (normal forms) -- or, when
 * the first line is not a header, from its first field ("add" or "del",
 * 4 to 6 fields: a Moodle flat file).  The rules, in bulkreg(1):
 *   userSourcedId and classSourcedId     oneroster
 *   user_id and course_id or section_id  canvas
 *   Student_id and Section_id            clever
 *   username and firstname, lastname or course1   moodle-upload
 *   first field add or del               moodle-flatfile
 * none: bulkreg.  More than one: ST_INPUT naming the candidates.  But a
 * header with a name bulkreg reads as the student id and one it reads as
 * the course that no export reads (course, course_code, class...) is
 * bulkreg's, whatever else it holds.
 */
enum status profile_detect(const char *const *norm, size_t n, enum profile *out,
			   struct error *err);

/*
 * Adds the pairs of --map "student_id=Student Number,email=Email Address"
 * to *m (zeroed before the first --map): a second --map adds to the first.
 * Fields: student_id, first_name, last_name, email, course, role, status,
 * section.  A header in double quotes may hold commas
 * (email="Email, primary"; "" for a quote).  ST_USAGE naming what is
 * wrong, both pairs for a field given twice or a header given for two
 * fields (csvread_map_add).
 */
enum status profile_map_parse(const char *spec, struct csvread_map *m,
			      struct error *err);

/* How profile p's own header names the required field f (FIELD_STUDENT_ID
 * or FIELD_COURSE), quoted, for messages: "'userSourcedId'",
 * "'course_id' or 'section_id'", ... */
const char *profile_required_label(enum profile p, enum row_field f);

/* The kind --map gives the column named `norm`, or COL_IGNORED. */
int profile_map_column(const struct csvread_map *m, const char *norm);

/* True for the roles of a student or learner (any case), Canvas's base
 * role type StudentEnrollment, and for an empty role (a row that says
 * nothing). */
bool profile_role_is_student(const char *role, size_t len);

/* Whether a role is one bulkreg knows: a student's, or another's that the
 * supported formats use (teacher, aide, parent, administrator, ...).  An
 * unknown one is skipped all the same, and warned about. */
bool profile_role_known(const char *role, size_t len);

/* The request a status value makes: ROW_DROP_IF_PRESENT for deleted,
 * tobedeleted, inactive, completed, deleted_last_completed (any case);
 * ROW_ENROL for active, empty or anything else. */
enum row_action profile_status_action(const char *status, size_t len);

/* True for a status value whose meaning bulkreg knows: empty, active, or
 * one that profile_status_action makes a drop request (any case). */
bool profile_status_known(const char *status, size_t len);

#endif
