#!/usr/bin/env python3
"""rfaas python3-http runtime.

A Flask application served by waitress. Every request except the private
/_/ endpoints is passed to function/handler.py's handle(event, context).
A small WSGI middleware adds the watchdog behaviour: health endpoint,
exec_timeout (504), max_inflight (429), X-Duration-Seconds, one access log
line per request and graceful shutdown on SIGTERM.
"""

import io
import math
import os
import queue
import re
import signal
import sys
import threading
import time
import traceback

from flask import Flask, request
from waitress import create_server, wasyncore

from function import handler

# ---------------------------------------------------------------------------
# configuration


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_duration(text):
    """Parse a plain integer (seconds) or a Go duration ("1m30s", "500ms").

    Returns seconds as a float, or None when the text is not valid.
    """
    s = text.strip()
    if re.fullmatch(r"[+-]?\d+", s):
        return float(int(s))
    sign = 1.0
    if s[:1] in ("+", "-"):
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        return None
    total = 0.0
    pos = 0
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s):
        return None
    return sign * total


def env_duration(name, default):
    raw = os.environ.get(name, "")
    if raw.strip() == "":
        return default
    value = parse_duration(raw)
    if value is None or value < 0:
        print(f"Invalid duration {name}={raw!r}, using {fmt_duration(default)}", flush=True)
        return default
    return value


def env_int(name, default):
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        print(f"Invalid integer {name}={raw!r}, using {default}", flush=True)
        return default
    return max(value, 0)


def fmt_duration(seconds):
    if seconds == 0:
        return "0s"
    if seconds >= 1 and float(seconds).is_integer():
        return f"{int(seconds)}s"
    if seconds >= 1:
        return f"{seconds:g}s"
    return f"{seconds * 1000:g}ms"


class Config:
    def __init__(self):
        self.port = env_int("port", 8080) or 8080
        # The gateway passes bind_address=127.0.0.1 so that a replica on the host network is
        # reachable only through it; run elsewhere, the image listens on every interface.
        self.bind_address = os.environ.get("bind_address", "").strip() or "0.0.0.0"
        self.read_timeout = env_duration("read_timeout", 10.0)
        self.write_timeout = env_duration("write_timeout", 10.0)
        self.exec_timeout = env_duration("exec_timeout", 10.0)
        self.max_inflight = env_int("max_inflight", 0)


# ---------------------------------------------------------------------------
# the Flask application (OpenFaaS python3-http handler contract)


class Event:
    def __init__(self):
        self.body = request.get_data()
        self.headers = request.headers
        self.method = request.method
        self.query = request.args
        self.path = request.path


class Context:
    def __init__(self):
        self.hostname = os.getenv("HOSTNAME", "localhost")


def format_status_code(res):
    if "statusCode" in res and res["statusCode"] is not None:
        return int(res["statusCode"])
    return 200


def format_body(res):
    if "body" not in res:
        return ""
    body = res["body"]
    if isinstance(body, (dict, list)):
        return body  # Flask serialises dicts and lists as JSON
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    return str(body)


def format_headers(res):
    headers = res.get("headers")
    if headers is None:
        return {}
    return headers


def format_response(res):
    if res is None:
        return ("", 200)
    if isinstance(res, dict):
        return (format_body(res), format_status_code(res), format_headers(res))
    return res


METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

app = Flask(__name__)
app.url_map.merge_slashes = False
app.url_map.strict_slashes = False


@app.route("/", defaults={"path": ""}, methods=METHODS)
@app.route("/<path:path>", methods=METHODS)
def call_handler(path):
    res = handler.handle(Event(), Context())
    return format_response(res)


# ---------------------------------------------------------------------------
# watchdog middleware


def _plain(start_response, status, text, extra=()):
    body = text.encode("utf-8")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
    ]
    headers.extend(extra)
    start_response(status, headers)
    return body


class HandlerThreads:
    """The threads that run handlers under exec_timeout, reused from one request to the next.

    Starting a thread per request cost more than a small handler itself (about 0.3 ms of CPU,
    more than half of a hello-world request). A call goes to an idle thread; a new thread is
    started only when none is idle, so a handler still running after its timeout never delays
    another request. A thread idle for `idle_seconds` exits.

    `_idle` is the number of waiting threads minus the calls queued for them: a positive value
    means a call can be handed over without starting a thread.
    """

    def __init__(self, idle_seconds=60.0):
        self.idle_seconds = idle_seconds
        self._calls = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0

    def submit(self, call):
        with self._lock:
            reuse = self._idle > 0
            if reuse:
                self._idle -= 1
        if not reuse:
            threading.Thread(target=self._serve, name="handler", daemon=True).start()
        self._calls.put(call)

    def _serve(self):
        while True:
            try:
                call = self._calls.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # more threads wait than calls: this one can go
                        self._idle -= 1
                        return
                continue
            try:
                call()
            except BaseException:  # a call must never take its thread down unnoticed
                traceback.print_exc()
                sys.stderr.flush()
            with self._lock:
                self._idle += 1


class Watchdog:
    def __init__(self, wsgi_app, cfg):
        self.app = wsgi_app
        self.cfg = cfg
        self.handler_threads = HandlerThreads()
        self.ready = False
        self.draining = False
        self.lock = threading.Lock()
        self.inflight = 0

    # private endpoints -----------------------------------------------------

    def _private(self, environ, start_response, path):
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            body = _plain(start_response, "405 Method Not Allowed", "Method not allowed\n",
                          [("Allow", "GET, HEAD")])
            return [body]
        if not self.ready or self.draining:
            return [_plain(start_response, "503 Service Unavailable", "Service Unavailable\n")]
        if path == "/_/ready" and self.cfg.max_inflight > 0:
            with self.lock:
                full = self.inflight >= self.cfg.max_inflight
            if full:
                return [_plain(start_response, "429 Too Many Requests", "Too Many Requests\n")]
        return [_plain(start_response, "200 OK", "OK")]

    # function requests -----------------------------------------------------

    def _acquire(self):
        with self.lock:
            if self.cfg.max_inflight > 0 and self.inflight >= self.cfg.max_inflight:
                return False
            self.inflight += 1
            return True

    def _release(self):
        with self.lock:
            self.inflight -= 1

    def _run_app(self, environ):
        """Call the Flask app and collect its whole response."""
        captured = {}
        chunks = []

        def start_response(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = list(headers)
            return chunks.append

        try:
            result = self.app(environ, start_response)
            try:
                for chunk in result:
                    if chunk:
                        chunks.append(chunk)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            return captured["status"], captured["headers"], b"".join(chunks)
        except BaseException:  # the handler must never take the server down
            traceback.print_exc()
            sys.stderr.flush()
            return ("500 Internal Server Error",
                    [("Content-Type", "text/plain; charset=utf-8")],
                    b"Internal Server Error\n")

    def _run_with_timeout(self, environ, timeout):
        box = {}
        # A lock held until the handler finishes: cheaper to signal than an Event, whose set()
        # takes a condition's lock and wakes its waiters one by one.
        done = threading.Lock()
        done.acquire()

        def work():
            try:
                box["response"] = self._run_app(environ)
            finally:
                done.release()

        self.handler_threads.submit(work)
        if done.acquire(timeout=timeout):
            return box["response"]
        return None

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "") or "/"
        if path in ("/_/health", "/_/ready"):
            return self._private(environ, start_response, path)

        started = time.monotonic()
        method = environ.get("REQUEST_METHOD", "GET")
        uri = environ.get("REQUEST_URI") or path
        if self.draining:
            extra_headers = [("Connection", "close")]
        else:
            extra_headers = []

        if not self._acquire():
            n = self.cfg.max_inflight
            body = _plain(start_response, "429 Too Many Requests",
                          f"Concurrent request limit exceeded. Max concurrent requests: {n}\n",
                          [("X-OpenFaaS-Internal", "faas-middleware")] + extra_headers)
            self._log(method, uri, 429, len(body), started)
            return [body]

        try:
            # Buffer the request body so that a handler still running after a
            # timeout never touches the client connection.
            try:
                raw = environ["wsgi.input"].read()
            except Exception:
                raw = b""
            environ["wsgi.input"] = io.BytesIO(raw)
            environ["CONTENT_LENGTH"] = str(len(raw))

            if self.cfg.exec_timeout > 0:
                response = self._run_with_timeout(environ, self.cfg.exec_timeout)
            else:
                response = self._run_app(environ)
        finally:
            self._release()

        if response is None:
            text = f"Function timed out after {fmt_duration(self.cfg.exec_timeout)} (exec_timeout)\n"
            body = _plain(start_response, "504 Gateway Timeout", text,
                          [("X-OpenFaaS-Internal", "watchdog")] + extra_headers)
            self._log(method, uri, 504, len(body), started)
            return [body]

        status, headers, body = response
        elapsed = time.monotonic() - started
        headers = [(k, v) for (k, v) in headers if k.lower() != "x-duration-seconds"]
        headers.append(("X-Duration-Seconds", f"{elapsed:f}"))
        headers.extend(extra_headers)
        start_response(status, headers)
        try:
            code = int(status.split(" ", 1)[0])
        except ValueError:
            code = 0
        self._log(method, uri, code, len(body), started)
        return [body]

    @staticmethod
    def _log(method, uri, status, length, started):
        elapsed = time.monotonic() - started
        print(f"{method} {uri} - {status} - ContentLength: {length} ({elapsed:.4f}s)", flush=True)


# ---------------------------------------------------------------------------
# server and graceful shutdown


def _connections_idle(server, watchdog):
    with watchdog.lock:
        if watchdog.inflight > 0:
            return False
    try:
        channels = list(server.active_channels.values())
    except RuntimeError:  # changed while copying; look again later
        return False
    for ch in channels:
        if ch.requests or ch.total_outbufs_len or getattr(ch, "request", None) is not None:
            return False
    return True


def main():
    cfg = Config()
    watchdog = Watchdog(app.wsgi_app, cfg)
    app.wsgi_app = watchdog

    threads = cfg.max_inflight + 8 if cfg.max_inflight > 0 else 32
    channel_timeout = math.ceil(cfg.read_timeout) if cfg.read_timeout > 0 else 10 ** 8
    server = create_server(
        app,
        host=cfg.bind_address,
        port=cfg.port,
        threads=threads,
        channel_timeout=channel_timeout,
        cleanup_interval=max(1, min(30, channel_timeout)),
        clear_untrusted_proxy_headers=False,
    )

    listener_closed = threading.Event()
    original_readable = server.readable

    def readable():
        # Runs on the main (event loop) thread: the safe place to stop listening.
        if watchdog.draining:
            if not listener_closed.is_set():
                wasyncore.dispatcher.close(server)
                listener_closed.set()
            return False
        return original_readable()

    server.readable = readable

    def drain():
        server.pull_trigger()
        limit = cfg.write_timeout
        deadline = time.monotonic() + limit if limit > 0 else None
        while not _connections_idle(server, watchdog):
            if deadline is not None and time.monotonic() >= deadline:
                print(f"write_timeout ({fmt_duration(limit)}) reached with requests in flight, exiting",
                      flush=True)
                break
            time.sleep(0.02)
        print("Server stopped", flush=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    def on_signal(signum, _frame):
        if watchdog.draining:
            return
        watchdog.draining = True
        print(f"Received {signal.Signals(signum).name}, draining in-flight requests "
              f"(up to write_timeout={fmt_duration(cfg.write_timeout)})", flush=True)
        threading.Thread(target=drain, name="drain", daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    print(
        f"python3-http listening on {cfg.bind_address}:{cfg.port} "
        f"(read_timeout={fmt_duration(cfg.read_timeout)} write_timeout={fmt_duration(cfg.write_timeout)} "
        f"exec_timeout={fmt_duration(cfg.exec_timeout) if cfg.exec_timeout > 0 else 'off'} "
        f"max_inflight={cfg.max_inflight or 'unlimited'})",
        flush=True,
    )
    watchdog.ready = True
    server.run()


if __name__ == "__main__":
    main()
