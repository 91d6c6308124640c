/* bulkreg: register CSV rosters of students into courses -- the entry point. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h> /* mallopt */
#endif

#include "cmd.h"
#include "hint.h"

static const char usage_text[] =
	"usage: bulkreg [-q] [-d DB] [--schema NAME] [--group-readable] COMMAND [ARGS]\n"
	"       bulkreg init\n"
	"       bulkreg course add CODE [--capacity N] [--title TEXT] [--waitlist N]\n"
	"       bulkreg course import FILE.csv|- [--capacity N [--waitlist N]]\n"
	"       bulkreg course list [--format text|csv|json|html]\n"
	"       bulkreg register ROSTER.csv|- [--course CODE] [--dry-run] [--strict]\n"
	"                [--max-rejects N|P%] [--sync [--sync-scope roster|all]\n"
	"                [--max-drops N|P%]] [--update-students always|fill|never]\n"
	"                [--workers N] [--format text|csv|json|html] [-o FILE] [--all]\n"
	"                [--rejects FILE] [--label TEXT]\n"
	"                [--delimiter C] [--wait SECONDS] [--check CMD]\n"
	"                [--check-timeout SECONDS] [--check-env clean|inherit]\n"
	"                [--max-rows N] [--profile NAME] [--users FILE]\n"
	"                [--map FIELD=HEADER,...] [--encoding NAME]\n"
	"                [--users-encoding NAME]\n"
	"                [--allow-missing-email] [--course-from COLUMN]\n"
	"       bulkreg drop ROSTER.csv|- [register's options except --sync, --sync-scope,\n"
	"                --max-drops, --update-students, --allow-missing-email]\n"
	"       bulkreg drop --student ID --course CODE [--dry-run] [--format FMT]\n"
	"                [-o FILE] [--all] [--label TEXT] [--wait SECONDS]\n"
	"       bulkreg undo BATCH [--dry-run] [-o FILE] [--format text|csv|json|html]\n"
	"                [--all] [--label TEXT] [--wait SECONDS]\n"
	"       bulkreg roster CODE [--format text|csv|json]\n"
	"       bulkreg batches [--format text|csv|json]\n"
	"       bulkreg batches show N [--format text|csv|json]\n"
	"       bulkreg student ID [--format text|csv|json]\n"
	"       bulkreg verify [--repair] [--format text|csv|json]\n"
	"       bulkreg copy-db FROM TO [--wait SECONDS]\n";

static const char help_text[] =
	"\n"
	"Registers whole rosters of students into courses, concurrently, in one\n"
	"transaction (SQLite, or PostgreSQL for a database several machines share),\n"
	"and reports row by row what happened.\n"
	"\n"
	"Global options (before or after the command):\n"
	"  -d, --db DB     database: an SQLite file, or PostgreSQL given as a URI\n"
	"                  (postgresql://user@host:port/dbname?sslmode=...) or\n"
	"                  libpq keywords (service=NAME, host=... dbname=...)\n"
	"                  (default: $BULKREG_DB, else ./bulkreg.db); passwords\n"
	"                  from ~/.pgpass or $PGPASSWORD, never printed\n"
	"  --schema NAME   PostgreSQL schema of bulkreg's tables (default:\n"
	"                  $BULKREG_SCHEMA, else bulkreg)\n"
	"  -q, --quiet     no summary, warnings or progress; errors, and the\n"
	"                  warnings about the database's own safety, still go\n"
	"                  to stderr\n"
	"  --group-readable  files bulkreg creates (database, report) are 0640,\n"
	"                  readable by the group; else 0600, whatever the umask\n"
	"  -h, --help      this help; 'bulkreg COMMAND --help' (or 'bulkreg help\n"
	"                  COMMAND') for a command\n"
	"  -V, --version   print the version\n"
	"\n"
	"Exit status: 0 every row succeeded; 1 some rows were rejected; 2 usage error\n"
	"or unusable input; 3 database or system error; 128+N stopped by signal N.\n"
	"See bulkreg(1) for everything else.\n";

struct command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
};

static const struct command commands[] = {
	{"batches", cmd_batches},
	{"copy-db", cmd_copy_db},
	{"course", cmd_course},
	{"drop", cmd_drop},
	{"init", cmd_init},
	{"register", cmd_register},
	{"roster", cmd_roster},
	{"student", cmd_student},
	{"undo", cmd_undo},
	{"verify", cmd_verify},
};

/*
 * Descriptors 0-2 must be open before anything else opens a file, or a
 * database or roster could land on fd 1 and receive the report.  A closed
 * stdout or stderr is kept closed in effect: /dev/null opened read-only
 * makes every write fail (EBADF), which is what the user's closed
 * descriptor should do -- also through /dev/stdout or /dev/stderr, which
 * report_dest.c writes through the descriptor (review 21, F04).
 */
static bool guard_std_fds(void)
{
	bool stdout_closed = false;
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		int got = open("/dev/null", O_RDONLY);
		if (got != fd)
			exit(3); /* cannot even report: nothing sane to do */
		if (fd == 1)
			stdout_closed = true;
	}
	return stdout_closed;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

static int top_help(void)
{
	struct cli cli = {0};
	fputs(usage_text, stdout);
	fputs(help_text, stdout);
	return cli_close_stdout(&cli);
}

/* The one command nearest to a mistyped name ("regster"), or NULL. */
static const struct command *near_command(const char *name)
{
	const struct command *best = NULL;
	size_t len = strlen(name), best_d = HINT_DISTANCE_MAX + 1;
	size_t chars = hint_length(name, len);
	size_t far = HINT_DISTANCE_MAX < chars / 2 ? HINT_DISTANCE_MAX : chars / 2;
	bool tie = false;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const char *c = commands[i].name;
		size_t d = hint_distance(name, len, c, strlen(c));
		if (d > far || d > best_d)
			continue;
		tie = d == best_d;
		if (d < best_d)
			best_d = d, best = &commands[i];
	}
	return tie ? NULL : best;
}

static int unknown_command(const char *name)
{
	const struct command *near = near_command(name);
	if (near)
		cli_error("unknown command '%s'; did you mean '%s'?", name,
			  near->name);
	else
		cli_error("unknown command '%s'", name);
	fputs("Try 'bulkreg --help'.\n", stderr);
	return 2;
}

/* `bulkreg help CMD [SUB]` is `bulkreg CMD [SUB] --help`. */
static int help_command(struct cli *cli, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)
		return top_help();
	const struct command *cmd = find_command(argv[1]);
	if (!cmd)
		return strcmp(argv[1], "help") == 0 ? top_help()
						    : unknown_command(argv[1]);
	char *args[8];
	int n = 0;
	for (int i = 1; i < argc && n < 6; i++)
		args[n++] = argv[i];
	args[n++] = (char *)"--help";
	args[n] = NULL;
	return cmd->run(cli, n, args);
}

int main(int argc, char **argv)
{
	struct cli cli = {.file_mode = DB_MODE_PRIVATE};
	cli.stdout_closed = guard_std_fds();
	/* Writes to a closed pipe or past a file-size limit must fail as
	 * errors we can report, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
#ifdef M_MMAP_THRESHOLD
	/* glibc raises its threshold for mapping a block to the size of each
	 * mapped block freed, up to 32 MiB: after a batch's restarts had
	 * freed a few large ones, small blocks came from a heap that kept
	 * what was freed, and a 5M-row batch ended 18 MiB bigger.  Fixed at
	 * the default, a large block goes back to the system when freed. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif

	cli.db_path = getenv("BULKREG_DB");
	if (!cli.db_path || !*cli.db_path)
		cli.db_path = "bulkreg.db";

	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"group-readable", no_argument, NULL, 'G'},
		{"help", no_argument, NULL, 'h'},
		{"quiet", no_argument, NULL, 'q'},
		{"schema", required_argument, NULL, 'S'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;
	/* '+': stop at the command, whose parser takes the global options
	 * given after it (cli_getopt_next); ':' and opterr 0: the messages
	 * are ours (cli_option_error). */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:hqV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			cli.db_path = optarg;
			break;
		case 'G':
			cli.file_mode = DB_MODE_GROUP;
			break;
		case 'S':
			cli.schema = optarg;
			cli.schema_given = true;
			break;
		case 'h':
			/* "bulkreg --help register" is register's help. */
			if (optind < argc && find_command(argv[optind]))
				return help_command(&cli, argc - optind + 1,
						    argv + optind - 1);
			return top_help();
		case 'q':
			cli.quiet = true;
			break;
		case 'V':
			printf("bulkreg %s\n", BULKREG_VERSION);
			return cli_close_stdout(&cli);
		default:
			cli_option_error(NULL, c, argv, opts);
			fputs("Try 'bulkreg --help'.\n", stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		cli_error("which command? (init, course, register, drop, undo, "
			  "roster, batches, student, verify, copy-db, help)");
		fputs("Try 'bulkreg --help'.\n", stderr);
		return 2;
	}
	const char *name = argv[optind];
	if (strcmp(name, "help") == 0)
		return help_command(&cli, argc - optind, argv + optind);
	const struct command *cmd = find_command(name);
	if (!cmd)
		return unknown_command(name);
	return cmd->run(&cli, argc - optind, argv + optind);
}
