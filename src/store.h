/* store: what the registration policy needs from a database, and no more. */
#ifndef BULKREG_STORE_H
#define BULKREG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "courses.h"
#include "error.h"

/*
 * The policy (policy.h) decides every seat; a store keeps the bytes.  The
 * store never decides anything and the policy never sees a query, so a
 * second store (PostgreSQL) plugs in under the same policy.  Every call
 * happens inside a batch's transaction (db_batch_begin .. finish), from
 * one thread.  Strings are (pointer, length) pairs: row values are not
 * NUL-terminated where they may be cut.
 */
struct store;

struct text {
	const char *s;
	size_t len;
};

enum pair_state { PAIR_ABSENT = 0, PAIR_REGISTERED, PAIR_WAITLISTED };

/* A (course, student) registration as stored. */
struct pair {
	enum pair_state state;
	int64_t seq;       /* seat number, or waitlist position (1..n; during a
			    * batch, an order key: see policy.c) */
	int64_t batch_id;  /* the batch that added it */
	int64_t line;      /* that batch's roster line */
};

struct student {
	struct text id, first_name, last_name, email;
};

/* How a row's names and email update a known student. */
enum student_update {
	STUDENT_UPDATE_ALWAYS, /* every non-empty value replaces the stored one */
	STUDENT_UPDATE_FILL,   /* only empty stored values are filled */
	STUDENT_UPDATE_NEVER   /* a known student is never changed */
};

/* What student_put did; old_* are valid only for STUDENT_CHANGED and
 * until the next store call. */
enum student_effect { STUDENT_SAME = 0, STUDENT_CREATED, STUDENT_CHANGED };

/* One recorded change (a row of the history).  A pair change has a course
 * (course_id > 0); a student change has course_id 0 and the values before
 * (absent: created) and after (absent: deleted). */
enum change_event {
	EVENT_ADDED,     /* a pair came into being from a row */
	EVENT_PROMOTED,  /* waitlisted -> registered */
	EVENT_DROPPED,   /* a pair was removed */
	EVENT_RESTORED,  /* an undo or repair set a pair back */
	EVENT_STUDENT    /* a student was created, changed or deleted */
};

struct change {
	int64_t id;                 /* as stored (history_each) */
	enum change_event event;
	int64_t course_id;          /* 0 for EVENT_STUDENT */
	struct text course_code;    /* where a listing gives it, else empty */
	struct text student_id;
	int64_t line;               /* 0: no roster line caused it */
	struct pair before, after;  /* pair events */
	bool had_student, has_student;       /* student events */
	struct student old_values, new_values;
};

/* ---- locks ---------------------------------------------------------------- */

/*
 * Before the batch's first decision about course c: keeps every other
 * batch off the course until this one ends, and refreshes c (capacity,
 * waitlist maximum, counters, seat_seq) from what is stored now, which a
 * batch that ended meanwhile may have changed.  Two batches on the same
 * course take turns; on other courses they run side by side.  ST_BUSY
 * when the wait passes db_set_lock_wait's, or when the server broke a
 * deadlock between two batches.  SQLite: nothing to do (BEGIN IMMEDIATE
 * holds the whole file for the batch).
 */
enum status store_course_lock(struct store *s, struct course *c,
			      struct error *err);

/* Waits for every other batch to end and keeps new ones out until this
 * one ends (undo and repair, which read across courses and students). */
enum status store_lock_all(struct store *s, struct error *err);

/* ---- pairs ---------------------------------------------------------------- */

typedef int (*store_pair_fn)(void *ctx, struct text student,
			     const struct pair *p);

/* Looks a pair up; state PAIR_ABSENT when there is none. */
enum status store_pair_find(struct store *s, int64_t course_id,
			    struct text student, struct pair *out,
			    struct error *err);

/* Inserts the pair if there is none; *inserted says whether it did (a
 * first run's common case: one statement settles the row). */
enum status store_pair_add(struct store *s, int64_t course_id,
			   struct text student, const struct pair *p,
			   bool *inserted, struct error *err);

/* Sets an existing pair's status and seq (its batch and line stay). */
enum status store_pair_update(struct store *s, int64_t course_id,
			      struct text student, const struct pair *p,
			      struct error *err);

/* Writes the pair exactly as given (batch and line too), inserting it if
 * absent; state PAIR_ABSENT deletes it. */
enum status store_pair_set(struct store *s, int64_t course_id,
			   struct text student, const struct pair *p,
			   struct error *err);

/* The course's waitlist in position order. */
enum status store_waitlist_each(struct store *s, int64_t course_id,
				store_pair_fn fn, void *ctx, struct error *err);

/* The first student on the course's waitlist (lowest seq); found false
 * if it is empty. */
enum status store_waitlist_first(struct store *s, int64_t course_id,
				 char *student_id, size_t cap, size_t *len,
				 bool *found, struct error *err);

/* Numbers the course's waitlist 1..n in seq order (during a batch the
 * policy leaves gaps: see policy.c). */
enum status store_waitlist_renumber(struct store *s, int64_t course_id,
				    struct error *err);

/* The course's pairs no row of this batch named (store_mark_seen,
 * store_mark_named) and this batch did not add: seats in seat order, then
 * the waitlist in position order.  fn returning non-zero stops the walk
 * (ST_CANCELLED).  The walk reads a snapshot: fn may change pairs. */
enum status store_unnamed_pairs(struct store *s, int64_t course_id,
				int64_t batch_id, store_pair_fn fn, void *ctx,
				struct error *err);

/* ---- the batch's memory of the roster ------------------------------------ */

/* Notes that row `line` decided this pair; *first_line is the line of an
 * earlier row of this batch that did (0 if none). */
enum status store_mark_seen(struct store *s, int64_t course_id,
			    struct text student, int64_t line,
			    int64_t *first_line, struct error *err);

/* Notes that a rejected row named this pair (--sync keeps it). */
enum status store_mark_named(struct store *s, int64_t course_id,
			     struct text student, struct error *err);

/* ---- students ------------------------------------------------------------- */

/* A hint: the batch will apply about this many rows in all (0: not
 * known).  The store may read whole what it would otherwise look up one
 * by one. */
void store_expect_rows(struct store *s, uint64_t rows);

/* A hint that rows naming these students in these courses come next (up
 * to 256): the store may start reading what it needs for them.  Changes
 * nothing. */
void store_rows_prefetch(struct store *s, const struct text *ids,
			 const int64_t *course_ids, size_t n);

/* Inserts the student, or updates a known one as `mode` says.  *effect
 * tells what happened; for STUDENT_CHANGED *old holds the values before
 * (valid until the next store call). */
enum status store_student_put(struct store *s, int64_t batch_id,
			      const struct student *v, enum student_update mode,
			      enum student_effect *effect, struct student *old,
			      struct error *err);

/* ---- courses and history ------------------------------------------------- */

/* Records the course as it is now, before `batch_id` changes it (once per
 * batch and course: later calls keep the first). */
enum status store_course_snapshot(struct store *s, int64_t batch_id,
				  int64_t course_id, struct error *err);

/* Stores a course's counters (registered, waitlisted, seat_seq). */
enum status store_course_counts(struct store *s, const struct course *c,
				struct error *err);

/* Records one change.  For a student change, before.batch_id carries the
 * student's created_batch (to re-create it exactly). */
enum status store_history_add(struct store *s, int64_t batch_id,
			      const struct change *c, struct error *err);

/* ---- what undo needs ------------------------------------------------------ */

struct batch_info {
	bool found;
	int64_t id;
	char kind[16];      /* "register", "drop", "sync", "undo", ... */
	char outcome[16];   /* "committed", "dry_run", "rolled_back", ... */
	int64_t undo_of, undone_by; /* 0 if none */
	bool full_history;  /* false: made before schema version 2 */
};

enum status store_batch_info(struct store *s, int64_t batch_id,
			     struct batch_info *out, struct error *err);

/* The later batches (later to commit, on PostgreSQL) whose changes stand
 * (committed, not undone, not the undo that undid another) and that
 * changed a course (a pair of it; any
 * batch but a repair also by its snapshot of the course) or a student
 * this batch changed, newest first, as "15, 12"; the repairs among them
 * (which cannot be undone) again on their own.  A list holds whole ids
 * only, as many as fit: `listed` of `count` (`repairs_listed` of
 * `nrepairs`); the caller says how many more there are. */
struct undo_blockers {
	char later[256];
	int64_t count, listed;
	char repairs[256];
	int64_t nrepairs, repairs_listed;
};
enum status store_undo_blockers(struct store *s, int64_t batch_id,
				struct undo_blockers *out, struct error *err);

typedef int (*store_change_fn)(void *ctx, const struct change *c);

/* The batch's changes, newest first (newest_first) or oldest first.  fn
 * may write through the store; returning non-zero stops (ST_CANCELLED). */
enum status store_changes_each(struct store *s, int64_t batch_id,
			       bool newest_first, store_change_fn fn, void *ctx,
			       struct error *err);

/* A student's values and created_batch; found false if there is none. */
enum status store_student_get(struct store *s, struct text id,
			      struct student *out, int64_t *created_batch,
			      bool *found, struct error *err);

/* Writes a student exactly (v NULL: deletes it). */
enum status store_student_set(struct store *s, struct text id,
			      const struct student *v, int64_t created_batch,
			      struct error *err);

/* How many registrations name the student. */
enum status store_student_pairs(struct store *s, struct text id,
				int64_t *count, struct error *err);

/* Sets each course batch_id changed back to what its snapshot says: its
 * counters, seat_seq and updated_at (its settings: see below). */
enum status store_courses_restore(struct store *s, int64_t batch_id,
				  struct error *err);

/* A course's settings; waitlist_max is WAITLIST_UNLIMITED or >= 0. */
struct course_settings {
	struct text title;
	int64_t capacity, waitlist_max;
};

/* A course a batch recorded: its settings before the batch, after it
 * (after_known false: the batch did not record them, as every batch made
 * before schema version 3), and now. */
struct settings_change {
	int64_t course_id;
	struct text code;
	struct course_settings before, after, now;
	bool after_known;
};

/* Returns nonzero to stop the walk (ST_CANCELLED); the texts live until
 * it returns. */
typedef int (*store_settings_fn)(void *ctx, const struct settings_change *c);

/* Each course the batch recorded a snapshot of that still exists, in id
 * order. */
enum status store_course_settings_each(struct store *s, int64_t batch_id,
				       store_settings_fn fn, void *ctx,
				       struct error *err);

/* Sets a course's title, capacity and waitlist maximum. */
enum status store_course_settings_set(struct store *s, int64_t course_id,
				      const struct course_settings *v,
				      struct error *err);

/* Records, beside each snapshot of the batch, the course's settings as they
 * are now: what the batch left them at (after_known). */
enum status store_course_settings_record(struct store *s, int64_t batch_id,
					 struct error *err);

/* Every course the batch changed (its snapshots, its history, the pairs
 * it added), in id order, into a malloc'd array the caller frees. */
enum status store_batch_courses(struct store *s, int64_t batch_id,
				int64_t **ids, size_t *count, struct error *err);

/* Takes out the pairs the batch added that are still there (their
 * registration names it), recording each removal as a change of undo_id:
 * course by course, in the order of `courses` (every course the batch
 * changed, store_batch_courses), the seats, then the waitlist, each from
 * its end. */
enum status store_batch_remove_additions(struct store *s, int64_t batch_id,
					 int64_t undo_id,
					 const int64_t *courses, size_t ncourses,
					 struct error *err);

/* After an undo of batch_id (by undo_id) took its pairs out: takes out the
 * students it leaves with nothing -- created by that batch or by one undone
 * before, no registration, no change of a standing batch naming them --
 * recording each as a change of undo_id. */
enum status store_remove_orphans(struct store *s, int64_t batch_id,
				 int64_t undo_id, struct error *err);

/* Sets a course's registered and waitlisted counts to what its
 * registrations say. */
enum status store_course_recount(struct store *s, int64_t course_id,
				 struct error *err);

/* Marks `batch_id` undone by `undo_id` (0: no longer undone). */
enum status store_batch_set_undone(struct store *s, int64_t batch_id,
				   int64_t undo_id, struct error *err);

/* The id of the batch's last change so far (0: none). */
enum status store_history_last(struct store *s, int64_t batch_id,
				int64_t *id, struct error *err);

/* For each pair the undo `undo_id` changed, in the order of its first
 * change: that first change, with after = its own after and the course's
 * code.  The changes after `split` must each be of a different pair (the
 * set-based removals); one of a pair that a change up to `split` names is
 * not given (the earlier change is). */
enum status store_undo_firsts_each(struct store *s, int64_t undo_id,
				   int64_t split, store_change_fn fn, void *ctx,
				   struct error *err);

#endif
