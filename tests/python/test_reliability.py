"""What survives what: kills at many points, signals at random points, failing fits, a failing
rank, corrupt files, and a catalogue of bad input that must leave an existing output untouched."""
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import time
import zlib

import h5py
import numpy as np
import pytest

from conftest import MOERATE, MPIEXEC, SOURCE, env, moerate
from test_run import GRID, TINY, assert_complete_once, assert_same_results, kill_job, start, wait_for_main, wait_for_tasks, wait_gone


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "uninterrupted.h5"
    moerate("run", *GRID, "-output", out, check=True)
    return out


def test_sigkill_at_ten_points_then_resume_equals_uninterrupted(tmp_path, reference):
    """Kill the whole job (mpiexec and every rank) at ten points spread over its life -- at start-up,
    between writes and inside writes of the results file -- resuming each time; then finish it:
    nothing is lost or changed."""
    out = tmp_path / "r.h5"
    with h5py.File(reference, "r") as h:
        total = len(h["tasks/records"])
    kills, mid_write = 0, 0
    for point in range(10):
        # inside a write: the master pauses between writing the temporary file and renaming it
        inside = point % 2 == 1
        p = start(["run", *GRID, "-output", out, "-flush_interval", 0, "-test_flush_delay", 0.3 if inside else 0], 3)
        if point == 0:
            time.sleep(0.3)  # during start-up
        else:
            wait_for_tasks(out, total * point // 12, p)
            if inside:
                t0 = time.time()
                while not list(tmp_path.glob("r.h5.tmp-*")) and time.time() - t0 < 30:
                    time.sleep(0.005)
                mid_write += bool(list(tmp_path.glob("r.h5.tmp-*")))
        assert p.poll() is None, "the run ended before it could be killed at point %d" % point
        kill_job(p)
        kills += 1
        if out.exists():  # the file on disk is always a whole HDF5 file
            with h5py.File(out, "r") as h:
                assert h["tasks/records"].shape == (total,)
    assert kills == 10 and mid_write >= 4, (kills, mid_write)
    q = moerate("run", *GRID, "-output", out, ranks=3)
    assert q.returncode == 0, q.stderr
    assert_same_results(reference, out)
    assert_complete_once(out)
    assert not list(tmp_path.glob("r.h5.tmp-*"))  # leftovers of killed writes are cleaned up
    with h5py.File(out, "r") as h:  # a session killed before its first write leaves no row
        assert len(h["sessions"]) >= 2 and h["sessions"][-1]["exit_status"] == 0


JOURNAL_HEADER = 72  # docs/FORMAT.md


def journal_state(path):
    """(token, whole entries) of PATH.journal, or (None, 0) while there is none. The token (bytes
    24..47 of the 72-byte header, docs/FORMAT.md) names the whole write the journal extends; an entry
    is a record, the losses, theta and a CRC. The run may remove or replace the journal at any moment,
    so a journal that vanishes between the calls reads as none."""
    j = path.with_name(path.name + ".journal")
    try:
        with h5py.File(path, "r") as h:
            size = h["tasks/records"].dtype.itemsize + 8 * (h["tasks/losses"].shape[1] + h["tasks/theta"].shape[1]) + 4
        with open(j, "rb") as f:
            header = f.read(JOURNAL_HEADER)
            length = os.fstat(f.fileno()).st_size
    except OSError:  # not there (yet, or any more), or being written
        return None, 0
    if len(header) < JOURNAL_HEADER:
        return None, 0
    return header[24:48], (length - JOURNAL_HEADER) // size


def kill_while_appending(out, entries):
    """Start a run whose flushes append to OUT.journal (after every result), SIGKILL it once its own
    journal (not one left by a killed run before it, which this run merges and removes) holds
    `entries` results, and return how many it holds."""
    before, _ = journal_state(out)
    p = start(["run", *GRID, "-output", out, "-flush_interval", 0, "-test_flush_append", "-test_task_delay", 0.05], 3)
    t0, token, n = time.time(), None, 0
    while not (token not in (None, before) and n >= entries) and time.time() - t0 < 60:
        assert p.poll() is None, p.communicate()
        time.sleep(0.01)
        token, n = journal_state(out)
    kill_job(p)
    assert token not in (None, before) and n >= entries, "the run wrote no journal of its own in 60 s"
    return journal_state(out)[1]


def test_sigkill_while_appending_to_the_journal_then_resume_equals_uninterrupted(tmp_path, reference):
    """Every flush but the last appends to PATH.journal (as a large file's flushes do): kill the job
    at several points, tear or damage the journal's last entry as a kill inside an append would,
    and resume each time: the file on disk stays a readable whole file, the journal's intact
    entries are merged, the torn one's task runs again, and the end equals an uninterrupted run."""
    out = tmp_path / "r.h5"
    journal = tmp_path / "r.h5.journal"
    for point in range(4):
        n = kill_while_appending(out, 3 + point)
        with h5py.File(out, "r") as h:  # readable: the whole write of the session's start
            assert h.attrs["status"] == "incomplete"
        assert n >= 3
        if point == 1:  # a torn last entry
            with open(journal, "r+b") as f:
                f.truncate(journal.stat().st_size - 10)
        if point == 2:  # a damaged last entry (a flipped byte inside its numbers)
            with open(journal, "r+b") as f:
                f.seek(journal.stat().st_size - 40)
                b = f.read(1)
                f.seek(-1, 1)
                f.write(bytes([b[0] ^ 0x5A]))
    q = moerate("run", *GRID, "-output", out, ranks=3)
    assert q.returncode == 0, q.stderr
    assert "merged" in q.stderr
    assert not journal.exists()
    assert_same_results(reference, out)
    assert_complete_once(out)


def test_journal_merge_messages_torn_entries_and_sessions(tmp_path, reference):
    """One kill, then a torn journal: the resume says how many results it merged and that the torn
    entry's task runs again; no journal or backup is left."""
    out = tmp_path / "r.h5"
    journal = tmp_path / "r.h5.journal"
    n = kill_while_appending(out, 5)
    with open(journal, "r+b") as f:
        f.truncate(journal.stat().st_size - 10)
    q = moerate("run", *GRID, "-output", out, ranks=2)
    assert q.returncode == 0, q.stderr
    assert "merged %d results from %s.journal" % (n - 1, out) in q.stderr, q.stderr
    assert "its last entry is torn" in q.stderr and "%d results taken before it" % (n - 1) in q.stderr, q.stderr
    assert not journal.exists() and not list(tmp_path.glob("*.bak-*"))
    assert_same_results(reference, out)
    with h5py.File(out, "r") as h:
        assert len(h["sessions"]) == 2


def test_a_journal_of_no_file_here_is_kept_aside_never_replayed(tmp_path, reference):
    """A journal that extends another whole write (a file restored from a copy, or a journal moved
    beside another file) or no file at all is kept as PATH.journal.bak-<time> and not replayed;
    the journal of the whole write before the file's (a kill between the rename and removing the
    journal) is inside the file already and simply removed."""
    out = tmp_path / "r.h5"
    journal = tmp_path / "r.h5.journal"
    kill_while_appending(out, 4)
    saved = journal.read_bytes()
    # 1. the journal of the whole write before the file's: merged already, removed silently
    q = moerate("run", *GRID, "-output", out, ranks=2)
    assert q.returncode == 0 and "merged" in q.stderr, q.stderr
    with h5py.File(out, "r") as h:
        prev = h.attrs["previous_journal_token"]
    # as if killed after the final rename, before the journal went: a journal of the whole write before
    journal.write_bytes(saved[:24] + prev.encode() + saved[40:])
    q = moerate("run", *GRID, "-output", out, ranks=2)
    assert q.returncode == 0 and "merged" not in q.stderr and "warning" not in q.stderr, q.stderr
    assert not journal.exists() and not list(tmp_path.glob("*.bak-*"))
    assert_same_results(reference, out)
    # 2. a journal of another whole write: kept aside, the file's numbers untouched
    journal.write_bytes(saved[:24] + b"0123456789abcdef" + saved[40:])
    q = moerate("run", *GRID, "-output", out, ranks=2)
    assert q.returncode == 0 and "extends another version of the results file" in q.stderr, q.stderr
    baks = list(tmp_path.glob("r.h5.journal.bak-*"))
    assert len(baks) == 1 and baks[0].read_bytes()[40:] == saved[40:] and not journal.exists()
    assert_same_results(reference, out)
    # 3. a journal without its file: kept aside; the run starts afresh
    other = tmp_path / "new.h5"
    (tmp_path / "new.h5.journal").write_bytes(saved)
    q = moerate("run", *GRID, "-output", other, ranks=2)
    assert q.returncode == 0 and "extends no readable results file here" in q.stderr, q.stderr
    assert len(list(tmp_path.glob("new.h5.journal.bak-*"))) == 1
    assert_same_results(reference, other)


def journal_record_dtype():
    """An entry's record as docs/FORMAT.md gives it (byte offsets), independently of the C struct."""
    with open(os.path.join(SOURCE, "docs", "FORMAT.md")) as f:
        text = f.read()
    para = text[text.index("The record in an entry"):]
    para = para[:para.index("\n\n")]
    names, formats, offsets, kind = [], [], [], None
    for word in re.findall(r"(int64|uint64|int32|float64)?\s*`(\w+)` (\d+)", para):
        kind = word[0] or kind
        names.append(word[1])
        formats.append({"int64": "<i8", "uint64": "<u8", "int32": "<i4", "float64": "<f8"}[kind])
        offsets.append(int(word[2]))
    size = int(re.search(r"the record's size in bytes \((\d+)\)", text).group(1))
    return np.dtype(dict(names=names, formats=formats, offsets=offsets, itemsize=size))


def test_journal_entries_decode_as_docs_format_says(tmp_path, reference):
    """Read a journal with FORMAT.md's layout alone: header, records at the stated offsets, losses,
    theta and zlib's CRC-32 of each entry; every entry equals the task's row in the finished file."""
    out = tmp_path / "r.h5"
    kill_while_appending(out, 4)
    raw = (tmp_path / "r.h5.journal").read_bytes()
    with h5py.File(out, "r") as h:
        L, P = h["tasks/losses"].shape[1], h["tasks/theta"].shape[1]
        token, spec_hash = h.attrs["journal_token"], h.attrs["spec_hash"]
    assert raw[:8] == b"MOEJRNL1"
    rec_t = journal_record_dtype()
    R = rec_t.itemsize
    assert struct.unpack("<4I", raw[8:24]) == (R, L, P, 0)
    assert raw[24:48].rstrip(b"\0").decode() == token and raw[48:72].rstrip(b"\0").decode() == spec_hash
    size = R + 8 * (L + P) + 4
    entries = [raw[i:i + size] for i in range(72, len(raw) - size + 1, size)]
    assert len(entries) >= 4
    ref_rec = h5py.File(reference, "r")["tasks/records"][()]
    ref_theta = h5py.File(reference, "r")["tasks/theta"][()]
    for e in entries:
        assert struct.unpack("<I", e[-4:])[0] == zlib.crc32(e[:-4])
        r = np.frombuffer(e[:R], dtype=rec_t)[0]
        i = int(r["id"])
        assert len(rec_t.names) == len(ref_rec.dtype.names)
        for f in rec_t.names:  # every field at its stated offset (timings differ between runs)
            if f not in ("rank", "wall_time", "t_start", "t_end"):
                assert np.array_equal(r[f], ref_rec[i][f], equal_nan=rec_t[f].kind == "f"), f
        theta = np.frombuffer(e[R + 8 * L:-4], dtype="<f8")
        assert np.array_equal(theta, ref_theta[i], equal_nan=True)


def test_force_keeps_the_journal_beside_its_backed_up_file(tmp_path, reference):
    out = tmp_path / "r.h5"
    kill_while_appending(out, 3)
    saved = (tmp_path / "r.h5.journal").read_bytes()
    out.write_bytes(b"damaged\n")
    q = moerate("run", *GRID, "-output", out)
    assert q.returncode == 2 and (tmp_path / "r.h5.journal").read_bytes() == saved, q.stderr
    q = moerate("run", *GRID, "-output", out, "-force")  # the file is kept aside, and its journal beside it
    assert q.returncode == 0, q.stderr
    bak = [f for f in tmp_path.glob("r.h5.bak-*") if not f.name.endswith(".journal")]
    assert len(bak) == 1 and (tmp_path / (bak[0].name + ".journal")).read_bytes() == saved
    assert "journal" in q.stderr and not (tmp_path / "r.h5.journal").exists()


def test_a_failing_journal_sync_stops_the_run_and_leaves_the_file_whole(tmp_path, reference):
    out = tmp_path / "r.h5"
    p = subprocess.run([MOERATE, "run", *map(str, GRID), "-output", str(out), "-flush_interval", "0", "-test_flush_append"],
                       capture_output=True, text=True, env=failing_fs("fdatasync"), timeout=120)
    assert p.returncode != 0 and "fdatasync" in p.stderr, p.stderr
    with h5py.File(out, "r") as h:
        assert h.attrs["status"] == "incomplete" and h.attrs["tasks_done"] == 0
    q = moerate("run", *GRID, "-output", out)
    assert q.returncode == 0, q.stderr
    assert_same_results(reference, out)


def test_rows_of_pending_tasks_take_no_storage_and_read_as_nan(tmp_path):
    """theta and losses rows of tasks not done are left as the dataset's NaN fill value: a file
    of pending tasks stores no chunk for them, and readers see NaN."""
    out = tmp_path / "r.h5"
    p = moerate("run", *GRID, "-n", "200", "-replicates", 20000, "-skip_fit", "-output", out)
    assert p.returncode == 0, p.stderr
    with h5py.File(out, "r") as h:
        for name in ("tasks/theta", "tasks/losses"):
            d = h[name]
            assert d.id.get_storage_size() == 0, name
            assert np.isnan(d[()]).all() and d.shape[0] == len(h["tasks/records"])
            assert d.fillvalue != d.fillvalue  # NaN


def test_signals_at_random_points_stop_cleanly_and_resume(tmp_path, reference):
    out = tmp_path / "r.h5"
    rng = random.Random(11)
    for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGTERM, signal.SIGUSR1):
        p = start(["run", *GRID, "-output", out, "-flush_interval", 0], 3)
        wait_for_main(p, 3)  # a signal before main finds the default action (see wait_for_main)
        time.sleep(rng.uniform(0.0, 1.5))
        if sig == signal.SIGTERM:  # to the moerate ranks (mpiexec itself ends with status 1 on SIGTERM)
            subprocess.run(["pkill", "-TERM", "-s", str(p.pid), "-f", "^" + MOERATE + " run"])
        else:  # mpiexec forwards SIGUSR1 to every rank
            p.send_signal(sig)
        _, err = p.communicate(timeout=120)
        wait_gone(p)
        if p.returncode == -signal.SIGUSR1:  # the run had finished, and mpiexec, tearing down, no longer caught it
            with h5py.File(out, "r") as h:
                assert h.attrs["status"] == "complete" and h["sessions"][-1]["exit_status"] == 0, err
            continue
        assert p.returncode in (0, 3), err  # 0 if the run had already finished
        if p.returncode == 3:
            assert "rerun the same command to resume" in err
    q = moerate("run", *GRID, "-output", out, ranks=2)
    assert q.returncode == 0, q.stderr
    assert_same_results(reference, out)


@pytest.mark.parametrize("failure,options,reason", [
    ("injected NaN", ["-inject_nan_task", 4], -100),
    ("iteration cap", ["-tao_max_it", 2], -2),
    ("line-search failure", ["-tao_type", "bnls", "-tao_ls_max_funcs", 1], -6),
])
def test_failing_fits_are_recorded_with_their_reason(tmp_path, failure, options, reason):
    out = tmp_path / "r.h5"
    p = moerate("run", *GRID, "-output", out, *options, ranks=2)
    assert p.returncode == 0, p.stderr
    with h5py.File(out, "r") as h:
        rec = h["tasks/records"][:]
        assert h.attrs["status"] == "complete"
        assert np.all(rec["status"] != 0)
        failed = rec[rec["status"] == 2]
        assert len(failed) >= 1 and reason in set(failed["reason"]), (failure, set(failed["reason"]))
        assert h.attrs["tasks_failed"] == len(failed)


def test_retry_failed_reruns_only_the_failed_tasks(tmp_path, reference):
    out = tmp_path / "r.h5"
    moerate("run", *GRID, "-output", out, "-inject_nan_task", 7, ranks=2, check=True)
    with h5py.File(out, "r") as h:
        t_end = h["tasks/records"]["t_end"][:]
    q = moerate("run", *GRID, "-output", out, "-retry_failed", ranks=2)
    assert q.returncode == 0, q.stderr
    with h5py.File(out, "r") as h:
        rec = h["tasks/records"][:]
    rerun = np.flatnonzero(rec["t_end"] != t_end)
    assert 7 in rerun
    with h5py.File(reference, "r") as h:  # the others were left as they were
        ref_failed = np.flatnonzero(h["tasks/records"]["status"] == 2)
    assert set(rerun) <= set(ref_failed) | {7}
    assert_same_results(reference, out)


def test_error_on_one_rank_ends_the_job_without_hanging(tmp_path, reference):
    out = tmp_path / "r.h5"
    t0 = time.time()
    p = moerate("run", *GRID, "-output", out, "-inject_error_task", 20, "-flush_interval", 0, ranks=3, timeout=120)
    assert p.returncode != 0
    assert "cannot allocate the work space of task 20" in p.stderr
    assert time.time() - t0 < 100
    with h5py.File(out, "r") as h:  # readable, and resumable
        assert h.attrs["status"] == "incomplete"
    q = moerate("run", *GRID, "-output", out, ranks=3)
    assert q.returncode == 0, q.stderr
    assert_same_results(reference, out)


def test_records_that_disagree_with_the_spec_are_refused(tmp_path, reference):
    out = tmp_path / "r.h5"
    shutil.copy(reference, out)
    with h5py.File(out, "r+") as h:
        rec = h["tasks/records"][:]
        rec["n"][5] = 999
        h["tasks/records"][...] = rec
    before = out.read_bytes()
    p = moerate("run", *GRID, "-output", out)
    assert p.returncode == 2
    assert "record 5" in p.stderr and "disagrees with the spec" in p.stderr
    assert out.read_bytes() == before


def truth_file(tmp_path):
    path = tmp_path / "truth.h5"
    moerate("fit", "-d", 2, "-kstar", 2, "-k", 3, "-n", 100, "-truth_regime", 1, "-truth_expert_var", 0.5, "-allow_ill_posed",
            "-output", path, check=True)
    return path


def bad_inputs(tmp_path):
    """(name, options, culprit the one error line must name).  Each runs against an existing
    results file that must be left byte-identical."""
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("gating: [sigmoid\nn: 3\n")
    typed_yaml = tmp_path / "typed.yaml"
    typed_yaml.write_text("k: many\n")
    range_yaml = tmp_path / "range.yaml"  # spec files' ranges: the grid's -n is dropped below
    range_yaml.write_text("n_range: []\n")
    count_yaml = tmp_path / "count.yaml"
    count_yaml.write_text("n_range: [1000, 4000]\nn_count: 0\n")
    t = truth_file(tmp_path)
    nan_truth, shifted_truth = tmp_path / "nan.yaml", tmp_path / "shifted.yaml"
    empty_yaml, dup_yaml = tmp_path / "empty.yaml", tmp_path / "dup.yaml"
    empty_yaml.write_text("# nothing but a comment\n")
    dup_yaml.write_text("k: 3\nd: 2\nk: 4\n")
    atom = ["0.5", "0.1", "0.2", "1.0", "-0.3", "0.4"]  # beta1 (2), beta0, a (2), b: d = 2
    nan_truth.write_text("gating: sigmoid\nexpert: relu\nkstar: 2\nd: 2\ntheta: [%s]\n" % ", ".join(atom + atom[:-1] + ["nan"]))
    # softmax pins the last atom's scores (beta1, beta0) to 0; this truth's are shifted
    shifted_truth.write_text("gating: softmax\nexpert: relu\nkstar: 2\nd: 2\ntheta: [%s]\n" % ", ".join(atom + atom))
    return [
        ("unknown gating", ["-gating", "sigmod"], "unknown gating family 'sigmod'"),
        ("unknown expert", ["-expert", "relux"], "unknown expert family 'relux'"),
        ("unknown truth gating", ["-truth_gating", "soft"], "-truth_gating: unknown gating family 'soft'"),
        ("k < k*", ["-k", 1], "-k 1 is smaller than -kstar 2"),
        ("n <= 0", ["-n", "0,200"], "-n 0 is not a positive sample size"),
        ("negative noise", ["-noise", "-0.5"], "-noise -0.5"),
        ("K > k", ["-gating", "topk", "-topk_K", 4], "-topk_K 4 is outside 1..3"),
        ("tau <= 0", ["-gating", "dts", "-dts_tau", "-1"], "-dts_tau -1"),
        ("groups do not divide k", ["-gating", "hsoftmax", "-hsoftmax_groups", 2], "-hsoftmax_groups 2 does not divide k = 3"),
        ("replicates = 0", ["-replicates", 0], "-replicates 0 must be at least 1"),
        ("empty n list", ["-n", ""], "-n is empty"),
        ("empty gating list", ["-gating", ""], "-gating is empty"),
        ("malformed YAML", ["-options_file_yaml", bad_yaml], "YAML syntax error at line 2"),
        ("missing spec file", ["-options_file_yaml", tmp_path / "nope.yaml"], "nope.yaml: cannot open the spec file"),
        ("text where a number is expected", ["-options_file_yaml", typed_yaml], "Input string many has no integer value"),
        ("truth file with another d", ["-truth_file", t, "-d", 3], "-d 3 does not match the truth file"),
        ("truth file with another k*", ["-truth_file", t, "-kstar", 3], "-kstar 3 does not match the truth file"),
        ("missing truth file", ["-truth_file", tmp_path / "missing.h5"], "missing.h5 does not exist"),
        ("duplicate gating", ["-gating", "sigmoid,softmax,sigmoid"], "-gating lists 'sigmoid' twice"),
        ("duplicate n", ["-n", "200,400,200"], "-n lists 200 twice"),
        ("number for a name", ["-expert", "7"], "'7' is a number, not the name of any expert family"),
        ("one value in -n_range", ["-n_range", "1000"], "-n_range needs two values"),
        ("empty -n_range", ["-options_file_yaml", range_yaml], "-n_range is empty"),
        ("no sizes in -n_count", ["-options_file_yaml", count_yaml], "-n_count 0 is outside 1..64"),
        ("unknown loss", ["-losses", "l2,d9"], "-losses: unknown loss 'd9'"),
        ("unknown input distribution", ["-x_dist", "cauchy"], "-x_dist 'cauchy'"),
        ("unknown init", ["-init", "close"], "-init 'close'"),
        ("empty input box", ["-x_lo", 1, "-x_hi", -1], "-x_lo 1"),
        ("unknown regime", ["-truth_regime", 3], "-truth_regime 3 is not 1 or 2"),
        ("d = 0", ["-d", 0], "-d 0 is outside 1..1024"),
        ("typo in an option", ["-replicatse", 3], "option -replicatse is not a moerate"),
        ("unknown TAO type", ["-tao_type", "nosuch"], "the TAO options are not valid"),
        ("no starts", ["-init_starts", 0], "-init_starts 0 must be at least 1"),
        ("queue depth 0", ["-queue_depth", 0], "-queue_depth 0 is outside 1..64"),
        ("not a task id", ["-inject_nan_task", 999], "-inject_nan_task 999 is not a task id"),
        ("NaN perturbation", ["-init_perturb", "nan"], "-init_perturb nan"),
        ("infinite start scale", ["-init", "random", "-init_scale", "inf"], "-init_scale inf"),
        ("NaN noise", ["-noise", "nan"], "-noise nan"),
        ("infinite input box", ["-x_hi", "inf"], "-x_hi inf"),
        ("NaN truth variance", ["-truth_beta1_var", "nan"], "-truth_beta1_var nan"),
        ("infinite loss exponent", ["-loss_r", "inf"], "-loss_r inf"),
        ("NaN in a truth file", ["-truth_file", nan_truth], "(atom 1 b) is nan"),
        ("shifted softmax truth", ["-truth_file", shifted_truth], "but softmax gating pins it to 0"),
        ("more than 64 sizes", ["-n", ",".join(str(200 + i) for i in range(65))], "-n lists more than 64 sample sizes"),
        ("more than 64 gatings", ["-gating", ",".join(["sigmoid"] * 65)], "-gating lists more than 64 names"),
        ("three values in -n_range", ["-n_range", "1000,2000,4000"], "-n_range needs two values"),
        ("typo under -tao_", ["-tao_max_iter", 5], "option -tao_max_iter is not"),
        ("stray word after a list", ["-gating", "sigmoid", "softmax"], "stray word 'softmax' after -gating sigmoid"),
        ("empty spec file", ["-options_file_yaml", empty_yaml], "has no settings"),
        ("duplicate YAML key", ["-options_file_yaml", dup_yaml], "the key 'k' is given twice"),
        ("negative perturbation", ["-init_perturb", "-0.1"], "-init_perturb -0.1"),
        ("negative reference size", ["-reference_n", -5], "-reference_n -5"),
        ("negative truth seed", ["-truth_seed", -3], "-truth_seed -3"),
        ("ftol between -1 and 0", ["-fit_ftol", "-0.5"], "-fit_ftol -0.5"),
        ("fewer points than parameters", ["-n", "10,200"], "-n 10 is not larger than the 18 free parameters"),
        ("loss of no fitted gating", ["-gating", "softmax", "-losses", "l2,sigmoid_d1"], "sigmoid_d1 applies to none"),
        ("sample larger than memory", ["-n", "200,2000000000"], "more than this machine's"),
        ("evaluation sample larger than memory", ["-eval_n", 1500000000], "more than this machine's"),
        ("k * stride past 32 bits", ["-d", 1024, "-k", 2095106], "whose Hessian needs"),
        ("replicates beyond memory", ["-replicates", 2000000000], "tasks whose results need"),
        ("10 x the largest n past 32 bits (tests/fuzz/crashes/fuzz_spec_options)", ["-n", "1000,900000000"], "-reference_n 2147483647, -eval_n 10000) needs"),
        ("negative stop grace", ["-stop_grace", -1], "-stop_grace -1"),
        ("no screening tolerance", ["-truth_max_sd", 0], "-truth_max_sd 0"),
        ("no certification start", ["-certify_starts", 0], "-certify_starts 0"),
        ("negative certification tolerance", ["-certify_tol", -1], "-certify_tol -1"),
        ("negative truth draw", ["-truth_draw", -2], "-truth_draw -2"),
    ]


def test_bad_input_catalogue(tmp_path, reference):
    out = tmp_path / "r.h5"
    shutil.copy(reference, out)
    cases = bad_inputs(tmp_path)
    assert len(cases) >= 60
    for name, options, culprit in cases:
        grid = list(GRID)
        if "-n_range" in options or any(str(o).endswith(("range.yaml", "count.yaml")) for o in options):
            i = grid.index("-n")  # -n would override -n_range
            del grid[i:i + 2]
            out_spec = shutil.copy(reference, tmp_path / "other-spec.h5")
            target = out_spec
        else:
            target = out
        before = open(target, "rb").read()
        p = moerate("run", *grid, *options, "-output", target)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert p.returncode == 2, (name, p.returncode, p.stderr)
        assert len(lines) == 1 and lines[0].startswith("moerate: error: "), (name, p.stderr)
        assert culprit in lines[0], (name, lines[0])
        assert open(target, "rb").read() == before, name


def test_bad_output_paths_leave_existing_files_untouched(tmp_path, reference):
    cases = []
    notdir = tmp_path / "missing-dir" / "r.h5"
    cases.append(("directory does not exist", notdir, None, "the directory"))
    cases.append(("directory not writable", "/sys/moerate-test.h5", None, "cannot create files in its directory"))
    cases.append(("a directory", tmp_path, None, "is a directory"))
    text = tmp_path / "notes.h5"
    text.write_text("my notes, not HDF5\n")
    cases.append(("not an HDF5 file", text, None, "is not an HDF5 file"))
    trunc = tmp_path / "truncated.h5"
    trunc.write_bytes(reference.read_bytes()[:5000])
    cases.append(("truncated HDF5 file", trunc, None, "cannot be read as HDF5"))
    corrupt = tmp_path / "corrupt.h5"
    data = bytearray(reference.read_bytes())
    data[2000:2400] = b"\xff" * 400
    corrupt.write_bytes(bytes(data))
    cases.append(("corrupt HDF5 file", corrupt, None, "-output"))
    other = tmp_path / "other.h5"
    shutil.copy(reference, other)
    cases.append(("another spec", other, ["-seed", 5], "was written from another spec"))
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as h:
        h["x"] = np.arange(3)
    cases.append(("an HDF5 file of another program", foreign, None, "is not a moerate run results file"))
    for name, path, extra, culprit in cases:
        before = open(path, "rb").read() if os.path.isfile(path) else None
        p = moerate("run", *GRID, *(extra or []), "-output", path)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert p.returncode == 2, (name, p.stderr)
        assert len(lines) == 1 and culprit in lines[0], (name, lines)
        if before is not None:
            assert open(path, "rb").read() == before, name


def test_a_second_run_on_the_same_file_is_refused(tmp_path):
    out = tmp_path / "r.h5"
    p = start(["run", *GRID, "-output", out, "-flush_interval", 0], 2)
    wait_for_tasks(out, 1, p)
    q = moerate("run", *GRID, "-output", out)
    assert q.returncode == 2 and "is being written by another moerate run" in q.stderr
    os.killpg(p.pid, signal.SIGUSR1)
    wait_gone(p)


def test_outputs_that_are_not_plain_files_are_refused_and_left_alone(tmp_path, reference):
    """moerate replaces its output by rename: a symbolic link (to a results file, to /dev/null,
    dangling), a FIFO or a second hard link would be replaced or written twice.  Each is refused in
    one line, also with -force, and left exactly as it was."""
    results = tmp_path / "results.h5"
    shutil.copy(reference, results)
    before = results.read_bytes()
    cases = []
    for name, target in (("link to a results file", results), ("link to /dev/null", "/dev/null"),
                         ("dangling link", tmp_path / "nowhere.h5")):
        link = tmp_path / (name.replace(" ", "_").replace("/", "") + ".h5")
        os.symlink(target, link)
        cases.append((name, link, "is a symbolic link"))
    fifo = tmp_path / "fifo.h5"
    os.mkfifo(fifo)
    cases.append(("FIFO", fifo, "is not a regular file"))
    hard = tmp_path / "hard.h5"
    os.link(results, hard)
    cases.append(("second hard link", hard, "has 2 hard links"))
    for name, path, culprit in cases:
        for extra in ([], ["-force"]):
            p = moerate("run", *GRID, *extra, "-output", path, timeout=60)
            lines = [l for l in p.stderr.splitlines() if l.strip()]
            assert p.returncode == 2 and len(lines) == 1 and culprit in lines[0], (name, extra, p.stderr)
    assert results.read_bytes() == before and os.path.samefile(results, hard)
    assert os.readlink(tmp_path / "link_to_a_results_file.h5") == str(results)
    assert os.readlink(tmp_path / "link_to_devnull.h5") == "/dev/null"
    assert not os.path.exists(tmp_path / "nowhere.h5")
    assert os.path.exists(fifo) and not os.path.isfile(fifo)
    assert sorted(os.listdir(tmp_path)) == sorted(["results.h5", "link_to_a_results_file.h5", "link_to_devnull.h5",
                                                   "dangling_link.h5", "fifo.h5", "hard.h5"])
    p = moerate("fit", "-n", 300, "-output", tmp_path / "link_to_devnull.h5")
    assert p.returncode == 2 and "is a symbolic link" in p.stderr


def test_glob_characters_in_the_output_name_touch_no_other_file(tmp_path):
    """Stale temporary files are matched by name literally: another run's PATH.tmp-PID survives a run
    whose output name would match it as a glob pattern."""
    other = tmp_path / "ab.h5.tmp-4242"
    other.write_bytes(b"another run's file being written")
    stale = tmp_path / "a*.h5.tmp-99999"
    stale.write_bytes(b"left by a killed run of this output")
    moerate("run", *GRID, "-n", 200, "-replicates", 1, "-output", tmp_path / "a*.h5", check=True)
    assert other.read_bytes() == b"another run's file being written"
    assert not stale.exists()


def test_forced_backups_never_replace_an_earlier_backup(tmp_path):
    """-force keeps an unusable output as FILE.bak-TIME; when that name exists (two forced runs in one
    second) the new backup gets another name and the earlier one is kept."""
    out = tmp_path / "r.h5"
    now = int(time.time())
    for t in range(now, now + 30):  # the backup names of the next 30 seconds are taken
        (tmp_path / ("r.h5.bak-%d" % t)).write_text("earlier backup %d\n" % t)
    out.write_text("not a results file\n")
    p = moerate("run", *GRID, "-n", 200, "-replicates", 1, "-force", "-output", out)
    assert p.returncode == 0, p.stderr
    for t in range(now, now + 30):
        assert (tmp_path / ("r.h5.bak-%d" % t)).read_text() == "earlier backup %d\n" % t
    kept = [f for f in os.listdir(tmp_path) if f.startswith("r.h5.bak-") and f.count("-") == 2]
    assert len(kept) == 1 and (tmp_path / kept[0]).read_text() == "not a results file\n"
    assert kept[0] in p.stderr


@pytest.mark.parametrize("dataset", ["tasks/losses", "tasks/theta", "tasks/records"])
def test_a_corrupted_stored_number_is_refused_on_resume(tmp_path, reference, dataset):
    """Every stored number is checksummed (HDF5's Fletcher-32 filter): a flipped byte in the losses,
    parameters or records of a finished file is refused in one line on resume, and the file is
    left as it is."""
    out = tmp_path / "r.h5"
    shutil.copy(reference, out)
    with h5py.File(out, "r") as h:
        d = h[dataset]
        assert d.fletcher32
        info = d.id.get_chunk_info(0)
    data = bytearray(out.read_bytes())
    data[info.byte_offset + 17] ^= 0x40
    out.write_bytes(bytes(data))
    before = out.read_bytes()
    p = moerate("run", *GRID, "-output", out)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert p.returncode == 2 and len(lines) == 1, p.stderr
    assert "cannot be read" in lines[0] and "-force" in lines[0]
    assert out.read_bytes() == before


def test_resuming_a_file_of_another_build_warns_and_goes_on(tmp_path, reference):
    """A results file last written by another build of moerate (git_revision) is resumed, with one
    warning on stderr naming both builds: another build may round differently."""
    out = tmp_path / "r.h5"
    shutil.copy(reference, out)
    with h5py.File(out, "r+") as h:
        mine = h.attrs["git_revision"]
        h.attrs["git_revision"] = "0123abc (another build)"
    p = moerate("run", *GRID, "-output", out)
    assert p.returncode == 0, p.stderr
    warn = [l for l in p.stderr.splitlines() if "warning" in l]
    assert len(warn) == 1 and "last written by moerate 0123abc (another build)" in warn[0], p.stderr
    assert str(mine if isinstance(mine, str) else mine.decode()) in warn[0]
    assert_same_results(out, reference)
    same = tmp_path / "same.h5"
    shutil.copy(reference, same)
    p = moerate("run", *GRID, "-output", same)  # the same build: no warning
    assert p.returncode == 0 and "warning" not in p.stderr, p.stderr


def test_a_worker_deaf_to_the_stop_request_does_not_delay_the_stop(tmp_path):
    """SIGUSR1 while one worker is stuck in a task that ignores it: the master waits -stop_grace
    seconds, writes the results file without that task and ends the job with status 3, well within
    SLURM's warning time; the same command then resumes to completion."""
    out = tmp_path / "r.h5"
    args = ["run", *GRID, "-n", "200,400", "-replicates", 4, "-test_task_delay", 1, "-stop_grace", 3, "-output", out]
    p = start(args + ["-test_hang_task", 4], 3)  # among the first tasks handed out
    wait_for_tasks(out, 1, p)
    t0 = time.time()
    os.killpg(p.pid, signal.SIGUSR1)
    status = p.wait(timeout=60)
    assert status == 3 and time.time() - t0 < 10
    with h5py.File(out, "r") as h:
        assert h.attrs["status"] == "incomplete" and h.attrs["tasks_pending"] > 0
    wait_gone(p)
    q = moerate(*args, ranks=2)
    assert q.returncode == 0, q.stderr
    assert_complete_once(out)


def test_negative_tao_values_are_part_of_the_spec(tmp_path):
    """-tao_max_it -1 and -7 are different specs: one cannot resume the other."""
    out = tmp_path / "r.h5"
    moerate("run", *GRID, "-n", 200, "-replicates", 1, "-tao_max_it", -1, "-output", out, check=True)
    with h5py.File(out, "r") as h:
        assert "-tao_max_it -1\n" in h.attrs["spec"]
    p = moerate("run", *GRID, "-n", 200, "-replicates", 1, "-tao_max_it", -7, "-output", out)
    assert p.returncode == 2 and "was written from another spec" in p.stderr


def failing_fs(what):
    """The environment of a run on a filesystem whose flock() or fsync() fails (tests/failfs.c)."""
    shim = os.environ.get("MOE_FAILFS")
    if not shim or not os.path.exists(shim):
        pytest.skip("no failfs shim (MOE_FAILFS): run through ctest")
    e = env()
    e.update(LD_PRELOAD=shim, MOE_TEST_FAIL=what)
    return e


def test_a_filesystem_without_flock_is_named_not_blamed_on_another_run(tmp_path):
    out = tmp_path / "r.h5"
    p = subprocess.run([MOERATE, "run", *map(str, GRID), "-n", "200", "-replicates", "1", "-output", str(out)],
                       capture_output=True, text=True, env=failing_fs("flock"), timeout=120)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert p.returncode == 2 and len(lines) == 1, p.stderr
    assert "does not support flock" in lines[0] and "another moerate run" not in lines[0]
    assert not out.exists()


def test_a_failing_fsync_stops_the_run_before_the_results_file_is_replaced(tmp_path, reference):
    """fsync of the new results file fails (a full or failing shared disk): the run stops with an
    error instead of renaming an unsynced file over the old one, which stays as it was."""
    out = tmp_path / "r.h5"
    shutil.copy(reference, out)
    before = out.read_bytes()
    for path in (out, tmp_path / "new.h5"):  # a finished file (its session row is rewritten) and a new one
        p = subprocess.run([MOERATE, "run", *map(str, GRID), "-output", str(path)], capture_output=True, text=True,
                           env=failing_fs("fsync"), timeout=120)
        assert p.returncode != 0 and "fsync" in p.stderr, p.stderr
    assert out.read_bytes() == before
    assert not (tmp_path / "new.h5").exists() and not list(tmp_path.glob("*.tmp-*"))


def test_a_damaged_middle_entry_is_named_and_the_rest_runs_again(tmp_path, reference):
    """A flipped byte in the second entry of a journal of five: the resume takes the first, says which entry is
    damaged (not "the last entry is torn") and runs the others again; the merged count counts tasks."""
    out = tmp_path / "r.h5"
    journal = tmp_path / "r.h5.journal"
    kill_while_appending(out, 5)
    rec_t = journal_record_dtype()
    with h5py.File(out, "r") as h:
        L, P = h["tasks/losses"].shape[1], h["tasks/theta"].shape[1]
    size = rec_t.itemsize + 8 * (L + P) + 4
    with open(journal, "r+b") as f:
        f.seek(72 + size + size // 2)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0x5A]))
    q = moerate("run", *GRID, "-output", out, ranks=2)
    assert q.returncode == 0, q.stderr
    assert "entry 2 is damaged" in q.stderr and "1 results taken before it" in q.stderr, q.stderr
    assert "merged 1 results" in q.stderr, q.stderr
    assert_same_results(reference, out)


def test_a_fifo_at_the_journal_is_refused_not_waited_on(tmp_path):
    """A FIFO where the journal would be blocks a plain fopen forever; moerate refuses it in one line, at once,
    and leaves the results file as it was."""
    out = tmp_path / "r.h5"
    q = moerate("run", *GRID, "-output", out, ranks=2)
    assert q.returncode == 0, q.stderr
    before = out.read_bytes()
    os.mkfifo(tmp_path / "r.h5.journal")
    t0 = time.time()
    p = moerate("run", *GRID, "-output", out, timeout=60)
    assert time.time() - t0 < 30
    assert p.returncode == 2 and "is not a regular file" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert out.read_bytes() == before


def full_disk(after):
    """The environment of a run whose disk fills once `after` bytes are written to temporary files
    (FILE.tmp-PID): write and pwrite then fail with ENOSPC (tests/failfs.c)."""
    e = failing_fs("enospc")
    e.update(MOE_TEST_FAIL_AFTER=str(after), MOE_TEST_FAIL_PATH=".tmp-")
    return e


def assert_disk_full_error(p, path):
    """One line naming the file and the disk's reason, exit status 1: not a crash (139 was SIGSEGV,
    inside MPI_Finalize, from HDF5 ids left open on the error path)."""
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert p.returncode == 1, (p.returncode, p.stderr[-3000:])
    assert len(lines) == 1 and lines[0].startswith("moerate: error: "), p.stderr[-3000:]
    assert str(path) in lines[0] and "No space left on device" in lines[0], lines[0]


@pytest.mark.parametrize("point", ["at its creation", "early", "half-way", "at its end"])
def test_a_full_disk_during_a_whole_write_is_one_line_and_leaves_the_file(tmp_path, reference, point):
    """The disk fills while the results file is rewritten whole, at four points of the write: the run
    ends with one line and status 1, the temporary file is removed and the file is as it was (a new
    output: absent, or as its last whole write left it); the same command then finishes it."""
    size = reference.stat().st_size
    after = {"at its creation": 0, "early": 2000, "half-way": size // 2, "at its end": size - 200}[point]
    out, new = tmp_path / "r.h5", tmp_path / "new.h5"
    shutil.copy(reference, out)
    before = out.read_bytes()
    for path in (out, new):
        p = subprocess.run([MOERATE, "run", *map(str, GRID), "-output", str(path)], capture_output=True, text=True,
                           env=full_disk(after), timeout=120)
        assert_disk_full_error(p, path)
        assert not list(tmp_path.glob("*.tmp-*"))
    assert out.read_bytes() == before
    if new.exists():  # its first whole write (every task pending, a smaller file) fitted on the disk
        with h5py.File(new, "r") as h:
            assert h.attrs["status"] == "incomplete"
    q = moerate("run", *GRID, "-output", new)  # with room on the disk, the same command finishes it
    assert q.returncode == 0, q.stderr
    assert_same_results(reference, new)


def test_a_full_disk_on_a_multi_rank_run_ends_the_job_with_an_error_not_a_signal(tmp_path, reference):
    out = tmp_path / "r.h5"
    shutil.copy(reference, out)
    before = out.read_bytes()
    e = full_disk(reference.stat().st_size // 2)
    cmd = [MPIEXEC, "-n", "3"] + [a for v in ("LD_PRELOAD", "MOE_TEST_FAIL", "MOE_TEST_FAIL_AFTER", "MOE_TEST_FAIL_PATH") for a in ("-x", v)]
    p = subprocess.run(cmd + [MOERATE, "run", *map(str, GRID), "-output", str(out)], capture_output=True, text=True, env=e, timeout=120)
    assert p.returncode == 1, (p.returncode, p.stderr[-3000:])
    errors = [l for l in p.stderr.splitlines() if l.startswith("moerate: error: ")]
    assert len(errors) == 1 and "No space left on device" in errors[0], p.stderr[-3000:]
    assert "Segmentation" not in p.stderr and "signal" not in p.stderr, p.stderr[-3000:]
    assert out.read_bytes() == before and not list(tmp_path.glob("*.tmp-*"))


@pytest.mark.parametrize("after", [0, 5000, 30000])
def test_a_full_disk_while_fit_writes_its_output_removes_the_temporary_file(tmp_path, after):
    """`moerate fit -output FILE`: a full disk ends it with one line and status 1; FILE.tmp-PID is
    removed and an existing FILE is left as it was."""
    out = tmp_path / "f.h5"
    args = [MOERATE, "fit", "-n", "100", *map(str, TINY), "-output", str(out)]
    p = subprocess.run(args, capture_output=True, text=True, env=env(), timeout=120)
    assert p.returncode == 0, p.stderr
    before = out.read_bytes()
    p = subprocess.run(args, capture_output=True, text=True, env=full_disk(after), timeout=120)
    assert_disk_full_error(p, out)
    assert out.read_bytes() == before and os.listdir(tmp_path) == ["f.h5"]
