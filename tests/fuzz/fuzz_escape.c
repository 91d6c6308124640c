/* fuzz_escape: libFuzzer harness for the one escaping module (escape.c). */
/*
 * The first input byte picks the column limit and the value/message mode;
 * the rest is the text.  Every escaping is checked against its promise:
 * within its bound; csv and json always valid UTF-8; terminal text valid
 * UTF-8 holding no control, invisible or format character (so nothing in
 * it can drive a terminal or hide), the columns utf8_columns gives each
 * character (2 wide, 0 combining, else 1), cut to the
 * limit; a quoted value NUL-terminated within its buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

/* Valid UTF-8, and for terminal text: no C0, DEL, C1 or invisible
 * character; returns the columns the characters take. */
static size_t check_text(const char *s, size_t n, int terminal)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t cols = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = utf8_decode(u + i, n - i, &cp);
		check(k > 0, "output is UTF-8");
		if (terminal)
			check(!utf8_is_control(cp) && !utf8_is_invisible(cp),
			      "no control or invisible character in terminal text");
		cols += utf8_columns(cp);
		i += k;
	}
	return cols;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned control = data[0];
	const char *s = (const char *)data + 1;
	size_t len = size - 1;
	size_t max_cols = control & 0x3F; /* 0: no limit */
	int value = (control & 0x40) != 0;
	char *out = malloc(ESC_JSON_MAX(len) + ESC_CSV_MAX(len) + ESC_TEXT_MAX(len) + 1);
	check(out != NULL, "malloc");

	size_t n = esc_csv(out, s, len);
	check(n <= ESC_CSV_MAX(len), "csv bound");
	check(memchr(out, '\0', n) == NULL, "csv: no NUL");
	check_text(out, n, 0);

	/* The csv made fit for a terminal, in two pieces split anywhere: no
	 * control a terminal acts on, and without any the bytes unchanged. */
	{
		size_t csv_n = n, cut = len ? (size_t)data[size - 1] % (csv_n + 1) : 0;
		char *shown = malloc(ESC_TERMINAL_MAX(csv_n) + 1);
		check(shown != NULL, "malloc");
		bool held = false;
		size_t m = esc_terminal(shown, out, cut, &held);
		m += esc_terminal(shown + m, out + cut, csv_n - cut, &held);
		m += esc_terminal_end(shown + m, &held);
		check(m <= ESC_TERMINAL_MAX(csv_n), "terminal bound");
		bool any = false;
		for (size_t i = 0; i < m; i++) {
			unsigned char c = (unsigned char)shown[i];
			check(!((c < 0x20 && c != '\t' && c != '\r' && c != '\n') ||
				c == 0x7f), "terminal: no C0 or DEL");
			check(!(c == 0xc2 && i + 1 < m &&
				(unsigned char)shown[i + 1] >= 0x80 &&
				(unsigned char)shown[i + 1] < 0xa0),
			      "terminal: no C1");
		}
		for (size_t i = 0; i < csv_n; i++) {
			unsigned char c = (unsigned char)out[i];
			if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') ||
			    c == 0x7f || (c == 0xc2 && i + 1 < csv_n &&
					  (unsigned char)out[i + 1] < 0xa0))
				any = true;
		}
		check(any || (m == csv_n && memcmp(shown, out, m) == 0),
		      "terminal: text without controls unchanged");
		free(shown);
	}

	n = esc_json(out, s, len);
	check(n <= ESC_JSON_MAX(len) && n >= 2, "json bound");
	check(out[0] == '"' && out[n - 1] == '"', "json quotes");
	for (size_t i = 0; i < n; i++)
		check((unsigned char)out[i] >= 0x20, "json: no raw control byte");
	check_text(out, n, 0);

	size_t cols;
	n = esc_text(out, s, len, max_cols, value, &cols);
	check(n <= ESC_TEXT_MAX(len), "text bound");
	check(check_text(out, n, 1) == cols, "the columns utf8_columns counts");
	size_t full = esc_text_cols(s, len, value);
	if (max_cols > 3 && full > max_cols)
		check(cols <= max_cols && n >= 3 && memcmp(out + n - 3, "...", 3) == 0,
		      "a wide value is cut with ...");
	else
		check(cols == full, "a value that fits is whole");
	if (value)
		for (size_t i = 0; i < n; i++)
			if (out[i] == '\\') {
				check(i + 1 < n && strchr("\\xuU", out[i + 1]) != NULL,
				      "a backslash starts an escape");
				i++; /* "\\\\" is one escape */
			}

	char quoted[80];
	size_t used = 0;
	quoted[0] = '\0';
	esc_quote(quoted, (control >> 7) ? sizeof(quoted) : 12, &used, s, len,
		  control & 0x3F);
	check(used < sizeof(quoted) && quoted[used] == '\0', "quote terminated");
	check(strlen(quoted) == used, "quote length");
	check_text(quoted, used, 1);
	free(out);
	return 0;
}
