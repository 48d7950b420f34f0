"""Files moerate did not write, or that were edited since: a results file given to -output or a truth
given to -truth_file is read before anything is trusted. An attribute that holds an array where one
value belongs, a dataset whose shape is not the grid's (2^59 sessions, a transposed theta), records
without a field: each is refused in one line (exit 2) before a byte is read into memory sized from the
file, and the file is left byte-identical (issue #25)."""
import os

import h5py
import numpy as np
import pytest

from conftest import moerate
from test_run import TINY

# 2 gatings x 1 expert x 2 n: 4 replicate tasks and the softmax fits' G-bar, so that a transposed
# tasks x parameters dataset holds as many values as the right one
SMALL = ["-gating", "sigmoid,softmax", "-expert", "relu", "-n", "200,400", "-replicates", 1, *TINY, "-quiet"]
TRUTH_FIT = ["-n", 100, *TINY]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("results") / "r.h5"
    moerate("run", *SMALL, "-output", out, check=True)
    return out


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    out = tmp_path_factory.mktemp("truth") / "t.h5"
    moerate("fit", *TRUTH_FIT, "-output", out, check=True)
    return out


def edited(source, path, edit):
    path.write_bytes(source.read_bytes())
    with h5py.File(path, "r+") as h:
        edit(h)
    return path


def assert_refused(args, path, culprit, timeout=600):
    """moerate with args refuses in one line naming path and the culprit, exit 2, path untouched, nothing
    left beside it."""
    before = path.read_bytes()
    p = moerate(*args, timeout=timeout)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert p.returncode == 2, (p.returncode, p.stderr[-3000:])
    assert len(lines) == 1 and lines[0].startswith("moerate: error: "), p.stderr[-3000:]
    assert str(path) in lines[0] and culprit in lines[0], lines[0]
    assert path.read_bytes() == before
    assert not [f for f in os.listdir(path.parent) if ".tmp-" in f or ".bak-" in f]
    return lines[0]


def replace_attr(obj, name, value, dtype=None):
    del obj.attrs[name]
    obj.attrs.create(name, value, dtype=dtype)


STRINGS = h5py.string_dtype()

# (name, edit of the root group's attributes, what the error line says)
ARRAY_ATTRIBUTES = [
    ("kind of 16 strings", lambda h: replace_attr(h, "kind", ["moerate run"] * 16, STRINGS), "'kind' holds 16 values, not one"),
    ("format_version of 8 integers", lambda h: replace_attr(h, "format_version", np.full(8, 4, np.int64)), "'format_version' holds 8 values"),
    ("spec_hash of 16 strings", lambda h: replace_attr(h, "spec_hash", [h.attrs["spec_hash"]] * 16, STRINGS), "'spec_hash' holds 16 values"),
    ("git_revision of 16 strings", lambda h: replace_attr(h, "git_revision", [h.attrs["git_revision"]] * 16, STRINGS), "'git_revision' holds 16 values"),
    ("journal_token of 16 strings", lambda h: replace_attr(h, "journal_token", [h.attrs["journal_token"]] * 16, STRINGS), "'journal_token' holds 16 values"),
    ("format_version of 2 x 2", lambda h: replace_attr(h, "format_version", np.full((2, 2), 4, np.int32)), "'format_version' holds 4 values"),
    ("format_version as a string", lambda h: replace_attr(h, "format_version", "4", STRINGS), "'format_version' is not an integer"),
    ("kind as an integer", lambda h: replace_attr(h, "kind", 7), "'kind' is not a string"),
]


@pytest.mark.parametrize("name,edit,culprit", ARRAY_ATTRIBUTES, ids=[c[0] for c in ARRAY_ATTRIBUTES])
def test_an_attribute_holding_an_array_is_refused_not_read_past(tmp_path, results, name, edit, culprit):
    """MoeH5AttrReadString/ReadInt read one value: an array of 16 strings wrote 16 pointers into one
    char *, 8 integers 64 bytes into one int64_t (a crash, or worse). Every attribute read before the
    spec is compared, or while resuming, is checked to hold one value of its class."""
    out = edited(results, tmp_path / "r.h5", edit)
    line = assert_refused(["run", *SMALL, "-output", out], out, culprit)
    assert "-force" in line


def test_force_keeps_a_file_with_an_array_attribute_and_starts_over(tmp_path, results):
    out = edited(results, tmp_path / "r.h5", ARRAY_ATTRIBUTES[0][1])
    before = out.read_bytes()
    p = moerate("run", *SMALL, "-force", "-output", out)
    assert p.returncode == 0, p.stderr
    baks = list(tmp_path.glob("r.h5.bak-*"))
    assert len(baks) == 1 and baks[0].read_bytes() == before
    with h5py.File(out, "r") as h:
        assert h.attrs["kind"] == "moerate run" and h.attrs["status"] == "complete"


def grow(h, name, rows):
    """Dataset `name` re-made chunked and extensible, then grown to `rows` (no data written: cheap)."""
    s = h[name][()]
    del h[name]
    d = h.create_dataset(name, shape=s.shape, maxshape=(None,), dtype=s.dtype, chunks=(1,))
    d[...] = s
    d.resize((rows,))


def replace_dataset(h, name, data):
    del h[name]
    h.create_dataset(name, data=data, chunks=True, fletcher32=True)


# (name, edit, what the error line says)
SHAPES = [
    ("2^59 sessions", lambda h: grow(h, "sessions", 2**59), "/sessions claims 576460752303423488 rows"),
    ("2^20 + 1 sessions", lambda h: grow(h, "sessions", 2**20 + 1), "/sessions claims 1048577 rows (one per run of the file, at most 1048576)"),
    ("transposed theta", lambda h: replace_dataset(h, "tasks/theta", h["tasks/theta"][()].T.copy()), "'tasks/theta' is 18 x 5, expected 5 x 18"),
    ("transposed losses", lambda h: replace_dataset(h, "tasks/losses", h["tasks/losses"][()].T.copy()), "'tasks/losses' is"),
    ("theta as one row", lambda h: replace_dataset(h, "tasks/theta", h["tasks/theta"][()].reshape(1, -1)), "'tasks/theta' is 1 x 90, expected 5 x 18"),
    ("theta a column short", lambda h: replace_dataset(h, "tasks/theta", h["tasks/theta"][:, :-1]), "'tasks/theta' is 5 x 17, expected 5 x 18"),
    ("records of 2^40 rows", lambda h: grow(h, "tasks/records", 2**40), "'tasks/records' is 1099511627776, expected 5"),
    ("sessions as a table", lambda h: replace_dataset(h, "sessions", np.stack([h["sessions"][()]] * 2)), "/sessions has 2 dimensions"),
]


@pytest.mark.parametrize("name,edit,culprit", SHAPES, ids=[c[0] for c in SHAPES])
def test_datasets_whose_shape_is_not_the_grids_are_refused_before_allocating(tmp_path, results, name, edit, culprit):
    """/sessions claiming 2^59 rows made PetscCalloc1(n + 1) wrap and H5Dread write past it; a
    transposed /tasks/theta holds as many values as the right one and was read in silently. Every
    dataset is compared, dimension by dimension, with what the grid makes before it is read."""
    with h5py.File(results, "r") as h:
        assert h["tasks/theta"].shape == (5, 18)  # the shapes the culprits name
    out = edited(results, tmp_path / "r.h5", edit)
    line = assert_refused(["run", *SMALL, "-output", out], out, culprit)
    assert "cannot be read (damaged?" in line and "-force" in line


def without_fields(rec, drop):
    """The records' dtype without the fields `drop`, every other field at its offset (as a file
    written by another program, or an older moerate, would hold them)."""
    dt = rec.dtype
    names = [n for n in dt.names if n not in drop]
    return np.dtype(dict(names=names, formats=[dt.fields[n][0] for n in names], offsets=[dt.fields[n][1] for n in names],
                         itemsize=dt.itemsize))


def rewrite_records(h, dtype):
    rec = h["tasks/records"][()]
    new = np.zeros(rec.shape, dtype=dtype)
    for n in dtype.names:
        if n in rec.dtype.names:
            new[n] = rec[n]
    replace_dataset(h, "tasks/records", new)


def retyped(rec, field, fmt):
    dt = rec.dtype
    return np.dtype(dict(names=list(dt.names), formats=[fmt if n == field else dt.fields[n][0] for n in dt.names],
                         offsets=[dt.fields[n][1] for n in dt.names], itemsize=dt.itemsize))


RECORDS = [
    ("without objective and certified", lambda h: rewrite_records(h, without_fields(h["tasks/records"], ("objective", "certified"))),
     "/tasks/records has no field 'certified'"),
    ("without objective", lambda h: rewrite_records(h, without_fields(h["tasks/records"], ("objective",))),
     "/tasks/records has no field 'objective'"),
    ("objective as float32", lambda h: rewrite_records(h, retyped(h["tasks/records"], "objective", "<f4")),
     "the field 'objective' of /tasks/records is not float64"),
    ("seed signed", lambda h: rewrite_records(h, retyped(h["tasks/records"], "seed", "<i8")),
     "the field 'seed' of /tasks/records is not uint64"),
    ("packed records", lambda h: rewrite_records(h, np.dtype([(n, h["tasks/records"].dtype.fields[n][0]) for n in h["tasks/records"].dtype.names])),
     "of /tasks/records is at byte"),
    ("an extra field", lambda h: rewrite_records(h, np.dtype(dict(
        names=list(h["tasks/records"].dtype.names) + ["extra"],
        formats=[h["tasks/records"].dtype.fields[n][0] for n in h["tasks/records"].dtype.names] + ["<f8"],
        offsets=[h["tasks/records"].dtype.fields[n][1] for n in h["tasks/records"].dtype.names] + [h["tasks/records"].dtype.itemsize],
        itemsize=h["tasks/records"].dtype.itemsize + 8))),
     ", a record has "),
]


@pytest.mark.parametrize("name,edit,culprit", RECORDS, ids=[c[0] for c in RECORDS])
def test_records_that_are_not_the_tables_are_refused(tmp_path, results, name, edit, culprit):
    """Read with moerate's record type, records without `objective` or `certified` came back NaN and
    uncertified, and the resumed run made them permanent under fresh checksums. The record type of the
    file is compared with the record table of include/moegrid.h (names, types, offsets) first."""
    out = edited(results, tmp_path / "r.h5", edit)
    assert_refused(["run", *SMALL, "-output", out], out, culprit)


def test_the_tables_records_still_resume(tmp_path, results):
    """The checks refuse nothing moerate writes: a finished file is reported, a file whose tasks are
    pending again (as a killed run leaves them) is resumed to the same numbers."""
    out = tmp_path / "r.h5"
    out.write_bytes(results.read_bytes())
    p = moerate("run", *SMALL, "-output", out)
    assert p.returncode == 0, p.stderr
    with h5py.File(out, "r") as h, h5py.File(results, "r") as r:
        assert np.array_equal(h["tasks/records"]["objective"], r["tasks/records"]["objective"])
        assert np.array_equal(h["tasks/theta"][()], r["tasks/theta"][()], equal_nan=True)
        assert len(h["sessions"]) == 2


# (name, edit of /truth/relu, what the error line says)
TRUTHS = [
    ("kstar of 8 integers", lambda g: replace_attr(g, "kstar", np.full(8, 2, np.int64)), "'kstar' holds 8 values, not one"),
    ("d of 8 integers", lambda g: replace_attr(g, "d", np.full(8, 2, np.int64)), "'d' holds 8 values"),
    ("gating of 16 strings", lambda g: replace_attr(g, "gating", ["sigmoid"] * 16, STRINGS), "'gating' holds 16 values"),
    ("gating_options of 16 strings", lambda g: replace_attr(g, "gating_options", [""] * 16, STRINGS), "'gating_options' holds 16 values"),
    ("expert as bytes of 16", lambda g: replace_attr(g, "expert", np.array([b"relu"] * 16)), "'expert' holds 16 values"),
    ("d as a string", lambda g: replace_attr(g, "d", "2", STRINGS), "'d' is not an integer"),
    ("theta of 2^59 values", lambda g: (g.__delitem__("theta"), g.create_dataset("theta", shape=(4,), maxshape=(None,), chunks=(4,), dtype="f8").resize((2**59,))),
     "/truth/relu/theta claims 576460752303423488 values"),
    ("theta as a matrix", lambda g: replace_dataset(g, "theta", g["theta"][()].reshape(1, -1)), "/truth/relu/theta has 2 dimensions"),
]


@pytest.mark.parametrize("name,edit,culprit", TRUTHS, ids=[c[0] for c in TRUTHS])
@pytest.mark.parametrize("command", ["fit", "run"])
def test_a_truth_file_holding_arrays_is_refused(tmp_path, truth, name, edit, culprit, command):
    t = edited(truth, tmp_path / "t.h5", lambda h: edit(h["truth/relu"]))
    args = [command, *TRUTH_FIT, "-truth_file", t]
    if command == "run":
        args += ["-replicates", 1, "-output", tmp_path / "r.h5", "-quiet"]
    line = assert_refused(args, t, culprit)
    assert "cannot be read as a moerate truth" in line
    assert not (tmp_path / "r.h5").exists()


# A YAML truth is read with the spec files' care: each key once, no unknown key, a size in 64 bits, and PETSc's
# errors (a syntax error, a word where a number belongs) as one line.
GOOD_YAML = "gating: softmax\nexpert: relu\nkstar: 2\nd: 1\ntheta: [1, 0, 1, 0,\n        0, 0, -1, 0]\n"
YAMLS = [
    ("a second theta", GOOD_YAML + "theta: [2, 0, 1, 0, 0, 0, -1, 0]\n", "the key 'theta' is given twice"),
    ("a second kstar", GOOD_YAML + "kstar: 3\n", "the key 'kstar' is given twice"),
    ("a typo", GOOD_YAML + "tehta: [1]\n", "unknown key 'tehta'"),
    ("a noise key", GOOD_YAML + "noise: 0.1\n", "unknown key 'noise'"),
    ("a key too long (tests/fuzz/crashes/fuzz_truth_yaml)", GOOD_YAML + "a" * 72 + ": 1\n", "is too long"),
    ("kstar 2^32 + 2", GOOD_YAML.replace("kstar: 2", "kstar: 4294967298"), "kstar 4294967298 is not a whole number"),
    ("kstar a word", GOOD_YAML.replace("kstar: 2", "kstar: two"), "kstar two is not a whole number"),
    ("no theta", GOOD_YAML[:GOOD_YAML.index("theta")], "has no 'theta' list"),
    ("theta of words", GOOD_YAML.replace("[1, 0,", "[one, 0,"), "is not a YAML truth moerate can read"),
    ("a syntax error", GOOD_YAML.replace("-1, 0]", "-1, 0"), "is not a YAML truth moerate can read"),
    ("an options file in a family option", GOOD_YAML.replace("gating: softmax", "gating: topk\ntopk_K: 1 -options_file /etc/hostname"),
     "'-options_file', not a gating family option"),
]


@pytest.mark.parametrize("name,text,culprit", YAMLS, ids=[c[0] for c in YAMLS])
def test_a_bad_yaml_truth_is_one_line(tmp_path, name, text, culprit):
    t = tmp_path / "t.yaml"
    t.write_text(text)
    line = assert_refused(["fit", "-n", 100, *TINY, "-truth_file", t], t, culprit)
    assert "Traceback" not in line


def test_a_good_yaml_truth_reads(tmp_path):
    t = tmp_path / "t.yaml"
    t.write_text(GOOD_YAML)
    p = moerate("fit", "-n", 100, "-k", 3, "-gating", "softmax", "-truth_file", t, "-allow_ill_posed")
    assert p.returncode == 0, p.stderr


def test_gating_options_of_an_hdf5_truth_reach_no_options_file(tmp_path, truth):
    """The gating options of a truth are inserted into an options database: an -options_file among them is
    refused, not obeyed."""
    t = edited(truth, tmp_path / "t.h5", lambda h: replace_attr(h["truth/relu"], "gating_options", "-options_file /etc/hostname", STRINGS))
    assert_refused(["fit", *TRUTH_FIT, "-truth_file", t], t, "'-options_file', not a gating family option")


# Links and names that lead elsewhere (issue #25 items 4 and 9). moerate writes only hard links: an external
# link, to a FIFO say, would block inside HDF5 where no signal reaches the run; it is refused before anything
# follows it.
def external_link_to_fifo(tmp_path, group, name):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    if name in group:
        del group[name]
    group[name] = h5py.ExternalLink(str(fifo), "/" + name)


def test_an_external_link_in_the_output_is_refused_without_following_it(tmp_path, results):
    r = edited(results, tmp_path / "r.h5", lambda h: external_link_to_fifo(tmp_path, h["tasks"], "theta"))
    assert_refused(["run", *SMALL, "-output", r], r, "holds an external link at /tasks/theta", timeout=60)


def test_force_keeps_an_output_with_a_soft_link_aside(tmp_path, results):
    r = edited(results, tmp_path / "r.h5", lambda h: h.__setitem__("tasks/alias", h5py.SoftLink("/tasks/theta")))
    before = r.read_bytes()
    p = moerate("run", *SMALL, "-output", r, "-force", timeout=120)
    assert p.returncode == 0, p.stderr
    assert "holds a soft link at /tasks/alias" in p.stderr
    (bak,) = [f for f in tmp_path.iterdir() if ".bak-" in f.name]
    assert bak.read_bytes() == before


@pytest.mark.parametrize("command", ["fit", "run"])
def test_an_external_link_in_a_truth_file_is_refused_without_following_it(tmp_path, truth, command):
    t = edited(truth, tmp_path / "t.h5", lambda h: external_link_to_fifo(tmp_path, h["truth/relu"], "theta"))
    args = [command, *TRUTH_FIT, "-truth_file", t]
    if command == "run":
        args += ["-replicates", 1, "-output", tmp_path / "r.h5", "-quiet"]
    assert_refused(args, t, "holds an external link at /truth/relu/theta", timeout=60)
    assert not (tmp_path / "r.h5").exists()


def one_line(p, code=2):
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert p.returncode == code, (p.returncode, p.stderr[-3000:])
    assert len(lines) == 1 and lines[0].startswith("moerate: error: "), p.stderr[-3000:]
    return lines[0]


def test_a_fifo_truth_file_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "t.yaml"
    os.mkfifo(fifo)
    line = one_line(moerate("fit", *TRUTH_FIT, "-truth_file", fifo, timeout=60))
    assert "is not a regular file" in line and str(fifo) in line


def test_a_dangling_symlink_at_the_lock_gets_no_target(tmp_path):
    target = tmp_path / "elsewhere"
    (tmp_path / "r.h5.lock").symlink_to(target)
    line = one_line(moerate("run", *TRUTH_FIT, "-replicates", 1, "-quiet", "-output", tmp_path / "r.h5", timeout=60))
    assert "r.h5.lock is a symbolic link: remove it" in line
    assert not target.exists() and not (tmp_path / "r.h5").exists()


def test_a_fifo_at_the_lock_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "r.h5.lock")
    line = one_line(moerate("run", *TRUTH_FIT, "-replicates", 1, "-quiet", "-output", tmp_path / "r.h5", timeout=60))
    assert "r.h5.lock is not a regular file" in line


def test_an_output_name_whose_derived_names_pass_name_max_is_refused_first(tmp_path):
    """PATH.bak-<time>-<i>.journal must fit in NAME_MAX (255) too: the name is refused before the run
    starts, not when a backup is made hours later."""
    out = tmp_path / ("a" * 240 + ".h5")
    line = one_line(moerate("run", *TRUTH_FIT, "-replicates", 1, "-quiet", "-output", out, timeout=60))
    assert "choose a name of at most 228 characters" in line
    assert os.listdir(tmp_path) == []


def test_an_error_line_is_not_cut_however_long_the_path(tmp_path):
    """PETSc keeps 1023 characters of an error's message; a path named twice hid the reason at the end."""
    missing = tmp_path.joinpath(*["d" * 200] * 8)
    line = one_line(moerate("run", *TRUTH_FIT, "-replicates", 1, "-quiet", "-output", missing / "r.h5", timeout=60))
    assert len(line) > 3000
    assert line.endswith("does not exist; create it first") and line.count(str(missing)) == 2


def write_spec_with_truth(folder, truth_path):
    (folder / "truths").mkdir(parents=True)
    (folder / "truths" / "t.yaml").write_text(GOOD_YAML)
    spec = folder / "s.yaml"
    spec.write_text("n: 100\nk: 3\ngating: softmax\nallow_ill_posed: true\ntruth_file: %s\n" % truth_path)
    return spec


def test_a_truth_file_in_a_spec_is_found_beside_the_spec_from_any_folder(tmp_path):
    spec = write_spec_with_truth(tmp_path / "specs", "truths/t.yaml")
    (tmp_path / "elsewhere").mkdir()
    for cwd, spec_arg in [(tmp_path / "elsewhere", spec), (tmp_path, "specs/s.yaml"), (tmp_path / "specs", "s.yaml")]:
        p = moerate("fit", "-options_file_yaml", spec_arg, cwd=cwd, timeout=120)
        assert p.returncode == 0, (cwd, p.stderr)


def test_a_truth_file_on_the_command_line_is_relative_to_the_current_folder(tmp_path):
    spec = write_spec_with_truth(tmp_path / "specs", "truths/t.yaml")
    (tmp_path / "truths").mkdir()
    (tmp_path / "truths" / "t.yaml").write_text(GOOD_YAML.replace("kstar: 2", "kstar: 3").replace("1, 0,\n", "1, 0, -1, 0, 2, 1,\n"))
    p = moerate("fit", "-options_file_yaml", spec, "-truth_file", "truths/t.yaml", "-k", 4, cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr
    # the command line's truth (k* = 3) was read, not the spec's (k* = 2): a fit with k = 2 < k* = 3 is refused
    p = moerate("fit", "-options_file_yaml", spec, "-truth_file", "truths/t.yaml", "-k", 2, cwd=tmp_path, timeout=120)
    assert p.returncode == 2 and "-k 2 is smaller than -kstar 3" in p.stderr, p.stderr
