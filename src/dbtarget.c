/* dbtarget: telling PostgreSQL targets from SQLite paths, and hiding passwords; see dbtarget.h. */
#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dbtarget.h"

#define HIDDEN "***"

static const char *uri_rest(const char *target)
{
	static const char *const schemes[] = { "postgresql://", "postgres://" };
	for (size_t i = 0; i < 2; i++)
		if (strncasecmp(target, schemes[i], strlen(schemes[i])) == 0)
			return target + strlen(schemes[i]);
	return NULL;
}

/* Whether name[0..len) is a keyword libpq knows. */
static bool libpq_keyword(const char *name, size_t len)
{
	PQconninfoOption *opts = PQconndefaults();
	bool found = false;
	for (PQconninfoOption *o = opts; o && o->keyword && !found; o++)
		found = strlen(o->keyword) == len &&
			memcmp(o->keyword, name, len) == 0;
	PQconninfoFree(opts);
	return found;
}

/* Whether name[0..len) is an option libpq hides (its dispchar "*":
 * password, sslpassword, and whatever a later libpq adds). */
static bool libpq_secret(const char *name, size_t len)
{
	PQconninfoOption *opts = PQconndefaults();
	bool found = false;
	for (PQconninfoOption *o = opts; o && o->keyword && !found; o++)
		found = o->dispchar && strchr(o->dispchar, '*') &&
			strlen(o->keyword) == len &&
			memcmp(o->keyword, name, len) == 0;
	PQconninfoFree(opts);
	return found;
}

/* Whether s[0..n) reads as a connection string of its own: libpq takes a
 * dbname with an '=' in it, or a URI, as one (and its password with it). */
static bool conninfo_like(const char *s, size_t n)
{
	static const char *const schemes[] = { "postgresql://", "postgres://" };
	if (memchr(s, '=', n))
		return true;
	for (size_t i = 0; i < 2; i++)
		for (size_t at = 0; at + strlen(schemes[i]) <= n; at++)
			if (strncasecmp(s + at, schemes[i], strlen(schemes[i])) == 0)
				return true;
	return false;
}

bool db_target_is_pg(const char *target)
{
	if (!target)
		return false;
	if (uri_rest(target))
		return true;
	const char *p = target;
	while (isspace((unsigned char)*p))
		p++;
	const char *name = p;
	while (islower((unsigned char)*p) || *p == '_')
		p++;
	size_t len = (size_t)(p - name);
	while (isspace((unsigned char)*p))
		p++;
	return len > 0 && *p == '=' && libpq_keyword(name, len);
}

/* Whether target names an option tok[0..n) ("tok=" or "tok =", as a
 * keyword or a URI parameter): an option's name is no password. */
static bool option_name_in(const char *target, const char *tok, size_t n)
{
	/* A name is a word ("no_such", "pasword"); libpq quotes a whole
	 * "POSTGRESQL://u:pw" as an option it does not know (its URIs are
	 * lower-case): that is no name (found by tests/fuzz/fuzz_dbtarget). */
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)tok[i]) && tok[i] != '_')
			return false;
	for (const char *at = target; *at; at++) {
		if (strncmp(at, tok, n) != 0)
			continue;
		bool starts = at == target || isspace((unsigned char)at[-1]) ||
			      at[-1] == '?' || at[-1] == '&';
		const char *e = at + n;
		while (isspace((unsigned char)*e))
			e++;
		if (starts && *e == '=')
			return true;
	}
	return false;
}

/* libpq's message with every "quoted" token but a keyword, an option name
 * the target gives or a single punctuation mark shown as "***": a token
 * it could not parse may be the password ('invalid percent-encoded token:
 * "50%off"': review 15, A1). */
static void quoted_tokens_hidden(const char *target, const char *why,
				 char *out, size_t cap)
{
	struct { char *p; size_t cap, len; } o = {out, cap, 0};
	out[0] = '\0';
	for (const char *p = why; *p && o.len + 1 < o.cap;) {
		const char *close = *p == '"' ? strchr(p + 1, '"') : NULL;
		if (*p == '"' && !close) {
			/* A token left open (the message was cut at an
			 * " in URI" inside it): hidden to the end (found by
			 * tests/fuzz/fuzz_dbtarget). */
			for (const char *h = "\"***"; *h && o.len + 1 < o.cap; h++)
				o.p[o.len++] = *h;
			break;
		}
		if (!close) {
			o.p[o.len++] = *p++;
			continue;
		}
		size_t n = (size_t)(close - p - 1);
		bool shown = (n == 1 && ispunct((unsigned char)p[1])) ||
			     (n > 0 && (libpq_keyword(p + 1, n) ||
					option_name_in(target, p + 1, n)));
		/* A token with a '"' in it ends at the last one: all of it
		 * is hidden (found by tests/fuzz/fuzz_dbtarget). */
		size_t quotes_after = 0;
		for (const char *c = close + 1; *c; c++)
			quotes_after += *c == '"';
		shown = shown && strchr(" ,:;.)\n", close[1]) && quotes_after % 2 == 0;
		if (!shown)
			close = strrchr(close, '"');
		const char *text = shown ? p : "\"***\"";
		size_t len = shown ? n + 2 : 5;
		for (size_t i = 0; i < len && o.len + 1 < o.cap; i++)
			o.p[o.len++] = text[i];
		p = close + 1;
	}
	out[o.len] = '\0';
}

enum status db_target_check(const char *target, struct error *err)
{
	char *why = NULL;
	PQconninfoOption *opts = PQconninfoParse(target, &why);
	if (opts) {
		PQconninfoFree(opts);
		return ST_OK;
	}
	char shown[1024];
	db_target_redact(target, shown, sizeof(shown));
	char reason[256] = "out of memory";
	if (why) {
		/* libpq quotes the string back: never with its password. */
		char *at = strstr(why, " in URI");
		if (!at)
			at = strstr(why, target);
		if (at)
			*at = '\0';
		quoted_tokens_hidden(target, why, reason, sizeof(reason));
		for (char *q = reason; *q; q++)
			if (*q == '\n')
				*q = *(q + 1) ? ' ' : '\0';
		PQfreemem(why);
	}
	return error_set(err, ST_USAGE,
			 "%s: not a valid PostgreSQL connection string: %s",
			 shown, reason);
}

/* ---- redaction ------------------------------------------------------------- */

struct out {
	char *p;
	size_t cap, len;
};

static void emit(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && o->len + 1 < o->cap; i++)
		o->p[o->len++] = s[i];
	if (o->cap)
		o->p[o->len] = '\0';
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* s[0..n) percent-decoded into out[cap], *len bytes (a "%00" among them)
 * and a NUL; cut short, and false, when it does not fit. */
static bool decoded_len(const char *s, size_t n, char *out, size_t cap, size_t *len)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			ch = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		}
		if (k + 1 >= cap) {
			out[k] = '\0';
			*len = k;
			return false;
		}
		out[k++] = ch;
	}
	out[k] = '\0';
	*len = k;
	return true;
}

static bool decoded(const char *s, size_t n, char *out, size_t cap)
{
	size_t len;
	return decoded_len(s, n, out, cap, &len) && strlen(out) == len;
}

/* Whether the URI parameter name s[0..n), percent-decoded, is an option
 * libpq hides ("password", "sslpassword"). */
static bool is_secret_param(const char *s, size_t n)
{
	char name[32];
	return decoded(s, n, name, sizeof(name)) && libpq_secret(name, strlen(name));
}

/* Whether the URI piece s[0..n) (a path, a parameter's value),
 * percent-decoded, reads as a connection string of its own: a long one is
 * taken as one. */
static bool uri_conninfo_like(const char *s, size_t n)
{
	char text[1024];
	size_t len;
	if (!decoded_len(s, n, text, sizeof(text), &len))
		return true;
	/* A "%00" does not end it (found by tests/fuzz/fuzz_dbtarget). */
	for (size_t i = 0; i < len; i++)
		if (!text[i])
			text[i] = ' ';
	return conninfo_like(text, len);
}

/* Whether the URI parameter s[0..n) ("name=value") is a dbname whose
 * value is a connection string of its own. */
static bool is_conninfo_dbname_param(const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n);
	char name[16];
	return eq && decoded(s, (size_t)(eq - s), name, sizeof(name)) &&
	       strcmp(name, "dbname") == 0 &&
	       uri_conninfo_like(eq + 1, n - (size_t)(eq + 1 - s));
}

/* A name (a keyword, a URI parameter's): shown when libpq knows it, or the string is
 * one libpq reads; else it may be a piece of a password ("b" of
 * password='a b=c' after "host= ") and shows as "***". */
static void emit_name(struct out *o, const char *name, size_t len, bool parses)
{
	if (parses || libpq_keyword(name, len))
		emit(o, name, len);
	else if (len)
		emit(o, HIDDEN, strlen(HIDDEN));
}

/* A URI's host and path p[0..n): a path (the database name) that reads
 * as a connection string of its own shows as "***" (its password). */
static void emit_host_path(struct out *o, const char *p, size_t n)
{
	const char *slash = memchr(p, '/', n);
	size_t host = slash ? (size_t)(slash - p) + 1 : n;
	emit(o, p, host);
	if (host < n && uri_conninfo_like(p + host, n - host))
		emit(o, HIDDEN, strlen(HIDDEN));
	else
		emit(o, p + host, n - host);
}

static void redact_uri(const char *target, const char *rest, struct out *o)
{
	emit(o, target, (size_t)(rest - target));
	/* libpq looks for the '@' up to the first '/' (a '?' before it is
	 * the password's); a password with a '/' in it, not percent-encoded,
	 * is no password to libpq but still one: up to the '?' too, and in a
	 * URI libpq cannot read ('/' and '?' in the password), up to the
	 * last '@' (found by tests/fuzz/fuzz_dbtarget). */
	size_t to_slash = strcspn(rest, "/"), to_query = strcspn(rest, "?");
	size_t auth_len = to_slash > to_query ? to_slash : to_query;
	PQconninfoOption *opts = PQconninfoParse(target, NULL);
	bool parses = opts != NULL;
	PQconninfoFree(opts);
	if (!parses)
		auth_len = strlen(rest);
	const char *at = NULL;
	for (size_t i = 0; i < auth_len; i++)
		if (rest[i] == '@')
			at = rest + i;
	const char *p = rest;
	if (at) {
		/* The user name shows, up to the ':' -- or, in a URI libpq
		 * cannot read, up to a '/' or '?' (the password's?) too. */
		size_t user = strcspn(rest, parses ? ":" : ":/?");
		if (rest + user < at) {
			emit(o, rest, user + (rest[user] == ':'));
			emit(o, HIDDEN, strlen(HIDDEN));
			p = at;
		}
	}
	/* The '@' of a URI libpq cannot read may come after its '?': what
	 * follows is parameters. */
	bool in_query = !parses && p != rest &&
			memchr(rest, '?', (size_t)(p - rest)) != NULL;
	/* libpq's user name runs to the '@', a '?' in it too: the
	 * parameters start after it (found by tests/fuzz/fuzz_dbtarget). */
	const char *q = in_query ? p : strchr(parses && at ? at : p, '?');
	emit_host_path(o, p, q ? (size_t)(q - p) : strlen(p));
	if (!q)
		return;
	emit(o, q, 1);
	for (q++; *q;) {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		/* In a URI libpq cannot read, a parameter may be a piece
		 * of a password with a '&' in it: only keywords show. */
		if (eq && (!parses || is_secret_param(q, (size_t)(eq - q)) ||
			   is_conninfo_dbname_param(q, n))) {
			emit_name(o, q, (size_t)(eq - q), parses);
			emit(o, "=", 1);
			emit(o, HIDDEN, strlen(HIDDEN));
		} else if (!parses) {
			emit_name(o, q, n, false);
		} else {
			emit(o, q, n);
		}
		q += n;
		if (*q == '&')
			emit(o, q++, 1);
	}
}

/* The end of a keyword/value string's value starting at p. */
static const char *value_end(const char *p)
{
	if (*p == '\'') {
		for (p++; *p && *p != '\''; p++)
			if (*p == '\\' && p[1])
				p++;
		return *p ? p + 1 : p;
	}
	for (; *p && !isspace((unsigned char)*p); p++)
		if (*p == '\\' && p[1])
			p++;
	return p;
}

static void redact_keywords(const char *p, struct out *o)
{
	PQconninfoOption *opts = PQconninfoParse(p, NULL);
	bool parses = opts != NULL;
	PQconninfoFree(opts);
	while (*p) {
		const char *start = p;
		while (isspace((unsigned char)*p))
			p++;
		const char *name = p;
		while (*p && *p != '=' && !isspace((unsigned char)*p))
			p++;
		size_t len = (size_t)(p - name);
		while (isspace((unsigned char)*p))
			p++;
		emit(o, start, (size_t)(name - start));
		emit_name(o, name, len, parses);
		if (*p != '=') {
			/* Malformed: what follows may be a password whose
			 * "=" is missing (review 15, A1). */
			if (*p)
				emit(o, " " HIDDEN, strlen(" " HIDDEN));
			return;
		}
		emit(o, name + len, (size_t)(p - (name + len)));
		p++;
		const char *eq = p - 1;
		while (isspace((unsigned char)*p))
			p++;
		const char *end = value_end(p);
		emit(o, eq, (size_t)(p - eq));
		/* In a string libpq cannot read, where a value ends is
		 * anyone's guess ("host= password=x" is host's): every
		 * value may hold the password (found by
		 * tests/fuzz/fuzz_dbtarget). */
		/* A secret libpq knows (password, sslpassword), or a dbname
		 * that is a connection string of its own, its password in it
		 * (review 20, F01). */
		if (libpq_secret(name, len) || !parses ||
		    (len == 6 && memcmp(name, "dbname", 6) == 0 &&
		     conninfo_like(p, (size_t)(end - p))))
			emit(o, HIDDEN, strlen(HIDDEN));
		else
			emit(o, p, (size_t)(end - p));
		p = end;
	}
}

void db_target_redact(const char *target, char *out, size_t cap)
{
	struct out o = { out, cap, 0 };
	if (cap)
		out[0] = '\0';
	if (!target)
		return;
	const char *rest = uri_rest(target);
	if (rest)
		redact_uri(target, rest, &o);
	else if (db_target_is_pg(target))
		redact_keywords(target, &o);
	else
		emit(&o, target, strlen(target));
}

/* Replaces every copy of secret in msg[cap] by "***". */
static void scrub_one(const char *secret, char *msg, size_t cap)
{
	size_t n = strlen(secret), hl = strlen(HIDDEN);
	/* Each copy is replaced once, the search going on after the "***"
	 * (a password "*" or "***" would otherwise be found in it forever),
	 * and a message that grows is cut at cap - 1 (found by
	 * tests/fuzz/fuzz_dbtarget: a copy near the end underflowed). */
	for (char *from = msg, *at; n && cap && (at = strstr(from, secret)) != NULL;) {
		size_t used = (size_t)(at - msg);
		size_t tail = strlen(at + n); /* what follows the copy */
		if (used + hl >= cap) {   /* no room for even the "***" */
			*at = '\0';
			break;
		}
		if (used + hl + tail >= cap)
			tail = cap - 1 - used - hl;
		memmove(at + hl, at + n, tail);
		memcpy(at, HIDDEN, hl);
		at[hl + tail] = '\0';
		from = at + hl;
	}
}

/* Scrubs msg of the secrets of conninfo: every option libpq hides, and a
 * dbname that is a connection string of its own, whole and its secrets
 * (depth: a dbname in that one, and so on, a few levels). */
static void scrub_secrets(const char *conninfo, char *msg, size_t cap, int depth)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (strcmp(o->keyword, "dbname") == 0 &&
		    conninfo_like(o->val, strlen(o->val))) {
			scrub_one(o->val, msg, cap); /* whole, first */
			if (depth < 4)
				scrub_secrets(o->val, msg, cap, depth + 1);
		} else if (libpq_secret(o->keyword, strlen(o->keyword))) {
			scrub_one(o->val, msg, cap);
		}
	}
	PQconninfoFree(opts);
}

void db_target_scrub(const char *target, char *msg, size_t cap)
{
	scrub_secrets(target, msg, cap, 0);
}

bool db_schema_name_valid(const char *name)
{
	if (!name || !(islower((unsigned char)name[0]) || name[0] == '_'))
		return false;
	size_t n = strlen(name);
	if (n > DB_PG_SCHEMA_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)name[i]) ||
		      isdigit((unsigned char)name[i]) || name[i] == '_'))
			return false;
	/* pg_ names are the server's own. */
	return strncmp(name, "pg_", 3) != 0;
}
