# t_manpage: bulkreg(1) renders as written, under mandoc and under man(1)'s
# groff at 80 columns (review 16, B6): no flag macro that swallows the words
# after it ("-a -flat -file's"), and the INPUT PROFILES detection list keeps
# each profile on the line of its rule.
sqlite_only "reads the man page, not a database"
MAN=$ROOT/man/bulkreg.1

# plain: overstrikes (bold, underline) and tabs out, as col -bx would.
plain() {
	python3 -c 'import re, sys; sys.stdout.write(re.sub(".\b", "", sys.stdin.read()).expandtabs())'
}
# render: the page as plain text, by each renderer this machine has.
render() {
	if command -v mandoc >/dev/null 2>&1; then
		mandoc -Tascii -Owidth=80 "$MAN" | plain >mandoc.txt || fail "mandoc"
		echo mandoc.txt
	fi
	if command -v groff >/dev/null 2>&1; then
		# What man(1) does for MANWIDTH=80: a line length of 80 - 2 - 5.
		groff -mandoc -Tascii -rLL=73n -rLT=73n "$MAN" 2>/dev/null |
			plain >groff.txt || fail "groff"
		echo groff.txt
	fi
}
outs=$(render)
[ -n "$outs" ] || fail "neither mandoc nor groff is installed (make deps-test)"

case_ "a flag macro does not swallow the words after its comma (OUTCOMES, unknown_course)"
for f in $outs; do
	tr -s ' \n' '  ' <"$f" >flat.txt # the words, whatever the line breaks
	grep -q "a deleted user in --users, a flat file's" flat.txt ||
		fail "$f: $(grep -n "flat -file" "$f" | head -3)"
	! grep -qE -- "-a -flat|-undo\)" flat.txt || fail "$f: $(grep -nE -- "-a -flat|-undo\)" "$f")"
done

case_ "the source: no word other than a flag after a flag macro's punctuation"
python3 - "$MAN" <<'PY' || fail "flag macros swallow words (see above)"
import re, sys
bad = []
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    if not line.startswith(".") or " Fl " not in " " + line[1:]:
        continue
    words = line[1:].split()
    in_fl = False
    for i, w in enumerate(words):
        if re.fullmatch(r"[A-Z][a-z][a-z]?|Fl", w):
            in_fl = w == "Fl"
            continue
        if in_fl and w in {",", ";", ".", ":", ")"}:
            nxt = words[i + 1] if i + 1 < len(words) else None
            if nxt and not re.fullmatch(r"[A-Z][a-z][a-z]?|Fl|[,;.:)|]|-\S*", nxt):
                bad.append("%d: %s" % (n, line.rstrip()))
                break
if bad:
    print("\n".join(bad))
    sys.exit(1)
PY

case_ "INPUT PROFILES: each profile on the line of its rule"
for f in $outs; do
	for rule in "oneroster +.userSourcedId. and .classSourcedId." \
		"canvas +.user_id. and .course_id. or .section_id." \
		"clever +.Student_id. and .Section_id." \
		"moodle-upload +.username. and .firstname., .lastname. or" \
		"moodle-flatfile +first field .add. or .del., 4 to 6 fields" \
		"bulkreg +anything else"; do
		grep -qE "^ +$rule" "$f" || fail "$f: no line '$rule':
$(sed -n '/^INPUT PROFILES/,/keep working/p' "$f")"
	done
done
