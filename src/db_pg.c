/* db_pg: opening a PostgreSQL database -- connection, schema (namespace) and its version. */
#include <stdio.h>
#include <string.h>

#include "db_internal.h"
#include "dbtarget.h"
#include "escape.h"

#define CONNECT_SECONDS 10 /* unless the connection string says */

/*
 * The session: the schema first on the search path (pg_catalog is always
 * searched before it for functions and types, so nothing in the schema can
 * stand in for a built-in), no notices, no statement or idle limits from
 * the role's defaults, read committed (the batch's locks make it exact:
 * store.h, store_course_lock).
 */
static enum status configure_session(struct db *db, struct error *err)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SET search_path = \"%s\";"
		 "SET client_min_messages = warning;"
		 "SET statement_timeout = 0;"
		 "SET idle_in_transaction_session_timeout = 0;"
		 "SET default_transaction_isolation = 'read committed';"
		 "SET default_transaction_read_only = off",
		 db->schema);
	return db__exec(db, sql, "setting up the session", err);
}

/* *exists: the schema is there; *usable: the role may use it (without
 * USAGE, current_schema() is NULL and the schema looked absent: review
 * 15, B1). */
static enum status schema_exists(struct db *db, bool *exists, bool *usable,
				 struct error *err)
{
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db,
				     "SELECT count(*), CAST(coalesce(bool_and("
				     "has_schema_privilege(oid, 'USAGE')), false)"
				     " AS integer)"
				     " FROM pg_catalog.pg_namespace"
				     " WHERE nspname = ?1",
				     0, &stmt, err);
	if (st != ST_OK)
		return st;
	sqldb_bind_text(stmt, 1, db->schema, -1);
	enum sqldb_rc rc = sqldb_step(stmt);
	*exists = rc == SQLDB_ROW && sqldb_column_int64(stmt, 0) > 0;
	*usable = rc == SQLDB_ROW && sqldb_column_int64(stmt, 1) != 0;
	if (rc != SQLDB_ROW)
		st = db__fail(db, rc, "looking for the schema", err);
	sqldb_finalize(stmt);
	return st;
}

static enum status create_schema(struct db *db, struct error *err)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS \"%s\"",
		 db->schema);
	enum sqldb_rc rc = sqldb_exec(db->c, sql);
	if (rc == SQLDB_EPERM)
		return error_set(err, ST_DB,
				 "%s: cannot create schema '%s': %s (grant the "
				 "role CREATE on the database, or create the "
				 "schema for it: CREATE SCHEMA %s AUTHORIZATION "
				 "role)",
				 db->path, db->schema, sqldb_errmsg(db->c),
				 db->schema);
	return rc == SQLDB_OK ? ST_OK :
				db__fail(db, rc, "creating the schema", err);
}

/* The version in the schema's meta table; 0 if it has none. */
enum status db__pg_schema_version(struct db *db, int64_t *version,
				  struct error *err)
{
	int64_t n = 0;
	*version = 0;
	enum status st = db__query_int(
		db,
		"SELECT count(*) FROM pg_catalog.pg_tables WHERE"
		" schemaname = current_schema() AND tablename = 'meta'",
		0, &n, "reading the schema version", err);
	if (st == ST_OK && n > 0)
		st = db__query_int(db, "SELECT max(version) FROM meta", 0,
				   version, "reading the schema version", err);
	return st;
}

/*
 * Batch ids come from the batches table's sequence, so that batches from
 * several machines never share one.  SQLite numbers a batch max(id) + 1,
 * so a batch that leaves no row (a course change that moved no one, an
 * abandoned run) leaves no gap; to keep both stores numbering alike, an id
 * whose batch left no row is handed back when no later one was taken.
 * Taking and handing back hold one advisory lock, in autocommit, for the
 * two statements only.
 */
#define ID_LOCK_SQL(fn) \
	"SELECT pg_catalog.pg_" fn "(pg_catalog.hashtext(pg_catalog.textcat("   \
	"'bulkreg batch ids ', CAST(current_schema() AS text))))"
#define ID_SEQ_SQL "CAST(pg_get_serial_sequence('batches', 'id') AS regclass)"

enum status db__pg_batch_id_take(struct db *db, int64_t *id,
				 struct error *err)
{
	enum status st = db__exec(db, ID_LOCK_SQL("advisory_lock"),
				  "numbering the batch", err);
	if (st != ST_OK)
		return st;
	st = db__query_int(db, "SELECT nextval(" ID_SEQ_SQL ")", 0, id,
			   "numbering the batch", err);
	sqldb_exec(db->c, ID_LOCK_SQL("advisory_unlock"));
	return st;
}

void db__pg_batch_id_give_back(struct db *db, int64_t id)
{
	if (!id || sqldb_in_transaction(db->c) ||
	    sqldb_exec(db->c, ID_LOCK_SQL("advisory_lock")) != SQLDB_OK)
		return;
	struct sqldb_stmt *stmt = NULL;
	if (sqldb_prepare(db->c,
			  "SELECT setval(s, ?1, false) FROM (SELECT " ID_SEQ_SQL
			  " AS s) AS q WHERE pg_sequence_last_value(s) = ?1"
			  " AND NOT EXISTS (SELECT 1 FROM batches WHERE id >= ?1)",
			  0, &stmt, NULL) == SQLDB_OK &&
	    stmt) {
		sqldb_bind_int64(stmt, 1, id);
		(void)sqldb_step(stmt); /* best effort: a gap is harmless */
	}
	sqldb_finalize(stmt);
	sqldb_exec(db->c, ID_LOCK_SQL("advisory_unlock"));
}

/* With DB_OPEN_WRITE: the role may change every table and take ids. */
static enum status check_write_rights(struct db *db, struct error *err)
{
	static const char sql[] =
		"SELECT count(*) FROM pg_catalog.pg_class AS c"
		" WHERE c.relnamespace = CAST(current_schema() AS regnamespace)"
		" AND ((c.relkind = 'r' AND c.relname <> 'meta'"
		"   AND NOT (has_table_privilege(c.oid, 'SELECT')"
		"   AND has_table_privilege(c.oid, 'INSERT')"
		"   AND has_table_privilege(c.oid, 'UPDATE')"
		"   AND has_table_privilege(c.oid, 'DELETE')))"
		"  OR (c.relkind = 'S'"
		"   AND NOT has_sequence_privilege(c.oid, 'USAGE')))";
	int64_t denied = 0;
	enum status st = db__query_int(db, sql, 0, &denied,
				       "checking the role's privileges", err);
	if (st == ST_OK && denied > 0)
		st = error_set(err, ST_DB,
			       "%s: the role may not write bulkreg's tables in "
			       "schema '%s' (it needs SELECT, INSERT, UPDATE "
			       "and DELETE on them and USAGE on their "
			       "sequences); nothing was written",
			       db->path, db->schema);
	return st;
}

/* The oldest schema version the commands that only read (listings,
 * roster, batches, student, verify) read as it is, when the role may not
 * upgrade it: version 3 only added columns that undo reads. */
#define SCHEMA_READ_OLDEST 2

/*
 * An older schema is upgraded with ALTER TABLE, which only the tables'
 * owner (or a member of that role) may run: owner[cap] gets the owner of
 * one table this role may not alter, "" when it may alter them all
 * (review 20, F03).
 */
static enum status schema_foreign_owner(struct db *db, char *owner, size_t cap,
					struct error *err)
{
	static const char sql[] =
		"SELECT min(pg_get_userbyid(c.relowner)::text) FROM pg_class c"
		" JOIN pg_namespace n ON n.oid = c.relnamespace"
		" WHERE n.nspname = current_schema()"
		" AND c.relkind IN ('r', 'p', 'S')"
		" AND NOT pg_has_role(c.relowner, 'USAGE')";
	owner[0] = '\0';
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, sql, 0, &stmt, err);
	if (st != ST_OK)
		return st;
	enum sqldb_rc rc = sqldb_step(stmt);
	if (rc == SQLDB_ROW && !sqldb_column_is_null(stmt, 0))
		snprintf(owner, cap, "%s", sqldb_column_text(stmt, 0));
	else if (rc != SQLDB_ROW)
		st = db__fail(db, rc, "asking who owns the schema's tables", err);
	sqldb_finalize(stmt);
	return st;
}

/* An older schema this role may not upgrade: the commands that only read
 * read it as it is when they can (ST_OK, *as_is); anything else is told
 * who must upgrade it, and how. */
static enum status schema_older(struct db *db, int64_t version,
				unsigned create_mode, bool *as_is,
				struct error *err)
{
	*as_is = false;
	char owner[256];
	enum status st = schema_foreign_owner(db, owner, sizeof(owner), err);
	if (st != ST_OK || !owner[0])
		return st;
	if (!(create_mode & (DB_OPEN_WRITE | DB_OPEN_INIT)) &&
	    version >= SCHEMA_READ_OLDEST) {
		*as_is = true;
		return ST_OK;
	}
	char shown[300];
	size_t used = 0;
	esc_quote(shown, sizeof(shown), &used, owner, strlen(owner), 63);
	return error_set(err, ST_DB,
			 "%s: schema '%s' is at version %lld and must be "
			 "upgraded to version %d by its owner, role %s: run "
			 "'bulkreg init' as that role (see PostgreSQL in the "
			 "manual); nothing was written",
			 db->path, db->schema, (long long)version,
			 DB_SCHEMA_VERSION, shown);
}

enum status db__open_pg(struct db *db, const char *target, unsigned create_mode,
			struct error *err)
{
	enum sqldb_rc rc = sqldb_connect_pg(target, CONNECT_SECONDS, &db->c);
	if (!db->c)
		return error_set(err, ST_NOMEM, "%s: out of memory", db->path);
	if (rc != SQLDB_OK) {
		char msg[ERROR_MAX / 2];
		snprintf(msg, sizeof(msg), "%s", sqldb_errmsg(db->c));
		db_target_scrub(target, msg, sizeof(msg));
		/* libpq checks some values only when it connects (a port
		 * that is not a number, sslmode=sometimes): still a usage
		 * error, like a string that does not parse. */
		if (strncmp(msg, "invalid ", 8) == 0 ||
		    strstr(msg, "for connection option"))
			return error_set(err, ST_USAGE,
					 "%s: not a valid PostgreSQL connection "
					 "string: %s",
					 db->path, msg);
		return error_set(err, ST_DB, "%s: cannot connect: %s", db->path,
				 msg);
	}
	bool init = (create_mode & DB_OPEN_INIT) != 0;
	bool exists = false, usable = false;
	/* A hot standby takes reads only: a command that writes, and verify
	 * (its temporary tables), would fail on its first statement with a
	 * message blaming the role's privileges (review 15, B5). */
	int64_t standby = 0;
	if ((create_mode & (DB_OPEN_WRITE | DB_OPEN_INIT | DB_OPEN_EXAMINE)) &&
	    db__query_int(db, "SELECT CAST(pg_is_in_recovery() AS integer)", 0,
			  &standby, "asking the server its role", err) == ST_OK &&
	    standby)
		return error_set(err, ST_DB,
				 "%s: the server is a read-only standby (a "
				 "replica): %s runs on the primary; nothing "
				 "was written",
				 db->path,
				 (create_mode & DB_OPEN_EXAMINE) &&
						 !(create_mode & DB_OPEN_WRITE) ?
					 "verify, whose checks need temporary "
					 "tables," :
					 "a command that writes");
	enum status st = configure_session(db, err);
	if (st == ST_OK)
		st = schema_exists(db, &exists, &usable, err);
	if (st == ST_OK && exists && !usable)
		return error_set(err, ST_DB,
				 "%s: this role may not use schema '%s' (it "
				 "needs USAGE on it: GRANT USAGE ON SCHEMA "
				 "\"%s\" TO the role; see PostgreSQL in the "
				 "manual); nothing was written",
				 db->path, db->schema, db->schema);
	if (st == ST_OK && !exists && init)
		st = create_schema(db, err);
	int64_t version = 0;
	if (st == ST_OK && (exists || init))
		st = db__pg_schema_version(db, &version, err);
	if (st == ST_OK && version == 0 && !init)
		return error_set(err, ST_DB,
				 "%s: no bulkreg schema '%s' in this database "
				 "(run 'bulkreg init' to create it, or name "
				 "the right one with --schema)",
				 db->path, db->schema);
	if (st == ST_OK && (create_mode & DB_OPEN_WRITE) && version > 0)
		st = check_write_rights(db, err);
	/* Objects bulkreg did not create are refused as on SQLite, before
	 * anything is changed (verify alone examines them). */
	db->examine = (create_mode & DB_OPEN_EXAMINE) != 0;
	db->as_is = (create_mode & DB_OPEN_AS_IS) != 0;
	/* Also before init writes into a schema that was there already
	 * (--schema public): it said "ready" of a schema every other
	 * command then refused (review 15, C4). */
	if (st == ST_OK && (version > 0 || (init && exists)) && !db->examine)
		st = db__trust_check(db, err);
	/* An older schema: a role that cannot upgrade it reads it as it is
	 * (listings; review 20 F03); verify and copy-db's FROM never upgrade
	 * (review 21 F03, F09). */
	bool read_as_is = false;
	if (st == ST_OK && version > 0 && version < DB_SCHEMA_VERSION &&
	    !db->as_is)
		st = schema_older(db, version, create_mode, &read_as_is, err);
	if (st == ST_OK && !read_as_is && (db->examine || db->as_is))
		st = db__schema_examinable(db, err);
	if (st == ST_OK && !read_as_is)
		st = db__schema_upgrade(db, err);
	return st;
}
