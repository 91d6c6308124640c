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

# dump DB FILE: the whole state users can see (courses, students,
# registrations) in a stable order; batch history is left out on purpose.
dump() {
	sqlite3 "$1" >"$2" <<'SQL'
.mode quote
SELECT 'course', code, title, capacity, waitlist_max, registered, waitlisted FROM courses ORDER BY code;
SELECT * FROM students ORDER BY 1;
SELECT * FROM registrations ORDER BY 1, 2;
SQL
}
sql() { sqlite3 "$1" "$2"; }

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

# shellcheck source=/dev/null
. "$1"
echo "all cases passed"
