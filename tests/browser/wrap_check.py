#!/usr/bin/env python3
"""wrap_check: where Chromium broke the lines of a page (cdp.py --layout),
checked against the rule for bulkreg's HTML pages.

    wrap_check.py OUT_DIR        exit 0 if the page keeps the rule, else 1

The rule:
  - a token -- a table cell holding a status, a reason, a code, a student
    id, a line or a number (its data-label says which), a course card's
    code -- is laid out on one line, inside its cell: it never breaks and
    never spills into its neighbour;
  - any other text (details, titles, names, headings) breaks at word
    boundaries; it breaks inside a word only when that word alone is wider
    than its line (the line before the break holds nothing but the word);
  - nothing is laid out past the right edge of the page, and no table's
    frame (div.tw, which would scroll a table too wide for the page) ends
    past it.
"Inside a word" is between two ASCII letters, digits or underscores, where
a browser's normal line breaking never breaks.
"""
import json
import os
import sys

TOKEN_LABELS = {"Line", "Student", "Course", "Status", "Position", "Reason",
                "Code", "Capacity", "Waitlist", "Registered", "Waitlisted",
                "Seats left", "Over"}
SLACK = 0.5  # CSS px of rounding


def wordch(c):
    return c.isascii() and (c.isalnum() or c == "_")


def main():
    out = sys.argv[1]
    snap = json.load(open(os.path.join(out, "layout.json")))
    width = json.load(open(os.path.join(out, "metrics.json")))["viewport_width"]
    strings = snap["strings"]
    doc = snap["documents"][0]
    nodes, layout, boxes = doc["nodes"], doc["layout"], doc["textBoxes"]
    parent = nodes["parentIndex"]
    name = [strings[i] for i in nodes["nodeName"]]

    def attrs(n):
        a = nodes["attributes"][n]
        return {strings[a[i]]: strings[a[i + 1]] for i in range(0, len(a), 2)}

    layout_of = {n: k for k, n in enumerate(layout["nodeIndex"])}

    def bounds(n):
        k = layout_of.get(n)
        return layout["bounds"][k] if k is not None else None

    def token_cell(n):
        """The element n's text is a token of, or None."""
        while n >= 0:
            if name[n] == "TD":
                return n if attrs(n).get("data-label") in TOKEN_LABELS else None
            if name[n] == "SPAN" and "code" in attrs(n).get("class", "").split():
                return n
            n = parent[n]
        return None

    # The text boxes (line fragments) of each text node, in order.
    frags = {}
    for li, b, st, ln in zip(boxes["layoutIndex"], boxes["bounds"],
                             boxes["start"], boxes["length"]):
        n = layout["nodeIndex"][li]
        frags.setdefault(n, []).append((st, ln, b, li))
    bad = []
    for n in range(len(name)):
        b = bounds(n)
        if b and "tw" in attrs(n).get("class", "").split() and \
                b[0] + b[2] > width + SLACK:
            bad.append("a table's frame past the page's right edge (%d px > %d)"
                       % (b[0] + b[2], width))
    for n, fs in sorted(frags.items()):
        fs.sort()
        li = fs[0][3]
        text = strings[layout["text"][li]] if layout["text"][li] >= 0 else ""
        where = repr(text[:60])
        for st, ln, b, _ in fs:
            if b[0] + b[2] > width + SLACK:
                bad.append("past the page's right edge (%d px > %d): %s"
                           % (b[0] + b[2], width, where))
                break
        cell = token_cell(n)
        if cell is not None:
            if len(fs) > 1:
                bad.append("a token broken over %d lines: %s" % (len(fs), where))
            cb = bounds(cell)
            for st, ln, b, _ in fs:
                if cb and (b[0] < cb[0] - SLACK or
                           b[0] + b[2] > cb[0] + cb[2] + SLACK):
                    bad.append("a token wider than its cell (text %.0f..%.0f, "
                               "cell %.0f..%.0f): %s" % (b[0], b[0] + b[2], cb[0],
                                                        cb[0] + cb[2], where))
            continue
        for (st0, ln0, _, _), (st, _, _, _) in zip(fs, fs[1:]):
            if 0 < st < len(text) and wordch(text[st - 1]) and wordch(text[st]):
                line = text[st0:st0 + ln0]
                if any(c.isspace() for c in line.strip()):
                    bad.append("broken inside a word that fits its line: "
                               "%r|%r in %s" % (text[max(0, st - 20):st],
                                                text[st:st + 20], where))
    for b in bad:
        print(b)
    print("wrap_check: %d text nodes, %d line fragments, %d problems"
          % (len(frags), len(boxes["layoutIndex"]), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
