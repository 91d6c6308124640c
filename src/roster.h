/* roster: streams a roster CSV with libcsv, one row at a time. */
#ifndef BULKREG_ROSTER_H
#define BULKREG_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "profile.h"
#include "row.h"

#define ROSTER_MAX_COLUMNS 1024
#define ROSTER_FIELD_HARD_MAX (16u << 20) /* a field beyond this: unusable input */

struct roster_options {
	unsigned char delimiter;       /* ',', ';', '\t' or '|' */
	bool delimiter_given;          /* --delimiter: wins over a "sep=" line */
	const char *course_override;   /* --course CODE, or NULL */
	enum row_action action;        /* what every row asks: ROW_DROP for
					* `bulkreg drop` (no email column
					* needed then) */
	const char *encoding;          /* --encoding NAME, or NULL: UTF-8 */
	const char *users_encoding;    /* --users-encoding NAME for users_path,
					* or NULL: `encoding` */
	const char *profile;           /* --profile NAME, or NULL: detected */
	const struct csvread_map *map; /* --map, or NULL */
	bool course_from_section;      /* --course-from section_id */
	const char *users_path;        /* --users FILE, or NULL */
	/* Asked when a read is interrupted (EINTR): return true to stop with
	 * ST_CANCELLED.  May be NULL. */
	bool (*cancelled)(void *ctx);
	void *cancel_ctx;
	/* Every record as read, header first (--rejects): its fields, as
	 * csvread_field_untrimmed gives them, then its end (blank: forget
	 * it), which sets the row's record_ref.  NULL for none. */
	void (*copy_field)(void *ctx, size_t index, const unsigned char *s,
			   size_t len);
	void (*copy_end)(void *ctx, bool blank, uint64_t *ref);
	void *copy_ctx;
};

/* How the roster file is written (for a file in its own format). */
struct roster_file_format {
	unsigned char delimiter;
	const char *encoding;    /* NULL: UTF-8 */
	bool bom, sep_line;
	const char *eol;         /* the first line break, or NULL */
};

struct roster_reader;

/*
 * Opens `path` ("-" = standard input) and reads the header.  Fails with
 * ST_INPUT and a message naming the file (and line/column where it applies)
 * for: a missing, unreadable or non-regular-and-non-FIFO file (a directory),
 * empty input, no header, text that is not UTF-8 (or not the encoding
 * given), a spreadsheet, a required column missing (the message lists the
 * columns found), a column named twice, more than ROSTER_MAX_COLUMNS
 * columns; ST_USAGE for an encoding iconv does not know.
 * Required columns: student_id, and course unless course_override (the
 * email is optional).
 */
enum status roster_open(const char *path, const struct roster_options *opts,
			struct roster_reader **out, struct error *err);

/* Warnings from the header (unknown columns ignored; the course column
 * ignored because of --course), each one complete sentence. */
size_t roster_warning_count(const struct roster_reader *r);
const char *roster_warning(const struct roster_reader *r, size_t i);

/* The next warning the record just read raised, or NULL (then none is
 * left): a status bulkreg does not know, said once per distinct value
 * with the file and line it was first seen on.  Take them after each
 * roster_next. */
const char *roster_take_warning(struct roster_reader *r);

/* The profile the roster is read with: "bulkreg", "oneroster", ...;
 * "map" for today's headers with --map. */
const char *roster_profile(const struct roster_reader *r);

/* The memory the reader holds for the whole run (the --users index), in
 * bytes: the batch's own structures budget around it. */
size_t roster_held_bytes(const struct roster_reader *r);

/* The file's delimiter, encoding, byte order mark, "sep=" line and line
 * break, as read so far. */
void roster_file_format(const struct roster_reader *r,
			struct roster_file_format *out);

/* Number of columns in the header. */
size_t roster_columns(const struct roster_reader *r);

/* "stdin" for "-", else the path as given. */
const char *roster_name(const struct roster_reader *r);

/*
 * Reads the next data record into *row: line, nfields, present and v[];
 * the outcome part is reset.  With course_override every row's course value
 * is that code.  Blank lines are skipped.
 * Returns ST_OK, ST_EOF after the last record, ST_INPUT for text that is
 * not UTF-8 (the whole batch is void: nothing may be written), an
 * unterminated quote (naming the line where that record starts) or a
 * field beyond ROSTER_FIELD_HARD_MAX, ST_IO on a read error, ST_CANCELLED.
 * A record with text after a closing quote comes back with `malformed` set.
 * Never allocates per row.
 */
enum status roster_next(struct roster_reader *r, struct row *row,
			struct error *err);

/* The SHA-256 of every byte read, in hex; complete once ST_EOF was seen. */
void roster_sha256_hex(const struct roster_reader *r, char hex[65]);
/* The --users file's SHA-256 in hex, or NULL without --users. */
const char *roster_users_sha256_hex(const struct roster_reader *r);

/* Bytes read so far. */
uint64_t roster_bytes_read(const struct roster_reader *r);

/* Bytes of the roster parsed so far (rows handed out and the header), for
 * a progress display's estimate of the total. */
uint64_t roster_bytes_parsed(const struct roster_reader *r);

/* The roster file's size in bytes; 0 when it is not a regular file. */
uint64_t roster_input_size(const struct roster_reader *r);

void roster_close(struct roster_reader *r);

#endif
