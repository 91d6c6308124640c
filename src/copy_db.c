/* copy_db: a whole database from one store into an empty other; see copy_db.h. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "copy_db.h"
#include "db_internal.h"
#include "sqldb.h"

/*
 * The columns of each table at this schema version, with whether each is
 * an integer: integers are read and bound as integers and everything else
 * as text, so that no engine's spelling of a value (PostgreSQL's text of a
 * number, SQLite's affinity) can change it on the way.  A new schema
 * version must list its columns here: the assertion below stops the build
 * until it does.
 */
_Static_assert(DB_SCHEMA_VERSION == 3,
	       "copy_db.c: list the tables and columns of the new schema version");

#define MAX_COLUMNS 24

struct column {
	const char *name;
	bool integer;
};

struct table {
	const char *name;
	const char *order_by;           /* the key: a stable copy order */
	bool has_id;                    /* an id from a sequence (PostgreSQL) */
	struct column cols[MAX_COLUMNS]; /* up to the first NULL name */
};

#define I(n) { n, true }
#define T(n) { n, false }

static const struct table tables[COPY_TABLES] = {
	[COPY_COURSES] = { "courses", "id", true,
		{ I("id"), T("code"), T("title"), I("capacity"),
		  I("waitlist_max"), I("registered"), I("waitlisted"),
		  T("created_at"), T("updated_at"), I("seat_seq") } },
	[COPY_STUDENTS] = { "students", "student_id", false,
		{ T("student_id"), T("first_name"), T("last_name"), T("email"),
		  I("created_batch") } },
	/* undone_by names a later batch: it is set once every batch is in
	 * (copy_undone_by), or the foreign key would refuse the row. */
	[COPY_BATCHES] = { "batches", "id", true,
		{ I("id"), T("started_at"), T("finished_at"), T("source"),
		  T("sha256"), T("label"), T("outcome"), I("rows"),
		  I("registered"), I("waitlisted"), I("already_registered"),
		  I("already_waitlisted"), I("rejected"), T("reasons"),
		  T("kind"), T("options"), T("profile"), I("promoted"),
		  I("dropped"), I("skipped"), I("undo_of"),
		  I("full_history") } },
	[COPY_REGISTRATIONS] = { "registrations", "course_id, student_id",
		false,
		{ I("course_id"), T("student_id"), T("status"), I("seq"),
		  I("batch_id"), I("line") } },
	[COPY_HISTORY] = { "history", "id", true,
		{ I("id"), I("batch_id"), T("event"), I("course_id"),
		  T("student_id"), I("line"), T("old_status"), I("old_seq"),
		  I("old_batch"), I("old_line"), T("new_status"), I("new_seq"),
		  T("old_first_name"), T("old_last_name"), T("old_email"),
		  T("new_first_name"), T("new_last_name"), T("new_email") } },
	[COPY_BATCH_COURSES] = { "batch_courses", "batch_id, course_id", false,
		{ I("batch_id"), I("course_id"), T("title"), I("capacity"),
		  I("waitlist_max"), I("registered"), I("waitlisted"),
		  I("seat_seq"), T("updated_at"), T("after_title"),
		  I("after_capacity"), I("after_waitlist_max"),
		  I("after_known") } },
};

#undef I
#undef T

const char *copy_table_name(enum copy_table t)
{
	return tables[t].name;
}

static int column_count(const struct table *t)
{
	int n = 0;
	while (n < MAX_COLUMNS && t->cols[n].name)
		n++;
	return n;
}

/* "a, b, c" or "?1, ?2, ?3" into buf; false if it does not fit. */
static bool column_list(const struct table *t, bool marks, char *buf,
			size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; i < column_count(t); i++) {
		int n = marks ? snprintf(buf + len, cap - len, "%s?%d",
					 i ? ", " : "", i + 1) :
				snprintf(buf + len, cap - len, "%s%s",
					 i ? ", " : "", t->cols[i].name);
		if (n < 0 || (size_t)n >= cap - len)
			return false;
		len += (size_t)n;
	}
	return true;
}

/* ---- the target must be empty --------------------------------------------- */

static enum status count_rows(struct db *db, const char *table, int64_t *n,
			      struct error *err)
{
	char sql[96];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return db__query_int(db, sql, 0, n, "looking at what it holds", err);
}

/* ST_USAGE naming what `to` holds, unless it holds nothing. */
static enum status check_empty(struct db *to, struct error *err)
{
	char held[512] = "";
	size_t len = 0;
	for (int t = 0; t < COPY_TABLES; t++) {
		int64_t n = 0;
		enum status st = count_rows(to, tables[t].name, &n, err);
		if (st != ST_OK)
			return st;
		if (n > 0 && len < sizeof(held)) {
			int w = snprintf(held + len, sizeof(held) - len,
					 "%s%lld %s", len ? ", " : "",
					 (long long)n, tables[t].name);
			if (w > 0)
				len += (size_t)w;
		}
	}
	if (len == 0)
		return ST_OK;
	return error_set(err, ST_USAGE,
			 "%s: not empty (%s): copy-db copies into an empty "
			 "database only (a new file, or a schema bulkreg init "
			 "made and nothing else wrote)",
			 db_name(to), held);
}

/* ---- copying -------------------------------------------------------------- */

/* Binds column i of the source's current row to parameter i + 1. */
static void bind_column(struct sqldb_stmt *ins, struct sqldb_stmt *sel,
			const struct column *c, int i)
{
	if (sqldb_column_is_null(sel, i))
		sqldb_bind_null(ins, i + 1);
	else if (c->integer)
		sqldb_bind_int64(ins, i + 1, sqldb_column_int64(sel, i));
	else
		sqldb_bind_text(ins, i + 1, sqldb_column_text(sel, i),
				(int)sqldb_column_bytes(sel, i));
}

static enum status copy_rows(struct db *from, struct db *to,
			     struct sqldb_stmt *sel, struct sqldb_stmt *ins,
			     const struct table *t, int64_t *rows,
			     struct error *err)
{
	char what[96];
	snprintf(what, sizeof(what), "copying %s", t->name);
	int ncols = column_count(t);
	for (;;) {
		enum sqldb_rc rc = sqldb_step(sel);
		if (rc == SQLDB_DONE)
			return ST_OK;
		if (rc != SQLDB_ROW)
			return db__fail(from, rc, what, err);
		for (int i = 0; i < ncols; i++)
			bind_column(ins, sel, &t->cols[i], i);
		enum status st = db__step_done(to, ins, what, err);
		if (st != ST_OK)
			return st;
		(*rows)++;
	}
}

static enum status copy_table(struct db *from, struct db *to,
			      const struct table *t, int64_t *rows,
			      struct error *err)
{
	char cols[1024], marks[256], sql[1536];
	if (!column_list(t, false, cols, sizeof(cols)) ||
	    !column_list(t, true, marks, sizeof(marks)))
		return error_set(err, ST_NOMEM, "copy-db: %s: too many columns",
				 t->name);
	struct sqldb_stmt *sel = NULL, *ins = NULL;
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s ORDER BY %s", cols,
		 t->name, t->order_by);
	enum status st = db__prepare(from, sql, 0, &sel, err);
	if (st == ST_OK) {
		snprintf(sql, sizeof(sql), "INSERT INTO %s (%s) VALUES (%s)",
			 t->name, cols, marks);
		st = db__prepare(to, sql, SQLDB_PERSISTENT, &ins, err);
	}
	if (st == ST_OK)
		st = copy_rows(from, to, sel, ins, t, rows, err);
	sqldb_finalize(sel);
	sqldb_finalize(ins);
	return st;
}

/* batches.undone_by, now that every batch it may name is there. */
static enum status copy_undone_by(struct db *from, struct db *to,
				  struct error *err)
{
	struct sqldb_stmt *sel = NULL, *upd = NULL;
	enum status st = db__prepare(from,
				     "SELECT id, undone_by FROM batches "
				     "WHERE undone_by IS NOT NULL ORDER BY id",
				     0, &sel, err);
	if (st == ST_OK)
		st = db__prepare(to,
				 "UPDATE batches SET undone_by = ?2 WHERE id = ?1",
				 SQLDB_PERSISTENT, &upd, err);
	while (st == ST_OK) {
		enum sqldb_rc rc = sqldb_step(sel);
		if (rc == SQLDB_DONE)
			break;
		if (rc != SQLDB_ROW) {
			st = db__fail(from, rc, "copying batches", err);
			break;
		}
		sqldb_bind_int64(upd, 1, sqldb_column_int64(sel, 0));
		sqldb_bind_int64(upd, 2, sqldb_column_int64(sel, 1));
		st = db__step_done(to, upd, "copying batches", err);
	}
	sqldb_finalize(sel);
	sqldb_finalize(upd);
	return st;
}

/* PostgreSQL: each id sequence goes on after the largest id copied, as
 * SQLite's INTEGER PRIMARY KEY does by itself. */
static enum status advance_sequences(struct db *to, struct error *err)
{
	if (!db_is_pg(to))
		return ST_OK;
	for (int t = 0; t < COPY_TABLES; t++) {
		if (!tables[t].has_id)
			continue;
		char sql[256];
		snprintf(sql, sizeof(sql),
			 "SELECT setval(pg_get_serial_sequence('%s', 'id'), "
			 "max(id)) FROM %s HAVING max(id) IS NOT NULL",
			 tables[t].name, tables[t].name);
		struct sqldb_stmt *stmt = NULL;
		enum status st = db__prepare(to, sql, 0, &stmt, err);
		if (st != ST_OK)
			return st;
		enum sqldb_rc rc = sqldb_step(stmt);
		sqldb_finalize(stmt);
		if (rc != SQLDB_ROW && rc != SQLDB_DONE)
			return db__fail(to, rc, "setting the id sequences", err);
	}
	return ST_OK;
}

/* The source's snapshot: every table read as of one moment. */
static enum status begin_read(struct db *from, struct error *err)
{
	return db__exec(from,
			db_is_pg(from) ? "BEGIN ISOLATION LEVEL REPEATABLE READ "
					 "READ ONLY" :
					 "BEGIN",
			"starting to read", err);
}

/* The target's transaction, its tables locked against other writers (on
 * SQLite, BEGIN IMMEDIATE locks the file). */
static enum status begin_write(struct db *to, struct error *err)
{
	enum status st = db_begin(to, err);
	if (st == ST_OK && db_is_pg(to))
		st = db__exec(to,
			      "LOCK TABLE courses, students, batches, "
			      "registrations, history, batch_courses "
			      "IN EXCLUSIVE MODE",
			      "locking the tables", err);
	return st;
}

static enum status copy_all(struct db *from, struct db *to,
			    struct copy_counts *out, struct error *err)
{
	enum status st = check_empty(to, err);
	for (int t = 0; st == ST_OK && t < COPY_TABLES; t++)
		st = copy_table(from, to, &tables[t], &out->rows[t], err);
	if (st == ST_OK)
		st = copy_undone_by(from, to, err);
	if (st == ST_OK)
		st = advance_sequences(to, err);
	return st;
}

enum status copy_db(struct db *from, struct db *to, struct copy_counts *out,
		    struct error *err)
{
	memset(out, 0, sizeof(*out));
	enum status st = begin_read(from, err);
	if (st != ST_OK)
		return st;
	st = begin_write(to, err);
	if (st == ST_OK) {
		st = copy_all(from, to, out, err);
		if (st == ST_OK)
			st = db_commit(to, err);
		else
			db_rollback(to);
	}
	sqldb_exec(from->c, "ROLLBACK");
	return st;
}
