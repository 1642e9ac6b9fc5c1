"""The validator's rules, without a database (the catalogue is given)."""
import handler
from common.testing import call

CONFIG = {"countries": {"DE", "FR"}, "currencies": {"EUR"}, "max_line": 5, "max_total": 100_000}
PRODUCTS = {"KB-101": ("Keyboard", 8900, True), "OLD-1": ("Dock", 4900, False)}


def body(items, country="DE", currency="EUR"):
    return {"orderId": "ord-0123456789abcdef", "items": items, "currency": currency,
            "shippingAddress": {"country": country}}


def test_a_valid_order_is_priced_from_the_catalogue():
    reasons, total = handler.rules(body([{"sku": "KB-101", "quantity": 2}]), PRODUCTS, CONFIG)
    assert (reasons, total) == ([], 17800)


def test_every_rule_gives_its_reason():
    reasons, _ = handler.rules(body([{"sku": "KB-101", "quantity": 6}, {"sku": "OLD-1", "quantity": 1},
                                     {"sku": "NEW-9", "quantity": 1}], country="US", currency="USD"),
                               PRODUCTS, CONFIG)
    text = " | ".join(reasons)
    for words in ("at most 5", "no longer sold", "NEW-9 is not in the catalogue", "'US'", "'USD'"):
        assert words in text, text
    reasons, _ = handler.rules(body([{"sku": "KB-101", "quantity": 5}] * 3), PRODUCTS, CONFIG)
    assert any("more than the limit" in r for r in reasons)


def test_bad_calls_are_400():
    assert call(handler, "POST", "/", {"orderId": "x", "items": []})[0] == 400
    assert call(handler, "POST", "/", {"orderId": "ord-0123456789abcdef", "items": [{"sku": "a b"}]})[0] == 400
    assert call(handler, "GET", "/")[0] == 405
