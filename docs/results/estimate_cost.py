#!/usr/bin/python3
"""Cost of a full-scale run from the measured task times of its quick variant.

For each (gating, expert) pair of the quick run, fit wall_time = c n^a to its replicate tasks
(least squares in log-log), then sum the predicted times over the full grid (its sample sizes x
replicates) and scale the pair's measured reference fit (G-bar) to the full reference size by
the same power.  Prints per pair and in all, in CPU hours and in wall hours on W workers.

    /usr/bin/python3 docs/results/estimate_cost.py results/p1_fig1_quick.h5 \\
        --n-range 1000 100000 --n-count 10 --replicates 20 --reference-n 1000000 --workers 2
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis"))
import moeresults as mr  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--n-range", type=int, nargs=2, required=True)
    ap.add_argument("--n-count", type=int, required=True)
    ap.add_argument("--replicates", type=int, required=True)
    ap.add_argument("--reference-n", type=int, required=True)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    r = mr.load_or_exit(a.results, "estimate_cost.py")
    rec = r.records
    lo, hi = a.n_range
    ns = np.rint(lo * (hi / lo) ** (np.arange(a.n_count) / max(a.n_count - 1, 1)))
    total = 0.0
    for g, e in r.pairs():
        rep = r.replicates(g, e) & (rec["status"] != mr.PENDING)
        x, t = np.log(rec["n"][rep].astype(float)), np.log(rec["wall_time"][rep])
        power, logc = np.polyfit(x, t, 1)
        fits = a.replicates * float(np.sum(np.exp(logc) * ns ** power))
        ref = (rec["kind"] == mr.REFERENCE) & (rec["gating"] == g) & (rec["expert"] == e) & (rec["status"] != mr.PENDING)
        gbar = float(np.sum(rec["wall_time"][ref] * (a.reference_n / rec["n"][ref]) ** power)) if ref.any() else 0.0
        total += fits + gbar
        print("%s x %s: task time ~ n^%.2f; %d fits %.1f CPU h, G-bar %.1f CPU h"
              % (r.gatings[g], r.experts[e], power, a.replicates * a.n_count, fits / 3600, gbar / 3600))
    print("total %.1f CPU h: about %.1f h on %d workers (more where one G-bar outlasts the rest)"
          % (total / 3600, total / 3600 / a.workers, a.workers))


if __name__ == "__main__":
    main()
