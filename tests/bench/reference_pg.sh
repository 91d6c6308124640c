#!/bin/sh
# reference_pg: the same batch as tests/bench/reference.sh, done by psql on
# PostgreSQL with COPY and set-based SQL -- the peer `make bench` compares
# bulkreg's PostgreSQL store with.
# Usage: tests/bench/reference_pg.sh URI COURSES.csv ROSTER.csv REPORT.csv
# Works in schema bench_ref of the database (dropped and made anew); loads
# the courses first, then in one transaction: read the roster (COPY), split
# the fields (a quoted field through a regular expression), validate,
# dedupe, allocate seats in file order, upsert students, insert
# registrations, update the course counts, and write a per-row csv report.
set -eu
uri=$1 courses=$2 roster=$3 report=$4
export PGOPTIONS="-c client_min_messages=warning -c search_path=bench_ref"
psql -X -q -v ON_ERROR_STOP=1 -d "$uri" <<SQL >/dev/null
DROP SCHEMA IF EXISTS bench_ref CASCADE;
CREATE SCHEMA bench_ref;
CREATE TABLE courses(id bigserial PRIMARY KEY, code text UNIQUE NOT NULL,
  title text, capacity bigint, waitlist_max bigint,
  registered bigint NOT NULL DEFAULT 0, waitlisted bigint NOT NULL DEFAULT 0);
CREATE TABLE students(student_id text PRIMARY KEY, first_name text,
  last_name text, email text);
CREATE TABLE registrations(course_id bigint, student_id text, status text,
  seq bigint, line bigint, PRIMARY KEY(course_id, student_id));
CREATE TEMP TABLE courses_raw(code text, title text, capacity text, waitlist text);
\copy courses_raw FROM '$courses' WITH (FORMAT csv, HEADER true)
INSERT INTO courses(code, title, capacity, waitlist_max)
  SELECT code, title, capacity::bigint, nullif(waitlist, '')::bigint FROM courses_raw;
SQL
psql -X -q -v ON_ERROR_STOP=1 -d "$uri" <<SQL >/dev/null
BEGIN;
CREATE TEMP TABLE raw(n bigserial, l text);
\copy raw(l) FROM '$roster' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
CREATE TEMP TABLE f AS
  SELECT n AS line,
    CASE WHEN strpos(l, '"') = 0 THEN string_to_array(l, ',')
    ELSE (SELECT array_agg(regexp_replace(regexp_replace(m[1], '^"(.*)"$', '\1'),
                 '""', '"', 'g') ORDER BY k)
          FROM regexp_matches(l || ',', '("(?:[^"]|"")*"|[^,]*),', 'g')
               WITH ORDINALITY AS t(m, k)) END AS a
  FROM raw WHERE n > 1;
CREATE TEMP TABLE r AS
  SELECT line, trim(a[1]) AS sid, trim(a[2]) AS fn, trim(a[3]) AS ln,
         trim(a[4]) AS em, trim(a[5]) AS co FROM f;
CREATE TEMP TABLE v AS
  SELECT r.*, c.id AS cid,
    CASE
      WHEN sid IS NULL OR sid = '' THEN 'missing_student_id'
      WHEN length(sid) > 64 OR sid ~ '[^A-Za-z0-9._-]' OR sid ~ '^[._-]'
        THEN 'invalid_student_id'
      WHEN em IS NULL OR em = '' THEN 'missing_email'
      WHEN em NOT LIKE '%_@_%._%' OR em LIKE '%@%@%' OR em ~ ' '
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
           OR a.k - greatest(c.capacity - c.registered, 0) <= c.waitlist_max - c.waitlisted
        THEN 'waitlisted'
      ELSE 'rejected'
    END AS status,
    a.k - greatest(c.capacity - c.registered, 0) + c.waitlisted AS wpos,
    a.k + c.registered AS seat
  FROM a JOIN courses c ON c.id = a.cid;
CREATE INDEX ON res(line);
INSERT INTO students(student_id, first_name, last_name, email)
  SELECT DISTINCT ON (sid) sid, fn, ln, em FROM res WHERE status <> 'rejected'
  ORDER BY sid, line
  ON CONFLICT(student_id) DO UPDATE SET
    first_name = CASE WHEN excluded.first_name <> '' THEN excluded.first_name ELSE students.first_name END,
    last_name = CASE WHEN excluded.last_name <> '' THEN excluded.last_name ELSE students.last_name END,
    email = CASE WHEN excluded.email <> '' THEN excluded.email ELSE students.email END;
INSERT INTO registrations(course_id, student_id, status, seq, line)
  SELECT cid, sid, status, CASE status WHEN 'registered' THEN seat ELSE wpos END, line
  FROM res WHERE status <> 'rejected';
UPDATE courses SET registered = courses.registered + added.reg,
                   waitlisted = courses.waitlisted + added.wl
  FROM (SELECT cid, count(*) FILTER (WHERE status = 'registered') AS reg,
               count(*) FILTER (WHERE status = 'waitlisted') AS wl
        FROM res GROUP BY cid) AS added
  WHERE added.cid = courses.id;
\copy (SELECT d.line, d.sid AS student_id, d.co AS course, CASE WHEN d.reason IS NOT NULL THEN 'rejected' WHEN d.old_status IS NOT NULL THEN 'already_' || d.old_status WHEN res.status = 'rejected' THEN 'rejected' ELSE res.status END AS status, CASE WHEN res.status = 'waitlisted' THEN res.wpos WHEN d.old_status = 'waitlisted' THEN d.old_seq END AS position, coalesce(d.reason, CASE WHEN res.status = 'rejected' THEN 'course_full' END) AS reason, NULL::text AS detail FROM d LEFT JOIN res ON res.line = d.line ORDER BY d.line) TO '$report' WITH (FORMAT csv, HEADER true)
COMMIT;
SQL
