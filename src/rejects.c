/* rejects: --rejects FILE, the rejected rows in the roster's own format;
 * see rejects.h. */
#define _GNU_SOURCE /* pread */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "escape.h"
#include "rejects.h"
#include "report.h"
#include "spool.h"
#include "report_dest.h"
#include "utf8.h"

#define OUT_BUFFER (64u << 10)
#define RECORD_END UINT32_MAX  /* no field is that long (CSVREAD_FIELD_MAX) */

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

#define SPOOL_NAME "temporary file of the roster's records"

struct rejects {
	struct report_dest dest;   /* FILE, as -o's report_dest has it */
	FILE *direct;              /* when dest is a device, a FIFO or
				    * standard output: the file is made here
				    * and copied into it by rejects_sync */
	int out_fd;                /* where the collector writes: dest's
				    * temporary file, or `direct` */
	char *path;

	/* The reader's side.  The header is kept in memory, as [u32 nfields]
	 * then [u32 len][bytes] per field.  A data record goes to the spool as
	 * it is read, one field at a time ([u32 len][bytes]), and ends in
	 * [u32 RECORD_END][u32 nfields][u64 offset of its first field]: only
	 * one field is ever held in memory (csvread's bound). */
	struct bytes header;
	uint32_t header_fields;
	bool have_header;
	FILE *spool;
	int spool_fd;              /* its descriptor, for the collector */
	uint64_t spool_at;         /* offset of the next byte */
	uint64_t spool_limit;      /* REPORT_SPOOL_MAX unless set */
	uint64_t rec_start;        /* of the record being read */
	uint32_t rec_fields;
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

enum status rejects_new(const char *path, unsigned mode,
			bool (*cancelled)(void *ctx), void *ctx,
			struct rejects **out, struct error *err)
{
	struct rejects *rj = calloc(1, sizeof(*rj));
	*out = NULL;
	if (!rj || !(rj->path = strdup(path))) {
		free(rj);
		return error_set(err, ST_NOMEM, "out of memory for --rejects");
	}
	rj->cd = (iconv_t)-1;
	report_dest_init(&rj->dest);
	enum status st = report_dest_open(&rj->dest, path, "the rejects file",
					  mode, cancelled, ctx, err);
	if (st != ST_OK) {
		rejects_free(rj);
		return st;
	}
	/* No name, mode 0600, gone however the process ends; beside the
	 * rejects file as the report's spool is beside -o, else in $TMPDIR
	 * (tmpfile(3) put every record of the roster in /tmp, unbounded:
	 * review 14, A3). */
	rj->spool_limit = REPORT_SPOOL_MAX;
	st = spool_open(report_dest_dirfd(&rj->dest),
			       report_dest_dir(&rj->dest), SPOOL_NAME,
			       &rj->spool, err);
	if (st == ST_OK && !rj->dest.atomic)
		st = spool_open(-1, NULL, "temporary rejects file",
				       &rj->direct, err);
	if (st != ST_OK) {
		rejects_free(rj);
		return st;
	}
	rj->spool_fd = fileno(rj->spool);
	rj->out_fd = rj->direct ? fileno(rj->direct) : rj->dest.af.fd;
	*out = rj;
	return ST_OK;
}

void rejects_set_spool_limit(struct rejects *rj, uint64_t bytes)
{
	rj->spool_limit = bytes;
}

/* ---- the reader's side ------------------------------------------------------ */

/* Appends n bytes to the spool. */
static void spool_put(struct rejects *rj, const void *p, size_t n)
{
	if (rj->capture_err)
		return;
	if (rj->spool_at + n > rj->spool_limit) {
		rj->capture_err = EFBIG;
		return;
	}
	errno = 0;
	if (n > 0 && fwrite(p, 1, n, rj->spool) != n)
		rj->capture_err = errno ? errno : EIO;
	else
		rj->spool_at += n;
}

void rejects_field(void *ctx, size_t index, const unsigned char *s, size_t len)
{
	struct rejects *rj = ctx;
	uint32_t n = (uint32_t)len; /* len <= CSVREAD_FIELD_MAX */
	(void)index; /* fields come in order */
	if (rj->capture_err)
		return;
	if (!rj->have_header) {
		if (!bytes_u32(&rj->header, n) || !bytes_add(&rj->header, s, len))
			rj->capture_err = ENOMEM;
		rj->header_fields++;
		return;
	}
	if (rj->rec_fields++ == 0)
		rj->rec_start = rj->spool_at;
	spool_put(rj, &n, sizeof(n));
	spool_put(rj, s, len);
}

void rejects_record_end(void *ctx, bool blank, uint64_t *ref)
{
	struct rejects *rj = ctx;
	*ref = 0;
	if (!rj->have_header) {
		/* The first record that is not blank is the header. */
		if (blank) {
			rj->header.len = 0;
			rj->header_fields = 0;
		} else {
			rj->have_header = true;
		}
		return;
	}
	/* A blank record's fields stay in the spool, never referred to. */
	if (!blank && rj->rec_fields > 0 && !rj->capture_err) {
		uint32_t end[2] = { RECORD_END, rj->rec_fields };
		*ref = rj->spool_at + 1;
		spool_put(rj, end, sizeof(end));
		spool_put(rj, &rj->rec_start, sizeof(rj->rec_start));
		if (rj->capture_err)
			*ref = 0;
	}
	rj->rec_fields = 0;
}

/* A failed capture, as a status. */
static enum status capture_status(const struct rejects *rj, struct error *err)
{
	if (rj->capture_err == ENOMEM)
		return error_set(err, ST_NOMEM, "out of memory for --rejects");
	if (rj->capture_err == EFBIG) {
		bool mib = rj->spool_limit >= (1u << 20);
		char size[32];
		return error_set(err, ST_INPUT,
				 "%s: the roster's records kept for --rejects "
				 "would pass %s %s (the most bulkreg keeps "
				 "while a batch runs); split the roster; nothing "
				 "was written",
				 rj->path,
				 text_group_digits((int64_t)(mib ? rj->spool_limit >> 20 :
								     rj->spool_limit),
						     size),
				 mib ? "MiB" : "bytes");
	}
	if (rj->capture_err)
		return error_set(err, ST_IO, "%s: temporary file: %s", rj->path,
				 strerror(rj->capture_err));
	return ST_OK;
}

enum status rejects_flush(struct rejects *rj, struct error *err)
{
	if (!rj->capture_err && fflush(rj->spool) != 0)
		rj->capture_err = errno ? errno : EIO;
	return capture_status(rj, err);
}

/* ---- the collector's side ------------------------------------------------------ */

/* Writes n bytes to fd; false with errno set when that fails. */
static bool write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			errno = w < 0 ? errno : EIO;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static enum status out_flush(struct rejects *rj, struct error *err)
{
	if (!write_all(rj->out_fd, rj->out.p, rj->out.len))
		return error_set(err, ST_IO, "%s: write failed: %s", rj->path,
				 strerror(errno));
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

/* A rejects file run again: its records' reason and detail (the last two
 * of the header's columns) make way for the new ones; a record longer than
 * the header keeps its extra fields. */
static uint32_t fields_kept(const struct rejects *rj, uint32_t nfields)
{
	uint32_t old = rj->old_columns;
	if (!old)
		return nfields;
	if (nfields >= old)
		return nfields - 2;
	return nfields > old - 2 ? old - 2 : nfields;
}

/* One field of a line (with the delimiter before it unless first),
 * converted into rj->out. */
static enum status put_field(struct rejects *rj, const char *s, size_t len,
			     bool first, struct error *err)
{
	rj->line.len = 0;
	if (!line_field(rj, s, len, first))
		return nomem(err);
	enum status st = put_converted(rj, rj->line.p, rj->line.len, err);
	if (st == ST_OK && rj->out.len >= OUT_BUFFER)
		st = out_flush(rj, err);
	return st;
}

/* The two extra fields and the line break.  The roster's own fields are
 * kept byte for byte; bulkreg's detail (which may quote a check's output)
 * gets the csv report's guard: a leading ' before = + - @ (review 14, C3). */
static enum status put_end(struct rejects *rj, const char *reason,
			   const char *detail, struct error *err)
{
	enum status st = put_field(rj, reason, strlen(reason), false, err);
	size_t len = strlen(detail);
	if (st == ST_OK && esc_csv_is_formula(detail, len)) {
		char *guarded = malloc(len + 2);
		if (!guarded)
			return nomem(err);
		guarded[0] = '\'';
		memcpy(guarded + 1, detail, len + 1);
		st = put_field(rj, guarded, len + 1, false, err);
		free(guarded);
	} else if (st == ST_OK) {
		st = put_field(rj, detail, len, false, err);
	}
	if (st == ST_OK)
		st = put_converted(rj, rj->eol, strlen(rj->eol), err);
	return st;
}

static enum status corrupt(const struct rejects *rj, struct error *err)
{
	return error_set(err, ST_IO, "%s: the temporary file is corrupt",
			 rj->path);
}

/* The header as kept in memory, with reason and detail. */
static enum status put_header(struct rejects *rj, struct error *err)
{
	const struct bytes *h = &rj->header;
	uint32_t keep = fields_kept(rj, rj->header_fields), len;
	size_t at = 0;
	for (uint32_t f = 0; f < keep; f++) {
		memcpy(&len, h->p + at, sizeof(len));
		at += sizeof(len);
		enum status st = put_field(rj, h->p + at, len, f == 0, err);
		if (st != ST_OK)
			return st;
		at += len;
	}
	return put_end(rj, "reason", "detail", err);
}

/* Whether the header's last two names are "reason" and "detail". */
static bool ends_in_reason_detail(const struct rejects *rj)
{
	static const char *const want[2] = { "reason", "detail" };
	uint32_t n = rj->header_fields, len;
	size_t at = 0;
	if (n < 2)
		return false;
	for (uint32_t f = 0; f < n; f++) {
		memcpy(&len, rj->header.p + at, sizeof(len));
		at += sizeof(len);
		if (f >= n - 2 && (len != strlen(want[f - (n - 2)]) ||
				   memcmp(rj->header.p + at, want[f - (n - 2)],
					  len) != 0))
			return false;
		at += len;
	}
	return true;
}

enum status rejects_start(struct rejects *rj, const struct rejects_format *f,
			  struct error *err)
{
	/* The header may not have been kept (out of memory). */
	enum status st = capture_status(rj, err);
	if (st != ST_OK)
		return st;
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
	if (ends_in_reason_detail(rj))
		rj->old_columns = rj->header_fields;
	st = put_header(rj, err);
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

static enum status read_failed(const struct rejects *rj, struct error *err)
{
	return error_set(err, ST_IO, "%s: cannot read the temporary file: %s",
			 rj->path, strerror(errno ? errno : EIO));
}

enum status rejects_add(struct rejects *rj, const struct row *row,
			struct error *err)
{
	if (row->status != STATUS_REJECTED || row->record_ref == 0 ||
	    row->record_ref == rj->last_ref)
		return ST_OK;
	/* The record's end says how many fields it has and where it starts;
	 * then its fields are copied out one at a time. */
	uint32_t end[2];
	uint64_t at;
	errno = 0;
	if (!spool_pread(rj, end, sizeof(end), row->record_ref - 1) ||
	    !spool_pread(rj, &at, sizeof(at), row->record_ref - 1 + sizeof(end)))
		return read_failed(rj, err);
	if (end[0] != RECORD_END || at >= row->record_ref)
		return corrupt(rj, err);
	uint32_t keep = fields_kept(rj, end[1]);
	for (uint32_t f = 0; f < keep; f++) {
		uint32_t len;
		if (!spool_pread(rj, &len, sizeof(len), at))
			return read_failed(rj, err);
		if (len == RECORD_END)
			return corrupt(rj, err);
		at += sizeof(len);
		rj->in.len = 0;
		if (!bytes_reserve(&rj->in, len))
			return nomem(err);
		if (!spool_pread(rj, rj->in.p, len, at))
			return read_failed(rj, err);
		at += len;
		enum status st = put_field(rj, rj->in.p, len, f == 0, err);
		if (st != ST_OK)
			return st;
	}
	rj->last_ref = row->record_ref;
	return put_end(rj, row_reason_name(row->reason), row->detail, err);
}

/* A device, a FIFO or standard output: the finished file goes into it now,
 * in place, as a report does (it cannot be taken back after). */
static enum status copy_direct(struct rejects *rj, struct error *err)
{
	if (!bytes_reserve(&rj->out, OUT_BUFFER))
		return nomem(err);
	char *buf = rj->out.p; /* empty: out_flush wrote it out */
	uint64_t off = 0;
	errno = 0;
	for (;;) {
		ssize_t r = pread(rj->out_fd, buf, OUT_BUFFER, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return read_failed(rj, err);
		if (r == 0)
			return ST_OK;
		if (!write_all(report_dest_fd(&rj->dest), buf, (size_t)r))
			return error_set(err, ST_IO, "%s: write failed: %s",
					 rj->path, strerror(errno));
		off += (uint64_t)r;
	}
}

enum status rejects_sync(struct rejects *rj, struct error *err)
{
	enum status st = out_flush(rj, err);
	if (st != ST_OK)
		return st;
	if (rj->dest.atomic)
		return atomic_file_sync(&rj->dest.af, err);
	return copy_direct(rj, err);
}

enum status rejects_publish(struct rejects *rj, struct error *err)
{
	if (rj->dest.atomic) {
		enum status st = atomic_file_publish(&rj->dest.af, err);
		rj->dest.atomic = false;
		if (st != ST_OK) {
			/* The rows the user must fix: kept, and named, never
			 * removed (review 21, F01). */
			char *kept = atomic_file_keep(&rj->dest.af);
			size_t n = err ? strlen(err->msg) : 0;
			if (kept && err && n < sizeof(err->msg))
				snprintf(err->msg + n, sizeof(err->msg) - n,
					 "; the rejected rows are kept in %s",
					 kept);
			free(kept);
		}
		return st;
	}
	if (rj->dest.direct_fd < 0)
		return ST_OK;
	int rc = close(rj->dest.direct_fd);
	rj->dest.direct_fd = -1;
	if (rc != 0)
		return error_set(err, ST_IO, "%s: cannot close the rejects file: %s",
				 rj->path, strerror(errno));
	return ST_OK;
}

const char *rejects_path(const struct rejects *rj)
{
	return rj->path;
}

const char *rejects_shared_dir(struct rejects *rj)
{
	return report_dest_dir_shared(&rj->dest) ? report_dest_dir(&rj->dest) :
						   NULL;
}

void rejects_free(struct rejects *rj)
{
	if (!rj)
		return;
	report_dest_close(&rj->dest); /* removed unless published */
	if (rj->direct)
		fclose(rj->direct);
	if (rj->spool)
		fclose(rj->spool);
	if (rj->cd != (iconv_t)-1)
		iconv_close(rj->cd);
	free(rj->header.p);
	free(rj->in.p);
	free(rj->line.p);
	free(rj->out.p);
	free(rj->path);
	free(rj);
}
