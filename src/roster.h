/* roster: streams a roster CSV with libcsv, one row at a time. */
#ifndef BULKREG_ROSTER_H
#define BULKREG_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "row.h"

#define ROSTER_MAX_COLUMNS 1024
#define ROSTER_FIELD_HARD_MAX (16u << 20) /* a field beyond this: unusable input */

struct roster_options {
	unsigned char delimiter;       /* ',', ';', '\t' or '|' */
	const char *course_override;   /* --course CODE, or NULL */
	enum row_action action;        /* what every row asks: ROW_DROP for
					* `bulkreg drop` (no email column
					* needed then) */
	/* Asked when a read is interrupted (EINTR): return true to stop with
	 * ST_CANCELLED.  May be NULL. */
	bool (*cancelled)(void *ctx);
	void *cancel_ctx;
};

struct roster_reader;

/*
 * Opens `path` ("-" = standard input) and reads the header.  Fails with
 * ST_INPUT and a message naming the file (and line/column where it applies)
 * for: a missing, unreadable or non-regular-and-non-FIFO file (a directory),
 * empty input, no header, invalid UTF-8 in the header, a required column
 * missing (the message lists the columns found), a column named twice, more
 * than ROSTER_MAX_COLUMNS columns, malformed CSV.
 * Required columns: student_id, email (not for drops), and course unless
 * course_override.
 */
enum status roster_open(const char *path, const struct roster_options *opts,
			struct roster_reader **out, struct error *err);

/* Warnings from the header (unknown columns ignored; the course column
 * ignored because of --course), each one complete sentence. */
size_t roster_warning_count(const struct roster_reader *r);
const char *roster_warning(const struct roster_reader *r, size_t i);

/* Number of columns in the header. */
size_t roster_columns(const struct roster_reader *r);

/* "stdin" for "-", else the path as given. */
const char *roster_name(const struct roster_reader *r);

/*
 * Reads the next data record into *row: line, nfields, present and v[];
 * the outcome part is reset.  With course_override every row's course value
 * is that code.  Blank lines are skipped.
 * Returns ST_OK, ST_EOF after the last record, ST_INPUT for malformed CSV
 * (an unterminated quote names the line where that record starts) or a
 * field beyond ROSTER_FIELD_HARD_MAX, ST_IO on a read error, ST_CANCELLED.
 * Never allocates per row.
 */
enum status roster_next(struct roster_reader *r, struct row *row,
			struct error *err);

/* The SHA-256 of every byte read, in hex; complete once ST_EOF was seen. */
void roster_sha256_hex(const struct roster_reader *r, char hex[65]);

/* Bytes read so far. */
uint64_t roster_bytes_read(const struct roster_reader *r);

void roster_close(struct roster_reader *r);

#endif
