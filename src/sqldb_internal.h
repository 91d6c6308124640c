/* sqldb_internal: what sqldb.c and sqldb_pg.c share; not a public face. */
#ifndef BULKREG_SQLDB_INTERNAL_H
#define BULKREG_SQLDB_INTERNAL_H

#include "sqldb.h"

struct pg_conn;
struct pg_stmt;

struct sqldb {
	enum sqldb_dialect dialect;
	void *sqlite;            /* sqlite3 * (SQLite) */
	struct pg_conn *pg;      /* PostgreSQL */
	bool (*cancelled)(void *ctx);
	void *cancel_ctx;
	const char *msg;         /* an error not recorded on the handle */
	int flush_errno;         /* errno of a failed sqldb_flush */
};

struct sqldb_stmt {
	struct sqldb *c;
	void *sqlite;            /* sqlite3_stmt * (SQLite) */
	struct pg_stmt *pg;      /* PostgreSQL */
};

struct pg_bulk;

struct bulk_value;

struct sqldb_bulk {
	struct sqldb *c;
	void *sqlite;            /* row_sql's sqlite3_stmt * (SQLite) */
	/* SQLite, when row_sql is an INSERT ... VALUES (?1, ..., ?N): rows
	 * kept (texts copied) and written SQLDB_BULK_GROUP at a time by one
	 * INSERT of as many VALUES lists (sqldb.c). */
	void *group;             /* sqlite3_stmt * of a whole group, or NULL */
	char *group_head, *group_tail; /* row_sql around its VALUES list */
	struct bulk_value *kept; /* SQLDB_BULK_GROUP * ncols */
	char *texts;
	size_t texts_used, texts_cap;
	int rows;                /* rows kept */
	struct pg_bulk *pg;      /* PostgreSQL */
	int ncols;               /* values per row */
	int col;                 /* values given in the current row */
	int64_t changes;         /* SQLite: rows row_sql changed so far */
	enum sqldb_rc err;       /* the first error, kept to the end */
};

/* The PostgreSQL driver (sqldb_pg.c), called by sqldb.c's dispatch. */
/* Translates the first statement of sql into PostgreSQL's spelling, into
 * a malloc'd *out; *nparams gets the highest ?N, *tail where the next
 * statement starts.  false: out of memory. */
bool sqldb__pg_translate(const char *sql, char **out, int *nparams,
			 const char **tail);

void sqldb__pg_close(struct sqldb *c);
const char *sqldb__pg_errmsg(const struct sqldb *c);
enum sqldb_rc sqldb__pg_exec(struct sqldb *c, const char *sql);
int64_t sqldb__pg_changes(const struct sqldb *c);
bool sqldb__pg_in_transaction(const struct sqldb *c);
enum sqldb_rc sqldb__pg_prepare(struct sqldb *c, const char *sql,
				unsigned flags, struct sqldb_stmt **out,
				const char **tail);
void sqldb__pg_bind(struct sqldb_stmt *s, int i, const char *v, int len,
		    bool is_int);
int sqldb__pg_bind_count(const struct sqldb_stmt *s);
enum sqldb_rc sqldb__pg_step(struct sqldb_stmt *s);
int sqldb__pg_column_count(const struct sqldb_stmt *s);
const char *sqldb__pg_column_text(const struct sqldb_stmt *s, int i);
size_t sqldb__pg_column_bytes(const struct sqldb_stmt *s, int i);
void sqldb__pg_reset(struct sqldb_stmt *s);
void sqldb__pg_finalize(struct sqldb_stmt *s);

/* Splits a bulk's column list: *ncols gets its number of columns and, when
 * ddl is not NULL, *ddl (malloc'd) the list with COLLATE "C" added to the
 * text columns that have no COLLATE.  false: out of memory. */
bool sqldb__bulk_columns(const char *columns, int *ncols, char **ddl);

/* The PostgreSQL side of a bulk (b->col counts the row's values, this one
 * included, when a value function is called). */
enum sqldb_rc sqldb__pg_bulk_begin(struct sqldb_bulk *b, const char *staging,
				   const char *columns, const char *set_sql);
void sqldb__pg_bulk_int64(struct sqldb_bulk *b, int64_t v);
void sqldb__pg_bulk_text(struct sqldb_bulk *b, const char *s, size_t len);
void sqldb__pg_bulk_null(struct sqldb_bulk *b);
enum sqldb_rc sqldb__pg_bulk_row_end(struct sqldb_bulk *b);
/* Sets b->changes; frees b->pg. */
enum sqldb_rc sqldb__pg_bulk_finish(struct sqldb_bulk *b);
/* Frees b->pg (NULL is fine). */
void sqldb__pg_bulk_abort(struct sqldb_bulk *b);

#endif
