/* report_dest: the -o destination, checked against planted files; see report_dest.h. */
#include <errno.h>
#include <fcntl.h>
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

static enum status refuse_owner(const char *path, const struct stat *sb,
				const char *what, struct error *err)
{
	return error_set(err, ST_IO,
			 "%s: refusing to write the report: %s %s owned by user "
			 "%lu, not by you (%lu) or root (another user may have "
			 "put it there)",
			 path, what, kind(sb->st_mode), (unsigned long)sb->st_uid,
			 (unsigned long)geteuid());
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
		return error_set(err, ST_IO, "%s: cannot open the report: %s", path,
				 strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || sb.st_dev != checked->st_dev ||
	    sb.st_ino != checked->st_ino) {
		close(fd);
		return error_set(err, ST_IO,
				 "%s: refusing to write the report: the file "
				 "changed while it was being opened",
				 path);
	}
	d->direct_fd = fd;
	return ST_OK;
}

enum status report_dest_open(struct report_dest *d, const char *path,
			     unsigned mode, bool (*cancelled)(void *ctx),
			     void *ctx, struct error *err)
{
	d->name = path;
	const char *target = path;
	struct stat sb;
	bool exists = lstat(path, &sb) == 0;
	bool via_link = exists && S_ISLNK(sb.st_mode);
	if (via_link) {
		if (!trusted_owner(&sb))
			return refuse_owner(path, &sb, "it is a", err);
		if (stat(path, &sb) != 0)
			return error_set(err, ST_IO,
					 "%s: cannot create the report: it is a "
					 "symbolic link to a missing file",
					 path);
		if (S_ISREG(sb.st_mode)) {
			d->resolved = realpath(path, NULL);
			if (!d->resolved)
				return error_set(err,
						 errno == ENOMEM ? ST_NOMEM : ST_IO,
						 "%s: cannot follow the symbolic "
						 "link: %s",
						 path, strerror(errno));
			target = d->resolved;
		}
	}
	if (exists && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
		if (S_ISBLK(sb.st_mode))
			return error_set(err, ST_IO,
					 "%s: refusing to write the report over a "
					 "block device",
					 path);
		if (!trusted_owner(&sb))
			return refuse_owner(path, &sb,
					    via_link ? "it leads to a" : "it is a",
					    err);
		return open_direct(d, path, &sb, via_link, cancelled, ctx, err);
	}
	enum status st = atomic_file_open(&d->af, target, mode, err);
	d->atomic = st == ST_OK;
	return st;
}

const char *report_dest_dir(struct report_dest *d)
{
	if (!d->atomic || !d->af.path)
		return NULL;
	if (!d->dir) {
		const char *slash = strrchr(d->af.path, '/');
		d->dir = !slash ? strdup(".") :
			 slash == d->af.path ?
				  strdup("/") :
				  strndup(d->af.path, (size_t)(slash - d->af.path));
	}
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
