# t_export_rules: the rules of issue 12 that an outside review (review 9)
# found broken -- roles and statuses in today's rosters, bulkreg's own
# columns beside an export's, old deletions of unknown courses, --map and
# --profile messages, Moodle upload's type/enrolstatus, unknown statuses.
db=$(new_db t)

# detail LINE: the detail of report line LINE (csv).
detail() {
	python3 - "$1" <<'PY'
import csv, sys
for r in csv.DictReader(open("out", newline="", encoding="utf-8")):
    if r["line"] == sys.argv[1]:
        print(r["detail"]); break
PY
}
stored() { sql $db "SELECT first_name || '|' || last_name || '|' || email FROM students WHERE student_id = '$1'"; }
registered() { sql $db "SELECT count(*) FROM registrations WHERE student_id = '$1'"; }

# ---- W1: role and status in today's rosters ---------------------------------

case_ "bulkreg profile: a teacher's or parent's row (role column) is skipped not_a_student, exit 0"
fresh_courses MATH101
printf 'student_id,first_name,last_name,email,course,role,status\nS1,Ann,Able,ann@x.org,MATH101,student,active\nT1,Tom,Teach,tom@x.org,MATH101,teacher,active\nP1,Pat,Parent,pat@x.org,MATH101,Parent,\nL1,Lee,Learn,lee@x.org,MATH101,Learner,\nS2,Bob,Bell,bob@x.org,MATH101,student,deleted\n' >rs.csv
run -d $db register rs.csv --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 skipped:not_a_student
expect_status 4 skipped:not_a_student
expect_status 5 registered
[ "$(registered T1)$(registered P1)" = 00 ] || fail "a teacher or parent was registered"
! grep -q "ignoring unknown" err || fail "role/status called unknown: $(cat err)"

case_ "bulkreg profile: a status meaning removed is a drop request (skipped not_registered, then dropped)"
expect_status 6 skipped:not_registered
[ "$(registered S2)" = 0 ] || fail "S2 (deleted) was registered"
printf 'student_id,email,course,status\nS1,ann@x.org,MATH101,Inactive\nL1,lee@x.org,MATH101,tobedeleted\n' >gone.csv
run -d $db register gone.csv --format csv
expect_rc 0
expect_status 2 dropped
expect_status 3 dropped
[ "$(registered S1)$(registered L1)" = 00 ] || fail "still registered"

case_ "bulkreg profile with --course: a OneRoster users.csv registers its students only"
fresh_courses C1
printf 'sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email\n00123,active,,true,sch-01,student,jdoe,,Jane,Doe,Q,00123,jane@example.org\nT900,active,,true,sch-01,teacher,teach,,Tom,Teacher,,T900,t@example.org\nA77,active,,true,sch-01,aide,aide,,Al,Aide,,A77,a@example.org\nG5,active,,true,sch-01,guardian,gg,,Gina,Guardian,,G5,g@example.org\nU9,tobedeleted,,true,sch-01,student,u9,,Una,Nine,,U9,u9@example.org\n' >users.csv
run -d $db register users.csv --course C1 --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 skipped:not_a_student
expect_status 4 skipped:not_a_student
expect_status 5 skipped:not_a_student
expect_status 6 skipped:not_registered
[ "$(stored 00123)" = "Jane|Doe|jane@example.org" ] || fail "00123: $(stored 00123)"

# ---- W2: bulkreg's own columns beside an export's -------------------------------

case_ "a roster with student_id, course and a section_id column stays bulkreg (not clever): course and names read"
fresh_courses MATH101 7 8
printf 'student_id,first_name,last_name,email,course,section_id\nS1,Ann,Able,ann@x.org,MATH101,7\nS2,Bob,Bell,bob@x.org,MATH101,8\n' >plus_section.csv
run -d $db register plus_section.csv --format json
expect_rc 0
python3 -c 'import json; d = json.load(open("out")); assert d["profile"] == "bulkreg", d["profile"]' || fail "profile: $(cat out)"
[ "$(sql $db "SELECT count(*) FROM registrations r JOIN courses c ON c.id = r.course_id WHERE c.code = 'MATH101'")" = 2 ] ||
	fail "not in MATH101: $(sql $db "SELECT student_id, course_id FROM registrations")"
[ "$(stored S1)" = "Ann|Able|ann@x.org" ] || fail "S1: $(stored S1)"
expect_err "ignoring unknown column: 'section_id'"

case_ "--profile clever still reads that file as clever"
run -d $db register plus_section.csv --profile clever --format csv --dry-run
expect_rc 0
expect_status 2 registered 7

case_ "a roster with student_id, course and Canvas's user_id, course_id stays bulkreg (not canvas)"
fresh_courses MATH101 12345
printf 'student_id,first_name,last_name,email,course,user_id,course_id\nS1,A,B,a@x.org,MATH101,777,12345\n' >lms_ids.csv
run -d $db register lms_ids.csv --format csv
expect_rc 0
expect_status 2 registered MATH101
[ "$(registered 777)" = 0 ] || fail "user_id 777 was registered"
expect_err "ignoring unknown columns: 'user_id', 'course_id'"

case_ "OneRoster's enrollments (userSourcedId, classSourcedId, sourcedId) stay oneroster"
fresh_courses C1
printf 'sourcedId,classSourcedId,userSourcedId,role,status,email,givenName,Family Name\ne1,C1,u1,student,active,u1@x.org,Ann,Able\n' >or_email.csv
run -d $db register or_email.csv --format json
expect_rc 0
python3 -c 'import json; d = json.load(open("out")); assert d["profile"] == "oneroster", d["profile"]' || fail "profile: $(cat out)"

case_ "an export profile reads an email, given name or family name column it has no own column for"
[ "$(stored u1)" = "Ann|Able|u1@x.org" ] || fail "u1: $(stored u1)"
fresh_courses K1
printf 'user_id,course_id,email\nA,K1,a@x.org\n' >canvas_email.csv
run -d $db register canvas_email.csv --format csv
expect_rc 0
expect_status 2 registered
[ "$(stored A)" = "||a@x.org" ] || fail "A: $(stored A)"

case_ "an export's email column wins over --users' email; two email columns are refused by name"
printf 'user_id,course_id,email\nB,K1,b@x.org\n' >canvas_email2.csv
printf 'user_id,first_name,last_name,email\nB,Bo,B,users@x.org\n' >u.csv
run -d $db register canvas_email2.csv --users u.csv --format csv
expect_rc 0
[ "$(stored B)" = "Bo|B|b@x.org" ] || fail "B: $(stored B)"
printf 'user_id,course_id,email,mail\nC,K1,c@x.org,d@x.org\n' >two.csv
run -d $db register two.csv
expect_rc 2
expect_err "column 'email' appears twice (columns 3 and 4: 'email' and 'mail')"

# ---- W4: an old deletion for a course bulkreg does not know ----------------------

case_ "a status-column drop for an unknown course is skipped not_registered (exit 0), naming the course"
fresh_courses K
printf 'user_id,first_name,last_name,email,status\nA,An,A,a@x.org,active\nN,New,N,n@x.org,active\nD,Del,D,d@x.org,deleted\n' >u2.csv
printf 'course_id,user_id,role,status\nK,N,student,active\nOLDCOURSE,A,student,deleted\nOLDCOURSE,A,student,completed\nGONE,D,student,active\n' >old.csv
run -d $db register old.csv --users u2.csv --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 skipped:not_registered
expect_status 4 skipped:not_registered
expect_status 5 skipped:not_registered
[ "$(detail 3)" = "no course 'OLDCOURSE' is known: nothing to drop" ] || fail "detail: $(detail 3)"

case_ "--strict: an old deletion for an unknown course does not roll the batch back"
fresh_courses K
run -d $db register old.csv --users u2.csv --strict --format csv
expect_rc 0
[ "$(registered N)" = 1 ] || fail "N not registered: $(cat err)"

case_ "OneRoster tobedeleted and a Moodle flat file's del for an unknown course are skipped too"
printf 'sourcedId,classSourcedId,userSourcedId,role,status\ne1,GONE-CLASS,A,student,tobedeleted\n' >or_old.csv
run -d $db register or_old.csv --format csv
expect_rc 0
expect_status 2 skipped:not_registered
printf 'del, student, A, GONE\n' >flat_old.txt
run -d $db register flat_old.txt --format csv
expect_rc 0
expect_status 1 skipped:not_registered

case_ "bulkreg drop of an unknown course is still a rejection (unknown_course, exit 1)"
printf 'student_id,course\nA,GONE\n' >drop.csv
run -d $db drop drop.csv --format csv
expect_rc 1
expect_status 2 rejected:unknown_course
run -d $db drop --student A --course GONE
expect_rc 1

# ---- R2, M2: --map and --profile name the file's own columns ----------------------

case_ "--map naming a header the file lacks is exit 2 naming the file, the mapped header and the columns found"
fresh_courses "ALG 1-02"
printf '"Student Number","Last, First","Email Address","Course Section"\n"000123","Doe, Jane","jane@x.org","ALG 1-02"\n' >ps.csv
run -d $db register ps.csv --map 'student_id=Student Number,email=Email Addr,course=Course Section'
expect_rc 2
expect_err "ps.csv: line 1: --map email=Email Addr: the header has no column 'Email Addr' (columns found: 'Student Number', 'Last, First', 'Email Address', 'Course Section')"
[ "$(sql $db "SELECT count(*) FROM batches")" = 0 ] || fail "a batch was written"
run -d $db register ps.csv --map 'student_id="Pupil No",course=Course Section'
expect_rc 2
expect_err "--map student_id=\"Pupil No\": the header has no column 'Pupil No'"
run -d $db register ps.csv --map 'student_id=Student Number,email=email address,course=Course Section' --format csv
expect_rc 0
expect_status 2 registered

case_ "a forced --profile names its own missing columns (userSourcedId, user_id, Student_id...)"
printf 'user_id,course_id,email\nA,K1,a@x.org\n' >canvas.csv
run -d $db register canvas.csv --profile oneroster
expect_rc 2
expect_err "canvas.csv: line 1: missing required columns 'userSourcedId', 'classSourcedId' for oneroster (columns found: 'user_id', 'course_id', 'email')"
printf 'student_id,email,course\nS1,a@x.org,K1\n' >today.csv
run -d $db register today.csv --profile clever
expect_rc 2
expect_err "missing required column 'Section_id' for clever (columns found: 'student_id', 'email', 'course'); 'course' is not a clever column: --map course=course reads it"
run -d $db register today.csv --profile canvas
expect_rc 2
expect_err "missing required columns 'user_id', 'course_id' or 'section_id' for canvas"

case_ "moodle-upload with a 'course' column: names course1 and says how to read 'course'"
printf 'username,firstname,lastname,email,course\njdoe,John,Doe,j@x.org,ALG 1-02\n' >moodle_course.csv
run -d $db register moodle_course.csv
expect_rc 2
expect_err "missing required column 'course1' for moodle-upload (columns found: 'username', 'firstname', 'lastname', 'email', 'course'); 'course' is not a moodle-upload column: --map course=course reads it"
run -d $db register moodle_course.csv --map course=course --format csv
expect_rc 0
expect_status 2 registered

# ---- W7, E2: Moodle upload's typeN, enrolstatusN, user-only rows -------------------

case_ "moodle upload: type1 2 or 3 (editing / non-editing teacher) skips that course not_a_student; roleN wins over typeN"
fresh_courses CF101 CF102
printf 'username,password,firstname,lastname,email,course1,type1,course2,type2,role2,enrolstatus2\nteach1,x,Tea,Cher,t@x.org,CF101,2,CF102,1,,\nta1,x,Te,Ay,ta@x.org,CF101,3,CF102,3,student,\nstud1,x,Stu,Dent,s@x.org,CF101,1,CF102,,,0\nodd,x,Od,D,o@x.org,CF101,7,,,,\n' >up_type.csv
run -d $db register up_type.csv --format csv
expect_rc 1
expect_status 2 skipped:not_a_student CF101
expect_status 2 registered CF102
expect_status 3 skipped:not_a_student CF101
expect_status 3 registered CF102
expect_status 4 registered CF101
expect_status 4 registered CF102
expect_status 5 rejected:malformed_row CF101
grep -q "role 'editingteacher (type 2)' is not a student's" out || fail "detail: $(cat out)"
grep -q "role 'teacher (type 3)' is not a student's" out || fail "detail: $(cat out)"
grep -q "type1 is not 1, 2 or 3: '7'" out || fail "detail: $(cat out)"
[ "$(sql $db "SELECT count(*) FROM registrations WHERE student_id = 'teach1'")" = 1 ] || fail "teach1 registered into CF101"

case_ "moodle upload: enrolstatusN 1 (suspended) is a drop request for that course only"
printf 'username,firstname,lastname,email,course1,enrolstatus1,course2,enrolstatus2\nstud1,Stu,Dent,s@x.org,CF101,1,CF102,0\nnew1,Ne,W,n@x.org,CF101,1,,\n' >up_susp.csv
run -d $db register up_susp.csv --format csv
expect_rc 0
expect_status 2 dropped CF101
expect_status 2 already_registered CF102
expect_status 3 skipped:not_registered CF101
[ "$(registered new1)" = 0 ] || fail "a suspended enrolment was registered"

case_ "moodle upload: a row with no course is a user-only row, skipped no_course (exit 0); --course still takes it"
fresh_courses CF101
printf 'username,password,firstname,lastname,email,course1,role1\nmia,x,Mia,Mo,mia@x.org,CF101,\nnil,x,Nil,Course,nil@x.org,,\n' >up_user.csv
run -d $db register up_user.csv --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 skipped:no_course
[ "$(detail 3)" = "a user-only row: no course1..N value, nothing to register" ] || fail "detail: $(detail 3)"
run -d $db register up_user.csv --course CF101 --format csv
expect_rc 0
expect_status 3 registered
run -d $db register up_user.csv --format json --dry-run
python3 -c 'import json; d = json.load(open("out")); assert d["summary"]["reasons"]["no_course"] == 1 and d["summary"]["skipped"] == 1, d["summary"]' ||
	fail "json: $(head -c 600 out)"

# ---- W6: a status bulkreg does not know enrols, with one warning per value -----------

case_ "an unknown status enrols as documented, with one warning per distinct value naming file, first line and value"
fresh_courses K
printf 'course_id,user_id,role,status\nK,A,student,concluded\nK,B,student,delted\nK,C,student,Delted\nK,D,student,active\nK,E,student,\nK,F,student,concluded\n' >st.csv
run -d $db register st.csv --allow-missing-email --format csv
expect_rc 0
for l in 2 3 4 5 6; do expect_status $l registered; done
expect_err "warning: st.csv: line 2: status 'concluded' is not one bulkreg knows (known: active, registered, waitlisted, enrolled, or deleted, tobedeleted, inactive, completed, deleted_last_completed to drop): the row enrols"
expect_err "warning: st.csv: line 3: status 'delted' is not one bulkreg knows"
[ "$(grep -c 'is not one bulkreg knows' err)" = 2 ] || fail "not one warning per value: $(cat err)"

case_ "an unknown status in --users is warned about once, naming the users file, the user and the roster line"
fresh_courses K
printf 'user_id,first_name,last_name,email,status\nA,An,A,a@x.org,active\nD,Di,D,d@x.org,suspended\n' >su.csv
"$BULKREG" -d $db course add K2 --capacity 5 >/dev/null 2>&1
printf 'course_id,user_id\nK,A\nK,D\nK2,D\n' >se.csv
run -d $db register se.csv --users su.csv --format csv
expect_rc 0
expect_status 3 registered
expect_err "warning: su.csv: user 'D' has status 'suspended', which bulkreg does not know"
expect_err "their rows enrol (first on line 3 of se.csv)"
[ "$(grep -c 'does not know' err)" = 1 ] || fail "not one warning: $(cat err)"

case_ "drop reads no status: no warning; -q silences it"
run -d $db drop st.csv --format csv
! grep -q "bulkreg knows" err || fail "drop warned: $(cat err)"
fresh_courses K
run -d $db register st.csv --allow-missing-email -q
expect_rc 0
expect_empty err

case_ "moodle upload: an enrolstatusN other than 0 or 1 enrols, with the same warning"
fresh_courses CF101
printf 'username,firstname,lastname,email,course1,enrolstatus1\nm1,M,One,m1@x.org,CF101,2\n' >up_es.csv
run -d $db register up_es.csv --format csv
expect_rc 0
expect_status 2 registered
expect_err "up_es.csv: line 2: enrolstatus1 '2' is not one bulkreg knows"

# ---- M1: details name the file's own column, and the --users file -----------------

case_ "a detail names the export's column beside bulkreg's field (user_id, course_id, section_id, Section_id)"
fresh_courses BIO-300 sec-001
printf 'course_id,user_id,role,status\nBIO-300,,student,active\n,00107,student,active\n' >badids.csv
run -d $db register badids.csv --format csv --allow-missing-email
expect_rc 1
[ "$(detail 2)" = "user_id (student_id) is empty" ] || fail "line 2: $(detail 2)"
[ "$(detail 3)" = "course_id (course) is empty" ] || fail "line 3: $(detail 3)"
run -d $db register badids.csv --format csv --allow-missing-email --course-from section_id
[ "$(detail 3)" = "section_id (course) is empty" ] || fail "line 3: $(detail 3)"
printf 'School_id,Section_id,Student_id\nsch1,,000451\n' >clever_bad.csv
run -d $db register clever_bad.csv --format csv --allow-missing-email
[ "$(detail 2)" = "Section_id (course) is empty" ] || fail "line 2: $(detail 2)"
printf 'Student Number,Email Address,Course\n,a@x.org,BIO-300\n' >mapped.csv
run -d $db register mapped.csv --map 'student_id=Student Number,email=Email Address' --format csv
[ "$(detail 2)" = "Student Number (student_id) is empty" ] || fail "line 2: $(detail 2)"

case_ "today's column names are unchanged in details (student_id is empty, email: no '@')"
printf 'student_id,email,course\n,a@x.org,BIO-300\nS1,bad,BIO-300\n' >today_bad.csv
run -d $db register today_bad.csv --format csv
[ "$(detail 2)" = "student_id is empty" ] || fail "line 2: $(detail 2)"
[ "$(detail 3)" = "email: no '@'" ] || fail "line 3: $(detail 3)"

case_ "a value from --users names the users file"
printf 'Section_id,Student_id\nsec-001,000452\nsec-001,000453\n' >cl_enr.csv
printf 'Student_id,First_name,Last_name,Student_email\n000452,Bo,Lee,bad-email\n000453,C\001y,Kim,c@x.org\n' >cl_students.csv
run -d $db register cl_enr.csv --users cl_students.csv --format csv
expect_rc 1
[ "$(detail 2)" = "email (from cl_students.csv): no '@'" ] || fail "line 2: $(detail 2)"
[ "$(detail 3)" = "first_name (from cl_students.csv): character 2 (0x01) is a control character" ] ||
	fail "line 3: $(detail 3)"

case_ "--map wins over a column the profile reads as the same field (a roster's own status beside --map status=...)"
fresh_courses K
printf 'student_id,email,course,status,Enroll Status\nS1,a@x.org,K,deleted,active\nS2,b@x.org,K,active,deleted\n' >ms.csv
run -d $db register ms.csv --map 'status=Enroll Status' --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 skipped:not_registered
expect_err "ignoring unknown column: 'status'"

case_ "more than 16 distinct unknown statuses: 16 warnings, then one saying the rest are not named"
fresh_courses K
python3 -c '
import sys
print("course_id,user_id,status")
for i in range(20):
    print("K,U%d,odd%d" % (i, i))
print("K,V1,odd3")
print("K,V2,odd19")
' >many.csv
run -d $db register many.csv --allow-missing-email --dry-run
expect_rc 0
[ "$(grep -c 'is not one bulkreg knows' err)" = 16 ] || fail "warnings: $(cat err)"
[ "$(grep -c 'more than 16 unknown statuses: the rest are not named' err)" = 1 ] || fail "$(cat err)"
expect_err "many.csv: line 18: more than 16 unknown statuses"

# ---- review 12: a roster's own role and status columns ----------------------------

case_ "--sync: a registered student whom the roster names with another role is skipped, not dropped"
fresh_courses C1
printf 'student_id,email,course\nS1,a@x.org,C1\nS2,b@x.org,C1\n' >seed.csv
run -d $db register seed.csv
expect_rc 0
printf 'student_id,email,course,role\nS1,a@x.org,C1,TA\nS2,b@x.org,C1,student\n' >sy.csv
run -d $db register sy.csv --sync --max-drops 50% --format csv
expect_rc 0
expect_status 2 skipped:not_a_student
! grep -q ',dropped,' out || fail "a student named on line 2 was dropped: $(cat out)"
[ "$(sql $db "SELECT count(*) FROM registrations")" = 2 ] || fail "a registration went"

case_ "a role bulkreg does not know is skipped with one warning per value; pupil and plurals are students"
fresh_courses C1
printf 'student_id,email,course,role\nS1,a@x.org,C1,member\nS2,b@x.org,C1,Member\nS3,c@x.org,C1,Students\nS4,d@x.org,C1,pupil\nS5,e@x.org,C1,teacher\n' >club.csv
run -d $db register club.csv --format csv
expect_rc 0
expect_status 2 skipped:not_a_student
expect_status 3 skipped:not_a_student
expect_status 4 registered
expect_status 5 registered
expect_status 6 skipped:not_a_student
expect_err "warning: club.csv: line 2: role 'member' is not one bulkreg knows"
[ "$(grep -c "is not one bulkreg knows" err)" = 1 ] || fail "not one warning: $(cat err)"

case_ "bulkreg's own roster listing (status registered/waitlisted) reads back in without a warning"
fresh_courses C1 C2
run -d $db register seed.csv
expect_rc 0
"$BULKREG" -d $db roster C1 --format csv >ros.csv || fail "roster"
run -d $db register ros.csv --course C2
expect_rc 0
! grep -q "not one bulkreg knows" err || fail "warned: $(cat err)"

# ---- review 16: invisible characters the Unicode data names ------------------------

case_ "ids: variation selectors, format controls, Ogham space, braille blank are refused (course add, register)"
fresh_courses X1
# U+FE0F, U+FE00, U+E0100 (variation selectors), U+1BCA0 (Cf), U+1680 (Zs),
# U+2800 (braille blank), U+FFF0 (reserved default-ignorable), U+180B.
for u in '\357\270\217' '\357\270\200' '\363\240\204\200' '\360\233\262\240' \
	'\341\232\200' '\342\240\200' '\357\277\260' '\341\240\213'; do
	code=$(printf "X${u}1")
	run -d $db course add "$code" --capacity 1
	expect_rc 2
	expect_err "is not valid as a course code"
done
[ "$(sql $db "SELECT count(*) FROM courses")" = 1 ] || fail "a look-alike of X1 was created"
printf 'student_id,email,course\nS1,a@x.org,X1\nS\357\270\2171,b@x.org,X1\nS\341\232\2001,c@x.org,X1\nS\342\240\2001,d@x.org,X1\nS2,e@x.org,X1\357\270\217\n' >vs.csv
run -d $db register vs.csv --format csv
expect_rc 1
expect_status 2 registered
expect_status 3 rejected:invalid_student_id
expect_status 4 rejected:invalid_student_id
expect_status 5 rejected:invalid_student_id
expect_status 6 rejected:unknown_course
grep -q 'U+FE0F' out || fail "the detail does not name U+FE0F: $(cat out)"
[ "$(sql $db "SELECT count(*) FROM students")" = 1 ] || fail "a look-alike of S1 was stored"

case_ "ids: the text report shows each of them by code point"
run -d $db register vs.csv --dry-run
expect_rc 1
for esc in 'S\ufe0f1' 'S\u16801' 'S\u28001' 'X1\ufe0f'; do
	expect_out "$esc"
done

# ---- review 16, B2: --map loses nothing silently -------------------------------------

case_ "--map: one header for two fields, or one field twice, is exit 2 naming both pairs"
fresh_courses C1
printf '"Student #","Email","Sect."\n1,a@x.org,C1\n' >odd2.csv
run -d $db register odd2.csv --map 'student_id=Student #,email=Student #,course=Sect.'
expect_rc 2
expect_err "--map: student_id=Student # and email=Student # name the same column"
run -d $db register odd2.csv --map 'student_id=Student #,email=Email' --map 'email=Sect.'
expect_rc 2
expect_err "--map: email is given twice (email=Email and email=Sect.)"
[ "$(sql $db "SELECT count(*) FROM batches")" = 0 ] || fail "a batch was made"

case_ "--map given twice adds up"
run -d $db register odd2.csv --map 'student_id=Student #' --map 'course=Sect.' --format csv
expect_rc 0
expect_status 2 registered
[ "$(stored 1)" = "||a@x.org" ] || fail "1 stored as $(stored 1)"

case_ "--map: a header that holds a comma, in double quotes as in CSV"
fresh_courses C1
printf '"Student #","Email, primary","Sect."\n1,a@x.org,C1\n' >comma.csv
run -d $db register comma.csv --map 'student_id=Student #, email = "Email, primary" ,course=Sect.' --format csv
expect_rc 0
expect_status 2 registered
[ "$(stored 1)" = "||a@x.org" ] || fail "1 stored as $(stored 1)"
run -d $db register comma.csv --map 'student_id=Student #,email=Email\, primary,course=Sect.'
expect_rc 2
expect_err "a header that holds a comma goes in double quotes"
run -d $db register comma.csv --map 'student_id=Student #,email="Email, secondary",course=Sect.'
expect_rc 2
expect_err "--map email=\"Email, secondary\": the header has no column 'Email, secondary'"

# ---- review 16, B7: --users with one value in two columns ---------------------------

case_ "--users: two email columns, or two id columns of one name, are exit 2 naming both, as the roster's"
fresh_courses C1
printf 'course_id,user_id\nC1,n1\n' >e.csv
printf 'user_id,first_name,email,Email\nn1,Ann,,n1@x.org\n' >u2.csv
run -d $db register e.csv --users u2.csv
expect_rc 2
expect_err "u2.csv: line 1: the --users file's email is in two columns, 3 ('email') and 4 ('Email')"
printf 'User ID,first_name,email,user_id\nX1,Ann,a@x.org,n1\n' >ui.csv
run -d $db register e.csv --users ui.csv
expect_rc 2
expect_err "the --users file's user id is in two columns, 1 ('User ID') and 4 ('user_id')"
[ "$(sql $db "SELECT count(*) FROM batches")" = 0 ] || fail "a batch was made"

# ---- review 16, B8: the roster and --users on one stream -----------------------------

case_ "the roster and --users both standard input ('-', /dev/stdin): refused naming the conflict, nothing written"
db=$(new_db t)
printf 'course_id,user_id\nC1,u1\n' >e.csv
printf 'user_id,email\nu1,a@x.org\n' >u.csv
# piped: run_piped ARGS...: bulkreg reading e.csv from a pipe
run_piped() { cat e.csv | "$BULKREG" "$@" >out 2>err; RC=$?; }
run_piped -d $db register - --users -
expect_rc 2
expect_err "register: the roster and --users are both standard input: one stream can be read only once"
run_piped -d $db register - --users /dev/stdin
expect_rc 2
expect_err "the roster and --users are both standard input"
run_piped -d $db drop - --users /dev/stdin
expect_rc 2
expect_err "drop: the roster and --users are both standard input"
run_in e.csv -d $db register - --users -
expect_rc 2
expect_err "the roster and --users are both standard input"
[ ! -e $db ] || fail "the database was created"
mkfifo ff
run -d $db register ff --users ff
expect_rc 2
expect_err "the roster and --users are both the same pipe"

case_ "one of them on standard input, or one regular file named twice, is read as usual"
fresh_courses C1
run_in u.csv -d $db register e.csv --users - --format csv
expect_rc 0
expect_status 2 registered
