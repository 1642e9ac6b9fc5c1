import handler
from common.testing import call


def test_bad_calls_are_400():
    assert call(handler, "POST", "/", {"orderId": "ord-0123456789abcdef",
                                       "items": [{"sku": "A", "quantity": 1}]})[0] == 400
    assert call(handler, "POST", "/", b"not json")[0] == 400
