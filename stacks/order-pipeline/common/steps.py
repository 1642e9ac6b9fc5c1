"""What every step function shares: reading a step's body (an `orderId` and the fields the
step needs), and the `/health` route."""
import re

try:
    from . import db, web
except ImportError:  # imported as a top-level module (unit tests)
    import db
    import web

ORDER_ID = re.compile(r"^ord-[0-9a-f]{16}$")
SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def order_id(body):
    value = body.get("orderId")
    if not isinstance(value, str) or not ORDER_ID.match(value):
        raise web.HttpError(400, "orderId must be ord- and 16 hex digits")
    return value


def items(body):
    """`[{"sku", "quantity"}]` from the body, sorted by sku (the order rows are locked in)."""
    value = body.get("items")
    if not isinstance(value, list) or not value or len(value) > 100:
        raise web.HttpError(400, "items must be an array of 1 to 100 {sku, quantity}")
    lines = {}
    for i, item in enumerate(value):
        sku = item.get("sku") if isinstance(item, dict) else None
        quantity = item.get("quantity") if isinstance(item, dict) else None
        if not isinstance(sku, str) or not SKU.match(sku):
            raise web.HttpError(400, f"items[{i}].sku must be letters, digits, '_', '.' or '-'")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 100000:
            raise web.HttpError(400, f"items[{i}].quantity must be a whole number from 1 to 100000")
        lines[sku] = lines.get(sku, 0) + quantity
    return [{"sku": sku, "quantity": lines[sku]} for sku in sorted(lines)]


def health(_event):
    if not db.ping():
        return web.respond(503, {"success": False, "status": "unhealthy", "database": "down",
                                 "error": "database unavailable", "timestamp": web.timestamp()})
    return web.ok(status="ok", database="up", timestamp=web.timestamp())


def router(posts):
    """Routes for a step function: `posts` maps a path ("" for /) to its POST handler."""
    def routes(method, parts):
        path = "/".join(parts)
        if path == "health":
            return (health, ()) if method == "GET" else (None, ["GET"])
        fn = posts.get(path)
        if fn is None:
            return None, None
        return (fn, ()) if method == "POST" else (None, ["POST"])
    return routes
