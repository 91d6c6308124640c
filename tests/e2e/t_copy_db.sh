# t_copy_db: `bulkreg copy-db FROM TO` copies a whole database between stores
# (issue 15): SQLite to SQLite on every pass; on the PostgreSQL pass also
# SQLite -> PostgreSQL, PostgreSQL -> SQLite and PostgreSQL -> PostgreSQL.
# Afterwards `verify` passes on the copy, every listing of the copy is the
# source's byte for byte (course list, rosters, batches, batches show,
# student, in every format), the tables are the same, and the same commands
# run on both go on identically (ids continue).  A non-empty target is
# refused (exit 2, nothing written); the copy is one transaction on the
# target (a copy that fails midway leaves the target empty).

# mask FILE: the database's name made neutral (it appears in messages).
mask() { sed -e "s|$2|DB|g" "$1"; }

# listings DB OUT: every listing of DB, in every format, into OUT.
listings() {
	: >"$2"
	for fmt in text csv json; do
		for args in "course list" "roster M1" "roster P1" "roster WL2" "roster OPEN" \
			"batches" "student A" "student B" "student C" "student H" "student S0042" "verify"; do
			# shellcheck disable=SC2086 # args is a list of words
			"$BULKREG" -d "$1" $args --format $fmt >>"$2" 2>&1 ||
				echo "exit $? from $args" >>"$2"
		done
		n=$(sql "$1" "SELECT max(id) FROM batches")
		for b in $(seq 1 "${n:-0}"); do
			"$BULKREG" -d "$1" batches show "$b" --format $fmt >>"$2" 2>&1 ||
				echo "exit $? from batches show $b" >>"$2"
		done
	done
}
# everything DB OUT: every table, the history included, in the store-neutral
# quote format (dump) plus the batch history through the listings.
everything() {
	dump "$1" "$2"
	sql "$1" "SELECT id, started_at, finished_at, source, sha256, label, outcome,
		rows, registered, waitlisted, already_registered, already_waitlisted, rejected,
		reasons, kind, options, profile, promoted, dropped, skipped, undo_of, undone_by,
		full_history FROM batches ORDER BY id" >>"$2"
	sql "$1" "SELECT * FROM history ORDER BY id" >>"$2"
	sql "$1" "SELECT batch_id, course_id, title, capacity, waitlist_max, registered,
		waitlisted, seat_seq, updated_at FROM batch_courses ORDER BY batch_id, course_id" >>"$2"
	sql "$1" "SELECT id, code, title, capacity, waitlist_max, registered, waitlisted,
		created_at, updated_at, seat_seq FROM courses ORDER BY id" >>"$2"
}
# same_db A B: copy B of A has the same tables and listings.
same_db() {
	everything "$1" a.all
	everything "$2" b.all
	expect_same a.all b.all
	listings "$1" a.list
	listings "$2" b.list
	mask a.list "$1" >a.list.m
	mask b.list "$2" >b.list.m
	expect_same a.list.m b.list.m
	run -d "$2" verify
	expect_rc 0
}
# go_on A B: the same new batches on both give the same reports and states.
go_on() {
	for args in "register more.csv --format csv" "drop --student A --course P1 --format csv" \
		"course add OPEN --capacity 150" "undo 2 --format csv"; do
		# shellcheck disable=SC2086 # args is a list of words
		"$BULKREG" -d "$1" $args >a.out 2>a.err
		ra=$?
		# shellcheck disable=SC2086 # args is a list of words
		"$BULKREG" -d "$2" $args >b.out 2>b.err
		rb=$?
		[ "$ra" -eq "$rb" ] || fail "$args: exit $ra on the source, $rb on the copy: $(cat b.err)"
		mask a.out "$1" | sed -E 's/[0-9.]+ s \([0-9,]+ rows\/s/T/' >a.m
		mask b.out "$2" | sed -E 's/[0-9.]+ s \([0-9,]+ rows\/s/T/' >b.m
		expect_same a.m b.m
	done
	dump "$1" a.dump
	dump "$2" b.dump
	expect_same a.dump b.dump
}

printf 'code,title,capacity,waitlist\nM1,Maths,2,2\nP1,"Physics, ""new""",3,\nWL2,Two,2,2\nOPEN,Open,100,\n' >courses.csv
awk 'BEGIN { print "student_id,first_name,last_name,email,course"
	split("M1 P1 WL2 OPEN", cs, " ")
	for (i = 1; i <= 400; i++) printf "S%04d,Fï%d,O'\''L%d,s%d@x.org,%s\n", i % 97, i, i, i, cs[i % 4 + 1] }' >big.csv
cat >first.csv <<'EOF'
student_id,first_name,last_name,email,course
A,Ann,Able,a@x.org,M1
B,Bob,Baker,b@x.org,M1
C,Cat,Cole,c@x.org,M1
D,Dan,Dunn,d@x.org,M1
A,Ann,Able,a@x.org,P1
H,Hal,Hunt,h@x.org,WL2
X,,,bad,M1
EOF
printf 'student_id,first_name,last_name,email,course\nA,Anna,Able,anna@x.org,WL2\nB,Bob,Baker,b@x.org,WL2\nC,Cat,Cole,c@x.org,WL2\nH,Hal,Hunt,h@x.org,WL2\n' >sync.csv
printf 'student_id,first_name,last_name,email,course\nM,Mo,May,m@x.org,M1\nN,Nia,Noor,n@x.org,OPEN\n' >more.csv

# story DB: a database with every kind of batch and history.
story() {
	"$BULKREG" -q -d "$1" course import courses.csv || fail "course import"
	"$BULKREG" -q -d "$1" register first.csv >/dev/null
	"$BULKREG" -q -d "$1" register big.csv --workers 4 --label big >/dev/null
	"$BULKREG" -q -d "$1" drop --student A --course M1 >/dev/null || fail "drop"
	"$BULKREG" -q -d "$1" register sync.csv --sync --max-drops 100% --update-students always >/dev/null
	[ $? -le 1 ] || fail "sync"
	"$BULKREG" -q -d "$1" course add M1 --capacity 4 || fail "raise"
	"$BULKREG" -q -d "$1" undo 4 >/dev/null || fail "undo"
	"$BULKREG" -q -d "$1" verify >/dev/null || fail "verify the source"
}

# s.db: an SQLite source on every pass; $src: the store of the pass.
rm -f s.db
story s.db
src=$(new_db src)
if is_pg_uri "$src"; then
	story "$src"
else
	src=s.db
fi

case_ "usage: copy-db needs FROM and TO; --help prints the usage"
run copy-db
expect_rc 2
expect_err "FROM TO"
expect_err "Try 'bulkreg copy-db --help'."
run copy-db only.db
expect_rc 2
run copy-db a.db b.db c.db
expect_rc 2
run copy-db --help
expect_rc 0
expect_out "usage: bulkreg copy-db FROM TO"
[ ! -e only.db ] && [ ! -e a.db ] && [ ! -e b.db ] || fail "a usage error created a file"

case_ "a source that does not exist: exit 2, nothing created"
run copy-db nosuch.db out.db
expect_rc 2
expect_err "nosuch.db"
[ ! -e nosuch.db ] && [ ! -e out.db ] || fail "a file was created"

case_ "SQLite: a source of 0.1.0 is not upgraded nor switched to WAL: refused, exit 3, byte for byte as it was; upgraded first, copied unchanged"
# "from is read as of one moment and not changed" (review 21, F09).
sqlite3 old.db <"$DATA/upgrade/v1.sql" || fail "loading v1.sql"
cksum <old.db >old.sum
run copy-db old.db old-copy.db
expect_rc 3
expect_err "old.db: database schema version 1 is older than this bulkreg's (3); copy-db does not change the database it copies from (nothing was written)"
cksum <old.db >now.sum
expect_same old.sum now.sum
[ ! -e old-copy.db ] || fail "a target was left"
run -d old.db batches
expect_rc 0
sqlite3 old.db 'PRAGMA journal_mode = DELETE' >/dev/null
cksum <old.db >old.sum
run copy-db old.db old-copy.db
expect_rc 0
cksum <old.db >now.sum
expect_same old.sum now.sum
[ "$(sql old.db 'PRAGMA journal_mode')" = delete ] || fail "the source was switched to WAL"

case_ "the same database as source and target: exit 2"
run copy-db "$src" "$src"
expect_rc 2
expect_empty out

case_ "SQLite -> SQLite: verify passes, tables and every listing the source's"
lite=lite_copy.db
rm -f $lite
from=s.db
run copy-db s.db "$lite"
expect_rc 0
expect_empty out
expect_err "copied s.db into lite_copy.db: 4 courses,"
expect_err "batches,"
run -q copy-db s.db quiet.db
expect_rc 0
expect_empty err
same_db "$from" "$lite"

case_ "the copy goes on as the source does: new batches get the same ids and reports"
cp "$lite" lite2.db
rm -f src2.db
cp "$from" src2.db
go_on src2.db lite2.db

case_ "a target that is not empty: exit 2, one line, the target unchanged"
everything "$lite" before.all
run copy-db "$from" "$lite"
expect_rc 2
expect_err "not empty"
[ "$(wc -l <err)" -eq 1 ] || fail "more than one line: $(cat err)"
everything "$lite" after.all
expect_same before.all after.all
# Courses alone make a database non-empty too.
rm -f onlycourses.db
"$BULKREG" -q -d onlycourses.db course add Z1 --capacity 1
run copy-db "$from" onlycourses.db
expect_rc 2
[ "$(sql onlycourses.db 'SELECT group_concat(code) FROM courses')" = Z1 ] || fail "onlycourses.db changed"

case_ "an initialised, empty target is fine"
rm -f empty.db
"$BULKREG" -q -d empty.db init
run copy-db "$from" empty.db
expect_rc 0
same_db "$from" empty.db

case_ "SQLite: a copy that fails midway (file size limit) leaves the target empty"
rm -f big_src.db
"$BULKREG" -q -d big_src.db course import courses.csv
awk 'BEGIN { print "student_id,first_name,last_name,email,course"
	for (i = 1; i <= 30000; i++) printf "Q%d,First%d,Last%d,q%d@example.org,OPEN\n", i, i, i, i }' >many.csv
"$BULKREG" -q -d big_src.db course add OPEN --capacity 1000000
"$BULKREG" -q -d big_src.db register many.csv >/dev/null || fail "many"
rm -f small.db
"$BULKREG" -q -d small.db init
size=$(stat -c %s small.db)
# 512-byte blocks: room for the empty database and a little more.
(ulimit -f $(((size + 262144) / 512)); exec "$BULKREG" copy-db big_src.db small.db) >out 2>err
RC=$?
expect_rc 3
[ "$(wc -l <err)" -eq 1 ] || fail "more than one line: $(cat err)"
for t in courses students registrations batches history batch_courses; do
	[ "$(sql small.db "SELECT count(*) FROM $t")" = 0 ] || fail "$t has rows after a failed copy"
done

case_ "SQLite: a copy stopped by SIGTERM once its new target exists: exit 143, one line, the target removed"
# No sleep: the signal goes once the target file is there (the copy is
# under way, in its transaction); the source has 30,000 registrations.
for try in 1 2 3; do
	rm -f term.db term.db-wal term.db-shm term.db-journal
	"$BULKREG" copy-db big_src.db term.db >out 2>err &
	pid=$!
	while [ ! -e term.db ] && kill -0 $pid 2>/dev/null; do :; done
	kill -TERM $pid 2>/dev/null
	wait $pid
	RC=$?
	# A copy that was already done when the signal came is a copy.
	[ "$RC" -eq 0 ] && continue
	expect_rc 143
	expect_err "interrupted: nothing was copied; the new target was removed"
	[ "$(wc -l <err)" -eq 1 ] || fail "more than one line: $(cat err)"
	for f in term.db term.db-wal term.db-shm term.db-journal; do
		[ ! -e $f ] || fail "$f left behind"
	done
done

if [ "$STORE" = pg ]; then
	case_ "SQLite -> PostgreSQL: verify passes, tables and every listing the source's"
	pg=$(new_db to_pg)
	run copy-db s.db "$pg"
	expect_rc 0
	same_db s.db "$pg"

	case_ "PostgreSQL -> SQLite and PostgreSQL -> PostgreSQL: the same"
	rm -f back.db
	run copy-db "$pg" back.db
	expect_rc 0
	same_db "$pg" back.db
	pg2=$(new_db pg_to_pg)
	run copy-db "$src" "$pg2"
	expect_rc 0
	same_db "$src" "$pg2"

	case_ "a PostgreSQL copy goes on as its SQLite source does (sequences continue)"
	go_on back.db "$pg"

	case_ "a non-empty PostgreSQL target: exit 2, unchanged"
	everything "$pg2" before.all
	run copy-db s.db "$pg2"
	expect_rc 2
	expect_err "not empty"
	everything "$pg2" after.all
	expect_same before.all after.all

	case_ "PostgreSQL: a copy that fails midway (no right to write history) leaves the target empty"
	pg3=$(new_db failing)
	run -d "$pg3" init
	expect_rc 0
	sql "$pg3" "REVOKE INSERT ON history FROM bulkreg" >/dev/null || fail "revoke"
	run copy-db s.db "$pg3"
	expect_rc 3
	[ "$(wc -l <err)" -eq 1 ] || fail "more than one line: $(cat err)"
	for t in courses students registrations batches batch_courses; do
		[ "$(sql "$pg3" "SELECT count(*) FROM $t")" = 0 ] || fail "$t has rows after a failed copy"
	done

	case_ "a password in a URI is never shown by copy-db"
	dbname=${pg3#postgresql://bulkreg@/}
	dbname=${dbname%%\?*}
	run copy-db s.db "postgresql://bulkreg_pw:Sekr1t-z@/$dbname?host=$BULKREG_TEST_PG_HOST&port=$BULKREG_TEST_PG_PORT"
	expect_rc 3
	! grep -q Sekr1t-z out err || fail "the password is shown: $(cat err)"
fi
