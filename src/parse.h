/* parse: the one strict parser of whole numbers, for options, course files,
 * profile column names and test settings. */
#ifndef BULKREG_PARSE_H
#define BULKREG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum parse_result {
	PARSE_OK,
	PARSE_SYNTAX,   /* not an optional '-' and decimal digits, whole */
	PARSE_RANGE,    /* a whole number, outside [min, max] */
};

/*
 * s[0..len) as a decimal integer in [min, max]: an optional '-', then
 * digits, and nothing else (no space, '+', exponent, hexadecimal or
 * trailing text, which strtoll would take or skip).  *out is set on
 * PARSE_OK only.
 */
enum parse_result parse_int64_n(const char *s, size_t len, int64_t min,
				int64_t max, int64_t *out);

/* The same for a NUL-terminated string; true on PARSE_OK. */
bool parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
