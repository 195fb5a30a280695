#!/usr/bin/env python3
"""The demo's webhook receiver: verifies each delivery's x-jitgate-signature
(t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">) and appends one line per event to a log.

Usage: webhook.py PORT LOGFILE   (secret in $JITGATE_WEBHOOK_SECRET; binds 127.0.0.1 only)
"""
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["JITGATE_WEBHOOK_SECRET"].encode()


def verify(header, body):
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, sig = parts.get("t", "0"), parts.get("v1", "")
    if abs(time.time() - int(t)) > 300:
        return False
    want = hmac.new(SECRET, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, sig)


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        ok = verify(self.headers.get("x-jitgate-signature", ""), body)
        event = json.loads(body)
        with open(sys.argv[2], "a", encoding="utf-8") as log:
            mark = "signature ok" if ok else "BAD SIGNATURE"
            link = event.get("links", {}).get("request")
            log.write(f"{event['type']:<9} ({mark}) {event['summary']}{'  → ' + link if link else ''}\n")
        self.send_response(200 if ok else 401)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
