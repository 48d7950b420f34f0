#!/usr/bin/python3
"""Empirical convergence rates of a moerate results file, beside the theory rates.

For every (gating, expert, loss) group: the slope of log(mean loss) against log(n) (the papers'
estimator, "log-mean"), the slope of mean(log loss) ("mean-log"), a 95% percentile bootstrap
interval of the chosen estimator (replicates resampled with replacement within each n), R^2,
the n window and the replicates used, excluded (failed or skipped fits, uncertified fits, unusable
losses) and missing (pending tasks).  Only converged and certified replicate fits are used (a fit is
certified when its objective is at most -certify_tol units of noise/(2n) above the objective of its
reference point on the same data, so that it is the least-squares estimate the theory is about); --include-uncertified adds
the converged uncertified ones.  Reference fits are never used.  Every row says which evidence
criteria its rate meets (W: well posed, C: certified, I: interval), and rows measured against a
G-bar that is not identified get no rate.
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
from slopes import ESTIMATORS, bootstrap, fit, select, window  # the data selection and slopes

GBAR_TARGETS = ("G-bar", "f_G-bar")
CERTIFIED_SHARE = 0.99  # evidence C: this share of the finished replicate fits certified
MIN_REPLICATES = 5  # evidence I: used fits per sample size, on average
LIST_CAP = 50  # uncertified fits listed after the table
EVIDENCE_HELP = ("evidence: W = the truth is well posed (and, against G-bar, G-bar is identified); C = at least "
                 "%d%% of the group's finished replicate fits in the window are converged and certified; I = a 95%% "
                 "interval from >= 2 sample sizes and >= %d used fits per n on average; - = not met"
                 % (round(100 * CERTIFIED_SHARE), MIN_REPLICATES))

# --- theory --------------------------------------------------------------------------------
# expert families by the identifiability class their registry entry declares (/families/expert/<name>)
STRONG = frozenset({"strong"})  # strongly identifiable experts (P1 Def. 1)
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


# loss -> [(experts, setting, theory)]; setting "over" (k > k*), "exact" (k = k*), "matched" (the fit
# has the truth's families), "misspecified" (it has not) or None (any); the first matching rule
# applies, no match means no theory for that setting.
THEORY = {
    "l2": [(ALL_EXPERTS, None, Theory(Fraction(-1, 2), "L2 regression error against the fit's target (f_G* or "
                                      "f_G-bar), every setting (up to log)", "P1-P3"))],
    "l2_truth": [(ALL_EXPERTS, "matched", Theory(Fraction(-1, 2), "L2 error against f_G*, the fit has the truth's "
                                                 "families (up to log)", "P1-P3")),
                 (ALL_EXPERTS, "misspecified", Theory("none", "misspecified fit: tends to the positive L2 "
                                                      "distance between f_G-bar and f_G*", ""))],
    "sigmoid_d1": [(STRONG, "regime 1", Theory(Fraction(-1, 2), "sigmoid gating, strongly identifiable experts, "
                                               "beta1* = 0", "P1 Regime 1")),
                   (STRONG, "regime 2", Theory("none", "Regime 2 (beta1* != 0): the estimator converges to G-bar "
                                               "(sigmoid_d3), not to G*", "P1")),
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
    # the per-cell errors (src/loss/cells.c): the cells the papers' rates are about, kept apart
    "cells_exact": [(STRONG | {"linear"}, "misspecified", Theory(Fraction(-1, 2), "exactly specified cells of G-bar "
                                                                 "(every cell has one atom)", "P1 Regime 2")),
                    (STRONG, None, Theory(Fraction(-1, 2), "exactly specified cells, strongly identifiable experts",
                                          "P1, P2"))],
    "cells_over": [(STRONG, "over", Theory(Fraction(-1, 4), "over-specified cells, strongly identifiable experts",
                                           "P1, P2")),
                   (NONIDENTIFIABLE, "over", Theory(SLOWER, "over-specified cells, non-identifiable experts", "P1, P2"))],
    "cells_mass": [(STRONG, None, Theory(Fraction(-1, 2), "the cells' masses, strongly identifiable experts", "P1, P2"))],
}


# The Gaussian MoE fitted by maximum likelihood (P3 and the softmax-gating Gaussian MoE papers): exactly
# specified, the parameters converge at the parametric rate; over-specified, at rates set by rbar (the
# solvability of a polynomial system), not given here.
GAUSSIAN_EXACT = Theory(Fraction(-1, 2), "Gaussian MoE by maximum likelihood, exactly specified (k = k*): parametric",
                        "P3; Nguyen et al. 2023")
# P3 over-specified, a cell of two atoms (rbar(2) = 4): beta1 and b at n^-1/(2 rbar), a and sigma at n^-1/rbar
GAUSSIAN_OVER = {"cells_over_beta1": Fraction(-1, 8), "cells_over_b": Fraction(-1, 8), "cells_over_a": Fraction(-1, 4),
                 "cells_over_sigma": Fraction(-1, 4)}
GAUSSIAN_L2 = Theory(Fraction(-1, 2), "Gaussian MoE: the regression function f_G converges with the density (up to log)",
                     "P3")


def theory(loss, expert, k, kstar, matched=True, regime=1, model="regression"):
    """The Theory for a loss of a fit with experts of identifiability class `expert` ("strong", "linear" or
    "constant", as the expert family declares) and k atoms (its target has k* atoms), or None;
    `matched`: the fit has the truth's gating and expert families; `regime`: P1's regime of the truth
    (1: beta1* = 0)."""
    if model == "gaussian":
        if loss in ("l2", "l2_truth") and matched:
            return GAUSSIAN_L2
        if not matched:
            return None
        if loss == "cells_exact" or (k == kstar and loss in ("softmax_d1", "softmax_dlin", "topk", "experts", "experts_mass")):
            return GAUSSIAN_EXACT
        if k == kstar + 1 and loss in GAUSSIAN_OVER:
            return Theory(GAUSSIAN_OVER[loss], "Gaussian MoE, over-specified by one atom: a cell of two atoms (rbar = 4)", "P3")
        return None
    settings = {None, "over" if k > kstar else "exact" if k == kstar else None,
                "matched" if matched else "misspecified", "regime %d" % regime}
    for experts, needs, th in THEORY.get(loss, []):
        if expert in experts and needs in settings:
            return th
    return None


# --- evidence ------------------------------------------------------------------------------
def _sd(x):
    """A standard deviation for the reader: 0.24, inf (singular), or n/a (not recorded)."""
    return "n/a" if np.isnan(x) else "inf (singular)" if np.isinf(x) or x >= 1e300 else "%.2g" % x


def gbar_note(results, gating, expert, loss):
    """Why a group gets no rate because its target G-bar is not identified, or ""."""
    against_gbar = results.target(gating, expert, loss) in GBAR_TARGETS
    if not against_gbar or results.reference_identified(gating, expert) is not False:
        return ""
    return "G-bar not identified (sd %s)" % _sd(results.field("weak_sd")[results.reference(gating, expert)])


def evidence(results, gating, expert, loss, sel, row):
    """Which criteria a row's rate meets, e.g. "W C I" or "- C I" (see EVIDENCE_HELP)."""
    well = results.well_posed(expert) is True
    if results.target(gating, expert, loss) in GBAR_TARGETS:
        well = well and results.reference_identified(gating, expert) is True
    certified = sel.finished > 0 and sel.certified >= CERTIFIED_SHARE * sel.finished
    interval = (row["ci_low"] is not None and row["n_sizes"] >= 2
                and row["used"] >= MIN_REPLICATES * row["n_sizes"])
    return " ".join(letter if met else "-" for letter, met in (("W", well), ("C", certified), ("I", interval)))


def insufficient(sel, opts):
    """The note of a group with fewer than two sample sizes."""
    if sel.uncertified and not opts.include_uncertified:
        return "insufficient data (%d uncertified fits left out)" % sel.uncertified
    return "insufficient data"


# --- rows ----------------------------------------------------------------------------------
def rate_row(results, gating, expert, loss, opts):
    """The rate of one group as a flat dict (the CSV/JSON row)."""
    sel = select(results, gating, expert, loss, opts.n_min, opts.n_max, opts.include_uncertified)
    # "over-specified" is relative to the loss's target: G* has k* atoms, G-bar has k
    th = theory(results.losses[loss], results.expert_identifiability(expert), results.grid.get("k", 0),
                results.target_atoms(gating, expert, loss), results.matched(gating, expert),
                int(results.grid.get("truth_regime", 1)), str(results.grid.get("model", "regression")))
    row = {"gating": results.gatings[gating], "expert": results.experts[expert], "loss": results.losses[loss],
           "target": results.target(gating, expert, loss),
           "n_min": int(sel.n[0]) if len(sel.n) else None, "n_max": int(sel.n[-1]) if len(sel.n) else None,
           "n_sizes": len(sel.n), "used": sel.used, "excluded": sel.excluded, "missing": sel.missing,
           "certified": sel.certified, "uncertified": sel.uncertified,
           "slope_log_mean": None, "slope_mean_log": None, "slope_log_median": None, "estimator": opts.estimator,
           "ci_low": None, "ci_high": None, "r2": None,
           "theory": "" if th is None else str(th.rate), "theory_slope": None if th is None else th.slope,
           "theory_tag": "" if th is None else th.tag, "theory_reason": "" if th is None else th.reason,
           "contains": "n/a", "evidence": "", "note": gbar_note(results, gating, expert, loss)}
    if not row["note"] and len(sel.n) < 2:
        row["note"] = insufficient(sel, opts)
    if row["note"]:
        row["evidence"] = evidence(results, gating, expert, loss, sel, row)
        return row
    row["slope_log_mean"] = fit(sel, "log-mean")[0]
    row["slope_mean_log"] = fit(sel, "mean-log")[0]
    row["slope_log_median"] = fit(sel, "log-median")[0]
    row["r2"] = fit(sel, opts.estimator)[1]
    rng = np.random.default_rng([opts.seed, gating, expert, loss])
    row["ci_low"], row["ci_high"] = bootstrap(sel, opts.estimator, opts.bootstrap, rng)
    if th is not None and th.slope is not None:
        row["contains"] = "yes" if row["ci_low"] <= th.slope <= row["ci_high"] else "no"
    row["evidence"] = evidence(results, gating, expert, loss, sel, row)
    return row


def rate_rows(results, opts):
    """One row per (gating, expert, estimator, loss) group whose loss applies to the pair.  An estimator that is
    not the one the theory is about (sgd) is measured on all its converged fits: its certificate says how far
    from the least-squares estimate it stopped, which is the point of fitting it."""
    rows = []
    for s, name in enumerate(results.estimators):
        view = results.for_estimator(s)
        theory_estimator = results.estimator_theory(name)
        eopts = opts if theory_estimator else argparse.Namespace(**{**vars(opts), "include_uncertified": True})
        for g, e in view.pairs():
            for l in range(len(view.losses)):
                if view.loss_applies(g, e, l):
                    row = rate_row(view, g, e, l, eopts)
                    row["fitted_by"] = name
                    rows.append(row)
    return rows


def group_counts(results, opts):
    """Replicate task counts of every (gating, expert) pair inside the n window."""
    out = []
    for g, e in results.pairs():
        mask = window(results, g, e, opts.n_min, opts.n_max)
        s, certified, usable = results.records["status"][mask], results.certified()[mask], results.usable()[mask]
        out.append({"gating": results.gatings[g], "expert": results.experts[e], "tasks": int(mask.sum()),
                    "converged": int(np.sum(usable)),  # converged, or certified where the certificate suffices
                    "certified": int(np.sum(usable & certified)),
                    "uncertified": int(np.sum(usable & ~certified)),
                    "failed": int(np.sum(((s == mr.FAILED) | (s == mr.SKIPPED)) & ~usable)),
                    "pending": int(np.sum(s == mr.PENDING))})
    return out


def uncertified_fits(results, opts):
    """Every finished replicate fit in the window that is not certified, in task order, as dicts."""
    rec = results.records
    mask = np.zeros(len(rec), dtype=bool)
    for g, e in results.pairs():
        mask |= window(results, g, e, opts.n_min, opts.n_max)
    mask &= (rec["status"] != mr.PENDING) & ~results.certified()
    gap, starts = results.field("gap"), results.field("starts_used", -1)
    names = results.estimators
    est = results.field("estimator", 0).astype(int)
    return [{"id": int(rec["id"][i]), "gating": results.gatings[rec["gating"][i]], "fitted_by": names[est[i]],
             "expert": results.experts[rec["expert"][i]], "n": int(rec["n"][i]), "replicate": int(rec["replicate"][i]),
             "status": mr.STATUS_NAMES.get(int(rec["status"][i]), str(rec["status"][i])),
             "gap": float(gap[i]) if np.isfinite(gap[i]) else None,
             "starts_used": int(starts[i]) if starts[i] >= 0 else None} for i in np.flatnonzero(mask)]


def status_line(results):
    """'status incomplete: 37 of 50 tasks done (2 failed); 13 pending'"""
    c = results.status_counts()
    failed = "%d failed" % c["failed"] + (", %d skipped" % c["skipped"] if c["skipped"] else "")
    return "status %s: %d of %d tasks done (%s); %d pending" % (results.attrs.get("status", "unknown"), c["done"],
                                                                 c["total"], failed, c["pending"])


def certification_line(results, opts):
    """'certified: 98 of 100 converged replicate fits (gap <= -3 standard errors ...); rates use ...'"""
    rec = results.records
    converged = (rec["kind"] == mr.REPLICATE) & results.usable()
    use = ("rates use every converged fit (--include-uncertified)" if opts.include_uncertified
           else "rates use certified fits only")
    if not results.has_certificates:
        return ("certified: unknown: this file has no certificates (made before moerate certified its fits), so "
                "every fit counts as uncertified; %s" % (use if opts.include_uncertified
                                                         else "no rate uses them; --include-uncertified does"))
    tol = results.spec_option("certify_tol", "?")
    gap = ("2n (f_fit - f_ref), f the negative mean log-likelihood," if results.grid.get("model") == "gaussian"
           else "2n/noise (f_fit - f_ref)")
    suffices = [name for name in results.estimators if results.certificate_suffices(name)]
    if suffices:
        use += ("; a certified fit of %s counts as converged whatever its solver's stopping reason (the likelihood "
                "theory needs only a likelihood at least the truth's)" % ", ".join(suffices))
    return ("certified: %d of %d converged replicate fits (gap %s <= %s against the truth in k "
            "atoms, or G-bar for misspecified fits); %s" % (int(np.sum(converged & results.certified())),
                                                          int(converged.sum()), gap, tol, use))


# --- output ----------------------------------------------------------------------------------
def _num(x, fmt="%.3f"):
    return "" if x is None else fmt % x


def _cells(row):
    """The table cells of a row."""
    window = "" if row["n_min"] is None else "%d-%d" % (row["n_min"], row["n_max"])
    if row["note"]:
        slopes, ci = [row["note"], "", ""], ""
    else:
        slopes = [_num(row["slope_log_mean"]), _num(row["slope_mean_log"]), _num(row["slope_log_median"])]
        ci = "[%.3f, %.3f]" % (row["ci_low"], row["ci_high"])
    reason = row["theory_reason"] + (" [%s]" % row["theory_tag"] if row["theory_tag"] else "")
    return [row["gating"], row["expert"], row.get("fitted_by", "lse"), row["loss"], row["target"], window, str(row["n_sizes"]), str(row["used"]),
            str(row["excluded"]), str(row["missing"]), str(row["certified"]), str(row["uncertified"])] + slopes + [
                ci, _num(row["r2"]), row["theory"] or "none", row["contains"], row["evidence"], reason]


def weakest_sd(results, expert, eig):
    """The truth's sd along its weakest Fisher direction at the smallest n of the grid: the stored
    `weakest_sd`, else sqrt(noise / (n_min lambda_min)) (inf when the information is singular)."""
    stored = results.truths.get(expert, {}).get("weakest_sd")
    if stored is not None:
        return float(stored)
    lmin, lmax = float(eig[0]), float(eig[-1])
    if not lmin > 1e-12 * lmax:
        return float("inf")
    return (float(results.grid.get("noise", 0)) / (int(results.n[0]) * lmin)) ** 0.5


def verdict(attrs):
    """The screening verdict of a truth: "well posed", "ILL POSED: why", or that it is not recorded."""
    if "well_posed" not in attrs:
        return "not screened (the file predates screening)"
    return "well posed" if attrs["well_posed"] else "ILL POSED: %s" % attrs.get("screening", "no reason recorded")


def truth_line(results, expert):
    """One truth: its Fisher eigenvalue range, the sd along its weakest direction at the smallest n,
    the screening verdict and the draw."""
    attrs, eig = results.truths.get(expert, {}), results.fisher.get(expert)
    n_min = int(results.n[0]) if len(results.n) else 0
    if eig is None or len(eig) == 0:
        parts = ["no Fisher information stored"]
    else:
        parts = ["Fisher information eigenvalues %.2e .. %.2e" % (float(eig[0]), float(eig[-1])),
                 "sd along the weakest direction at n = %d (the smallest n): %s"
                 % (n_min, _sd(weakest_sd(results, expert, eig)))]
    parts.append(verdict(attrs))
    if "draw" in attrs:
        parts.append("draw %s (%s rejected)" % (attrs["draw"], attrs.get("draws_rejected", "?")))
    if attrs.get("source"):
        parts.append(str(attrs["source"]))
    return "truth %s: %s" % (expert, "; ".join(parts))


def reference_line(results, gating, expert):
    """One G-bar reference fit: identified or not, its weak_sd and noise-free objective; None without one."""
    i = results.reference(gating, expert)
    if i is None:
        return None
    rec = results.records[i]
    head = "G-bar %s/%s (reference fit, n = %d)" % (results.gatings[gating], results.experts[expert], rec["n"])
    if rec["status"] == mr.PENDING:
        return head + ": pending"
    ident = results.reference_identified(gating, expert)
    state = {True: "identified", False: "NOT identified", None: "identification not recorded"}[ident]
    n_min = int(results.n[0]) if len(results.n) else 0
    text = "%s: %s (%s); sd along its weakest Fisher direction at n = %d: %s; noise-free objective %.3e" % (
        head, state, mr.STATUS_NAMES.get(int(rec["status"]), "?"), n_min, _sd(results.field("weak_sd")[i]),
        rec["objective"])
    return text + ("; losses against it get no rate" if ident is False else "")


def fisher_lines(results):
    """How well the data pin the truths and the G-bar references down: one line per truth (Fisher
    eigenvalues, sd along the weakest direction at the smallest n, screening verdict, draw) and one
    per G-bar reference fit (identified or not); rates show only once those sds are small."""
    out = [truth_line(results, e) for e in sorted(set(results.fisher) | set(results.truths))]
    out += [line for line in (reference_line(results, g, e) for g, e in results.pairs()) if line]
    return out


def uncertified_lines(results, fits, opts):
    """The uncertified fits after the table, one a line, at most LIST_CAP lines."""
    if not results.has_certificates:
        return ["uncertified replicate fits: all %d finished ones (the file has no certificates)" % len(fits)]
    if not fits:
        return ["uncertified replicate fits in the window: none"]
    use = "included in the rates (--include-uncertified)" if opts.include_uncertified else "left out of the rates"
    lines = ["uncertified replicate fits in the window: %d (converged ones %s):" % (len(fits), use)]
    for f in fits[:LIST_CAP]:
        lines.append("  %s/%s%s n = %d replicate %d: %s, gap %s, %s starts"
                     % (f["gating"], f["expert"], "" if len(results.estimators) == 1 else " (%s)" % f["fitted_by"],
                        f["n"], f["replicate"], f["status"],
                        "n/a" if f["gap"] is None else "%.3g" % f["gap"],
                        "?" if f["starts_used"] is None else f["starts_used"]))
    if len(fits) > LIST_CAP:
        lines.append("  ... and %d more" % (len(fits) - LIST_CAP))
    return lines


def format_table(results, rows, groups, opts):
    """The readable report."""
    window = "n in [%s, %s]" % (opts.n_min if opts.n_min is not None else "min",
                                opts.n_max if opts.n_max is not None else "max")
    c = results.status_counts()
    lines = ["file %s" % results.path, status_line(results), certification_line(results, opts),
             "fits by: %s" % ", ".join("%s (%s)" % (name, results.families.get("estimator", {}).get(name, {}).get(
                 "meaning", "the least-squares estimator")) for name in results.estimators),
             "window %s; CI: 95%% percentile bootstrap of the %s slope, B = %d, seed %d"
             % (window, opts.estimator, opts.bootstrap, opts.seed)]
    if c["reference"]:
        lines.append("%d reference fits (G-bar) never used as replicates" % c["reference"])
    lines += fisher_lines(results)
    lines += ["", EVIDENCE_HELP]
    head = ["gating", "expert", "fit", "loss", "vs", "n window", "#n", "used", "excl", "miss", "cert", "uncert",
            "slope log-mean", "slope mean-log", "slope log-median", "95%% CI (%s)" % opts.estimator, "R2", "theory", "contains",
            "evidence", "reason"]
    table = [head] + [_cells(r) for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(head))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(t, widths)).rstrip() for t in table]
    shown = {(r["gating"], r["expert"]) for r in rows}
    for gr in groups:
        if (gr["gating"], gr["expert"]) not in shown:
            lines.append("%s/%s: no rows yet: %d replicate tasks, %d pending" % (gr["gating"], gr["expert"],
                                                                             gr["tasks"], gr["pending"]))
    lines += [""] + uncertified_lines(results, uncertified_fits(results, opts), opts)
    return "\n".join(lines) + "\n"


def format_csv(rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()) if rows else ["gating"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def format_json(results, rows, groups, opts):
    doc = {"file": results.path, "status": results.attrs.get("status", "unknown"), "status_line": status_line(results),
           "certification_line": certification_line(results, opts), "certificates": results.has_certificates,
           "tasks": results.status_counts(), "fits": results.estimators,
           "options": {"n_min": opts.n_min, "n_max": opts.n_max, "estimator": opts.estimator,
                       "bootstrap": opts.bootstrap, "seed": opts.seed,
                       "include_uncertified": opts.include_uncertified},
           "evidence": EVIDENCE_HELP, "fisher_lines": fisher_lines(results),
           "groups": groups, "rows": rows, "uncertified_fits": uncertified_fits(results, opts)}
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
    p.add_argument("--include-uncertified", action="store_true",
                   help="use converged fits that are not certified too (default: certified fits only)")
    return p


def main(argv=None):
    p = parser()
    opts = p.parse_args(argv)
    if opts.bootstrap < 1 or opts.seed < 0:
        p.error("--bootstrap must be positive and --seed non-negative")
    results = mr.load_or_exit(opts.results, p.prog)
    groups = group_counts(results, opts)
    if not any(g["converged"] for g in groups):
        mr.fail(p.prog, "%s: no usable data: no converged (or, for maximum likelihood, certified) replicate task in "
                "the window (%s)"
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
