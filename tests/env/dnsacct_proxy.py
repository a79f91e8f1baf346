#!/usr/bin/env python3
"""dns-account-01 test fixture for byoca's integration tests.

Pebble 2.4 (the one Debian ships) has no dns-account-01
(draft-ietf-acme-dns-account-label), so this fixture -- test code only,
never a CA -- stands in front of a Pebble started with
PEBBLE_VA_ALWAYS_VALID=1 as a TLS reverse proxy and does the validation
itself:

* in every authorization (and challenge object) it relays, the
  "tls-alpn-01" challenge becomes a "dns-account-01" challenge with the
  same URL and token (so the JWS "url" byoca signs is still Pebble's;
  wildcard authorizations, which offer only dns-01, get none);
* it learns each account's key from newAccount requests (the "jwk" of the
  protected header; the account URL from the Location of the answer);
* when a client answers such a challenge (POST to its URL with payload
  "{}"), the proxy computes the record name itself,
  "_" + base32(SHA-256(account URL)[0:10]) lowercase + "._acme-challenge."
  + identifier, and the value base64url(SHA-256(token "." thumbprint)),
  asks the DNS server the test runs (dig, no recursion) for TXT at that
  name, and records what it saw; only if the value is there (and the test
  did not ask for a rejection) is the answer forwarded to Pebble, which
  then marks it valid. Otherwise the client gets 403
  urn:ietf:params:acme:error:incorrectResponse, so a wrong label fails;
* everything else is forwarded to Pebble byte for byte, with the client's
  Host header, so the URLs Pebble builds point back at the proxy.

Control API (plain HTTP, loopback), bodies JSON:
  GET  /health                -> {"ok": true}
  POST /config {"dns": "IP:PORT"?, "reject": bool?, "offer": bool?}
        DNS server to check; refuse every answer after checking it;
        offer dns-account-01 at all (default true)
  GET  /checks -> [{"name": FQDN, "want": VALUE, "found": bool,
                    "values": [...], "account": URL}]
  POST /reset   forget checks and configuration (accounts are kept)

Usage: dnsacct_proxy.py --listen ADDR:PORT --control ADDR:PORT
         --upstream https://127.0.0.1:PORT --cert PEM --key PEM
         --ca-bundle PEM --dns IP:PORT
"""

import argparse
import base64
import hashlib
import http.client
import http.server
import json
import socketserver
import ssl
import subprocess
import sys
import threading
import urllib.parse

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
       "te", "trailer", "upgrade", "content-length"}
ACME_TYPE = "dns-account-01"
ARGS = None


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.thumbs = {}      # account URL -> JWK thumbprint
        self.chall = {}       # challenge path -> (identifier, token)
        self.reset()

    def reset(self):
        self.dns = ARGS.dns if ARGS else None
        self.reject = False
        self.offer = True
        self.checks = []


STATE = None


def b64url(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def b64url_json(s):
    s = s + "=" * (-len(s) % 4)
    return json.loads(base64.urlsafe_b64decode(s.encode()))


def thumbprint(jwk):
    """RFC 7638 thumbprint of an EC, RSA or OKP key."""
    kty = jwk.get("kty")
    if kty == "EC":
        keys = ["crv", "kty", "x", "y"]
    elif kty == "RSA":
        keys = ["e", "kty", "n"]
    else:
        keys = ["crv", "kty", "x"]
    canon = json.dumps({k: jwk[k] for k in keys}, separators=(",", ":"),
                       sort_keys=True)
    return b64url(hashlib.sha256(canon.encode()).digest())


def account_label(url):
    h = hashlib.sha256(url.encode()).digest()[:10]
    return "_" + base64.b32encode(h).decode().lower()


def txt_values(server, name):
    host, port = server.rsplit(":", 1)
    out = subprocess.run(
        ["dig", "+short", "+norecurse", "+time=2", "+tries=2", "-p", port,
         "@" + host, name, "TXT"], capture_output=True, text=True,
        timeout=15).stdout
    vals = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('"'):
            vals.append("".join(p for p in line.split('"')[1::2]))
    return vals


def upstream_conn():
    u = urllib.parse.urlsplit(ARGS.upstream)
    ctx = ssl.create_default_context(cafile=ARGS.ca_bundle)
    return http.client.HTTPSConnection(u.hostname, u.port, context=ctx,
                                       timeout=30)


def path_of(url):
    return urllib.parse.urlsplit(url).path


def rewrite(obj):
    """Turns tls-alpn-01 into dns-account-01 in an authorization or a
    challenge object; remembers the challenges. Returns True if changed."""
    changed = False
    if not isinstance(obj, dict):
        return False
    if isinstance(obj.get("challenges"), list):
        ident = (obj.get("identifier") or {}).get("value")
        for c in obj["challenges"]:
            if isinstance(c, dict) and c.get("type") == "tls-alpn-01" \
                    and STATE.offer:
                c["type"] = ACME_TYPE
                with STATE.lock:
                    STATE.chall[path_of(c.get("url", ""))] = (
                        ident, c.get("token"))
                changed = True
    elif obj.get("type") == "tls-alpn-01" and "url" in obj:
        with STATE.lock:
            known = path_of(obj["url"]) in STATE.chall
        if known:
            obj["type"] = ACME_TYPE
            changed = True
    return changed


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
        ctype = None
        rest = []
        for k, v in headers:
            if k.lower() == "content-type":
                ctype = v
            else:
                rest.append((k, v))
        if ctype and "json" in ctype and data:
            try:
                obj = json.loads(data)
                if rewrite(obj):
                    data = json.dumps(obj).encode()
            except ValueError:
                pass
        self.send(status, data, ctype, rest)

    def do_HEAD(self):
        st, hdrs, _ = self.forward(None)
        self.send_response(st)
        for k, v in hdrs:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self.relay(*self.forward(None))

    def do_POST(self):
        body = self.body()
        try:
            jws = json.loads(body)
            prot = b64url_json(jws["protected"])
            payload = jws.get("payload", "")
        except (ValueError, KeyError, TypeError):
            prot, payload = {}, ""
        with STATE.lock:
            target = STATE.chall.get(self.path)
        if target is not None and payload not in ("", None):
            if not self.check(prot.get("kid"), target):
                return
        st, hdrs, data = self.forward(body)
        if "jwk" in prot and st in (200, 201):
            loc = dict((k.lower(), v) for k, v in hdrs).get("location")
            if loc:
                with STATE.lock:
                    STATE.thumbs[loc] = thumbprint(prot["jwk"])
        self.relay(st, hdrs, data)

    def check(self, kid, target):
        ident, token = target
        with STATE.lock:
            thumb = STATE.thumbs.get(kid)
            dns, reject = STATE.dns, STATE.reject
        if thumb is None or ident is None or token is None:
            self.problem("unauthorized", "fixture: unknown account " +
                         str(kid))
            return False
        name = account_label(kid) + "._acme-challenge." + ident + "."
        want = b64url(hashlib.sha256(
            (token + "." + thumb).encode()).digest())
        try:
            vals = txt_values(dns, name)
        except (OSError, subprocess.SubprocessError) as e:
            vals = ["(dig failed: %s)" % e]
        found = want in vals
        with STATE.lock:
            STATE.checks.append({"name": name, "want": want, "found": found,
                                 "values": vals, "account": kid})
        if not found or reject:
            self.problem("incorrectResponse",
                         "fixture: %s TXT %s at %s (saw %s)" %
                         (name, "found but refused" if found else
                          "not found", dns, vals))
            return False
        return True

    def problem(self, kind, detail):
        self.send(403, json.dumps({
            "type": "urn:ietf:params:acme:error:" + kind,
            "detail": detail, "status": 403}),
            "application/problem+json")


class Control(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, obj, status=200):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            return self.reply({"ok": True})
        if self.path == "/checks":
            with STATE.lock:
                return self.reply(list(STATE.checks))
        self.reply({"error": "not found"}, 404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            return self.reply({"error": "bad json"}, 400)
        with STATE.lock:
            if self.path == "/reset":
                STATE.reset()
            elif self.path == "/config":
                if "dns" in req:
                    STATE.dns = req["dns"]
                if "reject" in req:
                    STATE.reject = bool(req["reject"])
                if "offer" in req:
                    STATE.offer = bool(req["offer"])
            else:
                return self.reply({"error": "not found"}, 404)
        self.reply({"ok": True})


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def addr(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def main():
    global ARGS, STATE
    ap = argparse.ArgumentParser()
    for a in ("--listen", "--control", "--upstream", "--cert", "--key",
              "--ca-bundle", "--dns"):
        ap.add_argument(a, required=True)
    ARGS = ap.parse_args()
    STATE = State()
    ctl = Server(addr(ARGS.control), Control)
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    srv = Server(addr(ARGS.listen), Proxy)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.cert, ARGS.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
