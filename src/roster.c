/* roster: streams a roster CSV, header first, then one row per call. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csvread.h"
#include "escape.h"
#include "profile.h"
#include "roster.h"
#include "splitmix.h"
#include "users_join.h"

_Static_assert(ROSTER_FIELD_HARD_MAX == CSVREAD_FIELD_MAX,
	       "the roster's field bound is csvread's");
_Static_assert(COL_KIND_COUNT <= 127, "kinds are kept in a signed char map");
_Static_assert(PROFILE_MAX_N <= 255, "course numbers are kept in a byte");

#define NAME_KEEP 64        /* bytes of each header name kept for matching */
#define NAME_SHOW 40        /* bytes of a name shown in a message */
#define NAMES_LISTED 20     /* names listed before "and N more" */
#define MAX_WARNINGS 2
#define STATUSES_KEPT 16    /* distinct unknown statuses warned about */
#define STATUS_KEEP 48      /* bytes of each kept for comparing */
#define ROW_WARNINGS 4      /* warnings a record can raise */
#define LABEL_MAX 112       /* "Student Number (student_id)" */

/* One header column, as read (a Moodle flat file's first line is data:
 * enough of each value is kept to replay it as a row). */
struct header_col {
	unsigned char name[ROW_VALUE_MAX]; /* first bytes of the trimmed name */
	size_t len;                    /* its full length */
	uint64_t hash;                 /* of its whole normal form */
	int field;                     /* its kind: enum row_field or enum
					* column_kind (COL_IGNORED: -1) */
	unsigned n;                    /* N of course<N> and role<N> */
};

/* What a column of the file is, for the data rows. */
struct colmap {
	signed char kind;              /* enum row_field / column_kind */
	unsigned char n;               /* N of course<N> and role<N> */
};

/* A short value (Moodle's typeN, enrolstatusN): its first bytes. */
struct short_value {
	uint32_t len;                  /* full length */
	char text[16];
};

/* Values of a record that are not row fields. */
struct extras {
	struct row_value role, status, section, operation;
	struct row_value base_role;            /* Canvas base_role_type */
	struct row_value course_n[PROFILE_MAX_N + 1];
	struct row_value role_n[PROFILE_MAX_N + 1];
	struct short_value type_n[PROFILE_MAX_N + 1];
	struct short_value enrolstatus_n[PROFILE_MAX_N + 1];
	struct short_value deleted, suspended; /* Moodle upload's 0 / 1 */
	bool any_course_n;
};

struct roster_reader {
	struct csvread cr;
	size_t ncols;                          /* columns in the header */
	struct colmap map[ROSTER_MAX_COLUMNS]; /* column -> kind */
	struct row *row;                       /* being filled by roster_next */
	bool has_override;
	struct row_value override;             /* --course, as a course value */
	enum row_action action;                /* every row's (roster_options) */
	enum profile profile;
	bool mapped;                           /* --map was given */
	bool extra_value;                      /* the record has a non-empty
						* field past the header's */
	size_t past_n_col;                     /* a course<N> past course99,
						* SIZE_MAX: none */
	bool past_n_said;                      /* a row's value there warned */
	char past_n_value[48];                 /* the record's value there */
	size_t past_n_len;
	bool course_from_section;
	struct users_join *users;              /* --users, or NULL */
	struct extras ex;                      /* of the record being read */

	/* A Moodle upload row into several courses: one row each. */
	struct row pending;                    /* the row, course to fill */
	struct extras pending_ex;
	unsigned pending_next;                 /* next N to look at, 0 = none */
	/* A Moodle flat file's first line: data, read as the header. */
	bool replay_first;

	/* While reading the header. */
	struct header_col *cols;
	uint64_t header_line;
	bool too_many_columns;                 /* more than ROSTER_MAX_COLUMNS */

	char warnings[MAX_WARNINGS][ERROR_MAX];
	size_t nwarnings;

	/* What a detail calls each value (struct row's label): the file's
	 * column when its name is not the field's, a --users value's file. */
	const char *label[FIELD_COUNT];        /* per field, or NULL */
	char labels[FIELD_COUNT][LABEL_MAX];
	char section_label[LABEL_MAX];
	char course_n_label[PROFILE_MAX_N + 1][24];
	char users_label[FIELD_COUNT][LABEL_MAX];
	char users_id_label[LABEL_MAX];        /* "its column 'username'" */

	/* Unknown statuses: each distinct value is warned about once (a
	 * typo such as "delted" would otherwise enrol in silence). */
	char statuses[STATUSES_KEPT][STATUS_KEEP + 1];
	size_t nstatuses;
	bool statuses_full;                    /* said that no more are named */
	bool warned_deleted, warned_suspended; /* a Moodle flag not 0 or 1 */
	bool said_suspended;                   /* a suspended Moodle user */
	char row_warnings[ROW_WARNINGS][ERROR_MAX]; /* raised by the record
						    * just read, not taken yet */
	size_t nrow_warnings, row_warning_next;
	const char *users_path;

	/* --rejects: every record as read (roster_options). */
	void (*copy_field)(void *ctx, size_t index, const unsigned char *s,
			   size_t len);
	void (*copy_end)(void *ctx, bool blank, uint64_t *ref);
	void *copy_ctx;
};

/* ---- values -------------------------------------------------------------- */

static void set_value(struct row_value *v, const unsigned char *s, size_t len)
{
	size_t keep = len < ROW_VALUE_MAX ? len : ROW_VALUE_MAX;
	memcpy(v->text, s, keep);
	v->text[keep] = '\0';
	v->len = (uint32_t)len; /* len <= ROSTER_FIELD_HARD_MAX */
}

static void clear_values(struct row *row)
{
	row->nfields = 0;
	row->present = 0;
	for (int f = 0; f < FIELD_COUNT; f++) {
		row->v[f].len = 0;
		row->v[f].text[0] = '\0';
	}
	row->action = ROW_ENROL;
	row->record_ref = 0;
	row->malformed = false;
	row->not_a_student = false;
	row->user_only = false;
	for (int f = 0; f < FIELD_COUNT; f++)
		row->label[f] = NULL;
	row->role[0] = '\0';
	row->drop_why[0] = '\0';
	row->users_id_label = NULL;
	row->section[0] = '\0';
	row->section_len = 0;
	row->section_hash = 0;
}

static void set_short(struct short_value *v, const unsigned char *s, size_t len)
{
	size_t keep = len < sizeof(v->text) - 1 ? len : sizeof(v->text) - 1;
	memcpy(v->text, s, keep);
	v->text[keep] = '\0';
	v->len = (uint32_t)len;
}

/* ---- data rows ------------------------------------------------------------ */

/* --rejects: the field as it was, spaces around it included. */
static void copy_untrimmed(struct roster_reader *r, size_t index)
{
	const unsigned char *raw;
	size_t raw_len;
	csvread_field_untrimmed(&r->cr, &raw, &raw_len);
	r->copy_field(r->copy_ctx, index, raw, raw_len);
}

static void clear_extras(struct extras *ex)
{
	ex->role.len = ex->status.len = ex->section.len = ex->operation.len = 0;
	ex->role.text[0] = ex->status.text[0] = ex->section.text[0] = '\0';
	ex->operation.text[0] = '\0';
	ex->base_role.len = 0;
	ex->base_role.text[0] = '\0';
	ex->deleted.len = ex->suspended.len = 0;
	ex->deleted.text[0] = ex->suspended.text[0] = '\0';
	if (ex->any_course_n) {
		for (size_t n = 0; n <= PROFILE_MAX_N; n++) {
			ex->course_n[n].len = ex->role_n[n].len = 0;
			ex->course_n[n].text[0] = ex->role_n[n].text[0] = '\0';
			ex->type_n[n].len = ex->enrolstatus_n[n].len = 0;
			ex->type_n[n].text[0] = ex->enrolstatus_n[n].text[0] = '\0';
		}
	}
	ex->any_course_n = false;
}

/* Stores value s[0..len) of a column of kind `cm` in the row or extras
 * (with its label, from `label`). */
static void put_value(struct row *row, struct extras *ex,
		      const char *const *label, struct colmap cm,
		      const unsigned char *s, size_t len)
{
	if (cm.kind >= COL_ROLE && cm.kind != COL_SECTION &&
	    cm.kind != COL_COURSE_N) {
		/* A keyword (role, status, operation, a 0/1 flag): the
		 * spaces a spreadsheet writes for a space are spaces. */
		const char *k = (const char *)s;
		csvread_trim_spaces(&k, &len);
		s = (const unsigned char *)k;
	}
	switch (cm.kind) {
	case COL_IGNORED:
	case COL_ROLE_ID:
		return;
	case COL_ROLE:
		set_value(&ex->role, s, len);
		return;
	case COL_BASE_ROLE:
		set_value(&ex->base_role, s, len);
		return;
	case COL_STATUS:
		set_value(&ex->status, s, len);
		return;
	case COL_SECTION:
		set_value(&ex->section, s, len);
		return;
	case COL_OPERATION:
		set_value(&ex->operation, s, len);
		return;
	case COL_COURSE_N:
		set_value(&ex->course_n[cm.n], s, len);
		ex->any_course_n = true;
		return;
	case COL_ROLE_N:
		set_value(&ex->role_n[cm.n], s, len);
		ex->any_course_n = true;
		return;
	case COL_TYPE_N:
		set_short(&ex->type_n[cm.n], s, len);
		ex->any_course_n = true;
		return;
	case COL_ENROLSTATUS_N:
		set_short(&ex->enrolstatus_n[cm.n], s, len);
		ex->any_course_n = true;
		return;
	case COL_DELETED:
		set_short(&ex->deleted, s, len);
		return;
	case COL_SUSPENDED:
		set_short(&ex->suspended, s, len);
		return;
	default:
		set_value(&row->v[cm.kind], s, len);
		row->present |= 1u << cm.kind;
		row->label[cm.kind] = label[cm.kind];
	}
}

static void data_field(void *ctx, size_t index, const unsigned char *s,
		       size_t len)
{
	struct roster_reader *r = ctx;
	if (r->copy_field)
		copy_untrimmed(r, index);
	if (index < r->ncols)
		put_value(r->row, &r->ex, r->label, r->map[index], s, len);
	else if (len > 0)
		r->extra_value = true;
	if (index == r->past_n_col && len > 0 && !r->past_n_said &&
	    !r->past_n_len) {
		r->past_n_len = len < sizeof(r->past_n_value) ? len
							: sizeof(r->past_n_value);
		memcpy(r->past_n_value, s, r->past_n_len);
	}
}

static void set_course(struct row *row, const struct row_value *v,
		       const char *label)
{
	row->v[FIELD_COURSE] = *v;
	row->present |= 1u << FIELD_COURSE;
	row->label[FIELD_COURSE] = label && label[0] ? label : NULL;
}

/* The section a row enrols through, when it is not the course. */
static void set_section(struct row *row, const struct row_value *v)
{
	size_t len = v->len < ROW_VALUE_MAX ? v->len : ROW_VALUE_MAX;
	size_t keep = len < sizeof(row->section) - 1 ? len
						    : sizeof(row->section) - 1;
	/* Cut at a character boundary: the detail shows it. */
	while (keep > 0 && keep < len && ((unsigned char)v->text[keep] & 0xC0) == 0x80)
		keep--;
	memcpy(row->section, v->text, keep);
	row->section[keep] = '\0';
	row->section_len = (uint32_t)len;
	row->section_hash = fnv1a64(v->text, len);
	if (row->section_hash == 0)
		row->section_hash = 1;
}

/* A role that is not a student's makes the row skipped (not_a_student). */
static void apply_role(struct row *row, const struct row_value *role)
{
	if (role->len == 0 || profile_role_is_student(role->text, role->len))
		return;
	row->not_a_student = true;
	size_t len = role->len < ROW_VALUE_MAX ? role->len : ROW_VALUE_MAX;
	if (len < sizeof(row->role)) {
		snprintf(row->role, sizeof(row->role), "%.*s", (int)len, role->text);
		return;
	}
	/* A long value (a role URI) shows its start and its end, where a
	 * URI's role is: "http://purl.imsglo...lis/v2/membership#Mentor". */
	size_t head = 20, tail = sizeof(row->role) - 1 - head - 3;
	while (head > 0 && ((unsigned char)role->text[head] & 0xC0) == 0x80)
		head--;
	size_t from = len - tail;
	while (from < len && ((unsigned char)role->text[from] & 0xC0) == 0x80)
		from++;
	snprintf(row->role, sizeof(row->role), "%.*s...%.*s", (int)head,
		 role->text, (int)(len - from), role->text + from);
}

/* Canvas's base_role_type decides over the role's name (an account's
 * custom role, "Student Auditor", is a StudentEnrollment): the detail
 * names the role, and the base type when the role's name is a student's. */
static void apply_base_role(struct row *row, const struct extras *ex)
{
	const struct row_value *base = &ex->base_role, *role = &ex->role;
	if (profile_role_is_student(base->text, base->len))
		return;
	row->not_a_student = true;
	int blen = (int)(base->len < 24 ? base->len : 24);
	if (role->len == 0)
		snprintf(row->role, sizeof(row->role), "%.*s", blen, base->text);
	else if (profile_role_is_student(role->text, role->len))
		snprintf(row->role, sizeof(row->role), "%.*s (%.*s)",
			 (int)(role->len < 16 ? role->len : 16), role->text, blen,
			 base->text);
	else
		apply_role(row, role);
}

/* Reads a malformed row's reason into its detail (validation keeps it). */
static void malformed(struct row *row, const char *why,
		      const struct row_value *v)
{
	row->malformed = true;
	snprintf(row->detail, sizeof(row->detail), "%s '%.*s'", why,
		 (int)(v->len < 64 ? v->len : 64), v->text);
}

/* What made the row a drop request, for its detail: "status 'deleted'",
 * "deleted 1", or with `where` the --users file and line. */
static void set_drop_why(struct roster_reader *r, struct row *row,
			 const char *what, const char *v, size_t len,
			 uint64_t users_line)
{
	char shown[64];
	size_t used = 0;
	shown[0] = '\0';
	esc_quote(shown, sizeof(shown), &used, v, len, 24);
	int n = snprintf(row->drop_why, sizeof(row->drop_why), "%s %s", what,
			 shown);
	if (users_line && n > 0 && (size_t)n < sizeof(row->drop_why)) {
		const char *path = r->users_path, *slash = strrchr(path, '/');
		if (strlen(path) > 40 && slash)
			path = slash + 1;
		snprintf(row->drop_why + n, sizeof(row->drop_why) - (size_t)n,
			 " in %s line %llu", strlen(path) > 40 ? "--users" : path,
			 (unsigned long long)users_line);
	}
}

static void row_warning(struct roster_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check_status(struct roster_reader *r, const struct row *row,
			 const char *what, const char *v, size_t len,
			 const struct row_value *users_id);
static void check_role(struct roster_reader *r, const struct row *row,
		       const char *v, size_t len);

static size_t kept_len(const struct row_value *v)
{
	return v->len < ROW_VALUE_MAX ? v->len : ROW_VALUE_MAX;
}

static bool short_is(const struct short_value *v, const char *word)
{
	return v->len == strlen(word) && strcmp(v->text, word) == 0;
}

/* Course N of a Moodle upload row, on a row as read: the course; its role
 * (roleN, else Moodle's legacy typeN: 1 student, 2 editing teacher, 3
 * non-editing teacher -- not students -- and nothing else); enrolstatusN
 * 1 (suspended) asks to drop the pair, as a status column does. */
static void apply_course_n(struct roster_reader *r, struct row *row,
			   const struct extras *ex, unsigned n)
{
	const struct short_value *type = &ex->type_n[n];
	set_course(row, &ex->course_n[n], r->course_n_label[n]);
	if (ex->role_n[n].len > 0) {
		apply_role(row, &ex->role_n[n]);
	} else if (short_is(type, "2") || short_is(type, "3")) {
		row->not_a_student = true;
		snprintf(row->role, sizeof(row->role), "%s",
			 type->text[0] == '2' ? "editingteacher (type 2)"
					      : "teacher (type 3)");
	} else if (type->len > 0 && !short_is(type, "1") && !row->malformed) {
		row->malformed = true;
		snprintf(row->detail, sizeof(row->detail),
			 "type%u is not 1, 2 or 3: '%s%s'", n, type->text,
			 type->len >= sizeof(type->text) ? "..." : "");
	}
	const struct short_value *es = &ex->enrolstatus_n[n];
	if (r->action == ROW_ENROL && row->action == ROW_ENROL && short_is(es, "1")) {
		char what[24];
		snprintf(what, sizeof(what), "enrolstatus%u", n);
		row->action = ROW_DROP_IF_PRESENT;
		set_drop_why(r, row, what, "1", 1, 0);
	}
	if (es->len > 0 && !short_is(es, "0") && !short_is(es, "1")) {
		char what[24];
		snprintf(what, sizeof(what), "enrolstatus%u", n);
		check_status(r, row, what, es->text,
			     es->len < sizeof(es->text) ? es->len : sizeof(es->text) - 1,
			     NULL);
	}
}

/* A Moodle upload row's 0 / 1 flag that is neither: said once per column
 * (Moodle reads any other value as 1; bulkreg does not guess). */
static void check_flag(struct roster_reader *r, const struct row *row,
		       const char *what, const struct short_value *v,
		       bool *warned)
{
	if (v->len == 0 || short_is(v, "0") || short_is(v, "1") || *warned)
		return;
	*warned = true;
	char shown[ERROR_MAX / 4];
	size_t used = 0;
	shown[0] = '\0';
	esc_quote(shown, sizeof(shown), &used, v->text,
		  v->len < sizeof(v->text) ? v->len : sizeof(v->text) - 1,
		  NAME_SHOW);
	row_warning(r, "%s: line %llu: %s %s is not 0 or 1: read as 0; other "
		       "rows with it are not warned about",
		    r->cr.name, (unsigned long long)row->line, what, shown);
}

/* A Moodle upload row's account flags (bulkreg(1), INPUT PROFILES):
 * deleted 1 makes each of its courses a drop request, as a status column
 * does; suspended 1 registers -- Moodle keeps a suspended account's
 * enrolments -- and is said once. */
static void apply_account(struct roster_reader *r, struct row *row,
			  const struct extras *ex, bool enrolling)
{
	check_flag(r, row, "deleted", &ex->deleted, &r->warned_deleted);
	check_flag(r, row, "suspended", &ex->suspended, &r->warned_suspended);
	if (short_is(&ex->deleted, "1")) {
		if (enrolling) {
			row->action = ROW_DROP_IF_PRESENT;
			set_drop_why(r, row, "deleted", "1", 1, 0);
		}
		return;
	}
	if (!short_is(&ex->suspended, "1") || !enrolling || r->said_suspended)
		return;
	r->said_suspended = true;
	char id[ERROR_MAX / 4];
	size_t used = 0;
	id[0] = '\0';
	const struct row_value *v = &row->v[FIELD_STUDENT_ID];
	esc_quote(id, sizeof(id), &used, v->text, kept_len(v), NAME_SHOW);
	row_warning(r, "%s: line %llu: user %s is suspended (suspended 1): "
		       "Moodle keeps a suspended account's enrolments, so the "
		       "row registers as any other (deleted 1 or enrolstatus<N> "
		       "1 drops); other suspended users are not warned about",
		    r->cr.name, (unsigned long long)row->line, id);
}

/* The next course<N> at or after n with a value, or 0. */
static unsigned next_course_n(const struct extras *ex, unsigned n)
{
	for (; n <= PROFILE_MAX_N; n++)
		if (ex->course_n[n].len > 0)
			return n;
	return 0;
}

/* What the profile makes of a record read into r->row and r->ex. */
static void finish_record(struct roster_reader *r, struct row *row)
{
	struct extras *ex = &r->ex;
	/* `bulkreg drop` drops every row; a roster's status may ask to. */
	bool enrolling = r->action == ROW_ENROL;

	row->action = r->action;
	if (r->profile == PROFILE_MOODLE_FLATFILE) {
		/* 4 to 6 fields (start and end dates are optional); a flat
		 * file has no header to count against. */
		if (row->nfields >= 4 && row->nfields <= 6) {
			row->nfields = (uint32_t)r->ncols;
		} else if (!row->malformed) {
			row->malformed = true;
			snprintf(row->detail, sizeof(row->detail),
				 "%lu field%s: a flat-file line has 4 to 6 "
				 "(operation, role, user idnumber, course "
				 "idnumber[, start, end])",
				 (unsigned long)row->nfields,
				 row->nfields == 1 ? "" : "s");
		}
		if (row->malformed) {
			/* rejected malformed_row: nothing else is said */
		} else if (ex->operation.len == 3 &&
		    strncasecmp(ex->operation.text, "del", 3) == 0 && enrolling) {
			row->action = ROW_DROP_IF_PRESENT;
			set_drop_why(r, row, "operation", ex->operation.text, 3, 0);
		} else if (!(ex->operation.len == 3 &&
			   strncasecmp(ex->operation.text, "add", 3) == 0))
			malformed(row, "the operation is not add or del:",
				  &ex->operation);
	}
	if (ex->section.len > 0 &&
	    (r->course_from_section || row->v[FIELD_COURSE].len == 0))
		set_course(row, &ex->section, r->section_label);
	else if (r->course_from_section)
		set_course(row, &ex->section, r->section_label);
	else if (ex->section.len > 0)
		set_section(row, &ex->section);
	if (ex->status.len > 0 && enrolling) {
		row->action = profile_status_action(ex->status.text, ex->status.len);
		if (row->action != ROW_ENROL)
			set_drop_why(r, row, "status", ex->status.text,
				     kept_len(&ex->status), 0);
		check_status(r, row, "status", ex->status.text, kept_len(&ex->status),
			     NULL);
	}
	if (r->profile == PROFILE_MOODLE_UPLOAD)
		apply_account(r, row, ex, enrolling);
	if (ex->base_role.len > 0) {
		apply_base_role(row, ex);
		check_role(r, row, ex->base_role.text, kept_len(&ex->base_role));
	} else {
		apply_role(row, &ex->role);
		check_role(r, row, ex->role.text, kept_len(&ex->role));
	}
	if (r->has_override) {
		set_course(row, &r->override, "--course");
	} else if (ex->any_course_n) {
		unsigned n = next_course_n(ex, 1);
		if (n > 0) {
			if (next_course_n(ex, n + 1) > 0) {
				/* The other courses come as rows of their own,
				 * each from the row as read. */
				r->pending = *row;
				r->pending_ex = *ex;
				r->pending_next = n + 1;
			}
			apply_course_n(r, row, ex, n);
		}
	}
	/* Moodle's upload file also creates and updates users: a row with
	 * no course is for its user only. */
	if (r->profile == PROFILE_MOODLE_UPLOAD && !r->has_override &&
	    row->v[FIELD_COURSE].len == 0)
		row->user_only = true;
}

static bool data_record(void *ctx, size_t nfields, bool blank, uint64_t line)
{
	struct roster_reader *r = ctx;
	struct row *row = r->row;

	if (r->copy_end)
		r->copy_end(r->copy_ctx, blank, &row->record_ref);
	bool extra_value = r->extra_value;
	r->extra_value = false;
	if (r->past_n_len && !blank) {
		char shown[ERROR_MAX / 4];
		size_t used = 0;
		shown[0] = '\0';
		esc_quote(shown, sizeof(shown), &used, r->past_n_value,
			  r->past_n_len, NAME_SHOW);
		r->past_n_said = true;
		row_warning(r, "%s: line %llu: column %zu holds %s, which is not "
			       "enrolled (bulkreg reads course1 to course%d); "
			       "other rows with such values are not warned about",
			    r->cr.name, (unsigned long long)line,
			    r->past_n_col + 1, shown, PROFILE_MAX_N);
	}
	r->past_n_len = 0;
	if (blank) {
		clear_values(row);
		clear_extras(&r->ex);
		return false;
	}
	row->line = line;
	row->nfields = nfields > UINT32_MAX ? UINT32_MAX : (uint32_t)nfields;
	/* An export's row (not bulkreg's own roster, nor a flat file, which
	 * has its own rule) that ends in empty fields past the header (a
	 * trailing comma) reads as if they were not there: no value can have
	 * shifted.  A non-empty field past the header is still malformed_row,
	 * and so is a row shorter than the header: a value lost in the middle
	 * shifts every later one (a last name read as the first, an email as
	 * the last name; review 25 F13), and a row cut before its role or
	 * status would read as a student's enrolment (F04). */
	if ((r->profile != PROFILE_BULKREG || r->mapped) &&
	    r->profile != PROFILE_MOODLE_FLATFILE && !extra_value &&
	    nfields > r->ncols)
		row->nfields = (uint32_t)r->ncols;
	row->malformed = csvread_record_malformed(&r->cr);
	if (row->malformed) {
		/* Which column, by number and name (validation keeps it);
		 * a long header name is cut to fit the detail. */
		char col[200];
		csvread_column_name(&r->cr, csvread_record_malformed_field(&r->cr),
				    col, sizeof(col));
		snprintf(row->detail, sizeof(row->detail),
			 "column %s: text after a closing quote (write \"\" for "
			 "a quote inside a quoted value)",
			 col);
	}
	row->transcoded = csvread_encoding(&r->cr) != NULL;
	finish_record(r, row);
	return true;
}

/* The next course of a Moodle upload row read before. */
static void next_pending(struct roster_reader *r, struct row *row)
{
	unsigned n = next_course_n(&r->pending_ex, r->pending_next);
	*row = r->pending;
	apply_course_n(r, row, &r->pending_ex, n);
	r->pending_next = next_course_n(&r->pending_ex, n + 1) > 0 ? n + 1 : 0;
}

/* A Moodle flat file's first line, read as the header: now a row. */
static void replay_first(struct roster_reader *r, struct row *row)
{
	r->replay_first = false;
	clear_extras(&r->ex);
	for (size_t i = 0; i < r->ncols && i < ROSTER_MAX_COLUMNS; i++) {
		const struct header_col *c = &r->cols[i];
		size_t keep = c->len < sizeof(c->name) ? c->len : sizeof(c->name);
		put_value(row, &r->ex, r->label, r->map[i], c->name, keep);
		if (r->map[i].kind >= 0 && r->map[i].kind < FIELD_COUNT)
			row->v[r->map[i].kind].len = (uint32_t)c->len;
	}
	row->line = r->header_line;
	row->nfields = (uint32_t)r->ncols;
	row->transcoded = csvread_encoding(&r->cr) != NULL;
	finish_record(r, row);
}

static void row_warning(struct roster_reader *r, const char *fmt, ...)
{
	if (r->nrow_warnings == ROW_WARNINGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->row_warnings[r->nrow_warnings++], ERROR_MAX, fmt, ap);
	va_end(ap);
}

/* True if an unknown status was seen before (any case). */
static bool status_seen(const struct roster_reader *r, const char *v, size_t len)
{
	size_t keep = len < STATUS_KEEP ? len : STATUS_KEEP;
	for (size_t i = 0; i < r->nstatuses; i++)
		if (strlen(r->statuses[i]) == keep &&
		    strncasecmp(r->statuses[i], v, keep) == 0)
			return true;
	return false;
}

/* An unknown role skips the row, as any role that is not a student's; a
 * roster's own role column may mean something else (a club's "member"),
 * so each distinct value is said once, in the statuses' list (kept apart
 * by a leading byte no value has). */
static void check_role(struct roster_reader *r, const struct row *row,
		       const char *v, size_t len)
{
	/* A row rejected malformed_row is not skipped: nothing to say. */
	if (!row->not_a_student || len == 0 || profile_role_known(v, len) ||
	    row->malformed || row->nfields != r->ncols)
		return;
	char key[STATUS_KEEP + 1];
	size_t keep = len < STATUS_KEEP - 1 ? len : STATUS_KEEP - 1;
	snprintf(key, sizeof(key), "\x01%.*s", (int)keep, v);
	if (status_seen(r, key, strlen(key)) || r->statuses_full)
		return;
	if (r->nstatuses == STATUSES_KEPT) {
		r->statuses_full = true;
		return;
	}
	snprintf(r->statuses[r->nstatuses++], STATUS_KEEP + 1, "%s", key);
	char shown[ERROR_MAX / 4];
	size_t used = 0;
	shown[0] = '\0';
	esc_quote(shown, sizeof(shown), &used, v, len, NAME_SHOW);
	row_warning(r, "%s: line %llu: role %s is not one bulkreg knows (a "
		       "student's: student, learner, pupil, or empty): the row "
		       "is skipped as not_a_student; other rows with it are not "
		       "warned about%s",
		    r->cr.name, (unsigned long long)row->line, shown,
		    r->profile != PROFILE_CANVAS ? "" :
		    " (a Canvas custom role: a base_role_type column, as "
		    "Canvas's provisioning report has, is read instead -- "
		    "StudentEnrollment registers --, and --map "
		    "role=base_role_type, or role=HEADER, names another)");
}

/* A status bulkreg does not know enrols, as documented; it is said once
 * per distinct value, naming where it was first seen. */
static void check_status(struct roster_reader *r, const struct row *row,
			 const char *what, const char *v, size_t len,
			 const struct row_value *users_id)
{
	if (r->action != ROW_ENROL || profile_status_known(v, len) ||
	    status_seen(r, v, len) || row->malformed || row->nfields != r->ncols)
		return;
	if (r->nstatuses == STATUSES_KEPT) {
		if (!r->statuses_full)
			row_warning(r, "%s: line %llu: more than %d unknown "
				       "statuses: the rest are not named",
				    r->cr.name, (unsigned long long)row->line,
				    STATUSES_KEPT);
		r->statuses_full = true;
		return;
	}
	size_t keep = len < STATUS_KEEP ? len : STATUS_KEEP;
	snprintf(r->statuses[r->nstatuses++], STATUS_KEEP + 1, "%.*s", (int)keep, v);
	char shown[ERROR_MAX / 4];
	size_t used = 0;
	shown[0] = '\0';
	esc_quote(shown, sizeof(shown), &used, v, len, NAME_SHOW);
	const char *known = "(known: active, registered, waitlisted, enrolled, "
			    "or deleted, tobedeleted, inactive, completed, "
			    "deleted_last_completed to drop)";
	if (users_id) {
		char id[ERROR_MAX / 4];
		used = 0;
		id[0] = '\0';
		esc_quote(id, sizeof(id), &used, users_id->text, kept_len(users_id),
			  NAME_SHOW);
		row_warning(r, "%s: user %s has %s %s, which bulkreg does not "
			       "know %s: their rows enrol (first on line %llu of "
			       "%s); other rows with it are not warned about",
			    r->users_path, id, what, shown, known,
			    (unsigned long long)row->line, r->cr.name);
	} else {
		row_warning(r, "%s: line %llu: %s %s is not one bulkreg knows %s: "
			       "the row enrols; other rows with it are not "
			       "warned about",
			    r->cr.name, (unsigned long long)row->line, what, shown,
			    known);
	}
}

const char *roster_take_warning(struct roster_reader *r)
{
	if (r->row_warning_next < r->nrow_warnings)
		return r->row_warnings[r->row_warning_next++];
	r->nrow_warnings = r->row_warning_next = 0;
	return NULL;
}

/* --users: the user's names and email fill the row's empty ones; the
 * user's role counts if the row has none; a user whose status means
 * "removed" makes the row a drop request; a user the file lacks leaves
 * the row only for a student already in the database. */
static enum status users_join_apply(struct roster_reader *r, struct row *row,
				    struct error *err)
{
	const struct row_value *id = &row->v[FIELD_STUDENT_ID];
	if (!r->users || id->len == 0 || id->len > ROW_VALUE_MAX)
		return ST_OK;
	struct user_values u;
	bool found = false;
	enum status st = users_join_find(r->users, id->text, id->len, &found, &u, err);
	if (st != ST_OK)
		return st;
	if (!found) {
		row->if_new_student = REASON_UNKNOWN_STUDENT;
		row->users_id_label = r->users_id_label[0] ? r->users_id_label : NULL;
		return ST_OK;
	}
	static const enum row_field filled[] = {FIELD_FIRST_NAME, FIELD_LAST_NAME,
						FIELD_EMAIL};
	const struct row_value *from[] = {&u.first_name, &u.last_name, &u.email};
	for (size_t k = 0; k < 3; k++) {
		if (row->v[filled[k]].len == 0 && from[k]->len > 0) {
			row->v[filled[k]] = *from[k];
			row->present |= 1u << filled[k];
			row->label[filled[k]] = r->users_label[filled[k]];
		}
	}
	if (r->ex.role.len == 0 && r->ex.base_role.len == 0 &&
	    r->pending_next == 0)
		apply_role(row, &u.role);
	if (u.status.len > 0 && r->action == ROW_ENROL &&
	    profile_status_action(u.status.text, u.status.len) != ROW_ENROL &&
	    row->action == ROW_ENROL) {
		row->action = ROW_DROP_IF_PRESENT;
		set_drop_why(r, row, "status", u.status.text, kept_len(&u.status),
			     u.line);
	}
	if (u.status.len > 0)
		check_status(r, row, "status", u.status.text, kept_len(&u.status),
			     id);
	return ST_OK;
}

enum status roster_next(struct roster_reader *r, struct row *row,
			struct error *err)
{
	clear_values(row);
	row->line = 0;
	row_reset_outcome(row);
	if (r->pending_next > 0) {
		next_pending(r, row);
	} else if (r->replay_first) {
		replay_first(r, row);
	} else {
		clear_extras(&r->ex);
		r->row = row;
		enum status st = csvread_next(&r->cr, err);
		r->row = NULL;
		if (st != ST_OK)
			return st;
	}
	return users_join_apply(r, row, err);
}

/* ---- the header ------------------------------------------------------------ */

static void header_field(void *ctx, size_t index, const unsigned char *s,
			 size_t len)
{
	struct roster_reader *r = ctx;
	if (index >= ROSTER_MAX_COLUMNS) {
		/* Refused at once: the rest of the line need not be read
		 * (it might never end). */
		if (!r->too_many_columns) {
			r->too_many_columns = true;
			r->header_line = csvread_record_line(&r->cr);
			csvread_pause(&r->cr);
		}
		return;
	}
	if (r->copy_field)
		copy_untrimmed(r, index);
	struct header_col *c = &r->cols[index];
	memcpy(c->name, s, len < sizeof(c->name) ? len : sizeof(c->name));
	c->len = len;
	c->hash = csvread_name_hash(s, len);
	c->field = COL_IGNORED;
}

static bool header_record(void *ctx, size_t nfields, bool blank, uint64_t line)
{
	struct roster_reader *r = ctx;
	if (r->too_many_columns)
		return true;
	if (r->copy_end) {
		uint64_t ref;
		r->copy_end(r->copy_ctx, blank, &ref);
	}
	if (blank)
		return false;
	r->ncols = nfields;
	r->header_line = line;
	return true;
}

/* The column's name in its normal form (names longer than NAME_KEEP
 * match nothing: "" is returned). */
static const char *norm_of(const struct header_col *c, char norm[NAME_KEEP + 1])
{
	norm[0] = '\0';
	if (c->len <= NAME_KEEP)
		csvread_norm_name(c->name, c->len, norm, NAME_KEEP + 1);
	return norm;
}

/* The kind of column c: --map first, then the profile. */
static int kind_for(const struct roster_reader *r, const struct csvread_map *map,
		    struct header_col *c)
{
	char norm[NAME_KEEP + 1];
	norm_of(c, norm);
	int kind = profile_map_column(map, norm);
	c->n = 0;
	if (kind != COL_IGNORED)
		return kind;
	kind = profile_column(r->profile, norm, &c->n);
	/* A field --map gives another column is that column's alone (a
	 * roster's own 'status' beside --map status="Enroll Status"). */
	for (size_t k = 0; map && k < map->count; k++)
		if (map->kind[k] == kind)
			return COL_IGNORED;
	return kind;
}

static const char *kind_name(int kind)
{
	switch (kind) {
	case COL_ROLE:
		return "role";
	case COL_STATUS:
		return "status";
	case COL_SECTION:
		return "section_id";
	case COL_OPERATION:
		return "operation";
	case COL_COURSE_N:
		return "course<N>";
	case COL_ROLE_N:
		return "role<N>";
	case COL_TYPE_N:
		return "type<N>";
	case COL_ENROLSTATUS_N:
		return "enrolstatus<N>";
	case COL_DELETED:
		return "deleted";
	case COL_SUSPENDED:
		return "suspended";
	case COL_ROLE_ID:
		return "role_id";
	case COL_BASE_ROLE:
		return "base_role_type";
	default:
		return row_field_name((enum row_field)kind);
	}
}

static void quote_col(char *out, size_t cap, size_t *used,
		      const struct header_col *c)
{
	size_t len = c->len < sizeof(c->name) ? c->len : sizeof(c->name);
	esc_quote(out, cap, used, (const char *)c->name, len, NAME_SHOW);
}

static void append_text(char *out, size_t cap, size_t *used, const char *s)
{
	size_t n = strlen(s);
	if (*used + 1 >= cap)
		return;
	if (n > cap - 1 - *used)
		n = cap - 1 - *used;
	memcpy(out + *used, s, n);
	*used += n;
	out[*used] = '\0';
}

/* "'a', 'b', and 3 more" over the columns for which `pick` is true. */
static void list_columns(char *out, size_t cap, size_t *used,
			 const struct roster_reader *r,
			 bool (*pick)(const struct roster_reader *, size_t))
{
	size_t listed = 0, skipped = 0;
	for (size_t i = 0; i < r->ncols; i++) {
		if (!pick(r, i))
			continue;
		if (listed == NAMES_LISTED) {
			skipped++;
			continue;
		}
		if (listed++ > 0)
			append_text(out, cap, used, ", ");
		quote_col(out, cap, used, &r->cols[i]);
	}
	if (skipped > 0) {
		char more[48];
		snprintf(more, sizeof(more), " and %zu more", skipped);
		append_text(out, cap, used, more);
	}
}

static bool pick_any(const struct roster_reader *r, size_t i)
{
	(void)r;
	(void)i;
	return true;
}

static bool pick_unknown(const struct roster_reader *r, size_t i)
{
	return r->cols[i].field < 0;
}

static enum status check_columns(struct roster_reader *r, struct error *err)
{
	const char *name = r->cr.name;
	unsigned long long line = (unsigned long long)r->header_line;

	char most[32], past[32];
	if (r->too_many_columns || r->ncols > ROSTER_MAX_COLUMNS)
		return error_set(err, ST_INPUT,
				 "%s: line %llu: the header has more than %s "
				 "columns (column %s is past the limit)",
				 name, line,
				 text_group_digits(ROSTER_MAX_COLUMNS, most),
				 text_group_digits(ROSTER_MAX_COLUMNS + 1, past));
	return ST_OK;
}

static enum status duplicate_error(struct roster_reader *r, size_t first,
				   size_t second, struct error *err)
{
	char what[ERROR_MAX];
	size_t used = 0;
	const struct header_col *a = &r->cols[first], *b = &r->cols[second];

	what[0] = '\0';
	if (a->field >= 0) {
		append_text(what, sizeof(what), &used, "'");
		append_text(what, sizeof(what), &used, kind_name(a->field));
		append_text(what, sizeof(what), &used, "'");
	} else {
		quote_col(what, sizeof(what), &used, a);
	}
	char names[ERROR_MAX];
	size_t nused = 0;
	names[0] = '\0';
	if (a->len != b->len || memcmp(a->name, b->name, a->len < NAME_KEEP ?
							  a->len : NAME_KEEP) != 0) {
		append_text(names, sizeof(names), &nused, ": ");
		quote_col(names, sizeof(names), &nused, a);
		append_text(names, sizeof(names), &nused, " and ");
		quote_col(names, sizeof(names), &nused, b);
	}
	return error_set(err, ST_INPUT,
			 "%s: line %llu: column %s appears twice (columns %zu "
			 "and %zu%s)",
			 r->cr.name, (unsigned long long)r->header_line, what,
			 first + 1, second + 1, names);
}

/* An export's column named as bulkreg names a name or the email is read
 * as that field when no column of the profile's gives it (a Canvas
 * `user_id,course_id,email`): never dropped silently.  seen[kind][0] is
 * the column of each kind so far. */
static enum status adopt_optional(struct roster_reader *r,
				  size_t seen[][PROFILE_MAX_N + 1],
				  struct error *err)
{
	bool adopted[FIELD_COUNT] = {false};
	for (size_t i = 0; i < r->ncols; i++) {
		struct header_col *c = &r->cols[i];
		if (c->field != COL_IGNORED)
			continue;
		char norm[NAME_KEEP + 1];
		int kind = profile_optional_column(r->profile, norm_of(c, norm));
		if (kind == COL_IGNORED)
			continue;
		size_t *first = &seen[kind][0];
		if (*first != SIZE_MAX && !adopted[kind])
			continue; /* the profile's own column gives it */
		c->field = kind;
		if (*first != SIZE_MAX)
			return duplicate_error(r, *first, i, err);
		*first = i;
		adopted[kind] = true;
	}
	return ST_OK;
}

/* Gives each column its kind; refuses a kind given twice (two columns
 * that are ignored may share a name).  A Moodle flat file has no header:
 * its columns go by position. */
static enum status map_columns(struct roster_reader *r,
			       const struct csvread_map *map, struct error *err)
{
	static const int flatfile[] = {COL_OPERATION, COL_ROLE, FIELD_STUDENT_ID,
				       FIELD_COURSE};
	size_t seen[COL_KIND_COUNT][PROFILE_MAX_N + 1];

	for (size_t k = 0; k < COL_KIND_COUNT; k++)
		for (size_t n = 0; n <= PROFILE_MAX_N; n++)
			seen[k][n] = SIZE_MAX;
	for (size_t i = 0; i < r->ncols; i++) {
		struct header_col *c = &r->cols[i];
		if (r->profile == PROFILE_MOODLE_FLATFILE) {
			c->field = i < 4 ? flatfile[i] : COL_IGNORED;
			c->n = 0;
		} else {
			c->field = kind_for(r, map, c);
		}
		if (c->field == COL_IGNORED)
			continue;
		size_t *first = &seen[c->field][c->n];
		if (*first != SIZE_MAX)
			return duplicate_error(r, *first, i, err);
		*first = i;
	}
	return adopt_optional(r, seen, err);
}

/* How a delimiter is named in messages and options: "';'", "tab". */
static const char *delimiter_shown(unsigned char d, char out[8])
{
	if (d == '\t')
		snprintf(out, 8, "tab");
	else
		snprintf(out, 8, "'%c'", d);
	return out;
}

/* A header read as one column that holds another delimiter is almost
 * always a roster exported with ';' (Excel in many locales), tabs or '|'.
 * When a "sep=" line chose the delimiter, the hint says so: --delimiter
 * wins over it. */
static const char *delimiter_hint(const struct roster_reader *r, char *out,
				  size_t cap)
{
	static const struct {
		char c;
		const char *looks;
	} seen[] = {
		{ ';', "';'-separated" },
		{ '\t', "tab-separated" },
		{ '|', "'|'-separated" },
		{ ',', "comma-separated" },
	};
	out[0] = '\0';
	if (r->ncols != 1)
		return out;
	const struct header_col *c = &r->cols[0];
	size_t n = c->len < sizeof(c->name) ? c->len : sizeof(c->name);
	for (size_t i = 0; i < sizeof(seen) / sizeof(seen[0]); i++) {
		unsigned char d = (unsigned char)seen[i].c;
		if (d == csvread_delimiter(&r->cr) || !memchr(c->name, d, n))
			continue;
		char by_sep[64] = "", cur[8], want[8];
		if (csvread_had_sep_line(&r->cr) && !csvread_sep_ignored(&r->cr))
			snprintf(by_sep, sizeof(by_sep),
				 " (the file's 'sep=' line chose %s)",
				 delimiter_shown(csvread_delimiter(&r->cr), cur));
		const char *w = delimiter_shown(d, want);
		snprintf(out, cap, "; the header looks %s%s: try --delimiter %s",
			 seen[i].looks, by_sep, w);
		return out;
	}
	return out;
}

/* Every header --map names must be in the file: a mapped column that is
 * not there would leave its field silently empty. */
static enum status check_map(struct roster_reader *r,
			     const struct roster_options *opts, struct error *err)
{
	const struct csvread_map *m = opts->map;
	if (!m || r->profile == PROFILE_MOODLE_FLATFILE)
		return ST_OK;
	for (size_t k = 0; k < m->count; k++) {
		bool found = false;
		for (size_t i = 0; i < r->ncols && !found; i++) {
			char norm[NAME_KEEP + 1];
			found = csvread_name_eq(norm_of(&r->cols[i], norm),
						m->header[k]);
		}
		if (found)
			continue;
		char shown[ERROR_MAX / 2];
		size_t used = 0;
		shown[0] = '\0';
		esc_quote(shown, sizeof(shown), &used, m->raw[k], strlen(m->raw[k]),
			  NAME_SHOW);
		char found_cols[ERROR_MAX];
		size_t fused = 0;
		found_cols[0] = '\0';
		list_columns(found_cols, sizeof(found_cols), &fused, r, pick_any);
		return error_set(err, ST_INPUT,
				 "%s: line %llu: --map %s: the header has no column "
				 "%s (columns found: %s)",
				 r->cr.name, (unsigned long long)r->header_line,
				 m->given[k], shown, found_cols);
	}
	return ST_OK;
}

/* "; 'course' is not a moodle-upload column: --map course=course reads
 * it" for a column the profile ignores that bulkreg would read as f. */
static void ignored_hint(const struct roster_reader *r, enum row_field f,
			 char *out, size_t cap, size_t *used)
{
	for (size_t i = 0; i < r->ncols; i++) {
		const struct header_col *c = &r->cols[i];
		char norm[NAME_KEEP + 1];
		unsigned n;
		if (c->field != COL_IGNORED ||
		    profile_column(PROFILE_BULKREG, norm_of(c, norm), &n) != (int)f)
			continue;
		append_text(out, cap, used, "; ");
		quote_col(out, cap, used, c);
		append_text(out, cap, used, " is not a ");
		append_text(out, cap, used, profile_name(r->profile));
		append_text(out, cap, used, " column: --map ");
		append_text(out, cap, used, row_field_name(f));
		append_text(out, cap, used, "=");
		size_t len = c->len < sizeof(c->name) ? c->len : sizeof(c->name);
		char name[NAME_KEEP + 1];
		snprintf(name, sizeof(name), "%.*s", (int)(len < NAME_KEEP ? len : NAME_KEEP),
			 (const char *)c->name);
		append_text(out, cap, used, strchr(name, ' ') ? "'" : "");
		append_text(out, cap, used, name);
		append_text(out, cap, used, strchr(name, ' ') ? "'" : "");
		append_text(out, cap, used, " reads it");
		return;
	}
}

static enum status check_required(struct roster_reader *r, bool need_course,
				  struct error *err)
{
	/* The email is optional: enrollment exports carry none (see
	 * row->if_new_student). */
	static const enum row_field required[] = {FIELD_STUDENT_ID, FIELD_COURSE};
	bool have[COL_KIND_COUNT] = {false};
	char missing[256], hints[ERROR_MAX];
	size_t used = 0, nmissing = 0, hused = 0;

	for (size_t i = 0; i < r->ncols; i++)
		if (r->cols[i].field >= 0)
			have[r->cols[i].field] = true;
	/* A Canvas section or a Moodle course<N> stands for the course. */
	have[FIELD_COURSE] |= have[COL_SECTION] || have[COL_COURSE_N];
	missing[0] = hints[0] = '\0';
	for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++) {
		enum row_field f = required[k];
		if (have[f] || (f == FIELD_COURSE && !need_course))
			continue;
		/* Named as the profile's own header names it. */
		append_text(missing, sizeof(missing), &used, nmissing++ ? ", " : "");
		append_text(missing, sizeof(missing), &used,
			    profile_required_label(r->profile, f));
		if (r->profile != PROFILE_BULKREG)
			ignored_hint(r, f, hints, sizeof(hints), &hused);
	}
	if (nmissing == 0)
		return ST_OK;

	char found[ERROR_MAX], dhint[160];
	size_t fused = 0;
	found[0] = '\0';
	list_columns(found, sizeof(found), &fused, r, pick_any);
	const char *profile_note = r->profile == PROFILE_BULKREG ? "" : " for ";
	delimiter_hint(r, dhint, sizeof(dhint));
	/* A courses file given here by mistake (review 23 F08). */
	bool courses_file = false;
	for (size_t i = 0; i < r->ncols; i++)
		courses_file |= r->cols[i].len == 8 &&
				strncasecmp((const char *)r->cols[i].name,
					    "capacity", 8) == 0;
	courses_file &= !have[FIELD_STUDENT_ID];
	char chint[ERROR_MAX / 2] = "";
	if (courses_file && !dhint[0])
		snprintf(chint, sizeof(chint),
			 "; with a capacity column this looks like a courses "
			 "file (did you mean 'bulkreg course import %s'?)",
			 r->cr.name);
	return error_set(err, ST_INPUT,
			 "%s: line %llu: missing required column%s %s%s%s "
			 "(columns found: %s)%s%s%s",
			 r->cr.name, (unsigned long long)r->header_line,
			 nmissing > 1 ? "s" : "", missing, profile_note,
			 r->profile == PROFILE_BULKREG ? "" : profile_name(r->profile),
			 found, hints, dhint,
			 /* A header read with the wrong delimiter is one
			  * column: the course is not what is missing. */
			 chint[0] ? chint :
			 have[FIELD_COURSE] || dhint[0] ? "" :
			 "; --course CODE puts every row into one course");
}

/* Canvas's spec takes role or role_id.  A role_id is the number an
 * account gives a role (custom roles have their own), so it cannot tell a
 * student's row from a teacher's: a file with only it is refused rather
 * than every teacher registered. */
static enum status check_role_id(struct roster_reader *r, struct error *err)
{
	size_t role_id = SIZE_MAX;
	for (size_t i = 0; i < r->ncols; i++) {
		if (r->cols[i].field == COL_ROLE ||
		    r->cols[i].field == COL_BASE_ROLE)
			return ST_OK;
		if (r->cols[i].field == COL_ROLE_ID)
			role_id = i;
	}
	if (role_id == SIZE_MAX)
		return ST_OK;
	char col[ERROR_MAX / 4];
	size_t used = 0;
	col[0] = '\0';
	quote_col(col, sizeof(col), &used, &r->cols[role_id]);
	return error_set(err, ST_INPUT,
			 "%s: line %llu: the header has %s (column %zu) and no 'role' column: a "
			 "role_id is the number a Canvas account gives a role "
			 "(custom roles have their own), so it cannot tell a "
			 "student from a teacher and bulkreg does not guess; add "
			 "a 'role' column (student, teacher, ta, observer, "
			 "designer), or name the column that holds the role with "
			 "--map role=HEADER",
			 r->cr.name, (unsigned long long)r->header_line, col,
			 role_id + 1);
}

static void add_warning(struct roster_reader *r, const char *text)
{
	if (r->nwarnings < MAX_WARNINGS)
		snprintf(r->warnings[r->nwarnings++], ERROR_MAX, "%s", text);
}

/* The two columns --rejects adds after a record (rejects.h): a rejects
 * file run again is read as the roster it came from, without a warning
 * about them (cron would mail it every night). */
static bool rejects_column(const struct roster_reader *r, size_t i)
{
	static const char *const added[2] = { "reason", "detail" };
	if (r->ncols < 3 || i + 2 < r->ncols)
		return false;
	char norm[NAME_KEEP + 1];
	for (size_t k = 0; k < 2; k++)
		if (r->cols[r->ncols - 2 + k].field >= 0 ||
		    !csvread_name_eq(norm_of(&r->cols[r->ncols - 2 + k], norm),
				     added[k]))
			return false;
	return true;
}

/* A header cell left empty (a spreadsheet's trailing ones, ";;;"): its
 * column is ignored like any unknown one, but there is no name to warn
 * about. */
static bool unnamed_column(const struct roster_reader *r, size_t i)
{
	char norm[NAME_KEEP + 1];
	return r->cols[i].len <= NAME_KEEP &&
	       norm_of(&r->cols[i], norm)[0] == '\0';
}

static bool pick_unknown_to_warn(const struct roster_reader *r, size_t i)
{
	return pick_unknown(r, i) && !rejects_column(r, i) &&
	       !unnamed_column(r, i);
}

static void warn_unknown(struct roster_reader *r)
{
	char msg[ERROR_MAX];
	size_t used = 0, count = 0;

	for (size_t i = 0; i < r->ncols; i++)
		count += pick_unknown_to_warn(r, i);
	if (count == 0)
		return;
	snprintf(msg, sizeof(msg), "%s: ignoring unknown column%s: ", r->cr.name,
		 count > 1 ? "s" : "");
	used = strlen(msg);
	list_columns(msg, sizeof(msg), &used, r, pick_unknown_to_warn);
	add_warning(r, msg);
}

/* Moodle upload: course<N>, role<N>, type<N> or enrolstatus<N> with N past
 * PROFILE_MAX_N is not read: said, not dropped in silence. */
static void warn_past_max_n(struct roster_reader *r)
{
	static const char *const prefixes[] = {"course", "role", "type",
					       "enrolstatus"};
	for (size_t i = 0; i < r->ncols; i++) {
		char norm[NAME_KEEP + 1], squeezed[NAME_KEEP + 1];
		size_t k = 0;
		norm_of(&r->cols[i], norm);
		for (const char *p = norm; *p; p++)
			if (*p != '_')
				squeezed[k++] = *p;
		squeezed[k] = '\0';
		for (size_t j = 0; j < sizeof(prefixes) / sizeof(prefixes[0]); j++) {
			size_t n = strlen(prefixes[j]);
			const char *d = squeezed + n;
			if (strncmp(squeezed, prefixes[j], n) != 0 || *d < '1' ||
			    *d > '9' || strspn(d, "0123456789") != strlen(d) ||
			    (strlen(d) <= 2))
				continue;
			char msg[ERROR_MAX], col[160];
			size_t used;
			snprintf(msg, sizeof(msg), "%s: ignoring column ", r->cr.name);
			used = strlen(msg);
			quote_col(msg, sizeof(msg), &used, &r->cols[i]);
			snprintf(col, sizeof(col),
				 " (column %zu): bulkreg reads course1 to course%d "
				 "(and their role, type and enrolstatus); enrolments "
				 "past it are not read",
				 i + 1, PROFILE_MAX_N);
			append_text(msg, sizeof(msg), &used, col);
			add_warning(r, msg);
			if (j == 0)
				r->past_n_col = i;
			return; /* one is enough to say it */
		}
	}
}

static void warn_override(struct roster_reader *r, const char *code)
{
	char msg[ERROR_MAX];
	size_t used;

	for (size_t i = 0; i < r->ncols; i++) {
		if (r->cols[i].field != FIELD_COURSE)
			continue;
		snprintf(msg, sizeof(msg), "%s: ignoring the course column ",
			 r->cr.name);
		used = strlen(msg);
		quote_col(msg, sizeof(msg), &used, &r->cols[i]);
		char col[64];
		snprintf(col, sizeof(col), " (column %zu): every row goes to ", i + 1);
		append_text(msg, sizeof(msg), &used, col);
		esc_quote(msg, sizeof(msg), &used,
				   (const char *)code, strlen(code),
				   NAME_SHOW);
		append_text(msg, sizeof(msg), &used, " (--course)");
		add_warning(r, msg);
		r->map[i].kind = COL_IGNORED;
	}
}

/* "user_id (student_id)" into out for column c read as `field`; false
 * (nothing written) when the column is named as the field or its name is
 * too long to show. */
static bool column_label(const struct header_col *c, const char *field,
			 char *out, size_t cap)
{
	char norm[NAME_KEEP + 1];
	if (c->len > NAME_KEEP || csvread_name_eq(norm_of(c, norm), field))
		return false;
	snprintf(out, cap, "%.*s (%s)", (int)c->len, (const char *)c->name, field);
	return true;
}

/* What details call the values (struct row's label): each field's column
 * when its name is not the field's own; Canvas's section; Moodle's
 * course<N>; the values --users fills in, by their file. */
static void make_labels(struct roster_reader *r, const char *users_path)
{
	static const char *const flatfile[FIELD_COUNT] = {
		[FIELD_STUDENT_ID] = "field 3 (student_id)",
		[FIELD_COURSE] = "field 4 (course)",
	};
	/* --course-from section_id names it even if the file lacks it. */
	snprintf(r->section_label, sizeof(r->section_label), "section_id (course)");
	for (size_t i = 0; i < r->ncols; i++) {
		const struct header_col *c = &r->cols[i];
		int k = c->field;
		if (r->profile == PROFILE_MOODLE_FLATFILE) {
			/* No header: its first line is data. */
			if (k >= 0 && k < FIELD_COUNT)
				r->label[k] = flatfile[k];
		} else if (k >= 0 && k < FIELD_COUNT) {
			if (column_label(c, row_field_name((enum row_field)k),
					 r->labels[k], sizeof(r->labels[k])))
				r->label[k] = r->labels[k];
		} else if (k == COL_SECTION) {
			column_label(c, "course", r->section_label,
				     sizeof(r->section_label));
		} else if (k == COL_COURSE_N) {
			column_label(c, "course", r->course_n_label[c->n],
				     sizeof(r->course_n_label[c->n]));
		}
	}
	if (!users_path)
		return;
	/* A long path is shown by its last part, or not at all. */
	const char *shown = users_path, *slash = strrchr(users_path, '/');
	if (strlen(shown) > 80 && slash)
		shown = slash + 1;
	for (int f = 0; f < FIELD_COUNT; f++)
		snprintf(r->users_label[f], sizeof(r->users_label[f]),
			 "%s (from %s)", row_field_name((enum row_field)f),
			 strlen(shown) > 80 ? "--users" : shown);
}

/* --profile, or the one the header's names (or first field) point to. */
static enum status choose_profile(struct roster_reader *r,
				  const struct roster_options *opts,
				  struct error *err)
{
	if (opts->profile) {
		if (!profile_parse(opts->profile, &r->profile))
			return error_set(err, ST_USAGE,
					 "--profile: '%s' is not one of bulkreg, "
					 "oneroster, canvas, moodle-flatfile, "
					 "moodle-upload, clever",
					 opts->profile);
		return ST_OK;
	}
	char (*norm)[NAME_KEEP + 1] = calloc(r->ncols ? r->ncols : 1, sizeof(*norm));
	const char **names = calloc(r->ncols ? r->ncols : 1, sizeof(*names));
	enum status st = ST_OK;
	if (!norm || !names) {
		st = error_set(err, ST_NOMEM, "%s: out of memory", r->cr.name);
	} else {
		for (size_t i = 0; i < r->ncols; i++)
			names[i] = norm_of(&r->cols[i], norm[i]);
		struct error why = {0};
		st = profile_detect(names, r->ncols, &r->profile, &why);
		if (st != ST_OK)
			error_set(err, st, "%s: line %llu: %s", r->cr.name,
				  (unsigned long long)r->header_line, why.msg);
	}
	free(norm);
	free(names);
	return st;
}

static enum status read_header(struct roster_reader *r,
			       const struct roster_options *opts,
			       struct error *err)
{
	enum status st;

	r->cols = calloc(ROSTER_MAX_COLUMNS, sizeof(*r->cols));
	if (!r->cols)
		return error_set(err, ST_NOMEM, "%s: out of memory", r->cr.name);
	r->cr.on_field = header_field;
	r->cr.on_record = header_record;
	st = csvread_next(&r->cr, err);
	if (st == ST_EOF)
		return error_set(err, ST_INPUT, "%s: %s", r->cr.name,
				 csvread_payload_bytes(&r->cr) > 0 ? "no header line"
				 : r->cr.bom ? "empty file (only a byte order mark)"
					     : "empty file");
	if (st != ST_OK)
		return st;
	if ((st = check_columns(r, err)) != ST_OK ||
	    (st = choose_profile(r, opts, err)) != ST_OK ||
	    (st = map_columns(r, opts->map, err)) != ST_OK ||
	    (st = check_map(r, opts, err)) != ST_OK ||
	    (st = check_required(r, !opts->course_override, err)) != ST_OK ||
	    (st = check_role_id(r, err)) != ST_OK)
		return st;
	for (size_t i = 0; i < r->ncols; i++) {
		r->map[i].kind = (signed char)r->cols[i].field;
		r->map[i].n = (unsigned char)r->cols[i].n;
	}
	make_labels(r, opts->users_path);
	char note[ERROR_MAX];
	if (csvread_bom_note(&r->cr, note, sizeof(note)))
		add_warning(r, note);
	if (csvread_sep_ignored(&r->cr)) {
		char was[8], now[8];
		snprintf(note, sizeof(note),
			 "%s: line 1: the file's 'sep=' line names %s; --delimiter %s "
			 "was given and wins",
			 r->cr.name, delimiter_shown(csvread_sep_ignored(&r->cr), was),
			 delimiter_shown(csvread_delimiter(&r->cr), now));
		add_warning(r, note);
	}
	/* Exports carry many columns bulkreg has no use for: only today's
	 * rosters are warned about them. */
	if (r->profile == PROFILE_BULKREG)
		warn_unknown(r);
	r->past_n_col = SIZE_MAX;
	if (r->profile == PROFILE_MOODLE_UPLOAD)
		warn_past_max_n(r);
	if (opts->course_override)
		warn_override(r, opts->course_override);
	r->replay_first = r->profile == PROFILE_MOODLE_FLATFILE;
	return ST_OK;
}

/* ---- opening and closing ---------------------------------------------------- */

static bool delimiter_ok(unsigned char d)
{
	return d == ',' || d == ';' || d == '\t' || d == '|';
}

enum status roster_open(const char *path, const struct roster_options *opts,
			struct roster_reader **out, struct error *err)
{
	struct roster_reader *r;
	enum status st;

	*out = NULL;
	if (!delimiter_ok(opts->delimiter))
		return error_set(err, ST_USAGE, "unsupported delimiter 0x%02X",
				 opts->delimiter);
	r = calloc(1, sizeof(*r));
	if (!r)
		return error_set(err, ST_NOMEM, "%s: out of memory", path);
	st = csvread_open(&r->cr, path, opts->delimiter, err);
	if (st != ST_OK) {
		free(r);
		return st;
	}
	r->cr.delim_given = opts->delimiter_given;
	if (opts->users_path)
		r->cr.utf8_advice = "run without --encoding (it is the roster's; "
				    "--users-encoding NAME is the --users file's)";
	if (opts->encoding &&
	    (st = csvread_set_encoding(&r->cr, opts->encoding, err)) != ST_OK) {
		roster_close(r);
		return st;
	}
	r->cr.ctx = r;
	r->action = opts->action;
	r->cr.cancelled = opts->cancelled;
	r->cr.cancel_ctx = opts->cancel_ctx;
	r->copy_field = opts->copy_field;
	r->copy_end = opts->copy_end;
	r->copy_ctx = opts->copy_ctx;
	if (opts->course_override) {
		const char *code = opts->course_override;
		r->has_override = true;
		set_value(&r->override, (const unsigned char *)code, strlen(code));
	}
	r->course_from_section = opts->course_from_section;
	r->users_path = opts->users_path;
	r->mapped = opts->map && opts->map->count > 0;
	st = read_header(r, opts, err);
	if (st == ST_OK && opts->users_path)
		st = users_join_open_delim(opts->users_path,
					   opts->users_encoding ? opts->users_encoding
								: opts->encoding,
					   opts->delimiter, &r->users, err);
	if (st == ST_OK && r->users) {
		const char *idc = users_join_id_column(r->users);
		size_t used = (size_t)snprintf(r->users_id_label,
					       sizeof(r->users_id_label),
					       "looked up in its column ");
		esc_quote(r->users_id_label, sizeof(r->users_id_label), &used,
			  idc, strlen(idc), 48);
	}
	if (st == ST_OK && r->users && users_join_bom_note(r->users))
		add_warning(r, users_join_bom_note(r->users));
	if (st == ST_OK && r->users && users_join_warning(r->users))
		add_warning(r, users_join_warning(r->users));
	if (!r->replay_first) {
		free(r->cols); /* a flat file's first row is still to come */
		r->cols = NULL;
	}
	if (st != ST_OK) {
		roster_close(r);
		return st;
	}
	r->cr.on_field = data_field;
	r->cr.on_record = data_record;
	*out = r;
	return ST_OK;
}

void roster_file_format(const struct roster_reader *r,
			struct roster_file_format *out)
{
	out->delimiter = csvread_delimiter(&r->cr);
	out->encoding = csvread_encoding(&r->cr);
	out->bom = csvread_had_bom(&r->cr);
	out->sep_line = csvread_had_sep_line(&r->cr);
	out->eol = csvread_line_end(&r->cr);
}

void roster_close(struct roster_reader *r)
{
	if (!r)
		return;
	users_join_close(r->users);
	csvread_close(&r->cr);
	free(r->cols);
	free(r);
}

size_t roster_warning_count(const struct roster_reader *r)
{
	return r->nwarnings;
}

const char *roster_warning(const struct roster_reader *r, size_t i)
{
	return i < r->nwarnings ? r->warnings[i] : NULL;
}

size_t roster_columns(const struct roster_reader *r)
{
	return r->ncols;
}

const char *roster_name(const struct roster_reader *r)
{
	return r->cr.name;
}

void roster_sha256_hex(const struct roster_reader *r, char hex[65])
{
	csvread_sha256_hex(&r->cr, hex);
}

const char *roster_users_sha256_hex(const struct roster_reader *r)
{
	return r->users ? users_join_sha256_hex(r->users) : NULL;
}

uint64_t roster_bytes_read(const struct roster_reader *r)
{
	return r->cr.bytes;
}

uint64_t roster_bytes_parsed(const struct roster_reader *r)
{
	return csvread_bytes_parsed(&r->cr);
}

uint64_t roster_input_size(const struct roster_reader *r)
{
	return csvread_input_size(&r->cr);
}

const char *roster_profile(const struct roster_reader *r)
{
	if (r->mapped && r->profile == PROFILE_BULKREG)
		return "map";
	return profile_name(r->profile);
}

size_t roster_held_bytes(const struct roster_reader *r)
{
	return r->users ? users_join_bytes(r->users) : 0;
}
