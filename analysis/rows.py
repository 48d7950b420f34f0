"""The rows of rates.py: one rate per (gating, expert, estimator, loss) group of a results file, with the
replicates it uses, its slopes and interval, the theory rate and the evidence letters (W well posed, C
certified, I interval), and the counts and lines that say what the file holds.
"""
import argparse

import numpy as np

import moeresults as mr
from slopes import bootstrap, fit, select, window
from theory import theory

GBAR_TARGETS = ("G-bar", "f_G-bar")
CERTIFIED_SHARE = 0.99  # evidence C: this share of the finished replicate fits certified
MIN_REPLICATES = 5  # evidence I: used fits per sample size, on average
LIST_CAP = 50  # uncertified fits listed after the table
EVIDENCE_HELP = ("evidence: W = the truth is well posed (and, against G-bar, G-bar is identified); C = at least "
                 "%d%% of the group's finished replicate fits in the window are converged and certified; I = a 95%% "
                 "interval from >= 2 sample sizes and >= %d used fits per n on average; - = not met"
                 % (round(100 * CERTIFIED_SHARE), MIN_REPLICATES))


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
