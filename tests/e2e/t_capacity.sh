# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_capacity: seats and waitlists at their boundaries -- capacity 0 and 1,
# exactly full, one over; waitlist 0, a limit, unlimited; positions 1..n;
# raising a capacity promotes the waitlist in order and renumbers it.

db=$(new_db t)

# roster_of N COURSE [FIRST]: a roster of N new students for COURSE, ids
# P<FIRST>.. (FIRST defaults to 1).
roster_of() {
	awk -v n="$1" -v c="$2" -v f="${3:-1}" 'BEGIN {
		print "student_id,email,course"
		for (i = f; i < f + n; i++) printf "P%d,p%d@uni.example,%s\n", i, i, c
	}'
}

# statuses: "status[:position|:reason]" for every row of the csv report in
# ./out, space-separated.
statuses() {
	sqlite3 :memory: ".import --csv out r" \
		"SELECT group_concat(status || CASE WHEN position <> '' THEN ':' || position
		 WHEN reason <> '' THEN ':' || reason ELSE '' END, ' ')
		 FROM (SELECT * FROM r ORDER BY rowid)"
}

# expect_statuses WANT: statuses is WANT.
expect_statuses() {
	_got=$(statuses)
	[ "$_got" = "$1" ] || fail "statuses:
  got:  $_got
  want: $1"
}

# listing CODE: "student status position" of `roster CODE --format csv`,
# space-separated, in listing order.
listing() {
	"$BULKREG" -d $db roster "$1" --format csv >listing.csv || fail "roster $1"
	sqlite3 :memory: ".import --csv listing.csv r" \
		"SELECT group_concat(student_id || ':' || status ||
		 CASE WHEN position <> '' THEN ':' || position ELSE '' END, ' ')
		 FROM (SELECT * FROM r ORDER BY rowid)"
}

expect_listing() {
	_got=$(listing "$1")
	[ "$_got" = "$2" ] || fail "roster $1:
  got:  $_got
  want: $2"
}

# counts CODE: "capacity waitlist registered waitlisted seats_left" from
# `course list --format csv`.
counts() {
	"$BULKREG" -d $db course list --format csv >list.csv || fail "course list"
	sqlite3 -separator ' ' :memory: ".import --csv list.csv r" \
		"SELECT capacity, coalesce(nullif(waitlist, ''), 'unlimited'),
		 registered, waitlisted, seats_left FROM r WHERE code = '$1'"
}

expect_counts() {
	_got=$(counts "$1")
	[ "$_got" = "$2" ] || fail "course list, $1:
  got:  $_got
  want: $2"
}

case_ "capacity 0 and no waitlist: the first row is course_full"
run -d $db course add Z0 --capacity 0 --waitlist 0
expect_rc 0
roster_of 2 Z0 >r.csv
run -d $db register r.csv --format csv
expect_rc 1
expect_statuses "rejected:course_full rejected:course_full"
expect_counts Z0 "0 0 0 0 0"

case_ "capacity 0 and an unlimited waitlist: everyone waitlisted, positions 1..n"
run -d $db course add ZW --capacity 0
expect_rc 0
roster_of 300 ZW 100 >r.csv
run -d $db register r.csv --format csv
expect_rc 0
got=$(sqlite3 :memory: ".import --csv out r" \
	"SELECT count(*), min(position + 0), max(position + 0), count(DISTINCT position),
	 sum(status = 'waitlisted'), sum(position + 0 = rowid) FROM r")
[ "$got" = "300|1|300|300|300|300" ] || fail "waitlist positions: $got"
expect_counts ZW "0 unlimited 0 300 0"

case_ "capacity 0 and a waitlist of 1: one waitlisted, then course_full"
run -d $db course add Z1 --capacity 0 --waitlist 1
expect_rc 0
roster_of 2 Z1 >r.csv
run -d $db register r.csv --format csv
expect_rc 1
expect_statuses "waitlisted:1 rejected:course_full"

case_ "capacity 1: one registered, the next waitlisted, then full"
run -d $db course add C1 --capacity 1 --waitlist 1
expect_rc 0
roster_of 3 C1 >r.csv
run -d $db register r.csv --format csv
expect_rc 1
expect_statuses "registered waitlisted:1 rejected:course_full"
expect_counts C1 "1 1 1 1 0"

case_ "exactly full: every row registered, exit 0, no seat left"
run -d $db course add F3 --capacity 3 --waitlist 0
expect_rc 0
roster_of 3 F3 >r.csv
run -d $db register r.csv --format csv
expect_rc 0
expect_statuses "registered registered registered"
expect_counts F3 "3 0 3 0 0"

case_ "one over, no waitlist: the last row is course_full, exit 1"
run -d $db course add O3 --capacity 3 --waitlist 0
expect_rc 0
roster_of 4 O3 >r.csv
run -d $db register r.csv --format csv
expect_rc 1
expect_statuses "registered registered registered rejected:course_full"
expect_counts O3 "3 0 3 0 0"

case_ "one over, with a waitlist: the last row is waitlisted at 1"
run -d $db course add W3 --capacity 3 --waitlist 2
expect_rc 0
roster_of 4 W3 >r.csv
run -d $db register r.csv --format csv
expect_rc 0
expect_statuses "registered registered registered waitlisted:1"

case_ "seats carry over between batches: exactly full, then one over"
run -d $db course add B4 --capacity 4 --waitlist 1
expect_rc 0
roster_of 3 B4 1 >r.csv
run -d $db register r.csv --format csv
expect_rc 0
expect_statuses "registered registered registered"
roster_of 3 B4 4 >r.csv
run -d $db register r.csv --format csv
expect_rc 1
expect_statuses "registered waitlisted:1 rejected:course_full"
expect_counts B4 "4 1 4 1 0"

case_ "the roster lists registered students in seat order, then the waitlist"
expect_listing B4 "P1:registered P2:registered P3:registered P4:registered P5:waitlisted:1"

case_ "a waitlist limit is reached exactly: positions 1..n, then course_full"
run -d $db course add WL --capacity 2 --waitlist 3
expect_rc 0
roster_of 6 WL 10 >r.csv
run -d $db register r.csv --format csv
expect_rc 1
expect_statuses "registered registered waitlisted:1 waitlisted:2 waitlisted:3 rejected:course_full"
expect_listing WL "P10:registered P11:registered P12:waitlisted:1 P13:waitlisted:2 P14:waitlisted:3"

case_ "a dry run takes no seat"
roster_of 1 B4 50 >r.csv
run -d $db course add B5 --capacity 1 --waitlist 0
expect_rc 0
roster_of 1 B5 50 >r.csv
run -d $db register r.csv --format csv --dry-run
expect_rc 0
expect_statuses "registered"
roster_of 1 B5 51 >r.csv
run -d $db register r.csv --format csv
expect_rc 0
expect_statuses "registered"

case_ "raising the capacity promotes the waitlist in order and renumbers it"
run -d $db course add RP --capacity 1
expect_rc 0
roster_of 5 RP 20 >r.csv
run -d $db register r.csv --format csv
expect_rc 0
expect_statuses "registered waitlisted:1 waitlisted:2 waitlisted:3 waitlisted:4"
run -d $db course add RP --capacity 3
expect_rc 0
expect_listing RP "P20:registered P21:registered P22:registered P23:waitlisted:1 P24:waitlisted:2"
expect_counts RP "3 unlimited 3 2 0"

case_ "after a promotion, re-running reports the new positions and statuses"
run -d $db register r.csv --format csv
expect_rc 0
expect_statuses "already_registered already_registered already_registered already_waitlisted:1 already_waitlisted:2"

case_ "after a promotion, a new student joins the end of the renumbered waitlist"
roster_of 1 RP 30 >r.csv
run -d $db register r.csv --format csv
expect_rc 0
expect_statuses "waitlisted:3"
expect_listing RP "P20:registered P21:registered P22:registered P23:waitlisted:1 P24:waitlisted:2 P30:waitlisted:3"

case_ "raising the capacity past the waitlist promotes everyone"
run -d $db course add RP --capacity 10
expect_rc 0
expect_listing RP "P20:registered P21:registered P22:registered P23:registered P24:registered P30:registered"
expect_counts RP "10 unlimited 6 0 4"
roster_of 1 RP 31 >r.csv
run -d $db register r.csv --format csv
expect_rc 0
expect_statuses "registered"

case_ "the registrations keep the batch and line that registered them"
run -d $db roster RP --format csv
expect_rc 0
expect_out "P23,,,p23@uni.example,registered,,"
got=$(sqlite3 :memory: ".import --csv out r" "SELECT batch || ':' || line FROM r WHERE student_id = 'P24'")
first_batch=$(sqlite3 :memory: ".import --csv out r" "SELECT batch FROM r WHERE student_id = 'P20'")
[ "$got" = "$first_batch:6" ] || fail "P24 is at $got, expected $first_batch:6"
last_batch=$(sqlite3 :memory: ".import --csv out r" "SELECT batch FROM r WHERE student_id = 'P31'")
[ "$first_batch" -lt "$last_batch" ] || fail "P20 in batch $first_batch, P31 in batch $last_batch"

case_ "course import raising a capacity promotes too"
run -d $db course add IM --capacity 0 --waitlist 5
expect_rc 0
roster_of 3 IM 40 >r.csv
run -d $db register r.csv --format csv
expect_rc 0
printf 'code,title,capacity,waitlist\nIM,Imported,1,5\n' >courses.csv
run -d $db course import courses.csv
expect_rc 0
expect_listing IM "P40:registered P41:waitlisted:1 P42:waitlisted:2"

case_ "course add without --waitlist keeps the waitlist limit"
run -d $db course add IM --capacity 1 --title "Renamed"
expect_rc 0
expect_counts IM "1 5 1 2 0"

case_ "raising the waitlist limit makes room on the waitlist"
run -d $db course add C1 --capacity 1 --waitlist 2
expect_rc 0
roster_of 1 C1 60 >r.csv
run -d $db register r.csv --format csv
expect_rc 0
expect_statuses "waitlisted:2"

case_ "a waitlist can be set on an existing course as long as the students waiting, not shorter; and unlimited"
run -d $db course add C1 --capacity 1 --waitlist 0
expect_rc 2
expect_err "shorter than the 2 students waiting"
run -d $db course add C1 --capacity 1 --waitlist 2
expect_rc 0
roster_of 1 C1 61 >r.csv
run -d $db register r.csv --format csv
expect_rc 1
expect_statuses "rejected:course_full"
run -d $db course add C1 --capacity 1 --waitlist unlimited
expect_rc 0
run -d $db register r.csv --format csv
expect_rc 0
expect_statuses "waitlisted:3"

case_ "lowering the capacity removes no one; seats left is never negative"
run -d $db course add F3 --capacity 1 --waitlist 1
expect_rc 0
expect_counts F3 "1 1 3 0 0"
expect_listing F3 "P1:registered P2:registered P3:registered"
roster_of 1 F3 70 >r.csv
run -d $db register r.csv --format csv
expect_rc 0
expect_statuses "waitlisted:1"

case_ "capacity bounds: 0..1000000"
run -d $db course add BIG --capacity 1000000
expect_rc 0
run -d $db course add BIG2 --capacity 1000001
expect_rc 2
expect_err "--capacity"
run -d $db course add BIG2 --capacity -1
expect_rc 2
run -d $db course add BIG2 --capacity x
expect_rc 2
run -d $db course add BIG2
expect_rc 2
expect_err "--capacity"
run -d $db course add BIG2 --capacity 1 --waitlist -1
expect_rc 2
expect_err "--waitlist"
[ "$(sql $db "SELECT count(*) FROM courses WHERE code = 'BIG2'")" = 0 ] || fail "BIG2 was created"
expect_counts BIG "1000000 unlimited 0 0 1000000"

case_ "course codes: 255 bytes pass, 256 and control or invisible characters are refused; -- before a code that starts with '-'"
c255=$(awk 'BEGIN { while (n++ < 255) printf "C" }')
run -d $db course add "$c255" --capacity 1
expect_rc 0
run -d $db course add "${c255}C" --capacity 1
expect_rc 2
run -d $db course add "$(printf 'BAD\tCODE')" --capacity 1
expect_rc 2
run -d $db course add "$(printf 'OPEN\342\200\213')" --capacity 1
expect_rc 2
expect_err "is not valid"
run -d $db course add " LEAD" --capacity 1
expect_rc 2
run -d $db course add "a.b_c-9" --capacity 1
expect_rc 0
run -d $db course add "Phys 100 - 1" --capacity 1
expect_rc 0
run -d $db course add "8f14e45f-ceea-467f-a8f2-7b1d0c3e9a12" --capacity 1
expect_rc 0
run -d $db course add --capacity 3 -- -X1
expect_rc 0
run -d $db roster -- -X1
expect_rc 0
run -d $db course list --format csv
expect_out "Phys 100 - 1"
expect_out "-X1"

case_ "concurrent runs on one database wait for each other; no seat is sold twice"
run -d $db course add RACE --capacity 500 --waitlist 100
expect_rc 0
pids=""
for k in 1 2 3 4; do
	awk -v k=$k 'BEGIN { print "student_id,email,course"
		for (i = 1; i <= 300; i++) printf "R%dS%d,r%d.%d@uni.example,RACE\n", k, i, k, i }' >race$k.csv
	"$BULKREG" -d $db register race$k.csv --format csv --workers 3 >race$k.out 2>race$k.err &
	pids="$pids $!"
done
k=0
for pid in $pids; do
	k=$((k + 1))
	wait "$pid"
	rc=$?
	[ $rc -le 1 ] || fail "run $k: exit $rc: $(cat race$k.err)"
	[ ! -s race$k.err ] || fail "run $k: $(cat race$k.err)"
done
cat race1.out race2.out race3.out race4.out >out.all
[ "$(grep -c ',registered,' out.all)" = 500 ] || fail "registered: $(grep -c ',registered,' out.all)"
[ "$(grep -c ',waitlisted,' out.all)" = 100 ] || fail "waitlisted: $(grep -c ',waitlisted,' out.all)"
[ "$(grep -c ',course_full,' out.all)" = 600 ] || fail "course_full: $(grep -c ',course_full,' out.all)"
expect_counts RACE "500 100 500 100 0"
"$BULKREG" -d $db roster RACE --format csv >listing.csv || fail "roster RACE"
got=$(sqlite3 :memory: ".import --csv listing.csv r" \
	"SELECT count(*), count(DISTINCT student_id), sum(status = 'waitlisted'),
	 count(DISTINCT CASE WHEN status = 'waitlisted' THEN position END),
	 min(CASE WHEN status = 'waitlisted' THEN position + 0 END),
	 max(CASE WHEN status = 'waitlisted' THEN position + 0 END) FROM r")
[ "$got" = "600|600|100|100|1|100" ] || fail "roster RACE: $got"
[ "$(sql $db "SELECT count(*) FROM batches WHERE source LIKE 'race%' AND outcome = 'committed'")" = 4 ] ||
	fail "not four committed batches"
