/* register: the main job -- roster -> workers -> collector -> SQLite -> report. */
#ifndef BULKREG_REGISTER_H
#define BULKREG_REGISTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "profile.h"
#include "db.h"
#include "error.h"
#include "report.h"
#include "row.h"
#include "store.h"

/* --max-rejects / --max-drops: N rows, or P percent.  N or P is
 * num / scale exactly (P = "18.4": 184 / 10): a decimal percentage at an
 * exact boundary is compared without rounding. */
struct threshold {
	bool set;
	bool percent;
	int64_t num, scale;
	const char *text; /* as given, for messages and the batch record */
};

/* Parses "N" or "P%" (0..100); false if neither. */
bool threshold_parse(const char *s, struct threshold *out);

/* Whether n is more than the threshold allows out of `total`. */
bool threshold_exceeded(const struct threshold *t, int64_t n, int64_t total);

/* What a progress display reads while a batch runs (relaxed atomics). */
struct register_progress {
	_Atomic uint64_t rows_done;    /* rows applied, in roster order */
	_Atomic uint64_t rows_read;    /* rows the reader has handed out */
	_Atomic uint64_t bytes_read;   /* of the roster file, parsed */
	/* Another process held the database's write lock when the batch was
	 * to begin: lock_waiting while register waits for it, lock_waited_ms
	 * how long so far (in all, once it is granted), lock_wait_max_ms
	 * --wait. */
	_Atomic bool lock_waiting;
	_Atomic uint64_t lock_waited_ms;
	_Atomic uint64_t lock_wait_max_ms;
};

struct register_options {
	const char *db_path;           /* opened (or created) after the roster's
					* header has been found usable */
	const char *db_shown;          /* db_path with any password hidden */
	const char *schema;            /* PostgreSQL schema, or NULL */
	double wait_seconds;           /* --wait: for the database lock */
	const char *roster_path;       /* "-" = standard input */
	unsigned char delimiter;       /* ',', ';', '\t', '|' */
	bool delimiter_given;          /* --delimiter: wins over a "sep=" line */
	const char *course;            /* --course CODE, or NULL */
	enum row_action action;        /* ROW_ENROL (register) or ROW_DROP */
	/* drop --student ID --course CODE: this one pair instead of a roster
	 * (roster_path NULL). */
	const char *single_student;
	bool sync, sync_all;           /* --sync, --sync-scope all */
	int64_t undo_batch;            /* `bulkreg undo N`: N (no roster) */
	struct threshold max_rejects;  /* --max-rejects (--strict: 0) */
	struct threshold max_drops;    /* --max-drops (with --sync) */
	enum student_update update_students;
	/* issue 12: reading exports */
	const char *encoding;          /* --encoding NAME, or NULL for UTF-8 */
	const char *users_encoding;    /* --users-encoding NAME, or NULL: the
					* --users file is read as `encoding` */
	bool allow_missing_email;      /* new students may come without one */
	const char *profile;           /* --profile NAME, or NULL: detected */
	const struct csvread_map *map; /* --map, or NULL */
	const char *users_path;        /* --users FILE, or NULL */
	bool course_from_section;      /* --course-from section_id */
	size_t workers;                /* 1..POOL_MAX_WORKERS */
	bool dry_run, strict, quiet;
	const char *label;             /* --label, or NULL */
	enum report_format format;
	bool all_rows;                 /* --all: the text report lists every row */
	/* --rejects FILE: the rejected rows in the roster's own format, written
	 * (atomically) with the batch; NULL for none. */
	const char *rejects_path;
	const char *output_path;       /* -o FILE, or NULL for standard output */
	const char *check_cmd;         /* --check CMD, or NULL */
	double check_timeout;          /* seconds, per row */
	bool check_env_inherit;        /* --check-env inherit (else clean) */
	unsigned file_mode;            /* new database and report: 0600 (0) or
					* 0640 (--group-readable) */
	unsigned db_open_flags;        /* or'ed into db_open's mode: the CLI's
					* DB_OPEN_EXISTING (no database is
					* created; ST_NOTFOUND) */
	bool alone;                    /* PostgreSQL: the batch waits until no
					* other batch holds a course, and
					* keeps them all until it ends (a run
					* again after a deadlock: review 20,
					* F02) */
	int64_t max_rows;              /* --max-rows: more is unusable input
					* (ST_INPUT, nothing written); 0: none */
	struct chan *done;             /* closed to cancel (Go's ctx.Done()); may be NULL */
	struct register_progress *progress; /* updated as rows go; may be NULL */
	/* PostgreSQL: told when the batch waits for other batches
	 * (db_set_wait_notice); may be NULL. */
	db_wait_notice_fn wait_notice;
	void *wait_notice_ctx;
	/* Called once on the calling thread when every row is applied, before
	 * the report is written (a progress line ends first); may be NULL. */
	void (*rows_done)(void *ctx);
	void *rows_done_ctx;
	/* Non-fatal warnings (unknown columns, empty roster); may be NULL. */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
};

struct register_result {
	int64_t batch_id;              /* 0 if no batch was started */
	enum batch_outcome outcome;
	struct outcome_counts counts;
	double elapsed_seconds;
	bool report_written;
	/* Why a batch was rolled back by a threshold ("" otherwise). */
	char rolled_back_why[ERROR_MAX];
	/* The batch's outcome is committed (db_batch_finish succeeded): a
	 * later failure or signal no longer undoes anything. */
	bool recorded;
	/* The error is about the command line (an unknown --course, -o or
	 * --rejects naming an input, --course-from on another profile), found
	 * once the run began: said as a usage error. */
	bool usage_error;
};

/*
 * Runs one batch.
 *
 * Order of events, chosen so the report never lies about the database:
 *   1. the roster header is checked (unusable input: ST_INPUT, nothing done,
 *      not even a database file created), the report destination is
 *      created, the database is opened;
 *   2. BEGIN IMMEDIATE; every row is validated (and checked) by the workers
 *      and applied in roster order by the collector; the report is spooled;
 *   3. a fatal problem (malformed CSV mid-file, database error, cancel):
 *      full rollback, nothing recorded, no report;
 *   4. the outcome is decided (committed, dry_run, rolled_back for --strict);
 *      dirty pages are flushed to the WAL so the commit has almost nothing
 *      left that can fail;
 *   5. the report is written (to a temporary file beside -o FILE, synced);
 *      if that fails the batch is rolled back (history records rolled_back
 *      when it can) and ST_IO is returned;
 *   6. the batch is finished (COMMIT); if that fails the temporary report is
 *      discarded (for standard output, the caller is told the report is
 *      void);
 *   7. the report file is renamed into place.
 * Returns ST_OK when a batch was recorded (the rows may still have been
 * rejected: see res->counts), or the failure.
 */
enum status register_run(const struct register_options *opt,
			 struct register_result *res, struct error *err);

#endif
