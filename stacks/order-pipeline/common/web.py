"""HTTP plumbing of the order-pipeline functions: the stack's JSON contract
(`{"success": true, ...}` or `{"success": false, "error": ..., "timestamp": ...}`), bounded
JSON bodies, path routing, and the one place that turns exceptions into statuses.

Statuses matter beyond the client here: the gateway's async queue retries 429/502/503/504
(the functions' `com.openfaas.retry.codes`), so a transient failure (database or gateway
unreachable) must be a 503, and a request that can never succeed must be a 4xx.
"""
import json
import sys
from datetime import datetime, timezone

JSON_HEADERS = {"Content-Type": "application/json"}
#: Default bound on a request body; order-api's orders are far smaller.
MAX_BODY = 64 * 1024
#: JSON nested deeper than this is refused before Python's parser recurses on it.
MAX_DEPTH = 32


class HttpError(Exception):
    """A request that fails with `status` and a message the client can act on."""

    def __init__(self, status, message, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


class Unavailable(Exception):
    """A backing service (database, gateway) cannot be reached: answered 503, so retried."""

    def __init__(self, service, detail=""):
        super().__init__(f"{service} unavailable: {detail}" if detail else f"{service} unavailable")
        self.service = service
        self.detail = detail


def timestamp():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def respond(status, body):
    return {"statusCode": status, "body": body, "headers": dict(JSON_HEADERS)}


def ok(**fields):
    return respond(200, dict({"success": True}, **fields))


def error(status, message, **extra):
    return respond(status, dict({"success": False, "error": message, "timestamp": timestamp()}, **extra))


def log(function, message):
    print(f"{function}: {message}", file=sys.stderr, flush=True)


def header(event, name):
    headers = getattr(event, "headers", None) or {}
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def query(event, name):
    args = getattr(event, "query", None) or {}
    value = args.get(name)
    return value


def path_parts(event):
    """The request path as segments, without the `/function/<name>` prefix if it is there."""
    path = (getattr(event, "path", None) or "/").split("?")[0]
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "function":
        parts = parts[2:]
    return parts


def _depth(text):
    """The deepest nesting of `[`/`{` outside strings (cheap, and no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _no_constants(name):
    raise ValueError(f"{name} is not valid JSON")


def json_object(raw, limit=MAX_BODY, what="request body"):
    """Parses `raw` (bytes) as one JSON object; every way it can be wrong is a 400 (413 when
    it is larger than `limit` bytes)."""
    raw = raw or b""
    if len(raw) > limit:
        raise HttpError(413, f"{what} is {len(raw)} bytes, larger than the limit of {limit} bytes")
    if not raw.strip():
        raise HttpError(400, f"{what} is empty: send a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HttpError(400, f"{what} is not UTF-8 (invalid byte at offset {exc.start})") from None
    if _depth(text) > MAX_DEPTH:
        raise HttpError(400, f"{what} is nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except ValueError as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if hasattr(exc, "lineno") else ""
        message = exc.msg if hasattr(exc, "msg") else str(exc)
        raise HttpError(400, f"{what} is not valid JSON: {message}{where}") from None
    if not isinstance(value, dict):
        raise HttpError(400, f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def serve(function, event, routes):
    """Runs the handler `routes` picks for the request. `routes(method, parts)` returns
    `(handler, args)`, `(None, allowed_methods)` for a known path with another method, or
    `(None, None)` for an unknown path."""
    method = (getattr(event, "method", None) or "GET").upper()
    parts = path_parts(event)
    try:
        fn, args = routes(method, parts)
        if fn is None and args is None:
            return error(404, f"not found: /{'/'.join(parts)}")
        if fn is None:
            return error(405, f"method {method} not allowed here, use {', '.join(args)}")
        return fn(event, *args)
    except HttpError as exc:
        return error(exc.status, exc.message, **exc.extra)
    except Unavailable as exc:
        log(function, str(exc))
        return error(503, f"{exc.service} unavailable", service=exc.service)
    except Exception as exc:  # noqa: BLE001 - never leak a stack trace to the client
        log(function, f"internal error: {type(exc).__name__}: {str(exc)[:300]}")
        return error(500, "internal error")
