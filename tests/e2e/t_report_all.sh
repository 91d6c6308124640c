# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, ROOT, RC come from lib.sh and run
# t_report_all: the text report's --all -- every row in the table, with its
# status and waitlist position, not only the rejected ones.

db=t.db
"$BULKREG" -q -d $db course add SMALL --capacity 1 --waitlist 5 2>/dev/null
cat >r.csv <<'EOF'
student_id,first_name,last_name,email,course
A1,Ann,Lee,a1@example.edu,SMALL
A2,Bob,Ray,a2@example.edu,SMALL
A3,Cy,Oh,a3@example.edu,SMALL
A4,Di,Wu,a4@example.edu,NOPE
EOF
cp $db copy.db

case_ "without --all: only the rejected row is in the table"
run -d copy.db register r.csv --dry-run
expect_rc 1
expect_out "NOPE"
expect_no_out "A2 "

case_ "--all: every row, its status and its waitlist position"
run -d $db register r.csv --all
expect_rc 1
python3 - <<'PY' || fail "the --all table is not every row: $(cat out)"
import re
lines = open("out", encoding="utf-8").read().splitlines()
head = [i for i, l in enumerate(lines) if l.lstrip().startswith("LINE")]
assert head, "no table"
cols = lines[head[0]].split()
assert cols == ["LINE", "STUDENT", "COURSE", "STATUS", "POSITION", "REASON", "DETAIL"], cols
rows = [re.split(r"\s{2,}", l.strip()) for l in lines[head[0] + 1:] if l.strip()]
want = [["2", "A1", "SMALL", "registered"],
        ["3", "A2", "SMALL", "waitlisted", "1"],
        ["4", "A3", "SMALL", "waitlisted", "2"],
        ["5", "A4", "NOPE", "rejected", "unknown_course", "no course 'NOPE'"]]
assert rows == want, rows
assert not any(l != l.rstrip() for l in lines), "spaces at the end of a line"
PY

case_ "--all with drop: the promotion it made is listed with its position gone"
printf 'student_id,course\nA1,SMALL\n' >d.csv
run -d $db drop d.csv --all
expect_rc 0
expect_out "dropped"
expect_out "promoted"

case_ "--all with undo"
run -d $db undo 2 --dry-run --all
expect_rc 0
expect_out "STATUS"

case_ "--all is in --help"
run register --help
expect_out "--all"
run drop --help
expect_out "--all"
run undo --help
expect_out "--all"
