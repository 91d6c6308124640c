# t_course_from: `--course-from section_id` chooses between a Canvas
# enrollments file's course_id and section_id (issue 12); on a file read
# as any other profile every row would lose its course, so it is refused
# (exit 2) before anything is written.
S=$DATA/samples
db=$(new_db t)
run -d "$db" course add M1 --capacity 5
expect_rc 0
run -d "$db" course add C1 --capacity 5
expect_rc 0
dump "$db" before.state

case_ "--course-from section_id on a bulkreg roster or another export: exit 2 naming the profile, nothing written"
printf 'student_id,email,course\nS1,s1@x.org,M1\n' >r.csv
run -d "$db" register r.csv --course-from section_id -o rep.csv --rejects rej.csv
expect_rc 2
expect_err "--course-from section_id: r.csv was read as bulkreg, not as Canvas enrollments"
[ ! -e rep.csv ] && [ ! -e rej.csv ] || fail "a report or rejects file was written"
run_in r.csv -d "$db" register - --course-from section_id
expect_rc 2
expect_err "--course-from section_id: standard input was read as bulkreg"
printf 'userSourcedId,classSourcedId,role,status\nS1,M1,student,active\n' >or.csv
run -d "$db" drop or.csv --course-from section_id
expect_rc 2
expect_err "or.csv was read as oneroster"
dump "$db" after.state
expect_same before.state after.state
[ "$(sql "$db" "SELECT count(*) FROM batches")" = 0 ] || fail "a batch was recorded"

case_ "a Canvas enrollments file still takes it"
run -d "$db" register "$S/canvas/enrollments.csv" --users "$S/canvas/users.csv" \
	--course-from section_id --dry-run
expect_rc 1
expect_out "Read as: canvas export."
