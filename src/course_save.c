/* course_save: saving courses as one batch, with the promotions it owes. */
#include <stdio.h>
#include <string.h>

#include "course_save.h"

struct counting {
	policy_emit_fn emit;
	void *ctx;
	struct outcome_counts counts;
};

static enum status count_and_emit(void *ctx, struct row *row, struct error *err)
{
	struct counting *c = ctx;
	outcome_counts_add(&c->counts, row);
	return c->emit ? c->emit(c->ctx, row, err) : ST_OK;
}

/* Records each existing course as it is before the change (undo restores
 * its capacity from there). */
static enum status snapshot_courses(struct db *db, int64_t batch_id,
				    const struct course_table *before,
				    const struct course_input *in, size_t n,
				    struct error *err)
{
	enum status st = ST_OK;
	for (size_t i = 0; st == ST_OK && i < n; i++) {
		const struct course *c =
			course_table_find(before, in[i].code, strlen(in[i].code));
		if (c)
			st = store_course_snapshot(db_store(db), batch_id, c->id,
						   err);
	}
	return st;
}

static enum status put_all(struct db *db, const struct course_input *in,
			   size_t n, size_t *failed, struct error *err)
{
	enum status st = ST_OK;
	for (size_t i = 0; st == ST_OK && i < n; i++) {
		st = db_course_put(db, &in[i], err);
		if (st != ST_OK)
			*failed = i + 1;
	}
	return st;
}

static enum status promote(struct db *db, int64_t batch_id,
			   struct course_table *after, struct counting *cnt,
			   const struct course_input *in, size_t n,
			   course_over_fn over_fn, void *over_ctx,
			   struct error *err)
{
	struct policy *p = NULL;
	struct policy_options po = { .batch_id = batch_id };
	enum status st = db_courses_load(db, after, err);
	if (st == ST_OK)
		st = policy_new(db_store(db), after, &po, &p, err);
	if (st == ST_OK)
		st = policy_promote_all(p, NULL, count_and_emit, cnt, err);
	if (st == ST_OK)
		st = policy_store_courses(p, err);
	policy_free(p);
	/* Only the courses this save names: another course's warning was
	 * given when it was changed (review 23 F05). */
	for (size_t i = 0; st == ST_OK && over_fn && i < n; i++) {
		const struct course *c =
			course_table_find(after, in[i].code, strlen(in[i].code));
		if (c && c->registered > c->capacity)
			over_fn(over_ctx, c);
	}
	return st;
}

enum status course_save(struct db *db, const struct course_input *in, size_t n,
			const char *source, policy_emit_fn emit, void *emit_ctx,
			course_over_fn over_fn, void *over_ctx, bool dry_run,
			struct course_save_result *res, struct error *err)
{
	memset(res, 0, sizeof(*res));
	struct batch_meta meta = { .kind = BATCH_KIND_COURSE, .source = source };
	struct course_table before, after;
	course_table_init(&before);
	course_table_init(&after);
	struct counting cnt = { .emit = emit, .ctx = emit_ctx };
	int64_t batch_id = 0;
	enum status st = db_batch_begin(db, &meta, &batch_id, &before, err);
	if (st != ST_OK)
		goto out;
	/* PostgreSQL: every running batch's courses before any row of ours
	 * (two hosts creating one course met at its unique key, and an
	 * import holding course rows deadlocked with registers waiting for
	 * them: review 15, B7, B8). */
	st = store_lock_all(db_store(db), err);
	if (st == ST_OK && db_is_pg(db)) {
		/* As they are now: another host may have created one. */
		course_table_free(&before);
		course_table_init(&before);
		st = db_courses_load(db, &before, err);
	}
	for (size_t i = 0; st == ST_OK && i < n; i++)
		res->created += !course_table_find(&before, in[i].code,
						   strlen(in[i].code));
	if (st == ST_OK)
		st = snapshot_courses(db, batch_id, &before, in, n, err);
	if (st == ST_OK)
		st = put_all(db, in, n, &res->failed, err);
	if (st == ST_OK)
		st = promote(db, batch_id, &after, &cnt, in, n, over_fn, over_ctx,
			     err);
	/* What the batch left the courses at: its undo sets back only what
	 * is still so (undo.c). */
	if (st == ST_OK)
		st = store_course_settings_record(db_store(db), batch_id, err);
	if (st != ST_OK || dry_run) {
		db_batch_abort(db);
		if (st == ST_OK)
			res->promoted = cnt.counts.by_status[STATUS_PROMOTED];
		goto out;
	}
	res->promoted = cnt.counts.by_status[STATUS_PROMOTED];
	if (res->promoted == 0) {
		st = db_batch_finish_unrecorded(db, batch_id, err);
	} else {
		st = db_batch_finish(db, batch_id, BATCH_COMMITTED, &cnt.counts,
				     NULL, err);
		if (st == ST_OK)
			res->batch_id = batch_id;
	}
out:
	course_table_free(&before);
	course_table_free(&after);
	return st;
}
