/* atomic_file: write a file beside its final name, then rename it into place. */
#ifndef BULKREG_ATOMIC_FILE_H
#define BULKREG_ATOMIC_FILE_H

#include "error.h"

struct atomic_file {
	char *path;       /* final name, for messages */
	char *tmp_path;   /* temporary in the same directory, for messages */
	const char *what; /* for messages: "the report", "the rejects file" */
	int fd;
	int dirfd;        /* the directory both are in: the temporary file is
			   * created, renamed and removed through it, never
			   * by name */
	size_t dir_len;   /* path + dir_len and tmp_path + dir_len are the
			   * names in dirfd */
};

/*
 * Life cycle: open, write to fd, [sync], then publish or discard.  The
 * struct owns its strings and descriptor until a successful publish or a
 * discard releases them (leaving path = tmp_path = NULL, fd = -1).  After a
 * failed publish, call discard.  Discard is safe after any open, failed or
 * not, and after publish; never on a struct that open did not initialise.
 */

/* Creates the temporary file "<dir>/.<base>.XXXXXX" (a random suffix from
 * getrandom(), O_EXCL, O_NOFOLLOW, O_CLOEXEC) in path's directory, with
 * exactly `mode` (e.g. 0600), whatever the umask.  `what` names the file
 * in messages ("the report"; a static string, not copied).  ST_IO
 * "<path>: cannot create WHAT: ..." if the directory is missing or not
 * writable. */
enum status atomic_file_open(struct atomic_file *af, const char *path,
			     const char *what, unsigned mode, struct error *err);

/* The same in the directory open on `dirfd` (O_PATH will do; duplicated,
 * the caller keeps its own): the file `name` there, which `shown` names
 * in messages (its last component must be `name`).  Whatever `shown`'s
 * directory names later -- a link swapped in for it -- the file is
 * created, published and removed in that very directory. */
enum status atomic_file_openat(struct atomic_file *af, int dirfd,
			       const char *name, const char *shown,
			       const char *what, unsigned mode,
			       struct error *err);

/* Creates a new file in the directory open on dirfd (O_PATH will do)
 * named `name`, whose last 6 bytes are replaced by random letters and
 * digits until the name is new (O_EXCL, O_NOFOLLOW, O_CLOEXEC, read and
 * write), with exactly `mode` whatever the umask.  The descriptor, or -1
 * with errno. */
int atomic_file_create_temp(int dirfd, char *name, unsigned mode);

/* fsync()s the data: after this, publishing cannot lose it. */
enum status atomic_file_sync(struct atomic_file *af, struct error *err);

/* Syncs the data (cheap after atomic_file_sync), closes fd, renames the
 * temporary file over the final name and syncs the directory.  The struct is
 * released once the rename is done, even if the directory sync then fails. */
enum status atomic_file_publish(struct atomic_file *af, struct error *err);

/* After a failed publish: releases the struct as discard does, but leaves
 * the temporary file where it is, for the user to move by hand.  Returns
 * its name (the caller frees it), or NULL when there is none (published,
 * discarded, or out of memory). */
char *atomic_file_keep(struct atomic_file *af);

/* Removes the temporary file (if tmp_path is still set); the final name is
 * untouched.  Closes the directory.  Idempotent. */
void atomic_file_discard(struct atomic_file *af);

#endif
