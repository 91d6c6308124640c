/* undo: sets back exactly what one committed batch changed. */
#ifndef BULKREG_UNDO_H
#define BULKREG_UNDO_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "policy.h"
#include "store.h"

/* Warnings: a course setting kept because it was changed since the batch
 * set it, or set back although it may have been (see undo.c). */
typedef void (*undo_warn_fn)(void *ctx, const char *msg);

/* What undo_apply did, for undo_report and the summary. */
struct undo_done {
	/* The batch was made before schema version 2, which kept no history
	 * of student changes: the students it changed keep their values (the
	 * caller should say so). */
	bool partial;
	int64_t students; /* students whose names and email it set back */
	int64_t split;    /* its last change before it took additions out */
};

/*
 * Inside batch `undo_id` (kind undo), undoes batch `target`: every change
 * it recorded is reversed, newest first -- pairs removed, restored to their
 * seat or waitlist position (with their batch and line), students deleted
 * or set back -- and each course it changed gets back its counters, seat
 * numbering and updated_at (a capacity batch: those of its capacity,
 * waitlist and title it changed that are still as it left them).  Every
 * reversal is recorded as the undo's own history, so an undo can be
 * undone.  Emits no row: the caller fills the seats the undo leaves free
 * (policy_promote_all, recorded as the undo's changes), writes the
 * waitlists' positions, then calls undo_report.
 * Refused with ST_USAGE, before anything is written: an unknown batch, a
 * dry run or rolled-back batch, a batch already undone, or a batch that a
 * later one depends on (a later committed batch, not undone, changed one
 * of its courses or students: the message names them).
 */
enum status undo_apply(struct store *s, int64_t target, int64_t undo_id,
		       undo_warn_fn warn, void *warn_ctx, struct undo_done *done,
		       struct error *err);

/*
 * The undo's report (issue 11): one row per pair whose status the undo
 * changed -- its promotions included -- with the status it has now
 * (`dropped` for a pair removed, `promoted` for one that only took a free
 * seat), in the order of the undo's first change of each pair.  A pair
 * put back on a waitlist and then promoted into the seat it had is
 * unchanged: no row (review 18, B4).
 */
enum status undo_report(struct store *s, int64_t target, int64_t undo_id,
			const struct undo_done *done, policy_emit_fn emit,
			void *ctx, struct error *err);

#endif
