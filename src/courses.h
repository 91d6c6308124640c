/* courses: the in-memory table of courses a batch registers into. */
#ifndef BULKREG_COURSES_H
#define BULKREG_COURSES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

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
struct course_table {
	struct course *items;
	size_t count, alloc;
	uint32_t *index;      /* open addressing: item number + 1, 0 = empty */
	size_t index_size;    /* power of two */
};

void course_table_init(struct course_table *t);

/* Copies `c` (and its title) in.  ST_NOMEM on failure (table unchanged);
 * ST_INPUT if the code is already present. */
enum status course_table_add(struct course_table *t, const struct course *c,
			     struct error *err);

/* The course with exactly this code (case-sensitive), or NULL. */
struct course *course_table_find(const struct course_table *t, const char *code,
				 size_t len);

void course_table_free(struct course_table *t);

/* The rule for ids (validate.h, id_check): 1..255 bytes of UTF-8 with no
 * control, invisible or format characters, no leading or trailing space. */
bool course_code_valid(const char *code, size_t len);

#endif
