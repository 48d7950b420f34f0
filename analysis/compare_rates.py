#!/usr/bin/python3
"""Compare two rate tables of the same spec (the CSV of `rates.py --format csv`), row by row.

    compare_rates.py BEFORE.csv AFTER.csv [--format md|csv]

For every (gating, expert, loss) of either table: the log-mean slope and its 95% interval before and
after, whether the new slope lies inside the former interval, the certified fits and the evidence
letters (W C I) before and after.  The summary line counts the rows whose slope left its former interval,
those whose evidence changed, and the rows of one table only (a loss the other run did not have).  Used to regenerate the committed results with the format-6 data
streams (docs/results/data_streams.md).  Exit status 2 when a file is missing or not a rate table."""
import argparse
import csv
import math
import sys

KEY = ("gating", "expert", "loss")
NEEDED = KEY + ("slope_log_mean", "ci_low", "ci_high", "certified", "used", "evidence")


def load(path):
    """The table's rows keyed by (gating, expert, loss)."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        print("compare_rates.py: %s: %s: give a rate table of rates.py --format csv" % (path, e.strerror), file=sys.stderr)
        sys.exit(2)
    if rows and any(c not in rows[0] for c in NEEDED):
        missing = [c for c in NEEDED if c not in rows[0]]
        print("compare_rates.py: %s is not a rate table of rates.py --format csv (no column %s)" % (path, missing[0]),
              file=sys.stderr)
        sys.exit(2)
    return {tuple(r[k] for k in KEY): r for r in rows}


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def compare(before, after):
    """One dict per row of either table, in the order of `before` then the rows new in `after`."""
    out = []
    for key in list(before) + [k for k in after if k not in before]:
        b, a = before.get(key), after.get(key)
        row = dict(zip(KEY, key))
        for tag, r in (("before", b), ("after", a)):
            row[tag + "_slope"] = number(r["slope_log_mean"]) if r else math.nan
            row[tag + "_low"] = number(r["ci_low"]) if r else math.nan
            row[tag + "_high"] = number(r["ci_high"]) if r else math.nan
            row[tag + "_certified"] = "%s/%s" % (r["certified"], r["used"]) if r else ""
            row[tag + "_evidence"] = r["evidence"] if r else ""
        s, lo, hi = row["after_slope"], row["before_low"], row["before_high"]
        row["inside"] = "" if math.isnan(s) or math.isnan(lo) else ("yes" if lo <= s <= hi else "no")
        if b is None or a is None:  # a row of one table only (a loss the other run did not have)
            row["evidence_same"] = "after only" if b is None else "before only"
        else:
            row["evidence_same"] = "yes" if row["before_evidence"] == row["after_evidence"] else "no"
        out.append(row)
    return out


def fmt(s, lo, hi):
    if math.isnan(s):
        return "-"
    return "%.3f [%.3f, %.3f]" % (s, lo, hi) if not math.isnan(lo) else "%.3f" % s


def markdown(rows):
    lines = ["| gating | expert | loss | before | after | inside | certified | evidence |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ev = r["before_evidence"] if r["evidence_same"] == "yes" else "%s → %s" % (r["before_evidence"] or "(no row)", r["after_evidence"] or "(no row)")
        cert = r["before_certified"] if r["before_certified"] == r["after_certified"] else "%s → %s" % (r["before_certified"], r["after_certified"])
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["gating"], r["expert"], r["loss"], fmt(r["before_slope"], r["before_low"], r["before_high"]),
            fmt(r["after_slope"], r["after_low"], r["after_high"]), r["inside"] or "-", cert, ev or "-"))
    return "\n".join(lines)


def summary(rows):
    outside = [r for r in rows if r["inside"] == "no"]
    moved = [r for r in rows if r["evidence_same"] == "no"]
    text = "%d rows: %d with the new slope outside its former interval, %d whose evidence changed" % (len(rows), len(outside), len(moved))
    for side in ("before", "after"):
        only = sum(1 for r in rows if r["evidence_same"] == side + " only")
        if only:
            text += ", %d in the %s table only" % (only, "former" if side == "before" else "new")
    return text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--format", choices=("md", "csv"), default="md")
    args = ap.parse_args(argv)
    rows = compare(load(args.before), load(args.after))
    if args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else list(KEY), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    else:
        print(markdown(rows))
        print()
        print(summary(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
