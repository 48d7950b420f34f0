#!/usr/bin/python3
"""A verdict on every claim of analysis/claims.toml, from the results files of its specs, by the rule of
docs/results/verdict_rule.md (written before the runs): consistent, inconsistent or inconclusive (with the
reason), with both slopes (log-mean and log-median) and their intervals, the evidence letters, the heavy-tail
share, the stability diagnostic and, for "slower than any polynomial" claims, the decade test.

    /usr/bin/python3 analysis/verdicts.py [--results DIR] [-o docs/results/verdicts.md]

DIR (default results/) holds SPEC.h5 for every spec the claims name (docs/results/make.sh makes them); a
claim whose file is missing is listed as not run.
"""
import argparse
import os
import sys
import zlib
from dataclasses import dataclass, field

import numpy as np

import claims as cl
import moeresults as mr
import rows
import slopes
import stability as stab

BOOTSTRAP = 2000
SEED = 0
HEAVY = 0.5  # heavy tails: the largest 10% of replicates carry more than half of some n's mean
RULE = "docs/results/verdict_rule.md"


@dataclass
class Measurement:
    """One group of a results file, measured as the rule says."""

    test: cl.Test
    missing: str = ""  # why it could not be measured ("" when it was)
    window: str = ""
    n_sizes: int = 0
    used: int = 0
    letters: str = "- - -"
    why_not_w: str = ""
    certified: str = ""  # "98 of 100"
    slope_mean: float = None
    ci_mean: tuple = None
    slope_median: float = None
    ci_median: tuple = None
    share: float = None  # the largest top-10% share over the window's n
    share_n: int = None
    decisive: str = "log-mean"
    stability: str = "not measured (no restarts)"
    stable: bool = None
    decade: slopes.DecadeTest = None
    boot: np.ndarray = None  # bootstrap slopes of the decisive statistic
    extra: dict = field(default_factory=dict)

    @property
    def w(self):
        return self.letters.split()[0] == "W"

    @property
    def c(self):
        return self.letters.split()[1] == "C"

    @property
    def i(self):
        return self.letters.split()[2] == "I"

    @property
    def slope(self):
        return self.slope_median if self.decisive == "log-median" else self.slope_mean

    @property
    def ci(self):
        return self.ci_median if self.decisive == "log-median" else self.ci_mean


def index_of(names, name, what, path):
    if name not in names:
        raise LookupError("%s has no %s %s (it has %s)" % (path, what, name, ", ".join(names)))
    return names.index(name)


def why_not_well_posed(results, g, e, loss):
    """The screening's reason (or G-bar's) in a few words."""
    note = rows.gbar_note(results, g, e, loss)
    if note:
        return note
    attrs = results.truths.get(results.truth_key(e), {})
    sd = attrs.get("weakest_sd")
    text = "the truth is ill posed"
    if sd is not None:
        text += " (sd along its weakest Fisher direction at the smallest n: %s)" % rows._sd(float(sd))
    return text


def measure(results, test, rng):
    """The Measurement of a test on its (loaded) results file."""
    m = Measurement(test=test)
    g = index_of(results.gatings, test.gating, "gating", results.path)
    e = index_of(results.experts, test.expert, "expert", results.path)
    loss = index_of(results.losses, test.loss, "loss", results.path)
    s = index_of(results.estimators, test.estimator, "estimator", results.path)
    view = results.for_estimator(s)
    theory_estimator = results.estimator_theory(test.estimator)
    sel = slopes.select(view, g, e, loss, include_uncertified=not theory_estimator)
    m.n_sizes, m.used = len(sel.n), sel.used
    m.certified = "%d of %d" % (sel.certified, sel.finished)
    if len(sel.n) == 0:
        m.missing = "no usable fits"
        return m
    m.window = "%d-%d" % (sel.n[0], sel.n[-1])
    row = {"ci_low": None, "n_sizes": len(sel.n), "used": sel.used}
    if len(sel.n) >= 2:
        m.slope_mean, m.slope_median = slopes.fit(sel, "log-mean")[0], slopes.fit(sel, "log-median")[0]
        x = np.log(sel.n.astype(float))
        boots = {}
        for est in ("log-mean", "log-median"):
            stats = slopes.resampled_statistics(sel, est, BOOTSTRAP, rng)
            xc = x - x.mean()
            boots[est] = (stats - stats.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
        m.ci_mean = tuple(np.percentile(boots["log-mean"], [2.5, 97.5]))
        m.ci_median = tuple(np.percentile(boots["log-median"], [2.5, 97.5]))
        row["ci_low"] = m.ci_mean[0]
        m.share, m.share_n = slopes.heavy_tail(sel)
        m.decisive = "log-median" if m.share > HEAVY else "log-mean"
        m.boot = boots[m.decisive]
        m.decade = slopes.decade_test(sel, m.decisive, BOOTSTRAP, rng)
    m.letters = rows.evidence(view, g, e, loss, sel, row)
    if not m.w:
        m.why_not_w = why_not_well_posed(view, g, e, loss)
    if theory_estimator:
        st = stab.stability(results, g, e, loss, s)
        m.stable, m.stability = st.stable, stab.describe(st)
    m.extra["n_min"], m.extra["n_max"] = int(sel.n[0]), int(sel.n[-1])
    return m


def gate(m, decades=1):
    """Steps 1-4 of the rule: the reason a measurement cannot decide, or ""."""
    if m.missing:
        return m.missing
    if not m.w:
        return "not well posed: " + m.why_not_w
    if not m.c:
        return "not certified: %s replicate fits converged and certified (C needs 99%%)" % m.certified
    if m.n_sizes < 3:
        return "too few sizes (%d)" % m.n_sizes
    if m.extra["n_max"] < 10 ** decades * m.extra["n_min"] * (1 - 1e-9):
        return "window too short (%s; %s)" % (m.window, "one decade needed" if decades == 1 else
                                              "the decade test needs two decades")
    if not m.i:
        return "too few replicates"
    if m.stable is False:
        return "unstable: " + m.stability
    return ""


def fmt(x, f="%.3f"):
    return "" if x is None else f % x


def interval(ci):
    return "" if ci is None else "[%.3f, %.3f]" % ci


@dataclass
class Verdict:
    claim: cl.Claim
    verdict: str
    reason: str
    m: Measurement = None
    against: Measurement = None
    detail: str = ""

    @property
    def wci(self):
        """Whether the verdict rests on W C I evidence (every group it uses meets all three)."""
        groups = [x for x in (self.m, self.against) if x is not None]
        return bool(groups) and all(not x.missing and x.w and x.c and x.i for x in groups)


def judge_rate(c, m):
    why = gate(m)
    if why:
        return "inconclusive", why, ""
    lo, hi = m.ci
    alpha = c.exponent
    detail = "decisive: %s slope %.3f %s, theory %s" % (m.decisive, m.slope, interval(m.ci), c.rate)
    if lo <= alpha <= hi:
        return "consistent", "the %s slope's interval %s contains %s" % (m.decisive, interval(m.ci), c.rate), detail
    side = "faster" if hi < alpha else "slower"
    return "inconsistent", "decays %s than %s: the %s slope's interval %s misses it by %.2f" % (
        side, c.rate, m.decisive, interval(m.ci), min(abs(lo - alpha), abs(hi - alpha))), detail


def judge_slower(c, m):
    why = gate(m, decades=2)
    if why:
        return "inconclusive", why, decade_text(m.decade)
    t = m.decade
    if t is None:
        return "inconclusive", "window too short: the decade test needs two sizes in each end decade", ""
    detail = decade_text(t)
    if t.ci_delta[0] > 0:
        return "consistent", "the decay flattens: s_last - s_first = %.3f %s > 0" % (t.delta, interval(t.ci_delta)), detail
    if t.ci_delta[0] <= 0 <= t.ci_delta[1] and t.ci_d_log[1] < 0:
        return "inconsistent", ("a constant polynomial rate over %s: s_last - s_first = %.3f %s contains 0, and the "
                                "last decade (slope %.3f %s) is steeper than any (log n)^-p allows (D = %.3f %s)" % (
                                    m.window, t.delta, interval(t.ci_delta), t.s_last, interval(t.ci_last), t.d_log,
                                    interval(t.ci_d_log))), detail
    return "inconclusive", "cannot tell: s_last - s_first = %.3f %s, D = %.3f %s" % (
        t.delta, interval(t.ci_delta), t.d_log, interval(t.ci_d_log)), detail


def decade_text(t):
    if t is None:
        return ""
    return ("decade test: first decade %d-%d slope %.3f %s, last decade %d-%d slope %.3f %s; s_last - s_first %.3f %s; "
            "log-rate ratio %.2f, D = s_last - ratio s_first %.3f %s; curvature %.3f" % (
                t.first[0], t.first[1], t.s_first, interval(t.ci_first), t.last[0], t.last[1], t.s_last,
                interval(t.ci_last), t.delta, interval(t.ci_delta), t.log_ratio, t.d_log, interval(t.ci_d_log),
                t.curvature))


def judge_faster(c, a, b):
    why = gate(a) or gate(b)
    if why:
        return "inconclusive", why, ""
    diff = a.boot - b.boot  # independent resamples of the two groups
    lo, hi = np.percentile(diff, [2.5, 97.5])
    detail = "%s %s slope %.3f %s against %s %s slope %.3f %s; difference %.3f [%.3f, %.3f]" % (
        a.test.gating, a.decisive, a.slope, interval(a.ci), b.test.gating, b.decisive, b.slope, interval(b.ci),
        a.slope - b.slope, lo, hi)
    if hi < 0:
        return "consistent", "faster: slope difference %.3f [%.3f, %.3f] < 0" % (a.slope - b.slope, lo, hi), detail
    if lo > 0:
        return "inconsistent", "slower, not faster: slope difference %.3f [%.3f, %.3f] > 0" % (a.slope - b.slope, lo, hi), detail
    return "inconclusive", "no difference shown: slope difference %.3f [%.3f, %.3f] contains 0" % (a.slope - b.slope, lo, hi), detail


class Files:
    """Results files by spec name, loaded once."""

    def __init__(self, directory):
        self.directory, self.cache = directory, {}

    def get(self, spec):
        if spec not in self.cache:
            path = os.path.join(self.directory, spec + ".h5")
            try:
                self.cache[spec] = mr.load(path) if os.path.exists(path) else None
            except mr.ResultsError as e:
                print("verdicts.py: warning: %s" % e, file=sys.stderr)
                self.cache[spec] = None
        return self.cache[spec]


def measured(files, test, rng):
    results = files.get(test.spec) if test.spec else None
    if results is None:
        return Measurement(test=test, missing="not run (no %s)" % os.path.join(files.directory, test.spec + ".h5")
                           if test.spec else "no test")
    try:
        return measure(results, test, rng)
    except LookupError as e:
        return Measurement(test=test, missing=str(e))


def judge(c, files, seed=SEED):
    rng = np.random.default_rng([seed, zlib.crc32(c.id.encode())])
    m = measured(files, c.test, rng)
    if c.kind == "faster":
        b = measured(files, c.against, rng)
        v, why, detail = judge_faster(c, m, b)
        return Verdict(c, v, why, m, b, detail)
    if c.kind == "slower":
        v, why, detail = judge_slower(c, m)
    elif c.kind == "none":
        v, why, detail = "no rate claimed", gate(m) or "measured: %s slope %s %s" % (
            m.decisive, fmt(m.slope), interval(m.ci)), ""
    else:
        v, why, detail = judge_rate(c, m)
    return Verdict(c, v, why, m, None, detail)


# --- the report -----------------------------------------------------------------------------
def theory_text(c):
    return {"slower": "slower than any n^-c", "faster": "faster than the other", "none": "none stated"}.get(c.rate, "n^" + c.rate)


def slope_cell(m):
    if m is None or m.slope_mean is None:
        return "", ""
    star = lambda est: "**" if m.decisive == est else ""
    return ("%s%.3f%s %s" % (star("log-mean"), m.slope_mean, star("log-mean"), interval(m.ci_mean)),
            "%s%.3f%s %s" % (star("log-median"), m.slope_median, star("log-median"), interval(m.ci_median)))


def escape_pipes(text):
    """A table cell's text with its pipes escaped (|x|, a norm, would end the cell)."""
    return str(text).replace("|", "\\|")


def table(verdicts):
    head = ("| claim | paper: what it says | setting | theory | test (spec: pair, loss) | log-mean slope [95%] | "
            "log-median slope [95%] | evidence | verdict | why |")
    lines = [head, "|" + "---|" * 10]
    for v in verdicts:
        c, m = v.claim, v.m
        mean, median = slope_cell(m)
        test = str(c.test) + ("; against %s" % c.against if c.against else "")
        setting = "%s; %s; %s; %s" % (c.gating, c.expert, c.specification, c.estimator)
        letters = m.letters if m and not m.missing else ""
        if v.against is not None and not v.against.missing:
            letters += " / " + v.against.letters
        lines.append("| %s | %s: %s | %s | %s | %s | %s | %s | %s | **%s** | %s |" % (
            c.id, c.paper, escape_pipes(c.theorem), escape_pipes(setting), theory_text(c), test, mean, median, letters,
            v.verdict, v.reason.replace("|", "/")))
    return lines


def compact(verdicts):
    """The short table of the README: claim, theory, the decisive slope with its interval, evidence, verdict."""
    lines = ["| claim | paper | theory | test | decisive slope [95%] | evidence | verdict |", "|" + "---|" * 7]
    for v in verdicts:
        m = v.m
        slope = "" if m is None or m.slope is None else "%.2f [%.2f, %.2f]%s" % (
            m.slope, m.ci[0], m.ci[1], " (median)" if m.decisive == "log-median" else "")
        letters = m.letters if m and not m.missing else ""
        if v.against is not None and not v.against.missing:
            letters += " / " + v.against.letters
        lines.append("| %s | %s | %s | %s: %s x %s, %s | %s | %s | %s |" % (
            v.claim.id, v.claim.paper, theory_text(v.claim), v.claim.test.spec, v.claim.test.gating,
            v.claim.test.expert, v.claim.test.loss, slope, letters, v.verdict))
    return lines


def details(verdicts):
    out = []
    for v in verdicts:
        c, m = v.claim, v.m
        parts = []
        for x in (m, v.against):
            if x is None or x.missing:
                continue
            parts.append("%s: n %s (%d sizes, %d fits used), certified %s; top-10%% share of the mean up to %s%s; "
                         "stability %s" % (x.test, x.window, x.n_sizes, x.used, x.certified, fmt(x.share, "%.2f"),
                                          " (n = %d)" % x.share_n if x.share_n else "", x.stability))
        if v.detail:
            parts.append(v.detail)
        if c.note:
            parts.append("note: " + c.note)
        out.append("- **%s** (%s): %s" % (c.id, v.verdict, "; ".join(parts) if parts else v.reason))
    return out


def report(verdicts, directory):
    n = len(verdicts)
    wci = sum(v.wci for v in verdicts)
    counts = {}
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    lines = ["# Verdicts on the papers' claims", "",
             "Made by `/usr/bin/python3 analysis/verdicts.py --results %s -o docs/results/verdicts.md` from the "
             "results files of `bash docs/results/make.sh 3 SPEC ...` (the specs of `analysis/claims.toml`), by the "
             "rule of [verdict_rule.md](verdict_rule.md), written before the runs. Bold slope: the decisive one "
             "(log-median when the largest 10%% of replicates carry more than half of some n's mean). Evidence: "
             "W well posed, C at least 99%% of the fits certified, I an interval from enough replicates (- not met; "
             "a comparison shows both groups)." % directory, "",
             "%d claims: %s. %d of %d rows (%.0f%%) rest on W C I evidence." % (
                 n, ", ".join("%d %s" % (k, name) for name, k in sorted(counts.items(), key=lambda t: -t[1])),
                 wci, n, 100.0 * wci / max(n, 1)), ""]
    lines += table(verdicts)
    lines += ["", "## Details", ""] + details(verdicts)
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="verdicts.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", default="results", help="directory of the results files SPEC.h5 (default results)")
    p.add_argument("--claims", default=cl.TABLE, help="the claims table (default analysis/claims.toml)")
    p.add_argument("-o", "--output", help="write the Markdown report here (default: standard output)")
    p.add_argument("--compact", action="store_true", help="only the short table (claim, theory, slope, evidence, verdict)")
    a = p.parse_args(argv)
    try:
        table_ = cl.load(a.claims)
    except (OSError, cl.ClaimsError) as e:
        mr.fail(p.prog, str(e))
    files = Files(a.results)
    verdicts = [judge(c, files) for c in table_]
    text = "\n".join(compact(verdicts)) + "\n" if a.compact else report(verdicts, a.results)
    if a.output:
        directory = os.path.dirname(os.path.abspath(a.output))
        if not os.path.isdir(directory):
            mr.fail(p.prog, "-o %s: no directory %s; create it or choose another path" % (a.output, directory))
        with open(a.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
