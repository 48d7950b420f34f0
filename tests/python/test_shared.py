"""Shared and routed experts (the `shared` gating, DeepSeekMoE's design of arXiv 2505.10860): the objective
and the likelihood against numpy, the gates of each part, the pins, and the per-part Voronoi losses against
the numpy implementation in analysis/cells.py."""
import os

import h5py
import numpy as np
import pytest

import cells
from conftest import SOURCE, fd_jacobian, moerate
from moemodel import model_from_h5

SPECS = os.path.join(SOURCE, "jobs", "specs")
LOSSES = ",".join(cells.NAMES + cells.PART_NAMES)


def fit_against_numpy(tmp_path, spec, *args, certified=True):
    """moerate fit of one replicate of `spec` (n = 2000, every per-part loss): the likelihood at the fit and at
    the truth, the certificate's gap and every cells_* loss checked against numpy; returns the fitted model,
    theta, X and the losses."""
    out = tmp_path / "s.h5"
    moerate("fit", "-options_file_yaml", os.path.join(SPECS, spec), "-n", 2000, "-stability_replicates", 0,
            "-losses", LOSSES, "-output", out, *args, check=True)
    with h5py.File(out, "r") as h:
        m, tg = model_from_h5(h["model"]), h["truth"][list(h["truth"])[0]]
        tm, tth = model_from_h5(tg), tg["theta"][:]
        X, Y, th = h["data/X"][:], h["data/Y"][:], h["fit/theta"][:]
        stored = dict(h["losses"].attrs)
        assert -m.log_likelihood(th, X, Y) == pytest.approx(h["fit"].attrs["objective"], rel=1e-12)
        assert -tm.log_likelihood(tth, X, Y) == pytest.approx(h["fit"].attrs["ref_objective"], rel=1e-12)
        gap = 2 * len(Y) * (tm.log_likelihood(tth, X, Y) - m.log_likelihood(th, X, Y))
        assert h["fit"].attrs["gap"] == pytest.approx(gap, rel=1e-8, abs=1e-6)
        assert h["fit"].attrs["certified"] == certified
    expect = cells.cell_errors(m, th, tm, tth)
    for name in cells.PART_NAMES + ("cells_exact", "cells_over", "cells_mass"):
        if np.isnan(expect[name]):
            assert np.isnan(stored[name]), name
        else:
            assert stored[name] == pytest.approx(expect[name], rel=1e-10, abs=1e-14), name
    return m, th, X, stored


@pytest.mark.parametrize("router", ["softmax", "nsigmoid"])
def test_shared_gaussian_moe_matches_numpy(tmp_path, router):
    """DeepSeek's linear design (truth 2), fitted with k1 = 2 shared and 3 routed experts: the likelihood at
    the fit and at the truth and every cells_* loss, per part too, against numpy; each part's gates sum to
    1/2; the shared atoms' slopes stay pinned at 0."""
    m, th, X, stored = fit_against_numpy(tmp_path, "deepseek_linear_quick.yaml", "-shared_router", router)
    m.evaluate(th, X)
    assert np.allclose(m.last_gate[:, :2].sum(axis=1), 0.5) and np.allclose(m.last_gate[:, 2:].sum(axis=1), 0.5)
    assert th[0] == 0 and th[m.stride] == 0 and th[m.stride + 1] == 0  # shared slopes; the last shared beta0
    assert stored["cells_shared_mass"] == pytest.approx(0, abs=1e-12)  # the shared weights sum to one


def test_shared_regression_jacobian_matches_finite_differences():
    """The numpy twin's Jacobian of the shared gating (both routers) against central differences."""
    from moemodel import Model
    rng = np.random.default_rng(3)
    for router in ("softmax", "nsigmoid"):
        m = Model("shared", "tanh", 4, 2, "-shared_k1 2 -shared_router %s" % router)
        theta = rng.normal(size=m.p)
        theta[m.pinned] = 0
        X = rng.uniform(-1, 1, size=(7, 2))
        _, J = m.evaluate(theta, X, jacobian=True)
        assert np.allclose(J[:, m.free], fd_jacobian(m, theta, X)[:, m.free], rtol=1e-6, atol=1e-8), router


def test_shared_expert_family_of_its_own_matches_numpy(tmp_path):
    """DeepSeek's truth (4): srelu shared experts (-shared_expert srelu) beside linear routed ones, whose [a | b]
    sit at the ends of the longer eta block with the middle entry pinned to 0.  The likelihood at the fit and at
    the truth and every per-part cells_* loss against numpy; the padding stays 0 in the fit.  This replicate's fit lies 50 units below the truth's
    likelihood but a shared expert's sigma collapses (0.004), so it is not certified (a degenerate component)."""
    m, th, X, _ = fit_against_numpy(tmp_path, "deepseek_dense_quick.yaml", certified=False)
    assert m.atom_experts == ["srelu", "srelu", "linear", "linear", "linear"] and m.ne == 3 and m.stride == 6
    pad = [i * m.stride + 2 + 1 for i in range(2, 5)]  # the routed atoms' middle eta entry
    assert all(m.pinned[pad]) and not any(m.pinned[[i * m.stride + 3 for i in range(2)]]) and np.all(th[pad] == 0)
    # numpy's mixed experts: f against a hand evaluation of both families
    x = np.array([[-1.3], [0.4], [2.2]])
    h, _ = m.experts(x, m.atoms(th)[2])
    e = m.atoms(th)[2]
    assert np.allclose(h[:, 0], e[0, 1] * np.maximum(e[0, 0] * x[:, 0] + e[0, 2], 0))
    assert np.allclose(h[:, 3], e[3, 0] * x[:, 0] + e[3, 2])


def test_shared_expert_score_matches_finite_differences():
    """The numpy twin's Jacobian with two expert families against central differences (the C one is checked
    against its own differences by test_gradient, with -shared_expert relu); the padding's columns are 0."""
    from moemodel import Model
    rng = np.random.default_rng(5)
    for shared, routed in (("srelu", "linear"), ("relu", "srelu"), ("constant", "tanh")):
        m = Model("shared", routed, 5, 2, "-shared_k1 2 -shared_router nsigmoid -shared_expert %s" % shared)
        theta = rng.normal(size=m.p)
        theta[m.pinned] = 0
        X = rng.uniform(-1, 1, size=(7, 2))
        _, J = m.evaluate(theta, X, jacobian=True)
        assert np.allclose(J[:, m.free], fd_jacobian(m, theta, X)[:, m.free], rtol=1e-6, atol=1e-8), (shared, routed)
        pad = [i * m.stride + 3 + j for i, f in enumerate(m.atom_experts) for j in range(m.expert_size(f) - 1, m.ne - 1)]
        assert pad and not np.any(J[:, pad]), (shared, routed)


@pytest.mark.parametrize("args,message", [
    (["-shared_k1", 5], "-shared_k1 5 leaves no shared or no routed atom of k = 5"),
    (["-shared_router", "top2"], "-shared_router 'top2' is not a router"),
    (["-shared_expert", "cubic"], "-shared_expert 'cubic' is not an expert family: use one of"),
])
def test_bad_shared_options_are_refused(tmp_path, args, message):
    out = tmp_path / "s.h5"
    p = moerate("fit", "-options_file_yaml", os.path.join(SPECS, "deepseek_linear_quick.yaml"), "-n", 500,
                "-stability_replicates", 0, *args, "-output", out)
    assert p.returncode == 2 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not out.exists()


def sigmas(m, th):
    """Every atom's sigma in the full layout (the slot after eta)."""
    return np.array([th[(i + 1) * m.stride - 1] for i in range(m.k)])


def test_mle_sigma_floor_is_a_compact_parameter_space(tmp_path):
    """deepseek_linear's replicate 11 at n = 1200: the unbounded likelihood's fits collapse a sigma below the
    certificate's floor (a tenth of the truth's smallest sigma) from all 8 starts and are not certified;
    with -mle_sigma_floor every sigma stays at or above that floor, the fit is the maximum there and is
    certified (its likelihood and gap against numpy), and the spec records the setting."""
    common = ["-n", 1200, "-replicate", 11]
    m, th, _, _ = fit_against_numpy(tmp_path, "deepseek_linear.yaml", *common, certified=False)
    with h5py.File(tmp_path / "s.h5", "r") as h:
        tth = h["truth"][list(h["truth"])[0]]["theta"][:]
        tm = model_from_h5(h["truth"][list(h["truth"])[0]])
        assert "-mle_sigma_floor" not in h.attrs["spec"]
    floor = 0.1 * sigmas(tm, tth).min()
    assert sigmas(m, th).min() < floor
    m, th, _, _ = fit_against_numpy(tmp_path, "deepseek_linear.yaml", *common, "-mle_sigma_floor")
    assert sigmas(m, th).min() >= floor
    with h5py.File(tmp_path / "s.h5", "r") as h:
        assert "-mle_sigma_floor true" in h.attrs["spec"]


def test_mle_ftol_stops_where_the_window_gains_less_than_u(tmp_path):
    """-mle_ftol u -mle_ftol_window W (docs/results/mle_ftol.md): the fit stops with CONVERGED_FTOL at the
    first iteration K whose last W iterations gained less than u certificate units, checked against the
    same fit capped at K - W, K - 1 and K - W - 1 iterations without the test (TAO's iterates do not
    depend on the cap): 2n (f(K - W) - f(K)) < u <= 2n (f(K - W - 1) - f(K - 1)).  Off (the default), the
    fit goes on to TAO's gradient test; the spec records the test only when it is on."""
    common = ["fit", "-options_file_yaml", os.path.join(SPECS, "deepseek_relu_softmax.yaml"), "-n", 2154,
              "-replicate", 0, "-certify_starts", 1]
    u, W = 1e-5, 10

    def attrs(name, *args):
        out = tmp_path / name
        moerate(*common, *args, "-output", out, check=True)
        with h5py.File(out, "r") as h:
            return dict(h["fit"].attrs), h.attrs["spec"]

    fit, spec = attrs("on.h5", "-mle_ftol", u, "-mle_ftol_window", W)
    assert fit["reason_name"] == "CONVERGED_FTOL" and fit["status"] == "converged", fit
    assert "-mle_ftol 1.0000000000000001e-05\n-mle_ftol_window 10\n" in spec
    K, n = int(fit["iterations"]), 2154
    f = {k: attrs("cap%d.h5" % k, "-mle_ftol", 0, "-mle_tao_max_it", k)[0]["objective"] for k in (K - W - 1, K - W, K - 1, K)}
    assert f[K] == fit["objective"]
    assert 2 * n * (f[K - W] - f[K]) < u <= 2 * n * (f[K - W - 1] - f[K - 1])
    off, spec = attrs("off.h5", "-mle_ftol", 0)
    assert off["reason_name"] == "CONVERGED_GATOL" and off["iterations"] > K and "-mle_ftol" not in spec


@pytest.mark.parametrize("args, message", [(["-mle_ftol", -1], "-mle_ftol -1 must be a finite number of certificate units >= 0"),
                                           (["-mle_ftol", "1e-7", "-mle_ftol_window", 0], "-mle_ftol_window 0 must be at least 1")])
def test_mle_ftol_is_checked(tmp_path, args, message):
    out = tmp_path / "bad.h5"
    p = moerate("fit", "-options_file_yaml", os.path.join(SPECS, "deepseek_relu_softmax.yaml"), "-n", 500, *args, "-output", out)
    assert p.returncode == 2 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not out.exists()
