/* fuzz_dbtarget: libFuzzer harness for -d's target (dbtarget.c). */
/*
 * Each input builds a target that carries a known password.  The first
 * byte picks the form (bits 0-2: a URI's user:PASSWORD@, the same
 * percent-encoded, a URI's ?password=, the same with the name encoded
 * pass%77ord, a keyword string's password=, the same quoted, with spaces
 * around '=', password first), bit 3 an upper-case scheme, bits 4-7 the
 * size of the buffers; the rest is split at NUL bytes into the password
 * and three pieces of garbage placed around it.  The input's length
 * modulo 3 picks the secret (review 20, F01): libpq's password, its
 * sslpassword (the client key's passphrase: every form but user:PW@ names
 * it instead), or a password inside a dbname value that is a connection
 * string of its own (the keyword forms, quoted as dbname='...', or
 * percent-encoded as a URI's path).
 *
 * The password starts with a marker byte (0x01, "%01" when encoded) that
 * the garbage never holds, so wherever a piece of it starting with the
 * marker shows, that is the password.  The oracles:
 *   - the redacted form never holds the marker, nor what follows it in
 *     the password libpq reads (4 bytes or more, found nowhere else), when
 *     libpq reads the password there, and db_target_check's message never
 *     does whether libpq reads the string or not (review 15, A1);
 *   - the redacted form classifies as the target does (db_target_is_pg),
 *     redacting it again shows no password either, an
 *     SQLite path is shown as it is,
 *     and a smaller buffer gets a prefix of it, NUL-terminated;
 *   - db_target_scrub leaves no copy of the password libpq reads in a
 *     message that held it, stays in its buffer and ends.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dbtarget.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define MARK '\x01'
#define MARK_ENC "%01"

static void check(int ok, const char *what, const char *target, const char *out)
{
	if (!ok) {
		fprintf(stderr, "invariant broken: %s\n  target: ", what);
		for (const char *p = target; *p; p++)
			fprintf(stderr, (unsigned char)*p < 0x20 ? "\\x%02x" : "%c",
				(unsigned char)*p);
		fprintf(stderr, "\n  shown:  ");
		for (const char *p = out ? out : ""; *p; p++)
			fprintf(stderr, (unsigned char)*p < 0x20 ? "\\x%02x" : "%c",
				(unsigned char)*p);
		fprintf(stderr, "\n");
		abort();
	}
}

struct buf {
	char *p;
	size_t len, cap;
};

static void add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void adds(struct buf *b, const char *s)
{
	add(b, s, strlen(s));
}

/* Garbage never holds the marker, raw or percent-encoded. */
static void add_garbage(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = s[i] == MARK ? 'x' : s[i];
		if (ch == '1' && b->len >= 2 && b->p[b->len - 1] == '0' &&
		    b->p[b->len - 2] == '%')
			ch = 'y';
		add(b, &ch, 1);
	}
}

static void add_encoded(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char hex[4];
		snprintf(hex, sizeof(hex), "%%%02X", (unsigned char)s[i]);
		add(b, hex, 3);
	}
}

/* A keyword string's quoted value: \ and ' escaped. */
static void add_quoted(struct buf *b, const char *s, size_t n)
{
	add(b, "'", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' || s[i] == '\'')
			add(b, "\\", 1);
		add(b, s + i, 1);
	}
	add(b, "'", 1);
}

/* The next piece of the input, up to a NUL byte. */
static const char *piece(const unsigned char **data, size_t *size, size_t *n)
{
	const char *s = (const char *)*data;
	const unsigned char *nul = memchr(*data, 0, *size);
	*n = nul ? (size_t)(nul - *data) : *size;
	*data += *n + (nul != NULL);
	*size -= *n + (nul != NULL);
	return s;
}

static bool has_mark(const char *s)
{
	return s && (strchr(s, MARK) || strstr(s, MARK_ENC));
}

/* Whether libpq hides the option keyword (dispchar "*"). */
static bool secret_keyword(const char *keyword)
{
	PQconninfoOption *opts = PQconndefaults();
	bool found = false;
	for (PQconninfoOption *o = opts; o && o->keyword && !found; o++)
		found = strcmp(o->keyword, keyword) == 0 && o->dispchar &&
			strchr(o->dispchar, '*');
	PQconninfoFree(opts);
	return found;
}

/* Whether a dbname value is a connection string of its own to libpq. */
static bool conninfo_value(const char *v)
{
	return strchr(v, '=') || strncasecmp(v, "postgresql://", 13) == 0 ||
	       strncasecmp(v, "postgres://", 11) == 0;
}

/* libpq's secret holding the marker in target (NULL when none, or the
 * string does not parse): a password or sslpassword, or in a dbname that
 * is a connection string, that one's secret -- or the whole dbname when
 * that one does not parse; *other when another option's value holds the
 * marker. */
static char *libpq_password(const char *target, bool *parsed, bool *other)
{
	PQconninfoOption *opts = PQconninfoParse(target, NULL);
	char *pw = NULL;
	*parsed = opts != NULL;
	*other = false;
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (!o->val)
			continue;
		if (secret_keyword(o->keyword)) {
			if (*o->val && (!pw || strchr(o->val, MARK))) {
				free(pw);
				pw = strdup(o->val);
			}
		} else if (strcmp(o->keyword, "dbname") == 0 &&
			   conninfo_value(o->val) && strchr(o->val, MARK)) {
			bool in_parsed, in_other;
			char *in = libpq_password(o->val, &in_parsed, &in_other);
			if (!in || !strchr(in, MARK)) {
				free(in);
				in = strdup(o->val);
			}
			free(pw);
			pw = in;
		} else if (strchr(o->val, MARK)) {
			*other = true;
		}
	}
	PQconninfoFree(opts);
	return pw;
}

/* Occurrences of needle in s, overlapping ones too. */
static size_t count_in(const char *s, const char *needle)
{
	size_t n = 0;
	if (!*needle)
		return 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void check_redaction(const char *t, const char *rest, const char *garbage, size_t cap)
{
	static char out[8192], again[8192], small[8192];
	bool parsed, other;
	char *pw = libpq_password(t, &parsed, &other);
	bool pg = db_target_is_pg(t);

	db_target_redact(t, out, sizeof(out));
	check(strlen(out) < sizeof(out), "terminated", t, out);
	if (!pg)
		check(strcmp(out, t) == 0, "an SQLite path is shown as it is", t, out);
	if (pg && pw && strchr(pw, MARK) && !other) {
		check(!has_mark(out), "no password in the redacted form", t, out);
		/* What libpq reads after the marker, when it is not
		 * anywhere else. */
		const char *after = strrchr(pw, MARK) + 1;
		/* The same text in another option ("password=\1=db1
		 * host=db1") is that option's: the redacted form may keep
		 * those occurrences, never the password's own. */
		/* An escaped password ("\x01=d\\b1 host=db1": libpq reads
		 * "\x01=db1") may read as another option's text: only the
		 * marker counts then. */
		size_t in_t = count_in(t, after);
		if (strlen(after) >= 4 && !strstr(rest, after) &&
		    (in_t == 0 || strstr(t, pw))) {
			check(count_in(out, after) < (in_t ? in_t : 1),
			      "no password in the redacted form", t, out);
		}
	}
	check(db_target_is_pg(out) == pg, "the redacted form classifies the same",
	      t, out);
	db_target_redact(out, again, sizeof(again));
	check(db_target_is_pg(again) == pg && (has_mark(out) || !has_mark(again)),
	      "redacting again classifies the same", t, again);
	if (!pg)
		check(strcmp(again, out) == 0, "redacting again changes nothing", t,
		      again);

	/* A smaller buffer: a prefix, terminated. */
	memset(small, 'Z', cap + 1);
	db_target_redact(t, small, cap);
	if (cap) {
		size_t n = strnlen(small, cap);
		check(n < cap, "terminated in a small buffer", t, small);
		check(strncmp(small, out, n) == 0 && (n == cap - 1 || out[n] == '\0'),
		      "a small buffer gets a prefix", t, small);
	}
	check(small[cap] == 'Z', "within a small buffer", t, small);

	struct error err;
	if (db_target_check(t, &err) != ST_OK) {
		check(!parsed, "check agrees with libpq", t, err.msg);
		if (pg)
			check(!has_mark(err.msg), "no password in check's message", t,
			      err.msg);
	} else {
		check(parsed, "check agrees with libpq", t, NULL);
	}

	/* A message that holds libpq's password, scrubbed in place. */
	if (pw) {
		static char msg[8192];
		size_t mcap = cap + strlen(pw) + 8 < sizeof(msg) - 1 ?
				      cap + strlen(pw) + 8 : sizeof(msg) - 1;
		memset(msg, 'Z', mcap + 1);
		snprintf(msg, mcap, "failed: \"%s\" (%.*s) %s", pw, (int)(cap % 16),
			 garbage, pw);
		db_target_scrub(t, msg, mcap);
		check(strnlen(msg, mcap) < mcap && msg[mcap] == 'Z',
		      "scrub stays in its buffer", t, msg);
		/* ("x*" shows again in "x***": not a copy left) */
		if (!strchr(pw, '*'))
			check(!strstr(msg, pw), "scrub leaves no password", t, msg);
	}
	free(pw);
}

/* The target of form control & 7 with secret pw (of kind: 0 password,
 * 1 sslpassword, 2 a password in a dbname) around the garbage. */
static void build(struct buf *t, unsigned control, unsigned kind,
		  const struct buf *pw, const char *g1, size_t n1,
		  const char *g2, size_t n2, const char *g3, size_t n3)
{
	const char *scheme = control & 8 ? "POSTGRESQL://" : "postgresql://";
	bool ssl = kind == 1;
	if (kind == 2) {
		/* The keyword form (control | 4), as a dbname's value. */
		struct buf inner = {0};
		build(&inner, control | 4, 0, pw, g1, n1, g2, n2, g3, n3);
		if (control & 4) {
			adds(t, "dbname=");
			add_quoted(t, inner.p, inner.len);
			adds(t, " ");
			add_garbage(t, g3, n3);
		} else {
			adds(t, scheme);
			add_garbage(t, g2, n2);
			adds(t, "/");
			add_encoded(t, inner.p, inner.len);
		}
		free(inner.p);
		return;
	}
	switch (control & 7) {
	case 0: /* user:PASSWORD@host/db */
	case 1:
		adds(t, scheme);
		add_garbage(t, g1, n1);
		adds(t, ":");
		if (control & 1)
			add_encoded(t, pw->p, pw->len);
		else
			add(t, pw->p, pw->len);
		adds(t, "@");
		add_garbage(t, g2, n2);
		adds(t, "/");
		add_garbage(t, g3, n3);
		break;
	case 2: /* host/db?...&password=PASSWORD */
	case 3:
		adds(t, scheme);
		add_garbage(t, g1, n1);
		adds(t, "/");
		add_garbage(t, g2, n2);
		adds(t, "?");
		add_garbage(t, g3, n3);
		adds(t, control & 1 ? (ssl ? "&sslpass%77ord=" : "&pass%77ord=")
				    : (ssl ? "&sslpassword=" : "&password="));
		if (control & 1)
			add_encoded(t, pw->p, pw->len);
		else
			add(t, pw->p, pw->len);
		break;
	case 4: /* host=... password=PASSWORD ... */
	case 5:
	case 6:
		adds(t, "host=");
		add_garbage(t, g1, n1);
		adds(t, ssl ? " ssl" : " ");
		adds(t, (control & 7) == 6 ? "password = " : "password=");
		if ((control & 7) == 5)
			add_quoted(t, pw->p, pw->len);
		else
			add(t, pw->p, pw->len);
		adds(t, " ");
		add_garbage(t, g2, n2);
		break;
	default: /* password=PASSWORD ... */
		adds(t, ssl ? "sslpassword=" : "password=");
		add(t, pw->p, pw->len);
		add_garbage(t, g1, n1);
		break;
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned control = data[0], kind = (unsigned)(size % 3);
	data++;
	size--;
	size_t pn, n1, n2, n3;
	const char *p = piece(&data, &size, &pn);
	const char *g1 = piece(&data, &size, &n1);
	const char *g2 = piece(&data, &size, &n2);
	const char *g3 = piece(&data, &size, &n3);

	/* The password: the marker, then the fuzzer's bytes. */
	struct buf pw = {0}, t = {0}, garbage = {0};
	add(&pw, "\x01", 1);
	add_garbage(&pw, p, pn); /* one marker in all */
	add_garbage(&garbage, g1, n1);
	add(&garbage, " ", 1);
	add_garbage(&garbage, g2, n2);
	add(&garbage, " ", 1);
	add_garbage(&garbage, g3, n3);

	build(&t, control, kind, &pw, g1, n1, g2, n2, g3, n3);
	/* The same with an empty password: what the password is not in. */
	struct buf empty = {0}, rest = {0};
	add(&empty, "", 0);
	build(&rest, control, kind, &empty, g1, n1, g2, n2, g3, n3);
	/* The target is a C string: it ends at the first NUL. */
	check_redaction(t.p, rest.p, garbage.p,
			(size_t)(control >> 4) * 5);
	/* The garbage alone: whatever it is, shown safely and classified the
	 * same (no password of ours in it). */
	check_redaction(garbage.p, garbage.p, garbage.p, (size_t)(control >> 4) * 3);
	free(pw.p);
	free(t.p);
	free(garbage.p);
	free(empty.p);
	free(rest.p);
	return 0;
}
