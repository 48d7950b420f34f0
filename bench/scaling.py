#!/usr/bin/python3
"""Figure 5: parallel efficiency of a realistic grid, whose task cost grows with n.

    /usr/bin/python3 bench/scaling.py --moerate build/moerate --workdir DIR [--ranks 3]
        [--replicates 40] [--n-range 1000,32000] [--n-count 6]

`moerate run -d 8 -kstar 3 -k 4 -n_range ... -replicates R` on --ranks ranks (one master, the
rest workers), default -flush_interval.  Efficiency and idle tail come from
analysis/plot_timeline.py (imported): efficiency = sum(task wall_time) / (workers x span), the
span running from the first task start to the last task end; its idle tail is the span end
minus the median of the workers' last task ends.  Also printed: the tail from the moment the
first worker ran out of work (its last task end) to the span end.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "analysis"))
import benchlib  # noqa: E402
import moeresults as mr  # noqa: E402
import numpy as np  # noqa: E402
import plot_timeline as pt  # noqa: E402


def main():
    ap = benchlib.parser(__doc__, mpiexec=True)
    ap.add_argument("--ranks", type=int, default=3)
    ap.add_argument("--replicates", type=int, default=40)
    ap.add_argument("--n-range", default="1000,32000")
    ap.add_argument("--n-count", type=int, default=6)
    a = ap.parse_args()
    h5 = os.path.join(a.workdir, "scaling.h5")
    if os.path.exists(h5):
        os.remove(h5)
    spec = ["-d", "8", "-kstar", "3", "-k", "4", "-n_range", a.n_range, "-n_count", str(a.n_count),
            "-replicates", str(a.replicates)] + benchlib.p1_truth(8)
    cmd = [a.mpiexec, "-n", str(a.ranks), a.moerate, "run"] + spec + ["-output", h5, "-quiet"]
    print("figure 5: scaling, %s" % " ".join(cmd[3:]), flush=True)
    load0 = benchlib.load_loadavg()
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    res = mr.load_or_exit(h5, "scaling.py")
    tl = pt.timeline(res)
    b = pt.balance(tl)
    last = [float(tl.end[tl.rank == w].max()) for w in np.unique(tl.rank)]
    b["first_out_tail"] = float(tl.end.max()) - min(last)
    counts = res.status_counts()
    out = dict(balance=b, counts=counts, process_wall=wall, command=" ".join(cmd[3:]), spec=" ".join(spec), ranks=a.ranks, file=h5,
               load_start=load0, load_end=benchlib.load_loadavg(),
               task_time={str(int(n)): float(np.mean(tl.wall[tl.n == n])) for n in np.unique(tl.n)})
    print(pt.report(res, tl), end="")
    print("tail from the first worker out of work to the end %.3f s; %d tasks (%d converged, %d failed); "
          "mpiexec wall %.1f s; load %.2f -> %.2f"
          % (b["first_out_tail"], counts["total"], counts["converged"], counts["failed"], wall, load0,
             out["load_end"]), flush=True)
    benchlib.save(a.workdir, "scaling", out)


if __name__ == "__main__":
    main()
