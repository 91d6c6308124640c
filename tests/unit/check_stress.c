/* check_stress: 8 producers x 8 consumers, every message checked end to end. */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "testutil.h"

/*
 * Every message is (producer, seq).  Each consumer checks that, per
 * producer, the sequence numbers it sees only increase (FIFO per producer);
 * at the end the per-producer counts and the checksums of everything sent
 * and received must match exactly: nothing lost, nothing duplicated.
 * STRESS_MESSAGES overrides the total: 100,000 by default, which keeps
 * `make check` short; `make torture` (tests/torture/t_chan.sh) runs
 * 2,000,000, three times.
 */

enum { P = 8, C = 8, NCHAN = 4 };

struct msg {
	uint32_t producer;
	uint32_t seq;
};

struct stress {
	struct chan *ch[NCHAN];
	size_t nchan;          /* 1: plain send/recv; NCHAN: select */
	uint32_t per_producer;
	struct chan *quit;     /* never ready until the end: a select case */
	_Atomic uint64_t sent_sum, recv_sum;
	_Atomic long recv_count[P];
	_Atomic int order_errors;
};

struct producer {
	struct stress *s;
	uint32_t id;
};

static uint64_t msg_hash(struct msg m)
{
	return splitmix64(((uint64_t)m.producer << 32) | m.seq);
}

static void *producer_main(void *arg)
{
	struct producer *pr = arg;
	struct stress *s = pr->s;
	uint64_t sum = 0;
	for (uint32_t i = 0; i < s->per_producer; i++) {
		struct msg m = {pr->id, i};
		if (s->nchan == 1) {
			ck_assert_int_eq(chan_send(s->ch[0], &m), CHAN_OK);
		} else {
			int dummy;
			struct chan_case cases[] = {
				{s->ch[pr->id % NCHAN], CHAN_SEND, &m},
				{s->quit, CHAN_RECV, &dummy}};
			size_t chosen;
			ck_assert_int_eq(chan_select(cases, 2, CHAN_SELECT_BLOCK,
						     NULL, &chosen),
					 CHAN_OK);
			ck_assert_uint_eq(chosen, 0);
		}
		sum += msg_hash(m);
	}
	atomic_fetch_add(&s->sent_sum, sum);
	return NULL;
}

static void *consumer_main(void *arg)
{
	struct stress *s = arg;
	int64_t last[P];
	long count[P] = {0};
	uint64_t sum = 0;
	for (int i = 0; i < P; i++)
		last[i] = -1;
	struct chan_case cases[NCHAN];
	struct msg m[NCHAN];
	size_t open = s->nchan;
	for (size_t i = 0; i < s->nchan; i++)
		cases[i] = (struct chan_case){s->ch[i], CHAN_RECV, &m[i]};
	while (open > 0) {
		size_t k = 0;
		enum chan_status st;
		if (s->nchan == 1)
			st = chan_recv(s->ch[0], &m[0]);
		else
			st = chan_select(cases, s->nchan, CHAN_SELECT_BLOCK, NULL, &k);
		if (st == CHAN_CLOSED) {
			cases[k].ch = NULL; /* that channel is done */
			open--;
			continue;
		}
		ck_assert_int_eq(st, CHAN_OK);
		struct msg got = m[k];
		ck_assert_uint_lt(got.producer, P);
		if ((int64_t)got.seq <= last[got.producer])
			atomic_fetch_add(&s->order_errors, 1);
		last[got.producer] = got.seq;
		count[got.producer]++;
		sum += msg_hash(got);
	}
	for (int i = 0; i < P; i++)
		atomic_fetch_add(&s->recv_count[i], count[i]);
	atomic_fetch_add(&s->recv_sum, sum);
	return NULL;
}

static void run_stress(size_t cap, size_t nchan, long divisor)
{
	long total = env_long("STRESS_MESSAGES", 100000) / divisor;
	struct stress *s = calloc(1, sizeof(*s));
	s->nchan = nchan;
	s->per_producer = (uint32_t)(total / P);
	s->quit = chan_new(sizeof(int), 0);
	for (size_t i = 0; i < nchan; i++)
		s->ch[i] = chan_new(sizeof(struct msg), cap);
	struct producer pr[P];
	pthread_t tp[P], tc[C];
	double t0 = now_seconds();
	for (int i = 0; i < C; i++)
		tc[i] = start_thread(consumer_main, s);
	for (uint32_t i = 0; i < P; i++) {
		pr[i] = (struct producer){s, i};
		tp[i] = start_thread(producer_main, &pr[i]);
	}
	for (int i = 0; i < P; i++)
		join_thread(tp[i]);
	for (size_t i = 0; i < nchan; i++)
		chan_close(s->ch[i]);
	for (int i = 0; i < C; i++)
		join_thread(tc[i]);
	double took = now_seconds() - t0;

	for (int i = 0; i < P; i++)
		ck_assert_int_eq(atomic_load(&s->recv_count[i]), s->per_producer);
	ck_assert(atomic_load(&s->sent_sum) == atomic_load(&s->recv_sum));
	ck_assert_int_eq(atomic_load(&s->order_errors), 0);
	fprintf(stderr, "  stress cap=%zu chans=%zu: %ld messages in %.2f s\n",
		cap, nchan, (long)s->per_producer * P, took);
	for (size_t i = 0; i < nchan; i++)
		chan_free(s->ch[i]);
	chan_free(s->quit);
	free(s);
}

START_TEST(test_stress_buffered)
{
	run_stress(64, 1, 1);
}
END_TEST

START_TEST(test_stress_buffered_tiny)
{
	/* Constantly full or empty: every operation takes the blocking path.
	 * A quarter of the volume keeps the sanitizer runs short. */
	run_stress(1, 1, 4);
}
END_TEST

START_TEST(test_stress_unbuffered)
{
	run_stress(0, 1, 1);
}
END_TEST

START_TEST(test_stress_select_buffered)
{
	run_stress(16, NCHAN, 1);
}
END_TEST

START_TEST(test_stress_select_unbuffered)
{
	run_stress(0, NCHAN, 1);
}
END_TEST

static Suite *stress_suite(void)
{
	Suite *s = suite_create("stress");
	TCase *tc = tcase_create("8x8");
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, test_stress_buffered);
	tcase_add_test(tc, test_stress_buffered_tiny);
	tcase_add_test(tc, test_stress_unbuffered);
	tcase_add_test(tc, test_stress_select_buffered);
	tcase_add_test(tc, test_stress_select_unbuffered);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(stress_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
