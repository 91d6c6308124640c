/* check_chan: the channel's contract, one rule per test. */
#include <check.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "chan.h"
#include "hooks.h"
#include "testutil.h"

/* ---- basics ------------------------------------------------------------- */

START_TEST(test_new_rejects_zero_size)
{
	ck_assert_ptr_null(chan_new(0, 4));
}
END_TEST

START_TEST(test_buffered_fifo_len_cap)
{
	struct chan *ch = chan_new(sizeof(int), 4);
	ck_assert_uint_eq(chan_cap(ch), 4);
	ck_assert_uint_eq(chan_len(ch), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(chan_send(ch, &i), CHAN_OK);
	ck_assert_uint_eq(chan_len(ch), 4);
	int v = 99;
	ck_assert_int_eq(chan_try_send(ch, &v), CHAN_WOULDBLOCK);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(chan_recv(ch, &v), CHAN_OK);
		ck_assert_int_eq(v, i);
	}
	ck_assert_int_eq(chan_try_recv(ch, &v), CHAN_WOULDBLOCK);
	ck_assert_uint_eq(chan_len(ch), 0);
	chan_free(ch);
}
END_TEST

START_TEST(test_buffered_wraps_many_laps)
{
	struct chan *ch = chan_new(sizeof(long), 3);
	long v;
	for (long i = 0; i < 1000; i++) {
		ck_assert_int_eq(chan_send(ch, &i), CHAN_OK);
		if (i % 2) {
			ck_assert_int_eq(chan_recv(ch, &v), CHAN_OK);
			ck_assert_int_eq(chan_recv(ch, &v), CHAN_OK);
			ck_assert_int_eq(v, i);
		}
	}
	chan_free(ch);
}
END_TEST

START_TEST(test_large_elements_copied_by_value)
{
	struct big { char bytes[300]; } a, b;
	struct chan *ch = chan_new(sizeof(a), 2);
	for (int i = 0; i < 300; i++)
		a.bytes[i] = (char)i;
	ck_assert_int_eq(chan_send(ch, &a), CHAN_OK);
	a.bytes[0] = 42; /* the channel holds a copy */
	ck_assert_int_eq(chan_recv(ch, &b), CHAN_OK);
	ck_assert_int_eq(b.bytes[0], 0);
	ck_assert_int_eq(b.bytes[299], (char)299);
	chan_free(ch);
}
END_TEST

START_TEST(test_close_twice_and_send_on_closed)
{
	for (size_t cap = 0; cap <= 2; cap += 2) {
		struct chan *ch = chan_new(sizeof(int), cap);
		int v = 1;
		ck_assert_int_eq(chan_close(ch), CHAN_OK);
		ck_assert(chan_is_closed(ch));
		ck_assert_int_eq(chan_close(ch), CHAN_CLOSED);
		ck_assert_int_eq(chan_send(ch, &v), CHAN_CLOSED);
		ck_assert_int_eq(chan_try_send(ch, &v), CHAN_CLOSED);
		ck_assert_int_eq(chan_recv(ch, &v), CHAN_CLOSED);
		ck_assert_int_eq(chan_try_recv(ch, &v), CHAN_CLOSED);
		chan_free(ch);
	}
}
END_TEST

START_TEST(test_drain_after_close)
{
	struct chan *ch = chan_new(sizeof(int), 8);
	for (int i = 0; i < 5; i++)
		chan_send(ch, &i);
	chan_close(ch);
	int v, n = 0;
	while (chan_recv(ch, &v) == CHAN_OK) {
		ck_assert_int_eq(v, n);
		n++;
	}
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(chan_recv(ch, &v), CHAN_CLOSED);
	chan_free(ch);
}
END_TEST

START_TEST(test_unbuffered_try_ops_need_a_peer)
{
	struct chan *ch = chan_new(sizeof(int), 0);
	int v = 3;
	ck_assert_uint_eq(chan_cap(ch), 0);
	ck_assert_int_eq(chan_try_send(ch, &v), CHAN_WOULDBLOCK);
	ck_assert_int_eq(chan_try_recv(ch, &v), CHAN_WOULDBLOCK);
	chan_free(ch);
}
END_TEST

/* ---- unbuffered rendezvous ---------------------------------------------- */

struct rendezvous {
	struct chan *ch;
	long n;
	_Atomic long last_returned; /* highest value whose send has returned */
};

static void *rendezvous_sender(void *arg)
{
	struct rendezvous *r = arg;
	for (long i = 1; i <= r->n; i++) {
		ck_assert_int_eq(chan_send(r->ch, &i), CHAN_OK);
		atomic_store(&r->last_returned, i);
	}
	return NULL;
}

START_TEST(test_unbuffered_send_returns_only_after_receive)
{
	/* Before the receiver takes value i, send(i) must not have returned:
	 * a sender can never run ahead of the receiver, not even by one. */
	struct rendezvous r = {.ch = chan_new(sizeof(long), 0), .n = 20000};
	atomic_init(&r.last_returned, 0);
	pthread_t t = start_thread(rendezvous_sender, &r);
	for (long i = 1; i <= r.n; i++) {
		ck_assert_int_lt(atomic_load(&r.last_returned), i);
		long v;
		ck_assert_int_eq(chan_recv(r.ch, &v), CHAN_OK);
		ck_assert_int_eq(v, i);
	}
	join_thread(t);
	ck_assert_int_eq(atomic_load(&r.last_returned), r.n);
	chan_free(r.ch);
}
END_TEST

static bool one_sender_waiting(void *arg)
{
	return chan_waiters(arg, CHAN_SEND) == 1;
}

START_TEST(test_unbuffered_blocked_sender_stays_blocked)
{
	struct rendezvous r = {.ch = chan_new(sizeof(long), 0), .n = 1};
	atomic_init(&r.last_returned, 0);
	pthread_t t = start_thread(rendezvous_sender, &r);
	ck_assert(wait_until(one_sender_waiting, r.ch, 10));
	/* Watch it for a while: it must not return without a receiver. */
	double end = now_seconds() + 0.05;
	while (now_seconds() < end)
		ck_assert_int_eq(atomic_load(&r.last_returned), 0);
	long v;
	ck_assert_int_eq(chan_recv(r.ch, &v), CHAN_OK);
	join_thread(t);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(atomic_load(&r.last_returned), 1);
	chan_free(r.ch);
}
END_TEST

/* ---- FIFO per producer -------------------------------------------------- */

struct msg {
	uint32_t producer;
	uint32_t seq;
};

struct producer_arg {
	struct chan *ch;
	uint32_t id;
	uint32_t count;
};

static void *fifo_producer(void *arg)
{
	struct producer_arg *p = arg;
	for (uint32_t i = 0; i < p->count; i++) {
		struct msg m = {p->id, i};
		ck_assert_int_eq(chan_send(p->ch, &m), CHAN_OK);
	}
	return NULL;
}

static void fifo_per_producer(size_t cap)
{
	enum { P = 4, N = 20000 };
	struct chan *ch = chan_new(sizeof(struct msg), cap);
	struct producer_arg args[P];
	pthread_t t[P];
	for (uint32_t i = 0; i < P; i++) {
		args[i] = (struct producer_arg){ch, i, N};
		t[i] = start_thread(fifo_producer, &args[i]);
	}
	uint32_t next[P] = {0};
	for (long k = 0; k < (long)P * N; k++) {
		struct msg m;
		ck_assert_int_eq(chan_recv(ch, &m), CHAN_OK);
		ck_assert_uint_lt(m.producer, P);
		ck_assert_uint_eq(m.seq, next[m.producer]);
		next[m.producer]++;
	}
	for (int i = 0; i < P; i++)
		join_thread(t[i]);
	chan_free(ch);
}

START_TEST(test_fifo_per_producer_buffered)
{
	fifo_per_producer(16);
}
END_TEST

START_TEST(test_fifo_per_producer_unbuffered)
{
	fifo_per_producer(0);
}
END_TEST

/* ---- close wakes everyone ----------------------------------------------- */

struct blocked_arg {
	struct chan *ch;
	int value;
	enum chan_status result;
};

static void *blocked_receiver(void *arg)
{
	struct blocked_arg *b = arg;
	b->result = chan_recv(b->ch, &b->value);
	return NULL;
}

static void *blocked_sender(void *arg)
{
	struct blocked_arg *b = arg;
	b->result = chan_send(b->ch, &b->value);
	return NULL;
}

struct waiters_goal {
	struct chan *ch;
	enum chan_dir dir;
	size_t n;
};

static bool has_waiters(void *arg)
{
	struct waiters_goal *g = arg;
	return chan_waiters(g->ch, g->dir) == g->n;
}

static void close_wakes_receivers(size_t cap)
{
	enum { N = 6 };
	struct chan *ch = chan_new(sizeof(int), cap);
	struct blocked_arg b[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		b[i] = (struct blocked_arg){ch, -1, CHAN_OK};
		t[i] = start_thread(blocked_receiver, &b[i]);
	}
	struct waiters_goal g = {ch, CHAN_RECV, N};
	ck_assert(wait_until(has_waiters, &g, 10));
	ck_assert_int_eq(chan_close(ch), CHAN_OK);
	for (int i = 0; i < N; i++) {
		join_thread(t[i]);
		ck_assert_int_eq(b[i].result, CHAN_CLOSED);
		ck_assert_int_eq(b[i].value, -1);
	}
	ck_assert_uint_eq(chan_waiters(ch, CHAN_RECV), 0);
	chan_free(ch);
}

START_TEST(test_close_wakes_blocked_receivers_buffered)
{
	close_wakes_receivers(4);
}
END_TEST

START_TEST(test_close_wakes_blocked_receivers_unbuffered)
{
	close_wakes_receivers(0);
}
END_TEST

static void close_wakes_senders(size_t cap)
{
	enum { N = 6 };
	struct chan *ch = chan_new(sizeof(int), cap);
	for (int i = 0; i < (int)cap; i++)
		ck_assert_int_eq(chan_send(ch, &i), CHAN_OK); /* fill it */
	struct blocked_arg b[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		b[i] = (struct blocked_arg){ch, 100 + i, CHAN_OK};
		t[i] = start_thread(blocked_sender, &b[i]);
	}
	struct waiters_goal g = {ch, CHAN_SEND, N};
	ck_assert(wait_until(has_waiters, &g, 10));
	ck_assert_int_eq(chan_close(ch), CHAN_OK);
	for (int i = 0; i < N; i++) {
		join_thread(t[i]);
		ck_assert_int_eq(b[i].result, CHAN_CLOSED);
	}
	/* The buffered values survive the close; the refused ones never appear. */
	int v;
	for (int i = 0; i < (int)cap; i++) {
		ck_assert_int_eq(chan_recv(ch, &v), CHAN_OK);
		ck_assert_int_eq(v, i);
	}
	ck_assert_int_eq(chan_recv(ch, &v), CHAN_CLOSED);
	chan_free(ch);
}

START_TEST(test_close_wakes_blocked_senders_buffered)
{
	close_wakes_senders(3);
}
END_TEST

START_TEST(test_close_wakes_blocked_senders_unbuffered)
{
	close_wakes_senders(0);
}
END_TEST

/* Producers and consumers race a close: every value whose send returned OK
 * is received exactly once, and no other value is. */
struct race {
	struct chan *ch;
	uint32_t id;
	_Atomic uint64_t *sent_sum, *recv_sum;
	_Atomic long *sent_n, *recv_n;
};

static void *race_producer(void *arg)
{
	struct race *r = arg;
	for (uint32_t i = 0;; i++) {
		uint64_t v = ((uint64_t)r->id << 32) | i;
		if (chan_send(r->ch, &v) != CHAN_OK)
			break;
		atomic_fetch_add(r->sent_sum, splitmix64(v));
		atomic_fetch_add(r->sent_n, 1);
	}
	return NULL;
}

static void *race_consumer(void *arg)
{
	struct race *r = arg;
	uint64_t v;
	while (chan_recv(r->ch, &v) == CHAN_OK) {
		atomic_fetch_add(r->recv_sum, splitmix64(v));
		atomic_fetch_add(r->recv_n, 1);
	}
	return NULL;
}

static bool enough_received(void *arg)
{
	struct race *r = arg;
	return atomic_load(r->recv_n) >= 20000;
}

static void close_race(size_t cap)
{
	enum { P = 4, C = 4 };
	_Atomic uint64_t sent_sum = 0, recv_sum = 0;
	_Atomic long sent_n = 0, recv_n = 0;
	struct chan *ch = chan_new(sizeof(uint64_t), cap);
	struct race r[P + C];
	pthread_t t[P + C];
	for (int i = 0; i < P + C; i++) {
		r[i] = (struct race){ch, (uint32_t)i, &sent_sum, &recv_sum, &sent_n,
				     &recv_n};
		t[i] = start_thread(i < P ? race_producer : race_consumer, &r[i]);
	}
	ck_assert(wait_until(enough_received, &r[0], 30));
	chan_close(ch);
	for (int i = 0; i < P + C; i++)
		join_thread(t[i]);
	ck_assert_int_eq(atomic_load(&sent_n), atomic_load(&recv_n));
	ck_assert(atomic_load(&sent_sum) == atomic_load(&recv_sum));
	chan_free(ch);
}

START_TEST(test_close_race_loses_nothing_buffered)
{
	close_race(64);
}
END_TEST

START_TEST(test_close_race_loses_nothing_unbuffered)
{
	close_race(0);
}
END_TEST

/* ---- deadlines ---------------------------------------------------------- */

START_TEST(test_recv_deadline)
{
	for (size_t cap = 0; cap <= 1; cap++) {
		struct chan *ch = chan_new(sizeof(int), cap);
		int v;
		double t0 = now_seconds();
		struct timespec dl = chan_deadline_after(0.1);
		ck_assert_int_eq(chan_recv_until(ch, &v, &dl), CHAN_TIMEOUT);
		double took = now_seconds() - t0;
		ck_assert_msg(took >= 0.099, "returned early: %.4f s", took);
		ck_assert_msg(took < 1.0, "returned late: %.4f s", took);
		ck_assert_uint_eq(chan_waiters(ch, CHAN_RECV), 0);
		chan_free(ch);
	}
}
END_TEST

START_TEST(test_send_deadline_when_full)
{
	for (size_t cap = 0; cap <= 1; cap++) {
		struct chan *ch = chan_new(sizeof(int), cap);
		int v = 5;
		if (cap)
			chan_send(ch, &v);
		double t0 = now_seconds();
		struct timespec dl = chan_deadline_after(0.1);
		ck_assert_int_eq(chan_send_until(ch, &v, &dl), CHAN_TIMEOUT);
		double took = now_seconds() - t0;
		ck_assert(took >= 0.099 && took < 1.0);
		ck_assert_uint_eq(chan_len(ch), cap);
		ck_assert_uint_eq(chan_waiters(ch, CHAN_SEND), 0);
		chan_free(ch);
	}
}
END_TEST

START_TEST(test_past_deadline_still_takes_ready_value)
{
	struct chan *ch = chan_new(sizeof(int), 1);
	int v = 7, out = 0;
	chan_send(ch, &v);
	struct timespec past = chan_deadline_after(0);
	past.tv_sec -= 1;
	ck_assert_int_eq(chan_recv_until(ch, &out, &past), CHAN_OK);
	ck_assert_int_eq(out, 7);
	ck_assert_int_eq(chan_recv_until(ch, &out, &past), CHAN_TIMEOUT);
	chan_free(ch);
}
END_TEST

struct delayed_send {
	struct chan *ch;
	struct chan *go;
};

static void *send_after_signal(void *arg)
{
	struct delayed_send *d = arg;
	int token, v = 11;
	chan_recv(d->go, &token);
	chan_send(d->ch, &v);
	return NULL;
}

START_TEST(test_value_arriving_before_deadline_wins)
{
	struct delayed_send d = {chan_new(sizeof(int), 0), chan_new(sizeof(int), 1)};
	pthread_t t = start_thread(send_after_signal, &d);
	int token = 1, out = 0;
	chan_send(d.go, &token);
	struct timespec dl = chan_deadline_after(30);
	ck_assert_int_eq(chan_recv_until(d.ch, &out, &dl), CHAN_OK);
	ck_assert_int_eq(out, 11);
	join_thread(t);
	chan_free(d.ch);
	chan_free(d.go);
}
END_TEST

/* A deadline whose tv_nsec is out of range is a programming error the
 * caller can see: CHAN_INVALID at once, never a timed wait that fails with
 * EINVAL and is retried forever (a spinning CPU). */
struct bad_deadline {
	struct chan *ch;
	struct timespec dl;
	enum chan_status recv, send, sel;
	_Atomic bool done;
};

static void *use_bad_deadline(void *arg)
{
	struct bad_deadline *b = arg;
	int v = 0;
	b->recv = chan_recv_until(b->ch, &v, &b->dl);
	b->send = chan_send_until(b->ch, &v, &b->dl);
	struct chan_case c = {b->ch, CHAN_RECV, &v};
	size_t k;
	b->sel = chan_select(&c, 1, CHAN_SELECT_BLOCK, &b->dl, &k);
	atomic_store(&b->done, true);
	return NULL;
}

static bool bad_deadline_done(void *arg)
{
	return atomic_load(&((struct bad_deadline *)arg)->done);
}

START_TEST(test_deadline_with_bad_nsec_is_invalid)
{
	const long bad[] = {1000000000L, 1999999999L, -1, -999999999L};
	for (size_t cap = 0; cap <= 1; cap++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct bad_deadline b = {.ch = chan_new(sizeof(int), cap)};
			if (cap) { /* full, so a send would wait too */
				int v = 1;
				chan_send(b.ch, &v);
			}
			b.dl = chan_deadline_after(0);
			b.dl.tv_sec += 5; /* in the future either way */
			b.dl.tv_nsec = bad[i];
			atomic_init(&b.done, false);
			pthread_t t = start_thread(use_bad_deadline, &b);
			ck_assert_msg(wait_until(bad_deadline_done, &b, 3),
				      "tv_nsec %ld: still waiting", bad[i]);
			join_thread(t);
			if (!cap)
				ck_assert_int_eq(b.recv, CHAN_INVALID);
			ck_assert_int_eq(b.send, CHAN_INVALID);
			ck_assert_int_eq(b.sel, CHAN_INVALID);
			chan_free(b.ch);
		}
	}
}
END_TEST

/* ---- sizes and resources ------------------------------------------------ */

START_TEST(test_new_rejects_overflowing_sizes)
{
	ck_assert_ptr_null(chan_new(SIZE_MAX - 10, 1));
	ck_assert_ptr_null(chan_new(SIZE_MAX - 10, 2));
	ck_assert_ptr_null(chan_new(SIZE_MAX / 2 + 1, 2));
	ck_assert_ptr_null(chan_new(8, SIZE_MAX / 4));
	ck_assert_ptr_null(chan_new(SIZE_MAX - 10, 0));
	struct chan *ch = chan_new((size_t)1 << 20, 2); /* large but real */
	ck_assert_ptr_nonnull(ch);
	chan_free(ch);
}
END_TEST

/* The waiter's mutex, condition variable and clock attribute are checked:
 * when they cannot be made, a blocking operation says so and leaves the
 * channel as it was, instead of waiting on an unusable condition. */
struct init_fail {
	struct chan *ch;
	int rc;
	enum chan_status st;
	_Atomic bool done;
};

static void *recv_with_failing_init(void *arg)
{
	struct init_fail *f = arg;
	int v;
	hook_fail_next(TESTHOOK_CHAN_WAITER_INIT, f->rc);
	f->st = chan_recv(f->ch, &v);
	atomic_store(&f->done, true);
	return NULL;
}

static bool init_fail_done(void *arg)
{
	return atomic_load(&((struct init_fail *)arg)->done);
}

START_TEST(test_waiter_init_failure_is_reported)
{
	const int rcs[] = {ENOMEM, EAGAIN, EINVAL};
	const enum chan_status want[] = {CHAN_NOMEM, CHAN_NOMEM, CHAN_INVALID};
	for (size_t i = 0; i < 3; i++) {
		hooks_reset();
		/* A new thread: a thread makes its waiter once. */
		struct init_fail f = {.ch = chan_new(sizeof(int), i % 2), .rc = rcs[i]};
		atomic_init(&f.done, false);
		pthread_t t = start_thread(recv_with_failing_init, &f);
		ck_assert_msg(wait_until(init_fail_done, &f, 5),
			      "a receive with a failed waiter blocked");
		join_thread(t);
		ck_assert_int_eq(f.st, want[i]);
		ck_assert_uint_eq(chan_waiters(f.ch, CHAN_RECV), 0);
		int v = 3;
		if (i % 2) { /* the channel still works */
			ck_assert_int_eq(chan_send(f.ch, &v), CHAN_OK);
			ck_assert_int_eq(chan_recv(f.ch, &v), CHAN_OK);
		}
		chan_free(f.ch);
	}
}
END_TEST

/* ---- select ------------------------------------------------------------- */

START_TEST(test_select_default_when_nothing_ready)
{
	struct chan *a = chan_new(sizeof(int), 1), *b = chan_new(sizeof(int), 0);
	int x, y = 1;
	struct chan_case cases[] = {{a, CHAN_RECV, &x}, {b, CHAN_SEND, &y}};
	size_t chosen = 99;
	ck_assert_int_eq(chan_select(cases, 2, CHAN_SELECT_DEFAULT, NULL, &chosen),
			 CHAN_WOULDBLOCK);
	ck_assert_uint_eq(chosen, 99);
	chan_free(a);
	chan_free(b);
}
END_TEST

START_TEST(test_select_send_and_recv_cases)
{
	struct chan *in = chan_new(sizeof(int), 1), *out = chan_new(sizeof(int), 1);
	int x = 0, y = 5;
	struct chan_case cases[] = {{in, CHAN_RECV, &x}, {out, CHAN_SEND, &y}};
	size_t chosen;
	ck_assert_int_eq(chan_select(cases, 2, CHAN_SELECT_BLOCK, NULL, &chosen),
			 CHAN_OK);
	ck_assert_uint_eq(chosen, 1); /* only the send could proceed */
	ck_assert_int_eq(chan_len(out), 1);
	int nine = 9;
	chan_send(in, &nine);
	ck_assert_int_eq(chan_select(cases, 1, CHAN_SELECT_BLOCK, NULL, &chosen),
			 CHAN_OK);
	ck_assert_uint_eq(chosen, 0);
	ck_assert_int_eq(x, 9);
	chan_free(in);
	chan_free(out);
}
END_TEST

START_TEST(test_select_reports_closed_case)
{
	struct chan *a = chan_new(sizeof(int), 0), *b = chan_new(sizeof(int), 0);
	chan_close(b);
	int x, y;
	struct chan_case cases[] = {{a, CHAN_RECV, &x}, {b, CHAN_RECV, &y}};
	size_t chosen = 99;
	ck_assert_int_eq(chan_select(cases, 2, CHAN_SELECT_BLOCK, NULL, &chosen),
			 CHAN_CLOSED);
	ck_assert_uint_eq(chosen, 1);
	struct chan_case send_case = {b, CHAN_SEND, &y};
	ck_assert_int_eq(chan_select(&send_case, 1, CHAN_SELECT_BLOCK, NULL, &chosen),
			 CHAN_CLOSED);
	chan_free(a);
	chan_free(b);
}
END_TEST

START_TEST(test_select_null_channel_never_ready)
{
	int x;
	struct chan_case c = {NULL, CHAN_RECV, &x};
	size_t chosen;
	ck_assert_int_eq(chan_select(&c, 1, CHAN_SELECT_DEFAULT, NULL, &chosen),
			 CHAN_WOULDBLOCK);
	/* With nothing that could ever be ready and no deadline it would hang. */
	ck_assert_int_eq(chan_select(&c, 1, CHAN_SELECT_BLOCK, NULL, &chosen),
			 CHAN_INVALID);
	struct timespec dl = chan_deadline_after(0.05);
	ck_assert_int_eq(chan_select(&c, 1, CHAN_SELECT_BLOCK, &dl, &chosen),
			 CHAN_TIMEOUT);
}
END_TEST

/* Review 24 F01: a case whose direction is neither send nor receive (an
 * uninitialised struct) is a programming error the caller can see, not a
 * receive that takes the value. */
START_TEST(test_select_bad_direction_is_invalid)
{
	struct chan *c = chan_new(sizeof(int), 1);
	int v = 7, got = 0;
	ck_assert_int_eq(chan_try_send(c, &v), CHAN_OK);
	struct chan_case bad = {c, (enum chan_dir)7, &got};
	size_t chosen = 99;
	ck_assert_int_eq(chan_select(&bad, 1, CHAN_SELECT_DEFAULT, NULL, &chosen),
			 CHAN_INVALID);
	ck_assert_int_eq(got, 0);
	ck_assert_uint_eq(chan_len(c), 1);
	chan_free(c);
}
END_TEST

START_TEST(test_select_deadline)
{
	struct chan *a = chan_new(sizeof(int), 0), *b = chan_new(sizeof(int), 2);
	int x, y;
	struct chan_case cases[] = {{a, CHAN_RECV, &x}, {b, CHAN_RECV, &y}};
	size_t chosen;
	double t0 = now_seconds();
	struct timespec dl = chan_deadline_after(0.1);
	ck_assert_int_eq(chan_select(cases, 2, CHAN_SELECT_BLOCK, &dl, &chosen),
			 CHAN_TIMEOUT);
	double took = now_seconds() - t0;
	ck_assert(took >= 0.099 && took < 1.0);
	ck_assert_uint_eq(chan_waiters(a, CHAN_RECV), 0);
	ck_assert_uint_eq(chan_waiters(b, CHAN_RECV), 0);
	chan_free(a);
	chan_free(b);
}
END_TEST

START_TEST(test_select_never_pairs_with_itself)
{
	struct chan *u = chan_new(sizeof(int), 0);
	int x = 1, y = 0;
	struct chan_case cases[] = {{u, CHAN_SEND, &x}, {u, CHAN_RECV, &y}};
	size_t chosen;
	struct timespec dl = chan_deadline_after(0.05);
	ck_assert_int_eq(chan_select(cases, 2, CHAN_SELECT_BLOCK, &dl, &chosen),
			 CHAN_TIMEOUT);
	chan_free(u);
}
END_TEST

struct select_peer {
	struct chan *u;
	struct chan *other;
	int value;
	enum chan_status st;
	size_t chosen;
};

static void *select_sender(void *arg)
{
	struct select_peer *p = arg;
	int dummy;
	struct chan_case cases[] = {{p->other, CHAN_RECV, &dummy},
				    {p->u, CHAN_SEND, &p->value}};
	p->st = chan_select(cases, 2, CHAN_SELECT_BLOCK, NULL, &p->chosen);
	return NULL;
}

START_TEST(test_select_pairs_with_select_on_unbuffered)
{
	/* Both sides are selects: one must hand the value to the other. */
	for (int round = 0; round < 200; round++) {
		struct select_peer p = {chan_new(sizeof(int), 0),
					chan_new(sizeof(int), 0), 1000 + round,
					CHAN_INVALID, 9};
		pthread_t t = start_thread(select_sender, &p);
		int got = 0, dummy = 0;
		struct chan *other2 = chan_new(sizeof(int), 0);
		struct chan_case cases[] = {{other2, CHAN_SEND, &dummy},
					    {p.u, CHAN_RECV, &got}};
		size_t chosen;
		ck_assert_int_eq(chan_select(cases, 2, CHAN_SELECT_BLOCK, NULL, &chosen),
				 CHAN_OK);
		join_thread(t);
		ck_assert_uint_eq(chosen, 1);
		ck_assert_int_eq(got, 1000 + round);
		ck_assert_int_eq(p.st, CHAN_OK);
		ck_assert_uint_eq(p.chosen, 1);
		chan_free(p.u);
		chan_free(p.other);
		chan_free(other2);
	}
}
END_TEST

/* A buffered case that is always ready must not starve an unbuffered case
 * that is ready too (a sender waits on it every time). */
static void *send_until_closed(void *arg)
{
	int v = 1;
	while (chan_send(arg, &v) == CHAN_OK)
		;
	return NULL;
}

static bool sender_waits(void *arg)
{
	return chan_waiters(arg, CHAN_SEND) == 1;
}

START_TEST(test_select_fair_between_buffered_and_unbuffered)
{
	enum { ROUNDS = 400 };
	struct chan *a = chan_new(sizeof(int), ROUNDS);
	struct chan *b = chan_new(sizeof(int), 0);
	for (int i = 0; i < ROUNDS; i++)
		ck_assert_int_eq(chan_send(a, &i), CHAN_OK);
	pthread_t t = start_thread(send_until_closed, b);
	int va, vb;
	struct chan_case cases[2] = {{a, CHAN_RECV, &va}, {b, CHAN_RECV, &vb}};
	long b_wins = 0;
	for (int r = 0; r < ROUNDS; r++) {
		ck_assert(wait_until(sender_waits, b, 10)); /* both cases ready */
		size_t chosen;
		ck_assert_int_eq(chan_select(cases, 2, CHAN_SELECT_BLOCK, NULL, &chosen),
				 CHAN_OK);
		b_wins += chosen == 1;
	}
	/* Expected 200; a fair picker stays within +-100 (10 sigma). */
	ck_assert_msg(b_wins > 100 && b_wins < 300,
		      "the unbuffered case won %ld of %d", b_wins, ROUNDS);
	chan_close(b);
	join_thread(t);
	chan_free(a);
	chan_free(b);
}
END_TEST

static void *recv_until_closed(void *arg)
{
	int v;
	while (chan_recv(arg, &v) == CHAN_OK)
		;
	return NULL;
}

static bool receiver_waits(void *arg)
{
	return chan_waiters(arg, CHAN_RECV) == 1;
}

/* A buffered case whose channel has a peer asleep on it (a full ring and a
 * sender waiting; an empty ring and a receiver waiting) is ready: the
 * lock-free pass cannot take it, and must not let the other cases win it
 * every time (it was never chosen while another case was ready). */
static void select_fair_with_sleeping_peer(enum chan_dir dir)
{
	enum { ROUNDS = 400 };
	struct chan *a = chan_new(sizeof(int), 1);
	struct chan *b = chan_new(sizeof(int), ROUNDS);
	if (dir == CHAN_RECV)
		for (int i = 0; i < ROUNDS; i++)
			ck_assert_int_eq(chan_send(b, &i), CHAN_OK);
	pthread_t t = start_thread(dir == CHAN_RECV ? send_until_closed :
						      recv_until_closed,
				   a);
	int va = 7, vb = 8;
	struct chan_case cases[2] = {{a, dir, &va}, {b, dir, &vb}};
	long a_wins = 0;
	for (int r = 0; r < ROUNDS; r++) {
		/* Both cases ready, a's only through its sleeping peer. */
		ck_assert(wait_until(dir == CHAN_RECV ? sender_waits : receiver_waits,
				     a, 10));
		size_t chosen;
		ck_assert_int_eq(chan_select(cases, 2, CHAN_SELECT_BLOCK, NULL, &chosen),
				 CHAN_OK);
		a_wins += chosen == 0;
	}
	/* Expected 200; a fair picker stays within +-100 (10 sigma). */
	ck_assert_msg(a_wins > 100 && a_wins < 300,
		      "the case with a sleeping peer won %ld of %d", a_wins, ROUNDS);
	chan_close(a);
	join_thread(t);
	chan_free(a);
	chan_free(b);
}

START_TEST(test_select_fair_with_sleeping_sender)
{
	select_fair_with_sleeping_peer(CHAN_RECV);
}
END_TEST

START_TEST(test_select_fair_with_sleeping_receiver)
{
	select_fair_with_sleeping_peer(CHAN_SEND);
}
END_TEST

START_TEST(test_select_fairness)
{
	/* Four always-ready cases over many selects: each must be picked about a
	 * quarter of the time.  Expected 25000 each; allow +-2000 (over 10
	 * standard deviations, so a fair picker never fails). */
	enum { K = 4, ROUNDS = 100000 };
	struct chan *ch[K];
	int vals[K];
	struct chan_case cases[K];
	for (int i = 0; i < K; i++) {
		ch[i] = chan_new(sizeof(int), 2);
		cases[i] = (struct chan_case){ch[i], CHAN_RECV, &vals[i]};
		chan_send(ch[i], &i);
	}
	long hits[K] = {0};
	for (int r = 0; r < ROUNDS; r++) {
		size_t chosen;
		ck_assert_int_eq(chan_select(cases, K, CHAN_SELECT_BLOCK, NULL, &chosen),
				 CHAN_OK);
		hits[chosen]++;
		int refill = (int)chosen;
		chan_send(ch[chosen], &refill); /* keep every case ready */
	}
	for (int i = 0; i < K; i++) {
		ck_assert_msg(hits[i] > 23000 && hits[i] < 27000,
			      "case %d chosen %ld times of %d", i, hits[i], ROUNDS);
		chan_free(ch[i]);
	}
}
END_TEST

START_TEST(test_select_many_cases_heap_path)
{
	enum { K = 40 };
	struct chan *ch[K];
	int vals[K];
	struct chan_case cases[K];
	for (int i = 0; i < K; i++) {
		ch[i] = chan_new(sizeof(int), 0);
		cases[i] = (struct chan_case){ch[i], CHAN_RECV, &vals[i]};
	}
	size_t chosen;
	struct timespec dl = chan_deadline_after(0.02);
	ck_assert_int_eq(chan_select(cases, K, CHAN_SELECT_BLOCK, &dl, &chosen),
			 CHAN_TIMEOUT);
	chan_close(ch[31]);
	ck_assert_int_eq(chan_select(cases, K, CHAN_SELECT_BLOCK, NULL, &chosen),
			 CHAN_CLOSED);
	ck_assert_uint_eq(chosen, 31);
	for (int i = 0; i < K; i++)
		chan_free(ch[i]);
}
END_TEST

/* A select woken for one channel that takes from another must pass the
 * wakeup on, or a plain receiver would sleep beside a buffered value. */
struct pass_on {
	struct chan *a, *b;
	long n;
	_Atomic long got_a, got_b;
};

static void *select_ab(void *arg)
{
	struct pass_on *p = arg;
	long v;
	struct chan_case cases[] = {{p->a, CHAN_RECV, &v}, {p->b, CHAN_RECV, &v}};
	int open = 2;
	while (open > 0) {
		size_t chosen;
		enum chan_status st =
			chan_select(cases, 2, CHAN_SELECT_BLOCK, NULL, &chosen);
		if (st == CHAN_CLOSED) {
			/* That channel is drained; the other may still hold
			 * values. */
			cases[chosen].ch = NULL;
			open--;
			continue;
		}
		ck_assert_int_eq(st, CHAN_OK);
		atomic_fetch_add(chosen == 0 ? &p->got_a : &p->got_b, 1);
	}
	return NULL;
}

static void *plain_a(void *arg)
{
	struct pass_on *p = arg;
	long v;
	while (chan_recv(p->a, &v) == CHAN_OK)
		atomic_fetch_add(&p->got_a, 1);
	return NULL;
}

START_TEST(test_select_and_plain_receivers_share_channel)
{
	struct pass_on p = {chan_new(sizeof(long), 4), chan_new(sizeof(long), 4),
			    200000, 0, 0};
	pthread_t t[4] = {start_thread(select_ab, &p), start_thread(plain_a, &p),
			  start_thread(select_ab, &p), start_thread(plain_a, &p)};
	for (long i = 0; i < p.n; i++)
		ck_assert_int_eq(chan_send(i % 3 ? p.a : p.b, &i), CHAN_OK);
	chan_close(p.a);
	chan_close(p.b);
	for (int i = 0; i < 4; i++)
		join_thread(t[i]);
	ck_assert_int_eq(atomic_load(&p.got_a) + atomic_load(&p.got_b), p.n);
	chan_free(p.a);
	chan_free(p.b);
}
END_TEST

Suite *chan_suite(void);

Suite *chan_suite(void)
{
	Suite *s = suite_create("chan");
	TCase *tc = tcase_create("basics");
	tcase_add_test(tc, test_new_rejects_zero_size);
	tcase_add_test(tc, test_buffered_fifo_len_cap);
	tcase_add_test(tc, test_buffered_wraps_many_laps);
	tcase_add_test(tc, test_large_elements_copied_by_value);
	tcase_add_test(tc, test_close_twice_and_send_on_closed);
	tcase_add_test(tc, test_drain_after_close);
	tcase_add_test(tc, test_unbuffered_try_ops_need_a_peer);
	suite_add_tcase(s, tc);

	tc = tcase_create("blocking");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_unbuffered_send_returns_only_after_receive);
	tcase_add_test(tc, test_unbuffered_blocked_sender_stays_blocked);
	tcase_add_test(tc, test_fifo_per_producer_buffered);
	tcase_add_test(tc, test_fifo_per_producer_unbuffered);
	tcase_add_test(tc, test_close_wakes_blocked_receivers_buffered);
	tcase_add_test(tc, test_close_wakes_blocked_receivers_unbuffered);
	tcase_add_test(tc, test_close_wakes_blocked_senders_buffered);
	tcase_add_test(tc, test_close_wakes_blocked_senders_unbuffered);
	tcase_add_test(tc, test_close_race_loses_nothing_buffered);
	tcase_add_test(tc, test_close_race_loses_nothing_unbuffered);
	suite_add_tcase(s, tc);

	tc = tcase_create("deadlines");
	tcase_add_test(tc, test_recv_deadline);
	tcase_add_test(tc, test_send_deadline_when_full);
	tcase_add_test(tc, test_past_deadline_still_takes_ready_value);
	tcase_add_test(tc, test_value_arriving_before_deadline_wins);
	tcase_add_test(tc, test_deadline_with_bad_nsec_is_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("resources");
	tcase_add_test(tc, test_new_rejects_overflowing_sizes);
	tcase_add_test(tc, test_waiter_init_failure_is_reported);
	suite_add_tcase(s, tc);

	tc = tcase_create("select");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_select_default_when_nothing_ready);
	tcase_add_test(tc, test_select_send_and_recv_cases);
	tcase_add_test(tc, test_select_reports_closed_case);
	tcase_add_test(tc, test_select_null_channel_never_ready);
	tcase_add_test(tc, test_select_bad_direction_is_invalid);
	tcase_add_test(tc, test_select_deadline);
	tcase_add_test(tc, test_select_never_pairs_with_itself);
	tcase_add_test(tc, test_select_pairs_with_select_on_unbuffered);
	tcase_add_test(tc, test_select_fairness);
	tcase_add_test(tc, test_select_fair_with_sleeping_sender);
	tcase_add_test(tc, test_select_fair_with_sleeping_receiver);
	tcase_add_test(tc, test_select_fair_between_buffered_and_unbuffered);
	tcase_add_test(tc, test_select_many_cases_heap_path);
	tcase_add_test(tc, test_select_and_plain_receivers_share_channel);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(chan_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
