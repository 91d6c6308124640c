# t_cli_defects: defects 1-6 of issue 13, seen from the outside.

db=$PWD/t.db
"$BULKREG" -q -d "$db" course add M1 --capacity 5 || fail "setup"
printf 'student_id,first_name,last_name,email,course\nS1,Ada,Byron,ada@example.org,M1\nS2,Alan,Turing,alan@example.org,M1\n' >r.csv
"$BULKREG" -q -d "$db" register r.csv || fail "setup: register"

# unchanged: the database is byte for byte as it was, and nothing is left.
unchanged() {
	cmp -s "$db" db.before || fail "the database changed"
	[ ! -e rep.csv ] || fail "a report file was left behind"
}

# ---- 1: --check that cannot run --------------------------------------------

case_ "1: --check with a direct command that is not there stops before the batch: exit 2, nothing written"
cp "$db" db.before
run -d "$db" register r.csv --check ./nonexist.sh -o rep.csv
expect_rc 2
expect_err "./nonexist.sh"
expect_err "command not found"
unchanged
[ "$(sql "$db" 'SELECT count(*) FROM batches')" = 1 ] || fail "a batch was recorded"
run -d "$db" register r.csv --check bulkreg_no_such_command_13 -o rep.csv
expect_rc 2
expect_err "bulkreg_no_such_command_13"
unchanged

case_ "1: a check that is not executable, or a directory, is refused the same way"
printf '#!/bin/sh\nexit 0\n' >plain.sh
chmod 644 plain.sh
run -d "$db" register r.csv --check ./plain.sh -o rep.csv
expect_rc 2
expect_err "./plain.sh"
unchanged
mkdir adir
run -d "$db" drop r.csv --check ./adir -o rep.csv
expect_rc 2
expect_err "./adir"
unchanged

case_ "1: a shell command string keeps the per-row check_error (126/127)"
run -d "$db" register r.csv --check './nonexist.sh; exit $?' --dry-run --format csv
expect_rc 1
[ "$(csv_field 2 reason)" = check_error ] || fail "line 2 is not check_error: $(cat out)"

# ---- 2: no database -----------------------------------------------------------

NODB="no database at typo.db: create it with 'bulkreg init' or 'bulkreg course import'"
case_ "2: every command that needs a database refuses a missing one: exit 2, the message, nothing created"
for args in "register r.csv" "register r.csv --course M1 -o rep.csv" \
	"drop r.csv" "drop --student S1 --course M1" "undo 1 -o rep.csv" \
	"roster M1" "batches" "batches show 1" "student S1" "verify" \
	"verify --repair" "course list"; do
	# shellcheck disable=SC2086
	run -d typo.db $args
	[ "$RC" -eq 2 ] || fail "$args: exit $RC, expected 2: $(cat err)"
	# named by the command, as every error (review 23 F17)
	case $args in
	"batches show"*) cmdname="batches show" ;;
	"course list") cmdname="course list" ;;
	*) cmdname=${args%% *} ;;
	esac
	grep -qxF "bulkreg: $cmdname: $NODB" err || fail "$args: message: $(cat err)"
	for f in typo.db typo.db-wal typo.db-shm typo.db-journal rep.csv; do
		[ ! -e "$f" ] || fail "$args left $f behind"
	done
done

case_ "2: the default ./bulkreg.db is not created by register either"
mkdir empty && cd empty || fail "cd"
env -u BULKREG_DB "$BULKREG" register ../r.csv >../out 2>../err
RC=$?
[ -z "$(ls -A)" ] || fail "files left behind: $(ls -A)"
cd .. || fail "cd .."
expect_rc 2
expect_err "no database at bulkreg.db"

case_ "2: init, course add and course import still create it"
run -d new1.db init -q
expect_rc 0
[ -s new1.db ] || fail "init created nothing"
run -d new2.db course add M9 --capacity 3 -q
expect_rc 0
[ -s new2.db ] || fail "course add created nothing"
printf 'code,title,capacity\nM8,Eight,3\n' >c.csv
run -d new3.db course import c.csv -q
expect_rc 0
[ -s new3.db ] || fail "course import created nothing"

case_ "2: a run that ends in exit 2 on an existing database leaves no report file"
cp "$db" db.before
run -d "$db" register r.csv --course NOPE -o rep.csv
expect_rc 2
unchanged
printf 'student_id,first_name,last_name,email,course\nS7,A,B,a7@example.org,M1\nS8,A,B,a8@example.org,M1\n' >two.csv
run -d "$db" register two.csv --max-rows 1 -o rep.csv
expect_rc 2
unchanged

# ---- 4: global options anywhere, getopt errors in one form --------------------

case_ "4: -q, -d and --group-readable after the command work for every command and subcommand"
for args in "course list -q" "roster M1 -q" "batches -q" "batches show 1 -q" \
	"student S1 -q" "verify -q" "course add M1 --capacity 5 -q" \
	"init -q" "register r.csv --dry-run -q" "undo 1 --dry-run -q" \
	"course import c.csv --dry-run -q" "course -q list" "batches -q show 1"; do
	# shellcheck disable=SC2086
	"$BULKREG" $args -d "$db" >out 2>err
	RC=$?
	[ "$RC" -eq 0 ] || fail "$args -d DB: exit $RC: $(cat err)"
	[ ! -s err ] || fail "$args: stderr not empty with -q: $(cat err)"
done
run course list -d "$db" --group-readable --format csv
expect_rc 0
expect_out "M1,"

case_ "4: an unknown option: 'bulkreg: COMMAND: message' and one Try line, nothing else"
check_bad() {
	cmd=$1
	shift
	run -d "$db" "$@"
	expect_rc 2
	printf '%s\n' "bulkreg: $cmd: unrecognized option '--bogus'" \
		"Try 'bulkreg $cmd --help'." >want.err
	expect_same want.err err
	expect_empty out
}
check_bad "course list" course list --bogus
check_bad "course add" course add M1 --capacity 1 --bogus
check_bad "course import" course import c.csv --bogus
check_bad "course" course --bogus list
check_bad "register" register r.csv --bogus
check_bad "drop" drop r.csv --bogus
check_bad "undo" undo 1 --bogus
check_bad "roster" roster M1 --bogus
check_bad "batches" batches --bogus
check_bad "batches show" batches show 1 --bogus
check_bad "student" student S1 --bogus
check_bad "verify" verify --bogus
check_bad "init" init --bogus
run -d "$db" course list -x
expect_rc 2
printf '%s\n' "bulkreg: course list: invalid option -- 'x'" \
	"Try 'bulkreg course list --help'." >want.err
expect_same want.err err
run -d "$db" register r.csv --format
printf '%s\n' "bulkreg: register: option '--format' requires an argument" \
	"Try 'bulkreg register --help'." >want.err
expect_same want.err err

case_ "4: other usage errors: the same two lines, no usage dump"
run -d "$db" course list extra
expect_rc 2
printf '%s\n' "bulkreg: course list: unexpected argument 'extra'" \
	"Try 'bulkreg course list --help'." >want.err
expect_same want.err err
run -d "$db" register r.csv --workers 0
expect_rc 2
[ "$(wc -l <err)" -eq 2 ] || fail "not two lines: $(cat err)"
expect_err "bulkreg: register: --workers: '0'"
! grep -q "usage:" err || fail "a usage dump"

# ---- 5: help, --delimiter, json keys, standard input -------------------------

case_ "5: every command has full help, and 'bulkreg help CMD' is 'bulkreg CMD --help'"
for c in init course "course add" "course import" "course list" register drop \
	undo roster batches "batches show" student verify; do
	# shellcheck disable=SC2086
	"$BULKREG" $c --help >h1 2>&1 || fail "$c --help: exit $?"
	# shellcheck disable=SC2086
	"$BULKREG" help $c >h2 2>&1 || fail "help $c: exit $?"
	expect_same h1 h2
	grep -q "^usage: bulkreg $c" h1 || fail "$c --help: no usage line: $(head -3 h1)"
	grep -q "before or after the command" h1 || fail "$c --help: no global options"
	[ "$(wc -l <h1)" -ge 6 ] || fail "$c --help is not full help: $(cat h1)"
	case $c in course) ;; *)
		grep -q "^Exit status" h1 || fail "$c --help: no exit status" ;;
	esac
done
"$BULKREG" course list --help | grep -q -- "--format" || fail "course list --help lacks --format"
"$BULKREG" course import --help | grep -q "'-': standard input" || fail "course import --help lacks -"
run help nosuch
expect_rc 2
expect_err "unknown command 'nosuch'"

case_ "5: --delimiter TAB (any case) is tab"
printf 'student_id\tfirst_name\tlast_name\temail\tcourse\nS1\tAda\tByron\tada@example.org\tM1\n' >t.tsv
for d in tab TAB Tab; do
	run -d "$db" register t.tsv --delimiter "$d" --dry-run --format csv
	expect_rc 0
	[ "$(csv_field 2 status)" = already_registered ] || fail "--delimiter $d: $(cat out)"
done

case_ "5: batches json keeps zero counts: the reasons are the report json's"
run -d "$db" register r.csv --dry-run --format json
cp out report.json
run -d "$db" batches --format json
expect_rc 0
python3 - <<'PY' || fail "batches json and report json keys differ"
import json
rep = json.load(open("report.json"))["summary"]["reasons"]
for b in json.load(open("out"))["batches"]:
    assert sorted(b["reasons"]) == sorted(rep), (sorted(b["reasons"]), sorted(rep))
PY
run -d "$db" batches show 1 --format json
python3 -c '
import json; rep = json.load(open("report.json"))["summary"]["reasons"]
b = json.load(open("out"))["batch"]; assert sorted(b["reasons"]) == sorted(rep)' ||
	fail "batches show json keys differ"

case_ "5: course import - says standard input"
run_in c.csv -d "$db" course import -
expect_rc 0
expect_err "standard input"
! grep -q "bulkreg: - " err || fail "names '-': $(cat err)"

# ---- 6: listings to a full or closed output ----------------------------------

case_ "6: a listing to /dev/full: a clear message, exit 3 -- in every format (review 10, finding 9: html said 'Input/output error')"
for spec in "batches|" "course list|" "roster|M1" "student|S1" \
	"batches show|1" "verify|" "course list|--format html" \
	"course list|--format csv" "course list|--format json" \
	"batches|--format json" "roster|M1 --format csv"; do
	cmd=${spec%|*}
	# shellcheck disable=SC2086
	"$BULKREG" -d "$db" $cmd ${spec#*|} >/dev/full 2>err
	RC=$?
	expect_rc 3
	grep -qxF "bulkreg: $cmd: writing standard output: No space left on device" err ||
		fail "$cmd >/dev/full: $(od -c err | head)"
done

case_ "6: a long listing fails inside the listing: the same message, once"
i=0
while [ $i -lt 60 ]; do
	printf 'student_id,first_name,last_name,email,course\nL%d,A,B,l%d@example.org,M1\n' $i $i >l.csv
	"$BULKREG" -q -d "$db" register l.csv --dry-run || fail "setup $i"
	i=$((i + 1))
done
"$BULKREG" -d "$db" batches >/dev/full 2>err
RC=$?
expect_rc 3
printf '%s\n' "bulkreg: batches: writing standard output: No space left on device" >want.err
expect_same want.err err
"$BULKREG" -d "$db" batches --format json >&- 2>err
RC=$?
expect_rc 3
printf '%s\n' "bulkreg: batches: writing standard output: Bad file descriptor" >want.err
expect_same want.err err

case_ "a listing whose reader went away (batches | head) ends quietly, as by SIGPIPE"
# The pipe's read end is closed before bulkreg starts, so its first write
# fails: no race with a reader.
for spec in "batches|" "course list|" "roster|M1" "student|S1" \
	"batches show|1" "verify|"; do
	cmd=${spec%|*}
	# shellcheck disable=SC2086
	python3 -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=open("err", "wb"))
sys.exit(128 - p.returncode if p.returncode < 0 else p.returncode)
' "$BULKREG" -d "$db" $cmd ${spec#*|}
	RC=$?
	expect_rc 141
	expect_empty err
done
# A command that writes keeps saying what became of its batch.
printf 'student_id,first_name,last_name,email,course\nP1,A,B,p1@example.org,M1\n' >p.csv
python3 -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=open("err", "wb"))
sys.exit(p.returncode if p.returncode >= 0 else 99)
' "$BULKREG" -d "$db" register p.csv
RC=$?
expect_rc 3
expect_err "rolled back"

case_ "6: valgrind finds no uninitialised memory in the failed listing"
# (Not under a sanitizer build, which valgrind cannot run: a ThreadSanitizer
# binary under valgrind took three minutes to be killed.)
if grep -qa -e __tsan_init -e __asan_init "$BULKREG"; then
	echo "a sanitizer build: skipped"
elif command -v valgrind >/dev/null 2>&1 &&
	valgrind -q "$BULKREG" --version >/dev/null 2>&1; then
	valgrind -q --error-exitcode=99 "$BULKREG" -d "$db" batches >/dev/full 2>err
	RC=$?
	expect_rc 3
	! grep -q "==[0-9]*==" err || fail "valgrind: $(cat err)"
else
	echo "valgrind not installed or cannot run this build: skipped"
fi

case_ "drop --student refuses the options about reading a roster (exit 2, named), as its synopsis says"
run -d "$db" course add M9 --capacity 2
expect_rc 0
for o in "--workers 2" "--check true" "--strict" "--max-rejects 1" "--encoding LATIN1" \
	"--max-rows 5" "--delimiter ;" "--profile canvas" "--users u.csv" \
	"--map email=E" "--course-from section_id" "--check-timeout 3" "--check-env inherit"; do
	# shellcheck disable=SC2086 # o is an option and its value
	run -d "$db" drop --student S1 --course M9 $o
	expect_rc 2
	expect_err "drop: ${o%% *} is about reading a roster: not with --student"
done
run -d "$db" drop --student S1 --course M9 --dry-run --format csv -o - --label x --wait 1
expect_rc 1
expect_out "S1,M9,rejected,,not_registered"

case_ "a usage error found once the run began is said like one found while parsing: command, message, one Try line"
run -d "$db" drop r.csv --course NOPE
expect_rc 2
expect_err "bulkreg: drop: --course NOPE: no such course (so no one is registered in it)"
expect_err "Try 'bulkreg drop --help'."
! grep -q "add it first" err || fail "drop advises adding the course: $(cat err)"
run -d "$db" register r.csv --course NOPE
expect_rc 2
expect_err "bulkreg: register: --course NOPE: no such course (add it first with 'bulkreg course add')"
expect_err "Try 'bulkreg register --help'."
[ "$(grep -c Try err)" = 1 ] || fail "not one Try line: $(cat err)"
# The roster's course column is not said to be ignored for a run that
# never starts (review 19, F16).
! grep -q "ignoring the course column" err || fail "warned before refusing --course: $(cat err)"

# ---- review 17, C8: small inconsistencies --------------------------------------

case_ "C8.1: 'no such' batch, student or undoable batch names its command, as 'batches show x' does"
run -d "$db" batches show 99
expect_rc 2
expect_err "bulkreg: batches show: no batch 99"
run -d "$db" student NOBODY
expect_rc 2
expect_err "bulkreg: student: no student 'NOBODY'"
run -d "$db" undo 99
expect_rc 2
expect_err "bulkreg: undo: no batch 99"

case_ "C8.3: a courses file's waitlist 'unlimited' in any case is no limit, and a bad one says what works"
printf 'code,title,capacity,waitlist\nU1,A,4,Unlimited\nU2,B,4,unlimited\nU3,C,4,\n' >cu.csv
run -d "$db" course import cu.csv
expect_rc 0
"$BULKREG" -d "$db" course list --format csv >cl.csv || fail "course list"
for c in U1 U2 U3; do
	grep -q "^$c,[A-C],4,," cl.csv || fail "$c is not unlimited: $(grep "^$c," cl.csv)"
done
printf 'code,title,capacity,waitlist\nU4,D,4,lots\n' >cb.csv
run -d "$db" course import cb.csv
expect_rc 1
expect_err "waitlist: 'lots' is not a whole number (or empty, or 'unlimited', for no limit)"

case_ "C8.6: a lock held too long says what to do"
[ "$STORE" = pg ] || {
	# sqlite3 holds the write lock until we close its input.
	mkfifo lock.fifo
	sqlite3 "$db" <lock.fifo >/dev/null &
	sq=$!
	exec 8>lock.fifo
	echo "BEGIN IMMEDIATE; SELECT 'held';" >&8
	# Until the lock is held: a register with no wait fails at once.
	n=0
	until "$BULKREG" -q -d "$db" register r.csv --wait 0 --dry-run >/dev/null 2>lock.err; [ -s lock.err ] || [ $n -ge 1000 ]; do n=$((n + 1)); done
	echo "COMMIT;" >&8
	exec 8>&-
	wait $sq
	grep -q "database is locked by another process" lock.err || fail "never locked: $(cat lock.err)"
	grep -q "run it again once the other process is done (--wait SECONDS" lock.err || fail "no advice: $(cat lock.err)"
}

case_ "C8.7: -o NAME.csv (.json, .html) without --format writes the text report, with a warning; -q or --format: none"
run -d "$db" register r.csv --dry-run -o rep.csv
expect_err "warning: rep.csv: the text report goes into it (--format csv writes csv)"
head -1 rep.csv | grep -q "dry run" || fail "rep.csv: $(head -2 rep.csv)"
run -d "$db" undo 1 --dry-run -o rep.JSON
expect_err "warning: rep.JSON: the text report goes into it (--format json writes json)"
run -d "$db" register r.csv --dry-run -o rep.csv --format csv
! grep -q warning err || fail "a warning with --format: $(cat err)"
run -q -d "$db" register r.csv --dry-run -o rep.html
! grep -q warning err || fail "a warning with -q: $(cat err)"

case_ "bulkreg --help COMMAND is the command's help; roster's unknown course names the command (review 17, C8)"
run --help register
expect_rc 0
expect_out "usage: bulkreg register ROSTER.csv|-"
run --help
expect_rc 0
expect_out "usage: bulkreg [-q] [-d DB]"
run -d "$db" roster NOPE999
expect_rc 2
expect_err "bulkreg: roster: no course 'NOPE999'"

case_ "register's, drop's and undo's errors name the command, as the listings' do (review 23 F17)"
run -d typo2.db register nothere.csv
expect_rc 2
grep -qxF "bulkreg: register: nothere.csv: no such file or directory" err || fail "message: $(cat err)"
"$BULKREG" -q -d f17.db course add M1 --capacity 5 2>/dev/null
printf 'student_id,email,course\nA,a@x.org,M1\n' >f17.csv
"$BULKREG" -d f17.db register f17.csv --dry-run >/dev/full 2>err
grep -q "^bulkreg: register: standard output: write failed" err || fail "message: $(cat err)"
run -d f17.db drop nothere.csv
grep -qxF "bulkreg: drop: nothere.csv: no such file or directory" err || fail "message: $(cat err)"
