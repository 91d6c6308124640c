/* roster: streams a roster CSV, header first, then one row per call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvread.h"
#include "roster.h"
#include "utf8.h"

_Static_assert(ROSTER_FIELD_HARD_MAX == CSVREAD_FIELD_MAX,
	       "the roster's field bound is csvread's");
_Static_assert(FIELD_COUNT <= 8, "fields are kept in a signed char map");

#define NAME_KEEP 64        /* bytes of each header name kept for matching */
#define NAME_SHOW 40        /* bytes of a name shown in a message */
#define NAMES_LISTED 20     /* names listed before "and N more" */
#define MAX_WARNINGS 2

/* One header column, as read. */
struct header_col {
	unsigned char name[NAME_KEEP]; /* first bytes of the trimmed name */
	size_t len;                    /* its full length */
	uint64_t hash;                 /* of its whole normal form */
	bool bad_utf8;
	bool bad_nul;                  /* the first bad byte is a NUL */
	bool utf16;                    /* every other byte is a NUL */
	size_t bad_offset;
	int field;                     /* enum row_field, or -1 */
};

struct roster_reader {
	struct csvread cr;
	size_t ncols;                          /* columns in the header */
	signed char map[ROSTER_MAX_COLUMNS];   /* column -> field, or -1 */
	struct row *row;                       /* being filled by roster_next */
	bool has_override;
	struct row_value override;             /* --course, as a course value */
	enum row_action action;                /* every row's (roster_options) */

	/* While reading the header. */
	struct header_col *cols;
	uint64_t header_line;
	bool too_many_columns;                 /* more than ROSTER_MAX_COLUMNS */

	char warnings[MAX_WARNINGS][ERROR_MAX];
	size_t nwarnings;
};

/* Header names in their normal form (see csvread_norm_name). */
static const struct alias {
	const char *name;
	enum row_field field;
} aliases[] = {
	{"student_id", FIELD_STUDENT_ID},  {"id", FIELD_STUDENT_ID},
	{"student", FIELD_STUDENT_ID},     {"sourcedid", FIELD_STUDENT_ID},
	{"sourced_id", FIELD_STUDENT_ID},  {"usersourcedid", FIELD_STUDENT_ID},
	{"user_sourced_id", FIELD_STUDENT_ID},
	{"first_name", FIELD_FIRST_NAME},  {"givenname", FIELD_FIRST_NAME},
	{"given_name", FIELD_FIRST_NAME},  {"first", FIELD_FIRST_NAME},
	{"last_name", FIELD_LAST_NAME},    {"familyname", FIELD_LAST_NAME},
	{"family_name", FIELD_LAST_NAME},  {"last", FIELD_LAST_NAME},
	{"surname", FIELD_LAST_NAME},
	{"email", FIELD_EMAIL},            {"e_mail", FIELD_EMAIL},
	{"mail", FIELD_EMAIL},
	{"course", FIELD_COURSE},          {"course_code", FIELD_COURSE},
	{"class", FIELD_COURSE},           {"classsourcedid", FIELD_COURSE},
	{"class_sourced_id", FIELD_COURSE},
};

/* ---- values -------------------------------------------------------------- */

static void set_value(struct row_value *v, const unsigned char *s, size_t len)
{
	size_t keep = len < ROW_VALUE_MAX ? len : ROW_VALUE_MAX;
	memcpy(v->text, s, keep);
	v->text[keep] = '\0';
	v->len = (uint32_t)len; /* len <= ROSTER_FIELD_HARD_MAX */
	/* Only the reader sees the bytes past the kept prefix. */
	v->long_bad_utf8 = len > ROW_VALUE_MAX && !utf8_valid(s, len, NULL);
}

static void clear_values(struct row *row)
{
	row->nfields = 0;
	row->present = 0;
	for (int f = 0; f < FIELD_COUNT; f++) {
		row->v[f].len = 0;
		row->v[f].long_bad_utf8 = false;
		row->v[f].text[0] = '\0';
	}
}

/* ---- data rows ------------------------------------------------------------ */

static void data_field(void *ctx, size_t index, const unsigned char *s,
		       size_t len)
{
	struct roster_reader *r = ctx;
	if (index >= r->ncols || r->map[index] < 0)
		return;
	int f = r->map[index];
	set_value(&r->row->v[f], s, len);
	r->row->present |= 1u << f;
}

static bool data_record(void *ctx, size_t nfields, bool blank, uint64_t line)
{
	struct roster_reader *r = ctx;
	struct row *row = r->row;

	if (blank) {
		clear_values(row);
		return false;
	}
	row->line = line;
	row->action = r->action;
	row->nfields = nfields > UINT32_MAX ? UINT32_MAX : (uint32_t)nfields;
	if (r->has_override) {
		row->v[FIELD_COURSE] = r->override;
		row->present |= 1u << FIELD_COURSE;
	}
	return true;
}

enum status roster_next(struct roster_reader *r, struct row *row,
			struct error *err)
{
	clear_values(row);
	row->line = 0;
	row_reset_outcome(row);
	r->row = row;
	enum status st = csvread_next(&r->cr, err);
	r->row = NULL;
	return st;
}

/* ---- the header ------------------------------------------------------------ */

/* True if s[0..len) looks like ASCII in UTF-16 (without its BOM): NUL at
 * every odd, or every even, offset of its first bytes, and only there. */
static bool looks_utf16(const unsigned char *s, size_t len)
{
	size_t n = (len < NAME_KEEP ? len : NAME_KEEP) & ~(size_t)1;
	if (n < 2)
		return false;
	for (size_t odd = 0; odd < 2; odd++) {
		size_t i = 0;
		while (i < n && (s[i] == 0) == (i % 2 == odd))
			i++;
		if (i == n)
			return true;
	}
	return false;
}

static void header_field(void *ctx, size_t index, const unsigned char *s,
			 size_t len)
{
	struct roster_reader *r = ctx;
	if (index >= ROSTER_MAX_COLUMNS) {
		/* Refused at once: the rest of the line need not be read
		 * (it might never end). */
		if (!r->too_many_columns) {
			r->too_many_columns = true;
			r->header_line = csvread_record_line(&r->cr);
			csvread_pause(&r->cr);
		}
		return;
	}
	struct header_col *c = &r->cols[index];
	memcpy(c->name, s, len < NAME_KEEP ? len : NAME_KEEP);
	c->len = len;
	c->hash = csvread_name_hash(s, len);
	c->bad_utf8 = !utf8_valid(s, len, &c->bad_offset);
	c->bad_nul = c->bad_utf8 && s[c->bad_offset] == '\0';
	c->utf16 = c->bad_nul && looks_utf16(s, len);
	c->field = -1;
}

static bool header_record(void *ctx, size_t nfields, bool blank, uint64_t line)
{
	struct roster_reader *r = ctx;
	if (r->too_many_columns)
		return true;
	if (blank)
		return false;
	r->ncols = nfields;
	r->header_line = line;
	return true;
}

static int field_for_name(const struct header_col *c)
{
	char norm[NAME_KEEP + 1];
	if (c->len > NAME_KEEP)
		return -1;
	csvread_norm_name(c->name, c->len, norm, sizeof(norm));
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(norm, aliases[i].name) == 0)
			return (int)aliases[i].field;
	return -1;
}

static bool same_name(const struct header_col *a, const struct header_col *b)
{
	char na[NAME_KEEP + 1], nb[NAME_KEEP + 1];
	if (a->len != b->len || a->hash != b->hash)
		return false;
	size_t n = a->len < NAME_KEEP ? a->len : NAME_KEEP;
	csvread_norm_name(a->name, n, na, sizeof(na));
	csvread_norm_name(b->name, n, nb, sizeof(nb));
	return strcmp(na, nb) == 0; /* past NAME_KEEP the hash decides */
}

static void quote_col(char *out, size_t cap, size_t *used,
		      const struct header_col *c)
{
	size_t len = c->len < NAME_KEEP ? c->len : NAME_KEEP;
	csvread_quote_name(out, cap, used, c->name, len, NAME_SHOW);
}

static void append_text(char *out, size_t cap, size_t *used, const char *s)
{
	size_t n = strlen(s);
	if (*used + 1 >= cap)
		return;
	if (n > cap - 1 - *used)
		n = cap - 1 - *used;
	memcpy(out + *used, s, n);
	*used += n;
	out[*used] = '\0';
}

/* "'a', 'b', and 3 more" over the columns for which `pick` is true. */
static void list_columns(char *out, size_t cap, size_t *used,
			 const struct roster_reader *r,
			 bool (*pick)(const struct roster_reader *, size_t))
{
	size_t listed = 0, skipped = 0;
	for (size_t i = 0; i < r->ncols; i++) {
		if (!pick(r, i))
			continue;
		if (listed == NAMES_LISTED) {
			skipped++;
			continue;
		}
		if (listed++ > 0)
			append_text(out, cap, used, ", ");
		quote_col(out, cap, used, &r->cols[i]);
	}
	if (skipped > 0) {
		char more[48];
		snprintf(more, sizeof(more), " and %zu more", skipped);
		append_text(out, cap, used, more);
	}
}

static bool pick_any(const struct roster_reader *r, size_t i)
{
	(void)r;
	(void)i;
	return true;
}

static bool pick_unknown(const struct roster_reader *r, size_t i)
{
	return r->cols[i].field < 0;
}

static enum status check_columns(struct roster_reader *r, struct error *err)
{
	const char *name = r->cr.name;
	unsigned long long line = (unsigned long long)r->header_line;

	if (r->too_many_columns || r->ncols > ROSTER_MAX_COLUMNS)
		return error_set(err, ST_INPUT,
				 "%s: line %llu: the header has more than %d "
				 "columns (column %d is past the limit)",
				 name, line, ROSTER_MAX_COLUMNS,
				 ROSTER_MAX_COLUMNS + 1);
	for (size_t i = 0; i < r->ncols; i++) {
		const struct header_col *c = &r->cols[i];
		if (c->utf16)
			return error_set(err, ST_INPUT,
					 "%s: line %llu: column %zu: the name "
					 "holds NUL bytes (from byte %zu): the file "
					 "looks like UTF-16 text, and a roster must "
					 "be UTF-8: convert it first, e.g. with "
					 "iconv -f UTF-16LE -t UTF-8",
					 name, line, i + 1, c->bad_offset + 1);
		if (c->bad_nul)
			return error_set(err, ST_INPUT,
					 "%s: line %llu: column %zu: the name "
					 "holds a NUL byte (at byte %zu): a roster "
					 "is UTF-8 text",
					 name, line, i + 1, c->bad_offset + 1);
		if (c->bad_utf8)
			return error_set(err, ST_INPUT,
					 "%s: line %llu: column %zu: the name is "
					 "not valid UTF-8 (at byte %zu)",
					 name, line, i + 1, c->bad_offset + 1);
	}
	return ST_OK;
}

static enum status duplicate_error(struct roster_reader *r, size_t first,
				   size_t second, struct error *err)
{
	char what[ERROR_MAX];
	size_t used = 0;
	const struct header_col *a = &r->cols[first], *b = &r->cols[second];

	what[0] = '\0';
	if (a->field >= 0) {
		append_text(what, sizeof(what), &used, "'");
		append_text(what, sizeof(what), &used, row_field_name(a->field));
		append_text(what, sizeof(what), &used, "'");
	} else {
		quote_col(what, sizeof(what), &used, a);
	}
	char names[ERROR_MAX];
	size_t nused = 0;
	names[0] = '\0';
	if (a->len != b->len || memcmp(a->name, b->name, a->len < NAME_KEEP ?
							  a->len : NAME_KEEP) != 0) {
		append_text(names, sizeof(names), &nused, ": ");
		quote_col(names, sizeof(names), &nused, a);
		append_text(names, sizeof(names), &nused, " and ");
		quote_col(names, sizeof(names), &nused, b);
	}
	return error_set(err, ST_INPUT,
			 "%s: line %llu: column %s appears twice (columns %zu "
			 "and %zu%s)",
			 r->cr.name, (unsigned long long)r->header_line, what,
			 first + 1, second + 1, names);
}

/* Gives each column its field; refuses a field or a name given twice. */
static enum status map_columns(struct roster_reader *r, struct error *err)
{
	size_t field_col[FIELD_COUNT];

	for (int f = 0; f < FIELD_COUNT; f++)
		field_col[f] = SIZE_MAX;
	for (size_t i = 0; i < r->ncols; i++) {
		struct header_col *c = &r->cols[i];
		c->field = field_for_name(c);
		if (c->field >= 0) {
			if (field_col[c->field] != SIZE_MAX)
				return duplicate_error(r, field_col[c->field], i, err);
			field_col[c->field] = i;
			continue;
		}
		if (c->len == 0)
			continue;
		for (size_t j = 0; j < i; j++)
			if (r->cols[j].field < 0 && same_name(&r->cols[j], c))
				return duplicate_error(r, j, i, err);
	}
	return ST_OK;
}

/* A header read as one column that holds another delimiter is almost
 * always a roster exported with ';' (Excel in many locales), tabs or '|'. */
static const char *delimiter_hint(const struct roster_reader *r)
{
	static const struct {
		char c;
		const char *hint;
	} seen[] = {
		{ ';', "; the header looks ';'-separated: try --delimiter ';'" },
		{ '\t', "; the header looks tab-separated: try --delimiter tab" },
		{ '|', "; the header looks '|'-separated: try --delimiter '|'" },
		{ ',', "; the header looks comma-separated: try --delimiter ','" },
	};
	if (r->ncols != 1)
		return "";
	const struct header_col *c = &r->cols[0];
	size_t n = c->len < sizeof(c->name) ? c->len : sizeof(c->name);
	for (size_t i = 0; i < sizeof(seen) / sizeof(seen[0]); i++)
		if (memchr(c->name, seen[i].c, n))
			return seen[i].hint;
	return "";
}

static enum status check_required(struct roster_reader *r, bool need_course,
				  bool need_email, struct error *err)
{
	static const enum row_field required[] = {FIELD_STUDENT_ID, FIELD_EMAIL,
						  FIELD_COURSE};
	bool have[FIELD_COUNT] = {false};
	char missing[256];
	size_t used = 0, nmissing = 0;

	for (size_t i = 0; i < r->ncols; i++)
		if (r->cols[i].field >= 0)
			have[r->cols[i].field] = true;
	missing[0] = '\0';
	for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++) {
		enum row_field f = required[k];
		if (have[f] || (f == FIELD_COURSE && !need_course) ||
		    (f == FIELD_EMAIL && !need_email))
			continue;
		append_text(missing, sizeof(missing), &used, nmissing++ ? ", '" : "'");
		append_text(missing, sizeof(missing), &used, row_field_name(f));
		append_text(missing, sizeof(missing), &used, "'");
	}
	if (nmissing == 0)
		return ST_OK;

	char found[ERROR_MAX];
	size_t fused = 0;
	found[0] = '\0';
	list_columns(found, sizeof(found), &fused, r, pick_any);
	return error_set(err, ST_INPUT,
			 "%s: line %llu: missing required column%s %s (columns "
			 "found: %s)%s",
			 r->cr.name, (unsigned long long)r->header_line,
			 nmissing > 1 ? "s" : "", missing, found,
			 delimiter_hint(r));
}

static void add_warning(struct roster_reader *r, const char *text)
{
	if (r->nwarnings < MAX_WARNINGS)
		snprintf(r->warnings[r->nwarnings++], ERROR_MAX, "%s", text);
}

static void warn_unknown(struct roster_reader *r)
{
	char msg[ERROR_MAX];
	size_t used = 0, count = 0;

	for (size_t i = 0; i < r->ncols; i++)
		count += r->cols[i].field < 0;
	if (count == 0)
		return;
	snprintf(msg, sizeof(msg), "%s: ignoring unknown column%s: ", r->cr.name,
		 count > 1 ? "s" : "");
	used = strlen(msg);
	list_columns(msg, sizeof(msg), &used, r, pick_unknown);
	add_warning(r, msg);
}

static void warn_override(struct roster_reader *r, const char *code)
{
	char msg[ERROR_MAX];
	size_t used;

	for (size_t i = 0; i < r->ncols; i++) {
		if (r->cols[i].field != FIELD_COURSE)
			continue;
		snprintf(msg, sizeof(msg), "%s: ignoring the course column ",
			 r->cr.name);
		used = strlen(msg);
		quote_col(msg, sizeof(msg), &used, &r->cols[i]);
		char col[64];
		snprintf(col, sizeof(col), " (column %zu): every row goes to ", i + 1);
		append_text(msg, sizeof(msg), &used, col);
		csvread_quote_name(msg, sizeof(msg), &used,
				   (const unsigned char *)code, strlen(code),
				   NAME_SHOW);
		append_text(msg, sizeof(msg), &used, " (--course)");
		add_warning(r, msg);
		r->map[i] = -1;
	}
}

static enum status read_header(struct roster_reader *r,
			       const struct roster_options *opts,
			       struct error *err)
{
	enum status st;

	r->cols = calloc(ROSTER_MAX_COLUMNS, sizeof(*r->cols));
	if (!r->cols)
		return error_set(err, ST_NOMEM, "%s: out of memory", r->cr.name);
	r->cr.on_field = header_field;
	r->cr.on_record = header_record;
	st = csvread_next(&r->cr, err);
	if (st == ST_EOF)
		return error_set(err, ST_INPUT, "%s: %s", r->cr.name,
				 csvread_payload_bytes(&r->cr) > 0 ? "no header line"
				 : r->cr.bom ? "empty file (only a byte order mark)"
					     : "empty file");
	if (st != ST_OK)
		return st;
	if ((st = check_columns(r, err)) != ST_OK ||
	    (st = map_columns(r, err)) != ST_OK ||
	    (st = check_required(r, !opts->course_override,
				 opts->action == ROW_ENROL, err)) != ST_OK)
		return st;
	for (size_t i = 0; i < r->ncols; i++)
		r->map[i] = (signed char)r->cols[i].field;
	warn_unknown(r);
	if (opts->course_override)
		warn_override(r, opts->course_override);
	return ST_OK;
}

/* ---- opening and closing ---------------------------------------------------- */

static bool delimiter_ok(unsigned char d)
{
	return d == ',' || d == ';' || d == '\t' || d == '|';
}

enum status roster_open(const char *path, const struct roster_options *opts,
			struct roster_reader **out, struct error *err)
{
	struct roster_reader *r;
	enum status st;

	*out = NULL;
	if (!delimiter_ok(opts->delimiter))
		return error_set(err, ST_USAGE, "unsupported delimiter 0x%02X",
				 opts->delimiter);
	r = calloc(1, sizeof(*r));
	if (!r)
		return error_set(err, ST_NOMEM, "%s: out of memory", path);
	st = csvread_open(&r->cr, path, opts->delimiter, err);
	if (st != ST_OK) {
		free(r);
		return st;
	}
	r->cr.ctx = r;
	r->action = opts->action;
	r->cr.cancelled = opts->cancelled;
	r->cr.cancel_ctx = opts->cancel_ctx;
	if (opts->course_override) {
		const char *code = opts->course_override;
		r->has_override = true;
		set_value(&r->override, (const unsigned char *)code, strlen(code));
	}
	st = read_header(r, opts, err);
	free(r->cols);
	r->cols = NULL;
	if (st != ST_OK) {
		roster_close(r);
		return st;
	}
	r->cr.on_field = data_field;
	r->cr.on_record = data_record;
	*out = r;
	return ST_OK;
}

void roster_close(struct roster_reader *r)
{
	if (!r)
		return;
	csvread_close(&r->cr);
	free(r->cols);
	free(r);
}

size_t roster_warning_count(const struct roster_reader *r)
{
	return r->nwarnings;
}

const char *roster_warning(const struct roster_reader *r, size_t i)
{
	return i < r->nwarnings ? r->warnings[i] : NULL;
}

size_t roster_columns(const struct roster_reader *r)
{
	return r->ncols;
}

const char *roster_name(const struct roster_reader *r)
{
	return r->cr.name;
}

void roster_sha256_hex(const struct roster_reader *r, char hex[65])
{
	csvread_sha256_hex(&r->cr, hex);
}

uint64_t roster_bytes_read(const struct roster_reader *r)
{
	return r->cr.bytes;
}
