"""The benchmark stack on loopback: redis-server, the bare ext_authz servers, jitgate in its
three set-ups (normal; a small token cache for fresh-token runs; a one-entry grant cache for
grant-miss runs), and one Envoy with a listener per scenario (bench/envoy.yaml)."""

import json
import os
import subprocess
import urllib.request

from . import procs as P

ISSUER = "https://idp.test"


def jitgate_config(path, repo, grpc, http, redis, token_cache=100_000, principals=100_000,
                   pubsub=True, unix=None, jwks_url=None):
    """`jwks_url`: fetch the issuer's keys over HTTP (refetches are real and countable) instead
    of reading the fixture file."""
    jwks = os.path.join(repo, "tests/fixtures/keys/jwks.json")
    keys = f'jwks_url: "{jwks_url}"' if jwks_url else f'jwks_file: "{jwks}"'
    text = f"""# written by bench/run.py
listen: {{ grpc: "127.0.0.1:{grpc}", http: "127.0.0.1:{http}", grpc_unix: {json.dumps(unix)} }}
redis: {{ url: "redis://127.0.0.1:{redis}" }}
identity:
  issuers:
    - {{ issuer: "{ISSUER}", audiences: ["jitgate"], {keys} }}
  token_cache_size: {token_cache}
admins: ["user:bench-admin"]
grants: {{ max_ttl: 8h }}
cache: {{ max_principals: {principals}, pubsub: {str(pubsub).lower()} }}
shutdown: {{ drain: 0s }}
"""
    with open(path, "w") as f:
        f.write(text)


class Stack:
    def __init__(self, repo, bins, workdir, envoy_bin):
        self.repo, self.bins, self.workdir, self.envoy_bin = repo, bins, workdir, envoy_bin
        self.procs = P.Procs(workdir)
        self.ports = {}

    def port(self, name):
        if name not in self.ports:
            self.ports[name] = P.free_port()
        return self.ports[name]

    def tool(self, *args):
        """Runs bench-tool and returns its JSON output (or None)."""
        out = subprocess.run(
            P.pinned(P.CLIENT_CPU, [self.bins["bench-tool"], *args]),
            check=True, capture_output=True, text=True, cwd=self.workdir,
        ).stdout.strip()
        return json.loads(out) if out else None

    def redis(self, name="redis"):
        port = self.port(name)
        proc = self.procs.start(name, [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--protected-mode", "yes",
        ])
        P.wait_port(port, proc, name)
        return port

    def redis_cli(self, name, *args):
        return subprocess.run(
            ["redis-cli", "-p", str(self.port(name)), *args],
            check=True, capture_output=True, text=True,
        ).stdout

    def redis_info(self, name, section):
        out = {}
        for line in self.redis_cli(name, "INFO", section).splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                out[k] = v.strip()
        return out

    def redis_command_calls(self, name):
        """Calls per command so far (INFO commandstats; script-called commands included)."""
        out = {}
        for k, v in self.redis_info(name, "commandstats").items():
            calls = v.split(",")[0].split("=")[1]
            out[k.removeprefix("cmdstat_")] = int(calls)
        return out

    def redis_commands(self, name):
        """Commands Redis has processed so far."""
        return int(self.redis_info(name, "stats").get("total_commands_processed", "0"))

    def socket(self, name):
        """The Unix socket path of server `name` (in the work directory)."""
        return os.path.join(self.workdir, f"{name}.sock")

    def target(self, server):
        """The loadgen target and the process of `server` (`name` or `name/unix`)."""
        name, _, transport = server.partition("/")
        if transport == "unix":
            return f"unix:{self.socket(name)}", name
        return f"127.0.0.1:{self.port(name)}", name

    def bare(self, name, redis_port=None, unix=False):
        port = self.port(name)
        argv = [self.bins["bench-authz"], "--listen", f"127.0.0.1:{port}"]
        if redis_port:
            argv += ["--redis-url", f"redis://127.0.0.1:{redis_port}"]
        if unix:
            argv += ["--unix", self.socket(name)]
        proc = self.procs.start(name, argv, env={"TOKIO_WORKER_THREADS": "1"})
        P.wait_port(port, proc, name)

    def jitgate(self, name, redis_port, unix=False, **config):
        grpc, http = self.port(name), self.port(name + "_http")
        path = os.path.join(self.workdir, f"{name}.yaml")
        jitgate_config(path, self.repo, grpc, http, redis_port,
                       unix=self.socket(name) if unix else None, **config)
        proc = self.procs.start(name, [self.bins["jitgate"], "serve"], env={
            "JITGATE_CONFIG": path, "TOKIO_WORKER_THREADS": "1", "RUST_LOG": "warn",
        })
        P.wait_http(f"http://127.0.0.1:{http}/readyz", proc, name)
        return grpc, http

    def envoy(self):
        with open(os.path.join(self.repo, "bench/envoy.yaml")) as f:
            text = f.read()
        subst = {
            "PORT_ADMIN": self.port("envoy_admin"),
            "JWKS_FILE": os.path.join(self.repo, "tests/fixtures/keys/jwks.json"),
            "PORT_BARE": self.port("bare"), "PORT_BARE_REDIS": self.port("bare_redis"),
            "PORT_JITGATE": self.port("jitgate"),
            "PORT_JITGATE_FRESH": self.port("jitgate_fresh"),
            "PORT_JITGATE_MISS": self.port("jitgate_miss"),
            "SOCK_BARE": self.socket("bare"), "SOCK_JITGATE": self.socket("jitgate"),
        }
        for listener in ("C0", "C1", "C1C", "C3", "C3U", "C4", "J", "JU", "JF", "JM"):
            subst[f"PORT_{listener}"] = self.port(f"listener_{listener}")
        for k, v in subst.items():
            text = text.replace("${" + k + "}", str(v))
        path = os.path.join(self.workdir, "envoy.yaml")
        with open(path, "w") as f:
            f.write(text)
        proc = self.procs.start("envoy", [
            self.envoy_bin, "-c", path, "--concurrency", "1", "--use-dynamic-base-id",
            "--log-level", "warn",
        ])
        P.wait_http(f"http://127.0.0.1:{self.port('envoy_admin')}/ready", proc, "envoy")

    def envoy_stats(self):
        url = f"http://127.0.0.1:{self.port('envoy_admin')}/stats?filter=ext_authz"
        with urllib.request.urlopen(url, timeout=5) as r:
            stats = {}
            for line in r.read().decode().splitlines():
                k, _, v = line.partition(": ")
                if v.strip().isdigit():
                    stats[k] = int(v)
            return stats

    def metric(self, name, series):
        """Sums the samples of `series` (a Prometheus name with an optional label filter)."""
        url = f"http://127.0.0.1:{self.port(name + '_http')}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            total = 0.0
            for line in r.read().decode().splitlines():
                if line.startswith(series):
                    total += float(line.rsplit(" ", 1)[1])
            return total
