/* courses: the in-memory course table with a hash index on code; see courses.h. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courses.h"
#include "escape.h"
#include "hint.h"

#define INDEX_MIN 16

static void hints_free(struct course_table *t);

static uint32_t code_hash(const char *code, size_t len)
{
	/* FNV-1a, 32 bits: codes are short and the index is small. */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)code[i];
		h *= 16777619u;
	}
	return h;
}

static bool code_equals(const struct course *c, const char *code, size_t len)
{
	/* len <= COURSE_CODE_MAX, so c->code[len] is inside the array. */
	return memcmp(c->code, code, len) == 0 && c->code[len] == '\0';
}

/* The slot holding `code`, or the empty slot where it would go. */
static size_t index_slot(const struct course_table *t, const char *code,
			 size_t len)
{
	size_t mask = t->index_size - 1;
	size_t i = code_hash(code, len) & mask;
	while (t->index[i] != 0) {
		if (code_equals(&t->items[t->index[i] - 1], code, len))
			break;
		i = (i + 1) & mask;
	}
	return i;
}

/* Rebuilds the index at `size` slots; false (index unchanged) on ENOMEM. */
static bool index_resize(struct course_table *t, size_t size)
{
	uint32_t *index = calloc(size, sizeof(*index));
	if (!index)
		return false;
	free(t->index);
	t->index = index;
	t->index_size = size;
	for (size_t n = 0; n < t->count; n++) {
		const char *code = t->items[n].code;
		size_t i = index_slot(t, code, strlen(code));
		t->index[i] = (uint32_t)(n + 1);
	}
	return true;
}

/* Makes room for one more item and keeps the index at most half full. */
static bool table_reserve(struct course_table *t)
{
	if (t->count + 1 >= UINT32_MAX)
		return false;
	if (t->count == t->alloc) {
		size_t alloc = t->alloc ? t->alloc * 2 : 16;
		struct course *items = realloc(t->items, alloc * sizeof(*items));
		if (!items)
			return false;
		t->items = items;
		t->alloc = alloc;
	}
	if ((t->count + 1) * 2 > t->index_size) {
		size_t size = t->index_size ? t->index_size * 2 : INDEX_MIN;
		if (!index_resize(t, size))
			return false;
	}
	return true;
}

void course_table_init(struct course_table *t)
{
	memset(t, 0, sizeof(*t));
	atomic_init(&t->hints, NULL);
}

enum status course_table_add(struct course_table *t, const struct course *c,
			     struct error *err)
{
	size_t len = strnlen(c->code, sizeof(c->code));
	if (len == sizeof(c->code))
		return error_set(err, ST_INPUT, "course code '%.*s...' is too long",
				 COURSE_CODE_MAX, c->code);
	if (course_table_find(t, c->code, len))
		return error_set(err, ST_INPUT, "course '%s' is listed twice",
				 c->code);
	char *title = strdup(c->title ? c->title : "");
	if (!title || !table_reserve(t)) {
		free(title);
		return error_set(err, ST_NOMEM, "out of memory adding course '%s'",
				 c->code);
	}
	struct course *item = &t->items[t->count];
	*item = *c;
	item->title = title;
	t->index[index_slot(t, c->code, len)] = (uint32_t)(t->count + 1);
	t->count++;
	hints_free(t); /* a suggestion may change */
	atomic_store(&t->hints, NULL);
	return ST_OK;
}

struct course *course_table_find(const struct course_table *t, const char *code,
				 size_t len)
{
	if (t->count == 0 || len > COURSE_CODE_MAX)
		return NULL;
	uint32_t n = t->index[index_slot(t, code, len)];
	return n ? &t->items[n - 1] : NULL;
}

/* ---- did you mean -------------------------------------------------------- */

#define HINT_SLOTS 8192 /* the memo keeps at most 3/4 of them */

struct hint {
	char *code;       /* NULL: an empty slot */
	size_t len;
	struct course_suggestions found; /* item numbers in `item` */
};

struct course_hints {
	pthread_mutex_t lock;
	size_t used;
	struct hint slots[HINT_SLOTS];
};

/* Puts item n among the found ones, in code order; one more than
 * COURSE_SUGGEST_MAX is kept only as a count. */
static void found_add(const struct course_table *t,
		      struct course_suggestions *f, size_t n)
{
	size_t k = f->count < COURSE_SUGGEST_MAX ? f->count : COURSE_SUGGEST_MAX;
	f->count++;
	if (f->count > COURSE_SUGGEST_MAX)
		return;
	while (k > 0 && strcmp(t->items[n].code,
			       t->items[f->item[k - 1]].code) < 0) {
		f->item[k] = f->item[k - 1];
		k--;
	}
	f->item[k] = (uint32_t)n;
}

/* The search itself: every known code; those at the smallest distance
 * kept, none if there are more than COURSE_SUGGEST_MAX of them.  A code
 * more than half of which would have to change is like no other. */
static struct course_suggestions suggest_search(const struct course_table *t,
						const char *code, size_t len)
{
	struct course_suggestions f = {0};
	/* Codes are compared as a reader sees them (hint_skeleton): an
	 * accent written another way, a dash or an invisible character do
	 * not count. */
	char want[COURSE_CODE_MAX], have[COURSE_CODE_MAX];
	size_t wlen = hint_skeleton(code, len, want, NULL);
	size_t chars = hint_length(want, wlen); /* half of it: in characters */
	size_t far = HINT_DISTANCE_MAX < chars / 2 ? HINT_DISTANCE_MAX : chars / 2;
	size_t best_d = far;
	for (size_t n = 0; n < t->count; n++) {
		const char *c = t->items[n].code;
		size_t clen = strlen(c);
		if (clen > COURSE_CODE_MAX)
			continue;
		size_t d = hint_distance(want, wlen, have,
					 hint_skeleton(c, clen, have, NULL));
		if (d > far)
			continue;
		if (d < best_d)
			f.count = 0;
		if (d <= best_d) {
			best_d = d;
			found_add(t, &f, n);
		}
	}
	if (f.count > COURSE_SUGGEST_MAX)
		f.count = 0;
	return f;
}

static struct course_hints *hints_get(const struct course_table *ct)
{
	struct course_table *t = (struct course_table *)ct; /* the memo only */
	struct course_hints *h = atomic_load(&t->hints);
	if (h)
		return h;
	struct course_hints *made = calloc(1, sizeof(*made));
	if (!made)
		return NULL;
	if (pthread_mutex_init(&made->lock, NULL) != 0) {
		free(made);
		return NULL;
	}
	if (atomic_compare_exchange_strong(&t->hints, &h, made))
		return made;
	pthread_mutex_destroy(&made->lock);
	free(made);
	return h; /* another thread's */
}

size_t course_table_suggest_all(const struct course_table *t,
				const char *code, size_t len,
				const struct course *out[COURSE_SUGGEST_MAX])
{
	if (t->count == 0 || len == 0 || len > COURSE_CODE_MAX)
		return 0;
	struct course_hints *h = hints_get(t);
	struct course_suggestions f;
	if (!h) { /* out of memory: no memo */
		f = suggest_search(t, code, len);
	} else {
		size_t i = code_hash(code, len) & (HINT_SLOTS - 1);
		pthread_mutex_lock(&h->lock);
		while (h->slots[i].code &&
		       (h->slots[i].len != len ||
			memcmp(h->slots[i].code, code, len) != 0))
			i = (i + 1) & (HINT_SLOTS - 1);
		if (h->slots[i].code) {
			f = h->slots[i].found;
		} else {
			/* Searched under the lock: the same code from another
			 * worker waits for this answer instead of searching
			 * again. */
			f = suggest_search(t, code, len);
			char *copy = h->used < HINT_SLOTS / 4 * 3 ? malloc(len) :
								    NULL;
			if (copy) {
				memcpy(copy, code, len);
				h->slots[i] = (struct hint){copy, len, f};
				h->used++;
			}
		}
		pthread_mutex_unlock(&h->lock);
	}
	for (size_t k = 0; k < f.count; k++)
		out[k] = &t->items[f.item[k]];
	return f.count;
}

const struct course *course_table_suggest(const struct course_table *t,
					  const char *code, size_t len)
{
	const struct course *found[COURSE_SUGGEST_MAX];
	return course_table_suggest_all(t, code, len, found) ? found[0] : NULL;
}

void course_table_hint(char *out, size_t cap, const struct course_table *t,
		       const char *code, size_t len)
{
	const struct course *found[COURSE_SUGGEST_MAX];
	size_t n = course_table_suggest_all(t, code, len, found);
	char shown[ESC_TEXT_MAX(COURSE_CODE_MAX)];
	if (cap == 0)
		return;
	out[0] = '\0';
	size_t used = 0;
	for (size_t k = 0; k < n && used < cap; k++) {
		size_t m = esc_text(shown, found[k]->code, strlen(found[k]->code),
				    0, true, NULL);
		int w = snprintf(out + used, cap - used, "%s%.*s%s",
				 k == 0 ? "; did you mean " :
				 k + 1 == n ? " or " : ", ",
				 (int)m, shown, k + 1 == n ? "?" : "");
		if (w < 0)
			break;
		used += (size_t)w;
	}
	/* A code that reads as the one suggested: say what differs, or
	 * the two look the same in the message. */
	if (n != 1) /* none for a code over COURSE_CODE_MAX: want fits it */
		return;
	char want[COURSE_CODE_MAX], have[COURSE_CODE_MAX];
	uint32_t changed;
	size_t wlen = hint_skeleton(code, len, want, &changed);
	if (changed && used < cap &&
	    hint_skeleton(found[0]->code, strlen(found[0]->code), have, NULL) ==
		    wlen &&
	    memcmp(want, have, wlen) == 0) {
		char why[128];
		hint_why(why, sizeof(why), changed);
		snprintf(out + used, cap - used, " (this one holds %s)", why);
	}
}

static void hints_free(struct course_table *t)
{
	struct course_hints *h = atomic_load(&t->hints);
	if (!h)
		return;
	for (size_t i = 0; i < HINT_SLOTS; i++)
		free(h->slots[i].code);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void course_table_free(struct course_table *t)
{
	hints_free(t);
	for (size_t n = 0; n < t->count; n++)
		free(t->items[n].title);
	free(t->items);
	free(t->index);
	course_table_init(t);
}

void course_over_capacity_message(char *out, size_t cap, const struct course *c,
				  bool would)
{
	/* A dry run says what a real run would do (review 18, C3 d). */
	const char *be = would ? " would be" : "", *keeps = would ? "would keep" :
								   "keeps";
	char over[32], capacity[32];
	/* Counts with separators, as in the reports (README "Numbers"). */
	if (c->capacity == 0)
		snprintf(out, cap,
			 "%s: %s%s registered over its capacity of 0 "
			 "(everyone %s their seat; no one is promoted while "
			 "the capacity is 0)",
			 c->code, text_group_digits(c->registered, over), be, keeps);
	else
		snprintf(out, cap,
			 "%s: %s%s registered over its capacity of %s"
			 " (everyone %s their seat; no one is promoted until "
			 "a seat is free)",
			 c->code, text_group_digits(c->registered - c->capacity, over),
			 be, text_group_digits(c->capacity, capacity), keeps);
}
