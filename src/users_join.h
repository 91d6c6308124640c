/* users_join: --users FILE, the users of an export, looked up by id. */
#ifndef BULKREG_USERS_JOIN_H
#define BULKREG_USERS_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "row.h"

struct csvread_alias;

/* One user's values (each at most ROW_VALUE_MAX bytes), and the line of
 * the file they are on. */
struct user_values {
	struct row_value first_name, last_name, email, status, role;
	uint64_t line;
};

struct users_join;

/*
 * Reads a users file (OneRoster users.csv, Canvas users.csv, Clever
 * students.csv, or any file with these headers) in `encoding` (NULL:
 * UTF-8; a byte order mark wins over it), through csvread.  Columns, by
 * header (csvread_name_eq: case, spaces, '-' and '_' do not count):
 *   id          sourcedid, user_id, student_id, username, id
 *   first_name  givenname, first_name
 *   last_name   familyname, last_name
 *   email       email, student_email, mail
 *   status      status
 *   role        role
 * Memory stays bounded: the values go to an unlinked temporary file (in
 * $TMPDIR, else /tmp; at most 4 GiB); memory keeps 8 bytes a slot of an
 * open-addressing index at most half full (a 32-bit hash and the record's
 * offset): 16 MiB for a million users.
 * A user listed twice: the first wins.  A row is held to the roster's
 * rules, or the file refused: the header's number of fields, no text after
 * a closing quote, values read at most ROW_VALUE_MAX bytes (ST_INPUT
 * naming the line and the column, number and header name).  ST_INPUT
 * naming the file for an unusable file (no id column, not UTF-8, malformed
 * CSV...), ST_IO, ST_NOMEM.
 */
enum status users_join_open(const char *path, const char *encoding,
			    struct users_join **out, struct error *err);
/* The same with fields separated by `delimiter` (the roster's
 * --delimiter) unless the file's own "sep=" line names another. */
enum status users_join_open_delim(const char *path, const char *encoding,
				  unsigned char delimiter,
				  struct users_join **out, struct error *err);

/* The header name of the column user ids are looked up in, as the file
 * writes it ("username"). */
const char *users_join_id_column(const struct users_join *u);

/* The SHA-256 of the file's bytes as read, in hex (for the history). */
const char *users_join_sha256_hex(const struct users_join *u);

/* Looks user `id` up: *found, and its values in *out.  ST_IO if reading
 * the temporary file fails.  Not thread-safe (one reader). */
enum status users_join_find(struct users_join *u, const char *id, size_t len,
			    bool *found, struct user_values *out,
			    struct error *err);

/* The header names the users file reads (for the test that no two are
 * one name). */
const struct csvread_alias *users_join_names(void);

/* Users read (duplicates not counted). */
size_t users_join_count(const struct users_join *u);
/* A warning when a user id is listed twice ("FILE: user id 'u1' is on
 * lines 2 and 5: the first (line 2) is used"; about the first such id only,
 * with how many more there are), else NULL. */
const char *users_join_warning(const struct users_join *u);

/* When the file's byte order mark overrode `encoding` (the file is read
 * as the mark says): "FILE: read as UTF-16LE, as its byte order mark
 * says, not as WINDOWS-1252", for a warning; else NULL.  The advice of
 * its encoding messages names --users-encoding. */
const char *users_join_bom_note(const struct users_join *u);

/* The memory its index holds, in bytes. */
size_t users_join_bytes(const struct users_join *u);

void users_join_close(struct users_join *u);

#endif
