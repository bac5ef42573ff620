"""Shared fixtures for the auth tests: send one request through a sync or an async client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest

Handler = Callable[[httpx2.Request], httpx2.Response]
Send = Callable[..., httpx2.Response]


@pytest.fixture(params=["sync", "async"])
def send(request: pytest.FixtureRequest) -> Send:
    """send(auth, handler, method, url, **kwargs) -> Response via httpx2.Client or AsyncClient."""
    mode = request.param

    def _send(
        auth: httpx2.Auth, handler: Handler, method: str, url: str, **kwargs: Any
    ) -> httpx2.Response:
        transport = httpx2.MockTransport(handler)
        if mode == "sync":
            with httpx2.Client(transport=transport, auth=auth) as client:
                return client.request(method, url, **kwargs)

        async def go() -> httpx2.Response:
            async with httpx2.AsyncClient(transport=transport, auth=auth) as client:
                return await client.request(method, url, **kwargs)

        return anyio.run(go)

    return _send
