#!/usr/bin/env python3
"""`make soak`: a bounded soak through Envoy and a token flood, on loopback (SECURITY.md promise 7,
row 42). Writes bench/results/soak-<date>.{md,json} (or --out).

Soak: redis-server, jitgate and Envoy (bench/envoy.yaml, listener J) pinned to CPU0 as in
`make bench`; wrk on CPU1. First the maximum rate (wrk -c32, a few seconds), then a paced load at
`--share` of it (wrk-paced.lua: each connection waits a fixed delay after each answer; wrk2 is not
packaged) in back-to-back windows of `--window` seconds, each giving requests, errors (non-2xx or
socket errors: every request carries a token with a grant, so anything but 200 is wrong), p50/p99
and jitgate's RSS. Pass: 0 errors, Envoy's ext_authz `error`/`failure_mode_allowed` 0, the p99 of
the median window p99 of the last third of the windows within `--p99-factor` of that of the
first third (after the warm-up window), and RSS drift < 5% from the end
of the first steady window (the first window is warm-up) to the end.

Token flood: `loadgen --flood N` straight at jitgate's gRPC port (32 in flight): N distinct
valid-looking tokens (bench/src/flood.rs: random signatures under the real `kid`, unknown `kid`s,
and validly signed tokens for subjects without grants), every answer must be a deny. The issuer's
keys come from a JWKS HTTP server this script runs, so every refetch is a real request, counted.
Legitimate traffic runs alongside through Envoy at a fixed paced rate, in 5 s windows that
alternate between the flood running and the flood paused (SIGSTOP to loadgen, 0.5 s to drain),
so its baseline is measured side by side, in the same minutes, rather than once before. Pass: no
flood token allowed, jitgate's RSS below its cap (RSS before the flood + what the configured
token and grant caches may hold + slack), JWKS fetches at most one per 30 s (plus one),
legitimate traffic error-free, and its median and worst window p99 with the flood running each
within `--flood-p99-factor` of the same with it paused. loadgen's own latency figures include
the pauses."""

import argparse
import datetime
import http.server
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import load  # noqa: E402
from harness import procs as P  # noqa: E402
from harness import report  # noqa: E402
from harness.stack import Stack  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")
# Per-entry memory allowed for the token cache and the grant cache when computing the flood's
# RSS cap (generous: an entry is a 32-byte key, a subject, groups and bookkeeping).
ENTRY_BUDGET_KIB = 2
CAP_SLACK_MIB = 32


def args_parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=600, help="soak length")
    p.add_argument("--window", type=float, default=10, help="seconds per sample window")
    p.add_argument("--share", type=float, default=0.7, help="soak rate as a share of the maximum")
    p.add_argument("--delay-ms", type=int, default=10, help="pause after each answer (paced wrk)")
    p.add_argument("--p99-factor", type=float, default=2.0,
                   help="last windows' p99 may be at most this × the first steady windows'")
    p.add_argument("--flood", type=int, default=1_000_000, help="flood tokens (0: no flood)")
    p.add_argument("--flood-max-seconds", type=float, default=600,
                   help="bound on the flood's running time (it is paused about as long again)")
    p.add_argument("--flood-concurrency", type=int, default=32,
                   help="flood Checks in flight (512, above jitgate's identity.verify_queue of "
                        "256, makes jitgate shed)")
    p.add_argument("--legit-connections", type=int, default=10,
                   help="paced connections of legitimate traffic during the flood")
    p.add_argument("--flood-p99-factor", type=float, default=2.0)
    p.add_argument("--control", type=float, default=0, metavar="SECONDS",
                   help="the flood phase's alternating windows for SECONDS with no flood: the "
                   "machine's own noise")
    p.add_argument("--token-cache", type=int, default=5_000, help="identity.token_cache_size")
    p.add_argument("--principals", type=int, default=5_000, help="cache.max_principals")
    p.add_argument("--only", default="soak,flood", help="comma-separated phases")
    p.add_argument("--bin-dir", default=os.path.join(REPO, "target", "release"))
    p.add_argument("--envoy", default=os.environ.get("ENVOY_BIN") or shutil.which("envoy"))
    p.add_argument("--out", default=os.path.join(BENCH, "results"))
    p.add_argument("--stem", default=None, help="result file name (default soak-<date>)")
    p.add_argument("--latency-advisory", action="store_true",
                   help="report the two latency criteria but do not fail on them (make test: "
                        "debug binaries on shared machines)")
    return p


class Jwks:
    """A JWKS HTTP server on loopback serving the fixture keys, recording when it was fetched."""

    def __init__(self):
        with open(os.path.join(REPO, "tests/fixtures/keys/jwks.json"), "rb") as f:
            body = f.read()
        fetches = self.fetches = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the stdlib's name)
                fetches.append(time.monotonic())
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def paced(port, seconds, token, connections, delay_ms):
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
            "--timeout", "5s", "-s", os.path.join(BENCH, "wrk-paced.lua"),
            f"http://127.0.0.1:{port}/people/1"]
    env = dict(os.environ, WRK_TOKEN=token, WRK_DELAY_MS=str(delay_ms), WRK_PATH="/people/1")
    out = subprocess.run(P.pinned(P.CLIENT_CPU, argv), check=True, capture_output=True,
                         text=True, env=env, timeout=seconds + 60).stdout
    res = load.parse_wrk(out)
    res["errors"] = res["non_2xx"] + res["socket_errors"]
    return res


def ext_authz_delta(before, after):
    keys = ("ext_authz.ok", "ext_authz.denied", "ext_authz.error", "ext_authz.failure_mode_allowed")
    out = {}
    for k, v in after.items():
        if not k.endswith(keys):
            continue
        short = k.rsplit(".", 1)[1]
        out[short] = out.get(short, 0) + v - before.get(k, 0)
    return out


def soak_phase(stack, a, token, log):
    port = stack.port("listener_J")
    load.wrk(port, 2, token=token)
    peak = load.wrk(port, 5, token=token)
    target = a.share * peak["rps"]
    conns = first = max(1, round(target * a.delay_ms / 1000))
    for _ in range(2):  # calibrate the connection count to the target rate
        got = paced(port, 3, token, conns, a.delay_ms)["rps"]
        # At most 1.5× the first estimate: when the target is out of reach (a busy machine),
        # more connections only queue, and the load would become a saturation run.
        conns = max(1, min(round(first * 1.5), round(conns * target / max(got, 1))))
    log(f"  maximum {peak['rps']:,.0f} req/s (p99 {peak['p99_us']:.0f} µs); target "
        f"{target:,.0f} req/s with {conns} connections × {a.delay_ms} ms pause")
    stats_before = stack.envoy_stats()
    windows = []
    n = max(2, math.ceil(a.seconds / a.window))
    for i in range(n):
        cpu0 = stack.procs.cpu_seconds("jitgate")
        w = paced(port, a.window, token, conns, a.delay_ms)
        w["jitgate_cpu_s"] = stack.procs.cpu_seconds("jitgate") - cpu0
        w["rss_kib"] = stack.procs.rss_kib("jitgate")
        w["envoy_rss_kib"] = stack.procs.rss_kib("envoy")
        w["redis_used_memory"] = int(stack.redis_info("redis", "memory")["used_memory"])
        stack.procs.check_alive()
        windows.append(w)
        log(f"  window {i + 1:3}/{n} {w['rps']:>8,.0f} req/s  p50 {w['p50_us']:>6.0f} µs  "
            f"p99 {w['p99_us']:>6.0f} µs  errors {w['errors']}  RSS {w['rss_kib'] / 1024:.1f} MiB")
    ext = ext_authz_delta(stats_before, stack.envoy_stats())
    steady = windows[1:]
    k = max(1, math.ceil(len(steady) / 3))  # thirds: one noisy window cannot decide
    first_p99 = statistics.median(w["p99_us"] for w in steady[:k])
    last_p99 = statistics.median(w["p99_us"] for w in steady[-k:])
    rss_first, rss_end = steady[0]["rss_kib"], steady[-1]["rss_kib"]
    # RSS moves ±10% from window to window with the connections and streams in flight, so the
    # drift that decides is between the medians of the first and last thirds.
    rss_first_med = statistics.median(w["rss_kib"] for w in steady[:k])
    rss_last_med = statistics.median(w["rss_kib"] for w in steady[-k:])
    res = {
        "max_rps": peak["rps"], "max_p99_us": peak["p99_us"], "target_rps": target,
        "connections": conns, "delay_ms": a.delay_ms, "windows": windows,
        "requests": sum(w["requests"] for w in windows),
        "errors": sum(w["errors"] for w in windows), "envoy_ext_authz": ext,
        "mean_rps": statistics.mean(w["rps"] for w in steady),
        "p99_first_us": first_p99, "p99_last_us": last_p99, "p99_ratio": last_p99 / first_p99,
        "p99_windows_compared": k, "rss_first_kib": rss_first, "rss_end_kib": rss_end,
        "rss_drift": (rss_end - rss_first) / rss_first,
        "rss_first_third_kib": rss_first_med, "rss_last_third_kib": rss_last_med,
        "rss_drift_thirds": (rss_last_med - rss_first_med) / rss_first_med,
        "rss_min_kib": min(w["rss_kib"] for w in steady),
        "rss_max_kib": max(w["rss_kib"] for w in steady),
    }
    res["checks"] = {
        "0 errors": res["errors"] == 0,
        "ext_authz error and failure_mode_allowed 0":
            ext.get("error", 0) == 0 and ext.get("failure_mode_allowed", 0) == 0,
        f"p99 last/first ≤ {a.p99_factor}": res["p99_ratio"] <= a.p99_factor,
        "RSS drift < 5%": res["rss_drift_thirds"] < 0.05,
    }
    return res


class RssSampler:
    """jitgate's RSS every half second while the flood runs."""

    def __init__(self, stack):
        self.samples, self.stop = [], threading.Event()

        def run():
            while not self.stop.wait(0.5):
                try:
                    self.samples.append((time.monotonic(), stack.procs.rss_kib("jitgate")))
                except OSError:
                    return

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def finish(self):
        self.stop.set()
        self.thread.join()
        return self.samples


# After pausing the flood, how long its last Checks get to drain before a quiet window.
QUIET_SETTLE_S = 0.5

# jitgate's count of Checks shed because too many new tokens waited for a signature check.
SHED_SERIES = 'jitgate_decisions_total{decision="deny",reason="overloaded"}'


def flood_phase(stack, a, token, jwks, log):
    port = stack.port("listener_J")
    conns, delay = a.legit_connections, a.delay_ms
    paced(port, 2, token, conns, delay)
    baseline = paced(port, 10, token, conns, delay)
    log(f"  legitimate traffic alone: {baseline['rps']:,.0f} req/s, p50 "
        f"{baseline['p50_us']:.0f} µs, p99 {baseline['p99_us']:.0f} µs")
    rss_before = stack.procs.rss_kib("jitgate")
    redis_before = int(stack.redis_info("redis", "memory")["used_memory"])
    fetches_before = len(jwks.fetches)
    shed_before = stack.metric("jitgate", SHED_SERIES)
    # loadgen's clock runs while it is stopped, and it is stopped about half the time.
    wall_limit = 2 * a.flood_max_seconds + 30
    argv = [stack.bins["loadgen"], "--target", f"127.0.0.1:{stack.port('jitgate')}",
            "--flood", str(a.flood), "--requests", str(a.flood), "--warmup", "0",
            "--concurrency", str(a.flood_concurrency), "--max-seconds", str(wall_limit),
            "--expect", "deny"]
    if a.control:
        # The same windows with nothing in loadgen's place: how much the machine alone moves.
        argv = ["sleep", f"{a.control:g}"]
    sampler = RssSampler(stack)
    started = time.monotonic()
    flood = subprocess.Popen(P.pinned(P.CLIENT_CPU, argv), stdout=subprocess.PIPE, text=True)
    windows, quiet, paused_s = [], [], 0.0
    try:
        while flood.poll() is None and time.monotonic() - started < wall_limit + 30:
            w = paced(port, 5, token, conns, delay)
            w["at_s"] = time.monotonic() - started
            windows.append(w)
            log(f"  flood {w['at_s']:5.0f}s legitimate {w['rps']:>6,.0f} req/s  p99 "
                f"{w['p99_us']:>6.0f} µs  errors {w['errors']}  jitgate RSS "
                f"{stack.procs.rss_kib('jitgate') / 1024:.1f} MiB  JWKS fetches "
                f"{len(jwks.fetches) - fetches_before}")
            if flood.poll() is not None:
                break
            # The same load with the flood paused: the side-by-side baseline.
            pause = time.monotonic()
            flood.send_signal(signal.SIGSTOP)
            try:
                time.sleep(QUIET_SETTLE_S)
                q = paced(port, 5, token, conns, delay)
            finally:
                flood.send_signal(signal.SIGCONT)
            paused_s += time.monotonic() - pause
            quiet.append(q)
            log(f"  quiet {time.monotonic() - started:5.0f}s legitimate {q['rps']:>6,.0f} req/s"
                f"  p99 {q['p99_us']:>6.0f} µs  errors {q['errors']}")
        out, _ = flood.communicate(timeout=wall_limit + 120)
    finally:
        if flood.poll() is None:
            flood.kill()
            flood.wait()
    ended = time.monotonic()
    samples = sampler.finish()
    stack.procs.check_alive()
    lg = {} if a.control else json.loads(out)
    fetch_times = [t for t in jwks.fetches[fetches_before:] if started <= t <= ended]
    gaps = [b - a_ for a_, b in zip(fetch_times, fetch_times[1:])]
    duration = ended - started
    cap_kib = rss_before + (a.token_cache + a.principals) * ENTRY_BUDGET_KIB + CAP_SLACK_MIB * 1024
    rss_max = max(kib for _, kib in samples) if samples else stack.procs.rss_kib("jitgate")
    half = [kib for t, kib in samples if t >= started + duration / 2]
    worst = max(w["p99_us"] for w in windows) if windows else baseline["p99_us"]
    median = statistics.median(w["p99_us"] for w in windows) if windows else 0
    # Without interleaved windows (a flood shorter than one window), the baseline stands in.
    quiet_worst = max((q["p99_us"] for q in quiet), default=baseline["p99_us"])
    quiet_median = statistics.median(q["p99_us"] for q in quiet) if quiet else baseline["p99_us"]
    factor = a.flood_p99_factor
    res = {
        "control": bool(a.control),
        "tokens": a.flood, "concurrency": a.flood_concurrency, "loadgen": lg, "seconds": duration,
        "paused_s": paused_s, "active_s": duration - paused_s,
        "shed": int(stack.metric("jitgate", SHED_SERIES) - shed_before),
        "token_cache_size": a.token_cache, "max_principals": a.principals,
        "baseline": baseline, "windows": windows, "quiet_windows": quiet,
        "legit_errors": sum(w["errors"] for w in windows + quiet),
        "legit_p99_worst_us": worst, "legit_p99_median_us": median,
        "quiet_p99_worst_us": quiet_worst, "quiet_p99_median_us": quiet_median,
        "rss_before_kib": rss_before, "rss_max_kib": rss_max, "rss_cap_kib": cap_kib,
        "rss_end_kib": stack.procs.rss_kib("jitgate"),
        "rss_second_half_growth": (half[-1] - half[0]) / half[0] if len(half) > 1 else 0.0,
        "redis_used_memory_growth": int(stack.redis_info("redis", "memory")["used_memory"])
        - redis_before,
        "jwks_fetches": len(fetch_times), "jwks_min_gap_s": min(gaps) if gaps else None,
        "jwks_fetches_allowed": math.floor(duration / 30) + 1,
    }
    res["checks"] = {
        "no flood token allowed": lg.get("unexpected", 1) == 0 and lg.get("errors", 1) == 0
        and "200" not in lg.get("statuses", {}),
        "every flood token sent": lg.get("requests", 0) == a.flood,
        "RSS under cap": rss_max <= cap_kib,
        "JWKS fetches ≤ 1 per 30 s": res["jwks_fetches"] <= res["jwks_fetches_allowed"],
        "legitimate traffic 0 errors": res["legit_errors"] == 0,
        f"legitimate p99 ≤ {factor} × without the flood (median window)":
            median <= factor * quiet_median,
        f"legitimate p99 ≤ {factor} × without the flood (worst window)":
            worst <= factor * quiet_worst,
    }
    if a.control:
        res["checks"] = {k: v for k, v in res["checks"].items() if k.startswith("legitimate")}
    return res


def markdown(r, a):
    us = lambda v: f"{v / 1000:.2f} ms" if v >= 1000 else f"{v:.0f} µs"  # noqa: E731
    mark = lambda ok: "pass" if ok else "**FAIL**"  # noqa: E731
    m = r["machine"]
    lines = [f"# jitgate soak and token flood — {m['date']}", "",
             f"Machine: {m['nproc']} vCPU {m['cpu']}; load average at start {m['loadavg']}. "
             f"Command: `{r['command']}`.", ""]
    s = r.get("soak")
    if s:
        lines += [
            f"## Soak through Envoy: {a.seconds:.0f} s at {a.share:.0%} of the maximum", "",
            f"Maximum (wrk -c32, 5 s): {s['max_rps']:,.0f} req/s. Paced load: {s['connections']} "
            f"connections, {s['delay_ms']} ms pause after each answer; target "
            f"{s['target_rps']:,.0f} req/s, held {s['mean_rps']:,.0f} req/s on average over "
            f"{len(s['windows'])} windows of {a.window:.0f} s ({s['requests']:,} requests).", "",
            "| window | req/s | p50 | p99 | errors | jitgate RSS | jitgate CPU s |",
            "|---|---|---|---|---|---|---|"]
        for i, w in enumerate(s["windows"]):
            lines.append(f"| {i + 1}{' (warm-up)' if i == 0 else ''} | {w['rps']:,.0f} | "
                         f"{us(w['p50_us'])} | {us(w['p99_us'])} | {w['errors']} | "
                         f"{w['rss_kib'] / 1024:.1f} MiB | {w['jitgate_cpu_s']:.1f} |")
        ext = ", ".join(f"`{k}` {v:,}" for k, v in sorted(s["envoy_ext_authz"].items()))
        lines += [
            "", f"- errors: {s['errors']} ({mark(s['checks']['0 errors'])}); Envoy ext_authz: "
            f"{ext}",
            f"- median window p99: first {s['p99_windows_compared']} steady windows "
            f"{us(s['p99_first_us'])}, last {s['p99_windows_compared']} {us(s['p99_last_us'])}: ×{s['p99_ratio']:.2f} (limit ×{a.p99_factor}; "
            f"{mark(s['checks'][f'p99 last/first ≤ {a.p99_factor}'])})",
            f"- jitgate RSS: median {s['rss_first_third_kib'] / 1024:.1f} MiB over the first "
            f"third of the steady windows, {s['rss_last_third_kib'] / 1024:.1f} MiB over the "
            f"last: drift {s['rss_drift_thirds']:+.2%} "
            f"({mark(s['checks']['RSS drift < 5%'])}); first steady window "
            f"{s['rss_first_kib'] / 1024:.1f} MiB, last {s['rss_end_kib'] / 1024:.1f} MiB "
            f"({s['rss_drift']:+.2%}); range {s['rss_min_kib'] / 1024:.1f}–"
            f"{s['rss_max_kib'] / 1024:.1f} MiB", ""]
    f = r.get("flood")
    if f:
        median_check = f"legitimate p99 ≤ {a.flood_p99_factor} × without the flood (median window)"
        worst_check = f"legitimate p99 ≤ {a.flood_p99_factor} × without the flood (worst window)"
        b = f["baseline"]
        legit = (  # results written before the paused windows: against the pre-flood window
            f"- legitimate traffic through Envoy ({b['rps']:,.0f} req/s paced): baseline p99 "
            f"{us(b['p99_us'])}; during the flood worst 5 s window {us(f['legit_p99_worst_us'])}, "
            f"median {us(f['legit_p99_median_us'])} (limit ×{a.flood_p99_factor}: "
            f"{mark(f['checks'][f'legitimate p99 ≤ {a.flood_p99_factor} × baseline'])}); errors "
            f"{f['legit_errors']}") if "quiet_windows" not in f else (
            f"- legitimate traffic through Envoy ({b['rps']:,.0f} req/s paced; p99 "
            f"{us(b['p99_us'])} before the flood), in 5 s windows alternating with the flood "
            f"running ({len(f['windows'])}) and paused ({len(f.get('quiet_windows', []))}): "
            f"median window p99 {us(f['legit_p99_median_us'])} running, "
            f"{us(f['quiet_p99_median_us'])} paused "
            f"(×{f['legit_p99_median_us'] / f['quiet_p99_median_us']:.2f}; limit "
            f"×{a.flood_p99_factor}: {mark(f['checks'][median_check])}); worst window "
            f"{us(f['legit_p99_worst_us'])} running, {us(f['quiet_p99_worst_us'])} paused "
            f"(×{f['legit_p99_worst_us'] / f['quiet_p99_worst_us']:.2f}: "
            f"{mark(f['checks'][worst_check])}); errors {f['legit_errors']}")
        if f.get("control"):
            lines += [f"## Control: the flood's windows for {f['seconds']:.0f} s, no flood", "",
                      "loadgen replaced by an idle process; \"running\" and \"paused\" differ "
                      "only in time.", "", legit, ""]
        else:
            lg = f["loadgen"]
            st = ", ".join(f"{k}: {v:,}" for k, v in lg.get("statuses", {}).items())
            gap = "—" if f["jwks_min_gap_s"] is None else f"{f['jwks_min_gap_s']:.1f} s"
            lines += [
                f"## Token flood: {f['tokens']:,} unique valid-looking tokens", "",
                f"Straight at jitgate's gRPC port (loadgen, {f.get('concurrency', 32)} in flight) in "
                f"{f['seconds']:.0f} s, {f.get('active_s', f['seconds']):.0f} s of them running "
                f"({f['tokens'] / f.get('active_s', f['seconds']):,.0f} checks/s while running); "
                f"answers by HTTP status: {st}; "
                f"shed by jitgate (503 `overloaded`): {f.get('shed', 0):,}. "
                f"Token cache {f['token_cache_size']:,}, grant cache {f['max_principals']:,} "
                "principals; the issuer's JWKS served over HTTP by the script.", "",
                f"- no flood token allowed, none failed: {mark(f['checks']['no flood token allowed'])}",
                f"- jitgate RSS: {f['rss_before_kib'] / 1024:.1f} MiB before, max "
                f"{f['rss_max_kib'] / 1024:.1f} MiB during, {f['rss_end_kib'] / 1024:.1f} MiB after; "
                f"cap {f['rss_cap_kib'] / 1024:.0f} MiB ({mark(f['checks']['RSS under cap'])}); "
                f"growth over the flood's second half {f['rss_second_half_growth']:+.1%}",
                f"- JWKS fetches during the flood: {f['jwks_fetches']} (allowed "
                f"{f['jwks_fetches_allowed']}; shortest gap "
                f"{gap}; "
                f"{mark(f['checks']['JWKS fetches ≤ 1 per 30 s'])})",
                legit,
                f"- Redis memory growth during the flood: "
                f"{f['redis_used_memory_growth'] / 2**20:+.1f} MiB", ""]
    missed = [f"{phase}: {k}" for phase in ("soak", "flood") if phase in r
              for k, ok in r[phase]["checks"].items() if not ok]
    advisory = [m for m in missed if getattr(a, "latency_advisory", False) and "p99" in m]
    failed = [m for m in missed if m not in advisory]
    lines += [f"Result: {'PASS' if not failed else 'FAIL (' + '; '.join(failed) + ')'}"
              + (f"; latency criteria missed, reported only (--latency-advisory): "
                 f"{'; '.join(advisory)}" if advisory else "")
              + f"; whole run {r['seconds'] / 60:.1f} minutes.", ""]
    return "\n".join(lines), failed


def rerender(path):
    """Recomputes the soak's derived figures and checks from a JSON result and rewrites its .md
    (for results written before a change to the report)."""
    with open(path) as fh:
        r = json.load(fh)
    a = argparse.Namespace(**r["settings"])
    s = r.get("soak")
    if s:
        steady = s["windows"][1:]
        k = max(1, math.ceil(len(steady) / 3))
        s["p99_windows_compared"] = k
        s["p99_first_us"] = statistics.median(w["p99_us"] for w in steady[:k])
        s["p99_last_us"] = statistics.median(w["p99_us"] for w in steady[-k:])
        s["p99_ratio"] = s["p99_last_us"] / s["p99_first_us"]
        s["rss_first_third_kib"] = statistics.median(w["rss_kib"] for w in steady[:k])
        s["rss_last_third_kib"] = statistics.median(w["rss_kib"] for w in steady[-k:])
        s["rss_drift_thirds"] = s["rss_last_third_kib"] / s["rss_first_third_kib"] - 1
        s["rss_min_kib"] = min(w["rss_kib"] for w in steady)
        s["rss_max_kib"] = max(w["rss_kib"] for w in steady)
        s["checks"][f"p99 last/first ≤ {a.p99_factor}"] = s["p99_ratio"] <= a.p99_factor
        s["checks"]["RSS drift < 5%"] = s["rss_drift_thirds"] < 0.05
    md, r["failed"] = markdown(r, a)
    report.write(os.path.dirname(path) or ".", [os.path.basename(path).removesuffix(".json")], r, md)
    print(md)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--rerender":
        return rerender(sys.argv[2])
    a = args_parser().parse_args()
    phases = set(a.only.split(","))
    bins = P.require(a.bin_dir, ("jitgate", "loadgen", "bench-tool"), a.envoy, "soak")
    started = time.monotonic()

    def log(msg):
        print(f"[{time.monotonic() - started:6.0f}s] {msg}", flush=True)

    r = {"machine": {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(), "cpu": cpu_model(), "loadavg": os.getloadavg()[0]},
        "command": " ".join(["bench/soak.py"] + sys.argv[1:]), "settings": vars(a)}
    workdir = tempfile.mkdtemp(prefix="jitgate-soak-")
    stack = Stack(REPO, bins, workdir, a.envoy)
    jwks = Jwks()
    try:
        log(f"stack in {workdir}")
        redis_port = stack.redis("redis")
        path = os.path.join(workdir, "token.txt")
        stack.tool("tokens", "--count", "1", "--prefix", "u", "--out", path)
        with open(path) as fh:
            token = fh.readline().strip()
        stack.tool("seed", "--redis-url", f"redis://127.0.0.1:{redis_port}",
                   "--principals", "1", "--subject-prefix", "user:u")
        stack.jitgate("jitgate", redis_port, token_cache=a.token_cache,
                      principals=a.principals, jwks_url=jwks.url)
        stack.envoy()
        if "soak" in phases:
            log(f"Soak: {a.seconds:.0f} s at {a.share:.0%} of the maximum through Envoy")
            r["soak"] = soak_phase(stack, a, token, log)
        if "flood" in phases and a.flood > 0:
            log(f"Token flood: {a.flood:,} unique tokens")
            r["flood"] = flood_phase(stack, a, token, jwks, log)
    finally:
        stack.procs.stop_all()
        jwks.close()
    r["seconds"] = time.monotonic() - started
    md, failed = markdown(r, a)
    r["failed"] = failed
    stem = a.stem or f"soak-{datetime.date.today().isoformat()}"
    report.write(a.out, [stem], r, md)
    shutil.rmtree(workdir, ignore_errors=True)
    print(md)
    log(f"results in {a.out}/{stem}.md and .json")
    sys.exit(1 if failed else 0)


def cpu_model():
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
