#!/bin/sh
# lib: helpers for the end-to-end tests, then runs the test file given as $1.
# Each test file is a story: set up a fixture, run bulkreg, compare output and
# exit status.  The first failed expectation ends the file with a message.
set -u

CASE="(setup)"
case_() { CASE=$1; echo "case: $1"; }
fail() { echo "FAILED in case '$CASE': $*"; exit 1; }

# run ARGS...: runs bulkreg; stdout in ./out, stderr in ./err, status in $RC.
run() {
	"$BULKREG" "$@" >out 2>err
	RC=$?
}
# run_in FILE ARGS...: the same with standard input from FILE.
run_in() {
	_in=$1
	shift
	"$BULKREG" "$@" <"$_in" >out 2>err
	RC=$?
}
expect_rc() {
	[ "$RC" -eq "$1" ] || fail "exit status $RC, expected $1
--- stdout:
$(head -c 3000 out)
--- stderr:
$(head -c 3000 err)"
}
expect_out() { grep -qF -- "$1" out || fail "stdout lacks '$1':
$(head -c 3000 out)"; }
expect_err() { grep -qF -- "$1" err || fail "stderr lacks '$1':
$(head -c 3000 err)"; }
expect_no_out() { ! grep -qF -- "$1" out || fail "stdout has '$1'"; }
expect_empty() { [ ! -s "$1" ] || fail "$1 is not empty:
$(head -c 2000 "$1")"; }
expect_same() {
	cmp -s "$1" "$2" || fail "$1 and $2 differ:
$(diff "$1" "$2" | head -40)"
}

# The store the file runs against: BULKREG_TEST_STORE=pg (from
# `tests/e2e/run --store pg`, inside tests/pg/cluster) runs it on
# PostgreSQL.  A test names its databases with new_db; dump and sql read
# either store.  A file that only makes sense on SQLite says so at its top
# with `sqlite_only REASON` (it is then skipped on PostgreSQL, visibly).
STORE=${BULKREG_TEST_STORE:-sqlite}
is_pg_uri() {
	case $1 in postgres://* | postgresql://*) return 0 ;; esac
	return 1
}
# sqlite_only REASON: this file tests what only the SQLite store has.
sqlite_only() {
	if [ "$STORE" = pg ]; then
		echo "skipped: SQLite only: $*"
		echo "all cases passed"
		exit 0
	fi
}
# pg_only REASON: this file needs the PostgreSQL server of the PostgreSQL
# pass (tests/e2e/run --store pg); on the SQLite pass it is skipped.
pg_only() {
	if [ "$STORE" != pg ]; then
		echo "skipped: runs in the PostgreSQL pass: $*"
		echo "all cases passed"
		exit 0
	fi
}
# pg_psql URI ARGS...: psql with no startup file, stopping at the first
# error, with bulkreg's schema first on the search path.  An error is also
# kept in $SQL_ERRORS: a query that fails inside $(...) would otherwise
# read as "no rows", and a check as passed; the file fails at its end.
SQL_ERRORS=$PWD/.sql-errors
pg_psql() {
	_u=$1
	shift
	PGOPTIONS="-c search_path=${BULKREG_TEST_PG_SCHEMA:-bulkreg},public -c client_min_messages=warning" \
		psql -X -q -v ON_ERROR_STOP=1 -d "$_u" "$@" 2>.psql-err
	_rc=$?
	if [ "$_rc" -ne 0 ]; then
		cat .psql-err >&2
		{ echo "in case '$CASE':"; cat .psql-err; } >>"$SQL_ERRORS"
	fi
	return "$_rc"
}
# pg_admin SQL: runs SQL as the cluster's superuser.
pg_admin() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$BULKREG_TEST_PG_ADMIN" -c "$1" >/dev/null; }
# pg_db_uri NAME [ROLE[:PASSWORD]]: the URI of database NAME on the cluster.
pg_db_uri() {
	echo "postgresql://${2:-bulkreg}@/$1?host=$BULKREG_TEST_PG_HOST&port=$BULKREG_TEST_PG_PORT"
}
# db_of NAME: the -d argument of the database new_db NAME made.
db_of() {
	if [ "$STORE" != pg ]; then
		echo "$1.db"
		return
	fi
	pg_db_uri "$(printf '%s' "${E2E_PG_PREFIX:-e2e}_$1" | tr -c 'a-zA-Z0-9_' '_' | cut -c1-63)"
}
# new_db [-e] NAME: prints the name (-d argument) of a new, empty database:
# NAME.db (removed if it exists) on SQLite; on PostgreSQL a fresh database of
# its own, owned by role bulkreg, with SQLite's hex() and group_concat() so
# that `sql` queries read the same on both, and bulkreg's schema made by
# `bulkreg init` (on PostgreSQL only init creates it; an SQLite file is
# created by any command) -- unless -e: then without the schema.
new_db() {
	_init=1
	if [ "$1" = -e ]; then
		_init=0
		shift
	fi
	if [ "$STORE" != pg ]; then
		rm -f "$1.db" "$1.db-wal" "$1.db-shm"
		echo "$1.db"
		return
	fi
	_n=$(printf '%s' "${E2E_PG_PREFIX:-e2e}_$1" | tr -c 'a-zA-Z0-9_' '_' | cut -c1-63)
	pg_admin "DROP DATABASE IF EXISTS $_n WITH (FORCE)" &&
		pg_admin "CREATE DATABASE $_n OWNER bulkreg" || fail "cannot create database $_n"
	psql -X -q -v ON_ERROR_STOP=1 -d "$(pg_db_uri "$_n" postgres)" >/dev/null <<'SQL' || fail "cannot set up database $_n"
CREATE FUNCTION public.hex(text) RETURNS text IMMUTABLE LANGUAGE sql
  AS $$ SELECT upper(encode(convert_to($1, 'UTF8'), 'hex')) $$;
CREATE FUNCTION public.gc_step(text, text, text) RETURNS text IMMUTABLE LANGUAGE sql
  AS $$ SELECT CASE WHEN $2 IS NULL THEN $1 WHEN $1 IS NULL THEN $2 ELSE $1 || $3 || $2 END $$;
CREATE AGGREGATE public.group_concat(text, text) (SFUNC = public.gc_step, STYPE = text);
CREATE FUNCTION public.gc_step1(text, text) RETURNS text IMMUTABLE LANGUAGE sql
  AS $$ SELECT public.gc_step($1, $2, ',') $$;
CREATE AGGREGATE public.group_concat(text) (SFUNC = public.gc_step1, STYPE = text);
SQL
	if [ "$_init" = 1 ]; then
		"$BULKREG" -q -d "$(db_of "$1")" init >/dev/null 2>&1 ||
			fail "bulkreg init of database $_n failed"
	fi
	db_of "$1"
}

# PG_QUOTE_FNS: SQLite's quote mode in SQL (text in single quotes with ''
# for a quote, numbers bare, NULL), as session functions.
PG_QUOTE_FNS="CREATE FUNCTION pg_temp.q(text) RETURNS text LANGUAGE sql
  AS \$\$ SELECT coalesce('''' || replace(\$1, '''', '''''') || '''', 'NULL') \$\$;
CREATE FUNCTION pg_temp.n(bigint) RETURNS text LANGUAGE sql
  AS \$\$ SELECT coalesce(\$1::text, 'NULL') \$\$;"

# clone_db DB NAME: prints the -d argument of a copy of DB named NAME (a
# copy of the file; on PostgreSQL a database made from DB as its template,
# once no session uses DB).
clone_db() {
	if ! is_pg_uri "$1"; then
		rm -f "$2.db" "$2.db-wal" "$2.db-shm"
		cp "$1" "$2.db" || fail "cannot copy $1"
		echo "$2.db"
		return
	fi
	_src=${1#postgresql://*/}
	_src=${_src%%\?*}
	_n=$(printf '%s' "${E2E_PG_PREFIX:-e2e}_$2" | tr -c 'a-zA-Z0-9_' '_' | cut -c1-63)
	pg_admin "DROP DATABASE IF EXISTS $_n WITH (FORCE)"
	# A session that just ended may linger a moment: poll until it is gone.
	_tries=0
	until pg_admin "CREATE DATABASE $_n OWNER bulkreg TEMPLATE $_src" 2>/dev/null; do
		_tries=$((_tries + 1))
		[ "$_tries" -lt 500 ] || fail "cannot copy database $_src"
		sleep 0.01
	done
	db_of "$2"
}
# sqlite_file DB: an SQLite file holding DB's tables (DB itself, or a copy
# of a PostgreSQL database made by tests/pg/pg2sqlite), for checks that
# read the file with Python's sqlite3.
sqlite_file() {
	if ! is_pg_uri "$1"; then
		echo "$1"
		return
	fi
	"$ROOT/tests/pg/pg2sqlite" "$1" pg-copy.sqlite || fail "pg2sqlite $1"
	echo pg-copy.sqlite
}

# dump DB FILE: the whole state users can see (courses, students,
# registrations) in a stable order; batch history is left out on purpose.
# The same bytes on both stores.
dump() {
	if is_pg_uri "$1"; then
		pg_psql "$1" -A -t >"$2" <<SQL
$PG_QUOTE_FNS
SELECT concat_ws(',', '''course''', pg_temp.q(code), pg_temp.q(title),
  pg_temp.n(capacity), pg_temp.n(waitlist_max), pg_temp.n(registered),
  pg_temp.n(waitlisted)) FROM courses ORDER BY code COLLATE "C";
SELECT concat_ws(',', pg_temp.q(student_id), pg_temp.q(first_name),
  pg_temp.q(last_name), pg_temp.q(email), pg_temp.n(created_batch))
  FROM students ORDER BY student_id COLLATE "C";
SELECT concat_ws(',', pg_temp.n(course_id), pg_temp.q(student_id),
  pg_temp.q(status), pg_temp.n(seq), pg_temp.n(batch_id), pg_temp.n(line))
  FROM registrations ORDER BY course_id, student_id COLLATE "C";
SQL
		return
	fi
	sqlite3 "$1" >"$2" <<'SQL'
.mode quote
SELECT 'course', code, title, capacity, waitlist_max, registered, waitlisted FROM courses ORDER BY code;
SELECT student_id, first_name, last_name, email, created_batch FROM students ORDER BY 1;
SELECT course_id, student_id, status, seq, batch_id, line FROM registrations ORDER BY 1, 2;
SQL
}
# sql DB QUERY: the query's rows as sqlite3 prints them by default (fields
# joined by |, NULL empty).
sql() {
	if is_pg_uri "$1"; then
		pg_psql "$1" -A -t -F '|' -c "$2"
		return
	fi
	sqlite3 "$1" "$2"
}

# sql_sp DB QUERY: the same with fields joined by a space.
sql_sp() {
	if is_pg_uri "$1"; then
		pg_psql "$1" -A -t -F ' ' -c "$2"
		return
	fi
	sqlite3 -separator ' ' "$1" "$2"
}
# all_tables DB FILE: courses, students and registrations whole (ids,
# times and counters included), in key order, without the batch history;
# for comparing states of one store (the formats differ between stores).
all_tables() {
	if is_pg_uri "$1"; then
		pg_psql "$1" -A -t >"$2" <<'SQL'
SELECT 'course', c::text FROM courses AS c ORDER BY id;
SELECT 'student', s::text FROM students AS s ORDER BY student_id COLLATE "C";
SELECT 'reg', r::text FROM registrations AS r ORDER BY course_id, student_id COLLATE "C";
SQL
		return
	fi
	sqlite3 "$1" >"$2" <<'SQL'
.mode quote
SELECT 'course', * FROM courses ORDER BY id;
SELECT 'student', * FROM students ORDER BY student_id;
SELECT 'reg', * FROM registrations ORDER BY course_id, student_id;
SQL
}
# on_sqlite REASON: true on SQLite; on PostgreSQL says the case is skipped
# and why, and is false (`if on_sqlite "why"; then ... fi`).
on_sqlite() {
	[ "$STORE" = pg ] || return 0
	echo "  (case skipped on PostgreSQL: $*)"
	return 1
}
# hold_lock DB: another session holds the write lock of DB (SQLite: an open
# BEGIN IMMEDIATE; PostgreSQL: an open transaction holding every bulkreg
# table in EXCLUSIVE mode) until release_lock.
hold_lock() {
	rm -f lock.in lock.out
	mkfifo lock.in lock.out
	if is_pg_uri "$1"; then
		pg_psql "$1" -A -t <lock.in >lock.out 2>&1 &
		LOCK_HOLDER=$!
		exec 7>lock.in 8<lock.out
		echo "BEGIN; LOCK TABLE courses, students, registrations, batches IN EXCLUSIVE MODE; SELECT 'locked';" >&7
	else
		sqlite3 "$1" <lock.in >lock.out 2>&1 &
		LOCK_HOLDER=$!
		exec 7>lock.in 8<lock.out
		echo "BEGIN IMMEDIATE; SELECT 'locked';" >&7
	fi
	read -r _reply <&8
	[ "$_reply" = locked ] || fail "the lock holder said '$_reply'"
}
release_lock() {
	echo "ROLLBACK;" >&7
	exec 7>&- 8<&-
	wait "$LOCK_HOLDER"
	rm -f lock.in lock.out
}

# csv_status LINE: the status field of report line LINE in ./out (csv).
csv_field() {
	python3 - "$1" "$2" <<'PY'
import csv, sys
want_line, field = sys.argv[1], sys.argv[2]
for r in csv.DictReader(open("out", newline="")):
    if r["line"] == want_line:
        print(r[field]); break
PY
}

# Helpers of the profile and export tests.
# fresh_courses CODE...: a new database holding these courses (5 seats each).
fresh_courses() {
	db=$(new_db t)
	for c in "$@"; do
		"$BULKREG" -d $db course add --capacity 5 -- "$c" >/dev/null 2>&1 ||
			fail "course add $c"
	done
}
# report_status LINE [COURSE]: "status" or "status:reason" of report line
# LINE (csv, in ./out).
report_status() {
	python3 - "$1" "${2:-}" <<'PY'
import csv, sys
for r in csv.DictReader(open("out", newline="", encoding="utf-8")):
    if r["line"] == sys.argv[1] and (not sys.argv[2] or r["course"] == sys.argv[2]):
        print(r["status"] + (":" + r["reason"] if r["reason"] else "")); break
PY
}
# expect_status LINE STATUS [COURSE]
expect_status() {
	got=$(report_status "$1" "${3:-}")
	[ "$got" = "$2" ] || fail "line $1${3:+ ($3)}: $got, expected $2
$(cat out)"
}

# shellcheck source=/dev/null
. "$1"
[ ! -s "$SQL_ERRORS" ] || fail "a query of the test failed:
$(head -c 2000 "$SQL_ERRORS")"
echo "all cases passed"
