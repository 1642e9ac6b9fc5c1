from datetime import datetime, timezone

import store


def test_writes_cover_driver_platform_and_driver_set():
    record = {"driverId": "d7", "onTime": True, "score": 90.0, "actualDeliveryTime": 1200,
              "distanceKm": None, "customerRating": None}
    writes = store.aggregate_writes(record, datetime(2024, 5, 1, 12, tzinfo=timezone.utc))
    assert ("HINCRBY", "driver:d7:stats", "count", 1) in writes
    assert ("HINCRBYFLOAT", "platform:stats", "score_sum", 90.0) in writes
    assert ("HSET", "platform:stats", "last_delivery_at", "2024-05-01T12:00:00Z") in writes
    assert writes[-1] == ("SADD", "platform:drivers", "d7")
    assert not any(w[2] in ("total_distance", "rating_sum", "rating_count") for w in writes[:-1])


def test_script_arguments_name_every_key_once_and_count_each_write():
    writes = [("HINCRBY", "h1", "count", 1), ("HSET", "h1", "at", "t"), ("SADD", "s", "d7")]
    keys, args = store.record_once_arguments("delivery:1", "{}", 60, writes)
    assert keys == ["delivery:1", "h1", "s"]
    assert args == ["{}", 60, 4, "HINCRBY", 2, "count", 1, 4, "HSET", 2, "at", "t", 3, "SADD", 3, "d7"]
