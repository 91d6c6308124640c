/* spool: a temporary file with no name (spool.h). */
#define _GNU_SOURCE /* O_TMPFILE, O_PATH */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"

const char *spool_dir(const char *dir)
{
	if (!dir) {
		dir = getenv("TMPDIR");
		if (!dir || !*dir)
			dir = "/tmp";
	}
	return dir;
}

enum status spool_open(int dirfd, const char *dir, const char *what,
		       FILE **out, struct error *err)
{
	int own = -1;
	if (dirfd < 0) {
		dir = spool_dir(dir);
		dirfd = own = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (own < 0)
			return error_set(err, ST_IO, "%s: cannot create the %s: %s",
					 dir, what, strerror(errno));
	}
	/* In the very directory that was checked (review 21, F05): through
	 * its descriptor, never by its name again. */
	int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		char name[] = ".bulkreg-spool.XXXXXX";
		fd = atomic_file_create_temp(dirfd, name, 0600);
		if (fd >= 0)
			unlinkat(dirfd, name, 0);
	}
	int e = errno;
	if (own >= 0)
		close(own);
	if (fd < 0)
		return error_set(err, ST_IO, "%s: cannot create the %s: %s", dir,
				 what, strerror(e));
	if (!(*out = fdopen(fd, "w+"))) {
		e = errno;
		close(fd);
		return error_set(err, ST_IO, "%s: cannot open the %s: %s", dir,
				 what, strerror(e));
	}
	return ST_OK;
}
