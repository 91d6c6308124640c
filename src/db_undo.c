/* db_undo: the SQLite store's reading of a batch's history, for undo (store.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "store.h"

static struct db *db_of(struct store *s)
{
	return (struct db *)s;
}

static struct text column_text(struct sqldb_stmt *stmt, int col)
{
	const char *p = sqldb_column_text(stmt, col);
	return (struct text){ p ? p : "", (size_t)sqldb_column_bytes(stmt, col) };
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? (const char *)src : "");
}

static int64_t column_id(struct sqldb_stmt *stmt, int col)
{
	return sqldb_column_is_null(stmt, col) ?
		       0 :
		       sqldb_column_int64(stmt, col);
}

enum status store_batch_info(struct store *s, int64_t batch_id,
			     struct batch_info *out, struct error *err)
{
	static const char sql[] =
		"SELECT kind, outcome, undo_of, undone_by, full_history"
		" FROM batches WHERE id = ?1";
	struct db *db = db_of(s);
	memset(out, 0, sizeof(*out));
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, batch_id);
	enum sqldb_rc rc = sqldb_step(stmt);
	if (rc == SQLDB_ROW) {
		out->found = true;
		out->id = batch_id;
		copy_str(out->kind, sizeof(out->kind), sqldb_column_text(stmt, 0));
		copy_str(out->outcome, sizeof(out->outcome),
			 sqldb_column_text(stmt, 1));
		out->undo_of = column_id(stmt, 2);
		out->undone_by = column_id(stmt, 3);
		out->full_history = (int)sqldb_column_int64(stmt, 4) != 0;
		rc = SQLDB_DONE;
	}
	sqldb_finalize(stmt);
	return rc == SQLDB_DONE ? ST_OK : db__fail(db, rc, "reading a batch", err);
}

/* Appends ", id" (the first without the comma) to a list of ids that
 * holds *listed of the n before it, if it fits whole, with room left for
 * the caller's " and N more (...)", and none before it was left out
 * (review 18, B1: a list cut mid number named a batch that was not the
 * one meant). */
enum { ID_LIST_REST = 64 };

static void id_append(char *buf, size_t size, int64_t n, int64_t *listed,
		      int64_t id)
{
	size_t used = strlen(buf);
	char one[32];
	int len = snprintf(one, sizeof(one), "%s%" PRId64, n ? ", " : "", id);
	if (*listed != n || len < 0 || used + (size_t)len + ID_LIST_REST >= size)
		return;
	memcpy(buf + used, one, (size_t)len + 1);
	(*listed)++;
}

/*
 * A later batch blocks the undo when its changes stand -- committed, not
 * undone, and not the undo of a batch later than this one (that batch and
 * its undo no longer count) -- and it changed a course (any pair event) or
 * a student (a student event) that this batch changed.  A repair's
 * snapshot of a course is no change of it: a repair that only set a
 * counter right changed no pair (issue 11: a batch changed a course when
 * it added, dropped, promoted or restored a pair of it).
 */
enum status store_undo_blockers(struct store *s, int64_t batch_id,
				struct undo_blockers *out, struct error *err)
{
	/* Courses a batch changed: its snapshots (every batch since schema
	 * version 2 takes one of each course it changes), its history, and
	 * the pairs it added (all a version-1 batch has). */
	/* "Later" is later to commit: on PostgreSQL an id is taken when a
	 * batch starts, so a batch of a smaller id may commit after this one
	 * (and take a seat its undo freed: review 13, A4).  Its finished_at,
	 * the server's clock at its end (course locks held), says so, ties
	 * going by id.  On SQLite, one writer at a time, the ids are that
	 * order, and no clock is trusted. */
	static const char sql[] =
		"WITH me AS (SELECT finished_at FROM batches WHERE id = ?1),"
		" later_ids(id) AS MATERIALIZED (SELECT id FROM batches"
		"  WHERE id <> ?1 AND CASE WHEN ?2 = 0 THEN id > ?1"
		"  ELSE (finished_at > (SELECT finished_at FROM me)"
		"  OR (finished_at = (SELECT finished_at FROM me) AND id > ?1)"
		"  OR (finished_at IS NULL AND id > ?1)) END),"
		" mine(course_id) AS ("
		"  SELECT course_id FROM batch_courses WHERE batch_id = ?1"
		"  UNION SELECT course_id FROM history WHERE batch_id = ?1"
		"   AND course_id IS NOT NULL"
		"  UNION SELECT course_id FROM registrations WHERE batch_id = ?1),"
		" later(batch_id, course_id) AS MATERIALIZED ("
		"  SELECT batch_id, course_id FROM batch_courses"
		"   WHERE batch_id IN (SELECT id FROM later_ids)"
		"   AND batch_id NOT IN (SELECT id FROM batches"
		"    WHERE kind = 'repair')"
		"  UNION SELECT batch_id, course_id FROM history"
		"   WHERE batch_id IN (SELECT id FROM later_ids)"
		"   AND course_id IS NOT NULL"
		"  UNION SELECT batch_id, course_id FROM registrations"
		"   WHERE batch_id IN (SELECT id FROM later_ids)),"
		" my_students(student_id) AS ("
		"  SELECT student_id FROM history WHERE batch_id = ?1"
		"   AND event = 'student'"
		"  UNION SELECT student_id FROM students WHERE created_batch = ?1)"
		" SELECT b.id, b.kind = 'repair' FROM batches AS b"
		" WHERE b.id IN (SELECT id FROM later_ids)"
		" AND b.outcome = 'committed'"
		" AND b.undone_by IS NULL"
		" AND NOT (b.kind = 'undo'"
		"  AND b.undo_of IN (SELECT id FROM later_ids)"
		"  AND EXISTS (SELECT 1 FROM batches AS t"
		"  WHERE t.id = b.undo_of AND t.undone_by = b.id))"
		" AND (EXISTS (SELECT 1 FROM later WHERE later.batch_id = b.id"
		"   AND later.course_id IN (SELECT course_id FROM mine))"
		"  OR EXISTS (SELECT 1 FROM history AS h WHERE h.batch_id = b.id"
		"   AND h.event = 'student'"
		"   AND h.student_id IN (SELECT student_id FROM my_students)))"
		" ORDER BY b.finished_at DESC, b.id DESC"; /* newest first: the order to undo them */
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, batch_id);
	sqldb_bind_int64(stmt, 2, db->pg ? 1 : 0);
	memset(out, 0, sizeof(*out));
	enum sqldb_rc rc;
	while ((rc = sqldb_step(stmt)) == SQLDB_ROW) {
		int64_t id = sqldb_column_int64(stmt, 0);
		id_append(out->later, sizeof(out->later), out->count++,
			  &out->listed, id);
		if (sqldb_column_int64(stmt, 1))
			id_append(out->repairs, sizeof(out->repairs),
				  out->nrepairs++, &out->repairs_listed, id);
	}
	sqldb_finalize(stmt);
	return rc == SQLDB_DONE ? ST_OK :
				   db__fail(db, rc, "reading later batches", err);
}

static const char change_columns[] =
	"id, event, course_id, student_id, line, old_status, old_seq,"
	" old_batch, old_line, new_status, new_seq, old_first_name,"
	" old_last_name, old_email, new_first_name, new_last_name, new_email";

/* The same for changes of pairs: no student's values to read. */
static const char pair_columns[] =
	"id, event, course_id, student_id, line, old_status, old_seq,"
	" old_batch, old_line, new_status, new_seq, NULL, NULL, NULL, NULL,"
	" NULL, NULL";

/* A history row as a change; its texts live until the statement moves. */
static void change_from(struct sqldb_stmt *stmt, int64_t batch_id, struct change *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqldb_column_int64(stmt, 0);
	db__event_parse(sqldb_column_text(stmt, 1), &c->event);
	c->course_id = column_id(stmt, 2);
	c->student_id = column_text(stmt, 3);
	c->line = column_id(stmt, 4);
	if (c->event == EVENT_STUDENT) {
		c->had_student = !sqldb_column_is_null(stmt, 13);
		c->has_student = !sqldb_column_is_null(stmt, 16);
		c->old_values = (struct student){ c->student_id,
						  column_text(stmt, 11),
						  column_text(stmt, 12),
						  column_text(stmt, 13) };
		c->new_values = (struct student){ c->student_id,
						  column_text(stmt, 14),
						  column_text(stmt, 15),
						  column_text(stmt, 16) };
		/* The student's created_batch; a creation's is this batch. */
		c->before.batch_id = c->had_student ? column_id(stmt, 7) : batch_id;
		return;
	}
	c->before.state = db__state_parse(sqldb_column_text(stmt, 5));
	c->before.seq = column_id(stmt, 6);
	c->before.batch_id = column_id(stmt, 7);
	c->before.line = column_id(stmt, 8);
	c->after.state = db__state_parse(sqldb_column_text(stmt, 9));
	c->after.seq = column_id(stmt, 10);
}

/*
 * The codes of the courses a walk's changes name, read again only when
 * the course changes (an undo's removals come a course at a time): a
 * look-up per change was a tenth of an undo's report.
 */
struct course_codes {
	struct sqldb_stmt *stmt; /* SELECT code FROM courses WHERE id = ?1 */
	int64_t id;              /* the course it is on; 0: none */
	struct text code;        /* valid until the statement moves */
};

static enum status course_code(struct db *db, struct course_codes *cc,
			       int64_t id, struct text *out, struct error *err)
{
	if (id != cc->id) {
		sqldb_reset(cc->stmt);
		sqldb_bind_int64(cc->stmt, 1, id);
		enum sqldb_rc rc = sqldb_step(cc->stmt);
		cc->id = 0;
		if (rc != SQLDB_ROW && rc != SQLDB_DONE)
			return db__fail(db, rc, "reading a course", err);
		cc->code = rc == SQLDB_ROW ? column_text(cc->stmt, 0) :
					     (struct text){ "", 0 };
		cc->id = id;
	}
	*out = cc->code;
	return ST_OK;
}

/* Walks `sql`'s rows (change_columns) as changes, with ?1 = a and, where
 * the statement has it, ?2 = b; with `codes`, each with its course's code. */
static enum status walk_changes(struct db *db, const char *sql, int64_t a,
				int64_t b, struct course_codes *codes,
				store_change_fn fn, void *ctx, struct error *err)
{
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, a);
	if (sqldb_bind_count(stmt) >= 2)
		sqldb_bind_int64(stmt, 2, b);
	enum sqldb_rc rc;
	while ((rc = sqldb_step(stmt)) == SQLDB_ROW) {
		struct change c;
		change_from(stmt, a, &c);
		if (codes)
			st = course_code(db, codes, c.course_id, &c.course_code,
					 err);
		if (st != ST_OK || fn(ctx, &c) != 0) {
			sqldb_finalize(stmt);
			return st != ST_OK ? st : ST_CANCELLED;
		}
	}
	sqldb_finalize(stmt);
	return rc == SQLDB_DONE ? ST_OK :
				   db__fail(db, rc, "reading the history", err);
}

/*
 * The walk reads while fn writes other tables (registrations, students);
 * SQLite sees a statement's own table change under it only for the table
 * it reads, and nothing writes the history being read here (the undo's own
 * records have ids past the range), but to be safe the rows are read in
 * ranges of ids fixed before the walk starts.
 */
enum status store_changes_each(struct store *s, int64_t batch_id,
			       bool newest_first, store_change_fn fn, void *ctx,
			       struct error *err)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT %s FROM history WHERE batch_id = ?1"
		 " AND id <= (SELECT max(id) FROM history WHERE batch_id = ?1)"
		 " ORDER BY id %s",
		 change_columns, newest_first ? "DESC" : "ASC");
	return walk_changes(db_of(s), sql, batch_id, 0, NULL, fn, ctx, err);
}

enum status store_history_last(struct store *s, int64_t batch_id,
				int64_t *id, struct error *err)
{
	return db__query_int(db_of(s),
			     "SELECT coalesce(max(id), 0) FROM history"
			     " WHERE batch_id = ?1",
			     batch_id, id, "reading the history", err);
}

/*
 * Without a sort of every change: only the changes up to `split` -- the
 * reversed ones, which may name a pair several times -- are grouped by
 * pair (into temp.undo_firsts); the removals after it, each of a different
 * pair and most of an undo's changes, are read in id order, and probed
 * against undo_firsts only if it has rows.  On SQLite every change past
 * `split` is this undo's (it holds the write lock): they are read from the
 * table itself (+batch_id: not through the index); on PostgreSQL another
 * batch's are numbered at its COMMIT, below them.
 */
enum status store_undo_firsts_each(struct store *s, int64_t undo_id,
				   int64_t split, store_change_fn fn, void *ctx,
				   struct error *err)
{
	static const char firsts_sql[] =
		"CREATE TEMP TABLE IF NOT EXISTS undo_firsts ("
		" course_id INTEGER NOT NULL, student_id TEXT NOT NULL,"
		" first_id INTEGER NOT NULL, PRIMARY KEY (course_id, student_id))"
		" WITHOUT ROWID;"
		"DELETE FROM temp.undo_firsts;"
		"INSERT INTO temp.undo_firsts"
		" SELECT course_id, student_id, min(id) FROM history"
		" WHERE batch_id = ?1 AND id <= ?2 AND course_id IS NOT NULL"
		" GROUP BY course_id, student_id;";
	static const char *const where[] = {
		"id IN (SELECT first_id FROM temp.undo_firsts)",
		"+batch_id = ?1 AND id > ?2 AND course_id IS NOT NULL"
		" AND NOT EXISTS (SELECT 1 FROM temp.undo_firsts AS f"
		"  WHERE f.course_id = history.course_id"
		"  AND f.student_id = history.student_id)",
		"+batch_id = ?1 AND id > ?2 AND course_id IS NOT NULL",
	};
	struct db *db = db_of(s);
	struct course_codes codes = { NULL, 0, { "", 0 } };
	int64_t nfirsts = 0;
	enum status st = db__exec_bound(db, firsts_sql, undo_id, split,
					"reading the history", err);
	if (st == ST_OK)
		st = db__query_int(db, "SELECT count(*) FROM temp.undo_firsts", 0,
				   &nfirsts, "reading the history", err);
	if (st == ST_OK)
		st = db__prepare(db, "SELECT code FROM courses WHERE id = ?1", 0,
				 &codes.stmt, err);
	for (int i = 0; st == ST_OK && i < 2; i++) {
		char sql[1024];
		snprintf(sql, sizeof(sql), "SELECT %s FROM history WHERE %s ORDER BY id",
			 pair_columns, where[i == 0 ? 0 : nfirsts ? 1 : 2]);
		st = walk_changes(db, sql, undo_id, split, &codes, fn, ctx, err);
	}
	sqldb_finalize(codes.stmt);
	return st;
}

enum status store_student_get(struct store *s, struct text id,
			      struct student *out, int64_t *created_batch,
			      bool *found, struct error *err)
{
	static const char sql[] =
		"SELECT first_name, last_name, email, created_batch FROM students"
		" WHERE student_id = ?1";
	struct db *db = db_of(s);
	bool answered;
	enum status st = db__cache_student_get(db, id, out, created_batch, found,
					       &answered, err);
	if (st != ST_OK || answered)
		return st;
	struct sqldb_stmt *stmt = NULL;
	st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_text(stmt, 1, id.s, (int)id.len);
	enum sqldb_rc rc = sqldb_step(stmt);
	*found = rc == SQLDB_ROW;
	memset(out, 0, sizeof(*out));
	*created_batch = 0;
	if (*found) {
		/* Copied: the statement goes before the caller reads them. */
		size_t used = 0;
		struct text *to[] = { &out->first_name, &out->last_name,
				      &out->email };
		for (int i = 0; i < 3; i++) {
			struct text t = column_text(stmt, i);
			size_t n = t.len < sizeof(db->old_values) / 3 ?
					   t.len :
					   sizeof(db->old_values) / 3;
			memcpy(db->old_values + used, t.s, n);
			*to[i] = (struct text){ db->old_values + used, n };
			used += n;
		}
		*created_batch = column_id(stmt, 3);
		out->id = id;
		rc = SQLDB_DONE;
	}
	sqldb_finalize(stmt);
	return rc == SQLDB_DONE ? ST_OK : db__fail(db, rc, "reading a student", err);
}

enum status store_student_set(struct store *s, struct text id,
			      const struct student *v, int64_t created_batch,
			      struct error *err)
{
	static const char put_sql[] =
		"INSERT INTO students (student_id, first_name, last_name, email,"
		" created_batch) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (student_id) DO UPDATE SET"
		" first_name = excluded.first_name, last_name = excluded.last_name,"
		" email = excluded.email";
	static const char delete_sql[] = "DELETE FROM students WHERE student_id = ?1";
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, v ? put_sql : delete_sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_text(stmt, 1, id.s, (int)id.len);
	if (v) {
		const struct text *t[] = { &v->first_name, &v->last_name,
					   &v->email };
		for (int i = 0; i < 3; i++)
			sqldb_bind_text(stmt, 2 + i, t[i]->s ? t[i]->s : "",
					  (int)t[i]->len);
		if (created_batch)
			sqldb_bind_int64(stmt, 5, created_batch);
	}
	st = db__step_done(db, stmt, "restoring a student", err);
	sqldb_finalize(stmt);
	return st;
}

enum status store_student_pairs(struct store *s, struct text id,
				int64_t *count, struct error *err)
{
	static const char sql[] =
		"SELECT count(*) FROM registrations WHERE student_id = ?1";
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_text(stmt, 1, id.s, (int)id.len);
	enum sqldb_rc rc = sqldb_step(stmt);
	*count = rc == SQLDB_ROW ? sqldb_column_int64(stmt, 0) : 0;
	sqldb_finalize(stmt);
	return rc == SQLDB_ROW ? ST_OK :
				  db__fail(db, rc, "counting registrations", err);
}

enum status store_courses_restore(struct store *s, int64_t batch_id,
				  struct error *err)
{
	static const char sql[] =
		"UPDATE courses SET (registered, waitlisted, seat_seq, updated_at)"
		" = (SELECT registered, waitlisted, seat_seq, updated_at"
		"  FROM batch_courses WHERE batch_id = ?1 AND course_id = courses.id)"
		" WHERE id IN (SELECT course_id FROM batch_courses"
		"  WHERE batch_id = ?1)";
	return db__exec_bound(db_of(s), sql, batch_id, 0,
			      "restoring the courses", err);
}

static int64_t column_waitlist(struct sqldb_stmt *stmt, int col)
{
	return sqldb_column_is_null(stmt, col) ? WAITLIST_UNLIMITED :
						 sqldb_column_int64(stmt, col);
}

enum status store_course_settings_each(struct store *s, int64_t batch_id,
				       store_settings_fn fn, void *ctx,
				       struct error *err)
{
	static const char sql[] =
		"SELECT c.id, c.code, b.title, b.capacity, b.waitlist_max,"
		" b.after_title, b.after_capacity, b.after_waitlist_max,"
		" c.title, c.capacity, c.waitlist_max, b.after_known"
		" FROM batch_courses AS b JOIN courses AS c ON c.id = b.course_id"
		" WHERE b.batch_id = ?1 ORDER BY c.id";
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, batch_id);
	enum sqldb_rc rc;
	while ((rc = sqldb_step(stmt)) == SQLDB_ROW) {
		struct settings_change c = {
			.course_id = sqldb_column_int64(stmt, 0),
			.code = column_text(stmt, 1),
			.after_known = sqldb_column_int64(stmt, 11) != 0,
		};
		struct course_settings *v[] = { &c.before, &c.after, &c.now };
		for (int i = 0; i < 3; i++)
			*v[i] = (struct course_settings){
				column_text(stmt, 2 + 3 * i),
				column_id(stmt, 3 + 3 * i),
				column_waitlist(stmt, 4 + 3 * i),
			};
		if (fn(ctx, &c) != 0) {
			sqldb_finalize(stmt);
			return ST_CANCELLED;
		}
	}
	sqldb_finalize(stmt);
	return rc == SQLDB_DONE ? ST_OK :
				   db__fail(db, rc, "reading course settings", err);
}

enum status store_course_settings_set(struct store *s, int64_t course_id,
				      const struct course_settings *v,
				      struct error *err)
{
	static const char sql[] =
		"UPDATE courses SET title = ?2, capacity = ?3, waitlist_max = ?4"
		" WHERE id = ?1";
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, course_id);
	sqldb_bind_text(stmt, 2, v->title.s ? v->title.s : "",
			(int)v->title.len);
	sqldb_bind_int64(stmt, 3, v->capacity);
	if (v->waitlist_max == WAITLIST_UNLIMITED)
		sqldb_bind_null(stmt, 4);
	else
		sqldb_bind_int64(stmt, 4, v->waitlist_max);
	st = db__step_done(db, stmt, "restoring a course", err);
	sqldb_finalize(stmt);
	return st;
}

enum status store_course_settings_record(struct store *s, int64_t batch_id,
					 struct error *err)
{
	static const char sql[] =
		"UPDATE batch_courses SET (after_title, after_capacity,"
		" after_waitlist_max, after_known) = (SELECT title, capacity,"
		" waitlist_max, 1 FROM courses WHERE id = batch_courses.course_id)"
		" WHERE batch_id = ?1";
	return db__exec_bound(db_of(s), sql, batch_id, 0,
			      "recording the courses", err);
}

enum status store_batch_courses(struct store *s, int64_t batch_id,
				int64_t **ids, size_t *count, struct error *err)
{
	static const char sql[] =
		"SELECT course_id FROM batch_courses WHERE batch_id = ?1"
		" UNION SELECT course_id FROM history WHERE batch_id = ?1"
		"  AND course_id IS NOT NULL"
		" UNION SELECT DISTINCT course_id FROM registrations"
		"  WHERE batch_id = ?1"
		" ORDER BY 1";
	struct db *db = db_of(s);
	*ids = NULL;
	*count = 0;
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, batch_id);
	size_t alloc = 0;
	enum sqldb_rc rc;
	while ((rc = sqldb_step(stmt)) == SQLDB_ROW) {
		if (*count == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			int64_t *more = realloc(*ids, alloc * sizeof(**ids));
			if (!more) {
				sqldb_finalize(stmt);
				return error_set(err, ST_NOMEM, "out of memory");
			}
			*ids = more;
		}
		(*ids)[(*count)++] = sqldb_column_int64(stmt, 0);
	}
	sqldb_finalize(stmt);
	return rc == SQLDB_DONE ? ST_OK :
				   db__fail(db, rc, "reading a batch's courses", err);
}


/*
 * Set-based, a course at a time: one statement records the removals of
 * its seats, one those of its waitlist; then one removes them all.  The
 * additions are the tail of each waitlist, in the order they were added,
 * once the batch's later changes are reversed; taken from the end (seq
 * DESC), each waitlisted pair's position when it leaves is its seq, which
 * is what an undo of this undo puts it back at.  A course at a time, the
 * seats sort in memory and the waitlist needs no sort (its index is in seq
 * order), where one sort of a million-row batch's pairs spilled to
 * temporary files.  The records go first, into new pages, and the
 * deletion last: pages it freed, reused for the records, would be copied
 * to the statement journal.
 */
enum status store_batch_remove_additions(struct store *s, int64_t batch_id,
					 int64_t undo_id,
					 const int64_t *courses, size_t ncourses,
					 struct error *err)
{
	/* ?1 the batch, ?2 the course, ?3 the undo. */
	static const char *const sql[] = {
		"INSERT INTO history (batch_id, event, course_id, student_id,"
		" old_status, old_seq, old_batch, old_line)"
		" SELECT ?3, 'dropped', course_id, student_id, status, seq,"
		" batch_id, line FROM registrations WHERE course_id = ?2"
		" AND status = 'registered' AND batch_id = ?1 ORDER BY seq DESC",
		"INSERT INTO history (batch_id, event, course_id, student_id,"
		" old_status, old_seq, old_batch, old_line)"
		" SELECT ?3, 'dropped', course_id, student_id, status, seq,"
		" batch_id, line FROM registrations WHERE course_id = ?2"
		" AND status = 'waitlisted' AND batch_id = ?1 ORDER BY seq DESC",
	};
	enum { NSQL = sizeof(sql) / sizeof(sql[0]) };
	static const char what[] = "taking out a batch's registrations";
	struct db *db = db_of(s);
	struct sqldb_stmt *stmt[NSQL] = { NULL };
	/* SQLite: the records copy what the registrations' own CHECKs passed
	 * and literals, so the history's CHECKs (a sixth of each insert's
	 * instructions) are left out of these statements, compiled while the
	 * pragma is on, and back for everything after. */
	enum status st = db->pg ? ST_OK :
		db__exec(db, "PRAGMA ignore_check_constraints = ON", what, err);
	for (size_t k = 0; st == ST_OK && k < NSQL; k++) {
		st = db__prepare(db, sql[k], SQLDB_PERSISTENT, &stmt[k], err);
		if (st == ST_OK) {
			sqldb_bind_int64(stmt[k], 1, batch_id);
			sqldb_bind_int64(stmt[k], 3, undo_id);
		}
	}
	for (size_t i = 0; st == ST_OK && i < ncourses; i++)
		for (size_t k = 0; st == ST_OK && k < NSQL; k++) {
			sqldb_bind_int64(stmt[k], 2, courses[i]);
			st = db__step_done(db, stmt[k], what, err);
		}
	for (size_t k = 0; k < NSQL; k++)
		sqldb_finalize(stmt[k]);
	if (!db->pg) {
		/* After a failure, its message stays the one given. */
		enum status off = db__exec(db, "PRAGMA ignore_check_constraints = OFF",
					   what, st == ST_OK ? err : NULL);
		if (st == ST_OK)
			st = off;
	}
	if (st == ST_OK)
		st = db__exec_bound(db, "DELETE FROM registrations WHERE batch_id = ?1",
				    batch_id, 0, what, err);
	return st;
}

enum status store_course_recount(struct store *s, int64_t course_id,
				 struct error *err)
{
	static const char sql[] =
		"UPDATE courses SET"
		" registered = (SELECT count(*) FROM registrations"
		"  WHERE course_id = ?1 AND status = 'registered'),"
		" waitlisted = (SELECT count(*) FROM registrations"
		"  WHERE course_id = ?1 AND status = 'waitlisted')"
		" WHERE id = ?1";
	return db__exec_bound(db_of(s), sql, course_id, 0, "counting a course",
			      err);
}

enum status store_batch_set_undone(struct store *s, int64_t batch_id,
				   int64_t undo_id, struct error *err)
{
	static const char sql[] =
		"UPDATE batches SET undone_by = nullif(?2, 0) WHERE id = ?1";
	return db__exec_bound(db_of(s), sql, batch_id, undo_id,
			      "marking the batch undone", err);
}

/*
 * A student goes with the undo when nothing else holds them: created by
 * the batch undone (or by a batch undone before, if this undo dropped one
 * of their pairs), no registration left, and no change of a batch whose
 * changes stand names them (a later drop of theirs, say, which an undo may
 * still set back).  One pass over the students finds the candidates; the
 * dropped pairs are read only for a student a batch undone before created.
 * What holds a candidate is looked up from the registrations and from the
 * history of the batches that stand, through its index, not from the
 * history of this undo (a row per pair it took out).  The candidates are
 * kept by id only: their names and emails, at 3M rows, outgrew the
 * temporary tables' cache.
 */
enum status store_remove_orphans(struct store *s, int64_t batch_id,
				 int64_t undo_id, struct error *err)
{
	static const char sql[] =
		"CREATE TEMP TABLE IF NOT EXISTS undo_orphans ("
		" student_id TEXT PRIMARY KEY) WITHOUT ROWID;"
		"DELETE FROM temp.undo_orphans;"
		"INSERT INTO temp.undo_orphans"
		" SELECT student_id FROM students WHERE created_batch = ?1"
		" OR (created_batch IN (SELECT id FROM batches"
		"   WHERE undone_by IS NOT NULL)"
		"  AND student_id IN (SELECT student_id FROM history"
		"   WHERE batch_id = ?2 AND event = 'dropped'));"
		"DELETE FROM temp.undo_orphans WHERE student_id IN ("
		" SELECT student_id FROM registrations"
		" WHERE student_id IN (SELECT student_id FROM temp.undo_orphans));"
		"DELETE FROM temp.undo_orphans WHERE student_id IN ("
		" SELECT h.student_id FROM batches AS b CROSS JOIN history AS h"
		" WHERE h.batch_id = b.id AND b.id <> ?1 AND b.id <> ?2"
		" AND b.undone_by IS NULL"
		" AND NOT (b.kind = 'undo' AND EXISTS (SELECT 1 FROM batches AS t"
		"  WHERE t.id = b.undo_of AND t.undone_by = b.id))"
		" AND h.student_id IN (SELECT student_id FROM temp.undo_orphans));"
		"INSERT INTO history (batch_id, event, student_id, old_batch,"
		" old_first_name, old_last_name, old_email)"
		" SELECT ?2, 'student', s.student_id, s.created_batch, s.first_name,"
		" s.last_name, s.email FROM temp.undo_orphans AS o"
		" JOIN students AS s ON s.student_id = o.student_id"
		" ORDER BY o.student_id;"
		"DELETE FROM students"
		" WHERE student_id IN (SELECT student_id FROM temp.undo_orphans);";
	return db__exec_bound(db_of(s), sql, batch_id, undo_id,
			  "taking out the batch's students", err);
}
