"""Shared set-up of the proxy, remote SDK and remote CLI tests: an API key connection on the
test provider, tokens, and a tiny upstream of our own for what the provider does not do
(multi-megabyte bodies, echoing every header)."""

from __future__ import annotations

import hashlib
import textwrap
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field

import httpx2
import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from plugboard.domain.principal import OPERATOR
from plugboard.testing.provider_state import DEMO_API_KEY
from plugboard.threaded_server import ThreadedServer
from plugboard.usecases import identity
from tests.stack import Stack

CHUNK = 64 * 1024
BIG = 5 * 1024 * 1024


def key_service(stack: Stack, *, user_level: bool = False, hosts: Sequence[str] = ()) -> str:
    """A custom API key service on the test provider (X-Api-Key header); `hosts` are further
    origins that may receive the key (e.g. an upstream of a test, on another port)."""
    p = stack.provider.base_url
    return textwrap.dedent(f"""
        name: Key Service
        link_name: keysvc
        base_url: {p}/api/apikey
        auth_type: api_key
        allow_user_level: {"true" if user_level else "false"}
        api_key:
          parameters: [{{param_type: header, name: X-Api-Key, display_name: API key}}]
        test_url: {p}/api/apikey/me
        hosts: [{", ".join(hosts)}]
    """)


def key_connection(
    stack: Stack,
    *,
    authorized: bool = True,
    level: str = "admin",
    link: str = "keys",
    new_service: bool = True,
    hosts: Sequence[str] = (),
) -> str:
    api = stack.api("dev")
    if new_service:
        service = yaml.safe_load(key_service(stack, user_level=level == "user", hosts=hosts))
        assert api.post("/services", json=service).status_code == 201
    created = api.post(
        "/connections", json={"service": "keysvc", "link_name": link, "level": level}
    )
    assert created.status_code == 201, created.text
    if authorized:
        entered = api.post(
            f"/connections/{link}/credentials", json={"values": {"X-Api-Key": DEMO_API_KEY}}
        )
        assert entered.status_code == 201, entered.text
    return link


def token(stack: Stack, name: str, *, acts_for_users: bool = False) -> str:
    with stack.runtime.unit() as unit:
        issued = identity.create_token(
            unit, OPERATOR, email=f"{name}@acme.test", workspace="acme", name="t",
            acts_for_users=acts_for_users,
        )  # fmt: skip
    return issued.secret


def proxy_client(stack: Stack, name: str = "dev", **options: bool) -> httpx2.Client:
    """A client of Plugboard's root URL (where /proxy is) with a member's token."""
    client = httpx2.Client(
        base_url=stack.base_url,
        headers={"Authorization": f"Bearer {token(stack, name, **options)}"},
        timeout=10,
    )
    stack.clients.append(client)
    return client


@dataclass
class Upstream:
    """What the tiny upstream saw, and the switch that holds its big answer half-way."""

    base_url: str = ""
    headers: list[list[tuple[str, str]]] = field(default_factory=list)
    received: int = 0
    first_bytes_in: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    released_in_time: bool | None = None
    upload_sha256: str = ""


def big_body() -> bytes:
    return bytes(range(256)) * (BIG // 256)


def _app(seen: Upstream) -> Starlette:
    async def echo(request: Request) -> Response:
        seen.headers.append(list(request.headers.items()))
        body = await request.body()
        return JSONResponse(
            {"method": request.method, "path": request.url.path, "query": request.url.query,
             "body": body.decode("latin-1")},
            headers={"X-Upstream": "yes", "Set-Cookie": "up=1", "Keep-Alive": "timeout=5",
                     "Connection": "X-Hop", "X-Hop": "1"},
        )  # fmt: skip

    async def big(request: Request) -> Response:
        seen.headers.append(list(request.headers.items()))
        data = big_body()

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(data), CHUNK):
                if i == 16 * CHUNK:
                    # Hold the rest until the caller has seen the first megabyte: a proxy that
                    # buffered the whole answer would wait here forever (the test times out).
                    import anyio.to_thread

                    seen.released_in_time = await anyio.to_thread.run_sync(seen.release.wait, 5)
                yield data[i : i + CHUNK]

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def upload(request: Request) -> Response:
        seen.headers.append(list(request.headers.items()))
        digest = hashlib.sha256()
        try:
            async for chunk in request.stream():
                digest.update(chunk)
                seen.received += len(chunk)
                if seen.received:
                    seen.first_bytes_in.set()
        except ClientDisconnect:  # Plugboard ended the upload (its caller went away)
            return Response(status_code=499)
        seen.upload_sha256 = digest.hexdigest()
        return JSONResponse({"received": seen.received, "sha256": seen.upload_sha256})

    return Starlette(
        routes=[
            Route("/big", big),
            Route("/upload", upload, methods=["PUT", "POST"]),
            Route("/{rest:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
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
        seen.release.set()
        server.stop()
