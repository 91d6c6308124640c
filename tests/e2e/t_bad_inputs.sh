# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_bad_inputs: the catalogue of hostile and broken rosters in
# tests/data/bad/EXPECTED (its format is described at its top).  Every case
# runs `bulkreg register INPUT --format csv` on its own copy of one small
# database under `timeout`, and must:
#   - end by itself within the time limit, and never by a signal (< 128);
#   - exit with the status in the table;
#   - meet every expectation of its line (stderr, csv report);
#   - for exit 2 and 3: write nothing on standard output, leave the database
#     exactly as it was (courses, students, registrations and the number of
#     batches);
#   - for exit 0 and 1: leave a database that passes integrity_check;
# and then pass check_NAME below, when there is one (values stored byte for
# byte, shell metacharacters never run, the formula guard, terminal escapes).
# Inputs too big to commit, or that are not files (a FIFO, a directory,
# standard input, /dev/zero), are made by the gen_NAME functions below, in
# this test's temporary directory.
sqlite_only "every case runs on a copy of one SQLite file (cp base.db); the differential test t_pg_differential covers the PostgreSQL store's reports"

BAD=$DATA/bad
TABLE=$BAD/EXPECTED
LIMIT=${BAD_INPUT_TIMEOUT:-30} # seconds one case may take

H5='student_id,first_name,last_name,email,course'

# bad.py MODE ARGS: the checks that need a CSV, JSON or SQLite reader.
#   report FILE EXPECT...   each row:LINE:WORD / rows:N of EXPECT holds for
#                           the csv report FILE
#   stored DB ROSTER ID...  students ID... hold exactly the roster's values
#                           (trimmed of spaces and tabs), compared as bytes
cat >bad.py <<'PY'
import csv, sqlite3, sys

def _lines(text):
    # csv.reader wants an iterable of lines; keep quoted line breaks whole.
    import io
    return io.StringIO(text, newline="")

def enc(s):
    return s.encode("utf-8", "surrogateescape")

bad = []
mode = sys.argv[1]
if mode == "report":
    with open(sys.argv[2], newline="", encoding="utf-8") as f:
        recs = list(csv.DictReader(f))
    by_line = {r["line"]: r for r in recs}
    for e in sys.argv[3:]:
        kind, _, rest = e.partition(":")
        if kind == "rows":
            if len(recs) != int(rest):
                bad.append("%d report rows, expected %s" % (len(recs), rest))
        elif kind == "row":
            line, _, word = rest.partition(":")
            r = by_line.get(line)
            if r is None:
                bad.append("no report row for line %s" % line)
                continue
            got = r["reason"] if r["status"] == "rejected" else r["status"]
            if got != word:
                bad.append("line %s is %s (%s), expected %s" %
                           (line, got, r["detail"], word))
        else:
            bad.append("unknown expectation " + e)
elif mode == "stored":
    db, path, ids = sys.argv[2], sys.argv[3], sys.argv[4:]
    rows = list(csv.reader(_lines(open(path, "rb").read()
                                  .decode("utf-8", "surrogateescape"))))
    head = [h.strip().lower() for h in rows[0]]
    want = {}
    for r in rows[1:]:
        d = dict(zip(head, (v.strip(" \t") for v in r)))
        want[d.get("student_id")] = d
    con = sqlite3.connect(db)
    con.text_factory = bytes
    for i in ids:
        got = con.execute("SELECT first_name, last_name, email FROM students"
                          " WHERE student_id = ?", (i,)).fetchone()
        w = want.get(i)
        exp = w and tuple(enc(w.get(k, "")) for k in
                          ("first_name", "last_name", "email"))
        if got is None or got != exp:
            bad.append("%s: stored %r, roster %r" % (i, got, exp))
else:
    bad.append("unknown mode " + mode)
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY

# ---- generated inputs ------------------------------------------------------
# gen_NAME sets INPUT (a path), or FEED (a shell command whose output is
# bulkreg's standard input, read as '-'); it may set ARGS (more options).

# repeat N STRING: STRING N times.
repeat() { awk -v n="$1" -v s="$2" 'BEGIN { while (n-- > 0) printf "%s", s }'; }
# bytes N CHAR: N bytes of CHAR, quickly.
bytes() { head -c "$1" /dev/zero | tr '\0' "$2"; }

gen_directory() { mkdir -p gen/a_directory.csv; INPUT=gen/a_directory.csv; }
gen_missing_file() { INPUT=gen/no_such_roster.csv; }
gen_devnull_symlink() { ln -s /dev/null gen/devnull.csv; INPUT=gen/devnull.csv; }
gen_dev_zero() { INPUT=/dev/zero; }
gen_dev_full() { INPUT=/dev/full; }
gen_read_error() {
	# Reading offset 0 of one's own memory fails with EIO.
	[ -r /proc/self/mem ] || fail "no /proc/self/mem here"
	INPUT=/proc/self/mem
}
gen_proc_file() { INPUT=/proc/self/status; }
gen_sqlite_database() { cp base.db gen/roster.db && INPUT=gen/roster.db; }
gen_executable() { INPUT=/bin/sh; }
gen_tab_delimited() { INPUT=$BAD/tab_delimited.tsv ARGS="--delimiter tab"; }
gen_stdin_empty() { FEED=true; }
gen_stdin_mid_quote() {
	FEED="printf 'student_id,email,course\nP1,p1@uni.example,OPEN\nP2,\"p2@uni'"
}
gen_stdin_header_then_zeros() {
	FEED="printf 'student_id,email,course\nZ1,z1@uni.example,OPEN\n'; cat /dev/zero"
}
gen_fifo() {
	mkfifo gen/roster.fifo || fail "mkfifo"
	# The writer pauses inside a record, so that reads come back short;
	# `timeout` ends it should bulkreg never open the FIFO.
	timeout "$LIMIT" sh -c "
		printf 'student_id,email,course\nF1,f1@uni.'
		sleep 0.2
		printf 'example,OPEN\nF2,\"f2@uni.example\"'
		sleep 0.2
		printf ',OPEN\n'" >gen/roster.fifo &
	INPUT=gen/roster.fifo
}
gen_field_10mb() {
	INPUT=gen/field_10mb.csv
	{
		echo "$H5"
		printf 'T1,'; bytes 10000000 a; printf ',Big,t1@uni.example,OPEN\n'
		echo "T2,Small,Ok,t2@uni.example,OPEN"
	} >"$INPUT"
}
gen_field_10mb_quoted_multiline() {
	INPUT=gen/field_10mb_quoted.csv
	{
		echo "$H5"
		printf 'T1,"'; bytes 5000000 a; printf '\n'; bytes 5000000 b
		printf '",Big,t1@uni.example,OPEN\n'
		echo "T2,Small,Ok,t2@uni.example,OPEN"
	} >"$INPUT"
}
gen_field_10mb_bad_utf8_at_end() {
	INPUT=gen/field_10mb_bad_end.csv
	{
		echo "$H5"
		printf 'T1,'; bytes 10000000 a; printf '\377,Big,t1@uni.example,OPEN\n'
		echo "T2,Small,Ok,t2@uni.example,OPEN"
	} >"$INPUT"
}
gen_field_10mb_unknown_column() {
	INPUT=gen/field_10mb_unknown.csv
	{
		echo "$H5,notes"
		printf 'T1,A,B,t1@uni.example,OPEN,'; bytes 10000000 n; echo
	} >"$INPUT"
}
gen_field_16mib_exact() {
	INPUT=gen/field_16mib.csv
	{
		echo "$H5"
		printf 'T1,'; bytes 16777216 a; printf ',Big,t1@uni.example,OPEN\n'
		echo "T2,Small,Ok,t2@uni.example,OPEN"
	} >"$INPUT"
}
gen_field_16mib_plus_one() {
	INPUT=gen/field_16mib_1.csv
	{
		echo "$H5"
		echo "T1,Small,Ok,t1@uni.example,OPEN"
		printf 'T2,'; bytes 16777217 a; printf ',Big,t2@uni.example,OPEN\n'
	} >"$INPUT"
}
gen_field_17mb() {
	INPUT=gen/field_17mb.csv
	{
		echo "$H5"
		echo "T1,Small,Ok,t1@uni.example,OPEN"
		printf 'T2,'; bytes 17000000 a; printf ',Big,t2@uni.example,OPEN\n'
		echo "T3,Small,Ok,t3@uni.example,OPEN"
	} >"$INPUT"
}
gen_field_17mb_quoted() {
	INPUT=gen/field_17mb_quoted.csv
	{
		echo "$H5"
		echo "T1,Small,Ok,t1@uni.example,OPEN"
		echo "T2,Small,Ok,t2@uni.example,OPEN"
		printf 'T3,"'; bytes 17000000 a; printf '",Big,t3@uni.example,OPEN\n'
	} >"$INPUT"
}
gen_field_17mb_in_header() {
	INPUT=gen/field_17mb_header.csv
	{ printf 'student_id,email,course,'; bytes 17000000 h; echo; } >"$INPUT"
}
gen_stray_quote_then_17mb() {
	INPUT=gen/stray_quote.csv
	{
		echo "$H5"
		echo "S1,Ok,Ok,s1@uni.example,OPEN"
		echo 'S2,"Stray,Quote,s2@uni.example,OPEN'
		awk 'BEGIN { for (i = 3; i < 450000; i++)
			printf "S%d,First,Last,s%d@uni.example,OPEN\n", i, i }'
	} >"$INPUT"
}
gen_columns_100k_header() {
	INPUT=gen/columns_100k_header.csv
	awk 'BEGIN { printf "student_id,email,course"
		for (i = 4; i <= 100000; i++) printf ",c%d", i; print ""
		print "S1,s1@uni.example,OPEN" }' >"$INPUT"
}
gen_columns_1024() {
	INPUT=gen/columns_1024.csv
	awk 'BEGIN { printf "student_id,email,course"
		for (i = 4; i <= 1024; i++) printf ",c%d", i; print ""
		printf "S1,s1@uni.example,OPEN"
		for (i = 4; i <= 1024; i++) printf ",%d", i; print "" }' >"$INPUT"
}
gen_columns_1025() {
	INPUT=gen/columns_1025.csv
	awk 'BEGIN { printf "student_id,email,course"
		for (i = 4; i <= 1025; i++) printf ",c%d", i; print "" }' >"$INPUT"
}
gen_columns_100k_in_a_row() {
	INPUT=gen/columns_100k_row.csv
	awk 'BEGIN { print "student_id,email,course"
		print "S1,s1@uni.example,OPEN"
		printf "S2,s2@uni.example,OPEN"
		for (i = 4; i <= 100000; i++) printf ",x"; print ""
		print "S3,s3@uni.example,OPEN" }' >"$INPUT"
}
gen_endless_header() {
	# One header line of commas that never ends: refused as soon as it
	# has too many columns, not when the input ends (it does not).
	FEED="yes , | tr -d '\n'"
}
gen_long_lines_short_fields() {
	# 1,024 columns of 60-byte values: lines of about 62 KB, the size of
	# the read buffer, so that lines straddle its edges.
	INPUT=gen/long_lines.csv
	awk 'BEGIN { v = sprintf("%060d", 7)
		printf "student_id,email,course"
		for (i = 4; i <= 1024; i++) printf ",c%d", i; print ""
		for (r = 1; r <= 300; r++) {
			printf "L%d,l%d@uni.example,OPEN", r, r
			for (i = 4; i <= 1024; i++) printf ",%s", v; print ""
		} }' >"$INPUT"
}
gen_line_1mb_of_short_fields() {
	INPUT=gen/line_1mb.csv
	{
		echo "student_id,email,course"
		echo "S1,s1@uni.example,OPEN"
		repeat 500000 'a,'; echo
		echo "S3,s3@uni.example,OPEN"
	} >"$INPUT"
}
gen_blank_lines_100k_then_header() {
	INPUT=gen/blank_lines.csv
	awk 'BEGIN { for (i = 0; i < 100000; i++) print (i % 3 ? "" : "  \t ")
		print "student_id,email,course"
		print "B1,b1@uni.example,OPEN" }' >"$INPUT"
}
gen_only_delimiters_100k_rows() {
	INPUT=gen/only_delimiters.csv
	awk 'BEGIN { print "student_id,email,course"
		for (i = 0; i < 100000; i++) print ",," }' >"$INPUT"
}

# ---- extra checks for some cases --------------------------------------------
# check_NAME runs after the table's expectations, in the same directory, with
# the case's database c.db (after the run) and its input $INPUT.

# stored ID...: the students hold the values of $INPUT, byte for byte.
stored() {
	python3 bad.py stored c.db "$INPUT" "$@" >py.out 2>&1 || fail "$(cat py.out)"
}
# expect_column ID COLUMN VALUE: student ID's COLUMN is exactly VALUE
# (printf %b escapes allowed), compared as bytes.
expect_column() {
	_want=$(printf '%b' "$3" | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F')
	_got=$(sql c.db "SELECT hex($2) FROM students WHERE student_id = '$1'")
	[ "$_got" = "$_want" ] || fail "$1.$2 is $_got, expected $_want ($3)"
}
# no_raw BYTE FILE: FILE does not contain BYTE (an octal escape for printf).
no_raw() {
	! grep -q "$(printf "$1")" "$2" || fail "$2 holds a raw $1 byte"
}
# again ARGS...: the same input once more, on a fresh copy, with ARGS.
again() {
	cp base.db again.db || fail "cp"
	timeout "$LIMIT" "$BULKREG" -d again.db register "$INPUT" "$@" \
		</dev/null >out2 2>err2
	RC2=$?
}

check_sql_metacharacters() {
	stored Q1 Q2 Q3
	[ "$(sql c.db "SELECT count(*) FROM students")" = 3 ] || fail "students"
	[ "$(sql c.db "SELECT count(*) FROM registrations")" = 3 ] || fail "registrations"
	[ "$(sql c.db "PRAGMA integrity_check")" = ok ] || fail "integrity"
}
check_shell_metacharacters() {
	# A --check command sees the values in its environment, as they are,
	# and nothing in them is ever run: by bulkreg or by the shell.
	again --check 'printf "%s|%s" "$BULKREG_FIRST_NAME" "$BULKREG_LAST_NAME" >"seen.$BULKREG_STUDENT_ID"'
	[ "$RC2" -eq 0 ] || fail "with --check: exit $RC2: $(cat err2)"
	[ "$(cat seen.X1)" = '$(touch PWNED_dollar)|`touch PWNED_backtick`' ] ||
		fail "X1 seen as $(cat seen.X1)"
	[ "$(cat seen.X3)" = "\${IFS}touch\${IFS}PWNED_ifs|'\$(touch PWNED_quoted)' > PWNED_redirect" ] ||
		fail "X3 seen as $(cat seen.X3)"
	again --check env
	[ "$RC2" -eq 0 ] || fail "with --check env: exit $RC2: $(cat err2)"
	stored X1 X2 X3
	for f in PWNED*; do
		[ -e "$f" ] && fail "a shell metacharacter was run: $f exists"
	done
}
check_formula_injection() {
	# csv: guarded with a quote; json: unchanged; stored: unchanged.
	again --format json
	python3 - <<'PY' || fail "json report: $(cat err2)"
import json
r = json.load(open("out2"))["results"]
want = ["=cmd|' /C calc'!A0", "F2", "@SUM(A1:A9)", "F4", "-1", "+1", '=1+2";=3']
assert [x["student_id"] for x in r] == want, [x["student_id"] for x in r]
assert r[3]["course"] == '=HYPERLINK("http://evil.example","x")', r[3]
PY
	stored F2
	"$BULKREG" -d c.db roster OPEN --format csv >listing.csv || fail "roster"
	grep -qF "F2,'+1,'-1,f2@uni.example" listing.csv ||
		fail "csv listing not guarded: $(cat listing.csv)"
}
check_zero_width_rtl() {
	# The text report (and listing) escape what changes text direction.
	again
	grep -qF 'Z3\u202e' out2 || fail "text report: $(cat out2)"
	no_raw '\342\200\256' out2
	"$BULKREG" -d c.db roster OPEN >listing.txt || fail "roster"
	no_raw '\342\200\256' listing.txt
}
check_terminal_escapes() {
	again
	[ "$RC2" -eq 1 ] || fail "text: exit $RC2"
	no_raw '\033' out2
	no_raw '\007' out2
	"$BULKREG" -d c.db roster OPEN >listing.txt || fail "roster"
	no_raw '\033' listing.txt
	no_raw '\007' listing.txt
}
check_emoji_combining() { stored E1 E2 E3; }
check_spaces_tabs_around_quotes() {
	expect_column S1 first_name 'Ann'
	expect_column S1 last_name 'Lee'
	expect_column S1 email 's1@uni.example'
}
check_lone_cr_in_quotes() {
	stored C2
}
check_crlf_in_quotes() {
	stored C2 C4
}
check_quote_mid_unquoted() {
	expect_column Q1 first_name 'Tom "Tiny" Thumb'
}
check_columns_unusual_order() {
	[ "$(sql c.db "SELECT first_name || '/' || last_name FROM students")" = First/Last ] ||
		fail "names not taken from their columns"
}
check_header_aliases() {
	[ "$(sql c.db "SELECT first_name || '/' || last_name FROM students")" = Al/Ias ] ||
		fail "names not taken from their columns"
}
check_tab_delimited() {
	expect_column T3 first_name 'Q'
	[ -z "$(sql c.db "SELECT 1 FROM students WHERE student_id = 'T1'")" ] ||
		fail "T1 (a tab in its name) was stored"
}
check_header_only() {
	[ "$(cat out)" = "line,student_id,course,status,position,reason,detail" ] ||
		fail "report: $(cat out)"
}

# ---- the table ------------------------------------------------------------------

case_ "setup: a database with the five courses of outcomes.csv"
run -d base.db course import "$DATA/courses/outcomes.csv"
expect_rc 0
dump base.db base.state
sql base.db "SELECT 'batches', count(*) FROM batches" >>base.state
mkdir gen

start=$(date +%s)
ncases=0
exec 3<"$TABLE"
while IFS='	' read -r input status expect desc <&3; do
	case $input in '' | '#'*) continue ;; esac
	ncases=$((ncases + 1))
	case_ "$input -- $desc"
	[ -n "$status" ] && [ -n "$expect" ] && [ -n "$desc" ] ||
		fail "EXPECTED: a line needs four tab-separated fields"
	INPUT="" FEED="" ARGS=""
	case $input in
	gen:*)
		name=${input#gen:}
		"gen_$name" || fail "generator gen_$name failed"
		;;
	*)
		name=$(echo "$input" | sed 's/\.[^.]*$//; s/[^A-Za-z0-9_]/_/g')
		INPUT=$BAD/$input
		[ -e "$INPUT" ] || fail "no file $INPUT"
		;;
	esac
	cp base.db c.db || fail "cp"
	t0=$(date +%s)
	# shellcheck disable=SC2086 # ARGS holds separate options
	if [ -n "$FEED" ]; then
		sh -c "$FEED" 2>/dev/null |
			timeout -k 5 "$LIMIT" "$BULKREG" -d c.db register - --format csv $ARGS >out 2>err
		RC=$?
	else
		timeout -k 5 "$LIMIT" "$BULKREG" -d c.db register "$INPUT" --format csv $ARGS \
			</dev/null >out 2>err
		RC=$?
	fi
	wait # a background writer (gen_fifo) is done by now
	took=$(($(date +%s) - t0))
	[ "$RC" -ne 124 ] && [ "$RC" -ne 137 ] ||
		fail "still running after $LIMIT s (hung?), killed: $(head -c 500 err)"
	[ "$RC" -lt 128 ] || fail "died by signal $((RC - 128)): $(head -c 500 err)"
	expect_rc "$status"
	# Expectations, separated by " && ".
	rest="$expect &&"
	report_checks=""
	while [ -n "$rest" ]; do
		one=${rest%%" &&"*}
		rest=${rest#*" &&"}
		one=${one#" "}
		case $one in
		err:*) expect_err "${one#err:}" ;;
		noerr:*) ! grep -qF -- "${one#noerr:}" err || fail "stderr has '${one#noerr:}': $(cat err)" ;;
		out:*) expect_out "${one#out:}" ;;
		row:* | rows:*) report_checks="$report_checks $one" ;;
		'') ;;
		*) fail "EXPECTED: unknown expectation '$one'" ;;
		esac
	done
	if [ -n "$report_checks" ]; then
		# shellcheck disable=SC2086 # one argument per expectation
		python3 bad.py report out $report_checks >py.out 2>&1 ||
			fail "report: $(cat py.out)
$(head -c 1500 out)"
	fi
	if [ "$status" -eq 2 ] || [ "$status" -eq 3 ]; then
		expect_empty out
		dump c.db c.state
		sql c.db "SELECT 'batches', count(*) FROM batches" >>c.state
		expect_same base.state c.state
	else
		[ "$(sql c.db "PRAGMA integrity_check")" = ok ] || fail "integrity_check"
	fi
	if command -v "check_$name" >/dev/null 2>&1; then
		"check_$name"
	fi
	echo "  ok: exit $RC in ${took}s"
	rm -rf gen/* c.db c.db-wal c.db-shm again.db* ./PWNED* seen.*
done
exec 3<&-
[ "$ncases" -ge 40 ] || fail "only $ncases cases in $TABLE"
echo "$ncases bad inputs checked in $(($(date +%s) - start)) s"
