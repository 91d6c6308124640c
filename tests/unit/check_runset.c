/* check_runset: sorted runs spilled to a temporary file, against a model. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runset.h"
#include "splitmix.h"

/* The model: every key of a pool, its newest value (or none). */
#define POOL 3000
#define KEY_MAX 12

struct key {
	unsigned char b[KEY_MAX];
	size_t len;
	bool present;               /* some run holds it */
	unsigned char val[64];
	size_t vlen;
};

static struct key pool[POOL];

static int key_order(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	return runset_key_cmp(x->b, x->len, y->b, y->len);
}

/* Keys of few symbols, 0x00 and 0xff among them, and of every length from
 * 0: many are prefixes of others.  Sorted, distinct. */
static size_t pool_make(uint64_t seed)
{
	static const unsigned char sym[] = { 0x00, 'a', 'b', 0xff };
	for (size_t i = 0; i < POOL; i++) {
		uint64_t r = splitmix64(seed + i);
		pool[i] = (struct key){ .len = r % (KEY_MAX + 1) };
		for (size_t k = 0; k < pool[i].len; k++)
			pool[i].b[k] = sym[(r >> (8 + 2 * k)) & 3];
	}
	qsort(pool, POOL, sizeof(pool[0]), key_order);
	size_t n = 0;
	for (size_t i = 0; i < POOL; i++)
		if (n == 0 || key_order(&pool[n - 1], &pool[i]) != 0)
			pool[n++] = pool[i];
	return n;
}

struct walk {
	size_t n, at;
	const unsigned char *prefix;
	size_t plen;
	bool ok;
};

static bool has_prefix(const struct key *k, const unsigned char *p, size_t plen)
{
	return k->len >= plen && (plen == 0 || memcmp(k->b, p, plen) == 0);
}

/* Each call must be the next model key with the prefix. */
static enum status walk_one(void *ctx, const unsigned char *key, size_t klen,
			    const unsigned char *val, size_t vlen,
			    struct error *err)
{
	(void)err;
	struct walk *w = ctx;
	while (w->at < w->n &&
	       !(pool[w->at].present && has_prefix(&pool[w->at], w->prefix, w->plen)))
		w->at++;
	if (w->at == w->n) {
		w->ok = false;
		return ST_OK;
	}
	const struct key *k = &pool[w->at++];
	if (k->len != klen || (klen && memcmp(k->b, key, klen) != 0) ||
	    k->vlen != vlen || (vlen && memcmp(k->val, val, vlen) != 0))
		w->ok = false;
	return ST_OK;
}

static void check_against_model(struct runset *rs, size_t n, uint64_t seed)
{
	struct error err;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *v;
		size_t vlen;
		bool found;
		ck_assert_int_eq(runset_find(rs, pool[i].b, pool[i].len, &v, &vlen,
					     &found, &err),
				 ST_OK);
		ck_assert_int_eq(found, pool[i].present);
		if (found) {
			ck_assert_uint_eq(vlen, pool[i].vlen);
			ck_assert(vlen == 0 || memcmp(v, pool[i].val, vlen) == 0);
		}
	}
	/* Keys not in the pool at all. */
	const unsigned char other[] = { 'c', 'a' };
	const unsigned char *v;
	size_t vlen;
	bool found;
	ck_assert_int_eq(runset_find(rs, other, sizeof(other), &v, &vlen, &found,
				     &err),
			 ST_OK);
	ck_assert(!found);
	/* Every prefix of up to 3 symbols, and none. */
	for (int t = 0; t < 24; t++) {
		uint64_t r = splitmix64(seed * 31 + (uint64_t)t);
		unsigned char prefix[3];
		size_t plen = t == 0 ? 0 : r % 4;
		for (size_t k = 0; k < plen; k++)
			prefix[k] = "\x00" "ab\xff"[(r >> (8 + 2 * k)) & 3];
		struct walk w = { n, 0, prefix, plen, true };
		ck_assert_int_eq(runset_each(rs, prefix, plen, walk_one, &w, &err),
				 ST_OK);
		ck_assert(w.ok);
		/* And nothing left out. */
		for (; w.at < n; w.at++)
			ck_assert(!(pool[w.at].present &&
				    has_prefix(&pool[w.at], prefix, plen)));
	}
}

/* Runs of random subsets of the pool, each key's value telling the run:
 * a look-up and a walk find the newest, after every run, across a clear. */
START_TEST(test_runs_against_model)
{
	uint64_t seed = 1000 + (uint64_t)_i;
	size_t n = pool_make(seed);
	struct runset *rs = runset_new(seed);
	ck_assert_ptr_nonnull(rs);
	struct error err;
	for (int run = 0; run < 12; run++) {
		if (run == 7) { /* a merge elsewhere: the runs are forgotten */
			runset_clear(rs);
			ck_assert_uint_eq(runset_count(rs), 0);
			ck_assert_uint_eq(runset_records(rs), 0);
			for (size_t i = 0; i < n; i++)
				pool[i].present = false;
		}
		size_t share = 1 + splitmix64(seed + 77 * (uint64_t)run) % 3;
		size_t wrote = 0;
		ck_assert_int_eq(runset_begin(rs, n, &err), ST_OK);
		for (size_t i = 0; i < n; i++) {
			uint64_t r = splitmix64(seed ^ ((uint64_t)run << 32) ^ i);
			if (r % share != 0)
				continue;
			struct key *k = &pool[i];
			k->vlen = r >> 58; /* 0..63 bytes, some empty */
			for (size_t b = 0; b < k->vlen; b++)
				k->val[b] = (unsigned char)(run * 7 + (int)b);
			k->present = true;
			ck_assert_int_eq(runset_add(rs, k->b, k->len, k->val, k->vlen,
						    &err),
					 ST_OK);
			wrote++;
		}
		ck_assert_int_eq(runset_end(rs, &err), ST_OK);
		ck_assert_uint_eq(runset_count(rs), run < 7 ? run + 1 : run - 6);
		ck_assert(runset_bytes(rs) > 0);
		(void)wrote;
		check_against_model(rs, n, seed + (uint64_t)run);
	}
	runset_free(rs);
}
END_TEST

/* A run with no record is not kept; one of a record bigger than the write
 * buffer reads back whole. */
START_TEST(test_empty_and_big_records)
{
	struct runset *rs = runset_new(5);
	struct error err;
	ck_assert_int_eq(runset_begin(rs, 10, &err), ST_OK);
	ck_assert_int_eq(runset_end(rs, &err), ST_OK);
	ck_assert_uint_eq(runset_count(rs), 0);
	size_t big = (size_t)1 << 20;
	unsigned char *val = malloc(big);
	ck_assert_ptr_nonnull(val);
	for (size_t i = 0; i < big; i++)
		val[i] = (unsigned char)splitmix64(i);
	ck_assert_int_eq(runset_begin(rs, 3, &err), ST_OK);
	ck_assert_int_eq(runset_add(rs, "a", 1, "x", 1, &err), ST_OK);
	ck_assert_int_eq(runset_add(rs, "b", 1, val, big, &err), ST_OK);
	ck_assert_int_eq(runset_add(rs, "c", 1, "", 0, &err), ST_OK);
	ck_assert_int_eq(runset_end(rs, &err), ST_OK);
	const unsigned char *v;
	size_t vlen;
	bool found;
	ck_assert_int_eq(runset_find(rs, "b", 1, &v, &vlen, &found, &err), ST_OK);
	ck_assert(found);
	ck_assert_uint_eq(vlen, big);
	ck_assert(memcmp(v, val, big) == 0);
	ck_assert_int_eq(runset_find(rs, "c", 1, &v, &vlen, &found, &err), ST_OK);
	ck_assert(found);
	ck_assert_uint_eq(vlen, 0);
	ck_assert_int_eq(runset_find(rs, "", 0, &v, &vlen, &found, &err), ST_OK);
	ck_assert(!found);
	free(val);
	runset_free(rs);
}
END_TEST

/* Keys out of order are the caller's mistake: abort. */
START_TEST(test_out_of_order_aborts)
{
	struct runset *rs = runset_new(5);
	struct error err;
	ck_assert_int_eq(runset_begin(rs, 3, &err), ST_OK);
	ck_assert_int_eq(runset_add(rs, "b", 1, "", 0, &err), ST_OK);
	runset_add(rs, "a", 1, "", 0, &err);
}
END_TEST

/* No temporary file: ST_IO naming the directory, nothing kept. */
START_TEST(test_no_temporary_directory)
{
	setenv("TMPDIR", "/nonexistent-bulkreg-dir", 1);
	struct runset *rs = runset_new(5);
	struct error err = { "" };
	ck_assert_int_eq(runset_begin(rs, 3, &err), ST_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-bulkreg-dir"));
	ck_assert_uint_eq(runset_count(rs), 0);
	runset_free(rs);
	unsetenv("TMPDIR");
}
END_TEST

static Suite *runset_suite(void)
{
	Suite *s = suite_create("runset");
	TCase *tc = tcase_create("runset");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_runs_against_model, 0, 4);
	tcase_add_test(tc, test_empty_and_big_records);
	tcase_add_test_raise_signal(tc, test_out_of_order_aborts, SIGABRT);
	tcase_add_test(tc, test_no_temporary_directory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(runset_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
