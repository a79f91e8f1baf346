#!/usr/bin/env python3
"""Hostile ACME server: a TEST FIXTURE of byoca, not a CA.

No real server misbehaves on purpose, so this small program does: it serves
a valid-looking ACME directory and then misbehaves in exactly one named way
(--scenario NAME; --list prints them). It implements the minimal ACME flow
itself rather than proxying Pebble: every JWS is accepted without checking
its signature, nonces are random, authorizations are valid at once (no
challenge is ever checked), and certificates are signed by a throw-away
root -> intermediate made with the openssl command in --work. Python 3
standard library only (plus the openssl binary for certificates).

Helpers that run next to it, for the integration tests:
  --canary ADDR:PORT[,ADDR:PORT...]   TCP listeners that log every
      connection to --log: where traffic would go if a guard failed.
  --dns-port PORT   a tiny DNS server on --addr answering A queries for
      *.rebind.test: the first answer --rebind-first, later ones
      --rebind-then (DNS rebinding); AAAA and others: no data.

Only ever started by tests/hostile/lib.sh inside a network namespace.
"""
import argparse
import base64
import json
import os
import random
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# scenario -> one-line description (also what --list prints)
SCENARIOS = {
    "normal": "a well-behaved CA (control run)",
    # transport
    "body_100mb": "newAccount answers a 100 MB body (Content-Length given)",
    "body_chunked_endless": "newAccount answers an endless chunked body",
    "slowloris": "newAccount answers one byte per second",
    "no_response": "the newAccount request is read, never answered",
    "tls_hang": "TCP accepted, the TLS handshake never completes",
    # JSON and directory
    "json_deep": "the directory is JSON nested 100,000 deep",
    "json_bad_utf8": "the order is JSON with invalid UTF-8 in a string",
    "json_numbers": "the order has numbers where strings belong",
    "json_dup_keys": "the order has a duplicate \"status\" key",
    "dir_no_newnonce": "the directory has no newNonce",
    "dir_http_urls": "the directory's URLs are http:// on another host",
    "dir_other_host": "newOrder points at another host (10.0.0.1)",
    "dir_private_addr": "newAccount points at 169.254.169.254",
    "dir_file_url": "newNonce is a file:// URL",
    # redirects (of the directory GET)
    "redirect_loop": "the directory redirects to itself through a loop",
    "redirect_chain20": "the directory is behind 20 redirects",
    "redirect_metadata": "the directory redirects to 169.254.169.254",
    "redirect_loopback": "the directory redirects to 127.0.0.1",
    "redirect_mapped": "the directory redirects to [::ffff:10.0.0.1]",
    "dns_rebind": "newOrder on rebind.test, whose DNS answer changes to "
    "10.0.0.1 after the first lookup",
    # nonces
    "nonce_none": "no Replay-Nonce, ever",
    "nonce_bad_forever": "every signed request gets badNonce",
    "nonce_invalid_chars": "Replay-Nonce values with invalid characters",
    # timing
    "retry_after_huge": "order processing forever, Retry-After: 999999999",
    "retry_after_negative": "order processing forever, Retry-After: -5",
    "retry_after_1970": "order processing forever, Retry-After in 1970",
    "retry_after_2200": "order processing forever, Retry-After in 2200",
    "order_processing_forever": "order processing forever, no Retry-After",
    # order
    "order_other_idents": "the order's identifiers differ from the request",
    "authz_other_name": "an authorization for a name never asked for",
    "challenge_other_host": "the challenge URL is on another host (10.0.0.1)",
    # certificates
    "cert_wrong_key": "the certificate's key is not the CSR's key",
    "cert_other_sans": "the certificate has other SANs",
    "cert_expired": "the certificate is expired",
    "cert_future": "the certificate's notBefore is in 2100",
    "chain_1000": "a chain of 1,000 certificates",
    "pem_garbage": "the certificate is PEM garbage",
    "cert_10mb": "a 10 MB certificate",
    "chain_no_issuer": "the chain does not hold the leaf's issuer",
    # problem documents (newOrder refused)
    "problem_10mb": "a problem document of 10 MB",
    "problem_subproblems": "a problem document with 100,000 subproblems",
    "problem_escapes": "control characters and terminal escapes in detail",
}

ARGS = None
LOG_LOCK = threading.Lock()
STATE = {"orders": {}, "next": 0, "lock": threading.Lock()}


def log(line):
    if ARGS.log:
        with LOG_LOCK, open(ARGS.log, "a") as f:
            f.write(line + "\n")


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def nonce():
    if ARGS.scenario == "nonce_invalid_chars":
        return "bad nonce+/=!$%"
    return base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")


# ---------------------------------------------------------------- openssl

def openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], input=stdin, check=True,
                          capture_output=True).stdout


def make_ca(work):
    """Root and intermediate (P-256), once per work dir."""
    if os.path.exists(os.path.join(work, "int.pem")):
        return
    ext = os.path.join(work, "ca.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:TRUE\n"
                "keyUsage=critical,keyCertSign,cRLSign\n"
                "subjectKeyIdentifier=hash\n")
    for name, cn in (("root", "hostile root"), ("other", "unrelated root")):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                "-subj", "/CN=" + cn, "-keyout", f"{work}/{name}.key",
                "-out", f"{work}/{name}.pem", "-addext",
                "basicConstraints=critical,CA:TRUE", "-addext",
                "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-subj",
            "/CN=hostile intermediate", "-keyout", f"{work}/int.key",
            "-out", f"{work}/int.csr")
    openssl("x509", "-req", "-in", f"{work}/int.csr", "-CA",
            f"{work}/root.pem", "-CAkey", f"{work}/root.key",
            "-CAcreateserial", "-days", "30", "-extfile", ext,
            "-out", f"{work}/int.pem")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", f"{work}/stranger.key")
    openssl("pkey", "-in", f"{work}/stranger.key", "-pubout", "-out",
            f"{work}/stranger.pub")


def sign_leaf(csr_der, names, n):
    """A leaf for the CSR, bent the way the scenario wants."""
    w, sc = ARGS.work, ARGS.scenario
    csr = f"{w}/leaf{n}.csr"
    with open(csr, "wb") as f:
        f.write(csr_der)
    if sc == "cert_other_sans":
        names = names + ["intruder.example"]
    san = ",".join(("IP:" if ":" in x or x.replace(".", "").isdigit()
                    else "DNS:") + x for x in names)
    ext = f"{w}/leaf{n}.ext"
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                f"subjectAltName={san}\n")
    ca, cakey = f"{w}/int.pem", f"{w}/int.key"
    if sc in ("cert_expired", "cert_future"):
        # openssl 3.0's x509 -req cannot set the dates: openssl ca can
        start, end = (("20200101000000Z", "20200401000000Z")
                      if sc == "cert_expired" else
                      ("21000101000000Z", "21000401000000Z"))
        db = f"{w}/ca{n}"
        os.makedirs(db, exist_ok=True)
        open(f"{db}/index.txt", "w").close()
        with open(f"{db}/ca.cnf", "w") as f:
            f.write(f"[ca]\ndefault_ca=c\n[c]\ndatabase={db}/index.txt\n"
                    f"new_certs_dir={db}\nserial={db}/serial\n"
                    "default_md=sha256\npolicy=p\nunique_subject=no\n"
                    "copy_extensions=none\n[p]\n")
        with open(f"{db}/serial", "w") as f:
            f.write("%02X\n" % (n + 16))
        openssl("req", "-in", csr, "-inform", "DER", "-out", f"{csr}.pem")
        openssl("ca", "-batch", "-config", f"{db}/ca.cnf", "-in",
                f"{csr}.pem", "-cert", ca, "-keyfile", cakey, "-startdate",
                start, "-enddate", end, "-extfile", ext, "-subj",
                "/CN=" + names[0], "-out", f"{w}/leaf{n}.pem", "-notext")
        return open(f"{w}/leaf{n}.pem").read()
    args = ["x509", "-req", "-in", csr, "-inform", "DER", "-CA", ca,
            "-CAkey", cakey, "-set_serial", str(1000 + n), "-days", "7",
            "-extfile", ext, "-out", f"{w}/leaf{n}.pem"]
    if sc == "cert_wrong_key":
        args += ["-force_pubkey", f"{w}/stranger.pub"]
    openssl(*args)
    return open(f"{w}/leaf{n}.pem").read()


def chain_for(leaf):
    w, sc = ARGS.work, ARGS.scenario
    inter = open(f"{w}/int.pem").read()
    if sc == "chain_1000":
        return leaf + inter * 999
    if sc == "pem_garbage":
        return ("-----BEGIN CERTIFICATE-----\nthis is !!not base64 at all"
                "\n-----END CERTIFICATE-----\n")
    if sc == "cert_10mb":
        body = base64.encodebytes(os.urandom(10 * 1024 * 1024)).decode()
        return "-----BEGIN CERTIFICATE-----\n%s-----END CERTIFICATE-----\n" % body
    if sc == "chain_no_issuer":
        return leaf + open(f"{w}/other.pem").read()
    return leaf + inter


# ------------------------------------------------------------------- HTTP

def problem(ptype, detail, **more):
    d = {"type": "urn:ietf:params:acme:error:" + ptype, "detail": detail,
         "status": 400}
    d.update(more)
    return d


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile"
    sys_version = ""

    def setup(self):
        if ARGS.scenario == "tls_hang":
            log("accepted, holding the handshake")
            time.sleep(3600)  # never speak TLS; the client must give up
            raise ConnectionError("tls_hang")
        if ARGS.cert:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(ARGS.cert, ARGS.key)
            self.request = ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, fmt, *a):
        log("%s %s" % (self.command, self.path))

    @property
    def base(self):
        host = self.headers.get("Host") or "%s:%d" % (ARGS.addr, ARGS.port)
        return ("https://" if ARGS.cert else "http://") + host

    # ------------------------------------------------------------ sending
    def send(self, status, body=b"", ctype="application/json", headers=(),
             with_nonce=True):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if with_nonce and ARGS.scenario != "nonce_none":
            self.send_header("Replay-Nonce", nonce())
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_big(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Replay-Nonce", nonce())
        self.send_header("Content-Length", str(100 * 1024 * 1024))
        self.end_headers()
        chunk = b" " * 65536
        for _ in range(1600):
            self.wfile.write(chunk)

    def send_endless(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Replay-Nonce", nonce())
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b" " * 8192
        while True:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    def send_slow(self):
        raw = (b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
               b"Replay-Nonce: " + nonce().encode() + b"\r\n"
               b"Content-Length: 2\r\n\r\n{}")
        for b in raw:
            self.wfile.write(bytes([b]))
            self.wfile.flush()
            time.sleep(1)

    # ------------------------------------------------------------ routing
    def do_HEAD(self):
        self.route()

    def do_GET(self):
        self.route()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if 0 < n < 1 << 20 else b""
        self.payload = None
        try:
            jws = json.loads(raw)
            p = jws.get("payload", "")
            self.payload = json.loads(b64u_dec(p)) if p else None
        except (ValueError, AttributeError):
            pass
        self.route()

    def route(self):
        sc, path = ARGS.scenario, self.path.split("?")[0]
        if sc == "nonce_bad_forever" and self.command == "POST":
            return self.send(400, problem("badNonce", "stale nonce"),
                             "application/problem+json")
        if path in ("/dir", "/.well-known/acme", "/dir-final"):
            return self.directory(path)
        if path.startswith("/hop"):
            return self.hop(path)
        if path == "/nonce":
            hdr = [("Cache-Control", "no-store")]
            return self.send(200 if self.command == "HEAD" else 204, b"",
                             None, hdr)
        if path == "/acct":
            return self.new_account()
        if path.startswith("/acct/"):
            return self.send(200, {"status": "valid"})
        if path == "/order":
            return self.new_order()
        if path.startswith("/order/"):
            return self.order(int(path.split("/")[2]))
        if path.startswith("/authz/"):
            return self.authz(*map(int, path.split("/")[2:4]))
        if path.startswith("/chall/"):
            return self.send(200, {"type": "http-01", "status": "processing"})
        if path.startswith("/finalize/"):
            return self.finalize(int(path.split("/")[2]))
        if path.startswith("/cert/"):
            return self.certificate(int(path.split("/")[2]))
        return self.send(404, problem("malformed", "no such resource"),
                         "application/problem+json")

    def directory(self, path):
        sc, b = ARGS.scenario, self.base
        if sc.startswith("redirect_") and path != "/dir-final":
            target = {
                "redirect_loop": "/hop/1",
                "redirect_chain20": "/hop/1",
                "redirect_metadata": "https://169.254.169.254/latest/meta-data/",
                "redirect_loopback": "https://127.0.0.1:%d/dir" % ARGS.port,
                "redirect_mapped": "https://[::ffff:10.0.0.1]:%d/dir" % ARGS.port,
            }[sc]
            return self.send(302, b"", None, [("Location", target)])
        if sc == "json_deep":
            deep = "[" * 100000 + "]" * 100000
            return self.send(200, '{"newNonce": %s}' % deep)
        d = {"newNonce": b + "/nonce", "newAccount": b + "/acct",
             "newOrder": b + "/order", "revokeCert": b + "/revoke",
             "keyChange": b + "/keychange", "meta": {}}
        if sc == "dir_no_newnonce":
            del d["newNonce"]
        elif sc == "dir_http_urls":
            for k in ("newNonce", "newAccount", "newOrder"):
                d[k] = "http://10.0.0.1:%d/%s" % (ARGS.port, k)
        elif sc == "dir_other_host":
            d["newOrder"] = "https://10.0.0.1:%d/order" % ARGS.port
        elif sc == "dir_private_addr":
            d["newAccount"] = "https://169.254.169.254/acct"
        elif sc == "dir_file_url":
            d["newNonce"] = "file:///etc/passwd"
        elif sc == "dns_rebind":
            d["newOrder"] = "https://ca.rebind.test:%d/order" % ARGS.port
        return self.send(200, d)

    def hop(self, path):
        i = int(path.split("/")[2])
        if ARGS.scenario == "redirect_loop":
            nxt = "/hop/%d" % (i % 3 + 1)
        else:
            nxt = "/hop/%d" % (i + 1) if i < 20 else "/dir-final"
        log("redirect %d -> %s" % (i, nxt))
        return self.send(302, b"", None, [("Location", nxt)])

    def new_account(self):
        sc = ARGS.scenario
        if sc == "body_100mb":
            return self.send_big()
        if sc == "body_chunked_endless":
            return self.send_endless()
        if sc == "slowloris":
            return self.send_slow()
        if sc == "no_response":
            time.sleep(3600)
            return None
        return self.send(201, {"status": "valid", "orders": self.base +
                               "/acct/1/orders"}, headers=[
                                   ("Location", self.base + "/acct/1")])

    def new_order(self):
        sc = ARGS.scenario
        if sc == "problem_10mb":
            p = problem("serverInternal", "x" * (10 * 1024 * 1024))
            return self.send(500, p, "application/problem+json")
        if sc == "problem_subproblems":
            # compact so that 100,000 fit under byoca's body limit
            subs = ",".join(['{"detail":"s"}'] * 100000)
            body = ('{"type":"urn:ietf:params:acme:error:rejectedIdentifier",'
                    '"detail":"many","status":400,"subproblems":[%s]}' % subs)
            return self.send(400, body, "application/problem+json")
        if sc == "problem_escapes":
            d = ("evil\x1b[2J\x1b[31mRED\x1b]0;pwned\x07 bell\x07 cr\r"
                 "nl\nnul-ish\x01\x7f c1\u009b31m end")
            return self.send(500, problem("serverInternal", d),
                             "application/problem+json")
        ids = (self.payload or {}).get("identifiers") or []
        with STATE["lock"]:
            n = STATE["next"]
            STATE["next"] += 1
            STATE["orders"][n] = {"ids": ids, "cert": None}
        return self.send(201, self.order_obj(n), headers=[
            ("Location", "%s/order/%d" % (self.base, n))])

    def order_obj(self, n):
        o, b, sc = STATE["orders"][n], self.base, ARGS.scenario
        ids = o["ids"]
        if sc == "order_other_idents":
            ids = [{"type": "dns", "value": "intruder.example"}]
        st = "valid" if o["cert"] else ("processing" if o.get("final")
                                        else "ready" if o.get("seen") else
                                        "pending")
        if sc.startswith("retry_after_") or sc == "order_processing_forever":
            st = "processing" if o.get("final") else st
        obj = {"status": st, "expires": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)),
            "identifiers": ids,
            "authorizations": ["%s/authz/%d/%d" % (b, n, i)
                               for i in range(len(ids))],
            "finalize": "%s/finalize/%d" % (b, n)}
        if st == "valid":
            obj["certificate"] = "%s/cert/%d" % (b, n)
        return obj

    def send_order(self, n, status=200, headers=()):
        sc = ARGS.scenario
        obj = self.order_obj(n)
        if sc == "json_numbers":
            obj["status"], obj["finalize"] = 1, 42
            obj["authorizations"] = [7]
        if sc == "json_dup_keys":
            body = json.dumps(obj)[:-1] + ', "status": "valid"}'
            return self.send(status, body, headers=headers)
        if sc == "json_bad_utf8":
            body = json.dumps(obj).encode()
            body = body.replace(b'"status": "',
                                b'"status": "\xff\xfe\xc0\xaf', 1)
            return self.send(status, body, headers=headers)
        hdr = list(headers)
        ra = {"retry_after_huge": "999999999", "retry_after_negative": "-5",
              "retry_after_1970": "Thu, 01 Jan 1970 00:00:00 GMT",
              "retry_after_2200": "Wed, 01 Jan 2200 00:00:00 GMT"}.get(sc)
        if ra and obj["status"] == "processing":
            hdr.append(("Retry-After", ra))
        return self.send(status, obj, headers=hdr)

    def order(self, n):
        if n not in STATE["orders"]:
            return self.send(404, problem("malformed", "no such order"),
                             "application/problem+json")
        return self.send_order(n)

    def authz(self, n, i):
        o, sc = STATE["orders"].get(n), ARGS.scenario
        if o is None or i >= len(o["ids"]):
            return self.send(404, problem("malformed", "no such authz"),
                             "application/problem+json")
        ident = dict(o["ids"][i])
        if sc == "authz_other_name":
            ident = {"type": "dns", "value": "never-asked.example"}
        o["seen"] = True
        if sc == "challenge_other_host":
            return self.send(200, {
                "status": "pending", "identifier": ident,
                "challenges": [{
                    "type": "http-01", "status": "pending",
                    "token": "tok_" + "A" * 40,
                    "url": "https://10.0.0.1:%d/chall/1" % ARGS.port}]})
        return self.send(200, {
            "status": "valid", "identifier": ident,
            "challenges": [{"type": "http-01", "status": "valid",
                            "token": "tok_" + "A" * 40,
                            "url": "%s/chall/%d/%d" % (self.base, n, i)}]})

    def finalize(self, n):
        o, sc = STATE["orders"].get(n), ARGS.scenario
        if o is None:
            return self.send(404, problem("malformed", "no such order"),
                             "application/problem+json")
        o["final"] = True
        if not (sc.startswith("retry_after_") or
                sc == "order_processing_forever"):
            csr = b64u_dec((self.payload or {}).get("csr", ""))
            names = [x.get("value", "") for x in o["ids"]]
            try:
                o["cert"] = chain_for(sign_leaf(csr, names, n))
            except subprocess.CalledProcessError as e:
                log("openssl failed: %s" % e.stderr.decode(errors="replace"))
                return self.send(500, problem("serverInternal", "openssl"),
                                 "application/problem+json")
        return self.send_order(n)

    def certificate(self, n):
        o = STATE["orders"].get(n)
        if o is None or not o["cert"]:
            return self.send(404, problem("malformed", "no certificate"),
                             "application/problem+json")
        return self.send(200, o["cert"], "application/pem-certificate-chain")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, handler)

    def handle_error(self, request, client_address):
        log("connection ended: %s" % (sys.exc_info()[1],))


# ------------------------------------------------------------ canaries

class Canary(socketserver.BaseRequestHandler):
    def handle(self):
        log("CANARY %s:%d <- %s" % (self.server.server_address[0],
                                    self.server.server_address[1],
                                    self.client_address[0]))


def start_canaries(spec):
    for item in spec.split(","):
        host, port = item.rsplit(":", 1)
        host = host.strip("[]")

        class S(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = S((host, int(port)), Canary)
        threading.Thread(target=s.serve_forever, daemon=True).start()


# -------------------------------------------------------------------- DNS

def dns_server(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ARGS.addr, port))
    asked = {}

    def serve():
        while True:
            q, peer = s.recvfrom(4096)
            try:
                s.sendto(dns_answer(q, asked), peer)
            except (IndexError, struct.error):
                pass
    threading.Thread(target=serve, daemon=True).start()


def dns_answer(q, asked):
    qid, _flags, qd = struct.unpack(">HHH", q[:6])
    off, labels = 12, []
    while q[off]:
        labels.append(q[off + 1:off + 1 + q[off]].decode().lower())
        off += 1 + q[off]
    qtype = struct.unpack(">H", q[off + 1:off + 3])[0]
    question = q[12:off + 5]
    name = ".".join(labels)
    hdr_flags = 0x8400  # response, authoritative, NOERROR
    ans = b""
    if name.endswith("rebind.test") and qtype == 1:
        k = asked.get(name, 0)
        asked[name] = k + 1
        ip = ARGS.rebind_first if k == 0 else ARGS.rebind_then
        log("DNS %s A #%d -> %s" % (name, k + 1, ip))
        ans = (b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 0, 4) +
               socket.inet_aton(ip))
    else:
        log("DNS %s type %d -> no data" % (name, qtype))
    return struct.pack(">HHHHHH", qid, hdr_flags, qd, 1 if ans else 0, 0,
                       0) + question + ans


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="normal")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--work", default=".")
    ap.add_argument("--log")
    ap.add_argument("--canary")
    ap.add_argument("--dns-port", type=int)
    ap.add_argument("--rebind-first", default="127.0.0.2")
    ap.add_argument("--rebind-then", default="10.0.0.1")
    ARGS = ap.parse_args()
    if ARGS.list:
        for k, v in SCENARIOS.items():
            print("%-26s %s" % (k, v))
        return 0
    if ARGS.scenario not in SCENARIOS:
        sys.exit("unknown scenario %r (--list)" % ARGS.scenario)
    if ARGS.canary:
        start_canaries(ARGS.canary)
    if ARGS.dns_port:
        dns_server(ARGS.dns_port)
    if ARGS.port:
        make_ca(ARGS.work)
        srv = Server((ARGS.addr, ARGS.port), Handler)
        log("serving %s on %s:%d" % (ARGS.scenario, ARGS.addr, ARGS.port))
        srv.serve_forever()
    else:
        while True:
            time.sleep(3600)
    return 0


if __name__ == "__main__":
    random.seed()
    sys.exit(main())
