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
 * "Did you mean": the known courses a code that is not one was most likely
 * meant to be.  Those at the smallest edit distance (insertions, deletions
 * and substitutions of bytes, ASCII case ignored: a code equal but for case
 * is at 0), at most 2 and at most half the length of `code` -- all of them,
 * in code order, up to COURSE_SUGGEST_MAX; none when more are as near
 * (naming one of them would be a guess).  Returns how many it put in out.
 * Safe from any thread while the table does not change; each distinct code
 * is worked out once (a memo of up to 6144 codes), so a roster full of one
 * wrong code costs one search.
 */
#define COURSE_SUGGEST_MAX 3
struct course_suggestions {
	size_t count;
	uint32_t item[COURSE_SUGGEST_MAX];
};
size_t course_table_suggest_all(const struct course_table *t,
				const char *code, size_t len,
				const struct course *out[COURSE_SUGGEST_MAX]);

/* The first of course_table_suggest_all's answers, or NULL. */
const struct course *course_table_suggest(const struct course_table *t,
					  const char *code, size_t len);

/* "; did you mean CODE?", "; did you mean A or B?", "; did you mean A, B
 * or C?" for course_table_suggest_all's answer (codes escaped as esc_text
 * shows a value), or "" when it has none; when code reads as the one
 * suggested (hint_skeleton), what differs: " (this one holds U+0301, a
 * combining accent: ...)".  out holds COURSE_HINT_MAX bytes. */
#define COURSE_HINT_MAX \
	(COURSE_SUGGEST_MAX * (ESC_TEXT_MAX(COURSE_CODE_MAX) + 4) + 24 + 128)
void course_table_hint(char *out, size_t cap, const struct course_table *t,
		       const char *code, size_t len);

void course_table_free(struct course_table *t);

/* The warning for a course with more registered than its capacity (after
 * a capacity lowered below the count, or an undo putting seats back over
 * one): "CODE: N registered over its capacity of C (everyone keeps their
 * seat; ...)", into out (cap bytes, NUL-terminated); `would`: a dry
 * run's "N would be registered ... (everyone would keep ...)". */
#define COURSE_OVER_MESSAGE_MAX (COURSE_CODE_MAX + 208)
void course_over_capacity_message(char *out, size_t cap,
				  const struct course *c, bool would);

#endif
