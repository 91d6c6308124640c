/* sqldb_pg: the PostgreSQL driver behind sqldb.h (libpq). */
#include <ctype.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sqldb_internal.h"

#define POLL_MS 100      /* how often a running statement checks cancel */
#define INT8_OID 20
#define TEXT_OID 25

struct pg_conn {
	PGconn *conn;
	char err[1024];
	int64_t changes;
	unsigned next_name;
};

struct pg_stmt {
	char *sql;
	int nparams;
	char **vals;
	int *lens;
	Oid *types;
	bool persistent, prepared, ran;
	char name[24];
	PGresult *res;
	int row, nrows;
};

/* ---- translation ---------------------------------------------------------- */

/*
 * The SQLite spellings the common SQL keeps where PostgreSQL has no
 * common form, and what they become.  Matched outside string literals
 * (the first one holds its own), at a word boundary.
 */
struct fragment {
	const char *from, *to;
	bool temp_ddl_only; /* only inside CREATE TEMP TABLE (...) */
};

static const struct fragment fragments[] = {
	{ "strftime('%Y-%m-%dT%H:%M:%fZ','now')",
	  "to_char(clock_timestamp() AT TIME ZONE 'UTC',"
	  " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')", false },
	/* Options are written by bulkreg as a JSON object already. */
	{ "CASE WHEN json_valid(options) THEN json(options) END", "options",
	  false },
	{ "group_concat(seq, ',')",
	  "string_agg(CAST(seq AS text), ',' ORDER BY pos)", false },
	{ "temp.", "pg_temp.", false },
	{ " WITHOUT ROWID", "", false },
	/* Text compares byte by byte, as in SQLite, whatever the database's
	 * collation; ids are 64-bit. */
	{ " TEXT", " TEXT COLLATE \"C\"", true },
	{ " INTEGER", " BIGINT", true },
};

#define NFRAGMENTS (sizeof(fragments) / sizeof(fragments[0]))

struct buf {
	char *p;
	size_t len, cap;
	bool nomem;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->nomem)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->nomem = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static bool ident_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

static const struct fragment *fragment_at(const char *start, const char *p,
					  bool temp_ddl)
{
	for (size_t i = 0; i < NFRAGMENTS; i++) {
		const struct fragment *f = &fragments[i];
		size_t n = strlen(f->from);
		if (f->temp_ddl_only && !temp_ddl)
			continue;
		if (strncmp(p, f->from, n) != 0)
			continue;
		if (ident_char(f->from[0]) && p > start && ident_char(p[-1]))
			continue;
		if (ident_char(f->from[n - 1]) && ident_char(p[n]))
			continue;
		return f;
	}
	return NULL;
}

static bool starts_with_ci(const char *s, const char *prefix)
{
	while (*s == ' ' || *s == '\n' || *s == '\t')
		s++;
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool sqldb__pg_translate(const char *sql, char **out, int *nparams,
			 const char **tail)
{
	struct buf b = { 0 };
	const char *p = sql;
	bool temp_ddl = starts_with_ci(sql, "CREATE TEMP TABLE") &&
			!strstr(sql, " AS SELECT");
	*nparams = 0;
	put(&b, "", 0);
	while (*p && *p != ';') {
		const struct fragment *f = fragment_at(sql, p, temp_ddl);
		if (f) {
			put(&b, f->to, strlen(f->to));
			p += strlen(f->from);
		} else if (*p == '\'' || *p == '"') {
			const char *q = p + 1;
			while (*q && !(*q == *p && q[1] != *p)) {
				if (*q == *p)
					q++; /* a doubled quote */
				q++;
			}
			if (*q)
				q++;
			put(&b, p, (size_t)(q - p));
			p = q;
		} else if (*p == '?' && isdigit((unsigned char)p[1])) {
			int n = 0;
			p++;
			while (isdigit((unsigned char)*p))
				n = n * 10 + (*p++ - '0');
			char num[16];
			int len = snprintf(num, sizeof(num), "$%d", n);
			put(&b, num, (size_t)len);
			if (n > *nparams)
				*nparams = n;
		} else {
			put(&b, p, 1);
			p++;
		}
	}
	if (*p == ';')
		p++;
	if (tail)
		*tail = p;
	if (b.nomem) {
		free(b.p);
		return false;
	}
	*out = b.p;
	return true;
}

/* ---- errors ----------------------------------------------------------------- */

/* Copies msg into the connection's message, on one line. */
static void set_err(struct pg_conn *pc, const char *msg)
{
	size_t n = 0;
	for (const char *p = msg ? msg : "unknown error";
	     *p && n + 1 < sizeof(pc->err); p++) {
		char ch = *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p;
		if (ch == ' ' && (n == 0 || pc->err[n - 1] == ' '))
			continue;
		pc->err[n++] = ch;
	}
	while (n > 0 && pc->err[n - 1] == ' ')
		n--;
	pc->err[n] = '\0';
}

static enum sqldb_rc class_of(const char *state)
{
	if (!state || strlen(state) != 5)
		return SQLDB_EOTHER;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		return SQLDB_ECONN;
	if (strcmp(state, "55P03") == 0)
		return SQLDB_EBUSY;
	if (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0)
		return SQLDB_EDEADLOCK;
	if (strncmp(state, "23", 2) == 0)
		return SQLDB_ECONSTRAINT;
	if (strncmp(state, "28", 2) == 0)
		return SQLDB_EAUTH;
	if (strcmp(state, "42501") == 0)
		return SQLDB_EPERM;
	if (strcmp(state, "25006") == 0)
		return SQLDB_EREADONLY;
	if (strcmp(state, "53100") == 0 || strcmp(state, "53400") == 0)
		return SQLDB_EFULL;
	if (strcmp(state, "53200") == 0)
		return SQLDB_ENOMEM;
	if (strcmp(state, "57014") == 0)
		return SQLDB_EINTERRUPT;
	if (strncmp(state, "XX", 2) == 0)
		return SQLDB_ECORRUPT;
	if (strncmp(state, "58", 2) == 0)
		return SQLDB_EIO;
	return SQLDB_EOTHER;
}

/* The class and message of a failed result (res may be NULL). */
static enum sqldb_rc fail_result(struct pg_conn *pc, const PGresult *res)
{
	if (PQstatus(pc->conn) == CONNECTION_BAD) {
		set_err(pc, PQerrorMessage(pc->conn));
		return SQLDB_ECONN;
	}
	if (!res) {
		set_err(pc, PQerrorMessage(pc->conn));
		return SQLDB_EOTHER;
	}
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	set_err(pc, primary ? primary : PQresultErrorMessage(res));
	enum sqldb_rc rc = class_of(PQresultErrorField(res, PG_DIAG_SQLSTATE));
	/* 57P01 and friends end the session: a fatal error is a lost
	 * connection however it is spelled. */
	return PQstatus(pc->conn) == CONNECTION_BAD ? SQLDB_ECONN : rc;
}

static void discard_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* ---- connections -------------------------------------------------------- */

enum sqldb_rc sqldb_connect_pg(const char *conninfo, int connect_seconds,
			       struct sqldb **out)
{
	*out = NULL;
	struct sqldb *c = calloc(1, sizeof(*c));
	struct pg_conn *pc = calloc(1, sizeof(*pc));
	if (!c || !pc) {
		free(c);
		free(pc);
		return SQLDB_ENOMEM;
	}
	c->dialect = SQLDB_PG;
	c->pg = pc;
	*out = c;
	char timeout[16];
	snprintf(timeout, sizeof(timeout), "%d", connect_seconds);
	/* Earlier entries are defaults the string may override; later ones
	 * are forced. */
	const char *const keys[] = { "connect_timeout", "fallback_application_name",
				     "dbname", "client_encoding", NULL };
	const char *const vals[] = { timeout, "bulkreg", conninfo, "UTF8", NULL };
	pc->conn = PQconnectdbParams(keys, vals, 1);
	if (!pc->conn)
		return SQLDB_ENOMEM;
	if (PQstatus(pc->conn) != CONNECTION_OK) {
		set_err(pc, PQerrorMessage(pc->conn));
		if (PQconnectionNeedsPassword(pc->conn) ||
		    strstr(pc->err, "password authentication failed") ||
		    strstr(pc->err, "no password supplied") ||
		    strstr(pc->err, "authentication failed"))
			return SQLDB_EAUTH;
		return SQLDB_ECONN;
	}
	PQsetNoticeProcessor(pc->conn, discard_notice, NULL);
	return SQLDB_OK;
}

void sqldb__pg_close(struct sqldb *c)
{
	if (c->pg->conn)
		PQfinish(c->pg->conn);
	free(c->pg);
}

const char *sqldb__pg_errmsg(const struct sqldb *c)
{
	return c->pg->err;
}

int64_t sqldb__pg_changes(const struct sqldb *c)
{
	return c->pg->changes;
}

bool sqldb__pg_in_transaction(const struct sqldb *c)
{
	PGTransactionStatusType t = PQtransactionStatus(c->pg->conn);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR ||
	       t == PQTRANS_ACTIVE;
}

/* Sends a cancel request for the running statement (once). */
static void cancel_running(struct pg_conn *pc)
{
	PGcancel *cn = PQgetCancel(pc->conn);
	if (!cn)
		return;
	char buf[256];
	(void)PQcancel(cn, buf, (int)sizeof(buf));
	PQfreeCancel(cn);
}

/*
 * After a PQsend*: waits for the statement, checking the cancel callback
 * every POLL_MS, and returns its result (the last one of several; the
 * first failed one if any).  NULL result: see the return code.
 */
static enum sqldb_rc wait_result(struct sqldb *c, PGresult **out)
{
	struct pg_conn *pc = c->pg;
	bool cancelled = false;
	*out = NULL;
	while (PQisBusy(pc->conn)) {
		struct pollfd pfd = { .fd = PQsocket(pc->conn), .events = POLLIN };
		int n = poll(&pfd, 1, POLL_MS);
		if (n > 0 && !PQconsumeInput(pc->conn))
			break; /* the connection failed: PQgetResult says how */
		if (!cancelled && c->cancelled && c->cancelled(c->cancel_ctx)) {
			cancel_running(pc);
			cancelled = true;
		}
	}
	PGresult *keep = NULL, *res;
	while ((res = PQgetResult(pc->conn)) != NULL) {
		ExecStatusType t = PQresultStatus(res);
		bool bad = t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK &&
			   t != PGRES_EMPTY_QUERY;
		if (keep && (PQresultStatus(keep) == PGRES_FATAL_ERROR ||
			     PQresultStatus(keep) == PGRES_NONFATAL_ERROR)) {
			PQclear(res); /* the first failure stands */
			continue;
		}
		PQclear(keep);
		keep = res;
		(void)bad;
		if (PQstatus(pc->conn) == CONNECTION_BAD)
			break;
	}
	if (!keep)
		return fail_result(pc, NULL);
	ExecStatusType t = PQresultStatus(keep);
	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK &&
	    t != PGRES_EMPTY_QUERY) {
		enum sqldb_rc rc = fail_result(pc, keep);
		PQclear(keep);
		return rc;
	}
	if (PQstatus(pc->conn) == CONNECTION_BAD) {
		PQclear(keep);
		return fail_result(pc, NULL);
	}
	const char *n = PQcmdTuples(keep);
	pc->changes = n && *n ? strtoll(n, NULL, 10) : 0;
	*out = keep;
	return SQLDB_OK;
}

enum sqldb_rc sqldb__pg_exec(struct sqldb *c, const char *sql)
{
	struct pg_conn *pc = c->pg;
	struct buf b = { 0 };
	put(&b, "", 0);
	int last_nparams = 0;
	for (const char *p = sql; *p;) {
		char *one = NULL;
		if (!sqldb__pg_translate(p, &one, &last_nparams, &p)) {
			free(b.p);
			return SQLDB_ENOMEM;
		}
		put(&b, one, strlen(one));
		put(&b, ";", 1);
		free(one);
	}
	if (b.nomem) {
		free(b.p);
		return SQLDB_ENOMEM;
	}
	int sent = PQsendQuery(pc->conn, b.p);
	bool commit = strcmp(sql, "COMMIT") == 0;
	free(b.p);
	if (!sent)
		return fail_result(pc, NULL);
	PGresult *res = NULL;
	enum sqldb_rc rc = wait_result(c, &res);
	if (rc == SQLDB_OK && commit &&
	    strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		/* COMMIT of a failed transaction rolls it back, quietly. */
		set_err(pc, "the transaction had failed and was rolled back");
		rc = SQLDB_EOTHER;
	}
	PQclear(res);
	return rc;
}

/* ---- statements --------------------------------------------------------- */

enum sqldb_rc sqldb__pg_prepare(struct sqldb *c, const char *sql,
				unsigned flags, struct sqldb_stmt **out,
				const char **tail)
{
	const char *p = sql;
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == ';')
		p++;
	if (!*p) {
		if (tail)
			*tail = p;
		return SQLDB_OK;
	}
	struct sqldb_stmt *s = calloc(1, sizeof(*s));
	struct pg_stmt *ps = calloc(1, sizeof(*ps));
	if (!s || !ps || !sqldb__pg_translate(p, &ps->sql, &ps->nparams, tail)) {
		free(s);
		free(ps);
		return SQLDB_ENOMEM;
	}
	size_t n = ps->nparams ? (size_t)ps->nparams : 1;
	ps->vals = calloc(n, sizeof(*ps->vals));
	ps->lens = calloc(n, sizeof(*ps->lens));
	ps->types = calloc(n, sizeof(*ps->types));
	s->c = c;
	s->pg = ps;
	if (!ps->vals || !ps->lens || !ps->types) {
		sqldb__pg_finalize(s);
		free(s);
		return SQLDB_ENOMEM;
	}
	ps->persistent = (flags & SQLDB_PERSISTENT) != 0;
	if (ps->persistent)
		snprintf(ps->name, sizeof(ps->name), "bulkreg_%u",
			 c->pg->next_name++);
	*out = s;
	return SQLDB_OK;
}

void sqldb__pg_bind(struct sqldb_stmt *s, int i, const char *v, int len,
		    bool is_int)
{
	struct pg_stmt *ps = s->pg;
	if (i < 1 || i > ps->nparams)
		return;
	free(ps->vals[i - 1]);
	ps->vals[i - 1] = NULL;
	ps->types[i - 1] = is_int ? INT8_OID : v ? TEXT_OID : 0;
	if (!v)
		return;
	size_t n = len < 0 ? strlen(v) : (size_t)len;
	char *copy = malloc(n + 1);
	if (!copy)
		return; /* sent as NULL; the NOT NULL columns refuse it */
	memcpy(copy, v, n);
	copy[n] = '\0';
	ps->vals[i - 1] = copy;
	ps->lens[i - 1] = (int)n;
}

int sqldb__pg_bind_count(const struct sqldb_stmt *s)
{
	return s->pg->nparams;
}

static enum sqldb_rc run(struct sqldb_stmt *s)
{
	struct pg_stmt *ps = s->pg;
	struct pg_conn *pc = s->c->pg;
	PGresult *res = NULL;
	enum sqldb_rc rc;
	if (ps->persistent && !ps->prepared) {
		if (!PQsendPrepare(pc->conn, ps->name, ps->sql, ps->nparams,
				   ps->types))
			return fail_result(pc, NULL);
		rc = wait_result(s->c, &res);
		PQclear(res);
		if (rc != SQLDB_OK)
			return rc;
		ps->prepared = true;
	}
	const char *const *vals = (const char *const *)ps->vals;
	int sent = ps->persistent ?
			   PQsendQueryPrepared(pc->conn, ps->name, ps->nparams,
					       vals, NULL, NULL, 0) :
			   PQsendQueryParams(pc->conn, ps->sql, ps->nparams,
					     ps->types, vals, NULL, NULL, 0);
	if (!sent)
		return fail_result(pc, NULL);
	rc = wait_result(s->c, &res);
	if (rc != SQLDB_OK)
		return rc;
	ps->res = res;
	ps->nrows = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : 0;
	ps->row = -1;
	return SQLDB_OK;
}

enum sqldb_rc sqldb__pg_step(struct sqldb_stmt *s)
{
	struct pg_stmt *ps = s->pg;
	if (!ps->ran) {
		ps->ran = true;
		enum sqldb_rc rc = run(s);
		if (rc != SQLDB_OK)
			return rc;
	}
	if (!ps->res)
		return SQLDB_DONE;
	if (ps->row < ps->nrows)
		ps->row++;
	return ps->row < ps->nrows ? SQLDB_ROW : SQLDB_DONE;
}

int sqldb__pg_column_count(const struct sqldb_stmt *s)
{
	return s->pg->res ? PQnfields(s->pg->res) : 0;
}

const char *sqldb__pg_column_text(const struct sqldb_stmt *s, int i)
{
	const struct pg_stmt *ps = s->pg;
	if (!ps->res || ps->row < 0 || ps->row >= ps->nrows ||
	    i >= PQnfields(ps->res) || PQgetisnull(ps->res, ps->row, i))
		return NULL;
	return PQgetvalue(ps->res, ps->row, i);
}

size_t sqldb__pg_column_bytes(const struct sqldb_stmt *s, int i)
{
	const struct pg_stmt *ps = s->pg;
	if (!sqldb__pg_column_text(s, i))
		return 0;
	return (size_t)PQgetlength(ps->res, ps->row, i);
}

void sqldb__pg_reset(struct sqldb_stmt *s)
{
	PQclear(s->pg->res);
	s->pg->res = NULL;
	s->pg->ran = false;
	s->pg->row = -1;
	s->pg->nrows = 0;
}

void sqldb__pg_finalize(struct sqldb_stmt *s)
{
	struct pg_stmt *ps = s->pg;
	if (!ps)
		return;
	PQclear(ps->res);
	/* A prepared name is never used again (the counter), and the server
	 * drops it with the session. */
	for (int i = 0; ps->vals && i < ps->nparams; i++)
		free(ps->vals[i]);
	free(ps->vals);
	free(ps->lens);
	free(ps->types);
	free(ps->sql);
	free(ps);
	s->pg = NULL;
}
