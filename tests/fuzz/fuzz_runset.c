/* fuzz_runset: libFuzzer harness for the spilled runs (runset.c). */
/*
 * The input is a script of runs.  Each run: a byte that says how many
 * records (0-31; 0xff: forget every run, as after a merge), then the
 * records, each a key length (0-15, as the byte's low 4 bits) and its
 * bytes, then a value length (0-63) and its bytes.  A run's keys are
 * sorted and made distinct (runset_add's contract), the last record of a
 * key winning.  After every run, against a model: every key the runs hold
 * is found with its newest value; keys one byte longer or shorter, which
 * may or may not be held, are found exactly when the model has them; a
 * walk over each key's first 0-2 bytes yields exactly the model's keys
 * with that prefix, in order, with their newest values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runset.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

#define KEYS_MAX 2048

struct rec {
	unsigned char key[16], val[64];
	size_t klen, vlen;
};

/* The model: distinct keys, sorted, their newest values. */
static struct rec model[KEYS_MAX];
static size_t nmodel;

static int rec_order(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	return runset_key_cmp(x->key, x->klen, y->key, y->klen);
}

static struct rec *model_find(const unsigned char *key, size_t klen)
{
	struct rec probe = { .klen = klen };
	memcpy(probe.key, key, klen);
	return bsearch(&probe, model, nmodel, sizeof(model[0]), rec_order);
}

static void model_put(const struct rec *r)
{
	struct rec *m = model_find(r->key, r->klen);
	if (m) {
		*m = *r;
		return;
	}
	check(nmodel < KEYS_MAX, "model room");
	model[nmodel++] = *r;
	qsort(model, nmodel, sizeof(model[0]), rec_order);
}

static void expect_find(struct runset *rs, const unsigned char *key,
			size_t klen)
{
	const unsigned char *v;
	size_t vlen;
	bool found;
	struct error err;
	check(runset_find(rs, key, klen, &v, &vlen, &found, &err) == ST_OK,
	      "find succeeds");
	const struct rec *m = model_find(key, klen);
	check(found == (m != NULL), "found exactly the model's keys");
	if (m)
		check(vlen == m->vlen && (vlen == 0 || memcmp(v, m->val, vlen) == 0),
		      "the newest value");
}

struct walk {
	const unsigned char *prefix;
	size_t plen, at;
	bool ok;
};

static bool model_has_prefix(const struct rec *r, const unsigned char *p,
			     size_t plen)
{
	return r->klen >= plen && (plen == 0 || memcmp(r->key, p, plen) == 0);
}

static enum status walk_one(void *ctx, const unsigned char *key, size_t klen,
			    const unsigned char *val, size_t vlen,
			    struct error *err)
{
	(void)err;
	struct walk *w = ctx;
	while (w->at < nmodel && !model_has_prefix(&model[w->at], w->prefix, w->plen))
		w->at++;
	if (w->at == nmodel) {
		w->ok = false;
		return ST_OK;
	}
	const struct rec *m = &model[w->at++];
	if (m->klen != klen || (klen && memcmp(m->key, key, klen) != 0) ||
	    m->vlen != vlen || (vlen && memcmp(m->val, val, vlen) != 0))
		w->ok = false;
	return ST_OK;
}

static void check_all(struct runset *rs)
{
	for (size_t i = 0; i < nmodel; i++) {
		const struct rec *m = &model[i];
		expect_find(rs, m->key, m->klen);
		unsigned char k[17];
		memcpy(k, m->key, m->klen);
		k[m->klen] = 'z';
		expect_find(rs, k, m->klen + 1);
		if (m->klen)
			expect_find(rs, k, m->klen - 1);
		for (size_t plen = 0; plen <= 2 && plen <= m->klen; plen++) {
			struct walk w = { m->key, plen, 0, true };
			struct error err;
			check(runset_each(rs, m->key, plen, walk_one, &w, &err) == ST_OK,
			      "walk succeeds");
			check(w.ok, "the walk yields the model's keys and values");
			for (; w.at < nmodel; w.at++)
				check(!model_has_prefix(&model[w.at], m->key, plen),
				      "the walk leaves nothing out");
		}
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct rec run[32];
	struct runset *rs = runset_new(size);
	check(rs != NULL, "runset_new");
	nmodel = 0;
	size_t at = 0;
	while (at < size) {
		unsigned char head = data[at++];
		if (head == 0xff) {
			runset_clear(rs);
			nmodel = 0;
			continue;
		}
		size_t n = 0, want = head % 32;
		while (n < want && at < size) {
			struct rec *r = &run[n];
			r->klen = data[at++] % 16;
			if (at + r->klen > size)
				break;
			memcpy(r->key, data + at, r->klen);
			at += r->klen;
			r->vlen = at < size ? data[at++] % 64 : 0;
			if (at + r->vlen > size)
				r->vlen = size - at;
			memcpy(r->val, data + at, r->vlen);
			at += r->vlen;
			n++;
		}
		/* Sorted and distinct: of equal keys the later one stays. */
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			size_t j = 0;
			while (j < k && rec_order(&run[j], &run[i]) != 0)
				j++;
			run[j] = run[i];
			if (j == k)
				k++;
		}
		qsort(run, k, sizeof(run[0]), rec_order);
		if (nmodel + k > KEYS_MAX)
			break;
		struct error err;
		check(runset_begin(rs, k, &err) == ST_OK, "begin");
		for (size_t i = 0; i < k; i++) {
			check(runset_add(rs, run[i].key, run[i].klen, run[i].val,
					 run[i].vlen, &err) == ST_OK,
			      "add");
			model_put(&run[i]);
		}
		check(runset_end(rs, &err) == ST_OK, "end");
		check_all(rs);
	}
	runset_free(rs);
	return 0;
}
