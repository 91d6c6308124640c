# t_progress: the progress line on a terminal (issue 13): rows done of the
# total, percentage, rate and ETA, at most 4 redraws a second, ended (line
# cleared, final count) before the report; never with -q or off a terminal.
# The run is held at one row by a --check that reads a FIFO the test opens
# only once it has seen the lines it wants: no sleep synchronises anything.

db=$PWD/t.db
"$BULKREG" -q -d "$db" course add M1 --capacity 1000 || fail "setup"
mkfifo gate
cat >gate.sh <<'SH'
#!/bin/sh
[ "$BULKREG_STUDENT_ID" = "$BULKREG_TEST_GATE_ID" ] && cat "$BULKREG_TEST_GATE" >/dev/null
exit 0
SH
chmod +x gate.sh
export BULKREG_TEST_GATE="$PWD/gate"

# roster N [PAD]: N rows, each with an ignored notes column of PAD bytes.
roster() {
	python3 - "$1" "${2:-0}" <<'PY'
import sys
n, pad = int(sys.argv[1]), int(sys.argv[2])
with open("r.csv", "w") as f:
    f.write("student_id,first_name,last_name,email,course" + (",notes" if pad else "") + "\n")
    for i in range(n):
        f.write(f"X{i},Ada,Byron,x{i}@example.org,M1" + ("," + "n" * pad if pad else "") + "\n")
PY
}

# pty_run DRAWS_WANTED ARGS...: runs bulkreg on a pseudo-terminal (stdin,
# stdout, stderr), opens the gate after DRAWS_WANTED progress lines (0: at
# once), and writes what the terminal got to ./tty, the exit status to
# ./tty.rc and the seconds the test measured to ./tty.secs.
pty_run() {
	python3 - "$@" <<'PY'
import os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/e2e")
import ptyrun
want = int(sys.argv[1])
out, code, secs, _ = ptyrun.run(sys.argv[2:], when=[
    (lambda o: o.count(b"\r\x1b[Kbulkreg: ") >= want, ptyrun.open_gate)])
open("tty.secs", "w").write("%f\n" % secs)
open("tty.rc", "w").write("%d\n" % code)
PY
}

case_ "a terminal sees rows done of the total, percentage, rate and ETA, at most 4 times a second"
roster 40
BULKREG_TEST_GATE_ID=X20 pty_run 3 -d "$db" register r.csv --dry-run \
	--workers 1 --check ./gate.sh
[ "$(cat tty.rc)" = 0 ] || fail "exit status $(cat tty.rc): $(cat tty)"
python3 - <<'PY' || fail "the progress lines are not as they should be: $(od -c tty | head -40)"
import re, sys
out = open("tty", "rb").read().decode()
secs = float(open("tty.secs").read())
draw = re.compile(r"\r\x1b\[Kbulkreg: (\d+) of (~?)(\d+) rows \((\d+)%\), ([\d,]+) rows/s, ETA (\d+:\d\d|--:--)")
draws = draw.findall(out)
assert len(draws) >= 3, ("too few lines", draws)
for done, est, total, pct, rate, eta in draws:
    # Estimated from the bytes parsed of the file's size (the header
    # takes its share): near 40.
    assert est == "~" and 36 <= int(total) <= 44, ("estimated total", total)
    assert int(done) <= int(total) and int(pct) == int(done) * 100 // int(total), (done, pct)
# Held at row 20: the lines say so.
assert any(d[0] == "20" for d in draws), draws
# At most 4 redraws a second, against the time this test measured.
assert len(draws) <= 4 * secs + 1, (len(draws), secs)
# The end: the line cleared, the final count on a line of its own, then
# the report; nothing redrawn after it.
end = out.index("\r\x1b[Kbulkreg: 40 rows in ")
final = re.compile(r"bulkreg: 40 rows in \d+\.\d s \([\d,]+ rows/s\)\r?\n").match(out, end + 4)
assert final, out[end:end + 80]
rest = out[final.end():]
assert "\x1b[K" not in rest and "ETA" not in rest, rest[:200]
assert rest.startswith("Batch "), rest[:80]
assert "\x1b[K" not in out[:out.index("\r\x1b[K")] , "a clear before any line"
PY

case_ "a line wider than the terminal is cut to its width: redraws leave no wrapped rows behind (review 17, A1)"
# A 30-column terminal (TIOCSWINSZ), then none with COLUMNS=30: the line
# ("bulkreg: 20 of ~40 rows (50%), ...", some 50 columns) must come cut
# to 29 columns with "...", every redraw; the final count is a line of its
# own and may wrap.
roster 40
for how in winsize columns; do
BULKREG_TEST_GATE_ID=X20 HOW=$how python3 - "$db" <<'PY' || fail "$how: a line wider than the terminal: $(od -c tty | head -30)"
import os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/e2e")
import ptyrun
db = sys.argv[1]
winsize = os.environ["HOW"] == "winsize"
out, code, _, _ = ptyrun.run(
    ["-d", db, "register", "r.csv", "--dry-run", "--workers", "1",
     "--check", "./gate.sh"],
    when=[(lambda o: o.count(b"\r\x1b[Kbulkreg: ") >= 2, ptyrun.open_gate)],
    cols=30 if winsize else 0, columns=None if winsize else 30)
assert code == 0, code
s = out.decode()
end = s.index("\r\x1b[Kbulkreg: 40 rows in ")
draws = s[:end].split("\r\x1b[K")[1:]
assert len(draws) >= 2, draws
for d in draws:
    assert len(d) <= 29 and "\n" not in d, ("wider than 29 columns", d)
    assert d.startswith("bulkreg: ") and d.endswith("..."), d
PY
done

case_ "register - with the terminal as standard input says it reads what is typed (review 17, C6)"
python3 - "$db" <<'PY' || fail "no word about the terminal: $(od -c tty | head -20)"
import os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/e2e")
import ptyrun
db = sys.argv[1]
out, code, _, typed = ptyrun.run(["-d", db, "register", "-", "--dry-run"], when=[
    (rb"reading the roster from the terminal",
     ptyrun.typed(b"student_id,email,course\nT1,t1@example.org,M1\n\x04"))],
    deadline=60)
assert typed, out
assert code == 0, (code, out[-300:])
assert b"then Ctrl-D on a line of its own" in out, out
assert b"registered" in out, out[-300:]
PY
run -d "$db" register - --dry-run <r.csv
expect_rc 0
! grep -q "from the terminal" err || fail "said so for a pipe: $(cat err)"

case_ "the total of a file read in part is estimated from the bytes read ('~')"
roster 100 2000
BULKREG_TEST_GATE_ID=X5 pty_run 2 -d "$db" register r.csv --dry-run \
	--workers 1 --check ./gate.sh
[ "$(cat tty.rc)" = 0 ] || fail "exit status $(cat tty.rc): $(cat tty)"
python3 - <<'PY' || fail "no estimated total: $(od -c tty | head -30)"
import re
out = open("tty", "rb").read().decode()
draws = re.findall(r"\r\x1b\[Kbulkreg: (\d+) of ~(\d+) rows \((\d+)%\)", out)
assert draws, "no line with '~'"
for done, total, pct in draws:
    assert int(total) >= int(done) and int(total) >= 6, (done, total)
assert "\r\x1b[Kbulkreg: 100 rows in " in out
PY

case_ "standard input from a pipe: rows and rate, no total"
roster 40
python3 - "$db" <<'PY' || fail "pipe progress: $(od -c tty | head -30)"
import os, pty, re, select, subprocess, sys, time
db = sys.argv[1]
env = dict(os.environ, BULKREG_TEST_GATE_ID="X20")
master, slave = pty.openpty()
p = subprocess.Popen([os.environ["BULKREG"], "-d", db, "register", "-", "--dry-run",
                      "--workers", "1", "--check", "./gate.sh"],
                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=slave, env=env)
os.close(slave)
p.stdin.write(open("r.csv", "rb").read()); p.stdin.close()
out = b""
while out.count(b"\r\x1b[Kbulkreg: ") < 1:
    r, _, _ = select.select([master], [], [], 60)
    assert r, "no progress line"
    out += os.read(master, 4096)
with open(os.environ["BULKREG_TEST_GATE"], "w"):
    pass
assert p.wait(60) == 0
while True:
    r, _, _ = select.select([master], [], [], 5)
    if not r:
        break
    try:
        c = os.read(master, 4096)
    except OSError:
        break
    if not c:
        break
    out += c
s = out.decode()
assert re.search(r"\r\x1b\[Kbulkreg: \d+ rows, [\d,]+ rows/s", s), s
assert " of " not in s.split("rows in")[0], s
PY

case_ "never with -q, never when standard error is not a terminal"
# The run is held for a second (an observation window, not a
# synchronisation): a line would have been drawn 4 times meanwhile.
python3 - "$db" <<'PY' || fail "progress shown where it must not be"
import os, pty, select, subprocess, sys, time
db = sys.argv[1]
env = dict(os.environ, BULKREG_TEST_GATE_ID="X20")
for quiet, err_tty in ((True, True), (False, False)):
    master, slave = pty.openpty()
    args = [os.environ["BULKREG"], "-d", db, "register", "r.csv", "--dry-run",
            "--workers", "1", "--check", "./gate.sh"] + (["-q"] if quiet else [])
    errf = open("stderr.txt", "wb")
    p = subprocess.Popen(args, stdin=slave, stdout=slave,
                         stderr=slave if err_tty else errf, env=env)
    os.close(slave)
    time.sleep(1.0)
    with open(os.environ["BULKREG_TEST_GATE"], "w"):
        pass
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], 30)
        if not r:
            break
        try:
            c = os.read(master, 65536)
        except OSError:
            break
        if not c:
            break
        out += c
    assert p.wait(60) == 0
    errf.close()
    err = open("stderr.txt", "rb").read()
    assert b"ETA" not in out and b"\x1b[K" not in out, (quiet, out[:300])
    assert b"ETA" not in err and b"\r" not in err, (quiet, err[:300])
    assert b" rows in " not in out + err, (quiet, out[:300], err[:300])
PY

case_ "while another process holds the write lock the line says so, then counts as usual"
# sqlite3 holds the lock (BEGIN IMMEDIATE) until the test has seen the
# waiting line; then the run is held at row 20 by the gate until a
# counting line follows.  No sleep: each step waits for what it needs.
roster 40
BULKREG_TEST_GATE_ID=X20 python3 - "$db" <<'PY' || fail "the wait for the lock is not shown: $(od -c tty | head -40)"
import os, re, subprocess, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/e2e")
import ptyrun
db = sys.argv[1]
holder = subprocess.Popen(["sqlite3", db], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
holder.stdin.write("BEGIN IMMEDIATE;\nSELECT 'locked';\n"); holder.stdin.flush()
assert holder.stdout.readline().strip() == "locked"
def release(_fd):
    holder.stdin.write("COMMIT;\n.quit\n"); holder.stdin.close()
    holder.wait()
# A terminal of 80 columns cuts the line's end, never its numbers (review
# 23 F14: the line was cut before them).
out, code, _, fired = ptyrun.run(
    ["-d", db, "register", "r.csv", "--dry-run", "--workers", "1", "--wait",
     "120", "--check", "./gate.sh"], cols=80, when=[
    (rb"waiting \d+ s so far, up to 120 s \(--wait\), for the database's", release),
    (rb"\r\x1b\[Kbulkreg: \d+ of ~?\d+ rows", ptyrun.open_gate)])
if fired < 1:
    holder.kill()
assert fired == 2, fired
assert code == 0, code
s = out.decode()
# Before the lock: no row counted as if the run were going on.
first_wait = s.index("waiting ")
assert " rows/s" not in s[:first_wait].split("\r\x1b[K")[-1], s[:first_wait]
# The end: the rows, and how long it waited.
assert re.search(r"bulkreg: 40 rows in \d+\.\d s \([\d,]+ rows/s\), after \d+\.\d s waiting for the database's write lock\r?\n", s), s[-300:]
PY

case_ "counts of 1,000 and more have thousands separators, as the report's (README 'Numbers')"
roster 1500
BULKREG_TEST_GATE_ID=X1200 python3 - "$db" <<'PY' || fail "no separators: $(od -c tty | tail -20)"
import os, re, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/e2e")
import ptyrun
db = sys.argv[1]
# Held at row 1,200: the line says so, then the gate opens.
out, _, _, opened = ptyrun.run(
    ["-d", db, "register", "r.csv", "--dry-run", "--workers", "2", "--check",
     "./gate.sh"],
    when=[(rb"\r\x1b\[Kbulkreg: 1,200 of ~?1,[45]\d\d rows \(\d+%\), [\d,]+ rows/s",
           ptyrun.open_gate)])
assert opened, "no line said '1,200 of ~1,5xx rows'"
s = out.decode()
assert re.search(r"bulkreg: 1,500 rows in \d+\.\d s \([\d,]+ rows/s\)\r?\n", s), s[-300:]
assert "1,500 rows from r.csv" in s, s[-600:]
PY

case_ "interrupted while waiting for the write lock: nothing had begun, and the message says so (review 19, F11)"
roster 40
python3 - "$db" <<'PY' || fail "the interruption is not told right: $(od -c tty | tail -20)"
import os, re, subprocess, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/e2e")
import ptyrun
db = sys.argv[1]
holder = subprocess.Popen(["sqlite3", db], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
holder.stdin.write("BEGIN IMMEDIATE;\nSELECT 'locked';\n"); holder.stdin.flush()
assert holder.stdout.readline().strip() == "locked"
try:
    # ^C once the line says it waits for the lock.
    out, code, _, fired = ptyrun.run(
        ["-d", db, "register", "r.csv", "--wait", "120"], cols=200,
        when=[(rb"for the database's write lock", ptyrun.typed(b"\x03"))])
finally:
    holder.stdin.write("ROLLBACK;\n.quit\n"); holder.stdin.close(); holder.wait()
assert fired == 1, out[-300:]
assert code == 130, (code, out[-300:])
assert b"interrupted before the batch began: nothing was written" in out, out[-300:]
assert b"rolled back" not in out, out[-300:]
PY
