"""The remote client's invoke_url goes through the server's /proxy: the same request as the
embedded client's, the upstream's answer with its repeated headers kept, one URL rule for
``{placeholders}`` on both sides, and the invoke options carried as X-Plugboard-* headers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import plugboard
from plugboard.client import LocalClient
from plugboard.client.protocol import InvokeResponse
from plugboard.testing.provider_state import DEMO_API_KEY
from plugboard.threaded_server import ThreadedServer
from tests.integration.remote_support import proxy_client, token
from tests.stack import Stack

TENANT = "acme-co"


@dataclass
class Upstream:
    base_url: str = ""
    busy_calls: int = 0


def _app(seen: Upstream) -> Starlette:
    async def echo(request: Request) -> Response:
        answer = JSONResponse(
            {"path": request.url.path, "query": request.url.query,
             "key": request.headers.get("x-api-key") == DEMO_API_KEY},
        )  # fmt: skip
        answer.headers.append("Set-Cookie", "session=abc; Path=/")
        answer.headers.append("Set-Cookie", "theme=dark; Path=/")
        return answer

    async def busy(request: Request) -> Response:
        seen.busy_calls += 1
        return Response(status_code=503)

    async def forged(request: Request) -> Response:
        headers = {"X-Plugboard-Url": "https://evil.example/", "X-Plugboard-Date": "never"}
        return JSONResponse({"ok": True}, headers=headers)

    async def problem(request: Request) -> Response:
        body = b'{"type": "about:blank", "title": "Not Found", "status": 404}'
        return Response(body, status_code=404, media_type="application/problem+json")

    return Starlette(
        routes=[
            Route("/api/{tenant}/busy", busy),
            Route("/api/{tenant}/problem", problem),
            Route("/api/{tenant}/forged", forged),
            Route("/{rest:path}", echo, methods=["GET", "POST"]),
        ]
    )


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    seen = Upstream()
    server = ThreadedServer(_app(seen), name="upstream")
    seen.base_url = server.bind()
    server.start()
    try:
        yield seen
    finally:
        server.stop()


def _tenant_connection(stack: Stack, upstream: Upstream) -> str:
    """An API key connection on the upstream whose base URL and paths use ``{tenant}``."""
    service = {
        "name": "Tenant API",
        "link_name": "tenantsvc",
        "base_url": f"{upstream.base_url}/api/{{tenant}}",
        "auth_type": "api_key",
        "api_key": {
            "parameters": [{"param_type": "header", "name": "X-Api-Key", "display_name": "Key"}]
        },
        "dynamic_parameters": [{"key": "tenant", "display_name": "Tenant"}],
    }
    api = stack.api("dev")
    assert api.post("/services", json=service).status_code == 201
    body = {"service": "tenantsvc", "link_name": "tenant", "params": {"tenant": TENANT}}
    assert api.post("/connections", json=body).status_code == 201
    entered = api.post(
        "/connections/tenant/credentials",
        json={"values": {"X-Api-Key": DEMO_API_KEY}, "test": False},
    )
    assert entered.status_code == 201, entered.text
    return "tenant"


def _both(stack: Stack, url: str, **options: object) -> tuple[InvokeResponse, InvokeResponse]:
    local = LocalClient(stack.runtime, principal=stack.members("dev"))
    remote = plugboard.connect(stack.base_url, token=token(stack, "dev"))
    with local, remote:
        return (
            local.invoke_url(url, connection="tenant", **options),  # type: ignore[arg-type]
            remote.invoke_url(url, connection="tenant", **options),  # type: ignore[arg-type]
        )


def test_repeated_set_cookie_headers_survive_a_remote_invoke(
    stack: Stack, upstream: Upstream
) -> None:
    _tenant_connection(stack, upstream)
    here, there = _both(stack, "/orders")
    cookies = ["session=abc; Path=/", "theme=dark; Path=/"]
    assert here.headers.get_list("set-cookie") == there.headers.get_list("set-cookie") == cookies


def test_a_placeholder_url_reaches_the_same_target_locally_and_remotely(
    stack: Stack, upstream: Upstream
) -> None:
    _tenant_connection(stack, upstream)
    here, there = _both(stack, "/orders/{tenant}?who={tenant}")
    expected = {"path": f"/api/{TENANT}/orders/{TENANT}", "query": f"who={TENANT}"}
    assert here.json() == there.json() == {**expected, "key": True}
    assert here.url == there.url == f"{upstream.base_url}/api/{TENANT}/orders/{TENANT}"


def test_a_full_url_with_a_placeholder_in_its_path_works_through_both(
    stack: Stack, upstream: Upstream
) -> None:
    _tenant_connection(stack, upstream)
    here, there = _both(stack, f"{upstream.base_url}/api/{{tenant}}/me")
    assert here.json() == there.json() == {"path": f"/api/{TENANT}/me", "query": "", "key": True}


def test_the_proxy_fills_placeholders_of_a_path_as_invoke_does(
    stack: Stack, upstream: Upstream
) -> None:
    _tenant_connection(stack, upstream)
    client = proxy_client(stack)
    for path in ("/proxy/tenant/x/{tenant}", "/proxy/tenant/x/%7Btenant%7D"):
        answer = client.get(path)
        assert answer.status_code == 200, answer.text
        assert answer.json()["path"] == f"/api/{TENANT}/x/{TENANT}"


def test_an_upstream_cannot_forge_what_the_proxy_reports(stack: Stack, upstream: Upstream) -> None:
    _tenant_connection(stack, upstream)
    here, there = _both(stack, "/forged")
    assert here.url == there.url == f"{upstream.base_url}/api/{TENANT}/forged"
    answer = proxy_client(stack).get("/proxy/tenant/forged")
    assert answer.status_code == 200 and "x-plugboard-url" not in answer.headers
    assert "x-plugboard-date" not in answer.headers


def test_the_proxy_still_answers_set_cookie_to_nobody_but_the_sdk(
    stack: Stack, upstream: Upstream
) -> None:
    _tenant_connection(stack, upstream)
    answer = proxy_client(stack).get("/proxy/tenant/orders")
    assert answer.status_code == 200
    assert "set-cookie" not in answer.headers and "x-plugboard-set-cookie" not in answer.headers


def test_max_attempts_reaches_the_server_through_the_proxy(
    stack: Stack, upstream: Upstream
) -> None:
    _tenant_connection(stack, upstream)
    with plugboard.connect(stack.base_url, token=token(stack, "dev")) as remote:
        answer = remote.invoke_url("/busy", connection="tenant", max_attempts=1)
        assert answer.status == 503 and upstream.busy_calls == 1
        answer = remote.invoke_url(
            "/busy", connection="tenant", max_attempts=2, max_retry_seconds=5
        )
    assert answer.status == 503 and upstream.busy_calls == 3


def test_an_out_of_range_option_header_is_refused_naming_it(
    stack: Stack, upstream: Upstream
) -> None:
    _tenant_connection(stack, upstream)
    answer = proxy_client(stack).get(
        "/proxy/tenant/busy", headers={"X-Plugboard-Max-Attempts": "11"}
    )
    assert answer.status_code == 422 and answer.json()["field"] == "X-Plugboard-Max-Attempts"
    assert upstream.busy_calls == 0


def test_an_upstream_problem_answer_is_returned_not_raised(
    stack: Stack, upstream: Upstream
) -> None:
    _tenant_connection(stack, upstream)
    here, there = _both(stack, "/problem")
    assert here.status == there.status == 404
    assert here.json() == there.json() and there.headers["content-type"] == (
        "application/problem+json"
    )
