# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, ROOT, RC come from lib.sh and run
# t_numbers: one rule for numbers (review 10, finding 16; README "Numbers",
# the manual's REPORT FORMATS, Numbers). A count in a sentence a person
# reads -- the text report's summary, a message on standard error, the
# progress line (t_progress) -- has thousands separators from 1,000 up, and
# a singular noun for 1; a value in a listing's columns, an identifier, csv
# and json never.
sqlite_only "the numbers are formatted above the store (t_verify runs the SQL on both)"

db=n.db
"$BULKREG" -q -d $db course add M1 --capacity 5000 || fail "setup"
# 1,200 rows, 1,100 of them with a bad email.
python3 - <<'PY'
with open("r.csv", "w") as f:
    f.write("student_id,email,course\n")
    for i in range(1200):
        f.write("N%d,%s,M1\n" % (i, "bad" if i < 1100 else "n%d@example.org" % i))
PY

case_ "--max-rejects and --strict say their counts grouped"
run -d $db register r.csv --max-rejects 10 -o rep.txt
expect_rc 1
expect_err "--max-rejects 10: 1,100 of 1,200 rows rejected"
run -d $db register r.csv --strict -o rep.txt
expect_rc 1
expect_err "--strict: 1,100 rows rejected"
printf 'student_id,email,course\nZ1,bad,M1\n' >one.csv
run -d $db register one.csv --strict -o rep.txt
expect_rc 1
expect_err "--strict: 1 row rejected"
run -d $db register one.csv --max-rejects 0 -o rep.txt
expect_rc 1
expect_err "--max-rejects 0: 1 of 1 row rejected"

case_ "the text report's summary groups; csv, json and the batches listing do not"
run -d $db register r.csv
expect_rc 1
expect_out "1,200 rows from r.csv"
grep -Eq '^  rejected +1,100$' out || fail "summary: $(head -12 out)"
run -d $db batches --format json
grep -q '"rows":1200' out || grep -q '"rows": 1200' out || fail "json rows: $(head -c 400 out)"
! grep -q '1,200' out || fail "json has a separator"
run -d $db batches
grep -q ' 1200 ' out || fail "batches listing: $(head -3 out)"
! grep -q '1,200' out || fail "the batches listing has a separator"
run -d $db batches show 3 --format csv
! grep -q '1,[0-9][0-9][0-9]' out || fail "csv has a separator: $(head -3 out)"

case_ "copy-db says its counts grouped"
python3 - <<'PY'
with open("good.csv", "w") as f:
    f.write("student_id,email,course\n")
    for i in range(1500):
        f.write("G%d,g%d@example.org,M1\n" % (i, i))
PY
"$BULKREG" -q -d $db register good.csv || fail "register good.csv"
run -d $db copy-db $db copy.db
expect_rc 0
expect_err "1 course, 1,600 students, 1,600 registrations,"

case_ "the line -o, -q and --rejects print on standard error groups its counts"
run -d $db register r.csv -o rep.txt --rejects rej.csv --dry-run
expect_rc 1
expect_err "1,200 rows: 0 registered, 0 waitlisted, 100 already there, 1,100 rejected; report in rep.txt"
expect_err "1,100 rejected rows written to rej.csv"
run -q -d $db register r.csv -o rep.txt --dry-run
expect_rc 1
expect_err "1,100 of 1,200 rows rejected; see rep.txt"

case_ "ranges and counts in messages group (review 17, B7): --max-rows, --capacity, --waitlist, --workers, --wait, a course file"
run -d $db register r.csv --max-rows 1000
expect_rc 2
expect_err "r.csv: more than 1,000 rows (--max-rows 1000); nothing was written"
for opt in capacity waitlist; do
	run -d $db course add M2 --$opt 2000000
	expect_rc 2
	expect_err "--$opt: '2000000' is not a whole number from 0 to 1,000,000"
	run -d $db course import r.csv --$opt 2000000
	expect_rc 2
	expect_err "from 0 to 1,000,000"
done
run -d $db register r.csv --workers 5000
expect_rc 2
expect_err "--workers: '5000' is not a whole number from 1 to 1,024"
run -d $db register r.csv --wait 100000
expect_rc 2
expect_err "(0 to 86,400)"
run -d $db copy-db $db copy.db --wait 100000
expect_rc 2
expect_err "(0 to 86,400)"
run -d $db register r.csv --check true --check-timeout 100000
expect_rc 2
expect_err "(0.001 to 86,400)"
printf 'code,title,capacity\nBIG,Big,2000000\n' >big.csv
run -d $db course import big.csv
expect_rc 1
expect_err "capacity: '2000000' is out of range (0 to 1,000,000)"
"$BULKREG" -q -d $db course add FULL --capacity 1000 --waitlist 0 || fail "setup FULL"
python3 - <<'PY'
with open("full.csv", "w") as f:
    f.write("student_id,email,course\n")
    for i in range(1001):
        f.write("F%d,f%d@example.org,FULL\n" % (i, i))
PY
run -d $db register full.csv --format csv
expect_rc 1
expect_out "FULL has no free seat (capacity 1,000) and no waitlist"
run -d $db course add FULL --help
grep -q "0 to 1,000,000" out || fail "course add --help: $(grep capacity out)"
