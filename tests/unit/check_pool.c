/* check_pool: the task pool runs every task exactly once, with back-pressure. */
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "chan.h"
#include "hooks.h"
#include "pool.h"
#include "testutil.h"

START_TEST(test_worker_count_limits)
{
	struct pool *p = NULL;
	ck_assert_int_eq(pool_new(0, 4, &p, NULL), POOL_INVALID);
	ck_assert_int_eq(pool_new(POOL_MAX_WORKERS + 1, 4, &p, NULL), POOL_INVALID);
	ck_assert_int_eq(pool_new(2, 0, &p, NULL), POOL_INVALID);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_max_workers_start_and_join)
{
	struct pool *p = NULL;
	ck_assert_int_eq(pool_new(POOL_MAX_WORKERS, 8, &p, NULL), POOL_OK);
	ck_assert_uint_eq(pool_workers(p), POOL_MAX_WORKERS);
	pool_free(p);
}
END_TEST

static int count_once(void *arg)
{
	atomic_fetch_add((_Atomic int *)arg, 1);
	return 0;
}

START_TEST(test_runs_every_task_exactly_once)
{
	enum { N = 100000 };
	_Atomic int *hits = calloc(N, sizeof(*hits));
	struct pool *p;
	ck_assert_int_eq(pool_new(8, 64, &p, NULL), POOL_OK);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(pool_submit(p, count_once, &hits[i]), POOL_OK);
	ck_assert_uint_eq(pool_shutdown(p), 0);
	ck_assert_uint_eq(pool_tasks_run(p), N);
	for (int i = 0; i < N; i++)
		ck_assert_msg(atomic_load(&hits[i]) == 1, "task %d ran %d times", i,
			      atomic_load(&hits[i]));
	pool_free(p);
	free(hits);
}
END_TEST

START_TEST(test_shutdown_drains_the_queue)
{
	enum { N = 1000 };
	_Atomic int ran = 0;
	struct pool *p;
	ck_assert_int_eq(pool_new(2, N, &p, NULL), POOL_OK);
	for (int i = 0; i < N; i++)
		pool_submit(p, count_once, &ran);
	pool_shutdown(p); /* immediately: queued tasks still run */
	ck_assert_int_eq(atomic_load(&ran), N);
	ck_assert_int_eq(pool_submit(p, count_once, &ran), POOL_SHUTDOWN);
	pool_free(p);
}
END_TEST

static int fail_odd(void *arg)
{
	long i = (long)(intptr_t)arg;
	return i % 2 ? -1 : 0;
}

START_TEST(test_failing_tasks_do_not_stop_the_pool)
{
	struct pool *p;
	ck_assert_int_eq(pool_new(4, 16, &p, NULL), POOL_OK);
	for (long i = 0; i < 1000; i++)
		pool_submit(p, fail_odd, (void *)(intptr_t)i);
	ck_assert_uint_eq(pool_shutdown(p), 500);
	ck_assert_uint_eq(pool_tasks_run(p), 1000);
	pool_free(p);
}
END_TEST

struct submitter {
	struct pool *p;
	struct chan *gate;
	_Atomic int submitted;
	_Atomic int started;
};

static int wait_at_gate(void *arg)
{
	struct submitter *s = arg;
	int token;
	atomic_fetch_add(&s->started, 1);
	chan_recv(s->gate, &token);
	return 0;
}

static void *submit_one(void *arg)
{
	struct submitter *s = arg;
	ck_assert_int_eq(pool_submit(s->p, wait_at_gate, s), POOL_OK);
	atomic_store(&s->submitted, 1);
	return NULL;
}

static bool first_task_started(void *arg)
{
	struct submitter *s = arg;
	return atomic_load(&s->started) == 1;
}

START_TEST(test_submit_blocks_when_queue_full)
{
	/* One worker held at a gate, a queue of 2: the queue fills, then a
	 * blocking submit must wait until the gate opens. */
	struct submitter s = {NULL, chan_new(sizeof(int), 0), 0, 0};
	ck_assert_int_eq(pool_new(1, 2, &s.p, NULL), POOL_OK);
	ck_assert_int_eq(pool_submit(s.p, wait_at_gate, &s), POOL_OK);
	ck_assert(wait_until(first_task_started, &s, 10)); /* worker busy */
	ck_assert_int_eq(pool_try_submit(s.p, wait_at_gate, &s), POOL_OK);
	ck_assert_int_eq(pool_try_submit(s.p, wait_at_gate, &s), POOL_OK);
	ck_assert_int_eq(pool_try_submit(s.p, wait_at_gate, &s), POOL_FULL);
	pthread_t t = start_thread(submit_one, &s);
	double end = now_seconds() + 0.05;
	while (now_seconds() < end)
		ck_assert_int_eq(atomic_load(&s.submitted), 0);
	chan_close(s.gate); /* release every task */
	join_thread(t);
	ck_assert_int_eq(atomic_load(&s.submitted), 1);
	pool_free(s.p);
	ck_assert_int_eq(atomic_load(&s.started), 4);
	chan_free(s.gate);
}
END_TEST

/* A submit that must wait, and cannot make its waiter (out of memory), is
 * POOL_NOMEM -- not POOL_SHUTDOWN, which says the pool is shutting down --
 * and the pool goes on. */
static void *submit_without_memory(void *arg)
{
	struct submitter *s = arg;
	hook_fail_next(TESTHOOK_CHAN_WAITER_INIT, ENOMEM);
	ck_assert_int_eq(pool_submit(s->p, wait_at_gate, s), POOL_NOMEM);
	atomic_store(&s->submitted, 1);
	return NULL;
}

START_TEST(test_submit_out_of_memory_is_nomem)
{
	hooks_reset();
	struct submitter s = {NULL, chan_new(sizeof(int), 0), 0, 0};
	ck_assert_int_eq(pool_new(1, 1, &s.p, NULL), POOL_OK);
	ck_assert_int_eq(pool_submit(s.p, wait_at_gate, &s), POOL_OK);
	ck_assert(wait_until(first_task_started, &s, 10)); /* worker busy */
	ck_assert_int_eq(pool_try_submit(s.p, wait_at_gate, &s), POOL_OK);
	/* The queue is full: a submit now waits, and its waiter fails. */
	pthread_t t = start_thread(submit_without_memory, &s);
	join_thread(t);
	ck_assert_int_eq(atomic_load(&s.submitted), 1);
	chan_close(s.gate); /* release every task */
	ck_assert_int_eq(pool_submit(s.p, wait_at_gate, &s), POOL_OK);
	pool_free(s.p);
	ck_assert_int_eq(atomic_load(&s.started), 3);
	chan_free(s.gate);
}
END_TEST

/* ---- pool_submit racing pool_shutdown (issue 10) ------------------------ */

struct racer {
	struct pool *p;
	_Atomic int *ran;
	bool hold;
	_Atomic long ok;
	_Atomic bool done;
};

static void *submit_until_shutdown(void *arg)
{
	struct racer *r = arg;
	if (r->hold)
		hold_arm(TESTHOOK_CHAN_SEND_CLAIMED);
	for (;;) {
		enum pool_status st = pool_submit(r->p, count_once, r->ran);
		if (st != POOL_OK) {
			ck_assert_int_eq(st, POOL_SHUTDOWN);
			break;
		}
		atomic_fetch_add(&r->ok, 1);
		if (r->hold)
			break;
	}
	hold_disarm();
	atomic_store(&r->done, true);
	return NULL;
}

struct shutter {
	struct pool *p;
	_Atomic bool done;
};

static void *shut_down(void *arg)
{
	struct shutter *s = arg;
	pool_shutdown(s->p);
	atomic_store(&s->done, true);
	return NULL;
}

static bool shutter_done(void *arg)
{
	return atomic_load(&((struct shutter *)arg)->done);
}

static bool racer_done(void *arg)
{
	return atomic_load(&((struct racer *)arg)->done);
}

static bool workers_asleep(void *arg)
{
	return hook_count(TESTHOOK_CHAN_WAITING) >= *(long *)arg;
}

static long contended_base;

static bool closed_or_contended(void *arg)
{
	(void)arg;
	return hook_count(TESTHOOK_CHAN_CLOSED) > 0 ||
	       hook_count(TESTHOOK_CHAN_LOCK_CONTENDED) > contended_base;
}

/* Both workers asleep on the empty queue; a submit has claimed its slot
 * and is held before writing it; shutdown closes the queue.  Shutdown
 * must return (every worker woken), and the task runs iff submit said OK. */
START_TEST(test_shutdown_while_submit_holds_a_slot)
{
	for (size_t cap = 1; cap <= 2; cap++) {
		hooks_reset();
		_Atomic int ran = 0;
		struct racer r = {.ran = &ran, .hold = true};
		atomic_init(&r.ok, 0);
		atomic_init(&r.done, false);
		ck_assert_int_eq(pool_new(2, cap, &r.p, NULL), POOL_OK);
		long two = 2;
		ck_assert(wait_until(workers_asleep, &two, 10));
		pthread_t tr = start_thread(submit_until_shutdown, &r);
		ck_assert(hold_reached(10));
		contended_base = hook_count(TESTHOOK_CHAN_LOCK_CONTENDED);
		struct shutter s = {r.p};
		atomic_init(&s.done, false);
		pthread_t ts = start_thread(shut_down, &s);
		ck_assert(wait_until(closed_or_contended, NULL, 10));
		hold_release();
		ck_assert_msg(wait_until(racer_done, &r, 10), "submit never returned");
		ck_assert_msg(wait_until(shutter_done, &s, 10),
			      "pool_shutdown never returned");
		join_thread(tr);
		join_thread(ts);
		ck_assert_int_eq(atomic_load(&ran), atomic_load(&r.ok));
		pool_free(r.p);
	}
}
END_TEST

/* Many rounds without a hook: two submitters race shutdown. */
START_TEST(test_shutdown_races_submit_rounds)
{
	long rounds = env_long("RACE_ROUNDS", 20000) / 40;
	for (long round = 0; round < rounds; round++) {
		_Atomic int ran = 0;
		struct pool *p;
		ck_assert_int_eq(pool_new(3, 1 + (size_t)(round % 2), &p, NULL),
				 POOL_OK);
		struct racer r[2];
		pthread_t t[2];
		for (int i = 0; i < 2; i++) {
			r[i] = (struct racer){.p = p, .ran = &ran};
			atomic_init(&r[i].ok, 0);
			atomic_init(&r[i].done, false);
			t[i] = start_thread(submit_until_shutdown, &r[i]);
		}
		if (round % 2)
			sched_yield();
		struct shutter s = {p};
		atomic_init(&s.done, false);
		shut_down(&s);
		for (int i = 0; i < 2; i++)
			join_thread(t[i]);
		ck_assert_int_eq(atomic_load(&ran),
				 atomic_load(&r[0].ok) + atomic_load(&r[1].ok));
		pool_free(p);
	}
}
END_TEST

static Suite *pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_worker_count_limits);
	tcase_add_test(tc, test_max_workers_start_and_join);
	tcase_add_test(tc, test_runs_every_task_exactly_once);
	tcase_add_test(tc, test_shutdown_drains_the_queue);
	tcase_add_test(tc, test_failing_tasks_do_not_stop_the_pool);
	tcase_add_test(tc, test_submit_blocks_when_queue_full);
	tcase_add_test(tc, test_submit_out_of_memory_is_nomem);
	tcase_add_test(tc, test_shutdown_while_submit_holds_a_slot);
	tcase_add_test(tc, test_shutdown_races_submit_rounds);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pool_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
