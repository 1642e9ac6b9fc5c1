"""Delivery performance score: pure functions, no I/O.

The formula is documented in README.md ("Performance score"); keep both in sync.
"""

# Door-to-door reference pace: 180 s per km = 20 km/h, stops included.
REFERENCE_SECONDS_PER_KM = 180.0

# Relative weights of the three components. A component that cannot be
# computed (no rating, no or zero distance) is left out and the remaining
# weights are re-normalised so the score stays on 0-100.
WEIGHTS = {"onTime": 0.5, "speed": 0.2, "rating": 0.3}


def on_time_component(estimated_s, actual_s):
    """estimated/actual, capped at 1: early or on time = 1, twice as long = 0.5."""
    return min(1.0, estimated_s / actual_s)


def speed_component(actual_s, distance_km):
    """Reference pace / actual pace, capped at 1; None without a usable distance."""
    if distance_km is None or distance_km <= 0:
        return None
    # 180 / (actual / distance), written so that a tiny actual time cannot underflow the pace to
    # 0 and divide by zero (the quotient becomes inf, capped to 1).
    return min(1.0, REFERENCE_SECONDS_PER_KM * distance_km / actual_s)


def rating_component(rating):
    """Maps a 1-5 rating onto 0-1; None when the customer gave no rating."""
    if rating is None:
        return None
    return (rating - 1.0) / 4.0


def is_on_time(estimated_s, actual_s):
    return actual_s <= estimated_s


def performance_score(estimated_s, actual_s, distance_km=None, rating=None):
    """Returns (score 0-100 rounded to 0.1, components dict with None for absent ones)."""
    components = {
        "onTime": on_time_component(estimated_s, actual_s),
        "speed": speed_component(actual_s, distance_km),
        "rating": rating_component(rating),
    }
    present = {name: value for name, value in components.items() if value is not None}
    total_weight = sum(WEIGHTS[name] for name in present)
    weighted = sum(WEIGHTS[name] * value for name, value in present.items())
    score = round(100.0 * weighted / total_weight, 1)
    rounded = {k: (None if v is None else round(v, 4)) for k, v in components.items()}
    return score, rounded
