/* copy_db: a whole database from one store into an empty other (copy-db). */
#ifndef BULKREG_COPY_DB_H
#define BULKREG_COPY_DB_H

#include <stdint.h>

#include "db.h"
#include "error.h"

/* The tables copy_db copies, in the order it copies them. */
enum copy_table {
	COPY_COURSES,
	COPY_STUDENTS,
	COPY_BATCHES,
	COPY_REGISTRATIONS,
	COPY_HISTORY,
	COPY_BATCH_COURSES,
	COPY_TABLES
};

/* The table's name ("courses", ...). */
const char *copy_table_name(enum copy_table t);

/* Rows copied, per table. */
struct copy_counts {
	int64_t rows[COPY_TABLES];
};

/*
 * Copies every row of every table of `from` into `to` -- courses,
 * students, batches, registrations, the history and the courses as each
 * batch found them -- ids, times and counters as they are, so that every
 * listing of `to` afterwards is the listing of `from`, and new batches in
 * `to` get the ids they would get in `from`.  Both are open on the same
 * schema version (db_open_target upgrades both).  Reads `from` in one
 * snapshot and writes `to` in one transaction, which holds `to`'s tables
 * locked against other writers: either every row is copied, or `to` is
 * left as it was.
 *
 * Errors: ST_USAGE (nothing written) when `to` holds any row, naming what
 * it holds; ST_DB, ST_BUSY, ST_IO, ST_NOMEM from either store, naming it,
 * `to` unchanged.
 */
enum status copy_db(struct db *from, struct db *to, struct copy_counts *out,
		    struct error *err);

#endif
