"""The normalised sigmoid gating of DeepSeek-V3 (`-gating nsigmoid`, src/gating/nsigmoid.c): the C model
against the numpy one of analysis/moemodel.py, as a regression model and as a Gaussian MoE (its gates sum to
one), and its per-cell losses with the sigmoid(beta0) weights."""
import h5py
import numpy as np
import pytest
from scipy.special import expit

import cells
from conftest import fd_jacobian, moerate
from moemodel import Model, model_from_h5

REGRESSION = ["-gating", "nsigmoid", "-truth_gating", "nsigmoid", "-expert", "relu", "-d", 3, "-kstar", 2, "-k", 3,
              "-n", 300, "-tao_max_it", 5, "-allow_ill_posed"]
GAUSS = ["-model", "gaussian", "-estimator", "mle", "-gating", "nsigmoid", "-truth_gating", "nsigmoid", "-expert",
         "linear", "-d", 2, "-kstar", 2, "-k", 2, "-n", 1500, "-allow_ill_posed"]


def truth_of(h):
    t = h["truth"][list(h["truth"])[0]]
    return model_from_h5(t), t["theta"][:]


def test_numpy_gates_and_jacobian():
    """The numpy twin: gates sigmoid(s_i) / sum_j sigmoid(s_j) that sum to one, finite for scores far beyond
    exp's range, and its Jacobian against central differences."""
    rng = np.random.default_rng(7)
    m = Model("nsigmoid", "tanh", 3, 2)
    assert not m.pinned.any() and m.nglobal == 0
    theta, X = rng.normal(0, 0.8, m.p), rng.uniform(-1, 1, (50, 2))
    f, J = m.evaluate(theta, X, jacobian=True)
    b1, b0, _ = m.atoms(theta)
    sig = expit(X @ b1.T + b0)
    assert np.allclose(m.last_gate, sig / sig.sum(axis=1, keepdims=True), rtol=1e-14, atol=0)
    assert np.allclose(m.last_gate.sum(axis=1), 1, rtol=0, atol=1e-15)
    assert np.allclose(J, fd_jacobian(m, theta, X), rtol=1e-6, atol=1e-8)
    far = theta.copy()
    far[[2, 2 + m.stride, 2 + 2 * m.stride]] = (-1000, -1200, 900)  # every sigmoid under- or overflows exp
    m.evaluate(far, X)
    assert np.all(np.isfinite(m.last_gate)) and np.allclose(m.last_gate.sum(axis=1), 1, rtol=0, atol=1e-15)
    assert np.array_equal(m.atom_weights(b0), expit(b0))


def test_regression_objective_matches_numpy(tmp_path):
    out = tmp_path / "r.h5"
    moerate("fit", *REGRESSION, "-output", out, check=True)
    with h5py.File(out, "r") as h:
        m = model_from_h5(h["model"])
        assert h["model"].attrs["gating"] == "nsigmoid" and not m.pinned.any()  # not shift invariant: nothing pinned
        X, Y = h["data/X"][:], h["data/Y"][:]
        th = h["fit/theta"][:]
        assert m.objective(th, X, Y) == pytest.approx(h["fit"].attrs["objective"], rel=1e-10)
        assert np.allclose(m.last_gate.sum(axis=1), 1, rtol=0, atol=1e-14)
        tm, tth = truth_of(h)
        assert tm.objective(tth, X, Y) == pytest.approx(h["fit"].attrs["ref_objective"], rel=1e-10)
        assert np.allclose(tm.last_gate.sum(axis=1), 1, rtol=0, atol=1e-14)
        # the family's natural losses are the per-cell ones, weighted by sigmoid(beta0) (its mass trait)
        losses = dict(h["losses"].attrs)
        assert "softmax_d1" not in losses and "sigmoid_d1" not in losses
        assert h["families/gating/nsigmoid"].attrs["mass"] == "sigmoid"
        expect = cells.cell_errors(m, th, tm, tth)
        assert np.isfinite(expect["cells_mass"]) and np.isfinite(expect["cells_over"])  # k = 3 > k* = 2
        for name in cells.NAMES:
            if np.isnan(expect[name]):
                assert np.isnan(losses[name]), name
            else:
                assert losses[name] == pytest.approx(expect[name], rel=1e-10, abs=1e-13), name


def test_gaussian_likelihood_matches_numpy(tmp_path):
    """The Gaussian MoE accepts the gating (its gates sum to one): the mean log-likelihood at the fit and at the
    truth against numpy, and the fit certified against the truth's likelihood."""
    out = tmp_path / "g.h5"
    moerate("fit", *GAUSS, "-output", out, check=True)
    with h5py.File(out, "r") as h:
        assert h["fit"].attrs["estimator"] == "mle" and h["model"].attrs["model"] == "gaussian"
        m, (tm, tth) = model_from_h5(h["model"]), truth_of(h)
        X, Y = h["data/X"][:], h["data/Y"][:]
        th = h["fit/theta"][:]
        assert -m.log_likelihood(th, X, Y) == pytest.approx(h["fit"].attrs["objective"], rel=1e-10)
        assert np.allclose(m.last_gate.sum(axis=1), 1, rtol=0, atol=1e-14)
        assert -tm.log_likelihood(tth, X, Y) == pytest.approx(h["fit"].attrs["ref_objective"], rel=1e-10)
        assert np.allclose(tm.last_gate.sum(axis=1), 1, rtol=0, atol=1e-14)
        assert h["fit"].attrs["certified"] == 1
