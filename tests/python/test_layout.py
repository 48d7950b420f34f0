"""The floor plan of the source, checked mechanically (issue: one room per step).

- The data flow spec -> grid -> schedule -> generate -> fit -> certify -> losses -> store: a room
  calls only the rooms before it (and the shared ones: util and the family registries), never a
  later room nor a driver (task/, run/'s master and workers, cmd/, main.c), which wire the rooms.
  The store writes what it is given: it calls no generate/fit/certify/losses function.
- HDF5 is spoken only under src/store/ (and its header).
- No gating or expert family name is compared as a string outside its family's files: the other
  rooms read the families' traits.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"

# (room, paths); order is the data flow.  Shared rooms may be called from everywhere.
SHARED = {"util": ["src/util"],
          "families": ["src/gating", "src/expert", "src/model", "src/loss/registry.c", "src/loss/register.c",
                        "src/estimator/registry.c", "src/estimator/register.c"]}
FLOW = [("spec", ["src/spec"]), ("grid", ["src/grid/grid.c", "src/grid/records.c"]), ("schedule", ["src/grid/schedule.c"]),
        ("generate", ["src/data"]), ("fit", ["src/fit"]), ("certify", ["src/certify"]), ("estimator", ["src/estimator"]),
        ("losses", ["src/loss"]),
        ("store", ["src/store"])]
DRIVERS = {"task": ["src/task"], "run": ["src/run"], "cmd": ["src/cmd", "src/main.c"]}
# the store writes what it is given: none of these rooms' functions
STORE_MAY_NOT_CALL = {"generate", "fit", "certify", "losses"}

DEF = re.compile(r"^(?:static\s+)?(?:inline\s+)?(?:const\s+)?[A-Za-z_][\w \*]*?\b(Moe\w+)\s*\(", re.M)
CALL = re.compile(r"\b(Moe\w+)\s*\(")


def room_of(path):
    rel = path.relative_to(ROOT).as_posix()
    best = None
    for table in (SHARED, dict(FLOW), DRIVERS):
        for room, prefixes in table.items():
            for p in prefixes:
                if rel == p or rel.startswith(p + "/"):
                    if best is None or len(p) > best[1]:
                        best = (room, len(p))
    return best[0] if best else None


def sources():
    return sorted(SRC.rglob("*.c"))


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def definitions():
    where = {}
    for f in sources():
        for m in DEF.finditer(strip_comments(f.read_text())):
            name = m.group(1)
            # registration functions of a family file belong to the registry (PETSc's XxxRegister_Name)
            where.setdefault(name, "families" if re.match(r"Moe\w+Register_\w+$", name) else room_of(f))
    return where


def test_calls_follow_the_flow():
    where = definitions()
    order = {room: i for i, (room, _) in enumerate(FLOW)}
    wrong = []
    for f in sources():
        caller = room_of(f)
        if caller in DRIVERS or caller in SHARED:
            continue
        for m in CALL.finditer(strip_comments(f.read_text())):
            callee = where.get(m.group(1))
            if callee is None or callee in SHARED or callee == caller:
                continue
            if callee in DRIVERS or order[callee] > order[caller] or (caller == "store" and callee in STORE_MAY_NOT_CALL):
                wrong.append("%s (%s) calls %s (%s)" % (f.relative_to(ROOT), caller, m.group(1), callee))
    assert not wrong, "calls against the flow:\n" + "\n".join(sorted(set(wrong)))


def test_every_source_file_has_a_room():
    """A new folder (or file) of src/ is placed in the floor plan before its calls can be checked."""
    homeless = [f.relative_to(ROOT).as_posix() for f in sources() if room_of(f) is None]
    assert not homeless, "source files in no room of test_layout.py: " + ", ".join(homeless)


def test_shared_rooms_call_no_step():
    where = definitions()
    wrong = []
    for f in sources():
        if room_of(f) not in SHARED:
            continue
        for m in CALL.finditer(strip_comments(f.read_text())):
            callee = where.get(m.group(1))
            if callee is not None and callee not in SHARED:
                wrong.append("%s calls %s (%s)" % (f.relative_to(ROOT), m.group(1), callee))
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_hdf5_only_in_store():
    h5 = re.compile(r"(?<![\w])(H5[A-Z]\w*\s*\(|hid_t\b|hsize_t\b|herr_t\b|#include <hdf5\.h>)")
    wrong = []
    for f in sources() + sorted((ROOT / "include").rglob("*.h")):
        rel = f.relative_to(ROOT).as_posix()
        if rel.startswith("src/store/") or rel in ("include/moestore.h", "include/moe/private/storeimpl.h"):
            continue
        for i, line in enumerate(strip_comments(f.read_text()).splitlines(), 1):
            if h5.search(line):
                wrong.append("%s:%d: %s" % (rel, i, line.strip()))
    assert not wrong, "HDF5 outside src/store:\n" + "\n".join(wrong)


def family_names():
    """{(name, kind)} of the registered gating and expert families, from their files."""
    names = set()
    for kind in ("gating", "expert"):
        for f in sorted((SRC / kind).glob("*.c")):
            for m in re.finditer(r"const Moe%sFamily\s+\w+\s*=\s*\{\s*\"(\w+)\"" % kind.capitalize(), f.read_text()):
                names.add((m.group(1), kind))
    return names


def test_families_are_registered_with_their_traits():
    names = family_names()
    assert {"sigmoid", "softmax", "topk", "dts", "hsoftmax"} <= {n for n, k in names if k == "gating"}
    assert {"relu", "gelu", "sigmoid", "tanh", "linear", "constant", "softplus"} <= {n for n, k in names if k == "expert"}


def test_no_family_name_compared_outside_its_family():
    names = {n for n, _ in family_names()}
    compare = re.compile(r"\b(?:PetscStrcmp|PetscStrcasecmp|PetscStrncmp|strcmp|strncmp|strcasecmp|PetscStrInList)\s*\(([^;]*)")
    literal = re.compile(r"\"(\w+)\"")
    wrong = []
    for f in sources():
        rel = f.relative_to(ROOT).as_posix()
        if rel.startswith("src/gating/") or rel.startswith("src/expert/"):
            continue
        for i, line in enumerate(strip_comments(f.read_text()).splitlines(), 1):
            for m in compare.finditer(line):
                args = m.group(1)
                hits = [w for w in literal.findall(args) if w in names]
                # comparing the names of the spec's family lists, or a model's family type string
                if hits or re.search(r"\b(gatings|experts|truth_gating|truth_expert)\b|->type\b|->name\b", args):
                    wrong.append("%s:%d: %s" % (rel, i, line.strip()))
    # Python: the analysis takes the families' traits from the results file (/families);
    # analysis/moemodel.py is the independent second implementation of the model, used by the tests.
    for f in sorted((ROOT / "analysis").glob("*.py")):
        if f.name == "moemodel.py":
            continue
        for i, line in enumerate(f.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for m in re.finditer(r"(==|!=|\bin)\s*[\(\[\{]?\s*[\"'](\w+)[\"']", code):
                if m.group(2) in names:
                    wrong.append("%s:%d: %s" % (f.relative_to(ROOT), i, line.strip()))
    assert not wrong, "family names compared as strings:\n" + "\n".join(wrong)


def test_record_fields_documented():
    """docs/FORMAT.md lists the record fields of the table in include/moegrid.h, in order."""
    table = (ROOT / "include" / "moegrid.h").read_text()
    types = {"INT32": "int32", "INT64": "int64", "UINT64": "uint64", "DOUBLE": "float64"}
    fields = [(name, types[t]) for name, t in re.findall(r"^\s*X\(\w+, (\w+), MOE_FIELD_(\w+),", table, re.M)]
    assert len(fields) >= 20
    fmt = (ROOT / "docs" / "FORMAT.md").read_text()
    documented = re.findall(r"^\|\s*`(\w+)`\s*\|\s*(int32|int64|uint64|float64)\s*\|", fmt, re.M)
    assert documented == fields, "FORMAT.md's record table differs from include/moegrid.h: %s" % documented
