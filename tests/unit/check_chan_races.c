/* check_chan_races: the windows of issue 10, held open on purpose. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "hooks.h"
#include "testutil.h"

/*
 * Each test holds one thread at a hook point (src/testhook.h) -- between
 * choosing a slot and writing it, after a value became visible, after a
 * wake-up -- and makes the other threads act inside that window.  The
 * channel is correct when the window does not exist (the holder owns the
 * channel's lock: then the others are seen waiting for it, and the test
 * moves on) or when nothing goes wrong inside it.  No test sleeps: they
 * wait for states (a hook reached, a thread done, a count of waiters).
 */

enum { SECONDS = 10 }; /* a state that takes longer than this is a hang */

/* ---- threads that run one operation ------------------------------------- */

struct op {
	struct chan *ch;
	enum testhook_point hold;   /* armed before the operation, or -1 */
	long value;                 /* send: the value; recv: what came */
	int kind;                   /* OP_SEND, OP_RECV, ... */
	struct timespec deadline;
	enum chan_status st;
	_Atomic bool done;
};

enum { OP_SEND, OP_RECV, OP_RECV_ALL, OP_SEND_UNTIL, OP_TRY_SEND,
       OP_TRY_RECV, OP_SELECT_DEFAULT_RECV, OP_CLOSE };

static void *op_main(void *arg)
{
	struct op *o = arg;
	if ((int)o->hold >= 0)
		hold_arm(o->hold);
	switch (o->kind) {
	case OP_SEND:
		o->st = chan_send(o->ch, &o->value);
		break;
	case OP_RECV:
		o->st = chan_recv(o->ch, &o->value);
		break;
	case OP_RECV_ALL: {
		/* Receive until closed; `value` counts the values. */
		long v, n = 0;
		while ((o->st = chan_recv(o->ch, &v)) == CHAN_OK)
			n++;
		o->value = n;
		break;
	}
	case OP_SEND_UNTIL:
		o->st = chan_send_until(o->ch, &o->value, &o->deadline);
		break;
	case OP_TRY_SEND:
		o->st = chan_try_send(o->ch, &o->value);
		break;
	case OP_TRY_RECV:
		o->st = chan_try_recv(o->ch, &o->value);
		break;
	case OP_SELECT_DEFAULT_RECV: {
		struct chan_case c = {o->ch, CHAN_RECV, &o->value};
		size_t k;
		o->st = chan_select(&c, 1, CHAN_SELECT_DEFAULT, NULL, &k);
		break;
	}
	case OP_CLOSE:
		o->st = chan_close(o->ch);
		break;
	}
	hold_disarm();
	atomic_store(&o->done, true);
	return NULL;
}

static pthread_t run_op(struct op *o, struct chan *ch, int kind,
			enum testhook_point hold, long value)
{
	*o = (struct op){.ch = ch, .kind = kind, .hold = hold, .value = value};
	atomic_init(&o->done, false);
	return start_thread(op_main, o);
}

static bool op_done(void *arg)
{
	return atomic_load(&((struct op *)arg)->done);
}

struct waiters_goal {
	struct chan *ch;
	enum chan_dir dir;
	size_t n;
};

static bool has_waiters(void *arg)
{
	struct waiters_goal *g = arg;
	return chan_waiters(g->ch, g->dir) >= g->n;
}

static void wait_for_waiters(struct chan *ch, enum chan_dir dir, size_t n)
{
	struct waiters_goal g = {ch, dir, n};
	ck_assert_msg(wait_until(has_waiters, &g, SECONDS),
		      "%zu waiters never appeared", n);
}

/* Inside the window, another thread has acted when any of these holds: it
 * finished (`o`); it waits for the channel's lock, which the held thread owns
 * (LOCK_CONTENDED reached `contended`); it waits for the held thread to
 * finish writing the slot it reserved (INFLIGHT_WAIT reached `inflight`);
 * `point` was passed `count` times. */
struct acted_goal {
	struct op *o;
	long contended;
	enum testhook_point point;
	long count;    /* 0: not a condition */
	long inflight; /* 0: not a condition */
};

static bool acted(void *arg)
{
	struct acted_goal *g = arg;
	return (g->o && op_done(g->o)) ||
	       hook_count(TESTHOOK_CHAN_LOCK_CONTENDED) >= g->contended ||
	       (g->inflight > 0 &&
		hook_count(TESTHOOK_CHAN_INFLIGHT_WAIT) >= g->inflight) ||
	       (g->count > 0 && hook_count(g->point) >= g->count);
}

static void wait_acted(struct acted_goal g)
{
	ck_assert_msg(wait_until(acted, &g, SECONDS),
		      "a thread neither acted nor waited for the lock");
}

static void finish(struct op *o, pthread_t t)
{
	ck_assert_msg(wait_until(op_done, o, SECONDS),
		      "an operation never returned (lost wakeup)");
	join_thread(t);
}

/* ---- 1. lost wakeups on the buffered ring ------------------------------- */

/* (a) Two receivers sleep on an empty channel; a send claims a slot and is
 * held before writing it; the channel is closed.  Both receivers must
 * return: one with the value, both then with CHAN_CLOSED. */
static void close_during_claimed_send(size_t cap)
{
	hooks_reset();
	struct chan *ch = chan_new(sizeof(long), cap);
	struct op r1, r2, s, c;
	pthread_t tr1 = run_op(&r1, ch, OP_RECV_ALL, -1, 0);
	pthread_t tr2 = run_op(&r2, ch, OP_RECV_ALL, -1, 0);
	wait_for_waiters(ch, CHAN_RECV, 2);
	pthread_t ts = run_op(&s, ch, OP_SEND, TESTHOOK_CHAN_SEND_CLAIMED, 7);
	ck_assert(hold_reached(SECONDS));
	long base = hook_count(TESTHOOK_CHAN_LOCK_CONTENDED);
	pthread_t tc = run_op(&c, ch, OP_CLOSE, -1, 0);
	wait_acted((struct acted_goal){.o = &c, .contended = base + 1});
	hold_release();
	finish(&s, ts);
	finish(&c, tc);
	finish(&r1, tr1);
	finish(&r2, tr2);
	ck_assert_int_eq(s.st, CHAN_OK);
	ck_assert_int_eq(r1.st, CHAN_CLOSED);
	ck_assert_int_eq(r2.st, CHAN_CLOSED);
	ck_assert_int_eq(r1.value + r2.value, 1);
	chan_free(ch);
}

START_TEST(test_close_during_claimed_send_wakes_all_cap1)
{
	close_during_claimed_send(1);
}
END_TEST

START_TEST(test_close_during_claimed_send_wakes_all_cap2)
{
	close_during_claimed_send(2);
}
END_TEST

/* (c) Capacity 2, two receivers asleep: sender 1 claims slot 0 and is held;
 * sender 2 fills slot 1 (its wake-up finds slot 0 unwritten); sender 1
 * then writes.  Both receivers must get a value. */
START_TEST(test_out_of_order_publish_wakes_both_receivers)
{
	hooks_reset();
	struct chan *ch = chan_new(sizeof(long), 2);
	struct op r1, r2, s1, s2;
	pthread_t tr1 = run_op(&r1, ch, OP_RECV, -1, 0);
	pthread_t tr2 = run_op(&r2, ch, OP_RECV, -1, 0);
	wait_for_waiters(ch, CHAN_RECV, 2);
	pthread_t ts1 = run_op(&s1, ch, OP_SEND, TESTHOOK_CHAN_SEND_CLAIMED, 1);
	ck_assert(hold_reached(SECONDS));
	long waits = hook_count(TESTHOOK_CHAN_WAITING);
	long base = hook_count(TESTHOOK_CHAN_LOCK_CONTENDED);
	pthread_t ts2 = run_op(&s2, ch, OP_SEND, -1, 2);
	/* Either sender 2 waits for the lock sender 1 holds, or it finished
	 * and the receiver it woke found slot 0 unwritten and slept again. */
	wait_acted((struct acted_goal){.contended = base + 1,
				       .point = TESTHOOK_CHAN_WAITING,
				       .count = waits + 1});
	hold_release();
	finish(&s1, ts1);
	finish(&s2, ts2);
	finish(&r1, tr1);
	finish(&r2, tr2);
	ck_assert_int_eq(r1.st, CHAN_OK);
	ck_assert_int_eq(r2.st, CHAN_OK);
	ck_assert_int_eq(r1.value + r2.value, 3);
	chan_free(ch);
}
END_TEST

/* (c') The same with the receivers arriving while sender 1 is held between
 * reserving its place and writing it (the lock-free path): receiver 1
 * reserves that value and must wait for it, not sleep; receiver 2 finds
 * nothing and sleeps; sender 2's value must reach receiver 2. */
START_TEST(test_receivers_arriving_during_claimed_send)
{
	hooks_reset();
	struct chan *ch = chan_new(sizeof(long), 2);
	struct op r1, r2, s1, s2;
	pthread_t ts1 = run_op(&s1, ch, OP_SEND, TESTHOOK_CHAN_SEND_CLAIMED, 1);
	ck_assert(hold_reached(SECONDS));
	long waits = hook_count(TESTHOOK_CHAN_WAITING);
	long inflight = hook_count(TESTHOOK_CHAN_INFLIGHT_WAIT);
	pthread_t tr1 = run_op(&r1, ch, OP_RECV, -1, 0);
	/* Receiver 1 waits for the value being written, or sleeps. */
	wait_acted((struct acted_goal){.contended = LONG_MAX,
				       .inflight = inflight + 1,
				       .point = TESTHOOK_CHAN_WAITING,
				       .count = waits + 1});
	waits = hook_count(TESTHOOK_CHAN_WAITING);
	pthread_t tr2 = run_op(&r2, ch, OP_RECV, -1, 0);
	wait_acted((struct acted_goal){.contended = LONG_MAX,
				       .point = TESTHOOK_CHAN_WAITING,
				       .count = waits + 1});
	waits = hook_count(TESTHOOK_CHAN_WAITING);
	pthread_t ts2 = run_op(&s2, ch, OP_SEND, -1, 2);
	finish(&s2, ts2);
	/* Receiver 2 got sender 2's value, or a receiver woke for it and
	 * went back to sleep because slot 0 is still being written. */
	wait_acted((struct acted_goal){.o = &r2, .contended = LONG_MAX,
				       .point = TESTHOOK_CHAN_WAITING,
				       .count = waits + 1});
	hold_release();
	finish(&s1, ts1);
	finish(&r1, tr1);
	finish(&r2, tr2);
	ck_assert_int_eq(r1.st, CHAN_OK);
	ck_assert_int_eq(r2.st, CHAN_OK);
	ck_assert_int_eq(r1.value + r2.value, 3);
	chan_free(ch);
}
END_TEST

/* (d) The mirror for senders: capacity 2 is full and two senders wait (with
 * a deadline far away); receiver 1 claims slot 0 and is held before freeing
 * it; receiver 2 takes slot 1.  Both senders must get their slot, not time
 * out while one is free. */
START_TEST(test_out_of_order_free_wakes_both_senders)
{
	hooks_reset();
	struct chan *ch = chan_new(sizeof(long), 2);
	long v = 0;
	ck_assert_int_eq(chan_send(ch, &v), CHAN_OK);
	ck_assert_int_eq(chan_send(ch, &v), CHAN_OK);
	struct op t1, t2, q1, q2;
	struct timespec far = chan_deadline_after(60);
	t1 = (struct op){.ch = ch, .kind = OP_SEND_UNTIL, .hold = -1, .value = 1,
			 .deadline = far};
	t2 = t1;
	t2.value = 2;
	atomic_init(&t1.done, false);
	atomic_init(&t2.done, false);
	pthread_t tt1 = start_thread(op_main, &t1);
	pthread_t tt2 = start_thread(op_main, &t2);
	wait_for_waiters(ch, CHAN_SEND, 2);
	pthread_t tq1 = run_op(&q1, ch, OP_RECV, TESTHOOK_CHAN_RECV_CLAIMED, 0);
	ck_assert(hold_reached(SECONDS));
	long waits = hook_count(TESTHOOK_CHAN_WAITING);
	long base = hook_count(TESTHOOK_CHAN_LOCK_CONTENDED);
	pthread_t tq2 = run_op(&q2, ch, OP_RECV, -1, 0);
	wait_acted((struct acted_goal){.contended = base + 1,
				       .point = TESTHOOK_CHAN_WAITING,
				       .count = waits + 1});
	hold_release();
	finish(&q1, tq1);
	finish(&q2, tq2);
	finish(&t1, tt1);
	finish(&t2, tt2);
	ck_assert_int_eq(t1.st, CHAN_OK);
	ck_assert_int_eq(t2.st, CHAN_OK);
	long a, b;
	ck_assert_int_eq(chan_recv(ch, &a), CHAN_OK);
	ck_assert_int_eq(chan_recv(ch, &b), CHAN_OK);
	ck_assert_int_eq(a + b, 3);
	chan_free(ch);
}
END_TEST

/* (e) The place a receive frees while senders sleep is theirs (FIFO, and
 * the receive moves a sleeper's value in): capacity 1 holds 10 and sender
 * 1 sleeps; the receiver is held under the lock between reserving 10 and
 * copying it out.  Two non-blocking sends try meanwhile, lock-free: the
 * first must see the sleepers' flag in `tail` and wait for the lock; the
 * second must not trust a copy of `tail` the first may have saved (it
 * would take the place, and the receive would find none for sender 1).
 * Both would block; the ring then holds sender 1's value. */
START_TEST(test_freed_place_goes_to_sleeping_sender)
{
	hooks_reset();
	struct chan *ch = chan_new(sizeof(long), 1);
	long v = 10;
	ck_assert_int_eq(chan_send(ch, &v), CHAN_OK);
	struct op s1, r, t2, t3;
	pthread_t ts1 = run_op(&s1, ch, OP_SEND, -1, 11);
	wait_for_waiters(ch, CHAN_SEND, 1);
	pthread_t tr = run_op(&r, ch, OP_RECV, TESTHOOK_CHAN_RECV_CLAIMED, 0);
	ck_assert(hold_reached(SECONDS));
	long base = hook_count(TESTHOOK_CHAN_LOCK_CONTENDED);
	long inflight = hook_count(TESTHOOK_CHAN_INFLIGHT_WAIT);
	pthread_t tt2 = run_op(&t2, ch, OP_TRY_SEND, -1, 12);
	wait_acted((struct acted_goal){.o = &t2, .contended = base + 1,
				       .inflight = inflight + 1});
	pthread_t tt3 = run_op(&t3, ch, OP_TRY_SEND, -1, 13);
	wait_acted((struct acted_goal){.o = &t3, .contended = base + 2,
				       .inflight = inflight + 1});
	hold_release();
	finish(&r, tr);
	finish(&s1, ts1);
	finish(&t2, tt2);
	finish(&t3, tt3);
	ck_assert_int_eq(r.st, CHAN_OK);
	ck_assert_int_eq(r.value, 10);
	ck_assert_int_eq(s1.st, CHAN_OK);
	ck_assert_int_eq(t2.st, CHAN_WOULDBLOCK);
	ck_assert_int_eq(t3.st, CHAN_WOULDBLOCK);
	ck_assert_int_eq(chan_recv(ch, &v), CHAN_OK);
	ck_assert_int_eq(v, 11);
	ck_assert_int_eq(chan_try_recv(ch, &v), CHAN_WOULDBLOCK);
	chan_free(ch);
}
END_TEST

/* ---- 2. freeing a channel right after receiving from it ----------------- */

/* The sender is held after its value became visible; the receiver takes
 * it and frees the channel at once; then the sender goes on.  It must not
 * touch the channel any more (chan_free poisons the memory in the test
 * build, and AddressSanitizer sees any access). */
START_TEST(test_free_after_recv_buffered_sender_held)
{
	for (int round = 0; round < 2; round++) {
		hooks_reset();
		struct chan *ch = chan_new(sizeof(long), 1);
		struct op s, r;
		pthread_t tr = 0;
		if (round == 1) { /* the receiver is already asleep */
			tr = run_op(&r, ch, OP_RECV, -1, 0);
			wait_for_waiters(ch, CHAN_RECV, 1);
		}
		pthread_t ts = run_op(&s, ch, OP_SEND, TESTHOOK_CHAN_SEND_PUBLISHED, 42);
		ck_assert(hold_reached(SECONDS));
		long v = 0;
		if (round == 0) {
			ck_assert_int_eq(chan_recv(ch, &v), CHAN_OK);
		} else {
			finish(&r, tr);
			ck_assert_int_eq(r.st, CHAN_OK);
			v = r.value;
		}
		ck_assert_int_eq(v, 42);
		chan_free(ch);
		hold_release();
		finish(&s, ts);
		ck_assert_int_eq(s.st, CHAN_OK);
	}
}
END_TEST

/* Unbuffered: the sender sleeps; the receiver's hand-off wakes it and is
 * done; the receiver frees the channel while the woken sender is held
 * before its clean-up. */
START_TEST(test_free_after_recv_unbuffered_sender_woken)
{
	hooks_reset();
	struct chan *ch = chan_new(sizeof(long), 0);
	struct op s;
	pthread_t ts = run_op(&s, ch, OP_SEND, TESTHOOK_CHAN_WOKEN, 42);
	wait_for_waiters(ch, CHAN_SEND, 1);
	long v = 0;
	ck_assert_int_eq(chan_recv(ch, &v), CHAN_OK);
	ck_assert_int_eq(v, 42);
	ck_assert(hold_reached(SECONDS));
	chan_free(ch);
	hold_release();
	finish(&s, ts);
	ck_assert_int_eq(s.st, CHAN_OK);
}
END_TEST

/* A thread that frees a channel (it may have to wait for the lock). */
struct freer {
	struct chan *ch;
	_Atomic bool done;
};

static void *free_main(void *arg)
{
	struct freer *f = arg;
	chan_free(f->ch);
	atomic_store(&f->done, true);
	return NULL;
}

static bool freed(void *arg)
{
	return atomic_load(&((struct freer *)arg)->done);
}

/* Frees ch on another thread while `held` keeps the lock, and lets the
 * held thread go only once chan_free waits for that lock: it must not
 * free the channel before the held thread has let go of it. */
static void free_while_lock_held(struct chan *ch)
{
	long base = hook_count(TESTHOOK_CHAN_LOCK_CONTENDED);
	struct freer f = {.ch = ch};
	atomic_init(&f.done, false);
	pthread_t tf = start_thread(free_main, &f);
	wait_acted((struct acted_goal){.contended = base + 1});
	ck_assert_msg(!freed(&f), "chan_free did not wait for the lock");
	hold_release();
	ck_assert_msg(wait_until(freed, &f, SECONDS), "chan_free never returned");
	join_thread(tf);
}

/* A receive that finds the channel closed returns on the lock-free path
 * while the closer still holds the lock; the receiver frees the channel:
 * the closer must not touch it after that (chan.h: once an operation
 * returns CHAN_CLOSED, the closer no longer does). */
START_TEST(test_free_after_closed_recv_closer_held)
{
	hooks_reset();
	struct chan *ch = chan_new(sizeof(long), 1);
	struct op c;
	pthread_t tc = run_op(&c, ch, OP_CLOSE, TESTHOOK_CHAN_CLOSED, 0);
	ck_assert(hold_reached(SECONDS));
	long v;
	ck_assert_int_eq(chan_recv(ch, &v), CHAN_CLOSED);
	free_while_lock_held(ch);
	finish(&c, tc);
	ck_assert_int_eq(c.st, CHAN_OK);
}
END_TEST

/* A send through the lock -- a select beside an unbuffered channel, so no
 * lock-free pass -- writes the ring holding the lock; a lock-free receive
 * takes the value, and the receiver frees the channel (the reply idiom)
 * while the sender is held before it lets go of the lock. */
struct locked_sender {
	struct chan *ch, *quit;
	long value;
	enum chan_status st;
	_Atomic bool done;
};

static void *locked_send_main(void *arg)
{
	struct locked_sender *l = arg;
	hold_arm(TESTHOOK_CHAN_SEND_PUBLISHED_LOCKED);
	long q;
	struct chan_case cases[2] = { { l->ch, CHAN_SEND, &l->value },
				      { l->quit, CHAN_RECV, &q } };
	size_t k = 9;
	l->st = chan_select(cases, 2, CHAN_SELECT_BLOCK, NULL, &k);
	if (l->st == CHAN_OK && k != 0)
		l->st = CHAN_INVALID;
	hold_disarm();
	atomic_store(&l->done, true);
	return NULL;
}

static bool locked_sent(void *arg)
{
	return atomic_load(&((struct locked_sender *)arg)->done);
}

START_TEST(test_free_after_recv_locked_sender_held)
{
	hooks_reset();
	struct locked_sender l = { .ch = chan_new(sizeof(long), 1),
				   .quit = chan_new(sizeof(long), 0),
				   .value = 42 };
	atomic_init(&l.done, false);
	pthread_t ts = start_thread(locked_send_main, &l);
	ck_assert(hold_reached(SECONDS));
	long v = 0;
	ck_assert_int_eq(chan_recv(l.ch, &v), CHAN_OK);
	ck_assert_int_eq(v, 42);
	free_while_lock_held(l.ch);
	ck_assert_msg(wait_until(locked_sent, &l, SECONDS), "the send never returned");
	join_thread(ts);
	ck_assert_int_eq(l.st, CHAN_OK);
	chan_free(l.quit);
}
END_TEST

/* Go's reply-channel idiom, many times, with no hook: a server answers
 * each request on the reply channel that came with it; the client frees
 * the reply channel as soon as it has the answer. */
struct request {
	long x;
	struct chan *reply;
};

static void *reply_server(void *arg)
{
	struct chan *requests = arg;
	struct request rq;
	while (chan_recv(requests, &rq) == CHAN_OK) {
		long y = rq.x * 2;
		ck_assert_int_eq(chan_send(rq.reply, &y), CHAN_OK);
	}
	return NULL;
}

static void reply_idiom(size_t cap, long rounds)
{
	struct chan *requests = chan_new(sizeof(struct request), 4);
	pthread_t t[2] = {start_thread(reply_server, requests),
			  start_thread(reply_server, requests)};
	for (long i = 0; i < rounds; i++) {
		struct request rq = {i, chan_new(sizeof(long), cap)};
		ck_assert_int_eq(chan_send(requests, &rq), CHAN_OK);
		long y;
		ck_assert_int_eq(chan_recv(rq.reply, &y), CHAN_OK);
		ck_assert_int_eq(y, 2 * i);
		chan_free(rq.reply);
	}
	chan_close(requests);
	join_thread(t[0]);
	join_thread(t[1]);
	chan_free(requests);
}

START_TEST(test_reply_channel_idiom_buffered)
{
	reply_idiom(1, env_long("RACE_ROUNDS", 20000));
}
END_TEST

START_TEST(test_reply_channel_idiom_unbuffered)
{
	reply_idiom(0, env_long("RACE_ROUNDS", 20000));
}
END_TEST

/* ---- 6. a non-blocking receive on a closed channel ---------------------- */

/* A send claimed its slot before the close and is held before writing; the
 * channel is closed; a non-blocking receive (or select with default) must
 * not say "would block": the value is as good as sent.  It gets the value. */
static void try_recv_after_close_with_send_in_flight(int kind)
{
	hooks_reset();
	struct chan *ch = chan_new(sizeof(long), 1);
	struct op s, c, r;
	pthread_t ts = run_op(&s, ch, OP_SEND, TESTHOOK_CHAN_SEND_CLAIMED, 9);
	ck_assert(hold_reached(SECONDS));
	long base = hook_count(TESTHOOK_CHAN_LOCK_CONTENDED);
	pthread_t tc = run_op(&c, ch, OP_CLOSE, -1, 0);
	/* Closed, or the closer waits for the lock the sender holds. */
	wait_acted((struct acted_goal){.contended = base + 1,
				       .point = TESTHOOK_CHAN_CLOSED,
				       .count = 1});
	long inflight = hook_count(TESTHOOK_CHAN_INFLIGHT_WAIT);
	pthread_t tr = run_op(&r, ch, kind, -1, 0);
	wait_acted((struct acted_goal){.o = &r, .contended = base + 2,
				       .inflight = inflight + 1});
	hold_release();
	finish(&s, ts);
	finish(&c, tc);
	finish(&r, tr);
	ck_assert_int_eq(s.st, CHAN_OK);
	ck_assert_int_eq(c.st, CHAN_OK);
	ck_assert_msg(r.st == CHAN_OK, "got %s", chan_status_str(r.st));
	ck_assert_int_eq(r.value, 9);
	long v;
	ck_assert_int_eq(chan_try_recv(ch, &v), CHAN_CLOSED);
	chan_free(ch);
}

START_TEST(test_try_recv_after_close_waits_for_send_in_flight)
{
	try_recv_after_close_with_send_in_flight(OP_TRY_RECV);
}
END_TEST

START_TEST(test_select_default_after_close_waits_for_send_in_flight)
{
	try_recv_after_close_with_send_in_flight(OP_SELECT_DEFAULT_RECV);
}
END_TEST

/* ---- many rounds, no hooks: producers, consumers, select and close ----- */

/*
 * Each round: a channel of capacity 1 or 2 (and a second one for selects),
 * P producers sending (plain, by select, or by try in a loop) until the
 * channel is closed, C consumers receiving (plain, by select over both
 * channels, or with a deadline) until both are closed and drained; the main
 * thread closes both after a few values.  Every round must end (a lost
 * wakeup hangs it: the test's timeout catches that) and conserve values.
 */
enum { RP = 6, RC = 3 };

struct rounds {
	struct chan *ch[2];
	pthread_barrier_t start, end;
	_Atomic long sent, recvd;
	_Atomic uint64_t sent_sum, recv_sum;
	long nrounds;
};

struct worker {
	struct rounds *r;
	int id;
};

static void *round_producer(void *arg)
{
	struct worker *w = arg;
	struct rounds *r = w->r;
	for (long round = 0; round < r->nrounds; round++) {
		pthread_barrier_wait(&r->start);
		struct chan *ch = r->ch[w->id % 2];
		for (uint64_t i = 0;; i++) {
			uint64_t v = ((uint64_t)w->id << 40) | ((uint64_t)round << 20) | i;
			enum chan_status st;
			int mode = (int)((w->id + round) % 3);
			if (mode == 0) {
				st = chan_send(ch, &v);
			} else if (mode == 1) {
				int dummy;
				struct chan_case cs[2] = {{ch, CHAN_SEND, &v},
							  {NULL, CHAN_RECV, &dummy}};
				size_t k;
				st = chan_select(cs, 2, CHAN_SELECT_BLOCK, NULL, &k);
			} else {
				while ((st = chan_try_send(ch, &v)) == CHAN_WOULDBLOCK)
					sched_yield();
			}
			if (st != CHAN_OK) {
				ck_assert_int_eq(st, CHAN_CLOSED);
				break;
			}
			atomic_fetch_add(&r->sent, 1);
			atomic_fetch_add(&r->sent_sum, splitmix64(v));
		}
		pthread_barrier_wait(&r->end);
	}
	return NULL;
}

static void *round_consumer(void *arg)
{
	struct worker *w = arg;
	struct rounds *r = w->r;
	for (long round = 0; round < r->nrounds; round++) {
		pthread_barrier_wait(&r->start);
		uint64_t v[2];
		struct chan_case cs[2] = {{r->ch[0], CHAN_RECV, &v[0]},
					  {r->ch[1], CHAN_RECV, &v[1]}};
		int open = 2;
		int mode = (int)((w->id + round) % 3);
		while (open > 0) {
			size_t k = 0;
			enum chan_status st;
			if (mode == 0 && cs[0].ch) {
				st = chan_recv(cs[0].ch, &v[0]);
			} else if (mode == 2 && cs[0].ch) {
				struct timespec d = chan_deadline_after(0.001);
				st = chan_recv_until(cs[0].ch, &v[0], &d);
				if (st == CHAN_TIMEOUT)
					continue;
			} else {
				st = chan_select(cs, 2, CHAN_SELECT_BLOCK, NULL, &k);
			}
			if (st == CHAN_CLOSED) {
				cs[k].ch = NULL;
				open--;
				continue;
			}
			ck_assert_int_eq(st, CHAN_OK);
			atomic_fetch_add(&r->recvd, 1);
			atomic_fetch_add(&r->recv_sum, splitmix64(v[k]));
		}
		pthread_barrier_wait(&r->end);
	}
	return NULL;
}

static bool enough_sent(void *arg)
{
	return atomic_load(&((struct rounds *)arg)->sent) >= 8;
}

static void close_select_rounds(long nrounds)
{
	struct rounds *r = calloc(1, sizeof(*r));
	r->nrounds = nrounds;
	pthread_barrier_init(&r->start, NULL, RP + RC + 1);
	pthread_barrier_init(&r->end, NULL, RP + RC + 1);
	struct worker w[RP + RC];
	pthread_t t[RP + RC];
	for (int i = 0; i < RP + RC; i++) {
		w[i] = (struct worker){r, i};
		t[i] = start_thread(i < RP ? round_producer : round_consumer, &w[i]);
	}
	for (long round = 0; round < nrounds; round++) {
		size_t cap = 1 + (size_t)(round % 2);
		r->ch[0] = chan_new(sizeof(uint64_t), cap);
		r->ch[1] = chan_new(sizeof(uint64_t), round % 4 == 3 ? 0 : cap);
		atomic_store(&r->sent, 0);
		atomic_store(&r->recvd, 0);
		atomic_store(&r->sent_sum, 0);
		atomic_store(&r->recv_sum, 0);
		pthread_barrier_wait(&r->start);
		ck_assert(wait_until(enough_sent, r, SECONDS));
		chan_close(r->ch[0]);
		chan_close(r->ch[1]);
		pthread_barrier_wait(&r->end);
		ck_assert_int_eq(atomic_load(&r->sent), atomic_load(&r->recvd));
		ck_assert(atomic_load(&r->sent_sum) == atomic_load(&r->recv_sum));
		chan_free(r->ch[0]);
		chan_free(r->ch[1]);
	}
	for (int i = 0; i < RP + RC; i++)
		join_thread(t[i]);
	pthread_barrier_destroy(&r->start);
	pthread_barrier_destroy(&r->end);
	free(r);
}

START_TEST(test_close_select_rounds_small_capacity)
{
	close_select_rounds(env_long("RACE_ROUNDS", 20000) / 10);
}
END_TEST

/* ---- the ring's split counters, every kind of operation mixed ---------- */

/*
 * The lock-free ring (src/chan.c, "the ring"): senders and receivers
 * reserve on separate words, trust old copies of each other's count, and
 * wait for each other in batches; a sleeping side raises its flag in the
 * other side's word.  Each round: a channel of capacity 1, 2 or 3 (3 is
 * not a power of two: its slots are found by division), 1 or MP
 * producers, 1 or MC consumers; every message picks its kind of operation
 * in turn: blocking, with a deadline (tried again on a timeout),
 * non-blocking (tried again), and a select whose other case is a buffered
 * channel that never gets a value.  Half of the rounds close the channel
 * while values flow, the other half once every producer is done.  Every
 * value sent is received exactly once (count and checksum), in order per
 * producer; a non-blocking receive that starts on a closed channel never
 * says "would block"; a lost wakeup hangs the round (the test's timeout).
 */
enum { MP = 4, MC = 4, MIXED_PER_PRODUCER = 300 };

struct mixed_worker {
	struct mixed *m;
	int id;
};

struct mixed {
	struct chan *ch;
	struct chan *never;    /* a select's other case: never ready */
	pthread_barrier_t start, end;
	int producers, consumers; /* active this round */
	bool close_early;         /* close while values flow */
	_Atomic long sent, recvd;
	_Atomic uint64_t sent_sum, recv_sum;
	_Atomic int errors;
	long nrounds;
};

static uint64_t mixed_value(int producer, long round, uint32_t i)
{
	return ((uint64_t)producer << 56) | ((uint64_t)(round & 0xffffff) << 32) | i;
}

/* One send of `v` by the kind of operation `kind` (0..3). */
static enum chan_status mixed_send(struct mixed *m, uint64_t v, int kind)
{
	enum chan_status st;
	switch (kind) {
	case 0:
		return chan_send(m->ch, &v);
	case 1:
		do {
			struct timespec d = chan_deadline_after(0.001);
			st = chan_send_until(m->ch, &v, &d);
		} while (st == CHAN_TIMEOUT);
		return st;
	case 2:
		while ((st = chan_try_send(m->ch, &v)) == CHAN_WOULDBLOCK)
			sched_yield();
		return st;
	default: {
		uint64_t none;
		struct chan_case cs[2] = {{m->never, CHAN_RECV, &none},
					  {m->ch, CHAN_SEND, &v}};
		size_t k = 0;
		st = chan_select(cs, 2, CHAN_SELECT_BLOCK, NULL, &k);
		ck_assert_uint_eq(k, 1);
		return st;
	}
	}
}

/* One receive into *v by the kind of operation `kind` (0..3). */
static enum chan_status mixed_recv(struct mixed *m, uint64_t *v, int kind)
{
	enum chan_status st;
	switch (kind) {
	case 0:
		return chan_recv(m->ch, v);
	case 1:
		do {
			struct timespec d = chan_deadline_after(0.001);
			st = chan_recv_until(m->ch, v, &d);
		} while (st == CHAN_TIMEOUT);
		return st;
	case 2:
		for (;;) {
			bool was_closed = chan_is_closed(m->ch);
			st = chan_try_recv(m->ch, v);
			if (st != CHAN_WOULDBLOCK)
				return st;
			if (was_closed)
				atomic_fetch_add(&m->errors, 1);
			sched_yield();
		}
	default: {
		uint64_t none;
		struct chan_case cs[2] = {{m->ch, CHAN_RECV, v},
					  {m->never, CHAN_RECV, &none}};
		size_t k = 1;
		st = chan_select(cs, 2, CHAN_SELECT_BLOCK, NULL, &k);
		ck_assert_uint_eq(k, 0);
		return st;
	}
	}
}

static void *mixed_producer(void *arg)
{
	struct mixed_worker *w = arg;
	struct mixed *m = w->m;
	for (long round = 0; round < m->nrounds; round++) {
		pthread_barrier_wait(&m->start);
		uint32_t n = m->close_early ? UINT32_MAX : MIXED_PER_PRODUCER;
		for (uint32_t i = 0; w->id < m->producers && i < n; i++) {
			uint64_t v = mixed_value(w->id, round, i);
			enum chan_status st = mixed_send(m, v, (int)((w->id + i) % 4));
			if (st != CHAN_OK) {
				ck_assert_int_eq(st, CHAN_CLOSED);
				ck_assert(m->close_early);
				break;
			}
			atomic_fetch_add(&m->sent, 1);
			atomic_fetch_add(&m->sent_sum, splitmix64(v));
		}
		pthread_barrier_wait(&m->end);
	}
	return NULL;
}

static void *mixed_consumer(void *arg)
{
	struct mixed_worker *w = arg;
	struct mixed *m = w->m;
	for (long round = 0; round < m->nrounds; round++) {
		pthread_barrier_wait(&m->start);
		int64_t last[MP] = {-1, -1, -1, -1};
		for (long i = 0; w->id < m->consumers; i++) {
			uint64_t v;
			enum chan_status st = mixed_recv(m, &v, (int)((w->id + i) % 4));
			if (st == CHAN_CLOSED)
				break;
			ck_assert_int_eq(st, CHAN_OK);
			int p = (int)(v >> 56);
			int64_t seq = (int64_t)(v & 0xffffffff);
			ck_assert_int_lt(p, MP);
			if (seq <= last[p] || ((v >> 32) & 0xffffff) != (uint64_t)(round & 0xffffff))
				atomic_fetch_add(&m->errors, 1);
			last[p] = seq;
			atomic_fetch_add(&m->recvd, 1);
			atomic_fetch_add(&m->recv_sum, splitmix64(v));
		}
		pthread_barrier_wait(&m->end);
	}
	return NULL;
}

static bool mixed_enough(void *arg)
{
	struct mixed *m = arg;
	long goal = m->close_early ? 50 : (long)m->producers * MIXED_PER_PRODUCER;
	return atomic_load(&m->sent) >= goal;
}

static void mixed_rounds(long nrounds)
{
	struct mixed *m = calloc(1, sizeof(*m));
	m->nrounds = nrounds;
	m->never = chan_new(sizeof(uint64_t), 1);
	pthread_barrier_init(&m->start, NULL, MP + MC + 1);
	pthread_barrier_init(&m->end, NULL, MP + MC + 1);
	struct mixed_worker w[MP + MC];
	pthread_t t[MP + MC];
	for (int i = 0; i < MP + MC; i++) {
		w[i] = (struct mixed_worker){m, i < MP ? i : i - MP};
		t[i] = start_thread(i < MP ? mixed_producer : mixed_consumer, &w[i]);
	}
	for (long round = 0; round < nrounds; round++) {
		m->ch = chan_new(sizeof(uint64_t), 1 + (size_t)(round % 3));
		m->producers = round % 2 ? MP : 1;
		m->consumers = (round / 2) % 2 ? MC : 1;
		m->close_early = (round / 4) % 2;
		atomic_store(&m->sent, 0);
		atomic_store(&m->recvd, 0);
		atomic_store(&m->sent_sum, 0);
		atomic_store(&m->recv_sum, 0);
		pthread_barrier_wait(&m->start);
		ck_assert(wait_until(mixed_enough, m, SECONDS));
		chan_close(m->ch);
		pthread_barrier_wait(&m->end);
		ck_assert_int_eq(atomic_load(&m->sent), atomic_load(&m->recvd));
		ck_assert(atomic_load(&m->sent_sum) == atomic_load(&m->recv_sum));
		int errors = atomic_load(&m->errors);
		ck_assert_msg(errors == 0, "%d values out of order, or a "
			      "try-receive on a closed channel would block",
			      errors);
		chan_free(m->ch);
	}
	for (int i = 0; i < MP + MC; i++)
		join_thread(t[i]);
	ck_assert_uint_eq(chan_len(m->never), 0);
	chan_free(m->never);
	pthread_barrier_destroy(&m->start);
	pthread_barrier_destroy(&m->end);
	free(m);
}

START_TEST(test_ring_mixed_operations_rounds)
{
	/* 200 rounds in make check, 2,000 per repeat in torture's chan
	 * family (4,000 made that family 40-60 s longer, CI near 30 min). */
	mixed_rounds(env_long("RACE_ROUNDS", 20000) / 100);
}
END_TEST

static Suite *races_suite(void)
{
	Suite *s = suite_create("chan_races");
	TCase *tc = tcase_create("held");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_close_during_claimed_send_wakes_all_cap1);
	tcase_add_test(tc, test_close_during_claimed_send_wakes_all_cap2);
	tcase_add_test(tc, test_out_of_order_publish_wakes_both_receivers);
	tcase_add_test(tc, test_receivers_arriving_during_claimed_send);
	tcase_add_test(tc, test_out_of_order_free_wakes_both_senders);
	tcase_add_test(tc, test_freed_place_goes_to_sleeping_sender);
	tcase_add_test(tc, test_free_after_recv_buffered_sender_held);
	tcase_add_test(tc, test_free_after_recv_unbuffered_sender_woken);
	tcase_add_test(tc, test_free_after_closed_recv_closer_held);
	tcase_add_test(tc, test_free_after_recv_locked_sender_held);
	tcase_add_test(tc, test_try_recv_after_close_waits_for_send_in_flight);
	tcase_add_test(tc, test_select_default_after_close_waits_for_send_in_flight);
	suite_add_tcase(s, tc);
	tc = tcase_create("rounds");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_reply_channel_idiom_buffered);
	tcase_add_test(tc, test_reply_channel_idiom_unbuffered);
	tcase_add_test(tc, test_close_select_rounds_small_capacity);
	tcase_add_test(tc, test_ring_mixed_operations_rounds);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(races_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
