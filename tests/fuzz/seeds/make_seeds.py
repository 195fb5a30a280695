#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets from the bad-input tables
(tests/bad_inputs/*_cases.rs) and the shipped manifests. Run from the repository root:
`python3 tests/fuzz/seeds/make_seeds.py`. Each seed's first byte picks the target's reading
(see the target's doc comment)."""

import hashlib
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[3]
SEEDS = ROOT / "tests/fuzz/seeds"


def write(target, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def rust_strings(path, pattern):
    text = (ROOT / path).read_text()
    return [bytes(m, "utf-8").decode("unicode_escape") for m in re.findall(pattern, text)]


# Paths: every request target in the path table, as a raw target and against grant patterns.
targets = rust_strings("tests/bad_inputs/path_cases.rs", r'c\("[^"]*", "((?:[^"\\]|\\.)*)"')
targets = [t for t in targets if t.isascii()] + ["/", "/orders/1/", "/orders/my%20file"]
for t in targets:
    for pattern in ["/orders/*", "/orders/**", "/orders/*/items/**"]:
        write("path", f"{pattern}\n{t}")

# Checks (text form, first byte "1"): the path table through alice's grant, and a few tokens,
# services and headers around the grants ($0 alice, $1 bob, $2 carol, $3 dave, $4 eve, $5.. bad).
for t in targets:
    write("check_request", f"1GET {t}\nauthorization: Bearer $0\n@service: orders\n")
checks = [
    "1GET /orders/1\nauthorization: Bearer $0\n@host: orders:8080\n",
    "1GET /orders/1/items/2/x\nauthorization: bearer $0\n@service: orders\n",
    "1POST /invoices/7\nauthorization: Bearer $1\n@service: billing\n",
    "1GET /\nauthorization: Bearer $1\n@service: billing\n",
    "1DELETE /orders/9\nauthorization: Bearer $2\n@service: orders\n",
    "1GET /orders/1\nauthorization: Bearer $3\n@service: orders\n",
    "1GET /invoices/1\nauthorization: Bearer $4\n@service: billing\n",
    "1GET /orders/1\nAuthorization: Bearer $0\nauthorization: Bearer $0\n@service: orders\n",
    "1GET /orders/1\nauthorization: Bearer $0, Bearer $1\n@service: orders\n",
    "1GET /orders/1\nauthorization: Bearer $0\nx-http-method-override: DELETE\n@service: orders\n",
    "1GET /orders/1?_method=DELETE\nauthorization: Bearer $0\n@service: orders\n",
    "1GET /orders/1\nauthorization: Bearer $0\nx-jitgate-subject: user:root\n@service: orders\n",
    "1GET /orders/1\n@workload: spiffe://cluster/ns/a/sa/b\n@service: orders\n",
]
checks += [f"1GET /orders/1\nauthorization: Bearer ${i}\n@service: orders\n" for i in range(5, 10)]
for c in checks:
    write("check_request", c)

# Tokens: header values (first byte "0") and claims signed with the fuzz secret (first byte "3").
for v in ["Bearer abc.def.ghi", "Bearer  a.b.c ", "bearer a.b.c", "Basic dXNlcjpwYXNz",
          "Bearer a.b.c\nBearer a.b.c", "Bearer a.b.c, Bearer d.e.f", "Bearer", "Bearer \t"]:
    write("token", "0" + v)
base = {"iss": '"https://fuzz.idp.test"', "aud": '"jitgate"', "sub": "alice", "iat": "@now",
        "exp": "@soon", "groups": '["eng"]'}
variants = [
    {}, {"aud": '["other", "jitgate"]'}, {"aud": '"other"'}, {"exp": "\"@soon\""}, {"exp": "@soon.5"},
    {"nbf": "@soon"}, {"nbf": "@now.0"}, {"exp": "@past"}, {"iat": "@past", "exp": "@soon"},
    {"exp": "18446744073709551616"}, {"exp": "-1"}, {"sub": ""}, {"sub": 7}, {"iss": '["x"]'}, {"nbf": "null"}, {"aud": "null"},
]
for v in variants:
    claims = dict(base, **v)
    # Strings are raw JSON text here, so `@soon` stays a bare number and `"@soon"` a string.
    body = ",".join(f'"{k}":{x if isinstance(x, str) and k != "sub" else json.dumps(x)}'
                    for k, x in claims.items())
    write("token", "3{" + body + "}")
for h in ['{"alg":"HS256","typ":"JWT","crit":["exp"]}', '{"alg":"HS256","typ":"at+jwt"}',
          '{"alg":"HS256","jku":"http://127.0.0.1:1/jwks"}', '{"alg":"none"}']:
    write("token", "3" + h + "\0" + '{"iss":"https://fuzz.idp.test","aud":"jitgate","sub":"a","exp":@soon}')
write("token", "1eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")

# Manifests (first byte "0" YAML, "1" grant JSON): the shipped manifests and the table's bombs.
for f in ["deploy/manifests/grants.yaml", "deploy/manifests/policies.yaml"]:
    write("manifest", "0" + (ROOT / f).read_text())
cases = (ROOT / "tests/bad_inputs/manifest_cases.rs").read_text()
grant = re.search(r'const GRANT: &str = "(.*?)";', cases, re.S).group(1).replace('\\"', '"')
bomb = "a: &a [\"x\",\"x\",\"x\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
for m in [grant, grant + "---\n" + grant, grant + "---\n" + bomb, "a: &a [*a]\n",
          grant.replace("ttl: 8h", "ttl: soon"), grant.replace("metadata:", "metadata:\n  name: x"),
          grant + "  standing: true\n"]:
    write("manifest", "0" + m)
g = {"id": "g-1", "subject": "user:alice", "resources": [{"service": "orders", "methods": ["GET"],
     "paths": ["/orders/*"]}], "created_at": "2026-11-30T10:00:00Z",
     "expires_at": "2026-11-30T11:00:00Z", "created_by": "user:admin", "reason": "x",
     "source": "api"}
write("manifest", "1" + json.dumps(g))
write("manifest", "1" + json.dumps(dict(g, max_uses=3, uses=1, standing=True)))
