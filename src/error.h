/* error: status codes and the message buffer every layer fills for the CLI. */
#ifndef BULKREG_ERROR_H
#define BULKREG_ERROR_H

/*
 * Functions below the CLI return an enum status and, on failure, describe the
 * problem in a struct error: a complete message naming the file, line and
 * field where it can ("roster.csv: line 7: unterminated quoted field").  The
 * CLI prints it as "bulkreg: <msg>" and maps the status to an exit code.
 */
enum status {
	ST_OK = 0,
	ST_EOF,       /* no more items (not an error) */
	ST_USAGE,     /* bad command-line usage              -> exit 2 */
	ST_INPUT,     /* unusable input file                 -> exit 2 */
	ST_NOTFOUND,  /* a named thing (course code) absent  -> exit 2 */
	ST_DB,        /* database error                      -> exit 3 */
	ST_BUSY,      /* database locked past --wait         -> exit 3 */
	ST_CONFLICT,  /* lost a race with another batch (a deadlock, a student
			 both added): nothing written, the batch may run
			 again                                -> exit 3 */
	ST_TOONEW,    /* database schema newer than binary   -> exit 3 */
	ST_IO,        /* system / file I/O error             -> exit 3 */
	ST_NOMEM,     /* out of memory                       -> exit 3 */
	ST_CANCELLED  /* stopped by a signal                 -> 128+N */
};

#define ERROR_MAX 1024

struct error {
	char msg[ERROR_MAX];
};

/* Formats the message into err (which may be NULL); returns `st` so callers
 * can write `return error_set(err, ST_IO, "%s: %s", path, strerror(errno));`. */
enum status error_set(struct error *err, enum status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The exit status the CLI uses for a status (0 for ST_OK and ST_EOF). */
int status_exit_code(enum status st);

#endif
