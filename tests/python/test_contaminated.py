"""The softmax-contaminated MoE (-model contaminated, arXiv 2505.18455) and a truth that moves with n: the
likelihood against numpy, its data against the model, every task's truth, losses and certificate against
that n's truth, and bad input refused in one line."""
import csv
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
from scipy.special import expit

from conftest import SOURCE, moerate
from moemodel import model_from_h5
from moeresults import load

SPECS = os.path.join(SOURCE, "jobs", "specs")
TRUTHS = os.path.join(SPECS, "truths")
FIT = ["-model", "contaminated", "-estimator", "mle", "-gating", "sigmoid", "-expert", "tanh", "-k", 1,
       "-x_dist", "gaussian", "-init", "near", "-seed", 7,
       "-losses", "param_beta1,param_exp_beta0,param_eta,param_noise"]


def fit(tmp_path, truth, *args):
    out = tmp_path / "c.h5"
    moerate("fit", *FIT, "-truth_file", os.path.join(TRUTHS, truth), *args, "-output", out, check=True)
    return h5py.File(out, "r")


@pytest.mark.parametrize("truth", ["contam_a.yaml", "contam_bi.yaml"])
def test_likelihood_matches_numpy_and_fit_is_certified(tmp_path, truth):
    """The mean log-likelihood at the fit and at the truth (Laplace and Gaussian bases) against numpy's; the
    fit's likelihood is at least the truth's on the same data; the prompt's bias stays pinned at 0."""
    with fit(tmp_path, truth, "-n", 3000) as h:
        assert h["model"].attrs["model"] == "contaminated"
        m, tg = model_from_h5(h["model"]), h["truth"][list(h["truth"])[0]]
        X, Y, th = h["data/X"][:], h["data/Y"][:], h["fit/theta"][:]
        tth = tg["theta"][:] + (3000 ** -tg.attrs["drift_rate"] * tg["drift"][:] if "drift" in tg else 0)
        assert m.base == ("laplace" if truth == "contam_a.yaml" else "gaussian") and m.base_nu == 0.001
        assert -m.log_likelihood(th, X, Y) == pytest.approx(h["fit"].attrs["objective"], rel=1e-12)
        assert -m.log_likelihood(tth, X, Y) == pytest.approx(h["fit"].attrs["ref_objective"], rel=1e-12)
        assert h["fit"].attrs["certified"] == 1
        assert th[8 + 1 + 8] == 0  # b
        losses = dict(h["losses"].attrs)
        assert losses["param_eta"] == pytest.approx(np.linalg.norm(th[9:18] - tth[9:18]), rel=1e-12)
        assert losses["param_noise"] == pytest.approx(abs(th[18] - tth[18]), rel=1e-12)


def test_data_are_drawn_from_the_contaminated_model(tmp_path):
    """Given x, Y is the prompt N(tanh(eta* x), nu*) with probability sigmoid(beta*^T x + tau*), else the Laplace
    base around tanh(eta0 x): the mean of Y and the share of points near each mean match the model."""
    with fit(tmp_path, "contam_a.yaml", "-n", 40000, "-mle_tao_max_it", 1, "-certify_starts", 1) as h:
        X, Y = h["data/X"][:], h["data/Y"][:]
        tth = h["truth"][list(h["truth"])[0]]["theta"][:]
    g = expit(X @ tth[:8] + tth[8])
    h1, h0 = np.tanh(-X[:, 0]), np.tanh(X[:, 0])
    assert np.mean(Y) == pytest.approx(np.mean(g * h1 + (1 - g) * h0), abs=3 * np.std(Y) / np.sqrt(len(Y)))
    far = np.abs(h1 - h0) > 0.5  # where the two means are apart, a point sits within 0.15 of one of them
    near_prompt = np.abs(Y - h1)[far] < 0.15
    assert np.mean(near_prompt) == pytest.approx(np.mean(g[far]), abs=0.02)


def test_a_truth_that_moves_with_n(tmp_path):
    """A run of the drifting truth (b-i): every record's truth_shift is n^-1/8; the losses recomputed in numpy
    against theta + truth_shift drift (analysis/moeresults.task_truth) equal the stored ones; restarts share
    their replicate's truth; every fit is certified against its own n's truth; the report says the truth moves."""
    out = tmp_path / "bi.h5"
    moerate("run", "-options_file_yaml", os.path.join(SPECS, "contam_bi_quick.yaml"), "-output", out,
            ranks=2, check=True)
    R = load(str(out))
    rec = R.records
    assert np.allclose(rec["truth_shift"], rec["n"].astype(float) ** -0.125, rtol=1e-15, atol=0)
    with h5py.File(out, "r") as h:
        theta = h["tasks/theta"][:]
        drift = h["truth/tanh/drift"][:]
        t0, by_n, sizes, sd = (h["truth/tanh/" + k][()] for k in ("theta", "theta_by_n", "n_by_n", "weakest_sd_by_n"))
    assert drift[9] == 1 and np.count_nonzero(drift) == 1
    # screened at every n of the grid against that n's truth, which is stored per n
    assert list(sizes) == sorted(set(rec["n"])) and by_n.shape == (len(sizes), len(t0))
    assert np.allclose(by_n, t0 + sizes[:, None] ** -0.125 * drift, rtol=1e-15, atol=0)
    assert np.all((sd > 0) & (sd <= 0.1)) and sd[0] == pytest.approx(R.truths["tanh"]["weakest_sd"], rel=1e-12)
    names = R.losses
    for row in range(len(rec)):
        t = R.task_truth(row)
        assert t[9] == pytest.approx(1 + rec["n"][row] ** -0.125, rel=1e-15)
        got = dict(zip(names, R.values[row]))
        assert got["param_eta"] == pytest.approx(np.linalg.norm(theta[row, 9:18] - t[9:18]), rel=1e-10)
        assert got["param_beta1"] == pytest.approx(np.linalg.norm(theta[row, :8] - t[:8]), rel=1e-10)
        assert got["param_exp_beta0"] == pytest.approx(abs(np.exp(theta[row, 8]) - np.exp(t[8])), rel=1e-10)
        assert got["param_noise"] == pytest.approx(abs(theta[row, 18] - t[18]), rel=1e-10)
        assert rec["certified"][row] == 1
    assert R.truth_moves(0)
    from rates_report import truth_line
    assert "MOVES WITH n" in truth_line(R, "tanh")
    csvfile = tmp_path / "fits.csv"  # the tidy export carries each fit's truth_shift
    p = subprocess.run([sys.executable, os.path.join(SOURCE, "analysis", "export.py"), str(out), "-o", str(csvfile)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    with open(csvfile) as f:
        rows = list(csv.DictReader(f))
    assert rows and all(float(r["truth_shift"]) == pytest.approx(int(r["n"]) ** -0.125, rel=1e-15) for r in rows)


BAD = [
    (["-gating", "softmax"], "-model contaminated has one contamination atom with a sigmoid gate"),
    (["-gating", "nsigmoid"], "-model contaminated has one contamination atom with a sigmoid gate"),
    (["-contam_base_nu", "0.002"], "-contam_base_nu 0.002 differs from the truth file's -contam_base_nu 0.001"),
    (["-losses", "l2"], "-losses l2: the truth of -truth_file"),
    (["-estimator", "em"], "-estimator em does not estimate the contaminated model"),
]


@pytest.mark.parametrize("args,message", BAD)
def test_bad_input_is_refused_in_one_line(tmp_path, args, message):
    out = tmp_path / "c.h5"
    p = moerate("fit", *FIT, "-truth_file", os.path.join(TRUTHS, "contam_bi.yaml"), "-n", 500, *args, "-output", out)
    assert p.returncode == 2 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not out.exists()


@pytest.mark.parametrize("text,message", [
    ("drift_rate: 0.125\n", "needs both 'drift'"),
    ("drift: [1, 2]\ndrift_rate: 0.125\n", "drift has 2 values but theta has 19"),
    ("drift: [0,0,0,0,0,0,0,0,0, 1,0,0,0,0,0,0,0,0, 0]\ndrift_rate: -1\n", "drift_rate -1 must be > 0"),
    ("drift: [0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,1, 0]\ndrift_rate: 0.5\n", "(atom 0 b) is 1, but the model pins"),
    ("contam_base: cauchy\n", "-contam_base 'cauchy' is not a base density"),
])
def test_bad_truth_files_are_refused(tmp_path, text, message):
    with open(os.path.join(TRUTHS, "contam_a.yaml")) as f:
        body = f.read().replace("contam_base: laplace\n", "")
    path = tmp_path / "t.yaml"
    path.write_text(body + text)
    out = tmp_path / "c.h5"
    p = moerate("fit", *FIT, "-truth_file", path, "-n", 500, "-output", out)
    assert p.returncode == 2 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not out.exists()


def test_equal_base_settings_written_differently_are_one(tmp_path):
    """The spec's and the truth file's base are compared as values: 0.0010 is 0.001, TRUE is 1."""
    with fit(tmp_path, "contam_bi.yaml", "-n", 500, "-contam_base_nu", "0.0010", "-contam_base", "GAUSSIAN",
             "-allow_ill_posed") as h:
        assert h["fit"].attrs["certified"] in (0, 1)


def test_a_base_with_negative_slopes_reads_back_from_the_results_file(tmp_path):
    """A results file's truth (model_options "-contam_base_eta -1,0.5,...") serves as a truth file again, and
    the numpy twin reads the same base."""
    eta0 = "-1,0.5,0,0,0,0,0,0"
    with open(os.path.join(TRUTHS, "contam_a.yaml")) as f:
        body = f.read().replace("contam_base_eta: [1, 0, 0, 0, 0, 0, 0, 0]\n", "")
    (tmp_path / "a.yaml").write_text(body)
    first = tmp_path / "first.h5"
    moerate("fit", *FIT, "-truth_file", tmp_path / "a.yaml", "-n", 500, "-contam_base_eta", eta0, "-allow_ill_posed",
            "-output", first, check=True)
    with h5py.File(first, "r") as h:
        m = model_from_h5(h["truth"][list(h["truth"])[0]])
        assert list(m.base_eta) == [-1, 0.5, 0, 0, 0, 0, 0, 0] and m.base == "laplace"
    second = tmp_path / "second.h5"
    moerate("fit", *FIT, "-truth_file", first, "-n", 500, "-allow_ill_posed", "-output", second, check=True)
    with h5py.File(second, "r") as h:
        assert "-contam_base_eta -1,0.5,0" in h["model"].attrs["model_options"]


def test_a_base_as_long_as_d_60_survives_spec_truth_and_results_file(tmp_path):
    """d = 60 with a base of 60 full-precision slopes (some 1300 characters of options, past the 1024 that truth
    files, the spec's shared base and the canonical text once held): the fit's and the truth's models carry all 60,
    the results file serves as a truth file again, and numpy's likelihood of the truth on the data is moerate's."""
    d = 60
    eta0 = [1 / np.sqrt(d) * (1 + 0.001 * j) for j in range(d)]
    beta = [1 / np.sqrt(d)] * d
    theta = beta + [1.0] + [-1.0] + [0.0] * (d - 1) + [0.0] + [0.001]
    (tmp_path / "t.yaml").write_text(
        "model: contaminated\ngating: sigmoid\nexpert: tanh\nkstar: 1\nd: %d\ncontam_base: laplace\ncontam_base_nu: 0.001\n"
        "contam_base_eta: [%s]\ntheta: [%s]\n" % (d, ", ".join(map(repr, eta0)), ", ".join(map(repr, theta))))
    first = tmp_path / "first.h5"
    moerate("fit", *FIT, "-truth_file", tmp_path / "t.yaml", "-n", 1500, "-allow_ill_posed", "-output", first, check=True)
    with h5py.File(first, "r") as h:
        m, tg = model_from_h5(h["model"]), h["truth"][list(h["truth"])[0]]
        assert np.array_equal(m.base_eta, eta0) and np.array_equal(model_from_h5(tg).base_eta, eta0)
        X, Y = h["data/X"][:], h["data/Y"][:]
        assert -m.log_likelihood(tg["theta"][:], X, Y) == pytest.approx(h["fit"].attrs["ref_objective"], rel=1e-12)
    second = tmp_path / "second.h5"
    moerate("fit", *FIT, "-truth_file", first, "-n", 1500, "-allow_ill_posed", "-output", second, check=True)
    with h5py.File(second, "r") as h:
        assert np.array_equal(model_from_h5(h["model"]).base_eta, eta0)


def write_truth(tmp_path, replace):
    with open(os.path.join(TRUTHS, "contam_bi.yaml")) as f:
        body = f.read()
    for old, new in replace:
        assert old in body
        body = body.replace(old, new)
    path = tmp_path / "t.yaml"
    path.write_text(body)
    return path


def test_noise_parameters_must_stay_positive_at_every_n(tmp_path):
    """A noise parameter <= 0 in the file, or one its drift takes to <= 0 at some n of the grid, is refused."""
    for replace, args, message in (
            ([("        0.001]\ndrift", "        -0.001]\ndrift")], ["-n", 500], "an expert's noise parameter must be > 0"),
            ([("        0]\ndrift_rate: 0.125", "        -0.003]\ndrift_rate: 0.125")], ["-n", "1000,100000", "-replicates", 1],
             "at n = 1000 has atom 0's noise parameter")):
        path = write_truth(tmp_path, replace)
        out = tmp_path / "c.h5"
        p = moerate("fit" if "-replicates" not in args else "run", *FIT, "-truth_file", path, *args, "-allow_ill_posed",
                    "-output", out)
        assert p.returncode == 2 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert not out.exists()


def test_a_moving_truth_gets_no_reference(tmp_path):
    """A moving regression truth fitted with another expert family would need G-bar, which a moving truth has
    not: refused in one line."""
    path = tmp_path / "r.yaml"
    path.write_text("gating: sigmoid\nexpert: tanh\nkstar: 1\nd: 1\ntheta: [1, 0, 2, 0.5]\n"
                    "drift: [0, 0, 1, 0]\ndrift_rate: 0.25\n")
    out = tmp_path / "r.h5"
    p = moerate("fit", "-truth_file", path, "-gating", "sigmoid", "-expert", "relu", "-k", 2, "-n", 500,
                "-losses", "cells_exact", "-allow_ill_posed", "-output", out)
    assert p.returncode == 2 and "there is no G-bar of a moving truth" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not out.exists()


def test_resume_against_an_edited_truth_file_is_refused(tmp_path):
    """The spec hash covers what the truth file holds: the same path with another drift is another experiment."""
    path = write_truth(tmp_path, [])
    spec = tmp_path / "s.yaml"
    with open(os.path.join(SPECS, "contam_bi_quick.yaml")) as f:
        spec.write_text(f.read().replace("truth_file: truths/contam_bi.yaml", "truth_file: t.yaml"))
    out = tmp_path / "r.h5"
    moerate("run", "-options_file_yaml", spec, "-output", out, "-quiet", ranks=2, check=True)
    before = out.read_bytes()
    write_truth(tmp_path, [("        0]\ndrift_rate", "        1e-12]\ndrift_rate")])  # the same truth but for 1e-12
    p = moerate("run", "-options_file_yaml", spec, "-output", out, "-quiet", ranks=2)
    assert p.returncode == 2 and "spec" in p.stderr, p.stderr
    assert out.read_bytes() == before
