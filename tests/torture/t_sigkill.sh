# t_sigkill: SIGKILL at random moments of a 200k-row register.
#
# An uninterrupted reference run on a copy of the starting database gives
# the state a whole batch leaves.  Each trial kills one run (report on
# standard output or with -o, various worker counts) after a random delay
# spread over the whole run, and then requires:
# integrity ok; the database holds either none of the batch (exactly the
# starting state, history included) or all of it (exactly the reference
# state, and one committed batch with the reference counts); and running
# the roster again ends in exactly the reference state.  States are
# compared without batch ids and times (see logical_state).

TRIALS=${TORTURE_SIGKILL_TRIALS:-20}
ROSTER=$DATA/roster200k.csv

"$BULKREG" -q -d base.db init || setup_fail "init"
"$BULKREG" -q -d base.db course import "$DATA/courses200k.csv" || setup_fail "course import"
"$TOOLS/gen_roster" roster 30000 12 >earlier.csv
"$BULKREG" -q -d base.db register earlier.csv >/dev/null
[ $? -le 1 ] || setup_fail "the earlier batch"
logical_state base.db base.logical
full_state base.db base.full
BASE_BATCHES=$(batch_count base.db)

copy_db base.db ref.db
t0=$(now_ms)
"$BULKREG" -q -d ref.db register --format csv "$ROSTER" >/dev/null 2>ref.err
rc=$?
T_REF=$(($(now_ms) - t0))
[ "$rc" -eq 1 ] || setup_fail "reference run: exit $rc: $(cat ref.err)"
logical_state ref.db ref.logical
cmp -s base.logical ref.logical && setup_fail "the reference run changed nothing"
COUNTS_SQL="SELECT outcome, rows, registered, waitlisted, already_registered,
 already_waitlisted, rejected, reasons FROM batches ORDER BY id DESC LIMIT 1"
REF_COUNTS=$(sqlite3 ref.db "$COUNTS_SQL")
# After a whole batch, the re-run is a second run: rows whose outcome
# depends on what the first one stored (a row without an email for a
# student an earlier line of the roster had not created yet) are decided
# again, so it must end where an uninterrupted run and a re-run do.
copy_db ref.db ref2.db
"$BULKREG" -q -d ref2.db register --format csv "$ROSTER" >/dev/null 2>ref2.err
[ $? -le 1 ] || setup_fail "reference re-run: $(cat ref2.err)"
logical_state ref2.db ref2.logical
note "sigkill: an uninterrupted run takes $T_REF ms; seed $TORTURE_SEED"

T_CUR=$T_REF
none=0
whole=0
leftover=0
i=0
while [ "$i" -lt "$TRIALS" ]; do
	rand 4
	case $R in
	0) variant=stdout-csv; args="--format csv" ;;
	1) variant=o-json; args="--format json -o rep.json" ;;
	2) variant=workers1; args="--workers 1 --format csv" ;;
	*) variant=workers4-text; args="--workers 4" ;;
	esac
	trial_start "sigkill-$i-$variant"
	i=$((i + 1))
	copy_db base.db t.db
	rm -f rep.json .rep.json.??????
	# shellcheck disable=SC2086 # args is a list of words
	"$BULKREG" -d t.db register $args "$ROSTER" >out 2>err &
	pid=$!
	# Over the whole run: the last part is the commit and the checkpoint
	# when the database is closed.  T_CUR is the latest full run's time,
	# so the spread follows the machine's load.
	rand "$T_CUR"
	delay=$R
	sleep_ms "$delay"
	kill -KILL "$pid" 2>/dev/null
	wait_exit "$pid" 30 || fail_trial "still running 30 s after SIGKILL"
	killed_rc=$RC

	why=$(integrity t.db) || fail_trial "after the kill: $why"
	logical_state t.db t.logical
	if cmp -s t.logical base.logical; then
		state=none
		none=$((none + 1))
		full_state t.db t.full
		why=$(same base.full t.full) || fail_trial "none of the batch, but the history changed: $why"
		[ "$killed_rc" -eq 137 ] || fail_trial "exit $killed_rc, yet nothing committed: $(head -c 300 err)"
	elif cmp -s t.logical ref.logical; then
		state=whole
		whole=$((whole + 1))
		[ "$(batch_count t.db)" -eq $((BASE_BATCHES + 1)) ] ||
			fail_trial "the whole batch, but $(batch_count t.db) batches"
		got=$(sqlite3 t.db "$COUNTS_SQL")
		[ "$got" = "$REF_COUNTS" ] || fail_trial "batch record '$got', expected '$REF_COUNTS'"
	else
		state=partial
		fail_trial "the database holds part of the batch: $(diff base.logical t.logical | head -3 | cut -c1-200)"
	fi
	case $killed_rc in
	137) ;;
	0 | 1) [ "$state" = whole ] || fail_trial "exit $killed_rc but the batch is not there" ;;
	*) fail_trial "exit status $killed_rc: $(head -c 300 err)" ;;
	esac
	temps=$(hidden_temps . rep.json)
	[ -z "$temps" ] || leftover=$((leftover + 1))

	# Running the roster again ends where an uninterrupted run does.
	t0=$(now_ms)
	"$BULKREG" -q -d t.db register --format csv "$ROSTER" >/dev/null 2>rerun.err
	rc=$?
	[ "$state" != none ] || T_CUR=$(($(now_ms) - t0))
	[ "$rc" -eq 1 ] || fail_trial "re-run: exit $rc: $(head -c 300 rerun.err)"
	why=$(integrity t.db) || fail_trial "after the re-run: $why"
	logical_state t.db t.logical
	want=ref.logical
	[ "$state" != whole ] || want=ref2.logical
	why=$(same $want t.logical) || fail_trial "re-run state differs from an uninterrupted run: $why"
	trial_end "(killed after $delay ms: $state, exit $killed_rc; re-run equal)"
done
note "sigkill: $none kills left none of the batch, $whole the whole batch; $leftover -o runs left a hidden temporary report (expected: SIGKILL allows no clean-up)"
[ "$none" -gt 0 ] || note "sigkill: no kill landed before the commit"

# Not a trial -- what SIGKILL leaves of running checks: they are in process
# groups of their own, and nothing kills them once bulkreg is gone.
cat >slow_check.sh <<'EOF2'
#!/bin/sh
sleep 30
EOF2
chmod +x slow_check.sh
copy_db base.db t.db
mark="sigkill$$-$(now_ms)"
BULKREG_TORTURE_MARK=$mark "$BULKREG" -q -d t.db register --workers 8 \
	--check "$PWD/slow_check.sh" "$DATA/roster100k.csv" >/dev/null 2>&1 &
pid=$!
marked() { grep -l -a -s "BULKREG_TORTURE_MARK=$mark" /proc/[0-9]*/environ 2>/dev/null | sed 's|/proc/\([0-9]*\)/environ|\1|'; }
eight_checks() { [ "$(marked | wc -l)" -ge 17 ]; }
if wait_for 20 eight_checks; then
	kill -KILL "$pid"
	wait_exit "$pid" 10
	orphans=$(marked | wc -l)
	note "sigkill: after SIGKILL, $orphans processes of 8 running checks outlived bulkreg (their own process groups; no parent-death signal), until their own end"
	for p in $(marked); do kill -KILL "$p" 2>/dev/null; done
else
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for p in $(marked); do kill -KILL "$p" 2>/dev/null; done
fi
