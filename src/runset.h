/* runset: sorted runs of records spilled to a temporary file. */
#ifndef BULKREG_RUNSET_H
#define BULKREG_RUNSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * A batch bigger than its cache's budget used to write each part into the
 * tables as the cache filled: every part's writes, sorted, still landed
 * all over B-trees that grew to hundreds of megabytes, once per part (a
 * 5M-row first run: 16 parts, half its time).  Now each part is written
 * here instead, as a run sorted by key, appended to one temporary file
 * (no name; gone however the process ends), and the runs go into the
 * tables once, merged in key order (db_store.c).  Until then the runs are
 * what the batch wrote: look-ups read them before the tables.
 *
 * A record is a key and a value, bytes each.  Keys are ordered as SQLite
 * orders BLOBs and BINARY text: bytes by memcmp, then the shorter first.
 * Within a run keys are strictly increasing; a later run's record of a key
 * replaces every earlier one.  Memory per run: a Bloom filter (8 bits a
 * record: a look-up reads only the runs that may hold its key) and one key
 * in every 4 KiB block of the file (a look-up reads one block).
 */
struct runset;

/* NULL: out of memory.  seed keys the filters' hash. */
struct runset *runset_new(uint64_t seed);
void runset_free(struct runset *rs);

/* Runs held, their records (a key in several runs counted in each), and
 * the bytes of memory they take. */
size_t runset_count(const struct runset *rs);
size_t runset_records(const struct runset *rs);
size_t runset_bytes(const struct runset *rs);

/* Writing a run: begin (at most max_records of them), records in strictly
 * increasing key order, end.  A run with no record is not kept.  ST_IO:
 * the temporary file could not be made or written ($TMPDIR named); the
 * run is then dropped, the earlier ones stay. */
enum status runset_begin(struct runset *rs, size_t max_records,
			 struct error *err);
enum status runset_add(struct runset *rs, const void *key, size_t klen,
		       const void *val, size_t vlen, struct error *err);
enum status runset_end(struct runset *rs, struct error *err);

/* The newest record of the key: *found, and its value in *val (vlen
 * bytes; valid until the next call on rs). */
enum status runset_find(struct runset *rs, const void *key, size_t klen,
			const unsigned char **val, size_t *vlen, bool *found,
			struct error *err);

/* Every key that starts with prefix (plen 0: every key), once, with its
 * newest record, in key order.  fn's status other than ST_OK stops the
 * walk and is returned. */
typedef enum status (*runset_fn)(void *ctx, const unsigned char *key,
				 size_t klen, const unsigned char *val,
				 size_t vlen, struct error *err);
enum status runset_each(struct runset *rs, const void *prefix, size_t plen,
			runset_fn fn, void *ctx, struct error *err);

/* Forgets every run (what they held was written elsewhere). */
void runset_clear(struct runset *rs);

/* The order of keys: <0, 0, >0. */
int runset_key_cmp(const void *a, size_t alen, const void *b, size_t blen);

#endif
