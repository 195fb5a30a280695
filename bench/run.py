#!/usr/bin/env python3
"""`make bench`: jitgate side by side with Envoy's own filters and a bare ext_authz server, on
loopback, in one bounded run; then direct Check load, scale curves, memory and revocation
propagation. Writes bench/results/<date>.{md,json} and bench/results/latest.{md,json}.

Method (bench/README.md and ../shared/BENCHMARKS.md): servers pinned to CPU0 (Envoy with one
worker, tokio with one worker, redis-server), the client on CPU1; every cell repeated and
interleaved (A B C .. A B C ..) so drift on a noisy machine cancels; medians with ranges; ratios
only between rows of the same run."""

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import load, procs, report  # noqa: E402
from harness.stack import Stack  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")

# key, label, Envoy listener, tokens, expected answer, processes whose CPU counts.
ENVOY_ROWS = [
    ("C0", "Envoy, no auth (direct response)", "C0", "repeat", "allow", ["envoy"]),
    ("C1", "Envoy jwt_authn (ES256) + rbac, no JWT cache", "C1", "repeat", "allow", ["envoy"]),
    ("C1C", "Envoy jwt_authn + rbac, JWT cache", "C1C", "repeat", "allow", ["envoy"]),
    ("C3", "Envoy + bare ext_authz (always allow)", "C3", "repeat", "allow", ["envoy", "bare"]),
    ("C3U", "Envoy + bare ext_authz over a Unix socket", "C3U", "repeat", "allow",
     ["envoy", "bare"]),
    ("C4", "Envoy + bare ext_authz + one Redis GET", "C4", "repeat", "allow",
     ["envoy", "bare_redis", "redis"]),
    ("J", "Envoy + jitgate: cache hit, repeated token", "J", "repeat", "allow",
     ["envoy", "jitgate", "redis"]),
    ("JU", "Envoy + jitgate over a Unix socket: cache hit, repeated token", "JU", "repeat",
     "allow", ["envoy", "jitgate", "redis"]),
    ("JF", "Envoy + jitgate: cache hit, fresh token", "JF", "fresh", "allow",
     ["envoy", "jitgate_fresh", "redis"]),
    ("JM", "Envoy + jitgate: grant cache miss (Redis)", "JM", "miss", "allow",
     ["envoy", "jitgate_miss", "redis"]),
    ("J401", "Envoy + jitgate: deny 401 (expired token)", "J", "expired", "deny",
     ["envoy", "jitgate", "redis"]),
    ("J403", "Envoy + jitgate: deny 403 (no grant)", "J", "nogrant", "deny",
     ["envoy", "jitgate", "redis"]),
]

# key, label, server (`name/unix`: over its Unix socket), tokens, loadgen --expect.
DIRECT_ROWS = [
    ("D3", "bare ext_authz (always allow)", "bare", "repeat", "allow"),
    ("D3U", "bare ext_authz over a Unix socket", "bare/unix", "repeat", "allow"),
    ("D4", "bare ext_authz + one Redis GET", "bare_redis", "repeat", "allow"),
    ("DJ", "jitgate: cache hit, repeated token", "jitgate", "repeat", "allow"),
    ("DJU", "jitgate over a Unix socket: cache hit, repeated token", "jitgate/unix", "repeat",
     "allow"),
    ("DJF", "jitgate: cache hit, fresh token", "jitgate_fresh", "fresh", "allow"),
    ("DJM", "jitgate: grant cache miss (Redis)", "jitgate_miss", "miss", "allow"),
    ("DJ403", "jitgate: deny 403 (no grant)", "jitgate", "nogrant", "forbidden"),
]

SCALE = [(1, "g1_"), (100, "g100_"), (10_000, "g10k_")]


def args_parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=4.0, help="measured seconds per cell")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each")
    p.add_argument("--reps", type=int, default=3, help="interleaved repetitions per cell")
    p.add_argument("--big-principals", type=int, default=100_000)
    p.add_argument("--big-per-principal", type=int, default=10)
    p.add_argument("--revocations", type=int, default=1000)
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: short cells, one repetition, small scale phases")
    p.add_argument("--only", default="envoy,direct,scale,big,revocation",
                   help="comma-separated phases to run")
    p.add_argument("--bin-dir", default=os.path.join(REPO, "target", "release"))
    p.add_argument("--envoy", default=os.environ.get("ENVOY_BIN") or shutil.which("envoy"))
    p.add_argument("--out", default=os.path.join(BENCH, "results"))
    return p


def machine(envoy_bin):
    def first_line(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "unknown"

    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(), "cpu": model, "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "envoy": first_line([envoy_bin, "--version"]).split("version:")[-1].strip(),
        "wrk": first_line(["wrk", "-v"]), "redis": first_line(["redis-server", "--version"]),
        "rustc": first_line(["rustc", "--version"]),
    }


def median_row(samples):
    """Median and range of each measured field over repetitions."""
    out = {"reps": len(samples)}
    for key in samples[0]:
        if isinstance(samples[0][key], dict):  # per-command figures: median of each
            names = set().union(*(s.get(key, {}) for s in samples))
            out[key] = {c: statistics.median(s.get(key, {}).get(c, 0) for s in samples)
                        for c in sorted(names)}
            continue
        vals = [s[key] for s in samples if isinstance(s.get(key), (int, float))]
        if vals:
            out[key] = statistics.median(vals)
            out[key + "_min"], out[key + "_max"] = min(vals), max(vals)
    return out


def measure(stack, processes, run):
    """Runs `run()` and adds CPU seconds per 10k requests of each process and Redis commands
    per request to its result."""
    redis_before = stack.redis_commands("redis")
    calls_before = stack.redis_command_calls("redis")
    before = {p: stack.procs.cpu_seconds(p) for p in processes}
    res = run()
    n = max(res["requests"], 1)
    for p in processes:
        res[f"cpu_{p}"] = (stack.procs.cpu_seconds(p) - before[p]) / n * 10_000
    res["redis_cmds_per_req"] = (stack.redis_commands("redis") - redis_before - 2) / n
    calls = stack.redis_command_calls("redis")
    per_req = {c: (k - calls_before.get(c, 0)) / n for c, k in calls.items()}
    res["redis_calls_per_req"] = {c: round(v, 3) for c, v in per_req.items() if v >= 0.01}
    stack.procs.check_alive()
    return res


def envoy_phase(stack, a, tokens, log):
    stats_before = stack.envoy_stats()
    samples = {row[0]: [] for row in ENVOY_ROWS}
    for rep in range(a.reps):
        for key, label, listener, tok, expect, processes in ENVOY_ROWS:
            port = stack.port(f"listener_{listener}")
            kw = {"tokens_file": tokens["fresh_file"], "script_dir": BENCH} if tok == "fresh" \
                else {"tokens_file": tokens["miss_file"], "script_dir": BENCH} if tok == "miss" \
                else {"token": tokens[tok]}
            load.wrk(port, max(1, round(a.warmup)), **kw)
            res = measure(stack, processes, lambda: load.wrk(port, a.seconds, **kw))
            want_non_2xx = 0 if expect == "allow" else res["requests"]
            if res["non_2xx"] != want_non_2xx or res["socket_errors"]:
                raise RuntimeError(f"{key}: expected {expect} for every request, got {res}")
            samples[key].append(res)
            log(f"  rep {rep + 1}/{a.reps} {key:5} {res['rps']:>9,.0f} req/s  "
                f"p50 {res['p50_us']:>6.0f} µs  p99 {res['p99_us']:>6.0f} µs")
    stats_after = stack.envoy_stats()
    ext = {k: stats_after.get(k, 0) - stats_before.get(k, 0) for k in stats_after
           if k.endswith(("ext_authz.ok", "ext_authz.denied", "ext_authz.error",
                          "ext_authz.failure_mode_allowed"))}
    return {k: median_row(v) for k, v in samples.items()}, ext


def direct_phase(stack, a, tokens, log, rows=DIRECT_ROWS, tag=""):
    samples = {row[0]: [] for row in rows}
    requests = 2_000 if a.quick else 1_000_000
    for rep in range(a.reps):
        for key, label, server, tok, expect in rows:
            target, process = stack.target(server)
            tokens_file = tokens[f"{tok}_file"]
            processes = [process] + (["redis"] if process != "bare" else [])
            res = measure(stack, processes, lambda: load.loadgen(
                stack.bins["loadgen"], target, requests, a.seconds, tokens_file, expect,
                warmup=200 if a.quick else 5_000))
            samples[key].append(res)
            log(f"  rep {rep + 1}/{a.reps} {tag}{key:6} {res['rps']:>9,.0f} checks/s  "
                f"p50 {res['p50_us']:>6.0f} µs  {process} {res['cpu_' + process]:.3f} CPU s/10k")
    return {k: median_row(v) for k, v in samples.items()}


def scale_phase(stack, a, tokens, log):
    for count, prefix in SCALE:
        n = min(count, 200) if a.quick else count
        stack.tool("seed", "--redis-url", f"redis://127.0.0.1:{stack.port('redis')}",
                   "--principals", "1", "--per-principal", str(n),
                   "--subject-prefix", f"user:{prefix}")
        path = os.path.join(stack.workdir, f"tokens-{prefix}.txt")
        stack.tool("tokens", "--count", "1", "--prefix", prefix, "--out", path)
        tokens[f"{prefix}_file"] = path
    rows = [(f"S{count}", f"{count} grants", "jitgate", prefix, "allow") for count, prefix in SCALE]
    return direct_phase(stack, a, tokens, log, rows, tag="scale ")


def big_phase(stack, a, log):
    """1M grants across 100k principals in a Redis of their own: memory per grant, Check cost
    against it, and jitgate's memory with every principal cached."""
    principals = 2_000 if a.quick else a.big_principals
    per = 2 if a.quick else a.big_per_principal
    port = stack.redis("redis_big")
    before = int(stack.redis_info("redis_big", "memory")["used_memory"])
    log(f"  seeding {principals * per:,} grants across {principals:,} principals")
    seeded = stack.tool("seed", "--redis-url", f"redis://127.0.0.1:{port}",
                        "--principals", str(principals), "--per-principal", str(per),
                        "--subject-prefix", "user:b")
    after = int(stack.redis_info("redis_big", "memory")["used_memory"])
    grants = principals * per
    composition = report.key_composition(stack, "redis_big", principals, per)
    tokens = os.path.join(stack.workdir, "tokens-big.txt")
    stack.tool("tokens", "--count", str(principals), "--prefix", "b", "--out", tokens)
    grpc, _ = stack.jitgate("jitgate_big", port, principals=max(principals, 100_000),
                            token_cache=max(principals, 100_000))
    rss_idle = stack.procs.rss_kib("jitgate_big")
    cold = load.loadgen(stack.bins["loadgen"], f"127.0.0.1:{grpc}", principals, 300, tokens, "allow",
                        warmup=0)
    warm = load.loadgen(stack.bins["loadgen"], f"127.0.0.1:{grpc}", principals, 300, tokens, "allow",
                        warmup=0)
    cached = stack.metric("jitgate_big", "jitgate_cache_lookups_total{result=\"hit\"}")
    rss = stack.procs.rss_kib("jitgate_big")
    stack.procs.stop("jitgate_big")
    stack.procs.stop("redis_big")
    log(f"  Redis {(after - before) / grants:,.0f} B/grant; jitgate RSS {rss / 1024:,.0f} MiB "
        f"with {principals:,} principals cached")
    return {
        "principals": principals, "grants": grants, "seed": seeded,
        "redis_bytes_per_grant": (after - before) / grants, "composition": composition,
        "first_pass_grant_miss": cold, "second_pass_cached": warm, "cache_hits": cached,
        "jitgate_rss_idle_mib": rss_idle / 1024, "jitgate_rss_mib": rss / 1024,
    }


def revocation_phase(stack, a, tokens, log):
    count = 50 if a.quick else a.revocations
    out = {}
    _, api = stack.jitgate("jitgate_rv_a", stack.port("redis"))
    for label, pubsub in (("pubsub", True), ("pubsub_cut", False)):
        grpc_b, _ = stack.jitgate("jitgate_rv_b", stack.port("redis"), pubsub=pubsub)
        res = stack.tool("revocations", "--api", f"http://127.0.0.1:{api}",
                         "--grpc", f"127.0.0.1:{grpc_b}", "--admin-token", tokens["admin"],
                         "--count", str(count), "--prefix", f"rv-{label}-")
        stack.procs.stop("jitgate_rv_b")
        del stack.ports["jitgate_rv_b"], stack.ports["jitgate_rv_b_http"]
        out[label] = res
        log(f"  {label:10} p50 {res['p50_us'] / 1000:.1f} ms  p99 {res['p99_us'] / 1000:.1f} ms"
            f"  max {res['max_us'] / 1000:.1f} ms  over {res['revocations']} revokes"
            f" ({res['failures']} failed)")
    stack.procs.stop("jitgate_rv_a")
    return out


def make_tokens(stack, quick):
    d = stack.workdir
    t = {}

    def mint(name, *args):
        path = os.path.join(d, f"tokens-{name}.txt")
        stack.tool("tokens", "--out", path, *args)
        return path

    t["repeat_file"] = mint("repeat", "--count", "1", "--prefix", "u")
    t["fresh_file"] = mint("fresh", "--count", "2000" if quick else "30000", "--prefix", "u0",
                           "--same-subject")
    t["miss_file"] = mint("miss", "--count", "1000", "--prefix", "u")
    t["expired_file"] = mint("expired", "--count", "1", "--prefix", "u", "--ttl-secs", "-3600")
    t["nogrant_file"] = mint("nogrant", "--count", "1", "--prefix", "nobody")
    t["admin_file"] = mint("admin", "--count", "1", "--prefix", "bench-admin", "--same-subject")
    for k in ("repeat", "expired", "nogrant", "admin"):
        with open(t[f"{k}_file"]) as f:
            t[k] = f.readline().strip()
    return t


def main():
    a = args_parser().parse_args()
    if a.quick:
        a.seconds, a.warmup, a.reps = 1.0, 0.5, 1
    phases = set(a.only.split(","))
    bins = procs.require(a.bin_dir, ("jitgate", "bench-authz", "loadgen", "bench-tool"), a.envoy,
                         "bench")

    started = time.monotonic()
    info = machine(a.envoy)
    results = {"machine": info, "settings": vars(a)}

    def log(msg):
        print(f"[{time.monotonic() - started:6.0f}s] {msg}", flush=True)

    workdir = tempfile.mkdtemp(prefix="jitgate-bench-")
    stack = Stack(REPO, bins, workdir, a.envoy)
    try:
        log(f"stack in {workdir}")
        redis_port = stack.redis("redis")
        tokens = make_tokens(stack, a.quick)
        stack.tool("seed", "--redis-url", f"redis://127.0.0.1:{redis_port}",
                   "--principals", "1000", "--subject-prefix", "user:u")
        stack.bare("bare", unix=True)
        stack.bare("bare_redis", redis_port)
        stack.jitgate("jitgate", redis_port, unix=True)
        stack.jitgate("jitgate_fresh", redis_port, token_cache=1000)
        stack.jitgate("jitgate_miss", redis_port, principals=1)
        if "envoy" in phases:
            stack.envoy()
            log("Envoy table (wrk -t1 -c32)")
            results["envoy"], results["envoy_ext_authz"] = envoy_phase(stack, a, tokens, log)
        if "direct" in phases:
            log("Direct Check (loadgen, 32 in flight, one HTTP/2 connection)")
            results["direct"] = direct_phase(stack, a, tokens, log)
        if "scale" in phases:
            log("Grants per principal")
            results["scale"] = scale_phase(stack, a, tokens, log)
        results["jitgate_rss_mib"] = stack.procs.rss_kib("jitgate") / 1024
        if "revocation" in phases:
            log("Revocation propagation across two replicas")
            results["revocation"] = revocation_phase(stack, a, tokens, log)
        if "big" in phases:
            log("1M grants in Redis")
            results["big"] = big_phase(stack, a, log)
    finally:
        stack.procs.stop_all()
    results["seconds"] = time.monotonic() - started
    md = report.markdown(results)
    stem = "quick" if a.quick else datetime.date.today().isoformat()
    report.write(a.out, [stem, "latest"] if not a.quick else [stem], results, md)
    shutil.rmtree(workdir, ignore_errors=True)
    print(md)
    log(f"results in {a.out}/{stem}.md and .json")


if __name__ == "__main__":
    main()
