/* waitgroup: a counter plus a condition variable; see waitgroup.h. */
#include <stdio.h>
#include <stdlib.h>

#include "waitgroup.h"

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

void wg_add(struct waitgroup *wg, long delta)
{
	long now = atomic_fetch_add(&wg->count, delta) + delta;
	if (now < 0) {
		fprintf(stderr, "bulkreg: fatal: waitgroup counter went negative "
				"(%ld): wg_done() called more often than wg_add()\n",
			now);
		abort();
	}
	if (now == 0 && delta != 0) {
		/* Broadcast under the mutex: a waiter that read a non-zero count
		 * holds it until it sleeps, so this wakeup cannot be lost. */
		pthread_mutex_lock(&wg->mu);
		pthread_cond_broadcast(&wg->cv);
		pthread_mutex_unlock(&wg->mu);
	}
}

void wg_done(struct waitgroup *wg)
{
	wg_add(wg, -1);
}

void wg_wait(struct waitgroup *wg)
{
	if (atomic_load(&wg->count) == 0)
		return;
	pthread_mutex_lock(&wg->mu);
	while (atomic_load(&wg->count) != 0)
		pthread_cond_wait(&wg->cv, &wg->mu);
	pthread_mutex_unlock(&wg->mu);
}
