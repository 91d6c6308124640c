/* db_sqlite: opening an SQLite database file -- the checks, the handle and its settings. */
#define _GNU_SOURCE /* statx */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "db_internal.h"
#include "dest_walk.h"
#include "parse.h"

#define WAL_RETRY_MS 5


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
	int rc = sqlite3_prepare_v2(db->sqlite, "PRAGMA journal_mode = WAL", -1,
				    &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(stmt, 0);
		/* An in-memory database has no WAL and needs none. */
		bool in_memory = !*sqlite3_db_filename(db->sqlite, "main");
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
			return db__fail(db, (rc & 0xff) == SQLITE_BUSY ? SQLDB_EBUSY :
						SQLDB_EOTHER,
					"setting WAL mode", err);
		sqlite3_sleep(WAL_RETRY_MS);
	}
	return mode_ok ? ST_OK :
			 db__cannot_write(db, "cannot switch to WAL mode", err);
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
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	enum sqldb_rc rc = sqldb_step(stmt);
	sqldb_finalize(stmt);
	return rc == SQLDB_ROW || rc == SQLDB_DONE ?
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

/* The files SQLite keeps beside the database, as db->beside numbers them:
 * a hot -journal is played back into the database by the first read of
 * any command; a -wal and a -shm hold what the batches write. */
enum { BESIDE_JOURNAL, BESIDE_WAL, BESIDE_SHM, BESIDE_N };
static const char *const beside_suffix[BESIDE_N] = { "-journal", "-wal",
						     "-shm" };

/* PATH followed by SUFFIX into name[cap]; false if it does not fit. */
static bool file_name(char *name, size_t cap, const char *path,
		      const char *suffix)
{
	return (size_t)snprintf(name, cap, "%s%s", path, suffix) < cap;
}

/*
 * Refuses a database, -journal, -wal or -shm that is a symbolic link or
 * that another user owns (root's are accepted): whoever owns a -wal reads
 * everything the next batch writes, a -journal is played back into the
 * database, and a link sends the writes elsewhere.  A -journal, -wal or
 * -shm with a second name (a hard link) is refused too: SQLite never makes
 * one.  A missing file is fine (reserve_beside makes it).
 */
static enum status check_file(const char *path, const char *suffix,
			      struct error *err)
{
	char name[4200];
	if (!file_name(name, sizeof(name), path, suffix))
		return error_set(err, ST_DB, "%s: the name is too long", path);
	struct stat sb;
	if (lstat(name, &sb) != 0)
		return ST_OK; /* missing, or SQLite will say why */
	if (S_ISLNK(sb.st_mode))
		return error_set(err, ST_DB,
				 "%s: is a symbolic link; refusing to follow it "
				 "(give the real path with -d)",
				 name);
	/* A FIFO or a device is no database (SQLite would say "Illegal
	 * seek ... the disk may be full"). */
	if (!S_ISREG(sb.st_mode))
		return error_set(err, ST_DB,
				 "%s: is a %s, not a database file",
				 name,
				 S_ISDIR(sb.st_mode) ? "directory" :
				 S_ISFIFO(sb.st_mode) ? "FIFO" :
				 S_ISSOCK(sb.st_mode) ? "socket" : "device");
	uid_t me = geteuid();
	if (sb.st_uid != me && sb.st_uid != 0)
		return error_set(err, ST_DB,
				 "%s: owned by user %lu, not by you (%lu) or "
				 "root; refusing to use it: its owner could read "
				 "or change the registrations",
				 name, (unsigned long)sb.st_uid,
				 (unsigned long)me);
	if (*suffix && sb.st_nlink > 1)
		return error_set(err, ST_DB,
				 "%s: has %lu names (a hard link to another "
				 "file); refusing to use it",
				 name, (unsigned long)sb.st_nlink);
	return ST_OK;
}

/* The identity of the file at NAME (not following a link): its inode and,
 * where the filesystem keeps one, its birth time -- which a new file given
 * a freed inode's number does not share.  False if it is not there. */
static bool file_id(const char *name, struct db_file_id *id)
{
	struct statx sx;
	if (statx(AT_FDCWD, name, AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_BTIME,
		  &sx) != 0)
		return false;
	id->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	id->ino = (ino_t)sx.stx_ino;
	id->has_btime = (sx.stx_mask & STATX_BTIME) != 0;
	id->btime_sec = (long long)sx.stx_btime.tv_sec;
	id->btime_nsec = sx.stx_btime.tv_nsec;
	return true;
}

/* Records slot i's file as checked (see struct db_beside). */
static void note_seen(struct db *db, int i, const char *name)
{
	db->beside[i].seen = file_id(name, &db->beside[i].id);
}

/*
 * The -wal or -shm (slot i) SQLite has open, by name after the open: still
 * the file checked before it?  Another program that closed the database
 * last removes both, and another user's may be at the name by the time
 * SQLite opens it; as root SQLite hands that one to the database's owner,
 * so its owner no longer tells (review 21, F13).  A missing file, or one
 * not seen before, is left to check_file.
 */
static enum status same_as_seen(const struct db *db, int i, struct error *err)
{
	const struct db_beside *b = &db->beside[i];
	char name[4200];
	struct db_file_id now;
	if (!b->seen || !file_name(name, sizeof(name), db->file,
				   beside_suffix[i]) ||
	    !file_id(name, &now))
		return ST_OK;
	bool same = now.dev == b->id.dev && now.ino == b->id.ino &&
		    (!now.has_btime || !b->id.has_btime ||
		     (now.btime_sec == b->id.btime_sec &&
		      now.btime_nsec == b->id.btime_nsec));
	if (same)
		return ST_OK;
	/* In a directory only the caller (and root) can write, no one else
	 * can have put it there: the caller's own sqlite3, or an older
	 * bulkreg, closed the database last and removed the file, and this
	 * run's SQLite made it again (review 25 F01: 3 runs in 80 refused
	 * beside a monitoring query). */
	char dir[8];
	if (!db_dir_writable_by_others(db->file, dir, sizeof(dir)))
		return ST_OK;
	return error_set(err, ST_DB,
			 "%s: another file took its place between bulkreg's "
			 "check and SQLite's open (another program closing the "
			 "database removes it, and anyone who can write the "
			 "directory may then put one there); refusing to use "
			 "it, nothing was written: run the command again",
			 name);
}

/*
 * Creates PATH-journal, -wal or -shm (beside_suffix[i]) empty, the
 * caller's, with exactly `mode`, unless it is there already -- so that no
 * one can put theirs there between this check and SQLite's open: SQLite
 * opens these with O_CREAT, takes whatever it finds, and as root even
 * hands it to the database's owner, so that the second look after the
 * open (configure) cannot tell for root.
 * One that is there is checked as the database is (check_file).  Any other
 * failure (a read-only directory) is left for SQLite to report.
 * The descriptor on a -journal or -wal made is kept (SQLite locks neither),
 * so that its inode cannot be another file's while bulkreg may still
 * remove it; the -shm's is not (closing a descriptor would drop SQLite's
 * locks on it).
 */
static enum status reserve_beside(struct db *db, int i, const char *path,
				  mode_t mode, struct error *err)
{
	char name[4200];
	if (!file_name(name, sizeof(name), path, beside_suffix[i]))
		return error_set(err, ST_DB, "%s: the name is too long", path);
	int fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      mode);
	if (fd < 0) {
		enum status st = check_file(path, beside_suffix[i], err);
		if (st == ST_OK)
			note_seen(db, i, name);
		return st;
	}
	note_seen(db, i, name);
	struct stat sb;
	(void)fchmod(fd, mode);
	if (fstat(fd, &sb) != 0) {
		close(fd);
		return ST_OK;
	}
	if (i == BESIDE_SHM) {
		close(fd);
		fd = -1;
	}
	db->beside[i].made = true;
	db->beside[i].fd = fd;
	db->beside[i].dev = sb.st_dev;
	db->beside[i].ino = sb.st_ino;
	return ST_OK;
}

/* Whether the file made for slot i is still there under its name, unused:
 * empty, and (when a descriptor is kept) not removed meanwhile. */
static bool beside_unused(const struct db *db, int i, char *name, size_t cap)
{
	const struct db_beside *b = &db->beside[i];
	struct stat mine, now;
	if (!b->made || (b->fd >= 0 && (fstat(b->fd, &mine) != 0 ||
					mine.st_nlink == 0)))
		return false;
	return file_name(name, cap, db->file, beside_suffix[i]) &&
	       lstat(name, &now) == 0 && S_ISREG(now.st_mode) &&
	       now.st_size == 0 && now.st_dev == b->dev && now.st_ino == b->ino;
}

/* Leaves the file made for slot i to SQLite: bulkreg will not remove it. */
static void forget_beside(struct db *db, int i)
{
	struct db_beside *b = &db->beside[i];
	if (b->made && b->fd >= 0)
		close(b->fd);
	b->made = false;
	b->fd = -1;
}

/* Removes the file made for slot i if it is still unused. */
static void drop_beside(struct db *db, int i)
{
	char name[4200];
	if (beside_unused(db, i, name, sizeof(name)))
		unlink(name);
	forget_beside(db, i);
}

/*
 * After SQLite closed a connection to a file that is no SQLite database
 * (db__close_sqlite): what was made and never used goes away -- the -wal
 * and -shm only both at once, both still empty (a -shm in use is not).
 * Beside a database they stay (see open_sqlite_at).
 */
static void drop_all_beside(struct db *db)
{
	char name[4200];
	drop_beside(db, BESIDE_JOURNAL);
	if (beside_unused(db, BESIDE_WAL, name, sizeof(name)) &&
	    beside_unused(db, BESIDE_SHM, name, sizeof(name))) {
		drop_beside(db, BESIDE_SHM);
		drop_beside(db, BESIDE_WAL);
	}
	forget_beside(db, BESIDE_WAL);
	forget_beside(db, BESIDE_SHM);
}

/* The name handed to SQLite: a relative path gets "./" in front, so no
 * name is ever read as anything but a file -- "file:..." even with URIs
 * off, ":memory:" (an in-memory database that "imported" courses and
 * exited 0: review 14, A2) or whatever name SQLite gives a meaning next. */
static char *sqlite_name(const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	size_t n = strlen(path);
	char *s = malloc(n + 3);
	if (s) {
		memcpy(s, "./", 2);
		memcpy(s + 2, path, n + 1);
	}
	return s;
}

/* Creates a missing database file with exactly `mode` (fchmod: the umask
 * does not apply).  An existing file is left to start_empty.  Failures are
 * left for SQLite to report. */
static void create_with_mode(const char *path, unsigned mode)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      (mode_t)mode);
	if (fd < 0)
		return;
	(void)fchmod(fd, (mode_t)mode);
	close(fd);
}

/*
 * An empty file bulkreg is about to write a schema into -- a new database,
 * or one made with `touch` -- gets the mode a new database gets (`touch`
 * under umask 022 made it 0644), and becomes a one-page database in WAL
 * mode holding nothing yet, before anything is reserved beside it: at its
 * first read SQLite deletes a -journal and a -wal beside an empty database,
 * and would make them again when it writes, where another user could put
 * theirs first.  This first write goes with no journal and no WAL, so
 * SQLite opens nothing beside the file.  A failure here (another process
 * starting the same file) is left to the open that follows.
 */
static void start_empty(const char *path, unsigned mode)
{
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat sb;
	bool empty = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
		     sb.st_size == 0;
	if (empty)
		(void)fchmod(fd, (mode_t)mode);
	close(fd);
	char *name = empty ? sqlite_name(path) : NULL;
	if (!name)
		return;
	sqlite3 *h = NULL;
	if (sqlite3_open_v2(name, &h,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
				    SQLITE_OPEN_NOFOLLOW,
			    NULL) == SQLITE_OK)
		(void)sqlite3_exec(h,
				   "PRAGMA journal_mode = OFF;"
				   "PRAGMA journal_mode = WAL",
				   NULL, NULL, NULL);
	sqlite3_close_v2(h);
	free(name);
}

/* The mode SQLite would give the files beside the database: its own. */
static mode_t beside_mode(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return DB_MODE_PRIVATE;
	return sb.st_mode & 0777;
}

#ifdef BULKREG_TEST_HOOKS
/* Test builds only: BULKREG_TEST_BEFORE_SQLITE_OPEN=COMMAND runs COMMAND
 * (sh -c) after the checks and reservations, just before SQLite opens the
 * database -- where another user would try to put a -wal first. */
static void before_sqlite_open(void)
{
	const char *cmd = getenv("BULKREG_TEST_BEFORE_SQLITE_OPEN");
	if (cmd && *cmd && system(cmd) == -1)
		perror("BULKREG_TEST_BEFORE_SQLITE_OPEN");
}
#else
static void before_sqlite_open(void)
{
}
#endif

/* Opens the handle with the protections every connection gets. */
static int open_handle(struct db *db, const char *path, bool create)
{
	char *name = sqlite_name(path);
	if (!name)
		return SQLITE_NOMEM;
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) |
		    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
	sqlite3 *h = NULL;
	int rc = sqlite3_open_v2(name, &h, flags, NULL);
	free(name);
	db->sqlite = h;
	if (h && !(db->c = sqldb_wrap_sqlite(h)))
		return SQLITE_NOMEM;
	if (rc != SQLITE_OK)
		return rc;
	/* No writable_schema, no shadow-table writes; functions with side
	 * effects are not run from the schema (views, triggers, defaults). */
	sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	/* The -wal and -shm stay when the last connection closes (emptied:
	 * journal_size_limit, configure): a run that found them there, checked
	 * them and opens them after another run closed never opens a file
	 * someone else put at the name meanwhile (review 21, F13).  Set before
	 * the first read, which opens the WAL. */
	int persist = 1;
	sqlite3_file_control(h, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	return sqlite3_exec(h, "PRAGMA trusted_schema = OFF", NULL, NULL, NULL);
}

static enum status configure(struct db *db, struct error *err)
{
	/* Even a listing writes: SQLite reads a WAL database through its
	 * -shm file, made beside it. */
	if (sqlite3_db_readonly(db->sqlite, "main") == 1 && !db->writes)
		return error_set(err, ST_DB,
				 "%s: cannot read: it opened read-only, and "
				 "bulkreg needs write access to the file and "
				 "its directory even to read it (ask its "
				 "owner, or read a copy)",
				 db->path);
	if (sqlite3_db_readonly(db->sqlite, "main") == 1)
		return db__cannot_write(db, "it opened read-only", err);
	/* A database from a newer bulkreg, or one holding objects bulkreg did
	 * not create, is refused before anything -- even the journal mode --
	 * is changed in it. */
	enum status st = db__schema_check(db, err);
	if (st == ST_OK && !db->examine)
		st = db__trust_check(db, err);
	if (st == ST_OK && (db->examine || db->as_is))
		st = db__schema_examinable(db, err);
	/* verify and copy-db's FROM read the database as it is: one still in
	 * rollback mode stays so (switching writes its header). */
	if (st == ST_OK && !db->examine && !db->as_is)
		st = set_wal(db, err);
	/* Switching a database still in rollback mode (0.1.0's, sqlite3's)
	 * goes through the -journal, whatever the journal mode, and SQLite
	 * removes it at the end: make the caller's again at once, for good
	 * (see db__open_sqlite). */
	if (st == ST_OK && db->file && !db->examine && !db->as_is) {
		forget_beside(db, BESIDE_JOURNAL);
		st = reserve_beside(db, BESIDE_JOURNAL, db->file,
				    beside_mode(db->file), err);
	}
	/* What SQLite opened beside the database (the WAL is open by now),
	 * looked at again before anything -- a schema upgrade, a batch -- is
	 * written: another user's file adopted at a name that was free for a
	 * moment (another program closing the database last removes the
	 * -wal and -shm) is refused here.  As root SQLite hands such a file
	 * to the database's owner first, so for root the files' staying is
	 * what holds. */
	for (int i = 0; st == ST_OK && db->file && i < BESIDE_N; i++)
		st = check_file(db->file, beside_suffix[i], err);
	/* And the -wal and -shm, which this run writes, are the very files
	 * checked before the open.  (A -journal replaced by now is not read
	 * by this connection any more, and the next run checks it.) */
	if (st == ST_OK && db->file)
		st = same_as_seen(db, BESIDE_WAL, err);
	if (st == ST_OK && db->file)
		st = same_as_seen(db, BESIDE_SHM, err);
	/* FULL: a batch is one transaction, so this is one fsync per batch,
	 * and it keeps "the report never claims a commit that did not happen"
	 * true across a power failure, not only a crash. */
	if (st == ST_OK)
		st = db__exec(db,
			      "PRAGMA synchronous = FULL;"
			      "PRAGMA journal_size_limit = 0;"
			      "PRAGMA foreign_keys = ON;" DB_SQLITE_CACHE_PRAGMA,
			      "configuring the connection", err);
	if (st == ST_OK)
		st = db__schema_upgrade(db, err);
	if (st == ST_OK)
		st = apply_test_page_limit(db, err);
	return st;
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

static enum status open_sqlite_at(struct db *db, const char *path,
				  unsigned create_mode, struct error *err);

/*
 * SQLite, opening with SQLITE_OPEN_NOFOLLOW, refuses a symbolic link
 * anywhere in the name, a directory on the way included (/home -> var/home,
 * a /srv that leads to a bigger disk).  Those are followed here as -o
 * follows them (dest_walk): each link on the way must be the caller's or
 * root's, or the database is refused, naming the link, before anything is
 * created.  *resolved is then the name with the directory's links
 * resolved (checked to be the directory the walk ended in), for SQLite
 * and every file made beside it; NULL when no link was met, when the
 * database itself is the link (check_file refuses that), or when the walk
 * could not finish (SQLite says why).
 */
static enum status resolve_dir_links(const char *path, char **resolved,
				     struct error *err)
{
	*resolved = NULL;
	struct dest_walk w;
	enum dest_walk_result r = dest_walk(path, &w);
	enum status st = ST_OK;
	if (r == DEST_WALK_REFUSED && w.where != DEST_WALK_AT_PATH)
		st = error_set(err, ST_DB,
			       "%s: refusing to open the database: %s %s, a "
			       "symbolic link owned by user %lu, not by you "
			       "(%lu) or root (another user may have put it "
			       "there)",
			       path,
			       w.where == DEST_WALK_ON_PATH ?
				       "a directory on its way is" :
				       "it leads through",
			       w.link, (unsigned long)w.link_sb.st_uid,
			       (unsigned long)geteuid());
	else if (r == DEST_WALK_OK && w.followed && !w.end_link) {
		/* The last component is no link: the file's directory is
		 * where the path's directory part leads. */
		const char *slash = strrchr(path, '/');
		char *d = !slash ? strdup(".") :
			  slash == path ? strdup("/") :
					  strndup(path, (size_t)(slash - path));
		char *dir = d ? realpath(d, NULL) : NULL;
		free(d);
		struct stat a, b;
		if (dir && stat(dir, &a) == 0 && fstat(w.dirfd, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			size_t n = strlen(dir) + 1 + strlen(w.name) + 1;
			*resolved = malloc(n);
			if (*resolved)
				snprintf(*resolved, n, "%s%s%s", dir,
					 strcmp(dir, "/") ? "/" : "", w.name);
			else
				st = error_set(err, ST_NOMEM, "%s: out of memory",
					       path);
		}
		free(dir);
	}
	dest_walk_free(&w);
	return st;
}

enum status db__open_sqlite(struct db *db, const char *path,
			    unsigned create_mode, struct error *err)
{
	char *resolved = NULL;
	enum status rst = resolve_dir_links(path, &resolved, err);
	if (rst != ST_OK)
		return rst;
	if (resolved) {
		rst = open_sqlite_at(db, resolved, create_mode, err);
		free(resolved);
		return rst;
	}
	return open_sqlite_at(db, path, create_mode, err);
}

static enum status open_sqlite_at(struct db *db, const char *path,
				  unsigned create_mode, struct error *err)
{
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
	if (!mode)
		mode = DB_MODE_PRIVATE;
	if (!(db->file = strdup(path)))
		return error_set(err, ST_NOMEM, "%s: out of memory", path);
	if (create)
		create_with_mode(path, mode);
	enum status st = check_file(path, "", err);
	if (st != ST_OK)
		return st;
	pthread_once(&sqlite_tuned, tune_sqlite);
	if (create)
		start_empty(path, mode);
	/* Nothing another user put beside it is opened: what is missing is
	 * made now, the caller's, before SQLite looks. */
	mode_t beside = beside_mode(path);
	for (int i = 0; i < BESIDE_N; i++)
		if ((st = reserve_beside(db, i, path, beside, err)) != ST_OK)
			return st;
	before_sqlite_open();
	int rc = open_handle(db, path, create);
	if (rc != SQLITE_OK) {
		if (!db->c)
			return error_set(err, ST_NOMEM, "%s: out of memory", path);
		int ext = sqlite3_extended_errcode(db->sqlite);
		return db__fail(db, sqldb_sqlite_rc(ext ? ext : rc), "opening", err);
	}
	sqlite3_extended_result_codes(db->sqlite, 1);
	sqlite3_busy_timeout(db->sqlite, busy_ms(db->wait_seconds));
	db->examine = (create_mode & DB_OPEN_EXAMINE) != 0;
	db->writes = (create_mode & DB_OPEN_WRITE) != 0;
	db->as_is = (create_mode & DB_OPEN_AS_IS) != 0;
	st = configure(db, err);
	/* All three stay, the caller's, for good: an empty -journal is never
	 * played back, and no other user can put one at a name that is
	 * taken, even in a sticky directory -- removing it gave another run
	 * of the caller, which had checked it, a moment in which the name was
	 * free (review 21, F15).  SQLite keeps the -wal and -shm too
	 * (SQLITE_FCNTL_PERSIST_WAL, open_handle). */
	if (st == ST_OK)
		for (int i = 0; i < BESIDE_N; i++)
			forget_beside(db, i);
	return st;
}

/* Whether the file at PATH starts as an SQLite database does. */
static bool is_sqlite_file(const char *path)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool yes = read(fd, head, sizeof(head)) == (ssize_t)sizeof(head) &&
		   memcmp(head, magic, sizeof(magic)) == 0;
	close(fd);
	return yes;
}

void db__close_sqlite(struct db *db)
{
	/* close_v2 never fails; all our statements are finalized by now. */
	if (db->sqlite)
		sqlite3_close_v2(db->sqlite);
	db->sqlite = NULL;
	/* A run refused after it made the files beside a real database (a
	 * schema verify does not upgrade, a planted object) leaves them as a
	 * run that succeeded does: another run may have checked and be about
	 * to open them.  Beside what is no database, they go. */
	if (db->file && is_sqlite_file(db->file))
		for (int i = 0; i < BESIDE_N; i++)
			forget_beside(db, i);
	if (db->file)
		drop_all_beside(db);
	free(db->file);
	db->file = NULL;
}
