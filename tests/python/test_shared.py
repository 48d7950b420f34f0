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


@pytest.mark.parametrize("router", ["softmax", "nsigmoid"])
def test_shared_gaussian_moe_matches_numpy(tmp_path, router):
    """DeepSeek's linear design (truth 2), fitted with k1 = 2 shared and 3 routed experts: the likelihood at
    the fit and at the truth and every cells_* loss, per part too, against numpy; each part's gates sum to
    1/2; the shared atoms' slopes stay pinned at 0."""
    out = tmp_path / "s.h5"
    moerate("fit", "-options_file_yaml", os.path.join(SPECS, "deepseek_linear_quick.yaml"), "-n", 2000,
            "-shared_router", router, "-stability_replicates", 0, "-losses", LOSSES, "-output", out, check=True)
    with h5py.File(out, "r") as h:
        m, tg = model_from_h5(h["model"]), h["truth"][list(h["truth"])[0]]
        tm, tth = model_from_h5(tg), tg["theta"][:]
        X, Y, th = h["data/X"][:], h["data/Y"][:], h["fit/theta"][:]
        stored = dict(h["losses"].attrs)
        assert -m.log_likelihood(th, X, Y) == pytest.approx(h["fit"].attrs["objective"], rel=1e-12)
        assert -tm.log_likelihood(tth, X, Y) == pytest.approx(h["fit"].attrs["ref_objective"], rel=1e-12)
        assert h["fit"].attrs["certified"] == 1
    m.evaluate(th, X)
    assert np.allclose(m.last_gate[:, :2].sum(axis=1), 0.5) and np.allclose(m.last_gate[:, 2:].sum(axis=1), 0.5)
    assert th[0] == 0 and th[m.stride] == 0 and th[m.stride + 1] == 0  # shared slopes; the last shared beta0
    expect = cells.cell_errors(m, th, tm, tth)
    for name in cells.PART_NAMES + ("cells_exact", "cells_over", "cells_mass"):
        if np.isnan(expect[name]):
            assert np.isnan(stored[name]), name
        else:
            assert stored[name] == pytest.approx(expect[name], rel=1e-10, abs=1e-14), name
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


@pytest.mark.parametrize("args,message", [
    (["-shared_k1", 5], "-shared_k1 5 leaves no shared or no routed atom of k = 5"),
    (["-shared_router", "top2"], "-shared_router 'top2' is not a router"),
])
def test_bad_shared_options_are_refused(tmp_path, args, message):
    out = tmp_path / "s.h5"
    p = moerate("fit", "-options_file_yaml", os.path.join(SPECS, "deepseek_linear_quick.yaml"), "-n", 500,
                "-stability_replicates", 0, *args, "-output", out)
    assert p.returncode == 2 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not out.exists()
