/* db_store: the SQLite store behind store.h -- the per-row statements of a batch. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "db_internal.h"
#include "pair_cache.h"
#include "runset.h"
#include "scan.h"
#include "parse.h"
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
	S_INSERT_REG,
	S_REWRITE_REG,
	S_RESEQ_REG,
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
	S_INSERT_STUDENT,
	S_REWRITE_STUDENT,
	S_FIND_STUDENT,
	S_LOCK_STUDENT,
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
	[S_INSERT_REG] = "INSERT INTO registrations"
			 " (course_id, student_id, status, seq, batch_id, line)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_REWRITE_REG] = "UPDATE registrations SET status = ?3, seq = ?4,"
			  " batch_id = ?5, line = ?6"
			  " WHERE course_id = ?1 AND student_id = ?2",
	/* Only seq in the SET list: SQLite then checks neither the status
	 * CHECK nor the batch's foreign key (a sixth of a renumbering). */
	[S_RESEQ_REG] = "UPDATE registrations SET seq = ?3"
			" WHERE course_id = ?1 AND student_id = ?2",
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
	/* A student another batch added meanwhile (PostgreSQL) is not
	 * overwritten: the count of rows written tells (write_kind_rows). */
	[S_INSERT_STUDENT] = "INSERT INTO students"
			     " (student_id, first_name, last_name, email,"
			     " created_batch) VALUES (?1, ?2, ?3, ?4, ?5)"
			     " ON CONFLICT DO NOTHING",
	/* Only if the values are still those the batch read (another batch
	 * may have changed them since, on PostgreSQL). */
	[S_REWRITE_STUDENT] = "UPDATE students SET first_name = ?2,"
			      " last_name = ?3, email = ?4 WHERE student_id = ?1"
			      " AND first_name = ?5 AND last_name = ?6"
			      " AND email = ?7",
	[S_FIND_STUDENT] = "SELECT first_name, last_name, email, created_batch"
			   " FROM students"
			   " WHERE student_id = ?1",
	/* With FOR UPDATE on PostgreSQL (db__store_prepare): the path
	 * without the cache reads and writes a student in one go. */
	[S_LOCK_STUDENT] = "SELECT first_name, last_name, email, created_batch"
			   " FROM students"
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
	/* The temp tables must exist before statements naming them compile.
	 * They hold the marks only once the cache restarted (a re-run past
	 * its budget); their page cache at 8 MiB, not 32, keeps such a run
	 * within its memory (a 5M-row re-run peaked at 113 MiB; 92 now,
	 * 75 s instead of 64). */
	enum status st = db->pg ? ST_OK :
				  db__exec(db, "PRAGMA temp.cache_size = -8192",
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
		if (db->pg && i == S_LOCK_STUDENT) {
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

static enum status cache_course_taken(struct db *db, const struct course *c);

/*
 * PostgreSQL numbers a batch when it starts, but a batch changes a course
 * when it gets to the course's lock: a batch numbered earlier but slower
 * to get there would change the course after one numbered later (a drop,
 * an undo) had committed on it, and the history -- which orders a
 * course's changes by batch number -- would contradict the registrations
 * (review 15, A1).  So, the lock held, a batch numbered after this one
 * that dropped, promoted or restored pairs of the course (any kind but a
 * plain register, which only adds; every batch leaves a snapshot of each
 * course it changed in batch_courses) makes this one lose the race:
 * nothing written, and it runs again, under a new number, as after a
 * deadlock.  Registers on one course, the common case, keep going: their
 * additions commute, and undo orders batches by commit (db_undo.c).
 */
static enum status course_changed_after(struct db *db, const struct course *c,
					struct error *err)
{
	static const char sql[] =
		"SELECT min(c.batch_id) FROM batch_courses c"
		" JOIN batches b ON b.id = c.batch_id"
		" WHERE c.batch_id > ?1 AND c.course_id = ?2"
		" AND b.kind <> 'register'";
	if (db->batch_id <= 0)
		return ST_OK;
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, db->batch_id);
	sqldb_bind_int64(stmt, 2, c->id);
	enum sqldb_rc rc = sqldb_step(stmt);
	if (rc == SQLDB_ROW && !sqldb_column_is_null(stmt, 0))
		st = error_set(err, ST_CONFLICT,
			       "%s: batch %lld, numbered after this one, "
			       "changed course %s first; nothing was written: "
			       "run it again",
			       db->path, (long long)sqldb_column_int64(stmt, 0),
			       c->code);
	else if (rc != SQLDB_ROW)
		st = db__fail(db, rc, "locking a course", err);
	sqldb_finalize(stmt);
	return st;
}

enum status store_course_lock(struct store *s, struct course *c,
			      struct error *err)
{
	static const char sql[] =
		"SELECT capacity, waitlist_max, registered, waitlisted, seat_seq"
		" FROM courses WHERE id = ?1 FOR UPDATE";
	struct db *db = db_of(s);
	if (!db->pg)
		return cache_course_taken(db, c);
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, c->id);
	if (db->wait_notice)
		db->wait_notice(db->wait_notice_ctx, c->code, true);
	enum sqldb_rc rc = sqldb_step(stmt);
	if (db->wait_notice)
		db->wait_notice(db->wait_notice_ctx, c->code, false);
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
	if (st == ST_OK)
		st = course_changed_after(db, c, err);
	return st == ST_OK ? cache_course_taken(db, c) : st;
}

enum status store_lock_all(struct store *s, struct error *err)
{
	struct db *db = db_of(s);
	if (!db->pg)
		return ST_OK;
	/* Every batch holds the rows of the courses it changes, and a
	 * table lock in EXCLUSIVE mode waits for all of them. */
	if (db->wait_notice)
		db->wait_notice(db->wait_notice_ctx, NULL, true);
	enum status st = db__exec(db, "LOCK TABLE courses IN EXCLUSIVE MODE",
				  "waiting for other batches", err);
	if (db->wait_notice)
		db->wait_notice(db->wait_notice_ctx, NULL, false);
	return st;
}

/* ---- pairs ---------------------------------------------------------------- */

static enum status direct_pair_find(struct db *db, int64_t course_id,
				    struct text student, struct pair *out,
				    struct error *err)
{
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

static enum status direct_pair_add(struct db *db, int64_t course_id,
				   struct text student, const struct pair *p,
				   bool *inserted, struct error *err)
{
	struct sqldb_stmt *stmt = stmt_of(db, S_ADD_REG);
	bind_pair(stmt, course_id, student, p);
	enum status st = step_done(db, stmt, student, "writing a registration",
				   err);
	*inserted = st == ST_OK && sqldb_changes(db->c) == 1;
	return st;
}

static enum status direct_pair_update(struct db *db, int64_t course_id,
				      struct text student, const struct pair *p,
				      struct error *err)
{
	struct sqldb_stmt *stmt = stmt_of(db, S_UPDATE_REG);
	sqldb_bind_int64(stmt, 1, course_id);
	bind_text(stmt, 2, student);
	bind_state(stmt, 3, p->state);
	sqldb_bind_int64(stmt, 4, p->seq);
	return step_done(db, stmt, student, "updating a registration", err);
}

static enum status direct_pair_set(struct db *db, int64_t course_id,
				   struct text student, const struct pair *p,
				   struct error *err)
{
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

static enum status direct_waitlist_each(struct db *db, int64_t course_id,
					store_pair_fn fn, void *ctx, struct error *err)
{
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

static enum status direct_waitlist_renumber(struct db *db, int64_t course_id,
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
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, course_id);
	st = db__step_done(db, stmt, "renumbering a waitlist", err);
	sqldb_finalize(stmt);
	return st;
}

static enum status direct_waitlist_first(struct db *db, int64_t course_id,
					 char *student_id, size_t cap, size_t *len,
					 bool *found, struct error *err)
{
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

static enum status direct_unnamed_pairs(struct db *db, int64_t course_id,
					int64_t batch_id, store_pair_fn fn, void *ctx,
					struct error *err)
{
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

static enum status direct_mark_seen(struct db *db, int64_t course_id,
				    struct text student, int64_t line,
				    int64_t *first_line, struct error *err)
{
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

static enum status direct_mark_named(struct db *db, int64_t course_id,
				     struct text student, struct error *err)
{
	struct sqldb_stmt *stmt = stmt_of(db, S_MARK_NAMED);
	sqldb_bind_int64(stmt, 1, course_id);
	bind_text(stmt, 2, student);
	return step_done(db, stmt, student, "noting the row", err);
}

/* ---- students ------------------------------------------------------------- */

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

/*
 * PostgreSQL: a student that a batch numbered after this one added, and
 * committed before this one read it.  Using it would put this batch's
 * change of the student before the student's creation in number order,
 * which the history reads in (review 20, F04): nothing is written, and the
 * batch runs again under a new number, as after a deadlock.
 */
static enum status student_from_later_batch(struct db *db, int64_t batch_id,
					    int64_t created, struct text id,
					    struct error *err)
{
	if (!db->pg || batch_id <= 0 || created <= batch_id)
		return ST_OK;
	return error_set(err, ST_CONFLICT,
			 "%s: batch %lld, numbered after this one, added "
			 "student %.*s first; nothing was written: run it again",
			 db->path, (long long)created,
			 (int)(id.len > 64 ? 64 : id.len), id.s);
}

static enum status direct_student_put(struct db *db, int64_t batch_id,
				      const struct student *v, enum student_update mode,
				      enum student_effect *effect, struct student *old,
				      struct error *err)
{
	*effect = STUDENT_SAME;
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
		stmt = stmt_of(db, S_LOCK_STUDENT);
		bind_text(stmt, 1, v->id);
		enum sqldb_rc rc = sqldb_step(stmt);
		if (rc != SQLDB_ROW) {
			sqldb_reset(stmt);
			return student_fail(db, rc == SQLDB_DONE ? SQLDB_ECORRUPT : rc,
					    v->id, "reading a student", err);
		}
		st = student_from_later_batch(db, batch_id,
					      sqldb_column_int64(stmt, 3), v->id,
					      err);
		if (st != ST_OK) {
			sqldb_reset(stmt);
			return st;
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
	return ST_OK;
}

/* ---- the batch's cache ---------------------------------------------------- */

/*
 * A batch's questions -- is this pair registered, did an earlier row name
 * it, what does this student hold -- were each a B-tree descent (on
 * PostgreSQL a round trip), and its writes landed in roster order, all over
 * the index.  Now they are answered from memory (pair_cache.h) and the
 * writes wait there until the batch's end (or until SQL must read the
 * tables), then go in key order.  A course whose stored pairs this batch
 * reads often enough is read whole by one range scan; a course with none
 * needs no reading at all (a first run).  Memory is bounded: over
 * CACHE_BUDGET, everything is written and the cache starts again empty.
 * The cache decides nothing: every answer is the one the SQL would give.
 */
#define CACHE_BUDGET ((size_t)56 << 20)
/* SQLite: a course is read whole once look-ups missed it for a sixteenth
 * of its stored pairs (a range scan row costs about that much less than a
 * descent); students likewise, counted once 4096 look-ups missed. */
#define LOAD_RATIO 16
#define STUDENT_MISSES_BEFORE_COUNT 4096
#define LOAD_ROW_BYTES 48 /* what a loaded pair or student costs, about */

struct store_cache {
	struct pcache *pc;
	size_t budget;           /* CACHE_BUDGET (tests: smaller) */
	int64_t batch_id;
	bool marks_spilled;      /* marks went to the temp tables: ask them */
	bool students_complete;  /* every stored student is in pc (or, after
				  * a restart, may be in its filter) */
	uint32_t student_misses;
	int64_t students_stored; /* -1: not counted */
	int64_t pairs_stored;    /* registrations when the batch began */
	uint64_t rows_expected;  /* store_expect_rows; 0: not known */
	bool pairs_reserved;     /* pcache_reserve for pairs_stored done */
	uint32_t *dirty_pairs, *dirty_students, *marked; /* indexes */
	/* The pairs grouped by course (store_unnamed_pairs), as of when the
	 * cache held by_course_pairs entries (group_by_course). */
	uint32_t *by_course, *by_course_at;
	uint32_t by_course_pairs, by_course_max;
	/* Each course's waitlisted pairs by place, for store_waitlist_first
	 * (cached_waitlist_first), by course id; built when first asked,
	 * dropped with the entries they name (a restart, the end). */
	struct waitlist_order *orders;
	size_t norders;
	size_t ndirty_pairs, ndirty_students, nmarked;
	size_t dirty_pairs_cap, dirty_students_cap, marked_cap;
	/* SQLite: each part of a batch past the budget is spilled here, not
	 * written into the tables (runset.h); NULL on PostgreSQL, whose bulk
	 * writes of a part cost no descent per row. */
	struct runset *pair_runs, *student_runs;
	unsigned char *record;   /* a key or a value being made */
	size_t record_cap;
	/* Nothing written into the table yet: the students table was
	 * empty when the batch began, a course held no pair when the batch
	 * took it (pc_course.stored_pairs 0) -- a merge's rows then need no
	 * upsert, which costs SQLite a second descent per row.  The courses
	 * that held none: a bit each, by id (the cache's courses are
	 * cleared before the last merge). */
	bool students_table_empty, pairs_table_untouched;
	uint64_t *empty_courses;
	size_t empty_courses_words;
	uint32_t restart_every;  /* test builds: entries per part, 0 */
};

struct waitlist_order {
	uint64_t *keys;          /* seq << 32 | entry, by seq */
	uint32_t n, at;          /* keys[at..n) may still be waitlisted */
};

static void orders_free(struct store_cache *sc)
{
	for (size_t i = 0; i < sc->norders; i++)
		free(sc->orders[i].keys);
	free(sc->orders);
	sc->orders = NULL;
	sc->norders = 0;
}

static bool fits32(int64_t v)
{
	return v >= 0 && v <= (int64_t)UINT32_MAX - 1;
}

static bool push_index(uint32_t **list, size_t *n, size_t *cap, uint32_t v)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 1024;
		uint32_t *p = realloc(*list, c * sizeof(*p));
		if (!p)
			return false;
		*list = p;
		*cap = c;
	}
	(*list)[(*n)++] = v;
	return true;
}

static enum status cache_nomem(struct db *db, struct error *err)
{
	return error_set(err, ST_NOMEM, "%s: out of memory", db->path);
}

/* Marks the pair entry dirty (listed once). */
static enum status pair_dirty(struct db *db, struct pc_pair *p, uint32_t idx,
			      struct error *err)
{
	struct store_cache *sc = db->cache;
	if (p->flags & PCP_DIRTY)
		return ST_OK;
	p->flags |= PCP_DIRTY;
	return push_index(&sc->dirty_pairs, &sc->ndirty_pairs,
			  &sc->dirty_pairs_cap, idx) ?
		       ST_OK :
		       cache_nomem(db, err);
}

static enum status pair_marked(struct db *db, uint32_t idx, struct error *err)
{
	struct store_cache *sc = db->cache;
	return push_index(&sc->marked, &sc->nmarked, &sc->marked_cap, idx) ?
		       ST_OK :
		       cache_nomem(db, err);
}

static struct text student_text(struct store_cache *sc, uint32_t idx)
{
	const struct pc_student *st = pcache_student_at(sc->pc, idx);
	return (struct text){ pcache_student_id(sc->pc, st), st->id_len };
}


/*
 * What a flush writes, one kind of row at a time, in key order.  Many rows
 * of a kind go through the driver's bulk write (sqldb_bulk_*: on
 * PostgreSQL COPY into a staging table and one set-based statement, where
 * a round trip per row was the whole cost); a few (a flush before a
 * promotion reads the waitlist) through the prepared statements.
 */
enum write_kind {
	W_PAIR_DELETE,
	W_PAIR_REWRITE,
	W_PAIR_RESEQ,   /* a waitlisted pair only renumbered */
	W_PAIR_INSERT,
	W_STUDENT_INSERT,
	W_STUDENT_UPDATE,
	W_COUNT
};

#define BULK_MIN_ROWS 256
#define REG_COLUMNS \
	"course_id bigint, student_id text, status text, seq bigint," \
	" batch_id bigint, line bigint"
#define REG_NAMES "course_id, student_id, status, seq, batch_id, line"

struct write_spec {
	enum stmt_id stmt;   /* the row's statement: ?N in column order */
	const char *staging, *columns, *set_sql, *doing;
};

static const struct write_spec write_specs[W_COUNT] = {
	[W_PAIR_DELETE] = { S_DELETE_REG, "bulk_reg_delete",
			    "course_id bigint, student_id text",
			    "DELETE FROM registrations AS r USING bulk_reg_delete AS s"
			    " WHERE r.course_id = s.course_id"
			    " AND r.student_id = s.student_id",
			    "removing a registration" },
	[W_PAIR_REWRITE] = { S_REWRITE_REG, "bulk_reg_rewrite", REG_COLUMNS,
			     "UPDATE registrations AS r SET status = s.status,"
			     " seq = s.seq, batch_id = s.batch_id, line = s.line"
			     " FROM bulk_reg_rewrite AS s"
			     " WHERE r.course_id = s.course_id"
			     " AND r.student_id = s.student_id",
			     "writing a registration" },
	[W_PAIR_RESEQ] = { S_RESEQ_REG, "bulk_reg_reseq",
			   "course_id bigint, student_id text, seq bigint",
			   "UPDATE registrations AS r SET seq = s.seq"
			   " FROM bulk_reg_reseq AS s"
			   " WHERE r.course_id = s.course_id"
			   " AND r.student_id = s.student_id",
			   "renumbering a waitlist" },
	[W_PAIR_INSERT] = { S_INSERT_REG, "bulk_reg_insert", REG_COLUMNS,
			    "INSERT INTO registrations (" REG_NAMES ") SELECT "
			    REG_NAMES " FROM bulk_reg_insert",
			    "writing a registration" },
	[W_STUDENT_INSERT] = { S_INSERT_STUDENT, "bulk_student_insert",
			       "student_id text, first_name text, last_name text,"
			       " email text, created_batch bigint",
			       "INSERT INTO students (student_id, first_name,"
			       " last_name, email, created_batch) SELECT student_id,"
			       " first_name, last_name, email, created_batch"
			       " FROM bulk_student_insert ON CONFLICT DO NOTHING",
			       "writing a student" },
	[W_STUDENT_UPDATE] = { S_REWRITE_STUDENT, "bulk_student_update",
			       "student_id text, first_name text, last_name text,"
			       " email text, old_first_name text,"
			       " old_last_name text, old_email text",
			       "UPDATE students AS t SET first_name = s.first_name,"
			       " last_name = s.last_name, email = s.email"
			       " FROM bulk_student_update AS s"
			       " WHERE t.student_id = s.student_id"
			       " AND t.first_name = s.old_first_name"
			       " AND t.last_name = s.old_last_name"
			       " AND t.email = s.old_email",
			       "updating a student" },
};

/* A row's values, the same for the bulk and for the statement. */
struct row_out {
	int n;
	struct {
		bool text;
		int64_t i;
		struct text t;
	} v[7];
};

static void out_int(struct row_out *r, int64_t i)
{
	r->v[r->n].text = false;
	r->v[r->n++].i = i;
}

static void out_text(struct row_out *r, struct text t)
{
	r->v[r->n].text = true;
	r->v[r->n++].t = t;
}

/* The kind of write a dirty entry needs (W_COUNT: none). */
static enum write_kind pair_kind(const struct pc_pair *p)
{
	if (p->state == PAIR_ABSENT)
		return p->flags & PCP_IN_DB ? W_PAIR_DELETE : W_COUNT;
	if (!(p->flags & PCP_IN_DB))
		return W_PAIR_INSERT;
	return p->flags & PCP_SEQ_ONLY ? W_PAIR_RESEQ : W_PAIR_REWRITE;
}

static enum write_kind student_kind(const struct pc_student *v)
{
	return v->write == PCS_NEW ? W_STUDENT_INSERT : W_STUDENT_UPDATE;
}

/* Row i of the sorted list as written by kind k; its student in *who. */
static void pair_row(struct store_cache *sc, uint32_t idx, enum write_kind k,
		     struct row_out *r, struct text *who)
{
	const struct pc_pair *p = pcache_pair_at(sc->pc, idx);
	r->n = 0;
	*who = student_text(sc, p->student);
	out_int(r, p->course);
	out_text(r, *who);
	if (k == W_PAIR_DELETE)
		return;
	if (k == W_PAIR_RESEQ) {
		out_int(r, p->seq);
		return;
	}
	out_text(r, (struct text){ state_name((enum pair_state)p->state),
				   strlen(state_name((enum pair_state)p->state)) });
	out_int(r, p->seq);
	out_int(r, p->batch);
	out_int(r, p->line);
}

static void student_row(struct store_cache *sc, uint32_t idx, enum write_kind k,
			struct row_out *r, struct text *who)
{
	const struct pc_student *v = pcache_student_at(sc->pc, idx);
	const char *val = pcache_text(sc->pc, v->val_off);
	r->n = 0;
	*who = student_text(sc, idx);
	out_text(r, *who);
	out_text(r, (struct text){ val, v->len[0] });
	out_text(r, (struct text){ val + v->len[0], v->len[1] });
	out_text(r, (struct text){ val + v->len[0] + v->len[1], v->len[2] });
	if (k == W_STUDENT_INSERT) {
		out_int(r, v->created);
		return;
	}
	const char *was = pcache_text(sc->pc, v->read_off);
	out_text(r, (struct text){ was, v->read_len[0] });
	out_text(r, (struct text){ was + v->read_len[0], v->read_len[1] });
	out_text(r, (struct text){ was + v->read_len[0] + v->read_len[1],
				   v->read_len[2] });
}

/*
 * Rows a write did not change.  A student another batch added, or changed
 * since this one read it, is a race between batches on PostgreSQL (which
 * lock students only as they write them): nothing is written, run it
 * again, as after a deadlock.  A registration the cache believed stored
 * and the database lacks is damage.
 */
static enum status unwritten(struct db *db, enum write_kind k,
			     const struct text *who, size_t n,
			     struct error *err)
{
	char name[96] = "", g[32];
	if (who)
		snprintf(name, sizeof(name), "student %.*s",
			 (int)(who->len > 64 ? 64 : who->len), who->s);
	else
		snprintf(name, sizeof(name), "%s students",
			 text_group_digits((int64_t)n, g));
	if (k == W_STUDENT_INSERT || k == W_STUDENT_UPDATE)
		return error_set(err, ST_CONFLICT,
				 "%s: another batch %s %s at the same time; "
				 "nothing was written: run it again",
				 db->path,
				 k == W_STUDENT_INSERT ? "added" : "changed",
				 name);
	return error_set(err, ST_DB,
			 "%s: %s: %s registrations not in the database: it "
			 "changed under the batch (run 'bulkreg verify')",
			 db->path, write_specs[k].doing,
			 text_group_digits((int64_t)n, g));
}

typedef void (*row_fn)(struct store_cache *sc, uint32_t idx, enum write_kind k,
		       struct row_out *r, struct text *who);

/*
 * How a flush reaches its entries: the write one needs, its row, and two
 * hints that fetch an entry, then what it points to, some rows ahead.  The
 * list is in key order and the entries in the order they were made, so
 * without the hints each row costs two or three misses of the processor's
 * caches, one after the other (a third of a first run's flush).
 */
struct entry_ops {
	enum write_kind (*kind_of)(struct store_cache *sc, uint32_t idx);
	row_fn fill;
	void (*prefetch)(const struct pcache *c, uint32_t idx);
	void (*prefetch_deps)(const struct pcache *c, uint32_t idx);
};

#define PREFETCH_AHEAD 16

/* Writes the `count` entries of idx[0..n) whose kind (kinds[i]) is k. */
static enum status write_kind_rows(struct db *db, enum write_kind k,
				   const uint32_t *idx, const uint8_t *kinds,
				   size_t n, size_t count,
				   const struct entry_ops *ops, struct error *err)
{
	struct store_cache *sc = db->cache;
	const struct write_spec *w = &write_specs[k];
	struct sqldb_bulk *bulk = NULL;
	if (count >= BULK_MIN_ROWS) {
		enum sqldb_rc rc = sqldb_bulk_begin(db->c, w->staging, w->columns,
						    stmt_sql[w->stmt], w->set_sql,
						    &bulk);
		if (rc != SQLDB_OK)
			return db__fail(db, rc, w->doing, err);
	}
	enum status st = ST_OK;
	for (size_t i = 0; st == ST_OK && i < n; i++) {
		size_t far = i + PREFETCH_AHEAD, near = i + PREFETCH_AHEAD / 2;
		if (far < n && kinds[far] == k)
			ops->prefetch(sc->pc, idx[far]);
		if (near < n && kinds[near] == k)
			ops->prefetch_deps(sc->pc, idx[near]);
		if (kinds[i] != k)
			continue;
		struct row_out r;
		struct text who;
		ops->fill(sc, idx[i], k, &r, &who);
		if (bulk) {
			for (int c = 0; c < r.n; c++)
				if (r.v[c].text)
					sqldb_bulk_text(bulk, r.v[c].t.s ? r.v[c].t.s : "",
							r.v[c].t.len);
				else
					sqldb_bulk_int64(bulk, r.v[c].i);
			enum sqldb_rc rc = sqldb_bulk_row_end(bulk);
			if (rc != SQLDB_OK)
				st = student_fail(db, rc, who, w->doing, err);
			continue;
		}
		struct sqldb_stmt *stmt = stmt_of(db, w->stmt);
		for (int c = 0; c < r.n; c++)
			if (r.v[c].text)
				bind_text(stmt, c + 1, r.v[c].t);
			else
				sqldb_bind_int64(stmt, c + 1, r.v[c].i);
		st = step_done(db, stmt, who, w->doing, err);
		if (st == ST_OK && k != W_PAIR_DELETE && sqldb_changes(db->c) != 1)
			st = unwritten(db, k, &who, 1, err);
	}
	if (!bulk)
		return st;
	if (st != ST_OK) {
		sqldb_bulk_abort(bulk);
		return st;
	}
	int64_t changes = 0;
	enum sqldb_rc rc = sqldb_bulk_finish(bulk, &changes);
	if (rc != SQLDB_OK)
		return db__fail(db, rc, w->doing, err);
	if (k != W_PAIR_DELETE && changes != (int64_t)count)
		return unwritten(db, k, NULL, count - (size_t)changes, err);
	return ST_OK;
}

static enum write_kind pair_kind_at(struct store_cache *sc, uint32_t idx)
{
	return pair_kind(pcache_pair_at(sc->pc, idx));
}

static enum write_kind student_kind_at(struct store_cache *sc, uint32_t idx)
{
	return student_kind(pcache_student_at(sc->pc, idx));
}

static const struct entry_ops pair_ops = {
	pair_kind_at, pair_row, pcache_pair_prefetch,
	pcache_pair_student_prefetch
};
static const struct entry_ops student_ops = {
	student_kind_at, student_row, pcache_student_prefetch,
	pcache_student_texts_prefetch
};

/* Writes the sorted entries idx[0..n), kind by kind from first to last
 * (each kind in one pass: a bulk write carries one statement). */
static enum status write_kinds(struct db *db, const uint32_t *idx, size_t n,
			       enum write_kind first, enum write_kind last,
			       const struct entry_ops *ops, struct error *err)
{
	uint8_t *kinds = malloc(n);
	if (!kinds)
		return cache_nomem(db, err);
	size_t count[W_COUNT + 1] = {0};
	for (size_t i = 0; i < n; i++) {
		if (i + PREFETCH_AHEAD < n)
			ops->prefetch(db->cache->pc, idx[i + PREFETCH_AHEAD]);
		kinds[i] = (uint8_t)ops->kind_of(db->cache, idx[i]);
		count[kinds[i]]++;
	}
	enum status st = ST_OK;
	for (int k = first; st == ST_OK && k <= (int)last; k++)
		if (count[k])
			st = write_kind_rows(db, (enum write_kind)k, idx, kinds,
					     n, count[k], ops, err);
	free(kinds);
	return st;
}

/* The dirty pairs are written (into the tables or a run): each entry is
 * now as the store holds it. */
static void pairs_written(struct store_cache *sc)
{
	for (size_t i = 0; i < sc->ndirty_pairs; i++) {
		struct pc_pair *p = pcache_pair_at(sc->pc, sc->dirty_pairs[i]);
		if (p->state == PAIR_ABSENT)
			p->flags &= (uint8_t)~PCP_IN_DB;
		else
			p->flags |= PCP_IN_DB;
		p->flags &= (uint8_t)~(PCP_DIRTY | PCP_SEQ_ONLY);
	}
	sc->ndirty_pairs = 0;
}

static void students_written(struct store_cache *sc)
{
	for (size_t i = 0; i < sc->ndirty_students; i++)
		pcache_student_at(sc->pc, sc->dirty_students[i])->write = PCS_CLEAN;
	sc->ndirty_students = 0;
}

/* Writes the dirty pairs, sorted (pcache_sort_pairs) beforehand. */
static enum status flush_pairs(struct db *db, struct error *err)
{
	struct store_cache *sc = db->cache;
	size_t n = sc->ndirty_pairs;
	if (!n)
		return ST_OK;
	/* In place: the list is empty once written (and the batch fails
	 * if it is not). */
	uint32_t *idx = sc->dirty_pairs;
	sc->pairs_table_untouched = false;
	enum status st = write_kinds(db, idx, n, W_PAIR_DELETE, W_PAIR_INSERT,
				     &pair_ops, err);
	if (st == ST_OK)
		pairs_written(sc);
	return st;
}

/* Writes the dirty students, sorted (pcache_sort_students) beforehand. */
static enum status flush_students(struct db *db, struct error *err)
{
	struct store_cache *sc = db->cache;
	size_t n = sc->ndirty_students;
	if (!n)
		return ST_OK;
	uint32_t *idx = sc->dirty_students;
	sc->students_table_empty = false;
	enum status st = write_kinds(db, idx, n, W_STUDENT_INSERT,
				     W_STUDENT_UPDATE, &student_ops, err);
	if (st == ST_OK)
		students_written(sc);
	return st;
}

/* Writes the marks of this batch's rows into temp.batch_seen and
 * temp.batch_named, where the SQL of --sync reads them. */
static enum status store_marks(struct db *db, struct error *err)
{
	struct store_cache *sc = db->cache;
	if (!sc->nmarked)
		return ST_OK;
	uint32_t *idx = sc->marked;
	enum status st = ST_OK;
	pcache_sort_pairs(sc->pc, idx, sc->nmarked);
	for (size_t i = 0; st == ST_OK && i < sc->nmarked; i++) {
		struct pc_pair *p = pcache_pair_at(sc->pc, idx[i]);
		struct text student = student_text(sc, p->student);
		if (p->seen_line && !(p->flags & PCP_SEEN_STORED)) {
			struct sqldb_stmt *stmt = stmt_of(db, S_MARK_SEEN);
			sqldb_bind_int64(stmt, 1, p->course);
			bind_text(stmt, 2, student);
			sqldb_bind_int64(stmt, 3, p->seen_line);
			st = step_done(db, stmt, student, "noting the row", err);
			p->flags |= PCP_SEEN_STORED;
		}
		if (st == ST_OK && (p->flags & PCP_NAMED) &&
		    !(p->flags & PCP_NAMED_STORED)) {
			struct sqldb_stmt *stmt = stmt_of(db, S_MARK_NAMED);
			sqldb_bind_int64(stmt, 1, p->course);
			bind_text(stmt, 2, student);
			st = step_done(db, stmt, student, "noting the row", err);
			p->flags |= PCP_NAMED_STORED;
		}
	}
	if (st == ST_OK)
		sc->nmarked = 0;
	return st;
}

/* ---- the parts of a batch past the budget, spilled (SQLite) -------------- */

/*
 * A part of the batch goes into a run of each runset (runset.h): the
 * students keyed by id, the pairs by (course, big-endian, then the id) --
 * the tables' key order, so the merge writes in the order the flush did.
 * A pair's record is its state (PAIR_ABSENT: none, the table's row if any
 * goes at the merge), seq, batch and line; a student's, its created batch,
 * the values' lengths and the values.  Entries read from a run are as the
 * tables would hold them once the runs are merged: present is PCP_IN_DB.
 * More runs than RUNS_MAX are merged into the tables at a restart (a
 * look-up reads every run its filter does not rule out).
 */
#define RUNS_MAX 32
static bool course_was_empty(const struct store_cache *sc, uint32_t course);
#define PAIR_KEY_BYTES 4
#define PAIR_RECORD_BYTES 13
#define STUDENT_RECORD_HEAD 10

static bool runs_held(const struct store_cache *sc)
{
	return sc->pair_runs && (runset_count(sc->pair_runs) ||
				 runset_count(sc->student_runs));
}

static size_t runs_bytes(const struct store_cache *sc)
{
	return sc->pair_runs ? runset_bytes(sc->pair_runs) +
				       runset_bytes(sc->student_runs) +
				       sc->record_cap :
			       0;
}

static bool record_room(struct store_cache *sc, size_t n)
{
	if (n <= sc->record_cap)
		return true;
	size_t c = sc->record_cap ? sc->record_cap : 256;
	while (c < n)
		c *= 2;
	unsigned char *p = realloc(sc->record, c);
	if (!p)
		return false;
	sc->record = p;
	sc->record_cap = c;
	return true;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* The pair's key in sc->record (false: out of memory). */
static bool pair_key(struct store_cache *sc, uint32_t course, struct text id)
{
	if (!record_room(sc, PAIR_KEY_BYTES + id.len))
		return false;
	for (int i = 0; i < PAIR_KEY_BYTES; i++)
		sc->record[i] = (unsigned char)(course >> (24 - 8 * i));
	if (id.len)
		memcpy(sc->record + PAIR_KEY_BYTES, id.s, id.len);
	return true;
}

static uint32_t key_course(const unsigned char *key)
{
	uint32_t c = 0;
	for (int i = 0; i < PAIR_KEY_BYTES; i++)
		c = c << 8 | key[i];
	return c;
}

static void pair_record_out(const struct pc_pair *p, unsigned char *v)
{
	v[0] = p->state;
	put_u32(v + 1, p->state != PAIR_ABSENT ? p->seq : 0);
	put_u32(v + 5, p->state != PAIR_ABSENT ? p->batch : 0);
	put_u32(v + 9, p->state != PAIR_ABSENT ? p->line : 0);
}

static bool pair_record_in(const unsigned char *v, size_t vlen, struct pair *out)
{
	if (vlen != PAIR_RECORD_BYTES || v[0] > PAIR_WAITLISTED)
		return false;
	*out = (struct pair){ .state = (enum pair_state)v[0] };
	if (out->state != PAIR_ABSENT) {
		out->seq = get_u32(v + 1);
		out->batch_id = get_u32(v + 5);
		out->line = get_u32(v + 9);
	}
	return true;
}

/* A student's record: its values (pointing into v) and created batch. */
static bool student_record_in(const unsigned char *v, size_t vlen,
			      struct text out[3], uint32_t *created)
{
	if (vlen < STUDENT_RECORD_HEAD)
		return false;
	*created = get_u32(v);
	size_t at = STUDENT_RECORD_HEAD;
	for (int i = 0; i < 3; i++) {
		uint16_t len;
		memcpy(&len, v + 4 + 2 * i, sizeof(len));
		if (at + len > vlen)
			return false;
		out[i] = (struct text){ (const char *)v + at, len };
		at += len;
	}
	return at == vlen;
}

static enum status damaged_run(struct db *db, struct error *err)
{
	return error_set(err, ST_IO, "%s: the batch's temporary file does not"
			 " hold what was written to it", db->path);
}

/* Writes the dirty students, sorted, as a run. */
static enum status spill_students(struct db *db, struct error *err)
{
	struct store_cache *sc = db->cache;
	size_t n = sc->ndirty_students;
	const uint32_t *idx = sc->dirty_students;
	if (!n)
		return ST_OK;
	enum status st = runset_begin(sc->student_runs, n, err);
	for (size_t i = 0; st == ST_OK && i < n; i++) {
		if (i + PREFETCH_AHEAD < n)
			pcache_student_prefetch(sc->pc, idx[i + PREFETCH_AHEAD]);
		if (i + PREFETCH_AHEAD / 2 < n)
			pcache_student_texts_prefetch(sc->pc,
						      idx[i + PREFETCH_AHEAD / 2]);
		const struct pc_student *v = pcache_student_at(sc->pc, idx[i]);
		size_t values = (size_t)v->len[0] + v->len[1] + v->len[2];
		if (!record_room(sc, STUDENT_RECORD_HEAD + values))
			return cache_nomem(db, err);
		put_u32(sc->record, v->created);
		memcpy(sc->record + 4, v->len, sizeof(v->len));
		if (values)
			memcpy(sc->record + STUDENT_RECORD_HEAD,
			       pcache_text(sc->pc, v->val_off), values);
		st = runset_add(sc->student_runs, pcache_student_id(sc->pc, v),
				v->id_len, sc->record, STUDENT_RECORD_HEAD + values,
				err);
	}
	if (st == ST_OK)
		st = runset_end(sc->student_runs, err);
	if (st == ST_OK)
		students_written(sc);
	return st;
}

/* Writes the dirty pairs, sorted, as a run: a pair that is gone as a
 * record of PAIR_ABSENT, unless the store held none. */
static enum status spill_pairs(struct db *db, struct error *err)
{
	struct store_cache *sc = db->cache;
	size_t n = sc->ndirty_pairs;
	const uint32_t *idx = sc->dirty_pairs;
	if (!n)
		return ST_OK;
	enum status st = runset_begin(sc->pair_runs, n, err);
	unsigned char value[PAIR_RECORD_BYTES];
	for (size_t i = 0; st == ST_OK && i < n; i++) {
		if (i + PREFETCH_AHEAD < n)
			pcache_pair_prefetch(sc->pc, idx[i + PREFETCH_AHEAD]);
		if (i + PREFETCH_AHEAD / 2 < n)
			pcache_pair_student_prefetch(sc->pc,
						     idx[i + PREFETCH_AHEAD / 2]);
		const struct pc_pair *p = pcache_pair_at(sc->pc, idx[i]);
		if (pair_kind(p) == W_COUNT)
			continue;
		struct text who = student_text(sc, p->student);
		if (!pair_key(sc, p->course, who))
			return cache_nomem(db, err);
		pair_record_out(p, value);
		st = runset_add(sc->pair_runs, sc->record,
				PAIR_KEY_BYTES + who.len, value, sizeof(value),
				err);
	}
	if (st == ST_OK)
		st = runset_end(sc->pair_runs, err);
	if (st == ST_OK)
		pairs_written(sc);
	return st;
}

/*
 * The runs into the tables: a record at a time, through bulk writes
 * (sqldb.h: groups of rows per INSERT), what is gone by its statement.
 * A row the table cannot hold yet goes in by a plain INSERT; others by an
 * upsert, twice the B-tree work (a 5M-row merge: 3.0 s against 5.8).
 */
struct merge {
	struct db *db;
	struct sqldb_bulk *insert, *upsert;
};

#define MERGE_STUDENTS_INSERT \
	"INSERT INTO students (student_id, first_name, last_name, email," \
	" created_batch) VALUES (?1, ?2, ?3, ?4, ?5)"
#define MERGE_PAIRS_INSERT \
	"INSERT INTO registrations (" REG_NAMES ")" \
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
static const char merge_students_upsert[] =
	MERGE_STUDENTS_INSERT " ON CONFLICT (student_id) DO UPDATE SET"
	" first_name = excluded.first_name, last_name = excluded.last_name,"
	" email = excluded.email";
static const char merge_pairs_upsert[] =
	MERGE_PAIRS_INSERT " ON CONFLICT (course_id, student_id) DO UPDATE SET"
	" status = excluded.status, seq = excluded.seq,"
	" batch_id = excluded.batch_id, line = excluded.line";

static enum status merge_student(void *ctx, const unsigned char *key,
				 size_t klen, const unsigned char *val,
				 size_t vlen, struct error *err)
{
	struct merge *m = ctx;
	struct text v[3];
	uint32_t created;
	struct text id = { (const char *)key, klen };
	if (!student_record_in(val, vlen, v, &created))
		return damaged_run(m->db, err);
	struct sqldb_bulk *b = m->db->cache->students_table_empty ? m->insert :
								  m->upsert;
	sqldb_bulk_text(b, id.s, id.len);
	for (int i = 0; i < 3; i++)
		sqldb_bulk_text(b, v[i].s ? v[i].s : "", v[i].len);
	sqldb_bulk_int64(b, created);
	enum sqldb_rc rc = sqldb_bulk_row_end(b);
	return rc == SQLDB_OK ? ST_OK :
				student_fail(m->db, rc, id, "writing a student", err);
}

static enum status merge_pair(void *ctx, const unsigned char *key, size_t klen,
			      const unsigned char *val, size_t vlen,
			      struct error *err)
{
	struct merge *m = ctx;
	struct store_cache *sc = m->db->cache;
	struct pair p;
	if (klen < PAIR_KEY_BYTES || !pair_record_in(val, vlen, &p))
		return damaged_run(m->db, err);
	struct text id = { (const char *)key + PAIR_KEY_BYTES,
			   klen - PAIR_KEY_BYTES };
	uint32_t course = key_course(key);
	if (p.state == PAIR_ABSENT) {
		struct sqldb_stmt *stmt = stmt_of(m->db, S_DELETE_REG);
		sqldb_bind_int64(stmt, 1, course);
		bind_text(stmt, 2, id);
		return step_done(m->db, stmt, id, "removing a registration", err);
	}
	struct sqldb_bulk *b = sc->pairs_table_untouched &&
					       course_was_empty(sc, course) ?
				       m->insert :
				       m->upsert;
	const char *state = state_name(p.state);
	sqldb_bulk_int64(b, course);
	sqldb_bulk_text(b, id.s, id.len);
	sqldb_bulk_text(b, state, strlen(state));
	sqldb_bulk_int64(b, p.seq);
	sqldb_bulk_int64(b, p.batch_id);
	sqldb_bulk_int64(b, p.line);
	enum sqldb_rc rc = sqldb_bulk_row_end(b);
	return rc == SQLDB_OK ? ST_OK :
				student_fail(m->db, rc, id, "writing a registration",
					     err);
}

/* One runset into a table through a bulk of each SQL (staging names the
 * bulks; set_sql, PostgreSQL's, is never run: no runs there). */
static enum status merge_into(struct db *db, struct runset *rs,
			      const char *staging, const char *columns,
			      const char *insert_sql, const char *upsert_sql,
			      runset_fn fn, const char *doing,
			      struct error *err)
{
	if (!runset_count(rs))
		return ST_OK;
	struct merge m = { db, NULL, NULL };
	enum sqldb_rc rc = sqldb_bulk_begin(db->c, staging, columns, insert_sql,
					    insert_sql, &m.insert);
	if (rc == SQLDB_OK)
		rc = sqldb_bulk_begin(db->c, staging, columns, upsert_sql,
				      upsert_sql, &m.upsert);
	enum status st = rc == SQLDB_OK ? runset_each(rs, NULL, 0, fn, &m, err) :
					  db__fail(db, rc, doing, err);
	if (st != ST_OK) {
		sqldb_bulk_abort(m.insert);
		sqldb_bulk_abort(m.upsert);
		return st;
	}
	/* After a failed write SQLite may have rolled the transaction back
	 * (out of memory): the other bulk's rows are given up, or they would
	 * be written outside it (make torture, oom csv-spill). */
	rc = sqldb_bulk_finish(m.insert, NULL);
	if (rc != SQLDB_OK) {
		sqldb_bulk_abort(m.upsert);
		return db__fail(db, rc, doing, err);
	}
	rc = sqldb_bulk_finish(m.upsert, NULL);
	return rc == SQLDB_OK ? ST_OK : db__fail(db, rc, doing, err);
}

/* Writes every run into the tables, in key order (the students first, as
 * a flush does), and forgets them. */
static enum status runs_merge(struct db *db, struct error *err)
{
	struct store_cache *sc = db->cache;
	if (!runs_held(sc))
		return ST_OK;
	enum status st = merge_into(db, sc->student_runs, "merge_students",
				    write_specs[W_STUDENT_INSERT].columns,
				    MERGE_STUDENTS_INSERT, merge_students_upsert,
				    merge_student, "writing a student", err);
	if (st == ST_OK)
		st = merge_into(db, sc->pair_runs, "merge_pairs", REG_COLUMNS,
				MERGE_PAIRS_INSERT, merge_pairs_upsert,
				merge_pair, "writing a registration", err);
	/* Whatever happened, the tables may hold rows of the runs now. */
	sc->students_table_empty = false;
	sc->pairs_table_untouched = false;
	if (st == ST_OK) {
		runset_clear(sc->student_runs);
		runset_clear(sc->pair_runs);
	}
	return st;
}

/* The newest run's record of the pair: *found, and it in *out. */
static enum status run_pair_find(struct db *db, int64_t course_id,
				 struct text student, struct pair *out,
				 bool *found, struct error *err)
{
	struct store_cache *sc = db->cache;
	*found = false;
	if (!sc->pair_runs || !runset_count(sc->pair_runs))
		return ST_OK;
	if (!pair_key(sc, (uint32_t)course_id, student))
		return cache_nomem(db, err);
	const unsigned char *v;
	size_t vlen;
	enum status st = runset_find(sc->pair_runs, sc->record,
				     PAIR_KEY_BYTES + student.len, &v, &vlen,
				     found, err);
	if (st == ST_OK && *found && !pair_record_in(v, vlen, out))
		st = damaged_run(db, err);
	return st;
}

/* The pairs' sort, on a thread of its own. */
struct pair_sort {
	struct pcache *pc;
	uint32_t *idx;
	size_t n;
	bool sorted;
};

static void *pair_sort_main(void *arg)
{
	struct pair_sort *job = arg;
	job->sorted = pcache_sort_pairs(job->pc, job->idx, job->n);
	return NULL;
}

/* Fewer pairs sort in less time than a thread takes to start. */
#define PAIR_SORT_THREAD_MIN 65536

/*
 * The students, then the pairs.  The pairs' sort (a tenth of a first
 * run's flush) reads only the pairs and the students' ranks, which the
 * students' sort leaves; the students' write reads only the students and
 * SQLite: so the pairs sort on a thread of their own while the students
 * are written (or before, on this one, when no thread can be had).
 * Written into the tables, or (spill) as a run of each runset.  A sort
 * that runs out of memory leaves its list as it was: into the tables it
 * only writes slower; a run is in key order or is not made, so such a
 * list goes into the tables, after the runs (older).
 */
static enum status cache_write(struct db *db, bool spill, struct error *err)
{
	struct store_cache *sc = db->cache;
	bool students_sorted = !sc->ndirty_students ||
			       pcache_sort_students(sc->pc, sc->dirty_students,
						    sc->ndirty_students);
	struct pair_sort job = { sc->pc, sc->dirty_pairs, sc->ndirty_pairs,
				 true };
	pthread_t sorter;
	bool threaded = job.n >= PAIR_SORT_THREAD_MIN && sc->ndirty_students &&
			pthread_create(&sorter, NULL, pair_sort_main, &job) == 0;
	if (!threaded && job.n)
		job.sorted = pcache_sort_pairs(job.pc, job.idx, job.n);
	enum status st = spill && !students_sorted ? runs_merge(db, err) : ST_OK;
	if (st == ST_OK)
		st = spill && students_sorted ? spill_students(db, err) :
						flush_students(db, err);
	if (threaded)
		pthread_join(sorter, NULL);
	if (st == ST_OK && spill && !job.sorted)
		st = runs_merge(db, err);
	if (st == ST_OK)
		st = spill && job.sorted ? spill_pairs(db, err) :
					   flush_pairs(db, err);
	return st;
}

/*
 * Writes what the cache holds, the runs first: after it, the tables hold
 * everything the batch did (SQL that reads them may run).
 */
enum status db__cache_flush(struct db *db, struct error *err)
{
	struct store_cache *sc = db->cache;
	if (!sc)
		return ST_OK;
	if (!runs_held(sc))
		return cache_write(db, false, err);
	/* The part in memory is the newest run: one merge writes all. */
	enum status st = cache_write(db, true, err);
	return st == ST_OK ? runs_merge(db, err) : st;
}

#ifdef BULKREG_TEST_HOOKS
/* Test builds only: BULKREG_TEST_HOLD_FLUSH=DIR makes the batch, once it
 * has decided every row, create DIR/held and wait for DIR/go before it
 * writes -- so a test can let another batch run in between. */
static void hold_before_flush(void)
{
	const char *dir = getenv("BULKREG_TEST_HOLD_FLUSH");
	char path[4096];
	if (!dir || !*dir)
		return;
	snprintf(path, sizeof(path), "%s/held", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/go", dir);
	struct timespec pause = { 0, 2000000 };
	while (access(path, F_OK) != 0)
		nanosleep(&pause, NULL);
}
#else
static void hold_before_flush(void)
{
}
#endif

enum status db__cache_final_flush(struct db *db, struct error *err)
{
	if (!db->cache)
		return ST_OK;
	hold_before_flush();
	struct store_cache *sc = db->cache;
	pcache_drop_indexes(sc->pc);
	enum status st;
	if (runs_held(sc)) {
		/* The last part as a run too; then the entries' memory goes
		 * back before the merge writes everything once. */
		st = cache_write(db, true, err);
		if (st == ST_OK) {
			pcache_clear(sc->pc);
			st = runs_merge(db, err);
		}
	} else {
		st = db__cache_flush(db, err);
	}
	if (st == ST_OK)
		db__cache_end(db);
	return st;
}

/* Writes everything, marks too, and empties the cache. */
static enum status cache_restart(struct db *db, struct error *err)
{
	struct store_cache *sc = db->cache;
	enum status st = sc->pair_runs ? cache_write(db, true, err) :
					 db__cache_flush(db, err);
	if (st == ST_OK && sc->pair_runs &&
	    (runset_count(sc->pair_runs) >= RUNS_MAX ||
	     runset_count(sc->student_runs) >= RUNS_MAX))
		st = runs_merge(db, err);
	if (st == ST_OK)
		st = store_marks(db, err);
	if (st != ST_OK)
		return st;
	if (pcache_pair_count(sc->pc))
		sc->marks_spilled = true;
	free(sc->by_course);
	free(sc->by_course_at);
	sc->by_course = sc->by_course_at = NULL;
	sc->by_course_pairs = 0;
	sc->student_misses = 0;
	orders_free(sc);
	/* What was complete stays so, through the filters of what was
	 * written (pair_cache.h). */
	/* The runs' memory comes out of the budget, up to half of it. */
	size_t held = runs_bytes(sc);
	if (!pcache_restart(sc->pc, sc->budget - (held < sc->budget / 2 ?
							  held :
							  sc->budget / 2))) {
		sc->students_complete = false;
		return cache_nomem(db, err);
	}
	sc->ndirty_pairs = sc->ndirty_students = sc->nmarked = 0;
	return ST_OK;
}

/* Room for a new entry: over budget, start again empty. */
static enum status cache_room(struct db *db, struct error *err)
{
	struct store_cache *sc = db->cache;
	if ((!sc->restart_every ||
	     pcache_pair_count(sc->pc) + pcache_student_count(sc->pc) <
		     sc->restart_every) &&
	    pcache_bytes(sc->pc) + runs_bytes(sc) < sc->budget &&
	    pcache_pair_count(sc->pc) < PCACHE_ENTRIES_MAX - 1 &&
	    pcache_student_count(sc->pc) < PCACHE_ENTRIES_MAX - 1)
		return ST_OK;
	return cache_restart(db, err);
}

/* A value the cache cannot hold: write everything and go on without it. */
static enum status cache_off(struct db *db, struct error *err)
{
	enum status st = cache_restart(db, err);
	if (st == ST_OK)
		st = runs_merge(db, err);
	if (st != ST_OK)
		return st;
	db__cache_end(db);
	return ST_OK;
}

void db__cache_end(struct db *db)
{
	struct store_cache *sc = db->cache;
	if (!sc)
		return;
	pcache_free(sc->pc);
	free(sc->dirty_pairs);
	free(sc->dirty_students);
	free(sc->marked);
	free(sc->by_course);
	free(sc->by_course_at);
	orders_free(sc);
	runset_free(sc->pair_runs);
	runset_free(sc->student_runs);
	free(sc->record);
	free(sc->empty_courses);
	free(sc);
	db->cache = NULL;
	if (!db->pg)
		sqldb_exec(db->c, DB_SQLITE_CACHE_PRAGMA);
}

static uint64_t cache_seed(void)
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

/* The batch took course c (store_course_lock): how many pairs it holds
 * now, and with none, nothing to look up. */
static enum status cache_course_taken(struct db *db, const struct course *c)
{
	struct pc_course *pcc = db->cache ? pcache_course(db->cache->pc, c->id) :
					    NULL;
	if (!pcc)
		return ST_OK; /* looked up one by one */
	pcc->stored_pairs = c->registered + c->waitlisted;
	if (pcc->stored_pairs == 0)
		pcc->complete = pcc->whole = true;
	struct store_cache *sc = db->cache;
	if (pcc->stored_pairs != 0 || !sc->pair_runs)
		return ST_OK;
	size_t word = (size_t)c->id / 64;
	if (word >= sc->empty_courses_words) {
		size_t n = word + 1 > 2 * sc->empty_courses_words ?
				   word + 1 :
				   2 * sc->empty_courses_words;
		uint64_t *w = realloc(sc->empty_courses, n * sizeof(*w));
		if (!w)
			return ST_OK; /* upserts, then */
		memset(w + sc->empty_courses_words, 0,
		       (n - sc->empty_courses_words) * sizeof(*w));
		sc->empty_courses = w;
		sc->empty_courses_words = n;
	}
	sc->empty_courses[word] |= (uint64_t)1 << (c->id % 64);
	return ST_OK;
}

/* Whether the course held no pair when the batch took it. */
static bool course_was_empty(const struct store_cache *sc, uint32_t course)
{
	return course / 64 < sc->empty_courses_words &&
	       (sc->empty_courses[course / 64] >> (course % 64) & 1);
}

#ifdef BULKREG_TEST_HOOKS
/* Test builds only (see the Makefile): BULKREG_TEST_CACHE_BUDGET=BYTES
 * shrinks the budget (restarts every few rows), 0 runs without the cache;
 * results must be the same either way (tests/e2e/t_cache.sh). */
static size_t cache_budget(void)
{
	const char *s = getenv("BULKREG_TEST_CACHE_BUDGET");
	int64_t n;
	if (s && *s && parse_int64(s, 0, INT64_MAX, &n))
		return (size_t)n;
	return CACHE_BUDGET;
}

/* BULKREG_TEST_RESTART_EVERY=N: a part holds at most N entries, within a
 * budget that still reads courses and students whole (the 4 KiB one does
 * not): the runs under every path that reads them. */
static uint32_t restart_every(void)
{
	const char *s = getenv("BULKREG_TEST_RESTART_EVERY");
	int64_t n;
	if (s && *s && parse_int64(s, 1, UINT32_MAX, &n))
		return (uint32_t)n;
	return 0;
}
#else
static size_t cache_budget(void)
{
	return CACHE_BUDGET;
}

static uint32_t restart_every(void)
{
	return 0;
}
#endif

void db_set_memory_held(struct db *db, size_t bytes)
{
	db->memory_held = bytes;
}

/* The smallest budget a cache still pays for itself with: its filters
 * after a restart take 6 MiB (pair_cache.h). */
#define CACHE_BUDGET_MIN ((size_t)16 << 20)

enum status db__cache_start(struct db *db, enum batch_kind kind,
			    int64_t batch_id, struct error *err)
{
	db__cache_end(db);
	size_t budget = cache_budget();
	/* What the caller holds (the --users index) comes out of it. */
	if (budget == CACHE_BUDGET)
		budget = budget > db->memory_held + CACHE_BUDGET_MIN ?
				 budget - db->memory_held :
				 CACHE_BUDGET_MIN;
	/* Undo and repair change pairs with set-based SQL of their own. */
	if (kind == BATCH_KIND_UNDO || kind == BATCH_KIND_REPAIR ||
	    !fits32(batch_id) || budget == 0)
		return ST_OK;
	struct store_cache *sc = calloc(1, sizeof(*sc));
	uint64_t seed = cache_seed();
	if (sc)
		sc->pc = pcache_new(seed);
	if (sc && sc->pc && !db->pg) {
		sc->pair_runs = runset_new(splitmix64(seed));
		sc->student_runs = runset_new(splitmix64(seed + 1));
	}
	if (!sc || !sc->pc ||
	    (sc->pair_runs == NULL) != (sc->student_runs == NULL)) {
		if (sc) {
			pcache_free(sc->pc);
			runset_free(sc->pair_runs);
			runset_free(sc->student_runs);
		}
		free(sc);
		return cache_nomem(db, err);
	}
	sc->batch_id = batch_id;
	sc->budget = budget;
	sc->restart_every = restart_every();
	sc->students_stored = -1;
	db->cache = sc;
	enum status st = db->pg ? ST_OK :
				  db__exec(db, DB_SQLITE_BATCH_CACHE_PRAGMA,
					   "starting the batch", err);
	if (st != ST_OK) {
		db__cache_end(db);
		return st;
	}
	/* No stored student: none needs looking up (a first run). */
	int64_t any = 0;
	st = db__query_int(db,
				       "SELECT count(*) FROM (SELECT 1 FROM"
				       " students LIMIT 1) AS s",
				       0, &any, "starting the batch", err);
	if (st != ST_OK) {
		db__cache_end(db);
		return st;
	}
	sc->students_complete = any == 0;
	sc->students_table_empty = any == 0;
	sc->pairs_table_untouched = true;
	st = db__query_int(db,
			   "SELECT coalesce(sum(registered + waitlisted), 0)"
			   " FROM courses",
			   0, &sc->pairs_stored, "starting the batch", err);
	if (st != ST_OK)
		db__cache_end(db);
	return st;
}

void store_expect_rows(struct store *s, uint64_t rows)
{
	struct db *db = db_of(s);
	if (db->cache)
		db->cache->rows_expected = rows;
}

/* Whether reading `rows` more rows whole (LOAD_ROW_BYTES each) stays
 * within the cache's budget. */
static bool load_fits(const struct store_cache *sc, size_t rows)
{
	return pcache_bytes(sc->pc) + rows * LOAD_ROW_BYTES < sc->budget;
}

/* A course's stored pairs; not known: taken as many. */
static size_t stored_pairs(const struct pc_course *pcc)
{
	return pcc->stored_pairs >= 0 ? (size_t)pcc->stored_pairs :
					(size_t)1 << 20;
}

/*
 * Whether a batch of this many rows will likely ask about a large enough
 * share of what is stored to make reading it whole worth it right away:
 * a course's rows among the roster's are taken to be its share of the
 * stored registrations, so its look-ups would pay for reading it whole
 * (LOAD_RATIO) once rows * LOAD_RATIO reach the stored total.  Without it,
 * the first LOAD_RATIO-th of each course's rows were looked up one by one
 * (a 1M re-run: 57k look-ups, about 0.15 s).
 */
static bool rows_expected_cover(const struct store_cache *sc, int64_t stored,
				size_t ratio)
{
	return sc->rows_expected && stored >= 0 &&
	       sc->rows_expected * ratio >= (uint64_t)stored;
}

/* ---- pairs through the cache ---------------------------------------------- */

static void pair_out(const struct pc_pair *p, struct pair *out)
{
	*out = (struct pair){ .state = (enum pair_state)p->state };
	if (p->state != PAIR_ABSENT) {
		out->seq = p->seq;
		out->batch_id = p->batch;
		out->line = p->line;
	}
}

/* Fills a known entry from a pair; false if a number does not fit. */
static bool pair_in(struct pc_pair *p, const struct pair *v)
{
	if (v->state != PAIR_ABSENT &&
	    (!fits32(v->seq) || !fits32(v->batch_id) || !fits32(v->line)))
		return false;
	p->state = (uint8_t)v->state;
	p->seq = v->state != PAIR_ABSENT ? (uint32_t)v->seq : 0;
	p->batch = v->state != PAIR_ABSENT ? (uint32_t)v->batch_id : 0;
	p->line = v->state != PAIR_ABSENT ? (uint32_t)v->line : 0;
	p->flags |= PCP_KNOWN;
	return true;
}

/* One stored pair of a course being read whole; *whole turns false when
 * the cache cannot hold its values (then looked up one by one). */
static enum status load_pair(struct db *db, uint32_t course, const char *id,
			     size_t len, const struct pair *v, bool *whole,
			     struct error *err)
{
	struct store_cache *sc = db->cache;
	uint32_t sidx = pcache_student(sc->pc, id, len, true);
	struct pc_pair *p = sidx == PC_NONE ? NULL :
			    pcache_pair(sc->pc, course, sidx, true, NULL);
	if (!p)
		return cache_nomem(db, err);
	if (p->flags & PCP_KNOWN)
		return ST_OK;
	if (!pair_in(p, v)) {
		*whole = false;
		p->flags = 0;
		return ST_OK;
	}
	p->flags |= PCP_IN_DB;
	return ST_OK;
}

/*
 * A course's rows come from the scan in student order, their entries in
 * the cache anywhere: each row's look-ups (its student, its pair) are two
 * or three misses of the processor's caches.  The scan hands them over a
 * block at a time (scan.h: read on a thread of its own on SQLite, while
 * the block before is filed), and a block's slots and entries are asked
 * for together first (pcache_rows_prefetch), so the misses overlap.
 */
_Static_assert(SCAN_BLOCK_ROWS <= PCACHE_PREFETCH_MAX, "a block's prefetch");

/* A scan on a thread of its own pays for the thread (tens of
 * microseconds) from a few blocks up: a database of many small courses
 * reads them on the collector's thread. */
#define SCAN_THREAD_MIN_ROWS (8 * SCAN_BLOCK_ROWS)

static bool scan_threaded(const struct db *db, size_t rows)
{
	return !db->pg && rows >= SCAN_THREAD_MIN_ROWS;
}

/* A block's first column, the ids, as pcache_rows_prefetch takes them. */
static void scanned_ids(const struct scan_block *b, const char **id,
			size_t *len)
{
	for (size_t i = 0; i < b->n; i++) {
		id[i] = b->v[i][0].s ? b->v[i][0].s : "";
		len[i] = b->v[i][0].len;
	}
}

static enum pair_state scanned_state(const struct scan_value *v)
{
	if (!v->s)
		return PAIR_ABSENT;
	return v->len && v->s[0] == 'w' ? PAIR_WAITLISTED : PAIR_REGISTERED;
}

/* Reads every stored pair of the course into the cache (entries it holds
 * already are newer and stay).  The runs go into the table first: a read
 * whole after a restart is rare (a course first named late in a batch
 * past its budget), and what is merged need not be read twice. */
static enum status load_course(struct db *db, int64_t course_id,
			       struct error *err)
{
	static const char sql[] =
		"SELECT student_id, status, seq, batch_id, line"
		" FROM registrations WHERE course_id = ?1";
	struct store_cache *sc = db->cache;
	struct sqldb_stmt *stmt = NULL;
	enum status st = runs_merge(db, err);
	if (st == ST_OK)
		st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, course_id);
	/* Every course will be read (rows_expected_cover): the pairs' index
	 * sized once for all of them, when they fit (a hint). */
	if (!sc->pairs_reserved && sc->pairs_stored > 0 &&
	    rows_expected_cover(sc, sc->pairs_stored, LOAD_RATIO) &&
	    load_fits(sc, (size_t)sc->pairs_stored)) {
		sc->pairs_reserved = true;
		(void)pcache_reserve(sc->pc, 0, (size_t)sc->pairs_stored);
	}
	bool whole = true;
	struct pc_course *pcc = pcache_course(sc->pc, course_id);
	struct scan *scan = scan_start(stmt, "ttiii",
				       scan_threaded(db, pcc ? stored_pairs(pcc) :
							       SCAN_THREAD_MIN_ROWS));
	if (!scan) {
		sqldb_finalize(stmt);
		return cache_nomem(db, err);
	}
	const struct scan_block *b;
	const char *id[SCAN_BLOCK_ROWS];
	size_t len[SCAN_BLOCK_ROWS];
	uint32_t course[SCAN_BLOCK_ROWS];
	for (size_t i = 0; i < SCAN_BLOCK_ROWS; i++)
		course[i] = (uint32_t)course_id;
	while (st == ST_OK && (b = scan_next(scan)) != NULL) {
		scanned_ids(b, id, len);
		pcache_rows_prefetch(sc->pc, id, len, course, b->n);
		for (size_t i = 0; st == ST_OK && i < b->n; i++) {
			const struct scan_value *v = b->v[i];
			struct pair p = {
				.state = scanned_state(&v[1]),
				.seq = v[2].i,
				.batch_id = v[3].i,
				.line = v[4].i,
			};
			st = load_pair(db, (uint32_t)course_id, id[i], len[i], &p,
				       &whole, err);
		}
	}
	enum sqldb_rc rc = scan_end(scan);
	if (st == ST_OK && rc != SQLDB_DONE)
		st = db__fail(db, rc, "reading a course's registrations", err);
	sqldb_finalize(stmt);
	if (st == ST_OK && whole) {
		struct pc_course *c = pcache_course(sc->pc, course_id);
		if (c)
			c->complete = c->whole = true;
	}
	return st;
}

static bool load_worth_it(struct db *db, struct pc_course *pcc)
{
	if (db->pg)
		return true; /* a round trip per row is the worst of all */
	size_t stored = stored_pairs(pcc);
	if ((size_t)pcc->misses * LOAD_RATIO < stored &&
	    !rows_expected_cover(db->cache, db->cache->pairs_stored, LOAD_RATIO))
		return false;
	return load_fits(db->cache, stored);
}

/* The pair's entry, known (looked up or read with its course if need be);
 * *pp NULL with ST_OK: the cache was switched off (use the SQL). */
static enum status cached_pair(struct db *db, int64_t course_id,
			       struct text student, struct pc_pair **pp,
			       uint32_t *index, struct error *err)
{
	*pp = NULL;
	enum status st = cache_room(db, err);
	if (st != ST_OK)
		return st;
	if (!fits32(course_id) || student.len > UINT16_MAX)
		return cache_off(db, err);
	struct store_cache *sc = db->cache;
	uint32_t sidx = pcache_student(sc->pc, student.s, student.len, true);
	if (sidx == PC_NONE)
		return cache_nomem(db, err);
	struct pc_pair *p = pcache_pair(sc->pc, (uint32_t)course_id, sidx, true,
				       index);
	if (!p)
		return cache_nomem(db, err);
	if (p->flags & PCP_KNOWN) {
		*pp = p;
		return ST_OK;
	}
	struct pc_course *pcc = pcache_course(sc->pc, course_id);
	if (pcc && !pcc->complete && pcc->misses + 1 < UINT32_MAX) {
		pcc->misses++;
		if (load_worth_it(db, pcc)) {
			st = load_course(db, course_id, err);
			if (st != ST_OK)
				return st;
			pcc = pcache_course(sc->pc, course_id);
			p = pcache_pair(sc->pc, (uint32_t)course_id, sidx, false,
					index);
			if (!p)
				return cache_nomem(db, err);
			if (p->flags & PCP_KNOWN) {
				*pp = p;
				return ST_OK;
			}
		}
	}
	struct pair v = { .state = PAIR_ABSENT };
	if (!pcc || !pcc->complete ||
	    pcache_pair_written(sc->pc, (uint32_t)course_id, student.s,
				student.len)) {
		/* The runs hold what the batch wrote: newer than the table. */
		bool found;
		st = run_pair_find(db, course_id, student, &v, &found, err);
		if (st == ST_OK && !found)
			st = direct_pair_find(db, course_id, student, &v, err);
		if (st != ST_OK)
			return st;
		/* The look-up may not have moved anything, but be sure. */
		p = pcache_pair(sc->pc, (uint32_t)course_id, sidx, false,
				index);
		if (!p)
			return cache_nomem(db, err);
	}
	if (!pair_in(p, &v))
		return cache_off(db, err);
	if (v.state != PAIR_ABSENT)
		p->flags |= PCP_IN_DB;
	*pp = p;
	return ST_OK;
}

enum status store_pair_find(struct store *s, int64_t course_id,
			    struct text student, struct pair *out,
			    struct error *err)
{
	struct db *db = db_of(s);
	struct pc_pair *p = NULL;
	struct store_cache *sc = db->cache;
	if (sc && fits32(course_id)) {
		/* Without an entry in a course held whole, the pair is absent:
		 * no entry is made for it (a full course's rejected rows). */
		uint32_t sidx = pcache_student(sc->pc, student.s, student.len,
					       false);
		p = sidx == PC_NONE ? NULL :
				      pcache_pair(sc->pc, (uint32_t)course_id, sidx,
						  false, NULL);
		struct pc_course *pcc = p ? NULL : pcache_course(sc->pc, course_id);
		if ((p && (p->flags & PCP_KNOWN)) ||
		    (pcc && pcc->complete &&
		     !pcache_pair_written(sc->pc, (uint32_t)course_id, student.s,
					  student.len))) {
			*out = (struct pair){ .state = PAIR_ABSENT };
			if (p)
				pair_out(p, out);
			return ST_OK;
		}
	}
	enum status st = sc ? cached_pair(db, course_id, student, &p, NULL, err) :
			      ST_OK;
	if (st != ST_OK)
		return st;
	if (!p)
		return direct_pair_find(db, course_id, student, out, err);
	pair_out(p, out);
	return ST_OK;
}

/* Sets a known entry to v, to be written. */
static enum status pair_write(struct db *db, struct pc_pair *p, uint32_t idx,
			      const struct pair *v, bool *done,
			      struct error *err)
{
	uint8_t keep = p->flags;
	struct pc_pair was = *p;
	if (!pair_in(p, v)) {
		*p = was;
		p->flags = keep;
		*done = false;
		return cache_off(db, err);
	}
	*done = true;
	p->flags &= (uint8_t)~PCP_SEQ_ONLY;
	return pair_dirty(db, p, idx, err);
}

enum status store_pair_add(struct store *s, int64_t course_id,
			   struct text student, const struct pair *p,
			   bool *inserted, struct error *err)
{
	struct db *db = db_of(s);
	struct pc_pair *e = NULL;
	uint32_t idx = 0;
	enum status st = db->cache ? cached_pair(db, course_id, student, &e, &idx, err) :
				     ST_OK;
	if (st != ST_OK)
		return st;
	if (!e)
		return direct_pair_add(db, course_id, student, p, inserted, err);
	*inserted = false;
	if (e->state != PAIR_ABSENT)
		return ST_OK;
	bool done;
	st = pair_write(db, e, idx, p, &done, err);
	if (st == ST_OK && !done)
		return direct_pair_add(db, course_id, student, p, inserted, err);
	*inserted = st == ST_OK;
	return st;
}

enum status store_pair_update(struct store *s, int64_t course_id,
			      struct text student, const struct pair *p,
			      struct error *err)
{
	struct db *db = db_of(s);
	struct pc_pair *e = NULL;
	uint32_t idx = 0;
	enum status st = db->cache ? cached_pair(db, course_id, student, &e, &idx, err) :
				     ST_OK;
	if (st != ST_OK)
		return st;
	if (!e)
		return direct_pair_update(db, course_id, student, p, err);
	if (e->state == PAIR_ABSENT)
		return ST_OK; /* as an UPDATE of no row */
	struct pair v = { .state = p->state, .seq = p->seq, .batch_id = e->batch,
			  .line = e->line };
	bool done;
	st = pair_write(db, e, idx, &v, &done, err);
	if (st == ST_OK && !done)
		return direct_pair_update(db, course_id, student, p, err);
	return st;
}

enum status store_pair_set(struct store *s, int64_t course_id,
			   struct text student, const struct pair *p,
			   struct error *err)
{
	struct db *db = db_of(s);
	struct pc_pair *e = NULL;
	uint32_t idx = 0;
	enum status st = db->cache ? cached_pair(db, course_id, student, &e, &idx, err) :
				     ST_OK;
	if (st != ST_OK)
		return st;
	if (!e)
		return direct_pair_set(db, course_id, student, p, err);
	bool done;
	st = pair_write(db, e, idx, p, &done, err);
	if (st == ST_OK && !done)
		return direct_pair_set(db, course_id, student, p, err);
	return st;
}

/* ---- the batch's memory of the roster, through the cache ------------------- */

/* The pair's entry for a mark (its state need not be known); NULL with
 * ST_OK: the marks are in the temp tables. */
static enum status marked_pair(struct db *db, int64_t course_id,
			       struct text student, struct pc_pair **pp,
			       uint32_t *index, struct error *err)
{
	*pp = NULL;
	if (!db->cache || db->cache->marks_spilled)
		return ST_OK;
	enum status st = cache_room(db, err);
	if (st != ST_OK || !db->cache || db->cache->marks_spilled)
		return st;
	if (!fits32(course_id) || student.len > UINT16_MAX)
		return cache_off(db, err);
	struct store_cache *sc = db->cache;
	uint32_t sidx = pcache_student(sc->pc, student.s, student.len, true);
	struct pc_pair *p = sidx == PC_NONE ? NULL :
			    pcache_pair(sc->pc, (uint32_t)course_id, sidx, true,
					index);
	if (!p)
		return cache_nomem(db, err);
	*pp = p;
	return ST_OK;
}

enum status store_mark_seen(struct store *s, int64_t course_id,
			    struct text student, int64_t line,
			    int64_t *first_line, struct error *err)
{
	struct db *db = db_of(s);
	struct pc_pair *p;
	uint32_t idx = 0;
	enum status st = marked_pair(db, course_id, student, &p, &idx, err);
	if (st != ST_OK)
		return st;
	if (p && !fits32(line))
		st = cache_off(db, err), p = NULL;
	if (st != ST_OK)
		return st;
	if (!p)
		return direct_mark_seen(db, course_id, student, line, first_line,
					err);
	*first_line = p->seen_line;
	if (p->seen_line)
		return ST_OK;
	p->seen_line = (uint32_t)line;
	return (p->flags & PCP_NAMED) ? ST_OK : pair_marked(db, idx, err);
}

enum status store_mark_named(struct store *s, int64_t course_id,
			     struct text student, struct error *err)
{
	struct db *db = db_of(s);
	struct pc_pair *p;
	uint32_t idx = 0;
	enum status st = marked_pair(db, course_id, student, &p, &idx, err);
	if (st != ST_OK)
		return st;
	if (!p)
		return direct_mark_named(db, course_id, student, err);
	if (p->flags & PCP_NAMED)
		return ST_OK;
	p->flags |= PCP_NAMED;
	return p->seen_line ? ST_OK : pair_marked(db, idx, err);
}

/* ---- reading courses: the cache's writes first ---------------------------- */

enum status store_waitlist_each(struct store *s, int64_t course_id,
				store_pair_fn fn, void *ctx, struct error *err)
{
	enum status st = db__cache_flush(db_of(s), err);
	return st == ST_OK ? direct_waitlist_each(db_of(s), course_id, fn, ctx, err) :
			     st;
}

/* The course's waitlisted pairs as (seq << 32 | entry), by seq, from its
 * group (which must be current; course_id within it); *n of them.  NULL
 * when out of memory. */
static uint64_t *course_waitlist(struct store_cache *sc, int64_t course_id,
				 uint32_t *n)
{
	uint32_t from = sc->by_course_at[course_id - 1];
	uint32_t to = sc->by_course_at[course_id];
	uint64_t *keys = malloc((to - from ? to - from : 1) * sizeof(*keys));
	if (!keys)
		return NULL;
	*n = 0;
	for (uint32_t k = from; k < to; k++) {
		const struct pc_pair *p = pcache_pair_at(sc->pc, sc->by_course[k]);
		if ((p->flags & PCP_KNOWN) && p->state == PAIR_WAITLISTED)
			keys[(*n)++] = (uint64_t)p->seq << 32 | sc->by_course[k];
	}
	pcache_sort_u64(keys, *n);
	return keys;
}

static bool order_build(struct store_cache *sc, struct waitlist_order *o,
			int64_t course_id)
{
	uint32_t n;
	uint64_t *keys = course_waitlist(sc, course_id, &n);
	if (!keys)
		return false;
	free(o->keys);
	*o = (struct waitlist_order){ .keys = keys, .n = n };
	return true;
}

/*
 * The first waitlisted pair of a course the cache holds whole, without
 * writing the cache out for an SQL look-up (a --sync's every promotion
 * did that).  Its order, once built, stays right: a pair that leaves the
 * waitlist is skipped (its state or seq no longer the listed ones), and
 * one that joins later has a higher seq than every listed one, so when
 * the listed ones are used up the order is built again once.  Only while
 * the course's group is current (no pair added since: --sync's end, not
 * a roster's drop rows, where building it again per call would cost the
 * whole cache each time); *used is false otherwise.
 */
static enum status cached_waitlist_first(struct db *db, int64_t course_id,
					 char *student_id, size_t cap,
					 size_t *len, bool *found, bool *used,
					 struct error *err)
{
	struct store_cache *sc = db->cache;
	*used = false;
	struct pc_course *pcc = pcache_course(sc->pc, course_id);
	if (!pcc || !pcc->whole || !sc->by_course || course_id < 1 ||
	    sc->by_course_pairs != pcache_pair_count(sc->pc) ||
	    (uint64_t)course_id > sc->by_course_max)
		return ST_OK;
	if ((size_t)course_id >= sc->norders) {
		size_t n = (size_t)sc->by_course_max + 1;
		struct waitlist_order *o = realloc(sc->orders, n * sizeof(*o));
		if (!o)
			return cache_nomem(db, err);
		memset(o + sc->norders, 0, (n - sc->norders) * sizeof(*o));
		sc->orders = o;
		sc->norders = n;
	}
	struct waitlist_order *o = &sc->orders[course_id];
	*used = true;
	*found = false;
	*len = 0;
	for (int pass = 0; pass < 2 && !*found; pass++) {
		if ((pass == 1 || !o->keys) && !order_build(sc, o, course_id))
			return cache_nomem(db, err);
		for (; o->at < o->n; o->at++) {
			uint32_t idx = (uint32_t)o->keys[o->at];
			const struct pc_pair *p = pcache_pair_at(sc->pc, idx);
			if ((p->flags & PCP_KNOWN) && p->state == PAIR_WAITLISTED &&
			    p->seq == (uint32_t)(o->keys[o->at] >> 32)) {
				struct text t = student_text(sc, p->student);
				size_t n = t.len < cap ? t.len : cap - 1;
				memcpy(student_id, t.s, n);
				student_id[n] = '\0';
				*len = n;
				*found = true;
				break;
			}
		}
	}
	return ST_OK;
}

enum status store_waitlist_first(struct store *s, int64_t course_id,
				 char *student_id, size_t cap, size_t *len,
				 bool *found, struct error *err)
{
	struct db *db = db_of(s);
	if (db->cache) {
		bool used;
		enum status st = cached_waitlist_first(db, course_id, student_id,
						       cap, len, found, &used,
						       err);
		if (st != ST_OK || used)
			return st;
	}
	enum status st = db__cache_flush(db_of(s), err);
	return st == ST_OK ? direct_waitlist_first(db_of(s), course_id, student_id,
						   cap, len, found, err) :
			     st;
}

static enum status group_by_course(struct db *db, struct error *err);


/* Renumbers the waitlist of a course the cache holds whole: only the pairs
 * whose place changed are written (the SQL rewrote every place behind the
 * first gap, course by course: a fifth of a sync). */
static enum status cached_renumber(struct db *db, int64_t course_id,
				  struct error *err)
{
	struct store_cache *sc = db->cache;
	enum status st = group_by_course(db, err);
	if (st != ST_OK || course_id < 1 ||
	    (uint64_t)course_id > sc->by_course_max)
		return st;
	uint32_t n;
	uint64_t *list = course_waitlist(sc, course_id, &n);
	if (!list)
		return cache_nomem(db, err);
	for (size_t i = 0; st == ST_OK && i < n; i++) {
		uint32_t idx = (uint32_t)list[i];
		struct pc_pair *p = pcache_pair_at(sc->pc, idx);
		if (p->seq == i + 1)
			continue;
		/* As the database holds it but for its place: only that
		 * is written. */
		if ((p->flags & (PCP_IN_DB | PCP_DIRTY)) == PCP_IN_DB)
			p->flags |= PCP_SEQ_ONLY;
		p->seq = (uint32_t)(i + 1);
		st = pair_dirty(db, p, idx, err);
	}
	free(list);
	return st;
}

enum status store_waitlist_renumber(struct store *s, int64_t course_id,
				    struct error *err)
{
	struct db *db = db_of(s);
	struct store_cache *sc = db->cache;
	struct pc_course *pcc = sc ? pcache_course(sc->pc, course_id) : NULL;
	if (pcc && pcc->whole)
		return cached_renumber(db, course_id, err);
	enum status st = db__cache_flush(db, err);
	if (st == ST_OK)
		st = direct_waitlist_renumber(db, course_id, err);
	if (st != ST_OK || !sc)
		return st;
	/* The course's waitlisted pairs have new seqs in the database: the
	 * cache forgets them (their marks stay) and the course is no longer
	 * held whole, so they are read again if asked for. */
	st = group_by_course(db, err);
	if (st != ST_OK)
		return st;
	pcc = pcache_course(sc->pc, course_id);
	if (pcc)
		pcc->complete = pcc->whole = false;
	if (course_id < 1 || (uint64_t)course_id > sc->by_course_max)
		return ST_OK;
	for (uint32_t k = sc->by_course_at[course_id - 1];
	     k < sc->by_course_at[course_id]; k++) {
		struct pc_pair *p = pcache_pair_at(sc->pc, sc->by_course[k]);
		if ((p->flags & PCP_KNOWN) && p->state == PAIR_WAITLISTED)
			p->flags &= (uint8_t)~(PCP_KNOWN | PCP_IN_DB);
	}
	return ST_OK;
}

struct unnamed_entry {
	struct pair pair;
	uint64_t id_at;  /* into the snapshot's ids */
	uint16_t id_len;
};

static int compare_unnamed(const void *a, const void *b)
{
	const struct pair *x = &((const struct unnamed_entry *)a)->pair;
	const struct pair *y = &((const struct unnamed_entry *)b)->pair;
	bool xw = x->state == PAIR_WAITLISTED, yw = y->state == PAIR_WAITLISTED;
	if (xw != yw)
		return xw ? 1 : -1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Groups the cache's pairs by course (a counting sort), unless the
 * grouping is current: a sync asks for every course in turn, and a scan of
 * the whole cache per course would be quadratic. */
static enum status group_by_course(struct db *db, struct error *err)
{
	struct store_cache *sc = db->cache;
	uint32_t n = pcache_pair_count(sc->pc);
	if (sc->by_course && sc->by_course_pairs == n)
		return ST_OK;
	uint32_t max = 0;
	for (uint32_t i = 0; i < n; i++)
		if (pcache_pair_at(sc->pc, i)->course > max)
			max = pcache_pair_at(sc->pc, i)->course;
	free(sc->by_course);
	free(sc->by_course_at);
	sc->by_course = malloc((n ? n : 1) * sizeof(*sc->by_course));
	sc->by_course_at = calloc((size_t)max + 1, sizeof(*sc->by_course_at));
	if (!sc->by_course || !sc->by_course_at) {
		free(sc->by_course);
		free(sc->by_course_at);
		sc->by_course = sc->by_course_at = NULL;
		return cache_nomem(db, err);
	}
	/* by_course_at[c] counts course c, then is where its group starts,
	 * then (the fill moving it) where it ends: group c is
	 * [by_course_at[c - 1], by_course_at[c]). */
	uint32_t *at = sc->by_course_at;
	for (uint32_t i = 0; i < n; i++)
		at[pcache_pair_at(sc->pc, i)->course]++;
	uint32_t start = 0;
	for (uint32_t c = 0; c <= max; c++) {
		uint32_t count = at[c];
		at[c] = start;
		start += count;
	}
	for (uint32_t i = 0; i < n; i++)
		sc->by_course[at[pcache_pair_at(sc->pc, i)->course]++] = i;
	sc->by_course_pairs = n;
	sc->by_course_max = max;
	return ST_OK;
}

/* store_unnamed_pairs from the cache, for a course it holds whole: a
 * snapshot first (fn may change pairs, or even switch the cache off). */
static enum status cached_unnamed(struct db *db, int64_t course_id,
				  int64_t batch_id, store_pair_fn fn, void *ctx,
				  struct error *err)
{
	struct store_cache *sc = db->cache;
	size_t count = 0, cap = 0, used = 0, ids_cap = 0;
	struct unnamed_entry *list = NULL;
	char *ids = NULL;
	enum status st = group_by_course(db, err);
	uint32_t from = 0, to = 0;
	if (st == ST_OK && course_id >= 1 &&
	    (uint64_t)course_id <= sc->by_course_max) {
		from = sc->by_course_at[course_id - 1];
		to = sc->by_course_at[course_id];
	}
	for (uint32_t k = from; k < to && st == ST_OK; k++) {
		uint32_t i = sc->by_course[k];
		const struct pc_pair *p = pcache_pair_at(sc->pc, i);
		if (p->course != (uint32_t)course_id || !(p->flags & PCP_KNOWN) ||
		    p->state == PAIR_ABSENT || p->batch == (uint32_t)batch_id ||
		    p->seen_line || (p->flags & PCP_NAMED))
			continue;
		struct text t = student_text(sc, p->student);
		if (count == cap || used + t.len > ids_cap) {
			size_t c2 = count == cap ? (cap ? 2 * cap : 256) : cap;
			size_t i2 = ids_cap ? ids_cap : 4096;
			while (i2 < used + t.len)
				i2 *= 2;
			struct unnamed_entry *l = realloc(list, c2 * sizeof(*l));
			if (l)
				list = l, cap = c2;
			char *b = l ? realloc(ids, i2) : NULL;
			if (b)
				ids = b, ids_cap = i2;
			if (!l || !b)
				st = cache_nomem(db, err);
			if (st != ST_OK)
				break;
		}
		if (t.len)
			memcpy(ids + used, t.s, t.len);
		list[count].id_at = used;
		list[count].id_len = (uint16_t)t.len;
		pair_out(p, &list[count].pair);
		used += t.len;
		count++;
	}
	if (st == ST_OK && count)
		qsort(list, count, sizeof(*list), compare_unnamed);
	for (size_t k = 0; st == ST_OK && k < count; k++)
		if (fn(ctx, (struct text){ ids + list[k].id_at, list[k].id_len },
		       &list[k].pair) != 0)
			st = ST_CANCELLED;
	free(list);
	free(ids);
	return st;
}

enum status store_unnamed_pairs(struct store *s, int64_t course_id,
				int64_t batch_id, store_pair_fn fn, void *ctx,
				struct error *err)
{
	struct db *db = db_of(s);
	struct store_cache *sc = db->cache;
	if (sc && !sc->marks_spilled && fits32(batch_id)) {
		struct pc_course *pcc = pcache_course(sc->pc, course_id);
		if (pcc && !pcc->whole && load_fits(sc, stored_pairs(pcc))) {
			enum status st = load_course(db, course_id, err);
			if (st != ST_OK)
				return st;
			pcc = pcache_course(sc->pc, course_id);
		}
		if (pcc && pcc->whole)
			return cached_unnamed(db, course_id, batch_id, fn, ctx, err);
	}
	enum status st = db__cache_flush(db, err);
	if (st == ST_OK && db->cache)
		st = store_marks(db, err);
	return st == ST_OK ? direct_unnamed_pairs(db, course_id, batch_id, fn,
						  ctx, err) :
			     st;
}

/* ---- students through the cache ------------------------------------------ */

void store_rows_prefetch(struct store *s, const struct text *ids,
			 const int64_t *course_ids, size_t n)
{
	struct db *db = db_of(s);
	if (!db->cache || n > PCACHE_PREFETCH_MAX)
		return;
	const char *p[PCACHE_PREFETCH_MAX];
	size_t len[PCACHE_PREFETCH_MAX];
	uint32_t course[PCACHE_PREFETCH_MAX];
	for (size_t i = 0; i < n; i++) {
		p[i] = ids[i].s;
		len[i] = ids[i].len;
		course[i] = fits32(course_ids[i]) ? (uint32_t)course_ids[i] : 0;
	}
	pcache_rows_prefetch(db->cache->pc, p, len, course, n);
}

/* Sets the entry's values from a row or a statement; false: no memory. */
static bool student_values(struct store_cache *sc, uint32_t sidx,
			   const struct text v[3])
{
	const char *s[3] = { v[0].s, v[1].s, v[2].s };
	size_t len[3] = { v[0].len, v[1].len, v[2].len };
	return pcache_student_values(sc->pc, sidx, s, len);
}

/* The hash of a row's values (pcache_values_hash). */
static uint64_t values_hash(struct store_cache *sc, const struct text v[3])
{
	const char *s[3] = { v[0].s, v[1].s, v[2].s };
	const size_t len[3] = { v[0].len, v[1].len, v[2].len };
	return pcache_values_hash(sc->pc, s, len);
}

/* The values just set are the database's: a later change is written
 * only if they are still there (S_REWRITE_STUDENT). */
static void student_read(struct pc_student *e)
{
	e->read_off = e->val_off;
	for (int i = 0; i < 3; i++)
		e->read_len[i] = e->len[i];
}

static void student_stored(struct store_cache *sc, uint32_t sidx,
			   struct text out[3])
{
	const struct pc_student *v = pcache_student_at(sc->pc, sidx);
	const char *at = pcache_text(sc->pc, v->val_off);
	for (int i = 0; i < 3; i++) {
		out[i] = (struct text){ at, v->len[i] };
		at += v->len[i];
	}
}

/* The entry of a student the store holds with these values; false: out
 * of memory. */
static bool student_found(struct store_cache *sc, uint32_t sidx,
			  const struct text v[3], uint32_t created)
{
	if (!student_values(sc, sidx, v))
		return false;
	struct pc_student *e = pcache_student_at(sc->pc, sidx);
	e->created = created;
	e->state = PCS_STORED;
	student_read(e);
	return true;
}

/* The newest run's record of the student, into its entry: *found. */
static enum status run_student_find(struct db *db, struct text id,
				    uint32_t sidx, bool *found,
				    struct error *err)
{
	struct store_cache *sc = db->cache;
	*found = false;
	if (!sc->student_runs || !runset_count(sc->student_runs))
		return ST_OK;
	const unsigned char *val;
	size_t vlen;
	enum status st = runset_find(sc->student_runs, id.s, id.len, &val, &vlen,
				     found, err);
	if (st != ST_OK || !*found)
		return st;
	struct text v[3];
	uint32_t created;
	if (!student_record_in(val, vlen, v, &created))
		return damaged_run(db, err);
	return student_found(sc, sidx, v, created) ? ST_OK : cache_nomem(db, err);
}

/* Reads every stored student into the cache (entries it holds stay); the
 * runs go into the table first, as for a course. */
static enum status load_students(struct db *db, struct error *err)
{
	static const char sql[] =
		"SELECT student_id, first_name, last_name, email, created_batch"
		" FROM students";
	struct store_cache *sc = db->cache;
	struct sqldb_stmt *stmt = NULL;
	enum status st = runs_merge(db, err);
	if (st == ST_OK)
		st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	if (sc->students_stored > 0) /* a hint: false changes nothing */
		(void)pcache_reserve(sc->pc, (size_t)sc->students_stored, 0);
	struct scan *scan = scan_start(stmt, "tttti",
				       scan_threaded(db, sc->students_stored < 0 ?
								 SCAN_THREAD_MIN_ROWS :
								 (size_t)sc->students_stored));
	if (!scan) {
		sqldb_finalize(stmt);
		return cache_nomem(db, err);
	}
	bool whole = true;
	const struct scan_block *b;
	const char *ids[SCAN_BLOCK_ROWS];
	size_t lens[SCAN_BLOCK_ROWS];
	while (st == ST_OK && (b = scan_next(scan)) != NULL) {
		scanned_ids(b, ids, lens);
		pcache_rows_prefetch(sc->pc, ids, lens, NULL, b->n);
		for (size_t i = 0; st == ST_OK && i < b->n; i++) {
			const struct scan_value *row = b->v[i];
			int64_t created = row[4].i;
			struct text v[3];
			for (int k = 0; k < 3; k++)
				v[k] = (struct text){ row[1 + k].s ? row[1 + k].s : "",
						      row[1 + k].len };
			if (lens[i] > UINT16_MAX || !fits32(created) ||
			    v[0].len > UINT16_MAX || v[1].len > UINT16_MAX ||
			    v[2].len > UINT16_MAX) {
				whole = false;
				continue;
			}
			uint32_t sidx = pcache_student(sc->pc, ids[i], lens[i], true);
			if (sidx == PC_NONE) {
				st = cache_nomem(db, err);
				break;
			}
			struct pc_student *e = pcache_student_at(sc->pc, sidx);
			if (e->state != PCS_UNKNOWN)
				continue;
			if (!student_found(sc, sidx, v, (uint32_t)created)) {
				st = cache_nomem(db, err);
				break;
			}
		}
	}
	enum sqldb_rc rc = scan_end(scan);
	if (st == ST_OK && rc != SQLDB_DONE)
		st = db__fail(db, rc, "reading the students", err);
	sqldb_finalize(stmt);
	if (st == ST_OK && whole)
		sc->students_complete = true;
	return st;
}

/* Whether to read the students whole now (counted once). */
static enum status students_worth_loading(struct db *db, bool *yes,
					  struct error *err)
{
	struct store_cache *sc = db->cache;
	*yes = false;
	uint32_t m = sc->student_misses;
	/* PostgreSQL: a look-up is a round trip, a hundred times a row of a
	 * scan; reading students locks nothing there (they are locked only
	 * as written: S_REWRITE_STUDENT). */
	uint32_t first = db->pg ? 256 : STUDENT_MISSES_BEFORE_COUNT;
	size_t ratio = db->pg ? 256 : LOAD_RATIO;
	if ((m < first && !sc->rows_expected) || (m & (m - 1)) != 0)
		return ST_OK;
	if (sc->students_stored < 0) {
		enum status st = db__query_int(db, "SELECT count(*) FROM students",
					       0, &sc->students_stored,
					       "counting the students", err);
		if (st != ST_OK)
			return st;
	}
	/* The runs' students are read too (at most their records). */
	size_t in_runs = sc->student_runs ? runset_records(sc->student_runs) : 0;
	*yes = ((size_t)sc->students_stored <= (size_t)m * ratio ||
		rows_expected_cover(sc, sc->students_stored, ratio)) &&
	       load_fits(sc, ((size_t)sc->students_stored + in_runs) * 2);
	return ST_OK;
}

/* Whether an earlier part of the batch wrote the student (a restart
 * forgot it), and if the row (may be NULL) gives the values it was written
 * with, its entry is then set from the row, without a look-up. */
static enum pc_forgotten student_forgotten(struct store_cache *sc,
					   uint32_t sidx, struct text id,
					   const struct text *row)
{
	if (!pcache_restarted(sc->pc))
		return PCF_NOT;
	uint64_t h = row ? values_hash(sc, row) : 0;
	uint32_t created;
	enum pc_forgotten was = pcache_student_forgotten(sc->pc, id.s, id.len,
							 row ? &h : NULL,
							 &created);
	if (was != PCF_SAME)
		return was;
	/* Out of memory: looked up, then. */
	return student_found(sc, sidx, row, created) ? PCF_SAME : PCF_OTHER;
}

/* The student's entry, its stored state known; PC_NONE with ST_OK: the
 * cache was switched off.  row: the values a row gives it, or NULL. */
static enum status cached_student(struct db *db, struct text id,
				  const struct text *row, uint32_t *out,
				  struct error *err)
{
	*out = PC_NONE;
	enum status st = cache_room(db, err);
	if (st != ST_OK)
		return st;
	if (id.len > UINT16_MAX)
		return cache_off(db, err);
	struct store_cache *sc = db->cache;
	uint32_t sidx = pcache_student(sc->pc, id.s, id.len, true);
	if (sidx == PC_NONE)
		return cache_nomem(db, err);
	struct pc_student *e = pcache_student_at(sc->pc, sidx);
	enum pc_forgotten was = e->state == PCS_UNKNOWN ?
					student_forgotten(sc, sidx, id, row) :
					PCF_NOT;
	bool written = was != PCF_NOT;
	e = pcache_student_at(sc->pc, sidx);
	if (e->state != PCS_UNKNOWN || (sc->students_complete && !written)) {
		if (e->state == PCS_UNKNOWN)
			e->state = PCS_ABSENT;
		*out = sidx;
		return ST_OK;
	}
	if (!sc->students_complete) {
		sc->student_misses++;
		bool load;
		st = students_worth_loading(db, &load, err);
		if (st == ST_OK && load)
			st = load_students(db, err);
		if (st != ST_OK)
			return st;
		e = pcache_student_at(sc->pc, sidx);
		if (e->state == PCS_UNKNOWN && sc->students_complete && !written)
			e->state = PCS_ABSENT;
	}
	bool found = false;
	if (e->state == PCS_UNKNOWN &&
	    (st = run_student_find(db, id, sidx, &found, err)) != ST_OK)
		return st;
	e = pcache_student_at(sc->pc, sidx);
	if (e->state != PCS_UNKNOWN) {
		*out = sidx;
		return ST_OK;
	}
	struct sqldb_stmt *stmt = stmt_of(db, S_FIND_STUDENT);
	bind_text(stmt, 1, id);
	enum sqldb_rc rc = sqldb_step(stmt);
	if (rc == SQLDB_ROW) {
		int64_t created = sqldb_column_int64(stmt, 3);
		struct text v[3];
		for (int i = 0; i < 3; i++)
			v[i] = (struct text){ sqldb_column_text(stmt, i),
					      sqldb_column_bytes(stmt, i) };
		bool fits = fits32(created) && v[0].len <= UINT16_MAX &&
			    v[1].len <= UINT16_MAX && v[2].len <= UINT16_MAX;
		bool ok = fits && student_found(sc, sidx, v, (uint32_t)created);
		sqldb_reset(stmt);
		if (!fits)
			return cache_off(db, err);
		if (!ok)
			return cache_nomem(db, err);
	} else if (rc == SQLDB_DONE) {
		sqldb_reset(stmt);
		e->state = PCS_ABSENT;
	} else {
		sqldb_reset(stmt);
		return student_fail(db, rc, id, "reading a student", err);
	}
	*out = sidx;
	return ST_OK;
}

/* Copies the values out of the cache into db->old_values (the caller
 * reads them after the cache may have moved). */
static void copy_out(struct db *db, const struct text v[3], struct student *out)
{
	size_t used = 0;
	struct text *to[] = { &out->first_name, &out->last_name, &out->email };
	for (int i = 0; i < 3; i++) {
		size_t n = v[i].len < sizeof(db->old_values) / 3 ?
				   v[i].len :
				   sizeof(db->old_values) / 3;
		if (n)
			memcpy(db->old_values + used, v[i].s, n);
		*to[i] = (struct text){ db->old_values + used, n };
		used += n;
	}
}

enum status db__cache_student_get(struct db *db, struct text id,
				  struct student *out, int64_t *created_batch,
				  bool *found, bool *answered,
				  struct error *err)
{
	*answered = false;
	if (!db->cache)
		return ST_OK;
	uint32_t sidx;
	enum status st = cached_student(db, id, NULL, &sidx, err);
	if (st != ST_OK || sidx == PC_NONE)
		return st;
	const struct pc_student *e = pcache_student_at(db->cache->pc, sidx);
	memset(out, 0, sizeof(*out));
	*created_batch = 0;
	*found = e->state == PCS_STORED;
	if (*found) {
		struct text v[3];
		student_stored(db->cache, sidx, v);
		copy_out(db, v, out);
		*created_batch = e->created;
		out->id = id;
	}
	*answered = true;
	return ST_OK;
}

static bool same_value(struct text a, struct text b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0);
}

enum status store_student_put(struct store *s, int64_t batch_id,
			      const struct student *v, enum student_update mode,
			      enum student_effect *effect, struct student *old,
			      struct error *err)
{
	struct db *db = db_of(s);
	*effect = STUDENT_SAME;
	uint32_t sidx = PC_NONE;
	const struct text row[3] = { v->first_name, v->last_name, v->email };
	enum status st = db->cache ? cached_student(db, v->id, row, &sidx, err) :
				     ST_OK;
	if (st != ST_OK)
		return st;
	if (sidx == PC_NONE)
		return direct_student_put(db, batch_id, v, mode, effect, old, err);
	struct store_cache *sc = db->cache;
	struct pc_student *e = pcache_student_at(sc->pc, sidx);
	if (e->state == PCS_ABSENT) {
		if (!student_values(sc, sidx, row))
			return cache_nomem(db, err);
		e = pcache_student_at(sc->pc, sidx);
		e->state = PCS_STORED;
		e->created = (uint32_t)batch_id;
		e->write = PCS_NEW;
		*effect = STUDENT_CREATED;
		return push_index(&sc->dirty_students, &sc->ndirty_students,
				  &sc->dirty_students_cap, sidx) ?
			       ST_OK :
			       cache_nomem(db, err);
	}
	st = student_from_later_batch(db, batch_id, e->created, v->id, err);
	if (st != ST_OK)
		return st;
	/* Without reading the stored values (each a miss of the processor's
	 * caches) when the entry tells enough: `never` changes nothing,
	 * `fill` changes only values stored empty, and a row giving every
	 * value (`always`) changes nothing when their lengths and hash are
	 * the stored ones -- a re-run's every row. */
	if (mode == STUDENT_UPDATE_NEVER)
		return ST_OK;
	bool fills = false, all_given = true, same_lengths = true;
	for (int i = 0; i < 3; i++) {
		fills = fills || (e->len[i] == 0 && row[i].len > 0);
		all_given = all_given && row[i].len > 0;
		same_lengths = same_lengths && e->len[i] == row[i].len;
	}
	if (mode == STUDENT_UPDATE_FILL && !fills)
		return ST_OK;
	if (mode == STUDENT_UPDATE_ALWAYS && all_given && same_lengths &&
	    pcache_student_values_hash_is(sc->pc, sidx, values_hash(sc, row)))
		return ST_OK;
	struct text stored[3], next[3];
	student_stored(sc, sidx, stored);
	bool changes = false;
	for (int i = 0; i < 3; i++) {
		next[i] = merged(stored[i], row[i], mode);
		changes = changes || !same_value(next[i], stored[i]);
	}
	if (!changes)
		return ST_OK;
	copy_out(db, stored, old);
	old->id = v->id;
	if (!student_values(sc, sidx, next))
		return cache_nomem(db, err);
	e = pcache_student_at(sc->pc, sidx);
	*effect = STUDENT_CHANGED;
	if (e->write != PCS_CLEAN)
		return ST_OK;
	e->write = PCS_CHANGED;
	return push_index(&sc->dirty_students, &sc->ndirty_students,
			  &sc->dirty_students_cap, sidx) ?
		       ST_OK :
		       cache_nomem(db, err);
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
