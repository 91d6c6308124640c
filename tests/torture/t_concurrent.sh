# t_concurrent: four registers at once on one database, and the write lock.
#
# Rounds: four `bulkreg register` processes wait at a start barrier (each
# creates ready.K, then polls for the file `go`), start together on one
# database with overlapping rosters (each shares 4000 rows with the next)
# into courses sized for a quarter of the rows, so seats and waitlists run
# out.  Every run must finish (each waits for the lock within --wait), and
# then: integrity ok; no course over its capacity or waitlist limit; the
# stored counters equal the rows; seats and waitlist positions are 1..n per
# course without gaps or repeats; every registration in the database comes
# from exactly one report row saying registered/waitlisted (same status and
# position), none is claimed twice, already_* rows match the database, and
# each batch's counts equal its report's.  Two more rounds SIGKILL one of
# the four at a random moment: the others finish, and the killed run's batch
# is in the database whole or not at all.
#
# Lock: a process that cannot get the write lock within --wait -- held by
# sqlite3 in an open BEGIN IMMEDIATE, or by a long bulkreg run -- exits 3
# with a message saying the database is locked, and writes nothing.

ROUNDS=${TORTURE_CONCURRENT_ROUNDS:-3}

# all_ready and check_round DB: in lib.sh (the PostgreSQL family runs them too).

# round NAME [kill]: four runs at once; with kill, one of them (chosen at
# random) gets SIGKILL at a random moment -- the others must still finish,
# and the database must hold its batch whole or not at all.
round() {
	seed=$((TORTURE_SEED % 1000 + r * 7 + 100))
	workers=$((r % 3 + 1))
	trial_start "concurrent-$1-seed-$seed-workers-$workers"
	rm -f db db-wal db-shm ready.? go rep?.csv .rep?.csv.?????? roster?.csv
	"$BULKREG" -q -d db init || setup_fail "init"
	"$TOOLS/gen_roster" courses 6000 "$seed" >courses.csv
	"$BULKREG" -q -d db course import courses.csv || setup_fail "course import"
	"$TOOLS/gen_roster" roster 24000 "$seed" >all.csv
	for k in 0 1 2 3; do
		{
			head -n 1 all.csv
			tail -n +2 all.csv | tail -n +$((k * 5000 + 1)) | head -n 9000
		} >"roster$k.csv"
	done
	pids=""
	for k in 0 1 2 3; do
		# shellcheck disable=SC2016 # expanded by the inner shell
		sh -c 'touch "ready.$1"; while [ ! -e go ]; do sleep 0.002; done
			exec "$2" -q -d db register --wait 120 --workers "$3" \
				--format csv -o "rep$1.csv" "roster$1.csv"' \
			sh "$k" "$BULKREG" "$workers" >"out$k" 2>"err$k" &
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
		rand 400
		sleep_ms "$R"
		kill -KILL "$1" 2>/dev/null
	fi
	k=0
	for pid in $pids; do
		wait_exit "$pid" 180 || fail_trial "run $k did not finish within 180 s"
		case $RC in
		0 | 1) ;;
		137) [ "$k" -eq "$victim" ] || fail_trial "run $k: killed" ;;
		*) fail_trial "run $k: exit $RC: $(head -c 300 "err$k")" ;;
		esac
		if [ "$k" -eq "$victim" ]; then
			victim_rc=$RC
			# Killed: whatever it left behind is not a report.
			[ "$RC" -ne 137 ] || rm -f "rep$k.csv" ".rep$k.csv".??????
		fi
		k=$((k + 1))
	done
	elapsed=$(($(now_ms) - t0))
	why=$(integrity db) || fail_trial "$why"
	problems=$(check_round db 2>&1)
	[ -z "$problems" ] || fail_trial "$(echo "$problems" | head -5)"
	batches=$(batch_count db)
	if [ "$victim" -ge 0 ]; then
		[ "$batches" -ge 3 ] || fail_trial "only $batches batches"
	else
		[ "$batches" -eq 4 ] || fail_trial "$batches batches, expected 4"
	fi
	totals=$(sqlite3 db "SELECT count(*) FILTER (WHERE status = 'registered') || ' registered, ' || count(*) FILTER (WHERE status = 'waitlisted') || ' waitlisted' FROM registrations")
	rejected=$(sqlite3 db "SELECT sum(rejected) FROM batches")
	if [ "$victim" -ge 0 ]; then
		trial_end "(run $victim killed: exit $victim_rc, $batches batches; $totals, $rejected rows rejected in $elapsed ms)"
	else
		trial_end "(4 runs in $elapsed ms: $totals, $rejected rows rejected)"
	fi
}

r=0
while [ "$r" -lt "$ROUNDS" ]; do
	round "round-$r"
	r=$((r + 1))
done
round "round-$r-one-killed" kill
r=$((r + 1))
round "round-$r-one-killed" kill
r=$((r + 1))

# ---- the lock held by sqlite3 ----
trial_start "lock-held-by-sqlite3"
rm -f lock.fifo sq.out rep.csv
copy_db db held.db
full_state held.db before.full
mkfifo lock.fifo
sqlite3 held.db <lock.fifo >sq.out 2>&1 &
sq=$!
exec 4>lock.fifo
echo "BEGIN IMMEDIATE; SELECT 'lock-is-held';" >&4
holds_lock() { grep -q lock-is-held sq.out; }
if wait_for 20 holds_lock; then
	t0=$(now_ms)
	"$BULKREG" -d held.db register --wait 0.5 --format csv -o rep.csv roster0.csv >out 2>err
	rc=$?
	waited=$(($(now_ms) - t0))
	[ "$rc" -eq 3 ] || fail_trial "exit $rc, expected 3: $(head -c 300 err)"
	grep -q "locked" err || fail_trial "no 'locked' in the message: $(head -c 300 err)"
	[ "$waited" -ge 450 ] || fail_trial "gave up after $waited ms, before --wait 0.5"
	[ ! -e rep.csv ] || fail_trial "-o rep.csv was created"
	[ -z "$(hidden_temps . rep.csv)" ] || fail_trial "a temporary report was left"
else
	fail_trial "sqlite3 never took the lock: $(cat sq.out)"
fi
echo "ROLLBACK;" >&4
exec 4>&-
wait_exit "$sq" 20 || fail_trial "sqlite3 did not end"
full_state held.db after.full
why=$(same before.full after.full) || fail_trial "the database changed: $why"
trial_end "(exit 3 after $waited ms: $(head -c 120 err))"

# ---- the lock held by a long bulkreg run ----
trial_start "lock-held-by-bulkreg"
copy_db db held.db
full_state held.db before.full
rm -rf pids rep.csv
mkdir pids
cat >slow_check.sh <<'EOF'
#!/bin/sh
# BULKREG_*: the only variables a check sees (--check-env clean).
: "${BULKREG_TORTURE_PIDDIR:?not passed to the check}"
echo $$ >"$BULKREG_TORTURE_PIDDIR/$$"
sleep 0.2
EOF
chmod +x slow_check.sh
BULKREG_TORTURE_PIDDIR=$PWD/pids "$BULKREG" -q -d held.db register --workers 2 \
	--check "$PWD/slow_check.sh" --format csv roster1.csv >long.out 2>long.err &
long=$!
# Checks run only inside the batch, so a first pid file means the write
# lock is held.
check_started() { [ -n "$(find pids -type f)" ]; }
if wait_for 20 check_started; then
	t0=$(now_ms)
	"$BULKREG" -d held.db register --wait 0.3 roster2.csv >out 2>err
	rc=$?
	waited=$(($(now_ms) - t0))
	[ "$rc" -eq 3 ] || fail_trial "exit $rc, expected 3: $(head -c 300 err)"
	grep -q "locked" err || fail_trial "no 'locked' in the message: $(head -c 300 err)"
	[ "$waited" -ge 250 ] || fail_trial "gave up after $waited ms, before --wait 0.3"
	is_running "$long" || fail_trial "the long run ended too soon: $(head -c 300 long.err)"
	# Its checks end every 0.2 s and are reaped at once: a zombie child
	# seen in two looks 0.3 s apart would be one never reaped.
	zombies() { ps -o pid=,stat= --ppid "$long" | awk '$2 ~ /^Z/ { print $1 }' | sort; }
	z1=$(zombies)
	sleep_ms 300
	z2=$(zombies)
	left=$(printf '%s\n%s\n' "$z1" "$z2" | sort | uniq -d | grep . | tr '\n' ' ')
	[ -z "$left" ] || fail_trial "zombie children of bulkreg not reaped: $left"
else
	fail_trial "the long run never started a check: $(head -c 300 long.err)"
fi
kill -s INT "$long" 2>/dev/null
wait_exit "$long" 30 || fail_trial "the long run did not stop"
[ "$RC" -eq 130 ] || fail_trial "the long run: exit $RC after SIGINT, expected 130"
full_state held.db after.full
why=$(same before.full after.full) || fail_trial "the database changed: $why"
trial_end "(exit 3 after $waited ms while another run held the lock)"
