/* db_batch: a batch's transaction and record -- begin, flush, finish, abort. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"

static const char finish_batch_sql[] =
	"UPDATE batches SET outcome = ?2, finished_at = " DB_NOW_SQL ","
	" sha256 = ?3, rows = ?4, registered = ?5, waitlisted = ?6,"
	" already_registered = ?7, already_waitlisted = ?8, rejected = ?9,"
	" reasons = ?10, promoted = ?11, dropped = ?12, skipped = ?13"
	" WHERE id = ?1";

static const char *const kind_names[] = {
	[BATCH_KIND_REGISTER] = "register",
	[BATCH_KIND_DROP] = "drop",
	[BATCH_KIND_SYNC] = "sync",
	[BATCH_KIND_UNDO] = "undo",
	[BATCH_KIND_COURSE] = "course",
	[BATCH_KIND_REPAIR] = "repair",
};

const char *batch_kind_name(enum batch_kind k)
{
	return (unsigned)k <= BATCH_KIND_REPAIR ? kind_names[k] : "unknown";
}

bool batch_kind_parse(const char *s, enum batch_kind *out)
{
	for (unsigned k = 0; k <= BATCH_KIND_REPAIR; k++)
		if (s && strcmp(s, kind_names[k]) == 0) {
			*out = (enum batch_kind)k;
			return true;
		}
	return false;
}

struct store *db_store(struct db *db)
{
	return (struct store *)db;
}

/* ---- begin -------------------------------------------------------------- */

/* Back to the connection's normal state once no transaction is open. */
static void batch_end(struct db *db)
{
	if (!db->pg)
		sqldb_exec(db->c, "PRAGMA foreign_keys = ON");
	db->batch_open = false;
	if (db->pg && db->batch_id && !sqldb_in_transaction(db->c))
		db__pg_batch_id_give_back(db, db->batch_id);
	db->batch_id = 0;
	db__cache_end(db);
}

static enum status batch_record(struct db *db, const struct batch_meta *meta,
				int64_t *batch_id, struct error *err)
{
	static const char sql[] =
		"INSERT INTO batches (id, started_at, source, label, outcome, kind,"
		" options, profile, undo_of, full_history)"
		" VALUES (coalesce(?7, " DB_SQLITE_NEXT_BATCH_SQL "), " DB_NOW_SQL
		", ?1, ?2, 'running', ?3, ?4, ?5, ?6, 1)"
		" RETURNING id";
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_text(stmt, 1, meta->source ? meta->source : "", -1);
	if (meta->label)
		sqldb_bind_text(stmt, 2, meta->label, -1);
	sqldb_bind_text(stmt, 3, batch_kind_name(meta->kind), -1);
	if (meta->options)
		sqldb_bind_text(stmt, 4, meta->options, -1);
	if (meta->profile)
		sqldb_bind_text(stmt, 5, meta->profile, -1);
	if (meta->undo_of)
		sqldb_bind_int64(stmt, 6, meta->undo_of);
	if (*batch_id) /* PostgreSQL's, from the sequence */
		sqldb_bind_int64(stmt, 7, *batch_id);
	else /* SQLite: DB_SQLITE_NEXT_BATCH_SQL */
		sqldb_bind_null(stmt, 7);
	enum sqldb_rc rc = sqldb_step(stmt);
	if (rc == SQLDB_ROW)
		*batch_id = sqldb_column_int64(stmt, 0);
	else
		st = db__fail(db, rc, "recording the batch", err);
	sqldb_finalize(stmt);
	return st;
}

enum status db_batch_begin(struct db *db, const struct batch_meta *meta,
			   int64_t *batch_id, struct course_table *courses,
			   struct error *err)
{
	*batch_id = 0;
	enum status st = db__store_prepare(db, err);
	if (st == ST_OK && db->pg)
		st = db__pg_batch_id_take(db, batch_id, err);
	if (st != ST_OK)
		return st;
	db->batch_id = *batch_id;
	/* A no-op inside a transaction, so it goes first (db_store.c). */
	st = db->pg ? ST_OK :
		      db__exec(db, "PRAGMA foreign_keys = OFF", "starting the batch",
			       err);
	if (st == ST_OK)
		st = db__begin_write(db, "starting the batch", err);
	if (st != ST_OK) {
		batch_end(db);
		return st;
	}
	st = batch_record(db, meta, batch_id, err);
	if (st == ST_OK)
		st = db__exec(db,
			      "DELETE FROM temp.batch_seen;"
			      "DELETE FROM temp.batch_named;"
			      "SAVEPOINT batch_rows",
			      "starting the batch", err);
	if (st == ST_OK && courses)
		st = db_courses_load(db, courses, err);
	if (st != ST_OK) {
		db_rollback(db);
		batch_end(db);
		return st;
	}
	db->batch_open = true;
	st = db__cache_start(db, meta->kind, *batch_id, err);
	if (st != ST_OK) {
		db_rollback(db);
		batch_end(db);
	}
	return st;
}

enum status db_batch_flush(struct db *db, struct error *err)
{
	enum status st = db__cache_final_flush(db, err);
	if (st != ST_OK)
		return st;
	enum sqldb_rc rc = sqldb_flush(db->c);
	return rc == SQLDB_OK ? ST_OK : db__fail(db, rc, "writing the batch", err);
}

/* ---- finish ------------------------------------------------------------- */

/* {"reason": n, ...} for the reasons rejected rows had; "{}" for none. */
static void reasons_json(const struct outcome_counts *counts, char *buf,
			 size_t size)
{
	size_t used = (size_t)snprintf(buf, size, "{");
	const char *sep = "";
	for (int r = REASON_NONE + 1; r < REASON_COUNT && used < size; r++) {
		if (counts->by_reason[r] == 0)
			continue;
		used += (size_t)snprintf(buf + used, size - used,
					 "%s\"%s\":%" PRId64, sep,
					 row_reason_name((enum row_reason)r),
					 counts->by_reason[r]);
		sep = ",";
	}
	if (used < size)
		snprintf(buf + used, size - used, "}");
}

static enum status complete_record(struct db *db, int64_t batch_id,
				   enum batch_outcome outcome,
				   const struct outcome_counts *counts,
				   const char *sha256_hex, struct error *err)
{
	static const struct outcome_counts none;
	if (!counts)
		counts = &none;
	/* Every reason at 20 digits fits easily. */
	char reasons[REASON_COUNT * 48 + 8];
	reasons_json(counts, reasons, sizeof(reasons));

	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, finish_batch_sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	const int64_t *n = counts->by_status;
	sqldb_bind_int64(stmt, 1, batch_id);
	sqldb_bind_text(stmt, 2, batch_outcome_name(outcome), -1);
	if (sha256_hex)
		sqldb_bind_text(stmt, 3, sha256_hex, -1);
	sqldb_bind_int64(stmt, 4, counts->rows);
	sqldb_bind_int64(stmt, 5, n[STATUS_REGISTERED]);
	sqldb_bind_int64(stmt, 6, n[STATUS_WAITLISTED]);
	sqldb_bind_int64(stmt, 7, n[STATUS_ALREADY_REGISTERED]);
	sqldb_bind_int64(stmt, 8, n[STATUS_ALREADY_WAITLISTED]);
	sqldb_bind_int64(stmt, 9, n[STATUS_REJECTED]);
	sqldb_bind_text(stmt, 10, reasons, -1);
	sqldb_bind_int64(stmt, 11, n[STATUS_PROMOTED]);
	sqldb_bind_int64(stmt, 12, n[STATUS_DROPPED]);
	sqldb_bind_int64(stmt, 13, n[STATUS_SKIPPED]);
	st = db__step_done(db, stmt, "completing the batch record", err);
	sqldb_finalize(stmt);
	return st;
}

/* COMMIT; if the connection goes during it, the batch's own row tells
 * later whether it happened (batch ids come from a sequence: never
 * reused). */
static enum status commit_batch(struct db *db, int64_t batch_id,
				struct error *err)
{
	char how[160];
	snprintf(how, sizeof(how),
		 "'bulkreg batches' lists batch %" PRId64 " as committed if "
		 "it was, and does not list it if it was not",
		 batch_id);
	return db__commit(db, how, err);
}

enum status db_batch_finish(struct db *db, int64_t batch_id,
			    enum batch_outcome outcome,
			    const struct outcome_counts *counts,
			    const char *sha256_hex, struct error *err)
{
	if (!db->batch_open)
		abort(); /* no batch open */
	enum status st;
	if (outcome == BATCH_COMMITTED) {
		st = db__cache_flush(db, err);
		if (st == ST_OK)
			st = complete_record(db, batch_id, outcome, counts,
					     sha256_hex, err);
		if (st == ST_OK)
			st = db__exec(db, "RELEASE batch_rows",
				      "committing the batch", err);
	} else {
		/* Only the batch's own row stays: a dry run records no
		 * changes. */
		st = db__exec(db, "ROLLBACK TO batch_rows; RELEASE batch_rows",
			      "undoing the batch", err);
		if (st == ST_OK)
			st = complete_record(db, batch_id, outcome, counts,
					     sha256_hex, err);
	}
	if (st == ST_OK)
		st = commit_batch(db, batch_id, err);
	if (st != ST_OK)
		db_rollback(db);
	batch_end(db);
	return st;
}

enum status db_batch_finish_unrecorded(struct db *db, int64_t batch_id,
				       struct error *err)
{
	if (!db->batch_open)
		abort(); /* no batch open */
	static const char sql[] =
		"DELETE FROM batch_courses WHERE batch_id = ?1;"
		"DELETE FROM batches WHERE id = ?1";
	enum status st = db__cache_flush(db, err);
	if (st == ST_OK)
		st = db__exec(db, "RELEASE batch_rows", "saving", err);
	if (st == ST_OK)
		st = db__exec_bound(db, sql, batch_id, 0, "removing an empty batch",
				    err);
	if (st == ST_OK)
		st = db__commit(db, "list the courses to see whether the "
				"change is there", err);
	if (st != ST_OK)
		db_rollback(db);
	batch_end(db);
	return st;
}

void db_batch_abort(struct db *db)
{
	/* Only a batch's transaction: a db_begin one is not ours to end. */
	if (!db || !db->batch_open)
		return;
	db_rollback(db);
	batch_end(db);
}
