from types import SimpleNamespace

from .handler import handle

# These tests run during `docker build`. A failing test fails the build.
# To skip them, pass the build arg TEST_ENABLED=false
# (stack.yml: build_args: {TEST_ENABLED: "false"}).


def make_event(body=b"", method="GET", path="/", query=None, headers=None):
    return SimpleNamespace(
        body=body,
        method=method,
        path=path,
        query=query or {},
        headers=headers or {},
    )


def test_handle_returns_200():
    res = handle(make_event(), SimpleNamespace(hostname="localhost"))
    assert res["statusCode"] == 200
    assert res["body"] == "Hello from OpenFaaS!"
