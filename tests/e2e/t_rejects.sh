# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, ROOT, RC come from lib.sh and run
# t_rejects: --rejects FILE -- the rejected rows in the roster's own format
# (header, delimiter, encoding, BOM, sep= line, line breaks, values byte for
# byte) plus reason and detail; fixed, the file runs as it is; written with
# the batch, never after exit 2 or 3.

db=t.db
"$BULKREG" -q -d $db course add MATH101 --capacity 10 2>/dev/null
"$BULKREG" -q -d $db course add CS101 --capacity 10 2>/dev/null

# no_leftover: no temporary file of --rejects is left in the directory.
no_leftover() {
	! ls -A | grep -q '^\.' || fail "a temporary file was left: $(ls -A)"
}

case_ "the rejected rows, as read, with reason and detail; the file runs again once fixed"
cat >roster.csv <<'EOF'
student_id,first_name,last_name,email,course,notes
S1,Ann,Lee,ann@example.edu,MATH101,fine
S2,Bob,"Ray, Jr.",bob.example.edu,MATH101,"a ""quoted"" note"
S3,Cy,Oh,cy@example.edu,NOPE101,unknown course
S4,Di,Wu,di@example.edu,CS101,fine
S5,Ed,Ng,,CS101,no email
EOF
run -d $db register roster.csv --rejects rj.csv
expect_rc 1
expect_err "3 rejected rows written to rj.csv"
[ -f rj.csv ] || fail "no rejects file"
cat >want.csv <<'EOF'
student_id,first_name,last_name,email,course,notes,reason,detail
S2,Bob,"Ray, Jr.",bob.example.edu,MATH101,"a ""quoted"" note",invalid_email,email: no '@'
S3,Cy,Oh,cy@example.edu,NOPE101,unknown course,unknown_course,no course 'NOPE101'
S5,Ed,Ng,,CS101,no email,missing_email,email is empty and the student is new (see --allow-missing-email)
EOF
expect_same want.csv rj.csv
no_leftover
# Fix the three rows, and run the rejects file as it is.
sed -e 's/bob.example.edu/bob@example.edu/' -e 's/NOPE101/CS101/' \
	-e 's/^S5,Ed,Ng,,/S5,Ed,Ng,ed@example.edu,/' rj.csv >fixed.csv
run -d $db register fixed.csv --rejects rj2.csv
expect_rc 0
# The file's own 'notes' is warned about; the reason and detail columns
# --rejects added are not (a rejects file run from cron mails no noise).
expect_err "ignoring unknown column: 'notes'"
! grep -q "'reason'\|'detail'" err || fail "warned about the rejects file's own columns: $(cat err)"
[ "$(sql $db "SELECT count(*) FROM registrations")" -eq 5 ] ||
	fail "the fixed rows did not register"
printf 'student_id,first_name,last_name,email,course,notes,reason,detail\n' >want2.csv
expect_same want2.csv rj2.csv

case_ "a rejects file run again keeps one reason and detail column"
run -d $db register rj.csv --dry-run --rejects rj3.csv
expect_rc 1
head -1 rj3.csv >h3
printf 'student_id,first_name,last_name,email,course,notes,reason,detail\n' >hw
expect_same hw h3
# (S5 is known now: a row without an email is fine for it.)
[ "$(wc -l <rj3.csv)" -eq 3 ] || fail "expected the header and 2 rows: $(cat rj3.csv)"
grep -q '^S2,Bob,"Ray, Jr.",bob.example.edu,MATH101,"a ""quoted"" note",invalid_email,' rj3.csv ||
	fail "the second generation lost a value: $(cat rj3.csv)"

case_ "run again, a record longer than the header keeps its extra field"
printf 'student_id,first_name,last_name,email,course\nX1,A,B,x1@example.edu,MATH101,extra\n' >long.csv
run -d $db register long.csv --dry-run --rejects long1.csv
expect_rc 1
run -d $db register long1.csv --dry-run --rejects long2.csv
expect_rc 1
printf 'student_id,first_name,last_name,email,course,reason,detail\nX1,A,B,x1@example.edu,MATH101,extra,malformed_row,' >want.csv
head -c "$(wc -c <want.csv)" long2.csv >got
expect_same want.csv got

case_ "many rows, many workers: every rejected record, in roster order"
python3 - <<'PY'
with open("many.csv", "w", newline="") as f, open("many-want.csv", "w", newline="") as w:
    f.write("student_id,first_name,last_name,email,course\r\n")
    w.write("student_id,first_name,last_name,email,course,reason,detail\r\n")
    for i in range(20000):
        bad = i % 7 == 3
        name = '"N, %d"' % i if i % 5 == 0 else "N%d" % i
        line = "M%05d,%s,L,m%05d@example.edu,%s" % (i, name, i, "NOPE" if bad else "MATH101")
        f.write(line + "\r\n")
        if bad:
            w.write(line + ",unknown_course,no course 'NOPE'\r\n")
PY
"$BULKREG" -q -d $db course add MATH101 --capacity 100000 2>/dev/null
run -d $db register many.csv --workers 8 --dry-run --format csv -o many-report.csv --rejects many-rj.csv
expect_rc 1
expect_same many-want.csv many-rj.csv

case_ "values byte for byte: spaces kept, quotes only where needed"
printf 'student_id,first_name,last_name,email,course\n  V1 , Ann  ,Lee,v1@example.edu,NOPE\nV2,"Bo","  Lee  ",v2@example.edu,NOPE\nV3,Al,O"Neil,v3@example.edu,NOPE\n' >v.csv
run -d $db register v.csv --rejects vr.csv
expect_rc 1
n="no course 'NOPE'"
printf 'student_id,first_name,last_name,email,course,reason,detail\n  V1 , Ann  ,Lee,v1@example.edu,NOPE,unknown_course,%s\nV2,Bo,  Lee  ,v2@example.edu,NOPE,unknown_course,%s\nV3,Al,"O""Neil",v3@example.edu,NOPE,unknown_course,%s\n' "$n" "$n" "$n">want.csv
expect_same want.csv vr.csv

case_ "nothing rejected: the header only"
printf 'student_id,first_name,last_name,email,course\nS9,A,B,s9@example.edu,MATH101\n' >ok.csv
run -d $db register ok.csv --rejects none.csv
expect_rc 0
printf 'student_id,first_name,last_name,email,course,reason,detail\n' >want.csv
expect_same want.csv none.csv

case_ "Windows-1252 in, Windows-1252 out, byte for byte"
printf 'student_id,first_name,last_name,email,course\r\nW1,Ren\351e,Caf\351,w1@example.edu,NOPE\r\nW2,Jos\351,Mu\361oz,w2@example.edu,MATH101\r\n' >w.csv
run -d $db register w.csv --encoding WINDOWS-1252 --rejects wr.csv
expect_rc 1
printf 'student_id,first_name,last_name,email,course,reason,detail\r\nW1,Ren\351e,Caf\351,w1@example.edu,NOPE,unknown_course,no course '"'"'NOPE'"'"'\r\n' >want.csv
expect_same want.csv wr.csv
sed 's/NOPE/CS101/' wr.csv >wf.csv
run -d $db register wf.csv --encoding WINDOWS-1252
expect_rc 0
[ "$(sql $db "SELECT first_name FROM students WHERE student_id = 'W1'")" = "Renée" ] ||
	fail "the fixed Windows-1252 row did not register as Renée"

case_ "a UTF-8 BOM, CRLF line ends and ';' kept"
printf '\357\273\277student_id;first_name;last_name;email;course\r\nB1;Zo\303\253;X;b1@example.edu;NOPE\r\nB2;A;B;b2@example.edu;MATH101\r\n' >b.csv
run -d $db register b.csv --delimiter ';' --rejects br.csv
expect_rc 1
printf '\357\273\277student_id;first_name;last_name;email;course;reason;detail\r\nB1;Zo\303\253;X;b1@example.edu;NOPE;unknown_course;no course '"'"'NOPE'"'"'\r\n' >want.csv
expect_same want.csv br.csv

case_ "Excel's sep=; line kept"
printf 'sep=;\nstudent_id;first_name;last_name;email;course\nE1;A;B;e1@example.edu;NOPE\n' >e.csv
run -d $db register e.csv --rejects er.csv
expect_rc 1
printf 'sep=;\nstudent_id;first_name;last_name;email;course;reason;detail\nE1;A;B;e1@example.edu;NOPE;unknown_course;no course '"'"'NOPE'"'"'\n' >want.csv
expect_same want.csv er.csv

case_ "UTF-16LE with its byte order mark in, the same out"
printf 'student_id,first_name,last_name,email,course\nU1,\303\211va,X,u1@example.edu,NOPE\n' |
	iconv -f UTF-8 -t UTF-16LE >u.body
{ printf '\377\376'; cat u.body; } >u.csv
run -d $db register u.csv --rejects ur.csv
expect_rc 1
{ printf '\377\376'; printf 'student_id,first_name,last_name,email,course,reason,detail\nU1,\303\211va,X,u1@example.edu,NOPE,unknown_course,no course '"'"'NOPE'"'"'\n' |
	iconv -f UTF-8 -t UTF-16LE; } >want.csv
expect_same want.csv ur.csv

case_ "a dry run writes it too; --strict's rolled-back batch too"
run -d $db register roster.csv --dry-run --rejects dry.csv
expect_rc 1
[ "$(wc -l <dry.csv)" -eq 3 ] || fail "dry run: expected the header and 2 rows: $(cat dry.csv)"
printf 'student_id,first_name,last_name,email,course\nT1,A,B,t1@example.edu,NOPE\nT2,A,B,t2@example.edu,MATH101\n' >t.csv
run -d $db register t.csv --strict --rejects strict.csv
expect_rc 1
grep -q '^T1,' strict.csv || fail "--strict: no rejects file with the row"

case_ "drop --rejects: the pairs that were not there"
printf 'student_id,course\nS1,MATH101\nS1,CS101\n' >d.csv
run -d $db drop d.csv --rejects dr.csv
expect_rc 1
printf 'student_id,course,reason,detail\nS1,CS101,not_registered,' >want.csv
head -c "$(wc -c <want.csv)" dr.csv >got
expect_same want.csv got

case_ "exit 2 (unusable roster): no file, no temporary file"
printf 'name,course\nX,MATH101\n' >bad.csv
rm -f gone.csv
run -d $db register bad.csv --rejects gone.csv
expect_rc 2
[ ! -e gone.csv ] || fail "exit 2 left a rejects file"
no_leftover
run -d $db register roster.csv --course NOSUCH --rejects gone.csv
expect_rc 2
[ ! -e gone.csv ] || fail "exit 2 (--course) left a rejects file"
no_leftover

case_ "exit 3 (not a database): no file"
printf 'not a database, just text\n' >notadb.db
run -d notadb.db register roster.csv --rejects gone.csv
expect_rc 3
[ ! -e gone.csv ] || fail "exit 3 left a rejects file"
no_leftover

case_ "an earlier rejects file is replaced whole, never left half-written"
printf 'old content\n' >keep.csv
run -d notadb.db register roster.csv --rejects keep.csv
expect_rc 3
[ "$(cat keep.csv)" = "old content" ] || fail "a failed run changed the old rejects file"

case_ "--rejects with --student is refused"
run -d $db drop --student S1 --course MATH101 --rejects x.csv
expect_rc 2
expect_err "--rejects"

case_ "a Moodle flat file (no header) is refused, before anything is written"
run -d $db register "$DATA/exports/moodle/flatfile.txt" --rejects mf.csv
expect_rc 2
expect_err "no header"
[ ! -e mf.csv ] || fail "a rejects file was written"
no_leftover

case_ "--rejects - or the -o file is refused"
run -d $db register roster.csv --rejects -
expect_rc 2
expect_err "--rejects: '-' is not a file name"
run -d $db register roster.csv -o same.csv --rejects same.csv
expect_rc 2
expect_err "the report's file too"
[ ! -e same.csv ] || fail "a refused run wrote same.csv"

case_ "--rejects naming the database, its journal or the --users file is refused, nothing written"
cp $db keep.db
for target in $db $db-wal; do
	[ "$target" = $db-wal ] && : >$db-wal
	cp $target before.bin
	run -d $db register roster.csv --rejects $target
	expect_rc 2
	if [ "$target" = $db ]; then
		expect_err "--rejects $target: that is the database; the rejected rows would replace it"
	else
		expect_err "--rejects $target: that is the database's -wal file, which SQLite writes; the rejected rows cannot go there"
	fi
	cmp -s before.bin $target || fail "--rejects $target changed it"
	run -d $db register roster.csv --dry-run --rejects $target
	expect_rc 2
	cmp -s before.bin $target || fail "a dry run with --rejects $target changed it"
done
rm -f $db-wal
ln -s $db link.db
run -d $db register roster.csv --rejects link.db
expect_rc 2
expect_err "that is the database"
cmp -s keep.db $db || fail "--rejects through a link changed the database"
printf 'id,email\n' >users.csv
run -d $db register roster.csv --users users.csv --rejects users.csv
expect_rc 2
expect_err "that is the --users file"
run -d $db verify
expect_rc 0

case_ "the roster itself as --rejects: what is still rejected stays in it"
printf 'student_id,first_name,last_name,email,course\nR1,A,B,r1@example.edu,NOPE\nR2,A,B,r2@example.edu,MATH101\n' >self.csv
run -d $db register self.csv --rejects self.csv
expect_rc 1
printf 'student_id,first_name,last_name,email,course,reason,detail\nR1,A,B,r1@example.edu,NOPE,unknown_course,no course '"'"'NOPE'"'"'\n' >want.csv
expect_same want.csv self.csv
sed -i 's/NOPE,/CS101,/' self.csv
run -d $db register self.csv --rejects self.csv
expect_rc 0
printf 'student_id,first_name,last_name,email,course,reason,detail\n' >want.csv
expect_same want.csv self.csv

case_ "the detail column is guarded against formulas; the roster's own values are kept as they are"
# A check's output is quoted in the detail (review 14, C3).
printf 'student_id,first_name,last_name,email,course\nF1,=cmd,B,f1@example.edu,MATH101\n' >f.csv
run -d $db register f.csv --dry-run --rejects frej.csv \
	--check 'echo "=HYPERLINK(\"http://evil/?x\",\"click\")"; exit 1'
expect_rc 1
grep -q '^F1,=cmd,B,f1@example.edu,MATH101,check_failed,"'"'"'=HYPERLINK' frej.csv ||
	fail "detail not guarded, or the roster's value changed: $(cat frej.csv)"
