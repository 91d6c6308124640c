/* waitgroup: Go's sync.WaitGroup -- wait until a set of tasks has finished. */
#ifndef BULKREG_WAITGROUP_H
#define BULKREG_WAITGROUP_H

#include <pthread.h>
#include <stdatomic.h>

struct waitgroup {
	_Atomic long count;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

/* Returns 0, or an errno value if the mutex or condition cannot be made. */
int wg_init(struct waitgroup *wg);
void wg_destroy(struct waitgroup *wg);

/*
 * Adds delta (may be negative) to the counter.  Driving the counter below
 * zero is a programming error: the process prints a message and aborts, as
 * Go panics.  As in Go, a positive add that starts a new round must happen
 * before the wait() that observes it.
 */
void wg_add(struct waitgroup *wg, long delta);

/* wg_add(wg, -1). */
void wg_done(struct waitgroup *wg);

/*
 * Blocks until the counter is zero.  The group is reusable afterwards --
 * once every wg_wait() of the round has returned: as in Go, a wg_add()
 * that starts a new round while a waiter of the last one has not yet
 * returned may keep that waiter blocked (Go panics; here it is the
 * caller's to avoid, like Go's rule "new Add calls must happen after all
 * previous Wait calls have returned").
 * When it returns, every wg_add()/wg_done() that led to zero has finished
 * with the group, so wg_wait(); wg_destroy(); free() is legal even while
 * the last wg_done()'s thread is still running (Go's wg.Wait() then
 * letting the WaitGroup go).
 */
void wg_wait(struct waitgroup *wg);

#endif
