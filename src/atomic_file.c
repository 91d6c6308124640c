/* atomic_file: write beside the final name, then rename into place; see atomic_file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* splitmix64: spreads a weak seed over all bits. */
static uint64_t mix64(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

static void fill_suffix(char *s, uint64_t *state)
{
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint64_t bits = mix64((*state)++);
	for (int i = 0; i < TEMP_SUFFIX_LEN; i++) {
		s[i] = alphabet[bits % (sizeof(alphabet) - 1)];
		bits /= sizeof(alphabet) - 1;
	}
}

/*
 * Like mkstemp, but created with mode 0666 so that the umask (and a default
 * ACL) apply exactly as to any newly created file.  mkstemp's 0600 would
 * need an fchmod to 0666 & ~umask, and reading the umask means changing it,
 * which races with other threads creating files.  O_EXCL makes the name ours.
 */
static int create_temp(char *tmp, size_t suffix_at)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t state = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
			 ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)tmp;
	for (int i = 0; i < TEMP_ATTEMPTS; i++) {
		fill_suffix(tmp + suffix_at, &state);
		int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1; /* errno is EEXIST */
}

static void clear(struct atomic_file *af)
{
	af->path = NULL;
	af->tmp_path = NULL;
	af->fd = -1;
}

enum status atomic_file_open(struct atomic_file *af, const char *path,
			     struct error *err)
{
	clear(af);
	size_t dlen = dir_prefix_len(path);
	const char *base = path + dlen;
	struct stat sb;
	if (*base == '\0' || (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)))
		return error_set(err, ST_IO, "%s: cannot create the report: %s",
				 path, strerror(EISDIR));

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

	int fd = create_temp(tmp, tlen - TEMP_SUFFIX_LEN);
	if (fd < 0) {
		int e = errno;
		free(final);
		free(tmp);
		return error_set(err, ST_IO, "%s: cannot create the report: %s",
				 path, strerror(e));
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
		return error_set(err, ST_IO, "%s: cannot sync the report: %s",
				 af->path, strerror(errno));
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
		return error_set(err, ST_IO, "%s: cannot close the report: %s",
				 af->path, strerror(errno));
	if (rename(af->tmp_path, af->path) != 0)
		return error_set(err, ST_IO, "%s: cannot put the report in place: %s",
				 af->path, strerror(errno));
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
