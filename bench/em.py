#!/usr/bin/python3
"""EM against TAO's direct maximisation of the Gaussian MoE's likelihood (issue: "EM or direct TAO, chosen by
what measurably reaches a higher likelihood sooner").  For each design and n, `moerate fit` fits the same
replicates (seeds 1..--seeds) with -estimator mle and -estimator em from the same near start, one start each
(no certification restarts), and the table gives per design: the median wall time of each, the median of
2n (f_em - f_mle) (f the negative mean log-likelihood: > 0 means TAO reached the higher likelihood; the
certificate's scale is 3), how many of each converged and how many got within 3 of the other's likelihood.

    /usr/bin/python3 bench/em.py --moerate build/moerate [--seeds 5] [--workdir DIR]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

import h5py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
P3 = ["-gating", "topk", "-expert", "linear", "-truth_file", os.path.join(ROOT, "jobs/specs/truths/p3_top1.yaml"),
      "-topk_rank_affine", "-x_lo", "0", "-x_hi", "1", "-allow_ill_posed"]
DESIGNS = [  # name, moerate options (the designs of docs/results' Gaussian MoE specs)
    ("softmax x linear, d=2, k=k*=2", ["-gating", "softmax", "-expert", "linear", "-d", "2", "-kstar", "2", "-k", "2"]),
    ("softmax x linear, d=2, k=3 > k*=2", ["-gating", "softmax", "-expert", "linear", "-d", "2", "-kstar", "2",
                                           "-k", "3"]),
    ("P3 top-1, k=2, K=1 (annealed)", P3 + ["-topk_K", "1", "-k", "2"]),
    ("P3 top-2, k=3, K=2 (annealed)", P3 + ["-topk_K", "2", "-k", "3"]),
]


def fit(moerate, work, args, estimator, n, seed):
    out = os.path.join(work, "f.h5")
    cmd = [moerate, "fit", "-model", "gaussian", "-estimator", estimator, *args, "-n", str(n), "-seed", str(seed),
           "-init", "near", "-init_starts", "1", "-certify_starts", "1", "-allow_ill_posed",
           "-output", out]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("em.py: %s failed:\n%s" % (" ".join(cmd), p.stderr))
    with h5py.File(out, "r") as h:
        a = h["fit"].attrs
        r = (float(a["wall_time"]), float(a["objective"]), str(a["status"]) == "converged")
    os.unlink(out)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--moerate", default=os.path.join(ROOT, "build", "moerate"))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--n", type=int, nargs="+", default=[3000, 10000])
    ap.add_argument("--workdir")
    o = ap.parse_args()
    work = o.workdir or tempfile.mkdtemp(prefix="moerate-em.")
    print("| design | n | median time mle | median time em | em/mle | median 2n (f_em - f_mle) | converged mle, em "
          "| em within 3 of mle | mle within 3 of em |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, args in DESIGNS:
        for n in o.n:
            rows = [(fit(o.moerate, work, args, "mle", n, s), fit(o.moerate, work, args, "em", n, s))
                    for s in range(1, o.seeds + 1)]
            tm, te = [m[0] for m, _ in rows], [e[0] for _, e in rows]
            gap = [2 * n * (e[1] - m[1]) for m, e in rows]
            print("| %s | %d | %.2f s | %.2f s | %.1f | %+.2f | %d, %d | %d/%d | %d/%d |" % (
                name, n, statistics.median(tm), statistics.median(te), statistics.median(te) / statistics.median(tm),
                statistics.median(gap), sum(m[2] for m, _ in rows), sum(e[2] for _, e in rows),
                sum(g <= 3 for g in gap), len(gap), sum(g >= -3 for g in gap), len(gap)), flush=True)


if __name__ == "__main__":
    main()
