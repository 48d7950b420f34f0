#!/usr/bin/python3
"""One Markdown table of the empirical rates of several results files, beside the theory.

    /usr/bin/python3 analysis/summary.py RESULTS.h5 [RESULTS.h5 ...] [--losses l2,sigmoid_d1,...]

Each row: experiment (file name), gating, expert, loss, target, both slope estimators (or why the
group has no rate), the 95% bootstrap interval of the log-mean slope, the theory rate and whether
the interval contains it, the replicates used / excluded, the certified / uncertified converged
fits and the evidence criteria the rate meets (see rates.py).  Same options and estimators as
rates.py (defaults): only certified fits are used unless --include-uncertified.
"""
import argparse
import os
import sys

import moeresults as mr
import rates


def fmt(x):
    return "" if x is None else "%.2f" % x


def cells(name, r):
    """The Markdown cells of one rates.py row."""
    ci = "" if r["ci_low"] is None else "[%s, %s]" % (fmt(r["ci_low"]), fmt(r["ci_high"]))
    slopes = [r["note"], ""] if r["note"] else [fmt(r["slope_log_mean"]), fmt(r["slope_mean_log"])]
    return [name, r["gating"], r["expert"], r.get("fitted_by", "lse"), r["loss"], r["target"]] + slopes + [
        ci, r["theory"] or "none", r["contains"], "%d/%d" % (r["used"], r["excluded"]),
        "%d/%d" % (r["certified"], r["uncertified"]), r["evidence"]]


def main(argv=None):
    p = argparse.ArgumentParser(prog="summary.py", description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="+", help="moerate run results files (HDF5)")
    p.add_argument("--losses", help="comma list of losses to show (default: all)")
    p.add_argument("--bootstrap", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--include-uncertified", action="store_true",
                   help="use converged fits that are not certified too (default: certified fits only)")
    a = p.parse_args(argv)
    keep = set(a.losses.split(",")) if a.losses else None
    opts = rates.parser().parse_args(["x", "--bootstrap", str(a.bootstrap), "--seed", str(a.seed)]
                                     + (["--include-uncertified"] if a.include_uncertified else []))
    tables = []
    for path in a.results:
        results = mr.load_or_exit(path, p.prog)
        name = os.path.splitext(os.path.basename(path))[0]
        tables += ["| %s |" % " | ".join(cells(name, r)) for r in rates.rate_rows(results, opts)
                   if not keep or r["loss"] in keep]
    if not tables:
        mr.fail(p.prog, "no usable data: no rate in %s%s" % (", ".join(a.results), " for --losses %s" % a.losses
                                                               if a.losses else ""))
    print("| experiment | gating | expert | fit | loss | vs | slope log-mean | slope mean-log | 95% CI | theory | contains "
          "| used/excl | certified/uncertified | evidence |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(tables))
    print()
    print(rates.EVIDENCE_HELP.replace("evidence: ", "Evidence: ", 1)
          + ("." if not a.include_uncertified else "; uncertified converged fits included (--include-uncertified)."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
