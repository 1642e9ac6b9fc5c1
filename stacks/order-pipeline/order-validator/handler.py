"""order-validator: the business rules of an order, against the catalogue in the database.

POST /  {orderId, items, currency, shippingAddress, paymentMethod}
        -> 200 {valid: true, totalCents} or {valid: false, reasons: [...]}
A rejected order is a successful call (the answer is "no"); only a failure to decide (the
database is down) is an error, a 503 the queue retries.
"""
import os

try:
    from .common import db, steps, web
except ImportError:  # imported as a top-level module (unit tests)
    from common import db, steps, web

NAME = "order-validator"


def settings(env=os.environ):
    countries = {c.strip().upper() for c in env.get("SHIPPING_COUNTRIES", "").split(",") if c.strip()}
    currencies = {c.strip().upper() for c in env.get("CURRENCIES", "EUR").split(",") if c.strip()}
    return {
        "countries": countries,
        "currencies": currencies,
        "max_line": int(env.get("MAX_LINE_QUANTITY", "20")),
        "max_total": int(env.get("MAX_ORDER_CENTS", "1000000")),
    }


def rules(body, products, config):
    """`(reasons, total_cents)`; `products` maps sku -> (name, price_cents, active)."""
    reasons = []
    total = 0
    for line in steps.items(body):
        sku, quantity = line["sku"], line["quantity"]
        product = products.get(sku)
        if product is None:
            reasons.append(f"sku {sku} is not in the catalogue")
            continue
        name, price, active = product
        if not active:
            reasons.append(f"sku {sku} ({name}) is no longer sold")
        if quantity > config["max_line"]:
            reasons.append(f"sku {sku}: at most {config['max_line']} per order, asked for {quantity}")
        total += price * quantity
    if total > config["max_total"]:
        reasons.append(f"the order totals {total} cents, more than the limit of {config['max_total']}")
    address = body.get("shippingAddress") if isinstance(body.get("shippingAddress"), dict) else {}
    country = str(address.get("country", ""))
    if config["countries"] and country not in config["countries"]:
        reasons.append(f"we do not ship to {country[:2]!r}")
    currency = str(body.get("currency", ""))
    if currency not in config["currencies"]:
        reasons.append(f"currency {currency[:3]!r} is not accepted: use {', '.join(sorted(config['currencies']))}")
    return reasons, total


def load_products(skus):
    marks = ", ".join(["%s"] * len(skus))
    with db.connection() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT sku, name, price_cents, active FROM products WHERE sku IN ({marks})", skus)
        return {sku: (name, price, bool(active)) for sku, name, price, active in cur.fetchall()}


def validate(event):
    body = web.json_object(event.body)
    order_id = steps.order_id(body)
    lines = steps.items(body)
    products = load_products([line["sku"] for line in lines])
    reasons, total = rules(body, products, settings())
    valid = not reasons
    web.log(NAME, f"order {order_id}: {'valid' if valid else 'rejected: ' + '; '.join(reasons)}")
    summary = f"valid, {total} cents" if valid else "; ".join(reasons)[:300]
    return web.ok(orderId=order_id, valid=valid, reasons=reasons, totalCents=total if valid else None,
                  summary=summary)


def handle(event, context):
    return web.serve(NAME, event, steps.router({"": validate}))
