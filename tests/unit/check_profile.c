/* check_profile: export profiles -- detection, columns, --map, roles,
 * statuses -- and the --users join (issue 12). */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvread.h"
#include "profile.h"
#include "roster.h"
#include "testutil.h"
#include "users_join.h"

static char tmpdir[] = "/tmp/check_profile.XXXXXX";

static const char *write_str(const char *name, const char *s)
{
	static char paths[4][PATH_MAX];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, PATH_MAX, "%s/%s", tmpdir, name);
	FILE *f = fopen(p, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(s, 1, strlen(s), f), strlen(s));
	ck_assert_int_eq(fclose(f), 0);
	return p;
}

static enum profile detect(const char *const *names, size_t n)
{
	enum profile p = PROFILE_COUNT;
	struct error err;
	ck_assert_msg(profile_detect(names, n, &p, &err) == ST_OK, "%s", err.msg);
	return p;
}

/* ---- detection -------------------------------------------------------------- */

START_TEST(each_export_is_detected_from_its_header)
{
	const char *oneroster[] = {"sourcedid", "classsourcedid", "schoolsourcedid",
				   "usersourcedid", "role", "status"};
	const char *canvas[] = {"course_id", "user_id", "role", "section_id", "status"};
	const char *canvas_sections[] = {"user_id", "section_id", "role"};
	const char *clever[] = {"school_id", "section_id", "student_id"};
	const char *upload[] = {"username", "firstname", "lastname", "email", "course1"};
	const char *upload_bare[] = {"username", "course1", "role1"};
	const char *flat[] = {"add", "student", "5", "cf101"};
	const char *flat6[] = {"DEL", "student", "5", "cf101", "0", "0"};
	const char *today[] = {"student_id", "email", "course"};
	const char *aliases[] = {"sourcedid", "givenname", "email", "classsourcedid"};
	ck_assert_int_eq(detect(oneroster, 6), PROFILE_ONEROSTER);
	ck_assert_int_eq(detect(canvas, 5), PROFILE_CANVAS);
	ck_assert_int_eq(detect(canvas_sections, 3), PROFILE_CANVAS);
	ck_assert_int_eq(detect(clever, 3), PROFILE_CLEVER);
	ck_assert_int_eq(detect(upload, 5), PROFILE_MOODLE_UPLOAD);
	ck_assert_int_eq(detect(upload_bare, 3), PROFILE_MOODLE_UPLOAD);
	ck_assert_int_eq(detect(flat, 4), PROFILE_MOODLE_FLATFILE);
	ck_assert_int_eq(detect(flat6, 6), PROFILE_MOODLE_FLATFILE);
	ck_assert_int_eq(detect(today, 3), PROFILE_BULKREG);
	ck_assert_int_eq(detect(aliases, 4), PROFILE_BULKREG);
}
END_TEST

START_TEST(an_ambiguous_header_names_the_candidates)
{
	const char *both[] = {"user_id", "course_id", "usersourcedid", "classsourcedid"};
	enum profile p;
	struct error err;
	ck_assert_int_eq(profile_detect(both, 4, &p, &err), ST_INPUT);
	ck_assert_msg(strstr(err.msg, "more than one export format (oneroster, "
				      "canvas): choose with --profile"),
		      "%s", err.msg);
}
END_TEST

START_TEST(bulkregs_own_columns_keep_a_header_bulkregs)
{
	const char *plus_section[] = {"student_id", "email", "course", "section_id"};
	const char *plus_canvas[] = {"student_id", "course", "user_id", "course_id"};
	const char *alias_own[] = {"id", "class", "user_id", "section_id"};
	const char *or_course[] = {"usersourcedid", "classsourcedid", "email"};
	ck_assert_int_eq(detect(plus_section, 4), PROFILE_BULKREG);
	ck_assert_int_eq(detect(plus_canvas, 4), PROFILE_BULKREG);
	ck_assert_int_eq(detect(alias_own, 4), PROFILE_BULKREG);
	/* classSourcedId is OneRoster's course, not bulkreg's own. */
	ck_assert_int_eq(detect(or_course, 3), PROFILE_ONEROSTER);
	ck_assert_int_eq(profile_optional_column(PROFILE_CANVAS, "email"), FIELD_EMAIL);
	ck_assert_int_eq(profile_optional_column(PROFILE_ONEROSTER, "givenname"),
			 FIELD_FIRST_NAME);
	ck_assert_int_eq(profile_optional_column(PROFILE_CANVAS, "course"), COL_IGNORED);
	ck_assert_int_eq(profile_optional_column(PROFILE_BULKREG, "email"), COL_IGNORED);
}
END_TEST

START_TEST(map_pairs_and_required_labels_for_messages)
{
	struct csvread_map m = {0};
	struct error err;
	ck_assert_int_eq(profile_map_parse("student_id=A B, email = \"E M\" ,course=C",
					   &m, &err), ST_OK);
	ck_assert_uint_eq(m.count, 3);
	ck_assert_str_eq(m.given[1], "email = \"E M\"");
	ck_assert_str_eq(m.raw[1], "E M");
	ck_assert_str_eq(m.given[0], "student_id=A B");
	ck_assert_str_eq(profile_required_label(PROFILE_ONEROSTER, FIELD_STUDENT_ID),
			 "'userSourcedId'");
	ck_assert_str_eq(profile_required_label(PROFILE_CANVAS, FIELD_COURSE),
			 "'course_id' or 'section_id'");
	ck_assert_str_eq(profile_required_label(PROFILE_BULKREG, FIELD_COURSE), "'course'");
}
END_TEST

START_TEST(known_statuses)
{
	ck_assert(profile_status_known("", 0));
	ck_assert(profile_status_known("Active", 6));
	ck_assert(profile_status_known("TOBEDELETED", 11));
	ck_assert(!profile_status_known("delted", 6));
	ck_assert(!profile_status_known("concluded", 9));
}
END_TEST

START_TEST(profile_names_parse_and_print)
{
	for (int i = 0; i < PROFILE_COUNT; i++) {
		enum profile p;
		ck_assert(profile_parse(profile_name((enum profile)i), &p));
		ck_assert_int_eq(p, i);
	}
	enum profile p;
	ck_assert(!profile_parse("Canvas", &p));
	ck_assert(!profile_parse("", &p));
}
END_TEST

/* ---- columns ------------------------------------------------------------------ */

START_TEST(oneroster_sourcedid_is_not_the_student)
{
	unsigned n;
	ck_assert_int_eq(profile_column(PROFILE_ONEROSTER, "sourcedid", &n), COL_IGNORED);
	ck_assert_int_eq(profile_column(PROFILE_ONEROSTER, "usersourcedid", &n),
			 FIELD_STUDENT_ID);
	ck_assert_int_eq(profile_column(PROFILE_ONEROSTER, "classsourcedid", &n),
			 FIELD_COURSE);
	ck_assert_int_eq(profile_column(PROFILE_ONEROSTER, "role", &n), COL_ROLE);
	ck_assert_int_eq(profile_column(PROFILE_ONEROSTER, "status", &n), COL_STATUS);
	/* Today's roster keeps its alias. */
	ck_assert_int_eq(profile_column(PROFILE_BULKREG, "sourcedid", &n),
			 FIELD_STUDENT_ID);
}
END_TEST

START_TEST(canvas_clever_and_moodle_columns)
{
	unsigned n;
	ck_assert_int_eq(profile_column(PROFILE_CANVAS, "user_id", &n), FIELD_STUDENT_ID);
	ck_assert_int_eq(profile_column(PROFILE_CANVAS, "course_id", &n), FIELD_COURSE);
	ck_assert_int_eq(profile_column(PROFILE_CANVAS, "section_id", &n), COL_SECTION);
	ck_assert_int_eq(profile_column(PROFILE_CLEVER, "section_id", &n), FIELD_COURSE);
	ck_assert_int_eq(profile_column(PROFILE_CLEVER, "student_id", &n),
			 FIELD_STUDENT_ID);
	ck_assert_int_eq(profile_column(PROFILE_MOODLE_UPLOAD, "username", &n),
			 FIELD_STUDENT_ID);
	ck_assert_int_eq(profile_column(PROFILE_MOODLE_UPLOAD, "course12", &n),
			 COL_COURSE_N);
	ck_assert_uint_eq(n, 12);
	ck_assert_int_eq(profile_column(PROFILE_MOODLE_UPLOAD, "role3", &n), COL_ROLE_N);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(profile_column(PROFILE_MOODLE_UPLOAD, "course0", &n), COL_IGNORED);
	ck_assert_int_eq(profile_column(PROFILE_MOODLE_UPLOAD, "course100", &n),
			 COL_IGNORED);
	ck_assert_int_eq(profile_column(PROFILE_MOODLE_UPLOAD, "course1x", &n),
			 COL_IGNORED);
}
END_TEST

/* ---- --map ------------------------------------------------------------------------- */

/* The one alias matcher every reader uses: normal forms, first entry wins. */
START_TEST(aliases_match_normal_forms_first_entry_first)
{
	static const struct csvread_alias t[] = {
		{"student_id", 1}, {"id", 1}, {"student_id", 2}, {NULL, 0},
	};
	char norm[32];
	csvread_norm_name((const unsigned char *)"Student-ID", 10, norm, sizeof(norm));
	const struct csvread_alias *a = csvread_alias_find(t, norm);
	ck_assert_ptr_eq(a, &t[0]);
	ck_assert_ptr_eq(csvread_alias_find(t, "id"), &t[1]);
	ck_assert_ptr_null(csvread_alias_find(t, "ID")); /* not a normal form */
	ck_assert_ptr_null(csvread_alias_find(t, "email"));
	ck_assert_ptr_null(csvread_alias_find(NULL, "id"));
	/* The course file's and the roster's names go through the same. */
	unsigned n;
	ck_assert_int_eq(profile_column(PROFILE_BULKREG, norm, &n), FIELD_STUDENT_ID);
}
END_TEST

/* Issue 12: a no-break space (U+00A0), a narrow no-break space (U+202F) and
 * a figure space (U+2007) are spaces in a header name, inside it and around
 * it, for every reader and for --map; a zero-width space is not. */
static void expect_norm(const char *name, const char *want)
{
	char norm[64];
	size_t n = csvread_norm_name((const unsigned char *)name, strlen(name),
				     norm, sizeof(norm));
	ck_assert_str_eq(norm, want);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_uint_eq(csvread_name_hash((const unsigned char *)name,
					    strlen(name)),
			  csvread_name_hash((const unsigned char *)want,
					    strlen(want)));
}

START_TEST(no_break_spaces_are_spaces_in_header_names)
{
	expect_norm("Student\xC2\xA0ID", "student_id");
	expect_norm("Student\xE2\x80\xAFID", "student_id");
	expect_norm("Student\xE2\x80\x87ID", "student_id");
	expect_norm("capacity\xC2\xA0", "capacity");
	expect_norm("\xC2\xA0 \xE2\x80\xAF" "Email \xC2\xA0", "email");
	expect_norm("\xC2\xA0", "");
	expect_norm("a\xC2\xA0\xC2\xA0-b", "a___b");
	expect_norm("Student\xE2\x80\x8BID", "student\xE2\x80\x8Bid");
	expect_norm("caf\xC3\xA9\xC2", "caf\xC3\xA9\xC2"); /* a cut character */
	/* Bounded output, full length returned. */
	char small[4];
	ck_assert_uint_eq(csvread_norm_name((const unsigned char *)"\xC2\xA0" "Email",
					    7, small, sizeof(small)),
			  5);
	ck_assert_str_eq(small, "ema");

	struct csvread_map m = {0};
	struct error err;
	ck_assert_int_eq(profile_map_parse("student_id=Student\xC2\xA0Number",
					   &m, &err),
			 ST_OK);
	ck_assert_int_eq(profile_map_column(&m, "student_number"), FIELD_STUDENT_ID);
}
END_TEST

START_TEST(map_pairs_name_columns_in_normal_form)
{
	struct csvread_map m = {0};
	struct error err;
	ck_assert_int_eq(profile_map_parse("student_id=Student Number,email=\"Email "
					   "Address\",role=Enrollment-Role",
					   &m, &err),
			 ST_OK);
	ck_assert_uint_eq(m.count, 3);
	ck_assert_int_eq(profile_map_column(&m, "student_number"), FIELD_STUDENT_ID);
	ck_assert_int_eq(profile_map_column(&m, "email_address"), FIELD_EMAIL);
	ck_assert_int_eq(profile_map_column(&m, "enrollment_role"), COL_ROLE);
	ck_assert_int_eq(profile_map_column(&m, "student"), COL_IGNORED);
	ck_assert_int_eq(profile_map_column(NULL, "student_number"), COL_IGNORED);
}
END_TEST

/* Review 16, B2: a quoted header holds commas and "" quotes; a second
 * --map adds to the first, and is held to the same rules across both. */
START_TEST(map_quotes_and_repeats)
{
	struct csvread_map m = {0};
	struct error err;
	ck_assert_int_eq(profile_map_parse("student_id=Student #, email = \"Email, "
					   "primary\" ,role=\"Say \"\"hi\"\"\"",
					   &m, &err), ST_OK);
	ck_assert_uint_eq(m.count, 3);
	ck_assert_str_eq(m.raw[1], "Email, primary");
	ck_assert_str_eq(m.raw[2], "Say \"hi\"");
	ck_assert_int_eq(profile_map_column(&m, "email,_primary"), FIELD_EMAIL);
	ck_assert_int_eq(profile_map_parse("course=Sect.", &m, &err), ST_OK);
	ck_assert_uint_eq(m.count, 4);
	ck_assert_int_eq(profile_map_column(&m, "student_#"), FIELD_STUDENT_ID);
	ck_assert_int_eq(profile_map_column(&m, "sect."), FIELD_COURSE);
	ck_assert_int_eq(profile_map_parse("course=Other", &m, &err), ST_USAGE);
	ck_assert_msg(strstr(err.msg, "course is given twice (course=Sect. and course=Other)"),
		      "%s", err.msg);
	ck_assert_int_eq(profile_map_parse("last_name=Student #", &m, &err), ST_USAGE);
	ck_assert_msg(strstr(err.msg, "student_id=Student # and last_name=Student # name "
			     "the same column"), "%s", err.msg);
}
END_TEST

START_TEST(bad_map_specs_are_usage_errors)
{
	static const struct {
		const char *spec, *why;
	} bad[] = {
		{"student_id", "is not FIELD=HEADER"},
		{"=x", "is not FIELD=HEADER"},
		{"email=", "is not FIELD=HEADER"},
		{"grade=Grade", "'grade' is not a field"},
		{"email=a,email=b", "email is given twice"},
		{"email=a,,course=b", "is not FIELD=HEADER"},
		/* review 16, B2: both pairs named; quotes as in CSV */
		{"email=a,email=b", "(email=a and email=b)"},
		{"student_id=S #,email=s-#", "student_id=S # and email=s-# name the same column"},
		{"email=\"a", "a quoted header ends with its closing quote"},
		{"email=\"a\"b,course=c", "'email=\"a\"b,course=c': a quoted header"},
		{"email=Email\\, primary", "'primary' is not FIELD=HEADER (a header that holds a comma goes in double quotes"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct csvread_map m = {0};
		struct error err;
		ck_assert_int_eq(profile_map_parse(bad[i].spec, &m, &err), ST_USAGE);
		ck_assert_msg(strstr(err.msg, bad[i].why), "%s: %s", bad[i].spec, err.msg);
	}
}
END_TEST

/* ---- roles and statuses ----------------------------------------------------------- */

START_TEST(student_roles_and_the_rest)
{
	ck_assert(profile_role_is_student("student", 7));
	ck_assert(profile_role_is_student("Student", 7));
	ck_assert(profile_role_is_student("LEARNER", 7));
	ck_assert(profile_role_is_student("", 0));
	ck_assert(profile_role_is_student("Students", 8));
	ck_assert(profile_role_is_student("pupil", 5));
	static const char *const others[] = {"teacher", "ta", "observer", "designer",
					     "parent", "guardian", "aide",
					     "administrator", "editingteacher",
					     "member"};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		ck_assert_msg(!profile_role_is_student(others[i], strlen(others[i])),
			      "%s", others[i]);
	/* Known as someone's, or not (then warned about). */
	ck_assert(profile_role_known("Teacher", 7));
	ck_assert(profile_role_known("student", 7));
	ck_assert(!profile_role_known("member", 6));
}
END_TEST

START_TEST(statuses_that_mean_removed_are_drop_requests)
{
	static const char *const removed[] = {"deleted", "tobedeleted", "inactive",
					      "completed", "TOBEDELETED",
					      "deleted_last_completed"};
	for (size_t i = 0; i < sizeof(removed) / sizeof(removed[0]); i++)
		ck_assert_int_eq(profile_status_action(removed[i], strlen(removed[i])),
				 ROW_DROP_IF_PRESENT);
	ck_assert_int_eq(profile_status_action("active", 6), ROW_ENROL);
	ck_assert_int_eq(profile_status_action("", 0), ROW_ENROL);
	ck_assert_int_eq(profile_status_action("invited", 7), ROW_ENROL);
}
END_TEST

/* ---- roster rows through profiles ---------------------------------------------------- */

static struct roster_reader *open_roster(const char *path, struct roster_options *o)
{
	struct roster_reader *r = NULL;
	struct error err;
	enum status st = roster_open(path, o, &r, &err);
	ck_assert_msg(st == ST_OK, "roster_open: %s", err.msg);
	return r;
}

START_TEST(moodle_upload_gives_one_row_per_course_on_the_same_line)
{
	struct roster_options o = {.delimiter = ','};
	struct roster_reader *r = open_roster(
		write_str("up.csv", "username,firstname,email,course1,role1,course2,"
				    "role2,course3\n"
				    "mia,Mia,m@x.org,C1,,C2,teacher,C3\n"
				    "max,Max,x@x.org,,,C2,,\n"),
		&o);
	ck_assert_str_eq(roster_profile(r), "moodle-upload");
	struct row row;
	struct error err;
	const char *want[] = {"C1", "C2", "C3", "C2"};
	uint64_t lines[] = {2, 2, 2, 3};
	bool student[] = {true, false, true, true};
	for (size_t i = 0; i < 4; i++) {
		ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
		ck_assert_str_eq(row.v[FIELD_COURSE].text, want[i]);
		ck_assert_uint_eq(row.line, lines[i]);
		ck_assert_int_eq(row.not_a_student, !student[i]);
		ck_assert_str_eq(row.v[FIELD_FIRST_NAME].text, i < 3 ? "Mia" : "Max");
	}
	ck_assert_int_eq(roster_next(r, &row, &err), ST_EOF);
	roster_close(r);
}
END_TEST

START_TEST(flat_file_first_line_is_a_row)
{
	struct roster_options o = {.delimiter = ','};
	struct roster_reader *r = open_roster(
		write_str("flat.txt", "add, student, 5, CF101\n"
				      "del, student, 8, CF101, 0, 0\n"
				      "add, teacher, 6, CF101\n"),
		&o);
	ck_assert_str_eq(roster_profile(r), "moodle-flatfile");
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	ck_assert_uint_eq(row.line, 1);
	ck_assert_str_eq(row.v[FIELD_STUDENT_ID].text, "5");
	ck_assert_str_eq(row.v[FIELD_COURSE].text, "CF101");
	ck_assert_int_eq(row.action, ROW_ENROL);
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	ck_assert_int_eq(row.action, ROW_DROP_IF_PRESENT);
	ck_assert_uint_eq(row.nfields, roster_columns(r));
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	ck_assert(row.not_a_student);
	ck_assert_str_eq(row.role, "teacher");
	ck_assert_int_eq(roster_next(r, &row, &err), ST_EOF);
	roster_close(r);
}
END_TEST

START_TEST(canvas_section_stands_in_for_the_course)
{
	struct roster_options o = {.delimiter = ','};
	const char *p = write_str("c.csv", "course_id,user_id,role,section_id,status\n"
					   "C1,u1,student,S1,active\n"
					   ",u2,student,S2,deleted\n");
	struct roster_reader *r = open_roster(p, &o);
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	ck_assert_str_eq(row.v[FIELD_COURSE].text, "C1");
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	ck_assert_str_eq(row.v[FIELD_COURSE].text, "S2");
	ck_assert_int_eq(row.action, ROW_DROP_IF_PRESENT);
	roster_close(r);
	o.course_from_section = true;
	r = open_roster(p, &o);
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	ck_assert_str_eq(row.v[FIELD_COURSE].text, "S1");
	roster_close(r);
}
END_TEST

/* ---- --users ---------------------------------------------------------------------------- */

START_TEST(users_are_found_by_exact_id_with_their_values)
{
	struct users_join *u;
	struct error err;
	const char *p = write_str("u.csv", "user_id,login_id,first_name,last_name,"
					   "email,status\n"
					   "u1,a,Amy,Ash,amy@x.org,active\n"
					   "U1,b,Big,U,bu@x.org,deleted\n"
					   "u1,c,Dup,Licate,dup@x.org,active\n");
	ck_assert_int_eq(users_join_open(p, NULL, &u, &err), ST_OK);
	ck_assert_uint_eq(users_join_count(u), 2); /* the duplicate: first wins */
	struct user_values v;
	bool found;
	ck_assert_int_eq(users_join_find(u, "u1", 2, &found, &v, &err), ST_OK);
	ck_assert(found);
	ck_assert_str_eq(v.first_name.text, "Amy");
	ck_assert_str_eq(v.email.text, "amy@x.org");
	ck_assert_int_eq(users_join_find(u, "U1", 2, &found, &v, &err), ST_OK);
	ck_assert(found);
	ck_assert_str_eq(v.status.text, "deleted");
	ck_assert_int_eq(users_join_find(u, "u2", 2, &found, &v, &err), ST_OK);
	ck_assert(!found);
	/* Review 7: not silently -- one warning names the file and both
	 * lines. */
	ck_assert_ptr_nonnull(users_join_warning(u));
	ck_assert_msg(strstr(users_join_warning(u), "u.csv: user id 'u1' is on "
				 "lines 2 and 4: the first (line 2) is used"),
		      "%s", users_join_warning(u));
	ck_assert_ptr_null(strstr(users_join_warning(u), "more rows"));
	users_join_close(u);
}
END_TEST

/* Review 9, W5: a users row is held to the roster's rules -- the header's
 * number of fields, no text after a closing quote, values read at most
 * ROW_VALUE_MAX bytes -- or the whole file is refused, naming line and
 * column; what the roster accepts (O"Neil, blank rows) is accepted. */
START_TEST(users_rows_follow_the_rosters_csv_rules)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"user_id,email,first_name,last_name,status\n"
		 "A,a@x.org,An,A,active\nB,b@x.org,Bo,Smith, Jr,deleted\n",
		 "line 3: 6 fields, the header has 5, and field 6 holds a value"},
		{"user_id,first_name,status\nA,\"Bo\"x,active\n",
		 "line 2, column 2 ('first_name'): text after a closing quote"},
	};
	struct users_join *u;
	struct error err;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *p = write_str("bad.csv", bad[i].text);
		ck_assert_int_eq(users_join_open(p, NULL, &u, &err), ST_INPUT);
		ck_assert_ptr_null(u);
		ck_assert_msg(strstr(err.msg, bad[i].msg) && strstr(err.msg, "bad.csv: "),
			      "%s", err.msg);
	}
	char longer[600];
	snprintf(longer, sizeof(longer), "user_id,email\nA,%0300d@x.org\n", 0);
	ck_assert_int_eq(users_join_open(write_str("long.csv", longer), NULL, &u, &err),
			 ST_INPUT);
	ck_assert_msg(strstr(err.msg, "line 2, column 2 ('email'): 306 bytes (limit 256)"),
		      "%s", err.msg);

	/* Short rows and empty fields past the header read as empty. */
	const char *ok = write_str("ok.csv", "user_id,last_name\nA,O\"Neil\n,\n\nB,B,,\nC\n");
	ck_assert_int_eq(users_join_open(ok, NULL, &u, &err), ST_OK);
	struct user_values v;
	bool found;
	ck_assert_int_eq(users_join_find(u, "A", 1, &found, &v, &err), ST_OK);
	ck_assert(found);
	ck_assert_str_eq(v.last_name.text, "O\"Neil");
	users_join_close(u);
}
END_TEST

/* More repeats: still one warning, about the first, with how many more;
 * a quoted line break counts in the line numbers; none without repeats. */
START_TEST(users_listed_twice_give_one_warning)
{
	struct users_join *u;
	struct error err;
	const char *p = write_str("d.csv", "user_id,first_name\n"
					   "a,\"A\nB\"\n"
					   "b,B\n"
					   "a,A2\n"
					   "b,B2\n"
					   "a,A3\n");
	ck_assert_int_eq(users_join_open(p, NULL, &u, &err), ST_OK);
	ck_assert_uint_eq(users_join_count(u), 2);
	const char *w = users_join_warning(u);
	ck_assert_ptr_nonnull(w);
	ck_assert_msg(strstr(w, "user id 'a' is on lines 2 and 5: the first "
				"(line 2) is used; 2 more rows repeat a user id "
				"listed before"),
		      "%s", w);
	struct user_values v;
	bool found;
	ck_assert_int_eq(users_join_find(u, "b", 1, &found, &v, &err), ST_OK);
	ck_assert(found);
	ck_assert_str_eq(v.first_name.text, "B");
	users_join_close(u);
	p = write_str("ok.csv", "user_id,first_name\na,A\nb,B\n");
	ck_assert_int_eq(users_join_open(p, NULL, &u, &err), ST_OK);
	ck_assert_ptr_null(users_join_warning(u));
	users_join_close(u);
}
END_TEST

START_TEST(users_file_id_column_by_rank)
{
	/* OneRoster users.csv has sourcedId, username and identifier. */
	struct users_join *u;
	struct error err;
	const char *p = write_str("o.csv", "username,sourcedId,givenName,familyName,"
					   "role\nzl,s1,Zoe,Lee,student\n");
	ck_assert_int_eq(users_join_open(p, NULL, &u, &err), ST_OK);
	struct user_values v;
	bool found;
	ck_assert_int_eq(users_join_find(u, "s1", 2, &found, &v, &err), ST_OK);
	ck_assert(found);
	ck_assert_str_eq(v.last_name.text, "Lee");
	ck_assert_str_eq(v.role.text, "student");
	ck_assert_int_eq(users_join_find(u, "zl", 2, &found, &v, &err), ST_OK);
	ck_assert(!found);
	users_join_close(u);
}
END_TEST

START_TEST(many_users_grow_the_index)
{
	size_t n = 50000, cap = n * 40 + 64, used = 0;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	used += (size_t)snprintf(text, cap, "Student_id,First_name,Student_email\n");
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(text + used, cap - used, "st%zu,F%zu,s%zu@x.org\n",
					 i, i, i);
	const char *p = write_str("many.csv", text);
	free(text);
	struct users_join *u;
	struct error err;
	ck_assert_int_eq(users_join_open(p, NULL, &u, &err), ST_OK);
	ck_assert_uint_eq(users_join_count(u), n);
	for (size_t i = 0; i < n; i += 997) {
		char id[32], want[32];
		snprintf(id, sizeof(id), "st%zu", i);
		snprintf(want, sizeof(want), "s%zu@x.org", i);
		struct user_values v;
		bool found;
		ck_assert_int_eq(users_join_find(u, id, strlen(id), &found, &v, &err), ST_OK);
		ck_assert_msg(found, "%s", id);
		ck_assert_str_eq(v.email.text, want);
		/* An id not in the file is not found (the probe ends). */
		snprintf(id, sizeof(id), "st%zu", n + i);
		ck_assert_int_eq(users_join_find(u, id, strlen(id), &found, &v, &err), ST_OK);
		ck_assert_msg(!found, "%s", id);
	}
	/* At most three quarters full once read, not the doublings' up to
	 * four times the users: 8 bytes a slot (review 22 B3: 2^20 + 1 users
	 * took 32 MiB, which the batch's cache lost from its budget). */
	ck_assert_uint_le(users_join_bytes(u), (n / 3 * 4 + 1024) * 8);
	users_join_close(u);
}
END_TEST

/* Review 16, B7: one value in two columns is refused, as the roster
 * refuses it; two id names of different rank are not (OneRoster's
 * sourcedId and username: sourcedId is the key). */
START_TEST(users_file_with_a_value_in_two_columns_is_refused)
{
	struct users_join *u;
	struct error err;
	const char *p = write_str("d.csv", "user_id,first_name,email,Email\nn1,A,,a@x.org\n");
	ck_assert_int_eq(users_join_open(p, NULL, &u, &err), ST_INPUT);
	ck_assert_msg(strstr(err.msg, "d.csv: line 1: the --users file's email is in two "
			     "columns, 3 ('email') and 4 ('Email')"), "%s", err.msg);
	p = write_str("d.csv", "User ID,first_name,user_id\nX1,A,n1\n");
	ck_assert_int_eq(users_join_open(p, NULL, &u, &err), ST_INPUT);
	ck_assert_msg(strstr(err.msg, "user id is in two columns, 1 ('User ID') and 3"),
		      "%s", err.msg);
	p = write_str("d.csv", "givenName,first_name,sourcedId\nA,B,n1\n");
	ck_assert_int_eq(users_join_open(p, NULL, &u, &err), ST_INPUT);
	ck_assert_msg(strstr(err.msg, "first_name is in two columns"), "%s", err.msg);
	p = write_str("d.csv", "username,sourcedId,givenName\njdoe,n1,Jane\n");
	ck_assert_int_eq(users_join_open(p, NULL, &u, &err), ST_OK);
	struct user_values v;
	bool found;
	ck_assert_int_eq(users_join_find(u, "n1", 2, &found, &v, &err), ST_OK);
	ck_assert(found);
	ck_assert_str_eq(v.first_name.text, "Jane");
	users_join_close(u);
}
END_TEST

START_TEST(users_file_without_an_id_column_is_refused)
{
	struct users_join *u;
	struct error err;
	const char *p = write_str("x.csv", "first_name,email\nA,a@x.org\n");
	ck_assert_int_eq(users_join_open(p, NULL, &u, &err), ST_INPUT);
	ck_assert_msg(strstr(err.msg, "x.csv: line 1: no user id column"), "%s", err.msg);
	p = write_str("e.csv", "");
	ck_assert_int_eq(users_join_open(p, NULL, &u, &err), ST_INPUT);
	ck_assert_msg(strstr(err.msg, "empty file"), "%s", err.msg);
	p = write_str("l.csv", "user_id,first_name\nu1,Jos\xE9\n");
	ck_assert_int_eq(users_join_open(p, NULL, &u, &err), ST_INPUT);
	ck_assert_msg(strstr(err.msg, "rerun with --users-encoding WINDOWS-1252"), "%s", err.msg);
	ck_assert_int_eq(users_join_open(p, "WINDOWS-1252", &u, &err), ST_OK);
	struct user_values v;
	bool found;
	ck_assert_int_eq(users_join_find(u, "u1", 2, &found, &v, &err), ST_OK);
	ck_assert_str_eq(v.first_name.text, "Jos\xC3\xA9");
	users_join_close(u);
}
END_TEST

START_TEST(the_join_fills_what_the_enrollment_lacks)
{
	struct roster_options o = {.delimiter = ','};
	o.users_path = write_str("users.csv", "sourcedId,givenName,familyName,email,"
					      "role,status\n"
					      "s1,Zoe,Lee,z@x.org,student,active\n"
					      "s2,Al,Ray,a@x.org,teacher,tobedeleted\n");
	struct roster_reader *r = open_roster(
		write_str("enr.csv", "sourcedId,classSourcedId,userSourcedId,role\n"
				     "e1,C1,s1,\n"
				     "e2,C1,s2,student\n"
				     "e3,C1,s9,student\n"),
		&o);
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	ck_assert_str_eq(row.v[FIELD_EMAIL].text, "z@x.org");
	ck_assert_str_eq(row.v[FIELD_LAST_NAME].text, "Lee");
	ck_assert(!row.not_a_student);
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	ck_assert(!row.not_a_student); /* the enrollment's role wins */
	ck_assert_int_eq(row.action, ROW_DROP_IF_PRESENT);
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	ck_assert_int_eq(row.if_new_student, REASON_UNKNOWN_STUDENT);
	roster_close(r);
}
END_TEST

/* Review 17, B1: header names match with their separators left out
 * (StudentID = student_id = "Student ID"). */
START_TEST(header_names_match_without_their_separators)
{
	static const char *const same[][2] = {
		{"StudentID", "student_id"},   {"Student ID", "student_id"},
		{"Student-Id", "student_id"},  {"FirstName", "first_name"},
		{"LastName", "last_name"},     {"CourseCode", "course_code"},
		{"Class_SourcedId", "classsourcedid"},
		{"E-Mail", "email"},           {"Student\xC2\xA0ID", "studentid"},
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		char a[64], b[64];
		csvread_norm_name((const unsigned char *)same[i][0],
				  strlen(same[i][0]), a, sizeof(a));
		csvread_norm_name((const unsigned char *)same[i][1],
				  strlen(same[i][1]), b, sizeof(b));
		ck_assert_msg(csvread_name_eq(a, b), "%s != %s", same[i][0],
			      same[i][1]);
	}
	ck_assert(!csvread_name_eq("student_id", "student_ids"));
	ck_assert(!csvread_name_eq("id", "i_d_x"));
	ck_assert(csvread_name_eq("", "_"));
	unsigned n;
	ck_assert_int_eq(profile_column(PROFILE_BULKREG, "studentid", &n),
			 FIELD_STUDENT_ID);
	ck_assert_int_eq(profile_column(PROFILE_MOODLE_UPLOAD, "course_3", &n),
			 COL_COURSE_N);
	ck_assert_uint_eq(n, 3);
	const char *canvas[] = {"userid", "courseid"};
	ck_assert_int_eq(detect(canvas, 2), PROFILE_CANVAS);
}
END_TEST

/* Every table of header names a reader knows, with what a clash in it
 * would break. */
static void expect_no_two_alike(const struct csvread_alias *t, const char *what)
{
	for (const struct csvread_alias *a = t; a && a->name; a++) {
		char norm[64];
		csvread_norm_name((const unsigned char *)a->name, strlen(a->name),
				  norm, sizeof(norm));
		ck_assert_msg(strcmp(norm, a->name) == 0,
			      "%s: '%s' is not a normal form", what, a->name);
		for (const struct csvread_alias *b = a + 1; b->name; b++)
			ck_assert_msg(!csvread_name_eq(a->name, b->name),
				      "%s: '%s' and '%s' are one name once "
				      "separators are left out",
				      what, a->name, b->name);
	}
}

START_TEST(no_two_known_header_names_are_one_name)
{
	for (int p = 0; p < PROFILE_COUNT; p++)
		expect_no_two_alike(profile_names((enum profile)p),
				    profile_name((enum profile)p));
	expect_no_two_alike(profile_map_fields(), "--map fields");
	expect_no_two_alike(users_join_names(), "--users");
	/* An export adopts bulkreg's names for names and the email: the same
	 * name must not mean another thing in the export's own table; and no
	 * name of a table is read as Moodle's course<N>/role<N>... */
	for (int p = PROFILE_BULKREG + 1; p < PROFILE_COUNT; p++) {
		for (const struct csvread_alias *a = profile_names((enum profile)p);
		     a && a->name; a++) {
			int own = profile_optional_column((enum profile)p, a->name);
			ck_assert_msg(own == COL_IGNORED || own == a->kind,
				      "%s: '%s' is %d, bulkreg's is %d",
				      profile_name((enum profile)p), a->name,
				      a->kind, own);
			unsigned n;
			ck_assert_int_eq(profile_column((enum profile)p, a->name, &n),
					 a->kind);
		}
	}
}
END_TEST

static Suite *profile_suite(void)
{
	Suite *s = suite_create("profile");
	TCase *tc = tcase_create("detect");
	tcase_add_test(tc, each_export_is_detected_from_its_header);
	tcase_add_test(tc, an_ambiguous_header_names_the_candidates);
	tcase_add_test(tc, bulkregs_own_columns_keep_a_header_bulkregs);
	tcase_add_test(tc, map_pairs_and_required_labels_for_messages);
	tcase_add_test(tc, known_statuses);
	tcase_add_test(tc, profile_names_parse_and_print);
	tcase_add_test(tc, oneroster_sourcedid_is_not_the_student);
	tcase_add_test(tc, canvas_clever_and_moodle_columns);
	tcase_add_test(tc, aliases_match_normal_forms_first_entry_first);
	tcase_add_test(tc, no_break_spaces_are_spaces_in_header_names);
	tcase_add_test(tc, map_pairs_name_columns_in_normal_form);
	tcase_add_test(tc, bad_map_specs_are_usage_errors);
	tcase_add_test(tc, map_quotes_and_repeats);
	tcase_add_test(tc, student_roles_and_the_rest);
	tcase_add_test(tc, statuses_that_mean_removed_are_drop_requests);
	tcase_add_test(tc, header_names_match_without_their_separators);
	tcase_add_test(tc, no_two_known_header_names_are_one_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("rows");
	tcase_add_test(tc, moodle_upload_gives_one_row_per_course_on_the_same_line);
	tcase_add_test(tc, flat_file_first_line_is_a_row);
	tcase_add_test(tc, canvas_section_stands_in_for_the_course);
	suite_add_tcase(s, tc);

	tc = tcase_create("users");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, users_are_found_by_exact_id_with_their_values);
	tcase_add_test(tc, users_file_id_column_by_rank);
	tcase_add_test(tc, users_listed_twice_give_one_warning);
	tcase_add_test(tc, users_rows_follow_the_rosters_csv_rules);
	tcase_add_test(tc, many_users_grow_the_index);
	tcase_add_test(tc, users_file_without_an_id_column_is_refused);
	tcase_add_test(tc, users_file_with_a_value_in_two_columns_is_refused);
	tcase_add_test(tc, the_join_fills_what_the_enrollment_lacks);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(profile_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
