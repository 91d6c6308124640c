# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_values: values are stored and reported byte for byte -- non-ASCII names,
# SQL and printf metacharacters in every field -- after trimming the spaces
# around them; a known student's names and email are updated from non-empty
# values only.

db=$(new_db t)
unicode=$DATA/rosters/unicode.csv

# check.py MODE ARGS: compares what bulkreg stored or printed with the
# roster, as bytes.  One python run per check: python is slow to start.
cat >check.py <<'PY'
import csv, json, sqlite3, sys

def roster(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["student_id"].isascii()]

mode, path = sys.argv[1], sys.argv[2]
want = roster(path)
bad = []
if mode == "db":
    con = sqlite3.connect(sys.argv[3])
    con.text_factory = bytes
    for r in want:
        got = con.execute("SELECT first_name, last_name, email FROM students"
                          " WHERE student_id = ?", (r["student_id"],)).fetchone()
        exp = tuple(r[k].encode("utf-8") for k in ("first_name", "last_name", "email"))
        if got != exp:
            bad.append("%s: stored %r, roster %r" % (r["student_id"], got, exp))
elif mode == "listing-csv":
    with open(sys.argv[3], newline="", encoding="utf-8", errors="strict") as f:
        got = {r["student_id"]: r for r in csv.DictReader(f)}
    for r in want:
        g = got.get(r["student_id"])
        for k in ("first_name", "last_name", "email"):
            if g is None or g[k] != r[k]:
                bad.append("%s.%s: listed %r, roster %r" % (r["student_id"], k, g and g[k], r[k]))
elif mode == "listing-json":
    with open(sys.argv[3], encoding="utf-8") as f:
        got = {s["student_id"]: s for s in json.load(f)["students"]}
    for r in want:
        g = got.get(r["student_id"])
        for k in ("first_name", "last_name", "email"):
            if g is None or g[k] != r[k]:
                bad.append("%s.%s: listed %r, roster %r" % (r["student_id"], k, g and g[k], r[k]))
else:
    bad.append("unknown mode " + mode)
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY

case_ "setup"
run -d $db course add OPEN --capacity 100 --title "Open to all"
expect_rc 0

# ---- non-ASCII ----------------------------------------------------------------

case_ "non-ASCII names and emails are registered"
run -d $db register "$unicode" --format csv
expect_rc 0
cp out unicode.report
[ "$(grep -c ',registered,' out)" = 12 ] || fail "not every valid row registered:
$(cat out)"
expect_out "13,Jösé,OPEN,registered,"

case_ "non-ASCII names and emails are stored byte for byte (sqlite3)"
python3 check.py db "$unicode" "$(sqlite_file $db)" >problems 2>&1 || fail "$(cat problems)"
got=$(sql $db "SELECT hex(first_name) || ' ' || hex(last_name) FROM students WHERE student_id = 'U11'")
[ "$got" = "4A6F7365CC81 4E6664E2808B5A777370" ] || fail "U11 (NFD, zero-width space) stored as $got"

case_ "roster --format csv lists them byte for byte"
run -d $db roster OPEN --format csv
expect_rc 0
python3 check.py listing-csv "$unicode" out >problems 2>&1 || fail "$(cat problems)"
expect_out "U1,José,Martínez,jose.martinez@uni.example,registered,,1,2"

case_ "roster --format json lists them exactly"
run -d $db roster OPEN --format json
expect_rc 0
python3 check.py listing-json "$unicode" out >problems 2>&1 || fail "$(cat problems)"

case_ "roster (text) shows them as they are"
run -d $db roster OPEN
expect_rc 0
expect_out "José Martínez"
expect_out "王 小明"
expect_out "Дмитрий Иванов"
expect_out "zoë.müller@bücher.example"

case_ "the report echoes a non-ASCII student id byte for byte (csv and json)"
cp unicode.report out
[ "$(csv_field 13 student_id)" = "Jösé" ] || fail "csv: $(csv_field 13 student_id)"
run -d $db register "$unicode" --format json --dry-run
expect_rc 0
python3 -c '
import json, sys
r = [x for x in json.load(open("out", encoding="utf-8"))["results"] if x["line"] == 13][0]
sys.exit(0 if r["student_id"] == "J\u00f6s\u00e9" else "json: %r" % r["student_id"])' ||
	fail "json student_id"

# ---- SQL and printf metacharacters ----------------------------------------------

case_ "SQL metacharacters in every field are stored verbatim"
run -d $db course add "C--1" --capacity 10 --title "'); DROP TABLE courses; --"
expect_rc 0
cat >"o'hara; drop.csv" <<'EOF'
student_id,first_name,last_name,email,course
x--y,Robert'); DROP TABLE students; --,"O'Brien""; DELETE FROM courses; --",o'brien;--@x.example,C--1
a.b_c-d,%s%n%d%x,100% \ \n \\,per%cent@x.example,C--1
'); DROP TABLE students; --,x,y,z@x.example,C--1
inj,x,y,z@x.example,C--1' OR '1'='1
EOF
run -d $db register "o'hara; drop.csv" --label "'; DROP TABLE batches; --" --format csv
expect_rc 1
expect_out "2,x--y,C--1,registered"
expect_out "3,a.b_c-d,C--1,registered"
got=$(sql $db "SELECT first_name || '|' || last_name || '|' || email FROM students WHERE student_id = 'x--y'")
[ "$got" = "Robert'); DROP TABLE students; --|O'Brien\"; DELETE FROM courses; --|o'brien;--@x.example" ] ||
	fail "x--y stored as: $got"
got=$(sql $db "SELECT first_name || '|' || last_name || '|' || email FROM students WHERE student_id = 'a.b_c-d'")
[ "$got" = '%s%n%d%x|100% \ \n \\|per%cent@x.example' ] || fail "a.b_c-d stored as: $got"

case_ "SQL metacharacters: the rejected rows are echoed verbatim"
[ "$(csv_field 4 student_id)" = "'); DROP TABLE students; --" ] || fail "line 4: $(csv_field 4 student_id)"
[ "$(csv_field 5 course)" = "C--1' OR '1'='1" ] || fail "line 5: $(csv_field 5 course)"
[ "$(csv_field 5 reason)" = unknown_course ] || fail "line 5: $(csv_field 5 reason)"

case_ "SQL metacharacters: every table is intact"
for t in batch_courses batches courses history registrations students; do
	sql $db "SELECT count(*) FROM $t" >/dev/null 2>&1 || fail "table $t is gone"
done
# (13 before issue 12: Jösé and "'); DROP TABLE students; --" are valid ids now)
[ "$(sql $db 'SELECT count(*) FROM students')" = 15 ] || fail "students: $(sql $db 'SELECT count(*) FROM students')"
[ "$(sql $db 'SELECT count(*) FROM courses')" = 2 ] || fail "courses"
[ "$(sql $db "SELECT title FROM courses WHERE code = 'C--1'")" = "'); DROP TABLE courses; --" ] || fail "title"

case_ "SQL metacharacters: source path and label are stored verbatim"
run -d $db batches --format json
expect_rc 0
python3 -c '
import json, sys
b = json.load(open("out", encoding="utf-8"))["batches"][-1]
want = ("o'"'"'hara; drop.csv", "'"'"'; DROP TABLE batches; --")
sys.exit(0 if (b["source"], b["label"]) == want else "got %r" % ((b["source"], b["label"]),))' ||
	fail "batches"

case_ "printf directives in values, details and the text report are printed as text"
run -d $db register "o'hara; drop.csv" --label "%s%n%x"
expect_rc 1
expect_out "Label: %s%n%x"
expect_out "C--1' OR '1'='1"
run -d $db roster C--1
expect_rc 0
expect_out "%s%n%d%x"
printf 'student_id,email,course\nP1,p1@x.example,%%n%%s%%n%%s\n' >fmt.csv
run -d $db register fmt.csv --format csv
expect_rc 1
expect_out "2,P1,%n%s%n%s,rejected,,unknown_course,no course '%n%s%n%s'"

# ---- trimming ------------------------------------------------------------------

case_ "spaces and tabs around values are trimmed, inside and outside quotes"
tab=$(printf '\t')
{
	echo "student_id,first_name,last_name,email,course"
	echo "  T1  ,  Ann  ,${tab}Lee${tab}, t1@x.example ,  OPEN  "
	echo "\"  T2  \",\"  Mary  Ann  \" , \" Van  Dyke \" ,\"  t2@x.example  \",\" OPEN \""
} >trim.csv
run -d $db register trim.csv --format csv
expect_rc 0
expect_out "2,T1,OPEN,registered"
expect_out "3,T2,OPEN,registered"
got=$(sql $db "SELECT '[' || first_name || '][' || last_name || '][' || email || ']' FROM students WHERE student_id = 'T1'")
[ "$got" = "[Ann][Lee][t1@x.example]" ] || fail "T1: $got"
got=$(sql $db "SELECT '[' || first_name || '][' || last_name || '][' || email || ']' FROM students WHERE student_id = 'T2'")
[ "$got" = "[Mary  Ann][Van  Dyke][t2@x.example]" ] || fail "T2: $got"

# ---- updating a known student -----------------------------------------------------

case_ "a known student's names and email are updated from non-empty values"
run -d $db course add OTHER --capacity 100
expect_rc 0
printf 'student_id,first_name,last_name,email,course\nK1,Kate,Old,k1@old.example,OPEN\n' >k.csv
run -d $db register k.csv --format csv
expect_rc 0
printf 'student_id,first_name,last_name,email,course\nK1,,New,k1@new.example,OTHER\n' >k.csv
run -d $db register k.csv --format csv
expect_rc 0
[ "$(sql $db "SELECT first_name || '|' || last_name || '|' || email FROM students WHERE student_id = 'K1'")" = "Kate|New|k1@new.example" ] ||
	fail "K1: $(sql $db "SELECT * FROM students WHERE student_id = 'K1'")"

case_ "an already_registered row updates the names too"
printf 'student_id,first_name,last_name,email,course\nK1,Katherine,  ,k1@new.example,OPEN\n' >k.csv
run -d $db register k.csv --format csv
expect_rc 0
expect_out "already_registered"
[ "$(sql $db "SELECT first_name || '|' || last_name || '|' || email FROM students WHERE student_id = 'K1'")" = "Katherine|New|k1@new.example" ] ||
	fail "K1: $(sql $db "SELECT * FROM students WHERE student_id = 'K1'")"

case_ "a roster without name columns leaves the names alone"
printf 'student_id,email,course\nK1,k1@third.example,OPEN\n' >k.csv
run -d $db register k.csv --format csv
expect_rc 0
[ "$(sql $db "SELECT first_name || '|' || last_name || '|' || email FROM students WHERE student_id = 'K1'")" = "Katherine|New|k1@third.example" ] ||
	fail "K1: $(sql $db "SELECT * FROM students WHERE student_id = 'K1'")"

case_ "a rejected row does not update the student"
run -d $db course add NONE --capacity 0 --waitlist 0
expect_rc 0
printf 'student_id,first_name,last_name,email,course\nK1,Rejected,Rows,k1@rejected.example,NONE\nK1,Rejected,Rows,k1@rejected.example,NOPE\nK1,Re\001jected,Rows,,OPEN\n' >k.csv
run -d $db register k.csv --format csv
expect_rc 1
[ "$(sql $db "SELECT first_name || '|' || last_name || '|' || email FROM students WHERE student_id = 'K1'")" = "Katherine|New|k1@third.example" ] ||
	fail "K1: $(sql $db "SELECT * FROM students WHERE student_id = 'K1'")"

case_ "a dry run does not update the student"
printf 'student_id,first_name,last_name,email,course\nK1,Dry,Run,k1@dry.example,OPEN\n' >k.csv
run -d $db register k.csv --format csv --dry-run
expect_rc 0
[ "$(sql $db "SELECT first_name || '|' || last_name || '|' || email FROM students WHERE student_id = 'K1'")" = "Katherine|New|k1@third.example" ] ||
	fail "K1: $(sql $db "SELECT * FROM students WHERE student_id = 'K1'")"

case_ "the roster listing shows the updated values"
run -d $db roster OPEN --format csv
expect_rc 0
expect_out "K1,Katherine,New,k1@third.example,registered,,"
