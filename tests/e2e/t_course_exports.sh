# t_course_exports: `course import` of the course files of SIS exports --
# Canvas courses.csv and sections.csv, OneRoster classes.csv, Clever
# sections.csv -- with --capacity/--waitlist defaults, created, updated and
# unchanged counts, and --dry-run (issue 12).
S=$DATA/samples
X=$DATA/exports
db=$(new_db t)

# course CODE: "capacity|waitlist|title" as course list --format csv says.
course() {
	"$BULKREG" -d $db course list --format csv >list.csv || fail "course list"
	python3 - "$1" <<'PY'
import csv, sys
for r in csv.DictReader(open("list.csv", newline="", encoding="utf-8")):
    if r["code"] == sys.argv[1]:
        print(r["capacity"] + "|" + r["waitlist"] + "|" + r["title"]); break
PY
}

case_ "a file with no capacity column and no --capacity: exit 2 naming the option, nothing written"
run -d $db course import "$S/canvas/courses.csv"
expect_rc 2
expect_err "courses.csv: line 1: no capacity column: give --capacity N (and --waitlist N)"
[ ! -e $db ] || [ -z "$(sql $db 'SELECT 1 FROM courses')" ] || fail "courses were written"

case_ "canvas courses.csv: course_id is the code, long_name the title; --capacity/--waitlist for new courses"
run -d $db course import "$S/canvas/courses.csv" --capacity 30 --waitlist 5
expect_rc 0
expect_err "imported 3 courses from $S/canvas/courses.csv: 3 created, 0 updated, 0 unchanged (read as canvas courses)"
[ "$(course E411208)" = "30|5|English 115: Intro to English" ] || fail "E411208: $(course E411208)"
[ "$(course R001104)" = "30|5|Biology 300: Rocking it, Bio Style" ] || fail "R001104: $(course R001104)"

case_ "the same file again: unchanged; an existing course keeps its capacity"
run -d $db course add E411208 --capacity 12
expect_rc 0
run -d $db course import "$S/canvas/courses.csv" --capacity 30
expect_rc 0
expect_err ": 0 created, 0 updated, 3 unchanged"
[ "$(course E411208)" = "12|5|English 115: Intro to English" ] || fail "E411208: $(course E411208)"

case_ "a file with a capacity column updates capacities; --dry-run writes nothing"
printf 'code,title,capacity\nE411208,English 115: Intro to English,40\nNEW1,New,3\n' >caps.csv
dump $db before.dump
run -d $db course import caps.csv --dry-run
expect_rc 0
expect_err "dry run: would import 2 courses from caps.csv: 1 created, 1 updated, 0 unchanged; nothing written"
dump $db after.dump
expect_same before.dump after.dump
run -d $db course import caps.csv
expect_rc 0
[ "$(course E411208)" = "40|5|English 115: Intro to English" ] || fail "E411208: $(course E411208)"

case_ "canvas sections.csv: section_id is the code, name the title"
run -d $db course import "$S/canvas/sections.csv" --capacity 10
expect_rc 0
expect_err "sections.csv: 3 created, 0 updated, 0 unchanged (read as canvas sections)"
[ "$(course S001)" = "10||Section 1" ] || fail "S001: $(course S001)"

case_ "oneroster classes.csv: sourcedId is the code, title the title"
run -d $db course import "$S/oneroster-1.1/classes.csv" --capacity 20
expect_rc 0
expect_err "classes.csv: 3 created, 0 updated, 0 unchanged (read as oneroster classes)"
[ "$(course class1)" = "20||Class 1 title" ] || fail "class1: $(course class1)"

case_ "clever sections.csv: Section_id is the code, Name the title"
run -d $db course import "$X/clever/sections.csv" --capacity 28
expect_rc 0
[ "$(course 5f0a1b2c3d4e5f6a7b8c9d0e)" = "28||Math 8 - Period 2" ] || fail "clever: $(course 5f0a1b2c3d4e5f6a7b8c9d0e)"

case_ "--waitlist without --capacity is a usage error"
run -d $db course import "$S/canvas/courses.csv" --waitlist 3
expect_rc 2
expect_err "--waitlist goes with --capacity"

case_ "course import --map names the columns of any other course file"
printf 'Section Code,Section Title,Seats\nX-1,Ex One,4\n' >mapped.csv
run -d $db course import mapped.csv --map 'code=Section Code,title=section title,capacity=Seats'
expect_rc 0
[ "$(course X-1)" = "4||Ex One" ] || fail "X-1: $(course X-1)"
run -d $db course import mapped.csv --map 'grade=Grade'
expect_rc 2
expect_err "--map: 'grade' is not a field of a courses file"
