"""How rates.py prints: the readable table with the file's status, certification and Fisher lines, CSV and
JSON.
"""
import csv
import io
import json

import numpy as np

import moeresults as mr
from rows import EVIDENCE_HELP, LIST_CAP, _sd, certification_line, status_line, uncertified_fits


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
    if "drift_rate" in attrs:  # not one truth: each n has its own, and the screening was of the smallest n's
        parts.append("MOVES WITH n: theta*(n) = theta + n^-%g drift (each task's truth: its record's truth_shift; "
                     "the losses are against it)" % float(attrs["drift_rate"]))
        sd = (results.truth_sd_by_n or {}).get(expert)
        if sd is not None and len(sd):
            parts.append("screened at each n against its truth: sd %.2g .. %.2g" % (float(np.min(sd)), float(np.max(sd))))
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
