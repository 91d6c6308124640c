# t_readme: the README's examples are true (issue 13, defect 8).  Every
# fenced block right after a `<!-- readme-test` comment is run, each in a
# fresh directory holding a copy of data/ and no database, with this
# bulkreg first in PATH:
#   - a transcript (lines starting with "$ "): each command runs, and the
#     lines shown after it must appear in its output (stdout and stderr), in
#     order and one after the other; "..." stands for lines left out (and is
#     needed wherever some are), lines before the first shown may be left
#     out, and the elapsed time, rate and worker count of a summary line may
#     differ;
#   - a script (no "$ "): each line runs; exit status 0 or 1 (rows
#     rejected) is fine, 2 or more means the example is wrong; and each
#     course a `course add --capacity N` sets has that capacity (and
#     waitlist) when the block ends -- no later import set it back;
#   - `<!-- readme-test: crontab`: the PATH the crontab sets must hold
#     /usr/local/bin (where `make install` puts bulkreg), and each job runs
#     as cron would, with that PATH, `\%` read as `%`, and its absolute
#     paths moved under the test's directory -- after the README's own
#     `install -d` line just before it: the test makes no directory of
#     bulkreg's (/var/...) itself (review 17, B8).
# Sections without the marker are left alone, so the README can grow.

README=$ROOT/README.md
BINDIR=$(cd "$(dirname "$BULKREG")" && pwd)
[ "$(basename "$BULKREG")" = bulkreg ] || {
	mkdir -p bin && ln -s "$BULKREG" bin/bulkreg && BINDIR=$PWD/bin
}
export BINDIR README

case_ "the README marks its examples (at least the first one, Using it and cron)"
n=$(grep -c '^<!-- readme-test' "$README")
[ "$n" -ge 4 ] || fail "only $n marked blocks in README.md"

case_ "every marked example runs and shows what the README says"
python3 - <<'PY' || fail "a README example is not true (see above)"
import os, re, shutil, subprocess, sys, tempfile

readme = open(os.environ["README"], encoding="utf-8").read().split("\n")
root, bindir = os.environ["ROOT"], os.environ["BINDIR"]
failures = []

def blocks():
    """(line number, marker, block lines) for each marked fenced block."""
    i = 0
    while i < len(readme):
        if readme[i].startswith("<!-- readme-test"):
            marker, j = readme[i], i + 1
            while j < len(readme) and not readme[j].startswith("```"):
                j += 1
            k = j + 1
            while k < len(readme) and not readme[k].startswith("```"):
                k += 1
            yield i + 1, marker, readme[j + 1:k]
            i = k
        i += 1

SUMMARY = re.compile(r" in [0-9.]+ s \([0-9,]+ rows/s, [0-9]+ workers?\)")

def norm(line):
    return SUMMARY.sub(" in T s (R rows/s, W workers)", line).rstrip()

def fresh_dir():
    d = tempfile.mkdtemp(dir=".")
    shutil.copytree(os.path.join(root, "data"), os.path.join(d, "data"))
    return os.path.abspath(d)

def env_for(path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULKREG_")}
    env["PATH"] = path
    return env

def run(cmd, cwd, env):
    p = subprocess.run(["sh", "-c", cmd], cwd=cwd, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return p.returncode, p.stdout.decode("utf-8", "replace").split("\n")

def check_transcript(where, lines):
    d, env = fresh_dir(), env_for(bindir + ":" + os.environ["PATH"])
    steps = []
    for line in lines:
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    for cmd, shown in steps:
        rc, out = run(cmd, d, env)
        if rc > 1:
            failures.append("%s: '%s' exited %d:\n%s" % (where, cmd, rc, "\n".join(out)))
            continue
        got = [norm(l) for l in out]
        at = 0
        skip = True  # the first line shown may come after others
        for want in shown:
            if want.strip() == "...":
                skip = True
                continue
            want = norm(want)
            if not skip:
                # Lines shown one after the other are printed one after
                # the other: a line left out is marked "..." (review 23 F07).
                if at < len(got) and got[at] == want:
                    at += 1
                    continue
                failures.append("%s: '%s' shows\n  %s\nright after the line "
                                "before it, but prints\n  %s\n(mark lines left "
                                "out with '...'); its output:\n%s"
                                % (where, cmd, want,
                                   got[at] if at < len(got) else "(nothing)",
                                   "\n".join(out)))
                break
            while at < len(got) and got[at] != want:
                at += 1
            if at == len(got):
                failures.append("%s: '%s' does not show\n  %s\nits output:\n%s"
                                % (where, cmd, want, "\n".join(out)))
                break
            at += 1
            skip = False

def check_script(where, lines):
    d, env = fresh_dir(), env_for(bindir + ":" + os.environ["PATH"])
    for cmd in lines:
        if not cmd.strip() or cmd.lstrip().startswith("#"):
            continue
        rc, out = run(cmd, d, env)
        if rc > 1:
            failures.append("%s: '%s' exited %d:\n%s" % (where, cmd, rc, "\n".join(out)))
    # What a `course add` sets is what the example ends with: no later
    # command (a course import) silently sets it back.
    rc, out = run("bulkreg course list --format csv", d, env)
    listed = {r.split(",")[0]: r.split(",") for r in out[1:] if r}
    for cmd in lines:
        m = re.search(r"bulkreg course add (\S+) .*--capacity (\d+)", cmd)
        if not m:
            continue
        code, cap = m.group(1), m.group(2)
        w = re.search(r"--waitlist (\d+)", cmd)
        row = listed.get(code)
        # code,title,capacity,waitlist,...
        if not row or row[-6] != cap or (w and row[-5] != w.group(1)):
            failures.append("%s: after the example, %s is %s, not what '%s' set"
                            % (where, code, row, cmd.split("#")[0].strip()))

def setup_lines(lineno):
    """The README's `install -d` commands in the 30 lines before line lineno:
    the directories a crontab's job writes into are made there, not here."""
    return [l for l in readme[max(0, lineno - 31):lineno - 1]
            if re.match(r"^(sudo )?install -d ", l)]

def check_crontab(where, lines, lineno):
    d = fresh_dir()
    # What the README says to run once, first (its paths moved under the
    # test's directory, without sudo: the test's user owns them).
    for cmd in setup_lines(lineno):
        cmd = re.sub(r"^sudo ", "", cmd)
        cmd = re.sub(r"(?<![\w.$])(/(?:var|srv|etc|home)/[^\s$)]+)",
                     lambda m: d + m.group(1), cmd)
        rc, out = run(cmd, d, env_for(os.environ["PATH"]))
        if rc != 0:
            failures.append("%s: '%s' exited %d:\n%s" % (where, cmd, rc, "\n".join(out)))
    variables, jobs = {}, []
    for line in lines:
        m = re.match(r"^([A-Z_]+)=(.*)$", line)
        if m:
            variables[m.group(1)] = m.group(2)
        elif line.strip() and not line.startswith("#"):
            jobs.append(line.split(None, 5)[5])
    path = variables.get("PATH", "")
    if "/usr/local/bin" not in path.split(":"):
        failures.append("%s: the crontab's PATH (%r) lacks /usr/local/bin" % (where, path))
    # The job's absolute paths, under the test's directory.
    def moved(p):
        return d + p
    for job in jobs:
        job = job.replace("\\%", "%")
        paths = re.findall(r"(?<![\w.$])(/(?:var|srv|etc|home)/[^\s$)]+)", job)
        for p in paths:
            job = job.replace(p, moved(p))
            # The SIS's export is there already; bulkreg's own directories
            # (/var/...) are the README's to make (review 17, B8).
            if not p.startswith("/var/"):
                parent = os.path.dirname(moved(p))
                os.makedirs(parent if not p.endswith("/") else moved(p), exist_ok=True)
        for p in paths:
            if p.endswith(".db"):  # the job registers into a set-up database
                if subprocess.run([os.path.join(bindir, "bulkreg"), "-q", "-d", moved(p),
                                   "course", "import", "data/courses.csv"],
                                  cwd=d).returncode != 0:
                    failures.append("%s: cannot create %s (is its directory made "
                                    "first?)" % (where, p))
            elif p.endswith("roster.csv"):
                shutil.copy(os.path.join(d, "data", "roster.csv"), moved(p))
        # Cron's PATH, with this build standing in for /usr/local/bin.
        cron_path = ":".join(bindir if e == "/usr/local/bin" else e
                             for e in path.split(":"))
        env = env_for(cron_path)
        env.update({k: v for k, v in variables.items() if k != "PATH"})
        rc, out = run(job, d, env)
        if rc > 1:
            failures.append("%s: the cron job exited %d:\n%s" % (where, rc, "\n".join(out)))

count = 0
for lineno, marker, lines in blocks():
    count += 1
    where = "README.md:%d" % lineno
    if marker.startswith("<!-- readme-test: crontab"):
        check_crontab(where, lines, lineno)
    elif any(l.startswith("$ ") for l in lines):
        check_transcript(where, lines)
    else:
        check_script(where, lines)
    print("checked %s (%d lines)" % (where, len(lines)))
for f in failures:
    print("FAILED:", f)
sys.exit(1 if failures or count == 0 else 0)
PY
