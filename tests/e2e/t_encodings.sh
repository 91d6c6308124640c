# t_encodings: rosters that are not UTF-8 -- refused whole, or converted with
# --encoding (issue 12).  The fixtures hold one roster in each encoding:
# E1 Zoë O'Neil, E2 José Müller, E3 Ann Lee, all into TWO (2 seats).
E=$DATA/exports/encodings
db=$(new_db t)

fresh() {
	db=$(new_db t)
	"$BULKREG" -d $db course add TWO --capacity 2 >/dev/null 2>&1 || fail "course add"
}
# names ID: "first|last" as stored, in hex-free text.
names() { sql $db "SELECT first_name || '|' || last_name FROM students WHERE student_id = '$1'"; }

case_ "Windows-1252 without --encoding: exit 2 naming line, column, bytes and the encoding; nothing written"
fresh
dump $db before.dump
run -d $db register "$E/windows1252.csv"
expect_rc 2
expect_err "windows1252.csv: line 2, column 6: not valid UTF-8 (bytes EB 2C 4F 92): the file is most likely WINDOWS-1252; nothing was registered: rerun with --encoding WINDOWS-1252"
expect_empty out
dump $db after.dump
expect_same before.dump after.dump
[ "$(sql $db 'SELECT count(*) FROM batches')" = 0 ] || fail "a batch was recorded"

case_ "the refusal comes before anything is created: no database file for a new path"
run -d new.db register "$E/windows1252.csv"
expect_rc 2
[ ! -e new.db ] || fail "new.db was created"

case_ "re-run with --encoding WINDOWS-1252: seats go by line, as if the first run never happened"
run -d $db register --encoding WINDOWS-1252 "$E/windows1252.csv" --format csv
expect_rc 0
expect_out "2,E1,TWO,registered"
expect_out "3,E2,TWO,registered"
expect_out "4,E3,TWO,waitlisted,1"
[ "$(names E1)" = "Zoë|O’Neil" ] || fail "E1 stored as $(names E1)"
[ "$(names E2)" = "José|Müller" ] || fail "E2 stored as $(names E2)"

case_ "the batch keeps the SHA-256 of the file's own bytes (not of the converted text)"
want=$(sha256sum <"$E/windows1252.csv" | cut -d' ' -f1)
[ "$(sql $db 'SELECT sha256 FROM batches ORDER BY id DESC LIMIT 1')" = "$want" ] || fail "sha256"

case_ "ISO-8859-1 (Latin-1): refused with a guess, read with --encoding ISO-8859-1"
fresh
run -d $db register "$E/latin1.csv"
expect_rc 2
expect_err "latin1.csv: line 2, column 6: not valid UTF-8 (bytes EB 2C 4F 27)"
expect_err "--encoding WINDOWS-1252"
run -d $db register --encoding ISO-8859-1 "$E/latin1.csv" --format csv
expect_rc 0
[ "$(names E2)" = "José|Müller" ] || fail "E2 stored as $(names E2)"

case_ "MacRoman: the guess says MACINTOSH, and --encoding MACINTOSH reads it"
fresh
run -d $db register "$E/macroman.csv"
expect_rc 2
expect_err "macroman.csv: line 2, column 6: not valid UTF-8 (bytes 91 2C 4F 27): the file is most likely MACINTOSH"
run -d $db register --encoding MACINTOSH "$E/macroman.csv" --format csv
expect_rc 0
[ "$(names E1)" = "Zoë|O'Neil" ] || fail "E1 stored as $(names E1)"

case_ "UTF-16LE and UTF-16BE with a byte order mark: converted without any option"
for f in utf16le_bom utf16be_bom; do
	fresh
	run -d $db register "$E/$f.csv" --format csv
	expect_rc 0
	expect_out "2,E1,TWO,registered"
	expect_out "4,E3,TWO,waitlisted,1"
	[ "$(names E2)" = "José|Müller" ] || fail "$f: E2 stored as $(names E2)"
done

case_ "UTF-16 without a byte order mark: refused, the NULs say which; --encoding reads it"
fresh
run -d $db register "$E/utf16le.csv"
expect_rc 2
expect_err "utf16le.csv: line 1, column 2: a NUL byte (bytes 00 74 00 75): the file is most likely UTF-16LE; nothing was registered: rerun with --encoding UTF-16LE"
run -d $db register "$E/utf16be.csv"
expect_rc 2
expect_err "the file is most likely UTF-16BE"
run -d $db register --encoding UTF-16LE "$E/utf16le.csv" --format csv
expect_rc 0
[ "$(names E1)" = "Zoë|O’Neil" ] || fail "E1 stored as $(names E1)"
fresh
run -d $db register --encoding UTF-16BE "$E/utf16be.csv" --format csv
expect_rc 0
[ "$(names E1)" = "Zoë|O’Neil" ] || fail "E1 stored as $(names E1)"

case_ "standard input is converted too"
fresh
run_in "$E/windows1252.csv" -d $db register --encoding WINDOWS-1252 - --format csv
expect_rc 0
[ "$(names E2)" = "José|Müller" ] || fail "E2 stored as $(names E2)"

case_ "a wrong --encoding: C1 control characters are invalid_characters, saying the encoding is probably wrong"
fresh
run -d $db register --encoding ISO-8859-1 "$E/windows1252.csv" --format csv
expect_rc 2
expect_err "line 2, column 9: byte 92 is a control character (U+0092) in ISO-8859-1, which no roster holds; in WINDOWS-1252 it is"
printf 'student_id,first_name,last_name,email,course\nE1,A,O\201B,a@uni.example,TWO\nE2,B,C,b@uni.example,TWO\n' >c1hole.csv
run -d $db register --encoding ISO-8859-1 c1hole.csv --format csv
expect_rc 1
expect_out "2,E1,TWO,rejected,,invalid_characters,last_name: character 2 (U+0081) is a control character; the file's --encoding is probably wrong"
expect_out "3,E2,TWO,registered"

case_ "bytes that are not the encoding named: exit 2, naming the line and the byte"
printf 'student_id,first_name,email,course\nE1,A,a@uni.example,TWO\nE2,B\201,b@uni.example,TWO\n' >hole.csv
fresh
run -d $db register --encoding WINDOWS-1252 hole.csv
expect_rc 2
expect_err "hole.csv: line 3, column 5, field 2 ('first_name'): byte 81"
expect_err "is not WINDOWS-1252"
printf '\377\376s\000t' >cut.csv
run -d $db register cut.csv
expect_rc 2
expect_err "cut.csv: the file ends in the middle of a UTF-16LE character"

case_ "an encoding iconv does not know: exit 2, naming it"
run -d $db register --encoding NO-SUCH-ENCODING "$E/utf8.csv"
expect_rc 2
expect_err "--encoding: 'NO-SUCH-ENCODING' is not an encoding this system knows"

case_ "UTF-8 stays the default, with or without --encoding UTF-8"
fresh
run -d $db register "$E/utf8.csv" --format csv
expect_rc 0
run -d $db register --encoding UTF-8 "$E/utf8.csv" --format csv
expect_rc 0
expect_out "2,E1,TWO,already_registered"

case_ "spreadsheets (.xlsx, .ods, .xls) are refused: save it as CSV UTF-8"
for f in workbook.xlsx workbook.ods workbook.xls; do
	run -d $db register "$E/$f"
	expect_rc 2
	expect_err "$f: this is a spreadsheet"
	expect_err "save it as CSV UTF-8"
done

# ---- review 9, W8: --encoding on a file that is already UTF-8 -------------------

case_ "a UTF-8 file read with --encoding WINDOWS-1252, ISO-8859-1 or MACINTOSH: exit 2 before anything is written"
fresh
dump $db before.dump
for enc in WINDOWS-1252 ISO-8859-1 MACINTOSH CP850; do
	run -d $db register --encoding $enc "$E/utf8.csv"
	expect_rc 2
	expect_err "utf8.csv: line 2, column 6: bytes C3 AB ('ë', U+00EB)"
	expect_err "every non-ASCII byte of the file is UTF-8, not $enc"
	expect_err "the file is already UTF-8: run without --encoding"
	expect_empty out
done
expect_err "would be stored as '"
dump $db after.dump
expect_same before.dump after.dump
[ "$(sql $db 'SELECT count(*) FROM batches')" = 0 ] || fail "a batch was recorded"
run -d new8.db register --encoding WINDOWS-1252 "$E/utf8.csv"
expect_rc 2
[ ! -e new8.db ] || fail "new8.db was created"

case_ "WINDOWS-1252 names what the character would have become"
run -d $db register --encoding WINDOWS-1252 "$E/utf8.csv"
expect_err "would be stored as 'Ã«'"

case_ "the issue's story: registered with --encoding, converted to UTF-8, the same command again: refused, not garbled"
fresh
run -d $db register --encoding WINDOWS-1252 "$E/windows1252.csv" -q
expect_rc 0
iconv -f WINDOWS-1252 -t UTF-8 "$E/windows1252.csv" >converted.csv
run -d $db register --encoding WINDOWS-1252 converted.csv
expect_rc 2
expect_err "converted.csv: line 2, column 6: bytes C3 AB"
expect_err "the file is already UTF-8: run without --encoding"
run -d $db register converted.csv --format csv
expect_rc 0
expect_out "2,E1,TWO,already_registered"
[ "$(names E1)" = "Zoë|O’Neil" ] || fail "E1 stored as $(names E1)"
[ "$(sql $db "SELECT count(*) FROM students WHERE first_name LIKE '%Ã%'")" = 0 ] || fail "garbled names stored"

case_ "a UTF-8 character past the first 64 KiB: exit 2 at the end of the file, the batch rolled back"
db=$(new_db big)
"$BULKREG" -d $db course add OPEN --capacity 100000 >/dev/null 2>&1 || fail "course add"
awk 'BEGIN { print "student_id,first_name,email,course"
	for (i = 1; i <= 3000; i++) printf "L%d,x,l%d@uni.example,OPEN\n", i, i
	print "L9999,Zo\303\253,l9999@uni.example,OPEN" }' >late_utf8.csv
[ "$(wc -c <late_utf8.csv)" -gt 70000 ] || fail "the fixture is too short"
dump $db before.dump
run -d $db register --workers 4 --encoding WINDOWS-1252 late_utf8.csv
expect_rc 2
expect_err "late_utf8.csv: line 3002, column 9: bytes C3 AB ('ë', U+00EB)"
expect_err "the file is already UTF-8: run without --encoding"
dump $db after.dump
expect_same before.dump after.dump
run_in late_utf8.csv -d $db register --encoding ISO-8859-1 -
expect_rc 2
expect_err "standard input: line 3002, column 9: bytes C3 AB"
dump $db after.dump
expect_same before.dump after.dump

case_ "a byte the encoding lacks in a file read as UTF-8 so far: the message says it is probably UTF-8"
awk 'BEGIN { print "student_id,first_name,email,course"
	for (i = 1; i <= 3000; i++) printf "L%d,Zo\303\253,l%d@uni.example,OPEN\n", i, i
	print "L9999,\303\201na,l9999@uni.example,OPEN" }' >late_hole.csv
run -d $db register --encoding WINDOWS-1252 late_hole.csv
expect_rc 2
expect_err "late_hole.csv: line 3002, column 8, field 2 ('first_name'): byte 81"
expect_err "is not WINDOWS-1252: every non-ASCII byte read is UTF-8 (the first: bytes C3 AB ('ë', U+00EB) at line 2, column 6): the file is already UTF-8: run without --encoding"
dump $db after.dump
expect_same before.dump after.dump

case_ "what is not refused: ASCII only, one run that is not UTF-8 anywhere, --encoding UTF-8, UTF-16"
fresh
printf 'student_id,first_name,last_name,email,course\nA1,Ann,Lee,a1@uni.example,TWO\n' >ascii.csv
run -d $db register --encoding WINDOWS-1252 ascii.csv --format csv
expect_rc 0
expect_out "2,A1,TWO,registered"
# JOSÉ’S is C9 92 in Windows-1252: UTF-8 by accident (U+0252); José's E9 73 is not.
printf 'student_id,first_name,last_name,email,course\nA2,JOS\311\222S,Lee,a2@uni.example,TWO\nA3,Jos\351,Lee,a3@uni.example,TWO\n' >mixed1252.csv
run -d $db register --encoding WINDOWS-1252 mixed1252.csv --format csv
expect_rc 0
[ "$(names A2)" = "JOSÉ’S|Lee" ] || fail "A2 stored as $(names A2)"
run -d $db register --encoding UTF-8 "$E/utf8.csv" --format csv
expect_rc 0
expect_out "2,E1,TWO,waitlisted"
fresh
run -d $db register --encoding UTF-16LE "$E/utf16le_bom.csv" --format csv
expect_rc 0
[ "$(names E2)" = "José|Müller" ] || fail "E2 stored as $(names E2)"

case_ "a --users file that is already UTF-8, read with --encoding: refused, the advice names --users-encoding"
fresh
printf 'user_id,course_id\nE1,TWO\n' >enr.csv
printf 'user_id,first_name,last_name,email\nE1,Zo\303\253,Lee,zoe@uni.example\n' >users8.csv
run -d $db register --encoding WINDOWS-1252 enr.csv --users users8.csv
expect_rc 2
expect_err "users8.csv: line 2, column 6: bytes C3 AB"
expect_err "the file is already UTF-8: give --users-encoding UTF-8"

# ---- review 9, M3: a zip archive is not a spreadsheet -------------------------------

case_ "an export's zip bundle: 'a zip archive', its CSV files named, unzip it and pass enrollments.csv with --users"
python3 - <<'PY'
import zipfile
with zipfile.ZipFile("bundle.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("manifest.csv", "propertyName,value\nmanifest.version,1.0\n")
    z.writestr("enrollments.csv", "sourcedId,classSourcedId,userSourcedId,role\ne1,TWO,E1,student\n")
    z.writestr("users.csv", "sourcedId,givenName,familyName,email\nE1,Zoe,Lee,z@uni.example\n")
with zipfile.ZipFile("real.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml", "<Types/>")
    z.writestr("xl/workbook.xml", "<workbook/>")
with zipfile.ZipFile("real.ods", "w") as z:
    z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    z.writestr("content.xml", "<office/>")
PY
fresh
run -d $db register bundle.zip
expect_rc 2
expect_err "bundle.zip: this is a zip archive (holding 'manifest.csv', 'enrollments.csv', 'users.csv'), not CSV text: unzip it and pass the enrollments file, with the users file as --users: bulkreg register enrollments.csv --users users.csv"
! grep -q spreadsheet err || fail "called a spreadsheet: $(cat err)"
run_in bundle.zip -d $db drop -
expect_rc 2
expect_err "standard input: this is a zip archive"
run -d $db course import bundle.zip --capacity 3
expect_rc 2
expect_err "bundle.zip: this is a zip archive (holding 'manifest.csv', 'enrollments.csv', 'users.csv'), not CSV text: unzip it and pass its course file: bulkreg course import courses.csv (or classes.csv, sections.csv)"
run -d $db register $E/utf8.csv --users bundle.zip
expect_rc 2
expect_err "bundle.zip: this is a zip archive"

case_ "an .xlsx ([Content_Types].xml first) and an .ods (mimetype first) are still spreadsheets"
for f in real.xlsx real.ods; do
	run -d $db register $f
	expect_rc 2
	expect_err "$f: this is a spreadsheet (.xlsx or .ods: a zip archive)"
	expect_err "save it as CSV UTF-8"
	run -d $db course import $f --capacity 3
	expect_rc 2
	expect_err "$f: this is a spreadsheet"
done

case_ "markup where CSV was expected: an HTML table saved as .xls, Excel 2003 XML, other XML"
fresh
printf '\357\273\277\r\n  <!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN">\n<html><table><tr><td>student_id</td><td>course</td></tr></table></html>\n' >web.xls
printf '<TABLE border=1><TR><TD>student_id</TD></TR></TABLE>\n' >bare.xls
printf '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">\n' >x2003.xml
printf '<?xml version="1.0" encoding="UTF-8"?>\n<enterprise><person/></enterprise>\n' >ims.xml
for f in web.xls bare.xls; do
	run -d $db register $f
	expect_rc 2
	expect_err "$f: this is an HTML page (a web table saved as .xls?), not CSV text: open it in a spreadsheet program and save it as CSV UTF-8 (comma delimited)"
done
run -d $db register x2003.xml
expect_rc 2
expect_err "x2003.xml: this is a spreadsheet (Excel 2003 XML), not CSV text: open it in a spreadsheet program"
run -d $db course import ims.xml --capacity 3
expect_rc 2
expect_err "ims.xml: this is an XML document, not CSV text: bulkreg reads CSV: export the file as CSV instead"
run_in web.xls -d $db drop -
expect_rc 2
expect_err "standard input: this is an HTML page"
# A value that begins with '<' is a value, not markup.
printf 'student_id,first_name,last_name,email,course\n<S1>,A,B,a@x.org,TWO\n' >angle.csv
run -d $db register angle.csv
! grep -q "HTML page\|XML" err || fail "a '<' value called markup: $(cat err)"

# ---- review 9, M4: a bad byte under --encoding names its column -------------------

case_ "a byte the encoding lacks: line, column, and the field by number and header name (Moodle upload)"
fresh
"$BULKREG" -d $db course add CF101 --capacity 3 >/dev/null 2>&1 || fail "course add"
printf 'username,firstname,lastname,email,course1,role1\r\nzoe,Zo\353,O\222Brien,zoe@x.org,CF101,student\r\nbad,B\201d,Q,bad@x.org,CF101,student\r\n' >up1252.csv
run -d $db register --encoding WINDOWS-1252 up1252.csv
expect_rc 2
expect_err "up1252.csv: line 3, column 6, field 2 ('firstname'): byte 81 (at byte"
expect_err "is not WINDOWS-1252: is that the file's encoding?"
printf 'student_id,email,course\n\201\n' >first.csv
run -d $db register --encoding WINDOWS-1252 first.csv
expect_rc 2
expect_err "first.csv: line 2, column 1, field 1 ('student_id'): byte 81"

case_ "Windows-1252 whose accented capitals happen to form well-formed UTF-8 (É + no-break space, É + ’) is read as Windows-1252"
fresh
printf 'student_id,first_name,last_name,email,course\r\nS1,REN\311\240X,DUPONT,a@x.org,TWO\r\nS2,Bob,DUPR\311\222S,b@x.org,TWO\r\n' >look.csv
run -d $db register look.csv --encoding WINDOWS-1252
expect_rc 0
[ "$(names S1)" = "$(printf 'REN\303\211\302\240X|DUPONT')" ] || fail "S1: $(names S1)"
[ "$(names S2)" = "$(printf 'Bob|DUPR\303\211\342\200\231S')" ] || fail "S2: $(names S2)"
# A real UTF-8 file is still refused, and a C1 control in 'UTF-8' is not UTF-8.
fresh
printf 'student_id,first_name,last_name,email,course\nS1,Zo\303\253,A,a@x.org,TWO\n' >u8.csv
run -d $db register u8.csv --encoding WINDOWS-1252
expect_rc 2
expect_err "the file is already UTF-8: run without --encoding"

# ---- review 16, B1: two files, two encodings; a byte order mark wins ----------------

case_ "a byte order mark wins over --encoding (UTF-16LE, UTF-8), with a warning naming both"
fresh
run -d $db register --encoding WINDOWS-1252 "$E/utf16le_bom.csv" --format csv
expect_rc 0
expect_out "2,E1,TWO,registered"
expect_err "utf16le_bom.csv: read as UTF-16LE, as its byte order mark says, not as WINDOWS-1252"
[ "$(names E2)" = "José|Müller" ] || fail "E2 stored as $(names E2)"
fresh
printf '\357\273\277student_id,first_name,last_name,email,course\nS1,Zo\303\253,A,a@x.org,TWO\n' >bom8.csv
run -d $db register --encoding WINDOWS-1252 bom8.csv
expect_rc 0
expect_err "bom8.csv: read as UTF-8, as its byte order mark says, not as WINDOWS-1252"
[ "$(names S1)" = "Zoë|A" ] || fail "S1 stored as $(names S1)"

case_ "--users with a UTF-16 byte order mark beside a WINDOWS-1252 roster: each read as it is"
fresh
printf 'user_id,course_id,last_name\nu1,TWO,Ren\351\n' >e1252.csv
printf 'user_id,first_name,email\nu1,Zo\303\253,a@x.org\n' >users8.csv
{ printf '\377\376'; iconv -f UTF-8 -t UTF-16LE users8.csv; } >users16.csv
run -d $db register e1252.csv --users users16.csv --encoding WINDOWS-1252
expect_rc 0
expect_err "users16.csv: read as UTF-16LE, as its byte order mark says, not as WINDOWS-1252"
[ "$(names u1)" = "Zoë|René" ] || fail "u1 stored as $(names u1)"

case_ "--users-encoding: a WINDOWS-1252 roster with a UTF-8 --users file; the advice says which file needs what"
fresh
run -d $db register e1252.csv --users users8.csv
expect_rc 2
expect_err "e1252.csv: line 2, column 11: not valid UTF-8"
expect_err "rerun with --encoding WINDOWS-1252"
run -d $db register e1252.csv --users users8.csv --encoding WINDOWS-1252
expect_rc 2
expect_err "users8.csv: line 2, column 6: bytes C3 AB"
expect_err "the file is already UTF-8: give --users-encoding UTF-8"
! grep -q "run without --encoding" err || fail "the advice would break the roster: $(cat err)"
run -d $db register e1252.csv --users users8.csv --encoding WINDOWS-1252 --users-encoding UTF-8
expect_rc 0
[ "$(names u1)" = "Zoë|René" ] || fail "u1 stored as $(names u1)"
run -d $db batches --format json
expect_out '"users_encoding":"UTF-8"'

case_ "--users-encoding: a UTF-8 roster with a WINDOWS-1252 --users file"
fresh
printf 'user_id,course_id,last_name\nu1,TWO,Ren\303\251\n' >e8.csv
printf 'user_id,first_name,email\nu1,Zo\353,a@x.org\n' >users1252.csv
run -d $db register e8.csv --users users1252.csv
expect_rc 2
expect_err "users1252.csv: line 2, column 6: not valid UTF-8"
expect_err "rerun with --users-encoding WINDOWS-1252"
run -d $db register e8.csv --users users1252.csv --encoding WINDOWS-1252
expect_rc 2
expect_err "e8.csv: line 2, column 11: bytes C3 A9"
expect_err "run without --encoding (it is the roster's; --users-encoding NAME is the --users file's)"
run -d $db register e8.csv --users users1252.csv --users-encoding WINDOWS-1252
expect_rc 0
[ "$(names u1)" = "Zoë|René" ] || fail "u1 stored as $(names u1)"

case_ "--users-encoding needs --users; an unknown name is refused naming the option"
run -d $db register e8.csv --users-encoding WINDOWS-1252
expect_rc 2
expect_err "--users-encoding is the --users file's encoding: give --users FILE too"
run -d $db register e8.csv --users users1252.csv --users-encoding NO-SUCH
expect_rc 2
expect_err "--users-encoding: 'NO-SUCH' is not an encoding this system knows"
