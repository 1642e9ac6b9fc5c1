import pytest

from validation import ValidationError, driver_id_from_query, parse_delivery

VALID = {
    "deliveryId": "del-1",
    "orderId": "ord-1",
    "driverId": "drv-1",
    "estimatedDeliveryTime": 1800,
    "actualDeliveryTime": 2100,
    "distanceKm": 4.2,
    "customerRating": 5,
}


def with_(**changes):
    payload = dict(VALID)
    for key, value in changes.items():
        if value is ...:
            payload.pop(key)
        else:
            payload[key] = value
    return payload


def test_valid_payload_is_normalised():
    parsed = parse_delivery(VALID)
    assert parsed["estimatedDeliveryTime"] == 1800.0
    assert parsed["customerRating"] == 5.0


def test_optional_fields_may_be_absent_or_null():
    parsed = parse_delivery(with_(distanceKm=..., customerRating=None))
    assert parsed["distanceKm"] is None and parsed["customerRating"] is None


def test_numeric_ids_are_accepted_as_strings():
    assert parse_delivery(with_(driverId=17))["driverId"] == "17"


@pytest.mark.parametrize("field,value", [
    ("deliveryId", ...), ("deliveryId", ""), ("deliveryId", "has space"), ("deliveryId", True),
    ("orderId", ...), ("driverId", ...), ("driverId", {"x": 1}), ("driverId", "a:b"),
    ("estimatedDeliveryTime", ...), ("estimatedDeliveryTime", 0), ("estimatedDeliveryTime", "1800"),
    ("actualDeliveryTime", ...), ("actualDeliveryTime", -5), ("actualDeliveryTime", float("nan")),
    ("actualDeliveryTime", True),
    ("distanceKm", -1), ("distanceKm", "far"), ("distanceKm", 1000.5),
    ("estimatedDeliveryTime", 604801), ("actualDeliveryTime", 1e308),
    ("customerRating", 0), ("customerRating", 6), ("customerRating", "5"),
])
def test_invalid_field_is_named_in_error(field, value):
    with pytest.raises(ValidationError) as err:
        parse_delivery(with_(**{field: value}))
    assert field in str(err.value)


def test_body_must_be_an_object():
    with pytest.raises(ValidationError, match="JSON object"):
        parse_delivery([VALID])


def test_driver_query_parameter():
    assert driver_id_from_query("drv-1") == "drv-1"
    with pytest.raises(ValidationError, match="driverId"):
        driver_id_from_query(None)


def test_limits_are_inclusive():
    parsed = parse_delivery(with_(estimatedDeliveryTime=604800, actualDeliveryTime=604800, distanceKm=1000))
    assert parsed["actualDeliveryTime"] == 604800.0 and parsed["distanceKm"] == 1000.0
