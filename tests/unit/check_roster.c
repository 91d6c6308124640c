/* check_roster: the roster reader -- CSV dialects, lines, header, limits. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csvread.h"
#include "escape.h"
#include "roster.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/check_roster.XXXXXX";

#define MAX_ROWS 16

/* ---- helpers ------------------------------------------------------------ */

static const char *tmp_path(const char *name)
{
	static char paths[4][PATH_MAX];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, PATH_MAX, "%s/%s", tmpdir, name);
	return p;
}

static const char *write_file(const char *name, const void *data, size_t len)
{
	const char *path = tmp_path(name);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static const char *write_str(const char *name, const char *s)
{
	return write_file(name, s, strlen(s));
}

static struct roster_options comma(void)
{
	struct roster_options o = {.delimiter = ','};
	return o;
}

static struct roster_reader *open_ok(const char *path,
				     const struct roster_options *o)
{
	struct roster_reader *r = NULL;
	struct error err = {{0}};
	enum status st = roster_open(path, o, &r, &err);
	ck_assert_msg(st == ST_OK, "roster_open: %d %s", st, err.msg);
	ck_assert_ptr_nonnull(r);
	return r;
}

static struct roster_reader *open_str(const char *s)
{
	struct roster_options o = comma();
	return open_ok(write_str("in.csv", s), &o);
}

/* Reads every row; returns how many, and the final status in *last. */
static size_t read_all(struct roster_reader *r, struct row *rows, size_t max,
		       enum status *last, struct error *err)
{
	static struct row spare;
	size_t n = 0;
	for (;;) {
		struct row *row = n < max ? &rows[n] : &spare;
		enum status st = roster_next(r, row, err);
		if (st != ST_OK) {
			*last = st;
			return n;
		}
		n++;
	}
}

/* Opens and reads a whole string that must parse cleanly. */
static size_t parse(const char *s, struct row *rows)
{
	struct roster_reader *r = open_str(s);
	enum status last;
	struct error err = {{0}};
	size_t n = read_all(r, rows, MAX_ROWS, &last, &err);
	ck_assert_msg(last == ST_EOF, "roster_next: %d %s", last, err.msg);
	roster_close(r);
	return n;
}

static void expect_open_fail_path(const char *path,
				  const struct roster_options *o,
				  enum status want, const char *substr)
{
	struct roster_reader *r = (struct roster_reader *)1;
	struct error err = {{0}};
	enum status st = roster_open(path, o, &r, &err);
	ck_assert_msg(st == want, "status %d, want %d (%s)", st, want, err.msg);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(err.msg, substr), "message '%s' lacks '%s'", err.msg,
		      substr);
}

static void expect_open_fail(const char *content, enum status want,
			     const char *substr)
{
	struct roster_options o = comma();
	expect_open_fail_path(write_str("bad.csv", content), &o, want, substr);
}

/* Reads rows until an error, which must be `want` with `substr`. */
static void expect_next_fail(const char *path, enum status want,
			     const char *substr)
{
	struct roster_options o = comma();
	struct roster_reader *r = open_ok(path, &o);
	struct row *rows = calloc(MAX_ROWS, sizeof(*rows));
	enum status last;
	struct error err = {{0}};
	read_all(r, rows, MAX_ROWS, &last, &err);
	ck_assert_msg(last == want, "status %d, want %d (%s)", last, want, err.msg);
	ck_assert_msg(strstr(err.msg, substr), "message '%s' lacks '%s'", err.msg,
		      substr);
	roster_close(r);
	free(rows);
}

static void assert_value(const struct row *row, enum row_field f,
			 const char *want)
{
	ck_assert_msg(row->present & (1u << f), "field %d not present", f);
	ck_assert_str_eq(row->v[f].text, want);
	ck_assert_uint_eq(row->v[f].len, strlen(want));
}

#define HDR "student_id,first_name,last_name,email,course\n"

/* ---- records and values ------------------------------------------------- */

START_TEST(rows_come_in_order_with_their_lines)
{
	struct row rows[MAX_ROWS];
	size_t n = parse(HDR "s1,Ann,Lee,ann@x.org,MATH-1\n"
			     "s2,Bob,Ray,bob@x.org,CS-2\n",
			 rows);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(rows[0].line, 2);
	ck_assert_uint_eq(rows[0].nfields, 5);
	ck_assert_uint_eq(rows[0].present, (1u << FIELD_COUNT) - 1);
	assert_value(&rows[0], FIELD_STUDENT_ID, "s1");
	assert_value(&rows[0], FIELD_FIRST_NAME, "Ann");
	assert_value(&rows[0], FIELD_LAST_NAME, "Lee");
	assert_value(&rows[0], FIELD_EMAIL, "ann@x.org");
	assert_value(&rows[0], FIELD_COURSE, "MATH-1");
	ck_assert_uint_eq(rows[1].line, 3);
	assert_value(&rows[1], FIELD_COURSE, "CS-2");
	ck_assert_int_eq(rows[1].status, STATUS_NONE);
	ck_assert_ptr_null(rows[1].course);
}
END_TEST

START_TEST(last_row_without_newline_is_read)
{
	struct row rows[MAX_ROWS];
	size_t n = parse(HDR "s1,A,B,a@x.org,C1", rows);
	ck_assert_uint_eq(n, 1);
	assert_value(&rows[0], FIELD_COURSE, "C1");
	ck_assert_uint_eq(rows[0].line, 2);
}
END_TEST

START_TEST(quoted_fields_hold_delimiters_and_doubled_quotes)
{
	struct row rows[MAX_ROWS];
	size_t n = parse(HDR "s1,\"Lee, Ann\",\"O\"\"Hara\",\"a@x.org\",\"C1\"\n",
			 rows);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(rows[0].nfields, 5);
	assert_value(&rows[0], FIELD_FIRST_NAME, "Lee, Ann");
	assert_value(&rows[0], FIELD_LAST_NAME, "O\"Hara");
	assert_value(&rows[0], FIELD_EMAIL, "a@x.org");
}
END_TEST

START_TEST(line_breaks_inside_quotes_are_counted)
{
	struct row rows[MAX_ROWS];
	size_t n = parse(HDR
			 "s1,\"two\nlines\",B,a@x.org,C\n"          /* 2-3 */
			 "s2,\"crlf\r\ninside\",B,a@x.org,C\n"      /* 4-5 */
			 "s3,\"lone\rcr\",B,a@x.org,C\n"            /* 6-7 */
			 "s4,\"\n\n\",B,a@x.org,C\n"                /* 8-10 */
			 "s5,A,B,a@x.org,C\n",                      /* 11 */
			 rows);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(rows[0].line, 2);
	assert_value(&rows[0], FIELD_FIRST_NAME, "two\nlines");
	ck_assert_uint_eq(rows[1].line, 4);
	assert_value(&rows[1], FIELD_FIRST_NAME, "crlf\r\ninside");
	ck_assert_uint_eq(rows[2].line, 6);
	assert_value(&rows[2], FIELD_FIRST_NAME, "lone\rcr");
	ck_assert_uint_eq(rows[3].line, 8);
	ck_assert_uint_eq(rows[4].line, 11);
}
END_TEST

START_TEST(crlf_counts_as_one_line_break)
{
	struct row rows[MAX_ROWS];
	size_t n = parse("student_id,email,course\r\n"
			 "s1,a@x.org,C1\r\n"
			 "\r\n"
			 "s2,b@x.org,C2\r\n",
			 rows);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(rows[0].line, 2);
	assert_value(&rows[0], FIELD_COURSE, "C1");
	ck_assert_uint_eq(rows[1].line, 4);
	assert_value(&rows[1], FIELD_COURSE, "C2");
}
END_TEST

START_TEST(cr_only_line_endings_work)
{
	struct row rows[MAX_ROWS];
	size_t n = parse("student_id,email,course\rs1,a@x.org,C1\r\rs2,b@x.org,C2\r",
			 rows);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(rows[0].line, 2);
	ck_assert_uint_eq(rows[1].line, 4);
	assert_value(&rows[1], FIELD_STUDENT_ID, "s2");
}
END_TEST

START_TEST(mixed_line_endings_and_space_lines_count_exactly)
{
	struct row rows[MAX_ROWS];
	/* "\r  \n" is a CR line end, then a line of spaces: two breaks. */
	size_t n = parse("student_id,email,course\n"
			 "s1,a@x.org,C1\r  \n"
			 "s2,a@x.org,C1\n\r"
			 "s3,a@x.org,C1\r\n\n"
			 "s4,a@x.org,C1\n",
			 rows);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(rows[0].line, 2);
	ck_assert_uint_eq(rows[1].line, 4);
	ck_assert_uint_eq(rows[2].line, 6);
	ck_assert_uint_eq(rows[3].line, 8);
}
END_TEST

START_TEST(blank_lines_are_skipped_but_counted)
{
	struct row rows[MAX_ROWS];
	size_t n = parse("\n   \n"
			 "student_id,email,course\n"   /* line 3 */
			 "\n"
			 "s1,a@x.org,C1\n"             /* line 5 */
			 "  \t \n"
			 "\"\"\n"
			 "s2,a@x.org,C1\n"             /* line 8 */
			 "\n\n",
			 rows);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(rows[0].line, 5);
	ck_assert_uint_eq(rows[1].line, 8);
	ck_assert_uint_eq(rows[1].nfields, 3);
}
END_TEST

START_TEST(bom_is_skipped)
{
	struct row rows[MAX_ROWS];
	size_t n = parse("\xEF\xBB\xBFstudent_id,email,course\ns1,a@x.org,C1\n", rows);
	ck_assert_uint_eq(n, 1);
	assert_value(&rows[0], FIELD_STUDENT_ID, "s1");
}
END_TEST

START_TEST(values_are_trimmed_inside_and_outside_quotes)
{
	struct row rows[MAX_ROWS];
	size_t n = parse(HDR "  s1 , \" Ann \" ,\"\tLee\t\",\t a@x.org\t,  \"C1\"  \n",
			 rows);
	ck_assert_uint_eq(n, 1);
	assert_value(&rows[0], FIELD_STUDENT_ID, "s1");
	assert_value(&rows[0], FIELD_FIRST_NAME, "Ann");
	assert_value(&rows[0], FIELD_LAST_NAME, "Lee");
	assert_value(&rows[0], FIELD_EMAIL, "a@x.org");
	assert_value(&rows[0], FIELD_COURSE, "C1");
}
END_TEST

START_TEST(inner_spaces_are_kept)
{
	struct row rows[MAX_ROWS];
	size_t n = parse(HDR "s1,Mary  Ann,van der Berg,a@x.org,C1\n", rows);
	ck_assert_uint_eq(n, 1);
	assert_value(&rows[0], FIELD_FIRST_NAME, "Mary  Ann");
	assert_value(&rows[0], FIELD_LAST_NAME, "van der Berg");
}
END_TEST

START_TEST(nul_bytes_inside_a_field_refuse_the_file)
{
	static const char data[] = "student_id,email,course\ns\0001,a@x.org,C1\n";
	struct roster_options o = comma();
	expect_open_fail_path(write_file("nul.csv", data, sizeof(data) - 1), &o,
			      ST_INPUT, "nul.csv: line 2, column 2: a NUL byte (bytes 00 31 2C 61)");
}
END_TEST

START_TEST(short_and_long_rows_report_their_field_count)
{
	struct row rows[MAX_ROWS];
	size_t n = parse("student_id,email,course\n"
			 "s1,a@x.org\n"
			 "s2,a@x.org,C1,extra,more\n"
			 "s3,,C1\n",
			 rows);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(rows[0].nfields, 2);
	ck_assert(!(rows[0].present & (1u << FIELD_COURSE)));
	ck_assert(rows[0].present & (1u << FIELD_EMAIL));
	ck_assert_uint_eq(rows[1].nfields, 5);
	assert_value(&rows[1], FIELD_COURSE, "C1");
	ck_assert_uint_eq(rows[2].nfields, 3);
	assert_value(&rows[2], FIELD_EMAIL, "");
	/* columns the header lacks are never present */
	ck_assert(!(rows[2].present & (1u << FIELD_FIRST_NAME)));
}
END_TEST

START_TEST(header_only_gives_eof)
{
	struct roster_reader *r = open_str("student_id,email,course\n");
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_EOF);
	ck_assert_int_eq(roster_next(r, &row, &err), ST_EOF);
	ck_assert_uint_eq(roster_columns(r), 3);
	roster_close(r);
}
END_TEST

/* ---- delimiters ---------------------------------------------------------- */

static size_t parse_delim(const char *s, unsigned char d, struct row *rows)
{
	struct roster_options o = {.delimiter = d};
	struct roster_reader *r = open_ok(write_str("delim.csv", s), &o);
	enum status last;
	struct error err = {{0}};
	size_t n = read_all(r, rows, MAX_ROWS, &last, &err);
	ck_assert_msg(last == ST_EOF, "%s", err.msg);
	roster_close(r);
	return n;
}

START_TEST(semicolon_delimiter)
{
	struct row rows[MAX_ROWS];
	size_t n = parse_delim("student_id;email;course\ns1;a@x.org;\"C;1\"\n", ';',
			       rows);
	ck_assert_uint_eq(n, 1);
	assert_value(&rows[0], FIELD_COURSE, "C;1");
	ck_assert_uint_eq(rows[0].nfields, 3);
}
END_TEST

START_TEST(pipe_delimiter)
{
	struct row rows[MAX_ROWS];
	size_t n = parse_delim("student_id|email|course\ns1|a@x.org|C1\n", '|', rows);
	ck_assert_uint_eq(n, 1);
	assert_value(&rows[0], FIELD_EMAIL, "a@x.org");
}
END_TEST

START_TEST(commas_are_data_with_another_delimiter)
{
	struct row rows[MAX_ROWS];
	size_t n = parse_delim("student_id;first_name;email;course\n"
			       "s1;Lee, Ann;a@x.org;C1\n",
			       ';', rows);
	ck_assert_uint_eq(n, 1);
	assert_value(&rows[0], FIELD_FIRST_NAME, "Lee, Ann");
}
END_TEST

START_TEST(tab_delimiter_keeps_empty_fields)
{
	struct row rows[MAX_ROWS];
	size_t n = parse_delim("student_id\tfirst_name\tlast_name\temail\tcourse\n"
			       "s1\t\t\ta@x.org\tC1\n"
			       "s2\t \t\"\"\tb@x.org\tC1\n"
			       "\t\t\t\t\n",
			       '\t', rows);
	ck_assert_uint_eq(n, 2); /* a line of only tabs is a blank line */
	ck_assert_uint_eq(rows[0].nfields, 5);
	assert_value(&rows[0], FIELD_FIRST_NAME, "");
	assert_value(&rows[0], FIELD_LAST_NAME, "");
	assert_value(&rows[0], FIELD_EMAIL, "a@x.org");
	ck_assert_uint_eq(rows[1].nfields, 5);
	assert_value(&rows[1], FIELD_EMAIL, "b@x.org");
}
END_TEST

START_TEST(unsupported_delimiter_is_refused)
{
	struct roster_options o = {.delimiter = 'x'};
	expect_open_fail_path(write_str("d.csv", "a\n"), &o, ST_USAGE, "delimiter");
}
END_TEST

/* ---- the header ---------------------------------------------------------- */

START_TEST(header_aliases_map_to_fields)
{
	struct row rows[MAX_ROWS];
	size_t n = parse(" Student ID ,givenName,Family-Name,E-Mail,classSourcedId\n"
			 "s1,Ann,Lee,a@x.org,C1\n",
			 rows);
	ck_assert_uint_eq(n, 1);
	assert_value(&rows[0], FIELD_STUDENT_ID, "s1");
	assert_value(&rows[0], FIELD_FIRST_NAME, "Ann");
	assert_value(&rows[0], FIELD_LAST_NAME, "Lee");
	assert_value(&rows[0], FIELD_EMAIL, "a@x.org");
	assert_value(&rows[0], FIELD_COURSE, "C1");
}
END_TEST

START_TEST(more_header_aliases)
{
	static const char *const headers[] = {
		"id,first,last,mail,class\n",
		"SOURCEDID,First Name,surname,EMAIL,course_code\n",
		"userSourcedId,first-name,LAST_NAME,e_mail,Course Code\n",
		"student,given name,familyName,Mail,COURSE\n",
	};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "%ss1,Ann,Lee,a@x.org,C1\n", headers[i]);
		struct row rows[MAX_ROWS];
		ck_assert_uint_eq(parse(text, rows), 1);
		ck_assert_msg(rows[0].present == (1u << FIELD_COUNT) - 1, "%s",
			      headers[i]);
		assert_value(&rows[0], FIELD_LAST_NAME, "Lee");
	}
}
END_TEST

START_TEST(quoted_header_names_are_matched)
{
	struct row rows[MAX_ROWS];
	size_t n = parse("\"student_id\",\" email \",\"course\"\ns1,a@x.org,C1\n", rows);
	ck_assert_uint_eq(n, 1);
	assert_value(&rows[0], FIELD_EMAIL, "a@x.org");
}
END_TEST

START_TEST(unknown_columns_give_one_warning)
{
	struct roster_reader *r =
		open_str("student_id,notes,email,phone,course,\ns1,x,a@x.org,1,C1,\n");
	ck_assert_uint_eq(roster_warning_count(r), 1);
	const char *w = roster_warning(r, 0);
	/* The empty header cell at the end is ignored, not named. */
	ck_assert_msg(strstr(w, "ignoring unknown columns: 'notes', 'phone'") &&
			      !strstr(w, "''"),
		      "%s", w);
	ck_assert_uint_eq(roster_columns(r), 6);
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	ck_assert_uint_eq(row.nfields, 6);
	assert_value(&row, FIELD_COURSE, "C1");
	roster_close(r);
}
END_TEST

START_TEST(known_columns_give_no_warning)
{
	struct roster_reader *r = open_str(HDR);
	ck_assert_uint_eq(roster_warning_count(r), 0);
	ck_assert_ptr_null(roster_warning(r, 0));
	roster_close(r);
}
END_TEST

START_TEST(course_override_fills_every_row)
{
	struct roster_options o = {.delimiter = ',', .course_override = "CS-101"};
	struct roster_reader *r =
		open_ok(write_str("o.csv", "student_id,email\ns1,a@x.org\n\ns2,b@x.org\n"),
			&o);
	ck_assert_uint_eq(roster_warning_count(r), 0);
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	assert_value(&row, FIELD_COURSE, "CS-101");
	ck_assert_uint_eq(row.nfields, 2);
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	ck_assert_uint_eq(row.line, 4);
	assert_value(&row, FIELD_COURSE, "CS-101");
	ck_assert_int_eq(roster_next(r, &row, &err), ST_EOF);
	roster_close(r);
}
END_TEST

START_TEST(course_override_ignores_course_column_with_warning)
{
	struct roster_options o = {.delimiter = ',', .course_override = "CS-101"};
	struct roster_reader *r = open_ok(
		write_str("o.csv", "student_id,email,class\ns1,a@x.org,MATH-9\n"), &o);
	ck_assert_uint_eq(roster_warning_count(r), 1);
	const char *w = roster_warning(r, 0);
	ck_assert_msg(strstr(w, "'class' (column 3)") && strstr(w, "'CS-101'"), "%s",
		      w);
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	assert_value(&row, FIELD_COURSE, "CS-101");
	ck_assert_uint_eq(row.nfields, 3);
	roster_close(r);
}
END_TEST

START_TEST(missing_required_column_lists_columns_found)
{
	expect_open_fail("id,name,email\ns1,x,C1\n", ST_INPUT,
			 "line 1: missing required column 'course' (columns "
			 "found: 'id', 'name', 'email')");
	expect_open_fail("email,course\n", ST_INPUT,
			 "missing required column 'student_id'");
	expect_open_fail("student_id,email\n", ST_INPUT,
			 "missing required column 'course'");
	expect_open_fail("name\n", ST_INPUT,
			 "missing required columns 'student_id', 'course' "
			 "(columns found: 'name')");
	/* The email column is optional (enrollment exports have none). */
	struct roster_options o = comma();
	roster_close(open_ok(write_str("ne.csv", "student_id,course\n"), &o));
}
END_TEST

START_TEST(missing_column_message_escapes_control_bytes)
{
	expect_open_fail("id,\"a\x01" "b\",email\n", ST_INPUT, "'a\\x01b'");
}
END_TEST

START_TEST(missing_column_message_lists_twenty_and_more)
{
	char header[2048] = "";
	for (int i = 1; i <= 30; i++) {
		char col[16];
		snprintf(col, sizeof(col), "%sc%d", i > 1 ? "," : "", i);
		strcat(header, col);
	}
	strcat(header, "\n");
	expect_open_fail(header, ST_INPUT, "'c19', 'c20' and 10 more)");
}
END_TEST

START_TEST(course_not_required_with_override)
{
	struct roster_options o = {.delimiter = ',', .course_override = "C1"};
	struct roster_reader *r = open_ok(write_str("o.csv", "id,email\n"), &o);
	roster_close(r);
	expect_open_fail_path(write_str("o2.csv", "name,course\n"), &o, ST_INPUT,
			      "missing required column 'student_id'");
}
END_TEST

START_TEST(same_field_twice_is_refused)
{
	expect_open_fail("student_id,email,course,mail\n", ST_INPUT,
			 "line 1: column 'email' appears twice (columns 2 and 4");
	expect_open_fail("student_id,Email,course,email\n", ST_INPUT,
			 "column 'email' appears twice (columns 2 and 4");
	expect_open_fail("id,student_id,email,course\n", ST_INPUT,
			 "column 'student_id' appears twice (columns 1 and 2");
}
END_TEST

/* Exports repeat the names of columns bulkreg ignores. */
START_TEST(unknown_name_twice_is_accepted)
{
	struct roster_options o = comma();
	struct roster_reader *r = open_ok(
		write_str("d.csv", "student_id,notes,email,course,Notes\n"
				   "s1,a,a@x.org,C1,b\n"), &o);
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	assert_value(&row, FIELD_EMAIL, "a@x.org");
	roster_close(r);
	expect_open_fail("student_id,email,course,E-Mail\n", ST_INPUT,
			 "column 'email' appears twice (columns 2 and 4");
}
END_TEST

START_TEST(empty_names_may_repeat)
{
	/* Empty header cells repeat without a clash, and without a warning:
	 * there is no name to give (a spreadsheet's trailing ones). */
	struct roster_reader *r = open_str("student_id,,email,,course,\n");
	ck_assert_uint_eq(roster_warning_count(r), 0);
	roster_close(r);
}
END_TEST

START_TEST(header_with_too_many_columns_is_refused)
{
	size_t cap = 20000, used = 0;
	char *h = malloc(cap);
	used += (size_t)snprintf(h, cap, "student_id,email,course");
	for (int i = 4; i <= ROSTER_MAX_COLUMNS + 1; i++)
		used += (size_t)snprintf(h + used, cap - used, ",x%d", i);
	snprintf(h + used, cap - used, "\n");
	expect_open_fail(h, ST_INPUT,
			 "line 1: the header has more than 1,024 columns (column "
			 "1,025 is past the limit)");
	free(h);
}
END_TEST

START_TEST(header_with_max_columns_is_accepted)
{
	size_t cap = 20000, used = 0;
	char *h = malloc(cap);
	used += (size_t)snprintf(h, cap, "student_id,email,course");
	for (int i = 4; i <= ROSTER_MAX_COLUMNS; i++)
		used += (size_t)snprintf(h + used, cap - used, ",x%d", i);
	snprintf(h + used, cap - used, "\ns1,a@x.org,C1\n");
	struct roster_reader *r = open_str(h);
	ck_assert_uint_eq(roster_columns(r), ROSTER_MAX_COLUMNS);
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	assert_value(&row, FIELD_COURSE, "C1");
	roster_close(r);
	free(h);
}
END_TEST

START_TEST(header_name_with_bad_utf8_names_line_and_column)
{
	expect_open_fail("student_id,email,caf\xC3,course\n", ST_INPUT,
			 "line 1, column 21: not valid UTF-8 (bytes C3 2C 63 6F)");
	expect_open_fail("student_id,\xC0\xAF,course\n", ST_INPUT,
			 "line 1, column 12: not valid UTF-8 (bytes C0 AF 2C 63)");
}
END_TEST

START_TEST(header_line_number_follows_blank_lines)
{
	expect_open_fail("\n\nstudent_id,mail,email\n", ST_INPUT,
			 "line 3: column 'email' appears twice");
}
END_TEST

START_TEST(long_header_names_are_shortened_in_messages)
{
	char h[512];
	char longname[201];
	memset(longname, 'n', 200);
	longname[200] = '\0';
	snprintf(h, sizeof(h), "student_id,%s,email\n", longname);
	expect_open_fail(h, ST_INPUT, "'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...'");
}
END_TEST

/* ---- unusable input ------------------------------------------------------- */

START_TEST(missing_file_is_refused)
{
	struct roster_options o = comma();
	const char *p = tmp_path("does-not-exist.csv");
	expect_open_fail_path(p, &o, ST_INPUT, "does-not-exist.csv: no such file");
}
END_TEST

START_TEST(directory_is_refused)
{
	struct roster_options o = comma();
	expect_open_fail_path(tmpdir, &o, ST_INPUT, ": is a directory");
}
END_TEST

START_TEST(unreadable_file_is_refused)
{
	if (geteuid() == 0)
		return; /* root reads anything: nothing to test */
	const char *p = write_str("secret.csv", HDR);
	ck_assert_int_eq(chmod(p, 0), 0);
	struct roster_options o = comma();
	expect_open_fail_path(p, &o, ST_INPUT, "secret.csv: permission denied");
}
END_TEST

START_TEST(empty_file_is_refused)
{
	expect_open_fail("", ST_INPUT, "bad.csv: empty file");
	expect_open_fail("\xEF\xBB\xBF", ST_INPUT, "bad.csv: empty file");
}
END_TEST

START_TEST(only_blank_lines_is_no_header)
{
	expect_open_fail("\n\r\n  \n\t\n", ST_INPUT, "bad.csv: no header line");
	expect_open_fail("   ", ST_INPUT, "no header line");
}
END_TEST

START_TEST(quote_in_a_header_name_is_a_character)
{
	expect_open_fail("student_id,co\"urse\n", ST_INPUT,
			 "missing required column 'course' (columns found: "
			 "'student_id', 'co\"urse')");
}
END_TEST

/* As Excel and Python's csv module read it. */
START_TEST(quote_inside_unquoted_field_is_a_character)
{
	struct row rows[MAX_ROWS];
	size_t n = parse(HDR "s1,O\"Neil,B,a@x.org,C\n"
			     "s2,Ann \"Bo\" Lee,B,a@x.org,C\n"
			     "s3,x\",y\",a@x.org,C\n", rows);
	ck_assert_uint_eq(n, 3);
	assert_value(&rows[0], FIELD_FIRST_NAME, "O\"Neil");
	ck_assert(!rows[0].malformed);
	assert_value(&rows[1], FIELD_FIRST_NAME, "Ann \"Bo\" Lee");
	assert_value(&rows[2], FIELD_FIRST_NAME, "x\"");
	assert_value(&rows[2], FIELD_LAST_NAME, "y\"");
	ck_assert_uint_eq(rows[2].line, 4);
}
END_TEST

/* "ab"c: that record is malformed, not the file; it ends where its line
 * does, and the lines after it are counted right. */
START_TEST(text_after_closing_quote_flags_the_record_only)
{
	struct row rows[MAX_ROWS];
	size_t n = parse(HDR "s1,\"multi\nline\"x,B,a@x.org,C\n"
			     "s2,\"ab\" c,B,a@x.org,C\n"
			     "s3,\"ok\",B,a@x.org,C\n", rows);
	ck_assert_uint_eq(n, 3);
	ck_assert(rows[0].malformed);
	ck_assert_uint_eq(rows[0].line, 2);
	ck_assert_uint_eq(rows[0].nfields, 5);
	ck_assert(rows[1].malformed);
	ck_assert_uint_eq(rows[1].line, 4);
	ck_assert(!rows[2].malformed);
	ck_assert_uint_eq(rows[2].line, 5);
	assert_value(&rows[2], FIELD_FIRST_NAME, "ok");
}
END_TEST

START_TEST(unterminated_quote_names_the_record_start)
{
	const char *p = write_str("u.csv", HDR "s1,A,B,a@x.org,C\n"
					       "s2,\"never\nclosed,B,a@x.org,C\n"
					       "s3,A,B,a@x.org,C\n");
	expect_next_fail(p, ST_INPUT,
			 "u.csv: line 3: unterminated quoted field (the record "
			 "starting on line 3 never ends)");
}
END_TEST

START_TEST(errors_are_final)
{
	/* Past the first buffer, so that the header and first rows read. */
	size_t pad = 200000;
	char *data = malloc(pad + 200);
	ck_assert_ptr_nonnull(data);
	size_t used = (size_t)sprintf(data, HDR);
	while (used < pad)
		used += (size_t)sprintf(data + used, "s1,A,B,a@x.org,C\n");
	used += (size_t)sprintf(data + used, "s2,\xFF,B,a@x.org,C\ns3,A,B,a@x.org,C\n");
	const char *p = write_file("m.csv", data, used);
	free(data);
	struct roster_options o = comma();
	struct roster_reader *r = open_ok(p, &o);
	struct row row;
	struct error err = {{0}};
	enum status st;
	while ((st = roster_next(r, &row, &err)) == ST_OK)
		;
	ck_assert_int_eq(st, ST_INPUT);
	err.msg[0] = '\0';
	ck_assert_int_eq(roster_next(r, &row, &err), ST_INPUT);
	ck_assert_msg(strstr(err.msg, ", column 4: not valid UTF-8 (bytes FF 2C 42 2C)"),
		      "%s", err.msg);
	roster_close(r);
}
END_TEST

/* ---- limits ------------------------------------------------------------------ */

START_TEST(row_of_100000_fields_is_counted)
{
	size_t n = 100000, cap = 64 + 2 * n;
	char *data = malloc(cap);
	size_t used = (size_t)snprintf(data, cap, "student_id,email,course\n");
	for (size_t i = 0; i < n; i++) {
		data[used++] = 'a';
		data[used++] = i + 1 < n ? ',' : '\n';
	}
	struct roster_options o = comma();
	struct roster_reader *r = open_ok(write_file("wide.csv", data, used), &o);
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	ck_assert_uint_eq(row.nfields, n);
	assert_value(&row, FIELD_COURSE, "a");
	ck_assert_int_eq(roster_next(r, &row, &err), ST_EOF);
	roster_close(r);
	free(data);
}
END_TEST

/* A roster whose first row's first_name is `len` bytes of 'x', with `bad`
 * at offset `bad_at` (if bad_at < len), quoted or not. */
static const char *write_big_field(size_t len, size_t bad_at, bool quoted)
{
	const char *head = "student_id,first_name,email,course\ns1,";
	const char *tail = ",a@x.org,C1\ns2,Bo,b@x.org,C1\n";
	size_t cap = strlen(head) + len + strlen(tail) + 2, used = 0;
	char *data = malloc(cap);
	ck_assert_ptr_nonnull(data);
	memcpy(data, head, strlen(head));
	used = strlen(head);
	if (quoted)
		data[used++] = '"';
	memset(data + used, 'x', len);
	if (bad_at < len)
		data[used + bad_at] = (char)0xFF;
	used += len;
	if (quoted)
		data[used++] = '"';
	memcpy(data + used, tail, strlen(tail));
	used += strlen(tail);
	const char *p = write_file("big.csv", data, used);
	free(data);
	return p;
}

START_TEST(ten_megabyte_field_is_kept_truncated)
{
	size_t len = 10u << 20;
	struct roster_options o = comma();
	struct roster_reader *r = open_ok(write_big_field(len, len, _i), &o);
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	ck_assert_uint_eq(row.v[FIELD_FIRST_NAME].len, len);
	ck_assert_uint_eq(strlen(row.v[FIELD_FIRST_NAME].text), ROW_VALUE_MAX);
	assert_value(&row, FIELD_EMAIL, "a@x.org");
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	assert_value(&row, FIELD_FIRST_NAME, "Bo");
	ck_assert_uint_eq(row.line, 3);
	ck_assert_int_eq(roster_next(r, &row, &err), ST_EOF);
	roster_close(r);
}
END_TEST

/* The text is checked as it is read, not value by value: a bad byte deep
 * in a 10 MB value stops the whole read, naming its line and column. */
START_TEST(bad_byte_past_the_kept_prefix_stops_the_read)
{
	size_t len = 10u << 20;
	struct roster_options o = comma();
	struct roster_reader *r = open_ok(write_big_field(len, len - 5, false), &o);
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_INPUT);
	ck_assert_msg(strstr(err.msg, "line 2, column 10485759: not valid UTF-8 "
				      "(bytes FF 78 78 78 78 2C)") ||
			      strstr(err.msg, "line 2, column 10485759: not valid UTF-8 "
					      "(bytes FF 78 78 78)"),
		      "%s", err.msg);
	ck_assert_int_eq(roster_next(r, &row, &err), ST_INPUT); /* and stays so */
	roster_close(r);
}
END_TEST

START_TEST(just_over_the_kept_prefix_is_checked_whole)
{
	/* Within the first buffer: refused before the header is taken. */
	struct roster_options o = comma();
	expect_open_fail_path(write_big_field(ROW_VALUE_MAX + 1, ROW_VALUE_MAX, false),
			      &o, ST_INPUT, "line 2, column 260: not valid UTF-8");
}
END_TEST

START_TEST(field_beyond_sixteen_mebibytes_is_refused)
{
	const char *p = write_big_field(17u << 20, SIZE_MAX, _i);
	expect_next_fail(p, ST_INPUT,
			 "big.csv: line 2, column 2 ('first_name'): a field is "
			 "longer than 16 MiB");
}
END_TEST

START_TEST(field_of_exactly_sixteen_mebibytes_is_accepted)
{
	struct roster_options o = comma();
	struct roster_reader *r =
		open_ok(write_big_field(ROSTER_FIELD_HARD_MAX, SIZE_MAX, _i), &o);
	struct row row;
	struct error err = {{0}};
	enum status st = roster_next(r, &row, &err);
	ck_assert_msg(st == ST_OK, "%s", err.msg);
	ck_assert_uint_eq(row.v[FIELD_FIRST_NAME].len, ROSTER_FIELD_HARD_MAX);
	roster_close(r);
}
END_TEST

/* ---- sources: pipes, FIFOs, standard input ---------------------------------- */

struct writer {
	int fd;
	const char *path; /* opened for writing if fd < 0 */
	const char *data;
};

static void *write_and_close(void *arg)
{
	struct writer *w = arg;
	int fd = w->fd >= 0 ? w->fd : open(w->path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	size_t len = strlen(w->data), done = 0;
	while (done < len) {
		/* dribble: small writes exercise partial reads */
		size_t n = len - done < 7 ? len - done : 7;
		ssize_t k = write(fd, w->data + done, n);
		ck_assert_int_gt(k, 0);
		done += (size_t)k;
	}
	close(fd);
	return NULL;
}

static const char *const PIPED = "\xEF\xBB\xBFstudent_id,email,course\n"
				 "s1,a@x.org,C1\n\"s2\",\"b@x.org\",C2\n";

static void read_piped(const char *path)
{
	struct roster_options o = comma();
	struct roster_reader *r = open_ok(path, &o);
	struct row rows[MAX_ROWS];
	enum status last;
	struct error err;
	ck_assert_uint_eq(read_all(r, rows, MAX_ROWS, &last, &err), 2);
	ck_assert_int_eq(last, ST_EOF);
	assert_value(&rows[1], FIELD_EMAIL, "b@x.org");
	ck_assert_uint_eq(rows[1].line, 3);
	ck_assert_uint_eq(roster_bytes_read(r), strlen(PIPED));
	roster_close(r);
}

START_TEST(pipe_is_read_through_dev_fd)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	struct writer w = {.fd = fds[1], .data = PIPED};
	pthread_t t = start_thread(write_and_close, &w);
	char path[64];
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	read_piped(path);
	join_thread(t);
	close(fds[0]);
}
END_TEST

START_TEST(fifo_is_read)
{
	const char *path = tmp_path("fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	struct writer w = {.fd = -1, .path = path, .data = PIPED};
	pthread_t t = start_thread(write_and_close, &w);
	read_piped(path);
	join_thread(t);
}
END_TEST

START_TEST(dash_reads_stdin_and_leaves_it_open)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
	close(fds[0]);
	struct writer w = {.fd = fds[1], .data = PIPED};
	pthread_t t = start_thread(write_and_close, &w);
	struct roster_options o = comma();
	struct roster_reader *r = open_ok("-", &o);
	ck_assert_str_eq(roster_name(r), "standard input");
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	assert_value(&row, FIELD_STUDENT_ID, "s1");
	roster_close(r);
	join_thread(t);
	ck_assert_int_ne(fcntl(STDIN_FILENO, F_GETFD), -1);
}
END_TEST

START_TEST(name_is_the_path_as_given)
{
	const char *p = write_str("n.csv", HDR);
	struct roster_options o = comma();
	struct roster_reader *r = open_ok(p, &o);
	ck_assert_str_eq(roster_name(r), p);
	roster_close(r);
}
END_TEST

/* ---- interrupted reads ---------------------------------------------------- */

static atomic_int cancel_asks;
static atomic_bool reader_done;

static void on_usr1(int sig)
{
	(void)sig;
}

static bool cancel_after(void *ctx)
{
	int limit = *(int *)ctx;
	return atomic_fetch_add(&cancel_asks, 1) + 1 >= limit;
}

struct interrupter {
	pthread_t target;
	int write_fd;       /* written and closed after 3 asks; -1: never */
};

/* Interrupts the reader's blocking read(2) until it has asked 3 times
 * whether to stop (then feeds it a roster), or until it is done. */
static void *interrupt_reader(void *arg)
{
	struct interrupter *in = arg;
	while (!atomic_load(&reader_done) && atomic_load(&cancel_asks) < 3) {
		pthread_kill(in->target, SIGUSR1);
		sched_yield();
	}
	if (in->write_fd >= 0) {
		const char *data = "student_id,email,course\ns1,a@x.org,C1\n";
		ck_assert_int_eq(write(in->write_fd, data, strlen(data)),
				 (ssize_t)strlen(data));
		close(in->write_fd);
	}
	return NULL;
}

/* Opens the read end of a pipe as a roster while another thread sends
 * signals (without SA_RESTART, so read(2) fails with EINTR). */
static enum status open_interrupted(int limit, bool feed, struct roster_reader **r,
				    struct error *err)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	atomic_store(&cancel_asks, 0);
	atomic_store(&reader_done, false);
	struct interrupter in = {pthread_self(), feed ? fds[1] : -1};
	pthread_t t = start_thread(interrupt_reader, &in);
	char path[64];
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	struct roster_options o = {.delimiter = ',', .cancelled = cancel_after,
				   .cancel_ctx = &limit};
	enum status st = roster_open(path, &o, r, err);
	atomic_store(&reader_done, true);
	join_thread(t);
	close(fds[0]);
	if (!feed)
		close(fds[1]);
	return st;
}

START_TEST(interrupted_read_stops_when_cancelled)
{
	struct roster_reader *r = NULL;
	struct error err = {{0}};
	ck_assert_int_eq(open_interrupted(1, false, &r, &err), ST_CANCELLED);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(err.msg, "interrupted"), "%s", err.msg);
	ck_assert_int_eq(atomic_load(&cancel_asks), 1);
}
END_TEST

START_TEST(interrupted_read_retries_when_not_cancelled)
{
	struct roster_reader *r = NULL;
	struct error err = {{0}};
	ck_assert_int_eq(open_interrupted(1000000, true, &r, &err), ST_OK);
	ck_assert_int_ge(atomic_load(&cancel_asks), 3);
	struct row row;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	assert_value(&row, FIELD_STUDENT_ID, "s1");
	roster_close(r);
}
END_TEST

/* ---- fingerprint ------------------------------------------------------------- */

START_TEST(sha256_covers_every_byte_read)
{
	const char *data = "\xEF\xBB\xBFstudent_id,email,course\r\ns1,a@x.org,C1\r\n";
	struct roster_options o = comma();
	struct roster_reader *r = open_ok(write_str("h.csv", data), &o);
	struct row row;
	struct error err;
	while (roster_next(r, &row, &err) == ST_OK)
		;
	char got[65];
	roster_sha256_hex(r, got);
	/* printf '\357\273\277student_id,...' | sha256sum: the same digest
	 * as the hand-written SHA-256 this replaced gave. */
	ck_assert_str_eq(got, "ffb462e9638a0dca0faaf6fe0e805b68"
			      "c860d55faeba260b2a90d8f3164a9d3b");
	ck_assert_uint_eq(roster_bytes_read(r), strlen(data));
	roster_close(r);
}
END_TEST

START_TEST(sha256_of_a_large_file_matches)
{
	size_t rows = 20000, cap = rows * 40 + 64, used = 0;
	char *data = malloc(cap);
	used += (size_t)snprintf(data, cap, "student_id,email,course\n");
	for (size_t i = 0; i < rows; i++)
		used += (size_t)snprintf(data + used, cap - used,
					 "s%zu,\"s%zu@x.org\",C%zu\n", i, i, i % 7);
	struct roster_options o = comma();
	struct roster_reader *r = open_ok(write_file("l.csv", data, used), &o);
	struct row row;
	struct error err;
	size_t n = 0;
	uint64_t last_line = 0;
	while (roster_next(r, &row, &err) == ST_OK) {
		n++;
		last_line = row.line;
	}
	ck_assert_uint_eq(n, rows);
	ck_assert_uint_eq(last_line, rows + 1);
	char got[65], want[65];
	roster_sha256_hex(r, got);
	struct sha256_ctx s;
	uint8_t digest[SHA256_DIGEST_SIZE];
	sha256_init(&s);
	sha256_update(&s, used, (const uint8_t *)data);
	sha256_digest(&s, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(want + 2 * i, 3, "%02x", digest[i]);
	ck_assert_str_eq(got, want);
	roster_close(r);
	free(data);
}
END_TEST

/* ---- the fast path agrees with libcsv ----------------------------------------- */

/* Everything csvread reports, as text, to compare two runs. */
struct trace {
	char *text;
	size_t len, cap;
};

static void trace_add(struct trace *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->text = realloc(t->text, t->cap);
		ck_assert_ptr_nonnull(t->text);
	}
	memcpy(t->text + t->len, s, n);
	t->len += n;
	t->text[t->len] = '\0';
}

static void trace_field(void *ctx, size_t index, const unsigned char *s,
			size_t len)
{
	char head[64];
	int n = snprintf(head, sizeof(head), "[%zu:", index);
	trace_add(ctx, head, (size_t)n);
	for (size_t i = 0; i < len; i++) /* NULs would end the text */
		trace_add(ctx, s[i] ? (const char *)&s[i] : "\\0", s[i] ? 1 : 2);
	trace_add(ctx, "]", 1);
}

static bool trace_record(void *ctx, size_t nfields, bool blank, uint64_t line)
{
	char text[96];
	int n = snprintf(text, sizeof(text), "<%zu %d @%llu>\n", nfields,
			 blank ? 1 : 0, (unsigned long long)line);
	if (blank) /* the two paths may hand a blank line's one empty field */
		n = snprintf(text, sizeof(text), "<blank @%llu>\n",
			     (unsigned long long)line);
	trace_add(ctx, text, (size_t)n);
	return true;
}

static void trace_file(const char *path, bool fast, struct trace *t)
{
	struct csvread cr;
	struct error err = {{0}};
	struct trace fields = {0};
	ck_assert_int_eq(csvread_open(&cr, path, ',', &err), ST_OK);
	cr.no_fast_path = !fast;
	cr.on_field = trace_field;
	cr.on_record = trace_record;
	cr.ctx = &fields;
	enum status st;
	while ((st = csvread_next(&cr, &err)) == ST_OK) {
		/* blank records drop their fields, as the clients do */
		const char *rec = strrchr(fields.text, '<');
		if (strncmp(rec, "<blank", 6) == 0)
			trace_add(t, rec, strlen(rec));
		else
			trace_add(t, fields.text, fields.len);
		fields.len = 0;
		fields.text[0] = '\0';
	}
	char end[ERROR_MAX + 32];
	int n = snprintf(end, sizeof(end), "end %d %s", st,
			 st == ST_EOF ? "" : err.msg);
	trace_add(t, end, (size_t)n);
	free(fields.text);
	csvread_close(&cr);
}

START_TEST(fast_path_matches_libcsv_on_random_input)
{
	static const char alphabet[] = {'a', 'b', ' ', '\t', ',', '"', '\r',
					'\n', '\xC3', '\xA9', '\0', 'x'};
	char data[200];
	for (int round = 0; round < 3000; round++) {
		size_t len = (size_t)(splitmix64((uint64_t)round * 7919) % sizeof(data));
		for (size_t i = 0; i < len; i++) {
			uint64_t k = splitmix64((uint64_t)round << 20 | i);
			/* mostly quote-free, so many lines take the fast path */
			size_t pick = k % sizeof(alphabet);
			if (alphabet[pick] == '"' && (k >> 32) % 4 != 0)
				pick = 0;
			data[i] = alphabet[pick];
		}
		const char *p = write_file("rand.csv", data, len);
		struct trace a = {0}, b = {0};
		trace_file(p, true, &a);
		trace_file(p, false, &b);
		ck_assert_msg(strcmp(a.text, b.text) == 0,
			      "round %d:\nfast:\n%s\nlibcsv:\n%s", round, a.text,
			      b.text);
		free(a.text);
		free(b.text);
	}
}
END_TEST

/* ---- hostile input (the bugs t_bad_inputs found) -------------------------------- */

/* Writes a header that never ends -- "student_id,email,course" and commas --
 * until the reader goes away (EPIPE) or 64 MiB are written. */
struct endless {
	int fd;
	size_t written;
};

static void *write_endless_header(void *arg)
{
	struct endless *e = arg;
	char commas[4096];
	memset(commas, ',', sizeof(commas));
	const char *head = "student_id,email,course";
	if (write(e->fd, head, strlen(head)) > 0)
		e->written += strlen(head);
	while (e->written < (64u << 20)) {
		ssize_t n = write(e->fd, commas, sizeof(commas));
		if (n <= 0)
			break;
		e->written += (size_t)n;
	}
	close(e->fd);
	return NULL;
}

/* It used to read the whole header line before counting its columns: for
 * ever, if the line never ends. */
START_TEST(endless_header_is_refused_without_reading_to_its_end)
{
	signal(SIGPIPE, SIG_IGN);
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	struct endless e = {fds[1], 0};
	pthread_t t = start_thread(write_endless_header, &e);
	char path[64];
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	struct roster_options o = comma();
	struct roster_reader *r = (struct roster_reader *)1;
	struct error err = {{0}};
	enum status st = roster_open(path, &o, &r, &err);
	close(fds[0]); /* the writer now fails with EPIPE */
	join_thread(t);
	ck_assert_msg(st == ST_INPUT, "status %d (%s)", st, err.msg);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(err.msg, "line 1: the header has more than 1,024 columns"),
		      "%s", err.msg);
	ck_assert_msg(e.written < (1u << 20), "%zu bytes were read", e.written);
}
END_TEST

static atomic_int asks;

static bool cancel_on_fifth_ask(void *ctx)
{
	(void)ctx;
	return atomic_fetch_add(&asks, 1) + 1 >= 5;
}

/* A read that does not block is never interrupted: cancellation used to be
 * noticed only on EINTR, so a long record in a file (or from a fast pipe)
 * was read to its end after SIGINT or SIGTERM. */
START_TEST(cancel_is_asked_before_every_read)
{
	size_t len = 4u << 20;
	const char *head = "student_id,email,course\ns1,a@x.org,C1";
	char *data = malloc(strlen(head) + len + 1);
	ck_assert_ptr_nonnull(data);
	memcpy(data, head, strlen(head));
	memset(data + strlen(head), ',', len);
	data[strlen(head) + len] = '\n';
	const char *p = write_file("long.csv", data, strlen(head) + len + 1);
	free(data);
	atomic_store(&asks, 0);
	struct roster_options o = {.delimiter = ',', .cancelled = cancel_on_fifth_ask};
	struct roster_reader *r = open_ok(p, &o);
	struct row row;
	struct error err = {{0}};
	enum status st = roster_next(r, &row, &err);
	ck_assert_msg(st == ST_CANCELLED, "status %d (%s)", st, err.msg);
	ck_assert_msg(strstr(err.msg, "long.csv: interrupted"), "%s", err.msg);
	ck_assert_int_eq(atomic_load(&asks), 5);
	ck_assert_uint_lt(roster_bytes_read(r), 5 * CSVREAD_BUF_SIZE);
	roster_close(r);
}
END_TEST

/* An unquoted field got one byte past the bound (libcsv's buffer holds a
 * closing quote that it does not need). */
START_TEST(field_of_sixteen_mebibytes_and_one_byte_is_refused)
{
	const char *p = write_big_field(ROSTER_FIELD_HARD_MAX + 1, SIZE_MAX, _i);
	expect_next_fail(p, ST_INPUT,
			 "big.csv: line 2, column 2 ('first_name'): a field is "
			 "longer than 16 MiB");
}
END_TEST

/* The last field of a file without a final line break ends in csv_fini. */
START_TEST(last_field_of_the_file_is_bounded_too)
{
	size_t len = ROSTER_FIELD_HARD_MAX + (_i ? 1 : 0);
	const char *head = "student_id,email,course\ns1,a@x.org,";
	char *data = malloc(strlen(head) + len);
	ck_assert_ptr_nonnull(data);
	memcpy(data, head, strlen(head));
	memset(data + strlen(head), 'C', len);
	const char *p = write_file("end.csv", data, strlen(head) + len);
	free(data);
	if (_i) {
		expect_next_fail(p, ST_INPUT,
				 "end.csv: line 2, column 3 ('course'): a field "
				 "is longer than 16 MiB");
		return;
	}
	struct row rows[2];
	struct roster_options o = comma();
	struct roster_reader *r = open_ok(p, &o);
	enum status last;
	struct error err = {{0}};
	ck_assert_uint_eq(read_all(r, rows, 2, &last, &err), 1);
	ck_assert_msg(last == ST_EOF, "%d %s", last, err.msg);
	ck_assert_uint_eq(rows[0].v[FIELD_COURSE].len, len);
	roster_close(r);
}
END_TEST

/* A quote that is never closed, in a big file, used to be reported only as
 * a field longer than 16 MiB. */
START_TEST(runaway_quoted_field_suggests_a_missing_quote)
{
	const char *line = "s9,A,B,a@x.org,C\n";
	size_t n = (17u << 20) / strlen(line) + 1;
	const char *head = HDR "s1,A,B,a@x.org,C\ns2,\"stray,B,a@x.org,C\n";
	char *data = malloc(strlen(head) + n * strlen(line));
	ck_assert_ptr_nonnull(data);
	size_t used = strlen(head);
	memcpy(data, head, used);
	for (size_t i = 0; i < n; i++, used += strlen(line))
		memcpy(data + used, line, strlen(line));
	const char *p = write_file("stray.csv", data, used);
	free(data);
	expect_next_fail(p, ST_INPUT,
			 "stray.csv: line 3, column 2 ('first_name'): a field is "
			 "longer than 16 MiB (a quoted field that goes on to line ");
	expect_next_fail(p, ST_INPUT, "is a closing quote missing?)");
}
END_TEST

/* Excel's "Unicode text" is UTF-16LE with a BOM: it used to be refused as
 * a header name that is not UTF-8, at byte 1. */
/* Latin-1 text as UTF-16 or UTF-32 (width 2 or 4), big or little endian,
 * after its byte order mark. */
static size_t widen(const char *text, size_t width, bool big, char *out)
{
	size_t n = 0, len = strlen(text);
	for (size_t i = 0; i <= len; i++) {
		unsigned cp = i == 0 ? 0xFEFF : (unsigned char)text[i - 1];
		for (size_t k = 0; k < width; k++) {
			size_t shift = 8 * (big ? width - 1 - k : k);
			out[n++] = (char)(shift < 32 ? (cp >> shift) & 0xFF : 0);
		}
	}
	return n;
}

/* Excel's "Unicode text" and the like: the byte order mark says what to
 * convert from. */
START_TEST(utf16_and_utf32_with_a_bom_are_converted)
{
	static const char text[] = "student_id,first_name,email,course\r\n"
				   "s1,Zo\xE9,z@x.org,C1\r\n";
	char bytes[1024];
	struct roster_options o = comma();
	for (size_t width = 2; width <= 4; width += 2) {
		for (int big = 0; big < 2; big++) {
			size_t len = widen(text, width, big, bytes);
			struct roster_reader *r = open_ok(write_file("u.csv", bytes, len), &o);
			struct row row;
			struct error err;
			ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
			assert_value(&row, FIELD_FIRST_NAME, "Zo\xC3\xA9");
			ck_assert_uint_eq(row.line, 2);
			ck_assert(row.transcoded);
			ck_assert_int_eq(roster_next(r, &row, &err), ST_EOF);
			roster_close(r);
		}
	}
}
END_TEST

/* Review 16, B1: a byte order mark wins over the encoding given (which
 * may be meant for the other file of a pair), and says so. */
START_TEST(a_bom_wins_over_the_encoding_given)
{
	static const char text[] = "student_id,first_name,email,course\r\n"
				   "s1,Zo\xE9,z@x.org,C1\r\n";
	char bytes[1024];
	struct roster_options o = comma();
	o.encoding = "WINDOWS-1252";
	for (size_t width = 2; width <= 4; width += 2) {
		size_t len = widen(text, width, 0, bytes);
		struct roster_reader *r = open_ok(write_file("u.csv", bytes, len), &o);
		struct row row;
		struct error err;
		ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
		assert_value(&row, FIELD_FIRST_NAME, "Zo\xC3\xA9");
		ck_assert_uint_eq(roster_warning_count(r), 1);
		ck_assert_msg(strstr(roster_warning(r, 0),
				     width == 2 ? "read as UTF-16LE, as its byte order "
						  "mark says, not as WINDOWS-1252"
						: "read as UTF-32LE"),
			      "%s", roster_warning(r, 0));
		roster_close(r);
	}
	/* UTF-8's mark: read as UTF-8, not garbled. */
	struct roster_reader *r = open_ok(write_str("u.csv", "\xEF\xBB\xBF"
					  "student_id,first_name,email,course\n"
					  "s1,Zo\xC3\xAB,z@x.org,C1\n"), &o);
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	assert_value(&row, FIELD_FIRST_NAME, "Zo\xC3\xAB");
	ck_assert(!row.transcoded);
	ck_assert_uint_eq(roster_warning_count(r), 1);
	roster_close(r);
	/* The same family (UTF-16 given, UTF-16LE's mark): no warning. */
	o.encoding = "UTF-16";
	size_t len = widen(text, 2, 0, bytes);
	r = open_ok(write_file("u.csv", bytes, len), &o);
	ck_assert_uint_eq(roster_warning_count(r), 0);
	roster_close(r);
}
END_TEST

/* Review 16, B5: a "sep=" line as spreadsheets save it again (quoted,
 * padded), and an explicit delimiter that wins over it. */
START_TEST(sep_lines_quoted_padded_and_overridden)
{
	static const char *const forms[] = {
		"sep=;\n", "sep=;;;\r\n", "\"sep=;\"\n", "\"sep=;\";;\n", "SEP=;\n",
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "%sstudent_id;email;course\ns1;a@x.org;C1\n",
			 forms[i]);
		struct row rows[MAX_ROWS];
		ck_assert_msg(parse(text, rows) == 1, "%s", forms[i]);
		assert_value(&rows[0], FIELD_COURSE, "C1");
		ck_assert_uint_eq(rows[0].line, 3);
	}
	/* Given, the delimiter wins; the line is still skipped. */
	struct roster_options o = comma();
	o.delimiter_given = true;
	struct roster_reader *r = open_ok(write_str("s.csv", "sep=;\nstudent_id,email,course\n"
						      "s1,a@x.org,C1\n"), &o);
	ck_assert_uint_eq(roster_warning_count(r), 1);
	ck_assert_msg(strstr(roster_warning(r, 0), "line 1: the file's 'sep=' line names "
			     "';'; --delimiter ',' was given and wins"),
		      "%s", roster_warning(r, 0));
	struct row row;
	struct error err;
	ck_assert_int_eq(roster_next(r, &row, &err), ST_OK);
	assert_value(&row, FIELD_COURSE, "C1");
	ck_assert_uint_eq(row.line, 3);
	roster_close(r);
	/* Not a sep= line: text after it. */
	o = comma();
	expect_open_fail_path(write_str("s.csv", "sep=;x\nstudent_id,email,course\n"), &o,
			      ST_INPUT, "missing required columns");
}
END_TEST

START_TEST(nul_in_a_header_name_is_named)
{
	const char data[] = "s\0t\0u\0,\0e\0\n\0";
	struct roster_options o = comma();
	const char *p = write_file("n.csv", data, sizeof(data) - 1);
	expect_open_fail_path(p, &o, ST_INPUT,
			      "n.csv: line 1, column 2: a NUL byte (bytes 00 74 00 75): "
			      "the file is most likely UTF-16LE; nothing was "
			      "registered: rerun with --encoding UTF-16LE");
	const char be[] = "\0s\0t\0u\0,\0e\0\n";
	p = write_file("n.csv", be, sizeof(be) - 1);
	expect_open_fail_path(p, &o, ST_INPUT,
			      "line 1, column 1: a NUL byte (bytes 00 73 00 74): "
			      "the file is most likely UTF-16BE");
	/* A NUL that is not UTF-16's: no such guess (an SQLite file). */
	const char one[] = "student_id,em\0ail,course\n";
	p = write_file("n.csv", one, sizeof(one) - 1);
	expect_open_fail_path(p, &o, ST_INPUT,
			      "line 1, column 14: a NUL byte (bytes 00 61 69 6C): a "
			      "roster is UTF-8 text");
	const char db[] = "SQLite format 3\0\x10\0\x02\x02";
	p = write_file("n.csv", db, sizeof(db) - 1);
	expect_open_fail_path(p, &o, ST_INPUT,
			      "line 1, column 16: a NUL byte (bytes 00 10 00 02): a "
			      "roster is UTF-8 text");
}
END_TEST

START_TEST(only_a_bom_says_so)
{
	expect_open_fail("\xEF\xBB\xBF", ST_INPUT, "bad.csv: empty file (only a byte order mark)");
	expect_open_fail("", ST_INPUT, "bad.csv: empty file");
}
END_TEST

static void expect_quoted(const char *name, size_t limit, const char *want)
{
	char out[256];
	size_t used = 0;
	out[0] = '\0';
	esc_quote(out, sizeof(out), &used, (const char *)name,
			   strlen(name), limit);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(used, strlen(want));
}

/* Header names in messages: a name with an invisible or space-like
 * character used to look exactly like the name it fails to be. */
START_TEST(messages_show_invisible_characters_by_code_point)
{
	expect_quoted("student\xC2\xA0id", 40, "'student\\u00a0id'");
	expect_quoted("\xEF\xBB\xBFstudent_id", 40, "'\\ufeffstudent_id'");
	expect_quoted("a\xE2\x80\xAE" "b\xE2\x80\x8B", 40, "'a\\u202eb\\u200b'");
	expect_quoted("\xC2\x9B" "31m", 40, "'\\u009b31m'");
	expect_quoted("a\x1B[2J\x7F", 40, "'a\\x1b[2J\\x7f'");
	expect_quoted("caf\xC3\xA9 \xF0\x9F\x98\x80 \xE4\xB8\xAD", 40,
		      "'caf\xC3\xA9 \xF0\x9F\x98\x80 \xE4\xB8\xAD'");
	expect_quoted("bad\xFF\xC3(", 40, "'bad\\xff\\xc3('");
	expect_quoted("\xE3\x80\x80x", 40, "'\\u3000x'");
	expect_quoted("abc\xC3\xA9" "def", 4, "'abc...'");
	expect_quoted("", 40, "''");
	/* Tag characters (U+E0000..U+E007F) too, and a backslash is doubled
	 * as in every value shown, so 'a\\x1b' is not an escaped ESC. */
	expect_quoted("id\xF3\xA0\x81\x81", 40, "'id\\U000e0041'");
	expect_quoted("a\\x1b", 40, "'a\\\\x1b'");
	/* A zero-width space is no space: the name is not matched, and the
	 * message shows why.  (A no-break space is a space: see below.) */
	expect_open_fail("student\xE2\x80\x8Bid,email,course\n", ST_INPUT,
			 "missing required column 'student_id' (columns found: "
			 "'student\\u200bid', 'email', 'course')");
}
END_TEST

/* Issue 12: header names are matched "as today (case, spaces, _/-,
 * non-breaking space)": the no-break space U+00A0 that spreadsheet exports
 * write, the narrow no-break space U+202F and the figure space U+2007 are
 * spaces, inside a name and around it. */
START_TEST(no_break_spaces_in_header_names_are_spaces)
{
	struct row rows[MAX_ROWS];
	size_t n = parse("Student\xC2\xA0ID,\xE2\x80\xAF" "E-mail\xC2\xA0,"
			 "\xC2\xA0\xE2\x80\x87" "Course\n"
			 "s1,a@b.cd,C1\n",
			 rows);
	ck_assert_uint_eq(n, 1);
	assert_value(&rows[0], FIELD_STUDENT_ID, "s1");
	assert_value(&rows[0], FIELD_EMAIL, "a@b.cd");
	assert_value(&rows[0], FIELD_COURSE, "C1");
}
END_TEST

static Suite *roster_suite(void)
{
	Suite *s = suite_create("roster");

	TCase *tc = tcase_create("records");
	tcase_add_test(tc, rows_come_in_order_with_their_lines);
	tcase_add_test(tc, last_row_without_newline_is_read);
	tcase_add_test(tc, quoted_fields_hold_delimiters_and_doubled_quotes);
	tcase_add_test(tc, line_breaks_inside_quotes_are_counted);
	tcase_add_test(tc, crlf_counts_as_one_line_break);
	tcase_add_test(tc, cr_only_line_endings_work);
	tcase_add_test(tc, mixed_line_endings_and_space_lines_count_exactly);
	tcase_add_test(tc, blank_lines_are_skipped_but_counted);
	tcase_add_test(tc, bom_is_skipped);
	tcase_add_test(tc, values_are_trimmed_inside_and_outside_quotes);
	tcase_add_test(tc, inner_spaces_are_kept);
	tcase_add_test(tc, nul_bytes_inside_a_field_refuse_the_file);
	tcase_add_test(tc, short_and_long_rows_report_their_field_count);
	tcase_add_test(tc, header_only_gives_eof);
	suite_add_tcase(s, tc);

	tc = tcase_create("delimiters");
	tcase_add_test(tc, semicolon_delimiter);
	tcase_add_test(tc, pipe_delimiter);
	tcase_add_test(tc, commas_are_data_with_another_delimiter);
	tcase_add_test(tc, tab_delimiter_keeps_empty_fields);
	tcase_add_test(tc, unsupported_delimiter_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("header");
	tcase_add_test(tc, header_aliases_map_to_fields);
	tcase_add_test(tc, more_header_aliases);
	tcase_add_test(tc, quoted_header_names_are_matched);
	tcase_add_test(tc, unknown_columns_give_one_warning);
	tcase_add_test(tc, known_columns_give_no_warning);
	tcase_add_test(tc, course_override_fills_every_row);
	tcase_add_test(tc, course_override_ignores_course_column_with_warning);
	tcase_add_test(tc, missing_required_column_lists_columns_found);
	tcase_add_test(tc, missing_column_message_escapes_control_bytes);
	tcase_add_test(tc, missing_column_message_lists_twenty_and_more);
	tcase_add_test(tc, course_not_required_with_override);
	tcase_add_test(tc, same_field_twice_is_refused);
	tcase_add_test(tc, unknown_name_twice_is_accepted);
	tcase_add_test(tc, empty_names_may_repeat);
	tcase_add_test(tc, header_with_too_many_columns_is_refused);
	tcase_add_test(tc, header_with_max_columns_is_accepted);
	tcase_add_test(tc, header_name_with_bad_utf8_names_line_and_column);
	tcase_add_test(tc, header_line_number_follows_blank_lines);
	tcase_add_test(tc, long_header_names_are_shortened_in_messages);
	suite_add_tcase(s, tc);

	tc = tcase_create("unusable");
	tcase_add_test(tc, missing_file_is_refused);
	tcase_add_test(tc, directory_is_refused);
	tcase_add_test(tc, unreadable_file_is_refused);
	tcase_add_test(tc, empty_file_is_refused);
	tcase_add_test(tc, only_blank_lines_is_no_header);
	tcase_add_test(tc, quote_in_a_header_name_is_a_character);
	tcase_add_test(tc, quote_inside_unquoted_field_is_a_character);
	tcase_add_test(tc, text_after_closing_quote_flags_the_record_only);
	tcase_add_test(tc, unterminated_quote_names_the_record_start);
	tcase_add_test(tc, errors_are_final);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, row_of_100000_fields_is_counted);
	tcase_add_loop_test(tc, ten_megabyte_field_is_kept_truncated, 0, 2);
	tcase_add_test(tc, bad_byte_past_the_kept_prefix_stops_the_read);
	tcase_add_test(tc, just_over_the_kept_prefix_is_checked_whole);
	tcase_add_loop_test(tc, field_beyond_sixteen_mebibytes_is_refused, 0, 2);
	tcase_add_loop_test(tc, field_of_exactly_sixteen_mebibytes_is_accepted, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("sources");
	tcase_add_test(tc, pipe_is_read_through_dev_fd);
	tcase_add_test(tc, fifo_is_read);
	tcase_add_test(tc, dash_reads_stdin_and_leaves_it_open);
	tcase_add_test(tc, name_is_the_path_as_given);
	tcase_add_test(tc, interrupted_read_stops_when_cancelled);
	tcase_add_test(tc, interrupted_read_retries_when_not_cancelled);
	tcase_add_test(tc, sha256_covers_every_byte_read);
	tcase_add_test(tc, sha256_of_a_large_file_matches);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile input");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, endless_header_is_refused_without_reading_to_its_end);
	tcase_add_test(tc, cancel_is_asked_before_every_read);
	tcase_add_loop_test(tc, field_of_sixteen_mebibytes_and_one_byte_is_refused, 0, 2);
	tcase_add_loop_test(tc, last_field_of_the_file_is_bounded_too, 0, 2);
	tcase_add_test(tc, runaway_quoted_field_suggests_a_missing_quote);
	tcase_add_test(tc, utf16_and_utf32_with_a_bom_are_converted);
	tcase_add_test(tc, nul_in_a_header_name_is_named);
	tcase_add_test(tc, only_a_bom_says_so);
	tcase_add_test(tc, messages_show_invisible_characters_by_code_point);
	tcase_add_test(tc, no_break_spaces_in_header_names_are_spaces);
	tcase_add_test(tc, a_bom_wins_over_the_encoding_given);
	tcase_add_test(tc, sep_lines_quoted_padded_and_overridden);
	suite_add_tcase(s, tc);

	tc = tcase_create("fast path");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fast_path_matches_libcsv_on_random_input);
	suite_add_tcase(s, tc);
	return s;
}

static void remove_tmpdir(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(roster_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_tmpdir();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
