/* spool: a temporary file with no name, for what a batch keeps aside. */
#ifndef BULKREG_SPOOL_H
#define BULKREG_SPOOL_H

#include <stdio.h>

#include "error.h"

/* A file with no name in the directory open on `dirfd` (O_PATH will do;
 * `dir` names it in messages), or, when dirfd is -1, in `dir` (or $TMPDIR,
 * default /tmp, when dir is NULL): gone by itself however the process
 * ends, and never visible to anyone (O_TMPFILE; else a file of mode 0600
 * created exclusively and unlinked at once, through the same
 * descriptor).  ST_IO names dir and `what` ("temporary report file").
 * The report's spool, the rejects' records, a batch's spilled runs. */
enum status spool_open(int dirfd, const char *dir, const char *what,
		       FILE **out, struct error *err);

/* The directory spool_open uses when dirfd is -1: dir, else $TMPDIR, else
 * /tmp (for messages). */
const char *spool_dir(const char *dir);

#endif
