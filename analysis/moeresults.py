"""Read a `moerate run` results file (docs/FORMAT.md) into numpy structures.

Works on partial files (a run still going, or interrupted): every task has a record from the
start, pending tasks have status 0 and NaN losses.  Shared by rates.py, plot_rates.py and
plot_timeline.py, which also use `load_or_exit` for their one-line command-line errors.

Files written before moerate certified its fits have no `certified` field in their records:
`has_certificates` is then False and no task counts as certified (the scripts say so and use
such fits only when asked to, with --include-uncertified).
"""
import os
import sys
import dataclasses
from dataclasses import dataclass

import h5py
import numpy as np

KIND = "moerate run"

# task record `status` and `kind` values
PENDING, CONVERGED, FAILED, SKIPPED = 0, 1, 2, 3
STATUS_NAMES = {PENDING: "pending", CONVERGED: "converged", FAILED: "failed", SKIPPED: "skipped"}
REPLICATE, REFERENCE, RESTART = 0, 1, 2  # RESTART: the stability diagnostic's refits (analysis/stability.py)


class ResultsError(Exception):
    """The file cannot be read as moerate run results; the message is one line."""


@dataclass
class Results:
    """One results file.  `records[i]` and `values[i]` belong to task i."""

    path: str
    attrs: dict  # root attributes
    grid: dict  # /grid attributes (replicates, k, kstar, d, ...)
    gatings: list
    experts: list
    n: np.ndarray  # sample sizes of the grid, ascending
    losses: list
    loss_meanings: list
    records: np.ndarray  # structured, fields as /tasks/records
    values: np.ndarray  # tasks x losses, NaN where not applicable or not done
    sessions: np.ndarray  # structured, one row per invocation (may be empty)
    fisher: dict  # truth expert family -> eigenvalues of the truth's Fisher information (if stored)
    truths: dict  # truth expert family -> attributes of /truth/<expert> (well_posed, weakest_sd, screening, draw, ...)
    families: dict  # "gating"/"expert"/"estimator"/"loss" -> name -> traits from moerate's registries (/families)
    grid_estimators: list = None  # /grid/estimators
    truth_theta: dict = None  # truth expert family -> /truth/<expert>/theta
    truth_drift: dict = None  # truth expert family -> /truth/<expert>/drift, for a truth that moves with n
    truth_sd_by_n: dict = None  # truth expert family -> its screening sd at each n (a truth that moves with n)

    def task_truth(self, row):
        """The true parameters of task `row`: /truth/<expert>/theta, moved to the task's n when the truth moves
        with n (theta + truth_shift drift, truth_shift = n^-drift_rate from the task's record).  A file whose
        truth moves has no single truth: every comparison with it goes through this."""
        key = self.truth_key(int(self.records["expert"][row]))
        theta = np.asarray(self.truth_theta[key], dtype=float)
        drift = (self.truth_drift or {}).get(key)
        if drift is None:
            return theta
        return theta + float(self.field("truth_shift", 0.0)[row]) * np.asarray(drift, dtype=float)

    def truth_moves(self, expert):
        """Whether the truth of a pair with this expert index moves with n (drift_rate on /truth/<expert>)."""
        return "drift_rate" in self.truths.get(self.truth_key(expert), {})

    def expert_identifiability(self, expert):
        """The identifiability class of expert index `expert` as its family declares it: "strong", "linear" or
        "constant" (/families/expert/<name>; the theory rates follow from it, not from the family's name)."""
        name = self.experts[expert]
        traits = self.families.get("expert", {}).get(name)
        if traits is None:
            raise ResultsError("%s: no traits of expert family %s (/families): the file predates them; run the "
                               "experiment again with this moerate" % (self.path, name))
        return traits["identifiability"]

    def loss_target_kind(self, loss):
        """What loss column `loss` is measured against, as its registry declares: "function" (f_G*), "atoms" (G*
        when the fit has the truth's families, else G-bar) or "reference" (G-bar)."""
        traits = self.families.get("loss", {}).get(self.losses[loss])
        if traits is None:
            raise ResultsError("%s: no traits of loss %s (/families): the file predates them; run the experiment "
                               "again with this moerate" % (self.path, self.losses[loss]))
        return traits["target"]

    @property
    def has_certificates(self):
        """Whether the records have the `certified` field (files made before it do not)."""
        return "certified" in (self.records.dtype.names or ())

    def field(self, name, fill=np.nan):
        """A record field as an array, `fill` for every task when the file predates the field."""
        if name in (self.records.dtype.names or ()):
            return self.records[name]
        return np.full(len(self.records), fill)

    def certified(self):
        """Mask of the tasks with certified == 1: replicate fits whose objective is at most -certify_tol units
        of noise/(2n) above their reference point's on the same data, and identified G-bar references.  All False
        when the file has no certificates."""
        if not self.has_certificates:
            return np.zeros(len(self.records), dtype=bool)
        return self.records["certified"] == 1

    def spec_option(self, name, default=None):
        """The value (text) of `-name` in the run's canonical spec, or `default`."""
        for line in str(self.attrs.get("spec", "")).splitlines():
            key, _, value = line.strip().partition(" ")
            if key == "-" + name:
                return value.strip()
        return default

    def status_counts(self):
        """Counts of all tasks: total, done (not pending), converged, failed, skipped, pending, reference."""
        s = self.records["status"]
        return {"total": len(s), "done": int(np.sum(s != PENDING)), "converged": int(np.sum(s == CONVERGED)),
                "failed": int(np.sum(s == FAILED)), "skipped": int(np.sum(s == SKIPPED)),
                "pending": int(np.sum(s == PENDING)),
                "reference": int(np.sum(self.records["kind"] == REFERENCE))}

    @property
    def estimators(self):
        """The estimators fitted to the same data (/grid/estimators), ["lse"] for files made before there were
        several."""
        return list(self.grid_estimators) if self.grid_estimators else ["lse"]

    def estimator_theory(self, name):
        """Whether an estimator is the one the theory is about (its certified fits alone are evidence)."""
        return bool(self.families.get("estimator", {}).get(name, {}).get("theory", 1))

    def certificate_suffices(self, name):
        """Whether a certified fit of this estimator is usable even when its solver did not converge (the
        maximum-likelihood estimators: their theory needs only a likelihood at least the truth's)."""
        return bool(self.families.get("estimator", {}).get(name, {}).get("certificate_suffices", 0))

    def usable(self):
        """Mask of the tasks whose fit counts as finished by the estimator: converged, or, for an estimator
        whose certificate suffices, certified whatever its solver's stopping reason."""
        ok = self.records["status"] == CONVERGED
        if "estimator" in (self.records.dtype.names or ()) and self.has_certificates:
            for s, name in enumerate(self.estimators):
                if self.certificate_suffices(name):
                    ok |= (self.records["estimator"] == s) & (self.records["kind"] == REPLICATE) & self.certified()
        return ok

    def for_estimator(self, index):
        """A view of the file with the replicate tasks of one estimator (and every reference fit): the rates
        of each estimator are measured on its own fits of the same data."""
        if "estimator" not in (self.records.dtype.names or ()):
            return self
        keep = (self.records["kind"] == REFERENCE) | (self.records["estimator"] == index)
        return dataclasses.replace(self, records=self.records[keep], values=self.values[keep])

    def pairs(self):
        """(gating index, expert index) of every fitted pair, in grid order."""
        return [(g, e) for g in range(len(self.gatings)) for e in range(len(self.experts))]

    def replicates(self, gating, expert):
        """Mask of the replicate tasks (never the reference fits) of a (gating, expert) pair."""
        r = self.records
        return (r["kind"] == REPLICATE) & (r["gating"] == gating) & (r["expert"] == expert)

    def matched(self, gating, expert):
        """Whether the pair has the truth's gating and expert families (otherwise it is misspecified and
        its atom losses and `l2` are measured against its reference fit G-bar)."""
        texpert = self.grid.get("truth_expert", "same")
        return self.gatings[gating] == self.grid.get("truth_gating") and texpert in ("same", self.experts[expert])

    def target(self, gating, expert, loss):
        """What a loss column compares a pair's fits with: "f_G*" (l2_truth always, l2 when the fit has the
        truth's families), "f_G-bar" (l2 of a misspecified fit), "G*" (atom losses of a fit with the
        truth's families) or "G-bar" (atom losses otherwise, and sigmoid_d3 always)."""
        kind, matched = self.loss_target_kind(loss), self.matched(gating, expert)
        traits = self.families["loss"][self.losses[loss]]
        atoms = bool(traits.get("atoms", traits.get("voronoi", 1)))
        if kind == "function":
            return "f_G*"
        if not atoms:
            return "f_G*" if matched else "f_G-bar"
        return "G*" if matched and kind == "atoms" else "G-bar"

    def target_atoms(self, gating, expert, loss):
        """Atoms of the loss's target: k* for G* and f_G*, k for G-bar and f_G-bar (a fit of the same model)."""
        k = int(self.grid.get("k", 0))
        return int(self.grid.get("kstar", 0)) if self.target(gating, expert, loss) in ("G*", "f_G*") else k

    def truth_key(self, expert):
        """The /truth group (its expert family) of the truth a pair with this expert index is fitted to."""
        texpert = self.grid.get("truth_expert", "same")
        return self.experts[expert] if texpert in (None, "", "same") else texpert

    def well_posed(self, expert):
        """The screening verdict of the truth of a pair with this expert index: True, False, or None when
        the file does not record it."""
        value = self.truths.get(self.truth_key(expert), {}).get("well_posed")
        return None if value is None else bool(value)

    def reference(self, gating, expert):
        """Task index of the pair's reference fit G-bar, None when it has none."""
        r = self.records
        idx = np.flatnonzero((r["kind"] == REFERENCE) & (r["gating"] == gating) & (r["expert"] == expert))
        return int(idx[0]) if len(idx) else None

    def reference_identified(self, gating, expert):
        """Whether the pair's G-bar is identified: True, False (its finished reference task has
        certified == 0), or None (no reference task, still pending, or a file without certificates)."""
        i = self.reference(gating, expert)
        if i is None or not self.has_certificates or self.records["status"][i] == PENDING:
            return None
        return bool(self.records["certified"][i] == 1)

    def loss_applies(self, gating, expert, loss):
        """Whether loss column `loss` applies to the pair: it is finite for one of the pair's finished
        tasks, or, while none of them has finished, for a finished task of the same gating."""
        finite = np.isfinite(self.values[:, loss])
        pair = self.replicates(gating, expert) & (self.records["status"] != PENDING)
        if np.any(pair):
            return bool(np.any(finite & pair))
        return bool(np.any(finite & (self.records["gating"] == gating)))


def _python(value):
    """An attribute value as a plain Python object."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value.item() if isinstance(value, np.generic) else value


def _strings(dset):
    return [s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in dset[()]]


REQUIRED_FIELDS = ("id", "kind", "gating", "expert", "n", "replicate", "status")


def _check_layout(h, path):
    """The objects, shapes and traits the scripts rely on; ResultsError names the first one amiss."""
    for name in ("grid/gatings", "grid/experts", "grid/n", "grid/losses", "tasks/records", "tasks/losses"):
        if name not in h or not isinstance(h[name], h5py.Dataset):
            raise KeyError(name)
    rec, val = h["tasks/records"], h["tasks/losses"]
    missing = [f for f in REQUIRED_FIELDS if f not in (rec.dtype.names or ())]
    if rec.ndim != 1 or missing:
        raise ResultsError("%s: /tasks/records is not one record per task (%s)" % (
            path, "missing fields " + ", ".join(missing) if missing else "shape %s" % (rec.shape,)))
    if val.shape != (rec.shape[0], h["grid/losses"].shape[0]):
        raise ResultsError("%s: /tasks/losses has shape %s, not tasks x losses (%d x %d)" % (
            path, val.shape, rec.shape[0], h["grid/losses"].shape[0]))
    for kind, names in (("expert", _strings(h["grid/experts"])), ("loss", _strings(h["grid/losses"]))):
        absent = [x for x in names if "families/%s/%s" % (kind, x) not in h]
        if absent:
            raise ResultsError("%s: no traits of %s %s under /families: the file predates them or is damaged; run the "
                               "experiment again with this moerate" % (path, kind, ", ".join(absent)))


def _read(h, path):
    """Results from an open moerate run file; KeyError names a missing object."""
    _check_layout(h, path)
    losses = _strings(h["grid/losses"])
    meanings = _strings(h["grid/loss_meanings"]) if "grid/loss_meanings" in h else [""] * len(losses)
    sessions = h["sessions"][()] if "sessions" in h else np.zeros(0)
    return Results(path=path, attrs={k: _python(v) for k, v in h.attrs.items()},
                   grid={k: _python(v) for k, v in h["grid"].attrs.items()},
                   gatings=_strings(h["grid/gatings"]), experts=_strings(h["grid/experts"]),
                   n=np.asarray(h["grid/n"][()], dtype=np.int64), losses=losses, loss_meanings=meanings,
                   records=h["tasks/records"][()], values=np.asarray(h["tasks/losses"][()], dtype=float),
                   sessions=sessions,
                   fisher={e: h["truth"][e]["fisher_eigenvalues"][()] for e in h.get("truth", {})
                           if "fisher_eigenvalues" in h["truth"][e]},
                   truths={e: {k: _python(v) for k, v in h["truth"][e].attrs.items()} for e in h.get("truth", {})},
                   truth_theta={e: h["truth"][e]["theta"][()] for e in h.get("truth", {}) if "theta" in h["truth"][e]},
                   truth_drift={e: h["truth"][e]["drift"][()] for e in h.get("truth", {}) if "drift" in h["truth"][e]},
                   truth_sd_by_n={e: h["truth"][e]["weakest_sd_by_n"][()] for e in h.get("truth", {})
                                  if "weakest_sd_by_n" in h["truth"][e]},
                   grid_estimators=_strings(h["grid/estimators"]) if "grid/estimators" in h else None,
                   families={kind: {name: {k: _python(v) for k, v in h["families"][kind][name].attrs.items()}
                                    for name in h["families"][kind]} for kind in h.get("families", {})})


def warn_unmerged_journal(path):
    """PATH.journal holds results finished after the file's last whole write (a run in progress,
    or one that was killed): say so, since they are not in what is read here."""
    journal = str(path) + ".journal"
    if os.path.exists(journal) and os.path.getsize(journal) > JOURNAL_HEADER:
        print("warning: %s holds results not yet in %s (a run in progress or killed): rerun the same "
              "moerate command to merge them" % (journal, path), file=sys.stderr)


JOURNAL_HEADER = 72  # bytes; docs/FORMAT.md


def load(path):
    """Read a results file; raises ResultsError with a one-line message."""
    if not os.path.exists(path):
        raise ResultsError("%s: no such file" % path)
    warn_unmerged_journal(path)
    try:
        h = h5py.File(path, "r")
    except OSError:
        raise ResultsError("%s: not an HDF5 file" % path) from None
    with h:
        kind = _python(h.attrs.get("kind", ""))
        if kind != KIND:
            raise ResultsError("%s: not a moerate run results file (kind %r)" % (path, kind))
        try:
            results = _read(h, path)
        except KeyError as e:
            raise ResultsError("%s: not a moerate run results file (no /%s)" % (path, e.args[0])) from None
        except OSError as e:  # a Fletcher-32 checksum that fails, a truncated dataset
            raise ResultsError("%s: damaged: %s" % (path, str(e).splitlines()[0] if str(e) else "a dataset cannot be read"))
    n_idx = (len(results.gatings), len(results.experts))
    rec = results.records
    if len(rec) and (rec["gating"].max() >= n_idx[0] or rec["expert"].max() >= n_idx[1] or rec["gating"].min() < 0
                     or rec["expert"].min() < 0):
        raise ResultsError("%s: damaged: a record names a gating or expert the grid does not have" % path)
    return results


def fail(prog, message):
    """Print a one-line error to stderr and exit with status 2."""
    print("%s: error: %s" % (prog, message), file=sys.stderr)
    sys.exit(2)


def load_or_exit(path, prog):
    """`load`, turning a ResultsError into a one-line error and exit status 2."""
    try:
        return load(path)
    except ResultsError as e:
        fail(prog, str(e))
