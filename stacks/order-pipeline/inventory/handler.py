"""inventory: reserves an order's stock, all lines or none, and gives it back.

POST /reserve  {orderId, items}  -> {reserved: true} or {reserved: false, reason}
POST /release  {orderId}         -> {released: true}  (what the reservation holds goes back)

A reservation is one transaction: each line is a conditional UPDATE (`available >= quantity`),
so stock never goes below zero however many orders race for it, and the lines are taken in sku
order, so two orders never wait for each other's rows (no deadlock). Both calls are idempotent
per order (the reservation row says what was done), as the queue delivers at least once.
"""
import json

try:
    from .common import db, steps, web
except ImportError:  # imported as a top-level module (unit tests)
    from common import db, steps, web

NAME = "inventory"


def _lock(cur, order_id, lines):
    """The order's reservation row, locked. A first call inserts it (status NEW), so that a
    duplicate delivery of the same call waits here for the first one to commit."""
    cur.execute("INSERT IGNORE INTO reservations (order_id, status, items) VALUES (%s, 'NEW', %s)",
                (order_id, json.dumps(lines)))
    cur.execute("SELECT status, reason, items FROM reservations WHERE order_id = %s FOR UPDATE", (order_id,))
    return cur.fetchone()


def reserve(event):
    body = web.json_object(event.body)
    order_id = steps.order_id(body)
    lines = steps.items(body)
    with db.transaction() as conn, conn.cursor() as cur:
        status, reason, _ = _lock(cur, order_id, lines)
        if status == "RESERVED":
            return web.ok(orderId=order_id, reserved=True, summary="already reserved")
        if status == "REJECTED":
            return web.ok(orderId=order_id, reserved=False, reason=reason, summary=reason)
        # NEW, or RELEASED (a payment retried by hand after the stock went back): take it now.
        cur.execute("SAVEPOINT take_stock")
        for line in lines:
            cur.execute(
                "UPDATE stock SET available = available - %s, reserved = reserved + %s"
                " WHERE sku = %s AND available >= %s",
                (line["quantity"], line["quantity"], line["sku"], line["quantity"]))
            if cur.rowcount != 1:
                cur.execute("ROLLBACK TO SAVEPOINT take_stock")
                reason = f"sku {line['sku']}: not enough stock for {line['quantity']}"
                cur.execute("UPDATE reservations SET status = 'REJECTED', reason = %s WHERE order_id = %s",
                            (reason, order_id))
                web.log(NAME, f"order {order_id}: {reason}")
                return web.ok(orderId=order_id, reserved=False, reason=reason, summary=reason)
        cur.execute("UPDATE reservations SET status = 'RESERVED', items = %s, reason = NULL WHERE order_id = %s",
                    (json.dumps(lines), order_id))
    units = sum(line["quantity"] for line in lines)
    return web.ok(orderId=order_id, reserved=True, summary=f"{units} unit(s) reserved")


def release(event):
    body = web.json_object(event.body)
    order_id = steps.order_id(body)
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT status, items FROM reservations WHERE order_id = %s FOR UPDATE", (order_id,))
        found = cur.fetchone()
        if not found or found[0] != "RESERVED":
            return web.ok(orderId=order_id, released=False, summary="nothing reserved")
        held = json.loads(found[1])
        for line in held:
            cur.execute("UPDATE stock SET available = available + %s, reserved = reserved - %s WHERE sku = %s",
                        (line["quantity"], line["quantity"], line["sku"]))
        cur.execute("UPDATE reservations SET status = 'RELEASED' WHERE order_id = %s", (order_id,))
    units = sum(line["quantity"] for line in held)
    web.log(NAME, f"order {order_id}: released {units} unit(s)")
    return web.ok(orderId=order_id, released=True, summary=f"{units} unit(s) released")


def handle(event, context):
    return web.serve(NAME, event, steps.router({"reserve": reserve, "release": release}))
