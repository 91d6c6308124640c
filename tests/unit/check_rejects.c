/* check_rejects: the --rejects record spool -- bounded, and made beside
 * the rejects file, not in /tmp whatever $TMPDIR says (review 14, A3). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rejects.h"
#include "testutil.h"

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/check_rejects.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static bool not_cancelled(void *ctx)
{
	(void)ctx;
	return false;
}

/* Feeds one record of `fields` fields of `len` bytes each. */
static void feed(struct rejects *rj, int fields, size_t len)
{
	static const unsigned char x[4096];
	uint64_t ref;
	for (int i = 0; i < fields; i++)
		rejects_field(rj, (size_t)i, x, len);
	rejects_record_end(rj, false, &ref);
}

START_TEST(test_spool_past_its_limit_fails_the_flush)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/rej.csv", dir);
	struct rejects *rj = NULL;
	struct error err = {0};
	ck_assert_int_eq(rejects_new(path, 0600, not_cancelled, NULL, &rj, &err),
			 ST_OK);
	rejects_set_spool_limit(rj, 10000);
	feed(rj, 2, 10); /* the header */
	for (int i = 0; i < 4; i++)
		feed(rj, 5, 100);
	ck_assert_int_eq(rejects_flush(rj, &err), ST_OK);
	for (int i = 0; i < 40; i++)
		feed(rj, 5, 100);
	ck_assert_int_eq(rejects_flush(rj, &err), ST_INPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "rej.csv: the roster's records "
					      "kept for --rejects would pass "
					      "10,000 bytes"));
	ck_assert_ptr_nonnull(strstr(err.msg, "nothing was written"));
	rejects_free(rj);
	ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

/* How many of our descriptors are files without a name in `d` (what
 * /proc shows as "D/#123 (deleted)" or "D/.bulkreg-spool.X (deleted)"). */
static int unnamed_files_in(const char *d)
{
	int n = 0;
	DIR *fds = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(fds);
	struct dirent *e;
	while ((e = readdir(fds))) {
		char link[300], target[512];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, d, strlen(d)) == 0 &&
		    target[strlen(d)] == '/' && strstr(target, " (deleted)"))
			n++;
	}
	closedir(fds);
	return n;
}

START_TEST(test_spool_is_made_beside_the_file_not_in_tmpdir)
{
	/* A TMPDIR that does not exist: a spool made there would fail. */
	char path[128], missing[128];
	snprintf(path, sizeof(path), "%s/rej.csv", dir);
	snprintf(missing, sizeof(missing), "%s/no-such-dir", dir);
	char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
	setenv("TMPDIR", missing, 1);
	struct rejects *rj = NULL;
	struct error err = {0};
	enum status st = rejects_new(path, 0600, not_cancelled, NULL, &rj, &err);
	if (old) {
		setenv("TMPDIR", old, 1);
		free(old);
	} else {
		unsetenv("TMPDIR");
	}
	ck_assert_msg(st == ST_OK, "%s", err.msg);
	ck_assert_int_ge(unnamed_files_in(dir), 1);
	feed(rj, 2, 10);
	feed(rj, 2, 10);
	ck_assert_int_eq(rejects_flush(rj, &err), ST_OK);
	rejects_free(rj);
}
END_TEST

static Suite *rejects_suite(void)
{
	Suite *s = suite_create("rejects");
	TCase *tc = tcase_create("spool");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_spool_past_its_limit_fails_the_flush);
	tcase_add_test(tc, test_spool_is_made_beside_the_file_not_in_tmpdir);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rejects_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
