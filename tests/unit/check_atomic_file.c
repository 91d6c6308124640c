/* check_atomic_file: the atomic file's contract, one rule per test. */
#define _GNU_SOURCE /* O_PATH */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "testutil.h"

/* Each test works in its own directory inside one per test case: the
 * parent process removes the lot even when a failed test skipped its own
 * teardown. */
static char base[64], dir[128];

static void remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		chmod(path, 0700);
		DIR *d = opendir(path);
		struct dirent *e;
		char sub[512];
		while (d && (e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			remove_tree(sub);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void case_setup(void)
{
	strcpy(base, "/tmp/check_atomic_file.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
}

static void case_teardown(void)
{
	remove_tree(base);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/test.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	remove_tree(dir);
}

static char *in_dir(const char *name)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* The file's contents (at most 255 bytes) into buf. */
static const char *read_file(const char *path, char buf[256])
{
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, 255, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void write_fd(int fd, const char *text)
{
	ssize_t n = write(fd, text, strlen(text));
	ck_assert_int_eq(n, (ssize_t)strlen(text));
}

/* Entries in the test directory, "." and ".." aside. */
static int dir_entries(void)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

START_TEST(test_publish_replaces_existing_only_at_publish)
{
	char buf[256], path[512];
	struct atomic_file af;
	struct error err;

	snprintf(path, sizeof(path), "%s", in_dir("report.csv"));
	write_file(path, "old\n");
	ck_assert_int_eq(atomic_file_open(&af, path, "the report", 0600, &err), ST_OK);
	write_fd(af.fd, "new\n");
	ck_assert_str_eq(read_file(path, buf), "old\n");
	ck_assert_int_eq(atomic_file_sync(&af, &err), ST_OK);
	ck_assert_str_eq(read_file(path, buf), "old\n");
	ck_assert_int_eq(atomic_file_publish(&af, &err), ST_OK);
	ck_assert_str_eq(read_file(path, buf), "new\n");
	ck_assert_int_eq(dir_entries(), 1);
}
END_TEST

START_TEST(test_publish_creates_a_new_file)
{
	char buf[256], path[512];
	struct atomic_file af;
	struct error err;

	snprintf(path, sizeof(path), "%s", in_dir("new.json"));
	ck_assert_int_eq(atomic_file_open(&af, path, "the report", 0600, &err), ST_OK);
	write_fd(af.fd, "{}\n");
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(atomic_file_publish(&af, &err), ST_OK);
	ck_assert_str_eq(read_file(path, buf), "{}\n");
	ck_assert_int_eq(dir_entries(), 1);
}
END_TEST

START_TEST(test_publish_releases_the_struct)
{
	struct atomic_file af;
	struct error err;

	ck_assert_int_eq(atomic_file_open(&af, in_dir("r.txt"), "the report", 0600, &err), ST_OK);
	ck_assert_int_eq(atomic_file_publish(&af, &err), ST_OK);
	ck_assert_ptr_null(af.path);
	ck_assert_ptr_null(af.tmp_path);
	ck_assert_int_eq(af.fd, -1);
}
END_TEST

START_TEST(test_discard_leaves_old_file_and_no_temp)
{
	char buf[256], path[512];
	struct atomic_file af;
	struct error err;

	snprintf(path, sizeof(path), "%s", in_dir("report.csv"));
	write_file(path, "old\n");
	ck_assert_int_eq(atomic_file_open(&af, path, "the report", 0600, &err), ST_OK);
	write_fd(af.fd, "new\n");
	ck_assert_int_eq(dir_entries(), 2);
	atomic_file_discard(&af);
	ck_assert_str_eq(read_file(path, buf), "old\n");
	ck_assert_int_eq(dir_entries(), 1);
}
END_TEST

START_TEST(test_discard_without_old_file_leaves_nothing)
{
	struct atomic_file af;
	struct error err;

	ck_assert_int_eq(atomic_file_open(&af, in_dir("x.txt"), "the report", 0600, &err), ST_OK);
	atomic_file_discard(&af);
	ck_assert_int_eq(dir_entries(), 0);
}
END_TEST

START_TEST(test_discard_is_idempotent_and_safe_after_publish)
{
	char buf[256], path[512];
	struct atomic_file af;
	struct error err;

	snprintf(path, sizeof(path), "%s", in_dir("r.txt"));
	ck_assert_int_eq(atomic_file_open(&af, path, "the report", 0600, &err), ST_OK);
	write_fd(af.fd, "kept\n");
	ck_assert_int_eq(atomic_file_publish(&af, &err), ST_OK);
	atomic_file_discard(&af);
	atomic_file_discard(&af);
	ck_assert_str_eq(read_file(path, buf), "kept\n");

	ck_assert_int_eq(atomic_file_open(&af, in_dir("s.txt"), "the report", 0600, &err), ST_OK);
	atomic_file_discard(&af);
	atomic_file_discard(&af);
	ck_assert_int_eq(dir_entries(), 1);
}
END_TEST

START_TEST(test_temp_file_is_hidden_beside_the_target)
{
	char path[512], prefix[512];
	struct atomic_file af;
	struct error err;

	snprintf(path, sizeof(path), "%s", in_dir("out.csv"));
	snprintf(prefix, sizeof(prefix), "%s/.out.csv.", dir);
	ck_assert_int_eq(atomic_file_open(&af, path, "the report", 0600, &err), ST_OK);
	ck_assert_str_eq(af.path, path);
	ck_assert_int_eq(strncmp(af.tmp_path, prefix, strlen(prefix)), 0);
	ck_assert_uint_eq(strlen(af.tmp_path), strlen(prefix) + 6);
	ck_assert_int_eq(access(af.tmp_path, F_OK), 0);
	atomic_file_discard(&af);
}
END_TEST

START_TEST(test_descriptor_is_close_on_exec)
{
	struct atomic_file af;
	struct error err;

	ck_assert_int_eq(atomic_file_open(&af, in_dir("c.txt"), "the report", 0600, &err), ST_OK);
	int flags = fcntl(af.fd, F_GETFD);
	ck_assert_int_ne(flags & FD_CLOEXEC, 0);
	atomic_file_discard(&af);
}
END_TEST

/* The mode the report gets when asked for `mode` under `mask`. */
static mode_t published_mode(mode_t mask, unsigned mode)
{
	struct atomic_file af;
	struct error err;
	struct stat st;
	mode_t old = umask(mask);

	ck_assert_int_eq(atomic_file_open(&af, in_dir("m.txt"), "the report", mode, &err), ST_OK);
	ck_assert_int_eq(fstat(af.fd, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, mode); /* the temporary file too */
	ck_assert_int_eq(atomic_file_publish(&af, &err), ST_OK);
	umask(old);
	ck_assert_int_eq(stat(in_dir("m.txt"), &st), 0);
	return st.st_mode & 07777;
}

/* Personal data: exactly the mode asked for, whatever the umask. */
START_TEST(test_mode_is_exact_whatever_the_umask)
{
	ck_assert_uint_eq(published_mode(022, 0600), 0600);
	ck_assert_uint_eq(published_mode(0, 0600), 0600);
	ck_assert_uint_eq(published_mode(077, 0640), 0640);
	ck_assert_uint_eq(published_mode(002, 0640), 0640);
}
END_TEST

START_TEST(test_missing_directory_is_io_error)
{
	char path[512];
	struct atomic_file af;
	struct error err;

	snprintf(path, sizeof(path), "%s", in_dir("nodir/report.csv"));
	ck_assert_int_eq(atomic_file_open(&af, path, "the report", 0600, &err), ST_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot create the report"));
	ck_assert_ptr_nonnull(strstr(err.msg, strerror(ENOENT)));
	atomic_file_discard(&af); /* safe after a failed open */
	ck_assert_int_eq(dir_entries(), 0);
}
END_TEST

START_TEST(test_unwritable_directory_is_io_error)
{
	if (geteuid() == 0)
		return; /* root writes anywhere: nothing to check */
	struct atomic_file af;
	struct error err;

	ck_assert_int_eq(chmod(dir, 0500), 0);
	enum status st = atomic_file_open(&af, in_dir("r.csv"), "the report", 0600, &err);
	chmod(dir, 0700);
	ck_assert_int_eq(st, ST_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, strerror(EACCES)));
}
END_TEST

START_TEST(test_directory_as_target_is_io_error)
{
	char path[512];
	struct atomic_file af;
	struct error err;

	snprintf(path, sizeof(path), "%s/", dir);
	ck_assert_int_eq(atomic_file_open(&af, path, "the report", 0600, &err), ST_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot create the report"));
}
END_TEST

START_TEST(test_name_without_directory_uses_cwd)
{
	char buf[256], cwd[512];
	struct atomic_file af;
	struct error err;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(atomic_file_open(&af, "plain.txt", "the report", 0600, &err), ST_OK);
	ck_assert_int_eq(strncmp(af.tmp_path, ".plain.txt.", 11), 0);
	write_fd(af.fd, "here\n");
	ck_assert_int_eq(atomic_file_publish(&af, &err), ST_OK);
	ck_assert_str_eq(read_file(in_dir("plain.txt"), buf), "here\n");
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

START_TEST(test_failed_publish_keeps_old_file_and_discard_cleans)
{
	char buf[256], path[512];
	struct atomic_file af;
	struct error err;

	/* rename() cannot replace a non-empty directory, which appears
	 * after the open (open itself refuses a directory). */
	snprintf(path, sizeof(path), "%s", in_dir("busy"));
	ck_assert_int_eq(atomic_file_open(&af, path, "the report", 0600, &err), ST_OK);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	write_file(in_dir("busy/inner"), "old\n");
	ck_assert_int_eq(atomic_file_publish(&af, &err), ST_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	atomic_file_discard(&af);
	ck_assert_str_eq(read_file(in_dir("busy/inner"), buf), "old\n");
	ck_assert_int_eq(dir_entries(), 1);
	unlink(in_dir("busy/inner"));
	rmdir(path);
}
END_TEST

START_TEST(test_open_refuses_a_directory)
{
	char path[512];
	struct atomic_file af;
	struct error err;
	snprintf(path, sizeof(path), "%s", in_dir("adir"));
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(atomic_file_open(&af, path, "the report", 0600, &err), ST_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "Is a directory"));
	ck_assert_int_eq(dir_entries(), 1); /* no temporary file was left */
	rmdir(path);
}
END_TEST

/* review 14, A8: the directory is resolved once.  Swapped for a link to
 * another directory between open and publish (as another user who owns
 * the parent can do at any moment), the report still goes into the
 * directory the temporary file was created in -- never through the link. */
START_TEST(test_publish_goes_to_the_directory_opened_not_its_name)
{
	char sub[512], moved[512], other[512], buf[256];
	snprintf(sub, sizeof(sub), "%s", in_dir("reports"));
	snprintf(moved, sizeof(moved), "%s", in_dir("moved"));
	snprintf(other, sizeof(other), "%s", in_dir("other"));
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(mkdir(other, 0700), 0);
	char path[600], victim[600], landed[600];
	snprintf(path, sizeof(path), "%s/daily.csv", sub);
	snprintf(victim, sizeof(victim), "%s/daily.csv", other);
	snprintf(landed, sizeof(landed), "%s/daily.csv", moved);
	write_file(victim, "precious\n");

	struct atomic_file af;
	struct error err = {0};
	ck_assert_int_eq(atomic_file_open(&af, path, "the report", 0600, &err), ST_OK);
	write_fd(af.fd, "report\n");
	ck_assert_int_eq(rename(sub, moved), 0);
	ck_assert_int_eq(symlink(other, sub), 0);
	ck_assert_int_eq(atomic_file_publish(&af, &err), ST_OK);

	ck_assert_str_eq(read_file(victim, buf), "precious\n");
	ck_assert_str_eq(read_file(landed, buf), "report\n");
	DIR *d = opendir(other);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	ck_assert_int_eq(n, 1); /* daily.csv alone: no temporary file */
}
END_TEST

/* The same for a discard: the temporary file is removed from the directory
 * it is in, whatever its name now leads to. */
START_TEST(test_discard_removes_from_the_directory_opened)
{
	char sub[512], moved[512], other[512], path[600];
	snprintf(sub, sizeof(sub), "%s", in_dir("reports"));
	snprintf(moved, sizeof(moved), "%s", in_dir("moved"));
	snprintf(other, sizeof(other), "%s", in_dir("other"));
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(mkdir(other, 0700), 0);
	snprintf(path, sizeof(path), "%s/daily.csv", sub);
	struct atomic_file af;
	struct error err = {0};
	ck_assert_int_eq(atomic_file_open(&af, path, "the report", 0600, &err), ST_OK);
	ck_assert_int_eq(rename(sub, moved), 0);
	ck_assert_int_eq(symlink(other, sub), 0);
	atomic_file_discard(&af);
	DIR *d = opendir(moved);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	ck_assert_int_eq(n, 0);
}
END_TEST

/* atomic_file_openat: the directory given by descriptor, the name shown
 * only in messages. */
START_TEST(test_openat_uses_the_descriptor)
{
	char buf[256];
	ck_assert_int_eq(mkdir(in_dir("d"), 0700), 0);
	int dfd = open(in_dir("d"), O_PATH | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	struct atomic_file af;
	struct error err = {0};
	ck_assert_int_eq(atomic_file_openat(&af, dfd, "r.csv", "elsewhere/r.csv",
					    "the report", 0600, &err),
			 ST_OK);
	close(dfd); /* the file keeps its own copy */
	ck_assert_int_eq(strncmp(af.tmp_path, "elsewhere/.r.csv.", 17), 0);
	write_fd(af.fd, "x\n");
	ck_assert_int_eq(atomic_file_publish(&af, &err), ST_OK);
	ck_assert_str_eq(read_file(in_dir("d/r.csv"), buf), "x\n");
}
END_TEST

static Suite *atomic_file_suite(void)
{
	Suite *s = suite_create("atomic_file");
	TCase *tc = tcase_create("publish");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_publish_replaces_existing_only_at_publish);
	tcase_add_test(tc, test_open_refuses_a_directory);
	tcase_add_test(tc, test_publish_creates_a_new_file);
	tcase_add_test(tc, test_publish_releases_the_struct);
	tcase_add_test(tc, test_discard_leaves_old_file_and_no_temp);
	tcase_add_test(tc, test_discard_without_old_file_leaves_nothing);
	tcase_add_test(tc, test_discard_is_idempotent_and_safe_after_publish);
	tcase_add_test(tc, test_temp_file_is_hidden_beside_the_target);
	tcase_add_test(tc, test_descriptor_is_close_on_exec);
	tcase_add_test(tc, test_mode_is_exact_whatever_the_umask);
	tcase_add_test(tc, test_name_without_directory_uses_cwd);
	tcase_add_test(tc, test_failed_publish_keeps_old_file_and_discard_cleans);
	tcase_add_test(tc, test_publish_goes_to_the_directory_opened_not_its_name);
	tcase_add_test(tc, test_discard_removes_from_the_directory_opened);
	tcase_add_test(tc, test_openat_uses_the_descriptor);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_missing_directory_is_io_error);
	tcase_add_test(tc, test_unwritable_directory_is_io_error);
	tcase_add_test(tc, test_directory_as_target_is_io_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(atomic_file_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
