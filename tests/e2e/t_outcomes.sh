# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_outcomes: every outcome and every reason, row by row, and the order in
# which the reasons are checked (the first that applies wins).

# table REPORT: "line student course status position reason" per record of a
# csv report, '-' for an empty value, and "line<TAB>detail" per record in
# ./details.  sqlite3 parses the csv (RFC 4180, quoted line breaks too): it
# starts in milliseconds where python takes a large part of a second.
table() {
	rm -f details
	sqlite3 -separator ' ' :memory: ".import --csv $1 r" \
		".output details" "SELECT line || char(9) || detail FROM r ORDER BY rowid" \
		".output stdout" "SELECT line, coalesce(nullif(student_id, ''), '-'),
		 coalesce(nullif(course, ''), '-'), status,
		 coalesce(nullif(position, ''), '-'), coalesce(nullif(reason, ''), '-')
		 FROM r ORDER BY rowid"
}

# detail LINE: the detail of record LINE of the last report given to table.
detail() { awk -F '\t' -v l="$1" '$1 == l { print $2 }' details; }

# expect_table REPORT: the table of REPORT is exactly standard input.
expect_table() {
	table "$1" >table.got || fail "cannot read $1 as csv"
	cat >table.want
	expect_same table.want table.got
}

db=$(new_db t)

# status_in CODE ID: "status" or "status:position" of student ID in course
# CODE, from `bulkreg roster CODE --format csv`; empty if not there.  (The
# listing, not the tables: the schema is bulkreg's own business.)
status_in() {
	"$BULKREG" -d "$db" roster "$1" --format csv >status_in.csv || fail "roster $1"
	sqlite3 :memory: ".import --csv status_in.csv r" \
		"SELECT status || CASE WHEN position <> '' THEN ':' || position ELSE '' END
		 FROM r WHERE student_id = '$2'"
}

case_ "setup: the courses and an earlier batch"
run -d $db course import "$DATA/courses/outcomes.csv"
expect_rc 0
run -d $db register "$DATA/rosters/enrolled.csv" --format csv
expect_rc 0
expect_table out <<'EOF'
2 P1 OPEN registered - -
3 P2 WAITONLY waitlisted 1 -
EOF

case_ "every outcome and every reason, one per row, in roster order"
run -d $db register "$DATA/rosters/outcomes.csv" --format csv
expect_rc 1
cp out outcomes.report
expect_table outcomes.report <<'EOF'
2 N1 OPEN registered - -
3 P1 OPEN already_registered - -
4 P2 WAITONLY already_waitlisted 1 -
5 N2 WAITONLY waitlisted 2 -
6 N3 WL2 registered - -
7 N4 WL2 registered - -
8 N5 WL2 waitlisted 1 -
9 N6 WL2 waitlisted 2 -
10 N7 WL2 rejected - course_full
11 N8 ONE registered - -
12 N9 ONE rejected - course_full
13 N10 ZERO rejected - course_full
15 N1 OPEN rejected - duplicate_in_roster
16 N5 WL2 rejected - duplicate_in_roster
17 X1 OPEN rejected - malformed_row
18 X2 - rejected - malformed_row
19 X3 OPEN rejected - invalid_characters
20 X4 OPEN rejected - field_too_long
21 - OPEN rejected - missing_student_id
22 X​6 OPEN rejected - invalid_student_id
23 X7 OPEN rejected - missing_email
24 X8 OPEN rejected - invalid_email
25 X9 - rejected - missing_course
26 X10 NOPE101 rejected - unknown_course
27 X11 open rejected - unknown_course
EOF

case_ "csv_field: waitlisted carries its position; registered has no reason"
cp outcomes.report out
[ "$(csv_field 9 status)" = waitlisted ] || fail "line 9: $(csv_field 9 status)"
[ "$(csv_field 9 position)" = 2 ] || fail "line 9 position $(csv_field 9 position)"
[ -z "$(csv_field 2 reason)" ] || fail "registered line 2 has a reason"

case_ "details explain the rejections"
table outcomes.report >/dev/null
d=$(detail 15)
case $d in *"N1"*"OPEN"*"line 2"*) ;; *) fail "duplicate detail: $d" ;; esac
d=$(detail 16)
case $d in *"line 8"*) ;; *) fail "duplicate of a waitlisted row: $d" ;; esac
d=$(detail 12)
case $d in *"no waitlist"*) ;; *) fail "course_full without waitlist: $d" ;; esac
d=$(detail 10)
case $d in *"waitlist is full"*) ;; *) fail "course_full, waitlist full: $d" ;; esac
d=$(detail 17)
case $d in *"6 fields"*"5"*) ;; *) fail "malformed detail: $d" ;; esac
d=$(detail 20)
case $d in *"257"*) ;; *) fail "field_too_long detail: $d" ;; esac
d=$(detail 22)
case $d in *"U+200B"*) ;; *) fail "invalid_student_id detail: $d" ;; esac
d=$(detail 19)
case $d in *"first_name: character 4 (0x07) is a control character"*) ;; *) fail "invalid_characters detail: $d" ;; esac
d=$(detail 26)
case $d in *"NOPE101"*) ;; *) fail "unknown_course detail: $d" ;; esac
for l in 2 3 4 5 6 7 8 9 11; do
	[ -z "$(detail $l)" ] || fail "line $l succeeded but has a detail: $(detail $l)"
done

case_ "rejected rows write nothing; valid rows are not blocked by them"
got=$(sql $db "SELECT group_concat(student_id, ' ') FROM (SELECT student_id FROM students ORDER BY student_id) AS s")
[ "$got" = "N1 N2 N3 N4 N5 N6 N8 P1 P2" ] || fail "students: $got"
got=""
for c in ONE OPEN WAITONLY WL2 ZERO; do
	"$BULKREG" -d $db roster $c --format csv >listing.csv || fail "roster $c"
	got="$got$c: $(sqlite3 :memory: ".import --csv listing.csv r" \
		"SELECT group_concat(student_id || ':' || status || CASE WHEN position <> ''
		 THEN ':' || position ELSE '' END, ' ') FROM (SELECT * FROM r ORDER BY rowid)")
"
done
want="ONE: N8:registered
OPEN: P1:registered N1:registered
WAITONLY: P2:waitlisted:1 N2:waitlisted:2
WL2: N3:registered N4:registered N5:waitlisted:1 N6:waitlisted:2
ZERO: 
"
[ "$got" = "$want" ] || fail "registrations:
$got"

case_ "every registration records its batch and source line"
run -d $db roster WL2 --format csv
expect_rc 0
got=$(sqlite3 -separator ' ' :memory: ".import --csv out r" \
	"SELECT student_id, status, coalesce(nullif(position, ''), '-'), batch, line
	 FROM r ORDER BY rowid")
want="N3 registered - 2 6
N4 registered - 2 7
N5 waitlisted 1 2 8
N6 waitlisted 2 2 9"
[ "$got" = "$want" ] || fail "roster WL2:
$got"

# ---- the order of the reasons --------------------------------------------

case_ "reason order: the first reason that applies wins"
long=$(awk 'BEGIN { while (n++ < 257) printf "z" }')
{
	echo "student_id,first_name,last_name,email,course"
	# malformed_row beats invalid characters, a missing email, a missing course
	printf 'O1,Bad\001,x,,,extra\n'
	# invalid_characters beats a missing email
	printf 'O2,Bad\033[2J,x,,OPEN\n'
	# field_too_long beats a missing email
	printf 'O3,%s,x,,OPEN\n' "$long"
	# field_too_long beats a missing student id
	printf ',x,%s,o4@uni.example,OPEN\n' "$long"
	# missing_student_id beats an invalid email and a missing course
	printf ',x,x,not-an-email,\n'
	# invalid_student_id beats a missing email
	printf '#O\0336,x,x,,OPEN\n'
	# an unknown course beats a missing email (which only the database
	# can tell: the email may be left out for a known student)
	printf 'O7,x,x,,NOPE\n'
	# invalid_email beats a missing course
	printf 'O8,x,x,o8@nodot,\n'
	# missing_course
	printf 'O9,x,x,o9@uni.example,\n'
	# unknown_course (the pair cannot be a duplicate: no such course)
	printf 'O10,x,x,o10@uni.example,NOPE\n'
	printf 'O10,x,x,o10@uni.example,NOPE\n'
	# course_full; a student already in a full course is already there;
	# duplicate_in_roster beats course_full (DUO is full after line 15)
	printf 'O12,x,x,o12@uni.example,ZERO\n'
	printf 'N8,x,x,n8@uni.example,ONE\n'
	printf 'D1,x,x,d1@uni.example,DUO\n'
	printf 'D1,x,x,d1@uni.example,DUO\n'
} >order.csv
run -d $db course add DUO --capacity 1 --waitlist 0
expect_rc 0
run -d $db register order.csv --format csv
expect_rc 1
expect_table out <<'EOF'
2 O1 - rejected - malformed_row
3 O2 OPEN rejected - invalid_characters
4 O3 OPEN rejected - field_too_long
5 - OPEN rejected - field_too_long
6 - - rejected - missing_student_id
7 #O6 OPEN rejected - invalid_student_id
8 O7 NOPE rejected - unknown_course
9 O8 - rejected - invalid_email
10 O9 - rejected - missing_course
11 O10 NOPE rejected - unknown_course
12 O10 NOPE rejected - unknown_course
13 O12 ZERO rejected - course_full
14 N8 ONE already_registered - -
15 D1 DUO registered - -
16 D1 DUO rejected - duplicate_in_roster
EOF

case_ "reason order: a duplicate of a row rejected for course_full is course_full again"
printf 'student_id,email,course\nF1,f1@uni.example,ZERO\nF1,f1@uni.example,ZERO\n' >full.csv
run -d $db register full.csv --format csv
expect_rc 1
expect_table out <<'EOF'
2 F1 ZERO rejected - course_full
3 F1 ZERO rejected - course_full
EOF

# ---- the boundaries of each reason ----------------------------------------

case_ "boundaries: 256-byte values pass, 257 is field_too_long, in every field"
# (a 256-byte email is not too long a field, but too long an email)
b256=$(awk 'BEGIN { while (n++ < 256) printf "b" }')
b257="${b256}b"
e256=$(awk 'BEGIN { while (n++ < 246) printf "e"; printf "@x.example" }')
{
	echo "student_id,first_name,last_name,email,course"
	printf 'B1,%s,%s,b1@uni.example,OPEN\n' "$b256" "$b256"
	printf 'B2,%s,x,b2@uni.example,OPEN\n' "$b257"
	printf 'B3,x,%s,b3@uni.example,OPEN\n' "$b257"
	printf 'B4,x,x,%s,OPEN\n' "$e256"
	printf 'B5,x,x,b5@uni.example,%s\n' "$b257"
	printf '%s,x,x,b6@uni.example,OPEN\n' "$b257"
	printf 'B7,x,x,%sx,OPEN\n' "$e256"
} >long.csv
run -d $db register long.csv --format csv
expect_rc 1
table out | cut -d' ' -f1,4,6 >table.got
cat >table.want <<'EOF'
2 registered -
3 rejected field_too_long
4 rejected field_too_long
5 rejected invalid_email
6 rejected field_too_long
7 rejected field_too_long
8 rejected field_too_long
EOF
expect_same table.want table.got
got=$(sql $db "SELECT length(first_name) || ' ' || length(last_name) FROM students WHERE student_id = 'B1'")
[ "$got" = "256 256" ] || fail "B1 stored as $got"

case_ "boundaries: a byte that is not UTF-8 anywhere refuses the whole file, nothing written"
printf 'student_id,first_name,email,course\nU0,ok,u0@uni.example,OPEN\nU1,%s\377,u1@uni.example,OPEN\n' "$b256" >utf8.csv
dump $db before.dump
run -d $db register utf8.csv --format csv
expect_rc 2
expect_err "utf8.csv: line 3, column 260: not valid UTF-8 (bytes FF 2C 75 31)"
expect_empty out
dump $db after.dump
expect_same before.dump after.dump
for bad in 'caf\303,' '\355\240\200' '\300\200' 'ok\0nul' 'U\3776'; do
	printf "student_id,first_name,email,course\nU2,$bad,u2@uni.example,OPEN\n" >utf8.csv
	run -d $db register utf8.csv --format csv
	expect_rc 2
	expect_err "utf8.csv: line 2, column "
done
printf 'student_id,first_name,email,course\nU9,\360\237\216\223 \344\275\240,u9@uni.example,OPEN\n' >utf8.csv
run -d $db register utf8.csv --format csv
expect_rc 0

case_ "boundaries: student ids of 1 and 255 bytes pass, 256 is invalid; real ids pass"
i255=$(awk 'BEGIN { while (n++ < 255) printf "i" }')
{
	echo "student_id,email,course"
	echo "a,s1@uni.example,OPEN"
	echo "$i255,s2@uni.example,OPEN"
	echo "${i255}i,s3@uni.example,OPEN"
	echo "9.a_b-c,s4@uni.example,OPEN"
	echo ".lead,s5@uni.example,OPEN"
	echo "-lead,s6@uni.example,OPEN"
	echo "8f14e45f-ceea-467f-a8f2-7b1d0c3e9a12,s7@uni.example,OPEN"
	echo "jane.doe@school.edu,s8@uni.example,OPEN"
	echo "a/b:c,s9@uni.example,OPEN"
	echo "\"a,b\",s10@uni.example,OPEN"
	printf 'a\342\200\213b,s11@uni.example,OPEN\n'
	printf 'a\tb,s12@uni.example,OPEN\n'
	printf 'a\302\205,s13@uni.example,OPEN\n'
} >ids.csv
run -d $db register ids.csv --format csv
expect_rc 1
table out | cut -d' ' -f1,4,6 >table.got
cat >table.want <<'EOF'
2 registered -
3 registered -
4 rejected invalid_student_id
5 registered -
6 registered -
7 registered -
8 registered -
9 registered -
10 registered -
11 registered -
12 rejected invalid_student_id
13 rejected invalid_student_id
14 rejected invalid_student_id
EOF
expect_same table.want table.got

case_ "boundaries: student ids match exactly (case-sensitive)"
printf 'student_id,email,course\nCase1,c1@uni.example,OPEN\ncase1,c2@uni.example,OPEN\nCASE1,c3@uni.example,OPEN\n' >case.csv
run -d $db register case.csv --format csv
expect_rc 0
table out | cut -d' ' -f1,4 >table.got
printf '2 registered\n3 registered\n4 registered\n' >table.want
expect_same table.want table.got

case_ "boundaries: emails -- 254 bytes pass, 255 fail, and each malformed shape"
e254=$(awk 'BEGIN { while (n++ < 244) printf "e"; printf "@x.example" }')
{
	echo "student_id,email,course"
	echo "E1,$e254,OPEN"
	echo "E2,${e254}e,OPEN"
	echo "E3,a@b.c,OPEN"
	echo "E4,no-at-sign.example,OPEN"
	echo "E5,two@@uni.example,OPEN"
	echo "E6,a@b@uni.example,OPEN"
	echo "E7,@uni.example,OPEN"
	echo "E8,nodomain@,OPEN"
	echo "E9,a@nodot,OPEN"
	echo "E10,a b@uni.example,OPEN"
	echo "E11,a@.uni.example,OPEN"
	echo "E12,a@uni.example.,OPEN"
	echo "E13,a@uni..example,OPEN"
	printf 'E14,"a\tb@uni.example",OPEN\n'
	echo "E15,o'brien+tag@uni.example,OPEN"
} >emails.csv
run -d $db register emails.csv --format csv
expect_rc 1
table out | cut -d' ' -f1,4,6 >table.got
cat >table.want <<'EOF'
2 registered -
3 rejected invalid_email
4 registered -
5 rejected invalid_email
6 rejected invalid_email
7 rejected invalid_email
8 rejected invalid_email
9 rejected invalid_email
10 rejected invalid_email
11 rejected invalid_email
12 rejected invalid_email
13 rejected invalid_email
14 rejected invalid_email
15 rejected invalid_characters
16 registered -
EOF
expect_same table.want table.got

case_ "boundaries: values of only spaces are missing, not invalid"
printf 'student_id,email,course\n   ,a@uni.example,OPEN\nW2,  ,OPEN\nW3,w3@uni.example,"   "\n' >spaces.csv
run -d $db register spaces.csv --format csv
expect_rc 1
table out | cut -d' ' -f1,6 >table.got
printf '2 missing_student_id\n3 missing_email\n4 missing_course\n' >table.want
expect_same table.want table.got

case_ "the exit status is 1 as soon as one row is rejected, 0 when none is"
printf 'student_id,email,course\nZ1,z1@uni.example,OPEN\nZ2,z2@uni.example,OPEN\n' >good.csv
run -d $db register good.csv --format csv
expect_rc 0
printf 'student_id,email,course\nZ3,z3@uni.example,OPEN\nZ4,z4@uni.example,ZERO\n' >onebad.csv
run -d $db register onebad.csv --format csv
expect_rc 1
