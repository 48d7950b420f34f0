"""jobs/slurm/moerate.sbatch on a real single-node SLURM (tests/slurm/cluster.py, started here as
root): a job runs a grid to completion, with mpirun and with srun; a job whose time limit is
shorter than its work is warned, stops cleanly, requeues itself and resumes until complete."""
import os
import re
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from conftest import MOERATE, SOURCE, env

sys.path.insert(0, os.path.join(SOURCE, "tests", "slurm"))
import cluster as slurm  # noqa: E402

SBATCH = os.path.join(SOURCE, "jobs", "slurm", "moerate.sbatch")
SPEC = "gating: sigmoid,softmax\nexpert: relu\nd: 2\nkstar: 2\nk: 3\nn: 200,400,800,1600\nreplicates: 3\ntruth_regime: 1\ntruth_expert_var: 0.5\nallow_ill_posed: true\n"
# About 120 s of work for 2 workers, whatever the speed of the fits (48 tasks of 5 s each): longer
# than one run (at most ~50 s) of a job with a 1-minute limit.
LONG = ["-n", "200,400,800,1600", "-replicates", 6, "-test_task_delay", 5]
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE",
         "PREEMPTED"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    why = slurm.missing()
    if why:
        pytest.skip("SLURM cannot start here: " + why)
    with slurm.Cluster(tmp_path_factory.mktemp("slurm")) as c:
        yield c


def submit(cluster, tmp_path, sbatch_options, args, extra_env=None):
    """sbatch from the repository root, as moerate.sbatch asks; returns (job id, log path)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    log = tmp_path / "job.out"
    e = cluster.env(env())
    e["MOERATE"] = MOERATE
    e.update(extra_env or {})
    cmd = ["sbatch", "--parsable", "--output=%s" % log] + sbatch_options + [SBATCH, str(spec)] + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=SOURCE, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().split(";")[0], log


def job_info(cluster, job):
    p = subprocess.run(["scontrol", "show", "job", "-o", job], capture_output=True, text=True, env=cluster.env(),
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return dict(re.findall(r"(JobState|Restarts|ExitCode)=(\S+)", p.stdout))


def wait_job(cluster, job, log, timeout):
    """Wait until the job has ended for good (a requeued job goes back to PENDING); on timeout,
    cancel it and fail with its log."""
    t0, info = time.time(), {}
    while time.time() - t0 < timeout:
        info = job_info(cluster, job)
        if info["JobState"] in FINAL:
            return info
        time.sleep(2)
    subprocess.run(["scancel", job], env=cluster.env(), timeout=30)
    pytest.fail("job %s not done within %d s (%s)\n%s\n%s" % (job, timeout, info, read(log), cluster.logs()))


def read(path):
    return path.read_text(errors="replace") if path.exists() else "(no log)"


def assert_complete_once(path):
    with h5py.File(path, "r") as h:
        rec = h["tasks/records"][:]
        assert h.attrs["status"] == "complete"
        assert h.attrs["tasks_done"] == h.attrs["tasks_total"] == len(rec)
        assert np.array_equal(rec["id"], np.arange(len(rec)))  # every task exactly once
        assert np.all(rec["status"] != 0)
        return h["sessions"][:]


@pytest.mark.parametrize("launcher", ["mpirun", "srun --mpi=pmix"])
def test_job_runs_the_grid_to_completion(cluster, tmp_path, launcher):
    out = tmp_path / "r.h5"
    extra = {} if launcher == "mpirun" else {"MOERATE_LAUNCHER": launcher}
    job, log = submit(cluster, tmp_path, ["--ntasks=3"], [out, "-quiet"], extra)
    info = wait_job(cluster, job, log, timeout=150)
    text = read(log)
    assert info["JobState"] == "COMPLETED" and info["ExitCode"] == "0:0", text
    assert "job %s (moerate), restart 0, 3 tasks" % job in text
    assert ("+ mpirun -n 3 " if launcher == "mpirun" else "+ srun --mpi=pmix ") + MOERATE in text
    sessions = assert_complete_once(out)
    assert len(sessions) == 1 and sessions[0]["ranks"] == 3


@pytest.mark.parametrize("group", ["2", "auto"])
def test_the_group_size_comes_from_the_environment(cluster, tmp_path, group):
    """MOERATE_FIT_GROUP=2 with --ntasks=3: one group of two ranks fits every task (auto: moerate lays the groups
    out); the log shows the option and the file's spec says its sums are over chunks (-fit_order chunks)."""
    out = tmp_path / "r.h5"
    job, log = submit(cluster, tmp_path, ["--ntasks=3"], [out] + (["-quiet"] if group == "2" else []),
                      {"MOERATE_FIT_GROUP": group})
    info = wait_job(cluster, job, log, timeout=150)
    text = read(log)
    assert info["JobState"] == "COMPLETED" and info["ExitCode"] == "0:0", text
    assert "-fit_group %s" % group in text
    assert_complete_once(out)
    with h5py.File(out, "r") as h:
        assert "-fit_order chunks" in h.attrs["spec"]
        ranks = set(h["tasks/records"]["rank"])
    if group == "2":
        assert ranks == {1}
    else:  # the layout moerate printed decides which ranks report: each group's first
        layout = re.search(r"groups: -fit_group auto: \d+ worker group\(s\): (.*)", text)
        assert layout, text
        sizes = [int(g) for c, g in re.findall(r"(\d+) of (\d+) rank", layout.group(1)) for _ in range(int(c))]
        assert sum(sizes) == 2 and ranks == set(np.cumsum([1] + sizes[:-1]).tolist()), (layout.group(0), ranks)


def test_time_limit_stops_cleanly_requeues_and_resumes(cluster, tmp_path):
    # SLURM checks time limits every 30 s and may warn up to 60 s early: with a 1-minute limit
    # and USR1@10 each run lasts 20-50 s, and is killed (60 s) well after moerate has stopped.
    out = tmp_path / "r.h5"
    job, log = submit(cluster, tmp_path, ["--ntasks=3", "--time=1", "--signal=B:USR1@10"], [out, *LONG, "-quiet"])
    info = wait_job(cluster, job, log, timeout=360)
    text = read(log)
    assert info["JobState"] == "COMPLETED" and info["ExitCode"] == "0:0", text
    assert int(info["Restarts"]) >= 1, text
    assert "requeueing job %s to resume" % job in text
    sessions = assert_complete_once(out)
    assert len(sessions) == int(info["Restarts"]) + 1, text  # one moerate run per run of the job
    assert list(sessions["exit_status"]) == [3] * (len(sessions) - 1) + [0]  # each stopped cleanly


def test_term_to_the_whole_job_is_a_clean_resumable_stop(cluster, tmp_path):
    """scancel (TERM to the batch shell, mpirun and the ranks, as at preemption): moerate stops
    cleanly and the job reports 3, resumable, not 1 (an internal error)."""
    out = tmp_path / "r.h5"
    job, log = submit(cluster, tmp_path, ["--ntasks=3"], [out, *LONG, "-quiet"])
    t0 = time.time()
    while not (out.exists() and time.time() - t0 > 15) and time.time() - t0 < 120:
        time.sleep(1)
    subprocess.run(["scancel", job], env=cluster.env(), timeout=30, check=True)
    wait_job(cluster, job, log, timeout=120)
    time.sleep(2)  # the batch shell writes its last line after the job state changes
    text = read(log)
    assert "TERM: stopping moerate cleanly" in text and "stopped by TERM (scancel or preemption)" in text, text
    with h5py.File(out, "r") as h:
        assert h.attrs["status"] == "incomplete" and h.attrs["tasks_pending"] > 0
        assert h["sessions"][-1]["exit_status"] == 3


def test_a_run_that_finishes_no_task_is_not_requeued(cluster, tmp_path):
    """Every task is longer than the time limit: requeueing would repeat the same run forever."""
    out = tmp_path / "r.h5"
    job, log = submit(cluster, tmp_path, ["--ntasks=3", "--time=1", "--signal=B:USR1@10"],
                      [out, "-n", 200, "-replicates", 2, "-test_task_delay", 300, "-quiet"])
    info = wait_job(cluster, job, log, timeout=200)
    text = read(log)
    assert int(info["Restarts"]) == 0 and "no task finished in this run: not requeueing" in text, text


def test_a_stop_as_a_finished_run_leaves_is_not_a_failure(cluster, tmp_path):
    """The time-limit warning that reaches the batch shell just as a finished run is leaving: the USR1 the shell
    forwards can kill mpirun itself while it tears down (138), though the file is complete.  A launcher that
    runs mpirun to the end, then has the warning sent and dies of the forwarded USR1, reproduces that moment:
    the job looks at the file, finds it complete and ends as done (0), neither failed nor requeued."""
    out = tmp_path / "r.h5"
    race = tmp_path / "race.sh"
    race.write_text('#!/bin/bash\nmpirun -n "$SLURM_NTASKS" "$@" || exit\nkill -USR1 "$PPID"\nsleep 30\n')
    job, log = submit(cluster, tmp_path, ["--ntasks=3"], [out, "-quiet"], {"MOERATE_LAUNCHER": "bash %s" % race})
    info = wait_job(cluster, job, log, timeout=150)
    time.sleep(2)  # the batch shell writes its last line after the job state changes
    text = read(log)
    assert "USR1: stopping moerate cleanly" in text and "moerate exited with status 138" in text, text
    assert "the results file is complete: the run had finished before the stop (status 138" in text, text
    assert info["JobState"] == "COMPLETED" and info["ExitCode"] == "0:0" and int(info["Restarts"]) == 0, text
    assert text.rstrip().endswith("done"), text
    assert_complete_once(out)


@pytest.mark.parametrize("variant", ["full", "quick"])
def test_submit_all_submits_every_spec_once(tmp_path, variant):
    """jobs/slurm/submit_all.sh, with an sbatch that records its arguments: one job per spec of jobs/specs
    (full: every NAME.yaml but the _quick ones; quick: every NAME_quick.yaml), the three papers' specs
    through their family's script, every other one through moerate.sbatch with its spec and results file;
    the sbatch options given reach every job."""
    log = tmp_path / "sbatch.log"
    fake = tmp_path / "bin" / "sbatch"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "$*" >> "%s"\necho "$$;cluster"\n' % log)
    fake.chmod(0o755)
    e = dict(env(), PATH="%s:%s" % (fake.parent, os.environ["PATH"]), MOERATE_RESULTS=str(tmp_path / "res"))
    p = subprocess.run(["bash", os.path.join(SOURCE, "jobs", "slurm", "submit_all.sh"), variant, "--ntasks=5"],
                       capture_output=True, text=True, env=e)
    assert p.returncode == 0, p.stderr
    files = sorted(f[:-5] for f in os.listdir(os.path.join(SOURCE, "jobs", "specs")) if f.endswith(".yaml"))
    want = [f for f in files if f.endswith("_quick") == (variant == "quick")]
    calls = log.read_text().splitlines()
    assert len(calls) == len(want) == len(p.stdout.splitlines())
    submitted = []
    for c in calls:
        words = c.split()
        assert words[0] == "--parsable" and words[2] == "--ntasks=5", c
        name = words[1][len("--job-name=moerate-"):]
        assert os.path.dirname(words[3]) == "jobs/slurm", c
        script = os.path.basename(words[3])
        if re.match(r"p[0-9]_", name):
            assert script == name[:2] + ".sbatch" and words[4:] == [variant, name[:-len("_quick")] if variant == "quick" else name], c
        else:
            assert script == "moerate.sbatch", c
            assert words[4:] == ["jobs/specs/%s.yaml" % name, "%s/%s.h5" % (tmp_path / "res", name)], c
        submitted.append(name)
    assert sorted(submitted) == want
    assert (tmp_path / "res").is_dir()
    assert all(re.fullmatch(r"\S+ +[0-9]+", line) for line in p.stdout.splitlines()), p.stdout
    bad = subprocess.run(["bash", os.path.join(SOURCE, "jobs", "slurm", "submit_all.sh"), "ful"], capture_output=True,
                         text=True, env=e)
    assert bad.returncode == 2 and "usage: jobs/slurm/submit_all.sh [quick|full]" in bad.stderr
    assert len(log.read_text().splitlines()) == len(calls)  # nothing submitted


def test_submit_all_shares_ranks_by_measured_cost(tmp_path):
    """submit_all.sh --ranks R: every spec's job gets --ntasks from bench/simulate.py --plan, together R, at least
    two each (a master and a worker); a spec whose complete run is measured (its costs table in
    docs/results/costs) is priced at the sum of its wall times, read here from the table; the jobs' sizes
    follow those prices.  Too few ranks, a bad count or --ntasks beside --ranks: exit 2, nothing submitted."""
    log = tmp_path / "sbatch.log"
    fake = tmp_path / "bin" / "sbatch"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "$*" >> "%s"\necho "$$;cluster"\n' % log)
    fake.chmod(0o755)
    e = dict(env(), PATH="%s:%s" % (fake.parent, os.environ["PATH"]), MOERATE_RESULTS=str(tmp_path / "res"), MOERATE=MOERATE)
    script = os.path.join(SOURCE, "jobs", "slurm", "submit_all.sh")
    specs = sorted(f[:-5] for f in os.listdir(os.path.join(SOURCE, "jobs", "specs")) if f.endswith(".yaml") and not f.endswith("_quick.yaml"))
    R = 8 * len(specs)
    p = subprocess.run(["bash", script, "full", "--ranks", str(R), "--time=01:00:00"], capture_output=True, text=True, env=e, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    sizes = {}
    for c in log.read_text().splitlines():
        words = c.split()
        assert words[2].startswith("--ntasks=") and words[3] == "--time=01:00:00", c
        sizes[words[1][len("--job-name=moerate-"):]] = int(words[2][len("--ntasks="):])
    assert sorted(sizes) == specs and sum(sizes.values()) <= R and min(sizes.values()) >= 2
    costs_dir = os.path.join(SOURCE, "docs", "results", "costs")
    measured = {}  # spec -> (seconds of all fits, its longest fit), from the costs tables
    for f in os.listdir(costs_dir):
        lines = open(os.path.join(costs_dir, f)).read().splitlines()
        if f[:-4] in specs and "# status: complete" in lines:
            col = [l for l in lines if not l.startswith("#")][0].split(",").index("wall_time")
            t = [float(l.split(",")[col]) for l in lines if l and not l.startswith("#") and not l.startswith("kind")]
            measured[f[:-4]] = (sum(t), max(t))
    assert len(measured) >= 2
    # the plan, on stderr: the same sizes; the measured specs priced at their tables' sums, each job's predicted
    # wall at least its longest fit and its fits' seconds over its workers (one fit per rank); the summary line
    # gives the ranks asked for and the last job's end
    plan = [l.split()[2:] for l in p.stderr.splitlines() if l.startswith("submit_all.sh: plan: ")]
    rows = {w[0]: (int(w[1]), float(w[2]), float(w[3]), " ".join(w[4:])) for w in plan}
    assert {s: r[0] for s, r in rows.items()} == sizes
    for s, (total, longest) in measured.items():
        r, cost, wall, source = rows[s]
        assert source == "measured" and cost == pytest.approx(total, abs=0.5), (s, rows[s], total)
        assert wall >= max(longest, total / (r - 1)) - 0.5, (s, rows[s], longest)
    end = max(r[2] for r in rows.values())  # jobs may tie to the rounded second: the last is one of them
    summary = re.search(r"--plan %d \(-fit_group 0\): (\d+) of %d ranks, the last job (\S+) predicted to end after (\d+) s" % (R, R), p.stderr)
    assert summary and int(summary[1]) == sum(sizes.values()), p.stderr
    assert rows[summary[2]][2] == pytest.approx(end, abs=1) and float(summary[3]) == pytest.approx(end, abs=1)
    # MOERATE_FIT_GROUP=2 sizes every job as 1 + a multiple of 2 ranks, and refuses the specs whose estimators
    # fit on one rank (moerate would refuse their jobs): nothing submitted
    calls = len(log.read_text().splitlines())
    bad = subprocess.run(["bash", script, "full", "--ranks", str(R)], capture_output=True, text=True, env=dict(e, MOERATE_FIT_GROUP="2"), cwd=tmp_path)
    assert bad.returncode == 2 and "-fit_group 2: moerate refuses a fixed group for estimators that fit on one rank" in bad.stderr
    assert "p1_fig1_published_sgd (sgd)" in bad.stderr and len(log.read_text().splitlines()) == calls
    two = subprocess.run(["/usr/bin/python3", os.path.join(SOURCE, "bench", "simulate.py"), "--plan", "9", "--fit-group", "2",
                          "--results", str(tmp_path / "res"), "--moerate", MOERATE, "--workdir", str(tmp_path / "w"),
                          "p2_softmax_exact_wellposed", "p2_icml_d1_linear"], capture_output=True, text=True, env=e)
    assert two.returncode == 0, two.stderr
    assert all(int(l.split()[1]) % 2 == 1 and int(l.split()[1]) >= 3 for l in two.stdout.splitlines()), two.stdout
    bad = subprocess.run(["bash", script, "full", "--ranks", str(R)], capture_output=True, text=True, env=dict(e, MOERATE_FIT_GROUP="x"), cwd=tmp_path)
    assert bad.returncode == 2 and "--fit-group 'x' is not a group size" in bad.stderr
    (tmp_path / "model.json").write_text('{"n": 1000}')
    for model in (tmp_path / "none.json", tmp_path / "model.json"):
        bad = subprocess.run(["bash", script, "full", "--ranks", str(R)], capture_output=True, text=True,
                             env=dict(e, MOERATE_GROUPS_MODEL=str(model)), cwd=tmp_path)
        assert bad.returncode == 2 and "--groups %s: not figure 10's model" % model in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
    assert len(log.read_text().splitlines()) == calls
    calls = len(log.read_text().splitlines())
    for args, message in ((["--ranks", str(len(specs))], "cannot run %d specs side by side" % len(specs)),
                          (["--ranks", "0"], "--ranks needs a positive number of ranks"),
                          (["--ranks"], "--ranks needs a positive number of ranks"),
                          (["--ranks=x"], "--ranks needs a positive number of ranks"),
                          (["--time=1", "--ranks", str(R)], "--ranks goes right after quick or full"),
                          (["--ranks", str(R), "--ntasks=4"], "--ranks sizes every job itself: drop --ntasks=4")):
        bad = subprocess.run(["bash", script, "full", *args], capture_output=True, text=True, env=e, cwd=tmp_path)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
    assert len(log.read_text().splitlines()) == calls  # nothing submitted
