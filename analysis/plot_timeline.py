#!/usr/bin/python3
"""Timeline of the ranks of a moerate run: one row per rank, a bar per task from its start to its end.

Shows the load balance; prints the parallel efficiency sum(wall_time) / (workers x span) and the
idle tail (the end of the span minus the median of the workers' last task end) to stdout.  Time is
in seconds since the first task start; the span runs from the first task start to the last task end.
The output format follows the extension of -o (png, pdf, svg).
"""
import argparse
import os
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

import moeresults as mr  # noqa: E402

FORMATS = ("png", "pdf", "svg")


@dataclass
class Timeline:
    """The finished tasks (fits, reference fits and skipped tasks) that carry times."""

    rank: np.ndarray
    start: np.ndarray  # seconds since the first task start
    end: np.ndarray
    wall: np.ndarray  # wall_time of the fit
    gating: np.ndarray
    n: np.ndarray


def timeline(results):
    """The Timeline of a results file (pending tasks have no times)."""
    r = results.records
    keep = (r["status"] != mr.PENDING) & (r["t_end"] > 0)
    t0 = r["t_start"][keep].min() if np.any(keep) else 0.0
    return Timeline(rank=r["rank"][keep], start=r["t_start"][keep] - t0, end=r["t_end"][keep] - t0,
                    wall=r["wall_time"][keep], gating=r["gating"][keep], n=r["n"][keep])


def balance(tl):
    """Workers, span, busy time, parallel efficiency and idle tail of a Timeline."""
    workers = np.unique(tl.rank)
    span = float(tl.end.max() - tl.start.min())
    last = np.array([tl.end[tl.rank == w].max() for w in workers])
    busy = float(tl.wall.sum())
    return {"workers": len(workers), "span": span, "busy": busy,
            "efficiency": busy / (len(workers) * span) if span > 0 else float("nan"),
            "idle_tail": float(tl.end.max() - np.median(last))}


def figure(results, tl, colour_by):
    """Horizontal bars per rank, coloured by gating or by n."""
    workers = np.unique(tl.rank)
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.45 * len(workers)), constrained_layout=True)
    if colour_by == "gating":
        colours = ["C%d" % (g % 10) for g in tl.gating]
        handles = [Patch(color="C%d" % (i % 10), label=g) for i, g in enumerate(results.gatings)
                   if np.any(tl.gating == i)]
        ax.legend(handles=handles, title="gating", loc="upper left", bbox_to_anchor=(1.01, 1))
    else:
        norm = LogNorm(vmin=tl.n.min(), vmax=max(tl.n.max(), tl.n.min() + 1))
        colours = plt.cm.viridis(norm(tl.n))
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax, label="sample size n")
    ax.barh(tl.rank, tl.end - tl.start, left=tl.start, height=0.7, color=colours, edgecolor="black",
            linewidth=0.3)
    ax.set_yticks(workers, ["rank %d" % w for w in workers])
    ax.invert_yaxis()
    ax.set_xlabel("time since the first task start (s)")
    b = balance(tl)
    ax.set_title("%s: %d workers, parallel efficiency %.0f%%, idle tail %.1f s"
                 % (os.path.basename(results.path), b["workers"], 100 * b["efficiency"], b["idle_tail"]))
    return fig


def report(results, tl):
    """The stdout summary."""
    b = balance(tl)
    lines = ["workers %d, span %.3f s, busy %.3f s (sum of wall_time)" % (b["workers"], b["span"], b["busy"]),
             "parallel efficiency %.3f  (sum(wall_time) / (workers x span))" % b["efficiency"],
             "idle tail %.3f s  (span end minus the median of the workers' last task end)" % b["idle_tail"]]
    if len(results.sessions) > 1:
        lines.append("note: %d sessions; the span includes the time between them" % len(results.sessions))
    return "\n".join(lines) + "\n"


def parser():
    p = argparse.ArgumentParser(prog="plot_timeline.py", description=__doc__.split("\n\n")[0])
    p.add_argument("results", help="a moerate run results file (HDF5)")
    p.add_argument("-o", "--output", required=True, help="figure file (.png, .pdf or .svg)")
    p.add_argument("--color", choices=("gating", "n"), default="gating", help="bar colour (default gating)")
    return p


def main(argv=None):
    p = parser()
    opts = p.parse_args(argv)
    if os.path.splitext(opts.output)[1].lstrip(".").lower() not in FORMATS:
        mr.fail(p.prog, "%s: unknown figure format (use .png, .pdf or .svg)" % opts.output)
    results = mr.load_or_exit(opts.results, p.prog)
    tl = timeline(results)
    if not len(tl.rank):
        mr.fail(p.prog, "%s: no usable data: no finished task" % opts.results)
    figure(results, tl, opts.color).savefig(opts.output, dpi=120)
    print(report(results, tl), end="")
    print("wrote %s" % opts.output)


if __name__ == "__main__":
    main()
