/*
 * failmalloc: an LD_PRELOAD shim for the torture tests (never linked into
 * bulkreg) that makes exactly one allocation fail.
 *
 *   FAILMALLOC_NTH=N     the Nth call to malloc, calloc or realloc (counted
 *                        from this library's constructor, over all threads)
 *                        returns NULL with errno ENOMEM; 0 or unset: none
 *   FAILMALLOC_COUNT=F   at a normal exit, write "CALLS FAILED\n" to F: how
 *                        many calls were counted, and 1 if the Nth failed
 *   FAILMALLOC_TRACE=1   print a backtrace of the failing call on stderr
 *
 * realloc(p, 0) with p != NULL frees and is not counted.  The real
 * allocators are glibc's __libc_malloc, __libc_calloc and __libc_realloc.
 * The constructor removes LD_PRELOAD and the FAILMALLOC_* variables from
 * the environment, so that the programs the process starts (--check
 * commands) run without the shim.
 *
 * Build: cc -shared -fPIC -O2 -o failmalloc.so failmalloc.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static atomic_bool armed;
static atomic_ulong calls;
static atomic_bool failed;
static unsigned long nth;
static int trace;
static char count_path[4096];

static unsigned long parse_ulong(const char *s)
{
	unsigned long v = 0;
	if (!s)
		return 0;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (unsigned long)(*s - '0');
	return v;
}

__attribute__((constructor)) static void failmalloc_init(void)
{
	nth = parse_ulong(getenv("FAILMALLOC_NTH"));
	const char *t = getenv("FAILMALLOC_TRACE");
	trace = t && *t == '1';
	const char *p = getenv("FAILMALLOC_COUNT");
	if (p && strlen(p) < sizeof(count_path))
		strcpy(count_path, p);
	if (trace) {
		/* backtrace() loads libgcc on first use, which allocates:
		 * do it now, before counting starts. */
		void *frames[4];
		backtrace(frames, 4);
	}
	unsetenv("LD_PRELOAD");
	unsetenv("FAILMALLOC_NTH");
	unsetenv("FAILMALLOC_COUNT");
	unsetenv("FAILMALLOC_TRACE");
	atomic_store(&armed, 1);
}

__attribute__((destructor)) static void failmalloc_fini(void)
{
	if (!count_path[0])
		return;
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%lu %d\n", atomic_load(&calls),
			 atomic_load(&failed) ? 1 : 0);
	int fd = open(count_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, buf, (size_t)n) != n)
			(void)0;
		close(fd);
	}
}

/* True when this call is the one that must fail. */
static int should_fail(void)
{
	if (!atomic_load_explicit(&armed, memory_order_relaxed))
		return 0;
	unsigned long k = atomic_fetch_add(&calls, 1) + 1;
	if (nth == 0 || k != nth)
		return 0;
	atomic_store(&failed, 1);
	if (trace) {
		void *frames[64];
		int n = backtrace(frames, 64);
		static const char head[] = "failmalloc: failing this allocation:\n";
		if (write(2, head, sizeof(head) - 1) < 0)
			(void)0;
		backtrace_symbols_fd(frames, n, 2);
	}
	return 1;
}

void *malloc(size_t size)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	if (!(p && size == 0) && should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, size);
}
