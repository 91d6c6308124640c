# t_chan: the concurrency core under long stress (issue 10).
#
# The unit tests of the channel, the waitgroup and the task pool run short
# in `make check`; here the same programs run long, through their
# environment knobs: STRESS_MESSAGES (8 producers x 8 consumers, buffered,
# capacity 1, unbuffered and through select, every message checked by
# sequence and checksum) and RACE_ROUNDS (close racing producers and
# consumers at capacities 1 and 2 with select, try and deadlines mixed in;
# Go's reply-channel idiom with the channel freed right after the receive;
# pool_shutdown racing pool_submit; a waitgroup freed right after
# wg_wait).  A lost wakeup shows as a hang: each program has a deadline
# and is killed when it passes it.  The programs come from the unit-test
# build (TORTURE_UNIT_DIR, set by `make torture`); point it at
# build/tsan/tests or build/asan/tests to run this family under a
# sanitizer.
#
# TORTURE_CHAN_REPEAT (default 3) runs the whole set that many times.

UNIT=${TORTURE_UNIT_DIR:-$ROOT/build/tests}
REPEAT=${TORTURE_CHAN_REPEAT:-3}
MESSAGES=${TORTURE_CHAN_MESSAGES:-2000000}
ROUNDS=${TORTURE_CHAN_ROUNDS:-200000}
LIMIT=${TORTURE_CHAN_SECONDS:-900}

echo "unit runs of the concurrency tests"
for t in check_stress check_chan_races check_chan check_pool check_waitgroup; do
	[ -x "$UNIT/$t" ] || setup_fail "$UNIT/$t is missing (make torture builds it)"
done

# run_long NAME ENV... : one trial, the unit program NAME with ENV.
run_long() {
	_name=$1
	shift
	trial_start "$_name#$rep"
	_t0=$(now_ms)
	env CK_DEFAULT_TIMEOUT="$LIMIT" "$@" "$UNIT/$_name" >"$_name.$rep.log" 2>&1 &
	_pid=$!
	if ! wait_exit "$_pid" "$((LIMIT + 60))"; then
		fail_trial "hung for more than $((LIMIT + 60)) s (killed): a lost wakeup?"
	elif [ "$RC" -ne 0 ]; then
		fail_trial "exit $RC: $(grep -E ':[FE]:' "$_name.$rep.log" | head -5)"
	fi
	trial_end "($(( ($(now_ms) - _t0) / 1000 )) s)"
}

rep=1
while [ "$rep" -le "$REPEAT" ]; do
	run_long check_stress STRESS_MESSAGES="$MESSAGES"
	run_long check_chan_races RACE_ROUNDS="$ROUNDS"
	run_long check_pool RACE_ROUNDS="$ROUNDS"
	run_long check_waitgroup RACE_ROUNDS="$ROUNDS"
	run_long check_chan
	rep=$((rep + 1))
done
