# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, RC come from lib.sh and run
# t_pg_students: on PostgreSQL a batch locks a student only when it writes
# it, at its end, and writes it only if it is still as the batch read it.
# So two batches on disjoint courses that name the same students do not
# wait for each other; and if one changed or added a student the other
# changes or adds too, the later one writes nothing and runs again by
# itself (exit 3 when its roster is standard input, which cannot be read
# again), and converges.  bulkreg-test holds a batch between its decisions and
# its writes (BULKREG_TEST_HOLD_FLUSH) to make the window certain.
pg_only "a race between two clients of one PostgreSQL database"

TEST_BIN=${BULKREG}-test
[ -x "$TEST_BIN" ] || fail "no $TEST_BIN (make builds it)"

# hold_start DIR ARGS...: runs bulkreg-test ARGS in the background, held
# before its writes; returns once it is held.  hold_end: lets it go and
# waits; its status in $RC, its output in DIR.out and DIR.err.
hold_start() {
	HOLD=$1
	shift
	rm -rf "$HOLD"
	mkdir "$HOLD"
	BULKREG_TEST_HOLD_FLUSH=$PWD/$HOLD "$TEST_BIN" "$@" <"${HOLD_IN:-/dev/null}" >"$HOLD.out" 2>"$HOLD.err" &
	HOLD_PID=$!
	_n=0
	while [ ! -e "$HOLD/held" ]; do
		kill -0 "$HOLD_PID" 2>/dev/null || fail "the held batch ended early: $(cat "$HOLD.err")"
		_n=$((_n + 1))
		[ "$_n" -lt 15000 ] || fail "the batch was never held"
		sleep 0.002
	done
}
hold_end() {
	: >"$HOLD/go"
	wait "$HOLD_PID"
	RC=$?
}

db=$(new_db s)
printf '%s\n' "code,title,capacity,waitlist" "C1,One,10," "C2,Two,10," \
	"C3,Three,10," >courses.csv
run -d "$db" course import courses.csv
expect_rc 0
printf '%s\n' "student_id,first_name,last_name,email,course" \
	"S1,Ann,Lee,ann@uni.example,C1" >base.csv
run -d "$db" register base.csv
expect_rc 0

case_ "a batch on other courses naming the same student runs while the first is held"
printf '%s\n' "student_id,first_name,last_name,email,course" \
	"S1,Ann,Lee,ann@uni.example,C2" "N1,New,One,n1@uni.example,C2" >a.csv
printf '%s\n' "student_id,first_name,last_name,email,course" \
	"S1,Ann,Lee,ann@uni.example,C3" >b.csv
hold_start ha -d "$db" register a.csv --wait 5
run -d "$db" register b.csv --wait 5
expect_rc 0
hold_end
[ "$RC" -eq 0 ] || fail "the held batch: exit $RC: $(cat ha.err)"
[ "$(sql "$db" "SELECT count(*) FROM registrations WHERE student_id = 'S1'")" = 3 ] ||
	fail "S1 is not in three courses"

case_ "a student changed by another batch meanwhile: nothing written, and the batch (its roster a file) runs again by itself and converges"
printf '%s\n' "student_id,first_name,last_name,email,course" \
	"S1,Anna,Lee,ann@uni.example,C2" >change_a.csv
printf '%s\n' "student_id,first_name,last_name,email,course" \
	"S1,Annie,Lee,ann@uni.example,C3" >change_b.csv
batches_before=$(sql "$db" "SELECT count(*) FROM batches")
hold_start hc -d "$db" register change_a.csv --update-students always --wait 5
run -d "$db" register change_b.csv --update-students always --wait 5
expect_rc 0
hold_end
[ "$RC" -eq 0 ] || fail "the held batch: exit $RC, expected 0: $(cat hc.err)"
grep -q "warning: .*another batch changed student S1 at the same time; nothing was written: run it again; running it again" hc.err ||
	fail "message: $(cat hc.err)"
[ "$(sql "$db" "SELECT first_name FROM students WHERE student_id = 'S1'")" = Anna ] ||
	fail "S1 is not as the batch run again left it"
[ "$(sql "$db" "SELECT count(*) FROM batches")" = $((batches_before + 2)) ] ||
	fail "not one record per batch: $(sql "$db" "SELECT id, outcome FROM batches")"
[ "$(sql "$db" "SELECT count(*) FROM history WHERE student_id = 'S1' AND event = 'student'")" = 2 ] ||
	fail "the two changes are not both in the history"

case_ "... the same with the roster on standard input, which cannot be read again: exit 3, nothing written, the re-run converges"
printf '%s\n' "student_id,first_name,last_name,email,course" \
	"S1,Anya,Lee,ann@uni.example,C2" >change_c.csv
printf '%s\n' "student_id,first_name,last_name,email,course" \
	"S1,Anka,Lee,ann@uni.example,C3" >change_d.csv
batches_before=$(sql "$db" "SELECT count(*) FROM batches")
HOLD_IN=change_c.csv hold_start hs -d "$db" register - --update-students always --wait 5
run -d "$db" register change_d.csv --update-students always --wait 5
expect_rc 0
hold_end
[ "$RC" -eq 3 ] || fail "the held batch: exit $RC, expected 3: $(cat hs.err)"
grep -q "another batch changed student S1 at the same time; nothing was written: run it again" hs.err ||
	fail "message: $(cat hs.err)"
! grep -q "running it again" hs.err || fail "standard input was read again: $(cat hs.err)"
[ "$(sql "$db" "SELECT first_name FROM students WHERE student_id = 'S1'")" = Anka ] ||
	fail "S1 is not as the other batch left it"
[ "$(sql "$db" "SELECT count(*) FROM batches")" = $((batches_before + 1)) ] ||
	fail "the failed batch left a record"
run -d "$db" register change_c.csv --update-students always
expect_rc 0
[ "$(sql "$db" "SELECT first_name FROM students WHERE student_id = 'S1'")" = Anya ] ||
	fail "the re-run did not change S1"

case_ "a new student added by another batch meanwhile: nothing written, the batch runs again by itself and converges"
printf '%s\n' "student_id,first_name,last_name,email,course" \
	"N2,Nia,Two,n2@uni.example,C1" >new_a.csv
printf '%s\n' "student_id,first_name,last_name,email,course" \
	"N2,Nia,Two,n2@uni.example,C3" >new_b.csv
hold_start hn -d "$db" register new_a.csv --wait 5
run -d "$db" register new_b.csv --wait 5
expect_rc 0
hold_end
[ "$RC" -eq 0 ] || fail "the held batch: exit $RC, expected 0: $(cat hn.err)"
grep -q "another batch added student N2 at the same time; nothing was written: run it again; running it again" hn.err ||
	fail "message: $(cat hn.err)"
[ "$(sql "$db" "SELECT count(*) FROM registrations WHERE student_id = 'N2'")" = 2 ] ||
	fail "N2 is not in both courses"

case_ "a batch numbered before another that changed its course first runs again under a new number (review 13 A4, review 15 A1)"
# C9 has one seat.  Batch A (register S2) takes its number, then waits in
# its check -- before it locks C9 -- while `undo` of S1's batch commits and
# frees the seat.  Had A then taken the seat under its earlier number, the
# history would put its change before the undo's, and undoing the undo
# would give S1 the seat back over capacity.  A loses the race instead and
# runs again, numbered after the undo.
u=$(new_db u)
printf 'code,title,capacity,waitlist\nC9,One seat,1,0\n' >one.csv
run -d "$u" course import one.csv
expect_rc 0
printf 'student_id,first_name,last_name,email,course\nS1,A,B,s1@x.org,C9\n' >u1.csv
printf 'student_id,first_name,last_name,email,course\nS2,C,D,s2@x.org,C9\n' >u2.csv
run -d "$u" register u1.csv
expect_rc 0
b1=$(sql "$u" "SELECT max(id) FROM batches")
"$BULKREG" -d "$u" register u2.csv --format csv \
	--check "touch '$PWD/started'; until [ -e '$PWD/go' ]; do sleep 0.01; done" \
	>late.out 2>late.err &
late=$!
_n=0
until [ -e started ]; do
	kill -0 "$late" 2>/dev/null || fail "the late batch ended early: $(cat late.err)"
	_n=$((_n + 1))
	[ "$_n" -lt 15000 ] || fail "the late batch's check never ran"
	sleep 0.002
done
run -d "$u" undo "$b1" --format csv
expect_rc 0
expect_out ",S1,C9,dropped,"
undo_id=$(sql "$u" "SELECT max(id) FROM batches WHERE kind = 'undo'")
# The check (the run again's too) goes on once ./go exists.
: >go
wait "$late" || fail "the late batch: exit $?: $(cat late.err) $(cat late.out)"
grep -q "changed course C9 first; nothing was written: run it again; running it again" late.err ||
	fail "the late batch did not run again: $(cat late.err)"
grep -q "^2,S2,C9,registered," late.out || fail "S2 did not take the seat: $(cat late.out)"
late_id=$(sql "$u" "SELECT max(id) FROM batches WHERE kind = 'register'")
[ "$late_id" -gt "$undo_id" ] || fail "the late batch ($late_id) is not numbered after the undo ($undo_id)"
run -d "$u" verify
expect_rc 0
run -d "$u" undo "$undo_id"
expect_rc 2
expect_err "later batch $late_id changed the same courses"
[ "$(sql "$u" "SELECT registered FROM courses WHERE code = 'C9'")" = 1 ] || fail "C9 over capacity"

case_ "course commands wait for running batches before any course row: two hosts creating one course both succeed (review 15, B7, B8)"
k=$(new_db k)
printf 'code,title,capacity,waitlist\nK1,One,5,\n' >k.csv
run -d "$k" course import k.csv
expect_rc 0
printf 'student_id,first_name,last_name,email,course\nS1,A,B,s1@x.org,K1\n' >k1.csv
hold_start hk -d "$k" register k1.csv --wait 20
printf 'code,title,capacity,waitlist\nK2,Two,3,\nK1,One,6,\n' >k2.csv
"$BULKREG" -d "$k" course add K3 --capacity 3 --wait 20 >ka.out 2>ka.err &
ka=$!
"$BULKREG" -d "$k" course add K3 --capacity 3 --wait 20 >kb.out 2>kb.err &
kb=$!
"$BULKREG" -d "$k" course import k2.csv --wait 20 >ki.out 2>ki.err &
ki=$!
# All three wait for the held batch's course before it goes on.
_n=0
until [ "$(sql "$k" "SELECT count(*) FROM pg_locks WHERE NOT granted
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")" -ge 3 ]; do
	_n=$((_n + 1))
	[ "$_n" -lt 5000 ] || fail "the course commands never waited"
	sleep 0.005
done
hold_end
[ "$RC" -eq 0 ] || fail "the held register: exit $RC: $(cat hk.err)"
for p in ka kb ki; do
	eval "wait \$$p" || fail "$p: $(cat $p.err)"
done
grep -q "course K3 created" ka.err kb.err || fail "K3 not created: $(cat ka.err kb.err)"
grep -q "course K3: another bulkreg created it meanwhile; saved as given (capacity 3, waitlist unlimited)" ka.err kb.err ||
	fail "the second K3 is not said to be another's: $(cat ka.err kb.err)"
run -d "$k" course list --format csv
expect_out "K1,One,6,"
expect_out "K2,Two,3,"
expect_out "K3,,3,"
run -d "$k" verify
expect_rc 0

case_ "a batch waiting for a course another batch is changing: its progress line names the course, then counts (review 15, C1)"
# The held batch holds C3's lock; the second, on a terminal, waits for it.
# The test lets the first go only once the line has said so.  No sleep.
printf '%s\n' "student_id,first_name,last_name,email,course" \
	"W1,Wai,Ting,w1@uni.example,C3" >w1.csv
printf '%s\n' "student_id,first_name,last_name,email,course" \
	"W2,Wai,Ting,w2@uni.example,C3" >w2.csv
hold_start hw -d "$db" register w1.csv --wait 120
python3 - "$db" "$PWD/hw/go" <<'PY' || fail "the wait for C3 is not shown: $(od -c tty | tail -20)"
import os, re, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/e2e")
import ptyrun
db, go = sys.argv[1], sys.argv[2]
# Wide enough for the whole line (a narrower terminal cuts it).
out, code, _, released = ptyrun.run(
    ["-d", db, "register", "w2.csv", "--wait", "120", "-o", "w2.txt"], cols=200,
    when=[(rb"\r\x1b\[Kbulkreg: waiting \d+ s so far, up to 120 s \(--wait\), for course C3, which another batch is changing",
           ptyrun.touch(go))])
assert released, out[-300:]
assert code == 0, code
assert re.search(rb"bulkreg: 1 row in \d+\.\d s \([\d,]+ rows/s\), after \d+\.\d s waiting for other batches\r?\n", out), out[-300:]
PY
wait "$HOLD_PID"
RC=$?
[ "$RC" -eq 0 ] || fail "the held batch: exit $RC: $(cat hw.err)"
[ "$(sql "$db" "SELECT count(*) FROM registrations WHERE course_id = (SELECT id FROM courses WHERE code = 'C3') AND student_id IN ('W1', 'W2')")" = 2 ] ||
	fail "W1 and W2 are not both in C3"

case_ "verify passes"
run -d "$db" verify
expect_rc 0

case_ "a batch that meets a student a later-numbered batch added and committed first writes nothing (review 20, F04)"
# X takes its number, then Y (numbered after X) adds S1 and commits, then X
# reads S1: using it would put X's change of S1 before S1's creation in the
# history's number order.  X's roster is a FIFO, fed row by row; X has its
# number once the batch sequence has moved (polled, not timed).
f4=$(new_db f4)
printf 'code,title,capacity,waitlist\nC1,One,5,\nC2,Two,5,\nC3,Three,5,\n' >f4c.csv
run -d "$f4" course import f4c.csv
expect_rc 0
printf 'student_id,first_name,last_name,email,course\nA1,Al,Pre,a1@u.example,C1\nA2,Bo,Pre,a2@u.example,C2\n' >f4a.csv
run -d "$f4" register f4a.csv
expect_rc 0
seq0=$(sql "$f4" "SELECT last_value FROM batches_id_seq")
rm -f x.fifo
mkfifo x.fifo || fail "mkfifo"
"$BULKREG" -d "$f4" register - --label X -o /dev/null <x.fifo >x.out 2>x.err &
xpid=$!
exec 3>x.fifo
printf 'student_id,first_name,last_name,email,course\nT9,Tia,Other,t9@u.example,C3\n' >&3
tries=0
while [ "$(sql "$f4" "SELECT last_value FROM batches_id_seq")" = "$seq0" ]; do
	tries=$((tries + 1))
	[ $tries -lt 600 ] || fail "X never took its number"
	sleep 0.05
done
printf 'student_id,first_name,last_name,email,course\nS1,Sam,OldName,s1@u.example,C2\n' >y.csv
run -d "$f4" register y.csv --label Y
expect_rc 0
printf 'S1,Sam,NewName,s1@u.example,C1\n' >&3
exec 3>&-
wait $xpid
xrc=$?
[ $xrc -eq 3 ] || fail "X: exit $xrc, expected 3: $(cat x.err)"
grep -q "numbered after this one, added student S1 first; nothing was written: run it again" x.err ||
	fail "X does not say why: $(cat x.err)"
[ "$(sql "$f4" "SELECT first_name || ' ' || last_name FROM students WHERE student_id = 'S1'")" = "Sam OldName" ] ||
	fail "S1 changed: $(sql "$f4" "SELECT * FROM students WHERE student_id = 'S1'")"
[ "$(sql "$f4" "SELECT count(*) FROM batches WHERE label = 'X' AND outcome = 'committed'")" = 0 ] ||
	fail "X committed"
run -d "$f4" verify
expect_rc 0
