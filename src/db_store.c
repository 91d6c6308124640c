/* db_store: the SQLite store behind store.h -- the per-row statements of a batch. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db_internal.h"
#include "splitmix.h"
#include "store.h"

/*
 * Foreign keys are switched off for a batch's transaction (db_batch.c):
 * with them on, a registration inserted before its new student leaves a
 * pending deferred violation, and SQLite then scans all of registrations
 * (no index leads with student_id) for every new student -- quadratic.
 * The policy keeps the references true by construction: courses come from
 * the table the batch loaded, the batch row is inserted first, and a
 * registration is always followed by its student's write before the row
 * is done.
 */
enum stmt_id {
	S_FIND_REG,
	S_ADD_REG,
	S_UPDATE_REG,
	S_SET_REG,
	S_DELETE_REG,
	S_WAITLIST,
	S_WAIT_AT,
	S_UNNAMED,
	S_MARK_SEEN,
	S_FIND_SEEN,
	S_MARK_NAMED,
	S_ADD_STUDENT,
	S_FIND_STUDENT,
	S_UPDATE_STUDENT,
	S_HISTORY,
	S_SNAPSHOT,
	S_COUNTS,
	S_COUNT
};

/*
 * A pair registered by an earlier batch can come up twice in one roster:
 * the first row is already_*, the next is a repeat (duplicate_in_roster).
 * The registration cannot tell them apart without writing to it, so such
 * rows are noted in a temporary table -- the database's own index again,
 * so memory stays flat however long the roster is.  batch_named holds the
 * pairs that rejected rows named, which --sync must keep.  Their own page
 * cache: on a re-run batch_seen holds a key per row.
 */
static const char create_temp_sql[] =
	"CREATE TEMP TABLE IF NOT EXISTS batch_seen ("
	" course_id INTEGER, student_id TEXT, line INTEGER,"
	" PRIMARY KEY (course_id, student_id)) WITHOUT ROWID;"
	"CREATE TEMP TABLE IF NOT EXISTS batch_named ("
	" course_id INTEGER, student_id TEXT,"
	" PRIMARY KEY (course_id, student_id)) WITHOUT ROWID";

static const char *const stmt_sql[S_COUNT] = {
	[S_FIND_REG] = "SELECT status, seq, batch_id, line FROM registrations"
		       " WHERE course_id = ?1 AND student_id = ?2",
	[S_ADD_REG] = "INSERT INTO registrations"
		      " (course_id, student_id, status, seq, batch_id, line)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
	[S_UPDATE_REG] = "UPDATE registrations SET status = ?3, seq = ?4"
			 " WHERE course_id = ?1 AND student_id = ?2",
	[S_SET_REG] = "INSERT INTO registrations"
		      " (course_id, student_id, status, seq, batch_id, line)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		      " ON CONFLICT (course_id, student_id) DO UPDATE SET"
		      " status = excluded.status, seq = excluded.seq,"
		      " batch_id = excluded.batch_id, line = excluded.line",
	[S_DELETE_REG] = "DELETE FROM registrations"
			 " WHERE course_id = ?1 AND student_id = ?2",
	[S_WAITLIST] = "SELECT student_id, seq, batch_id, line"
			 " FROM registrations WHERE course_id = ?1"
			 " AND status = 'waitlisted' ORDER BY seq",
	[S_WAIT_AT] = "SELECT student_id FROM registrations"
		      " WHERE course_id = ?1 AND status = 'waitlisted'"
		      " ORDER BY seq LIMIT 1",
	[S_UNNAMED] = "SELECT student_id, status, seq, batch_id, line"
		      " FROM registrations AS r"
		      " WHERE course_id = ?1 AND batch_id <> ?2"
		      " AND NOT EXISTS (SELECT 1 FROM temp.batch_seen AS s"
		      "  WHERE s.course_id = ?1 AND s.student_id = r.student_id)"
		      " AND NOT EXISTS (SELECT 1 FROM temp.batch_named AS n"
		      "  WHERE n.course_id = ?1 AND n.student_id = r.student_id)"
		      " ORDER BY status <> 'registered', seq",
	[S_MARK_SEEN] = "INSERT INTO temp.batch_seen (course_id, student_id, line)"
			" VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
	[S_FIND_SEEN] = "SELECT line FROM temp.batch_seen"
			" WHERE course_id = ?1 AND student_id = ?2",
	[S_MARK_NAMED] = "INSERT INTO temp.batch_named (course_id, student_id)"
			 " VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	[S_ADD_STUDENT] = "INSERT INTO students"
			  " (student_id, first_name, last_name, email,"
			  " created_batch) VALUES (?1, ?2, ?3, ?4, ?5)"
			  " ON CONFLICT DO NOTHING",
	[S_FIND_STUDENT] = "SELECT first_name, last_name, email FROM students"
			   " WHERE student_id = ?1",
	[S_UPDATE_STUDENT] = "UPDATE students SET first_name = ?2,"
			     " last_name = ?3, email = ?4 WHERE student_id = ?1",
	[S_HISTORY] = "INSERT INTO history (batch_id, event, course_id,"
		      " student_id, line, old_status, old_seq, old_batch,"
		      " old_line, new_status, new_seq, old_first_name,"
		      " old_last_name, old_email, new_first_name, new_last_name,"
		      " new_email) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
		      " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
	[S_SNAPSHOT] = "INSERT INTO batch_courses (batch_id, course_id, title,"
		       " capacity, waitlist_max, registered, waitlisted,"
		       " seat_seq, updated_at)"
		       " SELECT ?1, id, title, capacity, waitlist_max,"
		       " registered, waitlisted, seat_seq, updated_at"
		       " FROM courses WHERE id = ?2 ON CONFLICT DO NOTHING",
	[S_COUNTS] = "UPDATE courses SET registered = ?2, waitlisted = ?3,"
		     " seat_seq = ?4, updated_at = " DB_NOW_SQL " WHERE id = ?1",
};

static const char *const event_names[] = {
	[EVENT_ADDED] = "added",
	[EVENT_PROMOTED] = "promoted",
	[EVENT_DROPPED] = "dropped",
	[EVENT_RESTORED] = "restored",
	[EVENT_STUDENT] = "student",
};

const char *db__event_name(enum change_event e)
{
	return (unsigned)e <= EVENT_STUDENT ? event_names[e] : "unknown";
}

bool db__event_parse(const char *s, enum change_event *out)
{
	for (unsigned e = 0; e <= EVENT_STUDENT; e++)
		if (s && strcmp(s, event_names[e]) == 0) {
			*out = (enum change_event)e;
			return true;
		}
	return false;
}

/* ---- statements --------------------------------------------------------- */

void db__store_close(struct db *db)
{
	if (!db->stmts)
		return;
	for (size_t i = 0; i < S_COUNT; i++)
		sqldb_finalize(db->stmts[i]);
	free(db->stmts);
	db->stmts = NULL;
}

enum status db__store_prepare(struct db *db, struct error *err)
{
	if (db->stmts)
		return ST_OK;
	/* The temp tables must exist before statements naming them compile. */
	enum status st = db->pg ? ST_OK :
				  db__exec(db, "PRAGMA temp.cache_size = -32768",
					   "preparing the batch", err);
	if (st == ST_OK)
		st = db__exec(db, create_temp_sql, "preparing the batch", err);
	if (st != ST_OK)
		return st;
	db->stmts = calloc(S_COUNT, sizeof(*db->stmts));
	if (!db->stmts)
		return error_set(err, ST_NOMEM, "%s: out of memory", db->path);
	for (size_t i = 0; i < S_COUNT; i++) {
		char sql[1024];
		const char *text = stmt_sql[i];
		if (db->pg && i == S_FIND_STUDENT) {
			/* Another batch on other courses may write the same
			 * student: its row stays as read until this one
			 * ends.  (SQLite: the batch holds the whole file.) */
			snprintf(sql, sizeof(sql), "%s FOR UPDATE", text);
			text = sql;
		}
		st = db__prepare(db, text, SQLDB_PERSISTENT, &db->stmts[i], err);
		if (st != ST_OK) {
			db__store_close(db);
			return st;
		}
	}
	return ST_OK;
}

static struct db *db_of(struct store *s)
{
	return (struct db *)s;
}

static struct sqldb_stmt *stmt_of(struct db *db, enum stmt_id id)
{
	if (!db->stmts)
		abort(); /* a store call outside a batch */
	return db->stmts[id];
}

static void bind_text(struct sqldb_stmt *stmt, int i, struct text t)
{
	sqldb_bind_text(stmt, i, t.s ? t.s : "", (int)t.len);
}

static void bind_text_or_null(struct sqldb_stmt *stmt, int i, bool present,
			      struct text t)
{
	if (present)
		bind_text(stmt, i, t);
	else
		sqldb_bind_null(stmt, i);
}

static const char *state_name(enum pair_state st)
{
	return st == PAIR_WAITLISTED ? "waitlisted" : "registered";
}

static void bind_state(struct sqldb_stmt *stmt, int i, enum pair_state st)
{
	if (st == PAIR_ABSENT)
		sqldb_bind_null(stmt, i);
	else
		sqldb_bind_text(stmt, i, state_name(st), -1);
}

enum pair_state db__state_parse(const char *s)
{
	if (!s)
		return PAIR_ABSENT;
	return s[0] == 'w' ? PAIR_WAITLISTED : PAIR_REGISTERED;
}

static enum status student_fail(struct db *db, enum sqldb_rc rc, struct text student,
				const char *doing, struct error *err)
{
	char what[128];
	snprintf(what, sizeof(what), "%s (student %.*s)", doing,
		 (int)(student.len > 64 ? 64 : student.len), student.s);
	return db__fail(db, rc, what, err);
}

/* Steps a statement that returns no rows and resets it. */
static enum status step_done(struct db *db, struct sqldb_stmt *stmt,
			     struct text student, const char *doing,
			     struct error *err)
{
	enum sqldb_rc rc = sqldb_step(stmt);
	sqldb_reset(stmt);
	return rc == SQLDB_DONE ? ST_OK : student_fail(db, rc, student, doing, err);
}

/* ---- locks ---------------------------------------------------------------- */

enum status store_course_lock(struct store *s, struct course *c,
			      struct error *err)
{
	static const char sql[] =
		"SELECT capacity, waitlist_max, registered, waitlisted, seat_seq"
		" FROM courses WHERE id = ?1 FOR UPDATE";
	struct db *db = db_of(s);
	if (!db->pg)
		return ST_OK;
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, c->id);
	enum sqldb_rc rc = sqldb_step(stmt);
	if (rc == SQLDB_ROW) {
		c->capacity = sqldb_column_int64(stmt, 0);
		c->waitlist_max = sqldb_column_is_null(stmt, 1) ?
					  WAITLIST_UNLIMITED :
					  sqldb_column_int64(stmt, 1);
		c->registered = sqldb_column_int64(stmt, 2);
		c->waitlisted = sqldb_column_int64(stmt, 3);
		c->seat_seq = sqldb_column_int64(stmt, 4);
	} else if (rc == SQLDB_DONE) {
		st = error_set(err, ST_DB, "%s: course %s is gone", db->path,
			       c->code);
	} else {
		char what[COURSE_CODE_MAX + 32];
		snprintf(what, sizeof(what), "locking course %s", c->code);
		st = db__fail(db, rc, what, err);
	}
	sqldb_finalize(stmt);
	return st;
}

enum status store_lock_all(struct store *s, struct error *err)
{
	struct db *db = db_of(s);
	if (!db->pg)
		return ST_OK;
	/* Every batch holds the rows of the courses it changes, and a
	 * table lock in EXCLUSIVE mode waits for all of them. */
	return db__exec(db, "LOCK TABLE courses IN EXCLUSIVE MODE",
			"waiting for other batches", err);
}

/* ---- pairs ---------------------------------------------------------------- */

enum status store_pair_find(struct store *s, int64_t course_id,
			    struct text student, struct pair *out,
			    struct error *err)
{
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = stmt_of(db, S_FIND_REG);
	sqldb_bind_int64(stmt, 1, course_id);
	bind_text(stmt, 2, student);
	memset(out, 0, sizeof(*out));
	enum sqldb_rc rc = sqldb_step(stmt);
	if (rc == SQLDB_ROW) {
		out->state = db__state_parse(sqldb_column_text(stmt, 0));
		out->seq = sqldb_column_int64(stmt, 1);
		out->batch_id = sqldb_column_int64(stmt, 2);
		out->line = sqldb_column_int64(stmt, 3);
		rc = SQLDB_DONE;
	}
	sqldb_reset(stmt);
	return rc == SQLDB_DONE ?
		       ST_OK :
		       student_fail(db, rc, student, "looking up a registration", err);
}

static void bind_pair(struct sqldb_stmt *stmt, int64_t course_id,
		      struct text student, const struct pair *p)
{
	sqldb_bind_int64(stmt, 1, course_id);
	bind_text(stmt, 2, student);
	bind_state(stmt, 3, p->state);
	sqldb_bind_int64(stmt, 4, p->seq);
	sqldb_bind_int64(stmt, 5, p->batch_id);
	sqldb_bind_int64(stmt, 6, p->line);
}

enum status store_pair_add(struct store *s, int64_t course_id,
			   struct text student, const struct pair *p,
			   bool *inserted, struct error *err)
{
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = stmt_of(db, S_ADD_REG);
	bind_pair(stmt, course_id, student, p);
	enum status st = step_done(db, stmt, student, "writing a registration",
				   err);
	*inserted = st == ST_OK && sqldb_changes(db->c) == 1;
	return st;
}

enum status store_pair_update(struct store *s, int64_t course_id,
			      struct text student, const struct pair *p,
			      struct error *err)
{
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = stmt_of(db, S_UPDATE_REG);
	sqldb_bind_int64(stmt, 1, course_id);
	bind_text(stmt, 2, student);
	bind_state(stmt, 3, p->state);
	sqldb_bind_int64(stmt, 4, p->seq);
	return step_done(db, stmt, student, "updating a registration", err);
}

enum status store_pair_set(struct store *s, int64_t course_id,
			   struct text student, const struct pair *p,
			   struct error *err)
{
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt;
	if (p->state == PAIR_ABSENT) {
		stmt = stmt_of(db, S_DELETE_REG);
		sqldb_bind_int64(stmt, 1, course_id);
		bind_text(stmt, 2, student);
		return step_done(db, stmt, student, "removing a registration", err);
	}
	stmt = stmt_of(db, S_SET_REG);
	bind_pair(stmt, course_id, student, p);
	return step_done(db, stmt, student, "writing a registration", err);
}

enum status store_waitlist_each(struct store *s, int64_t course_id,
				store_pair_fn fn, void *ctx, struct error *err)
{
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = stmt_of(db, S_WAITLIST);
	sqldb_bind_int64(stmt, 1, course_id);
	enum sqldb_rc rc;
	enum status st = ST_OK;
	while ((rc = sqldb_step(stmt)) == SQLDB_ROW) {
		struct text student = {
			sqldb_column_text(stmt, 0),
			(size_t)sqldb_column_bytes(stmt, 0),
		};
		struct pair p = {
			.state = PAIR_WAITLISTED,
			.seq = sqldb_column_int64(stmt, 1),
			.batch_id = sqldb_column_int64(stmt, 2),
			.line = sqldb_column_int64(stmt, 3),
		};
		if (fn(ctx, student, &p) != 0) {
			st = ST_CANCELLED;
			break;
		}
	}
	if (st == ST_OK && rc != SQLDB_DONE)
		st = db__fail(db, rc, "reading a waitlist", err);
	sqldb_reset(stmt);
	return st;
}

enum status store_waitlist_renumber(struct store *s, int64_t course_id,
				    struct error *err)
{
	static const char sql[] =
		"WITH w AS (SELECT student_id,"
		"  row_number() OVER (ORDER BY seq) AS pos FROM registrations"
		"  WHERE course_id = ?1 AND status = 'waitlisted')"
		" UPDATE registrations SET seq = w.pos FROM w"
		" WHERE registrations.course_id = ?1"
		" AND registrations.student_id = w.student_id"
		" AND registrations.seq <> w.pos";
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, course_id);
	st = db__step_done(db, stmt, "renumbering a waitlist", err);
	sqldb_finalize(stmt);
	return st;
}

enum status store_waitlist_first(struct store *s, int64_t course_id,
				 char *student_id, size_t cap, size_t *len,
				 bool *found, struct error *err)
{
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = stmt_of(db, S_WAIT_AT);
	sqldb_bind_int64(stmt, 1, course_id);
	enum sqldb_rc rc = sqldb_step(stmt);
	*found = rc == SQLDB_ROW;
	*len = 0;
	if (*found) {
		size_t n = (size_t)sqldb_column_bytes(stmt, 0);
		if (n >= cap)
			n = cap - 1;
		memcpy(student_id, sqldb_column_text(stmt, 0), n);
		student_id[n] = '\0';
		*len = n;
		rc = SQLDB_DONE;
	}
	sqldb_reset(stmt);
	return rc == SQLDB_DONE ? ST_OK :
				   db__fail(db, rc, "reading a waitlist", err);
}

enum status store_unnamed_pairs(struct store *s, int64_t course_id,
				int64_t batch_id, store_pair_fn fn, void *ctx,
				struct error *err)
{
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = stmt_of(db, S_UNNAMED);
	sqldb_bind_int64(stmt, 1, course_id);
	sqldb_bind_int64(stmt, 2, batch_id);
	enum sqldb_rc rc;
	enum status st = ST_OK;
	while ((rc = sqldb_step(stmt)) == SQLDB_ROW) {
		struct text student = {
			sqldb_column_text(stmt, 0),
			(size_t)sqldb_column_bytes(stmt, 0),
		};
		struct pair p = {
			.state = db__state_parse(sqldb_column_text(stmt, 1)),
			.seq = sqldb_column_int64(stmt, 2),
			.batch_id = sqldb_column_int64(stmt, 3),
			.line = sqldb_column_int64(stmt, 4),
		};
		if (fn(ctx, student, &p) != 0) {
			st = ST_CANCELLED;
			break;
		}
	}
	if (st == ST_OK && rc != SQLDB_DONE)
		st = db__fail(db, rc, "listing a course for --sync", err);
	sqldb_reset(stmt);
	return st;
}

/* ---- the batch's memory of the roster ------------------------------------ */

enum status store_mark_seen(struct store *s, int64_t course_id,
			    struct text student, int64_t line,
			    int64_t *first_line, struct error *err)
{
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = stmt_of(db, S_MARK_SEEN);
	sqldb_bind_int64(stmt, 1, course_id);
	bind_text(stmt, 2, student);
	sqldb_bind_int64(stmt, 3, line);
	*first_line = 0;
	enum status st = step_done(db, stmt, student, "noting the row", err);
	if (st != ST_OK || sqldb_changes(db->c) == 1)
		return st;
	stmt = stmt_of(db, S_FIND_SEEN);
	sqldb_bind_int64(stmt, 1, course_id);
	bind_text(stmt, 2, student);
	enum sqldb_rc rc = sqldb_step(stmt);
	if (rc == SQLDB_ROW) {
		*first_line = sqldb_column_int64(stmt, 0);
		rc = SQLDB_DONE;
	}
	sqldb_reset(stmt);
	return rc == SQLDB_DONE ? ST_OK :
				   student_fail(db, rc, student, "looking up the row",
						err);
}

enum status store_mark_named(struct store *s, int64_t course_id,
			     struct text student, struct error *err)
{
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = stmt_of(db, S_MARK_NAMED);
	sqldb_bind_int64(stmt, 1, course_id);
	bind_text(stmt, 2, student);
	return step_done(db, stmt, student, "noting the row", err);
}

/* ---- students ------------------------------------------------------------- */

/*
 * The student memo: which students this batch has written, or looked up
 * and found equal to a row, with which values -- a fixed-size,
 * direct-mapped table of 64-bit fingerprints of (student_id, first_name,
 * last_name, email), keyed with a per-batch random seed so no roster can
 * aim for a collision.  A roster names most students several times; when
 * a row's values are exactly those the memo holds for its student, writing
 * them again would change nothing, and the statements are skipped.  Only a
 * cache: a miss (or an evicted slot) just runs the statements.  Its size
 * is fixed, whatever the roster's length.
 */
#define MEMO_SLOTS (1u << 20) /* 8 MiB */

static uint64_t memo_hash(uint64_t h, const char *s, size_t len)
{
	uint64_t w;
	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = splitmix64(h ^ w);
	}
	w = (uint64_t)len << 56; /* the length separates the fields */
	memcpy(&w, s, len);
	return splitmix64(h ^ w);
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
	return splitmix64(seed ^ (uint64_t)getpid());
}

void db__memo_start(struct db *db)
{
	/* Without memory for the memo the batch only runs slower. */
	db->memo = calloc(MEMO_SLOTS, sizeof(*db->memo));
	db->memo_seed = memo_seed();
}

void db__memo_end(struct db *db)
{
	free(db->memo);
	db->memo = NULL;
}

/* The student's slot, and the fingerprint of the row's values. */
static size_t memo_key(const struct db *db, const struct student *v,
		       uint64_t *fp)
{
	size_t slot = (size_t)(memo_hash(db->memo_seed, v->id.s, v->id.len) &
			       (MEMO_SLOTS - 1));
	uint64_t h = memo_hash(db->memo_seed ^ UINT64_C(0x5851F42D4C957F2D),
			       v->id.s, v->id.len);
	h = memo_hash(h, v->first_name.s, v->first_name.len);
	h = memo_hash(h, v->last_name.s, v->last_name.len);
	h = memo_hash(h, v->email.s, v->email.len);
	*fp = h | 1; /* never 0, which marks an empty slot */
	return slot;
}

static bool same_text(struct sqldb_stmt *stmt, int col, struct text t)
{
	/* An empty value's blob is NULL, which memcmp may not be given. */
	return (size_t)sqldb_column_bytes(stmt, col) == t.len &&
	       (t.len == 0 ||
		memcmp(sqldb_column_text(stmt, col), t.s, t.len) == 0);
}

/* The value the student will hold in one column. */
static struct text merged(struct text stored, struct text row,
			  enum student_update mode)
{
	if (row.len == 0 || mode == STUDENT_UPDATE_NEVER)
		return stored;
	if (mode == STUDENT_UPDATE_FILL && stored.len)
		return stored;
	return row;
}

/* Copies the stored values out of the statement before it is reset. */
static void keep_old(struct db *db, struct sqldb_stmt *stmt, struct student *old)
{
	size_t used = 0;
	struct text *out[] = { &old->first_name, &old->last_name, &old->email };
	for (int i = 0; i < 3; i++) {
		size_t n = (size_t)sqldb_column_bytes(stmt, i);
		if (n > sizeof(db->old_values) / 3)
			n = sizeof(db->old_values) / 3;
		if (n)
			memcpy(db->old_values + used, sqldb_column_text(stmt, i), n);
		*out[i] = (struct text){ db->old_values + used, n };
		used += n;
	}
}

enum status store_student_put(struct store *s, int64_t batch_id,
			      const struct student *v, enum student_update mode,
			      enum student_effect *effect, struct student *old,
			      struct error *err)
{
	struct db *db = db_of(s);
	*effect = STUDENT_SAME;
	uint64_t fp = 0;
	size_t slot = 0;
	if (db->memo) {
		slot = memo_key(db, v, &fp);
		if (db->memo[slot] == fp)
			return ST_OK;
	}
	struct sqldb_stmt *stmt = stmt_of(db, S_ADD_STUDENT);
	bind_text(stmt, 1, v->id);
	bind_text(stmt, 2, v->first_name);
	bind_text(stmt, 3, v->last_name);
	bind_text(stmt, 4, v->email);
	sqldb_bind_int64(stmt, 5, batch_id);
	enum status st = step_done(db, stmt, v->id, "writing a student", err);
	if (st != ST_OK)
		return st;
	if (sqldb_changes(db->c) == 1) {
		*effect = STUDENT_CREATED;
	} else {
		stmt = stmt_of(db, S_FIND_STUDENT);
		bind_text(stmt, 1, v->id);
		enum sqldb_rc rc = sqldb_step(stmt);
		if (rc != SQLDB_ROW) {
			sqldb_reset(stmt);
			return student_fail(db, rc == SQLDB_DONE ? SQLDB_ECORRUPT : rc,
					    v->id, "reading a student", err);
		}
		struct text stored[3], next[3];
		const struct text row_values[3] = { v->first_name, v->last_name,
						    v->email };
		bool changes = false;
		for (int i = 0; i < 3; i++) {
			stored[i] = (struct text){
				sqldb_column_text(stmt, i),
				(size_t)sqldb_column_bytes(stmt, i) };
			next[i] = merged(stored[i], row_values[i], mode);
			changes = changes || !same_text(stmt, i, next[i]);
		}
		if (changes) {
			keep_old(db, stmt, old);
			old->id = v->id;
			/* next[] may point into the statement's row: bind
			 * copies before it is reset. */
			struct sqldb_stmt *up = stmt_of(db, S_UPDATE_STUDENT);
			bind_text(up, 1, v->id);
			for (int i = 0; i < 3; i++)
				sqldb_bind_text_copy(up, 2 + i, next[i].s ? next[i].s : "",
						  (int)next[i].len);
			sqldb_reset(stmt);
			st = step_done(db, up, v->id, "updating a student", err);
			if (st != ST_OK)
				return st;
			*effect = STUDENT_CHANGED;
		} else {
			sqldb_reset(stmt);
		}
	}
	if (db->memo)
		db->memo[slot] = fp;
	return ST_OK;
}

/* ---- courses and history ------------------------------------------------- */

enum status store_course_snapshot(struct store *s, int64_t batch_id,
				  int64_t course_id, struct error *err)
{
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = stmt_of(db, S_SNAPSHOT);
	sqldb_bind_int64(stmt, 1, batch_id);
	sqldb_bind_int64(stmt, 2, course_id);
	enum sqldb_rc rc = sqldb_step(stmt);
	sqldb_reset(stmt);
	return rc == SQLDB_DONE ? ST_OK :
				   db__fail(db, rc, "recording a course", err);
}

enum status store_course_counts(struct store *s, const struct course *c,
				struct error *err)
{
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = stmt_of(db, S_COUNTS);
	sqldb_bind_int64(stmt, 1, c->id);
	sqldb_bind_int64(stmt, 2, c->registered);
	sqldb_bind_int64(stmt, 3, c->waitlisted);
	sqldb_bind_int64(stmt, 4, c->seat_seq);
	enum sqldb_rc rc = sqldb_step(stmt);
	sqldb_reset(stmt);
	return rc == SQLDB_DONE ? ST_OK :
				   db__fail(db, rc, "storing course counts", err);
}

static void bind_side(struct sqldb_stmt *stmt, int at, const struct pair *p)
{
	bind_state(stmt, at, p->state);
	if (p->state == PAIR_ABSENT) {
		sqldb_bind_null(stmt, at + 1);
		return;
	}
	sqldb_bind_int64(stmt, at + 1, p->seq);
}

enum status store_history_add(struct store *s, int64_t batch_id,
			      const struct change *c, struct error *err)
{
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = stmt_of(db, S_HISTORY);
	sqldb_bind_int64(stmt, 1, batch_id);
	sqldb_bind_text(stmt, 2, db__event_name(c->event), -1);
	if (c->course_id > 0)
		sqldb_bind_int64(stmt, 3, c->course_id);
	else
		sqldb_bind_null(stmt, 3);
	bind_text(stmt, 4, c->student_id);
	if (c->line > 0)
		sqldb_bind_int64(stmt, 5, c->line);
	else
		sqldb_bind_null(stmt, 5);
	for (int i = 6; i <= 17; i++)
		sqldb_bind_null(stmt, i);
	if (c->event == EVENT_STUDENT) {
		if (c->had_student && c->before.batch_id)
			sqldb_bind_int64(stmt, 8, c->before.batch_id);
		bind_text_or_null(stmt, 12, c->had_student, c->old_values.first_name);
		bind_text_or_null(stmt, 13, c->had_student, c->old_values.last_name);
		bind_text_or_null(stmt, 14, c->had_student, c->old_values.email);
		bind_text_or_null(stmt, 15, c->has_student, c->new_values.first_name);
		bind_text_or_null(stmt, 16, c->has_student, c->new_values.last_name);
		bind_text_or_null(stmt, 17, c->has_student, c->new_values.email);
	} else {
		bind_side(stmt, 6, &c->before);
		if (c->before.state != PAIR_ABSENT) {
			sqldb_bind_int64(stmt, 8, c->before.batch_id);
			sqldb_bind_int64(stmt, 9, c->before.line);
		}
		bind_side(stmt, 10, &c->after);
	}
	return step_done(db, stmt, c->student_id, "recording the history", err);
}
