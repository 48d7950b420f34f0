#!/usr/bin/python3
"""Empirical convergence rates of a moerate results file, beside the theory rates.

For every (gating, expert, loss) group: the slope of log(mean loss) against log(n) (the papers'
estimator, "log-mean"), the slope of mean(log loss) ("mean-log"), a 95% percentile bootstrap
interval of the chosen estimator (replicates resampled with replacement within each n), R^2,
the n window and the replicates used, excluded (failed or skipped fits, uncertified fits, unusable
losses) and missing (pending tasks).  Only converged and certified replicate fits are used (a fit is
certified when its objective is at most -certify_tol units of noise/(2n) above the objective of its
reference point on the same data, so that it is the least-squares estimate the theory is about); --include-uncertified adds
the converged uncertified ones.  Reference fits are never used.  Every row says which evidence
criteria its rate meets (W: well posed, C: certified, I: interval), and rows measured against a
G-bar that is not identified get no rate.
"""
import argparse
import sys

import moeresults as mr
from slopes import ESTIMATORS
# the pieces, and the names other scripts and the tests take from rates
from theory import ALL_EXPERTS, NONIDENTIFIABLE, SLOWER, STRONG, THEORY, Theory, theory  # noqa: F401
from rows import (CERTIFIED_SHARE, EVIDENCE_HELP, GBAR_TARGETS, LIST_CAP, MIN_REPLICATES, _sd, certification_line,  # noqa: F401
                  evidence, gbar_note, group_counts, rate_row, rate_rows, status_line, uncertified_fits)
from rates_report import fisher_lines, format_csv, format_json, format_table  # noqa: F401


def parser():
    p = argparse.ArgumentParser(prog="rates.py", description=__doc__.split("\n\n")[0])
    p.add_argument("results", help="a moerate run results file (HDF5)")
    p.add_argument("--n-min", type=int, help="smallest n of the fit window")
    p.add_argument("--n-max", type=int, help="largest n of the fit window")
    p.add_argument("--estimator", choices=ESTIMATORS, default="log-mean",
                   help="slope used by the interval, R^2 and 'contains' (default log-mean, the papers')")
    p.add_argument("--bootstrap", type=int, default=2000, metavar="B", help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--include-uncertified", action="store_true",
                   help="use converged fits that are not certified too (default: certified fits only)")
    return p


def main(argv=None):
    p = parser()
    opts = p.parse_args(argv)
    if opts.bootstrap < 1 or opts.seed < 0:
        p.error("--bootstrap must be positive and --seed non-negative")
    results = mr.load_or_exit(opts.results, p.prog)
    groups = group_counts(results, opts)
    if not any(g["converged"] for g in groups):
        mr.fail(p.prog, "%s: no usable data: no converged (or, for maximum likelihood, certified) replicate task in "
                "the window (%s)"
                % (opts.results, status_line(results)))
    rows = rate_rows(results, opts)
    if opts.format == "csv":
        sys.stdout.write(format_csv(rows))
    elif opts.format == "json":
        sys.stdout.write(format_json(results, rows, groups, opts))
    else:
        sys.stdout.write(format_table(results, rows, groups, opts))


if __name__ == "__main__":
    main()
