"""The per-cell losses (src/loss/cells.c) against their numpy implementation (analysis/cells.py), from the
parameters moerate stores: single fits of every kind of cell, block and weight, and every task of a small
run of the README's default experiment (softmax fits against G*, sigmoid fits against G-bar)."""
import os

import h5py
import numpy as np
import pytest

from conftest import SOURCE, moerate
import cells
import moeresults as mr
from moemodel import model_from_h5

CELLS = ",".join(cells.NAMES)
# (name, arguments): over- and exactly specified, both weights, hierarchical locations, sigma, top-K,
# input-independent experts, a fitted temperature
DESIGNS = [
    ("softmax-gelu-over", ["-gating", "softmax", "-expert", "gelu", "-kstar", 3, "-k", 4]),
    ("softmax-linear-exact", ["-gating", "softmax", "-expert", "linear", "-kstar", 3, "-k", 3]),
    ("sigmoid-tanh-regime1", ["-gating", "sigmoid", "-expert", "tanh", "-truth_gating", "sigmoid",
                              "-truth_regime", 1, "-kstar", 2, "-k", 3]),
    ("hsoftmax-linear", ["-gating", "hsoftmax", "-expert", "linear", "-truth_gating", "hsoftmax", "-kstar", 2, "-k", 4,
                         "-hsoftmax_groups", 2, "-truth_hsoftmax_groups", 1]),
    ("topk-relu", ["-gating", "topk", "-expert", "relu", "-topk_K", 2, "-truth_topk_K", 2, "-kstar", 2, "-k", 3]),
    ("softmax-constant", ["-gating", "softmax", "-expert", "constant", "-kstar", 2, "-k", 3]),
    ("dts-fit-tau", ["-gating", "dts", "-expert", "relu", "-truth_gating", "dts", "-dts_fit_tau", "-kstar", 2, "-k", 3]),
    ("gaussian-softmax-linear", ["-model", "gaussian", "-estimator", "mle", "-gating", "softmax", "-expert", "linear",
                                 "-kstar", 2, "-k", 3, "-truth_sigma", 0.3]),
]


def check(stored, expect, where):
    for name in stored.keys() & set(cells.NAMES):
        got, want = stored[name], expect[name]
        if np.isnan(want):
            assert np.isnan(got), "%s %s: %r, numpy NaN" % (where, name, got)
        else:
            assert got == pytest.approx(want, rel=1e-10, abs=1e-13), "%s %s" % (where, name)


@pytest.mark.parametrize("name,args", DESIGNS, ids=[d[0] for d in DESIGNS])
def test_single_fit_matches_numpy(tmp_path, name, args):
    out = tmp_path / "r.h5"
    moerate("fit", *args, "-d", 2, "-n", 400, "-allow_ill_posed", "-tao_max_it", 20, "-losses", "l2," + CELLS,
            "-output", out, check=True)
    with h5py.File(out, "r") as h:
        tname = list(h["truth"])[0]
        expect = cells.cell_errors(model_from_h5(h["model"]), h["fit/theta"][:], model_from_h5(h["truth"][tname]),
                                   h["truth"][tname]["theta"][:])
        check(dict(h["losses"].attrs), expect, name)
        model = str(h["model"].attrs.get("model", "regression"))
    # every kind the design has is measured (the fit starts near the truth, so its cells keep their sizes)
    assert np.isfinite(expect["cells_mass"])
    if "-k" in args and args[args.index("-k") + 1] > args[args.index("-kstar") + 1]:
        assert np.isfinite(expect["cells_over"]) and np.isfinite(expect["cells_over_b"])
    assert np.isfinite(expect["cells_over_sigma"]) == (np.isfinite(expect["cells_over"]) and model == "gaussian")


def test_sigmoid_fit_against_gbar_matches_numpy(tmp_path):
    """A misspecified fit's cells lie around the atoms of its reference G-bar (k atoms: every cell exact)."""
    out = tmp_path / "r.h5"
    moerate("fit", "-gating", "sigmoid", "-expert", "relu", "-truth_gating", "softmax", "-truth_regime", 2, "-d", 2,
            "-kstar", 3, "-k", 4, "-n", 500, "-reference_n", 3000, "-allow_ill_posed", "-tao_max_it", 30,
            "-losses", "l2," + CELLS, "-output", out, check=True)
    with h5py.File(out, "r") as h:
        m = model_from_h5(h["model"])
        expect = cells.cell_errors(m, h["fit/theta"][:], m, h["reference/theta"][:])
        check(dict(h["losses"].attrs), expect, "sigmoid vs G-bar")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The README's default experiment at a smaller scale: 2 sizes, 3 replicates, over 3 ranks."""
    out = tmp_path_factory.mktemp("cells") / "default.h5"
    moerate("run", "-options_file_yaml", os.path.join(SOURCE, "jobs", "specs", "default.yaml"), "-n_count", 2, "-n_range", "1000,3000",
            "-replicates", 3, "-reference_n", 20000, "-output", out, "-quiet", ranks=3, check=True, timeout=900)
    return out


def test_run_file_cells_match_numpy_for_every_task(default_run):
    res = mr.load(str(default_run))
    col = {name: res.losses.index(name) for name in cells.NAMES if name in res.losses}
    assert {"cells_exact", "cells_over", "cells_mass"} <= col.keys()
    with h5py.File(default_run, "r") as h:
        theta, truth = h["tasks/theta"][()], h["truth/relu"]
        tmodel, ttheta = model_from_h5(truth), truth["theta"][()]
        models = {name: model_from_h5(h["models"][name]) for name in h["models"]}
    rec = res.records
    checked = {"softmax": 0, "sigmoid": 0}
    for i in np.flatnonzero((rec["kind"] == mr.REPLICATE) & (rec["status"] == mr.CONVERGED)):
        gating = res.gatings[rec["gating"][i]]
        m = models["%s__relu" % gating]
        th = theta[i, : m.p]
        if gating == "softmax":  # the truth's families: against G*
            expect = cells.cell_errors(m, th, tmodel, ttheta)
        else:  # against the pair's G-bar
            ref = res.reference(rec["gating"][i], rec["expert"][i])
            expect = cells.cell_errors(m, th, m, theta[ref, : m.p])
        check({name: res.values[i, c] for name, c in col.items()}, expect, "task %d" % rec["id"][i])
        checked[gating] += 1
    assert checked == {"softmax": 6, "sigmoid": 6}
