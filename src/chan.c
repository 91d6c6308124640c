/* chan: bounded channels, select, deadlines -- see chan.h for the contract. */
#define _GNU_SOURCE /* PTHREAD_MUTEX_ADAPTIVE_NP, where glibc has it */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "splitmix.h"
#include "testhook.h"

/*
 * How it works: Go's runtime/chan.go, with a pthread mutex per channel, and
 * a lock-free fast path for buffered channels.
 *
 * Waiting.  A thread that cannot proceed becomes a `waiter` (one per
 * thread, reused) with one `node` per case, linked into the send or receive
 * queue of each channel of its select, under those channels' locks.  A
 * waiter is only ever completed by the thread that finds it: a sender that
 * finds a waiting receiver copies its value straight into the receiver's
 * buffer (a receiver of a buffered channel waits only while it is empty);
 * a receiver that empties a slot of a full ring refills it from the first
 * waiting sender; close completes every waiter with CHAN_CLOSED.  The
 * waiter's state moves once from WAITING to DONE (by whoever completes it)
 * or CANCELLED (its own deadline), by compare-and-swap, so a select is
 * completed at most once.
 *
 * Buffered channels.  Values live in a ring; a lock-free send or receive
 * first reserves its position, each side by compare-and-swap on its own
 * word (`head` for sends, `tail` for receives, on cache lines of their
 * own), and only then takes a slot.  Each word also carries the flag "the
 * other side sleeps", raised under the lock only while the ring is still
 * full (empty) and open, and a lock-free reservation is refused while the
 * flag in its word is up: so "must I sleep?" and "must I wake someone?"
 * are decided on the one word both questions change, and no wakeup can be
 * lost, whatever order slots are written in.  The ring before issue 10
 * decided them on the slots and lost wakeups when sends finished out of
 * order.  A reservation is never half a send: a receiver that reserved a
 * value whose slot is still being written waits for it (see wait_slot),
 * so a receive after close never says "would block" while a value is on
 * its way.  In steady traffic neither side writes the other's line, and a
 * side that finds the ring full (empty) waits for the other to move a
 * batch on rather than following it slot by slot (see "the ring" below).
 *
 * Lifetimes (the rule chan.h states).  A lock-free send's last access to
 * the channel is the store that publishes its value.  A completing thread
 * records the outcome and unlinks every node of the waiter on that channel
 * while it holds the lock, releases the lock, and only then signals the
 * waiter; a woken waiter never touches the channel that completed it again
 * (it unlinks its nodes from the other channels of its select only).  So
 * when an operation returns, the peer that paired with it has finished
 * with the channel, and the channel may be freed at once -- Go's
 * reply-channel idiom.  A thread that completes its peer while holding the
 * lock (a send that writes the ring under it; a close, whose closed bit a
 * lock-free receive may see at once) still has to unlock it: chan_free
 * takes the lock once before freeing, so that unlock is over first.  See waiter_signal() for how the signaller lets go
 * of the waiter itself.
 *
 * Waiting spins briefly before it sleeps on the waiter's condition
 * variable: a hand-off between two running threads then costs no system
 * call (Go's runtime and glibc's adaptive mutexes spin the same way).
 */

/* Spin budgets (tests/bench/bench_chan).  A waiter polls before it sleeps:
 * pausing briefly, then yielding, lets a peer on the other core complete
 * the operation without a futex wait and wake; yielding rather than
 * pausing keeps 16 threads on 2 cores from starving the peer.  A lock-free
 * operation on a full or empty ring first waits for the other side in
 * rounds of 1, 2, 4, ... pauses (see wait_for_peer). */
#define SPIN_SIGNAL 100  /* polls of `signaled` before sleeping */
#define SPIN_PAUSES 8    /* polls that pause; later ones yield the CPU */
#define SPIN_TRIES 40    /* wait_for_peer calls before the locked path */
#define PEER_ROUNDS 7    /* rounds of one wait_for_peer (127 pauses) */
#define PEER_BATCH 32    /* progress worth waiting for (at most cap/4) */
#define SMALL_SELECT 8   /* cases handled with stack storage */

enum waiter_state { W_WAITING, W_DONE, W_CANCELLED };

struct node;

struct waiter {
	_Atomic int state;
	_Atomic int signaled;
	struct node *nodes;        /* one per case of the current operation */
	size_t nnodes;
	/* Set by the completing thread, under its channel's lock: */
	struct chan *done_ch;
	size_t done_case;
	enum chan_status done_status;
	struct waiter *wake_next;  /* its list of waiters to signal */
	bool woken;                /* under mu: see waiter_signal() */
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

struct node {
	struct node *prev, *next;
	struct waiter *w;
	struct chan *ch;   /* NULL: a nil case, never linked */
	void *elem;        /* send: the value; receive: where it goes */
	size_t case_index;
	enum chan_dir dir;
	bool linked;
};

struct queue {
	struct node *head, *tail;
};

/* The two position words of a buffered channel (see "the ring" below).
 * `head` counts the positions sends have reserved, `tail` those receives
 * have reserved; each also carries the flag "the other side sleeps" (in
 * `head`: receivers do; in `tail`: senders do), and `head` carries the
 * closed bit. */
#define POS_CLOSED (UINT64_C(1) << 63)
#define POS_SLEEPERS (UINT64_C(1) << 62)
#define POS_COUNT (POS_SLEEPERS - 1)

struct slot {
	_Atomic uint64_t seq;
	/* elem_size bytes follow, 16-byte aligned */
};

/* Senders and receivers of a buffered channel each write their own cache
 * line, never the other's: the figures of tests/bench/bench_chan depend on
 * it (a line written by both sides moves between the cores on every
 * message). */
struct chan {
	/* Read-only after chan_new(): */
	size_t elem_size, cap, slot_size;
	bool cap_pow2;              /* slot index by mask, not division */
	unsigned char *slots;
	/* The senders' line: */
	_Alignas(64) _Atomic uint64_t head;
	_Atomic uint64_t tail_seen; /* a value of tail's count, maybe old */
	/* The receivers' line: */
	_Alignas(64) _Atomic uint64_t tail;
	_Atomic uint64_t head_seen; /* a value of head's count, maybe old */
	_Alignas(64) pthread_mutex_t mu;
	struct queue recvq, sendq;
	size_t nwaiting[2];   /* linked nodes per direction */
	_Atomic bool closed;  /* written under mu; read anywhere */
};

/* ---- small helpers ------------------------------------------------------ */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static inline void spin_wait(int i)
{
	if (i < SPIN_PAUSES)
		cpu_relax();
	else
		sched_yield();
}

static _Thread_local uint64_t rng_state;
static _Thread_local bool rng_seeded;

static uint64_t rng_next(void)
{
	/* splitmix64 per thread: cheap, good enough for fair case order. */
	if (!rng_seeded) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		rng_state = (uint64_t)(uintptr_t)&rng_state ^ (uint64_t)ts.tv_nsec ^
			    ((uint64_t)ts.tv_sec << 32);
		rng_seeded = true;
	}
	uint64_t r = splitmix64(rng_state);
	rng_state += SPLITMIX64_GAMMA;
	return r;
}

static void shuffle(size_t *order, size_t n)
{
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rng_next() % i);
		size_t t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
}

/* A broken invariant or a corrupted mutex (a channel used after
 * chan_free()): a programming error. */
static _Noreturn void die(const char *what)
{
	fprintf(stderr, "bulkreg: fatal: chan: %s\n", what);
	abort();
}

static void lock(pthread_mutex_t *m)
{
	if (pthread_mutex_lock(m) != 0)
		die("a mutex cannot be locked (channel used after chan_free?)");
}

static void unlock(pthread_mutex_t *m)
{
	if (pthread_mutex_unlock(m) != 0)
		die("a mutex cannot be unlocked");
}

static void chan_lock(struct chan *ch)
{
#ifdef BULKREG_TEST_HOOKS
	if (pthread_mutex_trylock(&ch->mu) == 0)
		return;
	testhook(TESTHOOK_CHAN_LOCK_CONTENDED, ch);
#endif
	lock(&ch->mu);
}

static inline struct slot *slot_at(const struct chan *ch, uint64_t pos)
{
	size_t i = ch->cap_pow2 ? (size_t)(pos & (ch->cap - 1))
				: (size_t)(pos % ch->cap);
	return (struct slot *)(ch->slots + i * ch->slot_size);
}

/* Copies one element; a word-sized one (a pointer, a long: what most
 * channels carry) with a single move rather than a call. */
static inline void copy_elem(const struct chan *ch, void *dst, const void *src)
{
	if (ch->elem_size == sizeof(uint64_t))
		memcpy(dst, src, sizeof(uint64_t));
	else
		memcpy(dst, src, ch->elem_size);
}

static inline void *slot_data(struct slot *s)
{
	return (unsigned char *)s + sizeof(struct slot);
}

static enum chan_status errno_status(int rc)
{
	return rc == ENOMEM || rc == EAGAIN ? CHAN_NOMEM : CHAN_INVALID;
}

static bool deadline_valid(const struct timespec *deadline)
{
	return !deadline ||
	       (deadline->tv_nsec >= 0 && deadline->tv_nsec < 1000000000L);
}

static bool deadline_passed(const struct timespec *deadline)
{
	if (!deadline)
		return false;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* ---- queues of waiting nodes (channel mutex held) ----------------------- */

static struct queue *queue_for(struct chan *ch, enum chan_dir dir)
{
	return dir == CHAN_SEND ? &ch->sendq : &ch->recvq;
}

static void node_link(struct node *n)
{
	struct queue *q = queue_for(n->ch, n->dir);
	n->next = NULL;
	n->prev = q->tail;
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	n->linked = true;
	n->ch->nwaiting[n->dir]++;
}

static void node_unlink(struct node *n)
{
	if (!n->linked)
		return;
	struct queue *q = queue_for(n->ch, n->dir);
	if (n->prev)
		n->prev->next = n->next;
	else
		q->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		q->tail = n->prev;
	n->prev = n->next = NULL;
	n->linked = false;
	n->ch->nwaiting[n->dir]--;
	if (!q->head && n->ch->cap > 0)
		atomic_fetch_and(n->dir == CHAN_SEND ? &n->ch->tail : &n->ch->head,
				 ~POS_SLEEPERS);
}

/* ---- waiters ------------------------------------------------------------ */

/* One per thread, made on its first blocking operation and reused: a
 * thread blocks in one operation at a time. */
static _Thread_local struct waiter tl_waiter;
static _Thread_local bool tl_waiter_ready;

static enum chan_status waiter_init(struct waiter *w)
{
	pthread_condattr_t attr;
	int rc = testhook_fail(TESTHOOK_CHAN_WAITER_INIT);
	if (rc == 0)
		rc = pthread_condattr_init(&attr);
	if (rc != 0)
		return errno_status(rc);
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_mutex_init(&w->mu, NULL);
	if (rc == 0) {
		rc = pthread_cond_init(&w->cv, &attr);
		if (rc != 0)
			pthread_mutex_destroy(&w->mu);
	}
	pthread_condattr_destroy(&attr);
	return rc == 0 ? CHAN_OK : errno_status(rc);
}

static enum chan_status waiter_get(struct waiter **out)
{
	if (!tl_waiter_ready) {
		enum chan_status st = waiter_init(&tl_waiter);
		if (st != CHAN_OK)
			return st;
		tl_waiter_ready = true;
	}
	*out = &tl_waiter;
	return CHAN_OK;
}

/*
 * The hand-shake between a waiter and the thread that completes it, built
 * so that a hand-off between two running threads needs no system call and
 * so that the signaller's last access to `w` is known:
 *   signaled: SIG_NONE -> SIG_DONE (the signaller, by exchange), or
 *             SIG_NONE -> SIG_ASLEEP (the waiter, under w->mu, before it
 *             sleeps) -> SIG_DONE.
 * A signaller that finds SIG_NONE has finished with `w` at that exchange;
 * one that finds SIG_ASLEEP sets `woken` under w->mu and signals the
 * condition variable, and the waiter returns only after re-taking w->mu.
 */
enum { SIG_NONE, SIG_ASLEEP, SIG_DONE };

static void waiter_signal(struct waiter *w)
{
	if (atomic_exchange(&w->signaled, SIG_DONE) != SIG_ASLEEP)
		return; /* the waiter is spinning: `w` may be gone already */
	lock(&w->mu);
	w->woken = true;
	pthread_cond_signal(&w->cv);
	unlock(&w->mu);
	/* From here on `w` may be reused or gone: never touch it again. */
}

/* Signals every waiter of the list; call with no channel lock held. */
static void wake_all(struct waiter *list)
{
	while (list) {
		struct waiter *next = list->wake_next;
		waiter_signal(list);
		list = next;
	}
}

/* Sleeps until signalled (true) or the deadline (false).  Either way no
 * signaller touches `w` any more when it returns. */
static bool waiter_sleep(struct waiter *w, const struct timespec *deadline)
{
	for (int i = 0; i < SPIN_SIGNAL; i++) {
		if (atomic_load_explicit(&w->signaled, memory_order_acquire) ==
		    SIG_DONE)
			return true;
		spin_wait(i);
	}
	bool signaled = true;
	lock(&w->mu);
	int expected = SIG_NONE;
	if (atomic_compare_exchange_strong(&w->signaled, &expected, SIG_ASLEEP)) {
		while (!w->woken) {
			int rc = deadline
					 ? pthread_cond_timedwait(&w->cv, &w->mu, deadline)
					 : pthread_cond_wait(&w->cv, &w->mu);
			if (rc == 0 || rc == EINTR || w->woken)
				continue;
			/* ETIMEDOUT (deadlines are validated, so nothing else
			 * is expected; never retry an error in a loop): take
			 * the announcement back unless a signaller saw it. */
			expected = SIG_ASLEEP;
			if (atomic_compare_exchange_strong(&w->signaled, &expected,
							   SIG_NONE)) {
				signaled = false;
				break;
			}
			deadline = NULL; /* it is coming: wait for it */
		}
	}
	unlock(&w->mu);
	return signaled;
}

/* ---- completing operations (channel mutex held) ------------------------- */

/* Claims the first still-waiting node of `dir`'s queue (skipping `self`),
 * or returns NULL.  Nodes of waiters already claimed through another
 * channel of their select are left for their owner to unlink. */
static struct node *claim_waiter(struct chan *ch, enum chan_dir dir,
				 const struct waiter *self)
{
	for (struct node *n = queue_for(ch, dir)->head; n; n = n->next) {
		if (n->w == self)
			continue;
		int expected = W_WAITING;
		if (atomic_compare_exchange_strong(&n->w->state, &expected, W_DONE))
			return n;
	}
	return NULL;
}

/* Records the outcome in a claimed waiter, unlinks all of its nodes on this
 * channel (after this the waiter never touches `ch` again) and queues it
 * for a signal once the lock is released. */
static void complete_waiter(struct chan *ch, struct node *n,
			    enum chan_status st, struct waiter **wake)
{
	struct waiter *w = n->w;
	w->done_ch = ch;
	w->done_case = n->case_index;
	w->done_status = st;
	for (size_t i = 0; i < w->nnodes; i++)
		if (w->nodes[i].ch == ch)
			node_unlink(&w->nodes[i]);
	w->wake_next = *wake;
	*wake = w;
}

/* ---- the ring of a buffered channel ------------------------------------ */

/*
 * Values live in Vyukov's bounded ring: slot `pos % cap` has a sequence
 * number that says whose turn it is (2*pos: free for the sender of pos;
 * 2*pos+1: filled for its receiver).  A thread takes a position only by
 * reserving it, each side by compare-and-swap on its own word: a send
 * moves `head` on while head - tail < cap, a receive moves `tail` on while
 * tail < head.  So tail <= head <= tail + cap always, and a receiver that
 * finds its slot not yet written knows its sender has reserved it and is
 * writing it now: it waits for that (a few instructions, unless the sender
 * was preempted) rather than going to sleep.  A send's last access to the
 * channel is the release store that publishes its value, so whoever
 * receives the value may free the channel.
 *
 * Sleeping.  A receiver sleeps only after raising the flag in `head`, under
 * the lock, by a compare-and-swap that expects head == tail (empty) and
 * open; a lock-free send is refused while that flag is up, and hands its
 * value to the sleeper under the lock.  Senders mirror it with the flag in
 * `tail`, raised while head == tail + cap.  The flag sits in the word the
 * other side must change to make progress, so either that side's
 * reservation comes first and the compare-and-swap that raises the flag
 * fails (the raiser looks again), or the flag comes first and the
 * reservation is refused: no wakeup can be lost, whatever order slots are
 * written in.  The emptiness (fullness) the raiser judges also involves
 * the other word, but only through tail <= head <= tail + cap and the
 * counts never going back: tail read == head at the compare-and-swap means
 * empty then.  Every access to `head` and `tail` is sequentially
 * consistent, which on x86 costs nothing beyond the locked instruction a
 * compare-and-swap is anyway; the `*_seen` copies are stored with release
 * and loaded with acquire, so a copy is never newer than what its reader
 * may rely on.
 *
 * The other side's count.  A sender needs `tail` only to know that the
 * ring is not full, so it uses `tail_seen`, on its own line, and reads
 * `tail` itself only when the ring looks full; receivers do the same with
 * `head_seen`.  An old value only makes the ring look fuller (emptier)
 * than it is.  A sender that trusts `tail_seen` does not see the flag in
 * `tail`, yet must not reserve while senders sleep (they keep their turn,
 * and a receive under the lock refills the place it frees from them, see
 * recv_locked()).  It cannot: `tail_seen` is saved only from a `tail`
 * without the flag; the flag goes up when head == tail + cap, head never
 * goes back, so while it is up every sender finds head - tail_seen >= cap,
 * reads `tail`, and sees it.
 *
 * Batches.  With both sides running, one of them is faster and catches up
 * with the other; following it slot by slot would move the same cache
 * lines (the counters, the slot being written) between the cores for
 * every message (bench_chan 1->1: 10-15 M msg/s instead of 40-70).  So a
 * side that finds the ring full (empty) waits for the other to move a
 * batch on (wait_for_peer), and yields the CPU at once when the other does
 * not move at all: it is not running, maybe waiting for this very core.
 */

enum reserve { R_OK, R_CLOSED, R_FULL, R_EMPTY, R_WAITERS };

/* Reserves position *pos for a send.  On the lock-free path (`lockfree`)
 * it is refused while threads wait on either side: a sleeping receiver
 * takes the value by hand-off, sleeping senders keep their turn.  Under the
 * channel's lock the caller has judged the waiters itself. */
static enum reserve reserve_send(struct chan *ch, bool lockfree, uint64_t *pos)
{
	uint64_t h = atomic_load(&ch->head);
	for (;;) {
		if (h & POS_CLOSED)
			return R_CLOSED;
		if (lockfree && (h & POS_SLEEPERS))
			return R_WAITERS;
		uint64_t n = h & POS_COUNT;
		uint64_t seen = atomic_load_explicit(&ch->tail_seen,
						     memory_order_acquire);
		if (n - seen >= ch->cap) {
			uint64_t t = atomic_load(&ch->tail);
			if (t & POS_SLEEPERS) {
				if (lockfree)
					return R_WAITERS;
			} else {
				atomic_store_explicit(&ch->tail_seen, t,
						      memory_order_release);
			}
			t &= POS_COUNT;
			if (t <= n && n - t >= ch->cap)
				return R_FULL;
		}
		if (atomic_compare_exchange_weak(&ch->head, &h, h + 1)) {
			*pos = n;
			return R_OK;
		}
	}
}

/* Reserves position *pos for a receive.  On the lock-free path it is
 * refused while senders wait: a receive must then move a waiting sender's
 * value into the place it frees. */
static enum reserve reserve_recv(struct chan *ch, bool lockfree, uint64_t *pos)
{
	uint64_t t = atomic_load(&ch->tail);
	for (;;) {
		if (lockfree && (t & POS_SLEEPERS))
			return R_WAITERS;
		uint64_t n = t & POS_COUNT;
		if (atomic_load_explicit(&ch->head_seen, memory_order_acquire) <= n) {
			uint64_t h = atomic_load(&ch->head);
			if ((h & POS_COUNT) <= n)
				return (h & POS_CLOSED) ? R_CLOSED : R_EMPTY;
			atomic_store_explicit(&ch->head_seen, h & POS_COUNT,
					      memory_order_release);
		}
		if (atomic_compare_exchange_weak(&ch->tail, &t, t + 1)) {
			*pos = n;
			return R_OK;
		}
	}
}

/* Waits until slot `s` reaches `seq`: the peer that reserved it before us
 * is between its reservation and its store. */
static void wait_slot(struct chan *ch, struct slot *s, uint64_t seq)
{
	if (atomic_load_explicit(&s->seq, memory_order_acquire) == seq)
		return;
	testhook(TESTHOOK_CHAN_INFLIGHT_WAIT, ch);
	for (int i = 0; atomic_load_explicit(&s->seq, memory_order_acquire) != seq;
	     i++)
		spin_wait(i < SPIN_PAUSES ? i : SPIN_PAUSES);
}

/* Writes the value of reserved position `pos`. */
static void ring_put(struct chan *ch, uint64_t pos, const void *elem)
{
	struct slot *s = slot_at(ch, pos);
	wait_slot(ch, s, 2 * pos);
	testhook(TESTHOOK_CHAN_SEND_CLAIMED, ch);
	copy_elem(ch, slot_data(s), elem);
	atomic_store_explicit(&s->seq, 2 * pos + 1, memory_order_release);
}

/* Takes the value of reserved position `pos`. */
static void ring_take(struct chan *ch, uint64_t pos, void *out)
{
	struct slot *s = slot_at(ch, pos);
	wait_slot(ch, s, 2 * pos + 1);
	testhook(TESTHOOK_CHAN_RECV_CLAIMED, ch);
	copy_elem(ch, out, slot_data(s));
	atomic_store_explicit(&s->seq, 2 * (pos + ch->cap), memory_order_release);
}

/* The other side's count: receives for a sender, sends for a receiver. */
static uint64_t peer_count(struct chan *ch, enum chan_dir dir)
{
	return atomic_load(dir == CHAN_SEND ? &ch->tail : &ch->head) & POS_COUNT;
}

/* After a reservation found the ring full (a sender) or empty (a
 * receiver): waits briefly for the other side to make room or values.
 * It returns once the other side has moved a batch on, or moved and then
 * stopped; one that has not moved at all during the first pause is not
 * running (preempted, or waiting for this very core: on a loaded machine
 * yielding at once was 10-25% faster than pausing 7 times first), so it
 * yields the CPU to it. */
static void wait_for_peer(struct chan *ch, enum chan_dir dir)
{
	uint64_t batch = ch->cap / 4 < 1 ? 1 : ch->cap / 4;
	if (batch > PEER_BATCH)
		batch = PEER_BATCH;
	const uint64_t start = peer_count(ch, dir);
	uint64_t last = start;
	for (int k = 0; k < PEER_ROUNDS; k++) {
		for (int j = 0; j < 1 << k; j++)
			cpu_relax();
		uint64_t now = peer_count(ch, dir);
		if (now - start >= batch || (now == last && now != start))
			return;
		if (now == start)
			break;
		last = now;
	}
	if (last == start)
		sched_yield();
}

/* Under the channel's lock: raises the flag that says threads of `dir`
 * sleep, if they still must (a sender: the ring is full and open; a
 * receiver: empty and open); false when that changed since the caller
 * looked: try again. */
static bool flag_waiting(struct chan *ch, enum chan_dir dir)
{
	if (dir == CHAN_RECV) {
		uint64_t h = atomic_load(&ch->head);
		for (;;) {
			uint64_t t = atomic_load(&ch->tail) & POS_COUNT;
			if ((h & POS_CLOSED) || (h & POS_COUNT) != t)
				return false;
			if ((h & POS_SLEEPERS) ||
			    atomic_compare_exchange_weak(&ch->head, &h,
							 h | POS_SLEEPERS))
				return true;
		}
	}
	uint64_t t = atomic_load(&ch->tail);
	for (;;) {
		uint64_t h = atomic_load(&ch->head);
		if ((h & POS_CLOSED) ||
		    (h & POS_COUNT) - (t & POS_COUNT) < ch->cap)
			return false;
		if ((t & POS_SLEEPERS) ||
		    atomic_compare_exchange_weak(&ch->tail, &t, t | POS_SLEEPERS))
			return true;
	}
}

/* ---- operations under the channel's lock -------------------------------- */

static enum chan_status send_locked(struct chan *ch, const void *elem,
				    const struct waiter *self,
				    struct waiter **wake)
{
	if (atomic_load_explicit(&ch->closed, memory_order_relaxed))
		return CHAN_CLOSED;
	struct node *n = claim_waiter(ch, CHAN_RECV, self);
	if (n) {
		/* A receiver waits only while the ring is empty: hand over. */
		testhook(TESTHOOK_CHAN_SEND_CLAIMED, ch);
		memcpy(n->elem, elem, ch->elem_size);
		complete_waiter(ch, n, CHAN_OK, wake);
		return CHAN_OK;
	}
	if (ch->cap == 0)
		return CHAN_WOULDBLOCK;
	uint64_t pos;
	switch (reserve_send(ch, false, &pos)) {
	case R_OK:
		ring_put(ch, pos, elem);
		testhook(TESTHOOK_CHAN_SEND_PUBLISHED_LOCKED, ch);
		return CHAN_OK;
	case R_CLOSED:
		return CHAN_CLOSED;
	default:
		return CHAN_WOULDBLOCK;
	}
}

static enum chan_status recv_locked(struct chan *ch, void *out,
				    const struct waiter *self,
				    struct waiter **wake)
{
	if (ch->cap > 0) {
		uint64_t pos;
		switch (reserve_recv(ch, false, &pos)) {
		case R_OK:
			break;
		case R_CLOSED:
			return CHAN_CLOSED;
		default:
			return CHAN_WOULDBLOCK;
		}
		ring_take(ch, pos, out);
		/* A sender waits only while the ring is full: its value takes
		 * the place just freed (no lock-free send can, while senders
		 * wait), keeping FIFO order. */
		struct node *n = claim_waiter(ch, CHAN_SEND, self);
		if (n) {
			if (reserve_send(ch, false, &pos) != R_OK)
				die("the slot a receive freed for a waiting sender is gone");
			ring_put(ch, pos, n->elem);
			complete_waiter(ch, n, CHAN_OK, wake);
		}
		return CHAN_OK;
	}
	struct node *n = claim_waiter(ch, CHAN_SEND, self);
	if (n) {
		testhook(TESTHOOK_CHAN_RECV_CLAIMED, ch);
		memcpy(out, n->elem, ch->elem_size);
		complete_waiter(ch, n, CHAN_OK, wake);
		return CHAN_OK;
	}
	if (atomic_load_explicit(&ch->closed, memory_order_relaxed))
		return CHAN_CLOSED;
	return CHAN_WOULDBLOCK;
}

static enum chan_status case_locked(const struct chan_case *c,
				    const struct waiter *self,
				    struct waiter **wake)
{
	return c->dir == CHAN_SEND ? send_locked(c->ch, c->elem, self, wake)
				   : recv_locked(c->ch, c->elem, self, wake);
}

/* After a completed case: the hooks that let a test hold the thread while
 * it has not returned yet. */
static void after_case(const struct chan_case *c)
{
	testhook(c->dir == CHAN_SEND ? TESTHOOK_CHAN_SEND_PUBLISHED
				     : TESTHOOK_CHAN_RECV_DONE,
		 c->ch);
}

/* ---- creation ----------------------------------------------------------- */

/* The channel's lock is held for a few dozen instructions, so a thread that
 * finds it taken spins a little before it sleeps in the kernel (glibc's
 * adaptive mutex; Go's runtime lock does the same).  A plain mutex sleeps at
 * once, and buffered throughput between two cores fell tenfold. */
static int mutex_init_spinning(pthread_mutex_t *m)
{
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
	pthread_mutexattr_t attr;
	int rc = pthread_mutexattr_init(&attr);
	if (rc != 0)
		return rc;
	rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	if (rc == 0)
		rc = pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
	return rc;
#else
	return pthread_mutex_init(m, NULL);
#endif
}

struct chan *chan_new(size_t elem_size, size_t capacity)
{
	/* Slot payloads start 16-byte aligned so any element type is safe;
	 * every size is checked before it is computed. */
	if (elem_size == 0 || elem_size > SIZE_MAX - sizeof(struct slot) - 15 ||
	    capacity > POS_COUNT)
		return NULL;
	size_t slot_size = (sizeof(struct slot) + elem_size + 15) & ~(size_t)15;
	if (capacity > 0 && slot_size > SIZE_MAX / capacity)
		return NULL;
	struct chan *ch = aligned_alloc(64, sizeof(*ch));
	if (!ch)
		return NULL;
	memset(ch, 0, sizeof(*ch));
	ch->elem_size = elem_size;
	ch->cap = capacity;
	ch->slot_size = slot_size;
	ch->cap_pow2 = capacity > 0 && (capacity & (capacity - 1)) == 0;
	if (capacity > 0) {
		ch->slots = malloc(capacity * slot_size);
		if (!ch->slots) {
			free(ch);
			return NULL;
		}
		for (size_t i = 0; i < capacity; i++)
			atomic_init(&slot_at(ch, i)->seq, 2 * (uint64_t)i);
	}
	atomic_init(&ch->head, 0);
	atomic_init(&ch->tail, 0);
	atomic_init(&ch->tail_seen, 0);
	atomic_init(&ch->head_seen, 0);
	atomic_init(&ch->closed, false);
	if (mutex_init_spinning(&ch->mu) != 0) {
		free(ch->slots);
		free(ch);
		return NULL;
	}
	return ch;
}

void chan_free(struct chan *ch)
{
	if (!ch)
		return;
	/* A thread that completed its peer while holding the lock -- a send
	 * that wrote the ring under it (a select, or after the lock-free path
	 * gave up), a close seen by a lock-free receive -- may not have let
	 * go of it yet: taking it once more waits for that, and the lock is
	 * then the last thing the thread touched (the lifetime rule). */
	chan_lock(ch);
	unlock(&ch->mu);
	pthread_mutex_destroy(&ch->mu);
	free(ch->slots);
#ifdef BULKREG_TEST_HOOKS
	/* Poison it, so a use after free fails loudly in a plain build too
	 * (a garbage mutex makes pthread_mutex_lock fail, and lock() aborts). */
	memset(ch, 0xA5, sizeof(*ch));
#endif
	free(ch);
}

enum chan_status chan_close(struct chan *ch)
{
	if (!ch)
		return CHAN_INVALID;
	struct waiter *wake = NULL;
	chan_lock(ch);
	if (atomic_load_explicit(&ch->closed, memory_order_relaxed)) {
		unlock(&ch->mu);
		return CHAN_CLOSED;
	}
	/* The ring's bit first: whoever sees `closed` (chan_is_closed) and
	 * then tries to receive finds it in `head` too. */
	atomic_fetch_or(&ch->head, POS_CLOSED);
	atomic_store(&ch->closed, true);
	testhook(TESTHOOK_CHAN_CLOSED, ch);
	struct node *n;
	while ((n = claim_waiter(ch, CHAN_RECV, NULL)))
		complete_waiter(ch, n, CHAN_CLOSED, &wake);
	while ((n = claim_waiter(ch, CHAN_SEND, NULL)))
		complete_waiter(ch, n, CHAN_CLOSED, &wake);
	unlock(&ch->mu);
	wake_all(wake);
	return CHAN_OK;
}

bool chan_is_closed(struct chan *ch)
{
	return atomic_load(&ch->closed);
}

size_t chan_waiters(struct chan *ch, enum chan_dir dir)
{
	chan_lock(ch);
	size_t n = ch->nwaiting[dir];
	unlock(&ch->mu);
	return n;
}

size_t chan_cap(const struct chan *ch)
{
	return ch->cap;
}

size_t chan_len(struct chan *ch)
{
	/* Values sent or being written, not yet taken. */
	if (ch->cap == 0)
		return 0;
	uint64_t t = atomic_load(&ch->tail) & POS_COUNT;
	uint64_t n = (atomic_load(&ch->head) & POS_COUNT) - t;
	return n < ch->cap ? (size_t)n : ch->cap;
}

/* ---- select ------------------------------------------------------------- */

static int compare_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (struct chan *const *)a;
	uintptr_t y = (uintptr_t) * (struct chan *const *)b;
	return (x > y) - (x < y);
}

/* Sorted, de-duplicated channels of the cases; returns how many. */
static size_t distinct_channels(const struct chan_case *cases, size_t n,
				struct chan **out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (cases[i].ch)
			out[k++] = cases[i].ch;
	if (k > 1)
		qsort(out, k, sizeof(*out), compare_ptr);
	size_t m = 0;
	for (size_t i = 0; i < k; i++)
		if (m == 0 || out[m - 1] != out[i])
			out[m++] = out[i];
	return m;
}

/* Locks in address order, as Go's sellock does, so selects sharing
 * channels cannot deadlock. */
static void lock_all(struct chan **chans, size_t n)
{
	for (size_t i = 0; i < n; i++)
		chan_lock(chans[i]);
}

static void unlock_all(struct chan **chans, size_t n)
{
	for (size_t i = n; i > 0; i--)
		unlock(&chans[i - 1]->mu);
}

/* Unlinks the waiter's nodes from every channel but `skip` (the channel
 * that completed it, which already did, and which may be gone by now). */
static void unlink_except(struct waiter *w, struct chan **chans, size_t nchans,
			  const struct chan *skip)
{
	for (size_t c = 0; c < nchans; c++) {
		if (chans[c] == skip)
			continue;
		chan_lock(chans[c]);
		for (size_t i = 0; i < w->nnodes; i++)
			if (w->nodes[i].ch == chans[c])
				node_unlink(&w->nodes[i]);
		unlock(&chans[c]->mu);
	}
}

/* One select, its storage prepared by the caller. */
struct select_op {
	struct chan_case *cases;
	size_t ncases;
	const size_t *order;   /* the order in which cases are tried */
	struct chan **chans;   /* distinct channels, sorted */
	size_t nchans;
	struct node *nodes;    /* ncases of them */
};

/* Links the waiter's nodes and raises the waiter flags of its buffered
 * channels (all locks held); false, with nothing linked, when a buffered
 * channel changed since pass A looked: the caller tries again. */
static bool register_waiter(const struct select_op *op, struct waiter *w)
{
	atomic_store(&w->state, W_WAITING);
	atomic_store(&w->signaled, SIG_NONE);
	w->woken = false;
	w->nodes = op->nodes;
	w->nnodes = op->ncases;
	w->done_ch = NULL;
	bool still = true;
	for (size_t i = 0; i < op->ncases; i++) {
		struct node *n = &op->nodes[i];
		const struct chan_case *c = &op->cases[i];
		*n = (struct node){.w = w, .ch = c->ch, .elem = c->elem,
				   .case_index = i, .dir = c->dir};
		if (!c->ch)
			continue;
		node_link(n);
		if (c->ch->cap > 0 && !flag_waiting(c->ch, c->dir))
			still = false;
	}
	if (!still)
		for (size_t i = 0; i < op->ncases; i++)
			if (op->nodes[i].ch)
				node_unlink(&op->nodes[i]);
	return still;
}

static enum chan_status select_run(const struct select_op *op,
				   enum chan_select_mode mode,
				   const struct timespec *deadline,
				   size_t *chosen)
{
	struct waiter *wake = NULL;
	enum chan_status st = CHAN_WOULDBLOCK;
	size_t got = 0;
	struct waiter *w = NULL;

	for (;;) {
		lock_all(op->chans, op->nchans);
		for (size_t k = 0; k < op->ncases && st == CHAN_WOULDBLOCK; k++) {
			got = op->order[k];
			if (op->cases[got].ch)
				st = case_locked(&op->cases[got], NULL, &wake);
		}
		if (st != CHAN_WOULDBLOCK || mode == CHAN_SELECT_DEFAULT)
			break;
		if (op->nchans == 0 && !deadline)
			st = CHAN_INVALID; /* would block forever */
		else if (deadline_passed(deadline))
			st = CHAN_TIMEOUT;
		else if (!w)
			st = waiter_get(&w);
		else
			st = CHAN_OK;
		if (st != CHAN_OK)
			break;
		st = CHAN_WOULDBLOCK;
		if (register_waiter(op, w))
			break;
		unlock_all(op->chans, op->nchans);
	}
	if (st != CHAN_WOULDBLOCK || mode == CHAN_SELECT_DEFAULT) {
		unlock_all(op->chans, op->nchans);
		wake_all(wake);
		if (st == CHAN_WOULDBLOCK)
			return st;
		if (st == CHAN_OK || st == CHAN_CLOSED)
			*chosen = got;
		if (st == CHAN_OK)
			after_case(&op->cases[got]);
		return st;
	}

	unlock_all(op->chans, op->nchans);
	testhook(TESTHOOK_CHAN_WAITING, op->nchans ? op->chans[0] : NULL);
	if (!waiter_sleep(w, deadline)) {
		int expected = W_WAITING;
		if (atomic_compare_exchange_strong(&w->state, &expected,
						   W_CANCELLED)) {
			unlink_except(w, op->chans, op->nchans, NULL);
			return CHAN_TIMEOUT;
		}
		/* Completed at the last moment: wait for the signal. */
		waiter_sleep(w, NULL);
	}
	testhook(TESTHOOK_CHAN_WOKEN, w->done_ch);
	unlink_except(w, op->chans, op->nchans, w->done_ch);
	*chosen = w->done_case;
	st = w->done_status;
	if (st == CHAN_OK)
		after_case(&op->cases[w->done_case]);
	return st;
}

/* One attempt on the lock-free path of a buffered channel: the operation
 * is done (R_OK), or the reason it is not. */
static inline enum reserve try_lockfree(struct chan *ch, enum chan_dir dir,
					void *elem)
{
	uint64_t pos;
	enum reserve r = dir == CHAN_SEND ? reserve_send(ch, true, &pos)
					  : reserve_recv(ch, true, &pos);
	if (r != R_OK)
		return r;
	if (dir == CHAN_SEND)
		ring_put(ch, pos, elem);
	else
		ring_take(ch, pos, elem);
	struct chan_case c = {.ch = ch, .dir = dir, .elem = elem};
	after_case(&c);
	return R_OK;
}

/* The lock-free path of a buffered channel after the first attempt found
 * `r`: CHAN_WOULDBLOCK sends the operation to the locked path (full or
 * empty after a short spin, or someone waits). */
static enum chan_status op_lockfree(struct chan *ch, enum chan_dir dir,
				    void *elem, enum chan_select_mode mode,
				    enum reserve r)
{
	for (int i = 0;; i++) {
		if (r == R_OK)
			return CHAN_OK;
		if (r == R_CLOSED)
			return CHAN_CLOSED;
		/* Full or empty: a peer on the other core may be about to
		 * change that; a short spin saves sleeping and waking. */
		if (r == R_WAITERS || mode == CHAN_SELECT_DEFAULT || i >= SPIN_TRIES)
			return CHAN_WOULDBLOCK;
		wait_for_peer(ch, dir);
		r = try_lockfree(ch, dir, elem);
	}
}

/* One lock-free pass over the cases, in the select's random order, when
 * all of them are buffered (an unbuffered case is only ready under its
 * lock, and must keep its fair chance): a case that can proceed without
 * waiting (or whose channel is closed) completes here, as a single
 * operation would; CHAN_WOULDBLOCK leaves it to the locked pass.  So does
 * a case whose channel has a peer asleep (R_WAITERS): it may be ready only
 * under the lock, and passing over it to a later case would starve it. */
static enum chan_status select_lockfree(struct chan_case *cases, size_t n,
					const size_t *order, size_t *chosen)
{
	for (size_t k = 0; k < n; k++)
		if (cases[k].ch && cases[k].ch->cap == 0)
			return CHAN_WOULDBLOCK;
	for (size_t k = 0; k < n; k++) {
		struct chan_case *c = &cases[order[k]];
		if (!c->ch || c->ch->cap == 0)
			continue;
		enum reserve r = try_lockfree(c->ch, c->dir, c->elem);
		if (r == R_OK || r == R_CLOSED) {
			*chosen = order[k];
			return r == R_OK ? CHAN_OK : CHAN_CLOSED;
		}
		if (r == R_WAITERS)
			break; /* the locked pass, in the same order */
	}
	return CHAN_WOULDBLOCK;
}

enum chan_status chan_select(struct chan_case *cases, size_t ncases,
			     enum chan_select_mode mode,
			     const struct timespec *deadline, size_t *chosen)
{
	if ((ncases > 0 && !cases) || !chosen || !deadline_valid(deadline))
		return CHAN_INVALID;
	/* A direction that is neither (an uninitialised case) would
	 * otherwise run as a receive. */
	for (size_t i = 0; i < ncases; i++)
		if ((cases[i].ch && !cases[i].elem) ||
		    (cases[i].dir != CHAN_SEND && cases[i].dir != CHAN_RECV))
			return CHAN_INVALID;
	size_t small_order[SMALL_SELECT];
	struct chan *small_chans[SMALL_SELECT];
	struct node small_nodes[SMALL_SELECT];
	struct select_op op = {.cases = cases, .ncases = ncases,
			       .order = small_order, .chans = small_chans,
			       .nodes = small_nodes};
	size_t *order = small_order;
	if (ncases > SMALL_SELECT) {
		order = malloc(ncases * sizeof(*order));
		op.order = order;
		op.chans = malloc(ncases * sizeof(*op.chans));
		op.nodes = malloc(ncases * sizeof(*op.nodes));
		if (!order || !op.chans || !op.nodes) {
			free(order);
			free(op.chans);
			free(op.nodes);
			return CHAN_NOMEM;
		}
	}
	shuffle(order, ncases);
	enum chan_status st = select_lockfree(cases, ncases, order, chosen);
	if (st == CHAN_WOULDBLOCK) {
		op.nchans = distinct_channels(cases, ncases, op.chans);
		st = select_run(&op, mode, deadline, chosen);
	}
	if (ncases > SMALL_SELECT) {
		free(order);
		free(op.chans);
		free(op.nodes);
	}
	return st;
}

/* ---- single-case operations -------------------------------------------- */

static enum chan_status op_until(struct chan *ch, enum chan_dir dir, void *elem,
				 enum chan_select_mode mode,
				 const struct timespec *deadline)
{
	if (!ch || !elem || !deadline_valid(deadline))
		return CHAN_INVALID;
	if (ch->cap > 0) {
		/* The first attempt inline: most operations end there. */
		enum reserve r = try_lockfree(ch, dir, elem);
		if (r == R_OK)
			return CHAN_OK;
		enum chan_status st = op_lockfree(ch, dir, elem, mode, r);
		if (st != CHAN_WOULDBLOCK)
			return st;
	}
	struct chan_case c = {.ch = ch, .dir = dir, .elem = elem};
	static const size_t order = 0;
	struct node node;
	struct select_op op = {.cases = &c, .ncases = 1, .order = &order,
			       .chans = &ch, .nchans = 1, .nodes = &node};
	size_t chosen;
	return select_run(&op, mode, deadline, &chosen);
}

enum chan_status chan_send(struct chan *ch, const void *elem)
{
	return op_until(ch, CHAN_SEND, (void *)elem, CHAN_SELECT_BLOCK, NULL);
}

enum chan_status chan_recv(struct chan *ch, void *out)
{
	return op_until(ch, CHAN_RECV, out, CHAN_SELECT_BLOCK, NULL);
}

enum chan_status chan_send_until(struct chan *ch, const void *elem,
				 const struct timespec *deadline)
{
	return op_until(ch, CHAN_SEND, (void *)elem, CHAN_SELECT_BLOCK, deadline);
}

enum chan_status chan_recv_until(struct chan *ch, void *out,
				 const struct timespec *deadline)
{
	return op_until(ch, CHAN_RECV, out, CHAN_SELECT_BLOCK, deadline);
}

enum chan_status chan_try_send(struct chan *ch, const void *elem)
{
	return op_until(ch, CHAN_SEND, (void *)elem, CHAN_SELECT_DEFAULT, NULL);
}

enum chan_status chan_try_recv(struct chan *ch, void *out)
{
	return op_until(ch, CHAN_RECV, out, CHAN_SELECT_DEFAULT, NULL);
}

struct timespec chan_deadline_after(double seconds)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!(seconds > 0)) /* also NaN */
		seconds = 0;
	if (seconds > 1e9)
		seconds = 1e9;
	time_t whole = (time_t)seconds;
	long nsec = (long)((seconds - (double)whole) * 1e9);
	if (nsec > 999999999L)
		nsec = 999999999L;
	ts.tv_sec += whole;
	ts.tv_nsec += nsec;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

const char *chan_status_str(enum chan_status st)
{
	switch (st) {
	case CHAN_OK: return "ok";
	case CHAN_CLOSED: return "channel closed";
	case CHAN_WOULDBLOCK: return "would block";
	case CHAN_TIMEOUT: return "timed out";
	case CHAN_NOMEM: return "out of memory";
	case CHAN_INVALID: return "invalid argument";
	}
	return "unknown status";
}
