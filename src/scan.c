/* scan: a statement's rows read on a thread of their own; see scan.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "scan.h"

/*
 * Three blocks go round: the reader takes an empty one (`empty`), fills
 * it, passes it on (`full`); the caller files it and gives it back with
 * its next scan_next.  `full` holds every block, so the reader never
 * waits to pass one on; it waits only for an empty one, and stops when
 * `stop` is set (scan_end) or the statement ends -- then it closes `full`.
 */
#define SCAN_BLOCKS 3

struct scan {
	struct sqldb_stmt *stmt;
	int ncols;
	bool text[SCAN_COLUMNS_MAX];
	struct scan_block blocks[SCAN_BLOCKS];
	struct chan *empty, *full; /* of struct scan_block * */
	pthread_t thread;
	bool threaded;
	atomic_bool stop;
	struct scan_block *held; /* the caller's block, until scan_next */
	/* Written by the reader before it closes `full`, read after it ends. */
	enum sqldb_rc rc; /* SQLDB_ROW while rows remain */
};

/* Copies the current row into b; false: no memory for its texts. */
static bool copy_row(struct scan *s, struct scan_block *b)
{
	struct scan_value *v = b->v[b->n];
	for (int c = 0; c < s->ncols; c++) {
		if (!s->text[c]) {
			v[c] = (struct scan_value){ .i = sqldb_column_int64(s->stmt, c) };
			continue;
		}
		const char *t = sqldb_column_text(s->stmt, c);
		size_t len = t ? sqldb_column_bytes(s->stmt, c) : 0;
		if (b->used + len > b->cap) {
			size_t cap = b->cap ? b->cap : 4096;
			while (cap < b->used + len)
				cap *= 2;
			char *p = realloc(b->texts, cap);
			if (!p)
				return false;
			b->texts = p;
			b->cap = cap;
		}
		if (len)
			memcpy(b->texts + b->used, t, len);
		/* An offset for now: the texts may still move. */
		v[c] = (struct scan_value){ .i = t ? (int64_t)b->used : -1,
					    .len = len };
		b->used += len;
	}
	b->n++;
	return true;
}

/* Fills b with the next rows; s->rc says how the statement stands. */
static void fill(struct scan *s, struct scan_block *b)
{
	b->n = 0;
	b->used = 0;
	while (b->n < SCAN_BLOCK_ROWS && s->rc == SQLDB_ROW) {
		s->rc = sqldb_step(s->stmt);
		if (s->rc == SQLDB_ROW && !copy_row(s, b))
			s->rc = SQLDB_ENOMEM;
	}
	for (size_t r = 0; r < b->n; r++)
		for (int c = 0; c < s->ncols; c++) {
			struct scan_value *v = &b->v[r][c];
			if (!s->text[c])
				continue;
			v->s = v->i < 0 ? NULL : b->texts + v->i;
			v->i = 0;
		}
}

static void *reader_main(void *arg)
{
	struct scan *s = arg;
	struct scan_block *b;
	while (s->rc == SQLDB_ROW && chan_recv(s->empty, &b) == CHAN_OK &&
	       !atomic_load(&s->stop)) {
		fill(s, b);
		if (b->n && chan_send(s->full, &b) != CHAN_OK)
			break; /* not possible: `full` holds every block */
	}
	chan_close(s->full);
	return NULL;
}

struct scan *scan_start(struct sqldb_stmt *stmt, const char *columns,
			bool threaded)
{
	size_t ncols = columns ? strlen(columns) : 0;
	if (ncols == 0 || ncols > SCAN_COLUMNS_MAX ||
	    strspn(columns, "ti") != ncols)
		return NULL;
	struct scan *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->stmt = stmt;
	s->ncols = (int)ncols;
	for (size_t c = 0; c < ncols; c++)
		s->text[c] = columns[c] == 't';
	s->rc = SQLDB_ROW;
	atomic_init(&s->stop, false);
	if (!threaded)
		return s;
	s->empty = chan_new(sizeof(struct scan_block *), SCAN_BLOCKS);
	s->full = chan_new(sizeof(struct scan_block *), SCAN_BLOCKS);
	bool ready = s->empty && s->full;
	for (int i = 0; ready && i < SCAN_BLOCKS; i++) {
		struct scan_block *b = &s->blocks[i];
		ready = chan_send(s->empty, &b) == CHAN_OK;
	}
	s->threaded = ready &&
		      pthread_create(&s->thread, NULL, reader_main, s) == 0;
	if (!s->threaded) { /* read on the caller's thread, then */
		chan_free(s->empty);
		chan_free(s->full);
		s->empty = s->full = NULL;
	}
	return s;
}

const struct scan_block *scan_next(struct scan *s)
{
	if (!s->threaded) {
		struct scan_block *b = &s->blocks[0];
		if (s->rc != SQLDB_ROW)
			return NULL;
		fill(s, b);
		return b->n ? b : NULL;
	}
	if (s->held) {
		/* Back to the reader; `empty` holds every block, so this
		 * cannot wait (nor fail: only scan_end closes it). */
		(void)chan_send(s->empty, &s->held);
		s->held = NULL;
	}
	struct scan_block *b;
	if (chan_recv(s->full, &b) != CHAN_OK)
		return NULL;
	s->held = b;
	return b;
}

enum sqldb_rc scan_end(struct scan *s)
{
	if (s->threaded) {
		atomic_store(&s->stop, true);
		chan_close(s->empty); /* wakes a reader waiting for a block */
		pthread_join(s->thread, NULL);
		chan_free(s->empty);
		chan_free(s->full);
	}
	enum sqldb_rc rc = s->rc;
	for (int i = 0; i < SCAN_BLOCKS; i++)
		free(s->blocks[i].texts);
	free(s);
	return rc;
}
