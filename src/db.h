/* db: the SQLite store -- schema, courses, batch history and registrations. */
#ifndef BULKREG_DB_H
#define BULKREG_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "courses.h"
#include "error.h"
#include "row.h"

#define DB_SCHEMA_VERSION 2

enum batch_outcome {
	BATCH_COMMITTED,
	BATCH_DRY_RUN,
	BATCH_ROLLED_BACK
};

/* "committed", "dry_run", "rolled_back". */
const char *batch_outcome_name(enum batch_outcome o);

struct db;

/*
 * Opens the database at `path`, creating it and its schema on first use and
 * upgrading older schemas forward (PRAGMA user_version).  Sets WAL,
 * synchronous=NORMAL, foreign keys, and a busy timeout of wait_seconds.
 * Errors name the path: ST_TOONEW (schema newer than this binary), ST_DB
 * (not an SQLite database, read-only file or directory, cannot open),
 * ST_BUSY (locked longer than wait_seconds while creating or upgrading).
 */
enum status db_open(const char *path, double wait_seconds, struct db **out,
		    struct error *err);
void db_close(struct db *db);

/* ---- courses ------------------------------------------------------------ */

struct course_input {
	const char *code;
	const char *title;       /* NULL: keep the current title ("" if new) */
	int64_t capacity;        /* 0..COURSE_CAPACITY_MAX */
	bool has_waitlist;       /* false: keep current (unlimited if new) */
	int64_t waitlist_max;    /* WAITLIST_UNLIMITED or >= 0 */
};

/*
 * Creates or updates one course.  ST_USAGE (nothing written) for a bad code,
 * capacity or waitlist.  Moves no one: the promotions a capacity raise owes
 * are the policy's (course_save.h).  Runs in its own transaction unless one
 * is open (db_begin, or a batch's).
 */
enum status db_course_put(struct db *db, const struct course_input *in,
			  struct error *err);

/* An explicit write transaction (BEGIN IMMEDIATE) around several puts. */
enum status db_begin(struct db *db, struct error *err);
enum status db_commit(struct db *db, struct error *err);
void db_rollback(struct db *db);

/* Every course, ordered by code, with live registered/waitlisted counts.
 * `out` must be initialised by the caller, who frees it. */
enum status db_courses_load(struct db *db, struct course_table *out,
			    struct error *err);

/* ---- listings ----------------------------------------------------------- */

struct roster_entry {
	const char *student_id, *first_name, *last_name, *email;
	enum row_status status;   /* STATUS_REGISTERED or STATUS_WAITLISTED */
	int64_t position;         /* waitlist position; 0 when registered */
	int64_t batch_id;         /* batch that registered the student */
	int64_t line;             /* roster line of that row */
};

/* Callbacks return 0 to go on; anything else stops the listing and is
 * returned as ST_IO (the callback fills err itself). */
typedef int (*db_roster_fn)(void *ctx, const struct roster_entry *e);

/* A course's students: registered in seat order, then the waitlist by
 * position.  ST_NOTFOUND for an unknown code. */
enum status db_course_roster(struct db *db, const char *code, db_roster_fn fn,
			     void *ctx, struct error *err);

struct batch_record {
	int64_t id;
	const char *started_at, *finished_at;  /* ISO 8601 UTC, "...Z" */
	const char *source, *sha256;
	const char *label;                     /* NULL if none */
	enum batch_outcome outcome;
	struct outcome_counts counts;
};

typedef int (*db_batch_fn)(void *ctx, const struct batch_record *b);

/* The batch history, oldest first. */
enum status db_batches_list(struct db *db, db_batch_fn fn, void *ctx,
			    struct error *err);

/* ---- a batch ------------------------------------------------------------ */

enum batch_kind {
	BATCH_KIND_REGISTER,
	BATCH_KIND_DROP,
	BATCH_KIND_SYNC,
	BATCH_KIND_UNDO,
	BATCH_KIND_COURSE,
	BATCH_KIND_REPAIR
};

/* "register", "drop", "sync", "undo", "course", "repair". */
const char *batch_kind_name(enum batch_kind k);
bool batch_kind_parse(const char *s, enum batch_kind *out);

struct batch_meta {
	enum batch_kind kind;
	const char *source;  /* path as given, or "stdin" */
	const char *label;   /* --label, or NULL */
	const char *options; /* a JSON object of the options, or NULL */
	const char *profile; /* the input profile, or NULL */
	int64_t undo_of;     /* the batch an undo undoes, or 0 */
};

/* The store the policy writes through during a batch (store.h). */
struct store *db_store(struct db *db);

/*
 * Starts a batch: BEGIN IMMEDIATE (waiting up to the busy timeout, then
 * ST_BUSY with nothing written), records the batch, loads every course into
 * *courses (initialised by the caller; NULL: none loaded), and opens the
 * savepoint that dry runs and rolled-back batches return to.  The policy
 * then decides rows through db_store(db).
 */
enum status db_batch_begin(struct db *db, const struct batch_meta *meta,
			   int64_t *batch_id, struct course_table *courses,
			   struct error *err);

/* Writes all dirty pages to the WAL now, so that the final COMMIT has next to
 * nothing left that can fail (call before writing the report). */
enum status db_batch_flush(struct db *db, struct error *err);

/*
 * Ends the batch.  BATCH_COMMITTED completes the batch record and commits
 * (the policy has stored the course counts).  BATCH_DRY_RUN and BATCH_ROLLED_BACK roll back
 * to the savepoint -- courses, students and registrations exactly as
 * before, no history -- complete the batch record with that outcome and
 * commit, so only the list of batches gains a row.  On failure everything is rolled back.
 */
enum status db_batch_finish(struct db *db, int64_t batch_id,
			    enum batch_outcome outcome,
			    const struct outcome_counts *counts,
			    const char *sha256_hex, struct error *err);

/* Ends a batch that turned out to change nothing worth a record (a course
 * change that moved no one): its record is removed, everything else done in
 * its transaction is committed. */
enum status db_batch_finish_unrecorded(struct db *db, int64_t batch_id,
				       struct error *err);

/* Abandons the batch completely (ROLLBACK): nothing at all is recorded.
 * For interrupted runs and fatal errors; harmless if no batch is open. */
void db_batch_abort(struct db *db);

#endif
