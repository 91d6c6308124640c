# t_pg_failures: a PostgreSQL database that cannot be used (issue 15) -- a
# wrong password, an unreachable server, a database without the schema, a
# schema from a newer bulkreg, a role that may only read -- exits 3 with
# one clear line and writes nothing; a malformed URI exits 2; a password
# in the URI never shows in any output, report or listing.
pg_only "needs a PostgreSQL server with password and read-only roles"

H=$BULKREG_TEST_PG_HOST
PORT=$BULKREG_TEST_PG_PORT
SECRET=bulkreg-pw-secret
db=$(new_db -e f)

# snapshot URI FILE: every table of every schema but the system ones, and
# every row of bulkreg's tables (batches included).
snapshot() {
	pg_psql "$1" -A -t >"$2" 2>&1 <<'SQL'
SELECT 'table', table_schema, table_name FROM information_schema.tables
  WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
  ORDER BY 2, 3;
SELECT 'schema', nspname FROM pg_namespace
  WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema' ORDER BY 2;
SQL
	if [ -n "$(sql "$1" "SELECT 1 FROM pg_namespace WHERE nspname = 'bulkreg'")" ]; then
		all_tables "$1" "$2.tables"
		cat "$2.tables" >>"$2"
		sql "$1" "SELECT b::text FROM batches AS b ORDER BY id" >>"$2"
	fi
}
# pg_bump_version URI N: the schema version bulkreg recorded becomes N, as a
# newer bulkreg would leave it.
pg_bump_version() {
	sql "$1" "UPDATE meta SET version = $2" >/dev/null ||
		fail "cannot set the schema version"
}
# expect_one_line: stderr is exactly one line.
expect_one_line() {
	[ "$(wc -l <err)" -eq 1 ] || fail "stderr is not one line:
$(cat err)"
}
# expect_no_secret WORD FILE...: WORD is in none of the files.
expect_no_secret() {
	_w=$1
	shift
	for _f in "$@"; do
		! grep -qF -- "$_w" "$_f" || fail "$_f shows the password:
$(grep -F -- "$_w" "$_f" | head -5)"
	done
}

printf 'code,title,capacity,waitlist\nM1,Maths,2,1\nP1,Physics,5,\n' >courses.csv
printf 'student_id,first_name,last_name,email,course\nA,Ann,A,a@x.org,M1\nB,Bob,B,b@x.org,M1\nC,Cat,C,c@x.org,M1\nA,Ann,A,a@x.org,P1\n' >r.csv

case_ "init on a fresh PostgreSQL database, then the roster registers"
run -d "$db" init
expect_rc 0
run -d "$db" course import courses.csv
expect_rc 0
run -d "$db" register r.csv --format csv
expect_rc 0
snapshot "$db" good.state

case_ "wrong password in the URI: exit 3, one line naming the failure, the password never shown, nothing written"
dbname=${db#postgresql://bulkreg@/}
dbname=${dbname%%\?*}
pg_admin "GRANT CONNECT ON DATABASE $dbname TO bulkreg_pw"
bad="postgresql://bulkreg_pw:wrong-Pa55word@/$dbname?host=$H&port=$PORT"
for cmd in "register r.csv" "course list" "init" "verify" "batches"; do
	# shellcheck disable=SC2086 # cmd is a list of words
	run -d "$bad" $cmd
	expect_rc 3
	expect_one_line
	expect_err "password"
	expect_empty out
	expect_no_secret wrong-Pa55word out err
done
snapshot "$db" after.state
expect_same good.state after.state

case_ "wrong password from PGPASSWORD: exit 3, one line, not shown"
PGPASSWORD=wrong-Pa55word "$BULKREG" -d "postgresql://bulkreg_pw@/$dbname?host=$H&port=$PORT" course list >out 2>err
RC=$?
expect_rc 3
expect_one_line
expect_no_secret wrong-Pa55word out err

case_ "unreachable server (no socket there, nothing on the port): exit 3, one line, nothing written"
for u in "postgresql://bulkreg@/$dbname?host=$PWD/no-such-dir&port=$PORT" \
	"postgresql://bulkreg:Sekr1t-x@127.0.0.1:1/$dbname?connect_timeout=5"; do
	run -d "$u" register r.csv
	expect_rc 3
	expect_one_line
	expect_empty out
	expect_no_secret Sekr1t-x out err
	run -d "$u" init
	expect_rc 3
	expect_one_line
done
snapshot "$db" after.state
expect_same good.state after.state

case_ "a database that does not exist: exit 3, one line"
run -d "postgresql://bulkreg@/no_such_database_x?host=$H&port=$PORT" course list
expect_rc 3
expect_one_line
expect_err "no_such_database_x"

case_ "malformed URIs: exit 2, one line, the password not shown"
for u in "postgresql://bulkreg:Sekr1t-y@/$dbname?host=$H&port=$PORT&no_such_option=1" \
	"postgresql://bulkreg:Sekr1t-y@localhost:notaport/$dbname" \
	"postgresql://bulkreg:Sekr1t-y@[::1/$dbname" \
	"postgres://bulkreg:Sekr1t-y@/$dbname?host=$H&no_such=1"; do
	run -d "$u" register r.csv
	expect_rc 2
	expect_one_line
	expect_empty out
	expect_no_secret Sekr1t-y out err
done
BULKREG_DB="postgresql://bulkreg:Sekr1t-y@localhost:notaport/$dbname" "$BULKREG" course list >out 2>err
RC=$?
expect_rc 2
expect_one_line
expect_no_secret Sekr1t-y out err

case_ "a database without the schema: exit 3 for every command but init, one line, nothing created"
empty=$(new_db -e empty)
snapshot "$empty" empty.before
for cmd in "register r.csv" "course list" "roster M1" "batches" "student A" "verify" "undo 1" "drop --student A --course M1" "course add X1 --capacity 1" "course import courses.csv"; do
	# shellcheck disable=SC2086 # cmd is a list of words
	run -d "$empty" $cmd
	expect_rc 3
	expect_one_line
	expect_err "init"
	expect_empty out
done
snapshot "$empty" empty.after
expect_same empty.before empty.after
run -d "$empty" init
expect_rc 0
run -d "$empty" course list
expect_rc 0

case_ "init into a schema that holds what bulkreg would refuse (--schema public with another application's view): refused, nothing created"
shared=$(new_db -e shared)
# (without the test's own helper functions in public, which are refused
# too, and would crowd the view out of the message)
psql -X -q -v ON_ERROR_STOP=1 -d "$(pg_db_uri "$(sql "$shared" "SELECT current_database()")" postgres)" \
	-c "DROP AGGREGATE public.group_concat(text, text), public.group_concat(text);
	DROP FUNCTION public.gc_step1(text, text), public.gc_step(text, text, text), public.hex(text)" >/dev/null ||
	fail "dropping the helpers"
sql "$shared" "CREATE TABLE public.app (x int); CREATE VIEW public.v AS SELECT * FROM public.app;
CREATE INDEX app_x ON public.app (x);" >/dev/null || fail "planting the application"
run -d "$shared" --schema public init
expect_rc 3
expect_one_line
expect_err "view v"
[ "$(sql "$shared" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'meta'")" = 0 ] ||
	fail "init wrote its tables into public"

case_ "a schema from a newer bulkreg: exit 3, one line, nothing written; init does not downgrade it"
newer=$(new_db -e newer)
run -d "$newer" init
expect_rc 0
run -d "$newer" course import courses.csv
expect_rc 0
pg_bump_version "$newer" 99
snapshot "$newer" newer.before
for cmd in "register r.csv" "course list" "init" "verify" "course add X1 --capacity 1"; do
	# shellcheck disable=SC2086 # cmd is a list of words
	run -d "$newer" $cmd
	expect_rc 3
	expect_one_line
	expect_err "newer"
	expect_empty out
done
snapshot "$newer" newer.after
expect_same newer.before newer.after

case_ "an older schema (version 2) and roles that are not its owner: reads work as it is, a write says who must upgrade it, nothing written; the owner's init upgrades it (review 20, F03)"
v2=$(new_db -e v2)
run -d "$v2" init
expect_rc 0
run -d "$v2" course import courses.csv
expect_rc 0
run -d "$v2" register r.csv
expect_rc 0
# What version 2 looked like: version 3 only added these columns.
sql "$v2" "ALTER TABLE batch_courses DROP COLUMN after_title, DROP COLUMN after_capacity,
	DROP COLUMN after_waitlist_max, DROP COLUMN after_known" >/dev/null || fail "drop columns"
pg_bump_version "$v2" 2
v2name=$(sql "$v2" "SELECT current_database()")
for role in bulkreg_v2r bulkreg_v2w; do
	pg_admin "DROP ROLE IF EXISTS $role"
	pg_admin "CREATE ROLE $role LOGIN"
	pg_admin "GRANT CONNECT ON DATABASE $v2name TO $role"
done
sql "$v2" "GRANT USAGE ON SCHEMA bulkreg TO bulkreg_v2r, bulkreg_v2w;
	GRANT SELECT ON ALL TABLES IN SCHEMA bulkreg TO bulkreg_v2r;
	GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA bulkreg TO bulkreg_v2w;
	GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA bulkreg TO bulkreg_v2w" >/dev/null ||
	fail "grant"
v2r="postgresql://bulkreg_v2r@/$v2name?host=$H&port=$PORT"
v2w="postgresql://bulkreg_v2w@/$v2name?host=$H&port=$PORT"
snapshot "$v2" v2.before
for who in "$v2r" "$v2w"; do
	for cmd in "course list" "roster M1" "batches" "batches show 1" "student A" "verify"; do
		# shellcheck disable=SC2086 # cmd is a list of words
		run -d "$who" $cmd
		expect_rc 0
	done
done
printf 'student_id,first_name,last_name,email,course\nV2,Vic,V,v2@x.org,P1\n' >v2.csv
for cmd in "register v2.csv" "init" "drop --student A --course P1"; do
	# shellcheck disable=SC2086 # cmd is a list of words
	run -d "$v2w" $cmd
	expect_rc 3
	expect_one_line
	expect_err "schema 'bulkreg' is at version 2 and must be upgraded to version 3 by its owner, role 'bulkreg': run 'bulkreg init' as that role"
done
snapshot "$v2" v2.after
expect_same v2.before v2.after
run -d "$v2" init
expect_rc 0
[ "$(sql "$v2" "SELECT version FROM meta")" = 3 ] || fail "the owner's init did not upgrade"
run -d "$v2w" register v2.csv
expect_rc 0

case_ "objects bulkreg did not create in its schema (trigger, rule, view, index, row security): refused, named, nothing written; verify lists them"
planted=$(new_db -e planted)
run -d "$planted" init
expect_rc 0
run -d "$planted" course import courses.csv
expect_rc 0
sql "$planted" "CREATE TABLE public.loot (email text);
CREATE FUNCTION steal() RETURNS trigger LANGUAGE plpgsql AS \$\$
 BEGIN INSERT INTO public.loot VALUES (NEW.email); RETURN NEW; END \$\$;
CREATE TRIGGER steal AFTER INSERT ON students FOR EACH ROW EXECUTE FUNCTION steal();" >/dev/null ||
	fail "planting the trigger"
snapshot "$planted" planted.before
for cmd in "register r.csv" "course list" "batches" "verify --repair" "drop --student A --course M1"; do
	# shellcheck disable=SC2086 # cmd is a list of words
	run -d "$planted" $cmd
	expect_rc 3
	expect_one_line
	expect_err "trigger steal on students"
	expect_err "bulkreg did not create"
	expect_empty out
done
snapshot "$planted" planted.after
expect_same planted.before planted.after
[ "$(sql "$planted" "SELECT count(*) FROM public.loot")" = 0 ] || fail "emails were copied"
sql "$planted" "DROP TRIGGER steal ON students; DROP FUNCTION steal();
CREATE RULE keep AS ON DELETE TO registrations DO INSTEAD NOTHING;
CREATE VIEW everyone AS SELECT * FROM students;
CREATE INDEX by_email ON students (email);
ALTER TABLE courses ENABLE ROW LEVEL SECURITY;" >/dev/null || fail "planting the rest"
run -d "$planted" register r.csv
expect_rc 3
for what in "rule keep on registrations" "view everyone" "index by_email on students" "row security on courses"; do
	expect_err "$what"
done
run -d "$planted" verify --format csv
expect_rc 1
for what in "rule keep on registrations" "view everyone" "index by_email on students" "row security on courses"; do
	grep -qx "problem,,,foreign_object,absent,$what" out || fail "verify does not list $what: $(cat out)"
done
sql "$planted" "DROP RULE keep ON registrations; DROP VIEW everyone; DROP INDEX by_email;
ALTER TABLE courses DISABLE ROW LEVEL SECURITY;" >/dev/null || fail "taking them out"
# Code run at every insert by a changed table (review 15, A2): a CHECK
# constraint, a column default, a column of a domain type, each calling
# the planter's function.
sql "$planted" "CREATE FUNCTION public.spy(t text) RETURNS boolean LANGUAGE plpgsql AS \$\$
 BEGIN INSERT INTO public.loot VALUES (t); RETURN true; END \$\$;
CREATE FUNCTION public.spyd() RETURNS text LANGUAGE sql AS 'SELECT text ''x''';
ALTER TABLE students ADD CONSTRAINT spy CHECK (public.spy(email));
ALTER TABLE students ADD COLUMN note text DEFAULT public.spyd();
CREATE DOMAIN public.watched AS text CHECK (public.spy(VALUE));
ALTER TABLE registrations ADD COLUMN tag public.watched;" >/dev/null ||
	fail "planting the constraint and columns"
snapshot "$planted" changed.before
run -d "$planted" register r.csv
expect_rc 3
for what in "constraint spy on students" "column note on students" "column tag on registrations"; do
	expect_err "$what"
done
snapshot "$planted" changed.after
expect_same changed.before changed.after
[ "$(sql "$planted" "SELECT count(*) FROM public.loot")" = 0 ] || fail "emails were copied"
run -d "$planted" verify --format csv
expect_rc 1
grep -qx "problem,,,foreign_object,absent,constraint spy on students" out ||
	fail "verify does not list the constraint: $(cat out)"
sql "$planted" "ALTER TABLE students DROP CONSTRAINT spy; ALTER TABLE students DROP COLUMN note;
ALTER TABLE registrations DROP COLUMN tag;" >/dev/null || fail "taking them out"
run -d "$planted" register r.csv
expect_rc 0
# Code a statement of bulkreg's resolves to (review 20, F07): an operator
# ||(name, name) in the schema was chosen over pg_catalog's for
# 'bulkreg batch ids ' || current_schema(), and ran as whoever ran bulkreg
# (a superuser too); so were other functions, types, collations ...
sql "$planted" "CREATE FUNCTION cat(name, name) RETURNS text LANGUAGE sql AS
 \$\$ INSERT INTO public.loot VALUES (CAST(current_user AS text))
    RETURNING pg_catalog.textcat(CAST(\$1 AS text), CAST(\$2 AS text)) \$\$;
CREATE OPERATOR || (LEFTARG = name, RIGHTARG = name, FUNCTION = cat);
CREATE TYPE mood AS ENUM ('x');
CREATE TYPE pair AS (a int, b int);
CREATE COLLATION mine (provider = libc, locale = 'C');" >/dev/null ||
	fail "planting the operator"
snapshot "$planted" op.before
for cmd in "register r.csv" "course add Z1 --capacity 1" "undo 1" "course list"; do
	# shellcheck disable=SC2086 # cmd is a list of words
	run -d "$planted" $cmd
	expect_rc 3
	expect_one_line
	for what in "function cat" "operator ||" "type mood" "type pair" "collation mine"; do
		expect_err "$what"
	done
done
run -d "$planted" verify --format csv
expect_rc 1
for what in "function cat" "operator ||" "type mood" "type pair" "collation mine"; do
	grep -qx "problem,,,foreign_object,absent,$what" out || fail "verify does not list $what: $(cat out)"
done
snapshot "$planted" op.after
expect_same op.before op.after
[ "$(sql "$planted" "SELECT count(*) FROM public.loot")" = 0 ] || fail "the planted operator ran"
sql "$planted" "DROP OPERATOR || (name, name); DROP FUNCTION cat(name, name); DROP TYPE mood;
DROP TYPE pair; DROP COLLATION mine" >/dev/null || fail "taking them out"
run -d "$planted" register r.csv
expect_rc 0

case_ "four registers at once on the same courses, in different orders: each runs again after losing a deadlock or a new student's race, all commit"
# Every roster meets the five courses in its own order and adds students
# another adds too: the server breaks deadlocks, and a student inserted by
# two batches at once is a race; both wrote nothing, so bulkreg runs the
# batch again (its roster is a file) while --wait allows.
conc=$(new_db -e conc)
run -d "$conc" init
expect_rc 0
printf 'code,title,capacity,waitlist\nQ0,T,3,20\nQ1,T,10,20\nQ2,T,5,\nQ3,T,8,10\nQ4,T,2,5\n' >q.csv
run -d "$conc" course import q.csv
expect_rc 0
for k in 0 1 2 3; do
	awk -v k=$k 'BEGIN { print "student_id,first_name,last_name,email,course"
		x = 17 + k * 101
		for (n = 0; n < 400; n++) {
			x = (x * 1103515245 + 12345) % 2147483648
			i = x % 300; c = int(x / 300) % 5
			printf "S%d,F,L,s%d@x.org,Q%d\n", i, i, (c + k) % 5 }
	}' >conc$k.csv
done
for k in 0 1 2 3; do
	"$BULKREG" -d "$conc" register conc$k.csv --wait 60 -o rep$k.csv >out$k 2>err$k &
	eval "pid$k=\$!"
done
for k in 0 1 2 3; do
	eval "wait \$pid$k"
	rc=$?
	[ $rc -le 1 ] || fail "run $k: exit $rc: $(cat err$k)"
	[ -s rep$k.csv ] || fail "run $k: no report"
done
grep -h "running it again" err0 err1 err2 err3 >again.txt
[ "$(sql "$conc" "SELECT count(*) FROM batches WHERE outcome = 'committed'")" = 4 ] ||
	fail "not four register batches committed: $(sql "$conc" "SELECT id, outcome FROM batches")"
run -d "$conc" verify
expect_rc 0

case_ "six registers at once on twenty shared courses, in random orders: a run again after a deadlock goes alone, all commit (review 20, F02)"
# Each run again used to take its courses in its roster's order again: with
# five or six at once there was nearly always a new cycle, and most gave up
# after --wait with dozens of "running it again" each.  A run again now
# waits for every batch holding a course and the later ones wait for it.
six=$(new_db -e six)
run -d "$six" init
expect_rc 0
awk 'BEGIN { print "code,title,capacity,waitlist"
	for (i = 0; i < 20; i++) printf "K%03d,Course %d,%d,5\n", i, i, 30 + i }' >k.csv
run -d "$six" course import k.csv
expect_rc 0
for k in 0 1 2 3 4 5; do
	awk -v k=$k 'BEGIN { print "student_id,first_name,last_name,email,course"
		x = 7 + k * 7919
		for (n = 0; n < 3000; n++) {
			x = (x * 1103515245 + 12345) % 2147483648
			s = x % 800 + 1; c = int(x / 800) % 20
			printf "P%04d,First%d,Last%d,p%d@u.example,K%03d\n", s, s, s, s, c }
	}' >six$k.csv
done
for k in 0 1 2 3 4 5; do
	"$BULKREG" -d "$six" register six$k.csv --wait 40 -o /dev/null >out$k 2>err$k &
	eval "pid$k=\$!"
done
for k in 0 1 2 3 4 5; do
	eval "wait \$pid$k"
	rc=$?
	[ $rc -le 1 ] || fail "run $k: exit $rc: $(tail -3 err$k)"
done
[ "$(sql "$six" "SELECT count(*) FROM batches WHERE outcome = 'committed'")" = 6 ] ||
	fail "not six register batches committed: $(sql "$six" "SELECT id, outcome FROM batches")"
again=$(cat err0 err1 err2 err3 err4 err5 | grep -c "running it again")
[ "$again" -le 12 ] || fail "$again runs again for six batches (a live-lock): $(cat err0 | head -5)"
run -d "$six" verify
expect_rc 0

case_ "a role that may only read: listings work, every write exits 3 with one line, nothing written"
pg_admin "DROP ROLE IF EXISTS bulkreg_ro"
pg_admin "CREATE ROLE bulkreg_ro LOGIN"
sql "$db" "GRANT USAGE ON SCHEMA bulkreg TO bulkreg_ro; GRANT SELECT ON ALL TABLES IN SCHEMA bulkreg TO bulkreg_ro" >/dev/null ||
	fail "grant"
ro="postgresql://bulkreg_ro@/$dbname?host=$H&port=$PORT"
run -d "$ro" course list
expect_rc 0
expect_out "M1"
run -d "$ro" roster M1
expect_rc 0
run -d "$ro" batches
expect_rc 0
run -d "$ro" verify
expect_rc 0
printf 'student_id,first_name,last_name,email,course\nD,Dan,D,d@x.org,P1\n' >d.csv
printf 'code,title,capacity,waitlist\nX9,New,5,\n' >new_course.csv
for cmd in "register d.csv" "drop --student A --course P1" "course add M1 --capacity 9" "course import new_course.csv" "undo 1"; do
	# shellcheck disable=SC2086 # cmd is a list of words
	run -d "$ro" $cmd
	expect_rc 3
	expect_one_line
	expect_empty out
done
snapshot "$db" after.state
expect_same good.state after.state
# Without USAGE on the schema it looked absent ("run init"): review 15, B1.
sql "$db" "REVOKE USAGE ON SCHEMA bulkreg FROM bulkreg_ro" >/dev/null || fail "revoke"
for cmd in "course list" "init" "register d.csv"; do
	# shellcheck disable=SC2086 # cmd is a list of words
	run -d "$ro" $cmd
	expect_rc 3
	expect_one_line
	expect_err "this role may not use schema 'bulkreg' (it needs USAGE on it"
done
sql "$db" "GRANT USAGE ON SCHEMA bulkreg TO bulkreg_ro" >/dev/null || fail "grant"
snapshot "$db" after.state
expect_same good.state after.state

case_ "a password in the URI is never shown: reports, -o files, progress, batches listing and table"
pg_admin "GRANT USAGE, CREATE ON SCHEMA bulkreg TO bulkreg_pw" 2>/dev/null ||
	sql "$db" "GRANT USAGE ON SCHEMA bulkreg TO bulkreg_pw" >/dev/null
sql "$db" "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA bulkreg TO bulkreg_pw;
	GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA bulkreg TO bulkreg_pw" >/dev/null || fail "grant"
pw="postgresql://bulkreg_pw:$SECRET@/$dbname?host=$H&port=$PORT"
printf 'student_id,first_name,last_name,email,course\nE,Eve,E,e@x.org,P1\nZ,,,bad,P1\n' >e.csv
: >all.out
for args in "register e.csv" "register e.csv --format json" "register e.csv --format csv -o rep.csv" \
	"register e.csv --dry-run" "drop --student E --course P1" "batches" "batches --format csv" \
	"batches --format json" "batches show 1" "student E" "course list" "roster P1 --format json" "verify"; do
	# shellcheck disable=SC2086 # args is a list of words
	run -d "$pw" $args
	[ "$RC" -le 1 ] || fail "$args: exit $RC: $(cat err)"
	cat out err >>all.out
done
BULKREG_DB=$pw "$BULKREG" register e.csv --label viaenv >>all.out 2>&1
BULKREG_DB=$pw "$BULKREG" batches >>all.out 2>&1
expect_no_secret "$SECRET" all.out rep.csv
sql "$db" "SELECT b::text FROM batches AS b" >batches.rows
expect_no_secret "$SECRET" batches.rows
# Everything else stored, too.
pg_psql "$db" -A -t -c "SELECT h::text FROM history AS h" >history.rows 2>/dev/null
expect_no_secret "$SECRET" history.rows

case_ "sslpassword, and a password inside a dbname value, are never shown either (review 20, F01)"
KEYSECRET=bulkreg-key-passphrase
INNER=bulkreg-inner-secret
ssl="$pw&sslpassword=$KEYSECRET"
kw="host=$H port=$PORT user=bulkreg_pw password=$SECRET sslpassword=$KEYSECRET dbname=$dbname"
: >all.out
for target in "$ssl" "$kw"; do
	for args in "init" "register e.csv --label ssl" "batches" "batches --format json" \
		"student E" "course list" "verify"; do
		# shellcheck disable=SC2086 # args is a list of words
		run -d "$target" $args
		[ "$RC" -le 1 ] || fail "$args: exit $RC: $(cat err)"
		cat out err >>all.out
	done
done
# A dbname that is itself a connection string: libpq reads it as a database
# name here, and the server quotes it back ("database ... does not exist").
for target in "host=$H port=$PORT user=bulkreg_pw password=$SECRET dbname='host=$H password=$INNER'" \
	"postgresql://bulkreg_pw:$SECRET@/host%3D$H%20password%3D$INNER?host=$H&port=$PORT" \
	"postgresql://bulkreg_pw:$SECRET@/x?host=$H&port=$PORT&dbname=user%3Du%20password%3D$INNER"; do
	run -d "$target" course list
	expect_rc 3
	cat out err >>all.out
done
expect_no_secret "$KEYSECRET" all.out
expect_no_secret "$INNER" all.out
expect_no_secret "$SECRET" all.out
grep -q "sslpassword=\*\*\*" all.out || fail "sslpassword is not shown as ***: $(cat all.out)"
sql "$db" "SELECT b::text FROM batches AS b" >batches.rows
pg_psql "$db" -A -t -c "SELECT h::text FROM history AS h" >>batches.rows 2>/dev/null
expect_no_secret "$KEYSECRET" batches.rows
