# t_export_rules: the rules of issue 12 that an outside review (review 9)
# found broken -- roles and statuses in today's rosters, bulkreg's own
# columns beside an export's, old deletions of unknown courses, --map and
# --profile messages, Moodle upload's type/enrolstatus, unknown statuses.
db=$(new_db t)

fresh() {
	db=$(new_db t)
	for c in "$@"; do
		"$BULKREG" -d $db course add --capacity 5 -- "$c" >/dev/null 2>&1 ||
			fail "course add $c"
	done
}
# status LINE [COURSE]: "status" or "status:reason" of report line LINE (csv).
status() {
	python3 - "$1" "${2:-}" <<'PY'
import csv, sys
for r in csv.DictReader(open("out", newline="", encoding="utf-8")):
    if r["line"] == sys.argv[1] and (not sys.argv[2] or r["course"] == sys.argv[2]):
        print(r["status"] + (":" + r["reason"] if r["reason"] else "")); break
PY
}
expect_status() {
	got=$(status "$1" "${3:-}")
	[ "$got" = "$2" ] || fail "line $1${3:+ ($3)}: $got, expected $2
$(cat out)"
}
# detail LINE: the detail of report line LINE (csv).
detail() {
	python3 - "$1" <<'PY'
import csv, sys
for r in csv.DictReader(open("out", newline="", encoding="utf-8")):
    if r["line"] == sys.argv[1]:
        print(r["detail"]); break
PY
}
stored() { sql $db "SELECT first_name || '|' || last_name || '|' || email FROM students WHERE student_id = '$1'"; }
registered() { sql $db "SELECT count(*) FROM registrations WHERE student_id = '$1'"; }

# ---- W1: role and status in today's rosters ---------------------------------

case_ "bulkreg profile: a teacher's or parent's row (role column) is skipped not_a_student, exit 0"
fresh MATH101
printf 'student_id,first_name,last_name,email,course,role,status\nS1,Ann,Able,ann@x.org,MATH101,student,active\nT1,Tom,Teach,tom@x.org,MATH101,teacher,active\nP1,Pat,Parent,pat@x.org,MATH101,Parent,\nL1,Lee,Learn,lee@x.org,MATH101,Learner,\nS2,Bob,Bell,bob@x.org,MATH101,student,deleted\n' >rs.csv
run -d $db register rs.csv --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 skipped:not_a_student
expect_status 4 skipped:not_a_student
expect_status 5 registered
[ "$(registered T1)$(registered P1)" = 00 ] || fail "a teacher or parent was registered"
! grep -q "ignoring unknown" err || fail "role/status called unknown: $(cat err)"

case_ "bulkreg profile: a status meaning removed is a drop request (skipped not_registered, then dropped)"
expect_status 6 skipped:not_registered
[ "$(registered S2)" = 0 ] || fail "S2 (deleted) was registered"
printf 'student_id,email,course,status\nS1,ann@x.org,MATH101,Inactive\nL1,lee@x.org,MATH101,tobedeleted\n' >gone.csv
run -d $db register gone.csv --format csv
expect_rc 0
expect_status 2 dropped
expect_status 3 dropped
[ "$(registered S1)$(registered L1)" = 00 ] || fail "still registered"

case_ "bulkreg profile with --course: a OneRoster users.csv registers its students only"
fresh C1
printf 'sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email\n00123,active,,true,sch-01,student,jdoe,,Jane,Doe,Q,00123,jane@example.org\nT900,active,,true,sch-01,teacher,teach,,Tom,Teacher,,T900,t@example.org\nA77,active,,true,sch-01,aide,aide,,Al,Aide,,A77,a@example.org\nG5,active,,true,sch-01,guardian,gg,,Gina,Guardian,,G5,g@example.org\nU9,tobedeleted,,true,sch-01,student,u9,,Una,Nine,,U9,u9@example.org\n' >users.csv
run -d $db register users.csv --course C1 --format csv
expect_rc 0
expect_status 2 registered
expect_status 3 skipped:not_a_student
expect_status 4 skipped:not_a_student
expect_status 5 skipped:not_a_student
expect_status 6 skipped:not_registered
[ "$(stored 00123)" = "Jane|Doe|jane@example.org" ] || fail "00123: $(stored 00123)"
