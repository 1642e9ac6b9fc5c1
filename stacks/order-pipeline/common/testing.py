"""Helpers for the functions' unit tests: an event as the python3-http template builds it."""
import json
from types import SimpleNamespace


def event(method="POST", path="/", body=b"", query=None, headers=None):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    return SimpleNamespace(method=method, path=path, body=body, query=query or {}, headers=headers or {})


def call(handler, *args, **kwargs):
    """`(status, body)` of `handler.handle` for `event(*args, **kwargs)`."""
    res = handler.handle(event(*args, **kwargs), None)
    assert res["headers"]["Content-Type"] == "application/json"
    return res["statusCode"], res["body"]
