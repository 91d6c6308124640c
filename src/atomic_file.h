/* atomic_file: write a file beside its final name, then rename it into place. */
#ifndef BULKREG_ATOMIC_FILE_H
#define BULKREG_ATOMIC_FILE_H

#include "error.h"

struct atomic_file {
	char *path;       /* final name */
	char *tmp_path;   /* temporary in the same directory */
	int fd;
};

/* Creates the temporary file (mode 0666 & ~umask) in path's directory.
 * ST_IO naming the path if the directory is missing or not writable. */
enum status atomic_file_open(struct atomic_file *af, const char *path,
			     struct error *err);

/* fsync()s the data: after this, publishing cannot lose it. */
enum status atomic_file_sync(struct atomic_file *af, struct error *err);

/* Renames the temporary file over the final name and syncs the directory. */
enum status atomic_file_publish(struct atomic_file *af, struct error *err);

/* Removes the temporary file; the final name is untouched.  Idempotent. */
void atomic_file_discard(struct atomic_file *af);

#endif
