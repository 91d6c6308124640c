/* report: the per-row report of a batch, in text, csv or json. */
#ifndef BULKREG_REPORT_H
#define BULKREG_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "db.h"
#include "error.h"
#include "escape.h"
#include "row.h"

enum report_format { REPORT_TEXT, REPORT_CSV, REPORT_JSON, REPORT_HTML };

struct course_table;

/* Parses "text", "csv", "json", "html"; false if none matches. */
bool report_format_parse(const char *s, enum report_format *out);

struct report_summary {
	int64_t batch_id;
	const char *source;          /* display name of the roster */
	const char *profile;         /* "bulkreg", "canvas"... (issue 12), or
				      * NULL */
	const char *sha256;          /* hex, or NULL */
	const char *label;           /* NULL if none */
	/* Why --strict, --max-rejects or --max-drops rolled the batch back
	 * (or would have, for a dry run), or NULL. */
	const char *rolled_back_why;
	int64_t undo_of;             /* an undo: the batch it undoes; else 0 */
	bool drop;                   /* a drop batch: drops are its counts */
	enum batch_outcome outcome;
	const struct outcome_counts *counts;
	double elapsed_seconds;
	size_t workers;
	/* -q: the text report is the headline and the rejected rows only. */
	bool quiet;
	/* --check timing; checks == 0 when no check ran. */
	int64_t checks;
	double check_median_seconds, check_max_seconds;
	/* html: the courses after the batch (the fill chart), or NULL. */
	const struct course_table *courses;
};

struct report;

/* The most the spool may hold (its file never grows past it): 1 GiB,
 * about 12 million csv rows. */
#define REPORT_SPOOL_MAX ((uint64_t)1 << 30)

/* A report being built: rows are spooled to a temporary file that has no
 * name, as spool_open (spool.h) makes it (in dirfd, else dir, else $TMPDIR),
 * so memory does not grow with the roster. */
enum status report_new(enum report_format fmt, int dirfd, const char *dir,
		       struct report **out, struct error *err);

/* text: list every row in the table (--all), with its status and waitlist
 * position, not only the rejected ones.  Call before the first row. */
void report_set_all(struct report *r, bool all);

/* Lowers (or raises) the spool's limit from REPORT_SPOOL_MAX. */
void report_set_spool_limit(struct report *r, uint64_t bytes);

/*
 * Adds one row, in roster order.  csv/json keep every row; text keeps the
 * rejected ones for its table.  Values are echoed as read (at most
 * ROW_VALUE_MAX bytes).  ST_INPUT (naming the row's line) once the spool
 * would pass its limit (REPORT_SPOOL_MAX).  The hot path: no allocation per row.
 */
enum status report_add_row(struct report *r, const struct row *row,
			   struct error *err);

/*
 * Writes the whole report to `fd`, checking every write: ST_IO with a
 * message naming `dest_name` if any fails (full disk, closed descriptor).
 * fd stays open (the caller owns it).  A pipe whose reader is gone raises
 * SIGPIPE unless the caller ignores it; ignored, it is ST_IO (EPIPE).  The
 * spool is left as it was, so a report can be written again.
 *   csv:  line,student_id,course,status,position,reason,detail, LF line
 *         ends, RFC 4180 quoting -- a field that starts with = + - @ TAB or
 *         CR gets a leading ' (formula injection); NUL bytes become U+FFFD.
 *   json: one object: batch, source, sha256, label, profile, outcome, summary
 *         {rows, <status>: n..., reasons {<reason>: n}}, results [...];
 *         absent values are null; invalid UTF-8 bytes become U+FFFD.
 *   text: summary (counts, rejections by reason, batch, elapsed, rows/s,
 *         check timings) and a table of the rejected rows (with
 *         report_set_all: of every row, with STATUS and POSITION columns).
 */
enum status report_write(struct report *r, const struct report_summary *s,
			 int fd, const char *dest_name, struct error *err);

/* Lets report_write give up (ST_CANCELLED) when a write it is blocked in
 * is interrupted by a signal and cancelled(ctx) says so -- a reader that
 * never reads must not hold the process forever. */
void report_set_cancel(struct report *r, bool (*cancelled)(void *ctx),
		       void *ctx);

void report_free(struct report *r);

/* Whether the text and html summaries give status st of this batch: a
 * status that occurred, and the ones its kind is about even at 0 --
 * register's four and rejected, drop's dropped, promoted and rejected, an
 * undo's dropped, registered, waitlisted and promoted. */
bool report_shows_status(const struct report_summary *s, int st);

/* The statuses in the order the summaries list them for this batch's
 * kind: what it is about first.  STATUS_COUNT - 1 entries. */
const int *report_status_order(const struct report_summary *s);

/* Whether the batch changed nothing at all (rows were read, none was
 * registered, waitlisted, promoted or dropped, no student's values
 * changed): a re-run's "nothing changed". */
bool report_changed_nothing(const struct report_summary *s);

/* "Nothing changed: 8 rows already there." ("Nothing would change" for a
 * dry run; a drop's rows are "not registered"; rows rejected or skipped
 * counted after) into buf; false, buf untouched, unless the batch changed
 * nothing (report_changed_nothing) and was not rolled back. */
bool report_nothing_changed_words(const struct report_summary *s, char *buf,
				  size_t cap);


/* A batch's source as a reader is told it: "standard input" for the
 * recorded "stdin", else the source itself. */
const char *report_source_words(const char *source);

#endif
