/* bench_chan: channel and pool throughput (messages per second). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan.h"
#include "pool.h"

/*
 * Prints one line per measurement: name, messages, seconds, M msg/s.
 * Each figure is the best of BENCH_REPEAT runs (default 3), which is what a
 * throughput bench should report on a shared 2-core machine.
 */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct prod {
	struct chan *ch;
	long n;
};

/* The fields are copied out first: `p` lives in the consumer's stack frame,
 * beside the variable it receives into, and reading it on every send would
 * bounce that cache line between the cores (false sharing), a cost of the
 * harness, not of the channel.  Go's producers keep theirs in registers. */
static void *producer(void *arg)
{
	const struct prod *p = arg;
	struct chan *ch = p->ch;
	const long n = p->n;
	for (long i = 0; i < n; i++)
		if (chan_send(ch, &i) != CHAN_OK)
			abort();
	return NULL;
}

/* n_prod producers -> 1 consumer (the calling thread). */
static double run_pc(size_t cap, int n_prod, long total)
{
	struct chan *ch = chan_new(sizeof(long), cap);
	pthread_t t[8];
	struct prod p = {ch, total / n_prod};
	double t0 = now();
	for (int i = 0; i < n_prod; i++)
		pthread_create(&t[i], NULL, producer, &p);
	long v, sum = 0;
	for (long i = 0; i < p.n * n_prod; i++) {
		if (chan_recv(ch, &v) != CHAN_OK)
			abort();
		sum += v;
	}
	for (int i = 0; i < n_prod; i++)
		pthread_join(t[i], NULL);
	double dt = now() - t0;
	if (sum != (long)n_prod * (p.n * (p.n - 1) / 2))
		abort();
	chan_free(ch);
	return dt;
}

struct sel_prod {
	struct chan *ch;
	long n;
};

static double run_select(long total)
{
	enum { K = 4 };
	struct chan *ch[K];
	pthread_t t[K];
	struct prod p[K];
	for (int i = 0; i < K; i++) {
		ch[i] = chan_new(sizeof(long), 1024);
		p[i] = (struct prod){ch[i], total / K};
	}
	double t0 = now();
	for (int i = 0; i < K; i++)
		pthread_create(&t[i], NULL, producer, &p[i]);
	long vals[K];
	struct chan_case cases[K];
	for (int i = 0; i < K; i++)
		cases[i] = (struct chan_case){ch[i], CHAN_RECV, &vals[i]};
	for (long i = 0; i < p[0].n * K; i++) {
		size_t k;
		if (chan_select(cases, K, CHAN_SELECT_BLOCK, NULL, &k) != CHAN_OK)
			abort();
	}
	for (int i = 0; i < K; i++)
		pthread_join(t[i], NULL);
	double dt = now() - t0;
	for (int i = 0; i < K; i++)
		chan_free(ch[i]);
	return dt;
}

static _Atomic long pool_counter;

static int pool_task(void *arg)
{
	(void)arg;
	atomic_fetch_add_explicit(&pool_counter, 1, memory_order_relaxed);
	return 0;
}

static double run_pool(long total)
{
	struct pool *p;
	if (pool_new(2, 1024, &p, NULL) != POOL_OK)
		abort();
	atomic_store(&pool_counter, 0);
	double t0 = now();
	for (long i = 0; i < total; i++)
		pool_submit(p, pool_task, NULL);
	pool_shutdown(p);
	double dt = now() - t0;
	if (atomic_load(&pool_counter) != total)
		abort();
	pool_free(p);
	return dt;
}

static void report(const char *name, long n, double (*fn)(void *), void *arg,
		   int repeat)
{
	/* BENCH_CHAN_FILTER=text: run only the figures whose name contains it
	 * (BENCH_ONLY is tests/bench/run's, for its sections). */
	const char *only = getenv("BENCH_CHAN_FILTER");
	if (only && *only && !strstr(name, only))
		return;
	double best = 1e30;
	for (int r = 0; r < repeat; r++) {
		double dt = fn(arg);
		if (dt < best)
			best = dt;
	}
	printf("%-28s %10ld %8.3f s %8.2f M msg/s\n", name, n, best, n / best / 1e6);
	fflush(stdout);
}

struct pc_arg {
	size_t cap;
	int prod;
	long n;
};

static double pc_thunk(void *a)
{
	struct pc_arg *x = a;
	return run_pc(x->cap, x->prod, x->n);
}

static double select_thunk(void *a)
{
	return run_select(*(long *)a);
}

static double pool_thunk(void *a)
{
	return run_pool(*(long *)a);
}

int main(void)
{
	const char *r = getenv("BENCH_REPEAT");
	int repeat = r ? atoi(r) : 3;
	if (repeat < 1)
		repeat = 1;
	long n_buf = 10000000, n_unbuf = 1000000, n_sel = 4000000, n_pool = 2000000;
	struct pc_arg b11 = {1024, 1, n_buf}, b41 = {1024, 4, n_buf},
		      u11 = {0, 1, n_unbuf};
	report("buffered(1024) 1->1", n_buf, pc_thunk, &b11, repeat);
	report("buffered(1024) 4->1", n_buf, pc_thunk, &b41, repeat);
	report("unbuffered 1->1", n_unbuf, pc_thunk, &u11, repeat);
	report("select over 4 (1024)", n_sel, select_thunk, &n_sel, repeat);
	report("pool submit+run (2 workers)", n_pool, pool_thunk, &n_pool, repeat);
	return 0;
}
