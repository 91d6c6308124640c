/* check_waitgroup: add/done/wait, reuse, and the negative-counter abort. */
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "chan.h"
#include "testutil.h"
#include "waitgroup.h"

START_TEST(test_wait_on_zero_returns_at_once)
{
	struct waitgroup wg;
	ck_assert_int_eq(wg_init(&wg), 0);
	wg_wait(&wg);
	wg_add(&wg, 2);
	wg_done(&wg);
	wg_done(&wg);
	wg_wait(&wg);
	wg_destroy(&wg);
}
END_TEST

struct worker_arg {
	struct waitgroup *wg;
	_Atomic long *finished;
	struct chan *gate;
};

static void *finish_after_gate(void *arg)
{
	struct worker_arg *w = arg;
	int token;
	chan_recv(w->gate, &token); /* returns CHAN_CLOSED once the gate opens */
	atomic_fetch_add(w->finished, 1);
	wg_done(w->wg);
	return NULL;
}

START_TEST(test_wait_returns_only_after_every_done)
{
	/* Threads are held at a gate; wait() must not return before all of
	 * them have called done(), and each did its work before done(). */
	enum { N = 16, ROUNDS = 50 };
	struct waitgroup wg;
	wg_init(&wg);
	for (int round = 0; round < ROUNDS; round++) {  /* reuse, many rounds */
		_Atomic long finished = 0;
		struct chan *gate = chan_new(sizeof(int), 0);
		struct worker_arg a = {&wg, &finished, gate};
		pthread_t t[N];
		wg_add(&wg, N);
		for (int i = 0; i < N; i++)
			t[i] = start_thread(finish_after_gate, &a);
		chan_close(gate);
		wg_wait(&wg);
		ck_assert_int_eq(atomic_load(&finished), N);
		for (int i = 0; i < N; i++)
			join_thread(t[i]);
		chan_free(gate);
	}
	wg_destroy(&wg);
}
END_TEST

struct hammer_arg {
	struct waitgroup *wg;
	long n;
};

static void *add_done_hammer(void *arg)
{
	struct hammer_arg *h = arg;
	for (long i = 0; i < h->n; i++) {
		wg_add(h->wg, 1);
		wg_done(h->wg);
	}
	wg_done(h->wg); /* the one added for this thread */
	return NULL;
}

START_TEST(test_concurrent_add_done)
{
	enum { T = 8 };
	struct waitgroup wg;
	wg_init(&wg);
	struct hammer_arg h = {&wg, 100000};
	pthread_t t[T];
	wg_add(&wg, T);
	for (int i = 0; i < T; i++)
		t[i] = start_thread(add_done_hammer, &h);
	wg_wait(&wg);
	ck_assert_int_eq(atomic_load(&wg.count), 0);
	for (int i = 0; i < T; i++)
		join_thread(t[i]);
	wg_destroy(&wg);
}
END_TEST

START_TEST(test_negative_counter_aborts)
{
	struct waitgroup wg;
	wg_init(&wg);
	wg_add(&wg, 1);
	wg_done(&wg);
	wg_done(&wg); /* one too many: must abort, like Go's panic */
	ck_abort_msg("wg_done below zero did not abort");
}
END_TEST

START_TEST(test_negative_add_aborts)
{
	struct waitgroup wg;
	wg_init(&wg);
	wg_add(&wg, -3);
	ck_abort_msg("wg_add(-3) on zero did not abort");
}
END_TEST

static Suite *waitgroup_suite(void)
{
	Suite *s = suite_create("waitgroup");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_wait_on_zero_returns_at_once);
	tcase_add_test(tc, test_wait_returns_only_after_every_done);
	tcase_add_test(tc, test_concurrent_add_done);
	/* These run in a forked child (Check's default), which must die of
	 * SIGABRT. */
	tcase_add_test_raise_signal(tc, test_negative_counter_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_negative_add_aborts, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(waitgroup_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
