/* report_dest: where -o sends the report, and what it refuses to write to. */
#ifndef BULKREG_REPORT_DEST_H
#define BULKREG_REPORT_DEST_H

#include <stdbool.h>

#include "atomic_file.h"
#include "error.h"

/*
 * -o FILE names a regular file (or a new one): the report is written to a
 * temporary file beside it and renamed into place after the commit.  A
 * symbolic link is followed (the link stays, its target is replaced).  A
 * device such as /dev/stdout or /dev/null, or a FIFO, cannot be replaced,
 * so the report is written into it directly, as to standard output.
 *
 * Because bulkreg often runs as root in directories others can write,
 * something another user planted at the path is refused: a symbolic link,
 * FIFO or character device must belong to the caller or to root (the link
 * itself, and what it points to when that is not a regular file); a block
 * device is always refused.  /dev/stdout, /dev/null and a terminal of one's
 * own keep working.
 */
struct report_dest {
	struct atomic_file af;
	bool atomic;         /* af is open */
	int direct_fd;       /* a device or FIFO opened here, or -1 */
	char *resolved;      /* -o's target when it is a symbolic link */
	char *dir;           /* report_dest_dir's answer, once asked */
	const char *name;    /* for messages */
};

/* Standard output, until report_dest_open says otherwise. */
void report_dest_init(struct report_dest *d);

/*
 * Prepares `path`: creates the temporary file (with exactly `mode`) or
 * opens the device or FIFO.  A FIFO blocks until a reader opens it; a
 * signal interrupts that wait, and cancelled(ctx) then gives ST_CANCELLED.
 * ST_IO with the reason for a refused or unusable destination.
 */
enum status report_dest_open(struct report_dest *d, const char *path,
			     unsigned mode, bool (*cancelled)(void *ctx),
			     void *ctx, struct error *err);

/* Where the report is written. */
int report_dest_fd(const struct report_dest *d);

/* The directory of the temporary file, for the spool ("." for none in the
 * name); NULL when the report is not written through a temporary file.
 * Owned by d. */
const char *report_dest_dir(struct report_dest *d);

/* ST_USAGE when `path` (followed, as -o follows it) is the same file as
 * `other` -- the database, the roster -- which `written` would replace:
 * "OPTION PATH: that is WHAT; WRITTEN would replace it".  ST_OK when either
 * is not there. */
enum status report_dest_not_same(const char *option, const char *path,
				 const char *written, const char *other,
				 const char *what, struct error *err);

/* Closes what is still open; a temporary report not yet published is
 * removed. */
void report_dest_close(struct report_dest *d);

#endif
