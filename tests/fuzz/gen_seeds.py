#!/usr/bin/python3
"""Seed corpora of the recipe harnesses (fuzz_truth_h5, fuzz_results_resume): recipes (recipe.h) that
build valid files and the edits tests/python/test_untrusted.py makes by hand.  The tables of recipe.h
are read from it, so the indices stay right when they grow.
    /usr/bin/python3 tests/fuzz/gen_seeds.py     (rewrites corpus/fuzz_truth_h5, corpus/fuzz_results_resume)"""
import os, re, struct

HERE = os.path.dirname(os.path.abspath(__file__))
src = open(os.path.join(HERE, "recipe.h")).read()


def table(name):
    body = re.search(r"%s\[\] = \{(.*?)\};" % name, src, re.S).group(1)
    return [bytes(s, "utf-8").decode("unicode_escape") for s in re.findall(r'"((?:[^"\\]|\\.)*)"', body)]


PATHS, NAMES, STRINGS = table("fz_paths"), table("fz_names"), table("fz_strings")
INTS = [0, 1, 2, 3, 4, -1, 1024, 1025, 4096, 4097]
GROUP, ATTR, DSET, DELATTR, DELLINK, SOFT, HARD, RECORDS, END = range(9)
VSTR, FSTR = 0, 2
I8, I32BE, I64, U64, U8, F64, F32BE, F64BE, COMPOUND, ARRAY, ENUM, VLENSEQ = 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17
SCALAR, NULL, R1, R2, R3, R9 = 0, 1, 2, 5, 6, 7


def p(path): return bytes([PATHS.index(path)])
def n(name): return bytes([NAMES.index(name)]) if name in NAMES else bytes([0xF0, len(name)]) + name.encode()
def s(text): return bytes([STRINGS.index(text)]) if text in STRINGS else bytes([0xE0, len(text)]) + text.encode()
def i(v): return bytes([INTS.index(v)]) if v in INTS else bytes([0xF0]) + struct.pack("<q", v)
def r(x): return bytes([0xF0]) + struct.pack("<d", x)


def dim(d):
    fixed = {0: 0, 1: 1, 2: 2, 3: 3, 8: 4, 10: 5, 1 << 20: 6, (1 << 20) + 1: 7, 1 << 59: 8, (1 << 32) + 2: 9}
    if d in fixed: return bytes([fixed[d]])
    if d < 64: return bytes([14, d])
    return bytes([15]) + struct.pack("<Q", d)


def space(*dims):
    if not dims: return bytes([SCALAR])
    return bytes([{1: R1, 2: R2, 3: R3}[len(dims)]]) + b"".join(dim(d) for d in dims)


def attr_str(obj, name, value, t=VSTR): return bytes([ATTR]) + p(obj) + n(name) + bytes([t]) + (bytes([len(value) + 1]) if t == FSTR else b"") + space() + bytes([2]) + s(value)
def attr_int(obj, name, v, t=I64, dims=()): return bytes([ATTR]) + p(obj) + n(name) + bytes([t]) + space(*dims) + bytes([0]) + b"".join(i(v) for _ in range(max(1, prod(dims))))
def prod(dims):
    out = 1
    for d in dims: out *= d
    return out if dims else 1
def dset_reals(path, vals, dims=None, t=F64, layout=3):
    dims = dims or (len(vals),)
    return bytes([DSET]) + p(path) + bytes([t]) + space(*dims) + bytes([layout, 1]) + b"".join(r(x) for x in vals)


RELU = [0.16766830967587196, 2.3201096549564646, 0.3585587333843994, 0.628871587294922, 0.05831296275739008, 0.61778077079723, 1.2840846515801436, -0.0115277819524045, 0.8627555668451582, 0.3875265915857539, 0, 0, 0, 0, 0, -1.086268611087742, -0.3342966465363739, -1.64427820224299, 1.0018333377787951, -2.388737309477817]
TOPK = [25, -8, -20, 15, 0.3, 0, 0, 20, -5, 0.4]


def truth(g="/truth/relu", gating="softmax", expert="relu", kstar=2, d=4, opts="", theta=RELU, model=None, skip=()):
    out = bytes([GROUP]) + p(g)
    if "gating" not in skip: out += attr_str(g, "gating", gating)
    if "expert" not in skip: out += attr_str(g, "expert", expert)
    if "kstar" not in skip: out += attr_int(g, "kstar", kstar)
    if "d" not in skip: out += attr_int(g, "d", d)
    if "gating_options" not in skip: out += attr_str(g, "gating_options", opts)
    if model: out += attr_str(g, "model", model)
    if "theta" not in skip: out += dset_reals(g + "/theta", theta)
    return out


TRUTH_SEEDS = {
    "valid_softmax_relu": b"\0" + truth(),
    "valid_topk_gaussian": b"\0" + truth("/truth/linear", "topk", "linear", 2, 1, "-topk_K 1 -topk_rank_affine 1", TOPK, "gaussian"),
    "valid_two_truths_dense": b"\1" + truth() + truth("/truth/linear", "topk", "linear", 2, 1, "-topk_K 1 -topk_rank_affine 1", TOPK, "gaussian"),
    "valid_fixed_strings": b"\0" + bytes([GROUP]) + p("/truth/relu") + attr_str("/truth/relu", "gating", "softmax", FSTR) + attr_str("/truth/relu", "expert", "relu", FSTR) + attr_int("/truth/relu", "kstar", 2, I32BE) + attr_int("/truth/relu", "d", 4, U8) + attr_str("/truth/relu", "gating_options", "", FSTR) + dset_reals("/truth/relu/theta", RELU, layout=0),
    "kstar_array": b"\0" + truth(skip=("kstar",)) + attr_int("/truth/relu", "kstar", 2, dims=(2,)),
    "gating_string_array": b"\0" + truth(skip=("gating",)) + bytes([ATTR]) + p("/truth/relu") + n("gating") + bytes([VSTR]) + space(2) + bytes([2]) + s("softmax") + s("sigmoid"),
    "kstar_float": b"\0" + truth(skip=("kstar",)) + bytes([ATTR]) + p("/truth/relu") + n("kstar") + bytes([F64]) + space() + bytes([1]) + r(2.0),
    "kstar_huge": b"\0" + truth(skip=("kstar",)) + attr_int("/truth/relu", "kstar", (1 << 32) + 2),
    "theta_huge_dim": b"\0" + truth(skip=("theta",)) + bytes([DSET]) + p("/truth/relu/theta") + bytes([F64]) + space(1 << 59) + bytes([1, 1]),
    "theta_matrix": b"\0" + truth(skip=("theta",)) + dset_reals("/truth/relu/theta", RELU, dims=(1, 20)),
    "theta_short": b"\0" + truth(theta=RELU[:19]),
    "theta_nan": b"\0" + truth(skip=("theta",)) + bytes([DSET]) + p("/truth/relu/theta") + bytes([F64]) + space(20) + bytes([0, 1]) + b"".join(r(x) for x in RELU[:5]) + bytes([0xE0]) + b"".join(r(x) for x in RELU[6:]),
    "theta_ints": b"\0" + truth(skip=("theta",)) + bytes([DSET]) + p("/truth/relu/theta") + bytes([I32BE]) + space(20) + bytes([0, 0]) + bytes([0] * 20),
    "theta_strings": b"\0" + truth(skip=("theta",)) + bytes([DSET]) + p("/truth/relu/theta") + bytes([VSTR]) + space(2) + bytes([0, 2]) + s("relu") + s(""),
    "theta_compound": b"\0" + truth(skip=("theta",)) + bytes([DSET]) + p("/truth/relu/theta") + bytes([COMPOUND]) + space(10) + bytes([0, 3]) + bytes(160),
    "options_file_in_options": b"\0" + truth(opts="-options_file /etc/hostname"),
    "no_truth_group": b"\0" + bytes([GROUP]) + p("/tasks"),
    "truth_is_dataset": b"\0" + dset_reals("/truth", [1.0]),
    "truth_soft_link_cycle": b"\0" + truth() + bytes([HARD]) + p("/truth/x") + p("/truth"),
    "truth_dangling_link": b"\0" + truth() + bytes([SOFT]) + p("/truth/x") + p("/tasks"),
    "long_group_name": b"\0" + truth(g=[x for x in PATHS if x.startswith("/truth/aaaa")][0], skip=("theta",)),
    "model_unknown": b"\0" + truth(model="softmax"),
    "fixed_string_over_1MiB": b"\1" + truth(skip=("gating",)) + bytes([ATTR]) + p("/truth/relu") + n("gating") + bytes([5]) + space() + bytes([2]) + s("softmax"),
    "d_zero_kstar_big": b"\0" + truth(kstar=4096, d=1024),
}

RESULTS_SEEDS = {
    "valid": b"\0",
    "valid_force_retry": b"\3",
    "kind_array": b"\0" + bytes([ATTR]) + p("/") + n("kind") + bytes([VSTR]) + space(2) + bytes([2]) + s("moerate run") + s("moerate run"),
    "kind_missing": b"\0" + bytes([DELATTR]) + p("/") + n("kind"),
    "format_version_string": b"\0" + attr_str("/", "format_version", "4"),
    "format_version_array": b"\0" + attr_int("/", "format_version", 4, dims=(3,)),
    "spec_hash_int": b"\0" + attr_int("/", "spec_hash", 1),
    "spec_hash_missing": b"\0" + bytes([DELATTR]) + p("/") + n("spec_hash"),
    "git_revision_array": b"\0" + bytes([ATTR]) + p("/") + n("git_revision") + bytes([VSTR]) + space(2) + bytes([2]) + s("") + s(""),
    "journal_token_long": b"\0" + attr_str("/", "journal_token", "x" * 100),
    "journal_token_array": b"\0" + bytes([ATTR]) + p("/") + n("journal_token") + bytes([FSTR, 17]) + space(3) + bytes([2]) + s("0123456789abcdef") * 3,
    "records_missing": b"\0" + bytes([DELLINK]) + p("/tasks/records"),
    "records_drop_field": b"\0" + bytes([RECORDS, 1, 8, 0, 4]),
    "records_retype_status": b"\0" + bytes([RECORDS, 1, 8, 1, 3, 0]),
    "records_string_field": b"\0" + bytes([RECORDS, 1, 0, 1, 6, 0]),
    "records_packed": b"\0" + bytes([RECORDS, 0, 4]),
    "records_renamed": b"\0" + bytes([RECORDS, 1, 2, 2, 0]),
    "records_bad_status": b"\0" + bytes([RECORDS, 1, 8, 4]) + i(7) + bytes([1, 0]),
    "records_bad_id": b"\0" + bytes([RECORDS, 1, 0, 4]) + i(4097) + bytes([3, 0]),
    "records_more_rows": b"\0" + bytes([RECORDS, 0, 8]) + dim(1 << 59),
    "records_checksummed_short": b"\0" + bytes([RECORDS, 0, 8 | 16]) + dim(3),
    "losses_transposed": b"\0" + bytes([DSET]) + p("/tasks/losses") + bytes([F64]) + space(3, 12) + bytes([1, 1]),
    "theta_huge": b"\0" + bytes([DSET]) + p("/tasks/theta") + bytes([F64]) + space(1 << 59, 20) + bytes([1]),
    "theta_rank3": b"\0" + bytes([DSET]) + p("/tasks/theta") + bytes([F64]) + space(2, 2, 2) + bytes([0, 1]) + r(0) * 8,
    "losses_ints": b"\0" + bytes([DSET]) + p("/tasks/losses") + bytes([I32BE]) + bytes([R2, 10, 11]) + bytes([0, 0]),
    "sessions_huge": b"\0" + bytes([DSET]) + p("/sessions") + bytes([COMPOUND]) + space(1 << 59) + bytes([1]),
    "sessions_2d": b"\0" + bytes([DSET]) + p("/sessions") + bytes([F64]) + space(1, 1) + bytes([0, 1]) + r(1.0),
    "sessions_many": b"\0" + bytes([DSET]) + p("/sessions") + bytes([F64]) + space((1 << 20) + 1) + bytes([1]),
    "sessions_scalar": b"\0" + bytes([DSET]) + p("/sessions") + bytes([F64]) + space() + bytes([0, 1]) + r(1.0),
    "tasks_is_dataset": b"\0" + bytes([DELLINK]) + p("/tasks") + dset_reals("/tasks", [1.0]),
}

for corpus, seeds in (("fuzz_truth_h5", TRUTH_SEEDS), ("fuzz_results_resume", RESULTS_SEEDS)):
    d = os.path.join(HERE, "corpus", corpus)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        open(os.path.join(d, name), "wb").write(data)
    print(corpus, len(seeds), "seeds")
