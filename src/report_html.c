/* report_html: the batch report and the course list as one HTML page; see
 * report_html.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "report_html.h"
#include "utf8.h"

#define HW_BUFFER 16384

/* ---- output --------------------------------------------------------------- */

/* A buffered writer over a sink; after the first failure it writes
 * nothing more and keeps that errno. */
struct hw {
	char buf[HW_BUFFER];
	size_t len;
	report_html_sink sink;
	void *ctx;
	int err;
};

static void hw_flush(struct hw *w)
{
	if (w->len > 0 && w->err == 0 && w->sink(w->ctx, w->buf, w->len) < 0)
		w->err = errno ? errno : EIO;
	w->len = 0;
}

static void hw_write(struct hw *w, const char *p, size_t n)
{
	while (n > 0) {
		if (w->len == sizeof(w->buf))
			hw_flush(w);
		size_t k = sizeof(w->buf) - w->len;
		if (k > n)
			k = n;
		memcpy(w->buf + w->len, p, k);
		w->len += k;
		p += k;
		n -= k;
	}
}

static void hw_puts(struct hw *w, const char *s)
{
	hw_write(w, s, strlen(s));
}

static void hw_printf(struct hw *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Numbers and bulkreg's own words only: never for values. */
static void hw_printf(struct hw *w, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		hw_write(w, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ---- escaping ------------------------------------------------------------- */

/* Characters shown by their code point: a reader could not see them, or
 * they would reorder or break the text around them. */
static bool shown_as_code(uint32_t cp)
{
	return utf8_is_control(cp) || utf8_is_bidi(cp) || utf8_is_invisible(cp);
}

static void hw_esc(struct hw *w, const char *s, size_t len, bool markup)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0; /* start of the bytes copied as they are */
	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		size_t used = utf8_decode(p + i, len - i, &cp);
		const char *ent = NULL;
		if (used == 0) {
			ent = "&#xFFFD;";
			used = 1;
		} else if (cp == 0) {
			ent = "&#xFFFD;";
		} else if (cp == '&') {
			ent = "&amp;";
		} else if (cp == '<') {
			ent = "&lt;";
		} else if (cp == '>') {
			ent = "&gt;";
		} else if (cp == '"') {
			ent = "&quot;";
		} else if (cp == '\'') {
			ent = "&#39;";
		} else if (!shown_as_code(cp)) {
			i += used;
			continue;
		}
		hw_write(w, s + run, i - run);
		if (ent)
			hw_puts(w, ent);
		else if (markup)
			hw_printf(w, "<span class=\"cp\" data-cp=\"%04" PRIX32
				  "\">U+%04" PRIX32 "</span>", cp, cp);
		else
			hw_printf(w, "U+%04" PRIX32, cp);
		i += used;
		run = i;
	}
	hw_write(w, s + run, len - run);
}

int html_write_escaped(report_html_sink sink, void *ctx, const char *s,
		       size_t len, bool markup)
{
	struct hw *w = malloc(sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return -1;
	}
	w->len = 0;
	w->sink = sink;
	w->ctx = ctx;
	w->err = 0;
	hw_esc(w, s, len, markup);
	hw_flush(w);
	int e = w->err;
	free(w);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

static void hw_text(struct hw *w, const char *s)
{
	hw_esc(w, s, strlen(s), true);
}

/* ---- per-course additions -------------------------------------------------- */

/* What the batch did to one course, from its rows. */
struct course_tally {
	char *code;
	int64_t seats_added;    /* registered or promoted by the batch */
	int64_t waitlist_added; /* waitlisted by the batch */
	int64_t dropped;        /* from a seat */
	int64_t waitlist_dropped; /* from the waitlist (review 23 F06) */
	int64_t rows;           /* rows naming it */
};

struct report_html {
	struct course_tally *tally;
	size_t ntally, alloc;
	uint32_t *index;        /* open addressing: tally number + 1, 0 = empty */
	size_t index_size;      /* power of two */
	uint64_t rows;          /* rows taken */
	uint64_t listed;        /* of them in the every-row list */
	uint64_t problems;      /* rejected or skipped rows taken */
	uint64_t problems_listed;
	uint64_t changes;       /* dropped or promoted rows taken */
	uint64_t changes_listed;
};

/* A row as spooled: this header, then the student, course and detail
 * bytes as read. */
struct html_record {
	uint64_t line;
	int64_t position;
	uint16_t status, reason;
	uint16_t student_len, course_len, detail_len;
	uint8_t in_all, in_problems, in_changes;
};

_Static_assert(sizeof(struct html_record) + 2 * ROW_VALUE_SHOWN_MAX + ROW_DETAIL_MAX <=
		       REPORT_HTML_RECORD_MAX,
	       "html record bound");

enum status report_html_new(struct report_html **out, struct error *err)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return error_set(err, ST_NOMEM, "out of memory for the report");
	return ST_OK;
}

void report_html_free(struct report_html *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->ntally; i++)
		free(h->tally[i].code);
	free(h->tally);
	free(h->index);
	free(h);
}

static uint64_t hash_code(const char *s, size_t len)
{
	uint64_t x = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		x ^= (unsigned char)s[i];
		x *= 1099511628211ULL;
	}
	return x;
}

static bool tally_rehash(struct report_html *h, size_t size)
{
	uint32_t *index = calloc(size, sizeof(*index));
	if (!index)
		return false;
	for (size_t i = 0; i < h->ntally; i++) {
		const char *c = h->tally[i].code;
		size_t k = hash_code(c, strlen(c)) & (size - 1);
		while (index[k])
			k = (k + 1) & (size - 1);
		index[k] = (uint32_t)(i + 1);
	}
	free(h->index);
	h->index = index;
	h->index_size = size;
	return true;
}

/* The tally of `code`, added if new; NULL when out of memory. */
static struct course_tally *tally_get(struct report_html *h, const char *code,
				      size_t len)
{
	if (h->index_size) {
		size_t k = hash_code(code, len) & (h->index_size - 1);
		for (; h->index[k]; k = (k + 1) & (h->index_size - 1)) {
			struct course_tally *t = &h->tally[h->index[k] - 1];
			if (strlen(t->code) == len && memcmp(t->code, code, len) == 0)
				return t;
		}
	}
	if ((h->ntally + 1) * 2 > h->index_size &&
	    !tally_rehash(h, h->index_size ? h->index_size * 2 : 64))
		return NULL;
	if (h->ntally == h->alloc) {
		size_t n = h->alloc ? h->alloc * 2 : 32;
		struct course_tally *t = realloc(h->tally, n * sizeof(*t));
		if (!t)
			return NULL;
		h->tally = t;
		h->alloc = n;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, code, len);
	copy[len] = '\0';
	struct course_tally *t = &h->tally[h->ntally];
	memset(t, 0, sizeof(*t));
	t->code = copy;
	size_t k = hash_code(code, len) & (h->index_size - 1);
	while (h->index[k])
		k = (k + 1) & (h->index_size - 1);
	h->index[k] = (uint32_t)(++h->ntally);
	return t;
}

static const struct course_tally *tally_find(const struct report_html *h,
					     const char *code)
{
	if (!h || !h->index_size)
		return NULL;
	size_t len = strlen(code);
	size_t k = hash_code(code, len) & (h->index_size - 1);
	for (; h->index[k]; k = (k + 1) & (h->index_size - 1)) {
		const struct course_tally *t = &h->tally[h->index[k] - 1];
		if (strcmp(t->code, code) == 0)
			return t;
	}
	return NULL;
}

/* ---- rows ------------------------------------------------------------------ */

/* As the csv report: a waitlist position, now or when dropped. */
static bool has_position(const struct row *row)
{
	return row->status == STATUS_WAITLISTED ||
	       row->status == STATUS_ALREADY_WAITLISTED ||
	       (row->status == STATUS_DROPPED && row->position > 0);
}

static bool is_problem(enum row_status st)
{
	return st == STATUS_REJECTED || st == STATUS_SKIPPED;
}

enum status report_html_record(struct report_html *h, const struct row *row,
			       char *buf, size_t cap, size_t *len,
			       struct error *err)
{
	char sid_buf[ROW_VALUE_SHOWN_MAX], course_buf[ROW_VALUE_SHOWN_MAX];
	const char *sid, *course;
	size_t sid_len = row_value_shown(&row->v[FIELD_STUDENT_ID], sid_buf, &sid);
	size_t course_len = row_value_shown(&row->v[FIELD_COURSE], course_buf,
					    &course);
	const char *code = row->course ? row->course->code : course;
	size_t code_len = row->course ? strlen(code) : course_len;
	*len = 0;

	if (code_len > 0) {
		struct course_tally *t = tally_get(h, code, code_len);
		if (!t)
			return error_set(err, ST_NOMEM, "out of memory for the report");
		t->rows++;
		if (row->status == STATUS_REGISTERED || row->status == STATUS_PROMOTED)
			t->seats_added++;
		else if (row->status == STATUS_WAITLISTED)
			t->waitlist_added++;
		else if (row->status == STATUS_DROPPED && row->position > 0)
			t->waitlist_dropped++; /* it held a place, not a seat */
		else if (row->status == STATUS_DROPPED)
			t->dropped++;
	}

	bool problem = is_problem(row->status);
	struct html_record rec;
	memset(&rec, 0, sizeof(rec)); /* padding too: it goes to the spool */
	rec.in_all = h->listed < REPORT_HTML_ROWS_MAX;
	rec.in_problems = problem && h->problems_listed < REPORT_HTML_ROWS_MAX;
	/* A sync's drops and promotions come after the last roster row:
	 * past the every-row list's end in a big batch, they get a list of
	 * their own (review 23 F09). */
	bool change = row->status == STATUS_DROPPED ||
		      row->status == STATUS_PROMOTED;
	rec.in_changes = change && h->changes_listed < REPORT_HTML_ROWS_MAX;
	h->rows++;
	h->problems += problem;
	h->changes += change;
	if (!rec.in_all && !rec.in_problems && !rec.in_changes)
		return ST_OK;
	h->listed += rec.in_all;
	h->problems_listed += rec.in_problems;
	h->changes_listed += rec.in_changes;

	size_t detail_len = strnlen(row->detail, ROW_DETAIL_MAX);
	rec.line = row->line;
	rec.position = has_position(row) ? row->position : 0;
	rec.status = (uint16_t)row->status;
	rec.reason = (uint16_t)(problem ? row->reason : REASON_NONE);
	rec.student_len = (uint16_t)sid_len;
	rec.course_len = (uint16_t)course_len;
	rec.detail_len = (uint16_t)detail_len;
	size_t n = sizeof(rec) + rec.student_len + rec.course_len + detail_len;
	if (n > cap)
		abort(); /* REPORT_HTML_RECORD_MAX is wrong */
	memcpy(buf, &rec, sizeof(rec));
	memcpy(buf + sizeof(rec), sid, rec.student_len);
	memcpy(buf + sizeof(rec) + rec.student_len, course, rec.course_len);
	memcpy(buf + sizeof(rec) + rec.student_len + rec.course_len, row->detail,
	       detail_len);
	*len = n;
	return ST_OK;
}

/* ---- the page -------------------------------------------------------------- */

static const char page_style[] =
	":root{--ink:#1b1f24;--muted:#57606a;--line:#d0d7de;--held:#4a6fa5;"
	"--added:#2da44e;--free:#e8ecf0;--over:#cf222e;--wait:#bf8700;"
	"--waitfree:#f3ead2}\n"
	"*{box-sizing:border-box}\n"
	"html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\n"
	"body{font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,"
	"\"Noto Sans\",\"DejaVu Sans\",sans-serif;color:var(--ink);background:#fff;"
	"margin:0 auto;padding:16px;max-width:1100px}\n"
	"h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.6em 0 .5em;"
	"border-bottom:2px solid var(--line);padding-bottom:.2em}"
	"h3{font-size:1em;margin:1.2em 0 .4em}\n"
	"p{margin:.3em 0}.muted{color:var(--muted)}\n"
	".outcome-committed{color:#1a7f37}.outcome-dry_run{color:var(--wait)}"
	".outcome-rolled_back{color:var(--over)}\n"
	"dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;"
	"margin:.6em 0}dl.meta dt{color:var(--muted)}dl.meta dd{margin:0;"
	"overflow-wrap:anywhere}\n"
	"table{border-collapse:collapse;width:100%;font-size:.93em}\n"
	"th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;"
	"vertical-align:top}\n"
	"th{background:#f6f8fa;font-weight:600}\n"
	/* Free text (details, titles) wraps between words and breaks a word
	 * only when it alone is wider than the cell; "anywhere" rather than
	 * "break-word" so that such a word does not widen the table past the
	 * page.  A token (status, reason, code, id, number) never breaks: its
	 * column grows to fit it (the widths below are minimums, so the
	 * tables of the groups line up in the usual case). */
	"td{unicode-bidi:isolate;overflow-wrap:anywhere}\n"
	"td.tok{white-space:nowrap;overflow-wrap:normal}\n"
	/* "anywhere" lets a cell shrink to one character, so the auto
	 * layout would give Detail only what the tokens leave (a long id
	 * left it one syllable a line, review 23 F02): it keeps a floor,
	 * and a table that cannot give it scrolls in its frame. */
	"@media screen{td[data-label=Detail]{min-width:16em}}\n"
	".tw{overflow-x:auto}\n"
	".w-line{width:3.5em}.w-id{width:7em}"
	".w-status{width:11em}.w-pos{width:4em}.w-reason{width:11em}\n"
	".num{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}\n"
	"table.counts{width:auto;min-width:18em}table.counts .sub th{"
	"padding-left:2em;font-weight:400}\n"
	".cp{font:11px/1 ui-monospace,monospace;border:1px solid var(--over);"
	"border-radius:3px;padding:0 2px;margin:0 1px;color:var(--over);"
	"white-space:nowrap}\n"
	"tr.st-rejected td.status{color:var(--over);font-weight:600}"
	"tr.st-skipped td.status{color:var(--muted)}"
	"tr.st-waitlisted td.status,tr.st-already_waitlisted td.status{"
	"color:var(--wait)}\n"
	".courses{display:grid;grid-template-columns:repeat(auto-fill,"
	"minmax(min(300px,100%),1fr));gap:12px}\n"
	".course{border:1px solid var(--line);border-radius:6px;padding:8px 10px;"
	"min-width:0}\n"
	".course .head{display:flex;gap:8px;align-items:baseline;flex-wrap:wrap}"
	".course .code{font-weight:600;unicode-bidi:isolate;max-width:100%;"
	"overflow-x:auto;white-space:nowrap}"
	".course .title{color:var(--muted);unicode-bidi:isolate;min-width:0;"
	"max-width:100%;overflow-wrap:anywhere}\n"
	".course svg{display:block;width:100%;height:18px;margin:4px 0 2px}\n"
	".course p{font-size:.88em}.over{color:var(--over);font-weight:600}\n"
	".legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.85em;"
	"color:var(--muted);margin:.4em 0 .8em}"
	".legend i{display:inline-block;width:.9em;height:.9em;margin-right:4px;"
	"vertical-align:-1px;border-radius:2px}\n"
	".note{border-left:4px solid var(--wait);background:#fff8e5;"
	"padding:6px 10px;margin:.6em 0}\n"
	/* Between a phone and a desktop the minimums would leave Detail
	 * nothing: the position and reason (often empty) take only what
	 * they hold, and up to 800 px
	 * the rows are cards (one line for each cell, as on a phone).  On
	 * paper the table keeps its columns and Detail its share. */
	"@media screen and (max-width:1000px){.w-pos,.w-reason{width:auto}"
	"td[data-label=Detail]{min-width:10em}}\n"
	"@media screen and (max-width:800px){"
	"table.rows thead{display:none}"
	"table.rows,table.rows tbody,table.rows tr{display:block;width:100%}"
	"table.rows tr{border:1px solid var(--line);border-radius:6px;"
	"margin:0 0 8px;padding:4px 8px}"
	"table.rows td{display:flex;gap:8px;border:0;padding:1px 0}"
	"table.rows td.tok{overflow-x:auto}"
	/* Detail is one block with a hanging indent, not a flex row: each
	 * <bdi> of a change and each text run between them would be a flex
	 * item of its own, the sentence drawn as thin columns (review 25
	 * F06).  The label takes no width of the line (its margins cancel
	 * it), so the text starts and wraps at the padding's edge. */
	"table.rows td[data-label=Detail]{min-width:0;display:block;"
	"padding-left:calc(6.5em + 8px)}"
	"table.rows td[data-label=Detail]::before{display:inline-block;"
	"width:6.5em;margin:0 8px 0 calc(-6.5em - 8px)}"
	"table.rows td::before{content:attr(data-label);flex:0 0 6.5em;"
	"color:var(--muted)}"
	"table.rows td:empty{display:none}"
	"table.rows .num{text-align:left}}\n"
	"@media (max-width:640px){body{padding:10px;font-size:14px}"
	".num{text-align:left}}\n"
	"@media print{body{font-size:9.5pt;max-width:none;padding:0}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	"thead{display:table-header-group}tr,.course{break-inside:avoid}"
	"h2,h3{break-after:avoid}.courses{grid-template-columns:1fr 1fr}"
	".tw{overflow:visible}}\n"
	"@page{size:A4;margin:12mm}\n";

static void page_open(struct hw *w, const char *title)
{
	hw_puts(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		   "<meta charset=\"utf-8\">\n"
		   "<meta name=\"viewport\" content=\"width=device-width, "
		   "initial-scale=1\">\n"
		   /* Nothing is to be fetched or run, whatever a value holds. */
		   "<meta http-equiv=\"Content-Security-Policy\" content=\""
		   "default-src 'none'; style-src 'unsafe-inline'; "
		   "base-uri 'none'; form-action 'none'\">\n"
		   "<meta name=\"referrer\" content=\"no-referrer\">\n"
		   "<meta name=\"generator\" content=\"bulkreg " BULKREG_VERSION
		   "\">\n<title>");
	hw_text(w, title);
	hw_puts(w, "</title>\n<style>\n");
	hw_puts(w, page_style);
	hw_puts(w, "</style>\n</head>\n<body>\n");
}

static void page_close(struct hw *w)
{
	hw_puts(w, "<footer><p class=\"muted\">Written by bulkreg " BULKREG_VERSION
		   ".</p></footer>\n</body>\n</html>\n");
}

/* ---- the fill chart --------------------------------------------------------- */

static void bar_rect(struct hw *w, double x, double width, const char *fill)
{
	if (width <= 0)
		return;
	hw_printf(w, "<rect x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"18\" "
		     "fill=\"%s\"/>", x, width, fill);
}

/* One bar of `scale` slots: `held`, then `added`, then free; what passes
 * `limit` (-1: none) drawn red over them, and a mark at the limit. */
static void bar(struct hw *w, const char *label, int64_t held, int64_t added,
		int64_t limit, int64_t scale, const char *held_fill,
		const char *added_fill, const char *free_fill)
{
	double unit = 1000.0 / (double)(scale > 0 ? scale : 1);
	hw_puts(w, "<svg viewBox=\"0 0 1000 18\" preserveAspectRatio=\"none\" "
		   "role=\"img\" aria-label=\"");
	hw_esc(w, label, strlen(label), false);
	hw_puts(w, "\">");
	int64_t taken = held + added;
	bar_rect(w, 0, 1000, free_fill);
	bar_rect(w, 0, (double)held * unit, held_fill);
	bar_rect(w, (double)held * unit, (double)added * unit, added_fill);
	if (taken > limit && limit >= 0)
		hw_printf(w, "<rect x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"18\" "
			     "fill=\"#cf222e\" fill-opacity=\"0.85\"/>",
			  (double)limit * unit, (double)(taken - limit) * unit);
	if (limit > 0 && limit < scale)
		hw_printf(w, "<rect x=\"%.2f\" y=\"0\" width=\"3\" height=\"18\" "
			     "fill=\"#1b1f24\"/>", (double)limit * unit - 1.5);
	hw_puts(w, "</svg>\n");
}

static void course_card(struct hw *w, const struct course *c,
			const struct course_tally *t)
{
	char a[32], b[32], wmax[32], label[COURSE_CODE_MAX + 160];
	int64_t added = t ? t->seats_added : 0;
	int64_t wadded = t ? t->waitlist_added : 0;
	if (added > c->registered)
		added = c->registered; /* later drops took some back */
	if (wadded > c->waitlisted)
		wadded = c->waitlisted;
	int64_t over = c->registered > c->capacity ? c->registered - c->capacity : 0;
	bool unlimited = c->waitlist_max == WAITLIST_UNLIMITED;
	if (unlimited)
		snprintf(wmax, sizeof(wmax), "unlimited");
	else
		snprintf(wmax, sizeof(wmax), "%" PRId64, c->waitlist_max);

	hw_puts(w, "<div class=\"course\" data-course=\"");
	hw_esc(w, c->code, strlen(c->code), false);
	hw_printf(w, "\" data-capacity=\"%" PRId64 "\" data-registered=\"%" PRId64
		     "\" data-added=\"%" PRId64 "\" data-waitlisted=\"%" PRId64
		     "\" data-waitlist-max=\"%s\" data-waitlist-added=\"%" PRId64
		     "\" data-over=\"%" PRId64 "\">\n<div class=\"head\">"
		     "<span class=\"code\">",
		  c->capacity, c->registered, added, c->waitlisted, wmax, wadded,
		  over);
	hw_text(w, c->code);
	hw_puts(w, "</span>");
	if (c->title && c->title[0]) {
		hw_puts(w, "<span class=\"title\">");
		hw_text(w, c->title);
		hw_puts(w, "</span>");
	}
	hw_puts(w, "</div>\n");

	int n = snprintf(label, sizeof(label), "%s: %" PRId64 " of %" PRId64
			 " seats taken", c->code, c->registered, c->capacity);
	if (t && n > 0 && (size_t)n < sizeof(label))
		snprintf(label + n, sizeof(label) - (size_t)n,
			 ", %" PRId64 " by this batch", added);
	int64_t scale = c->registered > c->capacity ? c->registered : c->capacity;
	bar(w, label, c->registered - added, added, c->capacity, scale,
	    "#4a6fa5", "#2da44e", "#e8ecf0");
	hw_printf(w, "<p><span class=\"num\">%s</span> of %s seats taken",
		  text_group_digits(c->registered, a), text_group_digits(c->capacity, b));
	if (t)
		hw_printf(w, " (%s by this batch)", text_group_digits(added, a));
	if (over)
		hw_printf(w, "; <span class=\"over\">%s over capacity</span>",
			  text_group_digits(over, a));
	else
		hw_printf(w, "; %s free", text_group_digits(c->capacity - c->registered, a));
	if (t && t->dropped)
		hw_printf(w, "; %s dropped", text_group_digits(t->dropped, a));
	hw_puts(w, "</p>\n");

	if (c->waitlist_max == 0 && c->waitlisted == 0 &&
	    !(t && t->waitlist_dropped)) {
		hw_puts(w, "<p class=\"muted\">No waitlist.</p>\n");
	} else {
		int64_t wscale = unlimited ? (c->waitlisted > 0 ? c->waitlisted : 1) :
			c->waitlisted > c->waitlist_max ? c->waitlisted :
							  c->waitlist_max;
		snprintf(label, sizeof(label), "%s: waitlist %" PRId64 " of %s",
			 c->code, c->waitlisted, wmax);
		bar(w, label, c->waitlisted - wadded, wadded,
		    unlimited ? -1 : c->waitlist_max, wscale, "#bf8700", "#e3b341",
		    "#f3ead2");
		hw_printf(w, "<p>Waitlist <span class=\"num\">%s</span> of %s",
			  text_group_digits(c->waitlisted, a),
			  unlimited ? "unlimited" : text_group_digits(c->waitlist_max, b));
		if (t)
			hw_printf(w, " (%s by this batch)", text_group_digits(wadded, a));
		if (t && t->waitlist_dropped)
			hw_printf(w, "; %s dropped",
				  text_group_digits(t->waitlist_dropped, a));
		hw_puts(w, "</p>\n");
	}
	hw_puts(w, "</div>\n");
}

static void legend_item(struct hw *w, const char *fill, const char *what)
{
	hw_printf(w, "<span><i style=\"background:%s\"></i>%s</span>", fill, what);
}

/* The colours of the bars; a batch's page tells its own seats apart. */
static void chart_legend(struct hw *w, bool batch)
{
	hw_puts(w, "<div class=\"legend\" aria-hidden=\"true\">");
	legend_item(w, "#4a6fa5", batch ? "seats taken before" : "seats taken");
	if (batch)
		legend_item(w, "#2da44e", "taken by this batch");
	legend_item(w, "#e8ecf0", "seats free");
	legend_item(w, "#cf222e", "over capacity");
	legend_item(w, "#bf8700", batch ? "waitlisted before" : "waitlisted");
	if (batch)
		legend_item(w, "#e3b341", "waitlisted by this batch");
	legend_item(w, "#f3ead2", "waitlist places free");
	hw_puts(w, "</div>\n");
}

/* The courses the batch named (h) or changed, or every course (no h). */
static void course_chart(struct hw *w, const struct course_table *t,
			 const struct report_html *h)
{
	size_t shown = 0;
	hw_puts(w, "<section id=\"courses\">\n<h2>Courses</h2>\n");
	if (t) {
		for (size_t i = 0; i < t->count; i++) {
			const struct course *c = &t->items[i];
			const struct course_tally *ct = tally_find(h, c->code);
			if (h && !ct && !c->touched)
				continue;
			if (shown++ == 0) {
				chart_legend(w, h != NULL);
				hw_puts(w, "<div class=\"courses\">\n");
			}
			course_card(w, c, h ? ct : NULL);
		}
	}
	if (shown)
		hw_puts(w, "</div>\n");
	else
		hw_puts(w, h ? "<p class=\"muted\">No course was named by this "
			       "batch.</p>\n" :
			       "<p class=\"muted\">No courses yet: add one with "
			       "'bulkreg course add CODE --capacity N'.</p>\n");
	hw_puts(w, "</section>\n");
}

/* ---- the summary -------------------------------------------------------------- */

static const char *plural(int64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static const struct outcome_counts no_counts;

static void summary(struct hw *w, const struct report_summary *s)
{
	const struct outcome_counts *c = s->counts ? s->counts : &no_counts;
	const char *outcome = batch_outcome_name(s->outcome);
	char a[32];

	hw_printf(w, "<header>\n<h1 class=\"outcome-%s\" data-batch=\"%" PRId64
		     "\" data-outcome=\"%s\">", outcome, s->batch_id, outcome);
	switch (s->outcome) {
	case BATCH_COMMITTED:
		hw_printf(w, "Batch %" PRId64 " committed", s->batch_id);
		break;
	case BATCH_DRY_RUN:
		hw_printf(w, "Batch %" PRId64 " was a dry run: nothing was "
			     "committed", s->batch_id);
		break;
	case BATCH_ROLLED_BACK:
		hw_printf(w, "Batch %" PRId64 " was rolled back: nothing was "
			     "committed", s->batch_id);
		break;
	}
	hw_puts(w, "</h1>\n<p>");
	if (s->undo_of) {
		/* An undo reads no rows: it says what it changed, as the
		 * text report does (review 13, C2). */
		int64_t changed = outcome_counts_changed(c);
		if (s->outcome == BATCH_COMMITTED)
			hw_printf(w, "Undid batch %" PRId64 ": %s %s changed in "
				     "%.2f s.</p>\n<dl class=\"meta\">",
				  s->undo_of, text_group_digits(changed, a),
				  plural(changed, "registration", "registrations"),
				  s->elapsed_seconds);
		else
			hw_printf(w, "Undoing batch %" PRId64 " would change %s %s "
				     "(in %.2f s).</p>\n<dl class=\"meta\">",
				  s->undo_of, text_group_digits(changed, a),
				  plural(changed, "registration", "registrations"),
				  s->elapsed_seconds);
	} else {
		hw_printf(w, "%s %s", text_group_digits(c->rows, a),
			  plural(c->rows, "row", "rows"));
		if (s->source) {
			hw_puts(w, " from <strong>");
			hw_text(w, report_source_words(s->source));
			hw_puts(w, "</strong>");
		}
		hw_printf(w, " in %.2f s", s->elapsed_seconds);
		if (s->elapsed_seconds > 0 && isfinite(s->elapsed_seconds)) {
			double per_s = (double)c->rows / s->elapsed_seconds;
			hw_printf(w, " (%s rows/s)",
				  text_group_digits(per_s < 9e18 ?
							      (int64_t)(per_s + 0.5) :
							      0,
						      a));
		}
		hw_printf(w, ", %zu %s.</p>\n<dl class=\"meta\">", s->workers,
			  plural((int64_t)s->workers, "worker", "workers"));
	}
	if (s->label) {
		hw_puts(w, "<dt>Label</dt><dd>");
		hw_text(w, s->label);
		hw_puts(w, "</dd>");
	}
	if (s->rolled_back_why) {
		hw_puts(w, s->outcome == BATCH_DRY_RUN ?
				   "<dt>A real run</dt><dd>would be rolled back: " :
				   "<dt>Rolled back by</dt><dd>");
		hw_text(w, s->rolled_back_why);
		hw_puts(w, "</dd>");
	}
	if (s->profile && strcmp(s->profile, "bulkreg") != 0) {
		hw_puts(w, "<dt>Read as</dt><dd>");
		hw_text(w, s->profile);
		hw_puts(w, " export</dd>");
	}
	if (s->sha256) {
		hw_puts(w, "<dt>SHA-256</dt><dd><code>");
		hw_text(w, s->sha256);
		hw_puts(w, "</code></dd>");
	}
	if (s->checks > 0)
		hw_printf(w, "<dt>Checks</dt><dd>%" PRId64 " run, median %.3f s, "
			     "slowest %.3f s</dd>",
			  s->checks, s->check_median_seconds, s->check_max_seconds);
	char nothing[256];
	hw_puts(w, "</dl>\n");
	if (report_nothing_changed_words(s, nothing, sizeof(nothing))) {
		hw_puts(w, "<p class=\"nothing\">");
		hw_text(w, nothing);
		hw_puts(w, "</p>\n");
	}
	hw_puts(w, "</header>\n");

	hw_puts(w, "<section id=\"summary\">\n<h2>Summary</h2>\n"
		   "<table class=\"counts\" id=\"counts\">\n<tbody>\n");
	if (!s->undo_of) /* it reads no rows */
		hw_printf(w, "<tr data-count=\"rows\"><th>rows</th><td "
			     "class=\"num\">%s</td></tr>\n",
			  text_group_digits(c->rows, a));
	/* The statuses this kind of batch is about, and those that occurred
	 * (as the text summary gives them). */
	const int *order = report_status_order(s);
	for (int i = 0; i < STATUS_COUNT - 1; i++) {
		int st = order[i];
		if (!report_shows_status(s, st))
			continue;
		const char *name = row_status_name(st);
		hw_printf(w, "<tr data-status=\"%s\"><th>%s</th><td class=\"num\">"
			     "%s</td></tr>\n", name, name,
			  text_group_digits(c->by_status[st], a));
		/* Under each of skipped and rejected, the reasons of its rows,
		 * as the text summary has them (review 23 F03). */
		for (int rs = REASON_NONE + 1; rs < REASON_COUNT; rs++) {
			int64_t n = st == STATUS_SKIPPED ? c->skipped_by_reason[rs] :
				    st == STATUS_REJECTED ?
						c->by_reason[rs] - c->skipped_by_reason[rs] :
						0;
			if (n)
				hw_printf(w, "<tr class=\"sub\" data-reason=\"%s\" "
					     "data-of=\"%s\"><th>%s</th><td "
					     "class=\"num\">%s</td></tr>\n",
					  row_reason_name(rs), name,
					  row_reason_name(rs),
					  text_group_digits(n, a));
		}
	}
	if (c->students_changed)
		hw_printf(w, "<tr data-count=\"students_changed\"><th>known "
			     "students changed</th><td class=\"num\">%s</td></tr>\n",
			  text_group_digits(c->students_changed, a));
	hw_puts(w, "</tbody>\n</table>\n</section>\n");
}

/* ---- the lists ---------------------------------------------------------------- */

struct reading {
	FILE *spool;
	off_t start;
	int err;
};

static bool spool_read(struct reading *rd, void *dst, size_t n)
{
	if (n == 0 || fread(dst, 1, n, rd->spool) == n)
		return true;
	if (ferror(rd->spool))
		rd->err = errno ? errno : EIO;
	return false;
}

static bool rewind_spool(struct reading *rd)
{
	if (fseeko(rd->spool, rd->start, SEEK_SET) == 0)
		return true;
	rd->err = errno;
	return false;
}

/* The next record: false at the end or on an error (rd->err). */
static bool next_record(struct reading *rd, struct html_record *rec,
			char cells[REPORT_HTML_RECORD_MAX])
{
	if (!spool_read(rd, rec, sizeof(*rec)))
		return false;
	size_t n = (size_t)rec->student_len + rec->course_len + rec->detail_len;
	if (n > REPORT_HTML_RECORD_MAX) {
		rd->err = EIO;
		return false;
	}
	return spool_read(rd, cells, n);
}

static void cell(struct hw *w, const char *label, const char *cls,
		 const char *s, size_t len)
{
	hw_printf(w, "<td data-label=\"%s\"%s%s%s>", label, cls ? " class=\"" : "",
		  cls ? cls : "", cls ? "\"" : "");
	hw_esc(w, s, len, true);
	hw_puts(w, "</td>");
}

/* The first n-byte needle in s[from, len), or len. */
static size_t find_in(const char *s, size_t len, size_t from, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = from; i + n <= len; i++)
		if (memcmp(s + i, needle, n) == 0)
			return i;
	return len;
}

/* A known student's change ("first_name: OLD \u2192 NEW; email: ...", as
 * policy.c writes it) with each value in its own <bdi>: two right-to-left
 * values and the arrow between them would otherwise make one run drawn
 * right to left, the arrow pointing from the new value to the old one
 * (review 23 F04).  Anything else is written as it is. */
static void detail_cell(struct hw *w, const char *s, size_t len)
{
	static const char *const field[] = { "first_name: ", "last_name: ",
					      "email: " };
	static const char *const next[] = { "; first_name: ", "; last_name: ",
					     "; email: " };
	static const char arrow[] = " \u2192 ";
	size_t at = 0;
	int f = 0; /* the fields come in this order, each at most once */
	hw_puts(w, "<td data-label=\"Detail\">");
	while (at < len) {
		while (f < 3 && find_in(s, len, at, field[f]) != at)
			f++;
		size_t a = f < 3 ? find_in(s, len, at, arrow) : len;
		if (a == len)
			break;
		size_t old = at + strlen(field[f]);
		size_t now = a + strlen(arrow), end = len;
		for (int g = f + 1; g < 3 && end == len; g++)
			end = find_in(s, len, now, next[g]);
		hw_esc(w, s + at, old - at, true);
		hw_puts(w, "<bdi>");
		hw_esc(w, s + old, a - old, true);
		hw_puts(w, "</bdi>");
		hw_esc(w, s + a, now - a, true);
		hw_puts(w, "<bdi>");
		hw_esc(w, s + now, end - now, true);
		hw_puts(w, "</bdi>");
		if (end < len) {
			hw_puts(w, "; ");
			end += 2;
		}
		at = end;
		f++;
	}
	hw_esc(w, s + at, len - at, true);
	hw_puts(w, "</td>");
}

static void table_head(struct hw *w, bool all)
{
	/* Minimum widths: every group's table lines up with the others unless
	 * a token is longer than usual. */
	hw_puts(w, "<div class=\"tw\"><table class=\"rows\">\n<colgroup><col class=\"w-line\">"
		   "<col class=\"w-id\"><col class=\"w-id\"><col class=\"w-status\">");
	if (all)
		hw_puts(w, "<col class=\"w-pos\"><col class=\"w-reason\">");
	hw_puts(w, "<col></colgroup>\n<thead><tr><th class=\"num\">Line</th>"
		   "<th>Student</th><th>Course</th><th>Status</th>");
	if (all)
		hw_puts(w, "<th class=\"num\" title=\"waitlist position\">Pos.</th>"
			   "<th>Reason</th>");
	hw_puts(w, "<th>Detail</th></tr></thead>\n<tbody>\n");
}

static void table_row(struct hw *w, const struct html_record *rec,
		      const char *cells, bool all)
{
	const char *student = cells, *course = cells + rec->student_len;
	const char *detail = course + rec->course_len;
	const char *status = row_status_name(rec->status);
	char num[32] = "";

	hw_printf(w, "<tr class=\"st-%s\">", status);
	if (rec->line)
		snprintf(num, sizeof(num), "%" PRIu64, rec->line);
	cell(w, "Line", "num tok", num, strlen(num));
	cell(w, "Student", "tok", student, rec->student_len);
	cell(w, "Course", "tok", course, rec->course_len);
	cell(w, "Status", "status tok", status, strlen(status));
	if (all) {
		num[0] = '\0';
		if (rec->position)
			snprintf(num, sizeof(num), "%" PRId64, rec->position);
		cell(w, "Position", "num tok", num, strlen(num));
		const char *reason = rec->reason ? row_reason_name(rec->reason) : "";
		cell(w, "Reason", "tok", reason, strlen(reason));
	}
	detail_cell(w, detail, rec->detail_len);
	hw_puts(w, "</tr>\n");
}

static void more_note(struct hw *w, uint64_t listed, uint64_t total,
		      const char *what)
{
	char a[32], b[32];
	if (listed >= total)
		return;
	hw_printf(w, "<p class=\"note\" data-listed=\"%" PRIu64 "\" data-total=\""
		     "%" PRIu64 "\">This page lists the first %s of the %s %s; "
		     "the csv report (<code>--format csv</code>) has them all.</p>\n",
		  listed, total, text_group_digits((int64_t)listed, a),
		  text_group_digits((int64_t)total, b), what);
}

/* The rejected and skipped rows, one table per reason. */
static void problem_lists(struct hw *w, struct report_html *h,
			  const struct report_summary *s, struct reading *rd)
{
	const struct outcome_counts *c = s->counts ? s->counts : &no_counts;
	struct html_record rec;
	char cells[REPORT_HTML_RECORD_MAX];
	char a[32];

	hw_puts(w, "<section id=\"problems\">\n<h2>Rejected and skipped rows</h2>\n");
	if (h->problems == 0)
		hw_puts(w, "<p>No row was rejected or skipped.</p>\n");
	more_note(w, h->problems_listed, h->problems, "rejected and skipped rows");
	for (int rs = REASON_NONE + 1; rs < REASON_COUNT && w->err == 0; rs++) {
		if (c->by_reason[rs] == 0)
			continue;
		const char *name = row_reason_name(rs);
		hw_printf(w, "<section class=\"group\" data-reason=\"%s\">\n<h3>%s "
			     "<span class=\"count\" data-count=\"%" PRId64 "\">(%s)"
			     "</span></h3>\n",
			  name, name, c->by_reason[rs],
			  text_group_digits(c->by_reason[rs], a));
		table_head(w, false);
		if (!rewind_spool(rd))
			return;
		while (w->err == 0 && next_record(rd, &rec, cells))
			if (rec.in_problems && rec.reason == rs)
				table_row(w, &rec, cells, false);
		if (rd->err)
			return;
		hw_puts(w, "</tbody>\n</table></div>\n</section>\n");
	}
	hw_puts(w, "</section>\n");
}

/* When the every-row list stops short of the batch, its drops and
 * promotions (a sync's come after the last row) are listed here. */
static void change_list(struct hw *w, struct report_html *h,
			struct reading *rd)
{
	struct html_record rec;
	char cells[REPORT_HTML_RECORD_MAX];
	char a[32], b[32];

	if (h->listed >= h->rows || h->changes == 0)
		return;
	hw_printf(w, "<section id=\"changes\">\n<h2>Dropped and promoted rows "
		     "<span class=\"count\" data-count=\"%" PRIu64 "\">(%s)"
		     "</span></h2>\n<p class=\"muted\">The list of every row "
		     "stops at %s rows; these are the batch's drops and "
		     "promotions, wherever they are.</p>\n",
		  h->changes, text_group_digits((int64_t)h->changes, a),
		  text_group_digits(REPORT_HTML_ROWS_MAX, b));
	more_note(w, h->changes_listed, h->changes, "dropped and promoted rows");
	table_head(w, true);
	if (!rewind_spool(rd))
		return;
	while (w->err == 0 && next_record(rd, &rec, cells))
		if (rec.in_changes)
			table_row(w, &rec, cells, true);
	hw_puts(w, "</tbody>\n</table></div>\n</section>\n");
}

static void all_rows(struct hw *w, struct report_html *h, struct reading *rd)
{
	struct html_record rec;
	char cells[REPORT_HTML_RECORD_MAX];

	hw_puts(w, "<section id=\"rows\">\n<h2>Every row</h2>\n");
	more_note(w, h->listed, h->rows, "rows of the report");
	if (h->rows == 0) {
		hw_puts(w, "<p>No rows.</p>\n</section>\n");
		return;
	}
	table_head(w, true);
	if (!rewind_spool(rd))
		return;
	while (w->err == 0 && next_record(rd, &rec, cells))
		if (rec.in_all)
			table_row(w, &rec, cells, true);
	hw_puts(w, "</tbody>\n</table></div>\n</section>\n");
}

void report_html_write(struct report_html *h, const struct report_summary *s,
		       FILE *spool, report_html_sink sink, void *ctx,
		       int *out_errno, int *spool_errno)
{
	struct hw *w = malloc(sizeof(*w));
	struct reading rd = { spool, ftello(spool), 0 };
	char title[128];

	*out_errno = *spool_errno = 0;
	if (!w) {
		*out_errno = ENOMEM;
		return;
	}
	w->len = 0;
	w->sink = sink;
	w->ctx = ctx;
	w->err = 0;
	snprintf(title, sizeof(title), "bulkreg: batch %" PRId64 " (%s)",
		 s->batch_id, batch_outcome_words(s->outcome));
	page_open(w, title);
	summary(w, s);
	course_chart(w, s->courses, h);
	if (rd.start < 0)
		rd.err = errno;
	if (!rd.err)
		problem_lists(w, h, s, &rd);
	if (!rd.err)
		change_list(w, h, &rd);
	if (!rd.err)
		all_rows(w, h, &rd);
	page_close(w);
	hw_flush(w);
	*out_errno = w->err;
	*spool_errno = rd.err;
	free(w);
}

/* ---- course list ---------------------------------------------------------------- */

static int file_sink(void *ctx, const char *p, size_t n)
{
	errno = 0;
	if (fwrite(p, 1, n, ctx) != n) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

int report_html_courses(const struct course_table *t, FILE *out)
{
	struct hw *w = malloc(sizeof(*w));
	char a[32];
	if (!w) {
		errno = ENOMEM;
		return -1;
	}
	w->len = 0;
	w->sink = file_sink;
	w->ctx = out;
	w->err = 0;
	page_open(w, "bulkreg: courses");
	hw_printf(w, "<header>\n<h1>Courses</h1>\n<p>%s %s.</p>\n</header>\n",
		  text_group_digits((int64_t)t->count, a),
		  plural((int64_t)t->count, "course", "courses"));
	course_chart(w, t, NULL);
	if (t->count) {
		hw_puts(w, "<section id=\"list\">\n<h2>Numbers</h2>\n"
			   "<div class=\"tw\"><table class=\"rows\">\n<thead><tr><th>Code</th>"
			   "<th>Title</th><th class=\"num\">Capacity</th>"
			   "<th class=\"num\">Waitlist</th><th class=\"num\">"
			   "Registered</th><th class=\"num\">Waitlisted</th>"
			   "<th class=\"num\">Seats left</th><th class=\"num\">"
			   "Over</th></tr></thead>\n<tbody>\n");
		for (size_t i = 0; i < t->count; i++) {
			const struct course *c = &t->items[i];
			char n[6][32];
			int64_t left = c->registered < c->capacity ?
					       c->capacity - c->registered : 0;
			int64_t over = c->registered > c->capacity ?
					       c->registered - c->capacity : 0;
			snprintf(n[0], 32, "%" PRId64, c->capacity);
			if (c->waitlist_max == WAITLIST_UNLIMITED)
				snprintf(n[1], 32, "unlimited");
			else
				snprintf(n[1], 32, "%" PRId64, c->waitlist_max);
			snprintf(n[2], 32, "%" PRId64, c->registered);
			snprintf(n[3], 32, "%" PRId64, c->waitlisted);
			snprintf(n[4], 32, "%" PRId64, left);
			snprintf(n[5], 32, "%" PRId64, over);
			static const char *const labels[6] = {
				"Capacity", "Waitlist", "Registered",
				"Waitlisted", "Seats left", "Over",
			};
			hw_puts(w, "<tr>");
			cell(w, "Code", "tok", c->code, strlen(c->code));
			cell(w, "Title", NULL, c->title, strlen(c->title));
			for (int k = 0; k < 6; k++)
				cell(w, labels[k], "num tok", n[k], strlen(n[k]));
			hw_puts(w, "</tr>\n");
		}
		hw_puts(w, "</tbody>\n</table></div>\n</section>\n");
	}
	page_close(w);
	hw_flush(w);
	int e = w->err;
	free(w);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}
