/* undo: reverses a batch's recorded changes, newest first; see undo.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "undo.h"

/*
 * A course's waitlist, held in memory while the undo reverses changes
 * that move students in and out of it: putting a student back at position
 * p would otherwise renumber every position behind p in the database, once
 * per change (minutes for thousands of drops from a long waitlist).  The
 * positions are written back once, at the end.
 */
struct waitlist {
	int64_t course_id;
	struct text *ids;   /* in position order; each s malloc'd */
	size_t n, cap;
};

struct undo {
	struct store *s;
	int64_t target, undo_id;
	int64_t split;    /* the undo's last change before its removals */
	int64_t students; /* students whose values it set back */
	enum status st;
	struct error *err;
	policy_emit_fn emit;
	void *ctx;
	undo_warn_fn warn;
	void *warn_ctx;
	struct row row;   /* the report row being emitted */
	char dropped[64], restored[64], promoted[64]; /* its details */
	struct waitlist *lists;
	size_t nlists;
};

/* ---- waitlists in memory ---------------------------------------------------- */

static bool waitlist_insert(struct waitlist *w, size_t at, struct text id)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct text *ids = realloc(w->ids, cap * sizeof(*ids));
		if (!ids)
			return false;
		w->ids = ids;
		w->cap = cap;
	}
	char *copy = malloc(id.len ? id.len : 1);
	if (!copy)
		return false;
	memcpy(copy, id.s, id.len);
	if (at > w->n)
		at = w->n;
	memmove(w->ids + at + 1, w->ids + at, (w->n - at) * sizeof(*w->ids));
	w->ids[at] = (struct text){ copy, id.len };
	w->n++;
	return true;
}

static int waitlist_load_one(void *ctx, struct text id, const struct pair *p)
{
	(void)p;
	return waitlist_insert(ctx, SIZE_MAX, id) ? 0 : 1;
}

/* The course's waitlist, loaded on first use. */
static enum status waitlist_of(struct undo *u, int64_t course_id,
			       struct waitlist **out)
{
	for (size_t i = 0; i < u->nlists; i++)
		if (u->lists[i].course_id == course_id) {
			*out = &u->lists[i];
			return ST_OK;
		}
	struct waitlist *lists = realloc(u->lists,
					 (u->nlists + 1) * sizeof(*lists));
	if (!lists)
		return error_set(u->err, ST_NOMEM, "out of memory");
	u->lists = lists;
	struct waitlist *w = &lists[u->nlists++];
	memset(w, 0, sizeof(*w));
	w->course_id = course_id;
	enum status st = store_waitlist_each(u->s, course_id, waitlist_load_one,
					     w, u->err);
	if (st == ST_CANCELLED)
		st = error_set(u->err, ST_NOMEM, "out of memory");
	*out = w;
	return st;
}

/* The 0-based position of a student on the list; w->n if absent. */
static size_t waitlist_find(const struct waitlist *w, struct text id)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->ids[i].len == id.len && memcmp(w->ids[i].s, id.s, id.len) == 0)
			return i;
	return w->n;
}

static void waitlist_remove(struct waitlist *w, size_t at)
{
	free((char *)w->ids[at].s);
	memmove(w->ids + at, w->ids + at + 1, (w->n - at - 1) * sizeof(*w->ids));
	w->n--;
}

/* Writes every held waitlist's positions as 1..n. */
static enum status waitlists_store(struct undo *u)
{
	enum status st = ST_OK;
	for (size_t i = 0; st == ST_OK && i < u->nlists; i++) {
		const struct waitlist *w = &u->lists[i];
		for (size_t k = 0; st == ST_OK && k < w->n; k++) {
			struct pair p = { .state = PAIR_WAITLISTED,
					  .seq = (int64_t)k + 1 };
			st = store_pair_update(u->s, w->course_id, w->ids[k], &p,
					       u->err);
		}
	}
	return st;
}

static void waitlists_free(struct undo *u)
{
	for (size_t i = 0; i < u->nlists; i++) {
		for (size_t k = 0; k < u->lists[i].n; k++)
			free((char *)u->lists[i].ids[k].s);
		free(u->lists[i].ids);
	}
	free(u->lists);
}

static enum status refuse(const struct batch_info *b, struct error *err)
{
	if (!b->found)
		return error_set(err, ST_USAGE, "no batch %" PRId64, b->id);
	if (strcmp(b->outcome, "committed") != 0)
		return error_set(err, ST_USAGE,
				 "batch %" PRId64 " was %s: it changed nothing "
				 "to undo",
				 b->id,
				 strcmp(b->outcome, "dry_run") == 0 ? "a dry run" :
				 strcmp(b->outcome, "rolled_back") == 0 ?
								      "rolled back" :
								      "never finished");
	if (b->undone_by)
		return error_set(err, ST_USAGE,
				 "batch %" PRId64 " was already undone by batch "
				 "%" PRId64,
				 b->id, b->undone_by);
	/* A repair recorded the tables as they already were: undoing it
	 * would bring back the damage it mended (counters from its
	 * snapshots, a pair deleted by hand). */
	if (strcmp(b->kind, "repair") == 0)
		return error_set(err, ST_USAGE,
				 "batch %" PRId64 " is a repair (verify "
				 "--repair): it cannot be undone",
				 b->id);
	return ST_OK;
}

/* ---- reversing a change ---------------------------------------------------- */

static enum status record(struct undo *u, const struct change *c)
{
	return store_history_add(u->s, u->undo_id, c, u->err);
}

/* Sets a pair back to `target`, from what it is now. */
static enum status reverse_pair(struct undo *u, const struct change *c)
{
	struct text student = c->student_id;
	struct pair now;
	enum status st = store_pair_find(u->s, c->course_id, student, &now, u->err);
	if (st != ST_OK)
		return st;
	if ((now.state == PAIR_ABSENT) != (c->after.state == PAIR_ABSENT))
		return error_set(u->err, ST_DB,
				 "batch %" PRId64 "'s history does not match the "
				 "registrations (student %.*s, course id %" PRId64
				 "): run 'bulkreg verify'",
				 u->target, (int)(student.len > 64 ? 64 : student.len),
				 student.s, c->course_id);
	const struct pair *target = &c->before;
	struct waitlist *w = NULL;
	if (now.state == PAIR_WAITLISTED || target->state == PAIR_WAITLISTED)
		st = waitlist_of(u, c->course_id, &w);
	if (st == ST_OK && now.state != PAIR_ABSENT) {
		struct pair gone = { .state = PAIR_ABSENT };
		st = store_pair_set(u->s, c->course_id, student, &gone, u->err);
		if (now.state == PAIR_WAITLISTED) {
			size_t at = waitlist_find(w, student);
			now.seq = (int64_t)at + 1; /* its true position */
			if (at < w->n)
				waitlist_remove(w, at);
		}
	}
	if (st == ST_OK && target->state != PAIR_ABSENT) {
		struct student who;
		int64_t created;
		bool found;
		st = store_student_get(u->s, student, &who, &created, &found,
				       u->err);
		if (st == ST_OK && !found)
			return error_set(u->err, ST_DB,
					 "batch %" PRId64 " cannot be undone: "
					 "student %.*s, whose registration it "
					 "would restore, no longer exists",
					 u->target,
					 (int)(student.len > 64 ? 64 : student.len),
					 student.s);
	}
	/* The waitlist's positions are written at the end: here it goes in
	 * at its place on the list. */
	if (st == ST_OK && target->state == PAIR_WAITLISTED &&
	    !waitlist_insert(w, (size_t)(target->seq > 0 ? target->seq - 1 : 0),
			     student))
		st = error_set(u->err, ST_NOMEM, "out of memory");
	if (st == ST_OK && target->state != PAIR_ABSENT)
		st = store_pair_set(u->s, c->course_id, student, target, u->err);
	if (st != ST_OK)
		return st;
	struct change mine = {
		.event = target->state == PAIR_ABSENT ? EVENT_DROPPED :
							EVENT_RESTORED,
		.course_id = c->course_id,
		.student_id = student,
		.before = now,
		.after = *target,
	};
	return record(u, &mine);
}

/* Sets a student back: deleted if the batch created it (unless another
 * registration still names it), re-created if it deleted it, else its
 * values before. */
static enum status reverse_student(struct undo *u, const struct change *c)
{
	struct text id = c->student_id;
	struct student now;
	int64_t created = 0;
	bool found;
	enum status st = store_student_get(u->s, id, &now, &created, &found,
					   u->err);
	if (st != ST_OK)
		return st;
	struct change mine = {
		.event = EVENT_STUDENT,
		.student_id = id,
		.had_student = found,
		.has_student = c->had_student,
		.old_values = now,
		.new_values = c->old_values,
	};
	mine.before.batch_id = created;
	if (!c->had_student) {
		int64_t pairs = 0;
		st = store_student_pairs(u->s, id, &pairs, u->err);
		if (st != ST_OK || pairs > 0 || !found)
			return st; /* still registered elsewhere: kept */
		st = store_student_set(u->s, id, NULL, 0, u->err);
	} else {
		/* Re-created with the batch that first created it. */
		st = store_student_set(u->s, id, &c->old_values,
				       found ? 0 : c->before.batch_id, u->err);
		u->students++;
	}
	return st == ST_OK ? record(u, &mine) : st;
}

static int reverse_one(void *ctx, const struct change *c)
{
	struct undo *u = ctx;
	u->st = c->event == EVENT_STUDENT ? reverse_student(u, c) :
					    reverse_pair(u, c);
	return u->st != ST_OK;
}


/* ---- the report ------------------------------------------------------------ */

static void set_value(struct row *row, enum row_field f, struct text t)
{
	size_t len = t.len > ROW_VALUE_MAX ? ROW_VALUE_MAX : t.len;
	memcpy(row->v[f].text, t.s, len);
	row->v[f].text[len] = '\0';
	row->v[f].len = (uint32_t)len;
}

/* A row for a pair whose status the undo changed, with its status once
 * the undo and its promotions are done; c is the undo's first change of
 * the pair. */
static int report_pair(void *ctx, const struct change *c)
{
	struct undo *u = ctx;
	/* Before its first change, and as the undo leaves it: a removal is
	 * its pair's only change; a pair it reversed is looked up. */
	const struct pair *was = &c->before;
	struct pair now = c->after;
	if (c->id <= u->split) {
		u->st = store_pair_find(u->s, c->course_id, c->student_id, &now,
					u->err);
		if (u->st != ST_OK)
			return 1;
	}
	if (was->state == now.state)
		return 0; /* only renumbered, or set back as it was */
	struct row *r = &u->row;
	memset(r, 0, sizeof(*r));
	r->derived = true;
	r->nfields = FIELD_COUNT;
	set_value(r, FIELD_STUDENT_ID, c->student_id);
	set_value(r, FIELD_COURSE, c->course_code);
	if (c->event == EVENT_PROMOTED) {
		/* Into a seat free once the undo was done: one it freed, or
		 * one a capacity raised since left (review 18, B4). */
		r->status = STATUS_PROMOTED;
		memcpy(r->detail, u->promoted, sizeof(u->promoted));
	} else if (now.state == PAIR_ABSENT) {
		/* As drop and --sync say it (bulkreg(1), OUTCOMES): the
		 * position the pair had when the undo took it off. */
		r->status = STATUS_DROPPED;
		r->position = was->state == PAIR_WAITLISTED ? was->seq : 0;
		memcpy(r->detail, u->dropped, sizeof(u->dropped));
	} else {
		r->status = now.state == PAIR_WAITLISTED ? STATUS_WAITLISTED :
							   STATUS_REGISTERED;
		r->position = now.state == PAIR_WAITLISTED ? now.seq : 0;
		memcpy(r->detail, u->restored, sizeof(u->restored));
	}
	u->st = u->emit(u->ctx, r, u->err);
	return u->st != ST_OK;
}

/* ---- course settings ------------------------------------------------------- */

/*
 * The rule (review 18, A2): a setting -- title, capacity, waitlist
 * maximum -- goes back to what it was before the batch only if the batch
 * changed it (what it left differs from what it found) and it is still
 * what the batch left.  One changed since (a `course add` that moved no
 * one is no batch, and blocks nothing) is kept, with a warning.  A batch
 * that did not record what it left (made before schema version 3) sets
 * back every setting that differs, as bulkreg did then, and says which.
 */
enum setting { SETTING_TITLE, SETTING_CAPACITY, SETTING_WAITLIST, SETTINGS };

static const char *const setting_name[SETTINGS] = { "title", "capacity",
						    "waitlist" };

/* A course whose settings the undo sets, as they will be. */
struct settings_set {
	int64_t course_id;
	struct course_settings v;
	char *title; /* v.title's bytes, malloc'd */
};

struct settings_back {
	struct undo *u;
	struct settings_set *sets;
	size_t n;
};

static bool setting_equal(const struct course_settings *a,
			  const struct course_settings *b, enum setting k)
{
	switch (k) {
	case SETTING_TITLE:
		return a->title.len == b->title.len &&
		       memcmp(a->title.s, b->title.s, a->title.len) == 0;
	case SETTING_CAPACITY:
		return a->capacity == b->capacity;
	default:
		return a->waitlist_max == b->waitlist_max;
	}
}

/* A setting's value for a message: 'Title', 30, unlimited. */
static void setting_show(char *out, size_t cap, const struct course_settings *v,
			 enum setting k)
{
	size_t used = 0;
	out[0] = '\0';
	if (k == SETTING_TITLE)
		esc_quote(out, cap, &used, v->title.s, v->title.len, 60);
	else if (k == SETTING_CAPACITY)
		snprintf(out, cap, "%" PRId64, v->capacity);
	else if (v->waitlist_max == WAITLIST_UNLIMITED)
		snprintf(out, cap, "unlimited");
	else
		snprintf(out, cap, "%" PRId64, v->waitlist_max);
}

static void setting_copy(struct course_settings *to,
			 const struct course_settings *from, enum setting k)
{
	if (k == SETTING_TITLE)
		to->title = from->title;
	else if (k == SETTING_CAPACITY)
		to->capacity = from->capacity;
	else
		to->waitlist_max = from->waitlist_max;
}

static void settings_warn(struct undo *u, const struct settings_change *c,
			  enum setting k, bool kept)
{
	if (!u->warn)
		return;
	char now[256], before[256], after[256], msg[1024];
	setting_show(now, sizeof(now), &c->now, k);
	setting_show(before, sizeof(before), &c->before, k);
	setting_show(after, sizeof(after), &c->after, k);
	if (kept)
		snprintf(msg, sizeof(msg),
			 "%.*s: %s kept at %s, not set back to %s: it was "
			 "changed after batch %" PRId64 " set it to %s",
			 (int)c->code.len, c->code.s, setting_name[k], now,
			 before, u->target, after);
	else
		snprintf(msg, sizeof(msg),
			 "%.*s: %s set back from %s to %s (batch %" PRId64
			 " was made by an older bulkreg, which did not record "
			 "what it set: a change made since is undone too)",
			 (int)c->code.len, c->code.s, setting_name[k], now,
			 before, u->target);
	u->warn(u->warn_ctx, msg);
}

static int settings_decide(void *ctx, const struct settings_change *c)
{
	struct settings_back *sb = ctx;
	struct course_settings v = c->now;
	bool any = false;
	for (enum setting k = 0; k < SETTINGS; k++) {
		if (setting_equal(&c->now, &c->before, k))
			continue; /* nothing to set back */
		if (!c->after_known) {
			settings_warn(sb->u, c, k, false);
		} else if (setting_equal(&c->before, &c->after, k)) {
			continue; /* the batch did not change it */
		} else if (!setting_equal(&c->now, &c->after, k)) {
			settings_warn(sb->u, c, k, true);
			continue;
		}
		setting_copy(&v, &c->before, k);
		any = true;
	}
	if (!any)
		return 0;
	struct settings_set *sets = realloc(sb->sets,
					    (sb->n + 1) * sizeof(*sets));
	if (!sets)
		return 1;
	sb->sets = sets;
	struct settings_set *to = &sets[sb->n];
	to->course_id = c->course_id;
	to->v = v;
	to->title = malloc(v.title.len ? v.title.len : 1);
	if (!to->title)
		return 1;
	memcpy(to->title, v.title.s, v.title.len);
	to->v.title.s = to->title;
	sb->n++;
	return 0;
}

/* Sets back the course settings the batch changed (the rule above), then
 * records what the undo leaves them at, for an undo of the undo. */
static enum status settings_undo(struct undo *u)
{
	struct settings_back sb = { u, NULL, 0 };
	/* Decided first, written after: the walk reads the courses. */
	enum status st = store_course_settings_each(u->s, u->target,
						    settings_decide, &sb, u->err);
	if (st == ST_CANCELLED)
		st = error_set(u->err, ST_NOMEM, "out of memory");
	for (size_t i = 0; st == ST_OK && i < sb.n; i++)
		st = store_course_settings_set(u->s, sb.sets[i].course_id,
					       &sb.sets[i].v, u->err);
	for (size_t i = 0; i < sb.n; i++)
		free(sb.sets[i].title);
	free(sb.sets);
	if (st == ST_OK)
		st = store_course_settings_record(u->s, u->undo_id, u->err);
	return st;
}

/* ---- the undo -------------------------------------------------------------- */

/* Ends a list of batch ids that could not hold them all with how many it
 * leaves out, where to see them: "..., 39 and 37 more (see 'bulkreg
 * batches')". */
static void list_rest(char *list, size_t size, int64_t more)
{
	size_t used = strlen(list);
	if (more > 0)
		snprintf(list + used, size - used,
			 " and %" PRId64 " more (see 'bulkreg batches')", more);
}

static enum status walked(struct undo *u, enum status st)
{
	return st == ST_CANCELLED && u->st != ST_OK ? u->st : st;
}

/* Whether undoing the batch sets course settings back: a capacity batch
 * changed them, and so did an undo of one (of an undo of one...). */
static enum status changed_settings(struct store *s, const struct batch_info *b,
				    bool *settings, struct error *err)
{
	struct batch_info at = *b;
	enum status st = ST_OK;
	while (st == ST_OK && strcmp(at.kind, "undo") == 0 && at.undo_of)
		st = store_batch_info(s, at.undo_of, &at, err);
	*settings = st == ST_OK && strcmp(at.kind, "course") == 0;
	return st;
}

/*
 * Undoing an undo: the batch it had undone (`undid`) stands again; if that
 * one was itself an undo, the batch it undid is undone again (by it), and
 * so on down the chain, every other link standing.  1 <- 2 <- 3 <- 4, each
 * undoing the one before: undoing 3 makes 2 stand and 1 undone by 2.
 */
static enum status chain_flip(struct store *s, int64_t undid,
			      struct error *err)
{
	int64_t by = 0; /* the batch that undoes `undid` from now on; 0: none */
	enum status st = ST_OK;
	while (st == ST_OK && undid) {
		struct batch_info at;
		st = store_batch_set_undone(s, undid, by, err);
		if (st == ST_OK)
			st = store_batch_info(s, undid, &at, err);
		by = by ? 0 : undid;
		undid = st == ST_OK ? at.undo_of : 0;
	}
	return st;
}

enum status undo_apply(struct store *s, int64_t target, int64_t undo_id,
		       undo_warn_fn warn, void *warn_ctx, struct undo_done *done,
		       struct error *err)
{
	memset(done, 0, sizeof(*done));
	bool *partial = &done->partial;
	struct batch_info b;
	/* Another batch must not change what the checks below read. */
	enum status st = store_lock_all(s, err);
	if (st == ST_OK)
		st = store_batch_info(s, target, &b, err);
	b.id = target;
	/* Batch ids only grow: from the undo's own batch on, none existed
	 * when this command began (its own row is not a batch to undo). */
	if (target >= undo_id)
		b.found = false;
	*partial = st == ST_OK && b.found && !b.full_history;
	if (st == ST_OK)
		st = refuse(&b, err);
	if (st != ST_OK)
		return st;
	struct undo_blockers bl;
	st = store_undo_blockers(s, target, &bl, err);
	if (st != ST_OK)
		return st;
	list_rest(bl.later, sizeof(bl.later), bl.count - bl.listed);
	list_rest(bl.repairs, sizeof(bl.repairs),
		  bl.nrepairs - bl.repairs_listed);
	/* Undoing the others would not help past a repair. */
	if (bl.nrepairs)
		return error_set(err, ST_USAGE,
				 "batch %" PRId64 " cannot be undone: later "
				 "batch%s %s changed the same courses or "
				 "students, and batch%s %s %s (verify "
				 "--repair), which cannot be undone",
				 target, bl.count == 1 ? "" : "es", bl.later,
				 bl.nrepairs == 1 ? "" : "es", bl.repairs,
				 bl.nrepairs == 1 ? "is a repair" :
						    "are repairs");
	if (bl.count)
		return error_set(err, ST_USAGE,
				 "batch %" PRId64 " cannot be undone: later "
				 "batch%s %s changed the same courses or "
				 "students (undo %s first)",
				 target, bl.count == 1 ? "" : "es", bl.later,
				 bl.count == 1 ? "it" : "them");

	struct undo u = { .s = s, .target = target, .undo_id = undo_id,
			  .err = err, .warn = warn, .warn_ctx = warn_ctx };
	int64_t *courses = NULL;
	size_t ncourses = 0;
	st = store_batch_courses(s, target, &courses, &ncourses, err);
	/* Each course as it is now, before the undo changes it. */
	for (size_t i = 0; st == ST_OK && i < ncourses; i++)
		st = store_course_snapshot(s, undo_id, courses[i], err);
	/* Its changes newest first, then what it added. */
	if (st == ST_OK)
		st = walked(&u, store_changes_each(s, target, true, reverse_one, &u,
						   err));
	if (st == ST_OK)
		st = waitlists_store(&u);
	waitlists_free(&u);
	/* What the report groups by pair ends here (see report_pair). */
	if (st == ST_OK)
		st = store_history_last(s, undo_id, &u.split, err);
	if (st == ST_OK)
		st = store_batch_remove_additions(s, target, undo_id, courses,
						  ncourses, err);
	/* Positions 1..n again where a batch from before version 2 leaves
	 * gaps (its promotions kept no history); a no-op otherwise. */
	for (size_t i = 0; st == ST_OK && i < ncourses; i++)
		st = store_waitlist_renumber(s, courses[i], err);
	if (st == ST_OK)
		st = store_remove_orphans(s, target, undo_id, err);
	bool settings = false;
	if (st == ST_OK)
		st = changed_settings(s, &b, &settings, err);
	if (st == ST_OK)
		st = store_courses_restore(s, target, err);
	if (st == ST_OK && settings)
		st = settings_undo(&u);
	/* The counts as the registrations now are (a batch from before
	 * snapshots, schema version 1, has none to restore). */
	for (size_t i = 0; st == ST_OK && i < ncourses; i++)
		st = store_course_recount(s, courses[i], err);
	free(courses);
	if (st == ST_OK)
		st = store_batch_set_undone(s, target, undo_id, err);
	if (st == ST_OK)
		st = chain_flip(s, b.undo_of, err);
	done->split = u.split;
	done->students = u.students;
	return st;
}

enum status undo_report(struct store *s, int64_t target, int64_t undo_id,
			const struct undo_done *done, policy_emit_fn emit,
			void *ctx, struct error *err)
{
	struct undo u = { .s = s, .target = target, .undo_id = undo_id,
			  .split = done->split, .err = err, .emit = emit,
			  .ctx = ctx };
	snprintf(u.dropped, sizeof(u.dropped), "undo of batch %" PRId64, target);
	snprintf(u.restored, sizeof(u.restored),
		 "restored by the undo of batch %" PRId64, target);
	snprintf(u.promoted, sizeof(u.promoted),
		 "took a seat free after the undo of batch %" PRId64, target);
	return walked(&u, store_undo_firsts_each(s, undo_id, u.split,
						 report_pair, &u, err));
}
