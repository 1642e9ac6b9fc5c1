"""SQL for auto-close-orders: the MySQL implementation of the repository
interface closer.py uses. Every statement is parameterised."""

LOCK_ELIGIBLE = (
    "SELECT id FROM orders"
    " WHERE status = 'DELIVERED' AND delivered_at < NOW() - INTERVAL %s SECOND"
    " ORDER BY delivered_at LIMIT %s"
    " FOR UPDATE SKIP LOCKED"
)
MARK_AUTO_CLOSED = (
    "UPDATE orders SET status = 'COMPLETED', closed_by = 'auto-close', completed_at = NOW()"
    " WHERE status = 'DELIVERED' AND id IN ({placeholders})"
)
COUNT_ELIGIBLE = (
    "SELECT COUNT(*) FROM orders"
    " WHERE status = 'DELIVERED' AND delivered_at < NOW() - INTERVAL %s SECOND"
)
ELIGIBLE_IDS = (
    "SELECT id FROM orders"
    " WHERE status = 'DELIVERED' AND delivered_at < NOW() - INTERVAL %s SECOND"
    " ORDER BY delivered_at LIMIT %s"
)
LOCK_ORDER_STATUS = "SELECT status FROM orders WHERE id = %s FOR UPDATE"
MARK_MANUALLY_CLOSED = (
    "UPDATE orders SET status = 'COMPLETED', closed_by = 'manual', completed_at = NOW()"
    " WHERE id = %s AND status = 'DELIVERED'"
)
COUNT_BY_STATUS = "SELECT status, COUNT(*) FROM orders GROUP BY status"
START_RUN = (
    "INSERT INTO auto_close_runs (started_at, dry_run, threshold_hours, batch_size, status)"
    " VALUES (NOW(3), %s, %s, %s, 'running')"
)
FINISH_RUN = (
    "UPDATE auto_close_runs SET finished_at = NOW(3), closed_count = %s, batches = %s, status = %s"
    " WHERE id = %s"
)
LAST_RUN = (
    "SELECT id, started_at, finished_at, closed_count, batches, dry_run, threshold_hours,"
    " batch_size, status FROM auto_close_runs ORDER BY id DESC LIMIT 1"
)


class MySQLRepository:
    def __init__(self, conn):
        self.conn = conn

    def _rows(self, sql, args=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()

    def _execute(self, sql, args=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.rowcount, cur.lastrowid

    def ping(self):
        return self._rows("SELECT 1")[0][0] == 1

    # transactions
    def begin(self):
        self.conn.begin()

    def commit(self):
        self.conn.commit()

    def rollback(self):
        self.conn.rollback()

    # auto-close
    def lock_eligible(self, threshold_seconds, limit):
        return [row[0] for row in self._rows(LOCK_ELIGIBLE, (threshold_seconds, limit))]

    def mark_auto_closed(self, ids):
        """Updates the locked ids; returns them (all are still DELIVERED: we hold their locks)."""
        sql = MARK_AUTO_CLOSED.format(placeholders=", ".join(["%s"] * len(ids)))
        updated, _ = self._execute(sql, tuple(ids))
        if updated != len(ids):
            raise RuntimeError(f"expected to close {len(ids)} orders, closed {updated}")
        return list(ids)

    def count_eligible(self, threshold_seconds):
        return int(self._rows(COUNT_ELIGIBLE, (threshold_seconds,))[0][0])

    def eligible_ids(self, threshold_seconds, limit):
        return [row[0] for row in self._rows(ELIGIBLE_IDS, (threshold_seconds, limit))]

    # manual close
    def lock_order_status(self, order_id):
        rows = self._rows(LOCK_ORDER_STATUS, (order_id,))
        return rows[0][0] if rows else None

    def mark_manually_closed(self, order_id):
        self._execute(MARK_MANUALLY_CLOSED, (order_id,))

    # run log and stats
    def start_run(self, options):
        _, run_id = self._execute(
            START_RUN, (int(options.dry_run), options.threshold_hours, options.batch_size))
        return run_id

    def finish_run(self, run_id, closed_count, batches, status):
        self._execute(FINISH_RUN, (closed_count, batches, status, run_id))

    def counts_by_status(self):
        return {status: int(count) for status, count in self._rows(COUNT_BY_STATUS)}

    def last_run(self):
        rows = self._rows(LAST_RUN)
        if not rows:
            return None
        (run_id, started, finished, closed, batches, dry_run, hours, batch_size, status) = rows[0]
        return {
            "id": run_id,
            "startedAt": _iso(started),
            "finishedAt": _iso(finished),
            "closedCount": closed,
            "batches": batches,
            "dryRun": bool(dry_run),
            "thresholdHours": float(hours) if hours is not None else None,
            "batchSize": batch_size,
            "status": status,
        }


def _iso(value):
    return value.isoformat() if value is not None else None
