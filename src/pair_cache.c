/* pair_cache: what a batch knows of pairs and students, in memory; see pair_cache.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pair_cache.h"
#include "splitmix.h"

/*
 * Entries and texts live in chunks that never move: memory follows the
 * count (no doubling to copy into), and a pointer to an entry or a text
 * stays good until pcache_clear.  The indexes are open addressing with
 * linear probing (struct table).
 */
/* Chunks of 2 MiB, aligned and marked for transparent huge pages: a look-up
 * is a few random reads over tens of MiB, and with 4 KiB pages each was a
 * TLB miss too. */
#define CHUNK_BYTES ((size_t)2 << 20)
#define PAIRS_PER_CHUNK ((uint32_t)(CHUNK_BYTES / sizeof(struct pc_pair)))
#define STUDENTS_PER_CHUNK ((uint32_t)(CHUNK_BYTES / sizeof(struct pc_student)))
#define TEXT_CHUNK_SHIFT 21 /* a text offset is chunk << 21 | at */
#define TEXT_CHUNK ((uint32_t)1 << TEXT_CHUNK_SHIFT)
#define TEXT_CHUNKS_MAX ((uint32_t)1 << (32 - TEXT_CHUNK_SHIFT))

/* An index slot: the entry's number + 1 in the low 24 bits (0: empty),
 * 8 bits of its hash above, so a probe reads the entry only when they
 * match.  Hence at most ENTRIES_MAX entries of each kind. */
struct table {
	uint32_t *slots;
	size_t size; /* power of two, or 0 */
};

#define SLOT_INDEX_BITS 24
#define SLOT_INDEX_MASK ((UINT32_C(1) << SLOT_INDEX_BITS) - 1)
#define ENTRIES_MAX PCACHE_ENTRIES_MAX
_Static_assert(PCACHE_ENTRIES_MAX < SLOT_INDEX_MASK, "slot index bits");

static uint32_t slot_tag(uint64_t h)
{
	return (uint32_t)(h >> 56) << SLOT_INDEX_BITS;
}

struct chunks {
	void **items;
	size_t count, cap; /* chunk pointers */
};

/*
 * The students restarts forgot, sorted by a hash of the id, each with a
 * check -- the hash of its values mixed with a second, independent hash of
 * its id -- and its created batch.  A roster bigger than the budget names
 * most students again after a restart; one whose row carries the values
 * it was written with is then known stored without a B-tree descent
 * (2.4M descents were half of a 5M-row first run).  16 bytes a student:
 * the hash's top 16 bits are its bucket (dir), the next 32 are kept.  Two
 * ids with those 48 bits alike share an entry, whose check then fails for
 * one of them: a look-up, never a wrong answer; an id absent from it was
 * not written by this batch.
 */
#define FORGOTTEN_DIR_BITS 16
struct forgotten {
	/* One block: checks, then ids (hash bits 16..47), then created. */
	uint64_t *checks;
	uint32_t *ids, *created;
	size_t n, cap;
	uint32_t *dir; /* 2^FORGOTTEN_DIR_BITS + 1: bucket b starts at dir[b] */
};

struct pcache {
	uint64_t seed;
	struct chunks students, pairs, texts;
	uint32_t nstudents, npairs;
	uint32_t text_used; /* in the last text chunk */
	struct table student_index, pair_index;
	/* The last student and pair found: a row asks about the same ones
	 * several times (its pair, its mark, its student), and each probe of
	 * a big index is a miss of the processor's caches. */
	uint32_t last_student, last_pair; /* index + 1; 0: none */
	bool indexes_dropped;
	struct pc_course *courses; /* by course id */
	size_t courses_cap;
	/* What restarts forgot (pcache_restart): a Bloom filter of the
	 * pairs, the students exactly -- those past the list's room in a
	 * second Bloom filter. */
	uint64_t *pair_filter, *student_filter;
	struct forgotten students_forgotten;
	/* Every student's rank in id order, from pcache_sort_students for
	 * the pairs' sort of the same flush (valid while nranked equals
	 * nstudents): one sort of the ids instead of two. */
	uint32_t *ranks, nranked;
	size_t bytes;
};

static uint64_t hash_bytes(uint64_t h, const char *s, size_t len)
{
	uint64_t w;
	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = splitmix64(h ^ w);
	}
	w = (uint64_t)len << 56; /* the length separates values */
	if (len)
		memcpy(&w, s, len);
	return splitmix64(h ^ w);
}

static uint64_t hash_pair(uint64_t seed, uint32_t course, uint32_t student)
{
	return splitmix64(seed ^ (((uint64_t)course << 32) | student));
}

struct pcache *pcache_new(uint64_t seed)
{
	struct pcache *c = calloc(1, sizeof(*c));
	if (c)
		c->seed = seed;
	return c;
}

static void big_free(void *p, size_t size);

/* Every chunk is CHUNK_BYTES (TEXT_CHUNK is the same). */
_Static_assert(((size_t)1 << TEXT_CHUNK_SHIFT) == CHUNK_BYTES, "text chunks");
static void chunks_free(struct chunks *ch)
{
	for (size_t i = 0; i < ch->count; i++)
		big_free(ch->items[i], CHUNK_BYTES);
	free(ch->items);
}

#define FORGOTTEN_ENTRY_BYTES (sizeof(uint64_t) + 2 * sizeof(uint32_t))

static void forgotten_free(struct forgotten *f)
{
	free(f->checks);
	free(f->dir);
	*f = (struct forgotten){0};
}

/* Frees the pairs and their index (the cache holds none after). */
static void pairs_clear(struct pcache *c)
{
	chunks_free(&c->pairs);
	c->pairs = (struct chunks){0};
	big_free(c->pair_index.slots,
		 c->pair_index.size * sizeof(*c->pair_index.slots));
	c->pair_index = (struct table){0};
	c->npairs = 0;
	c->last_pair = 0;
}

void pcache_clear(struct pcache *c)
{
	if (!c)
		return;
	pairs_clear(c);
	chunks_free(&c->students);
	chunks_free(&c->texts);
	big_free(c->student_index.slots,
		 c->student_index.size * sizeof(*c->student_index.slots));
	free(c->courses);
	free(c->pair_filter);
	free(c->student_filter);
	forgotten_free(&c->students_forgotten);
	free(c->ranks);
	uint64_t seed = c->seed;
	memset(c, 0, sizeof(*c));
	c->seed = seed;
}

void pcache_free(struct pcache *c)
{
	pcache_clear(c);
	free(c);
}

void pcache_drop_indexes(struct pcache *c)
{
	c->bytes -= c->student_index.size * sizeof(*c->student_index.slots) +
		    c->pair_index.size * sizeof(*c->pair_index.slots);
	big_free(c->student_index.slots,
		 c->student_index.size * sizeof(*c->student_index.slots));
	big_free(c->pair_index.slots,
		 c->pair_index.size * sizeof(*c->pair_index.slots));
	c->student_index = (struct table){0};
	c->pair_index = (struct table){0};
	c->indexes_dropped = true;
}

size_t pcache_bytes(const struct pcache *c)
{
	return c->bytes;
}

/* ---- growing ------------------------------------------------------------- */

/* size bytes, zeroed; from 2 MiB up, mapped on their own (freed memory
 * goes back to the system: malloc kept a restarted cache's chunks, and
 * the process grew with every restart), 2 MiB-aligned and on huge pages
 * where the kernel gives them (madvise mode). */
static void *big_alloc(size_t size)
{
	if (size < CHUNK_BYTES)
		return calloc(1, size);
	size_t rounded = (size + CHUNK_BYTES - 1) & ~(CHUNK_BYTES - 1);
	char *p = mmap(NULL, rounded + CHUNK_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	size_t head = (CHUNK_BYTES - ((uintptr_t)p & (CHUNK_BYTES - 1))) &
		      (CHUNK_BYTES - 1);
	if (head)
		munmap(p, head);
	munmap(p + head + rounded, CHUNK_BYTES - head);
#ifdef MADV_HUGEPAGE
	madvise(p + head, rounded, MADV_HUGEPAGE); /* a hint: or 4 KiB pages */
#endif
	return p + head;
}

static void big_free(void *p, size_t size)
{
	if (!p)
		return;
	if (size < CHUNK_BYTES) {
		free(p);
		return;
	}
	munmap(p, (size + CHUNK_BYTES - 1) & ~(CHUNK_BYTES - 1));
}

/* Adds a chunk of `size` bytes; NULL: out of memory. */
static void *chunk_add(struct pcache *c, struct chunks *ch, size_t size)
{
	if (ch->count == ch->cap) {
		size_t n = ch->cap ? 2 * ch->cap : 16;
		void **p = realloc(ch->items, n * sizeof(*p));
		if (!p)
			return NULL;
		ch->items = p;
		ch->cap = n;
	}
	void *chunk = big_alloc(size);
	if (!chunk)
		return NULL;
	ch->items[ch->count++] = chunk;
	c->bytes += size;
	return chunk;
}

/* Room for entry number n (a new chunk when it starts one). */
static bool entry_room(struct pcache *c, struct chunks *ch, uint32_t n,
		       uint32_t per_chunk)
{
	if (n == PC_NONE - 1)
		return false;
	if (n / per_chunk < ch->count)
		return true;
	return chunk_add(c, ch, CHUNK_BYTES) != NULL;
}

/* Room in t for `want` entries at most 85% full (entries 0..count-1 are
 * in it now): grows t to the power of two it needs (at least twice its
 * size, or 4096), rebuilt from the entries' hashes. */
static bool table_reserve(struct pcache *c, struct table *t, uint32_t count,
			  size_t want,
			  uint64_t (*hash_of)(const struct pcache *, uint32_t))
{
	if (want * 20 <= t->size * 17)
		return true;
	size_t size = t->size ? 2 * t->size : 4096;
	while (want * 20 > size * 17)
		size *= 2;
	uint32_t *slots = big_alloc(size * sizeof(*slots));
	if (!slots)
		return false;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t h = hash_of(c, i);
		size_t at = (size_t)h & (size - 1);
		while (slots[at])
			at = (at + 1) & (size - 1);
		slots[at] = slot_tag(h) | (i + 1);
	}
	big_free(t->slots, t->size * sizeof(*slots));
	c->bytes += (size - t->size) * sizeof(*slots);
	t->slots = slots;
	t->size = size;
	return true;
}

static bool table_room(struct pcache *c, struct table *t, uint32_t count,
		       uint64_t (*hash_of)(const struct pcache *, uint32_t))
{
	if (count >= ENTRIES_MAX)
		return false;
	return table_reserve(c, t, count, (size_t)count + 1, hash_of);
}

static void table_put(struct table *t, uint64_t h, uint32_t idx)
{
	size_t at = (size_t)h & (t->size - 1);
	while (t->slots[at])
		at = (at + 1) & (t->size - 1);
	t->slots[at] = slot_tag(h) | (idx + 1);
}

/* ---- texts --------------------------------------------------------------- */

const char *pcache_text(const struct pcache *c, uint32_t off)
{
	return (const char *)c->texts.items[off >> TEXT_CHUNK_SHIFT] +
	       (off & (TEXT_CHUNK - 1));
}

/* Room for len bytes in one chunk; its offset, or PC_NONE. */
static uint32_t text_room(struct pcache *c, size_t len)
{
	if (len > TEXT_CHUNK)
		return PC_NONE;
	if (!c->texts.count || c->text_used + len > TEXT_CHUNK) {
		if (c->texts.count == TEXT_CHUNKS_MAX ||
		    !chunk_add(c, &c->texts, TEXT_CHUNK))
			return PC_NONE;
		c->text_used = 0;
	}
	uint32_t off = (uint32_t)((c->texts.count - 1) << TEXT_CHUNK_SHIFT) |
		       c->text_used;
	c->text_used += (uint32_t)len;
	return off;
}

/* ---- students ------------------------------------------------------------ */

struct pc_student *pcache_student_at(struct pcache *c, uint32_t idx)
{
	return (struct pc_student *)c->students.items[idx / STUDENTS_PER_CHUNK] +
	       idx % STUDENTS_PER_CHUNK;
}

static uint64_t student_hash_at(const struct pcache *c, uint32_t i)
{
	const struct pc_student *s =
		pcache_student_at((struct pcache *)c, i);
	return hash_bytes(c->seed, pcache_student_id(c, s), s->id_len);
}

/* The student whose id hashes to h, without creating it or moving the
 * memo; PC_NONE when absent. */
static uint32_t student_probe(const struct pcache *c, const char *id,
			      size_t len, uint64_t h)
{
	const struct table *t = &c->student_index;
	uint32_t tag = slot_tag(h);
	for (size_t at = (size_t)h & (t->size - 1);; at = (at + 1) & (t->size - 1)) {
		uint32_t v = t->slots[at];
		if (!v)
			return PC_NONE;
		if ((v & ~SLOT_INDEX_MASK) != tag)
			continue;
		uint32_t i = (v & SLOT_INDEX_MASK) - 1;
		const struct pc_student *s = pcache_student_at((struct pcache *)c, i);
		if (s->id_len == len && memcmp(pcache_student_id(c, s), id, len) == 0)
			return i;
	}
}

uint32_t pcache_student(struct pcache *c, const char *id, size_t len,
			bool create)
{
	if (c->indexes_dropped)
		abort(); /* pcache_drop_indexes: no more look-ups */
	if (len > UINT16_MAX)
		return PC_NONE;
	if (c->last_student) {
		const struct pc_student *s = pcache_student_at(c, c->last_student - 1);
		if (s->id_len == len &&
		    (len == 0 || memcmp(pcache_student_id(c, s), id, len) == 0))
			return c->last_student - 1;
	}
	uint64_t h = hash_bytes(c->seed, id, len);
	struct table *t = &c->student_index;
	uint32_t found = t->size ? student_probe(c, id, len, h) : PC_NONE;
	if (found != PC_NONE) {
		c->last_student = found + 1;
		return found;
	}
	if (!create ||
	    !entry_room(c, &c->students, c->nstudents, STUDENTS_PER_CHUNK) ||
	    !table_room(c, t, c->nstudents, student_hash_at))
		return PC_NONE;
	struct pc_student e = { .id_len = (uint16_t)len };
	if (len <= PC_ID_INLINE) {
		if (len)
			memcpy(e.id.bytes, id, len);
	} else {
		e.id.off = text_room(c, len);
		if (e.id.off == PC_NONE)
			return PC_NONE;
		memcpy((char *)pcache_text(c, e.id.off), id, len);
	}
	uint32_t idx = c->nstudents++;
	*pcache_student_at(c, idx) = e;
	table_put(t, h, idx);
	c->last_student = idx + 1;
	return idx;
}

const char *pcache_student_id(const struct pcache *c, const struct pc_student *s)
{
	return s->id_len <= PC_ID_INLINE ? s->id.bytes : pcache_text(c, s->id.off);
}


void pcache_rows_prefetch(const struct pcache *c, const char *const *ids,
			  const size_t *lens, const uint32_t *courses, size_t n)
{
	const struct table *t = &c->student_index;
	const struct table *pt = &c->pair_index;
	if (!t->size || c->indexes_dropped || n > PCACHE_PREFETCH_MAX)
		return;
	uint64_t h[PCACHE_PREFETCH_MAX];
	for (size_t i = 0; i < n; i++) {
		h[i] = hash_bytes(c->seed, ids[i], lens[i]);
		__builtin_prefetch(&t->slots[h[i] & (t->size - 1)]);
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t v = t->slots[h[i] & (t->size - 1)];
		if (v && (v & ~SLOT_INDEX_MASK) == slot_tag(h[i]))
			__builtin_prefetch(pcache_student_at((struct pcache *)c,
							     (v & SLOT_INDEX_MASK) - 1));
	}
	if (!courses || !pt->size)
		return;
	/* The entries are at hand now: the students' indexes name the pairs,
	 * whose slots, then entries, come next. */
	for (size_t i = 0; i < n; i++) {
		uint32_t sidx = student_probe(c, ids[i], lens[i], h[i]);
		h[i] = sidx == PC_NONE ? 0 : hash_pair(c->seed, courses[i], sidx);
		if (sidx != PC_NONE)
			__builtin_prefetch(&pt->slots[h[i] & (pt->size - 1)]);
	}
	for (size_t i = 0; i < n; i++) {
		if (!h[i])
			continue;
		uint32_t v = pt->slots[h[i] & (pt->size - 1)];
		if (v && (v & ~SLOT_INDEX_MASK) == slot_tag(h[i]))
			__builtin_prefetch(pcache_pair_at((struct pcache *)c,
							  (v & SLOT_INDEX_MASK) - 1));
	}
}

void pcache_student_prefetch(const struct pcache *c, uint32_t idx)
{
	__builtin_prefetch(pcache_student_at((struct pcache *)c, idx));
}

void pcache_student_texts_prefetch(const struct pcache *c, uint32_t idx)
{
	const struct pc_student *s = pcache_student_at((struct pcache *)c, idx);
	if (s->id_len > PC_ID_INLINE)
		__builtin_prefetch(pcache_text(c, s->id.off));
	size_t len = (size_t)s->len[0] + s->len[1] + s->len[2];
	if (len) { /* often across two lines of the processor's cache */
		const char *val = pcache_text(c, s->val_off);
		__builtin_prefetch(val);
		__builtin_prefetch(val + len - 1);
	}
}

uint32_t pcache_student_count(const struct pcache *c)
{
	return c->nstudents;
}

bool pcache_student_values(struct pcache *c, uint32_t idx, const char *v[3],
			   const size_t len[3])
{
	size_t total = 0;
	for (int i = 0; i < 3; i++) {
		if (len[i] > UINT16_MAX)
			return false;
		total += len[i];
	}
	/* Texts never move, so values may be the cache's own (stored values
	 * merged with a row's) and still be read after the room is made. */
	uint32_t off = text_room(c, total);
	if (off == PC_NONE)
		return false;
	char *to = (char *)pcache_text(c, off);
	const char *at = to;
	struct pc_student *s = pcache_student_at(c, idx);
	for (int i = 0; i < 3; i++) {
		if (len[i])
			memmove(to, v[i], len[i]);
		to += len[i];
		s->len[i] = (uint16_t)len[i];
	}
	s->val_off = off;
	/* From the copies: v may have been the cache's own texts. */
	const char *copied[3] = { at, at + len[0], at + len[0] + len[1] };
	uint64_t h = pcache_values_hash(c, copied, len);
	s->val_hash_lo = (uint32_t)h;
	s->val_hash_hi = (uint32_t)(h >> 32);
	return true;
}

uint64_t pcache_values_hash(const struct pcache *c, const char *const v[3],
			    const size_t len[3])
{
	uint64_t h = c->seed ^ UINT64_C(0x76616c756573); /* "values" */
	for (int i = 0; i < 3; i++)
		h = hash_bytes(h, v[i], len[i]);
	return h;
}

static uint64_t student_values_hash(const struct pc_student *s)
{
	return (uint64_t)s->val_hash_hi << 32 | s->val_hash_lo;
}

bool pcache_student_values_hash_is(const struct pcache *c, uint32_t idx,
				   uint64_t h)
{
	return student_values_hash(pcache_student_at((struct pcache *)c, idx)) == h;
}

/* ---- pairs --------------------------------------------------------------- */

struct pc_pair *pcache_pair_at(struct pcache *c, uint32_t i)
{
	return (struct pc_pair *)c->pairs.items[i / PAIRS_PER_CHUNK] +
	       i % PAIRS_PER_CHUNK;
}

void pcache_pair_prefetch(const struct pcache *c, uint32_t idx)
{
	__builtin_prefetch(pcache_pair_at((struct pcache *)c, idx));
}

void pcache_pair_student_prefetch(const struct pcache *c, uint32_t idx)
{
	const struct pc_pair *p = pcache_pair_at((struct pcache *)c, idx);
	__builtin_prefetch(pcache_student_at((struct pcache *)c, p->student));
}

static uint64_t pair_hash_at(const struct pcache *c, uint32_t i)
{
	const struct pc_pair *p = pcache_pair_at((struct pcache *)c, i);
	return hash_pair(c->seed, p->course, p->student);
}

bool pcache_reserve(struct pcache *c, size_t students, size_t pairs)
{
	if (c->indexes_dropped)
		abort(); /* pcache_drop_indexes: no more look-ups */
	size_t want_s = (size_t)c->nstudents + students;
	size_t want_p = (size_t)c->npairs + pairs;
	if (want_s > ENTRIES_MAX || want_p > ENTRIES_MAX)
		return false;
	return table_reserve(c, &c->student_index, c->nstudents, want_s,
			     student_hash_at) &&
	       table_reserve(c, &c->pair_index, c->npairs, want_p, pair_hash_at);
}

struct pc_pair *pcache_pair(struct pcache *c, uint32_t course, uint32_t student,
			    bool create, uint32_t *index)
{
	if (c->indexes_dropped)
		abort(); /* pcache_drop_indexes: no more look-ups */
	if (c->last_pair) {
		struct pc_pair *p = pcache_pair_at(c, c->last_pair - 1);
		if (p->course == course && p->student == student) {
			if (index)
				*index = c->last_pair - 1;
			return p;
		}
	}
	uint64_t h = hash_pair(c->seed, course, student);
	struct table *t = &c->pair_index;
	if (t->size) {
		size_t at = (size_t)h & (t->size - 1);
		uint32_t tag = slot_tag(h);
		for (uint32_t v; (v = t->slots[at]) != 0; at = (at + 1) & (t->size - 1)) {
			if ((v & ~SLOT_INDEX_MASK) != tag)
				continue;
			uint32_t i = (v & SLOT_INDEX_MASK) - 1;
			struct pc_pair *p = pcache_pair_at(c, i);
			if (p->course == course && p->student == student) {
				if (index)
					*index = i;
				c->last_pair = i + 1;
				return p;
			}
		}
	}
	if (!create ||
	    !entry_room(c, &c->pairs, c->npairs, PAIRS_PER_CHUNK) ||
	    !table_room(c, t, c->npairs, pair_hash_at))
		return NULL;
	uint32_t idx = c->npairs++;
	struct pc_pair *p = pcache_pair_at(c, idx);
	*p = (struct pc_pair){ .course = course, .student = student };
	table_put(t, h, idx);
	if (index)
		*index = idx;
	c->last_pair = idx + 1;
	return p;
}

uint32_t pcache_pair_count(const struct pcache *c)
{
	return c->npairs;
}

/* ---- courses ------------------------------------------------------------- */

struct pc_course *pcache_course(struct pcache *c, int64_t course)
{
	if (course < 1 || course > (int64_t)PCACHE_COURSE_MAX)
		return NULL;
	if ((size_t)course >= c->courses_cap) {
		size_t n = c->courses_cap ? c->courses_cap : 256;
		while (n <= (size_t)course)
			n *= 2;
		struct pc_course *p = realloc(c->courses, n * sizeof(*p));
		if (!p)
			return NULL;
		for (size_t i = c->courses_cap; i < n; i++)
			p[i] = (struct pc_course){ .stored_pairs = -1 };
		c->bytes += (n - c->courses_cap) * sizeof(*p);
		c->courses = p;
		c->courses_cap = n;
	}
	return &c->courses[course];
}

/* ---- what restarts forgot ------------------------------------------------ */

/* 2^25 bits (4 MiB) for pairs: at 5M rows (4.2M pairs) about 8 bits an
 * entry, a false positive in some 30 look-ups (each costs a look-up).
 * Blocked: an entry's probes all fall in one 64-byte line, so a look-up
 * is one miss of the processor's caches, not one a probe (seven were 5%
 * of a 5M-row run). */
#define PAIR_FILTER_BITS 25
#define FILTER_PROBES 6
/* 2 MiB for the students past the forgotten list's room. */
#define STUDENT_FILTER_BITS 24

static uint64_t id_hash(const struct pcache *c, const char *id, size_t len)
{
	return hash_bytes(c->seed ^ UINT64_C(0x5851F42D4C957F2D), id, len);
}

/* The check of a forgotten student: its values' hash and a second hash
 * of its id, keyed apart from id_hash. */
static uint64_t forgotten_check(const struct pcache *c, const char *id,
				size_t len, uint64_t values_hash)
{
	return splitmix64(values_hash ^
			  hash_bytes(c->seed ^ UINT64_C(0x636865636b), id, len));
}

static uint64_t pair_key_hash(const struct pcache *c, uint32_t course,
			      const char *id, size_t len)
{
	return splitmix64(id_hash(c, id, len) ^ ((uint64_t)course * SPLITMIX64_GAMMA));
}

/* The filter's line for h: 8 words. */
static uint64_t *filter_line(const uint64_t *f, unsigned bits, uint64_t h)
{
	return (uint64_t *)f + ((h & (((uint64_t)1 << (bits - 9)) - 1)) << 3);
}

static void filter_add(uint64_t *f, unsigned bits, uint64_t h)
{
	uint64_t *line = filter_line(f, bits, h);
	uint64_t at = splitmix64(h); /* 9 bits a probe */
	for (int i = 0; i < FILTER_PROBES; i++, at >>= 9)
		line[(at >> 6) & 7] |= (uint64_t)1 << (at & 63);
}

static bool filter_has(const uint64_t *f, unsigned bits, uint64_t h)
{
	if (!f)
		return false;
	const uint64_t *line = filter_line(f, bits, h);
	uint64_t at = splitmix64(h);
	for (int i = 0; i < FILTER_PROBES; i++, at >>= 9)
		if (!(line[(at >> 6) & 7] & ((uint64_t)1 << (at & 63))))
			return false;
	return true;
}

#define FORGOTTEN_BUCKETS ((size_t)1 << FORGOTTEN_DIR_BITS)

_Static_assert(PCACHE_RESTART_BYTES ==
		       ((size_t)1 << (PAIR_FILTER_BITS - 3)) +
			       ((size_t)1 << (STUDENT_FILTER_BITS - 3)) +
			       (FORGOTTEN_BUCKETS + 1) * sizeof(uint32_t),
	       "pair_cache.h's PCACHE_RESTART_BYTES: the filters and the directory");

static size_t bucket_of(uint64_t h)
{
	return (size_t)(h >> (64 - FORGOTTEN_DIR_BITS));
}

/* The bits kept of h, after its bucket's. */
static uint32_t kept_of(uint64_t h)
{
	return (uint32_t)(h >> (32 - FORGOTTEN_DIR_BITS));
}

/* The entry whose id hash is h (its top 48 bits); SIZE_MAX: none. */
static size_t forgotten_find(const struct forgotten *f, uint64_t h)
{
	if (!f->n)
		return SIZE_MAX;
	size_t b = bucket_of(h);
	uint32_t k = kept_of(h);
	for (size_t i = f->dir[b]; i < f->dir[b + 1] && f->ids[i] <= k; i++)
		if (f->ids[i] == k)
			return i;
	return SIZE_MAX;
}

struct forgotten_add {
	uint64_t id, check;
	uint32_t created;
};

/* The 48 bits that order the entries. */
static uint64_t key48(uint64_t h)
{
	return h >> (64 - FORGOTTEN_DIR_BITS - 32);
}

/* Sorts add[0..m) by id through tmp (as long): by the top bits into
 * buckets (counts: FORGOTTEN_BUCKETS + 1, zeroed), then each bucket --
 * a few keys of uniform hashes -- by insertion.  The result is in tmp. */
static void adds_sort(const struct forgotten_add *add, struct forgotten_add *tmp,
		      size_t m, uint32_t *counts)
{
	for (size_t j = 0; j < m; j++)
		counts[bucket_of(add[j].id) + 1]++;
	for (size_t b = 1; b <= FORGOTTEN_BUCKETS; b++)
		counts[b] += counts[b - 1];
	for (size_t j = 0; j < m; j++)
		tmp[counts[bucket_of(add[j].id)]++] = add[j];
	/* counts[b] is now bucket b's end. */
	for (size_t b = 0, start = 0; b < FORGOTTEN_BUCKETS; start = counts[b++])
		for (size_t i = start + 1; i < counts[b]; i++) {
			struct forgotten_add x = tmp[i];
			size_t k = i;
			for (; k > start && tmp[k - 1].id > x.id; k--)
				tmp[k] = tmp[k - 1];
			tmp[k] = x;
		}
}

/* Room for n entries; false: out of memory. */
static bool forgotten_room(struct forgotten *f, size_t n)
{
	if (!f->dir) {
		f->dir = calloc(FORGOTTEN_BUCKETS + 1, sizeof(*f->dir));
		if (!f->dir)
			return false;
	}
	if (n <= f->cap)
		return true;
	size_t cap = n + n / 16;
	char *block = realloc(f->checks, cap * FORGOTTEN_ENTRY_BYTES);
	if (!block)
		return false;
	/* checks | ids | created: the last two move up, the last first. */
	memmove(block + cap * 12, block + f->cap * 12, f->n * sizeof(uint32_t));
	memmove(block + cap * 8, block + f->cap * 8, f->n * sizeof(uint32_t));
	f->checks = (uint64_t *)block;
	f->ids = (uint32_t *)(block + cap * 8);
	f->created = (uint32_t *)(block + cap * 12);
	f->cap = cap;
	return true;
}

/* Merges the sorted add[0..m) into f (an id met again takes its newest
 * check), up to max entries in all; the new ids past them end up in
 * add[0..*left) (the caller files them elsewhere).  false: out of
 * memory. */
static bool forgotten_merge(struct forgotten *f, struct forgotten_add *add,
			    size_t m, size_t max, size_t *left)
{
	*left = 0;
	size_t k = 0;
	for (size_t j = 0; j < m; j++) {
		size_t at = forgotten_find(f, add[j].id);
		if (at != SIZE_MAX) {
			f->checks[at] = add[j].check;
			f->created[at] = add[j].created;
		} else if (k && key48(add[k - 1].id) == key48(add[j].id)) {
			add[k - 1] = add[j];
		} else {
			add[k++] = add[j];
		}
	}
	/* Past the room, the last new ids (the greatest hashes: any would
	 * do) are left to the caller: moved to the front of add at the end. */
	size_t room = max > f->n ? max - f->n : 0;
	size_t all = k;
	if (k > room)
		k = room;
	if (f->n + k > UINT32_MAX || !forgotten_room(f, f->n + k))
		return false;
	/* From the back, in place; b: the bucket of entry i - 1. */
	size_t b = FORGOTTEN_BUCKETS - 1;
	for (size_t i = f->n, j = k, out = f->n + k; j > 0;) {
		out--;
		bool old = false;
		if (i > 0) {
			while (f->dir[b] > i - 1)
				b--;
			old = ((uint64_t)b << 32 | f->ids[i - 1]) > key48(add[j - 1].id);
		}
		if (old) {
			i--;
			f->checks[out] = f->checks[i];
			f->ids[out] = f->ids[i];
			f->created[out] = f->created[i];
		} else {
			j--;
			f->checks[out] = add[j].check;
			f->ids[out] = kept_of(add[j].id);
			f->created[out] = add[j].created;
		}
	}
	/* Each bucket starts after the entries added before it too. */
	for (size_t bb = 0, a = 0; bb <= FORGOTTEN_BUCKETS; bb++) {
		while (a < k && bucket_of(add[a].id) < bb)
			a++;
		f->dir[bb] += (uint32_t)a;
	}
	f->n += k;
	*left = all - k;
	memmove(add, add + k, *left * sizeof(*add));
	return true;
}

static size_t forgotten_bytes(const struct forgotten *f)
{
	return f->cap * FORGOTTEN_ENTRY_BYTES +
	       (f->dir ? (FORGOTTEN_BUCKETS + 1) * sizeof(*f->dir) : 0);
}

/* An empty filter of 2^bits bits, its lines on the processor's cache
 * lines; NULL: out of memory. */
static uint64_t *filter_new(unsigned bits)
{
	size_t bytes = (size_t)1 << (bits - 3);
	uint64_t *f = aligned_alloc(64, bytes);
	if (f)
		memset(f, 0, bytes);
	return f;
}

bool pcache_restart(struct pcache *c, size_t budget)
{
	/* The list's room: half the budget, less the filters (the students'
	 * counted as if it will be needed) and the list's directory. */
	size_t fixed = c->courses_cap * sizeof(*c->courses) +
		       PCACHE_RESTART_BYTES;
	/* A budget below that (test builds' 4 KiB: a restart at every row
	 * by design) still gives the list a share, so that it is used. */
	size_t forgotten_max = budget / 2 > fixed ? budget / 2 - fixed :
						    budget / 4;
	if (!c->pair_filter && !(c->pair_filter = filter_new(PAIR_FILTER_BITS))) {
		pcache_clear(c);
		return false;
	}
	/* The next part of the batch will likely hold as many. */
	uint32_t had_students = c->nstudents, had_pairs = c->npairs;
	for (uint32_t i = 0; i < c->npairs; i++) {
		const struct pc_pair *p = pcache_pair_at(c, i);
		if (!(p->flags & PCP_IN_DB))
			continue;
		const struct pc_student *s = pcache_student_at(c, p->student);
		filter_add(c->pair_filter, PAIR_FILTER_BITS,
			   pair_key_hash(c, p->course, pcache_student_id(c, s),
					 s->id_len));
	}
	/* The pairs go first: the students' list below is then made in
	 * their room, not on top of the full cache. */
	pairs_clear(c);
	size_t m = 0;
	for (uint32_t i = 0; i < c->nstudents; i++)
		m += pcache_student_at(c, i)->state == PCS_STORED;
	struct forgotten_add *add = malloc((m ? m : 1) * sizeof(*add));
	if (!add) {
		pcache_clear(c);
		return false;
	}
	m = 0;
	for (uint32_t i = 0; i < c->nstudents; i++) {
		const struct pc_student *s = pcache_student_at(c, i);
		if (s->state != PCS_STORED)
			continue;
		const char *id = pcache_student_id(c, s);
		add[m++] = (struct forgotten_add){
			.id = id_hash(c, id, s->id_len),
			.check = forgotten_check(c, id, s->id_len,
						 student_values_hash(s)),
			.created = s->created,
		};
	}
	/* Everything but what was forgotten and what the courses were. */
	uint64_t *pf = c->pair_filter, *sfl = c->student_filter;
	struct forgotten sf = c->students_forgotten;
	struct pc_course *courses = c->courses;
	size_t courses_cap = c->courses_cap;
	c->pair_filter = c->student_filter = NULL;
	c->students_forgotten = (struct forgotten){0};
	c->courses = NULL;
	pcache_clear(c);
	c->pair_filter = pf;
	c->student_filter = sfl;
	c->students_forgotten = sf;
	c->courses = courses;
	c->courses_cap = courses_cap;
	struct forgotten_add *sorted = malloc((m ? m : 1) * sizeof(*sorted));
	uint32_t *counts = calloc(FORGOTTEN_BUCKETS + 1, sizeof(*counts));
	bool merged = sorted && counts;
	size_t left = 0;
	if (merged) {
		adds_sort(add, sorted, m, counts);
		merged = forgotten_merge(&c->students_forgotten, sorted, m,
					 forgotten_max / FORGOTTEN_ENTRY_BYTES,
					 &left);
	}
	/* Past the list's room: the filter (a look-up each, then). */
	if (merged && left && !c->student_filter)
		merged = (c->student_filter = filter_new(STUDENT_FILTER_BITS)) != NULL;
	for (size_t i = 0; merged && i < left; i++)
		filter_add(c->student_filter, STUDENT_FILTER_BITS, sorted[i].id);
	free(counts);
	free(sorted);
	free(add);
	if (!merged) {
		pcache_clear(c);
		return false;
	}
	c->bytes = courses_cap * sizeof(*courses) +
		   ((size_t)1 << (PAIR_FILTER_BITS - 3)) +
		   (c->student_filter ? (size_t)1 << (STUDENT_FILTER_BITS - 3) : 0) +
		   forgotten_bytes(&c->students_forgotten);
	for (size_t i = 0; i < courses_cap; i++) {
		courses[i].whole = false;
		courses[i].misses = 0;
	}
	/* Their indexes at once, not by doublings (a hint: false changes
	 * nothing). */
	(void)pcache_reserve(c, had_students, had_pairs);
	return true;
}

bool pcache_restarted(const struct pcache *c)
{
	return c->pair_filter != NULL;
}

bool pcache_pair_written(const struct pcache *c, uint32_t course,
			 const char *id, size_t len)
{
	/* No restart yet (most batches): no hashing on the per-row path. */
	return c->pair_filter &&
	       filter_has(c->pair_filter, PAIR_FILTER_BITS,
			  pair_key_hash(c, course, id, len));
}

enum pc_forgotten pcache_student_forgotten(const struct pcache *c,
					  const char *id, size_t len,
					  const uint64_t *values_hash,
					  uint32_t *created)
{
	const struct forgotten *f = &c->students_forgotten;
	uint64_t h = id_hash(c, id, len);
	size_t at = f->n ? forgotten_find(f, h) : SIZE_MAX;
	if (at == SIZE_MAX)
		return filter_has(c->student_filter, STUDENT_FILTER_BITS, h) ?
			       PCF_OTHER :
			       PCF_NOT;
	if (!values_hash ||
	    f->checks[at] != forgotten_check(c, id, len, *values_hash))
		return PCF_OTHER;
	*created = f->created[at];
	return PCF_SAME;
}

/* ---- sorting ------------------------------------------------------------- */

/*
 * A comparison that follows an index to an entry and to its text misses
 * the processor's caches three times; a million of them per sort level
 * were most of a first run.  So the students are sorted once by a key that
 * holds the id's first 8 bytes (ties, rare, compare whole ids), and pairs
 * by (course, the student's rank): plain integers.
 */
struct sort_key {
	uint64_t key;
	uint32_t idx;
};

/* qsort has no context argument (qsort_r is not C11): the cache whose
 * ids break ties, per thread. */
static _Thread_local struct pcache *sorting;

static int compare_ids(struct pcache *c, uint32_t a, uint32_t b)
{
	const struct pc_student *x = pcache_student_at(c, a);
	const struct pc_student *y = pcache_student_at(c, b);
	size_t n = x->id_len < y->id_len ? x->id_len : y->id_len;
	int r = n ? memcmp(pcache_student_id(c, x), pcache_student_id(c, y), n) :
		    0;
	if (r)
		return r;
	return (x->id_len > y->id_len) - (x->id_len < y->id_len);
}


/* The id's first 8 bytes, big-endian, so integer order is byte order. */
static uint64_t id_prefix(struct pcache *c, uint32_t idx)
{
	const struct pc_student *s = pcache_student_at(c, idx);
	const unsigned char *t = (const unsigned char *)pcache_student_id(c, s);
	uint64_t k = 0;
	for (size_t i = 0; i < 8; i++)
		k = k << 8 | (i < s->id_len ? t[i] : 0);
	return k;
}

/* The students' introsort (see intro_sort): on keys, ties by whole ids. */
static int key_cmp(const struct sort_key *x, const struct sort_key *y)
{
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return compare_ids(sorting, x->idx, y->idx);
}

static void swap_keys(struct sort_key *a, struct sort_key *b)
{
	struct sort_key t = *a;
	*a = *b;
	*b = t;
}

static void key_sift(struct sort_key *a, size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && key_cmp(&a[child + 1], &a[child]) > 0)
			child++;
		if (key_cmp(&a[root], &a[child]) >= 0)
			return;
		swap_keys(&a[root], &a[child]);
	}
}

static void key_sort(struct sort_key *a, size_t n, unsigned depth)
{
	while (n > 16) {
		if (depth-- == 0) {
			for (size_t i = n / 2; i-- > 0;)
				key_sift(a, i, n);
			for (size_t end = n; end-- > 1;) {
				swap_keys(&a[0], &a[end]);
				key_sift(a, 0, end);
			}
			return;
		}
		size_t mid = n / 2;
		if (key_cmp(&a[mid], &a[0]) < 0)
			swap_keys(&a[mid], &a[0]);
		if (key_cmp(&a[n - 1], &a[0]) < 0)
			swap_keys(&a[n - 1], &a[0]);
		if (key_cmp(&a[n - 1], &a[mid]) < 0)
			swap_keys(&a[n - 1], &a[mid]);
		struct sort_key pivot = a[mid];
		size_t i = 0, j = n - 1;
		for (;;) {
			while (key_cmp(&a[i], &pivot) < 0)
				i++;
			while (key_cmp(&a[j], &pivot) > 0)
				j--;
			if (i >= j)
				break;
			swap_keys(&a[i++], &a[j--]);
		}
		size_t left = j + 1;
		if (left < n - left) {
			key_sort(a, left, depth);
			a += left;
			n -= left;
		} else {
			key_sort(a + left, n - left, depth);
			n = left;
		}
	}
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && key_cmp(&a[k - 1], &a[k]) > 0; k--)
			swap_keys(&a[k - 1], &a[k]);
}

/* Sorted keys of idx[0..n): NULL when out of memory. */
static struct sort_key *sorted_student_keys(struct pcache *c, const uint32_t *idx,
					    size_t n)
{
	struct sort_key *keys = malloc((n ? n : 1) * sizeof(*keys));
	if (!keys)
		return NULL;
	for (size_t i = 0; i < n; i++)
		keys[i] = (struct sort_key){ idx ? id_prefix(c, idx[i]) :
						   id_prefix(c, (uint32_t)i),
					     idx ? idx[i] : (uint32_t)i };
	sorting = c;
	unsigned depth = 0;
	for (size_t m = n; m > 1; m >>= 1)
		depth += 2;
	key_sort(keys, n, depth);
	return keys;
}

/* Every student's rank in id order (kept in c->ranks); false when out of
 * memory. */
static bool rank_students(struct pcache *c)
{
	if (c->ranks && c->nranked == c->nstudents)
		return true;
	free(c->ranks);
	c->ranks = NULL;
	uint32_t ns = c->nstudents;
	uint32_t *rank = malloc((ns ? ns : 1) * sizeof(*rank));
	struct sort_key *order = rank ? sorted_student_keys(c, NULL, ns) : NULL;
	if (!order) {
		free(rank);
		return false;
	}
	for (uint32_t r = 0; r < ns; r++)
		rank[order[r].idx] = r;
	free(order);
	c->ranks = rank;
	c->nranked = ns;
	return true;
}

static void forget_ranks(struct pcache *c)
{
	free(c->ranks);
	c->ranks = NULL;
}

static bool sort_by_rank(struct pcache *c, uint32_t *idx, size_t n);

bool pcache_sort_students(struct pcache *c, uint32_t *idx, size_t n)
{
	/* Most students of the cache (a first run): rank them all, once for
	 * this and the pairs' sort that follows. */
	if (n * 2 >= c->nstudents && rank_students(c) && sort_by_rank(c, idx, n))
		return true;
	struct sort_key *keys = sorted_student_keys(c, idx, n);
	if (!keys)
		return false; /* unsorted: the writes are only slower */
	for (size_t i = 0; i < n; i++)
		idx[i] = keys[i].idx;
	free(keys);
	return true;
}

/* ---- an in-place sort of integers ---------------------------------------- */

/* glibc's qsort merges through a copy of the array: at a million pairs
 * that copy was the batch's peak of memory.  Introsort: quicksort with a
 * median of three, heapsort past a depth limit, insertion sort for short
 * runs; nothing allocated. */
static void swap64(uint64_t *a, uint64_t *b)
{
	uint64_t t = *a;
	*a = *b;
	*b = t;
}

static void sift_down(uint64_t *a, size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		swap64(&a[root], &a[child]);
	}
}

static void heap_sort(uint64_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t end = n; end-- > 1;) {
		swap64(&a[0], &a[end]);
		sift_down(a, 0, end);
	}
}

static void intro_sort(uint64_t *a, size_t n, unsigned depth)
{
	while (n > 16) {
		if (depth-- == 0) {
			heap_sort(a, n);
			return;
		}
		size_t mid = n / 2;
		if (a[mid] < a[0])
			swap64(&a[mid], &a[0]);
		if (a[n - 1] < a[0])
			swap64(&a[n - 1], &a[0]);
		if (a[n - 1] < a[mid])
			swap64(&a[n - 1], &a[mid]);
		uint64_t pivot = a[mid];
		size_t i = 0, j = n - 1;
		for (;;) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i >= j)
				break;
			swap64(&a[i++], &a[j--]);
		}
		/* [0, j] <= pivot <= [j + 1, n): recurse on the smaller. */
		size_t left = j + 1;
		if (left < n - left) {
			intro_sort(a, left, depth);
			a += left;
			n -= left;
		} else {
			intro_sort(a + left, n - left, depth);
			n = left;
		}
	}
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && a[k - 1] > a[k]; k--)
			swap64(&a[k - 1], &a[k]);
}

void pcache_sort_u64(uint64_t *a, size_t n)
{
	unsigned depth = 0;
	for (size_t m = n; m > 1; m >>= 1)
		depth += 2;
	intro_sort(a, n, depth);
}

/* idx[0..n) by the students' ranks (c->ranks), through one integer
 * each: (rank, entry); left as it is when out of memory. */
static bool sort_by_rank(struct pcache *c, uint32_t *idx, size_t n)
{
	uint64_t *keys = malloc((n ? n : 1) * sizeof(*keys));
	if (!keys)
		return false;
	for (size_t i = 0; i < n; i++)
		keys[i] = (uint64_t)c->ranks[idx[i]] << 32 | idx[i];
	pcache_sort_u64(keys, n);
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t)keys[i];
	free(keys);
	return true;
}

static unsigned bits_for(uint64_t max)
{
	unsigned b = 0;
	while (b < 64 && (max >> b) != 0)
		b++;
	return b;
}

static int compare_pairs_direct(const void *a, const void *b)
{
	const struct pc_pair *x = pcache_pair_at(sorting, *(const uint32_t *)a);
	const struct pc_pair *y = pcache_pair_at(sorting, *(const uint32_t *)b);
	if (x->course != y->course)
		return x->course < y->course ? -1 : 1;
	return compare_ids(sorting, x->student, y->student);
}

bool pcache_sort_pairs(struct pcache *c, uint32_t *idx, size_t n)
{
	/* A few pairs (a flush before a promotion reads the waitlist): ranking
	 * every student would cost more than comparing ids. */
	if ((size_t)n * 16 < c->nstudents) {
		sorting = c;
		qsort(idx, n, sizeof(*idx), compare_pairs_direct);
		return true;
	}
	uint32_t max_course = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t course = pcache_pair_at(c, idx[i])->course;
		if (course > max_course)
			max_course = course;
	}
	/* One integer per pair: course, the student's rank in id order, the
	 * entry, each in the bits it needs (the cache's budget keeps them
	 * well within 64).  Memory at its peak: a key and a rank per student,
	 * then a rank per student and an integer per pair. */
	uint32_t ns = c->nstudents;
	unsigned ib = bits_for(c->npairs), rb = bits_for(ns),
		 cb = bits_for(max_course);
	if (ib + rb + cb > 64)
		return false;
	if (!rank_students(c))
		return false;
	uint64_t *keys = malloc((n ? n : 1) * sizeof(*keys));
	if (!keys) {
		forget_ranks(c);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pc_pair *p = pcache_pair_at(c, idx[i]);
		keys[i] = ((uint64_t)p->course << (rb + ib)) |
			  ((uint64_t)c->ranks[p->student] << ib) | idx[i];
	}
	forget_ranks(c);
	pcache_sort_u64(keys, n);
	uint64_t mask = ib == 64 ? UINT64_MAX : (((uint64_t)1 << ib) - 1);
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t)(keys[i] & mask);
	free(keys);
	return true;
}
