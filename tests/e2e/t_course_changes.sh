# t_course_changes: course changes are said, not silent (issue 13, defect
# 10).  `course import` counts created, updated and unchanged courses and,
# with -v, lists what changed in each; `course add CODE --title T` changes
# an existing course's title alone; a new course still needs --capacity.

course() { sql t.db "SELECT capacity, coalesce(waitlist_max, 'unlimited'), title FROM courses WHERE code = '$1'"; }

cat >c1.csv <<'CSV'
code,title,capacity,waitlist
MATH101,Calculus I,30,10
MATH102,Calculus II,30,
ART105,Drawing,20,5
CSV
cat >c2.csv <<'CSV'
code,title,capacity,waitlist
MATH101,Calculus I,35,10
MATH102,Calculus II,30,
ART105,Drawing and Painting,20,0
CS101,Programming,40,5
CS102,Data Structures,40,5
PHYS101,Mechanics,25,
CSV

case_ "course import counts what it created"
run -d t.db course import c1.csv
expect_rc 0
expect_err "bulkreg: imported 3 courses from c1.csv: 3 created, 0 updated, 0 unchanged"

case_ "created, updated and unchanged in one import"
run -d t.db course import c2.csv
expect_rc 0
expect_err "bulkreg: imported 6 courses from c2.csv: 3 created, 2 updated, 1 unchanged"
[ "$(course MATH101)" = "35|10|Calculus I" ] || fail "MATH101: $(course MATH101)"

case_ "-v lists each change: capacity, waitlist, title, and what was created"
run -d t.db course import c1.csv -v
expect_rc 0
expect_err "bulkreg: MATH101: capacity 35 -> 30"
expect_err "bulkreg: ART105: waitlist 0 -> 5, title 'Drawing and Painting' -> 'Drawing'"
expect_no_out "MATH102"
! grep -q "MATH102" err || fail "an unchanged course is listed: $(cat err)"
expect_err "imported 3 courses from c1.csv: 0 created, 2 updated, 1 unchanged"
printf 'code,title,capacity\nNEW1,New One,7\n' >c3.csv
run -d t.db course import c3.csv --verbose --dry-run
expect_rc 0
expect_err "bulkreg: NEW1: created (capacity 7, waitlist unlimited, title 'New One')"
expect_err "dry run: would import 1 course from c3.csv: 1 created, 0 updated, 0 unchanged; nothing written"
[ -z "$(course NEW1)" ] || fail "a dry run wrote NEW1"

case_ "without -v the changes are not listed"
run -d t.db course import c2.csv
expect_rc 0
! grep -q "capacity 30 -> 35" err || fail "listed without -v: $(cat err)"

case_ "course add --title on an existing course needs no --capacity and changes only the title"
run -d t.db course add MATH101 --title "Calculus One"
expect_rc 0
expect_err "course MATH101 updated: title 'Calculus I' -> 'Calculus One'"
[ "$(course MATH101)" = "35|10|Calculus One" ] || fail "MATH101: $(course MATH101)"
run -d t.db course add MATH101 --waitlist unlimited
expect_rc 0
[ "$(course MATH101)" = "35|unlimited|Calculus One" ] || fail "MATH101: $(course MATH101)"
run -d t.db course add MATH101 --capacity 35
expect_rc 0
expect_err "course MATH101 unchanged"

case_ "course add of a new course without --capacity: exit 2, nothing created"
run -d t.db course add BIO1 --title Biology
expect_rc 2
expect_err "--capacity N is required for a new course"
[ -z "$(course BIO1)" ] || fail "BIO1 was created"
run -d none.db course add BIO1 --title Biology
expect_rc 2
[ ! -e none.db ] || fail "none.db was created"
