"""ptyrun: bulkreg on a pseudo-terminal, for the end-to-end tests.

    import os, sys; sys.path.insert(0, os.environ["ROOT"] + "/tests/e2e")
    import ptyrun
    out, code = ptyrun.run(["-d", db, "register", "r.csv"],
                           when=[(rb"waiting for", ptyrun.open_gate)])

run() forks on a terminal (standard input, output and error are all
it), executes $BULKREG with `args` and reads what the terminal gets until
the process closes it.  `when` lists (trigger, action) pairs, fired once
each and in order: a trigger is a bytes regular expression searched in the
output since the previous one fired (all of it for the first), or a
function of that output; its action is called with the terminal's
descriptor (to type into it).  `cols` sets the terminal's width
(TIOCSWINSZ; 0 leaves it 0 x 0); `columns` sets COLUMNS in the child's
environment (None removes it, when cols is given).  A run still going at
`deadline` seconds is killed: the test fails on what it then lacks, and
does not hang.  The output is also saved to ./tty.

Returns (output bytes, exit status as a shell gives it, seconds, triggers
fired).
"""
import os
import pty
import re
import select
import time


def open_gate(_fd=None):
    """Opens the FIFO $BULKREG_TEST_GATE: the held --check goes on."""
    with open(os.environ["BULKREG_TEST_GATE"], "w"):
        pass


def touch(path):
    """An action that creates `path` (a hold's go file)."""
    def action(_fd=None):
        open(path, "w").close()
    return action


def typed(data):
    """An action that types `data` at the terminal."""
    def action(fd):
        os.write(fd, data)
    return action


def _fired(trigger, out):
    if callable(trigger):
        return trigger(out)
    return re.search(trigger, out) is not None


def run(args, when=(), cols=None, columns=None, deadline=120):
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        if cols is not None:
            import fcntl
            import struct
            import termios
            fcntl.ioctl(2, termios.TIOCSWINSZ,
                        struct.pack("HHHH", 24 if cols else 0, cols, 0, 0))
            os.environ.pop("COLUMNS", None)
        if columns is not None:
            os.environ["COLUMNS"] = str(columns)
        bulkreg = os.environ["BULKREG"]
        os.execv(bulkreg, [bulkreg] + list(args))
    out = b""
    mark = 0
    fired = 0
    end = t0 + deadline
    while True:
        while fired < len(when) and _fired(when[fired][0], out[mark:]):
            when[fired][1](fd)
            fired += 1
            mark = len(out)
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not r:
            os.kill(pid, 9)
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    with open("tty", "wb") as f:
        f.write(out)
    return out, os.waitstatus_to_exitcode(status), time.monotonic() - t0, fired
