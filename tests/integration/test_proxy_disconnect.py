"""A caller that goes away mid-stream from /proxy costs one info log line, not a traceback."""

# ruff: noqa: F811 -- the `upstream` fixture imported from remote_support is a pytest parameter
from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from tests.integration.remote_support import (  # noqa: F401
    CHUNK,
    Upstream,
    key_connection,
    token,
    upstream,
)
from tests.stack import Stack


def _raw_request(stack: Stack, head: str, body: bytes = b"") -> socket.socket:
    parts = urlsplit(stack.base_url)
    sock = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10)
    sock.sendall(head.encode() + body)
    return sock


def _head(stack: Stack, method: str, path: str, upstream: Upstream, extra: str = "") -> str:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: plugboard\r\n"
        f"Authorization: Bearer {token(stack, 'dev')}\r\n"
        f"X-Plugboard-Base-Url: {upstream.base_url}\r\n{extra}\r\n"
    )


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Warnings and tracebacks of Plugboard's server. The test upstream's own server is left out:
    when Plugboard drops the upstream request, asyncio there warns about writes to the closed
    socket."""
    return [
        r
        for r in caplog.records
        if (r.exc_info or r.levelno >= logging.WARNING) and r.threadName != "plugboard-upstream"
    ]


def test_a_caller_that_disconnects_mid_response_is_one_info_line(
    stack: Stack, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    caplog.set_level(logging.INFO)
    sock = _raw_request(stack, _head(stack, "GET", f"/proxy/{link}/big", upstream))
    received = b""
    while len(received) < 4 * CHUNK:  # bounded: a closed socket or 10 s of silence ends it
        chunk = sock.recv(CHUNK)
        assert chunk, f"the proxy closed after {len(received)} bytes: {received[:300]!r}"
        received += chunk
    sock.close()
    upstream.release.set()
    _wait_for(lambda: any("disconnected" in r.getMessage() for r in caplog.records))
    time.sleep(0.3)

    assert _problems(caplog) == []
    lines = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO


def test_a_caller_that_disconnects_mid_upload_is_one_info_line(
    stack: Stack, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    caplog.set_level(logging.INFO)
    size = 4 * 1024 * 1024
    head = _head(stack, "PUT", f"/proxy/{link}/upload", upstream, f"Content-Length: {size}\r\n")
    sock = _raw_request(stack, head, b"x" * (512 * 1024))
    _wait_for(upstream.first_bytes_in.is_set)
    sock.close()
    _wait_for(lambda: any("disconnected" in r.getMessage() for r in caplog.records))
    time.sleep(0.3)

    assert _problems(caplog) == []
    lines = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO
