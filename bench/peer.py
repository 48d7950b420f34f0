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
    out["variants"] = run_variants(c, args, an)
    out.update(analytic=an, fd=fd, load_end=benchlib.load_loadavg())
    out["ratio_analytic"] = an["time"] / mo["time"]
    out["ratio_fd"] = fd["time"] / mo["time"]
    return out


def variants(c, args):
    """The levers of figure 1 beside the default fit (d=32 cases): (key, label, options).  -fit_rows and
    -fit_hessian_rows take rows in row order (-fit_order rows) where the default fit sums in the chunks' order
    since 2026-12-06: their ratios include that change of order (figure 9 measures it alone)."""
    if not c["name"].startswith("d=32"):
        return []
    R, out = str(args.hessian_reuse), []
    single = ["-fit_hessian_single"]
    reuse = ["-fit_hessian_reuse", R] if args.hessian_reuse > 1 else []
    if c["n"] >= 10000:  # the evaluation before blocks of rows went through BLAS
        out.append(("rows", "a row at a time (-fit_rows)", ["-fit_rows"]))
    out.append(("single", "single-precision Hessian (-fit_hessian_single)", single))
    if reuse:
        out.append(("reuse", "Hessian reused (-fit_hessian_reuse %s)" % R, reuse))
        out.append(("single_reuse", "single precision, reused (-fit_hessian_single -fit_hessian_reuse %s)" % R,
                    single + reuse))
    if args.hessian_rows and c["n"] > args.hessian_rows:
        S = ["-fit_hessian_rows", str(args.hessian_rows)]
        out.append(("subsampled", "sub-sampled Newton (-fit_hessian_rows %s)" % S[1], S))
        out.append(("single_sub", "single precision, sub-sampled (-fit_hessian_single -fit_hessian_rows %s)" % S[1],
                    single + S))
    return out


def scipy_objective(an):
    """scipy's final objective (where a time limit stopped it: the best it had reached)."""
    return an["limited_objective"] if an.get("estimated") and "limited_objective" in an else an["objective"]


def run_variants(c, args, an):
    """Each lever on the same replicate: time, iterations, final objective, scipy's time over it and
    whether it ends at an objective at most scipy's."""
    res = []
    for key, label, opts in variants(c, args):
        v = benchlib.run_fit(args.moerate, c["args"] + opts, args.workdir, "peer_n%d_d%s_%s" % (c["n"], c["args"][1], key))
        v.update(key=key, label=label, options=opts, ratio_analytic=an["time"] / v["time"],
                 objective_ok=bool(v["objective"] <= scipy_objective(an) * (1 + 1e-9)))
        res.append(v)
        print("   moerate %s: %.3f s, %d iterations, objective %.10e (scipy analytic / this: %s%.1f×; objective %s scipy's)"
              % (label, v["time"], v["iterations"], v["objective"], "est. " if an["estimated"] else "",
                 v["ratio_analytic"], "<=" if v["objective_ok"] else ">"), flush=True)
    return res


def run_replicates(args):
    """Figure 1b: the d=32, n=1e4 case on --replicates more replicates (other data, other start), the
    default fit and every lever against scipy (analytic J) on each: the spread of one fit's ratio."""
    n, res = 10000, []
    for rep in range(1, args.replicates + 1):
        base = d32(n) + ["-replicate", str(rep)]
        h5 = os.path.join(args.workdir, "peer_rep%d.h5" % rep)
        print("-- figure 1b: d=32 k=9, n=%d, replicate %d" % (n, rep), flush=True)
        mo = benchlib.run_fit(args.moerate, base + ["-output", h5], args.workdir, "peer_rep%d" % rep)
        an = peer_scipy.fit(peer_scipy.load(h5), "analytic")
        an.pop("theta", None)
        an["estimated"] = False
        r = dict(replicate=rep, n=n, moerate=mo, analytic=an, ratio_analytic=an["time"] / mo["time"],
                 objective_ok=bool(mo["objective"] <= an["objective"] * (1 + 1e-9)))
        print("   moerate %.3f s (%d its, f %.10e), scipy %.3f s (f %.10e): %.1f×"
              % (mo["time"], mo["iterations"], mo["objective"], an["time"], an["objective"], r["ratio_analytic"]), flush=True)
        r["variants"] = run_variants(dict(name="d=32 k=9", n=n, args=base), args, an)
        res.append(r)
    return res


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
    ap.add_argument("--hessian-reuse", type=int, default=3,
                    help="also fit every d=32 case with -fit_hessian_reuse this (1: not)")
    ap.add_argument("--replicates", type=int, default=3,
                    help="figure 1b: more replicates of the n=1e4 case, each against scipy (0: none; --quick: 0)")
    a = ap.parse_args()
    print("figure 1: peer comparison (numpy/scipy BLAS: %s, OPENBLAS_NUM_THREADS=%s)"
          % (benchlib.blas_corename(), os.environ.get("OPENBLAS_NUM_THREADS", "unset")), flush=True)
    res, ref = [], None
    for c in cases(a.quick, a.time_limit):
        r = run_case(c, a, ref)
        res.append(r)
        if r["name"].startswith("d=32") and not r["analytic"]["estimated"]:
            ref = dict(n=r["n"], nfev=r["analytic"]["nfev"], njev=r["analytic"]["njev"])
    reps = run_replicates(a) if a.replicates > 0 and not a.quick else []
    benchlib.save(a.workdir, "peer", dict(cases=res, replicates=reps, blas=benchlib.blas_corename()))
    print(table(res))


if __name__ == "__main__":
    main()
