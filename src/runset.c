/* runset: sorted runs of records spilled to a temporary file (runset.h). */
#define _GNU_SOURCE /* pread, pwrite */
#include "runset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "splitmix.h"

#define RECORD_HEADER 8            /* key length, value length: 4 bytes each */
#define BLOCK_BYTES 2048           /* a key kept in memory per block */
#define WRITE_BUFFER ((size_t)256 << 10)
#define READ_BUFFER ((size_t)32 << 10)
/* A blocked Bloom filter: a key's probes fall in one 512-bit line of the
 * processor's cache, so a run its filter rules out costs one miss (a
 * look-up asks every run newer than the one that holds its key). */
#define FILTER_BITS_PER_RECORD 8
#define FILTER_PROBES 3
#define FILTER_LINE_BITS 512
#define FILTER_LINES_MAX ((uint64_t)1 << 26)
#define SPILL_WHAT "temporary file of the batch's writes"

/* The first key of a block of the file. */
struct mark {
	uint64_t off;
	uint32_t key_off, klen;
};

struct run {
	uint64_t start, end;       /* its bytes of the file */
	uint64_t *filter;          /* filter_lines lines of 8 words */
	uint64_t filter_lines;
	struct mark *marks;
	size_t nmarks, marks_cap;
	unsigned char *keys;       /* the marks' keys */
	size_t keys_len, keys_cap;
};

struct runset {
	uint64_t seed;
	FILE *file;                /* NULL until the first run */
	uint64_t size;             /* bytes the runs hold */
	struct run *runs;
	size_t nruns, runs_cap;
	size_t records;            /* in the runs */
	size_t bytes;              /* the runs' memory */
	/* The run being written. */
	bool writing;
	struct run cur;
	size_t cur_records, max_records;
	unsigned char *wbuf;
	size_t wlen;
	uint64_t block_start;
	unsigned char *last;       /* the last key added */
	size_t last_len, last_cap;
	/* runset_find's block. */
	unsigned char *rbuf;
	size_t rcap;
};

int runset_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int r = n ? memcmp(a, b, n) : 0;
	if (r)
		return r;
	return (alen > blen) - (alen < blen);
}

static bool grow(unsigned char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	unsigned char *p = realloc(*buf, c);
	if (!p)
		return false;
	*buf = p;
	*cap = c;
	return true;
}

static uint64_t key_hash(const struct runset *rs, const void *key, size_t klen)
{
	return splitmix64(fnv1a64(key, klen) ^ rs->seed);
}

/* The hash's line of the filter: its high 32 bits pick it; 9 bits of
 * the low 32 each probe's bit in it. */
static uint64_t *filter_line(const struct run *r, uint64_t h)
{
	return r->filter + 8 * (((h >> 32) * r->filter_lines) >> 32);
}

static unsigned probe(uint64_t h, unsigned i)
{
	return (unsigned)(h >> (9 * i)) & (FILTER_LINE_BITS - 1);
}

static bool filter_has(const struct run *r, uint64_t h)
{
	const uint64_t *line = filter_line(r, h);
	for (unsigned i = 0; i < FILTER_PROBES; i++) {
		unsigned b = probe(h, i);
		if (!(line[b / 64] >> (b % 64) & 1))
			return false;
	}
	return true;
}

static size_t run_bytes(const struct run *r)
{
	return r->filter_lines * (FILTER_LINE_BITS / 8) +
	       r->marks_cap * sizeof(struct mark) + r->keys_cap;
}

static void run_free(struct run *r)
{
	free(r->filter);
	free(r->marks);
	free(r->keys);
	*r = (struct run){0};
}

struct runset *runset_new(uint64_t seed)
{
	struct runset *rs = calloc(1, sizeof(*rs));
	if (rs)
		rs->seed = seed;
	return rs;
}

void runset_clear(struct runset *rs)
{
	for (size_t i = 0; i < rs->nruns; i++)
		run_free(&rs->runs[i]);
	rs->nruns = 0;
	rs->records = 0;
	rs->size = 0;
	rs->bytes = 0;
	if (rs->writing)
		run_free(&rs->cur);
	rs->writing = false;
	free(rs->wbuf);
	rs->wbuf = NULL;
	/* The file's blocks go back now, not at the end of the batch (when
	 * that fails, nothing is lost: the next run writes over them). */
	int rc = rs->file ? ftruncate(fileno(rs->file), 0) : 0;
	(void)rc;
}

void runset_free(struct runset *rs)
{
	if (!rs)
		return;
	runset_clear(rs);
	free(rs->runs);
	free(rs->last);
	free(rs->rbuf);
	if (rs->file)
		fclose(rs->file);
	free(rs);
}

size_t runset_count(const struct runset *rs)
{
	return rs->nruns;
}

size_t runset_records(const struct runset *rs)
{
	return rs->records;
}

size_t runset_bytes(const struct runset *rs)
{
	return rs->bytes + rs->runs_cap * sizeof(struct run) + rs->last_cap +
	       rs->rcap;
}

static enum status io_error(const char *doing, int e,
			    struct error *err)
{
	return error_set(err, ST_IO, "%s: %s the " SPILL_WHAT ": %s",
			 spool_dir(NULL), doing, strerror(e ? e : EIO));
}

static enum status nomem(struct error *err)
{
	return error_set(err, ST_NOMEM, "out of memory (the " SPILL_WHAT ")");
}

/* Drops the run being written. */
static void write_abandon(struct runset *rs)
{
	run_free(&rs->cur);
	rs->writing = false;
	free(rs->wbuf);
	rs->wbuf = NULL;
}

enum status runset_begin(struct runset *rs, size_t max_records,
			 struct error *err)
{
	if (rs->writing)
		abort(); /* runset_begin: a run is being written */
	if (!rs->file) {
		enum status st = spool_open(-1, NULL, SPILL_WHAT,
						   &rs->file, err);
		if (st != ST_OK)
			return st;
	}
	uint64_t lines = ((uint64_t)max_records * FILTER_BITS_PER_RECORD +
			  FILTER_LINE_BITS - 1) / FILTER_LINE_BITS;
	lines = lines < 1 ? 1 : lines > FILTER_LINES_MAX ? FILTER_LINES_MAX : lines;
	rs->cur = (struct run){ .start = rs->size, .end = rs->size,
				.filter_lines = lines };
	rs->cur.filter = aligned_alloc(FILTER_LINE_BITS / 8,
				       lines * (FILTER_LINE_BITS / 8));
	if (rs->cur.filter)
		memset(rs->cur.filter, 0, lines * (FILTER_LINE_BITS / 8));
	rs->wbuf = malloc(WRITE_BUFFER);
	if (!rs->cur.filter || !rs->wbuf) {
		write_abandon(rs);
		return nomem(err);
	}
	rs->writing = true;
	rs->cur_records = 0;
	rs->max_records = max_records;
	rs->wlen = 0;
	rs->block_start = rs->size;
	return ST_OK;
}

static enum status write_out(struct runset *rs, const void *p, size_t n,
			     uint64_t at, struct error *err)
{
	const unsigned char *b = p;
	while (n) {
		ssize_t w = pwrite(fileno(rs->file), b, n, (off_t)at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : ENOSPC;
			write_abandon(rs);
			return io_error("writing", e, err);
		}
		b += w;
		n -= (size_t)w;
		at += (uint64_t)w;
	}
	return ST_OK;
}

/* Writes the buffer out; it then starts at the run's end. */
static enum status write_flush(struct runset *rs, struct error *err)
{
	enum status st = write_out(rs, rs->wbuf, rs->wlen,
				   rs->cur.end - rs->wlen, err);
	if (st == ST_OK)
		rs->wlen = 0;
	return st;
}

static bool mark_add(struct run *r, uint64_t off, const void *key, size_t klen)
{
	if (r->nmarks == r->marks_cap) {
		size_t c = r->marks_cap ? 2 * r->marks_cap : 64;
		struct mark *m = realloc(r->marks, c * sizeof(*m));
		if (!m)
			return false;
		r->marks = m;
		r->marks_cap = c;
	}
	if (r->keys_len + klen >= UINT32_MAX ||
	    !grow(&r->keys, &r->keys_cap, r->keys_len + klen + 1))
		return false;
	if (klen)
		memcpy(r->keys + r->keys_len, key, klen);
	r->marks[r->nmarks++] = (struct mark){ off, (uint32_t)r->keys_len,
					       (uint32_t)klen };
	r->keys_len += klen;
	return true;
}

enum status runset_add(struct runset *rs, const void *key, size_t klen,
		       const void *val, size_t vlen, struct error *err)
{
	if (!rs->writing || rs->cur_records >= rs->max_records)
		abort(); /* runset_add: no run begun, or past max_records */
	if (rs->cur_records &&
	    runset_key_cmp(rs->last, rs->last_len, key, klen) >= 0)
		abort(); /* runset_add: keys not in strictly increasing order */
	if (klen > UINT32_MAX || vlen > UINT32_MAX)
		abort(); /* runset_add: a record past 4 GiB */
	struct run *r = &rs->cur;
	if (!grow(&rs->last, &rs->last_cap, klen + 1)) {
		write_abandon(rs);
		return nomem(err);
	}
	if (klen)
		memcpy(rs->last, key, klen);
	rs->last_len = klen;
	if (rs->cur_records == 0 || r->end - rs->block_start >= BLOCK_BYTES) {
		if (!mark_add(r, r->end, key, klen)) {
			write_abandon(rs);
			return nomem(err);
		}
		rs->block_start = r->end;
	}
	uint64_t h = key_hash(rs, key, klen);
	uint64_t *line = filter_line(r, h);
	for (unsigned i = 0; i < FILTER_PROBES; i++) {
		unsigned b = probe(h, i);
		line[b / 64] |= (uint64_t)1 << (b % 64);
	}
	uint32_t head[2] = { (uint32_t)klen, (uint32_t)vlen };
	size_t n = RECORD_HEADER + klen + vlen;
	enum status st = ST_OK;
	if (rs->wlen + n > WRITE_BUFFER && rs->wlen)
		st = write_flush(rs, err);
	if (st != ST_OK)
		return st;
	if (n > WRITE_BUFFER) { /* a record bigger than the buffer: as it is */
		st = write_out(rs, head, RECORD_HEADER, r->end, err);
		if (st == ST_OK)
			st = write_out(rs, key, klen, r->end + RECORD_HEADER, err);
		if (st == ST_OK)
			st = write_out(rs, val, vlen,
				       r->end + RECORD_HEADER + klen, err);
		if (st != ST_OK)
			return st;
	} else {
		memcpy(rs->wbuf + rs->wlen, head, RECORD_HEADER);
		if (klen)
			memcpy(rs->wbuf + rs->wlen + RECORD_HEADER, key, klen);
		if (vlen)
			memcpy(rs->wbuf + rs->wlen + RECORD_HEADER + klen, val,
			       vlen);
		rs->wlen += n;
	}
	r->end += n;
	rs->cur_records++;
	return ST_OK;
}

enum status runset_end(struct runset *rs, struct error *err)
{
	if (!rs->writing)
		abort(); /* runset_end: no run begun */
	enum status st = rs->wlen ? write_flush(rs, err) : ST_OK;
	if (st != ST_OK)
		return st; /* abandoned */
	if (rs->cur_records == 0) {
		write_abandon(rs);
		return ST_OK;
	}
	if (rs->nruns == rs->runs_cap) {
		size_t c = rs->runs_cap ? 2 * rs->runs_cap : 16;
		struct run *p = realloc(rs->runs, c * sizeof(*p));
		if (!p) {
			write_abandon(rs);
			return nomem(err);
		}
		rs->runs = p;
		rs->runs_cap = c;
	}
	free(rs->wbuf);
	rs->wbuf = NULL;
	rs->writing = false;
	rs->size = rs->cur.end;
	rs->bytes += run_bytes(&rs->cur);
	rs->records += rs->cur_records;
	rs->runs[rs->nruns++] = rs->cur;
	rs->cur = (struct run){0};
	return ST_OK;
}

/* Reads n bytes at `at` into buf. */
static enum status read_in(struct runset *rs, void *buf, size_t n, uint64_t at,
			   struct error *err)
{
	unsigned char *b = buf;
	while (n) {
		ssize_t r = pread(fileno(rs->file), b, n, (off_t)at);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return io_error("reading", r < 0 ? errno : EIO, err);
		b += r;
		n -= (size_t)r;
		at += (uint64_t)r;
	}
	return ST_OK;
}

static const unsigned char *mark_key(const struct run *r, size_t i)
{
	return r->keys + r->marks[i].key_off;
}

/* The number of marks whose key is below (or, with `equal`, at most) the
 * key: the block that may hold it is the one before. */
static size_t marks_before(const struct run *r, const void *key, size_t klen,
			   bool equal)
{
	size_t lo = 0, hi = r->nmarks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = runset_key_cmp(mark_key(r, mid), r->marks[mid].klen, key,
				       klen);
		if (c < 0 || (equal && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void record_at(const unsigned char *p, size_t *klen, size_t *vlen)
{
	uint32_t head[2];
	memcpy(head, p, RECORD_HEADER);
	*klen = head[0];
	*vlen = head[1];
}

enum status runset_find(struct runset *rs, const void *key, size_t klen,
			const unsigned char **val, size_t *vlen, bool *found,
			struct error *err)
{
	*found = false;
	if (!rs->nruns)
		return ST_OK;
	uint64_t h = key_hash(rs, key, klen);
	for (size_t i = rs->nruns; i-- > 0;) {
		const struct run *r = &rs->runs[i];
		if (!filter_has(r, h))
			continue;
		size_t b = marks_before(r, key, klen, true);
		if (b == 0)
			continue;
		b--;
		uint64_t from = r->marks[b].off;
		uint64_t to = b + 1 < r->nmarks ? r->marks[b + 1].off : r->end;
		size_t n = (size_t)(to - from);
		if (!grow(&rs->rbuf, &rs->rcap, n))
			return nomem(err);
		enum status st = read_in(rs, rs->rbuf, n, from, err);
		if (st != ST_OK)
			return st;
		for (size_t at = 0; at + RECORD_HEADER <= n;) {
			size_t kl, vl;
			record_at(rs->rbuf + at, &kl, &vl);
			const unsigned char *k = rs->rbuf + at + RECORD_HEADER;
			int c = runset_key_cmp(k, kl, key, klen);
			if (c == 0) {
				*val = k + kl;
				*vlen = vl;
				*found = true;
				return ST_OK;
			}
			if (c > 0)
				break;
			at += RECORD_HEADER + kl + vl;
		}
	}
	return ST_OK;
}

/* ---- merging -------------------------------------------------------------- */

/* A run read in key order from a point on. */
struct cursor {
	size_t age;                /* the run's number: the newest wins */
	uint64_t off, end;         /* the file bytes not read yet */
	unsigned char *buf;
	size_t cap, len, pos;      /* buf[pos..len) not yet consumed */
	const unsigned char *key, *val;
	size_t klen, vlen;
	bool done;
};

/* Makes the record at pos the cursor's, reading more if need be. */
static enum status cursor_load(struct runset *rs, struct cursor *c,
			       struct error *err)
{
	for (;;) {
		size_t have = c->len - c->pos;
		size_t need = RECORD_HEADER;
		if (have >= RECORD_HEADER) {
			size_t kl, vl;
			record_at(c->buf + c->pos, &kl, &vl);
			need = RECORD_HEADER + kl + vl;
			if (have >= need) {
				c->key = c->buf + c->pos + RECORD_HEADER;
				c->klen = kl;
				c->val = c->key + kl;
				c->vlen = vl;
				return ST_OK;
			}
		}
		if (c->off >= c->end) {
			if (have)
				return io_error("reading", EIO, err);
			c->done = true;
			return ST_OK;
		}
		if (!grow(&c->buf, &c->cap, need > READ_BUFFER ? need : READ_BUFFER))
			return nomem(err);
		if (have)
			memmove(c->buf, c->buf + c->pos, have);
		c->len = have;
		c->pos = 0;
		size_t n = c->cap - c->len;
		if (n > c->end - c->off)
			n = (size_t)(c->end - c->off);
		enum status st = read_in(rs, c->buf + c->len, n, c->off, err);
		if (st != ST_OK)
			return st;
		c->len += n;
		c->off += n;
	}
}

static enum status cursor_next(struct runset *rs, struct cursor *c,
			       struct error *err)
{
	c->pos += RECORD_HEADER + c->klen + c->vlen;
	return cursor_load(rs, c, err);
}

static bool has_prefix(const struct cursor *c, const void *prefix, size_t plen)
{
	return c->klen >= plen && (plen == 0 || memcmp(c->key, prefix, plen) == 0);
}

/* Heap order: the smaller key first; of equal keys, the newer run. */
static bool before(const struct cursor *a, const struct cursor *b)
{
	int c = runset_key_cmp(a->key, a->klen, b->key, b->klen);
	return c < 0 || (c == 0 && a->age > b->age);
}

static void sift_down(struct cursor **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && before(h[l], h[m]))
			m = l;
		if (l + 1 < n && before(h[l + 1], h[m]))
			m = l + 1;
		if (m == i)
			return;
		struct cursor *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Starts run i's cursor at its first key with the prefix; done if none. */
static enum status cursor_start(struct runset *rs, struct cursor *c, size_t i,
				const void *prefix, size_t plen,
				struct error *err)
{
	const struct run *r = &rs->runs[i];
	size_t b = plen ? marks_before(r, prefix, plen, false) : 0;
	if (b)
		b--;
	*c = (struct cursor){ .age = i, .off = r->marks[b].off, .end = r->end };
	enum status st = cursor_load(rs, c, err);
	while (st == ST_OK && !c->done &&
	       runset_key_cmp(c->key, c->klen, prefix, plen) < 0)
		st = cursor_next(rs, c, err);
	if (st == ST_OK && !c->done && !has_prefix(c, prefix, plen))
		c->done = true;
	return st;
}

enum status runset_each(struct runset *rs, const void *prefix, size_t plen,
			runset_fn fn, void *ctx, struct error *err)
{
	size_t n = rs->nruns;
	if (!n)
		return ST_OK;
	struct cursor *cs = calloc(n, sizeof(*cs));
	struct cursor **heap = calloc(n, sizeof(*heap));
	unsigned char *key = NULL;
	size_t key_cap = 0;
	enum status st = cs && heap ? ST_OK : nomem(err);
	size_t live = 0;
	for (size_t i = 0; st == ST_OK && i < n; i++) {
		st = cursor_start(rs, &cs[i], i, prefix, plen, err);
		if (st == ST_OK && !cs[i].done)
			heap[live++] = &cs[i];
	}
	for (size_t i = live / 2; st == ST_OK && i-- > 0;)
		sift_down(heap, live, i);
	while (st == ST_OK && live) {
		struct cursor *top = heap[0];
		size_t klen = top->klen;
		if (!grow(&key, &key_cap, klen + 1)) {
			st = nomem(err);
			break;
		}
		if (klen)
			memcpy(key, top->key, klen);
		st = fn(ctx, top->key, top->klen, top->val, top->vlen, err);
		/* Every run's record of this key moves on. */
		while (st == ST_OK && live &&
		       runset_key_cmp(heap[0]->key, heap[0]->klen, key, klen) == 0) {
			struct cursor *c = heap[0];
			st = cursor_next(rs, c, err);
			if (st == ST_OK && !c->done && !has_prefix(c, prefix, plen))
				c->done = true;
			if (st == ST_OK && c->done)
				heap[0] = heap[--live];
			sift_down(heap, live, 0);
		}
	}
	for (size_t i = 0; cs && i < n; i++)
		free(cs[i].buf);
	free(cs);
	free(heap);
	free(key);
	return st;
}
