"""fulfilment: books the shipment of a paid order (simulated carrier), once per order.

POST /  {orderId, items, shippingAddress}  -> {shipmentId, carrier, trackingNumber}
"""
import os
import time
import uuid

try:
    from .common import db, steps, web
except ImportError:  # imported as a top-level module (unit tests)
    from common import db, steps, web

NAME = "fulfilment"


def fulfil(event):
    body = web.json_object(event.body)
    order_id = steps.order_id(body)
    lines = steps.items(body)
    address = body.get("shippingAddress")
    if not isinstance(address, dict) or not address.get("country"):
        raise web.HttpError(400, "shippingAddress with a country is required")
    latency = float(os.environ.get("FULFILMENT_LATENCY_MS", "0") or 0)
    if latency > 0:
        time.sleep(latency / 1000.0)
    carrier = os.environ.get("CARRIER", "SIM-POST")[:40]
    shipment = f"shp-{uuid.uuid4().hex[:16]}"
    tracking = f"{carrier[:3].upper()}{uuid.uuid4().int % 10**12:012d}{address['country'][:2]}"
    with db.connection() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT IGNORE INTO shipments (order_id, shipment_id, carrier, tracking_number) VALUES (%s, %s, %s, %s)",
            (order_id, shipment, carrier, tracking))
        cur.execute("SELECT shipment_id, carrier, tracking_number FROM shipments WHERE order_id = %s", (order_id,))
        shipment, carrier, tracking = cur.fetchone()
    units = sum(line["quantity"] for line in lines)
    web.log(NAME, f"order {order_id}: {units} unit(s) shipped with {carrier}, tracking {tracking}")
    return web.ok(orderId=order_id, shipmentId=shipment, carrier=carrier, trackingNumber=tracking,
                  summary=f"{carrier} {tracking}")


def handle(event, context):
    return web.serve(NAME, event, steps.router({"": fulfil}))
