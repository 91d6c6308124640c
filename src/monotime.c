/* monotime: seconds elapsed on the monotonic clock; see monotime.h. */
#include "monotime.h"

struct timespec monotime_now(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now;
}

double monotime_since(const struct timespec *t0)
{
	struct timespec now = monotime_now();
	return (double)(now.tv_sec - t0->tv_sec) +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}
