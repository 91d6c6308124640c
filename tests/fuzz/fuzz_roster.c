/* fuzz_roster: libFuzzer harness for the roster reader and row validation. */
/*
 * The first input byte picks the options (bits 0-1: delimiter , ; TAB |,
 * bit 2: --course override, bits 3-4: --encoding none, WINDOWS-1252,
 * UTF-16LE, MACINTOSH; bits 5-7: the profile detected, or forced, or
 * detected with the file itself as --users); the rest is the roster file
 * (an odd length: the delimiter was given, and wins over a "sep=" line),
 * and its first 256 bytes a --map spec given twice.  Each input is
 * read to the end, every row validated, and invariants checked.  The same
 * bytes also go through csvread twice, with and without the quote-free
 * fast path, which must report exactly the same fields, records and lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csvread.h"
#include "profile.h"
#include "roster.h"
#include "users_join.h"
#include "validate.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static char path[] = "/tmp/fuzz_roster.XXXXXX";
static int fd = -1;
static struct course_table courses;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const codes[] = {"MATH-101", "CS-1", "C1", "a"};
	(void)argc;
	(void)argv;
	fd = mkstemp(path);
	check(fd >= 0, "mkstemp");
	course_table_init(&courses);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct course c = {.id = (int64_t)i + 1, .capacity = 1,
				   .waitlist_max = WAITLIST_UNLIMITED, .title = "t"};
		strcpy(c.code, codes[i]);
		check(course_table_add(&courses, &c, NULL) == ST_OK, "course add");
	}
	return 0;
}

static void write_input(const unsigned char *data, size_t size)
{
	check(ftruncate(fd, 0) == 0, "ftruncate");
	size_t done = 0;
	while (done < size) {
		ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
		check(n > 0, "pwrite");
		done += (size_t)n;
	}
}

static void check_row(const struct row *row, uint64_t prev_line)
{
	/* A Moodle upload record into several courses: rows of one line. */
	check(row->line >= prev_line && row->line > 0, "lines increase");
	check(row->nfields >= 1, "a record has a field");
	check((row->present >> FIELD_COUNT) == 0, "present bits");
	for (int f = 0; f < FIELD_COUNT; f++) {
		const struct row_value *v = &row->v[f];
		size_t kept = v->len < ROW_VALUE_MAX ? v->len : ROW_VALUE_MAX;
		check(v->len <= ROSTER_FIELD_HARD_MAX, "value bound");
		check(v->text[kept] == '\0', "value terminated");
		if (!(row->present & (1u << f)))
			check(v->len == 0, "absent values are empty");
	}
}

static void run_roster(unsigned char control, size_t size)
{
	static const unsigned char delims[] = {',', ';', '\t', '|'};
	static const char *const encodings[] = {NULL, "WINDOWS-1252", "UTF-16LE",
						"MACINTOSH"};
	static const char *const profiles[] = {NULL, "bulkreg", "oneroster", "canvas",
					       "moodle-flatfile", "moodle-upload",
					       "clever", NULL};
	unsigned pick = (control >> 5) & 7;
	struct roster_options o = {.delimiter = delims[control & 3],
				   .course_override = control & 4 ? "C1" : NULL,
				   .encoding = encodings[(control >> 3) & 3],
				   .profile = profiles[pick],
				   .users_path = pick == 7 ? path : NULL,
				   .delimiter_given = size & 1};
	struct roster_reader *r;
	struct error err;
	static struct row row;
	enum status st = roster_open(path, &o, &r, &err);

	if (st != ST_OK) {
		check((st == ST_INPUT || st == ST_IO) && r == NULL,
		      "open fails with ST_INPUT");
		check(strlen(err.msg) > 0 && strlen(err.msg) < ERROR_MAX, "message");
		return;
	}
	for (size_t i = 0; i < roster_warning_count(r); i++)
		check(roster_warning(r, i) != NULL, "warning");
	check(roster_profile(r) != NULL, "a profile");
	uint64_t prev = 0;
	while ((st = roster_next(r, &row, &err)) == ST_OK) {
		check_row(&row, prev);
		prev = row.line;
		if (validate_row(&row, roster_columns(r), &courses))
			check(row.course != NULL, "valid rows have a course");
		else
			check((row.status == STATUS_REJECTED ||
			       row.status == STATUS_SKIPPED) &&
				      row.reason != REASON_NONE,
			      "rejected rows have a reason");
	}
	check(st == ST_EOF || st == ST_INPUT, "next ends with EOF or ST_INPUT");
	char hex[65];
	roster_sha256_hex(r, hex);
	check(strlen(hex) == 64, "hex digest");
	if (st == ST_EOF)
		check(roster_bytes_read(r) == size, "every byte read");
	else
		check(roster_bytes_read(r) <= size, "no byte read twice");
	roster_close(r);
}

/* ---- fast path against libcsv ---------------------------------------------- */

struct trace {
	unsigned char *text;
	size_t len, cap;
	size_t mark;              /* where the current record's text starts */
};

static void trace_add(struct trace *t, const void *s, size_t n)
{
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 64;
		t->text = realloc(t->text, t->cap);
		check(t->text != NULL, "realloc");
	}
	memcpy(t->text + t->len, s, n);
	t->len += n;
}

static void trace_field(void *ctx, size_t index, const unsigned char *s,
			size_t len)
{
	struct trace *t = ctx;
	size_t head[2] = {index, len};
	trace_add(t, head, sizeof(head));
	trace_add(t, s, len);
}

static bool trace_record(void *ctx, size_t nfields, bool blank, uint64_t line)
{
	struct trace *t = ctx;
	uint64_t rec[3] = {blank ? 0 : nfields, blank, line};
	if (blank)
		t->len = t->mark; /* the paths may differ in a blank's fields */
	trace_add(t, rec, sizeof(rec));
	t->mark = t->len;
	return true;
}

static void trace_file(unsigned char delim, bool fast, struct trace *t)
{
	struct csvread cr;
	struct error err;
	enum status st;

	check(csvread_open(&cr, path, delim, &err) == ST_OK, "csvread_open");
	cr.no_fast_path = !fast;
	cr.on_field = trace_field;
	cr.on_record = trace_record;
	cr.ctx = t;
	while ((st = csvread_next(&cr, &err)) == ST_OK)
		;
	trace_add(t, &st, sizeof(st));
	if (st != ST_EOF)
		trace_add(t, err.msg, strlen(err.msg));
	csvread_close(&cr);
}

static void run_differential(unsigned char control)
{
	static const unsigned char delims[] = {',', ';', '\t', '|'};
	struct trace a = {0}, b = {0};

	trace_file(delims[control & 3], true, &a);
	trace_file(delims[control & 3], false, &b);
	check(a.len == b.len && memcmp(a.text, b.text, a.len) == 0,
	      "fast path and libcsv agree");
	free(a.text);
	free(b.text);
}

/* The file as a --users file: every id it holds is found again. */
static void run_users(unsigned char control)
{
	static const char *const encodings[] = {NULL, "WINDOWS-1252", "UTF-16LE",
						"MACINTOSH"};
	struct users_join *u;
	struct error err;
	if (users_join_open(path, encodings[(control >> 3) & 3], &u, &err) != ST_OK)
		return;
	struct user_values v;
	bool found;
	check(users_join_find(u, "u1", 2, &found, &v, &err) == ST_OK, "find");
	check(v.email.len <= ROW_VALUE_MAX || !found, "value bound");
	users_join_close(u);
}

/* The bytes as --map given twice: parsed or refused, never past the
 * table's bounds, every header kept NUL-terminated. */
static void run_map(const unsigned char *data, size_t size)
{
	char spec[257];
	size_t n = size < 256 ? size : 256;
	memcpy(spec, data, n);
	spec[n] = '\0';
	struct csvread_map m = {0};
	struct error err;
	for (int i = 0; i < 2; i++) {
		if (profile_map_parse(spec, &m, &err) != ST_OK)
			break;
	}
	check(m.count <= CSVREAD_MAP_MAX, "map bound");
	for (size_t k = 0; k < m.count; k++)
		check(memchr(m.header[k], '\0', sizeof(m.header[k])) &&
			      memchr(m.raw[k], '\0', sizeof(m.raw[k])) &&
			      memchr(m.given[k], '\0', sizeof(m.given[k])),
		      "map strings");
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size == 0)
		return 0;
	run_map(data, size);
	write_input(data + 1, size - 1);
	run_roster(data[0], size - 1);
	run_differential(data[0]);
	if ((data[0] >> 5) == 7)
		run_users(data[0]);
	return 0;
}
