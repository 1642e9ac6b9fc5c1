"""The auto-close algorithm, written against a small repository interface so it
can be tested without a database (repository.py is the MySQL implementation).

Each batch is one transaction: lock up to batch_size eligible orders with
SELECT ... FOR UPDATE SKIP LOCKED, update exactly those ids, commit. Rows that
another run has locked are skipped, so two overlapping runs close disjoint
sets of orders and each reports only the ids it closed itself.
"""
import math
import time
from dataclasses import dataclass, field

MAX_REPORTED_IDS = 1000


@dataclass
class RunResult:
    closed_count: int = 0
    closed_ids: list = field(default_factory=list)
    batches: int = 0
    dry_run: bool = False
    complete: bool = True

    def add(self, ids):
        self.closed_count += len(ids)
        room = MAX_REPORTED_IDS - len(self.closed_ids)
        if room > 0:
            self.closed_ids.extend(ids[:room])


def _in_transaction(repo, work):
    repo.begin()
    try:
        result = work()
    except BaseException:
        repo.rollback()
        raise
    repo.commit()
    return result


def close_one_batch(repo, threshold_seconds, batch_size):
    """One transaction; returns the ids this call closed."""
    def work():
        ids = repo.lock_eligible(threshold_seconds, batch_size)
        if not ids:
            return []
        return repo.mark_auto_closed(ids)
    return _in_transaction(repo, work)


def run(repo, options, max_seconds=50.0, clock=time.monotonic):
    """Closes eligible orders batch by batch until none are left (or the time
    budget is spent: complete=False, the next run picks up the rest)."""
    result = RunResult(dry_run=options.dry_run)
    seconds = options.threshold_seconds
    if options.dry_run:
        count = repo.count_eligible(seconds)
        result.closed_count = count
        result.closed_ids = repo.eligible_ids(seconds, MAX_REPORTED_IDS)
        result.batches = math.ceil(count / options.batch_size)
        return result
    started = clock()
    while True:
        if clock() - started > max_seconds:
            result.complete = False
            break
        ids = close_one_batch(repo, seconds, options.batch_size)
        if not ids:
            break
        result.batches += 1
        result.add(ids)
        if len(ids) < options.batch_size:
            break  # the rest, if any, is locked by an overlapping run
    return result


class NotFound(Exception):
    pass


class Conflict(Exception):
    def __init__(self, status):
        super().__init__(status)
        self.status = status


def manual_close(repo, order_id):
    """DELIVERED -> COMPLETED (closed_by 'manual'); NotFound / Conflict otherwise."""
    def work():
        status = repo.lock_order_status(order_id)
        if status is None:
            raise NotFound(order_id)
        if status != "DELIVERED":
            raise Conflict(status)
        repo.mark_manually_closed(order_id)
    _in_transaction(repo, work)
