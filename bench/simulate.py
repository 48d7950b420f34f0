#!/usr/bin/python3
"""Figure 8: the whole suite (every full-scale spec of jobs/specs) at 64, 512 and 4096 ranks, simulated from measured per-task costs.

    /usr/bin/python3 bench/simulate.py --moerate build/moerate --results results [--ranks 64 512 4096]
                                        [--master-us 7] [--workdir DIR] [--groups groups.json] [--yield 1]
    /usr/bin/python3 bench/simulate.py --export results/SPEC.h5 docs/results/costs/SPEC.csv
    /usr/bin/python3 bench/simulate.py --plan RANKS SPEC... [--results results] [--moerate build/moerate]

For every full-scale spec of the suite (SUITE below) the task grid is moerate's own: `moerate run -skip_fit` on
2 ranks writes the spec's records (every task's kind, pair, estimator and n) without fitting.  Each task's
duration is predicted from a measured run of the same design: results/SPEC.h5 when the full spec was run
(its measured wall times are used as they are; a partial run's pending tasks take the laws of its finished
fits), else results/SPEC_quick.h5 (docs/results/make.sh makes
them); where results/ lacks a file, the costs table docs/results/make.sh keeps of it in docs/results/costs
(--export: each task's kind, pair, estimator, n, p, status and wall time) stands in for it, so that the
figure can be made again on a machine that has not rerun the suite; per (kind, gating, expert, estimator) group the
fit wall times follow t = c n^alpha, fitted by least squares on log t against log n over the measured fits
(alpha = 1 when only one n was measured), scaled by (p / p_quick)^2 for least squares and references (a
Gauss-Newton Hessian per iteration) and by p / p_quick for the gradient-based estimators; a model: iteration
counts change with p too.

The schedule is moerate's: one master hands tasks out one at a time, reference fits first, then the largest
cost by moerate's cost models, skipping a pair whose reference is not done yet; R ranks are R - 1 workers; the master
spends --master-us microseconds per hand-out (the reciprocal of bench/scheduler.py's throughput, ~150k tasks/s
here).  The specs run one after another, each on all ranks (as a family's batch script runs them in one job);
with --groups also side by side, a job per spec as jobs/slurm/submit_all.sh --ranks R submits them, each job
sized by --plan (plan_jobs: R shared in proportion to the specs' predicted costs, a master and at least one
worker a job, then ranks moved to the job predicted to end last while its end falls, then each job trimmed to
the fewest ranks that keep its end).  Printed per rank count: the suite's wall time, the parallel efficiency sum(task time) /
(workers x wall) (side by side: / (ranks x wall), the jobs' masters counted), and the worst spec's.  This is a
model: it ignores start-up (MPI_Init, screening each truth: seconds), file writes (< 1% of a fitting run,
figure 6) and contention between ranks sharing a node's memory bandwidth.
"""
import argparse
import concurrent.futures
import heapq
import json
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import groups  # noqa: E402  (figure 10's model)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# every full-scale spec of jobs/specs (a _quick variant is a measurement of its full spec, not a spec of the suite)
SUITE = sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "jobs", "specs"))
               if f.endswith(".yaml") and not f.endswith("_quick.yaml"))
COSTS = os.path.join(ROOT, "docs", "results", "costs")
REFERENCE = 1
CHUNKS = 64  # MOE_DATA_CHUNKS (include/moedata.h)
GROUPS_MODEL = os.path.join(ROOT, "bench", "groups_model.json")  # figure 10's model as measured here: --plan's default
GROUPING = {"lse", "mle"}  # the estimators whose fits a group of ranks can share (the `groups` trait)


def grid(moerate, spec, work):
    """The records (kind, gating, expert, estimator, n) of every task of a spec, from moerate -skip_fit."""
    out = os.path.join(work, spec + ".grid.h5")
    if not os.path.exists(out):
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_vader_single_copy_mechanism="none")
        p = subprocess.run(["mpiexec", "-n", "2", moerate, "run", "-options_file_yaml",
                            os.path.join(ROOT, "jobs", "specs", spec + ".yaml"), "-skip_fit", "-output", out],
                           capture_output=True, text=True, env=env)
        if p.returncode != 0:
            sys.exit("simulate.py: the grid of %s: moerate failed:\n%s" % (spec, p.stderr[-2000:]))
    with h5py.File(out, "r") as h:
        names = [x.decode() if isinstance(x, bytes) else x for x in h["grid/estimators"][:]] if "grid/estimators" in h else ["lse"]
        return h["tasks/records"][:], names


def key(r):
    est = r["estimator"] if "estimator" in r.dtype.names else 0
    return (int(r["kind"]), int(r["gating"]), int(r["expert"]), int(est))


def p_exponent(kind, estimator):
    """How a task's cost grows with its parameter count: p^2 for least squares (a Gauss-Newton Hessian per
    iteration) and the reference fits, p for the others (gradients: mle, em, sgd), as moerate's cost models."""
    return 2 if kind == REFERENCE or estimator == "lse" else 1


# what the simulation takes from a measured run, per task (docs/results/costs/SPEC.csv keeps it for good)
COST_FIELDS = ("kind", "gating", "expert", "estimator", "n", "p", "status", "wall_time")
# why a task took long (a fit's starts, the chosen start's iterations): in the tables written since 2026-12-06 (-1 before)
TAIL_FIELDS = ("starts_used", "iterations")


class Measured:
    """A measured run: its tasks' records (COST_FIELDS), estimator names, whether it is complete and its name;
    from a results file or from the costs table docs/results/make.sh writes beside the spec's rate tables."""

    def __init__(self, path):
        self.name = os.path.basename(path)
        if path.endswith(".csv"):
            with open(path) as f:
                lines = f.read().splitlines()
            head = dict(l[2:].split(": ", 1) for l in lines if l.startswith("# ") and ": " in l)
            rows = [l.split(",") for l in lines if l and not l.startswith("#")]
            assert tuple(rows[0]) in (COST_FIELDS, COST_FIELDS + TAIL_FIELDS), "%s: not a costs table (columns %s)" % (path, rows[0])
            fields = COST_FIELDS + TAIL_FIELDS
            self.rec = np.array([tuple(float(v) if c == "wall_time" else int(v) for c, v in zip(fields, r + ["-1"] * (len(fields) - len(r))))
                                 for r in rows[1:]], dtype=[(c, "f8" if c == "wall_time" else "i8") for c in fields])
            self.names = head["estimators"].split(",")
            self.complete = head["status"] == "complete"
        else:
            with h5py.File(path, "r") as h:
                self.rec = h["tasks/records"][:]
                self.names = [x.decode() if isinstance(x, bytes) else x for x in h["grid/estimators"][:]] if "grid/estimators" in h else ["lse"]
                self.complete = h.attrs.get("status") == "complete"
        self.done = int(np.count_nonzero(self.rec["status"] != 0))
        self.quick = self.name.split(".")[0].endswith("_quick")


def export_costs(h5, out):
    """The costs table of a results file: one row per task (COST_FIELDS and TAIL_FIELDS), the file's status and
    estimators in its head."""
    m = Measured(h5)
    with open(out, "w") as f:
        f.write("# costs of %s, per task (bench/simulate.py reads it when the results file is absent)\n" % m.name)
        f.write("# status: %s\n# estimators: %s\n" % ("complete" if m.complete else "partial", ",".join(m.names)))
        f.write(",".join(COST_FIELDS + TAIL_FIELDS) + "\n")
        for r in m.rec:
            f.write(",".join(repr(float(r[c])) if c == "wall_time" else str(int(r[c])) for c in COST_FIELDS + TAIL_FIELDS) + "\n")


def cost_laws(m):
    """{group: (c, alpha, p)} with t = c n^alpha at p parameters, from the measured fits of a run."""
    rec, names = m.rec, m.names
    done = rec[(rec["status"] != 0) & (rec["wall_time"] > 0)]
    laws = {}
    for k in {key(r) for r in done}:
        sel = np.array([key(r) == k for r in done])
        n, t = done["n"][sel].astype(float), done["wall_time"][sel]
        if len(np.unique(n)) >= 2:
            alpha, logc = np.polyfit(np.log(n), np.log(t), 1)
        else:
            alpha, logc = 1.0, np.log(np.median(t) / n[0])
        # the group by (kind, gating, expert, estimator name): indices differ between files
        laws[(k[0], k[1], k[2], names[k[3]])] = (float(np.exp(logc)), float(alpha), float(np.median(done["p"][sel])))
    return laws


def predict(records, laws, names):
    """Predicted seconds of each task: the measured law at the task's n, scaled by (p / p measured)^e (e from
    p_exponent); a group the measured run lacks takes the median law of its kind."""
    out = np.empty(len(records))
    for i, r in enumerate(records):
        k = key(r)
        law = laws.get((k[0], k[1], k[2], names[k[3]]))
        if law is None:
            same = [v for kk, v in laws.items() if kk[0] == k[0]] or list(laws.values())
            law = tuple(float(np.median([v[j] for v in same])) for j in range(3))
        c, alpha, p0 = law
        out[i] = c * float(r["n"]) ** alpha * (float(r["p"]) / p0) ** p_exponent(k[0], names[k[3]])
    return out


def expected_cost(records, names):
    """moerate's ordering key (its estimators' cost models, up to constant factors): n p^2 for least squares
    and references, n p x 100 for the likelihood fits, n p x 10 for SGD."""
    out = np.empty(len(records))
    for i, r in enumerate(records):
        name = names[key(r)[3]]
        n, p = float(r["n"]), float(r["p"])
        out[i] = n * p * p if (r["kind"] == REFERENCE or name == "lse") else n * p * (10 if name == "sgd" else 100)
    return out


def measured_durations(m, records, est, spec=None):
    """The durations of a run of the same spec and grid: measured where its tasks are done (all of them when it
    is complete), the laws of its finished fits (predict) for the rest; None for another grid, or for a quick
    run standing in for its full spec (a spec named NAME_quick is its own quick run)."""
    if (m.quick and m.name.split(".")[0] != spec) or len(m.rec) != len(records) or np.any(m.rec["n"] != records["n"]):
        return None
    if m.complete:
        return m.rec["wall_time"].astype(float)
    done = (m.rec["status"] != 0) & (m.rec["wall_time"] > 0)
    return np.where(done, m.rec["wall_time"], predict(records, cost_laws(m), est))


def schedule(records, dur, cost, workers, master_s):
    """Wall time of moerate's schedule: references first, then the largest expected cost first among the tasks
    whose pair's reference is done (a blocked pair is skipped, not waited for); a worker that finds only blocked
    work waits for the next reference to finish; the master spends master_s per hand-out."""
    pair, is_ref, ref_pairs, remaining = task_queue(records, cost)
    ref_done = {}  # pair -> finish time of its reference
    free = [(0.0, w) for w in range(workers)]
    heapq.heapify(free)
    master, end = 0.0, 0.0
    while remaining:
        t, w = heapq.heappop(free)
        now = max(t, master)
        pick = None
        for idx, i in enumerate(remaining):
            if is_ref[i] or pair[i] not in ref_pairs or ref_done.get(pair[i], np.inf) <= now:
                pick = idx
                break
        if pick is None:  # only blocked work: wait for the earliest reference still running
            now = min(v for v in ref_done.values() if v > now)
            heapq.heappush(free, (now, w))
            continue
        i = remaining.pop(pick)
        master = now + master_s
        finish = master + dur[i]
        if is_ref[i]:
            ref_done[pair[i]] = finish
        end = max(end, finish)
        heapq.heappush(free, (finish, w))
    return end


def group_speedup(g, n, kind_groups, gm):
    """Speed-up of a task of size n on a group of g ranks, by figure 10's model (bench/groups.py): its rows'
    work divided over the chunks each rank holds, plus the Hessian's reduction (its packed upper triangle) per Gauss-Newton iteration, whose
    share of an iteration shrinks as n grows (both scale with p^2, so p cancels); gm: figure 9's groups.json."""
    if g == 1 or not kind_groups:
        return 1.0
    red = gm["reduce"]
    t_iter = gm["time_1"] / max(1, gm["iterations"]) * n / gm["n"]  # one iteration on one rank at this n
    c = chunks(n)  # the most ranks the rows spread over: a rank holds whole chunks
    share = math.ceil(c / g) / c
    return 1.0 / (share + (groups.messages(g) * (red["send_s"] + red["add_s"]) + math.ceil(math.log2(g)) * red["bcast_s"]) / t_iter)


def chunks(n):
    """MoeDataChunks: a sample's chunks, at most 64 of at least 1024 rows."""
    return max(1, min(CHUNKS, int(n) // 1024))


ALONE = -1  # MOE_WANT_ALONE: a fit of an estimator that runs on one rank (sgd, em)


def group_layout(records, cost, workers, names):
    """-fit_group auto as moerate lays it out (MoeScheduleGroupLayout, src/grid/schedule.c): the fair share is
    the pending tasks' expected cost over the workers; a task above half of it wants the smallest power of two
    of ranks that brings it within that half, at most 64, the workers and its sample's chunks; a fit of an
    estimator that runs on one rank (names: the grid's estimators) wants a rank alone, and one rank is then
    kept alone; each task above the half, largest first, gets a group of its own while ranks remain; the other
    ranks form groups of one; a task then wants the largest group formed that is at most its size.  Returns
    the group sizes (largest first) and each task's wanted size."""
    order = sorted(range(len(records)), key=lambda i: (-cost[i], i))
    half = cost.sum() / workers / 2
    want = np.ones(len(records), dtype=int)
    for i in order:
        if records[i]["kind"] != REFERENCE and names[key(records[i])[3]] not in GROUPING:
            want[i] = ALONE
            continue
        cap, w = min(CHUNKS, workers, chunks(records[i]["n"])), 1
        while w < cap and cost[i] / w > half:
            w *= 2
        want[i] = min(w, cap)
    limit = workers - 1 if (want == ALONE).any() else workers
    sizes, used = [], 0
    for i in order:
        if want[i] > 1 and used + want[i] <= limit:
            sizes.append(int(want[i]))
            used += want[i]
    sizes = sorted(sizes + [1] * (workers - used), reverse=True)
    return sizes, np.array([w if w == ALONE else next((g for g in sizes if g <= w), 1) for w in want])


def task_queue(records, cost):
    """The schedule's queue: each task's pair, which tasks are references, the pairs that have one, and the order
    (references first, then the largest expected cost)."""
    pair = [(int(r["gating"]), int(r["expert"])) for r in records]
    is_ref = records["kind"] == REFERENCE
    ref_pairs = {pair[i] for i in np.flatnonzero(is_ref)}
    return pair, is_ref, ref_pairs, sorted(range(len(records)), key=lambda i: (not is_ref[i], -cost[i], i))


def take_next(size, largest, now, remaining, yielded, want, is_ref, pair, ref_pairs, ref_done):
    """The task a free group of `size` ranks takes at `now` (popped from its list): a task handed back (the
    largest groups only) unless a reference may go first, else the first in order that wants at most its size
    and is not blocked by its pair's reference; None when there is none.  And the indices in `remaining` of
    the tasks of its size."""
    fits = [idx for idx, i in enumerate(remaining) if (size == 1 if want[i] == ALONE else want[i] <= size)]
    pick = next((idx for idx in fits if is_ref[remaining[idx]] or pair[remaining[idx]] not in ref_pairs
                 or ref_done.get(pair[remaining[idx]], np.inf) <= now), None)
    back = next((k for k, (a, i) in enumerate(yielded) if a <= now), None) if size == largest else None
    if back is not None and (pick is None or not is_ref[remaining[pick]]):
        return yielded.pop(back)[1], fits
    if pick is not None:
        return remaining.pop(pick), fits
    return None, fits


def schedule_layout(records, dur, sizes, want, cost, master_s, gm, yield_factor=0.0, merge=False):
    """moerate's schedule on the groups of group_layout: a free group takes the first task in order (references
    first, then the tasks handed back, then the largest expected cost) that wants at most its size and is not
    blocked by its pair's reference; its time is the task's one-rank time over figure 10's speed-up for that
    group size; a group that finds only blocked work waits for the next reference, one that finds only larger
    tasks stays idle (or waits for a task handed back).  -fit_group_yield (yield_factor > 0): a task that a group
    smaller than the largest and than its sample's chunks runs longer than yield_factor x the time that group
    size takes for half the fair share (the spec's seconds per expected-cost unit on one rank x g / its
    speed-up) is handed back at that moment, for the largest group; the time spent on it is lost.  merge (a
    design, not built): at that moment the groups idle then (nothing left that they may run) join the task's
    group, largest first, up to min(64, its sample's chunks) ranks, and the merged group reruns it at once (the
    time spent lost); with no idle group it is handed back as above if a larger group exists, else it goes on."""
    if merge:
        return schedule_merging(records, dur, list(sizes), want, cost, master_s, gm, yield_factor)
    pair, is_ref, ref_pairs, remaining = task_queue(records, cost)
    # half the fair share in seconds on one rank, as moerate's S->half: the expected cost over the workers (not the groups), / 2
    limit = yield_factor * cost.sum() / sum(sizes) / 2 * dur.sum() / cost.sum() if sizes[0] > 1 else 0.0
    yielded, idle = [], []  # (when handed back, task); groups with nothing they may run
    free = [(0.0, j) for j in range(len(sizes))]  # the first round goes to the largest groups first
    heapq.heapify(free)
    ref_done, master, end = {}, 0.0, 0.0
    while (remaining or yielded) and free:
        t, j = heapq.heappop(free)
        now = max(t, master)
        i, fits = take_next(sizes[j], sizes[0], now, remaining, yielded, want, is_ref, pair, ref_pairs, ref_done)
        if i is None:
            later = [v for v in ref_done.values() if v > now]
            if sizes[j] == sizes[0] and yielded:  # a task handed back later
                heapq.heappush(free, (min(a for a, _ in yielded), j))
            elif fits and later:  # only blocked work of its size: wait for the next reference to end
                heapq.heappush(free, (min(later), j))
            else:  # only larger tasks are left: this group stays idle, unless a task is handed back
                idle.append(j)
            continue
        master = now + master_s
        speedup = group_speedup(sizes[j], float(records[i]["n"]), sizes[j] > 1, gm)
        allowed = limit * sizes[j] / speedup  # the seconds a group of this size takes for half the share
        if sizes[j] < min(sizes[0], chunks(records[i]["n"])) and limit > 0 and want[i] != ALONE and dur[i] / speedup > allowed:
            yielded.append((master + allowed, i))
            heapq.heappush(free, (master + allowed, j))
            for jk in [jk for jk in idle if sizes[jk] == sizes[0]]:  # an idle largest group takes it when it comes
                idle.remove(jk)
                heapq.heappush(free, (master + allowed, jk))
            continue
        finish = master + dur[i] / speedup
        if is_ref[i]:
            ref_done[pair[i]] = finish
        end = max(end, finish)
        heapq.heappush(free, (finish, j))
    return end


def schedule_merging(records, dur, sizes, want, cost, master_s, gm, yield_factor):
    """schedule_layout's merge variant: the overrun is checked when it happens, against the groups idle then."""
    pair, is_ref, ref_pairs, remaining = task_queue(records, cost)
    limit = yield_factor * cost.sum() / sum(sizes) / 2 * dur.sum() / cost.sum()
    yielded, idle, running = [], [], {}  # handed back (when, task); idle groups; group -> (task, start, speed-up)
    free = [(0.0, j) for j in range(len(sizes))]
    heapq.heapify(free)
    ref_done, master, end = {}, 0.0, 0.0

    def done(i, j, finish):
        nonlocal end
        if is_ref[i]:
            ref_done[pair[i]] = finish
        end = max(end, finish)
        heapq.heappush(free, (finish, j))

    while (remaining or yielded or running) and free:
        t, j = heapq.heappop(free)
        if j in running:  # its task has run as long as the rule allows
            i, start, speedup = running.pop(j)
            n, want_g = float(records[i]["n"]), min(CHUNKS, chunks(records[i]["n"]))
            take = []
            for k in sorted(idle, key=lambda k: (-sizes[k], k)):
                if sizes[j] + sum(sizes[m] for m in take) >= want_g:
                    break
                take.append(k)
            if take:
                for k in take:
                    idle.remove(k)
                sizes.append(min(want_g, sizes[j] + sum(sizes[k] for k in take)))
                master = max(t, master) + master_s
                done(i, len(sizes) - 1, master + dur[i] / group_speedup(sizes[-1], n, True, gm))
            elif sizes[j] < min(max(sizes), want_g):
                yielded.append((t, i))
                heapq.heappush(free, (t, j))
                for jk in [jk for jk in idle if sizes[jk] == max(sizes)]:
                    idle.remove(jk)
                    heapq.heappush(free, (t, jk))
            else:
                done(i, j, start + dur[i] / speedup)
            continue
        now = max(t, master)
        i, fits = take_next(sizes[j], max(sizes), now, remaining, yielded, want, is_ref, pair, ref_pairs, ref_done)
        if i is None:
            later = [v for v in ref_done.values() if v > now]
            if fits and later:
                heapq.heappush(free, (min(later), j))
            else:
                idle.append(j)
            continue
        master = now + master_s
        speedup = group_speedup(sizes[j], float(records[i]["n"]), sizes[j] > 1, gm)
        allowed = limit * sizes[j] / speedup
        if limit > 0 and want[i] != ALONE and sizes[j] < min(CHUNKS, chunks(records[i]["n"])) and dur[i] / speedup > allowed:
            running[j] = (i, master, speedup)
            heapq.heappush(free, (master + allowed, j))
            continue
        done(i, j, master + dur[i] / speedup)
    return end


def side_by_side_plan(costs, ranks):
    """jobs/slurm/submit_all.sh --ranks R: the ranks of each spec's job when the suite's specs run side by side
    (one SLURM job per spec, all at once).  costs: {spec: predicted core-seconds of its fits}.  Every job has its
    master and at least one worker; the R - J other ranks (J jobs) are shared out as workers in proportion to
    the specs' costs (the floor of each share), and the ranks the floors leave go one at a time to the job with
    the most cost per worker, so that every job is predicted to end at about the same time.  Returns {spec:
    ranks}; ValueError when R < 2 J (not every job can start)."""
    specs = sorted(costs)
    if ranks < 2 * len(specs):
        raise ValueError("%d ranks cannot run %d specs side by side (each job needs a master and a worker: at least %d)"
                         % (ranks, len(specs), 2 * len(specs)))
    spare, total = ranks - len(specs), sum(costs.values())
    workers = {s: max(1, int(spare * costs[s] / total)) if total > 0 else 1 for s in specs}
    while sum(workers.values()) > spare:  # the floors of one rank went over: take from the least loaded
        s = min((s for s in specs if workers[s] > 1), key=lambda s: (costs[s] / workers[s], s))
        workers[s] -= 1
    while sum(workers.values()) < spare:
        s = max(specs, key=lambda s: (costs[s] / workers[s], s))
        workers[s] += 1
    return {s: workers[s] + 1 for s in specs}


def balanced_plan(plan, wall_of, step=1, least=2):
    """A side-by-side plan rebalanced by predicted walls (jobs/slurm/submit_all.sh --ranks): from `plan` (the
    shares by cost), ranks move to the job that ends last, `step` at a time, as long as that job's end falls
    strictly: the fewest steps that bring it down (a rank more often changes nothing until a group of the next
    size forms: the walls are steps, so the plan looks ahead over them), each taken from the job that ends
    first after giving it (of those that keep `least` ranks) and only while it still ends before the last
    job did.  It stops when no number of ranks the others can spare shortens the last job (a job bound by a
    fit that runs on one rank, or by its longest fit on its largest group).  wall_of(spec, ranks): the job's
    predicted wall time (asked again for the same job and ranks: plan_jobs caches it).  Returns the new
    {spec: ranks}."""
    plan, wall = dict(plan), wall_of
    while True:
        walls = {s: wall(s, r) for s, r in plan.items()}
        last = max(walls, key=lambda s: (walls[s], s))
        spare = sum((plan[s] - least) // step for s in plan if s != last)
        m = steps_to_gain(lambda k: wall(last, plan[last] + k * step), walls[last], spare)
        if m is None:
            return plan
        new = dict(plan)
        for _ in range(m):
            gives = [(wall(d, new[d] - step), d) for d in new if d != last and new[d] - step >= least]
            if not gives or min(gives)[0] >= walls[last]:
                return plan
            new[min(gives)[1]] -= step
        new[last] += m * step
        plan = new


def steps_to_gain(wall_at, now, most):
    """The fewest k in 1..most with wall_at(k) < now, looked for by doubling and then bisection (the walls fall
    with k, in steps); None when wall_at(most) does not fall below now either."""
    if most < 1:
        return None
    hi = 1
    while hi < most and wall_at(hi) >= now:
        hi = min(2 * hi, most)
    if wall_at(hi) >= now:
        return None
    lo = hi // 2  # wall_at(lo) >= now (or lo = 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if wall_at(mid) < now:
            hi = mid
        else:
            lo = mid
    return hi


def trimmed_plan(plan, wall_of, step=1, least=2):
    """Each job of a plan with the fewest ranks (down by `step`, at least `least`) that keep its predicted wall:
    ranks that shorten no job are not asked for.  The walls fall with the ranks in steps, so the search is a
    bisection."""
    out = {}
    for s, r in plan.items():
        now, lo, hi = wall_of(s, r), 0, (r - least) // step  # hi steps fewer keep the wall?  0 does
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if wall_of(s, r - mid * step) <= now:
                lo = mid
            else:
                hi = mid - 1
        out[s] = r - lo * step
    return out


def fit_group_unit(fit_group):
    """The ranks a job's size grows by, and its fewest ranks, under moerate's -fit_group: fixed groups of g need
    1 + a multiple of g ranks; auto and 0 take any number, at least a master and one worker."""
    g = fit_group if isinstance(fit_group, int) and fit_group > 0 else 1
    return g, 1 + g


def job_wall(spec, ranks, fit_group, master_s, gm):
    """A spec's predicted wall time as one job of `ranks` ranks under -fit_group (0: a fit per rank; "auto":
    moerate's layout of groups; g: groups of g, every fit on one)."""
    _, rec, dur, _, cost, names = spec
    if fit_group == "auto":
        return grouped_wall(spec, ranks - 1, master_s, gm, 0.0)[0]
    if fit_group == 0:
        return schedule(rec, dur, cost, ranks - 1, master_s)
    sizes = [fit_group] * ((ranks - 1) // fit_group)
    return schedule_layout(rec, dur, sizes, np.full(len(rec), fit_group), cost, master_s, gm)


def plan_jobs(specs, ranks, fit_group, master_s, gm):
    """submit_all.sh --ranks R: each spec's job size, {spec: ranks}, and its predicted wall, {spec: seconds}.
    The ranks are first shared in proportion to the specs' predicted costs (side_by_side_plan, in units of a
    fixed group), then moved to the job predicted to end last (balanced_plan), then each job keeps the fewest
    that keep its predicted end (trimmed_plan): the plan may ask for fewer than R.  specs: load_specs' tuples.
    ValueError when R cannot give every job its fewest ranks."""
    unit, least = fit_group_unit(fit_group)
    costs = {sp[0]: float(sp[2].sum()) for sp in specs}
    if ranks < least * len(costs):
        raise ValueError("%d ranks cannot run %d specs side by side (each job needs a master and %s: at least %d)"
                         % (ranks, len(costs), "a worker" if unit == 1 else "a group of %d" % unit, least * len(costs)))
    shares = side_by_side_plan(costs, len(costs) + (ranks - len(costs)) // unit)
    plan = {s: 1 + unit * (r - 1) for s, r in shares.items()}
    by = {sp[0]: sp for sp in specs}
    seen = {}

    def wall_of(s, r):
        if (s, r) not in seen:
            seen[s, r] = job_wall(by[s], r, fit_group, master_s, gm)
        return seen[s, r]

    # one rank at a time up to 512 ranks, R/512 at a time above (the model's time stays bounded)
    step = unit * max(1, ranks // unit // 512)
    plan = trimmed_plan(balanced_plan(plan, wall_of, step, least), wall_of, unit, least)
    return plan, {s: wall_of(s, r) for s, r in plan.items()}


def measured_run(spec, results):
    """The run a spec's durations come from: its complete full run, else its quick run, else whatever there is
    (results/ first, then docs/results/costs); None when there is none."""
    runs = [Measured(p) for v in (spec, spec + "_quick") for p in (os.path.join(results, v + ".h5"), os.path.join(COSTS, v + ".csv"))
            if os.path.exists(p)]
    if not runs:
        return None
    return next((r for r in runs if r.complete and not r.quick), next((r for r in runs if r.quick), runs[0]))


def tail_of(spec, results):
    """", n = N, its median there M s, S starts and I iterations" for a spec's longest task, from its measured run
    (the starts and iterations when the run records them)."""
    name, rec, dur = spec[0], spec[1], spec[2]
    i = int(np.argmax(dur))
    out = ", n = %d, its median there %.1f s" % (rec[i]["n"], np.median(dur[rec["n"] == rec[i]["n"]]))
    m = measured_run(name, results)
    if m is not None and len(m.rec) == len(rec) and m.rec[i]["starts_used"] >= 0:
        out += ", %d start(s), the chosen one %d iterations" % (m.rec[i]["starts_used"], m.rec[i]["iterations"])
    return out


def load_specs(names, results, moerate, work, quiet=False):
    """[(spec, records, durations, source, expected costs, estimator names)] of the specs with a measured run;
    and the names left out."""
    specs, left = [], []
    for s in names:
        m = measured_run(s, results)
        if m is None or not m.done:
            if not quiet:
                print("  %s: %s: left out" % (s, "no measured run (results/%s.h5, _quick.h5 or their costs in docs/results/costs)" % s
                                              if m is None else "%s has no finished task" % m.name))
            left.append(s)
            continue
        specs.append(measured_spec(s, m, *grid(moerate, s, work)))
        if not quiet:
            print("  %-22s %6d tasks, %9.0f s of fits, %s" % (s, len(specs[-1][1]), specs[-1][2].sum(), specs[-1][3]))
    return specs, left


def measured_spec(s, m, rec, est):
    """A spec's tuple (spec, records, durations, source, expected costs, estimator names) from its grid (rec, est)
    and its measured run m: the run's own times where it is this spec's complete run ("measured"), else the
    times its laws predict ("predicted from FILE")."""
    dur = measured_durations(m, rec, est, s)
    source = "measured" if dur is not None and m.complete else "predicted from " + m.name
    if dur is None:
        dur = predict(rec, cost_laws(m), est)
    return (s, rec, dur, source, expected_cost(rec, est), est)


def grouped_wall(spec, workers, master_s, gm, factor, merge=False):
    """The wall time of one spec's run on `workers` workers with -fit_group auto, and its largest group."""
    _, rec, dur, _, cost, names = spec
    sizes, want = group_layout(rec, cost, workers, names)
    return schedule_layout(rec, dur, sizes, want, cost, master_s, gm, factor, merge), sizes[0]


def by_name(specs, name):
    """The tuple of load_specs' list for one spec."""
    return next(sp for sp in specs if sp[0] == name)


def estimator_parts(records, names):
    """[(name, mask)]: a grid's tasks by what prices them, the reference fits apart ("reference") and the
    replicate fits by estimator name."""
    label = np.array(["reference" if r["kind"] == REFERENCE else names[key(r)[3]] for r in records])
    return [(name, label == name) for name in sorted(set(label))]


def plan_main(o):
    """--plan R SPEC...: print "SPEC RANKS SECONDS WALL SOURCE" per spec for submit_all.sh --ranks R (plan_jobs:
    the job's ranks, its predicted seconds of fits and wall time, where the prediction comes from), and on
    stderr the ranks used and the predicted end.  Each task's time comes from the spec's measured run: its
    measured wall times when the full run is complete, else the laws of its quick or partial run; a spec with
    no run measured takes its grid's expected cost units (moerate's cost model) at the median seconds per
    unit that the complete runs measured give the same estimator (the reference fits apart), or all
    estimators where none has it."""
    if o.fit_group is None:
        o.fit_group = specs_fit_group(o.specs)
    fit_group = parse_fit_group(o.fit_group)
    unit, least = fit_group_unit(fit_group)
    if o.plan < least * len(o.specs):  # refused before any grid is made
        print("simulate.py: --plan %d: %d ranks cannot run %d specs side by side (each job needs %d ranks: a master and %s):"
              " give more ranks, or run the specs one after another (submit_all.sh --ntasks)"
              % (o.plan, o.plan, len(o.specs), least, "a worker" if unit == 1 else "a group of %d" % unit), file=sys.stderr)
        sys.exit(2)
    gm = groups_model(o.groups or GROUPS_MODEL)
    if o.workdir:
        os.makedirs(o.workdir, exist_ok=True)
        specs = plan_specs(o, o.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="moerate-plan.") as work:
            specs = plan_specs(o, work)
    alone = ["%s (%s)" % (sp[0], ", ".join(sorted(set(sp[5]) - GROUPING))) for sp in specs if set(sp[5]) - GROUPING]
    if isinstance(fit_group, int) and fit_group > 0 and alone:
        print("simulate.py: --plan: -fit_group %d: moerate refuses a fixed group for estimators that fit on one rank, in %s:"
              " use MOERATE_FIT_GROUP=auto (it runs their fits alone) or leave those specs out" % (fit_group, "; ".join(alone)),
              file=sys.stderr)
        sys.exit(2)
    plan, walls = plan_jobs(specs, o.plan, fit_group, o.master_us * 1e-6, gm)
    for sp in specs:
        print("%s %d %.0f %.0f %s" % (sp[0], plan[sp[0]], sp[2].sum(), walls[sp[0]], sp[3]))
    last = max(walls, key=lambda s: (walls[s], s))
    total = sum(sp[2].sum() for sp in specs)
    if all(sp[3] == "cost model (units)" for sp in specs):  # no run measured: the times are cost units, not seconds
        print("simulate.py: --plan %d: no spec has a measured run (results/ or docs/results/costs), so the jobs are sized by"
              " moerate's cost model in its units, not seconds" % o.plan, file=sys.stderr)
    print("simulate.py: --plan %d (-fit_group %s): %d of %d ranks, the last job %s predicted to end after %.0f s"
          " (efficiency %.3f on the ranks asked for)%s" % (
              o.plan, o.fit_group, sum(plan.values()), o.plan, last, walls[last], total / (sum(plan.values()) * walls[last]),
              "; more ranks would end no job sooner" if sum(plan.values()) < o.plan else ""), file=sys.stderr)


def specs_fit_group(names):
    """The -fit_group the specs' files give (their fit_group: line; "0" when none does), the same for all of them:
    one plan shares the ranks in one unit."""
    found = {}
    for name in names:
        with open(os.path.join(ROOT, "jobs", "specs", name + ".yaml")) as f:
            for line in f:
                if line.startswith("fit_group:"):
                    found[name] = line.split(":", 1)[1].split("#")[0].strip()
    values = set(found.values()) | ({"0"} if len(found) < len(names) else set())
    if len(values) > 1:
        print("simulate.py: --plan: the specs' fit_group differ (%s; the others 0): give one to all of them"
              " (MOERATE_FIT_GROUP, or --fit-group)" % ", ".join("%s %s" % kv for kv in sorted(found.items())), file=sys.stderr)
        sys.exit(2)
    return values.pop()


def groups_model(path):
    """Figure 10's model of a group's speed-up (groups.json, bench/groups.py), with the fields group_speedup reads;
    one line and exit 2 when the file is missing or is not such a model."""
    try:
        with open(path) as f:
            gm = json.load(f)
        for value in (gm["n"], gm["iterations"], gm["time_1"], *(gm["reduce"][k] for k in ("send_s", "add_s", "bcast_s"))):
            float(value)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("simulate.py: --groups %s: not figure 10's model (%s): give a groups.json that bench/groups.py wrote"
              " (MOERATE_GROUPS_MODEL), or drop it for bench/groups_model.json" % (path, e), file=sys.stderr)
        sys.exit(2)
    return gm


def parse_fit_group(value):
    """--fit-group: "auto", or a number of ranks (0: a fit per rank)."""
    if value == "auto":
        return "auto"
    try:
        g = int(value)
    except ValueError:
        g = -1
    if g < 0:
        print("simulate.py: --fit-group '%s' is not a group size: give auto or a number of ranks (0: a fit per rank)" % value, file=sys.stderr)
        sys.exit(2)
    return g


def plan_specs(o, work):
    """plan_main's specs as load_specs' tuples (spec, records, durations, source, expected costs, estimator
    names), every spec included, its grid made in `work`."""
    runs = {s: measured_run(s, o.results) for s in o.specs}
    # the grids, made side by side: each moerate -skip_fit mostly waits for its start-up
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        grids = dict(zip(o.specs, pool.map(lambda s: grid(o.moerate, s, work), o.specs)))
    out, unmeasured = {}, []
    rates = {}  # estimator name (or "reference") -> [seconds per expected-cost unit of each complete measured run]
    for s in o.specs:
        m = runs[s]
        if m is None or not m.done:
            unmeasured.append(s)
            continue
        out[s] = measured_spec(s, m, *grids[s])
        if m.complete:  # seconds per cost unit, quick runs too: each prices its own grid
            for name, sel in estimator_parts(m.rec, m.names):
                rates.setdefault(name, []).append(m.rec["wall_time"][sel].sum() / expected_cost(m.rec[sel], m.names).sum())
    every = float(np.median([r for v in rates.values() for r in v])) if rates else 1.0
    for s in unmeasured:
        rec, est = grids[s]
        cost, dur = expected_cost(rec, est), np.empty(len(rec))
        for name, sel in estimator_parts(rec, est):
            dur[sel] = cost[sel] * float(np.median(rates.get(name, [every])))
        out[s] = (s, rec, dur, "cost model" + ("" if rates else " (units)"), cost, est)
    return [out[s] for s in o.specs]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--export", nargs=2, metavar=("RESULTS_H5", "COSTS_CSV"),
                    help="write the costs table of a results file (docs/results/make.sh does) and stop")
    ap.add_argument("--plan", type=int, metavar="RANKS",
                    help="print each SPEC's job size (ranks) for the specs side by side on RANKS ranks, then stop"
                         " (jobs/slurm/submit_all.sh --ranks)")
    ap.add_argument("specs", nargs="*", help="with --plan: the specs (names of jobs/specs/NAME.yaml)")
    ap.add_argument("--fit-group", help="with --plan: the jobs' -fit_group (auto, g, or 0: a fit per rank; default: the specs'"
                    " fit_group, else 0)")
    ap.add_argument("--moerate", default=os.path.join(ROOT, "build", "moerate"))
    ap.add_argument("--results", default=os.path.join(ROOT, "results"))
    ap.add_argument("--ranks", type=int, nargs="+", default=[64, 512, 4096])
    ap.add_argument("--master-us", type=float, default=7.0)
    ap.add_argument("--workdir")
    ap.add_argument("--groups", help="figure 9's groups.json (bench/groups.py): also simulate grouped fits by the automatic rule"
                    " (with --plan: the model of a group's speed-up, bench/groups_model.json when not given)")
    ap.add_argument("--yield", dest="yield_factor", type=float, default=1.0,
                    help="a -fit_group_yield factor simulated beside 0 (moerate's default since 2026-12-06: never)")
    ap.add_argument("--merge", action="store_true",
                    help="also simulate a design not built: an overrunning fit rerun at once by its group joined by the groups idle then")
    ap.add_argument("--save", metavar="DIR", help="also write the figures to DIR/suite.json (bench/run_all's report reads it)")
    o = ap.parse_args()
    if o.export:
        export_costs(*o.export)
        return
    if o.plan is not None:
        if not o.specs:
            ap.error("--plan needs the specs")
        plan_main(o)
        return
    work = o.workdir or tempfile.mkdtemp(prefix="moerate-sim.")
    os.makedirs(work, exist_ok=True)
    specs, _ = load_specs(SUITE, o.results, o.moerate, work)
    total = sum(sp[2].sum() for sp in specs)
    master_s = o.master_us * 1e-6
    print("figure 8: the suite (%d specs, %d tasks, %.1f core-hours of fits), simulated" % (
        len(specs), sum(len(sp[1]) for sp in specs), total / 3600))
    saved = dict(specs=[sp[0] for sp in specs], sources=[sp[3] for sp in specs], tasks=sum(len(sp[1]) for sp in specs),
                 core_hours=total / 3600, runs=[])
    longest = max(specs, key=lambda sp: sp[2].max())
    print("  the longest single task: %.0f s (%s%s): no number of ranks brings a spec below its longest task" % (
        longest[2].max(), longest[0], tail_of(longest, o.results)))
    for R in o.ranks:
        walls = [(s, schedule(rec, dur, cost, R - 1, master_s), dur.sum()) for s, rec, dur, _, cost, _ in specs]
        wall = sum(w for _, w, _ in walls)
        worst = min(walls, key=lambda x: x[2] / ((R - 1) * x[1]))
        saved["runs"].append(dict(ranks=R, groups=False, layout="sequential", yield_factor=0.0, wall=wall,
                                  efficiency=total / ((R - 1) * wall), limit=total / R))
        print("  %5d ranks: wall %8.0f s (%.2f h), efficiency %.3f; worst spec %s at %.3f (its longest task %.0f s)"
              % (R, wall, wall / 3600, total / ((R - 1) * wall), worst[0], worst[2] / ((R - 1) * worst[1]),
                 max(sp[2].max() for sp in specs if sp[0] == worst[0])))
    if o.groups:
        grouped(o, specs, total, master_s, saved)
    if o.save:
        with open(os.path.join(o.save, "suite.json"), "w") as f:
            json.dump(saved, f, indent=1)


def grouped(o, specs, total, master_s, saved):
    """Figure 8 with -fit_group auto, with and without -fit_group_yield, the specs one after another and side by
    side; each run's figures appended to saved["runs"]."""
    gm = groups_model(o.groups)
    print("figure 8 with grouped fits (-fit_group auto as moerate lays the groups out: a task above half its spec's fair share"
          " gets a group of its own, up to 64 ranks; speed-ups by figure 10's model, measured at n = %d): physical limit ="
          " core-hours / ranks" % gm["n"])
    costs = {sp[0]: float(sp[2].sum()) for sp in specs}
    for factor in sorted({0.0, o.yield_factor}, reverse=True):
        print("  -fit_group_yield %g%s" % (factor, ": fits that overrun on a smaller group are handed to the largest"
                                           if factor else ": never (each task stays where it started)"))
        for R in o.ranks:
            runs = [grouped_wall(sp, R - 1, master_s, gm, factor) for sp in specs]
            wall = sum(w for w, _ in runs)
            saved["runs"].append(dict(ranks=R, groups=True, layout="sequential", yield_factor=factor, wall=wall,
                                      efficiency=total / ((R - 1) * wall), limit=total / R))
            print("  %5d ranks, one spec after another on all ranks: wall %8.0f s (%.2f h), efficiency %.3f (physical limit %.0f s);"
                  " largest group %d" % (R, wall, wall / 3600, total / ((R - 1) * wall), total / R, max(g for _, g in runs)))
            if factor:
                continue  # submit_all.sh's jobs run moerate's defaults: no yield
            try:
                plan = side_by_side_plan(costs, R)
            except ValueError as e:
                print("  %5d ranks, side by side: %s" % (R, e))
                continue
            wall = max(grouped_wall(sp, plan[sp[0]] - 1, master_s, gm, factor)[0] for sp in specs)
            saved["runs"].append(dict(ranks=R, groups=True, layout="side by side by cost", yield_factor=factor, wall=wall,
                                      efficiency=total / (R * wall), limit=total / R))
            print("  %5d ranks, side by side, the jobs sized by cost alone (as submit_all.sh --ranks did before plan_jobs): wall %8.0f s,"
                  " efficiency %.3f" % (R, wall, total / (R * wall)))
            plan, walls = plan_jobs(specs, R, "auto", master_s, gm)
            last = max(walls, key=lambda s: (walls[s], s))
            wall, used = walls[last], sum(plan.values())
            saved["runs"].append(dict(ranks=R, groups=True, layout="side by side", yield_factor=factor, wall=wall,
                                      efficiency=total / (R * wall), limit=total / R, last=last, last_ranks=plan[last],
                                      ranks_used=used, efficiency_used=total / (used * wall)))
            print("  %5d ranks, side by side, a job per spec sized by its simulated wall (submit_all.sh --ranks %d with"
                  " MOERATE_FIT_GROUP=auto): wall %8.0f s (%.2f h), efficiency %.3f; the plan asks for %d of the %d ranks"
                  " (efficiency %.3f on those); the last job %s on %d ranks (its largest group %d)"
                  % (R, R, wall, wall / 3600, total / (R * wall), used, R, total / (used * wall), last, plan[last],
                     grouped_wall(by_name(specs, last), plan[last] - 1, master_s, gm, factor)[1]))
    if not o.merge:
        return
    print("  a design not built (--merge): with -fit_group_yield %g, an overrunning fit rerun at once by its group joined"
          " by the groups idle at that moment (up to 64 ranks and its sample's chunks)" % o.yield_factor)
    for R in o.ranks:
        seq = sum(grouped_wall(sp, R - 1, master_s, gm, o.yield_factor, True)[0] for sp in specs)
        line = "  %5d ranks: one spec after another %8.0f s, efficiency %.3f" % (R, seq, total / ((R - 1) * seq))
        if R >= 2 * len(specs):
            plan = side_by_side_plan(costs, R)
            side = max(grouped_wall(sp, plan[sp[0]] - 1, master_s, gm, o.yield_factor, True)[0] for sp in specs)
            line += "; side by side %8.0f s, efficiency %.3f" % (side, total / (R * side))
        print(line)


if __name__ == "__main__":
    main()
