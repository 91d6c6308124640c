/* signals: a sigwait thread that turns SIGINT/SIGTERM into a closed channel. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "signals.h"

static pthread_t waiter_thread, main_thread;
static struct chan *done_chan;
static _Atomic int first_signal;
static _Atomic bool stopping;
static bool started;

static void nudge_handler(int sig)
{
	(void)sig; /* its only job is to make a blocked read(2) return EINTR */
}

static void *waiter_main(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1); /* signals_stop() wakes us with it */
	for (;;) {
		int sig;
		/* While cancelling, wake every 50 ms to nudge the main thread:
		 * a nudge that lands just before it enters read(2) is lost. */
		if (atomic_load(&first_signal) != 0) {
			struct timespec ts = {0, 50 * 1000 * 1000};
			sig = sigtimedwait(&set, NULL, &ts);
			if (sig < 0) {
				if (atomic_load(&stopping))
					return NULL;
				pthread_kill(main_thread, SIGUSR2);
				continue;
			}
		} else if (sigwait(&set, &sig) != 0) {
			continue;
		}
		if (atomic_load(&stopping))
			return NULL;
		if (sig == SIGUSR1)
			continue;
		int expected = 0;
		if (atomic_compare_exchange_strong(&first_signal, &expected, sig)) {
			chan_close(done_chan);
			pthread_kill(main_thread, SIGUSR2);
		}
	}
}

enum status signals_start(struct chan *done, struct error *err)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (rc != 0)
		return error_set(err, ST_IO, "cannot block signals: %s", strerror(rc));

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = nudge_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: interrupt blocking reads */
	sigaction(SIGUSR2, &sa, NULL);

	done_chan = done;
	main_thread = pthread_self();
	atomic_store(&first_signal, 0);
	atomic_store(&stopping, false);
	/* The waiter must not take SIGUSR2 itself. */
	sigset_t with_usr2 = set;
	sigaddset(&with_usr2, SIGUSR2);
	sigset_t old;
	pthread_sigmask(SIG_BLOCK, &with_usr2, &old);
	rc = pthread_create(&waiter_thread, NULL, waiter_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == EAGAIN || rc == ENOMEM)
		/* pthread_create's EAGAIN: memory for the stack, or a thread
		 * limit, ran out. */
		return error_set(err, ST_NOMEM,
				 "cannot start the signal thread: out of memory "
				 "or too many threads (%s)",
				 strerror(rc));
	if (rc != 0)
		return error_set(err, ST_IO, "cannot start the signal thread: %s",
				 strerror(rc));
	started = true;
	return ST_OK;
}

int signals_received(void)
{
	return atomic_load(&first_signal);
}

void signals_stop(void)
{
	if (!started)
		return;
	atomic_store(&stopping, true);
	pthread_kill(waiter_thread, SIGUSR1);
	pthread_join(waiter_thread, NULL);
	started = false;
}
