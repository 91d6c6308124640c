# shellcheck shell=sh
# shellcheck disable=SC2154 # BULKREG, ROOT come from lib.sh
# t_man_examples: what the man page shows bulkreg printing is what it prints
# (review 17, B2, B5): the text and json reports of the sample roster, the
# summary and -v lines of `course import`, and the commands --wait names.
# (The README's examples are t_readme's.)

MAN=$ROOT/man/bulkreg.1
export MAN

case_ "setup: the sample data, as make demo registers it"
cp "$ROOT"/data/courses.csv "$ROOT"/data/enrolled.csv "$ROOT"/data/roster.csv . || fail "copy data/"
db=$(new_db demo)
"$BULKREG" -q -d "$db" course import courses.csv || fail "import"
"$BULKREG" -q -d "$db" register enrolled.csv --label "enrolled last week" || fail "enrolled.csv"
run -d "$db" register roster.csv --label "Monday roster" --dry-run
expect_rc 1
mv out report.txt
run -d "$db" register roster.csv --label "Monday roster" --dry-run --format json
expect_rc 1
mv out report.json

case_ "the man's text report example is the sample roster's report (every line shown, in order)"
python3 - <<'PY' || fail "the man's text report example differs from the real report"
import os, re, sys
man = open(os.environ["MAN"], encoding="utf-8").read()
start = man.index("Batch 2 committed: 46 rows from roster.csv")
shown = man[start:man.index("\n.Ed", start)].split("\n")
# The run above is a dry run of batch 2 (the man's was committed).
real = open("report.txt", encoding="utf-8").read().split("\n")
real[0:2] = ["Batch 2 committed: " + real[1].split("Processed ", 1)[1]]
speed = re.compile(r" in [0-9.]+ s \([0-9,]+ rows/s, [0-9]+ workers?\)")
norm = lambda l: speed.sub(" in T", l).rstrip()
at = 0
for want in shown:
    if want.strip() == "...":
        continue
    while at < len(real) and norm(real[at]) != norm(want):
        at += 1
    if at == len(real):
        sys.exit("the man shows\n  %s\nnot in the real report (in that order):\n%s"
                 % (want, "\n".join(real)))
    at += 1
PY

case_ "the man's json report example has the sample roster's numbers, label and checksum"
python3 - <<'PY' || fail "the man's json report example differs from the real report"
import json, os, re, sys
man = open(os.environ["MAN"], encoding="utf-8").read()
start = man.index('{"batch": 2, "source": "roster.csv"')
ex = man[start:man.index("\n.Ed", start)]
real = json.load(open("report.json"))
s = real["summary"]
flat = dict(s, **s["reasons"])
bad = []
for key, val in re.findall(r'"([a-z_]+)": ([0-9]+)(?![0-9.])', ex):
    if key in ("batch", "rows_per_second", "workers", "line"):
        continue
    if flat.get(key) != int(val):
        bad.append("%s: man %s, real %s" % (key, val, flat.get(key)))
m = re.search(r'"sha256": "([0-9a-f]+)\.\.\."', ex)
if not m or not real["sha256"].startswith(m.group(1)):
    bad.append("sha256: man %s, real %s" % (m and m.group(1), real["sha256"]))
if '"label": "%s"' % real["label"] not in ex:
    bad.append("label: real %s" % real["label"])
if bad:
    sys.exit("\n".join(bad))
PY

case_ "the man's course import summary and -v lines are what an import prints"
printf 'code,title,capacity,waitlist\nMATH101,Calculus I,30,10\nART105,Drawing,10,0\nBIO110,Biology,24,0\nHIST200,History,20,0\nCHEM101,Chemistry,20,0\n' >c0.csv
printf 'code,title,capacity,waitlist\nMATH101,Calculus I,35,10\nART105,Drawing I,10,5\nBIO110,Biology,24,0\nHIST200,History,20,0\nCHEM101,Chemistry,20,0\nCS101,Programming,40,5\n' >courses.csv
cdb=$(new_db courses)
"$BULKREG" -q -d "$cdb" course import c0.csv || fail "c0.csv"
run -d "$cdb" course import -v courses.csv
expect_rc 0
python3 - <<'PY' || fail "the man's course import lines differ"
import os, re, sys
man = open(os.environ["MAN"], encoding="utf-8").read()
err = open("err", encoding="utf-8").read().split("\n")
want = []
for m in re.finditer(r"\.Bd -literal -offset indent\n((?:bulkreg: |imported ).*?)\n\.Ed", man, re.S):
    want += m.group(1).split("\n")
want = [w for w in want if "MATH101" in w or "ART105" in w or "CS101" in w or "imported" in w]
missing = [w for w in want if w not in err]
if len(want) < 4 or missing:
    sys.exit("man lines %s\nnot printed; stderr:\n%s" % (missing or want, "\n".join(err)))
PY

case_ "the man's --wait entry names every command that takes --wait"
python3 - "$BULKREG" <<'PY' || fail "--wait"
import os, re, subprocess, sys
man = open(os.environ["MAN"], encoding="utf-8").read()
entry = man[man.index(".It Fl -wait Ar seconds\nHow long"):]
entry = entry[:entry.index("\n.It ")]
missing = []
for cmd in (["register"], ["drop"], ["undo"], ["course", "add"], ["course", "import"],
            ["copy-db"], ["init"], ["verify"], ["batches"], ["roster"]):
    h = subprocess.run([sys.argv[1]] + cmd + ["--help"], stdout=subprocess.PIPE).stdout.decode()
    if "--wait" not in h.split("\n\n")[0]:
        continue
    if cmd[0] == "register":
        continue  # the entry is register's
    if not re.search(r"\.Cm %s\b" % re.escape(" ".join(cmd)), entry):
        missing.append(" ".join(cmd))
if missing:
    sys.exit("the --wait entry does not name: %s\n%s" % (", ".join(missing), entry))
PY

case_ "the man's first EXAMPLE works pasted on a fresh machine: it makes its directories (review 17, B8)"
mkdir first && cp "$ROOT"/data/courses.csv first/ || fail "setup"
python3 - "$PWD/first" >first.sh <<'PY' || fail "no first example"
import os, re, sys
d = sys.argv[1]
man = open(os.environ["MAN"], encoding="utf-8").read()
start = man.index(".Sh EXAMPLES")
block = man[man.index(".Bd -literal", start):]
block = block[block.index("\n") + 1:block.index("\n.Ed")]
block = block.replace("\\-", "-").replace("\\e", "\\")
block = block.replace("\\\n      ", "")   # continued lines
print("set -e")
for line in block.split("\n"):
    line = re.sub(r"^\$ ", "", line)
    line = re.sub(r"^sudo ", "", line)     # the test's user owns them
    line = re.sub(r"(?<![\w.$])(/var/[^\s$)]+)", lambda m: d + m.group(1), line)
    print(line)
PY
grep -q "install -d" first.sh || fail "the first example makes no directory: $(cat first.sh)"
(cd first && PATH=$(dirname "$BULKREG"):$PATH sh ../first.sh) >out 2>err
RC=$?
expect_rc 0
[ -f first/var/lib/bulkreg/registrar.db ] && [ -d first/var/log/bulkreg ] || fail "$(cat first.sh)"
expect_out "MATH101"
