/* rejects: --rejects FILE, the rejected rows in the roster's own format;
 * see rejects.h. */
#define _GNU_SOURCE /* pread */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "rejects.h"
#include "utf8.h"

#define OUT_BUFFER (64u << 10)

/* A growable byte buffer. */
struct bytes {
	char *p;
	size_t len, cap;
};

static bool bytes_reserve(struct bytes *b, size_t more)
{
	if (b->cap - b->len >= more)
		return true;
	if (more > SIZE_MAX / 2 - b->len)
		return false;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < more)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return false;
	b->p = p;
	b->cap = cap;
	return true;
}

static bool bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (!bytes_reserve(b, n))
		return false;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return true;
}

static bool bytes_u32(struct bytes *b, uint32_t v)
{
	return bytes_add(b, &v, sizeof(v));
}

struct rejects {
	struct atomic_file af;
	bool af_open;
	char *path;

	/* The reader's side: the record being read, as [u32 nfields] then
	 * [u32 len][bytes] per field; the header, kept; the spool, where each
	 * data record goes as [u32 size][record]. */
	struct bytes rec;
	uint32_t rec_fields;
	struct bytes header;
	bool have_header;
	FILE *spool;
	int spool_fd;              /* its descriptor, for the collector */
	uint64_t spool_at;         /* offset of the next record */
	int capture_err;           /* errno of a failed capture */

	/* The collector's side. */
	unsigned char delim;
	const char *eol;
	uint32_t old_columns;      /* a header ending in reason,detail: its
				    * column count (those two are replaced);
				    * else 0 */
	iconv_t cd;                /* UTF-8 -> the roster's encoding, or -1 */
	struct bytes in, line, out;
	uint64_t last_ref;         /* the record written last */
};

enum status rejects_new(const char *path, unsigned mode, struct rejects **out,
			struct error *err)
{
	struct rejects *rj = calloc(1, sizeof(*rj));
	*out = NULL;
	if (!rj || !(rj->path = strdup(path))) {
		free(rj);
		return error_set(err, ST_NOMEM, "out of memory for --rejects");
	}
	rj->cd = (iconv_t)-1;
	enum status st = atomic_file_open(&rj->af, path, mode, err);
	if (st != ST_OK) {
		free(rj->path);
		free(rj);
		return st;
	}
	rj->af_open = true;
	/* tmpfile(3): no name, mode 0600, gone however the process ends. */
	rj->spool = tmpfile();
	if (!rj->spool) {
		int e = errno;
		rejects_free(rj);
		return error_set(err, ST_IO, "%s: cannot create a temporary file: %s",
				 path, strerror(e));
	}
	rj->spool_fd = fileno(rj->spool);
	*out = rj;
	return ST_OK;
}

/* ---- the reader's side ------------------------------------------------------ */

void rejects_field(void *ctx, size_t index, const unsigned char *s, size_t len)
{
	struct rejects *rj = ctx;
	(void)index; /* fields come in order */
	if (rj->capture_err)
		return;
	if (rj->rec.len == 0 && !bytes_u32(&rj->rec, 0))
		rj->capture_err = ENOMEM;
	else if (!bytes_u32(&rj->rec, (uint32_t)len) || !bytes_add(&rj->rec, s, len))
		rj->capture_err = ENOMEM;
	else
		rj->rec_fields++;
}

void rejects_record_end(void *ctx, bool blank, uint64_t *ref)
{
	struct rejects *rj = ctx;
	*ref = 0;
	if (!blank && !rj->capture_err) {
		if (rj->rec.len == 0)
			bytes_u32(&rj->rec, 0); /* cannot fail: 256 bytes at least */
		memcpy(rj->rec.p, &rj->rec_fields, sizeof(uint32_t));
		if (!rj->have_header) {
			struct bytes t = rj->header;
			rj->header = rj->rec;
			rj->rec = t;
			rj->have_header = true;
		} else {
			uint32_t size = (uint32_t)rj->rec.len;
			if (rj->rec.len > UINT32_MAX ||
			    fwrite(&size, sizeof(size), 1, rj->spool) != 1 ||
			    fwrite(rj->rec.p, 1, rj->rec.len, rj->spool) != rj->rec.len) {
				rj->capture_err = errno ? errno : EIO;
			} else {
				*ref = rj->spool_at + 1;
				rj->spool_at += sizeof(size) + rj->rec.len;
			}
		}
	}
	rj->rec.len = 0;
	rj->rec_fields = 0;
}

enum status rejects_flush(struct rejects *rj, struct error *err)
{
	if (!rj->capture_err && fflush(rj->spool) != 0)
		rj->capture_err = errno ? errno : EIO;
	if (rj->capture_err == ENOMEM)
		return error_set(err, ST_NOMEM, "out of memory for --rejects");
	if (rj->capture_err)
		return error_set(err, ST_IO, "%s: temporary file: %s", rj->path,
				 strerror(rj->capture_err));
	return ST_OK;
}

/* ---- the collector's side ------------------------------------------------------ */

static enum status out_flush(struct rejects *rj, struct error *err)
{
	const char *p = rj->out.p;
	size_t n = rj->out.len;
	while (n > 0) {
		ssize_t w = write(rj->af.fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return error_set(err, ST_IO, "%s: write failed: %s", rj->path,
					 strerror(w < 0 ? errno : EIO));
		p += w;
		n -= (size_t)w;
	}
	rj->out.len = 0;
	return ST_OK;
}

static enum status nomem(struct error *err)
{
	return error_set(err, ST_NOMEM, "out of memory for --rejects");
}

/* Converts s[0..n) (UTF-8) to the roster's encoding, into rj->out.  A
 * character the encoding lacks (only in bulkreg's own text: the values
 * came from that encoding) becomes '?'. */
static enum status put_converted(struct rejects *rj, const char *s, size_t n,
				 struct error *err)
{
	if (rj->cd == (iconv_t)-1)
		return bytes_add(&rj->out, s, n) ? ST_OK : nomem(err);
	char *in = (char *)s;
	size_t left = n;
	while (left > 0) {
		if (!bytes_reserve(&rj->out, 4 * left + 16))
			return nomem(err);
		char *o = rj->out.p + rj->out.len;
		size_t room = rj->out.cap - rj->out.len;
		size_t rc = iconv(rj->cd, &in, &left, &o, &room);
		rj->out.len = (size_t)(o - rj->out.p);
		if (rc != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		/* EILSEQ or EINVAL: skip one character. */
		uint32_t cp;
		size_t k = utf8_decode((const unsigned char *)in, left, &cp);
		k = k ? k : 1;
		in += k;
		left -= k;
		char q = '?';
		char *qi = &q;
		size_t qn = 1;
		if (!bytes_reserve(&rj->out, 16))
			return nomem(err);
		o = rj->out.p + rj->out.len;
		room = rj->out.cap - rj->out.len;
		if (iconv(rj->cd, &qi, &qn, &o, &room) != (size_t)-1)
			rj->out.len = (size_t)(o - rj->out.p);
	}
	/* Shift sequences (none in the encodings rosters use) end here. */
	if (!bytes_reserve(&rj->out, 16))
		return nomem(err);
	char *o = rj->out.p + rj->out.len;
	size_t room = rj->out.cap - rj->out.len;
	if (iconv(rj->cd, NULL, NULL, &o, &room) != (size_t)-1)
		rj->out.len = (size_t)(o - rj->out.p);
	return ST_OK;
}

/* Spaces around a value need no quotes: bulkreg trims them either way. */
static bool needs_quotes(const unsigned char *s, size_t len, unsigned char delim)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == delim || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			return true;
	return false;
}

/* One field into rj->line: as it is, or quoted with quotes doubled. */
static bool line_field(struct rejects *rj, const char *s, size_t len, bool first)
{
	const unsigned char *u = (const unsigned char *)s;
	if (!first && !bytes_add(&rj->line, &rj->delim, 1))
		return false;
	if (!needs_quotes(u, len, rj->delim))
		return bytes_add(&rj->line, s, len);
	if (!bytes_add(&rj->line, "\"", 1))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' && !bytes_add(&rj->line, "\"", 1))
			return false;
		if (!bytes_add(&rj->line, s + i, 1))
			return false;
	}
	return bytes_add(&rj->line, "\"", 1);
}

/* A record as kept ([u32 nfields] then [u32 len][bytes]...), then the two
 * extra fields, then the line break, converted into rj->out. */
static enum status put_record(struct rejects *rj, const char *rec, size_t size,
			      const char *reason, const char *detail,
			      struct error *err)
{
	uint32_t nfields, len;
	size_t at = sizeof(nfields);
	memcpy(&nfields, rec, sizeof(nfields));
	/* A rejects file run again: its records' reason and detail (the last
	 * two of the header's columns) make way for the new ones; a record
	 * longer than the header keeps its extra fields. */
	uint32_t keep = nfields;
	if (rj->old_columns)
		keep = nfields >= rj->old_columns ? nfields - 2 :
		       nfields > rj->old_columns - 2 ? rj->old_columns - 2 :
						       nfields;
	rj->line.len = 0;
	for (uint32_t f = 0; f < keep; f++) {
		if (at + sizeof(len) > size)
			return error_set(err, ST_IO, "%s: temporary file is corrupt",
					 rj->path);
		memcpy(&len, rec + at, sizeof(len));
		at += sizeof(len);
		if (len > size - at)
			return error_set(err, ST_IO, "%s: temporary file is corrupt",
					 rj->path);
		if (!line_field(rj, rec + at, len, f == 0))
			return nomem(err);
		at += len;
	}
	if (!line_field(rj, reason, strlen(reason), false) ||
	    !line_field(rj, detail, strlen(detail), false) ||
	    !bytes_add(&rj->line, rj->eol, strlen(rj->eol)))
		return nomem(err);
	enum status st = put_converted(rj, rj->line.p, rj->line.len, err);
	if (st == ST_OK && rj->out.len >= OUT_BUFFER)
		st = out_flush(rj, err);
	return st;
}

/* Whether the kept record's fields n and n+1 are "reason" and "detail". */
static bool ends_in_reason_detail(const struct bytes *h, uint32_t *nfields)
{
	static const char *const want[2] = { "reason", "detail" };
	uint32_t n, len;
	size_t at = sizeof(n);
	memcpy(&n, h->p, sizeof(n));
	*nfields = n;
	if (n < 2)
		return false;
	for (uint32_t f = 0; f < n; f++) {
		memcpy(&len, h->p + at, sizeof(len));
		at += sizeof(len);
		if (f >= n - 2 && (len != strlen(want[f - (n - 2)]) ||
				   memcmp(h->p + at, want[f - (n - 2)], len) != 0))
			return false;
		at += len;
	}
	return true;
}

enum status rejects_start(struct rejects *rj, const struct rejects_format *f,
			  struct error *err)
{
	enum status st;
	rj->delim = f->delimiter;
	rj->eol = f->eol ? f->eol : "\n";
	if (f->encoding) {
		char name[128];
		snprintf(name, sizeof(name), "%s//TRANSLIT", f->encoding);
		rj->cd = iconv_open(name, "UTF-8");
		if (rj->cd == (iconv_t)-1)
			return error_set(err, ST_USAGE,
					 "--rejects: cannot write the encoding '%s'",
					 f->encoding);
	}
	if (f->bom && (st = put_converted(rj, "\xEF\xBB\xBF", 3, err)) != ST_OK)
		return st;
	if (f->sep_line) {
		char sep[8];
		snprintf(sep, sizeof(sep), "sep=%c%s", rj->delim, rj->eol);
		if ((st = put_converted(rj, sep, strlen(sep), err)) != ST_OK)
			return st;
	}
	if (!rj->have_header)
		return ST_OK;
	uint32_t nfields;
	if (ends_in_reason_detail(&rj->header, &nfields))
		rj->old_columns = nfields;
	st = put_record(rj, rj->header.p, rj->header.len, "reason", "detail", err);
	free(rj->header.p);
	rj->header = (struct bytes){ 0 };
	return st;
}

/* Reads exactly n bytes at `off` of the spool. */
static bool spool_pread(struct rejects *rj, void *dst, size_t n, uint64_t off)
{
	char *p = dst;
	while (n > 0) {
		ssize_t r = pread(rj->spool_fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return true;
}

enum status rejects_add(struct rejects *rj, const struct row *row,
			struct error *err)
{
	if (row->status != STATUS_REJECTED || row->record_ref == 0 ||
	    row->record_ref == rj->last_ref)
		return ST_OK;
	uint64_t off = row->record_ref - 1;
	uint32_t size;
	if (!spool_pread(rj, &size, sizeof(size), off))
		return error_set(err, ST_IO, "%s: cannot read the temporary file: %s",
				 rj->path, strerror(errno ? errno : EIO));
	rj->in.len = 0;
	if (!bytes_reserve(&rj->in, size))
		return nomem(err);
	if (!spool_pread(rj, rj->in.p, size, off + sizeof(size)))
		return error_set(err, ST_IO, "%s: cannot read the temporary file: %s",
				 rj->path, strerror(errno ? errno : EIO));
	rj->last_ref = row->record_ref;
	return put_record(rj, rj->in.p, size, row_reason_name(row->reason),
			  row->detail, err);
}

enum status rejects_sync(struct rejects *rj, struct error *err)
{
	enum status st = out_flush(rj, err);
	if (st == ST_OK)
		st = atomic_file_sync(&rj->af, err);
	return st;
}

enum status rejects_publish(struct rejects *rj, struct error *err)
{
	enum status st = atomic_file_publish(&rj->af, err);
	if (st == ST_OK)
		rj->af_open = false;
	return st;
}

const char *rejects_path(const struct rejects *rj)
{
	return rj->path;
}

void rejects_free(struct rejects *rj)
{
	if (!rj)
		return;
	if (rj->af_open)
		atomic_file_discard(&rj->af);
	if (rj->spool)
		fclose(rj->spool);
	if (rj->cd != (iconv_t)-1)
		iconv_close(rj->cd);
	free(rj->rec.p);
	free(rj->header.p);
	free(rj->in.p);
	free(rj->line.p);
	free(rj->out.p);
	free(rj->path);
	free(rj);
}
