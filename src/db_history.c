/* db_history: reading the history -- `batches show N` and `student ID`. */
#include <stdio.h>
#include <string.h>

#include "db_internal.h"

/* The history columns change_from_stmt reads, in its order. */
static const char change_sql[] =
	"SELECT h.id, h.batch_id, b.kind, h.event,"
	" CASE WHEN h.course_id IS NULL THEN NULL"
	"  ELSE coalesce(c.code, '#' || h.course_id) END,"
	" h.student_id, h.line, h.old_status, h.old_seq, h.old_batch,"
	" h.old_line, h.new_status, h.new_seq, h.old_first_name,"
	" h.old_last_name, h.old_email, h.new_first_name, h.new_last_name,"
	" h.new_email FROM history h"
	" LEFT JOIN courses c ON c.id = h.course_id"
	" LEFT JOIN batches b ON b.id = h.batch_id";

static enum row_status status_parse(const char *s)
{
	if (!s)
		return STATUS_NONE;
	return strcmp(s, "waitlisted") == 0 ? STATUS_WAITLISTED
					    : STATUS_REGISTERED;
}

static int64_t int_or_0(sqlite3_stmt *stmt, int i)
{
	return sqlite3_column_int64(stmt, i); /* NULL reads as 0 */
}

static void change_from_stmt(sqlite3_stmt *stmt, struct db_change *c)
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

/* Runs change_sql + `where` with ?1 bound to the id or the text given,
 * calling fn per row. */
static enum status list_changes(struct db *db, const char *where, int64_t id,
				const char *text, db_change_fn fn, void *ctx,
				struct error *err)
{
	char sql[sizeof(change_sql) + 128];
	snprintf(sql, sizeof(sql), "%s %s", change_sql, where);
	sqlite3_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	if (text)
		sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(stmt, 1, id);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct db_change c;
		change_from_stmt(stmt, &c);
		if (fn(ctx, &c) != 0) {
			st = ST_IO;
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		st = db__fail(db, rc, "reading the history", err);
out:
	sqlite3_finalize(stmt);
	return st;
}

enum status db_batch_show(struct db *db, int64_t id, db_batch_fn header,
			  db_change_fn change, void *ctx, struct error *err)
{
	static const char sql[] =
		"SELECT " DB_BATCH_COLUMNS " FROM batches WHERE id = ?1";
	sqlite3_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, id);
	int rc = sqlite3_step(stmt);
	struct batch_record b;
	if (rc == SQLITE_DONE)
		st = error_set(err, ST_NOTFOUND, "no batch %lld (see 'bulkreg "
				 "batches')", (long long)id);
	else if (rc != SQLITE_ROW)
		st = db__fail(db, rc, "reading a batch", err);
	else if (!db__batch_from_stmt(stmt, &b))
		st = error_set(err, ST_DB,
			       "%s: batch %lld: the reasons column is not a "
			       "JSON object of counts",
			       db->path, (long long)id);
	else if (header(ctx, &b) != 0)
		st = ST_IO;
	sqlite3_finalize(stmt);
	if (st == ST_OK)
		st = list_changes(db, "WHERE h.batch_id = ?1 ORDER BY h.id", id,
				  NULL, change, ctx, err);
	return st;
}

/* ---- student ID --------------------------------------------------------- */

/* Reads the student's row into *s (strings valid while stmt lives). */
static enum status student_get(struct db *db, const char *id,
			       sqlite3_stmt **stmt, struct db_student *s,
			       struct error *err)
{
	static const char sql[] =
		"SELECT student_id, first_name, last_name, email, created_batch,"
		" EXISTS (SELECT 1 FROM history WHERE student_id = ?1)"
		"  OR EXISTS (SELECT 1 FROM registrations WHERE student_id = ?1)"
		" FROM (SELECT 1) LEFT JOIN students ON student_id = ?1";
	enum status st = db__prepare(db, sql, 0, stmt, err);
	if (st != ST_OK)
		return st;
	sqlite3_bind_text(*stmt, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(*stmt);
	if (rc != SQLITE_ROW)
		return db__fail(db, rc, "reading a student", err);
	s->exists = sqlite3_column_type(*stmt, 0) != SQLITE_NULL;
	s->student_id = id;
	s->first_name = db__column_str(*stmt, 1);
	s->last_name = db__column_str(*stmt, 2);
	s->email = db__column_str(*stmt, 3);
	s->created_batch = int_or_0(*stmt, 4);
	if (!s->exists && !sqlite3_column_int(*stmt, 5))
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
	sqlite3_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct db_student_course c = {
			.course = db__column_str(stmt, 0),
			.status = status_parse(db__column_str(stmt, 1)),
			.seq = int_or_0(stmt, 2),
			.batch_id = int_or_0(stmt, 3),
			.line = int_or_0(stmt, 4),
		};
		if (fns->course(ctx, &c) != 0) {
			st = ST_IO;
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		st = db__fail(db, rc, "listing a student's courses", err);
out:
	sqlite3_finalize(stmt);
	return st;
}

enum status db_student_show(struct db *db, const char *student_id,
			    const struct db_student_fns *fns, void *ctx,
			    struct error *err)
{
	/* One read transaction: the three parts agree with each other. */
	enum status st = db__exec(db, "BEGIN", "reading a student", err);
	if (st != ST_OK)
		return st;
	sqlite3_stmt *stmt = NULL;
	struct db_student s;
	st = student_get(db, student_id, &stmt, &s, err);
	if (st == ST_OK && fns->student(ctx, &s) != 0)
		st = ST_IO;
	sqlite3_finalize(stmt);
	if (st == ST_OK)
		st = student_courses(db, student_id, fns, ctx, err);
	if (st == ST_OK)
		st = list_changes(db, "WHERE h.student_id = ?1 ORDER BY h.id", 0,
				  student_id, fns->change, ctx, err);
	db_rollback(db);
	return st;
}
