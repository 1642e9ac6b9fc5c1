"""Unit tests of order-api without a database: the order's shape (every problem named), the
state machine, and the routes' answers to bad requests. The flow against real MariaDB and the
gateway is tested in tests/it/order_pipeline/."""
import pytest

import flow
import handler
import intake
from common.testing import call


def order(**overrides):
    body = {
        "customer": {"id": "cust-1", "name": "Ada Lovelace", "email": "ada@example.com"},
        "items": [{"sku": "KB-101", "quantity": 1}],
        "shippingAddress": {"line1": "1 Main St", "city": "Berlin", "postalCode": "10115", "country": "DE"},
        "paymentMethod": {"type": "card"},
    }
    body.update(overrides)
    return body


def problems(body):
    with pytest.raises(intake.Invalid) as exc:
        intake.parse_order(body)
    return exc.value.fields, str(exc.value)


def test_a_good_order_is_normalised():
    parsed = intake.parse_order(order(currency="EUR"))
    assert parsed["items"] == [{"sku": "KB-101", "quantity": 1}]
    assert parsed["shippingAddress"]["country"] == "DE"
    assert parsed["currency"] == "EUR"


@pytest.mark.parametrize("body, field", [
    (order(customer=None), "customer"),
    (order(customer="ada"), "customer"),
    (order(customer={"id": "c", "name": "A", "email": "not-an-email"}), "customer.email"),
    (order(customer={"id": "c;DROP TABLE orders", "name": "A", "email": "a@b.co"}), "customer.id"),
    (order(customer={"id": "c", "name": 7, "email": "a@b.co"}), "customer.name"),
    (order(items=[]), "items"),
    (order(items={"sku": "x"}), "items"),
    (order(items=[{"sku": "KB-101", "quantity": "1"}]), "items[0].quantity"),
    (order(items=[{"sku": "KB-101", "quantity": 1.5}]), "items[0].quantity"),
    (order(items=[{"sku": "KB-101", "quantity": True}]), "items[0].quantity"),
    (order(items=[{"sku": "KB-101", "quantity": 0}]), "items[0].quantity"),
    (order(items=[{"sku": "../etc/passwd", "quantity": 1}]), "items[0].sku"),
    (order(items=[{"quantity": 1}]), "items[0].sku"),
    (order(items=[{"sku": "A", "quantity": 1}] * 51), "items"),
    (order(shippingAddress={"line1": "x", "city": "y", "postalCode": "z", "country": "germany"}),
     "shippingAddress.country"),
    (order(shippingAddress={"city": "y", "postalCode": "z", "country": "DE"}), "shippingAddress.line1"),
    (order(paymentMethod={"type": "bitcoin"}), "paymentMethod.type"),
    (order(currency="euro"), "currency"),
    (order(extra=1), "extra"),
])
def test_each_problem_names_its_field(body, field):
    fields, message = problems(body)
    assert field in fields, (fields, message)
    assert field in message


def test_every_problem_is_reported_at_once():
    fields, _ = problems(order(customer=None, items=[], paymentMethod={"type": "cash"}))
    assert fields == ["customer", "items", "paymentMethod.type"]


def test_a_repeated_sku_is_refused():
    fields, message = problems(order(items=[{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 2}]))
    assert fields == ["items"] and "more than once" in message


def test_bad_bodies_are_400_before_any_database_work():
    for body, words in [(b"{", "not valid JSON"), (b"[1]", "must be a JSON object"), (b"", "empty"),
                        (b"\xff\xfe", "not UTF-8"), (b"[" * 100 + b"]" * 100, "nested deeper"),
                        (b'{"a": NaN}', "not valid JSON")]:
        status, body = call(handler, "POST", "/orders", body)
        assert status == 400 and words in body["error"], body
    status, body = call(handler, "POST", "/orders", b"x" * (handler.web.MAX_BODY + 1))
    assert status == 413
    status, body = call(handler, "POST", "/orders", order(items=[{"sku": "A", "quantity": -1}]))
    assert status == 400 and body["fields"] == ["items[0].quantity"]


def test_routes():
    assert call(handler, "DELETE", "/orders")[0] == 405
    assert call(handler, "GET", "/nowhere")[0] == 404
    status, body = call(handler, "GET", "/orders/..%2f..%2fetc")
    assert status == 400 and "orderId" in body["error"]
    assert call(handler, "GET", "/orders", query={"limit": "0"})[0] == 400
    assert call(handler, "GET", "/orders", query={"limit": "1; DROP"})[0] == 400
    assert call(handler, "GET", "/orders", query={"status": "DONE"})[0] == 400


def test_a_step_result_needs_a_valid_signature(tmp_path, monkeypatch):
    key = tmp_path / "key"
    key.write_text("secret\n")
    monkeypatch.setenv("CALLBACK_KEY_FILE", str(key))
    path = "/orders/ord-0123456789abcdef/steps/pay"
    status, body = call(handler, "POST", path, b"{}", query={"round": "3", "sig": "0" * 64})
    assert status == 403
    assert call(handler, "POST", path.replace("pay", "steal"), b"{}", query={"round": "3"})[0] == 404
    good = handler.signing.sign("ord-0123456789abcdef", "pay", 3)
    assert handler.signing.valid("ord-0123456789abcdef", "pay", 3, good)
    assert not handler.signing.valid("ord-0123456789abcdef", "pay", 4, good)


def row(status, revision=4, **extra):
    return dict({"id": "ord-0123456789abcdef", "status": status, "revision": revision,
                 "payment_status": "NONE", "failed_step": None, "failed_round": None}, **extra)


ok = flow.Outcome("succeeded", 200, {"valid": True, "totalCents": 900, "reserved": True})
dead = flow.Outcome("dead", 503, {"error": "payment provider unavailable"}, attempts=5)


def test_the_happy_path():
    path = [("VALIDATING", "validate", "RESERVING", "reserve"), ("RESERVING", "reserve", "PAYING", "pay"),
            ("PAYING", "pay", "FULFILLING", "fulfil"), ("FULFILLING", "fulfil", "NOTIFYING", "notify")]
    for status, step, after, next_step in path:
        t = flow.decide(row(status), step, 4, ok)
        assert (t.status, [s for s, _ in t.calls]) == (after, [next_step])
    assert flow.decide(row("NOTIFYING"), "notify", 4, ok).status == "COMPLETED"


def test_stale_and_unexpected_answers_only_go_into_the_history():
    assert flow.decide(row("PAYING"), "pay", 3, ok) is None
    assert flow.decide(row("PAYING"), "reserve", 4, ok) is None
    assert flow.decide(row("COMPLETED"), "notify", 4, ok) is None


def test_a_dead_payment_releases_the_stock_then_a_retry_resumes_the_order():
    t = flow.decide(row("PAYING"), "pay", 4, dead)
    assert t.status == "RELEASING" and t.calls == [("release", None)]
    assert t.changes["failed_step"] == "pay" and "payment provider unavailable" in t.changes["failure_reason"]
    after = flow.decide(row("RELEASING", 5), "release", 5, ok)
    assert after.status == "PAYMENT_FAILED" and after.calls == [("notify", "payment_failed")]
    failed = row("PAYMENT_FAILED", 6, failed_step="pay", failed_round=4)
    assert flow.decide(failed, "pay", 4, dead) is None
    resumed = flow.decide(failed, "pay", 4, ok)
    assert resumed.status == "RESERVING" and resumed.changes["payment_status"] == "CAPTURED"
    captured = row("RESERVING", 7, payment_status="CAPTURED")
    assert flow.decide(captured, "reserve", 7, ok).status == "FULFILLING"
    gone = flow.Outcome("succeeded", 200, {"reserved": False, "reason": "sku KB-101: not enough stock"})
    assert flow.decide(captured, "reserve", 7, gone).status == "REFUNDING"


def test_business_refusals_end_the_order_and_tell_the_customer():
    rejected = flow.decide(row("VALIDATING"), "validate", 4, flow.Outcome("succeeded", 200, {"valid": False,
                           "reasons": ["sku X is not in the catalogue"]}))
    assert rejected.status == "REJECTED" and rejected.calls == [("notify", "rejected")]
    short = flow.decide(row("RESERVING"), "reserve", 4, flow.Outcome("succeeded", 200, {"reserved": False}))
    assert short.status == "OUT_OF_STOCK" and short.calls == [("notify", "out_of_stock")]
    assert flow.decide(row("VALIDATING"), "validate", 4, dead).status == "FAILED"
    assert flow.decide(row("NOTIFYING"), "notify", 4, dead).status == "COMPLETED"
