/* hooks: the tests' side of src/testhook.h; see hooks.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "hooks.h"

enum { NPOINTS = 16 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool reached, released;
static _Atomic long counts[NPOINTS];
static _Atomic int fail_point = -1, fail_rc;
static _Thread_local int armed = -1;

static void on_hook(enum testhook_point point, const void *obj)
{
	(void)obj;
	atomic_fetch_add(&counts[point], 1);
	if (armed != (int)point)
		return;
	armed = -1; /* only the first time */
	pthread_mutex_lock(&mu);
	reached = true;
	pthread_cond_broadcast(&cv);
	while (!released)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static int on_fail(enum testhook_point point)
{
	int expected = (int)point;
	if (atomic_compare_exchange_strong(&fail_point, &expected, -1))
		return atomic_load(&fail_rc);
	return 0;
}

void (*testhook_fn)(enum testhook_point, const void *) = on_hook;
int (*testhook_fail_fn)(enum testhook_point) = on_fail;

void hooks_reset(void)
{
	pthread_mutex_lock(&mu);
	reached = released = false;
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < NPOINTS; i++)
		atomic_store(&counts[i], 0);
	atomic_store(&fail_point, -1);
}

void hold_arm(enum testhook_point point)
{
	armed = (int)point;
}

void hold_disarm(void)
{
	armed = -1;
}

bool hold_reached(double timeout)
{
	struct timespec end;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += (time_t)timeout;
	pthread_mutex_lock(&mu);
	int rc = 0;
	while (!reached && rc == 0)
		rc = pthread_cond_timedwait(&cv, &mu, &end);
	bool r = reached;
	pthread_mutex_unlock(&mu);
	return r;
}

void hold_release(void)
{
	pthread_mutex_lock(&mu);
	released = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

long hook_count(enum testhook_point point)
{
	return atomic_load(&counts[point]);
}

void hook_fail_next(enum testhook_point point, int rc)
{
	atomic_store(&fail_rc, rc);
	atomic_store(&fail_point, (int)point);
}
