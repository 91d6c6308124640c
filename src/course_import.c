/* course_import: read a courses CSV -- bulkreg's own, or an export's. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "course_import.h"
#include "courses.h"
#include "csvread.h"
#include "escape.h"
#include "parse.h"
#include "validate.h"

#define VALUE_MAX 256       /* longest value kept; titles may not be longer */
#define NAME_KEEP 64        /* bytes of a header name kept for matching */
#define ARENA_BLOCK 65536
#define CSV_COLUMNS_MAX 1024 /* header names kept for matching */

enum column {
	COL_CODE, COL_TITLE, COL_CAPACITY, COL_WAITLIST,
	COL_STATUS, /* an export's: its deleted courses are left out */
	COL_COUNT
};

static const char *const column_names[COL_COUNT] = {
	"code", "title", "capacity", "waitlist", "status",
};

/* Header names in their normal form (see csvread_norm_name). */
static const struct csvread_alias aliases[] = {
	{"code", COL_CODE},         {"course", COL_CODE},
	{"course_code", COL_CODE},  {"title", COL_TITLE},
	{"name", COL_TITLE},        {"course_title", COL_TITLE},
	{"course_name", COL_TITLE}, {"capacity", COL_CAPACITY},
	{"seats", COL_CAPACITY},    {"waitlist", COL_WAITLIST},
	{"waitlist_max", COL_WAITLIST},
	{"waitlist_size", COL_WAITLIST},
	{NULL, 0},
};

/* Strings live in big blocks, freed together. */
struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	char data[];
};

struct value {
	size_t len;                 /* full length */
	char text[VALUE_MAX + 1];   /* first min(len, VALUE_MAX) bytes */
};

/* The reader's state while it goes through the file. */
struct importer {
	struct csvread cr;
	bool malformed;               /* the record had text after a quote */
	size_t malformed_field;       /* in this field (from 0) */
	struct course_import *out;
	size_t rows_alloc, problems_alloc;
	/* header */
	bool in_header;
	char (*norm)[NAME_KEEP + 1];  /* each header name's normal form */
	const struct course_import_options *opt;
	const struct format *fmt;     /* the export's, or NULL: bulkreg's */
	size_t ncols;
	int col_of[COL_COUNT];      /* column index, or -1 */
	size_t dup_first, dup_second;
	int dup_col;                /* a column named twice, or -1 */
	/* the current record */
	struct value v[COL_COUNT];
	size_t nfields;
	uint64_t line;
};

/* ---- storage ---------------------------------------------------------------- */

static char *arena_copy(struct course_import *ci, const char *s, size_t len)
{
	struct arena_block *b = ci->storage;
	if (!b || b->cap - b->used < len + 1) {
		size_t cap = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;
		struct arena_block *nb = malloc(sizeof(*nb) + cap);
		if (!nb)
			return NULL;
		nb->next = b;
		nb->used = 0;
		nb->cap = cap;
		ci->storage = b = nb;
	}
	char *p = b->data + b->used;
	memcpy(p, s, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

static bool grow(void **items, size_t *alloc, size_t count, size_t size)
{
	if (count < *alloc)
		return true;
	size_t n = *alloc ? *alloc * 2 : 32;
	void *p = realloc(*items, n * size);
	if (!p)
		return false;
	*items = p;
	*alloc = n;
	return true;
}

static enum status nomem(struct importer *im, struct error *err)
{
	return error_set(err, ST_NOMEM, "%s: out of memory", im->cr.name);
}

static enum status add_problem(struct importer *im, struct error *err,
			       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum status add_problem(struct importer *im, struct error *err,
			       const char *fmt, ...)
{
	struct course_import *ci = im->out;
	char what[ERROR_MAX], msg[ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	int n = snprintf(msg, sizeof(msg), "%s: line %llu: %s", im->cr.name,
			 (unsigned long long)im->line, what);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	void *items = ci->problems;
	if (!grow(&items, &im->problems_alloc, ci->problem_count,
		  sizeof(*ci->problems)))
		return nomem(im, err);
	ci->problems = items;
	char *copy = arena_copy(ci, msg, len);
	if (!copy)
		return nomem(im, err);
	ci->problems[ci->problem_count].line = im->line;
	ci->problems[ci->problem_count].message = copy;
	ci->problem_count++;
	return ST_OK;
}

/* ---- callbacks ------------------------------------------------------------------ */

static void set_value(struct value *v, const unsigned char *s, size_t len)
{
	size_t keep = len < VALUE_MAX ? len : VALUE_MAX;
	memcpy(v->text, s, keep);
	v->text[keep] = '\0';
	v->len = len;
}

/* The export formats of course files: which header names hold the code
 * and the title (the long name where the format has one). */
static const struct format {
	const char *name;
	const char *needs[3];       /* names the header must hold */
	const char *code, *title;
} formats[] = {
	{"canvas sections", {"section_id", "course_id", "name"}, "section_id", "name"},
	{"canvas courses", {"course_id", "long_name", NULL}, "course_id", "long_name"},
	{"oneroster classes", {"sourcedid", "title", "classcode"}, "sourcedid", "title"},
	{"oneroster classes", {"sourcedid", "title", "coursesourcedid"}, "sourcedid",
	 "title"},
	{"clever sections", {"section_id", "school_id", "name"}, "section_id", "name"},
};

static bool header_has(const struct importer *im, const char *name)
{
	for (size_t i = 0; i < im->ncols && i < CSV_COLUMNS_MAX; i++)
		if (csvread_name_eq(im->norm[i], name))
			return true;
	return false;
}

/* The export format the header is, or NULL for bulkreg's own. */
static const struct format *detect_format(const struct importer *im)
{
	for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
		bool all = true;
		for (size_t k = 0; k < 3 && formats[f].needs[k]; k++)
			all = all && header_has(im, formats[f].needs[k]);
		if (all)
			return &formats[f];
	}
	return NULL;
}

/* The column a header name stands for, or -1: --map first. */
static int column_for_name(const struct course_import_options *opt,
			   const struct format *fmt, const char *norm)
{
	int mapped = csvread_map_kind(&opt->map, norm);
	if (mapped >= 0)
		return mapped;
	if (fmt) {
		if (csvread_name_eq(norm, fmt->code))
			return COL_CODE;
		if (csvread_name_eq(norm, fmt->title))
			return COL_TITLE;
		if (csvread_name_eq(norm, "capacity") || csvread_name_eq(norm, "seats"))
			return COL_CAPACITY;
		if (csvread_name_eq(norm, "waitlist"))
			return COL_WAITLIST;
		if (csvread_name_eq(norm, "status"))
			return COL_STATUS;
		return -1;
	}
	const struct csvread_alias *a = csvread_alias_find(aliases, norm);
	return a ? a->kind : -1;
}

static void on_field(void *ctx, size_t index, const unsigned char *s, size_t len)
{
	struct importer *im = ctx;

	if (im->in_header) {
		if (index < CSV_COLUMNS_MAX) {
			im->norm[index][0] = '\0';
			if (len <= NAME_KEEP)
				csvread_norm_name(s, len, im->norm[index],
						  NAME_KEEP + 1);
		}
		return;
	}
	for (int c = 0; c < COL_COUNT; c++)
		if (im->col_of[c] >= 0 && (size_t)im->col_of[c] == index)
			set_value(&im->v[c], s, len);
}

static void clear_record(struct importer *im)
{
	for (int c = 0; c < COL_COUNT; c++) {
		im->v[c].len = 0;
		im->v[c].text[0] = '\0';
	}
}

static bool on_record(void *ctx, size_t nfields, bool blank, uint64_t line)
{
	struct importer *im = ctx;

	if (blank) {
		clear_record(im);
		return false;
	}
	im->nfields = nfields;
	im->line = line;
	im->malformed = csvread_record_malformed(&im->cr);
	im->malformed_field = csvread_record_malformed_field(&im->cr);
	return true;
}

/* ---- the header ----------------------------------------------------------------- */

/* Gives each column its meaning (the format decides the names). */
static void map_header(struct importer *im)
{
	const struct format *fmt = detect_format(im);
	im->fmt = fmt;
	im->out->format = fmt ? fmt->name : "bulkreg";
	im->out->code_name = fmt ? fmt->code : "code";
	for (size_t i = 0; i < im->ncols && i < CSV_COLUMNS_MAX; i++) {
		int col = column_for_name(im->opt, fmt, im->norm[i]);
		if (col < 0)
			continue; /* other columns are ignored */
		if (im->col_of[col] >= 0) {
			if (im->dup_col < 0) {
				im->dup_col = col;
				im->dup_first = (size_t)im->col_of[col];
				im->dup_second = i;
			}
			continue;
		}
		im->col_of[col] = (int)i;
	}
}

static enum status check_header(struct importer *im, struct error *err)
{
	const char *name = im->cr.name;
	unsigned long long line = (unsigned long long)im->line;

	im->ncols = im->nfields;
	map_header(im);

	if (im->dup_col >= 0)
		return error_set(err, ST_INPUT,
				 "%s: line %llu: column '%s' appears twice (columns "
				 "%zu and %zu)",
				 name, line, column_names[im->dup_col],
				 im->dup_first + 1, im->dup_second + 1);
	if (im->col_of[COL_CODE] < 0)
		return error_set(err, ST_INPUT,
				 "%s: line %llu: missing required column 'code' (a "
				 "courses file has code,title,capacity[,waitlist], "
				 "or is a Canvas courses.csv or sections.csv, a "
				 "OneRoster classes.csv or a Clever sections.csv)",
				 name, line);
	im->out->has_capacity = im->col_of[COL_CAPACITY] >= 0;
	/* A roster given here by mistake: its course column reads as codes,
	 * so the advice to add --capacity would create a course for each
	 * (review 23 F08). */
	if (!im->out->has_capacity && !im->opt->has_capacity &&
	    header_has(im, "student_id"))
		return error_set(err, ST_INPUT,
				 "%s: line %llu: no capacity column, and a "
				 "student_id column: this looks like a roster "
				 "(did you mean 'bulkreg register %s'?); a courses "
				 "file has code,title,capacity[,waitlist]",
				 name, line, name);
	if (!im->out->has_capacity && !im->opt->has_capacity)
		return error_set(err, ST_INPUT,
				 "%s: line %llu: no capacity column: give --capacity N "
				 "(and --waitlist N) for the courses it creates",
				 name, line);
	return ST_OK;
}

/* ---- one course ------------------------------------------------------------------- */

/* Parses a whole number in 0..COURSE_CAPACITY_MAX; on false, *why says
 * what is wrong with it. */
_Static_assert(COURSE_CAPACITY_MAX == 1000000, "parse_count's message");
static bool parse_count(const struct value *v, int64_t *out, const char **why)
{
	if (v->len > VALUE_MAX) {
		*why = "is not a whole number";
		return false;
	}
	/* A spreadsheet may write "+5": the sign is all that is allowed
	 * beyond what parse_int64_n takes. */
	size_t plus = v->len > 1 && v->text[0] == '+' && v->text[1] != '-';
	int64_t n;
	switch (parse_int64_n(v->text + plus, v->len - plus, 0,
			      COURSE_CAPACITY_MAX, &n)) {
	case PARSE_OK:
		*out = n;
		return true;
	case PARSE_RANGE:
		*why = "is out of range (0 to 1,000,000)";
		return false;
	case PARSE_SYNTAX:
		break;
	}
	*why = "is not a whole number";
	return false;
}

/* Whether v is s, ASCII case ignored. */
static bool value_is(const struct value *v, const char *s)
{
	return v->len == strlen(s) && strncasecmp(v->text, s, v->len) == 0;
}

/* A field as a message names it: "code (column 2 ('course_id'))", the
 * file's own name for it included. */
static const char *field_label(const struct importer *im, int col, char *buf,
			       size_t cap)
{
	char name[160];
	csvread_column_name(&im->cr, (size_t)im->col_of[col], name,
			    sizeof(name));
	snprintf(buf, cap, "%s (column %s)", column_names[col], name);
	return buf;
}

/* The value quoted for a message: at most 40 bytes, control bytes escaped. */
static const char *quoted(const struct value *v, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	esc_quote(buf, cap, &used, (const char *)v->text,
			   v->len < VALUE_MAX ? v->len : VALUE_MAX, 40);
	return buf;
}

static const struct course_import_row *find_code(const struct course_import *ci,
						 const char *code)
{
	/* Course files are small: a linear scan keeps this simple. */
	for (size_t i = 0; i < ci->count; i++)
		if (strcmp(ci->rows[i].input.code, code) == 0)
			return &ci->rows[i];
	return NULL;
}

static enum status take_record(struct importer *im, struct error *err)
{
	struct course_import *ci = im->out;
	struct course_input in = {0};
	const struct course_import_row *first;
	const char *why;
	char shown[256];

	if (im->nfields != im->ncols)
		return add_problem(im, err, "%zu field%s, the header has %zu",
				   im->nfields, im->nfields == 1 ? "" : "s", im->ncols);
	if (im->malformed)
		return add_problem(im, err,
				   "column %s: text after a closing quote (write "
				   "\"\" for a quote inside a quoted value)",
				   csvread_column_name(&im->cr, im->malformed_field,
						       shown, sizeof(shown)));

	const struct value *code = &im->v[COL_CODE];
	if (im->fmt && im->col_of[COL_STATUS] >= 0 &&
	    (value_is(&im->v[COL_STATUS], "deleted") ||
	     value_is(&im->v[COL_STATUS], "tobedeleted"))) {
		/* Canvas's deleted and OneRoster's tobedeleted: the export
		 * keeps them, the registrar has no use for them. */
		ci->skipped_deleted++;
		return ST_OK;
	}
	if (code->len == 0 && im->fmt) {
		/* A course made in the LMS by hand (a sandbox) has no SIS id
		 * in a Canvas provisioning report: not one to register into. */
		if (!ci->skipped_no_code++)
			ci->first_no_code_line = im->line;
		return ST_OK;
	}
	if (code->len == 0)
		return add_problem(im, err, "%s is empty",
				   field_label(im, COL_CODE, shown,
					       sizeof(shown)));
	if (!id_valid(code->text, code->len))
		return add_problem(im, err,
				   "code: %s is not a course code (1 to 255 bytes, "
				   "no control or invisible characters, no space "
				   "at either end)",
				   quoted(code, shown, sizeof(shown)));
	if ((first = find_code(ci, code->text)))
		return add_problem(im, err,
				   "course '%s' is listed twice (first on line %llu)",
				   code->text, (unsigned long long)first->line);

	const struct value *title = &im->v[COL_TITLE];
	if (title->len > VALUE_MAX)
		return add_problem(im, err, "title is %zu bytes (limit %d)",
				   title->len, VALUE_MAX);

	const struct value *cap = &im->v[COL_CAPACITY];
	in.waitlist_max = WAITLIST_UNLIMITED;
	if (!ci->has_capacity) {
		/* --capacity and --waitlist: for new courses (the caller keeps
		 * an existing course's). */
		in.capacity = im->opt->capacity;
		in.has_waitlist = im->opt->has_waitlist;
		in.waitlist_max = im->opt->waitlist_max;
	} else if (cap->len == 0) {
		return add_problem(im, err, "capacity is empty");
	} else if (!parse_count(cap, &in.capacity, &why)) {
		return add_problem(im, err, "capacity: %s %s",
				   quoted(cap, shown, sizeof(shown)), why);
	}

	if (im->col_of[COL_WAITLIST] >= 0) {
		const struct value *wl = &im->v[COL_WAITLIST];
		in.has_waitlist = true;
		/* Empty or "unlimited" (any case, as course add --waitlist
		 * takes it): no limit. */
		bool unlimited = wl->len == 9 &&
				 strncasecmp(wl->text, "unlimited", 9) == 0;
		if (wl->len > 0 && !unlimited &&
		    !parse_count(wl, &in.waitlist_max, &why))
			return add_problem(im, err, "waitlist: %s %s (or empty, or "
					   "'unlimited', for no limit)",
					   quoted(wl, shown, sizeof(shown)), why);
	}

	void *items = ci->rows;
	if (!grow(&items, &im->rows_alloc, ci->count, sizeof(*ci->rows)))
		return nomem(im, err);
	ci->rows = items;
	in.code = arena_copy(ci, code->text, code->len);
	if (im->col_of[COL_TITLE] >= 0 && title->len > 0)
		in.title = arena_copy(ci, title->text, title->len);
	if (!in.code || (im->col_of[COL_TITLE] >= 0 && title->len > 0 && !in.title))
		return nomem(im, err);
	ci->rows[ci->count].line = im->line;
	ci->rows[ci->count].input = in;
	ci->count++;
	return ST_OK;
}

/* ---- reading ------------------------------------------------------------------------ */

static enum status read_all(struct importer *im, struct error *err)
{
	enum status st;

	im->in_header = true;
	st = csvread_next(&im->cr, err);
	if (st == ST_EOF)
		return error_set(err, ST_INPUT, "%s: %s", im->cr.name,
				 csvread_payload_bytes(&im->cr) == 0
					 ? "empty file"
					 : "no header line");
	if (st != ST_OK || (st = check_header(im, err)) != ST_OK)
		return st;
	im->in_header = false;
	clear_record(im);
	while ((st = csvread_next(&im->cr, err)) == ST_OK) {
		st = take_record(im, err);
		clear_record(im);
		if (st != ST_OK)
			return st;
	}
	return st == ST_EOF ? ST_OK : st;
}

enum status course_import_read(const char *path,
			       const struct course_import_options *opt,
			       struct course_import *out, struct error *err)
{
	static const struct course_import_options none = {0};
	struct importer *im;
	enum status st;

	memset(out, 0, sizeof(*out));
	im = calloc(1, sizeof(*im));
	if (im)
		im->norm = calloc(CSV_COLUMNS_MAX, sizeof(*im->norm));
	if (!im || !im->norm) {
		free(im);
		return error_set(err, ST_NOMEM, "%s: out of memory", path);
	}
	im->opt = opt ? opt : &none;
	st = csvread_open(&im->cr, path, ',', err);
	if (st == ST_OK && im->opt->encoding &&
	    (st = csvread_set_encoding(&im->cr, im->opt->encoding, err)) != ST_OK)
		csvread_close(&im->cr);
	if (st != ST_OK) {
		free(im->norm);
		free(im);
		return st;
	}
	im->out = out;
	im->dup_col = -1;
	for (int c = 0; c < COL_COUNT; c++)
		im->col_of[c] = -1;
	im->cr.nothing_done = "nothing was imported";
	im->cr.archive_advice = "its course file: bulkreg course import "
				"courses.csv (or classes.csv, sections.csv)";
	im->cr.on_field = on_field;
	im->cr.on_record = on_record;
	im->cr.ctx = im;
	st = read_all(im, err);
	csvread_close(&im->cr);
	free(im->norm);
	free(im);
	if (st != ST_OK)
		course_import_free(out);
	return st;
}

/* --map's fields of a courses file. */
static const struct csvread_alias map_fields[] = {
	{"code", COL_CODE},         {"title", COL_TITLE},
	{"capacity", COL_CAPACITY}, {"waitlist", COL_WAITLIST},
	{NULL, 0},
};

enum status course_import_map_parse(const char *spec,
				    struct course_import_options *opt,
				    struct error *err)
{
	return csvread_map_add(spec, map_fields, " of a courses file",
				 &opt->map, err);
}

void course_import_free(struct course_import *ci)
{
	struct arena_block *b = ci->storage;
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	free(ci->rows);
	free(ci->problems);
	memset(ci, 0, sizeof(*ci));
}
