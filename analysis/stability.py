#!/usr/bin/python3
"""The stability diagnostic: is a per-cell error a property of the estimator, or of the path that reached it?

Over-specified cells leave flat valleys: a certificate says a fit's objective is as low as the truth's, not
where its atoms sit.  A run with -stability_replicates R refits replicates 0..R-1 of every sample size from
-stability_starts further families of starts (restart tasks, FORMAT.md).  For each such replicate this script
takes its own fit and its restarts that are usable and certified, keeps those within one unit of the best
objective among them (gap - best gap <= 1: fits the data cannot tell apart), and measures, for every loss,
the spread (max - min) of the kept fits' losses against their median.  A group is unstable when at some n,
over at least MIN_SAMPLED replicates, the median spread is as large as the error itself (ratio >= 1): its rate
then describes the optimisation path, and its verdict is inconclusive (docs/results/verdict_rule.md).

    /usr/bin/python3 analysis/stability.py RESULTS.h5 [--losses cells_exact,cells_over]
"""
import argparse
import sys
from dataclasses import dataclass, field

import numpy as np

import moeresults as mr

UNIT = 1.0  # fits within this many certificate units of the best are indistinguishable by the objective
RATIO = 1.0  # unstable: the spread is as large as the error
MIN_SAMPLED = 3  # replicates with restarts at an n for its ratio to count


@dataclass
class StabilityRow:
    """The diagnostic of one (gating, expert, estimator, loss) group at one n."""

    n: int
    sampled: int  # replicates with at least two kept fits
    ratio: float  # median over them of spread / median loss of the kept fits
    spread: float  # median spread
    own_excess: float  # median of (the replicate's own fit's gap - the best gap found)
    own_behind: int  # replicates whose own fit is more than UNIT above the best found


@dataclass
class Stability:
    rows: list = field(default_factory=list)

    @property
    def measured(self):
        return any(r.sampled for r in self.rows)

    @property
    def worst(self):
        """The row with the largest ratio among those with enough sampled replicates, or None."""
        rows = [r for r in self.rows if r.sampled >= MIN_SAMPLED and np.isfinite(r.ratio)]
        return max(rows, key=lambda r: r.ratio) if rows else None

    @property
    def stable(self):
        """True, False, or None when the file has no (or too few) restarts for this group."""
        w = self.worst
        return None if w is None else bool(w.ratio < RATIO)


def groups_of_fits(results, gating, expert, estimator):
    """{(n, replicate): [task indices]}: the replicate task first, then its restarts, for replicates that have
    restarts."""
    rec = results.records
    if "restart" not in (rec.dtype.names or ()):
        return {}
    est = results.field("estimator", 0).astype(int)
    pair = (rec["gating"] == gating) & (rec["expert"] == expert) & (est == estimator)
    out = {}
    for i in np.flatnonzero(pair & (rec["kind"] == mr.RESTART)):
        out.setdefault((int(rec["n"][i]), int(rec["replicate"][i])), []).append(int(i))
    own = {(int(rec["n"][i]), int(rec["replicate"][i])): int(i) for i in np.flatnonzero(pair & (rec["kind"] == mr.REPLICATE))}
    return {key: [own[key]] + sorted(v) for key, v in out.items() if key in own}


def stability(results, gating, expert, loss, estimator=0):
    """The Stability of a group (loss: a column index)."""
    ok = results.usable() & results.certified()
    gap = results.field("gap")
    per_n = {}
    for (n, _), idx in sorted(groups_of_fits(results, gating, expert, estimator).items()):
        idx = [i for i in idx if ok[i] and np.isfinite(gap[i])]
        entry = per_n.setdefault(n, {"ratio": [], "spread": [], "excess": [], "behind": 0})
        if not idx:
            continue
        best = min(gap[i] for i in idx)
        own = idx[0] if results.records["kind"][idx[0]] == mr.REPLICATE else None
        if own is not None:
            entry["excess"].append(gap[own] - best)
            entry["behind"] += int(gap[own] - best > UNIT)
        values = np.array([results.values[i, loss] for i in idx if gap[i] - best <= UNIT])
        values = values[np.isfinite(values)]
        if len(values) < 2:
            continue
        spread, middle = float(values.max() - values.min()), float(np.median(values))
        entry["spread"].append(spread)
        entry["ratio"].append(spread / middle if middle > 0 else (0.0 if spread == 0 else np.inf))
    out = Stability()
    for n, e in sorted(per_n.items()):
        med = (lambda v: float(np.median(v)) if v else float("nan"))
        out.rows.append(StabilityRow(n=n, sampled=len(e["ratio"]), ratio=med(e["ratio"]), spread=med(e["spread"]),
                                     own_excess=med(e["excess"]), own_behind=e["behind"]))
    return out


def describe(st):
    """One line for a report: 'stable: spread/error at most 0.12 (n = 1000, 5 replicates)' or why not measured."""
    w = st.worst
    if w is None:
        return "not measured (no restarts)" if not st.measured else "too few replicates with restarts"
    behind = sum(r.own_behind for r in st.rows)
    tail = "; the replicate's own fit was more than %g unit above the best restart for %d replicate(s)" % (
        UNIT, behind) if behind else ""
    return "%s: median spread/error up to %.2f (n = %d, %d replicates)%s" % (
        "stable" if w.ratio < RATIO else "UNSTABLE", w.ratio, w.n, w.sampled, tail)


def main(argv=None):
    p = argparse.ArgumentParser(prog="stability.py", description=__doc__.split("\n\n")[0])
    p.add_argument("results", help="a moerate run results file (HDF5) made with -stability_replicates")
    p.add_argument("--losses", help="comma list of losses (default: every loss)")
    a = p.parse_args(argv)
    results = mr.load_or_exit(a.results, p.prog)
    names = a.losses.split(",") if a.losses else results.losses
    unknown = [x for x in names if x not in results.losses]
    if unknown:
        mr.fail(p.prog, "--losses: %s not in this file (it has %s)" % (",".join(unknown), ",".join(results.losses)))
    print("| gating | expert | fit | loss | n | replicates | median spread/error | median spread | own fit above best (median units) | own fit > %g unit behind |" % UNIT)
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s, est in enumerate(results.estimators):
        for g, e in results.pairs():
            for name in names:
                st = stability(results, g, e, results.losses.index(name), s)
                for r in st.rows:
                    if r.sampled:
                        print("| %s | %s | %s | %s | %d | %d | %.3g | %.3g | %.3g | %d |" % (
                            results.gatings[g], results.experts[e], est, name, r.n, r.sampled, r.ratio, r.spread,
                            r.own_excess, r.own_behind))
    return 0


if __name__ == "__main__":
    sys.exit(main())
