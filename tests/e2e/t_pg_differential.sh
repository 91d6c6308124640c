# t_pg_differential: the same commands on SQLite and on PostgreSQL give the
# same bytes (issue 15).  A lifecycle story -- init, course import,
# register, a re-run, rejects, dry runs, drops, a --sync with promotions, a
# capacity raise, undo, verify -- runs step by step on a fresh SQLite file
# and on a fresh PostgreSQL database; after every step the exit status,
# standard output (the report, in every format), standard error and any -o
# report are compared, as are the listings (course list, rosters, batches,
# batches show, student, verify) and the dumps of both databases.  Times
# and speeds are masked, and so is the database's name.
pg_only "compares the SQLite store with the PostgreSQL one"

S=diff.db
rm -f $S
P=$(new_db -e diff)
STEP=0

# mask FILE: times, speeds and the database's name made neutral.
mask() {
	sed -E \
		-e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z/TIME/g' \
		-e 's/ in [0-9]+\.[0-9]+ s \([0-9,]+ rows\/s/ in T s (N rows\/s/g' \
		-e 's/"elapsed_seconds": [0-9.e+-]+/"elapsed_seconds": T/g' \
		-e 's/"rows_per_second": [0-9]+/"rows_per_second": N/g' \
		-e 's/,[0-9.]+,[0-9]+(,[0-9]+ workers)?$/,T,N\1/' \
		"$1" | sed -e "s|$P|DB|g" -e "s|$S|DB|g" -e 's|postgres(ql)?://[^ ]*|DB|g'
}

# both ARGS...: runs `bulkreg -d DB ARGS` on each store and requires the
# same exit status and the same (masked) standard output and error.
both() {
	STEP=$((STEP + 1))
	"$BULKREG" -d $S "$@" >s.out 2>s.err
	rc_s=$?
	"$BULKREG" -d $P "$@" >p.out 2>p.err
	rc_p=$?
	[ "$rc_s" -eq "$rc_p" ] || fail "step $STEP ($*): exit $rc_s on SQLite, $rc_p on PostgreSQL
--- SQLite stderr:
$(head -c 1500 s.err)
--- PostgreSQL stderr:
$(head -c 1500 p.err)"
	RC=$rc_s
	for f in out err; do
		mask s.$f >s.$f.m
		mask p.$f >p.$f.m
		cmp -s s.$f.m p.$f.m || fail "step $STEP ($*): std$f differs between the stores:
$(diff s.$f.m p.$f.m | head -30)"
	done
	cp s.out out
	cp s.err err
}
# listings [FORMAT...]: every listing of both stores in those formats
# (default: json, which carries every field; the story's last step lists
# all three), compared, and the dumps of both databases.
listings() {
	for fmt in ${*:-json}; do
		both course list --format $fmt
		for c in M1 P1 C1 WL2 OPEN; do
			both roster $c --format $fmt
		done
		both batches --format $fmt
		n=$(sql $S "SELECT max(id) FROM batches")
		for b in $(seq 1 "${n:-0}"); do
			both batches show "$b" --format $fmt
		done
		for s in A B C D E F G H; do
			both student $s --format $fmt
		done
		both verify --format $fmt
		expect_rc 0
	done
	dump $S s.dump
	dump $P p.dump
	cmp -s s.dump p.dump || fail "the databases differ:
$(diff s.dump p.dump | head -30)"
}

cat >courses.csv <<'EOF'
code,title,capacity,waitlist
M1,Mathematics,2,3
P1,Physics,3,
C1,"Chemistry, ""intro""",1,0
WL2,Two seats and a waitlist of two,2,2
OPEN,Plenty of seats,100,
EOF
cat >first.csv <<'EOF'
student_id,first_name,last_name,email,course
A,Ann,Able,a@x.org,M1
B,Bob,Baker,b@x.org,M1
C,Cat,Cole,c@x.org,M1
D,Dan,Dunn,d@x.org,M1
A,Ann,Able,a@x.org,P1
E,Émile,O'Neil,e@x.org,C1
F,Fay,Fox,f@x.org,C1
G,Gus,Gray,g@x.org,WL2
H,Hal,Hunt,h@x.org,OPEN
B,Bob,Baker,b@x.org,M1
X,,,not-an-email,M1
Y,Yan,Young,y@x.org,NOPE
EOF

case_ "init and course import: the same messages"
both init
expect_rc 0
both course import courses.csv
expect_rc 0
listings

case_ "a first register (text, csv, json): the same report"
both register first.csv --dry-run --format json
expect_rc 1
both register first.csv --dry-run --format csv
both register first.csv
expect_rc 1
listings

case_ "a re-run: everything already there, the same report"
both register first.csv --format csv
expect_rc 1
both register first.csv --format json --label again
listings

case_ "--strict with a rejected row: exit 2 or 1 alike, nothing written on either"
both register first.csv --strict --format csv
listings

case_ "names and emails updated (--update-students), history the same"
cat >names.csv <<'EOF'
student_id,first_name,last_name,email,course
A,Anna,Able,anna@x.org,P1
B,,Baker-Smith,,P1
EOF
both register names.csv --update-students always --format csv
both register names.csv --update-students fill --format json
listings

case_ "drop by roster and one pair: seats go to the waitlist in order"
printf 'student_id,course\nA,M1\nZ,M1\nB,NOPE\n' >drop.csv
both drop drop.csv --format csv
both drop --student B --course M1 --format json
both drop --student B --course M1
listings

case_ "register --sync: the roster is the whole truth for its courses"
cat >sync.csv <<'EOF'
student_id,first_name,last_name,email,course
D,Dan,Dunn,d@x.org,M1
G,Gus,Gray,g@x.org,M1
H,Hal,Hunt,h@x.org,M1
A,Anna,Able,anna@x.org,WL2
B,Bob,Baker,b@x.org,WL2
C,Cat,Cole,c@x.org,WL2
E,Émile,O'Neil,e@x.org,WL2
EOF
both register sync.csv --sync --dry-run --format csv
both register sync.csv --sync --max-drops 100% --format csv
both register sync.csv --sync --sync-scope all --max-drops 1 --format json
listings

case_ "a capacity raise promotes from the waitlist alike"
both course add WL2 --capacity 4 --waitlist 2
both course add M1 --capacity 5 --title "Maths"
listings

case_ "undo: dry run, then for real, then the undo undone"
last=$(sql $S "SELECT max(id) FROM batches")
both undo "$last" --dry-run --format csv
both undo "$last" --format json
both undo 3
both undo 3
listings

case_ "a generated roster of 1200 rows with 4 workers and --check: the same report"
awk 'BEGIN { print "student_id,first_name,last_name,email,course"
	split("M1 P1 C1 WL2 OPEN NOPE", cs, " ")
	for (i = 1; i <= 1200; i++)
		printf "S%04d,F%d,L%d,s%d@x.org,%s\n", i % 400, i, i, i % 400, cs[i % 6 + 1] }' >big.csv
cat >verdict.sh <<'SH'
#!/bin/sh
case $BULKREG_STUDENT_ID in *7) echo "no $BULKREG_STUDENT_ID"; exit 1 ;; esac
exit 0
SH
chmod +x verdict.sh
both register big.csv --workers 4 --check ./verdict.sh --format csv
both register big.csv --workers 1 --format json
both register big.csv --sync --max-drops 100% --format csv
listings

case_ "reports written with -o are the same files"
"$BULKREG" -d $S register first.csv -o rep_s.json --format json >/dev/null 2>&1
"$BULKREG" -d $P register first.csv -o rep_p.json --format json >/dev/null 2>&1
mask rep_s.json >a.m
mask rep_p.json >b.m
expect_same a.m b.m

case_ "verify --repair on a clean database: nothing to do on either"
both verify --repair
expect_rc 0
listings text csv json
