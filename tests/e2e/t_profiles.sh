# t_profiles: SIS and LMS exports as they are (issue 12) -- OneRoster,
# Canvas, Moodle (flat file and upload users), Clever and --map; roles,
# statuses, --users joins; and the public samples, one command each.
X=$DATA/exports
S=$DATA/samples # a copy of ../shared/samples (see its README.md)
db=$(new_db t)
GUID=6f1c2a7e-0b3d-4c1e-9a55-3b2f1d0c9e01

stored() { sql $db "SELECT first_name || '|' || last_name || '|' || email FROM students WHERE student_id = '$1'"; }

# ---- OneRoster ----------------------------------------------------------------

case_ "oneroster 1.1: detected; userSourcedId is the student, classSourcedId the course, sourcedId ignored"
fresh_courses "$GUID" "Phys 100 - 1"
run -d $db register "$X/oneroster11/enrollments.csv" --users "$X/oneroster11/users.csv" --format csv
expect_rc 1
expect_status 2 registered
[ "$(stored u-stu-1)" = "Zoë|Lee|zoe.lee@school.example" ] || fail "u-stu-1: $(stored u-stu-1)"
[ -z "$(sql $db "SELECT 1 FROM students WHERE student_id LIKE 'e-%'")" ] ||
	fail "an enrollment's sourcedId was read as a student"

case_ "oneroster: teachers and parents are skipped (not_a_student), not registered, exit status unaffected"
expect_status 3 skipped:not_a_student
expect_status 5 skipped:not_a_student
[ -z "$(sql $db "SELECT 1 FROM students WHERE student_id IN ('u-tea-1', 'u-par-1')")" ] ||
	fail "a teacher or parent was registered"

case_ "oneroster: an empty status enrols; tobedeleted is a drop request"
expect_status 4 registered
expect_status 6 skipped:not_registered
[ -z "$(sql $db "SELECT 1 FROM registrations WHERE student_id = 'u-stu-3'")" ] || fail "u-stu-3 registered"

case_ "oneroster: a user missing from --users is unknown_student unless already in the database"
expect_status 8 rejected:unknown_student
expect_status 7 registered "Phys 100 - 1"

case_ "oneroster: a user whose --users status is tobedeleted makes a drop request"
expect_status 9 skipped:not_registered

case_ "oneroster: the enrollment's role wins over the role in --users"
expect_status 10 registered

case_ "oneroster: a student already in the database registers without --users"
run -d $db register "$X/oneroster11/enrollments.csv" --format csv --dry-run
expect_status 2 already_registered
expect_status 8 rejected:missing_email

case_ "oneroster 1.2: roles live in roles.csv, so the enrollment's role decides"
fresh_courses c-math-7a
run -d $db register "$X/oneroster12/enrollments.csv" --users "$X/oneroster12/users.csv" --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 skipped:not_a_student
expect_status 4 registered
[ "$(stored s-101)" = "Ben|Ode|ben.ode@school.example" ] || fail "s-101: $(stored s-101)"

case_ "the report and its json say which profile was used"
run -d $db register "$X/oneroster12/enrollments.csv" --users "$X/oneroster12/users.csv" --format json --dry-run
python3 -c 'import json; d = json.load(open("out")); assert d["profile"] == "oneroster", d["profile"]' ||
	fail "json profile"
run -d $db register "$X/oneroster12/enrollments.csv" --users "$X/oneroster12/users.csv" --dry-run
expect_out "Read as: oneroster export."

# ---- Canvas ---------------------------------------------------------------------

case_ "canvas: user_id and course_id; teacher, ta and observer skipped; deleted, inactive, completed are drops"
fresh_courses BIO300 BIO300-S1 BIO300-S2
run -d $db register "$X/canvas/enrollments.csv" --users "$X/canvas/users.csv" --format csv
expect_status 2 registered
expect_status 3 skipped:not_a_student
expect_status 4 skipped:not_a_student
expect_status 5 skipped:not_a_student
for l in 6 7 8; do
	expect_status $l skipped:not_registered
done
[ "$(stored u01)" = "Amy|Ash|amy@school.example" ] || fail "u01: $(stored u01)"

case_ "batches says which profile a batch was read with"
cp out canvas.report
run -d $db batches --format json
python3 -c 'import json; b = json.load(open("out"))["batches"][-1]; assert b["profile"] == "canvas", b' ||
	fail "batches json: $(cat out)"
run -d $db batches
expect_out "profile canvas"
cp canvas.report out

case_ "canvas: a row with only section_id goes to that section; ids over 64 bytes work"
expect_status 9 registered BIO300-S2
expect_status 10 registered BIO300

case_ "canvas: a user deleted in users.csv makes a drop request"
expect_status 11 skipped:not_registered

case_ "canvas: a status that means removed drops a registered pair; its seat goes to the waitlist"
"$BULKREG" -d $db course add BIO300 --capacity 5 --waitlist 5 >/dev/null 2>&1
printf 'course_id,user_id,role,status\nBIO300,u01,student,deleted\nBIO300,u02,student,deleted\n' >gone.csv
run -d $db register gone.csv --format csv --allow-missing-email
expect_rc 0
expect_status 2 dropped
expect_status 3 skipped:not_registered
[ -z "$(sql $db "SELECT 1 FROM registrations WHERE student_id = 'u01'")" ] || fail "u01 still registered"

case_ "oneroster: a tobedeleted row drops through 'bulkreg drop' too, whatever its status"
fresh_courses "$GUID"
run -d $db register "$X/oneroster11/enrollments.csv" --users "$X/oneroster11/users.csv" --format csv
run -d $db drop "$X/oneroster11/enrollments.csv" --format csv
expect_status 2 dropped
expect_status 3 skipped:not_a_student

case_ "canvas: --course-from section_id uses the section"
fresh_courses BIO300 BIO300-S1 BIO300-S2
run -d $db register "$X/canvas/enrollments.csv" --users "$X/canvas/users.csv" --course-from section_id --format csv --dry-run
expect_status 2 registered BIO300-S1

# ---- Moodle ----------------------------------------------------------------------

case_ "moodle flat file: no header, add/del, spaces after commas, 4 or 6 fields; lines from 1"
fresh_courses CF101
run -d $db register "$X/moodle/flatfile.txt" --allow-missing-email --format csv
expect_status 1 registered
expect_status 2 skipped:not_a_student
expect_status 3 skipped:not_a_student
expect_status 4 skipped:not_registered
expect_status 5 registered
expect_status 6 rejected:malformed_row
expect_out "the operation is not add or del: 'update'"

case_ "moodle upload users: course1..N, each course its own report row with the file's line"
fresh_courses CF101 CF102 CF103
run -d $db register "$X/moodle/upload.csv" --format csv
expect_rc 0
expect_status 2 registered CF101
expect_status 2 registered CF102
expect_status 2 skipped:not_a_student CF103
expect_status 3 registered CF102
expect_status 4 skipped:no_course
[ "$(grep -c '^2,' out)" = 3 ] || fail "line 2 gave $(grep -c '^2,' out) rows"
[ "$(stored mia)" = "Mia|Mo|mia@school.example" ] || fail "mia: $(stored mia)"

# ---- Clever, --map, detection -------------------------------------------------------

case_ "clever: Section_id and Student_id, with students.csv for names and Student_email"
fresh_courses 5f0a1b2c3d4e5f6a7b8c9d0e
run -d $db register "$X/clever/enrollments.csv" --users "$X/clever/students.csv" --format csv
expect_rc 1
expect_status 2 registered
expect_status 3 registered
expect_status 4 rejected:unknown_student
[ "$(stored st-002)" = "Sean|O'Brien|sean.obrien@school.example" ] || fail "st-002: $(stored st-002)"

case_ "--map names the columns of any other export (spaces in names, matched as headers are)"
fresh_courses "Phys 100 - 1"
run -d $db register "$X/map/export.csv" --map 'student_id=Student Number,first_name=legal first,last_name=Legal-Last,email=Email Address,course=Section Code,role=Enrollment Role' --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 skipped:not_a_student
[ "$(stored 000123)" = "Ada|Love|ada@school.example" ] || fail "000123: $(stored 000123)"
run -d $db register "$X/map/export.csv" --map 'student_id=Student Number,course=Section Code' --format json --dry-run
python3 -c 'import json; d = json.load(open("out")); assert d["profile"] == "map", d["profile"]' || fail "profile map"

case_ "issue 12: a no-break space (U+00A0, U+202F, U+2007) in a header name is a space: roster, --map, --users, courses file"
fresh_courses
printf 'code,title,capacity\302\240\nNB1,T,4\n' >nbsp_courses.csv
run -d $db course import nbsp_courses.csv
expect_rc 0
[ "$(sql $db "SELECT capacity FROM courses WHERE code = 'NB1'")" = 4 ] || fail "capacity<NBSP> not read"
printf 'Student\302\240ID,E-mail\342\200\257,Course\342\200\207\nN1,n1@x.org,NB1\n' >nbsp.csv
run -d $db register nbsp.csv --format csv
expect_rc 0
expect_status 2 registered
printf 'Pupil\302\240Number,Email,Course\nN2,n2@x.org,NB1\n' >nbsp_map.csv
run -d $db register nbsp_map.csv --map 'student_id=Pupil Number' --format csv
expect_rc 0
expect_status 2 registered
printf 'Section_id,Student\302\240id\nNB1,N3\n' >nbsp_enr.csv
printf 'Student_id\302\240,First\302\240name,Last_name,Student\342\200\257email\nN3,Nia,Bee,n3@x.org\n' >nbsp_users.csv
run -d $db register nbsp_enr.csv --users nbsp_users.csv --format csv
expect_rc 0
expect_status 2 registered
[ "$(stored N3)" = "Nia|Bee|n3@x.org" ] || fail "N3: $(stored N3)"

case_ "a user id twice in --users: one warning naming the file and both lines; the first row is used, the run goes on"
fresh_courses M2
printf 'course_id,user_id,role\nM2,u1,student\n' >dup_enr.csv
printf 'user_id,first_name,last_name,email\nu1,First,X,one@x.org\nu2,Two,Z,two@x.org\nu1,Second,Y,two@x.org\n' >dup_users.csv
run -d $db register dup_enr.csv --users dup_users.csv --format csv
expect_rc 0
expect_status 2 registered
expect_err "warning: dup_users.csv: user id 'u1' is on lines 2 and 4: the first (line 2) is used"
[ "$(grep -c "user id" err)" = 1 ] || fail "not one warning: $(cat err)"
[ "$(stored u1)" = "First|X|one@x.org" ] || fail "u1: $(stored u1)"

case_ "--map: a field bulkreg does not know, or no '=', is a usage error"
run -d $db register "$X/map/export.csv" --map 'grade=Grade'
expect_rc 2
expect_err "--map: 'grade' is not a field"
run -d $db register "$X/map/export.csv" --map 'student_id'
expect_rc 2
expect_err "is not FIELD=HEADER"

case_ "an ambiguous header is exit 2 naming the candidates; --profile decides"
printf 'user_id,course_id,userSourcedId,classSourcedId,role\nu1,C1,x,y,student\n' >both.csv
run -d $db register both.csv
expect_rc 2
expect_err "both.csv: line 1: the header fits more than one export format (oneroster, canvas): choose with --profile"
fresh_courses C1
run -d $db register both.csv --profile canvas --allow-missing-email --format csv
expect_rc 0
expect_status 2 registered

case_ "--profile with a name bulkreg does not know is a usage error"
run -d $db register both.csv --profile blackboard
expect_rc 2
expect_err "--profile: 'blackboard' is not one of"

case_ "today's headers and aliases keep working (profile bulkreg)"
fresh_courses OPEN
printf 'SourcedId,Given Name,family-name,E-Mail,Class Sourced ID\nH1,Al,Ias,h1@uni.example,OPEN\n' >aliases.csv
run -d $db register aliases.csv --format json
expect_rc 0
python3 -c 'import json; d = json.load(open("out")); assert d["profile"] == "bulkreg", d["profile"]' || fail "profile"

# ---- the public samples: one command each ---------------------------------------------

case_ "samples: Canvas SIS enrollments with users.csv"
fresh_courses E411208 R001104 A110035
run -d $db register "$S/canvas/enrollments.csv" --users "$S/canvas/users.csv"
expect_rc 0

case_ "samples: OneRoster 1.1 enrollments with users.csv (no emails: --allow-missing-email)"
fresh_courses class1 class2 class3
run -d $db register "$S/oneroster-1.1/enrollments.csv" --users "$S/oneroster-1.1/users.csv" --allow-missing-email
expect_rc 0

case_ "samples: Moodle flat file"
fresh_courses CF101
run -d $db register "$S/moodle/flatfile_example.txt" --allow-missing-email
expect_rc 0

case_ "samples: Moodle upload users (no course columns: --course)"
fresh_courses CF101
run -d $db register "$S/moodle/example.csv" --course CF101
expect_rc 0
