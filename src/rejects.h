/* rejects: --rejects FILE, the rejected rows in the roster's own format. */
#ifndef BULKREG_REJECTS_H
#define BULKREG_REJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "row.h"

/*
 * The file a user fixes and runs again as it is: the roster's header and
 * its rejected records, each followed by two columns, reason and detail
 * (a header that already ends in reason,detail -- a rejects file run again
 * -- keeps just those two).  It is written as the roster was: the same
 * delimiter, encoding (converted back from UTF-8; bulkreg's own detail
 * text transliterated where the encoding lacks a character), byte order
 * mark, Excel "sep=" line and line break; each value is the one read,
 * byte for byte (spaces around it included, except those libcsv drops
 * around an unquoted value of a line that holds a quote), quoted only when
 * it holds the delimiter, a quote or a line break.  A record that named
 * several courses (a Moodle upload row) is written once.
 *
 * Threads: the reader (main thread) feeds every record as it is read
 * (rejects_field, rejects_record_end) into an unnamed temporary file, and
 * calls rejects_flush before the rows it read go to other threads; the
 * collector then copies the rejected ones out (rejects_add).  Memory does
 * not grow with the roster, nor with a record's length: fields go through
 * one at a time (the header is kept whole).
 *
 * FILE is taken as -o's report is (report_dest.h: the same rules, the same
 * refusals).  A regular file is a temporary one beside FILE until
 * rejects_publish renames it into place; rejects_free removes it if it was
 * not published.  A device, a FIFO, or the file of standard output or
 * error is written into by rejects_sync (the file is made in an unnamed
 * temporary file until then): in place, before the commit, so it cannot be
 * taken back.
 */
struct rejects;

/* Opens `path` as report_dest_open does (a new file gets exactly `mode`;
 * a FIFO waits for its reader, and cancelled(ctx) ends that wait), and
 * creates the record spool.  ST_IO naming the path (a refused destination
 * says why); ST_CANCELLED; ST_NOMEM. */
enum status rejects_new(const char *path, unsigned mode,
			bool (*cancelled)(void *ctx), void *ctx,
			struct rejects **out, struct error *err);

/* Lowers (or raises) the most the record spool may hold, REPORT_SPOOL_MAX
 * (1 GiB) unless set: past it the capture fails, and rejects_flush says
 * so (ST_INPUT, "split the roster"). */
void rejects_set_spool_limit(struct rejects *rj, uint64_t bytes);

/* The reader's hooks: a field of the record being read (header first), and
 * the end of a record: *ref (for struct row's record_ref) is where the
 * record is kept, 0 for the header or a blank record (forgotten). */
void rejects_field(void *rj, size_t index, const unsigned char *s, size_t len);
void rejects_record_end(void *rj, bool blank, uint64_t *ref);

/* The roster's format, once its header has been read. */
struct rejects_format {
	unsigned char delimiter;
	const char *encoding;  /* NULL: UTF-8 */
	bool bom, sep_line;
	const char *eol;       /* NULL: "\n" */
};

/* Writes the beginning of the file (byte order mark, sep= line, header).
 * ST_USAGE for an encoding iconv cannot write; ST_IO; ST_NOMEM. */
enum status rejects_start(struct rejects *rj, const struct rejects_format *f,
			  struct error *err);

/* Reader thread: makes every record fed so far readable by rejects_add.
 * ST_IO. */
enum status rejects_flush(struct rejects *rj, struct error *err);

/* Collector: writes the row's record with its reason and detail if it was
 * rejected (anything else is ignored).  ST_IO; ST_NOMEM. */
enum status rejects_add(struct rejects *rj, const struct row *row,
			struct error *err);

/* Writes what is buffered and syncs it: publishing cannot lose it after.
 * A device, FIFO or standard output gets the whole file now. */
enum status rejects_sync(struct rejects *rj, struct error *err);

/* Renames the file into place (closes a device, FIFO or standard output's
 * copy).  ST_IO (the temporary file's name is then in the message, and it
 * is kept). */
enum status rejects_publish(struct rejects *rj, struct error *err);

/* The final name. */
const char *rejects_path(const struct rejects *rj);

/* The directory the file goes into, when other users could delete or
 * replace it there (report_dest_dir_shared); else NULL. */
const char *rejects_shared_dir(struct rejects *rj);

/* Frees everything; a file not published is removed. */
void rejects_free(struct rejects *rj);

#endif
