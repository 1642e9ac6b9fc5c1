"""Callback URLs that only the pipeline can make. A step's result changes an order, and
`/function/order-api/...` is open to anyone who reaches the gateway, so each callback URL
carries an HMAC of (order, step, revision) under the `orders-callback-key` secret; order-api
refuses a step result without a valid one (403)."""
import hashlib
import hmac
import os

DEFAULT_KEY_FILE = "/var/openfaas/secrets/orders-callback-key"


class MissingKey(Exception):
    pass


def _key(env=os.environ):
    path = env.get("CALLBACK_KEY_FILE", DEFAULT_KEY_FILE)
    try:
        with open(path, "rb") as f:
            key = f.read().strip()
    except OSError:
        key = b""
    if not key:
        raise MissingKey(f"the callback key secret is missing or empty ({os.path.basename(path)})")
    return key


def has_key(env=os.environ):
    try:
        _key(env)
        return True
    except MissingKey:
        return False


def sign(order_id, step, round_, env=os.environ):
    message = f"{order_id}|{step}|{round_}".encode("utf-8")
    return hmac.new(_key(env), message, hashlib.sha256).hexdigest()


def valid(order_id, step, round_, signature, env=os.environ):
    if not isinstance(signature, str) or len(signature) != 64:
        return False
    return hmac.compare_digest(sign(order_id, step, round_, env), signature)
