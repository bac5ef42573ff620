"""The streaming invoke follows the same origin rule as invoke: a full URL outside the
service's origins never receives the credential."""

from __future__ import annotations

import anyio
import pytest

from plugboard.errors import OutboundBlocked
from plugboard.usecases.invoke import Invoker
from tests.integration.remote_support import key_connection
from tests.stack import Stack


@pytest.mark.parametrize(
    "url", ["https://evil.example/steal", "http://127.0.0.1:9/elsewhere"], ids=["host", "port"]
)
def test_a_full_url_outside_the_services_origins_is_refused_when_streaming(
    stack: Stack, url: str
) -> None:
    link = key_connection(stack)
    invoker = Invoker(stack.runtime)

    async def stream() -> None:
        async with invoker.astream(stack.members("dev"), url, connection=link):
            raise AssertionError("the request was sent")

    try:
        with pytest.raises(OutboundBlocked):
            anyio.run(stream)
    finally:
        invoker.close()
