/* db_batch: a registration batch -- one transaction, one decision per row. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db_internal.h"

/*
 * Per row, the common case is two statements: insert the registration (ON
 * CONFLICT DO NOTHING tells whether the pair was new), then upsert the
 * student.  Foreign keys are switched off for the batch's transaction:
 * with them on, a registration inserted before its new student leaves a
 * pending deferred violation, and SQLite then scans all of registrations
 * (no index leads with student_id) for every new student -- quadratic --
 * and each row would also pay three parent lookups.  The batch keeps the
 * references true by construction: courses come from the table it loaded,
 * the batch row is inserted first, and a registration is always followed
 * by its student's upsert before the row is done.
 */
static const char find_reg_sql[] =
	"SELECT status, seq, batch_id, line FROM registrations"
	" WHERE course_id = ?1 AND student_id = ?2";

/* A student's stored values, looked up only when a row found registered
 * might change them and the memo cannot vouch that they are the same. */
static const char find_student_sql[] =
	"SELECT first_name, last_name, email FROM students WHERE student_id = ?1";

static const char add_reg_sql[] =
	"INSERT INTO registrations"
	" (course_id, student_id, status, seq, batch_id, line)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING";

/* Only non-empty values overwrite, and only when they differ, so running
 * the same roster again writes nothing here.  (No "updated in batch N"
 * column: a roster that spells a student two ways would rewrite it on
 * every re-run, and a re-run must change nothing.) */
#define KEEP_UNLESS_NEW(col)                                            \
	col " = CASE WHEN excluded." col " <> '' THEN excluded." col \
	    " ELSE " col " END"
#define CHANGES(col) \
	"(excluded." col " <> '' AND excluded." col " <> " col ")"

static const char put_student_sql[] =
	"INSERT INTO students"
	" (student_id, first_name, last_name, email, created_batch)"
	" VALUES (?1, ?2, ?3, ?4, ?5)"
	" ON CONFLICT (student_id) DO UPDATE SET "
	KEEP_UNLESS_NEW("first_name") ", "
	KEEP_UNLESS_NEW("last_name") ", "
	KEEP_UNLESS_NEW("email")
	" WHERE " CHANGES("first_name") " OR " CHANGES("last_name")
	" OR " CHANGES("email");

/*
 * A pair registered by an earlier batch can come up twice in one roster:
 * the first row is already_*, the next is a repeat (duplicate_in_roster).
 * The registration itself cannot tell them apart without writing to it,
 * so such rows are noted in a temporary table -- the database's own index
 * again, so memory stays flat however long the roster is.
 */
/* Its own page cache: on a re-run it holds a key per row, and a spilling
 * temp file costs more than the lookups. Within the process's memory budget
 * beside the main cache (see db.c). */
static const char create_seen_sql[] =
	"PRAGMA temp.cache_size = -32768;"
	"CREATE TEMP TABLE IF NOT EXISTS batch_seen ("
	" course_id INTEGER, student_id TEXT, line INTEGER,"
	" PRIMARY KEY (course_id, student_id)) WITHOUT ROWID";

static const char mark_seen_sql[] =
	"INSERT INTO temp.batch_seen (course_id, student_id, line)"
	" VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";

static const char find_seen_sql[] =
	"SELECT line FROM temp.batch_seen WHERE course_id = ?1 AND student_id = ?2";

static const char store_counts_sql[] =
	"UPDATE courses SET registered = ?2, waitlisted = ?3,"
	" updated_at = " DB_NOW_SQL " WHERE id = ?1";

static const char finish_batch_sql[] =
	"UPDATE batches SET outcome = ?2, finished_at = " DB_NOW_SQL ","
	" sha256 = ?3, rows = ?4, registered = ?5, waitlisted = ?6,"
	" already_registered = ?7, already_waitlisted = ?8, rejected = ?9,"
	" reasons = ?10 WHERE id = ?1";

static const char status_registered[] = "registered";
static const char status_waitlisted[] = "waitlisted";

/* ---- statements --------------------------------------------------------- */

void db__batch_close(struct db *db)
{
	sqlite3_stmt **all[] = {
		&db->find_reg, &db->find_student, &db->add_reg,
		&db->put_student, &db->mark_seen, &db->find_seen,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		sqlite3_finalize(*all[i]);
		*all[i] = NULL;
	}
}

static enum status batch_prepare(struct db *db, struct error *err)
{
	if (db->find_reg)
		return ST_OK;
	/* The temp table must exist before statements naming it compile. */
	enum status st = db__exec(db, create_seen_sql, "preparing the batch", err);
	if (st != ST_OK)
		return st;
	const struct {
		const char *sql;
		sqlite3_stmt **stmt;
	} list[] = {
		{ find_reg_sql, &db->find_reg },
		{ find_student_sql, &db->find_student },
		{ add_reg_sql, &db->add_reg },
		{ put_student_sql, &db->put_student },
		{ mark_seen_sql, &db->mark_seen },
		{ find_seen_sql, &db->find_seen },
	};
	for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
		st = db__prepare(db, list[i].sql, SQLITE_PREPARE_PERSISTENT,
				 list[i].stmt, err);
		if (st != ST_OK) {
			db__batch_close(db);
			return st;
		}
	}
	return ST_OK;
}

/* ---- begin -------------------------------------------------------------- */

/* Back to the connection's normal state once no transaction is open. */
static void batch_end(struct db *db)
{
	sqlite3_exec(db->h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	db->batch_courses = NULL;
	free(db->memo);
	db->memo = NULL;
}

/*
 * The student memo: which students this batch has written, or looked up
 * and found equal to a row, with which values -- a fixed-size,
 * direct-mapped table of 64-bit fingerprints of
 * (student_id, first_name, last_name, email), keyed with a per-batch random
 * seed so no roster can aim for a collision.  A roster names most students
 * several times; when a row's values are exactly those the memo holds for
 * its student, the stored row already holds them: the student statement
 * (or, on a re-run, the look-up) would change nothing and is skipped.  Only
 * a cache: a miss (or an evicted slot) just runs the statement, and
 * duplicates are still found by the database's own index.  Its size is
 * fixed, whatever the roster's length.
 */
#define MEMO_SLOTS (1u << 20) /* 8 MiB */

static int value_len(const struct row *row, enum row_field f);

static uint64_t memo_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xBF58476D1CE4E5B9);
	x ^= x >> 27;
	x *= UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

static uint64_t memo_hash(uint64_t h, const char *s, size_t len)
{
	uint64_t w;
	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = memo_mix(h ^ w) + UINT64_C(0x9E3779B97F4A7C15);
	}
	w = (uint64_t)len << 56; /* the length separates the fields */
	memcpy(&w, s, len);
	return memo_mix(h ^ w) + UINT64_C(0x9E3779B97F4A7C15);
}

static uint64_t memo_seed(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30);
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		uint64_t r;
		if (read(fd, &r, sizeof(r)) == (ssize_t)sizeof(r))
			seed ^= r;
		close(fd);
	}
	return memo_mix(seed ^ (uint64_t)getpid());
}

static size_t memo_slot_of(const struct db *db, const struct row *row)
{
	uint64_t id = memo_hash(db->memo_seed, row->v[FIELD_STUDENT_ID].text,
				value_len(row, FIELD_STUDENT_ID));
	return (size_t)(id & (MEMO_SLOTS - 1));
}

/* Slot and fingerprint of a row's student; false when some value is empty
 * (the stored values are then a merge this memo cannot know). */
static bool memo_key(const struct db *db, const struct row *row,
		     size_t *slot, uint64_t *fp)
{
	const enum row_field fields[] = { FIELD_FIRST_NAME, FIELD_LAST_NAME,
					  FIELD_EMAIL };
	size_t at = memo_slot_of(db, row);
	uint64_t h = memo_hash(db->memo_seed ^ UINT64_C(0x5851F42D4C957F2D),
			       row->v[FIELD_STUDENT_ID].text,
			       value_len(row, FIELD_STUDENT_ID));
	for (size_t i = 0; i < 3; i++) {
		size_t len = (size_t)value_len(row, fields[i]);
		if (len == 0)
			return false;
		h = memo_hash(h, row->v[fields[i]].text, len);
	}
	*slot = at;
	*fp = h | 1; /* never 0, which marks an empty slot */
	return true;
}

static enum status batch_record(struct db *db, const struct batch_meta *meta,
				int64_t *batch_id, struct error *err)
{
	static const char sql[] =
		"INSERT INTO batches (started_at, source, label, outcome)"
		" VALUES (" DB_NOW_SQL ", ?1, ?2, 'running')";
	sqlite3_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqlite3_bind_text(stmt, 1, meta->source ? meta->source : "", -1,
			  SQLITE_STATIC);
	if (meta->label)
		sqlite3_bind_text(stmt, 2, meta->label, -1, SQLITE_STATIC);
	st = db__step_done(db, stmt, "recording the batch", err);
	sqlite3_finalize(stmt);
	if (st == ST_OK)
		*batch_id = sqlite3_last_insert_rowid(db->h);
	return st;
}

enum status db_batch_begin(struct db *db, const struct batch_meta *meta,
			   int64_t *batch_id, struct course_table *courses,
			   struct error *err)
{
	enum status st = batch_prepare(db, err);
	if (st != ST_OK)
		return st;
	/* A no-op inside a transaction, so it goes first (see the top). */
	st = db__exec(db, "PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE",
		      "starting the batch", err);
	if (st != ST_OK) {
		batch_end(db);
		return st;
	}
	st = batch_record(db, meta, batch_id, err);
	if (st == ST_OK)
		st = db__exec(db, "DELETE FROM temp.batch_seen; SAVEPOINT batch_rows",
			      "starting the batch", err);
	if (st == ST_OK)
		st = db_courses_load(db, courses, err);
	if (st != ST_OK) {
		db_rollback(db);
		batch_end(db);
		return st;
	}
	db->batch_courses = courses;
	/* Without memory for the memo the batch only runs slower. */
	db->memo = calloc(MEMO_SLOTS, sizeof(*db->memo));
	db->memo_seed = memo_seed();
	return ST_OK;
}

/* ---- apply: the hot path ------------------------------------------------ */

static int value_len(const struct row *row, enum row_field f)
{
	uint32_t len = row->v[f].len;
	return len > ROW_VALUE_MAX ? ROW_VALUE_MAX : (int)len;
}

static void bind_value(sqlite3_stmt *stmt, int i, const struct row *row,
		       enum row_field f)
{
	sqlite3_bind_text(stmt, i, row->v[f].text, value_len(row, f),
			  SQLITE_STATIC);
}

static enum status row_fail(struct db *db, int rc, const struct row *row,
			    const char *doing, struct error *err)
{
	char what[96];
	snprintf(what, sizeof(what), "line %" PRIu64 ": %s", row->line, doing);
	return db__fail(db, rc, what, err);
}

struct existing {
	bool found;
	bool waitlisted;
	int64_t seq, batch_id, line;
};

static bool differs_from(sqlite3_stmt *stmt, int col, const struct row *row,
			 enum row_field f)
{
	int len = value_len(row, f);
	if (len == 0)
		return false; /* empty roster values never overwrite */
	return sqlite3_column_bytes(stmt, col) != len ||
	       memcmp(sqlite3_column_blob(stmt, col), row->v[f].text,
		      (size_t)len) != 0;
}

static enum status find_registration(struct db *db, const struct row *row,
				     struct existing *ex, struct error *err)
{
	sqlite3_stmt *stmt = db->find_reg;
	sqlite3_bind_int64(stmt, 1, row->course->id);
	bind_value(stmt, 2, row, FIELD_STUDENT_ID);
	int rc = sqlite3_step(stmt);
	ex->found = rc == SQLITE_ROW;
	if (ex->found) {
		const unsigned char *status = sqlite3_column_text(stmt, 0);
		ex->waitlisted = status && status[0] == 'w';
		ex->seq = sqlite3_column_int64(stmt, 1);
		ex->batch_id = sqlite3_column_int64(stmt, 2);
		ex->line = sqlite3_column_int64(stmt, 3);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ?
		       ST_OK :
		       row_fail(db, rc, row, "looking up the registration", err);
}

static enum status run_put_student(struct db *db, int64_t batch_id,
				   const struct row *row, struct error *err)
{
	sqlite3_stmt *stmt = db->put_student;
	bind_value(stmt, 1, row, FIELD_STUDENT_ID);
	bind_value(stmt, 2, row, FIELD_FIRST_NAME);
	bind_value(stmt, 3, row, FIELD_LAST_NAME);
	bind_value(stmt, 4, row, FIELD_EMAIL);
	sqlite3_bind_int64(stmt, 5, batch_id);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ?
		       ST_OK :
		       row_fail(db, rc, row, "writing the student", err);
}

/* The row's place in the memo: `keyed` false when it has none (see
 * memo_key); `known` when the memo vouches that the stored student already
 * holds the row's values. */
struct memo_ref {
	bool keyed, known;
	size_t slot;
	uint64_t fp;
};

static struct memo_ref memo_ref_of(const struct db *db, const struct row *row)
{
	struct memo_ref m = {0};
	m.keyed = db->memo && memo_key(db, row, &m.slot, &m.fp);
	m.known = m.keyed && db->memo[m.slot] == m.fp;
	return m;
}

/* Inserts or updates the row's student and notes what the memo now knows. */
static enum status write_student(struct db *db, int64_t batch_id,
				 const struct row *row, const struct memo_ref *m,
				 struct error *err)
{
	enum status st = run_put_student(db, batch_id, row, err);
	if (st == ST_OK && db->memo) {
		if (m->keyed)
			db->memo[m->slot] = m->fp;
		else
			db->memo[memo_slot_of(db, row)] = 0; /* merged: unknown */
	}
	return st;
}

/* Inserts or updates the row's student, unless the memo vouches for it. */
static enum status put_student(struct db *db, int64_t batch_id,
			       const struct row *row, struct error *err)
{
	struct memo_ref m = memo_ref_of(db, row);
	return m.known ? ST_OK : write_student(db, batch_id, row, &m, err);
}

/* For a row found registered: updates its student only if a non-empty
 * value differs from the stored one.  The memo answers for a student whose
 * stored values this batch already wrote or saw equal to the row's; a
 * look-up that finds them equal is noted there, so a student named on many
 * rows of a re-run is looked up once. */
static enum status refresh_student(struct db *db, int64_t batch_id,
				   const struct row *row, struct error *err)
{
	struct memo_ref m = memo_ref_of(db, row);
	if (m.known)
		return ST_OK;
	sqlite3_stmt *stmt = db->find_student;
	bind_value(stmt, 1, row, FIELD_STUDENT_ID);
	int rc = sqlite3_step(stmt);
	bool changes = true; /* no stored student cannot happen: write it */
	if (rc == SQLITE_ROW) {
		changes = differs_from(stmt, 0, row, FIELD_FIRST_NAME) ||
			  differs_from(stmt, 1, row, FIELD_LAST_NAME) ||
			  differs_from(stmt, 2, row, FIELD_EMAIL);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return row_fail(db, rc, row, "looking up the student", err);
	if (changes)
		return write_student(db, batch_id, row, &m, err);
	if (m.keyed)
		db->memo[m.slot] = m.fp;
	return ST_OK;
}

static enum status add_registration(struct db *db, int64_t batch_id,
				    const struct row *row, bool waitlisted,
				    int64_t seq, struct error *err)
{
	sqlite3_stmt *stmt = db->add_reg;
	sqlite3_bind_int64(stmt, 1, row->course->id);
	bind_value(stmt, 2, row, FIELD_STUDENT_ID);
	if (waitlisted)
		sqlite3_bind_text(stmt, 3, status_waitlisted,
				  sizeof(status_waitlisted) - 1, SQLITE_STATIC);
	else
		sqlite3_bind_text(stmt, 3, status_registered,
				  sizeof(status_registered) - 1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, seq);
	sqlite3_bind_int64(stmt, 5, batch_id);
	sqlite3_bind_int64(stmt, 6, (sqlite3_int64)row->line);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ?
		       ST_OK :
		       row_fail(db, rc, row, "writing the registration", err);
}

/* The pair is already there: a repeat within this roster, or a student
 * registered by an earlier batch. */
static void reject_duplicate(struct row *row, int64_t first_line)
{
	row_reject(row, REASON_DUPLICATE_IN_ROSTER,
		   "student %.*s is already in %s from line %" PRId64,
		   value_len(row, FIELD_STUDENT_ID), row->v[FIELD_STUDENT_ID].text,
		   row->course->code, first_line);
}

/* Notes that this roster matched an earlier batch's registration; sets
 * *first_line when an earlier row of this roster already did. */
static enum status mark_seen(struct db *db, const struct row *row,
			     int64_t *first_line, struct error *err)
{
	sqlite3_stmt *stmt = db->mark_seen;
	sqlite3_bind_int64(stmt, 1, row->course->id);
	bind_value(stmt, 2, row, FIELD_STUDENT_ID);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)row->line);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	*first_line = 0;
	if (rc != SQLITE_DONE)
		return row_fail(db, rc, row, "noting the row", err);
	if (sqlite3_changes(db->h) == 1)
		return ST_OK;
	stmt = db->find_seen;
	sqlite3_bind_int64(stmt, 1, row->course->id);
	bind_value(stmt, 2, row, FIELD_STUDENT_ID);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*first_line = sqlite3_column_int64(stmt, 0);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? ST_OK
				 : row_fail(db, rc, row, "looking up the row", err);
}

static enum status apply_existing(struct db *db, int64_t batch_id,
				  struct row *row, const struct existing *ex,
				  struct error *err)
{
	if (ex->batch_id == batch_id) {
		reject_duplicate(row, ex->line);
		return ST_OK;
	}
	int64_t first_line;
	enum status st = mark_seen(db, row, &first_line, err);
	if (st != ST_OK)
		return st;
	if (first_line) {
		reject_duplicate(row, first_line);
		return ST_OK;
	}
	st = refresh_student(db, batch_id, row, err);
	if (st != ST_OK)
		return st;
	row->status = ex->waitlisted ? STATUS_ALREADY_WAITLISTED :
				       STATUS_ALREADY_REGISTERED;
	row->position = ex->waitlisted ? ex->seq : 0;
	return ST_OK;
}

static void reject_full(struct row *row)
{
	const struct course *c = row->course;
	if (c->waitlist_max == 0)
		row_reject(row, REASON_COURSE_FULL,
			   "%s has no free seat (capacity %" PRId64
			   ") and no waitlist",
			   c->code, c->capacity);
	else
		row_reject(row, REASON_COURSE_FULL,
			   "%s has no free seat (capacity %" PRId64
			   ") and its waitlist is full (%" PRId64 ")",
			   c->code, c->capacity, c->waitlist_max);
}

/* Takes seat or waitlist place `seq` when the pair is new (*inserted). */
static enum status try_insert(struct db *db, int64_t batch_id, struct row *row,
			      bool seat, int64_t seq, bool *inserted,
			      struct error *err)
{
	enum status st = add_registration(db, batch_id, row, !seat, seq, err);
	*inserted = st == ST_OK && sqlite3_changes(db->h) == 1;
	if (!*inserted)
		return st;
	st = put_student(db, batch_id, row, err);
	if (st != ST_OK)
		return st;
	struct course *c = row->course;
	if (seat)
		c->registered = seq;
	else
		c->waitlisted = seq;
	c->touched = true;
	row->status = seat ? STATUS_REGISTERED : STATUS_WAITLISTED;
	row->position = seat ? 0 : seq;
	return ST_OK;
}

enum status db_batch_apply(struct db *db, int64_t batch_id, struct row *row,
			   struct error *err)
{
	struct course *c = row->course;
	if (!c || !db->batch_courses)
		abort(); /* no course resolved, or no batch open */

	bool seat = c->registered < c->capacity;
	bool wait = c->waitlist_max < 0 || c->waitlisted < c->waitlist_max;
	struct existing ex = {0};
	enum status st;
	/*
	 * Most rows of a first run are new pairs: insert first and let the
	 * conflict say otherwise.  Most rows of a re-run are not: once the
	 * previous row found its pair registered, look up first, which then
	 * settles the row in one statement.  Either order gives the same
	 * outcome; only the cost differs.
	 */
	if (db->expect_existing || !(seat || wait)) {
		st = find_registration(db, row, &ex, err);
		if (st != ST_OK)
			return st;
	}
	if (!ex.found && (seat || wait)) {
		int64_t seq = seat ? c->registered + 1 : c->waitlisted + 1;
		bool inserted;
		st = try_insert(db, batch_id, row, seat, seq, &inserted, err);
		if (st != ST_OK || inserted) {
			db->expect_existing = false;
			return st;
		}
		st = find_registration(db, row, &ex, err);
		if (st != ST_OK)
			return st;
	}
	db->expect_existing = ex.found;
	if (ex.found)
		return apply_existing(db, batch_id, row, &ex, err);
	reject_full(row);
	return ST_OK;
}

enum status db_batch_flush(struct db *db, struct error *err)
{
	/* The failed write's errno (EFBIG under ulimit -f, ENOSPC, EIO) is
	 * not recorded on the handle by this call; the failing write is
	 * its last system call, so errno still holds it. */
	errno = 0;
	int rc = sqlite3_db_cacheflush(db->h);
	int sys = errno;
	return rc == SQLITE_OK ? ST_OK :
				 db__fail_errno(db, rc, sys, "writing the batch", err);
}

/* ---- finish ------------------------------------------------------------- */

static enum status store_course_counts(struct db *db, struct error *err)
{
	const struct course_table *t = db->batch_courses;
	sqlite3_stmt *stmt = NULL;
	enum status st = db__prepare(db, store_counts_sql, 0, &stmt, err);
	for (size_t i = 0; st == ST_OK && i < t->count; i++) {
		const struct course *c = &t->items[i];
		if (!c->touched)
			continue;
		sqlite3_bind_int64(stmt, 1, c->id);
		sqlite3_bind_int64(stmt, 2, c->registered);
		sqlite3_bind_int64(stmt, 3, c->waitlisted);
		st = db__step_done(db, stmt, "storing course counts", err);
	}
	sqlite3_finalize(stmt);
	return st;
}

/* {"reason": n, ...} for the reasons rejected rows had; "{}" for none. */
static void reasons_json(const struct outcome_counts *counts, char *buf,
			 size_t size)
{
	size_t used = (size_t)snprintf(buf, size, "{");
	const char *sep = "";
	for (int r = REASON_NONE + 1; r < REASON_COUNT && used < size; r++) {
		if (counts->by_reason[r] == 0)
			continue;
		used += (size_t)snprintf(buf + used, size - used,
					 "%s\"%s\":%" PRId64, sep,
					 row_reason_name((enum row_reason)r),
					 counts->by_reason[r]);
		sep = ",";
	}
	if (used < size)
		snprintf(buf + used, size - used, "}");
}

static enum status complete_record(struct db *db, int64_t batch_id,
				   enum batch_outcome outcome,
				   const struct outcome_counts *counts,
				   const char *sha256_hex, struct error *err)
{
	static const struct outcome_counts none;
	if (!counts)
		counts = &none;
	/* Every reason at 20 digits fits easily. */
	char reasons[REASON_COUNT * 48 + 8];
	reasons_json(counts, reasons, sizeof(reasons));

	sqlite3_stmt *stmt = NULL;
	enum status st = db__prepare(db, finish_batch_sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, batch_id);
	sqlite3_bind_text(stmt, 2, batch_outcome_name(outcome), -1,
			  SQLITE_STATIC);
	if (sha256_hex)
		sqlite3_bind_text(stmt, 3, sha256_hex, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, counts->rows);
	sqlite3_bind_int64(stmt, 5, counts->by_status[STATUS_REGISTERED]);
	sqlite3_bind_int64(stmt, 6, counts->by_status[STATUS_WAITLISTED]);
	sqlite3_bind_int64(stmt, 7,
			   counts->by_status[STATUS_ALREADY_REGISTERED]);
	sqlite3_bind_int64(stmt, 8,
			   counts->by_status[STATUS_ALREADY_WAITLISTED]);
	sqlite3_bind_int64(stmt, 9, counts->by_status[STATUS_REJECTED]);
	sqlite3_bind_text(stmt, 10, reasons, -1, SQLITE_STATIC);
	st = db__step_done(db, stmt, "completing the batch record", err);
	sqlite3_finalize(stmt);
	return st;
}

enum status db_batch_finish(struct db *db, int64_t batch_id,
			    enum batch_outcome outcome,
			    const struct outcome_counts *counts,
			    const char *sha256_hex, struct error *err)
{
	if (!db->batch_courses)
		abort(); /* no batch open */
	enum status st;
	if (outcome == BATCH_COMMITTED) {
		st = store_course_counts(db, err);
		if (st == ST_OK)
			st = complete_record(db, batch_id, outcome, counts,
					     sha256_hex, err);
		if (st == ST_OK)
			st = db__exec(db, "RELEASE batch_rows",
				      "committing the batch", err);
	} else {
		st = db__exec(db, "ROLLBACK TO batch_rows; RELEASE batch_rows",
			      "undoing the batch", err);
		if (st == ST_OK)
			st = complete_record(db, batch_id, outcome, counts,
					     sha256_hex, err);
	}
	if (st == ST_OK)
		st = db__exec(db, "COMMIT", "committing the batch", err);
	if (st != ST_OK)
		db_rollback(db);
	batch_end(db);
	return st;
}

void db_batch_abort(struct db *db)
{
	/* Only a batch's transaction: a db_begin one is not ours to end. */
	if (!db || !db->batch_courses)
		return;
	db_rollback(db);
	batch_end(db);
}
