#!/usr/bin/env python3
"""Prints the ranges of src/utf8.c's invisible_ranges from the Unicode data.

The set: Default_Ignorable_Code_Point (DerivedCoreProperties.txt; Python's
unicodedata has no derived properties, so its ranges are copied below), every
code point of general category Cf, Zs (but U+0020), Zl or Zp (from
unicodedata), the Cf characters Unicode 15 added (Egyptian hieroglyph format
controls, 13439..1343F) when this Python's data is older, and U+2800 BRAILLE
PATTERN BLANK (a symbol that shows as a space).  Run it after a Unicode
update and compare with the table: `python3 tests/unit/gen_invisible.py`.
"""
import unicodedata

# grep '; Default_Ignorable_Code_Point ' DerivedCoreProperties.txt (Unicode 15)
DEFAULT_IGNORABLE = [
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
]
EXTRA = [(0x13430, 0x1343F), (0x2800, 0x2800)]


def code_points():
    cps = set()
    for lo, hi in DEFAULT_IGNORABLE + EXTRA:
        cps.update(range(lo, hi + 1))
    for cp in range(0x110000):
        if cp != 0x20 and unicodedata.category(chr(cp)) in ("Cf", "Zs", "Zl", "Zp"):
            cps.add(cp)
    return sorted(cps)


def ranges(cps):
    out = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def main():
    cells = ["{0x%04X, 0x%04X}," % (lo, hi) for lo, hi in ranges(code_points())]
    for i in range(0, len(cells), 3):
        print("\t" + " ".join(c.ljust(19) for c in cells[i:i + 3]).rstrip())


if __name__ == "__main__":
    main()
