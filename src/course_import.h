/* course_import: read a courses CSV (code,title,capacity[,waitlist]). */
#ifndef BULKREG_COURSE_IMPORT_H
#define BULKREG_COURSE_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"

struct course_import_row {
	uint64_t line;
	struct course_input input;   /* code and title point into owned storage */
};

struct course_import_problem {
	uint64_t line;
	char *message;  /* "courses.csv: line 4: capacity: 'ten' is not a whole number" */
};

struct course_import {
	struct course_import_row *rows;
	size_t count;
	struct course_import_problem *problems;
	size_t problem_count;
	/* private storage */
	void *storage;
};

/*
 * Reads the whole file with libcsv (header names matched like the roster's:
 * case-insensitive, spaces, '-' and '_' alike).  An empty waitlist cell means
 * unlimited; without a waitlist column has_waitlist is false (unlimited for
 * a new course).  Without a title column, or with an empty title, title is
 * NULL (kept as it is).  Other columns are ignored.  Every bad row is
 * collected in `problems` (reading goes on); the caller writes nothing if
 * there are any.  Returns ST_INPUT (message names the file) when the file
 * itself is unusable: missing, a directory, empty, no header, a required
 * column missing, malformed CSV.  A code given twice is a problem on the
 * second line.
 */
enum status course_import_read(const char *path, struct course_import *out,
			       struct error *err);

void course_import_free(struct course_import *ci);

#endif
