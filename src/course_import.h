/* course_import: read a courses CSV (code,title,capacity[,waitlist]). */
#ifndef BULKREG_COURSE_IMPORT_H
#define BULKREG_COURSE_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "csvread.h"
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

/* Defaults for files that carry no capacity (course import --capacity N
 * [--waitlist N]): new courses get them; existing ones keep theirs. */
struct course_import_options {
	bool has_capacity;
	int64_t capacity;
	bool has_waitlist;
	int64_t waitlist_max;          /* WAITLIST_UNLIMITED or >= 0 */
	/* --map code=HEADER,title=...,capacity=...,waitlist=...: the header
	 * each column is read from (csvread_map_parse) */
	struct csvread_map map;
	/* --encoding NAME: the file's encoding (csvread_set_encoding), or
	 * NULL for UTF-8 (a UTF-16 or UTF-32 byte order mark is found) */
	const char *encoding;
};

/* Adds --map for course files to opt->map (zeroed before the first: a
 * repeated --map adds up, as register's).  ST_USAGE naming what is wrong
 * (a field other than code, title, capacity, waitlist; no '='; a field or
 * a header given twice). */
enum status course_import_map_parse(const char *spec,
				    struct course_import_options *opt,
				    struct error *err);

struct course_import {
	const char *format;           /* "bulkreg", "canvas courses",
				       * "canvas sections", "oneroster classes",
				       * "clever sections" */
	bool has_capacity;            /* the file has a capacity column: else
				       * rows carry the --capacity default */
	struct course_import_row *rows;
	size_t count;
	struct course_import_problem *problems;
	size_t problem_count;
	/* An export's rows left out: status deleted (Canvas) or tobedeleted
	 * (OneRoster); no code (a Canvas course made by hand, no SIS id):
	 * how many, and the first's line. */
	size_t skipped_deleted, skipped_no_code;
	uint64_t first_no_code_line;
	const char *code_name;        /* the export's name for the code
				       * ("course_id"), "code" for bulkreg's */
	/* private storage */
	void *storage;
};

/*
 * Reads the whole file with libcsv (header names matched like the roster's:
 * case-insensitive, spaces, '-' and '_' alike).  The header is bulkreg's
 * own (code,title,capacity[,waitlist]) or an export's: Canvas courses.csv
 * (course_id, long_name), Canvas sections.csv (section_id, name), OneRoster
 * classes.csv (sourcedId, title), Clever sections.csv (Section_id, Name).
 * Without a capacity column, opt must give one (else ST_INPUT naming
 * --capacity) and every row carries it.  An empty waitlist cell means
 * unlimited; without a waitlist column has_waitlist is false (unlimited for
 * a new course).  Without a title column, or with an empty title, title is
 * NULL (kept as it is).  Other columns are ignored.  Every bad row is
 * collected in `problems` (reading goes on); the caller writes nothing if
 * there are any.  Returns ST_INPUT (message names the file) when the file
 * itself is unusable: missing, a directory, empty, no header, a required
 * column missing, malformed CSV, text that is not UTF-8 (or not
 * opt->encoding); ST_USAGE for an encoding iconv does not know.  A code
 * given twice is a problem on the second line.
 */
enum status course_import_read(const char *path,
			       const struct course_import_options *opt,
			       struct course_import *out, struct error *err);

void course_import_free(struct course_import *ci);

#endif
