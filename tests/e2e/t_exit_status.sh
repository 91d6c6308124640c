# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_exit_status: every exit status -- 0, 1, 2 (usage, unusable input), 3
# (database and system errors), 128+N (a signal) -- and that a refused run
# leaves the database exactly as it was and says which file (and line) is
# at fault.

db=$(new_db t)
U=$DATA/unusable

# status_in CODE ID: "status" or "status:position" of student ID in course
# CODE, from `bulkreg roster CODE --format csv`; empty if not there.  (The
# listing, not the tables: the schema is bulkreg's own business.)
status_in() {
	"$BULKREG" -d "$db" roster "$1" --format csv >status_in.csv || fail "roster $1"
	sqlite3 :memory: ".import --csv status_in.csv r" \
		"SELECT status || CASE WHEN position <> '' THEN ':' || position ELSE '' END
		 FROM r WHERE student_id = '$2'"
}

# snapshot FILE [DB]: what users can see (courses, students, registrations)
# and the size of the batch history, which a refused run must not grow.
snapshot() {
	dump "${2:-$db}" "$1" || fail "cannot dump ${2:-$db}"
	sql "${2:-$db}" "SELECT 'batches', count(*) FROM batches" >>"$1"
}

# expect_refused STATUS TEXT...: exit STATUS, each TEXT on stderr, nothing
# on stdout, and the database unchanged since before.state.
expect_refused() {
	expect_rc "$1"
	shift
	for _t in "$@"; do
		expect_err "$_t"
	done
	expect_empty out
	snapshot after.state
	expect_same before.state after.state
}

# as_nobody CMD ARGS...: runs CMD as the unprivileged user nobody, keeping
# the working directory.
as_nobody() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	su nobody -s /bin/sh -c 'exec "$0" "$@"' -- "$@"
}

# nobody_can: true if we are root and nobody can run bulkreg here and write
# in a directory of ours (the test directory is opened to it for that).
nobody_can() {
	[ "$(id -u)" = 0 ] || return 1
	chmod 755 . || return 1
	mkdir -p probe && chmod 777 probe || return 1
	as_nobody "$BULKREG" -d probe/probe.db init >/dev/null 2>&1
}

# run_nobody ARGS...: run, as nobody.
run_nobody() {
	as_nobody "$BULKREG" "$@" >out 2>err
	RC=$?
}

case_ "setup: courses and one committed batch"
run -d $db course import "$DATA/courses/outcomes.csv"
expect_rc 0
run -d $db register "$DATA/rosters/enrolled.csv"
expect_rc 0
snapshot before.state

# ---- 0 and 1 --------------------------------------------------------------

case_ "exit 0: every row succeeded"
run -d $db register "$DATA/rosters/good.csv"
expect_rc 0
expect_out "committed"

case_ "exit 0: a re-run where every row is already_registered"
run -d $db register "$DATA/rosters/good.csv"
expect_rc 0

case_ "exit 1: one row rejected, the others committed"
run -d $db register "$DATA/rosters/one_rejected.csv"
expect_rc 1
expect_out "missing_email"
[ "$(status_in OPEN G3)" = registered ] || fail "G3 was not registered"
[ -z "$(status_in OPEN G4)" ] || fail "G4 was registered"

case_ "exit 0: a header and no data rows is a valid, empty batch, with a warning"
printf 'student_id,email,course\n' >header_only.csv
run -d $db register header_only.csv
expect_rc 0
expect_err "warning"
expect_err "header_only.csv: the roster has a header but no data rows"

case_ "-q after the command is the global -q (register, init, course add and import)"
run -d $db register header_only.csv -q
expect_rc 0
expect_empty err
expect_empty out
run -d $db init --quiet
expect_rc 0
expect_empty err
run -d $db course add QUIETQ --capacity 1 -q
expect_rc 0
expect_empty err
run -d $db init -- -q
expect_rc 2
snapshot before.state

# ---- 2: usage errors --------------------------------------------------------

case_ "exit 2: an unknown option"
run -d $db register --bogus "$DATA/rosters/good.csv"
expect_refused 2 "bogus" "Try 'bulkreg register --help'."

case_ "every command's --help names usage errors under exit status 2 (review 17, B6)"
for c in register drop undo roster batches student verify init "course add" "course import" "course list" copy-db; do
	# shellcheck disable=SC2086 # "course add" is two words
	"$BULKREG" $c --help >help.txt 2>&1 || fail "$c --help"
	sed -n '/^Exit status/,/^$/p' help.txt | tr '\n' ' ' >exit.txt
	grep -q "2 usage error" exit.txt || fail "$c --help: exit status 2 does not name a usage error: $(cat exit.txt)"
done
for c in register drop; do
	"$BULKREG" $c --help | sed -n '/^Exit status/,/^$/p' | tr '\n' ' ' | grep -q -- "--max-rows" ||
		fail "$c --help: exit status 2 does not name --max-rows"
done
run -d $db undo abc
expect_refused 2 "'abc' is not a batch number"

case_ "exit 2: an unknown global option"
run --bogus -d $db register "$DATA/rosters/good.csv"
expect_refused 2 "bulkreg: unrecognized option '--bogus'"
expect_err "Try 'bulkreg --help'."
! grep -q "usage:" err || fail "a bad option dumps the usage"

case_ "exit 2: no command, and an unknown command"
run -d $db
expect_refused 2 "which command?"
run -d $db enrol "$DATA/rosters/good.csv"
expect_refused 2 "enrol"

case_ "exit 2: --workers out of range or not a number"
for w in 0 1025 -1 abc 2x ""; do
	run -d $db register --workers "$w" "$DATA/rosters/good.csv"
	expect_refused 2 "--workers" "'$w'"
done

case_ "exit 2: --workers 1 and 1024 are accepted"
run -d $db register --workers 1 --dry-run "$DATA/rosters/good.csv"
expect_rc 0
run -d $db register --workers 1024 --dry-run "$DATA/rosters/good.csv"
expect_rc 0
snapshot before.state

case_ "exit 2: a bad --format"
run -d $db register --format xml "$DATA/rosters/good.csv"
expect_refused 2 "--format" "xml"
run -d $db register --format "" "$DATA/rosters/good.csv"
expect_refused 2 "--format"

case_ "exit 2: a bad --delimiter"
for d in : comma ",," "" x; do
	run -d $db register --delimiter "$d" "$DATA/rosters/good.csv"
	expect_refused 2 "--delimiter"
done

case_ "exit 2: a bad --wait"
run -d $db register --wait abc "$DATA/rosters/good.csv"
expect_refused 2 "--wait"
run -d $db register --wait -1 "$DATA/rosters/good.csv"
expect_refused 2 "--wait"

case_ "exit 2: the roster argument is missing, or there are two"
run -d $db register
expect_refused 2 "roster"
run -d $db register --format csv
expect_refused 2 "roster"
run -d $db register "$DATA/rosters/good.csv" "$DATA/rosters/good.csv"
expect_refused 2 "one roster"

case_ "exit 2: --course that is not a course code"
run -d $db register --course "bad code!" "$DATA/rosters/good.csv"
expect_refused 2 "--course" "bad code!"

# ---- 2: unusable input --------------------------------------------------------

case_ "exit 2: a missing file, named"
run -d $db register no-such-roster.csv
expect_refused 2 "no-such-roster.csv"

case_ "exit 2: a directory, named"
mkdir a-directory
run -d $db register a-directory
expect_refused 2 "a-directory" "directory"

case_ "exit 2: an empty file"
run -d $db register "$U/empty.csv"
expect_refused 2 "$U/empty.csv" "empty"

case_ "exit 2: empty standard input"
run_in "$U/empty.csv" -d $db register -
expect_refused 2 "standard input" "empty"

case_ "exit 2: a file of nothing but a BOM"
run -d $db register "$U/bom_only.csv"
expect_refused 2 "$U/bom_only.csv" "empty"

case_ "exit 2: only blank lines: no header"
run -d $db register "$U/blank_lines.csv"
expect_refused 2 "$U/blank_lines.csv" "no header"

case_ "exit 2: a required column missing, with the columns found"
run -d $db register "$U/missing_course.csv"
expect_refused 2 "$U/missing_course.csv" "line 1" "'course'" \
	"'student_id'" "'first_name'" "'email'" "'notes'"

case_ "exit 2: every missing required column is named"
run -d $db register "$U/missing_three.csv"
expect_refused 2 "$U/missing_three.csv" "'student_id'" "'course'" \
	"'first_name'" "'last_name'" "'notes'"

case_ "exit 2: without --course the course column is required"
printf 'student_id,email\nS1,s1@uni.example\n' >no_course.csv
run -d $db register no_course.csv
expect_refused 2 "no_course.csv" "'course'"

case_ "exit 2: a column named twice (through an alias)"
run -d $db register "$U/column_twice.csv"
expect_refused 2 "$U/column_twice.csv" "line 1" "twice" "'email'" "'mail'"

case_ "exit 2: a column named twice (names differing in case, space, - and _)"
printf 'student_id,email,course,Student-ID\n' >twice2.csv
run -d $db register twice2.csv
expect_refused 2 "twice2.csv" "twice"

case_ "exit 2: more than 1,024 columns; 1,024 are accepted"
awk 'BEGIN { printf "student_id,email,course"; for (i = 4; i <= 1025; i++) printf ",extra%d", i; print "" }' >cols1025.csv
run -d $db register cols1025.csv
expect_refused 2 "cols1025.csv" "1,025" "1,024"
awk 'BEGIN { printf "student_id,email,course"; for (i = 4; i <= 1024; i++) printf ",extra%d", i; print "" }' >cols1024.csv
run -d $db register --dry-run cols1024.csv
expect_rc 0
snapshot before.state

case_ "exit 2: a header name that is not UTF-8"
run -d $db register "$U/header_not_utf8.csv"
expect_refused 2 "$U/header_not_utf8.csv" "line 1" "UTF-8"

case_ "exit 2: an unknown --course"
run -d $db register --course NOPE101 "$DATA/rosters/good.csv"
expect_refused 2 "NOPE101"

case_ "exit 2: --course is case-sensitive"
run -d $db register --course open "$DATA/rosters/good.csv"
expect_refused 2 "open"

case_ "exit 2: an unterminated quote names the line where the record starts"
run -d $db register "$U/unterminated.csv"
expect_refused 2 "$U/unterminated.csv" "line 4" "unterminated"

case_ "exit 1, not 2: text after a closing quote rejects that row only (malformed_row)"
quote=$(clone_db "$db" quote)
run -d $quote register "$U/text_after_quote.csv" --format csv
expect_rc 1
expect_out "3,"
expect_out "malformed_row"

case_ "exit 2: a byte that is not UTF-8 after thousands of good rows: nothing written"
awk 'BEGIN { print "student_id,first_name,email,course"
	for (i = 1; i <= 3000; i++) printf "L%d,x,l%d@uni.example,OPEN\n", i, i
	print "L9999,Ren\351,l9999@uni.example,OPEN" }' >late_latin1.csv
dump $db before.dump
run -d $db register --workers 4 late_latin1.csv
expect_refused 2 "late_latin1.csv" "line 3002, column 10: not valid UTF-8 (bytes E9 2C 6C 39)" "--encoding WINDOWS-1252"
dump $db after.dump
expect_same before.dump after.dump

case_ "exit 2: malformed CSV after thousands of good rows: nothing written"
awk 'BEGIN { print "student_id,email,course"
	for (i = 1; i <= 3000; i++) printf "M%d,m%d@uni.example,OPEN\n", i, i
	print "M9999,\"m9999@uni.example"
	print "M10000,m10000@uni.example,OPEN" }' >late_error.csv
run -d $db register --workers 4 late_error.csv
expect_refused 2 "late_error.csv" "line 3002"

case_ "exit 2: the same refusals with -q still explain themselves"
run -q -d $db register "$U/missing_course.csv"
expect_refused 2 "$U/missing_course.csv" "'course'"

# ---- 3: database errors ---------------------------------------------------------

case_ "exit 3: a file that is not an SQLite database is named and left alone"
printf 'name,age\nthis is a csv file, not a database\n' >notadb.db
cp notadb.db notadb.orig
run -d notadb.db register "$DATA/rosters/good.csv"
expect_rc 3
expect_err "notadb.db"
expect_err "not an SQLite database"
expect_same notadb.orig notadb.db
for cmd in init "course list" "batches" "roster OPEN"; do
	# shellcheck disable=SC2086 # the command's words
	run -d notadb.db $cmd
	expect_rc 3
	expect_err "notadb.db"
done
expect_same notadb.orig notadb.db

case_ "exit 3: a database newer than this bulkreg is refused and keeps its schema"
sqlite3 newer.db "PRAGMA user_version = 99; CREATE TABLE future (x); INSERT INTO future VALUES ('kept');"
for cmd in "register $DATA/rosters/good.csv" init "course list" batches \
	"course add OPEN --capacity 5"; do
	# shellcheck disable=SC2086 # the command's words
	run -d newer.db $cmd
	expect_rc 3
	expect_err "newer.db"
	expect_err "99"
done
[ "$(sql newer.db 'PRAGMA user_version')" = 99 ] || fail "user_version changed"
got=$(sql newer.db "SELECT group_concat(name) FROM sqlite_master")
[ "$got" = future ] || fail "the schema changed: $got"
[ "$(sql newer.db 'SELECT x FROM future')" = kept ] || fail "data changed"

case_ "exit 3: the database path is a directory"
mkdir db-directory
run -d db-directory register "$DATA/rosters/good.csv"
expect_rc 3
expect_err "db-directory"

case_ "exit 3: the database path is a FIFO or a device -- named as such, no I/O error"
if [ "$STORE" = sqlite ]; then
	mkfifo db-fifo
	for d in db-fifo /dev/null; do
		run -d $d course list
		expect_rc 3
		expect_err "$d: is a"
		expect_err "not a database file"
		! grep -q "Illegal seek\|disk may be full" err || fail "$(cat err)"
	done
	[ -p db-fifo ] && [ -c /dev/null ] || fail "the FIFO or /dev/null was replaced"
fi

case_ "the database's directory does not exist (and is not created): exit 3 for init, 2 for register"
run -d no-such-dir/t.db init
expect_rc 3
expect_err "no-such-dir/t.db"
run -d no-such-dir/t.db register "$DATA/rosters/good.csv"
expect_rc 2
expect_err "no database at no-such-dir/t.db"
[ ! -e no-such-dir ] || fail "no-such-dir was created"

case_ "exit 3: a database under /proc can never be written"
run -d /proc/bulkreg-e2e.db init
expect_rc 3
expect_err "/proc/bulkreg-e2e.db"

case_ "exit 3: another process holds the database: wait, then give up"
hold_lock $db
run -d $db register --wait 0.1 "$DATA/rosters/good.csv"
rc_locked=$RC
release_lock
RC=$rc_locked
expect_refused 3 "$db" "locked"

case_ "exit 3: read-only database directory and file (as nobody when root)"
runner=""
if [ "$(id -u)" != 0 ]; then
	runner=run # permissions apply to us
elif nobody_can; then
	runner=run_nobody
fi
if [ -z "$runner" ]; then
	echo "  (skipped: running as root and cannot run bulkreg as nobody)"
elif on_sqlite "the permissions of the database file and its directory"; then
	mkdir rodir rwdir
	chmod 777 rwdir
	for d in rodir rwdir; do
		sqlite3 $db ".backup $d/t.db"
		snapshot "$d.before" $d/t.db
		# rodir: only the directory is read-only; rwdir: only the file is
		if [ $d = rodir ]; then
			chmod 666 $d/t.db
			chmod 555 $d
		else
			chmod 444 $d/t.db
		fi
		$runner -d $d/t.db register "$DATA/rosters/good.csv"
		_rc=$RC
		chmod 755 $d
		chmod 644 $d/t.db
		RC=$_rc
		expect_rc 3
		expect_err "$d/t.db"
		expect_err "read-only"
		expect_empty out
		snapshot "$d.after" $d/t.db
		expect_same "$d.before" "$d.after"
	done
fi

case_ "exit 2: an unreadable roster is named (as nobody)"
if nobody_can; then
	mkdir -p own
	chmod 777 own
	run_nobody -d own/t.db course add OPEN --capacity 5
	expect_rc 0
	cp "$DATA/rosters/good.csv" secret.csv
	chmod 600 secret.csv
	run_nobody -d own/t.db register secret.csv
	expect_rc 2
	expect_err "secret.csv"
	[ "$(sql own/t.db 'SELECT count(*) FROM batches')" = 0 ] || fail "a batch was recorded"
else
	echo "  (skipped: needs root to run bulkreg as nobody)"
fi

# ---- 128+N ---------------------------------------------------------------------

case_ "exit 143: SIGTERM while reading standard input rolls everything back"
snapshot before.state
mkfifo roster.fifo
"$BULKREG" -d $db register - <roster.fifo >out 2>err &
pid=$!
exec 7>roster.fifo
# More than a pipe holds: when this write returns, bulkreg is reading rows.
awk 'BEGIN { print "student_id,email,course"
	for (i = 1; i <= 20000; i++) printf "K%d,k%d@uni.example,OPEN\n", i, i }' >&7
kill -TERM $pid
# The roster stays open until bulkreg has gone: with no end of input it
# cannot commit, so only the signal can end it (closing first let a slow
# signal thread lose the race to the end of input and the commit).
wait $pid
RC=$?
exec 7>&-
expect_refused 143 "interrupted"
