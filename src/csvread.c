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
	if (cr->on_record(cr->ctx, cr->nfields, blank, cr->record_line))
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
		if (cr->cancelled && cr->cancelled(cr->cancel_ctx))
			return error_set(err, ST_CANCELLED, "%s: interrupted", cr->name);
	}
}

static size_t find_byte(const struct csvread *cr, unsigned char c)
{
	const unsigned char *p = memchr(cr->buf + cr->pos, c, cr->end - cr->pos);
	return p ? (size_t)(p - cr->buf) : cr->end;
}

/* Refills the (fully parsed) buffer; the first fill also skips a BOM. */
static enum status fill(struct csvread *cr, struct error *err)
{
	size_t want = cr->started ? 1 : sizeof(BOM);
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
		}
	}
	cr->lf_at = find_byte(cr, '\n');
	cr->cr_at = find_byte(cr, '\r');
	return ST_OK;
}

/* ---- parsing --------------------------------------------------------------- */

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
		return error_set(err, ST_INPUT,
				 "%s: line %llu: a field is longer than %u MiB",
				 cr->name, (unsigned long long)cr->record_line,
				 CSVREAD_FIELD_MAX >> 20);
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
	if (csv_fini(&cr->parser, field_cb, record_cb, cr) != 0)
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
	/* Between records libcsv holds nothing: the buffer may go. */
	if (csv_get_buffer_size(&cr->parser) > ENTRY_KEEP)
		csv_free(&cr->parser);
	return ST_OK;
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
	for (size_t i = 0; i < show; i++) {
		if (s[i] < 0x20 || s[i] == 0x7F)
			append(out, cap, used, "\\x%02X", s[i]);
		else
			append(out, cap, used, "%c", s[i]);
	}
	append(out, cap, used, "%s'", show < len ? "..." : "");
}
