# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_reports: the three report formats -- json parses and has its fields,
# csv round-trips through Python's csv module in roster order, the formula
# guard, text's summary and table; -o FILE is atomic; -q.

db=$(new_db t)
roster=$DATA/rosters/outcomes.csv

# check.py MODE REPORT ROSTER: checks a report against its roster.
cat >check.py <<'PY'
import csv, io, json, sys

mode, report, roster_path = sys.argv[1], sys.argv[2], sys.argv[3]
problems = []
def bad(msg):
    problems.append(msg)

# The roster's records with the line each starts on, as csvread counts.
def roster_rows(path):
    data = open(path, "rb").read().decode("utf-8", "surrogateescape")
    if data.startswith("\ufeff"):
        data = data[1:]
    rows, line = [], 1
    rd = csv.reader(io.StringIO(data, newline=""))
    header = None
    start = 1
    for rec in rd:
        end = rd.line_num
        if header is None:
            header = [h.strip().lower() for h in rec]
        elif rec and not (len(rec) == 1 and rec[0].strip() == ""):
            rows.append((start, dict(zip(header, [v.strip(" \t") for v in rec])), len(rec)))
        start = end + 1
    return header, rows

STATUSES = ["registered", "waitlisted", "already_registered", "already_waitlisted", "rejected"]
FIELDS = ["line", "student_id", "course", "status", "position", "reason", "detail"]

header, rows = roster_rows(roster_path)

def guarded(v):
    return "'" + v if v[:1] in ("=", "+", "-", "@") else v

if mode == "csv":
    raw = open(report, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        bad("the csv report is not UTF-8: %s" % e)
        text = raw.decode("utf-8", "surrogateescape")
    recs = list(csv.reader(io.StringIO(text, newline="")))
    if recs[0] != FIELDS:
        bad("header %r" % recs[0])
    recs = recs[1:]
    if len(recs) != len(rows):
        bad("%d records for %d roster rows" % (len(recs), len(rows)))
    for rec, (line, r, n) in zip(recs, rows):
        if len(rec) != 7:
            bad("record %r has %d fields" % (rec, len(rec)))
            continue
        d = dict(zip(FIELDS, rec))
        if d["line"] != str(line):
            bad("record for roster line %d says line %s" % (line, d["line"]))
        if d["student_id"] != guarded(r.get("student_id", "")):
            bad("line %d: student_id %r, roster %r" % (line, d["student_id"], r.get("student_id")))
        if d["course"] != guarded(r.get("course", "")):
            bad("line %d: course %r, roster %r" % (line, d["course"], r.get("course")))
        if d["status"] not in STATUSES:
            bad("line %d: status %r" % (line, d["status"]))
        waiting = d["status"] in ("waitlisted", "already_waitlisted")
        if waiting != (d["position"] != ""):
            bad("line %d: %s with position %r" % (line, d["status"], d["position"]))
        if (d["status"] == "rejected") != (d["reason"] != ""):
            bad("line %d: %s with reason %r" % (line, d["status"], d["reason"]))
    # Written again by Python's csv module, the report is the same bytes.
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(FIELDS)
    w.writerows(recs)
    if out.getvalue() != text:
        bad("rewritten by Python's csv module, the report differs")
elif mode == "json":
    doc = json.load(open(report, encoding="utf-8"))
    for k in ("batch", "source", "outcome", "summary", "results"):
        if k not in doc:
            bad("no %r" % k)
    if not isinstance(doc["batch"], int) or doc["batch"] < 1:
        bad("batch %r" % doc["batch"])
    s = doc["summary"]
    res = doc["results"]
    if s["rows"] != len(rows) or len(res) != len(rows):
        bad("summary.rows %r, %d results, %d roster rows" % (s["rows"], len(res), len(rows)))
    for st in STATUSES:
        n = sum(1 for x in res if x["status"] == st)
        if s.get(st) != n:
            bad("summary[%r] = %r, %d results" % (st, s.get(st), n))
    reasons = {}
    for x in res:
        if x["reason"] is not None:
            reasons[x["reason"]] = reasons.get(x["reason"], 0) + 1
    for k, v in s["reasons"].items():
        if v != reasons.get(k, 0):
            bad("summary.reasons[%r] = %r, %d results" % (k, v, reasons.get(k, 0)))
    for k in reasons:
        if k not in s["reasons"]:
            bad("summary.reasons lacks %r" % k)
    for x, (line, r, n) in zip(res, rows):
        if sorted(x) != sorted(FIELDS):
            bad("result keys %r" % sorted(x))
            continue
        if x["line"] != line:
            bad("result for roster line %d says %r" % (line, x["line"]))
        if r.get("student_id") and x["student_id"] != r["student_id"]:
            bad("line %d: student_id %r, roster %r" % (line, x["student_id"], r["student_id"]))
        waiting = x["status"] in ("waitlisted", "already_waitlisted")
        if waiting != isinstance(x["position"], int):
            bad("line %d: %s with position %r" % (line, x["status"], x["position"]))
        if (x["status"] == "rejected") != isinstance(x["reason"], str):
            bad("line %d: %s with reason %r" % (line, x["status"], x["reason"]))
        if x["status"] != "rejected" and x["detail"] is not None:
            bad("line %d: %s with detail %r" % (line, x["status"], x["detail"]))
        if x["status"] == "rejected" and not x["detail"]:
            bad("line %d: rejected without a detail" % line)
else:
    bad("unknown mode " + mode)
for p in problems[:30]:
    print(p)
sys.exit(1 if problems else 0)
PY

# check MODE REPORT ROSTER: check.py, failing the case with its findings.
check() {
	python3 check.py "$@" >problems 2>&1 || fail "$1 report $2:
$(cat problems)"
}

case_ "setup"
run -d $db course import "$DATA/courses/outcomes.csv"
expect_rc 0
run -d $db register "$DATA/rosters/enrolled.csv" --format csv
expect_rc 0

# ---- json ------------------------------------------------------------------------

case_ "json: one valid JSON object (python3 -m json.tool)"
run -d $db register "$roster" --format json --dry-run --label "json check"
expect_rc 1
python3 -m json.tool out >/dev/null 2>problems || fail "invalid JSON: $(cat problems)"

case_ "json: batch, source, outcome, summary with counts and reasons, one result per row"
check json out "$roster"
expect_out "\"source\": \"$roster\""
expect_out '"outcome": "dry_run"'

case_ "json: absent values are null; present ones typed"
python3 -c '
import json, sys
res = {r["line"]: r for r in json.load(open("out"))["results"]}
want = {
  2: {"status": "registered", "position": None, "reason": None, "detail": None},
  5: {"status": "waitlisted", "position": 2, "reason": None, "detail": None},
  4: {"status": "already_waitlisted", "position": 1, "reason": None},
  3: {"status": "already_registered", "position": None, "reason": None},
  23: {"status": "rejected", "position": None, "reason": "missing_email"},
}
for line, fields in want.items():
    for k, v in fields.items():
        if res[line][k] != v:
            sys.exit("line %d: %s is %r, want %r" % (line, k, res[line][k], v))
' || fail "json values"

case_ "json: a committed run and an empty roster"
run -d $db register "$roster" --format json
expect_rc 1
expect_out '"outcome": "committed"'
check json out "$roster"
printf 'student_id,email,course\n' >empty.csv
run -d $db register empty.csv --format json
expect_rc 0
python3 -c '
import json, sys
d = json.load(open("out"))
sys.exit(0 if d["results"] == [] and d["summary"]["rows"] == 0 else "empty: %r" % d)' ||
	fail "empty roster json"

case_ "json: control characters, quotes and invalid bytes still make valid JSON"
{
	echo "student_id,first_name,email,course"
	printf '"a""b\\\\c\001d",x,j1@uni.example,OPEN\n'
	printf '"tab\there",x,j2@uni.example,OPEN\n'
	printf 'bad\302\205,x,j3@uni.example,OPEN\n'
	printf 'esc\033x,x,j4@uni.example,OPEN\n'
	printf '"line\nbreak",x,j5@uni.example,OPEN\n'
} >nasty.csv
run -d $db register nasty.csv --format json
expect_rc 1
python3 -m json.tool out >/dev/null 2>problems || fail "invalid JSON: $(cat problems)
$(cat out)"

case_ "no terminal control reaches a terminal: csv escapes them there (byte-exact to a file), json always (review 17, B9)"
{
	echo "student_id,first_name,email,course"
	printf 'A\033]0;pwned\007B,x,t1@uni.example,OPEN\n'
	printf 'C\302\233D,x,t2@uni.example,OPEN\n'
	printf 'E\177F,x,t3@uni.example,OPEN\n'
} >term.csv
# on_tty FILE ARGS...: bulkreg on a pseudo-terminal, what it wrote there
# (raw bytes) into FILE.
on_tty() {
	_f=$1
	shift
	python3 - "$_f" "$@" <<'PY' || fail "pty"
import os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/e2e")
import ptyrun
out, _, _, _ = ptyrun.run(sys.argv[2:])
open(sys.argv[1], "wb").write(out)
PY
}
on_tty tty.out -d $db register term.csv --format csv --dry-run
tr -d '\r' <tty.out >tty.txt
for bad in "$(printf '\033')" "$(printf '\007')" "$(printf '\302\233')" "$(printf '\177')"; do
	! grep -q "$bad" tty.txt || fail "a control reached the terminal: $(od -c tty.txt | head -20)"
done
grep -q 'A\\x1b\]0;pwned\\x07B' tty.txt || fail "ESC/BEL not shown as \\x1b, \\x07: $(cat -v tty.txt)"
grep -q 'C\\u009bD' tty.txt || fail "C1 not shown as \\u009b: $(cat -v tty.txt)"
grep -q 'E\\x7fF' tty.txt || fail "DEL not shown as \\x7f: $(cat -v tty.txt)"
# To a pipe or a file the csv is the bytes as they were.
run -d $db register term.csv --format csv --dry-run
grep -q "$(printf 'A\033]0;pwned\007B')" out || fail "the csv to a pipe lost its bytes"
run -d $db register term.csv --format json --dry-run
for bad in "$(printf '\033')" "$(printf '\302\233')" "$(printf '\177')"; do
	! grep -q "$bad" out || fail "json carries a control: $(od -c out | head)"
done
python3 -c '
import json
r = json.load(open("out"))["results"]
assert [x["student_id"] for x in r] == ["A\x1b]0;pwned\x07B", "C\x9bD", "E\x7fF"], r
' || fail "json values changed"

case_ "the csv listings (batches, course list) escape controls on a terminal too, and stay byte-exact to a pipe"
ldb=$(new_db listings)
"$BULKREG" -q -d $ldb course add OPEN --capacity 5 --title "$(printf 'T\033]0;x\007\302\233Z')" || fail "course add"
printf 'student_id,first_name,email,course\nS1,N,a@uni.example,OPEN\n' >l.csv
"$BULKREG" -q -d $ldb register l.csv --label "$(printf 'L\033[2J\177X')" || fail "register"
on_tty tty.out -d $ldb batches --format csv
tr -d '\r' <tty.out >tty.txt
grep -q 'L\\x1b\[2J\\x7fX' tty.txt || fail "the label not escaped on a terminal: $(cat -v tty.txt)"
on_tty tty.out -d $ldb course list --format csv
tr -d '\r' <tty.out >>tty.txt
grep -q 'T\\x1b\]0;x\\x07\\u009bZ' tty.txt || fail "the title not escaped on a terminal: $(cat -v tty.txt)"
for bad in "$(printf '\033')" "$(printf '\007')" "$(printf '\302\233')" "$(printf '\177')"; do
	! grep -q "$bad" tty.txt || fail "a control reached the terminal: $(cat -v tty.txt)"
done
run -d $ldb batches --format csv
grep -q "$(printf 'L\033\[2J\177X')" out || fail "the label to a pipe lost its bytes: $(cat -v out)"
run -d $ldb course list --format csv
grep -q "$(printf 'T\033]0;x\007\302\233Z')" out || fail "the title to a pipe lost its bytes: $(cat -v out)"

case_ "a student_id or course over 256 bytes: its kept bytes cut at a whole character and marked '...', in every format (review 19, F04)"
python3 - <<'PY'
long = "a" * 255 + "\u00e9"  # 257 bytes: the 256 kept end inside the e-acute
wide = "b" * 254 + "\u20ac"  # 257 bytes: two of the euro sign's three kept
with open("longin.csv", "w", encoding="utf-8") as f:
    f.write("student_id,email,course\n")
    f.write(f"{long},l@x.org,OPEN\n")
    f.write(f"S2,s2@x.org,{wide}\n")
PY
for f in csv json html text; do
	run -d $db register longin.csv --dry-run --format $f -o longout.$f
	expect_rc 1
	! grep -q "$(printf '\357\277\275')" longout.$f || fail "$f: a U+FFFD from a cut character"
done
python3 - <<'PY' || fail "the cut values are not as they should be: $(cat longout.csv)"
import csv, json
sid, course = "a" * 255 + "...", "b" * 254 + "..."
rows = list(csv.DictReader(open("longout.csv", encoding="utf-8")))
assert [(r["student_id"], r["course"], r["reason"]) for r in rows] == [
    (sid, "OPEN", "field_too_long"), ("S2", course, "field_too_long")], rows
j = json.load(open("longout.json", encoding="utf-8"))["results"]
assert [(r["student_id"], r["course"]) for r in j] == [(sid, "OPEN"), ("S2", course)], j
assert sid in open("longout.html", encoding="utf-8").read()
PY

# ---- csv -----------------------------------------------------------------------

case_ "csv: header, one record per row in roster order, round trip through Python's csv"
run -d $db register "$roster" --format csv --dry-run
expect_rc 1
head -n 1 out >header
printf 'line,student_id,course,status,position,reason,detail\n' >header.want
expect_same header.want header
check csv out "$roster"

case_ "csv: values with commas, quotes and line breaks round-trip"
{
	echo "student_id,first_name,email,course"
	printf '"a,b",x,c1@uni.example,OPEN\n'
	printf '"say ""hi""",x,c2@uni.example,OPEN\n'
	printf '"two\nlines",x,c3@uni.example,OPEN\n'
	printf 'ok1,x,c4@uni.example,"OP,EN"\n'
	printf 'ok2,x,c5@uni.example,"OP""EN"\n'
	printf 'ok3,x,c6@uni.example,OPEN\n'
} >quoted.csv
run -d $db register quoted.csv --format csv
expect_rc 1
check csv out quoted.csv
[ "$(csv_field 3 student_id)" = 'say "hi"' ] || fail "line 3: $(csv_field 3 student_id)"

case_ "csv: the formula guard -- = + - @ at the start get a leading ' (csv only)"
run -d $db course add --capacity 5 -- -Minus
expect_rc 0
{
	echo "student_id,first_name,last_name,email,course"
	echo "=1+2,Eq,x,f1@uni.example,OPEN"
	echo "+1,Plus,x,f2@uni.example,OPEN"
	echo "-1,Minus,x,f3@uni.example,OPEN"
	echo "@SUM(A1),At,x,f4@uni.example,OPEN"
	echo "\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",Q,x,f5@uni.example,OPEN"
	echo "F6,=cmd|' /C calc'!A0,@x,f6@uni.example,-Minus"
	echo "F7,-Dash,+Plus,f7@uni.example,-Minus"
} >formula.csv
# (ids are any text since issue 12: these are registered, and guarded)
run -d $db register formula.csv --format csv
expect_rc 0
check csv out formula.csv
expect_out "2,'=1+2,OPEN,registered"
expect_out "3,'+1,OPEN,registered"
expect_out "4,'-1,OPEN,registered"
expect_out "5,'@SUM(A1),OPEN,registered"
expect_out "6,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",OPEN,registered"
expect_out "7,F6,'-Minus,registered"

case_ "csv: the formula guard in the roster and course listings too"
run -d $db roster --format csv -- -Minus
expect_rc 0
expect_out "F6,'=cmd|' /C calc'!A0,'@x,f6@uni.example,registered"
expect_out "F7,'-Dash,'+Plus,f7@uni.example,registered"
run -d $db course list --format csv
expect_rc 0
expect_out "'-Minus,"

case_ "json: no guard -- values unchanged"
run -d $db register formula.csv --format json --dry-run
expect_rc 0
python3 -c '
import json, sys
got = [(r["student_id"], r["course"]) for r in json.load(open("out"))["results"]]
want = [("=1+2", "OPEN"), ("+1", "OPEN"), ("-1", "OPEN"), ("@SUM(A1)", "OPEN"),
        ("=HYPERLINK(\"http://x\",\"y\")", "OPEN"), ("F6", "-Minus"), ("F7", "-Minus")]
sys.exit(0 if got == want else "json: %r" % got)' || fail "json changed values"
run -d $db roster --format json -- -Minus
expect_rc 0
expect_out '"first_name": "=cmd|'"'"' /C calc'"'"'!A0"'
expect_out '"last_name": "@x"'

# ---- text ----------------------------------------------------------------------

case_ "text: the summary -- batch, rows, counts per status, reasons, time, rate"
run -d t2.db course import "$DATA/courses/outcomes.csv"
expect_rc 0
run -d t2.db register "$DATA/rosters/enrolled.csv"
expect_rc 0
run -d t2.db register "$roster" --dry-run
expect_rc 1
batch=$(sql t2.db "SELECT max(id) FROM batches")
expect_out "Batch $batch"
expect_out "25 rows from $roster"
expect_out " s ("
expect_out "rows/s"
for label in "registered" "waitlisted" "already registered" "already waitlisted" "rejected"; do
	grep -Eq "^ +$label +[0-9]+\$" out || fail "no count for '$label':
$(cat out)"
done
grep -Eq '^ +rejected +16$' out || fail "rejected count:
$(cat out)"
grep -Eq '^ +course_full +[0-9]+$' out || fail "no course_full line"
grep -Eq '^ +duplicate_in_roster +[0-9]+$' out || fail "no duplicate_in_roster line"

case_ "text: a table of every rejected row, and only those"
grep -Eq '^ *LINE +STUDENT +COURSE +REASON +DETAIL' out || fail "no table header:
$(cat out)"
n=$(sed -n '/LINE *STUDENT/,$p' out | sed 1d | grep -c .)
[ "$n" = 16 ] || fail "$n table rows, expected 16"
grep -Eq '^ +23 +X7 +OPEN +missing_email +email is empty' out || fail "no row for line 23"
grep -Eq '^ +10 +N7 +WL2 +course_full ' out || fail "no row for line 10"
! grep -Eq '^ +2 +N1 ' out || fail "a registered row in the table"

case_ "text: all rows succeeded -- the summary, no table"
printf 'student_id,email,course\nA1,a1@uni.example,OPEN\n' >ok.csv
run -d $db register ok.csv
expect_rc 0
expect_out "committed"
expect_no_out "LINE"

case_ "text: the text report escapes control characters"
run -d $db register nasty.csv --dry-run
expect_rc 1
! grep -q "$(printf '\001')" out || fail "a raw control character in the text report"

# ---- -q ------------------------------------------------------------------------

case_ "-q with text: nothing at all when every row succeeded"
run -q -d $db register ok.csv
expect_rc 0
expect_empty out
expect_empty err

case_ "-q with text: the report when a row was rejected"
run -q -d $db register "$DATA/rosters/one_rejected.csv"
expect_rc 1
expect_out "missing_email"
expect_out "LINE"

case_ "-q: csv and json reports are still written"
run -q -d $db register ok.csv --format csv
expect_rc 0
expect_out "2,A1,OPEN,already_registered,,,"
expect_empty err
run -q -d $db register ok.csv --format json
expect_rc 0
expect_out '"already_registered": 1'
expect_empty err

case_ "-q: a text report sent to a file with -o is written whole, even when every row succeeded (review 19, F02)"
for qr in "$DATA/rosters/one_rejected.csv" ok.csv; do
	run -d $db register "$qr" --dry-run -o plain.txt
	run -q -d $db register "$qr" --dry-run -o quiet.txt
	expect_empty out
	# Alike but for the batch number and the time.
	sed -e 's/^Batch [0-9]*/Batch N/' -e 's/ in [0-9.]* s ([0-9,]* rows\/s/ in T/' plain.txt >plain.cmp
	sed -e 's/^Batch [0-9]*/Batch N/' -e 's/ in [0-9.]* s ([0-9,]* rows\/s/ in T/' quiet.txt >quiet.cmp
	expect_same plain.cmp quiet.cmp
	grep -q "already registered" quiet.txt || fail "no counts in the -q report: $(cat quiet.txt)"
done

case_ "-q: an empty roster gives no warning"
run -q -d $db register empty.csv
expect_rc 0
expect_empty out
expect_empty err

case_ "no progress line when stderr is not a terminal"
awk 'BEGIN { print "student_id,email,course"; for (i = 1; i <= 5000; i++) printf "G%d,g%d@uni.example,OPEN\n", i, i }' >big.csv
run -d $db register big.csv --format csv --dry-run
expect_rc 0
# Only the line that says a dry run committed nothing (review 19, F05).
[ "$(cat err)" = "bulkreg: batch $(sql $db "SELECT max(id) FROM batches") was a dry run: nothing was committed" ] ||
	fail "stderr: $(od -c err | head)"

# ---- -o FILE ---------------------------------------------------------------------

case_ "-o FILE: the report goes to the file, nothing to standard output"
mkdir reports
run -d $db register ok.csv -o reports/r.csv --format csv
expect_rc 0
expect_empty out
expect_err "committed, nothing changed: 1 row: 0 registered, 0 waitlisted, 1 already there, 0 rejected; report in reports/r.csv"
grep -q '^2,A1,OPEN,already_registered,,,$' reports/r.csv || fail "reports/r.csv: $(cat reports/r.csv)"

case_ "-o FILE: the line on stderr says the outcome in words (dry run, rolled back), the report keeps the machine name"
mkdir words
run -d $db register ok.csv -o words/d.json --format json --dry-run
expect_rc 0
expect_err "dry run, nothing would change: 1 row: 0 registered"
grep -q "dry_run" err && fail "stderr shows the machine name: $(cat err)"
grep -q '"outcome": "dry_run"' words/d.json || fail "words/d.json: $(cat words/d.json)"
run -q -d $db register "$roster" -o words/q.csv --format csv --dry-run
expect_rc 1
expect_err "dry run: "
expect_err " rows rejected; see words/q.csv"
grep -q "dry_run" err && fail "stderr shows the machine name: $(cat err)"
run -d $db register "$roster" -o words/s.csv --format csv --strict
expect_rc 1
expect_err "rolled back: "
grep -q "rolled_back" err && fail "stderr shows the machine name: $(cat err)"

case_ "-o FILE: text and json too; a rejected row still writes the report"
run -d $db register "$roster" -o reports/r.json --format json --dry-run
expect_rc 1
expect_empty out
python3 -m json.tool reports/r.json >/dev/null || fail "reports/r.json is not JSON"
run -d $db register "$roster" -o reports/r.txt --dry-run
expect_rc 1
expect_empty out
grep -q "missing_email" reports/r.txt || fail "reports/r.txt lacks the table"
run -q -d $db register ok.csv -o reports/q.txt
expect_rc 0
expect_empty out
expect_empty err
[ -s reports/q.txt ] || fail "-q -o FILE: an asked-for report was not written"

case_ "-o FILE: no temporary files are left in the directory"
got=$(find reports -mindepth 1 | sort | tr '\n' ' ')
[ "$got" = "reports/q.txt reports/r.csv reports/r.json reports/r.txt " ] || fail "reports/ holds: $got"

case_ "-o FILE: an existing file is replaced on success"
echo "old report" >reports/keep.csv
run -d $db register ok.csv -o reports/keep.csv --format csv
expect_rc 0
grep -q "already_registered" reports/keep.csv || fail "not replaced: $(cat reports/keep.csv)"

case_ "-o FILE: an existing file is kept when the run fails (exit 2)"
echo "old report" >reports/keep.csv
run -d $db register "$DATA/unusable/missing_course.csv" -o reports/keep.csv --format csv
expect_rc 2
[ "$(cat reports/keep.csv)" = "old report" ] || fail "replaced: $(cat reports/keep.csv)"
run -d $db register no-such.csv -o reports/keep.csv
expect_rc 2
[ "$(cat reports/keep.csv)" = "old report" ] || fail "replaced: $(cat reports/keep.csv)"

case_ "-o FILE: an existing file is kept when the database fails (exit 3)"
printf 'not a database, just text\n' >notadb.db
run -d notadb.db register ok.csv -o reports/keep.csv --format csv
expect_rc 3
[ "$(cat reports/keep.csv)" = "old report" ] || fail "replaced: $(cat reports/keep.csv)"
hold_lock $db
run -d $db register ok.csv -o reports/keep.csv --wait 0.05
rc_locked=$RC
release_lock
RC=$rc_locked
expect_rc 3
[ "$(cat reports/keep.csv)" = "old report" ] || fail "replaced: $(cat reports/keep.csv)"
got=$(find reports -mindepth 1 | sort | tr '\n' ' ')
[ "$got" = "reports/keep.csv reports/q.txt reports/r.csv reports/r.json reports/r.txt " ] || fail "reports/ holds: $got"

case_ "-o FILE in a missing directory: exit 3, the database unchanged"
dump $db before.dump
printf 'student_id,email,course\nNEW1,new1@uni.example,OPEN\n' >new.csv
run -d $db register new.csv -o no-such-dir/r.csv --format csv
expect_rc 3
expect_err "no-such-dir/r.csv"
expect_empty out
dump $db after.dump
expect_same before.dump after.dump
[ ! -e no-such-dir ] || fail "no-such-dir was created"

case_ "a report that cannot be written to standard output: exit 3, nothing committed"
"$BULKREG" -d $db register new.csv --format csv >/dev/full 2>err
RC=$?
expect_rc 3
expect_err "standard output"
dump $db after.dump
expect_same before.dump after.dump

case_ "standard output closed: exit 3, nothing committed"
"$BULKREG" -d $db register new.csv >&- 2>err
RC=$?
expect_rc 3
expect_err "standard output"
dump $db after.dump
expect_same before.dump after.dump

case_ "a report that cannot be assembled (its temporary file over a size limit): exit 3, the directory named, rolled_back in the history (review 19, F01)"
awk 'BEGIN { print "student_id,email,course"; for (i = 1; i <= 20000; i++) printf "F%d,f%d@uni.example,OPEN\n", i, i }' >fsz.csv
mkdir -p spool
for how in stdout file; do
	if [ $how = stdout ]; then
		(ulimit -f 200 && TMPDIR=$PWD/spool exec "$BULKREG" -d $db register fsz.csv --format csv >fsz.out 2>err)
		RC=$?
		expect_err "$PWD/spool: temporary report file: write failed: File too large"
	else
		(ulimit -f 200 && exec "$BULKREG" -d $db register fsz.csv --format csv -o spool/fsz.csv 2>err)
		RC=$?
		expect_err "spool: temporary report file: write failed: File too large"
		[ ! -e spool/fsz.csv ] || fail "a report was published"
	fi
	expect_rc 3
	expect_err "was rolled back (recorded in the history): nothing was written"
	dump $db after.dump
	expect_same before.dump after.dump
	[ "$(sql $db "SELECT outcome || ' ' || kind FROM batches ORDER BY id DESC LIMIT 1")" = "rolled_back register" ] ||
		fail "$how: the batch is not recorded rolled_back: $(sql $db "SELECT id, outcome FROM batches ORDER BY id DESC LIMIT 2")"
done
