/* check_waitgroup: add/done/wait, reuse, and the negative-counter abort. */
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "chan.h"
#include "hooks.h"
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

/* wg_wait(); wg_destroy(); free() is legal while the last wg_done()'s
 * thread is still finishing, as Go lets a WaitGroup go after Wait().  The
 * last wg_done() is held right after it changed the counter; the waiter
 * then waits, destroys the group and unmaps its memory (so a late access
 * is a SIGSEGV even without AddressSanitizer); then wg_done() goes on. */
struct wg_free {
	struct waitgroup *wg;
	_Atomic bool done, freed;
};

static void *last_done(void *arg)
{
	struct wg_free *f = arg;
	hold_arm(TESTHOOK_WG_COUNTED);
	wg_done(f->wg);
	hold_disarm();
	atomic_store(&f->done, true);
	return NULL;
}

static void *wait_then_free(void *arg)
{
	struct wg_free *f = arg;
	wg_wait(f->wg);
	wg_destroy(f->wg);
	ck_assert_int_eq(munmap(f->wg, 4096), 0);
	atomic_store(&f->freed, true);
	return NULL;
}

static bool freed_or_waiting(void *arg)
{
	struct wg_free *f = arg;
	return atomic_load(&f->freed) || hook_count(TESTHOOK_WG_WAIT_LOCKING) > 0;
}

static bool done_and_freed(void *arg)
{
	struct wg_free *f = arg;
	return atomic_load(&f->done) && atomic_load(&f->freed);
}

START_TEST(test_destroy_right_after_wait_with_done_held)
{
	hooks_reset();
	struct wg_free f = {mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)};
	ck_assert_ptr_ne(f.wg, MAP_FAILED);
	atomic_init(&f.done, false);
	atomic_init(&f.freed, false);
	ck_assert_int_eq(wg_init(f.wg), 0);
	wg_add(f.wg, 1);
	pthread_t td = start_thread(last_done, &f);
	ck_assert(hold_reached(10));
	pthread_t tw = start_thread(wait_then_free, &f);
	/* The waiter returned and freed, or it waits for the group's lock. */
	ck_assert(wait_until(freed_or_waiting, &f, 10));
	hold_release();
	ck_assert(wait_until(done_and_freed, &f, 10));
	join_thread(td);
	join_thread(tw);
}
END_TEST

/* The same without a hook, many times, on the heap (AddressSanitizer sees
 * a late access as a use after free). */
static void *just_done(void *arg)
{
	wg_done(arg);
	return NULL;
}

START_TEST(test_destroy_right_after_wait_rounds)
{
	enum { T = 3 };
	long rounds = env_long("RACE_ROUNDS", 20000) / 10;
	for (long r = 0; r < rounds; r++) {
		struct waitgroup *wg = malloc(sizeof(*wg));
		ck_assert_int_eq(wg_init(wg), 0);
		wg_add(wg, T);
		pthread_t t[T];
		for (int i = 0; i < T; i++)
			t[i] = start_thread(just_done, wg);
		wg_wait(wg);
		wg_destroy(wg);
		free(wg);
		for (int i = 0; i < T; i++)
			join_thread(t[i]);
	}
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
	tcase_add_test(tc, test_destroy_right_after_wait_with_done_held);
	tcase_add_test(tc, test_destroy_right_after_wait_rounds);
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
