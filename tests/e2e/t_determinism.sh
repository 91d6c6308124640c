# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_determinism: the report and the registrations, students and courses are
# identical for any --workers value -- seats go in roster order, whatever
# thread validated a row.

# A roster of a few thousand rows: repeated students (duplicates), courses
# that fill up and waitlists that overflow, students registered by an
# earlier batch, bad rows of every kind, blank lines and quoted fields with
# line breaks (so that line numbers must be tracked across blocks).
awk 'BEGIN {
	print "student_id,first_name,last_name,email,course"
	for (i = 1; i <= 4000; i++) {
		s = (i * 7919) % 1700
		c = (s * 7 + (i > 2500)) % 9
		id = sprintf("S%04d", s)
		k = i % 50
		if (k == 3)       printf "bad\033id %d,F,L,x@uni.example,C%d\n", i, c
		else if (k == 7)  printf "%s,F,L,no-at-sign,C%d\n", id, c
		else if (k == 11) printf "%s,F,L,%s@uni.example,NOPE%d\n", id, id, c
		else if (k == 13) printf "%s,F,L,%s@uni.example,C%d,extra\n", id, id, c
		else if (k == 17) printf "%s,F,L,,C%d\n", id, c
		else if (k == 19) printf "\n"
		else if (k == 23) printf "%s,\"Multi\nLine, Name\",L,%s@uni.example,C%d\n", id, id, c
		else if (k == 29) printf ",F,L,x@uni.example,C%d\n", c
		else if (k == 31) printf "%s,F\007,L,%s@uni.example,C%d\n", id, id, c
		else if (k == 37) printf "%s,F,L,%s@uni.example,\n", id, id
		else              printf "%s,F%d,L%d,%s@uni.example,C%d\n", id, i, i, id, c
	}
}' >big.csv

# The earlier batch: some students already registered or waitlisted.
awk 'BEGIN {
	print "student_id,email,course"
	split("1 3 4 5", course, " ")
	for (s = 0; s < 1700; s += 13)
		printf "S%04d,s%d@old.example,C%d\n", s, s, course[s % 4 + 1]
}' >earlier.csv

# setup DB: the same courses and earlier batch in a fresh database.
setup() {
	printf '%s\n' "code,title,capacity,waitlist" \
		"C0,Closed,0,0" "C1,Waitlist only,0," "C2,Tiny,3,2" \
		"C3,Small,40,10" "C4,Medium,120," "C5,Large,400," \
		"C6,No waitlist,60,0" "C7,Short waitlist,80,5" "C8,Huge,100000," \
		>courses.csv
	run -d "$1" course import courses.csv
	expect_rc 0
	run -d "$1" register earlier.csv --workers 3
	expect_rc 0
}

# listings DB FILE: every course's roster, in csv.
listings() {
	: >"$2"
	for c in C0 C1 C2 C3 C4 C5 C6 C7 C8; do
		"$BULKREG" -d "$1" roster $c --format csv >>"$2" || fail "roster $c"
	done
	"$BULKREG" -d "$1" course list --format csv >>"$2" || fail "course list"
}

case_ "setup: a database per worker count, each with the same history"
for w in 1 2 8 64; do
	setup "$(new_db w$w)"
done

case_ "the csv report is identical for --workers 1, 2, 8 and 64"
for w in 1 2 8 64; do
	run -d "$(db_of w$w)" register big.csv --workers $w --format csv
	expect_rc 1
	cp out report.$w.csv
done
for w in 2 8 64; do
	expect_same report.1.csv report.$w.csv
done

case_ "the report covers every status and many reasons"
for s in registered waitlisted already_registered already_waitlisted rejected; do
	grep -q ",$s," report.1.csv || fail "no row is $s"
done
for r in malformed_row invalid_characters missing_student_id invalid_student_id \
	missing_email invalid_email missing_course unknown_course \
	duplicate_in_roster course_full; do
	grep -q ",$r," report.1.csv || fail "no row is rejected for $r"
done
[ "$(wc -l <report.1.csv)" -gt 3500 ] || fail "too few rows in the report"

case_ "the database dumps are identical for --workers 1, 2, 8 and 64"
for w in 1 2 8 64; do
	dump "$(db_of w$w)" dump.$w
done
for w in 2 8 64; do
	expect_same dump.1 dump.$w
done

case_ "the listings (rosters, course list) are identical"
for w in 1 2 8 64; do
	listings "$(db_of w$w)" listing.$w
done
for w in 2 8 64; do
	expect_same listing.1 listing.$w
done

case_ "the batch records agree on everything but times and ids"
for w in 1 2 8 64; do
	sql "$(db_of w$w)" "SELECT source, sha256, outcome, rows, registered, waitlisted,
		already_registered, already_waitlisted, rejected, reasons
		FROM batches ORDER BY id" >batches.$w
done
for w in 2 8 64; do
	expect_same batches.1 batches.$w
done

# Every database gets the same runs, so that batch ids stay in step.
case_ "the json report is identical but for the timing and worker count"
for w in 1 2 8 64; do
	run -d "$(db_of w$w)" register big.csv --workers $w --format json --dry-run
	expect_rc 1
	grep -v '"elapsed_seconds"' out | sed 's/"batch": [0-9]*/"batch": N/' >json.$w
done
for w in 2 8 64; do
	expect_same json.1 json.$w
done

case_ "the text report is identical but for its headline"
for w in 1 2 8 64; do
	run -d "$(db_of w$w)" register big.csv --workers $w --dry-run
	expect_rc 1
	sed 1,2d out >text.$w
done
for w in 2 8 64; do
	expect_same text.1 text.$w
done

case_ "a second run is identical for every worker count too"
for w in 1 2 8 64; do
	run -d "$(db_of w$w)" register big.csv --workers $w --format csv
	expect_rc 1
	cp out rerun.$w.csv
	dump "$(db_of w$w)" redump.$w
done
for w in 2 8 64; do
	expect_same rerun.1.csv rerun.$w.csv
	expect_same redump.1 redump.$w
done

case_ "standard input gives the same report as the file"
run_in big.csv -d "$(db_of w8)" register - --workers 8 --format csv --dry-run
expect_rc 1
expect_same rerun.1.csv out

# --check: every student's check runs as its own task, finishing in any
# order; the verdicts must still land in roster order, identically.
case_ "with --check (a verdict that depends only on the row), --workers 1 and 64 give the same report and database"
cat >verdict.sh <<'SH'
#!/bin/sh
# Rejects ids ending in 3 or 7 with a reason naming the student and line;
# every 5th line sleeps a little so checks finish out of order.
case $BULKREG_STUDENT_ID in
*3) echo "hold on $BULKREG_STUDENT_ID (line $BULKREG_LINE)"; exit 1 ;;
*7) exit 4 ;;
esac
[ $((BULKREG_LINE % 5)) -ne 0 ] || sleep 0.02
exit 0
SH
chmod +x verdict.sh
head -n 601 big.csv >checked.csv
for w in 1 64; do
	setup "$(new_db c$w)"
	run -d "$(db_of c$w)" register checked.csv --check ./verdict.sh --workers $w --format csv
	expect_rc 1
	cp out checked.$w.csv
	dump "$(db_of c$w)" cdump.$w
done
expect_same checked.1.csv checked.64.csv
expect_same cdump.1 cdump.64
grep -q ',check_failed,hold on S[0-9]*3 (line [0-9]*)$' checked.1.csv || fail "no check_failed detail: $(head checked.1.csv)"
grep -q ',check_failed,exit status 4$' checked.1.csv || fail "no 'exit status 4' detail"
grep -q ',registered,' checked.1.csv || fail "no registered row"
