/* register: the pipeline of RegisterStudents, in C -- see register.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "chan.h"
#include "check.h"
#include "courses.h"
#include "dbtarget.h"
#include "monotime.h"
#include "parse.h"
#include "policy.h"
#include "pool.h"
#include "register.h"
#include "rejects.h"
#include "report.h"
#include "report_dest.h"
#include "roster.h"
#include "store.h"
#include "undo.h"
#include "validate.h"
#include "waitgroup.h"

/*
 * The shape is Go's (RegisterStudents / handleResults):
 *
 *   main (reader)  --block-->  pool workers  --block-->  collector
 *   wg_add(1) per block        validate, --check         restores roster order,
 *                              send on `input`           applies to SQLite,
 *                                                        spools the report,
 *                                                        wg_done() per block
 *   at EOF: wg_wait(); close(input); recv(output) <----- sends the aggregate
 *
 * Rows travel in blocks (a run of consecutive rows) so the channels carry
 * one message per block rather than per row; with --check a block is one
 * row, so every student's check runs as its own task.  Blocks come from a
 * fixed set recycled through the `free_blocks` channel: the reader cannot
 * run more than that window ahead of the collector, so memory is bounded
 * whatever the roster's length, and the collector's reorder buffer never
 * needs more than one slot per block.
 */

#define ROWS_PER_BLOCK 128
#define MAX_BLOCKS 64

struct pipeline;

struct block {
	struct pipeline *pl;
	uint64_t seq;
	size_t count;
	struct row *rows;
	uint64_t rows_expected; /* the roster's rows in all, estimated; 0 */
};

/* What the collector sends back on `output` when `input` is closed. */
struct aggregate {
	enum status st;
	struct error err;
	struct outcome_counts counts;
	struct check_stats checks;
};

struct pipeline {
	const struct register_options *opt;
	int64_t undo_students; /* undo: students whose values it set back */
	struct db *db;
	int64_t batch_id;
	struct course_table courses;
	struct policy *policy;
	const char *label;  /* the batch's label as recorded (undo: its own) */
	char source[320];   /* a batch without a roster: the command */
	size_t header_columns;
	size_t held_bytes;      /* the reader's (--users) and the pipeline's,
				 * for the whole run */
	struct report *report;
	struct rejects *rejects;          /* --rejects FILE, or NULL */
	const struct check_config *check; /* NULL without --check */

	struct chan *free_blocks, *input, *output;
	struct pool *pool;
	struct waitgroup wg;
	bool wg_ready;
	struct block *blocks;
	size_t nblocks;
	struct row *slab;
	/* The collector's state, allocated before it starts so that the
	 * thread itself never has to allocate (or fail). */
	struct aggregate *agg;
	struct block **pending;
	_Atomic bool collector_failed;
	bool report_sent;  /* a report went out in place (not via rename) */
	/* The collector could not spool a row of the report or the rejects
	 * file (a full disk): the batch ends rolled back. */
	bool spool_failed;
};

static bool cancelled(const struct pipeline *pl)
{
	return pl->opt->done && chan_is_closed(pl->opt->done);
}

static bool reader_cancelled(void *ctx)
{
	return cancelled(ctx);
}

/* Appends " VALUE", in single quotes when it holds a space or a quote
 * (as a shell would need it), to a command shown as a batch's source. */
static void source_arg(char *buf, size_t cap, const char *v)
{
	size_t used = strlen(buf);
	bool plain = v[0] && !strpbrk(v, " \t'\"\\");
	if (used + 1 < cap)
		buf[used++] = ' ';
	if (!plain && used + 1 < cap)
		buf[used++] = '\'';
	for (; *v && used + 5 < cap; v++) {
		if (*v == '\'' && !plain) {
			memcpy(buf + used, "'\\''", 4);
			used += 4;
		} else {
			buf[used++] = *v;
		}
	}
	if (!plain && used + 1 < cap)
		buf[used++] = '\'';
	buf[used] = '\0';
}

/* The batch's source: the roster's name, or for a batch without one the
 * command that made it, as `course add M1` names its own ("undo 3",
 * "drop --student A --course M1"). */
static const char *source_name(struct pipeline *pl,
			       const struct roster_reader *rd)
{
	const struct register_options *opt = pl->opt;
	/* The batch record names standard input "stdin" (the man page's
	 * BATCHES); messages say "standard input". */
	if (rd)
		return strcmp(opt->roster_path, "-") == 0 ? "stdin" :
							    roster_name(rd);
	if (!pl->source[0] && opt->undo_batch) {
		snprintf(pl->source, sizeof(pl->source), "undo %lld",
			 (long long)opt->undo_batch);
	} else if (!pl->source[0]) {
		snprintf(pl->source, sizeof(pl->source), "%s --student",
			 opt->action == ROW_ENROL ? "register" : "drop");
		source_arg(pl->source, sizeof(pl->source),
			   opt->single_student ? opt->single_student : "");
		strncat(pl->source, " --course",
			sizeof(pl->source) - strlen(pl->source) - 1);
		source_arg(pl->source, sizeof(pl->source),
			   opt->course ? opt->course : "");
	}
	return pl->source;
}

/* ---- workers ------------------------------------------------------------ */

/* One task: validate (and check) every row of a block, then hand it on. */
static int worker_task(void *arg)
{
	struct block *b = arg;
	struct pipeline *pl = b->pl;
	for (size_t i = 0; i < b->count; i++) {
		struct row *row = &b->rows[i];
		if (cancelled(pl) || atomic_load(&pl->collector_failed))
			break; /* the batch is void: skip the work, keep counting */
		if (!validate_row(row, pl->header_columns, &pl->courses))
			continue;
		if (pl->check)
			check_row(pl->check, row, pl->batch_id, pl->opt->done);
	}
	/* `input` is only closed after wg_wait(), which needs this send. */
	if (chan_send(pl->input, &b) != CHAN_OK)
		abort();
	return 0;
}

/* ---- collector ---------------------------------------------------------- */

/* Every row the policy settles -- the roster's and the ones it makes
 * (promotions, --sync drops) -- goes into the report and the counts here. */
static enum status emit_row(void *ctx, struct row *row, struct error *err)
{
	struct pipeline *pl = ctx;
	enum status st = report_add_row(pl->report, row, err);
	if (st == ST_OK && pl->rejects)
		st = rejects_add(pl->rejects, row, err);
	if (st == ST_OK)
		outcome_counts_add(&pl->agg->counts, row);
	else if (st == ST_IO)
		pl->spool_failed = true;
	return st;
}

/* issue 12: a row that may only name a student the database holds (no
 * email, or a user --users lacks) is rejected if the student is new. */
static enum status check_new_student(struct pipeline *pl, struct row *row,
				     struct error *err)
{
	enum row_reason why = row->if_new_student;
	if (row->status != STATUS_NONE || row->action != ROW_ENROL ||
	    why == REASON_NONE ||
	    (why == REASON_MISSING_EMAIL && pl->opt->allow_missing_email))
		return ST_OK;
	const struct row_value *id = &row->v[FIELD_STUDENT_ID];
	struct text t = {id->text, id->len};
	struct student ignored;
	int64_t created;
	bool known = false;
	enum status st = store_student_get(db_store(pl->db), t, &ignored, &created,
					   &known, err);
	if (st != ST_OK || known)
		return st;
	if (why == REASON_MISSING_EMAIL)
		row_reject(row, why,
			   "email is empty and the student is new (see "
			   "--allow-missing-email)");
	else
		row_reject(row, why, "not in the --users file%s%s%s, nor in the "
			   "database", row->users_id_label ? " (" : "",
			   row->users_id_label ? row->users_id_label : "",
			   row->users_id_label ? ")" : "");
	return ST_OK;
}

static enum status apply_block(struct pipeline *pl, struct block *b,
			       struct aggregate *agg)
{
	if (b->rows_expected)
		store_expect_rows(db_store(pl->db), b->rows_expected);
	policy_prefetch(pl->policy, b->rows, b->count);
	for (size_t i = 0; i < b->count; i++) {
		struct row *row = &b->rows[i];
		enum status st = check_new_student(pl, row, &agg->err);
		if (st == ST_OK)
			st = policy_apply(pl->policy, row, emit_row, pl, &agg->err);
		if (st != ST_OK)
			return st;
		if (row->check_seconds > 0 || row->reason == REASON_CHECK_FAILED ||
		    row->reason == REASON_CHECK_TIMEOUT ||
		    row->reason == REASON_CHECK_ERROR)
			check_stats_add(&agg->checks, row->check_seconds);
	}
	if (pl->opt->progress)
		atomic_fetch_add_explicit(&pl->opt->progress->rows_done, b->count,
					  memory_order_relaxed);
	return ST_OK;
}

/* handleResults: ranges over `input` until it is closed, applying blocks in
 * roster order, then sends the aggregate on `output`. */
static void *collector_main(void *arg)
{
	struct pipeline *pl = arg;
	struct aggregate *agg = pl->agg;
	struct block **pending = pl->pending;
	uint64_t next = 0;
	struct block *b;
	while (chan_recv(pl->input, &b) == CHAN_OK) {
		pending[b->seq % pl->nblocks] = b;
		while ((b = pending[next % pl->nblocks]) && b->seq == next) {
			pending[next % pl->nblocks] = NULL;
			if (agg->st == ST_OK && !cancelled(pl)) {
				agg->st = apply_block(pl, b, agg);
				if (agg->st != ST_OK)
					atomic_store(&pl->collector_failed, true);
			}
			next++;
			if (chan_send(pl->free_blocks, &b) != CHAN_OK)
				abort(); /* never full: it holds every block */
		}
		wg_done(&pl->wg);
	}
	if (chan_send(pl->output, &agg) != CHAN_OK)
		abort();
	return NULL;
}

/* ---- set-up and tear-down ----------------------------------------------- */

/* pthread_create's EAGAIN means memory (a stack, its guard) or a thread
 * limit ran out; say so, since strerror's "Resource temporarily
 * unavailable" does not. */
static enum status thread_error(struct error *err, int errnum,
				const char *what)
{
	if (errnum == EAGAIN || errnum == ENOMEM)
		return error_set(err, ST_NOMEM,
				 "cannot start %s: out of memory or too many "
				 "threads (%s)",
				 what, strerror(errnum));
	return error_set(err, ST_IO, "cannot start %s: %s", what,
			 strerror(errnum));
}

/* Enough blocks to keep every worker busy while the collector is behind;
 * with checks (one row per block) each worker can hold one slow row while
 * another waits. */
static size_t pipeline_nblocks(size_t workers, bool check)
{
	size_t n = 2 * workers + 2;
	return !check && n > MAX_BLOCKS ? MAX_BLOCKS : n;
}

/* A worker's stack, as far as a row's work touches it. */
#define WORKER_STACK_BYTES ((size_t)16 << 10)

/* What the pipeline holds for the whole run -- its rows in flight (15 MiB
 * from 31 workers on) and its workers' stacks.  The batch's cache budget
 * was set beside two workers' (1.5 MiB); what more workers hold comes out
 * of it, so that --workers 1024 stays within the memory of 2 (review 24
 * F02: 1M users + 1M enrollments peaked at 99.6 MiB with 32 workers, 111.7
 * with 1,024). */
static size_t pipeline_bytes(size_t workers, bool check)
{
	return pipeline_nblocks(workers, check) *
		       (check ? 1 : ROWS_PER_BLOCK) * sizeof(struct row) +
	       workers * WORKER_STACK_BYTES;
}

static size_t pipeline_bytes_past_two(size_t workers, bool check)
{
	size_t all = pipeline_bytes(workers, check), two = pipeline_bytes(2, check);
	return all > two ? all - two : 0;
}

static enum status pipeline_start(struct pipeline *pl, pthread_t *collector,
				  struct error *err)
{
	size_t rows_per_block = pl->check ? 1 : ROWS_PER_BLOCK;
	size_t workers = pl->opt->workers;
	pl->nblocks = pipeline_nblocks(workers, pl->check != NULL);
	pl->blocks = calloc(pl->nblocks, sizeof(*pl->blocks));
	pl->slab = calloc(pl->nblocks * rows_per_block, sizeof(*pl->slab));
	pl->free_blocks = chan_new(sizeof(struct block *), pl->nblocks);
	pl->input = chan_new(sizeof(struct block *), pl->nblocks);
	pl->output = chan_new(sizeof(struct aggregate *), 0);
	pl->agg = calloc(1, sizeof(*pl->agg));
	pl->pending = calloc(pl->nblocks, sizeof(*pl->pending));
	if (!pl->blocks || !pl->slab || !pl->free_blocks || !pl->input ||
	    !pl->output || !pl->agg || !pl->pending) {
		char n[32];
		return error_set(err, ST_NOMEM, "out of memory starting %s workers",
				 text_group_digits((int64_t)workers, n));
	}
	check_stats_init(&pl->agg->checks);
	for (size_t i = 0; i < pl->nblocks; i++) {
		struct block *b = &pl->blocks[i];
		b->pl = pl;
		b->rows = pl->slab + i * rows_per_block;
		if (chan_send(pl->free_blocks, &b) != CHAN_OK)
			abort();
	}
	if (wg_init(&pl->wg) != 0)
		return error_set(err, ST_NOMEM,
				 "cannot create a wait group: out of memory");
	pl->wg_ready = true;
	int errnum = 0;
	char what[64], n[32];
	snprintf(what, sizeof(what), "%s worker threads",
		 text_group_digits((int64_t)workers, n));
	switch (pool_new(workers, pl->nblocks, &pl->pool, &errnum)) {
	case POOL_OK:
		break;
	case POOL_THREAD:
		return thread_error(err, errnum, what);
	default:
		return error_set(err, ST_NOMEM, "cannot start %s: out of memory",
				 what);
	}
	int rc = pthread_create(collector, NULL, collector_main, pl);
	if (rc != 0)
		return thread_error(err, rc, "the collector thread");
	return ST_OK;
}

static void pipeline_free(struct pipeline *pl)
{
	pool_free(pl->pool);
	if (pl->wg_ready)
		wg_destroy(&pl->wg);
	chan_free(pl->free_blocks);
	chan_free(pl->input);
	chan_free(pl->output);
	free(pl->blocks);
	free(pl->slab);
	free(pl->agg);
	free(pl->pending);
}

/* ---- the reader (main thread) ------------------------------------------- */

/* drop --student ID --course CODE: one row, as from a two-column file,
 * with no line of its own. */
static void single_row(const struct register_options *opt, struct row *row)
{
	memset(row, 0, sizeof(*row));
	const struct {
		enum row_field f;
		const char *s;
	} v[] = { { FIELD_STUDENT_ID, opt->single_student },
		  { FIELD_COURSE, opt->course } };
	for (size_t i = 0; i < 2; i++) {
		size_t len = strlen(v[i].s);
		struct row_value *rv = &row->v[v[i].f];
		rv->len = (uint32_t)len;
		memcpy(rv->text, v[i].s, len > ROW_VALUE_MAX ? ROW_VALUE_MAX : len);
		row->present |= 1u << v[i].f;
	}
	row->nfields = 2;
	row->action = opt->action;
}

static enum status next_row(struct pipeline *pl, struct roster_reader *rd,
			    struct row *row, bool *single_done, struct error *err)
{
	if (rd) {
		enum status st = roster_next(rd, row, err);
		const char *w;
		while ((w = roster_take_warning(rd)) != NULL)
			if (pl->opt->warn)
				pl->opt->warn(pl->opt->warn_ctx, w);
		return st;
	}
	if (*single_done)
		return ST_EOF;
	single_row(pl->opt, row);
	*single_done = true;
	return ST_OK;
}

static enum status too_many_rows(struct roster_reader *rd, int64_t max,
				 struct error *err)
{
	char rows[32];
	/* The option as it is typed; the count as it is read. */
	return error_set(err, ST_INPUT,
			 "%s: more than %s row%s (--max-rows %lld); nothing "
			 "was written",
			 rd ? roster_name(rd) : "--student",
			 text_group_digits(max, rows), max == 1 ? "" : "s",
			 (long long)max);
}

/* Reads the roster into blocks and feeds the workers until EOF, an error,
 * a cancel or a collector failure. */
static enum status read_roster(struct pipeline *pl, struct roster_reader *rd,
			       struct error *err)
{
	size_t rows_per_block = pl->check ? 1 : ROWS_PER_BLOCK;
	uint64_t seq = 0;
	bool single_done = false;
	int64_t rows = 0;
	/* For the store's estimate of the roster's rows (store_expect_rows):
	 * rows so far, scaled by the file's size over the bytes parsed. */
	uint64_t size = rd ? roster_input_size(rd) : 0, rows_read = 0;
	enum status st = ST_OK;
	while (st == ST_OK) {
		if (cancelled(pl))
			return ST_CANCELLED;
		if (atomic_load(&pl->collector_failed))
			return ST_OK; /* the collector has the error */
		struct block *b;
		if (chan_recv(pl->free_blocks, &b) != CHAN_OK)
			abort();
		b->count = 0;
		while (b->count < rows_per_block) {
			st = next_row(pl, rd, &b->rows[b->count], &single_done,
				      err);
			if (st != ST_OK)
				break;
			if (pl->opt->max_rows > 0 && ++rows > pl->opt->max_rows) {
				st = too_many_rows(rd, pl->opt->max_rows, err);
				break;
			}
			b->count++;
		}
		if (b->count == 0) {
			chan_send(pl->free_blocks, &b);
			break;
		}
		/* A row past --max-rows (or a reader's error) ends the run:
		 * the rows before it are not submitted, and the first error
		 * stands (a flush below must not turn it into ST_OK). */
		if (st != ST_OK && st != ST_EOF) {
			chan_send(pl->free_blocks, &b);
			break;
		}
		/* The records the collector may copy out must be readable. */
		if (pl->rejects) {
			enum status fst = rejects_flush(pl->rejects, err);
			if (fst != ST_OK) {
				chan_send(pl->free_blocks, &b);
				st = fst;
				break;
			}
		}
		b->seq = seq++;
		rows_read += b->count;
		uint64_t parsed = size ? roster_bytes_parsed(rd) : 0;
		b->rows_expected = parsed ? (uint64_t)((double)rows_read *
						       (double)size /
						       (double)parsed) :
					    0;
		if (pl->opt->progress) {
			struct register_progress *p = pl->opt->progress;
			atomic_fetch_add_explicit(&p->rows_read, b->count,
						  memory_order_relaxed);
			atomic_store_explicit(&p->bytes_read,
					      rd ? roster_bytes_parsed(rd) : 0,
					      memory_order_relaxed);
		}
		wg_add(&pl->wg, 1);
		enum pool_status ps = pool_submit(pl->pool, worker_task, b);
		if (ps == POOL_NOMEM) {
			/* The block never reaches the collector: the batch
			 * fails, and the block goes back to be freed. */
			wg_done(&pl->wg);
			chan_send(pl->free_blocks, &b);
			return error_set(err, ST_NOMEM, "out of memory");
		}
		if (ps != POOL_OK) {
			fprintf(stderr, "bulkreg: fatal: the task pool refused "
					"a block (status %d)\n",
				(int)ps);
			abort(); /* the pool is only shut down by us, later */
		}
	}
	if (st == ST_EOF)
		return ST_OK;
	if (st == ST_CANCELLED || cancelled(pl))
		return ST_CANCELLED;
	return st;
}

/* ---- undo -------------------------------------------------------------- */

/* Appends to err's message. */
static void error_append(struct error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));


/* What an undo put back, per course of the table it ran with (by index):
 * [0] pairs into a seat, [1] pairs onto the waitlist. */
struct undo_back {
	struct pipeline *pl;
	const struct course_table *was; /* the table count is indexed by */
	int64_t (*count)[2];
};

static enum status emit_undo_row(void *ctx, struct row *row, struct error *err)
{
	struct undo_back *ub = ctx;
	if (row->status == STATUS_REGISTERED || row->status == STATUS_WAITLISTED) {
		const struct row_value *code = &row->v[FIELD_COURSE];
		const struct course *c = course_table_find(ub->was, code->text,
							   code->len);
		if (c)
			ub->count[c - ub->was->items]
				 [row->status == STATUS_WAITLISTED]++;
	}
	return emit_row(ub->pl, row, err);
}

/* The undo's promotions are reported by undo_report, from the history,
 * folded with the undo's other changes of the same pair. */
static enum status emit_nothing(void *ctx, struct row *row, struct error *err)
{
	(void)ctx;
	(void)row;
	(void)err;
	return ST_OK;
}

/*
 * The limits changed since the batch (a course add that is not a batch):
 * a waitlist the undo would leave longer than its maximum refuses the undo
 * (verify's "waitlist within its maximum" holds); seats it put back over a
 * lowered capacity are kept, restored exactly, with course add's warning.
 * `was` is the table the undo ran with, pl->courses the one after it and
 * its promotions.
 */
static enum status undo_check_limits(struct pipeline *pl,
				     const struct course_table *was,
				     int64_t (*count)[2], struct error *err)
{
	const struct register_options *opt = pl->opt;
	size_t refused = 0;
	for (size_t i = 0; i < was->count; i++) {
		const char *code = was->items[i].code;
		const struct course *c = course_table_find(&pl->courses, code,
							   strlen(code));
		if (!count[i][1] || !c || c->waitlist_max == WAITLIST_UNLIMITED ||
		    c->waitlisted <= c->waitlist_max)
			continue;
		if (!refused++)
			error_set(err, ST_USAGE,
				  "batch %lld cannot be undone: it would put ",
				  (long long)opt->undo_batch);
		else
			error_append(err, "; and ");
		error_append(err,
			     "%" PRId64 " student%s back on the waitlist of %s, "
			     "whose maximum is now %" PRId64 " (%" PRId64
			     " would wait): raise it first with 'bulkreg course "
			     "add %s --waitlist %" PRId64 "'",
			     count[i][1], count[i][1] == 1 ? "" : "s", code,
			     c->waitlist_max, c->waitlisted, code, c->waitlisted);
	}
	if (refused)
		return ST_USAGE;
	for (size_t i = 0; opt->warn && i < was->count; i++) {
		const char *code = was->items[i].code;
		const struct course *c = course_table_find(&pl->courses, code,
							   strlen(code));
		if (!count[i][0] || !c || c->registered <= c->capacity)
			continue;
		char msg[COURSE_OVER_MESSAGE_MAX];
		course_over_capacity_message(msg, sizeof(msg), c,
					     pl->opt->dry_run);
		opt->warn(opt->warn_ctx, msg);
	}
	return ST_OK;
}

/* `bulkreg undo N`: no roster; the batch's changes are reversed here, on
 * the main thread, while the pipeline idles.  Then any seat the undo left
 * free goes to the waitlist (with the counters as the undo restored them),
 * the positions are written, the report gets one row per pair whose status
 * changed (a pair restored and then promoted: one row, its final status;
 * review 18, B4), and the courses' limits are checked. */
static enum status run_undo(struct pipeline *pl, struct error *err)
{
	const struct register_options *opt = pl->opt;
	struct undo_done done;
	struct undo_back ub = { pl, NULL, NULL };
	ub.count = calloc(pl->courses.count ? pl->courses.count : 1,
			  sizeof(*ub.count));
	if (!ub.count)
		return error_set(err, ST_NOMEM, "out of memory");
	enum status st = undo_apply(db_store(pl->db), opt->undo_batch,
				    pl->batch_id, opt->warn, opt->warn_ctx,
				    &done, err);
	if (st != ST_OK) {
		free(ub.count);
		return st;
	}
	pl->undo_students = done.students;
	if (done.partial && opt->warn) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "batch %lld was made by bulkreg 0.1, which kept no "
			 "history of names and emails: the students it changed "
			 "keep their current values",
			 (long long)opt->undo_batch);
		opt->warn(opt->warn_ctx, msg);
	}
	struct course_table was = pl->courses;
	ub.was = &was;
	course_table_init(&pl->courses);
	policy_free(pl->policy);
	pl->policy = NULL;
	st = db_courses_load(pl->db, &pl->courses, err);
	struct policy_options po = { .batch_id = pl->batch_id };
	if (st == ST_OK)
		st = policy_new(db_store(pl->db), &pl->courses, &po, &pl->policy,
				err);
	if (st == ST_OK)
		st = policy_promote_all(pl->policy, "", emit_nothing, NULL, err);
	/* The positions 1..n behind the promotions, for the report's rows
	 * (run_batch stores the courses again: a no-op by then). */
	if (st == ST_OK)
		st = policy_store_courses(pl->policy, err);
	if (st == ST_OK)
		st = undo_report(db_store(pl->db), opt->undo_batch, pl->batch_id,
				 &done, emit_undo_row, &ub, err);
	if (st == ST_OK)
		st = undo_check_limits(pl, &was, ub.count, err);
	course_table_free(&was);
	free(ub.count);
	return st;
}

static void error_append(struct error *err, const char *fmt, ...)
{
	size_t n = strlen(err->msg);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
	va_end(ap);
}

/* ---- writing the report and finishing ----------------------------------- */

static bool want_report(const struct register_options *opt,
			const struct outcome_counts *c)
{
	if (opt->format != REPORT_TEXT || !opt->quiet)
		return true;
	/* -q with text: only when something needs a human. */
	return c->by_status[STATUS_REJECTED] > 0;
}

/* ---- thresholds ---------------------------------------------------------- */

bool threshold_parse(const char *s, struct threshold *out)
{
	memset(out, 0, sizeof(*out));
	/* Digits, and for a percentage a decimal part: no sign, space,
	 * exponent or hexadecimal.  At most 15 digits in all, so that the
	 * comparison's products stay within 128 bits with room to spare. */
	size_t digits = strspn(s, "0123456789");
	size_t frac = 0;
	if (digits && s[digits] == '.')
		frac = strspn(s + digits + 1, "0123456789");
	size_t len = digits + (frac ? 1 + frac : 0);
	bool percent = digits && s[len] == '%' && s[len + 1] == '\0';
	if (!digits || digits + frac > 15 || (!percent && (frac || s[len])))
		return false;
	int64_t num = 0, scale = 1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.')
			continue;
		num = num * 10 + (s[i] - '0');
		if (i > digits)
			scale *= 10;
	}
	if (percent && num > 100 * scale)
		return false;
	out->set = true;
	out->percent = percent;
	out->num = num;
	out->scale = scale;
	out->text = s;
	return true;
}

bool threshold_exceeded(const struct threshold *t, int64_t n, int64_t total)
{
	if (!t->set)
		return false;
	/* n > P% of total  <=>  n * 100 * scale > num * total, in integers:
	 * every factor is below 2^63, so each product fits 128 bits. */
	__int128 left = (__int128)n * (t->percent ? 100 : 1) * t->scale;
	__int128 right = (__int128)t->num * (t->percent ? total : 1);
	return left > right;
}

/* "C1 3, C2 1, ... and 366 more courses (400 drops)": whole entries only,
 * with room kept for the tail that counts the ones left out. */
struct drops_text {
	char *buf;
	size_t size, used;
	int64_t more_courses, more_drops;
};

#define DROPS_TAIL_ROOM 64

static void add_course_drops(void *ctx, const char *code, int64_t drops)
{
	struct drops_text *d = ctx;
	char entry[160];
	int n = snprintf(entry, sizeof(entry), "%s%s %" PRId64,
			 d->used ? ", " : "", code, drops);
	if (d->more_courses || n < 0 || (size_t)n >= sizeof(entry) ||
	    d->used + (size_t)n + DROPS_TAIL_ROOM >= d->size) {
		d->more_courses++;
		d->more_drops += drops;
		return;
	}
	memcpy(d->buf + d->used, entry, (size_t)n + 1);
	d->used += (size_t)n;
}

static void end_course_drops(struct drops_text *d)
{
	char a[32], b[32];
	if (d->more_courses)
		snprintf(d->buf + d->used, d->size - d->used,
			 "%sand %s more course%s (%s drop%s)", d->used ? ", " : "",
			 text_group_digits(d->more_courses, a),
			 d->more_courses == 1 ? "" : "s",
			 text_group_digits(d->more_drops, b),
			 d->more_drops == 1 ? "" : "s");
}

static enum batch_outcome threshold_outcome(struct pipeline *pl,
					    struct register_result *res)
{
	const struct register_options *opt = pl->opt;
	const struct outcome_counts *c = &res->counts;
	int64_t rejected = c->by_status[STATUS_REJECTED];
	char a[32], b[32]; /* counts a person reads: grouped by thousands */
	if (opt->strict && rejected > 0) {
		snprintf(res->rolled_back_why, sizeof(res->rolled_back_why),
			 "--strict: %s row%s rejected",
			 text_group_digits(rejected, a), rejected == 1 ? "" : "s");
		return BATCH_ROLLED_BACK;
	}
	if (threshold_exceeded(&opt->max_rejects, rejected, c->rows)) {
		snprintf(res->rolled_back_why, sizeof(res->rolled_back_why),
			 "--max-rejects %s: %s of %s row%s rejected",
			 opt->max_rejects.text, text_group_digits(rejected, a),
			 text_group_digits(c->rows, b), c->rows == 1 ? "" : "s");
		return BATCH_ROLLED_BACK;
	}
	int64_t drops = policy_sync_drops(pl->policy);
	int64_t before = policy_sync_pairs_before(pl->policy);
	if (opt->sync && threshold_exceeded(&opt->max_drops, drops, before)) {
		char per_course[ERROR_MAX / 2] = "";
		struct drops_text d = { per_course, sizeof(per_course), 0, 0, 0 };
		policy_sync_drops_each(pl->policy, add_course_drops, &d);
		end_course_drops(&d);
		snprintf(res->rolled_back_why, sizeof(res->rolled_back_why),
			 "--max-drops %s: the sync would drop %s of the %s "
			 "registration%s its courses held (%s)",
			 opt->max_drops.text, text_group_digits(drops, a),
			 text_group_digits(before, b), before == 1 ? "" : "s",
			 per_course);
		return BATCH_ROLLED_BACK;
	}
	return BATCH_COMMITTED;
}

/* Committed, a dry run, or rolled back by --strict, --max-rejects or
 * --max-drops (res->rolled_back_why says which; for a dry run, which one
 * a real run would have hit). */
static enum batch_outcome decide_outcome(struct pipeline *pl,
					 struct register_result *res)
{
	enum batch_outcome o = threshold_outcome(pl, res);
	return pl->opt->dry_run ? BATCH_DRY_RUN : o;
}


/* "DIR: the directory of WHAT is writable by other users ...". */
static void warn_shared_dest(const struct register_options *opt,
			     const char *dir, const char *what)
{
	char msg[ERROR_MAX];
	snprintf(msg, sizeof(msg),
		 "%s: the directory of %s is writable by other users, who "
		 "could delete or replace it once written; write it in a "
		 "directory only you can write",
		 dir, what);
	opt->warn(opt->warn_ctx, msg);
}

/* How the batch ended, for a message after it: "is committed", ... */
static const char *outcome_said(const struct register_result *res)
{
	return res->outcome == BATCH_COMMITTED ? "is committed" :
	       res->outcome == BATCH_DRY_RUN ? "was a dry run: nothing was written" :
					       "was rolled back: nothing was written";
}

static enum status finish_batch(struct pipeline *pl, struct roster_reader *rd,
				struct report_dest *dest,
				struct register_result *res,
				const struct check_stats *checks,
				const struct timespec *t0, struct error *err)
{
	const struct register_options *opt = pl->opt;
	char hex[65] = "";
	if (rd)
		roster_sha256_hex(rd, hex);
	const char *sha = rd ? hex : NULL; /* no roster, no checksum */
	res->outcome = decide_outcome(pl, res);

	enum status st = ST_OK;
	if (res->outcome == BATCH_COMMITTED)
		st = db_batch_flush(pl->db, err);
	if (st != ST_OK) {
		db_batch_abort(pl->db);
		return st;
	}
	res->elapsed_seconds = monotime_since(t0);
	if (opt->rows_done)
		opt->rows_done(opt->rows_done_ctx);

	struct report_summary sum = {
		.batch_id = pl->batch_id,
		.source = source_name(pl, rd),
		.profile = rd ? roster_profile(rd) : NULL,
		.sha256 = sha,
		.undo_of = opt->undo_batch,
		.drop = opt->action != ROW_ENROL && !opt->undo_batch,
		.label = pl->label,
		.rolled_back_why = res->rolled_back_why[0] ? res->rolled_back_why :
							   NULL,
		.outcome = res->outcome,
		.counts = &res->counts,
		.elapsed_seconds = res->elapsed_seconds,
		.workers = opt->workers,
		.checks = checks->count,
		.check_median_seconds = check_stats_median(checks),
		.check_max_seconds = checks->max_seconds,
		/* -q trims a text report on standard output only: one sent
		 * to a file with -o is written whole. */
		.quiet = opt->quiet && !opt->output_path,
		.courses = &pl->courses,
	};

	/* --rejects: all on disk before anything is shown or committed. */
	if (pl->rejects && (st = rejects_sync(pl->rejects, err)) != ST_OK) {
		db_batch_abort(pl->db);
		return st;
	}

	/* A report written in place (standard output, a device, a FIFO) is
	 * seen as it is written; one in a temporary file only once renamed. */
	bool in_place = !dest->atomic;
	bool write_it = opt->output_path || want_report(opt, &res->counts);
	if (write_it) {
		pl->report_sent = in_place;
		st = report_write(pl->report, &sum, report_dest_fd(dest), dest->name,
				  err);
		if (st == ST_OK && dest->atomic)
			st = atomic_file_sync(&dest->af, err);
		if (st != ST_OK) {
			/* The report is the proof of what happened: without it,
			 * nothing happens.  Keep the history when we can --
			 * unless a signal came meanwhile (a reader that stopped
			 * reading, then went away): an interrupted run records
			 * nothing. */
			if (dest->atomic)
				atomic_file_discard(&dest->af);
			if (cancelled(pl)) {
				db_batch_abort(pl->db);
				return error_set(err, ST_CANCELLED, "interrupted");
			}
			struct error ignored = {0};
			if (db_batch_finish(pl->db, pl->batch_id, BATCH_ROLLED_BACK,
					    &res->counts, sha, &ignored) != ST_OK)
				db_batch_abort(pl->db);
			res->outcome = BATCH_ROLLED_BACK;
			/* Whatever part of it a reader got claims an outcome
			 * that did not happen. */
			error_append(err, "; batch %lld was rolled back%s",
				     (long long)pl->batch_id,
				     in_place ? " and the report written there "
						"is void" :
						"");
			return st;
		}
	}

	/* The last moment a signal can still undo everything. */
	if (cancelled(pl)) {
		if (dest->atomic)
			atomic_file_discard(&dest->af);
		db_batch_abort(pl->db);
		return error_set(err, ST_CANCELLED, "interrupted before the commit");
	}
	st = db_batch_finish(pl->db, pl->batch_id, res->outcome, &res->counts, sha,
			     err);
	res->recorded = st == ST_OK;
	if (st != ST_OK) {
		if (dest->atomic)
			atomic_file_discard(&dest->af);
		else if (write_it)
			/* A commit whose outcome is unknown may have
			 * happened (review 15, A4: "not committed" of one). */
			error_append(err, "; the report written %s%s %s batch %lld %s",
				     dest->direct_fd >= 0 ? "to " : "above",
				     dest->direct_fd >= 0 ? dest->name : "",
				     db_commit_unknown(pl->db) ? "stands only if" :
								 "is void:",
				     (long long)pl->batch_id,
				     db_commit_unknown(pl->db) ?
					     "is listed as committed" :
					     "was not committed");
		return st;
	}
	if (dest->atomic) {
		st = atomic_file_publish(&dest->af, err);
		dest->atomic = false;
		if (st != ST_OK) {
			/* The batch has ended: keep the report wherever it is
			 * now, and say how the batch ended (a dry run or a
			 * rollback was said to be committed: review 14, B1). */
			char *kept = atomic_file_keep(&dest->af);
			error_append(err,
				     " (batch %lld %s; its report is at %s",
				     (long long)pl->batch_id, outcome_said(res),
				     kept ? kept : opt->output_path);
			free(kept);
			/* The rejected rows go where they were asked to, or
			 * stay, named, where they are. */
			struct error rej_err = {0};
			if (pl->rejects &&
			    rejects_publish(pl->rejects, &rej_err) != ST_OK)
				error_append(err, "; %s", rej_err.msg);
			error_append(err, ")");
			return st;
		}
	} else if (dest->direct_fd >= 0) {
		int rc = close(dest->direct_fd);
		dest->direct_fd = -1;
		if (rc != 0)
			return error_set(err, ST_IO,
					 "%s: cannot close the report: %s (batch "
					 "%lld is committed)",
					 dest->name, strerror(errno),
					 (long long)pl->batch_id);
	}
	res->report_written = write_it;
	if (pl->rejects && (st = rejects_publish(pl->rejects, err)) != ST_OK) {
		error_append(err, " (batch %lld %s%s)", (long long)pl->batch_id,
			     outcome_said(res),
			     write_it ? ", and its report written" : "");
		return st;
	}
	return ST_OK;
}

/* ---- waiting for the database ------------------------------------------ */

/* Waits `seconds`, or less if `done` closes; false when cancelled. */
static bool pause_unless_cancelled(const struct pipeline *pl, double seconds)
{
	struct timespec until = chan_deadline_after(seconds);
	if (pl->opt->done) {
		int unused;
		return chan_recv_until(pl->opt->done, &unused, &until) ==
		       CHAN_TIMEOUT;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) ==
	       EINTR)
		;
	return true;
}

/* One try: opens the database if it is not open, and begins the batch. */
static enum status try_open_and_begin(struct pipeline *pl, struct db **dbp,
				      const struct batch_meta *meta,
				      struct error *err)
{
	const struct register_options *opt = pl->opt;
	enum status st = ST_OK;
	if (!*dbp)
		st = db_open_target(opt->db_path, opt->schema, 0,
				    opt->file_mode | opt->db_open_flags |
					    DB_OPEN_WRITE,
				    dbp, err);
	/* PostgreSQL waits for the row locks of courses other
	 * batches hold as the batch goes (store_course_lock). */
	if (st == ST_OK && db_is_pg(*dbp))
		st = db_set_lock_wait(*dbp, opt->wait_seconds, err);
	if (st == ST_OK)
		db_set_memory_held(*dbp, pl->held_bytes);
	if (st == ST_OK) {
		course_table_free(&pl->courses);
		course_table_init(&pl->courses);
		st = db_batch_begin(*dbp, meta, &pl->batch_id,
				    &pl->courses, err);
	}
	/* Run again after a deadlock: the batches that met in it would meet
	 * again (each takes its courses in its roster's order), so this one
	 * goes alone -- it waits for every batch holding a course, and the
	 * batches that start after it wait for it (review 20, F02). */
	if (st == ST_OK && opt->alone && db_is_pg(*dbp)) {
		st = store_lock_all(db_store(*dbp), err);
		if (st != ST_OK)
			db_batch_abort(*dbp);
	}
	return st;
}

/* What the progress line shows: waiting for the lock, and for how long. */
static void lock_wait_show(struct register_progress *p, bool waiting,
			   double seconds, double max_seconds)
{
	if (!p)
		return;
	atomic_store_explicit(&p->lock_waited_ms, (uint64_t)(seconds * 1000),
			      memory_order_relaxed);
	atomic_store_explicit(&p->lock_wait_max_ms,
			      (uint64_t)(max_seconds * 1000),
			      memory_order_relaxed);
	atomic_store_explicit(&p->lock_waiting, waiting, memory_order_relaxed);
}

/*
 * Opens the database and begins the batch, waiting up to --wait for a
 * lock another process holds (its batch, a course command, a database
 * being created).  SQLite's busy timeout would do that waiting inside
 * sqlite3_step(), deaf to SIGINT and SIGTERM for up to --wait seconds; so
 * the connection gets no busy timeout, and the waiting is done here, in
 * steps of 1 to 50 ms, on the `done` channel.  Only ST_BUSY is retried:
 * nothing has been written then (busy while it was being opened, created
 * or upgraded elsewhere, *dbp is NULL and it is opened again).  The
 * progress line says that it waits, and how long so far.
 */
static enum status open_and_begin(struct pipeline *pl, struct db **dbp,
				  const struct batch_meta *meta,
				  struct error *err)
{
	const struct register_options *opt = pl->opt;
	struct timespec t0 = monotime_now();
	double step = 0.001;
	enum status st;
	while ((st = try_open_and_begin(pl, dbp, meta, err)) == ST_BUSY) {
		double waited = monotime_since(&t0);
		lock_wait_show(opt->progress, true, waited, opt->wait_seconds);
		double left = opt->wait_seconds - waited;
		if (left <= 0) {
			st = error_set(err, ST_BUSY,
				       "%s: database is locked by another "
				       "process (waited %g s)",
				       opt->db_shown ? opt->db_shown : opt->db_path,
				       opt->wait_seconds);
			break;
		}
		if (!pause_unless_cancelled(pl, step < left ? step : left)) {
			st = error_set(err, ST_CANCELLED, "interrupted");
			break;
		}
		step = step * 2 < 0.05 ? step * 2 : 0.05;
	}
	if (opt->progress && atomic_load(&opt->progress->lock_waiting))
		lock_wait_show(opt->progress, false, monotime_since(&t0),
			       opt->wait_seconds);
	return st;
}

/* ---- the job ------------------------------------------------------------ */

/* --rejects: the file begins as the roster does. */
static enum status start_rejects(struct rejects *rj,
				 const struct roster_reader *rd,
				 struct error *err)
{
	struct roster_file_format ff;
	roster_file_format(rd, &ff);
	struct rejects_format f = {
		.delimiter = ff.delimiter,
		.encoding = ff.encoding,
		.bom = ff.bom,
		.sep_line = ff.sep_line,
		.eol = ff.eol,
	};
	return rejects_start(rj, &f, err);
}

static void json_option_text(FILE *f, const char **sep, const char *name,
			     const char *value)
{
	if (!value)
		return;
	fprintf(f, "%s\"%s\":", *sep, name);
	json_write_string(f, value, strlen(value));
	*sep = ",";
}

static void json_option_bool(FILE *f, const char **sep, const char *name,
			     bool value)
{
	if (!value)
		return;
	fprintf(f, "%s\"%s\":true", *sep, name);
	*sep = ",";
}

/* The options that shaped the batch, as a JSON object for its record;
 * NULL when there is no memory (the record then holds none). */
static char *options_json(const struct register_options *opt,
			  const struct roster_reader *rd)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		return NULL;
	const char *sep = "";
	fputc('{', f);
	json_option_text(f, &sep, "course", opt->course);
	json_option_text(f, &sep, "student", opt->single_student);
	json_option_bool(f, &sep, "strict", opt->strict);
	json_option_text(f, &sep, "max_rejects",
			 opt->max_rejects.set ? opt->max_rejects.text : NULL);
	json_option_bool(f, &sep, "sync", opt->sync);
	json_option_text(f, &sep, "sync_scope",
			 opt->sync ? (opt->sync_all ? "all" : "roster") : NULL);
	json_option_text(f, &sep, "max_drops",
			 opt->sync && opt->max_drops.set ? opt->max_drops.text
							 : NULL);
	json_option_text(f, &sep, "check", opt->check_cmd);
	/* issue 12: how the export was read */
	json_option_text(f, &sep, "encoding", opt->encoding);
	json_option_text(f, &sep, "users", opt->users_path);
	/* The users file is overwritten each night: its content, by hash. */
	json_option_text(f, &sep, "users_sha256",
			 rd ? roster_users_sha256_hex(rd) : NULL);
	json_option_text(f, &sep, "users_encoding", opt->users_encoding);
	json_option_bool(f, &sep, "allow_missing_email", opt->allow_missing_email);
	json_option_bool(f, &sep, "course_from_section", opt->course_from_section);
	static const char *const modes[] = { "always", "fill", "never" };
	json_option_text(f, &sep, "update_students",
			 opt->update_students ? modes[opt->update_students]
					      : NULL);
	fputc('}', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* A file the run writes (-o, --rejects) naming the database (or its
 * -wal, -shm or -journal, by name even before SQLite makes them, or by any
 * other name of one that exists), the roster or --users would replace it.
 * The rejects file may be the roster itself: the roster is read whole
 * before it is replaced. */
static enum status output_not_an_input(const struct register_options *opt,
				       const char *option, const char *path,
				       const char *written, bool may_be_roster,
				       struct error *err)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	enum status st = ST_OK;
	bool sqlite = opt->db_path && !db_target_is_pg(opt->db_path);
	/* By name first: the -journal, -wal and -shm stay beside the
	 * database (db_sqlite.c), and "that is the database" would be wrong
	 * for them. */
	if (sqlite)
		st = report_dest_not_db_file(option, path, written, opt->db_path,
					     err);
	for (size_t i = 0; st == ST_OK && sqlite && i < 4; i++) {
		char *p = malloc(strlen(opt->db_path) + strlen(suffixes[i]) + 1);
		if (!p)
			return error_set(err, ST_NOMEM, "out of memory");
		strcpy(p, opt->db_path);
		strcat(p, suffixes[i]);
		st = report_dest_not_same(option, path, written, p, "the database", err);
		free(p);
	}
	if (st == ST_OK && !may_be_roster && opt->roster_path &&
	    strcmp(opt->roster_path, "-") != 0)
		st = report_dest_not_same(option, path, written, opt->roster_path,
					  "the roster", err);
	if (st == ST_OK && opt->users_path)
		st = report_dest_not_same(option, path, written, opt->users_path,
					  "the --users file", err);
	return st;
}

/* Whether `path` is the very file standard output is (/dev/stdout, or the
 * file it was redirected to), but for /dev/null, where both may go. */
static bool rejects_on_stdout(const char *path)
{
	struct stat a, null;
	return report_dest_stdio_fd(path) == STDOUT_FILENO &&
	       !(stat(path, &a) == 0 && S_ISCHR(a.st_mode) &&
		 stat("/dev/null", &null) == 0 && null.st_rdev == a.st_rdev);
}

/* -o and --rejects must not name a file the run reads or writes: refused
 * before anything is opened. */
static enum status check_outputs(const struct register_options *opt,
				 struct error *err)
{
	enum status st = ST_OK;
	if (opt->rejects_path && !opt->single_student && !opt->undo_batch)
		st = output_not_an_input(opt, "--rejects", opt->rejects_path,
					 "the rejected rows", true, err);
	if (st == ST_OK && opt->output_path)
		st = output_not_an_input(opt, "-o", opt->output_path,
					 "the report", false, err);
	/* Two names of one file (./r.csv and r.csv, a link): the later
	 * rename would replace the other's output. */
	if (st == ST_OK && opt->output_path && opt->rejects_path &&
	    !opt->single_student && !opt->undo_batch)
		st = report_dest_not_named("--rejects", opt->rejects_path,
					   "the rejected rows", opt->output_path,
					   "the report's file (-o)", err);
	if (st == ST_OK && !opt->output_path && opt->rejects_path &&
	    !opt->single_student && !opt->undo_batch &&
	    rejects_on_stdout(opt->rejects_path))
		st = error_set(err, ST_USAGE,
			       "--rejects %s: that is standard output, where the "
			       "report goes too (give the report -o FILE)",
			       opt->rejects_path);
	return st;
}

enum status register_run(const struct register_options *opt,
			 struct register_result *res, struct error *err)
{
	struct timespec t0 = monotime_now();
	memset(res, 0, sizeof(*res));

	struct db *db = NULL;
	struct pipeline pl = {.opt = opt};
	course_table_init(&pl.courses);
	atomic_init(&pl.collector_failed, false);
	struct roster_reader *rd = NULL;
	struct check_config *check = NULL;
	struct report_dest dest;
	report_dest_init(&dest);
	pthread_t collector;
	bool batch_open = false;
	struct aggregate *agg = NULL; /* pl.agg, once the collector hands it over */
	enum status st;

	struct roster_options ro = {
		.delimiter = opt->delimiter,
		.delimiter_given = opt->delimiter_given,
		.course_override = opt->course,
		.action = opt->action,
		.encoding = opt->encoding,
		.users_encoding = opt->users_encoding,
		.profile = opt->profile,
		.map = opt->map,
		.users_path = opt->users_path,
		.course_from_section = opt->course_from_section,
		.cancelled = reader_cancelled,
		.cancel_ctx = &pl,
	};
	st = check_outputs(opt, err);
	res->usage_error = st == ST_USAGE;
	if (st != ST_OK)
		goto out;
	if (opt->rejects_path && !opt->single_student && !opt->undo_batch) {
		st = rejects_new(opt->rejects_path,
				 opt->file_mode ? opt->file_mode : 0600,
				 reader_cancelled, &pl, &pl.rejects, err);
		if (st != ST_OK)
			goto out;
		ro.copy_field = rejects_field;
		ro.copy_end = rejects_record_end;
		ro.copy_ctx = pl.rejects;
	}
	if (opt->single_student || opt->undo_batch) {
		pl.header_columns = 2;
	} else {
		st = roster_open(opt->roster_path, &ro, &rd, err);
		if (st == ST_OK && pl.rejects &&
		    strcmp(roster_profile(rd), "moodle-flatfile") == 0)
			/* Its first line is data: there is no header to keep. */
			st = error_set(err, ST_USAGE,
				       "--rejects: a Moodle flat file has no header "
				       "line to write the rejected rows under");
		/* Only Canvas enrollments have both: elsewhere every row would
		 * lose its course. */
		if (st == ST_OK && opt->course_from_section &&
		    strcmp(roster_profile(rd), "canvas") != 0) {
			st = error_set(err, ST_USAGE,
				       "--course-from section_id: %s was read as "
				       "%s, not as Canvas enrollments (the "
				       "option chooses between their course_id "
				       "and section_id columns)",
				       strcmp(opt->roster_path, "-") == 0 ?
					       "standard input" :
					       opt->roster_path,
				       roster_profile(rd));
			res->usage_error = true;
		}
		if (st == ST_OK && pl.rejects)
			st = start_rejects(pl.rejects, rd, err);
		if (st != ST_OK)
			goto out;
		pl.header_columns = roster_columns(rd);
		pl.held_bytes = roster_held_bytes(rd);
	}

	if (opt->check_cmd) {
		st = check_config_new(opt->check_cmd, opt->check_timeout, &check, err);
		if (st == ST_OK)
			st = check_config_preflight(check, err);
		if (st != ST_OK)
			goto out;
		char msg[ERROR_MAX];
		if (opt->warn && check_config_trust_warning(check, msg, sizeof(msg)))
			opt->warn(opt->warn_ctx, msg);
		if (!opt->check_env_inherit)
			check_config_clean_env(check);
		pl.check = check;
	}
	/* Where the report goes must work before anything is written (what
	 * it must not be was checked first: check_outputs). */
	if (opt->output_path) {
		st = report_dest_open(&dest, opt->output_path, "the report",
				      opt->file_mode ? opt->file_mode : 0600,
				      reader_cancelled, &pl, err);
		if (st != ST_OK)
			goto out;
	}
	/* As the database's directory warns (review 21, F06): whoever may
	 * write there may delete or replace the file once written. */
	if (opt->warn) {
		const char *rej_dir = pl.rejects ? rejects_shared_dir(pl.rejects) :
						   NULL;
		if (report_dest_dir_shared(&dest))
			warn_shared_dest(opt, report_dest_dir(&dest), "the report");
		if (rej_dir && !(report_dest_dir_shared(&dest) &&
				 strcmp(rej_dir, report_dest_dir(&dest)) == 0))
			warn_shared_dest(opt, rej_dir, "the rejects file");
	}
	/* The rows wait beside the -o file (its filesystem, its owner's
	 * space), else in $TMPDIR. */
	st = report_new(opt->format, report_dest_dirfd(&dest),
			report_dest_dir(&dest), &pl.report, err);
	if (st != ST_OK)
		goto out;
	report_set_cancel(pl.report, reader_cancelled, &pl);
	report_set_all(pl.report, opt->all_rows);

	char *options = options_json(opt, rd);
	char undo_label[64];
	snprintf(undo_label, sizeof(undo_label), "undo of batch %lld",
		 (long long)opt->undo_batch);
	struct batch_meta meta = {
		.kind = opt->undo_batch		 ? BATCH_KIND_UNDO :
			opt->action != ROW_ENROL ? BATCH_KIND_DROP :
			opt->sync		 ? BATCH_KIND_SYNC :
						   BATCH_KIND_REGISTER,
		.source = source_name(&pl, rd),
		.label = opt->label ? opt->label :
			 opt->undo_batch ? undo_label : NULL,
		.options = options,
		.profile = rd ? roster_profile(rd) : NULL, /* issue 12 */
		.undo_of = opt->undo_batch,
	};
	pl.label = meta.label;
	pl.held_bytes += pipeline_bytes_past_two(opt->workers, pl.check != NULL);
	st = open_and_begin(&pl, &db, &meta, err);
	free(options);
	pl.db = db;
	if (st != ST_OK)
		goto out;
	/* A statement that runs long (a huge batch's commit) still hears a
	 * signal. */
	db_set_cancel(db, reader_cancelled, &pl);
	db_set_wait_notice(db, opt->wait_notice, opt->wait_notice_ctx);
	batch_open = true;
	struct policy_options po = {
		.batch_id = pl.batch_id,
		.update_students = opt->update_students,
		.sync = opt->sync,
		.sync_all = opt->sync_all,
		.course_override = opt->course,
	};
	st = policy_new(db_store(db), &pl.courses, &po, &pl.policy, err);
	if (st != ST_OK)
		goto out;
	res->batch_id = pl.batch_id;
	/* drop --student ID --course CODE is one row: an unknown course is
	 * that row's rejection, not a usage error. */
	if (opt->course && !opt->single_student &&
	    !course_table_find(&pl.courses, opt->course, strlen(opt->course))) {
		char hint[COURSE_HINT_MAX];
		course_table_hint(hint, sizeof(hint), &pl.courses, opt->course,
				  strlen(opt->course));
		/* Adding the course is advice for a register; a drop from a
		 * course that is not there has nothing to drop. */
		const char *advice = hint[0] ? "" :
				     opt->action == ROW_DROP ?
				     " (so no one is registered in it)" :
				     " (add it first with 'bulkreg course add')";
		st = error_set(err, ST_USAGE, "--course %s: no such course%s%s",
			       opt->course, hint, advice);
		res->usage_error = true;
		goto out;
	}
	/* The roster's warnings, once the run is sure to go on: "ignoring the
	 * course column ... (--course)" before a refusal of that --course
	 * told of a run that never happened (review 19, F16). */
	if (opt->warn && rd)
		for (size_t i = 0; i < roster_warning_count(rd); i++)
			opt->warn(opt->warn_ctx, roster_warning(rd, i));
	/* A database made by init holds no course yet: every row of a
	 * roster would be unknown_course, with nothing to say why. */
	if (!opt->undo_batch && !opt->single_student && pl.courses.count == 0 &&
	    opt->warn)
		opt->warn(opt->warn_ctx,
			  "the database has no courses yet: every row will be "
			  "unknown_course (create them first with 'bulkreg "
			  "course import FILE' or 'bulkreg course add CODE "
			  "--capacity N')");

	st = pipeline_start(&pl, &collector, err);
	if (st != ST_OK)
		goto out;

	/* RegisterStudents: feed everything, wait for every task's result,
	 * close the input channel, and take the aggregate. */
	st = opt->undo_batch ? run_undo(&pl, err) : read_roster(&pl, rd, err);
	wg_wait(&pl.wg);
	chan_close(pl.input);
	if (chan_recv(pl.output, &agg) != CHAN_OK)
		abort();
	pthread_join(collector, NULL);
	pool_shutdown(pl.pool);

	if (st == ST_OK && agg->st != ST_OK) {
		st = agg->st;
		*err = agg->err;
	}
	if (st == ST_OK && cancelled(&pl))
		st = ST_CANCELLED;
	/* A report that cannot be assembled is one that cannot be written:
	 * the batch is rolled back and, when the database can still be
	 * written, recorded so (bulkreg(1), SAFETY), as at the end. */
	if (st == ST_IO && pl.spool_failed && !cancelled(&pl)) {
		struct error ignored = {0};
		bool recorded = db_batch_finish(db, pl.batch_id, BATCH_ROLLED_BACK,
						&agg->counts, NULL, &ignored) == ST_OK;
		batch_open = false;
		res->batch_id = pl.batch_id;
		error_append(err, "; batch %lld was rolled back%s: nothing was "
			     "written", (long long)pl.batch_id,
			     recorded ? " (recorded in the history)" : "");
		goto out;
	}
	/* After the last row: --sync's drops, then the course counters. */
	if (st == ST_OK)
		st = policy_finish_rows(pl.policy, emit_row, &pl, err);
	if (st == ST_OK)
		st = policy_store_courses(pl.policy, err);
	if (st == ST_OK && cancelled(&pl))
		st = ST_CANCELLED;
	if (st != ST_OK)
		goto out;

	res->counts = agg->counts;
	/* An undo's student changes have no row (issue 11: a row per pair). */
	if (opt->undo_batch)
		res->counts.students_changed = pl.undo_students;
	if (res->counts.rows == 0 && opt->warn && rd) {
		char msg[ERROR_MAX];
		snprintf(msg, sizeof(msg),
			 "%s: the roster has a header but no data rows",
			 source_name(&pl, rd));
		opt->warn(opt->warn_ctx, msg);
	}
	st = finish_batch(&pl, rd, &dest, res, &agg->checks, &t0, err);
	batch_open = false;

out:
	if (batch_open)
		db_batch_abort(db);
	if (st == ST_CANCELLED && pl.batch_id == 0)
		/* Before the batch began (waiting for the database's lock):
		 * there was nothing to roll back (review 19, F11). */
		error_set(err, ST_CANCELLED,
			  "interrupted before the batch began: nothing was "
			  "written");
	else if (st == ST_CANCELLED && !pl.report_sent)
		error_set(err, ST_CANCELLED,
			  "interrupted: the batch was rolled back, nothing was "
			  "written");
	else if (st == ST_CANCELLED)
		error_set(err, ST_CANCELLED,
			  "interrupted: the batch was rolled back, nothing was "
			  "written (the report written %s%s is void)",
			  dest.direct_fd >= 0 ? "to " : "above",
			  dest.direct_fd >= 0 ? dest.name : "");
	report_dest_close(&dest);
	rejects_free(pl.rejects); /* removed unless published */
	pipeline_free(&pl); /* and with it the aggregate */
	report_free(pl.report);
	check_config_free(check);
	policy_free(pl.policy);
	course_table_free(&pl.courses);
	roster_close(rd);
	db_close(db);
	return st;
}
