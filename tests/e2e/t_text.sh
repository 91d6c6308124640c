# t_text: one escaping everywhere (issue 13, defect 7).  Invisible
# characters -- tag characters (U+E0000..U+E007F) above all, which the text
# report once passed through raw and which misaligned its table -- are shown
# the same way by the text report, its details, the listings and the
# reader's messages: by code point, \uhhhh or \Uhhhhhhhh.

"$BULKREG" -d t.db course add OPEN --capacity 10 >/dev/null 2>&1 ||
	fail "course add"

# One row per class of invisible character, in the student id (rejected:
# invalid_student_id) or the course (unknown_course); the detail quotes
# them too.
TAG_A=$(printf '\363\240\201\201')        # U+E0041 TAG LATIN CAPITAL LETTER A
TAG_CANCEL=$(printf '\363\240\201\277')   # U+E007F CANCEL TAG
{
	printf 'student_id,email,course\n'
	printf 'S1%s,a1@b.cd,OPEN\n' "$TAG_A"
	printf 'S2,a2@b.cd,OPEN%s\n' "$TAG_CANCEL"
	printf 'S3\342\200\213,a3@b.cd,OPEN\n'     # U+200B zero-width space
	printf 'S4,a4@b.cd,OPEN\302\240\n'         # U+00A0 no-break space
	printf 'S5\342\200\256x,a5@b.cd,OPEN\n'    # U+202E right-to-left override
	printf 'S6\302\205,a6@b.cd,OPEN\n'         # U+0085 a C1 control
	printf 'S7\357\273\277,a7@b.cd,OPEN\n'     # U+FEFF byte order mark
	printf 'S8\342\201\240,a8@b.cd,OPEN\n'     # U+2060 word joiner
	printf 'S9\343\200\200,a9@b.cd,OPEN\n'     # U+3000 ideographic space
	printf 'S10,a10@b.cd,OPEN\n'
} >inv.csv

case_ "tag characters are escaped by code point in the text report"
run -d t.db register --dry-run inv.csv
expect_rc 1
expect_out 'S1\U000e0041'
expect_out 'OPEN\U000e007f'
expect_out "no course 'OPEN\\U000e007f'"
for esc in 'S3\u200b' 'OPEN\u00a0' 'S5\u202ex' 'S6\u0085' 'S7\ufeff' \
	'S8\u2060' 'S9\u3000'; do
	expect_out "$esc"
done

case_ "no invisible character reaches the text report raw"
python3 - out <<'PY' || fail "raw invisible character in the report: $(cat out)"
import sys, unicodedata
text = open(sys.argv[1], encoding="utf-8").read()
bad = [hex(ord(c)) for c in text
       if unicodedata.category(c) in ("Cf", "Cc", "Zs", "Zl", "Zp")
       and c not in " \n"]
sys.exit(1 if bad else 0)
PY

case_ "the text report's table stays aligned"
python3 - out <<'PY' || fail "misaligned table: $(cat out)"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
head = next(i for i, l in enumerate(lines) if l.startswith("LINE"))
cols = [lines[head].index(n) for n in ("STUDENT", "COURSE", "REASON", "DETAIL")]
rows = [l for l in lines[head + 1:] if l.strip()]
assert len(rows) == 9, rows
for l in rows:
    for c in cols:
        # Each column starts after a space, at the header's column.
        assert l[c - 1] == " " and l[c] != " ", (c, l)
PY

case_ "the csv and json reports keep the values as they are"
run -d t.db register --dry-run inv.csv --format csv
[ "$(csv_field 2 student_id)" = "S1$TAG_A" ] || fail "csv: $(cat out)"
run -d t.db register --dry-run inv.csv --format json
grep -qF "\"S1$TAG_A\"" out || fail "json: $(cat out)"

case_ "the reader's messages escape a header name the same way"
printf 'student%sid,email,course\nS1,a@b.cd,OPEN\n' "$TAG_A" >hdr.csv
run -d t.db register hdr.csv
expect_rc 2
expect_err "'student\\U000e0041id'"

case_ "the listings escape names the same way"
printf 'student_id,email,course,first_name\nS20,a20@b.cd,OPEN,Ann%se\n' \
	"$TAG_A" >name.csv
run -d t.db register name.csv
expect_rc 0
run -d t.db roster OPEN
expect_out 'Ann\U000e0041e'
run -d t.db student S20
expect_out 'Ann\U000e0041e'
"$BULKREG" -d t.db course add X1 --capacity 3 --title "T${TAG_A}" >/dev/null 2>&1
run -d t.db course list
expect_out 'T\U000e0041'
python3 - out <<'PY' || fail "course list misaligned: $(cat out)"
import sys
lines = [l for l in open(sys.argv[1], encoding="utf-8").read().split("\n") if l]
at = lines[0].index("CAPACITY") + len("CAPACITY")
for l in lines[1:]:
    assert l[at - 1] != " " and l[at] == " ", l
PY

case_ "messages escape a course code the same way"
run -d t.db register --course "OPEN$TAG_A" name.csv
expect_rc 2
expect_err 'OPEN\U000e0041'
