/* pool: a fixed set of worker threads running submitted tasks (goroutines). */
#ifndef BULKREG_POOL_H
#define BULKREG_POOL_H

#include <stddef.h>

#define POOL_MAX_WORKERS 1024

/* A task returns 0 on success; any other value counts as a failure and is
 * tallied, but never stops the pool or the other tasks. */
typedef int (*pool_task_fn)(void *arg);

struct pool;

enum pool_status {
	POOL_OK = 0,
	POOL_INVALID,  /* workers outside 1..POOL_MAX_WORKERS, or queue_cap 0 */
	POOL_NOMEM,
	POOL_THREAD,   /* a thread could not be created (the errno is kept) */
	POOL_SHUTDOWN, /* submit after shutdown began */
	POOL_FULL      /* pool_try_submit: the queue is full */
};

/*
 * Starts `workers` threads sharing a queue of at most `queue_cap` pending
 * tasks.  On failure nothing is left running; *errnum holds the errno of a
 * failed pthread_create (may be NULL).
 */
enum pool_status pool_new(size_t workers, size_t queue_cap, struct pool **out,
			  int *errnum);

/* Queues a task, blocking while the queue is full (back-pressure).  A
 * submit that races pool_shutdown() from another thread either queues the
 * task (it runs before shutdown returns) or returns POOL_SHUTDOWN.
 * POOL_NOMEM: the queue was full and the thread could not be made to wait
 * (chan.h's CHAN_NOMEM); nothing was queued, the pool goes on. */
enum pool_status pool_submit(struct pool *p, pool_task_fn fn, void *arg);

/* Queues a task if there is room, else POOL_FULL; never blocks. */
enum pool_status pool_try_submit(struct pool *p, pool_task_fn fn, void *arg);

/*
 * Stops accepting tasks, runs every task already queued, and joins all the
 * workers.  Returns the number of tasks that reported failure.  Safe to call
 * once; pool_free() calls it if needed.
 */
size_t pool_shutdown(struct pool *p);

/* Shuts down (if not yet) and frees the pool. */
void pool_free(struct pool *p);

size_t pool_workers(const struct pool *p);

/* Tasks run so far (finished, whether they failed or not). */
size_t pool_tasks_run(struct pool *p);

#endif
