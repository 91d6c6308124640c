/* fuzz_dest_walk: libFuzzer harness for the -o/--rejects path walk
 * (dest_walk.c) and what report_dest.c creates through it. */
/*
 * A scratch tree is built once (on /dev/shm when there is one, so that
 * publishing does not wait for a disk): directories, a world-writable one
 * without the sticky bit and one with it, a file, a FIFO, links to a
 * directory (relative and absolute), to a file, to "." and "..", dangling
 * ones, a loop, a chain of 41 links, /dev/null, a pipe through
 * /proc/self/fd, and links owned by another user (uid 4242, when running
 * as root) whose targets are in a directory with a random name that only
 * they lead to.  The input is a relative path, walked from the tree's top.
 *
 * The kernel is the oracle (dest_walk "resolves path as the kernel
 * would"): stat(2) follows the same path; for a file that is missing,
 * the directory it would be created in is found with realpath(3) of the
 * directory and readlink(2) of a trailing link, as open(O_CREAT) follows
 * it.  Then:
 *   - an existing file or device: DEST_WALK_OK, exists, the same inode,
 *     named by `name` in the directory open on `dirfd`, which is the
 *     directory realpath gives (not for a /proc link: `magic`);
 *   - a directory: EISDIR; a missing file: OK, !exists, `dirfd` the very
 *     directory the kernel would create it in, `name` its name (EISDIR
 *     when the path ends in '/'); any other failure: the same errno;
 *   - DEST_WALK_REFUSED: `link` names (lstat, from the top) a symbolic
 *     link owned by another user, the one `link_sb` describes, and `where`
 *     agrees with the path (AT_PATH: the whole path, ON_PATH: a prefix);
 *   - a walk that is not refused never ends in the directory that only
 *     other users' links lead to;
 *   - no descriptor is left open (/proc/self/fd counted before and
 *     after), no memory (LeakSanitizer);
 *   - for a new file in the tree, report_dest_open creates the temporary
 *     file there (or says the name is too long for one), and once
 *     published the file is at the path (stat follows it to the same
 *     inode, with its contents); when discarded, nothing is left; a link
 *     to a missing file is refused; the tree's top and the scratch
 *     directory hold exactly what they held; and report_dest leaves as
 *     many descriptors open as before (it closed standard input once).
 * Paths whose prefixes the kernel resolves outside the scratch directory
 * (too many "..") are not walked: nothing is ever created outside it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dest_walk.h"
#include "report_dest.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define OTHER_UID 4242
#define PIPE_FD 250

static char scratch[PATH_MAX]; /* realpath of the scratch directory */
static char top[PATH_MAX];     /* scratch/t: where paths start */
static char hidden[PATH_MAX];  /* scratch/hid.XXXXXX: only others' links */
static int home_fd = -1;       /* the directory libFuzzer runs in */
static int top_fd = -1;
static size_t top_entries, scratch_entries;
static const char *current = "";

static void check(int ok, const char *what)
{
	if (!ok) {
		if (home_fd >= 0 && fchdir(home_fd) != 0)
			perror("fchdir");
		fprintf(stderr, "invariant broken: %s\n  path: \"%s\"\n", what,
			current);
		if (getenv("FUZZ_DEST_WALK_FDS") &&
		    system("ls -l /proc/$PPID/fd >&2") != 0)
			perror("ls");
		abort();
	}
}

static void must(int ok, const char *what)
{
	if (!ok) {
		perror(what);
		abort();
	}
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	must(d != NULL, dir);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

static int remove_one(const char *p, const struct stat *sb, int flag,
		      struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* The scratch tree goes when the fuzzer ends (a crash leaves it, to look
 * at). */
static void remove_scratch(void)
{
	nftw(scratch, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void mklink(const char *text, const char *name, uid_t owner)
{
	must(symlinkat(text, top_fd, name) == 0, name);
	if (owner)
		must(fchownat(top_fd, name, owner, owner, AT_SYMLINK_NOFOLLOW) == 0,
		     "lchown");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char tmpl[] = "/dev/shm/fuzz_dest_walk.XXXXXX";
	char tmpl2[] = "/tmp/fuzz_dest_walk.XXXXXX";
	char *s = mkdtemp(tmpl);
	if (!s)
		s = mkdtemp(tmpl2);
	must(s != NULL, "mkdtemp");
	must(realpath(s, scratch) != NULL, "realpath");
	atexit(remove_scratch);
	snprintf(top, sizeof(top), "%s/t", scratch);
	snprintf(hidden, sizeof(hidden), "%s/hid.XXXXXX", scratch);
	must(mkdtemp(hidden) != NULL, "mkdtemp hidden");
	char p[PATH_MAX + 32];
	snprintf(p, sizeof(p), "%s/h1", hidden);
	must(mkdir(p, 0755) == 0, p);
	snprintf(p, sizeof(p), "%s/h1/h2", hidden);
	must(mkdir(p, 0755) == 0, p);
	snprintf(p, sizeof(p), "%s/h1/h2/hf", hidden);
	must(close(open(p, O_CREAT | O_WRONLY, 0644)) == 0, p);
	snprintf(p, sizeof(p), "%s/out", scratch);
	must(mkdir(p, 0755) == 0, p);
	must(mkdir(top, 0755) == 0, top);
	top_fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	must(top_fd >= 0, top);
	home_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	must(home_fd >= 0, ".");

	must(mkdirat(top_fd, "d", 0755) == 0, "d");
	must(mkdirat(top_fd, "d/e", 0755) == 0, "d/e");
	must(close(openat(top_fd, "d/f", O_CREAT | O_WRONLY, 0644)) == 0, "d/f");
	must(close(openat(top_fd, "f", O_CREAT | O_WRONLY, 0644)) == 0, "f");
	must(mkdirat(top_fd, "ww", 0777) == 0 && fchmodat(top_fd, "ww", 0777, 0) == 0,
	     "ww");
	must(mkdirat(top_fd, "st", 0777) == 0 && fchmodat(top_fd, "st", 01777, 0) == 0,
	     "st");
	must(mkfifoat(top_fd, "fifo", 0600) == 0, "fifo");
	/* A reader, so that opening the FIFO for writing does not wait. */
	must(openat(top_fd, "fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC) >= 0, "fifo");
	int pfd[2];
	must(pipe(pfd) == 0 && dup2(pfd[1], PIPE_FD) == PIPE_FD, "pipe");
	close(pfd[1]); /* pfd[0] stays open: writing does not fail */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", PIPE_FD);
	mklink(p, "pipe", 0);
	mklink("d", "dl", 0);
	snprintf(p, sizeof(p), "%s/d/e", top);
	mklink(p, "adl", 0);
	mklink("f", "fl", 0);
	mklink("missing", "dang", 0);
	mklink("nodir/x", "dangdir", 0);
	mklink("missing2/", "dangslash", 0);
	mklink("d/new", "dnew", 0);
	mklink("loop", "loop", 0);
	mklink(".", "dots", 0);
	mklink("..", "up", 0);
	mklink("/dev/null", "null", 0);
	mklink("..", "d/upl", 0);
	mklink("../fifo", "d/ff", 0);
	mklink("ch1", "ch2", 0);
	mklink("f", "ch1", 0);
	for (int i = 3; i <= 41; i++) {
		char name[16], text[16];
		snprintf(name, sizeof(name), "ch%d", i);
		snprintf(text, sizeof(text), "ch%d", i - 1);
		mklink(text, name, 0);
	}
	/* Another user's links, to where only they lead. */
	if (geteuid() == 0) {
		snprintf(p, sizeof(p), "%s/h1/h2", hidden);
		mklink(p, "foreign", OTHER_UID);
		snprintf(p, sizeof(p), "%s/h1/hf2", hidden);
		mklink(p, "d/fl2", OTHER_UID);
		mklink("foreign/hf", "mine", 0);
		mklink("d/fl2", "fdl", 0);
		mklink("dl/fl2", "fdl2", 0);
	}
	top_entries = count_entries(top);
	scratch_entries = count_entries(scratch);
	return 0;
}

static size_t count_fds(void)
{
	return count_entries("/proc/self/fd");
}

/* Whether the absolute path p is `dir` or under it. */
static int under(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* Whether every prefix of path that the kernel resolves stays in the
 * scratch directory (or is /dev/null). */
static int stays_inside(const char *path)
{
	size_t len = strlen(path);
	char *prefix = malloc(len + 1);
	must(prefix != NULL, "malloc");
	int ok = 1;
	for (size_t i = 1; ok && i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		memcpy(prefix, path, i);
		prefix[i] = '\0';
		char *r = realpath(prefix, NULL);
		if (r)
			ok = under(r, scratch) || strcmp(r, "/dev/null") == 0;
		free(r);
	}
	free(prefix);
	return ok;
}

struct expect {
	int error;          /* 0: OK, else the errno */
	int exists;
	struct stat sb;     /* exists: the object */
	char dir[PATH_MAX]; /* realpath of the directory, "" for a /proc link */
	char name[NAME_MAX + 1];
	int in_hidden;      /* the kernel's way ends where only others' links lead */
};

/* The directory `q` would be created in, following a trailing link as
 * open(O_CREAT) does, when stat(q) said ENOENT. */
static void expect_new(const char *path, struct expect *x)
{
	char q[PATH_MAX * 2];
	int must_dir = 0;
	snprintf(q, sizeof(q), "%s", path);
	for (int links = 0;; links++) {
		size_t n = strlen(q);
		while (n > 1 && q[n - 1] == '/') {
			q[--n] = '\0';
			must_dir = 1;
		}
		char *slash = strrchr(q, '/');
		const char *base = slash ? slash + 1 : q;
		char dir[PATH_MAX * 2];
		if (!slash)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == q)
			snprintf(dir, sizeof(dir), "/");
		else
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - q), q);
		if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
			x->error = ENOENT; /* its directory is missing */
			return;
		}
		struct stat sb;
		if (lstat(q, &sb) != 0) {
			char *rd = realpath(dir, NULL);
			if (!rd) {
				x->error = errno;
				return;
			}
			if (must_dir) {
				x->error = EISDIR;
			} else {
				x->error = 0;
				snprintf(x->dir, sizeof(x->dir), "%s", rd);
				snprintf(x->name, sizeof(x->name), "%s", base);
				x->in_hidden = under(rd, hidden);
			}
			free(rd);
			return;
		}
		if (!S_ISLNK(sb.st_mode) || links >= 40) {
			x->error = links >= 40 ? ELOOP : -1; /* -1: changed under us */
			return;
		}
		char text[PATH_MAX];
		ssize_t k = readlink(q, text, sizeof(text) - 1);
		must(k > 0, "readlink");
		text[k] = '\0';
		char next[PATH_MAX * 2];
		if (text[0] == '/')
			snprintf(next, sizeof(next), "%s", text);
		else
			snprintf(next, sizeof(next), "%s/%s", dir, text);
		snprintf(q, sizeof(q), "%s", next);
	}
}

static void expect_kernel(const char *path, struct expect *x)
{
	memset(x, 0, sizeof(*x));
	if (stat(path, &x->sb) == 0) {
		if (S_ISDIR(x->sb.st_mode)) {
			x->error = EISDIR;
			char *r = realpath(path, NULL);
			x->in_hidden = r && under(r, hidden);
			free(r);
			return;
		}
		x->exists = 1;
		char *r = realpath(path, NULL);
		if (r) {
			char *slash = strrchr(r, '/');
			snprintf(x->name, sizeof(x->name), "%s", slash + 1);
			if (slash == r)
				slash[1] = '\0';
			else
				*slash = '\0';
			snprintf(x->dir, sizeof(x->dir), "%s", r);
			x->in_hidden = under(r, hidden);
			free(r);
		}
		return;
	}
	x->error = errno;
	if (x->error == ENOENT)
		expect_new(path, x);
}

static void same_file(const struct stat *a, const struct stat *b, const char *what)
{
	check(a->st_dev == b->st_dev && a->st_ino == b->st_ino, what);
}

static void check_refusal(const char *path, const struct dest_walk *w)
{
	check(w->link != NULL, "a refusal names the link");
	struct stat sb;
	check(lstat(w->link, &sb) == 0 && S_ISLNK(sb.st_mode),
	      "the link named is there, a link");
	same_file(&sb, &w->link_sb, "the link named is the one refused");
	check(sb.st_uid != geteuid() && sb.st_uid != 0,
	      "only another user's link is refused");
	size_t n = strlen(w->link), plen = strlen(path);
	while (plen > 1 && path[plen - 1] == '/')
		plen--;
	if (w->where == DEST_WALK_AT_PATH)
		check(n == plen && strncmp(w->link, path, n) == 0,
		      "AT_PATH: the link is the path");
	else if (w->where == DEST_WALK_ON_PATH)
		check(n < plen && strncmp(w->link, path, n) == 0 && path[n] == '/',
		      "ON_PATH: the link is a directory of the path");
	else
		check(w->followed, "IN_CHAIN: a link was followed");
}

/* The path's directory as /proc/self/fd says, "" for none. */
static void fd_path(int fd, char *out, size_t cap)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
}

/* A link to a missing file is refused by report_dest (man: FILES). */
static void check_dangling(const char *path)
{
	struct report_dest d;
	struct error err;
	report_dest_init(&d);
	check(report_dest_open(&d, path, "the report", 0600, NULL, NULL, &err) ==
			      ST_IO &&
		      strstr(err.msg, "symbolic link to a missing file"),
	      "a link to a missing file is refused");
	report_dest_close(&d);
}

/* A new file in the tree, created through report_dest: where the walk
 * said, and nothing left behind. */
static void check_create(const char *path, const struct expect *x, int publish)
{
	struct report_dest d;
	struct error err;
	report_dest_init(&d);
	size_t before = count_entries(x->dir);
	enum status st = report_dest_open(&d, path, "the report", 0600, NULL, NULL,
					  &err);
	/* The temporary file ".NAME.XXXXXX" needs 8 bytes more than NAME. */
	if (strlen(x->name) + 8 > NAME_MAX) {
		check(st == ST_IO && strstr(err.msg, "too long"),
		      "a name too long for the temporary file is refused");
		report_dest_close(&d);
		return;
	}
	if (st != ST_OK) {
		if (home_fd >= 0 && fchdir(home_fd) != 0)
			perror("fchdir");
		fprintf(stderr, "report_dest_open: %s\n", err.msg);
	}
	check(st == ST_OK && d.atomic, "a new file in the tree is created");
	check(count_entries(x->dir) == before + 1,
	      "the temporary file is in the walk's directory");
	if (publish) {
		check(write(report_dest_fd(&d), "bulkreg", 7) == 7, "write");
		check(atomic_file_publish(&d.af, &err) == ST_OK, "publish");
		d.atomic = false;
		struct stat a, b;
		int dfd = open(x->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		check(dfd >= 0, "the directory");
		check(stat(path, &a) == 0 && a.st_size == 7,
		      "the published file is at the path");
		check(fstatat(dfd, x->name, &b, AT_SYMLINK_NOFOLLOW) == 0,
		      "published under the name the kernel gives");
		same_file(&a, &b, "the path leads to the file published");
		check(unlinkat(dfd, x->name, 0) == 0, "unlink");
		close(dfd);
	}
	report_dest_close(&d);
	check(count_entries(x->dir) == before, "nothing is left behind");
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size == 0 || size > 512)
		return 0;
	char *path = malloc(size + 1);
	must(path != NULL, "malloc");
	memcpy(path, data, size);
	path[size] = '\0';
	/* A C string: up to the first NUL, relative (no way out of the
	 * scratch directory from "/"). */
	must(fchdir(top_fd) == 0, "fchdir");
	current = path;
	if (path[0] == '\0' || path[0] == '/' || !stays_inside(path)) {
		must(fchdir(home_fd) == 0, "fchdir");
		free(path);
		return 0;
	}
	struct expect x;
	expect_kernel(path, &x);

	size_t fds = count_fds();
	struct dest_walk w;
	errno = 0;
	enum dest_walk_result r = dest_walk(path, &w);
	int e = errno;
	if (r == DEST_WALK_REFUSED) {
		check_refusal(path, &w);
	} else if (x.error == -1) {
		; /* the tree changed under the kernel's look: not compared */
	} else if (x.in_hidden) {
		check(0, "a way only another user's link leads is not refused");
	} else if (x.error) {
		check(r == DEST_WALK_ERROR, "the kernel fails: so does the walk");
		if (e != x.error) {
			fprintf(stderr, "walk: %s, kernel: %s\n", strerror(e),
				strerror(x.error));
			check(0, "the same errno as the kernel");
		}
	} else {
		if (r != DEST_WALK_OK)
			fprintf(stderr, "walk: %s\n", strerror(e));
		check(r == DEST_WALK_OK, "the kernel resolves it: so does the walk");
		check(w.name && *w.name && strcmp(w.name, ".") && strcmp(w.name, ".."),
		      "a name that is not \"\", \".\" or \"..\"");
		check(strchr(w.name, '/') == NULL, "one component");
		check(w.shown && *w.shown, "a path to show");
		check(!w.exists == !x.exists, "exists as the kernel says");
		struct stat dsb, xsb;
		check(fstat(w.dirfd, &dsb) == 0 && S_ISDIR(dsb.st_mode),
		      "dirfd is a directory");
		if (x.exists) {
			same_file(&w.sb, &x.sb, "the file the kernel reaches");
			if (!w.magic) {
				struct stat nsb;
				check(fstatat(w.dirfd, w.name, &nsb,
					      AT_SYMLINK_NOFOLLOW) == 0,
				      "name is in dirfd");
				same_file(&nsb, &x.sb, "name in dirfd is the file");
			}
		}
		if (!w.magic && x.dir[0]) {
			check(stat(x.dir, &xsb) == 0, "the kernel's directory");
			same_file(&dsb, &xsb, "dirfd is the kernel's directory");
			check(strcmp(w.name, x.name) == 0, "the kernel's name");
		}
		if (!w.magic && !x.exists) {
			char where[PATH_MAX];
			fd_path(w.dirfd, where, sizeof(where));
			check(under(where, scratch), "a new file's directory is inside");
		}
	}
	bool end_link = w.end_link;
	dest_walk_free(&w);
	check(w.dirfd == -1 && !w.name && !w.shown && !w.link, "freed");
	check(count_fds() == fds, "no descriptor left open");

	/* Create what the walk accepted, in the tree (not "out" above it). */
	if (r == DEST_WALK_OK && !x.error && !x.exists && !x.in_hidden &&
	    under(x.dir, top)) {
		if (end_link)
			check_dangling(path);
		else
			check_create(path, &x, data[size - 1] & 1);
	}
	check(count_fds() == fds, "no descriptor left open by report_dest");
	check(count_entries(top) == top_entries, "the tree's top is as it was");
	check(count_entries(scratch) == scratch_entries,
	      "the scratch directory is as it was");
	must(fchdir(home_fd) == 0, "fchdir");
	current = "";
	free(path);
	return 0;
}
