"""analysis/: rates.py, plot_rates.py, plot_timeline.py and summary.py on synthetic results files with
known rates (loss = C n^s times log-normal noise) and on real small `moerate run`s."""
import csv
import io
import json
import os
import re
import struct
import subprocess
import sys
from fractions import Fraction

import h5py
import numpy as np
import pytest

import moeresults as mr
import rates
from conftest import SOURCE, moerate

ANALYSIS = os.path.join(SOURCE, "analysis")
NS = (500, 1000, 2000, 4000, 8000, 16000)
T0 = 1.8e9  # UNIX seconds of the first synthetic task


def record_dtype():
    """The record layout as docs/FORMAT.md's table states it (test_layout.py checks the table against the C
    table that makes the file's compound type)."""
    types = {"int32": "<i4", "int64": "<i8", "uint64": "<u8", "float64": "<f8"}
    with open(os.path.join(SOURCE, "docs", "FORMAT.md")) as f:
        rows = re.findall(r"^\|\s*`(\w+)`\s*\|\s*(int32|int64|uint64|float64)\s*\|", f.read(), re.M)
    return np.dtype([(name, types[t]) for name, t in rows])


RECORD = record_dtype()
# the records of files written before moerate certified its fits
OLD_FIELDS = ("estimator", "certified", "starts_used", "restart", "ref_objective", "gap", "gradient_z", "weak_sd")
OLD_RECORD = np.dtype([(name, RECORD.fields[name][0]) for name in RECORD.names if name not in OLD_FIELDS])
WELL_POSED = {"well_posed": 1, "screening": "well posed", "weakest_sd": 0.05, "draw": 0, "draws_rejected": 0,
              "source": "synthetic"}


# /families as moerate writes it from its registries (src/expert/*.c, src/loss/*.c)
IDENTIFIABILITY = {"relu": "strong", "gelu": "strong", "sigmoid": "strong", "tanh": "strong", "softplus": "strong",
                   "linear": "linear", "constant": "constant"}
LOSS_TRAITS = {"l2": ("atoms", 0), "l2_truth": ("function", 0), "sigmoid_d3": ("reference", 1)}


def fill(rec, i, **fields):
    """Record i: the fields given, zero elsewhere (by name: the table's order is not the tests' business)."""
    for name, value in fields.items():
        rec[name][i] = value


def applies(loss, gating):
    """The gatings of moerate's losses, for the synthetic files: sigmoid_* and softmax_* by prefix."""
    family = loss.split("_")[0]
    return family not in ("sigmoid", "softmax") or family == gating


def synthetic(path, slopes, gatings=("sigmoid",), experts=("relu",), ns=NS, replicates=20, sigma=0.5, seed=0,
              k=3, kstar=2, references=0, edit=None, truth_gating=None, truth=WELL_POSED, certificates=True):
    """Write a results file (root attributes, /grid, /truth, /tasks/records, /tasks/losses as in
    docs/FORMAT.md) in which loss l of a converged, certified replicate at n is 0.1 n^slopes[l] exp(sigma Z).
    Tasks are numbered as moerate numbers them, alternate between ranks 1 and 2 and take 0.1 s each;
    `references` reference fits (kind 1, identified, weak_sd 0.2) follow, one per (gating, expert) pair in
    turn.  The truth has gating `truth_gating` (default the first gating) and each fit's expert family,
    /truth/<expert> the attributes `truth` (None: no /truth) and Fisher eigenvalues 1e-2 .. 1.  Without
    `certificates` the records lack the fields files made before certification lack.  edit(records,
    values), if given, changes the tables before they are written."""
    rng = np.random.default_rng(seed)
    losses = list(slopes)
    grid = [(g, e, n, r) for g in range(len(gatings)) for e in range(len(experts)) for n in ns
            for r in range(replicates)]
    pairs = [(g, e) for g in range(len(gatings)) for e in range(len(experts))]
    rec = np.zeros(len(grid) + references, dtype=RECORD)
    val = np.full((len(rec), len(losses)), np.nan)
    for i, (g, e, n, r) in enumerate(grid):
        fill(rec, i, id=i, kind=mr.REPLICATE, gating=g, expert=e, n=n, replicate=r, seed=i, status=mr.CONVERGED,
             reason=3, iterations=10, rank=1 + i % 2, certified=1, starts_used=1, ref_objective=0.001, gap=-20,
             gradient_z=0.1, weak_sd=np.nan, wall_time=0.1, t_start=T0 + 0.1 * i, t_end=T0 + 0.1 * (i + 1))
        for j, loss in enumerate(losses):
            if applies(loss, gatings[g]):
                val[i, j] = 0.1 * n ** slopes[loss] * np.exp(sigma * rng.standard_normal())
    for j, i in enumerate(range(len(grid), len(rec))):
        g, e = pairs[j % len(pairs)]
        fill(rec, i, id=i, kind=mr.REFERENCE, gating=g, expert=e, n=10 * max(ns), seed=i, status=mr.CONVERGED,
             reason=3, iterations=10, rank=1, certified=1, objective=0.004, ref_objective=np.nan, gap=np.nan,
             gradient_z=0.1, weak_sd=0.2, wall_time=0.1, t_start=T0 - 0.1, t_end=T0)
    if edit:
        edit(rec, val)
    if not certificates:
        old = np.zeros(len(rec), dtype=OLD_RECORD)
        for name in OLD_RECORD.names:
            old[name] = rec[name]
        rec = old
    pending = int(np.sum(rec["status"] == mr.PENDING))
    with h5py.File(path, "w") as h:
        h.attrs.update({"kind": "moerate run", "format_version": 1, "estimator": "synthetic",
                        "status": "incomplete" if pending else "complete", "tasks_total": len(rec),
                        "tasks_done": len(rec) - pending, "tasks_pending": pending,
                        "tasks_failed": int(np.sum(rec["status"] == mr.FAILED))})
        text = h5py.string_dtype()
        h.create_dataset("grid/gatings", data=list(gatings), dtype=text)
        h.create_dataset("grid/experts", data=list(experts), dtype=text)
        h.create_dataset("grid/n", data=np.array(ns, dtype=np.int64))
        h.create_dataset("grid/losses", data=losses, dtype=text)
        h.create_dataset("grid/loss_meanings", data=losses, dtype=text)
        h["grid"].attrs.update({"replicates": replicates, "k": k, "kstar": kstar, "d": 2, "noise": 0.01,
                                "truth_gating": truth_gating or gatings[0], "truth_expert": "same"})
        for expert in experts if truth is not None else ():
            h.create_dataset("truth/%s/fisher_eigenvalues" % expert, data=np.logspace(-2, 0, 5))
            h["truth"][expert].attrs.update(truth)
        h.create_dataset("tasks/records", data=rec)
        h.create_dataset("tasks/losses", data=val)
        for expert in set(experts):
            h.create_group("families/expert/%s" % expert).attrs.update(
                {"identifiability": IDENTIFIABILITY[expert], "hinge": int(expert in ("relu", "gelu"))})
        for loss in losses:
            target, voronoi = LOSS_TRAITS.get(loss, ("atoms", 1))
            h.create_group("families/loss/%s" % loss).attrs.update({"target": target, "voronoi": voronoi})
    return path


def options(path, *args):
    return rates.parser().parse_args([str(path)] + [str(a) for a in args])


def rows_of(path, *args):
    """rates.py's rows as dicts keyed by (gating, expert, loss)."""
    results = mr.load(str(path))
    return {(r["gating"], r["expert"], r["loss"]): r for r in rates.rate_rows(results, options(path, *args))}


def script(name, *args):
    """Run an analysis script with this interpreter."""
    return subprocess.run([sys.executable, os.path.join(ANALYSIS, name)] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=300)


def png_size(path):
    """(width, height) from a PNG's IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


# --- known rates -------------------------------------------------------------------------------
def test_slope_recovers_known_rate(tmp_path):
    path = synthetic(tmp_path / "s.h5", {"l2": -0.5, "sigmoid_d1": -0.25})
    rows = rows_of(path)
    # one data set: the slope's standard error is about 0.5/sqrt(20)/sqrt(sum (log n - mean)^2) = 0.04
    for loss, s in (("l2", -0.5), ("sigmoid_d1", -0.25)):
        row = rows[("sigmoid", "relu", loss)]
        assert abs(row["slope_log_mean"] - s) < 0.12
        assert abs(row["slope_mean_log"] - s) < 0.12
        assert row["ci_low"] < row["slope_log_mean"] < row["ci_high"]
        assert row["used"] == 120 and row["excluded"] == 0 and row["missing"] == 0
        assert row["n_min"] == 500 and row["n_max"] == 16000 and row["n_sizes"] == 6
        assert 0 < row["r2"] <= 1


@pytest.mark.parametrize("estimator", rates.ESTIMATORS)
def test_bootstrap_interval_coverage(tmp_path, estimator):
    s, trials = -0.5, 100
    covered, slopes = 0, []
    for i in range(trials):
        path = synthetic(tmp_path / ("c%d.h5" % i), {"l2": s}, seed=i)
        row = rates.rate_rows(mr.load(str(path)), options(path, "--estimator", estimator, "--seed", i,
                                                          "--bootstrap", 1000))[0]
        covered += row["ci_low"] <= s <= row["ci_high"]
        slopes.append(row["slope_log_mean" if estimator == "log-mean" else "slope_mean_log"])
    # The count of covering intervals is Binomial(100, p).  The percentile bootstrap with 20
    # replicates per n slightly under-covers (it resamples with variance (R-1)/R of the sample's), so
    # p is about 0.93-0.95 and the count's standard deviation about 2.5: 85 is more than 3 standard
    # deviations below, so a correct interval fails with probability < 0.2% (and the seeds are
    # fixed), while one that ignores the noise across replicates or resamples across n covers far
    # less.  99 catches intervals much too wide: at p = 0.95, 100 of 100 has probability 0.6%.
    assert 85 <= covered <= 99, covered
    # the slopes are unbiased: their mean has a standard error of about 0.004
    assert abs(np.mean(slopes) - s) < 0.02


def test_bootstrap_is_deterministic_given_seed(tmp_path):
    path = synthetic(tmp_path / "d.h5", {"l2": -0.5})
    key = ("sigmoid", "relu", "l2")
    a, b, c = rows_of(path, "--seed", 5)[key], rows_of(path, "--seed", 5)[key], rows_of(path, "--seed", 6)[key]
    assert (a["ci_low"], a["ci_high"]) == (b["ci_low"], b["ci_high"])
    assert (a["ci_low"], a["ci_high"]) != (c["ci_low"], c["ci_high"])
    m = rows_of(path, "--seed", 5, "--estimator", "mean-log")[key]
    assert m["estimator"] == "mean-log" and (m["ci_low"], m["ci_high"]) != (a["ci_low"], a["ci_high"])


def test_theory_table():
    half, quarter = Fraction(-1, 2), Fraction(-1, 4)
    assert rates.theory("l2", "constant", 3, 2).rate == half
    assert rates.theory("sigmoid_d1", "strong", 3, 2).tag == "P1 Regime 1"
    assert rates.theory("sigmoid_d1", "linear", 3, 2).slope is None
    assert rates.theory("sigmoid_d2", "constant", 3, 2).rate == rates.SLOWER
    assert rates.theory("sigmoid_d2", "strong", 3, 2) is None
    assert rates.theory("sigmoid_d3", "linear", 3, 2).rate == half
    assert rates.theory("sigmoid_d3", "constant", 3, 2) is None
    assert rates.theory("softmax_d1", "strong", 3, 2).rate == half
    assert rates.theory("softmax_d1", "linear", 3, 2).rate == rates.SLOWER
    assert rates.theory("softmax_dlin", "strong", 3, 2).rate == quarter  # over-specified
    assert rates.theory("softmax_dlin", "strong", 2, 2).rate == half  # exactly specified
    assert rates.theory("topk", "strong", 3, 2).tag == "P3"
    assert rates.theory("topk", "linear", 3, 2) is None
    # l2 decays at -1/2 against either target; l2_truth only when its target f_G* is the fit's
    assert rates.theory("l2", "strong", 3, 2, matched=False).rate == half
    assert rates.theory("l2_truth", "strong", 3, 2, matched=True).rate == half
    misspecified = rates.theory("l2_truth", "strong", 3, 2, matched=False)
    assert misspecified.slope is None and str(misspecified.rate) == "none"
    # the Gaussian MoE by maximum likelihood: parametric when exactly specified, no rate given when over-specified
    assert rates.theory("softmax_d1", "linear", 2, 2, model="gaussian").rate == half
    assert rates.theory("softmax_d1", "linear", 3, 2, model="gaussian") is None
    assert rates.theory("l2", "linear", 3, 2, model="gaussian").rate == half


def test_window_options(tmp_path):
    path = synthetic(tmp_path / "w.h5", {"l2": -0.5})
    row = rows_of(path, "--n-min", 1000, "--n-max", 8000)[("sigmoid", "relu", "l2")]
    assert (row["n_min"], row["n_max"], row["n_sizes"], row["used"]) == (1000, 8000, 4, 80)
    assert row["theory"] == "-1/2" and row["contains"] in ("yes", "no")


def test_an_unmerged_journal_is_named(tmp_path):
    """Results appended to PATH.journal after the file's last whole write are not in the file: the
    scripts say so (and still read the file)."""
    path = synthetic(tmp_path / "j.h5", {"l2": -0.5})
    assert "journal" not in script("rates.py", path).stderr
    with open(str(path) + ".journal", "wb") as f:
        f.write(b"MOEJRNL1" + bytes(64) + bytes(348))
    p = script("rates.py", path)
    assert p.returncode == 0, p.stderr
    assert "j.h5.journal holds results not yet in" in p.stderr and "rerun the same moerate command" in p.stderr


# --- partial files, failures, applicability ------------------------------------------------------
def test_partial_file_reports_missing(tmp_path):
    def pend(rec, val):  # relu: the largest n not done yet; gelu: only n = 500 done
        todo = ((rec["expert"] == 0) & (rec["n"] == 16000)) | ((rec["expert"] == 1) & (rec["n"] > 500))
        rec["status"][todo] = mr.PENDING
        val[todo] = np.nan

    path = synthetic(tmp_path / "p.h5", {"l2": -0.5}, experts=("relu", "gelu"), edit=pend)
    p = script("rates.py", path)
    assert p.returncode == 0, p.stderr
    assert "status incomplete: 120 of 240 tasks done (0 failed); 120 pending" in p.stdout
    doc = json.loads(script("rates.py", path, "--format", "json").stdout)
    assert doc["status"] == "incomplete" and doc["tasks"]["pending"] == 120
    rows = {r["expert"]: r for r in doc["rows"]}
    assert (rows["relu"]["used"], rows["relu"]["missing"], rows["relu"]["n_max"]) == (100, 20, 8000)
    assert abs(rows["relu"]["slope_log_mean"] + 0.5) < 0.15
    assert rows["gelu"]["note"] == "insufficient data" and rows["gelu"]["slope_log_mean"] is None
    assert (rows["gelu"]["used"], rows["gelu"]["missing"]) == (20, 100)
    assert "insufficient data" in p.stdout


def test_group_not_started_is_listed(tmp_path):
    def pend(rec, val):
        rec["status"][rec["gating"] == 1] = mr.PENDING
        val[rec["gating"] == 1] = np.nan

    path = synthetic(tmp_path / "g.h5", {"l2": -0.5}, gatings=("sigmoid", "softmax"), edit=pend)
    p = script("rates.py", path)
    assert p.returncode == 0, p.stderr
    assert "softmax/relu: no rows yet: 120 replicate tasks, 120 pending" in p.stdout


def test_failed_and_reference_tasks_are_not_used(tmp_path):
    def fail(rec, val):
        bad = (rec["kind"] == mr.REPLICATE) & (rec["replicate"] < 3)
        rec["status"][bad] = mr.FAILED
        val[bad] = 1e6 * rec["n"][bad][:, None]  # would turn the slope positive if used
        val[rec["kind"] == mr.REFERENCE] = 1e6

    path = synthetic(tmp_path / "f.h5", {"l2": -0.5}, references=2, edit=fail)
    row = rows_of(path)[("sigmoid", "relu", "l2")]
    assert (row["used"], row["excluded"], row["missing"]) == (6 * 17, 6 * 3, 0)
    assert abs(row["slope_log_mean"] + 0.5) < 0.12
    p = script("rates.py", path)
    assert "status complete: 122 of 122 tasks done (18 failed); 0 pending" in p.stdout
    assert "2 reference fits (G-bar) never used" in p.stdout


def test_inapplicable_losses_give_no_rows(tmp_path):
    path = synthetic(tmp_path / "a.h5", {"l2": -0.5, "sigmoid_d1": -0.5, "softmax_d1": -0.5},
                     gatings=("sigmoid", "softmax"))
    assert set(rows_of(path)) == {("sigmoid", "relu", "l2"), ("sigmoid", "relu", "sigmoid_d1"),
                                  ("softmax", "relu", "l2"), ("softmax", "relu", "softmax_d1")}


# --- certification, evidence, identification ------------------------------------------------------
def uncertify(which):
    """An edit that marks the replicates selected by which(records) uncertified (gap -1, 8 starts) and
    gives them losses that would turn the slope positive if they were used."""
    def edit(rec, val):
        bad = (rec["kind"] == mr.REPLICATE) & which(rec)
        rec["certified"][bad], rec["gap"][bad], rec["starts_used"][bad] = 0, -1.0, 8
        val[bad] = 1e3 * rec["n"][bad][:, None].astype(float)
    return edit


def test_uncertified_fits_are_left_out_unless_asked(tmp_path):
    path = synthetic(tmp_path / "u.h5", {"l2": -0.5}, edit=uncertify(lambda rec: rec["replicate"] < 2))
    key = ("sigmoid", "relu", "l2")
    row = rows_of(path)[key]
    assert (row["used"], row["excluded"], row["certified"], row["uncertified"]) == (6 * 18, 6 * 2, 6 * 18, 6 * 2)
    assert abs(row["slope_log_mean"] + 0.5) < 0.12
    both = rows_of(path, "--include-uncertified")[key]
    assert (both["used"], both["excluded"], both["certified"], both["uncertified"]) == (120, 0, 108, 12)
    assert both["slope_log_mean"] > 0  # the uncertified fits' losses grow with n
    table = script("rates.py", path).stdout
    assert "certified: 108 of 120 converged replicate fits" in table and "certified fits only" in table
    assert "uncertified replicate fits in the window: 12 (converged ones left out of the rates):" in table
    assert "  sigmoid/relu n = 500 replicate 0: converged, gap -1, 8 starts" in table
    assert "included in the rates (--include-uncertified)" in script("rates.py", path, "--include-uncertified").stdout
    doc = json.loads(script("rates.py", path, "--format", "json").stdout)
    assert len(doc["uncertified_fits"]) == 12 and doc["groups"][0]["certified"] == 108
    assert doc["uncertified_fits"][0] == {"id": 0, "gating": "sigmoid", "fitted_by": "lse", "expert": "relu", "n": 500, "replicate": 0,
                                          "status": "converged", "gap": -1.0, "starts_used": 8}
    rows = list(csv.DictReader(io.StringIO(script("rates.py", path, "--format", "csv").stdout)))
    assert (rows[0]["certified"], rows[0]["uncertified"]) == ("108", "12")


def test_uncertified_list_is_capped(tmp_path):
    path = synthetic(tmp_path / "cap.h5", {"l2": -0.5}, edit=uncertify(lambda rec: rec["replicate"] < 10))
    table = script("rates.py", path).stdout
    assert "uncertified replicate fits in the window: 60 " in table
    assert table.count(": converged, gap -1, 8 starts") == rates.LIST_CAP
    assert "  ... and 10 more" in table


def test_file_without_certificates(tmp_path):
    path = synthetic(tmp_path / "old.h5", {"l2": -0.5}, certificates=False, truth=None)
    p = script("rates.py", path)
    assert p.returncode == 0, p.stderr
    assert "certified: unknown: this file has no certificates" in p.stdout
    assert "--include-uncertified does" in p.stdout
    row = rows_of(path)[("sigmoid", "relu", "l2")]
    assert row["note"] == "insufficient data (120 uncertified fits left out)" and row["used"] == 0
    assert row["evidence"] == "- - -"
    both = rows_of(path, "--include-uncertified")[("sigmoid", "relu", "l2")]
    assert both["used"] == 120 and abs(both["slope_log_mean"] + 0.5) < 0.12
    assert both["evidence"] == "- - I"  # no screening, no certificates


def test_evidence_column(tmp_path):
    def evidence(name, **kw):
        return rows_of(synthetic(tmp_path / name, {"l2": -0.5}, **kw))[("sigmoid", "relu", "l2")]["evidence"]

    assert evidence("all.h5") == "W C I"
    ill = dict(WELL_POSED, well_posed=0, screening="along the weakest direction ... sd 3 > 0.1")
    assert evidence("ill.h5", truth=ill) == "- C I"
    # 1 of 120 uncertified is under 1%: still C; 2 are not
    assert evidence("one.h5", edit=uncertify(lambda rec: (rec["replicate"] == 0) & (rec["n"] == 500))) == "W C I"
    assert evidence("two.h5", edit=uncertify(lambda rec: (rec["replicate"] == 0) & (rec["n"] <= 1000))) == "W - I"
    assert evidence("few.h5", replicates=4) == "W C -"  # 4 fits per n
    assert evidence("one_n.h5", ns=(500,)) == "W C -"  # no interval
    table = script("rates.py", synthetic(tmp_path / "t.h5", {"l2": -0.5})).stdout
    assert rates.EVIDENCE_HELP in table and "evidence" in table.splitlines()[table.splitlines().index(
        rates.EVIDENCE_HELP) + 1]
    assert " W C I " in table


def test_gbar_not_identified_gets_no_rate(tmp_path):
    def unidentified(rec, val):
        ref = (rec["kind"] == mr.REFERENCE) & (rec["gating"] == 0)
        rec["certified"][ref], rec["weak_sd"][ref] = 0, 0.31

    losses = {"l2": -0.5, "l2_truth": -0.01, "sigmoid_d3": -0.5, "softmax_d1": -0.5}
    path = synthetic(tmp_path / "gbar.h5", losses, gatings=("sigmoid", "softmax"), truth_gating="softmax",
                     references=2, edit=unidentified)
    rows = rows_of(path)
    for loss in ("l2", "sigmoid_d3"):  # against G-bar (l2: f_G-bar) of the misspecified sigmoid fits
        row = rows[("sigmoid", "relu", loss)]
        assert row["note"] == "G-bar not identified (sd 0.31)" and row["contains"] == "n/a"
        assert row["slope_log_mean"] is None and row["ci_low"] is None and row["used"] == 120
        assert row["evidence"] == "- C -"
    truth = rows[("sigmoid", "relu", "l2_truth")]  # against f_G*: a rate, but no theory
    assert truth["note"] == "" and truth["theory"] == "none" and truth["contains"] == "n/a"
    assert truth["evidence"] == "W C I"
    for loss in ("l2", "softmax_d1"):  # the softmax fits have the truth's families: measured against G*
        row = rows[("softmax", "relu", loss)]
        assert row["note"] == "" and row["contains"] in ("yes", "no") and row["evidence"] == "W C I"
    table = script("rates.py", path).stdout
    assert "G-bar sigmoid/relu (reference fit, n = 160000): NOT identified (converged); sd along its weakest " \
           "Fisher direction at n = 500: 0.31; noise-free objective 4.000e-03; losses against it get no rate" in table
    assert "G-bar softmax/relu (reference fit, n = 160000): identified" in table
    # identified: the same rows get rates, and W
    path = synthetic(tmp_path / "ok.h5", losses, gatings=("sigmoid", "softmax"), truth_gating="softmax", references=2)
    row = rows_of(path)[("sigmoid", "relu", "sigmoid_d3")]
    assert row["note"] == "" and row["contains"] in ("yes", "no") and row["evidence"] == "W C I"
    p = script("plot_rates.py", synthetic(tmp_path / "plot.h5", losses, gatings=("sigmoid", "softmax"),
                                          truth_gating="softmax", references=2, edit=unidentified),
               "-o", tmp_path / "gbar.png")
    assert p.returncode == 0, p.stderr


def test_target_labels(tmp_path):
    losses = {"l2": -0.5, "l2_truth": -0.5, "sigmoid_d1": -0.5, "sigmoid_d3": -0.5, "softmax_d1": -0.5}
    results = mr.load(str(synthetic(tmp_path / "targets.h5", losses, gatings=("sigmoid", "softmax"),
                                    truth_gating="softmax")))
    col = {name: i for i, name in enumerate(results.losses)}
    sigmoid, softmax = 0, 1
    assert [results.target(softmax, 0, col[l]) for l in ("l2", "l2_truth", "softmax_d1")] == ["f_G*", "f_G*", "G*"]
    assert [results.target(sigmoid, 0, col[l]) for l in ("l2", "l2_truth", "sigmoid_d1", "sigmoid_d3")] == \
        ["f_G-bar", "f_G*", "G-bar", "G-bar"]
    # sigmoid_d3 is always against G-bar, even for a fit with the truth's families
    same = mr.load(str(synthetic(tmp_path / "same.h5", losses)))
    assert [same.target(0, 0, col[l]) for l in ("l2", "l2_truth", "sigmoid_d1", "sigmoid_d3")] == \
        ["f_G*", "f_G*", "G*", "G-bar"]
    rows = rows_of(tmp_path / "targets.h5")
    assert rows[("sigmoid", "relu", "l2")]["theory"] == "-1/2"
    assert rows[("softmax", "relu", "l2_truth")]["theory"] == "-1/2"
    assert rows[("sigmoid", "relu", "l2_truth")]["theory"] == "none"


def test_truth_lines(tmp_path):
    ill = {"well_posed": 0, "screening": "an estimate's sd at n = 500 is 3 > -truth_max_sd 0.1", "draw": 4,
           "draws_rejected": 4, "source": "drawn: regime 2, truth_seed 1, draw 4"}
    table = script("rates.py", synthetic(tmp_path / "ill.h5", {"l2": -0.5}, truth=ill)).stdout
    # no weakest_sd attribute: sqrt(noise / (n_min lambda_min)) = sqrt(0.01 / (500 * 0.01)) = 0.045
    assert ("truth relu: Fisher information eigenvalues 1.00e-02 .. 1.00e+00; sd along the weakest direction at "
            "n = 500 (the smallest n): 0.045; ILL POSED: an estimate's sd at n = 500 is 3 > -truth_max_sd 0.1; "
            "draw 4 (4 rejected); drawn: regime 2, truth_seed 1, draw 4") in table
    table = script("rates.py", synthetic(tmp_path / "well.h5", {"l2": -0.5})).stdout
    assert "(the smallest n): 0.05; well posed; draw 0 (0 rejected)" in table


# --- real runs ------------------------------------------------------------------------------------
def mpi_environment():
    for name, value in (("OMPI_ALLOW_RUN_AS_ROOT", "1"), ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"),
                        ("OMPI_MCA_rmaps_base_oversubscribe", "1"),
                        ("OMPI_MCA_btl_vader_single_copy_mechanism", "none"), ("OPENBLAS_NUM_THREADS", "1")):
        os.environ.setdefault(name, value)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A well-posed design (a softmax truth drawn with larger gating and expert variances), fitted with
    sigmoid gating (misspecified: against its G-bar, identified at these n) and softmax gating."""
    mpi_environment()
    out = tmp_path_factory.mktemp("real") / "results.h5"
    moerate("run", "-gating", "sigmoid,softmax", "-expert", "relu", "-truth_gating", "softmax", "-d", 4,
            "-kstar", 3, "-k", 4, "-truth_beta1_var", 4, "-truth_expert_var", 4, "-n", "1000,2000,4000,8000",
            "-replicates", 3, "-seed", 2024, "-reference_n", 20000, "-output", out, "-quiet", check=True)
    return out


def test_rates_on_real_run_in_three_formats(real):
    with h5py.File(real, "r") as h:
        done, total = int(h.attrs["tasks_done"]), int(h.attrs["tasks_total"])
    table = script("rates.py", real)
    assert table.returncode == 0, table.stderr
    assert "status complete: %d of %d tasks done" % (done, total) in table.stdout
    assert "slope log-mean" in table.stdout and "[P1 Regime 2]" in table.stdout
    assert "; well posed; draw " in table.stdout
    assert "G-bar sigmoid/relu (reference fit, n = 20000): identified" in table.stdout

    csv_rows = list(csv.DictReader(io.StringIO(script("rates.py", real, "--format", "csv").stdout)))
    doc = json.loads(script("rates.py", real, "--format", "json").stdout)
    assert doc["tasks"]["done"] == done and doc["tasks"]["reference"] == 1
    keys = {(r["gating"], r["loss"]) for r in csv_rows}
    assert keys == {(r["gating"], r["loss"]) for r in doc["rows"]}
    assert ("sigmoid", "softmax_d1") not in keys and ("softmax", "sigmoid_d1") not in keys
    assert {("sigmoid", "l2"), ("sigmoid", "l2_truth"), ("sigmoid", "sigmoid_d3"), ("softmax", "l2"),
            ("softmax", "l2_truth"), ("softmax", "softmax_dlin")} <= keys
    for c, j in zip(csv_rows, doc["rows"]):
        assert int(c["used"]) + int(c["excluded"]) + int(c["missing"]) == 12  # 4 n x 3 replicates
        assert int(c["missing"]) == 0 and j["used"] >= 6 and j["used"] <= j["certified"]
        assert float(c["ci_low"]) == pytest.approx(j["ci_low"]) and float(c["ci_high"]) == pytest.approx(j["ci_high"])
        assert j["ci_low"] <= j["ci_high"] and 0 <= j["r2"] <= 1
        # a well-posed truth and an identified G-bar; 3 replicates per n are too few for I
        assert c["evidence"] == j["evidence"] and j["evidence"].startswith("W ") and j["evidence"].endswith(" -")
        if j["loss"] == "l2":
            assert np.isfinite(j["slope_log_mean"]) and j["slope_log_mean"] < 0
            assert c["theory"] == "-1/2" and j["theory_slope"] == -0.5 and j["contains"] in ("yes", "no")
            assert j["target"] == ("f_G*" if j["gating"] == "softmax" else "f_G-bar")
        if j["loss"] == "l2_truth":
            assert j["target"] == "f_G*" and j["theory"] == ("-1/2" if j["gating"] == "softmax" else "none")
        if j["loss"] == "softmax_dlin":
            # the softmax fits have the truth's families: against G*, with k* = 3 < k = 4 atoms
            assert j["target"] == "G*" and j["theory_slope"] == -0.25


def test_ill_posed_truth_is_not_evidence(tmp_path):
    """The old default design (P1's draw) is ill posed: allowed, it is run, and its rates lack W."""
    mpi_environment()
    out = tmp_path / "ill.h5"
    moerate("run", "-gating", "sigmoid", "-expert", "relu", "-d", 2, "-kstar", 2, "-k", 3, "-n", "200,400",
            "-replicates", 2, "-allow_ill_posed", "-output", out, "-quiet", check=True)
    p = script("rates.py", out)
    assert p.returncode == 0, p.stderr
    assert "; ILL POSED: " in p.stdout
    doc = json.loads(script("rates.py", out, "--format", "json").stdout)
    assert doc["rows"] and all(r["evidence"].startswith("- ") for r in doc["rows"])


def test_plots_png_and_pdf(real, tmp_path):
    for name, extra in (("plot_rates.py", ()), ("plot_rates.py", ("--losses", "l2", "--n-min", 2000)),
                        ("plot_rates.py", ("--include-uncertified",)),
                        ("plot_timeline.py", ()), ("plot_timeline.py", ("--color", "n"))):
        for ext in ("png", "pdf"):
            out = tmp_path / ("%s-%d.%s" % (name, len(extra), ext))
            p = script(name, real, "-o", out, *extra)
            assert p.returncode == 0, p.stderr
            assert out.stat().st_size > 5000
            if ext == "png":
                width, height = png_size(out)
                assert width >= 400 and height >= 150
            else:
                assert out.read_bytes()[:5] == b"%PDF-"


def test_timeline_balance(tmp_path):
    def schedule(rec, val):  # rank 1: [0, 1], [1, 3]; rank 2: [0, 2], [2, 2.5]
        rec["rank"] = [1, 1, 2, 2]
        rec["t_start"] = T0 + np.array([0, 1, 0, 2])
        rec["t_end"] = T0 + np.array([1, 3, 2, 2.5])
        rec["wall_time"] = rec["t_end"] - rec["t_start"]

    path = synthetic(tmp_path / "t.h5", {"l2": -0.5}, ns=(500, 1000), replicates=2, edit=schedule)
    p = script("plot_timeline.py", path, "-o", tmp_path / "t.png")
    assert p.returncode == 0, p.stderr
    # busy 5.5 s over 2 workers x 3 s; last ends 3 and 2.5, median 2.75
    assert "workers 2, span 3.000 s, busy 5.500 s" in p.stdout
    assert "parallel efficiency 0.917" in p.stdout
    assert "idle tail 0.250 s" in p.stdout


# --- errors ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["rates.py", "plot_rates.py", "plot_timeline.py"])
def test_errors_are_one_line_exit_2(tmp_path, name):
    text = tmp_path / "text.h5"
    text.write_text("not HDF5\n")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h:
        h.attrs["kind"] = "moerate fit: one replicate"
    nothing = synthetic(tmp_path / "nothing.h5", {"l2": -0.5},
                        edit=lambda rec, val: (rec["status"].fill(mr.PENDING), val.fill(np.nan)))
    for path, message in ((tmp_path / "missing.h5", "no such file"), (text, "not an HDF5 file"),
                          (other, "not a moerate run results file"), (nothing, "no usable data")):
        p = script(name, path, "-o", tmp_path / "x.png") if name.startswith("plot") else script(name, path)
        assert p.returncode == 2, (path, p.stdout, p.stderr)
        assert p.stderr.startswith("%s: error: " % name) and p.stderr.count("\n") == 1, p.stderr
        assert message in p.stderr


@pytest.mark.parametrize("name", ["rates.py", "plot_rates.py", "plot_timeline.py"])
def test_help(name):
    p = script(name, "--help")
    assert p.returncode == 0 and "usage:" in p.stdout


def test_summary_table_of_several_files(real):
    p = script("summary.py", real, real, "--losses", "l2")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("| experiment | gating |") and lines[1].startswith("|---")
    head = [c.strip() for c in lines[0].split("|")[1:-1]]
    assert head[-2:] == ["certified/uncertified", "evidence"]
    rows = [[c.strip() for c in l.split("|")[1:-1]] for l in lines[2:] if l.startswith("|")]
    assert len(rows) == 4  # two files x two gatings, l2 only
    assert all(r[3] == "lse" and r[4] == "l2" and float(r[6]) < 0 and r[9] == "-1/2" for r in rows)
    assert all(r[12] == "12/0" and r[13].startswith("W ") for r in rows)
    assert any(l.startswith("Evidence: W = ") for l in lines)


def test_summary_notes_and_uncertified(tmp_path):
    path = synthetic(tmp_path / "s.h5", {"l2": -0.5}, edit=uncertify(lambda rec: rec["replicate"] < 2))
    row = [c.strip() for c in script("summary.py", path).stdout.splitlines()[2].split("|")[1:-1]]
    assert row[11:] == ["108/12", "108/12", "W - I"]
    lines = script("summary.py", path, "--include-uncertified").stdout.splitlines()
    row = [c.strip() for c in lines[2].split("|")[1:-1]]
    assert row[11:] == ["120/0", "108/12", "W - I"] and float(row[6]) > 0


def one_line_error(p, *words):
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_damaged_and_malformed_files_are_one_line_errors(real, tmp_path):
    """A checksum that fails while reading a dataset, a file without /families, a /tasks/losses of the wrong shape:
    every script says so in one line with exit status 2 (no traceback)."""
    import shutil
    damaged = tmp_path / "damaged.h5"
    shutil.copy(real, damaged)
    with h5py.File(damaged, "r") as h:
        d = h["tasks/losses"]
        info = d.id.get_chunk_info(0)
        offset = info.byte_offset + info.size // 2
    with open(damaged, "r+b") as f:  # one flipped byte inside the first chunk of the losses
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))
    for name in ("rates.py", "summary.py", "plot_rates.py", "verdicts.py", "stability.py", "export.py"):
        args = {"plot_rates.py": ["-o", tmp_path / "x.png"], "export.py": ["-o", tmp_path / "x.csv"],
                "verdicts.py": None}.get(name, [])
        if args is None:
            continue
        one_line_error(script(name, damaged, *args), "damaged")
    nofam = synthetic(tmp_path / "nofam.h5", {"l2": -0.5})
    with h5py.File(nofam, "r+") as h:
        del h["families"]
    one_line_error(script("rates.py", nofam), "/families")
    bad = synthetic(tmp_path / "transposed.h5", {"l2": -0.5, "sigmoid_d1": -0.5})
    with h5py.File(bad, "r+") as h:
        v = h["tasks/losses"][()]
        del h["tasks/losses"]
        h.create_dataset("tasks/losses", data=v.T)
    one_line_error(script("rates.py", bad), "/tasks/losses has shape")


def test_plot_into_a_missing_directory_and_empty_summary(tmp_path):
    path = synthetic(tmp_path / "s.h5", {"l2": -0.5})
    one_line_error(script("plot_rates.py", path, "-o", tmp_path / "no" / "such" / "dir.png"), "no directory")

    def pend(rec, val):
        rec["status"] = mr.PENDING
        val[:] = np.nan
    empty = synthetic(tmp_path / "empty.h5", {"l2": -0.5}, edit=pend)
    one_line_error(script("summary.py", empty), "no usable data")
