"""payment: a simulated payment provider, idempotent per order.

POST /charge  {orderId, amountCents, currency, method}  -> {paid: true, reference}
POST /refund  {orderId}                                 -> {refunded: true|false}

The simulation: each charge waits `latency_ms`, then fails with probability `failure_rate`
(503 "payment provider unavailable", which the queue retries under the function's
`com.openfaas.retry.*` policy). Both come from the `payment_settings` row (id 1) when it has
them, so a test or an operator can change them while orders run, else from PAYMENT_LATENCY_MS
and PAYMENT_FAILURE_RATE. A charge for an order that is already captured answers the same
capture again without charging twice.
"""
import os
import random
import time
import uuid

try:
    from .common import db, steps, web
except ImportError:  # imported as a top-level module (unit tests)
    from common import db, steps, web

NAME = "payment"
METHODS = ("card", "paypal", "invoice")


def _env_float(name, default):
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return float(default)


def simulation(cur):
    """`(failure_rate, latency_ms)`: the settings row first, then the environment."""
    rate = min(max(_env_float("PAYMENT_FAILURE_RATE", "0"), 0.0), 1.0)
    latency = max(_env_float("PAYMENT_LATENCY_MS", "0"), 0.0)
    cur.execute("SELECT failure_rate, latency_ms FROM payment_settings WHERE id = 1")
    row = cur.fetchone()
    if row is not None:
        if row[0] is not None:
            rate = float(row[0])
        if row[1] is not None:
            latency = float(row[1])
    return rate, latency


def _captured(cur, order_id):
    cur.execute("SELECT status, reference, amount_cents FROM payments WHERE order_id = %s", (order_id,))
    return cur.fetchone()


def _amount(body):
    amount = body.get("amountCents")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise web.HttpError(400, "amountCents must be a whole number of cents, 0 or more")
    return amount


def charge(event):
    body = web.json_object(event.body)
    order_id = steps.order_id(body)
    amount = _amount(body)
    method = body.get("method")
    if method not in METHODS:
        raise web.HttpError(400, f"method must be one of {', '.join(METHODS)}")
    currency = str(body.get("currency", "EUR"))[:3]
    with db.connection() as conn, conn.cursor() as cur:
        found = _captured(cur, order_id)
        if found is not None:
            return web.ok(orderId=order_id, paid=True, reference=found[1], amountCents=found[2],
                          summary=f"already {found[0].lower()} ({found[1]})")
        rate, latency = simulation(cur)
        if latency > 0:
            time.sleep(latency / 1000.0)
        if random.random() < rate:
            cur.execute("INSERT INTO payment_attempts (order_id, action, outcome) VALUES (%s, 'charge', 'failed')",
                        (order_id,))
            web.log(NAME, f"order {order_id}: simulated provider failure (failure rate {rate:g})")
            raise web.HttpError(503, "payment provider unavailable (simulated failure)")
        reference = f"pay-{uuid.uuid4().hex[:20]}"
        # A concurrent duplicate loses the race to the primary key and reads the winner's row.
        cur.execute(
            "INSERT IGNORE INTO payments (order_id, status, amount_cents, currency, method, reference)"
            " VALUES (%s, 'CAPTURED', %s, %s, %s, %s)", (order_id, amount, currency, method, reference))
        cur.execute("INSERT INTO payment_attempts (order_id, action, outcome) VALUES (%s, 'charge', 'captured')",
                    (order_id,))
        status, reference, amount = _captured(cur, order_id)
    web.log(NAME, f"order {order_id}: captured {amount} {currency} ({reference})")
    return web.ok(orderId=order_id, paid=True, reference=reference, amountCents=amount,
                  summary=f"captured {amount} {currency} ({reference})")


def refund(event):
    body = web.json_object(event.body)
    order_id = steps.order_id(body)
    with db.connection() as conn, conn.cursor() as cur:
        cur.execute("UPDATE payments SET status = 'REFUNDED' WHERE order_id = %s AND status = 'CAPTURED'",
                    (order_id,))
        refunded = cur.rowcount == 1
        cur.execute("INSERT INTO payment_attempts (order_id, action, outcome) VALUES (%s, 'refund', %s)",
                    (order_id, "refunded" if refunded else "nothing"))
    web.log(NAME, f"order {order_id}: {'refunded' if refunded else 'nothing to refund'}")
    return web.ok(orderId=order_id, refunded=refunded, summary="refunded" if refunded else "nothing to refund")


def handle(event, context):
    return web.serve(NAME, event, steps.router({"charge": charge, "refund": refund}))
