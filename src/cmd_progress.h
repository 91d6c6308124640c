/* cmd_progress: the progress line of register, drop and sync on a terminal. */
#ifndef BULKREG_CMD_PROGRESS_H
#define BULKREG_CMD_PROGRESS_H

#include "cmd.h"
#include "register.h"

/*
 * While a batch runs, standard error (when it is a terminal, not TERM=dumb,
 * and not with -q) shows one line, redrawn at most 4 times a second and
 * cut ("...") one column short of the terminal's width (TIOCGWINSZ, else
 * $COLUMNS, else 80):
 *   bulkreg: 354 of ~1,000 rows (35%), 107 rows/s, ETA 0:06
 * The total is estimated from the bytes read of the roster's size ("~"
 * until the whole file is read); from a pipe there is no total:
 *   bulkreg: 354 rows, 107 rows/s
 * While another process holds the database's write lock (register waits
 * up to --wait for it):
 *   bulkreg: waiting 3 s so far, up to 30 s (--wait), for the
 *   database's write lock (another process holds it)
 * and the time waited is not counted in the rate.  On PostgreSQL, while the
 * batch waits (more than a second) for a course another batch is changing:
 *   bulkreg: waiting 3 s so far, up to 30 s (--wait), for course C001,
 *   which another batch is changing
 * (the numbers first: a narrow terminal cuts the end)
 * ("for the other batches to end" when it waits for all of them: undo
 * does, but shows no line).
 * progress_end clears it and writes the final count before anything else
 * goes to the terminal.  Every function accepts NULL (no progress shown).
 */
struct progress;

/* NULL when no line is to be shown (quiet, not a terminal, no roster, out
 * of memory).  `roster_path` is the roster ("-": standard input) or NULL;
 * wait_seconds is --wait, which the line names while the batch waits. */
struct progress *progress_start(const struct cli *cli, const char *roster_path,
				double wait_seconds);

/* The counters register_run updates (NULL for NULL). */
struct register_progress *progress_counts(struct progress *p);

/* Stops the redrawing; if a line was shown, clears it and writes the final
 * count ("bulkreg: 1,000 rows in 2.3 s (435 rows/s)", plus ", after 3.0 s
 * waiting for the database's write lock" or "for other batches" when it
 * waited).  Idempotent. */
void progress_end(struct progress *p);

/* Ends if needed and frees. */
void progress_free(struct progress *p);

/* A db_wait_notice_fn (db.h) for the line; ctx is the struct progress. */
void progress_course_wait(void *ctx, const char *course_code, bool waiting);

/* Around any other message written to standard error while the batch
 * runs: the line is cleared first (and redrawn at the next tick). */
void progress_lock(struct progress *p);
void progress_unlock(struct progress *p);

#endif
