# shellcheck shell=sh
# shellcheck disable=SC2154,SC2034 # BULKREG, DATA, RC: lib.sh and run use them
# t_upgrade: a version-1 database made by the previous release
# (tests/data/upgrade/v1.sql) upgrades in place when bulkreg opens it: its
# courses, students, registrations and batches kept exactly, the history its
# data implies synthesised, and `verify` clean.  verify itself never
# upgrades: it examines a database as it is (review 21, F03).
sqlite_only "upgrades database files of bulkreg 0.1 (PostgreSQL schemas start at the current version)"

v1=$DATA/upgrade/v1.sql

# v1_state DB FILE: the version-1 columns of every table, in a stable order.
v1_state() {
	sqlite3 "$1" >"$2" <<'SQL'
.mode quote
SELECT id, code, title, capacity, waitlist_max, registered, waitlisted, created_at, updated_at FROM courses ORDER BY id;
SELECT student_id, first_name, last_name, email, created_batch FROM students ORDER BY student_id;
SELECT course_id, student_id, status, seq, batch_id, line FROM registrations ORDER BY course_id, student_id;
SELECT id, started_at, finished_at, source, sha256, label, outcome, rows, registered, waitlisted,
       already_registered, already_waitlisted, rejected, reasons FROM batches ORDER BY id;
SQL
}

case_ "the dump is a version-1 database"
sqlite3 old.db <"$v1" || fail "loading $v1"
[ "$(sql old.db 'PRAGMA user_version')" = 1 ] || fail "user_version $(sql old.db 'PRAGMA user_version')"
v1_state old.db before.state
[ "$(sql old.db 'SELECT count(*) FROM registrations')" = 34 ] || fail "registrations"

case_ "verify does not upgrade it: exit 3, the file unchanged, the way named"
cp old.db up.db
cksum <up.db >sum.before
run -d up.db verify
expect_rc 3
expect_err "up.db: database schema version 1 is older than this bulkreg's (3); verify examines a database as it is and does not upgrade it (nothing was written): any other command upgrades it, e.g. 'bulkreg -d up.db batches', then run verify"
cksum <up.db >sum.after
expect_same sum.before sum.after
# Beside it, the -journal, -wal and -shm made before the open stay, empty
# (another run may rely on them: see SECURITY in the manual).
[ ! -s up.db-wal ] && [ ! -s up.db-journal ] || fail "a -wal or -journal holds data"

case_ "verify on a version-1 database holding a planted trigger: refused, naming it; the trigger never ran"
cp old.db trig.db
sqlite3 trig.db "CREATE TRIGGER t_wipe AFTER UPDATE ON courses BEGIN DELETE FROM registrations; END;"
run -d trig.db verify
expect_rc 3
expect_err "trig.db: the database holds 1 object bulkreg did not create, or changed since (trigger t_wipe on courses)"
[ "$(sql trig.db 'SELECT count(*) FROM registrations')" = 34 ] || fail "the trigger ran"
[ "$(sql trig.db 'PRAGMA user_version')" = 1 ] || fail "upgraded"

case_ "any other command upgrades it to the current version (3); verify then passes"
run -d up.db batches
expect_rc 0
run -d up.db verify
expect_rc 0
expect_out "ok: every invariant holds (6 courses, 34 registrations,"
[ "$(sql up.db 'PRAGMA user_version')" = 3 ] || fail "user_version $(sql up.db 'PRAGMA user_version')"

case_ "courses, students, registrations and batches are kept exactly"
v1_state up.db after.state
expect_same before.state after.state

case_ "the new columns: every batch is a register batch with zero new counts, seat_seq is the highest seat"
[ "$(sql up.db "SELECT group_concat(kind || ':' || promoted || dropped || skipped || ':' || coalesce(undo_of, '-') || coalesce(undone_by, '-'), ' ') FROM batches")" = \
	"register:000:-- register:000:-- register:000:--" ] || fail "batches: $(sql up.db 'SELECT * FROM batches')"
got=$(sql up.db "SELECT count(*) FROM courses c WHERE seat_seq IS NOT coalesce((SELECT max(seq) FROM registrations r WHERE r.course_id = c.id AND r.status = 'registered'), 0)")
[ "$got" = 0 ] || fail "seat_seq: $(sql up.db 'SELECT code, seat_seq FROM courses')"
[ "$(sql up.db "SELECT seat_seq FROM courses WHERE code = 'MATH101'")" = 6 ] || fail "MATH101 seat_seq"
[ "$(sql up.db 'SELECT count(*) FROM batch_courses')" = 0 ] || fail "batch_courses"

case_ "history: none written; the additions are the registrations (batch, line), the students their created_batch"
[ "$(sql up.db "SELECT count(*) FROM history")" = 0 ] || fail "history rows: $(sql up.db 'SELECT * FROM history')"
run -d up.db batches show 2 --format csv
expect_rc 0
sqlite3 -separator ' ' :memory: ".import --csv out r" \
	"SELECT event, course, student_id, line, new_status, new_seat, new_position FROM r WHERE event = 'added' ORDER BY course, student_id" >got
sqlite3 -separator ' ' up.db "SELECT 'added', c.code, r.student_id, r.line, r.status,
	CASE r.status WHEN 'registered' THEN r.seq ELSE '' END, CASE r.status WHEN 'waitlisted' THEN r.seq ELSE '' END
	FROM registrations r JOIN courses c ON c.id = r.course_id WHERE r.batch_id = 2 ORDER BY c.code, r.student_id" >want
expect_same want got
sqlite3 -separator ' ' :memory: ".import --csv out r" \
	"SELECT student_id, new_email FROM r WHERE event = 'student' ORDER BY student_id" >got
sqlite3 -separator ' ' up.db "SELECT student_id, email FROM students WHERE created_batch = 2 ORDER BY student_id" >want
expect_same want got

case_ "batches lists the three batches as they were"
run -d up.db batches --format csv
expect_rc 0
sqlite3 -separator ' ' :memory: ".import --csv out b" \
	"SELECT id, kind, outcome, rows, registered, waitlisted, rejected, label FROM b ORDER BY id + 0" >got
sqlite3 -separator ' ' up.db \
	"SELECT id, 'register', outcome, rows, registered, waitlisted, rejected, coalesce(label, '') FROM batches ORDER BY id" >want
expect_same want got
[ "$(wc -l <got)" = 3 ] || fail "$(cat got)"

case_ "roster shows every course as the registrations hold it"
for code in ART105 BIO110 CS101 HIST200 MATH101 PHYS150; do
	run -d up.db roster "$code" --format csv
	expect_rc 0
	sqlite3 -separator ' ' :memory: ".import --csv out r" \
		"SELECT student_id, status, position, batch, line FROM r" >got
	sqlite3 -separator ' ' up.db "SELECT r.student_id, r.status,
		CASE r.status WHEN 'waitlisted' THEN r.seq ELSE '' END, r.batch_id, r.line
		FROM registrations r JOIN courses c ON c.id = r.course_id WHERE c.code = '$code'
		ORDER BY r.status <> 'registered', r.seq" >want
	expect_same want got
done

case_ "student shows the values, courses and synthesised history"
run -d up.db student S1009 --format json
expect_rc 0
python3 -c '
import json
d = json.load(open("out"))
assert d["student_id"] == "S1009" and d["exists"] and d["first_name"] == "Isabela", d
assert d["created_batch"] == 2, d
assert d["courses"] == [{"course": "MATH101", "status": "registered", "seat": 3,
                         "position": None, "batch": 2, "line": 3}], d["courses"]
ev = [(h["id"], h["event"], h["batch"], h["course"], h["line"]) for h in d["history"]]
assert ev == [(None, "student", 2, None, 3), (None, "added", 2, "MATH101", 3)], ev
' || fail "student: $(cat out)"

case_ "any command upgrades it: course list on a fresh copy"
cp old.db up2.db
run -d up2.db course list --format csv
expect_rc 0
[ "$(sql up2.db 'PRAGMA user_version')" = 3 ] || fail "not upgraded"
sqlite3 up.db .dump | grep -v '^INSERT INTO history' | sed 's/[0-9-]*T[0-9:.]*Z//g' >a.dump
sqlite3 up2.db .dump | grep -v '^INSERT INTO history' | sed 's/[0-9-]*T[0-9:.]*Z//g' >b.dump
expect_same a.dump b.dump

case_ "opening it again changes nothing"
sqlite3 up.db .dump >once.dump
run -d up.db verify
expect_rc 0
run -d up.db batches
expect_rc 0
sqlite3 up.db .dump >twice.dump
expect_same once.dump twice.dump

# ---- from version 2 (0.2.0 before course settings were recorded) ------------------

case_ "a version-2 database upgrades to 3: tables kept, batch_courses gains the settings a batch left, unknown for old batches"
v2=$DATA/upgrade/v2.sql
sqlite3 v2.db <"$v2" || fail "loading $v2"
chmod 600 v2.db # (0644 from sqlite3 draws a warning: t_security)
[ "$(sql v2.db 'PRAGMA user_version')" = 2 ] || fail "user_version $(sql v2.db 'PRAGMA user_version')"
sqlite3 v2.db .dump | grep -v '^PRAGMA\|^CREATE\|batch_courses' >v2.before
run -d v2.db verify
expect_rc 3
run -d v2.db batches
expect_rc 0
[ "$(sql v2.db 'PRAGMA user_version')" = 3 ] || fail "user_version $(sql v2.db 'PRAGMA user_version')"
sqlite3 v2.db .dump | grep -v '^PRAGMA\|^CREATE\|batch_courses' >v2.after
expect_same v2.before v2.after
[ "$(sql v2.db "SELECT group_concat(batch_id || ':' || course_id || ':' || after_known || ':' || coalesce(after_title, '-') || coalesce(after_capacity, '-'), ' ') FROM batch_courses")" = \
	"1:1:0:-- 1:2:0:-- 2:1:0:--" ] || fail "batch_courses: $(sql v2.db 'SELECT * FROM batch_courses')"

case_ "undo of a version-2 capacity batch, which did not record what it set: settings set back as before, each named"
run -d v2.db undo 2
expect_rc 0
[ "$(sql v2.db "SELECT title || '|' || capacity || '|' || registered || '|' || waitlisted FROM courses WHERE code = 'M1'")" = "Old|1|1|1" ] ||
	fail "M1: $(sql v2.db "SELECT * FROM courses WHERE code = 'M1'")"
expect_err "warning: M1: title set back from 'New' to 'Old' (batch 2 was made by an older bulkreg, which did not record what it set: a change made since is undone too)"
expect_err "warning: M1: capacity set back from 2 to 1 (batch 2"
# The undo, made by this release, records what it left: its own undo is exact.
sqlite3 v2.db .dump | grep -v 'INTO history\|INTO batch\|^PRAGMA' >undone.dump
run -d v2.db undo 3 -q
expect_rc 0
run -d v2.db undo 4
expect_rc 0
! grep -q warning err || fail "warned: $(cat err)"
sqlite3 v2.db .dump | grep -v 'INTO history\|INTO batch\|^PRAGMA' | sed 's/[0-9-]*T[0-9:.]*Z//g' >again.dump
sed 's/[0-9-]*T[0-9:.]*Z//g' undone.dump >undone2.dump
expect_same undone2.dump again.dump
run -d v2.db verify
expect_rc 0
