/* check: run the --check command for one row, with a deadline; see check.h. */
#define _GNU_SOURCE /* pipe2, posix_spawn_file_actions_addclosefrom_np */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <math.h>
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "dest_walk.h"
#include "pool.h"
#include "utf8.h"

extern char **environ;

#define SHELL_PATH "/bin/sh"
#define SLICE_MS 50         /* longest sleep between looks at `done` */
#define FALLBACK_SLICE_MS 5 /* without a pidfd, how often waitid is asked */
#define DRAIN_CHUNK 16384   /* scratch for output past CHECK_OUTPUT_MAX */
#define TIMEOUT_MAX 1e6     /* seconds; beyond is surely a typo */
#define RUNNING_MAX 4096    /* checks running at once (>= POOL_MAX_WORKERS) */
#define SWEEP_ROUNDS 64     /* generations of orphans killed per sweep */
/* Descriptors one check holds: the pipe's two ends (and a dup) while it is
 * spawned, then the read end and the pidfd. */
#define FDS_PER_CHECK 3
/* Descriptors kept for the rest of bulkreg while checks run: the database
 * and its journal, temporary files, the report, rejects, /proc in a sweep. */
#define FD_RESERVE 32

#if defined(__GLIBC__) && \
	(__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define HAVE_ADDCLOSEFROM 1
#endif

/* The row's variables, in this order in every child's environment. */
static const char *const row_env_names[] = {
	"BULKREG_STUDENT_ID", "BULKREG_FIRST_NAME", "BULKREG_LAST_NAME",
	"BULKREG_EMAIL",      "BULKREG_COURSE",     "BULKREG_LINE",
	"BULKREG_BATCH",
};
#define ROW_ENV_COUNT (sizeof(row_env_names) / sizeof(row_env_names[0]))
#define ROW_ENV_MAX (sizeof("BULKREG_STUDENT_ID=") + ROW_VALUE_MAX + 1)

/*
 * First words that only the shell understands: keywords and builtins with
 * no program behind them (or whose program could not change the shell's
 * state).  A command starting with one goes through /bin/sh.
 */
static const char *const shell_words[] = {
	"!",	   ".",	      ":",	  "[[",	    "]]",      "alias",
	"bg",	   "break",   "case",	  "cd",	    "command", "continue",
	"declare", "do",      "done",	  "elif",   "else",    "esac",
	"eval",	   "exec",    "exit",	  "export", "fc",      "fg",
	"fi",	   "for",     "function", "getopts", "hash",   "if",
	"in",	   "jobs",    "let",	  "local",  "read",    "readonly",
	"return",  "select",  "set",	  "shift",  "source",  "then",
	"time",	   "times",   "trap",	  "type",   "typeset", "ulimit",
	"umask",   "unalias", "unset",	  "until",  "wait",    "while",
	"{",	   "}",
};

struct check_config {
	double timeout;
	bool direct;          /* exec `argv` via PATH, no shell */
	bool use_pidfd;       /* wait on a pidfd (else poll waitid) */
	char **argv;          /* direct: the words of the command */
	char *words;          /* storage for argv's strings */
	char *sh_argv[4];     /* "sh", "-c", cmd, NULL */
	char sh_name[3], sh_flag[3];
	char *cmd;
	char **env;           /* inherited environment minus the row's names */
	size_t nenv;
	int null_fd;          /* /dev/null, the children's stdin */
	posix_spawnattr_t attr;
	bool attr_ready;
};

/* ---- orphans --------------------------------------------------------------
 * A check runs in its own process group, and the group is killed when the
 * check ends; but a process can leave the group (setsid) and, once its
 * parent exits, would be adopted by init and outlive bulkreg.  So bulkreg
 * makes itself a child subreaper (PR_SET_CHILD_SUBREAPER): every process a
 * check leaves behind is re-parented to bulkreg, whatever session or group
 * it moved to.
 *
 * Once re-parented, a process that left its check's group cannot be traced
 * back to that check (ssh-agent and gpg-agent setsid() as they start).  So
 * such orphans are killed only when no check is running: killing them when
 * any one check ends would kill the helpers of checks still running, and
 * verdicts would then depend on --workers (review 19, F18).  Those still in
 * their check's group die with the group when that check ends.  While other
 * checks run, a sweep only reaps the orphans that have exited, so zombies
 * do not pile up over a long batch.  Whatever is left when the last check
 * ends -- and at the latest when the configuration is freed -- is killed
 * (SIGKILL, which cannot be ignored) and reaped, and so are the orphans
 * those leave in turn.
 *
 * Spawning holds `spawn_lock` for reading until the new check is in
 * `running`, and a sweep holds it for writing, so a check that has just
 * been spawned is never taken for an orphan, and the count of running
 * checks a sweep sees cannot grow while it runs.
 */
static struct {
	pthread_rwlock_t spawn_lock;
	pthread_mutex_t mu;
	pid_t running[RUNNING_MAX];
	size_t n;
	_Atomic bool enabled;
} orphans = {PTHREAD_RWLOCK_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};

static void running_add(pid_t pid)
{
	pthread_mutex_lock(&orphans.mu);
	if (orphans.n == RUNNING_MAX) {
		fputs("bulkreg: check.c: more checks running than RUNNING_MAX\n",
		      stderr);
		abort();
	}
	orphans.running[orphans.n++] = pid;
	pthread_mutex_unlock(&orphans.mu);
}

static void running_remove(pid_t pid)
{
	pthread_mutex_lock(&orphans.mu);
	for (size_t i = 0; i < orphans.n; i++) {
		if (orphans.running[i] == pid) {
			orphans.running[i] = orphans.running[--orphans.n];
			break;
		}
	}
	pthread_mutex_unlock(&orphans.mu);
}

static bool is_running(pid_t pid)
{
	bool found = false;
	pthread_mutex_lock(&orphans.mu);
	for (size_t i = 0; i < orphans.n && !found; i++)
		found = orphans.running[i] == pid;
	pthread_mutex_unlock(&orphans.mu);
	return found;
}

static bool any_running(void)
{
	pthread_mutex_lock(&orphans.mu);
	bool any = orphans.n > 0;
	pthread_mutex_unlock(&orphans.mu);
	return any;
}

/* The children listed in one /proc/self/task/T/children that are not
 * running checks: with `kill_them`, each is killed and reaped; without,
 * only those that have already exited are reaped.  Returns how many were
 * reaped. */
static size_t sweep_listed(const char *path, bool kill_them)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t reaped = 0;
	long pid;
	while (fscanf(f, "%ld", &pid) == 1) {
		if (pid <= 0 || is_running((pid_t)pid))
			continue;
		if (kill_them)
			kill((pid_t)pid, SIGKILL);
		pid_t r;
		while ((r = waitpid((pid_t)pid, NULL, kill_them ? 0 : WNOHANG)) < 0 &&
		       errno == EINTR)
			;
		if (r == (pid_t)pid)
			reaped++;
	}
	fclose(f);
	return reaped;
}

/* One pass over every thread's children (a re-parented orphan is the
 * child of whichever thread the kernel picked). */
static size_t sweep_once(bool kill_them)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return 0;
	size_t reaped = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/task/%.20s/children",
			 e->d_name);
		reaped += sweep_listed(path, kill_them);
	}
	closedir(d);
	return reaped;
}

/* With no check running, kills every process the checks left behind;
 * otherwise reaps only those that have exited (see above). */
static void sweep_orphans(void)
{
	if (!atomic_load(&orphans.enabled))
		return;
	pthread_rwlock_wrlock(&orphans.spawn_lock);
	if (any_running())
		sweep_once(false);
	else
		for (int round = 0; round < SWEEP_ROUNDS && sweep_once(true) > 0;
		     round++)
			;
	pthread_rwlock_unlock(&orphans.spawn_lock);
}

/* ---- small helpers ------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static bool is_cancelled(struct chan *done)
{
	return done && chan_is_closed(done);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Moves an fd that landed on 0..2 (the parent's own stdio was closed)
 * above them, so the child's dup2s cannot clobber it. */
static int above_stdio(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int saved = errno;
	close(fd);
	errno = saved;
	return nfd;
}

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* Errors worth another try: the system was short of something. */
static bool transient(int err)
{
	return err == EAGAIN || err == ENOMEM || err == EMFILE ||
	       err == ENFILE || err == EINTR;
}

static const char *errstr(int err, char *buf, size_t cap)
{
	/* GNU strerror_r (we define _GNU_SOURCE): may ignore buf. */
	return strerror_r(err, buf, cap);
}

/* ---- descriptor budget ----------------------------------------------------
 * Each running check holds descriptors (FDS_PER_CHECK), and --workers may
 * ask for 1,024 checks at once, more than the usual soft RLIMIT_NOFILE of
 * 1,024 allows.  A check that cannot start for want of a descriptor would
 * be rejected check_error, and its seat go to a later row, because of
 * bulkreg's own budget (review 19, F15).  So check_config_new raises the
 * soft limit as far as POOL_MAX_WORKERS checks need (no further than the
 * hard limit), and the checks that fit in what it got are counted as
 * `slots`: a check waits for a slot rather than failing.
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t freed;
	size_t cap, used;
} slots = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, RUNNING_MAX,
	   0};

/* Descriptors open now; FD_RESERVE when that cannot be known. */
static size_t fds_in_use(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return FD_RESERVE;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0; /* not the directory's own */
}

/* Raises the soft descriptor limit toward what POOL_MAX_WORKERS checks
 * need, and sets how many checks may run at once under the limit it got
 * (at least one). */
static void budget_descriptors(void)
{
	size_t in_use = fds_in_use();
	size_t cap = RUNNING_MAX;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		rlim_t want = (rlim_t)(in_use + FD_RESERVE +
				       (size_t)FDS_PER_CHECK * POOL_MAX_WORKERS);
		if (rl.rlim_cur < want) {
			struct rlimit raised = rl;
			raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
						  rl.rlim_max > want
					  ? want
					  : rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
				rl = raised;
		}
		size_t limit = (size_t)rl.rlim_cur, spare = in_use + FD_RESERVE;
		cap = limit > spare ? (limit - spare) / FDS_PER_CHECK : 0;
		if (cap < 1)
			cap = 1;
		if (cap > RUNNING_MAX)
			cap = RUNNING_MAX;
	}
	pthread_mutex_lock(&slots.mu);
	slots.cap = cap;
	pthread_mutex_unlock(&slots.mu);
}

/* Waits until fewer than slots.cap checks run, and counts this one in;
 * false (and nothing counted) if `done` closes meanwhile. */
static bool slot_take(struct chan *done)
{
	bool taken = false;
	pthread_mutex_lock(&slots.mu);
	while (!(taken = slots.used < slots.cap) && !is_cancelled(done)) {
		/* A slice at a time, to see `done` close. */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += SLICE_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&slots.freed, &slots.mu, &until);
	}
	if (taken)
		slots.used++;
	pthread_mutex_unlock(&slots.mu);
	return taken;
}

static void slot_give(void)
{
	pthread_mutex_lock(&slots.mu);
	slots.used--;
	pthread_cond_signal(&slots.freed);
	pthread_mutex_unlock(&slots.mu);
}

/* ---- configuration ------------------------------------------------------ */

static bool has_shell_syntax(const char *cmd)
{
	return strpbrk(cmd, "|&;<>()$`\\\"'*?[]#~=%{}!\n") != NULL;
}

static bool is_shell_word(const char *w)
{
	for (size_t i = 0; i < sizeof(shell_words) / sizeof(shell_words[0]); i++)
		if (strcmp(w, shell_words[i]) == 0)
			return true;
	return false;
}

/* Splits a command without shell syntax into words at spaces and tabs.
 * Returns false only when memory runs out; *argc is 0 for a blank one. */
static bool split_words(struct check_config *cfg, const char *cmd,
			size_t *argc)
{
	size_t n = 0, cap = strlen(cmd) / 2 + 2;
	cfg->words = strdup(cmd);
	cfg->argv = calloc(cap, sizeof(*cfg->argv));
	if (!cfg->words || !cfg->argv)
		return false;
	for (char *p = cfg->words; *p;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		cfg->argv[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	cfg->argv[n] = NULL;
	*argc = n;
	return true;
}

static bool is_row_env(const char *entry)
{
	for (size_t i = 0; i < ROW_ENV_COUNT; i++) {
		size_t n = strlen(row_env_names[i]);
		if (strncmp(entry, row_env_names[i], n) == 0 && entry[n] == '=')
			return true;
	}
	return false;
}

/* Copies the environment as it is now, minus the names the row sets, so
 * the workers share an immutable snapshot instead of reading `environ`. */
static bool snapshot_env(struct check_config *cfg)
{
	size_t n = 0, bytes = 0;
	for (char **e = environ; e && *e; e++) {
		n++;
		bytes += strlen(*e) + 1;
	}
	char **env = malloc((n + 1) * sizeof(*env) + bytes);
	if (!env)
		return false;
	char *store = (char *)(env + n + 1);
	size_t k = 0;
	for (char **e = environ; e && *e; e++) {
		if (is_row_env(*e))
			continue;
		size_t len = strlen(*e) + 1;
		memcpy(store, *e, len);
		env[k++] = store;
		store += len;
	}
	env[k] = NULL;
	cfg->env = env;
	cfg->nenv = k;
	return true;
}

/* What --check-env clean keeps of bulkreg's own environment: not
 * BULKREG_DB, whose PostgreSQL URI may hold a password (review 14, C2). */
static bool kept_when_clean(const char *entry)
{
	static const char *const names[] = {"PATH=", "HOME=", "LANG="};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(entry, names[i], strlen(names[i])) == 0)
			return true;
	return strncmp(entry, "BULKREG_", 8) == 0 &&
	       strncmp(entry, "BULKREG_DB=", 11) != 0;
}

void check_config_clean_env(struct check_config *cfg)
{
	size_t k = 0;
	for (size_t i = 0; i < cfg->nenv; i++)
		if (kept_when_clean(cfg->env[i]))
			cfg->env[k++] = cfg->env[i];
	cfg->env[k] = NULL;
	cfg->nenv = k;
}

static int init_attr(struct check_config *cfg)
{
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	int rc = posix_spawnattr_init(&cfg->attr);
	if (rc != 0)
		return rc;
	cfg->attr_ready = true;
	/* Own process group (pgid = its pid), so the whole tree can be
	 * signalled; no blocked signals and default dispositions, whatever
	 * the calling thread has blocked or bulkreg ignores. */
	short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
		      POSIX_SPAWN_SETSIGDEF;
	if ((rc = posix_spawnattr_setflags(&cfg->attr, flags)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(&cfg->attr, 0)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(&cfg->attr, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&cfg->attr, &all)) != 0)
		return rc;
	return 0;
}

static bool probe_pidfd(void)
{
	int fd = pidfd_open_compat(getpid());
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* 0 when `path` is a regular file we may execute, else why not. */
static int runnable(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return errno;
	if (S_ISDIR(sb.st_mode))
		return EISDIR;
	if (!S_ISREG(sb.st_mode) || access(path, X_OK) != 0)
		return EACCES;
	return 0;
}

/* What exec would find for a program without a '/', searching PATH as
 * posix_spawnp does (ours: the child's PATH is the same).  0 (and the
 * file's path in `found`) or why not: ENOENT, or the first other reason
 * met. */
static int search_path(const char *prog, char *found, size_t cap)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/bin:/usr/bin";
	int why = ENOENT;
	size_t plen = strlen(prog);
	while (*path) {
		size_t n = strcspn(path, ":");
		/* An empty entry is the current directory. */
		if (n + plen + 2 <= cap) {
			if (n == 0)
				snprintf(found, cap, "./%s", prog);
			else
				snprintf(found, cap, "%.*s/%s", (int)n, path,
					 prog);
			int rc = runnable(found);
			if (rc == 0)
				return 0;
			if (why == ENOENT && rc != ENOENT && rc != ENOTDIR)
				why = rc;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return why;
}

/* A script's "#!" line names its interpreter, which the kernel runs
 * without searching PATH: 0 when `path` has no such line or its
 * interpreter can run, else why not, with the interpreter in `interp`. */
static int interpreter_runnable(const char *path, char *interp, size_t cap)
{
	char head[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* exec will say why, row by row */
	ssize_t n = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (n < 2 || head[0] != '#' || head[1] != '!')
		return 0;
	head[n] = '\0';
	const char *p = head + 2;
	p += strspn(p, " \t");
	size_t len = strcspn(p, " \t\n");
	if (len == 0 || len >= cap)
		return 0; /* no interpreter: exec fails ENOEXEC, the shell runs it */
	memcpy(interp, p, len);
	interp[len] = '\0';
	int rc = runnable(interp);
	/* "#!/usr/bin/env NAME": env looks NAME up in PATH. */
	const char *base = strrchr(interp, '/');
	if (rc != 0 || strcmp(base ? base + 1 : interp, "env") != 0)
		return rc;
	const char *q = p + len;
	q += strspn(q, " \t");
	size_t qlen = strcspn(q, " \t\n");
	if (qlen == 0 || q[0] == '-' || memchr(q, '=', qlen) ||
	    memchr(q, '/', qlen) || len + 1 + qlen >= cap)
		return 0; /* options, assignments, a path: env's business */
	char name[256], found[4096];
	memcpy(name, q, qlen);
	name[qlen] = '\0';
	rc = search_path(name, found, sizeof(found));
	if (rc != 0) { /* name it as the #! line does: "/usr/bin/env NAME" */
		interp[len] = ' ';
		memcpy(interp + len + 1, name, qlen + 1);
	}
	return rc;
}

enum status check_config_preflight(const struct check_config *cfg,
				   struct error *err)
{
	if (!cfg->direct)
		return ST_OK;
	const char *prog = cfg->argv[0];
	char found[4096], interp[256], buf[128];
	int rc = strchr(prog, '/') ? runnable(prog)
				   : search_path(prog, found, sizeof(found));
	if (rc == 0) {
		rc = interpreter_runnable(strchr(prog, '/') ? prog : found,
					  interp, sizeof(interp));
		if (rc == 0)
			return ST_OK;
		return error_set(err, ST_USAGE,
				 "--check %s: its interpreter %s (the #! line) "
				 "%s%s: nothing was checked or written",
				 prog, interp,
				 rc == ENOENT || rc == ENOTDIR
					 ? "is not there"
					 : "cannot run: ",
				 rc == ENOENT || rc == ENOTDIR
					 ? ""
					 : errstr(rc, buf, sizeof(buf)));
	}
	bool missing = rc == ENOENT || rc == ENOTDIR;
	/* "/srv/my checks/holds.sh": the words are split at the space. */
	bool spaced = missing && cfg->argv[1] && runnable(cfg->cmd) == 0;
	return error_set(err, ST_USAGE,
			 "--check %s: %s%s%s%s%s: nothing was checked or written",
			 prog, missing ? "command not found" : "cannot run it: ",
			 missing ? "" : errstr(rc, buf, sizeof(buf)),
			 spaced ? " (the command is split into words at spaces; "
				  "to run the file '" : "",
			 spaced ? cfg->cmd : "",
			 spaced ? "', quote it inside the option: --check "
				  "\"'FILE'\")" : "");
}

bool check_config_trust_warning(const struct check_config *cfg, char *msg,
				size_t cap)
{
	if (!cfg->direct)
		return false;
	const char *prog = cfg->argv[0];
	char found[4096];
	if (!strchr(prog, '/')) {
		if (search_path(prog, found, sizeof(found)) != 0)
			return false;
		prog = found;
	}
	char *real = realpath(prog, NULL);
	if (!real)
		return false;
	struct stat file, dir;
	char *slash = strrchr(real, '/');
	bool warn = false;
	/* A file others can write or own: the test a shared directory gets. */
	if (stat(real, &file) == 0 && dest_dir_shared(&file)) {
		snprintf(msg, cap,
			 "--check %s: %s is writable by other users (or owned "
			 "by another user), who could change what runs as you "
			 "on every row; make it a program only you or root can "
			 "change",
			 cfg->argv[0], real);
		warn = true;
	} else if (slash) {
		*slash = '\0';
		const char *d = slash == real ? "/" : real;
		if (stat(d, &dir) == 0 && dest_dir_shared(&dir)) {
			snprintf(msg, cap,
				 "--check %s: its directory %s is writable by "
				 "other users, who could replace the program "
				 "that runs as you on every row; keep it in a "
				 "directory only you or root can write",
				 cfg->argv[0], d);
			warn = true;
		}
	}
	free(real);
	return warn;
}

enum status check_config_new(const char *cmd, double timeout,
			     struct check_config **out, struct error *err)
{
	*out = NULL;
	if (!cmd || cmd[strspn(cmd, " \t\n")] == '\0')
		return error_set(err, ST_USAGE, "--check: empty command");
	if (!(timeout > 0 && timeout <= TIMEOUT_MAX))
		return error_set(err, ST_USAGE,
				 "--check-timeout: must be more than 0 and at "
				 "most %.0f seconds",
				 TIMEOUT_MAX);

	struct check_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return error_set(err, ST_NOMEM, "out of memory");
	cfg->null_fd = -1;
	cfg->timeout = timeout;
	/* Orphans of checks come back to us (see "orphans" above). */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
		atomic_store(&orphans.enabled, true);
	budget_descriptors();
	cfg->use_pidfd = probe_pidfd();
	memcpy(cfg->sh_name, "sh", 3);
	memcpy(cfg->sh_flag, "-c", 3);
	cfg->cmd = strdup(cmd);
	if (!cfg->cmd || !snapshot_env(cfg))
		goto nomem;
	cfg->sh_argv[0] = cfg->sh_name;
	cfg->sh_argv[1] = cfg->sh_flag;
	cfg->sh_argv[2] = cfg->cmd;
	cfg->sh_argv[3] = NULL;

	if (!has_shell_syntax(cmd)) {
		size_t argc;
		if (!split_words(cfg, cmd, &argc))
			goto nomem;
		cfg->direct = argc > 0 && !is_shell_word(cfg->argv[0]);
	}

	char buf[128];
	cfg->null_fd = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
	if (cfg->null_fd < 0) {
		int e = errno;
		check_config_free(cfg);
		return error_set(err, ST_IO, "/dev/null: %s", errstr(e, buf, sizeof(buf)));
	}
	int rc = init_attr(cfg);
	if (rc != 0) {
		check_config_free(cfg);
		return error_set(err, ST_IO, "cannot prepare the check: %s",
				 errstr(rc, buf, sizeof(buf)));
	}
	*out = cfg;
	return ST_OK;

nomem:
	check_config_free(cfg);
	return error_set(err, ST_NOMEM, "out of memory");
}

void check_config_free(struct check_config *cfg)
{
	if (!cfg)
		return;
	sweep_orphans(); /* whatever the last checks left */
	if (cfg->attr_ready)
		posix_spawnattr_destroy(&cfg->attr);
	close_fd(&cfg->null_fd);
	free(cfg->env);
	free(cfg->argv);
	free(cfg->words);
	free(cfg->cmd);
	free(cfg);
}

void check_config_disable_pidfd(struct check_config *cfg)
{
	cfg->use_pidfd = false;
}

/* ---- spawning ----------------------------------------------------------- */

struct child {
	pid_t pid;
	int out;   /* read end of the stdout+stderr pipe, non-blocking */
	int pidfd; /* readable once the child has exited; -1: poll waitid */
};

/* The row's variables, "NAME=value", one per ROW_ENV_MAX slot. */
static void build_vars(const struct row *row, int64_t batch_id,
		       char vars[][ROW_ENV_MAX])
{
	static const enum row_field fields[] = {
		FIELD_STUDENT_ID, FIELD_FIRST_NAME, FIELD_LAST_NAME,
		FIELD_EMAIL, FIELD_COURSE,
	};
	size_t i;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = row->v[fields[i]].text;
		snprintf(vars[i], ROW_ENV_MAX, "%s=%.*s", row_env_names[i],
			 (int)strnlen(v, ROW_VALUE_MAX), v);
	}
	snprintf(vars[i], ROW_ENV_MAX, "%s=%llu", row_env_names[i],
		 (unsigned long long)row->line);
	i++;
	snprintf(vars[i], ROW_ENV_MAX, "%s=%lld", row_env_names[i],
		 (long long)batch_id);
}

/* The inherited environment followed by the row's variables; `envp` has
 * room for cfg->nenv + ROW_ENV_COUNT + 1 pointers. */
static void fill_envp(const struct check_config *cfg,
		      char vars[][ROW_ENV_MAX], char **envp)
{
	memcpy(envp, cfg->env, cfg->nenv * sizeof(*envp));
	for (size_t i = 0; i < ROW_ENV_COUNT; i++)
		envp[cfg->nenv + i] = vars[i];
	envp[cfg->nenv + ROW_ENV_COUNT] = NULL;
}

static int add_file_actions(posix_spawn_file_actions_t *fa, int null_fd,
			    int wfd)
{
	int rc;
	if ((rc = posix_spawn_file_actions_adddup2(fa, wfd, 1)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(fa, wfd, 2)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(fa, null_fd, 0)) != 0)
		return rc;
#ifdef HAVE_ADDCLOSEFROM
	/* Belt and braces: an fd some library opened without O_CLOEXEC
	 * must not reach the check (nor keep our pipe open). */
	rc = posix_spawn_file_actions_addclosefrom_np(fa, 3);
#endif
	return rc;
}

/* One attempt: pipe, spawn, pidfd.  Returns 0 or an errno value. */
static int spawn_once(const struct check_config *cfg, bool direct,
		      char **envp, struct child *c)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return errno;
	p[0] = above_stdio(p[0]);
	p[1] = above_stdio(p[1]);
	if (p[0] < 0 || p[1] < 0 ||
	    fcntl(p[0], F_SETFL, O_NONBLOCK) != 0) {
		int e = errno;
		close_fd(&p[0]);
		close_fd(&p[1]);
		return e;
	}

	posix_spawn_file_actions_t fa;
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc == 0) {
		rc = add_file_actions(&fa, cfg->null_fd, p[1]);
		pthread_rwlock_rdlock(&orphans.spawn_lock);
		if (rc == 0 && direct)
			rc = posix_spawnp(&c->pid, cfg->argv[0], &fa, &cfg->attr,
					  cfg->argv, envp);
		else if (rc == 0)
			rc = posix_spawn(&c->pid, SHELL_PATH, &fa, &cfg->attr,
					 cfg->sh_argv, envp);
		if (rc == 0)
			running_add(c->pid);
		pthread_rwlock_unlock(&orphans.spawn_lock);
		posix_spawn_file_actions_destroy(&fa);
	}
	close_fd(&p[1]);
	if (rc != 0) {
		close_fd(&p[0]);
		return rc;
	}
	c->out = p[0];
	/* A zombie keeps its pid, so pidfd_open cannot race with reuse. */
	c->pidfd = cfg->use_pidfd ? pidfd_open_compat(c->pid) : -1;
	return 0;
}

/* Spawns with retries on transient failures (10, 40, 160 ms apart); the
 * environment's pointer array is allocated per attempt, so a failed
 * allocation is one more transient failure, tried again like a failed
 * fork.  Returns 0, or the errno of the last attempt (ECANCELED if `done`
 * closed while backing off).  *direct turns false if the program turned
 * out to be a script without #! (ENOEXEC), which the shell then runs, as
 * it would have. */
static int spawn_child(const struct check_config *cfg, bool *direct,
		       char vars[][ROW_ENV_MAX], struct chan *done,
		       struct child *c)
{
	long backoff_ms = 10;
	for (int attempt = 1;; attempt++) {
		int rc = ENOMEM;
		char **envp = malloc((cfg->nenv + ROW_ENV_COUNT + 1) *
				     sizeof(*envp));
		if (envp) {
			fill_envp(cfg, vars, envp);
			rc = spawn_once(cfg, *direct, envp, c);
			if (rc == ENOEXEC && *direct) {
				*direct = false;
				rc = spawn_once(cfg, false, envp, c);
			}
			free(envp);
		}
		if (rc == 0 || !transient(rc) || attempt >= CHECK_SPAWN_TRIES)
			return rc;
		if (is_cancelled(done))
			return ECANCELED;
		sleep_ms(backoff_ms);
		backoff_ms *= 4;
	}
}

/* ---- watching ----------------------------------------------------------- */

struct capture {
	char buf[CHECK_OUTPUT_MAX];
	size_t len;
	bool eof;
};

/* Reads what the pipe holds now: keeps the first CHECK_OUTPUT_MAX bytes,
 * discards the rest so a chatty check never blocks on a full pipe. */
static void drain(struct capture *cap, int fd)
{
	char scratch[DRAIN_CHUNK];
	while (!cap->eof) {
		bool keep = cap->len < sizeof(cap->buf);
		char *dst = keep ? cap->buf + cap->len : scratch;
		size_t room = keep ? sizeof(cap->buf) - cap->len : sizeof(scratch);
		ssize_t n = read(fd, dst, room);
		if (n > 0) {
			if (keep)
				cap->len += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			return;
		} else {
			cap->eof = true; /* EOF, or an error we cannot fix */
		}
	}
}

/* Without a pidfd: has the child exited?  WNOWAIT leaves it a zombie, so
 * its pid (and process group id) stay ours until we reap it. */
static bool exited_waitid(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno != EINTR; /* ECHILD: gone; nothing to wait for */
	return si.si_pid == pid;
}

/* Polls the pipe and the pidfd for up to `ms`; true once the child exited. */
static bool wait_step(struct child *c, struct capture *cap, int ms)
{
	struct pollfd pfd[2];
	nfds_t n = 0;
	int out_i = -1, pid_i = -1;
	if (!cap->eof) {
		out_i = (int)n;
		pfd[n++] = (struct pollfd){.fd = c->out, .events = POLLIN};
	}
	if (c->pidfd >= 0) {
		pid_i = (int)n;
		pfd[n++] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
	} else if (ms > FALLBACK_SLICE_MS) {
		ms = FALLBACK_SLICE_MS;
	}
	int r = poll(pfd, n, ms);
	if (r <= 0)
		return c->pidfd < 0 && exited_waitid(c->pid);
	if (out_i >= 0 && pfd[out_i].revents)
		drain(cap, c->out);
	if (pid_i >= 0)
		return pfd[pid_i].revents != 0;
	return exited_waitid(c->pid);
}

enum ending { END_EXITED, END_TIMEOUT, END_CANCELLED };

static int ms_until(double t, double when)
{
	double ms = (when - t) * 1000.0;
	if (ms <= 0)
		return 0;
	return ms >= SLICE_MS ? SLICE_MS : (int)ms + 1;
}

/*
 * Waits for the child to exit while collecting its output, enforcing the
 * deadline (SIGTERM, then SIGKILL after the grace) and `done` (SIGKILL).
 * Returns with the child exited but not yet reaped.
 */
static enum ending watch(const struct check_config *cfg, struct child *c,
			 struct capture *cap, double t0, struct chan *done)
{
	enum { RUNNING, TERMINATING, KILLED } phase = RUNNING;
	enum ending end = END_EXITED;
	double deadline = t0 + cfg->timeout, kill_at = 0;
	for (;;) {
		double t = now();
		if (phase != KILLED && is_cancelled(done)) {
			kill(-c->pid, SIGKILL);
			phase = KILLED;
			end = END_CANCELLED;
		} else if (phase == RUNNING && t >= deadline) {
			kill(-c->pid, SIGTERM);
			/* A stopped check (SIGSTOP) would hold SIGTERM pending
			 * for the whole grace: let it run to take it. */
			kill(-c->pid, SIGCONT);
			phase = TERMINATING;
			kill_at = t + CHECK_KILL_GRACE;
			end = END_TIMEOUT;
		} else if (phase == TERMINATING && t >= kill_at) {
			kill(-c->pid, SIGKILL);
			phase = KILLED;
		}
		int ms = phase == RUNNING	? ms_until(t, deadline) :
			 phase == TERMINATING ? ms_until(t, kill_at) :
						  SLICE_MS;
		if (wait_step(c, cap, ms))
			return end;
	}
}

/* Kills what is left of the group, reaps the child, takes the last output.
 * The child is still an unreaped zombie here, so -pid is still our group
 * and cannot have been recycled for someone else's. */
static int reap(struct child *c, struct capture *cap)
{
	int ws = 0;
	kill(-c->pid, SIGKILL);
	while (waitpid(c->pid, &ws, 0) < 0 && errno == EINTR)
		;
	running_remove(c->pid);
	sweep_orphans();
	drain(cap, c->out);
	close_fd(&c->out);
	close_fd(&c->pidfd);
	return ws;
}

/* ---- verdict ------------------------------------------------------------ */

/* The bytes of blank at s (before e): ASCII white space, or a character
 * no reader sees (utf8_is_invisible: a no-break or another special space,
 * a zero-width one); 0 for anything else. */
static size_t blank_at(const char *s, const char *e)
{
	if (*s == ' ' || *s == '\t' || *s == '\v' || *s == '\f')
		return 1;
	uint32_t cp;
	size_t k = utf8_decode((const unsigned char *)s, (size_t)(e - s), &cp);
	return k && utf8_is_invisible(cp) ? k : 0;
}

/* The first line of output with something on it, trimmed of blanks
 * (blank_at) and cut to CHECK_DETAIL_MAX bytes at a UTF-8 character
 * boundary.  LF, CR (alone or before LF) and NUL end a line (the detail
 * is a C string).  Returns its length (0: none). */
static size_t first_line(const struct capture *cap, const char **start)
{
	const char *p = cap->buf, *end = cap->buf + cap->len;
	while (p < end) {
		const char *eol = p;
		while (eol < end && *eol != '\n' && *eol != '\r' && *eol != '\0')
			eol++;
		const char *s = p, *e = eol, *last = p;
		size_t k;
		while (s < e && (k = blank_at(s, e)) > 0)
			s += k;
		/* The end of the last character that is not blank. */
		for (const char *q = last = s; q < e;) {
			if ((k = blank_at(q, e)) > 0) {
				q += k;
				continue;
			}
			uint32_t cp;
			k = utf8_decode((const unsigned char *)q, (size_t)(e - q), &cp);
			q += k ? k : 1;
			last = q;
		}
		e = last;
		if (e > s) {
			size_t n = (size_t)(e - s);
			if (n > CHECK_DETAIL_MAX) {
				n = CHECK_DETAIL_MAX;
				while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
					n--;
			}
			*start = s;
			return n;
		}
		p = eol + 1;
	}
	return 0;
}

static const char *signal_name(int sig)
{
	static const char *const names[] = {
		[SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",
		[SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
		[SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT",
		[SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",
		[SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1",
		[SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
		[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM",
		[SIGTERM] = "SIGTERM", [SIGCHLD] = "SIGCHLD",
		[SIGCONT] = "SIGCONT", [SIGSTOP] = "SIGSTOP",
		[SIGTSTP] = "SIGTSTP", [SIGTTIN] = "SIGTTIN",
		[SIGTTOU] = "SIGTTOU", [SIGURG] = "SIGURG",
		[SIGXCPU] = "SIGXCPU", [SIGXFSZ] = "SIGXFSZ",
		[SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
		[SIGWINCH] = "SIGWINCH", [SIGSYS] = "SIGSYS",
	};
	if (sig > 0 && (size_t)sig < sizeof(names) / sizeof(names[0]) &&
	    names[sig])
		return names[sig];
	return NULL;
}

/* 126/127: the command could not be run at all. */
static void reject_not_run(struct row *row, int code, const char *line,
			   size_t n)
{
	const char *what = code == 127 ? "command not found" : "not executable";
	if (n)
		row_reject(row, REASON_CHECK_ERROR, "%s (exit %d): %.*s", what,
			   code, (int)n, line);
	else
		row_reject(row, REASON_CHECK_ERROR, "%s (exit %d)", what, code);
}

static void judge(const struct check_config *cfg, struct row *row,
		  enum ending end, int ws, const struct capture *cap)
{
	const char *line = NULL;
	size_t n = first_line(cap, &line);
	if (end == END_CANCELLED) {
		row_reject(row, REASON_CHECK_ERROR, "cancelled");
	} else if (end == END_TIMEOUT) {
		row_reject(row, REASON_CHECK_TIMEOUT, "no answer within %g s",
			   cfg->timeout);
	} else if (WIFSIGNALED(ws)) {
		int sig = WTERMSIG(ws);
		const char *name = signal_name(sig);
		if (name)
			row_reject(row, REASON_CHECK_FAILED,
				   "killed by signal %d (%s)", sig, name);
		else
			row_reject(row, REASON_CHECK_FAILED, "killed by signal %d",
				   sig);
	} else if (WIFEXITED(ws) && WEXITSTATUS(ws) != 0) {
		int code = WEXITSTATUS(ws);
		if (code == 126 || code == 127)
			reject_not_run(row, code, line, n);
		else if (n)
			row_reject(row, REASON_CHECK_FAILED, "%.*s", (int)n, line);
		else
			row_reject(row, REASON_CHECK_FAILED, "exit status %d", code);
	}
	/* exit 0: eligible; the row stays as it was. */
}

/* A direct spawn failed as exec would in the shell: answer as it would. */
static void judge_spawn_error(const struct check_config *cfg, struct row *row,
			      bool direct, int rc)
{
	char buf[128], line[CHECK_DETAIL_MAX + 1];
	const char *msg = errstr(rc, buf, sizeof(buf));
	if (rc == ECANCELED) {
		row_reject(row, REASON_CHECK_ERROR, "cancelled");
	} else if (direct && !transient(rc)) {
		bool missing = rc == ENOENT || rc == ENOTDIR;
		snprintf(line, sizeof(line), "%s: %s", cfg->argv[0],
			 missing ? "not found" : msg);
		reject_not_run(row, missing ? 127 : 126, line, strlen(line));
	} else {
		row_reject(row, REASON_CHECK_ERROR, "cannot start the check: %s",
			   msg);
	}
}

/* ---- the check ---------------------------------------------------------- */

void check_row(const struct check_config *cfg, struct row *row,
	       int64_t batch_id, struct chan *done)
{
	double t0 = now();
	row->check_seconds = 0;
	if (is_cancelled(done)) {
		row_reject(row, REASON_CHECK_ERROR, "cancelled");
		return;
	}

	char vars[ROW_ENV_COUNT][ROW_ENV_MAX];
	build_vars(row, batch_id, vars);

	struct child c = {.pid = -1, .out = -1, .pidfd = -1};
	bool direct = cfg->direct;
	if (!slot_take(done)) {
		row_reject(row, REASON_CHECK_ERROR, "cancelled");
		return;
	}
	t0 = now(); /* the deadline counts from the start, not the wait */
	int rc = spawn_child(cfg, &direct, vars, done, &c);
	if (rc != 0) {
		slot_give();
		row->check_seconds = now() - t0;
		judge_spawn_error(cfg, row, direct, rc);
		return;
	}

	struct capture cap;
	cap.len = 0;
	cap.eof = false;
	enum ending end = watch(cfg, &c, &cap, t0, done);
	int ws = reap(&c, &cap);
	slot_give();
	row->check_seconds = now() - t0;
	judge(cfg, row, end, ws, &cap);
}

/* ---- statistics --------------------------------------------------------- */

#define HIST_MIN 1e-4                      /* seconds: bucket 0's top */
#define HIST_RATIO 1.01                    /* each bucket's width */

static size_t bucket_of(double seconds)
{
	if (!(seconds > HIST_MIN))
		return 0; /* and NaN */
	if (!(seconds < HIST_MIN * pow(HIST_RATIO, CHECK_HIST_BUCKETS)))
		return CHECK_HIST_BUCKETS - 1;
	size_t i = (size_t)(log(seconds / HIST_MIN) / log(HIST_RATIO));
	return i < CHECK_HIST_BUCKETS ? i : CHECK_HIST_BUCKETS - 1;
}

void check_stats_init(struct check_stats *s)
{
	memset(s, 0, sizeof(*s));
}

void check_stats_add(struct check_stats *s, double seconds)
{
	if (seconds < 0)
		seconds = 0;
	s->count++;
	if (seconds > s->max_seconds)
		s->max_seconds = seconds;
	uint32_t *b = &s->hist[bucket_of(seconds)];
	if (*b < UINT32_MAX)
		(*b)++;
}

double check_stats_median(const struct check_stats *s)
{
	uint64_t total = 0;
	for (size_t i = 0; i < CHECK_HIST_BUCKETS; i++)
		total += s->hist[i];
	if (total == 0)
		return 0;
	uint64_t rank = (total + 1) / 2, seen = 0;
	size_t i = 0;
	for (; i < CHECK_HIST_BUCKETS; i++) {
		seen += s->hist[i];
		if (seen >= rank)
			break;
	}
	/* The bucket's geometric middle: within half a bucket (0.5%). */
	double mid = HIST_MIN * pow(HIST_RATIO, (double)i) * 1.004987562112089;
	return mid < s->max_seconds ? mid : s->max_seconds;
}
