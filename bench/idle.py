#!/usr/bin/python3
"""Figure 7: CPU time of idle ranks.  `moerate run` on 3 ranks (a master, two workers) with a
grid of a single task that waits --seconds (-test_task_delay; -skip_fit, so no fit): one
worker holds the task, the other has nothing to do for the whole run.  The CPU time (user +
system, /proc/PID/stat) of every moerate process is sampled until it exits; each rank's share
is the CPU time it used while the task ran (from 1 s after the start, when every rank has set
up, to the last sample before the end) over that window.  Target: an idle worker at most 1% of
a core.

    /usr/bin/python3 bench/idle.py --moerate build/moerate --workdir DIR [--seconds 5]
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import h5py  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process in seconds, or None once it has gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError):
        return None


def moerate_pids(moerate):
    """PIDs of running processes whose executable is `moerate`."""
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.path.realpath("/proc/%s/exe" % p) == os.path.realpath(moerate):
                    out.append(int(p))
            except OSError:
                pass
    return out


def mpi_rank(pid):
    """The MPI rank of a process, from Open MPI's environment, or None."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"OMPI_COMM_WORLD_RANK="):
                    return int(item.split(b"=", 1)[1])
    except (OSError, ValueError):
        pass
    return None


def parent_chain(pid, ancestor):
    """Whether `ancestor` is an ancestor of `pid`."""
    while pid > 1:
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
        if pid == ancestor:
            return True
    return False


def main():
    ap = benchlib.parser(__doc__, mpiexec=True)
    ap.add_argument("--seconds", type=float, default=5.0)
    a = ap.parse_args()
    h5 = os.path.join(a.workdir, "idle.h5")
    if os.path.exists(h5):
        os.remove(h5)
    cmd = [a.mpiexec, "-n", "3", a.moerate, "run", "-skip_fit", "-test_task_delay", str(a.seconds), "-n", "1000",
           "-replicates", "1"] + benchlib.p1_truth(4) + ["-output", h5, "-quiet"]
    print("figure 7: idle ranks, %s" % " ".join(cmd[3:]), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    mine = set()
    while proc.poll() is None and len(mine) < 3:  # our three ranks: descendants of our mpiexec
        mine = {p for p in moerate_pids(a.moerate) if parent_chain(p, proc.pid)}
        time.sleep(0.01)
    time.sleep(0.2)
    ranks = {p: mpi_rank(p) for p in mine}
    first, last = {}, {}
    while proc.poll() is None:
        now = time.perf_counter()
        for pid in mine:
            c = cpu_seconds(pid)
            if c is None:
                continue
            if now - t0 >= 1.0:
                first.setdefault(pid, (now, c))
                last[pid] = (now, c)
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit("idle.py: moerate failed (%d)" % proc.returncode)
    share = {ranks[p]: (last[p][1] - first[p][1]) / max(1e-9, last[p][0] - first[p][0]) for p in last if p in first}
    with h5py.File(h5, "r") as h:
        busy = int(h["tasks/records"]["rank"][0])
    idle = [r for r in share if r not in (0, busy)]
    out = dict(command=" ".join(cmd[3:]), wall=wall, seconds=a.seconds, share={str(r): v for r, v in share.items()},
               busy_rank=busy, idle_share=share[idle[0]] if idle else None, master_share=share.get(0))
    print("  wall %.2f s; CPU share while the task ran: master %.2f%%, worker %d (the task, waiting) %.2f%%, idle worker "
          "%.2f%% of a core" % (wall, 100 * share.get(0, float("nan")), busy, 100 * share.get(busy, float("nan")),
                                100 * out["idle_share"]), flush=True)
    benchlib.save(a.workdir, "idle", out)


if __name__ == "__main__":
    main()
