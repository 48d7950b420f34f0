"""Slopes of a loss against n, with bootstrap intervals, and the diagnostics that say whether a slope can be
trusted: the replicates of a group (`select`), the per-n statistics (log of the mean, mean of the log, log of
the median), least-squares slopes and percentile bootstrap intervals (replicates resampled within each n),
the heavy-tail share, and the local slopes of the first and last decade of n (the test of the "slower than
any polynomial" claims, docs/results/verdict_rule.md).  Used by rates.py, verdicts.py and plot_rates.py.
"""
from dataclasses import dataclass

import numpy as np

import moeresults as mr

ESTIMATORS = ("log-mean", "mean-log", "log-median")
TOP_SHARE = 0.10  # the heavy-tail diagnostic: the share of each n's mean carried by its largest 10% of replicates


@dataclass
class Selection:
    """The replicates of one (gating, expert, loss) group inside the n window."""

    n: np.ndarray  # sample sizes with at least one used replicate, ascending
    samples: list  # the used losses at each of those n
    used: int
    excluded: int  # failed or skipped fits, uncertified fits left out, converged fits with a non-finite or zero loss
    missing: int  # pending tasks
    certified: int = 0  # converged and certified fits
    uncertified: int = 0  # converged fits that are not certified
    finished: int = 0  # replicate tasks not pending

    def restrict(self, n_min, n_max):
        """The same selection with only the sizes in [n_min, n_max] (counts of the whole window kept)."""
        keep = [i for i, s in enumerate(self.n) if n_min <= s <= n_max]
        return Selection(n=self.n[keep], samples=[self.samples[i] for i in keep],
                         used=sum(len(self.samples[i]) for i in keep), excluded=self.excluded, missing=self.missing,
                         certified=self.certified, uncertified=self.uncertified, finished=self.finished)


def window(results, gating, expert, n_min=None, n_max=None):
    """Mask of the replicate tasks of a (gating, expert) pair with n_min <= n <= n_max (None: no bound)."""
    n = results.records["n"]
    mask = results.replicates(gating, expert)
    if n_min is not None:
        mask &= n >= n_min
    if n_max is not None:
        mask &= n <= n_max
    return mask


def select(results, gating, expert, loss, n_min=None, n_max=None, include_uncertified=False):
    """Selection of the replicate tasks of a group with n_min <= n <= n_max: its converged and certified
    fits (with include_uncertified, every converged fit) with a finite positive loss."""
    rec = results.records
    mask = window(results, gating, expert, n_min, n_max)
    status, ns, v = rec["status"][mask], rec["n"][mask], results.values[mask, loss]
    converged, certified = results.usable()[mask], results.certified()[mask]
    with np.errstate(invalid="ignore"):
        ok = converged & (certified | include_uncertified) & np.isfinite(v) & (v > 0)
    missing = status == mr.PENDING
    sizes = np.unique(ns[ok])
    return Selection(n=sizes, samples=[v[ok & (ns == s)] for s in sizes], used=int(ok.sum()),
                     excluded=int(np.sum(~ok & ~missing)), missing=int(missing.sum()),
                     certified=int(np.sum(converged & certified)), uncertified=int(np.sum(converged & ~certified)),
                     finished=int(np.sum(~missing)))


def statistic(values, estimator):
    """Per-n statistic along the last axis: log(mean), mean(log) or log(median)."""
    if estimator == "log-mean":
        return np.log(np.mean(values, axis=-1))
    if estimator == "log-median":
        return np.log(np.median(values, axis=-1))
    return np.mean(np.log(values), axis=-1)


def _slope(x, y):
    xc = x - x.mean()
    return (y - y.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)


def fit(sel, estimator):
    """Least-squares (slope, R^2) of the per-n statistic against log n; needs two sample sizes."""
    x = np.log(sel.n.astype(float))
    y = np.array([statistic(v, estimator) for v in sel.samples])
    xc, yc = x - x.mean(), y - y.mean()
    slope = float(xc @ yc / (xc @ xc))
    ss_tot, ss_res = float(yc @ yc), float(np.sum((yc - slope * xc) ** 2))
    return slope, (1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0)


def resampled_statistics(sel, estimator, size, rng):
    """size x (number of n) per-n statistics of bootstrap resamples (replicates drawn with replacement within
    each n)."""
    return np.column_stack([statistic(v[rng.integers(0, len(v), size=(size, len(v)))], estimator)
                            for v in sel.samples])


def bootstrap(sel, estimator, size, rng):
    """95% percentile interval of the slope, resampling replicates within each n."""
    x = np.log(sel.n.astype(float))
    lo, hi = np.percentile(_slope(x, resampled_statistics(sel, estimator, size, rng)), [2.5, 97.5])
    return float(lo), float(hi)


def top_share(values, share=TOP_SHARE):
    """The part of the mean of `values` that its largest ceil(share * m) values carry (1/m ... 1)."""
    v = np.sort(np.asarray(values, dtype=float))[::-1]
    top = max(1, int(np.ceil(share * len(v))))
    total = v.sum()
    return float(v[:top].sum() / total) if total > 0 else float("nan")


def heavy_tail(sel):
    """(largest top share over the window's n, the n where it is reached)."""
    shares = [top_share(v) for v in sel.samples]
    i = int(np.nanargmax(shares))
    return shares[i], int(sel.n[i])


@dataclass
class DecadeTest:
    """Local slopes of the first and the last decade of n and their difference, with 95% bootstrap intervals;
    `log_ratio` is s_last / s_first under any rate (log n)^-p (a power of a logarithm), 1 under a polynomial."""

    first: tuple  # (n_lo, n_hi) of the first decade's sizes
    last: tuple
    s_first: float
    s_last: float
    ci_first: tuple
    ci_last: tuple
    delta: float  # s_last - s_first: 0 under a polynomial rate, > 0 when the decay flattens
    ci_delta: tuple
    log_ratio: float
    d_log: float  # s_last - log_ratio * s_first: 0 under (log n)^-p, < 0 when the last decade is steeper
    ci_d_log: tuple
    curvature: float  # quadratic coefficient of the statistic against log n over the whole window


def decade_test(sel, estimator, size, rng):
    """The test of docs/results/verdict_rule.md for a "slower than any polynomial" claim, or None when the
    window has fewer than two sizes in its first or last decade or spans less than two decades."""
    n = sel.n.astype(float)
    x = np.log(n)
    first = n <= n[0] * 10 * (1 + 1e-9)
    last = n >= n[-1] / 10 * (1 - 1e-9)
    if first.sum() < 2 or last.sum() < 2 or n[-1] < 100 * n[0]:
        return None
    point = np.array([statistic(v, estimator) for v in sel.samples])
    boot = resampled_statistics(sel, estimator, size, rng)
    s_first, s_last = float(_slope(x[first], point[first])), float(_slope(x[last], point[last]))
    b_first, b_last = _slope(x[first], boot[:, first]), _slope(x[last], boot[:, last])
    ratio = float(x[first].mean() / x[last].mean())

    def ci(values):
        lo, hi = np.percentile(values, [2.5, 97.5])
        return float(lo), float(hi)

    curvature = float(np.polyfit(x, point, 2)[0]) if len(x) >= 3 else float("nan")
    return DecadeTest(first=(int(n[first][0]), int(n[first][-1])), last=(int(n[last][0]), int(n[last][-1])),
                      s_first=s_first, s_last=s_last, ci_first=ci(b_first), ci_last=ci(b_last),
                      delta=s_last - s_first, ci_delta=ci(b_last - b_first), log_ratio=ratio,
                      d_log=s_last - ratio * s_first, ci_d_log=ci(b_last - ratio * b_first), curvature=curvature)
