# t_export_review22: exports as they are, after the outside review 22 of
# issue 12 -- a deletion then an enrolment of one pair, Canvas sections of
# one course, keyword values with Unicode spaces, Latin-1 that is
# Windows-1252, --delimiter and the --users file, trailing empty fields.
db=$(new_db t)
detail() { csv_field "$1" detail; }

# ---- a drop, then an enrolment of the same pair (review 22, A1) ---------------

case_ "a status drop then an active row of one pair: dropped, then enrolled again (not a duplicate of the drop)"
fresh_courses E1
printf 'student_id,email,course\nu1,u1@x.org,E1\nu2,u2@x.org,E1\n' >seed.csv
run -d $db register seed.csv
expect_rc 0
printf 'course_id,user_id,role,status\nE1,u1,student,deleted\nE1,u1,student,active\nE1,u1,student,active\nE1,u2,student,deleted\nE1,u2,student,deleted\n' >again.csv
printf 'user_id,email\nu1,u1@x.org\nu2,u2@x.org\n' >again_users.csv
run -d $db register again.csv --users again_users.csv --format csv
expect_rc 1
expect_status 2 dropped
expect_status 3 registered
[ "$(detail 3)" = "enrolled again after line 2's drop" ] || fail "line 3: $(detail 3)"
expect_status 4 rejected:duplicate_in_roster
[ "$(detail 4)" = "student u1 is already in E1 from line 3" ] || fail "line 4: $(detail 4)"
expect_status 5 dropped
expect_status 6 rejected:duplicate_in_roster
[ "$(sql $db "SELECT count(*) FROM registrations WHERE student_id = 'u1'")" = 1 ] || fail "u1 is not registered"
run -d $db verify
expect_rc 0

case_ "moodle flat file: del then add re-enrols; a skipped del (not registered) then add registers, as when another pair was dropped"
fresh_courses CF101 CF102
printf 'student_id,email,course\nx,x@x.org,CF102\n' >seed2.csv
run -d $db register seed2.csv
printf 'del, student, x, CF102\ndel, student, 9, CF101\nadd, student, 9, CF101\n' >ff.txt
run -d $db register ff.txt --allow-missing-email --format csv
expect_rc 0
expect_status 1 dropped
expect_status 2 skipped:not_registered
expect_status 3 registered
run -d $db register ff.txt --allow-missing-email --format csv
expect_rc 0
expect_status 1 skipped:not_registered CF102
expect_status 2 dropped
expect_status 3 registered
[ "$(detail 3)" = "enrolled again after line 2's drop" ] || fail "line 3: $(detail 3)"

case_ "a re-enrolment takes a free seat, else the waitlist's end (the freed seat went to the waitlist)"
db=$(new_db t)
"$BULKREG" -q -d $db course add E411208 --capacity 2 >/dev/null 2>&1
printf 'user_id,first_name,last_name,email\nu1,A,One,u1@x.org\nu2,B,Two,u2@x.org\nu3,C,Three,u3@x.org\n' >users.csv
printf 'course_id,user_id,role,section_id,status\nE411208,u1,student,S001,active\nE411208,u2,student,S001,active\nE411208,u3,student,S001,active\n' >day1.csv
run -d $db register day1.csv --users users.csv
expect_rc 0
printf 'course_id,user_id,role,section_id,status\nE411208,u1,student,S001,deleted\nE411208,u1,student,S002,active\n' >day2.csv
run -d $db register day2.csv --users users.csv --format csv
expect_rc 0
expect_status 2 dropped
expect_status 3 waitlisted
[ "$(sql $db "SELECT status FROM registrations WHERE student_id = 'u1'")" = waitlisted ] || fail "u1 lost the course"
run -d $db verify
expect_rc 0
run -d $db undo 2
expect_rc 0
[ "$(sql $db "SELECT status FROM registrations WHERE student_id = 'u1'")" = registered ] || fail "undo: u1 not registered again"
[ "$(sql $db "SELECT status FROM registrations WHERE student_id = 'u3'")" = waitlisted ] || fail "undo: u3 not waitlisted again"
run -d $db verify
expect_rc 0

# ---- Canvas sections of one course (review 22, A1 and B2) ----------------------

case_ "canvas: a section move, active row first: the deletion of the old section is skipped, the seat is kept"
db=$(new_db t)
"$BULKREG" -q -d $db course add E411208 --capacity 2 >/dev/null 2>&1
run -d $db register day1.csv --users users.csv
printf 'course_id,user_id,role,section_id,status\nE411208,u1,student,S002,active\nE411208,u1,student,S001,deleted\n' >move.csv
run -d $db register move.csv --users users.csv --format csv
expect_rc 0
expect_status 2 already_registered
expect_status 3 skipped:duplicate_in_roster
[ "$(detail 3)" = "student u1 is still in section 'S002' of E411208 from line 2 (status 'deleted')" ] || fail "line 3: $(detail 3)"
[ "$(sql $db "SELECT status FROM registrations WHERE student_id = 'u1'")" = registered ] || fail "u1 lost the seat"

case_ "canvas: one student in two sections of one course is registered once, the second row already_registered (exit 0, --strict too); a section twice is a repeat"
fresh_courses E411208
printf 'course_id,user_id,role,section_id,status\nE411208,u1,student,LEC1,active\nE411208,u1,student,LAB3,active\nE411208,u1,student,LAB3,active\nE411208,u1,student,LEC1,active\n' >two.csv
run -d $db register two.csv --users users.csv --format csv
expect_rc 1
expect_status 5 rejected:duplicate_in_roster
expect_status 2 registered
expect_status 3 already_registered
[ "$(detail 3)" = "also in section 'LEC1' from line 2" ] || fail "line 3: $(detail 3)"
expect_status 4 rejected:duplicate_in_roster
[ "$(detail 4)" = "student u1 is already in E411208 from line 3" ] || fail "line 4: $(detail 4)"
head -3 two.csv >two2.csv
run -d $db register two2.csv --users users.csv --strict --format csv
expect_rc 0
expect_status 2 already_registered
expect_status 3 already_registered
[ "$(detail 3)" = "also in section 'LEC1' from line 2" ] || fail "rerun line 3: $(detail 3)"

case_ "canvas: in two sections, then the deletion of one of them: skipped, naming the section kept"
fresh_courses E411208
printf 'course_id,user_id,role,section_id,status\nE411208,u1,student,LEC1,active\nE411208,u1,student,LAB3,active\nE411208,u1,student,LEC1,deleted\n' >three.csv
run -d $db register three.csv --users users.csv --format csv
expect_rc 0
expect_status 4 skipped:duplicate_in_roster
[ "$(detail 4)" = "student u1 is still in section 'LAB3' of E411208 from line 3 (status 'deleted')" ] || fail "line 4: $(detail 4)"

case_ "bulkreg's own roster: a repeated row is still duplicate_in_roster; --course-from section_id: sections are courses"
fresh_courses C1
printf 'student_id,email,course\ns1,s1@x.org,C1\ns1,s1@x.org,C1\n' >dup.csv
run -d $db register dup.csv --format csv
expect_rc 1
expect_status 3 rejected:duplicate_in_roster

# ---- keyword values with Unicode spaces (review 22, B7) ----------------------

case_ "role, status, operation and Moodle flags are read with U+00A0, U+202F and U+2007 around them left out"
fresh_courses C1 CF101
nb=$(printf '\302\240'); nn=$(printf '\342\200\257'); fg=$(printf '\342\200\207')
printf 'student_id,email,course\nn2,n2@x.org,C1\nm2,m2@x.org,CF101\n' >seed3.csv
run -d $db register seed3.csv
printf 'user_id,email,course_id,role,status\nn1,n1@x.org,C1,Student%s,active\nn2,n2@x.org,C1,student,deleted%s\nn3,n3@x.org,C1,%sLearner%s,%s\n' "$nb" "$nn" "$fg" "$nb" "$nb" >nbsp.csv
run -d $db register nbsp.csv --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 dropped
expect_status 4 registered
printf 'del%s, student, m2, CF101\n' "$nb" >ffnb.txt
run -d $db register ffnb.txt --format csv
expect_rc 0
expect_status 1 dropped
printf 'course_id,user_id,role\nC1,u9,student\n' >nbu.csv
printf 'user_id,email,status\nu9,u9@x.org,%sdeleted%s\n' "$nb" "$nb" >nbu_users.csv
run -d $db register nbu.csv --users nbu_users.csv --format csv
expect_rc 0
expect_status 2 skipped:not_registered

# ---- Windows-1252 read as ISO-8859-1 (review 22, B6) -------------------------

case_ "--encoding ISO-8859-1 (or LATIN1) on a Windows-1252 file: refused whole, naming WINDOWS-1252; nothing registered"
fresh_courses C1
printf 'student_id,first_name,last_name,email,course\r\ns1,Sean,O\222Brien,s1@x.org,C1\r\ns2,Ann,Lee,s2@x.org,C1\r\n' >w.csv
for enc in ISO-8859-1 LATIN1 l1; do
	run -d $db register w.csv --encoding $enc
	expect_rc 2
	expect_err "w.csv: line 2, column 10: byte 92 is a control character (U+0092) in $enc, which no roster holds; in WINDOWS-1252 it is '’'"
	expect_err "nothing was registered: rerun with --encoding WINDOWS-1252"
done
[ "$(sql $db "SELECT count(*) FROM registrations")" = 0 ] || fail "registered"
[ "$(sql $db "SELECT count(*) FROM batches")" = 0 ] || fail "a batch was recorded"
run -d $db register w.csv --encoding WINDOWS-1252 --format csv
expect_rc 0
expect_status 2 registered

case_ "a C1 byte past the first 64 KiB rolls the batch back; in the --users file it names --users-encoding"
fresh_courses C1
python3 - <<'PY'
with open("long.csv", "wb") as f:
    f.write(b"student_id,first_name,last_name,email,course\r\n")
    for i in range(3000):
        f.write(b"s%d,Jos\xe9,Lee,s%d@x.org,C1\r\n" % (i, i))
    f.write(b"z1,Zo\x80,Lee,z1@x.org,C1\r\n")
PY
"$BULKREG" -q -d $db course add C1 --capacity 5000 >/dev/null 2>&1
run -d $db register long.csv --encoding ISO-8859-1
expect_rc 2
expect_err "line 3002, column 6: byte 80 is a control character (U+0080) in ISO-8859-1"
[ "$(sql $db "SELECT count(*) FROM registrations")" = 0 ] || fail "registered"
printf 'course_id,user_id,role\nC1,u1,student\n' >wu.csv
printf 'user_id,first_name,last_name,email\nu1,Sean,O\222Brien,u1@x.org\n' >wu_users.csv
run -d $db register wu.csv --users wu_users.csv --users-encoding ISO-8859-1
expect_rc 2
expect_err "wu_users.csv: line 2, column 10: byte 92"
expect_err "rerun with --users-encoding WINDOWS-1252"

# ---- --delimiter and the --users file (review 22, B4) --------------------------

case_ "--delimiter applies to the --users file too, unless its sep= line names another; the message hints at the delimiter"
fresh_courses E1
printf 'course_id;user_id;role\nE1;v1;student\n' >semi.csv
printf 'user_id;first_name;last_name;email\nv1;Vi;Ek;v1@x.org\n' >semi_users.csv
run -d $db register semi.csv --delimiter ';' --users semi_users.csv --format csv
expect_rc 0
expect_status 2 registered
printf 'sep=,\nuser_id,first_name,last_name,email\nv2,Vo,Ek,v2@x.org\n' >comma_users.csv
printf 'course_id;user_id;role\nE1;v2;student\n' >semi2.csv
run -d $db register semi2.csv --delimiter ';' --users comma_users.csv --format csv
expect_rc 0
expect_status 2 registered
printf 'course_id,user_id,role\nE1,v1,student\n' >comma.csv
run -d $db register comma.csv --users semi_users.csv
expect_rc 2
expect_err "semi_users.csv: line 1: no user id column (sourcedId, user_id, Student_id, username or id) in the --users file; the header looks ';'-separated: give --delimiter ';' (or a first line sep=;)"
printf 'user_id\tfirst_name\temail\nv1\tVi\tv1@x.org\n' >tab_users.csv
run -d $db register comma.csv --users tab_users.csv
expect_rc 2
expect_err "the header looks tab-separated: give --delimiter tab"
tail -n +2 comma_users.csv >comma_users2.csv
run -d $db register semi2.csv --delimiter ';' --users comma_users2.csv
expect_rc 2
expect_err "the header looks comma-separated: give it a first line sep=, (--delimiter is the roster's too)"

# ---- an export's short rows and trailing commas (review 22, B5) ----------------

case_ "an export's row with empty fields past the header reads as if they were not there; a short row is still malformed (a value lost in the middle shifts the others: review 25 F13, F04); bulkreg's own roster rejects both"
fresh_courses E1
printf 'course_id,user_id,role,section_id,status,associated_user_id\r\nE1,s1,student,,active,\r\nE1,s2,student,,active\r\nE1,s3,student\r\nE1,s4,student,,deleted,,,\r\nE1,s5,student,,active,,x\r\n' >short.csv
run -d $db register short.csv --allow-missing-email --format csv
expect_rc 1
expect_status 2 registered
expect_status 3 rejected:malformed_row
expect_status 4 rejected:malformed_row
expect_status 5 skipped:not_registered
expect_status 6 rejected:malformed_row
[ "$(detail 6)" = "7 fields, the header has 6" ] || fail "line 6: $(detail 6)"
printf 'course_id,user_id,role,status\r\nE1,t1,student,active,\r\nE1,t2,student,active,\r\n' >trailing.csv
run -d $db register trailing.csv --allow-missing-email --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 registered
# A --map roster that lost a first name: read shifted, the last name would
# become the first and the email the last (review 25 F13).
printf 'student_id,first_name,last_name,email,course\nm1,Bjorn,Lindqvist,bjorn@x.org,E1\n' >known.csv
run -d $db register known.csv --format csv
expect_rc 0
printf 'ID,Class,First,Last,Mail\nm1,E1,Lindqvist,bjorn@x.org\n' >lost.csv
run -d $db register lost.csv --map student_id=ID,course=Class,first_name=First,last_name=Last,email=Mail --format csv
expect_rc 1
expect_status 2 rejected:malformed_row
run -d $db student m1
expect_out "Bjorn Lindqvist <bjorn@x.org>"
printf 'student_id,email,course\ns9,s9@x.org,E1,\ns8,s8@x.org\n' >own.csv
run -d $db register own.csv --format csv
expect_rc 1
expect_status 2 rejected:malformed_row
expect_status 3 rejected:malformed_row

# ---- LTI / LIS role URIs (review 22, C2) --------------------------------------

case_ "a role URI is read by its last segment (after '#', else '/'); a long role's detail shows its end"
fresh_courses C1
printf 'student_id,email,course,role\nr5,r5@x.org,C1,http://purl.imsglobal.org/vocab/lis/v2/membership#Learner\nr6,r6@x.org,C1,urn:lti:role:ims/lis/Learner\nr7,r7@x.org,C1,http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor\nr8,r8@x.org,C1,urn:lti:role:ims/lis/Instructor\n' >lti.csv
run -d $db register lti.csv --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 registered
expect_status 4 skipped:not_a_student
[ "$(detail 4)" = "role 'http://purl.imsgloba...lis/v2/membership#Mentor' is not a student's" ] || fail "line 4: $(detail 4)"
expect_status 5 skipped:not_a_student

# ---- Moodle upload past course99 (review 22, C6) --------------------------------

case_ "moodle-upload: a course100 column is warned about, and the first row with a value there"
fresh_courses A Z
python3 -c "
h=['username','firstname','lastname','email']+[f'course{i}' for i in range(1,101)]
r=['u1','A','B','u1@x.org','A']+['']*98+['Z']
open('up100.csv','w').write(','.join(h)+'\n'+','.join(r)+'\n'+','.join(r).replace('u1','u2')+'\n')"
run -d $db register up100.csv --format csv
expect_rc 0
expect_status 2 registered A
expect_err "up100.csv: ignoring column 'course100' (column 104): bulkreg reads course1 to course99"
expect_err "up100.csv: line 2: column 104 holds 'Z', which is not enrolled (bulkreg reads course1 to course99)"
[ "$(grep -c "holds 'Z'" err)" = 1 ] || fail "not one row warning: $(cat err)"

# ---- unknown_student names the --users id column (review 22, C5) -------------

case_ "unknown_student's detail names the --users file's id column"
fresh_courses CF101
printf 'add, student, 5, CF101\n' >ffu.txt
printf 'id,username,email,firstname,lastname,idnumber\n2,ann,ann@x.org,Ann,Lee,5\n' >moodle_users.csv
run -d $db register ffu.txt --users moodle_users.csv --format csv
expect_rc 1
expect_status 1 rejected:unknown_student
[ "$(detail 1)" = "not in the --users file (looked up in its column 'username'), nor in the database" ] || fail "line 1: $(detail 1)"

# ---- the --users file's SHA-256 in the history (review 22, C7) -------------------

case_ "the batch history keeps the --users file's SHA-256 beside its name"
fresh_courses E1
printf 'course_id,user_id,role\nE1,h1,student\n' >h.csv
printf 'user_id,email\nh1,h1@x.org\n' >h_users.csv
run -d $db register h.csv --users h_users.csv
expect_rc 0
want=$(sha256sum h_users.csv | cut -d' ' -f1)
run -d $db batches show 1
expect_out "\"users_sha256\":\"$want\""

# ---- the encoding guess: OEM code pages and double-byte encodings (review 22, B1) ----

case_ "the guess names CP850 for an MS-DOS CSV, and lists the double-byte candidates for CJK text, saying it cannot tell"
fresh_courses C1
printf 'student_id,first_name,last_name,email,course\r\nm1,Zo\211,Lef\212vre,m1@x.org,C1\r\nm2,Jos\202,G\242mez,m2@x.org,C1\r\n' >cp850.csv
run -d $db register cp850.csv
expect_rc 2
expect_err "the file is most likely CP850; nothing was registered: rerun with --encoding CP850"
run -d $db register cp850.csv --encoding CP850 --format csv
expect_rc 0
[ "$(sql $db "SELECT first_name || ' ' || last_name FROM students WHERE student_id = 'm1'")" = "Zoë Lefèvre" ] || fail "m1 stored as $(sql $db "SELECT first_name || ' ' || last_name FROM students WHERE student_id = 'm1'")"
printf 'student_id,first_name,last_name,email,course\r\nj1,\221\276\230Y,\216R\223c,j1@x.jp,C1\r\n' >sjis.csv
run -d $db register sjis.csv
expect_rc 2
expect_err "the file's bytes fit SHIFT_JIS or GBK alike, and which one cannot be told from them"
