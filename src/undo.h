/* undo: sets back exactly what one committed batch changed. */
#ifndef BULKREG_UNDO_H
#define BULKREG_UNDO_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "policy.h"
#include "store.h"

/*
 * Inside batch `undo_id` (kind undo), undoes batch `target`: every change
 * it recorded is reversed, newest first -- pairs removed, restored to their
 * seat or waitlist position (with their batch and line), students deleted
 * or set back -- and each course it changed gets back its counters, seat
 * numbering and updated_at (a capacity batch: those of its capacity,
 * waitlist and title it changed that are still as it left them).  Every reversal is recorded as the undo's own history, so an
 * undo can be undone.  Emits one row per pair whose status changed (its new
 * status; `dropped` for pairs removed), in the order the batch first
 * changed them.
 * Refused with ST_USAGE, before anything is written: an unknown batch, a
 * dry run or rolled-back batch, a batch already undone, or a batch that a
 * later one depends on (a later committed batch, not undone, changed one
 * of its courses or students: the message names them).
 */
/* Warnings: a course setting kept because it was changed since the batch
 * set it, or set back although it may have been (see undo.c). */
typedef void (*undo_warn_fn)(void *ctx, const char *msg);

/* *partial: the batch was made before schema version 2, which kept no
 * history of student changes: the students it changed keep their values
 * (the caller should say so). */
enum status undo_apply(struct store *s, int64_t target, int64_t undo_id,
		       policy_emit_fn emit, void *ctx, undo_warn_fn warn,
		       void *warn_ctx, bool *partial, struct error *err);

#endif
