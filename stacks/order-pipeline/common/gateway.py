"""The only way the order-pipeline functions reach each other: the gateway's durable async
queue. `enqueue` is `POST /async-function/<function><path>` with an `X-Call-Id` that names the
step (so sending it twice queues it once) and an `X-Callback-Url` that the gateway calls with
the function's answer once the call has succeeded or is dead.

GATEWAY_URL is the gateway as the functions see it (they share the host's network).
"""
import json
import os
import time
import urllib.error
import urllib.request

try:
    from . import web
except ImportError:  # imported as a top-level module (unit tests)
    import web

# No proxy from the environment: the gateway is on this machine.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def base_url(env=os.environ):
    return env.get("GATEWAY_URL", "http://127.0.0.1:8080").rstrip("/")


def function_url(function, path, env=os.environ):
    """The synchronous URL of `function` (what a callback points at)."""
    return f"{base_url(env)}/function/{function}{path}"


def enqueue(function, path, body, call_id, callback_url=None, timeout=5.0, env=os.environ):
    """Queues one call; raises `web.Unavailable("gateway")` unless the gateway answers 202."""
    headers = {"Content-Type": "application/json", "X-Call-Id": call_id}
    if callback_url:
        headers["X-Callback-Url"] = callback_url
    data = json.dumps(body, separators=(",", ":")).encode("utf-8")
    url = f"{base_url(env)}/async-function/{function}{path}"
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        detail = exc.read(300).decode("utf-8", "replace").strip()
        raise web.Unavailable("gateway", f"queueing {function} answered {status}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise web.Unavailable("gateway", f"queueing {function}: {exc}") from None
    if status != 202:
        raise web.Unavailable("gateway", f"queueing {function} answered {status}")


def probe(timeout=2.0, env=os.environ):
    """`(reachable, milliseconds)` of `GET /healthz` on the gateway."""
    started = time.monotonic()
    try:
        with _OPENER.open(f"{base_url(env)}/healthz", timeout=timeout) as response:
            up = response.status == 200
    except (urllib.error.URLError, OSError):
        up = False
    return up, round((time.monotonic() - started) * 1000, 1)
