#!/usr/bin/python3
"""Fit a replicate exported by `moerate fit -output FILE.h5` with scipy.optimize.least_squares,
from the same start on the same data, and print what moerate printed beside it.

    /usr/bin/python3 bench/peer_scipy.py FILE.h5 [--jac analytic|2-point] [--json]

The objective is moerate's: (1/2n) sum (Y - f(X))^2.  scipy runs method 'trf' with its
default tolerances (ftol = xtol = gtol = 1e-8) unless told otherwise.
"""
import argparse
import json
import os
import sys
import time

import h5py
import numpy as np
from scipy.optimize import least_squares

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))
from moemodel import model_from_h5  # noqa: E402


def load(path):
    with h5py.File(path, "r") as h:
        m = model_from_h5(h["model"])
        return dict(model=m, X=h["data/X"][:], Y=h["data/Y"][:], theta0=h["init/theta"][:],
                    moerate=dict(objective=float(h["fit"].attrs["objective"]),
                                 iterations=int(h["fit"].attrs["iterations"]),
                                 time=float(h["fit"].attrs["wall_time"]),
                                 status=str(h["fit"].attrs["status"])))


class _TimeLimit(Exception):
    pass


def fit(d, jac="analytic", ftol=1e-8, xtol=1e-8, gtol=1e-8, max_nfev=None, trace=None, time_limit=None):
    """scipy's fit of replicate d (from load) from moerate's start.

    trace: a list that receives (seconds since the start, objective) at every residual
    evaluation (also of rejected trial points, and, with a finite-difference Jacobian, of the
    perturbed points: use it with jac="analytic").
    time_limit: seconds; scipy is stopped at the first residual evaluation after it, and the
    result (status "time limit") is the best point evaluated so far, nfev and njev so far
    (with a finite-difference Jacobian, nfev then counts the difference evaluations too)."""
    m, X, Y, theta0 = d["model"], d["X"], d["Y"], d["theta0"]
    free = m.free
    scale = 1.0 / np.sqrt(len(Y))  # so that 0.5*|r|^2 is moerate's objective
    seen = dict(nfev=0, njev=0, cost=np.inf, x=theta0[free].copy())

    def full(x):
        t = theta0.copy()
        t[free] = x
        return t

    def res(x):
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            raise _TimeLimit()
        r = scale * (m.evaluate(full(x), X) - Y)
        cost = 0.5 * float(r @ r)
        seen["nfev"] += 1
        if cost < seen["cost"]:
            seen.update(cost=cost, x=np.array(x))
        if trace is not None:
            trace.append((time.perf_counter() - t0, cost))
        return r

    def jacobian(x):
        seen["njev"] += 1
        _, J = m.evaluate(full(x), X, jacobian=True)
        return scale * J[:, free]

    t0 = time.perf_counter()
    try:
        r = least_squares(res, theta0[free], jac=jacobian if jac == "analytic" else jac, method="trf",
                          ftol=ftol, xtol=xtol, gtol=gtol, max_nfev=max_nfev)
    except _TimeLimit:
        return dict(objective=seen["cost"], nfev=seen["nfev"], njev=seen["njev"], time=time.perf_counter() - t0,
                    status="time limit", message="stopped after the time limit of %g s" % time_limit,
                    theta=full(seen["x"]))
    return dict(objective=float(r.cost), nfev=int(r.nfev), njev=int(r.njev or 0), time=time.perf_counter() - t0,
                status=int(r.status), message=r.message, theta=full(r.x))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--jac", default="analytic", choices=["analytic", "2-point", "3-point"])
    ap.add_argument("--ftol", type=float, default=1e-8)
    ap.add_argument("--xtol", type=float, default=1e-8)
    ap.add_argument("--gtol", type=float, default=1e-8)
    ap.add_argument("--max-nfev", type=int, default=None)
    ap.add_argument("--time-limit", type=float, default=None, help="stop scipy after this many seconds")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    d = load(a.file)
    r = fit(d, a.jac, a.ftol, a.xtol, a.gtol, a.max_nfev, time_limit=a.time_limit)
    r.pop("theta")
    out = dict(file=a.file, n=len(d["Y"]), p=d["model"].p, pfree=len(d["model"].free), jac=a.jac,
               scipy=r, moerate=d["moerate"])
    if a.json:
        print(json.dumps(out))
    else:
        mo = d["moerate"]
        print("n=%d p=%d (%d free)" % (out["n"], out["p"], out["pfree"]))
        print("scipy trf (%s jacobian): objective %.10e, %d evaluations, %.3f s (%s)" % (a.jac, r["objective"], r["nfev"], r["time"], r["message"]))
        print("moerate                : objective %.10e, %d iterations, %.3f s (%s)" % (mo["objective"], mo["iterations"], mo["time"], mo["status"]))
        print("time ratio scipy/moerate: %.1f" % (r["time"] / mo["time"]))


if __name__ == "__main__":
    main()
