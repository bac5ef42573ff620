"""The proxy on the stack `plugboard serve` runs: served_app (``/proxy`` dispatched before the
FastAPI app) on uvicorn with server_config (the guarded httptools protocol whose writes are
gathered per loop turn), in a thread of this process."""

# ruff: noqa: F811 -- the `upstream` fixture imported from remote_support is a pytest parameter
from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx2
import pytest
import uvicorn

from plugboard.server.app import create_app, served_app
from plugboard.server.serving import server_config
from tests.integration.remote_support import (  # noqa: F401
    Upstream,
    big_body,
    key_connection,
    token,
    upstream,
)
from tests.stack import Stack


@pytest.fixture
def served(stack: Stack) -> Iterator[str]:
    settings = stack.runtime.settings
    config = server_config(
        served_app(create_app(settings, runtime=stack.runtime)), settings, "127.0.0.1", 0
    )
    config.log_level = "warning"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _client(stack: Stack, served: str) -> httpx2.Client:
    client = httpx2.Client(
        base_url=served, timeout=20, headers={"Authorization": f"Bearer {token(stack, 'dev')}"}
    )
    stack.clients.append(client)
    return client


def test_small_answers_and_problems_come_back_whole_on_one_connection(
    stack: Stack, upstream: Upstream, served: str
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    base = {"X-Plugboard-Base-Url": upstream.base_url}
    client = _client(stack, served)
    for i in range(20):
        answer = client.post(f"/proxy/{link}/echo?i={i}", headers=base, content=b"hello")
        assert answer.status_code == 200 and answer.json()["body"] == "hello", answer.text
    missing = client.get("/proxy/nosuch/x", headers=base)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert client.get("/health").status_code == 200


def test_a_large_answer_streams_through_whole(
    stack: Stack, upstream: Upstream, served: str
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    upstream.release.set()
    digest = hashlib.sha256()
    with _client(stack, served).stream(
        "GET", f"/proxy/{link}/big", headers={"X-Plugboard-Base-Url": upstream.base_url}
    ) as answer:
        for chunk in answer.iter_raw():
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(big_body()).hexdigest()
