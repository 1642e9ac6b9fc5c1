import pytest

import closer
from fake_repo import FakeOrders, FakeRepo
from options import RunOptions


def orders(n, age_hours=3.0, prefix="o"):
    db = FakeOrders()
    for i in range(n):
        db.add(f"{prefix}{i:04d}", age_hours=age_hours + i / 1000)
    return db


def test_closes_only_old_delivered_orders():
    db = FakeOrders()
    db.add("old", age_hours=3)
    db.add("fresh", age_hours=1)
    db.add("pending", status="PENDING", age_hours=5)
    db.add("cancelled", status="CANCELLED", age_hours=5)
    result = closer.run(FakeRepo(db), RunOptions(False, 2.0, 100))
    assert result.closed_ids == ["old"] and result.closed_count == 1 and result.batches == 1
    assert db.orders["old"] == {"status": "COMPLETED", "age": 3 * 3600, "closed_by": "auto-close"}
    assert db.orders["fresh"]["status"] == "DELIVERED"


def test_batches_until_none_left_each_in_its_own_transaction():
    db = orders(250)
    repo = FakeRepo(db)
    result = closer.run(repo, RunOptions(False, 2.0, 100))
    assert result.closed_count == 250 and result.batches == 3
    assert all(o["status"] == "COMPLETED" for o in db.orders.values())
    # begin, lock, close, commit per batch
    batches = [repo.log[i:i + 4] for i in range(0, 12, 4)]
    for b in batches:
        assert b[0] == "begin" and b[1][0] == "lock" and b[2][0] == "close" and b[3] == "commit"
        assert b[1][1] == b[2][1]
    # oldest first
    assert result.closed_ids[0] == "o0249"


def test_exact_multiple_of_batch_size_needs_one_empty_probe():
    db = orders(200)
    repo = FakeRepo(db)
    result = closer.run(repo, RunOptions(False, 2.0, 100))
    assert result.closed_count == 200 and result.batches == 2
    assert repo.log[-3:] == ["begin", ("lock", ()), "commit"]


def test_reported_ids_are_capped():
    db = orders(closer.MAX_REPORTED_IDS + 5)
    result = closer.run(FakeRepo(db), RunOptions(False, 2.0, 400))
    assert result.closed_count == closer.MAX_REPORTED_IDS + 5
    assert len(result.closed_ids) == closer.MAX_REPORTED_IDS


def test_dry_run_changes_nothing():
    db = orders(7)
    repo = FakeRepo(db)
    result = closer.run(repo, RunOptions(True, 2.0, 3))
    assert result.dry_run and result.closed_count == 7 and result.batches == 3
    assert len(result.closed_ids) == 7
    assert all(o["status"] == "DELIVERED" for o in db.orders.values())
    assert "begin" not in repo.log


def test_overlapping_runs_close_disjoint_sets():
    db = orders(120)
    inner = {}

    def second_run_while_first_holds_its_locks():
        inner["result"] = closer.run(FakeRepo(db), RunOptions(False, 2.0, 50))

    first = closer.run(FakeRepo(db, on_lock=second_run_while_first_holds_its_locks),
                       RunOptions(False, 2.0, 50))
    second = inner["result"]
    a, b = set(first.closed_ids), set(second.closed_ids)
    assert a and b and not (a & b)
    assert a | b == set(db.orders)
    assert first.closed_count + second.closed_count == 120
    assert all(o["status"] == "COMPLETED" for o in db.orders.values())


def test_failure_rolls_back_the_batch():
    db = orders(3)
    repo = FakeRepo(db)

    def broken(ids):
        FakeRepo.mark_auto_closed(repo, ids)
        raise RuntimeError("connection lost mid-batch")

    repo.mark_auto_closed = broken
    with pytest.raises(RuntimeError):
        closer.run(repo, RunOptions(False, 2.0, 10))
    assert repo.log[-1] == "rollback"
    assert all(o["status"] == "DELIVERED" for o in db.orders.values())
    assert db.locks == {}


def test_time_budget_stops_early():
    db = orders(30)
    ticks = iter(range(100))
    result = closer.run(FakeRepo(db), RunOptions(False, 2.0, 10), max_seconds=2.5,
                        clock=lambda: next(ticks))
    assert not result.complete and result.closed_count == 20


def test_manual_close():
    db = FakeOrders()
    db.add("d", status="DELIVERED", age_hours=0.1)
    db.add("p", status="PENDING")
    closer.manual_close(FakeRepo(db), "d")
    assert db.orders["d"]["status"] == "COMPLETED" and db.orders["d"]["closed_by"] == "manual"
    with pytest.raises(closer.Conflict) as err:
        closer.manual_close(FakeRepo(db), "d")
    assert err.value.status == "COMPLETED"
    with pytest.raises(closer.Conflict):
        closer.manual_close(FakeRepo(db), "p")
    with pytest.raises(closer.NotFound):
        closer.manual_close(FakeRepo(db), "nope")
    assert db.locks == {}
