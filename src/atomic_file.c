/* atomic_file: write beside the final name, then rename into place; see atomic_file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"

#define TEMP_SUFFIX_LEN 6
#define TEMP_ATTEMPTS 100

/* Length of the directory part of path, slash included (0: no slash). */
static size_t dir_prefix_len(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? (size_t)(slash - path) + 1 : 0;
}

/* Fills s with random letters and digits from getrandom(): the name is
 * O_EXCL-created anyway, so this only keeps others from guessing it. */
static bool fill_suffix(char *s)
{
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char bytes[TEMP_SUFFIX_LEN];
	size_t got = 0;
	while (got < sizeof(bytes)) {
		ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
		if (n < 0 && errno != EINTR)
			return false;
		if (n > 0)
			got += (size_t)n;
	}
	for (int i = 0; i < TEMP_SUFFIX_LEN; i++)
		s[i] = alphabet[bytes[i] % (sizeof(alphabet) - 1)];
	return true;
}

/*
 * Like mkstemp, with the mode asked for: created with `mode` and then set
 * to exactly that (fchmod), so the umask can neither widen nor narrow what
 * the report's readers get.  O_EXCL makes the name ours; O_NOFOLLOW keeps
 * it ours even if a link appears there.
 */
static int create_temp(char *tmp, size_t suffix_at, unsigned mode)
{
	for (int i = 0; i < TEMP_ATTEMPTS; i++) {
		if (!fill_suffix(tmp + suffix_at))
			return -1;
		int fd = open(tmp,
			      O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			      (mode_t)mode);
		if (fd >= 0 && fchmod(fd, (mode_t)mode) != 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			errno = e;
			return -1;
		}
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1; /* errno is EEXIST */
}

static void clear(struct atomic_file *af)
{
	af->path = NULL;
	af->what = "the report";
	af->tmp_path = NULL;
	af->fd = -1;
}

enum status atomic_file_open(struct atomic_file *af, const char *path,
			     const char *what, unsigned mode, struct error *err)
{
	clear(af);
	af->what = what;
	size_t dlen = dir_prefix_len(path);
	const char *base = path + dlen;
	struct stat sb;
	if (*base == '\0' || (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)))
		return error_set(err, ST_IO, "%s: cannot create %s: %s", path,
				 what, strerror(EISDIR));

	/* "<dir>/.<base>.XXXXXX": hidden, and on the same filesystem so that
	 * rename() is atomic. */
	size_t blen = strlen(base);
	size_t tlen = dlen + 1 + blen + 1 + TEMP_SUFFIX_LEN;
	char *final = strdup(path);
	char *tmp = malloc(tlen + 1);
	if (!final || !tmp) {
		free(final);
		free(tmp);
		return error_set(err, ST_NOMEM, "%s: out of memory", path);
	}
	memcpy(tmp, path, dlen);
	tmp[dlen] = '.';
	memcpy(tmp + dlen + 1, base, blen);
	tmp[dlen + 1 + blen] = '.';
	tmp[tlen] = '\0';

	int fd = create_temp(tmp, tlen - TEMP_SUFFIX_LEN, mode);
	if (fd < 0) {
		int e = errno;
		free(final);
		free(tmp);
		return error_set(err, ST_IO, "%s: cannot create %s: %s", path,
				 what, strerror(e));
	}
	af->path = final;
	af->tmp_path = tmp;
	af->fd = fd;
	return ST_OK;
}

enum status atomic_file_sync(struct atomic_file *af, struct error *err)
{
	if (af->fd < 0)
		abort(); /* not open, or already published or discarded */
	if (fsync(af->fd) != 0)
		return error_set(err, ST_IO, "%s: cannot sync %s: %s", af->path,
				 af->what, strerror(errno));
	return ST_OK;
}

/* Makes the rename itself durable.  Filesystems that cannot sync a
 * directory say EINVAL; there is nothing more to do on those. */
static enum status sync_dir(const char *path, struct error *err)
{
	size_t dlen = dir_prefix_len(path);
	char *dir = dlen ? strndup(path, dlen) : strdup(".");
	if (!dir)
		return error_set(err, ST_NOMEM, "%s: out of memory", path);
	enum status st = ST_OK;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL))
		st = error_set(err, ST_IO, "%s: cannot sync the directory: %s",
			       dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return st;
}

enum status atomic_file_publish(struct atomic_file *af, struct error *err)
{
	enum status st = atomic_file_sync(af, err);
	if (st != ST_OK)
		return st;
	int rc = close(af->fd);
	af->fd = -1;
	if (rc != 0)
		return error_set(err, ST_IO, "%s: cannot close %s: %s", af->path,
				 af->what, strerror(errno));
	int rc2;
	/* A signal after the commit must not strand the report. */
	while ((rc2 = rename(af->tmp_path, af->path)) != 0 && errno == EINTR)
		;
	if (rc2 != 0)
		return error_set(err, ST_IO, "%s: cannot put %s in place: %s",
				 af->path, af->what, strerror(errno));
	free(af->tmp_path);
	af->tmp_path = NULL;
	/* Published: the file is in place whether or not the directory sync
	 * works, so the struct is released either way. */
	st = sync_dir(af->path, err);
	free(af->path);
	clear(af);
	return st;
}

void atomic_file_discard(struct atomic_file *af)
{
	if (af->fd >= 0)
		close(af->fd);
	if (af->tmp_path)
		unlink(af->tmp_path);
	free(af->tmp_path);
	free(af->path);
	clear(af);
}
