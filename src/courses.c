/* courses: the in-memory course table with a hash index on code; see courses.h. */
#include <stdlib.h>
#include <string.h>

#include "courses.h"
#include "validate.h"

#define INDEX_MIN 16

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

void course_table_free(struct course_table *t)
{
	for (size_t n = 0; n < t->count; n++)
		free(t->items[n].title);
	free(t->items);
	free(t->index);
	course_table_init(t);
}

bool course_code_valid(const char *code, size_t len)
{
	char why[96];
	return id_check(code, len, why, sizeof(why));
}
