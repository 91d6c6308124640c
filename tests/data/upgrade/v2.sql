-- A database made by bulkreg 0.2.0 at schema version 2 (main 613c941): M1 (capacity 1, title Old) and P1
-- made, A and W registered into M1 (W waitlisted) and A into P1 (batch 1), M1 raised to capacity 2 (batch 2,
-- kind course: W promoted), then M1's title set to New (no one moved: not a batch).
-- tests/e2e/t_upgrade.sh loads it and checks that this release upgrades it in place to version 3.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE courses ( id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, title TEXT NOT NULL DEFAULT '', capacity INTEGER NOT NULL CHECK (capacity BETWEEN 0 AND 1000000), waitlist_max INTEGER CHECK (waitlist_max IS NULL OR waitlist_max >= 0), registered INTEGER NOT NULL DEFAULT 0, waitlisted INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, seat_seq INTEGER NOT NULL DEFAULT 0);
INSERT INTO courses VALUES(1,'M1','New',2,NULL,2,0,'2026-12-07T18:28:00.218Z','2026-12-07T18:28:00.516Z',2);
INSERT INTO courses VALUES(2,'P1','Physics',3,NULL,1,0,'2026-12-07T18:28:00.292Z','2026-12-07T18:28:00.377Z',1);
CREATE TABLE students ( student_id TEXT PRIMARY KEY, first_name TEXT NOT NULL DEFAULT '', last_name TEXT NOT NULL DEFAULT '', email TEXT NOT NULL DEFAULT '', created_batch INTEGER) WITHOUT ROWID;
INSERT INTO students VALUES('A','Ann','A','a@x.org',1);
INSERT INTO students VALUES('W','Wes','W','w@x.org',1);
CREATE TABLE batches ( id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, source TEXT NOT NULL, sha256 TEXT, label TEXT, outcome TEXT NOT NULL CHECK (outcome IN  ('running','committed','dry_run','rolled_back')), rows INTEGER NOT NULL DEFAULT 0, registered INTEGER NOT NULL DEFAULT 0, waitlisted INTEGER NOT NULL DEFAULT 0, already_registered INTEGER NOT NULL DEFAULT 0, already_waitlisted INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0, reasons TEXT, kind TEXT NOT NULL DEFAULT 'register' CHECK (kind IN ('register','drop','sync','undo','course','repair')), options TEXT, profile TEXT, promoted INTEGER NOT NULL DEFAULT 0, dropped INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0, undo_of INTEGER REFERENCES batches(id), undone_by INTEGER REFERENCES batches(id), full_history INTEGER NOT NULL DEFAULT 0);
INSERT INTO batches VALUES(1,'2026-12-07T18:28:00.373Z','2026-12-07T18:28:00.381Z','stdin','943233bd1ee956a9c9d5c7cc02a76643b90b71d8f279b1d6a220757876a2c572',NULL,'committed',3,2,1,0,0,0,'{}','register','{}','bulkreg',0,0,0,NULL,NULL,1);
INSERT INTO batches VALUES(2,'2026-12-07T18:28:00.437Z','2026-12-07T18:28:00.440Z','course add M1',NULL,NULL,'committed',0,0,0,0,0,0,'{}','course',NULL,NULL,1,0,0,NULL,NULL,1);
CREATE TABLE registrations ( course_id INTEGER NOT NULL REFERENCES courses(id), student_id TEXT NOT NULL REFERENCES students(student_id)  DEFERRABLE INITIALLY DEFERRED, status TEXT NOT NULL CHECK (status IN ('registered','waitlisted')), seq INTEGER NOT NULL, batch_id INTEGER NOT NULL REFERENCES batches(id), line INTEGER NOT NULL, PRIMARY KEY (course_id, student_id)) WITHOUT ROWID;
INSERT INTO registrations VALUES(1,'A','registered',1,1,2);
INSERT INTO registrations VALUES(1,'W','registered',2,1,3);
INSERT INTO registrations VALUES(2,'A','registered',1,1,4);
CREATE TABLE history ( id INTEGER PRIMARY KEY, batch_id INTEGER NOT NULL REFERENCES batches(id), event TEXT NOT NULL CHECK (event = 'added' OR event = 'promoted'  OR event = 'dropped' OR event = 'restored' OR event = 'student'), course_id INTEGER REFERENCES courses(id), student_id TEXT NOT NULL, line INTEGER, old_status TEXT CHECK (old_status IN ('registered','waitlisted')), old_seq INTEGER, old_batch INTEGER, old_line INTEGER, new_status TEXT CHECK (new_status IN ('registered','waitlisted')), new_seq INTEGER, old_first_name TEXT, old_last_name TEXT, old_email TEXT, new_first_name TEXT, new_last_name TEXT, new_email TEXT);
INSERT INTO history VALUES(1,2,'promoted',1,'W',NULL,'waitlisted',1,1,3,'registered',2,NULL,NULL,NULL,NULL,NULL,NULL);
CREATE TABLE batch_courses ( batch_id INTEGER NOT NULL REFERENCES batches(id), course_id INTEGER NOT NULL REFERENCES courses(id), title TEXT NOT NULL, capacity INTEGER NOT NULL, waitlist_max INTEGER, registered INTEGER NOT NULL, waitlisted INTEGER NOT NULL, seat_seq INTEGER NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (batch_id, course_id)) WITHOUT ROWID;
INSERT INTO batch_courses VALUES(1,1,'Old',1,NULL,0,0,0,'2026-12-07T18:28:00.218Z');
INSERT INTO batch_courses VALUES(1,2,'Physics',3,NULL,0,0,0,'2026-12-07T18:28:00.292Z');
INSERT INTO batch_courses VALUES(2,1,'Old',1,NULL,1,1,1,'2026-12-07T18:28:00.377Z');
CREATE INDEX history_batch ON history (batch_id);
CREATE INDEX registrations_waitlist ON registrations (course_id, seq) WHERE status = 'waitlisted';
PRAGMA user_version = 2;
COMMIT;
