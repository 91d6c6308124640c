/* db_schema: the schema as a list of forward migrations, applied on open (both stores). */
#include <stdio.h>
#include <string.h>

#include "db_internal.h"

/*
 * One step per schema version, applied in order to bring user_version from
 * the step before it up to `version`.  Append the next version here (and bump
 * DB_SCHEMA_VERSION); never edit a step that has shipped.
 *
 * One copy for both stores: on PostgreSQL the driver spells the DDL its
 * way (sqldb_pg.c): INTEGER is BIGINT, an INTEGER PRIMARY KEY is an
 * identity column (ids from a sequence), TEXT compares byte by byte
 * (COLLATE "C", as SQLite does), WITHOUT ROWID goes.  The version lives in
 * PRAGMA user_version on SQLite and in the schema's `meta` table on
 * PostgreSQL.
 */
struct migration {
	int version;
	const char *sql;
};

/*
 * Natural keys and WITHOUT ROWID keep a roster row at about two B-tree
 * writes: one in students, one in registrations.  The courses counters are
 * the truth for capacity decisions, so no run needs COUNT(*) over
 * registrations.
 */
static const char schema_v1[] =
	"CREATE TABLE courses ("
	" id INTEGER PRIMARY KEY,"
	" code TEXT NOT NULL UNIQUE,"
	" title TEXT NOT NULL DEFAULT '',"
	" capacity INTEGER NOT NULL CHECK (capacity BETWEEN 0 AND 1000000),"
	" waitlist_max INTEGER CHECK (waitlist_max IS NULL OR waitlist_max >= 0),"
	" registered INTEGER NOT NULL DEFAULT 0,"
	" waitlisted INTEGER NOT NULL DEFAULT 0,"
	" created_at TEXT NOT NULL,"
	" updated_at TEXT NOT NULL);"
	"CREATE TABLE students ("
	" student_id TEXT PRIMARY KEY,"
	" first_name TEXT NOT NULL DEFAULT '',"
	" last_name TEXT NOT NULL DEFAULT '',"
	" email TEXT NOT NULL DEFAULT '',"
	" created_batch INTEGER) WITHOUT ROWID;"
	"CREATE TABLE batches ("
	" id INTEGER PRIMARY KEY,"
	" started_at TEXT NOT NULL,"
	" finished_at TEXT,"
	" source TEXT NOT NULL,"
	" sha256 TEXT,"
	" label TEXT,"
	" outcome TEXT NOT NULL CHECK (outcome IN"
	"  ('running','committed','dry_run','rolled_back')),"
	" rows INTEGER NOT NULL DEFAULT 0,"
	" registered INTEGER NOT NULL DEFAULT 0,"
	" waitlisted INTEGER NOT NULL DEFAULT 0,"
	" already_registered INTEGER NOT NULL DEFAULT 0,"
	" already_waitlisted INTEGER NOT NULL DEFAULT 0,"
	" rejected INTEGER NOT NULL DEFAULT 0,"
	" reasons TEXT);"
	"CREATE TABLE registrations ("
	" course_id INTEGER NOT NULL REFERENCES courses(id),"
	" student_id TEXT NOT NULL REFERENCES students(student_id)"
	"  DEFERRABLE INITIALLY DEFERRED,"
	" status TEXT NOT NULL CHECK (status IN ('registered','waitlisted')),"
	" seq INTEGER NOT NULL,"
	" batch_id INTEGER NOT NULL REFERENCES batches(id),"
	" line INTEGER NOT NULL,"
	" PRIMARY KEY (course_id, student_id)) WITHOUT ROWID;";

/*
 * Version 2: registration is a lifecycle.  Every change to a pair or a
 * student is recorded in `history` with its batch (undo, `batches show`,
 * `student` and `verify` read it); `batch_courses` keeps each course as it
 * was before the batch that changed it, so undo restores it exactly.
 * `seat_seq` is the last seat number handed out: seats keep their numbers
 * when others drop (the seat order is the registration order), while
 * waitlist positions are always 1..n.  An addition is recorded by the
 * registration itself (batch_id, line) and a new student by its
 * created_batch -- a history row for each would double a first run's
 * writes -- so `history` holds every later change, each with the state
 * before it (the batch and line that added the pair included).  A
 * version-1 database is complete history as it is.
 */
static const char schema_v2[] =
	"ALTER TABLE courses ADD COLUMN seat_seq INTEGER NOT NULL DEFAULT 0;"
	"UPDATE courses SET seat_seq = coalesce((SELECT max(seq)"
	" FROM registrations AS r WHERE r.course_id = courses.id"
	" AND r.status = 'registered'), 0);"
	"ALTER TABLE batches ADD COLUMN kind TEXT NOT NULL DEFAULT 'register'"
	" CHECK (kind IN ('register','drop','sync','undo','course','repair'));"
	"ALTER TABLE batches ADD COLUMN options TEXT;"
	"ALTER TABLE batches ADD COLUMN profile TEXT;"
	"ALTER TABLE batches ADD COLUMN promoted INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE batches ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE batches ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE batches ADD COLUMN undo_of INTEGER REFERENCES batches(id);"
	"ALTER TABLE batches ADD COLUMN undone_by INTEGER REFERENCES batches(id);"
	/* 0 for a version-1 batch: it kept no history of student changes. */
	"ALTER TABLE batches ADD COLUMN full_history INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE history ("
	" id INTEGER PRIMARY KEY,"
	" batch_id INTEGER NOT NULL REFERENCES batches(id),"
	/* Comparisons, not IN (...): SQLite evaluates an IN list of more
	 * than two values through a temporary index, on every insert. */
	" event TEXT NOT NULL CHECK (event = 'added' OR event = 'promoted'"
	"  OR event = 'dropped' OR event = 'restored' OR event = 'student'),"
	" course_id INTEGER REFERENCES courses(id),"
	" student_id TEXT NOT NULL,"
	" line INTEGER,"
	" old_status TEXT CHECK (old_status IN ('registered','waitlisted')),"
	" old_seq INTEGER, old_batch INTEGER, old_line INTEGER,"
	" new_status TEXT CHECK (new_status IN ('registered','waitlisted')),"
	" new_seq INTEGER,"
	" old_first_name TEXT, old_last_name TEXT, old_email TEXT,"
	" new_first_name TEXT, new_last_name TEXT, new_email TEXT);"
	"CREATE INDEX history_batch ON history (batch_id);"
	/* Promotion and renumbering find waitlist positions; seats, most
	 * rows, stay out of this index. */
	"CREATE INDEX registrations_waitlist ON registrations (course_id, seq)"
	" WHERE status = 'waitlisted';"
	"CREATE TABLE batch_courses ("
	" batch_id INTEGER NOT NULL REFERENCES batches(id),"
	" course_id INTEGER NOT NULL REFERENCES courses(id),"
	" title TEXT NOT NULL, capacity INTEGER NOT NULL, waitlist_max INTEGER,"
	" registered INTEGER NOT NULL, waitlisted INTEGER NOT NULL,"
	" seat_seq INTEGER NOT NULL, updated_at TEXT NOT NULL,"
	" PRIMARY KEY (batch_id, course_id)) WITHOUT ROWID;"
	;

/*
 * Version 3: a batch that changes course settings (a capacity raise that
 * promotes, kind `course`, and an undo of one) records what it left them
 * at beside what they were before, so that its undo sets back only the
 * settings it changed and only while they are still as it left them: an
 * edit made since (a `course add` that moves no one is no batch) is kept
 * (issue 11: undo restores the state before a batch "for everything it
 * changed"; review 18, A2).  after_known is 0 for every batch recorded
 * before, and for batches that change no settings.
 */
static const char schema_v3[] =
	"ALTER TABLE batch_courses ADD COLUMN after_title TEXT;"
	"ALTER TABLE batch_courses ADD COLUMN after_capacity INTEGER;"
	"ALTER TABLE batch_courses ADD COLUMN after_waitlist_max INTEGER;"
	"ALTER TABLE batch_courses ADD COLUMN after_known INTEGER NOT NULL"
	" DEFAULT 0;";

static const struct migration migrations[] = {
	{ 1, schema_v1 },
	{ 2, schema_v2 },
	{ 3, schema_v3 },
};

#define MIGRATION_COUNT (sizeof(migrations) / sizeof(migrations[0]))

/* PostgreSQL: the meta table, made with the first step. */
static const char pg_meta_sql[] =
	"CREATE TABLE meta (version INTEGER NOT NULL);"
	"INSERT INTO meta (version) VALUES (0)";

/* PostgreSQL: history ids are numbered at COMMIT (db__commit); until
 * then a batch's rows hold ids from this far range. */
static const char pg_history_ids_sql[] =
	"ALTER TABLE history ALTER COLUMN id RESTART WITH " DB_PG_HISTORY_TEMP_ID;

static enum status read_version(struct db *db, int *version, struct error *err)
{
	*version = 0;
	if (db->pg) {
		int64_t v = 0;
		enum status st = db__pg_schema_version(db, &v, err);
		*version = (int)v;
		return st;
	}
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, "PRAGMA user_version", 0, &stmt, err);
	if (st != ST_OK)
		return st;
	enum sqldb_rc rc = sqldb_step(stmt);
	if (rc == SQLDB_ROW) {
		*version = (int)sqldb_column_int64(stmt, 0);
		rc = SQLDB_OK;
	}
	sqldb_finalize(stmt);
	return rc == SQLDB_OK ? ST_OK :
				 db__fail(db, rc, "reading the schema version", err);
}

static enum status too_new(struct db *db, int version, struct error *err)
{
	return error_set(err, ST_TOONEW,
			 "%s: database schema version %d is newer than this "
			 "bulkreg understands (%d); use a newer bulkreg",
			 db->path, version, DB_SCHEMA_VERSION);
}

static enum status apply_steps(struct db *db, int from, int to,
			       struct error *err)
{
	for (size_t i = 0; i < MIGRATION_COUNT; i++) {
		const struct migration *m = &migrations[i];
		if (m->version <= from || m->version > to)
			continue;
		char what[64];
		snprintf(what, sizeof(what), "upgrading the schema to version %d",
			 m->version);
		enum status st = ST_OK;
		if (db->pg && m->version == 1)
			st = db__exec(db, pg_meta_sql, what, err);
		if (st == ST_OK)
			st = db__exec(db, m->sql, what, err);
		if (st == ST_OK && db->pg && m->version == 2)
			st = db__exec(db, pg_history_ids_sql, what, err);
		if (st != ST_OK)
			return st;
		char sql[64];
		snprintf(sql, sizeof(sql),
			 db->pg ? "UPDATE meta SET version = %d" :
				  "PRAGMA user_version = %d",
			 m->version);
		st = db__exec(db, sql, what, err);
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

enum status db__schema_build(struct db *mem, int version, struct error *err)
{
	return apply_steps(mem, 0, version, err);
}

bool db__schema_creates_index(const char *name, int version)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < MIGRATION_COUNT; i++) {
		if (migrations[i].version > version)
			continue;
		const char *at = migrations[i].sql;
		while ((at = strstr(at, "INDEX ")) != NULL) {
			at += 6;
			if (strncmp(at, name, len) == 0 && at[len] == ' ')
				return true;
		}
	}
	return false;
}

enum status db__schema_check(struct db *db, struct error *err)
{
	int version = 0;
	enum status st = read_version(db, &version, err);
	if (st == ST_OK && version > DB_SCHEMA_VERSION)
		st = too_new(db, version, err);
	return st;
}

/*
 * verify examines a database as it is: an older schema is not upgraded
 * under it (an upgrade writes, and a trigger planted in the file would run
 * inside the migration's UPDATEs: review 21, F03).  Its objects are
 * compared with its own version's first, so that a planted one is named;
 * either way nothing is written and the command ends with exit 3.
 */
enum status db__schema_examinable(struct db *db, struct error *err)
{
	int version = 0;
	enum status st = read_version(db, &version, err);
	if (st != ST_OK || !(db->examine || db->as_is) ||
	    version >= DB_SCHEMA_VERSION)
		return st;
	st = db__trust_check(db, err);
	if (st != ST_OK)
		return st;
	if (db->as_is)
		return error_set(err, ST_DB,
				 "%s: database schema version %d is older than "
				 "this bulkreg's (%d); copy-db does not change "
				 "the database it copies from (nothing was "
				 "written): any other command upgrades it, e.g. "
				 "'bulkreg -d %s batches', then copy it",
				 db->path, version, DB_SCHEMA_VERSION, db->path);
	return error_set(err, ST_DB,
			 "%s: database schema version %d is older than this "
			 "bulkreg's (%d); verify examines a database as it is "
			 "and does not upgrade it (nothing was written): "
			 "any other command upgrades it, e.g. 'bulkreg -d "
			 "%s batches', then run verify",
			 db->path, version, DB_SCHEMA_VERSION, db->path);
}

enum status db__schema_upgrade(struct db *db, struct error *err)
{
	int version = 0;
	enum status st = read_version(db, &version, err);
	if (st != ST_OK)
		return st;
	if (version > DB_SCHEMA_VERSION)
		return too_new(db, version, err);
	if (version == DB_SCHEMA_VERSION)
		return ST_OK;
	/* Never under verify or for copy-db's FROM (db__schema_examinable
	 * refused it already). */
	if (db->examine || db->as_is)
		return db__schema_examinable(db, err);

	st = db__begin_write(db, "upgrading the schema", err);
	/* PostgreSQL: two bulkregs creating or upgrading it at once take
	 * turns (SQLite's BEGIN IMMEDIATE does that). */
	if (st == ST_OK && db->pg)
		st = db__exec(db,
			      "SELECT pg_catalog.pg_advisory_xact_lock("
			      "pg_catalog.hashtext(pg_catalog.textcat("
			      "'bulkreg schema ', CAST(current_schema() AS text))))",
			      "upgrading the schema", err);
	if (st != ST_OK) {
		db_rollback(db);
		return st;
	}
	/* Another process may have upgraded while we waited for the lock. */
	st = read_version(db, &version, err);
	if (st == ST_OK && version > DB_SCHEMA_VERSION)
		st = too_new(db, version, err);
	if (st == ST_OK && version < DB_SCHEMA_VERSION)
		st = apply_steps(db, version, DB_SCHEMA_VERSION, err);
	if (st == ST_OK)
		st = db__commit(db, "run 'bulkreg init' again", err);
	if (st != ST_OK && sqldb_in_transaction(db->c))
		sqldb_exec(db->c, "ROLLBACK");
	return st;
}
