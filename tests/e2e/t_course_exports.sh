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

# ---- review 9, R1: course import --encoding, through register's reader -----------

printf 'course_id,short_name,long_name,account_id,term_id,status\nFR-101,FR101,Fran\347ais d\351butant \226 niveau 1,A1,,active\n' >courses_w1252.csv

case_ "a Windows-1252 courses file: exit 2 saying to rerun with --encoding WINDOWS-1252, nothing imported"
db=$(new_db enc)
run -d $db course import courses_w1252.csv --capacity 5
expect_rc 2
expect_err "courses_w1252.csv: line 2, column 18: not valid UTF-8 (bytes E7 61 69 73): the file is most likely WINDOWS-1252; nothing was imported: rerun with --encoding WINDOWS-1252"
[ ! -e $db ] || [ -z "$(sql $db 'SELECT 1 FROM courses')" ] || fail "courses were written"

case_ "the rerun it asks for works: --encoding WINDOWS-1252 converts the title"
run -d $db course import courses_w1252.csv --capacity 5 --encoding WINDOWS-1252
expect_rc 0
expect_err "imported 1 course from courses_w1252.csv: 1 created"
[ "$(course FR-101)" = "5||Français débutant – niveau 1" ] || fail "FR-101: $(course FR-101)"

case_ "course import --encoding: standard input, --dry-run, an unknown encoding, the help"
run_in courses_w1252.csv -d $db course import - --capacity 5 --encoding WINDOWS-1252 --dry-run
expect_rc 0
expect_err "0 created, 0 updated, 1 unchanged"
run -d $db course import courses_w1252.csv --capacity 5 --encoding NO-SUCH-ENCODING
expect_rc 2
expect_err "--encoding: 'NO-SUCH-ENCODING' is not an encoding this system knows"
run course import --help
expect_rc 0
expect_out "--encoding NAME"

case_ "UTF-16 with a byte order mark is converted with no option, as for register"
db=$(new_db enc16)
{ printf '\377\376'; iconv -f WINDOWS-1252 -t UTF-16LE courses_w1252.csv; } >courses_u16.csv
run -d $db course import courses_u16.csv --capacity 7
expect_rc 0
[ "$(course FR-101)" = "7||Français débutant – niveau 1" ] || fail "FR-101: $(course FR-101)"

case_ "a courses file that is already UTF-8, with --encoding WINDOWS-1252: refused, nothing imported"
iconv -f WINDOWS-1252 -t UTF-8 courses_w1252.csv >courses_u8.csv
db=$(new_db enc8)
run -d $db course import courses_u8.csv --capacity 5 --encoding WINDOWS-1252
expect_rc 2
expect_err "courses_u8.csv: line 2, column 18: bytes C3 A7 ('ç', U+00E7)"
expect_err "nothing was imported: the file is already UTF-8: run without --encoding"
[ ! -e $db ] || [ -z "$(sql $db 'SELECT 1 FROM courses')" ] || fail "courses were written"

case_ "text after a closing quote in a course file names the column by number and header name (review 9, M4)"
printf 'course_id,short_name,long_name,status\nX1,X1,Intro to "Fun" 101,active\nX2,X2,"Quoted" extra,active\n' >c_quote.csv
db=$(new_db quote)
run -d $db course import c_quote.csv --capacity 3
expect_rc 1
expect_err "c_quote.csv: line 3: column 3 ('long_name'): text after a closing quote (write \"\" for a quote inside a quoted value)"
expect_err "1 bad row; nothing was imported"

case_ "an export's deleted courses (Canvas deleted, OneRoster tobedeleted) and a Canvas course without a course_id (made by hand) are left out and counted, not created or refused (review 16 B4)"
db2=$(new_db prov)
printf '%s\n' 'canvas_course_id,course_id,integration_id,short_name,long_name,canvas_account_id,account_id,canvas_term_id,term_id,status,start_date,end_date,course_format,blueprint_course_id,created_by_sis' \
	'101,BIO-300,,BIO300,"Biology 300",1,A1,5,T1,active,,,,,true' \
	'102,,,SANDBOX,Sandbox of Ann,1,,5,,unpublished,,,,,false' \
	'103,OLD-1,,OLD,Old course,1,A1,5,T1,deleted,,,,,true' >prov.csv
run -d "$db2" course import prov.csv --capacity 30
expect_rc 0
expect_err "imported 1 course from prov.csv: 1 created, 0 updated, 0 unchanged (read as canvas courses, left out 1 deleted in it and 1 without a course_id (first on line 3))"
! grep -q "nothing to import" err || fail "warned: $(cat err)"
[ "$(sql "$db2" "SELECT group_concat(code) FROM courses")" = BIO-300 ] || fail "courses: $(sql "$db2" "SELECT group_concat(code) FROM courses")"
printf '%s\n' 'sourcedId,status,dateLastModified,title,courseSourcedId,classCode,classType,schoolSourcedId,termSourcedIds' \
	'cl-2,tobedeleted,2023-08-01,Old class,crs1,X,scheduled,sch1,t1' >cls.csv
run -d "$db2" course import cls.csv --capacity 30
expect_rc 0
expect_err "(read as oneroster classes, left out 1 deleted in it)"
[ -z "$(sql "$db2" "SELECT code FROM courses WHERE code = 'cl-2'")" ] || fail "cl-2 was created"

case_ "bulkreg's own file: an empty code is a bad row naming the column"
printf 'code,capacity\nA1,5\n,3\n' >own.csv
run -d "$db2" course import own.csv
expect_rc 1
expect_err "own.csv: line 3: code (column 1 ('code')) is empty"

case_ "a courses file's header names match with their separators left out, as the roster's (CourseID, LongName)"
db3=$(new_db sep)
printf 'canvas_course_id,CourseID,LongName,Status\n1,BIO-1,Biology,active\n2,OLD-1,Old,deleted\n' >sep.csv
run -d "$db3" course import sep.csv --capacity 3
expect_rc 0
expect_err "(read as canvas courses, left out 1 deleted in it)"
[ "$(sql "$db3" "SELECT title FROM courses WHERE code = 'BIO-1'")" = Biology ] || fail "title: $(sql "$db3" "SELECT title FROM courses")"

case_ "course import --map given twice adds up, as register's"
db4=$(new_db maps)
printf 'Course Key,Label,Room Size\nZ1,Zed,4\n' >maps.csv
run -d "$db4" course import maps.csv --map 'code=Course Key' --map 'title=Label,capacity=Room Size'
expect_rc 0
[ "$(sql "$db4" "SELECT code || '|' || title || '|' || capacity FROM courses")" = "Z1|Zed|4" ] ||
	fail "courses: $(sql "$db4" "SELECT code, title, capacity FROM courses")"

case_ "a roster given to course import, a courses file given to register: each names the other command (review 23 F08)"
printf 'student_id,first_name,last_name,email,course\nS1,A,B,a@x.org,NEW1\n' >ro.csv
run -d $db course import ro.csv
expect_rc 2
expect_err "ro.csv: line 1: no capacity column, and a student_id column: this looks like a roster (did you mean 'bulkreg register ro.csv'?)"
printf 'code,title,capacity,waitlist\nNEW1,New,5,0\n' >co.csv
run -d $db register co.csv
expect_rc 2
expect_err "with a capacity column this looks like a courses file (did you mean 'bulkreg course import co.csv'?)"
