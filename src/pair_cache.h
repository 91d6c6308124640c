/* pair_cache: what a batch knows of pairs and students, in memory (no SQL). */
#ifndef BULKREG_PAIR_CACHE_H
#define BULKREG_PAIR_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The SQLite and PostgreSQL stores (db_store.c) answer a batch's questions
 * about pairs and students from here, and write what the batch changed at
 * its end, sorted by key, instead of a B-tree descent (or a round trip) per
 * row.  This module is only the memory: interned student ids, each pair's
 * state and flags, the values of the students the batch met, per course
 * whether every stored pair is here.  Decisions and SQL live elsewhere.
 * Numbers are 32-bit to keep a pair at 28 bytes and a student at 52;
 * db_store.c does not use the cache for a value that does not fit.
 */
struct pcache;

#define PC_NONE UINT32_MAX

/* At most this many students, and as many pairs: a cache that holds them
 * must be written out and started again (its indexes give an entry 24
 * bits). */
#define PCACHE_ENTRIES_MAX ((UINT32_C(1) << 24) - 2)

/* Pair flags. */
enum {
	PCP_KNOWN = 1,        /* state, seq, batch, line are the pair's */
	PCP_IN_DB = 2,        /* (known) the database holds a row for it */
	PCP_DIRTY = 4,        /* (known) to be written at the next flush */
	PCP_NAMED = 8,        /* a rejected row named it (store_mark_named) */
	PCP_SEEN_STORED = 16, /* seen_line is in temp.batch_seen */
	PCP_NAMED_STORED = 32, /* the NAMED mark is in temp.batch_named */
	PCP_SEQ_ONLY = 64     /* (dirty) only seq differs from the database */
};

struct pc_pair {
	uint32_t course, student;   /* course id; student index */
	uint32_t seq, batch, line;  /* as struct pair, when state is not absent */
	uint32_t seen_line;         /* the first row of this batch naming it, 0 */
	uint8_t state;              /* enum pair_state (store.h) */
	uint8_t flags;
};

/* Student states and writes. */
enum { PCS_UNKNOWN = 0, PCS_ABSENT, PCS_STORED };
enum { PCS_CLEAN = 0, PCS_NEW, PCS_CHANGED };

/* Ids up to this long live in the entry itself: a look-up that finds its
 * entry then needs no second read for the id. */
#define PC_ID_INLINE 16

struct pc_student {
	union {
		char bytes[PC_ID_INLINE]; /* id_len <= PC_ID_INLINE */
		uint32_t off;             /* else: into the text arena */
	} id;
	uint32_t val_off;           /* values, into the text arena */
	uint32_t read_off;          /* the values as read from the database */
	uint32_t created;           /* created_batch (PCS_STORED) */
	uint16_t id_len, len[3];    /* first name, last name, email */
	uint16_t read_len[3];
	uint8_t state, write;
	/* pcache_values_hash of the values, as two halves (an 8-byte field
	 * would pad the entry): a row with the same values is told so
	 * without reading them (a miss of the processor's caches each). */
	uint32_t val_hash_lo, val_hash_hi;
};

/* A hint: these students, and (when courses is not NULL) their pairs with
 * these courses, will be looked up soon.  A look-up is two or three
 * dependent misses of the processor's caches (slot, entry); asking for all
 * the students' slots first, then for the entries they name, then for the
 * pairs' slots and entries, overlaps them.  At most PCACHE_PREFETCH_MAX. */
#define PCACHE_PREFETCH_MAX 256
void pcache_rows_prefetch(const struct pcache *c, const char *const *ids,
			  const size_t *lens, const uint32_t *courses, size_t n);

/* Hints for a pass over entries in an order of its own (a flush in key
 * order): the entry; then, once it is at hand, what it points to (a
 * pair's student and its id; a student's id and values). */
void pcache_pair_prefetch(const struct pcache *c, uint32_t idx);
void pcache_pair_student_prefetch(const struct pcache *c, uint32_t idx);
void pcache_student_prefetch(const struct pcache *c, uint32_t idx);
void pcache_student_texts_prefetch(const struct pcache *c, uint32_t idx);

/* A 64-bit hash of three values (with their lengths), keyed by the
 * cache's seed: equal hashes of values of equal lengths are taken for
 * equal values (a chance of 2^-64 each otherwise, not chosen by anyone
 * who cannot see the seed). */
uint64_t pcache_values_hash(const struct pcache *c, const char *const v[3],
			    const size_t len[3]);

/* Whether the student's values have this hash. */
bool pcache_student_values_hash_is(const struct pcache *c, uint32_t idx,
				   uint64_t h);

/* The student's id bytes (id_len of them). */
const char *pcache_student_id(const struct pcache *c, const struct pc_student *s);

/* NULL: out of memory.  seed keys the hashes (a per-batch random). */
struct pcache *pcache_new(uint64_t seed);
void pcache_free(struct pcache *c);

/* Forgets every student and pair and every course's completeness. */
void pcache_clear(struct pcache *c);

/* Grows the indexes at once for that many more students and pairs (a
 * table about to be read whole), instead of doubling as they come: each
 * doubling rehashes every entry into fresh memory.  false: out of memory
 * or past PCACHE_ENTRIES_MAX (nothing is lost; the entries still fit one
 * by one, or not). */
bool pcache_reserve(struct pcache *c, size_t students, size_t pairs);

/* Frees the look-up indexes (entries and texts stay, for the last
 * writes): pcache_student and pcache_pair must not be called after it. */
void pcache_drop_indexes(struct pcache *c);

/* Bytes held (entries, indexes, texts). */
size_t pcache_bytes(const struct pcache *c);

/* The student's index, interned if `create`; PC_NONE if absent (or, with
 * create, out of memory). */
uint32_t pcache_student(struct pcache *c, const char *id, size_t len,
			bool create);
struct pc_student *pcache_student_at(struct pcache *c, uint32_t idx);
uint32_t pcache_student_count(const struct pcache *c);

/* Sets the student's values (copied into the arena); false: out of memory. */
bool pcache_student_values(struct pcache *c, uint32_t idx, const char *v[3],
			   const size_t len[3]);

/* Arena text at an offset (texts never move; they go with pcache_clear). */
const char *pcache_text(const struct pcache *c, uint32_t off);

/* The pair's entry, made (zeroed: nothing known) if `create`; NULL if
 * absent (or, with create, out of memory); *index (if not NULL) is its
 * number for pcache_pair_at.  Entries never move; they go with
 * pcache_clear. */
struct pc_pair *pcache_pair(struct pcache *c, uint32_t course, uint32_t student,
			    bool create, uint32_t *index);
struct pc_pair *pcache_pair_at(struct pcache *c, uint32_t i);
uint32_t pcache_pair_count(const struct pcache *c);

/* Per course id (1..PCACHE_COURSE_MAX; NULL for others or out of memory):
 * whether every pair the database holds is in the cache, how many pairs it
 * held when the batch took the course, how many look-ups missed. */
#define PCACHE_COURSE_MAX 1000000u
struct pc_course {
	uint32_t misses;
	int64_t stored_pairs; /* -1: not known */
	/* complete: every pair the database holds is an entry, or (after
	 * pcache_restart) was one: pcache_pair_written says which may be.
	 * whole: every pair the database holds is an entry now. */
	bool complete, whole;
};
struct pc_course *pcache_course(struct pcache *c, int64_t course);

/*
 * A batch bigger than the cache's budget: pcache_restart forgets every
 * entry -- the caller has written them -- but remembers which pairs the
 * database holds because of them, in a Bloom filter of fixed size, and
 * which students, exactly, with a check of the values each was written
 * with (16 bytes a student, counted in pcache_bytes; the students past
 * its room in a second Bloom filter).  The filters and the list leave at
 * least half of `budget` to the entries of the next part: a list that
 * took more made each part smaller than the last, down to a restart
 * every few rows (a 1M-row batch beside a big --users index: 151 s).  A course (or
 * the students) complete before stays complete: a pair or a student not
 * in the cache and not remembered is not in the database; one a filter
 * may hold is looked up (a false positive only costs a look-up).  Courses
 * are no longer whole.  false: out of memory (the cache is then cleared
 * as pcache_clear does).
 */
bool pcache_restart(struct pcache *c, size_t budget);
/* What a restart keeps besides the list and the courses: the two filters
 * (4 + 2 MiB) and the list's directory (2^16 + 1 offsets of 4 bytes). */
#define PCACHE_RESTART_BYTES (((size_t)6 << 20) + (((size_t)1 << 16) + 1) * 4)
/* Whether a restart happened (the filters exist). */
bool pcache_restarted(const struct pcache *c);
/* May the database hold this pair because of entries forgotten by a
 * restart? */
bool pcache_pair_written(const struct pcache *c, uint32_t course,
			 const char *id, size_t len);
/* Does the database hold this student because of an entry a restart
 * forgot: PCF_NOT, no; PCF_SAME, yes, with values of this hash
 * (pcache_values_hash; *created: its created batch then); PCF_OTHER, yes
 * or maybe: other values, or values_hash NULL, or a student past the
 * list's room that the filter may hold, or (at a chance of 2^-64) a
 * second id with the same hash: look it up. */
enum pc_forgotten { PCF_NOT, PCF_SAME, PCF_OTHER };
enum pc_forgotten pcache_student_forgotten(const struct pcache *c,
					  const char *id, size_t len,
					  const uint64_t *values_hash,
					  uint32_t *created);

/* Sorts idx[0..n) (pair indexes) by course, then student id bytes: the
 * order of the registrations' primary key.  false: out of memory (idx is
 * as it was: only the speed of what follows suffers). */
bool pcache_sort_pairs(struct pcache *c, uint32_t *idx, size_t n);
/* Sorts integers in place, allocating nothing (introsort). */
void pcache_sort_u64(uint64_t *a, size_t n);

/* Sorts idx[0..n) (student indexes) by id bytes.  false: out of memory
 * (idx is as it was: only slower writes follow). */
bool pcache_sort_students(struct pcache *c, uint32_t *idx, size_t n);

#endif
