# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_dry_run_strict: --dry-run and --strict (with a rejected row) leave
# courses, students and registrations exactly as they were; the report says
# nothing was committed; only the batch history gains a row (dry_run or
# rolled_back).

db=$(new_db t)
roster=$DATA/rosters/outcomes.csv

# last_batch: "outcome rows registered waitlisted already_registered
# already_waitlisted rejected label" of the newest batch, from `batches`.
last_batch() {
	"$BULKREG" -d $db batches --format csv >batches.csv || fail "batches"
	sqlite3 -separator ' ' :memory: ".import --csv batches.csv b" \
		"SELECT outcome, rows, registered, waitlisted, already_registered,
		 already_waitlisted, rejected, coalesce(nullif(label, ''), '-')
		 FROM b ORDER BY id + 0 DESC LIMIT 1"
}

expect_last_batch() {
	_got=$(last_batch)
	[ "$_got" = "$1" ] || fail "last batch:
  got:  $_got
  want: $1"
}

nbatches() { sql $db "SELECT count(*) FROM batches"; }

# status_in CODE ID: "status" or "status:position" of student ID in course
# CODE, from `bulkreg roster CODE --format csv`; empty if not there.  (The
# listing, not the tables: the schema is bulkreg's own business.)
status_in() {
	"$BULKREG" -d "$db" roster "$1" --format csv >status_in.csv || fail "roster $1"
	sqlite3 :memory: ".import --csv status_in.csv r" \
		"SELECT status || CASE WHEN position <> '' THEN ':' || position ELSE '' END
		 FROM r WHERE student_id = '$2'"
}

case_ "setup: courses and an earlier batch"
run -d $db course import "$DATA/courses/outcomes.csv"
expect_rc 0
run -d $db register "$DATA/rosters/enrolled.csv"
expect_rc 0
dump $db before.dump

case_ "--dry-run: the report is written, exit 1 for the rejected rows"
run -d $db register "$roster" --dry-run --label "trying it"
expect_rc 1
expect_out "dry run"
expect_out "nothing was committed"
expect_no_out "committed:"
expect_out "course_full"

case_ "--dry-run: courses, students and registrations are exactly as before"
dump $db after.dump
expect_same before.dump after.dump

case_ "--dry-run: the batch history gains a dry_run row with the counts and label"
[ "$(nbatches)" = 2 ] || fail "$(nbatches) batches"
expect_last_batch "dry_run 25 4 3 1 1 16 trying it"

case_ "--dry-run: the csv report is what the real run then reports"
run -d $db register "$roster" --dry-run --format csv
expect_rc 1
cp out dry.csv
dump $db after.dump
expect_same before.dump after.dump
run -d $db register "$roster" --format csv
expect_rc 1
expect_same dry.csv out
expect_last_batch "committed 25 4 3 1 1 16 -"
dump $db committed.dump

case_ "--dry-run with every row succeeding: exit 0, still nothing committed"
printf 'student_id,first_name,email,course\nD1,Dee,d1@uni.example,OPEN\nN1,Renamed,n1@new.example,OPEN\n' >ok.csv
run -d $db register ok.csv --dry-run
expect_rc 0
expect_out "nothing was committed"
dump $db after.dump
expect_same committed.dump after.dump
expect_last_batch "dry_run 2 1 0 1 0 0 -"

case_ "--dry-run json and csv say so: outcome dry_run"
run -d $db register ok.csv --dry-run --format json
expect_rc 0
expect_out '"outcome": "dry_run"'
dump $db after.dump
expect_same committed.dump after.dump

case_ "--dry-run does not update a known student's names"
[ "$(sql $db "SELECT first_name || ' ' || email FROM students WHERE student_id = 'N1'")" = "Nia n1@uni.example" ] ||
	fail "N1 changed"

case_ "--dry-run -q with text: nothing printed when every row succeeded"
run -q -d $db register ok.csv --dry-run
expect_rc 0
expect_empty out
expect_empty err
expect_last_batch "dry_run 2 1 0 1 0 0 -"

case_ "--dry-run from standard input"
run_in ok.csv -d $db register - --dry-run --format csv
expect_rc 0
expect_out "2,D1,OPEN,registered,,,"
dump $db after.dump
expect_same committed.dump after.dump

case_ "--strict with a rejected row: rolled back, exit 1"
printf 'student_id,first_name,email,course\nS1,Sam,s1@uni.example,OPEN\nS2,Sue,,OPEN\nN1,Changed,n1@changed.example,OPEN\n' >strict.csv
n=$(nbatches)
run -d $db register strict.csv --strict --label "strict one"
expect_rc 1
expect_out "rolled back"
expect_out "nothing was committed"
expect_out "missing_email"
dump $db after.dump
expect_same committed.dump after.dump
[ "$(nbatches)" = $((n + 1)) ] || fail "the batch history did not gain one row"
expect_last_batch "rolled_back 3 1 0 1 0 1 strict one"

case_ "--strict: the json report's outcome is rolled_back; the csv still lists every row"
run -d $db register strict.csv --strict --format json
expect_rc 1
expect_out '"outcome": "rolled_back"'
run -d $db register strict.csv --strict --format csv
expect_rc 1
[ "$(wc -l <out)" = 4 ] || fail "csv report: $(cat out)"
expect_out "2,S1,OPEN,registered,,,"
expect_out "3,S2,OPEN,rejected,,missing_email,"
dump $db after.dump
expect_same committed.dump after.dump

case_ "--strict with a row rejected last, after thousands of good rows"
awk 'BEGIN { print "student_id,email,course"
	for (i = 1; i <= 3000; i++) printf "T%d,t%d@uni.example,OPEN\n", i, i
	print "T0,,OPEN" }' >late.csv
run -d $db register late.csv --strict --format csv --workers 4
expect_rc 1
dump $db after.dump
expect_same committed.dump after.dump
expect_last_batch "rolled_back 3001 98 2902 0 0 1 -"

case_ "--strict -q with text still prints the report: a row was rejected"
run -q -d $db register strict.csv --strict
expect_rc 1
expect_out "missing_email"
expect_out "rolled back"

case_ "--strict with no rejected row commits, exit 0"
printf 'student_id,first_name,email,course\nS1,Sam,s1@uni.example,OPEN\n' >strict_ok.csv
run -d $db register strict_ok.csv --strict
expect_rc 0
expect_out "committed"
expect_last_batch "committed 1 1 0 0 0 0 -"
[ "$(status_in OPEN S1)" = registered ] ||
	fail "S1 was not registered"

case_ "--strict --dry-run: nothing committed either way"
dump $db before.dump
run -d $db register strict.csv --strict --dry-run
expect_rc 1
expect_out "nothing was committed"
dump $db after.dump
expect_same before.dump after.dump
got=$(last_batch)
case $got in dry_run*|rolled_back*) ;; *) fail "last batch: $got" ;; esac
printf 'student_id,first_name,email,course\nS9,Sy,s9@uni.example,OPEN\n' >one.csv
run -d $db register one.csv --strict --dry-run
expect_rc 0
dump $db after.dump
expect_same before.dump after.dump
expect_last_batch "dry_run 1 1 0 0 0 0 -"

case_ "the batch history lists every run, with its outcome, in order"
run -d $db batches --format csv
expect_rc 0
got=$(sqlite3 :memory: ".import --csv out b" "SELECT group_concat(outcome, ' ') FROM (SELECT outcome FROM b ORDER BY id + 0)")
want="committed dry_run dry_run committed dry_run dry_run dry_run dry_run rolled_back rolled_back rolled_back rolled_back rolled_back committed"
case $got in "$want "*) ;; *) fail "outcomes: $got" ;; esac

case_ "--dry-run with a csv or json report on standard output: standard error says nothing was committed; -q: silent (review 19, F05)"
for f in csv json; do
	run -d $db register ok.csv --dry-run --format $f
	expect_rc 0
	expect_err "was a dry run: nothing was committed"
	run -q -d $db register ok.csv --dry-run --format $f
	expect_rc 0
	expect_empty err
done

case_ "a threshold's reason is in the report too, not only on standard error: text, json, html (review 18, C3 f)"
run -d $db register "$roster" --strict -o why.txt
expect_rc 1
grep -q "^Rolled back by --strict: [0-9,]* rows* rejected\.$" why.txt || fail "text: $(head -5 why.txt)"
run -d $db register "$roster" --strict --format json -o why.json
expect_rc 1
python3 -c '
import json, sys
j = json.load(open("why.json"))
assert j["outcome"] == "rolled_back" and j["rolled_back_why"].startswith("--strict: "), j["rolled_back_why"]
' || fail "json: $(head -c 400 why.json)"
run -d $db register "$roster" --strict --format html -o why.html
expect_rc 1
grep -q "Rolled back by</dt><dd>--strict: " why.html || fail "html"
run -d $db register "$roster" --max-rejects 0 --dry-run -o whyd.txt
expect_rc 1
grep -q "^A real run would be rolled back: --max-rejects 0: " whyd.txt || fail "dry run: $(head -5 whyd.txt)"
run -d $db register ok.csv --format json -o fine.json
python3 -c '
import json
assert json.load(open("fine.json"))["rolled_back_why"] is None
' || fail "a batch not rolled back has a reason"
