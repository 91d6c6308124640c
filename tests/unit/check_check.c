/* check_check: the --check runner's contract, one rule per test, with real scripts. */
#define _GNU_SOURCE /* prctl's PR_SET_CHILD_SUBREAPER */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "check.h"
#include "testutil.h"

/* ---- fixtures ----------------------------------------------------------- */

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
	strcpy(base, "/tmp/check_check.XXXXXX");
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

/* ---- helpers ------------------------------------------------------------ */

static const char *in_dir(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
	return buf;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* Writes an executable /bin/sh script; returns its path (static). */
static const char *script(const char *name, const char *body)
{
	static char path[256];
	char text[4096];
	in_dir(path, sizeof(path), name);
	snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
	write_file(path, text, 0755);
	return path;
}

/* Reads a whole small file; returns its length or -1. */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	ssize_t n;
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	close(fd);
	return (ssize_t)len;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void set_value(struct row *row, enum row_field f, const char *s)
{
	size_t n = strlen(s);
	ck_assert_uint_le(n, ROW_VALUE_MAX);
	memcpy(row->v[f].text, s, n + 1);
	row->v[f].len = (uint32_t)n;
	row->present |= 1u << f;
}

static void make_row(struct row *row, uint64_t line)
{
	memset(row, 0, sizeof(*row));
	row->line = line;
	row->nfields = FIELD_COUNT;
	set_value(row, FIELD_STUDENT_ID, "S1001");
	set_value(row, FIELD_FIRST_NAME, "Ada");
	set_value(row, FIELD_LAST_NAME, "Lovelace");
	set_value(row, FIELD_EMAIL, "ada@example.org");
	set_value(row, FIELD_COURSE, "CS101");
}

static struct check_config *config(const char *cmd, double timeout)
{
	struct check_config *cfg = NULL;
	struct error err;
	ck_assert_int_eq(check_config_new(cmd, timeout, &cfg, &err), ST_OK);
	ck_assert_ptr_nonnull(cfg);
	return cfg;
}

/* Runs `cmd` once for a default row (line 2, batch 1). */
static void run_check(const char *cmd, double timeout, struct row *row)
{
	struct check_config *cfg = config(cmd, timeout);
	make_row(row, 2);
	check_row(cfg, row, 1, NULL);
	check_config_free(cfg);
}

static void assert_rejected(const struct row *row, enum row_reason reason,
			    const char *detail)
{
	ck_assert_int_eq(row->status, STATUS_REJECTED);
	ck_assert_str_eq(row_reason_name(row->reason), row_reason_name(reason));
	ck_assert_str_eq(row->detail, detail);
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---- configuration ------------------------------------------------------ */

START_TEST(test_config_rejects_empty_command)
{
	struct check_config *cfg = NULL;
	struct error err;
	ck_assert_int_eq(check_config_new("", 1, &cfg, &err), ST_USAGE);
	ck_assert_int_eq(check_config_new(" \t ", 1, &cfg, &err), ST_USAGE);
	ck_assert_int_eq(check_config_new(NULL, 1, &cfg, &err), ST_USAGE);
	ck_assert_ptr_null(cfg);
}
END_TEST

START_TEST(test_config_rejects_bad_timeout)
{
	struct check_config *cfg = NULL;
	struct error err;
	ck_assert_int_eq(check_config_new("true", 0, &cfg, &err), ST_USAGE);
	ck_assert_int_eq(check_config_new("true", -1, &cfg, &err), ST_USAGE);
	ck_assert_int_eq(check_config_new("true", 0.0 / 0.0, &cfg, &err),
			 ST_USAGE);
	ck_assert_int_eq(check_config_new("true", 1.0 / 0.0, &cfg, &err),
			 ST_USAGE);
	ck_assert_ptr_null(cfg);
}
END_TEST

/* Review 19, F15: 1,024 checks at once need about 3,100 descriptors, more
 * than the usual soft limit of 1,024; the soft limit is raised that far
 * (no further, and never past the hard limit). */
START_TEST(test_config_raises_a_low_soft_descriptor_limit)
{
	struct rlimit old, low, now;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	if (old.rlim_max != RLIM_INFINITY && old.rlim_max <= 64)
		return; /* nothing to raise it to */
	low = old;
	low.rlim_cur = 64;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	struct check_config *cfg = config("true", 5);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &now), 0);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	check_config_free(cfg);
	ck_assert_msg(now.rlim_cur > 64, "the soft limit stayed at 64");
	ck_assert(now.rlim_max == old.rlim_max);
	ck_assert_msg(now.rlim_cur == now.rlim_max || now.rlim_cur < 4096,
		      "raised to %llu, further than checks need",
		      (unsigned long long)now.rlim_cur);
}
END_TEST

/* ---- verdicts ----------------------------------------------------------- */

START_TEST(test_exit_zero_leaves_row_eligible)
{
	struct row row;
	run_check(script("ok.sh", "exit 0"), 5, &row);
	ck_assert_int_eq(row.status, STATUS_NONE);
	ck_assert_int_eq(row.reason, REASON_NONE);
	ck_assert_str_eq(row.detail, "");
	ck_assert(row.check_seconds > 0);
	ck_assert(row.check_seconds < 5);
}
END_TEST

START_TEST(test_failure_output_is_the_detail)
{
	struct row row;
	run_check(script("hold.sh", "echo 'student on hold'; exit 1"), 5, &row);
	assert_rejected(&row, REASON_CHECK_FAILED, "student on hold");
}
END_TEST

START_TEST(test_failure_detail_is_first_non_empty_line_trimmed)
{
	struct row row;
	run_check(script("lines.sh", "printf '\\n  \\n\\t student on hold  \\r\\n"
				     "second line\\n'; exit 2"),
		  5, &row);
	assert_rejected(&row, REASON_CHECK_FAILED, "student on hold");
}
END_TEST

START_TEST(test_stderr_is_captured_too)
{
	struct row row;
	run_check(script("err.sh", "echo 'fees unpaid' >&2; exit 1"), 5, &row);
	assert_rejected(&row, REASON_CHECK_FAILED, "fees unpaid");
}
END_TEST

START_TEST(test_long_detail_is_cut_at_a_character_boundary)
{
	/* "a" then 150 two-byte characters: 301 bytes; 200 would split one. */
	char body[1024] = "printf 'a";
	for (int i = 0; i < 150; i++)
		strcat(body, "\xc3\xa9");
	strcat(body, "\\n'; exit 1");
	struct row row;
	run_check(script("long.sh", body), 5, &row);
	ck_assert_int_eq(row.reason, REASON_CHECK_FAILED);
	ck_assert_uint_eq(strlen(row.detail), 199);
	ck_assert_int_eq(memcmp(row.detail, body + strlen("printf '"), 199), 0);
}
END_TEST

START_TEST(test_failure_without_output_names_exit_status)
{
	struct row row;
	run_check(script("three.sh", "exit 3"), 5, &row);
	assert_rejected(&row, REASON_CHECK_FAILED, "exit status 3");
}
END_TEST

START_TEST(test_blank_output_counts_as_none)
{
	struct row row;
	run_check(script("blank.sh", "printf '  \\n\\t\\n'; exit 4"), 5, &row);
	assert_rejected(&row, REASON_CHECK_FAILED, "exit status 4");
}
END_TEST

START_TEST(test_killed_by_signal_names_it)
{
	struct row row;
	run_check(script("kill.sh", "kill -9 $$"), 5, &row);
	assert_rejected(&row, REASON_CHECK_FAILED, "killed by signal 9 (SIGKILL)");
}
END_TEST

START_TEST(test_shell_builtin_first_word_runs_in_the_shell)
{
	/* No shell syntax, but `exit` is no program: the shell must run it. */
	struct row row;
	run_check("exit 5", 5, &row);
	assert_rejected(&row, REASON_CHECK_FAILED, "exit status 5");
}
END_TEST

START_TEST(test_direct_command_gets_its_arguments)
{
	struct row row;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s  first\tsecond", script("args.sh",
		 "echo \"$#:$1:$2\"; exit 1"));
	run_check(cmd, 5, &row);
	assert_rejected(&row, REASON_CHECK_FAILED, "2:first:second");
}
END_TEST

/* ---- commands that cannot run ------------------------------------------ */

START_TEST(test_not_found_via_shell_is_check_error)
{
	struct row row;
	run_check("bulkreg_no_such_command 'x'", 5, &row);
	ck_assert_int_eq(row.status, STATUS_REJECTED);
	ck_assert_int_eq(row.reason, REASON_CHECK_ERROR);
	ck_assert_msg(has_prefix(row.detail, "command not found (exit 127): "),
		      "detail: %s", row.detail);
	ck_assert_ptr_nonnull(strstr(row.detail, "bulkreg_no_such_command"));
}
END_TEST

START_TEST(test_not_found_direct_is_check_error)
{
	struct row row;
	run_check("bulkreg_no_such_command x", 5, &row);
	assert_rejected(&row, REASON_CHECK_ERROR,
			"command not found (exit 127): "
			"bulkreg_no_such_command: not found");
	ck_assert(row.check_seconds < 1); /* not retried */
}
END_TEST

START_TEST(test_not_executable_via_shell_is_check_error)
{
	char path[256], cmd[300];
	write_file(in_dir(path, sizeof(path), "plain.sh"), "exit 0\n", 0644);
	snprintf(cmd, sizeof(cmd), "'%s'", path); /* quotes: the shell runs it */
	struct row row;
	run_check(cmd, 5, &row);
	ck_assert_int_eq(row.reason, REASON_CHECK_ERROR);
	ck_assert_msg(has_prefix(row.detail, "not executable (exit 126): "),
		      "detail: %s", row.detail);
}
END_TEST

START_TEST(test_not_executable_direct_is_check_error)
{
	char path[256], want[512];
	write_file(in_dir(path, sizeof(path), "plain.sh"), "exit 0\n", 0644);
	struct row row;
	run_check(path, 5, &row);
	snprintf(want, sizeof(want), "not executable (exit 126): %s: %s", path,
		 strerror(EACCES));
	assert_rejected(&row, REASON_CHECK_ERROR, want);
}
END_TEST

/* ---- the pre-flight (issue 13): a direct command that cannot run ------- */

static enum status preflight(const char *cmd, struct error *err)
{
	struct check_config *cfg = config(cmd, 5);
	enum status st = check_config_preflight(cfg, err);
	check_config_free(cfg);
	return st;
}

START_TEST(test_preflight_refuses_a_direct_command_not_found)
{
	struct error err = {0};
	ck_assert_int_eq(preflight("bulkreg_no_such_command x", &err), ST_USAGE);
	ck_assert_msg(strstr(err.msg, "--check bulkreg_no_such_command: "
				      "command not found"),
		      "%s", err.msg);
	ck_assert_int_eq(preflight("./bulkreg_no_such_file.sh", &err), ST_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "./bulkreg_no_such_file.sh"));
}
END_TEST

START_TEST(test_preflight_refuses_not_executable_and_directories)
{
	char path[256];
	struct error err = {0};
	write_file(in_dir(path, sizeof(path), "plain.sh"), "exit 0\n", 0644);
	ck_assert_int_eq(preflight(path, &err), ST_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	ck_assert_ptr_nonnull(strstr(err.msg, strerror(EACCES)));
	ck_assert_int_eq(preflight(in_dir(path, sizeof(path), ""), &err),
			 ST_USAGE);
}
END_TEST

START_TEST(test_preflight_leaves_shell_commands_and_good_ones)
{
	struct error err = {0};
	ck_assert_int_eq(preflight("bulkreg_no_such_command 'x'", &err), ST_OK);
	ck_assert_int_eq(preflight("bulkreg_no_such_command; true", &err), ST_OK);
	ck_assert_int_eq(preflight("true", &err), ST_OK);
	ck_assert_int_eq(preflight("/bin/sh -c true", &err), ST_OK);
	char path[256];
	write_file(in_dir(path, sizeof(path), "ok.sh"), "exit 0\n", 0755);
	ck_assert_int_eq(preflight(path, &err), ST_OK);
}
END_TEST

START_TEST(test_script_without_shebang_runs_as_the_shell_would)
{
	char path[256];
	write_file(in_dir(path, sizeof(path), "bare"), "echo nope; exit 4\n",
		   0755);
	struct row row;
	run_check(path, 5, &row); /* direct: ENOEXEC, then through sh */
	assert_rejected(&row, REASON_CHECK_FAILED, "nope");
}
END_TEST

START_TEST(test_spawn_failure_is_retried_then_check_error)
{
	struct check_config *cfg = config("true", 5);
	struct rlimit old, tight;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* No fd left for the pipe: every attempt fails with EMFILE. */
	int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(probe, 0);
	close(probe);
	tight = old;
	tight.rlim_cur = (rlim_t)probe;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &tight), 0);
	struct row row;
	make_row(&row, 2);
	check_row(cfg, &row, 1, NULL);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	check_config_free(cfg);

	char want[256];
	snprintf(want, sizeof(want), "cannot start the check: %s",
		 strerror(EMFILE));
	assert_rejected(&row, REASON_CHECK_ERROR, want);
	ck_assert_msg(row.check_seconds >= 0.2, "gave up after %.3f s",
		      row.check_seconds); /* 10 + 40 + 160 ms of back-off */
}
END_TEST

/* ---- deadlines and signals ---------------------------------------------- */

START_TEST(test_timeout_terminates_the_check)
{
	struct row row;
	run_check(script("slow.sh", "sleep 30"), 0.3, &row);
	assert_rejected(&row, REASON_CHECK_TIMEOUT, "no answer within 0.3 s");
	ck_assert(row.check_seconds >= 0.3);
	ck_assert_msg(row.check_seconds < 1.25, "took %.3f s", row.check_seconds);
}
END_TEST

START_TEST(test_ignoring_sigterm_is_killed_after_the_grace)
{
	struct row row;
	run_check(script("stubborn.sh", "trap '' TERM; sleep 30"), 0.3, &row);
	assert_rejected(&row, REASON_CHECK_TIMEOUT, "no answer within 0.3 s");
	ck_assert_msg(row.check_seconds >= 0.3 + CHECK_KILL_GRACE,
		      "took %.3f s", row.check_seconds);
	ck_assert_msg(row.check_seconds < 3, "took %.3f s", row.check_seconds);
}
END_TEST

START_TEST(test_child_gets_default_signals_whatever_the_parent_blocks)
{
	/* The calling thread blocks TERM and the process ignores it: both
	 * must be undone in the child, or SIGTERM would not end it. */
	sigset_t term, old;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
	struct sigaction ign = {.sa_handler = SIG_IGN}, prev;
	ck_assert_int_eq(sigaction(SIGTERM, &ign, &prev), 0);
	struct row row;
	run_check("sleep 30", 0.3, &row); /* direct: no shell to reset them */
	sigaction(SIGTERM, &prev, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	assert_rejected(&row, REASON_CHECK_TIMEOUT, "no answer within 0.3 s");
	ck_assert_msg(row.check_seconds < 1.25, "took %.3f s", row.check_seconds);
}
END_TEST

/* Runs a check that leaves `leaver` behind (it writes its pid to a file
 * first) and returns that pid; by then it must be gone: killed and reaped
 * by check_row itself (bulkreg is the orphans' subreaper). */
static pid_t leftover_of(const char *leaver)
{
	char pidfile[256], body[1536], buf[32];
	in_dir(pidfile, sizeof(pidfile), "pid");
	snprintf(body, sizeof(body),
		 "%s </dev/null >/dev/null 2>&1 &\n"
		 "while [ ! -s '%s' ]; do :; done; exit 0",
		 leaver, pidfile);
	struct row row;
	run_check(script("fork.sh", body), 5, &row);
	ck_assert_int_eq(row.status, STATUS_NONE);
	ssize_t n = read_file(pidfile, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	pid_t pid = (pid_t)atoi(buf);
	ck_assert_int_gt(pid, 1);
	return pid;
}

static void assert_gone(pid_t pid)
{
	ck_assert_msg(kill(pid, 0) == -1 && errno == ESRCH,
		      "process %d outlived its check", (int)pid);
}

START_TEST(test_grandchild_does_not_outlive_the_check)
{
	char pidfile[256], leaver[1024];
	in_dir(pidfile, sizeof(pidfile), "pid");
	snprintf(leaver, sizeof(leaver),
		 "sh -c 'echo $$ >\"%s.t\"; mv \"%s.t\" \"%s\"; exec sleep 30'",
		 pidfile, pidfile, pidfile);
	assert_gone(leftover_of(leaver));
}
END_TEST

/* Issue 14: a new session (out of the check's process group) that ignores
 * SIGTERM, whose parent has exited, is gone when check_row returns. */
START_TEST(test_setsid_orphan_ignoring_sigterm_does_not_outlive_the_check)
{
	char pidfile[256], leaver[1024];
	in_dir(pidfile, sizeof(pidfile), "pid");
	snprintf(leaver, sizeof(leaver),
		 "setsid sh -c 'trap \"\" TERM; echo $$ >\"%s.t\";"
		 " mv \"%s.t\" \"%s\"; exec sleep 30'",
		 pidfile, pidfile, pidfile);
	assert_gone(leftover_of(leaver));
}
END_TEST

/* Issue 14: --check-env clean keeps PATH, HOME, LANG and BULKREG_*. */
START_TEST(test_clean_env_drops_secrets)
{
	setenv("SECRET_TOKEN", "hunter2", 1);
	setenv("BULKREG_SITE", "north", 1);
	struct check_config *cfg = config(
		"test -z \"$SECRET_TOKEN\" && test \"$BULKREG_SITE\" = north &&"
		" test -n \"$PATH\" && test \"$BULKREG_STUDENT_ID\" = S1001",
		5);
	check_config_clean_env(cfg);
	struct row row;
	make_row(&row, 2);
	check_row(cfg, &row, 1, NULL);
	check_config_free(cfg);
	ck_assert_int_eq(row.status, STATUS_NONE);
	/* Without it, the secret arrives. */
	cfg = config("test -z \"$SECRET_TOKEN\"", 5);
	make_row(&row, 2);
	check_row(cfg, &row, 1, NULL);
	check_config_free(cfg);
	ck_assert_int_eq(row.reason, REASON_CHECK_FAILED);
	unsetenv("SECRET_TOKEN");
	unsetenv("BULKREG_SITE");
}
END_TEST

/* ---- output ------------------------------------------------------------- */

START_TEST(test_megabytes_of_output_neither_block_nor_bloat)
{
	struct row row;
	double t0 = now_seconds();
	run_check(script("chatty.sh",
			 "head -c 5000000 /dev/zero | tr '\\0' x; exit 1"),
		  20, &row);
	ck_assert_int_eq(row.reason, REASON_CHECK_FAILED);
	char want[CHECK_DETAIL_MAX + 1];
	memset(want, 'x', CHECK_DETAIL_MAX);
	want[CHECK_DETAIL_MAX] = '\0';
	ck_assert_str_eq(row.detail, want);
	ck_assert(now_seconds() - t0 < 10);
}
END_TEST

START_TEST(test_megabytes_of_output_then_success_is_eligible)
{
	struct row row;
	run_check(script("chatty.sh", "head -c 5000000 /dev/zero; exit 0"), 20,
		  &row);
	ck_assert_int_eq(row.status, STATUS_NONE);
	ck_assert_str_eq(row.detail, "");
}
END_TEST

/* ---- environment, stdin, fds -------------------------------------------- */

START_TEST(test_env_values_arrive_verbatim_and_are_never_executed)
{
	char pwned[256], out[256], body[1024], got[512];
	in_dir(pwned, sizeof(pwned), "pwned");
	in_dir(out, sizeof(out), "first");
	char first[1024], last[1024];
	snprintf(first, sizeof(first),
		 "O'Brien \"Jr\" $(touch %s) `touch %s`; touch %s\nline2 $HOME",
		 pwned, pwned, pwned);
	snprintf(last, sizeof(last), "; touch %s #", pwned);
	snprintf(body, sizeof(body),
		 "printf '%%s' \"$BULKREG_FIRST_NAME\" > '%s'\n"
		 "printf '%%s' \"$BULKREG_LAST_NAME\" > '%s.last'\nexit 0",
		 out, out);
	struct check_config *cfg = config(script("env.sh", body), 5);
	struct row row;
	make_row(&row, 2);
	set_value(&row, FIELD_FIRST_NAME, first);
	set_value(&row, FIELD_LAST_NAME, last);
	check_row(cfg, &row, 1, NULL);
	check_config_free(cfg);
	ck_assert_int_eq(row.status, STATUS_NONE);

	ssize_t n = read_file(out, got, sizeof(got));
	ck_assert_int_eq(n, (ssize_t)strlen(first));
	ck_assert_int_eq(memcmp(got, first, strlen(first)), 0);
	strcat(out, ".last");
	n = read_file(out, got, sizeof(got));
	ck_assert_int_eq(n, (ssize_t)strlen(last));
	ck_assert_int_eq(memcmp(got, last, strlen(last)), 0);
	ck_assert_msg(!exists(pwned), "a value was executed");
}
END_TEST

START_TEST(test_env_carries_every_field_line_and_batch)
{
	char out[256], body[512], got[512];
	in_dir(out, sizeof(out), "env");
	snprintf(body, sizeof(body),
		 "echo \"$BULKREG_STUDENT_ID|$BULKREG_FIRST_NAME|"
		 "$BULKREG_LAST_NAME|$BULKREG_EMAIL|$BULKREG_COURSE|"
		 "$BULKREG_LINE|$BULKREG_BATCH\" > '%s'",
		 out);
	struct check_config *cfg = config(script("env.sh", body), 5);
	struct row row;
	make_row(&row, 42);
	check_row(cfg, &row, 7, NULL);
	check_config_free(cfg);
	ck_assert_int_eq(row.status, STATUS_NONE);
	ssize_t n = read_file(out, got, sizeof(got) - 1);
	ck_assert_int_gt(n, 0);
	got[n] = '\0';
	ck_assert_str_eq(got, "S1001|Ada|Lovelace|ada@example.org|CS101|42|7\n");
}
END_TEST

START_TEST(test_env_inherits_parent_and_overrides_row_names)
{
	ck_assert_int_eq(setenv("BULKREG_COURSE", "inherited", 1), 0);
	ck_assert_int_eq(setenv("BULKREG_CHECK_TEST_VAR", "kept", 1), 0);
	char out[256], body[512], got[256];
	in_dir(out, sizeof(out), "env");
	snprintf(body, sizeof(body),
		 "echo \"$BULKREG_COURSE $BULKREG_CHECK_TEST_VAR "
		 "$(env | grep -c '^BULKREG_COURSE=')\" > '%s'",
		 out);
	struct row row;
	run_check(script("env.sh", body), 5, &row);
	unsetenv("BULKREG_COURSE");
	unsetenv("BULKREG_CHECK_TEST_VAR");
	ck_assert_int_eq(row.status, STATUS_NONE);
	ssize_t n = read_file(out, got, sizeof(got) - 1);
	ck_assert_int_gt(n, 0);
	got[n] = '\0';
	ck_assert_str_eq(got, "CS101 kept 1\n");
}
END_TEST

START_TEST(test_stdin_is_dev_null)
{
	/* Our own stdin is a pipe nobody writes to: a check reading it
	 * instead of /dev/null would wait out its deadline. */
	int p[2], saved = dup(0);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[0], 0), 0);
	struct row row;
	run_check(script("stdin.sh", "wc -c; exit 1"), 5, &row);
	dup2(saved, 0);
	close(saved);
	close(p[0]);
	close(p[1]);
	assert_rejected(&row, REASON_CHECK_FAILED, "0");
	ck_assert(row.check_seconds < 2);
}
END_TEST

START_TEST(test_only_stdio_fds_reach_the_check)
{
	char out[256], body[512], got[256];
	in_dir(out, sizeof(out), "fds");
	int leaky = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
	ck_assert_int_ge(leaky, 3);
	ck_assert_int_lt(leaky, 10);
	snprintf(body, sizeof(body), "ls /proc/$$/fd > '%s'", out);
	struct row row;
	run_check(script("fds.sh", body), 5, &row);
	close(leaky);
	ck_assert_int_eq(row.status, STATUS_NONE);
	ssize_t n = read_file(out, got, sizeof(got) - 1);
	ck_assert_int_gt(n, 0);
	got[n] = '\0';
	/* The shell keeps its own (the script) at 10 and up. */
	int below10 = 0;
	for (char *p = got; *p; p = strchr(p, '\n') + 1) {
		int fd = atoi(p);
		ck_assert_msg(fd <= 2 || fd >= 10, "fd %d reached the check", fd);
		below10 += fd <= 2;
	}
	ck_assert_int_eq(below10, 3);
}
END_TEST

/* ---- cancellation ------------------------------------------------------- */

struct cancel_run {
	struct check_config *cfg;
	struct chan *done;
	struct row row;
};

static void *check_thread(void *arg)
{
	struct cancel_run *r = arg;
	check_row(r->cfg, &r->row, 1, r->done);
	return NULL;
}

static bool file_exists(void *path)
{
	return exists(path);
}

START_TEST(test_cancel_kills_a_running_check_promptly)
{
	char marker[256], body[512];
	in_dir(marker, sizeof(marker), "started");
	snprintf(body, sizeof(body), "touch '%s'; sleep 30", marker);
	struct cancel_run r = {.cfg = config(script("slow.sh", body), 60),
			       .done = chan_new(1, 0)};
	ck_assert_ptr_nonnull(r.done);
	make_row(&r.row, 2);
	pthread_t t = start_thread(check_thread, &r);
	ck_assert(wait_until(file_exists, marker, 10));
	double t0 = now_seconds();
	chan_close(r.done);
	join_thread(t);
	ck_assert_msg(now_seconds() - t0 < 1, "took %.3f s", now_seconds() - t0);
	assert_rejected(&r.row, REASON_CHECK_ERROR, "cancelled");
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
	check_config_free(r.cfg);
	chan_free(r.done);
}
END_TEST

START_TEST(test_cancel_before_start_runs_nothing)
{
	char marker[256], body[512];
	in_dir(marker, sizeof(marker), "ran");
	snprintf(body, sizeof(body), "touch '%s'", marker);
	struct check_config *cfg = config(script("mark.sh", body), 5);
	struct chan *done = chan_new(1, 0);
	chan_close(done);
	struct row row;
	make_row(&row, 2);
	check_row(cfg, &row, 1, done);
	assert_rejected(&row, REASON_CHECK_ERROR, "cancelled");
	ck_assert(!exists(marker));
	check_config_free(cfg);
	chan_free(done);
}
END_TEST

/* ---- many at once ------------------------------------------------------- */

enum { CONC_THREADS = 8, CONC_ROWS = 200 };

struct conc {
	struct check_config *cfg;
	struct row rows[CONC_ROWS];
	_Atomic int next;
};

static void *conc_worker(void *arg)
{
	struct conc *c = arg;
	int i;
	while ((i = atomic_fetch_add(&c->next, 1)) < CONC_ROWS)
		check_row(c->cfg, &c->rows[i], 9, NULL);
	return NULL;
}

/* Verdict from the row alone: line % 3 == 0 eligible, else exit line % 3
 * with the student id as output when it is 1. */
static const char *verdict_script(void)
{
	return script("verdict.sh",
		      "r=$((BULKREG_LINE % 3))\n"
		      "[ $r -eq 1 ] && echo \"no $BULKREG_STUDENT_ID\"\n"
		      "exit $r");
}

static void run_concurrently(struct check_config *cfg)
{
	static struct conc c;
	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	for (int i = 0; i < CONC_ROWS; i++) {
		char id[16];
		make_row(&c.rows[i], (uint64_t)i + 2);
		snprintf(id, sizeof(id), "S%d", i);
		set_value(&c.rows[i], FIELD_STUDENT_ID, id);
	}
	pthread_t t[CONC_THREADS];
	for (int i = 0; i < CONC_THREADS; i++)
		t[i] = start_thread(conc_worker, &c);
	for (int i = 0; i < CONC_THREADS; i++)
		join_thread(t[i]);
	for (int i = 0; i < CONC_ROWS; i++) {
		const struct row *row = &c.rows[i];
		char want[32];
		switch (row->line % 3) {
		case 0:
			ck_assert_int_eq(row->status, STATUS_NONE);
			break;
		case 1:
			snprintf(want, sizeof(want), "no S%d", i);
			assert_rejected(row, REASON_CHECK_FAILED, want);
			break;
		default:
			assert_rejected(row, REASON_CHECK_FAILED, "exit status 2");
		}
	}
}

START_TEST(test_concurrent_checks_are_right_and_leave_no_zombies)
{
	struct check_config *cfg = config(verdict_script(), 30);
	run_concurrently(cfg);
	check_config_free(cfg);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(test_no_fd_leak_after_many_checks)
{
	struct check_config *ok = config(verdict_script(), 30);
	struct check_config *missing = config("bulkreg_no_such_command", 30);
	int before = count_fds();
	struct row row;
	for (int i = 0; i < 100; i++) {
		make_row(&row, (uint64_t)i);
		check_row(i % 10 == 0 ? missing : ok, &row, 1, NULL);
	}
	ck_assert_int_eq(count_fds(), before);
	check_config_free(ok);
	check_config_free(missing);
}
END_TEST

/* ---- without pidfd ------------------------------------------------------ */

START_TEST(test_waitid_fallback_gives_the_same_verdicts)
{
	struct check_config *cfg = config(verdict_script(), 30);
	check_config_disable_pidfd(cfg);
	run_concurrently(cfg);
	check_config_free(cfg);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
}
END_TEST

START_TEST(test_waitid_fallback_enforces_the_deadline)
{
	struct check_config *cfg = config(script("slow.sh", "sleep 30"), 0.3);
	check_config_disable_pidfd(cfg);
	struct row row;
	make_row(&row, 2);
	check_row(cfg, &row, 1, NULL);
	check_config_free(cfg);
	assert_rejected(&row, REASON_CHECK_TIMEOUT, "no answer within 0.3 s");
	ck_assert_msg(row.check_seconds < 1.25, "took %.3f s", row.check_seconds);
}
END_TEST

/* ---- statistics --------------------------------------------------------- */

START_TEST(test_stats_empty_median_is_zero)
{
	struct check_stats s;
	check_stats_init(&s);
	ck_assert_int_eq(s.count, 0);
	ck_assert(check_stats_median(&s) == 0);
	ck_assert(s.max_seconds == 0);
}
END_TEST

START_TEST(test_stats_median_within_one_percent_and_exact_max)
{
	struct check_stats s;
	check_stats_init(&s);
	/* 1001 values from 10 ms to 1.01 s: the median is 0.51 s. */
	for (int i = 1000; i >= 0; i--)
		check_stats_add(&s, 0.01 + i * 0.001);
	ck_assert_int_eq(s.count, 1001);
	ck_assert(s.max_seconds == 0.01 + 1000 * 0.001);
	double m = check_stats_median(&s);
	ck_assert_msg(m > 0.51 * 0.99 && m < 0.51 * 1.01, "median %g", m);
}
END_TEST

START_TEST(test_stats_median_of_one_value)
{
	for (double v = 0.0002; v < 1000; v *= 3.7) {
		struct check_stats s;
		check_stats_init(&s);
		check_stats_add(&s, v);
		double m = check_stats_median(&s);
		ck_assert_msg(m > v * 0.99 && m <= v * 1.01, "%g -> %g", v, m);
	}
}
END_TEST

START_TEST(test_stats_clamp_extremes)
{
	struct check_stats s;
	check_stats_init(&s);
	check_stats_add(&s, 0);
	check_stats_add(&s, 1e-9);
	check_stats_add(&s, -1);
	ck_assert(check_stats_median(&s) <= 1e-4 * 1.01);
	check_stats_add(&s, 1e12);
	check_stats_add(&s, 1e12);
	check_stats_add(&s, 1e12);
	check_stats_add(&s, 1e12);
	ck_assert_int_eq(s.count, 7);
	ck_assert(s.max_seconds == 1e12);
	ck_assert(check_stats_median(&s) > 1000); /* the top bucket */
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

static TCase *tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *check_suite(void)
{
	Suite *s = suite_create("check");
	TCase *tc = tcase(s, "config");
	tcase_add_test(tc, test_config_rejects_empty_command);
	tcase_add_test(tc, test_config_rejects_bad_timeout);
	tcase_add_test(tc, test_config_raises_a_low_soft_descriptor_limit);

	tc = tcase(s, "verdicts");
	tcase_add_test(tc, test_exit_zero_leaves_row_eligible);
	tcase_add_test(tc, test_failure_output_is_the_detail);
	tcase_add_test(tc, test_failure_detail_is_first_non_empty_line_trimmed);
	tcase_add_test(tc, test_stderr_is_captured_too);
	tcase_add_test(tc, test_long_detail_is_cut_at_a_character_boundary);
	tcase_add_test(tc, test_failure_without_output_names_exit_status);
	tcase_add_test(tc, test_blank_output_counts_as_none);
	tcase_add_test(tc, test_killed_by_signal_names_it);
	tcase_add_test(tc, test_shell_builtin_first_word_runs_in_the_shell);
	tcase_add_test(tc, test_direct_command_gets_its_arguments);

	tc = tcase(s, "cannot run");
	tcase_add_test(tc, test_not_found_via_shell_is_check_error);
	tcase_add_test(tc, test_not_found_direct_is_check_error);
	tcase_add_test(tc, test_not_executable_via_shell_is_check_error);
	tcase_add_test(tc, test_not_executable_direct_is_check_error);
	tcase_add_test(tc, test_preflight_refuses_a_direct_command_not_found);
	tcase_add_test(tc, test_preflight_refuses_not_executable_and_directories);
	tcase_add_test(tc, test_preflight_leaves_shell_commands_and_good_ones);
	tcase_add_test(tc, test_script_without_shebang_runs_as_the_shell_would);
	tcase_add_test(tc, test_spawn_failure_is_retried_then_check_error);

	tc = tcase(s, "deadlines");
	tcase_add_test(tc, test_timeout_terminates_the_check);
	tcase_add_test(tc, test_ignoring_sigterm_is_killed_after_the_grace);
	tcase_add_test(tc, test_child_gets_default_signals_whatever_the_parent_blocks);
	tcase_add_test(tc, test_grandchild_does_not_outlive_the_check);
	tcase_add_test(tc, test_setsid_orphan_ignoring_sigterm_does_not_outlive_the_check);

	tc = tcase(s, "output");
	tcase_add_test(tc, test_megabytes_of_output_neither_block_nor_bloat);
	tcase_add_test(tc, test_megabytes_of_output_then_success_is_eligible);

	tc = tcase(s, "environment");
	tcase_add_test(tc, test_env_values_arrive_verbatim_and_are_never_executed);
	tcase_add_test(tc, test_env_carries_every_field_line_and_batch);
	tcase_add_test(tc, test_env_inherits_parent_and_overrides_row_names);
	tcase_add_test(tc, test_clean_env_drops_secrets);
	tcase_add_test(tc, test_stdin_is_dev_null);
	tcase_add_test(tc, test_only_stdio_fds_reach_the_check);

	tc = tcase(s, "cancel");
	tcase_add_test(tc, test_cancel_kills_a_running_check_promptly);
	tcase_add_test(tc, test_cancel_before_start_runs_nothing);

	tc = tcase(s, "concurrency");
	tcase_add_test(tc, test_concurrent_checks_are_right_and_leave_no_zombies);
	tcase_add_test(tc, test_no_fd_leak_after_many_checks);
	tcase_add_test(tc, test_waitid_fallback_gives_the_same_verdicts);
	tcase_add_test(tc, test_waitid_fallback_enforces_the_deadline);

	tc = tcase(s, "stats");
	tcase_add_test(tc, test_stats_empty_median_is_zero);
	tcase_add_test(tc, test_stats_median_within_one_percent_and_exact_max);
	tcase_add_test(tc, test_stats_median_of_one_value);
	tcase_add_test(tc, test_stats_clamp_extremes);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(check_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
