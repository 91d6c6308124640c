# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, DATA, RC, R come from lib.sh and run
# t_planted: another local user (nobody, through setpriv) plants files where
# a root run of bulkreg will write -- a symbolic link or a FIFO at the -o
# path, a -wal, -shm or -journal (a hot one too) beside the database, a
# link as the database, a trigger in it -- before the run or at a random
# moment during it
# (issue 14).  Each trial: the planted file is refused (exit 3, the reason
# named) or made harmless (the rename replaces a link, it never follows
# it); whatever the link pointed to is byte for byte as before; nothing
# bulkreg created is readable by others; the database passes
# integrity_check and holds the whole batch or none of it.

[ "$(id -u)" -eq 0 ] || {
	note "planted: needs root to play another user: skipped"
	trial_start "not-root"
	trial_end "(skipped)"
	return 0 2>/dev/null || exit 0
}
AS="setpriv --reuid=nobody --regid=nogroup --clear-groups"
$AS true 2>/dev/null || setup_fail "setpriv cannot become nobody"

"$TOOLS/gen_roster" courses 2000 7 >courses.csv
"$TOOLS/gen_roster" roster 2000 7 >small.csv
umask 022
"$BULKREG" -d base.db course import courses.csv >/dev/null 2>&1 ||
	setup_fail "cannot import courses"

# A shared directory as cron jobs use them: anyone may create files.
mkdir -p shared
chmod 1777 shared
# What a planted link points to: root's own, private file.
printf 'root only\n' >secret
chmod 600 secret
cp secret secret.copy

expect_rc() {
	[ "$RC" -eq "$1" ] || fail_trial "exit status $RC, expected $1: $(head -c 300 err)"
}
expect_err() {
	grep -q -E -- "$1" err || fail_trial "stderr lacks /$1/: $(head -c 300 err)"
}
secret_intact() {
	cmp -s secret secret.copy || fail_trial "the link's target was written"
	[ "$(stat -c %a secret)" = 600 ] ||
		fail_trial "the link's target is now $(stat -c %a secret)"
}
private() {
	for _f in "$@"; do
		[ ! -e "$_f" ] || [ "$(stat -c %a "$_f")" = 600 ] ||
			fail_trial "$_f is $(stat -c %a "$_f"), not 600"
	done
}
fresh_db() {
	rm -f shared/db shared/db-wal shared/db-shm shared/db-journal
	copy_db base.db shared/db
	full_state shared/db before.state
}
db_unchanged() {
	integrity shared/db >/dev/null || fail_trial "integrity_check failed"
	full_state shared/db after.state
	same before.state after.state >/dev/null ||
		fail_trial "the database changed"
}

# ---- planted before the run -----------------------------------------------

trial_start "-o symbolic link to root's file"
fresh_db
rm -f shared/out.csv
$AS ln -s "$PWD/secret" shared/out.csv
"$BULKREG" -d shared/db register small.csv -o shared/out.csv >out 2>err
RC=$?
expect_rc 3
expect_err "symbolic link owned by user"
secret_intact
db_unchanged
trial_end

trial_start "-o FIFO nobody reads"
fresh_db
rm -f shared/out.csv
$AS mkfifo shared/out.csv
"$BULKREG" -d shared/db register small.csv -o shared/out.csv >out 2>err &
pid=$!
wait_exit "$pid" 30 || fail_trial "bulkreg hung on the planted FIFO"
expect_rc 3
expect_err "FIFO owned by user"
db_unchanged
trial_end

trial_start "-o regular file nobody planted: replaced by root's report, never written into"
fresh_db
rm -f shared/out.csv
$AS sh -c 'echo planted >shared/out.csv'
planted_ino=$(stat -c %i shared/out.csv)
$AS sh -c 'exec 3<shared/out.csv; sleep 30' &
holder=$!
"$BULKREG" -d shared/db register small.csv -o shared/out.csv >out 2>err
RC=$?
[ "$RC" -le 1 ] || fail_trial "exit status $RC: $(head -c 300 err)"
[ "$(stat -c '%U %a' shared/out.csv)" = "root 600" ] ||
	fail_trial "the report is $(stat -c '%U %a' shared/out.csv)"
[ "$(stat -c %i shared/out.csv)" != "$planted_ino" ] ||
	fail_trial "the planted file was written into"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
trial_end

trial_start "-o root's file in the sticky directory, run by nobody: refused before the batch"
rm -rf nbdir shared/theirs.csv
mkdir nbdir
copy_db base.db nbdir/db
chown -R nobody nbdir
full_state nbdir/db nb-before.state
echo "root's" >shared/theirs.csv
$AS "$BULKREG" -d nbdir/db register small.csv -o shared/theirs.csv \
	--rejects nbdir/rej.csv >out 2>err
RC=$?
expect_rc 3
expect_err "there is a file there owned by user 0"
[ "$(cat shared/theirs.csv)" = "root's" ] || fail_trial "root's file was changed"
[ ! -e nbdir/rej.csv ] || fail_trial "the rejects file was written"
full_state nbdir/db nb-after.state
same nb-before.state nb-after.state >/dev/null || fail_trial "the database changed"
rm -rf nbdir shared/theirs.csv
trial_end

trial_start "-o hard link to root's own symbolic link (fs.protected_hardlinks off): refused"
fresh_db
rm -f shared/out.csv shared/rootlink
# Root makes it here, as nobody could where protected_hardlinks is off.
ln -s "$PWD/secret" shared/rootlink
ln -P shared/rootlink shared/out.csv || setup_fail "cannot hard-link a link"
"$BULKREG" -d shared/db register small.csv -o shared/out.csv >out 2>err
RC=$?
expect_rc 3
expect_err "is a symbolic link with 2 names"
secret_intact
db_unchanged
rm -f shared/out.csv shared/rootlink
trial_end

for f in db-wal db-shm db-journal; do
	trial_start "pre-created $f, held open by its owner"
	fresh_db
	$AS sh -c "umask 0; : >shared/$f"
	# The owner keeps it open, as the attack does, until the run is over.
	: >"shared/$f.hold"
	$AS sh -c "exec 3<>shared/$f; while [ -e shared/$f.hold ]; do sleep 0.05; done" &
	holder=$!
	"$BULKREG" -d shared/db register small.csv >out 2>err
	RC=$?
	rm -f "shared/$f.hold"
	wait "$holder"
	expect_rc 3
	expect_err "$f: owned by user"
	[ ! -s "shared/$f" ] || fail_trial "bulkreg wrote into the planted $f"
	rm -f "shared/$f"
	db_unchanged
	trial_end
done

trial_start "a hot -journal planted by nobody is not played back"
fresh_db
# Magic, 0 records, nonce, "the database had 1 page", sector 512, page
# 4096: played back, it would cut the database to its first page.
$AS sh -c "{ printf '\\331\\325\\005\\371\\040\\241\\143\\327\\000\\000\\000\\000\\022\\064\\126\\170'
	printf '\\000\\000\\000\\001\\000\\000\\002\\000\\000\\000\\020\\000'
	head -c 484 /dev/zero; } >shared/db-journal"
[ "$(stat -c %s shared/db-journal)" = 512 ] || setup_fail "cannot plant the journal"
"$BULKREG" -d shared/db course list >out 2>err
RC=$?
expect_rc 3
expect_err "db-journal: owned by user"
rm -f shared/db-journal
db_unchanged
trial_end

trial_start "database path is a link planted by nobody"
rm -f shared/link.db
$AS ln -s "$PWD/secret" shared/link.db
"$BULKREG" -d shared/link.db register small.csv >out 2>err
RC=$?
expect_rc 3
expect_err "symbolic link"
secret_intact
trial_end

trial_start "database with a trigger that copies every email"
fresh_db
sqlite3 shared/db "CREATE TABLE loot (email TEXT);
CREATE TRIGGER steal AFTER INSERT ON students BEGIN
 INSERT INTO loot VALUES (new.email); END;" || setup_fail "cannot plant"
full_state shared/db before.state
"$BULKREG" -d shared/db register small.csv >out 2>err
RC=$?
expect_rc 3
expect_err "trigger steal on students"
db_unchanged
[ "$(sqlite3 shared/db 'SELECT count(*) FROM loot')" = 0 ] ||
	fail_trial "emails were copied"
trial_end

# ---- planted at a random moment of a running batch --------------------------
# The link or FIFO appears at the -o path while bulkreg works (after it
# checked the path); the report's rename then replaces the planted file,
# never writes through it.  The 100k roster takes long enough for the
# plant to land anywhere from start to finish.

rm -f race.db
"$BULKREG" -d race.db course import "$DATA/courses100k.csv" >/dev/null 2>&1 ||
	setup_fail "cannot import courses100k"
trials=${PLANTED_TRIALS:-8}
i=0
while [ "$i" -lt "$trials" ]; do
	i=$((i + 1))
	rand 2
	kind=$R
	rand 600
	delay=$R
	name="plant $([ "$kind" = 0 ] && echo link || echo FIFO) at ${delay} ms"
	trial_start "$name"
	rm -f shared/race.csv
	copy_db race.db shared/db
	full_state shared/db before.state
	"$BULKREG" -d shared/db register "$DATA/roster100k.csv" --format csv \
		-o shared/race.csv >out 2>err &
	pid=$!
	sleep_ms "$delay"
	if [ "$kind" = 0 ]; then
		$AS ln -s "$PWD/secret" shared/race.csv 2>/dev/null
	else
		$AS mkfifo shared/race.csv 2>/dev/null
	fi
	wait_exit "$pid" 120 || fail_trial "bulkreg did not finish"
	secret_intact
	integrity shared/db >/dev/null || fail_trial "integrity_check failed"
	if [ "$RC" -eq 0 ] || [ "$RC" -eq 1 ]; then
		# Committed: the report replaced whatever was planted.
		[ -f shared/race.csv ] && [ ! -L shared/race.csv ] ||
			fail_trial "the report is not a regular file in place"
		private shared/race.csv shared/db
		[ "$(sqlite3 shared/db "SELECT outcome FROM batches ORDER BY id DESC LIMIT 1")" = committed ] ||
			fail_trial "exit $RC without a committed batch"
	elif [ "$RC" -eq 3 ]; then
		# Planted before the run looked: refused, nothing committed.
		grep -q "owned by user" err ||
			fail_trial "exit 3 without the reason: $(head -c 300 err)"
		full_state shared/db after.state
		same before.state after.state >/dev/null ||
			fail_trial "refused, yet the database changed"
	else
		fail_trial "exit status $RC: $(head -c 300 err)"
	fi
	[ -z "$(hidden_temps shared race.csv)" ] ||
		fail_trial "temporary reports left: $(hidden_temps shared race.csv)"
	trial_end "(exit $RC)"
done

# The files beside the database, tried at a random moment: one there before
# bulkreg looks is refused (exit 3); from before SQLite opens the database
# on they are bulkreg's (made exclusively before the open) and stay, after
# the run too (review 21, F13 and F15), so nobody's exclusive create can
# succeed after that; one that got in anyway holds nothing and is refused
# by the next run.
i=0
while [ "$i" -lt "$trials" ]; do
	i=$((i + 1))
	rand 3
	f=$(echo "db-wal db-shm db-journal" | cut -d' ' -f$((R + 1)))
	rand 600
	delay=$R
	trial_start "plant $f at ${delay} ms"
	copy_db race.db shared/db
	rm -f shared/db-wal shared/db-shm shared/db-journal
	full_state shared/db before.state
	"$BULKREG" -d shared/db register "$DATA/roster100k.csv" --format csv \
		-o /dev/null >out 2>err &
	pid=$!
	sleep_ms "$delay"
	# Kept open by its owner until the run is over, as the attack does.
	$AS sh -c "set -C; exec 3>shared/$f; echo planted >shared/$f.ok
		while [ -d /proc/$pid ]; do sleep 0.05; done" 2>/dev/null &
	holder=$!
	wait_exit "$pid" 120 || fail_trial "bulkreg did not finish"
	wait "$holder"
	# (Before sqlite3 looks: it would take a planted -shm as its own.)
	if [ "$RC" -eq 3 ]; then
		# Planted before bulkreg looked: refused, the database as it was.
		grep -q "$f: owned by user" err ||
			fail_trial "exit 3 without the reason: $(head -c 300 err)"
		rm -f "shared/$f"
		full_state shared/db after.state
		same before.state after.state >/dev/null ||
			fail_trial "refused, yet the database changed"
		got="refused at the start"
	elif [ "$RC" -ne 0 ] && [ "$RC" -ne 1 ]; then
		fail_trial "exit status $RC: $(head -c 300 err)"
	elif [ -e "shared/$f.ok" ]; then
		# It got in: then it holds nothing, and the next run refuses it.
		[ ! -s "shared/$f" ] || fail_trial "bulkreg wrote into the planted $f"
		"$BULKREG" -d shared/db course list >out 2>err
		RC=$?
		expect_rc 3
		expect_err "$f: owned by user"
		got=planted
	else
		got=refused
	fi
	rm -f "shared/$f" "shared/$f.ok"
	integrity shared/db >/dev/null || fail_trial "integrity_check failed"
	private shared/db
	trial_end "($got)"
done
