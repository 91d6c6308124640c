/* hint: how near two names are, for "did you mean" (course codes, commands). */
#ifndef BULKREG_HINT_H
#define BULKREG_HINT_H

#include <stddef.h>
#include <stdint.h>

/* Names further apart than this are not suggested. */
#define HINT_DISTANCE_MAX 2
/* hint_distance's inputs are at most this long (longer: "far"). */
#define HINT_LEN_MAX 255

/* The Levenshtein distance of a and b in characters (code points of
 * UTF-8; a byte that is not UTF-8 counts as one; ASCII case ignored), or
 * HINT_DISTANCE_MAX + 1 as soon as it must be more. */
size_t hint_distance(const char *a, size_t la, const char *b, size_t lb);

/* How many characters s has, as hint_distance counts them (at most
 * HINT_LEN_MAX + 1). */
size_t hint_length(const char *s, size_t len);

/*
 * What a reader sees of s, into out (at most len bytes; returns its
 * length): ASCII letters in lower case; Latin-1 letters with an accent as
 * the plain letter (É -> e); combining accents and invisible characters
 * (utf8_is_invisible) left out; the other spaces as ' ' and the dashes
 * (U+2010..U+2015, U+2212) as '-'; the full-width forms of ASCII
 * (U+FF01..U+FF5E, as an East Asian input method types them) as the ASCII
 * character; anything else as it is.  So 'Café'
 * written with a combining accent, 'Phys 100 – 1' with an en dash and
 * 'ART105' with a zero-width space after it are at distance 0 from what
 * they look like.  *changed (if not NULL) gets the first code point that
 * was left out or replaced by a space or a dash, 0 if none.  Spaces at
 * either end are left out (a no-break space around a code).
 */
size_t hint_skeleton(const char *s, size_t len, char *out, uint32_t *changed);

/*
 * Why a name whose skeleton is another's (distance 0) still differs, from
 * the code point hint_skeleton reported: "U+0301, a combining accent: the
 * same letters written another way", "U+2013, a dash other than '-'" and
 * the like, or "" for 0; into out[cap].
 */
void hint_why(char *out, size_t cap, uint32_t changed);

#endif
