"""The random streams of a replicate (format 6, -data_streams): one generator per chunk of rows, seeded from
(seed, stream, n, replicate, chunk).  The uniform inputs of every chunk are checked against an independent
computation: numpy's MT19937 seeded as GSL seeds mt19937 (Knuth's init_genrand) from the SplitMix64 chain of
src/util/stream.c.  The former streams
(rows: one generator per sample) share chunk 0 with them; the screened truth and the evaluation sample do
not depend on the choice; analysis/compare_rates.py compares two rate tables row by row."""
import csv
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import MOERATE, SOURCE, moerate

MASK = (1 << 64) - 1
STREAM_X = 2
TINY = ["-gating", "softmax", "-expert", "linear", "-d", 2, "-kstar", 2, "-k", 2, "-allow_ill_posed", "-losses", "l2"]


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def stream_seed(seed, stream, n, replicate, index):
    """MoeStreamSeed, folded to GSL's 32 bits of seed (src/data/rng.c)."""
    h = splitmix64(seed & MASK)
    for v in (stream, n, replicate, index):
        h = splitmix64(h ^ (v & MASK))
    return (h >> 32) ^ (h & 0xFFFFFFFF)


def uniforms(seed, count):
    """gsl_rng_uniform of a GSL mt19937 generator set to seed: numpy's MT19937 after init_genrand."""
    bg = np.random.MT19937()
    bg._legacy_seeding(seed or 4357)  # GSL's mt19937_set: seed 0 means 4357
    return bg.random_raw(count) / 2.0 ** 32


def chunk_starts(n):
    """MoeDataChunks and MoeDataChunkStart (include/moedata.h, src/data/group.c): P + 1 row offsets."""
    P = max(1, min(64, n // 1024))
    return [n * c // P for c in range(P + 1)]


def fit(tmp_path, name, *args):
    out = tmp_path / (name + ".h5")
    p = moerate("fit", *TINY, *args, "-output", out)
    assert p.returncode == 0, p.stderr
    return h5py.File(out, "r")


@pytest.mark.parametrize("n, replicate, seed, lo, hi", [(5000, 0, 1, -1.0, 1.0), (7777, 3, 99, -2.0, 0.5)])
def test_each_chunk_draws_its_own_stream(tmp_path, n, replicate, seed, lo, hi):
    """Every chunk's inputs are the uniforms of the generator keyed by its index, scaled to [x_lo, x_hi]."""
    h = fit(tmp_path, "blocks", "-n", n, "-replicate", replicate, "-seed", seed, "-x_lo", lo, "-x_hi", hi)
    X = h["data/X"][:]
    starts = chunk_starts(n)
    assert len(starts) > 2, "the sample must have several chunks"
    for c in range(len(starts) - 1):
        a, b = starts[c], starts[c + 1]
        u = uniforms(stream_seed(seed, STREAM_X, n, replicate, c), (b - a) * X.shape[1])
        assert np.array_equal(X[a:b].ravel(), lo + (hi - lo) * u), "chunk %d" % c


def test_rows_and_blocks_share_chunk_0_and_a_one_chunk_sample(tmp_path):
    """The former streams (rows) draw chunk 0 as blocks do and the later chunks otherwise; a sample of one
    chunk is the same in both; only blocks names its streams in the spec text, so a rows spec keeps its
    former hash."""
    b = fit(tmp_path, "blocks", "-n", 5000)
    r = fit(tmp_path, "rows", "-n", 5000, "-data_streams", "rows")
    a = chunk_starts(5000)[1]
    assert np.array_equal(b["data/X"][:a], r["data/X"][:a]) and np.array_equal(b["data/Y"][:a], r["data/Y"][:a])
    assert not np.array_equal(b["data/X"][a:], r["data/X"][a:])
    assert "-data_streams blocks" in b.attrs["spec"] and "-data_streams" not in r.attrs["spec"]
    assert b.attrs["spec_hash"] != r.attrs["spec_hash"]
    one_b = fit(tmp_path, "one_blocks", "-n", 2000)
    one_r = fit(tmp_path, "one_rows", "-n", 2000, "-data_streams", "rows")
    assert np.array_equal(one_b["data/X"][:], one_r["data/X"][:]) and np.array_equal(one_b["data/Y"][:], one_r["data/Y"][:])
    assert one_b["fit"].attrs["objective"] == one_r["fit"].attrs["objective"]


def test_the_truth_is_screened_on_the_same_sample_with_either_streams(tmp_path):
    """A Gaussian MoE's truth is screened on a sample of the model itself (eval_n = 10000 rows: 9 chunks, so
    the streams would differ); it stays on one stream, so the same draw is kept, with the same Fisher
    eigenvalues bit for bit, and the evaluation sample gives the same L2 error of the truth itself (0)."""
    gauss = ["-model", "gaussian", "-estimator", "mle", "-gating", "softmax", "-expert", "linear", "-d", 2, "-kstar", 2,
             "-k", 2, "-n", 3000, "-losses", "l2"]
    files = []
    for streams in ("blocks", "rows"):
        out = tmp_path / ("%s.h5" % streams)
        p = moerate("fit", *gauss, "-data_streams", streams, "-output", out)
        assert p.returncode == 0, p.stderr
        files.append(h5py.File(out, "r"))
    tb, tr = (list(f["truth"].values())[0] for f in files)
    assert tb.attrs["well_posed"] == 1 and tb.attrs["draw"] == tr.attrs["draw"]
    assert np.array_equal(tb["theta"][:], tr["theta"][:])
    assert np.array_equal(tb["fisher_eigenvalues"][:], tr["fisher_eigenvalues"][:])
    assert tb.attrs["weakest_sd"] == tr.attrs["weakest_sd"]
    assert not np.array_equal(files[0]["data/Y"][:], files[1]["data/Y"][:])  # the replicates differ


def test_a_run_file_is_format_6_and_bad_streams_are_one_line_exit_2(tmp_path):
    out = tmp_path / "run.h5"
    p = moerate("run", *TINY, "-n", 3000, "-replicates", 1, "-output", out, "-quiet")
    assert p.returncode == 0, p.stderr
    with h5py.File(out, "r") as h:
        assert h.attrs["format_version"] == 6 and "-data_streams blocks" in h.attrs["spec"]
    before = out.read_bytes()
    p = moerate("run", *TINY, "-n", 3000, "-replicates", 1, "-data_streams", "chunks", "-output", out)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "-data_streams 'chunks'" in lines[0] and "blocks or rows" in lines[0]
    assert out.read_bytes() == before


def test_a_file_of_the_former_streams_is_not_resumed_with_the_new_ones(tmp_path):
    """The streams are part of the spec's hash: a results file made with -data_streams rows is refused, one
    line and exit 2, by a run with the default streams, and left as it was; with rows again it just reports."""
    out = tmp_path / "rows.h5"
    grid = [*TINY, "-n", 3000, "-replicates", 1, "-output", out, "-quiet"]
    assert moerate("run", *grid, "-data_streams", "rows").returncode == 0
    before = out.read_bytes()
    p = moerate("run", *grid)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "written from another spec" in p.stderr
    assert out.read_bytes() == before
    assert moerate("run", *grid, "-data_streams", "rows").returncode == 0


ROW = {"gating": "softmax", "expert": "gelu", "target": "G*", "n_min": 1000, "n_max": 100000, "n_sizes": 10, "excluded": 0,
       "missing": 0, "uncertified": 0, "slope_mean_log": "", "slope_log_median": "", "estimator": "log-mean", "r2": 1,
       "theory": "-1/2", "theory_slope": -0.5, "theory_tag": "P2", "theory_reason": "", "contains": "yes", "note": "",
       "fitted_by": "lse"}


def table(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(ROW) + ["loss", "slope_log_mean", "ci_low", "ci_high", "certified", "used", "evidence"])
        w.writeheader()
        for loss, s, lo, hi, cert, ev in rows:
            w.writerow(dict(ROW, loss=loss, slope_log_mean=s, ci_low=lo, ci_high=hi, certified=cert, used=200, evidence=ev))


def test_compare_rates_row_by_row(tmp_path):
    """A slope outside its former interval and a change of evidence are flagged and counted; a row of one
    table only is listed and counted apart; a file that is not a rate table is one line and exit 2."""
    table(tmp_path / "a.csv", [("l2", -0.50, -0.52, -0.48, 200, "W C I"), ("cells_over", -0.25, -0.30, -0.20, 200, "W C I"),
                               ("cells_exact", -0.5, -0.55, -0.45, 200, "W C I")])
    table(tmp_path / "b.csv", [("l2", -0.51, -0.53, -0.49, 200, "W C I"), ("cells_over", -0.35, -0.40, -0.30, 180, "W - I"),
                               ("softmax_d1", -0.5, -0.6, -0.4, 200, "W C I")])
    script = os.path.join(SOURCE, "analysis", "compare_rates.py")
    p = subprocess.run([sys.executable, script, tmp_path / "a.csv", tmp_path / "b.csv", "--format", "csv"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    rows = {r["loss"]: r for r in csv.DictReader(p.stdout.splitlines())}
    assert rows["l2"]["inside"] == "yes" and rows["l2"]["evidence_same"] == "yes"
    assert rows["cells_over"]["inside"] == "no" and rows["cells_over"]["evidence_same"] == "no"
    assert rows["cells_over"]["before_certified"] == "200/200" and rows["cells_over"]["after_certified"] == "180/200"
    assert rows["cells_exact"]["evidence_same"] == "before only" and rows["softmax_d1"]["evidence_same"] == "after only"
    md = subprocess.run([sys.executable, script, tmp_path / "a.csv", tmp_path / "b.csv"], capture_output=True, text=True).stdout
    assert ("4 rows: 1 with the new slope outside its former interval, 1 whose evidence changed, 1 in the former "
            "table only, 1 in the new table only") in md
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n")
    p = subprocess.run([sys.executable, script, tmp_path / "bad.csv", tmp_path / "b.csv"], capture_output=True, text=True)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "not a rate table" in p.stderr
