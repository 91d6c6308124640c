/* policy: every decision about a (student, course) pair, in roster order. */
#ifndef BULKREG_POLICY_H
#define BULKREG_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "courses.h"
#include "error.h"
#include "row.h"
#include "store.h"

/*
 * The rules (bulkreg(1), OUTCOMES AND REASONS):
 *   enrol  -- the pair exists from an earlier batch: already_registered /
 *             already_waitlisted; an earlier row of this batch named it:
 *             duplicate_in_roster (but through another section: the
 *             pair's already_*; and gone, an earlier row dropped it: on
 *             as for a new pair); else a free seat: registered; else room
 *             on the waitlist: waitlisted (last position); else course_full.
 *   drop   -- an earlier row named the pair: duplicate_in_roster (a status
 *             drop through another section than the row that enrolled
 *             it: skipped duplicate_in_roster); no such
 *             pair: not_registered (rejected, or skipped for a drop that
 *             comes from an export's status column); else dropped.
 *   promotion -- whenever a seat frees and the course is under capacity,
 *             the first waitlisted student takes it and the positions
 *             behind are renumbered 1..n; each promotion is a row of its own.
 *   sync   -- after the last row, course by course in code order, every pair
 *             of an in-scope course that no row named is dropped (seats
 *             first, then the waitlist), then freed seats are filled.
 * Every change is recorded in the store's history with the batch.
 */

/* Extra rows the policy makes (promotions, --sync drops) go here, in
 * order, right after the row that caused them; 0 to go on. */
typedef enum status (*policy_emit_fn)(void *ctx, struct row *row,
				      struct error *err);

struct policy_options {
	int64_t batch_id;
	enum student_update update_students;
	bool sync;
	bool sync_all;                /* --sync-scope all */
	const char *course_override;  /* --course: in scope for --sync */
};

struct policy;

/* Starts deciding a batch over `courses` (loaded by the store's batch
 * begin; the policy updates their counters).  ST_NOMEM on failure. */
enum status policy_new(struct store *s, struct course_table *courses,
		       const struct policy_options *opt, struct policy **out,
		       struct error *err);
void policy_free(struct policy *p);

/*
 * Decides one row, in roster order.  A row still undecided (validation and
 * checks passed) gets its status; a row already rejected is only noted
 * (with --sync, a rejected row that names a valid student and a known
 * course still keeps that pair).  Promotions it causes are emitted.
 */
/* A hint before applying rows[0..n) (a block): the store may start
 * reading what it will need for their students.  Decides nothing. */
void policy_prefetch(struct policy *p, const struct row *rows, size_t n);

enum status policy_apply(struct policy *p, struct row *row,
			 policy_emit_fn emit, void *ctx, struct error *err);

/* After the last row: the --sync drops and their promotions. */
enum status policy_finish_rows(struct policy *p, policy_emit_fn emit,
			       void *ctx, struct error *err);

/* Fills every seat that is free while students wait, in course code
 * order; `line` 0.  Emits a row per promotion, its detail saying the seat
 * was `cause` ("freed by the undo of batch 4"), or by default added by a
 * capacity raise. */
enum status policy_promote_all(struct policy *p, const char *cause,
			       policy_emit_fn emit, void *ctx,
			       struct error *err);

/* Writes the counters of every course the batch changed, after recording
 * each as it was before (for undo). */
enum status policy_store_courses(struct policy *p, struct error *err);

/* --sync: how many pairs the in-scope courses held when the batch began,
 * and how many it dropped (each course's own count through
 * policy_sync_drops_of). */
int64_t policy_sync_pairs_before(const struct policy *p);
int64_t policy_sync_drops(const struct policy *p);
/* For each in-scope course with drops, in code order: calls fn. */
void policy_sync_drops_each(const struct policy *p,
			    void (*fn)(void *ctx, const char *code,
				       int64_t drops),
			    void *ctx);

#endif
