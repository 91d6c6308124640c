#!/bin/sh
# bench_check: `register --check` at several --workers, beside the ideal and xargs -P.
#
# Usage: tests/bench/bench_check.sh BULKREG_BINARY
#
# 2,000 rows, a check script that sleeps 0.1 s; for each --workers N a fresh
# database, the wall time of the whole register run, the ideal
# (rows * 0.1 s / N), the efficiency (ideal / wall), and the same check run
# once per row by `xargs -P N` as the peer.  CPU is user+sys of the run and
# its children per row.  Then the CPU one check costs when spawned directly
# and through /bin/sh (a check that exits at once, one worker).
#
# Environment: BENCH_CHECK_ROWS (2000), BENCH_CHECK_WORKERS ("8 32 64 128").
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 BULKREG_BINARY" >&2
	exit 2
fi
bin=$1
if [ ! -x "$bin" ]; then
	echo "$0: $bin: not an executable" >&2
	exit 2
fi
timer=/usr/bin/time
if [ ! -x "$timer" ]; then
	echo "$0: $timer is needed (Debian package 'time')" >&2
	exit 2
fi

rows=${BENCH_CHECK_ROWS:-2000}
workers_list=${BENCH_CHECK_WORKERS:-8 32 64 128}
nap=0.1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The check command is a bare path: bulkreg spawns it without a shell.
case $tmp in
*[!A-Za-z0-9/._-]*)
	echo "$0: temporary directory '$tmp' needs quoting; set TMPDIR" >&2
	exit 2
	;;
esac
check=$tmp/check.sh
printf '#!/bin/sh\nsleep %s\n' "$nap" >"$check"
chmod +x "$check"

awk -v n="$rows" 'BEGIN {
	print "student_id,first_name,last_name,email,course"
	for (i = 1; i <= n; i++)
		printf "S%06d,First%d,Last%d,s%d@example.org,BENCH\n", i, i, i, i
}' >"$tmp/roster.csv"
awk -v n="$rows" 'BEGIN { for (i = 1; i <= n; i++) print i }' >"$tmp/ids"

# timed OUT CMD...: runs CMD (stdout discarded) and writes "WALL CPU" to OUT.
timed() {
	out=$1
	shift
	rc=0
	"$timer" -p "$@" >/dev/null 2>"$tmp/time.err" || rc=$?
	awk '/^real / { r = $2 } /^(user|sys) / { c += $2 } END { print r, c }' \
		"$tmp/time.err" >"$out"
	if [ "$rc" -ne 0 ]; then
		echo "$0: failed (exit $rc): $*" >&2
		cat "$tmp/time.err" >&2
		exit 1
	fi
}

# fresh_db PATH CAPACITY: a new database with course BENCH.
fresh_db() {
	rm -f "$1" "$1-wal" "$1-shm"
	"$bin" -q -d "$1" init
	"$bin" -q -d "$1" course add BENCH --capacity "$2"
}

# registered REPORT: rows the csv report says were registered.
registered() {
	awk -F, 'NR > 1 && $4 == "registered" { n++ } END { print n + 0 }' "$1"
}

printf '%d rows, check: sleep %s s; %s\n\n' "$rows" "$nap" "$(nproc 2>/dev/null || echo '?') CPUs"
printf '%7s %8s %8s %10s %11s %9s %11s %7s\n' workers wall_s ideal_s efficiency \
	cpu_ms/row xargs_s xargs_cpu/row faster
for n in $workers_list; do
	db=$tmp/bench.db
	fresh_db "$db" "$rows"
	timed "$tmp/b.t" "$bin" -q -d "$db" register "$tmp/roster.csv" \
		--check "$check" --workers "$n" --format csv -o "$tmp/report.csv"
	got=$(registered "$tmp/report.csv")
	if [ "$got" -ne "$rows" ]; then
		echo "$0: --workers $n registered $got of $rows rows" >&2
		exit 1
	fi
	timed "$tmp/x.t" xargs -P "$n" -n 1 "$check" <"$tmp/ids"
	awk -v n="$n" -v rows="$rows" -v nap="$nap" -v b="$(cat "$tmp/b.t")" \
		-v x="$(cat "$tmp/x.t")" 'BEGIN {
		split(b, bt, " "); split(x, xt, " ")
		ideal = rows * nap / n
		printf "%7d %8.2f %8.2f %10.2f %11.2f %9.2f %11.2f %7s\n", n, bt[1],
			ideal, ideal / bt[1], bt[2] * 1000 / rows, xt[1],
			xt[2] * 1000 / rows, bt[1] < xt[1] ? "yes" : "no"
	}'
done

# What one spawn costs: a check that exits at once, run directly and
# through /bin/sh (the quotes are shell syntax, so bulkreg uses the shell).
quick=1000
[ "$quick" -le "$rows" ] || quick=$rows
head -n "$((quick + 1))" "$tmp/roster.csv" >"$tmp/quick.csv"
printf '\nCPU per check, %d checks of /bin/true, --workers 1:\n' "$quick"
for cmd in "/bin/true" "/bin/true ''"; do
	db=$tmp/quick.db
	fresh_db "$db" "$quick"
	timed "$tmp/q.t" "$bin" -q -d "$db" register "$tmp/quick.csv" \
		--check "$cmd" --workers 1 --format csv -o "$tmp/quick-report.csv"
	awk -v cmd="$cmd" -v rows="$quick" -v t="$(cat "$tmp/q.t")" 'BEGIN {
		split(t, q, " ")
		printf "  %-16s %6.3f ms CPU, %6.3f ms wall per row (%s)\n", cmd,
			q[2] * 1000 / rows, q[1] * 1000 / rows,
			index(cmd, "'\''") ? "via /bin/sh -c" : "spawned directly"
	}'
done
