import pytest

import handler
from common import web


def test_each_kind_has_its_email():
    body = {"orderId": "ord-0123456789abcdef", "email": "ada@example.com", "name": "Ada",
            "shipment": {"trackingNumber": "SIM1", "carrier": "SIM-POST"}}
    for kind in handler.SUBJECTS:
        got_kind, to, subject, text = handler.message(dict(body, kind=kind, reason="no stock"))
        assert (got_kind, to) == (kind, "ada@example.com") and "ord-0123456789abcdef" in subject
    assert "SIM1" in handler.message(dict(body, kind="shipped"))[3]


def test_bad_messages_are_refused():
    with pytest.raises(web.HttpError):
        handler.message({"orderId": "ord-0123456789abcdef", "kind": "spam", "email": "a@b.c"})
    with pytest.raises(web.HttpError):
        handler.message({"orderId": "ord-0123456789abcdef", "kind": "shipped", "email": "nobody"})
