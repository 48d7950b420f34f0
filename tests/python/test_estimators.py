"""Estimators fitted to the same data: P1's SGD against numpy, and several estimators in one run."""
import csv
import io
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import SOURCE, moerate
from moemodel import model_from_h5

# A tiny machinery truth (ill posed on purpose: these tests check the estimators, not rates).
SMALL = ["-d", "3", "-kstar", "2", "-k", "3", "-n", "300", "-truth_regime", "1", "-truth_expert_var", str(1 / 3),
         "-allow_ill_posed"]


def replicate(tmp_path, *args):
    out = tmp_path / "r.h5"
    moerate("fit", *SMALL, *args, "-output", out, check=True)
    return out


@pytest.mark.parametrize("gating", ["sigmoid", "softmax", "dts"])
def test_one_full_batch_sgd_step_matches_numpy(tmp_path, gating):
    """One epoch with one batch of all n rows is one gradient step: theta0 - lr J^T r / n on the free
    parameters (pinned ones stay 0), whatever the order the epoch draws."""
    out = replicate(tmp_path, "-gating", gating, "-estimator", "sgd", "-sgd_epochs", 1, "-sgd_batch", 300,
                    "-sgd_lr", 0.05, "-dts_fit_tau")
    with h5py.File(out, "r") as h:
        assert h["fit"].attrs["estimator"] == "sgd" and h["fit"].attrs["reason_name"] == "COMPLETED_EPOCHS"
        assert h["fit"].attrs["iterations"] == 1
        m = model_from_h5(h["model"])
        X, Y = h["data/X"][:], h["data/Y"][:]
        th0, th1 = h["init/theta"][:], h["fit/theta"][:]
        f, J = m.evaluate(th0, X, jacobian=True)
        step = 0.05 * J.T @ (f - Y) / len(Y)
        expect = np.where(m.pinned, 0.0, th0 - step)
        assert np.allclose(th1, expect, rtol=1e-10, atol=1e-13)
        assert m.objective(th1, X, Y) == pytest.approx(h["fit"].attrs["objective"], rel=1e-12)


def test_minibatch_sgd_is_deterministic_and_descends(tmp_path):
    a = replicate(tmp_path, "-estimator", "sgd", "-sgd_batch", 16)
    b = tmp_path / "b.h5"
    moerate("fit", *SMALL, "-estimator", "sgd", "-sgd_batch", 16, "-output", b, check=True)
    with h5py.File(a, "r") as ha, h5py.File(b, "r") as hb:
        assert np.array_equal(ha["fit/theta"][:], hb["fit/theta"][:])
        assert ha["fit"].attrs["iterations"] == 10 * 19  # 10 epochs of ceil(300 / 16) batches
        m = model_from_h5(ha["model"])
        X, Y = ha["data/X"][:], ha["data/Y"][:]
        assert m.objective(ha["fit/theta"][:], X, Y) < m.objective(ha["init/theta"][:], X, Y)


def test_sgd_options_are_checked(tmp_path):
    out = tmp_path / "r.h5"
    for args, message in ((["-sgd_lr", "0"], "-sgd_lr 0"), (["-sgd_batch", "0"], "-sgd_batch 0"),
                          (["-sgd_epochs", "0"], "-sgd_epochs 0"), (["-estimator", "adam"], "-estimator: unknown estimator 'adam'")):
        p = moerate("fit", *SMALL, *args, "-output", out)
        assert p.returncode == 2 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert not out.exists()


def test_estimators_share_the_data_and_lse_is_unchanged(tmp_path):
    """-estimator lse,sgd: every record says which estimator made it, both see the same replicates, and the
    least-squares fits are those of a run without sgd (bit for bit)."""
    grid = [*SMALL[:-3], "-n", "300,600", "-replicates", 2, "-gating", "softmax", "-truth_gating", "softmax",
            "-allow_ill_posed"]
    both, alone = tmp_path / "both.h5", tmp_path / "alone.h5"
    moerate("run", *grid, "-estimator", "lse,sgd", "-output", both, "-quiet", check=True, ranks=3)
    moerate("run", *grid, "-output", alone, "-quiet", check=True, ranks=2)
    with h5py.File(both, "r") as hb, h5py.File(alone, "r") as ha:
        assert [s.decode() if isinstance(s, bytes) else s for s in hb["grid/estimators"][:]] == ["lse", "sgd"]
        rb, ra = hb["tasks/records"][:], ha["tasks/records"][:]
        assert len(rb) == 2 * len(ra) and sorted(set(rb["estimator"])) == [0, 1]
        lse = rb["estimator"] == 0
        for field in ("n", "replicate", "seed", "objective", "iterations", "certified", "gap"):
            assert np.array_equal(rb[field][lse], ra[field], equal_nan=True), field
        assert np.array_equal(hb["tasks/theta"][:][lse], ha["tasks/theta"][:], equal_nan=True)
        sgd = rb["estimator"] == 1
        assert np.array_equal(rb["seed"][sgd], rb["seed"][lse])  # the same data
        assert np.all(rb["reason"][sgd] == 100) and int(hb["families/estimator/sgd"].attrs["theory"]) == 0
    p = subprocess.run([sys.executable, os.path.join(SOURCE, "analysis", "rates.py"), str(both), "--format", "csv"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert {row["fitted_by"] for row in csv.DictReader(io.StringIO(p.stdout))} == {"lse", "sgd"}


GAUSS = ["-model", "gaussian", "-estimator", "mle", "-d", "2", "-kstar", "2", "-k", "2", "-n", "1500",
         "-allow_ill_posed"]


@pytest.mark.parametrize("gating,expert", [("softmax", "linear"), ("dts", "relu"), ("hsoftmax", "tanh"),
                                           ("topk", "linear")])
def test_gaussian_likelihood_matches_numpy(tmp_path, gating, expert):
    """The Gaussian MoE's mean log-likelihood at the fit and at the truth, against a numpy implementation;
    the fit is certified: its likelihood is at least the truth's on the same data (up to -certify_tol)."""
    out = tmp_path / "g.h5"
    k = ["-k", 4, "-kstar", 4, "-hsoftmax_groups", 2, "-truth_hsoftmax_groups", 2] if gating == "hsoftmax" else []
    moerate("fit", *GAUSS, *k, "-gating", gating, "-expert", expert, "-dts_fit_tau", "-output", out, check=True)
    with h5py.File(out, "r") as h:
        assert h["fit"].attrs["estimator"] == "mle" and h["model"].attrs["model"] == "gaussian"
        m, tm = model_from_h5(h["model"]), model_from_h5(h["truth"][list(h["truth"])[0]])
        X, Y = h["data/X"][:], h["data/Y"][:]
        th, tth = h["fit/theta"][:], h["truth"][list(h["truth"])[0]]["theta"][:]
        assert -m.log_likelihood(th, X, Y) == pytest.approx(h["fit"].attrs["objective"], rel=1e-12)
        assert -tm.log_likelihood(tth, X, Y) == pytest.approx(h["fit"].attrs["ref_objective"], rel=1e-12)
        if gating != "topk":  # top-K: the selection makes the likelihood piecewise (issue 12, not yet handled)
            assert h["fit"].attrs["certified"] == 1
            assert h["fit"].attrs["objective"] <= h["fit"].attrs["ref_objective"] + 3 / (2 * len(Y))


def test_gaussian_data_are_drawn_from_the_mixture(tmp_path):
    """Y - f_G*(X) has the mixture's conditional variance sum_i g_i (sigma_i^2 + (h_i - f)^2), not the
    regression noise."""
    out = tmp_path / "g.h5"
    moerate("fit", *GAUSS, "-gating", "softmax", "-expert", "linear", "-n", 20000, "-truth_sigma", 0.2,
            "-output", out, check=True)
    with h5py.File(out, "r") as h:
        tm = model_from_h5(h["truth"][list(h["truth"])[0]])
        tth = h["truth"][list(h["truth"])[0]]["theta"][:]
        X, Y = h["data/X"][:], h["data/Y"][:]
        f = tm.evaluate(tth, X)
        g, hh = tm.last_gate, tm.last_h
        var = np.mean(np.sum(g * (0.2 ** 2 + (hh - f[:, None]) ** 2), axis=1))
        assert np.all(tm.sigmas(tth) == 0.2)
        assert np.var(Y - f) == pytest.approx(var, rel=0.05)


def test_mle_from_random_starts_reaches_the_truths_likelihood(tmp_path):
    """Started at random (no start near the truth; -certify_starts = -init_starts, so no repair from the
    truth), the best of 10 maximum-likelihood fits ends with a likelihood at least the truth's on the same data
    (5 random starts are not enough here: a random start can end in a local maximum, which is what the
    certificate is for)."""
    out = tmp_path / "g.h5"
    moerate("fit", *GAUSS, "-gating", "softmax", "-expert", "linear", "-init", "random", "-init_scale", 1,
            "-init_starts", 10, "-certify_starts", 10, "-output", out, check=True)
    with h5py.File(out, "r") as h:
        assert h["fit"].attrs["objective"] <= h["fit"].attrs["ref_objective"] + 1e-12
        assert h["fit"].attrs["certified"] == 1


def test_gaussian_model_is_checked(tmp_path):
    out = tmp_path / "g.h5"
    for args, message in ((["-model", "gaussian"], "-estimator lse estimates the regression model, but -model is gaussian"),
                          (["-estimator", "mle"], "-estimator mle estimates the gaussian model, but -model is regression"),
                          ([*GAUSS, "-gating", "sigmoid"], "-gating sigmoid: the Gaussian MoE needs gates that sum to one"),
                          ([*GAUSS, "-truth_sigma", "0"], "-truth_sigma 0"),
                          (["-model", "gauss"], "-model 'gauss' is not a model type")):
        p = moerate("fit", *SMALL, *args, "-output", out)
        assert p.returncode == 2 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert not out.exists()


P3 = ["-model", "gaussian", "-estimator", "mle", "-gating", "topk", "-expert", "linear", "-truth_file",
      os.path.join(SOURCE, "jobs", "specs", "truths", "p3_top1.yaml"), "-topk_K", "1", "-topk_rank_affine", "-k", "2",
      "-x_lo", "0", "-x_hi", "1", "-n", "2000", "-allow_ill_posed", "-losses", "l2,experts"]


def test_top1_fit_started_away_reaches_the_truths_likelihood(tmp_path):
    """P3's top-1 Gaussian MoE: from random starts (the selection boundary anywhere), the maximum-likelihood fit,
    which anneals a soft selection to the hard one, ends at or above the truth's likelihood on the same data;
    its experts' loss agrees with numpy."""
    out = tmp_path / "p3.h5"
    moerate("fit", *P3, "-init", "random", "-init_scale", 0.5, "-init_starts", 5, "-certify_starts", 5,
            "-output", out, check=True)
    with h5py.File(out, "r") as h:
        fit = h["fit"].attrs
        assert fit["certified"] == 1 and fit["objective"] <= fit["ref_objective"]
        m = model_from_h5(h["model"])
        tm = model_from_h5(h["truth/linear"])
        th, tth = h["fit/theta"][:], h["truth/linear/theta"][:]

        def experts(model, theta):
            A = theta[: model.k * model.stride].reshape(model.k, model.stride)
            return np.column_stack([A[:, 2], A[:, 4], A[:, 3]])  # a, sigma, b (d = 1)

        E, T = experts(m, th), experts(tm, tth)
        dist = np.linalg.norm(E[:, None, :] - T[None, :, :], axis=2)
        assert h["losses"].attrs["experts"] == pytest.approx(dist.min(axis=1).sum() + dist.min(axis=0).sum(), rel=1e-12)
        assert h["losses"].attrs["experts"] < 1  # a, b within a few standard errors at n = 2000

