# t_spreadsheet_csv: what spreadsheets and SIS exports write -- delimiter-only
# rows, quotes as characters, "sep=", repeated ignored columns -- and rosters
# without an email (issue 12).
db=$(new_db t)
run -d $db course add OPEN --capacity 10
expect_rc 0
run -d $db course add "Phys 100 - 1" --capacity 10
expect_rc 0

case_ "rows made only of delimiters (',,,,') are skipped like blank lines, and counted"
printf 'student_id,first_name,last_name,email,course\n,,,,\nD1,A,B,d1@uni.example,OPEN\n ,  , ,,\n"","",,,\nD2,A,B,d2@uni.example,OPEN\n,,,,\n' >delims.csv
run -d $db register delims.csv --format csv
expect_rc 0
[ "$(grep -c . out)" = 3 ] || fail "report: $(cat out)"
expect_out "3,D1,OPEN,registered"
expect_out "6,D2,OPEN,registered"

case_ "a quote inside an unquoted field is a character (O\"Neil), as Excel reads it"
printf 'student_id,first_name,last_name,email,course\nQ1,Tom,O"Neil,q1@uni.example,OPEN\nQ2,5" ruler,Smith,q2@uni.example,OPEN\n' >quotes.csv
run -d $db register quotes.csv --format csv
expect_rc 0
[ "$(sql $db "SELECT last_name FROM students WHERE student_id = 'Q1'")" = 'O"Neil' ] || fail "Q1"
[ "$(sql $db "SELECT first_name FROM students WHERE student_id = 'Q2'")" = '5" ruler' ] || fail "Q2"

case_ "text after a closing quote (\"ab\"c) rejects that row (malformed_row), not the file"
printf 'student_id,first_name,last_name,email,course\nR1,"ab"c,x,r1@uni.example,OPEN\nR2,"multi\nline" tail,x,r2@uni.example,OPEN\nR3,ok,x,r3@uni.example,OPEN\n' >after.csv
run -d $db register after.csv --format csv
expect_rc 1
expect_out "2,R1,OPEN,rejected,,malformed_row,\"column 2 ('first_name'): text after a closing quote"
expect_out "3,R2,OPEN,rejected,,malformed_row"
expect_out "5,R3,OPEN,registered"

case_ "an unterminated quoted field at the end of the file is still exit 2, nothing written"
printf 'student_id,email,course\nU1,u1@uni.example,OPEN\nU2,"u2@uni.example,OPEN\n' >unterminated.csv
dump $db before.dump
run -d $db register unterminated.csv
expect_rc 2
expect_err "unterminated.csv: line 3: unterminated quoted field"
dump $db after.dump
expect_same before.dump after.dump

case_ "Excel's 'sep=;' first line sets the delimiter (and lines count from it)"
printf 'sep=;\r\nstudent_id;first_name;email;course\r\nS1;Ann;s1@uni.example;OPEN\r\n' >sep.csv
run -d $db register sep.csv --format csv
expect_rc 0
expect_out "3,S1,OPEN,registered"
printf '\357\273\277sep=|\nstudent_id|email|course\nS2|s2@uni.example|Phys 100 - 1\n' >sep2.csv
run -d $db register sep2.csv --format csv
expect_rc 0
expect_out "3,S2,Phys 100 - 1,registered"
printf 'sep=x\nstudent_id,email,course\n' >sep3.csv
run -d $db register sep3.csv
expect_rc 2
expect_err "sep3.csv: line 1: 'sep=' names a delimiter bulkreg does not read"

case_ "two ignored columns with the same name are accepted; a mapped field twice is not"
printf 'student_id,Notes,email,course,Notes,notes\nN1,a,n1@uni.example,OPEN,b,c\n' >notes.csv
run -d $db register notes.csv --format csv
expect_rc 0
expect_out "2,N1,OPEN,registered"
printf 'student_id,email,course,E-Mail\n' >twice.csv
run -d $db register twice.csv
expect_rc 2
expect_err "column 'email' appears twice"

case_ "no email column: rows register students the database knows; new ones are missing_email"
printf 'student_id,course\nD1,Phys 100 - 1\nNEW1,Phys 100 - 1\n' >noemail.csv
run -d $db register noemail.csv --format csv
expect_rc 1
expect_out "2,D1,Phys 100 - 1,registered"
expect_out "3,NEW1,Phys 100 - 1,rejected,,missing_email,email is empty and the student is new (see --allow-missing-email)"
[ "$(sql $db "SELECT email FROM students WHERE student_id = 'D1'")" = d1@uni.example ] ||
	fail "D1's email was lost"

case_ "an empty email keeps the stored one; --allow-missing-email registers new students without one"
printf 'student_id,first_name,email,course\nD2,Dee,,Phys 100 - 1\nNEW2,New,,Phys 100 - 1\n' >empty.csv
run -d $db register empty.csv --format csv --allow-missing-email
expect_rc 0
expect_out "2,D2,Phys 100 - 1,registered"
expect_out "3,NEW2,Phys 100 - 1,registered"
[ "$(sql $db "SELECT first_name || '|' || email FROM students WHERE student_id = 'D2'")" = "Dee|d2@uni.example" ] ||
	fail "D2: $(sql $db "SELECT * FROM students WHERE student_id = 'D2'")"
[ "$(sql $db "SELECT email FROM students WHERE student_id = 'NEW2'")" = "" ] || fail "NEW2"

case_ "a student added earlier in the same roster counts as known"
printf 'student_id,email,course\nK1,k1@uni.example,OPEN\nK1,,Phys 100 - 1\n' >same.csv
run -d $db register same.csv --format csv
expect_rc 0
expect_out "3,K1,Phys 100 - 1,registered"

case_ "ids as exports write them: GUIDs, emails, spaces, long Canvas ids; operands after --"
guid=8f14e45f-ceea-467f-a8f2-7b1d0c3e9a12
long=$(awk 'BEGIN { while (n++ < 200) printf "x" }')
printf 'student_id,email,course\n%s,g@uni.example,Phys 100 - 1\njane.doe@school.edu,j@uni.example,OPEN\nsis:%s,l@uni.example,OPEN\n-dash,d@uni.example,OPEN\n' "$guid" "$long" >ids.csv
run -d $db register ids.csv --format csv
expect_rc 0
[ "$(grep -c -E ',(registered|waitlisted),' out)" = 4 ] || fail "$(cat out)"
run -d $db roster --format csv -- "Phys 100 - 1"
expect_rc 0
expect_out "$guid"

# ---- review 9, W5: the --users file is held to the roster's CSV rules -------------

users_db() {
	db=$(new_db users)
	"$BULKREG" -d $db course add K --capacity 5 >/dev/null 2>&1 || fail "course add"
	printf 'student_id,email,course\nB,b@x.org,K\n' >seedB.csv
	"$BULKREG" -d $db register seedB.csv -q >/dev/null 2>&1 || fail "seed"
}
printf 'course_id,user_id,role,status\nK,A,student,active\nK,B,student,active\nK,C,student,active\n' >uenr.csv

case_ "a --users row with more fields than its header (Smith, Jr): exit 2 naming file and line, nothing written"
users_db
printf 'user_id,email,first_name,last_name,status\nA,a@x.org,An,A,active\nB,b@x.org,Bo,Smith, Jr,deleted\nC,c@x.org,Cy,C,active\n' >u_shift.csv
dump $db before.dump
run -d $db register uenr.csv --users u_shift.csv
expect_rc 2
expect_err "u_shift.csv: line 3: 6 fields, the header has 5, and field 6 holds a value: the --users file is refused; nothing was written"
expect_empty out
dump $db after.dump
expect_same before.dump after.dump

case_ "a --users row shorter than its header, or with empty fields past it: the missing ones are empty, nothing shifts"
# Exports leave out empty trailing fields; a trailing comma adds an empty one.
printf 'user_id,first_name,last_name,email,status\nA,An,A,a@x.org,active\nB,Bo,B,b@x.org\nC,Cy,C,c@x.org,active,,\n' >u_short.csv
run -d $db register uenr.csv --users u_short.csv --format csv --dry-run
expect_rc 0
grep -q '^3,B,K,already_registered' out || fail "B: $(cat out)"
grep -q '^4,C,K,registered' out || fail "C (its email from the users file): $(cat out)"

case_ "text after a closing quote in a --users row (\"Bo\"x): exit 2 naming line and column, not stored as Box"
printf 'user_id,first_name,last_name,email,status\nA,An,A,a@x.org,active\nB,"Bo"x,B,b@x.org,active\n' >u_quote.csv
run -d $db register uenr.csv --users u_quote.csv
expect_rc 2
expect_err "u_quote.csv: line 3, column 2 ('first_name'): text after a closing quote"
dump $db after.dump
expect_same before.dump after.dump
[ "$(sql $db "SELECT count(*) FROM students WHERE first_name = 'Box'")" = 0 ] || fail "Box stored"

case_ "a --users value over 256 bytes that bulkreg reads: exit 2 naming line and column, not cut"
long=$(printf '%0300d' 0)
printf 'user_id,first_name,last_name,email,notes\nA,An,A,a@x.org,%s\nB,%s,B,b@x.org,\n' "$long" "$long" >u_long.csv
run -d $db register uenr.csv --users u_long.csv
expect_rc 2
expect_err "u_long.csv: line 3, column 2 ('first_name'): 300 bytes (limit 256)"

case_ "what the roster accepts, --users accepts: O\"Neil, blank and delimiter-only rows, sep=;"
users_db
printf 'sep=;\nuser_id;first_name;last_name;email;status\nA;Mary;O"Neil;a@x.org;active\n;;;;\n\nC;Cy;C;c@x.org;active\n' >u_ok.csv
run -d $db register uenr.csv --users u_ok.csv --format csv
expect_rc 0
expect_out "2,A,K,registered"
expect_out "3,B,K,already_registered"
expect_out "4,C,K,registered"
[ "$(sql $db "SELECT last_name FROM students WHERE student_id = 'A'")" = 'O"Neil' ] || fail "A"

# ---- review 16, B5: sep= as spreadsheets write it again; --delimiter wins ------------

case_ "'sep=;;;' (padded to the header's width) and '\"sep=;\"' (quoted) set the delimiter too"
db=$(new_db t)
run -d $db course add OPEN --capacity 10
expect_rc 0
printf 'sep=;;;\r\nstudent_id;first_name;email;course\r\nP1;Ann;p1@uni.example;OPEN\r\n' >pad.csv
run -d $db register pad.csv --format csv
expect_rc 0
expect_out "3,P1,OPEN,registered"
printf '"sep=;"\r\nstudent_id;first_name;email;course\r\nP2;Ann;p2@uni.example;OPEN\r\n' >qsep.csv
run -d $db register qsep.csv --format csv
expect_rc 0
expect_out "3,P2,OPEN,registered"
printf '"sep=|"||\nstudent_id|email|course\nP3|p3@uni.example|OPEN\n' >qpad.csv
run -d $db register qpad.csv --format csv
expect_rc 0
expect_out "3,P3,OPEN,registered"

case_ "an explicit --delimiter wins over a 'sep=' line, with a warning; the hint names the sep= line"
printf 'sep=;\r\nstudent_id,email,course\r\nP4,p4@uni.example,OPEN\r\n' >wrongsep.csv
run -d $db register wrongsep.csv
expect_rc 2
expect_err "the header looks comma-separated (the file's 'sep=' line chose ';'): try --delimiter ','"
run -d $db register wrongsep.csv --delimiter , --format csv
expect_rc 0
expect_out "3,P4,OPEN,registered"
expect_err "wrongsep.csv: line 1: the file's 'sep=' line names ';'; --delimiter ',' was given and wins"
printf 'sep=;\r\nstudent_id;first_name;email;course\r\nP5;Ann;p5@uni.example;OPEN\r\n' >agree.csv
run -d $db register agree.csv --delimiter ';' --format csv
expect_rc 0
expect_out "3,P5,OPEN,registered"
! grep -q "sep=" err || fail "warned though they agree: $(cat err)"

case_ "a spreadsheet's empty trailing header cells are ignored without a warning naming '' (review 16, C6)"
dbz=$(new_db zz)
"$BULKREG" -q -d "$dbz" course add C1 --capacity 5 || fail "setup"
printf 'student_id;course;email;;;\r\nu1;C1;a@x.org;;;\r\n' >trail.csv
run -d "$dbz" register trail.csv --delimiter ';' --dry-run
expect_rc 0
! grep -q "unknown column" err || fail "warned: $(cat err)"
printf 'student_id;course;email;;notes\r\nu1;C1;a@x.org;;x\r\n' >named.csv
run -d "$dbz" register named.csv --delimiter ';' --dry-run
expect_rc 0
expect_err "ignoring unknown column: 'notes'"

case_ "a DOS end-of-file mark (^Z) after the last line is not a row (review 16, C6)"
printf 'student_id,course,email\r\nu1,C1,a@x.org\r\n\032' >ctrlz.csv
run -d "$dbz" register ctrlz.csv --dry-run --format csv
expect_rc 0
[ "$(grep -c "" out)" = 2 ] || fail "rows: $(cat out)"
printf 'student_id,course,email\r\nu1,C1,a@x.org\r\nu2,C1,b@x.org\032\r\n' >ctrlz2.csv
run -d "$dbz" register ctrlz2.csv --dry-run --format csv
expect_rc 1
expect_out "invalid_characters"
