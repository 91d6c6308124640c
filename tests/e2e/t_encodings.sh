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
expect_rc 1
expect_out "2,E1,TWO,rejected,,invalid_characters,last_name: character 2 (U+0092) is a control character; the file's --encoding is probably wrong"
expect_out "3,E2,TWO,registered"

case_ "bytes that are not the encoding named: exit 2, naming the line and the byte"
printf 'student_id,first_name,email,course\nE1,A,a@uni.example,TWO\nE2,B\201,b@uni.example,TWO\n' >hole.csv
fresh
run -d $db register --encoding WINDOWS-1252 hole.csv
expect_rc 2
expect_err "hole.csv: line 3: byte 81"
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
