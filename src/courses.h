/* courses: the in-memory table of courses a batch registers into. */
#ifndef BULKREG_COURSES_H
#define BULKREG_COURSES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include "error.h"
#include "escape.h"

#define COURSE_CODE_MAX 255 /* ID_MAX (validate.h) */
#define COURSE_CAPACITY_MAX 1000000
#define WAITLIST_UNLIMITED (-1)

struct course {
	int64_t id;                         /* courses.id in the database */
	char code[COURSE_CODE_MAX + 1];
	char *title;                        /* owned by the table */
	int64_t capacity;                   /* 0..COURSE_CAPACITY_MAX */
	int64_t waitlist_max;               /* WAITLIST_UNLIMITED or >= 0 */
	/* Live counts.  During a batch only the collector thread changes them;
	 * workers only read `code` (through course_table_find). */
	int64_t registered;
	int64_t waitlisted;
	int64_t seat_seq;                   /* the last seat number handed out */
	bool touched;                       /* changed by the current batch */
};

/*
 * A growable array of courses with a hash index on code.  Built once before
 * a batch starts; afterwards lookups are read-only and safe from any thread.
 */
struct course_hints;

struct course_table {
	struct course *items;
	size_t count, alloc;
	uint32_t *index;      /* open addressing: item number + 1, 0 = empty */
	size_t index_size;    /* power of two */
	/* course_table_suggest's memo, made on its first use */
	struct course_hints *_Atomic hints;
};

void course_table_init(struct course_table *t);

/* Copies `c` (and its title) in.  ST_NOMEM on failure (table unchanged);
 * ST_INPUT if the code is already present. */
enum status course_table_add(struct course_table *t, const struct course *c,
			     struct error *err);

/* The course with exactly this code (case-sensitive), or NULL. */
struct course *course_table_find(const struct course_table *t, const char *code,
				 size_t len);

/*
 * "Did you mean": the known course a code that is not one was most likely
 * meant to be, or NULL.  A code equal but for ASCII case comes first; else
 * the code at the smallest edit distance (insertions, deletions and
 * substitutions of bytes, ASCII case ignored), at most 2; a tie goes to the
 * first in code order.  Safe from any thread while the table does not
 * change; each distinct code is worked out once (a memo of up to 4096
 * codes), so a roster full of one wrong code costs one search.
 */
const struct course *course_table_suggest(const struct course_table *t,
					  const char *code, size_t len);

/* "; did you mean CODE?" for course_table_suggest's answer (the code
 * escaped as esc_text shows a value), or "" when it has none.  out holds
 * COURSE_HINT_MAX bytes. */
#define COURSE_HINT_MAX (ESC_TEXT_MAX(COURSE_CODE_MAX) + 24)
void course_table_hint(char *out, size_t cap, const struct course_table *t,
		       const char *code, size_t len);

void course_table_free(struct course_table *t);

#endif
