/* db_internal: what db.c, db_schema.c and db_batch.c share; not a public face. */
#ifndef BULKREG_DB_INTERNAL_H
#define BULKREG_DB_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "courses.h"
#include "db.h"
#include "error.h"
#include "store.h"

/* The current time as stored in every *_at column: ISO 8601 UTC with ms. */
#define DB_NOW_SQL "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

struct db {
	sqlite3 *h;
	char *path;
	double wait_seconds;

	/* Between db_batch_begin and finish/abort. */
	bool batch_open;

	/* The store's statements (db_store.c), prepared by the first batch. */
	sqlite3_stmt **stmts;
	uint64_t *memo;       /* students this batch wrote or saw (db_store.c) */
	uint64_t memo_seed;
	char old_values[3 * 1024]; /* a changed student's values before */

	bool examine;         /* DB_OPEN_EXAMINE: no db__trust_check */

	/* db_set_cancel: polled by SQLite's progress handler. */
	bool (*cancelled)(void *ctx);
	void *cancel_ctx;
};

/* Turns an SQLite result code into a status and a message that names the
 * database and what was being done ("creating the schema"). */
enum status db__fail(struct db *db, int rc, const char *what,
		     struct error *err);
/* db__fail with the system errno given: for calls that return an error
 * without recording it on the handle (the caller saved errno). */
enum status db__fail_errno(struct db *db, int rc, int sys, const char *what,
			   struct error *err);

/* Runs SQL that returns no rows. */
enum status db__exec(struct db *db, const char *sql, const char *what,
		     struct error *err);

/* Runs each statement of `sql` (no rows returned) with ?1 = a and, where
 * a statement has it, ?2 = b. */
enum status db__exec_bound(struct db *db, const char *sql, int64_t a,
			   int64_t b, const char *what, struct error *err);

enum status db__prepare(struct db *db, const char *sql, unsigned flags,
			sqlite3_stmt **out, struct error *err);

/* Steps a statement that returns no rows, then resets it. */
enum status db__step_done(struct db *db, sqlite3_stmt *stmt, const char *what,
			  struct error *err);

/* Fails with ST_TOONEW, touching nothing, if the schema is newer than this
 * binary (db_schema.c). */
enum status db__schema_check(struct db *db, struct error *err);

/* Brings the schema to DB_SCHEMA_VERSION (db_schema.c). */
enum status db__schema_upgrade(struct db *db, struct error *err);

/* Builds, in `mem` (an empty database, typically in memory), the schema
 * as bulkreg's own migrations leave it at `version` (db_schema.c). */
enum status db__schema_build(struct db *mem, int version, struct error *err);

/* Refuses (ST_DB, naming them) a database whose schema holds objects --
 * triggers, views, indexes, tables -- that bulkreg's migrations did not
 * create, or that differ from what they create (db_trust.c). */
enum status db__trust_check(struct db *db, struct error *err);

/* The store's statements and the student memo (db_store.c). */
enum status db__store_prepare(struct db *db, struct error *err);
void db__store_close(struct db *db);
void db__memo_start(struct db *db);
void db__memo_end(struct db *db);

/* History events and pair states by their stored names (db_store.c). */
const char *db__event_name(enum change_event e);
bool db__event_parse(const char *s, enum change_event *out);
enum pair_state db__state_parse(const unsigned char *s);

/* Column i as text: "" (db__column_str) or NULL (_or_null) for NULL. */
const char *db__column_str(sqlite3_stmt *stmt, int i);
const char *db__column_str_or_null(sqlite3_stmt *stmt, int i);

/* The batches columns db__batch_from_stmt reads, in its order. */
#define DB_BATCH_COLUMNS \
	"id, started_at, finished_at, source, sha256, label, outcome, rows," \
	" registered, waitlisted, already_registered, already_waitlisted," \
	" rejected, promoted, dropped, skipped, kind," \
	" CASE WHEN json_valid(options) THEN json(options) END, profile," \
	" undo_of, undone_by, reasons"

/* Fills b from a row of DB_BATCH_COLUMNS (strings point into the statement's
 * row); false if the reasons column is not a JSON object of counts. */
bool db__batch_from_stmt(sqlite3_stmt *stmt, struct batch_record *b);


#endif
