#!/usr/bin/python3
"""Figure 1: moerate against scipy.optimize.least_squares (method trf) on the same replicate.

    /usr/bin/python3 bench/peer.py --moerate build/moerate --workdir DIR [--quick]

Each case: `moerate fit ... -output FILE.h5` (data and start point exported), then
scipy from the same start on the same data (bench/peer_scipy.py's load and fit), once with the
analytic Jacobian written in numpy and once with scipy's finite-difference ('2-point') Jacobian.

Numbers that are not measured to the end are estimates, marked "est." everywhere:
- scipy analytic at n = 1e5 (an SVD of the 1e5 x 594 Jacobian per iteration) runs to the end
  unless it takes over --time-limit seconds (loaded machine); then it is stopped and its time is
  estimated: t1 + (nfev - 1) x (time per evaluation so far), with t1 the time of a max_nfev=1
  run (the start: one residual, one Jacobian) and nfev that of the largest d=32 case run to the
  end (at least the time and evaluations it had when stopped).
- scipy 2-point for d=32: the same trajectory as the analytic run (the difference quotients
  agree to ~1e-8), each Jacobian replaced by p residual evaluations: time = analytic time +
  njev x (t1(2-point) - t1(analytic)), t1(2-point) measured with max_nfev=1 (one difference
  Jacobian), or, when that would take over --fd-limit seconds, t1(analytic) + p x one residual's
  time (best of 5).
Equal-objective ratio (measured): f_eq = the larger of the two final objectives (for a scipy
run stopped by the time limit, the objective it had reached); the time each program first
reaches f <= f_eq: moerate's is the wall time of the same fit rerun with -tao_fmin f_eq (TAO
stops at CONVERGED_MINF), scipy's the time of its first residual evaluation with f <= f_eq;
ratio = scipy's / moerate's.

Single-threaded BLAS on both sides (OPENBLAS_NUM_THREADS=1 from bench/run_all).
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
import peer_scipy  # noqa: E402


def d32(n):
    return ["-d", "32", "-kstar", "8", "-k", "9", "-n", str(n)] + benchlib.p1_truth(32)


def cases(quick, limit):
    small = dict(name="small d=2 k=3", n=10000, args=["-d", "2", "-kstar", "2", "-k", "3", "-n", "10000"] + benchlib.p1_truth(2),
                 analytic="full", fd="full")
    if quick:
        return [small, dict(name="d=32 k=9", n=1000, args=d32(1000), analytic="full", fd="estimate")]
    return [small,
            dict(name="d=32 k=9", n=1000, args=d32(1000), analytic="full", fd="estimate"),
            dict(name="d=32 k=9", n=10000, args=d32(10000), analytic="full", fd="estimate"),
            dict(name="d=32 k=9", n=100000, args=d32(100000), analytic="full", time_limit=limit, fd="estimate",
                 log_view=True)]


def residual_time(d, reps=5):
    """Time of one residual evaluation (numpy model) at the start, best of reps."""
    m, X, t = d["model"], d["X"], d["theta0"]
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        m.evaluate(t, X)
        ts.append(time.perf_counter() - t0)
    return min(ts)


def run_case(c, args, ref):
    h5 = os.path.join(args.workdir, "peer_n%d_d%s.h5" % (c["n"], c["args"][1]))
    print("-- %s, n=%d: moerate fit" % (c["name"], c["n"]), flush=True)
    mo = benchlib.run_fit(args.moerate, c["args"] + ["-output", h5], args.workdir,
                          "peer_n%d_d%s" % (c["n"], c["args"][1]), log_view=c.get("log_view", False))
    print("   moerate: %.3f s, %d iterations, objective %.10e, peak RSS %.0f MB"
          % (mo["time"], mo["iterations"], mo["objective"], mo["maxrss_kb"] / 1024), flush=True)
    d = peer_scipy.load(h5)
    p = len(d["model"].free)
    out = dict(name=c["name"], n=c["n"], p=p, file=h5, moerate=mo, load_start=benchlib.load_loadavg())
    t_res = residual_time(d)
    t1_an = peer_scipy.fit(d, "analytic", max_nfev=1)["time"]
    out.update(t_res=t_res, t1_analytic=t1_an)

    # scipy, analytic Jacobian
    trace = []
    limit = c.get("time_limit")
    print("   scipy trf, analytic Jacobian%s ..." % (" (time limit %.0f s)" % limit if limit else ""), flush=True)
    an = peer_scipy.fit(d, "analytic", trace=trace, time_limit=limit)
    an.pop("theta", None)
    an.update(estimated=an["status"] == "time limit", trace_len=len(trace))
    if an["estimated"]:  # stopped by the time limit: estimate the whole run
        if ref is None:
            raise SystemExit("peer.py: a time-limited case needs a d=32 case run to the end before it")
        per = (an["time"] - t1_an) / max(an["nfev"] - 1, 1)
        an.update(limited_time=an["time"], limited_nfev=an["nfev"], limited_njev=an["njev"],
                  limited_objective=an["objective"], ref_n=ref["n"], objective=None,
                  time=max(an["time"], t1_an + (ref["nfev"] - 1) * per),
                  nfev=max(an["nfev"], ref["nfev"]), njev=max(an["njev"], ref["njev"]))
    print("   scipy analytic: %s" % describe(an), flush=True)

    # equal objective: the larger of the two final objectives (where a time limit stopped scipy: its best);
    # moerate's time to reach it: the same fit stopped by TAO's -tao_fmin at f_eq
    f_sc = an["limited_objective"] if an["estimated"] else an["objective"]
    f_eq = max(d["moerate"]["objective"], f_sc)  # full precision, from FILE.h5
    to = benchlib.run_fit(args.moerate, c["args"] + ["-tao_fmin", repr(f_eq * (1 + 1e-12))], args.workdir,
                          "peer_n%d_d%s_fmin" % (c["n"], c["args"][1]))
    t_sc = next((t for t, f in trace if f <= f_eq), None)
    out["equal"] = dict(objective=f_eq, moerate=to["time"], moerate_reason=to["reason"], scipy=t_sc,
                        ratio=(t_sc / to["time"]) if t_sc else None)
    print("   equal objective %.10e: moerate %.3f s (%s, %d iterations), scipy %s s"
          % (f_eq, to["time"], to["reason"], to["iterations"], "%.3f" % t_sc if t_sc else "never"), flush=True)

    # scipy, finite-difference Jacobian
    if c["fd"] == "full":
        print("   scipy trf, 2-point Jacobian ...", flush=True)
        fd = peer_scipy.fit(d, "2-point")
        fd.pop("theta", None)
        fd.update(estimated=False)
    else:
        if (p + 1) * t_res <= args.fd_limit:
            t1_fd, how = peer_scipy.fit(d, "2-point", max_nfev=1)["time"], "measured (max_nfev=1)"
        else:
            t1_fd, how = t1_an + p * t_res, "from %d residual evaluations of %.3f s" % (p, t_res)
        fd = dict(estimated=True, t1=t1_fd, t1_how=how, time=an["time"] + an["njev"] * (t1_fd - t1_an),
                  nfev=an["nfev"], njev=an["njev"], objective=None)
    print("   scipy 2-point : %s" % describe(fd), flush=True)
    # sub-sampled Newton: the Gauss-Newton Hessian from the first R rows, objective and gradient exact
    if args.hessian_rows and c["n"] > args.hessian_rows:
        ss = benchlib.run_fit(args.moerate, c["args"] + ["-fit_hessian_rows", str(args.hessian_rows)], args.workdir,
                              "peer_n%d_d%s_sub" % (c["n"], c["args"][1]))
        ss.update(rows=args.hessian_rows, ratio_analytic=an["time"] / ss["time"])
        out["subsampled"] = ss
        print("   moerate -fit_hessian_rows %d: %.3f s, %d iterations, objective %.10e (scipy analytic / this: %s%.1f×)"
              % (args.hessian_rows, ss["time"], ss["iterations"], ss["objective"], "est. " if an["estimated"] else "",
                 ss["ratio_analytic"]), flush=True)
    out.update(analytic=an, fd=fd, load_end=benchlib.load_loadavg())
    out["ratio_analytic"] = an["time"] / mo["time"]
    out["ratio_fd"] = fd["time"] / mo["time"]
    return out


def describe(r):
    if r["estimated"] and "limited_time" in r:
        return ("est. %.1f s (%d evaluations assumed, as at n=%d; stopped by the time limit after %.1f s and %d "
                "evaluations at objective %.10e)" % (r["time"], r["nfev"], r["ref_n"], r["limited_time"],
                                                     r["limited_nfev"], r["limited_objective"]))
    if r["estimated"]:
        return "est. %.1f s (%d Jacobians of %.2f s, %s)" % (r["time"], r["njev"], r["t1"], r["t1_how"])
    return "%.3f s, %d evaluations, %d Jacobians, objective %.10e" % (r["time"], r["nfev"], r["njev"], r["objective"])


def table(res):
    lines = ["| case | n | p | moerate s (its) | moerate f | scipy analytic s (nfev) | scipy f | scipy 2-point s | analytic/moerate | 2-point/moerate | equal-f ratio (f_eq) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res:
        mo, an, fd, eq = r["moerate"], r["analytic"], r["fd"], r["equal"]
        est = lambda x: "est. " if x["estimated"] else ""  # noqa: E731
        f_an = ("%.6e" % an["objective"]) if an["objective"] is not None else \
            "(%.6e after %d, time limit)" % (an["limited_objective"], an["limited_nfev"])
        lines.append("| %s | %d | %d | %.2f (%d) | %.6e | %s%.1f (%d) | %s | %s%.1f | %s%.1f× | %s%.0f× | %s |" % (
            r["name"], r["n"], r["p"], mo["time"], mo["iterations"], mo["objective"], est(an), an["time"], an["nfev"],
            f_an, est(fd), fd["time"], est(an), r["ratio_analytic"], est(fd), r["ratio_fd"],
            ("%.1f× (%.6e)" % (eq["ratio"], eq["objective"])) if eq["ratio"] else "n/a"))
    return "\n".join(lines)


def main():
    ap = benchlib.parser(__doc__)
    ap.add_argument("--quick", action="store_true", help="the small case and d=32 at n=1e3 only")
    ap.add_argument("--time-limit", type=float, default=400,
                    help="seconds scipy (analytic) may run at n=1e5 before it is stopped and estimated (default 400)")
    ap.add_argument("--fd-limit", type=float, default=60.0,
                    help="longest measured finite-difference Jacobian, seconds (default 60)")
    ap.add_argument("--hessian-rows", type=int, default=10000,
                    help="also fit every case with n above this with -fit_hessian_rows (sub-sampled Newton; 0: not)")
    a = ap.parse_args()
    print("figure 1: peer comparison (numpy/scipy BLAS: %s, OPENBLAS_NUM_THREADS=%s)"
          % (benchlib.blas_corename(), os.environ.get("OPENBLAS_NUM_THREADS", "unset")), flush=True)
    res, ref = [], None
    for c in cases(a.quick, a.time_limit):
        r = run_case(c, a, ref)
        res.append(r)
        if r["name"].startswith("d=32") and not r["analytic"]["estimated"]:
            ref = dict(n=r["n"], nfev=r["analytic"]["nfev"], njev=r["analytic"]["njev"])
    benchlib.save(a.workdir, "peer", dict(cases=res, blas=benchlib.blas_corename()))
    print(table(res))


if __name__ == "__main__":
    main()
