"""MySQL/MariaDB connections for auto-close-orders (PyMySQL).

A connection is opened per request and closed afterwards: the function runs
at most every few minutes, and this recovers from a database restart without
any pool bookkeeping. The password comes from the OpenFaaS secret file and is
never logged.
"""
import os
from contextlib import contextmanager

DEFAULT_PASSWORD_FILE = "/var/openfaas/secrets/food-db-password"


class DatabaseUnavailable(Exception):
    """Cannot connect, connection lost, or the server is too busy (lock timeout)."""


def read_password(env=os.environ):
    path = env.get("MYSQL_PASSWORD_FILE", DEFAULT_PASSWORD_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\r\n")
    except OSError:
        return env.get("MYSQL_PASSWORD", "")


def connect_args(env=os.environ):
    return {
        "host": env.get("MYSQL_HOST", "127.0.0.1"),
        "port": int(env.get("MYSQL_PORT", "3306")),
        "user": env.get("MYSQL_USER", "food"),
        "password": read_password(env),
        "database": env.get("MYSQL_DATABASE", "food_delivery"),
        "charset": "utf8mb4",
        "autocommit": True,  # transactions are explicit: begin() ... commit()
        "connect_timeout": 3,
        "read_timeout": 30,
        "write_timeout": 30,
    }


def is_unavailable(exc):
    import pymysql

    return isinstance(exc, (pymysql.err.OperationalError, pymysql.err.InterfaceError))


@contextmanager
def connection(env=os.environ):
    """Yields an open PyMySQL connection; connection-level failures become
    DatabaseUnavailable, other errors propagate unchanged."""
    import pymysql

    conn = None
    try:
        conn = pymysql.connect(**connect_args(env))
        with conn.cursor() as cur:
            # No gap locks for a queue-like scan; don't wait long on a row lock.
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cur.execute("SET SESSION innodb_lock_wait_timeout = 10")
        yield conn
    except Exception as exc:
        if is_unavailable(exc):
            raise DatabaseUnavailable(f"{type(exc).__name__}: {exc.args[0] if exc.args else ''}") from None
        raise
    finally:
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - already broken
                pass
