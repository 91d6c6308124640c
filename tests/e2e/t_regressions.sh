# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_regressions: bugs found by this suite and fixed since -- each case pins
# the behaviour issue 3 asks for.  Every case runs on its own (in a
# subshell), so one failure does not hide the others; the file fails if any
# of them does.

bugs=""

# known_bug NAME FUNCTION: runs FUNCTION as case NAME in a subshell.
known_bug() {
	case_ "$1"
	if ! (set -u; "$2"); then
		bugs="$bugs
  - $1"
	fi
}

# A fresh database with courses for a case.
fresh() {
	rm -rf case.d
	mkdir case.d
	cd case.d || fail "cd case.d"
	run -d t.db course add C1 --capacity 10
	expect_rc 0
	run -d t.db course add FULL --capacity 1 --waitlist 0
	expect_rc 0
}

# ---- t_rerun ---------------------------------------------------------------------

# Contract: re-running a roster changes nothing, and "rejected rows keep
# their reasons (including duplicate_in_roster)".  bulkreg reports the
# second occurrence as already_registered on the second run, because it
# only calls a pair a duplicate if this batch inserted it.
rerun_keeps_duplicate() {
	fresh
	printf 'student_id,email,course\nA1,a1@uni.example,C1\nA1,a1@uni.example,C1\n' >r.csv
	run -d t.db register r.csv --format csv
	expect_rc 1
	expect_out "3,A1,C1,rejected,,duplicate_in_roster,"
	run -d t.db register r.csv --format csv
	expect_rc 1
	expect_out "2,A1,C1,already_registered,,,"
	expect_out "3,A1,C1,rejected,,duplicate_in_roster,"
}
known_bug "re-run: a duplicate_in_roster row stays duplicate_in_roster (t_rerun)" \
	rerun_keeps_duplicate

# The same cause: a student registered by an earlier batch, listed twice in
# a new roster, is already_registered twice; the second row repeats an
# earlier row of this file, so it is duplicate_in_roster.
duplicate_of_known_student() {
	fresh
	printf 'student_id,email,course\nA1,a1@uni.example,C1\n' >first.csv
	run -d t.db register first.csv --format csv
	expect_rc 0
	printf 'student_id,email,course\nA1,a1@uni.example,C1\nA1,a1@uni.example,C1\n' >second.csv
	run -d t.db register second.csv --format csv
	expect_rc 1
	expect_out "2,A1,C1,already_registered,,,"
	expect_out "3,A1,C1,rejected,,duplicate_in_roster,"
}
known_bug "a known student listed twice in a new roster: the second row is duplicate_in_roster (t_outcomes)" \
	duplicate_of_known_student

# Contract: re-running a roster "changes nothing but the batch history".
# When a student appears in two rows with different names, every re-run
# rewrites the student (to the first row's names, then the second's) and
# sets students.updated_batch to the new batch.
rerun_leaves_students_alone() {
	fresh
	printf 'student_id,first_name,email,course\nS1,Jon,s1@uni.example,C1\nS1,Jonathan,s1@uni.example,FULL\n' >r.csv
	run -d t.db register r.csv --format csv
	expect_rc 0
	dump t.db before.dump
	run -d t.db register r.csv --format csv
	expect_rc 0
	dump t.db after.dump
	expect_same before.dump after.dump
}
known_bug "re-run: a student listed with two spellings is not rewritten (updated_batch) (t_rerun)" \
	rerun_leaves_students_alone

# ---- t_exit_status ---------------------------------------------------------------

# Contract: a database newer than the binary is refused (exit 3, nothing
# written).  bulkreg switches it to WAL mode before reading user_version:
# the refused file's header changes (bytes 19-20, journal mode 1 -> 2).
newer_database_untouched() {
	fresh
	sqlite3 newer.db "PRAGMA user_version = 99; CREATE TABLE future (x);"
	cp newer.db newer.orig
	run -d newer.db register "$DATA/rosters/good.csv"
	expect_rc 3
	expect_same newer.orig newer.db
}
known_bug "a database newer than bulkreg is left byte-for-byte as it was (t_exit_status)" \
	newer_database_untouched

# ---- t_reports -------------------------------------------------------------------

# Contract: -o FILE is written to a temporary file beside FILE and renamed
# into place; exit 3 means nothing was written.  With FILE an existing
# directory, bulkreg commits the batch, then fails the rename (exit 3) and
# leaves its temporary report (.FILE.XXXXXX) behind.
output_to_directory() {
	fresh
	mkdir reports
	dump t.db before.dump
	printf 'student_id,email,course\nA1,a1@uni.example,C1\n' >r.csv
	run -d t.db register r.csv -o reports --format csv
	[ "$RC" -ne 0 ] || fail "exit 0 for -o DIRECTORY"
	dump t.db after.dump
	expect_same before.dump after.dump
	left=$(find . -name '.reports.*')
	[ -z "$left" ] || fail "temporary files left behind: $left"
}
known_bug "-o DIRECTORY: nothing committed, no temporary file left (t_reports)" \
	output_to_directory

# Contract: the csv report round-trips through a CSV parser.  A student_id
# or course that was not UTF-8 used to be copied raw into the csv report,
# so the report was not UTF-8.  Since issue 12 a roster that is not UTF-8
# is refused as a whole (exit 2, no report), so no such value gets there.
csv_report_is_utf8() {
	fresh
	printf 'student_id,email,course\nS\377x,a@uni.example,C1\nS2,b@uni.example,C\3771\nS3,c@uni.example,C1\n' >r.csv
	run -d t.db register r.csv --format csv
	expect_rc 2
	expect_empty out
	expect_err "r.csv: line 2, column 2: not valid UTF-8"
}
known_bug "csv report: a value that is not UTF-8 does not make the report unreadable (t_reports)" \
	csv_report_is_utf8

# Contract: json results carry the csv fields, "absent values are null".
# position, reason and detail are null when absent, but an absent
# student_id or course is "" -- an empty cell (missing_student_id,
# missing_course) and a field that a short row lacks altogether.
json_absent_values_null() {
	fresh
	printf 'student_id,email,course\n,a@uni.example,C1\nS2,b@uni.example,\nS3,c@uni.example\n' >r.csv
	run -d t.db register r.csv --format json
	expect_rc 1
	python3 -c '
import json, sys
res = json.load(open("out"))["results"]
got = [(r["line"], r["student_id"], r["course"]) for r in res]
want = [(2, None, "C1"), (3, "S2", None), (4, "S3", None)]
sys.exit(0 if got == want else "got %r, want %r" % (got, want))
' >problems 2>&1 || fail "$(cat problems)"
}
known_bug "json report: an absent student_id or course is null, not \"\" (t_reports)" \
	json_absent_values_null

# ---- t_listings ------------------------------------------------------------------

# Contract: "bulkreg batches [--format text|csv|json] -- history of runs:
# id, start and end time, source path and its SHA-256, label, row counts
# per outcome, and outcome".  The text listing (the default) has no end
# time and no SHA-256; csv and json have both.
batches_text_complete() {
	fresh
	printf 'student_id,email,course\nA1,a1@uni.example,C1\n' >r.csv
	run -d t.db register r.csv
	expect_rc 0
	sha=$(sha256sum r.csv | cut -d' ' -f1)
	finished=$(sql t.db "SELECT finished_at FROM batches")
	run -d t.db batches
	expect_rc 0
	grep -q "$sha" out || grep -q "$(echo "$sha" | cut -c1-12)" out ||
		fail "no SHA-256 in the text listing:
$(cat out)"
	expect_out "$finished"
}
known_bug "batches (text): shows the end time and the SHA-256 too (t_listings)" \
	batches_text_complete

# ---- the verdict -----------------------------------------------------------------

# shellcheck disable=SC2034 # read by fail in lib.sh
CASE="regressions"
[ -z "$bugs" ] || fail "these bugs are back:$bugs"
