"""auto-close-orders: completes DELIVERED orders older than a threshold.

Routes:  POST /                         run (cron trigger: empty body)
         POST /manual-close/<orderId>   close one DELIVERED order by hand
         GET  /stats                    order counts by status, last run
         GET  /health                   SELECT 1
"""
import os
import re
import sys
import time
from datetime import datetime, timezone

try:
    from . import closer, db, options, repository
except ImportError:  # imported as a top-level module (tests, local runs)
    import closer
    import db
    import options
    import repository

JSON_HEADERS = {"Content-Type": "application/json"}
ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
STATUSES = ("PENDING", "CONFIRMED", "PREPARING", "OUT_FOR_DELIVERY",
            "DELIVERED", "COMPLETED", "CANCELLED")


def _timestamp():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _respond(status, body):
    return {"statusCode": status, "body": body, "headers": dict(JSON_HEADERS)}


def _error(code, message, **extra):
    return _respond(code, dict({"success": False, "error": message, "timestamp": _timestamp()}, **extra))


def _log(message):
    # One write per line (print() writes the newline separately): lines of concurrent requests
    # do not run into each other.
    sys.stderr.write(f"auto-close-orders: {message}\n")
    sys.stderr.flush()


def open_repository():
    """Context manager yielding a repository; tests replace this function."""
    from contextlib import contextmanager

    @contextmanager
    def opened():
        with db.connection() as conn:
            yield repository.MySQLRepository(conn)
    return opened()


def _header(event, name):
    headers = getattr(event, "headers", None) or {}
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def _max_seconds():
    try:
        return float(os.environ.get("MAX_RUN_SECONDS", "50"))
    except ValueError:
        return 50.0


def run_auto_close(event):
    opts = options.parse_run_options(getattr(event, "body", b""), os.environ)
    trigger = "cron" if _header(event, "X-Topic") else "http"
    started = time.monotonic()
    with open_repository() as repo:
        run_id = repo.start_run(opts)
        try:
            result = closer.run(repo, opts, max_seconds=_max_seconds())
        except BaseException:
            _finish_quietly(repo, run_id)
            raise
        repo.finish_run(run_id, result.closed_count, result.batches,
                        "ok" if result.complete else "partial")
    duration_ms = int((time.monotonic() - started) * 1000)
    _log(f"run {run_id} ({trigger}{', dry run' if opts.dry_run else ''}): "
         f"{result.closed_count} orders in {result.batches} batches, {duration_ms} ms")
    return _respond(200, {
        "success": True,
        "runId": run_id,
        "trigger": trigger,
        "dryRun": opts.dry_run,
        "thresholdHours": opts.threshold_hours,
        "batchSize": opts.batch_size,
        "closedCount": result.closed_count,
        "closedOrderIds": result.closed_ids,
        "closedOrderIdsTruncated": result.closed_count > len(result.closed_ids),
        "batches": result.batches,
        "complete": result.complete,
        "durationMs": duration_ms,
    })


def _finish_quietly(repo, run_id):
    try:
        repo.finish_run(run_id, 0, 0, "failed")
    except Exception:  # noqa: BLE001 - the original error matters more
        pass


def manual_close(event, order_id):
    if not ORDER_ID.match(order_id):
        raise options.ValidationError("orderId must be 1-64 characters of letters, digits, '_', '.', ':' or '-'")
    with open_repository() as repo:
        try:
            closer.manual_close(repo, order_id)
        except closer.NotFound:
            return _error(404, f"orderId {order_id} not found")
        except closer.Conflict as exc:
            return _error(409, f"orderId {order_id} is {exc.status}; only DELIVERED orders can be closed",
                          status=exc.status)
    return _respond(200, {"success": True, "orderId": order_id, "status": "COMPLETED",
                          "closedBy": "manual", "timestamp": _timestamp()})


def stats(_event):
    hours, _ = options.defaults_from_env(os.environ)
    threshold = options.RunOptions(False, hours, 1).threshold_seconds
    with open_repository() as repo:
        counts = repo.counts_by_status()
        eligible = repo.count_eligible(threshold)
        last_run = repo.last_run()
    by_status = {status: counts.get(status, 0) for status in STATUSES}
    return _respond(200, {
        "success": True,
        "ordersByStatus": by_status,
        "totalOrders": sum(counts.values()),
        "eligibleForAutoClose": eligible,
        "thresholdHours": hours,
        "lastRun": last_run,
        "timestamp": _timestamp(),
    })


def health(_event):
    try:
        with open_repository() as repo:
            repo.ping()
    except db.DatabaseUnavailable:
        return _respond(503, {"success": False, "status": "unhealthy", "database": "down",
                              "error": "database unavailable", "timestamp": _timestamp()})
    return _respond(200, {"success": True, "status": "ok", "database": "up", "timestamp": _timestamp()})


def _route(method, path):
    parts = [p for p in (path or "/").split("?")[0].split("/") if p]
    if len(parts) >= 2 and parts[0] == "function":
        parts = parts[2:]
    if not parts:
        return ({"POST": run_auto_close}, ())
    if parts == ["stats"]:
        return ({"GET": stats}, ())
    if parts == ["health"]:
        return ({"GET": health}, ())
    if len(parts) == 2 and parts[0] == "manual-close":
        return ({"POST": manual_close}, (parts[1],))
    return None, ()


def handle(event, context):
    method = (getattr(event, "method", None) or "GET").upper()
    path = getattr(event, "path", "/")
    methods, extra = _route(method, path)
    if methods is None:
        return _error(404, f"not found: {path}")
    fn = methods.get(method)
    if fn is None:
        return _error(405, f"method {method} not allowed, use {', '.join(methods)}")
    try:
        return fn(event, *extra)
    except options.ValidationError as exc:
        return _error(400, str(exc))
    except db.DatabaseUnavailable as exc:
        _log(f"database unavailable: {exc}")
        return _error(503, "database unavailable")
    except Exception as exc:  # noqa: BLE001 - never leak a stack trace
        _log(f"internal error: {type(exc).__name__}: {str(exc)[:200]}")
        return _error(500, "internal error")
