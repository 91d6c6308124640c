/* atomic_file: write beside the final name, then rename into place; see atomic_file.h. */
#define _GNU_SOURCE /* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
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

/* A default ACL on the directory gives a new file named users' and
 * groups' entries, capped by the group bits: with 0640 (--group-readable)
 * a named user could read it.  The file gets exactly its mode: the
 * inherited access ACL is removed (review 21, F06).  False with errno
 * when it is there and cannot be removed. */
static bool no_acl_errno(int e)
{
	return e == ENODATA || e == ENOTSUP || e == EOPNOTSUPP || e == ENOSYS;
}

static bool drop_inherited_acl(int fd)
{
	static const char name[] = "system.posix_acl_access";
	if (fremovexattr(fd, name) == 0 || no_acl_errno(errno))
		return true;
	/* A filesystem that refuses the removal for its own reasons: fine
	 * as long as there is no ACL to remove. */
	int e = errno;
	if (fgetxattr(fd, name, NULL, 0) < 0 && no_acl_errno(errno))
		return true;
	errno = e;
	return false;
}

/*
 * Like mkstemp, with the mode asked for, in the directory open on dirfd:
 * created with `mode` and then set to exactly that (fchmod), so the umask
 * can neither widen nor narrow what the report's readers get.  O_EXCL
 * makes the name ours; O_NOFOLLOW keeps it ours even if a link appears
 * there.  `name` is the temporary's name, its last TEMP_SUFFIX_LEN bytes
 * the random part.
 */
int atomic_file_create_temp(int dirfd, char *name, unsigned mode)
{
	char *suffix = name + strlen(name) - TEMP_SUFFIX_LEN;
	for (int i = 0; i < TEMP_ATTEMPTS; i++) {
		if (!fill_suffix(suffix))
			return -1;
		int fd = openat(dirfd, name,
				O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				(mode_t)mode);
		if (fd >= 0 && (!drop_inherited_acl(fd) ||
				fchmod(fd, (mode_t)mode) != 0)) {
			int e = errno;
			close(fd);
			unlinkat(dirfd, name, 0);
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
	af->dirfd = -1;
	af->dir_len = 0;
}

enum status atomic_file_open(struct atomic_file *af, const char *path,
			     const char *what, unsigned mode, struct error *err)
{
	clear(af);
	af->what = what;
	size_t dlen = dir_prefix_len(path);
	const char *base = path + dlen;
	struct stat sb;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
	    (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)))
		return error_set(err, ST_IO, "%s: cannot create %s: %s", path,
				 what, strerror(EISDIR));
	char *dir = dlen ? strndup(path, dlen) : strdup(".");
	if (!dir)
		return error_set(err, ST_NOMEM, "%s: out of memory", path);
	int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int e = errno;
	free(dir);
	if (dirfd < 0)
		return error_set(err, ST_IO, "%s: cannot create %s: %s", path,
				 what, strerror(e));
	enum status st = atomic_file_openat(af, dirfd, base, path, what, mode, err);
	close(dirfd);
	return st;
}

enum status atomic_file_openat(struct atomic_file *af, int dirfd,
			       const char *name, const char *shown,
			       const char *what, unsigned mode,
			       struct error *err)
{
	clear(af);
	af->what = what;
	size_t dlen = dir_prefix_len(shown);
	size_t blen = strlen(name);
	if (strcmp(shown + dlen, name) != 0) {
		fputs("bulkreg: internal error: atomic_file_openat: the name "
		      "shown does not end in the name\n",
		      stderr);
		abort();
	}
	/* "<dir>/.<base>.XXXXXX": hidden, and in the same directory so that
	 * the rename is atomic. */
	size_t tlen = dlen + 1 + blen + 1 + TEMP_SUFFIX_LEN;
	char *final = strdup(shown);
	char *tmp = malloc(tlen + 1);
	int dfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (!final || !tmp || dfd < 0) {
		int e = dfd < 0 ? errno : ENOMEM;
		free(final);
		free(tmp);
		if (dfd >= 0)
			close(dfd);
		return e == ENOMEM ? error_set(err, ST_NOMEM, "%s: out of memory", shown) :
				     error_set(err, ST_IO, "%s: cannot create %s: %s",
					       shown, what, strerror(e));
	}
	memcpy(tmp, shown, dlen);
	tmp[dlen] = '.';
	memcpy(tmp + dlen + 1, name, blen);
	tmp[dlen + 1 + blen] = '.';
	memset(tmp + dlen + 2 + blen, 'X', TEMP_SUFFIX_LEN);
	tmp[tlen] = '\0';

	int fd = atomic_file_create_temp(dfd, tmp + dlen, mode);
	if (fd < 0) {
		int e = errno;
		free(final);
		free(tmp);
		close(dfd);
		return error_set(err, ST_IO, "%s: cannot create %s: %s", shown,
				 what, strerror(e));
	}
	af->path = final;
	af->tmp_path = tmp;
	af->fd = fd;
	af->dirfd = dfd;
	af->dir_len = dlen;
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
static enum status sync_dir(const struct atomic_file *af, struct error *err)
{
	enum status st = ST_OK;
	int fd = openat(af->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL)) {
		int e = errno;
		char *dir = af->dir_len ? strndup(af->path, af->dir_len) : NULL;
		st = error_set(err, ST_IO, "%s: cannot sync the directory: %s",
			       dir ? dir : ".", strerror(e));
		free(dir);
	}
	if (fd >= 0)
		close(fd);
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
	while ((rc2 = renameat(af->dirfd, af->tmp_path + af->dir_len, af->dirfd,
			       af->path + af->dir_len)) != 0 &&
	       errno == EINTR)
		;
	if (rc2 != 0)
		return error_set(err, ST_IO, "%s: cannot put %s in place: %s",
				 af->path, af->what, strerror(errno));
	free(af->tmp_path);
	af->tmp_path = NULL;
	/* Published: the file is in place whether or not the directory sync
	 * works, so the struct is released either way. */
	st = sync_dir(af, err);
	free(af->path);
	close(af->dirfd);
	clear(af);
	return st;
}

char *atomic_file_keep(struct atomic_file *af)
{
	char *kept = af->tmp_path;
	af->tmp_path = NULL; /* so that discard leaves it */
	atomic_file_discard(af);
	return kept;
}

void atomic_file_discard(struct atomic_file *af)
{
	if (af->fd >= 0)
		close(af->fd);
	if (af->tmp_path && af->dirfd >= 0)
		unlinkat(af->dirfd, af->tmp_path + af->dir_len, 0);
	if (af->dirfd >= 0)
		close(af->dirfd);
	free(af->tmp_path);
	free(af->path);
	clear(af);
}
