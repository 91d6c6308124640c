/* sqldb: the SQL driver under the db_* files -- one interface, SQLite or PostgreSQL. */
#ifndef BULKREG_SQLDB_H
#define BULKREG_SQLDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The db_* files write every rule once, in SQL both engines run, and talk
 * to the engine only through this interface.  It has SQLite's shape --
 * prepare, bind, step row by row, read columns, reset, finalize -- because
 * SQLite is the embedded default and its hot path must stay a thin call.
 *
 * SQL is written with ?N placeholders (N from 1).  The PostgreSQL driver
 * rewrites them to $N and translates a short, fixed list of SQLite
 * spellings that have no common form (the timestamp expression, temp.,
 * WITHOUT ROWID, ...: see sqldb_pg.c); everything else must be the common
 * subset.  Where the engines really differ (DDL, PRAGMAs, integrity checks,
 * locks) the caller asks sqldb_dialect() and runs its own fragment.
 *
 * Errors come back as an sqldb_rc class that means the same on both
 * engines; sqldb_errmsg() has the engine's own words.
 */
struct sqldb;      /* a connection */
struct sqldb_stmt; /* a prepared statement */

enum sqldb_dialect { SQLDB_SQLITE, SQLDB_PG };

enum sqldb_rc {
	SQLDB_OK = 0,
	SQLDB_ROW,        /* step: a row is ready */
	SQLDB_DONE,       /* step: no (more) rows */
	/* Error classes. */
	SQLDB_EBUSY,      /* a lock was not granted within the wait */
	SQLDB_EDEADLOCK,  /* the server broke a deadlock by failing us */
	SQLDB_ECONSTRAINT,
	SQLDB_ECONN,      /* cannot connect, or the connection was lost */
	SQLDB_EAUTH,      /* authentication failed */
	SQLDB_EPERM,      /* the role lacks a privilege */
	SQLDB_ENOTADB,    /* SQLite: not a database file */
	SQLDB_ECANTOPEN,  /* SQLite: cannot open the file */
	SQLDB_EREADONLY,  /* read-only file or transaction */
	SQLDB_EFULL,      /* disk or quota full */
	SQLDB_EIO,
	SQLDB_ENOMEM,
	SQLDB_EINTERRUPT, /* cancelled (sqldb_set_cancel) */
	SQLDB_ECORRUPT,
	SQLDB_EOTHER
};

/* Flags of sqldb_prepare. */
#define SQLDB_PERSISTENT 0x1u /* kept and reused for many rows */

/* ---- connections -------------------------------------------------------- */

/* The connection's engine. */
enum sqldb_dialect sqldb_dialect(const struct sqldb *c);

/* Wraps an open SQLite handle (a sqlite3 *; the caller opened it and keeps
 * owning it: sqldb_close frees only the wrapper).  NULL: out of memory. */
struct sqldb *sqldb_wrap_sqlite(void *sqlite3_handle);

/* The class of an SQLite result code. */
enum sqldb_rc sqldb_sqlite_rc(int rc);

/* The SQLite handle of an SQLite connection, NULL for any other. */
void *sqldb_sqlite_handle(const struct sqldb *c);

/*
 * Connects to PostgreSQL with a libpq URI or keyword/value string
 * (passwords from the string, ~/.pgpass or PGPASSWORD as libpq takes
 * them), with connect_timeout defaulting to `connect_seconds`.  Always
 * returns a connection (NULL only for want of memory); SQLDB_OK or the
 * error class, with the reason in sqldb_errmsg.
 */
enum sqldb_rc sqldb_connect_pg(const char *conninfo, int connect_seconds,
			       struct sqldb **out);

/* Closes and frees (every statement must be finalized first). */
void sqldb_close(struct sqldb *c);

/* The engine's message for the last error, on one line. */
const char *sqldb_errmsg(const struct sqldb *c);

/* The system errno behind the last SQLite I/O error, else 0. */
int sqldb_system_errno(const struct sqldb *c);

/* Runs SQL that returns no rows (several statements, no parameters). */
enum sqldb_rc sqldb_exec(struct sqldb *c, const char *sql);

/* Writes SQLite's dirty pages to the file now (so the COMMIT after it has
 * little left that can fail); a no-op on PostgreSQL.  On an I/O error,
 * sqldb_system_errno holds the errno. */
enum sqldb_rc sqldb_flush(struct sqldb *c);

/* Rows the last INSERT, UPDATE or DELETE changed. */
int64_t sqldb_changes(const struct sqldb *c);

/* Whether a transaction is open on the connection. */
bool sqldb_in_transaction(const struct sqldb *c);

/* Lets a long statement stop (SQLDB_EINTERRUPT) once cancelled(ctx) is
 * true; polled every few thousand SQLite steps, or every 100 ms while
 * PostgreSQL works.  NULL removes it. */
void sqldb_set_cancel(struct sqldb *c, bool (*cancelled)(void *ctx),
		      void *ctx);

/* ---- statements --------------------------------------------------------- */

/*
 * Prepares the first statement of `sql`; *tail (if not NULL) gets where the
 * next one starts.  *out is NULL when only white space was left.
 */
enum sqldb_rc sqldb_prepare(struct sqldb *c, const char *sql, unsigned flags,
			    struct sqldb_stmt **out, const char **tail);

/* Binds parameter i (from 1).  Text is used where it is until the next
 * step (bind_text) or copied (bind_text_copy); len -1: NUL-terminated. */
void sqldb_bind_int64(struct sqldb_stmt *s, int i, int64_t v);
void sqldb_bind_text(struct sqldb_stmt *s, int i, const char *v, int len);
void sqldb_bind_text_copy(struct sqldb_stmt *s, int i, const char *v, int len);
void sqldb_bind_null(struct sqldb_stmt *s, int i);
int sqldb_bind_count(const struct sqldb_stmt *s);

/* Runs the statement (first call) and moves to its next row: SQLDB_ROW,
 * SQLDB_DONE or an error class. */
enum sqldb_rc sqldb_step(struct sqldb_stmt *s);

/* Columns of the current row (from 0).  column_text is NULL for NULL and
 * stays valid until the statement moves; column_bytes is its length;
 * column_int64 reads NULL as 0 and true/false as 1/0. */
int sqldb_column_count(const struct sqldb_stmt *s);
bool sqldb_column_is_null(const struct sqldb_stmt *s, int i);
int64_t sqldb_column_int64(const struct sqldb_stmt *s, int i);
const char *sqldb_column_text(const struct sqldb_stmt *s, int i);
size_t sqldb_column_bytes(const struct sqldb_stmt *s, int i);

/* Back to before the first step; the bindings stay. */
void sqldb_reset(struct sqldb_stmt *s);

/* Frees the statement (NULL is fine). */
void sqldb_finalize(struct sqldb_stmt *s);

/* The statement's connection. */
struct sqldb *sqldb_stmt_conn(const struct sqldb_stmt *s);

/* ---- many rows through one write ------------------------------------------ */

/*
 * A bulk write: rows given value by value, written to the engine the way
 * it takes many rows fastest.  The caller writes the same work twice, once
 * per engine's shape:
 *
 * - `row_sql`, for SQLite: one statement (a second one is refused) run
 *   once per row, in the order given, with ?1..?N the row's values in
 *   column order (used in any order, or not at all).  It is prepared
 *   once (SQLDB_PERSISTENT) and stepped and reset per row: as fast as a
 *   prepared-statement loop.  An INSERT whose VALUES list is exactly
 *   "(?1, ?2, ..., ?N)" runs instead for groups of 64 rows as one INSERT
 *   of 64 VALUES lists (the rows kept, their texts copied, until the
 *   group is full or the bulk finishes): the statement's own cost, as
 *   much as the row's, is paid once per group.  A group is one
 *   statement, and its error is reported by the sqldb_bulk_row_end (or
 *   sqldb_bulk_finish) that writes it; inside a transaction its rows
 *   before the one that failed stay written (it runs as INSERT OR FAIL:
 *   no statement journal, the copy of each page it changes), so after an
 *   error the caller rolls the transaction back, as on PostgreSQL.
 * - `set_sql`, for PostgreSQL: the rows are streamed with COPY FROM STDIN
 *   (text format, sent in chunks of about 256 KiB: no row limit, bounded
 *   memory) into a temporary table named `staging`, and at
 *   sqldb_bulk_finish `set_sql` runs once (one or several statements,
 *   translated like sqldb_exec's; no parameters; it reads the staging
 *   table, by that name or as temp.<staging>).  The staging table is created ON COMMIT DROP, or
 *   truncated when it is still there from an earlier bulk of the same
 *   transaction (the same name must then have the same columns).  It
 *   lives in the session's temporary schema, which PostgreSQL searches
 *   before any other for tables, so `staging` needs no schema.
 *
 * `columns` is the staging table's column list in PostgreSQL's DDL, e.g.
 * "course_id bigint, student_id text, seq bigint"; text columns without a
 * COLLATE get COLLATE "C", as every text column of bulkreg's tables, so
 * they compare and join with them byte by byte.  Its number of columns is
 * the number of values each row must have, on both engines.  `staging`
 * must be a plain identifier (letters, digits, _).
 *
 * Inside a transaction, the bulk is part of it (PostgreSQL: after an error
 * the transaction is failed; the caller rolls back).  Outside one, SQLite
 * runs each row in its own; PostgreSQL runs the whole bulk in one
 * transaction of its own, committed by sqldb_bulk_finish and rolled back
 * on any error or by sqldb_bulk_abort.
 *
 * Errors have the classes of the rest of the driver: a constraint that
 * row_sql or set_sql breaks is SQLDB_ECONSTRAINT, a connection lost
 * mid-COPY SQLDB_ECONN, a cancel (sqldb_set_cancel; checked per sent
 * chunk and while set_sql runs) SQLDB_EINTERRUPT.  A text with a NUL byte
 * is refused on both engines (SQLDB_EOTHER: PostgreSQL's text cannot hold
 * one).  After an error from sqldb_bulk_row_end, call sqldb_bulk_abort.
 *
 * Note for a PostgreSQL upsert: an INSERT ... ON CONFLICT DO UPDATE cannot
 * change one row twice in one statement, where SQLite's row loop would
 * apply both rows in order: give a bulk each key once.
 */
struct sqldb_bulk;

/* Starts a bulk; *out is NULL unless SQLDB_OK.  SQLite: prepares row_sql;
 * PostgreSQL: creates or truncates the staging table and starts the COPY
 * (the connection then serves only this bulk until finish or abort). */
enum sqldb_rc sqldb_bulk_begin(struct sqldb *c, const char *staging,
			       const char *columns, const char *row_sql,
			       const char *set_sql, struct sqldb_bulk **out);

/* The next value of the current row, in column order.  A text need only
 * stay valid until sqldb_bulk_row_end returns; len is its length in bytes
 * (a NUL byte in it makes the row fail).  An error is kept and returned
 * by sqldb_bulk_row_end. */
void sqldb_bulk_int64(struct sqldb_bulk *b, int64_t v);
void sqldb_bulk_text(struct sqldb_bulk *b, const char *s, size_t len);
void sqldb_bulk_null(struct sqldb_bulk *b);

/* Ends the row.  SQLite: runs row_sql (steps it to the end, resets it),
 * or for a grouped INSERT keeps the row and writes the group once full;
 * PostgreSQL: appends the row to the COPY buffer and sends the buffer once
 * it holds about 256 KiB.  A row with another number of values than
 * `columns` has is a programming error (abort with a message).  SQLDB_OK
 * or an error class (then sqldb_bulk_abort). */
enum sqldb_rc sqldb_bulk_row_end(struct sqldb_bulk *b);

/* Ends the bulk and frees b, whatever happens.  SQLite: writes the rows
 * of a grouped INSERT still kept.  PostgreSQL: sends the rest, ends the COPY, checks that every row
 * arrived, runs set_sql (and commits the bulk's own transaction, if it
 * has one).  *changes (when not NULL) gets the rows row_sql changed in
 * all, or the rows set_sql's INSERT, UPDATE, DELETE and MERGE statements
 * changed (summed over them; set_sql runs one statement at a time), 0 on
 * error.
 * sqldb_changes afterwards says nothing about the bulk: read *changes. */
enum sqldb_rc sqldb_bulk_finish(struct sqldb_bulk *b, int64_t *changes);

/* Gives the bulk up and frees b (NULL is fine).  PostgreSQL: ends the
 * COPY with an error, so the connection stays usable; the caller's
 * transaction is then failed and must be rolled back (the bulk's own
 * transaction, if it has one, is rolled back here).  What SQLite's rows
 * wrote stays until the caller rolls back. */
void sqldb_bulk_abort(struct sqldb_bulk *b);

#endif
