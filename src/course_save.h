/* course_save: courses created or changed, and the promotions that owes. */
#ifndef BULKREG_COURSE_SAVE_H
#define BULKREG_COURSE_SAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"
#include "policy.h"

struct course_save_result {
	int64_t batch_id;     /* the course batch, 0 if no one moved */
	int64_t promoted;     /* students moved from a waitlist into seats */
	size_t failed;        /* in[failed - 1] was refused; 0 if none */
	size_t created;       /* of in, how many were new (under the lock) */
};

/* Called for each course left over capacity (registered > capacity). */
typedef void (*course_over_fn)(void *ctx, const struct course *c);

/*
 * Saves `n` courses in one transaction (waiting up to the database's busy
 * timeout for the write lock).  A capacity raise fills the new seats from
 * the waitlist at once, in position order (each promotion emitted as a
 * row, line 0), and the change is then recorded as a batch of kind
 * `course` with its history, so undo can set it back; a change that moves
 * no one is not a batch.  A course left with more students registered than
 * its capacity keeps them all (over_fn is told).  On failure nothing is
 * saved.  `source` names where the courses came from, for the batch record.
 * With dry_run everything is done and emitted, then rolled back: nothing
 * is saved and res->batch_id stays 0 (res->promoted says who would move).
 */
enum status course_save(struct db *db, const struct course_input *in, size_t n,
			const char *source, policy_emit_fn emit, void *emit_ctx,
			course_over_fn over_fn, void *over_ctx, bool dry_run,
			struct course_save_result *res, struct error *err);

#endif
