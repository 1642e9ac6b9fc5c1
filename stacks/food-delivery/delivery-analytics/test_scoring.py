import pytest

import scoring


def test_perfect_delivery_scores_100():
    score, parts = scoring.performance_score(1800, 1500, distance_km=10, rating=5)
    assert score == 100.0
    assert parts == {"onTime": 1.0, "speed": 1.0, "rating": 1.0}


def test_all_components_weighted():
    # onTime 1800/2400 = 0.75, speed 180/(2400/5 = 480) = 0.375, rating (4-1)/4 = 0.75
    score, parts = scoring.performance_score(1800, 2400, distance_km=5, rating=4)
    assert parts["onTime"] == 0.75 and parts["speed"] == 0.375 and parts["rating"] == 0.75
    assert score == pytest.approx(100 * (0.5 * 0.75 + 0.2 * 0.375 + 0.3 * 0.75), abs=0.05)
    assert score == 67.5


def test_only_required_fields_uses_on_time_alone():
    score, parts = scoring.performance_score(1800, 2400)
    assert parts["speed"] is None and parts["rating"] is None
    assert score == 75.0


def test_missing_rating_reweights_on_time_and_speed():
    # (0.5 * 1 + 0.2 * 0.5) / 0.7
    score, _ = scoring.performance_score(1800, 1800, distance_km=5, rating=None)
    assert score == round(100 * (0.5 + 0.1) / 0.7, 1) == 85.7


def test_missing_distance_reweights_on_time_and_rating():
    score, _ = scoring.performance_score(1800, 1800, distance_km=None, rating=1)
    assert score == round(100 * 0.5 / 0.8, 1) == 62.5


def test_zero_distance_drops_speed_instead_of_dividing_by_zero():
    with_zero, parts = scoring.performance_score(1800, 1800, distance_km=0, rating=5)
    without, _ = scoring.performance_score(1800, 1800, distance_km=None, rating=5)
    assert parts["speed"] is None
    assert with_zero == without == 100.0


def test_a_tiny_actual_time_does_not_divide_by_zero():
    # 5e-324 / 1000 underflows to 0.0: a pace computed first would be a ZeroDivisionError.
    score, parts = scoring.performance_score(600, 5e-324, distance_km=1000)
    assert parts["speed"] == 1.0 and score == 100.0


def test_early_delivery_is_capped_not_rewarded_above_100():
    score, parts = scoring.performance_score(3600, 600, distance_km=5, rating=5)
    assert parts["onTime"] == 1.0 and score == 100.0


def test_very_late_delivery_tends_to_zero():
    score, parts = scoring.performance_score(600, 60000, distance_km=50, rating=1)
    assert parts["onTime"] == 0.01
    assert 0 <= score < 5


def test_score_always_within_bounds():
    for est in (1, 60, 1800, 86400):
        for act in (1, 59, 1800, 100000):
            for dist in (None, 0, 0.1, 5, 500):
                for rating in (None, 1, 2.5, 5):
                    score, _ = scoring.performance_score(est, act, dist, rating)
                    assert 0.0 <= score <= 100.0


def test_on_time_boundary():
    assert scoring.is_on_time(1800, 1800)
    assert not scoring.is_on_time(1800, 1801)
