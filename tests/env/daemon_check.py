#!/usr/bin/env python3
"""Test helper for byocad's durability tests (tests/integration/test_daemon_*).

Reads byocad's store strictly read-only: DB is a SQLite file (URI mode=ro;
safe while the daemon runs, the store is in WAL mode) or a postgresql://
URL (read through psql, tests/env/pg.sh's cluster), talks to the REST API over its unix
socket in bulk (one process instead of a curl per request), and counts what
Pebble did from its log. Prints JSON on stdout; exits 1 with a reason on
stderr when something is wrong. Tokens are read from files, never taken
from argv, never printed.

  db-state DB                  {"states": {...}, "orders": n, "orders_keyed": n,
                                "order_certs": [...], "keyed_certs": [...],
                                "order_urls": {cert_id: url},
                                "leased_unordered": [...], "max_event": n}
  wait-db DB SECONDS MIN_ISSUED [keyed]
                               exits 0 as soon as MIN_ISSUED lineages are
                               issued (with keyed: and an order row holds
                               its key, or all are issued), polling every
                               10 ms; 1 after SECONDS
  db-clean DB                  fails unless no in-flight order row, no
                               sealed order key, and no certificate key
                               outside an issued lineage is left (and every
                               issued lineage has its key and chain)
  wait-final DB SECONDS COUNT  exits 0 as soon as exactly COUNT lineages are
                               left, all issued, with no order row (every
                               deletion done); 1 after SECONDS
  delete-certs SOCK TOKEN ID...
                               DELETE /v1/certificates/ID for each (202;
                               404 only for one already gone)
  check-deploy DIR LIST        the deployed files of every lineage of LIST
                               (a list-certs answer) under DIR/<tenant>:
                               live/<id> links to a complete version whose
                               cert.pem is the listed serial, privkey.pem
                               its key, fullchain.pem cert + chain; no
                               other lineage's files and no temp file
  add-certs SOCK TOKEN FMT FIRST LAST [PARALLEL]
                               POST /v1/certificates for FMT % i (one name
                               each), i in FIRST..LAST; prints the ids
  list-certs SOCK TOKEN        every certificate (all pages), by id
  list-events SOCK TOKEN [AFTER]
                               every event with id > AFTER (all pages)
  pebble-log LOG               {"orders": n, "accounts": n, "issued": n,
                                "serials": [...], "serial_by_order": {}}
                               from Pebble's log lines
                               'Added order "ID" to the db' (one per newOrder
                               it accepted), 'There are now N accounts in
                               memory' (after each new account) and 'Issued
                               certificate serial S for order ID' (one per
                               certificate it signed)
  pebble-proxy PORT UPSTREAM CERT KEY CAFILE
                               HTTPS reverse proxy on 127.0.0.1:PORT to the
                               Pebble on 127.0.0.1:UPSTREAM that keeps apart
                               the requests Pebble 2.4 can deadlock on (see
                               PebbleGate); runs until killed. The Host
                               header is kept, so Pebble's URLs name the
                               proxy.
"""

import concurrent.futures
import http.client
import http.server
import json
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time


def die(msg):
    print("daemon_check: " + msg, file=sys.stderr)
    sys.exit(1)


# ------------------------------------------------------------------ store


class PgRows(list):
    def fetchone(self):
        return self[0] if self else None


class PgCon:
    """A PostgreSQL store (a postgresql:// URL) read through psql, one call
    per query: the few reads these checks make, with the sqlite3 calls
    they use (execute with ? parameters, which are integers here;
    fetchone; iteration; close; with). Each query is its own snapshot:
    the checks read a store no byocad writes at that moment, or poll."""

    def __init__(self, url):
        self.url = url

    def execute(self, sql, params=()):
        if sql in ("BEGIN", "COMMIT"):
            return PgRows()
        for p in params:
            sql = sql.replace("?", str(int(p)), 1)
        r = subprocess.run(
            ["psql", self.url, "-XAtq", "-v", "ON_ERROR_STOP=1",
             "-F", "\x1f", "-P", "null=\x1e", "-c", sql],
            capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            die("psql: %s" % r.stderr.strip())
        return PgRows(tuple(PgCon.value(v) for v in line.split("\x1f"))
                      for line in r.stdout.splitlines())

    @staticmethod
    def value(v):
        if v == "\x1e":
            return None
        return int(v) if re.fullmatch(r"-?[0-9]+", v) else v

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def db_open(path):
    if path.startswith("postgresql://"):
        return PgCon(path)
    # mode=ro: never writes (no checkpoint, no schema change); reads the WAL.
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    con.execute("PRAGMA busy_timeout = 10000")
    return con


def columns(con, table):
    if isinstance(con, PgCon):
        return [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE "
            "table_name = '%s' ORDER BY ordinal_position" % table)]
    return [r[1] for r in con.execute("PRAGMA table_info(%s)" % table)]


def need(cols, table, *names):
    for n in names:
        if n not in cols:
            die("store table %s has no column %s (columns: %s)"
                % (table, n, ", ".join(cols)))


def order_key_column(cols):
    """The orders column holding the sealed certificate key."""
    for c in cols:
        if "key" in c and c not in ("cert_id",):
            return c
    die("orders table: no key column among %s" % ", ".join(cols))
    return None


def db_state(path):
    con = db_open(path)
    with con:
        # one read transaction: a consistent snapshot
        con.execute("BEGIN")
        ccols = columns(con, "certificates")
        need(ccols, "certificates", "id", "state", "lease_until")
        ocols = columns(con, "orders")
        need(ocols, "orders", "cert_id")
        kcol = order_key_column(ocols)
        states = {}
        for st, n in con.execute(
                "SELECT state, count(*) FROM certificates GROUP BY state"):
            states[str(st)] = n
        need(ocols, "orders", "order_url")
        order_urls = {str(r[0]): r[1] for r in con.execute(
            "SELECT cert_id, order_url FROM orders ORDER BY cert_id")}
        order_certs = [int(c) for c in order_urls]
        keyed = [r[0] for r in con.execute(
            "SELECT cert_id FROM orders WHERE %s IS NOT NULL "
            "AND length(%s) > 0 ORDER BY cert_id" % (kcol, kcol))]
        now = int(time.time())
        leased = [r[0] for r in con.execute(
            "SELECT id FROM certificates WHERE lease_until >= ? "
            "AND id NOT IN (SELECT cert_id FROM orders) ORDER BY id",
            (now,))]
        max_event = con.execute(
            "SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
        con.execute("COMMIT")
    con.close()
    return {"states": states, "orders": len(order_certs),
            "orders_keyed": len(keyed), "order_certs": order_certs,
            "keyed_certs": keyed, "order_urls": order_urls,
            "leased_unordered": leased,
            "max_event": max_event}


def db_wait(path, seconds, min_issued, keyed):
    """Polls the store every 10 ms (one process, one connection: a kill
    lands within milliseconds of the moment, even while issuances come in
    bursts) until at least min_issued lineages are issued and, with keyed,
    an order row holds its fresh key (an order is being finalized) or every
    lineage is issued. 0 when that happened, 1 after seconds."""
    con = db_open(path)
    ocols = columns(con, "orders")
    kcol = order_key_column(ocols)
    end = time.monotonic() + seconds
    while True:
        issued, total = con.execute(
            "SELECT coalesce(sum(CASE WHEN state = 1 THEN 1 ELSE 0 END), 0), count(*)"
            " FROM certificates").fetchone()
        ok = issued >= min_issued
        if ok and keyed and issued < total:
            ok = con.execute(
                "SELECT count(*) FROM orders WHERE %s IS NOT NULL"
                " AND length(%s) > 0" % (kcol, kcol)).fetchone()[0] > 0
        if ok:
            con.close()
            return 0
        if time.monotonic() > end:
            con.close()
            return 1
        time.sleep(0.01)


def db_final(path, seconds, count):
    con = db_open(path)
    end = time.monotonic() + seconds
    while True:
        issued, total = con.execute(
            "SELECT coalesce(sum(CASE WHEN state = 1 THEN 1 ELSE 0 END), 0), count(*)"
            " FROM certificates").fetchone()
        orders = con.execute("SELECT count(*) FROM orders").fetchone()[0]
        if issued == total == count and orders == 0:
            con.close()
            return 0
        if time.monotonic() > end:
            print("daemon_check: %d lineages, %d issued, %d order rows; "
                  "expected %d issued" % (total, issued, orders, count),
                  file=sys.stderr)
            con.close()
            return 1
        time.sleep(0.05)


def db_clean(path):
    con = db_open(path)
    ocols = columns(con, "orders")
    kcol = order_key_column(ocols)
    norders = con.execute("SELECT count(*) FROM orders").fetchone()[0]
    nkeys = con.execute("SELECT count(*) FROM orders WHERE %s IS NOT NULL"
                        % kcol).fetchone()[0]
    # orders pointing at lineages that no longer exist
    dangling = con.execute(
        "SELECT count(*) FROM orders WHERE cert_id NOT IN "
        "(SELECT id FROM certificates)").fetchone()[0]
    # sealed certificate keys belong to issued lineages only (state 1,
    # or 3 while being deleted): a pending/failed lineage holding one is
    # a key left over from an order that no longer exists
    ccols = columns(con, "certificates")
    need(ccols, "certificates", "key", "state", "fullchain")
    stray = con.execute(
        "SELECT count(*) FROM certificates WHERE key IS NOT NULL AND "
        "(state NOT IN (1, 3) OR fullchain IS NULL)").fetchone()[0]
    nokey = con.execute(
        "SELECT count(*) FROM certificates WHERE state = 1 AND "
        "(key IS NULL OR fullchain IS NULL)").fetchone()[0]
    con.close()
    out = {"orders": norders, "order_keys": nkeys, "dangling": dangling,
           "stray_cert_keys": stray, "issued_without_key": nokey}
    print(json.dumps(out))
    if norders or nkeys or dangling or stray or nokey:
        die("in-flight state left in the store: %s" % json.dumps(out))


# -------------------------------------------------------------------- API


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


def read_token(path):
    with open(path) as f:
        tok = f.read().split()
    if not tok:
        die("empty token file %s" % path)
    return tok[0]


def request(sock, token, method, path, body=None):
    hdr = {"Authorization": "Bearer " + token}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdr["Content-Type"] = "application/json"
    for attempt in range(3):
        c = UnixConn(sock)
        try:
            c.request(method, path, body=data, headers=hdr)
            r = c.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        except (ConnectionError, socket.timeout) as e:
            err = e
            time.sleep(0.2)
        finally:
            c.close()
    die("%s %s: no answer (%s)" % (method, path, err))
    return None


def add_certs(sock, tokfile, fmt, first, last, parallel):
    token = read_token(tokfile)

    def one(i):
        name = fmt % i
        st, body = request(sock, token, "POST", "/v1/certificates",
                           {"identifiers": [name]})
        if st != 201:
            die("POST /v1/certificates %s: HTTP %d %s" % (name, st, body[:300]))
        d = json.loads(body)
        if d.get("identifiers") != [name] or d.get("state") != "pending":
            die("POST /v1/certificates %s: unexpected answer %s"
                % (name, body[:300]))
        return d["id"]

    with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
        ids = list(ex.map(one, range(first, last + 1)))
    print(json.dumps(ids))


def delete_certs(sock, tokfile, ids):
    token = read_token(tokfile)
    for i in ids:
        st, body = request(sock, token, "DELETE", "/v1/certificates/%s" % i)
        if st not in (202, 404):
            die("DELETE /v1/certificates/%s: HTTP %d %s" % (i, st, body[:300]))


def openssl_pub(args, data):
    import subprocess
    r = subprocess.run(["openssl"] + args, input=data, capture_output=True)
    if r.returncode != 0:
        return None
    return r.stdout


def check_deploy(base, listfile):
    import os
    rows = json.load(open(listfile))
    errs = []
    tenants = [t for t in os.listdir(base) if not t.startswith(".")]
    for r in rows:
        hit = [t for t in tenants
               if os.path.lexists(os.path.join(base, t, "live", str(r["id"])))]
        if len(hit) != 1:
            errs.append("lineage %s: live/%s in %d tenant folders"
                        % (r["id"], r["id"], len(hit)))
            continue
        live = os.path.join(base, hit[0], "live", str(r["id"]))
        if not os.path.islink(live):
            errs.append("%s is not a symlink" % live)
            continue
        f = {}
        for n in ("cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"):
            try:
                f[n] = open(os.path.join(live, n), "rb").read()
            except OSError as e:
                errs.append("%s/%s: %s" % (live, n, e))
        if len(f) < 4:
            continue
        if f["fullchain.pem"] != f["cert.pem"] + f["chain.pem"]:
            errs.append("%s: fullchain.pem is not cert.pem + chain.pem" % live)
        ser = openssl_pub(["x509", "-noout", "-serial"], f["cert.pem"])
        ser = ser.decode().strip().split("=")[-1].lower().lstrip("0") \
            if ser else None
        want_ser = r["serial"].replace(":", "").lower().lstrip("0")
        if ser != want_ser:
            errs.append("%s: cert.pem serial %s, the API says %s"
                        % (live, ser, want_ser))
        kp = openssl_pub(["pkey", "-pubout"], f["privkey.pem"])
        cp = openssl_pub(["x509", "-noout", "-pubkey"], f["cert.pem"])
        if kp is None or kp != cp:
            errs.append("%s: privkey.pem does not match cert.pem" % live)
        if not f["chain.pem"].startswith(b"-----BEGIN CERTIFICATE-----") or \
                not f["chain.pem"].rstrip().endswith(b"-----END CERTIFICATE-----"):
            errs.append("%s: chain.pem is not complete" % live)
    ids = {str(r["id"]) for r in rows}
    for t in tenants:
        for part in ("live", "archive"):
            d = os.path.join(base, t, part)
            if not os.path.isdir(d):
                continue
            for n in os.listdir(d):
                if n.startswith("."):
                    errs.append("temp file left: %s/%s" % (d, n))
                elif n not in ids:
                    errs.append("%s/%s: files of a lineage that is gone"
                                % (d, n))
        for root, dirs, files in os.walk(os.path.join(base, t)):
            for n in dirs + files:
                if n.startswith("."):
                    errs.append("temp file left: %s/%s" % (root, n))
    print(json.dumps({"lineages": len(rows), "errors": len(errs)}))
    if errs:
        die("deployed files: %d problems:\n  %s"
            % (len(errs), "\n  ".join(sorted(set(errs))[:20])))


def list_all(sock, tokfile, path, after=0):
    token = read_token(tokfile)
    items = []
    sep = "&" if "?" in path else "?"
    while True:
        st, body = request(sock, token, "GET",
                           "%s%safter=%d&limit=1000" % (path, sep, after))
        if st != 200:
            die("GET %s: HTTP %d %s" % (path, st, body[:300]))
        d = json.loads(body)
        items += d["items"]
        if not d["items"] or d.get("next_after") is None:
            break
        if d["next_after"] <= after:
            die("GET %s: next_after %s does not advance past %d"
                % (path, d["next_after"], after))
        after = d["next_after"]
    ids = [x["id"] for x in items]
    if ids != sorted(set(ids)):
        die("GET %s: ids not strictly increasing across pages" % path)
    print(json.dumps(items))


# ----------------------------------------------------------------- Pebble


def pebble_log(path):
    orders = 0
    accounts = 0
    serials = []
    nacct = re.compile(r"There are now (\d+) accounts in memory")
    added = re.compile(r'Added order "[^"]+" to the db')
    issued = re.compile(
        r"Issued certificate serial ([0-9a-fA-F]+) for order (\S+)")
    by_order = {}
    with open(path, errors="replace") as f:
        for line in f:
            if added.search(line):
                orders += 1
            m = nacct.search(line)
            if m:
                accounts = max(accounts, int(m.group(1)))
            m = issued.search(line)
            if m:
                serials.append(m.group(1).lower().lstrip("0"))
                by_order[m.group(2)] = serials[-1]
    print(json.dumps({"orders": orders, "accounts": accounts,
                      "issued": len(serials), "serial_by_order": by_order,
                      "serials": serials}))


# ------------------------------------------------------ serializing proxy

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
       "te", "trailer", "upgrade", "content-length"}


class PebbleGate:
    """Which Pebble 2.4 requests may run at the same time.

    Pebble's MemoryStore has one RWMutex for the store and one per object,
    taken in both orders, and Go's RWMutex lets no new reader in while a
    writer waits. Two cycles hang Pebble for good (every later request
    waits on the store lock; goroutine dumps in pebble.log show them):
      1. newOrder + newOrder: FindValidAuthorization holds the store's read
         lock and read-locks every authorization, while makeChallenges of
         the other holds its new authorization's lock and waits for the
         store's write lock (AddChallenge).
      2. authorization GET + (newOrder or an order GET/finalize) + any store
         write (AddCertificate of a finalization in the background, AddOrder,
         ...): the Authz handler holds the authorization's write lock while
         it reads the store (getAcctByKey); FindValidAuthorization or
         GetOrderByID (order.GetStatus) holds the store's read lock and
         waits for that authorization; the waiting writer keeps the Authz
         handler from getting the store's read lock.
    So: a newOrder runs with no other newOrder and no authorization request;
    authorization requests run with no newOrder and no order request. Other
    requests take no authorization lock under the store lock and pass.
    Waiters go in arrival order (none overtakes an earlier one it conflicts
    with), so polling cannot starve a class."""

    CONFLICTS = {"new-order": {"new-order", "authz"},
                 "authz": {"new-order", "order"},
                 "order": {"authz"}}

    def __init__(self):
        self.cond = threading.Condition()
        self.active = {c: 0 for c in self.CONFLICTS}
        self.queue = []

    @staticmethod
    def kind(path):
        if path.startswith("/order-plz"):
            return "new-order"
        if path.startswith("/authZ/"):
            return "authz"
        if path.startswith(("/my-order/", "/finalize-order/")):
            return "order"
        return None

    def _may_enter(self, ticket, kind):
        bad = self.CONFLICTS[kind]
        if any(self.active[c] for c in bad):
            return False
        for t, k in self.queue:
            if t is ticket:
                return True
            if k in bad:
                return False
        return True

    def enter(self, kind):
        ticket = object()
        with self.cond:
            self.queue.append((ticket, kind))
            while not self._may_enter(ticket, kind):
                self.cond.wait()
            self.queue.remove((ticket, kind))
            self.active[kind] += 1

    def leave(self, kind):
        with self.cond:
            self.active[kind] -= 1
            self.cond.notify_all()


def pebble_proxy(port, upstream, cert, key, cafile):
    gate = PebbleGate()
    local = threading.local()
    up_ctx = ssl.create_default_context(cafile=cafile)

    def upstream_conn(fresh=False):
        c = getattr(local, "conn", None)
        if c is None or fresh:
            if c is not None:
                c.close()
            c = http.client.HTTPSConnection("127.0.0.1", upstream,
                                            timeout=60, context=up_ctx)
            local.conn = c
        return c

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def forward(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            hdr = {k: v for k, v in self.headers.items()
                   if k.lower() not in HOP}
            for attempt in (0, 1):
                try:
                    c = upstream_conn(fresh=attempt == 1)
                    if c.sock is None:
                        c.connect()  # the handshake outside the lock
                    kind = PebbleGate.kind(self.path)
                    if kind is not None:
                        gate.enter(kind)
                    try:
                        c.request(self.command, self.path, body, hdr)
                        r = c.getresponse()
                        data = r.read()
                    finally:
                        if kind is not None:
                            gate.leave(kind)
                    break
                except (OSError, http.client.HTTPException) as e:
                    print("pebble-proxy: %s %s: %r" % (self.command, self.path,
                                                       e), file=sys.stderr)
                    if attempt == 1:
                        self.send_error(502)
                        return
            self.send_response(r.status, r.reason)
            for k, v in r.getheaders():
                if k.lower() not in HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_HEAD = forward

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])

    class Server(http.server.ThreadingHTTPServer):
        # byocad opens up to max_parallel connections at once (and again
        # after each restart): a backlog of 5 drops SYNs, and a TLS
        # handshake in the accept loop makes every client wait for the
        # slowest one, long enough under load for curl's 10 s connect
        # timeout. So: a deep backlog, and the handshake in the
        # connection's own thread.
        daemon_threads = True
        request_queue_size = 512

        def finish_request(self, request, client_address):
            request.settimeout(60)
            try:
                tls = ctx.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
            tls.settimeout(None)
            try:
                self.RequestHandlerClass(tls, client_address, self)
            finally:
                tls.close()

    srv = Server(("127.0.0.1", port), Handler)
    srv.serve_forever()


def main(argv):
    if len(argv) < 2:
        die("usage: see the header of this file")
    cmd, a = argv[1], argv[2:]
    if cmd == "db-state":
        print(json.dumps(db_state(a[0])))
    elif cmd == "wait-db":
        sys.exit(db_wait(a[0], float(a[1]), int(a[2]),
                         len(a) > 3 and a[3] == "keyed"))
    elif cmd == "wait-final":
        sys.exit(db_final(a[0], float(a[1]), int(a[2])))
    elif cmd == "delete-certs":
        delete_certs(a[0], a[1], a[2:])
    elif cmd == "check-deploy":
        check_deploy(a[0], a[1])
    elif cmd == "db-clean":
        db_clean(a[0])
    elif cmd == "add-certs":
        add_certs(a[0], a[1], a[2], int(a[3]), int(a[4]),
                  int(a[5]) if len(a) > 5 else 8)
    elif cmd == "list-certs":
        list_all(a[0], a[1], "/v1/certificates")
    elif cmd == "list-events":
        list_all(a[0], a[1], "/v1/events", int(a[2]) if len(a) > 2 else 0)
    elif cmd == "pebble-log":
        pebble_log(a[0])
    elif cmd == "pebble-proxy":
        pebble_proxy(int(a[0]), int(a[1]), a[2], a[3], a[4])
    else:
        die("unknown command %s" % cmd)


if __name__ == "__main__":
    main(sys.argv)
