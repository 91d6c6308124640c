/* check: run the --check command for one row, with a deadline. */
#ifndef BULKREG_CHECK_H
#define BULKREG_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "chan.h"
#include "error.h"
#include "row.h"

#define CHECK_OUTPUT_MAX 4096   /* bytes of stdout+stderr kept */
#define CHECK_DETAIL_MAX 200    /* bytes of output shown as the detail */
#define CHECK_SPAWN_TRIES 4     /* attempts when fork/spawn itself fails */
#define CHECK_KILL_GRACE 1.0    /* seconds between SIGTERM and SIGKILL */

struct check_config;

/* Prepares a check: `cmd` runs through /bin/sh -c (or directly, when it has
 * no shell syntax), `timeout` seconds per row (> 0).  ST_USAGE for an empty
 * command or a bad timeout.  Makes the process the subreaper of its
 * checks' orphans, raises the soft RLIMIT_NOFILE (up to the hard one) as
 * far as POOL_MAX_WORKERS checks at once need, and sets how many checks may
 * run at once under the limit it got. */
enum status check_config_new(const char *cmd, double timeout,
			     struct check_config **out, struct error *err);
/* Kills and reaps whatever the checks left behind, then frees `cfg`. */
void check_config_free(struct check_config *cfg);
/* Before any row: a command run directly (no shell syntax) whose program
 * cannot run at all -- not found in PATH (or at its path), a directory, not
 * executable -- is ST_USAGE with a message naming it.  A command run
 * through the shell is not looked at (the shell's 126/127 stay per-row
 * check_error rejections, as does a program that vanishes meanwhile). */
enum status check_config_preflight(const struct check_config *cfg,
				   struct error *err);

/* Before any row: true, with a warning in msg[cap], when the program a
 * direct command runs (found as preflight finds it, links followed) or
 * the directory it is in can be changed by other users -- writable by
 * all or by a group other than the caller's, or owned by another user
 * than the caller or root: they could change what runs as the caller on
 * every row (review 21, F12).  A command run through the shell is not
 * looked at. */
bool check_config_trust_warning(const struct check_config *cfg, char *msg,
				size_t cap);
/* --check-env clean: the command gets only PATH, HOME, LANG and BULKREG_*
 * variables of bulkreg's environment (then the row's own), so secrets in
 * the environment (tokens, passwords) do not reach it. */
void check_config_clean_env(struct check_config *cfg);
/* For tests: wait by polling waitid, as when pidfd_open is unavailable. */
void check_config_disable_pidfd(struct check_config *cfg);

/*
 * Runs the check for a row that passed validation.  The row's values are
 * passed in BULKREG_STUDENT_ID, BULKREG_FIRST_NAME, BULKREG_LAST_NAME,
 * BULKREG_EMAIL, BULKREG_COURSE, BULKREG_LINE and BULKREG_BATCH, never in
 * the command string.  Standard input is /dev/null; stdout and stderr are
 * captured (first CHECK_OUTPUT_MAX bytes).  The child runs in its own
 * process group.
 *   exit 0                -> the row is left as it was (eligible);
 *   exit 126 or 127       -> rejected check_error (not executable/not found);
 *   other non-zero exit   -> rejected check_failed, detail = the first
 *                            non-empty output line (<= CHECK_DETAIL_MAX
 *                            bytes) or "exit status N";
 *   killed by a signal    -> rejected check_failed, detail names the signal;
 *   past the deadline     -> the group gets SIGTERM, then SIGKILL after
 *                            CHECK_KILL_GRACE s; rejected check_timeout;
 *   cannot be started     -> retried with back-off, then check_error.
 * When as many checks run as the descriptor limit allows, waits for one of
 * them to end first (the deadline counts from the check's own start).
 * If `done` is closed meanwhile, the group is killed at once and the row is
 * left rejected check_error ("cancelled").  Sets row->check_seconds.  Never
 * leaves a zombie or a process in its process group.  Processes that left
 * the group and were orphaned are killed when no check is running any more
 * (so never while the check they came from may still need them), and at
 * the latest by check_config_free.  Thread-safe.
 */
void check_row(const struct check_config *cfg, struct row *row,
	       int64_t batch_id, struct chan *done);

/* Timing of the checks in a batch, in bounded memory (a log histogram with
 * about 1% resolution, so the median is within 1%). */
#define CHECK_HIST_BUCKETS 1700
struct check_stats {
	int64_t count;
	double max_seconds;
	uint32_t hist[CHECK_HIST_BUCKETS];
};

void check_stats_init(struct check_stats *s);
void check_stats_add(struct check_stats *s, double seconds);
/* 0 when no check ran. */
double check_stats_median(const struct check_stats *s);

#endif
