# t_review13: issue 13 checked again from the outside, with inputs of its own;
# each case is a defect the review found.

db=$PWD/t.db
"$BULKREG" -q -d "$db" course add MATH101 --capacity 5 || fail "setup"
printf 'student_id,first_name,last_name,email,course\nR1,Ada,Byron,ada@example.org,MATH101\n' >r.csv

case_ "1: a direct --check whose #! interpreter is missing stops before the batch: exit 2, nothing written"
printf '#!/nonexistent/bin/interp\nexit 0\n' >badint.sh
chmod +x badint.sh
cp "$db" db.before
run -d "$db" register r.csv --check ./badint.sh -o rep.csv
expect_rc 2
expect_err "--check ./badint.sh"
expect_err "/nonexistent/bin/interp"
cmp -s "$db" db.before || fail "the database changed"
[ ! -e rep.csv ] || fail "a report was written"
[ "$(sql "$db" "SELECT count(*) FROM batches")" = 0 ] || fail "a batch was recorded"
# Found through PATH, and an interpreter that is not executable.
mkdir bin
printf '#!%s/plain\nexit 0\n' "$PWD" >bin/bulkreg_review13_check
chmod +x bin/bulkreg_review13_check
printf 'x\n' >plain
PATH=$PWD/bin:$PATH run -d "$db" register r.csv --check "bulkreg_review13_check --flag"
expect_rc 2
expect_err "bulkreg_review13_check"
expect_err "$PWD/plain"
cmp -s "$db" db.before || fail "the database changed"

case_ "1: '#!/usr/bin/env NAME' with NAME not in PATH (a CRLF line's sh and CR, say) is refused the same way"
printf '#!/usr/bin/env bulkreg_review13_nointerp\nexit 0\n' >envmissing.sh
printf '#!/usr/bin/env sh\r\nexit 0\n' >crlf.sh
chmod +x envmissing.sh crlf.sh
run -d "$db" register r.csv --check ./envmissing.sh
expect_rc 2
expect_err "/usr/bin/env bulkreg_review13_nointerp"
run -d "$db" register r.csv --check ./crlf.sh
expect_rc 2
expect_err "/usr/bin/env sh\\x0d"
cmp -s "$db" db.before || fail "the database changed"
printf '#!/usr/bin/env sh\nexit 0\n' >envok.sh
printf '#!/usr/bin/env -S sh -e\nexit 0\n' >envopt.sh
chmod +x envok.sh envopt.sh
run -d "$db" register r.csv --check ./envok.sh --dry-run
expect_rc 0
run -d "$db" register r.csv --check ./envopt.sh --dry-run
expect_rc 0

case_ "1: a check file whose path holds a space: the message says to quote it, and quoted it runs"
mkdir "my checks"
printf '#!/bin/sh\nexit 0\n' >"my checks/holds.sh"
chmod +x "my checks/holds.sh"
cp "$db" db.before
run -d "$db" register r.csv --check "$PWD/my checks/holds.sh"
expect_rc 2
expect_err "--check $PWD/my: command not found (the command is split into words at spaces; to run the file '$PWD/my checks/holds.sh', quote it"
cmp -s "$db" db.before || fail "the database changed"
run -d "$db" register r.csv --check "'$PWD/my checks/holds.sh'" --dry-run
expect_rc 0

case_ "1: a #! script whose interpreter is there, and a script without #!, still run"
printf '#! /bin/sh -e\nexit 0\n' >good.sh
printf 'exit 0\n' >noshebang.sh
chmod +x good.sh noshebang.sh
run -d "$db" register r.csv --check ./good.sh --dry-run
expect_rc 0
run -d "$db" register r.csv --check ./noshebang.sh --dry-run
expect_rc 0

case_ "man page: a course code is what the program accepts (1 to 255 bytes, spaces inside), not the old 1 to 32 of A-Z 0-9 . _ -"
! grep -q '1 to 32 characters' "$ROOT/man/bulkreg.1" || fail "the man page still says codes are 1 to 32 characters"
run -d "$db" course add "Phys 100 - 1" --capacity 1
expect_rc 0
long=$(printf '%0255d' 0)
run -d "$db" course add "C$long" --capacity 1
expect_rc 2
run -d "$db" course add "${long}" --capacity 1
expect_rc 0

case_ "5: 'bulkreg help --help' and 'bulkreg help -h' are the top-level help, like 'bulkreg help help'"
"$BULKREG" --help >top.txt
for h in --help -h; do
	run help "$h"
	expect_rc 0
	expect_same out top.txt
done

case_ "5: the top-level usage shows that course import reads standard input ('-') too"
grep -qF 'bulkreg course import FILE.csv|-' top.txt || fail "--help: course import lacks '|-'
$(grep 'course import' top.txt)"

case_ "11: course add of a wrong-case code without --capacity hints at the known code"
cp "$db" db.before
run -d "$db" course add math101 --title "Calculus"
expect_rc 2
expect_err "--capacity N is required for a new course; did you mean MATH101?"
expect_err "Try 'bulkreg course add --help'."
cmp -s "$db" db.before || fail "the database changed"
run -d "$db" course add NOTHINGLIKEIT --title "x"
expect_rc 2
expect_err "--capacity N is required for a new course"
! grep -q 'did you mean' err || fail "a hint for a code like no other: $(cat err)"

case_ "2: course import --dry-run on a database that is not there says what it would create and leaves no file"
printf 'code,title,capacity\nNEW1,New,3\n' >c.csv
run -d "$PWD/none.db" course import c.csv --dry-run -v
expect_rc 0
expect_err "NEW1: created"
expect_err "1 created, 0 updated, 0 unchanged"
[ ! -e none.db ] || fail "the dry run created none.db"
run -d "$PWD/none.db" course import c.csv
expect_rc 0
[ -e none.db ] || fail "the import did not create none.db"

case_ "2: an empty file at the database path is no database: refused with exit 2 and left empty, by every command that does not create"
: >empty.db
for cmd in "register r.csv" "drop r.csv" "undo 1" "roster MATH101" "batches" "student R1" "verify" "course list"; do
	# shellcheck disable=SC2086
	run -d "$PWD/empty.db" $cmd
	expect_rc 2
	expect_err "no database at $PWD/empty.db (an empty file): create it with 'bulkreg init'"
	[ ! -s empty.db ] || fail "$cmd wrote into the empty file"
done
run -d "$PWD/empty.db" init
expect_rc 0
[ -s empty.db ] || fail "init did not make the empty file a database"
run -d "$PWD/empty.db" course list
expect_rc 0

case_ "10: a capacity raise and a shorter waitlist in one command: the waitlist is measured after the promotions the raise makes"
printf 'code,title,capacity,waitlist\nW1,Wait,1,\n' >w1.csv
"$BULKREG" -q -d "$db" course import w1.csv || fail "setup: import"
printf 'student_id,first_name,last_name,email,course\nP1,a,b,p1@x.org,W1\nP2,a,b,p2@x.org,W1\nP3,a,b,p3@x.org,W1\n' >w.csv
"$BULKREG" -q -d "$db" register w.csv || fail "setup: register"
printf 'code,title,capacity,waitlist\nW1,Wait,2,1\n' >w2.csv
run -d "$db" course import w2.csv -v
expect_rc 0
expect_err "W1: P2 promoted from the waitlist"
expect_err "W1: capacity 1 -> 2, waitlist unlimited -> 1"
[ "$(sql "$db" "SELECT capacity, waitlist_max, registered, waitlisted FROM courses WHERE code = 'W1'")" = "2|1|2|1" ] ||
	fail "W1 is $(sql "$db" "SELECT capacity, waitlist_max, registered, waitlisted FROM courses WHERE code = 'W1'")"
run -d "$db" verify
expect_rc 0
# Still refused when the raise does not make room for enough of them.
cp "$db" db.before
run -d "$db" course add W1 --capacity 2 --waitlist 0
expect_rc 2
expect_err "course W1: a waitlist of 0 is shorter than the 1 student waiting"
cmp -s "$db" db.before || fail "the database changed"
run -d "$db" course add W1 --capacity 3 --waitlist 0
expect_rc 0
expect_err "P3 promoted"

case_ "-o naming the database, the roster or --users (by any name or link) is refused before anything is done: exit 2, each left as it was"
cp "$db" db.before
cp r.csv r.before
n=$(sql "$db" "SELECT count(*) FROM batches")
ln -s "$db" db.link
ln "$db" db.hard
for o in "$db" db.link db.hard ./t.db; do
	run -d "$db" register r.csv --dry-run -o "$o"
	expect_rc 2
	expect_err "-o $o: that is the database; the report would replace it"
	cmp -s "$db" db.before || fail "-o $o: the database was replaced"
done
run -d "$db" register r.csv -o r.csv
expect_rc 2
expect_err "-o r.csv: that is the roster"
expect_same r.csv r.before
run -d "$db" drop r.csv -o ./r.csv
expect_rc 2
expect_same r.csv r.before
run -d "$db" undo 1 -o db.hard
expect_rc 2
expect_err "-o db.hard: that is the database"
cmp -s "$db" db.before || fail "undo -o: the database was replaced"
printf 'user_id,first_name,last_name,email\nR1,Ada,Byron,ada@example.org\n' >users.csv
cp users.csv users.before
run -d "$db" register r.csv --users users.csv -o users.csv
expect_rc 2
expect_err "-o users.csv: that is the --users file"
expect_same users.csv users.before
[ "$(sql "$db" "SELECT count(*) FROM batches")" = "$n" ] || fail "a batch was recorded"
run -d "$db" register r.csv --dry-run -o report.txt
expect_rc 0
[ -s report.txt ] || fail "an ordinary -o wrote no report"

case_ "11: creating a course whose code differs from a known one only by case warns (it is still created: codes are case-sensitive)"
run -d "$db" course add math101 --capacity 4
expect_rc 0
expect_err "warning: course math101 is a new course: codes are case-sensitive, and MATH101 is another one"
printf 'code,title,capacity\nMath101,x,3\nMATH101,Calc,5\nBRANDNEW,y,2\n' >twins.csv
run -d "$db" course import twins.csv
expect_rc 0
expect_err "warning: course Math101 is a new course"
! grep -q 'BRANDNEW is a new\|course MATH101 is a new' err || fail "a warning for a code with no case twin: $(cat err)"
run -d "$db" -q course add MaTh101 --capacity 4
expect_rc 0
expect_empty err
run -d "$db" course add math101 --capacity 5
expect_rc 0
! grep -q warning err || fail "a warning on updating math101: $(cat err)"

case_ "7: wide (CJK) characters take two columns and combining accents none: the text listings and report stay aligned"
"$BULKREG" -q -d "$db" course add "数学101" --capacity 5 --title "微積分入門コース" || fail "setup"
printf 'student_id,first_name,last_name,email,course\n学生1,太郎,山田,t@x.org,数学101\nZ2,e\314\201lodie,X,z@x.org,数学101\nZ3,Ann,Lee,a@x.org,数学102\n' >cjk.csv
run -d "$db" register cjk.csv
expect_rc 1
mv out report.txt
run -d "$db" roster "数学101"
expect_rc 0
mv out roster.txt
run -d "$db" course list
expect_rc 0
mv out courses.txt
# Where a column starts, in terminal columns, on each line of a table.
python3 - <<'PY' || fail "misaligned"
import unicodedata, sys
def cols(s):
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
r = open("roster.txt", encoding="utf-8").read().splitlines()
e = [cols(l[:l.find("@x.org") - 1]) for l in r if "@x.org" in l]
if len(e) != 2 or any(x != cols(r[0][:r[0].find("EMAIL")]) for x in e):
    sys.exit("roster: EMAIL at %s:\n%s" % (e, "\n".join(r)))
c = open("courses.txt", encoding="utf-8").read().splitlines()
l = [x for x in c if "数学101" in x][0]
# WAITLIST is right-aligned: "unlimited" ends where it does.
if cols(l[:l.find("unlimited") + 9]) != cols(c[0][:c[0].find("WAITLIST") + 8]):
    sys.exit("course list misaligned:\n" + "\n".join(c))
s = [cols(l[:l.find("unknown_course")]) for l in open("report.txt", encoding="utf-8") if "数学102  " in l]
h = [cols(l[:l.find("REASON")]) for l in open("report.txt", encoding="utf-8") if l.startswith("LINE")]
if not s or any(x != h[0] for x in s):
    sys.exit(f"report: REASON at {s}, header at {h}:\n" + open("report.txt").read())
PY

case_ "man page: the json report example has the summary keys the program writes, in its order"
run -d "$db" register r.csv --dry-run --format json
python3 - "$ROOT/man/bulkreg.1" <<'PY' || fail "the man page's json summary differs"
import json, re, sys
real = list(json.load(open("out"))["summary"].keys())
man = open(sys.argv[1], encoding="utf-8").read()
ex = man[man.index('"summary": {"rows"'):]
ex = ex[:ex.index('"results"')]
keys = [k for k in re.findall(r'"([a-z_]+)":', ex)]
# The example stops at "checks"; nested keys ("reasons") are listed with "...".
shown = [k for k in keys if k in real or k == "summary"][1:]
if shown != real:
    sys.exit(f"man: {shown}\nprogram: {real}")
PY

case_ "-d ending in '/' is refused (exit 2) instead of creating the file without the slash, mode 0644 whatever --group-readable says"
for cmd in init "course add A1 --capacity 1" "course import c.csv"; do
	# shellcheck disable=SC2086
	run -d "$PWD/newdb/" $cmd
	expect_rc 2
	expect_err "newdb/: names a directory, not a database file"
	[ ! -e newdb ] || fail "$cmd created newdb"
done
