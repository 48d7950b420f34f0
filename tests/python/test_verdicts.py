"""The verdict machinery (analysis/slopes.py, stability.py, claims.py, verdicts.py, export.py): the statistics
against closed forms and independent computations, the verdict rule of docs/results/verdict_rule.md on results
files whose rates are known, the claims table against the specs, the stability diagnostic and the tidy export
against a real run read back with h5py."""
import csv
import os

import h5py
import numpy as np
import pytest

import claims as cl
import moeresults as mr
import slopes
import stability as stab
import verdicts
from conftest import SOURCE, moerate
from test_analysis import WELL_POSED, script, synthetic

DECADES = tuple(int(round(10 ** (3 + i / 4))) for i in range(13))  # 10^3..10^6, four sizes a decade


# --- statistics -------------------------------------------------------------------------------
def test_top_share_closed_form():
    assert slopes.top_share([1.0] * 9 + [91.0]) == pytest.approx(0.91)
    assert slopes.top_share([2.0] * 20) == pytest.approx(0.1)  # the top 2 of 20 equal values
    assert slopes.top_share([5.0]) == 1.0


def selection(ns, values):
    return slopes.Selection(n=np.array(ns), samples=[np.asarray(v, dtype=float) for v in values], used=0,
                            excluded=0, missing=0)


@pytest.mark.parametrize("estimator", ["log-mean", "log-median", "mean-log"])
def test_slope_of_an_exact_power_law(estimator):
    ns = [1000, 3000, 10000, 30000]
    sel = selection(ns, [[0.5 * n ** -0.3 * c for c in (0.5, 1.0, 3.0)] for n in ns])
    assert slopes.fit(sel, estimator)[0] == pytest.approx(-0.3, abs=1e-12)


def test_decade_test_separates_a_polynomial_from_a_logarithm():
    rng = np.random.default_rng(1)
    noise = lambda: np.exp(0.1 * rng.standard_normal(20))
    poly = slopes.decade_test(selection(DECADES, [0.3 * n ** -0.25 * noise() for n in DECADES]), "log-mean", 1000, rng)
    assert poly.ci_delta[0] < 0 < poly.ci_delta[1]  # constant slope: delta 0
    assert poly.ci_d_log[1] < 0  # steeper in the last decade than any (log n)^-p
    log = slopes.decade_test(selection(DECADES, [np.log(n) ** -2.0 * noise() for n in DECADES]), "log-mean", 1000, rng)
    assert log.ci_delta[0] > 0  # the decay flattens
    assert log.ci_d_log[0] < 0 < log.ci_d_log[1]  # as a power of a logarithm predicts
    # the log-rate ratio is the ratio of the decades' mean log n: (3.375 ln 10) / (5.625 ln 10) for these sizes
    assert log.log_ratio == pytest.approx(np.mean(np.log(DECADES[:5])) / np.mean(np.log(DECADES[-5:])))
    assert slopes.decade_test(selection(DECADES[:6], [[1.0, 2.0]] * 6), "log-mean", 10, rng) is None  # < 2 decades


# --- the rule on synthetic results files with known rates ----------------------------------------
def claims_file(tmp_path, body):
    path = tmp_path / "claims.toml"
    path.write_text(body)
    return str(path)


def claim(cid, rate, spec="s", loss="cells_over", extra=""):
    return """
[[claim]]
id = "%s"
paper = "P2"
theorem = "t"
gating = "softmax"
expert = "relu"
regime = ""
specification = "over"
estimator = "least squares"
cells = "over-specified"
block = "all"
rate = "%s"
test = ["%s", "softmax", "relu", "%s", "lse"]
%s""" % (cid, rate, spec, loss, extra)


def judged(tmp_path, body):
    files = verdicts.Files(str(tmp_path))
    return {c.id: verdicts.judge(c, files) for c in cl.load(claims_file(tmp_path, body))}


def test_rate_claims_consistent_inconsistent_and_gated(tmp_path):
    synthetic(tmp_path / "s.h5", {"cells_over": -0.25, "cells_exact": -0.5}, gatings=("softmax",), sigma=0.3)
    synthetic(tmp_path / "ill.h5", {"cells_over": -0.25}, gatings=("softmax",), sigma=0.3,
              truth={**WELL_POSED, "well_posed": 0, "weakest_sd": 3.0})

    def uncertify(rec, val):
        rec["certified"][::10] = 0
    synthetic(tmp_path / "unc.h5", {"cells_over": -0.25}, gatings=("softmax",), sigma=0.3, edit=uncertify)
    v = judged(tmp_path, claim("ok", "-1/4") + claim("exact", "-1/2", loss="cells_exact")
               + claim("wrong", "-1/2") + claim("ill", "-1/4", spec="ill") + claim("unc", "-1/4", spec="unc")
               + claim("absent", "-1/4", spec="nofile"))
    assert v["ok"].verdict == "consistent" and v["ok"].wci
    assert v["exact"].verdict == "consistent"
    assert v["wrong"].verdict == "inconsistent" and "slower than -1/2" in v["wrong"].reason
    assert v["ill"].verdict == "inconclusive" and v["ill"].reason.startswith("not well posed") and not v["ill"].wci
    assert "3" in v["ill"].reason  # the sd along the weakest direction
    assert v["unc"].verdict == "inconclusive" and v["unc"].reason.startswith("not certified")
    assert v["absent"].verdict == "inconclusive" and "not run" in v["absent"].reason


def test_heavy_tails_switch_to_the_median_slope(tmp_path):
    def outliers(rec, val):  # one replicate in 20 at every n carries 1000x the loss: the mean follows it
        val[rec["replicate"] == 0, 0] *= 1000
        val[(rec["replicate"] == 0) & (rec["n"] >= 4000), 0] /= 1000
    synthetic(tmp_path / "s.h5", {"cells_over": -0.25}, gatings=("softmax",), sigma=0.2, edit=outliers)
    v = judged(tmp_path, claim("heavy", "-1/4"))["heavy"]
    assert v.m.share > 0.5 and v.m.decisive == "log-median"
    assert v.verdict == "consistent"  # the median ignores the outlier; the log-mean slope does not
    assert v.m.slope_mean < -0.6


def test_slower_than_polynomial_claims(tmp_path):
    def logarithmic(rec, val):
        rng = np.random.default_rng(3)
        val[:, 0] = np.log(rec["n"].astype(float)) ** -2 * np.exp(0.1 * rng.standard_normal(len(rec)))
    synthetic(tmp_path / "log.h5", {"cells_over": -0.25}, gatings=("softmax",), ns=DECADES, edit=logarithmic)
    synthetic(tmp_path / "poly.h5", {"cells_over": -0.25}, gatings=("softmax",), ns=DECADES, sigma=0.2)
    synthetic(tmp_path / "short.h5", {"cells_over": -0.25}, gatings=("softmax",), sigma=0.2)
    v = judged(tmp_path, claim("log", "slower", spec="log") + claim("poly", "slower", spec="poly")
               + claim("short", "slower", spec="short"))
    assert v["log"].verdict == "consistent" and "flattens" in v["log"].reason
    assert v["poly"].verdict == "inconsistent" and "constant polynomial rate" in v["poly"].reason
    assert v["short"].verdict == "inconclusive" and "two decades" in v["short"].reason  # NS spans 1.5 decades


def test_comparison_claims(tmp_path):
    synthetic(tmp_path / "a.h5", {"cells_over": -0.5}, gatings=("softmax",), sigma=0.2)
    synthetic(tmp_path / "b.h5", {"cells_over": -0.25}, gatings=("softmax",), sigma=0.2)
    against = 'against = ["%s", "softmax", "relu", "cells_over", "lse"]'
    v = judged(tmp_path, claim("fast", "faster", spec="a", extra=against % "b")
               + claim("slow", "faster", spec="b", extra=against % "a")
               + claim("same", "faster", spec="a", extra=against % "a"))
    assert v["fast"].verdict == "consistent" and v["fast"].wci
    assert v["slow"].verdict == "inconsistent"
    assert v["same"].verdict == "inconclusive" and "contains 0" in v["same"].reason


def test_report_counts_the_rows_on_evidence(tmp_path):
    synthetic(tmp_path / "s.h5", {"cells_over": -0.25}, gatings=("softmax",), sigma=0.3)
    out = tmp_path / "verdicts.md"
    p = script("verdicts.py", "--results", tmp_path, "--claims",
               claims_file(tmp_path, claim("a", "-1/4") + claim("b", "-1/4", spec="nofile")), "-o", out)
    assert p.returncode == 0, p.stderr
    text = out.read_text()
    assert "1 of 2 rows (50%) rest on W C I evidence" in text
    assert "| a |" in text and "**consistent**" in text and "not run" in text
    bad = script("verdicts.py", "--claims", claims_file(tmp_path, claim("a", "-1/4") + claim("a", "-1/4")))
    assert bad.returncode == 2 and "used twice" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


# --- the claims table itself ------------------------------------------------------------------
def test_claims_table_names_existing_specs_pairs_and_losses():
    table = cl.load()
    assert len(table) >= 40
    for c in table:
        for t in (c.test, c.against):
            if t is None or not t.spec:  # a claim no run can test says why in its note
                assert t is None or c.note, c.id
                continue
            path = os.path.join(SOURCE, "jobs", "specs", t.spec + ".yaml")
            assert os.path.exists(path), "%s: no spec %s" % (c.id, t.spec)
            text = open(path).read()
            for word in (t.gating, t.expert) + (() if "losses: auto" in text else (t.loss,)):
                assert word in text, "%s: %s is not in %s" % (c.id, word, path)
    papers = {c.paper for c in table}
    assert {"P1", "P2", "P2 (ICML 2024)", "P3"} <= papers
    assert {c.kind for c in table} == {"rate", "slower", "faster", "none"}


# --- stability and export on a real run -----------------------------------------------------------
@pytest.fixture(scope="module")
def restarted(tmp_path_factory):
    out = tmp_path_factory.mktemp("stab") / "r.h5"
    moerate("run", "-options_file_yaml", os.path.join(SOURCE, "jobs", "specs", "default.yaml"), "-n_count", 2,
            "-n_range", "1000,3000", "-replicates", 4, "-stability_replicates", 3, "-stability_starts", 3,
            "-reference_n", 20000, "-output", out, "-quiet", ranks=3, check=True, timeout=900)
    return out


def test_restart_tasks_refit_the_same_data_from_other_starts(restarted):
    with h5py.File(restarted, "r") as h:
        rec = h["tasks/records"][()]
    restarts = rec[rec["kind"] == mr.RESTART]
    assert len(restarts) == 2 * 2 * 3 * 3  # pairs x n x replicates x restarts
    for r in restarts:  # the data stream of the replicate it restarts
        own = rec[(rec["kind"] == mr.REPLICATE) & (rec["gating"] == r["gating"]) & (rec["n"] == r["n"])
                  & (rec["replicate"] == r["replicate"])]
        assert len(own) == 1 and own[0]["seed"] == r["seed"] and 1 <= r["restart"] <= 3


def test_stability_matches_an_independent_computation(restarted):
    res = mr.load(str(restarted))
    with h5py.File(restarted, "r") as h:
        rec, val = h["tasks/records"][()], h["tasks/losses"][()]
        losses = [s.decode() for s in h["grid/losses"][()]]
    li = losses.index("cells_exact")
    for g in range(2):
        for n in (1000, 3000):
            ratios = []
            for r in range(3):
                sel = (rec["gating"] == g) & (rec["n"] == n) & (rec["replicate"] == r) & (rec["kind"] != mr.REFERENCE)
                sel &= (rec["certified"] == 1) & (rec["status"] == mr.CONVERGED)
                gaps, v = rec["gap"][sel], val[sel, li]
                keep = gaps - gaps.min() <= 1.0
                if keep.sum() >= 2:
                    ratios.append((v[keep].max() - v[keep].min()) / np.median(v[keep]))
            row = [x for x in stab.stability(res, g, 0, li).rows if x.n == n][0]
            assert row.sampled == len(ratios)
            if ratios:
                assert row.ratio == pytest.approx(np.median(ratios), rel=1e-12)


def test_tidy_export_reads_back(restarted, tmp_path):
    out = tmp_path / "fits.csv"
    p = script("export.py", restarted, "-o", out)
    assert p.returncode == 0, p.stderr
    with open(out) as f:
        rows = list(csv.DictReader(f))
    res = mr.load(str(restarted))
    fits = (res.records["kind"] != mr.REFERENCE) & (res.records["status"] != mr.PENDING)
    assert len(rows) == int(np.isfinite(res.values[fits]).sum())
    r = rows[0]
    i = int(np.flatnonzero(fits)[0])
    assert (r["gating"], int(r["n"]), int(r["replicate"]), r["loss"]) == (
        res.gatings[res.records["gating"][i]], res.records["n"][i], res.records["replicate"][i], res.losses[0])
    assert float(r["value"]) == res.values[i, 0]
    assert {row["restart"] for row in rows} == {"0", "1", "2", "3"}
    bad = script("export.py", restarted, "-o", tmp_path / "x.xlsx")
    assert bad.returncode == 2 and "csv or .parquet" in bad.stderr
    try:
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        bad = script("export.py", restarted, "-o", tmp_path / "x.parquet")
        assert bad.returncode == 2 and "pyarrow" in bad.stderr
        return
    assert script("export.py", restarted, "-o", tmp_path / "x.parquet").returncode == 0
