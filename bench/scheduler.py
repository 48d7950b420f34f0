#!/usr/bin/python3
"""Figure 4: throughput of the master on trivial tasks (`moerate run -skip_fit`: each task
does nothing and is recorded as skipped), at 2 and 4 MPI ranks (1 and 3 workers).

    /usr/bin/python3 bench/scheduler.py --moerate build/moerate --workdir DIR [--tasks 1000000]

Grid: the default model (d=2, k=3), --tasks / 100000 sample sizes x 100000 replicates (or
--tasks replicates at n=1000 when fewer).  tasks/s = tasks / (end - start) of the session in
/sessions; the session runs from before the first write of the file (all tasks pending) to
before the final write, so it includes the first write but not the last (see bench/iotime.py).
"""
import os
import subprocess
import sys
import time

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


def grid(tasks):
    if tasks <= 100000:
        return ["-n", "1000", "-replicates", str(tasks)] + benchlib.p1_truth(4)
    ns = [1000 * (i + 1) for i in range(tasks // 100000)]
    return ["-n", ",".join(map(str, ns)), "-replicates", "100000"] + benchlib.p1_truth(4)


def main():
    ap = benchlib.parser(__doc__, mpiexec=True)
    ap.add_argument("--tasks", type=int, default=1000000)
    ap.add_argument("--ranks", default="2,4")
    a = ap.parse_args()
    out = dict(runs=[])
    print("figure 4: scheduler throughput, moerate run -skip_fit, %d tasks" % a.tasks, flush=True)
    for ranks in map(int, a.ranks.split(",")):
        h5 = os.path.join(a.workdir, "scheduler_%d.h5" % ranks)
        if os.path.exists(h5):
            os.remove(h5)
        cmd = [a.mpiexec, "-n", str(ranks), a.moerate, "run", "-skip_fit"] + grid(a.tasks) + ["-output", h5, "-quiet"]
        load0 = benchlib.load_loadavg()
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = time.perf_counter() - t0
        with h5py.File(h5, "r") as h:
            s = h["sessions"][-1]
            status = h["tasks/records"]["status"]
            tasks = len(status)
            skipped = int((status == 3).sum())
        span = float(s["end"] - s["start"])
        r = dict(ranks=ranks, tasks=tasks, skipped=skipped, span=span, io_time=float(s["io_time"]),
                 tasks_per_s=tasks / span, process_wall=wall,
                 file_mb=os.path.getsize(h5) / 2 ** 20, command=" ".join(cmd[3:]), load=load0, file=h5)
        out["runs"].append(r)
        print("  %d ranks: %d tasks (%d skipped) in %.3f s: %.0f tasks/s  (mpiexec wall %.2f s, file %.0f MB, load %.2f)"
              % (ranks, tasks, skipped, span, r["tasks_per_s"], wall, r["file_mb"], load0), flush=True)
    benchlib.save(a.workdir, "scheduler", out)


if __name__ == "__main__":
    main()
