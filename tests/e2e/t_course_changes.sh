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

case_ "the same on the store under test (PostgreSQL's URI is no file: review 13, A3)"
d=$(new_db cc)
run -d "$d" course add Q1 --capacity 3
expect_rc 0
run -d "$d" course add Q1 --title "Calculus I"
expect_rc 0
expect_err "course Q1 updated: title '' -> 'Calculus I'"
run -d "$d" course add Q1 --waitlist 5
expect_rc 0
run -d "$d" course list --format csv
expect_out "Q1,Calculus I,3,5,"
run -d "$d" course add Q2 --title Other
expect_rc 2
expect_err "--capacity N is required for a new course"
run -d "$d" course list --format csv
expect_no_out "Q2"

case_ "course import --dry-run names whom a capacity raise would promote, and writes nothing"
printf 'code,title,capacity,waitlist\nM1,Math,1,5\nM2,Art,1,5\n' >p1.csv
printf 'student_id,first_name,last_name,email,course\nS1,A,B,a@x.org,M1\nS2,C,D,c@x.org,M1\nS3,E,F,e@x.org,M1\nS4,G,H,g@x.org,M1\nS5,I,J,i@x.org,M2\nS6,K,L,k@x.org,M2\n' >p.csv
run -d p.db course import p1.csv
expect_rc 0
run -d p.db register p.csv -o rep.csv
expect_rc 0
dump p.db before.state
sql p.db "SELECT count(*) FROM batches" >before.batches
printf 'code,title,capacity,waitlist\nM1,Math,3,5\nM2,Art,1,5\n' >p2.csv
run -d p.db course import p2.csv --dry-run
expect_rc 0
expect_err "bulkreg: M1: S2 would be promoted from the waitlist"
expect_err "bulkreg: M1: S3 would be promoted from the waitlist"
! grep -q "S4\|S6" err || fail "a dry run names a student who stays waitlisted: $(cat err)"
expect_err "dry run: would import 2 courses from p2.csv: 0 created, 1 updated, 1 unchanged, 2 students promoted; nothing written"
! grep -q "batch [0-9]" err || fail "a dry run names a batch: $(cat err)"
dump p.db after.state
expect_same before.state after.state
sql p.db "SELECT count(*) FROM batches" >after.batches
expect_same before.batches after.batches
run -d p.db course import p2.csv
expect_rc 0
expect_err "bulkreg: M1: S2 promoted from the waitlist"
expect_err "bulkreg: M1: S3 promoted from the waitlist"
expect_err "imported 2 courses from p2.csv: 0 created, 1 updated, 1 unchanged"

case_ "a listing of a database read-only to its user says why it cannot be read"
# (SQLite: a file; as root, run as nobody, who may read it and not write.)
if [ "$STORE" = sqlite ] && [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	# (The test's own directory may be closed to others.)
	ro=$(mktemp -d /tmp/bulkreg-ro.XXXXXX) || fail "mktemp"
	cp p.db "$ro/p.db" && chmod 755 "$ro" && chmod 644 "$ro/p.db"
	su nobody -s /bin/sh -c "$BULKREG -d $ro/p.db course list" >out 2>err
	RC=$?
	rm -rf "$ro"
	expect_rc 3
	expect_err "/p.db: cannot read: it opened read-only, and bulkreg needs write access to the file and its directory even to read it"
fi

case_ "course import says what it ignores: --capacity beside a capacity column, a file with no course"
run -d w.db course import c1.csv --capacity 4 --waitlist 2 --dry-run
expect_rc 0
expect_err "warning: c1.csv has a capacity column: --capacity and --waitlist are ignored (each course takes the file's)"
run -d w.db course import c1.csv --capacity 4 --dry-run
expect_err "warning: c1.csv has a capacity column: --capacity is ignored"
printf 'code,title,capacity\n' >h.csv
run -d w.db course import h.csv
expect_rc 0
expect_err "warning: h.csv has a header and no course: nothing to import"
run -d w.db course import c1.csv --dry-run
! grep -q warning err || fail "a plain import warns: $(cat err)"

case_ "course import --dry-run refuses what the real run refuses (a waitlist shorter than those waiting), and says a capacity of 0 plainly"
run -d p.db course list
printf 'code,title,capacity,waitlist\nM1,Math,3,0\n' >short.csv
dump p.db before.state
run -d p.db course import short.csv --dry-run
expect_rc 2
expect_err "short.csv: line 2: course M1: a waitlist of 0 is shorter than the"
run -d p.db course import short.csv
expect_rc 2
dump p.db after.state
expect_same before.state after.state
printf 'code,title,capacity,waitlist\nM1,Math,0,5\n' >zero.csv
run -d p.db course import zero.csv --dry-run
expect_rc 0
# A dry run says what would be (review 18, C3 d).
expect_err "would be registered over its capacity of 0 (everyone would keep their seat; no one is promoted while the capacity is 0)"
run -d p.db course import zero.csv
expect_rc 0
expect_err "registered over its capacity of 0 (everyone keeps their seat; no one is promoted while the capacity is 0)"

case_ "course add/import --wait is the wait, not --waitlist (getopt's abbreviation took it: review 15, C2)"
w=$(new_db wt)
run -d "$w" course add W1 --capacity 1 --wait 60
expect_rc 0
expect_err "course W1 created (capacity 1, waitlist unlimited)"
printf 'code,title,capacity\nW2,Two,3\n' >w.csv
run -d "$w" course import w.csv --wait 5
expect_rc 0
run -d "$w" course list --format csv
expect_out "W1,,1,,"
expect_out "W2,Two,3,,"
run -d "$w" course add W1 --wait soon
expect_rc 2
expect_err "--wait: 'soon' is not a number of seconds"

case_ "the over-capacity warning comes with a change to that course only; counts have separators (review 23 F05)"
db5=$(new_db overcap)
"$BULKREG" -q -d "$db5" course add A --capacity 2 || fail "setup"
printf 'student_id,email,course\nX,x@x.org,A\nY,y@y.org,A\n' >oc.csv
"$BULKREG" -q -d "$db5" register oc.csv || fail "setup"
run -d "$db5" course add A --capacity 1
expect_rc 0
expect_err "warning: A: 1 registered over its capacity of 1 (everyone keeps their seat; no one is promoted until a seat is free)"
run -d "$db5" course add B --capacity 1500
expect_rc 0
! grep -q "warning: A:" err || fail "a change to B warns about A: $(cat err)"
expect_err "course B created (capacity 1,500, waitlist unlimited)"
printf 'code,title,capacity,waitlist\nB,Bee,1400,2000\n' >oc-courses.csv
run -d "$db5" course import oc-courses.csv -v
expect_rc 0
! grep -q "warning: A:" err || fail "an import of B warns about A: $(cat err)"
expect_err "capacity 1,500 -> 1,400, waitlist unlimited -> 2,000"
