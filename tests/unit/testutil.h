/* testutil: small helpers shared by the unit tests. */
#ifndef BULKREG_TESTUTIL_H
#define BULKREG_TESTUTIL_H

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "splitmix.h" /* splitmix64, for checksums */

/* Seconds on CLOCK_MONOTONIC. */
double now_seconds(void);

/*
 * Polls `cond(arg)` (yielding the CPU between polls) until it is true or
 * `timeout` seconds pass; returns whether it became true.  This observes a
 * state another thread reaches; it never stands in for synchronisation.
 */
bool wait_until(bool (*cond)(void *), void *arg, double timeout);

/* pthread_create/join that fail the test on error. */
pthread_t start_thread(void *(*fn)(void *), void *arg);
void join_thread(pthread_t t);


/* Reads an environment variable as a positive integer, or `fallback`. */
long env_long(const char *name, long fallback);

#endif
