#!/usr/bin/python3
"""One Markdown table of the empirical rates of several results files, beside the theory.

    /usr/bin/python3 analysis/summary.py RESULTS.h5 [RESULTS.h5 ...] [--losses l2,sigmoid_d1,...]

Each row: experiment (file name), gating, expert, loss, target, both slope estimators, the 95%
bootstrap interval of the log-mean slope, the theory rate and whether the interval contains it,
and the replicates used / excluded.  Same options and estimators as rates.py (defaults).
"""
import argparse
import os
import sys

import moeresults as mr
import rates


def fmt(x):
    return "" if x is None else "%.2f" % x


def main(argv=None):
    p = argparse.ArgumentParser(prog="summary.py", description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="+", help="moerate run results files (HDF5)")
    p.add_argument("--losses", help="comma list of losses to show (default: all)")
    p.add_argument("--bootstrap", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    keep = set(a.losses.split(",")) if a.losses else None
    opts = rates.parser().parse_args(["x", "--bootstrap", str(a.bootstrap), "--seed", str(a.seed)])
    print("| experiment | gating | expert | loss | vs | slope log-mean | slope mean-log | 95% CI | theory | contains | used/excl |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in a.results:
        results = mr.load_or_exit(path, p.prog)
        name = os.path.splitext(os.path.basename(path))[0]
        for r in rates.rate_rows(results, opts):
            if keep and r["loss"] not in keep:
                continue
            ci = "" if r["ci_low"] is None else "[%s, %s]" % (fmt(r["ci_low"]), fmt(r["ci_high"]))
            print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d/%d |" % (
                name, r["gating"], r["expert"], r["loss"], r["target"], fmt(r["slope_log_mean"]),
                fmt(r["slope_mean_log"]), ci, r["theory"] or "none", r["contains"], r["used"], r["excluded"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
