/* dest_walk: a destination path resolved by hand; see dest_walk.h. */
#define _GNU_SOURCE /* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "dest_walk.h"

#define MAX_LINKS 40 /* the kernel's own limit (ELOOP) */
#define MAX_LINK_TEXT (1u << 16)

/* The walk's state: what is left to resolve, where we are. */
struct walk {
	const char *path;  /* as given */
	char *rest;        /* what is left: rest + at */
	size_t at;
	int dirfd;         /* O_PATH: the directory reached so far */
	char *shown;       /* the directories reached so far, for messages */
	bool in_given;     /* no link followed yet: rest is path */
	int links;
	bool expect;       /* a /proc link named a regular file: the walk
			    * must end at that very file */
	dev_t expect_dev;
	ino_t expect_ino;
};

static bool trusted_owner(const struct stat *sb)
{
	return sb->st_uid == geteuid() || sb->st_uid == 0;
}

/* Whether the link `sb`, in the directory open on dirfd, may be followed;
 * else why not (review 21, F10). */
static bool trusted_link(int dirfd, const struct stat *sb,
			 enum dest_walk_why *why)
{
	struct stat dir;
	if (!trusted_owner(sb)) {
		*why = DEST_WALK_NOT_TRUSTED;
		return false;
	}
	if (sb->st_nlink > 1) {
		*why = DEST_WALK_HARD_LINKED;
		return false;
	}
	if (sb->st_uid != geteuid() && fstat(dirfd, &dir) == 0 &&
	    (dir.st_mode & S_ISVTX) && (dir.st_mode & S_IWOTH)) {
		*why = DEST_WALK_STICKY;
		return false;
	}
	return true;
}

/* "dir" + "/" + "comp" (no doubled slash), newly allocated. */
static char *joined(const char *dir, const char *comp)
{
	size_t dl = strlen(dir), cl = strlen(comp);
	bool sep = dl > 0 && dir[dl - 1] != '/';
	char *s = malloc(dl + sep + cl + 1);
	if (!s)
		return NULL;
	memcpy(s, dir, dl);
	if (sep)
		s[dl] = '/';
	memcpy(s + dl + sep, comp, cl + 1);
	return s;
}

/* The component at rest + at (length len), as a user would name it: the
 * path's own prefix while no link was followed, else the directories
 * reached and the component. */
static char *display(const struct walk *k, const char *comp, size_t len)
{
	return k->in_given ? strndup(k->path, k->at + len) : joined(k->shown, comp);
}

static bool on_proc(int fd)
{
	struct statfs sfs;
	return fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

/* N when `comp`, in the directory open on dirfd, is this process's own
 * descriptor N (dirfd is /proc/self/fd or /proc/thread-self/fd); else
 * -1. */
static int own_fd_number(int dirfd, const char *comp)
{
	char *end;
	errno = 0;
	long n = strtol(comp, &end, 10);
	if (!*comp || *end || errno || n < 0 || n > INT_MAX || comp[0] == '+' ||
	    comp[0] == '-' || comp[0] == ' ')
		return -1;
	struct stat here, own;
	if (fstat(dirfd, &here) != 0)
		return -1;
	static const char *const dirs[] = { "/proc/self/fd",
					    "/proc/thread-self/fd" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (stat(dirs[i], &own) == 0 && own.st_dev == here.st_dev &&
		    own.st_ino == here.st_ino)
			return (int)n;
	return -1;
}

/* The text of the link open (O_PATH|O_NOFOLLOW) on fd, newly allocated;
 * NULL with errno. */
static char *link_text(int fd)
{
	for (size_t size = 256; size <= MAX_LINK_TEXT; size *= 2) {
		char *buf = malloc(size);
		if (!buf)
			return NULL;
		ssize_t n = readlinkat(fd, "", buf, size);
		if (n >= 0 && (size_t)n < size) {
			buf[n] = '\0';
			if (n == 0) {
				free(buf);
				errno = ENOENT;
				return NULL;
			}
			return buf;
		}
		int e = errno;
		free(buf);
		if (n < 0) {
			errno = e;
			return NULL;
		}
	}
	errno = ENAMETOOLONG;
	return NULL;
}

/* Moves to the directory open on fd (taken over). */
static void enter(struct walk *k, int fd)
{
	close(k->dirfd);
	k->dirfd = fd;
}

/* Enters directory fd, shown as `shown` (both taken over); false, with
 * errno set and both freed, when either failed to be made. */
static bool enter_shown(struct walk *k, int fd, char *shown)
{
	if (fd < 0 || !shown) {
		int e = fd < 0 ? errno : ENOMEM;
		if (fd >= 0)
			close(fd);
		free(shown);
		errno = e;
		return false;
	}
	enter(k, fd);
	free(k->shown);
	k->shown = shown;
	return true;
}

/* Follows the link `comp` (open on fd) whose text is `text` (taken over):
 * what is left becomes text, then whatever followed comp. */
static bool splice_link(struct walk *k, char *text, size_t after, bool last,
		   bool must_dir)
{
	const char *tail = !last ? k->rest + after : must_dir ? "/" : "";
	size_t tl = strlen(text), rl = strlen(tail);
	char *next = malloc(tl + 1 + rl + 1);
	if (!next) {
		free(text);
		return false;
	}
	memcpy(next, text, tl);
	next[tl] = '/';
	memcpy(next + tl + 1, tail, rl + 1);
	if (!*tail)
		next[tl] = '\0'; /* the text alone */
	if (text[0] == '/' &&
	    !enter_shown(k, open("/", O_PATH | O_DIRECTORY | O_CLOEXEC),
			 strdup("/"))) {
		int e = errno;
		free(next);
		free(text);
		errno = e;
		return false;
	}
	free(text);
	free(k->rest);
	k->rest = next;
	k->at = 0;
	k->in_given = false;
	return true;
}

/* The walk ends at `comp` in the current directory. */
static enum dest_walk_result end_at(struct walk *k, struct dest_walk *w,
				    char *comp)
{
	char *shown = k->in_given ? strdup(k->path) : joined(k->shown, comp);
	if (!shown) {
		free(comp);
		errno = ENOMEM;
		return DEST_WALK_ERROR;
	}
	w->dirfd = k->dirfd;
	k->dirfd = -1;
	w->name = comp;
	w->shown = shown;
	if (k->expect && (!w->exists || w->sb.st_dev != k->expect_dev ||
			  w->sb.st_ino != k->expect_ino)) {
		/* The file a /proc link named is no longer at its name. */
		errno = w->exists ? ESTALE : ENOENT;
		return DEST_WALK_ERROR;
	}
	return DEST_WALK_OK;
}

/* A link owned by the caller or root, open on fd: followed by its text,
 * or, for a /proc link to something that is neither a file nor a
 * directory, the walk's end. */
static enum dest_walk_result follow(struct walk *k, struct dest_walk *w,
				    int fd, char *comp, size_t after,
				    bool last, bool must_dir,
				    bool *ended)
{
	*ended = false;
	if (++k->links > MAX_LINKS) {
		errno = ELOOP;
		return DEST_WALK_ERROR;
	}
	w->followed = true;
	/* Once a link at the end is followed, the name at the end comes from
	 * its text, whatever is followed after it. */
	if (last)
		w->end_link = true;
	if (on_proc(fd)) {
		/* Only the kernel knows where /proc/self/fd/1 leads when it
		 * is a pipe: look at the object itself. */
		int obj = openat(k->dirfd, comp, O_PATH | O_CLOEXEC);
		struct stat sb;
		if (obj < 0)
			return DEST_WALK_ERROR;
		int rc = fstat(obj, &sb);
		close(obj);
		if (rc != 0)
			return DEST_WALK_ERROR;
		if (last)
			w->proc_fd = own_fd_number(k->dirfd, comp);
		if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode)) {
			if (!last || must_dir) {
				errno = ENOTDIR;
				return DEST_WALK_ERROR;
			}
			w->exists = true;
			w->magic = true;
			w->sb = sb;
			*ended = true;
			return end_at(k, w, comp);
		}
		if (S_ISREG(sb.st_mode) && last) {
			k->expect = true;
			k->expect_dev = sb.st_dev;
			k->expect_ino = sb.st_ino;
		}
	}
	char *text = link_text(fd);
	if (!text || !splice_link(k, text, after, last, must_dir))
		return DEST_WALK_ERROR;
	return DEST_WALK_OK;
}

/* One component: comp (len bytes, newly allocated, taken over) at
 * rest + at; `after` is where the next one starts.  *done when the walk
 * is over (the result says how). */
static enum dest_walk_result step(struct walk *k, struct dest_walk *w,
				  char *comp, size_t len, size_t after,
				  bool must_dir, bool *done)
{
	bool last = k->rest[after] == '\0';
	*done = true;
	if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
		if (last) {
			free(comp);
			errno = EISDIR;
			return DEST_WALK_ERROR;
		}
		if (comp[1]) { /* ".." */
			if (!enter_shown(k, openat(k->dirfd, "..", O_PATH |
							  O_DIRECTORY | O_CLOEXEC),
					 joined(k->shown, ".."))) {
				int e = errno;
				free(comp);
				errno = e;
				return DEST_WALK_ERROR;
			}
		}
		free(comp);
		k->at = after;
		*done = false;
		return DEST_WALK_OK;
	}
	int fd = openat(k->dirfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && last && !must_dir)
			return end_at(k, w, comp); /* a new file */
		if (errno == ENOENT && last)
			errno = EISDIR;
		free(comp);
		return DEST_WALK_ERROR;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		int e = errno;
		close(fd);
		free(comp);
		errno = e;
		return DEST_WALK_ERROR;
	}
	if (S_ISLNK(sb.st_mode)) {
		enum dest_walk_result r;
		bool ended = false;
		if (!trusted_link(k->dirfd, &sb, &w->why)) {
			w->link = display(k, comp, len);
			w->link_sb = sb;
			w->where = !k->in_given ? DEST_WALK_IN_CHAIN :
				   last		 ? DEST_WALK_AT_PATH :
						   DEST_WALK_ON_PATH;
			r = w->link ? DEST_WALK_REFUSED : DEST_WALK_ERROR;
			errno = ENOMEM;
		} else {
			r = follow(k, w, fd, comp, after, last, must_dir,
				   &ended);
		}
		int e = errno;
		close(fd);
		if (!ended)
			free(comp);
		errno = e;
		*done = r != DEST_WALK_OK || ended;
		return r;
	}
	if (S_ISDIR(sb.st_mode)) {
		char *shown = last ? NULL : joined(k->shown, comp);
		free(comp);
		if (!shown) {
			close(fd);
			if (last) /* what is there, for the message */
				w->sb = sb;
			errno = last ? EISDIR : ENOMEM;
			return DEST_WALK_ERROR;
		}
		enter(k, fd);
		free(k->shown);
		k->shown = shown;
		k->at = after;
		*done = false;
		return DEST_WALK_OK;
	}
	close(fd);
	if (!last || must_dir) {
		free(comp);
		errno = ENOTDIR;
		return DEST_WALK_ERROR;
	}
	w->exists = true;
	w->sb = sb;
	return end_at(k, w, comp);
}

enum dest_walk_result dest_walk(const char *path, struct dest_walk *w)
{
	memset(w, 0, sizeof(*w));
	w->dirfd = -1;
	w->proc_fd = -1;
	if (!*path) {
		errno = ENOENT;
		return DEST_WALK_ERROR;
	}
	struct walk k = {.path = path, .in_given = true};
	k.rest = strdup(path);
	k.shown = strdup(path[0] == '/' ? "/" : "");
	k.dirfd = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	enum dest_walk_result r = DEST_WALK_ERROR;
	if (!k.rest || !k.shown)
		errno = ENOMEM;
	bool done = !k.rest || !k.shown || k.dirfd < 0;
	while (!done) {
		while (k.rest[k.at] == '/')
			k.at++;
		if (!k.rest[k.at]) { /* "/", or a link to "/" */
			r = DEST_WALK_ERROR;
			errno = EISDIR;
			break;
		}
		size_t len = strcspn(k.rest + k.at, "/");
		size_t after = k.at + len;
		bool trailing = k.rest[after] == '/';
		while (k.rest[after] == '/')
			after++;
		bool must_dir = trailing && k.rest[after] == '\0';
		char *comp = strndup(k.rest + k.at, len);
		if (!comp) {
			r = DEST_WALK_ERROR;
			errno = ENOMEM;
			break;
		}
		r = step(&k, w, comp, len, after, must_dir, &done);
	}
	int e = errno;
	if (k.dirfd >= 0)
		close(k.dirfd);
	free(k.rest);
	free(k.shown);
	errno = e;
	return r;
}

void dest_walk_free(struct dest_walk *w)
{
	if (w->dirfd >= 0)
		close(w->dirfd);
	free(w->name);
	free(w->shown);
	free(w->link);
	memset(w, 0, sizeof(*w));
	w->dirfd = -1;
	w->proc_fd = -1;
}

bool dest_dir_shared(const struct stat *sb)
{
	return (sb->st_mode & S_IWOTH) != 0 ||
	       ((sb->st_mode & S_IWGRP) != 0 && sb->st_gid != getegid()) ||
	       (sb->st_uid != geteuid() && sb->st_uid != 0);
}
