# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_lifecycle: drop, waitlist promotion, --sync and its thresholds,
# --max-rejects, capacity changes, --update-students: every rule of the
# lifecycle, each alone and then combined.

db=$(new_db t)

# state DB: every pair as "course student status seq", seats then waitlist.
state() {
	sql_sp "$1" "SELECT c.code, r.student_id, r.status, r.seq
		FROM registrations r JOIN courses c ON c.id = r.course_id
		ORDER BY c.code, r.status <> 'registered', r.seq"
}
# counts DB CODE: "registered waitlisted" as the course row says.
counts() {
	sql_sp "$1" "SELECT registered, waitlisted FROM courses WHERE code = '$2'"
}
# rows: the csv report in ./out as "line student course status position reason".
rows() {
	python3 - <<'PY'
import csv
for r in csv.DictReader(open("out", newline="")):
    print(" ".join(x or "-" for x in (r["line"], r["student_id"], r["course"], r["status"], r["position"], r["reason"])))
PY
}
# invariants DB: counters equal the registrations, positions 1..n, no one
# waits while a seat is free.
invariants() {
	bad=$(sql "$1" "
		SELECT code || ': counters' FROM courses c WHERE registered <> (SELECT count(*) FROM registrations
			WHERE course_id = c.id AND status = 'registered')
		  OR waitlisted <> (SELECT count(*) FROM registrations WHERE course_id = c.id AND status = 'waitlisted')
		UNION ALL SELECT code || ': positions' FROM courses c WHERE EXISTS (SELECT 1 FROM (SELECT seq,
			row_number() OVER (ORDER BY seq) AS n FROM registrations WHERE course_id = c.id
			AND status = 'waitlisted') AS w WHERE seq <> n)
		UNION ALL SELECT code || ': waits with a free seat' FROM courses WHERE registered < capacity AND waitlisted > 0")
	[ -z "$bad" ] || fail "invariants broken: $bad"
}

# A course of 2 seats and a waitlist of 3, filled by one roster.
cat >courses.csv <<'EOF'
code,title,capacity,waitlist
M1,Mathematics,2,4
P1,Physics,2,
EOF
cat >fill.csv <<'EOF'
student_id,first_name,last_name,email,course
A,Ann,A,a@x.org,M1
B,Bob,B,b@x.org,M1
C,Cat,C,c@x.org,M1
D,Dan,D,d@x.org,M1
E,Eve,E,e@x.org,M1
A,Ann,A,a@x.org,P1
B,Bob,B,b@x.org,P1
EOF
setup() {
	db=$(new_db t)
	run -d $db course import courses.csv
	expect_rc 0
	run -d $db register fill.csv -q
	expect_rc 0
}

# ---- drop ---------------------------------------------------------------------

case_ "drop: a registered pair is dropped, the first waitlisted takes the seat, positions renumbered"
setup
printf 'student_id,course\nA,M1\n' >d.csv
run -d $db drop d.csv --format csv
expect_rc 0
[ "$(rows)" = "2 A M1 dropped - -
2 C M1 promoted - -" ] || fail "report: $(rows)"
[ "$(state $db | grep '^M1')" = "M1 B registered 2
M1 C registered 3
M1 D waitlisted 1
M1 E waitlisted 2" ] || fail "state: $(state $db)"
[ "$(counts $db M1)" = "2 2" ] || fail "counts $(counts $db M1)"
grep -q 'took the seat of A (dropped on line 2)' out || fail "detail: $(cat out)"
invariants $db

case_ "drop: a waitlisted pair is dropped with its position; the positions behind move up"
setup
printf 'student_id,course\nD,M1\n' >d.csv
run -d $db drop d.csv --format csv
expect_rc 0
[ "$(rows)" = "2 D M1 dropped 2 -" ] || fail "report: $(rows)"
[ "$(state $db | grep '^M1 [A-Z] waitlisted')" = "M1 C waitlisted 1
M1 E waitlisted 2" ] || fail "state: $(state $db)"
invariants $db

case_ "drop: not_registered, duplicate_in_roster, unknown_course; exit 1; email not needed"
setup
printf 'student_id,course\nZ,M1\nA,M1\nA,M1\nA,NOPE\n' >d.csv
run -d $db drop d.csv --format csv
expect_rc 1
[ "$(rows)" = "2 Z M1 rejected - not_registered
3 A M1 dropped - -
3 C M1 promoted - -
4 A M1 rejected - duplicate_in_roster
5 A NOPE rejected - unknown_course" ] || fail "report: $(rows)"
invariants $db

case_ "drop --student ID --course CODE: one pair, no line; unknown course is exit 1"
setup
run -d $db drop --student B --course P1 --format csv
expect_rc 0
[ "$(rows)" = "- B P1 dropped - -" ] || fail "report: $(rows)"
run -d $db drop --student B --course NOPE --format csv
expect_rc 1
[ "$(rows)" = "- B NOPE rejected - unknown_course" ] || fail "report: $(rows)"
run -d $db drop --student B
expect_rc 2
expect_err "--student needs --course"

case_ "drop's summary counts what a drop is about: dropped, promoted, rejected and why (review 17, C1)"
setup
run -d $db drop --student NOPE --course P1
expect_rc 1
for l in dropped promoted rejected; do
	grep -Eq "^  $l +[0-9]+\$" out || fail "no '$l' line: $(head -12 out)"
done
grep -Eq "^    not_registered +1\$" out || fail "no not_registered: $(head -12 out)"
! grep -Eq "^  (registered|waitlisted|already)" out || fail "register's lines in a drop: $(head -12 out)"
expect_out "Nothing changed: 1 row not registered."
run -d $db drop --student NOPE --course P1 -o drop.txt
expect_rc 1
expect_err "committed: 1 row: 0 dropped, 0 promoted, 1 rejected (nothing changed); report in drop.txt"
run -d $db drop --student B --course P1 -o drop.txt
expect_rc 0
expect_err "committed: 1 row: 1 dropped, 0 promoted, 0 rejected; report in drop.txt"
grep -Eq "^  dropped +1\$" drop.txt || fail "drop.txt: $(cat drop.txt)"

case_ "a batch without a roster names the command as its source, as course add does (drop --student, undo)"
setup
run -d $db drop --student B --course P1
expect_rc 0
expect_out "1 row from drop --student B --course P1 in"
b=$(sql $db "SELECT max(id) FROM batches")
[ "$(sql $db "SELECT source FROM batches WHERE id = $b")" = "drop --student B --course P1" ] ||
	fail "source: $(sql $db "SELECT source FROM batches WHERE id = $b")"
run -d $db undo "$b" -q
expect_rc 0
[ "$(sql $db "SELECT source FROM batches ORDER BY id DESC LIMIT 1")" = "undo $b" ] ||
	fail "undo's source: $(sql $db "SELECT source FROM batches ORDER BY id DESC LIMIT 1")"
run -d $db course add "Phys 100" --capacity 2 -q
run -d $db drop --student "O'Neil" --course "Phys 100" --format csv
expect_rc 1
[ "$(sql $db "SELECT source FROM batches ORDER BY id DESC LIMIT 1")" = "drop --student 'O'\\''Neil' --course 'Phys 100'" ] ||
	fail "quoted source: $(sql $db "SELECT source FROM batches ORDER BY id DESC LIMIT 1")"

case_ "drop --dry-run: the report, then nothing changed and no history"
setup
state $db >before
h=$(sql $db "SELECT count(*) FROM history")
printf 'student_id,course\nA,M1\n' >d.csv
run -d $db drop d.csv --dry-run --format csv
expect_rc 0
state $db >after
expect_same before after
[ "$(sql $db "SELECT count(*) FROM history")" = "$h" ] || fail "a dry run recorded history"
[ "$(sql $db "SELECT kind, outcome FROM batches ORDER BY id DESC LIMIT 1")" = "drop|dry_run" ] ||
	fail "batch: $(sql $db "SELECT kind, outcome FROM batches ORDER BY id DESC LIMIT 1")"

case_ "drop then register again in one roster order: the seat goes to the waitlist first"
setup
printf 'student_id,course\nA,M1\nB,M1\n' >d.csv
run -d $db drop d.csv -q
expect_rc 0
[ "$(state $db | grep '^M1')" = "M1 C registered 3
M1 D registered 4
M1 E waitlisted 1" ] || fail "state: $(state $db)"
printf 'student_id,email,course\nA,a@x.org,M1\n' >r.csv
run -d $db register r.csv --format csv
expect_rc 0
[ "$(rows)" = "2 A M1 waitlisted 2 -" ] || fail "report: $(rows)"
invariants $db

# ---- promotions across workers ---------------------------------------------------

case_ "drop: reports and database identical for --workers 1 and 8"
for w in 1 8; do
	setup
	printf 'student_id,course\nA,M1\nD,M1\nB,M1\nB,P1\nA,P1\n' >d.csv
	run -d $db drop d.csv --workers $w --format csv
	expect_rc 0
	sed 's/,[0-9.]*$//' out >report.$w
	state $db >state.$w
done
expect_same report.1 report.8
expect_same state.1 state.8

# ---- --max-rejects -------------------------------------------------------------

case_ "--max-rejects N: more rejected rows roll the batch back (exit 1), N or fewer commit"
setup
printf 'student_id,email,course\nX1,bad,M1\nX2,bad,M1\nX3,x3@x.org,P1\n' >r.csv
state $db >before
run -d $db register r.csv --max-rejects 1
expect_rc 1
expect_err "--max-rejects 1: 2 of 3 rows rejected"
state $db >after
expect_same before after
[ "$(sql $db "SELECT outcome FROM batches ORDER BY id DESC LIMIT 1")" = rolled_back ] || fail "outcome"
run -d $db register r.csv --max-rejects 2 -q
expect_rc 1
[ "$(sql $db "SELECT outcome FROM batches ORDER BY id DESC LIMIT 1")" = committed ] || fail "outcome"

case_ "--max-rejects P%: rejected rows over P% of the rows roll back; exactly P% commits"
setup
printf 'student_id,email,course\nX1,bad,M1\nX2,x2@x.org,P1\nX3,x3@x.org,P1\nX4,x4@x.org,P1\n' >r.csv
run -d $db register r.csv --max-rejects 20% -q
expect_rc 1
[ "$(sql $db "SELECT outcome FROM batches ORDER BY id DESC LIMIT 1")" = rolled_back ] || fail "20%"
run -d $db register r.csv --max-rejects 25% -q
expect_rc 1
[ "$(sql $db "SELECT outcome FROM batches ORDER BY id DESC LIMIT 1")" = committed ] || fail "25%"
run -d $db register r.csv --max-rejects 101%
expect_rc 2

# ---- --sync ---------------------------------------------------------------------

case_ "--sync: pairs no row names are dropped (seats, then waitlist), then seats refilled"
setup
# M1: A B seated, C D E waiting.  The roster keeps B and D, adds F.
printf 'student_id,email,course\nB,b@x.org,M1\nD,d@x.org,M1\nF,f@x.org,M1\n' >s.csv
run -d $db register s.csv --sync --max-drops 100% --format csv
expect_rc 0
[ "$(rows)" = "2 B M1 already_registered - -
3 D M1 already_waitlisted 2 -
4 F M1 waitlisted 4 -
- A M1 dropped - -
- C M1 dropped 1 -
- E M1 dropped 2 -
- D M1 promoted - -" ] || fail "report: $(rows)"
[ "$(state $db | grep '^M1')" = "M1 B registered 2
M1 D registered 3
M1 F waitlisted 1" ] || fail "state: $(state $db)"
grep -q 'took the seat of A (not in the roster)' out || fail "detail: $(cat out)"
# P1 was not named: out of scope, untouched.
[ "$(state $db | grep -c '^P1')" = 2 ] || fail "P1 touched: $(state $db)"
[ "$(sql $db "SELECT kind FROM batches ORDER BY id DESC LIMIT 1")" = sync ] || fail "kind"
invariants $db

case_ "--sync: a rejected row still names its pair (bad email keeps the student)"
setup
printf 'student_id,email,course\nA,not-an-email,M1\nB,b@x.org,M1\nC,c@x.org,M1\nD,d@x.org,M1\nE,e@x.org,M1\n' >s.csv
run -d $db register s.csv --sync --format csv
expect_rc 1
[ "$(sql $db "SELECT count(*) FROM registrations r JOIN courses c ON c.id = r.course_id WHERE c.code = 'M1'")" = 5 ] ||
	fail "a pair was dropped: $(state $db)"

case_ "--sync: default --max-drops 10% rolls back and says per course how many it would drop"
setup
printf 'student_id,email,course\nA,a@x.org,M1\nA,a@x.org,P1\n' >s.csv
state $db >before
run -d $db register s.csv --sync
expect_rc 1
expect_err "--max-drops 10%: the sync would drop 5 of the 7 registrations its courses held (M1 4, P1 1)"
state $db >after
expect_same before after

case_ "--max-drops N is a count, P% a share with no rounding"
setup
printf 'student_id,email,course\nA,a@x.org,M1\nB,b@x.org,M1\nC,c@x.org,M1\nD,d@x.org,M1\n' >s.csv
run -d $db register s.csv --sync --max-drops 0 -q
expect_rc 1
[ "$(sql $db "SELECT outcome FROM batches ORDER BY id DESC LIMIT 1")" = rolled_back ] || fail "0"
run -d $db register s.csv --sync --max-drops 1 -q
expect_rc 0
setup
# 1 drop of the 5 pairs M1 held: 20% is not over 20%.
run -d $db register s.csv --sync --max-drops 20% -q
expect_rc 0
setup
run -d $db register s.csv --sync --max-drops 19.9% -q
expect_rc 1

case_ "--max-drops's message: many courses end in whole entries and 'and N more courses' (review 18, B2)"
mdb=$(new_db manydrops)
{
	echo "code,capacity"
	i=0
	while [ $i -lt 400 ]; do printf 'COURSE-%04d,5\n' $i; i=$((i + 1)); done
} >many.csv
"$BULKREG" -q -d $mdb course import many.csv || fail "import"
{
	echo "student_id,email,course"
	i=0
	while [ $i -lt 400 ]; do printf 'S%d,s%d@x.org,COURSE-%04d\n' $i $i $i; i=$((i + 1)); done
} >all.csv
"$BULKREG" -q -d $mdb register all.csv || fail "register"
printf 'student_id,email,course\n' >empty.csv
run -d $mdb register empty.csv --sync --sync-scope all
expect_rc 1
expect_err "--max-drops 10%: the sync would drop 400 of the 400 registrations its courses held (COURSE-0000 1, COURSE-0001 1, "
grep -q 'COURSE-00[0-9][0-9] 1, and 3[0-9][0-9] more courses (3[0-9][0-9] drops))$' err ||
	fail "the list does not end in whole entries and a count: $(cat err)"
python3 - <<'PY' || fail "the shown and the counted do not add up to 400: $(cat err)"
import re
s = open("err").read()
shown = re.findall(r"COURSE-\d{4} 1", s)
more = re.search(r"and (\d+) more courses \((\d+) drops\)", s)
assert more and len(shown) + int(more.group(1)) == 400 and int(more.group(2)) == int(more.group(1)), (len(shown), more)
PY

case_ "--sync-scope all: a course no row names is emptied; --course puts its course in scope"
setup
printf 'student_id,email,course\nA,a@x.org,M1\nB,b@x.org,M1\nC,c@x.org,M1\nD,d@x.org,M1\nE,e@x.org,M1\n' >s.csv
run -d $db register s.csv --sync --sync-scope all --max-drops 100% -q
expect_rc 0
[ "$(state $db | grep -c '^P1')" = 0 ] || fail "P1 not emptied: $(state $db)"
setup
printf 'student_id,email\nA,a@x.org\n' >s.csv
run -d $db register s.csv --course P1 --sync --max-drops 100% -q
expect_rc 0
[ "$(state $db | grep '^P1')" = "P1 A registered 1" ] || fail "P1: $(state $db)"
[ "$(state $db | grep -c '^M1')" = 5 ] || fail "M1 touched"

case_ "--sync-scope and --max-drops need --sync; drop takes no --sync"
run -d $db register s.csv --max-drops 5
expect_rc 2
expect_err "--max-drops needs --sync"
run -d $db drop s.csv --sync
expect_rc 2

case_ "--sync: same report and database for --workers 1 and 8"
for w in 1 8; do
	setup
	printf 'student_id,email,course\nE,e@x.org,M1\nG,g@x.org,M1\nB,b@x.org,P1\nH,h@x.org,P1\n' >s.csv
	run -d $db register s.csv --sync --max-drops 100% --workers $w --format csv
	expect_rc 0
	sed 's/,[0-9.]*$//' out >report.$w
	state $db >state.$w
done
expect_same report.1 report.8
expect_same state.1 state.8
invariants $db

# ---- capacity --------------------------------------------------------------------

case_ "capacity raise: promotions at once, one line each on stderr, a batch of kind course"
setup
run -d $db course add M1 --capacity 4 --waitlist 3
expect_rc 0
expect_err "M1: C promoted from the waitlist"
expect_err "M1: D promoted from the waitlist"
[ "$(state $db | grep '^M1')" = "M1 A registered 1
M1 B registered 2
M1 C registered 3
M1 D registered 4
M1 E waitlisted 1" ] || fail "state: $(state $db)"
[ "$(sql $db "SELECT kind, promoted FROM batches ORDER BY id DESC LIMIT 1")" = "course|2" ] ||
	fail "batch: $(sql $db "SELECT kind, promoted FROM batches ORDER BY id DESC LIMIT 1")"
[ "$(sql $db "SELECT count(*) FROM history WHERE event = 'promoted'")" = 2 ] || fail "history"
run -d $db -q course add M1 --capacity 5 --waitlist 3
expect_rc 0
expect_empty err
invariants $db

case_ "capacity: creating a course or a change that moves no one is not a batch"
setup
n=$(sql $db "SELECT count(*) FROM batches")
run -d $db course add NEW1 --capacity 3
run -d $db course add P1 --capacity 9
[ "$(sql $db "SELECT count(*) FROM batches")" = "$n" ] || fail "a batch was recorded"

case_ "capacity lowered below the registered count: everyone kept, a warning, no promotion until under"
setup
run -d $db course add M1 --capacity 1 --waitlist 3
expect_rc 0
expect_err "M1: 1 registered over its capacity of 1"
[ "$(counts $db M1)" = "2 3" ] || fail "counts $(counts $db M1)"
printf 'student_id,course\nA,M1\n' >d.csv
run -d $db drop d.csv --format csv
expect_rc 0
[ "$(rows)" = "2 A M1 dropped - -" ] || fail "promoted while at capacity: $(rows)"
run -d $db drop --student B --course M1 --format csv
[ "$(rows)" = "- B M1 dropped - -
- C M1 promoted - -" ] || fail "report: $(rows)"
invariants $db

# ---- students ---------------------------------------------------------------------

case_ "--update-students fill only fills empty values; never keeps them; always (default) replaces"
setup
sql $db "UPDATE students SET first_name = '' WHERE student_id = 'A'"
printf 'student_id,first_name,last_name,email,course\nA,Anna,Z,new@x.org,M1\n' >u.csv
run -d $db register u.csv --update-students never -q
[ "$(sql $db "SELECT first_name, last_name, email FROM students WHERE student_id = 'A'")" = "|A|a@x.org" ] || fail never
run -d $db register u.csv --update-students fill -q
[ "$(sql $db "SELECT first_name, last_name, email FROM students WHERE student_id = 'A'")" = "Anna|A|a@x.org" ] || fail fill
run -d $db register u.csv -q
[ "$(sql $db "SELECT first_name, last_name, email FROM students WHERE student_id = 'A'")" = "Anna|Z|new@x.org" ] || fail always
[ "$(sql $db "SELECT old_email || '>' || new_email FROM history WHERE event = 'student' ORDER BY id DESC LIMIT 1")" = "a@x.org>new@x.org" ] ||
	fail "history: $(sql $db "SELECT * FROM history WHERE event = 'student'")"
run -d $db register u.csv --update-students sometimes
expect_rc 2

# ---- history ----------------------------------------------------------------------

case_ "history: every change to a pair is recorded with its batch"
setup
printf 'student_id,course\nA,M1\n' >d.csv
run -d $db drop d.csv -q
got=$(sql $db "SELECT event, student_id, coalesce(old_status, '-'), coalesce(new_status, '-')
	FROM history WHERE batch_id = (SELECT max(id) FROM batches) ORDER BY id")
[ "$got" = "dropped|A|registered|-
promoted|C|waitlisted|registered" ] || fail "history: $got"
[ "$(sql $db "SELECT kind, dropped, promoted FROM batches ORDER BY id DESC LIMIT 1")" = "drop|1|1" ] || fail "batch counts"

case_ "a known student's changed names or email are in the row's detail and counted in the summary"
setup
printf 'student_id,first_name,last_name,email,course\nA,Ann,Smith,a2@x.org,M1\nB,Bob,B,b@x.org,M1\n' >u.csv
run -d $db register u.csv --format csv
expect_rc 0
[ "$(csv_field 2 detail)" = "last_name: A → Smith; email: a@x.org → a2@x.org" ] || fail "detail: $(cat out)"
printf 'student_id,email,course\nN,n@x.org,M1\n' >n.csv
run -d $db register n.csv -q
printf 'student_id,email,last_name,course\nN,n@x.org,Lee,M1\n' >n.csv
run -d $db register n.csv --format csv
[ "$(csv_field 2 detail)" = "last_name: '' → Lee" ] || fail "an empty old value: $(cat out)"
[ "$(csv_field 3 detail)" = "" ] || fail "unchanged student has a detail: $(cat out)"
run -d $db register u.csv --format json
python3 -c 'import json; s = json.load(open("out"))["summary"]; assert s["students_changed"] == 0, s' || fail "json: $(cat out)"
printf 'student_id,first_name,last_name,email,course\nA,Ann,Jones,a2@x.org,M1\n' >u.csv
run -d $db register u.csv --format json
python3 -c 'import json; s = json.load(open("out"))["summary"]; assert s["students_changed"] == 1, s' || fail "json: $(cat out)"
run -d $db register u.csv
expect_no_out "known student"
# The text report points to where the details are: the table with --all,
# else --all and the other formats (review 23 F13).
printf 'student_id,first_name,last_name,email,course\nA,Ann,Brown,a2@x.org,M1\n' >u.csv
run -d $db register u.csv --all --dry-run
expect_out "(1 known student changed names or email: the DETAIL column below says how)"
expect_out "last_name: Jones → Brown"
expect_no_out "see the csv"
run -d $db register u.csv --dry-run
expect_out "(1 known student changed names or email: --all lists them, as do the csv, json and html reports)"

case_ "a waitlist cannot be made shorter than the students waiting; drop --student's promotion names no line"
setup
run -d $db course add M1 --capacity 2 --waitlist 2
expect_rc 2
expect_err "course M1: a waitlist of 2 is shorter than the 3 students waiting"
[ "$(sql $db "SELECT waitlist_max FROM courses WHERE code = 'M1'")" = 4 ] || fail "saved"
run -d $db drop --student A --course M1 --format csv
expect_rc 0
grep -q 'took the seat of A (dropped)$' out || fail "detail: $(cat out)"

case_ "a dry run says when a threshold would roll the batch back, and exits as the real run would"
setup
printf 'student_id,email,course\nA,a@x.org,M1\n' >s.csv
run -d $db register s.csv --sync --dry-run
expect_rc 1
expect_err "(a dry run) would have been rolled back: --max-drops 10%"
printf 'student_id,email,course\nX1,bad,M1\n' >r.csv
run -d $db register r.csv --max-rejects 0 --dry-run -q
expect_rc 1
expect_err "would have been rolled back: --max-rejects 0"

case_ "drop refuses a database that is not there (a mistyped -d creates nothing)"
run -d typo.db drop --student A --course M1
expect_rc 2
expect_err "no database at typo.db: create it with 'bulkreg init' or 'bulkreg course import'"
[ ! -e typo.db ] || fail "typo.db was created"

case_ "options: drop names the register-only option it refuses; --strict with --max-rejects; loose numbers refused"
setup
run -d $db drop d.csv --update-students never
expect_rc 2
expect_err "--update-students is not an option of 'drop'"
run -d $db register fill.csv --strict --max-rejects 5
expect_rc 2
for bad in 1e1 0x2 2.0 " 1" +1 101% -1; do
	run -d $db register fill.csv --max-rejects "$bad"
	[ "$RC" = 2 ] || fail "--max-rejects '$bad' accepted"
done
run -d $db undo " 1"
expect_rc 2

case_ "drop ignores the names and email it does not need (too long, control characters)"
setup
python3 -c "
print('student_id,first_name,email,course')
print('A,Ann\tTab,' + 'a' * 300 + '@x.org,M1')" >d.csv
run -d $db drop d.csv --format csv
expect_rc 0
[ "$(csv_field 2 status)" = dropped ] || fail "report: $(cat out)"

case_ "--help names the lifecycle's statuses and reason (review 13, C4)"
run register --help
for w in dropped promoted duplicate_in_roster skipped; do expect_out "$w"; done
run drop --help
for w in dropped promoted not_registered duplicate_in_roster; do expect_out "$w"; done
run undo --help
for w in dropped promoted restored; do expect_out "$w"; done
