#!/usr/bin/python3
"""Figure 6: share of a run's wall time spent writing the HDF5 results file.

    /usr/bin/python3 bench/iotime.py --workdir DIR

For the runs of bench/scaling.py and bench/scheduler.py (their files in DIR): share =
/sessions io_time / (end - start).  io_time counts every write (whole writes and appends to the
journal) but the last (it is recorded at the next whole write), and the session ends just
before the last write; so a second share adds the
last write, measured as the file's modification time minus the session end (the file is
written whole to FILE.tmp-PID and renamed: its mtime is the end of the last write), to both.
"""
import os
import sys

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


def share(path):
    with h5py.File(path, "r") as h:
        s = h["sessions"][-1]
        tasks = h["tasks/records"].shape[0]
    span, io = float(s["end"] - s["start"]), float(s["io_time"])
    last = max(os.path.getmtime(path) - float(s["end"]), 0.0)
    return dict(file=path, tasks=tasks, span=span, io_time=io, share=io / span, last_write=last,
                share_with_last=(io + last) / (span + last), file_mb=os.path.getsize(path) / 2 ** 20)


def main():
    ap = benchlib.parser(__doc__, moerate=False)
    a = ap.parse_args()
    out = {}
    runs = []
    sc = benchlib.load(a.workdir, "scaling")
    if sc:
        runs.append(("scaling", sc["file"]))
    sch = benchlib.load(a.workdir, "scheduler")
    if sch:
        runs += [("scheduler_%d" % r["ranks"], r["file"]) for r in sch["runs"]]
    print("figure 6: share of wall time writing HDF5 (default -flush_interval 10)")
    for name, path in runs:
        r = share(path)
        out[name] = r
        print("  %-12s %7d tasks, file %6.1f MB: io_time %.3f s of %.2f s = %.2f%%; with the last write (%.3f s) %.2f%%"
              % (name, r["tasks"], r["file_mb"], r["io_time"], r["span"], 100 * r["share"], r["last_write"],
                 100 * r["share_with_last"]))
    benchlib.save(a.workdir, "io", out)


if __name__ == "__main__":
    main()
