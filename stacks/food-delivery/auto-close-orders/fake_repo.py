"""In-memory stand-in for repository.MySQLRepository (tests only).

FakeOrders is the shared "database"; each FakeRepo is one connection with its
own transaction. Row locks are modelled so SKIP LOCKED and row-lock waits can
be exercised: lock_eligible skips rows locked by another connection.
"""


class FakeOrders:
    def __init__(self):
        self.orders = {}   # id -> {"status", "age": seconds since delivery, "closed_by"}
        self.locks = {}    # id -> owning FakeRepo
        self.runs = []
        self.down = False

    def add(self, order_id, status="DELIVERED", age_hours=3.0):
        self.orders[order_id] = {"status": status, "age": age_hours * 3600, "closed_by": None}


class FakeRepo:
    def __init__(self, db, on_lock=None):
        self.db = db
        self.on_lock = on_lock     # called after lock_eligible took its locks
        self.in_tx = False
        self.undo = []
        self.log = []

    def _check(self):
        if self.db.down:
            import db as dbmod
            raise dbmod.DatabaseUnavailable("fake outage")

    def ping(self):
        self._check()
        return True

    def begin(self):
        self._check()
        assert not self.in_tx, "nested transaction"
        self.in_tx = True
        self.log.append("begin")

    def _release(self):
        for order_id, owner in list(self.db.locks.items()):
            if owner is self:
                del self.db.locks[order_id]
        self.in_tx = False
        self.undo = []

    def commit(self):
        self.log.append("commit")
        self._release()

    def rollback(self):
        self.log.append("rollback")
        for order_id, before in reversed(self.undo):
            self.db.orders[order_id] = before
        self._release()

    def _eligible(self, seconds):
        rows = [(o["age"], oid) for oid, o in self.db.orders.items()
                if o["status"] == "DELIVERED" and o["age"] > seconds]
        return [oid for _, oid in sorted(rows, reverse=True)]  # oldest delivery first

    def lock_eligible(self, seconds, limit):
        self._check()
        assert self.in_tx
        ids = [oid for oid in self._eligible(seconds)
               if self.db.locks.get(oid, self) is self][:limit]
        for oid in ids:
            self.db.locks[oid] = self
        self.log.append(("lock", tuple(ids)))
        if self.on_lock and ids:
            hook, self.on_lock = self.on_lock, None
            hook()
        return ids

    def mark_auto_closed(self, ids):
        assert self.in_tx
        for oid in ids:
            assert self.db.locks.get(oid) is self, "updating a row we did not lock"
            assert self.db.orders[oid]["status"] == "DELIVERED"
            self.undo.append((oid, dict(self.db.orders[oid])))
            self.db.orders[oid].update(status="COMPLETED", closed_by="auto-close")
        self.log.append(("close", tuple(ids)))
        return list(ids)

    def count_eligible(self, seconds):
        self._check()
        return len(self._eligible(seconds))

    def eligible_ids(self, seconds, limit):
        return self._eligible(seconds)[:limit]

    def lock_order_status(self, order_id):
        self._check()
        order = self.db.orders.get(order_id)
        if order is None:
            return None
        self.db.locks[order_id] = self
        return order["status"]

    def mark_manually_closed(self, order_id):
        self.undo.append((order_id, dict(self.db.orders[order_id])))
        self.db.orders[order_id].update(status="COMPLETED", closed_by="manual")

    def start_run(self, opts):
        self._check()
        self.db.runs.append({"dryRun": opts.dry_run, "status": "running"})
        return len(self.db.runs)

    def finish_run(self, run_id, closed, batches, status):
        self._check()
        self.db.runs[run_id - 1].update(closedCount=closed, batches=batches, status=status)

    def counts_by_status(self):
        self._check()
        counts = {}
        for o in self.db.orders.values():
            counts[o["status"]] = counts.get(o["status"], 0) + 1
        return counts

    def last_run(self):
        return dict(self.db.runs[-1], id=len(self.db.runs)) if self.db.runs else None
