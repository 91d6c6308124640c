/* policy: seats, waitlist, duplicates, drops, promotion and sync; see policy.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "policy.h"
#include "validate.h"

/*
 * A course's waitlist during a batch.  Renumbering every position behind a
 * drop or a promotion costs a write per waiting student -- a sync that
 * frees a thousand seats of a course with a long waitlist would rewrite it
 * a thousand times -- so during a batch the stored seq of a waitlisted pair
 * is an order key: keys were 1..n when the batch began, new pairs get the
 * next key, and a pair leaving the waitlist leaves a gap.  A pair's
 * position is its key less the gaps before it, counted by a Fenwick tree
 * over the keys; the positions are written back as 1..n once, when the
 * batch stores its courses.
 */
struct waitlist {
	int64_t next_key;   /* the key the next waitlisted pair gets */
	int64_t *gaps;      /* Fenwick tree: keys that left, 1..cap; NULL: none */
	size_t cap;
};

struct line_table {
	uint32_t **chunks;
	size_t nchunks;
};

struct policy {
	struct store *store;
	struct course_table *courses;
	struct policy_options opt;
	bool any_drop;        /* a pair was dropped this batch (see enrol) */
	bool expect_existing; /* the last row found its pair registered */
	/* Per course (index into courses->items). */
	bool *in_scope;
	int64_t *pairs_before, *sync_drops;
	struct waitlist *waitlists;
	bool *locked;         /* store_course_lock has been called */
	struct row extra;     /* the row being emitted for a promotion or drop */
	/* Lines of this roster whose row dropped a pair: a later row of
	 * that pair enrols it again (bulkreg(1), duplicate_in_roster). */
	uint64_t *dropped_lines;
	size_t dropped_words;
	/* The section each enrolling row named, by line: 32 bits of its
	 * hash (0: none), in chunks of 2^16 lines made when a row there
	 * names one; and the names of the first sections, for details. */
	struct line_table sections;
	/* A row of a pair through another section than its first row's:
	 * by the line of the pair's previous such row, this row's line (a
	 * chain from the first row), for a repeat of that section. */
	struct line_table next_section;
	struct section_name *section_names;
	size_t section_slots, section_count;
};

/* A section's name, by the 32 bits of its hash that lines keep. */
struct section_name {
	uint32_t key;                 /* 0: a free slot */
	uint32_t len;
	char text[64];
};

#define LINE_CHUNK_BITS 16
#define SECTION_NAMES_MAX 32768  /* past it, a detail says "another section" */

static size_t course_index(const struct policy *p, const struct course *c)
{
	return (size_t)(c - p->courses->items);
}

static size_t value_len(const struct row *row, enum row_field f)
{
	uint32_t len = row->v[f].len;
	return len > ROW_VALUE_MAX ? ROW_VALUE_MAX : len;
}

static struct text value_of(const struct row *row, enum row_field f)
{
	return (struct text){ row->v[f].text, value_len(row, f) };
}

static struct student student_of(const struct row *row)
{
	return (struct student){
		.id = value_of(row, FIELD_STUDENT_ID),
		.first_name = value_of(row, FIELD_FIRST_NAME),
		.last_name = value_of(row, FIELD_LAST_NAME),
		.email = value_of(row, FIELD_EMAIL),
	};
}

enum status policy_new(struct store *s, struct course_table *courses,
		       const struct policy_options *opt, struct policy **out,
		       struct error *err)
{
	size_t n = courses->count ? courses->count : 1;
	struct policy *p = calloc(1, sizeof(*p));
	if (p) {
		p->courses = courses; /* policy_free walks its waitlists */
		p->in_scope = calloc(n, sizeof(*p->in_scope));
		p->pairs_before = calloc(n, sizeof(*p->pairs_before));
		p->sync_drops = calloc(n, sizeof(*p->sync_drops));
		p->waitlists = calloc(n, sizeof(*p->waitlists));
		p->locked = calloc(n, sizeof(*p->locked));
	}
	if (!p || !p->in_scope || !p->pairs_before || !p->sync_drops ||
	    !p->waitlists || !p->locked) {
		policy_free(p);
		return error_set(err, ST_NOMEM, "out of memory");
	}
	p->store = s;
	p->courses = courses;
	p->opt = *opt;
	for (size_t i = 0; i < courses->count; i++) {
		const struct course *c = &courses->items[i];
		p->pairs_before[i] = c->registered + c->waitlisted;
		p->waitlists[i].next_key = c->waitlisted + 1;
		p->in_scope[i] = opt->sync && opt->sync_all;
	}
	if (opt->sync && opt->course_override) {
		struct course *c = course_table_find(
			courses, opt->course_override, strlen(opt->course_override));
		if (c)
			p->in_scope[course_index(p, c)] = true;
	}
	*out = p;
	return ST_OK;
}

static void line_table_free(struct line_table *t)
{
	for (size_t i = 0; i < t->nchunks; i++)
		free(t->chunks[i]);
	free(t->chunks);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->in_scope);
	free(p->pairs_before);
	free(p->sync_drops);
	free(p->locked);
	for (size_t i = 0; p->waitlists && i < p->courses->count; i++)
		free(p->waitlists[i].gaps);
	free(p->waitlists);
	free(p->dropped_lines);
	line_table_free(&p->sections);
	line_table_free(&p->next_section);
	free(p->section_names);
	free(p);
}

/* ---- what earlier lines of the roster did --------------------------------- */


/* false: out of memory, or a line past 2^32 (not kept). */
static bool line_table_set(struct line_table *t, uint64_t line, uint32_t v)
{
	if (line >= UINT64_C(1) << 32)
		return false;
	size_t c = (size_t)(line >> LINE_CHUNK_BITS);
	if (c >= t->nchunks) {
		size_t n = t->nchunks ? t->nchunks : 16;
		while (n <= c)
			n *= 2;
		uint32_t **chunks = realloc(t->chunks, n * sizeof(*chunks));
		if (!chunks)
			return false;
		memset(chunks + t->nchunks, 0, (n - t->nchunks) * sizeof(*chunks));
		t->chunks = chunks;
		t->nchunks = n;
	}
	if (!t->chunks[c]) {
		t->chunks[c] = calloc((size_t)1 << LINE_CHUNK_BITS, sizeof(uint32_t));
		if (!t->chunks[c])
			return false;
	}
	t->chunks[c][line & ((1u << LINE_CHUNK_BITS) - 1)] = v;
	return true;
}

static uint32_t line_table_get(const struct line_table *t, uint64_t line)
{
	size_t c = (size_t)(line >> LINE_CHUNK_BITS);
	if (line >= UINT64_C(1) << 32 || c >= t->nchunks || !t->chunks[c])
		return 0;
	return t->chunks[c][line & ((1u << LINE_CHUNK_BITS) - 1)];
}

/* Notes that the row on `line` dropped a pair.  Out of memory: not noted
 * (a later row's detail then does not mention the drop). */
static void note_dropped_line(struct policy *p, uint64_t line)
{
	size_t w = (size_t)(line / 64);
	if (line >= UINT64_C(1) << 40)
		return;
	if (w >= p->dropped_words) {
		size_t n = p->dropped_words ? p->dropped_words : 64;
		while (n <= w)
			n *= 2;
		uint64_t *b = realloc(p->dropped_lines, n * sizeof(*b));
		if (!b)
			return;
		memset(b + p->dropped_words, 0,
		       (n - p->dropped_words) * sizeof(*b));
		p->dropped_lines = b;
		p->dropped_words = n;
	}
	p->dropped_lines[w] |= UINT64_C(1) << (line % 64);
}

static bool line_dropped(const struct policy *p, int64_t line)
{
	if (line <= 0)
		return false;
	size_t w = (size_t)((uint64_t)line / 64);
	return w < p->dropped_words &&
	       (p->dropped_lines[w] >> ((uint64_t)line % 64) & 1);
}

static uint32_t section_key(const struct row *row)
{
	uint32_t k = (uint32_t)(row->section_hash ^ (row->section_hash >> 32));
	return k ? k : 1;
}

/* Notes the section an enrolling row names, by its line.  Out of memory:
 * not noted (a later row of the pair is then a repeat, as if the file had
 * no sections). */
static void note_line_section(struct policy *p, const struct row *row)
{
	if (row->section_len == 0 || row->line >= UINT64_C(1) << 40)
		return;
	uint32_t key = section_key(row);
	if (!line_table_set(&p->sections, row->line, key))
		return;
	/* Its name, while there is room (open addressing, half full). */
	if (p->section_count >= SECTION_NAMES_MAX)
		return;
	if (2 * (p->section_count + 1) > p->section_slots) {
		size_t n = p->section_slots ? 2 * p->section_slots : 256;
		struct section_name *t = calloc(n, sizeof(*t));
		if (!t)
			return;
		for (size_t i = 0; i < p->section_slots; i++) {
			const struct section_name *e = &p->section_names[i];
			if (!e->key)
				continue;
			size_t j = e->key & (n - 1);
			while (t[j].key)
				j = (j + 1) & (n - 1);
			t[j] = *e;
		}
		free(p->section_names);
		p->section_names = t;
		p->section_slots = n;
	}
	size_t j = key & (p->section_slots - 1);
	while (p->section_names[j].key && p->section_names[j].key != key)
		j = (j + 1) & (p->section_slots - 1);
	if (p->section_names[j].key)
		return;
	struct section_name *e = &p->section_names[j];
	e->key = key;
	e->len = row->section_len;
	snprintf(e->text, sizeof(e->text), "%s", row->section);
	p->section_count++;
}

/* The section key the row on `line` named, 0 if none. */
static uint32_t line_section(const struct policy *p, int64_t line)
{
	return line > 0 ? line_table_get(&p->sections, (uint64_t)line) : 0;
}

/* The section of key `key` as a detail names it: 'LEC1' (escaped), or
 * "another section" when its name was not kept. */
static void section_shown(const struct policy *p, uint32_t key, char *out,
			  size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t j = p->section_slots ? key & (p->section_slots - 1) : 0;
	     p->section_slots && p->section_names[j].key;
	     j = (j + 1) & (p->section_slots - 1)) {
		const struct section_name *e = &p->section_names[j];
		if (e->key != key)
			continue;
		snprintf(out, cap, "section ");
		used = strlen(out);
		esc_quote(out, cap, &used, e->text, strlen(e->text), 48);
		return;
	}
	snprintf(out, cap, "another section");
}

/* The rows of a pair that enrolled it through their sections, from the
 * first (`line`): the first whose section is the row's (*same) and the
 * first whose section is another (*other), 0 if none; both 0 when the row
 * or the first names no section.  *last: the chain's last line. */
static void pair_sections(const struct policy *p, const struct row *row,
			  int64_t line, int64_t *same, int64_t *other,
			  int64_t *last)
{
	*same = *other = 0;
	*last = line;
	if (row->section_len == 0 || !line_section(p, line))
		return;
	uint32_t mine = section_key(row);
	for (int64_t l = line, hops = 0; l > 0 && hops < 1000; hops++) {
		uint32_t k = line_section(p, l);
		if (k == mine && !*same)
			*same = l;
		else if (k && k != mine && !*other)
			*other = l;
		*last = l;
		l = (int64_t)line_table_get(&p->next_section, (uint64_t)l);
	}
}

/* ---- locks -------------------------------------------------------------- */

/* Before the first decision about a course: no other batch changes it
 * from now on, and its numbers are as stored now (store_course_lock). */
static enum status course_ready(struct policy *p, struct course *c,
				struct error *err)
{
	size_t i = course_index(p, c);
	if (p->locked[i])
		return ST_OK;
	enum status st = store_course_lock(p->store, c, err);
	if (st != ST_OK)
		return st;
	p->locked[i] = true;
	p->pairs_before[i] = c->registered + c->waitlisted;
	p->waitlists[i].next_key = c->waitlisted + 1;
	return ST_OK;
}

/* ---- waitlist positions -------------------------------------------------- */

static struct waitlist *waitlist_of(struct policy *p, const struct course *c)
{
	return &p->waitlists[course_index(p, c)];
}

/* Gaps among keys 1..k. */
static int64_t gaps_upto(const struct waitlist *w, int64_t k)
{
	int64_t n = 0;
	if (!w->gaps)
		return 0;
	if ((size_t)k > w->cap)
		k = (int64_t)w->cap;
	for (; k > 0; k -= k & -k)
		n += w->gaps[k];
	return n;
}

/* The position of the waitlisted pair with this key. */
static int64_t position_of(struct policy *p, const struct course *c, int64_t key)
{
	return key - gaps_upto(waitlist_of(p, c), key - 1);
}

/* Notes that the pair with this key left the waitlist. */
static enum status waitlist_leave(struct policy *p, const struct course *c,
				  int64_t key, struct error *err)
{
	struct waitlist *w = waitlist_of(p, c);
	if (key < 1)
		return ST_OK;
	if ((size_t)key > w->cap) {
		size_t cap = w->cap ? w->cap : 1024;
		while (cap < (size_t)key || cap < (size_t)w->next_key)
			cap *= 2;
		int64_t *gaps = calloc(cap + 1, sizeof(*gaps));
		if (!gaps)
			return error_set(err, ST_NOMEM, "out of memory");
		/* Rebuild: each old key's own count, added again. */
		for (size_t k = 1; k <= w->cap; k++) {
			int64_t own = gaps_upto(w, (int64_t)k) -
				      gaps_upto(w, (int64_t)k - 1);
			for (size_t i = k; own && i <= cap; i += i & -i)
				gaps[i] += own;
		}
		free(w->gaps);
		w->gaps = gaps;
		w->cap = cap;
	}
	for (size_t i = (size_t)key; i <= w->cap; i += i & -i)
		w->gaps[i]++;
	return ST_OK;
}

/* ---- recording ----------------------------------------------------------- */

static void touch(struct course *c)
{
	c->touched = true;
}

static enum status record_pair(struct policy *p, enum change_event ev,
			       const struct course *c, struct text student,
			       int64_t line, const struct pair *before,
			       const struct pair *after, struct error *err)
{
	struct change ch = {
		.event = ev,
		.course_id = c->id,
		.student_id = student,
		.line = line,
	};
	if (before)
		ch.before = *before;
	if (after)
		ch.after = *after;
	return store_history_add(p->store, p->opt.batch_id, &ch, err);
}

/* "email: a@x.org -> b@x.org; last_name: '' -> Lee" into the row's detail
 * (an empty value shown as ''): a changed student is visible in the
 * report, not only in the history. */
static void describe_change(struct row *row, const struct student *old,
			    const struct student *now)
{
	const char *names[] = { "first_name", "last_name", "email" };
	const struct text *was[] = { &old->first_name, &old->last_name,
				     &old->email };
	const struct text *is[] = { &now->first_name, &now->last_name,
				    &now->email };
	size_t used = 0;
	for (int i = 0; i < 3 && used < sizeof(row->detail); i++) {
		if (was[i]->len == is[i]->len &&
		    memcmp(was[i]->s, is[i]->s, is[i]->len) == 0)
			continue;
		used += (size_t)snprintf(row->detail + used,
					 sizeof(row->detail) - used,
					 "%s%s: %.*s%s \u2192 %.*s%s",
					 used ? "; " : "", names[i],
					 (int)was[i]->len, was[i]->s,
					 was[i]->len ? "" : "''",
					 (int)is[i]->len, is[i]->s,
					 is[i]->len ? "" : "''");
	}
	row->student_changed = true;
}

/* Writes the row's student as the batch's update mode says, and records a
 * creation or a change of values. */
static enum status put_student(struct policy *p, struct row *row,
			       struct error *err)
{
	struct student v = student_of(row);
	struct student old;
	enum student_effect effect;
	enum status st = store_student_put(p->store, p->opt.batch_id, &v,
					   p->opt.update_students, &effect, &old,
					   err);
	/* A new student is recorded by its created_batch; only a change of
	 * values is a history row. */
	if (st != ST_OK || effect != STUDENT_CHANGED)
		return st;
	struct change ch = {
		.event = EVENT_STUDENT,
		.student_id = v.id,
		.line = (int64_t)row->line,
		.had_student = effect == STUDENT_CHANGED,
		.has_student = true,
		.new_values = v,
	};
	if (effect == STUDENT_CHANGED) {
		ch.old_values = old;
		/* What the student holds now: the row's non-empty values
		 * over the old ones, as the update mode merged them. */
		ch.new_values = old;
		const struct text *from[] = { &v.first_name, &v.last_name,
					      &v.email };
		struct text *to[] = { &ch.new_values.first_name,
				      &ch.new_values.last_name,
				      &ch.new_values.email };
		for (size_t i = 0; i < 3; i++) {
			bool fill = to[i]->len == 0;
			if (from[i]->len &&
			    (p->opt.update_students == STUDENT_UPDATE_ALWAYS ||
			     (p->opt.update_students == STUDENT_UPDATE_FILL &&
			      fill)))
				*to[i] = *from[i];
		}
		ch.new_values.id = v.id;
	}
	describe_change(row, &ch.old_values, &ch.new_values);
	return store_history_add(p->store, p->opt.batch_id, &ch, err);
}

/* ---- emitting rows -------------------------------------------------------- */

static void set_value(struct row *row, enum row_field f, const char *s,
		      size_t len)
{
	if (len > ROW_VALUE_MAX)
		len = ROW_VALUE_MAX;
	memcpy(row->v[f].text, s, len);
	row->v[f].text[len] = '\0';
	row->v[f].len = (uint32_t)len;
}

/* The scratch row for a promotion or a --sync drop. */
static struct row *extra_row(struct policy *p, const struct course *c,
			     struct text student, int64_t line)
{
	struct row *r = &p->extra;
	memset(r, 0, sizeof(*r));
	r->derived = true;
	r->line = (uint64_t)line;
	r->nfields = FIELD_COUNT;
	set_value(r, FIELD_STUDENT_ID, student.s, student.len);
	set_value(r, FIELD_COURSE, c->code, strlen(c->code));
	r->course = (struct course *)c;
	return r;
}

/* ---- promotion ----------------------------------------------------------- */

/* Why a seat is free, for the promoted row's detail. */
struct seat_cause {
	int64_t line;            /* the row that freed it, 0 if none */
	const char *student;     /* whose seat it was, or NULL */
	size_t student_len;
	const char *reason;      /* "dropped", "not in the roster", ... */
};

/* Moves the first waitlisted student into a free seat. */
static enum status promote_one(struct policy *p, struct course *c,
			       const struct seat_cause *why,
			       policy_emit_fn emit, void *ctx,
			       struct error *err)
{
	char sid[ROW_VALUE_MAX + 1];
	size_t len = 0;
	bool found = false;
	enum status st = store_waitlist_first(p->store, c->id, sid, sizeof(sid),
					      &len, &found, err);
	if (st != ST_OK)
		return st;
	if (!found)
		return error_set(err, ST_DB,
				 "course %s counts %" PRId64 " waitlisted but "
				 "nobody is at position 1 (run 'bulkreg verify')",
				 c->code, c->waitlisted);
	struct text student = { sid, len };
	struct pair before;
	st = store_pair_find(p->store, c->id, student, &before, err);
	if (st != ST_OK)
		return st;
	struct pair after = before;
	after.state = PAIR_REGISTERED;
	after.seq = ++c->seat_seq;
	st = store_pair_update(p->store, c->id, student, &after, err);
	if (st == ST_OK)
		st = waitlist_leave(p, c, before.seq, err);
	before.seq = 1; /* its position: the first */
	if (st == ST_OK)
		st = record_pair(p, EVENT_PROMOTED, c, student, why->line, &before,
				 &after, err);
	if (st != ST_OK)
		return st;
	c->registered++;
	c->waitlisted--;
	touch(c);

	struct row *r = extra_row(p, c, student, why->line);
	r->status = STATUS_PROMOTED;
	if (why->student)
		snprintf(r->detail, sizeof(r->detail),
			 "took the seat of %.*s (%s)", (int)why->student_len,
			 why->student, why->reason);
	else
		snprintf(r->detail, sizeof(r->detail), "took a seat %s",
			 why->reason);
	return emit(ctx, r, err);
}

static bool seat_free(const struct course *c)
{
	return c->registered < c->capacity;
}

/* Fills the course's free seats from its waitlist. */
static enum status promote_while_free(struct policy *p, struct course *c,
				      const struct seat_cause *why,
				      policy_emit_fn emit, void *ctx,
				      struct error *err)
{
	enum status st = ST_OK;
	while (st == ST_OK && seat_free(c) && c->waitlisted > 0)
		st = promote_one(p, c, why, emit, ctx, err);
	return st;
}

/* ---- removing a pair ----------------------------------------------------- */

static enum status remove_pair(struct policy *p, struct course *c,
			       struct text student, const struct pair *ex,
			       int64_t line, struct error *err)
{
	struct pair gone = { .state = PAIR_ABSENT };
	enum status st = store_pair_set(p->store, c->id, student, &gone, err);
	struct pair was = *ex;
	if (ex->state == PAIR_WAITLISTED) {
		was.seq = position_of(p, c, ex->seq);
		if (st == ST_OK)
			st = waitlist_leave(p, c, ex->seq, err);
	}
	if (st == ST_OK)
		st = record_pair(p, EVENT_DROPPED, c, student, line, &was, NULL, err);
	if (st != ST_OK)
		return st;
	if (ex->state == PAIR_WAITLISTED)
		c->waitlisted--;
	else
		c->registered--;
	touch(c);
	p->any_drop = true;
	return ST_OK;
}

/* ---- enrol --------------------------------------------------------------- */

static void reject_duplicate(struct row *row, int64_t first_line)
{
	row_reject(row, REASON_DUPLICATE_IN_ROSTER,
		   "student %.*s is already in %s from line %" PRId64,
		   (int)value_len(row, FIELD_STUDENT_ID),
		   row->v[FIELD_STUDENT_ID].text, row->course->code, first_line);
}

static void reject_full(struct row *row)
{
	const struct course *c = row->course;
	char n[2][32];
	if (c->registered > c->capacity && c->waitlist_max == 0)
		row_reject(row, REASON_COURSE_FULL,
			   "%s is over capacity (%s registered, capacity %s) "
			   "and has no waitlist",
			   c->code, text_group_digits(c->registered, n[0]),
			   text_group_digits(c->capacity, n[1]));
	else if (c->waitlist_max == 0)
		row_reject(row, REASON_COURSE_FULL,
			   "%s has no free seat (capacity %s) and no waitlist",
			   c->code, text_group_digits(c->capacity, n[0]));
	else
		row_reject(row, REASON_COURSE_FULL,
			   "%s has no free seat (capacity %s) and its waitlist "
			   "is full (%s)",
			   c->code, text_group_digits(c->capacity, n[0]),
			   text_group_digits(c->waitlist_max, n[1]));
}

/* Adds " (more)" to the row's detail, after what is there ("; more"). */
static void detail_add(struct row *row, const char *more)
{
	size_t used = strlen(row->detail);
	snprintf(row->detail + used, sizeof(row->detail) - used, "%s%s",
		 used ? "; " : "", more);
}

/* The outcome of the pair as it is: already_registered or
 * already_waitlisted (the row's values update the student). */
static enum status enrol_known(struct policy *p, struct row *row,
			       const struct pair *ex, struct error *err)
{
	enum status st = put_student(p, row, err);
	if (st != ST_OK)
		return st;
	bool waiting = ex->state == PAIR_WAITLISTED;
	row->status = waiting ? STATUS_ALREADY_WAITLISTED :
				STATUS_ALREADY_REGISTERED;
	row->position = waiting ? position_of(p, row->course, ex->seq) : 0;
	return ST_OK;
}

/* A row of a pair that the row on `line` of this roster enrolled (it is
 * there, as *ex says): a repeat (duplicate_in_roster), unless both rows
 * name sections and they differ -- a Canvas student in two sections of
 * one course -- which is the pair's own outcome. */
static enum status enrol_repeat(struct policy *p, struct row *row,
				const struct pair *ex, int64_t line,
				struct error *err)
{
	int64_t same, other, last;
	pair_sections(p, row, line, &same, &other, &last);
	if (same || !other) {
		reject_duplicate(row, same ? same : line);
		return ST_OK;
	}
	enum status st = enrol_known(p, row, ex, err);
	if (st != ST_OK)
		return st;
	/* A later row through this section repeats this one. */
	if (row->line > (uint64_t)last)
		line_table_set(&p->next_section, (uint64_t)last,
			       (uint32_t)row->line);
	char sec[96], more[160];
	section_shown(p, line_section(p, other), sec, sizeof(sec));
	snprintf(more, sizeof(more), "also in %s from line %" PRId64, sec, other);
	detail_add(row, more);
	return ST_OK;
}

/* A row whose pair exists from an earlier batch. */
static enum status enrol_existing(struct policy *p, struct row *row,
				  const struct pair *ex, bool marked,
				  struct error *err)
{
	if (ex->batch_id == p->opt.batch_id)
		return enrol_repeat(p, row, ex, ex->line, err);
	if (!marked) {
		int64_t first_line;
		enum status st = store_mark_seen(p->store, row->course->id,
						 value_of(row, FIELD_STUDENT_ID),
						 (int64_t)row->line, &first_line,
						 err);
		if (st != ST_OK)
			return st;
		if (first_line)
			return enrol_repeat(p, row, ex, first_line, err);
	}
	return enrol_known(p, row, ex, err);
}

/* Takes a seat or the last waitlist place when the pair is new. */
static enum status try_insert(struct policy *p, struct row *row, bool seat,
			      bool *inserted, struct error *err)
{
	struct course *c = row->course;
	struct pair np = {
		.state = seat ? PAIR_REGISTERED : PAIR_WAITLISTED,
		.seq = seat ? c->seat_seq + 1 : waitlist_of(p, c)->next_key,
		.batch_id = p->opt.batch_id,
		.line = (int64_t)row->line,
	};
	struct text student = value_of(row, FIELD_STUDENT_ID);
	enum status st = store_pair_add(p->store, c->id, student, &np, inserted,
					err);
	if (st != ST_OK || !*inserted)
		return st;
	/* The registration records its own addition (its batch and line):
	 * a history row for every added pair would double a first run's
	 * writes.  Every later change to it is a history row. */
	st = put_student(p, row, err);
	if (st != ST_OK)
		return st;
	if (seat) {
		c->seat_seq = np.seq;
		c->registered++;
	} else {
		waitlist_of(p, c)->next_key++;
		c->waitlisted++;
	}
	touch(c);
	row->status = seat ? STATUS_REGISTERED : STATUS_WAITLISTED;
	row->position = seat ? 0 : c->waitlisted; /* the last */
	return ST_OK;
}

static enum status enrol(struct policy *p, struct row *row, struct error *err)
{
	struct course *c = row->course;
	struct text student = value_of(row, FIELD_STUDENT_ID);
	bool seat = seat_free(c);
	bool wait = c->waitlist_max < 0 || c->waitlisted < c->waitlist_max;
	struct pair ex = {0};
	enum status st;
	/* Once a pair has been dropped in this batch, its registration no
	 * longer says that an earlier row named it: every row is noted. */
	bool marked = p->any_drop;
	int64_t again = 0; /* an earlier line named the pair, which is gone */
	note_line_section(p, row);
	if (marked) {
		int64_t first_line;
		st = store_mark_seen(p->store, c->id, student, (int64_t)row->line,
				     &first_line, err);
		if (st != ST_OK)
			return st;
		if (first_line) {
			st = store_pair_find(p->store, c->id, student, &ex, err);
			if (st != ST_OK)
				return st;
			/* There: a repeat of the row that enrolled it.  Gone:
			 * that row dropped it (or found nothing to drop, or
			 * no seat): this row enrols it again. */
			if (ex.state != PAIR_ABSENT) {
				p->expect_existing = true;
				return enrol_repeat(p, row, &ex,
						    ex.batch_id == p->opt.batch_id
							    ? ex.line
							    : first_line,
						    err);
			}
			again = first_line;
		}
	}
	/*
	 * Most rows of a first run are new pairs: insert first and let the
	 * conflict say otherwise.  Most rows of a re-run are not: once the
	 * previous row found its pair registered, look up first.  Either
	 * order gives the same outcome; only the cost differs.
	 */
	if (p->expect_existing || !(seat || wait)) {
		st = store_pair_find(p->store, c->id, student, &ex, err);
		if (st != ST_OK)
			return st;
	}
	if (ex.state == PAIR_ABSENT && (seat || wait)) {
		bool inserted;
		st = try_insert(p, row, seat, &inserted, err);
		if (st != ST_OK || inserted) {
			p->expect_existing = false;
			if (st == ST_OK && line_dropped(p, again)) {
				/* This batch's history holds the drop: the
				 * addition after it is a history row too, for
				 * verify and undo to replay. */
				struct pair now;
				st = store_pair_find(p->store, c->id, student, &now,
						     err);
				if (st == ST_OK)
					st = record_pair(p, EVENT_ADDED, c, student,
							 (int64_t)row->line, NULL,
							 &now, err);
				if (st != ST_OK)
					return st;
				char more[80];
				snprintf(more, sizeof(more),
					 "enrolled again after line %" PRId64
					 "'s drop", again);
				detail_add(row, more);
			}
			return st;
		}
		st = store_pair_find(p->store, c->id, student, &ex, err);
		if (st != ST_OK)
			return st;
	}
	p->expect_existing = ex.state != PAIR_ABSENT;
	if (ex.state != PAIR_ABSENT)
		return enrol_existing(p, row, &ex, marked, err);
	reject_full(row);
	return ST_OK;
}

/* ---- drop ---------------------------------------------------------------- */

static enum status drop(struct policy *p, struct row *row, policy_emit_fn emit,
			void *ctx, bool *emitted, struct error *err)
{
	struct course *c = row->course;
	struct text student = value_of(row, FIELD_STUDENT_ID);
	int64_t first_line;
	enum status st = store_mark_seen(p->store, c->id, student,
					 (int64_t)row->line, &first_line, err);
	if (st != ST_OK)
		return st;
	struct pair ex = {0};
	st = store_pair_find(p->store, c->id, student, &ex, err);
	if (st != ST_OK)
		return st;
	if (ex.state != PAIR_ABSENT && ex.batch_id == p->opt.batch_id)
		first_line = ex.line;
	int64_t same = 0, other = 0, last;
	if (ex.state != PAIR_ABSENT && first_line &&
	    row->action == ROW_DROP_IF_PRESENT)
		pair_sections(p, row, first_line, &same, &other, &last);
	if (other) {
		/* A Canvas section left while the course is kept. */
		char sec[96];
		section_shown(p, line_section(p, other), sec, sizeof(sec));
		row_skip(row, REASON_DUPLICATE_IN_ROSTER,
			 "student %.*s is still in %s of %s from line %" PRId64
			 "%s%s%s",
			 (int)student.len, student.s, sec, c->code, other,
			 row->drop_why[0] ? " (" : "", row->drop_why,
			 row->drop_why[0] ? ")" : "");
		return ST_OK;
	}
	if (first_line) {
		row_reject(row, REASON_DUPLICATE_IN_ROSTER,
			   "line %" PRId64 " already named student %.*s in %s",
			   first_line, (int)student.len, student.s, c->code);
		return ST_OK;
	}
	if (ex.state == PAIR_ABSENT) {
		row_reject(row, REASON_NOT_REGISTERED,
			   "student %.*s is not registered in %s%s%s%s",
			   (int)student.len, student.s, c->code,
			   row->drop_why[0] ? " (" : "", row->drop_why,
			   row->drop_why[0] ? ")" : "");
		if (row->action == ROW_DROP_IF_PRESENT)
			row->status = STATUS_SKIPPED;
		return ST_OK;
	}
	row->position = ex.state == PAIR_WAITLISTED ? position_of(p, c, ex.seq) : 0;
	st = remove_pair(p, c, student, &ex, (int64_t)row->line, err);
	if (st != ST_OK)
		return st;
	note_dropped_line(p, row->line);
	row->status = STATUS_DROPPED;
	if (row->drop_why[0]) /* a status asked for it: say which */
		snprintf(row->detail, sizeof(row->detail), "%s", row->drop_why);
	/* The drop's own row first, then the promotions it causes. */
	st = emit(ctx, row, err);
	*emitted = true;
	if (st != ST_OK || ex.state == PAIR_WAITLISTED)
		return st;
	char reason[48] = "dropped";
	if (row->line)
		snprintf(reason, sizeof(reason), "dropped on line %" PRIu64,
			 row->line);
	struct seat_cause why = {
		.line = (int64_t)row->line,
		.student = student.s,
		.student_len = student.len,
		.reason = reason,
	};
	return promote_while_free(p, c, &why, emit, ctx, err);
}

/* ---- a row --------------------------------------------------------------- */

/* With --sync: the course a row names (known code), or NULL. */
static struct course *named_course(const struct policy *p, const struct row *row)
{
	if (row->course)
		return row->course;
	size_t len = value_len(row, FIELD_COURSE);
	return len ? course_table_find(p->courses, row->v[FIELD_COURSE].text, len)
		   : NULL;
}

/* With --sync: a rejected row still names its pair (a bad email must not
 * drop a registered student) when its student id is valid and its course
 * is known; so does a row skipped for its role (a roster that names a
 * registered student as a TA is not a reason to drop them unasked). */
static enum status note_named(struct policy *p, const struct row *row,
			      struct error *err)
{
	struct course *c = named_course(p, row);
	if (!c)
		return ST_OK;
	p->in_scope[course_index(p, c)] = true;
	bool names = row->status == STATUS_REJECTED ||
		     (row->status == STATUS_SKIPPED &&
		      row->reason == REASON_NOT_A_STUDENT);
	if (!names ||
	    !id_valid(row->v[FIELD_STUDENT_ID].text,
			      value_len(row, FIELD_STUDENT_ID)))
		return ST_OK;
	return store_mark_named(p->store, c->id, value_of(row, FIELD_STUDENT_ID),
				err);
}

void policy_prefetch(struct policy *p, const struct row *rows, size_t n)
{
	struct text ids[256];
	int64_t courses[256];
	size_t k = 0;
	for (size_t i = 0; i < n && k < 256; i++)
		if (rows[i].status == STATUS_NONE && rows[i].course) {
			ids[k] = value_of(&rows[i], FIELD_STUDENT_ID);
			courses[k++] = rows[i].course->id;
		}
	store_rows_prefetch(p->store, ids, courses, k);
}

enum status policy_apply(struct policy *p, struct row *row,
			 policy_emit_fn emit, void *ctx, struct error *err)
{
	enum status st = ST_OK;
	bool emitted = false;
	if (p->opt.sync)
		st = note_named(p, row, err);
	if (st == ST_OK && row->status == STATUS_NONE) {
		if (!row->course)
			abort(); /* validation passes only rows with a course */
		st = course_ready(p, row->course, err);
	}
	if (st == ST_OK && row->status == STATUS_NONE) {
		if (row->action == ROW_ENROL)
			st = enrol(p, row, err);
		else
			st = drop(p, row, emit, ctx, &emitted, err);
	}
	if (st == ST_OK && !emitted)
		st = emit(ctx, row, err);
	return st;
}

/* ---- sync ---------------------------------------------------------------- */

struct unnamed {
	struct text *ids;
	char *buf;
	size_t count, alloc, used, cap;
	bool nomem;
};

static int collect_unnamed(void *ctx, struct text student, const struct pair *pr)
{
	(void)pr;
	struct unnamed *u = ctx;
	if (u->count == u->alloc) {
		size_t n = u->alloc ? 2 * u->alloc : 64;
		struct text *ids = realloc(u->ids, n * sizeof(*ids));
		if (!ids)
			return u->nomem = true, 1;
		u->ids = ids;
		u->alloc = n;
	}
	if (u->used + student.len > u->cap) {
		size_t n = u->cap ? 2 * u->cap : 4096;
		while (n < u->used + student.len)
			n *= 2;
		char *buf = realloc(u->buf, n);
		if (!buf)
			return u->nomem = true, 1;
		u->buf = buf;
		u->cap = n;
	}
	memcpy(u->buf + u->used, student.s, student.len);
	/* Offsets now, pointers once the buffer stops moving. */
	u->ids[u->count++] = (struct text){ (const char *)(uintptr_t)u->used,
					    student.len };
	u->used += student.len;
	return 0;
}

/* Drops the course's unnamed pairs (seats, then the waitlist), then fills
 * the freed seats, each promotion naming the seat it took in the order the
 * seats were freed. */
static enum status sync_course(struct policy *p, struct course *c,
			       policy_emit_fn emit, void *ctx, struct error *err)
{
	struct unnamed u = {0};
	enum status st = course_ready(p, c, err);
	if (st != ST_OK)
		return st;
	st = store_unnamed_pairs(p->store, c->id, p->opt.batch_id,
				 collect_unnamed, &u, err);
	if (st == ST_CANCELLED && u.nomem)
		st = error_set(err, ST_NOMEM, "out of memory listing %s", c->code);
	size_t seats_freed = 0; /* seats come first: ids[0..seats_freed) */
	for (size_t i = 0; st == ST_OK && i < u.count; i++) {
		struct text student = { u.buf + (uintptr_t)u.ids[i].s,
					u.ids[i].len };
		struct pair ex;
		st = store_pair_find(p->store, c->id, student, &ex, err);
		if (st != ST_OK || ex.state == PAIR_ABSENT)
			continue;
		int64_t position = ex.state == PAIR_WAITLISTED ?
					   position_of(p, c, ex.seq) :
					   0;
		st = remove_pair(p, c, student, &ex, 0, err);
		if (st != ST_OK)
			break;
		p->sync_drops[course_index(p, c)]++;
		if (ex.state == PAIR_REGISTERED)
			u.ids[seats_freed++] = u.ids[i];
		struct row *r = extra_row(p, c, student, 0);
		r->status = STATUS_DROPPED;
		r->position = position;
		snprintf(r->detail, sizeof(r->detail), "not in the roster");
		st = emit(ctx, r, err);
	}
	for (size_t k = 0; st == ST_OK && seat_free(c) && c->waitlisted > 0; k++) {
		struct seat_cause why = { .reason = "not in the roster" };
		if (k < seats_freed) {
			why.student = u.buf + (uintptr_t)u.ids[k].s;
			why.student_len = u.ids[k].len;
		} else {
			why.reason = "freed in the course";
		}
		st = promote_one(p, c, &why, emit, ctx, err);
	}
	free(u.ids);
	free(u.buf);
	return st;
}

enum status policy_finish_rows(struct policy *p, policy_emit_fn emit,
			       void *ctx, struct error *err)
{
	if (!p->opt.sync)
		return ST_OK;
	enum status st = ST_OK;
	for (size_t i = 0; st == ST_OK && i < p->courses->count; i++)
		if (p->in_scope[i])
			st = sync_course(p, &p->courses->items[i], emit, ctx, err);
	return st;
}

int64_t policy_sync_pairs_before(const struct policy *p)
{
	int64_t n = 0;
	for (size_t i = 0; i < p->courses->count; i++)
		if (p->in_scope[i])
			n += p->pairs_before[i];
	return n;
}

int64_t policy_sync_drops(const struct policy *p)
{
	int64_t n = 0;
	for (size_t i = 0; i < p->courses->count; i++)
		n += p->sync_drops[i];
	return n;
}

void policy_sync_drops_each(const struct policy *p,
			    void (*fn)(void *ctx, const char *code,
				       int64_t drops),
			    void *ctx)
{
	for (size_t i = 0; i < p->courses->count; i++)
		if (p->sync_drops[i])
			fn(ctx, p->courses->items[i].code, p->sync_drops[i]);
}

/* ---- capacity ------------------------------------------------------------ */

enum status policy_promote_all(struct policy *p, const char *cause,
			       policy_emit_fn emit, void *ctx,
			       struct error *err)
{
	enum status st = ST_OK;
	for (size_t i = 0; st == ST_OK && i < p->courses->count; i++) {
		struct course *c = &p->courses->items[i];
		char reason[COURSE_CODE_MAX + 64]; /* codes: up to 255 bytes (issue 12) */
		if (cause)
			snprintf(reason, sizeof(reason), "%s", cause);
		else
			snprintf(reason, sizeof(reason),
				 "added to %s (capacity %" PRId64 ")", c->code,
				 c->capacity);
		struct seat_cause why = { .reason = reason };
		st = course_ready(p, c, err);
		if (st == ST_OK)
			st = promote_while_free(p, c, &why, emit, ctx, err);
	}
	return st;
}

enum status policy_store_courses(struct policy *p, struct error *err)
{
	enum status st = ST_OK;
	for (size_t i = 0; st == ST_OK && i < p->courses->count; i++) {
		const struct course *c = &p->courses->items[i];
		if (!c->touched)
			continue;
		st = store_course_snapshot(p->store, p->opt.batch_id, c->id, err);
		if (st == ST_OK && p->waitlists[i].gaps)
			st = store_waitlist_renumber(p->store, c->id, err);
		if (st == ST_OK)
			st = store_course_counts(p->store, c, err);
	}
	return st;
}
