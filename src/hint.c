/* hint: how near two names are; see hint.h. */
#include <stdio.h>
#include <string.h>

#include "hint.h"
#include "utf8.h"

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* s as code points into cp[HINT_LEN_MAX + 1] (a byte that is not UTF-8
 * stands for itself, apart from every character); how many, or
 * HINT_LEN_MAX + 1 when longer. */
static size_t code_points(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	for (size_t i = 0; i < len && n <= HINT_LEN_MAX; n++) {
		size_t k = utf8_decode(p + i, len - i, &cp[n]);
		if (k == 0) {
			cp[n] = 0x110000u + p[i];
			k = 1;
		}
		i += k;
	}
	return n;
}

size_t hint_length(const char *s, size_t len)
{
	uint32_t cp[HINT_LEN_MAX + 1];
	return code_points(s, len, cp);
}

static uint32_t fold_cp(uint32_t c)
{
	return c < 0x80 ? fold((unsigned char)c) : c;
}

size_t hint_distance(const char *sa, size_t sla, const char *sb, size_t slb)
{
	/* In characters, not bytes: 'MATH\u03c0\u03c01' is two from
	 * 'MATH101' (review 23 F12). */
	uint32_t a[HINT_LEN_MAX + 1], b[HINT_LEN_MAX + 1];
	size_t row[HINT_LEN_MAX + 2], prev[HINT_LEN_MAX + 2];
	const size_t over = HINT_DISTANCE_MAX + 1;
	if (sla > 4 * (HINT_LEN_MAX + 1) || slb > 4 * (HINT_LEN_MAX + 1))
		return over;
	size_t la = code_points(sa, sla, a), lb = code_points(sb, slb, b);
	if ((la > lb ? la - lb : lb - la) > HINT_DISTANCE_MAX ||
	    la > HINT_LEN_MAX || lb > HINT_LEN_MAX)
		return over;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t best = row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] +
				     (fold_cp(a[i - 1]) != fold_cp(b[j - 1]));
			size_t del = prev[j] + 1, ins = row[j - 1] + 1;
			size_t d = sub < del ? sub : del;
			row[j] = d < ins ? d : ins;
			best = row[j] < best ? row[j] : best;
		}
		if (best > HINT_DISTANCE_MAX)
			return over;
		memcpy(prev, row, (lb + 1) * sizeof(row[0]));
	}
	return prev[lb];
}

/* U+FF01..U+FF5E: the full-width forms of '!'..'~' an East Asian input
 * method types. */
static bool is_fullwidth_ascii(uint32_t cp)
{
	return cp >= 0xFF01 && cp <= 0xFF5E;
}

static bool is_combining(uint32_t cp)
{
	return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
	       (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
	       (cp >= 0xFE20 && cp <= 0xFE2F);
}

static bool is_other_space(uint32_t cp)
{
	return cp == 0x00A0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
	       cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

static bool is_dash(uint32_t cp)
{
	return (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0xFE58 ||
	       cp == 0xFE63 || cp == 0xFF0D;
}

/* U+00C0..U+00FF: the plain letter, or '*' to keep it (Æ, Ð, ×, Þ, ß...). */
static const char latin1_base[] = "aaaaaa*ceeeeiiii*nooooo*ouuuuy**"
				  "aaaaaa*ceeeeiiii*nooooo*ouuuuy*y";

size_t hint_skeleton(const char *s, size_t len, char *out, uint32_t *changed)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	if (changed)
		*changed = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = utf8_decode(p + i, len - i, &cp);
		if (k == 0) { /* not UTF-8: the byte as it is */
			out[n++] = (char)p[i++];
			continue;
		}
		char mapped = 0;
		bool drop = false, noted = false;
		if (cp < 0x80) {
			mapped = (char)fold((unsigned char)cp);
		} else if (cp >= 0xC0 && cp <= 0xFF && latin1_base[cp - 0xC0] != '*') {
			mapped = latin1_base[cp - 0xC0];
		} else if (is_fullwidth_ascii(cp)) {
			mapped = (char)fold((unsigned char)(cp - 0xFEE0)), noted = true;
		} else if (is_other_space(cp)) {
			mapped = ' ', noted = true;
		} else if (is_dash(cp)) {
			mapped = '-', noted = true;
		} else if (is_combining(cp) || utf8_is_invisible(cp)) {
			drop = noted = true;
		}
		if (noted && changed && *changed == 0)
			*changed = cp;
		if (mapped)
			out[n++] = mapped;
		else if (!drop) {
			memcpy(out + n, p + i, k);
			n += k;
		}
		i += k;
	}
	/* Spaces at either end are not read (a spreadsheet leaves no-break
	 * spaces around a code: review 19, F13). */
	size_t lead = 0;
	while (lead < n && out[lead] == ' ')
		lead++;
	while (n > lead && out[n - 1] == ' ')
		n--;
	memmove(out, out + lead, n - lead);
	return n - lead;
}

void hint_why(char *out, size_t cap, uint32_t changed)
{
	const char *what = is_combining(changed) ?
				   "a combining accent: the same letters "
				   "written another way" :
			   is_other_space(changed) ? "a space other than ' '" :
			   is_dash(changed)	   ? "a dash other than '-'" :
			   is_fullwidth_ascii(changed) ?
						     "a full-width character" :
						     "an invisible character";
	if (cap == 0)
		return;
	if (changed == 0)
		out[0] = '\0';
	else
		snprintf(out, cap, "U+%04X, %s", (unsigned)changed, what);
}
