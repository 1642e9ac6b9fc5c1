"""The order's state machine, kept pure so that it is tested without a database.

An order moves one step at a time; each step is one async call through the gateway to the
function that does it, and the call's callback (relayed into order-api's own queue) is fed to
`decide`, which returns the transition: the new status, the columns to change, and the calls
to queue next.

    VALIDATING -> RESERVING -> PAYING -> FULFILLING -> NOTIFYING -> COMPLETED
         |            |          |
      REJECTED   OUT_OF_STOCK  RELEASING -> PAYMENT_FAILED      (then a notification)

A callback is applied only if it answers the call the order waits for: the callback URL
carries the revision that queued the call, and the order's revision must still be that one.
Anything else (a duplicate, a call from an earlier round) only goes into the step history.
One exception resumes an order: a dead call that is retried by hand (`rfaas async retry`) and
then succeeds continues the order from where it failed. A payment retried after the order
ended PAYMENT_FAILED (its stock released) reserves the stock again; if that is gone by then,
the payment is refunded and the order ends OUT_OF_STOCK.
"""

#: step -> (function, path)
STEPS = {
    "validate": ("order-validator", "/"),
    "reserve": ("inventory", "/reserve"),
    "release": ("inventory", "/release"),
    "pay": ("payment", "/charge"),
    "refund": ("payment", "/refund"),
    "fulfil": ("fulfilment", "/"),
    "notify": ("notification", "/"),
}
#: status -> the step whose answer it waits for
WAITS_FOR = {
    "VALIDATING": "validate",
    "RESERVING": "reserve",
    "PAYING": "pay",
    "FULFILLING": "fulfil",
    "NOTIFYING": "notify",
    "RELEASING": "release",
    "REFUNDING": "refund",
}
FINAL = ("COMPLETED", "REJECTED", "OUT_OF_STOCK", "PAYMENT_FAILED", "FAILED")
STATUSES = tuple(WAITS_FOR) + FINAL


class Outcome:
    """How a call ended, as its callback told: `succeeded` (a 2xx/3xx from the function) or
    `dead` (out of attempts), the function's status and its JSON answer."""

    def __init__(self, call_status, function_status, body, attempts=1):
        self.call_status = call_status
        self.function_status = function_status
        self.body = body if isinstance(body, dict) else {}
        self.attempts = attempts

    @property
    def ok(self):
        return self.call_status == "succeeded" and 200 <= (self.function_status or 0) < 300

    def why(self):
        error = self.body.get("error")
        text = f"status {self.function_status} after {self.attempts} attempt(s)"
        return f"{text}: {str(error)[:200]}" if error else text


class Transition:
    def __init__(self, status, calls=(), **changes):
        self.status = status
        self.calls = list(calls)  # [(step, kind)]; kind qualifies a notification
        self.changes = changes


def decide(order, step, round_, outcome):
    """The transition for `outcome` of `step` queued at revision `round_`, or None when it
    only goes into the history. `order` is a dict of the order's columns."""
    status = order["status"]
    current = round_ == order["revision"] and WAITS_FOR.get(status) == step
    resuming = (outcome.ok and status in ("PAYMENT_FAILED", "FAILED")
                and order.get("failed_step") == step and order.get("failed_round") == round_)
    if not (current or resuming):
        return None
    if not outcome.ok:
        return _failed(step, round_, outcome)
    return _advance(order, step, outcome.body)


def _failed(step, round_, outcome):
    why = outcome.why()
    if step == "pay":
        # The payment stayed failed: give the stock back, then end PAYMENT_FAILED.
        return Transition("RELEASING", [("release", None)], failure_reason=f"payment failed: {why}",
                          failed_step="pay", failed_round=round_)
    if step == "notify":
        # The order is fulfilled; a lost email does not undo that.
        return Transition("COMPLETED", failure_reason=f"notification failed: {why}", completed=True)
    return Transition("FAILED", failure_reason=f"{step} failed: {why}", failed_step=step, failed_round=round_)


def _advance(order, step, body):
    captured = order.get("payment_status") == "CAPTURED"
    if step == "validate":
        if body.get("valid") is True:
            return Transition("RESERVING", [("reserve", None)], total_cents=body.get("totalCents"))
        reasons = body.get("reasons") or ["rejected by the validator"]
        return Transition("REJECTED", [("notify", "rejected")],
                          failure_reason="; ".join(str(r) for r in reasons)[:500])
    if step == "reserve":
        if body.get("reserved") is True:
            if captured:
                return Transition("FULFILLING", [("fulfil", None)], failed_step=None, failed_round=None)
            return Transition("PAYING", [("pay", None)])
        reason = str(body.get("reason") or "out of stock")[:500]
        if captured:
            return Transition("REFUNDING", [("refund", None)], failure_reason=reason)
        return Transition("OUT_OF_STOCK", [("notify", "out_of_stock")], failure_reason=reason)
    if step == "pay":
        if order["status"] == "PAYMENT_FAILED":
            # Retried by hand after the stock went back: reserve it again before shipping.
            return Transition("RESERVING", [("reserve", None)], payment_status="CAPTURED",
                              failure_reason=None, failed_step=None, failed_round=None)
        return Transition("FULFILLING", [("fulfil", None)], payment_status="CAPTURED",
                          failure_reason=None, failed_step=None, failed_round=None)
    if step == "refund":
        return Transition("OUT_OF_STOCK", [("notify", "out_of_stock")], payment_status="REFUNDED")
    if step == "release":
        return Transition("PAYMENT_FAILED", [("notify", "payment_failed")])
    if step == "fulfil":
        shipment = {k: body.get(k) for k in ("shipmentId", "carrier", "trackingNumber")}
        return Transition("NOTIFYING", [("notify", "shipped")], shipment=shipment,
                          failed_step=None, failed_round=None)
    if step == "notify":
        return Transition("COMPLETED", completed=True)
    return None


def payload(order, items, step, kind=None):
    """The body of the call for `step`: what the function needs, and nothing secret."""
    order_id = order["id"]
    skus = [{"sku": i["sku"], "quantity": i["quantity"]} for i in items]
    if step == "validate":
        return {"orderId": order_id, "items": skus, "currency": order["currency"],
                "shippingAddress": order["shipping_address"], "paymentMethod": {"type": order["payment_type"]}}
    if step in ("reserve", "release"):
        return {"orderId": order_id, "items": skus}
    if step in ("pay", "refund"):
        return {"orderId": order_id, "amountCents": order.get("total_cents") or 0,
                "currency": order["currency"], "method": order["payment_type"]}
    if step == "fulfil":
        return {"orderId": order_id, "items": skus, "shippingAddress": order["shipping_address"]}
    if step == "notify":
        return {"orderId": order_id, "kind": kind or "shipped", "email": order["customer_email"],
                "name": order["customer_name"], "shipment": order.get("shipment"),
                "reason": order.get("failure_reason")}
    raise ValueError(f"unknown step {step}")
