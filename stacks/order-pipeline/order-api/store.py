"""order-api's SQL: orders, their items and their step history. Parameterised queries only;
the one transaction that matters is `apply`: lock the order, record the callback once, make
the transition and queue the next calls before committing (a failure to queue rolls it all
back and answers 503, so the queue tries the callback again)."""
import json
import uuid

try:
    from . import flow
    from .common import db
except ImportError:  # imported as a top-level module (unit tests)
    import flow
    from common import db

ORDER_COLUMNS = ("id", "status", "revision", "customer_id", "customer_name", "customer_email",
                 "shipping_address", "payment_type", "currency", "total_cents", "payment_status",
                 "shipment", "failure_reason", "failed_step", "failed_round", "created_at",
                 "updated_at", "completed_at")
#: Columns a transition may change.
CHANGEABLE = ("total_cents", "payment_status", "shipment", "failure_reason", "failed_step", "failed_round")


def new_order_id():
    return f"ord-{uuid.uuid4().hex[:16]}"


def call_id(order_id, step, revision):
    """The X-Call-Id of `step` queued at `revision`: the same call queued twice is one call."""
    return f"{order_id}.{step}.{revision}"


def _row(cur_row):
    order = dict(zip(ORDER_COLUMNS, cur_row))
    for key in ("shipping_address", "shipment"):
        if order[key]:
            order[key] = json.loads(order[key])
    return order


def _select_order(cur, order_id, lock=False):
    cur.execute(f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders WHERE id = %s{' FOR UPDATE' if lock else ''}",
                (order_id,))
    row = cur.fetchone()
    return _row(row) if row else None


def _items(cur, order_id):
    cur.execute("SELECT sku, quantity FROM order_items WHERE order_id = %s ORDER BY line", (order_id,))
    return [{"sku": sku, "quantity": quantity} for sku, quantity in cur.fetchall()]


def record_step(cur, order_id, step, event, call, attempts=0, function_status=None, detail=None):
    """Adds a history row; False when this event of this call attempt is recorded already."""
    cur.execute(
        "INSERT IGNORE INTO order_steps (order_id, step, event, call_id, attempts, function_status, detail)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (order_id, step, event, call, attempts, function_status, (detail or None) and str(detail)[:500]),
    )
    return cur.rowcount == 1


def create(order, queue):
    """Inserts `order` (from intake.parse_order) as VALIDATING and queues its validation
    with `queue(step, order_row, items, kind, revision)` inside the transaction."""
    order_id = new_order_id()
    c = order["customer"]
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO orders (id, status, revision, customer_id, customer_name, customer_email,"
            " shipping_address, payment_type, currency) VALUES (%s, 'VALIDATING', 1, %s, %s, %s, %s, %s, %s)",
            (order_id, c["id"], c["name"], c["email"], json.dumps(order["shippingAddress"]),
             order["paymentMethod"]["type"], order["currency"]),
        )
        cur.executemany(
            "INSERT INTO order_items (order_id, line, sku, quantity) VALUES (%s, %s, %s, %s)",
            [(order_id, n, i["sku"], i["quantity"]) for n, i in enumerate(order["items"], 1)],
        )
        row = _select_order(cur, order_id)
        record_step(cur, order_id, "validate", "queued", call_id(order_id, "validate", 1))
        queue("validate", row, order["items"], None, 1)
    return order_id


#: `apply`'s answer for a callback that arrived before the transition that queued its call.
EARLY = "early"


def apply(order_id, step, round_, call, outcome, queue):
    """Applies one callback; returns `(applied, status)`, None for an unknown order, or EARLY."""
    event = outcome.call_status if outcome.call_status in ("succeeded", "dead") else "failed"
    with db.transaction() as conn, conn.cursor() as cur:
        order = _select_order(cur, order_id, lock=True)
        if order is None:
            return None
        if round_ > order["revision"]:
            # The transition that queued this call has not committed yet (its commit was lost to
            # an outage and its own callback is being retried): this answer must wait for it,
            # not be filed as stale, or the order would wait forever for a call already done.
            return EARLY
        detail = outcome.why() if not outcome.ok else outcome.body.get("summary")
        if not record_step(cur, order_id, step, event, call, outcome.attempts, outcome.function_status, detail):
            return False, order["status"]
        transition = flow.decide(order, step, round_, outcome)
        trailing = step == "notify" and order["status"] in flow.FINAL  # the email after the end
        if transition is None and not trailing:
            record_step(cur, order_id, step, "ignored", call, outcome.attempts, outcome.function_status,
                        f"order was {order['status']} at revision {order['revision']}")
        if transition is None:
            return False, order["status"]
        revision = order["revision"] + 1
        changes = {k: v for k, v in transition.changes.items() if k in CHANGEABLE}
        columns = ["status = %s", "revision = %s"] + [f"{k} = %s" for k in changes]
        values = [transition.status, revision] + [json.dumps(v) if k == "shipment" else v for k, v in changes.items()]
        if transition.changes.get("completed"):
            columns.append("completed_at = CURRENT_TIMESTAMP(3)")
        cur.execute(f"UPDATE orders SET {', '.join(columns)} WHERE id = %s", values + [order_id])
        order.update(changes, status=transition.status, revision=revision)
        items = _items(cur, order_id)
        for next_step, kind in transition.calls:
            record_step(cur, order_id, next_step, "queued", call_id(order_id, next_step, revision), detail=kind)
            queue(next_step, order, items, kind, revision)
        return True, transition.status


def get(order_id):
    """The order with its items and step history, or None."""
    with db.connection() as conn, conn.cursor() as cur:
        order = _select_order(cur, order_id)
        if order is None:
            return None
        items = _items(cur, order_id)
        cur.execute(
            "SELECT step, event, call_id, attempts, function_status, detail, created_at FROM order_steps"
            " WHERE order_id = %s ORDER BY id", (order_id,))
        steps = [dict(zip(("step", "event", "callId", "attempts", "functionStatus", "detail", "at"), r))
                 for r in cur.fetchall()]
    return order, items, steps


def find(status, limit):
    """Orders newest first, of one status when given."""
    sql = f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders"
    args = []
    if status:
        sql += " WHERE status = %s"
        args.append(status)
    sql += " ORDER BY created_at DESC, id DESC LIMIT %s"
    args.append(limit)
    with db.connection() as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return [_row(r) for r in cur.fetchall()]


def counts():
    with db.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT status, COUNT(*) FROM orders GROUP BY status")
        return {status: n for status, n in cur.fetchall()}
