"""The scaled-ReLU expert with an outer weight (`-expert srelu`, src/expert/srelu.c): h = c max(0, a^T x + b),
eta = [a (d) | c | b], the shared expert of DeepSeekMoE's design (arXiv 2505.10860, App. G).  The C model
against the numpy one of analysis/moemodel.py, the truth screening's verdict on its positive homogeneity
((a, b, c) -> (l a, l b, c / l) leaves h unchanged: ill posed), and the numpy Jacobian."""
import h5py
import numpy as np
import pytest

from conftest import fd_jacobian, moerate
from moemodel import Model, model_from_h5

D = 2
FIT = ["-gating", "softmax", "-truth_gating", "softmax", "-d", D, "-kstar", 2, "-k", 3, "-n", 300, "-tao_max_it", 20]


def homogeneity_directions(m, theta):
    """For each atom i, the full-layout direction d/dl of (l a_i, c_i / l, l b_i) at l = 1: (a_i, -c_i, b_i) on
    eta_i, zero elsewhere."""
    out = []
    for i in range(m.k):
        v = np.zeros(m.p)
        e = i * m.stride + m.d + 1  # eta_i = [a (d) | c | b]
        v[e:e + m.d] = theta[e:e + m.d]
        v[e + m.d] = -theta[e + m.d]
        v[e + m.d + 1] = theta[e + m.d + 1]
        out.append(v)
    return out


def test_numpy_expert_and_jacobian():
    """h = c relu(a^T x + b) with b last, and the Jacobian of f against central differences (rows away from the
    kinks), the expert's block included: dh/da = c relu'(z) x, dh/dc = relu(z), dh/db = c relu'(z)."""
    rng = np.random.default_rng(11)
    m = Model("softmax", "srelu", 3, D)
    assert m.ne == D + 2 and m.stride == D + 1 + D + 2
    theta = rng.normal(0, 0.8, m.p)
    theta[m.pinned] = 0
    X = rng.uniform(-1, 1, (80, D))
    _, _, eta = m.atoms(theta)
    z = X @ eta[:, :D].T + eta[:, -1]
    h, dh = m.experts(X, eta)
    assert np.array_equal(h, eta[:, D] * np.maximum(z, 0))
    assert np.array_equal(dh[:, :, D], np.maximum(z, 0)) and np.array_equal(dh[:, :, D + 1], np.where(z > 0, eta[:, D], 0))
    # the Voronoi view keeps b last: [a | c | b]
    _, _, view = m.voronoi_view(theta)
    assert np.array_equal(view, eta)
    X = X[np.all(np.abs(z) > 1e-3, axis=1)]  # a central difference across a kink is not a derivative
    assert len(X) > 40
    f, J = m.evaluate(theta, X, jacobian=True)
    assert np.allclose(J, fd_jacobian(m, theta, X), rtol=1e-6, atol=1e-8)
    # the positive homogeneity: J annihilates every atom's scale direction, exactly (up to rounding)
    for v in homogeneity_directions(m, theta):
        assert np.max(np.abs(J @ v)) <= 1e-13 * np.max(np.abs(J))


def test_objective_matches_numpy(tmp_path):
    out = tmp_path / "r.h5"
    moerate("fit", *FIT, "-expert", "srelu", "-allow_ill_posed", "-output", out, check=True)
    with h5py.File(out, "r") as h:
        m = model_from_h5(h["model"])
        assert h["model"].attrs["expert"] == "srelu" and m.ne == D + 2 and h["model"].attrs["p"] == m.p
        X, Y = h["data/X"][:], h["data/Y"][:]
        th = h["fit/theta"][:]
        assert np.all(th[m.pinned] == 0)
        assert m.objective(th, X, Y) == pytest.approx(h["fit"].attrs["objective"], rel=1e-10)
        t = h["truth/srelu"]
        tm, tth = model_from_h5(t), t["theta"][:]
        assert tm.objective(tth, X, Y) == pytest.approx(h["fit"].attrs["ref_objective"], rel=1e-10)
        traits = h["families/expert/srelu"].attrs
        assert traits["hinge"] == 1 and "not identified" in traits["meaning"]


def test_drawn_truth_shares_the_relu_truth_streams(tmp_path):
    """A drawn srelu truth is the relu truth of the same draw with c = 1 inserted (c is not drawn)."""
    th = {}
    for expert in ("relu", "srelu"):
        out = tmp_path / ("%s.h5" % expert)
        moerate("fit", *FIT, "-expert", expert, "-truth_draw", 0, "-allow_ill_posed", "-output", out,
                check=True)
        with h5py.File(out, "r") as h:
            th[expert] = h["truth/%s/theta" % expert][:]
    relu, srelu = th["relu"].reshape(2, 2 * D + 2), th["srelu"].reshape(2, 2 * D + 3)
    assert np.array_equal(srelu[:, :2 * D + 1], relu[:, :2 * D + 1])  # beta1, beta0, a
    assert np.all(srelu[:, 2 * D + 1] == 1) and np.array_equal(srelu[:, -1], relu[:, -1])  # c = 1, b


def test_screening_reports_the_homogeneity_ill_posed(tmp_path):
    """An explicit seed is refused in one line saying ill posed; measured anyway, the stored screening says
    so (a singular Fisher information), and the numpy Jacobian at the stored truth is singular along each
    atom's scale direction (a, -c, b)."""
    out = tmp_path / "r.h5"
    p = moerate("fit", *FIT, "-expert", "srelu", "-truth_seed", 3, "-output", out)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert p.returncode == 2 and len(lines) == 1, p.stderr
    assert lines[0].startswith("moerate: error: -truth_seed: ") and "srelu truth" in lines[0] and "ill posed" in lines[0]
    assert "weakest direction" in lines[0] and "-allow_ill_posed" in lines[0]
    assert not out.exists()
    p = moerate("fit", *FIT, "-expert", "srelu", "-truth_seed", 3, "-allow_ill_posed", "-output", out, check=True)
    assert "ILL POSED" in p.stdout and "infinite (singular)" in p.stdout
    with h5py.File(out, "r") as h:
        t = h["truth/srelu"]
        assert t.attrs["well_posed"] == 0 and np.isinf(t.attrs["weakest_sd"])
        eig = t["fisher_eigenvalues"][:]
        assert abs(eig[0]) <= 1e-14 * eig[-1]
        tm, tth = model_from_h5(t), t["theta"][:]
        _, J = tm.evaluate(tth, h["data/X"][:], jacobian=True)
        for v in homogeneity_directions(tm, tth):
            assert np.linalg.norm(J @ v) <= 1e-12 * np.linalg.norm(J) * np.linalg.norm(v)
