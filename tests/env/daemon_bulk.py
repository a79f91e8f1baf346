#!/usr/bin/env python3
"""Test helper (not a product component): many certificates through
byocad's API on its unix socket, for the mass-renewal tests.

  daemon_bulk.py SOCK TOKEN_FILE add N DOMAIN CA      adds N lineages
      n0.DOMAIN .. n<N-1>.DOMAIN at CA; prints their ids, one a line
  daemon_bulk.py SOCK TOKEN_FILE wait SECONDS EXPR OUT
      waits until EXPR (Python over d, a certificate object) holds for
      every lineage of the token's tenant; writes {id: certificate} as
      JSON to OUT; exits 1 on timeout naming how many still do not
"""
import http.client
import json
import socket
import sys
import time


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


def call(sock, token, method, path, body=None):
    c = UnixConn(sock)
    hdrs = {"Authorization": "Bearer " + token}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=hdrs)
    r = c.getresponse()
    out = r.read()
    c.close()
    return r.status, json.loads(out) if out else None


def all_certs(sock, token):
    after, out = 0, {}
    while True:
        st, page = call(sock, token, "GET",
                        "/v1/certificates?limit=1000&after=%d" % after)
        if st != 200:
            raise SystemExit("list: HTTP %d %s" % (st, page))
        for c in page["items"]:
            out[c["id"]] = c
        if not page["items"] or page["next_after"] is None:
            return out
        after = page["next_after"]


def main():
    sock, token = sys.argv[1], open(sys.argv[2]).read().split()[0]
    verb = sys.argv[3]
    if verb == "add":
        n, domain, ca = int(sys.argv[4]), sys.argv[5], sys.argv[6]
        for i in range(n):
            st, c = call(sock, token, "POST", "/v1/certificates",
                         {"identifiers": ["n%d.%s" % (i, domain)], "ca": ca})
            if st != 201:
                raise SystemExit("add %d: HTTP %d %s" % (i, st, c))
            print(c["id"])
        return
    secs, expr, out = float(sys.argv[4]), sys.argv[5], sys.argv[6]
    deadline = time.time() + secs
    test = compile(expr, "EXPR", "eval")
    while True:
        certs = all_certs(sock, token)
        bad = [i for i, d in certs.items() if not eval(test, {"d": d})]
        if not bad:
            with open(out, "w") as f:
                json.dump(certs, f)
            return
        if time.time() > deadline:
            sample = certs[bad[0]]
            raise SystemExit("%d of %d lineages never (%s); e.g. %s"
                             % (len(bad), len(certs), expr, json.dumps(sample)))
        time.sleep(1)


if __name__ == "__main__":
    main()
