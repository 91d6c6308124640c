/* db_trust: refuse a database whose schema holds what bulkreg did not put there. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "db_internal.h"

/*
 * A database file is input like any other: whoever could write it could
 * have added a trigger that copies every email elsewhere, a view, or an
 * index that changes what a statement does.  Rather than keep a list of
 * names (which would drift as migrations are added), the expected schema
 * is built by running bulkreg's own migrations up to the file's version in
 * an in-memory database, and every object of the file must appear there
 * with the same type, name, table and SQL.  ANALYZE's tables sqlite_stat1
 * and sqlite_stat4, as ANALYZE makes them, hold statistics, not code, and
 * are allowed.
 */

/* Only ANALYZE's own tables, by exact name and SQL: a pattern on the name
 * let a trigger called sqlite_stat1_x through (review 14, A4). */
#define LIST_SQL                                                        \
	"SELECT type, name, tbl_name, coalesce(sql, '') FROM main.sqlite_master" \
	" WHERE NOT (type = 'table' AND name = tbl_name AND"                \
	" (name, sql) IN (VALUES"                                           \
	" ('sqlite_stat1', 'CREATE TABLE sqlite_stat1(tbl,idx,stat)'),"     \
	" ('sqlite_stat4',"                                                 \
	"  'CREATE TABLE sqlite_stat4(tbl,idx,neq,nlt,ndlt,sample)')))"    \
	" ORDER BY rowid"
#define FIND_SQL                                                        \
	"SELECT 1 FROM main.sqlite_master WHERE type = ?1 AND name = ?2"  \
	" AND tbl_name = ?3 AND coalesce(sql, '') = ?4"
#define SHOWN_MAX 6 /* objects named in the message */

struct findings {
	char names[512];
	size_t used, count;
};

static void note(void *ctx, const char *type, const char *name,
		 const char *table)
{
	struct findings *f = ctx;
	f->count++;
	if (f->count > SHOWN_MAX)
		return;
	char one[200];
	if (strcmp(name, table) != 0)
		snprintf(one, sizeof(one), "%s%s %.60s on %.60s",
			 f->count > 1 ? ", " : "", type, name, table);
	else
		snprintf(one, sizeof(one), "%s%s %.60s", f->count > 1 ? ", " : "",
			 type, name);
	int n = snprintf(f->names + f->used, sizeof(f->names) - f->used, "%s",
			 one);
	if (n > 0)
		f->used += (size_t)n < sizeof(f->names) - f->used ?
				   (size_t)n :
				   sizeof(f->names) - f->used - 1;
}

static enum status read_version(struct db *db, int *version, struct error *err)
{
	struct sqldb_stmt *stmt = NULL;
	enum status st = db__prepare(db, "PRAGMA main.user_version", 0, &stmt,
				     err);
	if (st != ST_OK)
		return st;
	enum sqldb_rc rc = sqldb_step(stmt);
	if (rc == SQLDB_ROW)
		*version = (int)sqldb_column_int64(stmt, 0);
	else
		st = db__fail(db, rc, "reading the schema version", err);
	sqldb_finalize(stmt);
	return st;
}

/* Compares every object of db with the expected schema in mem. */
static enum status compare(struct db *db, struct db *mem,
			   db__foreign_fn fn, void *ctx, struct error *err)
{
	struct sqldb_stmt *list = NULL, *find = NULL;
	enum status st = db__prepare(db, LIST_SQL, 0, &list, err);
	if (st == ST_OK)
		st = db__prepare(mem, FIND_SQL, 0, &find, err);
	enum sqldb_rc rc = SQLDB_DONE;
	while (st == ST_OK && (rc = sqldb_step(list)) == SQLDB_ROW) {
		for (int i = 0; i < 4; i++)
			sqldb_bind_text(find, i + 1,
					  sqldb_column_text(list, i),
					  -1);
		enum sqldb_rc frc = sqldb_step(find);
		sqldb_reset(find);
		if (frc == SQLDB_DONE)
			fn(ctx, sqldb_column_text(list, 0),
			   sqldb_column_text(list, 1),
			   sqldb_column_text(list, 2));
		else if (frc != SQLDB_ROW)
			st = db__fail(mem, frc, "building the expected schema",
				      err);
	}
	if (st == ST_OK && rc != SQLDB_DONE)
		st = db__fail(db, rc, "reading the schema", err);
	sqldb_finalize(list);
	sqldb_finalize(find);
	return st;
}

static enum status check_against(struct db *db, int version,
				 db__foreign_fn fn, void *ctx, struct error *err)
{
	struct db mem = {.path = db->path};
	sqlite3 *h = NULL;
	int rc = sqlite3_open_v2(":memory:", &h,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					 SQLITE_OPEN_NOMUTEX,
				 NULL);
	mem.sqlite = h;
	mem.c = h ? sqldb_wrap_sqlite(h) : NULL;
	enum status st;
	if (rc != SQLITE_OK || !mem.c)
		st = error_set(err, ST_NOMEM,
			       "%s: out of memory building the expected schema",
			       db->path);
	else
		st = db__schema_build(&mem, version, err);
	if (st == ST_OK)
		st = compare(db, &mem, fn, ctx, err);
	sqldb_close(mem.c);
	sqlite3_close_v2(h);
	return st;
}

/*
 * PostgreSQL: the schema cannot be rebuilt beside the real one (the role
 * may not create schemas), so what would run code or change what a
 * statement reads or writes is looked for by kind: a trigger (other than
 * the server's own, for foreign keys), a rule, a row-level security
 * policy or table, a view, and an index bulkreg's migrations do not name
 * (an index on an expression runs its function at every insert) and no
 * primary key or unique constraint owns; a constraint, a column default
 * or a column type that uses a function, an operator or a type outside
 * pg_catalog; and any function, operator, type ... of the schema itself
 * (PG_CODE_SQL).
 */
/* pg_depend row d names a function, an operator or a type outside
 * pg_catalog: code a CHECK constraint, a column default or a column's
 * type would run at every insert (review 15, A2: a CHECK calling the
 * planter's function copied every email).  bulkreg's own use only
 * pg_catalog's. */
#define PG_OUTSIDE_CATALOG                                                   \
	" AND ((d.refclassid = 'pg_proc'::regclass AND (SELECT pronamespace"  \
	"  FROM pg_proc WHERE oid = d.refobjid) <> 'pg_catalog'::regnamespace)" \
	" OR (d.refclassid = 'pg_operator'::regclass AND (SELECT oprnamespace" \
	"  FROM pg_operator WHERE oid = d.refobjid)"                          \
	"  <> 'pg_catalog'::regnamespace)"                                    \
	" OR (d.refclassid = 'pg_type'::regclass AND (SELECT typnamespace"    \
	"  FROM pg_type WHERE oid = d.refobjid) <> 'pg_catalog'::regnamespace))"
/* Code and names a statement may resolve to: the schema is in the search
 * path, and pg_catalog, searched first, wins only with an exact match --
 * 'x' || current_schema() found a planted ||(name, name), and ran it as
 * whoever ran bulkreg, a superuser too (review 20, F07).  bulkreg creates
 * none of these: its only types are its tables' row types and their
 * arrays. */
#define PG_CODE_SQL                                                          \
	" UNION ALL SELECT CASE p.prokind WHEN 'p' THEN 'procedure'"          \
	" WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function'"          \
	" ELSE 'function' END, p.proname, p.proname, 0 FROM pg_proc p, ns"    \
	" WHERE p.pronamespace = ns.oid"                                      \
	" UNION ALL SELECT 'operator', o.oprname, o.oprname, 0"               \
	" FROM pg_operator o, ns WHERE o.oprnamespace = ns.oid"               \
	" UNION ALL SELECT 'type', t.typname, t.typname, 0 FROM pg_type t, ns" \
	" WHERE t.typnamespace = ns.oid AND NOT EXISTS (SELECT 1"             \
	"  FROM pg_class r WHERE r.relkind <> 'c' AND r.oid = t.typrelid)"    \
	" AND NOT (t.typcategory = 'A' AND EXISTS (SELECT 1 FROM pg_type e"   \
	"  WHERE e.oid = t.typelem AND e.typnamespace = ns.oid))"            \
	" UNION ALL SELECT 'collation', c.collname, c.collname, 0"            \
	" FROM pg_collation c, ns WHERE c.collnamespace = ns.oid"             \
	" UNION ALL SELECT 'conversion', c.conname, c.conname, 0"             \
	" FROM pg_conversion c, ns WHERE c.connamespace = ns.oid"             \
	" UNION ALL SELECT 'operator class', c.opcname, c.opcname, 0"         \
	" FROM pg_opclass c, ns WHERE c.opcnamespace = ns.oid"                \
	" UNION ALL SELECT 'operator family', f.opfname, f.opfname, 0"        \
	" FROM pg_opfamily f, ns WHERE f.opfnamespace = ns.oid"               \
	" UNION ALL SELECT 'text search configuration', c.cfgname,"           \
	" c.cfgname, 0 FROM pg_ts_config c, ns WHERE c.cfgnamespace = ns.oid" \
	" UNION ALL SELECT 'text search dictionary', d.dictname, d.dictname,"  \
	" 0 FROM pg_ts_dict d, ns WHERE d.dictnamespace = ns.oid"             \
	" UNION ALL SELECT 'text search parser', t.prsname, t.prsname, 0"     \
	" FROM pg_ts_parser t, ns WHERE t.prsnamespace = ns.oid"              \
	" UNION ALL SELECT 'text search template', t.tmplname, t.tmplname, 0" \
	" FROM pg_ts_template t, ns WHERE t.tmplnamespace = ns.oid"
#define PG_LIST_SQL                                                          \
	"WITH ns AS (SELECT CAST(current_schema() AS regnamespace) AS oid)"    \
	" SELECT 'trigger', t.tgname, c.relname, 0 FROM pg_trigger t"         \
	" JOIN pg_class c ON c.oid = t.tgrelid, ns"                           \
	" WHERE c.relnamespace = ns.oid AND NOT t.tgisinternal"               \
	" UNION ALL SELECT 'rule', r.rulename, c.relname, 0 FROM pg_rewrite r"  \
	" JOIN pg_class c ON c.oid = r.ev_class, ns"                          \
	" WHERE c.relnamespace = ns.oid AND r.rulename <> '_RETURN'"          \
	" UNION ALL SELECT 'policy', p.polname, c.relname, 0 FROM pg_policy p"  \
	" JOIN pg_class c ON c.oid = p.polrelid, ns"                          \
	" WHERE c.relnamespace = ns.oid"                                      \
	" UNION ALL SELECT 'row security on', c.relname, c.relname, 0"        \
	" FROM pg_class c, ns WHERE c.relnamespace = ns.oid"                  \
	" AND c.relrowsecurity"                                               \
	" UNION ALL SELECT CASE c.relkind WHEN 'v' THEN 'view'"               \
	" ELSE 'materialized view' END, c.relname, c.relname, 0"              \
	" FROM pg_class c, ns WHERE c.relnamespace = ns.oid"                  \
	" AND c.relkind IN ('v', 'm')"                                        \
	" UNION ALL SELECT 'index', i.relname, c.relname, 1 FROM pg_index x"    \
	" JOIN pg_class i ON i.oid = x.indexrelid"                            \
	" JOIN pg_class c ON c.oid = x.indrelid, ns"                          \
	" WHERE c.relnamespace = ns.oid AND NOT EXISTS (SELECT 1"             \
	"  FROM pg_constraint k WHERE k.conindid = x.indexrelid"              \
	"  AND k.contype IN ('p', 'u'))"                                      \
	" UNION ALL SELECT 'constraint', k.conname, c.relname, 0"            \
	" FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid, ns"     \
	" WHERE c.relnamespace = ns.oid AND EXISTS (SELECT 1 FROM pg_depend d" \
	"  WHERE d.classid = 'pg_constraint'::regclass AND d.objid = k.oid"   \
	PG_OUTSIDE_CATALOG ")"                                                 \
	" UNION ALL SELECT 'column', a.attname, c.relname, 0"                 \
	" FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid, ns"      \
	" WHERE c.relnamespace = ns.oid AND c.relkind = 'r' AND a.attnum > 0" \
	" AND NOT a.attisdropped AND (EXISTS (SELECT 1 FROM pg_attrdef f"      \
	"  JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass"            \
	"  AND d.objid = f.oid WHERE f.adrelid = a.attrelid"                  \
	"  AND f.adnum = a.attnum" PG_OUTSIDE_CATALOG ")"                      \
	"  OR (SELECT typnamespace FROM pg_type WHERE oid = a.atttypid)"      \
	"   <> 'pg_catalog'::regnamespace)"                                   \
	PG_CODE_SQL                                                            \
	" ORDER BY 1, 2"

static enum status pg_foreign_objects(struct db *db, int version,
				      db__foreign_fn fn, void *ctx,
				      struct error *err)
{
	struct sqldb_stmt *list = NULL;
	enum status st = db__prepare(db, PG_LIST_SQL, 0, &list, err);
	if (st != ST_OK)
		return st;
	enum sqldb_rc rc;
	while ((rc = sqldb_step(list)) == SQLDB_ROW) {
		const char *name = sqldb_column_text(list, 1);
		if (sqldb_column_int64(list, 3) &&
		    db__schema_creates_index(name, version))
			continue;
		fn(ctx, sqldb_column_text(list, 0), name,
		   sqldb_column_text(list, 2));
	}
	if (rc != SQLDB_DONE)
		st = db__fail(db, rc, "reading the schema", err);
	sqldb_finalize(list);
	return st;
}

enum status db__foreign_objects(struct db *db, db__foreign_fn fn, void *ctx,
				struct error *err)
{
	if (db->pg) {
		int64_t v = 0;
		enum status st = db__pg_schema_version(db, &v, err);
		return st == ST_OK ? pg_foreign_objects(db, (int)v, fn, ctx, err) :
				     st;
	}
	int version = 0;
	enum status st = read_version(db, &version, err);
	if (st == ST_OK && version <= DB_SCHEMA_VERSION)
		st = check_against(db, version, fn, ctx, err);
	return st;
}

enum status db__trust_check(struct db *db, struct error *err)
{
	/* One read transaction: the version and the objects are seen as of
	 * the same moment, even while another bulkreg creates the schema. */
	enum status st = db__exec(db, "BEGIN", "reading the schema", err);
	if (st != ST_OK)
		return st;
	struct findings f = {.used = 0};
	f.names[0] = '\0';
	st = db__foreign_objects(db, note, &f, err);
	/* Ending a read cannot fail but for want of memory; then say so
	 * rather than go on inside a transaction. */
	enum sqldb_rc rc = sqldb_exec(db->c, "COMMIT");
	if (rc != SQLDB_OK) {
		if (st == ST_OK)
			st = db__fail(db, rc, "reading the schema", err);
		if (sqldb_in_transaction(db->c))
			sqldb_exec(db->c, "ROLLBACK");
	}
	if (st != ST_OK || f.count == 0)
		return st;
	return error_set(err, ST_DB,
			 "%s: the database holds %zu object%s bulkreg did not "
			 "create, or changed since (%s%s); refusing to use "
			 "it: whoever did could read or change what bulkreg "
			 "writes "
			 "(remove them with %s if they are yours)",
			 db->path, f.count, f.count == 1 ? "" : "s", f.names,
			 f.count > SHOWN_MAX ? ", ..." : "",
			 db->pg ? "psql" : "sqlite3");
}
