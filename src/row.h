/* row: one roster record on its way through the pipeline, and its outcome. */
#ifndef BULKREG_ROW_H
#define BULKREG_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROW_VALUE_MAX 256   /* longest accepted value in bytes (field_too_long) */
#define ROW_DETAIL_MAX 320  /* detail text, NUL included (check output: 200 B) */

/* The roster columns bulkreg uses, in the order they are stored. */
enum row_field {
	FIELD_STUDENT_ID,
	FIELD_FIRST_NAME,
	FIELD_LAST_NAME,
	FIELD_EMAIL,
	FIELD_COURSE,
	FIELD_COUNT
};

enum row_status {
	STATUS_NONE = 0,         /* not decided yet */
	STATUS_REGISTERED,
	STATUS_WAITLISTED,
	STATUS_ALREADY_REGISTERED,
	STATUS_ALREADY_WAITLISTED,
	STATUS_PROMOTED,         /* moved from the waitlist into a freed seat */
	STATUS_DROPPED,          /* the pair was removed */
	STATUS_SKIPPED,          /* not for bulkreg (not a student...); no error */
	STATUS_REJECTED,
	STATUS_COUNT
};

/* What a row asks for.  A roster row enrols; `bulkreg drop` rows drop; a
 * status column of an export that means "removed" asks to drop a pair if
 * it is there (skipped not_registered when it is not: exports keep old
 * deletions). */
enum row_action {
	ROW_ENROL = 0,
	ROW_DROP,
	ROW_DROP_IF_PRESENT
};

/* Rejection reasons, in the order they are checked: the first that applies
 * wins.  The check_* reasons come from --check, which runs after the format
 * checks and before seats are allocated. */
enum row_reason {
	REASON_NONE = 0,
	REASON_MALFORMED_ROW,
	REASON_FIELD_TOO_LONG,
	REASON_MISSING_STUDENT_ID,
	REASON_INVALID_STUDENT_ID,
	REASON_INVALID_CHARACTERS,
	REASON_MISSING_EMAIL,
	REASON_INVALID_EMAIL,
	REASON_MISSING_COURSE,
	REASON_UNKNOWN_COURSE,
	REASON_UNKNOWN_STUDENT,
	REASON_NOT_A_STUDENT,    /* with STATUS_SKIPPED */
	REASON_NO_COURSE,        /* skipped: a Moodle upload row for a user
				  * only, with no course */
	REASON_CHECK_FAILED,
	REASON_CHECK_TIMEOUT,
	REASON_CHECK_ERROR,
	REASON_DUPLICATE_IN_ROSTER,
	REASON_COURSE_FULL,
	REASON_NOT_REGISTERED,   /* a drop for a pair that does not exist */
	REASON_COUNT
};

/* One value as read from the roster (valid UTF-8: the reader refuses a
 * file that is not), spaces around it trimmed. */
struct row_value {
	uint32_t len;        /* full length in bytes (may exceed ROW_VALUE_MAX) */
	char text[ROW_VALUE_MAX + 1]; /* first min(len, ROW_VALUE_MAX) bytes,
				       * NUL-terminated */
};

struct course;

struct row {
	/* Filled by the reader. */
	uint64_t line;                    /* 1-based line the record starts on */
	uint32_t nfields;                 /* fields in the record */
	uint32_t present;                 /* bit f set: column f is mapped */
	struct row_value v[FIELD_COUNT];
	/* Where each value came from, for details: "user_id (student_id)",
	 * "email (from users.csv)"; NULL: a column named as the field.  The
	 * reader owns the text until it is closed. */
	const char *label[FIELD_COUNT];
	bool malformed;                   /* text after a closing quote */
	bool transcoded;                  /* read through --encoding */
	bool not_a_student;               /* its role is not a student's */
	bool user_only;                   /* a Moodle upload row naming no
					   * course: skipped no_course */
	char role[48];                    /* that role, for the detail */
	char drop_why[112];               /* what made the row a drop request
					   * ("status 'deleted' in users.csv
					   * line 2"), for a dropped row's
					   * detail; "" if nothing did */
	/* The Canvas section the row enrols through (a section column that
	 * is not the course): its first bytes, its full length and a hash
	 * of it; section_len 0: none.  Two rows of one pair through two
	 * sections are not a repeat (bulkreg(1), duplicate_in_roster). */
	char section[64];
	uint32_t section_len;
	uint64_t section_hash;
	uint64_t record_ref;              /* --rejects: where the record as
					   * read is kept (rejects.h); 0 if
					   * not */

	/* Filled by validation: the rejection for a student who is not in
	 * the database yet (missing_email, unknown_student), or REASON_NONE.
	 * The collector decides, as only it can look. */
	enum row_reason if_new_student;
	const char *users_id_label;       /* unknown_student: where the id was
					   * looked up ("its column
					   * 'username'"), owned by the
					   * reader; NULL if not said */

	/* Filled by validation (and --check), then by the collector. */
	enum row_action action;           /* set by the reader (a status
					   * column or --users may ask to
					   * drop) */
	bool derived;                     /* made by the policy (a promotion,
					   * a --sync drop), not read: not
					   * counted as a roster row */
	struct course *course;            /* resolved course, NULL if none */
	enum row_status status;
	enum row_reason reason;
	int64_t position;                 /* waitlist position, 0 if none */
	double check_seconds;             /* time the --check command took */
	bool student_changed;             /* the row changed a known student's
					   * names or email (detail says how) */
	char detail[ROW_DETAIL_MAX];      /* why, for rejections ("" if none) */
};

/* Counts of outcomes over a batch. */
struct outcome_counts {
	int64_t rows;
	int64_t by_status[STATUS_COUNT];
	int64_t by_reason[REASON_COUNT];
	int64_t skipped_by_reason[REASON_COUNT]; /* the part of by_reason that
						  * skipped rows hold (the
						  * rest: rejected rows) */
	int64_t students_changed; /* rows that changed a known student's values */
};

/* Stable machine names: "registered", "invalid_email", ... */
const char *row_status_name(enum row_status st);
const char *row_reason_name(enum row_reason r);

/* Column names as they appear in reports and messages ("student_id", ...). */
const char *row_field_name(enum row_field f);

/* The field as a detail names it: its label (the file's own column, or the
 * --users file), else its name. */
const char *row_field_label(const struct row *row, enum row_field f);

/* A value as the reports show it: the value, or, for one longer than
 * ROW_VALUE_MAX (a field_too_long row: only its first bytes are kept),
 * those bytes cut back to a whole UTF-8 character and followed by "...".
 * Into buf when cut; returns the length, *shown the bytes. */
#define ROW_VALUE_SHOWN_MAX (ROW_VALUE_MAX + 3)
size_t row_value_shown(const struct row_value *v,
		       char buf[ROW_VALUE_SHOWN_MAX], const char **shown);

/* Clears the outcome part of a row (status, reason, detail, ...). */
void row_reset_outcome(struct row *row);

/* Marks the row rejected with a reason and a printf-style detail. */
void row_reject(struct row *row, enum row_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Marks the row skipped (not for bulkreg: not a rejection) with a reason
 * and a printf-style detail. */
void row_skip(struct row *row, enum row_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Adds the row's outcome to the counts. */
void outcome_counts_add(struct outcome_counts *c, const struct row *row);

/* Every decided row (any status but none): an undo's report rows, each a
 * registration it changed. */
int64_t outcome_counts_changed(const struct outcome_counts *c);

/* True for the four statuses that mean the student is (still) enrolled. */
bool row_status_is_success(enum row_status st);

#endif
