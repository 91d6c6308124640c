/* profile: header names per export format, detection, roles and statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csvread.h"
#include "parse.h"
#include "profile.h"

/* Today's headers and aliases (they keep working).  Names match with
 * their separators left out (csvread_name_eq): given_name is GivenName. */
static const struct csvread_alias bulkreg_names[] = {
	{"student_id", FIELD_STUDENT_ID},  {"id", FIELD_STUDENT_ID},
	{"student", FIELD_STUDENT_ID},     {"sourced_id", FIELD_STUDENT_ID},
	{"user_sourced_id", FIELD_STUDENT_ID},
	{"first_name", FIELD_FIRST_NAME},  {"given_name", FIELD_FIRST_NAME},
	{"first", FIELD_FIRST_NAME},
	{"last_name", FIELD_LAST_NAME},    {"family_name", FIELD_LAST_NAME},
	{"last", FIELD_LAST_NAME},         {"surname", FIELD_LAST_NAME},
	{"email", FIELD_EMAIL},            {"mail", FIELD_EMAIL},
	{"course", FIELD_COURSE},          {"course_code", FIELD_COURSE},
	{"class", FIELD_COURSE},           {"class_sourced_id", FIELD_COURSE},
	/* Optional, read as the export profiles read them (bulkreg(1), INPUT
	 * PROFILES): a teacher's row is skipped, a deleted one drops. */
	{"role", COL_ROLE},                {"status", COL_STATUS},
	{NULL, 0},
};

/* OneRoster enrollments.csv: sourcedId is the enrollment's own id. */
static const struct csvread_alias oneroster_names[] = {
	{"usersourcedid", FIELD_STUDENT_ID}, {"classsourcedid", FIELD_COURSE},
	{"role", COL_ROLE},                  {"status", COL_STATUS},
	{NULL, 0},
};

/* Canvas SIS enrollments.csv. */
static const struct csvread_alias canvas_names[] = {
	{"user_id", FIELD_STUDENT_ID}, {"course_id", FIELD_COURSE},
	{"section_id", COL_SECTION},   {"role", COL_ROLE},
	{"status", COL_STATUS},        {"role_id", COL_ROLE_ID},
	{"base_role_type", COL_BASE_ROLE},
	{NULL, 0},
};

/* Clever enrollments.csv (School_id, Section_id, Student_id). */
static const struct csvread_alias clever_names[] = {
	{"student_id", FIELD_STUDENT_ID}, {"section_id", FIELD_COURSE},
	{NULL, 0},
};

/* Moodle "Upload users": course1..N and role1..N are matched apart. */
static const struct csvread_alias moodle_upload_names[] = {
	{"username", FIELD_STUDENT_ID}, {"firstname", FIELD_FIRST_NAME},
	{"lastname", FIELD_LAST_NAME},  {"email", FIELD_EMAIL},
	{"deleted", COL_DELETED},       {"suspended", COL_SUSPENDED},
	{NULL, 0},
};

/* --map's field names. */
static const struct csvread_alias map_fields[] = {
	{"student_id", FIELD_STUDENT_ID}, {"first_name", FIELD_FIRST_NAME},
	{"last_name", FIELD_LAST_NAME},   {"email", FIELD_EMAIL},
	{"course", FIELD_COURSE},         {"role", COL_ROLE},
	{"status", COL_STATUS},           {"section", COL_SECTION},
	{NULL, 0},
};

static const struct {
	const char *name;
	const struct csvread_alias *names; /* normal forms: lowercase, ' '
					     * and '-' as '_' */
} profiles[PROFILE_COUNT] = {
	[PROFILE_BULKREG] = {"bulkreg", bulkreg_names},
	[PROFILE_ONEROSTER] = {"oneroster", oneroster_names},
	[PROFILE_CANVAS] = {"canvas", canvas_names},
	[PROFILE_MOODLE_FLATFILE] = {"moodle-flatfile", NULL},
	[PROFILE_MOODLE_UPLOAD] = {"moodle-upload", moodle_upload_names},
	[PROFILE_CLEVER] = {"clever", clever_names},
};

const char *profile_name(enum profile p)
{
	return (unsigned)p < PROFILE_COUNT ? profiles[p].name : "unknown";
}

bool profile_parse(const char *name, enum profile *out)
{
	for (int p = 0; p < PROFILE_COUNT; p++) {
		if (strcmp(name, profiles[p].name) == 0) {
			*out = (enum profile)p;
			return true;
		}
	}
	return false;
}

/* "course7" (or "course_7") with prefix "course": true and *n = 7
 * (1..PROFILE_MAX_N). */
static bool numbered(const char *norm, const char *prefix, unsigned *n)
{
	char squeezed[32];
	size_t used = 0;
	for (; *norm && used + 1 < sizeof(squeezed); norm++)
		if (*norm != '_')
			squeezed[used++] = *norm;
	if (*norm)
		return false; /* longer than any such name */
	squeezed[used] = '\0';
	size_t k = strlen(prefix);
	if (strncmp(squeezed, prefix, k) != 0 || squeezed[k] < '1' ||
	    squeezed[k] > '9')
		return false;
	int64_t v;
	if (!parse_int64(squeezed + k, 1, PROFILE_MAX_N, &v))
		return false;
	*n = (unsigned)v;
	return true;
}

const struct csvread_alias *profile_names(enum profile p)
{
	return (unsigned)p < PROFILE_COUNT ? profiles[p].names : NULL;
}

const struct csvread_alias *profile_map_fields(void)
{
	return map_fields;
}

int profile_column(enum profile p, const char *norm, unsigned *n)
{
	*n = 0;
	if (p == PROFILE_MOODLE_UPLOAD) {
		if (numbered(norm, "course", n))
			return COL_COURSE_N;
		if (numbered(norm, "role", n))
			return COL_ROLE_N;
		if (numbered(norm, "type", n))
			return COL_TYPE_N;
		if (numbered(norm, "enrolstatus", n))
			return COL_ENROLSTATUS_N;
	}
	const struct csvread_alias *a = csvread_alias_find(
		(unsigned)p < PROFILE_COUNT ? profiles[p].names : NULL, norm);
	return a ? a->kind : COL_IGNORED;
}

int profile_optional_column(enum profile p, const char *norm)
{
	if (p == PROFILE_BULKREG || p == PROFILE_MOODLE_FLATFILE) /* no header */
		return COL_IGNORED;
	const struct csvread_alias *a = csvread_alias_find(bulkreg_names, norm);
	if (!a || (a->kind != FIELD_FIRST_NAME && a->kind != FIELD_LAST_NAME &&
		   a->kind != FIELD_EMAIL))
		return COL_IGNORED;
	return a->kind;
}

static bool has(const char *const *norm, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (csvread_name_eq(norm[i], name))
			return true;
	return false;
}

static bool has_numbered(const char *const *norm, size_t n, const char *prefix)
{
	unsigned k;
	for (size_t i = 0; i < n; i++)
		if (numbered(norm[i], prefix, &k))
			return true;
	return false;
}

static bool is_word(const char *s, const char *word)
{
	return strcasecmp(s, word) == 0;
}

/* True if some name is one bulkreg reads as `field`; with `own`, only a
 * name no export profile reads (classSourcedId is OneRoster's course). */
static bool has_bulkreg(const char *const *norm, size_t n, int field, bool own)
{
	for (size_t i = 0; i < n; i++) {
		const struct csvread_alias *a = csvread_alias_find(bulkreg_names, norm[i]);
		if (!a || a->kind != field)
			continue;
		bool exports = false;
		for (int p = PROFILE_BULKREG + 1; own && p < PROFILE_COUNT; p++)
			exports |= csvread_alias_find(profiles[p].names, norm[i]) != NULL;
		if (!exports)
			return true;
	}
	return false;
}

enum status profile_detect(const char *const *norm, size_t n, enum profile *out,
			   struct error *err)
{
	bool match[PROFILE_COUNT] = {false};

	/* Today's rosters keep working: bulkreg's own student id and course
	 * columns make a header bulkreg's, whatever else it holds. */
	*out = PROFILE_BULKREG;
	if (has_bulkreg(norm, n, FIELD_STUDENT_ID, false) &&
	    has_bulkreg(norm, n, FIELD_COURSE, true))
		return ST_OK;
	match[PROFILE_ONEROSTER] = has(norm, n, "usersourcedid") &&
				   has(norm, n, "classsourcedid");
	match[PROFILE_CANVAS] = has(norm, n, "user_id") &&
				(has(norm, n, "course_id") || has(norm, n, "section_id"));
	match[PROFILE_CLEVER] = has(norm, n, "student_id") &&
				has(norm, n, "section_id");
	match[PROFILE_MOODLE_UPLOAD] =
		has(norm, n, "username") &&
		(has(norm, n, "firstname") || has(norm, n, "lastname") ||
		 has_numbered(norm, n, "course"));
	match[PROFILE_MOODLE_FLATFILE] = n >= 4 && n <= 6 &&
					 (is_word(norm[0], "add") ||
					  is_word(norm[0], "del"));

	char names[160] = "";
	size_t used = 0, found = 0;
	for (int p = 0; p < PROFILE_COUNT; p++) {
		if (!match[p])
			continue;
		*out = (enum profile)p;
		used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
					 found++ ? ", " : "", profiles[p].name);
		if (used >= sizeof(names))
			used = sizeof(names) - 1;
	}
	if (found > 1)
		return error_set(err, ST_INPUT,
				 "the header fits more than one export format (%s): "
				 "choose with --profile",
				 names);
	return ST_OK;
}


enum status profile_map_parse(const char *spec, struct csvread_map *m,
			      struct error *err)
{
	return csvread_map_add(spec, map_fields, "", m, err);
}

const char *profile_required_label(enum profile p, enum row_field f)
{
	static const char *const labels[PROFILE_COUNT][2] = {
		[PROFILE_BULKREG] = {"'student_id'", "'course'"},
		[PROFILE_ONEROSTER] = {"'userSourcedId'", "'classSourcedId'"},
		[PROFILE_CANVAS] = {"'user_id'", "'course_id' or 'section_id'"},
		[PROFILE_MOODLE_FLATFILE] = {"user idnumber (field 3)",
					     "course idnumber (field 4)"},
		[PROFILE_MOODLE_UPLOAD] = {"'username'", "'course1'"},
		[PROFILE_CLEVER] = {"'Student_id'", "'Section_id'"},
	};
	if ((unsigned)p >= PROFILE_COUNT ||
	    (f != FIELD_STUDENT_ID && f != FIELD_COURSE))
		return "?";
	return labels[p][f == FIELD_COURSE];
}

int profile_map_column(const struct csvread_map *m, const char *norm)
{
	return csvread_map_kind(m, norm); /* -1 is COL_IGNORED */
}

static bool word_in(const char *s, size_t len, const char *const *words)
{
	csvread_trim_spaces(&s, &len); /* "student\u00a0" from a spreadsheet */
	for (; *words; words++)
		if (strlen(*words) == len && strncasecmp(s, *words, len) == 0)
			return true;
	return false;
}

/* An LTI / LIS role URI ("http://purl.imsglobal.org/vocab/lis/v2/
 * membership#Learner", "urn:lti:role:ims/lis/Learner") names its role in
 * its last segment: after the last '#', else after the last '/'. */
static void role_segment(const char **s, size_t *len)
{
	csvread_trim_spaces(s, len);
	const char *v = *s;
	size_t n = *len, cut = 0;
	if ((n < 4 || strncasecmp(v, "urn:", 4) != 0) &&
	    (n < 8 || !memchr(v, ':', n) || !memchr(v, '/', n)))
		return; /* not a URI */
	for (size_t i = 0; i < n; i++)
		if (v[i] == '#')
			cut = i + 1;
	if (!cut)
		for (size_t i = 0; i < n; i++)
			if (v[i] == '/')
				cut = i + 1;
	if (cut && cut < n) {
		*s = v + cut;
		*len = n - cut;
	}
}

bool profile_role_is_student(const char *role, size_t len)
{
	role_segment(&role, &len);
	/* Also the plural and "pupil" a roster of one's own may write. */
	static const char *const students[] = {"student", "learner", "pupil",
					       "students", "learners", "pupils",
					       "studentenrollment", NULL};
	csvread_trim_spaces(&role, &len);
	return len == 0 || word_in(role, len, students);
}

bool profile_role_known(const char *role, size_t len)
{
	/* OneRoster 1.1 and 1.2's roles, Canvas's, Moodle's role short names
	 * (today's and 1.x's teacheredit, admin), Clever's. */
	static const char *const others[] = {
		"teacher", "instructor", "ta", "teachingassistant", "aide",
		"parent", "guardian", "relative", "proctor", "administrator",
		"districtadministrator", "siteadministrator",
		"systemadministrator", "counselor", "principal", "observer",
		"designer", "editingteacher", "teacheredit", "noneditingteacher",
		"manager", "coursecreator", "guest", "user", "frontpage", "admin",
		"staff", "contentdeveloper", "district_admin", "school_admin",
		"contact", "mentor",
		/* Canvas's base role types (base_role_type). */
		"teacherenrollment", "taenrollment", "designerenrollment",
		"observerenrollment",
		NULL,
	};
	role_segment(&role, &len);
	return profile_role_is_student(role, len) || word_in(role, len, others);
}

static const char *const removed[] = {
	"deleted", "tobedeleted", "inactive", "completed",
	"deleted_last_completed", NULL,
};

enum row_action profile_status_action(const char *status, size_t len)
{
	return word_in(status, len, removed) ? ROW_DROP_IF_PRESENT : ROW_ENROL;
}

bool profile_status_known(const char *status, size_t len)
{
	/* bulkreg's own listings (roster --format csv) read back in, too. */
	static const char *const active[] = {"active", "registered",
					     "waitlisted", "enrolled", NULL};
	csvread_trim_spaces(&status, &len);
	return len == 0 || word_in(status, len, active) ||
	       word_in(status, len, removed);
}
