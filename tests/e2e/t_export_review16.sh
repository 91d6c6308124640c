# t_export_review16: exports as they are, after the outside review 16/17 of
# issue 12 -- Moodle's account flags, Canvas role_id and base_role_type,
# header names without separators, why a status drops a row, flat-file
# messages, official role vocabularies.
db=$(new_db t)

# ---- Moodle upload users: deleted and suspended (review 16, A1) ---------------

case_ "moodle-upload: deleted 1 drops every course of its row; suspended 1 registers with one warning"
fresh_courses CF101 CF102
printf 'student_id,email,course\nbob,bob@x.org,CF101\n' >seed.csv
run -d $db register seed.csv
expect_rc 0
printf 'username,password,firstname,lastname,email,idnumber,deleted,suspended,course1,role1,course2\nann,Pw1!,Ann,Lee,ann@x.org,1001,0,0,CF101,student,\nbob,Pw1!,Bob,Ray,bob@x.org,1002,1,0,CF101,student,CF102\ncy,Pw1!,Cy,Do,cy@x.org,1003,0,1,CF101,student,\ndi,Pw1!,Di,Ek,di@x.org,1004,,1,CF101,,\n' >up.csv
run -d $db register up.csv --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 dropped CF101
expect_status 3 skipped:not_registered CF102
expect_status 4 registered
expect_status 5 registered
[ -z "$(sql $db "SELECT 1 FROM registrations WHERE student_id = 'bob'")" ] || fail "bob (deleted 1) is still registered"
expect_err "up.csv: line 4: user 'cy' is suspended (suspended 1): Moodle keeps a suspended account's enrolments"
[ "$(grep -c "is suspended" err)" = 1 ] || fail "not one warning: $(cat err)"

case_ "moodle-upload: a deleted or suspended value that is not 0 or 1 is read as 0, warned once per column"
fresh_courses CF101
printf 'username,email,deleted,suspended,course1\nann,ann@x.org,yes,,CF101\nbo,bo@x.org,yes,no,CF101\n' >up2.csv
run -d $db register up2.csv --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 registered
expect_err "up2.csv: line 2: deleted 'yes' is not 0 or 1: read as 0"
expect_err "up2.csv: line 3: suspended 'no' is not 0 or 1: read as 0"
[ "$(grep -c "is not 0 or 1" err)" = 2 ] || fail "not one warning per column: $(cat err)"

# ---- Canvas role_id without role (review 16, A2) --------------------------------

case_ "canvas: role_id and no role is refused (exit 2) naming role_id and the way on; nothing is registered"
fresh_courses C1
printf 'course_id,user_id,role_id,section_id,status\nC1,s1,3,,active\nC1,t1,4,,active\n' >rid.csv
printf 'user_id,first_name,email\ns1,Ann,a@x.org\nt1,Tea,t@x.org\n' >rid_users.csv
run -d $db register rid.csv --users rid_users.csv
expect_rc 2
expect_err "rid.csv: line 1: the header has 'role_id' (column 3) and no 'role' column"
expect_err "add a 'role' column"
expect_err "--map role=HEADER"
[ "$(sql $db "SELECT count(*) FROM registrations")" = 0 ] || fail "registered"

case_ "canvas: role_id beside role (the provisioning report) reads role; --map role= lets a role_id file run"
printf 'course_id,user_id,role_id,role\nC1,s1,3,student\nC1,t1,4,teacher\n' >rid2.csv
run -d $db register rid2.csv --users rid_users.csv --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 skipped:not_a_student
printf 'course_id,user_id,role_id,Kind\nC1,s1,3,student\nC1,t1,4,teacher\n' >rid3.csv
run -d $db register rid3.csv --users rid_users.csv --map role=Kind --format csv --dry-run
expect_rc 0
expect_status 2 already_registered
expect_status 3 skipped:not_a_student

# ---- Canvas base_role_type (review 16, A3) ----------------------------------------

case_ "canvas provisioning report: base_role_type StudentEnrollment registers a custom role; other base types are skipped"
fresh_courses BIO-300
printf 'canvas_course_id,course_id,canvas_user_id,user_id,role,role_id,canvas_section_id,section_id,status,canvas_associated_user_id,associated_user_id,created_by_sis,base_role_type,limit_section_privileges\n101,BIO-300,9001,u1,student,3,501,S1,active,,,true,StudentEnrollment,false\n101,BIO-300,9003,u3,Student Auditor,12,501,S1,active,,,true,StudentEnrollment,false\n101,BIO-300,9004,u4,teacher,4,501,S1,active,,,true,TeacherEnrollment,false\n101,BIO-300,9005,u5,Grader,13,501,S1,active,,,true,TaEnrollment,false\n101,BIO-300,9006,u6,student,3,501,S1,active,,,true,ObserverEnrollment,false\n' >prov.csv
printf 'user_id,first_name,last_name,email,status\nu1,Ann,Lee,ann@x.org,active\nu3,Cy,Do,cy@x.org,active\nu4,Tea,Cher,t@x.org,active\nu5,Gr,Ad,g@x.org,active\nu6,Ob,Se,o@x.org,active\n' >prov_users.csv
run -d $db register prov.csv --users prov_users.csv --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 registered
expect_status 4 skipped:not_a_student
expect_status 5 skipped:not_a_student
expect_status 6 skipped:not_a_student
[ "$(csv_field 5 detail)" = "role 'Grader' is not a student's" ] || fail "line 5: $(csv_field 5 detail)"
[ "$(csv_field 6 detail)" = "role 'student (ObserverEnrollment)' is not a student's" ] || fail "line 6: $(csv_field 6 detail)"
! grep -q "not one bulkreg knows" err || fail "warned: $(cat err)"

case_ "canvas: a custom role without base_role_type is skipped; the warning names base_role_type and --map role="
fresh_courses BIO-300
printf 'course_id,user_id,role\nBIO-300,u3,Student Auditor\n' >cust.csv
run -d $db register cust.csv --users prov_users.csv --format csv
expect_rc 0
expect_status 2 skipped:not_a_student
expect_err "role 'Student Auditor' is not one bulkreg knows"
expect_err "a base_role_type column, as Canvas's provisioning report has, is read instead"
expect_err "--map role=base_role_type"
printf 'course_id,user_id,role,Base Type\nBIO-300,u3,Student Auditor,StudentEnrollment\n' >cust2.csv
run -d $db register cust2.csv --users prov_users.csv --map 'role=Base Type' --format csv
expect_rc 0
expect_status 2 registered

# ---- header names without separators (review 17, B1) ------------------------------

case_ "headers: StudentID, FirstName, LastName, CourseCode are bulkreg's names; the names are stored"
fresh_courses MATH101
printf 'StudentID,FirstName,LastName,Email,CourseCode\nS1,Ann,Lee,a@x.org,MATH101\n' >sep1.csv
run -d $db register sep1.csv --format csv
expect_rc 0
expect_status 2 registered
! grep -q "ignoring unknown column" err || fail "warned: $(cat err)"
[ "$(sql $db "SELECT first_name || '|' || last_name FROM students WHERE student_id = 'S1'")" = "Ann|Lee" ] ||
	fail "names not stored"
printf 'Student ID,First-Name,last_name,E-Mail,Course\nS2,Bo,Ng,b@x.org,MATH101\n' >sep2.csv
run -d $db register sep2.csv --format csv
expect_rc 0
! grep -q "ignoring unknown column" err || fail "warned: $(cat err)"
[ "$(sql $db "SELECT first_name || '|' || last_name FROM students WHERE student_id = 'S2'")" = "Bo|Ng" ] ||
	fail "names not stored"

case_ "headers: an export's and a --users file's names match without separators too (UserID, CourseID, GivenName)"
fresh_courses MATH101
printf 'UserID,CourseID,Role\nu1,MATH101,student\n' >sep3.csv
printf 'UserID,FirstName,LastName,EMail\nu1,Cy,Do,c@x.org\n' >sep3_users.csv
run -d $db register sep3.csv --users sep3_users.csv --format csv
expect_rc 0
expect_status 2 registered
[ "$(sql $db "SELECT first_name || '|' || email FROM students WHERE student_id = 'u1'")" = "Cy|c@x.org" ] ||
	fail "users' names not joined"
printf 'Student Number,Section\nS9,MATH101\n' >sep4.csv
run -d $db register sep4.csv --map 'student_id=StudentNumber,course=SECTION' --allow-missing-email --format csv
expect_rc 0
expect_status 2 registered

# ---- why a status dropped a row (review 16, B9) ------------------------------------

case_ "a row dropped by its user's status in --users, or by its own status, says which in its detail"
fresh_courses C1
printf 'course_id,user_id,email\nC1,u1,a@x.org\nC1,u2,b@x.org\n' >why_seed.csv
run -d $db register why_seed.csv
expect_rc 0
printf 'user_id,first_name,email,status\nu1,Ann,a@x.org,deleted\nu2,Bo,b@x.org,active\nu3,Cy,c@x.org,deleted\n' >why_users.csv
printf 'course_id,user_id,role,status\nC1,u1,student,active\nC1,u2,student,completed\nC1,u3,student,active\n' >why.csv
run -d $db register why.csv --users why_users.csv --format csv
expect_rc 0
expect_status 2 dropped
expect_status 3 dropped
expect_status 4 skipped:not_registered
[ "$(csv_field 2 detail)" = "status 'deleted' in why_users.csv line 2" ] || fail "line 2: $(csv_field 2 detail)"
[ "$(csv_field 3 detail)" = "status 'completed'" ] || fail "line 3: $(csv_field 3 detail)"
[ "$(csv_field 4 detail)" = "student u3 is not registered in C1 (status 'deleted' in why_users.csv line 4)" ] ||
	fail "line 4: $(csv_field 4 detail)"

case_ "Moodle's drops say which column asked: deleted, enrolstatusN, a flat file's del"
fresh_courses C1
printf 'student_id,email,course\nm1,a@x.org,C1\nm2,b@x.org,C1\nm3,c@x.org,C1\n' >why_seed2.csv
run -d $db register why_seed2.csv
expect_rc 0
printf 'username,email,deleted,course1,enrolstatus1\nm1,a@x.org,1,C1,\nm2,b@x.org,0,C1,1\n' >why_up.csv
run -d $db register why_up.csv --format csv
expect_rc 0
[ "$(csv_field 2 detail)" = "deleted '1'" ] || fail "line 2: $(csv_field 2 detail)"
[ "$(csv_field 3 detail)" = "enrolstatus1 '1'" ] || fail "line 3: $(csv_field 3 detail)"
printf 'del, student, m3, C1\n' >why_ff.txt
run -d $db register why_ff.txt --format csv
expect_rc 0
[ "$(csv_field 1 detail)" = "operation 'del'" ] || fail "line 1: $(csv_field 1 detail)"

# ---- moodle-flatfile messages (review 16, B3) ------------------------------------------

case_ "moodle-flatfile: a short line says a flat-file line has 4 to 6 fields, not 'the header has'"
fresh_courses C1
printf 'add, student, 5, C1\nadd,student,8\nadd, student, 9, C1, 0, 0, x\n' >ff.txt
run -d $db register ff.txt --allow-missing-email --format csv --dry-run
expect_rc 1
expect_status 1 registered
expect_status 2 rejected:malformed_row
expect_status 3 rejected:malformed_row
[ "$(csv_field 2 detail)" = "3 fields: a flat-file line has 4 to 6 (operation, role, user idnumber, course idnumber[, start, end])" ] ||
	fail "line 2: $(csv_field 2 detail)"
expect_no_out "the header has"

case_ "no role warnings for rows rejected malformed_row (a CSV read as a flat file; a short row with a teacher's role)"
printf 'course_id,user_id,role,status\nC1,u1,student,active\n' >ffc.csv
run -d $db register ffc.csv --profile moodle-flatfile --dry-run --format csv
expect_rc 1
expect_status 1 rejected:malformed_row
expect_status 2 rejected:malformed_row
! grep -q "not one bulkreg knows" err || fail "warned: $(cat err)"
printf 'student_id,email,course,role,status\nS1,a@x.org,C1,member\nS2,b@x.org,C1,member,active,x\n' >short.csv
run -d $db register short.csv --dry-run --format csv
expect_rc 1
expect_status 2 rejected:malformed_row
! grep -q "not one bulkreg knows" err || fail "warned: $(cat err)"

# ---- official role vocabularies (review 16, C1) ---------------------------------------

case_ "the formats' own non-student roles are skipped without the 'not one bulkreg knows' warning"
fresh_courses CF101
printf 'add, student, 5, CF101\nadd, teacher, 6, CF101\nadd, teacheredit, 7, CF101\nadd, editingteacher, 8, CF101\nadd, manager, 9, CF101\nadd, coursecreator, 10, CF101\n' >roles_ff.txt
run -d $db register roles_ff.txt --allow-missing-email --dry-run --format csv
expect_rc 0
expect_status 1 registered
for l in 2 3 4 5 6; do expect_status $l skipped:not_a_student; done
! grep -q "not one bulkreg knows" err || fail "warned: $(cat err)"
printf 'sourcedId,classSourcedId,userSourcedId,role,status\n' >r12.csv
i=1
for role in counselor principal districtAdministrator siteAdministrator systemAdministrator proctor aide guardian relative parent; do
	printf 'e%s,CF101,u%s,%s,active\n' $i $i $role >>r12.csv
	i=$((i + 1))
done
printf 'e99,CF101,u99,student,active\n' >>r12.csv
run -d $db register r12.csv --allow-missing-email --dry-run --format csv
expect_rc 0
for l in 2 3 4 5 6 7 8 9 10 11; do expect_status $l skipped:not_a_student; done
expect_status 12 registered
! grep -q "not one bulkreg knows" err || fail "warned: $(cat err)"
