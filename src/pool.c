/* pool: workers ranging over a channel of tasks -- Go's `for t := range jobs`. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "chan.h"
#include "pool.h"

struct task {
	pool_task_fn fn;
	void *arg;
};

struct pool {
	struct chan *jobs;
	pthread_t *threads;
	size_t nthreads;
	bool shut_down;
	_Atomic size_t failures;
	_Atomic size_t run;
};

static void *worker_main(void *arg)
{
	struct pool *p = arg;
	struct task t;
	while (chan_recv(p->jobs, &t) == CHAN_OK) {
		if (t.fn(t.arg) != 0)
			atomic_fetch_add_explicit(&p->failures, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->run, 1, memory_order_relaxed);
	}
	return NULL;
}

enum pool_status pool_new(size_t workers, size_t queue_cap, struct pool **out,
			  int *errnum)
{
	if (workers < 1 || workers > POOL_MAX_WORKERS || queue_cap == 0 || !out)
		return POOL_INVALID;
	struct pool *p = calloc(1, sizeof(*p));
	if (!p)
		return POOL_NOMEM;
	atomic_init(&p->failures, 0);
	atomic_init(&p->run, 0);
	p->jobs = chan_new(sizeof(struct task), queue_cap);
	p->threads = calloc(workers, sizeof(*p->threads));
	if (!p->jobs || !p->threads) {
		chan_free(p->jobs);
		free(p->threads);
		free(p);
		return POOL_NOMEM;
	}
	for (size_t i = 0; i < workers; i++) {
		int rc = pthread_create(&p->threads[i], NULL, worker_main, p);
		if (rc != 0) {
			if (errnum)
				*errnum = rc;
			p->nthreads = i;
			pool_free(p);
			return POOL_THREAD;
		}
	}
	p->nthreads = workers;
	*out = p;
	return POOL_OK;
}

enum pool_status pool_submit(struct pool *p, pool_task_fn fn, void *arg)
{
	if (!p || !fn)
		return POOL_INVALID;
	struct task t = {fn, arg};
	switch (chan_send(p->jobs, &t)) {
	case CHAN_OK: return POOL_OK;
	/* A full queue to wait on, and no memory to wait with. */
	case CHAN_NOMEM: return POOL_NOMEM;
	default: return POOL_SHUTDOWN;
	}
}

enum pool_status pool_try_submit(struct pool *p, pool_task_fn fn, void *arg)
{
	if (!p || !fn)
		return POOL_INVALID;
	struct task t = {fn, arg};
	switch (chan_try_send(p->jobs, &t)) {
	case CHAN_OK: return POOL_OK;
	case CHAN_WOULDBLOCK: return POOL_FULL;
	default: return POOL_SHUTDOWN;
	}
}

size_t pool_shutdown(struct pool *p)
{
	if (!p->shut_down) {
		p->shut_down = true;
		chan_close(p->jobs);
		for (size_t i = 0; i < p->nthreads; i++)
			pthread_join(p->threads[i], NULL);
	}
	return atomic_load(&p->failures);
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	pool_shutdown(p);
	chan_free(p->jobs);
	free(p->threads);
	free(p);
}

size_t pool_workers(const struct pool *p)
{
	return p->nthreads;
}

size_t pool_tasks_run(struct pool *p)
{
	return atomic_load(&p->run);
}
