/* escape: how bulkreg shows a value -- a csv field, a json string, terminal
 * text -- the one escaping the reports, the listings, the reader's messages
 * and the row details share. */
#ifndef BULKREG_ESCAPE_H
#define BULKREG_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Into a buffer.  Each writes s[0..len) escaped at out (which must hold
 * the bound given beside it) and returns the bytes written.
 *
 *   esc_csv:  one field, RFC 4180 quoting (a field holding , " CR LF or a
 *             space at either end is quoted, quotes doubled); a field that
 *             starts with = + - @ TAB or CR gets a leading ' (formula
 *             injection); NUL and each invalid UTF-8 sequence become U+FFFD.
 *   esc_json: a JSON string literal, quotes included; controls (C0, DEL
 *             and C1, so that none reaches a terminal) as \u00XX,
 *             U+2028/2029 as \u2028/\u2029 (line breaks to JavaScript); NUL
 *             and invalid UTF-8 as U+FFFD.
 */
#define ESC_CSV_MAX(n) (3 * (size_t)(n) + 3)
size_t esc_csv(char *out, const char *s, size_t len);
/* Whether a spreadsheet would read s as a formula (esc_csv's test). */
bool esc_csv_is_formula(const char *s, size_t len);

#define ESC_JSON_MAX(n) (6 * (size_t)(n) + 2)
size_t esc_json(char *out, const char *s, size_t len);

/*
 * Terminal text: what nothing in a value can use to drive a terminal or
 * hide from a reader.
 *   - C0 controls, DEL and bytes that are not UTF-8: \xhh, one per byte;
 *   - C1 controls and every character utf8_is_invisible names (format
 *     characters, bidi controls, zero-width and tag characters, special
 *     spaces): by code point, \uhhhh, or \Uhhhhhhhh past U+FFFF;
 *   - NUL: U+FFFD;
 *   - in a value (`value` true), a backslash as \\, so the text "\x1b"
 *     never looks like an escaped ESC.  Messages and details are bulkreg's
 *     own text and already carry escapes: their backslashes stay.
 * Every other character takes the columns utf8_columns says: 2 for a
 * wide (CJK) character, 0 for a combining mark, else 1.  esc_text writes at most max_cols
 * columns (0: no limit), cutting with "..." when the value is wider, and
 * returns the bytes written; *cols (if not NULL) gets the columns.
 */
#define ESC_TEXT_MAX(n) (4 * (size_t)(n) + 3)
size_t esc_text(char *out, const char *s, size_t len, size_t max_cols,
		bool value, size_t *cols);

/* The columns esc_text would use with no limit. */
size_t esc_text_cols(const char *s, size_t len, bool value);

/*
 * A value quoted for a message, appended at out[*used] (cap bytes in all,
 * always NUL-terminated, *used advanced): 'text', escaped as esc_text does
 * a value, cut to at most `limit` bytes of s at a character boundary with
 * "..." inside the quotes.
 */
void esc_quote(char *out, size_t cap, size_t *used, const char *s, size_t len,
	       size_t limit);

/*
 * csv text bound for a terminal (the report and the listings, when their
 * output is one): the controls a terminal acts on -- C0 but TAB, CR and LF,
 * DEL, C1 -- as the text report shows them (\xhh, \u00hh), so a value
 * cannot set the title, colours or clipboard; every other byte as it is.
 * The input is a piece of a valid UTF-8 stream (esc_csv's output), where a
 * C1 control is C2 80..C2 9F: a C2 that ends a piece is held in *held for
 * the next, and esc_terminal_end writes it after the last.
 */
#define ESC_TERMINAL_MAX(n) (6 * (size_t)(n) + 1)
size_t esc_terminal(char *out, const char *in, size_t n, bool *held);
size_t esc_terminal_end(char *out, bool *held);

/* ---- the same, to a stdio stream (the listings) ------------------------- */

/* esc_csv to `out`, then esc_terminal when `terminal`.  Returns 0 or -1
 * with errno set. */
int csv_write_field(FILE *out, const char *s, size_t len, bool terminal);

/* esc_json to `out`.  Returns 0 or -1 with errno set. */
int json_write_string(FILE *out, const char *s, size_t len);

/* A value as esc_text shows it, padded to `width` columns and cut with
 * "..." past `max` columns (0 = no limit); text_value_width is the width it
 * would use before padding. */
void text_write_value(FILE *out, const char *s, size_t len, size_t width,
		      size_t max);
size_t text_value_width(const char *s, size_t len, size_t max);

/* A message (a NUL-terminated string) escaped as esc_text does with
 * `value` false, into out[cap], NUL-terminated, cut before an escape that
 * would not fit. */
void text_escape_message(char *out, size_t cap, const char *s);

/* v with thousands separators ("1,234,567") in buf; returns buf. */
const char *text_group_digits(int64_t v, char buf[32]);

#endif
