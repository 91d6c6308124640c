# bulkreg -- register CSV rosters of students into courses, concurrently, into SQLite or PostgreSQL.
#
#   make            build ./bulkreg (installs missing Debian packages first)
#   make check      build and run every test (unit + end-to-end)
#   make check-browser  the HTML report in headless Chromium (installs it)
#   make demo       run the main job on data/ and print the report
#   make sanitize   the whole suite under AddressSanitizer + UBSan
#   make tsan       the whole suite under ThreadSanitizer
#   make torture    the long trials: signals, SIGKILL, faults, OOM, and the
#                   concurrency core under long stress (tests/torture/run),
#                   then SIGKILL, server restarts and concurrent runs on a
#                   throw-away PostgreSQL server (family pg)
#   make bench      benchmarks (figures, not pass/fail)
#   make install    PREFIX=/usr/local DESTDIR=
#
# Variants build in their own directory (B=build, build/asan, build/tsan), so
# a sanitizer run never mixes objects with the normal build.

CC       ?= cc
CFLAGS   ?= -O2 -g
B        ?= build
SAN      ?=
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
VERSION  := 0.2.0
# `make check` and its variants compile on every processor, then run the
# tests (the end-to-end files several at once: E2E_JOBS, tests/e2e/run).
BUILD_JOBS ?= $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)

# Recursive (=) on purpose: pkg-config runs when a recipe needs it, after
# the `deps` prerequisite has had the chance to install it.
PKG_CFLAGS = $(shell pkg-config --cflags sqlite3 nettle libpq)
PKG_LIBS   = $(shell pkg-config --libs sqlite3 nettle libpq) -lcsv -lm
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-missing-field-initializers
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
             -DBULKREG_VERSION='"$(VERSION)"' $(WARN) $(CFLAGS) $(SAN) -pthread \
             $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN) -pthread

# main.c and cmd_*.c are the command-line layer; everything else is the library
# the tests link against.
SRC      := $(wildcard src/*.c)
CLI_SRC  := src/main.c $(wildcard src/cmd_*.c)
LIB_SRC  := $(filter-out $(CLI_SRC),$(SRC))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(B)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:src/%.c=$(B)/obj/%.o)
LIB      := $(B)/libbulkreg.a
BIN      := $(B)/bulkreg

HOOKED_SRC := src/chan.c src/waitgroup.c
# Test-only hooks (BULKREG_TEST_* variables) exist only where the tests
# build with -DBULKREG_TEST_HOOKS: the unit tests and $(TEST_BIN), which
# `make torture` runs.  ./bulkreg, the e2e suite's binary and what
# `make install` installs are built without them.
HOOK_SRC := $(filter-out $(HOOKED_SRC),$(shell grep -l BULKREG_TEST_HOOKS src/*.c))
HOOK_OBJ := $(HOOK_SRC:src/%.c=$(B)/obj/hooks/%.o)
TEST_BIN := $(B)/bulkreg-test

UNIT_SRC := $(wildcard tests/unit/check_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TESTLIB_SRC := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
TESTLIB_OBJ := $(TESTLIB_SRC:tests/unit/%.c=$(B)/tests/obj/%.o)
# The unit tests also link their own copies of these modules, compiled with
# the thread hooks (src/testhook.h) that hold a thread at an exact point;
# they come before the archive, so its hook-free copies are never pulled in.
# (The hooks call into tests/unit/hooks.c, so $(TEST_BIN) does not get them.)
HOOKED_OBJ := $(HOOKED_SRC:src/%.c=$(B)/tests/obj/hooked_%.o)

BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)

.PHONY: all check unit e2e e2e-pg sanitize tsan bench demo install uninstall clean \
        deps deps-test lint format valgrind fuzz torture check-browser

all: bulkreg

deps:
	@.ci/install-deps build

deps-test:
	@.ci/install-deps build test

bulkreg: $(BIN)
	@if [ "$(B)" = build ]; then cp $(BIN) $@; fi

# Tests and benchmarks link the archive, so each pulls in only the modules
# it uses.
$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(PKG_LIBS)

$(B)/obj/%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# VERSION is compiled into these: a new one rebuilds them.
$(B)/obj/main.o $(B)/obj/report_html.o: Makefile

$(B)/obj/hooks/%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DBULKREG_TEST_HOOKS -c -o $@ $<

# The hooked objects come first, so the archive's plain ones are not used.
$(TEST_BIN): $(CLI_OBJ) $(HOOK_OBJ) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(HOOK_OBJ) $(LIB) $(PKG_LIBS)

$(B)/tests/obj/%.o: tests/unit/%.c | deps-test
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -iquote src -iquote tests/unit -c -o $@ $<

$(B)/tests/obj/hooked_%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DBULKREG_TEST_HOOKS -c -o $@ $<

$(B)/tests/check_%: tests/unit/check_%.c $(TESTLIB_OBJ) $(HOOKED_OBJ) $(HOOK_OBJ) $(LIB) | deps-test
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -iquote src -iquote tests/unit -o $@ $< \
		$(TESTLIB_OBJ) $(HOOKED_OBJ) $(HOOK_OBJ) $(LIB) $(ALL_LDFLAGS) $(CHECK_LIBS) $(PKG_LIBS)

$(B)/bench/%: tests/bench/%.c $(LIB) | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -iquote src -o $@ $< $(LIB) $(ALL_LDFLAGS) $(PKG_LIBS) -lm

# ---- tests ----------------------------------------------------------------

# One throw-away PostgreSQL server (tests/pg/cluster) for the whole run: the
# unit tests that need one (check_pgstore, check_sqldb) and the end-to-end
# suite's PostgreSQL pass use it.  Without one, they say SKIPPED and the
# rest runs (BULKREG_REQUIRE_PG=1, as in .ci/run, makes that a failure).
check: deps-test
	@$(MAKE) --no-print-directory -j$(BUILD_JOBS) $(UNIT_BIN) $(BIN) $(TEST_BIN)
	@tests/pg/cluster run-or-plain "tests" $(MAKE) --no-print-directory unit e2e

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do \
		echo "== $$t"; \
		CK_DEFAULT_TIMEOUT=$${CK_DEFAULT_TIMEOUT:-600} $$t || fail=1; \
	done; \
	if [ $$fail -ne 0 ]; then echo "unit tests FAILED"; exit 1; fi

# The end-to-end suite on SQLite, then again on PostgreSQL on a throw-away
# server (tests/pg/cluster); without one, the PostgreSQL pass says it is
# skipped (BULKREG_REQUIRE_PG=1, as in CI, makes that a failure).
e2e: $(BIN) $(TEST_BIN)
	@tests/e2e/run $(abspath $(BIN)); s=$$?; \
	$(MAKE) --no-print-directory e2e-pg || s=1; exit $$s

# The PostgreSQL pass alone, on the server of `make check` or on its own;
# E2E_PG_TESTS="t_a t_b" runs those files only.
E2E_PG_TESTS ?=
e2e-pg: $(BIN) $(TEST_BIN)
	@if [ -n "$${BULKREG_TEST_PG_ADMIN:-}" ]; then \
		tests/e2e/run --store pg $(abspath $(BIN)) $(E2E_PG_TESTS); \
	else \
		tests/pg/cluster run-or-skip "end-to-end suite" \
			tests/e2e/run --store pg $(abspath $(BIN)) $(E2E_PG_TESTS); \
	fi

# Under the sanitizers the PostgreSQL pass runs the files that exercise
# the PostgreSQL store most (CI's time budget); `make check` runs them all.
E2E_PG_SAN_TESTS := t_pg_differential t_pg_failures t_copy_db

# The HTML report in a real browser: Debian's chromium, headless, with
# JavaScript off and every request recorded; screenshots in build/browser.
check-browser: $(BIN)
	@.ci/install-deps test browser
	@tests/browser/run $(abspath $(BIN)) $(abspath $(B))/browser

sanitize:
	@$(MAKE) --no-print-directory B=build/asan CFLAGS='-O1 -g' \
		SAN='-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer' \
		E2E_PG_TESTS='$(E2E_PG_SAN_TESTS)' check

# E2E_SANITIZER=thread: t_cache leaves its one-thread 4 KiB-budget story,
# very slow under ThreadSanitizer, to check and sanitize.
tsan:
	@E2E_SANITIZER=thread $(MAKE) --no-print-directory B=build/tsan CFLAGS='-O1 -g' SAN='-fsanitize=thread' \
		E2E_PG_TESTS='$(E2E_PG_SAN_TESTS)' check

# The slow reliability trials (signals, SIGKILL, concurrent runs, faults,
# planted files, the lifecycle, and the concurrency core's unit tests run
# long: the chan family).
TORTURE_UNIT := $(B)/tests/check_stress $(B)/tests/check_chan_races \
                $(B)/tests/check_chan $(B)/tests/check_pool $(B)/tests/check_waitgroup
# Then the PostgreSQL family on a throw-away server (skipped with a visible
# line when none can start; BULKREG_REQUIRE_PG=1 makes that a failure).
torture: $(TEST_BIN) $(TORTURE_UNIT) deps-test
	@TORTURE_UNIT_DIR=$(abspath $(B)/tests) tests/torture/run $(abspath $(TEST_BIN)); s=$$?; \
	tests/pg/cluster run-or-skip "torture" tests/torture/run $(abspath $(TEST_BIN)) pg || s=1; \
	exit $$s

# The end-to-end suite with every bulkreg run under valgrind memcheck.
# --max-threads: one case runs --workers 1024 (valgrind allows 500 by default).
valgrind: $(BIN) deps-test
	@BULKREG_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full \
		--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		--track-fds=no --max-threads=1100" tests/e2e/run $(abspath $(BIN))

# libFuzzer over the roster reader and row validation, the export profiles,
# the --users join and the iconv path, then over the escaping of csv, json
# and terminal text, the courses file (course import, read back after being
# written out), -d's target (no password shown, in any form, parsed or
# not), the -o/--rejects path walk (against the kernel's own, in a
# scratch tree with links of every kind; clang only), and a big batch's
# spilled runs (against a model).  Each keeps what it
# finds in tests/fuzz/corpus-*-run/ and starts from its seeds.
FUZZ_SECONDS ?= 60
FUZZ_ESCAPE_SECONDS ?= 15
FUZZ_COURSES_SECONDS ?= 10
FUZZ_DBTARGET_SECONDS ?= 10
FUZZ_DEST_WALK_SECONDS ?= 10
FUZZ_CC := clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
           -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) -iquote src
FUZZ_SRC := src/roster.c src/csvread.c src/validate.c src/utf8.c src/escape.c src/parse.c \
            src/courses.c src/hint.c src/row.c src/error.c src/profile.c src/users_join.c
FUZZ_COURSES_SRC := src/course_import.c src/courses.c src/hint.c src/csvread.c src/validate.c \
                    src/utf8.c src/escape.c src/parse.c src/error.c src/row.c
FUZZ_DEST_WALK_SRC := src/dest_walk.c src/report_dest.c src/atomic_file.c src/error.c
FUZZ_RUNSET_SECONDS ?= 10
FUZZ_RUNSET_SRC := src/runset.c src/spool.c src/atomic_file.c src/error.c
fuzz:
	@.ci/install-deps build fuzz
	@mkdir -p build/fuzz tests/fuzz/corpus-run
	$(FUZZ_CC) tests/fuzz/fuzz_roster.c $(FUZZ_SRC) -lcsv -lnettle -o build/fuzz/fuzz_roster
	build/fuzz/fuzz_roster -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-print_final_stats=1 tests/fuzz/corpus-run tests/fuzz/corpus
	$(FUZZ_CC) tests/fuzz/fuzz_escape.c src/escape.c src/utf8.c -o build/fuzz/fuzz_escape
	@mkdir -p tests/fuzz/corpus-escape-run
	build/fuzz/fuzz_escape -max_total_time=$(FUZZ_ESCAPE_SECONDS) -max_len=1024 \
		-print_final_stats=1 tests/fuzz/corpus-escape-run tests/fuzz/corpus-escape
	$(FUZZ_CC) tests/fuzz/fuzz_courses.c $(FUZZ_COURSES_SRC) -lcsv -lnettle \
		-o build/fuzz/fuzz_courses
	@mkdir -p tests/fuzz/corpus-courses-run
	build/fuzz/fuzz_courses -max_total_time=$(FUZZ_COURSES_SECONDS) -max_len=2048 \
		-print_final_stats=1 tests/fuzz/corpus-courses-run tests/fuzz/corpus-courses
	$(FUZZ_CC) $(shell pkg-config --cflags libpq) tests/fuzz/fuzz_dbtarget.c \
		src/dbtarget.c src/error.c -lpq -o build/fuzz/fuzz_dbtarget
	@mkdir -p tests/fuzz/corpus-dbtarget-run
	build/fuzz/fuzz_dbtarget -max_total_time=$(FUZZ_DBTARGET_SECONDS) -max_len=512 \
		-print_final_stats=1 tests/fuzz/corpus-dbtarget-run tests/fuzz/corpus-dbtarget
	$(FUZZ_CC) tests/fuzz/fuzz_dest_walk.c $(FUZZ_DEST_WALK_SRC) -o build/fuzz/fuzz_dest_walk
	@mkdir -p tests/fuzz/corpus-dest-walk-run
	build/fuzz/fuzz_dest_walk -max_total_time=$(FUZZ_DEST_WALK_SECONDS) -max_len=256 \
		-dict=tests/fuzz/dest_walk.dict -artifact_prefix=$(abspath build/fuzz)/ \
		-print_final_stats=1 tests/fuzz/corpus-dest-walk-run tests/fuzz/corpus-dest-walk
	$(FUZZ_CC) tests/fuzz/fuzz_runset.c $(FUZZ_RUNSET_SRC) -o build/fuzz/fuzz_runset
	@mkdir -p tests/fuzz/corpus-runset-run
	build/fuzz/fuzz_runset -max_total_time=$(FUZZ_RUNSET_SECONDS) -max_len=4096 \
		-artifact_prefix=$(abspath build/fuzz)/ \
		-print_final_stats=1 tests/fuzz/corpus-runset-run tests/fuzz/corpus-runset

bench: $(BENCH_BIN) $(BIN)
	@.ci/install-deps bench
	@tests/bench/run $(abspath $(B))

demo: bulkreg
	@tests/demo.sh ./bulkreg

# ---- install --------------------------------------------------------------

install: bulkreg
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 bulkreg $(DESTDIR)$(BINDIR)/bulkreg
	install -m 644 man/bulkreg.1 $(DESTDIR)$(MANDIR)/man1/bulkreg.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/bulkreg $(DESTDIR)$(MANDIR)/man1/bulkreg.1

lint:
	@.ci/install-deps lint
	mandoc -Tlint -Wwarning man/bulkreg.1

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c tests/unit/*.h tests/bench/*.c

clean:
	rm -rf build bulkreg

# Keep intermediate objects (make would otherwise delete test objects).
.SECONDARY:

-include $(wildcard $(B)/obj/*.d $(B)/obj/hooks/*.d $(B)/tests/*.d $(B)/tests/obj/*.d $(B)/bench/*.d)
