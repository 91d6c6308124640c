#!/usr/bin/env python3
"""report_dom: reads bulkreg's HTML report (the file, or the DOM a browser
made of it) back into numbers and rows, and compares them with the csv
report of the same run.

    report_dom.py REPORT.html REPORT.csv      exit 0 if they agree, else 1

What is compared:
  - the summary: the count of every status and every reason equals the
    number of csv rows with that status / reason;
  - the rejected and skipped rows: one group per reason that occurred, its
    count equal to the csv's, its rows (line, student, course, status,
    detail) equal to the csv's rows of that reason, in order;
  - every row: (line, student_id, course, status, position, reason, detail)
    equal to the csv's rows, in order (the first 10,000; past that the page
    must say so, and say how many there are).
Values compare exactly: a <span class="cp" data-cp="HHHH"> stands for the
character U+HHHH, and the csv's formula guard (a ' before = + - @ TAB CR) is
taken off.
"""
import csv
import html.parser
import io
import sys

ROWS_MAX = 10000


class Report(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.counts = {}          # "rows", status names, reason names -> int
        self.groups = {}          # reason -> {"count": n, "rows": [...]}
        self.rows = []            # every-row table
        self.notes = []           # (listed, total) of each "first N" note
        self.scripts = 0
        self.stack = []           # open elements: (tag, attrs)
        self.group = None         # reason of the group section we are in
        self.in_rows = False      # inside section#rows
        self.in_counts = False
        self.count_key = None
        self.cell = None          # text of the <td> being read
        self.cells = None         # cells of the <tr> being read
        self.cp_depth = 0         # inside a span.cp: its text is not data

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "iframe", "object", "embed"):
            self.scripts += 1
        if tag not in ("meta", "col", "br", "img", "input", "link", "rect"):
            self.stack.append((tag, a))
        if tag == "section" and a.get("id") == "rows":
            self.in_rows = True
        if tag == "section" and "group" in a.get("class", "").split():
            self.group = a["data-reason"]
            self.groups[self.group] = {"count": None, "rows": []}
        if tag == "span" and self.group and "count" in a.get("class", "").split():
            self.groups[self.group]["count"] = int(a["data-count"])
        if tag == "table" and a.get("id") == "counts":
            self.in_counts = True
        if tag == "tr" and self.in_counts:
            self.count_key = a.get("data-status") or a.get("data-reason") or \
                a.get("data-count")
            self.cell = None
        if tag == "tr" and not self.in_counts:
            self.cells = []
        if tag == "td":
            self.cell = ""
        if tag == "span" and "cp" in a.get("class", "").split():
            if self.cell is not None:
                self.cell += chr(int(a["data-cp"], 16))
            self.cp_depth += 1
        if tag == "p" and "note" in a.get("class", "").split():
            self.notes.append((int(a["data-listed"]), int(a["data-total"])))

    def handle_endtag(self, tag):
        while self.stack:
            t, a = self.stack.pop()
            if t == tag:
                break
        else:
            return
        if tag == "span" and "cp" in a.get("class", "").split():
            self.cp_depth -= 1
        elif tag == "td":
            if self.in_counts:
                # a reason can be under both skipped and rejected
                self.counts[self.count_key] = self.counts.get(self.count_key, 0) + \
                    int(self.cell.replace(",", ""))
            elif self.cells is not None:
                self.cells.append(self.cell)
            self.cell = None
        elif tag == "tr" and not self.in_counts and self.cells:
            if self.group:
                self.groups[self.group]["rows"].append(self.cells)
            elif self.in_rows:
                self.rows.append(self.cells)
            self.cells = None
        elif tag == "table" and self.in_counts:
            self.in_counts = False
        elif tag == "section":
            if self.group and a.get("data-reason") == self.group:
                self.group = None
            elif a.get("id") == "rows":
                self.in_rows = False

    def handle_data(self, data):
        if self.cell is not None and self.cp_depth == 0:
            self.cell += data


def parse(text):
    r = Report()
    r.feed(text)
    r.close()
    return r


def unguard(v):
    if len(v) >= 2 and v[0] == "'" and v[1] in "=+-@\t\r":
        return v[1:]
    return v


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        recs = list(csv.DictReader(f))
    return [{k: unguard(v) for k, v in r.items()} for r in recs]


def compare(page, rows):
    """A list of differences between the parsed page and the csv rows."""
    bad = []
    statuses = ["registered", "waitlisted", "already_registered",
                "already_waitlisted", "promoted", "dropped", "skipped",
                "rejected"]
    for st in statuses:
        want = sum(1 for r in rows if r["status"] == st)
        # A status the batch is not about is left out at 0.
        if page.counts.get(st, 0) != want:
            bad.append("summary %s: page %s, csv %d" % (st, page.counts.get(st), want))
    reasons = sorted({r["reason"] for r in rows if r["reason"]})
    for rs in reasons:
        want = [r for r in rows if r["reason"] == rs]
        if page.counts.get(rs) != len(want):
            bad.append("summary %s: page %s, csv %d" % (rs, page.counts.get(rs), len(want)))
        g = page.groups.get(rs)
        if not g:
            bad.append("no group for reason %s" % rs)
            continue
        if g["count"] != len(want):
            bad.append("group %s: count %s, csv %d" % (rs, g["count"], len(want)))
        exp = [[r["line"], r["student_id"], r["course"], r["status"], r["detail"]]
               for r in want][:ROWS_MAX]
        if g["rows"] != exp[:len(g["rows"])] or len(g["rows"]) != len(exp):
            bad.append("group %s rows differ: page %r, csv %r" %
                       (rs, g["rows"][:3], exp[:3]))
    for rs in page.groups:
        if rs not in reasons:
            bad.append("group %s on the page, not in the csv" % rs)
    exp = [[r["line"], r["student_id"], r["course"], r["status"], r["position"],
            r["reason"], r["detail"]] for r in rows]
    if len(exp) > ROWS_MAX:
        if (ROWS_MAX, len(exp)) not in page.notes:
            bad.append("no note that %d of %d rows are listed" % (ROWS_MAX, len(exp)))
        exp = exp[:ROWS_MAX]
    if page.rows != exp:
        for i, (p, e) in enumerate(zip(page.rows, exp)):
            if p != e:
                bad.append("row %d: page %r, csv %r" % (i + 1, p, e))
                break
        if len(page.rows) != len(exp):
            bad.append("page lists %d rows, csv has %d" % (len(page.rows), len(exp)))
    if page.scripts:
        bad.append("the page has %d script-like elements" % page.scripts)
    return bad


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        page = parse(f.read())
    bad = compare(page, read_csv(sys.argv[2]))
    for b in bad:
        print("report_dom: " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
