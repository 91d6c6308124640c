/* db: the store -- schema, courses, batch history and registrations, in SQLite or PostgreSQL. */
#ifndef BULKREG_DB_H
#define BULKREG_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "courses.h"
#include "error.h"
#include "row.h"

#define DB_SCHEMA_VERSION 3

enum batch_outcome {
	BATCH_COMMITTED,
	BATCH_DRY_RUN,
	BATCH_ROLLED_BACK
};

/* "committed", "dry_run", "rolled_back". */
const char *batch_outcome_name(enum batch_outcome o);
/* The same in words, for messages and titles ("dry run", "rolled back");
 * csv, json and listings keep the names above, which scripts read. */
const char *batch_outcome_words(enum batch_outcome o);

struct db;

/* Mode of a database bulkreg creates (its -wal and -shm get the same):
 * owner only, or owner and group (--group-readable). */
#define DB_MODE_PRIVATE 0600
#define DB_MODE_GROUP 0640
/* Or'ed into db_open's create_mode by `verify` alone, which must be able to
 * examine a damaged schema as it is: objects bulkreg did not create are
 * then not refused (defensive mode and trusted_schema=OFF still apply). */
#define DB_OPEN_EXAMINE 0x10000u
/* Or'ed into db_open's create_mode by every command but init, course add
 * and course import: a database that is not there is not created (a
 * mistyped path must leave no file behind); ST_NOTFOUND. */
#define DB_OPEN_EXISTING 0x20000u
/* Or'ed in by `init` alone: on PostgreSQL, creates the schema (namespace)
 * and its tables when they are missing; every other command refuses a
 * database without them (exit 3), DB_OPEN_EXISTING or not. */
#define DB_OPEN_INIT 0x40000u
/* Or'ed in by the commands that write (init, course add and import,
 * register, drop, undo, verify --repair): on PostgreSQL a role that may
 * not write bulkreg's tables is refused when it connects, whether or not
 * the command would have changed anything.  (SQLite: a read-only file is
 * refused by every command.) */
#define DB_OPEN_WRITE 0x80000u
/* Or'ed in by copy-db for FROM: the database is read as it is, never
 * changed -- no schema upgrade (an older schema is refused, exit 3, nothing
 * written) and, on SQLite, no switch to WAL mode.  (verify, with
 * DB_OPEN_EXAMINE, is opened the same way.) */
#define DB_OPEN_AS_IS 0x100000u

/*
 * Opens the store `target` names (dbtarget.h): a PostgreSQL URI or
 * keyword/value string, or else an SQLite file (db_open below).  On
 * PostgreSQL the tables live in `schema` (NULL: DB_PG_SCHEMA_DEFAULT),
 * versioned in its `meta` table as user_version is in SQLite, and lock
 * waits last at most wait_seconds.  Errors name the target with any
 * password hidden: ST_USAGE (malformed connection string, bad schema
 * name), ST_DB (cannot connect, wrong password, no schema -- run init --,
 * no privilege), ST_TOONEW.
 */
enum status db_open_target(const char *target, const char *schema,
			   double wait_seconds, unsigned create_mode,
			   struct db **out, struct error *err);

/* Whether the store is PostgreSQL. */
bool db_is_pg(const struct db *db);

/* The store's name as messages show it (passwords hidden). */
const char *db_name(const struct db *db);

/* How long a later statement may wait for a lock another batch holds
 * (PostgreSQL's lock_timeout; 0: not at all).  SQLite: recorded for
 * messages only (its waiting is db_open's busy timeout). */
enum status db_set_lock_wait(struct db *db, double seconds,
			     struct error *err);

/*
 * Opens the database at `path`, creating it and its schema on first use and
 * upgrading older schemas forward (PRAGMA user_version).  `path` is a file
 * name, never an SQLite URI.  A new database file is created with exactly
 * `create_mode` (0: DB_MODE_PRIVATE; the DB_OPEN_ flags aside) whatever the
 * umask; an existing one
 * keeps its mode.  Sets WAL, synchronous=FULL, foreign keys, defensive mode,
 * trusted_schema=OFF and a busy timeout of wait_seconds.
 * Errors name the path: ST_TOONEW (schema newer than this binary), ST_DB
 * (not an SQLite database, read-only file or directory, cannot open; the
 * file, its -wal or -shm is a symbolic link or owned by another user than
 * the caller or root; the schema holds objects bulkreg did not create),
 * ST_BUSY (locked longer than wait_seconds while creating or upgrading),
 * ST_NOTFOUND (DB_OPEN_EXISTING and no file at `path`: "no database at
 * PATH: create it with 'bulkreg init' or 'bulkreg course import'").
 */
enum status db_open(const char *path, double wait_seconds,
		    unsigned create_mode, struct db **out, struct error *err);
void db_close(struct db *db);

/* True when the directory that holds (or would hold) the database is
 * writable by other users, who could plant files beside it: writable by
 * all, or by a group other than the caller's effective group, or owned by
 * another user than the caller or root.  `dir` gets its name (cut to
 * cap).  For a warning: db_open refuses what they plant. */
bool db_dir_writable_by_others(const char *path, char *dir, size_t cap);

/* True when the SQLite database at `path`, or its -wal, -shm or -journal,
 * is there and readable by every user (an existing database keeps its
 * mode: one made by 0.1.0 or sqlite3 under umask 022 is 0644).  `names`
 * gets those files' names, comma-separated (cut to cap), `mode` the first
 * one's permission bits. */
bool db_readable_by_others(const char *path, char *names, size_t cap,
			   unsigned *mode);

/* Memory the caller holds for the whole of the next batches (bytes): a
 * batch's cache (db_store.c) keeps its total within its budget. */
void db_set_memory_held(struct db *db, size_t bytes);

/* Lets a long-running statement stop (ST_CANCELLED, "interrupted") when
 * cancelled(ctx) becomes true; checked every few thousand SQLite steps.
 * NULL removes it. */
void db_set_cancel(struct db *db, bool (*cancelled)(void *ctx), void *ctx);

/* PostgreSQL: the batch may now wait for other batches -- for the course
 * whose code is given (another batch is changing it), or for every other
 * batch (code NULL: undo, repair) -- notice(ctx, code, true) before,
 * notice(ctx, code, false) once it has it (or gave up).  A progress line
 * says so.  NULL removes it; SQLite never calls it (its one lock is taken
 * when the batch begins). */
typedef void (*db_wait_notice_fn)(void *ctx, const char *course_code,
				  bool waiting);
void db_set_wait_notice(struct db *db, db_wait_notice_fn notice, void *ctx);

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

/* Listing callbacks get the listing's err: they return 0 to go on, or
 * fill err (a failed write: ST_IO's message) and return anything else,
 * which stops the listing and is returned as ST_IO.  err may be NULL. */
typedef int (*db_roster_fn)(void *ctx, const struct roster_entry *e,
			    struct error *err);

/* A course's students: registered in seat order, then the waitlist by
 * position.  ST_NOTFOUND for an unknown code. */
enum status db_course_roster(struct db *db, const char *code, db_roster_fn fn,
			     void *ctx, struct error *err);

struct batch_record {
	int64_t id;
	const char *started_at, *finished_at;  /* ISO 8601 UTC, "...Z" */
	const char *source, *sha256;
	const char *label;                     /* NULL if none */
	const char *kind;                      /* register, drop, sync, undo,
						* course, repair */
	const char *options;                   /* JSON object text, or NULL */
	const char *profile;                   /* NULL if none */
	int64_t undo_of, undone_by;            /* batch ids; 0 if none */
	enum batch_outcome outcome;
	struct outcome_counts counts;          /* incl. promoted, dropped,
						* skipped */
};

/* As db_roster_fn. */
typedef int (*db_batch_fn)(void *ctx, const struct batch_record *b,
			   struct error *err);

/* The batch history, oldest first. */
enum status db_batches_list(struct db *db, db_batch_fn fn, void *ctx,
			    struct error *err);

/* ==== verify, batches show, student (db_verify.c, db_history.c) ========== */

/*
 * One broken invariant found by db_verify, or one change made by
 * db_repair.  `course` is the course code ("#ID" when the course row is
 * missing, "" for the whole database), `student` a student id or "", `what`
 * a stable machine name (registered_count, waitlist_positions, ...).  For a
 * change, `found` is the value before and `expected` the value after.  The
 * strings are valid during the callback only.
 */
struct db_finding {
	const char *course, *student, *what, *expected, *found;
};

/* As db_roster_fn: 0 to go on, else err is filled and ST_IO returned. */
typedef int (*db_finding_fn)(void *ctx, const struct db_finding *f,
			     struct error *err);

struct db_verify_totals {
	int64_t courses, registrations, events; /* what was checked */
	int64_t problems;                       /* findings reported */
};

/*
 * Checks every invariant the commands keep, in one read transaction:
 * registered_count and waitlisted_count (the course counters equal the
 * registrations), waitlist_positions (1..n in seq order), promotions_owed
 * (no one waits while a seat is free), waitlist_over_max, student_missing
 * and course_missing (a registration without its student or course),
 * registration_batch (each names a committed batch), history_batch and
 * snapshot_batch (each history event and course snapshot names a batch
 * that is there), seat_seq (not below
 * the highest seat), history (the latest event of every pair the history
 * names leaves it as it is, or a later batch added it again),
 * student_history (the same for each student's values), integrity_check.
 * Calls fn
 * for each broken one; writes nothing but temporary tables.
 */
enum status db_verify(struct db *db, db_finding_fn fn, void *ctx,
		      struct db_verify_totals *totals, struct error *err);

struct db_repair_result {
	int64_t batch_id;   /* the repair batch; 0 when nothing was changed */
	int64_t changes;    /* findings passed to fn */
	bool damaged;       /* integrity_check failed: nothing was written */
};

/*
 * Rebuilds the derived data in one transaction, taking the registrations
 * as the truth: seat_seq raised to the highest seat, waitlists renumbered
 * 1..n in seq order, history made to agree with the registrations (a
 * 'dropped' event for a state the table contradicts, then an 'added' event
 * for the state the table has, a 'student' event for a student whose
 * values the history does not show), promotions owed made (first
 * waitlisted into the free seats, seat numbers from seat_seq), then the
 * counters.  Records it all as a committed batch of kind 'repair' with its
 * history and batch_courses rows, and after the commit calls fn once per
 * change.  Nothing changed: no batch.  Pairs whose course row is missing
 * are left alone (there is nothing to attach their history to); a
 * registration whose student row is missing is kept as it is.  A database
 * that fails integrity_check is not written at all (result->damaged).
 */
enum status db_repair(struct db *db, db_finding_fn fn, void *ctx,
		      struct db_repair_result *result, struct error *err);

/* One row of the history table: a change to a pair or a student. */
struct db_change {
	int64_t id, batch_id;
	const char *batch_kind;        /* the batch's kind */
	const char *event;             /* added promoted dropped restored student */
	const char *course;            /* code, "#ID" if missing; NULL for
					* student events */
	const char *student_id;
	int64_t line;                  /* 0 when none */
	enum row_status old_status;    /* STATUS_NONE: the pair was absent */
	int64_t old_seq, old_batch, old_line;
	enum row_status new_status;    /* STATUS_NONE: absent after */
	int64_t new_seq;
	/* Student events: NULL old values = created, NULL new = deleted. */
	const char *old_first_name, *old_last_name, *old_email;
	const char *new_first_name, *new_last_name, *new_email;
};

/* As db_roster_fn. */
typedef int (*db_change_fn)(void *ctx, const struct db_change *c,
			    struct error *err);

/* The batch `id` (header once, then its changes in order).  ST_NOTFOUND
 * naming it when there is no such batch. */
enum status db_batch_show(struct db *db, int64_t id, db_batch_fn header,
			  db_change_fn change, void *ctx, struct error *err);

struct db_student {
	const char *student_id, *first_name, *last_name, *email;
	int64_t created_batch;         /* 0 if unknown */
	bool exists;                   /* false: only history remains */
};

struct db_student_course {
	const char *course;            /* code, "#ID" if missing */
	enum row_status status;        /* STATUS_REGISTERED / _WAITLISTED */
	int64_t seq;                   /* seat number or waitlist position */
	int64_t batch_id, line;
};

struct db_student_fns {
	/* As db_roster_fn. */
	int (*student)(void *ctx, const struct db_student *s, struct error *err);
	int (*course)(void *ctx, const struct db_student_course *c,
		      struct error *err);
	db_change_fn change;
};

/* A student's values, courses (by code) and history (oldest first), each
 * through its callback.  ST_NOTFOUND when neither the student nor any
 * history of them exists. */
enum status db_student_show(struct db *db, const char *student_id,
			    const struct db_student_fns *fns, void *ctx,
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

/* Whether the last commit's outcome is unknown: the connection to the
 * PostgreSQL server was lost during the COMMIT itself, so the batch may
 * have been committed or not ('bulkreg batches' says which). */
bool db_commit_unknown(const struct db *db);

/* Ends a batch that turned out to change nothing worth a record (a course
 * change that moved no one): its record is removed, everything else done in
 * its transaction is committed. */
enum status db_batch_finish_unrecorded(struct db *db, int64_t batch_id,
				       struct error *err);

/* Abandons the batch completely (ROLLBACK): nothing at all is recorded.
 * For interrupted runs and fatal errors; harmless if no batch is open. */
void db_batch_abort(struct db *db);

#endif
