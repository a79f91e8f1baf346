#!/usr/bin/env python3
"""A FIXTURE, not a real server: a tiny stand-in for Cloudflare's DNS API
(v4), for testing contrib/hooks/cloudflare.sh. No real Cloudflare can run
in the test bed, so this answers only what the hook uses, in Cloudflare's
documented response shape, and records every request for the test to
check:

  GET    /client/v4/zones?name=Z                 -> the zone when Z is ours
  GET    /client/v4/zones/ID/dns_records?type=&name=&per_page=
  POST   /client/v4/zones/ID/dns_records         {type,name,content,ttl}
  DELETE /client/v4/zones/ID/dns_records/RID
  GET    /__requests                             -> what was asked (no auth)

Every API call needs "Authorization: Bearer <token from TOKEN_FILE>";
otherwise 403 with Cloudflare's error 10000. A POST whose body is not
JSON with type TXT, a name inside the zone, a string content and a
numeric ttl gets 400 (error 9005), so a wrong request shape fails the hook.

usage: cf_fixture.py PORT ZONE ZONE_ID TOKEN_FILE
"""
import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PORT, ZONE, ZONE_ID, TOKEN_FILE = (int(sys.argv[1]), sys.argv[2].rstrip("."),
                                   sys.argv[3], sys.argv[4])
with open(TOKEN_FILE) as f:
    TOKEN = f.readline().strip()
LOCK = threading.Lock()
RECORDS = {}   # id -> record
REQUESTS = []  # what the hook asked


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("cf_fixture: " + fmt % args + "\n")

    def send(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def ok(self, result):
        self.send(200, {"success": True, "errors": [], "messages": [],
                        "result": result})

    def err(self, status, code, msg):
        self.send(status, {"success": False, "messages": [], "result": None,
                           "errors": [{"code": code, "message": msg}]})

    def handle_any(self, method):
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if u.path == "/__requests":
            with LOCK:
                return self.ok(list(REQUESTS))
        with LOCK:
            REQUESTS.append({
                "method": method, "path": u.path,
                "query": {k: v[0] for k, v in q.items()},
                "auth_bearer": self.headers.get("Authorization", "")
                .startswith("Bearer "),
                "content_type": self.headers.get("Content-Type", ""),
                "body": raw.decode("utf-8", "replace")})
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.err(403, 10000, "Authentication error")
        parts = [p for p in u.path.split("/") if p]
        if parts[:2] != ["client", "v4"]:
            return self.err(404, 7003, "Could not route")
        parts = parts[2:]
        if method == "GET" and parts == ["zones"]:
            name = q.get("name", [""])[0].rstrip(".")
            res = [{"id": ZONE_ID, "name": ZONE}] if name == ZONE else []
            return self.ok(res)
        if len(parts) < 3 or parts[0] != "zones" or parts[2] != "dns_records":
            return self.err(404, 7003, "Could not route")
        if parts[1] != ZONE_ID:
            return self.err(404, 7003, "No such zone")
        with LOCK:
            if method == "GET" and len(parts) == 3:
                t = q.get("type", [None])[0]
                name = q.get("name", [None])[0]
                res = [r for r in RECORDS.values()
                       if (t is None or r["type"] == t) and
                       (name is None or r["name"] == name.rstrip("."))]
                return self.ok(res)
            if method == "POST" and len(parts) == 3:
                try:
                    b = json.loads(raw)
                    assert self.headers.get("Content-Type") == \
                        "application/json"
                    assert b["type"] == "TXT"
                    assert isinstance(b["content"], str) and b["content"]
                    assert isinstance(b["ttl"], int)
                    name = b["name"].rstrip(".")
                    assert name == ZONE or name.endswith("." + ZONE)
                except Exception:
                    return self.err(400, 9005, "Content for TXT record is"
                                    " invalid or the request is malformed")
                rid = secrets.token_hex(16)
                RECORDS[rid] = {"id": rid, "zone_id": ZONE_ID,
                                "zone_name": ZONE, "name": name,
                                "type": "TXT", "content": b["content"],
                                "ttl": b["ttl"], "proxied": False,
                                "meta": {"auto_added": False}}
                return self.ok(RECORDS[rid])
            if method == "DELETE" and len(parts) == 4:
                if RECORDS.pop(parts[3], None) is None:
                    return self.err(404, 81044, "Record does not exist.")
                return self.ok({"id": parts[3]})
        return self.err(405, 10000, "Method not allowed")

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
