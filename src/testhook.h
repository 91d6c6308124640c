/* testhook: points where the unit tests may hold a thread or inject a failure. */
#ifndef BULKREG_TESTHOOK_H
#define BULKREG_TESTHOOK_H

/*
 * Only the unit tests' copies of chan.c and waitgroup.c are compiled with
 * BULKREG_TEST_HOOKS (see the Makefile); in the library that bulkreg and the
 * benchmarks link, testhook() is an empty inline function and
 * testhook_fail() a constant 0, so nothing of this reaches the binary.
 *
 * testhook(point, obj) runs the test's function (if one is installed) on the
 * calling thread: the test may block there, which holds the thread at that
 * exact point and makes a race window deterministic.  testhook_fail(point)
 * returns an errno value the test wants the next step to fail with, or 0.
 */
enum testhook_point {
	/* chan: a send has chosen its buffer slot (or its receiver) and has
	 * not yet written the value. */
	TESTHOOK_CHAN_SEND_CLAIMED,
	/* chan: a send's value is visible to receivers; the sender has not
	 * yet returned. */
	TESTHOOK_CHAN_SEND_PUBLISHED,
	/* chan: a send through the lock wrote the ring; it still holds the
	 * channel's lock. */
	TESTHOOK_CHAN_SEND_PUBLISHED_LOCKED,
	/* chan: a receive has chosen its slot and has not yet copied it out. */
	TESTHOOK_CHAN_RECV_CLAIMED,
	/* chan: a receive's value is copied out; the receiver has not yet
	 * returned. */
	TESTHOOK_CHAN_RECV_DONE,
	/* chan: a thread is about to wait for the channel's lock (only when
	 * another thread holds it). */
	TESTHOOK_CHAN_LOCK_CONTENDED,
	/* chan: a thread is about to wait: its nodes are linked and the
	 * channels' locks released. */
	TESTHOOK_CHAN_WAITING,
	/* chan: chan_close() marked the channel closed. */
	TESTHOOK_CHAN_CLOSED,
	/* chan: a thread waits for a peer that reserved a place in the ring
	 * before it and is still writing (or emptying) that slot. */
	TESTHOOK_CHAN_INFLIGHT_WAIT,
	/* chan: a blocked operation woke up and has not yet cleaned up. */
	TESTHOOK_CHAN_WOKEN,
	/* chan: failure injection for the waiter's mutex, condition variable
	 * and clock attribute (testhook_fail). */
	TESTHOOK_CHAN_WAITER_INIT,
	/* waitgroup: wg_add changed the counter and has not yet woken the
	 * waiters. */
	TESTHOOK_WG_COUNTED,
	/* waitgroup: wg_wait is about to take the group's lock. */
	TESTHOOK_WG_WAIT_LOCKING
};

#ifdef BULKREG_TEST_HOOKS
/* Defined by the tests (tests/unit/hooks.c). */
extern void (*testhook_fn)(enum testhook_point point, const void *obj);
extern int (*testhook_fail_fn)(enum testhook_point point);

static inline void testhook(enum testhook_point point, const void *obj)
{
	if (testhook_fn)
		testhook_fn(point, obj);
}

static inline int testhook_fail(enum testhook_point point)
{
	return testhook_fail_fn ? testhook_fail_fn(point) : 0;
}
#else
static inline void testhook(enum testhook_point point, const void *obj)
{
	(void)point;
	(void)obj;
}

static inline int testhook_fail(enum testhook_point point)
{
	(void)point;
	return 0;
}
#endif

#endif
