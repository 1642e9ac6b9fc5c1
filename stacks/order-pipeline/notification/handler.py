"""notification: tells the customer how the order went, by a simulated email: the message is
written to the function's log (`rfaas logs notification`) and recorded, once per order and
kind, so a call delivered twice sends one email.

POST /  {orderId, kind, email, name, shipment?, reason?}  -> {sent: true, duplicate}
"""
try:
    from .common import db, steps, web
except ImportError:  # imported as a top-level module (unit tests)
    from common import db, steps, web

NAME = "notification"
SUBJECTS = {
    "shipped": "Your order {id} is on its way",
    "rejected": "We could not accept your order {id}",
    "out_of_stock": "Your order {id} could not be filled",
    "payment_failed": "Payment for your order {id} did not go through",
}


def message(body):
    """`(kind, recipient, subject, text)` of the email for `body`."""
    order_id = steps.order_id(body)
    kind = body.get("kind")
    if kind not in SUBJECTS:
        raise web.HttpError(400, f"kind must be one of {', '.join(SUBJECTS)}")
    email = body.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise web.HttpError(400, "email must be an email address")
    name = str(body.get("name") or "customer")[:200]
    subject = SUBJECTS[kind].format(id=order_id)
    if kind == "shipped":
        shipment = body.get("shipment") if isinstance(body.get("shipment"), dict) else {}
        detail = f"tracking number {shipment.get('trackingNumber', 'to follow')} ({shipment.get('carrier', '')})"
    else:
        detail = str(body.get("reason") or "")[:300]
    return kind, email, subject, f"Dear {name}, {subject.lower()}. {detail}".strip()


def send(event):
    body = web.json_object(event.body)
    order_id = steps.order_id(body)
    kind, email, subject, text = message(body)
    with db.connection() as conn, conn.cursor() as cur:
        cur.execute("INSERT IGNORE INTO notifications (order_id, kind, recipient, subject) VALUES (%s, %s, %s, %s)",
                    (order_id, kind, email, subject))
        duplicate = cur.rowcount == 0
    if not duplicate:
        web.log(NAME, f"email to {email}: {subject!r}: {text}")
    return web.ok(orderId=order_id, sent=True, duplicate=duplicate, summary=f"{kind} email to {email}")


def handle(event, context):
    return web.serve(NAME, event, steps.router({"": send}))
