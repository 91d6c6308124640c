/* report_html: the batch report (and the course list) as one HTML page. */
#ifndef BULKREG_REPORT_HTML_H
#define BULKREG_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "courses.h"
#include "error.h"
#include "report.h"
#include "row.h"

/*
 * The page is self-contained: inline CSS and SVG, no script, and nothing it
 * would load (no font, image, style sheet or link to fetch); a
 * Content-Security-Policy of default-src 'none' says so to the browser too.
 * It reads on a phone (tables become one card per row) and prints (A4, no
 * backgrounds lost, table headers repeated).
 *
 * A batch's page: the summary (counts per status and reason), a fill chart
 * per course the batch touched (seats taken of the capacity, this batch's
 * additions apart, the waitlist against its maximum, seats over the
 * capacity in red), the rejected and skipped rows grouped by reason with
 * counts, and every row of the report.  Each list stops at
 * REPORT_HTML_ROWS_MAX rows with a note that the csv report has them all.
 */
#define REPORT_HTML_ROWS_MAX 10000

struct report_html;

/* Where a page goes: 0, or -1 with errno set. */
typedef int (*report_html_sink)(void *ctx, const char *p, size_t n);

/* ST_NOMEM, or ST_OK with *out set. */
enum status report_html_new(struct report_html **out, struct error *err);

void report_html_free(struct report_html *h);

/* The longest spool record report_html_record makes. */
#define REPORT_HTML_RECORD_MAX (64 + 2 * ROW_VALUE_SHOWN_MAX + ROW_DETAIL_MAX)

/*
 * Takes one row of the batch, in report order: counts it toward its
 * course's additions, and when the page lists it, writes its spool record
 * to buf[0..cap) (cap >= REPORT_HTML_RECORD_MAX) and sets *len (0 when the
 * row is past every list's bound).  ST_NOMEM (the row is not taken).
 */
enum status report_html_record(struct report_html *h, const struct row *row,
			       char *buf, size_t cap, size_t *len,
			       struct error *err);

/*
 * Writes the page from the summary, s->courses and the records spooled in
 * `spool` (read from where it stands to its end, several times: it is
 * rewound to that offset between passes).  *out_errno is the errno of the
 * first failed sink call (0 if none): nothing is written after it;
 * *spool_errno that of a failed spool read.
 */
void report_html_write(struct report_html *h, const struct report_summary *s,
		       FILE *spool, report_html_sink sink, void *ctx,
		       int *out_errno, int *spool_errno);

/* `course list --format html`: every course's fill chart and numbers.
 * Returns 0, or -1 with errno set when writing to `out` failed. */
int report_html_courses(const struct course_table *t, FILE *out);

/*
 * Writes s[0..len) as HTML text (element content or a quoted attribute's
 * value): & < > " ' as entities; bytes that are not UTF-8 and NUL as
 * U+FFFD; control, bidirectional, invisible and space-like characters
 * (utf8_is_control, utf8_is_bidi, utf8_is_invisible) as a visible
 * <span class="cp" data-cp="HHHH">U+HHHH</span> when `markup`, else as
 * the text "U+HHHH" (inside attributes).  Returns 0 or -1 (errno).
 */
int html_write_escaped(report_html_sink sink, void *ctx, const char *s,
		       size_t len, bool markup);

#endif
