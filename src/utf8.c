/* utf8: strict UTF-8 validation (RFC 3629) with an ASCII fast path. */
#include <stdint.h>
#include <string.h>

#include "utf8.h"

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/*
 * Sets up the state for the continuation bytes that follow lead byte `c`;
 * false if `c` cannot start a sequence (a continuation byte, C0, C1,
 * F5..FF).  The second byte's range is what rules out overlong forms (E0,
 * F0), surrogates (ED) and values above U+10FFFF (F4).
 */
static bool lead_byte(struct utf8_state *st, unsigned char c)
{
	st->lo = 0x80;
	st->hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		st->need = 1;
	} else if (c >= 0xE0 && c <= 0xEF) {
		st->need = 2;
		if (c == 0xE0)
			st->lo = 0xA0;
		else if (c == 0xED)
			st->hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		st->need = 3;
		if (c == 0xF0)
			st->lo = 0x90;
		else if (c == 0xF4)
			st->hi = 0x8F;
	} else {
		return false;
	}
	return true;
}

/* True if none of the 8 bytes of `w` is NUL or has its high bit set. */
static bool word_is_plain_ascii(uint64_t w)
{
	uint64_t has_zero = (w - ONES) & ~w;
	return ((w | has_zero) & HIGHS) == 0;
}

/* Bytes at the start of s[0..len) that are ASCII other than NUL. */
static size_t ascii_prefix(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (len - i >= 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (!word_is_plain_ascii(w))
			break;
		i += 8;
	}
	while (i < len && s[i] != 0 && s[i] < 0x80)
		i++;
	return i;
}

bool utf8_valid(const unsigned char *s, size_t len, size_t *bad_offset)
{
	struct utf8_state st;
	size_t i = 0, start = 0;

	utf8_state_init(&st);
	while (i < len) {
		if (st.need == 0) {
			i += ascii_prefix(s + i, len - i);
			if (i == len)
				break;
			start = i;
			unsigned char c = s[i++];
			if (c < 0x80 || !lead_byte(&st, c)) /* NUL, or not a lead */
				goto bad;
			continue;
		}
		unsigned char c = s[i++];
		if (c < st.lo || c > st.hi)
			goto bad;
		st.need--;
		st.lo = 0x80;
		st.hi = 0xBF;
	}
	if (st.need == 0)
		return true;
bad:
	if (bad_offset)
		*bad_offset = start;
	return false;
}

void utf8_state_init(struct utf8_state *st)
{
	st->need = 0;
	st->lo = 0x80;
	st->hi = 0xBF;
	st->bad = false;
}

void utf8_state_feed(struct utf8_state *st, const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len && !st->bad) {
		if (st->need == 0) {
			i += ascii_prefix(s + i, len - i);
			if (i == len)
				break;
			unsigned char c = s[i++];
			if (c < 0x80 || !lead_byte(st, c)) /* NUL, or not a lead */
				st->bad = true;
			continue;
		}
		unsigned char c = s[i++];
		if (c < st->lo || c > st->hi) {
			st->bad = true;
			break;
		}
		st->need--;
		st->lo = 0x80;
		st->hi = 0xBF;
	}
}

bool utf8_state_ok(const struct utf8_state *st)
{
	return !st->bad && st->need == 0;
}
