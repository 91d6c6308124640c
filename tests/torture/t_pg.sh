# t_pg: the PostgreSQL store under faults and concurrency (issue 15), on the
# throw-away server of tests/pg/cluster (`make torture` runs this family
# inside `tests/pg/cluster run-or-skip`).
#
# - sigkill: SIGKILL of the client at a random moment of a register;
# - restart: `pg_ctl restart -m fast` of the server at a random moment after
#   the client's transaction began (polled in pg_stat_activity);
# each trial starts from a copy of one base database (CREATE DATABASE ...
# TEMPLATE) and requires, once the server holds no session of it: the
# database holds none of the batch (the base state) or all of it (the state
# an uninterrupted run leaves, with its counts); a run that exited 0 or 1
# committed (the report never claims a commit that did not happen); a run
# that failed said why on one line; `bulkreg verify` is clean; running the
# roster again ends where an uninterrupted run (and its re-run) ends.
# - concurrent: rounds of four registers at once on one course set with
#   overlapping rosters (the t_concurrent checks: capacities, counters,
#   seats 1..n, every registration from exactly one report row, batch counts
#   equal the reports, batches on the same courses serialised), and one
#   round with one of them killed; a run the server chose as a deadlock's
#   victim runs again by itself (its roster is a file); one that still
#   ended so (exit 3, nothing written, "run it again": --wait passed) is
#   run again here, as its message says, and counted;
# - disjoint: two batches on disjoint course sets, each alone and both at
#   once: printed (the overlap in time, the wall time), not asserted.
# States are read through tests/pg/pg2sqlite, so the checks are the SQLite
# families' own.
#
# TORTURE_PG_ROWS (default 5000: CI's budget), TORTURE_PG_SIGKILL_TRIALS,
# TORTURE_PG_RESTART_TRIALS (default 20 each), TORTURE_PG_ROUNDS (default 2).

ROWS=${TORTURE_PG_ROWS:-5000}
KILLS=${TORTURE_PG_SIGKILL_TRIALS:-20}
RESTARTS=${TORTURE_PG_RESTART_TRIALS:-20}
ROUNDS=${TORTURE_PG_ROUNDS:-2}
CLUSTER=$ROOT/tests/pg/cluster
PG2SQLITE=$ROOT/tests/pg/pg2sqlite

[ -n "${BULKREG_TEST_PG_ADMIN:-}" ] ||
	setup_fail "no PostgreSQL server: run inside tests/pg/cluster run (make torture does)"
echo "unit trials on PostgreSQL"

# ---- the server ---------------------------------------------------------

admin() {
	PGOPTIONS="-c client_min_messages=warning" \
		psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$BULKREG_TEST_PG_ADMIN" -c "$1"
}
uri() { echo "postgresql://bulkreg@/$1?host=$BULKREG_TEST_PG_HOST&port=$BULKREG_TEST_PG_PORT"; }
# mkdb NAME [TEMPLATE]: a fresh database NAME (a copy of TEMPLATE).
mkdb() {
	admin "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null &&
		admin "CREATE DATABASE $1 OWNER bulkreg${2:+ TEMPLATE $2}" >/dev/null
}
# sessions NAME: how many server sessions are connected to database NAME.
sessions() { admin "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1'"; }
no_sessions() { [ "$(sessions "$1" 2>/dev/null)" = 0 ]; }
# in_transaction NAME: a session of NAME is inside a transaction.
in_transaction() {
	[ "$(admin "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1'
		AND xact_start IS NOT NULL" 2>/dev/null)" -gt 0 ] 2>/dev/null
}
# server_up: the server accepts connections again.
server_up() { admin "SELECT 1" >/dev/null 2>&1; }
# settle NAME: waits until no session of NAME is left (a killed client's
# transaction is over: rolled back, or committed if its COMMIT was sent).
settle() {
	wait_for 60 no_sessions "$1" || fail_trial "sessions of $1 still open 60 s later"
}
# state NAME OUT KIND: the database's KIND state (logical_state, full_state
# or tables_state of lib.sh), read through an SQLite copy.
state() {
	"$PG2SQLITE" "$(uri "$1")" "$1.sqlite" || return 1
	"$3" "$1.sqlite" "$2"
}
COUNTS_SQL="SELECT outcome, rows, registered, waitlisted, already_registered,
 already_waitlisted, rejected, reasons FROM batches ORDER BY id DESC LIMIT 1"

# ---- the base database and the reference runs --------------------------

"$TOOLS/gen_roster" courses "$ROWS" 21 >courses.csv
"$TOOLS/gen_roster" roster "$ROWS" 21 >roster.csv
"$TOOLS/gen_roster" roster $((ROWS / 5)) 22 >earlier.csv
mkdb base || setup_fail "creating database base"
BASE=$(uri base)
"$BULKREG" -q -d "$BASE" init || setup_fail "init"
"$BULKREG" -q -d "$BASE" course import courses.csv || setup_fail "course import"
"$BULKREG" -q -d "$BASE" register earlier.csv >/dev/null
[ $? -le 1 ] || setup_fail "the earlier batch"
wait_for 30 no_sessions base || setup_fail "base still in use"
state base base.logical logical_state || setup_fail "reading base"
BASE_BATCHES=$(sqlite3 base.sqlite 'SELECT count(*) FROM batches')

mkdb ref base || setup_fail "creating ref"
t0=$(now_ms)
"$BULKREG" -q -d "$(uri ref)" register --format csv roster.csv >/dev/null 2>ref.err
rc=$?
T_REF=$(($(now_ms) - t0))
[ "$rc" -eq 1 ] || setup_fail "reference run: exit $rc: $(cat ref.err)"
wait_for 30 no_sessions ref || setup_fail "ref still in use"
state ref ref.logical logical_state || setup_fail "reading ref"
cmp -s base.logical ref.logical && setup_fail "the reference run changed nothing"
REF_COUNTS=$(sqlite3 ref.sqlite "$COUNTS_SQL")
mkdb ref2 ref || setup_fail "creating ref2"
"$BULKREG" -q -d "$(uri ref2)" register --format csv roster.csv >/dev/null 2>ref2.err
[ $? -le 1 ] || setup_fail "reference re-run: $(cat ref2.err)"
wait_for 30 no_sessions ref2 || setup_fail "ref2 still in use"
state ref2 ref2.logical logical_state || setup_fail "reading ref2"
note "pg: $ROWS rows; an uninterrupted run takes $T_REF ms; seed $TORTURE_SEED"

# judge RC: the checks after an interrupted run on database t (see the top).
judge() {
	STATE=partial
	settle t
	if ! state t t.logical logical_state 2>t.state.err; then
		fail_trial "reading the state: $(cat t.state.err)"
		return
	fi
	batches=$(sqlite3 t.sqlite "SELECT count(*) FROM batches WHERE outcome = 'committed'")
	if cmp -s t.logical base.logical; then
		STATE=none
		[ "$1" -gt 1 ] || fail_trial "exit $1 claims a commit, but nothing was committed"
		[ "$batches" -eq "$BASE_BATCHES" ] || fail_trial "a batch row without its registrations"
		want=ref.logical
	elif cmp -s t.logical ref.logical; then
		STATE=whole
		[ "$(sqlite3 t.sqlite "$COUNTS_SQL")" = "$REF_COUNTS" ] ||
			fail_trial "whole, but the batch's counts differ: $(sqlite3 t.sqlite "$COUNTS_SQL")"
		want=ref2.logical
	else
		STATE=partial
		fail_trial "neither none nor all of the batch: $(diff base.logical t.logical | head -3 | cut -c1-200)"
		return
	fi
	case $1 in
	0 | 1 | 137) ;;
	3)
		[ -s err ] || fail_trial "exit 3 without a message"
		[ "$(wc -l <err)" -le 2 ] || fail_trial "exit 3 with more than a line or two: $(head -c 400 err)"
		;;
	*) fail_trial "exit $1: $(head -c 300 err)" ;;
	esac
	"$BULKREG" -d "$(uri t)" verify >v.out 2>&1 || fail_trial "verify: $(head -c 300 v.out)"
	"$BULKREG" -q -d "$(uri t)" register --format csv roster.csv >/dev/null 2>rerun.err
	_rc=$?
	[ "$_rc" -le 1 ] || fail_trial "the re-run: exit $_rc: $(head -c 300 rerun.err)"
	settle t
	state t t.logical logical_state
	same "$want" t.logical >diff.out || fail_trial "the re-run did not converge: $(head -c 400 diff.out)"
	"$BULKREG" -d "$(uri t)" verify >v.out 2>&1 || fail_trial "verify after the re-run: $(head -c 300 v.out)"
}

# ---- SIGKILL of the client --------------------------------------------

T_CUR=$T_REF
i=0
none=0
whole=0
while [ "$i" -lt "$KILLS" ]; do
	rand 3
	case $R in
	0) variant=csv; args="--format csv" ;;
	1) variant=workers1-json; args="--workers 1 --format json -o rep.json" ;;
	*) variant=workers4; args="--workers 4" ;;
	esac
	trial_start "pg-sigkill-$i-$variant"
	i=$((i + 1))
	mkdb t base || { fail_trial "creating t"; trial_end; continue; }
	t0=$(now_ms)
	# shellcheck disable=SC2086 # args is a list of words
	"$BULKREG" -d "$(uri t)" register $args roster.csv >out 2>err &
	pid=$!
	rand $((T_CUR + T_CUR / 5))
	sleep_ms "$R"
	kill -KILL "$pid" 2>/dev/null
	wait_exit "$pid" 30 || fail_trial "still running 30 s after SIGKILL"
	rc=$RC
	# A run that finished before the kill: the latest full run's time,
	# so the spread follows the machine's load.
	[ "$rc" -eq 137 ] || T_CUR=$(($(now_ms) - t0))
	judge "$rc"
	case $STATE in none) none=$((none + 1)) ;; whole) whole=$((whole + 1)) ;; esac
	trial_end "(killed after $R ms, exit $rc: $STATE)"
done
note "pg sigkill: $none trials left none of the batch, $whole all of it"

# ---- server restart mid-batch ------------------------------------------

i=0
none=0
whole=0
while [ "$i" -lt "$RESTARTS" ]; do
	trial_start "pg-restart-$i"
	i=$((i + 1))
	mkdb t base || { fail_trial "creating t"; trial_end; continue; }
	rand 2
	w=$((R * 3 + 1))
	"$BULKREG" -d "$(uri t)" register --workers $w --format csv roster.csv >out 2>err &
	pid=$!
	# The batch has begun: its transaction is open on the server.
	wait_for 30 in_transaction t || { is_running "$pid" && fail_trial "no transaction of t within 30 s"; }
	# Over the whole batch and a little past it (the COMMIT).
	rand $((T_REF + T_REF / 2))
	sleep_ms "$R"
	"$CLUSTER" restart "$BULKREG_PG_DIR" >restart.out 2>&1 || fail_trial "restart: $(cat restart.out)"
	wait_for 60 server_up || fail_trial "the server is not back 60 s after the restart"
	wait_exit "$pid" 120 || fail_trial "the client still runs 120 s after the restart"
	rc=$RC
	judge "$rc"
	case $STATE in none) none=$((none + 1)) ;; whole) whole=$((whole + 1)) ;; esac
	trial_end "(restart $R ms in, exit $rc: $STATE${rc:+; $(head -c 160 err | tr '\n' ' ')})"
done
note "pg restart: $none trials left none of the batch, $whole all of it"

# ---- a connection lost just before COMMIT -------------------------------
# The test hook BULKREG_TEST_PG_LOSE_COMMIT=1 (bulkreg-test only) ends the
# client's session on the server right before its COMMIT: the client cannot
# know the outcome and must say so (exit 3), naming the batch; no -o report
# is left (one on standard output, written before the COMMIT as on SQLite,
# stands only if the batch is listed as committed -- it said "void: not
# committed" of what may have been: review 15, A4); the batch is absent,
# verify is clean and a re-run converges.

i=0
while [ "$i" -lt 2 ]; do
	trial_start "pg-lost-commit-$i"
	i=$((i + 1))
	mkdb t base || { fail_trial "creating t"; trial_end; continue; }
	rm -f rep.json .rep.json.??????
	BULKREG_TEST_PG_LOSE_COMMIT=1 "$BULKREG" -d "$(uri t)" register --format json \
		-o rep.json roster.csv >out 2>err
	rc=$?
	[ "$rc" -eq 3 ] || fail_trial "exit $rc, expected 3"
	grep -q "unknown" err || fail_trial "the message does not say the outcome is unknown: $(head -c 300 err)"
	grep -q "batch [0-9]" err || fail_trial "the message does not name the batch: $(head -c 300 err)"
	[ ! -e rep.json ] || fail_trial "a report was left for a commit whose outcome is unknown"
	[ -z "$(hidden_temps . rep.json)" ] || fail_trial "a temporary report was left"
	judge "$rc"
	[ "$STATE" = none ] || fail_trial "the batch is $STATE, expected none"
	trial_end "($(head -c 200 err | tr '\n' ' '))"
done
trial_start "pg-lost-commit-stdout"
if mkdb t base; then
	BULKREG_TEST_PG_LOSE_COMMIT=1 "$BULKREG" -d "$(uri t)" register --format csv \
		roster.csv >out 2>err
	rc=$?
	[ "$rc" -eq 3 ] || fail_trial "exit $rc, expected 3"
	grep -q "the outcome is unknown" err || fail_trial "no unknown outcome: $(head -c 300 err)"
	grep -q "the report written above stands only if batch [0-9]* is listed as committed" err ||
		fail_trial "the report's standing is not said: $(head -c 300 err)"
	! grep -q "was not committed" err || fail_trial "says not committed: $(head -c 300 err)"
	judge "$rc"
	[ "$STATE" = none ] || fail_trial "the batch is $STATE, expected none"
else
	fail_trial "creating t"
fi
trial_end "($(head -c 200 err | tr '\n' ' '))"

# ---- four clients on one course set --------------------------------------

# deadlocked ERRFILE: true when the run that wrote ERRFILE exited 3 because
# the server broke a deadlock between it and another batch.  Rosters are
# streamed, so a batch locks each course (and student) when it first meets
# it: two batches that meet them in opposite orders can wait for each
# other.  The server picks one, which writes nothing and says to run it
# again -- what these trials then do, counting it (DEADLOCKS).
DEADLOCKS=0
# A deadlock the server broke, or a student another batch added or changed
# between this batch's read and its write (students are locked only as
# they are written): nothing written, run it again.
deadlocked() {
	[ "$RC" -eq 3 ] &&
		grep -q "waited for each other.*run it again\|another batch .* at the same time; nothing was written: run it again\|numbered after this one, changed course .* first; nothing was written: run it again" "$1" &&
		DEADLOCKS=$((DEADLOCKS + 1))
}

# round NAME [kill]: as t_concurrent's, on database c.
round() {
	seed=$((TORTURE_SEED % 1000 + r * 7 + 300))
	workers=$((r % 3 + 1))
	trial_start "pg-concurrent-$1-seed-$seed-workers-$workers"
	rm -f ready.? go rep?.csv .rep?.csv.?????? roster?.csv
	mkdb c || setup_fail "creating c"
	C=$(uri c)
	"$BULKREG" -q -d "$C" init || setup_fail "init c"
	"$TOOLS/gen_roster" courses 3000 "$seed" >ccourses.csv
	"$BULKREG" -q -d "$C" course import ccourses.csv || setup_fail "course import"
	# Each roster shares half its rows with the next.
	"$TOOLS/gen_roster" roster 12000 "$seed" >all.csv
	for k in 0 1 2 3; do
		{
			head -n 1 all.csv
			tail -n +2 all.csv | tail -n +$((k * 2500 + 1)) | head -n 5000
		} >"roster$k.csv"
	done
	pids=""
	for k in 0 1 2 3; do
		# shellcheck disable=SC2016 # expanded by the inner shell
		sh -c 'touch "ready.$1"; while [ ! -e go ]; do sleep 0.002; done
			exec "$2" -q -d "$4" register --wait 120 --workers "$3" \
				--format csv -o "rep$1.csv" "roster$1.csv"' \
			sh "$k" "$BULKREG" "$workers" "$C" >"out$k" 2>"err$k" &
		pids="$pids $!"
	done
	wait_for 20 all_ready || fail_trial "the four processes did not reach the barrier"
	t0=$(now_ms)
	: >go
	victim=-1
	if [ "${2:-}" = kill ]; then
		rand 4
		victim=$R
		# shellcheck disable=SC2086 # a list of pids
		set -- $pids
		shift "$victim"
		rand 1500
		sleep_ms "$R"
		kill -KILL "$1" 2>/dev/null
	fi
	k=0
	for pid in $pids; do
		wait_exit "$pid" 180 || fail_trial "run $k did not finish within 180 s"
		tries=0
		while [ "$k" -ne "$victim" ] && [ $tries -lt 5 ] && deadlocked "err$k"; do
			"$BULKREG" -q -d "$C" register --wait 120 --workers "$workers" \
				--format csv -o "rep$k.csv" "roster$k.csv" >"out$k" 2>"err$k"
			RC=$?
			tries=$((tries + 1))
		done
		case $RC in
		0 | 1) ;;
		137) [ "$k" -eq "$victim" ] || fail_trial "run $k: killed" ;;
		*) fail_trial "run $k: exit $RC: $(head -c 300 "err$k")" ;;
		esac
		if [ "$k" -eq "$victim" ]; then
			victim_rc=$RC
			[ "$RC" -ne 137 ] || rm -f "rep$k.csv" ".rep$k.csv".??????
		fi
		k=$((k + 1))
	done
	elapsed=$(($(now_ms) - t0))
	settle c
	"$PG2SQLITE" "$C" c.sqlite || fail_trial "reading c"
	# A batch locks each course when it first meets it (rosters are
	# streamed), so batches overlap in time; each course's seats are
	# still handed out by one batch after the other.
	problems=$(CHECK_ROUND_WHOLE_BATCH=0 check_round c.sqlite 2>&1)
	[ -z "$problems" ] || fail_trial "$(echo "$problems" | head -5)"
	"$BULKREG" -d "$C" verify >v.out 2>&1 || fail_trial "verify: $(head -c 300 v.out)"
	batches=$(batch_count c.sqlite)
	if [ "$victim" -ge 0 ]; then
		[ "$batches" -ge 3 ] || fail_trial "only $batches batches"
	else
		[ "$batches" -eq 4 ] || fail_trial "$batches batches, expected 4"
	fi
	# The checksum: seats and waitlist places the reports hand out add
	# up to what the database holds.
	claimed=$(cat rep?.csv 2>/dev/null | grep -c ',registered,\|,waitlisted,')
	stored=$(sqlite3 c.sqlite "SELECT count(*) FROM registrations")
	[ "$victim" -ge 0 ] || [ "$claimed" -eq "$stored" ] ||
		fail_trial "the reports hand out $claimed places, the database holds $stored"
	totals=$(sqlite3 c.sqlite "SELECT count(*) FILTER (WHERE status = 'registered') || ' registered, ' || count(*) FILTER (WHERE status = 'waitlisted') || ' waitlisted' FROM registrations")
	if [ "$victim" -ge 0 ]; then
		trial_end "(run $victim killed: exit $victim_rc, $batches batches; $totals in $elapsed ms; $DEADLOCKS deadlocks so far, run again)"
	else
		trial_end "(4 runs in $elapsed ms: $totals; $DEADLOCKS deadlocks so far, run again)"
	fi
}

r=0
while [ "$r" -lt "$ROUNDS" ]; do
	round "round-$r"
	r=$((r + 1))
done
round "round-$r-one-killed" kill

# ---- two batches on disjoint course sets -------------------------------

# Courses C000, C002, ... go to one roster, C001, C003, ... to the other.
head -n 1 roster.csv >even.csv
head -n 1 roster.csv >odd.csv
tail -n +2 roster.csv | awk -F, '$NF ~ /[02468]$/' >>even.csv
tail -n +2 roster.csv | awk -F, '$NF !~ /[02468]$/' >>odd.csv
# alone ROSTER: ms for ROSTER alone on a fresh copy of base.
alone() {
	mkdb d base || setup_fail "creating d"
	_t0=$(now_ms)
	"$BULKREG" -q -d "$(uri d)" register "$1" >/dev/null 2>&1
	echo $(($(now_ms) - _t0))
}
trial_start "pg-disjoint-overlap"
t_even=$(alone even.csv)
t_odd=$(alone odd.csv)
mkdb d base || setup_fail "creating d"
rm -f ready.? go
for f in even odd; do
	# shellcheck disable=SC2016 # expanded by the inner shell
	sh -c 'touch "ready.$1"; while [ ! -e go ]; do sleep 0.002; done
		exec "$2" -q -d "$3" register --wait 120 "$1.csv"' sh "$f" "$BULKREG" "$(uri d)" >/dev/null 2>"err.$f" &
	eval "pid_$f=\$!"
done
wait_for 20 sh -c '[ -e ready.even ] && [ -e ready.odd ]' || fail_trial "the barrier"
t0=$(now_ms)
: >go
# shellcheck disable=SC2154 # set by eval
wait_exit "$pid_even" 180
rc_even=$RC
wait_exit "$pid_odd" 180
rc_odd=$RC
t_both=$(($(now_ms) - t0))
# The two rosters share students: a deadlock on a student row is run again
# (and the overlap then measures less).
for f in even odd; do
	eval "RC=\$rc_$f"
	if deadlocked "err.$f"; then
		"$BULKREG" -q -d "$(uri d)" register --wait 120 "$f.csv" >/dev/null 2>"err.$f"
		eval "rc_$f=\$?"
	fi
done
[ "$rc_even" -le 1 ] && [ "$rc_odd" -le 1 ] || fail_trial "exit $rc_even and $rc_odd: $(head -c 200 err.even err.odd)"
settle d
"$PG2SQLITE" "$(uri d)" d.sqlite || fail_trial "reading d"
overlap=$(sqlite3 d.sqlite "SELECT CAST(round((julianday(min(a.finished_at, b.finished_at))
	- julianday(max(a.started_at, b.started_at))) * 86400000) AS INTEGER)
	FROM batches AS a JOIN batches AS b ON a.source = 'even.csv' AND b.source = 'odd.csv'")
"$BULKREG" -d "$(uri d)" verify >v.out 2>&1 || fail_trial "verify: $(head -c 300 v.out)"
trial_end "(even alone $t_even ms, odd alone $t_odd ms, both at once $t_both ms; the batches overlap by ${overlap:-?} ms)"
note "pg disjoint course sets: alone $t_even ms and $t_odd ms; at once $t_both ms (sum alone $((t_even + t_odd)) ms); their batches overlap by ${overlap:-?} ms"
note "pg deadlocks broken by the server and run again: $DEADLOCKS"
