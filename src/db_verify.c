/* db_verify: `bulkreg verify [--repair]` -- the invariants, checked and rebuilt, in SQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "validate.h"

/*
 * Each check is one query returning (course, student, expected, found) for
 * every place its invariant is broken.  They read two temporary tables
 * built first (prepare_temp): each course's real counts, and each pair's
 * latest history event, so no check is a scan per row.
 */
struct query {
	const char *what;
	const char *sql;
};

static const char temp_sql[] =
	"DROP TABLE IF EXISTS temp.verify_counts;"
	"DROP TABLE IF EXISTS temp.verify_last;"
	"DROP TABLE IF EXISTS temp.verify_slast;"
	"CREATE TEMP TABLE verify_counts (course_id INTEGER PRIMARY KEY,"
	" reg INTEGER NOT NULL, wl INTEGER NOT NULL);"
	"INSERT INTO temp.verify_counts SELECT c.id,"
	" (SELECT count(*) FROM registrations r WHERE r.course_id = c.id"
	"  AND r.status = 'registered'),"
	" (SELECT count(*) FROM registrations r WHERE r.course_id = c.id"
	"  AND r.status = 'waitlisted') FROM courses c;"
	"CREATE TEMP TABLE verify_last (course_id INTEGER NOT NULL,"
	" student_id TEXT NOT NULL, id INTEGER NOT NULL, batch_id INTEGER,"
	" event TEXT, new_status TEXT,"
	" PRIMARY KEY (course_id, student_id)) WITHOUT ROWID;"
	"INSERT INTO temp.verify_last SELECT h.course_id, h.student_id, h.id,"
	" h.batch_id, h.event, h.new_status FROM history h"
	" JOIN (SELECT max(id) AS id FROM history WHERE course_id IS NOT NULL"
	" GROUP BY course_id, student_id) m ON m.id = h.id;"
	"CREATE TEMP TABLE verify_slast (student_id TEXT PRIMARY KEY,"
	" id INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO temp.verify_slast SELECT student_id, max(id) FROM history"
	" WHERE event = 'student' GROUP BY student_id;";

static const char drop_temp_sql[] =
	"DROP TABLE IF EXISTS temp.verify_counts;"
	"DROP TABLE IF EXISTS temp.verify_last;"
	"DROP TABLE IF EXISTS temp.verify_slast;"
	"DROP TABLE IF EXISTS temp.repair_courses;"
	"DROP TABLE IF EXISTS temp.repair_wait;"
	"DROP TABLE IF EXISTS temp.repair_promote;";

/* A status and its seq as people read it: "registered seat 3". */
#define PLACE_SQL(status, seq)                                              \
	"CASE " status " WHEN 'registered' THEN 'registered seat ' || " seq \
	" WHEN 'waitlisted' THEN 'waitlisted position ' || " seq            \
	" ELSE 'absent' END"

/* A student's values as people read them, or `none` when they are NULL. */
#define VALUES_SQL(p, none)                                                \
	"coalesce(" p "first_name || ' ' || " p "last_name || ' <' || " p \
	"email || '>', " none ")"

/* The student's values differ from those the history's event h left. */
#define STUDENT_DIFFERS_SQL                                               \
	"(h.new_email IS DISTINCT FROM s.email"                           \
	" OR h.new_first_name IS DISTINCT FROM s.first_name"              \
	" OR h.new_last_name IS DISTINCT FROM s.last_name)"

/*
 * The history contradicts pair p (its latest event, temp.verify_last) and
 * registration r (either may be missing).  An addition is recorded by the
 * registration itself (its batch and line), every later change by an event
 * that keeps the state before it; so a pair without events is what its
 * registration says, an event that leaves the pair registered or
 * waitlisted must find it so, and one that leaves it absent (dropped) must
 * find it absent, or added again by a later batch.
 */
#define PAIR_DIFFERS_SQL                                                   \
	"((p.new_status IS NOT NULL AND p.new_status IS DISTINCT FROM r.status)" \
	" OR (p.new_status IS NULL AND r.status IS NOT NULL"               \
	" AND r.batch_id <= p.batch_id))"

static const struct query checks[] = {
	{ "registered_count",
	  "SELECT c.code, '', n.reg, c.registered FROM courses c"
	  " JOIN temp.verify_counts n ON n.course_id = c.id"
	  " WHERE c.registered IS DISTINCT FROM n.reg ORDER BY c.code" },
	{ "waitlisted_count",
	  "SELECT c.code, '', n.wl, c.waitlisted FROM courses c"
	  " JOIN temp.verify_counts n ON n.course_id = c.id"
	  " WHERE c.waitlisted IS DISTINCT FROM n.wl ORDER BY c.code" },
	{ "waitlist_positions",
	  "SELECT c.code, '', g.expected, CASE WHEN length(g.found) > 60"
	  " THEN substr(g.found, 1, 57) || '...' ELSE g.found END"
	  " FROM (SELECT course_id, '1..' || count(*) AS expected,"
	  "  group_concat(seq, ',') AS found,"
	  "  sum(CASE WHEN seq IS DISTINCT FROM pos THEN 1 ELSE 0 END) AS bad"
	  "  FROM (SELECT course_id, seq, row_number() OVER"
	  "   (PARTITION BY course_id ORDER BY seq, student_id) AS pos"
	  "   FROM registrations WHERE status = 'waitlisted'"
	  "   ORDER BY course_id, seq, student_id) AS q GROUP BY course_id) g"
	  " JOIN courses c ON c.id = g.course_id WHERE g.bad > 0"
	  " ORDER BY c.code" },
	{ "promotions_owed",
	  "SELECT c.code, '', '0', CASE WHEN c.capacity - n.reg < n.wl"
	  " THEN c.capacity - n.reg ELSE n.wl END || ' ('"
	  " || (c.capacity - n.reg) || CASE WHEN c.capacity - n.reg = 1"
	  " THEN ' seat free, ' ELSE ' seats free, ' END || n.wl || ' waiting)'"
	  " FROM courses c JOIN temp.verify_counts n ON n.course_id = c.id"
	  " WHERE n.reg < c.capacity AND n.wl > 0 ORDER BY c.code" },
	{ "waitlist_over_max",
	  "SELECT c.code, '', 'at most ' || c.waitlist_max || ' waiting',"
	  " n.wl || ' waiting' FROM courses c"
	  " JOIN temp.verify_counts n ON n.course_id = c.id"
	  " WHERE c.waitlist_max IS NOT NULL AND n.wl > c.waitlist_max"
	  " ORDER BY c.code" },
	{ "student_missing",
	  "SELECT coalesce(c.code, '#' || r.course_id), r.student_id,"
	  " 'student ' || r.student_id, 'no such student'"
	  " FROM registrations r LEFT JOIN courses c ON c.id = r.course_id"
	  " WHERE NOT EXISTS (SELECT 1 FROM students s"
	  "  WHERE s.student_id = r.student_id) ORDER BY 1, 2" },
	{ "course_missing",
	  "SELECT '#' || r.course_id, r.student_id, 'course ' || r.course_id,"
	  " 'no such course' FROM registrations r WHERE NOT EXISTS"
	  " (SELECT 1 FROM courses c WHERE c.id = r.course_id)"
	  " ORDER BY r.course_id, r.student_id" },
	{ "seat_seq",
	  "SELECT c.code, '', 'at least ' || m.s, c.seat_seq FROM courses c"
	  " JOIN (SELECT course_id, max(seq) AS s FROM registrations"
	  "  WHERE status = 'registered' GROUP BY course_id) m"
	  " ON m.course_id = c.id WHERE c.seat_seq < m.s ORDER BY c.code" },
	{ "history",
	  "SELECT coalesce(c.code, '#' || p.course_id), p.student_id,"
	  " coalesce(p.new_status, 'absent') || ' (event ' || p.id || ': '"
	  " || p.event || ' by batch ' || p.batch_id || ')',"
	  " CASE WHEN r.status IS NULL THEN 'absent'"
	  "  WHEN p.new_status IS NULL"
	  "  THEN r.status || ' by batch ' || r.batch_id ELSE r.status END"
	  " FROM temp.verify_last p"
	  " LEFT JOIN registrations r ON r.course_id = p.course_id"
	  "  AND r.student_id = p.student_id"
	  " LEFT JOIN courses c ON c.id = p.course_id"
	  " WHERE " PAIR_DIFFERS_SQL " ORDER BY 1, 2" },
	{ "registration_batch",
	  "SELECT coalesce(c.code, '#' || r.course_id), r.student_id,"
	  " 'a committed batch', 'batch ' || r.batch_id || ' '"
	  " || coalesce(b.outcome, 'missing')"
	  " FROM registrations r LEFT JOIN batches b ON b.id = r.batch_id"
	  " LEFT JOIN courses c ON c.id = r.course_id"
	  " WHERE b.outcome IS DISTINCT FROM 'committed' ORDER BY 1, 2" },
	/* A batch row deleted by hand: its history and its courses as they
	 * were before it would be taken for another batch's (and bulkreg
	 * never numbers a batch below them again, db_batch.c). */
	{ "history_batch",
	  "SELECT coalesce(c.code, CASE WHEN h.course_id IS NULL THEN ''"
	  " ELSE '#' || h.course_id END), coalesce(h.student_id, ''), 'its batch',"
	  " 'batch ' || h.batch_id || ' missing (event ' || h.id || ')'"
	  " FROM history h LEFT JOIN courses c ON c.id = h.course_id"
	  " WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = h.batch_id)"
	  " ORDER BY 1, 2" },
	{ "snapshot_batch",
	  "SELECT coalesce(c.code, '#' || s.course_id), '', 'its batch',"
	  " 'batch ' || s.batch_id || ' missing'"
	  " FROM batch_courses s LEFT JOIN courses c ON c.id = s.course_id"
	  " WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = s.batch_id)"
	  " ORDER BY 1" },
	{ "student_history",
	  "SELECT '', l.student_id, " VALUES_SQL("h.new_", "'absent'")
	  " || ' (event ' || h.id || ' by batch ' || h.batch_id || ')', "
	  VALUES_SQL("s.", "'absent'")
	  " FROM temp.verify_slast l JOIN history h ON h.id = l.id"
	  " LEFT JOIN students s ON s.student_id = l.student_id"
	  /* A creation is no history row (created_batch records it): a
	   * student created again after its last event is as it was made. */
	  " WHERE " STUDENT_DIFFERS_SQL
	  " AND (s.created_batch IS NULL OR s.created_batch <= h.batch_id)"
	  " ORDER BY 2" },
};

/*
 * What a repair changed, read after its commit: (course, student, after,
 * before).  ?1 is the repair batch.
 */
static const struct query changes[] = {
	{ "seat_seq",
	  "SELECT c.code, '', c.seat_seq, o.seat_seq FROM temp.repair_courses o"
	  " JOIN courses c ON c.id = o.id WHERE c.seat_seq <> o.seat_seq"
	  " ORDER BY c.code" },
	{ "history_dropped",
	  "SELECT coalesce(c.code, '#' || h.course_id), h.student_id,"
	  " 'absent', " PLACE_SQL("h.old_status", "h.old_seq")
	  " FROM history h LEFT JOIN courses c ON c.id = h.course_id"
	  " WHERE h.batch_id = ?1 AND h.event = 'dropped' ORDER BY h.id" },
	{ "history_added",
	  "SELECT coalesce(c.code, '#' || h.course_id), h.student_id, "
	  PLACE_SQL("h.new_status", "h.new_seq") ", 'no history'"
	  " FROM history h LEFT JOIN courses c ON c.id = h.course_id"
	  " WHERE h.batch_id = ?1 AND h.event = 'added' ORDER BY h.id" },
	{ "history_student",
	  "SELECT '', h.student_id, " VALUES_SQL("h.new_", "'absent'") ", "
	  VALUES_SQL("h.old_", "'-'")
	  " FROM history h WHERE h.batch_id = ?1 AND h.event = 'student'"
	  " ORDER BY h.id" },
	{ "promoted",
	  "SELECT coalesce(c.code, '#' || h.course_id), h.student_id, "
	  PLACE_SQL("h.new_status", "h.new_seq") ", "
	  PLACE_SQL("h.old_status", "h.old_seq")
	  " FROM history h LEFT JOIN courses c ON c.id = h.course_id"
	  " WHERE h.batch_id = ?1 AND h.event = 'promoted' ORDER BY h.id" },
	{ "waitlist_position",
	  "SELECT c.code, r.student_id, r.seq, w.seq FROM temp.repair_wait w"
	  " JOIN registrations r ON r.course_id = w.course_id"
	  "  AND r.student_id = w.student_id"
	  " JOIN courses c ON c.id = r.course_id"
	  " WHERE r.status = 'waitlisted' AND r.seq <> w.seq"
	  " ORDER BY c.code, r.seq" },
	{ "registered_count",
	  "SELECT c.code, '', c.registered, o.registered"
	  " FROM temp.repair_courses o JOIN courses c ON c.id = o.id"
	  " WHERE c.registered <> o.registered ORDER BY c.code" },
	{ "waitlisted_count",
	  "SELECT c.code, '', c.waitlisted, o.waitlisted"
	  " FROM temp.repair_courses o JOIN courses c ON c.id = o.id"
	  " WHERE c.waitlisted <> o.waitlisted ORDER BY c.code" },
};

#define NCHECKS (sizeof(checks) / sizeof(checks[0]))
#define NCHANGES (sizeof(changes) / sizeof(changes[0]))

static const char *text_or_empty(struct sqldb_stmt *stmt, int i)
{
	return db__column_str(stmt, i);
}

/* Runs one query, passing each row to fn (when fn is set); adds the rows
 * to *count. */
static enum status run_query(struct db *db, const struct query *q,
			     int64_t batch_id, db_finding_fn fn, void *ctx,
			     int64_t *count, struct error *err)
{
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, q->sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	if (sqldb_bind_count(stmt) > 0)
		sqldb_bind_int64(stmt, 1, batch_id);
	enum sqldb_rc rc;
	while ((rc = sqldb_step(stmt)) == SQLDB_ROW) {
		struct db_finding f = {
			.course = text_or_empty(stmt, 0),
			.student = text_or_empty(stmt, 1),
			.what = q->what,
			.expected = text_or_empty(stmt, 2),
			.found = text_or_empty(stmt, 3),
		};
		(*count)++;
		if (fn && fn(ctx, &f, err) != 0) {
			st = ST_IO;
			goto out;
		}
	}
	if (rc != SQLDB_DONE)
		st = db__fail(db, rc, "verifying the database", err);
out:
	sqldb_finalize(stmt);
	return st;
}

/* PRAGMA integrity_check: one finding per line that is not "ok". */
static enum status integrity(struct db *db, db_finding_fn fn, void *ctx,
			     int64_t *count, struct error *err)
{
	/* PostgreSQL keeps its own pages checked (and amcheck is an
	 * extension a role may not have): the invariants below are ours. */
	if (db->pg)
		return ST_OK;
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, "PRAGMA integrity_check", 0, &stmt, err);
	if (st != ST_OK)
		return st;
	enum sqldb_rc rc;
	while ((rc = sqldb_step(stmt)) == SQLDB_ROW) {
		const char *msg = text_or_empty(stmt, 0);
		if (strcmp(msg, "ok") == 0)
			continue;
		struct db_finding f = { "", "", "integrity_check", "ok", msg };
		(*count)++;
		if (fn && fn(ctx, &f, err) != 0) {
			st = ST_IO;
			goto out;
		}
	}
	if (rc != SQLDB_DONE)
		st = db__fail(db, rc, "checking the database's integrity", err);
out:
	sqldb_finalize(stmt);
	return st;
}

static enum status read_totals(struct db *db, struct db_verify_totals *t,
			       struct error *err)
{
	static const char sql[] =
		"SELECT (SELECT count(*) FROM courses),"
		" (SELECT count(*) FROM registrations),"
		" (SELECT count(*) FROM history)";
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	enum sqldb_rc rc = sqldb_step(stmt);
	if (rc == SQLDB_ROW) {
		t->courses = sqldb_column_int64(stmt, 0);
		t->registrations = sqldb_column_int64(stmt, 1);
		t->events = sqldb_column_int64(stmt, 2);
	} else {
		st = db__fail(db, rc, "counting what was verified", err);
	}
	sqldb_finalize(stmt);
	return st;
}

struct foreign_out {
	db_finding_fn fn;
	void *ctx;
	int64_t *count;
	struct error *err;
	bool failed; /* fn said stop: the rest are counted, not listed */
	bool code;   /* a function, operator, type ... a statement could run */
};

/* Kinds of object (db_trust.c) that a statement of bulkreg's could resolve
 * to and run: verify then reads no further (review 20, F07). */
static bool runs_code(const char *type)
{
	static const char *const kinds[] = {
		"function", "procedure", "aggregate", "window function",
		"operator", "type", "collation", "conversion",
		"operator class", "operator family", "text search",
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncmp(type, kinds[i], strlen(kinds[i])) == 0)
			return true;
	return false;
}

static void foreign_object(void *ctx, const char *type, const char *name,
			   const char *table)
{
	struct foreign_out *o = ctx;
	char found[200];
	if (strcmp(name, table) != 0)
		snprintf(found, sizeof(found), "%s %.80s on %.80s", type, name,
			 table);
	else
		snprintf(found, sizeof(found), "%s %.80s", type, name);
	struct db_finding f = { "", "", "foreign_object", "absent", found };
	(*o->count)++;
	o->code = o->code || runs_code(type);
	if (!o->failed && o->fn && o->fn(o->ctx, &f, o->err) != 0)
		o->failed = true;
}

/* Each object of the schema bulkreg did not create (a trigger, a view, an
 * index planted by hand) is a finding -- every other command
 * refuses such a database; verify, which opens it to examine it, lists
 * them. */
static enum status foreign_objects(struct db *db, db_finding_fn fn, void *ctx,
				   int64_t *count, bool *code, struct error *err)
{
	struct foreign_out o = { fn, ctx, count, err, false, false };
	enum status st = db__foreign_objects(db, foreign_object, &o, err);
	*code = o.code;
	return st == ST_OK && o.failed ? ST_IO : st;
}

/*
 * Stored course codes and student ids that break the rule the readers
 * apply (id_check: 1 to 255 bytes, no control or invisible characters):
 * written with sqlite3 or psql, they make other commands refuse the
 * database ("course 3 has a code longer than 255 bytes") or show ids no
 * roster could hold (review 21, F14).  One finding each, kind course_code
 * or student_id; a value too long to show is named by its course id, or
 * cut.
 */
static enum status stored_ids(struct db *db, bool courses, db_finding_fn fn,
			      void *ctx, int64_t *count, struct error *err)
{
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db,
				     courses ? "SELECT id, code FROM courses"
					       " ORDER BY id" :
					       "SELECT 0, student_id FROM students"
					       " ORDER BY student_id",
				     0, &stmt, err);
	if (st != ST_OK)
		return st;
	enum sqldb_rc rc;
	while ((rc = sqldb_step(stmt)) == SQLDB_ROW) {
		const char *v = text_or_empty(stmt, 1);
		int n = sqldb_column_bytes(stmt, 1);
		size_t len = n > 0 ? (size_t)n : 0;
		char why[128];
		if (id_check(v, len, why, sizeof(why)))
			continue;
		char shown[72];
		if (courses && len > ID_MAX)
			snprintf(shown, sizeof(shown), "#%lld",
				 (long long)sqldb_column_int64(stmt, 0));
		else if (len > 60)
			snprintf(shown, sizeof(shown), "%.57s...", v);
		else
			snprintf(shown, sizeof(shown), "%s", v);
		struct db_finding f = {
			.course = courses ? shown : "",
			.student = courses ? "" : shown,
			.what = courses ? "course_code" : "student_id",
			.expected = "1 to 255 bytes, no control or invisible "
				    "characters",
			.found = why,
		};
		(*count)++;
		if (fn && fn(ctx, &f, err) != 0) {
			st = ST_IO;
			goto out;
		}
	}
	if (rc != SQLDB_DONE)
		st = db__fail(db, rc, "verifying the database", err);
out:
	sqldb_finalize(stmt);
	return st;
}

/* The checks proper, inside an open transaction.  A database that fails
 * integrity_check is not read further: its other answers cannot be
 * trusted. */
static enum status verify_locked(struct db *db, db_finding_fn fn, void *ctx,
				 struct db_verify_totals *t, struct error *err)
{
	/* The schema's objects first: reading sqlite_master is safe even
	 * where integrity_check fails (a changed index definition fails
	 * both). */
	bool code = false;
	enum status st = foreign_objects(db, fn, ctx, &t->problems, &code, err);
	/* Planted code the checks' statements could run (as whoever runs
	 * verify): listed, and nothing more is read. */
	if (st != ST_OK || code)
		return st;
	int64_t damage = 0;
	if (st == ST_OK)
		st = integrity(db, fn, ctx, &damage, err);
	t->problems += damage;
	if (st != ST_OK || damage > 0)
		return st;
	st = stored_ids(db, true, fn, ctx, &t->problems, err);
	if (st == ST_OK)
		st = stored_ids(db, false, fn, ctx, &t->problems, err);
	if (st == ST_OK)
		st = db__exec(db, temp_sql, "verifying the database", err);
	for (size_t i = 0; st == ST_OK && i < NCHECKS; i++)
		st = run_query(db, &checks[i], 0, fn, ctx, &t->problems, err);
	if (st == ST_OK)
		st = read_totals(db, t, err);
	return st;
}

enum status db_verify(struct db *db, db_finding_fn fn, void *ctx,
		      struct db_verify_totals *totals, struct error *err)
{
	memset(totals, 0, sizeof(*totals));
	/* One read transaction: every check sees the same database. */
	enum status st = db__begin_read(db, "verifying the database", err);
	if (st != ST_OK)
		return st;
	st = verify_locked(db, fn, ctx, totals, err);
	if (st == ST_OK)
		st = db__exec(db, "COMMIT", "verifying the database", err);
	db_rollback(db);
	sqldb_exec(db->c, drop_temp_sql);
	return st;
}

/* ---- repair ------------------------------------------------------------- */

/* Waitlist positions 1..n in (seq, student_id) order. */
static const char renumber_sql[] =
	"WITH w AS (SELECT course_id, student_id, row_number() OVER"
	" (PARTITION BY course_id ORDER BY seq, student_id) AS pos"
	" FROM registrations WHERE status = 'waitlisted')"
	" UPDATE registrations SET seq = w.pos FROM w"
	" WHERE registrations.course_id = w.course_id"
	" AND registrations.student_id = w.student_id"
	" AND registrations.seq IS DISTINCT FROM w.pos";

/*
 * The repair, step by step; ?1 is the repair batch.  The order matters:
 * history is reconciled after the renumbering (so an 'added' event holds
 * the position the pair now has) and before the promotions (so a promoted
 * pair's events read added, then promoted).
 */
static const char *const repair_steps[] = {
	/* What was there before, to record and report the changes. */
	"CREATE TEMP TABLE repair_courses AS SELECT id, title, capacity,"
	" waitlist_max, registered, waitlisted, seat_seq, updated_at"
	" FROM courses",
	"CREATE TEMP TABLE repair_wait (course_id INTEGER NOT NULL,"
	" student_id TEXT NOT NULL, seq INTEGER NOT NULL,"
	" PRIMARY KEY (course_id, student_id)) WITHOUT ROWID",
	"INSERT INTO temp.repair_wait SELECT course_id, student_id, seq"
	" FROM registrations WHERE status = 'waitlisted'",
	/* seat_seq never below the highest seat. */
	"UPDATE courses SET seat_seq = (SELECT max(seq) FROM registrations r"
	" WHERE r.course_id = courses.id AND r.status = 'registered')"
	" WHERE seat_seq < (SELECT max(seq) FROM registrations r"
	" WHERE r.course_id = courses.id AND r.status = 'registered')",
	renumber_sql,
	/* History the tables contradict: the pair left that state... */
	"INSERT INTO history (batch_id, event, course_id, student_id,"
	" old_status, old_seq, old_batch, old_line)"
	" SELECT ?1, 'dropped', p.course_id, p.student_id, h.new_status,"
	" h.new_seq, coalesce(h.old_batch, h.batch_id),"
	" coalesce(h.old_line, h.line)"
	" FROM temp.verify_last p JOIN history h ON h.id = p.id"
	" LEFT JOIN registrations r ON r.course_id = p.course_id"
	"  AND r.student_id = p.student_id"
	" WHERE p.new_status IS NOT NULL"
	" AND p.new_status IS DISTINCT FROM r.status"
	" AND EXISTS (SELECT 1 FROM courses c WHERE c.id = p.course_id)"
	" ORDER BY p.course_id, p.student_id",
	/* ...and a pair it does not explain was added as it is. */
	"INSERT INTO history (batch_id, event, course_id, student_id, line,"
	" new_status, new_seq)"
	" SELECT ?1, 'added', r.course_id, r.student_id, r.line, r.status, r.seq"
	" FROM temp.verify_last p JOIN registrations r"
	" ON r.course_id = p.course_id AND r.student_id = p.student_id"
	" JOIN courses c ON c.id = r.course_id"
	" WHERE " PAIR_DIFFERS_SQL
	" ORDER BY r.course_id, r.status, r.seq",
	/* Students the history does not leave as they are. */
	"INSERT INTO history (batch_id, event, student_id, old_first_name,"
	" old_last_name, old_email, new_first_name, new_last_name, new_email)"
	" SELECT ?1, 'student', l.student_id, h.new_first_name,"
	" h.new_last_name, h.new_email, s.first_name, s.last_name, s.email"
	" FROM temp.verify_slast l JOIN history h ON h.id = l.id"
	" LEFT JOIN students s ON s.student_id = l.student_id"
	" WHERE " STUDENT_DIFFERS_SQL " ORDER BY l.student_id",
	/* Promotions owed: the first waitlisted into the free seats. */
	"CREATE TEMP TABLE repair_promote AS SELECT w.course_id, w.student_id,"
	" w.seq, w.batch_id, w.line, c.seat_seq + w.seq AS seat"
	" FROM registrations w JOIN courses c ON c.id = w.course_id"
	" WHERE w.status = 'waitlisted' AND w.seq <= c.capacity -"
	" (SELECT count(*) FROM registrations r WHERE r.course_id = c.id"
	"  AND r.status = 'registered')",
	"INSERT INTO history (batch_id, event, course_id, student_id,"
	" old_status, old_seq, old_batch, old_line, new_status, new_seq)"
	" SELECT ?1, 'promoted', course_id, student_id, 'waitlisted', seq,"
	" batch_id, line, 'registered', seat FROM temp.repair_promote"
	" ORDER BY course_id, seq",
	"UPDATE registrations SET status = 'registered', seq = p.seat"
	" FROM temp.repair_promote p WHERE registrations.course_id = p.course_id"
	" AND registrations.student_id = p.student_id",
	"UPDATE courses SET seat_seq = seat_seq + (SELECT count(*)"
	" FROM temp.repair_promote p WHERE p.course_id = courses.id)"
	" WHERE id IN (SELECT course_id FROM temp.repair_promote)",
	renumber_sql,
	/* The counters from the registrations. */
	"UPDATE courses SET registered = n.reg, waitlisted = n.wl"
	" FROM (SELECT c.id,"
	"  (SELECT count(*) FROM registrations r WHERE r.course_id = c.id"
	"   AND r.status = 'registered') AS reg,"
	"  (SELECT count(*) FROM registrations r WHERE r.course_id = c.id"
	"   AND r.status = 'waitlisted') AS wl FROM courses c) AS n"
	" WHERE n.id = courses.id"
	" AND (courses.registered IS DISTINCT FROM n.reg"
	" OR courses.waitlisted IS DISTINCT FROM n.wl)",
	/* Each course the repair changed, as it was before (for undo). */
	"INSERT INTO batch_courses (batch_id, course_id, title, capacity,"
	" waitlist_max, registered, waitlisted, seat_seq, updated_at)"
	" SELECT ?1, o.id, o.title, o.capacity, o.waitlist_max, o.registered,"
	" o.waitlisted, o.seat_seq, o.updated_at"
	" FROM temp.repair_courses o JOIN courses c ON c.id = o.id"
	" WHERE c.registered <> o.registered OR c.waitlisted <> o.waitlisted"
	" OR c.seat_seq <> o.seat_seq"
	" OR EXISTS (SELECT 1 FROM history h WHERE h.batch_id = ?1"
	"  AND h.course_id = o.id)"
	" OR EXISTS (SELECT 1 FROM temp.repair_wait w JOIN registrations r"
	"  ON r.course_id = w.course_id AND r.student_id = w.student_id"
	"  WHERE w.course_id = o.id AND r.status = 'waitlisted'"
	"  AND r.seq <> w.seq)",
	"UPDATE courses SET updated_at = " DB_NOW_SQL
	" WHERE id IN (SELECT course_id FROM batch_courses WHERE batch_id = ?1)",
	"UPDATE batches SET outcome = 'committed', finished_at = " DB_NOW_SQL ","
	" promoted = (SELECT count(*) FROM history WHERE batch_id = ?1"
	"  AND event = 'promoted')"
	" WHERE id = ?1",
};

#define NSTEPS (sizeof(repair_steps) / sizeof(repair_steps[0]))

static enum status count_rows(struct db *db, const char *sql, int64_t id,
			      int64_t *n, struct error *err)
{
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, id);
	enum sqldb_rc rc = sqldb_step(stmt);
	if (rc == SQLDB_ROW)
		*n = sqldb_column_int64(stmt, 0);
	else
		st = db__fail(db, rc, "repairing the database", err);
	sqldb_finalize(stmt);
	return st;
}

#ifdef BULKREG_TEST_HOOKS
/* Test builds only: BULKREG_TEST_FAIL_REPAIR=1 fails the repair once
 * every step has written, before the commit (tests/e2e/t_verify.sh). */
static enum status test_fail_repair(struct error *err)
{
	const char *s = getenv("BULKREG_TEST_FAIL_REPAIR");
	if (s && strcmp(s, "1") == 0)
		return error_set(err, ST_DB, "repairing the database: failed by "
					     "the test hook");
	return ST_OK;
}
#else
static enum status test_fail_repair(struct error *err)
{
	(void)err;
	return ST_OK;
}
#endif

static enum status repair_locked(struct db *db, struct db_repair_result *r,
				 struct error *err)
{
	int64_t problems = 0;
	enum status st = integrity(db, NULL, NULL, &problems, err);
	if (st != ST_OK || (r->damaged = problems > 0))
		return st;
	/* ?1: PostgreSQL's id from the sequence, or 0 for SQLite's. */
	st = db__query_int(db,
			   "INSERT INTO batches (id, started_at, source, outcome,"
			   " kind, options, reasons, full_history) VALUES"
			   " (coalesce(nullif(?1, 0), " DB_SQLITE_NEXT_BATCH_SQL
			   "), " DB_NOW_SQL
			   ", 'verify --repair', 'running', 'repair', '{}', '{}',"
			   " 1) RETURNING id",
			   r->batch_id, &r->batch_id, "repairing the database",
			   err);
	if (st != ST_OK)
		return st;
	st = db__exec(db, drop_temp_sql, "repairing the database", err);
	if (st == ST_OK)
		st = db__exec(db, temp_sql, "repairing the database", err);
	for (size_t i = 0; st == ST_OK && i < NSTEPS; i++)
		st = db__exec_bound(db, repair_steps[i], r->batch_id, 0,
				    "repairing the database", err);
	return st == ST_OK ? test_fail_repair(err) : st;
}

enum status db_repair(struct db *db, db_finding_fn fn, void *ctx,
		      struct db_repair_result *result, struct error *err)
{
	memset(result, 0, sizeof(*result));
	int64_t id = 0;
	enum status st = db->pg ? db__pg_batch_id_take(db, &id, err) : ST_OK;
	if (st == ST_OK)
		st = db_begin(db, err);
	if (st != ST_OK)
		return st;
	result->batch_id = id;
	/* PostgreSQL: every batch holds the rows of the courses it changes
	 * (store_course_lock); this waits for them and keeps new ones out. */
	if (db->pg)
		st = db__exec(db, "LOCK TABLE courses IN EXCLUSIVE MODE",
			      "waiting for other batches", err);
	if (st == ST_OK)
		st = repair_locked(db, result, err);
	int64_t touched = 0;
	if (st == ST_OK && result->batch_id)
		st = count_rows(db,
				"SELECT (SELECT count(*) FROM batch_courses"
				" WHERE batch_id = ?1) + (SELECT count(*)"
				" FROM history WHERE batch_id = ?1)",
				result->batch_id, &touched, err);
	if (st == ST_OK && touched > 0)
		st = db_commit(db, err);
	if (st != ST_OK || touched == 0) {
		/* Nothing to change (or a failure): no batch at all. */
		db_rollback(db);
		result->batch_id = 0;
		if (db->pg)
			db__pg_batch_id_give_back(db, id);
	}
	for (size_t i = 0; st == ST_OK && result->batch_id && i < NCHANGES; i++)
		st = run_query(db, &changes[i], result->batch_id, fn, ctx,
			       &result->changes, err);
	sqldb_exec(db->c, drop_temp_sql);
	return st;
}
