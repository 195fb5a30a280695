"""The two load generators: wrk through Envoy (HTTP/1.1, 32 connections) and the project's own
decision-aware loadgen straight at a Check port. Both pinned to the client CPU."""

import json
import os
import re
import subprocess

from . import procs as P

UNITS = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0}


def parse_duration_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not m:
        raise ValueError(f"wrk printed a latency I cannot read: {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(out):
    """requests/s, p50/p90/p99 (µs), requests, and non-2xx answers from `wrk --latency`."""
    res = {"non_2xx": 0, "socket_errors": 0}
    for line in out.splitlines():
        line = line.strip()
        m = re.match(r"(50|90|99)%\s+(\S+)$", line)
        if m:
            res[f"p{m.group(1)}_us"] = parse_duration_us(m.group(2))
        elif line.startswith("Requests/sec:"):
            res["rps"] = float(line.split()[1])
        elif re.match(r"\d+ requests in", line):
            res["requests"] = int(line.split()[0])
        elif line.startswith("Non-2xx or 3xx responses:"):
            res["non_2xx"] = int(line.split()[-1])
        elif line.startswith("Socket errors:"):
            res["socket_errors"] = sum(int(x) for x in re.findall(r"\d+", line))
    if "rps" not in res or "p50_us" not in res:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    return res


def wrk(port, seconds, path="/people/1", token=None, tokens_file=None, connections=32,
        script_dir=None):
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "5s"]
    env = dict(os.environ)
    if tokens_file:
        argv += ["-s", os.path.join(script_dir, "wrk-tokens.lua")]
        env["WRK_TOKENS"] = tokens_file
        env["WRK_PATH"] = path
    elif token:
        argv += ["-H", f"Authorization: Bearer {token}"]
    argv.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(P.pinned(P.CLIENT_CPU, argv), check=True, capture_output=True,
                         text=True, env=env, timeout=seconds + 60).stdout
    return parse_wrk(out)


def loadgen(binary, target, requests, seconds, tokens_file=None, expect="allow", concurrency=32,
            warmup=2000, path="/people/1"):
    argv = [binary, "--target", target, "--requests", str(requests),
            "--max-seconds", str(seconds), "--concurrency", str(concurrency),
            "--warmup", str(warmup), "--expect", expect, "--path", path]
    if tokens_file:
        argv += ["--tokens", tokens_file]
    out = subprocess.run(P.pinned(P.CLIENT_CPU, argv), check=True, capture_output=True,
                         text=True, timeout=seconds + 120).stdout
    res = json.loads(out)
    if res.get("errors") or res.get("unexpected"):
        raise RuntimeError(f"loadgen saw wrong answers at {target}: {res}")
    return res
