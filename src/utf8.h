/* utf8: strict UTF-8 validation (RFC 3629). */
#ifndef BULKREG_UTF8_H
#define BULKREG_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True if s[0..len) is well-formed UTF-8: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence.  NUL bytes
 * are rejected too: they cannot be stored or shown faithfully.
 * On false, *bad_offset (if not NULL) is the offset of the first bad byte:
 * the NUL or stray byte itself, or the lead byte of the first ill-formed or
 * truncated sequence.
 */
bool utf8_valid(const unsigned char *s, size_t len, size_t *bad_offset);

/* Incremental form for values that arrive in pieces. */
struct utf8_state {
	unsigned need;      /* continuation bytes still expected */
	unsigned char lo, hi; /* allowed range for the next continuation byte */
	bool bad;
};

void utf8_state_init(struct utf8_state *st);
void utf8_state_feed(struct utf8_state *st, const unsigned char *s, size_t len);
/* True if everything fed so far is complete, well-formed UTF-8. */
bool utf8_state_ok(const struct utf8_state *st);

#endif
