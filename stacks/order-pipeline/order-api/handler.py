"""order-api: takes orders and drives each one through the pipeline.

Routes:  POST /orders                               place an order (202 with its id)
         GET  /orders?status=S&limit=N              orders newest first
         GET  /orders/<id>                          one order with its step history
         POST /orders/<id>/steps/<step>             a step's callback (from the gateway)
         POST /orders/<id>/steps/<step>/apply       the callback, run by order-api's queue
         GET  /health                               database reachable
         GET  /health/detailed                      database, gateway and callback key

Every step is an async call through the gateway (`/async-function/<fn>`) whose
`X-Callback-Url` is `/orders/<id>/steps/<step>`. That callback does not touch the database: it
queues itself as `/async-function/order-api/orders/<id>/steps/<step>/apply`, so a database
outage makes the queue retry the apply instead of losing the step's result.
"""
import os
import re
import time

try:
    from . import flow, intake, signing, store
    from .common import db, gateway, web
except ImportError:  # imported as a top-level module (unit tests)
    import flow
    import intake
    import signing
    import store
    from common import db, gateway, web

NAME = "order-api"
ORDER_ID = re.compile(r"^ord-[0-9a-f]{16}$")
MAX_LIMIT = 500
#: The most of a step's answer that the callback relays.
MAX_RESULT = 32 * 1024


def _self():
    return os.environ.get("ORDER_API_FUNCTION", NAME)


def queue_step(step, order, items, kind, revision):
    """Queues `step` of `order` (queued at `revision`) with its signed callback."""
    function, path = flow.STEPS[step]
    order_id = order["id"]
    signature = signing.sign(order_id, step, revision)
    callback = gateway.function_url(_self(), f"/orders/{order_id}/steps/{step}?round={revision}&sig={signature}")
    body = flow.payload(order, items, step, kind)
    gateway.enqueue(function, path, body, store.call_id(order_id, step, revision), callback)


def place_order(event):
    body = web.json_object(event.body)
    try:
        order = intake.parse_order(body)
    except intake.Invalid as exc:
        return web.error(400, f"invalid order: {exc}", fields=exc.fields)
    _need_key()
    order_id = store.create(order, queue_step)
    web.log(NAME, f"order {order_id} placed: {len(order['items'])} line(s)")
    return web.respond(202, {"success": True, "orderId": order_id, "status": "VALIDATING",
                             "links": {"self": f"/orders/{order_id}"}, "timestamp": web.timestamp()})


def _need_key():
    if not signing.has_key():
        raise web.HttpError(503, "the orders-callback-key secret is missing: create it and redeploy")


def _check_id(order_id):
    if not ORDER_ID.match(order_id):
        shown = order_id if len(order_id) <= 40 else order_id[:40] + "..."
        raise web.HttpError(400, f"orderId {shown!r} is not an order id (ord- and 16 hex digits)")


def _iso(value):
    return value.isoformat(timespec="milliseconds") + "Z" if value else None


def _summary(order):
    return {"orderId": order["id"], "status": order["status"], "customerId": order["customer_id"],
            "totalCents": order["total_cents"], "currency": order["currency"],
            "createdAt": _iso(order["created_at"]), "updatedAt": _iso(order["updated_at"]),
            "completedAt": _iso(order["completed_at"])}


def list_orders(event):
    status = web.query(event, "status") or None  # `?status=` is no filter
    if status is not None and status not in flow.STATUSES:
        shown = status[:30]
        raise web.HttpError(400, f"status {shown!r} is not an order status: use one of {', '.join(flow.STATUSES)}")
    raw_limit = web.query(event, "limit")
    limit = 50
    if raw_limit is not None:
        if not re.fullmatch(r"[0-9]{1,4}", raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise web.HttpError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}, got {raw_limit[:20]!r}")
        limit = int(raw_limit)
    orders = store.find(status, limit)
    return web.ok(orders=[_summary(o) for o in orders], count=len(orders), timestamp=web.timestamp())


def get_order(event, order_id):
    _check_id(order_id)
    found = store.get(order_id)
    if found is None:
        return web.error(404, f"order {order_id} not found")
    order, items, steps = found
    for s in steps:
        s["at"] = _iso(s["at"])
    detail = _summary(order)
    detail.update({
        "customer": {"id": order["customer_id"], "name": order["customer_name"], "email": order["customer_email"]},
        "items": items,
        "shippingAddress": order["shipping_address"],
        "paymentMethod": {"type": order["payment_type"]},
        "paymentStatus": order["payment_status"],
        "shipment": order["shipment"],
        "failureReason": order["failure_reason"],
        "final": order["status"] in flow.FINAL,
        "steps": steps,
    })
    return web.ok(order=detail, timestamp=web.timestamp())


def _step_args(event, order_id, step):
    _check_id(order_id)
    if step not in flow.STEPS:
        raise web.HttpError(404, f"unknown step {step[:20]!r}")
    raw_round = web.query(event, "round") or ""
    if not re.fullmatch(r"[0-9]{1,9}", raw_round):
        raise web.HttpError(400, "round must be a whole number")
    _need_key()
    if not signing.valid(order_id, step, int(raw_round), web.query(event, "sig")):
        raise web.HttpError(403, "the step result is not signed by this pipeline")
    return int(raw_round)


def step_callback(event, order_id, step):
    """The gateway's callback for a step: queue its result for `apply` (no database here)."""
    round_ = _step_args(event, order_id, step)
    call = web.header(event, "X-Call-Id") or ""
    attempts = web.header(event, "X-Call-Attempts") or "1"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,100}", call) or not attempts.isdigit():
        raise web.HttpError(400, "a step callback needs X-Call-Id and X-Call-Attempts")
    raw = event.body or b""
    try:
        result = web.json_object(raw, limit=MAX_RESULT, what="step result")
    except web.HttpError:
        result = {"error": raw[:200].decode("utf-8", "replace")}
    status_text = web.header(event, "X-Function-Status") or ""
    relayed = {
        "callId": call,
        "attempts": int(attempts),
        "callStatus": web.header(event, "X-Call-Status") or "succeeded",
        "functionStatus": int(status_text) if status_text.isdigit() and len(status_text) == 3 else 0,
        "result": result,
    }
    path = f"/orders/{order_id}/steps/{step}/apply?round={round_}&sig={web.query(event, 'sig')}"
    gateway.enqueue(_self(), path, relayed, f"cb.{call}.{attempts}")
    return web.respond(202, {"success": True, "queued": True})


def step_apply(event, order_id, step):
    round_ = _step_args(event, order_id, step)
    body = web.json_object(event.body, limit=MAX_RESULT + 4096, what="step result")
    outcome = flow.Outcome(body.get("callStatus"), body.get("functionStatus"), body.get("result"),
                           body.get("attempts") or 1)
    result = store.apply(order_id, step, round_, str(body.get("callId", ""))[:128], outcome, queue_step)
    if result is None:
        return web.error(404, f"order {order_id} not found")
    if result == store.EARLY:
        # 503: the queue tries the apply again once the step before it is recorded.
        return web.error(503, f"order {order_id}: the {step} answer came before the step that queued it was recorded")
    applied, status = result
    web.log(NAME, f"order {order_id}: {step} {outcome.call_status} ({outcome.function_status})"
                  f" -> {status}{'' if applied else ' (history only)'}")
    return web.ok(orderId=order_id, applied=applied, status=status)


def health(_event):
    if not db.ping():
        return web.respond(503, {"success": False, "status": "unhealthy", "database": "down",
                                 "error": "database unavailable", "timestamp": web.timestamp()})
    return web.ok(status="ok", database="up", timestamp=web.timestamp())


def health_detailed(_event):
    started = time.monotonic()
    database = db.ping()
    db_ms = round((time.monotonic() - started) * 1000, 1)
    gw_up, gw_ms = gateway.probe()
    key = signing.has_key()
    healthy = database and gw_up and key
    checks = {
        "database": {"status": "up" if database else "down", "latencyMs": db_ms},
        "gateway": {"status": "up" if gw_up else "down", "latencyMs": gw_ms, "url": gateway.base_url()},
        "callbackKey": {"status": "present" if key else "missing"},
    }
    body = {"success": healthy, "status": "ok" if healthy else "degraded", "checks": checks,
            "timestamp": web.timestamp()}
    if not healthy:
        down = [name for name, c in checks.items() if c["status"] in ("down", "missing")]
        body["error"] = f"{', '.join(down)} unavailable"
    return web.respond(200 if healthy else 503, body)


def routes(method, parts):
    table = None
    args = ()
    if parts == ["orders"]:
        table = {"POST": place_order, "GET": list_orders}
    elif len(parts) == 2 and parts[0] == "orders":
        table, args = {"GET": get_order}, (parts[1],)
    elif len(parts) == 4 and parts[0] == "orders" and parts[2] == "steps":
        table, args = {"POST": step_callback}, (parts[1], parts[3])
    elif len(parts) == 5 and parts[0] == "orders" and parts[2] == "steps" and parts[4] == "apply":
        table, args = {"POST": step_apply}, (parts[1], parts[3])
    elif parts == ["health"]:
        table = {"GET": health}
    elif parts == ["health", "detailed"]:
        table = {"GET": health_detailed}
    if table is None:
        return None, None
    fn = table.get(method)
    return (fn, args) if fn else (None, list(table))


def handle(event, context):
    return web.serve(NAME, event, routes)
