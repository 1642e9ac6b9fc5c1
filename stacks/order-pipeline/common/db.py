"""MariaDB connections (PyMySQL), one per request: a function call is short, and a fresh
connection rides out a database restart without pool bookkeeping. The password comes from the
`orders-db-password` secret file and is never logged.

Every failure that a later attempt may not meet (cannot connect, connection lost, lock wait
timeout, deadlock) becomes `web.Unavailable("database")`, a 503 the async queue retries.
"""
import os
from contextlib import contextmanager

try:
    from . import web
except ImportError:  # imported as a top-level module (unit tests)
    import web

DEFAULT_PASSWORD_FILE = "/var/openfaas/secrets/orders-db-password"
#: MySQL errors that are worth retrying as they are: lock wait timeout, deadlock.
RETRYABLE = (1205, 1213)


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
        "user": env.get("MYSQL_USER", "orders"),
        "password": read_password(env),
        "database": env.get("MYSQL_DATABASE", "order_pipeline"),
        "charset": "utf8mb4",
        "autocommit": True,  # transactions are explicit: conn.begin() ... conn.commit()
        "connect_timeout": 3,
        "read_timeout": 15,
        "write_timeout": 15,
    }


def _unavailable(exc):
    import pymysql

    if isinstance(exc, pymysql.err.InterfaceError):
        return True
    if isinstance(exc, pymysql.err.OperationalError):
        code = exc.args[0] if exc.args else 0
        # 1044/1045/1142: access denied (revoked grants are an outage too); 1040: too many
        # connections; 1053/1927: the server is shutting down; 2xxx: lost or refused connections.
        return code in RETRYABLE or code in (1040, 1044, 1045, 1053, 1142, 1927) or code >= 2000
    return False


@contextmanager
def connection(env=os.environ):
    """Yields an open connection; failures worth a retry become `web.Unavailable`."""
    import pymysql

    conn = None
    try:
        conn = pymysql.connect(**connect_args(env))
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cur.execute("SET SESSION innodb_lock_wait_timeout = 5")
        yield conn
    except Exception as exc:
        if _unavailable(exc):
            raise web.Unavailable("database", f"{type(exc).__name__}: {exc.args[0] if exc.args else ''}") from None
        raise
    finally:
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - already broken
                pass


@contextmanager
def transaction(env=os.environ):
    """A connection inside BEGIN ... COMMIT; any exception rolls back."""
    with connection(env) as conn:
        conn.begin()
        try:
            yield conn
            conn.commit()
        except BaseException:
            try:
                conn.rollback()
            except Exception:  # noqa: BLE001 - the connection may be gone already
                pass
            raise


def ping(env=os.environ):
    """True when the database answers `SELECT 1`."""
    try:
        with connection(env) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            return True
    except web.Unavailable:
        return False
