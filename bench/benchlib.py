"""Helpers shared by the bench/ scripts: run `moerate fit` with PETSc -log_view events and
/usr/bin/time -v peak memory; read and write the JSON results that bench/report.py turns into
the table."""
import argparse
import json
import os
import re
import subprocess

FIT_LINE = re.compile(r"^fit\s*:\s*(\w+) \((\w+)\) (?:by \w+ )?after (\d+) iterations, objective (\S+), \|gradient\| (\S+), (\S+) s")
EVENT_LINE = re.compile(r"^(Tao\w+|MatMult\w*|MatCholFctr\w*|KSPSolve)\s+(\d+)\s+\S+\s+(\S+)\s")


def load_loadavg():
    """The 1-minute load average (other users of the machine show up here)."""
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def parse_time_v(path):
    """Peak resident memory (kB) and wall time from a /usr/bin/time -v report."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("Maximum resident set size"):
                out["maxrss_kb"] = int(line.split(":")[1])
            elif line.startswith("Elapsed (wall clock) time"):
                v = line.rsplit(" ", 1)[1].split(":")
                out["elapsed_s"] = sum(float(x) * 60 ** i for i, x in enumerate(reversed(v)))
    return out


def p1_truth(d):
    """The truth the figures are measured on: P1's Regime 1 distributions (beta1* = 0, expert
    variance 1/d), a fixed cost model for the solver; its Fisher information is singular, so it
    runs under -allow_ill_posed (the figures time fits, they are not rates)."""
    return ["-truth_regime", "1", "-truth_expert_var", repr(1.0 / int(d)), "-allow_ill_posed"]


def run_fit(moerate, args, workdir, name, log_view=False):
    """Run `moerate fit ARGS` under /usr/bin/time -v (output kept in WORKDIR/NAME.log).
    Returns the summary line's fields (status, reason, iterations, objective, gradient, time:
    the fit's wall time), the -log_view events {name: [count, seconds]}, maxrss_kb and
    elapsed_s (the whole process)."""
    tv = os.path.join(workdir, name + ".time")
    cmd = ["/usr/bin/time", "-v", "-o", tv, moerate, "fit"] + list(args)
    if log_view:
        cmd.append("-log_view")
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = p.stdout.splitlines()
    if p.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(cmd), "\n".join(lines[-20:])))
    with open(os.path.join(workdir, name + ".log"), "w") as f:
        f.write("\n".join(lines) + "\n")
    r = dict(command="moerate fit " + " ".join(args), events={})
    for line in lines:
        m = FIT_LINE.match(line)
        if m:
            r.update(status=m.group(1), reason=m.group(2), iterations=int(m.group(3)),
                     objective=float(m.group(4)), gradient=float(m.group(5)), time=float(m.group(6)))
        m = EVENT_LINE.match(line)
        if m and log_view:
            r["events"][m.group(1)] = [int(m.group(2)), float(m.group(3))]
    if "time" not in r:
        raise RuntimeError("no summary line from: %s" % " ".join(cmd))
    r.update(parse_time_v(tv))
    return r


def save(workdir, name, data):
    with open(os.path.join(workdir, name + ".json"), "w") as f:
        json.dump(data, f, indent=1)


def load(workdir, name):
    path = os.path.join(workdir, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def blas_corename():
    """The kernels OpenBLAS chose in this process (numpy/scipy use the same libblas.so.3)."""
    import ctypes
    try:
        lib = ctypes.CDLL("libblas.so.3")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return "OpenBLAS %s kernels" % lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "BLAS (not OpenBLAS)"


def parser(doc, moerate=True, mpiexec=False):
    """The command line shared by the figure scripts: --workdir, and --moerate / --mpiexec."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if moerate:
        ap.add_argument("--moerate", required=True)
    ap.add_argument("--workdir", required=True)
    if mpiexec:
        ap.add_argument("--mpiexec", default="mpiexec")
    return ap
