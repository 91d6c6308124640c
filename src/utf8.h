/* utf8: strict UTF-8 validation (RFC 3629). */
#ifndef BULKREG_UTF8_H
#define BULKREG_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * The well-formed sequence at s[0..n): its length (1..4) and its code point
 * in *cp; 0 if s[0..n) does not start with one (a stray or truncated byte,
 * an overlong form, a surrogate).  NUL decodes as U+0000.  The one decoder
 * of the project's input checks.
 */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Where utf8_decode returns 0: the length (at least 1) of the maximal
 * ill-formed subpart at s[0..n), which a reader shown the text replaces by
 * one U+FFFD (Unicode's recommended practice). */
size_t utf8_bad_length(const unsigned char *s, size_t n);

/* C0 controls (U+0000..U+001F), DEL and the C1 controls (U+0080..U+009F). */
bool utf8_is_control(uint32_t cp);

/* The bidi controls that change the direction of the text after them:
 * embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069).
 * Not the marks (U+200E, U+200F, U+061C), which right-to-left names may
 * need. */
bool utf8_is_bidi(uint32_t cp);

/*
 * Characters a reader cannot see, or that look like a plain space without
 * being one: Unicode's Default_Ignorable_Code_Point (zero-width space and
 * joiners, soft hyphen, variation selectors, Hangul fillers, tags, the bidi
 * characters above...), every format character (Cf), every space separator
 * other than U+0020 (no-break, Ogham, en, em, ideographic...), the line and
 * paragraph separators, and U+2800 BRAILLE PATTERN BLANK.  A value holding
 * one looks right and still does not match.  One compare below U+00A0,
 * three below U+034F, a binary search of 29 ranges above.
 */
bool utf8_is_invisible(uint32_t cp);

/* The terminal columns a printable character takes, as the C library's
 * wcwidth() says in the C.UTF-8 locale: 2 for East Asian wide and
 * fullwidth characters (CJK, Hangul, most emoji), 0 for combining marks,
 * else 1 (and 1 when the C library cannot tell).  Safe from any thread. */
unsigned utf8_columns(uint32_t cp);

#endif
