/* chan: bounded channels, select, deadlines -- see chan.h for the contract. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"

/*
 * How it works.
 *
 * Buffered channels keep their values in Vyukov's bounded MPMC ring: each slot
 * has a sequence number that says whose turn it is, so senders and receivers
 * that do not have to wait never take a lock.  The sequence is doubled
 * (2*pos = free for the sender of pos, 2*pos+1 = filled) so that "filled on
 * this lap" and "free on the next" differ even when the capacity is 1.  `head` (next slot to fill)
 * carries the CLOSED bit, so closing and claiming a slot are ordered by one
 * atomic word: once the bit is set no sender can claim a slot, and every slot
 * claimed before it will be published.  A receiver reports "closed" only when
 * the ring is drained (tail == head) -- never while a claimed slot is still
 * being filled.
 *
 * Unbuffered channels do everything under the channel's mutex: a sender looks
 * for a waiting receiver and hands the value straight into its buffer (Go's
 * sudog hand-off), otherwise it queues and sleeps until a receiver takes it.
 *
 * Blocking is shared by both kinds and by select.  A blocked operation is a
 * `waiter` (one per blocked thread) with one `node` per case, linked into the
 * send or receive queue of each channel.  The waiter's state moves exactly
 * once away from WAITING, by compare-and-swap, to one of:
 *   DONE      an unbuffered peer completed one of our cases (hand-off);
 *   NOTIFIED  a buffered channel changed (a value or a slot appeared, or the
 *             channel closed): wake up and try every case again;
 *   CANCELLED we gave up (deadline).
 * The thread that wins the CAS then signals the waiter; the waiter never
 * looks at the outcome before that signal, so hand-off copies are complete.
 *
 * Lost wakeups are prevented Dekker-style: a waiter links its node and bumps
 * the channel's waiting counter, issues a seq_cst fence, then retries the
 * ring; a lock-free sender publishes its slot, issues a seq_cst fence, then
 * reads the counter.  At least one of them sees the other.
 *
 * A select registers under all of its channels' locks (taken in address
 * order, as Go does), so nobody can claim it half-registered.  A waiter
 * woken by NOTIFIED that ends up completing a different case (or timing out)
 * passes the notification on, so a value never sits in a buffer while a
 * receiver sleeps.
 */

/*
 * ThreadSanitizer does not model stand-alone fences, so TSan builds use the
 * equivalent read-modify-write form of the Dekker handshake below: the
 * publisher does a seq_cst RMW on the very counter the waiter increments;
 * both RMWs are ordered in that counter's modification order, so either the
 * publisher reads the waiter's increment or the waiter's RMW synchronises
 * with the publisher's and then sees the published slot.  Normal builds keep
 * the fence, which does not bounce the counter's cache line between senders.
 */
#if defined(__SANITIZE_THREAD__)
#define CHAN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CHAN_TSAN 1
#endif
#endif

#define CLOSED_BIT (UINT64_C(1) << 63)
/* Spin budgets, measured with tests/bench/bench_chan and check_stress
 * (README, Performance): pausing only briefly, then yielding, keeps 1->1
 * throughput and makes 16 threads on 2 cores several times faster. */
#define SPIN_TRIES 64    /* lock-free retries before blocking */
#define SPIN_SIGNAL 64   /* polls of `signaled` before sleeping on the condvar */
#define SPIN_PAUSES 16   /* spins that pause; later ones yield the CPU */
#define SMALL_SELECT 8   /* cases handled with stack storage */

enum waiter_state { W_WAITING, W_DONE, W_NOTIFIED, W_CANCELLED };

struct waiter {
	_Atomic int state;
	_Atomic int signaled;
	size_t done_case;               /* set by the hand-off peer */
	enum chan_status done_status;
	struct chan *notified_by;       /* set by the notifier */
	enum chan_dir notified_dir;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

struct node {
	struct node *prev, *next;
	struct waiter *w;
	size_t case_index;
	void *elem;    /* hand-off buffer: send source or receive destination */
	bool linked;
};

struct queue {
	struct node *head, *tail;
};

struct slot {
	_Atomic uint64_t seq;
	/* elem_size bytes follow, aligned for any type */
};

struct chan {
	_Alignas(64) _Atomic uint64_t head; /* next slot to fill | CLOSED_BIT */
	_Alignas(64) _Atomic uint64_t tail; /* next slot to empty */
	_Alignas(64) pthread_mutex_t mu;
	struct queue recvq, sendq;
	_Atomic unsigned recv_waiting, send_waiting; /* linked nodes */
	_Atomic bool closed;
	size_t elem_size, cap, slot_size;
	unsigned char *slots;
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

/* Spinning helps when the peer runs on another core right now; when the
 * threads outnumber the cores, the peer may need ours, so after a few
 * pauses give it away. */
static inline void spin_wait(int i)
{
	if (i < SPIN_PAUSES)
		cpu_relax();
	else
		sched_yield();
}

static _Thread_local uint64_t rng_state;

static uint64_t rng_next(void)
{
	/* xorshift64*: cheap, per thread, good enough for fair case order. */
	uint64_t x = rng_state;
	if (x == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)(uintptr_t)&rng_state ^ (uint64_t)ts.tv_nsec ^
		    ((uint64_t)ts.tv_sec << 32) ^ UINT64_C(0x9E3779B97F4A7C15);
		if (x == 0)
			x = 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * UINT64_C(0x2545F4914F6CDD1D);
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

static void lock(pthread_mutex_t *m)
{
	if (pthread_mutex_lock(m) != 0)
		abort(); /* only fails on a corrupted mutex: a programming error */
}

static void unlock(pthread_mutex_t *m)
{
	if (pthread_mutex_unlock(m) != 0)
		abort();
}

static inline struct slot *slot_at(const struct chan *ch, uint64_t pos)
{
	return (struct slot *)(ch->slots + (size_t)(pos % ch->cap) * ch->slot_size);
}

static inline void *slot_data(struct slot *s)
{
	return (unsigned char *)s + sizeof(struct slot);
}

/* ---- queues of waiting nodes (channel mutex held) ----------------------- */

static struct queue *queue_for(struct chan *ch, enum chan_dir dir)
{
	return dir == CHAN_SEND ? &ch->sendq : &ch->recvq;
}

static _Atomic unsigned *waiting_for(struct chan *ch, enum chan_dir dir)
{
	return dir == CHAN_SEND ? &ch->send_waiting : &ch->recv_waiting;
}

static void node_link(struct chan *ch, enum chan_dir dir, struct node *n)
{
	struct queue *q = queue_for(ch, dir);
	n->next = NULL;
	n->prev = q->tail;
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	n->linked = true;
	atomic_fetch_add(waiting_for(ch, dir), 1);
}

static void node_unlink(struct chan *ch, enum chan_dir dir, struct node *n)
{
	struct queue *q = queue_for(ch, dir);
	if (!n->linked)
		return;
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
	atomic_fetch_sub(waiting_for(ch, dir), 1);
}

/* ---- waking ------------------------------------------------------------- */

static void waiter_signal(struct waiter *w)
{
	lock(&w->mu);
	atomic_store_explicit(&w->signaled, 1, memory_order_release);
	pthread_cond_signal(&w->cv);
	unlock(&w->mu);
	/* From here on `w` may be gone: never touch it again. */
}

/* Claims the first still-waiting node of the queue for a NOTIFIED wakeup.
 * Wakes one waiter, or all of them when `all` is set.  Channel mutex held. */
static void notify_locked(struct chan *ch, enum chan_dir dir, bool all)
{
	for (struct node *n = queue_for(ch, dir)->head; n; n = n->next) {
		int expected = W_WAITING;
		if (!atomic_compare_exchange_strong(&n->w->state, &expected,
						    W_NOTIFIED))
			continue; /* stale: its owner is already awake */
		n->w->notified_by = ch;
		n->w->notified_dir = dir;
		waiter_signal(n->w);
		if (!all)
			return;
	}
}

/* Publisher's half of the handshake: how many wait on the other side,
 * read after the ring update became visible to them. */
static inline unsigned waiting_after_publish(_Atomic unsigned *waiting)
{
#ifdef CHAN_TSAN
	return atomic_fetch_add(waiting, 0);
#else
	atomic_thread_fence(memory_order_seq_cst);
	return atomic_load_explicit(waiting, memory_order_relaxed);
#endif
}

/* Waiter's half: after linking (a seq_cst increment), before re-reading. */
static inline void fence_after_link(void)
{
#ifndef CHAN_TSAN
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

/* After a lock-free ring operation: wake one waiter on the other side.
 * `locked` says the caller already holds the channel's mutex. */
static void notify_one(struct chan *ch, enum chan_dir dir, bool locked)
{
	if (waiting_after_publish(waiting_for(ch, dir)) == 0)
		return;
	if (!locked)
		lock(&ch->mu);
	notify_locked(ch, dir, false);
	if (!locked)
		unlock(&ch->mu);
}

/* ---- the ring (buffered channels, lock-free) ---------------------------- */

static enum chan_status ring_try_send(struct chan *ch, const void *elem,
				      bool locked)
{
	uint64_t pos = atomic_load_explicit(&ch->head, memory_order_relaxed);
	struct slot *s;
	for (;;) {
		if (pos & CLOSED_BIT)
			return CHAN_CLOSED;
		s = slot_at(ch, pos);
		uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		int64_t dif = (int64_t)(seq - 2 * pos);
		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(
				    &ch->head, &pos, pos + 1, memory_order_relaxed,
				    memory_order_relaxed))
				break;
		} else if (dif < 0) {
			return CHAN_WOULDBLOCK; /* full */
		} else {
			pos = atomic_load_explicit(&ch->head, memory_order_relaxed);
		}
	}
	memcpy(slot_data(s), elem, ch->elem_size);
	atomic_store_explicit(&s->seq, 2 * pos + 1, memory_order_release);
	notify_one(ch, CHAN_RECV, locked);
	return CHAN_OK;
}

static enum chan_status ring_try_recv(struct chan *ch, void *out, bool locked)
{
	uint64_t pos = atomic_load_explicit(&ch->tail, memory_order_relaxed);
	struct slot *s;
	for (;;) {
		s = slot_at(ch, pos);
		uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		int64_t dif = (int64_t)(seq - (2 * pos + 1));
		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(
				    &ch->tail, &pos, pos + 1, memory_order_relaxed,
				    memory_order_relaxed))
				break;
		} else if (dif < 0) {
			uint64_t h = atomic_load_explicit(&ch->head, memory_order_acquire);
			if ((h & ~CLOSED_BIT) == pos)
				return (h & CLOSED_BIT) ? CHAN_CLOSED : CHAN_WOULDBLOCK;
			uint64_t t = atomic_load_explicit(&ch->tail, memory_order_relaxed);
			if (t != pos) {
				pos = t;
				continue;
			}
			/* A sender claimed this slot and is still filling it; it
			 * will notify when it publishes. */
			return CHAN_WOULDBLOCK;
		} else {
			pos = atomic_load_explicit(&ch->tail, memory_order_relaxed);
		}
	}
	memcpy(out, slot_data(s), ch->elem_size);
	atomic_store_explicit(&s->seq, 2 * (pos + ch->cap), memory_order_release);
	notify_one(ch, CHAN_SEND, locked);
	return CHAN_OK;
}

/* ---- unbuffered hand-off (channel mutex held) --------------------------- */

/* Completes `dir` on an unbuffered channel with a waiting peer, if any.
 * `self` is skipped so a select never pairs with itself. */
static enum chan_status handoff_locked(struct chan *ch, enum chan_dir dir,
				       void *elem, const struct waiter *self)
{
	if (atomic_load_explicit(&ch->closed, memory_order_relaxed))
		return CHAN_CLOSED;
	enum chan_dir peer_dir = dir == CHAN_SEND ? CHAN_RECV : CHAN_SEND;
	for (struct node *n = queue_for(ch, peer_dir)->head; n; n = n->next) {
		if (n->w == self)
			continue;
		int expected = W_WAITING;
		if (!atomic_compare_exchange_strong(&n->w->state, &expected, W_DONE))
			continue;
		if (dir == CHAN_SEND)
			memcpy(n->elem, elem, ch->elem_size);
		else
			memcpy(elem, n->elem, ch->elem_size);
		n->w->done_case = n->case_index;
		n->w->done_status = CHAN_OK;
		/* Unlink now: the peer is done with this channel. */
		node_unlink(ch, peer_dir, n);
		waiter_signal(n->w);
		return CHAN_OK;
	}
	return CHAN_WOULDBLOCK;
}

static enum chan_status try_case(struct chan_case *c, const struct waiter *self,
				 bool locked)
{
	struct chan *ch = c->ch;
	if (ch->cap > 0)
		return c->dir == CHAN_SEND ? ring_try_send(ch, c->elem, locked)
					   : ring_try_recv(ch, c->elem, locked);
	if (!locked)
		lock(&ch->mu);
	enum chan_status st = handoff_locked(ch, c->dir, c->elem, self);
	if (!locked)
		unlock(&ch->mu);
	return st;
}

/* ---- creation ----------------------------------------------------------- */

struct chan *chan_new(size_t elem_size, size_t capacity)
{
	if (elem_size == 0 || capacity > (SIZE_MAX / 2) / (elem_size + 64))
		return NULL;
	struct chan *ch = aligned_alloc(64, sizeof(*ch));
	if (!ch)
		return NULL;
	memset(ch, 0, sizeof(*ch));
	ch->elem_size = elem_size;
	ch->cap = capacity;
	/* Slot payloads start 16-byte aligned so any element type is safe. */
	ch->slot_size = (sizeof(struct slot) + elem_size + 15) & ~(size_t)15;
	if (capacity > 0) {
		ch->slots = malloc(capacity * ch->slot_size);
		if (!ch->slots) {
			free(ch);
			return NULL;
		}
		for (size_t i = 0; i < capacity; i++)
			atomic_init(&slot_at(ch, i)->seq, 2 * i);
	}
	atomic_init(&ch->head, 0);
	atomic_init(&ch->tail, 0);
	atomic_init(&ch->recv_waiting, 0);
	atomic_init(&ch->send_waiting, 0);
	atomic_init(&ch->closed, false);
	if (pthread_mutex_init(&ch->mu, NULL) != 0) {
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
	pthread_mutex_destroy(&ch->mu);
	free(ch->slots);
	free(ch);
}

enum chan_status chan_close(struct chan *ch)
{
	if (!ch)
		return CHAN_INVALID;
	lock(&ch->mu);
	if (atomic_load_explicit(&ch->closed, memory_order_relaxed)) {
		unlock(&ch->mu);
		return CHAN_CLOSED;
	}
	atomic_store(&ch->closed, true);
	atomic_fetch_or(&ch->head, CLOSED_BIT);
	notify_locked(ch, CHAN_RECV, true);
	notify_locked(ch, CHAN_SEND, true);
	unlock(&ch->mu);
	return CHAN_OK;
}

bool chan_is_closed(struct chan *ch)
{
	return atomic_load(&ch->closed);
}

size_t chan_waiters(struct chan *ch, enum chan_dir dir)
{
	return atomic_load(waiting_for(ch, dir));
}

size_t chan_cap(const struct chan *ch)
{
	return ch->cap;
}

size_t chan_len(struct chan *ch)
{
	if (ch->cap == 0)
		return 0;
	uint64_t t = atomic_load(&ch->tail);
	uint64_t h = atomic_load(&ch->head) & ~CLOSED_BIT;
	if (h <= t)
		return 0;
	return h - t > ch->cap ? ch->cap : (size_t)(h - t);
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
	qsort(out, k, sizeof(*out), compare_ptr);
	size_t m = 0;
	for (size_t i = 0; i < k; i++)
		if (m == 0 || out[m - 1] != out[i])
			out[m++] = out[i];
	return m;
}

static void unlink_all(struct chan_case *cases, struct node *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!cases[i].ch)
			continue;
		lock(&cases[i].ch->mu);
		node_unlink(cases[i].ch, cases[i].dir, &nodes[i]);
		unlock(&cases[i].ch->mu);
	}
}

/* Sleeps until signalled or the deadline; true if signalled. */
static bool waiter_sleep(struct waiter *w, const struct timespec *deadline)
{
	for (int i = 0; i < SPIN_SIGNAL; i++) {
		if (atomic_load_explicit(&w->signaled, memory_order_acquire))
			break;
		spin_wait(i);
	}
	bool signaled = true;
	lock(&w->mu);
	while (!atomic_load_explicit(&w->signaled, memory_order_acquire)) {
		int rc = deadline ? pthread_cond_timedwait(&w->cv, &w->mu, deadline)
				  : pthread_cond_wait(&w->cv, &w->mu);
		if (rc == ETIMEDOUT) {
			signaled = atomic_load_explicit(&w->signaled,
							memory_order_acquire);
			break;
		}
	}
	unlock(&w->mu);
	return signaled;
}

/* The blocking part of every operation: register on every case, sleep,
 * and repeat until a case completes, the deadline passes, or memory fails. */
static enum chan_status select_slow(struct chan_case *cases, size_t n,
				    const size_t *order,
				    const struct timespec *deadline,
				    size_t *chosen)
{
	struct node small_nodes[SMALL_SELECT];
	struct chan *small_chans[SMALL_SELECT];
	struct node *nodes = small_nodes;
	struct chan **chans = small_chans;
	if (n > SMALL_SELECT) {
		nodes = calloc(n, sizeof(*nodes));
		chans = calloc(n, sizeof(*chans));
		if (!nodes || !chans) {
			free(nodes);
			free(chans);
			return CHAN_NOMEM;
		}
	} else {
		memset(small_nodes, 0, sizeof(small_nodes));
	}
	size_t nchans = distinct_channels(cases, n, chans);

	struct waiter w;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, &attr);
	pthread_condattr_destroy(&attr);
	w.notified_by = NULL;

	struct chan *pass_ch = NULL; /* a notification we may owe onwards */
	enum chan_dir pass_dir = CHAN_RECV;
	enum chan_status st;
	size_t got = 0;

	for (;;) {
		atomic_store(&w.state, W_WAITING);
		atomic_store(&w.signaled, 0);
		for (size_t i = 0; i < nchans; i++)
			lock(&chans[i]->mu);

		/* Pass A: anything ready?  Unbuffered state is stable here. */
		st = CHAN_WOULDBLOCK;
		for (size_t k = 0; k < n && st == CHAN_WOULDBLOCK; k++) {
			got = order[k];
			if (cases[got].ch)
				st = try_case(&cases[got], &w, true);
		}
		if (st == CHAN_WOULDBLOCK) {
			for (size_t i = 0; i < n; i++) {
				if (!cases[i].ch)
					continue;
				nodes[i].w = &w;
				nodes[i].case_index = i;
				nodes[i].elem = cases[i].elem;
				node_link(cases[i].ch, cases[i].dir, &nodes[i]);
			}
			/* Pass B: lock-free peers may have acted before they
			 * could see our nodes (Dekker with notify_one).  We
			 * hold every lock a claimer would need, so marking
			 * ourselves DONE meanwhile only stops our own ring
			 * operation from "notifying" our own nodes. */
			fence_after_link();
			atomic_store(&w.state, W_DONE);
			for (size_t k = 0; k < n && st == CHAN_WOULDBLOCK; k++) {
				got = order[k];
				if (cases[got].ch && cases[got].ch->cap > 0)
					st = try_case(&cases[got], &w, true);
			}
			if (st == CHAN_WOULDBLOCK) {
				atomic_store(&w.state, W_WAITING);
			} else {
				for (size_t i = 0; i < n; i++)
					if (cases[i].ch)
						node_unlink(cases[i].ch, cases[i].dir,
							    &nodes[i]);
			}
		}
		for (size_t i = nchans; i > 0; i--)
			unlock(&chans[i - 1]->mu);
		if (st != CHAN_WOULDBLOCK)
			break;

		bool signaled = waiter_sleep(&w, deadline);
		if (!signaled) {
			int expected = W_WAITING;
			if (atomic_compare_exchange_strong(&w.state, &expected,
							   W_CANCELLED)) {
				unlink_all(cases, nodes, n);
				st = CHAN_TIMEOUT;
				break;
			}
			/* Claimed at the last moment: wait for the claimer. */
			waiter_sleep(&w, NULL);
		}
		unlink_all(cases, nodes, n);
		if (atomic_load(&w.state) == W_DONE) {
			got = w.done_case;
			st = w.done_status;
			break;
		}
		/* NOTIFIED: something changed; try everything again. */
		pass_ch = w.notified_by;
		pass_dir = w.notified_dir;
	}

	/* We were woken for (pass_ch, pass_dir) but did something else: let
	 * another waiter have that value or slot. */
	if (pass_ch && (st == CHAN_TIMEOUT || cases[got].ch != pass_ch ||
			cases[got].dir != pass_dir))
		notify_one(pass_ch, pass_dir, false);

	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	if (nodes != small_nodes) {
		free(nodes);
		free(chans);
	}
	if (st != CHAN_TIMEOUT)
		*chosen = got;
	return st;
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

enum chan_status chan_select(struct chan_case *cases, size_t ncases,
			     enum chan_select_mode mode,
			     const struct timespec *deadline, size_t *chosen)
{
	if ((ncases > 0 && !cases) || !chosen)
		return CHAN_INVALID;
	size_t small_order[SMALL_SELECT];
	size_t *order = small_order;
	if (ncases > SMALL_SELECT) {
		order = malloc(ncases * sizeof(*order));
		if (!order)
			return CHAN_NOMEM;
	}
	shuffle(order, ncases);

	enum chan_status st = CHAN_WOULDBLOCK;
	bool any = false;
	for (int spin = 0; spin < SPIN_TRIES && st == CHAN_WOULDBLOCK; spin++) {
		for (size_t k = 0; k < ncases && st == CHAN_WOULDBLOCK; k++) {
			struct chan_case *c = &cases[order[k]];
			if (!c->ch)
				continue;
			any = true;
			st = try_case(c, NULL, false);
			if (st != CHAN_WOULDBLOCK)
				*chosen = order[k];
		}
		if (st != CHAN_WOULDBLOCK || mode == CHAN_SELECT_DEFAULT)
			break;
		/* Unbuffered cases only complete against a sleeping peer, so
		 * spinning on them is pointless: go straight to blocking. */
		bool all_buffered = true;
		for (size_t k = 0; k < ncases; k++)
			if (cases[k].ch && cases[k].ch->cap == 0)
				all_buffered = false;
		if (!all_buffered || deadline_passed(deadline))
			break;
		spin_wait(spin);
	}
	if (st == CHAN_WOULDBLOCK && mode == CHAN_SELECT_BLOCK) {
		if (!any && !deadline)
			st = CHAN_INVALID; /* would block forever */
		else if (deadline_passed(deadline))
			st = CHAN_TIMEOUT;
		else
			st = select_slow(cases, ncases, order, deadline, chosen);
	}
	if (order != small_order)
		free(order);
	return st;
}

/* ---- single-case operations -------------------------------------------- */

static enum chan_status op_until(struct chan *ch, enum chan_dir dir, void *elem,
				 const struct timespec *deadline)
{
	if (!ch || !elem)
		return CHAN_INVALID;
	/* Fast path: a buffered channel with room (or a value) never locks. */
	if (ch->cap > 0) {
		enum chan_status st = dir == CHAN_SEND
					      ? ring_try_send(ch, elem, false)
					      : ring_try_recv(ch, elem, false);
		if (st != CHAN_WOULDBLOCK)
			return st;
	}
	struct chan_case c = {.ch = ch, .dir = dir, .elem = elem};
	size_t chosen;
	return chan_select(&c, 1, CHAN_SELECT_BLOCK, deadline, &chosen);
}

enum chan_status chan_send(struct chan *ch, const void *elem)
{
	return op_until(ch, CHAN_SEND, (void *)elem, NULL);
}

enum chan_status chan_recv(struct chan *ch, void *out)
{
	return op_until(ch, CHAN_RECV, out, NULL);
}

enum chan_status chan_send_until(struct chan *ch, const void *elem,
				 const struct timespec *deadline)
{
	return op_until(ch, CHAN_SEND, (void *)elem, deadline);
}

enum chan_status chan_recv_until(struct chan *ch, void *out,
				 const struct timespec *deadline)
{
	return op_until(ch, CHAN_RECV, out, deadline);
}

enum chan_status chan_try_send(struct chan *ch, const void *elem)
{
	if (!ch || !elem)
		return CHAN_INVALID;
	struct chan_case c = {.ch = ch, .dir = CHAN_SEND, .elem = (void *)elem};
	return try_case(&c, NULL, false);
}

enum chan_status chan_try_recv(struct chan *ch, void *out)
{
	if (!ch || !out)
		return CHAN_INVALID;
	struct chan_case c = {.ch = ch, .dir = CHAN_RECV, .elem = out};
	return try_case(&c, NULL, false);
}

struct timespec chan_deadline_after(double seconds)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (seconds < 0)
		seconds = 0;
	if (seconds > 1e9)
		seconds = 1e9;
	time_t whole = (time_t)seconds;
	long nsec = (long)((seconds - (double)whole) * 1e9);
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
