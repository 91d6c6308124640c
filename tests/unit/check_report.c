/* check_report: the report formats and their failure modes, one rule per test. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"
#include "spool.h"
#include "testutil.h"

/* ---- fixtures and helpers ------------------------------------------------ */

/* Each test works in its own directory inside one per test case: the
 * parent process removes the lot even when a failed test skipped its own
 * teardown. */
static char base[64], dir[128];

static void remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		chmod(path, 0700);
		DIR *d = opendir(path);
		struct dirent *e;
		char sub[512];
		while (d && (e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			remove_tree(sub);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void case_setup(void)
{
	strcpy(base, "/tmp/check_report.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
}

static void case_teardown(void)
{
	remove_tree(base);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/test.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	remove_tree(dir);
}

static const char *in_dir(const char *name, char path[512])
{
	snprintf(path, 512, "%s/%s", dir, name);
	return path;
}

static void set_value(struct row *row, enum row_field f, const char *s,
		      size_t len)
{
	size_t keep = len < ROW_VALUE_MAX ? len : ROW_VALUE_MAX;
	row->v[f].len = (uint32_t)len;
	memcpy(row->v[f].text, s, keep);
	row->v[f].text[keep] = '\0';
}

static struct row make_row(uint64_t line, const char *sid, const char *course,
			   enum row_status st, enum row_reason reason,
			   int64_t position, const char *detail)
{
	struct row row;
	memset(&row, 0, sizeof(row));
	row.line = line;
	set_value(&row, FIELD_STUDENT_ID, sid, strlen(sid));
	set_value(&row, FIELD_COURSE, course, strlen(course));
	row.status = st;
	row.reason = reason;
	row.position = position;
	snprintf(row.detail, sizeof(row.detail), "%s", detail);
	return row;
}

static struct row registered(uint64_t line, const char *sid)
{
	return make_row(line, sid, "MATH101", STATUS_REGISTERED, REASON_NONE, 0, "");
}

static struct row rejected(uint64_t line, const char *sid, enum row_reason rs,
			   const char *detail)
{
	return make_row(line, sid, "MATH101", STATUS_REJECTED, rs, 0, detail);
}

static struct outcome_counts counts_of(const struct row *rows, size_t n)
{
	struct outcome_counts c;
	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < n; i++)
		outcome_counts_add(&c, &rows[i]);
	return c;
}

static struct report_summary summary_of(const struct outcome_counts *c)
{
	struct report_summary s = {
		.batch_id = 12,
		.source = "data/roster.csv",
		.sha256 = NULL,
		.label = NULL,
		.outcome = BATCH_COMMITTED,
		.counts = c,
		.elapsed_seconds = 0.01,
		.workers = 2,
	};
	return s;
}

static struct report *report_with(enum report_format fmt,
				  const struct row *rows, size_t n)
{
	struct report *r;
	struct error err;
	ck_assert_int_eq(report_new(fmt, -1, NULL, &r, &err), ST_OK);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(report_add_row(r, &rows[i], &err), ST_OK);
	return r;
}

/* The whole file, NUL-terminated; *len (if not NULL) is its size. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	size_t cap = 4096, n = 0, got;
	char *buf = malloc(cap);
	while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (cap - n - 1 == 0)
			buf = realloc(buf, cap *= 2);
		ck_assert_ptr_nonnull(buf);
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Writes the report to <dir>/out and returns the path. */
static const char *write_out(struct report *r, const struct report_summary *s,
			     char path[512])
{
	struct error err;
	in_dir("out", path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	enum status st = report_write(r, s, fd, "out", &err);
	ck_assert_msg(st == ST_OK, "report_write: %s", err.msg);
	ck_assert_int_eq(close(fd), 0);
	return path;
}

/* Builds a report of the rows, writes it, and returns its text. */
static char *render(enum report_format fmt, const struct row *rows, size_t n,
		    const struct report_summary *s_in, size_t *len)
{
	char path[512];
	struct outcome_counts c = counts_of(rows, n);
	struct report_summary s = s_in ? *s_in : summary_of(&c);
	if (!s.counts)
		s.counts = &c;
	struct report *r = report_with(fmt, rows, n);
	write_out(r, &s, path);
	report_free(r);
	return slurp(path, len);
}

/* Runs a Python script on a file; returns its standard output.  The
 * script failing (exit status) fails the test. */
static char *python(const char *script, const char *file)
{
	char spath[512], cmd[1200];
	FILE *f = fopen(in_dir("script.py", spath), "w");
	ck_assert_ptr_nonnull(f);
	fputs(script, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "python3 '%s' '%s'", spath, file);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t cap = 1 << 16, n = 0, got;
	char *out = malloc(cap);
	while ((got = fread(out + n, 1, cap - n - 1, p)) > 0) {
		n += got;
		if (cap - n - 1 == 0)
			out = realloc(out, cap *= 2);
		ck_assert_ptr_nonnull(out);
	}
	out[n] = '\0';
	int status = pclose(p);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "python failed on %s:\n%s", file, out);
	return out;
}

/* Lowercase hex of s[0..len), appended to out. */
static void hex_append(char *out, const char *s, size_t len)
{
	out += strlen(out);
	for (size_t i = 0; i < len; i++)
		out += sprintf(out, "%02x", (unsigned char)s[i]);
}

/* A field through csv_write_field, as a string. */
static char *csv_field(const char *s, size_t len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(csv_write_field(f, s, len, false), 0);
	fclose(f);
	return buf;
}

static char *json_string(const char *s, size_t len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(json_write_string(f, s, len), 0);
	fclose(f);
	return buf;
}

static void assert_csv_field(const char *in, const char *want)
{
	char *got = csv_field(in, strlen(in));
	ck_assert_str_eq(got, want);
	free(got);
}

/* The n-th line (0-based) of text, without its newline, into buf. */
static const char *line_of(const char *text, int n, char *buf, size_t size)
{
	for (; n > 0 && text; n--) {
		text = strchr(text, '\n');
		if (text)
			text++;
	}
	ck_assert_ptr_nonnull(text);
	size_t len = strcspn(text, "\n");
	ck_assert_uint_lt(len, size);
	memcpy(buf, text, len);
	buf[len] = '\0';
	return buf;
}

/* The line that contains `needle`, into buf. */
static const char *line_with(const char *text, const char *needle, char *buf,
			     size_t size)
{
	const char *hit = strstr(text, needle);
	ck_assert_msg(hit != NULL, "no line with \"%s\" in:\n%s", needle, text);
	while (hit > text && hit[-1] != '\n')
		hit--;
	return line_of(hit, 0, buf, size);
}

/* ---- csv --------------------------------------------------------------- */

static const char csv_header[] =
	"line,student_id,course,status,position,reason,detail\n";

START_TEST(test_csv_header_is_the_first_line)
{
	struct row row = registered(2, "S1");
	char *out = render(REPORT_CSV, &row, 1, NULL, NULL);
	ck_assert_int_eq(strncmp(out, csv_header, strlen(csv_header)), 0);
	free(out);
}
END_TEST

START_TEST(test_csv_empty_report_is_only_the_header)
{
	char *out = render(REPORT_CSV, NULL, 0, NULL, NULL);
	ck_assert_str_eq(out, csv_header);
	free(out);
}
END_TEST

START_TEST(test_csv_quotes_comma_quote_cr_lf)
{
	assert_csv_field("a,b", "\"a,b\"");
	assert_csv_field("say \"hi\"", "\"say \"\"hi\"\"\"");
	assert_csv_field("a\rb", "\"a\rb\"");
	assert_csv_field("a\nb", "\"a\nb\"");
}
END_TEST

START_TEST(test_csv_quotes_leading_and_trailing_space)
{
	assert_csv_field(" a", "\" a\"");
	assert_csv_field("a ", "\"a \"");
	assert_csv_field("a b", "a b");
}
END_TEST

START_TEST(test_csv_guards_every_formula_prefix)
{
	assert_csv_field("=1+2", "'=1+2");
	assert_csv_field("+1", "'+1");
	assert_csv_field("-1", "'-1");
	assert_csv_field("@SUM(A1)", "'@SUM(A1)");
	assert_csv_field("\tx", "'\tx");
	assert_csv_field("\rx", "\"'\rx\"");
}
END_TEST

START_TEST(test_csv_guard_goes_inside_the_quotes)
{
	assert_csv_field("=HYPERLINK(\"x\",\"y\")",
			 "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
}
END_TEST

START_TEST(test_csv_plain_values_are_not_guarded)
{
	assert_csv_field("S1", "S1");
	assert_csv_field("a=b", "a=b");
	assert_csv_field("x-1", "x-1");
	assert_csv_field("'quoted", "'quoted");
	assert_csv_field("", "");
}
END_TEST

START_TEST(test_csv_nul_is_written_as_replacement_character)
{
	char *got = csv_field("a\0b", 3);
	ck_assert_str_eq(got, "a\xEF\xBF\xBD" "b");
	free(got);
}
END_TEST

START_TEST(test_csv_success_rows_leave_position_reason_detail_empty)
{
	struct row rows[] = {
		registered(2, "S1"),
		make_row(3, "S2", "MATH101", STATUS_ALREADY_REGISTERED,
			 REASON_NONE, 0, ""),
	};
	char *out = render(REPORT_CSV, rows, 2, NULL, NULL);
	char want[256];
	snprintf(want, sizeof(want),
		 "%s2,S1,MATH101,registered,,,\n3,S2,MATH101,already_registered,,,\n",
		 csv_header);
	ck_assert_str_eq(out, want);
	free(out);
}
END_TEST

START_TEST(test_csv_waitlisted_rows_carry_their_position)
{
	struct row rows[] = {
		make_row(4, "S3", "BIO", STATUS_WAITLISTED, REASON_NONE, 7, ""),
		make_row(5, "S4", "BIO", STATUS_ALREADY_WAITLISTED, REASON_NONE, 2, ""),
	};
	char *out = render(REPORT_CSV, rows, 2, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(out, "\n4,S3,BIO,waitlisted,7,,\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n5,S4,BIO,already_waitlisted,2,,\n"));
	free(out);
}
END_TEST

START_TEST(test_csv_rejected_rows_carry_reason_and_detail)
{
	struct row row = rejected(9, "S5", REASON_INVALID_EMAIL,
				  "no @ in \"bob\"");
	char *out = render(REPORT_CSV, &row, 1, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(
		out, "\n9,S5,MATH101,rejected,,invalid_email,\"no @ in \"\"bob\"\"\"\n"));
	free(out);
}
END_TEST

START_TEST(test_csv_values_are_cut_at_row_value_max)
{
	char big[400];
	memset(big, 'x', sizeof(big));
	struct row row = registered(2, "S1");
	set_value(&row, FIELD_STUDENT_ID, big, sizeof(big));
	char *out = render(REPORT_CSV, &row, 1, NULL, NULL);
	/* The bytes kept, marked as cut (review 19, F04). */
	char want[ROW_VALUE_MAX + 16];
	snprintf(want, sizeof(want), "\n2,%.*s...,", ROW_VALUE_MAX, big);
	ck_assert_ptr_nonnull(strstr(out, want));
	char *line = strstr(out, "\n2,") + 3;
	ck_assert_uint_eq(strcspn(line, ","), ROW_VALUE_MAX + 3);
	free(out);
}
END_TEST

/* Prints each record's fields as hex, comma-separated: exact bytes back. */
static const char csv_reader_py[] =
	"import csv, sys\n"
	"with open(sys.argv[1], newline='', encoding='utf-8',\n"
	"          errors='surrogateescape') as f:\n"
	"    for rec in csv.reader(f, strict=True):\n"
	"        print(','.join(x.encode('utf-8', 'surrogateescape').hex()\n"
	"                       for x in rec))\n";

START_TEST(test_csv_parses_back_with_python_to_the_same_values)
{
	static const char *const tricky[] = {
		"plain", "a,b", "say \"hi\"", "two\nlines", "cr\rhere",
		"crlf\r\nhere", " lead", "trail ", "Zo\xC3\xAB", "\xE6\x97\xA5",
		"=1+2", "-5", "@x", "\tt", "\rr", "bad\377byte", "",
	};
	size_t n = sizeof(tricky) / sizeof(tricky[0]);
	struct row rows[sizeof(tricky) / sizeof(tricky[0])];
	char *want = calloc(1, 1 << 16);
	char path[512];

	hex_append(want, "line", 4);
	const char *cols[] = { "student_id", "course", "status", "position",
			       "reason", "detail" };
	for (size_t k = 0; k < 6; k++) {
		strcat(want, ",");
		hex_append(want, cols[k], strlen(cols[k]));
	}
	strcat(want, "\n");
	for (size_t i = 0; i < n; i++) {
		rows[i] = make_row(i + 2, tricky[i], tricky[n - 1 - i],
				   STATUS_REJECTED, REASON_UNKNOWN_COURSE, 0,
				   tricky[i]);
		char line[16];
		snprintf(line, sizeof(line), "%zu", i + 2);
		/* The guard is part of the value a spreadsheet sees. */
		const char *vals[] = { tricky[i], tricky[n - 1 - i], tricky[i] };
		hex_append(want, line, strlen(line));
		for (int k = 0; k < 3; k++) {
			strcat(want, ",");
			if (strchr("=+-@\t\r", vals[k][0]) && vals[k][0])
				hex_append(want, "'", 1);
			/* A byte that is not UTF-8 comes back as U+FFFD, so
			 * the report stays valid UTF-8. */
			if (strcmp(vals[k], "bad\377byte") == 0)
				hex_append(want, "bad\xEF\xBF\xBD" "byte", 10);
			else
				hex_append(want, vals[k], strlen(vals[k]));
			if (k == 1) {
				strcat(want, ",");
				hex_append(want, "rejected", 8);
				strcat(want, ",,");
				hex_append(want, "unknown_course", 14);
			}
		}
		strcat(want, "\n");
	}
	struct report *r = report_with(REPORT_CSV, rows, n);
	struct outcome_counts c = counts_of(rows, n);
	struct report_summary s = summary_of(&c);
	char *got = python(csv_reader_py, write_out(r, &s, path));
	ck_assert_str_eq(got, want);
	report_free(r);
	free(got);
	free(want);
}
END_TEST

START_TEST(test_csv_write_field_reports_write_errors)
{
	FILE *f = fopen("/dev/full", "w");
	ck_assert_ptr_nonnull(f);
	setvbuf(f, NULL, _IONBF, 0);
	errno = 0;
	ck_assert_int_eq(csv_write_field(f, "value", 5, false), -1);
	ck_assert_int_eq(errno, ENOSPC);
	fclose(f);
}
END_TEST

/* ---- json -------------------------------------------------------------- */

/* Strict: the file must be UTF-8 and one JSON value. */
static const char json_check_py[] =
	"import json, sys\n"
	"json.loads(open(sys.argv[1], 'rb').read().decode('utf-8'))\n";

/* Each result's values: strings as hex, the rest as JSON. */
static const char json_results_py[] =
	"import json, sys\n"
	"d = json.loads(open(sys.argv[1], 'rb').read().decode('utf-8'))\n"
	"for r in d['results']:\n"
	"    print(' '.join(r[k].encode('utf-8').hex() if isinstance(r[k], str)\n"
	"                   else json.dumps(r[k]) for k in\n"
	"                   ('line', 'student_id', 'course', 'status',\n"
	"                    'position', 'reason', 'detail')))\n";

/* Everything but the results, flattened: "summary.reasons.x=1". */
static const char json_flat_py[] =
	"import json, sys\n"
	"d = json.loads(open(sys.argv[1], 'rb').read().decode('utf-8'))\n"
	"def walk(p, v):\n"
	"    if isinstance(v, dict):\n"
	"        print(p + '#=%d' % len(v))\n"
	"        for k in v: walk(p + '.' + k if p else k, v[k])\n"
	"    elif isinstance(v, list): print(p + '=list:%d' % len(v))\n"
	"    else: print(p + '=' + json.dumps(v))\n"
	"walk('', d)\n";

static struct row tricky_json_rows[6];

static size_t make_tricky_json_rows(void)
{
	tricky_json_rows[0] = make_row(2, "q\"uo\\te", "ctl\x01\x1f\n\t",
				       STATUS_REJECTED, REASON_INVALID_STUDENT_ID,
				       0, "esc \x1b[31m red");
	tricky_json_rows[1] = make_row(3, "Zo\xC3\xAB", "\xE6\x97\xA5\xF0\x9F\x98\x80",
				       STATUS_REGISTERED, REASON_NONE, 0, "");
	tricky_json_rows[2] = make_row(4, "=1+2", "-x", STATUS_WAITLISTED,
				       REASON_NONE, 3, "");
	tricky_json_rows[3] = make_row(5, "A\xFF" "B", "\xE6\x97", STATUS_REJECTED,
				       REASON_INVALID_CHARACTERS, 0, "bad \xC0\xAF");
	tricky_json_rows[4] = make_row(6, "", "", STATUS_REJECTED,
				       REASON_MISSING_STUDENT_ID, 0, "empty");
	tricky_json_rows[5] = make_row(7, "S6", "X", STATUS_REGISTERED,
				       REASON_NONE, 0, "");
	set_value(&tricky_json_rows[5], FIELD_STUDENT_ID, "N\0L", 3);
	return 6;
}

START_TEST(test_json_parses_as_one_utf8_value)
{
	char path[512];
	size_t n = make_tricky_json_rows();
	struct report *r = report_with(REPORT_JSON, tricky_json_rows, n);
	struct outcome_counts c = counts_of(tricky_json_rows, n);
	struct report_summary s = summary_of(&c);
	s.label = "label \"with\" \\ and \x7f";
	s.source = "weird\xFFname.csv";
	write_out(r, &s, path);
	free(python(json_check_py, path));

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "python3 -m json.tool '%s' >/dev/null", path);
	ck_assert_int_eq(system(cmd), 0);
	report_free(r);
}
END_TEST

START_TEST(test_json_carries_values_unchanged)
{
	char path[512], want[2048] = "";
	size_t n = make_tricky_json_rows();
	struct report *r = report_with(REPORT_JSON, tricky_json_rows, n);
	struct outcome_counts c = counts_of(tricky_json_rows, n);
	struct report_summary s = summary_of(&c);
	char *got = python(json_results_py, write_out(r, &s, path));

	strcat(want, "2 ");
	hex_append(want, "q\"uo\\te", 7);
	strcat(want, " ");
	hex_append(want, "ctl\x01\x1f\n\t", 7);
	strcat(want, " ");
	hex_append(want, "rejected", 8);
	strcat(want, " null ");
	hex_append(want, "invalid_student_id", 18);
	strcat(want, " ");
	hex_append(want, "esc \x1b[31m red", 13);
	strcat(want, "\n");
	ck_assert_int_eq(strncmp(got, want, strlen(want)), 0);

	/* Non-ASCII and formula-looking values pass as they are. */
	const char *l3 = strstr(got, "\n3 ");
	ck_assert_ptr_nonnull(l3);
	want[0] = '\0';
	strcat(want, "\n3 ");
	hex_append(want, "Zo\xC3\xAB", 4);
	strcat(want, " ");
	hex_append(want, "\xE6\x97\xA5\xF0\x9F\x98\x80", 7);
	ck_assert_int_eq(strncmp(l3, want, strlen(want)), 0);
	want[0] = '\0';
	strcat(want, "\n4 ");
	hex_append(want, "=1+2", 4);
	strcat(want, " ");
	hex_append(want, "-x", 2);
	ck_assert_ptr_nonnull(strstr(got, want));
	free(got);
	report_free(r);
}
END_TEST

START_TEST(test_json_replaces_invalid_bytes_and_nul_with_fffd)
{
	char path[512], want[512] = "";
	size_t n = make_tricky_json_rows();
	struct report *r = report_with(REPORT_JSON, tricky_json_rows, n);
	struct outcome_counts c = counts_of(tricky_json_rows, n);
	struct report_summary s = summary_of(&c);
	char *got = python(json_results_py, write_out(r, &s, path));

	/* One U+FFFD per invalid byte or truncated sequence. */
	strcat(want, "\n5 ");
	hex_append(want, "A\xEF\xBF\xBD" "B", 5);
	strcat(want, " ");
	hex_append(want, "\xEF\xBF\xBD", 3);
	ck_assert_ptr_nonnull(strstr(got, want));
	want[0] = '\0';
	hex_append(want, "bad \xEF\xBF\xBD\xEF\xBF\xBD", 10);
	ck_assert_ptr_nonnull(strstr(got, want));
	want[0] = '\0';
	strcat(want, "\n7 ");
	hex_append(want, "N\xEF\xBF\xBDL", 5);
	ck_assert_ptr_nonnull(strstr(got, want));
	free(got);
	report_free(r);
}
END_TEST

START_TEST(test_json_absent_values_are_null)
{
	char path[512];
	struct row rows[] = { registered(2, "S1") };
	struct report *r = report_with(REPORT_JSON, rows, 1);
	struct outcome_counts c = counts_of(rows, 1);
	struct report_summary s = summary_of(&c);
	char *got = python(json_results_py, write_out(r, &s, path));
	char want[256] = "2 ";
	hex_append(want, "S1", 2);
	strcat(want, " ");
	hex_append(want, "MATH101", 7);
	strcat(want, " ");
	hex_append(want, "registered", 10);
	strcat(want, " null null null\n");
	ck_assert_str_eq(got, want);
	free(got);

	got = python(json_flat_py, path);
	ck_assert_ptr_nonnull(strstr(got, "\nlabel=null\n"));
	ck_assert_ptr_nonnull(strstr(got, "\nsha256=null\n"));
	ck_assert_ptr_nonnull(strstr(got, "\nsummary.checks=null\n"));
	free(got);
	report_free(r);
}
END_TEST

START_TEST(test_json_waitlisted_position_and_rejected_reason)
{
	char path[512];
	struct row rows[] = {
		make_row(2, "S1", "BIO", STATUS_WAITLISTED, REASON_NONE, 4, ""),
		rejected(3, "S2", REASON_COURSE_FULL, "BIO is full"),
	};
	struct report *r = report_with(REPORT_JSON, rows, 2);
	struct outcome_counts c = counts_of(rows, 2);
	struct report_summary s = summary_of(&c);
	char *got = python(json_results_py, write_out(r, &s, path));
	char want[256] = " ";
	hex_append(want, "waitlisted", 10);
	strcat(want, " 4 null null\n");
	ck_assert_ptr_nonnull(strstr(got, want));
	strcpy(want, " null ");
	hex_append(want, "course_full", 11);
	strcat(want, " ");
	hex_append(want, "BIO is full", 11);
	ck_assert_ptr_nonnull(strstr(got, want));
	free(got);
	report_free(r);
}
END_TEST

START_TEST(test_json_summary_counts_every_status_and_reason)
{
	char path[512];
	struct row rows[] = {
		registered(2, "S1"),
		registered(3, "S2"),
		make_row(4, "S3", "M", STATUS_WAITLISTED, REASON_NONE, 1, ""),
		make_row(5, "S4", "M", STATUS_ALREADY_REGISTERED, REASON_NONE, 0, ""),
		rejected(6, "S5", REASON_INVALID_EMAIL, "x"),
		rejected(7, "S6", REASON_INVALID_EMAIL, "y"),
		rejected(8, "S7", REASON_COURSE_FULL, "z"),
	};
	size_t n = sizeof(rows) / sizeof(rows[0]);
	struct report *r = report_with(REPORT_JSON, rows, n);
	struct outcome_counts c = counts_of(rows, n);
	struct report_summary s = summary_of(&c);
	s.sha256 = "ab12";
	s.label = "spring";
	s.elapsed_seconds = 0.5;
	s.workers = 3;
	char *got = python(json_flat_py, write_out(r, &s, path));
	static const char *const lines[] = {
		"batch=12", "source=\"data/roster.csv\"", "sha256=\"ab12\"",
		"label=\"spring\"", "outcome=\"committed\"", "summary.rows=7",
		"summary.registered=2", "summary.waitlisted=1",
		"summary.already_registered=1", "summary.already_waitlisted=0",
		"summary.rejected=3", "summary.reasons#=18",
		"summary.promoted=0", "summary.dropped=0", "summary.skipped=0",
		"summary.reasons.not_registered=0",
		"summary.reasons.invalid_email=2", "summary.reasons.course_full=1",
		"summary.reasons.malformed_row=0", "summary.reasons.check_timeout=0",
		"summary.elapsed_seconds=0.5", "summary.rows_per_second=14",
		"summary.workers=3", "summary.checks=null", "results=list:7",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char want[128];
		snprintf(want, sizeof(want), "\n%s\n", lines[i]);
		ck_assert_msg(strstr(got, want), "missing %s in:\n%s", lines[i], got);
	}
	free(got);
	report_free(r);
}
END_TEST

START_TEST(test_json_checks_object_when_checks_ran)
{
	char path[512];
	struct row rows[] = { registered(2, "S1") };
	struct report *r = report_with(REPORT_JSON, rows, 1);
	struct outcome_counts c = counts_of(rows, 1);
	struct report_summary s = summary_of(&c);
	s.checks = 2000;
	s.check_median_seconds = 0.101;
	s.check_max_seconds = 0.25;
	char *got = python(json_flat_py, write_out(r, &s, path));
	ck_assert_ptr_nonnull(strstr(got, "\nsummary.checks.count=2000\n"));
	ck_assert_ptr_nonnull(strstr(got, "\nsummary.checks.median_seconds=0.101\n"));
	ck_assert_ptr_nonnull(strstr(got, "\nsummary.checks.max_seconds=0.25\n"));
	free(got);
	report_free(r);
}
END_TEST

START_TEST(test_json_outcome_names)
{
	char path[512];
	struct outcome_counts c;
	memset(&c, 0, sizeof(c));
	struct report_summary s = summary_of(&c);
	s.outcome = BATCH_ROLLED_BACK;
	s.elapsed_seconds = 0;
	struct report *r = report_with(REPORT_JSON, NULL, 0);
	char *got = python(json_flat_py, write_out(r, &s, path));
	ck_assert_ptr_nonnull(strstr(got, "\noutcome=\"rolled_back\"\n"));
	ck_assert_ptr_nonnull(strstr(got, "\nsummary.rows_per_second=null\n"));
	free(got);
	report_free(r);
}
END_TEST

START_TEST(test_json_empty_results_is_an_empty_array)
{
	char path[512];
	struct outcome_counts c;
	memset(&c, 0, sizeof(c));
	struct report_summary s = summary_of(&c);
	struct report *r = report_with(REPORT_JSON, NULL, 0);
	char *got = python(json_flat_py, write_out(r, &s, path));
	ck_assert_ptr_nonnull(strstr(got, "\nresults=list:0\n"));
	free(got);
	report_free(r);
}
END_TEST

START_TEST(test_json_write_string_escapes)
{
	char *got = json_string("a\"b\\c\x01\n", 7);
	ck_assert_str_eq(got, "\"a\\\"b\\\\c\\u0001\\u000a\"");
	free(got);
	got = json_string("x\xE2\x80\xA8y", 5); /* U+2028 breaks JavaScript */
	ck_assert_str_eq(got, "\"x\\u2028y\"");
	free(got);
	got = json_string("\xED\xA0\x80", 3); /* a surrogate is not UTF-8 */
	ck_assert_str_eq(got, "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
	free(got);
}
END_TEST

/* ---- text -------------------------------------------------------------- */

/* 48 rows: 20 registered, 5 waitlisted, 23 rejected (3 invalid_email,
 * 20 course_full); the table holds 3 of them for brevity. */
static struct outcome_counts sample_counts(void)
{
	struct outcome_counts c;
	memset(&c, 0, sizeof(c));
	c.rows = 48;
	c.by_status[STATUS_REGISTERED] = 20;
	c.by_status[STATUS_WAITLISTED] = 5;
	c.by_status[STATUS_REJECTED] = 23;
	c.by_reason[REASON_INVALID_EMAIL] = 3;
	c.by_reason[REASON_COURSE_FULL] = 20;
	return c;
}

static struct row sample_rows[5];

static size_t make_sample_rows(void)
{
	sample_rows[0] = registered(2, "REGISTERED1");
	sample_rows[1] = rejected(3, "S2", REASON_INVALID_EMAIL, "no @ in \"bob\"");
	sample_rows[2] = make_row(4, "WAIT1", "BIO", STATUS_WAITLISTED,
				  REASON_NONE, 1, "");
	sample_rows[3] = make_row(1234, "STUDENT-LONGER", "CHEM", STATUS_REJECTED,
				  REASON_COURSE_FULL, 0, "CHEM is full");
	sample_rows[4] = rejected(5, "S9", REASON_COURSE_FULL, "");
	return 5;
}

static char *render_sample(enum batch_outcome outcome, int64_t checks)
{
	struct outcome_counts c = sample_counts();
	struct report_summary s = summary_of(&c);
	s.outcome = outcome;
	s.checks = checks;
	s.check_median_seconds = 0.101;
	s.check_max_seconds = 0.25;
	size_t n = make_sample_rows();
	return render(REPORT_TEXT, sample_rows, n, &s, NULL);
}

START_TEST(test_text_committed_headline)
{
	char line[256];
	char *out = render_sample(BATCH_COMMITTED, 0);
	ck_assert_str_eq(line_of(out, 0, line, sizeof(line)),
			 "Batch 12 committed: 48 rows from data/roster.csv in "
			 "0.01 s (4,800 rows/s, 2 workers).");
	free(out);
}
END_TEST

START_TEST(test_text_dry_run_headline)
{
	char line[256];
	char *out = render_sample(BATCH_DRY_RUN, 0);
	ck_assert_str_eq(line_of(out, 0, line, sizeof(line)),
			 "Batch 12 was a dry run: nothing was committed.");
	ck_assert_ptr_nonnull(strstr(line_of(out, 1, line, sizeof(line)),
				     "48 rows from data/roster.csv"));
	free(out);
}
END_TEST

START_TEST(test_text_rolled_back_headline)
{
	char line[256];
	char *out = render_sample(BATCH_ROLLED_BACK, 0);
	ck_assert_str_eq(line_of(out, 0, line, sizeof(line)),
			 "Batch 12 was rolled back: nothing was committed.");
	free(out);
}
END_TEST

START_TEST(test_text_counts_are_aligned)
{
	char line[256];
	char *out = render_sample(BATCH_COMMITTED, 0);
	static const char *const labels[] = {
		"  registered ", "  waitlisted ", "  already registered ",
		"  already waitlisted ", "  rejected ", "    invalid_email ",
		"    course_full ",
	};
	size_t width = 0;
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		line_with(out, labels[i], line, sizeof(line));
		if (i == 0)
			width = strlen(line);
		ck_assert_msg(strlen(line) == width, "not aligned: \"%s\"", line);
	}
	ck_assert_ptr_nonnull(strstr(out, "\n  registered"));
	ck_assert_ptr_nonnull(strstr(line_with(out, "  rejected ", line,
					       sizeof(line)), " 23"));
	free(out);
}
END_TEST

/* Review 7: each reason under its own group -- skipped rows' reasons under
 * "skipped", rejected rows' under "rejected", also for a reason both have
 * (not_registered: a status column's drop is skipped, --student's is
 * rejected). */
START_TEST(test_text_reasons_sit_under_their_status)
{
	struct outcome_counts c;
	memset(&c, 0, sizeof(c));
	struct row rows[] = {
		registered(2, "S1"),
		make_row(3, "T1", "C1", STATUS_SKIPPED, REASON_NOT_A_STUDENT, 0, ""),
		make_row(4, "T2", "C1", STATUS_SKIPPED, REASON_NOT_A_STUDENT, 0, ""),
		make_row(5, "S3", "C1", STATUS_SKIPPED, REASON_NOT_REGISTERED, 0, ""),
		rejected(6, "S4", REASON_INVALID_EMAIL, ""),
		rejected(7, "S5", REASON_NOT_REGISTERED, ""),
	};
	size_t n = sizeof(rows) / sizeof(rows[0]);
	for (size_t i = 0; i < n; i++)
		outcome_counts_add(&c, &rows[i]);
	struct report_summary s = summary_of(&c);
	char *out = render(REPORT_TEXT, rows, n, &s, NULL);
	ck_assert_msg(strstr(out, "\n  skipped             3\n"
				  "    not_a_student     2\n"
				  "    not_registered    1\n"
				  "  rejected            2\n"
				  "    invalid_email     1\n"
				  "    not_registered    1\n"),
		      "%s", out);
	free(out);
}
END_TEST

START_TEST(test_text_lists_only_reasons_that_occurred)
{
	char *out = render_sample(BATCH_COMMITTED, 0);
	ck_assert_ptr_nonnull(strstr(out, "    invalid_email "));
	ck_assert_ptr_nonnull(strstr(out, "    course_full "));
	ck_assert_ptr_null(strstr(out, "malformed_row"));
	ck_assert_ptr_null(strstr(out, "check_timeout"));
	free(out);
}
END_TEST

START_TEST(test_text_checks_line_when_checks_ran)
{
	char line[256];
	char *out = render_sample(BATCH_COMMITTED, 2000);
	ck_assert_str_eq(line_with(out, "checks:", line, sizeof(line)),
			 "checks: 2,000 run, median 0.101 s, slowest 0.250 s");
	free(out);
	out = render_sample(BATCH_COMMITTED, 0);
	ck_assert_ptr_null(strstr(out, "checks:"));
	free(out);
}
END_TEST

START_TEST(test_text_table_lists_only_rejected_rows)
{
	char line[256];
	char *out = render_sample(BATCH_COMMITTED, 0);
	ck_assert_ptr_nonnull(strstr(out, "\nLINE  STUDENT"));
	line_with(out, "LINE", line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, "COURSE"));
	ck_assert_ptr_nonnull(strstr(line, "REASON"));
	ck_assert_ptr_nonnull(strstr(line, "DETAIL"));
	ck_assert_ptr_nonnull(strstr(out, "no @ in \"bob\""));
	ck_assert_ptr_nonnull(strstr(out, "STUDENT-LONGER"));
	ck_assert_ptr_nonnull(strstr(out, "CHEM is full"));
	ck_assert_ptr_null(strstr(out, "REGISTERED1"));
	ck_assert_ptr_null(strstr(out, "WAIT1"));
	/* In roster order, after the header. */
	const char *h = strstr(out, "LINE");
	const char *a = strstr(out, "S2 "), *b = strstr(out, "STUDENT-LONGER");
	const char *d = strstr(out, "S9 ");
	ck_assert(h < a && a < b && b < d);
	free(out);
}
END_TEST

START_TEST(test_text_table_columns_are_aligned)
{
	char head[256], l1[256], l2[256], l3[256];
	char *out = render_sample(BATCH_COMMITTED, 0);
	line_with(out, "LINE", head, sizeof(head));
	line_with(out, "S2 ", l1, sizeof(l1));
	line_with(out, "STUDENT-LONGER", l2, sizeof(l2));
	line_with(out, "S9 ", l3, sizeof(l3));
	size_t course = (size_t)(strstr(head, "COURSE") - head);
	ck_assert_uint_eq((size_t)(strstr(l1, "MATH101") - l1), course);
	ck_assert_uint_eq((size_t)(strstr(l2, "CHEM") - l2), course);
	size_t detail = (size_t)(strstr(head, "DETAIL") - head);
	ck_assert_uint_eq((size_t)(strstr(l1, "no @") - l1), detail);
	ck_assert_uint_eq((size_t)(strstr(l2, "CHEM is") - l2), detail);
	/* Line numbers are right-aligned under LINE; no trailing blanks. */
	ck_assert_int_eq(strncmp(l2, "1234  ", 6), 0);
	ck_assert_int_eq(strncmp(l1, "   3  ", 6), 0);
	ck_assert_int_ne(l3[strlen(l3) - 1], ' ');
	free(out);
}
END_TEST

START_TEST(test_text_no_table_without_rejections)
{
	struct row rows[] = { registered(2, "S1"), registered(3, "S2") };
	char *out = render(REPORT_TEXT, rows, 2, NULL, NULL);
	ck_assert_ptr_null(strstr(out, "LINE"));
	ck_assert_ptr_null(strstr(out, "S1"));
	ck_assert_ptr_nonnull(strstr(out, "Batch 12 committed: 2 rows"));
	free(out);
}
END_TEST

START_TEST(test_text_escapes_invisible_characters)
{
	/* U+200B zero-width space, U+00A0 no-break space, U+FEFF. */
	struct row row = rejected(2, "S\xC2\xA0" "1", REASON_UNKNOWN_COURSE, "");
	set_value(&row, FIELD_COURSE, "OPEN\xE2\x80\x8B\xEF\xBB\xBF", 10);
	char *out = render(REPORT_TEXT, &row, 1, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(out, "S\\u00a01"));
	ck_assert_ptr_nonnull(strstr(out, "OPEN\\u200b\\ufeff"));
	free(out);
}
END_TEST

START_TEST(test_text_escapes_control_bytes)
{
	struct row row = rejected(2, "A\x1b[31mB", REASON_INVALID_STUDENT_ID,
				  "bell\a and \x1b]0;title\a");
	char *out = render(REPORT_TEXT, &row, 1, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(out, "A\\x1b[31mB"));
	ck_assert_ptr_nonnull(strstr(out, "bell\\x07 and \\x1b]0;title\\x07"));
	ck_assert_ptr_null(strchr(out, '\x1b'));
	ck_assert_ptr_null(strchr(out, '\a'));
	free(out);
}
END_TEST

START_TEST(test_text_escapes_invalid_utf8_doubles_backslash)
{
	/* A backslash in a value is shown as \\ (the man page says so); the
	 * byte that is not UTF-8 is escaped. */
	struct row row = rejected(2, "X\xFF\\Y", REASON_INVALID_CHARACTERS, "");
	set_value(&row, FIELD_COURSE, "C\0D", 3);
	char *out = render(REPORT_TEXT, &row, 1, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(out, "X\\xff\\\\Y"));
	ck_assert_ptr_nonnull(strstr(out, "C\xEF\xBF\xBD" "D"));
	ck_assert_ptr_null(strchr(out, '\xFF'));
	free(out);
}
END_TEST

/* Issue 14: the text "S13\x1b[31m" and a real ESC never look alike; a
 * detail (bulkreg's own text, escaped already) keeps its backslashes. */
START_TEST(test_text_literal_escape_differs_from_real_escape)
{
	struct row rows[2];
	rows[0] = rejected(2, "S13\\x1b[31m", REASON_INVALID_STUDENT_ID,
			   "a \\x41 detail");
	rows[1] = rejected(3, "S13\x1b[31m", REASON_INVALID_STUDENT_ID, "");
	char *out = render(REPORT_TEXT, rows, 2, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(out, "S13\\\\x1b[31m"));
	ck_assert_ptr_nonnull(strstr(out, " S13\\x1b[31m"));
	ck_assert_ptr_nonnull(strstr(out, "a \\x41 detail"));
	ck_assert_ptr_null(strchr(out, '\x1b'));
	free(out);
}
END_TEST

/* Messages get the same escaping, backslashes kept, and are cut whole. */
START_TEST(test_escape_message)
{
	char out[64];
	text_escape_message(out, sizeof(out),
			    "x\x1b]0;owned\a\x1b[2J: 'a\\x1B' \xe2\x80\xae");
	ck_assert_str_eq(out, "x\\x1b]0;owned\\x07\\x1b[2J: 'a\\x1B' \\u202e");
	char small[5];
	text_escape_message(small, sizeof(small), "ab\x1b");
	ck_assert_str_eq(small, "ab"); /* "\x1b" would not fit whole */
}
END_TEST

START_TEST(test_text_escapes_c1_and_bidi_controls)
{
	/* U+009B (CSI) and U+202E (right-to-left override). */
	struct row row = rejected(2, "a\xC2\x9B" "b", REASON_INVALID_STUDENT_ID,
				  "x\xE2\x80\xAEy Zo\xC3\xAB");
	char *out = render(REPORT_TEXT, &row, 1, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(out, "a\\u009bb"));
	ck_assert_ptr_nonnull(strstr(out, "x\\u202ey Zo\xC3\xAB"));
	free(out);
}
END_TEST

START_TEST(test_text_escapes_the_source_name)
{
	struct outcome_counts c;
	memset(&c, 0, sizeof(c));
	struct report_summary s = summary_of(&c);
	s.source = "evil\x1b[2Jname.csv";
	char *out = render(REPORT_TEXT, NULL, 0, &s, NULL);
	ck_assert_ptr_nonnull(strstr(out, "evil\\x1b[2Jname.csv"));
	ck_assert_ptr_null(strchr(out, '\x1b'));
	free(out);
}
END_TEST

START_TEST(test_text_cuts_long_values_with_ellipsis)
{
	char line[512];
	const char *longid = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	struct row row = rejected(2, longid, REASON_INVALID_STUDENT_ID, "too long");
	char *out = render(REPORT_TEXT, &row, 1, NULL, NULL);
	line_with(out, "ABCDEF", line, sizeof(line));
	ck_assert_ptr_null(strstr(line, longid));
	const char *cell = strstr(line, "ABCDEF");
	ck_assert_int_eq(strncmp(cell, "ABCDEFGHIJKLMNOPQ...  ", 22), 0);
	free(out);
}
END_TEST

START_TEST(test_text_cuts_only_past_the_column_cap)
{
	char line[512];
	struct row rows[] = {
		rejected(2, "ABCDEFGHIJKLMNOPQRST", REASON_INVALID_STUDENT_ID, ""),
		rejected(3, "abcdefghijklmnopqrstu", REASON_INVALID_STUDENT_ID, ""),
	};
	char *out = render(REPORT_TEXT, rows, 2, NULL, NULL);
	/* 20 columns fit; 21 are cut to 17 and "...". */
	ck_assert_ptr_nonnull(strstr(line_with(out, "ABCD", line, sizeof(line)),
				     "ABCDEFGHIJKLMNOPQRST  MATH101"));
	ck_assert_ptr_nonnull(strstr(line_with(out, "abcd", line, sizeof(line)),
				     "abcdefghijklmnopq...  MATH101"));
	free(out);
}
END_TEST

START_TEST(test_text_escapes_count_in_column_widths)
{
	char head[256], l1[256], l2[256];
	struct row rows[] = {
		rejected(2, "A\x01\x02" "B", REASON_INVALID_STUDENT_ID, "d1"),
		rejected(3, "Zo\xC3\xAB", REASON_INVALID_STUDENT_ID, "d2"),
	};
	char *out = render(REPORT_TEXT, rows, 2, NULL, NULL);
	line_with(out, "LINE", head, sizeof(head));
	line_with(out, "d1", l1, sizeof(l1));
	line_with(out, "d2", l2, sizeof(l2));
	/* "A\x01\x02B" is 10 columns; "Zo\xC3\xAB" 3 columns in 4 bytes. */
	size_t course = (size_t)(strstr(head, "COURSE") - head);
	ck_assert_uint_eq(course, 6 + 10 + 2);
	ck_assert_uint_eq((size_t)(strstr(l1, "MATH101") - l1), course);
	ck_assert_uint_eq((size_t)(strstr(l2, "MATH101") - l2), course + 1);
	free(out);
}
END_TEST

START_TEST(test_text_cut_never_splits_an_escape)
{
	char line[512];
	/* 16 plain bytes, then an escape that would cross the cut at 17. */
	struct row row = rejected(2, "0123456789abcdef\x01zzzzzzzz",
				  REASON_INVALID_STUDENT_ID, "");
	char *out = render(REPORT_TEXT, &row, 1, NULL, NULL);
	line_with(out, "0123", line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, "0123456789abcdef... "));
	free(out);
}
END_TEST

START_TEST(test_text_singular_row_and_worker)
{
	char line[256];
	struct row row = registered(2, "S1");
	struct outcome_counts c = counts_of(&row, 1);
	struct report_summary s = summary_of(&c);
	s.workers = 1;
	s.elapsed_seconds = 0.5;
	char *out = render(REPORT_TEXT, &row, 1, &s, NULL);
	ck_assert_str_eq(line_of(out, 0, line, sizeof(line)),
			 "Batch 12 committed: 1 row from data/roster.csv in 0.50 s "
			 "(2 rows/s, 1 worker).");
	free(out);
}
END_TEST

/* ---- write failures ---------------------------------------------------- */

static const enum report_format all_formats[] = { REPORT_TEXT, REPORT_CSV,
						  REPORT_JSON, REPORT_HTML };

static enum status write_to_fd(enum report_format fmt, int fd,
			       struct error *err)
{
	size_t n = make_sample_rows();
	struct outcome_counts c = sample_counts();
	struct report_summary s = summary_of(&c);
	struct report *r = report_with(fmt, sample_rows, n);
	enum status st = report_write(r, &s, fd, "dest.out", err);
	report_free(r);
	return st;
}

START_TEST(test_write_to_full_disk_is_io_error)
{
	struct error err;
	int fd = open("/dev/full", O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_to_fd(all_formats[_i], fd, &err), ST_IO);
	ck_assert_str_eq(err.msg, "dest.out: write failed: No space left on device");
	/* The caller owns the descriptor: it is still open. */
	ck_assert_int_eq(fcntl(fd, F_GETFD) >= 0, 1);
	close(fd);
}
END_TEST

START_TEST(test_write_to_closed_descriptor_is_io_error)
{
	struct error err;
	char path[512];
	int fd = open(in_dir("closed", path), O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	/* A high number, so that the report's own files cannot reuse it. */
	ck_assert_int_eq(dup2(fd, 900), 900);
	close(fd);
	fd = 900;
	close(fd);
	ck_assert_int_eq(write_to_fd(all_formats[_i], fd, &err), ST_IO);
	ck_assert_str_eq(err.msg, "dest.out: write failed: Bad file descriptor");
}
END_TEST

START_TEST(test_write_to_closed_pipe_is_io_error)
{
	struct error err;
	int p[2];
	/* The CLI ignores SIGPIPE so that EPIPE arrives as an error. */
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	ck_assert_int_eq(write_to_fd(all_formats[_i], p[1], &err), ST_IO);
	ck_assert_str_eq(err.msg, "dest.out: write failed: Broken pipe");
	close(p[1]);
	signal(SIGPIPE, SIG_DFL);
}
END_TEST

/* ---- the spool at scale ------------------------------------------------ */

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#endif

#ifdef UNDER_ASAN
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
static size_t heap_in_use(void)
{
	return mallinfo2().uordblks;
}
#endif

#define BIG_ROWS 100000

START_TEST(test_100k_rows_spool_without_heap_growth)
{
	enum report_format fmt = all_formats[_i];
	static const char *const names[] = { "text", "csv", "json" };
	struct report *r;
	struct error err;
	struct outcome_counts c;
	struct row row = registered(0, "");
	char path[512], sid[32];

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(report_new(fmt, -1, NULL, &r, &err), ST_OK);
	double t0 = now_seconds();
	size_t before = heap_in_use();
	for (uint64_t i = 0; i < BIG_ROWS; i++) {
		int n = snprintf(sid, sizeof(sid), "S%07llu", (unsigned long long)i);
		set_value(&row, FIELD_STUDENT_ID, sid, (size_t)n);
		row.line = i + 2;
		if (i % 10 == 0) {
			row_reject(&row, REASON_COURSE_FULL, "MATH101 is full");
		} else {
			row_reset_outcome(&row);
			row.status = STATUS_REGISTERED;
		}
		/* Not ck_assert: it records a mark point per call. */
		if (report_add_row(r, &row, &err) != ST_OK)
			ck_abort_msg("report_add_row: %s", err.msg);
		outcome_counts_add(&c, &row);
	}
	size_t after = heap_in_use();
	double t1 = now_seconds();
	struct report_summary s = summary_of(&c);
	write_out(r, &s, path);
	double t2 = now_seconds();
	report_free(r);

	/* The rows went to the spool, not the heap (~10 MB if they had). */
	ck_assert_uint_le(after, before + 4096);
	size_t len;
	char *out = slurp(path, &len);
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += out[i] == '\n';
	if (fmt == REPORT_CSV) {
		ck_assert_uint_eq(lines, BIG_ROWS + 1);
		ck_assert_ptr_nonnull(strstr(out, "\n100001,S0099999,"));
	}
	if (fmt == REPORT_JSON)
		ck_assert_ptr_nonnull(strstr(out, "{\"line\": 100001, "));
	if (fmt == REPORT_TEXT) {
		/* Only the rejected tenth is in the table. */
		ck_assert_ptr_nonnull(strstr(out, "\n99992  S0099990  "));
		ck_assert_ptr_null(strstr(out, "S0099999"));
	}
	fprintf(stderr, "report %s: %d rows added in %.3f s, written (%zu bytes) "
		"in %.3f s\n", names[fmt], BIG_ROWS, t1 - t0, len, t2 - t1);
	free(out);
}
END_TEST

START_TEST(test_report_can_be_written_twice)
{
	char path[512];
	struct row rows[] = { registered(2, "S1"), registered(3, "S2") };
	struct outcome_counts c = counts_of(rows, 2);
	struct report_summary s = summary_of(&c);
	struct report *r = report_with(REPORT_CSV, rows, 1);
	char *first = slurp(write_out(r, &s, path), NULL);
	char *second = slurp(write_out(r, &s, path), NULL);
	ck_assert_str_eq(first, second);
	/* Rows added after a write still land at the end. */
	struct error err;
	ck_assert_int_eq(report_add_row(r, &rows[1], &err), ST_OK);
	char *third = slurp(write_out(r, &s, path), NULL);
	ck_assert_ptr_nonnull(strstr(third, "\n2,S1,MATH101,registered,,,\n"
					    "3,S2,MATH101,registered,,,\n"));
	free(first);
	free(second);
	free(third);
	report_free(r);
}
END_TEST

START_TEST(test_spool_is_unlinked_in_tmpdir)
{
	struct report *r;
	struct error err;
	setenv("TMPDIR", dir, 1);
	ck_assert_int_eq(report_new(REPORT_JSON, -1, NULL, &r, &err), ST_OK);
	unsetenv("TMPDIR");
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	ck_assert_int_eq(n, 0);
	report_free(r);
}
END_TEST

START_TEST(test_missing_tmpdir_is_io_error)
{
	struct report *r;
	struct error err;
	char path[512];
	setenv("TMPDIR", in_dir("missing", path), 1);
	ck_assert_int_eq(report_new(REPORT_CSV, -1, NULL, &r, &err), ST_IO);
	unsetenv("TMPDIR");
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	ck_assert_ptr_nonnull(strstr(err.msg, strerror(ENOENT)));
}
END_TEST

/* Issue 14: the spool is bounded; past the limit, unusable input (exit 2)
 * naming the line, and the spool does not grow past it. */
START_TEST(test_spool_limit_is_input_error_naming_the_line)
{
	struct report *r;
	struct error err;
	ck_assert_int_eq(report_new(REPORT_CSV, -1, NULL, &r, &err), ST_OK);
	report_set_spool_limit(r, 200);
	enum status st = ST_OK;
	uint64_t line = 1;
	while (st == ST_OK && line < 1000) {
		struct row row = registered(++line, "S1001");
		st = report_add_row(r, &row, &err);
	}
	ck_assert_int_eq(st, ST_INPUT);
	char want[64];
	snprintf(want, sizeof(want), "line %llu: ", (unsigned long long)line);
	ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(strstr(err.msg, "200 bytes"));
	ck_assert_int_lt(line, 20);
	report_free(r);
}
END_TEST

/* The spool goes where it is told (beside the -o file). */
START_TEST(test_spool_in_a_missing_directory_names_it)
{
	struct report *r;
	struct error err;
	char path[512];
	ck_assert_int_eq(report_new(REPORT_CSV, -1, in_dir("gone", path), &r, &err),
			 ST_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
}
END_TEST

/* The spool goes into the directory the walk checked, through its
 * descriptor: a name that now leads elsewhere (or nowhere) changes
 * nothing (review 21, F05). */
START_TEST(test_spool_is_made_through_the_directory_descriptor)
{
	char real[512], gone[512], moved[512];
	in_dir("real", real);
	in_dir("gone", gone);
	in_dir("moved", moved);
	ck_assert_int_eq(mkdir(real, 0700), 0);
	int dfd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	/* The name is swapped for another directory after the check. */
	ck_assert_int_eq(rename(real, moved), 0);
	ck_assert_int_eq(mkdir(real, 0700), 0);
	FILE *f = NULL;
	struct error err = {0};
	ck_assert_int_eq(spool_open(dfd, gone, "spool", &f, &err), ST_OK);
	char link[64], target[1024];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fileno(f));
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	ck_assert_int_gt(n, 0);
	target[n] = '\0';
	ck_assert_msg(strncmp(target, moved, strlen(moved)) == 0 &&
			      target[strlen(moved)] == '/',
		      "the spool is at %s, not in %s", target, moved);
	fclose(f);
	/* And a report's spool too. */
	struct report *r;
	ck_assert_int_eq(report_new(REPORT_CSV, dfd, gone, &r, &err), ST_OK);
	report_free(r);
	close(dfd);
}
END_TEST

START_TEST(test_report_format_parse)
{
	enum report_format f = REPORT_TEXT;
	ck_assert(report_format_parse("json", &f));
	ck_assert_int_eq(f, REPORT_JSON);
	ck_assert(report_format_parse("csv", &f));
	ck_assert_int_eq(f, REPORT_CSV);
	ck_assert(report_format_parse("text", &f));
	ck_assert_int_eq(f, REPORT_TEXT);
	ck_assert(report_format_parse("html", &f));
	ck_assert_int_eq(f, REPORT_HTML);
	ck_assert(!report_format_parse("JSON", &f));
	ck_assert(!report_format_parse("xml", &f));
	ck_assert(!report_format_parse("", &f));
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("csv");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_csv_header_is_the_first_line);
	tcase_add_test(tc, test_csv_empty_report_is_only_the_header);
	tcase_add_test(tc, test_csv_quotes_comma_quote_cr_lf);
	tcase_add_test(tc, test_csv_quotes_leading_and_trailing_space);
	tcase_add_test(tc, test_csv_guards_every_formula_prefix);
	tcase_add_test(tc, test_csv_guard_goes_inside_the_quotes);
	tcase_add_test(tc, test_csv_plain_values_are_not_guarded);
	tcase_add_test(tc, test_csv_nul_is_written_as_replacement_character);
	tcase_add_test(tc, test_csv_success_rows_leave_position_reason_detail_empty);
	tcase_add_test(tc, test_csv_waitlisted_rows_carry_their_position);
	tcase_add_test(tc, test_csv_rejected_rows_carry_reason_and_detail);
	tcase_add_test(tc, test_csv_values_are_cut_at_row_value_max);
	tcase_add_test(tc, test_csv_parses_back_with_python_to_the_same_values);
	tcase_add_test(tc, test_csv_write_field_reports_write_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_json_parses_as_one_utf8_value);
	tcase_add_test(tc, test_json_carries_values_unchanged);
	tcase_add_test(tc, test_json_replaces_invalid_bytes_and_nul_with_fffd);
	tcase_add_test(tc, test_json_absent_values_are_null);
	tcase_add_test(tc, test_json_waitlisted_position_and_rejected_reason);
	tcase_add_test(tc, test_json_summary_counts_every_status_and_reason);
	tcase_add_test(tc, test_json_checks_object_when_checks_ran);
	tcase_add_test(tc, test_json_outcome_names);
	tcase_add_test(tc, test_json_empty_results_is_an_empty_array);
	tcase_add_test(tc, test_json_write_string_escapes);
	suite_add_tcase(s, tc);

	tc = tcase_create("text");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_text_committed_headline);
	tcase_add_test(tc, test_text_dry_run_headline);
	tcase_add_test(tc, test_text_rolled_back_headline);
	tcase_add_test(tc, test_text_counts_are_aligned);
	tcase_add_test(tc, test_text_reasons_sit_under_their_status);
	tcase_add_test(tc, test_text_lists_only_reasons_that_occurred);
	tcase_add_test(tc, test_text_checks_line_when_checks_ran);
	tcase_add_test(tc, test_text_table_lists_only_rejected_rows);
	tcase_add_test(tc, test_text_table_columns_are_aligned);
	tcase_add_test(tc, test_text_no_table_without_rejections);
	tcase_add_test(tc, test_text_escapes_control_bytes);
	tcase_add_test(tc, test_text_escapes_invisible_characters);
	tcase_add_test(tc, test_text_escapes_invalid_utf8_doubles_backslash);
	tcase_add_test(tc, test_text_literal_escape_differs_from_real_escape);
	tcase_add_test(tc, test_escape_message);
	tcase_add_test(tc, test_text_escapes_c1_and_bidi_controls);
	tcase_add_test(tc, test_text_escapes_the_source_name);
	tcase_add_test(tc, test_text_cuts_long_values_with_ellipsis);
	tcase_add_test(tc, test_text_cuts_only_past_the_column_cap);
	tcase_add_test(tc, test_text_escapes_count_in_column_widths);
	tcase_add_test(tc, test_text_cut_never_splits_an_escape);
	tcase_add_test(tc, test_text_singular_row_and_worker);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_write_to_full_disk_is_io_error, 0, 4);
	tcase_add_loop_test(tc, test_write_to_closed_descriptor_is_io_error, 0, 4);
	tcase_add_loop_test(tc, test_write_to_closed_pipe_is_io_error, 0, 4);
	suite_add_tcase(s, tc);

	tc = tcase_create("scale");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_100k_rows_spool_without_heap_growth, 0, 3);
	tcase_add_test(tc, test_report_format_parse);
	tcase_add_test(tc, test_report_can_be_written_twice);
	tcase_add_test(tc, test_spool_is_unlinked_in_tmpdir);
	tcase_add_test(tc, test_missing_tmpdir_is_io_error);
	tcase_add_test(tc, test_spool_limit_is_input_error_naming_the_line);
	tcase_add_test(tc, test_spool_in_a_missing_directory_names_it);
	tcase_add_test(tc, test_spool_is_made_through_the_directory_descriptor);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(report_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
