/* report_dest: where -o and --rejects write, and what they refuse to write to. */
#ifndef BULKREG_REPORT_DEST_H
#define BULKREG_REPORT_DEST_H

#include <stdbool.h>

#include "atomic_file.h"
#include "error.h"

/*
 * -o FILE and --rejects FILE: one destination, one set of rules.
 *
 * FILE names a regular file (or a new one): it is written to a temporary
 * file beside it and renamed into place after the commit.  A symbolic link
 * is followed (the link stays, its target is replaced).  A device such as
 * /dev/stdout or /dev/null, or a FIFO, cannot be replaced, so it is
 * written into directly, as standard output is.
 *
 * FILE that is (followed) the very file the process's standard output or
 * standard error is -- /dev/stdout, /dev/fd/1, /proc/self/fd/2, or the
 * path of the file cron's `>> log` opened -- is written through that
 * descriptor, in place, as if no FILE had been given: renaming over it
 * would lose what the file held.  When that descriptor is closed (main.c
 * holds its place with /dev/null, read-only), /dev/stdout and its other
 * names are written through it all the same, and fail as standard output
 * does: never into that /dev/null.
 *
 * Because bulkreg often runs as root in directories others can write,
 * something another user planted on the way is refused: FILE is resolved
 * one component at a time (dest_walk), and every symbolic link met -- at
 * the path, a directory on its way, any link one's own links lead through
 * -- must belong to the caller or to root, as must a FIFO or character
 * device at the end; a block device is always refused.  A file at the
 * end that the rename could not replace (another user's, in a sticky
 * directory not the caller's, without CAP_FOWNER) is refused too, before
 * the batch, not found at the rename after the commit.  /dev/stdout,
 * /dev/null and a terminal of one's own keep working.  The directory the
 * walk ended in stays open: the temporary file is created and renamed
 * through it, so what was checked is what is written.  A regular file this
 * process opened for reading only (a descriptor past standard error: the
 * roster, by whatever name, /proc/self/fd/3) is refused, ST_USAGE.
 */
struct report_dest {
	struct atomic_file af;
	bool atomic;         /* af is open */
	int direct_fd;       /* a device, FIFO or standard output or error
			      * opened (or duplicated) here, or -1 */
	char *dir;           /* report_dest_dir's answer, once asked */
	const char *name;    /* for messages */
	const char *what;    /* "the report", "the rejects file" */
};

/* Standard output, until report_dest_open says otherwise. */
void report_dest_init(struct report_dest *d);

/*
 * Prepares `path`: creates the temporary file (with exactly `mode`) or
 * opens the device or FIFO (or duplicates standard output or error).
 * `what` names the file in messages ("the report", "the rejects file"; a
 * static string).  A FIFO blocks until a reader opens it; a signal
 * interrupts that wait, and cancelled(ctx) then gives ST_CANCELLED.  ST_IO
 * with the reason for a refused or unusable destination.
 */
enum status report_dest_open(struct report_dest *d, const char *path,
			     const char *what, unsigned mode,
			     bool (*cancelled)(void *ctx), void *ctx,
			     struct error *err);

/* Where the report is written. */
int report_dest_fd(const struct report_dest *d);

/* The directory of the temporary file, for the spool ("." for none in the
 * name); NULL when the report is not written through a temporary file.
 * Owned by d. */
const char *report_dest_dir(struct report_dest *d);

/* Whether that directory (the one the temporary file is in) lets other
 * users delete or replace the file once written (dest_dir_shared); false
 * when there is none.  For a warning. */
bool report_dest_dir_shared(const struct report_dest *d);

/* That directory's descriptor, the one the walk checked (O_PATH), or -1:
 * the spool is created through it, not by its name (review 21, F05). */
int report_dest_dirfd(const struct report_dest *d);

/* 1 or 2 when `path` (followed) is the very file standard output or
 * standard error is open for writing on, as report_dest_open would write
 * through it; -1 otherwise. */
int report_dest_stdio_fd(const char *path);

/* ST_USAGE when `path` (followed, as -o follows it) is the same file as
 * `other` -- the database, the roster -- which `written` would replace:
 * "OPTION PATH: that is WHAT; WRITTEN would replace it".  ST_OK when either
 * is not there. */
enum status report_dest_not_same(const char *option, const char *path,
				 const char *written, const char *other,
				 const char *what, struct error *err);

/* The same, compared also by name (the directories resolved, `path` and
 * `other` followed when they are links to files that exist): neither
 * needs to exist (-o and --rejects naming one new file).  A `path` that
 * is a device or FIFO is never refused (it is written into, not
 * replaced).  ST_NOMEM. */
enum status report_dest_not_named(const char *option, const char *path,
				  const char *written, const char *other,
				  const char *what, struct error *err);

/* ST_USAGE when `path` names the SQLite database `db` or one of the files
 * SQLite keeps beside it (DB-wal, DB-shm, DB-journal), compared by name:
 * the directories resolved, and `path` followed when it is a link to a
 * file that exists; neither needs to exist ("OPTION PATH: that is the
 * database's -wal file ...").  ST_NOMEM. */
enum status report_dest_not_db_file(const char *option, const char *path,
				    const char *written, const char *db,
				    struct error *err);

/* Closes what is still open; a temporary report not yet published is
 * removed. */
void report_dest_close(struct report_dest *d);

#endif
