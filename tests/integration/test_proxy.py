"""ANY /proxy/{link_name}/{path}: real HTTP on 127.0.0.1 (Plugboard, the test provider and a tiny
upstream of our own), nothing of Plugboard mocked."""

# ruff: noqa: F811 -- the `upstream` fixture imported from remote_support is a pytest parameter
from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator

import httpx2
import pytest

from plugboard.testing.provider_state import DEMO_API_KEY
from tests.integration.remote_support import (  # noqa: F401
    BIG,
    CHUNK,
    Upstream,
    big_body,
    key_connection,
    proxy_client,
    upstream,
)
from tests.stack import Stack


def test_the_proxy_injects_the_credential_the_provider_verifies(stack: Stack) -> None:
    link = key_connection(stack)
    answer = proxy_client(stack).get(f"/proxy/{link}/orders")
    assert answer.status_code == 200, answer.text
    assert answer.json()["auth"] == "apikey"  # the provider checked X-Api-Key
    assert DEMO_API_KEY not in answer.text


def test_the_proxy_forwards_method_path_query_and_body(stack: Stack) -> None:
    link = key_connection(stack)
    answer = proxy_client(stack).patch(
        f"/proxy/{link}/orders/7/lines", params=[("a", "1"), ("a", "2"), ("b", "x/y")],
        json={"n": 1},
    )  # fmt: skip
    echoed = answer.json()
    assert (echoed["method"], echoed["path"], echoed["json"]) == (
        "PATCH",
        "/orders/7/lines",
        {"n": 1},
    )
    assert echoed["query"] == {"a": ["1", "2"], "b": "x/y"}


def test_the_proxy_keeps_the_callers_percent_encoding(stack: Stack, upstream: Upstream) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    answer = proxy_client(stack).get(
        f"/proxy/{link}/files/a%2Fb?q=%20x", headers={"X-Plugboard-Base-Url": upstream.base_url}
    )
    assert answer.json()["query"] == "q=%20x"
    assert answer.json()["path"] == "/files/a/b"  # Starlette decodes; the raw path arrived
    assert ("x-api-key", DEMO_API_KEY) in upstream.headers[-1]


def test_the_proxy_never_forwards_the_callers_credentials_or_plugboard_headers(
    stack: Stack, upstream: Upstream
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    client = proxy_client(stack)
    plugboard_token = client.headers["Authorization"]
    client.post(
        f"/proxy/{link}/anything",
        headers={
            "X-Plugboard-Base-Url": upstream.base_url,
            "X-Plugboard-Environment": "development",
            "X-Plugboard-Anything": "no",
            "Cookie": "session=abc",
            "Connection": "X-Hop-Header",
            "X-Hop-Header": "no",
            "X-Custom": "kept",
        },
        content=b"hello",
    )
    [received] = upstream.headers
    names = {name for name, _ in received}
    assert "authorization" not in names and "cookie" not in names and "x-hop-header" not in names
    assert not {n for n in names if n.startswith("x-plugboard-")}
    assert ("x-custom", "kept") in received
    assert plugboard_token.split()[1] not in repr(received)


def test_the_proxy_returns_no_hop_by_hop_or_cookie_headers_of_the_upstream(
    stack: Stack, upstream: Upstream
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    answer = proxy_client(stack).get(
        f"/proxy/{link}/x", headers={"X-Plugboard-Base-Url": upstream.base_url}
    )
    assert answer.headers["x-upstream"] == "yes"
    for name in ("set-cookie", "keep-alive", "x-hop"):
        assert name not in answer.headers


def test_the_proxy_streams_a_large_response(stack: Stack, upstream: Upstream) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    client = proxy_client(stack)
    digest, size, first = hashlib.sha256(), 0, True
    headers = {"X-Plugboard-Base-Url": upstream.base_url}
    with client.stream("GET", f"/proxy/{link}/big", headers=headers) as answer:
        assert answer.status_code == 200
        for chunk in answer.iter_raw():
            if first and size >= CHUNK:
                # The upstream holds back the rest until released: a proxy that buffered the
                # whole answer would deliver nothing before the upstream gave up waiting.
                upstream.release.set()
                first = False
            digest.update(chunk)
            size += len(chunk)
    assert upstream.released_in_time is True
    assert size == BIG and digest.hexdigest() == hashlib.sha256(big_body()).hexdigest()


def test_the_proxy_streams_a_large_request_body(stack: Stack, upstream: Upstream) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    data = big_body()
    early = threading.Event()

    def body() -> Iterator[bytes]:
        for i in range(0, len(data), CHUNK):
            if i == 32 * CHUNK:
                # Half-way: the upstream must already be receiving (no buffering in between).
                early.set() if upstream.first_bytes_in.wait(5) else None
            yield data[i : i + CHUNK]

    answer = proxy_client(stack).put(
        f"/proxy/{link}/upload", headers={"X-Plugboard-Base-Url": upstream.base_url},
        content=body(),
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert early.is_set()
    assert answer.json() == {"received": BIG, "sha256": hashlib.sha256(data).hexdigest()}


def test_a_user_header_is_refused_for_a_token_that_cannot_act_for_users(stack: Stack) -> None:
    link = key_connection(stack)
    refused = proxy_client(stack, "dev").get(
        f"/proxy/{link}/x", headers={"X-Plugboard-User": "user@acme.test"}
    )
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/permission_denied")


def test_a_user_header_picks_that_users_authorization_for_a_token_that_acts_for_users(
    stack: Stack,
) -> None:
    link = key_connection(stack, authorized=False, level="user")
    good = {"values": {"X-Api-Key": DEMO_API_KEY}}
    bad = {"values": {"X-Api-Key": "not-the-key"}, "test": False}
    for member, values in (("root", good), ("user", good), ("dev2", bad)):  # root: the primary
        entered = stack.api(member).post(f"/connections/{link}/credentials", json=values)
        assert entered.status_code == 201, entered.text
    agent = proxy_client(stack, "admin", acts_for_users=True)

    as_user = agent.get(f"/proxy/{link}/x", headers={"X-Plugboard-User": "user@acme.test"})
    as_dev2 = agent.get(f"/proxy/{link}/x", headers={"X-Plugboard-User": "dev2@acme.test"})

    assert as_user.status_code == 200, as_user.text
    assert as_dev2.status_code == 401 and as_dev2.json()["error"] == "invalid_api_key"


def test_a_base_url_to_a_blocked_address_is_refused_without_connecting(stack: Stack) -> None:
    link = key_connection(stack)
    with socket.socket() as listener:
        listener.bind(("127.0.0.2", 0))  # loopback, but not on the allowlist (127.0.0.1)
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        refused = proxy_client(stack).get(
            f"/proxy/{link}/x", headers={"X-Plugboard-Base-Url": f"https://127.0.0.2:{port}"}
        )
        assert refused.status_code == 403
        assert refused.json()["type"].endswith("/outbound_blocked")
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_a_blocked_base_url_is_refused_before_the_connection_is_looked_up(stack: Stack) -> None:
    refused = proxy_client(stack).get(
        "/proxy/no_such_link/x", headers={"X-Plugboard-Base-Url": "https://169.254.169.254"}
    )
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/outbound_blocked")


def test_a_plain_http_base_url_is_refused_for_hosts_not_allowed_http(stack: Stack) -> None:
    link = key_connection(stack)
    refused = proxy_client(stack).get(
        f"/proxy/{link}/x", headers={"X-Plugboard-Base-Url": "http://api.example.com"}
    )
    assert refused.status_code == 422 and refused.json()["field"] == "X-Plugboard-Base-Url"


def test_the_proxy_without_an_authorization_is_424_saying_who_must_act(stack: Stack) -> None:
    link = key_connection(stack, authorized=False)
    agent = proxy_client(stack, "admin", acts_for_users=True)
    refused = agent.get(f"/proxy/{link}/x", headers={"X-Plugboard-User": "user@acme.test"})
    assert refused.status_code == 424
    assert refused.headers["content-type"] == "application/problem+json"
    assert "contact your admin" in refused.json()["who_must_act"]


def test_an_unreachable_upstream_is_502(stack: Stack) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        link = key_connection(stack, hosts=[f"http://127.0.0.1:{port}"])
        answer = proxy_client(stack).get(
            f"/proxy/{link}/x", headers={"X-Plugboard-Base-Url": f"http://127.0.0.1:{port}"}
        )
    assert answer.status_code == 502
    assert answer.json()["type"].endswith("/upstream_error")


def test_the_proxy_requires_a_plugboard_token(stack: Stack) -> None:
    key_connection(stack)
    with httpx2.Client(base_url=stack.base_url) as anonymous:
        assert anonymous.get("/proxy/keys/x").status_code == 401


def test_a_caller_that_accepts_no_encoding_gets_the_body_unencoded(
    stack: Stack, upstream: Upstream
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    client = proxy_client(stack)
    client.headers.pop("Accept-Encoding", None)
    client.get(f"/proxy/{link}/x", headers={"X-Plugboard-Base-Url": upstream.base_url})
    assert ("accept-encoding", "identity") in upstream.headers[-1]
