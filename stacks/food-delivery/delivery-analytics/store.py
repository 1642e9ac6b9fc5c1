"""Redis I/O for delivery-analytics.

One connection pool per process, created lazily on first use. Short socket
timeouts make an outage fail fast (the handler answers 503); the pool
reconnects by itself once Redis is back.
"""
import json
import os
import threading
from datetime import datetime, timezone

try:
    from . import aggregates
except ImportError:  # imported as a top-level module (tests, local runs)
    import aggregates

PLATFORM_KEY = "platform:stats"
PLATFORM_DRIVERS_KEY = "platform:drivers"

_pool = None
_client = None
_pool_lock = threading.Lock()


class StoreUnavailable(Exception):
    """Redis cannot be reached (connection refused, timeout, loading...)."""


class StoreConflict(Exception):
    """Optimistic transaction kept failing because of concurrent writers."""


def delivery_key(delivery_id):
    return f"delivery:{delivery_id}"


def driver_key(driver_id):
    return f"driver:{driver_id}:stats"


def _pool_settings(env):
    return {
        "host": env.get("REDIS_HOST", "127.0.0.1"),
        "port": int(env.get("REDIS_PORT", "6379")),
        "db": int(env.get("REDIS_DB", "0")),
        "password": env.get("REDIS_PASSWORD") or None,
        "socket_timeout": float(env.get("REDIS_SOCKET_TIMEOUT", "1.0")),
        "socket_connect_timeout": float(env.get("REDIS_CONNECT_TIMEOUT", "1.0")),
        "health_check_interval": 15,
        "decode_responses": True,
        "max_connections": int(env.get("REDIS_MAX_CONNECTIONS", "50")),
    }


def get_client():
    """The process-wide redis.Redis and its connection pool (created on first call).

    One client for every request: redis.Redis is thread-safe over its pool,
    and building one per request cost about a tenth of the request's CPU.
    """
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    global _pool, _client
    if _client is None:
        with _pool_lock:
            if _client is None:
                _pool = redis.ConnectionPool(**_pool_settings(os.environ))
                # One immediate retry: a pooled connection that went stale while Redis
                # restarted is replaced transparently; a real outage still fails fast.
                _client = redis.Redis(connection_pool=_pool, retry=Retry(NoBackoff(), 1))
    return _client


def _translate(exc):
    """Maps redis-py exceptions to StoreUnavailable; anything else is re-raised."""
    import redis.exceptions as rex

    if isinstance(exc, (rex.ConnectionError, rex.TimeoutError)):
        return StoreUnavailable(str(exc) or type(exc).__name__)
    return exc


class DeliveryStore:
    def __init__(self, client, ttl_seconds=86400):
        self.client = client
        self.ttl_seconds = ttl_seconds

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - translated below
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from None

    def ping(self):
        return self._call(self.client.ping)

    def record(self, record):
        """Stores the record and updates the aggregates in one MULTI/EXEC.

        Returns (stored_record, duplicate). A deliveryId already stored (within
        its TTL) is not counted again: WATCH on the delivery key makes the
        check-and-write atomic against concurrent posts of the same delivery.
        """
        return self._call(self._record, record)

    def _record(self, record):
        from redis.exceptions import WatchError

        key = delivery_key(record["deliveryId"])
        ints, floats = aggregates.increments(record)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        with self.client.pipeline(transaction=True) as pipe:
            for _ in range(5):
                try:
                    pipe.watch(key)
                    existing = pipe.get(key)
                    if existing is not None:
                        return json.loads(existing), True
                    pipe.multi()
                    pipe.set(key, json.dumps(record, separators=(",", ":")), ex=self.ttl_seconds)
                    for hash_key in (driver_key(record["driverId"]), PLATFORM_KEY):
                        for field, amount in ints.items():
                            pipe.hincrby(hash_key, field, amount)
                        for field, amount in floats.items():
                            pipe.hincrbyfloat(hash_key, field, amount)
                        pipe.hset(hash_key, "last_delivery_at", now)
                    pipe.sadd(PLATFORM_DRIVERS_KEY, record["driverId"])
                    pipe.execute()
                    return record, False
                except WatchError:
                    continue
        raise StoreConflict("delivery was modified concurrently, retry")

    def driver_stats(self, driver_id):
        """The driver's hash, or None when the driver has no deliveries."""
        stats = self._call(self.client.hgetall, driver_key(driver_id))
        return stats or None

    def platform_stats(self):
        stats = self._call(self.client.hgetall, PLATFORM_KEY)
        drivers = self._call(self.client.scard, PLATFORM_DRIVERS_KEY)
        return stats, int(drivers or 0)
