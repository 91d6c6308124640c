/* parse: strict whole numbers; see parse.h. */
#include <string.h>

#include "parse.h"

enum parse_result parse_int64_n(const char *s, size_t len, int64_t min,
				int64_t max, int64_t *out)
{
	if (!s)
		return PARSE_SYNTAX;
	bool negative = len > 0 && s[0] == '-';
	size_t i = negative ? 1 : 0;
	if (i == len)
		return PARSE_SYNTAX;
	/* Accumulated as a negative number, whose range holds INT64_MIN. */
	int64_t v = 0;
	bool overflow = false;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return PARSE_SYNTAX;
		int d = s[i] - '0';
		if (v < (INT64_MIN + d) / 10)
			overflow = true;
		else
			v = v * 10 - d;
	}
	if (overflow || (!negative && v == INT64_MIN))
		return PARSE_RANGE;
	if (!negative)
		v = -v;
	if (v < min || v > max)
		return PARSE_RANGE;
	*out = v;
	return PARSE_OK;
}

bool parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	return s && parse_int64_n(s, strlen(s), min, max, out) == PARSE_OK;
}
