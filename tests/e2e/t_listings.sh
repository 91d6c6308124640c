# shellcheck shell=sh
# shellcheck disable=SC2154,SC2034 # BULKREG, DATA, RC: lib.sh and run use them
# t_listings: course list, roster CODE, batches (text, csv, json); init;
# course import; --help and -V; BULKREG_DB and -d.

db=$(new_db t)

# q CSVFILE SQL: runs SQL over a csv file imported as table r.
q() {
	sqlite3 -separator ' ' :memory: ".import --csv $1 r" "$2"
}

# json_ok FILE: FILE is one valid JSON document.
json_ok() {
	python3 -m json.tool "$1" >/dev/null 2>json.err || fail "$1 is not JSON: $(cat json.err)
$(head -c 2000 "$1")"
}

# ---- an empty database -------------------------------------------------------------

case_ "empty database: course list in every format"
run -d $db init
expect_rc 0
run -d $db course list
expect_rc 0
expect_out "No courses yet"
run -d $db course list --format csv
expect_rc 0
printf 'code,title,capacity,waitlist,registered,waitlisted,seats_left,over_capacity\n' >want
expect_same want out
run -d $db course list --format json
expect_rc 0
json_ok out
expect_out '"courses": []'

case_ "empty database: batches in every format"
run -d $db batches
expect_rc 0
expect_out "no batches yet"
run -d $db batches --format csv
expect_rc 0
printf 'id,started_at,finished_at,source,sha256,label,outcome,rows,registered,waitlisted,already_registered,already_waitlisted,rejected,kind,promoted,dropped,skipped,undo_of,undone_by,options\n' >want
expect_same want out
run -d $db batches --format json
expect_rc 0
json_ok out
expect_out '"batches": []'

# ---- init --------------------------------------------------------------------------

case_ "init creates the database at schema version 3"
rm -f init.db
run -d init.db init
expect_rc 0
[ -f init.db ] || fail "no init.db"
[ "$(sql init.db 'PRAGMA user_version')" = 3 ] || fail "user_version $(sql init.db 'PRAGMA user_version')"
sql init.db "SELECT type, name, sql FROM sqlite_master ORDER BY name" >schema.1

case_ "init is idempotent: twice, and on a database in use"
run -d init.db init
expect_rc 0
sql init.db "SELECT type, name, sql FROM sqlite_master ORDER BY name" >schema.2
expect_same schema.1 schema.2
run -d init.db course add I1 --capacity 2
expect_rc 0
printf 'student_id,email,course\nI1,i1@uni.example,I1\n' >i.csv
run -d init.db register i.csv
expect_rc 0
dump init.db before.dump
nb=$(sql init.db 'SELECT count(*) FROM batches')
run -d init.db init
expect_rc 0
dump init.db after.dump
expect_same before.dump after.dump
[ "$(sql init.db 'SELECT count(*) FROM batches')" = "$nb" ] || fail "init changed the batch history"
run -q -d init.db init
expect_rc 0
expect_empty out
expect_empty err

case_ "init takes no arguments"
run -d init.db init extra
expect_rc 2

# ---- course import -------------------------------------------------------------------

case_ "course import creates every course"
run -d $db course import "$DATA/courses/outcomes.csv"
expect_rc 0
[ "$(sql $db 'SELECT count(*) FROM courses')" = 5 ] || fail "courses: $(sql $db 'SELECT code FROM courses')"

case_ "course import with bad rows: each reported by line, nothing written, exit 1"
dump $db before.dump
cat >bad_courses.csv <<'EOF'
code,title,capacity,waitlist
OPEN,Changed title,7,
NEW1,Would be new,3,1
"bad	code",Bad code,3,
NEW2,Negative,-1,
NEW3,Not a number,ten,
NEW4,Bad waitlist,3,-2
NEW5,Too many seats,1000001,
NEW6,Short row,3
EOF
run -d $db course import bad_courses.csv
expect_rc 1
for l in 4 5 6 7 8 9; do
	expect_err "bad_courses.csv: line $l:"
done
! grep -q "line 2:" err || fail "a good row was reported: $(cat err)"
! grep -q "line 3:" err || fail "a good row was reported: $(cat err)"
expect_err "6 bad rows"
dump $db after.dump
expect_same before.dump after.dump

case_ "course import: a course listed twice is a bad row"
printf 'code,title,capacity,waitlist\nNEW7,A,1,\nNEW7,B,2,\n' >twice.csv
run -d $db course import twice.csv
expect_rc 1
expect_err "line 3"
dump $db after.dump
expect_same before.dump after.dump

case_ "course import: an unusable file is exit 2"
run -d $db course import no-such-courses.csv
expect_rc 2
expect_err "no-such-courses.csv"
printf 'code,title\nX,y\n' >nocap.csv
run -d $db course import nocap.csv
expect_rc 2
expect_err "capacity"
dump $db after.dump
expect_same before.dump after.dump

case_ "course import updates existing courses; an empty waitlist cell is unlimited"
printf 'code,title,capacity,waitlist\nONE,"One seat, renamed",4,\nNEW8,"Title with ""quotes""",9,2\n' >update.csv
run -d $db course import update.csv
expect_rc 0
got=$(sql $db "SELECT code || '|' || title || '|' || capacity || '|' || coalesce(CAST(waitlist_max AS TEXT), 'unlimited') FROM courses WHERE code IN ('ONE', 'NEW8') ORDER BY code")
[ "$got" = 'NEW8|Title with "quotes"|9|2
ONE|One seat, renamed|4|unlimited' ] || fail "courses: $got"

# ---- course list ------------------------------------------------------------------------

case_ "setup: registrations in several courses"
printf 'student_id,first_name,last_name,email,course\n' >reg.csv
printf 'L1,Ann,One,l1@uni.example,WL2\nL2,Bob,Two,l2@uni.example,WL2\nL3,Cat,Three,l3@uni.example,WL2\nL4,Dan,Four,l4@uni.example,WL2\n' >>reg.csv
printf 'L5,Eve,Five,l5@uni.example,WAITONLY\nL6,Fay,Six,l6@uni.example,WAITONLY\nL1,Ann,One,l1@uni.example,OPEN\n' >>reg.csv
run -d $db register reg.csv --label "listing setup"
expect_rc 0

case_ "course list --format csv: every column, one course per line, by code"
run -d $db course list --format csv
expect_rc 0
cp out courses.csv
got=$(q courses.csv "SELECT code, capacity, coalesce(nullif(waitlist, ''), 'unlimited'), registered, waitlisted, seats_left FROM r ORDER BY rowid")
want="NEW8 9 2 0 0 9
ONE 4 unlimited 0 0 4
OPEN 100 unlimited 1 0 99
WAITONLY 0 unlimited 0 2 0
WL2 2 2 2 2 0
ZERO 0 0 0 0 0"
[ "$got" = "$want" ] || fail "course list:
$got"
[ "$(q courses.csv "SELECT title FROM r WHERE code = 'ONE'")" = "One seat, renamed" ] || fail "title"
[ "$(q courses.csv "SELECT title FROM r WHERE code = 'NEW8'")" = 'Title with "quotes"' ] || fail "title"

case_ "course list --format json: the same numbers, waitlist null when unlimited"
run -d $db course list --format json
expect_rc 0
json_ok out
python3 -c '
import json, sys
c = {x["code"]: x for x in json.load(open("out"))["courses"]}
want = {"code": "WL2", "title": "Two seats and a waitlist of two", "capacity": 2,
        "waitlist": 2, "registered": 2, "waitlisted": 2, "seats_left": 0,
        "over_capacity": 0}
if c["WL2"] != want: sys.exit("WL2: %r" % c["WL2"])
if c["OPEN"]["waitlist"] is not None or c["OPEN"]["seats_left"] != 99: sys.exit("OPEN: %r" % c["OPEN"])
if sorted(c) != ["NEW8", "ONE", "OPEN", "WAITONLY", "WL2", "ZERO"]: sys.exit("codes: %r" % sorted(c))
' || fail "course list json"

case_ "course list (text): a header and a line per course"
run -d $db course list
expect_rc 0
grep -Eq '^CODE +TITLE +CAPACITY +WAITLIST +REGISTERED +WAITLISTED +SEATS LEFT' out || fail "header:
$(cat out)"
grep -Eq '^WL2 +Two seats and a waitlist of(\.\.\.| two) +2 +2 +2 +2 +0 +0$' out || fail "WL2 line:
$(cat out)"
grep -Eq '^OPEN +Plenty of seats +100 +unlimited +1 +0 +99 +0$' out || fail "OPEN line:
$(cat out)"
[ "$(grep -c . out)" = 7 ] || fail "lines: $(cat out)"

case_ "course list: a bad --format or an argument is exit 2"
run -d $db course list --format xml
expect_rc 2
run -d $db course list extra
expect_rc 2

# ---- roster CODE -------------------------------------------------------------------------

case_ "roster CODE --format csv: the columns, registered in seat order, then the waitlist"
run -d $db roster WL2 --format csv
expect_rc 0
head -n 1 out >header
printf 'student_id,first_name,last_name,email,status,position,batch,line\n' >want
expect_same want header
batch=$(sql $db "SELECT max(id) FROM batches")
cat >want <<EOF
student_id,first_name,last_name,email,status,position,batch,line
L1,Ann,One,l1@uni.example,registered,,$batch,2
L2,Bob,Two,l2@uni.example,registered,,$batch,3
L3,Cat,Three,l3@uni.example,waitlisted,1,$batch,4
L4,Dan,Four,l4@uni.example,waitlisted,2,$batch,5
EOF
expect_same want out

case_ "roster CODE: seat order across batches, waitlist by position after a promotion"
printf 'student_id,email,course\nL7,l7@uni.example,WAITONLY\n' >more.csv
run -d $db register more.csv
expect_rc 0
run -d $db course add WAITONLY --capacity 1
expect_rc 0
run -d $db roster WAITONLY --format csv
expect_rc 0
got=$(q out "SELECT student_id, status, coalesce(nullif(position, ''), '-') FROM r ORDER BY rowid")
want="L5 registered -
L6 waitlisted 1
L7 waitlisted 2"
[ "$got" = "$want" ] || fail "roster WAITONLY:
$got"

case_ "roster CODE --format json: the same students, position null when registered"
run -d $db roster WL2 --format json
expect_rc 0
json_ok out
python3 -c '
import json, sys
d = json.load(open("out"))
if d["course"] != "WL2": sys.exit("course %r" % d["course"])
got = [(s["student_id"], s["status"], s["position"], s["line"]) for s in d["students"]]
want = [("L1", "registered", None, 2), ("L2", "registered", None, 3),
        ("L3", "waitlisted", 1, 4), ("L4", "waitlisted", 2, 5)]
if got != want: sys.exit("students %r" % got)
s = d["students"][0]
if (s["first_name"], s["last_name"], s["email"]) != ("Ann", "One", "l1@uni.example"): sys.exit("%r" % s)
if not isinstance(s["batch"], int): sys.exit("batch %r" % s["batch"])
' || fail "roster json"

case_ "roster CODE (text): status, position, student, name, batch, line, email (last, so a long one cannot misalign)"
run -d $db roster WL2
expect_rc 0
grep -Eq '^STATUS +POS +STUDENT +NAME +BATCH +LINE +EMAIL$' out || fail "header: $(cat out)"
grep -Eq "^registered +L1 +Ann One +$batch +2 +l1@uni.example\$" out || fail "L1: $(cat out)"
grep -Eq "^waitlisted +2 +L4 +Dan Four +$batch +5 +l4@uni.example\$" out || fail "L4: $(cat out)"
# Every row's BATCH column ends where the header's does.
awk 'NR == 1 { end = index($0, "BATCH") + 4; next }
	{ if (substr($0, end, 1) !~ /[0-9]/ || substr($0, end + 1, 1) != " ") bad = 1 }
	END { exit bad }' out || fail "columns out of line: $(cat out)"

case_ "roster of a course without students"
for f in text csv json; do
	run -d $db roster ZERO --format $f
	expect_rc 0
done
json_ok out
expect_out '"students": []'
run -d $db roster ZERO
expect_out "no students"

case_ "roster of an unknown CODE is exit 2, naming it, in every format"
dump $db before.dump
for f in text csv json; do
	run -d $db roster NOPE101 --format $f
	expect_rc 2
	expect_err "NOPE101"
done
run -d $db roster open
expect_rc 2
dump $db after.dump
expect_same before.dump after.dump

case_ "roster needs exactly one CODE; a bad --format is exit 2"
run -d $db roster
expect_rc 2
run -d $db roster WL2 OPEN
expect_rc 2
run -d $db roster WL2 --format xml
expect_rc 2

# ---- batches -------------------------------------------------------------------------------

case_ "batches --format csv: id, times, source, sha256 of the file, label, counts, outcome"
run -d $db register "$DATA/rosters/outcomes.csv" --label "Monday, roster" --dry-run
expect_rc 1
run -d $db batches --format csv
expect_rc 0
cp out batches.csv
n=$(q batches.csv "SELECT count(*) FROM r")
[ "$n" = 4 ] || fail "$n batches" # 3: the capacity raise that promoted (course add WAITONLY)
sha=$(sha256sum "$DATA/rosters/outcomes.csv" | cut -d' ' -f1)
got=$(q batches.csv "SELECT id, source, sha256, label, outcome, rows, registered, waitlisted, already_registered, already_waitlisted, rejected FROM r ORDER BY rowid DESC LIMIT 1")
[ "$got" = "4 $DATA/rosters/outcomes.csv $sha Monday, roster dry_run 25 4 2 0 0 19" ] || fail "batch 4: $got"
sha=$(sha256sum reg.csv | cut -d' ' -f1)
got=$(q batches.csv "SELECT id, source, sha256, label, outcome, rows, registered, waitlisted, already_registered, already_waitlisted, rejected FROM r ORDER BY rowid LIMIT 1")
[ "$got" = "1 reg.csv $sha listing setup committed 7 3 4 0 0 0" ] || fail "batch 1: $got"

case_ "batches: times are UTC ISO 8601, start <= end, ids in order"
got=$(q batches.csv "SELECT count(*) FROM r WHERE started_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*Z'
	AND finished_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*Z'
	AND started_at <= finished_at")
[ "$got" = 4 ] || fail "times: $(cat batches.csv)"
[ "$(q batches.csv "SELECT group_concat(id, ' ') FROM r")" = "1 2 3 4" ] || fail "ids"
[ "$(q batches.csv "SELECT label FROM r WHERE id = '2'")" = "" ] || fail "batch 2 has a label"

case_ "batches --format json: the same, label null when absent, reasons counted"
run -d $db batches --format json
expect_rc 0
json_ok out
python3 -c '
import json, sys
b = json.load(open("out"))["batches"]
if [x["id"] for x in b] != [1, 2, 3, 4]: sys.exit("ids %r" % [x["id"] for x in b])
x = b[3]
for k, v in {"outcome": "dry_run", "rows": 25, "label": "Monday, roster", "rejected": 19,
             "registered": 4, "waitlisted": 2, "already_registered": 0, "already_waitlisted": 0}.items():
    if x[k] != v: sys.exit("batch 4 %s: %r" % (k, x[k]))
if x["reasons"].get("course_full") != 7 or sum(x["reasons"].values()) != 19:
    sys.exit("reasons %r" % x["reasons"])
if b[1]["label"] is not None: sys.exit("label %r" % b[1]["label"])
for k in ("started_at", "finished_at", "source", "sha256"):
    if not isinstance(x[k], str) or not x[k]: sys.exit("%s: %r" % (k, x[k]))
' || fail "batches json"

case_ "batches (text): id, start, end, outcome, counts, then source, sha256, label"
run -d $db batches
expect_rc 0
grep -Eq '^ *BATCH +STARTED' out || fail "header: $(cat out)"
grep -Eq '^ +4 +[0-9-]+T[0-9:.]+Z +register +dry_run +25 +4 +2 +0 +0 +0 +0 +0 +19$' out ||
	fail "batch 4: $(cat out)"
grep -Eq '^ +source [^ ]*outcome[^ ]* +label Monday, roster$' out || fail "batch 4 source: $(cat out)"
grep -Eq '^ +1 .* register +committed +7 +3 +4 +0 +0 +0 +0 +0 +0$' out || fail "batch 1: $(cat out)"
grep -Eq '^ +source reg\.csv +label listing setup$' out || fail "batch 1 source: $(cat out)"
grep -Eq '^ +finished [0-9-]+T[0-9:.]+Z +sha256 [0-9a-f]{64}$' out || fail "finished/sha256: $(cat out)"

case_ "batches takes no arguments; a bad --format is exit 2"
run -d $db batches extra
expect_rc 2
run -d $db batches --format yaml
expect_rc 2

# ---- help, version ---------------------------------------------------------------------------

case_ "--help of bulkreg and of every command: exit 0, usage on stdout, no database"
mkdir helpdir
cd helpdir || fail "cd helpdir"
for args in "--help" "-h" "help" "init --help" "course --help" "course add --help" \
	"course import --help" "course list --help" "register --help" "roster --help" \
	"batches --help" "register -h"; do
	# shellcheck disable=SC2086 # the command's words
	run $args
	expect_rc 0
	expect_out "usage:"
	expect_empty err
done
[ ! -e bulkreg.db ] || fail "--help created bulkreg.db"
cd .. || fail "cd .."

case_ "register --help lists every option"
run register --help
for opt in --course --dry-run --strict --workers --format --output --label --delimiter --wait; do
	expect_out "$opt"
done

case_ "-V and --version print the version"
run -V
expect_rc 0
grep -Eq '^bulkreg [0-9]+\.[0-9]+' out || fail "version: $(cat out)"
# The Makefile's version, which the man page's HISTORY and the README
# describe; 0.1.0 is the schema-1 release this one upgrades (review 7).
v=$(sed -n 's/^VERSION *:= *//p' "$ROOT/Makefile")
[ "$(cat out)" = "bulkreg $v" ] || fail "version: $(cat out), Makefile $v"
[ "$v" != 0.1.0 ] || fail "still 0.1.0, the version of the schema-1 release"
sed -n '/^\.Sh HISTORY/,/^\.Sh CAVEATS/p' "$ROOT/man/bulkreg.1" | grep -q "^$v brought" ||
	fail "the man page's HISTORY does not say what $v is"
grep -q "bulkreg $v" "$ROOT/README.md" || fail "the README does not name $v"
cp out v1
run --version
expect_rc 0
expect_same v1 out

# ---- where the database is ------------------------------------------------------------------

case_ "BULKREG_DB is honoured"
BULKREG_DB=env.db "$BULKREG" course add ENV --capacity 1 >out 2>err
RC=$?
expect_rc 0
[ "$(sql env.db "SELECT code FROM courses")" = ENV ] || fail "env.db lacks ENV"
[ ! -e bulkreg.db ] || fail "bulkreg.db was created"

case_ "-d overrides BULKREG_DB"
BULKREG_DB=env.db "$BULKREG" -d other.db course add OTHER --capacity 1 >out 2>err
RC=$?
expect_rc 0
[ "$(sql other.db "SELECT code FROM courses")" = OTHER ] || fail "other.db lacks OTHER"
[ "$(sql env.db "SELECT group_concat(code) FROM courses")" = ENV ] || fail "env.db was changed"
BULKREG_DB=env.db "$BULKREG" --db other.db course list --format csv >out 2>err
expect_out "OTHER,"
expect_no_out "ENV,"

case_ "without -d or BULKREG_DB: ./bulkreg.db"
mkdir defaultdir
(cd defaultdir && unset BULKREG_DB && "$BULKREG" course add DEF --capacity 1) >out 2>err ||
	fail "course add: $(cat err)"
[ "$(sql defaultdir/bulkreg.db "SELECT code FROM courses")" = DEF ] || fail "no defaultdir/bulkreg.db"
(cd defaultdir && BULKREG_DB="" "$BULKREG" course list --format csv) >out 2>err
expect_out "DEF,"
