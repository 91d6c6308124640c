/* users_join: --users FILE in bounded memory; see users_join.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csvread.h"
#include "escape.h"
#include "roster.h"
#include "splitmix.h"
#include "users_join.h"

/* The columns of a users file bulkreg reads, in record order. */
enum ucol { U_ID, U_FIRST, U_LAST, U_EMAIL, U_STATUS, U_ROLE, U_COUNT };

#define NAME_KEEP 64
#define RECORD_MAX (8 + U_COUNT * (2 + ROW_VALUE_MAX)) /* its line, values */
#define SPILL_BUFFER (1u << 20)

/* Header names (normal form); for the id, the first in this list wins. */
static const struct csvread_alias unames[] = {
	{"sourcedid", U_ID},      {"user_id", U_ID},        {"student_id", U_ID},
	{"username", U_ID},       {"id", U_ID},
	{"givenname", U_FIRST},   {"first_name", U_FIRST},
	{"familyname", U_LAST},   {"last_name", U_LAST},
	{"email", U_EMAIL},       {"student_email", U_EMAIL},
	{"mail", U_EMAIL},
	{"status", U_STATUS},     {"role", U_ROLE},
	{NULL, 0},
};

struct value {
	uint16_t len;
	unsigned char text[ROW_VALUE_MAX];
};

struct users_join {
	int fd;                      /* the spill file (unlinked) */
	FILE *spill;                 /* writing it */
	char *spill_buf;
	uint64_t spill_size;
	/* The index: a user id's 32-bit hash (its slot comes from it too),
	 * and its record's offset + 1 in the spill file (0: an empty slot).
	 * 8 bytes a slot, at most three quarters full; any number of slots
	 * (index_fit), so that the index is near 11 bytes a user, without the
	 * doubling that made it 32 MiB just past 2^20 users (the batch's cache
	 * has what the index leaves of its budget). */
	uint32_t *hash, *off;
	size_t cap, count, dups;
	char warning[ERROR_MAX];     /* the first user listed twice, or "" */
	char bom_note[ERROR_MAX];    /* a byte order mark overrode the
				      * encoding given, or "" */

	/* While reading the file. */
	struct csvread cr;
	bool in_header;
	size_t ncols;
	signed char *colmap;         /* column -> enum ucol, or -1 */
	size_t long_col;             /* a value read is over ROW_VALUE_MAX */
	size_t long_len;             /* bytes (long_col SIZE_MAX: none) */
	size_t extra_col;            /* a non-empty field past the header's
				      * (SIZE_MAX: none) */
	size_t id_rank[ROSTER_MAX_COLUMNS];
	struct value cur[U_COUNT];
	enum status failed;
	struct error err;
	unsigned char head1[NAME_KEEP]; /* the header's first field's first
					 * bytes: a hint on the delimiter */
	size_t head1_len;
	char id_name[NAME_KEEP + 1]; /* the id column's header name */
	char sha256[65];             /* of the file's bytes, in hex */
	size_t id_name_rank;
};

static uint32_t id_hash(const char *s, size_t len)
{
	uint64_t h = fnv1a64(s, len);
	return (uint32_t)(h ^ (h >> 32));
}

/* ---- the spill file ------------------------------------------------------ */

static enum status spill_open(struct users_join *u, struct error *err)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/bulkreg-users.XXXXXX",
		 dir && *dir ? dir : "/tmp");
	u->fd = mkstemp(path);
	if (u->fd < 0)
		return error_set(err, ST_IO, "%s: cannot create a temporary file: %s",
				 path, strerror(errno));
	unlink(path);
	u->spill = fdopen(dup(u->fd), "w");
	u->spill_buf = malloc(SPILL_BUFFER);
	if (!u->spill || !u->spill_buf)
		return error_set(err, ST_NOMEM, "out of memory for --users");
	setvbuf(u->spill, u->spill_buf, _IOFBF, SPILL_BUFFER);
	return ST_OK;
}

/* Reads the record at `off` into v[U_COUNT], and its line into *line. */
static enum status read_record(struct users_join *u, uint64_t off,
			       struct value v[U_COUNT], uint64_t *line,
			       struct error *err)
{
	unsigned char buf[RECORD_MAX];
	ssize_t n;
	while ((n = pread(u->fd, buf, sizeof(buf), (off_t)off)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return error_set(err, ST_IO, "--users: reading the temporary file: %s",
				 strerror(errno));
	if (n < 8)
		return error_set(err, ST_IO, "--users: the temporary file is short");
	*line = 0;
	for (int i = 7; i >= 0; i--)
		*line = *line << 8 | buf[i];
	size_t at = 8;
	for (int c = 0; c < U_COUNT; c++) {
		if (at + 2 > (size_t)n)
			return error_set(err, ST_IO, "--users: the temporary file is short");
		uint16_t len = (uint16_t)(buf[at] | buf[at + 1] << 8);
		at += 2;
		if (len > ROW_VALUE_MAX || at + len > (size_t)n)
			return error_set(err, ST_IO, "--users: the temporary file is damaged");
		v[c].len = len;
		memcpy(v[c].text, buf + at, len);
		at += len;
	}
	return ST_OK;
}

/* ---- the index ------------------------------------------------------------- */

/* The first slot of hash h in an index of cap slots (any cap). */
static size_t slot_of(uint32_t h, size_t cap)
{
	return (size_t)(((uint64_t)h * cap) >> 32);
}

static size_t slot_next(size_t j, size_t cap)
{
	return j + 1 == cap ? 0 : j + 1;
}

/* The index rebuilt with cap slots (cap > u->count). */
static enum status index_resize(struct users_join *u, size_t cap,
				struct error *err)
{
	uint32_t *hash = calloc(cap, sizeof(*hash));
	uint32_t *off = calloc(cap, sizeof(*off));
	if (!hash || !off) {
		free(hash);
		free(off);
		return error_set(err, ST_NOMEM, "out of memory for the --users index");
	}
	for (size_t i = 0; i < u->cap; i++) {
		if (!u->off[i])
			continue;
		size_t j = slot_of(u->hash[i], cap);
		while (off[j])
			j = slot_next(j, cap);
		hash[j] = u->hash[i];
		off[j] = u->off[i];
	}
	free(u->hash);
	free(u->off);
	u->hash = hash;
	u->off = off;
	u->cap = cap;
	return ST_OK;
}

/* Whether n users fill more than three quarters of cap slots. */
static bool index_full(size_t n, size_t cap)
{
	return n * 4 > cap * 3;
}

static enum status grow(struct users_join *u, struct error *err)
{
	return index_resize(u, u->cap ? u->cap * 2 : 1024, err);
}

/* Once the file is read: the fewest slots that keep the index at most
 * three quarters full (the doublings left up to twice that). */
static enum status index_fit(struct users_join *u, struct error *err)
{
	size_t cap = u->count / 3 * 4 + 1024;
	return cap < u->cap ? index_resize(u, cap, err) : ST_OK;
}

/* The slot of user `id`: its own (*found, its line in *line) or the empty
 * one it would take. */
static enum status probe(struct users_join *u, const char *id, size_t len,
			 uint32_t h, size_t *slot, bool *found,
			 struct value v[U_COUNT], uint64_t *line,
			 struct error *err)
{
	size_t j = slot_of(h, u->cap);
	*found = false;
	for (; u->off[j]; j = slot_next(j, u->cap)) {
		if (u->hash[j] != h)
			continue;
		/* While the file is read, the record may still be buffered. */
		if (u->spill && fflush(u->spill) != 0)
			return error_set(err, ST_IO,
					 "--users: writing the temporary file: %s",
					 strerror(errno));
		enum status st = read_record(u, u->off[j] - 1, v, line, err);
		if (st != ST_OK)
			return st;
		if (v[U_ID].len == len && memcmp(v[U_ID].text, id, len) == 0) {
			*found = true;
			break;
		}
	}
	*slot = j;
	return ST_OK;
}

/* The warning for the first user listed twice, at lines first and again. */
static void note_duplicate(struct users_join *u, const char *id, size_t len,
			   uint64_t first, uint64_t again)
{
	size_t used = (size_t)snprintf(u->warning, sizeof(u->warning),
				       "%s: user id ", u->cr.name);
	if (used >= sizeof(u->warning))
		return;
	esc_quote(u->warning, sizeof(u->warning), &used, id, len, 64);
	snprintf(u->warning + used, sizeof(u->warning) - used,
		 " is on lines %llu and %llu: the first (line %llu) is used",
		 (unsigned long long)first, (unsigned long long)again,
		 (unsigned long long)first);
}

/* Adds the record in u->cur (its id non-empty), read at `line`. */
static enum status add_user(struct users_join *u, uint64_t line,
			    struct error *err)
{
	enum status st;
	if (index_full(u->count + 1, u->cap) && (st = grow(u, err)) != ST_OK)
		return st;
	const char *id = (const char *)u->cur[U_ID].text;
	size_t len = u->cur[U_ID].len;
	uint32_t h = id_hash(id, len);
	size_t slot;
	bool found;
	struct value v[U_COUNT];
	uint64_t first_line;
	if ((st = probe(u, id, len, h, &slot, &found, v, &first_line, err)) !=
	    ST_OK)
		return st;
	if (found) {
		if (u->dups++ == 0)
			note_duplicate(u, id, len, first_line, line);
		return ST_OK;
	}
	uint64_t off = u->spill_size;
	if (off + RECORD_MAX >= UINT32_MAX)
		return error_set(err, ST_INPUT,
				 "--users: more than 4 GiB of user values: split "
				 "the file");
	unsigned char at[8];
	for (int i = 0; i < 8; i++)
		at[i] = (unsigned char)(line >> (8 * i));
	if (fwrite(at, 1, 8, u->spill) != 8)
		return error_set(err, ST_IO, "--users: writing the temporary file: %s",
				 strerror(errno));
	u->spill_size += 8;
	for (int c = 0; c < U_COUNT; c++) {
		unsigned char hdr[2] = {(unsigned char)(u->cur[c].len & 0xFF),
					(unsigned char)(u->cur[c].len >> 8)};
		if (fwrite(hdr, 1, 2, u->spill) != 2 ||
		    fwrite(u->cur[c].text, 1, u->cur[c].len, u->spill) != u->cur[c].len)
			return error_set(err, ST_IO,
					 "--users: writing the temporary file: %s",
					 strerror(errno));
		u->spill_size += 2 + u->cur[c].len;
	}
	u->hash[slot] = h;
	u->off[slot] = (uint32_t)(off + 1);
	u->count++;
	return ST_OK;
}

/* ---- reading the file ------------------------------------------------------ */

static void on_field(void *ctx, size_t index, const unsigned char *s, size_t len)
{
	struct users_join *u = ctx;
	if (index >= ROSTER_MAX_COLUMNS)
		return;
	if (u->in_header) {
		char norm[NAME_KEEP + 1];
		u->colmap[index] = -1;
		u->id_rank[index] = SIZE_MAX;
		if (index == 0) {
			u->head1_len = len < NAME_KEEP ? len : NAME_KEEP;
			memcpy(u->head1, s, u->head1_len);
		}
		if (len > NAME_KEEP)
			return;
		csvread_norm_name(s, len, norm, sizeof(norm));
		const struct csvread_alias *a = csvread_alias_find(unames, norm);
		if (a) {
			u->colmap[index] = (signed char)a->kind;
			u->id_rank[index] = (size_t)(a - unames);
			if (a->kind == U_ID && (!u->id_name[0] ||
						u->id_rank[index] < u->id_name_rank)) {
				memcpy(u->id_name, s, len);
				u->id_name[len] = '\0';
				u->id_name_rank = u->id_rank[index];
			}
		}
		return;
	}
	if (index >= u->ncols && len > 0 && u->extra_col == SIZE_MAX)
		u->extra_col = index;
	if (index >= u->ncols || u->colmap[index] < 0)
		return;
	struct value *v = &u->cur[u->colmap[index]];
	if (len > ROW_VALUE_MAX && u->long_col == SIZE_MAX) {
		u->long_col = index;
		u->long_len = len;
	}
	v->len = (uint16_t)(len < ROW_VALUE_MAX ? len : ROW_VALUE_MAX);
	memcpy(v->text, s, v->len);
}

static void clear_cur(struct users_join *u)
{
	for (int c = 0; c < U_COUNT; c++)
		u->cur[c].len = 0;
	u->long_col = SIZE_MAX;
	u->extra_col = SIZE_MAX;
}

/*
 * A row is held to the roster's rules where breaking them could shift a
 * value into another column: no text after a closing quote, no non-empty
 * field past the header's, values bulkreg reads at most ROW_VALUE_MAX
 * bytes.  Such a row cannot be trusted column by column, and its user's
 * rows are decided by it: the whole file is refused (ST_INPUT, nothing
 * written) rather than that user's rows rejected while later lines take
 * the seats.  A row shorter than the header (exports leave out empty
 * trailing fields), or with empty fields past it (a trailing comma), reads
 * the missing ones as empty: nothing can shift.
 */
static enum status check_row(struct users_join *u, size_t nfields,
			     uint64_t line, struct error *err)
{
	char col[NAME_KEEP * 4 + 48];
	const char *why = "the --users file is refused; nothing was written";
	if (csvread_record_malformed(&u->cr))
		return error_set(err, ST_INPUT,
				 "%s: line %llu, column %s: text after a closing quote "
				 "(write \"\" for a quote inside a quoted value): %s",
				 u->cr.name, (unsigned long long)line,
				 csvread_column_name(&u->cr,
						     csvread_record_malformed_field(&u->cr),
						     col, sizeof(col)),
				 why);
	if (u->extra_col != SIZE_MAX)
		return error_set(err, ST_INPUT,
				 "%s: line %llu: %zu field%s, the header has %zu, "
				 "and field %zu holds a value: %s",
				 u->cr.name, (unsigned long long)line, nfields,
				 nfields == 1 ? "" : "s", u->ncols,
				 u->extra_col + 1, why);
	if (u->long_col != SIZE_MAX)
		return error_set(err, ST_INPUT,
				 "%s: line %llu, column %s: %zu bytes (limit %d): %s",
				 u->cr.name, (unsigned long long)line,
				 csvread_column_name(&u->cr, u->long_col, col,
						     sizeof(col)),
				 u->long_len, ROW_VALUE_MAX, why);
	return ST_OK;
}

/* Two columns of the header give one value: refused as the roster
 * refuses it (reading either would be a guess). */
static enum status twice_error(struct users_join *u, size_t first,
			       size_t second, struct error *err)
{
	static const char *const names[U_COUNT] = {"user id", "first_name",
						   "last_name", "email",
						   "status", "role"};
	char a[NAME_KEEP * 4 + 32], b[NAME_KEEP * 4 + 32];
	return error_set(err, ST_INPUT,
			 "%s: line %llu: the --users file's %s is in two columns, "
			 "%s and %s: keep one (nothing was written)",
			 u->cr.name, (unsigned long long)csvread_record_line(&u->cr),
			 names[u->colmap[first]],
			 csvread_column_name(&u->cr, first, a, sizeof(a)),
			 csvread_column_name(&u->cr, second, b, sizeof(b)));
}

/* Keeps one column per value.  The id: the first of the id names in
 * unames' order (sourcedId before username in OneRoster's users.csv);
 * two columns of that one name, or of any other value, are refused. */
static enum status settle_header(struct users_join *u, struct error *err)
{
	size_t best = SIZE_MAX, best_col = SIZE_MAX;
	size_t first[U_COUNT];
	for (int c = 0; c < U_COUNT; c++)
		first[c] = SIZE_MAX;
	for (size_t i = 0; i < u->ncols && i < ROSTER_MAX_COLUMNS; i++) {
		if (u->colmap[i] != U_ID)
			continue;
		if (u->id_rank[i] == best)
			return twice_error(u, best_col, i, err);
		if (u->id_rank[i] < best) {
			best = u->id_rank[i];
			best_col = i;
		}
	}
	for (size_t i = 0; i < u->ncols && i < ROSTER_MAX_COLUMNS; i++) {
		int c = u->colmap[i];
		if (c == U_ID) {
			u->colmap[i] = i == best_col ? U_ID : -1;
		} else if (c >= 0) {
			if (first[c] != SIZE_MAX)
				return twice_error(u, first[c], i, err);
			first[c] = i;
		}
	}
	return ST_OK;
}

static bool on_record(void *ctx, size_t nfields, bool blank, uint64_t line)
{
	struct users_join *u = ctx;
	if (blank) {
		clear_cur(u);
		return false;
	}
	if (u->in_header) {
		u->ncols = nfields;
		u->in_header = false;
		u->failed = settle_header(u, &u->err);
		return true;
	}
	if (u->failed == ST_OK)
		u->failed = check_row(u, nfields, line, &u->err);
	if (u->failed == ST_OK && u->cur[U_ID].len > 0)
		u->failed = add_user(u, line, &u->err);
	clear_cur(u);
	return u->failed != ST_OK;
}

static bool has_id_column(const struct users_join *u)
{
	for (size_t i = 0; i < u->ncols && i < ROSTER_MAX_COLUMNS; i++)
		if (u->colmap[i] == U_ID)
			return true;
	return false;
}

static enum status read_users(struct users_join *u, struct error *err)
{
	enum status st;
	u->cr.ctx = u;
	u->cr.on_field = on_field;
	u->cr.on_record = on_record;
	u->in_header = true;
	st = csvread_next(&u->cr, err);
	if (st == ST_EOF)
		return error_set(err, ST_INPUT, "%s: empty file (--users)", u->cr.name);
	if (st != ST_OK)
		return st;
	csvread_bom_note(&u->cr, u->bom_note, sizeof(u->bom_note));
	if (u->failed != ST_OK) {
		*err = u->err;
		return u->failed;
	}
	if (!has_id_column(u)) {
		/* A header read as one field that holds another delimiter. */
		static const struct {
			char c;
			const char *looks, *give;
		} seen[] = {
			{ ';', "';'-separated", "--delimiter ';' (or a first line sep=;)" },
			{ '\t', "tab-separated", "--delimiter tab (or a first line sep=<tab>)" },
			{ '|', "'|'-separated", "--delimiter '|' (or a first line sep=|)" },
			{ ',', "comma-separated", "it a first line sep=, (--delimiter is the roster's too)" },
		};
		char hint[160] = "";
		for (size_t i = 0; u->ncols == 1 && i < sizeof(seen) / sizeof(seen[0]); i++) {
			unsigned char d = (unsigned char)seen[i].c;
			if (d == csvread_delimiter(&u->cr) ||
			    !memchr(u->head1, d, u->head1_len))
				continue;
			snprintf(hint, sizeof(hint), "; the header looks %s: give %s",
				 seen[i].looks, seen[i].give);
			break;
		}
		return error_set(err, ST_INPUT,
				 "%s: line 1: no user id column (sourcedId, user_id, "
				 "Student_id, username or id) in the --users file%s",
				 u->cr.name, hint);
	}
	while ((st = csvread_next(&u->cr, err)) == ST_OK && u->failed == ST_OK)
		;
	if (u->failed != ST_OK) {
		*err = u->err;
		return u->failed;
	}
	if (st != ST_EOF)
		return st;
	if (fclose(u->spill) != 0) {
		u->spill = NULL;
		return error_set(err, ST_IO, "--users: writing the temporary file: %s",
				 strerror(errno));
	}
	u->spill = NULL;
	if (u->dups > 1) {
		size_t used = strlen(u->warning);
		char n[32];
		snprintf(u->warning + used, sizeof(u->warning) - used,
			 "; %s more rows repeat a user id listed before",
			 text_group_digits((int64_t)(u->dups - 1), n));
	}
	return ST_OK;
}

enum status users_join_open(const char *path, const char *encoding,
			    struct users_join **out, struct error *err)
{
	return users_join_open_delim(path, encoding, ',', out, err);
}

enum status users_join_open_delim(const char *path, const char *encoding,
				  unsigned char delimiter,
				  struct users_join **out, struct error *err)
{
	struct users_join *u = calloc(1, sizeof(*u));
	enum status st;
	*out = NULL;
	if (!u)
		return error_set(err, ST_NOMEM, "out of memory for --users");
	u->fd = -1;
	u->long_col = u->extra_col = SIZE_MAX;
	u->colmap = calloc(ROSTER_MAX_COLUMNS, sizeof(*u->colmap));
	if (!u->colmap) {
		free(u);
		return error_set(err, ST_NOMEM, "out of memory for --users");
	}
	st = csvread_open(&u->cr, path, delimiter, err);
	if (st != ST_OK) {
		free(u->colmap);
		free(u);
		return st;
	}
	u->cr.encoding_option = "--users-encoding";
	u->cr.utf8_advice = "give --users-encoding UTF-8 (without it the --users "
			    "file is read as --encoding says)";
	if ((!encoding || (st = csvread_set_encoding(&u->cr, encoding, err)) == ST_OK) &&
	    (st = spill_open(u, err)) == ST_OK && (st = grow(u, err)) == ST_OK)
		st = read_users(u, err);
	if (st == ST_OK)
		st = index_fit(u, err);
	if (st == ST_OK)
		csvread_sha256_hex(&u->cr, u->sha256);
	csvread_close(&u->cr);
	free(u->colmap);
	u->colmap = NULL;
	if (st != ST_OK) {
		users_join_close(u);
		return st;
	}
	*out = u;
	return ST_OK;
}

const char *users_join_sha256_hex(const struct users_join *u)
{
	return u->sha256;
}

const char *users_join_id_column(const struct users_join *u)
{
	return u->id_name;
}

const struct csvread_alias *users_join_names(void)
{
	return unames;
}

static void to_row_value(struct row_value *rv, const struct value *v)
{
	memcpy(rv->text, v->text, v->len);
	rv->text[v->len] = '\0';
	rv->len = v->len;
}

enum status users_join_find(struct users_join *u, const char *id, size_t len,
			    bool *found, struct user_values *out,
			    struct error *err)
{
	struct value v[U_COUNT];
	size_t slot;
	uint64_t line;
	enum status st = probe(u, id, len, id_hash(id, len), &slot, found, v,
			       &line, err);
	if (st != ST_OK || !*found)
		return st;
	to_row_value(&out->first_name, &v[U_FIRST]);
	to_row_value(&out->last_name, &v[U_LAST]);
	to_row_value(&out->email, &v[U_EMAIL]);
	to_row_value(&out->status, &v[U_STATUS]);
	to_row_value(&out->role, &v[U_ROLE]);
	out->line = line;
	return ST_OK;
}

size_t users_join_count(const struct users_join *u)
{
	return u->count;
}

const char *users_join_warning(const struct users_join *u)
{
	return u->warning[0] ? u->warning : NULL;
}

const char *users_join_bom_note(const struct users_join *u)
{
	return u->bom_note[0] ? u->bom_note : NULL;
}

size_t users_join_bytes(const struct users_join *u)
{
	return u->cap * (sizeof(*u->hash) + sizeof(*u->off));
}

void users_join_close(struct users_join *u)
{
	if (!u)
		return;
	if (u->spill)
		fclose(u->spill);
	free(u->spill_buf);
	if (u->fd >= 0)
		close(u->fd);
	free(u->hash);
	free(u->off);
	free(u->colmap);
	free(u);
}
