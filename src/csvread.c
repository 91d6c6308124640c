/* csvread: libcsv set up for bulkreg's input files; see csvread.h. */
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csvread.h"
#include "escape.h"
#include "splitmix.h"
#include "utf8.h"

_Static_assert(CSVREAD_BUF_SIZE >= 8, "the first read looks at 4 bytes");

#define CSV_OPTIONS (CSV_STRICT | CSV_REPALL_NL | CSV_STRICT_FINI | CSV_APPEND_NULL)

/* libcsv 3.0.3's parser states (libcsv.c; struct csv_parser is public, its
 * state names are not).  Strict mode stops at a quote it does not like
 * with the state saved and the byte not consumed, so the reader can decide
 * what the quote means and go on: see recover(). */
#define LIBCSV_FIELD_BEGUN 2
#define LIBCSV_FIELD_MIGHT_HAVE_ENDED 3

#define GUESS_WINDOW 4096 /* bytes looked at to guess an encoding */

/*
 * libcsv's entry buffer may hold a field, its closing quote and the NUL
 * CSV_APPEND_NULL adds; it also asks for one more byte before it looks at
 * the character that ends the field.  Past this, bounded_realloc refuses.
 */
#define ENTRY_LIMIT ((size_t)CSVREAD_FIELD_MAX + 3)

/* An entry buffer bigger than this is released between records, so one
 * huge field does not pin its memory for the rest of the file. */
#define ENTRY_KEEP ((size_t)1 << 20)

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

/* What the raw bytes of a legacy --encoding look like (watch_raw). */
enum watch { WATCH_OFF, WATCH_ASCII, WATCH_UTF8 };

static bool legacy_encoding(iconv_t cd);
static enum status prefill_raw(struct csvread *cr, struct error *err);
static bool is_latin1(iconv_t cd);

static void *bounded_realloc(void *p, size_t n)
{
	if (n > ENTRY_LIMIT)
		return NULL;
	return realloc(p, n);
}

/* With a tab delimiter only ' ' may be dropped around fields, or libcsv
 * would eat the tabs of empty fields. */
static int space_only(unsigned char c)
{
	return c == ' ';
}

static bool is_blank_byte(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* strerror text with a lowercase first letter, to follow "path: ". */
static const char *errno_text(int errnum, char *buf, size_t cap)
{
	if (strerror_r(errnum, buf, cap) != 0)
		snprintf(buf, cap, "error %d", errnum);
	if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/* ---- handing fields and records to the client ---------------------------- */

#define HEAD_NAME_MAX 64           /* bytes of a header name kept */
#define HEAD_MAX ((size_t)16 << 10) /* bytes of header names kept */

/* Keeps a field of the first record, the header, for messages (its first
 * HEAD_NAME_MAX bytes; the names past HEAD_MAX bytes in all are not). */
static void keep_name(struct csvread *cr, const unsigned char *s, size_t len)
{
	if (!cr->head) {
		cr->head = malloc(HEAD_MAX);
		if (!cr->head)
			return; /* messages give the number alone */
	}
	size_t keep = len < HEAD_NAME_MAX ? len : HEAD_NAME_MAX;
	if (cr->head_count != cr->nfields || cr->head_used + keep + 1 > HEAD_MAX)
		return;
	memcpy(cr->head + cr->head_used, s, keep);
	cr->head[cr->head_used + keep] = '\0';
	cr->head_used += keep + 1;
	cr->head_count++;
}

static void emit_field(struct csvread *cr, const unsigned char *s, size_t len)
{
	/* libcsv's bounded buffer stops most fields past the cap; this is the
	 * exact bound (an unquoted field may get a byte or two further). */
	if (len > CSVREAD_FIELD_MAX || cr->too_long) {
		if (!cr->too_long)
			cr->too_long_field = cr->nfields;
		cr->too_long = true;
		return;
	}
	cr->untrimmed = s;
	cr->untrimmed_len = len;
	while (len > 0 && is_blank_byte(s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_blank_byte(s[len - 1]))
		len--;
	/* A DOS end-of-file mark (^Z, 0x1A) that old exporters append after
	 * the last line is not a row: a record of nothing else is blank. */
	size_t eof_marks = 0;
	while (eof_marks < len && s[eof_marks] == 0x1A)
		eof_marks++;
	if (len > eof_marks)
		cr->all_empty = false;
	if (!cr->head_done)
		keep_name(cr, s, len);
	cr->on_field(cr->ctx, cr->nfields, s, len);
	cr->nfields++;
}

static void emit_record(struct csvread *cr)
{
	bool blank = cr->nfields == 0 || cr->all_empty;
	if (!cr->head_done) {
		/* Blank lines before the header are skipped. */
		cr->head_done = !blank;
		if (blank)
			cr->head_used = cr->head_count = 0;
	}
	if (!cr->too_long &&
	    cr->on_record(cr->ctx, cr->nfields, blank, cr->record_line))
		cr->stop = true;
	cr->nfields = 0;
	cr->all_empty = true;
	cr->malformed = false;
	cr->row_ended = true;
}

static void field_cb(void *s, size_t len, void *ctx)
{
	emit_field(ctx, s, len);
}

static void record_cb(int c, void *ctx)
{
	(void)c;
	emit_record(ctx);
}

/* A complete line holding no quote character: split it on the delimiter.
 * Without quotes libcsv cannot fail and yields exactly these fields. */
static void split_line(struct csvread *cr, const unsigned char *s, size_t len)
{
	const unsigned char *end = s + len;
	for (;;) {
		const unsigned char *d = memchr(s, cr->delim, (size_t)(end - s));
		if (!d) {
			emit_field(cr, s, (size_t)(end - s));
			break;
		}
		emit_field(cr, s, (size_t)(d - s));
		s = d + 1;
	}
	emit_record(cr);
}

/* ---- reading ------------------------------------------------------------- */

static enum status read_some(struct csvread *cr, unsigned char *dst, size_t cap,
			     size_t *got, struct error *err)
{
	for (;;) {
		/* Asked before every read, not only on EINTR: a read that never
		 * blocks (a file, a fast pipe) is never interrupted, and one
		 * record can be endless (a line of delimiters). */
		if (cr->cancelled && cr->cancelled(cr->cancel_ctx))
			return error_set(err, ST_CANCELLED, "%s: interrupted", cr->name);
		ssize_t n = read(cr->fd, dst, cap);
		if (n >= 0) {
			*got = (size_t)n;
			return ST_OK;
		}
		if (errno != EINTR) {
			char why[128];
			return error_set(err, ST_IO, "%s: read error: %s", cr->name,
					 errno_text(errno, why, sizeof(why)));
		}
	}
}

static size_t find_byte(const struct csvread *cr, unsigned char c)
{
	const unsigned char *p = memchr(cr->buf + cr->pos, c, cr->end - cr->pos);
	return p ? (size_t)(p - cr->buf) : cr->end;
}

/* ---- what the file is -------------------------------------------------- */

/* The byte order marks of UTF-16 and UTF-32 (a spreadsheet's "Unicode
 * text"), each with the encoding iconv reads it as.  UTF-32LE's begins
 * with UTF-16LE's, so it comes first. */
static const struct {
	const char *name;
	unsigned char mark[4];
	size_t len;
} other_boms[] = {
	{"UTF-32LE", {0xFF, 0xFE, 0x00, 0x00}, 4},
	{"UTF-32BE", {0x00, 0x00, 0xFE, 0xFF}, 4},
	{"UTF-16LE", {0xFF, 0xFE}, 2},
	{"UTF-16BE", {0xFE, 0xFF}, 2},
};

static const unsigned char ZIP[4] = {'P', 'K', 3, 4};

static unsigned le16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

/* A zip archive that is an office document: an .xlsx has a member
 * "[Content_Types].xml" first (or its _rels/, docProps/, xl/ parts), an
 * .ods a member "mimetype".  Looked for in the first member's header and
 * name. */
static bool office_zip(const unsigned char *s, size_t n)
{
	static const char *const marks[] = {"[Content_Types].xml", "mimetype",
					    "_rels/", "docProps/", "xl/"};
	size_t look = n < 30 + 64 ? n : 30 + 64;
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		size_t len = strlen(marks[i]);
		for (size_t at = 0; at + len <= look; at++)
			if (memcmp(s + at, marks[i], len) == 0)
				return true;
	}
	return false;
}

/* "enrollments.csv, users.csv, ...": the .csv members of a zip archive
 * whose local headers are in s[0..n), walked from the first. */
static void zip_csv_members(const unsigned char *s, size_t n, char *out,
			    size_t cap)
{
	size_t at = 0, used = 0, listed = 0, more = 0;
	out[0] = '\0';
	while (at + 30 <= n && memcmp(s + at, ZIP, 4) == 0) {
		size_t name_len = le16(s + at + 26), extra = le16(s + at + 28);
		uint32_t size = le32(s + at + 18);
		const char *name = (const char *)s + at + 30;
		if (at + 30 + name_len > n)
			break;
		if (name_len > 4 && name_len < 80 &&
		    strncasecmp(name + name_len - 4, ".csv", 4) == 0) {
			if (listed < 8 && used < cap) {
				used += (size_t)snprintf(out + used, cap - used, "%s",
							 listed ? ", " : "");
				if (used < cap)
					esc_quote(out, cap, &used, name, name_len, 80);
				listed++;
			} else {
				more++;
			}
		}
		if ((le16(s + at + 6) & 8) && size == 0)
			break; /* the size comes after the data: cannot skip it */
		at += 30 + name_len + extra + size;
	}
	if (more > 0 && used < cap)
		snprintf(out + used, cap - used, " and %zu more", more);
}

/* Markup where CSV was expected: many "Excel" exports of a student
 * information system are an HTML table saved as .xls, or Excel 2003's XML
 * spreadsheet.  Told by the first tag, after a byte order mark and white
 * space (a header cell does not begin with one of these); false for
 * anything else. */
static bool markup_kind(const unsigned char *s, size_t n, const char **what,
			const char **advice)
{
	static const char *const html[] = {"<!doctype html", "<html", "<head",
					   "<body", "<table", "<meta", "<style",
					   "<title", "<!--"};
	static const char save[] = "open it in a spreadsheet program and save "
				   "it as CSV UTF-8 (comma delimited)";
	size_t at = 0;
	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		at = 3;
	while (at < n && (s[at] == ' ' || s[at] == '\t' || s[at] == '\r' ||
			  s[at] == '\n'))
		at++;
	for (size_t i = 0; i < sizeof(html) / sizeof(html[0]); i++) {
		size_t len = strlen(html[i]);
		if (n - at >= len && strncasecmp((const char *)s + at, html[i],
						 len) == 0) {
			*what = "an HTML page (a web table saved as .xls?)";
			*advice = save;
			return true;
		}
	}
	if (n - at < 5 || strncasecmp((const char *)s + at, "<?xml", 5) != 0)
		return false;
	static const char excel[] = "urn:schemas-microsoft-com:office:spreadsheet";
	*what = "an XML document";
	*advice = "bulkreg reads CSV: export the file as CSV instead";
	for (size_t i = at; i + sizeof(excel) - 1 <= n; i++)
		if (memcmp(s + i, excel, sizeof(excel) - 1) == 0) {
			*what = "a spreadsheet (Excel 2003 XML)";
			*advice = save;
			break;
		}
	return true;
}

/* Files that are not text: a zip archive (an export's bundle of CSV files,
 * or a spreadsheet: .xlsx, .ods), an OLE2 compound file (.xls), or
 * markup (markup_kind). */
static enum status check_spreadsheet(struct csvread *cr, struct error *err)
{
	static const unsigned char ole[4] = {0xD0, 0xCF, 0x11, 0xE0};
	const char *what = NULL,
		   *advice = "open it in the spreadsheet program and save it "
			     "as CSV UTF-8 (comma delimited)";
	if (cr->end >= 4 && memcmp(cr->buf, ZIP, 4) == 0 &&
	    !office_zip(cr->buf, cr->end)) {
		char members[400];
		zip_csv_members(cr->buf, cr->end, members, sizeof(members));
		return error_set(err, ST_INPUT,
				 "%s: this is a zip archive%s%s%s, not CSV text: "
				 "unzip it and pass %s",
				 cr->name, members[0] ? " (holding " : "", members,
				 members[0] ? ")" : "", cr->archive_advice);
	}
	if (cr->end >= 4 && memcmp(cr->buf, ZIP, 4) == 0)
		what = "a spreadsheet (.xlsx or .ods: a zip archive)";
	else if (cr->end >= 4 && memcmp(cr->buf, ole, 4) == 0)
		what = "a spreadsheet (.xls: an Excel workbook)";
	else if (!markup_kind(cr->buf, cr->end, &what, &advice))
		return ST_OK;
	return error_set(err, ST_INPUT, "%s: this is %s, not CSV text: %s",
			 cr->name, what, advice);
}

static bool same_encoding(const char *a, const char *b)
{
	return a && strncasecmp(a, b, 6) == 0; /* "UTF-16", "UTF-32" */
}

static bool names_utf8(const char *encoding)
{
	return strcasecmp(encoding, "UTF-8") == 0 || strcasecmp(encoding, "UTF8") == 0;
}

static enum status open_converter(struct csvread *cr, const char *encoding,
				  struct error *err)
{
	if (cr->cd != (iconv_t)-1)
		iconv_close(cr->cd);
	cr->cd = iconv_open("UTF-8", encoding);
	if (cr->cd == (iconv_t)-1) {
		if (errno == ENOMEM)
			return error_set(err, ST_NOMEM, "out of memory");
		return error_set(err, ST_USAGE,
				 "%s: '%s' is not an encoding this system "
				 "knows (iconv -l lists them)",
				 cr->encoding_option, encoding);
	}
	return ST_OK;
}

/* The file is read as `name` (NULL: UTF-8, no converter); the encoding set
 * before, if another, is kept in bom_overrode for csvread_bom_note. */
static enum status bom_encoding(struct csvread *cr, const char *name,
				struct error *err)
{
	char *copy = name ? strdup(name) : NULL;
	if (name && !copy)
		return error_set(err, ST_NOMEM, "out of memory");
	if (cr->encoding && !same_encoding(cr->encoding, name ? name : "UTF-8")) {
		free(cr->bom_overrode);
		cr->bom_overrode = cr->encoding;
	} else {
		free(cr->encoding);
	}
	cr->encoding = copy;
	if (name)
		return open_converter(cr, name, err);
	if (cr->cd != (iconv_t)-1)
		iconv_close(cr->cd);
	cr->cd = (iconv_t)-1;
	return ST_OK;
}

/*
 * The first bytes: a spreadsheet is refused; a UTF-8 BOM is skipped; a
 * UTF-16 or UTF-32 one is skipped and chooses the encoding.  A byte order
 * mark wins over the encoding set (--encoding is often given for the other
 * file of a pair, or for yesterday's export): the file says what it is.
 * When converting, the bytes move to the raw buffer.
 */
static enum status sniff(struct csvread *cr, struct error *err)
{
	enum status st = check_spreadsheet(cr, err);
	size_t skip = 0;
	if (st != ST_OK)
		return st;
	cr->sniffed = true;
	if (cr->end >= sizeof(BOM) && memcmp(cr->buf, BOM, sizeof(BOM)) == 0) {
		skip = sizeof(BOM);
		if (cr->encoding && (st = bom_encoding(cr, NULL, err)) != ST_OK)
			return st;
	} else {
		for (size_t i = 0; i < sizeof(other_boms) / sizeof(other_boms[0]); i++) {
			if (cr->end < other_boms[i].len ||
			    memcmp(cr->buf, other_boms[i].mark, other_boms[i].len) != 0)
				continue;
			if ((st = bom_encoding(cr, other_boms[i].name, err)) != ST_OK)
				return st;
			skip = other_boms[i].len;
			break;
		}
	}
	cr->bom = skip > 0;
	cr->bom_len = skip;
	if (cr->cd == (iconv_t)-1) {
		cr->pos = skip;
		return ST_OK;
	}
	cr->raw = malloc(CSVREAD_BUF_SIZE);
	if (!cr->raw)
		return error_set(err, ST_NOMEM, "%s: out of memory", cr->name);
	cr->raw_end = cr->end - skip;
	memcpy(cr->raw, cr->buf + skip, cr->raw_end);
	cr->raw_pos = 0;
	cr->raw_eof = cr->eof;
	cr->pos = cr->end = 0;
	cr->eof = false;
	if (!legacy_encoding(cr->cd))
		return ST_OK;
	cr->latin1 = is_latin1(cr->cd);
	cr->c1_line = 1;
	cr->watch = WATCH_ASCII;
	utf8_state_init(&cr->watch_st);
	cr->watch_line = 1;
	return prefill_raw(cr, err);
}

/* ---- not UTF-8: where, and what it probably is ---------------------------- */

/* Line breaks in s[0..n), a CRLF counted once; `prev` is the byte before. */
static uint64_t count_breaks(const unsigned char *s, size_t n,
			     unsigned char prev)
{
	uint64_t lines = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char before = i > 0 ? s[i - 1] : prev;
		if (s[i] == '\r' || (s[i] == '\n' && before != '\r'))
			lines++;
	}
	return lines;
}

/* Characters in s[0..n) (bytes that do not continue a UTF-8 sequence). */
static uint64_t count_chars(const unsigned char *s, size_t n)
{
	uint64_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += (s[i] & 0xC0) != 0x80;
	return k;
}

/* The offset just past the last line break in s[0..n), or 0 if none. */
static size_t line_start(const unsigned char *s, size_t n)
{
	while (n > 0 && s[n - 1] != '\n' && s[n - 1] != '\r')
		n--;
	return n;
}

static bool ascii_lower(unsigned char c)
{
	return c >= 'a' && c <= 'z';
}

static bool ascii_letter(unsigned char c)
{
	return ascii_lower(c) || (c >= 'A' && c <= 'Z');
}

/* Bytes that are lowercase letters in MacRoman (a..u with accents, ae, o
 * slash, sharp s, oe) and in Windows-1252 (0xDF..0xFF but the division
 * sign). */
static bool mac_lower(unsigned char c)
{
	return (c >= 0x87 && c <= 0x9F) || c == 0xA7 || c == 0xBE || c == 0xBF ||
	       c == 0xCF;
}

static bool cp1252_lower(unsigned char c)
{
	return c >= 0xDF && c != 0xF7;
}

/* Unassigned in Windows-1252, letters in MacRoman. */
static bool cp1252_hole(unsigned char c)
{
	return c == 0x81 || c == 0x8D || c == 0x8F || c == 0x90 || c == 0x9D;
}

/*
 * The encoding bytes that are not UTF-8 most likely come from, looking at
 * s[0..n) (from the first bad byte on), or NULL for no guess.  NULs at
 * every other byte are UTF-16 (which half says the byte order).  Else the
 * bytes after a lowercase ASCII letter vote: names hold lowercase accented
 * letters, which MacRoman puts at 0x87..0x9F (where Windows-1252 has
 * quotes and dashes) and Windows-1252 and ISO-8859-1 at 0xDF..0xFF (where
 * MacRoman has symbols and capitals).  Windows-1252's opening quotes after
 * something other than a letter, and its apostrophe before a capital
 * (O'Neil), vote for it.  A tie is Windows-1252, by far the more common.
 */
/* Lowercase accented letters of the OEM code pages CP850 and CP437
 * (Excel's "CSV (MS-DOS)"): u-umlaut..c-cedilla at 0x81..0x8D, ae 0x91,
 * o-circumflex..y-umlaut 0x93..0x98, a/i/o/u-acute and n-tilde 0xA0..0xA4. */
static bool oem_lower(unsigned char c)
{
	return (c >= 0x81 && c <= 0x8D) || c == 0x91 || (c >= 0x93 && c <= 0x98) ||
	       (c >= 0xA0 && c <= 0xA4);
}

/* True if s[0..n) converts from `enc` without an error (a sequence cut by
 * the end counts as converting). */
static bool converts_from(const char *enc, const unsigned char *s, size_t n)
{
	iconv_t cd = iconv_open("UTF-8", enc);
	if (cd == (iconv_t)-1)
		return false;
	char out[1024];
	char *ip = (char *)(uintptr_t)s;
	size_t il = n;
	bool ok = true;
	while (il > 0) {
		char *op = out;
		size_t ol = sizeof(out);
		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 && errno != E2BIG) {
			ok = errno == EINVAL; /* cut at the end */
			break;
		}
	}
	iconv_close(cd);
	return ok;
}

/*
 * The encoding bytes that are not UTF-8 most likely come from, looking at
 * s[0..n) (from the first bad byte on), or NULL for no guess; several
 * names joined by ", " and " or " when the bytes fit them alike (the
 * caller then says it cannot tell).  NULs at every other byte are UTF-16
 * (which half says the byte order).  Pairs of bytes over 0x80 with no
 * accented letter inside a Latin word are a double-byte (CJK) encoding:
 * each of SHIFT_JIS, GBK, BIG5, EUC-KR and EUC-JP that reads the bytes
 * is a candidate.  Else the bytes after a lowercase ASCII letter vote:
 * names hold lowercase accented letters, which MacRoman puts at
 * 0x87..0x9F (where Windows-1252 has quotes and dashes), the OEM code
 * pages CP850/CP437 at 0x81..0xA4, and Windows-1252 and ISO-8859-1 at
 * 0xDF..0xFF (where MacRoman has symbols and capitals).  Windows-1252's
 * opening quotes after something other than a letter, and its apostrophe
 * before a capital (O'Neil), vote for it.  MacRoman and the OEM pages
 * share many bytes: when they tie, CRLF line ends (MS-DOS) say CP850,
 * CR alone (a Mac) MacRoman, else both are named.  A tie with
 * Windows-1252 is Windows-1252, by far the more common.
 */
static char guess_list[96];

static const char *guess_encoding(const unsigned char *s, size_t from,
				  size_t n, uint64_t abs_offset)
{
	size_t nul_even = 0, nul_odd = 0, mac = 0, cp = 0, oem = 0;
	size_t high_pairs = 0, in_word = 0, crlf = 0, cr_alone = 0;
	size_t pair_end = SIZE_MAX; /* the trail byte of the last pair */
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r')
			(i + 1 < n && s[i + 1] == '\n' ? &crlf : &cr_alone)[0]++;
	for (size_t i = from; i < n;) {
		uint32_t ch;
		size_t k = utf8_decode(s + i, n - i, &ch);
		if (k > 0 && ch != 0) {
			i += k;
			continue;
		}
		unsigned char c = s[i];
		unsigned char prev = i > 0 ? s[i - 1] : ' ';
		unsigned char next = i + 1 < n ? s[i + 1] : ' ';
		bool after_lower = ascii_lower(prev);
		bool trail_before = i >= from + 2 && s[i - 2] >= 0x81 &&
				    s[i - 1] >= 0x40 && s[i - 1] < 0x80 && pair_end == i - 1;
		if (c >= 0x81 && c != 0xFF && i + 1 < n &&
		    (next >= 0x80 || (next >= 0x40 && next != 0x7F &&
				      (c <= 0x9F || (c >= 0xE0 && c <= 0xEF)))) &&
		    (!ascii_letter(prev) || trail_before)) {
			high_pairs++;
			pair_end = i + 1;
		} else if (c >= 0x80 && ascii_letter(prev) && !trail_before &&
			   pair_end != i) {
			in_word++;
		}
		if (c == 0)
			((abs_offset + i) % 2 ? &nul_odd : &nul_even)[0]++;
		else if (cp1252_hole(c))
			mac += 10, oem += 10; /* letters in both */
		else if ((c == 0x91 || c == 0x93) && !ascii_letter(prev))
			cp++; /* an opening quote */
		else if (c == 0x92 && ascii_letter(prev) && next >= 'A' && next <= 'Z')
			cp++; /* O'Neil, D'Angelo */
		else if (after_lower && (mac_lower(c) || oem_lower(c)))
			mac += mac_lower(c), oem += oem_lower(c);
		else if (after_lower && cp1252_lower(c))
			cp++;
		i++;
	}
	if (nul_odd + nul_even >= 4) {
		if (nul_odd > 4 * nul_even)
			return "UTF-16LE";
		if (nul_even > 4 * nul_odd)
			return "UTF-16BE";
		return NULL;
	}
	if (nul_odd + nul_even > 0)
		return NULL;
	if (high_pairs >= 2 && high_pairs > 2 * in_word) {
		static const char *const cjk[] = {"SHIFT_JIS", "GBK", "BIG5",
						  "EUC-KR", "EUC-JP"};
		const char *fit[5];
		size_t nfit = 0;
		for (size_t j = 0; j < 5; j++)
			if (converts_from(cjk[j], s + from, n - from))
				fit[nfit++] = cjk[j];
		if (nfit == 1)
			return fit[0];
		if (nfit > 1) {
			size_t used = 0;
			guess_list[0] = '\0';
			for (size_t j = 0; j < nfit; j++)
				used += (size_t)snprintf(guess_list + used,
							 sizeof(guess_list) - used,
							 "%s%s", j == 0 ? "" :
							 j + 1 == nfit ? " or " : ", ",
							 fit[j]);
			return guess_list;
		}
	}
	size_t best = mac > oem ? mac : oem;
	if (best <= cp)
		return "WINDOWS-1252";
	if (mac != oem)
		return mac > oem ? "MACINTOSH" : "CP850";
	/* MacRoman or an OEM page alike: the line ends decide. */
	if (crlf > cr_alone)
		return "CP850";
	if (cr_alone > crlf)
		return "MACINTOSH";
	return "CP850 or MACINTOSH";
}

/* The line and column (in characters) of buf[at], in the text not yet
 * parsed (buf[pos..end), where at >= pos). */
static void text_position(const struct csvread *cr, size_t at, uint64_t *line,
			  uint64_t *col)
{
	const unsigned char *s = cr->buf;
	size_t from = line_start(s + cr->pos, at - cr->pos) + cr->pos;
	*line = cr->line + count_breaks(s + cr->pos, at - cr->pos, cr->prev);
	*col = count_chars(s + from, at - from) + 1;
	if (from == cr->pos)
		*col += cr->col_carry;
}

/* The bytes at s[0..n) that are not UTF-8 (from `bad` on): refused, naming
 * the line and column (in characters), showing up to four bytes and
 * saying what the file most likely is. */
static enum status not_utf8(struct csvread *cr, size_t bad, struct error *err)
{
	const unsigned char *s = cr->buf;
	uint64_t line, col;
	text_position(cr, bad, &line, &col);

	char shown[32];
	size_t used = 0, nshow = cr->end - bad < 4 ? cr->end - bad : 4;
	for (size_t i = 0; i < nshow; i++)
		used += (size_t)snprintf(shown + used, sizeof(shown) - used, "%s%02X",
					 i ? " " : "", s[bad + i]);
	size_t window = cr->end - bad < GUESS_WINDOW ? cr->end - bad : GUESS_WINDOW;
	uint64_t abs_offset = cr->bytes - (cr->end - bad);
	const char *guess = cr->cd == (iconv_t)-1 ?
				    guess_encoding(s, bad, bad + window, abs_offset - bad) :
				    NULL;
	const char *what = s[bad] == 0 ? "a NUL byte" : "not valid UTF-8";
	if (cr->cd != (iconv_t)-1)
		return error_set(err, ST_INPUT,
				 "%s: line %llu, column %llu: %s after converting "
				 "from %s (bytes %s): is that the file's encoding? "
				 "(%s NAME sets this file's)",
				 cr->name, (unsigned long long)line,
				 (unsigned long long)col, what, cr->encoding, shown,
				 cr->encoding_option);
	if (!guess)
		return error_set(err, ST_INPUT,
				 "%s: line %llu, column %llu: %s (bytes %s): a roster "
				 "is UTF-8 text; %s",
				 cr->name, (unsigned long long)line,
				 (unsigned long long)col, what, shown, cr->nothing_done);
	if (strstr(guess, " or "))
		return error_set(err, ST_INPUT,
				 "%s: line %llu, column %llu: %s (bytes %s): the "
				 "file's bytes fit %s alike, and which one cannot be "
				 "told from them; %s: rerun with %s set to the one "
				 "the export was written in",
				 cr->name, (unsigned long long)line,
				 (unsigned long long)col, what, shown, guess,
				 cr->nothing_done, cr->encoding_option);
	return error_set(err, ST_INPUT,
			 "%s: line %llu, column %llu: %s (bytes %s): the file "
			 "is most likely %s; %s: rerun with %s %s",
			 cr->name, (unsigned long long)line, (unsigned long long)col,
			 what, shown, guess, cr->nothing_done, cr->encoding_option,
			 guess);
}

/*
 * Checks the text just read, buf[pos..end): UTF-8 and no NUL.  A sequence
 * cut by the end of the buffer is held back for the next fill (or refused
 * at the end of the input).
 */
static enum status check_text(struct csvread *cr, struct error *err)
{
	size_t bad;
	const unsigned char *s = cr->buf;
	if (utf8_valid(s + cr->pos, cr->end - cr->pos, &bad))
		return ST_OK;
	bad += cr->pos;
	if (!cr->eof && cr->end - bad < 4) {
		struct utf8_state st;
		utf8_state_init(&st);
		utf8_state_feed(&st, s + bad, cr->end - bad);
		if (!st.bad) { /* unfinished, not wrong */
			cr->ncarry = cr->end - bad;
			memcpy(cr->carry, s + bad, cr->ncarry);
			cr->end = bad;
			return ST_OK;
		}
	}
	return not_utf8(cr, bad, err);
}

/* Characters of the line the next buffer continues, counted before the
 * parsed buffer is overwritten. */
static void carry_column(struct csvread *cr)
{
	size_t from = line_start(cr->buf, cr->end);
	if (from == 0)
		cr->col_carry += count_chars(cr->buf, cr->end);
	else
		cr->col_carry = count_chars(cr->buf + from, cr->end - from);
}

/* ---- a file that is already UTF-8, read with --encoding --------------------- */

/*
 * A UTF-8 file read with --encoding WINDOWS-1252 (or any legacy, ASCII-based
 * encoding) converts without an error into garbage: "Zoë" becomes "ZoÃ«".
 * That is the user who converted a file and runs the same command again.
 * So the raw bytes are watched as they are read: the file counts as UTF-8
 * when it holds at least one non-ASCII byte and every run of them, to the
 * end of the file, is well-formed multi-byte UTF-8.  Text in a legacy
 * encoding almost never is: an accented letter followed by a plain one
 * (the é of "José", E9 73) is not UTF-8, and one such run anywhere ends
 * the watch, as does a well-formed pair of no roster's characters (see
 * implausible_pair).  The verdict needs the whole file: a file that fits in the
 * first buffer (64 KiB) is read whole before any record is handed over,
 * so it is refused before anything is decided; a longer one is refused
 * when its end is read, and the caller's batch rolls back.
 */
/* True if iconv turns the n bytes at `in` into the same bytes. */
static bool converts_to_itself(iconv_t cd, const char *in, size_t n)
{
	char copy[8], out[32];
	char *ip = copy, *op = out;
	size_t il = n, ol = sizeof(out);
	memcpy(copy, in, n);
	size_t rc = iconv(cd, &ip, &il, &op, &ol);
	iconv(cd, NULL, NULL, NULL, NULL); /* back to the initial state */
	return rc != (size_t)-1 && il == 0 && (size_t)(op - out) == n &&
	       memcmp(out, in, n) == 0;
}

/* A legacy encoding: ASCII read as ASCII (not UTF-16 or UTF-32), and
 * UTF-8's "é" (C3 A9) read as something else (not UTF-8 itself). */
static bool legacy_encoding(iconv_t cd)
{
	return converts_to_itself(cd, "id,A\r\n", 6) &&
	       !converts_to_itself(cd, "\xC3\xA9", 2);
}

/* ISO-8859-1 under any of its names: bytes 80..FF are U+0080..U+00FF. */
static bool is_latin1(iconv_t cd)
{
	char in[128], out[256], want[256];
	for (int i = 0; i < 128; i++) {
		in[i] = (char)(0x80 + i);
		want[2 * i] = (char)(0xC2 + (i >= 0x40));
		want[2 * i + 1] = (char)(0x80 + (i & 0x3F));
	}
	char *ip = in, *op = out;
	size_t il = sizeof(in), ol = sizeof(out);
	size_t rc = iconv(cd, &ip, &il, &op, &ol);
	iconv(cd, NULL, NULL, NULL, NULL); /* back to the initial state */
	return rc != (size_t)-1 && il == 0 && ol == 0 &&
	       memcmp(out, want, sizeof(want)) == 0;
}

/*
 * Windows-1252 is ISO-8859-1 but for 80..9F, where it has printable
 * characters (the ’ of "O’Brien", €, –) and ISO-8859-1 has C1 controls,
 * which no roster holds.  So a file named ISO-8859-1 with such a byte is
 * Windows-1252 ("ANSI"), and reading it as ISO-8859-1 would reject its
 * rows one by one: the whole file is refused, as a file that is already
 * UTF-8 is (before anything is decided when it is in the first 64 KiB;
 * else the caller's batch rolls back).  81, 8D, 8F, 90 and 9D are
 * Windows-1252's holes: left to the rows' own checks.
 */
static const char *const cp1252_c1[32] = {
	"\u20AC", NULL, "\u201A", "\u0192", "\u201E", "\u2026", "\u2020",
	"\u2021", "\u02C6", "\u2030", "\u0160", "\u2039", "\u0152", NULL,
	"\u017D", NULL, NULL, "\u2018", "\u2019", "\u201C", "\u201D",
	"\u2022", "\u2013", "\u2014", "\u02DC", "\u2122", "\u0161",
	"\u203A", "\u0153", NULL, "\u017E", "\u0178",
};

/* Notes the first such byte in raw bytes s[0..n), as they are read. */
static void watch_c1(struct csvread *cr, const unsigned char *s, size_t n)
{
	if (!cr->latin1 || cr->c1_byte || n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0x9F || !cp1252_c1[s[i] - 0x80])
			continue;
		uint64_t line = cr->c1_line + count_breaks(s, i, cr->c1_prev);
		size_t from = line_start(s, i);
		cr->c1_col = from > 0 || line != cr->c1_line ? i - from
							   : cr->c1_col + i;
		cr->c1_line = line;
		cr->c1_byte = s[i];
		return;
	}
	uint64_t breaks = count_breaks(s, n, cr->c1_prev);
	size_t from = line_start(s, n);
	cr->c1_col = from > 0 || breaks ? n - from : cr->c1_col + n;
	cr->c1_line += breaks;
	cr->c1_prev = s[n - 1];
}

static bool watch_utf8_so_far(const struct csvread *cr);

/* The refusal, once the file is known not to be UTF-8 (a UTF-8 file read
 * as ISO-8859-1 has such bytes too, and is refused as UTF-8). */
static enum status c1_refusal(struct csvread *cr, struct error *err)
{
	if (!cr->c1_byte || watch_utf8_so_far(cr))
		return ST_OK;
	unsigned char c = cr->c1_byte;
	return error_set(err, ST_INPUT,
			 "%s: line %llu, column %llu: byte %02X is a control "
			 "character (U+%04X) in %s, which no roster holds; in "
			 "WINDOWS-1252 it is '%s': the file is most likely "
			 "WINDOWS-1252 (\"ANSI\", which reads ISO-8859-1 text "
			 "the same); %s: rerun with %s WINDOWS-1252",
			 cr->name, (unsigned long long)cr->c1_line,
			 (unsigned long long)cr->c1_col + 1, c, c, cr->encoding,
			 cp1252_c1[c - 0x80], cr->nothing_done,
			 cr->encoding_option);
}

/* The bytes of the UTF-8 sequence that lead byte c begins (1: not one). */
static size_t lead_length(unsigned char c)
{
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	return 1;
}

/*
 * Well-formed is not enough: a few accented capitals of a legacy text
 * followed by a symbol form valid two-byte UTF-8 ("RENÉ" and a no-break
 * space, C9 A0), but of characters no roster holds -- C1 controls
 * (U+0080-U+009F) or IPA and modifier letters (U+0250-U+02FF).  One such
 * character says the file is not UTF-8.  (Combining marks are left out:
 * decomposed UTF-8 has them.)
 */
static bool implausible_pair(unsigned char lead, unsigned char next)
{
	if (next < 0x80 || next > 0xBF)
		return false; /* not a pair: the validator judges it */
	uint32_t cp = ((uint32_t)(lead & 0x1F) << 6) | (next & 0x3F);
	return (lead >= 0xC2 && lead <= 0xDF) &&
	       ((cp >= 0x80 && cp <= 0x9F) || (cp >= 0x250 && cp <= 0x2FF));
}

static bool implausible_text(struct csvread *cr, const unsigned char *s,
			     size_t n)
{
	if (n == 0)
		return false;
	if (cr->watch_lead && implausible_pair(cr->watch_lead, s[0]))
		return true;
	for (size_t k = 0; k + 1 < n; k++)
		if (s[k] >= 0xC2 && s[k] <= 0xCB && implausible_pair(s[k], s[k + 1]))
			return true;
	cr->watch_lead = s[n - 1] >= 0xC2 && s[n - 1] <= 0xCB ? s[n - 1] : 0;
	return false;
}

/* Looks at raw bytes s[0..n), as they are read (before conversion). */
static void watch_raw(struct csvread *cr, const unsigned char *s, size_t n)
{
	if (cr->watch == WATCH_ASCII) {
		size_t i = 0;
		while (i < n && s[i] < 0x80)
			i++;
		/* Before the first non-ASCII byte a character is a byte. */
		size_t from = line_start(s, i);
		cr->watch_line += count_breaks(s, i, cr->watch_prev);
		cr->watch_col = from > 0 ? i - from : cr->watch_col + i;
		if (i > 0)
			cr->watch_prev = s[i - 1];
		if (i == n)
			return;
		cr->watch = WATCH_UTF8;
		cr->watch_want = lead_length(s[i]);
		s += i;
		n -= i;
	}
	if (cr->watch != WATCH_UTF8)
		return;
	for (size_t k = 0; k < n && cr->watch_nseq < cr->watch_want; k++)
		cr->watch_seq[cr->watch_nseq++] = s[k];
	utf8_state_feed(&cr->watch_st, s, n);
	if (cr->watch_st.bad || implausible_text(cr, s, n))
		cr->watch = WATCH_OFF;
}

/* Every non-ASCII byte read so far is UTF-8, and there was one. */
static bool watch_utf8_so_far(const struct csvread *cr)
{
	return cr->watch == WATCH_UTF8 && !cr->watch_st.bad;
}

/* "bytes C3 AB ('ë', U+00EB) at line 3, column 4", the first non-ASCII
 * character of the raw input, appended to out[*used]. */
static void watch_describe(const struct csvread *cr, char *out, size_t cap,
			   size_t *used)
{
	uint32_t cp = 0;
	size_t n = utf8_decode(cr->watch_seq, cr->watch_nseq, &cp);
	for (size_t i = 0; i < cr->watch_nseq && *used < cap; i++)
		*used += (size_t)snprintf(out + *used, cap - *used, "%s%02X",
					  i ? " " : "bytes ", cr->watch_seq[i]);
	if (n > 0 && *used + 2 < cap) {
		*used += (size_t)snprintf(out + *used, cap - *used, " (");
		esc_quote(out, cap, used, (const char *)cr->watch_seq, n, 8);
		if (*used < cap)
			*used += (size_t)snprintf(out + *used, cap - *used,
						  ", U+%04lX)", (unsigned long)cp);
	}
	if (*used < cap)
		*used += (size_t)snprintf(out + *used, cap - *used,
					  " at line %llu, column %llu",
					  (unsigned long long)cr->watch_line,
					  (unsigned long long)cr->watch_col + 1);
	if (*used > cap - 1)
		*used = cap - 1;
}

/* The refusal: where the first UTF-8 character is, what it would become. */
static enum status already_utf8(struct csvread *cr, struct error *err)
{
	char msg[ERROR_MAX], garbled[64];
	size_t used = (size_t)snprintf(msg, sizeof(msg), "%s: line %llu, column "
				       "%llu: ", cr->name,
				       (unsigned long long)cr->watch_line,
				       (unsigned long long)cr->watch_col + 1);
	if (used >= sizeof(msg))
		used = sizeof(msg) - 1; /* a very long name, cut */
	size_t before = used;
	watch_describe(cr, msg, sizeof(msg), &used);
	/* The place is said first: drop watch_describe's " at line ...". */
	char *at = strstr(msg + before, " at line ");
	if (at)
		used = (size_t)(at - msg);
	msg[used] = '\0';

	/* What the character becomes when read as the encoding given. */
	char in[4], *ip = in, *op = garbled;
	size_t il = cr->watch_nseq, ol = sizeof(garbled) - 1;
	memcpy(in, cr->watch_seq, cr->watch_nseq);
	iconv(cr->cd, NULL, NULL, NULL, NULL);
	size_t rc = iconv(cr->cd, &ip, &il, &op, &ol);
	if (rc != (size_t)-1 && il == 0 && op > garbled) {
		used += (size_t)snprintf(msg + used, sizeof(msg) - used,
					 " would be stored as ");
		if (used < sizeof(msg))
			esc_quote(msg, sizeof(msg), &used, garbled,
				  (size_t)(op - garbled), 16);
	}
	return error_set(err, ST_INPUT,
			 "%s: every non-ASCII byte of the file is UTF-8, not %s; "
			 "%s: the file is already UTF-8: %s",
			 msg, cr->encoding, cr->nothing_done, cr->utf8_advice);
}

/* Reads raw bytes into raw[raw_end..): *got 0 at the end of the input
 * (where a file that is already UTF-8 is refused). */
static enum status read_raw(struct csvread *cr, size_t *got, struct error *err)
{
	*got = 0;
	if (!cr->raw_eof) {
		enum status st = read_some(cr, cr->raw + cr->raw_end,
					   CSVREAD_BUF_SIZE - cr->raw_end, got, err);
		if (st != ST_OK)
			return st;
	}
	if (*got == 0) {
		cr->raw_eof = true;
		return watch_utf8_so_far(cr) && utf8_state_ok(&cr->watch_st) ?
			       already_utf8(cr, err) : ST_OK;
	}
	sha256_update(&cr->sha, *got, (const uint8_t *)cr->raw + cr->raw_end);
	watch_raw(cr, cr->raw + cr->raw_end, *got);
	watch_c1(cr, cr->raw + cr->raw_end, *got);
	enum status c1 = c1_refusal(cr, err);
	if (c1 != ST_OK)
		return c1;
	cr->bytes += *got;
	cr->raw_end += *got;
	return ST_OK;
}

/* With the watch on, the first buffer is filled to the brim (or to the end
 * of the input) before anything is converted: a short file is judged
 * whole before any of its records is handed over. */
static enum status prefill_raw(struct csvread *cr, struct error *err)
{
	watch_raw(cr, cr->raw, cr->raw_end);
	watch_c1(cr, cr->raw, cr->raw_end);
	enum status c1 = c1_refusal(cr, err);
	if (c1 != ST_OK)
		return c1;
	while ((cr->watch != WATCH_OFF || cr->latin1) && !cr->raw_eof &&
	       cr->raw_end < CSVREAD_BUF_SIZE) {
		size_t got;
		enum status st = read_raw(cr, &got, err);
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

/* ---- reading --------------------------------------------------------------- */

/* Reads into buf[end..) until `want` bytes are there or the input ends. */
static enum status read_plain(struct csvread *cr, size_t want,
			      struct error *err)
{
	while (cr->end < want) {
		size_t got = 0;
		enum status st = read_some(cr, cr->buf + cr->end,
					   CSVREAD_BUF_SIZE - cr->end, &got, err);
		if (st != ST_OK)
			return st;
		if (got == 0) {
			cr->eof = true;
			break;
		}
		sha256_update(&cr->sha, got, (const uint8_t *)cr->buf + cr->end);
		cr->bytes += got;
		cr->end += got;
	}
	return ST_OK;
}

/* Converts raw bytes into buf[end..) until some text is there or the input
 * ends; a byte sequence that is not `encoding` is refused. */
static enum status read_converted(struct csvread *cr, struct error *err)
{
	size_t start = cr->end;
	while (cr->end == start && !cr->eof) {
		if (cr->raw_pos < cr->raw_end) {
			char *in = (char *)cr->raw + cr->raw_pos;
			char *out = (char *)cr->buf + cr->end;
			size_t inleft = cr->raw_end - cr->raw_pos;
			size_t outleft = CSVREAD_BUF_SIZE - cr->end;
			size_t rc = iconv(cr->cd, &in, &inleft, &out, &outleft);
			int e = errno;
			cr->raw_pos = (size_t)((unsigned char *)in - cr->raw);
			cr->end = (size_t)((unsigned char *)out - cr->buf);
			if (rc != (size_t)-1 || e == E2BIG || cr->end > start)
				continue;
			if (e == EILSEQ) {
				uint64_t line, col;
				text_position(cr, cr->end, &line, &col);
				char hint[300];
				size_t used = 0;
				snprintf(hint, sizeof(hint),
					 "is that the file's encoding? (%s NAME sets "
					 "this file's)",
					 cr->encoding_option);
				if (watch_utf8_so_far(cr)) {
					/* UTF-8 that the encoding lacks a
					 * byte of (C3 81, "Á", in WINDOWS-1252). */
					used = (size_t)snprintf(hint, sizeof(hint),
								"every non-ASCII byte read is UTF-8 "
								"(the first: ");
					watch_describe(cr, hint, sizeof(hint), &used);
					snprintf(hint + used, sizeof(hint) - used,
						 "): the file is already UTF-8: %s",
						 cr->utf8_advice);
				}
				/* Everything before the byte was parsed: the
				 * field it is in is the record's next one. */
				char field[HEAD_NAME_MAX * 4 + 32];
				csvread_column_name(cr, cr->nfields, field, sizeof(field));
				return error_set(err, ST_INPUT,
						 "%s: line %llu, column %llu, field %s: byte "
						 "%02X (at byte %llu of the file) is not %s: %s",
						 cr->name, (unsigned long long)line,
						 (unsigned long long)col, field,
						 cr->raw[cr->raw_pos],
						 (unsigned long long)(cr->bytes - (cr->raw_end - cr->raw_pos) + 1),
						 cr->encoding, hint);
			}
			/* EINVAL: a character cut by the end of the raw
			 * bytes; read on after it. */
		}
		memmove(cr->raw, cr->raw + cr->raw_pos, cr->raw_end - cr->raw_pos);
		cr->raw_end -= cr->raw_pos;
		cr->raw_pos = 0;
		size_t got = 0;
		enum status st = read_raw(cr, &got, err);
		if (st != ST_OK)
			return st;
		if (got == 0) {
			cr->eof = true;
			if (cr->raw_end > 0)
				return error_set(err, ST_INPUT,
						 "%s: the file ends in the middle of a "
						 "%s character",
						 cr->name, cr->encoding);
			break;
		}
	}
	return ST_OK;
}

/*
 * Excel's first line "sep=;" names the delimiter: honoured (unless
 * delim_given: --delimiter wins, and csvread_sep_ignored says so), then
 * skipped like a blank line.  Also as a spreadsheet saves it again: in
 * quotes ("sep=;"), or padded with the delimiter to the header's width
 * (sep=;;;).
 */
static enum status check_sep_line(struct csvread *cr, struct error *err)
{
	const unsigned char *s = cr->buf + cr->pos;
	size_t n = cr->end - cr->pos;
	cr->sep_checked = true;
	bool quoted = n > 0 && s[0] == '"';
	size_t at = quoted ? 1 : 0; /* where "sep=" begins */
	if (n < at + 5 || strncasecmp((const char *)s + at, "sep=", 4) != 0)
		return ST_OK;
	unsigned char d = s[at + 4];
	size_t k = at + 5;
	if (quoted && (k >= n || s[k++] != '"'))
		return ST_OK;
	while (k < n && s[k] == d && d != '\r' && d != '\n')
		k++; /* padding */
	if (k < n && s[k] != '\r' && s[k] != '\n')
		return ST_OK; /* more than one character: a header, say */
	if (d != ',' && d != ';' && d != '\t' && d != '|')
		return error_set(err, ST_INPUT,
				 "%s: line 1: 'sep=' names a delimiter bulkreg does "
				 "not read (0x%02X): use ',', ';', tab or '|'",
				 cr->name, d);
	cr->sep_line = true;
	if (cr->delim_given && d != cr->delim) {
		cr->sep_ignored = d;
	} else {
		cr->delim = d;
		csv_set_delim(&cr->parser, d);
		csv_set_space_func(&cr->parser, d == '\t' ? space_only : NULL);
	}
	if (k < n && s[k] == '\r')
		k++;
	if (k < n && s[k] == '\n')
		k++;
	cr->pos += k;
	cr->line++;
	cr->prev = '\n';
	cr->record_line = cr->line;
	return ST_OK;
}

/* Refills the (fully parsed) buffer with text: read (and converted), and
 * checked as UTF-8.  The first fill looks at what the file is. */
static enum status fill(struct csvread *cr, struct error *err)
{
	enum status st;

	carry_column(cr);
	memcpy(cr->buf, cr->carry, cr->ncarry);
	cr->pos = 0;
	cr->end = cr->ncarry;
	cr->ncarry = 0;
	if (!cr->sniffed) {
		if ((st = read_plain(cr, 4, err)) != ST_OK ||
		    (st = sniff(cr, err)) != ST_OK)
			return st;
		if (cr->cd == (iconv_t)-1 && cr->end == cr->pos && !cr->eof)
			st = read_plain(cr, cr->pos + 1, err);
	} else if (cr->cd == (iconv_t)-1) {
		st = read_plain(cr, cr->end + 1, err);
	} else {
		st = ST_OK;
	}
	if (st == ST_OK && cr->cd != (iconv_t)-1)
		st = read_converted(cr, err);
	if (st == ST_OK)
		st = check_text(cr, err);
	if (st == ST_OK && !cr->sep_checked && cr->end > cr->pos)
		st = check_sep_line(cr, err);
	if (st != ST_OK)
		return st;
	cr->lf_at = find_byte(cr, '\n');
	cr->cr_at = find_byte(cr, '\r');
	return ST_OK;
}

/* ---- parsing --------------------------------------------------------------- */

/* A field longer than CSVREAD_FIELD_MAX.  A quoted one that has run on over
 * many lines is most likely a quote that was never closed: say so. */
static enum status too_long_error(struct csvread *cr, bool quoted,
				  struct error *err)
{
	char hint[160] = "";
	if (quoted && cr->line > cr->record_line + 1)
		snprintf(hint, sizeof(hint),
			 " (a quoted field that goes on to line %llu: is a "
			 "closing quote missing?)",
			 (unsigned long long)cr->line);
	/* Found by the field's end (too_long), or by libcsv while it is
	 * still read: then it comes after the record's nfields. */
	char col[300];
	return error_set(err, ST_INPUT,
			 "%s: line %llu, column %s: a field is longer than %u "
			 "MiB%s",
			 cr->name, (unsigned long long)cr->record_line,
			 csvread_column_name(cr, cr->too_long ? cr->too_long_field :
							       cr->nfields,
					     col, sizeof(col)),
			 CSVREAD_FIELD_MAX >> 20, hint);
}

static enum status parse_error(struct csvread *cr, struct error *err)
{
	struct csv_parser *p = &cr->parser;
	int code = csv_error(p);

	if (code == CSV_ENOMEM && csv_get_buffer_size(p) >= ENTRY_LIMIT)
		return too_long_error(cr, p->quoted != 0, err);
	if (code == CSV_ENOMEM)
		return error_set(err, ST_NOMEM, "%s: line %llu: out of memory",
				 cr->name, (unsigned long long)cr->record_line);
	return error_set(err, ST_INPUT, "%s: line %llu: malformed CSV (field %zu)",
			 cr->name, (unsigned long long)cr->record_line,
			 cr->nfields + 1);
}

/*
 * libcsv (strict) stopped before byte `c`, its state saved.  A quote inside
 * an unquoted field (O"Neil) is kept as a character, as spreadsheets and
 * Python's csv module keep it.  Text after a closing quote ("ab"c) makes
 * the record malformed; the field is then read on as an unquoted one, so
 * the record ends where the line does.  Returns the bytes consumed (0 or
 * 1), or -1 if the stop was something else.
 */
static int recover(struct csvread *cr, unsigned char c)
{
	struct csv_parser *p = &cr->parser;
	if (csv_error(p) != CSV_EPARSE)
		return -1;
	p->status = CSV_SUCCESS;
	if (p->pstate == LIBCSV_FIELD_BEGUN && !p->quoted) {
		/* libcsv checked the room for one more byte before this one. */
		p->entry_buf[p->entry_pos++] = c;
		p->spaces = 0;
		return 1;
	}
	if (p->pstate == LIBCSV_FIELD_MIGHT_HAVE_ENDED) {
		if (!cr->malformed)
			cr->malformed_field = cr->nfields;
		cr->malformed = true;
		p->entry_pos -= p->spaces + 1; /* the closing quote and spaces */
		p->spaces = 0;
		p->quoted = 0;
		p->pstate = LIBCSV_FIELD_BEGUN;
		return 0;
	}
	return -1;
}

/* Feeds s[0..len) to libcsv, going on past the quotes recover() accepts. */
static enum status parse_quoted(struct csvread *cr, const unsigned char *s,
				size_t len, struct error *err)
{
	size_t done = 0;
	/* Grow the entry buffer geometrically (libcsv adds blk_size). */
	size_t have = csv_get_buffer_size(&cr->parser);
	csv_set_blk_size(&cr->parser, have < 128 ? 128 : have);
	while (done < len) {
		done += csv_parse(&cr->parser, s + done, len - done, field_cb,
				  record_cb, cr);
		if (done == len)
			break;
		int k = recover(cr, s[done]);
		if (k < 0)
			return parse_error(cr, err);
		done += (size_t)k;
	}
	return ST_OK;
}

/* The next CR or LF at or after pos, or end. */
static size_t next_break(struct csvread *cr)
{
	if (cr->lf_at < cr->pos)
		cr->lf_at = find_byte(cr, '\n');
	if (cr->cr_at < cr->pos)
		cr->cr_at = find_byte(cr, '\r');
	return cr->lf_at < cr->cr_at ? cr->lf_at : cr->cr_at;
}

/*
 * Parses up to and including the next line break.  A record can only end
 * at a line break, so when one ends it ends this slice, and the line count
 * kept here (LF, CR and CRLF each end one line, quoted or not) tells where
 * the next one begins.
 */
static enum status parse_slice(struct csvread *cr, struct error *err)
{
	size_t brk = next_break(cr);
	size_t stop = brk < cr->end ? brk + 1 : cr->end;
	const unsigned char *s = cr->buf + cr->pos;
	size_t len = stop - cr->pos;

	cr->row_ended = false;
	if (brk < cr->end && cr->at_boundary && !cr->no_fast_path &&
	    !memchr(s, '"', len)) {
		split_line(cr, s, len - 1);
	} else {
		enum status st = parse_quoted(cr, s, len, err);
		if (st != ST_OK)
			return st;
	}
	if (cr->too_long)
		return too_long_error(cr, false, err);
	cr->pos = stop;

	unsigned char last = s[len - 1];
	unsigned char before = len >= 2 ? s[len - 2] : cr->prev;
	if (last == '\r' || (last == '\n' && before != '\r'))
		cr->line++;
	if (!cr->eol) {
		/* A CRLF comes as a slice ending in CR, then one that is LF. */
		if (last == '\n')
			cr->eol = before == '\r' ? "\r\n" : "\n";
		else if (cr->prev == '\r' && s[0] != '\n')
			cr->eol = "\r";
	}
	cr->prev = last;
	cr->at_boundary = cr->row_ended;
	if (cr->row_ended)
		cr->record_line = cr->line;
	return ST_OK;
}

static enum status finish(struct csvread *cr, struct error *err)
{
	cr->finished = true;
	int rc = csv_fini(&cr->parser, field_cb, record_cb, cr);
	if (cr->too_long)
		return too_long_error(cr, false, err);
	if (rc != 0)
		return error_set(err, ST_INPUT,
				 "%s: line %llu: unterminated quoted field (the "
				 "record starting on line %llu never ends)",
				 cr->name, (unsigned long long)cr->record_line,
				 (unsigned long long)cr->record_line);
	return ST_OK;
}

enum status csvread_next(struct csvread *cr, struct error *err)
{
	struct error local = {0};
	enum status st = ST_OK;

	if (cr->failed != ST_OK)
		return error_set(err, cr->failed, "%s", cr->failure);
	cr->stop = false;
	while (!cr->stop) {
		if (cr->pos < cr->end)
			st = parse_slice(cr, &local);
		else if (!cr->eof)
			st = fill(cr, &local);
		else if (!cr->finished)
			st = finish(cr, &local);
		else
			return ST_EOF;
		if (st != ST_OK) {
			/* libcsv cannot go on after an error, nor can a
			 * record count after a lost one. */
			cr->failed = st;
			memcpy(cr->failure, local.msg, sizeof(cr->failure));
			return error_set(err, st, "%s", local.msg);
		}
	}
	/* Between records libcsv holds nothing: the buffer may go.  (After a
	 * pause it may hold part of a field.) */
	if (cr->at_boundary && csv_get_buffer_size(&cr->parser) > ENTRY_KEEP)
		csv_free(&cr->parser);
	return ST_OK;
}

enum status csvread_set_encoding(struct csvread *cr, const char *encoding,
				 struct error *err)
{
	free(cr->encoding);
	cr->encoding = NULL;
	if (cr->cd != (iconv_t)-1)
		iconv_close(cr->cd);
	cr->cd = (iconv_t)-1;
	if (names_utf8(encoding))
		return ST_OK;
	cr->encoding = strdup(encoding);
	if (!cr->encoding)
		return error_set(err, ST_NOMEM, "out of memory");
	return open_converter(cr, encoding, err);
}

const char *csvread_encoding(const struct csvread *cr)
{
	return cr->encoding;
}

bool csvread_bom_note(const struct csvread *cr, char *buf, size_t cap)
{
	if (!cr->bom_overrode)
		return false;
	snprintf(buf, cap, "%s: read as %s, as its byte order mark says, not as %s",
		 cr->name, cr->encoding ? cr->encoding : "UTF-8", cr->bom_overrode);
	return true;
}

bool csvread_record_malformed(const struct csvread *cr)
{
	return cr->malformed;
}

size_t csvread_record_malformed_field(const struct csvread *cr)
{
	return cr->malformed_field;
}

const char *csvread_column_name(const struct csvread *cr, size_t index,
				char *buf, size_t cap)
{
	size_t used = (size_t)snprintf(buf, cap, "%zu", index + 1);
	const char *name = NULL;
	if (cr->head_done && index < cr->head_count) {
		name = cr->head;
		for (size_t i = 0; i < index; i++)
			name += strlen(name) + 1;
	}
	if (!name || !*name || used + 4 >= cap)
		return buf;
	used += (size_t)snprintf(buf + used, cap - used, " (");
	esc_quote(buf, cap, &used, name, strlen(name), HEAD_NAME_MAX);
	if (used + 1 < cap)
		snprintf(buf + used, cap - used, ")");
	return buf;
}

void csvread_pause(struct csvread *cr)
{
	cr->stop = true;
}

uint64_t csvread_record_line(const struct csvread *cr)
{
	return cr->record_line;
}

void csvread_field_untrimmed(const struct csvread *cr, const unsigned char **s,
			     size_t *len)
{
	*s = cr->untrimmed;
	*len = cr->untrimmed_len;
}

unsigned char csvread_delimiter(const struct csvread *cr)
{
	return cr->delim;
}

bool csvread_had_bom(const struct csvread *cr)
{
	return cr->bom;
}

unsigned char csvread_sep_ignored(const struct csvread *cr)
{
	return cr->sep_ignored;
}

bool csvread_had_sep_line(const struct csvread *cr)
{
	return cr->sep_line;
}

const char *csvread_line_end(const struct csvread *cr)
{
	if (cr->eol || cr->prev != '\r')
		return cr->eol;
	/* A record ends at a CR: whether an LF follows is in the next byte
	 * (past the end of the buffer, CRLF is the likely one). */
	if (cr->pos < cr->end)
		return cr->buf[cr->pos] == '\n' ? "\r\n" : "\r";
	return cr->eof ? "\r" : "\r\n";
}

/* ---- opening and closing --------------------------------------------------- */

static enum status open_fd(struct csvread *cr, const char *path,
			   struct error *err)
{
	char why[128];
	struct stat sb;

	if (strcmp(path, "-") == 0) {
		cr->fd = STDIN_FILENO;
		cr->own_fd = false;
	} else {
		cr->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (cr->fd < 0)
			return error_set(err, ST_INPUT, "%s: %s", path,
					 errno_text(errno, why, sizeof(why)));
		cr->own_fd = true;
	}
	if (fstat(cr->fd, &sb) != 0)
		return error_set(err, ST_INPUT, "%s: %s", cr->name,
				 errno_text(errno, why, sizeof(why)));
	if (S_ISDIR(sb.st_mode))
		return error_set(err, ST_INPUT, "%s: is a directory", cr->name);
	return ST_OK;
}

enum status csvread_open(struct csvread *cr, const char *path,
			 unsigned char delim, struct error *err)
{
	enum status st;

	memset(cr, 0, sizeof(*cr));
	cr->fd = -1;
	cr->cd = (iconv_t)-1;
	cr->all_empty = true;
	cr->delim = delim;
	cr->line = cr->record_line = 1;
	cr->at_boundary = true;
	sha256_init(&cr->sha);
	cr->nothing_done = "nothing was registered";
	cr->encoding_option = "--encoding";
	cr->utf8_advice = "run without --encoding";
	cr->archive_advice = "the enrollments file, with the users file as "
			     "--users: bulkreg register enrollments.csv --users "
			     "users.csv";
	/* How messages name the input ("standard input" for "-"). */
	cr->name = strdup(strcmp(path, "-") == 0 ? "standard input" : path);
	cr->buf = malloc(CSVREAD_BUF_SIZE);
	if (!cr->name || !cr->buf) {
		st = error_set(err, ST_NOMEM, "%s: out of memory", path);
		goto fail;
	}
	st = open_fd(cr, path, err);
	if (st != ST_OK)
		goto fail;
	csv_init(&cr->parser, CSV_OPTIONS);
	csv_set_delim(&cr->parser, delim);
	if (delim == '\t')
		csv_set_space_func(&cr->parser, space_only);
	csv_set_realloc_func(&cr->parser, bounded_realloc);
	return ST_OK;
fail:
	if (cr->own_fd)
		close(cr->fd);
	free(cr->buf);
	free(cr->name);
	memset(cr, 0, sizeof(*cr));
	cr->fd = -1;
	cr->cd = (iconv_t)-1;
	return st;
}

void csvread_close(struct csvread *cr)
{
	if (!cr->buf)
		return;
	csv_free(&cr->parser);
	if (cr->own_fd)
		close(cr->fd);
	if (cr->cd != (iconv_t)-1)
		iconv_close(cr->cd);
	free(cr->raw);
	free(cr->head);
	free(cr->encoding);
	free(cr->bom_overrode);
	free(cr->buf);
	free(cr->name);
	memset(cr, 0, sizeof(*cr));
	cr->fd = -1;
	cr->cd = (iconv_t)-1;
}

uint64_t csvread_bytes_parsed(const struct csvread *cr)
{
	uint64_t waiting = (uint64_t)(cr->end - cr->pos) +
			   (uint64_t)(cr->raw_end - cr->raw_pos);
	return cr->bytes > waiting ? cr->bytes - waiting : 0;
}

uint64_t csvread_input_size(const struct csvread *cr)
{
	struct stat sb;
	if (fstat(cr->fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0)
		return 0;
	return (uint64_t)sb.st_size;
}

uint64_t csvread_payload_bytes(const struct csvread *cr)
{
	return cr->bytes - cr->bom_len;
}

void csvread_sha256_hex(const struct csvread *cr, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	struct sha256_ctx copy = cr->sha; /* sha256_digest resets its context */
	uint8_t digest[SHA256_DIGEST_SIZE];
	sha256_digest(&copy, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[64] = '\0';
}

/* ---- header names ------------------------------------------------------------ */

static unsigned char norm_byte(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (unsigned char)(c - 'A' + 'a');
	if (c == ' ' || c == '-')
		return '_';
	return c;
}

/* The bytes of a space at s[i] (i < len) that a header name treats as a
 * plain space: the space and tab themselves, and the spaces spreadsheets
 * write where a space was meant (U+00A0 no-break, U+2007 figure, U+202F
 * narrow no-break); 0 for anything else. */
static size_t name_space_at(const unsigned char *s, size_t len, size_t i)
{
	if (s[i] == ' ' || s[i] == '\t')
		return 1;
	if (s[i] == 0xC2 && i + 1 < len && s[i + 1] == 0xA0)
		return 2;
	if (s[i] == 0xE2 && i + 2 < len && s[i + 1] == 0x80 &&
	    (s[i + 2] == 0x87 || s[i + 2] == 0xAF))
		return 3;
	return 0;
}

/* The same for a space that ends at s[end] (end > 0). */
static size_t name_space_before(const unsigned char *s, size_t end)
{
	for (size_t k = 1; k <= 3 && k <= end; k++)
		if (name_space_at(s, end, end - k) == k)
			return k;
	return 0;
}

/* Walks a header name's normal form: the spaces around it are dropped, and
 * every space (name_space_at), '-' and '_' inside it is one '_'.  Calls
 * put(byte, ctx) for each byte of it; returns its length. */
static size_t norm_walk(const unsigned char *s, size_t len,
			void (*put)(unsigned char, void *), void *ctx)
{
	size_t i = 0, end = len, k, n = 0;
	while (i < end && (k = name_space_at(s, end, i)) > 0)
		i += k;
	while (end > i && (k = name_space_before(s, end)) > 0 && end - k >= i)
		end -= k;
	while (i < end) {
		k = name_space_at(s, end, i);
		put(k ? '_' : norm_byte(s[i]), ctx);
		i += k ? k : 1;
		n++;
	}
	return n;
}

void csvread_trim_spaces(const char **s, size_t *len)
{
	const unsigned char *u = (const unsigned char *)*s;
	size_t i = 0, end = *len, k;
	while (i < end && (k = name_space_at(u, end, i)) > 0)
		i += k;
	while (end > i && (k = name_space_before(u, end)) > 0 && end - k >= i)
		end -= k;
	*s += i;
	*len = end - i;
}

struct norm_out {
	char *out;
	size_t cap, used;
};

static void norm_put(unsigned char c, void *ctx)
{
	struct norm_out *o = ctx;
	if (o->used + 1 < o->cap)
		o->out[o->used++] = (char)c;
}

size_t csvread_norm_name(const unsigned char *s, size_t len, char *out,
			 size_t cap)
{
	struct norm_out o = {out, cap, 0};
	size_t n = norm_walk(s, len, norm_put, &o);
	out[o.used] = '\0';
	return n;
}

static void hash_put(unsigned char c, void *ctx)
{
	uint64_t *h = ctx;
	*h = fnv1a64_byte(*h, c);
}

uint64_t csvread_name_hash(const unsigned char *s, size_t len)
{
	uint64_t h = FNV1A64_OFFSET;
	norm_walk(s, len, hash_put, &h);
	return h;
}

bool csvread_name_eq(const char *a, const char *b)
{
	for (;;) {
		while (*a == '_')
			a++;
		while (*b == '_')
			b++;
		if (*a != *b)
			return false;
		if (*a == '\0')
			return true;
		a++, b++;
	}
}

const struct csvread_alias *csvread_alias_find(const struct csvread_alias *table,
					       const char *norm)
{
	for (const struct csvread_alias *a = table; a && a->name; a++)
		if (csvread_name_eq(a->name, norm))
			return a;
	return NULL;
}

/* "a, b, c": the names of `fields`, for a message. */
static void field_list(const struct csvread_alias *fields, char *out,
		       size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (const struct csvread_alias *f = fields; f->name; f++) {
		int n = snprintf(out + used, cap - used, "%s%s",
				 f == fields ? "" : ", ", f->name);
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
	}
}

/* One pair of a --map spec, split as CSV splits a record: the field, and
 * the header with its quotes undone. */
struct map_token {
	const char *pair, *field;
	size_t pair_len, field_len;
	char header[CSVREAD_NAME_MAX * 2 + 2];
	size_t header_len;
	bool has_eq, header_long;
};

/* Reads the pair at *sp into *t and moves *sp past it and its comma;
 * false (and *t->pair names where) for a quote left open or text after a
 * closing quote. */
static bool map_next(const char **sp, struct map_token *t)
{
	const char *s = *sp;
	memset(t, 0, sizeof(*t));
	while (is_blank_byte((unsigned char)*s))
		s++;
	t->pair = t->field = s;
	while (*s && *s != '=' && *s != ',')
		s++;
	t->field_len = (size_t)(s - t->field);
	while (t->field_len > 0 && is_blank_byte((unsigned char)t->field[t->field_len - 1]))
		t->field_len--;
	t->has_eq = *s == '=';
	bool ok = true;
	if (t->has_eq) {
		s++;
		while (is_blank_byte((unsigned char)*s))
			s++;
		if (*s == '"') {
			for (s++;; s++) {
				if (*s == '\0') {
					ok = false;
					break;
				}
				if (*s == '"' && s[1] != '"')
					break;
				if (*s == '"')
					s++; /* "" is one quote */
				if (t->header_len < sizeof(t->header) - 1)
					t->header[t->header_len++] = *s;
				else
					t->header_long = true;
			}
			if (ok)
				s++;
			while (ok && is_blank_byte((unsigned char)*s))
				s++;
			ok = ok && (*s == ',' || *s == '\0');
		} else {
			const char *h = s;
			while (*s && *s != ',')
				s++;
			size_t n = (size_t)(s - h);
			while (n > 0 && is_blank_byte((unsigned char)h[n - 1]))
				n--;
			t->header_len = n < sizeof(t->header) - 1 ? n : sizeof(t->header) - 1;
			t->header_long = n > t->header_len;
			memcpy(t->header, h, t->header_len);
		}
	}
	if (!ok) {
		t->pair_len = strlen(t->pair);
		return false;
	}
	t->pair_len = (size_t)(s - t->pair);
	while (t->pair_len > 0 && is_blank_byte((unsigned char)t->pair[t->pair_len - 1]))
		t->pair_len--;
	*sp = *s == ',' ? s + 1 : s;
	return true;
}

/* One FIELD=HEADER pair, read by map_next. */
static enum status map_pair(const struct map_token *t,
			    const struct csvread_alias *fields, const char *what,
			    struct csvread_map *m, struct error *err)
{
	int plen = (int)t->pair_len, flen = (int)t->field_len;
	if (!t->has_eq || t->field_len == 0 || t->header_len == 0)
		return error_set(err, ST_USAGE,
				 "--map: '%.*s' is not FIELD=HEADER%s", plen, t->pair,
				 t->has_eq ? "" : " (a header that holds a comma goes "
						  "in double quotes: email=\"Email, "
						  "primary\")");
	const struct csvread_alias *field = NULL;
	for (const struct csvread_alias *f = fields; f->name && !field; f++)
		if (strlen(f->name) == t->field_len &&
		    strncmp(f->name, t->field, t->field_len) == 0)
			field = f;
	if (!field) {
		char list[256];
		field_list(fields, list, sizeof(list));
		return error_set(err, ST_USAGE, "--map: '%.*s' is not a field%s (%s)",
				 flen, t->field, what, list);
	}
	if (m->count == CSVREAD_MAP_MAX)
		return error_set(err, ST_USAGE, "--map: more than %d pairs",
				 CSVREAD_MAP_MAX);
	if (t->header_long || t->header_len > CSVREAD_NAME_MAX)
		return error_set(err, ST_USAGE,
				 "--map: the header for %.*s must be 1 to %d bytes",
				 flen, t->field, CSVREAD_NAME_MAX);
	char norm[CSVREAD_NAME_MAX + 1];
	csvread_norm_name((const unsigned char *)t->header, t->header_len, norm,
			  sizeof(norm));
	for (size_t i = 0; i < m->count; i++) {
		if (m->kind[i] == field->kind)
			return error_set(err, ST_USAGE,
					 "--map: %.*s is given twice (%s and %.*s): "
					 "a field is read from one column",
					 flen, t->field, m->given[i], plen, t->pair);
		if (csvread_name_eq(m->header[i], norm))
			return error_set(err, ST_USAGE,
					 "--map: %s and %.*s name the same column: "
					 "a column is read as one field",
					 m->given[i], plen, t->pair);
	}
	memcpy(m->header[m->count], norm, sizeof(norm));
	snprintf(m->given[m->count], CSVREAD_PAIR_MAX, "%.*s", plen, t->pair);
	memcpy(m->raw[m->count], t->header, t->header_len);
	m->raw[m->count][t->header_len] = '\0';
	m->kind[m->count++] = field->kind;
	return ST_OK;
}

enum status csvread_map_add(const char *spec, const struct csvread_alias *fields,
			    const char *what, struct csvread_map *m,
			    struct error *err)
{
	const char *s = spec;
	for (;;) {
		struct map_token t;
		if (!map_next(&s, &t))
			return error_set(err, ST_USAGE,
					 "--map: '%.*s': a quoted header ends with "
					 "its closing quote, then a comma or the end "
					 "(\"\" for a quote inside it)",
					 (int)t.pair_len, t.pair);
		enum status st = map_pair(&t, fields, what, m, err);
		if (st != ST_OK)
			return st;
		if (*s == '\0')
			return ST_OK;
	}
}

enum status csvread_map_parse(const char *spec,
			      const struct csvread_alias *fields,
			      const char *what, struct csvread_map *out,
			      struct error *err)
{
	memset(out, 0, sizeof(*out));
	return csvread_map_add(spec, fields, what, out, err);
}

int csvread_map_kind(const struct csvread_map *m, const char *norm)
{
	for (size_t i = 0; m && i < m->count; i++)
		if (csvread_name_eq(m->header[i], norm))
			return m->kind[i];
	return -1;
}
