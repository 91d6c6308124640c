#!/bin/sh
# lib: helpers for the torture trials, then runs the family file given as $1.
#
# A family file runs many trials and reports each one on standard output:
#   trial ok NAME [detail]        the trial passed
#   trial FAIL NAME: WHY          it failed
#   trial KNOWN-BUG NAME: WHY     it failed on a known, reported bug
#   note TEXT                     shown by the runner as it is
# The runner counts them.  Waiting for a state always polls for that state
# with a deadline; a random delay before a signal is a stimulus only.
#
# The environment (from tests/torture/run): BULKREG, ROOT, DATA (generated
# inputs shared by the families), TOOLS (gen_roster, failmalloc.so),
# TORTURE_SEED.
set -u

TRIAL="(setup)"
TRIAL_FAILED=""

# ---- reporting ------------------------------------------------------------

note() { echo "note $*"; }
# trial_start NAME: a new trial; its checks call fail_trial.
trial_start() {
	TRIAL=$1
	TRIAL_FAILED=""
}
# fail_trial WHY: records the first failure of the current trial.
fail_trial() {
	[ -n "$TRIAL_FAILED" ] || TRIAL_FAILED=$*
}
# trial_end [DETAIL]: prints the verdict of the current trial.
trial_end() {
	if [ -z "$TRIAL_FAILED" ]; then
		echo "trial ok $TRIAL${1:+ $1}"
	else
		# One line per trial: the runner greps for it.
		echo "trial FAIL $TRIAL: $(printf '%s' "$TRIAL_FAILED" | tr '\n' ' ' | cut -c1-1500)"
	fi
}
# known_bug WHY: the current trial failed on a known bug (see the report).
known_bug() {
	echo "trial KNOWN-BUG $TRIAL: $(printf '%s' "$*" | tr '\n' ' ' | cut -c1-1500)"
}
# setup_fail WHY: the family cannot go on at all.
setup_fail() {
	echo "trial FAIL (setup of $(basename "$FAMILY" .sh)): $*"
	exit 1
}

# ---- random numbers (a seeded LCG, so a failure can be replayed) ----------

RAND_STATE=$((TORTURE_SEED % 2147483648))
# rand N: sets R to a number in 0..N-1.
# shellcheck disable=SC2034 # R is for the family files
rand() {
	RAND_STATE=$(((RAND_STATE * 1103515245 + 12345) % 2147483648))
	R=$(((RAND_STATE / 65536) % $1))
}

# ---- time -----------------------------------------------------------------

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# sleep_ms MS: a stimulus delay (never used to wait for a state).
sleep_ms() { sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }
# A poll interval: how often a state is looked at.
tick() { sleep 0.005; }

# ---- processes ------------------------------------------------------------

# is_running PID: the process exists and has not exited (a zombie has).
is_running() {
	[ -r "/proc/$1/stat" ] || return 1
	_st=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$_st" ] && [ "$_st" != Z ] && [ "$_st" != X ]
}
# wait_exit PID SECONDS: waits for our child PID to exit, polling, with a
# deadline.  Sets RC to its exit status; on the deadline kills it (KILL),
# sets RC to 999 and returns 1.
wait_exit() {
	_deadline=$(($(now_ms) + $2 * 1000))
	while is_running "$1"; do
		if [ "$(now_ms)" -ge "$_deadline" ]; then
			kill -KILL "$1" 2>/dev/null
			wait "$1" 2>/dev/null
			RC=999
			return 1
		fi
		tick
	done
	wait "$1"
	# shellcheck disable=SC2034 # RC is for the family files
	RC=$?
	return 0
}
# wait_for SECONDS COMMAND...: polls until COMMAND succeeds; 1 on deadline.
wait_for() {
	_deadline=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$_deadline" ] || return 1
		tick
	done
	return 0
}

# ---- the database ---------------------------------------------------------

# integrity DB: prints nothing and succeeds when PRAGMA integrity_check is ok.
integrity() {
	_ic=$(sqlite3 "$1" 'PRAGMA integrity_check' 2>&1)
	[ "$_ic" = ok ] || { echo "integrity_check: $_ic" | head -c 500; return 1; }
}
# full_state DB OUT: everything, the batch history included, byte for byte.
full_state() {
	sqlite3 "$1" >"$2" 2>&1 <<'SQL'
.mode quote
SELECT 'user_version', * FROM pragma_user_version;
SELECT 'course', * FROM courses ORDER BY id;
SELECT 'student', * FROM students ORDER BY student_id;
SELECT 'reg', * FROM registrations ORDER BY course_id, student_id;
SELECT 'batch', * FROM batches ORDER BY id;
SQL
}
# logical_state DB OUT: what users see, with batch ids replaced by the
# roster (sha256) of the batch and without timestamps, so that states
# reached by different batches of the same rosters compare equal.
logical_state() {
	sqlite3 "$1" >"$2" 2>&1 <<'SQL'
.mode quote
SELECT 'course', code, title, capacity, waitlist_max, registered, waitlisted
  FROM courses ORDER BY code;
SELECT 'student', s.student_id, s.first_name, s.last_name, s.email,
       (SELECT sha256 FROM batches WHERE id = s.created_batch)
  FROM students AS s ORDER BY s.student_id;
SELECT 'reg', c.code, r.student_id, r.status, r.seq, r.line,
       (SELECT sha256 FROM batches WHERE id = r.batch_id)
  FROM registrations AS r JOIN courses AS c ON c.id = r.course_id
  ORDER BY c.code, r.student_id;
SQL
}
# tables_state DB OUT: courses, students and registrations exactly (ids
# included), without the batch history.
tables_state() {
	sqlite3 "$1" >"$2" 2>&1 <<'SQL'
.mode quote
SELECT 'course', * FROM courses ORDER BY id;
SELECT 'student', * FROM students ORDER BY student_id;
SELECT 'reg', * FROM registrations ORDER BY course_id, student_id;
SQL
}
batch_count() { sqlite3 "$1" 'SELECT count(*) FROM batches'; }
# copy_db FROM TO: a consistent copy (the source is closed: no -wal).
copy_db() {
	# (bulkreg keeps the -wal once made, empty when the last run closed.)
	[ ! -s "$1-wal" ] || setup_fail "$1-wal holds data: the source is not closed"
	rm -f "$2" "$2-wal" "$2-shm" "$2-journal"
	cp "$1" "$2"
}
# same FILE1 FILE2: cmp, with the first differences as the failure text.
same() {
	cmp -s "$1" "$2" && return 0
	diff "$1" "$2" | head -8 | cut -c1-200
	return 1
}
# hidden_temps DIR NAME: lists leftover temporary reports .NAME.XXXXXX.
hidden_temps() {
	for _f in "$1/.$2".??????; do
		[ ! -e "$_f" ] || echo "$_f"
	done
}

# all_ready: the four runs of a round reached the start barrier (ready.K).
all_ready() {
	for _k in 0 1 2 3; do [ -e "ready.$_k" ] || return 1; done
}
# check_round DB: the invariants of four concurrent runs (t_concurrent and
# t_pg: an SQLite file, or one tests/pg/pg2sqlite made), as SQL that prints only violations.  The
# reports that exist (a killed run may have none) are compared row by row;
# every committed batch's counts are compared with its registrations.
# CHECK_ROUND_WHOLE_BATCH=0: batches may overlap in time (PostgreSQL locks a
# course when a batch first meets it); each course's seats must not.
check_round() {
	rm -f check.db
	for k in 0 1 2 3; do
		if [ -f "rep$k.csv" ]; then
			sqlite3 check.db ".import --csv rep$k.csv rep$k" || return 1
		else
			sqlite3 check.db "CREATE TABLE rep$k (line, student_id, course,
				status, position, reason, detail)"
		fi
	done
	sqlite3 check.db <<SQL
ATTACH '$1' AS d;
CREATE TEMP TABLE reps AS
  SELECT 0 AS k, * FROM rep0 UNION ALL SELECT 1, * FROM rep1
  UNION ALL SELECT 2, * FROM rep2 UNION ALL SELECT 3, * FROM rep3;
CREATE INDEX temp.reps_pair ON reps (course, student_id);
-- The runs whose report exists, and their batches.
CREATE TEMP TABLE have AS SELECT DISTINCT k FROM reps;
CREATE TEMP TABLE regs AS
  SELECT c.code, r.student_id, r.status, r.seq, r.batch_id,
    CAST(substr(b.source, 7, 1) AS INTEGER) AS k
  FROM d.registrations AS r JOIN d.courses AS c ON c.id = r.course_id
  LEFT JOIN d.batches AS b ON b.id = r.batch_id;
CREATE INDEX temp.regs_pair ON regs (code, student_id);
SELECT 'over capacity', c.code, c.capacity, count(*) FROM d.courses AS c
  JOIN d.registrations AS r ON r.course_id = c.id AND r.status = 'registered'
  GROUP BY c.id HAVING count(*) > c.capacity;
SELECT 'waitlist over its limit', c.code, c.waitlist_max, count(*)
  FROM d.courses AS c
  JOIN d.registrations AS r ON r.course_id = c.id AND r.status = 'waitlisted'
  WHERE c.waitlist_max IS NOT NULL
  GROUP BY c.id HAVING count(*) > c.waitlist_max;
SELECT 'stored counts differ', c.code, c.registered, c.waitlisted,
  (SELECT count(*) FROM d.registrations WHERE course_id = c.id AND status = 'registered'),
  (SELECT count(*) FROM d.registrations WHERE course_id = c.id AND status = 'waitlisted')
  FROM d.courses AS c
  WHERE c.registered <> (SELECT count(*) FROM d.registrations WHERE course_id = c.id AND status = 'registered')
     OR c.waitlisted <> (SELECT count(*) FROM d.registrations WHERE course_id = c.id AND status = 'waitlisted');
SELECT 'seats or positions not 1..n', code, status, count(*), count(DISTINCT seq), min(seq), max(seq)
  FROM regs GROUP BY code, status
  HAVING count(*) <> count(DISTINCT seq) OR min(seq) <> 1 OR max(seq) <> count(*);
SELECT 'a registration of a batch that is not committed', code, student_id, batch_id
  FROM regs WHERE batch_id NOT IN
    (SELECT id FROM d.batches WHERE outcome = 'committed');
SELECT 'batch counts differ from its registrations', b.id, b.source,
  b.registered, b.waitlisted
  FROM d.batches AS b WHERE b.outcome = 'committed'
  AND (b.registered <> (SELECT count(*) FROM regs WHERE batch_id = b.id AND status = 'registered')
    OR b.waitlisted <> (SELECT count(*) FROM regs WHERE batch_id = b.id AND status = 'waitlisted'));
SELECT 'a roster committed twice', source, count(*) FROM d.batches
  GROUP BY source HAVING count(*) > 1;
SELECT 'a batch not committed', id, source, outcome FROM d.batches
  WHERE outcome <> 'committed';
SELECT 'registered in two reports', course, student_id, group_concat(k)
  FROM reps WHERE status IN ('registered', 'waitlisted')
  GROUP BY course, student_id HAVING count(*) > 1;
SELECT 'reported but not stored', k, line, course, student_id, status, position
  FROM reps AS p WHERE status IN ('registered', 'waitlisted')
  AND NOT EXISTS (SELECT 1 FROM regs AS g WHERE g.code = p.course
    AND g.student_id = p.student_id AND g.status = p.status AND g.k = p.k
    AND (p.status = 'registered' OR g.seq = CAST(p.position AS INTEGER)));
SELECT 'stored but never reported', code, student_id, status, k FROM regs AS g
  WHERE k IN (SELECT k FROM have) AND NOT EXISTS (SELECT 1 FROM reps AS p
    WHERE p.course = g.code AND p.student_id = g.student_id
    AND p.status = g.status AND p.k = g.k);
SELECT 'already_* not as stored', k, line, course, student_id, status
  FROM reps AS p WHERE status IN ('already_registered', 'already_waitlisted')
  AND NOT EXISTS (SELECT 1 FROM regs AS g WHERE g.code = p.course
    AND g.student_id = p.student_id
    AND 'already_' || g.status = p.status);
SELECT 'batch counts differ from its report', b.id, b.source, b.outcome
  FROM d.batches AS b
  WHERE CAST(substr(b.source, 7, 1) AS INTEGER) IN (SELECT k FROM have)
  AND (b.registered <> (SELECT count(*) FROM reps WHERE status = 'registered'
                        AND k = CAST(substr(b.source, 7, 1) AS INTEGER))
    OR b.waitlisted <> (SELECT count(*) FROM reps WHERE status = 'waitlisted'
                        AND k = CAST(substr(b.source, 7, 1) AS INTEGER))
    OR b.rows <> (SELECT count(*) FROM reps
                  WHERE k = CAST(substr(b.source, 7, 1) AS INTEGER)));
SELECT 'a report without its batch', k FROM have
  WHERE 'roster' || k || '.csv' NOT IN (SELECT source FROM d.batches);
-- Serialised on each course: the seats one batch gave in a course never
-- interleave with another batch's (decided at once, they would).
CREATE TEMP TABLE seats AS SELECT course_id, batch_id, min(seq) AS lo,
  max(seq) AS hi FROM d.registrations WHERE status = 'registered'
  GROUP BY course_id, batch_id;
SELECT 'a course''s seats interleave between batches', a.course_id,
  a.batch_id, b.batch_id FROM seats AS a JOIN seats AS b
  ON a.course_id = b.course_id AND a.batch_id < b.batch_id
  WHERE a.lo < b.hi AND b.lo < a.hi;
SELECT 'batches overlap in time', a.id, b.id FROM d.batches AS a
  JOIN d.batches AS b ON a.id < b.id
  WHERE a.started_at < b.finished_at AND b.started_at < a.finished_at
  AND ${CHECK_ROUND_WHOLE_BATCH:-1};
SQL
}

FAMILY=$1
# shellcheck source=/dev/null
. "$FAMILY"
