/* check_report_dest: where -o and --rejects write -- standard output's own
 * file in place, the database's -wal/-shm/-journal refused by name, the
 * file named in messages. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_dest.h"
#include "testutil.h"

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/check_report_dest.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *in_dir(const char *name, char buf[256])
{
	snprintf(buf, 256, "%s/%s", dir, name);
	return buf;
}

static void write_text(int fd, const char *text)
{
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

static ino_t inode_of(const char *path)
{
	struct stat sb;
	ck_assert_int_eq(stat(path, &sb), 0);
	return sb.st_ino;
}

/* The file's contents (at most 255 bytes). */
static const char *contents(const char *path, char buf[256])
{
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, 255, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* `fd` (1 or 2) appends to log.txt, which holds one line; `name` (NULL:
 * log.txt's own path) is then given as the destination.  The report goes
 * through the descriptor: log.txt keeps its inode and its line. */
static void check_in_place(int fd, const char *name)
{
	char log[256], buf[256];
	in_dir("log.txt", log);
	int lf = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(lf, 0);
	write_text(lf, "earlier\n");
	close(lf);
	ino_t ino = inode_of(log);
	int saved = dup(fd);
	lf = open(log, O_WRONLY | O_APPEND);
	ck_assert_int_ge(lf, 0);
	ck_assert_int_eq(dup2(lf, fd), fd);
	close(lf);

	struct report_dest d;
	struct error err = {0};
	report_dest_init(&d);
	ck_assert_int_eq(report_dest_open(&d, name ? name : log, "the report",
					  0600, NULL, NULL, &err),
			 ST_OK);
	ck_assert(!d.atomic);
	ck_assert_int_ge(d.direct_fd, 3); /* a copy: closing it keeps fd */
	ck_assert_ptr_null(report_dest_dir(&d));
	write_text(report_dest_fd(&d), "report\n");
	report_dest_close(&d);
	ck_assert_int_eq(fcntl(fd, F_GETFD), 0 /* still open */);
	ck_assert_int_eq(dup2(saved, fd), fd);
	close(saved);

	ck_assert_int_eq(inode_of(log), ino);
	ck_assert_str_eq(contents(log, buf), "earlier\nreport\n");
}

START_TEST(test_stdout_file_by_its_own_name_is_written_in_place)
{
	check_in_place(1, NULL);
}
END_TEST

START_TEST(test_dev_stdout_to_a_file_is_written_in_place)
{
	check_in_place(1, "/dev/stdout");
}
END_TEST

START_TEST(test_proc_self_fd_1_to_a_file_is_written_in_place)
{
	check_in_place(1, "/proc/self/fd/1");
}
END_TEST

START_TEST(test_stderr_file_is_written_in_place)
{
	check_in_place(2, "/dev/fd/2");
}
END_TEST

START_TEST(test_another_file_is_replaced_whole)
{
	char path[256];
	in_dir("plain.csv", path);
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	struct report_dest d;
	struct error err = {0};
	report_dest_init(&d);
	ck_assert_int_eq(report_dest_open(&d, path, "the report", 0600, NULL,
					  NULL, &err),
			 ST_OK);
	ck_assert(d.atomic);
	ck_assert_int_eq(d.direct_fd, -1);
	report_dest_close(&d);
}
END_TEST

/* A closed standard output is /dev/null opened read-only (main.c): -o
 * /dev/null must still be opened for writing, not that descriptor. */
START_TEST(test_read_only_stdout_is_not_used)
{
	int saved = dup(1);
	int ro = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(ro, 0);
	ck_assert_int_eq(dup2(ro, 1), 1);
	close(ro);
	struct report_dest d;
	struct error err = {0};
	report_dest_init(&d);
	enum status st = report_dest_open(&d, "/dev/null", "the report", 0600,
					  NULL, NULL, &err);
	ssize_t w = st == ST_OK ? write(report_dest_fd(&d), "x", 1) : -1;
	report_dest_close(&d);
	dup2(saved, 1);
	close(saved);
	ck_assert_int_eq(st, ST_OK);
	ck_assert_int_eq(w, 1);
}
END_TEST

START_TEST(test_messages_name_the_rejects_file)
{
	char link[256], missing[256];
	ck_assert_int_eq(symlink(in_dir("gone.csv", missing), in_dir("l.csv", link)),
			 0);
	struct report_dest d;
	struct error err = {0};
	report_dest_init(&d);
	ck_assert_int_eq(report_dest_open(&d, link, "the rejects file", 0600,
					  NULL, NULL, &err),
			 ST_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot create the rejects file"));
	report_dest_close(&d);
	ck_assert_int_eq(report_dest_open(&d, in_dir("nodir/r.csv", missing),
					  "the rejects file", 0600, NULL, NULL,
					  &err),
			 ST_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot create the rejects file"));
	ck_assert_ptr_null(strstr(err.msg, "the report"));
	report_dest_close(&d);
}
END_TEST

/* Opens `path` as -o would; the status, the message in err. */
static enum status open_dest(struct report_dest *d, const char *path,
			     struct error *err)
{
	memset(err, 0, sizeof(*err));
	report_dest_init(d);
	return report_dest_open(d, path, "the report", 0600, NULL, NULL, err);
}

/* Makes the link `path` (itself) belong to nobody (65534): root only. */
static bool give_away(const char *path)
{
	return geteuid() == 0 && lchown(path, 65534, 65534) == 0;
}

/* review 14, A1: a chain of links of one's own is followed to its end;
 * the links stay, the file at the end is replaced. */
START_TEST(test_own_chain_is_followed_and_kept)
{
	char a[256], b[256], t[256], buf[256];
	ck_assert_int_eq(mkdir(in_dir("sub", a), 0700), 0);
	ck_assert_int_eq(symlink("sub/b.csv", in_dir("a.csv", a)), 0);
	ck_assert_int_eq(symlink("../t.csv", in_dir("sub/b.csv", b)), 0);
	int fd = open(in_dir("t.csv", t), O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	write_text(fd, "old\n");
	close(fd);
	struct report_dest d;
	struct error err;
	ck_assert_int_eq(open_dest(&d, a, &err), ST_OK);
	ck_assert(d.atomic);
	write_text(d.af.fd, "new\n");
	ck_assert_int_eq(atomic_file_publish(&d.af, &err), ST_OK);
	d.atomic = false;
	report_dest_close(&d);
	ck_assert_str_eq(contents(t, buf), "new\n");
	struct stat sb;
	ck_assert_int_eq(lstat(a, &sb), 0);
	ck_assert(S_ISLNK(sb.st_mode));
	ck_assert_int_eq(lstat(b, &sb), 0);
	ck_assert(S_ISLNK(sb.st_mode));
}
END_TEST

/* review 14, A1: one's own link whose chain passes through a link another
 * user owns -- at the end, or as a directory on the way -- is refused,
 * naming that link and its owner; nothing is created. */
START_TEST(test_chain_through_another_users_link_is_refused)
{
	if (geteuid() != 0)
		return; /* giving a link away needs root */
	char mine[256], theirs[256], t[256], buf[256], locked[256];
	int fd = open(in_dir("t.csv", t), O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	write_text(fd, "secret\n");
	close(fd);
	ck_assert_int_eq(mkdir(in_dir("drop", buf), 0755), 0);
	ck_assert_int_eq(symlink(t, in_dir("drop/today.csv", theirs)), 0);
	ck_assert(give_away(theirs));
	ck_assert_int_eq(symlink("drop/today.csv", in_dir("latest.csv", mine)), 0);
	struct report_dest d;
	struct error err;
	ck_assert_int_eq(open_dest(&d, mine, &err), ST_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "it leads through"));
	ck_assert_ptr_nonnull(strstr(err.msg, "drop/today.csv, a symbolic link "
					      "owned by user 65534"));
	report_dest_close(&d);
	ck_assert_str_eq(contents(t, buf), "secret\n");

	/* A directory link of theirs in the chain. */
	ck_assert_int_eq(mkdir(in_dir("locked", locked), 0700), 0);
	ck_assert_int_eq(symlink(locked, in_dir("drop/sub", theirs)), 0);
	ck_assert(give_away(theirs));
	ck_assert_int_eq(symlink("drop/sub/passwd", in_dir("latest2.csv", mine)), 0);
	ck_assert_int_eq(open_dest(&d, mine, &err), ST_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "drop/sub, a symbolic link owned by "
					      "user 65534"));
	report_dest_close(&d);
	DIR *dd = opendir(locked);
	ck_assert_ptr_nonnull(dd);
	int n = 0;
	for (struct dirent *e; (e = readdir(dd));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(dd);
	ck_assert_int_eq(n, 0);
}
END_TEST

/* review 14, A8: the directory checked is the directory written: swapped
 * for a link once the destination is open, it changes nothing. */
START_TEST(test_directory_swapped_after_open_is_not_followed)
{
	char sub[256], moved[256], other[256], p[256], buf[256];
	ck_assert_int_eq(mkdir(in_dir("reports", sub), 0700), 0);
	ck_assert_int_eq(mkdir(in_dir("other", other), 0700), 0);
	int fd = open(in_dir("other/daily.csv", p), O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	write_text(fd, "secret\n");
	close(fd);
	struct report_dest d;
	struct error err;
	ck_assert_int_eq(open_dest(&d, in_dir("reports/daily.csv", p), &err), ST_OK);
	ck_assert(d.atomic);
	write_text(d.af.fd, "report\n");
	ck_assert_int_eq(rename(sub, in_dir("moved", moved)), 0);
	ck_assert_int_eq(symlink(other, sub), 0);
	ck_assert_int_eq(atomic_file_publish(&d.af, &err), ST_OK);
	d.atomic = false;
	report_dest_close(&d);
	ck_assert_str_eq(contents(in_dir("other/daily.csv", p), buf), "secret\n");
	ck_assert_str_eq(contents(in_dir("moved/daily.csv", p), buf), "report\n");
}
END_TEST

/* review 14, C1: a file this process reads (the roster, once open) is
 * refused by any name that reaches it: its own, /proc/self/fd/N. */
START_TEST(test_file_open_for_reading_is_refused_by_any_name)
{
	char r[256], p[64], buf[256];
	int fd = open(in_dir("r.csv", r), O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	write_text(fd, "roster\n");
	close(fd);
	int ro = open(r, O_RDONLY);
	ck_assert_int_ge(ro, 0);
	struct report_dest d;
	struct error err;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", ro);
	ck_assert_int_eq(open_dest(&d, p, &err), ST_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "a file this run is reading"));
	ck_assert_ptr_nonnull(strstr(err.msg, r));
	report_dest_close(&d);
	snprintf(p, sizeof(p), "/dev/fd/%d", ro);
	ck_assert_int_eq(open_dest(&d, p, &err), ST_USAGE);
	report_dest_close(&d);
	ck_assert_int_eq(open_dest(&d, r, &err), ST_USAGE);
	report_dest_close(&d);
	close(ro);
	ck_assert_str_eq(contents(r, buf), "roster\n");
	/* Once closed, it is an ordinary destination again. */
	ck_assert_int_eq(open_dest(&d, r, &err), ST_OK);
	report_dest_close(&d);
}
END_TEST

/* /proc/self/fd/N naming a pipe: the kernel's object, written into. */
START_TEST(test_proc_fd_of_a_pipe_is_written_into)
{
	int pfd[2];
	char p[64], buf[16] = {0};
	ck_assert_int_eq(pipe(pfd), 0);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", pfd[1]);
	struct report_dest d;
	struct error err;
	ck_assert_int_eq(open_dest(&d, p, &err), ST_OK);
	ck_assert(!d.atomic);
	write_text(report_dest_fd(&d), "hi");
	report_dest_close(&d);
	close(pfd[1]);
	ck_assert_int_eq(read(pfd[0], buf, sizeof(buf) - 1), 2);
	ck_assert_str_eq(buf, "hi");
	close(pfd[0]);
}
END_TEST

/* A link of one's own to a missing file is refused, also when its text
 * goes through a directory link; "/" and a link to it are directories. */
START_TEST(test_links_to_missing_files_and_to_the_root)
{
	char a[256], l[256];
	struct report_dest d;
	struct error err;
	ck_assert_int_eq(mkdir(in_dir("real", a), 0700), 0);
	ck_assert_int_eq(symlink("real", in_dir("dl", a)), 0);
	ck_assert_int_eq(symlink("dl/x.csv", in_dir("l.csv", l)), 0);
	ck_assert_int_eq(open_dest(&d, l, &err), ST_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "symbolic link to a missing file"));
	report_dest_close(&d);
	ck_assert_int_eq(open_dest(&d, "/", &err), ST_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "Is a directory"));
	report_dest_close(&d);
	ck_assert_int_eq(symlink("/", in_dir("root", l)), 0);
	ck_assert_int_eq(open_dest(&d, l, &err), ST_IO);
	report_dest_close(&d);
	/* A new file in a directory reached through one's own link: made. */
	ck_assert_int_eq(open_dest(&d, in_dir("dl/new.csv", a), &err), ST_OK);
	ck_assert(d.atomic);
	report_dest_close(&d);
}
END_TEST

/* Found by tests/fuzz/fuzz_dest_walk: a destination that was never
 * opened through a temporary file (standard output, a refused or missing
 * one, a device) closed descriptor 0, standard input, on close. */
START_TEST(test_close_leaves_standard_input_open)
{
	char a[256], l[256];
	struct report_dest d;
	struct error err;
	int fd = open(in_dir("stdin", a), O_RDONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, 0), 0);
	close(fd);
	report_dest_init(&d);
	report_dest_close(&d);
	ck_assert_int_ne(fcntl(0, F_GETFD), -1);
	ck_assert_int_eq(symlink("missing", in_dir("l.csv", l)), 0);
	ck_assert_int_eq(open_dest(&d, l, &err), ST_IO);
	report_dest_close(&d);
	ck_assert_int_ne(fcntl(0, F_GETFD), -1);
	ck_assert_int_eq(open_dest(&d, "/dev/null", &err), ST_OK);
	report_dest_close(&d);
	ck_assert_int_ne(fcntl(0, F_GETFD), -1);
	struct stat sb, sb0;
	ck_assert_int_eq(stat(a, &sb), 0);
	ck_assert_int_eq(fstat(0, &sb0), 0);
	ck_assert(sb.st_ino == sb0.st_ino && sb.st_dev == sb0.st_dev);
}
END_TEST

/* Standard output to a file since removed: /dev/stdout's /proc link text
 * leads nowhere, the descriptor is still written through. */
START_TEST(test_dev_stdout_to_a_removed_file_is_written_through)
{
	char log[256];
	int saved = dup(1);
	int lf = open(in_dir("gone.txt", log), O_WRONLY | O_CREAT | O_APPEND, 0600);
	ck_assert_int_ge(lf, 0);
	ck_assert_int_eq(dup2(lf, 1), 1);
	ck_assert_int_eq(unlink(log), 0);
	struct report_dest d;
	struct error err;
	enum status st = open_dest(&d, "/dev/stdout", &err);
	bool direct = !d.atomic && d.direct_fd >= 0;
	report_dest_close(&d);
	dup2(saved, 1);
	close(saved);
	close(lf);
	ck_assert_msg(st == ST_OK, "%s", err.msg);
	ck_assert(direct);
}
END_TEST

/* report_dest_not_db_file(path, db): the status, and the message in err. */
static enum status not_db(const char *path, const char *db, struct error *err)
{
	memset(err, 0, sizeof(*err));
	return report_dest_not_db_file("-o", path, "the report", db, err);
}

START_TEST(test_db_files_refused_by_name_before_they_exist)
{
	char db[256], p[512], sub[256], here[256];
	struct error err;
	in_dir("t.db", db);
	/* Neither the database nor its files exist. */
	static const char *const suffixes[] = { "-wal", "-shm", "-journal" };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", db, suffixes[i]);
		ck_assert_int_eq(not_db(p, db, &err), ST_USAGE);
		ck_assert_ptr_nonnull(strstr(err.msg, "that is the database's"));
		ck_assert_ptr_nonnull(strstr(err.msg, suffixes[i]));
	}
	ck_assert_int_eq(not_db(db, db, &err), ST_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "that is the database;"));
	/* Another spelling of the same directory. */
	ck_assert_int_eq(mkdir(in_dir("sub", sub), 0700), 0);
	ck_assert_int_eq(symlink(".", in_dir("here", here)), 0);
	snprintf(p, sizeof(p), "%s/../t.db-wal", sub);
	ck_assert_int_eq(not_db(p, db, &err), ST_USAGE);
	snprintf(p, sizeof(p), "%s/t.db-shm", here);
	ck_assert_int_eq(not_db(p, db, &err), ST_USAGE);
	snprintf(p, sizeof(p), "%s/./t.db-journal", dir);
	ck_assert_int_eq(not_db(db, p, &err), ST_OK); /* db named t.db-journal */
	ck_assert_int_eq(not_db(p, db, &err), ST_USAGE);
}
END_TEST

START_TEST(test_other_names_pass)
{
	char db[256], p[512], sub[256];
	struct error err;
	in_dir("t.db", db);
	static const char *const names[] = { "t.db-wal.csv", "t.db-", "t.db-WAL",
					     "xt.db-wal", "t.d-wal", "t.dbwal" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_int_eq(not_db(in_dir(names[i], p), db, &err), ST_OK);
	ck_assert_int_eq(mkdir(in_dir("sub", sub), 0700), 0);
	snprintf(p, sizeof(p), "%s/t.db-wal", sub);
	ck_assert_int_eq(not_db(p, db, &err), ST_OK);
	/* A directory that is not there: not the database's. */
	ck_assert_int_eq(not_db(in_dir("nodir/t.db-wal", p), db, &err), ST_OK);
}
END_TEST

/* A link (of one's own) to the -wal's name is the -wal once it exists;
 * before that, report_dest_open refuses a link to a missing file. */
START_TEST(test_link_to_an_existing_wal_is_refused)
{
	char db[256], wal[256], link[256];
	struct error err;
	in_dir("t.db", db);
	int fd = open(in_dir("t.db-wal", wal), O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(symlink("t.db-wal", in_dir("w.csv", link)), 0);
	ck_assert_int_eq(not_db(link, db, &err), ST_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "-wal file"));
}
END_TEST

/* A symbolic link with a second name (a hard link to it) is refused,
 * even one the caller owns: who put the name there is not known (review
 * 21, F10). */
START_TEST(test_hard_linked_symlink_is_refused)
{
	char target[256], a[256], b[256];
	in_dir("target", target);
	in_dir("a.csv", a);
	in_dir("b.csv", b);
	int fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	write_text(fd, "keep\n");
	close(fd);
	ck_assert_int_eq(symlink(target, a), 0);
	if (linkat(AT_FDCWD, a, AT_FDCWD, b, 0) != 0)
		return; /* no hard links to links here */
	struct report_dest d;
	struct error err = {0};
	report_dest_init(&d);
	ck_assert_int_eq(report_dest_open(&d, b, "the report", 0600, NULL, NULL,
					  &err),
			 ST_IO);
	ck_assert_msg(strstr(err.msg, "is a symbolic link with 2 names") != NULL,
		      "%s", err.msg);
	report_dest_close(&d);
	char buf[256];
	ck_assert_str_eq(contents(target, buf), "keep\n");
}
END_TEST

/* Standard output closed (main.c holds its place with /dev/null opened
 * read-only): /dev/stdout is that closed descriptor, and writing the
 * report fails as it does without -o -- never into /dev/null (review 21,
 * F04). */
START_TEST(test_closed_stdout_by_name_stays_closed)
{
	int saved = dup(1);
	ck_assert_int_ge(saved, 0);
	int null = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(null, 0);
	ck_assert_int_eq(dup2(null, 1), 1);
	close(null);
	static const char *const names[] = { "/dev/stdout", "/dev/fd/1",
					     "/proc/self/fd/1" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct report_dest d;
		struct error err = {0};
		report_dest_init(&d);
		enum status st = report_dest_open(&d, names[i], "the report",
						  0600, NULL, NULL, &err);
		int fd = st == ST_OK ? report_dest_fd(&d) : -1;
		ssize_t n = fd >= 0 ? write(fd, "x", 1) : 0;
		int e = errno;
		report_dest_close(&d);
		dup2(saved, 1);
		ck_assert_msg(st == ST_OK, "%s: %s", names[i], err.msg);
		ck_assert_msg(n < 0 && e == EBADF, "%s: written into", names[i]);
		null = open("/dev/null", O_RDONLY);
		dup2(null, 1);
		close(null);
	}
	dup2(saved, 1);
	close(saved);
}
END_TEST

static Suite *report_dest_suite(void)
{
	Suite *s = suite_create("report_dest");
	TCase *tc = tcase_create("standard output");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_stdout_file_by_its_own_name_is_written_in_place);
	tcase_add_test(tc, test_dev_stdout_to_a_file_is_written_in_place);
	tcase_add_test(tc, test_proc_self_fd_1_to_a_file_is_written_in_place);
	tcase_add_test(tc, test_stderr_file_is_written_in_place);
	tcase_add_test(tc, test_another_file_is_replaced_whole);
	tcase_add_test(tc, test_read_only_stdout_is_not_used);
	tcase_add_test(tc, test_messages_name_the_rejects_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("links and directories");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_own_chain_is_followed_and_kept);
	tcase_add_test(tc, test_chain_through_another_users_link_is_refused);
	tcase_add_test(tc, test_directory_swapped_after_open_is_not_followed);
	tcase_add_test(tc, test_file_open_for_reading_is_refused_by_any_name);
	tcase_add_test(tc, test_proc_fd_of_a_pipe_is_written_into);
	tcase_add_test(tc, test_links_to_missing_files_and_to_the_root);
	tcase_add_test(tc, test_dev_stdout_to_a_removed_file_is_written_through);
	tcase_add_test(tc, test_close_leaves_standard_input_open);
	suite_add_tcase(s, tc);

	tc = tcase_create("database files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_db_files_refused_by_name_before_they_exist);
	tcase_add_test(tc, test_other_names_pass);
	tcase_add_test(tc, test_link_to_an_existing_wal_is_refused);
	tcase_add_test(tc, test_hard_linked_symlink_is_refused);
	tcase_add_test(tc, test_closed_stdout_by_name_stays_closed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(report_dest_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
