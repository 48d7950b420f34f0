#!/usr/bin/env python3
"""A real single-node SLURM (munged + slurmctld + slurmd) on localhost, for tests.

Everything lives in one directory: a generated slurm.conf and munge key, state, spool and logs.
The daemons run in the foreground as children of this process (root is needed: slurmd starts
jobs as their user), and stop() ends exactly those processes by their ids.  Clients find the
cluster through SLURM_CONF (see Cluster.env()).

As a library:  with Cluster(directory) as c: subprocess.run(["sbatch", ...], env=c.env())
By hand:       sudo python3 tests/slurm/cluster.py DIR   # prints the SLURM_CONF line, runs until Ctrl-C
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

DAEMONS = ("munged", "slurmctld", "slurmd")


def missing():
    """Why this machine cannot run the cluster ('' when it can)."""
    absent = [d for d in DAEMONS + ("sbatch", "scontrol", "sinfo") if shutil.which(d) is None
              and not os.path.exists(os.path.join("/usr/sbin", d))]
    if absent:
        return "not installed: %s (Debian: apt-get install slurmctld slurmd slurm-client munge)" % " ".join(absent)
    if os.geteuid() != 0:
        return "slurmd must run as root to start jobs"
    return ""


def free_port():
    # The kernel picks a free port; the short window before slurm binds it is harmless on a test machine.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def daemon(name):
    return shutil.which(name) or os.path.join("/usr/sbin", name)


class Cluster:
    def __init__(self, directory):
        self.dir = os.path.abspath(directory)
        self.node = socket.gethostname().split(".")[0]
        # The tests' jobs have 3 ranks (rank 0 mostly waits, 2 fit) on a 2-core machine: declare at
        # least 4 CPUs (config_overrides makes slurmd trust slurm.conf over the hardware).
        self.cpus = max(4, os.cpu_count() or 1)
        self.procs = {}
        self.conf = os.path.join(self.dir, "slurm.conf")
        self.munge_socket = os.path.join(self.dir, "munge", "munge.socket")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def env(self, base=None):
        e = dict(os.environ if base is None else base)
        e["SLURM_CONF"] = self.conf
        return e

    def write_config(self):
        for d in ("munge", "state", "spool", "log", "tmp"):
            os.makedirs(self.path(d), exist_ok=True)
        key = self.path("munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        conf = {
            "ClusterName": "moetest",
            "SlurmctldHost": "%s(127.0.0.1)" % self.node,
            "SlurmctldPort": free_port(),
            "SlurmdPort": free_port(),
            "SlurmUser": "root",
            "SlurmdUser": "root",
            "AuthType": "auth/munge",
            "CredType": "cred/munge",
            # cred_expire is also how long a requeued job waits before it may start again (120 s by default).
            "AuthInfo": "socket=%s,cred_expire=10" % self.munge_socket,
            "StateSaveLocation": self.path("state"),
            "SlurmdSpoolDir": self.path("spool"),
            "TmpFS": self.path("tmp"),
            "SlurmctldPidFile": self.path("slurmctld.pid"),
            "SlurmdPidFile": self.path("slurmd.pid"),
            "SlurmctldLogFile": self.path("log", "slurmctld.log"),
            "SlurmdLogFile": self.path("log", "slurmd.log"),
            # No systemd, no cgroups in a container: track job processes through /proc, bind nothing.
            "ProctrackType": "proctrack/linuxproc",
            "TaskPlugin": "task/none",
            "SelectType": "select/cons_tres",
            "SelectTypeParameters": "CR_CPU",
            "SlurmdParameters": "config_overrides",
            "JobRequeue": 1,
            "ReturnToService": 2,  # a node that was down comes back by itself
            # Quick turnaround for tests: schedule pending (e.g. requeued) jobs every few seconds
            # instead of every minute, kill soon after a job's SIGTERM, and keep finished jobs
            # visible to scontrol for 10 minutes.
            "SchedulerParameters": "sched_interval=2,bf_interval=2",
            "KillWait": 5,
            "MinJobAge": 600,
        }
        lines = ["%s=%s" % kv for kv in conf.items()]
        lines.append("NodeName=%s NodeAddr=127.0.0.1 CPUs=%d State=UNKNOWN" % (self.node, self.cpus))
        lines.append("PartitionName=debug Nodes=%s Default=YES MaxTime=INFINITE State=UP" % self.node)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        # slurmd initialises its cgroup plugin whatever ProctrackType says, and the default
        # (autodetect) fails on hosts without a cgroup mount or with a v1/v2 mix; the v1 plugin
        # starts without either (it is not used: processes are tracked through /proc).
        with open(os.path.join(os.path.dirname(self.conf), "cgroup.conf"), "w") as f:
            f.write("CgroupPlugin=cgroup/v1\n")

    def spawn(self, name, argv):
        log = open(self.path("log", name + ".out"), "ab")
        # Own session: a Ctrl-C meant for the test runner does not reach the daemons directly.
        self.procs[name] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            env=self.env(), start_new_session=True)
        log.close()

    def start(self, timeout=60):
        self.write_config()
        m = self.path("munge")
        self.spawn("munged", [daemon("munged"), "--foreground", "--force", "--socket=" + self.munge_socket,
                              "--key-file=" + os.path.join(m, "munge.key"), "--pid-file=" + os.path.join(m, "munged.pid"),
                              "--seed-file=" + os.path.join(m, "munged.seed"), "--log-file=" + os.path.join(m, "munged.log")])
        self.wait_for(lambda: os.path.exists(self.munge_socket), 10, "munged did not create its socket")
        # -i: start with empty state (a fresh directory has none anyway; this silences the warning).
        self.spawn("slurmctld", [daemon("slurmctld"), "-D", "-i", "-f", self.conf])
        self.spawn("slurmd", [daemon("slurmd"), "-D", "-f", self.conf, "-N", self.node])
        self.wait_for(self.idle, timeout, "the node did not become idle")
        return self

    def idle(self):
        p = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True, env=self.env(), timeout=20)
        return p.returncode == 0 and p.stdout.strip() == "idle"

    def wait_for(self, cond, timeout, what):
        t0 = time.time()
        while time.time() - t0 < timeout:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError("%s exited early (status %s)\n%s" % (dead[0], self.procs[dead[0]].returncode, self.logs()))
            if cond():
                return
            time.sleep(0.5)
        raise RuntimeError("%s within %d s\n%s" % (what, timeout, self.logs()))

    def logs(self, tail=40):
        out = []
        for name in ("munged.out", "slurmctld.out", "slurmd.out", "slurmctld.log", "slurmd.log"):
            p = self.path("log", name)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    out.append("== %s\n%s" % (name, "".join(f.readlines()[-tail:])))
        return "\n".join(out)

    def stop(self):
        # Cancel what is still queued or running so that no job outlives the cluster, then give
        # the jobs KillWait to go before the daemons go.
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            subprocess.run(["scancel", "--user=root"], env=self.env(), capture_output=True, timeout=20)
            t0 = time.time()
            while time.time() - t0 < 15:
                q = subprocess.run(["squeue", "-h"], capture_output=True, text=True, env=self.env(), timeout=20)
                if q.returncode != 0 or not q.stdout.strip():
                    break
                time.sleep(0.5)
        for name in reversed(DAEMONS):
            p = self.procs.pop(name, None)
            if p is None or p.poll() is not None:
                continue
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=15)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()


def interrupt(*_):
    """SIGTERM: the same orderly shutdown as Ctrl-C."""
    raise KeyboardInterrupt


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: cluster.py DIR   (starts a single-node SLURM in DIR; Ctrl-C stops it)")
    why = missing()
    if why:
        sys.exit("cluster.py: " + why)
    signal.signal(signal.SIGTERM, interrupt)
    with Cluster(sys.argv[1]) as c:
        print("export SLURM_CONF=%s" % c.conf, flush=True)
        try:
            while all(p.poll() is None for p in c.procs.values()):
                time.sleep(1)
            print("cluster.py: a daemon exited\n" + c.logs(), file=sys.stderr)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
