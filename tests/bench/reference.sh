#!/bin/sh
# reference: the same batch done with the sqlite3 CLI (.import + set-based SQL),
# the peer `make bench` compares bulkreg with.
# Usage: tests/bench/reference.sh DB COURSES.csv ROSTER.csv REPORT.csv
# Loads the courses first (not part of the work), then, in one transaction:
# validate, dedupe, allocate seats in file order, upsert students, insert
# registrations, update the course counts, and write a per-row csv report.
set -eu
db=$1 courses=$2 roster=$3 report=$4
rm -f "$db" "$db-wal" "$db-shm"
sqlite3 "$db" <<SQL >/dev/null
PRAGMA journal_mode=WAL;
CREATE TABLE courses(id INTEGER PRIMARY KEY, code TEXT UNIQUE NOT NULL,
  title TEXT, capacity INTEGER, waitlist_max INTEGER,
  registered INTEGER NOT NULL DEFAULT 0, waitlisted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE students(student_id TEXT PRIMARY KEY, first_name TEXT,
  last_name TEXT, email TEXT) WITHOUT ROWID;
CREATE TABLE registrations(course_id INTEGER, student_id TEXT, status TEXT,
  seq INTEGER, line INTEGER, PRIMARY KEY(course_id, student_id)) WITHOUT ROWID;
CREATE TABLE courses_raw(code, title, capacity, waitlist);
.import --csv --skip 1 $courses courses_raw
SQL
sqlite3 "$db" <<'SQL' >/dev/null
INSERT INTO courses(code, title, capacity, waitlist_max)
  SELECT code, title, CAST(capacity AS INTEGER),
         CASE WHEN waitlist = '' THEN NULL ELSE CAST(waitlist AS INTEGER) END
  FROM courses_raw;
DROP TABLE courses_raw;
SQL
sqlite3 "$db" <<SQL
PRAGMA synchronous=NORMAL;
PRAGMA cache_size=-49152;
BEGIN IMMEDIATE;
CREATE TEMP TABLE raw(student_id, first_name, last_name, email, course);
.import --csv --skip 1 --schema temp $roster raw
CREATE TEMP TABLE r AS
  SELECT rowid + 1 AS line, trim(student_id) AS sid, trim(first_name) AS fn,
         trim(last_name) AS ln, trim(email) AS em, trim(course) AS co
  FROM temp.raw;
CREATE TEMP TABLE v AS
  SELECT r.*, c.id AS cid,
    CASE
      WHEN sid IS NULL OR sid = '' THEN 'missing_student_id'
      WHEN length(sid) > 64 OR sid GLOB '*[^A-Za-z0-9._-]*'
           OR substr(sid, 1, 1) GLOB '[._-]' THEN 'invalid_student_id'
      WHEN em IS NULL OR em = '' THEN 'missing_email'
      WHEN em NOT LIKE '%_@_%._%' OR em LIKE '%@%@%' OR em GLOB '*[ ]*'
           OR length(em) > 254 THEN 'invalid_email'
      WHEN co IS NULL OR co = '' THEN 'missing_course'
      WHEN c.id IS NULL THEN 'unknown_course'
    END AS reason
  FROM r LEFT JOIN courses c ON c.code = r.co;
CREATE TEMP TABLE d AS
  SELECT v.line, v.sid, v.co, v.cid, v.fn, v.ln, v.em,
    CASE
      WHEN v.reason IS NOT NULL THEN v.reason
      WHEN row_number() OVER (PARTITION BY v.sid, v.cid ORDER BY v.line) > 1
        THEN 'duplicate_in_roster'
    END AS reason,
    g.status AS old_status, g.seq AS old_seq
  FROM v LEFT JOIN registrations g ON g.course_id = v.cid AND g.student_id = v.sid;
CREATE TEMP TABLE a AS
  SELECT d.*, row_number() OVER (PARTITION BY d.cid ORDER BY d.line) AS k
  FROM d WHERE d.reason IS NULL AND d.old_status IS NULL;
CREATE TEMP TABLE res AS
  SELECT a.line, a.sid, a.co, a.cid, a.fn, a.ln, a.em,
    CASE
      WHEN a.k <= c.capacity - c.registered THEN 'registered'
      WHEN c.waitlist_max IS NULL
           OR a.k - max(c.capacity - c.registered, 0) <= c.waitlist_max - c.waitlisted
        THEN 'waitlisted'
      ELSE 'rejected'
    END AS status,
    a.k - max(c.capacity - c.registered, 0) + c.waitlisted AS wpos,
    a.k + c.registered AS seat
  FROM a JOIN courses c ON c.id = a.cid;
CREATE INDEX temp.res_line ON res(line);
INSERT INTO students(student_id, first_name, last_name, email)
  SELECT sid, fn, ln, em FROM res WHERE status <> 'rejected' ORDER BY line
  ON CONFLICT(student_id) DO UPDATE SET
    first_name = CASE WHEN excluded.first_name <> '' THEN excluded.first_name ELSE first_name END,
    last_name = CASE WHEN excluded.last_name <> '' THEN excluded.last_name ELSE last_name END,
    email = CASE WHEN excluded.email <> '' THEN excluded.email ELSE email END;
INSERT INTO registrations(course_id, student_id, status, seq, line)
  SELECT cid, sid, status, CASE status WHEN 'registered' THEN seat ELSE wpos END, line
  FROM res WHERE status <> 'rejected';
CREATE TEMP TABLE added AS
  SELECT cid, sum(status = 'registered') AS reg, sum(status = 'waitlisted') AS wl
  FROM res GROUP BY cid;
UPDATE courses SET registered = registered + added.reg,
                   waitlisted = waitlisted + added.wl
  FROM added WHERE added.cid = courses.id;
.headers on
.mode csv
.once $report
SELECT d.line, d.sid AS student_id, d.co AS course,
  CASE WHEN d.reason IS NOT NULL THEN 'rejected'
       WHEN d.old_status IS NOT NULL THEN 'already_' || d.old_status
       WHEN res.status = 'rejected' THEN 'rejected'
       ELSE res.status END AS status,
  CASE WHEN res.status = 'waitlisted' THEN res.wpos
       WHEN d.old_status = 'waitlisted' THEN d.old_seq END AS position,
  coalesce(d.reason, CASE WHEN res.status = 'rejected' THEN 'course_full' END) AS reason,
  '' AS detail
FROM d LEFT JOIN res ON res.line = d.line ORDER BY d.line;
COMMIT;
SQL
