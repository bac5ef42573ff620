"""/proxy answered ahead of FastAPI (server/proxy.py's plain ASGI app): what the framework used
to answer still holds -- a method the proxy does not take is 405, a path without the upstream
part is 404, both problem+json -- and a console session authenticates as it does on the API,
its CSRF token never leaving for the upstream."""

# ruff: noqa: F811 -- the `upstream` fixture imported from remote_support is a pytest parameter
from __future__ import annotations

import httpx2

from plugboard.domain.models import Role
from plugboard.domain.principal import OPERATOR
from plugboard.usecases import identity
from tests.integration.remote_support import (  # noqa: F401
    Upstream,
    key_connection,
    proxy_client,
    upstream,
)
from tests.stack import Stack

PASSWORD = "correct horse battery staple"


def test_a_method_the_proxy_does_not_take_is_405_problem_json(stack: Stack) -> None:
    link = key_connection(stack)
    answer = proxy_client(stack).request("TRACE", f"/proxy/{link}/orders")
    assert answer.status_code == 405
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/method_not_allowed")


def test_a_proxy_path_without_the_upstream_part_is_404_problem_json(stack: Stack) -> None:
    link = key_connection(stack)
    answer = proxy_client(stack).get(f"/proxy/{link}")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def _console_session(stack: Stack) -> tuple[httpx2.Client, str]:
    with stack.runtime.unit() as unit:
        identity.add_user(
            unit, OPERATOR, email="web@acme.test", role=Role.DEVELOPER, workspace="acme",
            password=PASSWORD,
        )  # fmt: skip
    client = httpx2.Client(base_url=stack.base_url, timeout=10)
    stack.clients.append(client)
    login = client.post(
        "/api/v1/session",
        json={"email": "web@acme.test", "password": PASSWORD, "workspace": "acme"},
    )
    assert login.status_code == 201, login.text
    return client, str(login.json()["csrf_token"])


def test_a_console_session_proxies_and_its_writes_need_the_csrf_token(
    stack: Stack, upstream: Upstream
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    client, csrf = _console_session(stack)
    base = {"X-Plugboard-Base-Url": upstream.base_url}

    read = client.get(f"/proxy/{link}/things", headers=base)
    refused = client.post(f"/proxy/{link}/things", headers=base, content=b"x")
    written = client.post(
        f"/proxy/{link}/things", headers={**base, "X-CSRF-Token": csrf}, content=b"x"
    )

    assert read.status_code == 200, read.text
    assert refused.status_code == 401 and "X-CSRF-Token" in refused.json()["detail"]
    assert written.status_code == 200, written.text
    assert len(upstream.headers) == 2  # the refused write never left


def test_the_sessions_csrf_token_is_not_forwarded_upstream(
    stack: Stack, upstream: Upstream
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    client, csrf = _console_session(stack)

    client.post(
        f"/proxy/{link}/things",
        headers={"X-Plugboard-Base-Url": upstream.base_url, "X-CSRF-Token": csrf},
        content=b"x",
    )

    [received] = upstream.headers
    assert csrf not in repr(received)
    assert "x-csrf-token" not in {name for name, _ in received}


def test_an_x_csrf_token_of_a_bearer_caller_is_the_upstreams_and_is_forwarded(
    stack: Stack, upstream: Upstream
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    proxy_client(stack).get(
        f"/proxy/{link}/things",
        headers={"X-Plugboard-Base-Url": upstream.base_url, "X-CSRF-Token": "the-apis-own"},
    )
    assert ("x-csrf-token", "the-apis-own") in upstream.headers[-1]
