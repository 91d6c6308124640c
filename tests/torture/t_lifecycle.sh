# t_lifecycle: signals and SIGKILL at random moments of drop, sync and undo
# runs on a database of about 100k registrations, and four processes at once
# mixing register, drop and --sync (issue 11).
#
# Interrupted runs.  One starting database (about 100k registrations in two
# batches: an orientation course that two students in three take, then the
# 100k-row generated roster) and three operations on it:
#   drop   a 20k-row drop file (pairs in scattered order, so seats and
#          waitlist places free all over and students are promoted; a few
#          rows name no pair, a few repeat a row);
#   sync   register --sync --max-drops 100% of a roster made from the
#          database's own pairs with every 100th left out and 1% new pairs;
#   undo   undo of the 100k-row batch (its pairs, and the students it
#          created: about 8k, deleted, while those of the orientation
#          batch stay).
# An uninterrupted run of each gives the expected after-state, and a second
# run on top of it the state a re-run after a whole batch must reach.  Each
# trial interrupts one run -- SIGINT or SIGTERM (85% of a run's time at
# most) or SIGKILL (over the whole run, or around its end, where the commit
# is) -- and then
# requires: integrity and the invariants (counters equal the registrations,
# waitlist positions 1..n in seq order, seat numbers unique and within
# seat_seq, no one waiting while a seat is free, waitlists within their
# maximum, no registration without its student or course, no batch left
# 'running'; and `bulkreg verify` exit 0 when the binary has it); the batch
# absent (the database byte for byte as before) or whole (the
# uninterrupted run's state: courses, students, registrations, history,
# course snapshots and the batch record); the exit status that goes with
# it; after a signal, a stop within 10 s (the slowest is noted), an
# 'interrupted' message and no -o report or temporary left; and a re-run of
# the same command ends exactly where an uninterrupted run (absent) or an
# uninterrupted run and a re-run (whole) do.
#
# Concurrent rounds.  Four processes block on a FIFO (opened, then read: a
# read returns only when the last writer closes it) and are released
# together by closing it; they mix register, drop and register --sync
# (--max-drops 100%) on one database of small courses with small
# waitlists, each with --wait long enough that they queue for the write
# lock.  Then: every run exits 0 or 1 and its batch is committed; no course
# over capacity; positions 1..n; every dropped or promoted report row has
# its history event in that batch and each batch's counts equal its
# history; every pair's last history event agrees with the registrations;
# and the outcome -- database (history included, times left out) and each
# report byte for byte -- equals the four runs one after another in the
# order in which they committed.

TRIALS=${TORTURE_LIFECYCLE_TRIALS:-10}
ROUNDS=${TORTURE_LIFECYCLE_ROUNDS:-4}

HAVE_VERIFY=""
"$BULKREG" verify --help >/dev/null 2>&1 && HAVE_VERIFY=yes

# ---- the database's state -----------------------------------------------------

# life_state DB OUT: courses, students, registrations, history, course
# snapshots and batches, ids included, without the times of day (a run
# that reaches the same state later differs only there).
life_state() {
	sqlite3 "$1" >"$2" 2>&1 <<'SQL'
.mode quote
SELECT 'course', id, code, title, capacity, waitlist_max, registered,
       waitlisted, seat_seq FROM courses ORDER BY id;
SELECT 'student', * FROM students ORDER BY student_id;
SELECT 'reg', * FROM registrations ORDER BY course_id, student_id;
SELECT 'history', * FROM history ORDER BY id;
SELECT 'snapshot', batch_id, course_id, title, capacity, waitlist_max,
       registered, waitlisted, seat_seq FROM batch_courses
       ORDER BY batch_id, course_id;
SELECT 'batch', id, source, sha256, label, outcome, rows, registered,
       waitlisted, already_registered, already_waitlisted, rejected,
       reasons, kind, options, promoted, dropped, skipped, undo_of,
       undone_by FROM batches ORDER BY id;
SQL
}
# dump DB OUT: everything, byte for byte, the times of day included.
dump() { sqlite3 "$1" .dump >"$2" 2>&1; }

# invariants DB: prints each broken invariant; fails when there is one.
invariants() {
	_iv=$(integrity "$1") || { echo "$_iv"; return 1; }
	_iv=$(sqlite3 "$1" 2>&1 <<'SQL'
SELECT 'counters differ', c.code, c.registered, c.waitlisted,
  (SELECT count(*) FROM registrations WHERE course_id = c.id AND status = 'registered'),
  (SELECT count(*) FROM registrations WHERE course_id = c.id AND status = 'waitlisted')
  FROM courses AS c
  WHERE c.registered <> (SELECT count(*) FROM registrations WHERE course_id = c.id AND status = 'registered')
     OR c.waitlisted <> (SELECT count(*) FROM registrations WHERE course_id = c.id AND status = 'waitlisted');
SELECT 'waitlist positions not 1..n', c.code, count(*), min(r.seq), max(r.seq), count(DISTINCT r.seq)
  FROM registrations AS r JOIN courses AS c ON c.id = r.course_id
  WHERE r.status = 'waitlisted' GROUP BY c.id
  HAVING min(r.seq) <> 1 OR max(r.seq) <> count(*) OR count(DISTINCT r.seq) <> count(*);
SELECT 'seat numbers repeat or pass seat_seq', c.code, count(*), count(DISTINCT r.seq), max(r.seq), c.seat_seq
  FROM registrations AS r JOIN courses AS c ON c.id = r.course_id
  WHERE r.status = 'registered' GROUP BY c.id
  HAVING count(DISTINCT r.seq) <> count(*) OR max(r.seq) > c.seat_seq OR min(r.seq) < 1;
SELECT 'waitlisted while a seat is free', c.code, c.capacity,
  (SELECT count(*) FROM registrations WHERE course_id = c.id AND status = 'registered')
  FROM courses AS c
  WHERE (SELECT count(*) FROM registrations WHERE course_id = c.id AND status = 'registered') < c.capacity
    AND EXISTS (SELECT 1 FROM registrations WHERE course_id = c.id AND status = 'waitlisted');
SELECT 'waitlist over its maximum', c.code, c.waitlist_max, count(*)
  FROM registrations AS r JOIN courses AS c ON c.id = r.course_id
  WHERE r.status = 'waitlisted' AND c.waitlist_max IS NOT NULL
  GROUP BY c.id HAVING count(*) > c.waitlist_max;
SELECT 'a registration without its student', r.course_id, r.student_id
  FROM registrations AS r
  WHERE NOT EXISTS (SELECT 1 FROM students AS s WHERE s.student_id = r.student_id);
SELECT 'a registration without its course', r.course_id, r.student_id
  FROM registrations AS r
  WHERE NOT EXISTS (SELECT 1 FROM courses AS c WHERE c.id = r.course_id);
SELECT 'a registration of a batch not committed', r.course_id, r.student_id, r.batch_id
  FROM registrations AS r
  WHERE NOT EXISTS (SELECT 1 FROM batches AS b WHERE b.id = r.batch_id AND b.outcome = 'committed');
SELECT 'a batch left running', id, source FROM batches WHERE outcome = 'running';
PRAGMA foreign_key_check;
SQL
)
	if [ -n "$_iv" ]; then
		echo "$_iv" | head -5
		return 1
	fi
	if [ -n "$HAVE_VERIFY" ]; then
		_iv=$("$BULKREG" -d "$1" verify 2>&1) || {
			echo "bulkreg verify failed: $(echo "$_iv" | head -5)"
			return 1
		}
	fi
	return 0
}

# ---- the starting database ------------------------------------------------------

ROSTER=$DATA/roster100k.csv
# Courses sized for 120k rows: most rows find a seat, the popular courses
# have waitlists of hundreds to thousands, some none.
"$TOOLS/gen_roster" courses 120000 1 >courses.csv
# Orientation: two students in three of the roster, sorted by id.
awk -F, -v OFS=, 'NR > 1 && $1 ~ /^S[0-9]+$/ && !seen[$1]++ {
	n++; if (n % 3 != 0) print $1, $2, $3, $4, "ORIENT" }' "$ROSTER" |
	sort -t, -k1,1 >orient.body
{
	echo "student_id,first_name,last_name,email,course"
	cat orient.body
} >orient.csv
"$BULKREG" -q -d base.db init || setup_fail "init"
"$BULKREG" -q -d base.db course import courses.csv || setup_fail "course import"
"$BULKREG" -q -d base.db course add ORIENT --capacity 30000 --title Orientation ||
	setup_fail "course add"
"$BULKREG" -q -d base.db register orient.csv >/dev/null
[ $? -le 1 ] || setup_fail "the orientation batch"
"$BULKREG" -q -d base.db register "$ROSTER" >/dev/null
[ $? -le 1 ] || setup_fail "the 100k-row batch"
BIG=$(sqlite3 base.db "SELECT max(id) FROM batches")
why=$(invariants base.db) || setup_fail "the starting database: $why"
BASE_BATCHES=$(batch_count base.db)
dump base.db base.dump
life_state base.db base.state
REGS=$(sqlite3 base.db "SELECT count(*) FROM registrations")
WAITING=$(sqlite3 base.db "SELECT count(*) FROM registrations WHERE status = 'waitlisted'")
CREATED=$(sqlite3 base.db "SELECT count(*) FROM students WHERE created_batch = $BIG")

# The drop file: 20,000 rows -- 19,950 registered or waitlisted pairs in
# scattered order (by the last digits of the student id), 30 pairs that do
# not exist, 20 repeats.
sqlite3 -csv base.db "SELECT r.student_id, c.code FROM registrations AS r
	JOIN courses AS c ON c.id = r.course_id
	ORDER BY substr(r.student_id, 6), c.code LIMIT 19950" >drop.body
{
	echo "student_id,course"
	awk 'NR % 665 == 0 { printf "Z%07d,C%03d\n", NR, NR % 200 } { print }
		NR % 997 == 0 { print }' drop.body
} >drop.csv
# The sync roster: every pair of the database (names and email as stored),
# scattered, with every 100th left out and, as often, a new student in a
# course chosen by the row number.
sqlite3 -csv base.db "SELECT s.student_id, s.first_name, s.last_name, s.email, c.code
	FROM registrations AS r JOIN courses AS c ON c.id = r.course_id
	JOIN students AS s ON s.student_id = r.student_id
	ORDER BY substr(r.student_id, 4), c.code" |
	awk 'BEGIN { print "student_id,first_name,last_name,email,course" }
		NR % 100 != 37 { print }
		NR % 100 == 50 { n++; printf "N%07d,New,Student %d,n%d@example.edu,C%03d\n", n, n, n, (n * 37) % 200 }' >sync.csv
DROP_ROWS=$(($(wc -l <drop.csv) - 1))
SYNC_ROWS=$(($(wc -l <sync.csv) - 1))
note "lifecycle: starting database: $REGS registrations ($WAITING waitlisted) in $BASE_BATCHES batches; batch $BIG created $CREATED students; drop file $DROP_ROWS rows, sync roster $SYNC_ROWS rows"

# op_args OP: the command of an operation (without -d, --format, -o).
op_args() {
	case $1 in
	drop) echo "drop drop.csv" ;;
	sync) echo "register sync.csv --sync --max-drops 100%" ;;
	undo) echo "undo $BIG" ;;
	esac
}

# reference OP: an uninterrupted run and a re-run on top of it.
reference() {
	copy_db base.db "ref.$1.db"
	t0=$(now_ms)
	# shellcheck disable=SC2046 # op_args is a list of words
	"$BULKREG" -q -d "ref.$1.db" $(op_args "$1") --format csv >"ref.$1.csv" 2>"ref.$1.err"
	rc=$?
	eval "T_$1=$(($(now_ms) - t0)) REF_RC_$1=$rc"
	[ "$rc" -le 1 ] || setup_fail "reference $1: exit $rc: $(head -c 300 "ref.$1.err")"
	why=$(invariants "ref.$1.db") || setup_fail "reference $1: $why"
	[ "$(batch_count "ref.$1.db")" -eq $((BASE_BATCHES + 1)) ] ||
		setup_fail "reference $1: $(batch_count "ref.$1.db") batches"
	life_state "ref.$1.db" "ref.$1.state"
	cmp -s base.state "ref.$1.state" && setup_fail "reference $1 changed nothing"
	copy_db "ref.$1.db" "rerun.$1.db"
	# shellcheck disable=SC2046
	"$BULKREG" -q -d "rerun.$1.db" $(op_args "$1") --format csv >/dev/null 2>"rerun.$1.err"
	eval "RERUN_RC_$1=$?"
	why=$(invariants "rerun.$1.db") || setup_fail "reference re-run of $1: $why"
	life_state "rerun.$1.db" "rerun.$1.state"
	rm -f "rerun.$1.db"
}
for op in drop sync undo; do
	reference $op
done
# shellcheck disable=SC2154 # set by eval in reference
note "lifecycle: uninterrupted runs: drop $T_drop ms (exit $REF_RC_drop), sync $T_sync ms (exit $REF_RC_sync), undo $T_undo ms (exit $REF_RC_undo); seed $TORTURE_SEED"
note "lifecycle: uninterrupted: $(sqlite3 ref.drop.db "SELECT dropped || ' dropped, ' || promoted || ' promoted' FROM batches ORDER BY id DESC LIMIT 1") by the drop; $(sqlite3 ref.sync.db "SELECT dropped || ' dropped, ' || promoted || ' promoted, ' || (registered + waitlisted) || ' added' FROM batches ORDER BY id DESC LIMIT 1") by the sync; $(sqlite3 ref.undo.db "SELECT count(*) FROM history WHERE batch_id = (SELECT max(id) FROM batches)") history rows of the undo"

# ---- interrupted runs ---------------------------------------------------------------

# trial OP N: one interrupted run of OP.
trial() {
	op=$1
	# shellcheck disable=SC2154 # set by eval in reference
	eval "t_cur=\$T_$op ref_rc=\$REF_RC_$op rerun_rc=\$RERUN_RC_$op"
	t_cur=${t_cur:?} ref_rc=${ref_rc:?} rerun_rc=${rerun_rc:?}
	# Half the trials signal (INT or TERM), half SIGKILL.
	case $(($2 % 4)) in
	0) sig=INT signo=2 ;;
	1) sig=KILL signo=9 ;;
	2) sig=TERM signo=15 ;;
	*) sig=KILL signo=9 ;;
	esac
	rand 2
	if [ "$R" -eq 0 ]; then out=o; else out=stdout; fi
	wargs=""
	if [ "$op" != undo ]; then
		rand 3
		case $R in 0) wargs="--workers 1" ;; 1) wargs="--workers 4" ;; esac
	fi
	trial_start "lifecycle-$op-$2-$sig-$out${wargs:+-w$(echo "$wargs" | cut -c11-)}"
	copy_db base.db t.db
	rm -f rep.csv .rep.csv.?????? out err
	oargs=""
	[ "$out" = stdout ] || oargs="-o rep.csv"
	# shellcheck disable=SC2046,SC2086 # lists of words
	"$BULKREG" -d t.db $(op_args "$op") $wargs --format csv $oargs >out 2>err &
	pid=$!
	# A signal within 85% of a run (so that nearly all land inside it);
	# SIGKILL anywhere in every other kill, the commit and the close
	# included, and in the others around the end of a run (80-120%), where
	# the commit is.  t_cur follows the machine's load: a run that ends
	# before its signal shortens it, a kill aimed at the end that finds
	# nothing committed lengthens it.
	case $(($2 % 4)) in
	1) rand "$t_cur" ;;
	3) rand $((t_cur * 40 / 100 + 1)); R=$((R + t_cur * 80 / 100)) ;;
	*) rand $((t_cur * 85 / 100 + 1)) ;;
	esac
	delay=$R
	sleep_ms "$delay"
	t_sig=$(now_ms)
	kill -s "$sig" "$pid" 2>/dev/null
	wait_exit "$pid" 60 || fail_trial "still running 60 s after SIG$sig (killed)"
	latency=$(($(now_ms) - t_sig))
	killed_rc=$RC
	if [ "$killed_rc" -eq $((128 + signo)) ] && [ "$sig" != KILL ]; then
		eval "[ $latency -le \$stop_$op ] || stop_$op=$latency"
		[ "$latency" -le 10000 ] || fail_trial "took $latency ms to stop after SIG$sig"
	fi

	why=$(invariants t.db) || fail_trial "after SIG$sig: $why"
	life_state t.db t.state
	if cmp -s t.state base.state; then
		state=absent
		eval "absent_$op=\$((absent_$op + 1))"
		# A kill aimed at the end came too soon: runs are slower now.
		[ $(($2 % 4)) -ne 3 ] || t_cur=$((t_cur * 9 / 8))
		dump t.db t.dump
		why=$(same base.dump t.dump) || fail_trial "absent, but the database is not byte for byte as before: $why"
		if [ "$sig" = KILL ]; then
			[ "$killed_rc" -eq 137 ] || fail_trial "exit $killed_rc, yet nothing committed: $(head -c 300 err)"
		else
			[ "$killed_rc" -eq $((128 + signo)) ] ||
				fail_trial "exit $killed_rc, expected $((128 + signo)): $(head -c 300 err)"
			if [ -s err ] || [ "$delay" -ge 20 ]; then
				grep -q interrupted err || fail_trial "no 'interrupted' message: $(head -c 300 err)"
			fi
			[ "$out" = stdout ] || [ ! -e rep.csv ] || fail_trial "-o rep.csv was created"
			left=$(hidden_temps . rep.csv)
			[ -z "$left" ] || fail_trial "a temporary report was left: $left"
		fi
	elif cmp -s t.state "ref.$op.state"; then
		state=whole
		eval "whole_$op=\$((whole_$op + 1))"
		case $killed_rc in
		"$ref_rc") ;;
		137) [ "$sig" = KILL ] || fail_trial "exit 137 after SIG$sig" ;;
		*) fail_trial "whole, but exit $killed_rc (an uninterrupted run: $ref_rc): $(head -c 300 err)" ;;
		esac
		# Finished before its signal: the machine is faster now.
		[ "$killed_rc" -ne "$ref_rc" ] || t_cur=$((t_cur * 3 / 4))
		if [ "$killed_rc" -eq "$ref_rc" ] && [ "$out" = o ]; then
			cmp -s rep.csv "ref.$op.csv" || fail_trial "whole, but the report differs from an uninterrupted run's"
		fi
	else
		state=partial
		fail_trial "the database holds part of the batch: $(diff base.state t.state | head -4 | cut -c1-200)"
	fi
	eval "T_$op=$t_cur"

	# A re-run ends where an uninterrupted run does.
	# shellcheck disable=SC2046 # a list of words
	"$BULKREG" -q -d t.db $(op_args "$op") --format csv >/dev/null 2>rerun.err
	rc=$?
	why=$(invariants t.db) || fail_trial "after the re-run: $why"
	life_state t.db t.state
	case $state in
	absent)
		[ "$rc" -eq "$ref_rc" ] || fail_trial "re-run: exit $rc, expected $ref_rc: $(head -c 300 rerun.err)"
		why=$(same "ref.$op.state" t.state) || fail_trial "re-run differs from an uninterrupted run: $why"
		;;
	whole)
		[ "$rc" -eq "$rerun_rc" ] || fail_trial "re-run: exit $rc, expected $rerun_rc: $(head -c 300 rerun.err)"
		why=$(same "rerun.$op.state" t.state) || fail_trial "re-run differs from an uninterrupted run's re-run: $why"
		;;
	esac
	trial_end "(SIG$sig after $delay ms: $state, exit $killed_rc in $latency ms; re-run equal)"
}

for op in drop sync undo; do
	eval "absent_$op=0 whole_$op=0 stop_$op=0"
	i=0
	while [ "$i" -lt "$TRIALS" ]; do
		trial "$op" "$i"
		i=$((i + 1))
	done
	eval "a=\$absent_$op w=\$whole_$op l=\$stop_$op"
	# shellcheck disable=SC2154 # a, w and l are set by eval
	note "lifecycle: $op: $a interrupted runs left the batch absent, $w whole; the slowest stop after SIGINT/SIGTERM took $l ms"
done

# ---- four processes at once ------------------------------------------------------------

# conc_rosters SEED K3: the starting roster and the four runs' files, from
# awk's seeded generator: 24 courses of 3..12 seats with waitlists of 0..5
# (one without a limit), 300 students.  Run 0 registers 200 rows; run 1
# drops 120 pairs, most from the starting roster, some that only run 0 or
# run 3 adds (so what they find depends on who commits first), some that
# never exist; run 2 syncs the courses K00, K03, ... K21: about 70% of their
# starting pairs and 40 new ones; run 3 registers 200 rows, or (K3 = drop)
# drops like run 1.
conc_rosters() {
	awk -v seed="$1" -v k3="$2" 'BEGIN {
		srand(seed)
		print "code,title,capacity,waitlist" >"courses.csv"
		for (c = 0; c < 24; c++) {
			wl = int(rand() * 6)
			if (c == 5) wl = ""
			printf "K%02d,Course %d,%d,%s\n", c, c, 3 + int(rand() * 10), wl >"courses.csv"
		}
		h = "student_id,first_name,last_name,email,course"
		print h >"start.csv"
		for (i = 0; i < 300; i++) {
			s = int(rand() * 300); c = int(rand() * 24)
			row("start.csv", s, c)
			ns++; ss[ns] = s; sc[ns] = c
		}
		print h >"run0.csv"
		for (i = 0; i < 200; i++) {
			s = int(rand() * 300); c = int(rand() * 24)
			row("run0.csv", s, c)
			na++; as[na] = s; ac[na] = c
		}
		if (k3 == "drop") {
			drops("run3.csv")
		} else {
			print h >"run3.csv"
			for (i = 0; i < 200; i++) {
				s = int(rand() * 300); c = int(rand() * 24)
				row("run3.csv", s, c)
				na++; as[na] = s; ac[na] = c
			}
		}
		drops("run1.csv")
		print h >"run2.csv"
		for (i = 1; i <= ns; i++)
			if (sc[i] % 3 == 0 && rand() < 0.7) row("run2.csv", ss[i], sc[i])
		for (i = 0; i < 40; i++) row("run2.csv", int(rand() * 300), int(rand() * 8) * 3)
	}
	function row(f, s, c) {
		printf "S%03d,First %d,Last %d,s%d@example.edu,K%02d\n", s, s, s, s, c >f
	}
	function drops(f,   i, j, u) {
		print "student_id,course" >f
		for (i = 0; i < 120; i++) {
			u = rand()
			if (u < 0.65) {
				j = 1 + int(rand() * ns); printf "S%03d,K%02d\n", ss[j], sc[j] >f
			} else if (u < 0.9 && na > 0) {
				j = 1 + int(rand() * na); printf "S%03d,K%02d\n", as[j], ac[j] >f
			} else {
				printf "S%03d,K%02d\n", int(rand() * 300), int(rand() * 24) >f
			}
		}
	}'
}

# conc_args K: the command of run K (0 registers, 1 drops, 2 syncs, 3
# registers or, with K3=drop, drops).
conc_args() {
	case $1 in
	1) echo "drop run1.csv" ;;
	2) echo "register run2.csv --sync --max-drops 100%" ;;
	3) [ "$K3" = drop ] && echo "drop run3.csv" || echo "register run3.csv" ;;
	*) echo "register run$1.csv" ;;
	esac
}

# conc_check DB: the history agrees with the reports and the tables.
conc_check() {
	rm -f check.db
	for k in 0 1 2 3; do
		sqlite3 check.db ".import --csv rep$k.csv rep$k" || return 1
	done
	sqlite3 check.db <<SQL
ATTACH '$1' AS d;
CREATE TEMP TABLE reps AS
  SELECT 0 AS k, * FROM rep0 UNION ALL SELECT 1, * FROM rep1
  UNION ALL SELECT 2, * FROM rep2 UNION ALL SELECT 3, * FROM rep3;
CREATE TEMP TABLE kb AS SELECT CAST(substr(source, 4, 1) AS INTEGER) AS k,
  id AS batch FROM d.batches WHERE source LIKE 'run_.csv';
CREATE TEMP TABLE hist AS SELECT h.*, c.code FROM d.history AS h
  JOIN d.courses AS c ON c.id = h.course_id;
SELECT 'over capacity', c.code, c.capacity, count(*) FROM d.courses AS c
  JOIN d.registrations AS r ON r.course_id = c.id AND r.status = 'registered'
  GROUP BY c.id HAVING count(*) > c.capacity;
SELECT 'a run without its committed batch', k FROM (SELECT 0 AS k UNION ALL
  SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3)
  WHERE k NOT IN (SELECT kb.k FROM kb JOIN d.batches AS b ON b.id = kb.batch
                  WHERE b.outcome = 'committed');
SELECT 'a ' || p.status || ' row without its history event', p.k, p.line, p.student_id, p.course
  FROM reps AS p JOIN kb ON kb.k = p.k
  WHERE p.status IN ('dropped', 'promoted') AND NOT EXISTS (SELECT 1 FROM hist AS h
    WHERE h.batch_id = kb.batch AND h.event = p.status
    AND h.student_id = p.student_id AND h.code = p.course);
SELECT 'batch counts differ from its history', b.id, b.dropped, b.promoted,
  (SELECT count(*) FROM hist WHERE batch_id = b.id AND event = 'dropped'),
  (SELECT count(*) FROM hist WHERE batch_id = b.id AND event = 'promoted')
  FROM d.batches AS b
  WHERE b.dropped <> (SELECT count(*) FROM hist WHERE batch_id = b.id AND event = 'dropped')
     OR b.promoted <> (SELECT count(*) FROM hist WHERE batch_id = b.id AND event = 'promoted');
SELECT 'batch counts differ from its report', kb.k, b.dropped, b.promoted, b.registered, b.waitlisted
  FROM kb JOIN d.batches AS b ON b.id = kb.batch
  WHERE b.dropped <> (SELECT count(*) FROM reps WHERE k = kb.k AND status = 'dropped')
     OR b.promoted <> (SELECT count(*) FROM reps WHERE k = kb.k AND status = 'promoted')
     OR b.registered <> (SELECT count(*) FROM reps WHERE k = kb.k AND status = 'registered')
     OR b.waitlisted <> (SELECT count(*) FROM reps WHERE k = kb.k AND status = 'waitlisted');
SELECT 'an added pair neither stored nor later changed', p.k, p.line, p.student_id, p.course
  FROM reps AS p JOIN kb ON kb.k = p.k
  WHERE p.status IN ('registered', 'waitlisted')
  AND NOT EXISTS (SELECT 1 FROM d.registrations AS r JOIN d.courses AS c
    ON c.id = r.course_id WHERE c.code = p.course AND r.student_id = p.student_id
    AND r.batch_id = kb.batch)
  AND NOT EXISTS (SELECT 1 FROM hist AS h WHERE h.code = p.course
    AND h.student_id = p.student_id AND h.old_batch = kb.batch);
-- The last event of every pair agrees with the table: dropped last means
-- absent (unless a later batch added it again); anything else, present.
SELECT 'last event disagrees with the table', h.code, h.student_id, h.event, h.batch_id, r.status, r.batch_id
  FROM hist AS h
  LEFT JOIN d.registrations AS r ON r.course_id = h.course_id AND r.student_id = h.student_id
  WHERE h.id = (SELECT max(id) FROM hist AS l WHERE l.course_id = h.course_id
                AND l.student_id = h.student_id)
  AND CASE h.event
      WHEN 'dropped' THEN r.status IS NOT NULL AND r.batch_id <= h.batch_id
      WHEN 'promoted' THEN r.status IS NOT 'registered'
      ELSE r.status IS NULL END;
SQL
}

# conc_round N: four runs released together, then their serial replay.
conc_round() {
	seed=$((TORTURE_SEED % 100000 + $1 * 31 + 7))
	rand 3
	workers=$((R + 1))
	K3=register
	[ $(($1 % 2)) -eq 0 ] || K3=drop
	trial_start "lifecycle-concurrent-$1-seed-$seed-workers-$workers-run3-$K3"
	rm -f c.db c.db-wal c.db-shm ready.? started.? rep?.csv go.fifo
	conc_rosters "$seed" "$K3"
	"$BULKREG" -q -d c.db init || setup_fail "init"
	"$BULKREG" -q -d c.db course import courses.csv || setup_fail "course import"
	"$BULKREG" -q -d c.db register start.csv >/dev/null
	[ $? -le 1 ] || setup_fail "the starting roster"
	copy_db c.db c.start.db
	# The barrier: the FIFO held open for writing here only; each run
	# opens it, says so, and blocks in read until the last writer closes.
	mkfifo go.fifo
	exec 5<>go.fifo
	pids=""
	for k in 0 1 2 3; do
		# shellcheck disable=SC2016,SC2046 # expanded by the inner shell
		sh -c '{ touch "ready.$1"; read -r _; } <go.fifo
			date +%s%N >"started.$1"; shift 2; exec "$@"' \
			sh "$k" "$BULKREG" "$BULKREG" -q -d c.db $(conc_args $k) --wait 120 \
			--workers "$workers" --format csv -o "rep$k.csv" >"out$k" 2>"err$k" 5>&- &
		pids="$pids $!"
	done
	all_ready() { for _k in 0 1 2 3; do [ -e "ready.$_k" ] || return 1; done; }
	wait_for 20 all_ready || fail_trial "the four processes did not reach the barrier"
	t0=$(now_ms)
	exec 5>&-
	k=0
	for pid in $pids; do
		wait_exit "$pid" 180 || fail_trial "run $k did not finish within 180 s"
		[ "$RC" -le 1 ] || fail_trial "run $k: exit $RC: $(head -c 300 "err$k")"
		k=$((k + 1))
	done
	elapsed=$(($(now_ms) - t0))
	spread=$(cat started.? | sort -n | sed -n '1p;$p' | tr '\n' ' ' |
		awk '{ printf "%d", ($2 - $1) / 1000000 }')
	why=$(invariants c.db) || fail_trial "$why"
	problems=$(conc_check c.db 2>&1)
	[ -z "$problems" ] || fail_trial "$(echo "$problems" | head -5)"
	# The same four runs one after another, in the order they committed.
	order=$(sqlite3 c.db "SELECT substr(source, 4, 1) FROM batches
		WHERE source LIKE 'run_.csv' ORDER BY id" | tr '\n' ' ')
	copy_db c.start.db s.db
	for k in $order; do
		# shellcheck disable=SC2046 # a list of words
		"$BULKREG" -q -d s.db $(conc_args "$k") --format csv -o "serial$k.csv" 2>/dev/null
		cmp -s "rep$k.csv" "serial$k.csv" || fail_trial "run $k's report differs from the serial run's: $(diff "rep$k.csv" "serial$k.csv" | head -3 | tr '\n' ' ')"
	done
	life_state c.db c.state
	life_state s.db s.state
	why=$(same s.state c.state) || fail_trial "the database differs from the serial runs': $why"
	counts=$(sqlite3 c.db "SELECT sum(dropped) || ' dropped, ' || sum(promoted) || ' promoted, ' || (sum(registered) + sum(waitlisted)) || ' added'
		FROM batches WHERE source LIKE 'run_.csv'")
	trial_end "(4 runs started within $spread ms, done in $elapsed ms, committed in the order $order: $counts)"
}

r=0
while [ "$r" -lt "$ROUNDS" ]; do
	conc_round "$r"
	r=$((r + 1))
done
