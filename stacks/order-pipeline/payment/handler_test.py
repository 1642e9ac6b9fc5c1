"""payment's input checks; the simulation's settings against real MariaDB run in tests/it."""
import handler
from common.testing import call


def test_bad_charges_are_400():
    good = {"orderId": "ord-0123456789abcdef", "amountCents": 900, "currency": "EUR", "method": "card"}
    for key, value in (("amountCents", -1), ("amountCents", "9"), ("method", "cash"), ("orderId", "1")):
        assert call(handler, "POST", "/charge", dict(good, **{key: value}))[0] == 400
    assert call(handler, "POST", "/", good)[0] == 404


def test_env_settings_are_bounded(monkeypatch):
    class Cursor:
        def execute(self, *_):
            pass

        def fetchone(self):
            return None
    monkeypatch.setenv("PAYMENT_FAILURE_RATE", "7")
    monkeypatch.setenv("PAYMENT_LATENCY_MS", "nope")
    assert handler.simulation(Cursor()) == (1.0, 0.0)
