# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_rerun: running the same roster again changes nothing but the batch
# history; every row that succeeded is already_registered/already_waitlisted
# (same position), every rejected row keeps its reason.

db=$(new_db t)
roster=$DATA/rosters/outcomes.csv

# compare A B: "line status1 status2 position1 position2 reason1 reason2"
# for every line of two csv reports of the same roster, on stdout.
compare() {
	sqlite3 -separator ' ' :memory: ".import --csv $1 a" ".import --csv $2 b" \
		"SELECT a.line, a.status, coalesce(b.status, 'MISSING'),
		 coalesce(nullif(a.position, ''), '-'), coalesce(nullif(b.position, ''), '-'),
		 coalesce(nullif(a.reason, ''), '-'), coalesce(nullif(b.reason, ''), '-')
		 FROM a LEFT JOIN b ON b.line = a.line ORDER BY a.rowid"
}

case_ "setup: courses, and a first run of the roster"
run -d $db course import "$DATA/courses/outcomes.csv"
expect_rc 0
run -d $db register "$roster" --format csv
expect_rc 1
cp out first.csv
dump $db first.dump

case_ "the second run: exit 1 again (its rejected rows are still rejected)"
run -d $db register "$roster" --format csv
expect_rc 1
cp out second.csv
[ "$(wc -l <first.csv)" = "$(wc -l <second.csv)" ] || fail "the reports differ in length"

case_ "every row that succeeded is already_* the second time, same position"
compare first.csv second.csv >pairs
awk '
	$2 == "registered" || $2 == "already_registered" {
		if ($3 != "already_registered" || $5 != "-") bad = bad "\n" $0
	}
	$2 == "waitlisted" || $2 == "already_waitlisted" {
		if ($3 != "already_waitlisted" || $5 != $4) bad = bad "\n" $0
	}
	END { if (bad != "") { print "not already_* the second time:" bad; exit 1 } }
' pairs || fail "$(awk '$2 != "rejected"' pairs | head -20)"
grep -q " registered already_registered " pairs || fail "no registered row in the roster"
grep -q " waitlisted already_waitlisted " pairs || fail "no waitlisted row in the roster"

case_ "every rejected row keeps its reason (duplicates: see t_zz_known_bugs)"
# A duplicate_in_roster row on a re-run is pinned in t_zz_known_bugs.sh.
awk '$2 == "rejected" && $6 != "duplicate_in_roster" && ($3 != "rejected" || $7 != $6)' \
	pairs >changed
expect_empty changed
n=$(awk '$2 == "rejected" && $6 != "duplicate_in_roster"' pairs | wc -l)
[ "$n" -ge 12 ] || fail "only $n rejected rows compared"

case_ "the details of rejected rows are the same"
sqlite3 :memory: ".import --csv first.csv a" ".import --csv second.csv b" \
	"SELECT a.line, a.detail, b.detail FROM a JOIN b ON b.line = a.line
	 WHERE a.reason <> '' AND a.reason <> 'duplicate_in_roster'
	 AND a.detail IS NOT b.detail" >changed
expect_empty changed

case_ "courses, students and registrations are exactly as after the first run"
dump $db second.dump
expect_same first.dump second.dump

case_ "the batch history has one row per run, both committed"
run -d $db batches --format csv
expect_rc 0
got=$(sqlite3 -separator ' ' :memory: ".import --csv out b" \
	"SELECT id, outcome, rows, registered, waitlisted, already_registered,
	 already_waitlisted, rejected FROM b ORDER BY rowid")
# The counts add up, and the second run registers and waitlists no one.
first=$(echo "$got" | sed -n 1p)
second=$(echo "$got" | sed -n 2p)
[ "$(echo "$got" | wc -l)" = 2 ] || fail "batches:
$got"
# shellcheck disable=SC2086 # split into fields on purpose
set -- $first
[ "$1 $2" = "1 committed" ] || fail "first batch: $first"
[ $(($4 + $5 + $6 + $7 + $8)) = "$3" ] || fail "first batch counts: $first"
f_succeeded=$(($4 + $5 + $6 + $7))
# shellcheck disable=SC2086 # split into fields on purpose
set -- $second
[ "$1 $2" = "2 committed" ] || fail "second batch: $second"
[ "$4 $5" = "0 0" ] || fail "the second run registered or waitlisted someone: $second"
[ $(($4 + $5 + $6 + $7 + $8)) = "$3" ] || fail "second batch counts: $second"
[ $(($6 + $7)) -ge "$f_succeeded" ] || fail "second batch: $second, first: $first"

case_ "a third run, with other workers, is the same as the second"
run -d $db register "$roster" --format csv --workers 7
expect_rc 1
expect_same second.csv out
dump $db third.dump
expect_same first.dump third.dump

case_ "a re-run of a roster where everything succeeded exits 0 and changes nothing"
printf 'student_id,first_name,email,course\nR1,Ray,r1@uni.example,OPEN\nR2,Ria,r2@uni.example,WL2\nR3,Rex,r3@uni.example,WAITONLY\n' >clean.csv
run -d $db register clean.csv --format csv
expect_rc 1 # WL2 is full since the first run
printf 'student_id,first_name,email,course\nR1,Ray,r1@uni.example,OPEN\nR3,Rex,r3@uni.example,WAITONLY\n' >clean.csv
run -d $db register clean.csv --format csv
expect_rc 0
dump $db before.dump
run -d $db register clean.csv --format csv
expect_rc 0
expect_out "2,R1,OPEN,already_registered,,,"
expect_out "3,R3,WAITONLY,already_waitlisted,3,,"
dump $db after.dump
expect_same before.dump after.dump

case_ "a re-run that changes nothing says so plainly: text report, -o line, dry run (review 17, C2)"
run -d $db register clean.csv
expect_rc 0
sed -n 2p out | grep -qx "Nothing changed: 2 rows already there." || fail "text: $(head -3 out)"
run -d $db register clean.csv -o rerun.txt
expect_rc 0
expect_err "committed, nothing changed: 2 rows: 0 registered, 0 waitlisted, 2 already there, 0 rejected; report in rerun.txt"
grep -qx "Nothing changed: 2 rows already there." rerun.txt || fail "rerun.txt: $(head -3 rerun.txt)"
run -d $db register clean.csv --dry-run
expect_rc 0
expect_out "Nothing would change: 2 rows already there."
run -d $db register clean.csv --dry-run --format html
expect_out '<p class="nothing">Nothing would change: 2 rows already there.</p>'
# with a rejected row, still nothing changed; a run that registers does not say it
printf 'student_id,first_name,email,course\nR1,Ray,r1@uni.example,OPEN\nR9,Bad,bad,OPEN\n' >half.csv
run -d $db register half.csv
expect_rc 1
expect_out "Nothing changed: 1 row already there, 1 rejected."
printf 'student_id,first_name,email,course\nR1,Ray,r1@uni.example,OPEN\nR8,New,r8@uni.example,OPEN\n' >new.csv
run -d $db register new.csv -o new.txt --dry-run
expect_rc 0
! grep -q "othing changed" out err new.txt || fail "a run that registered says nothing changed: $(cat err)"

case_ "a re-run with -q and the text format prints nothing when all succeeded"
run -q -d $db register clean.csv
expect_rc 0
expect_empty out
expect_empty err

case_ "a re-run through standard input is the same as from the file"
run_in "$roster" -d $db register - --format csv
expect_rc 1
expect_same second.csv out
dump $db stdin.dump
expect_same after.dump stdin.dump
