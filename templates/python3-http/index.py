#!/usr/bin/env python3
"""rfaas python3-http runtime.

A small threaded HTTP/1.1 server. Each connection has its own thread, which reads a request,
calls function/handler.py's handle(event, context) and writes the response itself: no hand-off
between threads on the way. The watchdog behaviour is built in: the private /_/health and
/_/ready endpoints, exec_timeout (504, sent by one timer thread while the handler is left to
finish on its own), max_inflight (429), X-Duration-Seconds, one access log line per request and
graceful shutdown on SIGTERM. At most handler_concurrency handlers run at once (32 unless set);
more requests wait their turn.

The event and the response are those of the OpenFaaS python3-http template (Flask): event.body
is bytes, event.headers a case-insensitive werkzeug Headers, event.query a werkzeug MultiDict,
event.path the decoded path; a returned dict gives statusCode, body (a dict or list is sent as
JSON, as Flask's jsonify writes it) and headers.

Hot reload (rfaas's dev loop; dormant until signalled): on SIGHUP the signal handler only wakes
the reload thread, which reads a reload id from /home/app/.rfaas-reload, takes `function` and
`function.*` out of sys.modules (keeping them), invalidates the import caches and imports
function.handler anew beside the old module. Only if that succeeds do new requests go to the new
handler; requests in flight finish on the old one. A load that fails (SyntaxError, ImportError,
an exception at import time, no handle()) puts the old modules back and leaves the old handler
serving. Either way one line goes to stdout:
`rfaas-reload {"id":...,"ok":true,"ms":...}` or
`rfaas-reload {"id":...,"ok":false,"error":"Type: message","file":"function/handler.py","line":N,"detail":"<traceback>"}`.
Files deleted on the host stay in the container until the next image build.
"""

import collections
import dataclasses
import datetime
import decimal
import email.utils
import importlib
import json
import linecache
import os
import queue
import re
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from urllib.parse import parse_qsl, unquote

from werkzeug.datastructures import Headers, MultiDict

from function import handler  # replaced by a successful hot reload (Reloader)

# ---------------------------------------------------------------------------
# logging

_LOG_LOCK = threading.RLock()  # reentrant: a signal handler may log while its thread logs


def log(line, stream=None):
    """Writes `line` and its newline in one call, flushed. print() writes the text and the
    newline separately, and with PYTHONUNBUFFERED each is its own write(2), between which another
    thread's line can land: lines ran into each other under concurrent requests, and a reload's
    answer could be lost in one."""
    stream = stream or sys.stdout
    with _LOG_LOCK:
        stream.write(line + "\n")
        stream.flush()


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
        log(f"Invalid duration {name}={raw!r}, using {fmt_duration(default)}")
        return default
    return value


def env_int(name, default):
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        log(f"Invalid integer {name}={raw!r}, using {default}")
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
        # How many handler calls may run at once (0: up to 32, or max_inflight + 8).
        self.handler_concurrency = env_int("handler_concurrency", 0)

    def handler_slots(self):
        if self.handler_concurrency > 0:
            return self.handler_concurrency
        return self.max_inflight + 8 if self.max_inflight > 0 else 32


# Bounds on what a client may send (waitress's defaults, which this server replaces).
MAX_HEAD_BYTES = 256 * 1024
MAX_BODY_BYTES = 1024 * 1024 * 1024
METHODS = frozenset(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])

# ---------------------------------------------------------------------------
# the OpenFaaS python3-http handler contract


class Event:
    def __init__(self, body, headers, method, query, path):
        self.body = body
        self.headers = headers
        self.method = method
        self.query = query
        self.path = path


class Context:
    def __init__(self):
        self.hostname = os.getenv("HOSTNAME", "localhost")


def _json_default(o):
    """What Flask's JSON provider does with values json cannot write itself."""
    if isinstance(o, datetime.date):
        if isinstance(o, datetime.datetime) and o.tzinfo is not None:
            o = o.astimezone(datetime.timezone.utc)
        return email.utils.format_datetime(
            datetime.datetime(o.year, o.month, o.day, *(
                (o.hour, o.minute, o.second) if isinstance(o, datetime.datetime) else ()),
                tzinfo=datetime.timezone.utc), usegmt=True)
    if isinstance(o, (decimal.Decimal, uuid.UUID)):
        return str(o)
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    if hasattr(o, "__html__"):
        return str(o.__html__())
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def _json_body(value):
    """The body Flask's jsonify writes: sorted keys, ASCII, compact, a final newline."""
    text = json.dumps(value, default=_json_default, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    return (text + "\n").encode("utf-8")


def _header_items(headers):
    """(name, value) pairs from a handler's headers: a dict or a list of pairs; a list or tuple
    value gives the header once per item."""
    items = headers.items() if hasattr(headers, "items") else headers
    out = []
    for name, value in items:
        if isinstance(value, (list, tuple)):
            out.extend((str(name), str(v)) for v in value)
        else:
            out.append((str(name), str(value)))
    for name, value in out:
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
            raise ValueError(f"header {name!r} contains a newline or its name a colon")
    return out


def _merge_headers(defaults, given):
    """Flask's `headers.update(given)`: each name given replaces the default of that name."""
    names = {n.lower() for n, _ in given}
    return [(n, v) for (n, v) in defaults if n.lower() not in names] + given


def _response_from_dict(res):
    """(status, headers, body) for a returned dict, as Flask built it."""
    status = res.get("statusCode")
    status = 200 if status is None else int(status)
    body = res.get("body", "")
    if isinstance(body, (dict, list)):
        content, ctype = _json_body(body), "application/json"
    elif isinstance(body, (bytes, bytearray)):
        content, ctype = bytes(body), "text/html; charset=utf-8"
    else:
        content, ctype = str(body).encode("utf-8"), "text/html; charset=utf-8"
    headers = res.get("headers")
    given = _header_items(headers) if headers else []
    return status, _merge_headers([("Content-Type", ctype)], given), content


_flask_app = None


def _response_from_other(res):
    """(status, headers, body) for any other return value (a string, bytes, a tuple, a list, a
    Response): Flask's make_response decides, as it did before."""
    global _flask_app
    if isinstance(res, list):
        return 200, [("Content-Type", "application/json")], _json_body(res)
    if _flask_app is None:
        import flask  # only for handlers that return something other than a dict

        _flask_app = flask.Flask("rfaas-python3-http")
    with _flask_app.app_context():
        response = _flask_app.make_response(res)
        body = b"".join(response.iter_encoded())
        headers = [(k, v) for (k, v) in response.headers.items() if k.lower() != "content-length"]
        return response.status_code, headers, body


def call_handler(event):
    res = handler.handle(event, Context())  # the module global: one lookup, as before reloads
    if res is None:
        return 200, [("Content-Type", "text/html; charset=utf-8")], b""
    if isinstance(res, dict):
        return _response_from_dict(res)
    return _response_from_other(res)


# ---------------------------------------------------------------------------
# hot reload

APP_HOME = os.path.dirname(os.path.abspath(__file__))
FUNCTION_DIR = os.path.join(APP_HOME, "function")
RELOAD_ID_FILE = os.path.join(APP_HOME, ".rfaas-reload")


def _function_modules():
    return {n: m for n, m in list(sys.modules.items()) if n == "function" or n.startswith("function.")}


class MissingHandle(Exception):
    """The new function/handler.py imports but defines no handle()."""


def load_handler():
    """function.handler imported anew; on any failure the old modules are put back and it raises."""
    old = _function_modules()
    for name in old:
        del sys.modules[name]
    importlib.invalidate_caches()
    try:
        module = importlib.import_module("function.handler")
        if not callable(getattr(module, "handle", None)):
            raise MissingHandle("function/handler.py defines no handle(event, context)")
        return module
    except BaseException:
        for name in _function_modules():
            del sys.modules[name]
        sys.modules.update(old)
        raise


def _in_function(filename):
    """`filename` relative to APP_HOME when it is the handler's own code, else None."""
    path = os.path.abspath(filename or "")
    if not path.startswith(FUNCTION_DIR + os.sep) or f"{os.sep}site-packages{os.sep}" in path:
        return None
    return os.path.relpath(path, APP_HOME)


def reload_failure(exc):
    """The answer's fields for a failed load: error, the handler's file and line, the traceback
    from the first frame in the handler's code on."""
    if isinstance(exc, MissingHandle):
        return {"ok": False, "error": f"AttributeError: {exc}", "file": "function/handler.py", "detail": str(exc)}
    linecache.checkcache()
    answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    tb = exc.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    own = [f for f in frames if _in_function(f.tb_frame.f_code.co_filename)]
    place, start = None, own[0] if own else exc.__traceback__
    if isinstance(exc, SyntaxError) and _in_function(exc.filename):
        # its own lines show the file, the line and a caret; the frames are the import machinery
        answer["error"] = f"{type(exc).__name__}: {exc.msg}"
        place, start = (_in_function(exc.filename), exc.lineno), None
    elif own:
        place = (_in_function(own[-1].tb_frame.f_code.co_filename), own[-1].tb_lineno)
    if place is not None:
        answer["file"], answer["line"] = place
    answer["detail"] = "".join(traceback.format_exception(type(exc), exc, start)).rstrip("\n")
    return answer


class Reloader:
    """Loads a new handler when asked, on its own thread; one reload at a time."""

    def __init__(self):
        self.requests = queue.SimpleQueue()  # put() is safe in a signal handler
        threading.Thread(target=self.run, name="reload", daemon=True).start()

    def request(self):
        self.requests.put(None)

    def run(self):
        while True:
            self.requests.get()
            self.reload()

    @staticmethod
    def reload():
        global handler
        try:
            with open(RELOAD_ID_FILE, encoding="utf-8") as f:
                reload_id = f.readline().strip()
        except OSError:
            reload_id = ""  # nobody waits for this answer, but the log shows the signal arrived
        started = time.perf_counter()
        try:
            module = load_handler()
        except BaseException as exc:  # the old handler keeps serving whatever the new one raised
            answer = reload_failure(exc)
        else:
            handler = module
            answer = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 3)}
        answer = {"id": reload_id, **answer}
        log("rfaas-reload " + json.dumps(answer, separators=(",", ":")))


# ---------------------------------------------------------------------------
# HTTP/1.1


class BadRequest(Exception):
    pass


_REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
    301: "Moved Permanently", 302: "Found", 304: "Not Modified", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 413: "Content Too Large", 418: "I'm a teapot", 422: "Unprocessable Content",
    429: "Too Many Requests", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}


def _reason(code):
    reason = _REASONS.get(code)
    if reason is None:
        try:
            from http import HTTPStatus

            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = "Unknown"
    return reason


class _Date:
    """The Date header's value, formatted once a second."""

    def __init__(self):
        self.second = 0
        self.value = ""

    def now(self):
        t = int(time.time())
        if t != self.second:
            self.value = email.utils.formatdate(t, usegmt=True)
            self.second = t
        return self.value


_date = _Date()


def _wire(status, headers, body, send_body=True):
    """The bytes of a response: status line, headers, Content-Length and Date, then the body."""
    lines = [f"HTTP/1.1 {status} {_reason(status)}\r\n"]
    for name, value in headers:
        lines.append(f"{name}: {value}\r\n")
    if status >= 200 and status not in (204, 304):
        lines.append(f"Content-Length: {len(body)}\r\n")
    lines.append(f"Date: {_date.now()}\r\n\r\n")
    head = "".join(lines).encode("latin-1", "replace")
    if not send_body or status < 200 or status in (204, 304):
        return head
    return head + body


def _plain(status, text, extra=()):
    headers = [("Content-Type", "text/plain; charset=utf-8")]
    headers.extend(extra)
    return status, headers, text.encode("utf-8")


class Request:
    __slots__ = ("method", "target", "version", "headers", "keep_alive", "expect_continue",
                 "length", "chunked")


def parse_head(head):
    """A Request from the text of a request head (without its final blank line)."""
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise BadRequest("malformed request line")
    req = Request()
    req.method, req.target, req.version = parts
    if req.version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest("unsupported HTTP version")
    headers = []
    connection = ""
    length = None
    te = None
    expect = ""
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name[-1] in " \t" or name[0] in " \t":
            raise BadRequest("malformed header line")
        value = value.strip(" \t")
        lower = name.lower()
        if lower == "content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise BadRequest("invalid Content-Length")
            length = int(value)
        elif lower == "transfer-encoding":
            te = value.lower() if te is None else f"{te}, {value.lower()}"
        elif lower == "connection":
            connection = value.lower() if not connection else f"{connection}, {value.lower()}"
        elif lower == "expect":
            expect = value.lower()
        if "_" in name:  # as waitress did: a name with "_" could pose as another in WSGI terms
            continue
        headers.append((name, value))
    req.chunked = False
    if te is not None:
        if te.split(",")[-1].strip() != "chunked":
            raise BadRequest("unsupported Transfer-Encoding")
        req.chunked = True
        length = None
    req.length = length or 0
    if req.length > MAX_BODY_BYTES:
        raise BadRequest("request body too large")
    tokens = {t.strip() for t in connection.split(",")} if connection else set()
    if req.version == "HTTP/1.1":
        req.keep_alive = "close" not in tokens
    else:
        req.keep_alive = "keep-alive" in tokens
    req.expect_continue = expect == "100-continue" and req.version == "HTTP/1.1"
    req.headers = headers
    return req


def event_headers(pairs):
    """Headers as the WSGI environ named them: Title-Case, repeated ones joined with ", "."""
    seen = {}
    for name, value in pairs:
        key = name.title()
        if key in seen:
            seen[key] = f"{seen[key]}, {value}"
        else:
            seen[key] = value
    return Headers(list(seen.items()))


class Connection:
    """One client connection, served on its own thread."""

    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.buf = bytearray()
        # Held while writing; a response sent by the timer (504) closes the connection.
        self.lock = threading.Lock()
        self.closed = False
        self.busy = False

    def recv_more(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by the client")
        self.buf += data

    def read_head(self):
        start = 0
        while True:
            i = self.buf.find(b"\r\n\r\n", start)
            if i >= 0:
                head = bytes(self.buf[:i])
                del self.buf[:i + 4]
                return head.decode("latin-1")
            if len(self.buf) > MAX_HEAD_BYTES:
                raise BadRequest("request head too large")
            start = max(0, len(self.buf) - 3)
            if not self.buf:
                # Waiting for the next request (keep-alive) or the first.
                data = self.sock.recv(65536)
                if not data:
                    return None
                self.buf += data
                self.server.note_busy(self, True)
            else:
                self.recv_more()

    def read_exact(self, n):
        while len(self.buf) < n:
            self.recv_more()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_line(self):
        start = 0
        while True:
            i = self.buf.find(b"\r\n", start)
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > 64 * 1024:
                raise BadRequest("chunk line too long")
            start = max(0, len(self.buf) - 1)
            self.recv_more()

    def read_chunked(self):
        parts = []
        total = 0
        while True:
            line = self.read_line().split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise BadRequest("invalid chunk size") from None
            if size < 0:
                raise BadRequest("invalid chunk size")
            if size == 0:
                while self.read_line():  # trailers, up to the blank line
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise BadRequest("request body too large")
            parts.append(self.read_exact(size))
            if self.read_exact(2) != b"\r\n":
                raise BadRequest("malformed chunk")

    def send(self, data):
        with self.lock:
            if self.closed:
                return False
            self.sock.sendall(data)
            return True

    def close(self):
        with self.lock:
            if not self.closed:
                self.closed = True
                try:
                    self.sock.close()
                except OSError:
                    pass

    def serve(self):
        try:
            while self.serve_one():
                pass
        except (ConnectionError, TimeoutError, OSError):
            pass
        except BadRequest as e:
            self.send(_wire(*_plain(400, f"Bad Request: {e}\n", [("Connection", "close")])))
        finally:
            self.server.note_busy(self, False)
            self.close()
            self.server.forget(self)

    def serve_one(self):
        head = self.read_head()
        if head is None:
            return False
        req = parse_head(head)
        if req.expect_continue and (req.chunked or req.length):
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self.read_chunked() if req.chunked else (self.read_exact(req.length) if req.length else b"")
        keep = self.server.respond(self, req, body)
        self.server.note_busy(self, False)
        return keep and req.keep_alive and not self.closed


class Slot:
    """A request's claim on one of the server's handler slots: waiting, then held from take()
    to its first release(). A release while it still waits (the call timed out in the queue)
    gives up the claim: the slot it gets later goes straight back."""

    __slots__ = ("slots", "lock", "state")

    def __init__(self, slots):
        self.slots = slots
        self.lock = threading.Lock()
        self.state = "waiting"

    def take(self):
        """Waits for a slot (waiters wake in arrival order); False when the claim was given up
        meanwhile."""
        self.slots.acquire()
        with self.lock:
            if self.state == "waiting":
                self.state = "held"
                return True
        self.slots.release()
        return False

    def release(self):
        with self.lock:
            held, self.state = self.state == "held", "released"
        if held:
            self.slots.release()


class Call:
    """A handler call watched by the timer: whoever finishes first answers."""

    __slots__ = ("conn", "deadline", "done", "method", "uri", "started", "slot")

    def __init__(self, conn, deadline, method, uri, started, slot):
        self.slot = slot
        self.conn = conn
        self.deadline = deadline
        self.done = False
        self.method = method
        self.uri = uri
        self.started = started


class Timer:
    """Sends the 504 for calls that outlive exec_timeout. Every call has the same timeout, so
    deadlines arrive in order: a FIFO whose finished calls are dropped when they reach its head.
    The thread sleeps until the oldest deadline and is woken only when the queue was empty."""

    def __init__(self, server):
        self.server = server
        self.calls = collections.deque()
        self.cond = threading.Condition(threading.Lock())
        threading.Thread(target=self.run, name="exec-timeout", daemon=True).start()

    def add(self, call):
        with self.cond:
            self.calls.append(call)
            if len(self.calls) == 1:
                self.cond.notify()

    def run(self):
        while True:
            with self.cond:
                while not self.calls:
                    self.cond.wait()
                call = self.calls[0]
                if call.done:
                    self.calls.popleft()
                    continue
                wait = call.deadline - time.monotonic()
                if wait > 0:
                    self.cond.wait(wait)
                    continue
                self.calls.popleft()
            self.server.timed_out(call)


class Server:
    def __init__(self, cfg):
        self.cfg = cfg
        self.ready = False
        self.draining = False
        self.lock = threading.Lock()
        self.inflight = 0
        self.connections = set()
        self.busy = 0
        self.timer = Timer(self) if cfg.exec_timeout > 0 else None
        # At most this many handlers run at once: more requests (each counted against
        # max_inflight, its exec_timeout running) wait for a slot.
        self.slots = threading.Semaphore(cfg.handler_slots())
        self.listener = None

    # connection bookkeeping --------------------------------------------------

    def forget(self, conn):
        with self.lock:
            self.connections.discard(conn)

    def note_busy(self, conn, busy):
        with self.lock:
            if conn.busy != busy:
                conn.busy = busy
                self.busy += 1 if busy else -1

    def idle(self):
        with self.lock:
            return self.busy == 0 and self.inflight == 0

    # requests ----------------------------------------------------------------

    def respond(self, conn, req, body):
        """Answers one request on `conn`; False when the connection must close."""
        target = req.target
        if not target.startswith("/"):
            # absolute-form (http://host/path): keep the path
            scheme_end = target.find("://")
            slash = target.find("/", scheme_end + 3) if scheme_end >= 0 else -1
            target = target[slash:] if slash >= 0 else "/"
        raw_path, _, query = target.partition("?")
        path = unquote(raw_path, errors="replace") or "/"
        method = req.method
        send_body = method != "HEAD"
        if path in ("/_/health", "/_/ready"):
            conn.send(_wire(*self.private(method, path), send_body=send_body))
            return True

        slot = Slot(self.slots)
        try:
            return self.call_function(conn, req, body, target, path, query, slot)
        finally:
            slot.release()

    def call_function(self, conn, req, body, target, path, query, slot):
        method = req.method
        send_body = method != "HEAD"
        started = time.monotonic()
        extra = [("Connection", "close")] if self.draining or not req.keep_alive else []
        if method not in METHODS:
            status, headers, content = _plain(405, "Method Not Allowed\n",
                                              [("Allow", ", ".join(sorted(METHODS)))] + extra)
            conn.send(_wire(status, headers, content, send_body))
            self.log_access(method, target, status, len(content), started)
            return True

        if not self.acquire():
            n = self.cfg.max_inflight
            status, headers, content = _plain(
                429, f"Concurrent request limit exceeded. Max concurrent requests: {n}\n",
                [("X-OpenFaaS-Internal", "faas-middleware")] + extra)
            conn.send(_wire(status, headers, content, send_body))
            self.log_access(method, target, status, len(content), started)
            return True

        call = None
        if self.timer is not None:
            call = Call(conn, started + self.cfg.exec_timeout, method, target, started, slot)
            self.timer.add(call)
        if not slot.take():  # exec_timeout passed in the queue: the timer has answered 504
            return False
        try:
            event = Event(body, event_headers(req.headers), method,
                          MultiDict(parse_qsl(query, keep_blank_values=True, errors="replace")), path)
            status, headers, content = call_handler(event)
        except BaseException:  # the handler must never take the server down
            log(traceback.format_exc().rstrip("\n"), sys.stderr)
            status, headers, content = _plain(500, "Internal Server Error\n")
        if call is not None:
            with conn.lock:
                late = conn.closed
                call.done = True
            if late:  # the timer answered 504 and closed the connection
                log(f"{method} {target}: response after exec_timeout discarded", sys.stderr)
                return False
        self.release()
        elapsed = time.monotonic() - started
        headers = [(k, v) for (k, v) in headers if k.lower() != "x-duration-seconds"]
        headers.append(("X-Duration-Seconds", f"{elapsed:f}"))
        headers.extend(extra)
        conn.send(_wire(status, headers, content, send_body))
        self.log_access(method, target, status, len(content), started)
        return not extra

    def timed_out(self, call):
        conn = call.conn
        text = f"Function timed out after {fmt_duration(self.cfg.exec_timeout)} (exec_timeout)\n"
        status, headers, content = _plain(504, text, [("X-OpenFaaS-Internal", "watchdog"),
                                                      ("Connection", "close")])
        with conn.lock:
            if call.done or conn.closed:
                return
            call.done = True
            # Free the call's place before the 504 goes out: a client that sends its next
            # request on seeing the 504 must not find the limit still taken by it.
            self.release()
            call.slot.release()  # the handler finishes on its own; the next request may start
            try:
                conn.sock.sendall(_wire(status, headers, content, call.method != "HEAD"))
            except OSError:
                pass
            conn.closed = True
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.sock.close()
        self.note_busy(conn, False)
        self.log_access(call.method, call.uri, status, len(content), call.started)

    def private(self, method, path):
        if method not in ("GET", "HEAD"):
            return _plain(405, "Method not allowed\n", [("Allow", "GET, HEAD")])
        if not self.ready or self.draining:
            return _plain(503, "Service Unavailable\n")
        if path == "/_/ready" and self.cfg.max_inflight > 0:
            with self.lock:
                full = self.inflight >= self.cfg.max_inflight
            if full:
                return _plain(429, "Too Many Requests\n")
        return _plain(200, "OK")

    def acquire(self):
        with self.lock:
            if self.cfg.max_inflight > 0 and self.inflight >= self.cfg.max_inflight:
                return False
            self.inflight += 1
            return True

    def release(self):
        with self.lock:
            self.inflight -= 1

    @staticmethod
    def log_access(method, uri, status, length, started):
        elapsed = time.monotonic() - started
        log(f"{method} {uri} - {status} - ContentLength: {length} ({elapsed:.4f}s)")

    # listening and shutdown --------------------------------------------------

    def serve_forever(self):
        family = socket.AF_INET6 if ":" in self.cfg.bind_address else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.cfg.bind_address, self.cfg.port))
        listener.listen(1024)
        self.listener = listener
        self.ready = True
        timeout = self.cfg.read_timeout if self.cfg.read_timeout > 0 else None
        while not self.draining:
            try:
                sock, _ = listener.accept()
            except OSError:
                if self.draining:
                    break
                time.sleep(0.01)
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(timeout)
            conn = Connection(self, sock)
            with self.lock:
                self.connections.add(conn)
            threading.Thread(target=conn.serve, name="connection", daemon=True).start()
        while True:  # the drain thread ends the process
            time.sleep(3600)

    def stop_listening(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.listener.close()
        except OSError:
            pass


def main():
    cfg = Config()
    server = Server(cfg)

    def drain():
        server.stop_listening()
        limit = cfg.write_timeout
        deadline = time.monotonic() + limit if limit > 0 else None
        while not server.idle():
            if deadline is not None and time.monotonic() >= deadline:
                log(f"write_timeout ({fmt_duration(limit)}) reached with requests in flight, exiting")
                break
            time.sleep(0.02)
        log("Server stopped")
        sys.stderr.flush()
        os._exit(0)

    def on_signal(signum, _frame):
        if server.draining:
            return
        server.draining = True
        log(f"Received {signal.Signals(signum).name}, draining in-flight requests "
            f"(up to write_timeout={fmt_duration(cfg.write_timeout)})")
        threading.Thread(target=drain, name="drain", daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    reloader = Reloader()
    signal.signal(signal.SIGHUP, lambda _signum, _frame: reloader.request())

    log(
        f"python3-http listening on {cfg.bind_address}:{cfg.port} "
        f"(read_timeout={fmt_duration(cfg.read_timeout)} write_timeout={fmt_duration(cfg.write_timeout)} "
        f"exec_timeout={fmt_duration(cfg.exec_timeout) if cfg.exec_timeout > 0 else 'off'} "
        f"max_inflight={cfg.max_inflight or 'unlimited'} handler_concurrency={cfg.handler_slots()})"
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
