"""Turns delivery records into hash increments and hashes back into summaries.

Pure functions; store.py applies the increments with one atomic Lua script.
"""


def increments(record):
    """Hash field increments for one delivery: (int fields, float fields)."""
    ints = {"count": 1, "on_time_count": 1 if record["onTime"] else 0}
    floats = {
        "score_sum": record["score"],
        "delivery_time_sum": record["actualDeliveryTime"],
    }
    if record.get("distanceKm") is not None:
        floats["total_distance"] = record["distanceKm"]
    if record.get("customerRating") is not None:
        ints["rating_count"] = 1
        floats["rating_sum"] = record["customerRating"]
    return ints, floats


def _num(stats, field):
    try:
        return float(stats.get(field, 0) or 0)
    except (TypeError, ValueError):
        return 0.0


def summarize(stats):
    """Summary dict for a driver:<id>:stats or platform:stats hash."""
    count = int(_num(stats, "count"))
    rating_count = int(_num(stats, "rating_count"))
    on_time = int(_num(stats, "on_time_count"))

    def avg(total, n, digits):
        return round(total / n, digits) if n else None

    return {
        "deliveries": count,
        "averageScore": avg(_num(stats, "score_sum"), count, 1),
        "onTimeCount": on_time,
        "onTimeRate": avg(float(on_time), count, 4),
        "totalDistanceKm": round(_num(stats, "total_distance"), 3),
        "averageDeliveryTimeSeconds": avg(_num(stats, "delivery_time_sum"), count, 1),
        "averageRating": avg(_num(stats, "rating_sum"), rating_count, 2),
        "ratingCount": rating_count,
        "lastDeliveryAt": stats.get("last_delivery_at"),
    }
