#!/usr/bin/env python3
"""Prints the interesting part of one demo response: what the upstream saw on an allow, or the
deny reason, message and request hint on a deny. Usage: summarize.py HEADERS_FILE BODY_FILE"""
import json
import sys

headers = {}
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if ":" in line:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
try:
    body = json.load(open(sys.argv[2], encoding="utf-8"))
except ValueError:
    body = None

if isinstance(body, dict) and "headers" in body:  # the upstream's echo: an allow
    seen = {k: v for k, v in body["headers"].items() if k.startswith("x-jitgate-")}
    print(f"upstream reached: {body['method']} {body['path']}, with headers set by jitgate:")
    for k, v in sorted(seen.items()):
        print(f"  {k}: {', '.join(v)}")
elif isinstance(body, dict) and "reason" in body:  # a jitgate deny
    print(f"reason: {body['reason']} — {body['message']}")
    print(f"decision id: {body['decision_id']} (also in x-jitgate-decision-id)")
    if "www-authenticate" in headers:
        print(f"www-authenticate: {headers['www-authenticate']}")
    request = body.get("request") or {}
    if "id" in request:
        approvers = ", ".join(request.get("approvers", []))
        print(f"jitgate filed request {request['id']} ({request['status']}; approvers: {approvers})")
        print(f"x-jitgate-request-id: {headers.get('x-jitgate-request-id', '')}")
        if "ui" in request:
            print(f"on the web page: {request['ui']}")
    elif request:
        print(f"to get access: POST {request['url']}")
        print(f"  {json.dumps(request['body'])}")
        if "ui" in request:
            print(f"or on the web page, pre-filled: {request['ui']}")
elif body is not None:
    print(json.dumps(body)[:300])
