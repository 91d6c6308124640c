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

# On SQLite a part past the budget is spilled as a sorted run into a
# temporary file, and the runs go into the tables once (db_store.c,
# runset.h): the 4 KiB story merges them every 32 restarts; `every` starts
# a part every 97 entries within a budget that still reads courses and
# students whole (after a restart, the runs go into the tables first).
#
# Under ThreadSanitizer (`make tsan` sets E2E_SANITIZER=thread) the 4 KiB
# story, a restart every few rows and 2 MiB of fresh memory each, took 95
# of CI's seconds; it is one thread's bookkeeping, which `make check` and
# `make sanitize` run, so there the tiny story is the cached one again.
# modes: the stories compared with the one without the cache (plain).
modes="cached tiny every"
case_ "the lifecycle with the cache, without it, with a 4 KiB budget, and in parts of 97 entries"
story cached "$(new_db cached)"
BULKREG_TEST_CACHE_BUDGET=0 story plain "$(new_db plain)"
BULKREG_TEST_RESTART_EVERY=97 story every "$(new_db every)"
if [ "${E2E_SANITIZER:-}" = thread ]; then
	echo "note: the 4 KiB story is left to make check and make sanitize"
	modes="cached every"
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
# and in parts of 1,500 entries: big courses read whole under the runs
BULKREG_TEST_RESTART_EVERY=1500 story bige "$(new_db bige)"
for m in bigc bige; do
	expect_same bigp.rc $m.rc
	for f in first rerun second fill drops sync raise again undo last; do
		expect_same bigp.$f.cmp $m.$f.cmp
	done
	for f in dump history batches; do
		expect_same bigp.$f $m.$f
	done
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

# A roster on standard input (its rows not known ahead) over a database of
# 6,000 students: the courses and the students are read whole only once
# enough look-ups missed -- some after parts of the batch were spilled as
# runs, which then go into the tables first (new pairs, drops, changed
# names).  The same batches without the cache give the same reports and
# databases.
runs_story() {
	_m=$1
	_d=$2
	: >"$_m.rc"
	rstep() {
		_name=$1
		_in=$2
		shift 2
		"$TEST_BIN" -d "$_d" "$@" <"$_in" >"$_m.$_name" 2>"$_m.$_name.err"
		echo "$_name $?" >>"$_m.rc"
		sed -e 's/"elapsed_seconds": [0-9.e+-]*/T/' \
			-e 's/"rows_per_second": [0-9.e+-]*/R/' \
			"$_m.$_name" >"$_m.$_name.cmp"
	}
	rstep import courses.csv course import -
	rstep base base.csv register - --format csv
	rstep next next.csv register - --update-students always --format csv
	rstep drops drops.csv drop - --format csv
	rstep again next.csv register - --format csv
	dump "$_d" "$_m.dump"
	sql "$_d" "SELECT batch_id, event, course_id, student_id, line,
		old_status, old_seq, new_status, new_seq, old_first_name,
		new_first_name FROM history ORDER BY id" >"$_m.history"
}
stdin_story() {
case_ "reads of whole courses and students after spilled parts"
printf '%s\n' "code,title,capacity,waitlist" "X,X,100000," "Y,Y,100000," \
	"Z,Z,40,20" >courses.csv
awk 'BEGIN {
	print "student_id,first_name,last_name,email,course"
	for (i = 0; i < 6000; i++)
		printf "S%05d,F,L,s%d@uni.example,%s\n", i, i, i < 3000 ? "X" : "Y"
}' >base.csv
# New students into the small Z (seats, then a waitlist, then full),
# stored students with new names, stored students into Z, and repeats
# of rows far back (a part long written).
awk 'BEGIN {
	print "student_id,first_name,last_name,email,course"
	for (i = 0; i < 5000; i++) {
		if (i % 10 == 9) { j = i - 1500 > 0 ? i - 1500 : 0 } else j = i
		s = (j * 7) % 6000
		if (j % 3 == 0)      printf "N%05d,New,L,n%d@uni.example,Z\n", j, j
		else if (j % 3 == 1) printf "S%05d,G%d,L,s%d@uni.example,%s\n", s, j % 4, s, s < 3000 ? "X" : "Y"
		else                 printf "S%05d,F,L,s%d@uni.example,Z\n", s, s
	}
}' >next.csv
awk -F, 'NR == 1 { print "student_id,course"; next } NR % 4 == 0 { print $1 "," $5 }' \
	next.csv >drops.csv
BULKREG_TEST_CACHE_BUDGET=0 runs_story stdp "$(new_db stdp)"
BULKREG_TEST_RESTART_EVERY=400 runs_story stde "$(new_db stde)"
expect_same stdp.rc stde.rc
for f in base next drops again; do
	expect_same stdp.$f.cmp stde.$f.cmp
done
for f in dump history; do
	expect_same stdp.$f stde.$f
done
grep -q ",dropped," stde.drops.cmp || fail "no drop"
grep -q ",promoted," stde.drops.cmp || fail "no promotion"
grep -q "first_name: F" stde.next.cmp || fail "no changed name"
grep -q ",duplicate_in_roster," stde.next.cmp || fail "no repeat"

case_ "a part that reads the students and a course whole after a spilled one"
# Part one: 2,800 new students in three new courses, 100 of them in X
# too (new pairs of X in the run; too few misses to read X whole).  Part
# two: 4,200 stored students with new names, half of them in X and Y,
# which are read whole after the run of part one.
printf '%s\n' "code,title,capacity,waitlist" "A,A,100000," "B,B,100000," \
	"C,C,100000," >more-courses.csv
awk 'BEGIN {
	print "student_id,first_name,last_name,email,course"
	for (i = 0; i < 2800; i++) {
		printf "P%05d,F,L,p%d@uni.example,A\n", i, i
		printf "P%05d,F,L,p%d@uni.example,B\n", i, i
		printf "P%05d,F,L,p%d@uni.example,C\n", i, i
		if (i < 100) printf "P%05d,F,L,p%d@uni.example,X\n", i, i
	}
	for (i = 0; i < 4200; i++) {
		s = i % 2 ? i / 2 : 3000 + i / 2
		printf "S%05d,H,L,s%d@uni.example,%s\n", s, s, s < 3000 ? "X" : "Y"
	}
	for (i = 0; i < 50; i++)
		printf "P%05d,G,L,p%d@uni.example,X\n", i, i
}' >parts.csv
for m in stdp stde; do
	_d=$(db_of $m)
	"$TEST_BIN" -d "$_d" course import more-courses.csv >/dev/null 2>&1 ||
		fail "$m: course import"
done
for m in stdp stde; do
	case $m in
	stdp) export BULKREG_TEST_CACHE_BUDGET=0 ;;
	stde) export BULKREG_TEST_RESTART_EVERY=11300 ;;
	esac
	"$TEST_BIN" -d "$(db_of $m)" register - --update-students always \
		--format csv <parts.csv >$m.parts 2>$m.parts.err
	echo "parts $?" >>$m.rc
	"$TEST_BIN" -d "$(db_of $m)" register - --format csv <parts.csv \
		>$m.parts2 2>$m.parts2.err
	echo "parts2 $?" >>$m.rc
	unset BULKREG_TEST_CACHE_BUDGET BULKREG_TEST_RESTART_EVERY
	dump "$(db_of $m)" "$m.dump2"
done
expect_same stdp.rc stde.rc
for f in parts parts2 dump2; do
	expect_same stdp.$f stde.$f
done
grep -q "first_name: S" stde.parts && fail "a name from nowhere"
grep -q ",registered," stde.parts || fail "nothing registered"
}
[ "$STORE" = pg ] || stdin_story

# The runs' temporary file cannot be made: the batch fails whole, saying
# where, and the database is as it was.
spill_failure() {
case_ "no temporary directory for the runs: exit 3, nothing written"
_d=$(new_db nospill)
"$TEST_BIN" -d "$_d" course import courses.csv >/dev/null 2>&1 || fail "import"
dump "$_d" nospill.before
RC=0
TMPDIR=/nonexistent-bulkreg-tmp BULKREG_TEST_RESTART_EVERY=200 \
	"$TEST_BIN" -d "$_d" register base.csv -o nospill.csv >out 2>err || RC=$?
expect_rc 3
expect_err "/nonexistent-bulkreg-tmp: cannot create the temporary file of the batch's writes"
dump "$_d" nospill.after
expect_same nospill.before nospill.after
}
[ "$STORE" = pg ] || spill_failure

# Review 26, A1: stored students renamed in a spilled part, then 4,096
# look-ups that miss in a later part of a piped roster (its rows not known
# ahead): the students are read whole -- after the runs went into the
# table, or the renamed ones were read with their old names (the last
# rows' change back was then lost, with its history).
renamed_then_read() {
case_ "students renamed in a spilled part, then read whole"
printf '%s\n' "code,title,capacity,waitlist" "X,X,100000," "A,A,100000," \
	"B,B,100000," "C,C,100000," "D,D,100000," "E,E,100000," >ren-courses.csv
awk 'BEGIN { print "student_id,first_name,last_name,email,course"
	for (i = 0; i < 6000; i++) printf "S%05d,F,L,s%d@uni.example,X\n", i, i }' >ren-base.csv
awk 'BEGIN { print "student_id,first_name,last_name,email,course"
	for (i = 0; i < 1700; i++)
		for (c = 0; c < 4; c++)
			printf "S%05d,G,L,s%d@uni.example,%s\n", i, i, substr("ABCD", c + 1, 1)
	for (i = 1700; i < 5900; i++) printf "S%05d,F,L,s%d@uni.example,E\n", i, i
	for (i = 0; i < 500; i++) printf "S%05d,F,L,s%d@uni.example,E\n", i, i }' >ren-next.csv
for m in renp rene; do
	_d=$(new_db $m)
	case $m in
	renp) export BULKREG_TEST_CACHE_BUDGET=0 ;;
	rene) export BULKREG_TEST_RESTART_EVERY=8500 ;;
	esac
	"$TEST_BIN" -d "$_d" course import ren-courses.csv >/dev/null 2>&1 &&
		"$TEST_BIN" -q -d "$_d" register ren-base.csv >/dev/null 2>&1 ||
		fail "$m: setup"
	cat ren-next.csv | "$TEST_BIN" -d "$_d" register - --update-students always \
		--format csv >$m.out 2>$m.err
	echo "$?" >$m.rc
	unset BULKREG_TEST_CACHE_BUDGET BULKREG_TEST_RESTART_EVERY
	dump "$_d" "$m.dump"
	sql "$_d" "SELECT event, student_id, old_first_name, new_first_name
		FROM history ORDER BY id" >$m.history
done
expect_same renp.rc rene.rc
for f in out dump history; do
	expect_same renp.$f rene.$f
done
[ "$(grep -c "first_name: G" rene.out)" -eq 500 ] || fail "the 500 names changed back are not reported"
}
[ "$STORE" = pg ] || renamed_then_read
