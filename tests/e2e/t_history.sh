# shellcheck shell=sh
# shellcheck disable=SC2154,SC2034 # BULKREG, DATA, RC: lib.sh and run use them
# t_history: reading the history -- `batches show N`, `student ID`, the
# version-2 columns of `batches` (kind, promoted/dropped/skipped, undo links,
# options) and `course list` over capacity; on the version-1 reference
# database (tests/data/upgrade/v1.sql) and a repair batch made on it.
sqlite_only "its fixture is a bulkreg 0.1 SQLite file (tests/data/upgrade/v1.sql)"

db=h.db
sqlite3 $db <"$DATA/upgrade/v1.sql" || fail "loading v1.sql"
run -d $db batches # upgrades it (verify would not: review 21, F03)
expect_rc 0
run -d $db verify
expect_rc 0

# q SQL: SQL over ./out imported as csv table r.
q() { sqlite3 -separator ' ' :memory: ".import --csv out r" "$1"; }

# ---- batches show N -----------------------------------------------------------------------

case_ "batches show (text): the header as batches lists it, then every change in order"
run -d $db batches show 1
expect_rc 0
grep -Eq '^ +1 +[0-9-]+T[0-9:.]+Z +register +committed +8 +6 +2 ' out || fail "header: $(cat out)"
expect_out "source data/enrolled.csv"
grep -Eq '^EVENT +COURSE +STUDENT +LINE +BEFORE +AFTER$' out || fail "changes header: $(cat out)"
grep -Eq '^student +- +S1001 +2 +- +-> Amara Okafor <amara.okafor@example.edu>$' out || fail "student event: $(cat out)"
grep -Eq '^added +MATH101 +S1001 +2 +- +-> registered seat 1$' out || fail "added event: $(cat out)"
grep -Eq '^added +[A-Z0-9]+ +S1007 +8 +- +-> waitlisted position 1$' out || fail "waitlisted event: $(cat out)"
# The additions are the registrations and students batch 1 made.
[ "$(grep -Ec '^(added|student) ' out)" = "$(sql $db 'SELECT (SELECT count(*) FROM registrations WHERE batch_id = 1) + (SELECT count(*) FROM students WHERE created_batch = 1)')" ] ||
	fail "not every change: $(cat out)"
# In roster order: each student just before their first addition.
[ "$(grep -E '^(added|student) ' out | awk '{print $3}' | uniq | tr '\n' ' ')" = "S1001 S1002 S1003 S1004 S1005 S1006 S1007 S1008 " ] ||
	fail "order: $(cat out)"

case_ "batches show --format csv: one row per history row, in id order"
run -d $db batches show 2 --format csv
expect_rc 0
head -1 out >header
printf 'event,course,student_id,line,old_status,old_seat,old_position,old_batch,old_line,new_status,new_seat,new_position,old_first_name,old_last_name,old_email,new_first_name,new_last_name,new_email\n' >want
expect_same want header
q "SELECT event, course, student_id, line, new_status, new_seat, new_position FROM r WHERE event = 'added'" >got
sqlite3 -separator ' ' $db "SELECT 'added', c.code, r.student_id, r.line, r.status,
	CASE r.status WHEN 'registered' THEN r.seq ELSE '' END, CASE r.status WHEN 'waitlisted' THEN r.seq ELSE '' END
	FROM registrations r JOIN courses c ON c.id = r.course_id WHERE r.batch_id = 2 ORDER BY r.line, c.code" >want
expect_same want got
q "SELECT student_id, new_first_name, new_email FROM r WHERE event = 'student' ORDER BY student_id" >got
sqlite3 -separator ' ' $db "SELECT student_id, first_name, email FROM students WHERE created_batch = 2 ORDER BY student_id" >want
expect_same want got
# Lines never go back.
q "SELECT count(*) FROM r a JOIN r b ON b.rowid = a.rowid + 1 WHERE b.line + 0 < a.line + 0" >got
[ "$(cat got)" = 0 ] || fail "not in roster order: $(cat out)"

case_ "batches show --format json: the batch header and its changes"
run -d $db batches show 2 --format json
expect_rc 0
python3 -c '
import json
d = json.load(open("out"))
b = d["batch"]
assert b["id"] == 2 and b["kind"] == "register" and b["outcome"] == "committed", b
assert b["label"] == "week 2" and b["source"] == "data/roster.csv", b
assert b["undo_of"] is None and b["undone_by"] is None, b
assert b["promoted"] == 0 and b["dropped"] == 0 and b["skipped"] == 0, b
assert b["registered"] == 18 and b["rejected"] == 16, b
c = d["changes"]
assert all(x["batch"] == 2 for x in c), c
s = [x for x in c if x["event"] == "student"][0]
assert s["course"] is None and s["old"] is None and s["new"]["email"], s
a = [x for x in c if x["event"] == "added"][0]
assert a["old"] is None and a["new"]["status"] in ("registered", "waitlisted"), a
print(len(c))
' >n || fail "json: $(cat out)"
[ "$(cat n)" = "$(sql $db 'SELECT (SELECT count(*) FROM registrations WHERE batch_id = 2) + (SELECT count(*) FROM students WHERE created_batch = 2)')" ] || fail "count $(cat n)"

case_ "batches show of a dry run: the header, no changes"
run -d $db batches show 3
expect_rc 0
expect_out "dry_run"
expect_out "(no changes)"

case_ "batches show of a drop: dropped and promoted, before -> after, the promotion behind its drop"
run -d $db drop --student S1004 --course CS101
expect_rc 0
db_=$(sql $db "SELECT max(id) FROM batches")
run -d $db batches show "$db_"
expect_rc 0
grep -Eq "^ +$db_ .* drop +committed +1 +0 +0 +0 +0 +1 +1 +0 +0\$" out || fail "header: $(cat out)"
[ "$(grep -E '^(dropped|promoted) ' out | awk '{print $1, $3}' | tr '\n' ' ')" = "dropped S1004 promoted S1007 " ] ||
	fail "order: $(cat out)"
grep -Eq '^dropped +CS101 +S1004 +registered seat 2 +-> -$' out || fail "dropped: $(cat out)"
grep -Eq '^promoted +CS101 +S1007 +waitlisted position 1 +-> registered seat 5$' out || fail "promoted: $(cat out)"
run -d $db batches show "$db_" --format csv
expect_rc 0
grep -qx 'dropped,CS101,S1004,,registered,2,,1,5,,,,,,,,,' out || fail "csv: $(cat out)"
grep -qx 'promoted,CS101,S1007,,waitlisted,,1,1,8,registered,5,,,,,,,' out || fail "csv: $(cat out)"

case_ "batches show of a repair: the history made to agree, the promotion owed"
# The history says S1007 holds seat 5; a person deletes the row.
sql $db "DELETE FROM registrations WHERE course_id = 3 AND student_id = 'S1007'"
run -d $db verify --repair
expect_rc 0
rb=$(sql $db "SELECT max(id) FROM batches")
run -d $db batches show "$rb"
expect_rc 0
grep -Eq "^ +$rb .* repair +committed +0 +0 +0 +0 +0 +1 +0 +0 +0\$" out || fail "header: $(cat out)"
expect_out "source verify --repair"
grep -Eq '^dropped +CS101 +S1007 +registered seat 5 +-> -$' out || fail "dropped: $(cat out)"
grep -Eq '^promoted +CS101 +S1017 +waitlisted position 1 +-> registered seat 6$' out || fail "promoted: $(cat out)"

case_ "batches show: an unknown batch is exit 2 naming it; N must be a number"
run -d $db batches show 99
expect_rc 2
expect_err "no batch 99"
expect_empty out
run -d $db batches show abc
expect_rc 2
expect_err "bulkreg: batches show: no batch 'abc'"
expect_err "Try 'bulkreg batches show --help'."
run -d $db batches show
expect_rc 2
run -d $db batches show 1 2
expect_rc 2
run -d $db batches show --help
expect_rc 0
expect_out "usage: bulkreg batches show N"

case_ "batches show of a sync: rows and additions in roster order, then the sync's drops and promotions"
rm -f s.db
run -q -d s.db course import "$ROOT/data/courses.csv"
run -q -d s.db register "$ROOT/data/enrolled.csv"
printf 'student_id,email,course\nS1001,a@x.org,MATH101\nS2002,b@x.org,CS101\n' >sync.csv
run -q -d s.db register sync.csv --sync --max-drops 100%
run -d s.db batches show 2
expect_rc 0
[ "$(grep -E '^(student|added|dropped|promoted) ' out | awk '{print $1, $3}' | tr '\n' ' ')" = \
	"student S1001 student S2002 added S2002 dropped S1003 dropped S1004 dropped S1005 dropped S1006 dropped S1007 promoted S2002 dropped S1002 " ] ||
	fail "order: $(cat out)"

case_ "a student created by a batch and deleted by its undo: both batches and the student show it"
run -q -d s.db undo 2
expect_rc 0
run -d s.db batches show 2
expect_rc 0
grep -Eq '^student +- +S2002 +3 +- +-> <b@x.org>$' out || fail "creation: $(cat out)"
run -d s.db batches show 3
expect_rc 0
grep -Eq '^student +- +S2002 +<b@x.org> +-> -$' out || fail "deletion: $(cat out)"
run -d s.db student S2002
expect_rc 0
expect_out "no longer in the database"
[ "$(grep -E '^ +[0-9]+ +[a-z]+ +[a-z]+ ' out | awk '{print $1, $3}' | tr '\n' ' ')" = \
	"2 student 2 added 2 promoted 3 restored 3 dropped 3 student " ] || fail "history: $(cat out)"

# ---- batches: the version-2 columns ---------------------------------------------------------

case_ "batches --format json: kind and the new counts, zero counts kept"
run -d $db batches --format json
expect_rc 0
python3 -c '
import json
b = {x["id"]: x for x in json.load(open("out"))["batches"]}
for i in (1, 2, 3):
    assert b[i]["kind"] == "register", b[i]
    for k in ("promoted", "dropped", "skipped"):
        assert b[i][k] == 0, (i, k, b[i])
    assert b[i]["undo_of"] is None and b[i]["undone_by"] is None, b[i]
r = b[max(b)]
assert r["kind"] == "repair" and r["promoted"] == 1 and r["options"] == {}, r
' || fail "json: $(cat out)"

case_ "batches: options and undo links as recorded, in every format"
sql $db "UPDATE batches SET options = '{\"course\":\"MATH101\",\"strict\":true,\"max_drops\":\"10%\"}', undone_by = 3 WHERE id = 2;
UPDATE batches SET undo_of = 2 WHERE id = 3"
run -d $db batches --format csv
expect_rc 0
[ "$(q "SELECT kind, promoted, dropped, skipped, undo_of, undone_by, options FROM r WHERE id = '2'")" = \
	'register 0 0 0  3 {"course":"MATH101","strict":true,"max_drops":"10%"}' ] || fail "csv: $(cat out)"
[ "$(q "SELECT undo_of, undone_by FROM r WHERE id = '3'")" = "2 " ] || fail "csv: $(cat out)"
run -d $db batches --format json
expect_rc 0
python3 -c '
import json
b = {x["id"]: x for x in json.load(open("out"))["batches"]}
assert b[2]["options"] == {"course": "MATH101", "strict": True, "max_drops": "10%"}, b[2]
assert b[2]["undone_by"] == 3 and b[3]["undo_of"] == 2, (b[2], b[3])
' || fail "json: $(cat out)"
run -d $db batches
expect_rc 0
expect_out 'options {"course":"MATH101","strict":true,"max_drops":"10%"} undone by 3'
expect_out "undo of 2"

case_ "batches --format json: options that are not JSON come out as null, the document stays valid"
sql $db "UPDATE batches SET options = '{not json' WHERE id = 2"
run -d $db batches --format json
expect_rc 0
python3 -c '
import json
b = {x["id"]: x for x in json.load(open("out"))["batches"]}
assert b[2]["options"] is None, b[2]
' || fail "json: $(cat out)"

# ---- student ID ------------------------------------------------------------------------------

case_ "student (text): values, courses, history oldest first"
run -d $db student S1017
expect_rc 0
expect_out "student S1017: Quentin Dubois <quentin.dubois@example.edu>  (created by batch 2)"
grep -Eq '^CS101 +registered +6 +2 +12$' out || fail "course: $(cat out)"
grep -Eq "^ +2 +register +student +- +S1017 +12 +- +-> Quentin Dubois" out || fail "history: $(cat out)"
grep -Eq "^ +2 +register +added +CS101 +S1017 +12 +- +-> waitlisted position 1$" out || fail "history: $(cat out)"
grep -Eq "^ +$rb +repair +promoted +CS101 +S1017 +waitlisted position 1 +-> registered seat 6$" out ||
	fail "history: $(cat out)"
# Oldest first.
[ "$(grep -E '^ +[0-9]+ +[a-z]+ +[a-z]+ ' out | awk '{print $3}' | tr '\n' ' ')" = "student added promoted " ] ||
	fail "order: $(cat out)"

case_ "student: a pair dropped shows its addition, its drop, and no course"
run -d $db student S1004
expect_rc 0
expect_out "(no courses)"
[ "$(grep -E '^ +[0-9]+ +[a-z]+ +[a-z]+ ' out | awk '{print $1, $3}' | tr '\n' ' ')" = "1 student 1 added $db_ dropped " ] ||
	fail "history: $(cat out)"
grep -Eq "^ +1 +register +added +CS101 +S1004 +5 +- +-> registered seat 2$" out || fail "added: $(cat out)"

case_ "student --format csv: a student row, course rows, history rows"
run -d $db student S1017 --format csv
expect_rc 0
head -1 out >header
printf 'record,student_id,course,status,seat,position,batch,line,event,old_status,old_seat,old_position,old_first_name,old_last_name,old_email,first_name,last_name,email\n' >want
expect_same want header
[ "$(q "SELECT record, student_id, batch, first_name, last_name, email FROM r WHERE record = 'student'")" = \
	"student S1017 2 Quentin Dubois quentin.dubois@example.edu" ] || fail "student row: $(cat out)"
[ "$(q "SELECT course, status, seat, position, batch, line FROM r WHERE record = 'course'")" = \
	"CS101 registered 6  2 12" ] || fail "course row: $(cat out)"
[ "$(q "SELECT group_concat(event || ':' || course || ':' || status || seat || position || ':' || old_status || old_position, ' ') FROM r WHERE record = 'history'")" = \
	"student::: added:CS101:waitlisted1: promoted:CS101:registered6:waitlisted1" ] || fail "history rows: $(cat out)"

case_ "student --format json"
run -d $db student S1001 --format json
expect_rc 0
python3 -c '
import json
d = json.load(open("out"))
assert d["student_id"] == "S1001" and d["exists"] is True, d
assert (d["first_name"], d["last_name"], d["email"]) == ("Amara", "Okafor", "amara.okafor@example.edu"), d
assert d["courses"] == [{"course": "MATH101", "status": "registered", "seat": 1, "position": None,
                         "batch": 1, "line": 2}], d["courses"]
h = d["history"]
assert [x["event"] for x in h] == ["student", "added"], h
assert h[1]["new"] == {"status": "registered", "seat": 1, "position": None}, h[1]
assert h[0]["new"]["first_name"] == "Amara" and h[0]["old"] is None, h[0]
' || fail "json: $(cat out)"

case_ "student: one no longer in the database still shows their history"
sql $db "DELETE FROM registrations WHERE student_id = 'S1004'; DELETE FROM students WHERE student_id = 'S1004'"
run -d $db student S1004
expect_rc 0
expect_out "no longer in the database"
expect_out "(no courses)"
[ "$(grep -E '^ +[0-9]+ +[a-z]+ +[a-z]+ ' out | awk '{print $3}' | tr '\n' ' ')" = "added dropped " ] ||
	fail "history: $(cat out)"
run -d $db student S1004 --format json
expect_rc 0
python3 -c '
import json
d = json.load(open("out"))
assert d["exists"] is False and d["courses"] == [] and d["history"], d
' || fail "json: $(cat out)"

case_ "student: unknown is exit 2 naming them; usage"
run -d $db student NOPE
expect_rc 2
expect_err "no student 'NOPE'"
expect_empty out
run -d $db student
expect_rc 2
run -d $db student A B
expect_rc 2
run -d $db student S1001 --format yaml
expect_rc 2
run -d $db student --help
expect_rc 0
expect_out "usage: bulkreg student ID"

# ---- course list over capacity ---------------------------------------------------------------

case_ "course list: a capacity lowered below the registered count shows 0 seats left and how many over"
run -d $db course add BIO110 --capacity 1
expect_rc 0
run -d $db course list --format csv
expect_rc 0
[ "$(q "SELECT capacity, registered, seats_left, over_capacity FROM r WHERE code = 'BIO110'")" = "1 3 0 2" ] ||
	fail "csv: $(cat out)"
[ "$(q "SELECT seats_left, over_capacity FROM r WHERE code = 'ART105'")" = "2 0" ] || fail "csv: $(cat out)"
run -d $db course list --format json
expect_rc 0
python3 -c '
import json
c = {x["code"]: x for x in json.load(open("out"))["courses"]}
assert c["BIO110"]["seats_left"] == 0 and c["BIO110"]["over_capacity"] == 2, c["BIO110"]
assert c["ART105"]["seats_left"] == 2 and c["ART105"]["over_capacity"] == 0, c["ART105"]
' || fail "json: $(cat out)"
run -d $db course list
expect_rc 0
grep -Eq 'SEATS LEFT +OVER$' out || fail "header: $(cat out)"
grep -Eq '^BIO110 .* 1 +0 +3 +0 +0 +2$' out || fail "BIO110: $(cat out)"

case_ "student and batches show: a long code or a GUID id is cut to its column, which keeps its width (review 17 C5)"
dbw=$(new_db wide)
"$BULKREG" -q -d "$dbw" course add "Phys 100 - Section 1 (Lab)" --capacity 3 || fail "setup"
"$BULKREG" -q -d "$dbw" course add ART105 --capacity 3 || fail "setup"
printf '%s\n' "student_id,first_name,last_name,email,course" \
	"6f1c2a9e-3b7d-4c1e-9a2b-5d8e7f6a1b2c,Al,Bo,s77@example.com,Phys 100 - Section 1 (Lab)" \
	"6f1c2a9e-3b7d-4c1e-9a2b-5d8e7f6a1b2c,Al,Bo,s77@example.com,ART105" >wide.csv
"$BULKREG" -q -d "$dbw" register wide.csv || fail "register"
run -d "$dbw" student 6f1c2a9e-3b7d-4c1e-9a2b-5d8e7f6a1b2c
expect_rc 0
cp out student.txt
run -d "$dbw" batches show 1
expect_rc 0
python3 - student.txt out <<'PY' || fail "columns moved: $(cat student.txt out)"
import sys
st = open(sys.argv[1], encoding="utf-8").read().splitlines()
head = next(l for l in st if l.startswith("COURSE"))
rows = [l for l in st if l.startswith(("ART105", "Phys"))]
assert len(rows) == 2, rows
for r in rows:
    assert r.index("registered") == head.index("STATUS"), (r, head)
assert any(r.startswith("Phys 100 - Sectio...  ") for r in rows), rows
sh = open(sys.argv[2], encoding="utf-8").read().splitlines()
head = next(l for l in sh if l.startswith("EVENT"))
rows = [l for l in sh if l.startswith(("added", "student"))]
assert len(rows) == 3, rows
for r in rows:
    assert r.index("6f1c2a9e-3b7d-4c1...") == head.index("STUDENT"), (r, head)
    assert r.rindex(" -> ") - len(r.split(" -> ")[0]) >= 0
    # LINE ends where the header's does.
    assert r[head.index("LINE") + 3] in "23", (r, head)
PY
run -d "$dbw" batches show 1 --format csv
expect_out "Phys 100 - Section 1 (Lab),6f1c2a9e-3b7d-4c1e-9a2b-5d8e7f6a1b2c"
