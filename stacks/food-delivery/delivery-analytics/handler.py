"""delivery-analytics: scores deliveries and serves driver/platform statistics.

Routes:  POST /                 record a delivery
         GET  /stats/driver     ?driverId=X   (or /stats/driver/X)
         GET  /stats/platform
         GET  /health
"""
import functools
import json
import os
import sys
from datetime import datetime, timezone

try:
    from . import aggregates, scoring, store, validation
except ImportError:  # imported as a top-level module (tests, local runs)
    import aggregates
    import scoring
    import store
    import validation

JSON_HEADERS = {"Content-Type": "application/json"}


def _timestamp():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _respond(status, body):
    return {"statusCode": status, "body": body, "headers": dict(JSON_HEADERS)}


def _error(status, message):
    return _respond(status, {"success": False, "error": message, "timestamp": _timestamp()})


def _log(message):
    # One write per line (print() writes the newline separately): lines of concurrent requests
    # do not run into each other.
    sys.stderr.write(f"delivery-analytics: {message}\n")
    sys.stderr.flush()


@functools.cache
def get_store():
    """The process-wide store (its client and script are built once); tests replace this."""
    ttl = int(os.environ.get("DELIVERY_TTL_SECONDS", "86400"))
    return store.DeliveryStore(store.get_client(), ttl_seconds=ttl)


def _route_path(path):
    """'/stats/driver/' -> ['stats', 'driver']; drops a '/function/<name>' prefix."""
    parts = [p for p in (path or "/").split("?")[0].split("/") if p]
    if len(parts) >= 2 and parts[0] == "function":
        parts = parts[2:]
    return parts


def _decode_json(body):
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    if body is None or not body.strip():
        raise validation.ValidationError("body must be a JSON object")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise validation.ValidationError("body is not valid JSON") from None


def build_record(delivery):
    score, components = scoring.performance_score(
        delivery["estimatedDeliveryTime"], delivery["actualDeliveryTime"],
        delivery["distanceKm"], delivery["customerRating"])
    on_time = scoring.is_on_time(delivery["estimatedDeliveryTime"], delivery["actualDeliveryTime"])
    return dict(
        delivery,
        score=score,
        onTime=on_time,
        delaySeconds=max(0.0, delivery["actualDeliveryTime"] - delivery["estimatedDeliveryTime"]),
        components=components,
        recordedAt=_timestamp(),
    )


def record_delivery(event):
    delivery = validation.parse_delivery(_decode_json(event.body))
    stored, duplicate = get_store().record(build_record(delivery))
    body = {"success": True, "duplicate": duplicate}
    for field in ("deliveryId", "orderId", "driverId", "score", "onTime",
                  "delaySeconds", "components", "recordedAt"):
        body[field] = stored.get(field)
    return _respond(200, body)


def driver_stats(event, driver_id=None):
    if driver_id is None:
        query = getattr(event, "query", None) or {}
        driver_id = query.get("driverId")
    driver_id = validation.driver_id_from_query(driver_id)
    stats = get_store().driver_stats(driver_id)
    if stats is None:
        return _error(404, f"driverId {driver_id} has no recorded deliveries")
    return _respond(200, dict({"success": True, "driverId": driver_id}, **aggregates.summarize(stats)))


def platform_stats(_event):
    stats, drivers = get_store().platform_stats()
    return _respond(200, dict({"success": True, "drivers": drivers}, **aggregates.summarize(stats)))


def health(_event):
    try:
        get_store().ping()
    except store.StoreUnavailable:
        return _respond(503, {"success": False, "status": "unhealthy", "redis": "down",
                              "error": "redis unavailable", "timestamp": _timestamp()})
    return _respond(200, {"success": True, "status": "ok", "redis": "up", "timestamp": _timestamp()})


def _dispatch(method, parts):
    """Returns (handler, extra args) or an error response."""
    routes = {
        (): {"POST": record_delivery},
        ("stats", "driver"): {"GET": driver_stats},
        ("stats", "platform"): {"GET": platform_stats},
        ("health",): {"GET": health},
    }
    key = tuple(parts)
    extra = ()
    if len(parts) == 3 and parts[:2] == ["stats", "driver"]:
        key, extra = ("stats", "driver"), (parts[2],)
    methods = routes.get(key)
    if methods is None:
        return None, _error(404, "not found: " + "/" + "/".join(parts))
    fn = methods.get(method)
    if fn is None:
        return None, _error(405, f"method {method} not allowed, use {', '.join(methods)}")
    return (fn, extra), None


def handle(event, context):
    method = (getattr(event, "method", None) or "GET").upper()
    found, error = _dispatch(method, _route_path(getattr(event, "path", "/")))
    if error is not None:
        return error
    fn, extra = found
    try:
        return fn(event, *extra)
    except validation.ValidationError as exc:
        return _error(400, str(exc))
    except store.StoreUnavailable as exc:
        _log(f"redis unavailable: {exc}")
        return _error(503, "redis unavailable")
    except Exception as exc:  # noqa: BLE001 - never leak a stack trace
        _log(f"internal error: {type(exc).__name__}: {exc}")
        return _error(500, "internal error")
