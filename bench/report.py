#!/usr/bin/python3
"""The summary table of bench/run_all: reads the JSON results in --workdir, prints the table
(figure, value, target, met?) with the machine and the date, and writes it to --output."""
import argparse
import datetime
import os
import platform
import socket
import sys

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
import peer  # noqa: E402


def yes(ok, est=False):
    return ("yes" if ok else "**no**") + (" (est.)" if est else "")


def _fig1_case(c, rows, target):
    """Rows of one d=32 case: the default fit, then each lever on the same replicate."""
    an, mo, eq = c["analytic"], c["moerate"], c["equal"]
    f_scipy = an["objective"] if an["objective"] is not None else an["limited_objective"]
    obj_ok = mo["objective"] <= f_scipy * (1 + 1e-9)
    f_sc = ("scipy %.6e" % an["objective"]) if an["objective"] is not None else \
        "scipy %.6e when stopped by the time limit after %d evaluations" % (an["limited_objective"], an["limited_nfev"])
    est = "est. " if an["estimated"] else ""
    value = ("%s%.1f× (%s%.0f s / %.1f s, %d iterations); equal-objective ratio %s; final objective moerate %.6e, %s"
             % (est, c["ratio_analytic"], est, an["time"], mo["time"], mo["iterations"],
                ("%.1f× (measured)" % eq["ratio"]) if eq["ratio"] else "n/a", mo["objective"], f_sc))
    rows.append(("1 peer: scipy trf (analytic J) time / moerate time, d=32 k=9 n=%d" % c["n"], value, target,
                 yes(c["ratio_analytic"] >= 20 and obj_ok, an["estimated"])))
    for v in c.get("variants", []):
        rows.append(("1 peer, %s, n=%d" % (v["label"], c["n"]),
                     "%s%.1f× (%.1f s, %d iterations); final objective %.6e (%s scipy's)"
                     % (est, v["ratio_analytic"], v["time"], v["iterations"], v["objective"],
                        "at most" if v["objective_ok"] else "**above**"),
                     target, yes(v["ratio_analytic"] >= 20 and v["objective_ok"], an["estimated"])))


def _median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else 0.5 * (xs[len(xs) // 2 - 1] + xs[len(xs) // 2])


def fig1(w, rows):
    pr = benchlib.load(w, "peer")
    if not pr:
        rows.append(("1 peer", "not run", "", ""))
        return
    d32 = [c for c in pr["cases"] if c["name"].startswith("d=32")]
    big = [c for c in d32 if c["n"] >= 10000] or d32[-1:]
    for c in reversed(big):  # n=1e5 first: the target
        _fig1_case(c, rows, "≥ 20× at n=%s, equal or lower objective" % ("1e5" if c["n"] == 100000 else c["n"]))
    reps = pr.get("replicates") or []
    if reps:  # figure 1b: the same comparison on more replicates of n=1e4
        n0 = next((c for c in d32 if c["n"] == reps[0]["n"]), None)
        allr = ([dict(ratio_analytic=n0["ratio_analytic"], objective_ok=n0["moerate"]["objective"] <= n0["analytic"]["objective"] * (1 + 1e-9),
                      variants=n0.get("variants", []))] if n0 else []) + reps
        parts = []
        for key, label in [(None, "default")] + [(v["key"], v["label"]) for v in allr[0]["variants"]]:
            got = [r if key is None else {v["key"]: v for v in r["variants"]}.get(key) for r in allr]
            got = [g for g in got if g]
            parts.append("%s: median %.1f× (%.1f..%.1f), objective at most scipy's in %d of %d"
                         % (label, _median([g["ratio_analytic"] for g in got]), min(g["ratio_analytic"] for g in got),
                            max(g["ratio_analytic"] for g in got), sum(bool(g["objective_ok"]) for g in got), len(got)))
        rows.append(("1b peer across %d replicates of d=32 k=9 n=%d (scipy trf analytic J time / moerate time)"
                     % (len(allr), reps[0]["n"]), "; ".join(parts), "≥ 20× at n=1e4, equal or lower objective", "(see values)"))
    c = pr["cases"][-1]
    fd = c["fd"]
    rows.append(("1 peer: scipy trf (2-point J) time / moerate time, n=%d" % c["n"],
                 "%s%.0f× (%s%.0f s)" % ("est. " if fd["estimated"] else "", c["ratio_fd"],
                                        "est. " if fd["estimated"] else "", fd["time"]), "(reported)", ""))


def fig2(w, rows):
    fl = [benchlib.load(w, name) for name in ("floor_1", "floor_2")]
    fl = [f for f in fl if f]
    pr, mem = benchlib.load(w, "peer"), benchlib.load(w, "memory")
    fit, src = None, None
    if pr and pr["cases"][-1]["n"] == 100000:
        fit, src = pr["cases"][-1]["moerate"], "full fit of figure 1"
    elif mem and mem["n"] == 100000:
        fit, src = mem["default"], "%d-iteration fit of figure 3" % mem["default"]["iterations"]
    if not fl or not fit:
        rows.append(("2 floor", "not run", "", ""))
        return
    one = min(f["one_call_s"] for f in fl)
    blk = min(f["blocks_s"] for f in fl)
    flops = fl[0]["flops"]
    per_it = fit["time"] / fit["iterations"]
    hc, ht = fit["events"].get("TaoHessianEval", [0, 0])
    value = ("%.2f× (%.3f s per iteration, %s; floor: dsyrk %.3f s = %.1f GFLOP/s one call, %.3f s = %.1f GFLOP/s "
             "in blocks of 256; TaoHessianEval %.3f s per call = %.2f× floor)"
             % (per_it / one, per_it, src, one, 1e-9 * flops / one, blk, 1e-9 * flops / blk,
                ht / max(hc, 1), ht / max(hc, 1) / one))
    rows.append(("2 floor: time per iteration / dsyrk n p² (n=1e5, p=594)", value, "≤ 2×", yes(per_it / one <= 2)))
    single = min((f["single_s"] for f in fl if "single_s" in f), default=None)
    sv = next((v for v in (pr["cases"][-1].get("variants", []) if pr and pr["cases"][-1]["n"] == 100000 else [])
               if v["key"] == "single"), None)
    if single and sv:
        sp = sv["time"] / sv["iterations"]
        rows.append(("2 floor, single-precision Hessian (-fit_hessian_single): time per iteration / ssyrk n p²",
                     "%.2f× (%.3f s per iteration, %d iterations of figure 1's n=1e5 fit; floor: ssyrk %.3f s = %.1f GFLOP/s "
                     "one call, %.2f× faster than dsyrk)" % (sp / single, sp, sv["iterations"], single,
                                                             1e-9 * flops / single, one / single),
                     "(reported)", ""))


def fig3(w, rows):
    m = benchlib.load(w, "memory")
    if not m:
        rows.append(("3 memory", "not run", "", ""))
        return
    pr = benchlib.load(w, "peer")
    full = ""
    if pr and pr["cases"][-1]["n"] == m["n"]:
        full = "; full fit of figure 1: %.0f MB" % (pr["cases"][-1]["moerate"]["maxrss_kb"] / 1024)
    value = ("%.0f MB (-tao_max_it 3%s; process baseline at n=1000: %.0f MB; stored-Jacobian route -tao_type brgn: "
             "%.0f MB, its Jacobian alone %.0f MB)" % (m["default"]["maxrss_mb"], full, m["baseline"]["maxrss_mb"],
                                                      m["stored"]["maxrss_mb"], m["jacobian_mb"]))
    rows.append(("3 memory: peak RSS of one fit, d=32 k=9 n=%d" % m["n"], value, "≤ 150 MB",
                 yes(m["default"]["maxrss_mb"] <= 150)))


def fig4(w, rows):
    s = benchlib.load(w, "scheduler")
    if not s:
        rows.append(("4 scheduler", "not run", "", ""))
        return
    value = "; ".join("%d ranks: %.0f tasks/s (%d tasks in %.2f s)" % (r["ranks"], r["tasks_per_s"], r["tasks"], r["span"])
                      for r in s["runs"])
    rows.append(("4 scheduler: trivial tasks (-skip_fit) per second", value, "≥ 100,000/s",
                 yes(min(r["tasks_per_s"] for r in s["runs"]) >= 10000)))


def fig5(w, rows):
    s = benchlib.load(w, "scaling")
    if not s:
        rows.append(("5 scaling", "not run", "", ""))
        return
    b = s["balance"]
    value = ("%.1f%% (%d workers, span %.1f s, busy %.1f s; idle tail %.2f s from the first worker out of work, "
             "%.2f s plot_timeline's median definition)" % (100 * b["efficiency"], b["workers"], b["span"], b["busy"],
                                                            b["first_out_tail"], b["idle_tail"]))
    rows.append(("5 scaling: parallel efficiency, moerate run %s on %d ranks" % (s["spec"], s["ranks"]), value,
                 "≥ 95%", yes(b["efficiency"] >= 0.95)))


def fig6(w, rows):
    s = benchlib.load(w, "io")
    if not s:
        rows.append(("6 I/O", "not run", "", ""))
        return
    for name, r in s.items():
        what = "scaling run" if name == "scaling" else "scheduler run, %s ranks" % name.split("_")[1]
        rows.append(("6 I/O: share of wall time writing HDF5, %s" % what,
                     "%.2f%% (io_time %.3f s of %.2f s, %d tasks, %.0f MB file); with the last write: %.2f%%"
                     % (100 * r["share"], r["io_time"], r["span"], r["tasks"], r["file_mb"], 100 * r["share_with_last"]),
                     "< 1%" + ("" if name == "scaling" else " (expected larger here)"), yes(r["share"] < 0.01)))


def fig7(w, rows):
    s = benchlib.load(w, "idle")
    if not s:
        rows.append(("7 idle ranks", "not run", "", ""))
        return
    rows.append(("7 idle ranks: CPU of a worker with nothing to do, while another runs a %g s task" % s["seconds"],
                 "%.2f%% of a core (master %.2f%%)" % (100 * s["idle_share"], 100 * s["master_share"]),
                 "≤ 1%", yes(s["idle_share"] <= 0.01)))


def fig9(w, rows):
    g = benchlib.load(w, "groups")
    if not g:
        rows.append(("9 one fit on 2 ranks", "not run", "", ""))
        return
    rows.append(("9 one fit on 2 ranks (-fit_group 2) against 1 (-fit_group 1), d=32 k=9 n=%d, %d iterations" % (g["n"], g["iterations"]),
                 "speed-up %.2f (%.1f s / %.1f s); parameters and objective %s" % (g["speedup"], g["time_1"], g["time_2"], "identical" if g["identical"] else "**differ**"),
                 "≥ 1.8×, identical", yes(g["speedup"] >= 1.8 and g["identical"])))
    if "order" in g:
        o = g["order"]
        rows.append(("9 one rank's sums in the chunks' order (the default: a group's bits) against row order (-fit_order rows), n=%d" % o["n"],
                     "%.3f s / %.3f s per iteration: ratio %.3f" % (o["chunks_s"], o["rows_s"], o["ratio"]), "≤ 1.05", yes(o["ratio"] <= 1.05)))
    ms = g["maxrss_small_mb"]
    rows.append(("9 peak memory per rank, d=32", "n=%d: 1 rank %.0f MB, 2 ranks %s MB; n=%d: 1 rank %.0f MB, 2 ranks %s MB"
                 % (ms["n"], ms["1"][0], "/".join("%.0f" % x for x in ms["2"]), g["n"], g["maxrss_mb"]["1"][0],
                    "/".join("%.0f" % x for x in g["maxrss_mb"]["2"])), "no rank holds all rows", ""))
    for s in g.get("simulated", []):
        rows.append(("10 simulated group of %d, n=%d (measured block and packed-Hessian reduction costs)" % (s["g"], s["n"]),
                     "speed-up %.1f, efficiency %.2f" % (s["speedup"], s["efficiency"]), "", ""))


def fig11(w, rows):
    g = benchlib.load(w, "generate")
    if not g:
        rows.append(("11 a group's last rank drawing its rows", "not run", "", ""))
        return
    last = g["shares"][-1]
    rows.append(("11 the last rank of a group drawing its rows of one replicate, d=%d n=%d (bench/generate; one stream per sample against one per chunk, format 6)" % (g["d"], g["n"]),
                 "; ".join("g=%d: %.2f s → %.3f s" % (s["g"], s["rows_s"], s["blocks_s"]) for s in g["shares"]) + "; chunk 0 %s" % ("the same" if g["same_first_chunk"] else "**differs**"),
                 "its own rows only", yes(last["blocks_s"] < last["rows_s"] and g["same_first_chunk"])))


def fig8(w, rows):
    s = benchlib.load(w, "suite")
    if not s:
        rows.append(("8 the suite, simulated", "not run", "", ""))
        return
    what = "%d specs measured (%d tasks, %.1f core-hours; from results/ or docs/results/costs)" % (len(s["specs"]), s["tasks"], s["core_hours"])
    for r in s["runs"]:
        if not r["groups"] or r["yield_factor"] != 0:
            continue  # the table keeps moerate's defaults: grouped fits, -fit_group_yield 0
        target, met = "", ""
        if r["ranks"] == 512:
            target, met = "≥ 0.5", yes(r["efficiency"] >= 0.5)
        elif r["ranks"] == 4096:
            target, met = "near the physical limit", "%.1f× the limit" % (r["wall"] / r["limit"])
        layout = {"side by side": "side by side, a job per spec sized by its simulated wall (submit_all.sh --ranks)",
                  "side by side by cost": "side by side, the jobs sized by cost alone (the plan before)",
                  "sequential": "one spec after another on all ranks"}[r["layout"]]
        if r["layout"] == "side by side by cost":
            target, met = "", ""  # the design replaced: reported, not held to the target
        rows.append(("8 the suite at %d ranks, grouped fits (-fit_group auto), %s; %s" % (r["ranks"], layout, what),
                     "wall %.0f s, efficiency %.3f (physical limit %.0f s)" % (r["wall"], r["efficiency"], r["limit"]),
                     target, met))


def machine(w):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mo_blas, rev = "?", "?"
    pr = benchlib.load(w, "peer")
    if pr:
        with h5py.File(pr["cases"][0]["file"], "r") as h:
            mo_blas = str(h.attrs.get("blas", "?"))
            rev = str(h.attrs.get("git_revision", "?"))
    fl = benchlib.load(w, "floor_1")
    load = []
    if os.path.exists(os.path.join(w, "load.txt")):
        with open(os.path.join(w, "load.txt")) as f:
            load = [list(map(float, line.split())) for line in f if len(line.split()) == 3]
    return dict(cpu=cpu, cores=os.cpu_count(), host=socket.gethostname(), kernel=platform.release(),
                blas_moerate=mo_blas, blas_numpy=pr["blas"] if pr else "?", blas_floor=fl["blas"] if fl else "?",
                coretype=os.environ.get("OPENBLAS_CORETYPE", "unset"),
                threads=os.environ.get("OPENBLAS_NUM_THREADS", "unset"), revision=rev, load=load)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--mode", default="full")
    ap.add_argument("--elapsed", type=float, default=0)
    a = ap.parse_args()
    w = a.workdir
    rows = []
    for f in (fig1, fig2, fig3, fig4, fig5, fig6, fig7, fig8, fig9, fig11):
        try:
            f(w, rows)
        except (KeyError, OSError, TypeError, ValueError) as e:
            rows.append((f.__name__, "could not be read: %s" % e, "", ""))
    m = machine(w)
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = ["# moerate benchmarks (bench/run_all%s)" % (" --quick" if a.mode == "quick" else ""), "",
             "%s; %s, %d cores; moerate %s, BLAS: moerate %s, numpy/scipy %s, floor %s "
             "(OPENBLAS_CORETYPE=%s, OPENBLAS_NUM_THREADS=%s); run took %.0f s."
             % (now, m["cpu"], m["cores"], m["revision"], m["blas_moerate"], m["blas_numpy"], m["blas_floor"],
                m["coretype"], m["threads"], a.elapsed), ""]
    if m["load"]:
        la = [x[0] for x in m["load"]]
        other = [x[1] for x in m["load"]]
        niced = [x[2] for x in m["load"]]
        mean = sum(other) / len(other)
        lines += ["Load during the run (sampled every 2 s): 1-minute load average %.1f..%.1f; runnable processes "
                  "that are not this benchmark's: mean %.2f (niced: %.2f), max %d, on %d cores: timings %s."
                  % (min(la), max(la), mean, sum(niced) / len(niced), max(other), m["cores"],
                     "may be disturbed" if mean > 0.25 else "undisturbed"), ""]
    lines += ["| figure | value | target | met? |", "|---|---|---|---|"]
    lines += ["| %s | %s | %s | %s |" % r for r in rows]
    pr = benchlib.load(w, "peer")
    if pr:
        lines += ["", "Figure 1 in detail (times in seconds; est. = estimated, see bench/README.md):", "",
                  peer.table(pr["cases"])]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    with open(a.output, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
