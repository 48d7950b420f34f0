#!/usr/bin/python3
"""Whether two results files of the same spec hold the same results, field by field: every record field but
the timings and the rank that ran a task, every loss and every parameter, bit for bit (NaN equal to NaN).

    /usr/bin/python3 analysis/compare.py A.h5 B.h5

Exit status 0 when identical, 1 when not (the differing fields are listed), 2 on a file that cannot be read.
Made to show that a change of the code changes no number (a refactoring, another build, a resumed run).
"""
import argparse
import sys

import numpy as np

import moeresults as mr

IGNORED = ("wall_time", "t_start", "t_end", "rank")  # timings and placement, not results


def differences(a, b):
    """Lines naming what differs between two loaded results files ([] when nothing does)."""
    out = []
    for what in ("gatings", "experts", "losses", "estimators"):
        if getattr(a, what) != getattr(b, what):
            out.append("%s: %s against %s" % (what, getattr(a, what), getattr(b, what)))
    if len(a.records) != len(b.records):
        return out + ["tasks: %d against %d" % (len(a.records), len(b.records))]
    if not np.array_equal(a.n, b.n):
        out.append("sample sizes differ")
    for name in a.records.dtype.names:
        if name in IGNORED:
            continue
        if name not in (b.records.dtype.names or ()):
            out.append("record field %s: only in the first file" % name)
            continue
        x, y = a.records[name], b.records[name]
        same = np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
        if not same:
            bad = np.flatnonzero(~((x == y) | (np.isnan(x) & np.isnan(y)) if x.dtype.kind == "f" else x == y))
            out.append("record field %s: %d tasks differ (first: task %d, %r against %r)" % (
                name, len(bad), bad[0], x[bad[0]], y[bad[0]]))
    if a.values.shape == b.values.shape and not np.array_equal(a.values, b.values, equal_nan=True):
        bad = np.argwhere(~((a.values == b.values) | (np.isnan(a.values) & np.isnan(b.values))))
        out.append("losses: %d values differ (first: task %d, %s)" % (len(bad), bad[0][0], a.losses[bad[0][1]]))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="compare.py", description=__doc__.split("\n\n")[0])
    p.add_argument("a")
    p.add_argument("b")
    args = p.parse_args(argv)
    a, b = mr.load_or_exit(args.a, p.prog), mr.load_or_exit(args.b, p.prog)
    diff = differences(a, b)
    ta, tb = theta(args.a), theta(args.b)
    if ta.shape != tb.shape or not np.array_equal(ta, tb, equal_nan=True):
        diff.append("theta: the fitted parameters differ")
    for line in diff:
        print(line)
    print("identical" if not diff else "%d difference(s)" % len(diff))
    return 0 if not diff else 1


def theta(path):
    import h5py
    with h5py.File(path, "r") as h:
        return h["tasks/theta"][()]


if __name__ == "__main__":
    sys.exit(main())
