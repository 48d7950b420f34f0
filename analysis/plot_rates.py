#!/usr/bin/python3
"""Log-log convergence plots of a moerate results file, in the style of P1's Figure 1.

One panel per expert family and loss, one colour per gating: the mean loss over the converged
replicates at each n with +-2 standard deviation bars (the lower end clipped at a tenth of the
mean, to stay on the log axis), and the fitted log(mean loss) line dashed, its slope in the legend.
The output format follows the extension of -o (png, pdf, svg).
"""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

import moeresults as mr  # noqa: E402
import rates  # noqa: E402

FORMATS = ("png", "pdf", "svg")
CLIP = 0.1  # lower error bars end at least at CLIP x mean


def panels(results, losses, n_min):
    """[(expert, loss, [(gating, Selection)])] for every expert and loss with data, in grid order."""
    out = []
    for e, expert in enumerate(results.experts):
        for loss in losses:
            li = results.losses.index(loss)
            series = [(gating, rates.select(results, g, e, li, n_min))
                      for g, gating in enumerate(results.gatings) if results.loss_applies(g, e, li)]
            series = [(gating, sel) for gating, sel in series if sel.used]
            if series:
                out.append((expert, loss, series))
    return out


def short_n(n, _pos=None):
    """Tick label of a sample size: 500, 2k, 100k."""
    return "%gk" % (n / 1000) if n >= 1000 else "%g" % n


def draw_series(ax, gating, sel, colour):
    """Mean +-2 sd bars and the dashed fitted line of one gating."""
    mean = np.array([v.mean() for v in sel.samples])
    with np.errstate(over="ignore"):  # diverged fits can have losses near the float range
        sd = np.array([v.std(ddof=1) if len(v) > 1 else 0.0 for v in sel.samples])
    lower = mean - np.maximum(mean - 2 * sd, CLIP * mean)
    label = "%s (one n, no fit)" % gating
    if len(sel.n) >= 2:
        slope, _ = rates.fit(sel, "log-mean")
        x = np.log(sel.n.astype(float))
        intercept = np.mean(np.log(mean)) - slope * np.mean(x)
        ax.plot(sel.n, np.exp(intercept + slope * x), "--", color=colour, linewidth=1.2)
        label = "%s: slope %.2f" % (gating, slope)
    ax.errorbar(sel.n, mean, yerr=[lower, 2 * sd], fmt="o-", color=colour, capsize=3, markersize=4,
                linewidth=1, label=label)


def draw_panel(ax, expert, loss, series, colours):
    """One panel: every gating's series for an expert family and a loss."""
    for gating, sel in series:
        draw_series(ax, gating, sel, colours[gating])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(FuncFormatter(short_n))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("sample size n")
    ax.set_ylabel("loss (mean ± 2 sd)")
    ax.set_title("%s experts: %s" % (expert, loss))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize="small")


def figure(results, items):
    """The figure of `panels` items: one row per expert family, that expert's losses across."""
    rows = {}
    for expert, loss, series in items:
        rows.setdefault(expert, []).append((loss, series))
    ncols = max(len(r) for r in rows.values())
    fig, axes = plt.subplots(len(rows), ncols, figsize=(4.6 * ncols, 3.8 * len(rows)), squeeze=False,
                             constrained_layout=True)
    colours = {g: "C%d" % i for i, g in enumerate(results.gatings)}
    for axrow, (expert, row) in zip(axes, rows.items()):
        for c, ax in enumerate(axrow):
            if c < len(row):
                draw_panel(ax, expert, row[c][0], row[c][1], colours)
            else:
                ax.set_axis_off()
    fig.suptitle("%s: least-squares fits; dashed: fitted slope of log(mean loss)" % os.path.basename(results.path))
    return fig


def parser():
    p = argparse.ArgumentParser(prog="plot_rates.py", description=__doc__.split("\n\n")[0])
    p.add_argument("results", help="a moerate run results file (HDF5)")
    p.add_argument("-o", "--output", required=True, help="figure file (.png, .pdf or .svg)")
    p.add_argument("--losses", help="comma list of losses to plot (default: all with data)")
    p.add_argument("--n-min", type=int, help="smallest n plotted and fitted")
    return p


def main(argv=None):
    p = parser()
    opts = p.parse_args(argv)
    ext = os.path.splitext(opts.output)[1].lstrip(".").lower()
    if ext not in FORMATS:
        mr.fail(p.prog, "%s: unknown figure format (use .png, .pdf or .svg)" % opts.output)
    results = mr.load_or_exit(opts.results, p.prog)
    chosen = opts.losses.split(",") if opts.losses else results.losses
    unknown = [loss for loss in chosen if loss not in results.losses]
    if unknown:
        mr.fail(p.prog, "unknown loss %s (the file has %s)" % (", ".join(unknown), ", ".join(results.losses)))
    items = panels(results, chosen, opts.n_min)
    if not items:
        mr.fail(p.prog, "%s: no usable data: no converged replicate with these losses" % opts.results)
    figure(results, items).savefig(opts.output, dpi=120)
    print("wrote %s" % opts.output)


if __name__ == "__main__":
    main()
