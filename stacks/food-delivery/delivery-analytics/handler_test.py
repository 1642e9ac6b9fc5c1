import json
from types import SimpleNamespace

import pytest

import handler
import store
from fake_redis import FakeRedis


@pytest.fixture
def db(monkeypatch):
    fake = FakeRedis()
    monkeypatch.setattr(handler, "get_store", lambda: store.DeliveryStore(fake, ttl_seconds=86400))
    return fake


def event(method="GET", path="/", body=b"", query=None):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    return SimpleNamespace(method=method, path=path, body=body, query=query or {},
                           headers={"Content-Type": "application/json"})


def delivery(i=1, driver="drv-1", **extra):
    body = {"deliveryId": f"del-{i}", "orderId": f"ord-{i}", "driverId": driver,
            "estimatedDeliveryTime": 1800, "actualDeliveryTime": 1500,
            "distanceKm": 10, "customerRating": 5}
    body.update(extra)
    return body


def call(*args, **kwargs):
    res = handler.handle(event(*args, **kwargs), None)
    assert res["headers"]["Content-Type"] == "application/json"
    return res["statusCode"], res["body"]


def test_post_records_delivery_and_aggregates_in_one_transaction(db):
    status, body = call("POST", "/", delivery())
    assert status == 200
    assert body["success"] is True and body["deliveryId"] == "del-1"
    assert body["score"] == 100.0 and body["onTime"] is True and body["duplicate"] is False
    stored = json.loads(db.strings["delivery:del-1"])
    assert stored["driverId"] == "drv-1" and db.ttls["delivery:del-1"] == 86400
    assert len(db.executed) == 1
    ops = db.executed[0]
    assert ops[0] == "set" and "sadd" in ops and "hincrby" in ops and "hincrbyfloat" in ops
    assert db.hashes["driver:drv-1:stats"]["count"] == "1"
    assert db.hashes["platform:stats"]["on_time_count"] == "1"


def test_driver_and_platform_stats(db):
    call("POST", "/", delivery(1))
    call("POST", "/", delivery(2, actualDeliveryTime=3600, distanceKm=5, customerRating=None))
    call("POST", "/", delivery(3, driver="drv-2"))
    status, body = call("GET", "/stats/driver", query={"driverId": "drv-1"})
    assert status == 200
    assert body["deliveries"] == 2 and body["onTimeCount"] == 1 and body["onTimeRate"] == 0.5
    assert body["totalDistanceKm"] == 15 and body["ratingCount"] == 1 and body["averageRating"] == 5
    # second delivery: onTime 0.5, speed 180/720 = 0.25, no rating -> 0.3/0.7 = 42.9
    assert body["averageScore"] == round((100 + 42.9) / 2, 1)
    status, body = call("GET", "/stats/driver/drv-2")
    assert status == 200 and body["deliveries"] == 1
    status, body = call("GET", "/stats/platform")
    assert status == 200 and body["deliveries"] == 3 and body["drivers"] == 2


def test_same_delivery_is_not_counted_twice(db):
    call("POST", "/", delivery())
    status, body = call("POST", "/", delivery(actualDeliveryTime=9999))
    assert status == 200 and body["duplicate"] is True and body["score"] == 100.0
    assert db.hashes["driver:drv-1:stats"]["count"] == "1"


def test_unknown_driver_is_404(db):
    status, body = call("GET", "/stats/driver", query={"driverId": "nobody"})
    assert status == 404 and body["success"] is False and "nobody" in body["error"]


def test_missing_driver_id_is_400(db):
    status, body = call("GET", "/stats/driver")
    assert status == 400 and "driverId" in body["error"] and "timestamp" in body


@pytest.mark.parametrize("body,field", [
    (b"", "body"), (b"{not json", "JSON"), ({"orderId": "o"}, "deliveryId"),
    (delivery(estimatedDeliveryTime=None), "estimatedDeliveryTime"),
    (delivery(customerRating=9), "customerRating"),
])
def test_bad_input_is_400_naming_the_field(db, body, field):
    status, res = call("POST", "/", body)
    assert status == 400
    assert res["success"] is False and field in res["error"] and res["timestamp"]
    assert db.executed == []


def test_redis_down_is_503_without_trace(db):
    db.down = True
    for args in (("POST", "/", delivery()), ("GET", "/stats/platform"),
                 ("GET", "/stats/driver", b"", {"driverId": "d"})):
        status, body = call(*args)
        assert status == 503
        assert body == {"success": False, "error": "redis unavailable", "timestamp": body["timestamp"]}


def test_health(db):
    assert call("GET", "/health")[0] == 200
    db.down = True
    status, body = call("GET", "/health")
    assert status == 503 and body["success"] is False


def test_unknown_route_and_method(db):
    assert call("GET", "/nope")[0] == 404
    assert call("GET", "/")[0] == 405
    assert call("DELETE", "/health")[0] == 405


def test_gateway_prefix_and_trailing_slash_are_tolerated(db):
    assert call("GET", "/function/delivery-analytics/health/")[0] == 200


def test_unexpected_error_is_500_json(monkeypatch):
    def boom():
        raise RuntimeError("secret detail")
    monkeypatch.setattr(handler, "get_store", boom)
    status, body = call("GET", "/stats/platform")
    assert status == 500 and body["error"] == "internal error"


def test_pool_is_created_once_and_lazily(monkeypatch):
    monkeypatch.setattr(store, "_pool", None)
    monkeypatch.setattr(store, "_client", None)
    first = store.get_client()
    second = store.get_client()
    assert first is second
    assert first.connection_pool is second.connection_pool
    kwargs = first.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] <= 2 and kwargs["socket_connect_timeout"] <= 2
