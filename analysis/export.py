#!/usr/bin/python3
"""A tidy long table of a moerate results file for users' own statistics (R, pandas): one row per fit and
loss, with the fit's gating, expert, estimator, n, replicate, whether it is certified and usable (what the
rates use), the loss and its value; restart fits of the stability diagnostic carry their restart index
(0 for a replicate's own fit), a fit of a truth that moves with n its truth_shift (n^-drift_rate: its truth
is /truth/EXPERT/theta + truth_shift drift; 0 for a fixed truth), and reference fits (G-bar) are left out.

    /usr/bin/python3 analysis/export.py RESULTS.h5 -o fits.csv       CSV
    /usr/bin/python3 analysis/export.py RESULTS.h5 -o fits.parquet   Parquet (needs python3-pandas and -pyarrow)

Losses that do not apply to a fit (NaN) and tasks not done give no row.
"""
import argparse
import csv
import os
import sys

import numpy as np

import moeresults as mr

COLUMNS = ("gating", "expert", "estimator", "n", "replicate", "restart", "status", "certified", "usable", "gap",
           "truth_shift", "loss", "value")


def rows(results):
    """The table as a dict of equal-length columns (numpy arrays)."""
    rec = results.records
    fits = np.flatnonzero((rec["kind"] != mr.REFERENCE) & (rec["status"] != mr.PENDING))
    est = results.field("estimator", 0).astype(int)
    restart = results.field("restart", 0).astype(int)
    usable, certified, gap = results.usable(), results.certified(), results.field("gap")
    shift = results.field("truth_shift", 0.0)  # files before format 5 have a fixed truth
    out = {c: [] for c in COLUMNS}
    for li, loss in enumerate(results.losses):
        v = results.values[fits, li]
        keep = fits[np.isfinite(v)]
        out["gating"].append(np.array(results.gatings, dtype=object)[rec["gating"][keep]])
        out["expert"].append(np.array(results.experts, dtype=object)[rec["expert"][keep]])
        out["estimator"].append(np.array(results.estimators, dtype=object)[est[keep]])
        out["n"].append(rec["n"][keep])
        out["replicate"].append(rec["replicate"][keep])
        out["restart"].append(restart[keep])
        out["status"].append(np.array([mr.STATUS_NAMES.get(int(s), str(s)) for s in rec["status"][keep]], dtype=object))
        out["certified"].append(certified[keep].astype(int))
        out["usable"].append((usable & certified)[keep].astype(int))
        out["gap"].append(gap[keep])
        out["truth_shift"].append(shift[keep])
        out["loss"].append(np.full(len(keep), loss, dtype=object))
        out["value"].append(results.values[keep, li])
    return {c: np.concatenate(v) if v else np.zeros(0) for c, v in out.items()}


def write_csv(table, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in range(len(table["loss"])):
            w.writerow([repr(float(table[c][i])) if c in ("gap", "truth_shift", "value") else table[c][i] for c in COLUMNS])


def write_parquet(table, path, prog):
    try:
        import pandas as pd
        import pyarrow  # noqa: F401  (pandas' Parquet engine)
    except ImportError:
        mr.fail(prog, "-o %s: Parquet needs pandas with pyarrow (python3-pandas; pyarrow is not packaged in Debian "
                "bookworm), or write .csv" % path)
    pd.DataFrame({c: table[c] for c in COLUMNS}).to_parquet(path, index=False)


def main(argv=None):
    p = argparse.ArgumentParser(prog="export.py", description=__doc__.split("\n\n")[0])
    p.add_argument("results", help="a moerate run results file (HDF5)")
    p.add_argument("-o", "--output", required=True, help="the table: .csv, or .parquet")
    a = p.parse_args(argv)
    ext = os.path.splitext(a.output)[1].lower()
    if ext not in (".csv", ".parquet"):
        mr.fail(p.prog, "-o %s: the extension says the format: .csv or .parquet" % a.output)
    directory = os.path.dirname(os.path.abspath(a.output))
    if not os.path.isdir(directory):
        mr.fail(p.prog, "-o %s: no directory %s; create it or choose another path" % (a.output, directory))
    results = mr.load_or_exit(a.results, p.prog)
    table = rows(results)
    if ext == ".csv":
        write_csv(table, a.output)
    else:
        write_parquet(table, a.output, p.prog)
    print("wrote %s: %d rows (fits x losses)" % (a.output, len(table["loss"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
