"""`moerate fit`: the replicate file, determinism, a second implementation, the peer, errors."""
import re

import h5py
import numpy as np
import pytest

import cells
from conftest import moerate, registered_families
from moemodel import model_from_h5

# A tiny truth of P1's Regime 1 (beta1* = 0, expert variance 1/d), which the screening refuses
# (its Fisher information is singular): these tests check the machinery, not rates.
SMALL = ["-d", "3", "-kstar", "2", "-k", "3", "-n", "300", "-truth_regime", "1", "-truth_expert_var", str(1 / 3),
         "-allow_ill_posed"]


def datasets(path):
    """Every dataset of an HDF5 file as bytes, by name."""
    out = {}
    with h5py.File(path, "r") as h:
        h.visititems(lambda name, obj: out.__setitem__(name, obj[()].tobytes()) if isinstance(obj, h5py.Dataset) else None)
        out["losses"] = repr(sorted(h["losses"].attrs.items())).encode()
        out["fit_attrs"] = repr([(k, v) for k, v in sorted(h["fit"].attrs.items()) if k != "wall_time"]).encode()
    return out


def test_replicate_file_has_everything_to_refit(tmp_path):
    out = tmp_path / "r.h5"
    moerate("fit", *SMALL, "-output", out, check=True)
    with h5py.File(out, "r") as h:
        assert h["data/X"].shape == (300, 3) and h["data/Y"].shape == (300,)
        m = model_from_h5(h["model"])
        assert h["init/theta"].shape == (m.p,) and h["fit/theta"].shape == (m.p,)
        assert h["truth/relu/theta"].shape == (2 * (2 * 3 + 2),)
        for a in ("moerate_version", "git_revision", "petsc_version", "hdf5_version", "mpi_version", "host", "command", "spec", "spec_hash"):
            assert a in h.attrs, a
        assert h["fit"].attrs["status"] in ("converged", "failed")
        # auto: the sigmoid fit's Voronoi losses, l2 and the per-cell errors
        assert set(h["losses"].attrs) == {"l2", "sigmoid_d1", "sigmoid_d2"} | set(cells.NAMES)


def test_same_replicate_twice_gives_identical_bytes(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    moerate("fit", *SMALL, "-replicate", 4, "-output", a, check=True)
    moerate("fit", *SMALL, "-replicate", 4, "-output", b, check=True)
    assert datasets(a) == datasets(b)


def test_data_depend_on_seed_n_replicate_only(tmp_path):
    """Every gating fitted at the same (n, replicate) sees the same data; other replicates differ."""
    files = {}
    for g in ("sigmoid", "softmax", "topk"):
        files[g] = tmp_path / ("%s.h5" % g)
        moerate("fit", *SMALL, "-gating", g, "-truth_gating", "sigmoid", "-replicate", 2, "-output", files[g], check=True)
    other = tmp_path / "other.h5"
    moerate("fit", *SMALL, "-replicate", 3, "-output", other, check=True)
    with h5py.File(files["sigmoid"], "r") as h0, h5py.File(other, "r") as h3:
        X, Y = h0["data/X"][:], h0["data/Y"][:]
        assert not np.array_equal(X, h3["data/X"][:])
    for g in ("softmax", "topk"):
        with h5py.File(files[g], "r") as h:
            assert np.array_equal(h["data/X"][:], X) and np.array_equal(h["data/Y"][:], Y)


@pytest.mark.parametrize("gating", registered_families("gating"))
@pytest.mark.parametrize("expert", registered_families("expert"))
def test_objective_matches_numpy_implementation(tmp_path, gating, expert):
    out = tmp_path / "r.h5"
    moerate("fit", "-gating", gating, "-expert", expert, "-d", 3, "-kstar", 2, "-k", 4, "-n", 200, "-dts_fit_tau",
            "-hsoftmax_groups", 2, "-truth_hsoftmax_groups", 2, "-tao_max_it", 3, "-allow_ill_posed", "-output", out,
            check=True)
    with h5py.File(out, "r") as h:
        m = model_from_h5(h["model"])
        X, Y = h["data/X"][:], h["data/Y"][:]
        for grp in ("init", "fit"):
            th = h[grp]["theta"][:]
            assert np.all(th[m.pinned] == 0)
        th = h["fit/theta"][:]
        assert m.objective(th, X, Y) == pytest.approx(h["fit"].attrs["objective"], rel=1e-12)
        tname = list(h["truth"])[0]
        tm = model_from_h5(h["truth"][tname])
        noise = Y - tm.evaluate(h["truth"][tname]["theta"][:], X)
        assert 0.005 < noise.var() < 0.02  # nu = 0.01


def test_fit_beats_or_matches_scipy_from_the_same_start(tmp_path):
    """The peer: scipy.optimize.least_squares (trf, analytic Jacobian) on the exported replicate."""
    import peer_scipy
    out = tmp_path / "r.h5"
    moerate("fit", "-d", 8, "-kstar", 3, "-k", 4, "-n", 2000, "-truth_regime", 1, "-truth_expert_var", 0.125,
            "-allow_ill_posed", "-output", out, check=True)
    d = peer_scipy.load(str(out))
    assert d["moerate"]["status"] == "converged"
    r = peer_scipy.fit(d, "analytic")
    assert d["moerate"]["objective"] <= r["objective"] * (1 + 1e-9)


def test_subsampled_hessian_reaches_the_full_fits_objective(tmp_path):
    """-fit_hessian_rows R forms the Gauss-Newton Hessian from R rows (doubled at each stall of the decrease
    test, which ends the fit only with all n rows); the objective and gradient stay exact, so the fit ends
    certified.  (Over-specified fits crawl along flat valleys and stop where the decrease test says, so a
    sub-sampled path can stop above the full one: here within 3 units of noise/2n, with 500 rows 16 units;
    bench/ measures it.)  R >= n is the full fit in row order (-fit_order rows, which -fit_hessian_rows implies:
    the first rows), bit for bit."""
    args = ["-d", 8, "-kstar", 3, "-k", 4, "-n", 4000, "-truth_regime", 1, "-truth_expert_var", 0.125,
            "-allow_ill_posed"]
    fits = {}
    for rows in (0, 800, 4000):
        out = tmp_path / ("r%d.h5" % rows)
        moerate("fit", *args, "-fit_hessian_rows", rows, *(["-fit_order", "rows"] if rows == 0 else []), "-output", out,
                check=True)
        with h5py.File(out, "r") as h:
            fits[rows] = (dict(h["fit"].attrs), h["fit/theta"][:])
    full, sub, same = fits[0][0], fits[800][0], fits[4000][0]
    assert full["certified"] == 1 and sub["certified"] == 1 and sub["status"] == "converged"
    assert sub["objective"] - full["objective"] <= 3 * 0.01 / (2 * 4000)
    assert np.array_equal(fits[4000][1], fits[0][1]) and same["iterations"] == full["iterations"]


def test_reused_or_single_hessian_and_row_evaluation_reach_the_default_fit(tmp_path):
    """-fit_hessian_reuse R forms the Gauss-Newton Hessian at most once per R iterations, -fit_hessian_single
    forms it in single precision, and -fit_rows evaluates a row at a time instead of blocks through BLAS;
    all keep the objective and gradient exact (double).
    On an exactly specified, well-posed fit they reach the default fit's minimiser; on an over-specified
    one (flat valleys, where paths that differ by rounding end apart) the reused and the single-precision
    Hessians end certified and within a few units of noise/2n of the default.  R = 1 is the default fit, bit for bit."""
    sds = []

    def fit(name, args, opts):
        out = tmp_path / ("%s.h5" % name)
        p = moerate("fit", *args, *opts, "-output", out, check=True)
        m = re.search(r"sd along the weakest direction at n = \d+: ([0-9.e+-]+)", p.stdout)
        sds.append(float(m.group(1)) if m else None)
        with h5py.File(out, "r") as h:
            return dict(h["fit"].attrs), h["fit/theta"][:]

    # n > 4096: in row order the single-precision sum spans its 4096-row windows (in the chunks' order, the
    # default, each chunk of about 1111 rows is one window)
    exact = ["-d", 4, "-kstar", 3, "-k", 3, "-n", 10000]
    a, ta = fit("exact", exact, [])
    for opts in (["-fit_rows"], ["-fit_hessian_reuse", 3], ["-fit_hessian_single"], ["-fit_hessian_single", "-fit_order", "rows"]):
        b, tb = fit("exact_" + opts[0], exact, opts)
        assert b["certified"] == 1 and b["status"] == a["status"] == "converged"
        # the same minimiser, to the precision a stop of the decrease test leaves (-fit_ftol 0.01/n): the
        # objectives within a hundredth of noise/2n, the parameters within 5% of the estimate's sd along its
        # weakest direction (the reused Hessian stops 1.4% of it away on this replicate)
        assert np.max(np.abs(tb - ta)) < 0.05 * sds[0] and abs(b["objective"] - a["objective"]) <= 0.01 * 0.01 / (2 * 10000)
    over = ["-d", 8, "-kstar", 3, "-k", 4, "-n", 4000, "-truth_regime", 1, "-truth_expert_var", 0.125,
            "-allow_ill_posed"]
    full, tf = fit("over", over, [])
    for opts in (["-fit_hessian_reuse", 3], ["-fit_hessian_single"]):
        other, _ = fit("over" + opts[0], over, opts)
        assert full["certified"] == 1 and other["certified"] == 1 and other["status"] == "converged"
        assert abs(other["objective"] - full["objective"]) <= 5 * 0.01 / (2 * 4000)
    _, t1 = fit("over_reuse1", over, ["-fit_hessian_reuse", 1])
    assert np.array_equal(t1, tf)


def test_injected_nan_is_a_failed_fit_not_a_crash(tmp_path):
    out = tmp_path / "r.h5"
    p = moerate("fit", *SMALL, "-fit_inject_nan", "-output", out)
    assert p.returncode == 0, p.stderr
    assert "failed (ERROR)" in p.stdout
    with h5py.File(out, "r") as h:
        assert h["fit"].attrs["status"] == "failed" and h["fit"].attrs["reason_name"] == "ERROR"
        assert "Inf or NaN" in h["fit"].attrs["message"]


def test_truth_read_back_from_hdf5_and_yaml(tmp_path):
    a = tmp_path / "a.h5"
    moerate("fit", *SMALL, "-gating", "topk", "-truth_gating", "topk", "-truth_topk_K", 1, "-output", a, check=True)
    with h5py.File(a, "r") as h:
        theta = h["truth/relu/theta"][:]
    b = tmp_path / "b.h5"
    p = moerate("fit", "-gating", "sigmoid", "-k", 3, "-n", 300, "-truth_file", a, "-allow_ill_posed", "-output", b,
                check=True)
    assert "truth : topk(-topk_K 1)" in p.stdout
    with h5py.File(b, "r") as h:
        assert np.array_equal(h["truth/relu/theta"][:], theta)
    y = tmp_path / "truth.yaml"
    y.write_text("gating: topk\nexpert: relu\nkstar: 2\nd: 3\ntopk_K: 1\ntheta: [%s]\n" % ", ".join(repr(float(t)) for t in theta))
    c = tmp_path / "c.h5"
    moerate("fit", "-gating", "sigmoid", "-k", 3, "-n", 300, "-truth_file", y, "-allow_ill_posed", "-output", c,
            check=True)
    with h5py.File(c, "r") as hc, h5py.File(b, "r") as hb:
        assert np.array_equal(hc["truth/relu/theta"][:], theta)
        assert np.array_equal(hc["data/Y"][:], hb["data/Y"][:])


def test_help_lists_every_option_with_meaning_and_default():
    p = moerate("fit", "-help")
    assert p.returncode == 0
    text = p.stdout + p.stderr
    for opt in ("-gating", "-expert", "-k ", "-kstar", "-d ", "-n ", "-seed", "-replicate", "-noise", "-truth_file", "-truth_regime",
                "-init ", "-init_perturb", "-init_starts", "-losses", "-eval_n", "-reference_n", "-output", "-topk_K",
                "-dts_tau", "-hsoftmax_groups", "-fit_ftol", "-tao_type"):
        assert opt in text, opt
    assert "number of fitted atoms" in text and "<now 3" in text  # meaning and default of -k


@pytest.mark.parametrize("command", ["fit", "run"])
def test_help_shows_moerate_options_first_grouped_by_room(command):
    text = moerate(command, "-help", check=True).stdout
    rooms = ["moerate spec: the fitted models", "moerate truth:", "moerate data:", "moerate fit: initial points",
             "moerate losses", "moerate fit: the estimators"]
    where = [text.find(r) for r in rooms]
    assert -1 not in where and where == sorted(where), where
    generic = text.find("PETSc's generic options")
    assert generic > max(where) and text.find("-log_view") > generic  # PETSc's own after all of moerate's
    assert text.find("moerate spec: topk gating family") > 0  # declared by the family itself


BAD = [
    (["-gating", "sigmod"], "-gating: unknown gating family 'sigmod'"),
    (["-expert", "relux"], "-expert: unknown expert family 'relux'"),
    (["-gating", "3"], "is a number, not the name of any gating family"),
    (["-k", "1", "-kstar", "2"], "-k 1 is smaller than -kstar 2"),
    (["-n", "0"], "-n 0 is not a positive sample size"),
    (["-noise", "-1"], r"-noise -1\.? is not a variance"),
    (["-gating", "topk", "-topk_K", "5"], "-topk_K 5 is outside 1..3"),
    (["-gating", "dts", "-dts_tau", "0"], r"-dts_tau 0\.? is not a positive number"),
    (["-gating", "hsoftmax", "-hsoftmax_groups", "2"], "-hsoftmax_groups 2 does not divide k = 3"),
    (["-init", "close"], "-init 'close' is not an initialisation policy"),
    (["-x_dist", "cauchy"], "-x_dist 'cauchy' is not an input distribution"),
    (["-losses", "d7"], "-losses: unknown loss 'd7'"),
    (["-truth_file", "/nonexistent/t.h5"], "-truth_file /nonexistent/t.h5 does not exist"),
    (["-output", "/nonexistent/dir/r.h5"], "the directory /nonexistent/dir does not exist"),
    (["-gatng", "sigmoid"], "option -gatng is not a moerate"),
    (["-tao_type", "nosuch"], "the TAO options are not valid"),
    (["-fit_hessian_rows", "-5"], "-fit_hessian_rows -5 must be 0 (all rows) or a number of rows"),
    (["-fit_hessian_reuse", "0"], "-fit_hessian_reuse 0 must be >= 1 (1: a fresh Hessian at every iteration)"),
]


@pytest.mark.parametrize("args,message", BAD)
def test_bad_input_is_one_clear_line_and_leaves_output_untouched(tmp_path, args, message):
    out = tmp_path / "keep.h5"
    out.write_bytes(b"precious")
    if "-output" not in args:
        args = args + ["-output", str(out)]
    p = moerate("fit", *args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("moerate: error: "), p.stderr
    assert message in lines[0] or re.search(message, lines[0]), lines[0]
    assert out.read_bytes() == b"precious"


def test_multistart_keeps_the_best_objective(tmp_path):
    """Start 0 is the same in both runs; the best of four starts can only be better.  Here the
    single random start is a dead-ReLU stationary point, which another start escapes."""
    one, many = tmp_path / "one.h5", tmp_path / "many.h5"
    args = [*SMALL, "-init", "random", "-replicate", 1, "-certify_starts", 1]  # multi-start alone
    moerate("fit", *args, "-output", one, check=True)
    moerate("fit", *args, "-init_starts", 4, "-output", many, check=True)
    with h5py.File(one, "r") as h1, h5py.File(many, "r") as h4:
        assert h1["fit"].attrs["start"] == 0 and h1["fit"].attrs["status"] == "converged"
        assert 0 <= h4["fit"].attrs["start"] < 4
        assert h4["fit"].attrs["objective"] < 0.5 * h1["fit"].attrs["objective"]


def test_reference_gbar_for_a_misspecified_fit(tmp_path):
    """A sigmoid fit of softmax-generated data is measured against G-bar (sigmoid_d3)."""
    out = tmp_path / "r.h5"
    p = moerate("fit", *SMALL, "-gating", "sigmoid", "-truth_gating", "softmax", "-truth_regime", 2,
                "-losses", "l2,sigmoid_d3", "-reference_n", 3000, "-output", out, check=True)
    assert "G-bar :" in p.stdout
    with h5py.File(out, "r") as h:
        assert h["reference/theta"].shape == h["fit/theta"].shape
        assert h["reference"].attrs["reference_n"] == 3000
        assert np.isfinite(h["losses"].attrs["sigmoid_d3"]) and h["losses"].attrs["sigmoid_d3"] > 0
        # G-bar fits noise-free data: its objective is far below the noise level nu/2
        assert h["reference"].attrs["objective"] < 1e-3


def test_fisher_eigenvalues_of_the_truth_match_numpy(tmp_path):
    """The Fisher information J^T J / n of the truth, from the C code (10000 Monte-Carlo points)
    against numpy on 200000 points: the same spectrum up to Monte-Carlo error."""
    out = tmp_path / "r.h5"
    p = moerate("fit", "-d", 2, "-kstar", 2, "-k", 3, "-n", 500, "-truth_regime", 2, "-truth_beta1_var", 1, "-allow_ill_posed",
                "-output", out, check=True)
    assert "Fisher: truth sigmoid x relu" in p.stdout and "eigenvalues of J^T J/n" in p.stdout
    with h5py.File(out, "r") as h:
        eig = h["truth/relu/fisher_eigenvalues"][:]
        m = model_from_h5(h["truth/relu"])
        theta = h["truth/relu/theta"][:]
    assert len(eig) == len(m.free) and np.all(np.diff(eig) >= 0) and eig[0] > 0
    X = np.random.default_rng(0).uniform(-1, 1, (200000, 2))
    _, J = m.evaluate(theta, X, jacobian=True)
    J = J[:, m.free]
    ref = np.linalg.eigvalsh(J.T @ J / len(X))
    assert np.allclose(eig, ref, rtol=0.1, atol=1e-3 * ref[-1])
