/* db: opening the store, error mapping, courses and listings; see db.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dest_walk.h"
#include "escape.h"
#include "db_internal.h"
#include "dbtarget.h"
#include "validate.h"


static const char *const outcome_names[] = {
	[BATCH_COMMITTED] = "committed",
	[BATCH_DRY_RUN] = "dry_run",
	[BATCH_ROLLED_BACK] = "rolled_back",
};

const char *batch_outcome_name(enum batch_outcome o)
{
	return (unsigned)o <= BATCH_ROLLED_BACK ? outcome_names[o] : "unknown";
}

const char *batch_outcome_words(enum batch_outcome o)
{
	static const char *const words[] = {
		[BATCH_COMMITTED] = "committed",
		[BATCH_DRY_RUN] = "dry run",
		[BATCH_ROLLED_BACK] = "rolled back",
	};
	return (unsigned)o <= BATCH_ROLLED_BACK ? words[o] : "unknown";
}

/* ---- errors and small helpers ------------------------------------------ */

enum status db__cannot_write(struct db *db, const char *detail,
			     struct error *err)
{
	if (db->pg)
		return error_set(err, ST_DB, "%s: cannot write: %s", db->path,
				 detail);
	/* A side file that stays beside the database with another owner (a
	 * database handed over with chown of the file alone: review 25 F03)
	 * is named, not the database. */
	static const char *const side[] = { "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		char name[4200];
		int n = snprintf(name, sizeof(name), "%s%s", db->path, side[i]);
		if (n < 0 || (size_t)n >= sizeof(name) ||
		    faccessat(AT_FDCWD, name, F_OK, AT_SYMLINK_NOFOLLOW) != 0 ||
		    access(name, R_OK | W_OK) == 0)
			continue;
		return error_set(err, ST_DB,
				 "%s: cannot write: %s: %s cannot be read and "
				 "written by you (a database is four files: "
				 "chown or chmod its -wal, -shm and -journal as "
				 "the database, while no command runs)",
				 db->path, detail, name);
	}
	return error_set(err, ST_DB,
			 "%s: cannot write: %s (is the file or its directory "
			 "read-only?)",
			 db->path, detail);
}

/* The directory that holds (or would hold) path, into dir[cap]; false if
 * its name does not fit. */
bool db__parent_dir(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, cap, ".");
		return cap > 1;
	}
	size_t len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= cap)
		return false;
	memcpy(dir, path, len);
	dir[len] = '\0';
	return true;
}

/* Whether the directory that would hold the database exists. */
static bool parent_dir_exists(const char *path)
{
	char dir[4096];
	if (!db__parent_dir(path, dir, sizeof(dir)))
		return true; /* cannot tell; let the caller's message stand */
	struct stat sb;
	return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
}

bool db_dir_writable_by_others(const char *path, char *dir, size_t cap)
{
	char d[4096];
	struct stat sb;
	if (db_target_is_pg(path) || !db__parent_dir(path, d, sizeof(d)) ||
	    stat(d, &sb) != 0)
		return false;
	snprintf(dir, cap, "%s", d);
	/* Anyone may write; or a group other than the caller's own; or its
	 * owner is another user (not root), who may rename what is in it. */
	return dest_dir_shared(&sb);
}

/* Whether other users can reach path: every directory on its way lets
 * them search it (o+x).  A database in a 0700 directory is private
 * whatever its own mode (review 25 F11). */
static bool reachable_by_others(const char *path)
{
	char dir[4096];
	if (!db__parent_dir(path, dir, sizeof(dir)))
		return true;
	char real[PATH_MAX];
	if (!realpath(dir, real))
		return true;
	for (;;) {
		struct stat sb;
		if (stat(real, &sb) != 0)
			return true;
		if (!(sb.st_mode & S_IXOTH))
			return false;
		char *slash = strrchr(real, '/');
		if (!slash || slash == real) {
			if (strcmp(real, "/") == 0)
				return true;
			real[1] = '\0';
			continue;
		}
		*slash = '\0';
	}
}

bool db_readable_by_others(const char *path, char *names, size_t cap,
			   unsigned *mode)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	size_t used = 0;
	if (cap)
		names[0] = '\0';
	if (db_target_is_pg(path) || !reachable_by_others(path))
		return false;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char name[4200];
		struct stat sb;
		if ((size_t)snprintf(name, sizeof(name), "%s%s", path,
				     suffixes[i]) >= sizeof(name) ||
		    lstat(name, &sb) != 0 || !S_ISREG(sb.st_mode) ||
		    !(sb.st_mode & S_IROTH))
			continue;
		if (!used)
			*mode = (unsigned)(sb.st_mode & 07777);
		int n = used < cap ? snprintf(names + used, cap - used, "%s%s",
					      used ? ", " : "", name) :
				     0;
		used += n > 0 ? (size_t)n : 1;
	}
	return used > 0;
}

/* PostgreSQL's errors that have no SQLite counterpart. */
static enum status pg_fail(struct db *db, enum sqldb_rc rc, const char *what,
			   const char *msg, struct error *err)
{
	switch (rc) {
	case SQLDB_EBUSY:
		/* Word for word SQLite's: scripts match on it. */
		return error_set(err, ST_BUSY,
				 "%s: database is locked by another process "
				 "(waited %g s)",
				 db->path, db->wait_seconds);
	case SQLDB_EDEADLOCK:
		return error_set(err, ST_CONFLICT,
				 "%s: %s: this batch and another one waited for "
				 "each other (the server broke the deadlock); "
				 "nothing was written: run it again",
				 db->path, what);
	case SQLDB_ECONN:
		return error_set(err, ST_DB,
				 "%s: %s: the connection to the server was lost "
				 "(%s); nothing was written",
				 db->path, what, msg);
	case SQLDB_EAUTH:
		return error_set(err, ST_DB, "%s: cannot connect: %s", db->path,
				 msg);
	case SQLDB_EPERM:
	case SQLDB_EREADONLY:
		return error_set(err, ST_DB,
				 "%s: %s: %s (the role needs the privileges the "
				 "manual lists)",
				 db->path, what, msg);
	default:
		return error_set(err, ST_DB, "%s: %s: %s", db->path, what, msg);
	}
}

enum status db__fail(struct db *db, enum sqldb_rc rc, const char *what,
		     struct error *err)
{
	const char *msg = db->c ? sqldb_errmsg(db->c) : "out of memory";
	int sys = db->c ? sqldb_system_errno(db->c) : 0;

	switch (rc) {
	case SQLDB_ENOMEM:
		return error_set(err, ST_NOMEM, "%s: %s: out of memory",
				 db->path, what);
	case SQLDB_EINTERRUPT:
		return error_set(err, ST_CANCELLED, "%s: %s: interrupted",
				 db->path, what);
	default:
		break;
	}
	if (db->pg)
		return pg_fail(db, rc, what, msg, err);
	switch (rc) {
	case SQLDB_EBUSY:
		return error_set(err, ST_BUSY,
				 "%s: database is locked by another process "
				 "(waited %g s)",
				 db->path, db->wait_seconds);
	case SQLDB_ENOTADB:
		return error_set(err, ST_DB, "%s: not an SQLite database",
				 db->path);
	case SQLDB_ECANTOPEN:
		/* The errno left behind is from SQLite's read-only retry,
		 * so look at the directory instead. */
		if (!parent_dir_exists(db->path)) {
			char dir[4096];
			db__parent_dir(db->path, dir, sizeof(dir));
			return error_set(err, ST_DB,
					 "%s: cannot open: there is no directory "
					 "%s: create it first (mkdir -p %s)",
					 db->path, dir, dir);
		}
		return db__cannot_write(db, msg, err);
	case SQLDB_EREADONLY:
		return db__cannot_write(db, msg, err);
	case SQLDB_EFULL:
		return error_set(err, ST_IO,
				 "%s: %s: %s (the disk is full or a file-size "
				 "limit was reached)",
				 db->path, what, msg);
	case SQLDB_EIO:
		return error_set(err, ST_IO,
				 "%s: %s: I/O error: %s (the disk may be full "
				 "or a file-size limit reached)",
				 db->path, what, sys ? strerror(sys) : msg);
	case SQLDB_ECORRUPT:
		return error_set(err, ST_DB, "%s: the database is damaged (%s)",
				 db->path, msg);
	default:
		return error_set(err, ST_DB, "%s: %s: %s", db->path, what, msg);
	}
}

enum status db__exec(struct db *db, const char *sql, const char *what,
		     struct error *err)
{
	enum sqldb_rc rc = sqldb_exec(db->c, sql);
	return rc == SQLDB_OK ? ST_OK : db__fail(db, rc, what, err);
}

enum status db__exec_bound(struct db *db, const char *sql, int64_t a,
			   int64_t b, const char *what, struct error *err)
{
	enum status st = ST_OK;
	for (const char *p = sql; st == ST_OK && *p;) {
		struct sqldb_stmt *stmt = NULL;
		const char *tail = NULL;
		enum sqldb_rc rc = sqldb_prepare(db->c, p, 0, &stmt, &tail);
		if (rc != SQLDB_OK)
			return db__fail(db, rc, what, err);
		if (!stmt)
			break; /* only white space was left */
		if (sqldb_bind_count(stmt) >= 1)
			sqldb_bind_int64(stmt, 1, a);
		if (sqldb_bind_count(stmt) >= 2)
			sqldb_bind_int64(stmt, 2, b);
		st = db__step_done(db, stmt, what, err);
		sqldb_finalize(stmt);
		p = tail;
	}
	return st;
}

enum status db__prepare(struct db *db, const char *sql, unsigned flags,
			struct sqldb_stmt **out, struct error *err)
{
	enum sqldb_rc rc = sqldb_prepare(db->c, sql, flags, out, NULL);
	return rc == SQLDB_OK ? ST_OK : db__fail(db, rc, "preparing a query", err);
}

enum status db__step_done(struct db *db, struct sqldb_stmt *stmt,
			  const char *what, struct error *err)
{
	enum sqldb_rc rc = sqldb_step(stmt);
	sqldb_reset(stmt);
	return rc == SQLDB_DONE ? ST_OK : db__fail(db, rc, what, err);
}

enum status db__query_int(struct db *db, const char *sql, int64_t a,
			  int64_t *out, const char *what, struct error *err)
{
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	if (sqldb_bind_count(stmt) >= 1)
		sqldb_bind_int64(stmt, 1, a);
	enum sqldb_rc rc = sqldb_step(stmt);
	*out = rc == SQLDB_ROW ? sqldb_column_int64(stmt, 0) : 0;
	if (rc != SQLDB_ROW)
		st = db__fail(db, rc, what, err);
	sqldb_finalize(stmt);
	return st;
}

/* Binds text or NULL. */
static void bind_text_or_null(struct sqldb_stmt *stmt, int i, const char *s)
{
	if (s)
		sqldb_bind_text(stmt, i, s, -1);
	else
		sqldb_bind_null(stmt, i);
}

/* ---- opening ------------------------------------------------------------ */

void db_set_wait_notice(struct db *db, db_wait_notice_fn notice, void *ctx)
{
	db->wait_notice = notice;
	db->wait_notice_ctx = ctx;
}

void db_set_cancel(struct db *db, bool (*cancelled)(void *ctx), void *ctx)
{
	sqldb_set_cancel(db->c, cancelled, ctx);
}

bool db_is_pg(const struct db *db)
{
	return db->pg;
}

const char *db_name(const struct db *db)
{
	return db->path;
}

enum status db_set_lock_wait(struct db *db, double seconds,
			     struct error *err)
{
	db->wait_seconds = seconds > 0 ? seconds : 0;
	if (!db->pg)
		return ST_OK;
	/* 0 is "do not wait" here and "forever" to PostgreSQL. */
	long ms = seconds > 0 ? (long)(seconds * 1000.0 + 0.5) : 1;
	if (ms < 1)
		ms = 1;
	char sql[64];
	snprintf(sql, sizeof(sql), "SET lock_timeout = %ld", ms);
	return db__exec(db, sql, "setting the lock wait", err);
}

enum status db_open_target(const char *target, const char *schema,
			   double wait_seconds, unsigned create_mode,
			   struct db **out, struct error *err)
{
	*out = NULL;
	if (!target || !*target)
		return error_set(err, ST_USAGE, "the database path is empty");
	bool pg = db_target_is_pg(target);
	if (pg) {
		enum status st = db_target_check(target, err);
		if (st != ST_OK)
			return st;
		if (schema && !db_schema_name_valid(schema))
			return error_set(err, ST_USAGE,
					 "schema '%.80s' is not a name bulkreg "
					 "uses: a lowercase letter or '_', then "
					 "up to %d lowercase letters, digits or "
					 "'_' (not pg_...)",
					 schema, DB_PG_SCHEMA_MAX - 1);
	}
	struct db *db = calloc(1, sizeof(*db));
	char shown[4096];
	db_target_redact(target, shown, sizeof(shown));
	if (!db || !(db->path = strdup(shown))) {
		free(db);
		return error_set(err, ST_NOMEM, "%s: out of memory", shown);
	}
	db->pg = pg;
	db->wait_seconds = wait_seconds > 0 ? wait_seconds : 0;
	snprintf(db->schema, sizeof(db->schema), "%s",
		 schema ? schema : DB_PG_SCHEMA_DEFAULT);
	enum status st = pg ? db__open_pg(db, target, create_mode, err) :
			      db__open_sqlite(db, target, create_mode, err);
	if (st == ST_OK && pg)
		st = db_set_lock_wait(db, wait_seconds, err);
	if (st != ST_OK) {
		db_close(db);
		return st;
	}
	*out = db;
	return ST_OK;
}

enum status db_open(const char *path, double wait_seconds,
		    unsigned create_mode, struct db **out, struct error *err)
{
	return db_open_target(path, NULL, wait_seconds, create_mode, out, err);
}

void db_close(struct db *db)
{
	if (!db)
		return;
	db__store_close(db);
	sqldb_close(db->c);
	db__close_sqlite(db);
	sqldb_close(db->json);
	if (db->json_sqlite)
		sqlite3_close(db->json_sqlite);
	free(db->path);
	free(db);
}

/* ---- transactions ------------------------------------------------------- */

enum status db__begin_write(struct db *db, const char *what,
			    struct error *err)
{
	return db__exec(db, db->pg ? "BEGIN" : "BEGIN IMMEDIATE", what, err);
}

enum status db__begin_read(struct db *db, const char *what,
			   struct error *err)
{
	return db__exec(db,
			db->pg ? "BEGIN ISOLATION LEVEL REPEATABLE READ" : "BEGIN",
			what, err);
}

/*
 * PostgreSQL: gives the transaction's history rows the ids after every
 * committed one, in the order they were written -- what SQLite's
 * max(id) + 1 gives them.  Commits take turns on an advisory lock from
 * here to their end, so each numbers after the one before.
 */
static enum status number_history(struct db *db, struct error *err)
{
	static const char sql[] =
		"SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext("
		"pg_catalog.textcat('bulkreg history ids ',"
		" CAST(current_schema() AS text))));"
		"UPDATE history SET id = n.new_id FROM (SELECT id,"
		" (SELECT coalesce(max(id), 0) FROM history"
		"  WHERE id < " DB_PG_HISTORY_TEMP_ID ")"
		" + row_number() OVER (ORDER BY id) AS new_id FROM history"
		" WHERE id >= " DB_PG_HISTORY_TEMP_ID ") AS n"
		" WHERE history.id = n.id";
	return db__exec(db, sql, "numbering the history", err);
}

#ifdef BULKREG_TEST_HOOKS
/* Test builds only (see the Makefile): the server ends the session just
 * before the COMMIT, whose outcome the client then cannot know. */
static void lose_connection_for_tests(struct db *db)
{
	const char *s = getenv("BULKREG_TEST_PG_LOSE_COMMIT");
	if (db->pg && s && strcmp(s, "1") == 0)
		sqldb_exec(db->c, "SELECT pg_terminate_backend(pg_backend_pid())");
}
#else
static void lose_connection_for_tests(struct db *db)
{
	(void)db;
}
#endif

enum status db__commit(struct db *db, const char *how_to_check,
		       struct error *err)
{
	if (db->pg) {
		enum status st = number_history(db, err);
		if (st != ST_OK)
			return st;
	}
	lose_connection_for_tests(db);
	enum sqldb_rc rc = sqldb_exec(db->c, "COMMIT");
	db->commit_unknown = db->pg && rc == SQLDB_ECONN;
	if (rc == SQLDB_OK)
		return ST_OK;
	if (db->commit_unknown)
		return error_set(err, ST_DB,
				 "%s: the connection to the server was lost "
				 "while committing (%s): the outcome is "
				 "unknown; %s",
				 db->path, sqldb_errmsg(db->c), how_to_check);
	return db__fail(db, rc, "committing", err);
}

bool db_commit_unknown(const struct db *db)
{
	return db->commit_unknown;
}

enum status db_begin(struct db *db, struct error *err)
{
	return db__begin_write(db, "starting a transaction", err);
}

enum status db_commit(struct db *db, struct error *err)
{
	enum status st = db__commit(db,
				    "run the command again once the server "
				    "is back and compare",
				    err);
	if (st != ST_OK)
		db_rollback(db);
	return st;
}

void db_rollback(struct db *db)
{
	if (sqldb_in_transaction(db->c))
		sqldb_exec(db->c, "ROLLBACK");
}


/* ---- courses ------------------------------------------------------------ */

static enum status course_input_check(const struct course_input *in,
				      struct error *err)
{
	if (!in->code || !id_valid(in->code, strlen(in->code)))
		return error_set(err, ST_USAGE,
				 "course code '%.64s' is not valid: use 1 to %d "
				 "bytes of UTF-8 text with no control or invisible "
				 "characters and no space at either end",
				 in->code ? in->code : "", COURSE_CODE_MAX);
	char n[2][32];
	if (in->capacity < 0 || in->capacity > COURSE_CAPACITY_MAX)
		return error_set(err, ST_USAGE,
				 "course %s: capacity %s is out of range "
				 "(0 to %s)",
				 in->code, text_group_digits(in->capacity, n[0]),
				 text_group_digits(COURSE_CAPACITY_MAX, n[1]));
	if (in->has_waitlist && in->waitlist_max != WAITLIST_UNLIMITED &&
	    (in->waitlist_max < 0 || in->waitlist_max > COURSE_CAPACITY_MAX))
		return error_set(err, ST_USAGE,
				 "course %s: waitlist %s is out of range "
				 "(0 to %s, or unlimited)",
				 in->code, text_group_digits(in->waitlist_max, n[0]),
				 text_group_digits(COURSE_CAPACITY_MAX, n[1]));
	return ST_OK;
}

struct course_counts {
	int64_t id, registered, waitlisted;
	bool found;
};

static enum status course_counts_get(struct db *db, const char *code,
				     struct course_counts *cc,
				     struct error *err)
{
	static const char sql[] =
		"SELECT id, registered, waitlisted FROM courses WHERE code = ?1";
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_text(stmt, 1, code, -1);
	enum sqldb_rc rc = sqldb_step(stmt);
	cc->found = rc == SQLDB_ROW;
	if (cc->found) {
		cc->id = sqldb_column_int64(stmt, 0);
		cc->registered = sqldb_column_int64(stmt, 1);
		cc->waitlisted = sqldb_column_int64(stmt, 2);
	} else if (rc != SQLDB_DONE) {
		st = db__fail(db, rc, "reading a course", err);
	}
	sqldb_finalize(stmt);
	return st;
}

/* Binds ?2 title, ?3 capacity, ?4 has_waitlist, ?5 waitlist_max. */
static void bind_course_values(struct sqldb_stmt *stmt, const struct course_input *in)
{
	bind_text_or_null(stmt, 2, in->title);
	sqldb_bind_int64(stmt, 3, in->capacity);
	sqldb_bind_int64(stmt, 4, in->has_waitlist);
	if (in->has_waitlist && in->waitlist_max != WAITLIST_UNLIMITED)
		sqldb_bind_int64(stmt, 5, in->waitlist_max);
	else
		sqldb_bind_null(stmt, 5);
}

/* Runs a one-shot statement with the course values bound, plus ?1 / ?6. */
static enum status course_write(struct db *db, const char *sql,
				const struct course_input *in, int64_t id,
				struct error *err)
{
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_text(stmt, 1, in->code, -1);
	bind_course_values(stmt, in);
	sqldb_bind_int64(stmt, 6, id);
	st = db__step_done(db, stmt, "writing a course", err);
	sqldb_finalize(stmt);
	return st;
}

static enum status course_insert(struct db *db, const struct course_input *in,
				 struct error *err)
{
	static const char sql[] =
		"INSERT INTO courses (code, title, capacity, waitlist_max,"
		" created_at, updated_at)"
		" VALUES (?1, coalesce(?2, ''), ?3, ?5, " DB_NOW_SQL ", "
		DB_NOW_SQL ")";
	return course_write(db, sql, in, 0, err);
}

static enum status course_update(struct db *db, const struct course_input *in,
				 int64_t id, struct error *err)
{
	/* The WHERE keeps a re-import of the same values from writing. */
	static const char sql[] =
		"UPDATE courses SET title = coalesce(?2, title), capacity = ?3,"
		" waitlist_max = CASE WHEN ?4 <> 0 THEN ?5 ELSE waitlist_max END,"
		" updated_at = " DB_NOW_SQL
		" WHERE id = ?6 AND (title IS DISTINCT FROM coalesce(?2, title)"
		"  OR capacity IS DISTINCT FROM ?3"
		"  OR (?4 <> 0 AND waitlist_max IS DISTINCT FROM ?5))";
	return course_write(db, sql, in, id, err);
}

static enum status course_put_locked(struct db *db,
				     const struct course_input *in,
				     struct error *err)
{
	struct course_counts cc;
	enum status st = course_counts_get(db, in->code, &cc, err);
	if (st != ST_OK)
		return st;
	if (!cc.found)
		return course_insert(db, in, err);
	/* A capacity may go below the registered count (everyone keeps
	 * their seat); a waitlist maximum may not go below the students
	 * still waiting once the new capacity's free seats have taken the
	 * first of them (course_save promotes them in the same batch), who
	 * have no seat to keep and could only be dropped. */
	int64_t free_seats = in->capacity > cc.registered
				     ? in->capacity - cc.registered
				     : 0;
	int64_t waiting = cc.waitlisted > free_seats ? cc.waitlisted - free_seats
						     : 0;
	char n[2][32];
	if (in->has_waitlist && in->waitlist_max != WAITLIST_UNLIMITED &&
	    in->waitlist_max < waiting)
		return error_set(err, ST_USAGE,
				 "course %s: a waitlist of %s is shorter than "
				 "the %s student%s waiting (drop some first, or "
				 "raise the capacity)",
				 in->code, text_group_digits(in->waitlist_max, n[0]),
				 text_group_digits(waiting, n[1]),
				 waiting == 1 ? "" : "s");
	return course_update(db, in, cc.id, err);
}

enum status db_course_put(struct db *db, const struct course_input *in,
			  struct error *err)
{
	enum status st = course_input_check(in, err);
	if (st != ST_OK)
		return st;
	/* Inside db_begin a savepoint makes one failed put undo only
	 * itself; alone, BEGIN IMMEDIATE takes the write lock up front. */
	bool own = !sqldb_in_transaction(db->c);
	st = own ? db__begin_write(db, "starting a course update", err) :
		   db__exec(db, "SAVEPOINT course_put",
			    "starting a course update", err);
	if (st != ST_OK)
		return st;
	st = course_put_locked(db, in, err);
	if (st == ST_OK)
		st = own ? db__commit(db, "list the courses to see", err) :
			   db__exec(db, "RELEASE course_put", "saving a course",
				    err);
	if (st != ST_OK) {
		if (own)
			db_rollback(db);
		else if (sqldb_in_transaction(db->c))
			sqldb_exec(db->c,
				   "ROLLBACK TO course_put; RELEASE course_put");
	}
	return st;
}

static enum status course_from_stmt(struct db *db, struct sqldb_stmt *stmt,
				    struct course_table *out,
				    struct error *err)
{
	struct course c;
	memset(&c, 0, sizeof(c));
	const char *code = sqldb_column_text(stmt, 1);
	int len = sqldb_column_bytes(stmt, 1);
	if (!code || len > COURSE_CODE_MAX)
		return error_set(err, ST_DB,
				 "%s: course %lld has a code longer than %d bytes",
				 db->path, (long long)sqldb_column_int64(stmt, 0),
				 COURSE_CODE_MAX);
	memcpy(c.code, code, (size_t)len);
	c.id = sqldb_column_int64(stmt, 0);
	c.title = (char *)sqldb_column_text(stmt, 2);
	c.capacity = sqldb_column_int64(stmt, 3);
	c.waitlist_max = sqldb_column_is_null(stmt, 4) ?
				 WAITLIST_UNLIMITED :
				 sqldb_column_int64(stmt, 4);
	c.registered = sqldb_column_int64(stmt, 5);
	c.waitlisted = sqldb_column_int64(stmt, 6);
	c.seat_seq = sqldb_column_int64(stmt, 7);
	return course_table_add(out, &c, err);
}

enum status db_courses_load(struct db *db, struct course_table *out,
			    struct error *err)
{
	static const char sql[] =
		"SELECT id, code, title, capacity, waitlist_max, registered,"
		" waitlisted, seat_seq FROM courses ORDER BY code";
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	enum sqldb_rc rc = SQLDB_DONE;
	while (st == ST_OK && (rc = sqldb_step(stmt)) == SQLDB_ROW)
		st = course_from_stmt(db, stmt, out, err);
	if (st == ST_OK && rc != SQLDB_DONE)
		st = db__fail(db, rc, "loading courses", err);
	sqldb_finalize(stmt);
	return st;
}

/* ---- listings ----------------------------------------------------------- */

const char *db__column_str(struct sqldb_stmt *stmt, int i)
{
	const char *s = sqldb_column_text(stmt, i);
	return s ? s : "";
}

const char *db__column_str_or_null(struct sqldb_stmt *stmt, int i)
{
	return sqldb_column_text(stmt, i);
}

static void roster_entry_from_stmt(struct sqldb_stmt *stmt, struct roster_entry *e)
{
	e->student_id = db__column_str(stmt, 0);
	e->first_name = db__column_str(stmt, 1);
	e->last_name = db__column_str(stmt, 2);
	e->email = db__column_str(stmt, 3);
	bool waiting = strcmp(db__column_str(stmt, 4), "waitlisted") == 0;
	e->status = waiting ? STATUS_WAITLISTED : STATUS_REGISTERED;
	e->position = waiting ? sqldb_column_int64(stmt, 5) : 0;
	e->batch_id = sqldb_column_int64(stmt, 6);
	e->line = sqldb_column_int64(stmt, 7);
}

enum status db_course_roster(struct db *db, const char *code, db_roster_fn fn,
			     void *ctx, struct error *err)
{
	static const char sql[] =
		"SELECT r.student_id, s.first_name, s.last_name, s.email,"
		" r.status, r.seq, r.batch_id, r.line"
		" FROM registrations AS r"
		" LEFT JOIN students AS s ON s.student_id = r.student_id"
		" WHERE r.course_id = ?1"
		" ORDER BY r.status <> 'registered', r.seq";
	struct course_counts cc;
	enum status st = course_counts_get(db, code, &cc, err);
	if (st != ST_OK)
		return st;
	if (!cc.found)
		return error_set(err, ST_NOTFOUND, "no course '%s'", code);

	struct sqldb_stmt *stmt = NULL;
	st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_int64(stmt, 1, cc.id);
	enum sqldb_rc rc;
	while ((rc = sqldb_step(stmt)) == SQLDB_ROW) {
		struct roster_entry e;
		roster_entry_from_stmt(stmt, &e);
		if (fn(ctx, &e, err) != 0) {
			st = ST_IO;
			goto out;
		}
	}
	if (rc != SQLDB_DONE)
		st = db__fail(db, rc, "listing a course", err);
out:
	sqldb_finalize(stmt);
	return st;
}

static enum batch_outcome outcome_parse(const char *s)
{
	if (strcmp(s, "committed") == 0)
		return BATCH_COMMITTED;
	if (strcmp(s, "dry_run") == 0)
		return BATCH_DRY_RUN;
	/* 'running' is only ever seen by the connection running that batch:
	 * an unfinished batch never commits. */
	return BATCH_ROLLED_BACK;
}

static enum row_reason reason_lookup(const char *name)
{
	for (int r = REASON_NONE + 1; r < REASON_COUNT; r++)
		if (strcmp(row_reason_name((enum row_reason)r), name) == 0)
			return (enum row_reason)r;
	return REASON_NONE;
}

/*
 * The SQLite connection whose JSON functions read the reasons column: the
 * database's own, or on PostgreSQL one in memory, opened once -- so both
 * stores read it with the very same code.  NULL: out of memory.
 */
static struct sqldb *json_conn(struct db *db)
{
	if (!db->pg)
		return db->c;
	if (!db->json_sqlite) {
		sqlite3 *h = NULL;
		if (sqlite3_open_v2(":memory:", &h,
				    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				    NULL) != SQLITE_OK ||
		    !(db->json = sqldb_wrap_sqlite(h))) {
			sqlite3_close(h);
			return NULL;
		}
		db->json_sqlite = h;
	}
	return db->json;
}

/*
 * Reads the reasons column, {"name": n, ...} as db_batch_finish writes it,
 * into by_reason, through SQLite's JSON functions (json_conn).  Names this
 * bulkreg does not know are skipped.  False if the text is not a JSON
 * object whose values are integers.
 */
static bool reasons_parse(struct db *db, const char *s,
			  int64_t by_reason[REASON_COUNT])
{
	static const char sql[] =
		"SELECT j.key, j.value, j.type = 'integer' FROM json_each(?1) AS j"
		" WHERE json_type(?1) = 'object'"
		" UNION ALL SELECT NULL, NULL, json_type(?1) = 'object'";
	struct sqldb *conn = json_conn(db);
	struct sqldb_stmt *stmt = NULL;
	bool ok = conn && sqldb_prepare(conn, sql, 0, &stmt, NULL) == SQLDB_OK &&
		  stmt;
	if (ok)
		sqldb_bind_text(stmt, 1, s, -1);
	enum sqldb_rc rc = SQLDB_EOTHER;
	/* Each member, then one last row saying whether s is an object. */
	while (ok && (rc = sqldb_step(stmt)) == SQLDB_ROW) {
		ok = sqldb_column_int64(stmt, 2) != 0;
		const char *name = sqldb_column_text(stmt, 0);
		enum row_reason r = name ? reason_lookup(name) : REASON_NONE;
		if (ok && r != REASON_NONE)
			by_reason[r] = sqldb_column_int64(stmt, 1);
	}
	ok = ok && rc == SQLDB_DONE; /* malformed JSON is an error */
	sqldb_finalize(stmt);
	return ok;
}

static int64_t column_id_or_0(struct sqldb_stmt *stmt, int i)
{
	return sqldb_column_is_null(stmt, i) ?
		       0 :
		       sqldb_column_int64(stmt, i);
}

/* The columns are DB_BATCH_COLUMNS, in order. */
bool db__batch_from_stmt(struct db *db, struct sqldb_stmt *stmt,
			 struct batch_record *b)
{
	memset(b, 0, sizeof(*b));
	b->id = sqldb_column_int64(stmt, 0);
	b->started_at = db__column_str(stmt, 1);
	b->finished_at = db__column_str_or_null(stmt, 2);
	b->source = db__column_str(stmt, 3);
	b->sha256 = db__column_str_or_null(stmt, 4);
	b->label = db__column_str_or_null(stmt, 5);
	b->outcome = outcome_parse(db__column_str(stmt, 6));
	b->counts.rows = sqldb_column_int64(stmt, 7);
	static const enum row_status cols[] = {
		STATUS_REGISTERED, STATUS_WAITLISTED, STATUS_ALREADY_REGISTERED,
		STATUS_ALREADY_WAITLISTED, STATUS_REJECTED, STATUS_PROMOTED,
		STATUS_DROPPED, STATUS_SKIPPED,
	};
	for (int i = 0; i < 8; i++)
		b->counts.by_status[cols[i]] = sqldb_column_int64(stmt, 8 + i);
	b->kind = db__column_str(stmt, 16);
	b->options = db__column_str_or_null(stmt, 17);
	b->profile = db__column_str_or_null(stmt, 18);
	b->undo_of = column_id_or_0(stmt, 19);
	b->undone_by = column_id_or_0(stmt, 20);
	const char *reasons = db__column_str_or_null(stmt, 21);
	return !reasons || reasons_parse(db, reasons, b->counts.by_reason);
}

enum status db_batches_list(struct db *db, db_batch_fn fn, void *ctx,
			    struct error *err)
{
	static const char sql[] =
		"SELECT " DB_BATCH_COLUMNS " FROM batches ORDER BY id";
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	enum sqldb_rc rc;
	while ((rc = sqldb_step(stmt)) == SQLDB_ROW) {
		struct batch_record b;
		if (!db__batch_from_stmt(db, stmt, &b)) {
			st = error_set(err, ST_DB,
				       "%s: batch %lld: the reasons column is "
				       "not a JSON object of counts",
				       db->path, (long long)b.id);
			goto out;
		}
		if (fn(ctx, &b, err) != 0) {
			st = ST_IO;
			goto out;
		}
	}
	if (rc != SQLDB_DONE)
		st = db__fail(db, rc, "listing batches", err);
out:
	sqldb_finalize(stmt);
	return st;
}
