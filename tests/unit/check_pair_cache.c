/* check_pair_cache: the batch's memory of pairs and students, and its sorts. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pair_cache.h"
#include "splitmix.h"

/* More than one chunk of entries (16,384) and of texts (1 MiB). */
#define MANY 70000

static void id_of(char *buf, size_t cap, uint32_t i)
{
	snprintf(buf, cap, "S%08u-%u", (unsigned)(splitmix64(i) % 100000000u), i);
}

START_TEST(test_students_interned_once)
{
	struct pcache *c = pcache_new(42);
	ck_assert_ptr_nonnull(c);
	char id[64];
	for (uint32_t i = 0; i < MANY; i++) {
		id_of(id, sizeof(id), i);
		ck_assert_uint_eq(pcache_student(c, id, strlen(id), true), i);
	}
	for (uint32_t i = 0; i < MANY; i++) {
		id_of(id, sizeof(id), i);
		uint32_t k = pcache_student(c, id, strlen(id), false);
		ck_assert_uint_eq(k, i);
		const struct pc_student *s = pcache_student_at(c, k);
		ck_assert_uint_eq(s->id_len, strlen(id));
		ck_assert(memcmp(pcache_student_id(c, s), id, strlen(id)) == 0);
	}
	ck_assert_uint_eq(pcache_student(c, "nobody", 6, false), PC_NONE);
	/* Ids longer than PC_ID_INLINE live in the text arena. */
	const char *longer = "a-student-id-of-forty-bytes-or-so-000001";
	uint32_t l = pcache_student(c, longer, strlen(longer), true);
	ck_assert_uint_eq(pcache_student(c, longer, strlen(longer), false), l);
	ck_assert(memcmp(pcache_student_id(c, pcache_student_at(c, l)), longer,
			 strlen(longer)) == 0);
	ck_assert_uint_eq(pcache_student(c, longer, strlen(longer) - 1, false),
			  PC_NONE);
	/* An id that is a prefix of another is another student. */
	uint32_t a = pcache_student(c, "AB", 2, true);
	uint32_t b = pcache_student(c, "ABC", 3, true);
	uint32_t e = pcache_student(c, "", 0, true);
	ck_assert_uint_ne(a, b);
	ck_assert_uint_ne(a, e);
	ck_assert_uint_eq(pcache_student(c, "AB", 2, false), a);
	ck_assert_uint_eq(pcache_student(c, "", 0, false), e);
	ck_assert_uint_eq(pcache_student_count(c), MANY + 4);
	pcache_free(c);
}
END_TEST

START_TEST(test_pairs_found_and_kept)
{
	struct pcache *c = pcache_new(7);
	char id[64];
	for (uint32_t i = 0; i < 1000; i++) {
		id_of(id, sizeof(id), i);
		pcache_student(c, id, strlen(id), true);
	}
	/* 1000 students x 70 courses: 70,000 pairs across chunks. */
	for (uint32_t course = 1; course <= 70; course++)
		for (uint32_t s = 0; s < 1000; s++) {
			uint32_t idx;
			struct pc_pair *p = pcache_pair(c, course, s, true, &idx);
			ck_assert_ptr_nonnull(p);
			ck_assert_ptr_eq(pcache_pair_at(c, idx), p);
			ck_assert_uint_eq(p->flags, 0);
			p->seq = course * 1000 + s;
			p->flags = PCP_KNOWN;
		}
	ck_assert_uint_eq(pcache_pair_count(c), 70000);
	for (uint32_t course = 1; course <= 70; course++)
		for (uint32_t s = 0; s < 1000; s += 7) {
			struct pc_pair *p = pcache_pair(c, course, s, false, NULL);
			ck_assert_ptr_nonnull(p);
			ck_assert_uint_eq(p->seq, course * 1000 + s);
		}
	ck_assert_ptr_null(pcache_pair(c, 71, 0, false, NULL));
	ck_assert_ptr_null(pcache_pair(c, 1, 1000, false, NULL));
	/* After a clear, nothing is known. */
	pcache_clear(c);
	ck_assert_uint_eq(pcache_pair_count(c), 0);
	ck_assert_uint_eq(pcache_student(c, "x", 1, false), PC_NONE);
	ck_assert_ptr_null(pcache_pair(c, 1, 0, false, NULL));
	pcache_free(c);
}
END_TEST

/* A student's values hash: the same values (wherever they are) have it;
 * other bytes of the same lengths, or the same bytes cut elsewhere, do
 * not; values set again get the new one. */
START_TEST(test_values_hash)
{
	struct pcache *c = pcache_new(99);
	uint32_t s = pcache_student(c, "S1", 2, true);
	const char *v[3] = { "Ann", "Lee", "ann@x.org" };
	size_t len[3] = { 3, 3, 9 };
	ck_assert(pcache_student_values(c, s, v, len));
	char copy[3][16];
	const char *w[3];
	for (int i = 0; i < 3; i++) {
		memcpy(copy[i], v[i], len[i]);
		w[i] = copy[i];
	}
	ck_assert(pcache_student_values_hash_is(c, s, pcache_values_hash(c, w, len)));
	copy[0][0] = 'B'; /* Bnn: same lengths */
	ck_assert(!pcache_student_values_hash_is(c, s, pcache_values_hash(c, w, len)));
	const char *cut[3] = { "AnnL", "ee", "ann@x.org" };
	size_t cut_len[3] = { 4, 2, 9 };
	ck_assert(!pcache_student_values_hash_is(c, s, pcache_values_hash(c, cut, cut_len)));
	const char *empty[3] = { "", "", "" };
	size_t none[3] = { 0, 0, 0 };
	ck_assert(!pcache_student_values_hash_is(c, s, pcache_values_hash(c, empty, none)));
	ck_assert(pcache_student_values(c, s, w, len)); /* now Bnn */
	ck_assert(pcache_student_values_hash_is(c, s, pcache_values_hash(c, w, len)));
	ck_assert(!pcache_student_values_hash_is(c, s, pcache_values_hash(c, v, len)));
	pcache_free(c);
}
END_TEST

/* A reserve sizes the indexes at once (a table read whole): entries
 * already there are rehashed into them and still found, and the many
 * that follow are found too. */
START_TEST(test_reserve)
{
	struct pcache *c = pcache_new(11);
	char id[64];
	for (uint32_t i = 0; i < 100; i++) {
		id_of(id, sizeof(id), i);
		ck_assert_uint_eq(pcache_student(c, id, strlen(id), true), i);
		ck_assert_ptr_nonnull(pcache_pair(c, 1, i, true, NULL));
	}
	size_t before = pcache_bytes(c);
	ck_assert(pcache_reserve(c, MANY, MANY));
	ck_assert_uint_gt(pcache_bytes(c), before); /* the indexes grew */
	for (uint32_t i = 0; i < 100; i++) {
		id_of(id, sizeof(id), i);
		ck_assert_uint_eq(pcache_student(c, id, strlen(id), false), i);
		ck_assert_ptr_nonnull(pcache_pair(c, 1, i, false, NULL));
	}
	for (uint32_t i = 100; i < MANY + 100; i++) {
		id_of(id, sizeof(id), i);
		ck_assert_uint_eq(pcache_student(c, id, strlen(id), true), i);
		ck_assert_ptr_nonnull(pcache_pair(c, 2, i, true, NULL));
	}
	for (uint32_t i = 0; i < MANY + 100; i += 13) {
		id_of(id, sizeof(id), i);
		ck_assert_uint_eq(pcache_student(c, id, strlen(id), false), i);
		ck_assert_ptr_nonnull(pcache_pair(c, i < 100 ? 1 : 2, i, false, NULL));
	}
	ck_assert_uint_eq(pcache_student_count(c), MANY + 100);
	/* Past the entries' limit: refused, nothing lost. */
	ck_assert(!pcache_reserve(c, PCACHE_ENTRIES_MAX, 0));
	id_of(id, sizeof(id), 5);
	ck_assert_uint_eq(pcache_student(c, id, strlen(id), false), 5);
	pcache_free(c);
}
END_TEST

/* Values may be the cache's own texts (a stored value merged with a row's):
 * they are read correctly even when the room for the new ones starts a
 * new chunk. */
START_TEST(test_values_from_the_cache_itself)
{
	struct pcache *c = pcache_new(1);
	uint32_t s = pcache_student(c, "S1", 2, true);
	const char *v[3] = { "Ada", "Lovelace", "ada@example.edu" };
	size_t len[3] = { 3, 8, 15 };
	ck_assert(pcache_student_values(c, s, v, len));
	char big[60000];
	memset(big, 'x', sizeof(big));
	for (int round = 0; round < 60; round++) {
		const struct pc_student *e = pcache_student_at(c, s);
		const char *at = pcache_text(c, e->val_off);
		const char *nv[3] = { at, at + e->len[0], big };
		size_t nl[3] = { e->len[0], e->len[1], sizeof(big) };
		ck_assert(pcache_student_values(c, s, nv, nl));
		e = pcache_student_at(c, s);
		at = pcache_text(c, e->val_off);
		ck_assert_uint_eq(e->len[0], 3);
		ck_assert_uint_eq(e->len[1], 8);
		ck_assert_uint_eq(e->len[2], sizeof(big));
		ck_assert(memcmp(at, "AdaLovelace", 11) == 0);
		ck_assert(memcmp(at + 11, big, sizeof(big)) == 0);
	}
	/* A value longer than 65535 bytes is refused, and nothing changes. */
	const struct pc_student *e = pcache_student_at(c, s);
	uint32_t before = e->val_off;
	static char huge[70000];
	const char *hv[3] = { huge, "", "" };
	size_t hl[3] = { sizeof(huge), 0, 0 };
	ck_assert(!pcache_student_values(c, s, hv, hl));
	ck_assert_uint_eq(pcache_student_at(c, s)->val_off, before);
	pcache_free(c);
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The in-place sort against qsort, on random, sorted, reversed, equal,
 * organ-pipe and median-of-three-killer inputs of many sizes. */
START_TEST(test_sort_u64_matches_qsort)
{
	size_t sizes[] = { 0, 1, 2, 3, 16, 17, 100, 1000, 65537, 200000 };
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t n = sizes[si];
		uint64_t *a = malloc((n + 1) * sizeof(*a));
		uint64_t *b = malloc((n + 1) * sizeof(*b));
		for (int pattern = 0; pattern < 6; pattern++) {
			for (size_t i = 0; i < n; i++) {
				switch (pattern) {
				case 0: a[i] = splitmix64(i * 31 + n); break;
				case 1: a[i] = i; break;
				case 2: a[i] = n - i; break;
				case 3: a[i] = 5; break;
				case 4: a[i] = i < n / 2 ? i : n - i; break;
				default: /* many duplicates, random */
					a[i] = splitmix64(i) % 7; break;
				}
			}
			memcpy(b, a, n * sizeof(*a));
			pcache_sort_u64(a, n);
			if (n)
				qsort(b, n, sizeof(*b), cmp_u64);
			ck_assert(n == 0 || memcmp(a, b, n * sizeof(*a)) == 0);
		}
		free(a);
		free(b);
	}
}
END_TEST

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
	size_t n = al < bl ? al : bl;
	int r = n ? memcmp(a, b, n) : 0;
	return r ? r : (al > bl) - (al < bl);
}

/* Pairs come out in the registrations' key order: course, then the
 * student id's bytes (a shorter id first when it is a prefix; bytes above
 * 0x7f after ASCII). */
START_TEST(test_pairs_sorted_by_key)
{
	struct pcache *c = pcache_new(3);
	const char *ids[] = { "S10", "S1", "s1", "S2", "", "S10\xc3\xa9", "S10a",
			      "ABCDEFGHIJ", "ABCDEFGHI", "ABCDEFGH", "\xff" };
	size_t nids = sizeof(ids) / sizeof(ids[0]);
	for (size_t i = 0; i < nids; i++)
		pcache_student(c, ids[i], strlen(ids[i]), true);
	uint32_t idx[200];
	size_t n = 0;
	for (uint32_t course = 5; course >= 1; course--)
		for (size_t i = 0; i < nids; i += (course % 2) + 1) {
			uint32_t k;
			ck_assert_ptr_nonnull(pcache_pair(c, course * 1000, (uint32_t)i,
							  true, &k));
			idx[n++] = k;
		}
	ck_assert(pcache_sort_pairs(c, idx, n));
	for (size_t i = 1; i < n; i++) {
		const struct pc_pair *x = pcache_pair_at(c, idx[i - 1]);
		const struct pc_pair *y = pcache_pair_at(c, idx[i]);
		ck_assert_uint_le(x->course, y->course);
		if (x->course == y->course) {
			const char *xs = ids[x->student], *ys = ids[y->student];
			ck_assert_int_lt(cmp_bytes(xs, strlen(xs), ys, strlen(ys)), 0);
		}
	}
	uint32_t st[16];
	for (size_t i = 0; i < nids; i++)
		st[i] = (uint32_t)(nids - 1 - i);
	pcache_sort_students(c, st, nids);
	for (size_t i = 1; i < nids; i++) {
		const char *xs = ids[st[i - 1]], *ys = ids[st[i]];
		ck_assert_int_lt(cmp_bytes(xs, strlen(xs), ys, strlen(ys)), 0);
	}
	pcache_free(c);
}
END_TEST

/* A restart forgets its students but knows, exactly, which it stored
 * and with which values: over three restarts (students met again take
 * their newest values), every stored student is written, with its
 * created batch, every other is not; other values or another id are not
 * taken for the stored ones. */
static void values_of(uint32_t i, unsigned round, char buf[3][32],
		      const char *v[3], size_t len[3])
{
	snprintf(buf[0], 32, "First%u", i % 7);
	snprintf(buf[1], 32, "Last%u-%u", i % 11, round);
	snprintf(buf[2], 32, "s%u@x.org", i);
	for (int k = 0; k < 3; k++) {
		v[k] = buf[k];
		len[k] = strlen(buf[k]);
	}
}

/* A restart leaves at least half its budget to the next part, however
 * many students the batch stored before: the list of remembered students
 * and the filters (6 MiB) together take at most half.  When the list took
 * half and the filters came on top, a 24 MiB budget left the next part
 * almost nothing and the cache restarted every few rows. */
START_TEST(test_restart_leaves_half_the_budget)
{
	const size_t budget = (size_t)16 << 20;
	struct pcache *c = pcache_new(9);
	char id[64], buf[3][32];
	const char *v[3];
	size_t len[3];
	/* 7 x 100,000 stored students: more than half the budget at 16
	 * bytes each. */
	for (unsigned r = 0; r < 8; r++) {
		uint32_t n = r < 7 ? 100000 : 1;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t at = r * 100000 + i;
			id_of(id, sizeof(id), at);
			uint32_t k = pcache_student(c, id, strlen(id), true);
			ck_assert_uint_ne(k, PC_NONE);
			values_of(at, r, buf, v, len);
			ck_assert(pcache_student_values(c, k, v, len));
			pcache_student_at(c, k)->state = PCS_STORED;
		}
		ck_assert(pcache_restart(c, budget));
	}
	/* The last part held one student: its indexes' reserve is small. */
	ck_assert_uint_le(pcache_bytes(c), budget / 2 + ((size_t)256 << 10));
	/* The students past the list are in the filter, not forgotten. */
	id_of(id, sizeof(id), 5);
	ck_assert_int_ne(pcache_student_forgotten(c, id, strlen(id), NULL, NULL),
			 PCF_NOT);
	pcache_free(c);
}
END_TEST

/* The list's room, in the loop's second run: 2,000 students, the rest
 * of the 70,000 stored past it. */
#define SMALL_ROOM 2000

START_TEST(test_restart_remembers_students)
{
	bool small = _i == 1;
	size_t room = small ? SMALL_ROOM * 16 : (size_t)1 << 30;
	struct pcache *c = pcache_new(5);
	char id[64], buf[3][32];
	const char *v[3];
	size_t len[3];
	ck_assert_int_eq(pcache_student_forgotten(c, "S", 1, NULL, NULL), PCF_NOT);
	/* Round r stores students r*MANY/2 .. r*MANY/2 + MANY (each half met
	 * again by the next round, with values of that round); odd ones are
	 * only looked at (absent), never stored. */
	for (unsigned r = 0; r < 3; r++) {
		for (uint32_t i = r * MANY / 2; i < r * MANY / 2 + MANY; i++) {
			id_of(id, sizeof(id), i);
			uint32_t k = pcache_student(c, id, strlen(id), true);
			ck_assert_uint_ne(k, PC_NONE);
			if (i % 2)
				continue;
			values_of(i, r, buf, v, len);
			ck_assert(pcache_student_values(c, k, v, len));
			struct pc_student *e = pcache_student_at(c, k);
			e->state = PCS_STORED;
			e->created = 100 + i % 3;
		}
		/* The budget that leaves the list `room` (no course). */
		ck_assert(pcache_restart(c, 2 * (room + PCACHE_RESTART_BYTES)));
		ck_assert_uint_eq(pcache_student_count(c), 0);
	}
	/* Within its room, whatever the batch's size: the list, both
	 * filters (4 + 2 MiB), the directory, the courses. */
	if (small)
		ck_assert_uint_le(pcache_bytes(c), room * 2 + ((size_t)7 << 20));
	uint32_t created;
	size_t same = 0, other = 0, absent_other = 0;
	for (uint32_t i = 0; i < 2 * MANY; i++) {
		id_of(id, sizeof(id), i);
		size_t n = strlen(id);
		bool stored = i % 2 == 0;
		/* The last round that met it. */
		unsigned r = i / (MANY / 2) > 2 ? 2 : i / (MANY / 2);
		values_of(i, r, buf, v, len);
		uint64_t h = pcache_values_hash(c, v, len);
		created = 0;
		enum pc_forgotten was = pcache_student_forgotten(c, id, n, &h,
								 &created);
		if (!stored) {
			/* Never "not written" for a stored one; for one never
			 * stored, a filter may say "maybe" (past the room). */
			ck_assert_int_ne(was, PCF_SAME);
			if (!small)
				ck_assert_int_eq(was, PCF_NOT);
			absent_other += was == PCF_OTHER;
			continue;
		}
		ck_assert_int_ne(was, PCF_NOT);
		ck_assert_int_ne(pcache_student_forgotten(c, id, n, NULL, NULL),
				 PCF_NOT);
		if (small && was == PCF_OTHER) {
			other++;
			continue;
		}
		ck_assert_int_eq(was, PCF_SAME);
		ck_assert_uint_eq(created, 100 + i % 3);
		same++;
		/* An older round's values, or another student's, are not. */
		if (r > 0) {
			values_of(i, r - 1, buf, v, len);
			h = pcache_values_hash(c, v, len);
			ck_assert_int_eq(pcache_student_forgotten(c, id, n, &h,
								  &created),
					 PCF_OTHER);
		}
		values_of(i + 2, r, buf, v, len);
		h = pcache_values_hash(c, v, len);
		ck_assert_int_eq(pcache_student_forgotten(c, id, n, &h, &created),
				 PCF_OTHER);
	}
	if (small) {
		/* The list holds as many as its room (those met again since
		 * kept their place), the filter the rest. */
		ck_assert_uint_ge(same, SMALL_ROOM / 2);
		ck_assert_uint_le(same, SMALL_ROOM);
		ck_assert_uint_eq(same + other, MANY);
		ck_assert_uint_lt(absent_other, MANY / 10);
	} else {
		ck_assert_uint_eq(same, MANY);
	}
	enum pc_forgotten nobody = pcache_student_forgotten(c, "nobody", 6, NULL,
							  NULL);
	ck_assert_int_ne(nobody, PCF_SAME);
	if (!small)
		ck_assert_int_eq(nobody, PCF_NOT);
	pcache_free(c);
}
END_TEST

START_TEST(test_courses)
{
	struct pcache *c = pcache_new(9);
	ck_assert_ptr_null(pcache_course(c, 0));
	ck_assert_ptr_null(pcache_course(c, -3));
	ck_assert_ptr_null(pcache_course(c, (int64_t)PCACHE_COURSE_MAX + 1));
	struct pc_course *k = pcache_course(c, 300);
	ck_assert_ptr_nonnull(k);
	ck_assert(!k->complete);
	ck_assert_int_eq(k->stored_pairs, -1);
	k->complete = true;
	ck_assert_ptr_nonnull(pcache_course(c, PCACHE_COURSE_MAX));
	ck_assert(pcache_course(c, 300)->complete);
	ck_assert(!pcache_course(c, 299)->complete);
	pcache_clear(c);
	ck_assert(!pcache_course(c, 300)->complete);
	pcache_free(c);
}
END_TEST

static Suite *pair_cache_suite(void)
{
	Suite *s = suite_create("pair_cache");
	TCase *tc = tcase_create("pair_cache");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_students_interned_once);
	tcase_add_test(tc, test_pairs_found_and_kept);
	tcase_add_test(tc, test_values_from_the_cache_itself);
	tcase_add_test(tc, test_sort_u64_matches_qsort);
	tcase_add_test(tc, test_pairs_sorted_by_key);
	tcase_add_test(tc, test_courses);
	tcase_add_loop_test(tc, test_restart_remembers_students, 0, 2);
	tcase_add_test(tc, test_restart_leaves_half_the_budget);
	tcase_add_test(tc, test_reserve);
	tcase_add_test(tc, test_values_hash);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pair_cache_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
