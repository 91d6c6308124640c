/* waitgroup: a counter plus a condition variable; see waitgroup.h. */
#include <stdio.h>
#include <stdlib.h>

#include "testhook.h"
#include "waitgroup.h"

/*
 * Every access to the counter holds the mutex, wg_wait() included: a waiter
 * returns only after taking the mutex that the last wg_done() released, so
 * by then that thread has finished with the group, and wg_wait();
 * wg_destroy(); free() is legal (Go lets a WaitGroup go after Wait()).  The
 * fast path that read the counter without the lock could return while the
 * last wg_done() was still about to lock the mutex (issue 10).
 */

int wg_init(struct waitgroup *wg)
{
	int rc;
	atomic_init(&wg->count, 0);
	if ((rc = pthread_mutex_init(&wg->mu, NULL)) != 0)
		return rc;
	if ((rc = pthread_cond_init(&wg->cv, NULL)) != 0) {
		pthread_mutex_destroy(&wg->mu);
		return rc;
	}
	return 0;
}

void wg_destroy(struct waitgroup *wg)
{
	pthread_cond_destroy(&wg->cv);
	pthread_mutex_destroy(&wg->mu);
}

static void lock(pthread_mutex_t *m)
{
	if (pthread_mutex_lock(m) != 0) {
		fprintf(stderr, "bulkreg: fatal: waitgroup mutex is corrupted "
				"(used after wg_destroy?)\n");
		abort();
	}
}

void wg_add(struct waitgroup *wg, long delta)
{
	lock(&wg->mu);
	long now = atomic_load_explicit(&wg->count, memory_order_relaxed) + delta;
	if (now < 0) {
		fprintf(stderr, "bulkreg: fatal: waitgroup counter went negative "
				"(%ld): wg_done() called more often than wg_add()\n",
			now);
		abort();
	}
	atomic_store_explicit(&wg->count, now, memory_order_relaxed);
	testhook(TESTHOOK_WG_COUNTED, wg);
	if (now == 0 && delta != 0)
		pthread_cond_broadcast(&wg->cv);
	pthread_mutex_unlock(&wg->mu);
	/* Not one access to *wg after the unlock: a waiter may free it. */
}

void wg_done(struct waitgroup *wg)
{
	wg_add(wg, -1);
}

void wg_wait(struct waitgroup *wg)
{
	testhook(TESTHOOK_WG_WAIT_LOCKING, wg);
	lock(&wg->mu);
	while (atomic_load_explicit(&wg->count, memory_order_relaxed) != 0)
		pthread_cond_wait(&wg->cv, &wg->mu);
	pthread_mutex_unlock(&wg->mu);
}
