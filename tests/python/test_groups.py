"""Grouped fits (-fit_group g): a replicate's rows spread over g ranks, its sums taken in a fixed order of
chunks.  The same numbers, bit for bit, for every group size and every number of ranks; the rows each rank
draws are the rows of the whole sample; kills, signals and resume keep their guarantees; a dead group member
ends the run with an error, not a hang; bad group settings are one line and exit 2."""
import os
import re
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

from conftest import MOERATE, SOURCE, moerate
from moemodel import model_from_h5
from test_run import alive, assert_complete_once, assert_same_results, kill_job, start, wait_for_tasks, wait_gone

SPECS = os.path.join(SOURCE, "jobs", "specs")
# sizes of several chunks each (a chunk has at least 1024 rows): 2, 4 and 8 chunks
TINY = ["-d", 2, "-kstar", 2, "-k", 3, "-truth_regime", 1, "-truth_expert_var", 0.5, "-allow_ill_posed"]
GRID = ["-gating", "softmax", "-expert", "relu", "-n", "2500,5000,9000", "-replicates", 3, *TINY, "-quiet"]


def fit(tmp_path, name, ranks, *args):
    out = tmp_path / ("%s.h5" % name)
    p = moerate("fit", *args, "-output", out, ranks=ranks if ranks > 1 else None)
    assert p.returncode == 0, p.stderr
    return out


@pytest.mark.parametrize("args", [
    ["-options_file_yaml", os.path.join(SPECS, "p1_fig1_wellposed_quick.yaml"), "-gating", "softmax", "-expert", "relu",
     "-losses", "l2,cells_exact,cells_over", "-n", 20000, "-data_streams", "blocks", "-fit_order", "chunks"],
    ["-options_file_yaml", os.path.join(SPECS, "deepseek_linear_quick.yaml"), "-stability_replicates", 0, "-n", 6000],
    ["-options_file_yaml", os.path.join(SPECS, "deepseek_linear_quick.yaml"), "-stability_replicates", 0, "-n", 6000,
     "-data_streams", "rows"],
    ["-options_file_yaml", os.path.join(SPECS, "contam_bi_quick.yaml"), "-stability_replicates", 0, "-n", 6000],
    ["-options_file_yaml", os.path.join(SPECS, "contam_bi_quick.yaml"), "-stability_replicates", 0, "-n", 6000,
     "-data_streams", "rows"],
], ids=["least squares", "Gaussian MoE", "Gaussian MoE, one stream per sample", "contaminated MoE",
        "contaminated MoE, one stream per sample"])
def test_a_grouped_fit_is_the_same_for_every_group_size(tmp_path, args):
    """moerate fit on one rank as it comes (-fit_order chunks, the default), and with -fit_group 1, 2 and 3 (under
    mpirun): the same fit, objective, certificate and losses bit for bit, with the streams of format 6 (one
    per chunk) and the former ones (rows: each rank skips the draws before its rows; the contaminated MoE's
    draws depend on the inputs).  The truth's objective on each group's rows is the one-rank value too, and
    numpy's on the one-rank file's data agrees with it: every rank drew the rows of the whole sample."""
    files = [fit(tmp_path, "default", 1, *args)] + [fit(tmp_path, "g%d" % g, g, *args, "-fit_group", g) for g in (1, 2, 3)]
    with h5py.File(files[0], "r") as h:
        theta, fitattrs, losses = h["fit/theta"][:], dict(h["fit"].attrs), dict(h["losses"].attrs)
        tg = h["truth"][list(h["truth"])[0]]
        tm, tth = model_from_h5(tg), tg["theta"][:]
        X, Y = h["data/X"][:], h["data/Y"][:]
        if "drift" in tg:  # a truth that moves with n: this n's
            tth = tth + len(Y) ** -tg.attrs["drift_rate"] * tg["drift"][:]
        m = model_from_h5(h["model"])
        if m.model == "contaminated":  # one atom: the fitted model evaluates the truth's parameters
            ref = -m.log_likelihood(tth, X, Y)
        else:
            ref = -tm.log_likelihood(tth, X, Y) if tm.ns else tm.objective(tth, X, Y)
        assert fitattrs["ref_objective"] == pytest.approx(ref, rel=1e-12)
    for g, f in zip((1, 1, 2, 3), files):
        with h5py.File(f, "r") as h:
            assert ("data" not in h) == (g > 1) and h.attrs["n"] == len(Y)  # the rows stay spread over a group
            assert np.array_equal(h["fit/theta"][:], theta)
            for a in ("objective", "ref_objective", "gap", "iterations", "certified", "gradient_z"):
                assert h["fit"].attrs[a] == fitattrs[a] or (np.isnan(fitattrs[a]) and np.isnan(h["fit"].attrs[a])), a
            got = dict(h["losses"].attrs)
            assert all(got[k] == v or (np.isnan(v) and np.isnan(got[k])) for k, v in losses.items())


def test_the_fit_order_rows_sums_in_row_order_as_the_results_before(tmp_path):
    """-fit_order rows keeps the one-rank sums in row order, as the committed results made before chunks became
    the default (their specs say fit_order: rows): such a spec's text has no -fit_order line, so its results
    files keep their hashes; the chunks' order is another rounding path: on this over-specified fit both are
    certified, a few certificate units apart.  Under 2048 rows a sample is one chunk, and the two orders are
    the same fit bit for bit."""
    args = ["-options_file_yaml", os.path.join(SPECS, "p1_fig1_wellposed_quick.yaml"), "-gating", "softmax", "-expert",
            "relu", "-losses", "l2", "-fit_order", "chunks"]
    a = fit(tmp_path, "rows", 1, *args, "-n", 20000, "-fit_order", "rows")
    b = fit(tmp_path, "chunks", 1, *args, "-n", 20000)
    with h5py.File(a, "r") as ha, h5py.File(b, "r") as hb:
        assert ha["fit"].attrs["certified"] == 1 and hb["fit"].attrs["certified"] == 1
        assert ha.attrs["spec_hash"] != hb.attrs["spec_hash"]
        assert "-fit_order chunks" in hb.attrs["spec"] and "-fit_order" not in ha.attrs["spec"]
        assert np.array_equal(ha["data/Y"][:], hb["data/Y"][:])
        assert not np.array_equal(ha["fit/theta"][:], hb["fit/theta"][:])
        assert abs(ha["fit"].attrs["objective"] - hb["fit"].attrs["objective"]) <= 3 * 0.01 / (2 * 20000)
    one = [fit(tmp_path, "one_" + order, 1, *args, "-n", 2000, "-fit_order", order) for order in ("rows", "chunks")]
    with h5py.File(one[0], "r") as ha, h5py.File(one[1], "r") as hb:
        assert np.array_equal(ha["fit/theta"][:], hb["fit/theta"][:])
        assert ha["fit"].attrs["objective"] == hb["fit"].attrs["objective"]


def test_the_truth_is_screened_on_a_whole_sample_before_the_group_forms(tmp_path):
    """moerate fit on a group screens its truth as one rank does (the Fisher line is the same), also when the
    screening sample is one chunk that a group of 2 would leave rank 0 without rows."""
    args = ["-options_file_yaml", os.path.join(SPECS, "contam_bi_quick.yaml"), "-stability_replicates", 0, "-n", 6000,
            "-eval_n", 1500]
    lines = []
    for g in (1, 2):
        p = moerate("fit", *args, "-fit_group", g, "-output", tmp_path / ("g%d.h5" % g), ranks=g if g > 1 else None, timeout=300)
        assert p.returncode == 0, p.stderr
        lines.append([line for line in p.stdout.splitlines() if line.startswith("Fisher")])
        assert "data  : n=6000," in p.stdout
    assert lines[0] and lines[0] == lines[1]


def test_pairs_of_different_sizes_share_their_g_bar_with_the_group(tmp_path):
    """A grid whose pairs have different parameter counts (relu and srelu experts) and whose softmax fits of a
    sigmoid truth need G-bar: the group's first rank hands each pair's G-bar (its own p values) to the others;
    the same results as one rank."""
    grid = ["-gating", "sigmoid,softmax", "-expert", "relu,srelu", "-n", "1500,3000", "-replicates", 2, *TINY, "-quiet"]
    one, two = tmp_path / "one.h5", tmp_path / "two.h5"
    assert moerate("run", *grid, "-fit_group", 1, "-output", one).returncode == 0
    p = moerate("run", *grid, "-fit_group", 2, "-output", two, ranks=3)
    assert p.returncode == 0, p.stderr
    assert_same_results(one, two)
    with h5py.File(two, "r") as h:
        assert list(h["tasks/records"]["kind"]).count(1) == 2 and len(set(h["tasks/records"]["p"])) == 2


@pytest.fixture(scope="module")
def grouped(tmp_path_factory):
    """The grid fitted by one rank with -fit_group 1."""
    out = tmp_path_factory.mktemp("groups") / "one.h5"
    moerate("run", *GRID, "-fit_group", 1, "-output", out, check=True)
    return out


@pytest.mark.parametrize("ranks,g", [(3, 2), (4, 3), (5, 2)], ids=["one group of 2", "one group of 3", "two groups of 2"])
def test_grouped_runs_are_the_same_at_any_rank_count(tmp_path, grouped, ranks, g):
    out = tmp_path / "r.h5"
    p = moerate("run", *GRID, "-fit_group", g, "-output", out, ranks=ranks)
    assert p.returncode == 0, p.stderr
    assert_same_results(grouped, out)
    with h5py.File(out, "r") as h:
        assert set(h["tasks/records"]["rank"]) == set(range(1, ranks, g))  # each group's first rank reports


# one pair, one estimator: each task's expected cost is proportional to its n
AUTO_N = (20000, 25000, 40000)
AUTO = ["-gating", "softmax", "-expert", "relu", "-n", ",".join(map(str, AUTO_N)), "-replicates", 2, *TINY]


def auto_layout(ns, workers):
    """The rule of -fit_group auto written out again: a task above half the fair share (the tasks' cost over the
    workers) wants the smallest power of two of ranks that brings it within that half, at most 64, the workers
    and its chunks (n // 1024); such tasks, largest first, get a group each while ranks remain."""
    half = sum(ns) / workers / 2
    sizes, want = [], {}
    for n in sorted(ns, reverse=True):
        cap, w = min(64, workers, max(1, n // 1024)), 1
        while w < cap and n / w > half:
            w *= 2
        want[n] = min(w, cap)
        if want[n] > 1 and sum(sizes) + want[n] <= workers:
            sizes.append(want[n])
    sizes = sorted(sizes + [1] * (workers - sum(sizes)), reverse=True)
    return sizes, {n: next((g for g in sizes if g <= w), 1) for n, w in want.items()}  # the largest group formed within it


def layout_line(sizes):
    """The run's line: the sizes by runs, "2 worker group(s): 1 of 4 rank(s), 1 of 1 rank(s)"."""
    runs = [(sizes.count(g), g) for g in sorted(set(sizes), reverse=True)]
    return "groups: -fit_group auto: %d worker group(s): %s" % (
        len(sizes), ", ".join("%d of %d rank(s)" % (c, g) for c, g in runs))


@pytest.mark.parametrize("ranks", [3, 4, 6])
def test_auto_groups_give_the_largest_tasks_groups_by_the_rule(tmp_path, ranks):
    """-fit_group auto: the layout printed is the rule's (here [1, 1], [2, 1] and [4, 1] for 2, 3 and 5
    workers), every task runs on a group at least as large as it wants (the record names the group's first
    rank), the groups of one get the tasks that want no more, and the results are one rank's, bit for bit."""
    sizes, want = auto_layout([n for n in AUTO_N for _ in range(2)], ranks - 1)
    assert sizes == {3: [1, 1], 4: [2, 1], 6: [4, 1]}[ranks]
    one, out = tmp_path / "one.h5", tmp_path / "auto.h5"
    assert moerate("run", *AUTO, "-fit_group", 1, "-quiet", "-output", one).returncode == 0
    p = moerate("run", *AUTO, "-fit_group", "auto", "-output", out, ranks=ranks)
    assert p.returncode == 0, p.stderr
    assert layout_line(sizes) in p.stdout, p.stdout
    assert_same_results(one, out)
    with h5py.File(out, "r") as h:
        r = h["tasks/records"][:]
        assert "-fit_order chunks" in h.attrs["spec"]
    first = np.cumsum([1] + sizes[:-1])  # each group's first rank
    size_of = dict(zip(first, sizes))
    for n, rank in zip(r["n"], r["rank"]):
        assert size_of[rank] >= want[n], (n, rank)
    if ranks == 6:  # the 20000 and 25000 tasks want one rank: the last rank, a group of one, runs some of them
        assert want[20000] == want[25000] == 1 and 5 in set(r["rank"])


YIELDED = r"task (\d+) ran [0-9.]+s on a group of (\d+) \(rank (\d+)\), longer than -fit_group_yield allows: handed to a group of (\d+)"


@pytest.mark.parametrize("ranks,layout", [(4, [2, 1]), (8, [4, 2, 1])])
def test_fits_that_overrun_are_handed_to_the_largest_group_with_the_same_results(tmp_path, ranks, layout):
    """-fit_group auto with -fit_group_yield 1e-6: every fit a smaller group starts after its first on a group of
    that size (which measures the seconds per cost unit there) lasts longer than the rule allows (each task lasts
    at least 0.5 s: -test_task_delay) and is handed back, then run by the largest group (its record names that
    group's first rank); the run says how many, and the results are one rank's, bit for bit (a group's sums are
    the same for every size, so a fit run again elsewhere ends where it would have).  On 4 ranks a rank alone
    hands fits to a group of 2; on 8 (groups of 4, 2 and 1, the 20000-row fits wanting 2) the group of 2 hands
    them to the group of 4, all its ranks leaving the fit together."""
    assert auto_layout([n for n in AUTO_N for _ in range(2)], ranks - 1)[0] == layout
    one, out = tmp_path / "one.h5", tmp_path / "auto.h5"
    assert moerate("run", *AUTO, "-fit_group", 1, "-quiet", "-output", one).returncode == 0
    p = moerate("run", *AUTO, "-fit_group", "auto", "-fit_group_yield", 1e-6, "-test_task_delay", 0.5, "-verbose",
                "-output", out, ranks=ranks)
    assert p.returncode == 0, p.stderr
    assert layout_line(layout) in p.stdout, p.stdout
    handed = [tuple(map(int, m)) for m in re.findall(YIELDED, p.stderr)]
    assert handed, p.stderr
    first = dict(zip(np.cumsum([1] + layout[:-1]), layout))  # each group's first rank and its size
    assert all(first[rank] == g < layout[0] and to == layout[0] for _, g, rank, to in handed), handed
    assert "moerate: %d fit(s) ran longer than -fit_group_yield allows and were handed to a group of %d" % (
        len(handed), layout[0]) in p.stderr, p.stderr
    assert_same_results(one, out)
    with h5py.File(out, "r") as h:
        r = h["tasks/records"][:]
    assert set(r["rank"][[t for t, _, _, _ in handed]]) == {1}
    assert np.all(r["status"] == 1) and np.all(r["certified"] == 1)


def test_a_stop_among_handed_over_fits_resumes_to_the_same_results(tmp_path):
    """SIGUSR1 to a run whose rank alone keeps handing fits to the group of 2 (-fit_group_yield 1e-6, tasks of at
    least 1 s): the run stops cleanly (3) with the handed-over fits pending, whichever message was in flight,
    and the run resumed on 3 ranks ends with one rank's results, bit for bit, every task once."""
    one, out = tmp_path / "one.h5", tmp_path / "auto.h5"
    assert moerate("run", *AUTO, "-fit_group", 1, "-quiet", "-output", one).returncode == 0
    p = start(["run", *AUTO, "-fit_group", "auto", "-fit_group_yield", 1e-6, "-test_task_delay", 1, "-verbose",
               "-flush_interval", 0, "-output", out], 4)
    wait_for_tasks(out, 2, p)
    time.sleep(1)  # the rank alone, measured by its first fit, hands its second over within 0.2 s; the group has 4 s of work left
    p.send_signal(signal.SIGUSR1)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 3, err
    assert re.search(YIELDED, err), err  # the rank alone had handed fits over before the stop
    with h5py.File(out, "r") as h:
        assert h.attrs["status"] == "incomplete" and h["sessions"][-1]["exit_status"] == 3
    q = moerate("run", *AUTO, "-fit_group", "auto", "-output", out, ranks=3)
    assert q.returncode == 0, q.stderr
    assert_same_results(one, out)
    assert_complete_once(out)


def test_auto_groups_run_one_rank_estimators_alone(tmp_path):
    """-fit_group auto with an estimator that fits on one rank (sgd beside lse): the layout keeps a rank alone
    for it, every sgd fit runs on a group of one (on the whole sample, as without -fit_group), the large
    least-squares fits on the groups, and the results are the one-rank run's, bit for bit."""
    grid = [*AUTO, "-estimator", "lse,sgd"]
    one, out = tmp_path / "one.h5", tmp_path / "auto.h5"
    assert moerate("run", *grid, "-fit_group", "auto", "-quiet", "-output", one).returncode == 0
    p = moerate("run", *grid, "-fit_group", "auto", "-output", out, ranks=6)
    assert p.returncode == 0, p.stderr
    line = next(l for l in p.stdout.splitlines() if l.startswith("groups:"))
    assert line.endswith(", 1 of 1 rank(s)") and "of 2 rank(s)" in line, line  # here 2, 2, 1
    sizes = [int(g) for c, g in re.findall(r"(\d+) of (\d+) rank", line) for _ in range(int(c))]
    size_of = dict(zip(np.cumsum([1] + sizes[:-1]), sizes))
    assert_same_results(one, out)
    with h5py.File(out, "r") as h:
        r, names = h["tasks/records"][:], [e.decode() for e in h["grid/estimators"][:]]
    sgd = r["estimator"] == names.index("sgd")
    assert {size_of[rank] for rank in r["rank"][sgd]} == {1}
    assert {size_of[rank] for rank in r["rank"][~sgd & (r["n"] == 40000)]} == {2}


def test_auto_groups_resume_on_another_layout_to_the_same_results(tmp_path):
    """A run with -fit_group auto stopped part-way and resumed at another rank count lays its groups out again
    from the tasks still pending; the results are one rank's, bit for bit."""
    one, out = tmp_path / "one.h5", tmp_path / "auto.h5"
    assert moerate("run", *GRID, "-fit_group", 1, "-output", one).returncode == 0
    p = start(["run", *GRID, "-fit_group", "auto", "-output", out, "-flush_interval", 0], 4)
    wait_for_tasks(out, 4, p)
    kill_job(p)
    q = moerate("run", *GRID, "-fit_group", "auto", "-output", out, ranks=3)
    assert q.returncode == 0, q.stderr
    assert_same_results(one, out)
    assert_complete_once(out)


def test_grouped_run_killed_partway_resumes_to_the_same_results(tmp_path, grouped):
    """Killed after 4 tasks (each task held 0.3 s, so that the 27-task run cannot end before the kill on a
    loaded machine, as it once did under ctest -j2) and resumed on another layout: one rank's results."""
    out = tmp_path / "r.h5"
    p = start(["run", *GRID, "-fit_group", 2, "-output", out, "-flush_interval", 0, "-test_task_delay", 0.3], 5)
    wait_for_tasks(out, 4, p)
    kill_job(p)
    with h5py.File(out, "r") as h:
        assert h.attrs["status"] == "incomplete" and 4 <= h.attrs["tasks_done"] < 27
    q = moerate("run", *GRID, "-fit_group", 2, "-output", out, ranks=3)
    assert q.returncode == 0, q.stderr
    assert_same_results(grouped, out)
    assert_complete_once(out)


@pytest.mark.parametrize("target", ["leader", "member"])
def test_a_signal_to_one_rank_of_a_group_stops_the_run_cleanly(tmp_path, grouped, target):
    """SIGTERM to one rank of a group, its first (which talks to the master) or another: the group agrees to
    stop at the same iteration of its fit, the run ends with exit status 3, and a resume completes it."""
    out = tmp_path / "r.h5"
    p = start(["run", *GRID, "-fit_group", 2, "-output", out, "-flush_interval", 0, "-test_task_delay", 0.3], 3)
    wait_for_tasks(out, 3, p)
    os.kill(rank_pid(p, 1 if target == "leader" else 2), signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    wait_gone(p)
    assert p.returncode == 3, err
    q = moerate("run", *GRID, "-fit_group", 2, "-output", out, ranks=3)
    assert q.returncode == 0, q.stderr
    assert_same_results(grouped, out)
    assert_complete_once(out)


def test_a_dead_group_member_ends_the_run_with_an_error_not_a_hang(tmp_path):
    out = tmp_path / "r.h5"
    p = start(["run", *GRID, "-fit_group", 2, "-output", out, "-flush_interval", 0, "-test_task_delay", 0.3], 3)
    wait_for_tasks(out, 2, p)
    os.kill(rank_pid(p, 2), signal.SIGKILL)
    t0 = time.time()
    p.communicate(timeout=120)
    wait_gone(p)
    assert p.returncode not in (0, 3) and time.time() - t0 < 60
    with h5py.File(out, "r") as h:  # what was stored is still there
        assert h.attrs["tasks_done"] >= 2


def rank_pid(p, rank):
    """The pid of MPI rank `rank` of the job started by `start` (Open MPI's OMPI_COMM_WORLD_RANK)."""
    for pid in alive(p):
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                envs = f.read().split(b"\0")
        except OSError:
            continue
        if b"OMPI_COMM_WORLD_RANK=%d" % rank in envs and os.path.realpath("/proc/%s/exe" % pid) == os.path.realpath(MOERATE):
            return int(pid)
    raise AssertionError("no rank %d" % rank)


@pytest.mark.parametrize("ranks,args,message", [
    (4, ["-fit_group", 2], "-fit_group 2: the 3 ranks after the master do not split into groups of 2: start mpirun with -n 3"),
    (1, ["-fit_group", 2], "-fit_group 2 needs 1 + a multiple of 2 ranks"),
    (1, ["-fit_group", -1], "-fit_group '-1' is not a group size: give a number of ranks (0: one rank per fit) or auto"),
    (1, ["-fit_group", "big"], "-fit_group 'big' is not a group size"),
    (1, ["-fit_group", 2, "-estimator", "lse,sgd"], "-fit_group 2: the sgd estimator fits on one rank"),
    (1, ["-fit_group", 1, "-estimator", "sgd"], "-fit_group 1: the sgd estimator fits on one rank"),
    (1, ["-fit_group", 1, "-fit_hessian_rows", 1000], "a group forms the Hessian from every row"),
    (1, ["-fit_order", "random"], "-fit_order 'random' is not an order of the fit's sums: use chunks or rows"),
    (3, ["-fit_group", 2, "-fit_order", "rows"], "-fit_group 2 with -fit_order rows: a group sums in the chunks' order"),
    (1, ["-fit_order", "chunks", "-fit_hessian_rows", 1000], "-fit_order chunks with -fit_hessian_rows 1000: a Hessian from the first rows needs the sums in row order"),
    (1, ["-fit_order", "chunks", "-fit_rows"], "-fit_order chunks with -fit_rows"),
    (1, ["-fit_group", 1, "-tao_type", "brgn"], "-fit_group with -tao_type brgn: TAO's own least squares needs every row on one rank"),
    (3, ["-fit_group", 1, "-fit_group_yield", 2], "-fit_group_yield needs -fit_group auto"),
    (1, ["-fit_group_yield", 1], "-fit_group_yield needs -fit_group auto"),
    (1, ["-fit_group", "auto", "-fit_group_yield", -1], "-fit_group_yield -1 must be a factor >= 0"),
])
def test_bad_group_settings_are_one_line_and_exit_2(tmp_path, ranks, args, message):
    out = tmp_path / "r.h5"
    out.write_bytes(b"keep me")
    p = moerate("run", *GRID, *args, "-output", out, ranks=ranks if ranks > 1 else None)
    assert p.returncode == 2 and message in p.stderr, p.stderr
    ours = {line for line in p.stderr.splitlines() if line.startswith("moerate")}  # mpiexec adds its own lines
    assert len(ours) == 1, p.stderr
    assert out.read_bytes() == b"keep me"


def test_fit_on_more_ranks_than_its_group_is_refused(tmp_path):
    p = moerate("fit", *TINY, "-n", 3000, "-fit_group", 2, ranks=3)
    assert p.returncode == 2 and "`moerate fit` runs on one rank, or on the -fit_group ranks" in p.stderr, p.stderr


def test_costs_table_stands_in_for_its_results_file(tmp_path, grouped):
    """bench/simulate.py --export writes a results file's per-task costs (docs/results/costs, made by
    docs/results/make.sh); read back, the table gives the simulation the same records, status and cost laws
    as the results file itself, wall times to the last bit."""
    import simulate
    out = tmp_path / "costs.csv"
    subprocess.run(["/usr/bin/python3", os.path.join(SOURCE, "bench", "simulate.py"), "--export", str(grouped), str(out)],
                   check=True)
    a, b = simulate.Measured(str(out)), simulate.Measured(str(grouped))
    assert (a.complete, a.names, a.done, a.quick) == (b.complete, b.names, b.done, False) == (True, ["lse"], 9, False)
    for f in simulate.COST_FIELDS + simulate.TAIL_FIELDS:
        assert np.array_equal(a.rec[f], b.rec[f]), f
    # a table written before the tail fields reads back with -1 for them
    old = tmp_path / "old.csv"
    lines = out.read_text().splitlines()
    n = len(simulate.COST_FIELDS)
    old.write_text("\n".join(l if l.startswith("#") else ",".join(l.split(",")[:n]) for l in lines) + "\n")
    c = simulate.Measured(str(old))
    assert all(np.array_equal(c.rec[f], b.rec[f]) for f in simulate.COST_FIELDS) and (c.rec["starts_used"] == -1).all()
    # a partial run of the same grid: its done tasks keep their measured times, the others take its laws'
    partial = tmp_path / "partial.csv"
    rows = [l for l in lines if not l.startswith("#")]
    cut = [",".join(["0" if f == "status" else "0.0" if f == "wall_time" else v for f, v in zip(rows[0].split(","), r.split(","))])
           for r in rows[-3:]]
    partial.write_text("\n".join(["# status: partial", "# estimators: lse"] + rows[:-3] + cut) + "\n")
    d = simulate.Measured(str(partial))
    assert not d.complete and d.done == b.done - 3
    dur = simulate.measured_durations(d, b.rec, b.names)
    assert np.array_equal(dur[:-3], b.rec["wall_time"][:-3])
    assert np.array_equal(dur[-3:], simulate.predict(b.rec, simulate.cost_laws(d), b.names)[-3:])
    assert simulate.measured_durations(b, b.rec, b.names) is not None and np.array_equal(simulate.measured_durations(b, b.rec, b.names), b.rec["wall_time"])
    assert simulate.cost_laws(a) == simulate.cost_laws(b)
    # a quick run's table prices its own spec (NAME_quick) at its measured times, and stands in for the full spec
    # (NAME) only through its laws
    quick = tmp_path / "x_quick.csv"
    quick.write_text(out.read_text())
    q = simulate.Measured(str(quick))
    assert q.quick and np.array_equal(simulate.measured_durations(q, b.rec, b.names, "x_quick"), b.rec["wall_time"])
    assert simulate.measured_durations(q, b.rec, b.names, "x") is None


def test_simulated_schedule_hands_an_overrun_to_the_largest_group():
    """Figure 8's model of -fit_group_yield against a hand computation: a group of 2 and a rank alone; the group
    takes the larger task (10 s alone), the rank alone the other, whose 100 s exceed what the rule allows a rank
    alone (half the fair share in seconds, as moerate's: 3 cost units / 3 workers / 2 x 110 s / 3 units = 18.33 s).
    It is handed back at 18.33 s, and the group, done with its own task, runs it in 100 s / its speed-up; without
    the yield the run lasts the 100 s."""
    import simulate
    rec = np.zeros(2, dtype=[("kind", "i4"), ("gating", "i4"), ("expert", "i4"), ("estimator", "i4"), ("n", "i8"), ("p", "i4")])
    rec["n"], rec["p"] = 100000, 50
    gm = {"reduce": {"send_s": 1e-3, "add_s": 1e-3, "bcast_s": 1e-3}, "time_1": 60.0, "iterations": 10, "n": 100000}
    dur, cost, sizes, want = np.array([10.0, 100.0]), np.array([2.0, 1.0]), [2, 1], np.array([2, 1])
    s2 = simulate.group_speedup(2, 100000.0, True, gm)
    assert 1.5 < s2 < 2
    assert simulate.schedule_layout(rec, dur, sizes, want, cost, 0.0, gm, 0.0) == pytest.approx(100.0)
    assert simulate.schedule_layout(rec, dur, sizes, want, cost, 0.0, gm, 1.0) == pytest.approx(110.0 / 6 + 100.0 / s2)
    # a factor of 6 allows 110 s: nothing is handed back
    assert simulate.schedule_layout(rec, dur, sizes, want, cost, 0.0, gm, 6.0) == pytest.approx(100.0)


def test_side_by_side_plan_shares_ranks_by_cost():
    """submit_all.sh --ranks (bench/simulate.py --plan) against hand computations.  16 ranks, costs 600, 300 and
    100: each job has its master, the 13 other ranks are shared as workers 7.8, 3.9 and 1.3, floored to 7, 3
    and 1; the two left go to the most cost per worker, 100 for b and c (the tie to the later name, c), then b
    at 100 again: workers 7, 4 and 2.  8 ranks for one large and three tiny specs: every job needs two ranks,
    so the large one keeps a single worker too.  Fewer than two ranks a job is refused."""
    import simulate
    assert simulate.side_by_side_plan({"a": 600.0, "b": 300.0, "c": 100.0}, 16) == {"a": 8, "b": 5, "c": 3}
    assert simulate.side_by_side_plan({"a": 1000.0, "b": 1.0, "c": 1.0, "d": 1.0}, 8) == {"a": 2, "b": 2, "c": 2, "d": 2}
    assert simulate.side_by_side_plan({"a": 1000.0, "b": 1.0}, 12) == {"a": 10, "b": 2}
    with pytest.raises(ValueError, match="at least 6"):
        simulate.side_by_side_plan({"a": 1.0, "b": 1.0, "c": 1.0}, 5)


def test_balanced_plan_moves_ranks_to_the_job_that_ends_last():
    """submit_all.sh --ranks (plan_jobs) rebalances the shares by cost by predicted walls, against hand
    computations with tabulated walls: from a 3 and b 5 ranks (walls 90 and 35) a rank moves to a while a's end
    falls and b's stays below it: a 4 / b 4 (80, 40), a 5 / b 3 (70, 45), a 6 / b 2 (65, 50); b keeps its
    master and one worker."""
    import simulate
    table = {"a": {2: 100, 3: 90, 4: 80, 5: 70, 6: 65, 7: 64}, "b": {2: 50, 3: 45, 4: 40, 5: 35}}
    assert simulate.balanced_plan({"a": 3, "b": 5}, lambda s, r: table[s][r]) == {"a": 6, "b": 2}
    # a move that would make the donor end after a's 80 (b on 3 ranks: 85) is not taken
    table["b"] = {2: 95, 3: 85, 4: 40, 5: 35}
    assert simulate.balanced_plan({"a": 3, "b": 5}, lambda s, r: table[s][r]) == {"a": 4, "b": 4}
    # a step: a rank more leaves a's end at 90, two bring 60, so two move at once (b 5 -> 3, 45 < 90); then a
    # sixth rank would leave a at 60: it stays with b, and the plan stops
    table = {"a": {3: 90, 4: 90, 5: 60, 6: 60}, "b": {2: 50, 3: 45, 4: 40, 5: 35}}
    assert simulate.balanced_plan({"a": 3, "b": 5}, lambda s, r: table[s][r]) == {"a": 5, "b": 3}
    # a job bound by a fit on one rank (a: 70 whatever its ranks) takes nothing: b keeps its ranks
    assert simulate.balanced_plan({"a": 3, "b": 5}, lambda s, r: 70 if s == "a" else 40) == {"a": 3, "b": 5}
    # in steps of 2 (groups of 2: at least 3 ranks a job): a 3 -> 5 -> 7 while b 7 -> 5 -> 3
    table = {"a": {3: 90, 5: 70, 7: 60, 9: 55}, "b": {3: 50, 5: 40, 7: 30}}
    assert simulate.balanced_plan({"a": 3, "b": 7}, lambda s, r: table[s][r], step=2, least=3) == {"a": 7, "b": 3}


def test_steps_to_gain_and_trimmed_plan():
    """The look-ahead over a plateau (the fewest steps that shorten a job) and the trim (the fewest ranks that keep
    a job's end), against hand computations on step-shaped walls."""
    import simulate
    walls = [90, 90, 90, 90, 60, 60, 50]  # after k = 0..6 steps
    assert simulate.steps_to_gain(lambda k: walls[k], 90, 6) == 4
    assert simulate.steps_to_gain(lambda k: walls[k], 90, 3) is None  # the others can spare only 3
    assert simulate.steps_to_gain(lambda k: walls[k], 60, 6) == 6
    assert simulate.steps_to_gain(lambda k: walls[k], 50, 6) is None
    assert simulate.steps_to_gain(lambda k: walls[k], 90, 0) is None
    # a on 9 ranks ends at 60 as it does on 6; b's 4 ranks are all needed; c keeps its master and a worker
    table = {"a": {2: 100, 3: 90, 4: 80, 5: 70, 6: 60, 7: 60, 8: 60, 9: 60}, "b": {2: 50, 3: 45, 4: 40}, "c": {2: 5}}
    assert simulate.trimmed_plan({"a": 9, "b": 4, "c": 2}, lambda s, r: table[s][r]) == {"a": 6, "b": 4, "c": 2}
    # in steps of a group of 2: a 9 -> 7 (60), not 5 (70)
    assert simulate.trimmed_plan({"a": 9}, lambda s, r: table[s][r], step=2, least=3) == {"a": 7}


def test_plan_jobs_sizes_by_simulated_walls():
    """plan_jobs (submit_all.sh --ranks) against hand computations on two specs: a, one fit of 100 s at n = 65536
    (64 chunks), and b, 40 fits of 1 s at n = 1000 (one chunk).  10 ranks, a fit per rank: by cost (100 and 40
    s) the 8 ranks after the masters go 5 and 2, the one left to b (a tie at 20 s per worker goes to the later
    name): a 6, b 4, ending at 100 s and ceil(40 / 3) = 14 s.  No rank shortens a's one fit, so none moves; a
    keeps 2 ranks (the same 100 s), b its 4 (3 would end at 20 s).  With groups of 2 (-fit_group 2, 1 + 2 m
    ranks a job; reductions free in this model, so a group halves a 64-chunk fit, and b's one-chunk fits gain
    nothing): 4 units of 2 after the masters go 3 and 1 (by cost, then 50 s a unit against 40), a 7 and b 3;
    a's fit on its group takes 50 s on 3 ranks as on 7, so a keeps 3; b's 40 s."""
    import simulate
    rec = np.zeros(1, dtype=[("kind", "i8"), ("gating", "i8"), ("expert", "i8"), ("estimator", "i8"), ("n", "i8"), ("p", "i8")])
    rec["n"] = 65536
    recb = np.zeros(40, dtype=rec.dtype)
    recb["n"] = 1000
    a = ("a", rec, np.array([100.0]), "measured", np.array([100.0]), ["lse"])
    b = ("b", recb, np.ones(40), "measured", np.ones(40), ["lse"])
    plan, walls = simulate.plan_jobs([a, b], 10, 0, 0.0, None)
    assert plan == {"a": 2, "b": 4} and walls == {"a": pytest.approx(100.0), "b": pytest.approx(14.0)}
    gm = {"n": 1000000, "iterations": 1, "time_1": 1e9, "reduce": {"send_s": 0.0, "add_s": 0.0, "bcast_s": 0.0}}
    plan, walls = simulate.plan_jobs([a, b], 10, 2, 0.0, gm)
    assert plan == {"a": 3, "b": 3} and walls == {"a": pytest.approx(50.0), "b": pytest.approx(40.0)}
    with pytest.raises(ValueError, match="at least 6"):
        simulate.plan_jobs([a, b], 5, 2, 0.0, gm)


def test_simulated_merge_of_idle_groups():
    """The merge design figure 8 simulates (--merge; not built), against a hand computation: three ranks alone, a
    100 s task and two of 5 s, one cost unit each.  Half the fair share is 3 units / 3 workers / 2 x 110 s / 3
    units = 18.33 s; at that moment the two other ranks have been idle since 5 s, so they join the first one and
    the three rerun the task: 18.33 s + 100 s / the speed-up of 3 ranks.  Without the merge no larger group exists
    to hand it to, and the run lasts the 100 s."""
    import simulate
    rec = np.zeros(3, dtype=[("kind", "i4"), ("gating", "i4"), ("expert", "i4"), ("estimator", "i4"), ("n", "i8"), ("p", "i4")])
    rec["n"], rec["p"] = 100000, 50
    gm = {"reduce": {"send_s": 1e-3, "add_s": 1e-3, "bcast_s": 1e-3}, "time_1": 60.0, "iterations": 10, "n": 100000}
    dur, cost, want = np.array([100.0, 5.0, 5.0]), np.ones(3), np.ones(3, dtype=int)
    s3 = simulate.group_speedup(3, 100000.0, True, gm)
    assert 2 < s3 < 3
    assert simulate.schedule_layout(rec, dur, [1, 1, 1], want, cost, 0.0, gm, 1.0) == pytest.approx(100.0)
    assert simulate.schedule_layout(rec, dur, [1, 1, 1], want, cost, 0.0, gm, 1.0, merge=True) == pytest.approx(110.0 / 6 + 100.0 / s3)
