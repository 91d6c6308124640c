/* cmd: what the command-line layer's files share (main.c and cmd_*.c). */
#ifndef BULKREG_CMD_H
#define BULKREG_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "db.h"
#include "error.h"
#include "parse.h"
#include "report.h"

#define DEFAULT_WAIT_SECONDS 30.0

/* Global options, given before or after the command. */
struct cli {
	const char *db_path;   /* -d, else $BULKREG_DB, else ./bulkreg.db */
	const char *db_shown;  /* db_path as messages show it (dbtarget.h) */
	bool db_pg;            /* db_path names a PostgreSQL database */
	const char *schema;    /* --schema, else $BULKREG_SCHEMA, else NULL */
	bool schema_given;     /* --schema was given */
	bool init;             /* `init`: may create the PostgreSQL schema */
	bool writes;           /* the command writes (DB_OPEN_WRITE) */
	bool quiet;            /* -q */
	bool stdout_closed;    /* fd 1 was closed at start (writes will fail) */
	unsigned file_mode;    /* of files bulkreg creates: 0600, or 0640 with
				* --group-readable */
	bool examine;          /* verify: open a schema bulkreg did not wholly
				* create (DB_OPEN_EXAMINE) */
	bool may_create;       /* init, course add, course import: the
				* database is created if it is not there */
	const char *cmd;       /* the command as messages name it ("register",
				* "course list"); set by cli_getopt_init;
				* NULL before the command */
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
int cmd_copy_db(struct cli *cli, int argc, char **argv);

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

/* The same, naming the command first ("bulkreg: batches show: no batch 9
 * ..."), for what the command was asked about and could not find or do. */
int cli_fail_cmd(const struct cli *cli, enum status st,
		 const struct error *err);

/* Prints "bulkreg: CMD: <msg>" and "Try 'bulkreg CMD --help'." on
 * stderr (CMD is cli->cmd); returns 2. */
int cli_usage_error(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Opens the database; prints the error itself on failure.  Unless
 * cli->may_create, a database that is not there is not created: "no
 * database at PATH: ...", exit 2. */
int cli_open_db(struct cli *cli, double wait_seconds, struct db **out);

/* Warns, even with -q, when the directory of the SQLite database `target`
 * (-d, or a copy-db operand) is writable by other users, and when the
 * database or a file beside it is readable by every user; nothing for a
 * PostgreSQL target. */
void cli_warn_shared_dir(const struct cli *cli, const char *target);

/* A `done` channel that SIGINT, SIGTERM or SIGHUP closes (signals.h),
 * made before any other thread: 0, or the exit code after saying why.
 * cli_cancel_stop ends it. */
struct chan;
int cli_cancel_start(struct chan **done);
void cli_cancel_stop(struct chan *done);

/*
 * One option parser for every command: getopt_long over the command's own
 * options with the global ones merged in (-d PATH, --db PATH, -q, --quiet,
 * --group-readable), which it applies to the cli itself, so global options
 * go before or after any command.  getopt's messages read "bulkreg: CMD:
 * unrecognized option '--x'", followed by the one line "Try 'bulkreg CMD
 * --help'.".  Initialising starts a fresh scan of argv (argv[0] is the
 * command's name; it is replaced while parsing).
 */
#define CLI_OPTS_MAX 48
#define CLI_OPT_ERROR '?' /* cli_getopt_next: the error is printed: exit 2 */
struct cli_getopt {
	struct cli *cli;
	struct option longopts[CLI_OPTS_MAX];
	char shortopts[64];
	char prog[64];      /* "CMD", for its messages */
};
void cli_getopt_init(struct cli_getopt *g, struct cli *cli, const char *cmd,
		     const char *shortopts,
		     const struct option *longopts);
/* getopt_long's complaint (c: '?' or ':', with opterr 0 and ':' leading
 * the short options), printed as getopt would but through cli_error, so
 * an option holding escapes reaches the terminal escaped; "CMD: " in front
 * when cmd is not NULL. */
void cli_option_error(const char *cmd, int c, char **argv,
		      const struct option *longopts);
/* The next option of the command (as getopt_long returns it), -1 after
 * the last one (optind is at the first operand), or CLI_OPT_ERROR. */
int cli_getopt_next(struct cli_getopt *g, int argc, char **argv,
		    int *longindex);

/* Which store the database option names (cli->db_pg), the form every
 * message shows it in (cli->db_shown, passwords hidden) and the schema
 * ($BULKREG_SCHEMA).  Prints the error and returns 2 for a malformed
 * PostgreSQL connection string or schema name, or --schema with an SQLite
 * file; else 0.  Called once the command's options are parsed. */
int cli_settle_target(struct cli *cli);

/* A command's --help (and `bulkreg help CMD`): usage, help, and the line on
 * global options, on stdout.  Returns the exit code. */
int cli_help(const struct cli *cli, const char *usage, const char *help);

/* Strict number parsing: the whole string, in [min, max] (whole numbers:
 * parse_int64, parse.h). */
bool parse_seconds(const char *s, double min, double max, double *out);

/* --wait SECONDS (0..86400) into *wait; 0, or 2 with the usage error
 * printed. */
int cli_wait_arg(struct cli *cli, const char *arg, double *wait);

/* Parses a listing's [--format F] [--help] and the global options;
 * returns -1 to go on (optind at the first operand), else an exit code. */
int cli_parse_format(struct cli *cli, int argc, char **argv, const char *cmd,
		     const char *usage, const char *help,
		     enum report_format *fmt);
/* The same with --format html too (course list). */
int cli_parse_format_html(struct cli *cli, int argc, char **argv,
			  const char *cmd, const char *usage, const char *help,
			  enum report_format *fmt);

/* For listing callbacks: 0 while stdout has had no write error, else fills
 * err ("CMD: writing standard output: <why>", ST_IO) and returns -1. */
int cli_stdout_check(const struct cli *cli, struct error *err);

/* A csv field on stdout, then ',' or (last) a newline; NULL as empty.
 * On a terminal its controls are shown escaped (esc_terminal), as the
 * report's are; to a file or a pipe the field is exact. */
void cli_csv_str(const char *s, bool last);
/* The field alone (no separator after it). */
void cli_csv_field(const char *s, size_t len);

/* "key": "value" on stdout (JSON string, or null for NULL). */
void cli_json_str(const char *key, const char *s);

/* A batch's header as `batches` lists it (cmd_list.c), for `batches show`:
 * one json object; the text column header; one text entry. */
void cli_batch_json(const struct batch_record *b);
void cli_batch_text_header(void);
void cli_batch_text(const struct batch_record *b);

/* A read-only listing ends like other filters when its reader goes away
 * (`bulkreg batches | head`): quietly, killed by SIGPIPE (exit 141), not
 * with an error about a broken pipe.  Commands that write keep SIGPIPE
 * ignored: a register's report must say the batch was committed. */
void cli_listing_output(void);

/* Finishes standard output: flush and check; prints "bulkreg: CMD:
 * writing standard output: <why>"; returns 0 or 3.  <why> is the flush's
 * errno or, when it had nothing left to write, the errno a failed write
 * left before the call (call it straight after writing). */
int cli_close_stdout(const struct cli *cli);

#endif
