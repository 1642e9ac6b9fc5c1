import json
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

import db as dbmod
import handler
from fake_repo import FakeOrders, FakeRepo


@pytest.fixture
def db(monkeypatch):
    fake = FakeOrders()
    monkeypatch.setenv("AUTO_CLOSE_TIME_HOURS", "2")
    monkeypatch.setenv("BATCH_SIZE", "100")

    @contextmanager
    def opened():
        if fake.down:
            raise dbmod.DatabaseUnavailable("fake outage")
        yield FakeRepo(fake)

    monkeypatch.setattr(handler, "open_repository", opened)
    return fake


def call(method="POST", path="/", body=b"", headers=None):
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    ev = SimpleNamespace(method=method, path=path, body=body, query={}, headers=headers or {})
    res = handler.handle(ev, None)
    assert res["headers"]["Content-Type"] == "application/json"
    return res["statusCode"], res["body"]


def test_cron_trigger_with_empty_body_runs_normally(db):
    db.add("a", age_hours=3)
    db.add("b", age_hours=1)
    status, body = call(headers={"X-Topic": "cron-function"})
    assert status == 200
    assert body["success"] and body["trigger"] == "cron" and body["dryRun"] is False
    assert body["closedCount"] == 1 and body["closedOrderIds"] == ["a"] and body["batches"] == 1
    assert isinstance(body["durationMs"], int)
    assert db.runs == [{"dryRun": False, "status": "ok", "closedCount": 1, "batches": 1}]


def test_header_lookup_is_case_insensitive(db):
    assert call(headers={"x-topic": "cron-function"})[1]["trigger"] == "cron"
    assert call()[1]["trigger"] == "http"


def test_dry_run_and_options(db):
    for i in range(5):
        db.add(f"o{i}", age_hours=1.5)
    status, body = call(body={"dryRun": True, "thresholdHours": 1, "batchSize": 2})
    assert status == 200 and body["dryRun"] and body["closedCount"] == 5 and body["batches"] == 3
    assert all(o["status"] == "DELIVERED" for o in db.orders.values())
    assert db.runs[-1]["dryRun"] is True


def test_invalid_option_is_400_naming_it(db):
    status, body = call(body={"batchSize": -1})
    assert status == 400 and "batchSize" in body["error"] and body["success"] is False
    assert body["timestamp"] and db.runs == []


def test_manual_close_routes(db):
    db.add("d1", age_hours=0.1)
    db.add("p1", status="PENDING")
    status, body = call(path="/manual-close/d1")
    assert status == 200 and body["closedBy"] == "manual"
    assert db.orders["d1"]["closed_by"] == "manual"
    status, body = call(path="/manual-close/d1")
    assert status == 409 and body["status"] == "COMPLETED"
    assert call(path="/manual-close/p1")[0] == 409
    assert call(path="/manual-close/missing")[0] == 404
    status, body = call(path="/manual-close/bad%20id")
    assert status == 400 and "orderId" in body["error"]


def test_stats(db):
    db.add("a", age_hours=3)
    db.add("b", status="PENDING")
    call()
    db.add("c", age_hours=5)
    status, body = call("GET", "/stats")
    assert status == 200
    assert body["ordersByStatus"]["COMPLETED"] == 1 and body["ordersByStatus"]["PENDING"] == 1
    assert body["ordersByStatus"]["CANCELLED"] == 0 and body["totalOrders"] == 3
    assert body["eligibleForAutoClose"] == 1
    assert body["lastRun"]["closedCount"] == 1


def test_database_down_is_503_json(db):
    db.down = True
    for args in (("POST", "/"), ("GET", "/stats"), ("POST", "/manual-close/x")):
        status, body = call(*args)
        assert status == 503
        assert body == {"success": False, "error": "database unavailable", "timestamp": body["timestamp"]}
    status, body = call("GET", "/health")
    assert status == 503 and body["database"] == "down"


def test_health_ok(db):
    status, body = call("GET", "/health")
    assert status == 200 and body["status"] == "ok"


def test_routing_errors(db):
    assert call("GET", "/")[0] == 405
    assert call("GET", "/manual-close/x")[0] == 405
    assert call("GET", "/nope")[0] == 404
    assert call("GET", "/function/auto-close-orders/health")[0] == 200


def test_unexpected_error_is_500_without_details(db, monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("boom")
    monkeypatch.setattr(handler.closer, "run", boom)
    status, body = call()
    assert status == 500 and body["error"] == "internal error"
    assert db.runs[-1]["status"] == "failed"
