"""The cosine router (`-gating cosine`, src/gating/cosine.c): the C model against the numpy one of
analysis/moemodel.py, its options' errors, and a certified near-truth fit."""
import re

import h5py
import numpy as np
import pytest

from conftest import moerate
from moemodel import model_from_h5, parse_options

SMALL = ["-gating", "cosine", "-expert", "relu", "-d", 3, "-kstar", 2, "-k", 4, "-n", 200, "-tao_max_it", 5,
         "-allow_ill_posed"]


@pytest.mark.parametrize("tau,K", [("0.1", 0), ("0", 0), ("0.1", 2)])
def test_objective_and_regression_function_match_numpy(tmp_path, tau, K):
    """Fit and truth share the router's options; with tau = 0 the first true atom has beta1* = 0,
    the 0/0 of the plain router, which both implementations take as a 0 cosine term."""
    out = tmp_path / "r.h5"
    opts = ["-cosine_tau", tau, "-cosine_K", K, "-truth_cosine_tau", tau, "-truth_cosine_K", K]
    moerate("fit", *SMALL, *opts, "-truth_beta1_zero", 1, "-output", out, check=True)
    with h5py.File(out, "r") as h:
        m = model_from_h5(h["model"])
        options = parse_options(h["model"].attrs["gating_options"])  # PETSc prints 0 as "0."
        assert int(options["cosine_K"]) == K and float(options["cosine_tau"]) == float(tau)
        # the last atom is pinned whole with tau > 0, its beta0 alone with tau = 0
        last = m.pinned[3 * m.stride:3 * m.stride + 4]
        assert list(last) == ([True] * 4 if tau != "0" else [False] * 3 + [True]) and m.pinned.sum() == last.sum()
        X, Y = h["data/X"][:], h["data/Y"][:]
        th = h["fit/theta"][:]
        assert np.all(th[m.pinned] == 0)
        assert m.objective(th, X, Y) == pytest.approx(h["fit"].attrs["objective"], rel=1e-12)
        tm, tth = model_from_h5(h["truth/relu"]), h["truth/relu/theta"][:]
        assert np.all(tth[:3] == 0)  # truth_beta1_zero
        f = tm.evaluate(tth, X)
        assert np.all(np.isfinite(f))
        assert 0.005 < np.var(Y - f) < 0.02  # the data are the truth's regression function plus noise nu = 0.01
        m.evaluate(th, X)
        assert np.all(np.sum(m.last_gate > 0, axis=1) == (K or 4))  # top-K: K gates of the k = 4 are non-zero


def test_truth_file_round_trips_the_router_options(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    moerate("fit", *SMALL, "-truth_cosine_tau", 0.25, "-truth_cosine_K", 1, "-output", a, check=True)
    moerate("fit", *SMALL, "-truth_file", a, "-output", b, check=True)
    with h5py.File(a, "r") as ha, h5py.File(b, "r") as hb:
        assert hb["truth/relu"].attrs["gating_options"] == "-cosine_K 1 -cosine_tau 0.25"
        assert np.array_equal(ha["truth/relu/theta"][:], hb["truth/relu/theta"][:])
        assert np.array_equal(ha["data/Y"][:], hb["data/Y"][:])


@pytest.mark.parametrize("args,option", [
    (["-cosine_tau", "-1"], "-cosine_tau"),
    (["-cosine_tau", "nan"], "-cosine_tau"),
    (["-cosine_K", "5"], "-cosine_K"),
    (["-truth_cosine_tau", "-1"], "-truth_cosine_tau"),
])
def test_bad_option_is_one_line_naming_it(tmp_path, args, option):
    p = moerate("fit", *SMALL, *args, "-output", tmp_path / "r.h5")
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("moerate: error: "), p.stderr
    assert re.search(r"(^|\s)%s\s" % re.escape(option), lines[0]), lines[0]
    assert not (tmp_path / "r.h5").exists()


def test_near_truth_fit_is_certified(tmp_path):
    """The well-posed design of jobs/specs/cosine_wellposed_quick.yaml at its smallest n: screened, then
    fitted from a near start to within the certificate's tolerance of the truth's objective."""
    out = tmp_path / "r.h5"
    p = moerate("fit", "-gating", "cosine", "-expert", "relu", "-d", 4, "-kstar", 3, "-k", 4, "-n", 3000, "-noise", 0.001,
                "-truth_beta1_var", 0.1, "-truth_expert_var", 4, "-seed", 2025, "-output", out, check=True)
    assert "well posed" in p.stdout and "certify: certified" in p.stdout
    with h5py.File(out, "r") as h:
        assert h["truth/relu"].attrs["well_posed"] == 1
        a = h["fit"].attrs
        assert a["status"] == "converged" and a["certified"] == 1 and a["gap"] <= 3
        assert np.isfinite(h["losses"].attrs["softmax_d1"]) and np.isfinite(h["losses"].attrs["cells_exact"])
