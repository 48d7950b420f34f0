"""`moerate run`: identical results at 1, 2 and 4 ranks; SIGKILL, SIGTERM and SIGUSR1 part-way
then resume; failed tasks; refused and forced outputs."""
import os
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

from conftest import MOERATE, MPIEXEC, env, moerate

# A tiny Regime 1 truth (singular Fisher information, so -allow_ill_posed): machinery, not rates.
TINY = ["-d", 2, "-kstar", 2, "-k", 3, "-truth_regime", 1, "-truth_expert_var", 0.5, "-allow_ill_posed"]
GRID = ["-gating", "sigmoid,softmax", "-expert", "relu,gelu", "-n", "200,400,800,1600", "-replicates", 3, *TINY,
        "-quiet"]
TIMING = ("wall_time", "t_start", "t_end", "rank")


def results(path):
    """The numbers of a results file that must not depend on ranks, order or interruptions."""
    with h5py.File(path, "r") as h:
        rec = h["tasks/records"][:]
        return ({f: rec[f].copy() for f in rec.dtype.names if f not in TIMING}, h["tasks/losses"][:], h["tasks/theta"][:],
                dict(h.attrs))


def assert_same_results(a, b):
    ra, la, ta, _ = results(a)
    rb, lb, tb, _ = results(b)
    for f in ra:
        assert np.array_equal(ra[f], rb[f], equal_nan=ra[f].dtype.kind == "f"), f
    assert np.array_equal(la, lb, equal_nan=True)
    assert np.array_equal(ta, tb, equal_nan=True)


def assert_complete_once(path):
    with h5py.File(path, "r") as h:
        rec = h["tasks/records"][:]
        assert h.attrs["status"] == "complete"
        assert np.array_equal(rec["id"], np.arange(len(rec)))  # each task exactly once
        assert np.all(rec["status"] != 0)
        assert h.attrs["tasks_done"] == len(rec)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "uninterrupted.h5"
    moerate("run", *GRID, "-output", out, check=True)
    return out


def test_grid_shape_and_contents(reference):
    with h5py.File(reference, "r") as h:
        rec = h["tasks/records"][:]
        # 2 gatings x 2 experts x 4 n x 3 replicates, and the softmax fits of a sigmoid truth
        # need their reference G-bar (one per expert)
        assert len(rec) == 48 + 2
        assert list(rec["kind"]).count(1) == 2
        assert [s for s in h["grid/gatings"].asstr()] == ["sigmoid", "softmax"]
        assert list(h["grid/n"][:]) == [200, 400, 800, 1600]
        assert h["tasks/losses"].shape == (50, len(h["grid/losses"]))
        for a in ("spec", "spec_hash", "moerate_version", "git_revision", "petsc_version", "hdf5_version", "mpi_version", "host", "ranks", "created"):
            assert a in h.attrs
        assert h["sessions"].shape == (1,) and h["sessions"][0]["exit_status"] == 0
    assert_complete_once(reference)


@pytest.mark.parametrize("ranks", [2, 4])
def test_identical_results_at_1_2_and_4_ranks(tmp_path, reference, ranks):
    out = tmp_path / "r.h5"
    p = moerate("run", *GRID, "-output", out, ranks=ranks)
    assert p.returncode == 0, p.stderr
    assert_same_results(reference, out)
    with h5py.File(out, "r") as h:
        used = set(h["tasks/records"]["rank"])
        assert used == set(range(1, ranks)), used  # the master does not fit; every worker did


def start(args, ranks):
    cmd = [MPIEXEC, "-n", str(ranks), MOERATE] + [str(a) for a in args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), start_new_session=True)


def stop_signals_held(pid):
    """Whether a process blocks or catches SIGTERM: moerate's main does so on its first line.
    Before it, while the dynamic loader maps PETSc's libraries (0.2 s here, more on a loaded
    machine), SIGTERM has its default action and ends the rank with 143 before anything is opened."""
    bit = 1 << (signal.SIGTERM - 1)
    try:
        with open("/proc/%d/status" % pid) as f:
            masks = dict(line.split(":\t") for line in f if line.startswith(("SigBlk", "SigCgt")))
    except OSError:
        return True  # gone already
    return any(int(v, 16) & bit for v in masks.values())


def command(pid):
    """A process's argv ([] once it is gone)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode() for a in f.read().split(b"\0")[:-1]]
    except OSError:
        return []


def wait_for_main(p, ranks, timeout=60):
    """Wait until every rank of the job has entered main (or the job has ended)."""
    t0 = time.time()
    while p.poll() is None:
        pids = [int(x) for x in alive(p) if command(int(x))[:1] == [MOERATE]]
        if len(pids) >= ranks and all(stop_signals_held(x) for x in pids):
            return
        assert time.time() - t0 < timeout, "the ranks did not start"
        time.sleep(0.01)


def alive(p):
    """Processes of the job started by `start`: its session (Open MPI puts every rank in a
    process group of its own, but they stay in mpiexec's session)."""
    q = subprocess.run(["pgrep", "-s", str(p.pid)], capture_output=True, text=True)
    return q.stdout.split()


def wait_gone(p, timeout=30):
    """Wait until every process of the job has exited."""
    p.wait(timeout=60)
    t0 = time.time()
    while alive(p):
        assert time.time() - t0 < timeout, "processes of the job are still alive"
        time.sleep(0.02)


def kill_job(p):
    """SIGKILL mpiexec and every rank at once, as when a node dies; return when all are gone."""
    subprocess.run(["pkill", "-KILL", "-s", str(p.pid)])
    wait_gone(p)


def wait_for_tasks(path, count, proc, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        try:
            with h5py.File(path, "r") as h:
                if h.attrs["tasks_done"] >= count:
                    return
        except (OSError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError("no progress")


def test_sigkill_partway_then_resume_equals_uninterrupted(tmp_path, reference):
    out = tmp_path / "r.h5"
    args = ["run", *GRID, "-output", out, "-flush_interval", 0]
    p = start(args, 3)
    wait_for_tasks(out, 8, p)
    kill_job(p)
    with h5py.File(out, "r") as h:
        assert h.attrs["status"] == "incomplete" and 8 <= h.attrs["tasks_done"] < 50
    q = moerate("run", *GRID, "-output", out, ranks=3)
    assert q.returncode == 0, q.stderr
    assert_same_results(reference, out)
    assert_complete_once(out)
    with h5py.File(out, "r") as h:
        assert len(h["sessions"]) == 2


@pytest.mark.parametrize("how", ["SIGTERM to the ranks", "SIGUSR1 to mpiexec"])
def test_signal_stops_cleanly_then_resume_completes(tmp_path, reference, how):
    out = tmp_path / "r.h5"
    p = start(["run", *GRID, "-output", out, "-flush_interval", 0], 3)
    wait_for_tasks(out, 5, p)
    if how.startswith("SIGTERM"):
        subprocess.run(["pkill", "-TERM", "-s", str(p.pid), "-f", "^" + MOERATE + " run"], check=True)
    else:
        os.kill(p.pid, signal.SIGUSR1)
    _, err = p.communicate(timeout=120)
    wait_gone(p)
    assert p.returncode == 3, err
    assert "rerun the same command to resume (exit status 3)" in err
    with h5py.File(out, "r") as h:
        assert h.attrs["status"] == "incomplete"
        assert h["sessions"][-1]["exit_status"] == 3
        done = h.attrs["tasks_done"]
        assert 5 <= done < 50
    q = moerate("run", *GRID, "-output", out, ranks=2)
    assert q.returncode == 0, q.stderr
    assert_same_results(reference, out)
    assert_complete_once(out)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT (Ctrl-C)"])
def test_single_rank_signal(tmp_path, reference, sig):
    out = tmp_path / "r.h5"
    p = subprocess.Popen([MOERATE, "run", *[str(a) for a in GRID], "-output", str(out), "-flush_interval", "0"],
                         stderr=subprocess.PIPE, text=True, env=env())
    wait_for_tasks(out, 3, p)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 3, err
    assert moerate("run", *GRID, "-output", out).returncode == 0
    assert_same_results(reference, out)


def test_failing_task_is_recorded_and_the_run_completes(tmp_path):
    out = tmp_path / "r.h5"
    p = moerate("run", *GRID, "-output", out, "-inject_nan_task", 5, ranks=2)
    assert p.returncode == 0, p.stderr
    with h5py.File(out, "r") as h:
        rec = h["tasks/records"][:]
        assert rec["status"][5] == 2 and rec["reason"][5] == -100
        assert np.all(rec["status"] != 0)
    # -retry_failed runs just the failed tasks again
    before = results(out)[0]
    q = moerate("run", *GRID, "-output", out, "-retry_failed", ranks=2)
    assert q.returncode == 0, q.stderr
    after = results(out)[0]
    assert after["reason"][5] != -100  # run again, without the injected NaN
    failed_before = np.flatnonzero(before["status"] == 2)
    same = np.setdiff1d(np.arange(len(before["status"])), failed_before)
    assert np.array_equal(before["objective"][same], after["objective"][same])


def test_output_from_another_spec_is_refused_unless_forced(tmp_path, reference):
    out = tmp_path / "r.h5"
    out.write_bytes(reference.read_bytes())
    p = moerate("run", *GRID, "-seed", 2, "-output", out)
    assert p.returncode == 2
    assert "was written from another spec" in p.stderr and "-force" in p.stderr
    assert out.read_bytes() == reference.read_bytes()
    q = moerate("run", *GRID, "-seed", 2, "-n", "200", "-replicates", 1, "-output", out, "-force")
    assert q.returncode == 0, q.stderr
    backups = list(tmp_path.glob("r.h5.bak-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == reference.read_bytes()


def test_finished_file_is_not_rerun(tmp_path, reference):
    out = tmp_path / "r.h5"
    out.write_bytes(reference.read_bytes())
    t0 = time.time()
    p = moerate("run", *GRID, "-output", out)
    assert p.returncode == 0
    assert time.time() - t0 < 5
    assert_same_results(reference, out)


def test_more_ranks_than_tasks_idle_and_succeed(tmp_path):
    out = tmp_path / "r.h5"
    p = moerate("run", "-gating", "sigmoid", "-expert", "relu", "-n", 300, "-replicates", 2, *TINY, "-output", out,
                ranks=5)
    assert p.returncode == 0, p.stderr
    assert_complete_once(out)


def test_progress_is_reported_and_quiet_silences_it(tmp_path):
    out = tmp_path / "r.h5"
    p = moerate("run", "-gating", "sigmoid", "-expert", "relu", "-n", "300,600", "-replicates", 2, *TINY, "-output", out,
                "-progress_interval", 0)
    assert p.returncode == 0
    assert "tasks done" in p.stderr and "tasks/s" in p.stderr and "left ~" in p.stderr and "failed" in p.stderr
    q = moerate("run", "-gating", "sigmoid", "-expert", "relu", "-n", "300,600", "-replicates", 2, *TINY,
                "-output", tmp_path / "q.h5", "-quiet")
    assert q.returncode == 0 and q.stderr == ""
