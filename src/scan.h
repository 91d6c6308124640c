/* scan: a statement's rows read on a thread of their own, handed over in blocks. */
#ifndef BULKREG_SCAN_H
#define BULKREG_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sqldb.h"

/*
 * Reading a table into memory is two jobs of about equal cost: stepping
 * the statement and copying its columns out (SQLite), and filing each row
 * (the caller: a look-up or two in a hash index).  A scan does the first
 * on a thread of its own, a block of rows ahead, while the caller files
 * the block before: the two overlap (a nightly run read 849k pairs and
 * 246k students before deciding its first row, one job after the other).
 *
 * Until scan_end, the statement's connection is the scan's: the caller
 * must not use it (nor any statement of it).  Texts are copied into the
 * block, so they stay valid until the next scan_next.
 */
#define SCAN_COLUMNS_MAX 6
#define SCAN_BLOCK_ROWS 256

struct scan_value {
	int64_t i;     /* an integer column (NULL reads as 0) */
	const char *s; /* a text column (NULL: SQL NULL), len bytes */
	size_t len;
};

struct scan_block {
	size_t n;
	struct scan_value v[SCAN_BLOCK_ROWS][SCAN_COLUMNS_MAX];
	char *texts; /* where the block's texts are */
	size_t used, cap;
};

struct scan;

/*
 * Starts reading stmt (prepared and bound, not yet stepped).  columns
 * spells each column's kind, 't' text or 'i' integer ("tiii").
 * threaded: read on a thread of its own; false, or when no thread can be
 * had, the rows are read by scan_next on the caller's thread (the same
 * blocks).  NULL: out of memory, or columns malformed.
 */
struct scan *scan_start(struct sqldb_stmt *stmt, const char *columns,
			bool threaded);

/* The next block of rows, in the statement's order; NULL when there are
 * no more (scan_end says why). */
const struct scan_block *scan_next(struct scan *s);

/*
 * Stops reading (at once, if rows remain), waits for the thread, frees the
 * scan.  SQLDB_DONE: every row was read; SQLDB_ROW: stopped before the
 * end; else the step's error class (SQLDB_ENOMEM: no memory for a
 * block's texts).  The statement is left for the caller to reset or
 * finalize.
 */
enum sqldb_rc scan_end(struct scan *s);

#endif
