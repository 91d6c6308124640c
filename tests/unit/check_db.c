/* check_db: the SQLite store's contract -- open, courses, batches, listings. */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "course_save.h"
#include "policy.h"
#include "testutil.h"

#define SHA_HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- fixtures ----------------------------------------------------------- */

/* The parent makes one base directory per test case and removes it even when
 * a test fails; each test gets its own directory inside it. */
/* Short enough that every message naming the path fits in ERROR_MAX. */
static char base_dir[200];
static char dir[240];
static char path[280];

static void remove_tree(const char *p)
{
	struct stat sb;
	if (lstat(p, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode)) {
		chmod(p, 0700); /* tests make read-only directories */
		DIR *d = opendir(p);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char child[PATH_MAX * 2];
			snprintf(child, sizeof(child), "%s/%s", p, e->d_name);
			remove_tree(child);
		}
		if (d)
			closedir(d);
		rmdir(p);
	} else {
		unlink(p);
	}
}

static void base_setup(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(base_dir, sizeof(base_dir), "%s/check_db.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base_dir))
		abort();
}

static void base_teardown(void)
{
	remove_tree(base_dir);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/t.XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/reg.db", dir);
	unsetenv("BULKREG_TEST_MAX_PAGE_COUNT");
}

static void teardown(void)
{
	remove_tree(dir);
}

/* ---- helpers: the database seen from outside ---------------------------- */

static sqlite3 *raw_open(void)
{
	sqlite3 *h = NULL;
	ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
	return h;
}

static void raw_exec(sqlite3 *h, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
}

static int64_t query_int(const char *sql)
{
	sqlite3 *h = raw_open();
	sqlite3_stmt *stmt = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &stmt, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(h);
	return v;
}

/* The first column of the first row as text, copied into buf ("" if NULL). */
static const char *query_text(const char *sql, char *buf, size_t size)
{
	sqlite3 *h = raw_open();
	sqlite3_stmt *stmt = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &stmt, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
	const char *s = (const char *)sqlite3_column_text(stmt, 0);
	snprintf(buf, size, "%s", s ? s : "");
	sqlite3_finalize(stmt);
	sqlite3_close(h);
	return buf;
}

static int dump_row(void *ctx, int n, char **vals, char **cols)
{
	FILE *out = ctx;
	for (int i = 0; i < n; i++)
		fprintf(out, "%s=%s|", cols[i], vals[i] ? vals[i] : "NULL");
	fputc('\n', out);
	return 0;
}

/* Every row of the data tables (and of batches if asked) as text. */
static char *dump(bool with_batches)
{
	static const char *const sqls[] = {
		"SELECT * FROM courses ORDER BY id",
		"SELECT * FROM students ORDER BY student_id",
		"SELECT * FROM registrations ORDER BY course_id, student_id",
		"SELECT * FROM batches ORDER BY id",
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(out);
	sqlite3 *h = raw_open();
	for (size_t i = 0; i < (with_batches ? 4u : 3u); i++) {
		fprintf(out, "-- %s\n", sqls[i]);
		ck_assert_int_eq(sqlite3_exec(h, sqls[i], dump_row, out, NULL),
				 SQLITE_OK);
	}
	sqlite3_close(h);
	fclose(out);
	return buf;
}

/* The maintained counters agree with the registrations, seats and positions
 * are 1..n without gaps, and no foreign key dangles. */
static void assert_consistent(void)
{
	ck_assert_int_eq(
		query_int("SELECT count(*) FROM courses AS c WHERE"
			  " registered <> (SELECT count(*) FROM registrations AS r"
			  "  WHERE r.course_id = c.id AND status = 'registered')"
			  " OR waitlisted <> (SELECT count(*) FROM registrations AS r"
			  "  WHERE r.course_id = c.id AND status = 'waitlisted')"),
		0);
	ck_assert_int_eq(
		query_int("SELECT count(*) FROM (SELECT count(*) AS n,"
			  " count(DISTINCT seq) AS d, min(seq) AS lo, max(seq) AS hi"
			  " FROM registrations GROUP BY course_id, status)"
			  " WHERE n <> d OR lo <> 1 OR hi <> n"),
		0);
	ck_assert_int_eq(query_int("SELECT count(*) FROM pragma_foreign_key_check"),
			 0);
}

/* ---- helpers: the API --------------------------------------------------- */

static struct db *open_db(double wait)
{
	struct db *db = NULL;
	struct error err = { "" };
	enum status st = db_open(path, wait, 0, &db, &err);
	ck_assert_msg(st == ST_OK, "db_open: %d %s", st, err.msg);
	ck_assert_ptr_nonnull(db);
	return db;
}

static void put_course(struct db *db, const char *code, int64_t capacity,
		       int64_t waitlist)
{
	struct course_input in = { code, NULL, capacity, true, waitlist };
	struct error err = { "" };
	enum status st = db_course_put(db, &in, &err);
	ck_assert_msg(st == ST_OK, "put %s: %s", code, err.msg);
}

/* As `course add` saves a course: a capacity raise promotes, as a batch. */
static void save_course(struct db *db, const char *code, int64_t capacity,
			int64_t waitlist)
{
	struct course_input in = { code, NULL, capacity, true, waitlist };
	struct error err = { "" };
	struct course_save_result res;
	enum status st = course_save(db, &in, 1, "test", NULL, NULL, NULL, NULL,
				     false, &res, &err);
	ck_assert_msg(st == ST_OK, "save %s: %s", code, err.msg);
}

struct spec {
	const char *sid, *first, *last, *email, *course;
};

static void row_fill(struct row *row, uint64_t line, const struct spec *s,
		     const struct course_table *courses)
{
	memset(row, 0, sizeof(*row));
	row->line = line;
	row->nfields = FIELD_COUNT;
	const char *vals[FIELD_COUNT] = { s->sid, s->first, s->last, s->email,
					  s->course };
	for (int f = 0; f < FIELD_COUNT; f++) {
		const char *v = vals[f] ? vals[f] : "";
		size_t len = strlen(v);
		ck_assert_uint_le(len, ROW_VALUE_MAX);
		row->present |= 1u << f;
		row->v[f].len = (uint32_t)len;
		memcpy(row->v[f].text, v, len + 1);
	}
	row->course = course_table_find(courses, s->course, strlen(s->course));
	ck_assert_msg(row->course != NULL, "no course %s", s->course);
}

struct batch {
	int64_t id;
	struct course_table courses;
	struct outcome_counts counts;
	struct policy *policy;
};

static void batch_begin(struct db *db, struct batch *b)
{
	memset(b, 0, sizeof(*b));
	course_table_init(&b->courses);
	struct batch_meta meta = { .source = "roster.csv", .label = "test" };
	struct error err = { "" };
	enum status st = db_batch_begin(db, &meta, &b->id, &b->courses, &err);
	ck_assert_msg(st == ST_OK, "begin: %s", err.msg);
	struct policy_options po = { .batch_id = b->id };
	st = policy_new(db_store(db), &b->courses, &po, &b->policy, &err);
	ck_assert_msg(st == ST_OK, "policy: %s", err.msg);
}

/* The policy emits a row (the row itself, and promotions); the tests
 * count the row they gave. */
static enum status ignore_row(void *ctx, struct row *row, struct error *err)
{
	(void)ctx;
	(void)row;
	(void)err;
	return ST_OK;
}

/* Decides one row through the policy, as the collector does. */
static enum status db_batch_apply(struct db *db, struct batch *b,
				  struct row *row, struct error *err)
{
	(void)db;
	return policy_apply(b->policy, row, ignore_row, NULL, err);
}

/* Stores the counters and ends the policy, as register does before the
 * batch finishes. */
static enum status batch_close(struct batch *b, struct error *err)
{
	enum status st = policy_store_courses(b->policy, err);
	policy_free(b->policy);
	b->policy = NULL;
	return st;
}

static void batch_apply(struct db *db, struct batch *b, uint64_t line,
			const struct spec *s, struct row *out)
{
	struct row row;
	row_fill(&row, line, s, &b->courses);
	struct error err = { "" };
	enum status st = db_batch_apply(db, b, &row, &err);
	ck_assert_msg(st == ST_OK, "apply line %" PRIu64 ": %s", line, err.msg);
	outcome_counts_add(&b->counts, &row);
	if (out)
		*out = row;
}

static void batch_finish(struct db *db, struct batch *b,
			 enum batch_outcome outcome)
{
	struct error err = { "" };
	enum status st = batch_close(b, &err);
	ck_assert_msg(st == ST_OK, "store courses: %s", err.msg);
	st = db_batch_finish(db, b->id, outcome, &b->counts, SHA_HEX, &err);
	ck_assert_msg(st == ST_OK, "finish: %s", err.msg);
	course_table_free(&b->courses);
}

/* Runs specs[] as roster lines 2.. of one batch; outcomes go to out[]. */
static int64_t run_roster(struct db *db, const struct spec *specs, size_t n,
			  enum batch_outcome outcome, struct row *out)
{
	struct batch b;
	batch_begin(db, &b);
	for (size_t i = 0; i < n; i++)
		batch_apply(db, &b, i + 2, &specs[i], out ? &out[i] : NULL);
	batch_finish(db, &b, outcome);
	return b.id;
}

static void expect(const struct row *row, enum row_status status,
		   int64_t position)
{
	ck_assert_msg(row->status == status, "line %" PRIu64 ": %s, want %s",
		      row->line, row_status_name(row->status),
		      row_status_name(status));
	ck_assert_int_eq(row->position, position);
}

static void expect_reject(const struct row *row, enum row_reason reason,
			  const char *detail)
{
	expect(row, STATUS_REJECTED, 0);
	ck_assert_int_eq(row->reason, reason);
	ck_assert_str_eq(row->detail, detail);
}

/* Loads the courses through the API and returns one's counters. */
static void course_counts(struct db *db, const char *code, int64_t *registered,
			  int64_t *waitlisted)
{
	struct course_table t;
	course_table_init(&t);
	ck_assert_int_eq(db_courses_load(db, &t, NULL), ST_OK);
	struct course *c = course_table_find(&t, code, strlen(code));
	ck_assert_ptr_nonnull(c);
	*registered = c->registered;
	*waitlisted = c->waitlisted;
	course_table_free(&t);
}

/* ---- listings collected ------------------------------------------------- */

struct listed {
	char sid[64], first[64], last[64], email[64];
	enum row_status status;
	int64_t position, batch_id, line;
};

struct listing {
	struct listed e[32];
	size_t n;
	size_t stop_after; /* 0: never */
};

static int collect_roster(void *ctx, const struct roster_entry *e,
			  struct error *err)
{
	struct listing *l = ctx;
	ck_assert_uint_lt(l->n, 32);
	struct listed *d = &l->e[l->n++];
	snprintf(d->sid, sizeof(d->sid), "%s", e->student_id);
	snprintf(d->first, sizeof(d->first), "%s", e->first_name);
	snprintf(d->last, sizeof(d->last), "%s", e->last_name);
	snprintf(d->email, sizeof(d->email), "%s", e->email);
	d->status = e->status;
	d->position = e->position;
	d->batch_id = e->batch_id;
	d->line = e->line;
	if (l->stop_after && l->n >= l->stop_after) {
		error_set(err, ST_IO, "roster stopped after %zu", l->n);
		return 1;
	}
	return 0;
}

static void list_roster(struct db *db, const char *code, struct listing *l)
{
	memset(l, 0, sizeof(*l));
	struct error err = { "" };
	enum status st = db_course_roster(db, code, collect_roster, l, &err);
	ck_assert_msg(st == ST_OK, "roster: %s", err.msg);
}

struct history {
	struct {
		int64_t id;
		enum batch_outcome outcome;
		struct outcome_counts counts;
		char started[40], source[64], sha[80], label[32];
		bool finished, has_label, has_sha;
	} b[8];
	size_t n;
	size_t stop_after;
};

static int collect_batch(void *ctx, const struct batch_record *r,
			 struct error *err)
{
	struct history *h = ctx;
	ck_assert_uint_lt(h->n, 8);
	size_t i = h->n++;
	h->b[i].id = r->id;
	h->b[i].outcome = r->outcome;
	h->b[i].counts = r->counts;
	snprintf(h->b[i].started, sizeof(h->b[i].started), "%s", r->started_at);
	snprintf(h->b[i].source, sizeof(h->b[i].source), "%s", r->source);
	h->b[i].finished = r->finished_at != NULL;
	h->b[i].has_label = r->label != NULL;
	h->b[i].has_sha = r->sha256 != NULL;
	snprintf(h->b[i].label, sizeof(h->b[i].label), "%s",
		 r->label ? r->label : "");
	snprintf(h->b[i].sha, sizeof(h->b[i].sha), "%s",
		 r->sha256 ? r->sha256 : "");
	if (h->stop_after && h->n >= h->stop_after) {
		error_set(err, ST_IO, "batches stopped after %zu", h->n);
		return 1;
	}
	return 0;
}

static void list_batches(struct db *db, struct history *h)
{
	memset(h, 0, sizeof(*h));
	struct error err = { "" };
	enum status st = db_batches_list(db, collect_batch, h, &err);
	ck_assert_msg(st == ST_OK, "batches: %s", err.msg);
}

static bool is_iso_utc(const char *s)
{
	/* 2024-01-31T12:34:56.789Z */
	return strlen(s) == 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' &&
	       s[13] == ':' && s[16] == ':' && s[19] == '.' && s[23] == 'Z';
}

/* ---- open --------------------------------------------------------------- */

START_TEST(test_open_creates_schema_version_3)
{
	struct db *db = open_db(1);
	db_close(db);
	ck_assert_int_eq(query_int("PRAGMA user_version"), DB_SCHEMA_VERSION);
	ck_assert_int_eq(DB_SCHEMA_VERSION, 3);
	char mode[16];
	ck_assert_str_eq(query_text("PRAGMA journal_mode", mode, sizeof(mode)),
			 "wal");
	ck_assert_int_eq(query_int("SELECT count(*) FROM sqlite_schema WHERE"
				   " type = 'table' AND name IN ('courses',"
				   " 'students', 'registrations', 'batches')"),
			 4);
}
END_TEST

START_TEST(test_open_again_keeps_schema_and_data)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 3, WAITLIST_UNLIMITED);
	db_close(db);
	db = open_db(1);
	db_close(db);
	db = open_db(1);
	int64_t registered, waitlisted;
	course_counts(db, "CS101", &registered, &waitlisted);
	db_close(db);
	ck_assert_int_eq(query_int("PRAGMA user_version"), DB_SCHEMA_VERSION);
	ck_assert_int_eq(query_int("SELECT count(*) FROM courses"), 1);
}
END_TEST

START_TEST(test_open_newer_schema_is_too_new)
{
	sqlite3 *h = raw_open();
	raw_exec(h, "PRAGMA user_version = 99");
	sqlite3_close(h);
	struct db *db = NULL;
	struct error err = { "" };
	ck_assert_int_eq(db_open(path, 1, 0, &db, &err), ST_TOONEW);
	ck_assert_ptr_null(db);
	char want[ERROR_MAX];
	snprintf(want, sizeof(want),
		 "%s: database schema version 99 is newer than this bulkreg "
		 "understands (3); use a newer bulkreg",
		 path);
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(query_int("PRAGMA user_version"), 99);
}
END_TEST

START_TEST(test_open_text_file_is_not_a_database)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 50; i++)
		fprintf(f, "student_id,email,course\nS%d,s%d@x.org,CS101\n", i, i);
	fclose(f);
	struct db *db = NULL;
	struct error err = { "" };
	ck_assert_int_eq(db_open(path, 1, 0, &db, &err), ST_DB);
	ck_assert_ptr_null(db);
	char want[ERROR_MAX];
	snprintf(want, sizeof(want), "%s: not an SQLite database", path);
	ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(test_open_read_only_file_cannot_write)
{
	db_close(open_db(1));
	ck_assert_int_eq(chmod(path, 0444), 0);
	struct db *db = NULL;
	struct error err = { "" };
	enum status st = db_open(path, 1, 0, &db, &err);
	if (geteuid() == 0) {
		/* root writes anyway: nothing to check but a clean result. */
		db_close(db);
		return;
	}
	ck_assert_int_eq(st, ST_DB);
	ck_assert_ptr_null(db);
	ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(strstr(err.msg, ": cannot write: "));
	ck_assert_ptr_nonnull(strstr(err.msg, "read-only?)"));
}
END_TEST

START_TEST(test_open_in_read_only_directory_cannot_write)
{
	char ro[sizeof(dir) + 8];
	snprintf(ro, sizeof(ro), "%s/ro", dir);
	ck_assert_int_eq(mkdir(ro, 0555), 0);
	snprintf(path, sizeof(path), "%s/ro/new.db", dir);
	struct db *db = NULL;
	struct error err = { "" };
	enum status st = db_open(path, 1, 0, &db, &err);
	if (geteuid() == 0) {
		db_close(db);
		return;
	}
	ck_assert_int_eq(st, ST_DB);
	ck_assert_ptr_nonnull(strstr(err.msg, ": cannot write: "));
	ck_assert_ptr_nonnull(strstr(err.msg, "read-only?)"));
}
END_TEST

START_TEST(test_open_directory_is_refused)
{
	struct db *db = NULL;
	struct error err = { "" };
	ck_assert_int_eq(db_open(dir, 1, 0, &db, &err), ST_DB);
	ck_assert_ptr_null(db);
	char want[ERROR_MAX];
	snprintf(want, sizeof(want), "%s: is a directory, not a database file",
		 dir);
	ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(test_open_in_missing_directory_names_it)
{
	snprintf(path, sizeof(path), "%s/nope/reg.db", dir);
	struct db *db = NULL;
	struct error err = { "" };
	ck_assert_int_eq(db_open(path, 1, 0, &db, &err), ST_DB);
	char want[ERROR_MAX];
	snprintf(want, sizeof(want),
		 "%s: cannot open: there is no directory %s/nope: create it "
		 "first (mkdir -p %s/nope)",
		 path, dir, dir);
	ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(test_open_busy_while_another_process_creates)
{
	/* A fresh WAL database whose creator holds the write lock. */
	sqlite3 *h = raw_open();
	raw_exec(h, "PRAGMA journal_mode = WAL; BEGIN IMMEDIATE;"
		    " CREATE TABLE other(x)");
	struct db *db = NULL;
	struct error err = { "" };
	double t0 = now_seconds();
	enum status st = db_open(path, 0.2, 0, &db, &err);
	double waited = now_seconds() - t0;
	raw_exec(h, "ROLLBACK");
	sqlite3_close(h);
	ck_assert_int_eq(st, ST_BUSY);
	ck_assert_ptr_null(db);
	char want[ERROR_MAX];
	snprintf(want, sizeof(want),
		 "%s: database is locked by another process (waited 0.2 s)", path);
	ck_assert_str_eq(err.msg, want);
	ck_assert_double_ge(waited, 0.15);
	ck_assert_double_lt(waited, 3.0);
	ck_assert_int_eq(query_int("PRAGMA user_version"), 0);
}
END_TEST

struct opener {
	enum status st;
	char msg[ERROR_MAX];
};

static void *open_and_close(void *arg)
{
	struct opener *o = arg;
	struct db *db = NULL;
	struct error err = { "" };
	o->st = db_open(path, 10, 0, &db, &err);
	snprintf(o->msg, sizeof(o->msg), "%s", err.msg);
	db_close(db);
	return NULL;
}

START_TEST(test_open_racing_creators_all_succeed)
{
	/* Creating races are won or lost at random: try many fresh files. */
	enum { N = 4, ROUNDS = 25 };
	for (int round = 0; round < ROUNDS; round++) {
		snprintf(path, sizeof(path), "%s/race%d.db", dir, round);
		struct opener o[N];
		pthread_t t[N];
		for (int i = 0; i < N; i++)
			t[i] = start_thread(open_and_close, &o[i]);
		for (int i = 0; i < N; i++) {
			join_thread(t[i]);
			ck_assert_msg(o[i].st == ST_OK, "round %d opener %d: %s",
				      round, i, o[i].msg);
		}
		ck_assert_int_eq(query_int("PRAGMA user_version"), DB_SCHEMA_VERSION);
		ck_assert_int_eq(query_int("SELECT count(*) FROM sqlite_schema"
					   " WHERE type = 'table'"),
				 6); /* courses, students, batches, registrations, history, batch_courses */
	}
}
END_TEST

/* ---- courses ------------------------------------------------------------ */

static void expect_put_usage(struct db *db, struct course_input in,
			     const char *needle)
{
	struct error err = { "" };
	ck_assert_int_eq(db_course_put(db, &in, &err), ST_USAGE);
	ck_assert_msg(strstr(err.msg, needle) != NULL, "'%s' lacks '%s'",
		      err.msg, needle);
}

START_TEST(test_course_put_rejects_bad_codes)
{
	struct db *db = open_db(1);
	const char *bad[] = { "", "CS\t101", " CS", "CS\xE2\x80\x8B", "\x1B[2J" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct course_input in = { bad[i], "T", 5, false, 0 };
		expect_put_usage(db, in, "is not valid");
	}
	struct course_input none = { NULL, "T", 5, false, 0 };
	expect_put_usage(db, none, "course code");
	db_close(db);
	ck_assert_int_eq(query_int("SELECT count(*) FROM courses"), 0);
}
END_TEST

START_TEST(test_course_put_capacity_bounds)
{
	struct db *db = open_db(1);
	struct course_input in = { "C", NULL, -1, false, 0 };
	expect_put_usage(db, in, "capacity -1 is out of range (0 to 1,000,000)");
	in.capacity = COURSE_CAPACITY_MAX + 1;
	expect_put_usage(db, in, "capacity 1,000,001 is out of range");
	ck_assert_int_eq(query_int("SELECT count(*) FROM courses"), 0);
	put_course(db, "ZERO", 0, 0);
	put_course(db, "MAX", COURSE_CAPACITY_MAX, 0);
	db_close(db);
	ck_assert_int_eq(query_int("SELECT capacity FROM courses WHERE code = 'MAX'"),
			 COURSE_CAPACITY_MAX);
}
END_TEST

START_TEST(test_course_put_waitlist_bounds)
{
	struct db *db = open_db(1);
	struct course_input in = { "C", NULL, 1, true, -2 };
	expect_put_usage(db, in, "waitlist -2 is out of range");
	in.waitlist_max = COURSE_CAPACITY_MAX + 1;
	expect_put_usage(db, in, "waitlist 1,000,001 is out of range");
	ck_assert_int_eq(query_int("SELECT count(*) FROM courses"), 0);
	/* Without has_waitlist the value is not looked at. */
	in.has_waitlist = false;
	in.waitlist_max = -77;
	struct error err = { "" };
	ck_assert_int_eq(db_course_put(db, &in, &err), ST_OK);
	put_course(db, "W0", 1, 0);
	put_course(db, "WMAX", 1, COURSE_CAPACITY_MAX);
	put_course(db, "WINF", 1, WAITLIST_UNLIMITED);
	db_close(db);
	ck_assert_int_eq(query_int("SELECT waitlist_max IS NULL FROM courses"
				   " WHERE code = 'C'"),
			 1);
	ck_assert_int_eq(query_int("SELECT waitlist_max FROM courses"
				   " WHERE code = 'W0'"),
			 0);
	ck_assert_int_eq(query_int("SELECT waitlist_max IS NULL FROM courses"
				   " WHERE code = 'WINF'"),
			 1);
}
END_TEST

START_TEST(test_course_put_creates_with_defaults)
{
	struct db *db = open_db(1);
	struct course_input in = { "CS101", NULL, 30, false, 0 };
	ck_assert_int_eq(db_course_put(db, &in, NULL), ST_OK);
	struct course_table t;
	course_table_init(&t);
	ck_assert_int_eq(db_courses_load(db, &t, NULL), ST_OK);
	ck_assert_uint_eq(t.count, 1);
	ck_assert_str_eq(t.items[0].code, "CS101");
	ck_assert_str_eq(t.items[0].title, "");
	ck_assert_int_eq(t.items[0].capacity, 30);
	ck_assert_int_eq(t.items[0].waitlist_max, WAITLIST_UNLIMITED);
	ck_assert_int_eq(t.items[0].registered, 0);
	ck_assert_int_eq(t.items[0].waitlisted, 0);
	ck_assert(!t.items[0].touched);
	course_table_free(&t);
	db_close(db);
	char at[64];
	ck_assert(is_iso_utc(query_text("SELECT created_at FROM courses", at,
					sizeof(at))));
	ck_assert(is_iso_utc(query_text("SELECT updated_at FROM courses", at,
					sizeof(at))));
}
END_TEST

START_TEST(test_course_put_update_keeps_unspecified_fields)
{
	struct db *db = open_db(1);
	struct course_input in = { "CS101", "Intro", 30, true, 5 };
	ck_assert_int_eq(db_course_put(db, &in, NULL), ST_OK);
	struct course_input upd = { "CS101", NULL, 40, false, 0 };
	ck_assert_int_eq(db_course_put(db, &upd, NULL), ST_OK);
	struct course_table t;
	course_table_init(&t);
	ck_assert_int_eq(db_courses_load(db, &t, NULL), ST_OK);
	ck_assert_uint_eq(t.count, 1);
	ck_assert_str_eq(t.items[0].title, "Intro");
	ck_assert_int_eq(t.items[0].capacity, 40);
	ck_assert_int_eq(t.items[0].waitlist_max, 5);
	course_table_free(&t);
	struct course_input unl = { "CS101", "New", 40, true, WAITLIST_UNLIMITED };
	ck_assert_int_eq(db_course_put(db, &unl, NULL), ST_OK);
	course_table_init(&t);
	ck_assert_int_eq(db_courses_load(db, &t, NULL), ST_OK);
	ck_assert_str_eq(t.items[0].title, "New");
	ck_assert_int_eq(t.items[0].waitlist_max, WAITLIST_UNLIMITED);
	course_table_free(&t);
	db_close(db);
}
END_TEST

START_TEST(test_course_put_same_values_writes_nothing)
{
	struct db *db = open_db(1);
	struct course_input in = { "CS101", "Intro", 30, true, 5 };
	ck_assert_int_eq(db_course_put(db, &in, NULL), ST_OK);
	sqlite3 *h = raw_open();
	raw_exec(h, "UPDATE courses SET updated_at = 'marker'");
	sqlite3_close(h);
	ck_assert_int_eq(db_course_put(db, &in, NULL), ST_OK);
	char at[64];
	ck_assert_str_eq(query_text("SELECT updated_at FROM courses", at,
				    sizeof(at)),
			 "marker");
	in.capacity = 31;
	ck_assert_int_eq(db_course_put(db, &in, NULL), ST_OK);
	ck_assert(is_iso_utc(query_text("SELECT updated_at FROM courses", at,
					sizeof(at))));
	db_close(db);
}
END_TEST

static const struct spec five[] = {
	{ "S1", "A", "One", "s1@x.org", "CS101" },
	{ "S2", "B", "Two", "s2@x.org", "CS101" },
	{ "S3", "C", "Three", "s3@x.org", "CS101" },
	{ "S4", "D", "Four", "s4@x.org", "CS101" },
	{ "S5", "E", "Five", "s5@x.org", "CS101" },
};

static void expect_seat(const char *sid, int64_t seat)
{
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "SELECT seq FROM registrations WHERE student_id = '%s'"
		 " AND status = 'registered'",
		 sid);
	ck_assert_int_eq(query_int(sql), seat);
}

static void expect_position(const char *sid, int64_t position)
{
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "SELECT seq FROM registrations WHERE student_id = '%s'"
		 " AND status = 'waitlisted'",
		 sid);
	ck_assert_int_eq(query_int(sql), position);
}

START_TEST(test_capacity_growth_promotes_waitlist_in_order)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 1, WAITLIST_UNLIMITED);
	/* Waitlist order unlike key order, to catch sorting by id. */
	const struct spec roster[] = {
		{ "S5", "", "", "a@x.org", "CS101" },
		{ "S9", "", "", "b@x.org", "CS101" },
		{ "S1", "", "", "c@x.org", "CS101" },
		{ "S7", "", "", "d@x.org", "CS101" },
		{ "S3", "", "", "e@x.org", "CS101" },
	};
	run_roster(db, roster, 5, BATCH_COMMITTED, NULL);
	for (int i = 2; i <= 5; i++)
		expect_position(roster[i - 1].sid, i - 1);

	save_course(db, "CS101", 3, WAITLIST_UNLIMITED);
	expect_seat("S5", 1);
	expect_seat("S9", 2);
	expect_seat("S1", 3);
	expect_position("S7", 1);
	expect_position("S3", 2);
	int64_t registered, waitlisted;
	course_counts(db, "CS101", &registered, &waitlisted);
	ck_assert_int_eq(registered, 3);
	ck_assert_int_eq(waitlisted, 2);
	assert_consistent();

	save_course(db, "CS101", 10, WAITLIST_UNLIMITED);
	expect_seat("S7", 4);
	expect_seat("S3", 5);
	course_counts(db, "CS101", &registered, &waitlisted);
	ck_assert_int_eq(registered, 5);
	ck_assert_int_eq(waitlisted, 0);
	assert_consistent();

	/* Seats continue after the promoted ones. */
	struct spec s6 = { "S6", "F", "Six", "s6@x.org", "CS101" };
	struct row out;
	run_roster(db, &s6, 1, BATCH_COMMITTED, &out);
	expect(&out, STATUS_REGISTERED, 0);
	expect_seat("S6", 6);
	assert_consistent();
	db_close(db);
}
END_TEST

START_TEST(test_capacity_shrink_removes_nobody)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 3, WAITLIST_UNLIMITED);
	run_roster(db, five, 3, BATCH_COMMITTED, NULL);
	save_course(db, "CS101", 1, WAITLIST_UNLIMITED);
	int64_t registered, waitlisted;
	course_counts(db, "CS101", &registered, &waitlisted);
	ck_assert_int_eq(registered, 3);
	ck_assert_int_eq(waitlisted, 0);
	ck_assert_int_eq(query_int("SELECT count(*) FROM registrations"), 3);

	struct row out;
	run_roster(db, &five[3], 1, BATCH_COMMITTED, &out);
	expect(&out, STATUS_WAITLISTED, 1);
	/* Growing back to 3 frees no seat: 3 are still registered. */
	save_course(db, "CS101", 3, WAITLIST_UNLIMITED);
	expect_position("S4", 1);
	save_course(db, "CS101", 4, WAITLIST_UNLIMITED);
	expect_seat("S4", 4);
	assert_consistent();
	db_close(db);
}
END_TEST

START_TEST(test_course_puts_in_transaction_roll_back_together)
{
	struct db *db = open_db(1);
	ck_assert_int_eq(db_begin(db, NULL), ST_OK);
	put_course(db, "A", 1, 0);
	put_course(db, "B", 1, 0);
	struct course_input bad = { "bad\tcode", NULL, 1, false, 0 };
	ck_assert_int_eq(db_course_put(db, &bad, NULL), ST_USAGE);
	db_rollback(db);
	ck_assert_int_eq(query_int("SELECT count(*) FROM courses"), 0);

	ck_assert_int_eq(db_begin(db, NULL), ST_OK);
	put_course(db, "A", 1, 0);
	ck_assert_int_eq(db_course_put(db, &bad, NULL), ST_USAGE);
	put_course(db, "B", 1, 0);
	ck_assert_int_eq(db_commit(db, NULL), ST_OK);
	ck_assert_int_eq(query_int("SELECT count(*) FROM courses"), 2);
	db_close(db);
}
END_TEST

START_TEST(test_courses_load_orders_by_code)
{
	struct db *db = open_db(1);
	put_course(db, "b", 1, 0);
	put_course(db, "C", 1, 0);
	put_course(db, "A", 1, 0);
	struct course_table t;
	course_table_init(&t);
	ck_assert_int_eq(db_courses_load(db, &t, NULL), ST_OK);
	ck_assert_uint_eq(t.count, 3);
	ck_assert_str_eq(t.items[0].code, "A");
	ck_assert_str_eq(t.items[1].code, "C");
	ck_assert_str_eq(t.items[2].code, "b");
	ck_assert_ptr_eq(course_table_find(&t, "b", 1), &t.items[2]);
	course_table_free(&t);
	db_close(db);
}
END_TEST

/* ---- apply: every outcome ----------------------------------------------- */

START_TEST(test_apply_registers_in_seat_order)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 3, 0);
	struct batch b;
	batch_begin(db, &b);
	struct row out[3];
	for (int i = 0; i < 3; i++)
		batch_apply(db, &b, (uint64_t)i + 2, &five[i], &out[i]);
	struct course *c = course_table_find(&b.courses, "CS101", 5);
	ck_assert_int_eq(c->registered, 3);
	ck_assert(c->touched);
	batch_finish(db, &b, BATCH_COMMITTED);
	for (int i = 0; i < 3; i++)
		expect(&out[i], STATUS_REGISTERED, 0);
	expect_seat("S1", 1);
	expect_seat("S2", 2);
	expect_seat("S3", 3);
	ck_assert_int_eq(query_int("SELECT line FROM registrations WHERE"
				   " student_id = 'S3'"),
			 4);
	int64_t registered, waitlisted;
	course_counts(db, "CS101", &registered, &waitlisted);
	ck_assert_int_eq(registered, 3);
	ck_assert_int_eq(waitlisted, 0);
	assert_consistent();
	db_close(db);
}
END_TEST

START_TEST(test_apply_waitlists_with_positions)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 1, WAITLIST_UNLIMITED);
	struct row out[4];
	run_roster(db, five, 4, BATCH_COMMITTED, out);
	expect(&out[0], STATUS_REGISTERED, 0);
	expect(&out[1], STATUS_WAITLISTED, 1);
	expect(&out[2], STATUS_WAITLISTED, 2);
	expect(&out[3], STATUS_WAITLISTED, 3);
	int64_t registered, waitlisted;
	course_counts(db, "CS101", &registered, &waitlisted);
	ck_assert_int_eq(registered, 1);
	ck_assert_int_eq(waitlisted, 3);
	assert_consistent();
	db_close(db);
}
END_TEST

START_TEST(test_apply_already_registered_from_earlier_batch)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 5, 0);
	int64_t first = run_roster(db, five, 2, BATCH_COMMITTED, NULL);
	struct row out[2];
	run_roster(db, five, 2, BATCH_COMMITTED, out);
	expect(&out[0], STATUS_ALREADY_REGISTERED, 0);
	expect(&out[1], STATUS_ALREADY_REGISTERED, 0);
	char sql[96];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM registrations WHERE batch_id = %" PRId64,
		 first);
	ck_assert_int_eq(query_int(sql), 2);
	int64_t registered, waitlisted;
	course_counts(db, "CS101", &registered, &waitlisted);
	ck_assert_int_eq(registered, 2);
	assert_consistent();
	db_close(db);
}
END_TEST

START_TEST(test_apply_already_waitlisted_keeps_position)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 1, WAITLIST_UNLIMITED);
	run_roster(db, five, 3, BATCH_COMMITTED, NULL);
	struct row out[2];
	const struct spec again[] = { five[2], five[1] };
	run_roster(db, again, 2, BATCH_COMMITTED, out);
	expect(&out[0], STATUS_ALREADY_WAITLISTED, 2);
	expect(&out[1], STATUS_ALREADY_WAITLISTED, 1);
	int64_t registered, waitlisted;
	course_counts(db, "CS101", &registered, &waitlisted);
	ck_assert_int_eq(waitlisted, 2);
	assert_consistent();
	db_close(db);
}
END_TEST

START_TEST(test_apply_duplicate_in_same_roster_is_rejected)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 1, WAITLIST_UNLIMITED);
	const struct spec roster[] = {
		five[0], five[1], five[0], five[1],
	};
	struct row out[4];
	run_roster(db, roster, 4, BATCH_COMMITTED, out);
	expect(&out[0], STATUS_REGISTERED, 0);
	expect(&out[1], STATUS_WAITLISTED, 1);
	expect_reject(&out[2], REASON_DUPLICATE_IN_ROSTER,
		      "student S1 is already in CS101 from line 2");
	expect_reject(&out[3], REASON_DUPLICATE_IN_ROSTER,
		      "student S2 is already in CS101 from line 3");
	int64_t registered, waitlisted;
	course_counts(db, "CS101", &registered, &waitlisted);
	ck_assert_int_eq(registered, 1);
	ck_assert_int_eq(waitlisted, 1);
	assert_consistent();
	db_close(db);
}
END_TEST

START_TEST(test_apply_course_full_when_waitlist_full)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 1, 1);
	struct row out[3];
	run_roster(db, five, 3, BATCH_COMMITTED, out);
	expect(&out[0], STATUS_REGISTERED, 0);
	expect(&out[1], STATUS_WAITLISTED, 1);
	expect_reject(&out[2], REASON_COURSE_FULL,
		      "CS101 has no free seat (capacity 1) and its waitlist "
		      "is full (1)");
	assert_consistent();
	db_close(db);
}
END_TEST

START_TEST(test_apply_waitlist_zero_means_no_waitlist)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 1, 0);
	struct row out[2];
	run_roster(db, five, 2, BATCH_COMMITTED, out);
	expect(&out[0], STATUS_REGISTERED, 0);
	expect_reject(&out[1], REASON_COURSE_FULL,
		      "CS101 has no free seat (capacity 1) and no waitlist");
	db_close(db);
}
END_TEST

START_TEST(test_apply_capacity_zero_with_waitlist)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 0, 2);
	struct row out[3];
	run_roster(db, five, 3, BATCH_COMMITTED, out);
	expect(&out[0], STATUS_WAITLISTED, 1);
	expect(&out[1], STATUS_WAITLISTED, 2);
	expect_reject(&out[2], REASON_COURSE_FULL,
		      "CS101 has no free seat (capacity 0) and its waitlist "
		      "is full (2)");
	assert_consistent();
	db_close(db);
}
END_TEST

START_TEST(test_apply_capacity_boundaries)
{
	/* capacity, rows: exactly full and one over. */
	struct db *db = open_db(1);
	const int caps[] = { 0, 1, 4 };
	for (size_t k = 0; k < 3; k++) {
		char code[16];
		snprintf(code, sizeof(code), "K%d", caps[k]);
		put_course(db, code, caps[k], 0);
		struct spec specs[5];
		char sids[5][16];
		for (int i = 0; i <= caps[k]; i++) {
			snprintf(sids[i], sizeof(sids[i]), "B%d", i);
			specs[i] = (struct spec){ sids[i], "", "", "b@x.org", code };
		}
		struct row out[5];
		run_roster(db, specs, (size_t)caps[k] + 1, BATCH_COMMITTED, out);
		for (int i = 0; i < caps[k]; i++)
			expect(&out[i], STATUS_REGISTERED, 0);
		expect(&out[caps[k]], STATUS_REJECTED, 0);
		ck_assert_int_eq(out[caps[k]].reason, REASON_COURSE_FULL);
		int64_t registered, waitlisted;
		course_counts(db, code, &registered, &waitlisted);
		ck_assert_int_eq(registered, caps[k]);
		ck_assert_int_eq(waitlisted, 0);
	}
	assert_consistent();
	db_close(db);
}
END_TEST

START_TEST(test_full_course_still_recognises_known_students)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 1, 0);
	struct row out[3];
	run_roster(db, five, 1, BATCH_COMMITTED, out);
	const struct spec roster[] = { five[0], five[1] };
	run_roster(db, roster, 2, BATCH_COMMITTED, out);
	expect(&out[0], STATUS_ALREADY_REGISTERED, 0);
	expect(&out[1], STATUS_REJECTED, 0);
	ck_assert_int_eq(out[1].reason, REASON_COURSE_FULL);

	/* Full inside one batch: a repeat is a duplicate, not course_full. */
	put_course(db, "CS102", 1, 0);
	const struct spec dup[] = {
		{ "S7", "", "", "s7@x.org", "CS102" },
		{ "S7", "", "", "s7@x.org", "CS102" },
	};
	run_roster(db, dup, 2, BATCH_COMMITTED, out);
	expect(&out[0], STATUS_REGISTERED, 0);
	expect_reject(&out[1], REASON_DUPLICATE_IN_ROSTER,
		      "student S7 is already in CS102 from line 2");
	db_close(db);
}
END_TEST

START_TEST(test_rejected_rows_write_nothing)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 1, 0);
	const struct spec roster[] = {
		{ "S1", "Ann", "Lee", "ann@x.org", "CS101" },
		{ "S2", "Bob", "Ray", "bob@x.org", "CS101" },   /* full */
		{ "S1", "Zed", "Zed", "zed@x.org", "CS101" },   /* duplicate */
	};
	struct row out[3];
	run_roster(db, roster, 3, BATCH_COMMITTED, out);
	ck_assert_int_eq(out[1].status, STATUS_REJECTED);
	ck_assert_int_eq(out[2].status, STATUS_REJECTED);
	ck_assert_int_eq(query_int("SELECT count(*) FROM students"), 1);
	ck_assert_int_eq(query_int("SELECT count(*) FROM students WHERE"
				   " first_name = 'Ann' AND email = 'ann@x.org'"),
			 1);
	ck_assert_int_eq(query_int("SELECT count(*) FROM registrations"), 1);
	db_close(db);
}
END_TEST

START_TEST(test_one_student_in_many_courses)
{
	struct db *db = open_db(1);
	put_course(db, "A", 1, 0);
	put_course(db, "B", 1, 0);
	const struct spec roster[] = {
		{ "S1", "Ann", "", "ann@x.org", "A" },
		{ "S1", "Ann", "", "ann@x.org", "B" },
	};
	struct row out[2];
	run_roster(db, roster, 2, BATCH_COMMITTED, out);
	expect(&out[0], STATUS_REGISTERED, 0);
	expect(&out[1], STATUS_REGISTERED, 0);
	ck_assert_int_eq(query_int("SELECT count(*) FROM students"), 1);
	ck_assert_int_eq(query_int("SELECT count(*) FROM registrations"), 2);
	assert_consistent();
	db_close(db);
}
END_TEST

/* ---- students ----------------------------------------------------------- */

/* The batch skips writing a student whose values it already wrote; values
 * that change back and forth, or merge from partly empty rows, must still
 * end as the last row says. */
START_TEST(test_student_values_follow_every_row_in_one_batch)
{
	struct db *db = open_db(1);
	const char *courses[] = { "A", "B", "C", "D", "E", "F" };
	for (size_t i = 0; i < 6; i++)
		put_course(db, courses[i], 5, 0);
	const struct spec rows[] = {
		{ "S1", "Ann", "Lee", "ann@x.org", "A" },
		{ "S1", "Bob", "Lee", "ann@x.org", "B" },   /* changes */
		{ "S1", "Ann", "Lee", "ann@x.org", "C" },   /* and back */
		{ "S1", "", "Smith", "", "D" },             /* merges */
		{ "S1", "Ann", "Lee", "ann@x.org", "E" },   /* must win again */
	};
	char buf[96];
	run_roster(db, rows, 5, BATCH_COMMITTED, NULL);
	ck_assert_str_eq(query_text("SELECT first_name || '|' || last_name ||"
				    " '|' || email FROM students",
				    buf, sizeof(buf)),
			 "Ann|Lee|ann@x.org");
	const struct spec merge[] = {
		{ "S1", "Ann", "Lee", "ann@x.org", "F" },
		{ "S1", "", "Smith", "", "A" }, /* already_registered: merges */
	};
	run_roster(db, merge, 2, BATCH_COMMITTED, NULL);
	ck_assert_str_eq(query_text("SELECT first_name || '|' || last_name ||"
				    " '|' || email FROM students",
				    buf, sizeof(buf)),
			 "Ann|Smith|ann@x.org");
	db_close(db);
}
END_TEST

/* Rows found already registered look a student up once and remember the
 * values as seen; a later write (a change, a merge) must make the next row
 * look again, or the student would keep the wrong values. */
START_TEST(test_rerun_student_values_follow_every_row)
{
	struct db *db = open_db(1);
	const char *courses[] = { "A", "B", "C", "D" };
	for (size_t i = 0; i < 4; i++)
		put_course(db, courses[i], 5, 0);
	const struct spec first[] = {
		{ "S1", "Ann", "Lee", "ann@x.org", "A" },
		{ "S1", "Ann", "Lee", "ann@x.org", "B" },
		{ "S1", "Ann", "Lee", "ann@x.org", "C" },
		{ "S1", "Ann", "Lee", "ann@x.org", "D" },
	};
	const char *names = "SELECT first_name || '|' || last_name || '|' ||"
			    " email FROM students";
	char buf[96];
	run_roster(db, first, 4, BATCH_COMMITTED, NULL);
	const struct spec flip[] = {
		{ "S1", "Ann", "Lee", "ann@x.org", "A" },   /* seen equal */
		{ "S1", "Bob", "Lee", "ann@x.org", "B" },   /* changes */
		{ "S1", "Ann", "Lee", "ann@x.org", "C" },   /* and back */
	};
	struct row out[3];
	run_roster(db, flip, 3, BATCH_COMMITTED, out);
	for (size_t i = 0; i < 3; i++)
		expect(&out[i], STATUS_ALREADY_REGISTERED, 0);
	ck_assert_str_eq(query_text(names, buf, sizeof(buf)), "Ann|Lee|ann@x.org");
	const struct spec to_bob[] = {
		{ "S1", "Ann", "Lee", "ann@x.org", "A" },
		{ "S1", "Bob", "Lee", "ann@x.org", "B" },
	};
	run_roster(db, to_bob, 2, BATCH_COMMITTED, NULL);
	ck_assert_str_eq(query_text(names, buf, sizeof(buf)), "Bob|Lee|ann@x.org");
	const struct spec merge[] = {
		{ "S1", "Bob", "Lee", "ann@x.org", "A" },   /* seen equal */
		{ "S1", "", "Smith", "", "B" },             /* merges */
		{ "S1", "Bob", "Lee", "ann@x.org", "C" },   /* must win again */
		{ "S1", "Bob", "Lee", "ann@x.org", "D" },   /* seen: nothing */
	};
	run_roster(db, merge, 4, BATCH_COMMITTED, NULL);
	ck_assert_str_eq(query_text(names, buf, sizeof(buf)), "Bob|Lee|ann@x.org");
	db_close(db);
}
END_TEST

START_TEST(test_student_upsert_takes_only_non_empty_values)
{
	struct db *db = open_db(1);
	put_course(db, "A", 5, 0);
	put_course(db, "B", 5, 0);
	const struct spec first = { "S1", "Ann", "Lee", "ann@x.org", "A" };
	int64_t b1 = run_roster(db, &first, 1, BATCH_COMMITTED, NULL);
	char sql[160], buf[64];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM students WHERE created_batch = %" PRId64,
		 b1);
	ck_assert_int_eq(query_int(sql), 1);

	const struct spec second = { "S1", "", "Smith", "", "B" };
	int64_t b2 = run_roster(db, &second, 1, BATCH_COMMITTED, NULL);
	ck_assert_str_eq(query_text("SELECT first_name || '|' || last_name ||"
				    " '|' || email FROM students",
				    buf, sizeof(buf)),
			 "Ann|Smith|ann@x.org");
	(void)b2;
	ck_assert_int_eq(query_int(sql), 1); /* still created by the first */

	/* An already_registered row updates details too. */
	const struct spec third = { "S1", "Anna", "", "anna@x.org", "A" };
	struct row out;
	run_roster(db, &third, 1, BATCH_COMMITTED, &out);
	expect(&out, STATUS_ALREADY_REGISTERED, 0);
	ck_assert_str_eq(query_text("SELECT first_name || '|' || last_name ||"
				    " '|' || email FROM students",
				    buf, sizeof(buf)),
			 "Anna|Smith|anna@x.org");
	db_close(db);
}
END_TEST

START_TEST(test_rerun_of_same_roster_changes_nothing)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 2, WAITLIST_UNLIMITED);
	put_course(db, "CS102", 1, 0);
	const struct spec roster[] = {
		five[0], five[1], five[2],
		{ "S4", "D", "Four", "s4@x.org", "CS102" },
		{ "S5", "E", "Five", "s5@x.org", "CS102" },
	};
	run_roster(db, roster, 5, BATCH_COMMITTED, NULL);
	/* A marker, since a fast re-run may share the millisecond. */
	sqlite3 *h = raw_open();
	raw_exec(h, "UPDATE courses SET updated_at = 'marker'");
	sqlite3_close(h);
	char *before = dump(false);
	struct row out[5];
	run_roster(db, roster, 5, BATCH_COMMITTED, out);
	char *after = dump(false);
	ck_assert_str_eq(before, after);
	expect(&out[0], STATUS_ALREADY_REGISTERED, 0);
	expect(&out[2], STATUS_ALREADY_WAITLISTED, 1);
	expect(&out[4], STATUS_REJECTED, 0);
	free(before);
	free(after);
	db_close(db);
}
END_TEST

START_TEST(test_values_are_stored_byte_for_byte)
{
	struct db *db = open_db(1);
	put_course(db, "A", 5, 0);
	struct batch b;
	batch_begin(db, &b);
	struct spec s = { "S1", "Zoë", "x", "z@x.org", "A" };
	struct row row;
	row_fill(&row, 2, &s, &b.courses);
	/* A full-length value, and one whose buffer runs past its length. */
	memset(row.v[FIELD_LAST_NAME].text, 'L', ROW_VALUE_MAX);
	row.v[FIELD_LAST_NAME].text[ROW_VALUE_MAX] = '\0';
	row.v[FIELD_LAST_NAME].len = ROW_VALUE_MAX;
	memcpy(row.v[FIELD_EMAIL].text, "z@x.orgGARBAGE", 15);
	ck_assert_int_eq(db_batch_apply(db, &b, &row, NULL), ST_OK);
	outcome_counts_add(&b.counts, &row);
	batch_finish(db, &b, BATCH_COMMITTED);
	ck_assert_int_eq(query_int("SELECT length(CAST(last_name AS BLOB))"
				   " FROM students"),
			 ROW_VALUE_MAX);
	char buf[64];
	ck_assert_str_eq(query_text("SELECT email FROM students", buf,
				    sizeof(buf)),
			 "z@x.org");
	ck_assert_str_eq(query_text("SELECT first_name FROM students", buf,
				    sizeof(buf)),
			 "Zoë");
	db_close(db);
}
END_TEST

/* ---- finishing: dry run, rollback, abort -------------------------------- */

static void seed(struct db *db)
{
	put_course(db, "CS101", 2, WAITLIST_UNLIMITED);
	put_course(db, "CS102", 1, 0);
	run_roster(db, five, 3, BATCH_COMMITTED, NULL);
}

/* New students, a name change, seats, waitlist and a full course. */
static const struct spec second_roster[] = {
	{ "S1", "Alice", "", "", "CS101" },
	{ "S6", "F", "Six", "s6@x.org", "CS101" },
	{ "S7", "G", "Seven", "s7@x.org", "CS102" },
	{ "S8", "H", "Eight", "s8@x.org", "CS102" },
	{ "S6", "F", "Six", "s6@x.org", "CS101" },
};

static void check_undone(enum batch_outcome outcome)
{
	struct db *db = open_db(1);
	seed(db);
	char *before = dump(false);
	struct row out[5];
	int64_t id = run_roster(db, second_roster, 5, outcome, out);
	expect(&out[0], STATUS_ALREADY_REGISTERED, 0);
	expect(&out[1], STATUS_WAITLISTED, 2);
	expect(&out[2], STATUS_REGISTERED, 0);
	expect(&out[3], STATUS_REJECTED, 0);
	expect(&out[4], STATUS_REJECTED, 0);
	char *after = dump(false);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);

	struct history h;
	list_batches(db, &h);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_int_eq(h.b[1].id, id);
	ck_assert_int_eq(h.b[1].outcome, outcome);
	ck_assert(h.b[1].finished);
	ck_assert_int_eq(h.b[1].counts.rows, 5);
	ck_assert_int_eq(h.b[1].counts.by_status[STATUS_REGISTERED], 1);
	ck_assert_int_eq(h.b[1].counts.by_status[STATUS_WAITLISTED], 1);
	ck_assert_int_eq(h.b[1].counts.by_status[STATUS_ALREADY_REGISTERED], 1);
	ck_assert_int_eq(h.b[1].counts.by_status[STATUS_REJECTED], 2);
	ck_assert_int_eq(h.b[1].counts.by_reason[REASON_COURSE_FULL], 1);
	ck_assert_int_eq(h.b[1].counts.by_reason[REASON_DUPLICATE_IN_ROSTER], 1);
	assert_consistent();

	/* The next batch sees the old counters. */
	struct row again[5];
	run_roster(db, second_roster, 5, BATCH_COMMITTED, again);
	expect(&again[1], STATUS_WAITLISTED, 2);
	assert_consistent();
	db_close(db);
}

START_TEST(test_dry_run_changes_only_history)
{
	check_undone(BATCH_DRY_RUN);
}
END_TEST

START_TEST(test_rolled_back_changes_only_history)
{
	check_undone(BATCH_ROLLED_BACK);
}
END_TEST

START_TEST(test_abort_records_nothing)
{
	struct db *db = open_db(1);
	seed(db);
	char *before = dump(true);
	struct batch b;
	batch_begin(db, &b);
	for (size_t i = 0; i < 5; i++)
		batch_apply(db, &b, i + 2, &second_roster[i], NULL);
	db_batch_abort(db);
	policy_free(b.policy);
	course_table_free(&b.courses);
	char *after = dump(true);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	ck_assert_int_eq(query_int("SELECT count(*) FROM batches"), 1);
	/* The connection is usable afterwards. */
	run_roster(db, second_roster, 1, BATCH_COMMITTED, NULL);
	ck_assert_int_eq(query_int("SELECT count(*) FROM batches"), 2);
	db_close(db);
}
END_TEST

START_TEST(test_abort_without_batch_is_harmless)
{
	struct db *db = open_db(1);
	db_batch_abort(db);
	db_batch_abort(NULL);
	put_course(db, "A", 1, 0);
	ck_assert_int_eq(query_int("SELECT count(*) FROM courses"), 1);
	db_close(db);
}
END_TEST

START_TEST(test_abort_leaves_other_transactions_alone)
{
	struct db *db = open_db(1);
	ck_assert_int_eq(db_begin(db, NULL), ST_OK);
	put_course(db, "A", 1, 0);
	db_batch_abort(db);
	ck_assert_int_eq(db_commit(db, NULL), ST_OK);
	ck_assert_int_eq(query_int("SELECT count(*) FROM courses"), 1);
	db_close(db);
}
END_TEST

START_TEST(test_commit_without_changes_still_records_batch)
{
	struct db *db = open_db(1);
	put_course(db, "A", 1, 0);
	struct batch b;
	batch_begin(db, &b);
	batch_finish(db, &b, BATCH_COMMITTED);
	struct history h;
	list_batches(db, &h);
	ck_assert_uint_eq(h.n, 1);
	ck_assert_int_eq(h.b[0].counts.rows, 0);
	ck_assert_int_eq(query_int("SELECT reasons = '{}' FROM batches"), 1);
	db_close(db);
}
END_TEST

/* ---- locking ------------------------------------------------------------ */

START_TEST(test_batch_begin_waits_then_reports_busy)
{
	struct db *db = open_db(0.2);
	put_course(db, "A", 1, 0);
	sqlite3 *h = raw_open();
	raw_exec(h, "BEGIN IMMEDIATE");
	struct course_table t;
	course_table_init(&t);
	struct batch_meta meta = { .source = "roster.csv" };
	struct error err = { "" };
	int64_t id = 0;
	double t0 = now_seconds();
	enum status st = db_batch_begin(db, &meta, &id, &t, &err);
	double waited = now_seconds() - t0;
	ck_assert_int_eq(st, ST_BUSY);
	char want[ERROR_MAX];
	snprintf(want, sizeof(want),
		 "%s: database is locked by another process (waited 0.2 s)", path);
	ck_assert_str_eq(err.msg, want);
	ck_assert_double_ge(waited, 0.15);
	ck_assert_double_lt(waited, 3.0);
	raw_exec(h, "ROLLBACK");
	sqlite3_close(h);
	course_table_free(&t);

	ck_assert_int_eq(query_int("SELECT count(*) FROM batches"), 0);
	/* Once the lock is gone the same connection works. */
	struct batch b;
	batch_begin(db, &b);
	batch_finish(db, &b, BATCH_COMMITTED);
	ck_assert_int_eq(query_int("SELECT count(*) FROM batches"), 1);
	db_close(db);
}
END_TEST

START_TEST(test_open_batch_blocks_other_writers)
{
	struct db *db = open_db(1);
	put_course(db, "A", 1, 0);
	struct batch b;
	batch_begin(db, &b);
	struct db *other = open_db(0.1);
	struct course_input in = { "B", NULL, 1, false, 0 };
	struct error err = { "" };
	ck_assert_int_eq(db_course_put(other, &in, &err), ST_BUSY);
	batch_finish(db, &b, BATCH_COMMITTED);
	ck_assert_int_eq(db_course_put(other, &in, &err), ST_OK);
	db_close(other);
	db_close(db);
}
END_TEST

/* ---- listings ----------------------------------------------------------- */

START_TEST(test_roster_lists_seats_then_waitlist)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 2, WAITLIST_UNLIMITED);
	/* Ids in an order unlike roster order, to catch sorting by key. */
	const struct spec roster[] = {
		{ "Z9", "Zed", "Last", "z@x.org", "CS101" },
		{ "A1", "Amy", "First", "a@x.org", "CS101" },
		{ "M5", "Max", "Mid", "m@x.org", "CS101" },
		{ "B2", "Bea", "Bee", "b@x.org", "CS101" },
	};
	int64_t id = run_roster(db, roster, 4, BATCH_COMMITTED, NULL);
	const struct spec late = { "C3", "Cy", "", "c@x.org", "CS101" };
	int64_t id2 = run_roster(db, &late, 1, BATCH_COMMITTED, NULL);

	struct listing l;
	list_roster(db, "CS101", &l);
	ck_assert_uint_eq(l.n, 5);
	const char *order[] = { "Z9", "A1", "M5", "B2", "C3" };
	for (int i = 0; i < 5; i++)
		ck_assert_str_eq(l.e[i].sid, order[i]);
	ck_assert_int_eq(l.e[0].status, STATUS_REGISTERED);
	ck_assert_int_eq(l.e[0].position, 0);
	ck_assert_int_eq(l.e[1].status, STATUS_REGISTERED);
	ck_assert_int_eq(l.e[2].status, STATUS_WAITLISTED);
	ck_assert_int_eq(l.e[2].position, 1);
	ck_assert_int_eq(l.e[3].position, 2);
	ck_assert_int_eq(l.e[4].position, 3);
	ck_assert_str_eq(l.e[0].first, "Zed");
	ck_assert_str_eq(l.e[0].last, "Last");
	ck_assert_str_eq(l.e[0].email, "z@x.org");
	ck_assert_int_eq(l.e[0].batch_id, id);
	ck_assert_int_eq(l.e[3].line, 5);
	ck_assert_int_eq(l.e[4].batch_id, id2);
	ck_assert_int_eq(l.e[4].line, 2);
	db_close(db);
}
END_TEST

START_TEST(test_roster_of_unknown_course_is_not_found)
{
	struct db *db = open_db(1);
	struct listing l;
	memset(&l, 0, sizeof(l));
	struct error err = { "" };
	ck_assert_int_eq(db_course_roster(db, "NOPE", collect_roster, &l, &err),
			 ST_NOTFOUND);
	ck_assert_str_eq(err.msg, "no course 'NOPE'");
	ck_assert_uint_eq(l.n, 0);
	db_close(db);
}
END_TEST

START_TEST(test_roster_of_empty_course_lists_nothing)
{
	struct db *db = open_db(1);
	put_course(db, "A", 1, 0);
	struct listing l;
	list_roster(db, "A", &l);
	ck_assert_uint_eq(l.n, 0);
	db_close(db);
}
END_TEST

START_TEST(test_roster_callback_can_stop)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 5, 0);
	run_roster(db, five, 5, BATCH_COMMITTED, NULL);
	struct listing l;
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	ck_assert_int_eq(db_course_roster(db, "CS101", collect_roster, &l, NULL),
			 ST_IO);
	ck_assert_uint_eq(l.n, 2);
	db_close(db);
}
END_TEST

START_TEST(test_batches_list_counts_reasons_and_metadata)
{
	struct db *db = open_db(1);
	put_course(db, "CS101", 1, 1);
	const struct spec roster[] = { five[0], five[1], five[2], five[0] };
	struct batch b;
	batch_begin(db, &b);
	for (size_t i = 0; i < 4; i++)
		batch_apply(db, &b, i + 2, &roster[i], NULL);
	/* Rejections from validation arrive counted by the caller. */
	b.counts.rows += 2;
	b.counts.by_status[STATUS_REJECTED] += 2;
	b.counts.by_reason[REASON_INVALID_EMAIL] += 2;
	batch_finish(db, &b, BATCH_COMMITTED);

	struct batch_meta meta = { .source = "stdin" };
	struct course_table t;
	course_table_init(&t);
	int64_t id2 = 0;
	ck_assert_int_eq(db_batch_begin(db, &meta, &id2, &t, NULL), ST_OK);
	ck_assert_int_eq(db_batch_finish(db, id2, BATCH_DRY_RUN, NULL, NULL, NULL),
			 ST_OK);
	course_table_free(&t);

	struct history h;
	list_batches(db, &h);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_int_lt(h.b[0].id, h.b[1].id);
	ck_assert_int_eq(h.b[0].outcome, BATCH_COMMITTED);
	ck_assert_str_eq(h.b[0].source, "roster.csv");
	ck_assert(h.b[0].has_label);
	ck_assert_str_eq(h.b[0].label, "test");
	ck_assert_str_eq(h.b[0].sha, SHA_HEX);
	ck_assert(is_iso_utc(h.b[0].started));
	ck_assert(h.b[0].finished);
	const struct outcome_counts *c = &h.b[0].counts;
	ck_assert_int_eq(c->rows, 6);
	ck_assert_int_eq(c->by_status[STATUS_REGISTERED], 1);
	ck_assert_int_eq(c->by_status[STATUS_WAITLISTED], 1);
	ck_assert_int_eq(c->by_status[STATUS_ALREADY_REGISTERED], 0);
	ck_assert_int_eq(c->by_status[STATUS_REJECTED], 4);
	ck_assert_int_eq(c->by_reason[REASON_COURSE_FULL], 1);
	ck_assert_int_eq(c->by_reason[REASON_DUPLICATE_IN_ROSTER], 1);
	ck_assert_int_eq(c->by_reason[REASON_INVALID_EMAIL], 2);
	ck_assert_int_eq(c->by_reason[REASON_UNKNOWN_COURSE], 0);

	ck_assert_int_eq(h.b[1].outcome, BATCH_DRY_RUN);
	ck_assert_str_eq(h.b[1].source, "stdin");
	ck_assert(!h.b[1].has_label);
	ck_assert(!h.b[1].has_sha);
	ck_assert_int_eq(h.b[1].counts.rows, 0);

	char json[256];
	ck_assert_str_eq(query_text("SELECT reasons FROM batches ORDER BY id",
				    json, sizeof(json)),
			 "{\"invalid_email\":2,\"duplicate_in_roster\":1,"
			 "\"course_full\":1}");
	db_close(db);
}
END_TEST

START_TEST(test_batches_list_reads_foreign_reasons_json)
{
	struct db *db = open_db(1);
	struct batch b;
	batch_begin(db, &b);
	batch_finish(db, &b, BATCH_COMMITTED);
	sqlite3 *h = raw_open();
	raw_exec(h, "UPDATE batches SET reasons ="
		    " ' { \"course_full\" : 3 , \"from_the_future\": 9,"
		    " \"invalid_characters\":1 } '");
	sqlite3_close(h);
	struct history hist;
	list_batches(db, &hist);
	ck_assert_int_eq(hist.b[0].counts.by_reason[REASON_COURSE_FULL], 3);
	ck_assert_int_eq(hist.b[0].counts.by_reason[REASON_INVALID_CHARACTERS], 1);

	h = raw_open();
	raw_exec(h, "UPDATE batches SET reasons = '{\"course_full\" 3}'");
	sqlite3_close(h);
	memset(&hist, 0, sizeof(hist));
	struct error err = { "" };
	ck_assert_int_eq(db_batches_list(db, collect_batch, &hist, &err), ST_DB);
	ck_assert_ptr_nonnull(strstr(err.msg, "reasons"));
	/* Not an object, or a count that is not a whole number. */
	static const char *const bad[] = {
		"UPDATE batches SET reasons = '[1, 2]'",
		"UPDATE batches SET reasons = '{\"course_full\": \"3\"}'",
		"UPDATE batches SET reasons = '{\"course_full\": 1.5}'",
		"UPDATE batches SET reasons = '7'",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h = raw_open();
		raw_exec(h, bad[i]);
		sqlite3_close(h);
		memset(&hist, 0, sizeof(hist));
		ck_assert_msg(db_batches_list(db, collect_batch, &hist, &err) == ST_DB,
			      "%s", bad[i]);
	}
	/* An empty object is no reasons. */
	h = raw_open();
	raw_exec(h, "UPDATE batches SET reasons = ' {} '");
	sqlite3_close(h);
	memset(&hist, 0, sizeof(hist));
	ck_assert_int_eq(db_batches_list(db, collect_batch, &hist, &err), ST_OK);
	ck_assert_int_eq(hist.b[0].counts.by_reason[REASON_COURSE_FULL], 0);
	db_close(db);
}
END_TEST

/* Issue 13: DB_OPEN_EXISTING creates nothing, and says how to create it. */
START_TEST(test_open_existing_creates_nothing)
{
	char missing[600];
	snprintf(missing, sizeof(missing), "%s.missing", path);
	struct db *db = NULL;
	struct error err = {0};
	ck_assert_int_eq(db_open(missing, 1, DB_OPEN_EXISTING, &db, &err),
			 ST_NOTFOUND);
	ck_assert_ptr_null(db);
	ck_assert_ptr_nonnull(strstr(err.msg, "no database at "));
	ck_assert_ptr_nonnull(strstr(err.msg, "create it with 'bulkreg init'"));
	ck_assert_int_eq(access(missing, F_OK), -1);
	/* An existing one opens as usual. */
	db = open_db(1);
	db_close(db);
	ck_assert_int_eq(db_open(path, 1, DB_OPEN_EXISTING, &db, &err), ST_OK);
	db_close(db);
}
END_TEST

START_TEST(test_batches_list_callback_can_stop)
{
	struct db *db = open_db(1);
	for (int i = 0; i < 3; i++) {
		struct batch b;
		batch_begin(db, &b);
		batch_finish(db, &b, BATCH_COMMITTED);
	}
	struct history h;
	memset(&h, 0, sizeof(h));
	h.stop_after = 1;
	ck_assert_int_eq(db_batches_list(db, collect_batch, &h, NULL), ST_IO);
	ck_assert_uint_eq(h.n, 1);
	/* The callback's own message is the listing's error (issue 13). */
	memset(&h, 0, sizeof(h));
	h.stop_after = 2;
	struct error err = {0};
	ck_assert_int_eq(db_batches_list(db, collect_batch, &h, &err), ST_IO);
	ck_assert_str_eq(err.msg, "batches stopped after 2");
	db_close(db);
}
END_TEST

/* ---- a full disk -------------------------------------------------------- */

START_TEST(test_disk_full_during_batch_is_io_and_changes_nothing)
{
	struct db *db = open_db(1);
	seed(db);
	put_course(db, "BIG", COURSE_CAPACITY_MAX, 0);
	db_close(db);
	char *before = dump(true);
	char limit[32];
	snprintf(limit, sizeof(limit), "%" PRId64,
		 query_int("PRAGMA page_count") + 8);
	setenv("BULKREG_TEST_MAX_PAGE_COUNT", limit, 1);
	db = open_db(1);

	struct batch b;
	batch_begin(db, &b);
	struct error err = { "" };
	enum status st = ST_OK;
	struct row row;
	struct spec s = { NULL, "First", "Last", "someone@example.org", "BIG" };
	char sid[32];
	int applied = 0;
	for (; applied < 100000 && st == ST_OK; applied++) {
		snprintf(sid, sizeof(sid), "X%016" PRIx64,
			 splitmix64((uint64_t)applied));
		s.sid = sid;
		row_fill(&row, (uint64_t)applied + 2, &s, &b.courses);
		st = db_batch_apply(db, &b, &row, &err);
	}
	if (st == ST_OK)
		st = batch_close(&b, &err);
	else
		policy_free(b.policy);
	if (st == ST_OK)
		st = db_batch_flush(db, &err);
	if (st == ST_OK)
		st = db_batch_finish(db, b.id, BATCH_COMMITTED, &b.counts,
				     NULL, &err);
	else
		db_batch_abort(db);
	course_table_free(&b.courses);
	/* In apply, or at the flush: the batch's cache (db_store.c) writes
	 * its pairs and students in key order at the batch's end. */
	ck_assert_int_eq(st, ST_IO);
	ck_assert_int_le(applied, 100000);
	ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "full") != NULL, "%s", err.msg);
	db_close(db);
	unsetenv("BULKREG_TEST_MAX_PAGE_COUNT");

	char *after = dump(true);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	assert_consistent();
}
END_TEST

/* ---- timing (figures, not assertions) --------------------------------- */

static void set_value(struct row *row, enum row_field f, const char *s,
		      size_t len)
{
	memcpy(row->v[f].text, s, len);
	row->v[f].text[len] = '\0';
	row->v[f].len = (uint32_t)len;
}

/* Writes 12 hex digits of x into out. */
static void hex12(char *out, uint64_t x)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 11; i >= 0; i--, x >>= 4)
		out[i] = digits[x & 15];
}

/*
 * BULKREG_TEST_BATCH_ROWS=1000000 build/tests/check_db prints how long that
 * many synthetic rows take through begin/apply/flush/finish: 200 courses,
 * random-looking student ids, each student in two courses.  Without the
 * variable the test does nothing.
 */
START_TEST(test_timing_of_a_large_batch)
{
	long rows = env_long("BULKREG_TEST_BATCH_ROWS", 0);
	if (rows == 0)
		return;
	struct db *db = open_db(5);
	ck_assert_int_eq(db_begin(db, NULL), ST_OK);
	for (int i = 0; i < 200; i++) {
		char code[16];
		snprintf(code, sizeof(code), "C%03d", i);
		put_course(db, code, rows / 150 + 1, WAITLIST_UNLIMITED);
	}
	ck_assert_int_eq(db_commit(db, NULL), ST_OK);

	double t0 = now_seconds();
	struct batch b;
	batch_begin(db, &b);
	struct row row;
	memset(&row, 0, sizeof(row));
	row.nfields = FIELD_COUNT;
	set_value(&row, FIELD_FIRST_NAME, "Firstname", 9);
	set_value(&row, FIELD_LAST_NAME, "Lastname", 8);
	char sid[] = "S000000000000";
	char email[] = "s000000000000@example.edu";
	char code[] = "C000";
	struct error err = { "" };
	for (long i = 0; i < rows; i++) {
		uint64_t student = splitmix64((uint64_t)i / 2);
		hex12(sid + 1, student);
		hex12(email + 1, student);
		int c = (int)(splitmix64((uint64_t)i ^ 0x5555) % 200);
		code[1] = (char)('0' + c / 100);
		code[2] = (char)('0' + c / 10 % 10);
		code[3] = (char)('0' + c % 10);
		set_value(&row, FIELD_STUDENT_ID, sid, sizeof(sid) - 1);
		set_value(&row, FIELD_EMAIL, email, sizeof(email) - 1);
		set_value(&row, FIELD_COURSE, code, sizeof(code) - 1);
		row.line = (uint64_t)i + 2;
		row.status = STATUS_NONE;
		row.course = course_table_find(&b.courses, code, 4);
		ck_assert_int_eq(db_batch_apply(db, &b, &row, &err), ST_OK);
		outcome_counts_add(&b.counts, &row);
	}
	double t1 = now_seconds();
	ck_assert_int_eq(db_batch_flush(db, &err), ST_OK);
	double t2 = now_seconds();
	batch_finish(db, &b, BATCH_COMMITTED);
	double t3 = now_seconds();
	db_close(db);
	printf("timing: %ld rows: apply %.2f s, flush %.2f s, finish %.2f s; "
	       "total %.2f s (%.0f rows/s)\n",
	       rows, t1 - t0, t2 - t1, t3 - t2, t3 - t0,
	       (double)rows / (t3 - t0));
}
END_TEST


/* ---- security (issue 14) ------------------------------------------------ */

static mode_t mode_of(const char *p)
{
	struct stat sb;
	ck_assert_int_eq(stat(p, &sb), 0);
	return sb.st_mode & 07777;
}

START_TEST(test_new_database_mode_is_exact_whatever_the_umask)
{
	mode_t old = umask(0);
	db_close(open_db(1));
	umask(old);
	ck_assert_uint_eq(mode_of(path), DB_MODE_PRIVATE);

	char group[320];
	snprintf(group, sizeof(group), "%s/group.db", dir);
	struct db *db = NULL;
	struct error err = { "" };
	old = umask(077);
	ck_assert_int_eq(db_open(group, 1, DB_MODE_GROUP, &db, &err), ST_OK);
	umask(old);
	db_close(db);
	ck_assert_uint_eq(mode_of(group), DB_MODE_GROUP);

	/* An existing database keeps its mode. */
	ck_assert_int_eq(chmod(path, 0644), 0);
	db_close(open_db(1));
	ck_assert_uint_eq(mode_of(path), 0644);
}
END_TEST

/* Opens path expecting ST_DB with `want` in the message. */
static void expect_refused(const char *want)
{
	struct db *db = NULL;
	struct error err = { "" };
	ck_assert_int_eq(db_open(path, 1, 0, &db, &err), ST_DB);
	ck_assert_ptr_null(db);
	ck_assert_msg(strstr(err.msg, want), "'%s' lacks '%s'", err.msg, want);
}

START_TEST(test_files_of_another_user_are_refused)
{
	if (geteuid() != 0)
		return; /* cannot give a file away */
	db_close(open_db(1));
	char wal[320];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	FILE *f = fopen(wal, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(chown(wal, 65534, (gid_t)-1), 0);
	expect_refused("-wal: owned by user 65534");
	ck_assert_int_eq(chown(wal, 0, (gid_t)-1), 0); /* root's: accepted */
	db_close(open_db(1));
	unlink(wal);
	ck_assert_int_eq(chown(path, 65534, (gid_t)-1), 0);
	expect_refused("reg.db: owned by user 65534");
}
END_TEST

START_TEST(test_symbolic_link_is_refused)
{
	char real[320];
	snprintf(real, sizeof(real), "%s/real.db", dir);
	ck_assert_int_eq(symlink(real, path), 0);
	expect_refused("is a symbolic link");
}
END_TEST

START_TEST(test_uri_is_a_file_name)
{
	ck_assert_int_eq(chdir(dir), 0);
	struct db *db = NULL;
	struct error err = { "" };
	ck_assert_int_eq(db_open("file:u.db?mode=memory", 1, 0, &db, &err),
			 ST_OK);
	db_close(db);
	struct stat sb;
	ck_assert_int_eq(stat("file:u.db?mode=memory", &sb), 0);
	ck_assert_int_ne(stat("u.db", &sb), 0);
}
END_TEST

START_TEST(test_planted_objects_are_refused_by_name)
{
	db_close(open_db(1));
	sqlite3 *h = raw_open();
	raw_exec(h, "CREATE TABLE loot (e TEXT);"
		    "CREATE TRIGGER steal AFTER INSERT ON students BEGIN"
		    " INSERT INTO loot VALUES (new.email); END;"
		    "CREATE VIEW v AS SELECT 1;"
		    "CREATE INDEX ix ON registrations (line);");
	sqlite3_close(h);
	expect_refused("4 objects bulkreg did not create, or changed since "
		       "(table loot, trigger steal on students, view v, index "
		       "ix on registrations)");
}
END_TEST

START_TEST(test_planted_trigger_on_old_schema_is_refused_before_upgrade)
{
	/* Version 0 expects nothing at all. */
	sqlite3 *h = raw_open();
	raw_exec(h, "CREATE TABLE t (x); CREATE TRIGGER g AFTER INSERT ON t"
		    " BEGIN SELECT 1; END;");
	sqlite3_close(h);
	expect_refused("trigger g on t");
	ck_assert_int_eq(query_int("PRAGMA user_version"), 0);
}
END_TEST

static bool always(void *ctx)
{
	(void)ctx;
	return true;
}

START_TEST(test_long_statement_stops_when_cancelled)
{
	struct db *db = open_db(1);
	struct error err = { "" };
	ck_assert_int_eq(db_begin(db, &err), ST_OK);
	for (int i = 0; i < 3000; i++) {
		char code[16];
		snprintf(code, sizeof(code), "C%d", i);
		put_course(db, code, 1, 0);
	}
	ck_assert_int_eq(db_commit(db, &err), ST_OK);
	db_set_cancel(db, always, NULL);
	struct course_table t;
	course_table_init(&t);
	ck_assert_int_eq(db_courses_load(db, &t, &err), ST_CANCELLED);
	ck_assert_ptr_nonnull(strstr(err.msg, "interrupted"));
	course_table_free(&t);
	db_set_cancel(db, NULL, NULL);
	course_table_init(&t);
	ck_assert_int_eq(db_courses_load(db, &t, &err), ST_OK);
	ck_assert_uint_eq(t.count, 3000);
	course_table_free(&t);
	db_close(db);
}
END_TEST

static Suite *db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("open");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_creates_schema_version_3);
	tcase_add_test(tc, test_open_again_keeps_schema_and_data);
	tcase_add_test(tc, test_open_newer_schema_is_too_new);
	tcase_add_test(tc, test_open_text_file_is_not_a_database);
	tcase_add_test(tc, test_open_read_only_file_cannot_write);
	tcase_add_test(tc, test_open_in_read_only_directory_cannot_write);
	tcase_add_test(tc, test_open_directory_is_refused);
	tcase_add_test(tc, test_open_in_missing_directory_names_it);
	tcase_add_test(tc, test_open_busy_while_another_process_creates);
	tcase_add_test(tc, test_open_racing_creators_all_succeed);
	suite_add_tcase(s, tc);

	tc = tcase_create("security");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_database_mode_is_exact_whatever_the_umask);
	tcase_add_test(tc, test_files_of_another_user_are_refused);
	tcase_add_test(tc, test_symbolic_link_is_refused);
	tcase_add_test(tc, test_uri_is_a_file_name);
	tcase_add_test(tc, test_planted_objects_are_refused_by_name);
	tcase_add_test(tc, test_planted_trigger_on_old_schema_is_refused_before_upgrade);
	tcase_add_test(tc, test_long_statement_stops_when_cancelled);
	suite_add_tcase(s, tc);

	tc = tcase_create("courses");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_course_put_rejects_bad_codes);
	tcase_add_test(tc, test_course_put_capacity_bounds);
	tcase_add_test(tc, test_course_put_waitlist_bounds);
	tcase_add_test(tc, test_course_put_creates_with_defaults);
	tcase_add_test(tc, test_course_put_update_keeps_unspecified_fields);
	tcase_add_test(tc, test_course_put_same_values_writes_nothing);
	tcase_add_test(tc, test_capacity_growth_promotes_waitlist_in_order);
	tcase_add_test(tc, test_capacity_shrink_removes_nobody);
	tcase_add_test(tc, test_course_puts_in_transaction_roll_back_together);
	tcase_add_test(tc, test_courses_load_orders_by_code);
	suite_add_tcase(s, tc);

	tc = tcase_create("apply");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_apply_registers_in_seat_order);
	tcase_add_test(tc, test_apply_waitlists_with_positions);
	tcase_add_test(tc, test_apply_already_registered_from_earlier_batch);
	tcase_add_test(tc, test_apply_already_waitlisted_keeps_position);
	tcase_add_test(tc, test_apply_duplicate_in_same_roster_is_rejected);
	tcase_add_test(tc, test_apply_course_full_when_waitlist_full);
	tcase_add_test(tc, test_apply_waitlist_zero_means_no_waitlist);
	tcase_add_test(tc, test_apply_capacity_zero_with_waitlist);
	tcase_add_test(tc, test_apply_capacity_boundaries);
	tcase_add_test(tc, test_full_course_still_recognises_known_students);
	tcase_add_test(tc, test_rejected_rows_write_nothing);
	tcase_add_test(tc, test_one_student_in_many_courses);
	tcase_add_test(tc, test_rerun_student_values_follow_every_row);
	tcase_add_test(tc, test_student_upsert_takes_only_non_empty_values);
	tcase_add_test(tc, test_student_values_follow_every_row_in_one_batch);
	tcase_add_test(tc, test_rerun_of_same_roster_changes_nothing);
	tcase_add_test(tc, test_values_are_stored_byte_for_byte);
	suite_add_tcase(s, tc);

	tc = tcase_create("finish");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_dry_run_changes_only_history);
	tcase_add_test(tc, test_rolled_back_changes_only_history);
	tcase_add_test(tc, test_abort_records_nothing);
	tcase_add_test(tc, test_abort_without_batch_is_harmless);
	tcase_add_test(tc, test_abort_leaves_other_transactions_alone);
	tcase_add_test(tc, test_commit_without_changes_still_records_batch);
	tcase_add_test(tc, test_batch_begin_waits_then_reports_busy);
	tcase_add_test(tc, test_open_batch_blocks_other_writers);
	tcase_add_test(tc, test_disk_full_during_batch_is_io_and_changes_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("listings");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_roster_lists_seats_then_waitlist);
	tcase_add_test(tc, test_roster_of_unknown_course_is_not_found);
	tcase_add_test(tc, test_roster_of_empty_course_lists_nothing);
	tcase_add_test(tc, test_roster_callback_can_stop);
	tcase_add_test(tc, test_batches_list_counts_reasons_and_metadata);
	tcase_add_test(tc, test_batches_list_reads_foreign_reasons_json);
	tcase_add_test(tc, test_batches_list_callback_can_stop);
	tcase_add_test(tc, test_open_existing_creates_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("timing");
	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_timing_of_a_large_batch);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(db_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
