#!/usr/bin/python3
"""Log-log convergence plots of a moerate results file, in the style of P1's Figure 1.

One panel per expert family and loss, one colour per gating: the mean loss over the converged and
certified replicate fits at each n (with --include-uncertified, every converged fit) with +-2
standard deviation bars (the lower end clipped at a tenth of the mean, to stay on the log axis),
and the fitted log(mean loss) line dashed, its slope and the number of fits in the legend.  Groups
measured against a G-bar that is not identified get no line: rates.py gives them no rate.
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
import rows  # noqa: E402
import slopes  # noqa: E402

FORMATS = ("png", "pdf", "svg")
CLIP = 0.1  # lower error bars end at least at CLIP x mean
CELLS = ("cells_exact", "cells_over", "cells_mass")  # the per-cell errors of --cells


def estimator_views(results, include_uncertified):
    """[(label suffix, view, include_uncertified)] per estimator: the suffix names the estimator when the file
    has several; an estimator the theory is not about (sgd) is shown with all its converged fits."""
    names = results.estimators
    return [("" if len(names) == 1 else " (%s)" % name, results.for_estimator(s),
             include_uncertified or not results.estimator_theory(name)) for s, name in enumerate(names)]


def panels(results, losses, n_min, include_uncertified=False):
    """[(expert, loss, [(label, Selection, note)])] for every expert and loss with data, in grid order; label:
    the gating (and the estimator when the file has several); note: why the group gets no rate (its G-bar is not
    identified), or ""."""
    out = []
    for e, expert in enumerate(results.experts):
        for loss in losses:
            li = results.losses.index(loss)
            series = [(gating + suffix, slopes.select(view, g, e, li, n_min, include_uncertified=inc),
                       rows.gbar_note(view, g, e, li))
                      for suffix, view, inc in estimator_views(results, include_uncertified)
                      for g, gating in enumerate(results.gatings) if view.loss_applies(g, e, li)]
            series = [item for item in series if item[1].used]
            if series:
                out.append((expert, loss, series))
    return out


def compare_panels(results, groups, n_min, include_uncertified=False):
    """P1's Figure 1 layout: per expert family one panel per group of (gating, loss) pairs, each group's series on
    one plot (e.g. the sigmoid fits' sigmoid_d3 beside the softmax fits' softmax_dlin, so that gatings are compared
    on one log-log plot; or one gating's per-cell errors).  Items as `panels`; series labels are "gating, loss"."""
    out = []
    for e, expert in enumerate(results.experts):
        for pairs in groups:
            series = []
            for suffix, view, inc in estimator_views(results, include_uncertified):
                for gating, loss in pairs:
                    g, li = results.gatings.index(gating), results.losses.index(loss)
                    if view.loss_applies(g, e, li):
                        sel = slopes.select(view, g, e, li, n_min, include_uncertified=inc)
                        if sel.used:
                            series.append(("%s, %s%s" % (gating, loss, suffix), sel, rows.gbar_note(view, g, e, li)))
            gatings = {gating for gating, _ in pairs}
            losses = [loss for _, loss in pairs]
            title = ("P1 Figure 1 comparison" if len(gatings) > 1 else "%s fits: per-cell errors" % pairs[0][0]
                     if all(loss.startswith("cells_") for loss in losses) else "%s fits: %s" % (pairs[0][0], ", ".join(losses)))
            if series:
                out.append((expert, title, series))
    return out


def short_n(n, _pos=None):
    """Tick label of a sample size: 500, 2k, 100k."""
    return "%gk" % (n / 1000) if n >= 1000 else "%g" % n


def fits_label(sel, include_uncertified):
    """How many fits a series shows: "30 certified fits", or "30 fits, 2 uncertified"."""
    if not include_uncertified:
        return "%d certified fits" % sel.used
    return "%d fits, %d uncertified" % (sel.used, max(sel.used - sel.certified, 0))


def draw_series(ax, gating, sel, colour, include_uncertified=False, note=""):
    """Mean +-2 sd bars and the dashed fitted line of one gating (no line when `note` says why not)."""
    mean = np.array([v.mean() for v in sel.samples])
    with np.errstate(over="ignore"):  # diverged fits can have losses near the float range
        sd = np.array([v.std(ddof=1) if len(v) > 1 else 0.0 for v in sel.samples])
    lower = mean - np.maximum(mean - 2 * sd, CLIP * mean)
    label = "%s (%s; %s)" % (gating, note or "one n, no fit", fits_label(sel, include_uncertified))
    if len(sel.n) >= 2 and not note:
        slope, _ = slopes.fit(sel, "log-mean")
        x = np.log(sel.n.astype(float))
        intercept = np.mean(np.log(mean)) - slope * np.mean(x)
        ax.plot(sel.n, np.exp(intercept + slope * x), "--", color=colour, linewidth=1.2)
        label = "%s: slope %.2f (%s)" % (gating, slope, fits_label(sel, include_uncertified))
    ax.errorbar(sel.n, mean, yerr=[lower, 2 * sd], fmt="o-", color=colour, capsize=3, markersize=4,
                linewidth=1, label=label)


def draw_panel(ax, expert, loss, series, colours, include_uncertified=False):
    """One panel: every gating's series for an expert family and a loss."""
    for gating, sel, note in series:
        draw_series(ax, gating, sel, colours[gating], include_uncertified, note)
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


def figure(results, items, include_uncertified=False):
    """The figure of `panels` items: one row per expert family, that expert's losses across."""
    rows = {}
    for expert, loss, series in items:
        rows.setdefault(expert, []).append((loss, series))
    ncols = max(len(r) for r in rows.values())
    fig, axes = plt.subplots(len(rows), ncols, figsize=(max(4.6 * ncols, 7.5), 3.8 * len(rows) + 0.4), squeeze=False,
                             constrained_layout=True)
    labels = list(dict.fromkeys(label for _, _, series in items for label, _, _ in series))
    colours = {label: "C%d" % i for i, label in enumerate(labels)}
    for axrow, (expert, row) in zip(axes, rows.items()):
        for c, ax in enumerate(axrow):
            if c < len(row):
                draw_panel(ax, expert, row[c][0], row[c][1], colours, include_uncertified)
            else:
                ax.set_axis_off()
    which = ("certified and uncertified converged fits" if include_uncertified
             else "certified fits only")
    fig.suptitle("%s: %s\ndashed: fitted slope of log(mean loss)" % (os.path.basename(results.path), which),
                 fontsize="medium")
    return fig


def parser():
    p = argparse.ArgumentParser(prog="plot_rates.py", description=__doc__.split("\n\n")[0])
    p.add_argument("results", help="a moerate run results file (HDF5)")
    p.add_argument("-o", "--output", required=True, help="figure file (.png, .pdf or .svg)")
    p.add_argument("--losses", help="comma list of losses to plot (default: all with data)")
    p.add_argument("--compare", metavar="GATING:LOSS,...", action="append",
                   help="P1's Figure 1 layout: one panel per expert family with these (gating, loss) series on "
                        "one plot, e.g. sigmoid:sigmoid_d3,softmax:softmax_dlin; given again, one more panel beside "
                        "it (e.g. softmax:cells_exact,softmax:cells_over,softmax:cells_mass)")
    p.add_argument("--cells", action="store_true",
                   help="per expert family, one panel per gating with its per-cell errors (cells_exact, cells_over, "
                        "cells_mass) on one plot")
    p.add_argument("--expert", help="plot only this expert family")
    p.add_argument("--n-min", type=int, help="smallest n plotted and fitted")
    p.add_argument("--include-uncertified", action="store_true",
                   help="plot converged fits that are not certified too (default: certified fits only)")
    return p


def main(argv=None):
    p = parser()
    opts = p.parse_args(argv)
    ext = os.path.splitext(opts.output)[1].lstrip(".").lower()
    if ext not in FORMATS:
        mr.fail(p.prog, "%s: unknown figure format (use .png, .pdf or .svg)" % opts.output)
    if not os.path.isdir(os.path.dirname(os.path.abspath(opts.output))):
        mr.fail(p.prog, "-o %s: no directory %s; create it or choose another path" % (
            opts.output, os.path.dirname(os.path.abspath(opts.output))))
    results = mr.load_or_exit(opts.results, p.prog)
    chosen = opts.losses.split(",") if opts.losses else results.losses
    unknown = [loss for loss in chosen if loss not in results.losses]
    if unknown:
        mr.fail(p.prog, "unknown loss %s (the file has %s)" % (", ".join(unknown), ", ".join(results.losses)))
    if opts.cells:
        names = [loss for loss in CELLS if loss in results.losses]
        if not names:
            mr.fail(p.prog, "--cells: %s has no per-cell losses (%s)" % (opts.results, ", ".join(CELLS)))
        opts.compare = [",".join("%s:%s" % (g, loss) for loss in names) for g in results.gatings]
    if opts.compare:
        groups = [[tuple(item.split(":", 1)) for item in group.split(",")] for group in opts.compare]
        bad = [":".join(pr) for pairs in groups for pr in pairs
               if len(pr) != 2 or pr[0] not in results.gatings or pr[1] not in results.losses]
        if bad:
            mr.fail(p.prog, "--compare %s: give GATING:LOSS pairs of the file's gatings (%s) and losses (%s)"
                    % (",".join(bad), ", ".join(results.gatings), ", ".join(results.losses)))
        items = compare_panels(results, groups, opts.n_min, opts.include_uncertified)
    else:
        items = panels(results, chosen, opts.n_min, opts.include_uncertified)
    if opts.expert:
        if opts.expert not in results.experts:
            mr.fail(p.prog, "--expert %s: the file's expert families are %s" % (opts.expert, ", ".join(results.experts)))
        items = [item for item in items if item[0] == opts.expert]
    if not items:
        mr.fail(p.prog, "%s: no usable data: no %s replicate with these losses%s"
                % (opts.results, "converged" if opts.include_uncertified else "converged and certified",
                   "" if opts.include_uncertified else " (--include-uncertified plots uncertified fits too)"))
    figure(results, items, opts.include_uncertified).savefig(opts.output, dpi=120)
    print("wrote %s" % opts.output)


if __name__ == "__main__":
    main()
