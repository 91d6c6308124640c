/* signals: SIGINT/SIGTERM close a `done` channel (Go's context cancellation). */
#ifndef BULKREG_SIGNALS_H
#define BULKREG_SIGNALS_H

#include "chan.h"
#include "error.h"

/*
 * Blocks SIGINT, SIGTERM and SIGHUP in the calling thread -- call it before
 * any other thread starts, so every thread inherits the mask -- and starts a
 * thread that waits for them.  The first one closes `done`; later ones are
 * absorbed, so a second Ctrl-C still ends cleanly.  Until signals_stop(), the
 * calling thread is also nudged with SIGUSR2 (a no-op handler without
 * SA_RESTART) so a read(2) it is blocked in returns EINTR and sees `done`.
 */
enum status signals_start(struct chan *done, struct error *err);

/* The first signal received (0 if none). */
int signals_received(void);

/* Stops the waiting thread.  Signals stay blocked. */
void signals_stop(void);

#endif
