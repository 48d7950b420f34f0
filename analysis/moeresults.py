"""Read a `moerate run` results file (docs/FORMAT.md) into numpy structures.

Works on partial files (a run still going, or interrupted): every task has a record from the
start, pending tasks have status 0 and NaN losses.  Shared by rates.py, plot_rates.py and
plot_timeline.py, which also use `load_or_exit` for their one-line command-line errors.
"""
import os
import sys
from dataclasses import dataclass

import h5py
import numpy as np

KIND = "moerate run"

# task record `status` and `kind` values
PENDING, CONVERGED, FAILED, SKIPPED = 0, 1, 2, 3
REPLICATE, REFERENCE = 0, 1


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

    def status_counts(self):
        """Counts of all tasks: total, done (not pending), converged, failed, skipped, pending, reference."""
        s = self.records["status"]
        return {"total": len(s), "done": int(np.sum(s != PENDING)), "converged": int(np.sum(s == CONVERGED)),
                "failed": int(np.sum(s == FAILED)), "skipped": int(np.sum(s == SKIPPED)),
                "pending": int(np.sum(s == PENDING)),
                "reference": int(np.sum(self.records["kind"] == REFERENCE))}

    def pairs(self):
        """(gating index, expert index) of every fitted pair, in grid order."""
        return [(g, e) for g in range(len(self.gatings)) for e in range(len(self.experts))]

    def replicates(self, gating, expert):
        """Mask of the replicate tasks (never the reference fits) of a (gating, expert) pair."""
        r = self.records
        return (r["kind"] == REPLICATE) & (r["gating"] == gating) & (r["expert"] == expert)

    def target(self, gating, expert, loss):
        """What a loss column compares a pair's fits with: "f_G*" (l2), "G*" (the fit has the
        truth's families) or "G-bar" (the pair's reference fit; always for sigmoid_d3)."""
        name = self.losses[loss]
        if name == "l2":
            return "f_G*"
        texpert = self.grid.get("truth_expert", "same")
        same = (self.gatings[gating] == self.grid.get("truth_gating")
                and texpert in ("same", self.experts[expert]))
        return "G*" if same and name != "sigmoid_d3" else "G-bar"

    def target_atoms(self, gating, expert, loss):
        """Atoms of the loss's target: k* for G*, k for G-bar (a fit of the same model)."""
        k = int(self.grid.get("k", 0))
        return int(self.grid.get("kstar", 0)) if self.target(gating, expert, loss) == "G*" else k

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


def _read(h, path):
    """Results from an open moerate run file; KeyError names a missing object."""
    for name in ("grid/gatings", "grid/experts", "grid/n", "grid/losses", "tasks/records", "tasks/losses"):
        if name not in h:
            raise KeyError(name)
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
                           if "fisher_eigenvalues" in h["truth"][e]})


def load(path):
    """Read a results file; raises ResultsError with a one-line message."""
    if not os.path.exists(path):
        raise ResultsError("%s: no such file" % path)
    try:
        h = h5py.File(path, "r")
    except OSError:
        raise ResultsError("%s: not an HDF5 file" % path) from None
    with h:
        kind = _python(h.attrs.get("kind", ""))
        if kind != KIND:
            raise ResultsError("%s: not a moerate run results file (kind %r)" % (path, kind))
        try:
            return _read(h, path)
        except KeyError as e:
            raise ResultsError("%s: not a moerate run results file (no /%s)" % (path, e.args[0])) from None


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
