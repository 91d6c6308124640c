# t_signals: SIGINT and SIGTERM at random moments of a 100k-row register.
#
# Each trial starts from the same database (courses plus an earlier batch),
# interrupts one run -- roster from a file, from standard input (a file, or
# a FIFO that stays open so bulkreg sits in read(2)), with --check, with -o
# (a new file or an existing one), sometimes with a second signal shortly
# after the first -- and then requires: exit status 128+signal, integrity
# ok, the database byte for byte as before (the batch history included),
# no -o file created or replaced and no hidden temporary left, and no
# process of a check's group alive.  A run that finishes before its signal
# lands (the delay is random) must instead have committed completely.

TRIALS=${TORTURE_SIGNAL_TRIALS:-26}
ROSTER=$DATA/roster100k.csv
ROWS=100000

# ---- the starting database ----
"$BULKREG" -q -d base.db init || setup_fail "init"
"$BULKREG" -q -d base.db course import "$DATA/courses100k.csv" || setup_fail "course import"
"$TOOLS/gen_roster" roster 20000 11 >earlier.csv
"$BULKREG" -q -d base.db register earlier.csv >/dev/null
[ $? -le 1 ] || setup_fail "the earlier batch"
full_state base.db base.full
BASE_BATCHES=$(batch_count base.db)

# How long an uninterrupted run takes, so the signals land inside it.
copy_db base.db ref.db
t0=$(now_ms)
"$BULKREG" -q -d ref.db register --format csv "$ROSTER" >/dev/null 2>ref.err
rc=$?
T_REF=$(($(now_ms) - t0))
[ "$rc" -eq 1 ] || setup_fail "reference run: exit $rc: $(cat ref.err)"
note "signals: an uninterrupted run takes $T_REF ms; seed $TORTURE_SEED"

# The check: records its pid; some checks are slow with a child of their
# own, some leave a background child behind when they exit -- bulkreg must
# kill their whole process group either way.
cat >check.sh <<'EOF'
#!/bin/sh
# BULKREG_*: the only variables a check sees (--check-env clean).
: "${BULKREG_TORTURE_PIDDIR:?not passed to the check}"
echo $$ >"$BULKREG_TORTURE_PIDDIR/$$"
case $BULKREG_LINE in
*77) sleep 1 & echo $! >"$BULKREG_TORTURE_PIDDIR/$!"; wait ;;
*3) sleep 30 & echo $! >"$BULKREG_TORTURE_PIDDIR/$!" ;;
esac
exit 0
EOF
chmod +x check.sh

# survivors MARK: processes descended from a bulkreg run (they inherit the
# run's unique BULKREG_TORTURE_MARK), so recycled pids are never mistaken for them.
survivors() {
	grep -l -a -s "BULKREG_TORTURE_MARK=$1" /proc/[0-9]*/environ 2>/dev/null |
		sed 's|/proc/\([0-9]*\)/environ|\1|' | tr '\n' ' '
}
no_survivors() { [ -z "$(survivors "$1")" ]; }

T_CUR=$T_REF
interrupted=0
finished=0
early=0
max_latency=0
variants="file-stdout file-o-new file-o-existing stdin-file stdin-fifo check-o-existing check-stdout check-stdin"
i=0
while [ "$i" -lt "$TRIALS" ]; do
	# shellcheck disable=SC2086 # the list is split on purpose
	set -- $variants
	shift $((i % $#))
	variant=$1
	rand 5
	case $R in
	0 | 1) sig=INT signo=2 ;;
	2 | 3) sig=TERM signo=15 ;;
	*) sig=HUP signo=1 ;;
	esac
	double=""
	rand 3
	[ "$R" -ne 0 ] || double=yes
	rand 3
	case $R in 0) fmt=text ;; 1) fmt=csv ;; *) fmt=json ;; esac
	trial_start "signals-$i-$variant-$sig${double:+-twice}-$fmt"
	i=$((i + 1))

	copy_db base.db t.db
	rm -rf pids out err in.fifo rep.out .rep.out.*
	mkdir pids
	mark="sig$$-$i-$(now_ms)"
	oargs=""
	case $variant in
	*o-new) oargs="-o rep.out" ;;
	*o-existing)
		oargs="-o rep.out"
		echo "an earlier report, to be kept" >rep.out
		cp rep.out rep.orig
		;;
	esac
	cargs=""
	case $variant in check-*) cargs="--check $PWD/check.sh" ;; esac
	# shellcheck disable=SC2086 # word splitting of the optional args
	case $variant in
	stdin-fifo)
		mkfifo in.fifo
		BULKREG_TORTURE_MARK=$mark "$BULKREG" -d t.db register --format "$fmt" - \
			<in.fifo >out 2>err &
		pid=$!
		exec 3>in.fifo
		# Part of the roster, or all of it, but the FIFO stays open:
		# bulkreg ends up waiting in read(2) for more.
		rand 4
		lines=$((ROWS * (R + 1) / 4 + 1))
		head -n "$lines" "$ROSTER" >&3 2>/dev/null &
		writer=$!
		;;
	*stdin*)
		BULKREG_TORTURE_MARK=$mark BULKREG_TORTURE_PIDDIR=$PWD/pids "$BULKREG" -d t.db \
			register --format "$fmt" $oargs $cargs - <"$ROSTER" >out 2>err &
		pid=$!
		;;
	*)
		BULKREG_TORTURE_MARK=$mark BULKREG_TORTURE_PIDDIR=$PWD/pids "$BULKREG" -d t.db \
			register --format "$fmt" $oargs $cargs "$ROSTER" >out 2>err &
		pid=$!
		;;
	esac
	# T_CUR: how long a run takes now (it shrinks when a run ends before
	# its signal: the machine got faster); 85% of it, so that nearly all
	# signals land inside the run.
	case $variant in
	check-*) rand 2000 ;;
	*) rand $((T_CUR * 85 / 100)) ;;
	esac
	delay=$R
	sleep_ms "$delay"
	t_sig=$(now_ms)
	kill -s "$sig" "$pid" 2>/dev/null
	if [ -n "$double" ]; then
		rand 60
		sleep_ms "$R"
		if [ "$sig" = TERM ]; then kill -s INT "$pid" 2>/dev/null; else kill -s TERM "$pid" 2>/dev/null; fi
	fi
	wait_exit "$pid" 30 || fail_trial "still running 30 s after the signal (killed)"
	latency=$(($(now_ms) - t_sig))
	if [ "$variant" = stdin-fifo ]; then
		exec 3>&-
		wait "$writer" 2>/dev/null
	fi
	[ "$latency" -le "$max_latency" ] || max_latency=$latency

	if [ "$RC" -eq $((128 + signo)) ]; then
		interrupted=$((interrupted + 1))
		why=$(integrity t.db) || fail_trial "$why"
		full_state t.db t.full
		why=$(same base.full t.full) || fail_trial "the database changed: $why"
		if [ ! -s err ] && [ ! -s out ] && [ "$delay" -lt 20 ]; then
			# Killed by the signal itself, before bulkreg had begun
			# to handle signals: nothing was done yet.
			early=$((early + 1))
		else
			grep -q "interrupted" err || fail_trial "no 'interrupted' message: $(head -c 300 err)"
		fi
		if [ -s out ] && ! grep -q "void" err; then
			fail_trial "a report reached standard output but the message does not void it: $(head -c 300 err)"
		fi
		[ "$latency" -le 10000 ] || fail_trial "took $latency ms to stop"
		case $variant in
		*o-new) [ ! -e rep.out ] || fail_trial "-o rep.out was created" ;;
		*o-existing) cmp -s rep.out rep.orig || fail_trial "-o rep.out was replaced" ;;
		esac
		left=$(hidden_temps . rep.out)
		[ -z "$left" ] || fail_trial "a temporary report was left: $left"
	elif [ "$RC" -eq 0 ] || [ "$RC" -eq 1 ]; then
		# The signal came after the commit (documented: the run finishes).
		finished=$((finished + 1))
		T_CUR=$((T_CUR * 3 / 4))
		why=$(integrity t.db) || fail_trial "$why"
		[ "$(batch_count t.db)" -eq $((BASE_BATCHES + 1)) ] ||
			fail_trial "finished (exit $RC) but $(batch_count t.db) batches"
		outcome=$(sqlite3 t.db 'SELECT outcome || rows FROM batches ORDER BY id DESC LIMIT 1')
		[ "$outcome" = "committed$ROWS" ] ||
			[ "$variant" = stdin-fifo ] || fail_trial "finished (exit $RC) with batch '$outcome'"
	else
		fail_trial "exit status $RC, expected $((128 + signo)): $(head -c 300 err)"
	fi
	case $variant in
	check-*)
		n=$(find pids -type f | wc -l)
		if ! wait_for 10 no_survivors "$mark"; then
			fail_trial "processes of the checks survived: $(survivors "$mark")"
			for p in $(survivors "$mark"); do kill -KILL "$p" 2>/dev/null; done
		fi
		trial_end "(after ${delay} ms: exit $RC in $latency ms; $n check processes, none left)"
		;;
	*) trial_end "(after ${delay} ms: exit $RC in $latency ms)" ;;
	esac
done
note "signals: $interrupted runs interrupted ($early of them before bulkreg handled signals), $finished finished before their signal; slowest stop $max_latency ms"
[ "$interrupted" -ge 20 ] || note "signals: WARNING: only $interrupted of $TRIALS runs were interrupted (20 wanted)"

# ---- a signal while waiting for another process's write lock ----
# (--wait 60: the run must not sit out the wait before it stops.)
rm -f lock.fifo sq.out
mkfifo lock.fifo
sqlite3 base.db <lock.fifo >sq.out 2>&1 &
sq=$!
exec 4>lock.fifo
echo "BEGIN IMMEDIATE; SELECT 'lock-is-held';" >&4
holds_lock() { grep -q lock-is-held sq.out; }
wait_for 20 holds_lock || setup_fail "sqlite3 never took the lock: $(cat sq.out)"
for sig in INT TERM HUP; do
	case $sig in INT) signo=2 ;; TERM) signo=15 ;; *) signo=1 ;; esac
	trial_start "signals-waiting-for-the-lock-$sig"
	"$BULKREG" -d base.db register --wait 60 "$ROSTER" >out 2>err &
	pid=$!
	rand 800
	sleep_ms $((R + 200))
	t_sig=$(now_ms)
	kill -s "$sig" "$pid"
	wait_exit "$pid" 70 || fail_trial "still running 70 s after the signal (killed)"
	latency=$(($(now_ms) - t_sig))
	[ "$RC" -eq $((128 + signo)) ] || fail_trial "exit $RC, expected $((128 + signo)): $(head -c 300 err)"
	[ "$latency" -le 2000 ] || fail_trial "took $latency ms to stop: it waited for the lock first"
	grep -q "interrupted" err || fail_trial "no 'interrupted' message: $(head -c 300 err)"
	trial_end "(exit $RC in $latency ms)"
done
echo "ROLLBACK;" >&4
exec 4>&-
wait_exit "$sq" 20 || setup_fail "sqlite3 did not end"
full_state base.db t.full
same base.full t.full >/dev/null || echo "trial FAIL signals-waiting-for-the-lock: the database changed"

# ---- a signal while the report is blocked on a reader that stopped reading
# (standard output, and -o onto a FIFO): the run must still stop at once,
# record nothing and exit 128+signal.  Waiting for that state polls
# /proc/PID/wchan for pipe_write.
writing_report() { grep -q pipe_write "/proc/$1/wchan" 2>/dev/null; }
for where in stdout o-fifo; do
	trial_start "signals-report-blocked-$where"
	copy_db base.db t.db
	rm -f rep.fifo
	mkfifo rep.fifo
	# A reader that opens the FIFO and never reads (until killed).
	{ sleep 600; } <rep.fifo &
	reader=$!
	if [ "$where" = stdout ]; then
		"$BULKREG" -d t.db register --format json "$ROSTER" >rep.fifo 2>err &
	else
		"$BULKREG" -d t.db register --format json -o rep.fifo "$ROSTER" >out 2>err &
	fi
	pid=$!
	stuck=""
	latency=0
	exited() { ! is_running "$1"; }
	if wait_for 60 writing_report "$pid"; then
		t_sig=$(now_ms)
		kill -s INT "$pid"
		wait_for 5 exited "$pid" || stuck=yes
		latency=$(($(now_ms) - t_sig))
	else
		fail_trial "never blocked writing the report: $(head -c 300 err)"
	fi
	# The reader goes away: a run still writing gets EPIPE.
	kill -KILL "$reader" 2>/dev/null
	wait "$reader" 2>/dev/null
	wait_exit "$pid" 30 || fail_trial "still running 30 s after its reader went away"
	full_state t.db t.full
	[ "$RC" -eq 130 ] || fail_trial "exit $RC, expected 130: $(head -c 300 err)"
	why=$(same base.full t.full) || fail_trial "the database changed: $why"
	# (Before report_set_cancel, report_write retried an interrupted
	# write forever: only the reader going away ended the run.)
	[ -z "$stuck" ] || fail_trial "SIGINT did not stop a run blocked writing its report (still running 5 s later; it ended when the reader went away, exit $RC)"
	trial_end "(exit $RC in $latency ms)"
done
