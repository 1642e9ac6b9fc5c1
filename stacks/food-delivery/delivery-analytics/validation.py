"""Validation of the POST / payload: pure functions, no I/O."""
import math
import re

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# Upper limits no real delivery reaches. Without them one absurd value (1e308) made the Redis
# sums overflow to infinity, and every later statistics response invalid JSON ("Infinity").
MAX_SECONDS = 7 * 24 * 3600
MAX_DISTANCE_KM = 1000


class ValidationError(Exception):
    """A client error; the message names the offending field."""


def _identifier(payload, field):
    value = payload.get(field)
    if value is None or value == "":
        raise ValidationError(f"{field} is required")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError(f"{field} must be a string")
    value = str(value)
    if not ID_PATTERN.match(value):
        raise ValidationError(
            f"{field} must be 1-128 characters of letters, digits, '_', '.' or '-'")
    return value


def _number(payload, field, required, minimum=None, maximum=None, exclusive_min=False):
    value = payload.get(field)
    if value is None:
        if required:
            raise ValidationError(f"{field} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(f"{field} must be a number")
    if minimum is not None and (value <= minimum if exclusive_min else value < minimum):
        relation = "greater than" if exclusive_min else "at least"
        raise ValidationError(f"{field} must be {relation} {minimum}")
    if maximum is not None and value > maximum:
        raise ValidationError(f"{field} must be at most {maximum}")
    return float(value)


def parse_delivery(payload):
    """Checks a decoded JSON body; returns a normalised dict or raises ValidationError."""
    if not isinstance(payload, dict):
        raise ValidationError("body must be a JSON object")
    return {
        "deliveryId": _identifier(payload, "deliveryId"),
        "orderId": _identifier(payload, "orderId"),
        "driverId": _identifier(payload, "driverId"),
        "estimatedDeliveryTime": _number(payload, "estimatedDeliveryTime", True, 0, MAX_SECONDS, exclusive_min=True),
        "actualDeliveryTime": _number(payload, "actualDeliveryTime", True, 0, MAX_SECONDS, exclusive_min=True),
        "distanceKm": _number(payload, "distanceKm", False, 0, MAX_DISTANCE_KM),
        "customerRating": _number(payload, "customerRating", False, 1, 5),
    }


def driver_id_from_query(value):
    if value is None or value == "":
        raise ValidationError("driverId query parameter is required")
    if not ID_PATTERN.match(value):
        raise ValidationError("driverId must be 1-128 characters of letters, digits, '_', '.' or '-'")
    return value
