/* monotime: seconds elapsed on the monotonic clock (timings, --wait). */
#ifndef BULKREG_MONOTIME_H
#define BULKREG_MONOTIME_H

#include <time.h>

/* Now, on CLOCK_MONOTONIC. */
struct timespec monotime_now(void);

/* Seconds from t0 (a monotime_now()) to now. */
double monotime_since(const struct timespec *t0);

#endif
