# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_check_workers: with --check, the report is the same for any --workers
# value even when checks leave helpers running (review 19, F18) or when
# more checks are asked for at once than the descriptor limit can carry
# (review 19, F15).

printf 'student_id,email,course\n' >r12.csv
i=1
while [ $i -le 12 ]; do
	echo "S$i,s$i@x.example,C1" >>r12.csv
	i=$((i + 1))
done

# helper.sh: line 2's check starts a helper that outlives the shell that
# started it (as ssh-agent and gpg-agent do: fork, setsid, the parent
# exits), then asks it whether it is still there once the check of another
# row has ended.  The other rows wait for the helper to be up before they
# end, so that one of them surely ends while line 2's check still runs.
# With W workers (BULKREG_TEST_WORKERS), lines 2 to W+1 hold every worker,
# and line W+2 can start only when one of them has ended: line 2 waits for
# that start, not for a time.  BULKREG_TEST_SETSID is "setsid" or empty
# (the helper stays in the check's process group).
cat >helper.sh <<'SH'
#!/bin/sh
d=$BULKREG_TEST_DIR
if [ "$BULKREG_LINE" = 2 ]; then
	($BULKREG_TEST_SETSID sh -c 'echo $$ >"$0/h.tmp"; mv "$0/h.tmp" "$0/h.pid"; exec sleep 300' \
		"$d" </dev/null >/dev/null 2>&1 &)
	until [ -s "$d/h.pid" ]; do sleep 0.01; done
	if [ "$BULKREG_TEST_WORKERS" -gt 1 ]; then
		until [ -e "$d/started.$((BULKREG_TEST_WORKERS + 2))" ]; do sleep 0.01; done
	fi
	kill -0 "$(cat "$d/h.pid")" 2>/dev/null && exit 0
	echo "the helper is gone"
	exit 1
fi
touch "$d/started.$BULKREG_LINE"
until [ -s "$d/h.pid" ]; do sleep 0.01; done
exit 0
SH
chmod +x helper.sh

# helper_run KIND W: runs r12.csv with helper.sh and W workers into a
# fresh database; the report is in helper.KIND.W.csv.
helper_run() {
	_g=$PWD/gate.$1.$2
	rm -rf "$_g"
	mkdir "$_g" || fail "mkdir $_g"
	_db=$(new_db h$1$2)
	"$BULKREG" -d "$_db" course add C1 --capacity 100 -q || fail "course add"
	BULKREG_TEST_DIR=$_g BULKREG_TEST_WORKERS=$2 BULKREG_TEST_SETSID=$3 \
		"$BULKREG" -d "$_db" register r12.csv --check ./helper.sh \
		--workers "$2" --format csv >out 2>err
	RC=$?
	expect_rc 0
	cp out "helper.$1.$2.csv"
	_h=$(cat "$_g/h.pid")
	! kill -0 "$_h" 2>/dev/null || {
		kill -KILL "$_h"
		fail "the helper ($1, --workers $2) outlived bulkreg"
	}
}

case_ "a check's setsid helper is not killed when another row's check ends (--workers 1 and 8)"
helper_run setsid 1 setsid
helper_run setsid 8 setsid
expect_same helper.setsid.1.csv helper.setsid.8.csv
[ "$(grep -c ',registered,' helper.setsid.8.csv)" = 12 ] ||
	fail "not every row registered: $(cat helper.setsid.8.csv)"

case_ "nor a helper left in the check's process group (--workers 1 and 8)"
helper_run group 1 ""
helper_run group 8 ""
expect_same helper.group.1.csv helper.group.8.csv
[ "$(grep -c ',registered,' helper.group.8.csv)" = 12 ] ||
	fail "not every row registered: $(cat helper.group.8.csv)"

# 60 rows, 20 seats and no waitlist: a row whose check could not start
# would give its seat to a later row.  Ids ending in 3 fail their check.
python3 -c "
print('student_id,email,course')
for i in range(60): print(f'S{i},s{i}@x.example,C1')" >r60.csv
cat >hold.sh <<'SH'
#!/bin/sh
case $BULKREG_STUDENT_ID in *3) echo "hold on $BULKREG_STUDENT_ID"; exit 1 ;; esac
# The time a slow look-up takes (not a synchronisation): it keeps many
# checks running at once.
sleep "${BULKREG_TEST_HOLD:-0}"
SH
chmod +x hold.sh

case_ "under ulimit -n 64, --workers 60 gives the report of --workers 1: checks wait for descriptors"
db=$(new_db fd1)
"$BULKREG" -d "$db" course add C1 --capacity 20 --waitlist 0 -q || fail "course add"
run -d "$db" register r60.csv --check ./hold.sh --workers 1 --format csv
expect_rc 1
cp out fd.1.csv
db=$(new_db fd60)
"$BULKREG" -d "$db" course add C1 --capacity 20 --waitlist 0 -q || fail "course add"
(
	ulimit -n 64 || exit 99
	BULKREG_TEST_HOLD=0.5 "$BULKREG" -d "$db" register r60.csv --check ./hold.sh \
		--workers 60 --format csv >out 2>err
)
RC=$?
expect_rc 1
! grep -q check_error out || fail "a row was rejected for want of a descriptor:
$(grep check_error out | head -5)"
expect_same fd.1.csv out

case_ "a soft descriptor limit below the hard one is raised (the check inherits it)"
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 64 ]; then
	db=$(new_db fdsoft)
	"$BULKREG" -d "$db" course add C1 --capacity 20 --waitlist 0 -q || fail "course add"
	(
		ulimit -Sn 64 || exit 99
		"$BULKREG" -d "$db" register r12.csv --dry-run --format csv \
			--check 'echo "limit $(ulimit -n)"; exit 1' >out 2>err
	)
	RC=$?
	expect_rc 1
	limit=$(csv_field 2 detail | sed 's/^limit //')
	[ "$limit" -gt 64 ] || fail "the soft limit stayed at $limit"
fi

case_ "a check that stopped itself is continued with its SIGTERM at the deadline: its TERM trap runs (review 19, F12)"
# Before, SIGTERM stayed pending on the stopped process for the whole
# grace second and SIGKILL ended it: no trap, a second lost per row.
cat >stop.sh <<'SH'
#!/bin/sh
trap 'touch "$BULKREG_TEST_DIR/termed"; exit 1' TERM
kill -STOP $$
SH
chmod +x stop.sh
rm -f termed
BULKREG_TEST_DIR=$PWD run -d "$db" register r12.csv --dry-run --format csv \
	--workers 1 --check ./stop.sh --check-timeout 0.2 --check-env inherit
expect_rc 1
expect_out "check_timeout"
[ -e termed ] || fail "the stopped check never took its SIGTERM"

case_ "--wait and --check-timeout take digits and a decimal point only, as --workers does (review 19, F10)"
for v in 0x10 " 5" +5 1e3 inf nan . -1; do
	run -d "$db" register r12.csv --dry-run --wait "$v"
	expect_rc 2
	expect_err "--wait: '$v' is not a number of seconds"
	run -d "$db" register r12.csv --dry-run --check true --check-timeout "$v"
	expect_rc 2
done
for v in 5 0.5 .5 5.; do
	run -q -d "$db" register r12.csv --dry-run --format csv --wait "$v" --check true --check-timeout "$v"
	expect_rc 0
done

case_ "a check's reason: its first line ends at CR too, and a line of no-break or zero-width spaces is blank (review 19, F09)"
printf 'student_id,email,course\nR1,r1@x.example,C1\n' >r1.csv
for cmd in 'printf "reason one\rsecond"; exit 1' \
	'printf "\302\240\n  reason one \342\200\213\n"; exit 1' \
	'printf "\r\n\342\200\257reason one\r\n"; exit 1'; do
	run -d "$db" register r1.csv --dry-run --format csv --check "$cmd"
	expect_rc 1
	[ "$(csv_field 2 detail)" = "reason one" ] || fail "detail '$(csv_field 2 detail)' for: $cmd"
done
