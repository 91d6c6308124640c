# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_csv_input: what a roster may look like -- RFC 4180 quoting (delimiters,
# doubled quotes, line breaks: and the line numbers after them), a BOM, CRLF
# and CR-only line ends, the ';' tab '|' delimiters, blank lines, header
# aliases and spellings, unknown columns, --course, standard input.

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
R=$DATA/rosters/csv

# rows: "line student status" for every row of the csv report in ./out.
rows() {
	sqlite3 -separator ' ' :memory: ".import --csv out r" \
		"SELECT line, student_id, status || CASE WHEN reason <> '' THEN ':' || reason ELSE '' END
		 FROM r ORDER BY rowid"
}

# expect_rows: rows is exactly standard input.
expect_rows() {
	rows >rows.got || fail "cannot read the report"
	cat >rows.want
	expect_same rows.want rows.got
}

# stored ID COLUMN: the column of student ID, as hex bytes.
stored() {
	sql $db "SELECT hex($2) FROM students WHERE student_id = '$1'"
}

# expect_stored ID COLUMN VALUE: the student's COLUMN holds exactly VALUE
# (backslash escapes allowed: \n, \r, \t, \\).
expect_stored() {
	_want=$(printf '%b' "$3" | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F')
	_got=$(stored "$1" "$2")
	[ "$_got" = "$_want" ] || fail "$1.$2 is $_got, expected $_want ($3)"
}

case_ "setup"
run -d $db course add OPEN --capacity 1000
expect_rc 0
run -d $db course add OTHER --capacity 1000
expect_rc 0

# ---- quoting ---------------------------------------------------------------

case_ "quoted fields: commas, doubled quotes and line breaks; line numbers after them"
# (a line break inside a name is a control character: invalid_characters)
run -d $db register "$R/quoted.csv" --format csv
expect_rc 1
expect_rows <<'EOF'
2 Q1 registered
3 Q2 registered
4 Q3 rejected:invalid_characters
6 Q4 rejected:invalid_characters
9 Q5 registered
10 Q6 registered
11 Q7 registered
13 Q8 rejected:invalid_characters
15 Q9 registered
EOF

case_ "quoted values are stored without their quotes, byte for byte"
expect_stored Q1 first_name 'Smith, Jr.'
expect_stored Q2 first_name 'She said "hi"'
expect_stored Q5 last_name 'Everything'
expect_stored Q5 email 'q5@uni.example'
expect_stored Q6 first_name '"'
expect_stored Q6 last_name '","'
expect_stored Q7 first_name ''

case_ "a quoted course and student id match like unquoted ones"
[ "$(status_in OPEN Q5)" = registered ] || fail "Q5 is not registered"

# ---- BOM and line ends ----------------------------------------------------------

case_ "a UTF-8 BOM is skipped: the first column is student_id"
run -d $db register "$R/bom.csv" --format csv
expect_rc 0
expect_rows <<'EOF'
2 B1 registered
3 B2 registered
EOF
[ ! -s err ] || fail "warnings for a BOM: $(cat err)"

case_ "CRLF line ends, a blank CRLF line, a quoted CRLF"
run -d $db register "$R/crlf.csv" --format csv
expect_rc 1
expect_rows <<'EOF'
2 C1 registered
4 C2 rejected:invalid_characters
6 C3 registered
EOF
expect_stored C1 email 'c1@uni.example'
[ "$(status_in OPEN C3)" = registered ] || fail "C3's course kept a CR"

case_ "BOM and CRLF together, no line end after the last row"
run -d $db register "$R/bom_crlf.csv" --format csv
expect_rc 0
expect_rows <<'EOF'
2 C4 registered
3 C5 registered
EOF
expect_stored C5 email 'c5@uni.example'

case_ "CR-only line ends (old Mac), a blank line, a quoted CR"
run -d $db register "$R/cr.csv" --format csv
expect_rc 1
expect_rows <<'EOF'
2 R1 registered
4 R2 rejected:invalid_characters
6 R3 registered
EOF
expect_out "first_name: character 4 (0x0D) is a control character"
expect_stored R3 email 'r3@uni.example'

case_ "blank and all-space lines are skipped, but counted for line numbers"
run -d $db register "$R/blank_lines.csv" --format csv
expect_rc 0
expect_rows <<'EOF'
6 K1 registered
9 K2 registered
EOF

# ---- delimiters ----------------------------------------------------------------

case_ "--delimiter ';' with a quoted ';' and an unquoted ','"
run -d $db register "$R/semicolon.csv" --delimiter ';' --format csv
expect_rc 0
expect_rows <<'EOF'
2 S1 registered
3 S2 registered
EOF
expect_stored S1 first_name 'Semi;colon'
expect_stored S2 first_name 'a,b'

case_ "--delimiter tab with a quoted tab (kept: a control character in a name)"
run -d $db register "$R/tab.tsv" --delimiter tab --format csv
expect_rc 1
expect_rows <<'EOF'
2 T1 rejected:invalid_characters
3 T2 registered
EOF
expect_out "first_name: character 4 (0x09) is a control character"
expect_stored T2 first_name 'x,y'

case_ "--delimiter given as a real tab character works too"
tab=$(printf '\t')
run -d $db register "$R/tab.tsv" --delimiter "$tab" --format csv --dry-run
expect_rc 1
expect_out "3,T2,OPEN,already_registered"

case_ "--delimiter '|' with a quoted '|'"
run -d $db register "$R/pipe.csv" --delimiter '|' --format csv
expect_rc 0
expect_rows <<'EOF'
2 P1 registered
3 P2 registered
EOF
expect_stored P1 first_name 'Pipe|here'
expect_stored P2 first_name 'a,b;c'

case_ "the wrong delimiter: one column found, named in the refusal"
run -d $db register "$R/semicolon.csv" --format csv
expect_rc 2
expect_err "student_id;first_name;email;course"
expect_empty out

# ---- the header --------------------------------------------------------------------

case_ "header aliases: id, givenName, familyName, e-mail, class"
printf 'id,givenName,familyName,e-mail,class\nH1,Gi,Fa,h1@uni.example,OPEN\n' >h.csv
run -d $db register h.csv --format csv
expect_rc 0
expect_rows <<'EOF'
2 H1 registered
EOF
expect_stored H1 first_name Gi
expect_stored H1 last_name Fa
expect_stored H1 email h1@uni.example
[ ! -s err ] || fail "warnings: $(cat err)"

case_ "header aliases: student, first, last, mail, course_code"
printf 'student,first,last,mail,course_code\nH2,Fi,La,h2@uni.example,OPEN\n' >h.csv
run -d $db register h.csv --format csv
expect_rc 0
expect_rows <<'EOF'
2 H2 registered
EOF
expect_stored H2 first_name Fi
expect_stored H2 last_name La

case_ "header aliases: sourcedId, surname, classSourcedId"
printf 'sourcedId,first_name,surname,email,classSourcedId\nH3,F,Su,h3@uni.example,OPEN\n' >h.csv
run -d $db register h.csv --format csv
expect_rc 0
expect_rows <<'EOF'
2 H3 registered
EOF
expect_stored H3 last_name Su

case_ "header aliases: userSourcedId"
printf 'userSourcedId,email,course\nH4,h4@uni.example,OPEN\n' >h.csv
run -d $db register h.csv --format csv
expect_rc 0
expect_rows <<'EOF'
2 H4 registered
EOF

case_ "header names: case, surrounding spaces, and space - _ alike"
printf '  Student ID ,FIRST-NAME,Last Name,E_Mail,  COURSE CODE  \nH5,Fn,Ln,h5@uni.example,OPEN\n' >h.csv
run -d $db register h.csv --format csv
expect_rc 0
expect_rows <<'EOF'
2 H5 registered
EOF
expect_stored H5 first_name Fn
expect_stored H5 last_name Ln
printf '"Given Name","FAMILY_NAME","SOURCED-ID","MAIL","Class Sourced Id"\nFn,Ln,H6,h6@uni.example,OPEN\n' >h.csv
run -d $db register h.csv --format csv
expect_rc 0
expect_rows <<'EOF'
2 H6 registered
EOF
expect_stored H6 first_name Fn

case_ "columns in any order"
printf 'course,email,last_name,student_id,first_name\nOPEN,h7@uni.example,Ln,H7,Fn\n' >h.csv
run -d $db register h.csv --format csv
expect_rc 0
expect_rows <<'EOF'
2 H7 registered
EOF
expect_stored H7 first_name Fn
expect_stored H7 email h7@uni.example

case_ "first_name and last_name are optional"
printf 'student_id,email,course\nH8,h8@uni.example,OPEN\n' >h.csv
run -d $db register h.csv --format csv
expect_rc 0
expect_stored H8 first_name ''

case_ "unknown columns are ignored, with one warning naming them all"
printf 'student_id,notes,email,Phone Number,course\nU1,hello,u1@uni.example,555,OPEN\nU2,,u2@uni.example,,OPEN\n' >h.csv
run -d $db register h.csv --format csv
expect_rc 0
expect_rows <<'EOF'
2 U1 registered
3 U2 registered
EOF
[ "$(grep -c . err)" = 1 ] || fail "not exactly one warning line:
$(cat err)"
expect_err "warning"
expect_err "'notes'"
expect_err "'Phone Number'"

case_ "unknown columns: -q silences the warning"
run -q -d $db register h.csv --format csv
expect_rc 0
expect_empty err

# ---- --course --------------------------------------------------------------------

case_ "--course CODE without a course column: every row goes to CODE"
printf 'student_id,email\nV1,v1@uni.example\nV2,v2@uni.example\n' >v.csv
run -d $db register v.csv --course OTHER --format csv
expect_rc 0
expect_out "2,V1,OTHER,registered"
expect_out "3,V2,OTHER,registered"
expect_empty err

case_ "--course CODE with a course column: the column is ignored, with a warning"
printf 'student_id,email,course\nV3,v3@uni.example,OPEN\nV4,v4@uni.example,NOPE\nV5,v5@uni.example,\n' >v.csv
run -d $db register v.csv --course OTHER --format csv
expect_rc 0
expect_rows <<'EOF'
2 V3 registered
3 V4 registered
4 V5 registered
EOF
expect_out "2,V3,OTHER,registered"
expect_err "warning"
expect_err "course"
expect_err "OTHER"
for v in V3 V4 V5; do
	[ -z "$(status_in OPEN $v)" ] || fail "$v went to the course column's course"
	[ "$(status_in OTHER $v)" = registered ] || fail "$v is not in OTHER"
done

# ---- standard input ----------------------------------------------------------------

case_ "standard input '-' reads the roster, quoting and line numbers included"
run_in "$R/quoted.csv" -d $db register - --format csv --dry-run
expect_rc 1
rows | cut -d' ' -f1,2 >rows.got
printf '2 Q1\n3 Q2\n4 Q3\n6 Q4\n9 Q5\n10 Q6\n11 Q7\n13 Q8\n15 Q9\n' >rows.want
expect_same rows.want rows.got

case_ "standard input with a BOM, CRLF and --delimiter"
printf '\357\273\277student_id;email;course\r\nI1;i1@uni.example;OPEN\r\n' >in.csv
run_in in.csv -d $db register - --delimiter ';' --format csv
expect_rc 0
expect_rows <<'EOF'
2 I1 registered
EOF

case_ "standard input is named 'stdin' in the batch history, with its SHA-256"
run -d $db batches --format csv
expect_rc 0
want=$(sha256sum <in.csv | cut -d' ' -f1)
got=$(sqlite3 -separator ' ' :memory: ".import --csv out b" "SELECT source, sha256 FROM b ORDER BY id + 0 DESC LIMIT 1")
[ "$got" = "stdin $want" ] || fail "last batch: $got, want stdin $want"

case_ "a header without a final line end is a valid, empty roster"
printf 'student_id,email,course' >h.csv
run -d $db register h.csv --format csv
expect_rc 0
[ "$(wc -l <out)" = 1 ] || fail "rows in an empty roster: $(cat out)"
expect_err "no data rows"

case_ "a header read as one column that holds another delimiter suggests --delimiter"
printf "id;mail;class\nDLM1;a@b.co;OPEN\n" >semi.csv
run -d $db register semi.csv
expect_rc 2
expect_err "semi.csv: line 1"
expect_err "try --delimiter ';'"
printf 'id\tmail\tclass\n' >tabbed.csv
run -d $db register tabbed.csv
expect_rc 2
expect_err "try --delimiter tab"
# The course is not what is missing: no --course advice beside it (review 17, C8 (2)).
grep -q -- "--course CODE puts every row" err && fail "--course advised for a tab header: $(cat err)"
printf 'id,mail,class\n' >commas.csv
run -d $db register commas.csv --delimiter '|'
expect_rc 2
expect_err "try --delimiter ','"
printf 'name\n' >lone.csv
run -d $db register lone.csv
expect_rc 2
expect_err "columns found: 'name')"
run -d $db register semi.csv --delimiter ';' --format csv
expect_rc 0
expect_out "DLM1,OPEN,registered"
