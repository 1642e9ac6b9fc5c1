"""The shape of an order as POST /orders accepts it. Every problem is reported at once, each
naming its field (`items[1].quantity`); the business rules (known products, shipping
countries, totals) are the order-validator's.
"""
import re

MAX_ITEMS = 50
MAX_QUANTITY = 1000
PAYMENT_TYPES = ("card", "paypal", "invoice")
SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")
CUSTOMER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
#: The address fields: (name, required, longest).
ADDRESS = (("line1", True, 200), ("line2", False, 200), ("city", True, 100),
           ("postalCode", True, 20), ("country", True, 2))


class Invalid(Exception):
    def __init__(self, problems):
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems

    @property
    def fields(self):
        return [field for field, _ in self.problems]


def _text(problems, obj, key, path, required=True, longest=200, pattern=None, hint=""):
    value = obj.get(key)
    if value is None:
        if required:
            problems.append((path, f"{path} is required"))
        return None
    if not isinstance(value, str):
        problems.append((path, f"{path} must be a string, got {_kind(value)}"))
        return None
    value = value.strip()
    if required and not value:
        problems.append((path, f"{path} must not be empty"))
        return None
    if len(value) > longest:
        problems.append((path, f"{path} must be at most {longest} characters, got {len(value)}"))
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        problems.append((path, f"{path} must not contain control characters"))
        return None
    if pattern is not None and value and not pattern.match(value):
        problems.append((path, f"{path} {hint}"))
        return None
    return value


def _kind(value):
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _object(problems, body, key):
    value = body.get(key)
    if value is None:
        problems.append((key, f"{key} is required"))
        return None
    if not isinstance(value, dict):
        problems.append((key, f"{key} must be an object, got {_kind(value)}"))
        return None
    return value


def _items(problems, body):
    items = body.get("items")
    if items is None:
        problems.append(("items", "items is required"))
        return []
    if not isinstance(items, list):
        problems.append(("items", f"items must be an array, got {_kind(items)}"))
        return []
    if not items:
        problems.append(("items", "items must hold at least one item"))
        return []
    if len(items) > MAX_ITEMS:
        problems.append(("items", f"items must hold at most {MAX_ITEMS} items, got {len(items)}"))
        return []
    lines = []
    for i, item in enumerate(items):
        path = f"items[{i}]"
        if not isinstance(item, dict):
            problems.append((path, f"{path} must be an object, got {_kind(item)}"))
            continue
        sku = _text(problems, item, "sku", f"{path}.sku", longest=64, pattern=SKU,
                    hint="must be letters, digits, '_', '.' or '-' (at most 64)")
        quantity = item.get("quantity")
        qpath = f"{path}.quantity"
        if quantity is None:
            problems.append((qpath, f"{qpath} is required"))
        elif isinstance(quantity, bool) or not isinstance(quantity, int):
            problems.append((qpath, f"{qpath} must be a whole number, got {_kind(quantity)}"))
        elif not 1 <= quantity <= MAX_QUANTITY:
            problems.append((qpath, f"{qpath} must be from 1 to {MAX_QUANTITY}, got {quantity}"))
        elif sku is not None:
            lines.append({"sku": sku, "quantity": quantity})
    skus = [line["sku"] for line in lines]
    for sku in sorted({s for s in skus if skus.count(s) > 1}):
        problems.append(("items", f"items lists sku {sku} more than once: put the quantities together"))
    return lines


def parse_order(body):
    """The order in `body` (a dict), normalised; raises `Invalid` listing every problem."""
    problems = []
    known = {"customer", "items", "shippingAddress", "paymentMethod", "currency"}
    for key in sorted(set(body) - known):
        shown = key if len(key) <= 40 else key[:40] + "..."
        problems.append((shown, f"unknown field {shown!r}: expected {', '.join(sorted(known))}"))
    customer = {}
    c = _object(problems, body, "customer")
    if c is not None:
        customer = {
            "id": _text(problems, c, "id", "customer.id", longest=64, pattern=CUSTOMER_ID,
                        hint="must be letters, digits, '_', '.', ':' or '-' (at most 64)"),
            "name": _text(problems, c, "name", "customer.name", longest=200),
            "email": _text(problems, c, "email", "customer.email", longest=254, pattern=EMAIL,
                           hint="must be an email address such as ada@example.com"),
        }
    items = _items(problems, body)
    address = {}
    a = _object(problems, body, "shippingAddress")
    if a is not None:
        for key, required, longest in ADDRESS:
            path = f"shippingAddress.{key}"
            if key == "country":
                value = _text(problems, a, key, path, longest=longest, pattern=COUNTRY,
                              hint="must be an ISO 3166 alpha-2 code in capitals, such as DE")
            else:
                value = _text(problems, a, key, path, required=required, longest=longest)
            if value:
                address[key] = value
    payment = {}
    p = _object(problems, body, "paymentMethod")
    if p is not None:
        kind = _text(problems, p, "type", "paymentMethod.type", longest=20)
        if kind is not None and kind not in PAYMENT_TYPES:
            problems.append(("paymentMethod.type",
                             f"paymentMethod.type must be one of {', '.join(PAYMENT_TYPES)}, got {kind[:20]!r}"))
        payment["type"] = kind
    currency = "EUR"
    if "currency" in body:
        currency = _text(problems, body, "currency", "currency", longest=3, pattern=CURRENCY,
                         hint="must be an ISO 4217 code in capitals, such as EUR")
    if problems:
        raise Invalid(problems)
    return {"customer": customer, "items": items, "shippingAddress": address,
            "paymentMethod": payment, "currency": currency}
