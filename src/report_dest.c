/* report_dest: the -o and --rejects destination, checked against planted
 * files; see report_dest.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_dest.h"

void report_dest_init(struct report_dest *d)
{
	memset(d, 0, sizeof(*d));
	d->af.fd = -1;
	d->direct_fd = -1;
	d->name = "standard output";
	d->what = "the report";
}

int report_dest_fd(const struct report_dest *d)
{
	return d->atomic ? d->af.fd : d->direct_fd >= 0 ? d->direct_fd : 1;
}

static bool trusted_owner(const struct stat *sb)
{
	return sb->st_uid == geteuid() || sb->st_uid == 0;
}

static const char *kind(mode_t m)
{
	return S_ISLNK(m) ? "symbolic link" : S_ISFIFO(m) ? "FIFO" :
	       S_ISCHR(m) ? "character device" : S_ISBLK(m) ? "block device" :
	       S_ISSOCK(m) ? "socket" : "file";
}

static enum status refuse_owner(const struct report_dest *d, const char *path,
				const struct stat *sb, const char *it_is,
				struct error *err)
{
	return error_set(err, ST_IO,
			 "%s: refusing to write %s: %s %s owned by user %lu, "
			 "not by you (%lu) or root (another user may have put "
			 "it there)",
			 path, d->what, it_is, kind(sb->st_mode),
			 (unsigned long)sb->st_uid, (unsigned long)geteuid());
}

/* Standard output or error (1, 2) when it is open for writing on the file
 * `sb` describes; -1 otherwise.  (A closed one is /dev/null opened
 * read-only, see main.c: it is not a way to /dev/null.) */
static int stdio_fd_of(const struct stat *sb)
{
	for (int fd = 1; fd <= 2; fd++) {
		struct stat s;
		int fl = fcntl(fd, F_GETFL);
		if (fl != -1 && (fl & O_ACCMODE) != O_RDONLY &&
		    fstat(fd, &s) == 0 && s.st_dev == sb->st_dev &&
		    s.st_ino == sb->st_ino)
			return fd;
	}
	return -1;
}

int report_dest_stdio_fd(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && !S_ISDIR(sb.st_mode) ? stdio_fd_of(&sb) : -1;
}

/* Writes through our own standard output or error: that file is already
 * ours, and what it holds must stay (cron's `>> log`). */
static enum status use_stdio(struct report_dest *d, const char *path, int fd,
			     struct error *err)
{
	d->direct_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (d->direct_fd < 0)
		return error_set(err, ST_IO, "%s: cannot write %s through %s: %s",
				 path, d->what,
				 fd == 1 ? "standard output" : "standard error",
				 strerror(errno));
	return ST_OK;
}

/* Opens a device or FIFO for writing, and makes sure it is still the node
 * that was checked (nothing swapped in between). */
static enum status open_direct(struct report_dest *d, const char *path,
			       const struct stat *checked, bool via_link,
			       bool (*cancelled)(void *ctx), void *ctx,
			       struct error *err)
{
	int flags = O_WRONLY | O_NOCTTY | O_CLOEXEC | (via_link ? 0 : O_NOFOLLOW);
	int fd;
	/* A FIFO blocks here until a reader opens it; a signal interrupts
	 * the wait (EINTR, see signals.h). */
	while ((fd = open(path, flags)) < 0 && errno == EINTR)
		if (cancelled && cancelled(ctx))
			return error_set(err, ST_CANCELLED, "interrupted");
	if (fd < 0)
		return error_set(err, ST_IO, "%s: cannot open %s: %s", path,
				 d->what, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || sb.st_dev != checked->st_dev ||
	    sb.st_ino != checked->st_ino) {
		close(fd);
		return error_set(err, ST_IO,
				 "%s: refusing to write %s: the file changed "
				 "while it was being opened",
				 path, d->what);
	}
	d->direct_fd = fd;
	return ST_OK;
}

/* A directory on the way to `path` that is a symbolic link another user
 * (not root) owns is refused as a planted link at the end is: it could
 * send the file into a directory of the caller's that its owner cannot
 * write.  (The kernel's protected_symlinks covers sticky directories
 * only, and may be off.) */
static enum status check_dirs(const struct report_dest *d, const char *path,
			      struct error *err)
{
	char prefix[4096];
	size_t len = strlen(path);
	if (len >= sizeof(prefix))
		return ST_OK; /* the open says why */
	for (size_t i = 1; i < len; i++) {
		if (path[i] != '/' || path[i - 1] == '/')
			continue;
		memcpy(prefix, path, i);
		prefix[i] = '\0';
		struct stat sb;
		if (lstat(prefix, &sb) == 0 && S_ISLNK(sb.st_mode) &&
		    !trusted_owner(&sb))
			return refuse_owner(d, prefix, &sb,
					    "a directory on its way is a", err);
	}
	return ST_OK;
}

enum status report_dest_open(struct report_dest *d, const char *path,
			     const char *what, unsigned mode,
			     bool (*cancelled)(void *ctx), void *ctx,
			     struct error *err)
{
	d->name = path;
	d->what = what;
	const char *target = path;
	enum status dst = check_dirs(d, path, err);
	if (dst != ST_OK)
		return dst;
	struct stat sb;
	bool exists = lstat(path, &sb) == 0;
	bool via_link = exists && S_ISLNK(sb.st_mode);
	if (via_link) {
		if (!trusted_owner(&sb))
			return refuse_owner(d, path, &sb, "it is a", err);
		if (stat(path, &sb) != 0)
			return error_set(err, ST_IO,
					 "%s: cannot create %s: it is a symbolic "
					 "link to a missing file",
					 path, what);
	}
	/* Our own standard output or error, by whatever name. */
	int std_fd = exists && !S_ISDIR(sb.st_mode) ? stdio_fd_of(&sb) : -1;
	if (std_fd >= 0)
		return use_stdio(d, path, std_fd, err);
	if (via_link && S_ISREG(sb.st_mode)) {
		d->resolved = realpath(path, NULL);
		if (!d->resolved)
			return error_set(err, errno == ENOMEM ? ST_NOMEM : ST_IO,
					 "%s: cannot follow the symbolic link: %s",
					 path, strerror(errno));
		target = d->resolved;
	}
	if (exists && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
		if (S_ISBLK(sb.st_mode))
			return error_set(err, ST_IO,
					 "%s: refusing to write %s over a block "
					 "device",
					 path, what);
		if (!trusted_owner(&sb))
			return refuse_owner(d, path, &sb,
					    via_link ? "it leads to a" : "it is a",
					    err);
		return open_direct(d, path, &sb, via_link, cancelled, ctx, err);
	}
	enum status st = atomic_file_open(&d->af, target, what, mode, err);
	d->atomic = st == ST_OK;
	return st;
}

/* The directory part of `path` whose last '/' is `slash` (NULL: none),
 * newly allocated; NULL when out of memory. */
static char *dir_of(const char *path, const char *slash)
{
	return !slash	       ? strdup(".") :
	       slash == path ? strdup("/") :
			       strndup(path, (size_t)(slash - path));
}

const char *report_dest_dir(struct report_dest *d)
{
	if (!d->atomic || !d->af.path)
		return NULL;
	if (!d->dir)
		d->dir = dir_of(d->af.path, strrchr(d->af.path, '/'));
	return d->dir;
}

void report_dest_close(struct report_dest *d)
{
	atomic_file_discard(&d->af); /* harmless once published or discarded */
	d->atomic = false;
	if (d->direct_fd >= 0)
		close(d->direct_fd);
	d->direct_fd = -1;
	free(d->resolved);
	d->resolved = NULL;
	free(d->dir);
	d->dir = NULL;
}

enum status report_dest_not_same(const char *option, const char *path,
				 const char *written, const char *other,
				 const char *what, struct error *err)
{
	struct stat a, b;
	if (stat(path, &a) != 0 || stat(other, &b) != 0 ||
	    !S_ISREG(a.st_mode) || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return ST_OK;
	return error_set(err, ST_USAGE,
			 "%s %s: that is %s; %s would replace it", option, path,
			 what, written);
}

/* `path` with its directory resolved, and followed when it leads to a file
 * that exists; NULL when that cannot be said (errno). */
static char *resolved_name(const char *path)
{
	char *r = realpath(path, NULL);
	if (r || errno != ENOENT)
		return r;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return NULL;
	char *dir = dir_of(path, slash);
	char *rdir = dir ? realpath(dir, NULL) : NULL;
	free(dir);
	if (!rdir)
		return NULL;
	size_t n = strlen(rdir) + 1 + strlen(base) + 1;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", base);
	free(rdir);
	return out;
}

/* Whether `path` and `other` name one file: by their resolved names
 * (neither needs to exist), with `suffix` after other's; ENOMEM in errno
 * when that could not be said for lack of memory. */
static bool names_match(const char *path, const char *other,
			const char *suffix)
{
	errno = 0;
	char *p = resolved_name(path);
	char *q = p ? resolved_name(other) : NULL;
	bool same = false;
	if (q) {
		size_t plen = strlen(p), qlen = strlen(q);
		same = plen == qlen + strlen(suffix) && memcmp(p, q, qlen) == 0 &&
		       strcmp(p + qlen, suffix) == 0;
		errno = 0;
	}
	free(p);
	free(q);
	return same;
}

enum status report_dest_not_named(const char *option, const char *path,
				  const char *written, const char *other,
				  const char *what, struct error *err)
{
	/* A device or FIFO is written into, not replaced (/dev/null twice
	 * is fine). */
	struct stat sb;
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
		return ST_OK;
	if (names_match(path, other, ""))
		return error_set(err, ST_USAGE,
				 "%s %s: that is %s; %s would replace it",
				 option, path, what, written);
	if (errno == ENOMEM)
		return error_set(err, ST_NOMEM, "out of memory");
	return report_dest_not_same(option, path, written, other, what, err);
}

enum status report_dest_not_db_file(const char *option, const char *path,
				    const char *written, const char *db,
				    struct error *err)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	const char *hit = NULL;
	for (size_t i = 0; !hit && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (names_match(path, db, suffixes[i]))
			hit = suffixes[i];
		else if (errno == ENOMEM)
			return error_set(err, ST_NOMEM, "out of memory");
	}
	if (!hit)
		return ST_OK;
	if (!*hit)
		return error_set(err, ST_USAGE,
				 "%s %s: that is the database; %s would replace it",
				 option, path, written);
	return error_set(err, ST_USAGE,
			 "%s %s: that is the database's %s file, which SQLite "
			 "writes and removes; %s cannot go there",
			 option, path, hit, written);
}
