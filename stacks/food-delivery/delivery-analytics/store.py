"""Redis I/O for delivery-analytics.

One connection pool per process, created lazily on first use. Short socket
timeouts make an outage fail fast (the handler answers 503); the pool
reconnects by itself once Redis is back. A new delivery is one round trip: a
Lua script (EVALSHA, loaded again by redis-py after a Redis restart) that
stores it and updates the aggregates atomically.
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


# Stores a record once and applies its aggregate writes, atomically (Redis runs a
# script without interleaving other clients' commands). KEYS[1] is the record's
# key and KEYS[2..] the keys the writes touch; ARGV is the record, its TTL in
# seconds, then each write as: argument count n, command, key index, n - 2 more
# arguments. Returns the stored record if the key already exists, else nil.
RECORD_ONCE = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local i = 3
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call(ARGV[i + 1], KEYS[tonumber(ARGV[i + 2])], unpack(ARGV, i + 3, i + n))
  i = i + n + 1
end
return false
"""


def aggregate_writes(record, now):
    """The Redis writes one new delivery makes: [(command, key, arg, ...)]."""
    ints, floats = aggregates.increments(record)
    stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    writes = []
    for hash_key in (driver_key(record["driverId"]), PLATFORM_KEY):
        writes += [("HINCRBY", hash_key, field, amount) for field, amount in ints.items()]
        writes += [("HINCRBYFLOAT", hash_key, field, amount) for field, amount in floats.items()]
        writes.append(("HSET", hash_key, "last_delivery_at", stamp))
    writes.append(("SADD", PLATFORM_DRIVERS_KEY, record["driverId"]))
    return writes


def record_once_arguments(key, text, ttl_seconds, writes):
    """(keys, args) for RECORD_ONCE."""
    keys = [key]
    args = [text, ttl_seconds]
    for command, write_key, *rest in writes:
        if write_key not in keys:
            keys.append(write_key)
        args += [len(rest) + 2, command, keys.index(write_key) + 1, *rest]
    return keys, args


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
        # A redis-py Script: EVALSHA, and EVAL again after NOSCRIPT (no I/O here).
        self._record_once = client.register_script(RECORD_ONCE)

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
        """Stores the record and updates the aggregates in one atomic script.

        Returns (stored_record, duplicate). A deliveryId already stored (within
        its TTL) is not counted again: the script checks for it and writes in one
        step, so concurrent posts of the same delivery count it once.
        """
        return self._call(self._record, record)

    def _record(self, record):
        text = json.dumps(record, separators=(",", ":"))
        writes = aggregate_writes(record, datetime.now(timezone.utc))
        keys, args = record_once_arguments(delivery_key(record["deliveryId"]), text, self.ttl_seconds, writes)
        existing = self._record_once(keys=keys, args=args)
        if existing is not None:
            return json.loads(existing), True
        return record, False

    def driver_stats(self, driver_id):
        """The driver's hash, or None when the driver has no deliveries."""
        stats = self._call(self.client.hgetall, driver_key(driver_id))
        return stats or None

    def platform_stats(self):
        stats = self._call(self.client.hgetall, PLATFORM_KEY)
        drivers = self._call(self.client.scard, PLATFORM_DRIVERS_KEY)
        return stats, int(drivers or 0)
