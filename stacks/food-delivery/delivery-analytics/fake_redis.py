"""A tiny in-memory stand-in for the redis-py calls store.py makes (tests only)."""


class FakeRedis:
    def __init__(self):
        self.strings = {}
        self.ttls = {}
        self.hashes = {}
        self.sets = {}
        self.version = {}      # per-key write counter, for WATCH
        self.down = False      # simulate an outage
        self.executed = []     # list of command lists run inside MULTI/EXEC

    def _check(self):
        if self.down:
            import redis.exceptions
            raise redis.exceptions.ConnectionError("Connection refused (fake)")

    def _touch(self, key):
        self.version[key] = self.version.get(key, 0) + 1

    def ping(self):
        self._check()
        return True

    def get(self, key):
        self._check()
        return self.strings.get(key)

    def set(self, key, value, ex=None):
        self._check()
        self.strings[key] = value
        self.ttls[key] = ex
        self._touch(key)

    def hincrby(self, key, field, amount):
        h = self.hashes.setdefault(key, {})
        h[field] = str(int(h.get(field, 0)) + int(amount))
        self._touch(key)

    def hincrbyfloat(self, key, field, amount):
        h = self.hashes.setdefault(key, {})
        h[field] = repr(float(h.get(field, 0)) + float(amount))
        self._touch(key)

    def hset(self, key, field, value):
        self.hashes.setdefault(key, {})[field] = str(value)
        self._touch(key)

    def sadd(self, key, member):
        self.sets.setdefault(key, set()).add(member)
        self._touch(key)

    def hgetall(self, key):
        self._check()
        return dict(self.hashes.get(key, {}))

    def scard(self, key):
        self._check()
        return len(self.sets.get(key, set()))

    def pipeline(self, transaction=True):
        assert transaction, "store.py must use MULTI/EXEC"
        return FakePipeline(self)


class FakePipeline:
    def __init__(self, db):
        self.db = db
        self.watched = {}
        self.queue = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.reset()

    def reset(self):
        self.watched = {}
        self.queue = None

    def watch(self, key):
        self.db._check()
        self.watched[key] = self.db.version.get(key, 0)

    def get(self, key):
        return self.db.get(key)

    def multi(self):
        self.queue = []

    def __getattr__(self, name):
        if name in ("set", "hincrby", "hincrbyfloat", "hset", "sadd"):
            def queued(*args, **kwargs):
                self.queue.append((name, args, kwargs))
            return queued
        raise AttributeError(name)

    def execute(self):
        import redis.exceptions
        try:
            self.db._check()
            for key, seen in self.watched.items():
                if self.db.version.get(key, 0) != seen:
                    raise redis.exceptions.WatchError("watched key changed")
            for name, args, kwargs in self.queue:
                getattr(self.db, name)(*args, **kwargs)
            self.db.executed.append([q[0] for q in self.queue])
        finally:
            self.reset()
