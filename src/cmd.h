/* cmd: what the command-line layer's files share (main.c and cmd_*.c). */
#ifndef BULKREG_CMD_H
#define BULKREG_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "db.h"
#include "error.h"
#include "report.h"

#define DEFAULT_WAIT_SECONDS 30.0

/* Global options, given before the command. */
struct cli {
	const char *db_path;   /* -d, else $BULKREG_DB, else ./bulkreg.db */
	const char *db_shown;  /* db_path as messages show it (dbtarget.h) */
	bool db_pg;            /* db_path names a PostgreSQL database */
	const char *schema;    /* --schema, else $BULKREG_SCHEMA, else NULL */
	bool init;             /* `init`: may create the PostgreSQL schema */
	bool writes;           /* the command writes (DB_OPEN_WRITE) */
	bool quiet;            /* -q */
	bool stdout_closed;    /* fd 1 was closed at start (writes will fail) */
	unsigned file_mode;    /* of files bulkreg creates: 0600, or 0640 with
				* --group-readable */
	bool examine;          /* verify: open a schema bulkreg did not wholly
				* create (DB_OPEN_EXAMINE) */
};

/* The commands: argv[0] is the command's name. Each returns an exit code. */
int cmd_init(struct cli *cli, int argc, char **argv);
int cmd_course(struct cli *cli, int argc, char **argv);
int cmd_register(struct cli *cli, int argc, char **argv);
int cmd_drop(struct cli *cli, int argc, char **argv);
int cmd_undo(struct cli *cli, int argc, char **argv);
int cmd_roster(struct cli *cli, int argc, char **argv);
int cmd_batches(struct cli *cli, int argc, char **argv);
int cmd_batches_show(struct cli *cli, int argc, char **argv);
int cmd_student(struct cli *cli, int argc, char **argv);
int cmd_verify(struct cli *cli, int argc, char **argv);

/* "bulkreg: <msg>" on stderr.  The formatted message goes through the
 * terminal escaping of the text report (text_escape_message): file names,
 * course codes and anything else the user or a file supplied cannot drive
 * the terminal. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "bulkreg: warning: <msg>" on stderr unless quiet. */
void cli_warn(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints err and returns the exit code for st. */
int cli_fail(enum status st, const struct error *err);

/* Prints "<usage>\nTry 'bulkreg <cmd> --help'." on stderr; returns 2. */
int cli_usage_error(const char *usage, const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Opens the database; prints the error itself on failure.  Commands that
 * only read refuse a missing file (must_exist) rather than create an empty
 * database from a mistyped path. */
int cli_open_db(const struct cli *cli, double wait_seconds, bool must_exist,
		struct db **out);

/* Warns (cli_warn) when the database's directory is writable by other
 * users. */
void cli_warn_shared_dir(const struct cli *cli);

/* Removes -q/--quiet and --group-readable given after the command
 * (argv[1..], up to "--") and sets cli->quiet / cli->file_mode: for
 * commands that take no other options. */
void cli_take_quiet(struct cli *cli, int *argc, char **argv);

/* Strict number parsing: the whole string, in [min, max]. */
bool parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
bool parse_seconds(const char *s, double min, double max, double *out);

/* Parses a listing's [--format F] [--help] (help: printed after usage);
 * returns -1 to go on (optind at the first operand), else an exit code. */
int cli_parse_format(int argc, char **argv, const char *usage,
		     const char *help, const char *cmd, enum report_format *fmt);

/* A csv field on stdout, then ',' or (last) a newline; NULL as empty. */
void cli_csv_str(const char *s, bool last);

/* "key": "value" on stdout (JSON string, or null for NULL). */
void cli_json_str(const char *key, const char *s);

/* A batch's header as `batches` lists it (cmd_list.c), for `batches show`:
 * one json object; the text column header; one text entry. */
void cli_batch_json(const struct batch_record *b);
void cli_batch_text_header(void);
void cli_batch_text(const struct batch_record *b);

/* Finishes standard output: flush and check; prints the error; returns 0 or
 * 3. */
int cli_close_stdout(void);

#endif
