#!/usr/bin/env python3
"""ARI-and-profiles test fixture for byoca's integration tests.

Pebble 2.4 (the one Debian ships) has neither ACME Renewal Information
(RFC 9773) nor certificate profiles (draft-ietf-acme-profiles), so this
fixture -- test code only, never a CA -- stands in front of a Pebble as a
TLS reverse proxy and adds them:

* the directory gets "renewalInfo" (https://<proxy>/renewal-info) and
  "meta.profiles";
* GET /renewal-info/<CertID> answers what the test configured through the
  control API: a window per CertID (or a default one), a Retry-After, n
  answers of some HTTP status (5xx, 404), garbage, or a window whose end is
  before its start;
* newOrder requests are recorded (their "replaces" and "profile"), and can
  be answered 409 alreadyReplaced on demand; otherwise they go to Pebble
  unchanged. Pebble 2.4 decodes the payload with Go's encoding/json, which
  ignores unknown members, so "replaces" and "profile" are left in place
  (the JWS signature covers them: they could not be stripped anyway);
* profiles as a CA implementing draft-ietf-acme-profiles answers them: a
  newOrder asking for a profile not in meta.profiles (or one listed in
  "refuse_profiles": advertised but not for this client) gets 400
  urn:ietf:params:acme:error:invalidProfile; an accepted order echoes its
  "profile" (the requested one, else "default_profile" when set) in every
  order object the proxy relays (newOrder, POST-as-GET, finalize), found
  by the order's finalize URL; "force_echo" makes it echo that name
  instead, whatever was asked (a CA answering with another profile);
* everything else is forwarded to Pebble byte for byte, with the client's
  Host header, so the URLs Pebble builds point back at the proxy.

Control API (plain HTTP, loopback), all bodies JSON:
  GET  /health                      -> {"ok": true}
  POST /window   {"certid": ID|[ID...]|"*", "start": RFC3339, "end": RFC3339,
                  "explanation": URL?, "retry_after": "3600"|HTTP-date?}
  POST /fail     {"certid": ID|"*", "status": 503, "count": n,
                  "retry_after": "..."?}   next n renewalInfo answers
  POST /garbage  {"certid": ID|"*", "count": n}
  POST /replaced {"count": n}   next n newOrders carrying "replaces": 409
  POST /directory {"ari": bool, "renewal_info": URL?, "profiles": {..}?,
                   "default_profile": NAME|null?, "refuse_profiles": [..]?,
                   "force_echo": NAME|null?}
                   "profiles": {} advertises none (and refuses every one)
  POST /reset                       forget configuration and records
  POST /counters                    max_active_orders starts again from
                                    the orders active now
  GET  /requests -> {"renewal_info": [CertID...], "orders": [{"replaces":
                  ..., "profile": ..., "status": int}],
                  "active_orders": n, "max_active_orders": n}
                  an order is active from its newOrder (201) until an
                  order object relayed for it is "valid" or "invalid";
                  max_active_orders is the most active at once since the
                  last reset (what a client's concurrency limit bounds)

Usage: ari_proxy.py --listen ADDR:PORT --control ADDR:PORT
                    --upstream https://127.0.0.1:PORT --cert PEM --key PEM
                    --ca-bundle PEM
"""

import argparse
import base64
import http.client
import http.server
import json
import socketserver
import ssl
import sys
import threading
import urllib.parse

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
       "te", "trailer", "upgrade", "content-length"}
DEFAULT_PROFILES = {"classic": "the usual 90 days",
                    "shortlived": "six days, no OCSP"}


class State:
    """What the test configured and what the proxy saw; one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.windows = {}     # certid or "*" -> dict
        self.fails = {}       # certid or "*" -> [status, count, retry]
        self.garbage = {}     # certid or "*" -> count
        self.replaced = 0
        self.ari = True
        self.renewal_info = None
        self.profiles = dict(DEFAULT_PROFILES)
        self.default_profile = None
        self.refuse_profiles = []
        self.force_echo = None
        self.order_profile = {}  # finalize URL -> profile echoed
        self.seen_ari = []
        self.orders = []
        self.active = set()   # finalize URLs of orders under way
        self.max_active = 0


STATE = State()
ARGS = None


def b64url_json(s):
    s = s + "=" * (-len(s) % 4)
    return json.loads(base64.urlsafe_b64decode(s.encode()))


def upstream_conn():
    u = urllib.parse.urlsplit(ARGS.upstream)
    ctx = ssl.create_default_context(cafile=ARGS.ca_bundle)
    return http.client.HTTPSConnection(u.hostname, u.port, context=ctx,
                                       timeout=30)


def take(table, certid):
    """The entry for certid, else the default one ("*")."""
    if certid in table:
        return certid
    return "*" if "*" in table else None


def track(order, status):
    """Counts orders under way (STATE.lock held): a new order (201) starts
    one, a final status ends it."""
    fin = order.get("finalize")
    if order.get("status") in ("valid", "invalid"):
        STATE.active.discard(fin)
    elif status == 201 and fin not in STATE.active:
        STATE.active.add(fin)
        STATE.max_active = max(STATE.max_active, len(STATE.active))


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("proxy: " + (fmt % args) + "\n")

    def send(self, status, body, ctype="application/json", headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def forward(self, body):
        """Sends the request to Pebble as is; returns (status, headers,
        body)."""
        conn = upstream_conn()
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() not in HOP}
        conn.request(self.command, self.path, body=body or None,
                     headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        out = [(k, v) for k, v in r.getheaders() if k.lower() not in HOP]
        conn.close()
        return r.status, out, data

    def relay(self, status, headers, data):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        self.relay(*self.forward(b""))

    def do_GET(self):
        if self.path.startswith("/renewal-info/"):
            return self.renewal_info(self.path[len("/renewal-info/"):])
        status, headers, data = self.forward(b"")
        if self.path == "/dir" and status == 200:
            data = self.directory(json.loads(data))
        self.relay(status, headers, data)

    def directory(self, d):
        with STATE.lock:
            if STATE.ari:
                d["renewalInfo"] = (STATE.renewal_info or "https://%s/renewal-info"
                                    % self.headers.get("Host"))
            if STATE.profiles != {}:  # anything else, even hostile junk
                d.setdefault("meta", {})["profiles"] = STATE.profiles
        Proxy.order_path = urllib.parse.urlsplit(d["newOrder"]).path
        return json.dumps(d, indent=2).encode()

    def renewal_info(self, certid):
        with STATE.lock:
            STATE.seen_ari.append(certid)
            k = take(STATE.fails, certid)
            if k is not None:
                status, count, retry = STATE.fails[k]
                if count <= 1:
                    del STATE.fails[k]
                else:
                    STATE.fails[k][1] = count - 1
                hdrs = [("Retry-After", retry)] if retry else []
                return self.send(status, '{"type":"urn:ietf:params:acme:'
                                 'error:serverInternal","detail":"fixture"}',
                                 "application/problem+json", hdrs)
            k = take(STATE.garbage, certid)
            if k is not None:
                STATE.garbage[k] -= 1
                if STATE.garbage[k] <= 0:
                    del STATE.garbage[k]
                return self.send(200, "this is not { json")
            k = take(STATE.windows, certid)
            if k is None:
                return self.send(404, '{"type":"urn:ietf:params:acme:error:'
                                 'malformed","detail":"no such certificate"}',
                                 "application/problem+json")
            w = STATE.windows[k]
        obj = {"suggestedWindow": {"start": w["start"], "end": w["end"]}}
        if w.get("explanation"):
            obj["explanationURL"] = w["explanation"]
        hdrs = [("Retry-After", w["retry_after"])] if w.get("retry_after") \
            else []
        self.send(200, json.dumps(obj), headers=hdrs)

    def do_POST(self):
        body = self.body()
        if self.path == getattr(Proxy, "order_path", "/order-plz"):
            return self.new_order(body)
        self.relay(*self.echo_profile(*self.forward(body)))

    def echo_profile(self, status, headers, data, profile=None):
        """Adds "profile" to an order object: the one given, else the one
        recorded for its finalize URL."""
        try:
            obj = json.loads(data)
        except ValueError:
            return status, headers, data
        if not isinstance(obj, dict) or "finalize" not in obj:
            return status, headers, data
        with STATE.lock:
            track(obj, status)
            if profile is not None:
                STATE.order_profile[obj["finalize"]] = profile
            profile = STATE.order_profile.get(obj["finalize"])
        if profile is None:
            return status, headers, data
        obj["profile"] = profile
        return status, headers, json.dumps(obj).encode()

    def new_order(self, body):
        try:
            payload = b64url_json(json.loads(body)["payload"])
        except (ValueError, KeyError, TypeError):
            payload = {}
        rec = {"replaces": payload.get("replaces"),
               "profile": payload.get("profile"),
               "identifiers": payload.get("identifiers")}
        want = rec["profile"]
        with STATE.lock:
            refuse = rec["replaces"] is not None and STATE.replaced > 0
            if refuse:
                STATE.replaced -= 1
            STATE.orders.append(rec)
            offered = STATE.profiles if isinstance(STATE.profiles, dict) \
                else {}
            bad_profile = want is not None and (
                not isinstance(want, str) or want not in offered or
                want in STATE.refuse_profiles)
            echo = want if want is not None else STATE.default_profile
            if STATE.force_echo is not None:
                echo = STATE.force_echo
        if refuse:
            rec["status"] = 409
            return self.already_replaced(rec["replaces"])
        if bad_profile:
            rec["status"] = 400
            return self.problem(400, "invalidProfile",
                                "profile %r is not offered" % (want,))
        status, headers, data = self.forward(body)
        rec["status"] = status
        if status == 201:
            status, headers, data = self.echo_profile(status, headers, data,
                                                      echo)
        self.relay(status, headers, data)

    def already_replaced(self, certid):
        self.problem(409, "alreadyReplaced",
                     "certificate %s was already replaced" % certid)

    def problem(self, status, kind, detail):
        # a fresh nonce from Pebble, as a real CA sends with every answer
        nonce = None
        try:
            conn = upstream_conn()
            conn.request("HEAD", "/nonce-plz")
            nonce = conn.getresponse().getheader("Replay-Nonce")
            conn.close()
        except OSError:
            pass
        doc = {"type": "urn:ietf:params:acme:error:" + kind,
               "detail": detail, "status": status}
        self.send(status, json.dumps(doc), "application/problem+json",
                  [("Replay-Nonce", nonce)] if nonce else [])


class Control(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("control: " + (fmt % args) + "\n")

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            return self.reply(200, {"ok": True})
        if self.path == "/requests":
            with STATE.lock:
                return self.reply(200, {"renewal_info": STATE.seen_ari,
                                        "orders": STATE.orders,
                                        "active_orders": len(STATE.active),
                                        "max_active_orders":
                                        STATE.max_active})
        self.reply(404, {"error": "unknown path"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            return self.reply(400, {"error": "bad JSON"})
        handler = {"/window": self.window, "/fail": self.fail,
                   "/garbage": self.garbage, "/replaced": self.replaced,
                   "/directory": self.directory, "/reset": self.reset,
                   "/counters": self.counters}
        h = handler.get(self.path)
        if h is None:
            return self.reply(404, {"error": "unknown path"})
        with STATE.lock:
            h(req)
        self.reply(200, {"ok": True})

    def window(self, r):
        ids = r.get("certid", "*")
        for i in ids if isinstance(ids, list) else [ids]:
            STATE.windows[i] = r

    def fail(self, r):
        STATE.fails[r.get("certid", "*")] = [int(r.get("status", 503)),
                                            int(r.get("count", 1)),
                                            r.get("retry_after")]

    def garbage(self, r):
        STATE.garbage[r.get("certid", "*")] = int(r.get("count", 1))

    def replaced(self, r):
        STATE.replaced = int(r.get("count", 1))

    def directory(self, r):
        if "ari" in r:
            STATE.ari = bool(r["ari"])
        if "renewal_info" in r:
            STATE.renewal_info = r["renewal_info"]
        if "profiles" in r:
            STATE.profiles = r["profiles"]
        if "default_profile" in r:
            STATE.default_profile = r["default_profile"]
        if "refuse_profiles" in r:
            STATE.refuse_profiles = list(r["refuse_profiles"])
        if "force_echo" in r:
            STATE.force_echo = r["force_echo"]

    def reset(self, _r):
        STATE.reset()

    def counters(self, _r):
        STATE.max_active = len(STATE.active)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def hostport(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for opt in ("--listen", "--control", "--upstream", "--cert", "--key",
                "--ca-bundle"):
        p.add_argument(opt, required=True)
    ARGS = p.parse_args()
    proxy = Server(hostport(ARGS.listen), Proxy)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.cert, ARGS.key)
    proxy.socket = ctx.wrap_socket(proxy.socket, server_side=True)
    control = Server(hostport(ARGS.control), Control)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    sys.stderr.write("ari_proxy: %s -> %s, control on %s\n"
                     % (ARGS.listen, ARGS.upstream, ARGS.control))
    try:
        proxy.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
