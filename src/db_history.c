/* db_history: reading the history -- `batches show N` and `student ID`. */
#include <stdio.h>
#include <string.h>

#include "db_internal.h"

/*
 * An addition is recorded by the registration itself (its batch and line)
 * and a new student by its created_batch; every later change is a history
 * row that keeps the state before it, that batch and line included.  So the
 * readers below put the additions back in: a pair was added by batch B
 * before an event whose "before" names B while the pair's previous event
 * (if any) had left it absent, and by its registration's batch when its
 * last event (if any) left it absent.  Each query returns the columns
 * change_from_stmt reads, then three sort keys.
 */
/* A NULL in an integer column: PostgreSQL types a UNION's columns from
 * its first branches, where NULL alone would read as text. */
#define INT_NULL "CAST(NULL AS INTEGER)"

#define EVENT_COLUMNS(h, course)                                            \
	h ".id, " h ".batch_id, b.kind, " h ".event, CASE WHEN " h            \
	".course_id IS NULL THEN NULL ELSE coalesce(" course ".code, '#' || " \
	h ".course_id) END, " h ".student_id, " h ".line, " h               \
	".old_status, " h ".old_seq, " h ".old_batch, " h ".old_line, " h    \
	".new_status, " h ".new_seq, " h ".old_first_name, " h              \
	".old_last_name, " h ".old_email, " h ".new_first_name, " h         \
	".new_last_name, " h ".new_email"

/* Batch ?1: the students it created, the pairs it added (both by roster
 * line) and its history rows (each keyed by the last line seen before
 * it, so a promotion stays behind the drop that caused it). */
static const char batch_changes_sql[] =
	"WITH cand AS MATERIALIZED (SELECT DISTINCT course_id, student_id"
	"  FROM history WHERE old_batch = ?1 AND course_id IS NOT NULL),"
	" ev AS (SELECT h.course_id, h.student_id, h.old_status, h.old_seq,"
	"  h.old_batch, h.old_line, lag(h.id) OVER w AS prev_id,"
	"  lag(h.new_status) OVER w AS prev_status FROM history h"
	"  JOIN cand c ON c.course_id = h.course_id"
	"  AND c.student_id = h.student_id"
	"  WINDOW w AS (PARTITION BY h.course_id, h.student_id ORDER BY h.id)),"
	" adds AS (SELECT course_id, student_id, old_line AS line,"
	"  old_status AS status, old_seq AS seq FROM ev WHERE old_batch = ?1"
	"  AND (prev_id IS NULL OR prev_status IS NULL)"
	"  UNION ALL SELECT r.course_id, r.student_id, r.line, r.status, r.seq"
	"  FROM registrations r WHERE r.batch_id = ?1 AND NOT EXISTS"
	"  (SELECT 1 FROM cand c WHERE c.course_id = r.course_id"
	"   AND c.student_id = r.student_id)),"
	" sfirst AS (SELECT h.student_id, h.id, h.old_first_name,"
	"  h.old_last_name, h.old_email FROM history h"
	"  JOIN (SELECT min(id) AS id FROM history WHERE event = 'student'"
	"  AND batch_id >= ?1 GROUP BY student_id) m ON m.id = h.id),"
	/* A drop without a line is --sync's, after the last row: it and
	 * everything after it come after every addition. */
	" evs AS (SELECT h.*, CASE WHEN sum(CASE WHEN h.event = 'dropped'"
	"  AND h.line IS NULL THEN 1 ELSE 0 END) OVER w > 0"
	"  THEN 9223372036854775807"
	"  ELSE max(h.line) OVER w END AS k FROM history h"
	"  WHERE h.batch_id = ?1"
	"  WINDOW w AS (ORDER BY h.id ROWS UNBOUNDED PRECEDING)),"
	/* A student created by this batch and deleted by an undo: its
	 * own, or a later batch's that held the student when this one was
	 * undone (the deletion keeps the creating batch in old_batch).  Once:
	 * an undo of that undo re-creates the student as this batch's, and
	 * each undo of it deletes them again. */
	" gone AS (SELECT student_id, old_first_name, old_last_name, old_email"
	"  FROM (SELECT h.student_id, h.old_first_name, h.old_last_name,"
	"  h.old_email, row_number() OVER (PARTITION BY h.student_id"
	"  ORDER BY h.id) AS n FROM batches u JOIN history h ON h.batch_id = u.id"
	"  WHERE u.undo_of IS NOT NULL AND u.id > ?1"
	"  AND coalesce(h.old_batch, u.undo_of) = ?1 AND h.event = 'student'"
	"  AND h.new_email IS NULL AND h.new_first_name IS NULL"
	"  AND h.new_last_name IS NULL AND NOT EXISTS (SELECT 1 FROM students s"
	"  WHERE s.student_id = h.student_id AND s.created_batch = ?1)) d"
	"  WHERE n = 1)"
	" SELECT " INT_NULL ", ?1, b.kind, 'student', NULL, s.student_id,"
	" (SELECT min(a.line) FROM adds a WHERE a.student_id = s.student_id),"
	" NULL, " INT_NULL ", " INT_NULL ", " INT_NULL ", NULL, " INT_NULL ","
	" NULL, NULL, NULL,"
	" CASE WHEN f.id IS NULL THEN s.first_name ELSE f.old_first_name END,"
	" CASE WHEN f.id IS NULL THEN s.last_name ELSE f.old_last_name END,"
	" CASE WHEN f.id IS NULL THEN s.email ELSE f.old_email END,"
	" coalesce((SELECT min(a.line) FROM adds a"
	"  WHERE a.student_id = s.student_id), 0) AS k1, 0 AS k2, 0 AS k3"
	" FROM students s LEFT JOIN sfirst f ON f.student_id = s.student_id"
	" LEFT JOIN batches b ON b.id = ?1 WHERE s.created_batch = ?1"
	" UNION ALL"
	" SELECT " INT_NULL ", ?1, b.kind, 'student', NULL, g.student_id,"
	" (SELECT min(a.line) FROM adds a WHERE a.student_id = g.student_id),"
	" NULL, " INT_NULL ", " INT_NULL ", " INT_NULL ", NULL, " INT_NULL ","
	" NULL, NULL, NULL,"
	" g.old_first_name, g.old_last_name, g.old_email,"
	" coalesce((SELECT min(a.line) FROM adds a"
	"  WHERE a.student_id = g.student_id), 0), 0, 0"
	" FROM gone g LEFT JOIN batches b ON b.id = ?1"
	" UNION ALL"
	" SELECT " INT_NULL ", ?1, b.kind, 'added', coalesce(c.code, '#' || a.course_id),"
	" a.student_id, a.line, NULL, NULL, NULL, NULL, a.status, a.seq, NULL,"
	" NULL, NULL, NULL, NULL, NULL, coalesce(a.line, 0), 1, 0"
	" FROM adds a LEFT JOIN courses c ON c.id = a.course_id"
	" LEFT JOIN batches b ON b.id = ?1"
	" UNION ALL"
	" SELECT " EVENT_COLUMNS("e", "c") ", coalesce(e.k, 0), 2, e.id"
	" FROM evs e LEFT JOIN courses c ON c.id = e.course_id"
	" LEFT JOIN batches b ON b.id = e.batch_id"
	" ORDER BY 20, 21, 22, 5, 6";

/* Student ?1: their creation, each addition of a pair and every event,
 * oldest batch first. */
static const char student_changes_sql[] =
	"WITH evs AS (SELECT h.*, lag(h.id) OVER w AS prev_id,"
	"  lag(h.new_status) OVER w AS prev_status, lead(h.id) OVER w AS next_id"
	"  FROM history h WHERE h.student_id = ?1 AND h.course_id IS NOT NULL"
	"  WINDOW w AS (PARTITION BY h.course_id ORDER BY h.id)),"
	" adds AS (SELECT course_id, old_batch AS batch_id, old_line AS line,"
	"  old_status AS status, old_seq AS seq FROM evs"
	"  WHERE old_status IS NOT NULL AND (prev_id IS NULL OR prev_status IS NULL)"
	"  UNION ALL SELECT r.course_id, r.batch_id, r.line, r.status, r.seq"
	"  FROM registrations r LEFT JOIN evs l ON l.course_id = r.course_id"
	"  AND l.next_id IS NULL WHERE r.student_id = ?1 AND (l.id IS NULL"
	"  OR (l.new_status IS NULL AND r.batch_id > l.batch_id))),"
	" sfirst AS (SELECT m.id, h.old_first_name, h.old_last_name,"
	"  h.old_email FROM (SELECT min(id) AS id FROM history"
	"  WHERE event = 'student' AND student_id = ?1) m"
	"  LEFT JOIN history h ON h.id = m.id)"
	" SELECT " INT_NULL ", s.created_batch, b.kind, 'student', NULL, s.student_id,"
	" (SELECT min(a.line) FROM adds a WHERE a.batch_id = s.created_batch),"
	" NULL, " INT_NULL ", " INT_NULL ", " INT_NULL ", NULL, " INT_NULL ","
	" NULL, NULL, NULL,"
	" CASE WHEN f.id IS NULL THEN s.first_name ELSE f.old_first_name END,"
	" CASE WHEN f.id IS NULL THEN s.last_name ELSE f.old_last_name END,"
	" CASE WHEN f.id IS NULL THEN s.email ELSE f.old_email END,"
	" s.created_batch AS k1, 0 AS k2, 0 AS k3"
	" FROM students s CROSS JOIN sfirst f"
	" LEFT JOIN batches b ON b.id = s.created_batch"
	" WHERE s.student_id = ?1 AND s.created_batch IS NOT NULL"
	" UNION ALL"
	/* Deleted by an undo: created by the batch the deletion names
	 * (old_batch; the undone batch itself in a database of before),
	 * once per creating batch however often undos deleted them. */
	" SELECT " INT_NULL ", d.created, b.kind, 'student', NULL, d.student_id,"
	" (SELECT min(a.line) FROM adds a WHERE a.batch_id = d.created),"
	" NULL, " INT_NULL ", " INT_NULL ", " INT_NULL ", NULL, " INT_NULL ","
	" NULL, NULL, NULL,"
	" d.old_first_name, d.old_last_name, d.old_email, d.created, 0, 0"
	" FROM (SELECT h.*, coalesce(h.old_batch, u.undo_of) AS created,"
	"  row_number() OVER (PARTITION BY coalesce(h.old_batch, u.undo_of)"
	"  ORDER BY h.id) AS n"
	"  FROM history h JOIN batches u ON u.id = h.batch_id"
	"  WHERE h.student_id = ?1 AND h.event = 'student'"
	"  AND u.undo_of IS NOT NULL AND h.new_email IS NULL"
	"  AND h.new_first_name IS NULL AND h.new_last_name IS NULL) d"
	" LEFT JOIN batches b ON b.id = d.created"
	" WHERE d.n = 1 AND NOT EXISTS (SELECT 1 FROM students s WHERE s.student_id = ?1"
	"  AND s.created_batch = d.created)"
	" UNION ALL"
	" SELECT " INT_NULL ", a.batch_id, b.kind, 'added',"
	" coalesce(c.code, '#' || a.course_id), ?1, a.line, NULL, NULL, NULL,"
	" NULL, a.status, a.seq, NULL, NULL, NULL, NULL, NULL, NULL,"
	" a.batch_id, 1, coalesce(a.line, 0)"
	" FROM adds a LEFT JOIN courses c ON c.id = a.course_id"
	" LEFT JOIN batches b ON b.id = a.batch_id"
	" UNION ALL"
	" SELECT " EVENT_COLUMNS("h", "c") ", h.batch_id, 2, h.id"
	" FROM history h LEFT JOIN courses c ON c.id = h.course_id"
	" LEFT JOIN batches b ON b.id = h.batch_id WHERE h.student_id = ?1"
	" ORDER BY 20, 21, 22, 5";

static enum row_status status_parse(const char *s)
{
	if (!s)
		return STATUS_NONE;
	return strcmp(s, "waitlisted") == 0 ? STATUS_WAITLISTED
					    : STATUS_REGISTERED;
}

static int64_t int_or_0(struct sqldb_stmt *stmt, int i)
{
	return sqldb_column_int64(stmt, i); /* NULL reads as 0 */
}

static void change_from_stmt(struct sqldb_stmt *stmt, struct db_change *c)
{
	c->id = int_or_0(stmt, 0);
	c->batch_id = int_or_0(stmt, 1);
	c->batch_kind = db__column_str(stmt, 2);
	c->event = db__column_str(stmt, 3);
	c->course = db__column_str_or_null(stmt, 4);
	c->student_id = db__column_str(stmt, 5);
	c->line = int_or_0(stmt, 6);
	c->old_status = status_parse(db__column_str_or_null(stmt, 7));
	c->old_seq = int_or_0(stmt, 8);
	c->old_batch = int_or_0(stmt, 9);
	c->old_line = int_or_0(stmt, 10);
	c->new_status = status_parse(db__column_str_or_null(stmt, 11));
	c->new_seq = int_or_0(stmt, 12);
	c->old_first_name = db__column_str_or_null(stmt, 13);
	c->old_last_name = db__column_str_or_null(stmt, 14);
	c->old_email = db__column_str_or_null(stmt, 15);
	c->new_first_name = db__column_str_or_null(stmt, 16);
	c->new_last_name = db__column_str_or_null(stmt, 17);
	c->new_email = db__column_str_or_null(stmt, 18);
}

/* Runs sql with ?1 bound to the id or the text given, calling fn per row. */
static enum status list_changes(struct db *db, const char *sql, int64_t id,
				const char *text, db_change_fn fn, void *ctx,
				struct error *err)
{
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	if (text)
		sqldb_bind_text(stmt, 1, text, -1);
	else
		sqldb_bind_int64(stmt, 1, id);
	enum sqldb_rc rc;
	while ((rc = sqldb_step(stmt)) == SQLDB_ROW) {
		struct db_change c;
		change_from_stmt(stmt, &c);
		if (fn(ctx, &c, err) != 0) {
			st = ST_IO;
			goto out;
		}
	}
	if (rc != SQLDB_DONE)
		st = db__fail(db, rc, "reading the history", err);
out:
	sqldb_finalize(stmt);
	return st;
}

enum status db_batch_show(struct db *db, int64_t id, db_batch_fn header,
			  db_change_fn change, void *ctx, struct error *err)
{
	static const char sql[] =
		"SELECT " DB_BATCH_COLUMNS " FROM batches WHERE id = ?1";
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, id);
	enum sqldb_rc rc = sqldb_step(stmt);
	struct batch_record b;
	if (rc == SQLDB_DONE)
		st = error_set(err, ST_NOTFOUND, "no batch %lld (see 'bulkreg "
				 "batches')", (long long)id);
	else if (rc != SQLDB_ROW)
		st = db__fail(db, rc, "reading a batch", err);
	else if (!db__batch_from_stmt(db, stmt, &b))
		st = error_set(err, ST_DB,
			       "%s: batch %lld: the reasons column is not a "
			       "JSON object of counts",
			       db->path, (long long)id);
	else if (header(ctx, &b, err) != 0)
		st = ST_IO;
	sqldb_finalize(stmt);
	if (st == ST_OK)
		st = list_changes(db, batch_changes_sql, id, NULL, change, ctx,
				  err);
	return st;
}

/* ---- student ID --------------------------------------------------------- */

/* Reads the student's row into *s (strings valid while stmt lives). */
static enum status student_get(struct db *db, const char *id,
			       struct sqldb_stmt **stmt, struct db_student *s,
			       struct error *err)
{
	static const char sql[] =
		"SELECT student_id, first_name, last_name, email, created_batch,"
		" EXISTS (SELECT 1 FROM history WHERE student_id = ?1)"
		"  OR EXISTS (SELECT 1 FROM registrations WHERE student_id = ?1)"
		" FROM (SELECT 1) AS one LEFT JOIN students ON student_id = ?1";
	enum status st = db__prepare(db, sql, 0, stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_text(*stmt, 1, id, -1);
	enum sqldb_rc rc = sqldb_step(*stmt);
	if (rc != SQLDB_ROW)
		return db__fail(db, rc, "reading a student", err);
	s->exists = !sqldb_column_is_null(*stmt, 0);
	s->student_id = id;
	s->first_name = db__column_str(*stmt, 1);
	s->last_name = db__column_str(*stmt, 2);
	s->email = db__column_str(*stmt, 3);
	s->created_batch = int_or_0(*stmt, 4);
	if (!s->exists && !(int)sqldb_column_int64(*stmt, 5))
		return error_set(err, ST_NOTFOUND,
				 "no student '%s' (no registration or history "
				 "names them)",
				 id);
	return ST_OK;
}

static enum status student_courses(struct db *db, const char *id,
				   const struct db_student_fns *fns, void *ctx,
				   struct error *err)
{
	static const char sql[] =
		"SELECT coalesce(c.code, '#' || r.course_id), r.status, r.seq,"
		" r.batch_id, r.line FROM registrations r"
		" LEFT JOIN courses c ON c.id = r.course_id"
		" WHERE r.student_id = ?1 ORDER BY 1";
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_text(stmt, 1, id, -1);
	enum sqldb_rc rc;
	while ((rc = sqldb_step(stmt)) == SQLDB_ROW) {
		struct db_student_course c = {
			.course = db__column_str(stmt, 0),
			.status = status_parse(db__column_str(stmt, 1)),
			.seq = int_or_0(stmt, 2),
			.batch_id = int_or_0(stmt, 3),
			.line = int_or_0(stmt, 4),
		};
		if (fns->course(ctx, &c, err) != 0) {
			st = ST_IO;
			goto out;
		}
	}
	if (rc != SQLDB_DONE)
		st = db__fail(db, rc, "listing a student's courses", err);
out:
	sqldb_finalize(stmt);
	return st;
}

enum status db_student_show(struct db *db, const char *student_id,
			    const struct db_student_fns *fns, void *ctx,
			    struct error *err)
{
	/* One read transaction: the three parts agree with each other. */
	enum status st = db__begin_read(db, "reading a student", err);
	if (st != ST_OK)
		return st;
	struct sqldb_stmt *stmt = NULL;
	struct db_student s;
	st = student_get(db, student_id, &stmt, &s, err);
	if (st == ST_OK && fns->student(ctx, &s, err) != 0)
		st = ST_IO;
	sqldb_finalize(stmt);
	if (st == ST_OK)
		st = student_courses(db, student_id, fns, ctx, err);
	if (st == ST_OK)
		st = list_changes(db, student_changes_sql, 0, student_id,
				  fns->change, ctx, err);
	db_rollback(db);
	return st;
}
