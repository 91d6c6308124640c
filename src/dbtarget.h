/* dbtarget: what -d names -- an SQLite file or a PostgreSQL database -- and how to show it. */
#ifndef BULKREG_DBTARGET_H
#define BULKREG_DBTARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* The schema (namespace) bulkreg uses in PostgreSQL unless told. */
#define DB_PG_SCHEMA_DEFAULT "bulkreg"
#define DB_PG_SCHEMA_MAX 63

/*
 * True when `target` selects PostgreSQL: a postgresql:// or postgres://
 * URI, or a libpq keyword/value string whose first word is a libpq
 * keyword ("service=reg", "host=db1 dbname=reg").  Anything else is an
 * SQLite file name (give "./host=x" for a file named like that).
 */
bool db_target_is_pg(const char *target);

/* ST_USAGE, naming the (redacted) target and libpq's reason, when a
 * PostgreSQL target does not parse. */
enum status db_target_check(const char *target, struct error *err);

/*
 * Copies target into out[cap] with every password in it replaced by
 * "***": the URI's user:password@, a password= parameter of a URI or a
 * keyword/value string; in a keyword/value string libpq cannot read (a
 * misspelt "pasword", "host= password=x"), every value, every name that
 * is not a libpq keyword, and whatever follows a word without '='.  The
 * one place a target is made printable: every
 * message, report and record shows this form.  An SQLite path is copied
 * unchanged.
 */
void db_target_redact(const char *target, char *out, size_t cap);

/* Replaces every copy of target's password in msg[cap] (a message from
 * libpq or the server) by "***". */
void db_target_scrub(const char *target, char *msg, size_t cap);

/* A schema name bulkreg accepts: a lowercase letter or '_', then up to
 * 62 lowercase letters, digits or '_' (no quoting needed anywhere). */
bool db_schema_name_valid(const char *name);

#endif
