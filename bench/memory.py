#!/usr/bin/python3
"""Figure 3: peak resident memory of one fit at n = 1e5, d = 32, k = 9 (k* = 8), from
/usr/bin/time -v ("Maximum resident set size").

    /usr/bin/python3 bench/memory.py --moerate build/moerate --workdir DIR [--n 100000]

moerate allocates all it needs before the first iteration, so a fit capped at 3 iterations
(-tao_max_it 3) reaches the peak of a full fit (bench/peer.py records the full fit's peak too).
Three runs: the default route (J^T J accumulated over row blocks), the stored-Jacobian route
(-tao_type brgn, the n x p Jacobian kept: 8 n p bytes), and the default route at n = 1000 for
the fixed cost of the process (PETSc, MPI, HDF5 libraries).  The default-route run also
records -log_view, which bench/report.py uses for figure 2 when there is no full n = 1e5 fit.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


def main():
    ap = benchlib.parser(__doc__)
    ap.add_argument("--n", type=int, default=100000)
    a = ap.parse_args()
    base = ["-d", "32", "-kstar", "8", "-k", "9", "-tao_max_it", "3"] + benchlib.p1_truth(32)
    runs = [("default", base + ["-n", str(a.n)], True),
            ("stored", base + ["-n", str(a.n), "-tao_type", "brgn"], False),
            ("baseline", base + ["-n", "1000"], False)]
    out = dict(n=a.n, p=594, jacobian_mb=8.0 * a.n * 594 / 2 ** 20)
    print("figure 3: peak memory, d=32 k=9 n=%d (a stored Jacobian: %.0f MB)" % (a.n, out["jacobian_mb"]), flush=True)
    for name, args, log_view in runs:
        r = benchlib.run_fit(a.moerate, args, a.workdir, "memory_" + name, log_view=log_view)
        r["maxrss_mb"] = r["maxrss_kb"] / 1024
        out[name] = r
        print("  %-8s %-60s peak RSS %7.1f MB  (%d iterations, %.2f s)"
              % (name, r["command"], r["maxrss_mb"], r["iterations"], r["time"]), flush=True)
    benchlib.save(a.workdir, "memory", out)


if __name__ == "__main__":
    main()
