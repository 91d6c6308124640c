/* csvread: libcsv set up for bulkreg's input files (BOM, lines, bounds). */
#ifndef BULKREG_CSVREAD_H
#define BULKREG_CSVREAD_H

#include <csv.h>
#include <iconv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nettle/sha2.h>

#include "error.h"
#include "utf8.h"

#ifndef CSVREAD_BUF_SIZE /* the fuzzer shrinks it to reach buffer edges */
#define CSVREAD_BUF_SIZE (64u << 10)
#endif
#define CSVREAD_FIELD_MAX (16u << 20) /* longest field, in bytes */

/* One field of a record, spaces and tabs around it trimmed; index from 0.
 * The bytes are valid only during the call. */
typedef void (*csvread_field_fn)(void *ctx, size_t index,
				 const unsigned char *s, size_t len);

/* The end of a record that began on `line`.  `blank` means no fields, or
 * only empty ones (a blank or all-space line, or a line of delimiters such
 * as a spreadsheet's ",,,,"): the fields already handed over for it are to
 * be forgotten.  Return true to make csvread_next return now.  During the
 * call csvread_record_malformed says whether the record had text after a
 * closing quote. */
typedef bool (*csvread_record_fn)(void *ctx, size_t nfields, bool blank,
				  uint64_t line);

/*
 * A CSV source: an open file (or standard input) fed to libcsv one line at a
 * time, so that every record ends exactly at a call boundary and the line on
 * which it began is known, whatever the line endings (LF, CRLF, CR) and
 * however many line breaks its quoted fields hold.  A leading UTF-8 BOM is
 * skipped; every byte read, BOM included, is hashed.  Lines without a quote
 * character are split directly (libcsv would give the same fields, slower);
 * everything else goes through libcsv.
 *
 * The text is UTF-8, checked as it is read: the first byte that is not
 * (or a NUL) fails the read, naming its line and column, showing the
 * bytes and guessing the encoding the file is in.  Other encodings are
 * converted to UTF-8 with iconv(3) as they are read: the one named with
 * csvread_set_encoding, or the one a UTF-16 or UTF-32 byte order mark
 * announces.  A file that is already UTF-8 (at least one non-ASCII byte,
 * every run of them well-formed UTF-8) read with a legacy encoding (one
 * that reads ASCII as ASCII and is not UTF-8) is refused: before the first
 * record when it ends within the first CSVREAD_BUF_SIZE bytes (they are
 * read whole first), else when its end is read.  Spreadsheet files (.xlsx,
 * .ods, .xls) are recognised and refused, and so is any other zip archive
 * (an export's bundle of CSV files: its .csv members are named, with
 * `archive_advice`).  Excel's "sep=;" first line sets the delimiter
 * (also quoted or padded: "sep=;", sep=;;;), unless delim_given.
 *
 * Quotes are read as spreadsheets and Python's csv module read them: a
 * quote inside an unquoted field (O"Neil) is a literal character; text
 * after a closing quote ("ab"c) makes that record malformed (it is handed
 * over, flagged) but not the file.
 */
struct csvread {
	/* Set by csvread_open; the caller may change the hooks afterwards. */
	char *name;                   /* "stdin" for "-", else the path */
	csvread_field_fn on_field;
	csvread_record_fn on_record;
	void *ctx;
	bool (*cancelled)(void *ctx); /* asked before each read; may be NULL */
	void *cancel_ctx;
	bool no_fast_path;            /* tests: every line through libcsv */
	const char *nothing_done;     /* what a refusal says was not done:
				       * "nothing was registered" */
	const char *archive_advice;   /* what to pass instead of a zip
				       * archive: "the enrollments file..." */
	bool delim_given;             /* the delimiter was given (--delimiter):
				       * it wins over a "sep=" line */
	const char *encoding_option;  /* the option that sets this file's
				       * encoding, for advice: "--encoding" */
	const char *utf8_advice;      /* what to do with a file that is
				       * already UTF-8, read with a legacy
				       * encoding: "run without --encoding" */

	/* Private. */
	int fd;
	char *encoding;               /* --encoding, or NULL for UTF-8 */
	iconv_t cd;                   /* (iconv_t)-1 when not converting */
	unsigned char *raw;           /* bytes read, before conversion */
	size_t raw_pos, raw_end;
	bool raw_eof;                 /* the raw input has ended */
	/* A file that is already UTF-8, read with a legacy --encoding:
	 * watched in the raw bytes (see watch_raw in csvread.c). */
	int watch;                    /* enum watch */
	struct utf8_state watch_st;   /* the raw bytes, as UTF-8 */
	uint64_t watch_line, watch_col; /* of the first non-ASCII byte */
	unsigned char watch_prev;     /* last raw byte looked at */
	unsigned char watch_seq[4];   /* the first non-ASCII character */
	size_t watch_nseq, watch_want;
	unsigned char watch_lead;     /* a 2-byte lead ending the last chunk */
	/* Read as ISO-8859-1 (or an alias): a byte 80..9F, a C1 control
	 * that Windows-1252 prints, refuses the file (see watch_c1). */
	bool latin1;
	uint64_t c1_line, c1_col;     /* where the raw bytes looked at end */
	unsigned char c1_prev;
	unsigned char c1_byte;        /* the first such byte, 0: none yet */
	bool sniffed;                 /* the first bytes were looked at */
	bool sep_checked;             /* the "sep=" line was looked for */
	unsigned char carry[4];       /* an unfinished UTF-8 sequence held */
	size_t ncarry;                /* back from the end of a fill */
	uint64_t col_carry;           /* characters of the current line in
				       * buffers already parsed */
	int qstate;                   /* quote tracking on the slow path */
	bool malformed;               /* text after a closing quote */
	size_t malformed_field;       /* in the field of this index (from 0) */
	char *head;                   /* the first record's fields (the header,
				       * for messages): NUL-terminated names */
	size_t head_used, head_count;
	bool head_done;               /* the first record has ended */
	bool own_fd;
	unsigned char delim;
	struct csv_parser parser;
	unsigned char *buf;
	size_t pos, end;              /* unparsed bytes are buf[pos..end) */
	size_t lf_at, cr_at;          /* next LF / CR at or after pos, or end */
	bool started, eof, finished, stop;
	bool at_boundary;             /* libcsv holds no part of a record */
	bool row_ended;               /* a record ended in the current slice */
	bool too_long;                /* a field is over CSVREAD_FIELD_MAX */
	size_t too_long_field;        /* which (from 0), for the message */
	size_t nfields;               /* fields so far in the current record */
	bool all_empty;               /* every field so far is empty */
	uint64_t line;                /* line of the next byte to parse */
	uint64_t record_line;         /* line the current record began on */
	unsigned char prev;           /* last byte parsed */
	uint64_t bytes;               /* bytes read, BOM included */
	bool bom;                     /* a byte order mark was skipped */
	char *bom_overrode;           /* the encoding set that a byte order
				       * mark replaced, or NULL */
	size_t bom_len;
	bool sep_line;                /* an Excel "sep=" line was read */
	unsigned char sep_ignored;    /* the delimiter it named, when
				       * delim_given overrode it; else 0 */
	const unsigned char *untrimmed; /* the field being handed over, */
	size_t untrimmed_len;         /* before its spaces were trimmed */
	const char *eol;              /* the first line break seen, or NULL */
	struct sha256_ctx sha;  /* nettle */
	enum status failed;           /* a failure is final: given again */
	char failure[ERROR_MAX];
};

/*
 * Opens `path` ("-" = standard input, left open by csvread_close) for
 * reading with the given delimiter.  ST_INPUT naming the path if it cannot
 * be opened or is a directory; ST_NOMEM.  On failure nothing needs closing.
 */
enum status csvread_open(struct csvread *cr, const char *path,
			 unsigned char delim, struct error *err);

/*
 * Reads the file as `encoding` (any name iconv_open(3) knows, such as
 * WINDOWS-1252, ISO-8859-1, MACINTOSH, UTF-16LE) and converts it to UTF-8
 * as it is read; UTF-8 (or UTF8, any case) reads it as it is.  A byte
 * order mark at the start of the file wins over it (csvread_bom_note).
 * Call before the first csvread_next.  ST_USAGE naming the encoding (and
 * encoding_option) if iconv does not know it; ST_NOMEM.
 */
enum status csvread_set_encoding(struct csvread *cr, const char *encoding,
				 struct error *err);

/* The encoding the file is being converted from, or NULL for UTF-8 (known
 * once the first record was read: a byte order mark may set it). */
const char *csvread_encoding(const struct csvread *cr);

/* Once the first record was read: true if a byte order mark overrode the
 * encoding set, with "FILE: read as UTF-16LE, as its byte order mark
 * says, not as WINDOWS-1252" in buf[cap] for a warning. */
bool csvread_bom_note(const struct csvread *cr, char *buf, size_t cap);

/* During on_record: true if the record had text after a closing quote. */
bool csvread_record_malformed(const struct csvread *cr);

/* During on_record, for a malformed record: the index (from 0) of the
 * first field with text after its closing quote. */
size_t csvread_record_malformed_field(const struct csvread *cr);

/*
 * "3 ('last_name')": column `index` (from 0) for a message, by number and
 * by the name the first record (the header) gave it, escaped and quoted;
 * the number alone when the first record had no such column or has not
 * ended.  Writes into buf[cap] and returns it.
 */
const char *csvread_column_name(const struct csvread *cr, size_t index,
				char *buf, size_t cap);

/*
 * Parses until on_record returns true or csvread_pause is called (ST_OK),
 * or the input ends (ST_EOF).  ST_INPUT for text that is not UTF-8 (or not
 * the encoding set, or UTF-8 read as a legacy encoding), a spreadsheet file, an unusable "sep=" line, an
 * unterminated quoted field or a field longer than CSVREAD_FIELD_MAX (each
 * naming the line); ST_IO for a
 * read error; ST_CANCELLED when `cancelled` says so (asked before every
 * read, and when a read is interrupted); ST_NOMEM.  After a failure every
 * call fails the same way.
 */
enum status csvread_next(struct csvread *cr, struct error *err);

/*
 * For a callback: makes csvread_next return ST_OK once the current slice is
 * parsed (at most CSVREAD_BUF_SIZE bytes on), even in the middle of a
 * record; the next call goes on from there.  Lets a client give up on a
 * record that is already too big without reading it to its end.
 */
void csvread_pause(struct csvread *cr);

/* The line the record being read began on (during a callback: the record
 * the callback is about). */
uint64_t csvread_record_line(const struct csvread *cr);

/* Bytes read that were not a leading BOM. */
uint64_t csvread_payload_bytes(const struct csvread *cr);

/* Bytes of the input parsed so far: read, less what waits in the buffers
 * (an estimate when converting an encoding).  For a progress display. */
uint64_t csvread_bytes_parsed(const struct csvread *cr);

/* The input's size in bytes when it is a regular file; 0 when it is not
 * (a pipe, a terminal) or cannot be known. */
uint64_t csvread_input_size(const struct csvread *cr);

/* SHA-256 of the bytes read so far (all of them once ST_EOF was seen). */
void csvread_sha256_hex(const struct csvread *cr, char hex[65]);

/* During on_field: the field's bytes before the spaces and tabs around
 * them were trimmed (libcsv itself drops those around an unquoted field of
 * a line that holds a quote; inside quotes they are kept). */
void csvread_field_untrimmed(const struct csvread *cr, const unsigned char **s,
			     size_t *len);

/* How the file is written, for a file in its own format (--rejects):
 * the delimiter in use, whether a byte order mark or an Excel "sep=" line
 * opened it, and its first line break ("\n", "\r\n" or "\r"; NULL
 * before one was read). */
unsigned char csvread_delimiter(const struct csvread *cr);
bool csvread_had_bom(const struct csvread *cr);
bool csvread_had_sep_line(const struct csvread *cr);

/* Once the first record was read: the delimiter a "sep=" line named that
 * delim_given overrode (a warning says so), or 0. */
unsigned char csvread_sep_ignored(const struct csvread *cr);
const char *csvread_line_end(const struct csvread *cr);

void csvread_close(struct csvread *cr);

/*
 * Header names: the normal form used for matching (ASCII lowercase, the
 * spaces around the name dropped, and a space, '-' and '_' inside it all
 * turned into '_', which csvread_name_eq then leaves out; a no-break space
 * U+00A0, a figure space U+2007 and a narrow no-break space U+202F count
 * as spaces).  Writes at most cap-1
 * bytes and a NUL; returns the full normalised length.
 */
/* Trims from s[0..*len) (moving *s) the spaces a header name treats as
 * spaces around it: space, tab, U+00A0, U+2007 and U+202F.  The keyword
 * values (role, status, a flat file's operation) are read so too. */
void csvread_trim_spaces(const char **s, size_t *len);

size_t csvread_norm_name(const unsigned char *s, size_t len, char *out,
			 size_t cap);

/*
 * Whether two normal forms name the same column: equal once the '_'s that
 * stand for separators are left out, so that StudentID, Student ID,
 * student_id and student-id are one name.  Every comparison of header
 * names against the names a reader knows goes through it (the alias
 * tables, --map, export detection).
 */
bool csvread_name_eq(const char *a, const char *b);

/* A 64-bit hash of a name's normal form (FNV-1a). */
uint64_t csvread_name_hash(const unsigned char *s, size_t len);

/* A header name a reader knows, in csvread_norm_name's normal form, and
 * what it stands for (the reader's own column kind).  A table of them ends
 * with {NULL, 0}. */
struct csvread_alias {
	const char *name;
	int kind;
};

/*
 * The entry of `table` named `norm` (a normal form; csvread_name_eq), or
 * NULL: the one
 * matching of header names against their aliases, for the roster's
 * profiles, the --users file and the course files.  The first entry wins,
 * so a table lists a kind's preferred name first.
 */
const struct csvread_alias *csvread_alias_find(const struct csvread_alias *table,
					       const char *norm);

#define CSVREAD_MAP_MAX 16   /* --map pairs */
#define CSVREAD_NAME_MAX 64  /* bytes of a header name --map gives */
#define CSVREAD_PAIR_MAX (2 * CSVREAD_NAME_MAX + 40) /* a pair as given */

/* --map FIELD=HEADER,...: the header (normal form) each field is read
 * from; for messages, each pair and header as the user gave them. */
struct csvread_map {
	size_t count;
	int kind[CSVREAD_MAP_MAX];
	char header[CSVREAD_MAP_MAX][CSVREAD_NAME_MAX + 1];
	char given[CSVREAD_MAP_MAX][CSVREAD_PAIR_MAX];   /* "email=\"E, M\"" */
	char raw[CSVREAD_MAP_MAX][CSVREAD_NAME_MAX + 1]; /* "E, M" */
};

/*
 * Adds the pairs of --map "FIELD=HEADER,..." to *m (zeroed before the
 * first), the one parser of the roster's and the course file's --map, so
 * that --map given twice adds up.  Spaces around a FIELD and a HEADER are
 * dropped.  A HEADER may be in double quotes, as in CSV: then a comma is
 * part of it and "" stands for one quote (email="Email, primary").  Each
 * FIELD one of `fields` (its kind recorded), each HEADER 1 to
 * CSVREAD_NAME_MAX bytes, kept in csvread_norm_name's normal form.
 * ST_USAGE naming what is wrong: no '=', a field not in `fields` (the
 * message lists them, after "is not a field" and `what`, such as " of a
 * courses file"), a field given twice or a header given for two fields
 * (both pairs named), an unterminated quote, too many pairs.
 */
enum status csvread_map_add(const char *spec, const struct csvread_alias *fields,
			    const char *what, struct csvread_map *m,
			    struct error *err);

/* csvread_map_add into *out zeroed first: --map given once. */
enum status csvread_map_parse(const char *spec,
			      const struct csvread_alias *fields,
			      const char *what, struct csvread_map *out,
			      struct error *err);

/* The kind --map reads from the header `norm` (a normal form, compared by
 * csvread_name_eq), or -1. */
int csvread_map_kind(const struct csvread_map *m, const char *norm);

#endif
