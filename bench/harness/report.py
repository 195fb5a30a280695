"""The results as a Markdown report (tables, ratios, targets), and the Redis key composition of
a seeded grant."""

import json
import os
import random


def key_composition(stack, name, principals, per):
    """Bytes per grant by kind of key: MEMORY USAGE over a sample of principals for per-grant
    keys, and the shared keys (audit stream, subjects index) divided by the grants."""
    sample = random.Random(7).sample(range(principals), min(200, principals))
    kinds = {"live grant": 0, "grant owner": 0, "indexes": 0, "history copy": 0}
    for i in sample:
        tag = f"jitgate:{{user:b{i}}}"
        for gid in stack.redis_cli(name, "ZRANGE", f"{tag}:grants", "0", "-1").split():
            kinds["live grant"] += usage(stack, name, f"{tag}:grant:{gid}")
            kinds["grant owner"] += usage(stack, name, f"jitgate:grant-owner:{gid}")
            kinds["history copy"] += usage(stack, name, f"{tag}:history:{gid}")
        kinds["indexes"] += usage(stack, name, f"{tag}:grants") + usage(stack, name, f"{tag}:history")
    n = len(sample) * per
    out = {k: v / n for k, v in kinds.items()}
    grants = principals * per
    out["subjects index"] = usage(stack, name, "jitgate:subjects") / grants
    out["audit record"] = usage(stack, name, "jitgate:{audit}:log") / grants
    return out


def usage(stack, name, key):
    out = stack.redis_cli(name, "MEMORY", "USAGE", key, "SAMPLES", "0").strip()
    return int(out) if out.isdigit() else 0


def fmt_us(v):
    return f"{v / 1000:.2f} ms" if v >= 1000 else f"{v:.0f} µs"


def rng(row, key, scale=1.0, digits=0):
    lo, hi = row.get(key + "_min"), row.get(key + "_max")
    if lo is None:
        return ""
    return f" ({lo * scale:,.{digits}f}–{hi * scale:,.{digits}f})"


def cpu_cells(row, processes):
    return ", ".join(f"{p} {row['cpu_' + p]:.3f}" for p in processes if "cpu_" + p in row)


def unix_summary(bare, bare_unix, jit, jit_unix, unit):
    """The Unix-socket rows against their TCP twins (same processes, same run)."""
    return (
        f"Unix socket instead of loopback TCP: bare {bare_unix['rps'] / bare['rps']:.2f}×, "
        f"jitgate {jit_unix['rps'] / jit['rps']:.2f}× the {unit}; jitgate over the socket is "
        f"{jit_unix['rps'] / bare_unix['rps']:.2f}× the bare server over the socket "
        f"(p50 {fmt_us(jit_unix['p50_us'])} vs {fmt_us(bare_unix['p50_us'])})."
    )


def redis_breakdown(rows):
    """Which Redis commands a row's requests cost, for rows above one command per request
    (script-called commands are counted by Redis under their own names)."""
    out = []
    for key, row in rows.items():
        calls = row.get("redis_calls_per_req") or {}
        if row.get("redis_cmds_per_req", 0) < 1.5 or not calls:
            continue
        top = sorted(calls.items(), key=lambda kv: -kv[1])[:8]
        out.append(f"Redis commands per request in row {key}: " +
                   ", ".join(f"`{c}` {v:.2f}" for c, v in top) + ".")
    return [""] + out if out else []


def markdown(r):
    m = r["machine"]
    lines = [
        f"# jitgate benchmark — {m['date']}",
        "",
        f"Machine: {m['nproc']} vCPU {m['cpu']}, {m['memory_gib']} GiB, Linux {m['kernel']}; "
        f"Envoy {m['envoy']}; {m['wrk']}; {m['redis']}; {m['rustc']}.",
        "Command: `make bench` (bench/run.py). Servers on CPU0 (Envoy `--concurrency 1`, tokio "
        "one worker, redis-server), client on CPU1. Each cell: "
        f"{r['settings']['reps']} interleaved repetitions of {r['settings']['seconds']} s; "
        "median, range in brackets.",
        "",
    ]
    env = r.get("envoy")
    if env:
        from run import ENVOY_ROWS  # the row labels live with the scenarios
        c1, c3 = env["C1"], env["C3"]
        lines += [
            "## Through Envoy (wrk -t1 -c32, HTTP/1.1, one route)",
            "",
            "| set-up | requests/s | p50 | p99 | CPU s per 10k requests | Redis cmds/req "
            "| × row C1 (jwt_authn+rbac) | × row C3 (bare ext_authz) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for key, label, _, _, _, processes in ENVOY_ROWS:
            row = env[key]
            lines.append(
                f"| {key} {label} | {row['rps']:,.0f}{rng(row, 'rps')} | {fmt_us(row['p50_us'])} "
                f"| {fmt_us(row['p99_us'])} | {cpu_cells(row, processes)} "
                f"| {row['redis_cmds_per_req']:.2f} | {row['rps'] / c1['rps']:.2f} "
                f"| {row['rps'] / c3['rps']:.2f} |")
        if "C3U" in env and "JU" in env:
            lines += ["", unix_summary(env["C3"], env["C3U"], env["J"], env["JU"], "requests/s")]
        lines += redis_breakdown(env)
        ext = r.get("envoy_ext_authz", {})
        lines += ["", "Envoy ext_authz counters over the run: " + ", ".join(
            f"`{k}` {v:,}" for k, v in sorted(ext.items())), ""]
    d = r.get("direct")
    if d:
        from run import DIRECT_ROWS
        lines += [
            "## Check straight at the server (loadgen: 32 in flight, one HTTP/2 connection, "
            "every answer checked)",
            "",
            "| server | checks/s | p50 | p99 | server CPU s per 10k | × bare |",
            "|---|---|---|---|---|---|",
        ]
        for key, label, server, _, _ in DIRECT_ROWS:
            row = d[key]
            lines.append(
                f"| {key} {label} | {row['rps']:,.0f}{rng(row, 'rps')} | {fmt_us(row['p50_us'])} "
                f"| {fmt_us(row['p99_us'])} | {row['cpu_' + server.split('/')[0]]:.3f} "
                f"| {row['rps'] / d['D3']['rps']:.2f} |")
        if "D3U" in d and "DJU" in d:
            lines += ["", unix_summary(d["D3"], d["D3U"], d["DJ"], d["DJU"], "checks/s")]
        lines.append("")
    s = r.get("scale")
    if s:
        base = s["S1"]["cpu_jitgate"]
        lines += [
            "## Grants per principal (direct Check, one principal holding N grants on the "
            "same service and path prefix)",
            "",
            "| grants | checks/s | p50 | jitgate CPU s per 10k | cost × 1 grant |",
            "|---|---|---|---|---|",
        ]
        for key, row in s.items():
            lines.append(
                f"| {key[1:]} | {row['rps']:,.0f}{rng(row, 'rps')} | {fmt_us(row['p50_us'])} "
                f"| {row['cpu_jitgate']:.3f} | {row['cpu_jitgate'] / base:.2f} |")
        lines.append("")
    rv = r.get("revocation")
    if rv:
        lines += [
            "## Revocation seen by another replica (revoke acknowledged by replica A → replica "
            "B denies)",
            "",
            "| notifications | revokes | p50 | p99 | max | failed |",
            "|---|---|---|---|---|---|",
        ]
        for label, row in rv.items():
            lines.append(
                f"| {label.replace('_', ' ')} | {row['revocations']} | {fmt_us(row['p50_us'])} "
                f"| {fmt_us(row['p99_us'])} | {fmt_us(row['max_us'])} | {row['failures']} |")
        lines.append("")
    b = r.get("big")
    if b:
        comp = ", ".join(f"{k} {v:,.0f} B" for k, v in b["composition"].items())
        cold, warm = b["first_pass_grant_miss"], b["second_pass_cached"]
        lines += [
            f"## {b['grants']:,} grants across {b['principals']:,} principals",
            "",
            f"- Redis memory per grant: {b['redis_bytes_per_grant']:,.0f} B (used_memory before "
            f"and after seeding); by key kind: {comp}.",
            f"- First pass over every principal (grant cache miss, token verified): "
            f"{cold['rps']:,.0f} checks/s, p50 {fmt_us(cold['p50_us'])}, "
            f"p99 {fmt_us(cold['p99_us'])}.",
            f"- Second pass (every principal cached): {warm['rps']:,.0f} checks/s, "
            f"p50 {fmt_us(warm['p50_us'])}.",
            f"- jitgate RSS: {b['jitgate_rss_idle_mib']:.0f} MiB idle, "
            f"{b['jitgate_rss_mib']:.0f} MiB with {b['principals']:,} principals and their "
            "tokens cached.",
            "",
        ]
    if "jitgate_rss_mib" in r:
        lines += [f"jitgate RSS after the table runs: {r['jitgate_rss_mib']:.0f} MiB.", ""]
    lines.append(f"Whole run: {r['seconds'] / 60:.1f} minutes.")
    return "\n".join(lines) + "\n"


def write(out, names, results, md):
    """Writes `<name>.json` and `<name>.md` into `out` for each name."""
    os.makedirs(out, exist_ok=True)
    for name in names:
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            json.dump(results, f, indent=2)
        with open(os.path.join(out, f"{name}.md"), "w") as f:
            f.write(md)
