# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC come from lib.sh and run
# t_output_dest: where -o and --rejects write (review 7, findings 1, 2, 5).
# --rejects takes its file exactly as -o does: a link of one's own is
# followed and kept, a device or FIFO is written into, whatever another
# user planted is refused; neither is ever renamed over the file standard
# output or error already writes to (cron's `>> log`); and neither may name
# the database's -wal, -shm or -journal, even before SQLite makes them (those
# cases on SQLite only).  This runs as root, and before the fix --rejects
# renamed over whatever it was given: so --rejects never names the real
# /dev/null or /dev/stdout here -- only a link of our own (and /dev/null is
# checked to be a device after) or, in a private mount namespace, a
# throw-away /dev.

# owner_is_nobody FILE...: make FILE (a link itself, not its target) nobody's.
owner_is_nobody() { chown -h nobody "$@" || fail "chown nobody $*"; }
inode() { stat -c %i "$1"; }
batches() { sql "$db" "SELECT count(*) FROM batches"; }
# The rejects file bad.csv gives (its one row has no '@').
rejects_of_bad() {
	printf 'student_id,email,course,reason,detail\n'
	printf "S2,bad,C1,invalid_email,email: no '@'\n"
}

case_ "setup"
db=$(new_db t)
export db
run -d "$db" course add C1 --capacity 5
expect_rc 0
printf 'student_id,email,course\nS1,s1@x.org,C1\nS2,bad,C1\n' >bad.csv
rejects_of_bad >want.rejects
dump "$db" empty.state

# ---- 1. --rejects is -o's destination -----------------------------------
case_ "-o - is standard output (register, drop), no file named - is made; ./- is a file"
run -d "$db" register bad.csv -o - --format csv --dry-run
expect_rc 1
grep -q '^3,S2,C1,rejected,,invalid_email' out || fail "the report is not on standard output: $(cat out)"
[ ! -e ./- ] || fail "a file named - was made"
printf 'student_id,course\nS9,C1\n' >d9.csv
run -d "$db" drop d9.csv -o - --format csv --dry-run
expect_rc 1
expect_out "S9,C1,rejected,,not_registered"
[ ! -e ./- ] || fail "drop made a file named -"
run -d "$db" register bad.csv -o ./- --format csv --dry-run
expect_rc 1
grep -q '^3,S2,C1,rejected' ./- || fail "./- lacks the report"
rm -f ./-

case_ "--rejects /dev/stdout while the report goes to standard output too: exit 2, nothing written; with -o FILE it is fine"
run -d "$db" register bad.csv --format csv --rejects /dev/stdout
expect_rc 2
expect_err "--rejects /dev/stdout: that is standard output, where the report goes too (give the report -o FILE)"
expect_empty out
run -d "$db" register bad.csv --format csv --rejects /dev/stdout -o rep-s.csv --dry-run
expect_rc 1
rejects_of_bad >want-s.rejects
expect_same want-s.rejects out
rm -f rep-s.csv

case_ "--rejects through a link of one's own: the target is replaced, the link kept"
echo old >dated.csv
ln -s dated.csv latest.csv
run -d "$db" register bad.csv --dry-run --rejects latest.csv -o /dev/null
expect_rc 1
[ -L latest.csv ] || fail "latest.csv is no longer a symbolic link"
[ "$(readlink latest.csv)" = dated.csv ] || fail "latest.csv -> $(readlink latest.csv)"
expect_same want.rejects dated.csv

case_ "--rejects through a link another user planted is refused, its target kept, nothing done"
echo precious >victim
ln -s victim planted.csv
owner_is_nobody planted.csv
n=$(batches)
run -d "$db" register bad.csv --rejects planted.csv -o /dev/null
expect_rc 3
expect_err "planted.csv: refusing to write the rejects file: it is a symbolic link owned by user"
[ "$(cat victim)" = precious ] || fail "the planted link's target was replaced"
[ -L planted.csv ] || fail "the planted link was replaced"
[ "$(batches)" = "$n" ] || fail "a refused run recorded a batch"

case_ "-o and --rejects through a directory link another user planted on the way: refused, nothing written there"
mkdir -p private shared_dir && chmod 700 private
ln -s "$PWD/private" shared_dir/reports
owner_is_nobody shared_dir/reports
n=$(batches)
run -d "$db" register bad.csv -o shared_dir/reports/daily.csv
expect_rc 3
expect_err "shared_dir/reports: refusing to write the report: a directory on its way is a symbolic link owned by user"
run -d "$db" register bad.csv --rejects shared_dir/reports/rej.csv -o /dev/null
expect_rc 3
expect_err "shared_dir/reports: refusing to write the rejects file: a directory on its way is a symbolic link owned by user"
[ -z "$(ls -A private)" ] || fail "written through the planted link: $(ls -A private)"
[ "$(batches)" = "$n" ] || fail "a refused run recorded a batch"
# A directory link of one's own is followed.
ln -s "$PWD/private" mine_reports
run -d "$db" register bad.csv --dry-run -o mine_reports/daily.csv
expect_rc 1
[ -s private/daily.csv ] || fail "not written through one's own link"

case_ "-o and --rejects: one's own link whose chain passes through another user's link is refused, naming that link and its owner (review 14, A1)"
# A drop box another user writes in; links of our own made into it long ago.
mkdir -p drop locked && chmod 700 locked
echo secret >victim.csv
echo secret >locked/passwd
ln -s drop/today.csv latest1.csv
ln -s "$PWD/victim.csv" drop/today.csv
ln -s drop/sub/passwd latest2.csv
ln -s "$PWD/locked" drop/sub
ln -s drop/rej.csv rej-latest.csv
ln -s "$PWD/locked/passwd" drop/rej.csv
mkfifo -m 600 locked/control
ln -s drop/ctl latest3.csv
ln -s "$PWD/locked/control" drop/ctl
owner_is_nobody drop/today.csv drop/sub drop/rej.csv drop/ctl
nobody=$(id -u nobody)
n=$(batches)
run -d "$db" register bad.csv -o latest1.csv
expect_rc 3
expect_err "latest1.csv: refusing to write the report: it leads through drop/today.csv, a symbolic link owned by user $nobody"
run -d "$db" register bad.csv -o latest2.csv
expect_rc 3
expect_err "latest2.csv: refusing to write the report: it leads through drop/sub, a symbolic link owned by user $nobody"
run -d "$db" register bad.csv --rejects rej-latest.csv -o /dev/null
expect_rc 3
expect_err "rej-latest.csv: refusing to write the rejects file: it leads through drop/rej.csv, a symbolic link owned by user $nobody"
# A root FIFO (a daemon's control pipe) nobody reads: refused at once.
timeout 60 "$BULKREG" -d "$db" register bad.csv -o latest3.csv >out 2>err
RC=$?
expect_rc 3
expect_err "it leads through drop/ctl, a symbolic link owned by user $nobody"
[ "$(cat victim.csv)" = secret ] || fail "victim.csv was replaced"
[ "$(cat locked/passwd)" = secret ] || fail "locked/passwd was replaced"
[ "$(ls -A locked)" = "control
passwd" ] || fail "written into locked/: $(ls -A locked)"
[ -L latest1.csv ] && [ -L drop/today.csv ] || fail "a link was replaced"
[ "$(batches)" = "$n" ] || fail "a refused run recorded a batch"
# The same chain, all of it ours (and root's), is followed to its end.
ln -s drop/ours.csv latest4.csv
mkdir -p mine_dir && echo old >mine_dir/r.csv && ln -s "$PWD/mine_dir/r.csv" drop/ours.csv
run -d "$db" register bad.csv --dry-run --format csv -o latest4.csv
expect_rc 1
grep -q '^3,S2,C1,rejected' mine_dir/r.csv || fail "not written through one's own chain"
[ -L latest4.csv ] && [ -L drop/ours.csv ] || fail "one's own links were replaced"

case_ "-o and --rejects: a directory on the way swapped for another user's link while the batch runs changes nothing (review 14, A8)"
# The check runs after -o and --rejects are open: it moves the directory
# away and puts a link of nobody's to a private directory in its place.
# The report and the rejects go into the directory that was checked (now
# moved), never through the link.  (Before the fix the rename went by
# name: through the link.)
mkdir -p box/reports private2 && chmod 700 private2
echo secret >private2/daily.csv
echo secret >private2/rej.csv
swap="[ -L '$PWD/box/reports' ] || { mv '$PWD/box/reports' '$PWD/box/moved' &&
	ln -s '$PWD/private2' '$PWD/box/reports' && chown -h nobody '$PWD/box/reports'; }"
run -d "$db" register bad.csv --dry-run --format csv --workers 1 --check "$swap" \
	-o box/reports/daily.csv --rejects box/reports/rej.csv
expect_rc 1
[ -L box/reports ] || fail "the check did not swap the directory: $(cat err)"
[ "$(cat private2/daily.csv)" = secret ] || fail "the report went through the swapped-in link"
[ "$(cat private2/rej.csv)" = secret ] || fail "the rejects went through the swapped-in link"
[ "$(ls -A private2)" = "daily.csv
rej.csv" ] || fail "a file was left in private2: $(ls -A private2)"
grep -q '^2,S1,C1,' box/moved/daily.csv || fail "the report is not in the directory checked: $(cat err)"
expect_same want.rejects box/moved/rej.csv

case_ "-o and --rejects /proc/self/fd/N or /dev/fd/N naming the open roster: refused, the roster kept (review 14, C1)"
# Descriptors 3-9 closed: whatever bulkreg holds there, it opened itself.
cp bad.csv roster-c1.csv
refused=0
for fd in 3 4 5 6; do
	for o in "/proc/self/fd/$fd" "/dev/fd/$fd"; do
		for opt in -o --rejects; do
			"$BULKREG" -d "$db" register roster-c1.csv --format csv "$opt" "$o" \
				3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- >out 2>err
			RC=$?
			expect_same bad.csv roster-c1.csv
			if grep -q "that is $PWD/roster-c1.csv, a file this run is reading" err; then
				expect_rc 2
				refused=$((refused + 1))
			fi
		done
	done
done
[ "$refused" -ge 2 ] || fail "the roster's descriptor was never refused"

case_ "--rejects: a FIFO another user planted is refused at once"
mkfifo planted.fifo
owner_is_nobody planted.fifo
# (Before the fix the FIFO was renamed over: no wait, but no refusal.)
timeout 60 "$BULKREG" -d "$db" register bad.csv --rejects planted.fifo -o /dev/null >out 2>err
RC=$?
expect_rc 3
expect_err "planted.fifo: refusing to write the rejects file: it is a FIFO owned by user"
[ -p planted.fifo ] || fail "the planted FIFO was replaced"

case_ "--rejects: a link of one's own to another user's FIFO is refused"
mkfifo theirs.fifo
owner_is_nobody theirs.fifo
ln -s theirs.fifo mine.csv
timeout 60 "$BULKREG" -d "$db" register bad.csv --rejects mine.csv -o /dev/null >out 2>err
RC=$?
expect_rc 3
expect_err "mine.csv: refusing to write the rejects file: it leads to a FIFO owned by user"
[ -L mine.csv ] || fail "the link was replaced"

case_ "--rejects: a FIFO of one's own is written into, and stays a FIFO"
mkfifo mine.fifo
timeout 60 cat mine.fifo >got.rejects &
reader=$!
run -d "$db" register bad.csv --dry-run --rejects mine.fifo -o /dev/null
expect_rc 1
wait $reader || fail "the FIFO's reader failed (the FIFO was never opened?)"
[ -p mine.fifo ] || fail "mine.fifo is no longer a FIFO"
expect_same want.rejects got.rejects

case_ "--rejects into a FIFO: nothing is written when the run ends in exit status 2"
printf 'student_id,email,course\nS1,bad,C1\nS2,x\377@y.org,C1\n' >badbyte.csv
timeout 60 cat mine.fifo >got2.rejects &
reader=$!
run -d "$db" register badbyte.csv --rejects mine.fifo -o /dev/null
expect_rc 2
expect_err "not valid UTF-8"
wait $reader || fail "the FIFO's reader failed"
expect_empty got2.rejects

case_ "--rejects through a link of one's own to /dev/null: written into the device, the link kept"
ln -s /dev/null null.csv
run -d "$db" register bad.csv --dry-run --rejects null.csv -o /dev/null
expect_rc 1
[ -L null.csv ] || fail "null.csv was replaced: $(ls -l null.csv)"
[ "$(readlink null.csv)" = /dev/null ] || fail "null.csv -> $(readlink null.csv)"
test -c /dev/null || fail "/dev/null is no longer a character device"
expect_err "1 rejected row written to null.csv"

case_ "--rejects /dev/null and /dev/stdout themselves, as root, in a throw-away /dev"
# unshare -m: a private mount namespace; the tmpfs hides the real /dev from
# this shell only.  Should /dev/null still be there after the mount, this
# is the real /dev: stop (77) before running anything.
if [ -n "${BULKREG_WRAPPER:-}" ] || [ "$(id -u)" != 0 ] ||
	! command -v unshare >/dev/null 2>&1 ||
	! unshare -m --propagation private true 2>/dev/null; then
	echo "note: no private mount namespace here: case skipped"
else
	unshare -m --propagation private sh -c '
		mount -t tmpfs tmpfs /dev || exit 77
		[ ! -e /dev/null ] || exit 77
		mknod -m 666 /dev/null c 1 3 || exit 77
		ln -s /proc/self/fd/1 /dev/stdout || exit 77
		"$BULKREG" -d "$db" register bad.csv --dry-run --rejects /dev/null \
			-o r1.csv >o1 2>e1
		echo $? >rc1
		echo earlier >o2
		"$BULKREG" -d "$db" register bad.csv --dry-run --rejects /dev/stdout \
			-o /dev/null >>o2 2>e2
		echo $? >rc2
		ls -l /dev/null /dev/stdout >sandbox.ls
		[ -c /dev/null ] || exit 1
		[ -L /dev/stdout ] || exit 2
		exit 0
	'
	sb=$?
	[ "$sb" -ne 77 ] || fail "the throw-away /dev could not be made"
	[ "$sb" -eq 0 ] || fail "the throw-away /dev was damaged ($sb): $(cat sandbox.ls)"
	[ "$(cat rc1)" = 1 ] || fail "--rejects /dev/null: exit $(cat rc1): $(cat e1)"
	[ "$(cat rc2)" = 1 ] || fail "--rejects /dev/stdout: exit $(cat rc2): $(cat e2)"
	{ echo earlier; cat want.rejects; } >want.o2
	expect_same want.o2 o2
	test -c /dev/null || fail "the real /dev/null is no longer a character device"
fi

# ---- 2. never renamed over standard output's or error's own file ------------
# cron: { echo start; bulkreg ... -o /dev/stdout; echo end; } >> log
for o in /dev/stdout /dev/fd/1 /proc/self/fd/1 log.txt; do
	case_ "-o $o while standard output is appended to log.txt: written in place"
	printf 'earlier line\n' >log.txt
	chmod 644 log.txt
	ino=$(inode log.txt)
	{
		echo start
		"$BULKREG" -q -d "$db" register bad.csv --dry-run --format csv -o "$o"
		echo "end rc=$?"
	} >>log.txt 2>err
	[ "$(inode log.txt)" = "$ino" ] || fail "log.txt was replaced (a new inode)"
	[ "$(stat -c %a log.txt)" = 644 ] || fail "log.txt is now $(stat -c %a log.txt)"
	{
		printf 'earlier line\nstart\n'
		printf 'line,student_id,course,status,position,reason,detail\n'
		printf '2,S1,C1,registered,,,\n'
		printf "3,S2,C1,rejected,,invalid_email,email: no '@'\n"
		printf 'end rc=1\n'
	} >want.log
	expect_same want.log log.txt
done

case_ "-o /dev/stderr while standard error is appended to a log: written in place"
printf 'earlier line\n' >elog.txt
ino=$(inode elog.txt)
"$BULKREG" -q -d "$db" register bad.csv --dry-run --format csv -o /dev/stderr \
	>out 2>>elog.txt
[ "$(inode elog.txt)" = "$ino" ] || fail "elog.txt was replaced (a new inode)"
head -n 1 elog.txt | grep -qx 'earlier line' || fail "elog.txt lost its first line:
$(cat elog.txt)"
grep -q '^3,S2,C1,rejected' elog.txt || fail "elog.txt lacks the report:
$(cat elog.txt)"

# (--rejects /dev/stdout itself only in the throw-away /dev above: before
# the fix it was renamed over, and this runs as root.)
case_ "--rejects through a link to /proc/self/fd/1, or the log's own name, while standard output is appended to the log"
ln -s /proc/self/fd/1 my-stdout
for r in my-stdout log.txt; do
	printf 'earlier line\n' >log.txt
	ino=$(inode log.txt)
	{
		echo start
		"$BULKREG" -q -d "$db" register bad.csv --dry-run --rejects "$r" -o /dev/null
		echo "end rc=$?"
	} >>log.txt 2>err
	[ "$(inode log.txt)" = "$ino" ] || fail "--rejects $r: log.txt was replaced"
	{
		printf 'earlier line\nstart\n'
		rejects_of_bad
		printf 'end rc=1\n'
	} >want.log
	expect_same want.log log.txt
done

case_ "-o and --rejects a file of one's own, not standard output's, are still replaced whole"
echo old >plain.csv
ino=$(inode plain.csv)
run -d "$db" register bad.csv --dry-run --rejects plain.csv -o /dev/null
expect_rc 1
expect_same want.rejects plain.csv
[ "$(inode plain.csv)" != "$ino" ] || fail "plain.csv was written in place, not replaced"

# ---- 3. the database's -wal, -shm and -journal ------------------------------
case_ "-o and --rejects naming one file under two names (./, a directory, a link; there or not yet): refused, nothing done"
n=$(sql "$db" "SELECT count(*) FROM batches")
mkdir -p two
ln -sf two/rep.csv rep-link.csv
for o in rep.csv two/rep.csv; do
	rm -f two/rep.csv rep.csv
	for r in "./$o" "$PWD/$o" "two/../$o"; do
		run -d "$db" register bad.csv -o "$o" --rejects "$r"
		expect_rc 2
		expect_err "--rejects $r: that is the report's file (-o); the rejected rows would replace it"
		[ ! -e "$o" ] || fail "-o $o --rejects $r: $o was written"
	done
done
echo kept >two/rep.csv
run -d "$db" register bad.csv -o two/rep.csv --rejects rep-link.csv
expect_rc 2
expect_err "--rejects rep-link.csv: that is the report's file (-o)"
run -d "$db" register bad.csv -o rep-link.csv --rejects ./two/rep.csv
expect_rc 2
expect_err "that is the report's file (-o)"
[ "$(cat two/rep.csv)" = kept ] || fail "the file was replaced"
[ "$(sql "$db" "SELECT count(*) FROM batches")" = "$n" ] || fail "a refused run recorded a batch"
dump "$db" now.state
expect_same empty.state now.state

if [ "$STORE" = pg ]; then
	echo "note: the -wal, -shm and -journal cases are SQLite's: not run on PostgreSQL"
	exit 0
fi
case_ "a batch to undo"
run -d "$db" register bad.csv
expect_rc 1
batch=$(sql "$db" "SELECT max(id) FROM batches")
printf 'student_id,course\nS1,C1\n' >drop.csv
mkdir sub
ln -s . here
dump "$db" before.state

for s in -wal -shm -journal; do
	for o in "t.db$s" "./sub/../t.db$s" "$PWD/here/t.db$s"; do
		case_ "-o $o (not there yet) is refused before anything is done, by every command that writes a report"
		# They stay beside the database once made (review 21, F13 and
		# F15): removed here to try a name that is not there yet.
		rm -f t.db-wal t.db-shm t.db-journal
		n=$(batches)
		for cmd in "register bad.csv" "register --sync bad.csv" \
			"drop drop.csv" "drop --student S1 --course C1" "undo $batch"; do
			# shellcheck disable=SC2086 # cmd is words
			run -d t.db $cmd -o "$o"
			expect_rc 2
			expect_err "-o $o: that is the database's $s file"
			[ ! -e "t.db$s" ] || fail "$cmd -o $o: t.db$s is there"
		done
		for cmd in "register bad.csv" "drop drop.csv"; do
			# shellcheck disable=SC2086
			run -d t.db $cmd --rejects "$o"
			expect_rc 2
			expect_err "--rejects $o: that is the database's $s file"
		done
		[ "$(batches)" = "$n" ] || fail "a refused run recorded a batch"
		dump t.db after.state
		expect_same before.state after.state
	done
done

case_ "-o t.db-wal, -shm and -journal when they are there (they stay once made): refused by name, kept"
run -d t.db course list
expect_rc 0
for s in -wal -shm -journal; do
	ino=$(stat -c %i "t.db$s") || fail "no t.db$s after a run"
	run -d t.db register bad.csv -o "t.db$s"
	expect_rc 2
	expect_err "-o t.db$s: that is the database's $s file"
	[ "$(stat -c %i "t.db$s")" = "$ino" ] || fail "t.db$s was replaced"
done

case_ "-d given another way than -o: still the same name"
run -d "$PWD/sub/../t.db" register bad.csv --dry-run -o t.db-wal
expect_rc 2
expect_err "-o t.db-wal: that is the database's -wal file"
run -d here/t.db register bad.csv --dry-run --rejects "$PWD/t.db-journal"
expect_rc 2
expect_err "that is the database's -journal file"

case_ "a name that only looks alike is not refused"
run -d t.db register bad.csv --dry-run -o t.db-wal.csv --format csv
expect_rc 1
grep -q '^3,S2,C1,rejected' t.db-wal.csv || fail "t.db-wal.csv lacks the report"

case_ "a missing directory is named, with what to do (review 17, B8): -o, --rejects, the database"
run -d "$db" register bad.csv -o logs/today.csv --format csv
expect_rc 3
expect_err "logs/today.csv: cannot create the report: there is no directory logs: create it first (mkdir -p logs)"
run -d "$db" register bad.csv --rejects "$PWD/fix/me.csv"
expect_rc 3
expect_err "cannot create the rejects file: there is no directory $PWD/fix: create it first (mkdir -p $PWD/fix)"
[ "$STORE" = pg ] || {
	run -d lib/bulkreg/reg.db init
	expect_rc 3
	expect_err "lib/bulkreg/reg.db: cannot open: there is no directory lib/bulkreg: create it first (mkdir -p lib/bulkreg)"
	[ ! -e lib ] || fail "a directory was made"
}
mkdir -p logs
run -d "$db" register bad.csv --dry-run -o logs/today.csv --format csv
expect_rc 1

case_ "a rename that fails after the commit keeps the rejected rows, named (review 21, F01)"
# A directory appears at the --rejects name while the batch runs (the
# check makes it): the rename over it fails after the commit.  The rows
# the user must fix stay in the temporary file, which the message names.
rm -rf late
mkdir late
run -d "$db" register bad.csv -o late/r.txt --rejects late/rej.csv \
	--check 'mkdir -p late/rej.csv'
expect_rc 3
expect_err "late/rej.csv: cannot put the rejects file in place"
expect_err "the rejected rows are kept in late/.rej.csv."
expect_err "is committed, and its report written"
kept=$(ls -A late | grep '^\.rej\.csv\.') || fail "the temporary rejects file is gone: $(ls -A late)"
[ -f late/r.txt ] || fail "the report is not in place"
cmp -s "late/$kept" want.rejects || fail "the kept rows: $(cat "late/$kept")"
# The report's rename failing: the report is kept, and the rejects file
# still goes into place.
rm -rf late
mkdir late
run -d "$db" register bad.csv -o late/r.txt --rejects late/rej.csv \
	--check 'mkdir -p late/r.txt'
expect_rc 3
expect_err "late/r.txt: cannot put the report in place"
expect_err "its report is at late/.r.txt."
cmp -s late/rej.csv want.rejects || fail "the rejects file is not in place: $(ls -A late)"

case_ "a closed standard output or error, by name (/dev/stdout, /dev/fd/1, /proc/self/fd/1, /dev/stderr): as closed as without -o (review 21, F04)"
regs_before=$(sql "$db" "SELECT count(*) FROM registrations")
for o in /dev/stdout /dev/fd/1 /proc/self/fd/1; do
	"$BULKREG" -d "$db" register bad.csv -o "$o" >&- 2>err
	RC=$?
	expect_rc 3
	expect_err "standard output: write failed: Bad file descriptor; batch"
	expect_err "was rolled back"
done
"$BULKREG" -d "$db" register bad.csv --rejects /dev/stderr -o closed.txt 2>&-
RC=$?
expect_rc 3
[ ! -e closed.txt ] || fail "the report was written: the batch went on"
# (The rolled-back batches are in the history; no registration is.)
regs_after=$(sql "$db" "SELECT count(*) FROM registrations")
[ "$regs_before" = "$regs_after" ] || fail "registrations: $regs_before, then $regs_after"
# /dev/null itself, with standard output closed, is still /dev/null.
"$BULKREG" -d "$db" register bad.csv --dry-run -o /dev/null >&- 2>err
RC=$?
expect_rc 1
