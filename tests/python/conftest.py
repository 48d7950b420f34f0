"""Shared helpers of the Python tests: where moerate is, and how to run it."""
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("MOE_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
sys.path.insert(0, os.path.join(SOURCE, "analysis"))
sys.path.insert(0, os.path.join(SOURCE, "bench"))

MOERATE = os.environ.get("MOERATE", os.path.join(SOURCE, "build", "moerate"))
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")


def env():
    e = dict(os.environ)
    e.setdefault("OPENBLAS_NUM_THREADS", "1")
    return e


def moerate(*args, ranks=None, timeout=600, check=False, cwd=None):
    """Run moerate (in cwd); with ranks, under mpiexec.  Returns the CompletedProcess."""
    cmd = [MOERATE] + [str(a) for a in args]
    if ranks is not None:
        cmd = [MPIEXEC, "-n", str(ranks)] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env(), cwd=cwd)
    if check and p.returncode != 0:
        raise AssertionError("moerate failed (%d):\n%s\n%s" % (p.returncode, p.stdout, p.stderr))
    assert_no_sanitizer_report(p.stderr)
    return p


def assert_no_sanitizer_report(stderr):
    """Under the sanitizer build (tests/sanitize.sh) a report fails the test whatever the exit status the
    test expected."""
    for mark in ("ERROR: AddressSanitizer", ": runtime error: ", "ERROR: LeakSanitizer"):
        assert mark not in stderr, "sanitizer report:\n" + stderr[-5000:]


@pytest.fixture
def run():
    return moerate


def registered_families(kind):
    """The gating or expert families moerate has registered, as `moerate fit -help` lists them (from the
    registries: a new family is tested without editing the tests)."""
    out = subprocess.run([MOERATE, "fit", "-help"], capture_output=True, text=True, timeout=120).stdout
    m = re.search(r"-%s <[^>]*>: %s families?[^:]*: ([\w, ]+) \(comma list" % (kind, "gating" if kind == "gating" else "expert"), out)
    assert m, "no -%s line in moerate fit -help" % kind
    return [name.strip() for name in m.group(1).split(",")]


def fd_jacobian(model, theta, X, h=1e-6):
    """Central differences of a numpy Model's f (analysis/moemodel.py) in every entry of theta: n x p."""
    import numpy as np
    J = np.zeros((len(X), model.p))
    for i in range(model.p):
        e = np.zeros(model.p)
        e[i] = h
        J[:, i] = (model.evaluate(theta + e, X) - model.evaluate(theta - e, X)) / (2 * h)
    return J
