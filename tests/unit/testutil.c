/* testutil: helpers shared by the unit tests; see testutil.h. */
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "testutil.h"

double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool wait_until(bool (*cond)(void *), void *arg, double timeout)
{
	double end = now_seconds() + timeout;
	while (!cond(arg)) {
		if (now_seconds() > end)
			return false;
		sched_yield();
	}
	return true;
}

pthread_t start_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	int rc = pthread_create(&t, NULL, fn, arg);
	ck_assert_int_eq(rc, 0);
	return t;
}

void join_thread(pthread_t t)
{
	ck_assert_int_eq(pthread_join(t, NULL), 0);
}

long env_long(const char *name, long fallback)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return fallback;
	char *end;
	long v = strtol(s, &end, 10);
	return (*end || v <= 0) ? fallback : v;
}
