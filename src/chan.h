/* chan: Go's `chan T` in C11 -- bounded, typed-by-size, copy-by-value channels. */
#ifndef BULKREG_CHAN_H
#define BULKREG_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/*
 * A channel carries elements of one fixed size, copied in and out by value.
 * Capacity 0 makes it unbuffered: a send completes only when a receiver has
 * taken the value (a rendezvous), exactly like Go.
 *
 * Every operation returns a chan_status.  Nothing here prints, raises or
 * aborts on a runtime condition: sending on a closed channel and closing twice
 * are reported as CHAN_CLOSED, not panics.
 *
 * Deadlines are absolute CLOCK_MONOTONIC times (see chan_deadline_after());
 * one whose tv_nsec is outside 0..999,999,999 is CHAN_INVALID, at once.
 *
 * Lifetime (tests/unit/check_chan_races.c holds a thread at the points where
 * it could still touch the channel, frees the channel under it, and runs
 * Go's reply-channel idiom many times under AddressSanitizer):
 *   - When an operation returns, the calling thread is done with the
 *     channel, and so is every thread that paired with it: once a receive
 *     returns a value, the thread that sent that value no longer touches
 *     the channel (buffered or not); once a send on an unbuffered channel
 *     returns, the receiver that took it no longer does; once an operation
 *     returns CHAN_CLOSED, the thread that closed it no longer does.
 *   - So a channel may be freed as soon as no thread is inside an operation
 *     on it or will start one -- in particular right after receiving the
 *     one reply it was made for (Go's `reply := make(chan T)` idiom).
 *     (A peer that completed under the channel's lock may still be
 *     unlocking it; chan_free waits for that.)
 *   - A send is never half done: a value is either not sent or receivable,
 *     so a non-blocking receive on a closed channel never says "would
 *     block"; it gets the value or CHAN_CLOSED.
 */

enum chan_status {
	CHAN_OK = 0,
	CHAN_CLOSED,     /* send/close: channel closed; recv: closed and drained */
	CHAN_WOULDBLOCK, /* a non-blocking operation could not proceed */
	CHAN_TIMEOUT,    /* the deadline passed first */
	CHAN_NOMEM,      /* an allocation (or the mutex or condition variable
			  * a blocking thread needs) failed; nothing happened */
	CHAN_INVALID     /* bad arguments (a programming error the caller can see) */
};

struct chan;

enum chan_dir { CHAN_SEND, CHAN_RECV };

/* Returns a new channel, or NULL if elem_size is 0, elem_size * capacity
 * does not fit in a size_t, or memory ran out. */
struct chan *chan_new(size_t elem_size, size_t capacity);

/* Frees the channel.  No thread may be inside an operation on it or start
 * one later (see "Lifetime" above: a completed peer does not count).
 * NULL is fine. */
void chan_free(struct chan *ch);

/*
 * Closes the channel: every blocked sender and receiver wakes.  Values already
 * buffered can still be received.  Returns CHAN_CLOSED if it was closed before.
 */
enum chan_status chan_close(struct chan *ch);

/* Blocks until the value is buffered or (unbuffered) taken by a receiver. */
enum chan_status chan_send(struct chan *ch, const void *elem);

/* Blocks until a value arrives (CHAN_OK) or the channel is closed and drained. */
enum chan_status chan_recv(struct chan *ch, void *out);

/* Non-blocking variants: CHAN_WOULDBLOCK instead of waiting. */
enum chan_status chan_try_send(struct chan *ch, const void *elem);
enum chan_status chan_try_recv(struct chan *ch, void *out);

/* Deadline variants: CHAN_TIMEOUT once `deadline` passes (NULL = no deadline). */
enum chan_status chan_send_until(struct chan *ch, const void *elem,
				 const struct timespec *deadline);
enum chan_status chan_recv_until(struct chan *ch, void *out,
				 const struct timespec *deadline);

/* Number of buffered values (0 for unbuffered channels) and the capacity. */
size_t chan_len(struct chan *ch);
size_t chan_cap(const struct chan *ch);

/* Blocked operations in `dir` on this channel: one per blocked thread,
 * except a select, which counts once per case it waits with on this
 * channel in `dir` (two receive cases on one channel: 2).  For tests and
 * diagnostics: lets a test know a thread is really asleep without sleeping
 * itself. */
size_t chan_waiters(struct chan *ch, enum chan_dir dir);

/* True once chan_close() has been called (values may still be buffered). */
bool chan_is_closed(struct chan *ch);

/* ---- select ------------------------------------------------------------ */

struct chan_case {
	struct chan *ch;   /* NULL: the case is never ready (like a nil chan) */
	enum chan_dir dir;
	void *elem;        /* send: value to send; recv: where to store it */
};

enum chan_select_mode {
	CHAN_SELECT_BLOCK,   /* wait until a case is ready (or the deadline) */
	CHAN_SELECT_DEFAULT  /* Go's `default:`: never wait */
};

/*
 * Waits until one of the cases can proceed, performs exactly that one and
 * stores its index in *chosen.  When several are ready the choice is uniformly
 * random, so no case starves -- a case ready only through a peer asleep on
 * its channel included.  With no case that has a channel (ncases 0, or
 * every ch NULL), CHAN_SELECT_BLOCK and no deadline, it would block
 * forever (Go's `select {}`): CHAN_INVALID instead.
 *
 * Returns:
 *   CHAN_OK          a send completed, or a receive got a value;
 *   CHAN_CLOSED      *chosen is a receive on a closed, drained channel (Go's
 *                    ok == false), or a send on a closed channel;
 *   CHAN_WOULDBLOCK  mode is CHAN_SELECT_DEFAULT and nothing was ready;
 *   CHAN_TIMEOUT     the deadline (NULL = none) passed;
 *   CHAN_NOMEM / CHAN_INVALID  nothing happened (CHAN_INVALID also for a
 *                    case whose dir is neither CHAN_SEND nor CHAN_RECV, or
 *                    a channel without elem).
 */
enum chan_status chan_select(struct chan_case *cases, size_t ncases,
			     enum chan_select_mode mode,
			     const struct timespec *deadline, size_t *chosen);

/* An absolute CLOCK_MONOTONIC deadline `seconds` from now (at most 1e9
 * seconds, about 31 years: more, or infinity, is that far; 0, less or NaN
 * is now). */
struct timespec chan_deadline_after(double seconds);

/* A short English name for a status ("ok", "closed", ...). */
const char *chan_status_str(enum chan_status st);

#endif
