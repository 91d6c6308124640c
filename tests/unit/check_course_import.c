/* check_course_import: reading a courses CSV, its problems and refusals. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "course_import.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/check_course_import.XXXXXX";

static const char *write_str(const char *name, const char *s)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(s, 1, strlen(s), f), strlen(s));
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static void read_ok(const char *content, struct course_import *ci)
{
	struct error err = {{0}};
	enum status st = course_import_read(write_str("c.csv", content), NULL, ci, &err);
	ck_assert_msg(st == ST_OK, "status %d: %s", st, err.msg);
}

static void expect_refused(const char *content, const char *substr)
{
	struct course_import ci;
	struct error err = {{0}};
	enum status st = course_import_read(write_str("bad.csv", content), NULL, &ci, &err);
	ck_assert_msg(st == ST_INPUT, "status %d: %s", st, err.msg);
	ck_assert_msg(strstr(err.msg, substr), "'%s' lacks '%s'", err.msg, substr);
	ck_assert_uint_eq(ci.count, 0);
	ck_assert_ptr_null(ci.rows);
	ck_assert_ptr_null(ci.storage);
}

/* A one-course file must give exactly one problem holding `substr`. */
static void expect_problem(const char *content, uint64_t line, const char *substr)
{
	struct course_import ci;
	read_ok(content, &ci);
	ck_assert_msg(ci.problem_count == 1, "%zu problems", ci.problem_count);
	ck_assert_uint_eq(ci.problems[0].line, line);
	ck_assert_msg(strstr(ci.problems[0].message, substr), "'%s' lacks '%s'",
		      ci.problems[0].message, substr);
	course_import_free(&ci);
}

START_TEST(courses_are_read_with_their_lines)
{
	struct course_import ci;
	read_ok("code,title,capacity,waitlist\n"
		"MATH-101,Calculus I,30,5\n"
		"CS.2,\"Programming, the basics\",0,\n",
		&ci);
	ck_assert_uint_eq(ci.problem_count, 0);
	ck_assert_uint_eq(ci.count, 2);
	const struct course_input *a = &ci.rows[0].input, *b = &ci.rows[1].input;
	ck_assert_uint_eq(ci.rows[0].line, 2);
	ck_assert_str_eq(a->code, "MATH-101");
	ck_assert_str_eq(a->title, "Calculus I");
	ck_assert_int_eq(a->capacity, 30);
	ck_assert(a->has_waitlist);
	ck_assert_int_eq(a->waitlist_max, 5);
	ck_assert_uint_eq(ci.rows[1].line, 3);
	ck_assert_str_eq(b->code, "CS.2");
	ck_assert_str_eq(b->title, "Programming, the basics");
	ck_assert_int_eq(b->capacity, 0);
	ck_assert(b->has_waitlist);
	ck_assert_int_eq(b->waitlist_max, WAITLIST_UNLIMITED);
	course_import_free(&ci);
	ck_assert_ptr_null(ci.rows);
}
END_TEST

START_TEST(without_waitlist_column_waitlist_is_kept)
{
	struct course_import ci;
	read_ok("code,title,capacity\nM1,T,10\n", &ci);
	ck_assert_uint_eq(ci.count, 1);
	ck_assert(!ci.rows[0].input.has_waitlist);
	ck_assert_int_eq(ci.rows[0].input.waitlist_max, WAITLIST_UNLIMITED);
	course_import_free(&ci);
}
END_TEST

START_TEST(title_is_optional)
{
	struct course_import ci;
	read_ok("code,capacity\nM1,10\n", &ci);
	ck_assert_uint_eq(ci.count, 1);
	ck_assert_ptr_null(ci.rows[0].input.title);
	course_import_free(&ci);
	read_ok("code,title,capacity\nM1,,10\n", &ci);
	ck_assert_ptr_null(ci.rows[0].input.title);
	course_import_free(&ci);
}
END_TEST

START_TEST(header_names_are_normalised)
{
	struct course_import ci;
	read_ok(" Course Code ,TITLE,Capacity,Wait-List,notes\nM1,T,10,3,hello\n", &ci);
	ck_assert_uint_eq(ci.problem_count, 0);
	ck_assert_uint_eq(ci.count, 1);
	ck_assert_str_eq(ci.rows[0].input.code, "M1");
	ck_assert_int_eq(ci.rows[0].input.waitlist_max, 3);
	course_import_free(&ci);
}
END_TEST

/* Issue 12: a no-break space in a name, as spreadsheets write it
 * ('capacity<U+00A0>'), is a space. */
START_TEST(no_break_spaces_in_header_names_are_spaces)
{
	struct course_import ci;
	read_ok("code,title,capacity\xC2\xA0,Wait\xE2\x80\xAFList\n"
		"M1,T,10,3\n", &ci);
	ck_assert_uint_eq(ci.problem_count, 0);
	ck_assert_uint_eq(ci.count, 1);
	ck_assert_int_eq(ci.rows[0].input.capacity, 10);
	ck_assert_int_eq(ci.rows[0].input.waitlist_max, 3);
	course_import_free(&ci);
}
END_TEST

START_TEST(columns_may_come_in_any_order)
{
	struct course_import ci;
	read_ok("capacity,waitlist,code,title\n7,,M1,T\n", &ci);
	ck_assert_uint_eq(ci.count, 1);
	ck_assert_str_eq(ci.rows[0].input.code, "M1");
	ck_assert_int_eq(ci.rows[0].input.capacity, 7);
	course_import_free(&ci);
}
END_TEST

START_TEST(bom_crlf_and_quoted_line_breaks_are_handled)
{
	struct course_import ci;
	read_ok("\xEF\xBB\xBF" "code,title,capacity\r\n"
		"M1,\"two\r\nlines\",10\r\n"
		"\r\n"
		"M2,T,ten\r\n",
		&ci);
	ck_assert_uint_eq(ci.count, 1);
	ck_assert_str_eq(ci.rows[0].input.title, "two\r\nlines");
	ck_assert_uint_eq(ci.problem_count, 1);
	ck_assert_uint_eq(ci.problems[0].line, 5);
	course_import_free(&ci);
}
END_TEST

START_TEST(capacity_bounds_are_inclusive)
{
	struct course_import ci;
	read_ok("code,capacity,waitlist\nA,0,0\nB,1000000,1000000\nC,+5,007\n", &ci);
	ck_assert_uint_eq(ci.problem_count, 0);
	ck_assert_uint_eq(ci.count, 3);
	ck_assert_int_eq(ci.rows[1].input.capacity, 1000000);
	ck_assert_int_eq(ci.rows[1].input.waitlist_max, 1000000);
	ck_assert_int_eq(ci.rows[2].input.capacity, 5);
	ck_assert_int_eq(ci.rows[2].input.waitlist_max, 7);
	course_import_free(&ci);
}
END_TEST

START_TEST(capacity_must_be_a_whole_number)
{
	expect_problem("code,capacity\nM1,ten\n", 2,
		       "c.csv: line 2: capacity: 'ten' is not a whole number");
	expect_problem("code,capacity\nM1,1.5\n", 2, "'1.5' is not a whole number");
	expect_problem("code,capacity\nM1,1e3\n", 2, "'1e3' is not a whole number");
	expect_problem("code,capacity\nM1,-\n", 2, "'-' is not a whole number");
	expect_problem("code,capacity\nM1,\"1 0\"\n", 2, "not a whole number");
}
END_TEST

START_TEST(capacity_out_of_range_is_a_problem)
{
	expect_problem("code,capacity\nM1,1000001\n", 2,
		       "capacity: '1000001' is out of range (0 to 1,000,000)");
	expect_problem("code,capacity\nM1,-1\n", 2, "'-1' is out of range");
	expect_problem("code,capacity\nM1,99999999999999999999999\n", 2,
		       "is out of range");
}
END_TEST

START_TEST(empty_capacity_is_a_problem)
{
	expect_problem("code,capacity\nM1,\n", 2, "capacity is empty");
}
END_TEST

START_TEST(waitlist_must_be_empty_or_a_count)
{
	expect_problem("code,capacity,waitlist\nM1,5,lots\n", 2,
		       "waitlist: 'lots' is not a whole number");
	expect_problem("code,capacity,waitlist\nM1,5,2000000\n", 2,
		       "waitlist: '2000000' is out of range");
}
END_TEST

START_TEST(code_must_be_valid)
{
	expect_problem("code,capacity\n,5\n", 2, "code (column 1 ('code')) is empty");
	expect_problem("code,capacity\nMATH\xE2\x80\x8B" "101,5\n", 2,
		       "code: 'MATH\\u200b101' is not a course code");
	expect_problem("code,capacity\nM\x01" "1,5\n", 2, "is not a course code");
}
END_TEST

START_TEST(duplicate_code_is_a_problem_on_the_later_line)
{
	struct course_import ci;
	read_ok("code,capacity\nM1,5\nM2,5\n\nM1,7\n", &ci);
	ck_assert_uint_eq(ci.count, 2);
	ck_assert_uint_eq(ci.problem_count, 1);
	ck_assert_uint_eq(ci.problems[0].line, 5);
	ck_assert_msg(strstr(ci.problems[0].message,
			     "line 5: course 'M1' is listed twice (first on line 2)"),
		      "%s", ci.problems[0].message);
	course_import_free(&ci);
}
END_TEST

START_TEST(wrong_field_count_is_a_problem)
{
	expect_problem("code,title,capacity\nM1,10\n", 2, "2 fields, the header has 3");
}
END_TEST

START_TEST(text_after_a_closing_quote_is_a_problem)
{
	expect_problem("code,title,capacity\nM1,\"Caf\"e,10\n", 2,
		       "column 2 ('title'): text after a closing quote");
	/* Blank lines before the header; the first quote's column is named. */
	expect_problem("\n\ncode,title,capacity\nM1,\"Caf\"e,\"1\"0\n", 4,
		       "line 4: column 2 ('title'): text after a closing quote");
}
END_TEST

START_TEST(long_title_is_a_problem)
{
	char text[600];
	char title[301];
	memset(title, 't', 300);
	title[300] = '\0';
	snprintf(text, sizeof(text), "code,title,capacity\nM1,%s,10\n", title);
	expect_problem(text, 2, "title is 300 bytes (limit 256)");
}
END_TEST

START_TEST(reading_goes_on_after_problems)
{
	struct course_import ci;
	read_ok("code,capacity\nM1,x\nM2,5\nM\x01" "3,5\nM4,6\n", &ci);
	ck_assert_uint_eq(ci.count, 2);
	ck_assert_str_eq(ci.rows[0].input.code, "M2");
	ck_assert_str_eq(ci.rows[1].input.code, "M4");
	ck_assert_uint_eq(ci.problem_count, 2);
	ck_assert_uint_eq(ci.problems[0].line, 2);
	ck_assert_uint_eq(ci.problems[1].line, 4);
	course_import_free(&ci);
}
END_TEST

START_TEST(many_courses_are_read)
{
	size_t n = 5000, cap = n * 32 + 64, used = 0;
	char *text = malloc(cap);
	used += (size_t)snprintf(text, cap, "code,title,capacity\n");
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(text + used, cap - used, "C%zu,Title %zu,%zu\n",
					 i, i, i % 100);
	struct course_import ci;
	read_ok(text, &ci);
	free(text);
	ck_assert_uint_eq(ci.count, n);
	ck_assert_uint_eq(ci.problem_count, 0);
	ck_assert_str_eq(ci.rows[n - 1].input.code, "C4999");
	ck_assert_str_eq(ci.rows[n - 1].input.title, "Title 4999");
	ck_assert_uint_eq(ci.rows[n - 1].line, n + 1);
	course_import_free(&ci);
}
END_TEST

START_TEST(unusable_files_are_refused)
{
	expect_refused("", "bad.csv: empty file");
	expect_refused("\xEF\xBB\xBF", "bad.csv: empty file");
	expect_refused("\n \n\r\n", "bad.csv: no header line");
	expect_refused("title,capacity\nT,5\n", "line 1: missing required column 'code'");
	expect_refused("code,title\nM1,T\n", "line 1: no capacity column: give --capacity N");
	/* A roster given by mistake: said so, not "add --capacity" (review
	 * 23 F08). */
	expect_refused("student_id,first_name,last_name,email,course\nS1,A,B,a@x.org,M1\n",
		       "line 1: no capacity column, and a student_id column: this "
		       "looks like a roster (did you mean 'bulkreg register ");
	expect_refused("code,Course,capacity\n",
		       "line 1: column 'code' appears twice (columns 1 and 2)");
	expect_refused("code,capacity\nM1,5\nM\xE9,5\n",
		       "line 3, column 2: not valid UTF-8 (bytes E9 2C 35 0A)");
	expect_refused("code,title,capacity\nM1,\"open\n", "line 2: unterminated quoted field");
}
END_TEST

START_TEST(missing_file_and_directory_are_refused)
{
	struct course_import ci;
	struct error err;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/nope.csv", tmpdir);
	ck_assert_int_eq(course_import_read(path, NULL, &ci, &err), ST_INPUT);
	ck_assert_msg(strstr(err.msg, "nope.csv: no such file"), "%s", err.msg);
	ck_assert_int_eq(course_import_read(tmpdir, NULL, &ci, &err), ST_INPUT);
	ck_assert_msg(strstr(err.msg, "is a directory"), "%s", err.msg);
}
END_TEST

START_TEST(free_of_a_cleared_import_is_harmless)
{
	struct course_import ci;
	memset(&ci, 0, sizeof(ci));
	course_import_free(&ci);
	course_import_free(&ci);
}
END_TEST


/* ---- export formats (issue 12) ----------------------------------------------- */

static void read_with(const char *content, const struct course_import_options *o,
		      struct course_import *ci)
{
	struct error err = {{0}};
	enum status st = course_import_read(write_str("x.csv", content), o, ci, &err);
	ck_assert_msg(st == ST_OK, "status %d: %s", st, err.msg);
	ck_assert_msg(ci->problem_count == 0, "%s", ci->problem_count ?
			      ci->problems[0].message : "");
}

START_TEST(export_course_files_take_their_code_and_long_name)
{
	static const struct {
		const char *text, *format, *code, *title;
	} cases[] = {
		{"course_id,short_name,long_name,account_id,term_id,status\n"
		 "E411208,ENG115,English 115: Intro to English,A002,,active\n",
		 "canvas courses", "E411208", "English 115: Intro to English"},
		{"section_id,course_id,name,status,start_date,end_date\n"
		 "S001,E411208,Section 1,active,,\n",
		 "canvas sections", "S001", "Section 1"},
		{"sourcedId,status,dateLastModified,title,grade,courseSourcedId,"
		 "classCode,classType,location,schoolSourcedId,termSourcedIds\n"
		 "6f1c2a7e-0b3d-4c1e-9a55-3b2f1d0c9e01,active,,Algebra 7A,07,c1,"
		 "ALG-7A,scheduled,R12,sch1,t1\n",
		 "oneroster classes", "6f1c2a7e-0b3d-4c1e-9a55-3b2f1d0c9e01",
		 "Algebra 7A"},
		{"School_id,Section_id,Teacher_id,Name,Section_number,Grade\n"
		 "sch-9,5f0a1b2c,t-1,Math 8 - Period 2,2,8\n",
		 "clever sections", "5f0a1b2c", "Math 8 - Period 2"},
	};
	struct course_import_options o = {.has_capacity = true, .capacity = 25,
					  .has_waitlist = true, .waitlist_max = 5};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct course_import ci;
		read_with(cases[i].text, &o, &ci);
		ck_assert_str_eq(ci.format, cases[i].format);
		ck_assert(!ci.has_capacity);
		ck_assert_uint_eq(ci.count, 1);
		ck_assert_str_eq(ci.rows[0].input.code, cases[i].code);
		ck_assert_str_eq(ci.rows[0].input.title, cases[i].title);
		ck_assert_int_eq(ci.rows[0].input.capacity, 25);
		ck_assert(ci.rows[0].input.has_waitlist);
		ck_assert_int_eq(ci.rows[0].input.waitlist_max, 5);
		course_import_free(&ci);
	}
}
END_TEST

START_TEST(no_capacity_column_needs_the_option)
{
	expect_refused("course_id,long_name\nC1,One\n",
		       "line 1: no capacity column: give --capacity N (and "
		       "--waitlist N)");
	/* A capacity column wins over --capacity. */
	struct course_import_options o = {.has_capacity = true, .capacity = 25};
	struct course_import ci;
	read_with("code,title,capacity\nM1,T,7\n", &o, &ci);
	ck_assert(ci.has_capacity);
	ck_assert_int_eq(ci.rows[0].input.capacity, 7);
	ck_assert_str_eq(ci.format, "bulkreg");
	course_import_free(&ci);
}
END_TEST

/* --map for a courses file goes through the roster's parser: quotes,
 * normal forms, a field given twice, the fields listed. */
START_TEST(map_uses_the_one_map_parser)
{
	struct course_import_options opt = {0};
	struct error err;
	ck_assert_int_eq(course_import_map_parse("code=\"Section Code\",capacity=Seats",
						 &opt, &err), ST_OK);
	ck_assert_int_eq(csvread_map_kind(&opt.map, "section_code"), 0);
	ck_assert_int_eq(csvread_map_kind(&opt.map, "seats"), 2);
	ck_assert_int_eq(csvread_map_kind(&opt.map, "title"), -1);
	ck_assert_int_eq(course_import_map_parse("code=a,code=b", &opt, &err),
			 ST_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "code is given twice"));
	ck_assert_int_eq(course_import_map_parse("grade=G", &opt, &err), ST_USAGE);
	ck_assert_str_eq(err.msg, "--map: 'grade' is not a field of a courses file "
				  "(code, title, capacity, waitlist)");
}
END_TEST

static Suite *course_import_suite(void)
{
	Suite *s = suite_create("course_import");
	TCase *tc = tcase_create("read");
	tcase_add_test(tc, courses_are_read_with_their_lines);
	tcase_add_test(tc, without_waitlist_column_waitlist_is_kept);
	tcase_add_test(tc, title_is_optional);
	tcase_add_test(tc, header_names_are_normalised);
	tcase_add_test(tc, no_break_spaces_in_header_names_are_spaces);
	tcase_add_test(tc, columns_may_come_in_any_order);
	tcase_add_test(tc, bom_crlf_and_quoted_line_breaks_are_handled);
	tcase_add_test(tc, capacity_bounds_are_inclusive);
	tcase_add_test(tc, many_courses_are_read);
	tcase_add_test(tc, free_of_a_cleared_import_is_harmless);
	suite_add_tcase(s, tc);

	tc = tcase_create("problems");
	tcase_add_test(tc, capacity_must_be_a_whole_number);
	tcase_add_test(tc, capacity_out_of_range_is_a_problem);
	tcase_add_test(tc, empty_capacity_is_a_problem);
	tcase_add_test(tc, waitlist_must_be_empty_or_a_count);
	tcase_add_test(tc, code_must_be_valid);
	tcase_add_test(tc, duplicate_code_is_a_problem_on_the_later_line);
	tcase_add_test(tc, wrong_field_count_is_a_problem);
	tcase_add_test(tc, text_after_a_closing_quote_is_a_problem);
	tcase_add_test(tc, long_title_is_a_problem);
	tcase_add_test(tc, reading_goes_on_after_problems);
	tcase_add_test(tc, export_course_files_take_their_code_and_long_name);
	tcase_add_test(tc, no_capacity_column_needs_the_option);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_test(tc, unusable_files_are_refused);
	tcase_add_test(tc, missing_file_and_directory_are_refused);
	tcase_add_test(tc, map_uses_the_one_map_parser);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(course_import_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
