# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, RC come from lib.sh and run
# t_cache: a batch answers its questions about pairs and students from
# memory and writes them at its end in key order (db_store.c).  The cache
# decides nothing: the same lifecycle -- a first run with repeats, full
# courses and waitlists, a re-run with changed names, drops, a sync that
# drops and promotes, a capacity change, an undo -- gives byte-identical
# reports, databases and history with the cache, without it, and with a
# budget so small that it is written out and started again every few rows.
# Needs bulkreg-test (the test hook BULKREG_TEST_CACHE_BUDGET).

TEST_BIN=${BULKREG}-test
if [ ! -x "$TEST_BIN" ]; then
	echo "skipped: no $TEST_BIN (make builds it)"
	echo "all cases passed"
	exit 0
fi

awk 'BEGIN {
	print "student_id,first_name,last_name,email,course"
	for (i = 1; i <= 3000; i++) {
		s = (i * 7919) % 1100
		c = (s * 3 + (i > 2000)) % 7
		id = sprintf("S%04d", s)
		k = i % 41
		if (k == 3)       printf "%s,F,L,no-at-sign,C%d\n", id, c
		else if (k == 11) printf "%s,F,L,%s@uni.example,NOPE\n", id, id
		else if (k == 17) printf "%s,F,L,,C%d\n", id, c
		else              printf "%s,F%d,L,%s@uni.example,C%d\n", id, s % 5, id, c
	}
}' >first.csv
# The same roster with other first names (a changed student per row) and
# every 9th row left out, plus new students.
awk -F, 'NR == 1 { print; next }
	NR % 9 == 0 { next }
	{ sub(/^F/, "G", $2); print $1 "," $2 "," $3 "," $4 "," $5 }
	END { for (i = 0; i < 150; i++) printf "N%04d,New,One,n%d@uni.example,C%d\n", i, i, i % 7 }' \
	first.csv >second.csv
awk -F, 'NR == 1 { print "student_id,course"; next } NR % 5 == 0 { print $1 "," $5 }' \
	first.csv >drops.csv

printf '%s\n' "code,title,capacity,waitlist" "C0,Closed,0,0" \
	"C1,Waitlist only,0," "C2,Tiny,3,2" "C3,Small,40,10" "C4,Medium,120," \
	"C5,No waitlist,60,0" "C6,Short waitlist,80,5" >courses.csv

# story MODE DB: the lifecycle; every report into MODE.*, the exit
# statuses into MODE.rc.
story() {
	_m=$1
	_d=$2
	: >"$_m.rc"
	step() {
		_name=$1
		shift
		"$TEST_BIN" -d "$_d" "$@" >"$_m.$_name" 2>"$_m.$_name.err"
		echo "$_name $?" >>"$_m.rc"
		# timings and batch ids aside, reports must be identical
		sed -e 's/"elapsed_seconds": [0-9.e+-]*/T/' \
			-e 's/"rows_per_second": [0-9.e+-]*/R/' \
			-e 's/in [0-9.]* s ([0-9,]* rows\/s/in T/' \
			"$_m.$_name" >"$_m.$_name.cmp"
	}
	step import course import courses.csv
	step first register first.csv --format csv
	step rerun register first.csv --format csv
	step second register second.csv --update-students always --format csv
	step fill register first.csv --update-students fill --format json
	step drops drop drops.csv --format csv
	step sync register second.csv --sync --max-drops 100% --format csv
	step raise course add C2 --capacity 30
	step again register first.csv --sync --max-drops 100% --format csv
	step undo undo "$(sql "$_d" "SELECT max(id) FROM batches")" --format csv
	step last register second.csv --format csv
	dump "$_d" "$_m.dump"
	sql "$_d" "SELECT batch_id, event, course_id, student_id, line,
		old_status, old_seq, old_batch, old_line, new_status, new_seq,
		old_first_name, old_last_name, old_email, new_first_name,
		new_last_name, new_email FROM history ORDER BY id" >"$_m.history"
	sql "$_d" "SELECT id, kind, outcome, rows, registered, waitlisted,
		already_registered, already_waitlisted, rejected, promoted,
		dropped, skipped, reasons FROM batches ORDER BY id" >"$_m.batches"
}

# Under ThreadSanitizer (`make tsan` sets E2E_SANITIZER=thread) the 4 KiB
# story, a restart every few rows and 2 MiB of fresh memory each, took 95
# of CI's seconds; it is one thread's bookkeeping, which `make check` and
# `make sanitize` run, so there the tiny story is the cached one again.
# modes: the stories compared with the one without the cache (plain).
modes="cached tiny"
case_ "the lifecycle with the cache, without it, and with a 4 KiB budget"
story cached "$(new_db cached)"
BULKREG_TEST_CACHE_BUDGET=0 story plain "$(new_db plain)"
if [ "${E2E_SANITIZER:-}" = thread ]; then
	echo "note: the 4 KiB story is left to make check and make sanitize"
	modes="cached"
else
	BULKREG_TEST_CACHE_BUDGET=4096 story tiny "$(new_db tiny)"
fi
for m in $modes; do
	expect_same plain.rc $m.rc
done

case_ "the story covers what the cache must get right"
grep -q "^first 1$" cached.rc || fail "first run: $(cat cached.rc)"
for s in registered waitlisted rejected; do
	grep -q ",$s," cached.first.cmp || fail "no $s row in the first run"
done
grep -q ",duplicate_in_roster," cached.first.cmp || fail "no duplicate in the first run"
grep -q ",course_full," cached.first.cmp || fail "no full course in the first run"
grep -q ",already_registered," cached.rerun.cmp || fail "no already_registered in the re-run"
grep -q ",already_waitlisted," cached.rerun.cmp || fail "no already_waitlisted in the re-run"
grep -q ",duplicate_in_roster," cached.rerun.cmp || fail "no repeat in the re-run"
grep -q "first_name: F" cached.second.cmp || fail "no student change in the second run"
grep -q ",dropped," cached.drops.cmp || fail "no drop"
grep -q ",promoted," cached.drops.cmp || fail "no promotion after a drop"
grep -q "not in the roster" cached.sync.cmp || fail "no sync drop"
grep -q ",promoted," cached.sync.cmp || fail "no promotion in the sync"

case_ "every report is identical"
for m in $modes; do
	for f in first rerun second fill drops sync raise again undo last; do
		expect_same plain.$f.cmp $m.$f.cmp
	done
done

case_ "the databases, the history and the batch records are identical"
for m in $modes; do
	for f in dump history batches; do
		expect_same plain.$f $m.$f
	done
done

case_ "verify passes on every database"
for m in plain $modes; do
	run -d "$(db_of $m)" verify
	expect_rc 0
done

# Courses of thousands of pairs and thousands of students: a re-run and a
# sync read them whole through scans on a thread of their own (db_store.c
# from 2,048 rows, scan.h); the same story, on a fresh set of files, with
# the cache and without it.  SQLite only: PostgreSQL reads on the
# collector's thread, as the story above does (and without the cache its
# 9,000-row runs are a round trip a row: half a minute).
big_story() {
case_ "large courses, read on a thread of their own, give the same"
awk 'BEGIN {
	print "student_id,first_name,last_name,email,course"
	for (i = 1; i <= 9000; i++) {
		s = (i * 7919) % 8000
		c = (i % 10 == 0) ? 2 + s % 3 : s % 2
		id = sprintf("S%05d", s)
		if (i % 97 == 0) printf "%s,F,L,,C%d\n", id, c
		else             printf "%s,F%d,L,%s@uni.example,C%d\n", id, s % 3, id, c
	}
}' >first.csv
awk -F, 'NR == 1 { print; next }
	NR % 13 == 0 { next }
	NR % 7 == 0 { sub(/^F/, "G", $2) }
	{ print $1 "," $2 "," $3 "," $4 "," $5 }
	END { for (i = 0; i < 300; i++) printf "N%04d,New,One,n%d@uni.example,C%d\n", i, i, i % 5 }' \
	first.csv >second.csv
awk -F, 'NR == 1 { print "student_id,course"; next } NR % 11 == 0 { print $1 "," $5 }' \
	first.csv >drops.csv
printf '%s\n' "code,title,capacity,waitlist" "C0,Big,2400,900" \
	"C1,Big too,2800," "C2,Tiny,3,2" "C3,Small,40,10" "C4,Medium,120," >courses.csv
story bigc "$(new_db bigc)"
BULKREG_TEST_CACHE_BUDGET=0 story bigp "$(new_db bigp)"
expect_same bigp.rc bigc.rc
for f in first rerun second fill drops sync raise again undo last; do
	expect_same bigp.$f.cmp bigc.$f.cmp
done
for f in dump history batches; do
	expect_same bigp.$f bigc.$f
done
# The first run leaves both big courses past 2,048 pairs (the re-run
# reads them on a thread), the students too.
for c in C0 C1; do
	[ "$(grep -c ",$c,\(registered\|waitlisted\)," bigc.first.cmp)" -ge 2048 ] ||
		fail "course $c is too small to be read on a thread"
done
grep -q ",promoted," bigc.sync.cmp || fail "no promotion in the big sync"
grep -q "first_name: F" bigc.second.cmp || fail "no student change in the big second run"
}
[ "$STORE" = pg ] || big_story
