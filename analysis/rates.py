#!/usr/bin/python3
"""Empirical convergence rates of a moerate results file, beside the theory rates.

For every (gating, expert, loss) group: the slope of log(mean loss) against log(n) (the papers'
estimator, "log-mean"), the slope of mean(log loss) ("mean-log"), a 95% percentile bootstrap
interval of the chosen estimator (replicates resampled with replacement within each n), R^2,
the n window and the replicates used, excluded (failed or skipped fits, unusable losses) and
missing (pending tasks).  Only converged replicate tasks are used; reference fits never are.
"""
import argparse
import csv
import io
import json
import sys
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

import moeresults as mr

ESTIMATORS = ("log-mean", "mean-log")

# --- theory --------------------------------------------------------------------------------
STRONG = frozenset({"relu", "gelu", "sigmoid", "tanh"})  # strongly identifiable experts
NONIDENTIFIABLE = frozenset({"linear", "constant"})
ALL_EXPERTS = STRONG | NONIDENTIFIABLE
SLOWER = "slower than any n^-c"


@dataclass(frozen=True)
class Theory:
    """A theory rate: `rate` is the log-log slope (a Fraction) or a text when it is not polynomial."""

    rate: object
    reason: str
    tag: str

    @property
    def slope(self):
        """The slope as a float, None when there is no polynomial rate."""
        return float(self.rate) if isinstance(self.rate, Fraction) else None


# loss -> [(experts, specification, theory)]; specification "over" (k > k*), "exact" (k = k*) or
# None (either); the first matching rule applies, no match means no theory for that setting.
THEORY = {
    "l2": [(ALL_EXPERTS, None, Theory(Fraction(-1, 2), "L2 regression error, every setting (up to log)",
                                      "P1-P3"))],
    "sigmoid_d1": [(STRONG, None, Theory(Fraction(-1, 2), "sigmoid gating, strongly identifiable experts",
                                         "P1 Regime 1")),
                   (NONIDENTIFIABLE, None, Theory("no polynomial rate", "D1 needs strongly identifiable experts",
                                                  "P1"))],
    "sigmoid_d2": [(NONIDENTIFIABLE, None, Theory(SLOWER, "sigmoid gating, non-identifiable experts", "P1"))],
    "sigmoid_d3": [(STRONG | {"linear"}, None, Theory(Fraction(-1, 2), "sigmoid gating against G-bar",
                                                      "P1 Regime 2"))],
    "softmax_d1": [(STRONG, None, Theory(Fraction(-1, 2), "softmax-type gating, strongly identifiable experts",
                                         "P2/ICML 2024")),
                   (NONIDENTIFIABLE, None, Theory(SLOWER, "softmax-type gating, non-identifiable experts",
                                                  "P2/ICML 2024"))],
    "softmax_dlin": [(STRONG, "over", Theory(Fraction(-1, 4), "parameter error of over-specified atoms (k > k*)",
                                             "P2")),
                     (STRONG, "exact", Theory(Fraction(-1, 2), "parameter error, exactly specified (k = k*)",
                                              "P2")),
                     (NONIDENTIFIABLE, None, Theory(SLOWER, "softmax-type gating, non-identifiable experts",
                                                    "P2"))],
    "topk": [(STRONG, None, Theory(Fraction(-1, 2), "top-K sparse softmax, strongly identifiable experts", "P3"))],
}


def theory(loss, expert, k, kstar):
    """The Theory for a loss of a fit with these experts and k atoms (truth k*), or None."""
    spec = "over" if k > kstar else "exact" if k == kstar else None
    for experts, needs, th in THEORY.get(loss, []):
        if expert in experts and needs in (None, spec):
            return th
    return None


# --- data selection and slopes ---------------------------------------------------------------
@dataclass
class Selection:
    """The replicates of one (gating, expert, loss) group inside the n window."""

    n: np.ndarray  # sample sizes with at least one used replicate, ascending
    samples: list  # the used losses at each of those n
    used: int
    excluded: int  # failed or skipped fits, converged fits with a non-finite or zero loss
    missing: int  # pending tasks


def window(results, gating, expert, n_min=None, n_max=None):
    """Mask of the replicate tasks of a (gating, expert) pair with n_min <= n <= n_max (None: no bound)."""
    n = results.records["n"]
    mask = results.replicates(gating, expert)
    if n_min is not None:
        mask &= n >= n_min
    if n_max is not None:
        mask &= n <= n_max
    return mask


def select(results, gating, expert, loss, n_min=None, n_max=None):
    """Selection of the replicate tasks of a group with n_min <= n <= n_max."""
    rec = results.records
    mask = window(results, gating, expert, n_min, n_max)
    status, ns, v = rec["status"][mask], rec["n"][mask], results.values[mask, loss]
    with np.errstate(invalid="ignore"):
        ok = (status == mr.CONVERGED) & np.isfinite(v) & (v > 0)
    missing = status == mr.PENDING
    sizes = np.unique(ns[ok])
    return Selection(n=sizes, samples=[v[ok & (ns == s)] for s in sizes], used=int(ok.sum()),
                     excluded=int(np.sum(~ok & ~missing)), missing=int(missing.sum()))


def statistic(values, estimator):
    """Per-n statistic along the last axis: log(mean) or mean(log)."""
    if estimator == "log-mean":
        return np.log(np.mean(values, axis=-1))
    return np.mean(np.log(values), axis=-1)


def fit(sel, estimator):
    """Least-squares (slope, R^2) of the per-n statistic against log n; needs two sample sizes."""
    x = np.log(sel.n.astype(float))
    y = np.array([statistic(v, estimator) for v in sel.samples])
    xc, yc = x - x.mean(), y - y.mean()
    slope = float(xc @ yc / (xc @ xc))
    ss_tot, ss_res = float(yc @ yc), float(np.sum((yc - slope * xc) ** 2))
    return slope, (1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0)


def bootstrap(sel, estimator, size, rng):
    """95% percentile interval of the slope, resampling replicates within each n."""
    x = np.log(sel.n.astype(float))
    xc = x - x.mean()
    stats = np.column_stack([statistic(v[rng.integers(0, len(v), size=(size, len(v)))], estimator)
                             for v in sel.samples])
    lo, hi = np.percentile(stats @ xc / (xc @ xc), [2.5, 97.5])
    return float(lo), float(hi)


# --- rows ----------------------------------------------------------------------------------
def rate_row(results, gating, expert, loss, opts):
    """The rate of one group as a flat dict (the CSV/JSON row)."""
    sel = select(results, gating, expert, loss, opts.n_min, opts.n_max)
    # "over-specified" is relative to the loss's target: G* has k* atoms, G-bar has k
    th = theory(results.losses[loss], results.experts[expert], results.grid.get("k", 0),
                results.target_atoms(gating, expert, loss))
    row = {"gating": results.gatings[gating], "expert": results.experts[expert], "loss": results.losses[loss],
           "target": results.target(gating, expert, loss),
           "n_min": int(sel.n[0]) if len(sel.n) else None, "n_max": int(sel.n[-1]) if len(sel.n) else None,
           "n_sizes": len(sel.n), "used": sel.used, "excluded": sel.excluded, "missing": sel.missing,
           "slope_log_mean": None, "slope_mean_log": None, "estimator": opts.estimator,
           "ci_low": None, "ci_high": None, "r2": None,
           "theory": "" if th is None else str(th.rate), "theory_slope": None if th is None else th.slope,
           "theory_tag": "" if th is None else th.tag, "theory_reason": "" if th is None else th.reason,
           "contains": "n/a", "note": ""}
    if len(sel.n) < 2:
        row["note"] = "insufficient data"
        return row
    row["slope_log_mean"] = fit(sel, "log-mean")[0]
    row["slope_mean_log"] = fit(sel, "mean-log")[0]
    row["r2"] = fit(sel, opts.estimator)[1]
    rng = np.random.default_rng([opts.seed, gating, expert, loss])
    row["ci_low"], row["ci_high"] = bootstrap(sel, opts.estimator, opts.bootstrap, rng)
    if th is not None and th.slope is not None:
        row["contains"] = "yes" if row["ci_low"] <= th.slope <= row["ci_high"] else "no"
    return row


def rate_rows(results, opts):
    """One row per (gating, expert, loss) group whose loss applies to the pair."""
    return [rate_row(results, g, e, l, opts) for g, e in results.pairs()
            for l in range(len(results.losses)) if results.loss_applies(g, e, l)]


def group_counts(results, opts):
    """Replicate task counts of every (gating, expert) pair inside the n window."""
    out = []
    for g, e in results.pairs():
        mask = window(results, g, e, opts.n_min, opts.n_max)
        s = results.records["status"][mask]
        out.append({"gating": results.gatings[g], "expert": results.experts[e], "tasks": int(mask.sum()),
                    "converged": int(np.sum(s == mr.CONVERGED)),
                    "failed": int(np.sum((s == mr.FAILED) | (s == mr.SKIPPED))),
                    "pending": int(np.sum(s == mr.PENDING))})
    return out


def status_line(results):
    """'status incomplete: 37 of 50 tasks done (2 failed); 13 pending'"""
    c = results.status_counts()
    failed = "%d failed" % c["failed"] + (", %d skipped" % c["skipped"] if c["skipped"] else "")
    return "status %s: %d of %d tasks done (%s); %d pending" % (results.attrs.get("status", "unknown"), c["done"],
                                                                 c["total"], failed, c["pending"])


# --- output ----------------------------------------------------------------------------------
def _num(x, fmt="%.3f"):
    return "" if x is None else fmt % x


def _cells(row):
    """The table cells of a row."""
    window = "" if row["n_min"] is None else "%d-%d" % (row["n_min"], row["n_max"])
    if row["note"]:
        slopes, ci = [row["note"], ""], ""
    else:
        slopes = [_num(row["slope_log_mean"]), _num(row["slope_mean_log"])]
        ci = "[%.3f, %.3f]" % (row["ci_low"], row["ci_high"])
    reason = "%s [%s]" % (row["theory_reason"], row["theory_tag"]) if row["theory_tag"] else ""
    return [row["gating"], row["expert"], row["loss"], row["target"], window, str(row["n_sizes"]), str(row["used"]),
            str(row["excluded"]), str(row["missing"])] + slopes + [ci, _num(row["r2"]), row["theory"] or "none",
                                                                   row["contains"], reason]


def fisher_lines(results):
    """How well the data pin the truth down: the smallest eigenvalue of its Fisher information and
    the standard deviation it implies along that direction at the largest n; rates show only once
    that is small."""
    noise, n = float(results.grid.get("noise", 0)), int(results.n[-1]) if len(results.n) else 0
    out = []
    for expert, eig in sorted(results.fisher.items()):
        lmin, lmax = float(eig[0]), float(eig[-1])
        head = "truth %s: Fisher information eigenvalues %.2e .. %.2e" % (expert, lmin, lmax)
        if lmin <= 1e-12 * lmax:
            out.append(head + ": singular, some direction of the truth is not identified at all")
        else:
            out.append(head + "; at n = %d the estimate's sd along the weakest direction is about %.2g"
                       % (n, (noise / (n * lmin)) ** 0.5))
    return out


def format_table(results, rows, groups, opts):
    """The readable report."""
    window = "n in [%s, %s]" % (opts.n_min if opts.n_min is not None else "min",
                                opts.n_max if opts.n_max is not None else "max")
    c = results.status_counts()
    lines = ["file %s" % results.path, status_line(results),
             "fits: %s" % results.attrs.get("estimator", "unknown estimator"),
             "window %s; CI: 95%% percentile bootstrap of the %s slope, B = %d, seed %d"
             % (window, opts.estimator, opts.bootstrap, opts.seed)]
    if c["reference"]:
        lines.append("%d reference fits (G-bar) never used as replicates" % c["reference"])
    lines += fisher_lines(results)
    lines.append("")
    head = ["gating", "expert", "loss", "vs", "n window", "#n", "used", "excl", "miss", "slope log-mean",
            "slope mean-log", "95%% CI (%s)" % opts.estimator, "R2", "theory", "contains", "reason"]
    table = [head] + [_cells(r) for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(head))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(t, widths)).rstrip() for t in table]
    shown = {(r["gating"], r["expert"]) for r in rows}
    for gr in groups:
        if (gr["gating"], gr["expert"]) not in shown:
            lines.append("%s/%s: no rows yet: %d replicate tasks, %d pending" % (gr["gating"], gr["expert"],
                                                                             gr["tasks"], gr["pending"]))
    return "\n".join(lines) + "\n"


def format_csv(rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()) if rows else ["gating"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def format_json(results, rows, groups, opts):
    doc = {"file": results.path, "status": results.attrs.get("status", "unknown"), "status_line": status_line(results),
           "tasks": results.status_counts(), "fits": results.attrs.get("estimator", ""),
           "options": {"n_min": opts.n_min, "n_max": opts.n_max, "estimator": opts.estimator,
                       "bootstrap": opts.bootstrap, "seed": opts.seed},
           "groups": groups, "rows": rows}
    return json.dumps(doc, indent=1) + "\n"


def parser():
    p = argparse.ArgumentParser(prog="rates.py", description=__doc__.split("\n\n")[0])
    p.add_argument("results", help="a moerate run results file (HDF5)")
    p.add_argument("--n-min", type=int, help="smallest n of the fit window")
    p.add_argument("--n-max", type=int, help="largest n of the fit window")
    p.add_argument("--estimator", choices=ESTIMATORS, default="log-mean",
                   help="slope used by the interval, R^2 and 'contains' (default log-mean, the papers')")
    p.add_argument("--bootstrap", type=int, default=2000, metavar="B", help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    return p


def main(argv=None):
    p = parser()
    opts = p.parse_args(argv)
    if opts.bootstrap < 1 or opts.seed < 0:
        p.error("--bootstrap must be positive and --seed non-negative")
    results = mr.load_or_exit(opts.results, p.prog)
    groups = group_counts(results, opts)
    if not any(g["converged"] for g in groups):
        mr.fail(p.prog, "%s: no usable data: no converged replicate task in the window (%s)"
                % (opts.results, status_line(results)))
    rows = rate_rows(results, opts)
    if opts.format == "csv":
        sys.stdout.write(format_csv(rows))
    elif opts.format == "json":
        sys.stdout.write(format_json(results, rows, groups, opts))
    else:
        sys.stdout.write(format_table(results, rows, groups, opts))


if __name__ == "__main__":
    main()
