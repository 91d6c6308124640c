/* db_internal: what db.c, db_schema.c and db_batch.c share; not a public face. */
#ifndef BULKREG_DB_INTERNAL_H
#define BULKREG_DB_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "courses.h"
#include "db.h"
#include "error.h"
#include "sqldb.h"
#include "store.h"

/*
 * PostgreSQL: the first of the ids a batch's history rows hold until its
 * COMMIT numbers them after every committed one (db__commit), so that ids
 * follow each other as in SQLite, whatever batches ran at the same time
 * or rolled back.  2^60: far above any real id.
 */
#define DB_PG_HISTORY_TEMP_ID "1152921504606846976"

/* The current time as stored in every *_at column: ISO 8601 UTC with ms.
 * (The PostgreSQL driver translates this exact spelling: sqldb_pg.c.) */
#define DB_NOW_SQL "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

/* SQLite: the next batch id -- past every id the history and the
 * courses' snapshots name, not only the batches' rows: a batch row deleted
 * by hand must not lend its id, and with it that history, to the next
 * batch (PostgreSQL's ids come from a sequence).  Both look-ups are index
 * ends. */
#define DB_SQLITE_NEXT_BATCH_SQL                                            \
	"(SELECT coalesce(max(m), 0) + 1 FROM (SELECT max(id) AS m FROM batches" \
	" UNION ALL SELECT max(batch_id) FROM history"                         \
	" UNION ALL SELECT max(batch_id) FROM batch_courses) AS ids)"

/* SQLite's page cache: 48 MiB; 16 MiB while a batch's own cache (db_store.c)
 * holds what it reads, so the two together stay within the memory goal. */
#define DB_SQLITE_CACHE_PRAGMA "PRAGMA cache_size = -49152"
#define DB_SQLITE_BATCH_CACHE_PRAGMA "PRAGMA cache_size = -8192"

struct db {
	struct sqldb *c;
	void *sqlite;         /* the SQLite handle (sqlite3 *), NULL on PG */
	char *path;           /* as messages show it: passwords hidden */
	double wait_seconds;
	bool pg;              /* PostgreSQL (sqldb_dialect(c) == SQLDB_PG) */
	char schema[64];      /* PostgreSQL: the schema bulkreg's tables are in */

	/* Between db_batch_begin and finish/abort. */
	bool batch_open;
	bool commit_unknown;  /* the last COMMIT lost its connection */
	int64_t batch_id;     /* the open batch's (PostgreSQL: to hand back) */

	/* The store's statements (db_store.c), prepared by the first batch. */
	struct sqldb_stmt **stmts;
	struct store_cache *cache; /* the batch's pairs and students in memory
				    * (db_store.c); NULL: every call is SQL */
	size_t memory_held;   /* db_set_memory_held */
	db_wait_notice_fn wait_notice; /* db_set_wait_notice */
	void *wait_notice_ctx;
	char old_values[3 * 1024]; /* a changed student's values before */

	/* SQLite: the database's path as given, and the files beside it
	 * (-journal, -wal, -shm) that db_sqlite.c created empty before SQLite
	 * opened the database, with a descriptor on the first two while that
	 * matters (db_sqlite.c says when each goes). */
	char *file;
	struct db_beside {
		bool made;
		int fd;
		dev_t dev;
		ino_t ino;
		/* What was checked before SQLite's open (made, or found
		 * there and accepted), compared after it: its inode and,
		 * where the filesystem keeps it, its birth time. */
		bool seen;
		struct db_file_id {
			dev_t dev;
			ino_t ino;
			bool has_btime;
			long long btime_sec;
			unsigned btime_nsec;
		} id;
	} beside[3];

	bool examine;         /* DB_OPEN_EXAMINE: no db__trust_check */
	bool writes;          /* DB_OPEN_WRITE: the command writes */
	bool as_is;           /* DB_OPEN_AS_IS: no upgrade, no WAL switch */

	/* PostgreSQL: an SQLite connection in memory whose JSON functions read
	 * the reasons column as on SQLite (db.c); opened on first use. */
	struct sqldb *json;
	void *json_sqlite;    /* its handle (sqlite3 *) */

};

/* Turns an SQLite result code into a status and a message that names the
 * database and what was being done ("creating the schema"). */
enum status db__fail(struct db *db, enum sqldb_rc rc, const char *what,
		     struct error *err);

/* Starts a write transaction: BEGIN IMMEDIATE on SQLite (the write lock
 * now), BEGIN on PostgreSQL (row locks as the batch goes: store.h). */
enum status db__begin_write(struct db *db, const char *what,
			    struct error *err);

/* Starts a read transaction that sees one moment of the database: BEGIN
 * on SQLite, REPEATABLE READ on PostgreSQL. */
enum status db__begin_read(struct db *db, const char *what,
			   struct error *err);

/* COMMIT; on PostgreSQL a connection lost during it is said to leave the
 * outcome unknown, with `how_to_check` telling how to find out. */
enum status db__commit(struct db *db, const char *how_to_check,
		       struct error *err);

/* Runs SQL that returns no rows. */
enum status db__exec(struct db *db, const char *sql, const char *what,
		     struct error *err);

/* Runs each statement of `sql` (no rows returned) with ?1 = a and, where
 * a statement has it, ?2 = b. */
enum status db__exec_bound(struct db *db, const char *sql, int64_t a,
			   int64_t b, const char *what, struct error *err);

enum status db__prepare(struct db *db, const char *sql, unsigned flags,
			struct sqldb_stmt **out, struct error *err);

/* Steps a statement that returns no rows, then resets it. */
enum status db__step_done(struct db *db, struct sqldb_stmt *stmt,
			  const char *what, struct error *err);

/* Runs a one-row query with ?1 = a and returns its first column. */
enum status db__query_int(struct db *db, const char *sql, int64_t a,
			  int64_t *out, const char *what, struct error *err);

/* Fails with ST_TOONEW, touching nothing, if the schema is newer than this
 * binary (db_schema.c). */
enum status db__schema_check(struct db *db, struct error *err);

/* DB_OPEN_EXAMINE (verify) or DB_OPEN_AS_IS (copy-db's FROM): fails,
 * writing nothing, when the schema is older than DB_SCHEMA_VERSION --
 * naming the objects bulkreg did not create, if any -- since neither
 * upgrades (db_schema.c). */
enum status db__schema_examinable(struct db *db, struct error *err);

/* Brings the schema to DB_SCHEMA_VERSION (db_schema.c); never under
 * DB_OPEN_EXAMINE or DB_OPEN_AS_IS. */
enum status db__schema_upgrade(struct db *db, struct error *err);

/* Builds, in `mem` (an empty database, typically in memory), the schema
 * as bulkreg's own migrations leave it at `version` (db_schema.c). */
enum status db__schema_build(struct db *mem, int version, struct error *err);

/* Whether bulkreg's migrations up to `version` create an index of this
 * name (PostgreSQL's check of what it did not create, db_trust.c). */
bool db__schema_creates_index(const char *name, int version);

/* SQLite: checks the file, opens and configures the handle, checks or
 * upgrades the schema (db_sqlite.c); db__close_sqlite closes the handle. */
enum status db__open_sqlite(struct db *db, const char *path,
			    unsigned create_mode, struct error *err);
void db__close_sqlite(struct db *db);

/* The directory that holds (or would hold) path; false if it does not fit. */
bool db__parent_dir(const char *path, char *dir, size_t cap);
/* "cannot write" for an SQLite error (or PostgreSQL's), naming a -wal,
 * -shm or -journal the caller cannot read and write when one is there. */
enum status db__cannot_write(struct db *db, const char *detail,
			     struct error *err);

/* PostgreSQL: connects to target, sets the connection up in `schema`
 * (created with DB_OPEN_INIT in create_mode) and checks or upgrades the
 * schema (db_pg.c). */
enum status db__open_pg(struct db *db, const char *target, unsigned create_mode,
			struct error *err);

/* Refuses (ST_DB, naming them) a database whose schema holds objects --
 * triggers, views, indexes, tables -- that bulkreg's migrations did not
 * create, or that differ from what they create (db_trust.c). */
enum status db__trust_check(struct db *db, struct error *err);

/* Calls fn for each such object (type, name, table; on PostgreSQL those of
 * the kinds db_trust.c looks for), inside the caller's read transaction
 * (verify lists them as findings). */
typedef void (*db__foreign_fn)(void *ctx, const char *type, const char *name,
			       const char *table);
enum status db__foreign_objects(struct db *db, db__foreign_fn fn, void *ctx,
				struct error *err);

/* PostgreSQL: the version in the schema's meta table, 0 without one. */
enum status db__pg_schema_version(struct db *db, int64_t *version,
				  struct error *err);

/* PostgreSQL: takes the next batch id from the sequence, and hands back
 * one whose batch left no row if none was taken after it (db_pg.c).
 * Outside a transaction only. */
enum status db__pg_batch_id_take(struct db *db, int64_t *id,
				 struct error *err);
void db__pg_batch_id_give_back(struct db *db, int64_t id);

/* The store's statements and the batch's cache (db_store.c). */
enum status db__store_prepare(struct db *db, struct error *err);
void db__store_close(struct db *db);
/* Starts the cache for a batch of `kind` (undo and repair run without). */
enum status db__cache_start(struct db *db, enum batch_kind kind,
			    int64_t batch_id, struct error *err);
/* Writes what the cache holds that the database does not (before a
 * commit, or SQL that reads registrations or students). */
enum status db__cache_flush(struct db *db, struct error *err);
/* The last flush of a batch: the cache's look-up indexes go first (the
 * memory the sorted writes need), the cache after it. */
enum status db__cache_final_flush(struct db *db, struct error *err);
/* Forgets the cache (a rollback, or the batch's end). */
void db__cache_end(struct db *db);
/* store_student_get from the cache: *answered false when there is none
 * (then the SQL answers). */
enum status db__cache_student_get(struct db *db, struct text id,
				  struct student *out, int64_t *created_batch,
				  bool *found, bool *answered,
				  struct error *err);

/* History events and pair states by their stored names (db_store.c). */
const char *db__event_name(enum change_event e);
bool db__event_parse(const char *s, enum change_event *out);
enum pair_state db__state_parse(const char *s);

/* Column i as text: "" (db__column_str) or NULL (_or_null) for NULL. */
const char *db__column_str(struct sqldb_stmt *stmt, int i);
const char *db__column_str_or_null(struct sqldb_stmt *stmt, int i);

/* The batches columns db__batch_from_stmt reads, in its order. */
#define DB_BATCH_COLUMNS \
	"id, started_at, finished_at, source, sha256, label, outcome, rows," \
	" registered, waitlisted, already_registered, already_waitlisted," \
	" rejected, promoted, dropped, skipped, kind," \
	" CASE WHEN json_valid(options) THEN json(options) END, profile," \
	" undo_of, undone_by, reasons"

/* Fills b from a row of DB_BATCH_COLUMNS (strings point into the statement's
 * row); false if the reasons column is not a JSON object of counts. */
bool db__batch_from_stmt(struct db *db, struct sqldb_stmt *stmt,
			 struct batch_record *b);


#endif
