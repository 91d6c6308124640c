/* db: opening the store, error mapping, courses and listings; see db.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db_internal.h"
#include "parse.h"
#include "validate.h"

#define CACHE_SIZE_PRAGMA "PRAGMA cache_size = -49152" /* 48 MiB */
#define WAL_RETRY_MS 5
#define PROGRESS_STEPS 4096 /* SQLite steps between cancellation checks */

static const char *const outcome_names[] = {
	[BATCH_COMMITTED] = "committed",
	[BATCH_DRY_RUN] = "dry_run",
	[BATCH_ROLLED_BACK] = "rolled_back",
};

const char *batch_outcome_name(enum batch_outcome o)
{
	return (unsigned)o <= BATCH_ROLLED_BACK ? outcome_names[o] : "unknown";
}

/* ---- errors and small helpers ------------------------------------------ */

static enum status cannot_write(struct db *db, const char *detail,
				struct error *err)
{
	return error_set(err, ST_DB,
			 "%s: cannot write: %s (is the file or its directory "
			 "read-only?)",
			 db->path, detail);
}

/* The directory that holds (or would hold) path, into dir[cap]; false if
 * its name does not fit. */
static bool parent_dir(const char *path, char *dir, size_t cap)
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
	if (!parent_dir(path, dir, sizeof(dir)))
		return true; /* cannot tell; let the caller's message stand */
	struct stat sb;
	return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
}

bool db_dir_writable_by_others(const char *path, char *dir, size_t cap)
{
	char d[4096];
	struct stat sb;
	if (!parent_dir(path, d, sizeof(d)) || stat(d, &sb) != 0)
		return false;
	snprintf(dir, cap, "%s", d);
	return (sb.st_mode & S_IWOTH) != 0;
}

/* Some calls (sqlite3_db_cacheflush) return an error without recording it
 * on the handle, whose message then still says "not an error". */
static bool handle_holds(const struct db *db, int rc)
{
	return db->h && (sqlite3_errcode(db->h) & 0xff) == (rc & 0xff);
}

enum status db__fail(struct db *db, int rc, const char *what,
		     struct error *err)
{
	int sys = handle_holds(db, rc) ? sqlite3_system_errno(db->h) : 0;
	return db__fail_errno(db, rc, sys, what, err);
}

enum status db__fail_errno(struct db *db, int rc, int sys, const char *what,
			   struct error *err)
{
	const char *msg = handle_holds(db, rc) ? sqlite3_errmsg(db->h)
					       : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
		return error_set(err, ST_BUSY,
				 "%s: database is locked by another process "
				 "(waited %g s)",
				 db->path, db->wait_seconds);
	case SQLITE_NOTADB:
		return error_set(err, ST_DB, "%s: not an SQLite database",
				 db->path);
	case SQLITE_CANTOPEN:
		/* The errno left behind is from SQLite's read-only retry,
		 * so look at the directory instead. */
		if (!parent_dir_exists(db->path))
			return error_set(err, ST_DB,
					 "%s: cannot open: no such directory",
					 db->path);
		return cannot_write(db, msg, err);
	case SQLITE_READONLY:
		return cannot_write(db, msg, err);
	case SQLITE_FULL:
		return error_set(err, ST_IO,
				 "%s: %s: %s (the disk is full or a file-size "
				 "limit was reached)",
				 db->path, what, msg);
	case SQLITE_IOERR:
		return error_set(err, ST_IO,
				 "%s: %s: I/O error: %s (the disk may be full "
				 "or a file-size limit reached)",
				 db->path, what, sys ? strerror(sys) : msg);
	case SQLITE_NOMEM:
		return error_set(err, ST_NOMEM, "%s: %s: out of memory",
				 db->path, what);
	case SQLITE_INTERRUPT:
		return error_set(err, ST_CANCELLED, "%s: %s: interrupted",
				 db->path, what);
	case SQLITE_CORRUPT:
		return error_set(err, ST_DB, "%s: the database is damaged (%s)",
				 db->path, msg);
	default:
		return error_set(err, ST_DB, "%s: %s: %s", db->path, what, msg);
	}
}

enum status db__exec(struct db *db, const char *sql, const char *what,
		     struct error *err)
{
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? ST_OK : db__fail(db, rc, what, err);
}

enum status db__exec_bound(struct db *db, const char *sql, int64_t a,
			   int64_t b, const char *what, struct error *err)
{
	enum status st = ST_OK;
	for (const char *p = sql; st == ST_OK && *p;) {
		sqlite3_stmt *stmt = NULL;
		const char *tail = NULL;
		int rc = sqlite3_prepare_v2(db->h, p, -1, &stmt, &tail);
		if (rc != SQLITE_OK)
			return db__fail(db, rc, what, err);
		if (!stmt)
			break; /* only white space was left */
		if (sqlite3_bind_parameter_count(stmt) >= 1)
			sqlite3_bind_int64(stmt, 1, a);
		if (sqlite3_bind_parameter_count(stmt) >= 2)
			sqlite3_bind_int64(stmt, 2, b);
		st = db__step_done(db, stmt, what, err);
		sqlite3_finalize(stmt);
		p = tail;
	}
	return st;
}

enum status db__prepare(struct db *db, const char *sql, unsigned flags,
			sqlite3_stmt **out, struct error *err)
{
	int rc = sqlite3_prepare_v3(db->h, sql, -1, flags, out, NULL);
	return rc == SQLITE_OK ? ST_OK : db__fail(db, rc, "preparing a query", err);
}

enum status db__step_done(struct db *db, sqlite3_stmt *stmt, const char *what,
			  struct error *err)
{
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? ST_OK : db__fail(db, rc, what, err);
}

/* Binds text or NULL. */
static void bind_text_or_null(sqlite3_stmt *stmt, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, i);
}

/* ---- opening ------------------------------------------------------------ */

static double monotonic_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One attempt; *mode_ok tells whether the database is now in WAL mode. */
static int try_set_wal(struct db *db, bool *mode_ok)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(db->h, "PRAGMA journal_mode = WAL", -1,
				    &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(stmt, 0);
		/* An in-memory database has no WAL and needs none. */
		bool in_memory = !*sqlite3_db_filename(db->h, "main");
		*mode_ok = in_memory || (mode && strcmp(mode, "wal") == 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/*
 * Switching a new database to WAL takes an exclusive lock from inside a
 * read, so when two processes create the file at once SQLite reports
 * SQLITE_BUSY at once rather than calling the busy handler: retry until
 * the busy timeout has passed.
 */
static enum status set_wal(struct db *db, struct error *err)
{
	double deadline = monotonic_seconds() + db->wait_seconds;
	bool mode_ok = false;
	int rc;
	while ((rc = try_set_wal(db, &mode_ok)) != SQLITE_OK) {
		if ((rc & 0xff) != SQLITE_BUSY || monotonic_seconds() >= deadline)
			return db__fail(db, rc, "setting WAL mode", err);
		sqlite3_sleep(WAL_RETRY_MS);
	}
	return mode_ok ? ST_OK :
			 cannot_write(db, "cannot switch to WAL mode", err);
}

#ifdef BULKREG_TEST_HOOKS
/* Test builds only (see the Makefile): a page limit from the environment,
 * to fill the "disk" at a chosen moment. */
static enum status apply_test_page_limit(struct db *db, struct error *err)
{
	static const char env[] = "BULKREG_TEST_MAX_PAGE_COUNT";
	const char *s = getenv(env);
	if (!s || !*s)
		return ST_OK;
	int64_t pages;
	if (!parse_int64(s, 1, INT64_MAX, &pages))
		return error_set(err, ST_USAGE, "%s: bad value '%s'", env, s);
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
		 (long long)pages);
	sqlite3_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	int rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ?
		       ST_OK :
		       db__fail(db, rc, "setting max_page_count", err);
}
#else
static enum status apply_test_page_limit(struct db *db, struct error *err)
{
	(void)db;
	(void)err;
	return ST_OK;
}
#endif

static enum status configure(struct db *db, struct error *err)
{
	if (sqlite3_db_readonly(db->h, "main") == 1)
		return cannot_write(db, "it opened read-only", err);
	/* A database from a newer bulkreg, or one holding objects bulkreg did
	 * not create, is refused before anything -- even the journal mode --
	 * is changed in it. */
	enum status st = db__schema_check(db, err);
	if (st == ST_OK && !db->examine)
		st = db__trust_check(db, err);
	if (st == ST_OK)
		st = set_wal(db, err);
	/* FULL: a batch is one transaction, so this is one fsync per batch,
	 * and it keeps "the report never claims a commit that did not happen"
	 * true across a power failure, not only a crash. */
	if (st == ST_OK)
		st = db__exec(db,
			      "PRAGMA synchronous = FULL;"
			      "PRAGMA foreign_keys = ON;" CACHE_SIZE_PRAGMA,
			      "configuring the connection", err);
	if (st == ST_OK)
		st = db__schema_upgrade(db, err);
	if (st == ST_OK)
		st = apply_test_page_limit(db, err);
	return st;
}

static int busy_ms(double wait_seconds)
{
	if (!(wait_seconds > 0))
		return 0;
	if (wait_seconds > 86400.0 * 24)
		return 86400 * 24 * 1000;
	return (int)(wait_seconds * 1000.0 + 0.5);
}

/*
 * Process-wide SQLite settings, made once before SQLite initialises.
 * Memory statistics cost a global mutex on every allocation (Debian's build
 * has no lookaside allocator, so a row makes many), and nothing here reads
 * them.
 */
static pthread_once_t sqlite_tuned = PTHREAD_ONCE_INIT;

static void tune_sqlite(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* -d is a file name: no "file:...?vfs=&nolock=" (see sqlite_name). */
	sqlite3_config(SQLITE_CONFIG_URI, 0);
}

/*
 * Refuses a database, -wal or -shm that is a symbolic link or that another
 * user owns (root's are accepted): whoever owns a -wal reads everything the
 * next batch writes, and a link sends the writes elsewhere.  A missing file
 * is fine; SQLite creates -wal and -shm with the database's owner and mode.
 */
static enum status check_file(const char *path, const char *suffix,
			      struct error *err)
{
	char name[4200];
	if ((size_t)snprintf(name, sizeof(name), "%s%s", path, suffix) >=
	    sizeof(name))
		return error_set(err, ST_DB, "%s: the name is too long", path);
	struct stat sb;
	if (lstat(name, &sb) != 0)
		return ST_OK; /* missing, or SQLite will say why */
	if (S_ISLNK(sb.st_mode))
		return error_set(err, ST_DB,
				 "%s: is a symbolic link; refusing to follow it "
				 "(give the real path with -d)",
				 name);
	uid_t me = geteuid();
	if (sb.st_uid != me && sb.st_uid != 0)
		return error_set(err, ST_DB,
				 "%s: owned by user %lu, not by you (%lu) or "
				 "root; refusing to use it: its owner could read "
				 "or change the registrations",
				 name, (unsigned long)sb.st_uid,
				 (unsigned long)me);
	return ST_OK;
}

/* Creates a missing database file with exactly `mode` (fchmod: the umask
 * does not apply); SQLite gives -wal and -shm the database's mode.  An
 * existing file keeps its mode.  Failures are left for SQLite to report. */
static void create_with_mode(const char *path, unsigned mode)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      (mode_t)mode);
	if (fd < 0)
		return;
	(void)fchmod(fd, (mode_t)mode);
	close(fd);
}

/* The name handed to SQLite: a path that could be read as a URI even with
 * URIs off ("file:...") gets "./" in front. */
static char *sqlite_name(const char *path)
{
	if (strncasecmp(path, "file:", 5) != 0)
		return strdup(path);
	size_t n = strlen(path);
	char *s = malloc(n + 3);
	if (s) {
		memcpy(s, "./", 2);
		memcpy(s + 2, path, n + 1);
	}
	return s;
}

static int progress_cb(void *arg)
{
	struct db *db = arg;
	return db->cancelled && db->cancelled(db->cancel_ctx);
}

void db_set_cancel(struct db *db, bool (*cancelled)(void *ctx), void *ctx)
{
	db->cancelled = cancelled;
	db->cancel_ctx = ctx;
	sqlite3_progress_handler(db->h, cancelled ? PROGRESS_STEPS : 0,
				 cancelled ? progress_cb : NULL, db);
}

/* Opens the handle with the protections every connection gets. */
static int open_handle(struct db *db, const char *path, bool create)
{
	char *name = sqlite_name(path);
	if (!name)
		return SQLITE_NOMEM;
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) |
		    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
	int rc = sqlite3_open_v2(name, &db->h, flags, NULL);
	free(name);
	if (rc != SQLITE_OK)
		return rc;
	/* No writable_schema, no shadow-table writes; functions with side
	 * effects are not run from the schema (views, triggers, defaults). */
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	return sqlite3_exec(db->h, "PRAGMA trusted_schema = OFF", NULL, NULL,
			    NULL);
}

/* True when PATH-wal is there and not empty. */
static bool wal_has_data(const char *path)
{
	size_t n = strlen(path);
	char *wal = malloc(n + 5);
	if (!wal)
		return true; /* cannot tell: let SQLite look */
	memcpy(wal, path, n);
	memcpy(wal + n, "-wal", 5);
	struct stat sb;
	bool data = lstat(wal, &sb) == 0 && sb.st_size > 0;
	free(wal);
	return data;
}

enum status db_open(const char *path, double wait_seconds,
		    unsigned create_mode, struct db **out, struct error *err)
{
	*out = NULL;
	if (!path || !*path)
		return error_set(err, ST_USAGE, "the database path is empty");
	struct stat sb;
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return error_set(err, ST_DB,
				 "%s: is a directory, not a database file", path);
	/* SQLite would create "dir" for "dir/", with its own mode (0644). */
	if (path[strlen(path) - 1] == '/')
		return error_set(err, ST_USAGE,
				 "%s: names a directory, not a database file",
				 path);
	bool create = (create_mode & DB_OPEN_EXISTING) == 0;
	if (!create && lstat(path, &sb) != 0 && errno == ENOENT)
		return error_set(err, ST_NOTFOUND,
				 "no database at %s: create it with 'bulkreg "
				 "init' or 'bulkreg course import'",
				 path);
	/* An empty file (`touch bulkreg.db`) holds no courses either: SQLite
	 * would take it as an empty database and write a schema into it.
	 * Not while a -wal file holds what the main file does not yet. */
	if (!create && S_ISREG(sb.st_mode) && sb.st_size == 0 &&
	    !wal_has_data(path))
		return error_set(err, ST_NOTFOUND,
				 "no database at %s (an empty file): create it "
				 "with 'bulkreg init' or 'bulkreg course import'",
				 path);
	unsigned mode = create_mode & 07777;
	if (create)
		create_with_mode(path, mode ? mode : DB_MODE_PRIVATE);
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		enum status st = check_file(path, suffixes[i], err);
		if (st != ST_OK)
			return st;
	}

	pthread_once(&sqlite_tuned, tune_sqlite);
	struct db *db = calloc(1, sizeof(*db));
	if (!db || !(db->path = strdup(path))) {
		free(db);
		return error_set(err, ST_NOMEM, "%s: out of memory", path);
	}
	db->wait_seconds = wait_seconds > 0 ? wait_seconds : 0;

	int rc = open_handle(db, path, create);
	enum status st = ST_OK;
	if (rc != SQLITE_OK) {
		st = db->h ? db__fail(db, sqlite3_extended_errcode(db->h),
				      "opening", err) :
			     error_set(err, ST_NOMEM, "%s: out of memory", path);
		goto out;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, busy_ms(wait_seconds));
	db->examine = (create_mode & DB_OPEN_EXAMINE) != 0;
	st = configure(db, err);
out:
	if (st != ST_OK) {
		db_close(db);
		return st;
	}
	*out = db;
	return ST_OK;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	db__store_close(db);
	/* close_v2 never fails; all our statements are finalized by now. */
	sqlite3_close_v2(db->h);
	free(db->path);
	free(db);
}

/* ---- transactions ------------------------------------------------------- */

enum status db_begin(struct db *db, struct error *err)
{
	return db__exec(db, "BEGIN IMMEDIATE", "starting a transaction", err);
}

enum status db_commit(struct db *db, struct error *err)
{
	enum status st = db__exec(db, "COMMIT", "committing", err);
	if (st != ST_OK)
		db_rollback(db);
	return st;
}

void db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
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
	if (in->capacity < 0 || in->capacity > COURSE_CAPACITY_MAX)
		return error_set(err, ST_USAGE,
				 "course %s: capacity %lld is out of range "
				 "(0 to %d)",
				 in->code, (long long)in->capacity,
				 COURSE_CAPACITY_MAX);
	if (in->has_waitlist && in->waitlist_max != WAITLIST_UNLIMITED &&
	    (in->waitlist_max < 0 || in->waitlist_max > COURSE_CAPACITY_MAX))
		return error_set(err, ST_USAGE,
				 "course %s: waitlist %lld is out of range "
				 "(0 to %d, or unlimited)",
				 in->code, (long long)in->waitlist_max,
				 COURSE_CAPACITY_MAX);
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
	sqlite3_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	cc->found = rc == SQLITE_ROW;
	if (cc->found) {
		cc->id = sqlite3_column_int64(stmt, 0);
		cc->registered = sqlite3_column_int64(stmt, 1);
		cc->waitlisted = sqlite3_column_int64(stmt, 2);
	} else if (rc != SQLITE_DONE) {
		st = db__fail(db, rc, "reading a course", err);
	}
	sqlite3_finalize(stmt);
	return st;
}

/* Binds ?2 title, ?3 capacity, ?4 has_waitlist, ?5 waitlist_max. */
static void bind_course_values(sqlite3_stmt *stmt, const struct course_input *in)
{
	bind_text_or_null(stmt, 2, in->title);
	sqlite3_bind_int64(stmt, 3, in->capacity);
	sqlite3_bind_int(stmt, 4, in->has_waitlist);
	if (in->has_waitlist && in->waitlist_max != WAITLIST_UNLIMITED)
		sqlite3_bind_int64(stmt, 5, in->waitlist_max);
	else
		sqlite3_bind_null(stmt, 5);
}

/* Runs a one-shot statement with the course values bound, plus ?1 / ?6. */
static enum status course_write(struct db *db, const char *sql,
				const struct course_input *in, int64_t id,
				struct error *err)
{
	sqlite3_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqlite3_bind_text(stmt, 1, in->code, -1, SQLITE_STATIC);
	bind_course_values(stmt, in);
	sqlite3_bind_int64(stmt, 6, id);
	st = db__step_done(db, stmt, "writing a course", err);
	sqlite3_finalize(stmt);
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
		" waitlist_max = CASE WHEN ?4 THEN ?5 ELSE waitlist_max END,"
		" updated_at = " DB_NOW_SQL
		" WHERE id = ?6 AND (title IS NOT coalesce(?2, title)"
		"  OR capacity IS NOT ?3 OR (?4 AND waitlist_max IS NOT ?5))";
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
	if (in->has_waitlist && in->waitlist_max != WAITLIST_UNLIMITED &&
	    in->waitlist_max < waiting)
		return error_set(err, ST_USAGE,
				 "course %s: a waitlist of %lld is shorter than "
				 "the %lld student%s waiting (drop some first, or "
				 "raise the capacity)",
				 in->code, (long long)in->waitlist_max,
				 (long long)waiting, waiting == 1 ? "" : "s");
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
	bool own = sqlite3_get_autocommit(db->h);
	st = db__exec(db, own ? "BEGIN IMMEDIATE" : "SAVEPOINT course_put",
		      "starting a course update", err);
	if (st != ST_OK)
		return st;
	st = course_put_locked(db, in, err);
	if (st == ST_OK)
		st = db__exec(db, own ? "COMMIT" : "RELEASE course_put",
			      "saving a course", err);
	if (st != ST_OK) {
		if (own)
			db_rollback(db);
		else if (!sqlite3_get_autocommit(db->h))
			sqlite3_exec(db->h,
				     "ROLLBACK TO course_put; RELEASE course_put",
				     NULL, NULL, NULL);
	}
	return st;
}

static enum status course_from_stmt(struct db *db, sqlite3_stmt *stmt,
				    struct course_table *out,
				    struct error *err)
{
	struct course c;
	memset(&c, 0, sizeof(c));
	const char *code = (const char *)sqlite3_column_text(stmt, 1);
	int len = sqlite3_column_bytes(stmt, 1);
	if (!code || len > COURSE_CODE_MAX)
		return error_set(err, ST_DB,
				 "%s: course %lld has a code longer than %d bytes",
				 db->path, (long long)sqlite3_column_int64(stmt, 0),
				 COURSE_CODE_MAX);
	memcpy(c.code, code, (size_t)len);
	c.id = sqlite3_column_int64(stmt, 0);
	c.title = (char *)sqlite3_column_text(stmt, 2);
	c.capacity = sqlite3_column_int64(stmt, 3);
	c.waitlist_max = sqlite3_column_type(stmt, 4) == SQLITE_NULL ?
				 WAITLIST_UNLIMITED :
				 sqlite3_column_int64(stmt, 4);
	c.registered = sqlite3_column_int64(stmt, 5);
	c.waitlisted = sqlite3_column_int64(stmt, 6);
	c.seat_seq = sqlite3_column_int64(stmt, 7);
	return course_table_add(out, &c, err);
}

enum status db_courses_load(struct db *db, struct course_table *out,
			    struct error *err)
{
	static const char sql[] =
		"SELECT id, code, title, capacity, waitlist_max, registered,"
		" waitlisted, seat_seq FROM courses ORDER BY code";
	sqlite3_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	int rc = SQLITE_DONE;
	while (st == ST_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
		st = course_from_stmt(db, stmt, out, err);
	if (st == ST_OK && rc != SQLITE_DONE)
		st = db__fail(db, rc, "loading courses", err);
	sqlite3_finalize(stmt);
	return st;
}

/* ---- listings ----------------------------------------------------------- */

const char *db__column_str(sqlite3_stmt *stmt, int i)
{
	const char *s = (const char *)sqlite3_column_text(stmt, i);
	return s ? s : "";
}

const char *db__column_str_or_null(sqlite3_stmt *stmt, int i)
{
	return (const char *)sqlite3_column_text(stmt, i);
}

static void roster_entry_from_stmt(sqlite3_stmt *stmt, struct roster_entry *e)
{
	e->student_id = db__column_str(stmt, 0);
	e->first_name = db__column_str(stmt, 1);
	e->last_name = db__column_str(stmt, 2);
	e->email = db__column_str(stmt, 3);
	bool waiting = strcmp(db__column_str(stmt, 4), "waitlisted") == 0;
	e->status = waiting ? STATUS_WAITLISTED : STATUS_REGISTERED;
	e->position = waiting ? sqlite3_column_int64(stmt, 5) : 0;
	e->batch_id = sqlite3_column_int64(stmt, 6);
	e->line = sqlite3_column_int64(stmt, 7);
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

	sqlite3_stmt *stmt = NULL;
	st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, cc.id);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct roster_entry e;
		roster_entry_from_stmt(stmt, &e);
		if (fn(ctx, &e, err) != 0) {
			st = ST_IO;
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		st = db__fail(db, rc, "listing a course", err);
out:
	sqlite3_finalize(stmt);
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
 * Reads the reasons column, {"name": n, ...} as db_batch_finish writes it,
 * into by_reason, through SQLite's JSON functions on the same connection.
 * Names this bulkreg does not know are skipped.  False if the text is not
 * a JSON object whose values are integers.
 */
static bool reasons_parse(sqlite3 *conn, const char *s,
			  int64_t by_reason[REASON_COUNT])
{
	static const char sql[] =
		"SELECT j.key, j.value, j.type = 'integer' FROM json_each(?1) AS j"
		" WHERE json_type(?1) = 'object'"
		" UNION ALL SELECT NULL, NULL, json_type(?1) = 'object'";
	sqlite3_stmt *stmt = NULL;
	bool ok = sqlite3_prepare_v2(conn, sql, -1, &stmt, NULL) == SQLITE_OK;
	if (ok)
		sqlite3_bind_text(stmt, 1, s, -1, SQLITE_STATIC);
	int rc = SQLITE_ERROR;
	/* Each member, then one last row saying whether s is an object. */
	while (ok && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		ok = sqlite3_column_int(stmt, 2) != 0;
		const char *name = (const char *)sqlite3_column_text(stmt, 0);
		enum row_reason r = name ? reason_lookup(name) : REASON_NONE;
		if (ok && r != REASON_NONE)
			by_reason[r] = sqlite3_column_int64(stmt, 1);
	}
	ok = ok && rc == SQLITE_DONE; /* malformed JSON is an error */
	sqlite3_finalize(stmt);
	return ok;
}

static int64_t column_id_or_0(sqlite3_stmt *stmt, int i)
{
	return sqlite3_column_type(stmt, i) == SQLITE_NULL ?
		       0 :
		       sqlite3_column_int64(stmt, i);
}

/* The columns are DB_BATCH_COLUMNS, in order. */
bool db__batch_from_stmt(sqlite3_stmt *stmt, struct batch_record *b)
{
	memset(b, 0, sizeof(*b));
	b->id = sqlite3_column_int64(stmt, 0);
	b->started_at = db__column_str(stmt, 1);
	b->finished_at = db__column_str_or_null(stmt, 2);
	b->source = db__column_str(stmt, 3);
	b->sha256 = db__column_str_or_null(stmt, 4);
	b->label = db__column_str_or_null(stmt, 5);
	b->outcome = outcome_parse(db__column_str(stmt, 6));
	b->counts.rows = sqlite3_column_int64(stmt, 7);
	static const enum row_status cols[] = {
		STATUS_REGISTERED, STATUS_WAITLISTED, STATUS_ALREADY_REGISTERED,
		STATUS_ALREADY_WAITLISTED, STATUS_REJECTED, STATUS_PROMOTED,
		STATUS_DROPPED, STATUS_SKIPPED,
	};
	for (int i = 0; i < 8; i++)
		b->counts.by_status[cols[i]] = sqlite3_column_int64(stmt, 8 + i);
	b->kind = db__column_str(stmt, 16);
	b->options = db__column_str_or_null(stmt, 17);
	b->profile = db__column_str_or_null(stmt, 18);
	b->undo_of = column_id_or_0(stmt, 19);
	b->undone_by = column_id_or_0(stmt, 20);
	const char *reasons = db__column_str_or_null(stmt, 21);
	return !reasons || reasons_parse(sqlite3_db_handle(stmt), reasons,
					 b->counts.by_reason);
}

enum status db_batches_list(struct db *db, db_batch_fn fn, void *ctx,
			    struct error *err)
{
	static const char sql[] =
		"SELECT " DB_BATCH_COLUMNS " FROM batches ORDER BY id";
	sqlite3_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct batch_record b;
		if (!db__batch_from_stmt(stmt, &b)) {
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
	if (rc != SQLITE_DONE)
		st = db__fail(db, rc, "listing batches", err);
out:
	sqlite3_finalize(stmt);
	return st;
}
