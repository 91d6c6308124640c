/* csvread: libcsv set up for bulkreg's input files; see csvread.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csvread.h"
#include "utf8.h"

_Static_assert(CSVREAD_BUF_SIZE >= 8, "the first read looks at 4 bytes");

#define CSV_OPTIONS (CSV_STRICT | CSV_REPALL_NL | CSV_STRICT_FINI | CSV_APPEND_NULL)

/*
 * libcsv's entry buffer may hold a field, its closing quote and the NUL
 * CSV_APPEND_NULL adds; it also asks for one more byte before it looks at
 * the character that ends the field.  Past this, bounded_realloc refuses.
 */
#define ENTRY_LIMIT ((size_t)CSVREAD_FIELD_MAX + 3)

/* An entry buffer bigger than this is released between records, so one
 * huge field does not pin its memory for the rest of the file. */
#define ENTRY_KEEP ((size_t)1 << 20)

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

static void *bounded_realloc(void *p, size_t n)
{
	if (n > ENTRY_LIMIT)
		return NULL;
	return realloc(p, n);
}

/* With a tab delimiter only ' ' may be dropped around fields, or libcsv
 * would eat the tabs of empty fields. */
static int space_only(unsigned char c)
{
	return c == ' ';
}

static bool is_blank_byte(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* strerror text with a lowercase first letter, to follow "path: ". */
static const char *errno_text(int errnum, char *buf, size_t cap)
{
	if (strerror_r(errnum, buf, cap) != 0)
		snprintf(buf, cap, "error %d", errnum);
	if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/* ---- handing fields and records to the client ---------------------------- */

static void emit_field(struct csvread *cr, const unsigned char *s, size_t len)
{
	/* libcsv's bounded buffer stops most fields past the cap; this is the
	 * exact bound (an unquoted field may get a byte or two further). */
	if (len > CSVREAD_FIELD_MAX || cr->too_long) {
		cr->too_long = true;
		return;
	}
	while (len > 0 && is_blank_byte(s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_blank_byte(s[len - 1]))
		len--;
	if (cr->nfields == 0)
		cr->first_empty = len == 0;
	cr->on_field(cr->ctx, cr->nfields, s, len);
	cr->nfields++;
}

static void emit_record(struct csvread *cr)
{
	bool blank = cr->nfields == 0 || (cr->nfields == 1 && cr->first_empty);
	if (!cr->too_long &&
	    cr->on_record(cr->ctx, cr->nfields, blank, cr->record_line))
		cr->stop = true;
	cr->nfields = 0;
	cr->row_ended = true;
}

static void field_cb(void *s, size_t len, void *ctx)
{
	emit_field(ctx, s, len);
}

static void record_cb(int c, void *ctx)
{
	(void)c;
	emit_record(ctx);
}

/* A complete line holding no quote character: split it on the delimiter.
 * Without quotes libcsv cannot fail and yields exactly these fields. */
static void split_line(struct csvread *cr, const unsigned char *s, size_t len)
{
	const unsigned char *end = s + len;
	for (;;) {
		const unsigned char *d = memchr(s, cr->delim, (size_t)(end - s));
		if (!d) {
			emit_field(cr, s, (size_t)(end - s));
			break;
		}
		emit_field(cr, s, (size_t)(d - s));
		s = d + 1;
	}
	emit_record(cr);
}

/* ---- reading ------------------------------------------------------------- */

static enum status read_some(struct csvread *cr, unsigned char *dst, size_t cap,
			     size_t *got, struct error *err)
{
	for (;;) {
		/* Asked before every read, not only on EINTR: a read that never
		 * blocks (a file, a fast pipe) is never interrupted, and one
		 * record can be endless (a line of delimiters). */
		if (cr->cancelled && cr->cancelled(cr->cancel_ctx))
			return error_set(err, ST_CANCELLED, "%s: interrupted", cr->name);
		ssize_t n = read(cr->fd, dst, cap);
		if (n >= 0) {
			*got = (size_t)n;
			return ST_OK;
		}
		if (errno != EINTR) {
			char why[128];
			return error_set(err, ST_IO, "%s: read error: %s", cr->name,
					 errno_text(errno, why, sizeof(why)));
		}
	}
}

static size_t find_byte(const struct csvread *cr, unsigned char c)
{
	const unsigned char *p = memchr(cr->buf + cr->pos, c, cr->end - cr->pos);
	return p ? (size_t)(p - cr->buf) : cr->end;
}

/* The byte order marks of the encodings a spreadsheet may save "Unicode
 * text" in.  UTF-32LE's begins with UTF-16LE's, so it comes first. */
static const struct {
	const char *name;
	unsigned char mark[4];
	size_t len;
} other_boms[] = {
	{"UTF-32LE", {0xFF, 0xFE, 0x00, 0x00}, 4},
	{"UTF-32BE", {0x00, 0x00, 0xFE, 0xFF}, 4},
	{"UTF-16LE", {0xFF, 0xFE}, 2},
	{"UTF-16BE", {0xFE, 0xFF}, 2},
};

/* A UTF-16 or UTF-32 byte order mark at the start: refused by name, rather
 * than read as bytes that are not UTF-8. */
static enum status check_encoding(struct csvread *cr, struct error *err)
{
	for (size_t i = 0; i < sizeof(other_boms) / sizeof(other_boms[0]); i++) {
		if (cr->end < other_boms[i].len ||
		    memcmp(cr->buf, other_boms[i].mark, other_boms[i].len) != 0)
			continue;
		return error_set(err, ST_INPUT,
				 "%s: line 1: the file is %s text (it starts with "
				 "a %s byte order mark), not UTF-8: convert it "
				 "first, e.g. with iconv -f %.6s -t UTF-8",
				 cr->name, other_boms[i].name, other_boms[i].name,
				 other_boms[i].name);
	}
	return ST_OK;
}

/* Refills the (fully parsed) buffer; the first fill also skips a BOM (and
 * looks at the first four bytes for the marks of UTF-16 and UTF-32). */
static enum status fill(struct csvread *cr, struct error *err)
{
	size_t want = cr->started ? 1 : 4;
	enum status st;

	cr->pos = cr->end = 0;
	while (cr->end < want) {
		size_t got = 0;
		st = read_some(cr, cr->buf + cr->end, CSVREAD_BUF_SIZE - cr->end,
			       &got, err);
		if (st != ST_OK)
			return st;
		if (got == 0) {
			cr->eof = true;
			break;
		}
		sha256_update(&cr->sha, cr->buf + cr->end, got);
		cr->bytes += got;
		cr->end += got;
	}
	if (!cr->started) {
		cr->started = true;
		if (cr->end >= sizeof(BOM) && memcmp(cr->buf, BOM, sizeof(BOM)) == 0) {
			cr->bom = true;
			cr->pos = sizeof(BOM);
		} else if ((st = check_encoding(cr, err)) != ST_OK) {
			return st;
		}
	}
	cr->lf_at = find_byte(cr, '\n');
	cr->cr_at = find_byte(cr, '\r');
	return ST_OK;
}

/* ---- parsing --------------------------------------------------------------- */

/* A field longer than CSVREAD_FIELD_MAX.  A quoted one that has run on over
 * many lines is most likely a quote that was never closed: say so. */
static enum status too_long_error(struct csvread *cr, bool quoted,
				  struct error *err)
{
	char hint[160] = "";
	if (quoted && cr->line > cr->record_line + 1)
		snprintf(hint, sizeof(hint),
			 " (a quoted field that goes on to line %llu: is a "
			 "closing quote missing?)",
			 (unsigned long long)cr->line);
	return error_set(err, ST_INPUT,
			 "%s: line %llu: a field is longer than %u MiB%s", cr->name,
			 (unsigned long long)cr->record_line,
			 CSVREAD_FIELD_MAX >> 20, hint);
}

static enum status parse_error(struct csvread *cr, struct error *err)
{
	struct csv_parser *p = &cr->parser;
	int code = csv_error(p);

	if (code == CSV_EPARSE) {
		char where[64] = "";
		if (cr->line != cr->record_line)
			snprintf(where, sizeof(where), " on line %llu",
				 (unsigned long long)cr->line);
		/* In strict mode libcsv fails on a quote in an unquoted field,
		 * or on anything but a delimiter or line end after a closing
		 * quote (then the field is a quoted one). */
		return error_set(err, ST_INPUT,
				 "%s: line %llu: malformed CSV (field %zu: %s%s)",
				 cr->name, (unsigned long long)cr->record_line,
				 cr->nfields + 1,
				 p->quoted ? "text after a closing quote"
					   : "a quote inside an unquoted field",
				 where);
	}
	if (code == CSV_ENOMEM && csv_get_buffer_size(p) >= ENTRY_LIMIT)
		return too_long_error(cr, p->quoted != 0, err);
	return error_set(err, ST_NOMEM, "%s: line %llu: out of memory", cr->name,
			 (unsigned long long)cr->record_line);
}

/* The next CR or LF at or after pos, or end. */
static size_t next_break(struct csvread *cr)
{
	if (cr->lf_at < cr->pos)
		cr->lf_at = find_byte(cr, '\n');
	if (cr->cr_at < cr->pos)
		cr->cr_at = find_byte(cr, '\r');
	return cr->lf_at < cr->cr_at ? cr->lf_at : cr->cr_at;
}

/*
 * Parses up to and including the next line break.  A record can only end
 * at a line break, so when one ends it ends this slice, and the line count
 * kept here (LF, CR and CRLF each end one line, quoted or not) tells where
 * the next one begins.
 */
static enum status parse_slice(struct csvread *cr, struct error *err)
{
	size_t brk = next_break(cr);
	size_t stop = brk < cr->end ? brk + 1 : cr->end;
	const unsigned char *s = cr->buf + cr->pos;
	size_t len = stop - cr->pos;

	cr->row_ended = false;
	if (brk < cr->end && cr->at_boundary && !cr->no_fast_path &&
	    !memchr(s, '"', len)) {
		split_line(cr, s, len - 1);
	} else {
		/* Grow the entry buffer geometrically (libcsv adds blk_size). */
		size_t have = csv_get_buffer_size(&cr->parser);
		csv_set_blk_size(&cr->parser, have < 128 ? 128 : have);
		if (csv_parse(&cr->parser, s, len, field_cb, record_cb, cr) < len)
			return parse_error(cr, err);
	}
	if (cr->too_long)
		return too_long_error(cr, false, err);
	cr->pos = stop;

	unsigned char last = s[len - 1];
	unsigned char before = len >= 2 ? s[len - 2] : cr->prev;
	if (last == '\r' || (last == '\n' && before != '\r'))
		cr->line++;
	cr->prev = last;
	cr->at_boundary = cr->row_ended;
	if (cr->row_ended)
		cr->record_line = cr->line;
	return ST_OK;
}

static enum status finish(struct csvread *cr, struct error *err)
{
	cr->finished = true;
	int rc = csv_fini(&cr->parser, field_cb, record_cb, cr);
	if (cr->too_long)
		return too_long_error(cr, false, err);
	if (rc != 0)
		return error_set(err, ST_INPUT,
				 "%s: line %llu: unterminated quoted field (the "
				 "record starting on line %llu never ends)",
				 cr->name, (unsigned long long)cr->record_line,
				 (unsigned long long)cr->record_line);
	return ST_OK;
}

enum status csvread_next(struct csvread *cr, struct error *err)
{
	struct error local;
	enum status st = ST_OK;

	if (cr->failed != ST_OK)
		return error_set(err, cr->failed, "%s", cr->failure);
	cr->stop = false;
	while (!cr->stop) {
		if (cr->pos < cr->end)
			st = parse_slice(cr, &local);
		else if (!cr->eof)
			st = fill(cr, &local);
		else if (!cr->finished)
			st = finish(cr, &local);
		else
			return ST_EOF;
		if (st != ST_OK) {
			/* libcsv cannot go on after an error, nor can a
			 * record count after a lost one. */
			cr->failed = st;
			memcpy(cr->failure, local.msg, sizeof(cr->failure));
			return error_set(err, st, "%s", local.msg);
		}
	}
	/* Between records libcsv holds nothing: the buffer may go.  (After a
	 * pause it may hold part of a field.) */
	if (cr->at_boundary && csv_get_buffer_size(&cr->parser) > ENTRY_KEEP)
		csv_free(&cr->parser);
	return ST_OK;
}

void csvread_pause(struct csvread *cr)
{
	cr->stop = true;
}

uint64_t csvread_record_line(const struct csvread *cr)
{
	return cr->record_line;
}

/* ---- opening and closing --------------------------------------------------- */

static enum status open_fd(struct csvread *cr, const char *path,
			   struct error *err)
{
	char why[128];
	struct stat sb;

	if (strcmp(path, "-") == 0) {
		cr->fd = STDIN_FILENO;
		cr->own_fd = false;
	} else {
		cr->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (cr->fd < 0)
			return error_set(err, ST_INPUT, "%s: %s", path,
					 errno_text(errno, why, sizeof(why)));
		cr->own_fd = true;
	}
	if (fstat(cr->fd, &sb) != 0)
		return error_set(err, ST_INPUT, "%s: %s", cr->name,
				 errno_text(errno, why, sizeof(why)));
	if (S_ISDIR(sb.st_mode))
		return error_set(err, ST_INPUT, "%s: is a directory", cr->name);
	return ST_OK;
}

enum status csvread_open(struct csvread *cr, const char *path,
			 unsigned char delim, struct error *err)
{
	enum status st;

	memset(cr, 0, sizeof(*cr));
	cr->fd = -1;
	cr->delim = delim;
	cr->line = cr->record_line = 1;
	cr->at_boundary = true;
	sha256_init(&cr->sha);
	cr->name = strdup(strcmp(path, "-") == 0 ? "stdin" : path);
	cr->buf = malloc(CSVREAD_BUF_SIZE);
	if (!cr->name || !cr->buf) {
		st = error_set(err, ST_NOMEM, "%s: out of memory", path);
		goto fail;
	}
	st = open_fd(cr, path, err);
	if (st != ST_OK)
		goto fail;
	csv_init(&cr->parser, CSV_OPTIONS);
	csv_set_delim(&cr->parser, delim);
	if (delim == '\t')
		csv_set_space_func(&cr->parser, space_only);
	csv_set_realloc_func(&cr->parser, bounded_realloc);
	return ST_OK;
fail:
	if (cr->own_fd)
		close(cr->fd);
	free(cr->buf);
	free(cr->name);
	memset(cr, 0, sizeof(*cr));
	cr->fd = -1;
	return st;
}

void csvread_close(struct csvread *cr)
{
	if (!cr->buf)
		return;
	csv_free(&cr->parser);
	if (cr->own_fd)
		close(cr->fd);
	free(cr->buf);
	free(cr->name);
	memset(cr, 0, sizeof(*cr));
	cr->fd = -1;
}

uint64_t csvread_payload_bytes(const struct csvread *cr)
{
	return cr->bytes - (cr->bom ? sizeof(BOM) : 0);
}

void csvread_sha256_hex(const struct csvread *cr, char hex[65])
{
	struct sha256 copy = cr->sha;
	sha256_final_hex(&copy, hex);
}

/* ---- header names ------------------------------------------------------------ */

static unsigned char norm_byte(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (unsigned char)(c - 'A' + 'a');
	if (c == ' ' || c == '-')
		return '_';
	return c;
}

size_t csvread_norm_name(const unsigned char *s, size_t len, char *out,
			 size_t cap)
{
	size_t n = len < cap ? len : cap - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)norm_byte(s[i]);
	out[n] = '\0';
	return len;
}

uint64_t csvread_name_hash(const unsigned char *s, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (size_t i = 0; i < len; i++) {
		h ^= norm_byte(s[i]);
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static void append(char *out, size_t cap, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *out, size_t cap, size_t *used, const char *fmt, ...)
{
	if (*used >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out + *used, cap - *used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*used += (size_t)n < cap - *used ? (size_t)n : cap - *used - 1;
}

/* The length of the well-formed UTF-8 sequence at s[0..n) and its code
 * point in *cp; 0 if there is none. */
static size_t decode_one(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t k = s[0] < 0x80 ? 1 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
	if (k > n || !utf8_valid(s, k, NULL))
		return 0;
	static const unsigned char lead_mask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
	*cp = s[0] & lead_mask[k];
	for (size_t i = 1; i < k; i++)
		*cp = (*cp << 6) | (s[i] & 0x3F);
	return k;
}

/* Characters a message shows by number (a backslash, u, 4 hex digits): C1
 * controls, and those that are invisible, look like a plain space, or
 * change the direction of text -- a header name that holds one looks right
 * and still does not match. */
static bool shown_as_code(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0xA0) || cp == 0xAD || cp == 0x34F ||
	       cp == 0x61C || cp == 0x115F || cp == 0x1160 || cp == 0x180E ||
	       (cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
	       (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || cp == 0x3164 ||
	       cp == 0xFEFF || cp == 0xFFA0 || (cp >= 0xFFF9 && cp <= 0xFFFB) ||
	       (cp >= 0xE0000 && cp <= 0xE007F);
}

void csvread_quote_name(char *out, size_t cap, size_t *used,
			const unsigned char *s, size_t len, size_t limit)
{
	size_t show = len;
	if (len > limit) {
		show = limit;
		while (show > 0 && (s[show] & 0xC0) == 0x80)
			show--; /* do not cut a UTF-8 sequence */
	}
	append(out, cap, used, "'");
	for (size_t i = 0; i < show;) {
		uint32_t cp = 0;
		size_t k = decode_one(s + i, show - i, &cp);
		if (k == 0 || cp < 0x20 || cp == 0x7F) {
			append(out, cap, used, "\\x%02X", s[i]); /* or not UTF-8 */
			i++;
		} else if (shown_as_code(cp)) {
			append(out, cap, used, "\\u%04X", (unsigned)cp);
			i += k;
		} else {
			append(out, cap, used, "%.*s", (int)k, (const char *)s + i);
			i += k;
		}
	}
	append(out, cap, used, "%s'", show < len ? "..." : "");
}
