#!/usr/bin/env python3
"""A minimal function server for the `dockerfile` template.

Listens on $bind_address:$port (default 0.0.0.0:8080; the rfaas gateway passes
bind_address=127.0.0.1), answers GET /_/health with 200 OK,
and replies to every other request with a short text. SIGTERM stops the
listener, lets requests in flight finish, and exits 0.
"""

import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def handle(method, path, body):
    """The function itself: return (status, content_type, body_bytes)."""
    text = f"Hello from a dockerfile function. {method} {path}, {len(body)} bytes received\n"
    return 200, "text/plain; charset=utf-8", text.encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rfaas-dockerfile"

    def _reply(self, status, content_type, body, started=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if started is not None:
            self.send_header("X-Duration-Seconds", f"{time.monotonic() - started:f}")
        if self.server.draining:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _dispatch(self):
        started = time.monotonic()
        if self.path.split("?", 1)[0] == "/_/health":
            if self.server.draining:
                return self._reply(503, "text/plain", b"Service Unavailable\n")
            return self._reply(200, "text/plain", b"OK")
        with self.server.lock:
            self.server.inflight += 1
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            status, content_type, out = handle(self.command, self.path, body)
            self._reply(status, content_type, out, started)
            print(f"{self.command} {self.path} - {status} - ContentLength: {len(out)} "
                  f"({time.monotonic() - started:.4f}s)", flush=True)
        finally:
            with self.server.lock:
                self.server.inflight -= 1

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def log_message(self, format, *args):  # access lines are printed above
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    draining = False
    inflight = 0
    lock = threading.Lock()


def main():
    port = int(os.environ.get("port") or 8080)
    host = os.environ.get("bind_address", "").strip() or "0.0.0.0"
    if ":" in host:
        Server.address_family = socket.AF_INET6
    server = Server((host, port), Handler)

    def on_signal(signum, _frame):
        if server.draining:
            return
        server.draining = True
        print(f"Received {signal.Signals(signum).name}, shutting down", flush=True)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"Listening on {host}:{port}", flush=True)
    server.serve_forever()
    server.socket.close()  # stop accepting; idle keep-alive connections are dropped at exit
    deadline = time.monotonic() + 10
    while server.inflight > 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    print("Server stopped", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
