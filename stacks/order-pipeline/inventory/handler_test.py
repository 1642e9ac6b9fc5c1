"""inventory's input checks (the transactions run against real MariaDB in tests/it)."""
import handler
from common import steps
from common.testing import call


def test_lines_are_merged_and_sorted_so_locks_are_taken_in_one_order():
    lines = steps.items({"items": [{"sku": "B", "quantity": 1}, {"sku": "A", "quantity": 2},
                                   {"sku": "B", "quantity": 3}]})
    assert lines == [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 4}]


def test_bad_calls_are_400_and_unknown_routes_404():
    for bad in ({"items": [{"sku": "A", "quantity": 1}]},
                {"orderId": "ord-0123456789abcdef", "items": [{"sku": "A", "quantity": 0}]},
                {"orderId": "ord-0123456789abcdef", "items": [{"sku": "A'; --", "quantity": 1}]}):
        assert call(handler, "POST", "/reserve", bad)[0] == 400
    assert call(handler, "POST", "/steal", {})[0] == 404
    assert call(handler, "GET", "/release")[0] == 405
