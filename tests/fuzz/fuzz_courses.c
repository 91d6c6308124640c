/* fuzz_courses: libFuzzer harness for the courses file reader
 * (course_import.c, `bulkreg course import`). */
/*
 * The first input byte picks the options (bit 0: --capacity 7, bit 1:
 * --waitlist 3, bits 2-3: --encoding none, WINDOWS-1252, UTF-16LE, none,
 * bit 4: --map code=id,title=name,capacity=seats,waitlist=wl); the rest is
 * the file.  The oracles:
 *   - a file refused (ST_INPUT, ST_USAGE for the encoding) leaves nothing
 *     (no rows, no storage) and its message names the file;
 *   - a file read: every course has a valid code (id_valid), given once; a
 *     capacity within 0..COURSE_CAPACITY_MAX; a waitlist unlimited or
 *     within it; a title NULL or non-empty, valid UTF-8; each line is a
 *     course or a problem, never both, in increasing order; a problem's
 *     message is "FILE: line N: ..." with its own line N;
 *   - round trip: the courses read, written out again as bulkreg's own
 *     code,title,capacity,waitlist file (every field quoted), read back
 *     as the very same courses, with no problem.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "course_import.h"
#include "courses.h"
#include "utf8.h"
#include "validate.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static char path[] = "/tmp/fuzz_courses.XXXXXX";
static char again[] = "/tmp/fuzz_courses_again.XXXXXX";
static int fd = -1, fd_again = -1;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

static void cleanup(void)
{
	unlink(path);
	unlink(again);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = mkstemp(path);
	fd_again = mkstemp(again);
	check(fd >= 0 && fd_again >= 0, "mkstemp");
	atexit(cleanup);
	return 0;
}

static void write_all(int to, const void *data, size_t size)
{
	check(ftruncate(to, 0) == 0, "ftruncate");
	size_t done = 0;
	while (done < size) {
		ssize_t n = pwrite(to, (const char *)data + done, size - done,
				   (off_t)done);
		check(n > 0, "pwrite");
		done += (size_t)n;
	}
}

static void check_read(const char *file, enum status st,
		       const struct course_import *ci, const struct error *err,
		       const struct course_import_options *opt)
{
	if (st != ST_OK) {
		check(st == ST_INPUT || st == ST_USAGE, "refused with ST_INPUT");
		check(ci->count == 0 && ci->rows == NULL && ci->storage == NULL &&
			      ci->problem_count == 0,
		      "a refused file leaves nothing");
		check(st == ST_USAGE || strstr(err->msg, file) != NULL,
		      "the message names the file");
		return;
	}
	check(ci->format != NULL, "a format");
	uint64_t last = 0;
	size_t r = 0, p = 0;
	while (r < ci->count || p < ci->problem_count) {
		bool row = p == ci->problem_count ||
			   (r < ci->count && ci->rows[r].line < ci->problems[p].line);
		uint64_t line = row ? ci->rows[r].line : ci->problems[p].line;
		check(line > last, "each line a course or a problem, in order");
		last = line;
		if (row) {
			const struct course_input *in = &ci->rows[r].input;
			size_t n = strlen(in->code);
			check(id_valid(in->code, n) && n <= COURSE_CODE_MAX,
			      "a valid code");
			for (size_t k = 0; k < r; k++)
				check(strcmp(ci->rows[k].input.code, in->code) != 0,
				      "each code once");
			check(in->capacity >= 0 && in->capacity <= COURSE_CAPACITY_MAX,
			      "capacity within bounds");
			check(in->waitlist_max == WAITLIST_UNLIMITED ||
				      (in->waitlist_max >= 0 &&
				       in->waitlist_max <= COURSE_CAPACITY_MAX),
			      "waitlist within bounds");
			if (!ci->has_capacity)
				check(in->capacity == opt->capacity,
				      "--capacity for a file without one");
			if (in->title)
				check(*in->title &&
					      utf8_valid((const unsigned char *)in->title,
							 strlen(in->title), NULL),
				      "a title non-empty, UTF-8");
			r++;
		} else {
			char head[64 + sizeof(path)];
			snprintf(head, sizeof(head), "%s: line %" PRIu64 ": ", file,
				 line);
			check(strncmp(ci->problems[p].message, head, strlen(head)) == 0,
			      "a problem names its file and line");
			p++;
		}
	}
}

struct buf {
	char *p;
	size_t len, cap;
};

static void add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		check(b->p != NULL, "realloc");
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void add_quoted(struct buf *b, const char *s)
{
	add(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"')
			add(b, "\"", 1); /* doubled */
		add(b, s, 1);
	}
	add(b, "\"", 1);
}

/* The courses written out as bulkreg's own file and read back. */
static void round_trip(const struct course_import *ci)
{
	struct buf b = {0};
	add(&b, "code,title,capacity,waitlist\n", 29);
	for (size_t i = 0; i < ci->count; i++) {
		const struct course_input *in = &ci->rows[i].input;
		char num[64];
		add_quoted(&b, in->code);
		add(&b, ",", 1);
		add_quoted(&b, in->title ? in->title : "");
		int n = snprintf(num, sizeof(num), ",%" PRId64 ",", in->capacity);
		add(&b, num, (size_t)n);
		if (in->waitlist_max != WAITLIST_UNLIMITED) {
			n = snprintf(num, sizeof(num), "%" PRId64, in->waitlist_max);
			add(&b, num, (size_t)n);
		}
		add(&b, "\n", 1);
	}
	write_all(fd_again, b.p, b.len);
	free(b.p);

	struct course_import back;
	struct error err;
	enum status st = course_import_read(again, NULL, &back, &err);
	if (st != ST_OK)
		fprintf(stderr, "%s\n", err.msg);
	check(st == ST_OK, "the courses written out are read back");
	if (back.problem_count)
		fprintf(stderr, "%s\n", back.problems[0].message);
	check(back.problem_count == 0, "with no problem");
	check(back.count == ci->count, "as many courses");
	for (size_t i = 0; i < ci->count; i++) {
		const struct course_input *a = &ci->rows[i].input,
					  *z = &back.rows[i].input;
		check(strcmp(a->code, z->code) == 0, "the same code");
		check(!a->title == !z->title &&
			      (!a->title || strcmp(a->title, z->title) == 0),
		      "the same title");
		check(a->capacity == z->capacity, "the same capacity");
		check(a->waitlist_max == z->waitlist_max, "the same waitlist");
	}
	course_import_free(&back);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const encodings[] = {NULL, "WINDOWS-1252", "UTF-16LE",
						NULL};
	if (size == 0)
		return 0;
	unsigned control = data[0];
	write_all(fd, data + 1, size - 1);

	struct course_import_options opt = {
		.has_capacity = control & 1, .capacity = 7,
		.has_waitlist = (control & 2) != 0, .waitlist_max = 3,
		.encoding = encodings[(control >> 2) & 3]};
	struct error err;
	if (control & 16)
		check(course_import_map_parse("code=id,title=name,capacity=seats,"
					      "waitlist=wl",
					      &opt, &err) == ST_OK,
		      "--map");
	struct course_import ci;
	memset(&ci, 0x5a, sizeof(ci)); /* whatever the caller had */
	enum status st = course_import_read(path, &opt, &ci, &err);
	check_read(path, st, &ci, &err, &opt);
	if (st == ST_OK)
		round_trip(&ci);
	course_import_free(&ci);
	return 0;
}
