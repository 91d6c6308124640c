# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, ROOT, RC come from lib.sh and run
# t_report_html: --format html -- one self-contained page (no script, nothing
# to fetch), its counts and rows equal to the csv report of the same run,
# every value escaped, the 10,000-row bound; course list --format html.
# (make check-browser loads the same pages in headless Chromium.)

dom=$ROOT/tests/browser/report_dom.py
db=t.db

# same_as_csv PAGE CSV: the page's numbers and rows are the csv's.
same_as_csv() {
	python3 "$dom" "$1" "$2" >cmp 2>&1 || fail "$1 and $2 differ:
$(head -20 cmp)"
}

# self_contained PAGE: nothing is run or fetched from anywhere.
self_contained() {
	python3 - "$1" <<'PY' || fail "$1 is not self-contained"
import html.parser, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
bad = []
class P(html.parser.HTMLParser):
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "iframe", "object", "embed", "img", "link",
                   "video", "audio", "source", "form", "base"):
            bad.append("element <%s>" % tag)
        for k, v in attrs:
            if k.startswith("on") or k in ("src", "href", "srcset", "action", "xlink:href"):
                bad.append("attribute %s=%r on <%s>" % (k, v, tag))
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            bad.append("meta refresh")
P().feed(text)
style = "".join(re.findall(r"<style>(.*?)</style>", text, re.S))
for pat in ("url(", "@import", "@font-face", "http:", "https:", "//"):
    if pat in style:
        bad.append("style has %s" % pat)
if "default-src 'none'" not in text:
    bad.append("no Content-Security-Policy default-src 'none'")
if 'name="viewport"' not in text:
    bad.append("no viewport (phones)")
if "@media print" not in text or "@media (max-width" not in text:
    bad.append("no print or narrow-screen styles")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
}

"$BULKREG" -q -d $db course import "$ROOT/data/courses.csv" 2>/dev/null
"$BULKREG" -q -d $db register "$ROOT/data/enrolled.csv" >/dev/null 2>&1
cp $db copy.db

case_ "register --format html: the same numbers and rows as --format csv"
run -d $db register "$ROOT/data/roster.csv" --format html -o page.html
expect_rc 1
expect_err "report in page.html"
"$BULKREG" -q -d copy.db register "$ROOT/data/roster.csv" --format csv -o page.csv 2>/dev/null
same_as_csv page.html page.csv
self_contained page.html
grep -q '<svg' page.html || fail "no chart"
grep -q 'data-course="MATH101"' page.html || fail "no MATH101 in the chart"

case_ "html: the chart shows seats of the capacity, the batch's share, the waitlist of its maximum"
python3 - page.html <<'PY' || fail "chart numbers"
import re, sys
t = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<div class="course" data-course="MATH101"([^>]*)>', t)
a = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', m.group(1)))
# data/courses.csv: MATH101 has 5 seats and a waitlist of 3; the roster
# fills both.
assert a["capacity"] == "5" and a["registered"] == "5", a
assert a["waitlist-max"] == "3" and a["waitlisted"] == "3", a
assert int(a["added"]) > 0, a
PY

case_ "html: over capacity is shown"
"$BULKREG" -q -d over.db course add OVR --capacity 2 2>/dev/null
printf 'student_id,first_name,last_name,email,course\nO1,A,B,o1@example.edu,OVR\nO2,A,B,o2@example.edu,OVR\n' >over.csv
"$BULKREG" -q -d over.db register over.csv >/dev/null 2>&1
sqlite3 over.db "UPDATE courses SET capacity = 1 WHERE code = 'OVR'"
run -d over.db course list --format html
expect_rc 0
grep -q 'data-over="1"' out || fail "no over-capacity count"
grep -q '1 over capacity' out || fail "over capacity not said"
grep -q 'fill="#cf222e"' out || fail "over capacity not drawn"
self_contained out

case_ "html: the legend names every colour a bar is filled with; the course list's names no batch"
# legend_covers PAGE: each fill of a bar's area is in the legend (the limit
# mark, a thin line, is not an area).
legend_covers() {
	python3 - "$1" <<'PY' || fail "$1: a bar colour is not in the legend"
import re, sys
t = open(sys.argv[1], encoding="utf-8").read()
legend = re.search(r'<div class="legend".*?</div>', t, re.S).group(0)
named = set(re.findall(r'background:(#[0-9a-f]{6})', legend))
used = set(re.findall(r'<rect x="[^"]*" y="0" width="(?!3")[^"]*" height="18" fill="(#[0-9a-f]{6})"', t))
print("used", sorted(used), "named", sorted(named))
sys.exit(0 if used and used <= named else 1)
PY
}
legend_covers page.html
grep -q 'waitlist places free' page.html || fail "no empty-waitlist colour in the batch's legend"
grep -q 'taken by this batch' page.html || fail "the batch's legend lost its own seats"
run -d $db course list --format html
expect_rc 0
legend_covers out
grep -q 'waitlist places free' out || fail "no empty-waitlist colour in the course list's legend"
! grep -qi 'batch' out || fail "the course list page speaks of a batch: $(grep -io '[^>]*batch[^<]*' out | head -3)"

case_ "html: values are escaped -- markup, quotes, &, bidi and invisible characters"
printf 'code,title,capacity,waitlist\nC<b>1,"<script>alert(1)</script> & ""q"" '"'"'s'"'"'",5,0\n' >hc.csv
"$BULKREG" -q -d h.db course import hc.csv 2>/dev/null
{
	printf 'student_id,first_name,last_name,email,course\n'
	printf '"<img src=x onerror=alert(1)>",A,B,a1@example.edu,C<b>1\n'
	printf 'S2\342\200\256gpj.exe,A,B,a2@example.edu,C<b>1\n'
	printf 'S3\342\200\213,A,B,a3@example.edu,C<b>1\n'
	printf 'S4&amp;,A,B,a4@example.edu,"q""uote'"'"'s"\n'
	printf 'S5,A,B,a5@example.edu,"<script>x</script>"\n'
	printf 'S6\363\240\200\201,A,B,a6@example.edu,C<b>1\n'
} >"h<i>.csv"
cp h.db h2.db
run -d h.db register "h<i>.csv" --label '"><script>alert(2)</script>' --format html -o h.html
expect_rc 1
"$BULKREG" -q -d h2.db register "h<i>.csv" --label '"><script>alert(2)</script>' --format csv -o h.csv 2>/dev/null
same_as_csv h.html h.csv
self_contained h.html
grep -q '&lt;img src=x onerror=alert(1)&gt;' h.html || fail "the student id is not escaped"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;s&#39;' h.html ||
	fail "the course title is not escaped"
grep -q '&quot;&gt;&lt;script&gt;alert(2)' h.html || fail "the label is not escaped"
grep -q 'h&lt;i&gt;.csv' h.html || fail "the source name is not escaped"
grep -q 'S4&amp;amp;' h.html || fail "& in a value is not escaped"
grep -q 'data-cp="202E">U+202E</span>' h.html || fail "a bidi override is not shown as a code"
grep -q 'data-cp="200B">U+200B</span>' h.html || fail "a zero-width space is not shown as a code"
grep -q 'data-cp="E0001">U+E0001</span>' h.html || fail "a tag character is not shown as a code"
python3 - h.html <<'PY' || fail "a raw bidi or invisible character is in the page"
import sys
t = open(sys.argv[1], encoding="utf-8").read()
sys.exit(1 if any(c in t for c in "\u202e\u200b\U000e0001") else 0)
PY

case_ "html: past 10,000 rows, the first 10,000 and a note that the csv has them all"
"$BULKREG" -q -d big.db course add BIG --capacity 20000 2>/dev/null
python3 - <<'PY'
with open("big.csv", "w") as f:
    f.write("student_id,first_name,last_name,email,course\n")
    for i in range(10020):
        f.write("B%05d,F,L,b%05d@example.edu,%s\n" % (i, i, "NOPE" if i % 2000 == 1999 else "BIG"))
PY
cp big.db big2.db
run -d big.db register big.csv --format html -o big.html
expect_rc 1
"$BULKREG" -q -d big2.db register big.csv --format csv -o big.out.csv 2>/dev/null
same_as_csv big.html big.out.csv
grep -q 'data-listed="10000" data-total="10020"' big.html || fail "no note past 10,000 rows"
grep -q 'the csv report (<code>--format csv</code>) has them all' big.html ||
	fail "the note does not send the reader to the csv report"
[ "$(grep -c '<tr class="st-' big.html)" -eq 10005 ] ||
	fail "expected 10,000 listed rows and 5 rejected ones: $(grep -c '<tr class="st-' big.html)"

case_ "drop and undo --format html"
run -d $db drop "$ROOT/data/enrolled.csv" --dry-run --format html
expect_rc 0
grep -q 'data-status="dropped"' out || fail "no dropped count"
self_contained out
run -d copy.db undo 2 --dry-run --format html
expect_rc 0
grep -q 'Undoing batch 2 would change [0-9,]* registrations\{0,1\} (in' out ||
	fail "undo page does not say what it undoes: $(grep -A2 '<h1' out)"
# It reads no rows: no "0 rows ... 0 rows/s, 1 worker" (review 13, C2).
! grep -q 'rows/s\|data-count="rows"' out || fail "undo page counts rows read"
self_contained out

case_ "course list --format html: every course; listings without a page refuse html"
run -d $db course list --format html
expect_rc 0
[ "$(grep -c '<div class="course"' out)" -eq 6 ] || fail "not 6 courses"
self_contained out
run -d $db roster MATH101 --format html
expect_rc 2
expect_err "--format"
run -d $db batches --format html
expect_rc 2

case_ "html: a changed right-to-left value is isolated from the arrow (review 23 F04)"
# Without <bdi>, 'דוד → דויד' is one right-to-left run: drawn 'דויד → דוד',
# the arrow pointing from the new name to the old one.
"$BULKREG" -q -d rtl.db course add C1 --capacity 5 2>/dev/null
printf 'student_id,first_name,last_name,email,course\nS1,דוד,Lee,a@old.example.edu,C1\n' >rtl1.csv
printf 'student_id,first_name,last_name,email,course\nS1,דויד,Lee,a@new.example.edu,C1\n' >rtl2.csv
"$BULKREG" -q -d rtl.db register rtl1.csv >/dev/null 2>&1
run -d rtl.db register rtl2.csv --all --format html -o rtl.html
expect_rc 0
grep -q 'first_name: <bdi>דוד</bdi> → <bdi>דויד</bdi>; email: <bdi>a@old.example.edu</bdi> → <bdi>a@new.example.edu</bdi></td>' rtl.html ||
	fail "the values of a change are not isolated: $(grep -o '<td data-label="Detail">[^/]*' rtl.html)"
cp rtl.db rtl2.db
"$BULKREG" -q -d rtl2.db undo 2 >/dev/null 2>&1
"$BULKREG" -q -d rtl2.db register rtl2.csv --all --format csv -o rtl.csv 2>/dev/null
same_as_csv rtl.html rtl.csv

case_ "html summary: a skipped row's reason is under skipped, a rejected row's under rejected (review 23 F03)"
"$BULKREG" -q -d sk.db course add C1 --capacity 5 2>/dev/null
printf 'student_id,email,course,role\nA,a@x.org,C1,student\nT,t@x.org,C1,teacher\nB,bad,C1,student\n' >sk.csv
cp sk.db sk2.db
run -d sk.db register sk.csv --format html -o sk.html
expect_rc 1
"$BULKREG" -q -d sk2.db register sk.csv --format csv -o sk.out.csv 2>/dev/null
same_as_csv sk.html sk.out.csv
order=$(sed -n '/id="counts"/,/<\/table>/p' sk.html |
	sed -n 's/.*data-\(status\|reason\)="\([^"]*\)".*/\2/p' | tr '\n' ' ')
case $order in
*"skipped not_a_student rejected invalid_email "*) ;;
*) fail "summary order: $order" ;;
esac

case_ "html chart: a waitlisted student's drop is the waitlist's, not the seats' (review 23 F06)"
"$BULKREG" -q -d wd.db course add C1 --capacity 1 --waitlist 5 2>/dev/null
printf 'student_id,email,course\nA,a@x.org,C1\nB,b@x.org,C1\nC,c@x.org,C1\n' >wd.csv
"$BULKREG" -q -d wd.db register wd.csv >/dev/null 2>&1
run -d wd.db drop --student C --course C1 --format html -o wd.html
expect_rc 0
grep -q '<span class="num">1</span> of 1 seats taken (0 by this batch); 0 free</p>' wd.html ||
	fail "the seats sentence: $(grep -o '<p><span class="num">[^/]*seats taken[^<]*' wd.html)"
grep -q 'Waitlist <span class="num">1</span> of 5 (0 by this batch); 1 dropped</p>' wd.html ||
	fail "the waitlist sentence: $(grep -o '<p>Waitlist.*</p>' wd.html)"

case_ "html of a sync past 10,000 rows lists its drops, which come after the last row (review 23 F09)"
"$BULKREG" -q -d sy.db course add SY --capacity 20000 2>/dev/null
python3 - <<'PY'
with open("sy1.csv", "w") as f:
    f.write("student_id,email,course\n")
    for i in range(3):
        f.write("GONE%d,g%d@example.edu,SY\n" % (i, i))
with open("sy2.csv", "w") as f:
    f.write("student_id,email,course\n")
    for i in range(10005):
        f.write("Y%05d,y%05d@example.edu,SY\n" % (i, i))
PY
"$BULKREG" -q -d sy.db register sy1.csv >/dev/null 2>&1
cp sy.db sy2.db
run -d sy.db register sy2.csv --sync --max-drops 100% --format html -o sy.html
expect_rc 0
"$BULKREG" -q -d sy2.db register sy2.csv --sync --max-drops 100% --format csv -o sy.csv 2>/dev/null
same_as_csv sy.html sy.csv
n=$(sed -n '/<section id="changes">/,/<\/section>/p' sy.html | grep -c '<tr class="st-dropped">')
[ "$n" = 3 ] || fail "the page lists $n of the 3 dropped rows"
