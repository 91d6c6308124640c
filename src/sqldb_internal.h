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

#endif
