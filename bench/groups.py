#!/usr/bin/python3
"""Figures 9 and 10: one fit over a group of ranks (-fit_group).

    /usr/bin/python3 bench/groups.py --moerate build/moerate --workdir DIR [--n 1000000] [--iterations 6]
                                     [--reduce DIR/reduce]

Figure 9 (measured): one least-squares fit of P1's template (d = 32, k* = 8, k = 9, p = 594; softmax x ReLU,
jobs/specs/p1_fig1.yaml) at n = --n, capped at --iterations trust-region iterations and one start, by
`moerate fit -fit_group 1` on one rank and by `mpiexec -n 2 moerate fit -fit_group 2` on two: the fit's wall
time (the summary line: generation and start-up excluded), the speed-up, whether the two fits' parameters and
objectives are identical bit for bit, and the peak resident memory of each rank (/usr/bin/time -v) at n and at
n / 10.  Target: speed-up >= 1.8, identical parameters.

Figure 10 (simulated, from measurements of this machine): the same fit on groups of g = 8, 16, 32, 64 ranks at
n and 10 n.  Per trust-region iteration the group's ranks evaluate their share of the chunks (at most
ceil(P/g) of P = 64 chunks: the one-rank iteration time of figure 9 times ceil(P/g)/P), then the group's first
rank receives the other ranks' sums of aligned blocks of chunks of the Gauss-Newton Hessian (its packed upper
triangle, p (p + 1) / 2 doubles each, at most about 2 log2(P/g) per rank: 1 message at g = 2, 63 at g = 64), adds
them and broadcasts the sum (ceil(log2 g) steps); the message, the addition and the broadcast of as many doubles
(a square of side 420 for p = 594) are measured by bench/reduce on 2 ranks here (shared memory; a
cluster's network is slower per message, so this is an optimistic model for groups spread over nodes).  The
gradient's and objective's messages (p doubles) are left out.  Printed: speed-up and efficiency per g; the
model is checked against figure 9's measured g = 2.
"""
import json
import math
import os
import subprocess
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402

ROOT = os.path.dirname(HERE)
CHUNKS = 64  # MOE_DATA_CHUNKS (include/moedata.h)


def fit_args(n, iterations, g, out, order="chunks"):
    return ["-options_file_yaml", os.path.join(ROOT, "jobs", "specs", "p1_fig1.yaml"), "-gating", "softmax",
            "-expert", "relu", "-losses", "l2", "-n", str(n), "-init_starts", "1", "-certify_starts", "1",
            "-tao_max_it", str(iterations), "-fit_group", str(g), "-fit_order", order, "-output", out]


def grouped_fit(moerate, mpiexec, work, n, iterations, g, order="chunks"):
    """moerate fit on g ranks (-fit_group g; g = 0: one rank, no group), each rank under /usr/bin/time -v; the
    summary line's fields, every rank's peak memory, the fit's theta and objective."""
    name = "group_n%d_g%d_%s" % (n, g, order)
    group, g = g, max(g, 1)  # -fit_group group on g ranks (group 0: one rank alone)
    out = os.path.join(work, name + ".h5")
    if os.path.exists(out):
        os.remove(out)
    timev = os.path.join(work, name + ".rank")
    inner = "exec /usr/bin/time -v -o %s.${OMPI_COMM_WORLD_RANK:-0}.time \"$@\"" % timev
    cmd = [mpiexec, "-n", str(g), "sh", "-c", inner, "sh", moerate, "fit"] + fit_args(n, iterations, group, out, order)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with open(os.path.join(work, name + ".log"), "w") as f:
        f.write(p.stdout)
    if p.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(cmd), p.stdout[-3000:]))
    r = {}
    for line in p.stdout.splitlines():
        m = benchlib.FIT_LINE.match(line)
        if m:
            r.update(status=m.group(1), iterations=int(m.group(3)), objective=float(m.group(4)), time=float(m.group(6)))
    r["maxrss_mb"] = [benchlib.parse_time_v("%s.%d.time" % (timev, k))["maxrss_kb"] / 1024 for k in range(g)]
    with h5py.File(out, "r") as h:
        r["theta"] = h["fit/theta"][:]
    return r


def reduction(reduce_bin, mpiexec, p):
    out = subprocess.run([mpiexec, "-n", "2", reduce_bin, "-p", str(p), "-repeat", "20", "-json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def blocks(a, end):
    """The aligned blocks of chunks [a, end) a rank sends (src/data/group.c: BlockLevel)."""
    n = 0
    while a < end:
        k = 0
        while a % (2 << k) == 0 and a + (2 << k) <= end:
            k += 1
        a += 1 << k
        n += 1
    return n


def messages(g, chunks=CHUNKS):
    """The Hessian terms (packed upper triangles) the group's first rank receives (and adds) per Hessian: every
    other rank's aligned blocks."""
    return sum(blocks(chunks * r // g, chunks * (r + 1) // g) for r in range(1, g))


def model(t1, g, red):
    """Iteration time of a group of g from the one-rank iteration time t1 and the measured reduction costs."""
    share = math.ceil(CHUNKS / g) / CHUNKS
    return t1 * share + messages(g) * (red["send_s"] + red["add_s"]) + math.ceil(math.log2(g)) * red["bcast_s"]


def main():
    ap = benchlib.parser(__doc__, mpiexec=True)
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--iterations", type=int, default=6)
    ap.add_argument("--reduce", default=None, help="the bench/reduce binary (built by run_all)")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    w = a.workdir
    res = dict(n=a.n, iterations_cap=a.iterations, p=594)
    runs = {}
    for g in (1, 2):
        runs[g] = grouped_fit(a.moerate, a.mpiexec, w, a.n, a.iterations, g)
        print("figure 9: n=%d, -fit_group %d on %d rank(s): %d iterations in %.2f s, objective %.10e, peak memory "
              "per rank %s MB" % (a.n, g, g, runs[g]["iterations"], runs[g]["time"], runs[g]["objective"],
                                  ", ".join("%.0f" % m for m in runs[g]["maxrss_mb"])))
    same = bool(np.array_equal(runs[1]["theta"], runs[2]["theta"]) and runs[1]["objective"] == runs[2]["objective"])
    res.update(time_1=runs[1]["time"], time_2=runs[2]["time"], speedup=runs[1]["time"] / runs[2]["time"],
               identical=same, iterations=runs[1]["iterations"], maxrss_mb={"1": runs[1]["maxrss_mb"], "2": runs[2]["maxrss_mb"]})
    print("figure 9: speed-up on 2 ranks %.2f (target >= 1.8); parameters and objective identical: %s"
          % (res["speedup"], "yes" if same else "NO"))
    small = max(1000, a.n // 10)
    # the one-rank fit's sums: in the chunks' order (the default, a group's bits) against one pass in row order
    # (-fit_order rows, the results made before), per iteration, 3 pairs run alternately at n / 10
    per = {"rows": [], "chunks": []}
    for _ in range(3):
        for order in ("rows", "chunks"):
            r = grouped_fit(a.moerate, a.mpiexec, w, small, a.iterations, 0, order)
            per[order].append(r["time"] / max(1, r["iterations"]))
    ratio = float(np.median(np.array(per["chunks"]) / np.array(per["rows"])))
    res["order"] = dict(n=small, rows_s=float(np.median(per["rows"])), chunks_s=float(np.median(per["chunks"])),
                        ratio=ratio)
    print("figure 9: one rank at n=%d, per iteration: sums in row order %.3f s, in the chunks' order %.3f s (the default); "
          "ratio %.3f (median of 3 pairs; target <= 1.05)" % (small, res["order"]["rows_s"], res["order"]["chunks_s"], ratio))
    mem = {}
    for g in (1, 2):
        mem[g] = grouped_fit(a.moerate, a.mpiexec, w, small, 1, g)["maxrss_mb"]
    res["maxrss_small_mb"] = {"n": small, "1": mem[1], "2": mem[2]}
    print("figure 9: peak memory per rank at n=%d: g=1 %s MB, g=2 %s MB; at n=%d: g=1 %s MB, g=2 %s MB"
          % (small, ", ".join("%.0f" % m for m in mem[1]), ", ".join("%.0f" % m for m in mem[2]), a.n,
             ", ".join("%.0f" % m for m in runs[1]["maxrss_mb"]), ", ".join("%.0f" % m for m in runs[2]["maxrss_mb"])))
    if a.reduce:
        # a Hessian's term travels as its packed upper triangle, p (p + 1) / 2 numbers: reduce's square of side
        # round(sqrt(p (p + 1) / 2)) = 420 carries as many
        red = reduction(a.reduce, a.mpiexec, round(math.sqrt(594 * 595 / 2)))
        res["reduce"] = red
        t1 = runs[1]["time"] / max(1, runs[1]["iterations"])
        res["model_check"] = dict(modelled_speedup_2=t1 / model(t1, 2, red), measured_speedup_2=res["speedup"])
        print("figure 10: a Hessian term's message (p = 594, its upper triangle, %.1f MB) %.3f ms, its addition %.3f ms, a broadcast %.3f ms (2 ranks, "
              "shared memory); model check at g = 2: modelled speed-up %.2f, measured %.2f"
              % (red["bytes"] / 1e6, 1e3 * red["send_s"], 1e3 * red["add_s"], 1e3 * red["bcast_s"],
                 res["model_check"]["modelled_speedup_2"], res["speedup"]))
        sim = []
        for scale in (1, 10):
            for g in (8, 16, 32, 64):
                s = (t1 * scale) / model(t1 * scale, g, red)
                sim.append(dict(n=a.n * scale, g=g, speedup=s, efficiency=s / g))
                print("figure 10: n=%d on a group of %d: speed-up %.1f, efficiency %.2f" % (a.n * scale, g, s, s / g))
        res["simulated"] = sim
    benchlib.save(w, "groups", res)


if __name__ == "__main__":
    main()
