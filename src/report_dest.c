/* report_dest: the -o and --rejects destination, checked against planted
 * files; see report_dest.h. */
#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dest_walk.h"
#include "report_dest.h"

void report_dest_init(struct report_dest *d)
{
	memset(d, 0, sizeof(*d));
	d->af.fd = -1;
	d->af.dirfd = -1; /* not 0: closing it would close standard input */
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

/* Whether this process may rename over any file in a sticky directory
 * (CAP_FOWNER in its effective set: root, as a rule). */
static bool can_override_sticky(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return geteuid() == 0;
	return (data[CAP_FOWNER / 32].effective & (1u << (CAP_FOWNER % 32))) != 0;
}

/* A file at the name (sb) that the rename after the commit could not
 * replace: another user's, in a sticky directory (/tmp, a drop
 * directory) that is not the caller's either.  Found now, it is refused
 * before the batch starts, as a planted link is; found only at the
 * rename, it would leave a committed batch with its report stranded
 * (review 21, F01). */
static enum status refuse_unreplaceable(const struct report_dest *d,
					const char *path,
					const struct dest_walk *w,
					struct error *err)
{
	struct stat dir;
	if (fstat(w->dirfd, &dir) != 0 || !(dir.st_mode & S_ISVTX) ||
	    w->sb.st_uid == geteuid() || dir.st_uid == geteuid() ||
	    can_override_sticky())
		return ST_OK;
	return error_set(err, ST_IO,
			 "%s: refusing to write %s: there is a %s there owned "
			 "by user %lu, not by you (%lu), in a sticky directory, "
			 "where only its owner may replace it (another user "
			 "may have put it there; remove it or choose another "
			 "name)",
			 path, d->what, kind(w->sb.st_mode),
			 (unsigned long)w->sb.st_uid, (unsigned long)geteuid());
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

/* Whether descriptor fd (1 or 2) cannot be written: closed when bulkreg
 * started (main.c put /dev/null there, read-only, so that every write
 * fails as on the closed descriptor), or open for reading only. */
static bool stdio_unwritable(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl == -1 || (fl & O_ACCMODE) == O_RDONLY;
}

/* -o /dev/stdout (/dev/fd/1, /proc/self/fd/1; or 2) while that descriptor
 * is closed: written through it all the same, so that the report fails
 * exactly as it does on a closed standard output without -o (the batch
 * rolled back, exit 3) -- never into the /dev/null that holds its place
 * (review 21, F04). */
static enum status use_closed_stdio(struct report_dest *d, int fd,
				    struct error *err)
{
	d->name = fd == 1 ? "standard output" : "standard error";
	d->direct_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (d->direct_fd < 0)
		return error_set(err, ST_IO, "%s: cannot write %s: %s", d->name,
				 d->what, strerror(errno));
	return ST_OK;
}

/* Opens the device or FIFO the walk ended at for writing, and makes sure
 * it is still the node that was checked (nothing swapped in between). */
static enum status open_direct(struct report_dest *d, const char *path,
			       const struct dest_walk *w,
			       bool (*cancelled)(void *ctx), void *ctx,
			       struct error *err)
{
	/* A /proc link (/proc/self/fd/5, a pipe) is followed by the
	 * kernel, to the very object the walk looked at. */
	int flags = O_WRONLY | O_NOCTTY | O_CLOEXEC | (w->magic ? 0 : O_NOFOLLOW);
	int fd;
	/* A FIFO blocks here until a reader opens it; a signal interrupts
	 * the wait (EINTR, see signals.h). */
	while ((fd = openat(w->dirfd, w->name, flags)) < 0 && errno == EINTR)
		if (cancelled && cancelled(ctx))
			return error_set(err, ST_CANCELLED, "interrupted");
	if (fd < 0)
		return error_set(err, ST_IO, "%s: cannot open %s: %s", path,
				 d->what, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || sb.st_dev != w->sb.st_dev ||
	    sb.st_ino != w->sb.st_ino) {
		close(fd);
		return error_set(err, ST_IO,
				 "%s: refusing to write %s: the file changed "
				 "while it was being opened",
				 path, d->what);
	}
	d->direct_fd = fd;
	return ST_OK;
}

/* Whether descriptor fd is open for reading only on the file sb
 * describes. */
static bool reads(int fd, const struct stat *sb)
{
	struct stat s;
	int fl = fcntl(fd, F_GETFL);
	return fl != -1 && (fl & O_ACCMODE) == O_RDONLY && fstat(fd, &s) == 0 &&
	       S_ISREG(s.st_mode) && s.st_dev == sb->st_dev &&
	       s.st_ino == sb->st_ino;
}

/* Whether this process has the file `sb` describes open for reading
 * only on a descriptor past standard error -- the roster, the --users
 * file -- which the report must not replace, whatever name reaches it
 * (/proc/self/fd/3 is the roster once that is open).  Standard input is
 * the caller's: a roster read from it is not protected by name either,
 * and the rejects file may be the roster (see register.c). */
static bool open_for_reading(const struct stat *sb)
{
	DIR *dir = opendir("/proc/self/fd");
	bool hit = false;
	if (!dir) {
		for (int fd = 3; !hit && fd < 1024; fd++)
			hit = reads(fd, sb);
		return hit;
	}
	struct dirent *e;
	while (!hit && (e = readdir(dir))) {
		char *end;
		errno = 0;
		long n = strtol(e->d_name, &end, 10);
		if (!*end && end != e->d_name && !errno && n >= 3 &&
		    n <= INT_MAX && n != dirfd(dir))
			hit = reads((int)n, sb);
	}
	closedir(dir);
	return hit;
}

/* A link on the way that another user owns, as dest_walk found it. */
static enum status refuse_link(const struct report_dest *d, const char *path,
			       const struct dest_walk *w, struct error *err)
{
	if (w->why == DEST_WALK_HARD_LINKED)
		return error_set(err, ST_IO,
				 "%s: refusing to write %s: %s is a symbolic "
				 "link with %lu names (a hard link to a link: "
				 "who put it there is not known)",
				 path, d->what, w->link,
				 (unsigned long)w->link_sb.st_nlink);
	if (w->why == DEST_WALK_STICKY)
		return error_set(err, ST_IO,
				 "%s: refusing to write %s: %s is a symbolic "
				 "link owned by user %lu, not by you (%lu), in a "
				 "sticky directory all may write, where only "
				 "your own links are followed (another user may "
				 "have put it there)",
				 path, d->what, w->link,
				 (unsigned long)w->link_sb.st_uid,
				 (unsigned long)geteuid());
	if (w->where == DEST_WALK_AT_PATH)
		return refuse_owner(d, w->link, &w->link_sb, "it is a", err);
	if (w->where == DEST_WALK_ON_PATH)
		return refuse_owner(d, w->link, &w->link_sb,
				    "a directory on its way is a", err);
	return error_set(err, ST_IO,
			 "%s: refusing to write %s: it leads through %s, a "
			 "symbolic link owned by user %lu, not by you (%lu) or "
			 "root (another user may have put it there)",
			 path, d->what, w->link, (unsigned long)w->link_sb.st_uid,
			 (unsigned long)geteuid());
}

/* What the walk found at the end: a regular file (replaced) or a device,
 * FIFO, socket (written into), or standard output's or error's own file
 * (written through that descriptor). */
static enum status open_found(struct report_dest *d, const char *path,
			      const struct dest_walk *w, unsigned mode,
			      bool (*cancelled)(void *ctx), void *ctx,
			      struct error *err)
{
	const struct stat *sb = &w->sb;
	/* Our own standard output or error, by whatever name. */
	int std_fd = stdio_fd_of(sb);
	if (std_fd >= 0)
		return use_stdio(d, path, std_fd, err);
	if (S_ISREG(sb->st_mode)) {
		if (open_for_reading(sb))
			return error_set(err, ST_USAGE,
					 "%s: that is %s, a file this run is "
					 "reading (the roster, or the --users "
					 "file); %s would replace it",
					 path, w->shown, d->what);
		enum status st = refuse_unreplaceable(d, path, w, err);
		if (st != ST_OK)
			return st;
		st = atomic_file_openat(&d->af, w->dirfd, w->name,
						    w->shown, d->what, mode, err);
		d->atomic = st == ST_OK;
		return st;
	}
	if (S_ISBLK(sb->st_mode))
		return error_set(err, ST_IO,
				 "%s: refusing to write %s over a block device",
				 path, d->what);
	if (!trusted_owner(sb))
		return refuse_owner(d, path, sb,
				    w->followed ? "it leads to a" : "it is a", err);
	return open_direct(d, path, w, cancelled, ctx, err);
}

/* The length of path's directory part ("/" for a file at the root); 0 if
 * it names none (the current directory). */
static int dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return 0;
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	return n > INT_MAX ? INT_MAX : (int)n;
}

/* Whether the directory path names is missing (not merely unreadable). */
static bool missing_dir(const char *path)
{
	int n = dir_len(path);
	if (n == 0)
		return false;
	char *dir = strndup(path, (size_t)n);
	struct stat sb;
	bool missing = dir && stat(dir, &sb) != 0 && errno == ENOENT;
	free(dir);
	return missing;
}

enum status report_dest_open(struct report_dest *d, const char *path,
			     const char *what, unsigned mode,
			     bool (*cancelled)(void *ctx), void *ctx,
			     struct error *err)
{
	d->name = path;
	d->what = what;
	/* Every link on the way checked, and the directory kept open: what
	 * was checked is what the file is created and renamed in. */
	struct dest_walk w;
	enum dest_walk_result r = dest_walk(path, &w);
	int e = errno;
	bool dangling = w.end_link &&
			(r == DEST_WALK_ERROR ? e == ENOENT || e == ESTALE :
						r == DEST_WALK_OK && !w.exists);
	/* Standard output to a file since removed or out of reach: its
	 * /proc link's text leads nowhere, its descriptor still works. */
	int std_fd = r == DEST_WALK_ERROR && (e == ENOENT || e == ESTALE) &&
				     w.followed ?
			     report_dest_stdio_fd(path) :
			     -1;
	enum status st;
	if ((w.proc_fd == 1 || w.proc_fd == 2) && r != DEST_WALK_REFUSED &&
	    stdio_unwritable(w.proc_fd))
		st = use_closed_stdio(d, w.proc_fd, err);
	else if (std_fd >= 0)
		st = use_stdio(d, path, std_fd, err);
	else if (r == DEST_WALK_REFUSED)
		st = refuse_link(d, path, &w, err);
	else if (r == DEST_WALK_ERROR && e == EISDIR &&
		 S_ISDIR(w.sb.st_mode) && w.sb.st_uid != geteuid())
		/* Another user's directory at the name (review 21, F01). */
		st = error_set(err, ST_IO,
			       "%s: refusing to write %s: there is a directory "
			       "there owned by user %lu, not by you (%lu) (another "
			       "user may have put it there; remove it or choose "
			       "another name)",
			       path, what, (unsigned long)w.sb.st_uid,
			       (unsigned long)geteuid());
	else if (r == DEST_WALK_ERROR && e == ENOMEM)
		st = error_set(err, ST_NOMEM, "%s: out of memory", path);
	else if (dangling)
		st = error_set(err, ST_IO,
			       "%s: cannot create %s: it is a symbolic link to a "
			       "missing file",
			       path, what);
	else if (r == DEST_WALK_ERROR && e == ENOENT && missing_dir(path))
		st = error_set(err, ST_IO,
			       "%s: cannot create %s: there is no directory "
			       "%.*s: create it first (mkdir -p %.*s)",
			       path, what, dir_len(path), path, dir_len(path), path);
	else if (r == DEST_WALK_ERROR)
		st = error_set(err, ST_IO, "%s: cannot create %s: %s", path, what,
			       strerror(e));
	else if (!w.exists) {
		st = atomic_file_openat(&d->af, w.dirfd, w.name, w.shown, what,
					mode, err);
		d->atomic = st == ST_OK;
	} else
		st = open_found(d, path, &w, mode, cancelled, ctx, err);
	dest_walk_free(&w);
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

bool report_dest_dir_shared(const struct report_dest *d)
{
	struct stat sb;
	return d->atomic && fstat(d->af.dirfd, &sb) == 0 && dest_dir_shared(&sb);
}

int report_dest_dirfd(const struct report_dest *d)
{
	return d->atomic ? d->af.dirfd : -1;
}

void report_dest_close(struct report_dest *d)
{
	atomic_file_discard(&d->af); /* harmless once published or discarded */
	d->atomic = false;
	if (d->direct_fd >= 0)
		close(d->direct_fd);
	d->direct_fd = -1;
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
			 "writes; %s cannot go there",
			 option, path, hit, written);
}
