/* check_pool: the task pool runs every task exactly once, with back-pressure. */
#include <check.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "chan.h"
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
