"""Plugboard keeps no upstream cookies: an answer's Set-Cookie never comes back on a later
request, whoever sends it (the outbound clients are shared by every caller of a server
process: a kept cookie would hand one caller's upstream session to the next)."""

# ruff: noqa: F811 -- the `upstream` fixture imported from remote_support is a pytest parameter
from __future__ import annotations

from tests.integration.remote_support import (  # noqa: F401
    Upstream,
    key_connection,
    proxy_client,
    upstream,
)
from tests.stack import Stack


def _cookies(upstream: Upstream) -> list[list[str]]:
    return [[v for n, v in seen if n == "cookie"] for seen in upstream.headers]


def test_a_cookie_an_upstream_set_through_the_proxy_is_not_sent_for_the_next_caller(
    stack: Stack, upstream: Upstream
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    base = {"X-Plugboard-Base-Url": upstream.base_url}
    first = proxy_client(stack, "dev").get(f"/proxy/{link}/login", headers=base)
    assert first.status_code == 200 and upstream.headers  # the echo answers Set-Cookie: up=1
    second = proxy_client(stack, "admin").get(f"/proxy/{link}/me", headers=base)
    assert second.status_code == 200
    assert _cookies(upstream) == [[], []]


def test_a_cookie_an_upstream_set_through_invoke_is_not_sent_on_the_next_invoke(
    stack: Stack, upstream: Upstream
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    for name, path in (("dev", "/login"), ("admin", "/me")):
        answer = stack.api(name).post(
            "/invoke", json={"connection": link, "url": f"{upstream.base_url}{path}"}
        )
        assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text
    assert _cookies(upstream) == [[], []]
