/* escape: csv fields, json strings and terminal text; see escape.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "utf8.h"

/* U+FFFD REPLACEMENT CHARACTER, in UTF-8. */
static const char replacement[] = "\xEF\xBF\xBD";
static const char hex[] = "0123456789abcdef";

/* ---- csv ------------------------------------------------------------------*/

static bool csv_is_formula_start(unsigned char c)
{
	return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' ||
	       c == '\r';
}

bool esc_csv_is_formula(const char *s, size_t len)
{
	return len > 0 && csv_is_formula_start((unsigned char)s[0]);
}

static bool csv_needs_quotes(const char *s, size_t len)
{
	if (len == 0)
		return false;
	if (s[0] == ' ' || s[len - 1] == ' ')
		return true;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == ',' || c == '"' || c == '\r' || c == '\n')
			return true;
	}
	return false;
}

size_t esc_csv(char *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	bool quoted = csv_needs_quotes(s, len);
	size_t n = 0;

	if (quoted)
		out[n++] = '"';
	if (len > 0 && csv_is_formula_start(p[0]))
		out[n++] = '\'';
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		if (c != '"' && c != '\0' && c < 0x80) {
			out[n++] = (char)c;
			i++;
			continue;
		}
		uint32_t cp;
		size_t k = c >= 0x80 ? utf8_decode(p + i, len - i, &cp) : 0;
		if (k > 0) {
			memcpy(out + n, s + i, k);
			n += k;
			i += k;
		} else if (c == '"') {
			out[n++] = '"';
			out[n++] = '"';
			i++;
		} else {
			memcpy(out + n, replacement, 3);
			n += 3;
			i += c ? utf8_bad_length(p + i, len - i) : 1;
		}
	}
	if (quoted)
		out[n++] = '"';
	return n;
}

/* ---- json -----------------------------------------------------------------*/

static bool json_is_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

size_t esc_json(char *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	out[n++] = '"';
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		if (json_is_plain(c)) {
			out[n++] = (char)c;
			i++;
		} else if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
			i++;
		} else if (c == 0) {
			memcpy(out + n, replacement, 3);
			n += 3;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[c >> 4];
			out[n + 5] = hex[c & 15];
			n += 6;
			i++;
		} else {
			uint32_t cp;
			size_t k = utf8_decode(p + i, len - i, &cp);
			if (k == 0) {
				memcpy(out + n, replacement, 3);
				n += 3;
				i += utf8_bad_length(p + i, len - i);
				continue;
			}
			if (cp >= 0x80 && cp < 0xa0) {
				/* C1: the same string, and nothing a terminal
				 * showing the json would take for a control. */
				memcpy(out + n, "\\u00", 4);
				out[n + 4] = hex[cp >> 4];
				out[n + 5] = hex[cp & 15];
				n += 6;
			} else if (cp == 0x2028 || cp == 0x2029) {
				/* Valid JSON, but line breaks to JavaScript. */
				memcpy(out + n, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
				n += 6;
			} else {
				memcpy(out + n, s + i, k);
				n += k;
			}
			i += k;
		}
	}
	out[n++] = '"';
	return n;
}

/* ---- terminal text --------------------------------------------------------*/

/* How one character (or one bad byte) is shown. */
struct token {
	char bytes[12];
	unsigned char len, cols;
};

static void token_byte(struct token *t, unsigned char c)
{
	t->bytes[0] = '\\';
	t->bytes[1] = 'x';
	t->bytes[2] = hex[c >> 4];
	t->bytes[3] = hex[c & 15];
	t->len = t->cols = 4;
}

/* \uhhhh, or \Uhhhhhhhh past U+FFFF. */
static void token_code_point(struct token *t, uint32_t cp)
{
	int digits = cp > 0xFFFF ? 8 : 4;
	t->bytes[0] = '\\';
	t->bytes[1] = cp > 0xFFFF ? 'U' : 'u';
	for (int k = 0; k < digits; k++)
		t->bytes[2 + k] = hex[(cp >> (4 * (digits - 1 - k))) & 15];
	t->len = t->cols = (unsigned char)(2 + digits);
}

/* Fills *t with how s[i..] starts; returns the bytes it stands for. */
static size_t text_next(const unsigned char *s, size_t len, size_t i,
			bool value, struct token *t)
{
	unsigned char c = s[i];
	if (c >= 0x20 && c < 0x7F && (c != '\\' || !value)) {
		t->bytes[0] = (char)c;
		t->len = t->cols = 1;
		return 1;
	}
	if (c == '\\') {
		memcpy(t->bytes, "\\\\", 2);
		t->len = t->cols = 2;
		return 1;
	}
	if (c == 0) {
		memcpy(t->bytes, replacement, 3);
		t->len = 3;
		t->cols = 1;
		return 1;
	}
	uint32_t cp;
	size_t k = c < 0x80 ? 0 : utf8_decode(s + i, len - i, &cp);
	if (k == 0) { /* C0, DEL, or not UTF-8 */
		token_byte(t, c);
		return 1;
	}
	if (utf8_is_control(cp) || utf8_is_invisible(cp)) {
		token_code_point(t, cp);
	} else {
		memcpy(t->bytes, s + i, k);
		t->len = (unsigned char)k;
		t->cols = (unsigned char)utf8_columns(cp);
	}
	return k;
}

size_t esc_text_cols(const char *s, size_t len, bool value)
{
	const unsigned char *p = (const unsigned char *)s;
	struct token t;
	size_t cols = 0;
	for (size_t i = 0; i < len;) {
		i += text_next(p, len, i, value, &t);
		cols += t.cols;
	}
	return cols;
}

size_t esc_text(char *out, const char *s, size_t len, size_t max_cols,
		bool value, size_t *cols_out)
{
	const unsigned char *p = (const unsigned char *)s;
	bool cut = max_cols > 3 && esc_text_cols(s, len, value) > max_cols;
	size_t limit = cut ? max_cols - 3 : SIZE_MAX;
	struct token t;
	size_t n = 0, cols = 0;
	for (size_t i = 0; i < len;) {
		size_t used = text_next(p, len, i, value, &t);
		if (cols + t.cols > limit)
			break;
		memcpy(out + n, t.bytes, t.len);
		n += t.len;
		cols += t.cols;
		i += used;
	}
	if (cut) {
		memcpy(out + n, "...", 3);
		n += 3;
		cols += 3;
	}
	if (cols_out)
		*cols_out = cols;
	return n;
}

void esc_quote(char *out, size_t cap, size_t *used, const char *s, size_t len,
	       size_t limit)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t show = len;
	if (cap == 0 || *used >= cap)
		return;
	if (len > limit) {
		show = limit;
		while (show > 0 && (p[show] & 0xC0) == 0x80)
			show--; /* do not cut a UTF-8 sequence */
	}
	size_t at = *used;
	struct token t;
	/* Room for the closing "...'" and the NUL is kept throughout. */
	if (at + 1 + 5 <= cap)
		out[at++] = '\'';
	for (size_t i = 0; i < show;) {
		size_t k = text_next(p, show, i, true, &t);
		if (at + t.len + 5 > cap)
			break;
		memcpy(out + at, t.bytes, t.len);
		at += t.len;
		i += k;
	}
	if (show < len && at + 4 < cap) {
		memcpy(out + at, "...", 3);
		at += 3;
	}
	if (at + 1 < cap)
		out[at++] = '\'';
	out[at] = '\0';
	*used = at;
}

/* ---- to a stdio stream ----------------------------------------------------*/

/* Writes what escape(s, len) makes, bound bytes at most. */
static int write_escaped(FILE *out, size_t bound,
			 size_t (*escape)(char *, const char *, size_t),
			 const char *s, size_t len)
{
	char small[4096];
	char *buf = bound <= sizeof(small) ? small : malloc(bound);
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	size_t n = escape(buf, s, len);
	errno = 0;
	int rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
	if (rc < 0 && errno == 0)
		errno = EIO;
	if (buf != small)
		free(buf);
	return rc;
}

size_t esc_terminal(char *out, const char *in, size_t n, bool *held)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (*held) {
			*held = false;
			if (c >= 0x80 && c < 0xa0) {
				memcpy(out + o, "\\u00", 4);
				out[o + 4] = hex[c >> 4];
				out[o + 5] = hex[c & 15];
				o += 6;
				continue;
			}
			out[o++] = (char)0xc2;
		}
		if (c == 0xc2) {
			*held = true;
		} else if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') ||
			   c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	return o;
}

size_t esc_terminal_end(char *out, bool *held)
{
	if (!*held)
		return 0;
	*held = false;
	out[0] = (char)0xc2;
	return 1;
}

int csv_write_field(FILE *out, const char *s, size_t len, bool terminal)
{
	if (!terminal)
		return write_escaped(out, ESC_CSV_MAX(len), esc_csv, s, len);
	size_t csv_max = ESC_CSV_MAX(len);
	char *buf = malloc(csv_max + ESC_TERMINAL_MAX(csv_max));
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	char *shown = buf + csv_max;
	bool held = false;
	size_t n = esc_terminal(shown, buf, esc_csv(buf, s, len), &held);
	n += esc_terminal_end(shown + n, &held);
	errno = 0;
	int rc = fwrite(shown, 1, n, out) == n ? 0 : -1;
	if (rc < 0 && errno == 0)
		errno = EIO;
	free(buf);
	return rc;
}

int json_write_string(FILE *out, const char *s, size_t len)
{
	return write_escaped(out, ESC_JSON_MAX(len), esc_json, s, len);
}

void text_write_value(FILE *out, const char *s, size_t len, size_t width,
		      size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	bool cut = max > 3 && esc_text_cols(s, len, true) > max;
	size_t limit = cut ? max - 3 : SIZE_MAX;
	struct token t;
	size_t cols = 0;
	for (size_t i = 0; i < len;) {
		size_t used = text_next(p, len, i, true, &t);
		if (cols + t.cols > limit)
			break;
		fwrite(t.bytes, 1, t.len, out);
		cols += t.cols;
		i += used;
	}
	if (cut) {
		fputs("...", out);
		cols += 3;
	}
	for (; cols < width; cols++)
		fputc(' ', out);
}

size_t text_value_width(const char *s, size_t len, size_t max)
{
	size_t cols = esc_text_cols(s, len, true);
	return max && cols > max ? max : cols;
}

void text_escape_message(char *out, size_t cap, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), used = 0;
	struct token t;
	if (cap == 0)
		return;
	for (size_t i = 0; i < len;) {
		size_t n = text_next(p, len, i, false, &t);
		if (used + t.len >= cap)
			break;
		memcpy(out + used, t.bytes, t.len);
		used += t.len;
		i += n;
	}
	out[used] = '\0';
}

const char *text_group_digits(int64_t v, char buf[32])
{
	char tmp[32];
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	size_t n = 0;
	do {
		if (n % 4 == 3)
			tmp[n++] = ',';
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[n++] = '-';
	for (size_t k = 0; k < n; k++)
		buf[k] = tmp[n - 1 - k];
	buf[n] = '\0';
	return buf;
}
