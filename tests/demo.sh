#!/bin/sh
# demo: the README's first command -- the main job on the sample data in data/.
# Usage: tests/demo.sh ./bulkreg   (run by `make demo`)
set -eu
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/bulkreg-demo.XXXXXX")
db="$dir/demo.db"
cd "$root" # the paths shown are the paths run

if [ -t 1 ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); else bold="" plain=""; fi
say() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; }

echo "bulkreg demo: a fresh database in $db"
say bulkreg -d "$db" course import data/courses.csv
"$bin" -d "$db" course import data/courses.csv
say bulkreg -q -d "$db" register data/enrolled.csv --label "'enrolled last week'"
"$bin" -q -d "$db" register data/enrolled.csv --label "enrolled last week"
say bulkreg -d "$db" register data/roster.csv --label "'Monday roster'"
rc=0
"$bin" -d "$db" register data/roster.csv --label "Monday roster" || rc=$?
echo "(exit status $rc: 1 means some rows were rejected -- see the table above)"
say bulkreg -d "$db" course list
"$bin" -d "$db" course list
say bulkreg -d "$db" roster MATH101
"$bin" -d "$db" roster MATH101
say bulkreg -d "$db" batches
"$bin" -d "$db" batches
echo
echo "The database stays in $dir; try: $1 -d $db roster CS101 --format json"
[ "$rc" -le 1 ]
