"""A tiny in-memory stand-in for the redis-py calls store.py makes (tests only)."""


class FakeRedis:
    def __init__(self):
        self.strings = {}
        self.ttls = {}
        self.hashes = {}
        self.sets = {}
        self.down = False      # simulate an outage
        self.executed = []     # the commands of each script run, one list per run

    def _check(self):
        if self.down:
            import redis.exceptions
            raise redis.exceptions.ConnectionError("Connection refused (fake)")

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

    def hincrby(self, key, field, amount):
        h = self.hashes.setdefault(key, {})
        h[field] = str(int(h.get(field, 0)) + int(amount))

    def hincrbyfloat(self, key, field, amount):
        h = self.hashes.setdefault(key, {})
        h[field] = repr(float(h.get(field, 0)) + float(amount))

    def hset(self, key, field, value):
        self.hashes.setdefault(key, {})[field] = str(value)

    def sadd(self, key, member):
        self.sets.setdefault(key, set()).add(member)

    def hgetall(self, key):
        self._check()
        return dict(self.hashes.get(key, {}))

    def scard(self, key):
        self._check()
        return len(self.sets.get(key, set()))

    def register_script(self, lua):
        assert "redis.call" in lua
        return FakeScript(self)


class FakeScript:
    """Runs store.RECORD_ONCE's contract in Python: return the existing record,
    or set it and apply the encoded writes (see store.record_once_arguments)."""

    def __init__(self, db):
        self.db = db

    def __call__(self, keys, args):
        self.db._check()
        existing = self.db.strings.get(keys[0])
        if existing is not None:
            return existing
        self.db.set(keys[0], args[0], ex=int(args[1]))
        ops = ["set"]
        i = 2
        while i < len(args):
            n = int(args[i])
            command, key_index, rest = args[i + 1], int(args[i + 2]), args[i + 3:i + 1 + n]
            getattr(self.db, command.lower())(keys[key_index - 1], *rest)
            ops.append(command.lower())
            i += n + 1
        self.db.executed.append(ops)
        return None
