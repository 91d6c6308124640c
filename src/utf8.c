/* utf8: strict UTF-8 validation (RFC 3629) with an ASCII fast path. */
#define _XOPEN_SOURCE 700 /* wcwidth */
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

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

size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const unsigned char lead_mask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
	if (n == 0)
		return 0;
	size_t k = s[0] < 0x80 ? 1 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
	if (k > n)
		return 0;
	if (k == 1) {
		*cp = s[0];
		return 1;
	}
	struct utf8_state st;
	utf8_state_init(&st);
	if (!lead_byte(&st, s[0]) || st.need != k - 1)
		return 0;
	uint32_t v = s[0] & lead_mask[k];
	for (size_t i = 1; i < k; i++) {
		if (s[i] < st.lo || s[i] > st.hi)
			return 0;
		st.lo = 0x80;
		st.hi = 0xBF;
		v = (v << 6) | (s[i] & 0x3F);
	}
	*cp = v;
	return k;
}

size_t utf8_bad_length(const unsigned char *s, size_t n)
{
	struct utf8_state st;
	utf8_state_init(&st);
	if (n == 0 || s[0] < 0x80 || !lead_byte(&st, s[0]))
		return 1;
	size_t i = 1;
	while (i < n && st.need > 0 && s[i] >= st.lo && s[i] <= st.hi) {
		st.need--;
		st.lo = 0x80;
		st.hi = 0xBF;
		i++;
	}
	return i;
}

bool utf8_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

bool utf8_is_bidi(uint32_t cp)
{
	return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * The code points utf8_is_invisible names, as sorted, disjoint ranges:
 * Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt,
 * Unicode 15: soft hyphen, grapheme joiner, Hangul fillers, Khmer
 * inherent vowels, Mongolian and other variation selectors, zero-width
 * characters, bidi controls, tags, the reserved FFF0..FFF8 and E0000..E0FFF),
 * every format character (general category Cf: also the Arabic, Syriac and
 * Kaithi number signs, the interlinear annotation characters, Egyptian
 * hieroglyph format controls, shorthand format controls, musical beams),
 * every space separator but U+0020 (Zs), the line and paragraph separators
 * (Zl, Zp), and U+2800 BRAILLE PATTERN BLANK, which is a symbol (So) but
 * shows as a space.  Derived from the Unicode data, not picked by hand;
 * adjacent ranges are merged.  tests/unit/gen_invisible.py prints them.
 */
static const uint32_t invisible_ranges[][2] = {
	{0x00A0, 0x00A0},   {0x00AD, 0x00AD},   {0x034F, 0x034F},
	{0x0600, 0x0605},   {0x061C, 0x061C},   {0x06DD, 0x06DD},
	{0x070F, 0x070F},   {0x0890, 0x0891},   {0x08E2, 0x08E2},
	{0x115F, 0x1160},   {0x1680, 0x1680},   {0x17B4, 0x17B5},
	{0x180B, 0x180F},   {0x2000, 0x200F},   {0x2028, 0x202F},
	{0x205F, 0x206F},   {0x2800, 0x2800},   {0x3000, 0x3000},
	{0x3164, 0x3164},   {0xFE00, 0xFE0F},   {0xFEFF, 0xFEFF},
	{0xFFA0, 0xFFA0},   {0xFFF0, 0xFFFB},   {0x110BD, 0x110BD},
	{0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},
	{0x1D173, 0x1D17A}, {0xE0000, 0xE0FFF},
};

bool utf8_is_invisible(uint32_t cp)
{
	if (cp < 0xA0)
		return false; /* ASCII and C1: the common case, one compare */
	if (cp < 0x34F)
		return cp == 0xA0 || cp == 0xAD; /* Latin letters and accents */
	size_t lo = 0, hi = sizeof(invisible_ranges) / sizeof(invisible_ranges[0]);
	while (lo < hi) { /* the first range that ends at or after cp */
		size_t mid = lo + (hi - lo) / 2;
		if (invisible_ranges[mid][1] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sizeof(invisible_ranges) / sizeof(invisible_ranges[0]) &&
	       invisible_ranges[lo][0] <= cp;
}

static locale_t utf8_locale;
static pthread_once_t utf8_locale_once = PTHREAD_ONCE_INIT;

/* Built into glibc (2.35 and later): no locale files needed.  Never freed:
 * it lives as long as the process. */
static void utf8_locale_make(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

unsigned utf8_columns(uint32_t cp)
{
	if (cp < 0x300)
		return 1; /* Latin: no wide or combining character before U+0300 */
	pthread_once(&utf8_locale_once, utf8_locale_make);
	if (!utf8_locale)
		return 1;
	/* uselocale is per thread: no other thread sees the switch. */
	locale_t old = uselocale(utf8_locale);
	int w = wcwidth((wchar_t)cp);
	uselocale(old);
	return w < 0 ? 1 : (unsigned)w;
}
