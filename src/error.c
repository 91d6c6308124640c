/* error: formatting error messages; see error.h. */
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

enum status error_set(struct error *err, enum status st, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return st;
}

int status_exit_code(enum status st)
{
	switch (st) {
	case ST_OK:
	case ST_EOF:
		return 0;
	case ST_USAGE:
	case ST_INPUT:
	case ST_NOTFOUND:
		return 2;
	case ST_CANCELLED:
		return 130; /* the CLI uses 128 + the actual signal */
	case ST_DB:
	case ST_BUSY:
	case ST_CONFLICT:
	case ST_TOONEW:
	case ST_IO:
	case ST_NOMEM:
		break;
	}
	return 3;
}
