"""The proxy keeps its upstream connections alive under concurrency: 32 callers at once, twice,
open at most 32 upstream connections, not a new batch for every burst (a pool that keeps fewer alive
than it opens reconnects on every burst: a TCP handshake, an outbound check and a name
resolution per request)."""

from __future__ import annotations

import asyncio
import socketserver
import threading
import time
from collections.abc import Iterator

import httpx2
import pytest

from tests.integration.remote_support import key_connection, token
from tests.stack import Stack

CALLERS = 32
BODY = b'{"ok": true}'
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
    len(BODY),
    BODY,
)


class _Handler(socketserver.BaseRequestHandler):
    server: CountingUpstream

    def handle(self) -> None:
        with self.server.lock:
            self.server.connections += 1
        self.request.settimeout(30)
        received = b""
        try:
            while True:  # bounded: the caller closing (or 30 s of silence) ends it
                while b"\r\n\r\n" not in received:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    received += chunk
                _, _, received = received.partition(b"\r\n\r\n")
                time.sleep(0.2)
                self.request.sendall(ANSWER)
        except OSError:
            return


class CountingUpstream(socketserver.ThreadingTCPServer):
    """A keep-alive HTTP/1.1 server on 127.0.0.1 that counts the connections it accepts and
    holds each answer a moment, so that concurrent requests overlap."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.lock = threading.Lock()
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def counting() -> Iterator[CountingUpstream]:
    upstream = CountingUpstream()
    thread = threading.Thread(target=upstream.serve_forever, name="plugboard-upstream")
    thread.start()
    try:
        yield upstream
    finally:
        upstream.shutdown()
        thread.join(timeout=10)
        upstream.server_close()


async def _burst(stack: Stack, link: str, secret: str, base: str) -> list[int]:
    limits = httpx2.Limits(max_connections=CALLERS, max_keepalive_connections=CALLERS)
    headers = {"Authorization": f"Bearer {secret}", "X-Plugboard-Base-Url": base}
    async with httpx2.AsyncClient(base_url=stack.base_url, limits=limits, timeout=30) as client:
        answers = await asyncio.gather(
            *(client.get(f"/proxy/{link}/items/{i}", headers=headers) for i in range(CALLERS))
        )
    return [answer.status_code for answer in answers]


def test_concurrent_callers_reuse_the_upstream_connections(
    stack: Stack, counting: CountingUpstream
) -> None:
    link = key_connection(stack, hosts=[counting.base_url])
    secret = token(stack, "dev")

    first = asyncio.run(_burst(stack, link, secret, counting.base_url))
    opened = counting.connections
    second = asyncio.run(_burst(stack, link, secret, counting.base_url))

    assert first == second == [200] * CALLERS
    # At most one connection per concurrent caller over both bursts: every one stayed alive.
    assert 1 <= opened <= counting.connections <= CALLERS, (
        f"{counting.connections} upstream connections for {CALLERS} concurrent callers "
        f"({counting.connections - opened} opened by the second burst)"
    )
