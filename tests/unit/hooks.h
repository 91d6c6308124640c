/* hooks: hold one thread at a test hook point (src/testhook.h). */
#ifndef BULKREG_HOOKS_H
#define BULKREG_HOOKS_H

#include <stdbool.h>

#include "testhook.h"

/*
 * One hold at a time.  hold_arm(point) arms the calling thread (only it
 * stops there, and only the first time it reaches the point); the test's
 * other thread waits for hold_reached() and lets it go with
 * hold_release().  Both block on a condition variable, never a sleep.
 * hold_note(point) counts every thread that reaches a point (any thread),
 * so a test can wait until, say, a closer is waiting for a channel's lock.
 */
void hooks_reset(void);
void hold_arm(enum testhook_point point);
void hold_disarm(void);
/* Waits until the armed thread is held (true), or `timeout` s pass. */
bool hold_reached(double timeout);
void hold_release(void);
/* How many times any thread passed `point` since hooks_reset(). */
long hook_count(enum testhook_point point);
/* The next waiter initialisation in this process fails with `rc`. */
void hook_fail_next(enum testhook_point point, int rc);

#endif
