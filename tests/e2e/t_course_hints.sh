# t_course_hints: a course code that is not known, but is equal to one but
# for case or within two edits of one, gets "did you mean" (issue 13,
# defect 11): in the unknown_course detail of the report (text, csv, json)
# and in the messages of --course, drop --course and roster CODE.

"$BULKREG" -d t.db course import "$DATA/courses/hints.csv" >/dev/null 2>&1 ||
	fail "course import: $("$BULKREG" -d t.db course import "$DATA/courses/hints.csv" 2>&1)"

cat >r.csv <<'CSV'
student_id,email,course
S1,s1@example.edu,math101
S2,s2@example.edu,Art105
S3,s3@example.edu,MATH1O1
S4,s4@example.edu,PHYS999
S5,s5@example.edu,MATH101
S6,s6@example.edu,math101
CSV

case_ "a wrong-case code: did you mean the known one"
run -d t.db register --dry-run r.csv
expect_rc 1
expect_out "no course 'math101'; did you mean MATH101?"
expect_out "no course 'Art105'; did you mean ART105?"

case_ "a near miss within two edits: the closest known code"
expect_out "no course 'MATH1O1'; did you mean MATH101?"

case_ "nothing close: no hint"
expect_out "no course 'PHYS999'"
expect_no_out "PHYS999'; did you mean"

case_ "the csv and json reports carry the hint in the detail"
run -d t.db register --dry-run r.csv --format csv
[ "$(csv_field 2 detail)" = "no course 'math101'; did you mean MATH101?" ] ||
	fail "csv: $(cat out)"
[ "$(csv_field 7 detail)" = "no course 'math101'; did you mean MATH101?" ] ||
	fail "csv, the same code again: $(cat out)"
run -d t.db register --dry-run r.csv --format json
grep -qF '"detail": "no course '"'"'math101'"'"'; did you mean MATH101?"' out ||
	fail "json: $(cat out)"

case_ "--course with a wrong-case code"
run -d t.db register --course math101 r.csv
expect_rc 2
expect_err "no such course; did you mean MATH101?"
[ "$(sql t.db 'SELECT count(*) FROM registrations')" = 0 ] || fail "written"

case_ "drop --course and drop --student --course"
run -d t.db drop r.csv --course art105
expect_rc 2
expect_err "did you mean ART105?"
run -d t.db drop --student S1 --course Math101
expect_rc 1
expect_out "no course 'Math101'; did you mean MATH101?"

case_ "roster CODE with a near miss"
run -d t.db roster MATH1O1
expect_rc 2
expect_err "no course 'MATH1O1'; did you mean MATH101?"

case_ "codes as near as each other are all named, in code order (review 10, finding 14)"
run -d t.db roster MATH10
expect_rc 2
expect_err "no course 'MATH10'; did you mean MATH101 or MATH102?"
run -d t.db roster MATH100
expect_rc 2
expect_err "did you mean MATH101 or MATH102?"
rm -f ties.db
for c in C1 C2 C3; do
	"$BULKREG" -q -d ties.db course add $c --capacity 5 || fail "course add $c"
done
run -d ties.db roster CX
expect_rc 2
expect_err "no course 'CX'; did you mean C1, C2 or C3?"
printf 'student_id,email,course\nS1,s1@example.edu,CX\n' >cx.csv
run -d ties.db register --dry-run cx.csv --format csv
expect_rc 1
expect_out "no course 'CX'; did you mean C1, C2 or C3?"
"$BULKREG" -q -d ties.db course add C4 --capacity 5 || fail "course add C4"
run -d ties.db roster CX
expect_rc 2
expect_err "no course 'CX'"
! grep -q 'did you mean' err || fail "one of four guessed: $(cat err)"

case_ "no hint when more than half of the code would change"
run -d ties.db roster Q
expect_rc 2
expect_err "no course 'Q'"
! grep -q 'did you mean' err || fail "a hint for Q: $(cat err)"
run -d ties.db roster c1x
expect_rc 2
expect_err "did you mean C1?"

case_ "a big roster of one wrong code is answered for every row"
python3 - <<'PY'
with open("big.csv", "w") as f:
    f.write("student_id,email,course\n")
    for i in range(20000):
        f.write("S%d,s%d@example.edu,%s\n" % (i, i, "math101" if i % 2 else "mth101"))
PY
run -d t.db register --dry-run big.csv --format csv
expect_rc 1
[ "$(grep -c "did you mean MATH101?" out)" = 20000 ] || fail "hints: $(grep -c "did you mean" out)"

case_ "a code that reads as a known one -- an accent written another way (NFD), another dash, an invisible character -- is hinted, with what differs (review 17 B10, C4; review 16 C2)"
"$BULKREG" -q -d u.db course add 'Café' --capacity 5 || fail "setup"
"$BULKREG" -q -d u.db course add 'Phys 100 - 1' --capacity 5 || fail "setup"
"$BULKREG" -q -d u.db course add 'ART105' --capacity 5 || fail "setup"
printf 'student_id,email,course\nS1,a@x.org,Cafe\314\201\nS2,b@x.org,Phys 100 \342\200\223 1\nS3,c@x.org,ART105\342\200\213\nS4,d@x.org,CAFE\n' >u.csv
run -d u.db register --dry-run u.csv --format csv
expect_rc 1
expect_out "did you mean Café? (this one holds U+0301, a combining accent: the same letters written another way)"
expect_out "did you mean Phys 100 - 1? (this one holds U+2013, a dash other than '-')"
expect_out "no course 'ART105\\u200b'; did you mean ART105? (this one holds U+200B, an invisible character)"
expect_out "no course 'CAFE'; did you mean Café?"
expect_no_out "CAFE'; did you mean Café? ("
# No-break spaces around a code, as a spreadsheet leaves them (review 19, F13).
printf 'student_id,email,course\nS5,e@x.org,\302\240ART105\302\240\n' >nb.csv
run -d u.db register --dry-run nb.csv --format csv
expect_rc 1
expect_out "did you mean ART105? (this one holds U+00A0, a space other than ' ')"

case_ "a mistyped command gets the nearest one; batches' hint only for a number or a near miss of show (review 17 B4, C3)"
run regster r.csv
expect_rc 2
expect_err "unknown command 'regster'; did you mean 'register'?"
run batch
expect_rc 2
expect_err "unknown command 'batch'; did you mean 'batches'?"
run xyzzy
expect_rc 2
! grep -qF "did you mean" err || fail "a hint: $(cat err)"
run -d t.db batches shw 1
expect_rc 2
expect_err "unexpected argument 'shw' (did you mean 'batches show 1'?)"
run -d t.db batches foo
expect_rc 2
! grep -qF "did you mean" err || fail "a hint: $(cat err)"
run -d t.db batches 3
expect_rc 2
expect_err "(did you mean 'batches show 3'?)"

case_ "a register into a database with no course yet says so, once (review 17 C7)"
db0=$(new_db nocourses)
"$BULKREG" -q -d "$db0" init || fail "init"
run -d "$db0" register r.csv
expect_rc 1
expect_err "warning: the database has no courses yet: every row will be unknown_course (create them first with 'bulkreg course import FILE'"
[ "$(grep -c "no courses yet" err)" = 1 ] || fail "warned more than once: $(cat err)"
run -d t.db register --dry-run r.csv
! grep -q "no courses yet" err || fail "warned with courses: $(cat err)"

case_ "a code one or two characters off is hinted whatever their bytes; a full-width digit reads as the digit (review 23 F12)"
"$BULKREG" -q -d w.db course add MATH101 --capacity 5 || fail "setup"
for typed in 'MATHXX1' 'MATHππ1' 'MATH中01' 'MATH€01'; do
	run -d w.db roster "$typed"
	expect_err "no course '$typed'; did you mean MATH101?"
done
run -d w.db roster 'MATH１01'
expect_err "did you mean MATH101? (this one holds U+FF11, a full-width character)"
run -d w.db roster 'ＭＡＴＨ１０１'
expect_err "did you mean MATH101? (this one holds U+FF2D, a full-width character)"
run -d w.db roster 'MATH€€€1'
! grep -qF "did you mean" err || fail "three characters off: a hint: $(cat err)"

case_ "a mistyped course subcommand gets the nearest one (review 23 F11)"
run course improt courses.csv
expect_rc 2
expect_err "unknown course command 'improt'; did you mean 'import'? (add, import, list)"
run course lst
expect_rc 2
expect_err "did you mean 'list'?"
run course frobnicate
expect_rc 2
! grep -qF "did you mean" err || fail "a hint: $(cat err)"
