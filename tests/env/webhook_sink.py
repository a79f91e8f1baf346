#!/usr/bin/env python3
"""Test fixture (not a product component): a webhook receiver for
byocad's notifications, on loopback only.

Listens on 127.0.0.1:PORT and answers 500 to the first FAIL POSTs (to
prove byocad retries), 204 to the others. Every POST body it answered 204
is appended to OUT as one JSON line, with "_path" (the request path),
"_key" (its Idempotency-Key header, null if none), "_t" (when it
arrived, unix seconds, float) and "_status" added; every
body it answered 500 goes the same way to OUT.rejected. Bodies that are
not JSON objects are recorded as {"_raw": TEXT}.
With WEBHOOK_SINK_HOLD=FILE in the environment, a POST that arrives while
FILE exists is appended to OUT.held at once and answered only once FILE
is gone (at most 300 s later): a test holds byocad's answers back.
Usage: webhook_sink.py PORT OUT [FAIL]"""
import http.server
import json
import os
import sys
import threading
import time

PORT, OUT = int(sys.argv[1]), sys.argv[2]
FAIL = [int(sys.argv[3]) if len(sys.argv) > 3 else 0]
LOCK = threading.Lock()
HOLD = os.environ.get("WEBHOOK_SINK_HOLD")


def record(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        t = time.time()
        try:
            note = json.loads(body)
            if not isinstance(note, dict):
                raise ValueError("not an object")
        except ValueError:
            note = {"_raw": body.decode("utf-8", "replace")}
        note["_path"] = self.path  # which URL byocad used
        note["_key"] = self.headers.get("Idempotency-Key")
        note["_t"] = t
        if HOLD and os.path.exists(HOLD):
            with LOCK:
                record(OUT + ".held", json.dumps(note))
            end = time.time() + 300
            while os.path.exists(HOLD) and time.time() < end:
                time.sleep(0.05)
        with LOCK:
            status = 500 if FAIL[0] > 0 else 204
            if FAIL[0] > 0:
                FAIL[0] -= 1
            note["_status"] = status
            record(OUT + ".rejected" if status == 500 else OUT,
                   json.dumps(note))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        sys.stderr.write("sink: " + fmt % args + "\n")


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Sink).serve_forever()
