# shellcheck shell=sh
# shellcheck disable=SC2154,SC2034 # BULKREG, DATA, RC: lib.sh and run use them
# t_verify: `bulkreg verify [--repair]` on databases broken by hand with
# sqlite3, the way a person would: each invariant broken alone, found, listed
# (course, check, expected, found), repaired in one batch of kind 'repair'
# with its history, and verified clean afterwards; what cannot be repaired is
# listed and exits 1.
sqlite_only "damages the SQLite file through sqlite3 (indexes, triggers, raw edits) for verify to find"

# fresh NAME: a copy of the reference database (tests/data/upgrade/v1.sql,
# upgraded by a first listing) in NAME.
fresh() {
	rm -f "$1" "$1-wal" "$1-shm"
	cp ref.db "$1"
}
# problems: "course student check expected found" lines of ./out (csv).
problems() {
	python3 -c '
import csv, sys
for r in csv.DictReader(open("out", newline="")):
    print(r["kind"], r["course"], r["student"], r["check"], r["expected"], "|", r["found"])
'
}
# has LINE: ./problems.txt holds that exact line.
has() { grep -qxF -- "$1" problems.txt || fail "no '$1' in:
$(cat problems.txt)"; }
verify_csv() {
	run -d "$1" verify --format csv
	problems >problems.txt
}
# state DB: everything but the batches and history, to compare.
state() { dump "$1" "$2"; }

sqlite3 ref.db <"$DATA/upgrade/v1.sql" || fail "loading v1.sql"
run -d ref.db batches # verify does not upgrade (review 21, F03)
[ "$(sql ref.db 'PRAGMA user_version')" = 3 ] || fail "ref.db not upgraded"
# ref2.db: the same with history -- batch 4 drops S1004 from CS101 (S1007
# is promoted into seat 5), batch 5 changes S1005's email.
cp ref.db ref2.db
run -q -d ref2.db drop --student S1004 --course CS101
printf 'student_id,first_name,last_name,email,course\nS1005,Elif,Yılmaz,elif@new.example,CS101\n' >upd.csv
run -q -d ref2.db register upd.csv
[ "$(sql ref2.db "SELECT group_concat(batch_id || event || student_id, ' ') FROM history")" = \
	"4droppedS1004 4promotedS1007 5studentS1005" ] || fail "ref2.db history: $(sql ref2.db 'SELECT * FROM history')"
# fresh2 NAME: a copy of ref2.db.
fresh2() {
	rm -f "$1" "$1-wal" "$1-shm"
	cp ref2.db "$1"
}

# ---- a sound database -------------------------------------------------------------------

case_ "the ok line counts in the singular when there is one (1 course, 1 registration, 1 history event)"
one=$(new_db one)
run -d $one course add ONE --capacity 2 -q
printf 'student_id,email,course\nS1,s1@x.org,ONE\nS2,s2@x.org,ONE\n' >one.csv
run -d $one register one.csv -q
run -d $one drop --student S2 --course ONE -q
run -d $one verify
expect_rc 0
expect_out "ok: every invariant holds (1 course, 1 registration, 1 history event)"

case_ "verify has no html format: exit 2 like the other listings, nothing printed"
fresh db
for r in "" --repair; do
	# shellcheck disable=SC2086 # r is zero or one word
	run -d db verify $r --format html
	expect_rc 2
	expect_err "verify: --format: 'html' is not text, csv or json"
	expect_empty out
done

case_ "a sound database verifies: exit 0, nothing listed, in every format"
fresh db
run -d db verify
expect_rc 0
expect_out "ok: every invariant holds (6 courses, 34 registrations,"
expect_no_out "CHECK"
run -d db verify --format csv
expect_rc 0
printf 'kind,course,student,check,expected,found\n' >want
expect_same want out
run -d db verify --format json
expect_rc 0
python3 -c '
import json
d = json.load(open("out"))
assert d["ok"] is True and d["problems"] == [], d
assert d["checked"] == {"courses": 6, "registrations": 34, "events": d["checked"]["events"]}, d
' || fail "json: $(cat out)"

case_ "verify writes nothing: the file's tables are the same before and after"
fresh db
sqlite3 db .dump >before.sql
run -d db verify
run -d db verify --format json
sqlite3 db .dump >after.sql
expect_same before.sql after.sql

case_ "verify --repair on a sound database: nothing to repair, no batch"
fresh db
nb=$(sql db "SELECT count(*) FROM batches")
run -d db verify --repair
expect_rc 0
expect_out "nothing to repair"
expect_out "ok: every invariant holds"
[ "$(sql db "SELECT count(*) FROM batches")" = "$nb" ] || fail "a batch was recorded"

case_ "every command of the lifecycle leaves verify clean: register, drop, sync, capacity, undo"
rm -f life.db
# v WHAT: verify passes, else the failure names the step.
v() {
	"$BULKREG" -d life.db verify >v.out 2>&1 || fail "verify after $1:
$(cat v.out)"
}
run -q -d life.db course import "$ROOT/data/courses.csv"
run -q -d life.db register "$ROOT/data/enrolled.csv"
v "register enrolled.csv"
run -q -d life.db register "$ROOT/data/roster.csv"
v "register roster.csv"
printf 'student_id,course\nS1003,CS101\nS1010,MATH101\n' >drop.csv
run -q -d life.db drop drop.csv
expect_rc 0
v "drop"
printf 'student_id,email,course\nS1001,a@x.org,MATH101\nS1002,b@x.org,CS101\n' >sync.csv
run -q -d life.db register sync.csv --sync --max-drops 100%
v "register --sync"
run -q -d life.db course add HIST200 --capacity 2
v "a capacity raise"
run -q -d life.db course add MATH101 --capacity 1
v "a capacity lowered"
[ "$(sql life.db "SELECT group_concat(kind, ' ') FROM batches")" = "register register drop sync course" ] ||
	fail "kinds: $(sql life.db 'SELECT id, kind FROM batches')"
for b in 5 4 3; do
	run -q -d life.db undo $b
	expect_rc 0
	v "undo $b"
done
run -q -d life.db undo 6
expect_rc 0
v "undo of an undo"

# ---- each invariant broken by hand ------------------------------------------------------

case_ "DELETE FROM registrations: the counters and the promotion owed are listed"
fresh db
# CS101: capacity 4, seats S1003 S1004 S1005 S1006, waitlist S1007 S1017 S1018.
sql db "DELETE FROM registrations WHERE course_id = (SELECT id FROM courses WHERE code = 'CS101') AND student_id = 'S1004'"
verify_csv db
expect_rc 1
has "problem CS101  registered_count 3 | 4"
has "problem CS101  promotions_owed 0 | 1 (1 seat free, 3 waiting)"
# No event names the pair: its registration was its only record.
[ "$(wc -l <problems.txt)" = 2 ] || fail "not 2 problems: $(cat problems.txt)"
run -d db verify
expect_rc 1
expect_out "2 broken invariants"
grep -Eq '^CS101 +- +registered_count +3 +4$' out || fail "text: $(cat out)"

case_ "... --repair: the first waitlisted takes the freed seat as seat_seq+1, recorded, verify passes"
nb=$(sql db "SELECT max(id) FROM batches")
run -d db verify --repair --format csv
expect_rc 0
problems >problems.txt
has "changed CS101  seat_seq 5 | 4"
has "changed CS101 S1007 promoted registered seat 5 | waitlisted position 1"
has "changed CS101 S1017 waitlist_position 1 | 2"
has "changed CS101 S1018 waitlist_position 2 | 3"
has "changed CS101  waitlisted_count 2 | 3"
! grep -q '^problem' problems.txt || fail "problems left: $(cat problems.txt)"
b=$(sql db "SELECT max(id) FROM batches")
[ "$b" = $((nb + 1)) ] || fail "no new batch"
[ "$(sql db "SELECT kind, outcome, source, promoted FROM batches WHERE id = $b")" = "repair|committed|verify --repair|1" ] ||
	fail "batch: $(sql db "SELECT * FROM batches WHERE id = $b")"
[ "$(sql db "SELECT event, student_id, old_status, old_seq, old_batch, old_line, new_status, new_seq FROM history WHERE batch_id = $b ORDER BY id")" = \
	"promoted|S1007|waitlisted|1|1|8|registered|5" ] || fail "history: $(sql db "SELECT * FROM history WHERE batch_id = $b")"
[ "$(sql db "SELECT course_id, registered, waitlisted, seat_seq FROM batch_courses WHERE batch_id = $b")" = "3|4|3|4" ] ||
	fail "batch_courses: $(sql db "SELECT * FROM batch_courses WHERE batch_id = $b")"
[ "$(sql db "SELECT student_id, status, seq FROM registrations WHERE course_id = 3 ORDER BY status, seq" | tr '\n' ' ')" = \
	"S1003|registered|1 S1005|registered|3 S1006|registered|4 S1007|registered|5 S1017|waitlisted|1 S1018|waitlisted|2 " ] ||
	fail "registrations: $(sql db "SELECT * FROM registrations WHERE course_id = 3")"
[ "$(sql db "SELECT registered, waitlisted, seat_seq FROM courses WHERE code = 'CS101'")" = "4|2|5" ] || fail "counters"
run -d db verify
expect_rc 0

case_ "... a repair batch cannot be undone (exit 2, nothing written)"
sqlite3 db .dump >before.sql
run -d db undo "$b"
expect_rc 2
expect_err "batch $b is a repair (verify --repair): it cannot be undone"
sqlite3 db .dump >after.sql
expect_same before.sql after.sql

case_ "... and it stands in the way of undoing the batches before it on the same courses"
run -d db undo 1
expect_rc 2
expect_err "later batches $b, 2 changed the same courses"

case_ "... a second repair finds nothing to do"
run -d db verify --repair
expect_rc 0
expect_out "nothing to repair"
[ "$(sql db "SELECT max(id) FROM batches")" = "$b" ] || fail "a second batch"

case_ "UPDATE courses SET registered = 99: registered_count; --repair rebuilds the counter only"
fresh db
sql db "UPDATE courses SET registered = 99, waitlisted = 0 WHERE code = 'MATH101'"
verify_csv db
expect_rc 1
has "problem MATH101  registered_count 6 | 99"
has "problem MATH101  waitlisted_count 2 | 0"
[ "$(wc -l <problems.txt)" = 2 ] || fail "$(cat problems.txt)"
state db before.state
run -d db verify --repair
expect_rc 0
grep -Eq '^MATH101 +- +registered_count +99 +6$' out || fail "text: $(cat out)"
b=$(sql db "SELECT max(id) FROM batches")
[ "$(sql db "SELECT count(*) FROM history WHERE batch_id = $b")" = 0 ] || fail "history rows for a counter"
[ "$(sql db "SELECT registered, waitlisted FROM batch_courses WHERE batch_id = $b")" = "99|0" ] || fail "batch_courses"
[ "$(sql db "SELECT registered, waitlisted FROM courses WHERE code = 'MATH101'")" = "6|2" ] || fail "not rebuilt"
sql db "SELECT * FROM registrations ORDER BY 1, 2" >regs.after
sql ref.db "SELECT * FROM registrations ORDER BY 1, 2" >regs.ref
expect_same regs.ref regs.after

case_ "renumbered waitlist positions: listed; --repair numbers them 1..n in the same order"
fresh db
sql db "UPDATE registrations SET seq = seq * 10 + 5 WHERE course_id = 3 AND status = 'waitlisted'"
verify_csv db
expect_rc 1
has "problem CS101  waitlist_positions 1..3 | 15,25,35"
[ "$(wc -l <problems.txt)" = 1 ] || fail "$(cat problems.txt)"
run -d db verify --repair
expect_rc 0
[ "$(sql db "SELECT student_id, seq FROM registrations WHERE course_id = 3 AND status = 'waitlisted' ORDER BY seq" | tr '\n' ' ')" = \
	"S1007|1 S1017|2 S1018|3 " ] || fail "positions"
run -d db verify
expect_rc 0

case_ "a gap and a duplicate position"
fresh db
sql db "UPDATE registrations SET seq = 1 WHERE course_id = 3 AND student_id = 'S1018'"
verify_csv db
expect_rc 1
has "problem CS101  waitlist_positions 1..3 | 1,1,2"
run -d db verify --repair
expect_rc 0
# Ties keep the student id order.
[ "$(sql db "SELECT student_id, seq FROM registrations WHERE course_id = 3 AND status = 'waitlisted' ORDER BY seq" | tr '\n' ' ')" = \
	"S1007|1 S1018|2 S1017|3 " ] || fail "positions: $(sql db "SELECT * FROM registrations WHERE course_id = 3")"

case_ "a capacity raised with sqlite3: promotions owed; --repair promotes in position order"
fresh db
sql db "UPDATE courses SET capacity = 6 WHERE code = 'CS101'"
verify_csv db
expect_rc 1
has "problem CS101  promotions_owed 0 | 2 (2 seats free, 3 waiting)"
run -d db verify --repair --format json
expect_rc 0
python3 -c '
import json
d = json.load(open("out"))
assert d["ok"] is True and d["problems"] == [], d
assert isinstance(d["repair_batch"], int), d
p = [(c["student"], c["before"], c["after"]) for c in d["changes"] if c["change"] == "promoted"]
assert p == [("S1007", "waitlisted position 1", "registered seat 5"),
             ("S1017", "waitlisted position 2", "registered seat 6")], p
' || fail "json: $(cat out)"
[ "$(sql db "SELECT registered, waitlisted, seat_seq FROM courses WHERE code = 'CS101'")" = "6|1|6" ] || fail "course"
[ "$(sql db "SELECT status, seq FROM registrations WHERE course_id = 3 AND student_id = 'S1018'")" = "waitlisted|1" ] || fail "S1018"

case_ "seat_seq lowered: listed; --repair raises it to the highest seat"
fresh db
sql db "UPDATE courses SET seat_seq = 1 WHERE code = 'MATH101'"
verify_csv db
expect_rc 1
has "problem MATH101  seat_seq at least 6 | 1"
run -d db verify --repair
expect_rc 0
[ "$(sql db "SELECT seat_seq FROM courses WHERE code = 'MATH101'")" = 6 ] || fail "seat_seq"

case_ "a dropped pair put back with sqlite3: the history says absent; --repair records it as added"
fresh2 db
sql db "INSERT INTO registrations VALUES (3, 'S1004', 'registered', 2, 1, 5); UPDATE courses SET registered = 5 WHERE id = 3"
verify_csv db
expect_rc 1
grep -q "^problem CS101 S1004 history absent (event [0-9]*: dropped by batch 4) | registered by batch 1$" problems.txt ||
	fail "$(cat problems.txt)"
[ "$(wc -l <problems.txt)" = 1 ] || fail "$(cat problems.txt)"
run -d db verify --repair
expect_rc 0
b=$(sql db "SELECT max(id) FROM batches")
[ "$(sql db "SELECT event, course_id, student_id, line, new_status, new_seq FROM history WHERE batch_id = $b")" = "added|3|S1004|5|registered|2" ] ||
	fail "history: $(sql db "SELECT * FROM history WHERE batch_id = $b")"
run -d db verify
expect_rc 0

case_ "a promoted pair deleted with sqlite3: the history says registered; --repair records the drop and promotes"
fresh2 db
sql db "DELETE FROM registrations WHERE course_id = 3 AND student_id = 'S1007'"
verify_csv db
expect_rc 1
grep -q "^problem CS101 S1007 history registered (event [0-9]*: promoted by batch 4) | absent$" problems.txt ||
	fail "$(cat problems.txt)"
has "problem CS101  registered_count 3 | 4"
run -d db verify --repair --format csv
expect_rc 0
problems >problems.txt
has "changed CS101 S1007 history_dropped absent | registered seat 5"
has "changed CS101 S1017 promoted registered seat 6 | waitlisted position 1"
b=$(sql db "SELECT max(id) FROM batches")
[ "$(sql db "SELECT event, student_id, old_status, old_seq, old_batch, old_line, coalesce(new_status, '-') FROM history WHERE batch_id = $b ORDER BY id" | tr '\n' ' ')" = \
	"dropped|S1007|registered|5|1|8|- promoted|S1017|waitlisted|1|2|12|registered " ] ||
	fail "history: $(sql db "SELECT * FROM history WHERE batch_id = $b")"
run -d db verify
expect_rc 0

case_ "a status changed by hand: the history's state is dropped, the table's added"
fresh2 db
sql db "UPDATE registrations SET status = 'waitlisted', seq = 3 WHERE course_id = 3 AND student_id = 'S1007'"
verify_csv db
expect_rc 1
has "problem CS101  registered_count 3 | 4"
has "problem CS101  waitlisted_count 3 | 2"
grep -q "^problem CS101 S1007 history registered (event [0-9]*: promoted by batch 4) | waitlisted$" problems.txt ||
	fail "history: $(cat problems.txt)"
run -d db verify --repair
expect_rc 0
b=$(sql db "SELECT max(id) FROM batches")
# S1007 is waitlisted 3rd, then the free seat goes to the first in line.
[ "$(sql db "SELECT event, student_id, old_status, new_status FROM history WHERE batch_id = $b ORDER BY id" | tr '\n' ' ')" = \
	"dropped|S1007|registered| added|S1007||waitlisted promoted|S1017|waitlisted|registered " ] ||
	fail "history: $(sql db "SELECT * FROM history WHERE batch_id = $b")"
run -d db verify
expect_rc 0

case_ "waitlist over its maximum: listed; not repairable (no one is dropped), exit 1, no batch"
fresh db
sql db "UPDATE courses SET waitlist_max = 1 WHERE code = 'CS101'"
verify_csv db
expect_rc 1
has "problem CS101  waitlist_over_max at most 1 waiting | 3 waiting"
nb=$(sql db "SELECT count(*) FROM batches")
state db before.state
run -d db verify --repair --format csv
expect_rc 1
problems >problems.txt
has "problem CS101  waitlist_over_max at most 1 waiting | 3 waiting"
! grep -q '^changed' problems.txt || fail "changed: $(cat problems.txt)"
[ "$(sql db "SELECT count(*) FROM batches")" = "$nb" ] || fail "a batch was recorded"
state db after.state
expect_same before.state after.state

case_ "a course code over 255 bytes or a student id with a control character, stored with sqlite3: listed (what makes the other commands refuse), exit 1"
# Every other command stops at such a code ("has a code longer than 255
# bytes"); verify said "ok" (review 21, F14).
fresh db
sql db "UPDATE courses SET code = printf('%.*c', 300, 'C') WHERE code = 'CS101'"
sql db "INSERT INTO students (student_id) VALUES ('S1' || char(7) || 'x')"
run -d db course list
expect_rc 3
expect_err "has a code longer than 255 bytes"
verify_csv db
expect_rc 1
id=$(sql db "SELECT id FROM courses WHERE length(code) = 300")
has "problem #$id  course_code 1 to 255 bytes, no control or invisible characters | is 300 bytes (1 to 255)"
grep -q "^problem  S1.*student_id 1 to 255 bytes, no control or invisible characters | character 3 (0x07) is a control character" problems.txt ||
	fail "no student_id finding: $(cat problems.txt)"

case_ "a student deleted: student_missing; repair keeps the registration and exits 1"
fresh db
sql db "DELETE FROM students WHERE student_id = 'S1001'"
verify_csv db
expect_rc 1
has "problem MATH101 S1001 student_missing student S1001 | no such student"
[ "$(wc -l <problems.txt)" = 1 ] || fail "$(cat problems.txt)"
nb=$(sql db "SELECT count(*) FROM batches")
run -d db verify --repair
expect_rc 1
expect_out "student_missing"
expect_out "nothing to repair"
[ "$(sql db "SELECT count(*) FROM batches")" = "$nb" ] || fail "a batch was recorded"
[ "$(sql db "SELECT count(*) FROM registrations WHERE student_id = 'S1001'")" = 1 ] || fail "the registration went"

case_ "... the documented way out: drop the pair; verify passes"
run -d db drop --student S1001 --course MATH101
expect_rc 0
run -d db verify
expect_rc 0

case_ "a student's email changed with sqlite3 after a batch changed it: student_history; --repair records the change"
fresh2 db
sql db "UPDATE students SET email = 'hand@example.edu' WHERE student_id = 'S1005'"
verify_csv db
expect_rc 1
grep -q "^problem  S1005 student_history Elif Yılmaz <elif@new.example> (event [0-9]* by batch 5) | Elif Yılmaz <hand@example.edu>$" problems.txt ||
	fail "$(cat problems.txt)"
[ "$(wc -l <problems.txt)" = 1 ] || fail "$(cat problems.txt)"
run -d db verify --repair --format csv
expect_rc 0
problems >problems.txt
has "changed  S1005 history_student Elif Yılmaz <hand@example.edu> | Elif Yılmaz <elif@new.example>"
b=$(sql db "SELECT max(id) FROM batches")
[ "$(sql db "SELECT event, student_id, old_email, new_email, new_first_name FROM history WHERE batch_id = $b")" = \
	"student|S1005|elif@new.example|hand@example.edu|Elif" ] || fail "history"
run -d db verify
expect_rc 0

case_ "... and deleted with sqlite3: student_missing and student_history; --repair records the deletion, exit 1"
fresh2 db
sql db "DELETE FROM students WHERE student_id = 'S1005'"
verify_csv db
expect_rc 1
has "problem CS101 S1005 student_missing student S1005 | no such student"
grep -q "^problem  S1005 student_history Elif Yılmaz <elif@new.example> (event [0-9]* by batch 5) | absent$" problems.txt ||
	fail "$(cat problems.txt)"
run -d db verify --repair --format csv
expect_rc 1
problems >problems.txt
has "changed  S1005 history_student absent | Elif Yılmaz <elif@new.example>"
has "problem CS101 S1005 student_missing student S1005 | no such student"
[ "$(grep -c '^problem' problems.txt)" = 1 ] || fail "$(cat problems.txt)"

case_ "a registration moved to a dry-run batch by hand: registration_batch; not repairable"
fresh db
sql db "UPDATE registrations SET batch_id = 3 WHERE course_id = 5 AND student_id = 'S1001'"
verify_csv db
expect_rc 1
has "problem MATH101 S1001 registration_batch a committed batch | batch 3 dry_run"
[ "$(wc -l <problems.txt)" = 1 ] || fail "$(cat problems.txt)"
run -d db verify --repair
expect_rc 1
expect_out "registration_batch"

case_ "the newest batch rows deleted by hand: their history and snapshots listed; their ids are never given again"
fresh2 db
sql db "DELETE FROM batches WHERE id >= 4"
verify_csv db
expect_rc 1
has "problem  S1005 history_batch its batch | batch 5 missing (event 3)"
has "problem CS101 S1004 history_batch its batch | batch 4 missing (event 1)"
has "problem CS101  snapshot_batch its batch | batch 4 missing"
run -d db verify --repair
expect_rc 1
expect_out "history_batch"
[ "$(sql db "SELECT count(*) FROM batches WHERE id = 5")" = 0 ] || fail "the repair took batch 5"
printf 'student_id,first_name,last_name,email,course
N1,New,One,n1@x.org,CS101
' >n1.csv
run -q -d db register n1.csv
[ "$(sql db "SELECT max(id) FROM batches")" = 6 ] || fail "the register took id $(sql db "SELECT max(id) FROM batches")"
run -d db batches show 6
! grep -q S1005 out || fail "batch 6 shows the deleted batch's change: $(cat out)"

case_ "a course deleted: course_missing for each of its registrations; exit 1 after --repair"
fresh db
sql db "DELETE FROM courses WHERE code = 'BIO110'"
verify_csv db
expect_rc 1
[ "$(grep -c '^problem #2 S[0-9]* course_missing course 2 | no such course$' problems.txt)" = 3 ] ||
	fail "$(cat problems.txt)"
run -d db verify --repair
expect_rc 1
expect_out "course_missing"

case_ "several broken at once: one repair batch fixes every derived part"
fresh db
sql db "DELETE FROM registrations WHERE course_id = 6 AND student_id IN (SELECT student_id FROM registrations WHERE course_id = 6 AND status = 'registered' LIMIT 1);
UPDATE courses SET registered = 0, waitlisted = 0;
UPDATE registrations SET seq = seq + 7 WHERE status = 'waitlisted' AND course_id = 5;
UPDATE courses SET seat_seq = 0"
run -d db verify
expect_rc 1
nb=$(sql db "SELECT count(*) FROM batches")
run -d db verify --repair
expect_rc 0
expect_out "ok: every invariant holds"
[ "$(sql db "SELECT count(*) FROM batches")" = $((nb + 1)) ] || fail "not one batch"
run -d db verify
expect_rc 0

# ---- integrity_check ----------------------------------------------------------------------

case_ "a damaged index: integrity_check listed; --repair writes nothing and says to restore"
fresh2 db
# The schema's text stays bulkreg's; the index's pages are another's.
sqlite3 db "PRAGMA writable_schema = ON; UPDATE sqlite_master SET rootpage = (SELECT rootpage FROM sqlite_master WHERE name = 'registrations_waitlist') WHERE name = 'history_batch';" ||
	fail "breaking the index"
run -d db verify --format csv
expect_rc 1
grep -q '^problem,,,integrity_check,ok,' out || fail "$(cat out)"
sqlite3 db .dump >before.sql
run -d db verify --repair
expect_rc 1
expect_err "integrity_check: nothing was repaired"
expect_out "integrity_check"
sqlite3 db .dump >after.sql
expect_same before.sql after.sql

case_ "an index whose definition was changed: listed by verify; --repair refuses the database"
fresh2 db
sqlite3 db "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = 'CREATE INDEX history_batch ON history (student_id)' WHERE name = 'history_batch';" ||
	fail "breaking the index"
run -d db verify --format csv
expect_rc 1
grep -qx 'problem,,,foreign_object,absent,index history_batch on history' out || fail "$(cat out)"
sqlite3 db .dump >before.sql
run -d db verify --repair
expect_rc 3
expect_err "index history_batch on history"
sqlite3 db .dump >after.sql
expect_same before.sql after.sql

# ---- the repair is one transaction ------------------------------------------------------

case_ "a repair that fails at its last step leaves the database as it was (exit 3)"
fresh db
sql db "DELETE FROM registrations WHERE course_id = 3 AND student_id = 'S1004'"
# bulkreg-test's hook fails the repair once every step has written (no
# trigger can do it: --repair refuses a database holding one).
if [ -x "${BULKREG}-test" ]; then
	sqlite3 db .dump >before.sql
	BULKREG_TEST_FAIL_REPAIR=1 "${BULKREG}-test" -d db verify --repair >out 2>err
	RC=$?
	expect_rc 3
	expect_err "failed by the test hook"
	sqlite3 db .dump >after.sql
	expect_same before.sql after.sql
fi
run -d db verify --repair
expect_rc 0

case_ "objects bulkreg did not create: verify lists each (exit 1); --repair is refused them, unchanged (exit 3)"
fresh db
sql db "CREATE TRIGGER spy AFTER UPDATE ON courses BEGIN
 INSERT INTO students (student_id, first_name, last_name, email) VALUES ('spy', '', '', 'x'); END;
CREATE VIEW everyone AS SELECT * FROM students;"
run -d db verify --format csv
expect_rc 1
grep -qx 'problem,,,foreign_object,absent,trigger spy on courses' out || fail "trigger not listed: $(cat out)"
grep -qx 'problem,,,foreign_object,absent,view everyone' out || fail "view not listed: $(cat out)"
sql db "UPDATE courses SET registered = registered + 1 WHERE id = 3" # the trigger fires: 'spy' appears
sql db "DELETE FROM students WHERE student_id = 'spy'"
sqlite3 db .dump >before.sql
run -d db verify --repair
expect_rc 3
expect_err "trigger spy on courses"
expect_err "bulkreg did not create"
sqlite3 db .dump >after.sql
expect_same before.sql after.sql
[ "$(sql db "SELECT count(*) FROM students WHERE student_id = 'spy'")" = 0 ] || fail "the planted trigger ran"

# ---- usage --------------------------------------------------------------------------------

case_ "usage: an operand, a bad --format, --help, a missing database"
run -d db verify extra
expect_rc 2
expect_err "bulkreg: verify: unexpected argument 'extra'"
run -d db verify --format yaml
expect_rc 2
run -d db verify --bogus
expect_rc 2
run -d db verify --help
expect_rc 0
expect_out "usage: bulkreg verify [--repair] [--format text|csv|json]"
run -d nosuch.db verify
expect_rc 2
expect_err "no database at nosuch.db"
[ ! -e nosuch.db ] || fail "verify created a database"
