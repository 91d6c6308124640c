/* sqldb: the driver interface, and SQLite behind it (a thin layer); see sqldb.h. */
#include <inttypes.h>
#include <sqlite3.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sqldb_internal.h"

#define PROGRESS_STEPS 4096 /* SQLite steps between cancellation checks */

static bool is_pg(const struct sqldb *c)
{
	return c->dialect == SQLDB_PG;
}

enum sqldb_rc sqldb_sqlite_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: return SQLDB_OK;
	case SQLITE_ROW: return SQLDB_ROW;
	case SQLITE_DONE: return SQLDB_DONE;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return SQLDB_EBUSY;
	case SQLITE_CONSTRAINT: return SQLDB_ECONSTRAINT;
	case SQLITE_NOTADB: return SQLDB_ENOTADB;
	case SQLITE_CANTOPEN: return SQLDB_ECANTOPEN;
	case SQLITE_READONLY: return SQLDB_EREADONLY;
	case SQLITE_FULL: return SQLDB_EFULL;
	case SQLITE_IOERR: return SQLDB_EIO;
	case SQLITE_NOMEM: return SQLDB_ENOMEM;
	case SQLITE_INTERRUPT: return SQLDB_EINTERRUPT;
	case SQLITE_CORRUPT: return SQLDB_ECORRUPT;
	case SQLITE_PERM:
	case SQLITE_AUTH: return SQLDB_EPERM;
	default: return SQLDB_EOTHER;
	}
}

/* ---- connections -------------------------------------------------------- */

enum sqldb_dialect sqldb_dialect(const struct sqldb *c)
{
	return c->dialect;
}

struct sqldb *sqldb_wrap_sqlite(void *handle)
{
	struct sqldb *c = calloc(1, sizeof(*c));
	if (c) {
		c->dialect = SQLDB_SQLITE;
		c->sqlite = handle;
	}
	return c;
}

void *sqldb_sqlite_handle(const struct sqldb *c)
{
	return c && !is_pg(c) ? c->sqlite : NULL;
}

void sqldb_close(struct sqldb *c)
{
	if (!c)
		return;
	if (is_pg(c))
		sqldb__pg_close(c);
	free(c);
}

const char *sqldb_errmsg(const struct sqldb *c)
{
	if (c->msg)
		return c->msg;
	return is_pg(c) ? sqldb__pg_errmsg(c) : sqlite3_errmsg(c->sqlite);
}

int sqldb_system_errno(const struct sqldb *c)
{
	if (is_pg(c))
		return 0;
	return c->msg ? c->flush_errno : sqlite3_system_errno(c->sqlite);
}

enum sqldb_rc sqldb_flush(struct sqldb *c)
{
	c->msg = NULL;
	if (is_pg(c))
		return SQLDB_OK;
	/* The failed write's errno (EFBIG under ulimit -f, ENOSPC, EIO) is
	 * not recorded on the handle by this call; the failing write is its
	 * last system call, so errno still holds it. */
	errno = 0;
	int rc = sqlite3_db_cacheflush(c->sqlite);
	if (rc == SQLITE_OK)
		return SQLDB_OK;
	c->flush_errno = errno;
	c->msg = sqlite3_errstr(rc);
	return sqldb_sqlite_rc(rc);
}

enum sqldb_rc sqldb_exec(struct sqldb *c, const char *sql)
{
	c->msg = NULL;
	if (is_pg(c))
		return sqldb__pg_exec(c, sql);
	return sqldb_sqlite_rc(sqlite3_exec(c->sqlite, sql, NULL, NULL, NULL));
}

int64_t sqldb_changes(const struct sqldb *c)
{
	return is_pg(c) ? sqldb__pg_changes(c) : sqlite3_changes(c->sqlite);
}

bool sqldb_in_transaction(const struct sqldb *c)
{
	return is_pg(c) ? sqldb__pg_in_transaction(c) :
			  !sqlite3_get_autocommit(c->sqlite);
}

static int progress_cb(void *arg)
{
	struct sqldb *c = arg;
	return c->cancelled && c->cancelled(c->cancel_ctx);
}

void sqldb_set_cancel(struct sqldb *c, bool (*cancelled)(void *ctx),
		      void *ctx)
{
	c->cancelled = cancelled;
	c->cancel_ctx = ctx;
	if (!is_pg(c))
		sqlite3_progress_handler(c->sqlite,
					 cancelled ? PROGRESS_STEPS : 0,
					 cancelled ? progress_cb : NULL, c);
}

/* ---- statements --------------------------------------------------------- */

enum sqldb_rc sqldb_prepare(struct sqldb *c, const char *sql, unsigned flags,
			    struct sqldb_stmt **out, const char **tail)
{
	*out = NULL;
	c->msg = NULL;
	if (is_pg(c))
		return sqldb__pg_prepare(c, sql, flags, out, tail);
	sqlite3_stmt *h = NULL;
	int rc = sqlite3_prepare_v3(c->sqlite, sql, -1,
				    (flags & SQLDB_PERSISTENT) ?
					    SQLITE_PREPARE_PERSISTENT :
					    0,
				    &h, tail);
	if (rc != SQLITE_OK)
		return sqldb_sqlite_rc(rc);
	if (!h)
		return SQLDB_OK;
	struct sqldb_stmt *s = malloc(sizeof(*s));
	if (!s) {
		sqlite3_finalize(h);
		return SQLDB_ENOMEM;
	}
	*s = (struct sqldb_stmt){ .c = c, .sqlite = h };
	*out = s;
	return SQLDB_OK;
}

static void pg_bind_int(struct sqldb_stmt *s, int i, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
	sqldb__pg_bind(s, i, buf, n, true);
}

void sqldb_bind_int64(struct sqldb_stmt *s, int i, int64_t v)
{
	if (s->pg)
		pg_bind_int(s, i, v);
	else
		sqlite3_bind_int64(s->sqlite, i, v);
}

void sqldb_bind_text(struct sqldb_stmt *s, int i, const char *v, int len)
{
	if (s->pg)
		sqldb__pg_bind(s, i, v ? v : "", len, false);
	else
		sqlite3_bind_text(s->sqlite, i, v ? v : "", len, SQLITE_STATIC);
}

void sqldb_bind_text_copy(struct sqldb_stmt *s, int i, const char *v, int len)
{
	if (s->pg)
		sqldb__pg_bind(s, i, v ? v : "", len, false);
	else
		sqlite3_bind_text(s->sqlite, i, v ? v : "", len,
				  SQLITE_TRANSIENT);
}

void sqldb_bind_null(struct sqldb_stmt *s, int i)
{
	if (s->pg)
		sqldb__pg_bind(s, i, NULL, 0, false);
	else
		sqlite3_bind_null(s->sqlite, i);
}

int sqldb_bind_count(const struct sqldb_stmt *s)
{
	return s->pg ? sqldb__pg_bind_count(s) :
		       sqlite3_bind_parameter_count(s->sqlite);
}

enum sqldb_rc sqldb_step(struct sqldb_stmt *s)
{
	if (s->pg)
		return sqldb__pg_step(s);
	int rc = sqlite3_step(s->sqlite);
	if (rc == SQLITE_ROW)
		return SQLDB_ROW;
	if (rc == SQLITE_DONE)
		return SQLDB_DONE;
	s->c->msg = NULL;
	return sqldb_sqlite_rc(rc);
}

int sqldb_column_count(const struct sqldb_stmt *s)
{
	return s->pg ? sqldb__pg_column_count(s) :
		       sqlite3_column_count(s->sqlite);
}

bool sqldb_column_is_null(const struct sqldb_stmt *s, int i)
{
	return s->pg ? sqldb__pg_column_text(s, i) == NULL :
		       sqlite3_column_type(s->sqlite, i) == SQLITE_NULL;
}

int64_t sqldb_column_int64(const struct sqldb_stmt *s, int i)
{
	if (!s->pg)
		return sqlite3_column_int64(s->sqlite, i);
	const char *v = sqldb__pg_column_text(s, i);
	if (!v)
		return 0;
	if (v[0] == 't' && !v[1])
		return 1;
	return strtoll(v, NULL, 10); /* "f" reads as 0 */
}

const char *sqldb_column_text(const struct sqldb_stmt *s, int i)
{
	return s->pg ? sqldb__pg_column_text(s, i) :
		       (const char *)sqlite3_column_text(s->sqlite, i);
}

size_t sqldb_column_bytes(const struct sqldb_stmt *s, int i)
{
	return s->pg ? sqldb__pg_column_bytes(s, i) :
		       (size_t)sqlite3_column_bytes(s->sqlite, i);
}

void sqldb_reset(struct sqldb_stmt *s)
{
	if (s->pg)
		sqldb__pg_reset(s);
	else
		sqlite3_reset(s->sqlite);
}

void sqldb_finalize(struct sqldb_stmt *s)
{
	if (!s)
		return;
	if (s->pg)
		sqldb__pg_finalize(s);
	else
		sqlite3_finalize(s->sqlite);
	free(s);
}

struct sqldb *sqldb_stmt_conn(const struct sqldb_stmt *s)
{
	return s->c;
}

/* ---- many rows through one write ------------------------------------------ */

static bool plain_identifier(const char *s)
{
	if (!s || !(*s == '_' || (*s >= 'a' && *s <= 'z') ||
		    (*s >= 'A' && *s <= 'Z')))
		return false;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

static void group_begin(struct sqldb_bulk *b, const char *row_sql);

enum sqldb_rc sqldb_bulk_begin(struct sqldb *c, const char *staging,
			       const char *columns, const char *row_sql,
			       const char *set_sql, struct sqldb_bulk **out)
{
	*out = NULL;
	c->msg = NULL;
	int ncols = 0;
	if (!plain_identifier(staging)) {
		c->msg = "bulk write: the staging table's name is not a plain identifier";
		return SQLDB_EOTHER;
	}
	if (!sqldb__bulk_columns(columns ? columns : "", &ncols, NULL)) {
		c->msg = "out of memory";
		return SQLDB_ENOMEM;
	}
	if (ncols == 0 || !row_sql || !set_sql) {
		c->msg = "bulk write: no columns, or no SQL to run";
		return SQLDB_EOTHER;
	}
	struct sqldb_bulk *b = calloc(1, sizeof(*b));
	if (!b) {
		c->msg = "out of memory";
		return SQLDB_ENOMEM;
	}
	b->c = c;
	b->ncols = ncols;
	enum sqldb_rc rc;
	if (is_pg(c)) {
		rc = sqldb__pg_bulk_begin(b, staging, columns, set_sql);
	} else {
		sqlite3_stmt *h = NULL;
		const char *tail = NULL;
		rc = sqldb_sqlite_rc(sqlite3_prepare_v3(c->sqlite, row_sql, -1,
							SQLITE_PREPARE_PERSISTENT,
							&h, &tail));
		if (rc == SQLDB_OK &&
		    (!h || tail[strspn(tail, " \t\r\n;")] != '\0')) {
			c->msg = "bulk write: row_sql must be one statement";
			rc = SQLDB_EOTHER;
		}
		b->sqlite = h;
		if (rc == SQLDB_OK)
			group_begin(b, row_sql);
	}
	if (rc != SQLDB_OK) {
		sqlite3_finalize(b->sqlite);
		free(b);
		return rc;
	}
	*out = b;
	return SQLDB_OK;
}

/* Counts a value; false when the row fails already (or has too many). */
static bool next_value(struct sqldb_bulk *b)
{
	b->col++;
	return b->col <= b->ncols && b->err == SQLDB_OK;
}

static void bulk_fail(struct sqldb_bulk *b, enum sqldb_rc rc, const char *msg)
{
	if (b->err != SQLDB_OK)
		return;
	b->err = rc;
	b->c->msg = msg;
}

/*
 * SQLite's grouped INSERT.  A statement per row costs as much again as the
 * row's B-tree work (a step starts the program, opens the cursors, ends
 * it); an INSERT of 64 VALUES lists pays that once for 64 rows: a million
 * sorted registrations in 0.5 s instead of 1.1 s.  It applies to row_sql
 * of the form `head VALUES (?1, ?2, ..., ?N) tail`, the row's values in
 * column order; rows are kept, their texts copied, until a group is full
 * (or the bulk finishes), then bound and written in the order given.  A
 * group is one statement, and an error is the group's (inside a
 * transaction, the rows before the one that failed stay: group_head).
 */
#define SQLDB_BULK_GROUP 64

struct bulk_value {
	enum { BV_NULL, BV_INT, BV_TEXT } kind;
	int64_t i;               /* BV_INT */
	size_t at, len;          /* BV_TEXT: in b->texts */
};

/* Appends "(?first, ?first+1, ..., ?first+n-1)" at s + used (room
 * counted by the callers: 10 bytes a parameter and 4); the new length. */
static size_t put_values_list(char *s, size_t cap, size_t used, int first,
			      int n)
{
	used += (size_t)snprintf(s + used, cap - used, "(");
	for (int i = 0; i < n; i++)
		used += (size_t)snprintf(s + used, cap - used, "%s?%d",
					 i ? ", " : "", first + i);
	used += (size_t)snprintf(s + used, cap - used, ")");
	return used;
}

/* "(?1, ?2, ..., ?N)" for n columns; NULL when out of memory. */
static char *values_list(int n)
{
	size_t cap = (size_t)n * 10 + 4;
	char *s = malloc(cap);
	if (s)
		put_values_list(s, cap, 0, 1, n);
	return s;
}

/* head VALUES (...), ... (rows lists) tail, the parameters numbered in
 * order; NULL when out of memory. */
static char *group_sql(const struct sqldb_bulk *b, int rows)
{
	size_t cap = strlen(b->group_head) + strlen(b->group_tail) +
		     (size_t)rows * ((size_t)b->ncols * 10 + 6) + 16;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	size_t used = (size_t)snprintf(s, cap, "%s", b->group_head);
	for (int r = 0; r < rows; r++) {
		if (r)
			used += (size_t)snprintf(s + used, cap - used, ", ");
		used = put_values_list(s, cap, used, r * b->ncols + 1, b->ncols);
	}
	snprintf(s + used, cap - used, "%s", b->group_tail);
	return s;
}

/* NULL: *rc says why (out of memory for the SQL itself, or SQLite's). */
static sqlite3_stmt *prepare_group(struct sqldb_bulk *b, int rows,
				   unsigned flags, enum sqldb_rc *rc)
{
	char *sql = group_sql(b, rows);
	sqlite3_stmt *h = NULL;
	*rc = sql ? SQLDB_OK : SQLDB_ENOMEM;
	int src = sql ? sqlite3_prepare_v3(b->c->sqlite, sql, -1, flags, &h,
					   NULL) :
			SQLITE_OK;
	if (src != SQLITE_OK) {
		sqlite3_finalize(h);
		h = NULL;
		*rc = sqldb_sqlite_rc(src);
	}
	free(sql);
	return h;
}

/*
 * The group's statement up to its VALUES lists.  Inside a transaction an
 * INSERT is made INSERT OR FAIL: a statement of many rows that may abort
 * halfway needs a statement journal, a copy of every page it changes
 * that the transaction already had -- 7,000 page writes to a temporary
 * file for a 100k-row batch, a quarter of a 1M-row flush.  Failing
 * instead keeps the rows before the one that failed, and the caller rolls
 * the transaction back (sqldb.h).  NULL: out of memory.
 */
static char *group_head(const struct sqldb_bulk *b, const char *row_sql,
			size_t head)
{
	static const char insert[] = "INSERT INTO";
	size_t n = strlen(insert);
	if (!sqldb_in_transaction(b->c) || head < n ||
	    strncasecmp(row_sql, insert, n) != 0)
		return strndup(row_sql, head);
	char *s = malloc(head + sizeof(" OR FAIL"));
	if (s)
		snprintf(s, head + sizeof(" OR FAIL"), "INSERT OR FAIL INTO%.*s",
			 (int)(head - n), row_sql + n);
	return s;
}

/* Sets the bulk up for groups when row_sql has the form they need;
 * otherwise (or short of memory) it stays a statement per row. */
static void group_begin(struct sqldb_bulk *b, const char *row_sql)
{
	char *list = values_list(b->ncols);
	const char *at = list ? strstr(row_sql, list) : NULL;
	const char *values = at ? at - strlen(" VALUES ") : NULL;
	if (!at || values < row_sql ||
	    strncasecmp(values, " VALUES ", strlen(" VALUES ")) != 0 ||
	    strstr(at + 1, list)) {
		free(list);
		return;
	}
	size_t head = (size_t)(at - row_sql);
	b->group_head = group_head(b, row_sql, head);
	b->group_tail = strdup(at + strlen(list));
	b->kept = calloc((size_t)SQLDB_BULK_GROUP * (size_t)b->ncols,
			 sizeof(*b->kept));
	free(list);
	/* Not prepared (out of memory): rows go one by one, as written. */
	enum sqldb_rc unused;
	if (b->group_head && b->group_tail && b->kept)
		b->group = prepare_group(b, SQLDB_BULK_GROUP,
					 SQLITE_PREPARE_PERSISTENT, &unused);
	if (!b->group) {
		free(b->group_head);
		free(b->group_tail);
		free(b->kept);
		b->group_head = b->group_tail = NULL;
		b->kept = NULL;
	}
}

static struct bulk_value *kept_value(struct sqldb_bulk *b)
{
	return &b->kept[(size_t)b->rows * (size_t)b->ncols + (size_t)b->col - 1];
}

static void keep_text(struct sqldb_bulk *b, const char *s, size_t len)
{
	if (b->texts_used + len > b->texts_cap) {
		size_t cap = b->texts_cap ? b->texts_cap : 4096;
		while (cap < b->texts_used + len)
			cap *= 2;
		char *t = realloc(b->texts, cap);
		if (!t) {
			bulk_fail(b, SQLDB_ENOMEM, "out of memory");
			return;
		}
		b->texts = t;
		b->texts_cap = cap;
	}
	if (len)
		memcpy(b->texts + b->texts_used, s, len);
	*kept_value(b) = (struct bulk_value){ .kind = BV_TEXT,
					      .at = b->texts_used, .len = len };
	b->texts_used += len;
}

/* Writes the kept rows through h (a statement of exactly that many). */
static enum sqldb_rc write_group(struct sqldb_bulk *b, sqlite3_stmt *h)
{
	int n = b->rows * b->ncols;
	for (int k = 0; k < n; k++) {
		const struct bulk_value *v = &b->kept[k];
		if (v->kind == BV_INT)
			sqlite3_bind_int64(h, k + 1, v->i);
		else if (v->kind == BV_TEXT)
			sqlite3_bind_text(h, k + 1, v->len ? b->texts + v->at : "",
					  (int)v->len, SQLITE_STATIC);
		else
			sqlite3_bind_null(h, k + 1);
	}
	int rc;
	while ((rc = sqlite3_step(h)) == SQLITE_ROW)
		;
	enum sqldb_rc out = SQLDB_OK;
	if (rc == SQLITE_DONE)
		b->changes += sqlite3_changes(b->c->sqlite);
	else
		out = sqldb_sqlite_rc(rc);
	sqlite3_reset(h);
	b->rows = 0;
	b->texts_used = 0;
	return out;
}

/* The rows kept when the bulk ends: a statement of that many. */
static enum sqldb_rc write_last_group(struct sqldb_bulk *b)
{
	if (!b->group || b->rows == 0 || b->err != SQLDB_OK)
		return b->err;
	enum sqldb_rc rc;
	sqlite3_stmt *h = prepare_group(b, b->rows, 0, &rc);
	if (!h) /* the rows are not written: never SQLDB_OK */
		return rc != SQLDB_OK ? rc : SQLDB_EOTHER;
	rc = write_group(b, h);
	sqlite3_finalize(h);
	return rc;
}

static void group_free(struct sqldb_bulk *b)
{
	sqlite3_finalize(b->group);
	free(b->group_head);
	free(b->group_tail);
	free(b->kept);
	free(b->texts);
}

void sqldb_bulk_int64(struct sqldb_bulk *b, int64_t v)
{
	if (!next_value(b))
		return;
	if (b->pg)
		sqldb__pg_bulk_int64(b, v);
	else if (b->group)
		*kept_value(b) = (struct bulk_value){ .kind = BV_INT, .i = v };
	else
		sqlite3_bind_int64(b->sqlite, b->col, v);
}

void sqldb_bulk_text(struct sqldb_bulk *b, const char *s, size_t len)
{
	if (!next_value(b))
		return;
	if (len && memchr(s, '\0', len)) {
		bulk_fail(b, SQLDB_EOTHER, "bulk write: a text value holds a NUL byte");
		return;
	}
	if (b->pg) {
		sqldb__pg_bulk_text(b, s, len);
		return;
	}
	if (len > INT32_MAX) {
		bulk_fail(b, SQLDB_EOTHER, "bulk write: a text value is too long");
		return;
	}
	if (b->group)
		keep_text(b, s, len);
	else
		sqlite3_bind_text(b->sqlite, b->col, len ? s : "", (int)len,
				  SQLITE_STATIC);
}

void sqldb_bulk_null(struct sqldb_bulk *b)
{
	if (!next_value(b))
		return;
	if (b->pg)
		sqldb__pg_bulk_null(b);
	else if (b->group)
		*kept_value(b) = (struct bulk_value){ .kind = BV_NULL };
	else
		sqlite3_bind_null(b->sqlite, b->col);
}

enum sqldb_rc sqldb_bulk_row_end(struct sqldb_bulk *b)
{
	if (b->col != b->ncols) {
		fprintf(stderr, "sqldb_bulk_row_end: a row of %d values for %d"
				" columns\n", b->col, b->ncols);
		abort();
	}
	b->col = 0;
	if (b->err != SQLDB_OK)
		return b->err;
	if (b->pg) {
		b->err = sqldb__pg_bulk_row_end(b);
		return b->err;
	}
	if (b->group) {
		if (++b->rows == SQLDB_BULK_GROUP)
			b->err = write_group(b, b->group);
		return b->err;
	}
	int rc;
	while ((rc = sqlite3_step(b->sqlite)) == SQLITE_ROW)
		;
	if (rc == SQLITE_DONE)
		b->changes += sqlite3_changes(b->c->sqlite);
	else
		b->err = sqldb_sqlite_rc(rc);
	sqlite3_reset(b->sqlite);
	return b->err;
}

enum sqldb_rc sqldb_bulk_finish(struct sqldb_bulk *b, int64_t *changes)
{
	enum sqldb_rc rc;
	if (b->pg) {
		rc = sqldb__pg_bulk_finish(b);
	} else {
		rc = write_last_group(b);
		sqlite3_finalize(b->sqlite);
		group_free(b);
	}
	if (changes)
		*changes = rc == SQLDB_OK ? b->changes : 0;
	free(b);
	return rc;
}

void sqldb_bulk_abort(struct sqldb_bulk *b)
{
	if (!b)
		return;
	if (b->pg) {
		sqldb__pg_bulk_abort(b);
	} else {
		sqlite3_finalize(b->sqlite);
		group_free(b);
	}
	free(b);
}
