"""Checks the SQL the MySQL repository sends, with a recording connection."""
import datetime
from decimal import Decimal

import db as dbmod
import repository
from options import RunOptions


class Cursor:
    def __init__(self, conn):
        self.conn = conn
        self.rowcount = 0
        self.lastrowid = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def execute(self, sql, args=None):
        self.conn.statements.append((sql, args))
        self.result = self.conn.results.pop(0) if self.conn.results else []
        self.rowcount = len(args) if sql.startswith("UPDATE orders") and args else 1
        self.lastrowid = 7

    def fetchall(self):
        return self.result


class Conn:
    def __init__(self, *results):
        self.results = list(results)
        self.statements = []

    def cursor(self):
        return Cursor(self)


def test_batch_lock_uses_skip_locked_in_delivery_order():
    conn = Conn([("o1",), ("o2",)])
    ids = repository.MySQLRepository(conn).lock_eligible(7200, 100)
    sql, args = conn.statements[0]
    assert ids == ["o1", "o2"] and args == (7200, 100)
    assert "status = 'DELIVERED'" in sql and "delivered_at < NOW() - INTERVAL %s SECOND" in sql
    assert sql.endswith("ORDER BY delivered_at LIMIT %s FOR UPDATE SKIP LOCKED")


def test_close_updates_exactly_the_locked_ids_and_only_delivered():
    conn = Conn()
    assert repository.MySQLRepository(conn).mark_auto_closed(["o1", "o2"]) == ["o1", "o2"]
    sql, args = conn.statements[0]
    assert "closed_by = 'auto-close'" in sql and "completed_at = NOW()" in sql
    assert sql.endswith("WHERE status = 'DELIVERED' AND id IN (%s, %s)") and args == ("o1", "o2")


def test_run_log_and_last_run():
    started = datetime.datetime(2024, 1, 2, 3, 4, 5)
    conn = Conn([], [], [(3, started, None, 5, 1, 0, Decimal("2.0000"), 100, "ok")])
    repo = repository.MySQLRepository(conn)
    assert repo.start_run(RunOptions(True, 2.0, 100)) == 7
    repo.finish_run(7, 5, 1, "ok")
    last = repo.last_run()
    assert conn.statements[0][1] == (1, 2.0, 100)
    assert conn.statements[1][1] == (5, 1, "ok", 7)
    assert last["startedAt"] == "2024-01-02T03:04:05" and last["thresholdHours"] == 2.0
    assert last["dryRun"] is False and last["finishedAt"] is None


def test_password_comes_from_secret_file(tmp_path, monkeypatch):
    secret = tmp_path / "food-db-password"
    secret.write_text("s3cret\n")
    env = {"MYSQL_PASSWORD_FILE": str(secret), "MYSQL_USER": "u", "MYSQL_DATABASE": "d"}
    args = dbmod.connect_args(env)
    assert args["password"] == "s3cret" and args["user"] == "u" and args["database"] == "d"
    assert args["connect_timeout"] <= 5
    missing = {"MYSQL_PASSWORD_FILE": str(tmp_path / "absent"), "MYSQL_PASSWORD": "fromenv"}
    assert dbmod.read_password(missing) == "fromenv"


def test_unreachable_database_is_unavailable():
    env = {"MYSQL_HOST": "127.0.0.1", "MYSQL_PORT": "1", "MYSQL_PASSWORD_FILE": "/nonexistent"}
    try:
        with dbmod.connection(env):
            raise AssertionError("should not connect")
    except dbmod.DatabaseUnavailable as exc:
        assert "OperationalError" in str(exc)
