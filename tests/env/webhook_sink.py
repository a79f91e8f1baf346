#!/usr/bin/env python3
"""Test fixture (not a product component): a webhook receiver for
byocad's notifications. Listens on 127.0.0.1:PORT, appends every POST body
as one JSON line to OUT (with the request path added as "_path"), and
answers 500 to the first FAIL requests, to prove byocad retries.
Usage: webhook_sink.py PORT OUT [FAIL]"""
import http.server
import json
import sys

PORT, OUT = int(sys.argv[1]), sys.argv[2]
FAIL = [int(sys.argv[3]) if len(sys.argv) > 3 else 0]


class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        if FAIL[0] > 0:
            FAIL[0] -= 1
            self.send_response(500)
            self.end_headers()
            return
        note = json.loads(body)
        note["_path"] = self.path  # which URL byocad used
        with open(OUT, "a") as f:
            f.write(json.dumps(note) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, fmt, *args):
        sys.stderr.write("sink: " + fmt % args + "\n")


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Sink).serve_forever()
