"""A slow or greedy client cannot hold `plugboard serve`: header deadline, body idle timeout,
431 for oversized headers, each one info line; and the access log holds no query values.

One real `plugboard serve` process (SQLite) with two-second limits serves the whole module.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest

from tests.cli_inprocess import plugboard_in_process

PLUGBOARD = [sys.executable, "-m", "plugboard.cli"]
HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
MAX_HEADER_BYTES = 4096


@dataclass
class Served:
    host: str
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=10)

    def log_since(self, mark: int, needle: str, seconds: float = 5.0) -> list[str]:
        """The server's output lines after ``mark``, once one of them holds ``needle``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            lines = self.lines[mark:]
            if any(needle in line for line in lines):
                return lines
            time.sleep(0.02)
        raise AssertionError(f"no log line with {needle!r} in {self.lines[mark:]!r}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home: Path = tmp_path_factory.mktemp("slow-clients-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env |= {
        "PLUGBOARD_HOME": str(home),
        "PLUGBOARD_REQUEST_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "PLUGBOARD_REQUEST_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "PLUGBOARD_MAX_REQUEST_HEADER_BYTES": str(MAX_HEADER_BYTES),
        "PYTHONUNBUFFERED": "1",
    }
    # The scene, in this process (tests/cli_inprocess.py); `serve`, the subject, is a process.
    initialized = plugboard_in_process(["init"], env)
    assert initialized.returncode == 0, initialized.stderr
    result = Served("127.0.0.1", _free_port())
    process = subprocess.Popen(
        [*PLUGBOARD, "serve", "--port", str(result.port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    stdout = process.stdout

    def collect() -> None:
        for line in stdout:
            result.lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(f"{result.base_url}/health", timeout=1)
                break
            except httpx2.TransportError:
                assert process.poll() is None, "\n".join(result.lines)
                assert time.monotonic() < deadline, "plugboard serve did not start"
                time.sleep(0.1)
        yield result
    finally:
        process.terminate()
        process.wait(timeout=10)
        reader.join(timeout=5)
        stdout.close()
    assert not any("Traceback" in line for line in result.lines), "\n".join(result.lines)


def _answer(sock: socket.socket, seconds: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(seconds)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _one_response(sock: socket.socket) -> bytes:
    """One whole response (with a Content-Length) on a connection that stays open."""
    sock.settimeout(10)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {received!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_a_client_that_stalls_in_its_headers_is_answered_408_and_disconnected(
    served: Served,
) -> None:
    mark = len(served.lines)
    with served.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: plugboard\r\n")
        response = _answer(sock)
        waited = time.monotonic() - started
    assert _status(response) == 408
    assert HEADER_TIMEOUT * 0.9 <= waited < HEADER_TIMEOUT + 5
    lines = served.log_since(mark, "answered 408")
    assert any(f"no complete headers within {HEADER_TIMEOUT:g} s" in line for line in lines)


def test_a_client_that_connects_and_sends_nothing_is_disconnected(served: Served) -> None:
    with served.connect() as sock:
        response = _answer(sock)
    assert _status(response) == 408


def test_a_client_that_trickles_header_bytes_cannot_extend_the_deadline(served: Served) -> None:
    request = b"GET /health HTTP/1.1\r\nHost: plugboard\r\nX-Slow: " + b"a" * 200
    with served.connect() as sock:
        started = time.monotonic()
        closed = False
        for byte in request:  # one byte every 50 ms: 10 s for the whole request if allowed
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.05)
            if time.monotonic() - started > HEADER_TIMEOUT + 1:
                break
        response = b"" if closed else _answer(sock)
    assert closed or _status(response) == 408
    assert time.monotonic() - started < HEADER_TIMEOUT + 5


def test_a_stalled_client_does_not_hold_the_server_for_others(served: Served) -> None:
    stalled = [served.connect() for _ in range(20)]
    try:
        for sock in stalled:
            sock.sendall(b"POST /api/v1/session HTTP/1.1\r\nHost: plugboard\r\n")
        started = time.monotonic()
        response = httpx2.get(f"{served.base_url}/health", timeout=5)
        assert response.status_code == 200
        assert time.monotonic() - started < HEADER_TIMEOUT
    finally:
        for sock in stalled:
            sock.close()


def test_a_body_paused_longer_than_the_body_timeout_is_answered_408(served: Served) -> None:
    mark = len(served.lines)
    head = (
        b"POST /api/v1/session HTTP/1.1\r\nHost: plugboard\r\n"
        b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    )
    with served.connect() as sock:
        sock.sendall(head + b'{"email": ')
        started = time.monotonic()
        response = _answer(sock)
        waited = time.monotonic() - started
    assert _status(response) == 408
    assert BODY_TIMEOUT * 0.9 <= waited < BODY_TIMEOUT + 5
    lines = served.log_since(mark, "answered 408")
    assert any(f"request body paused over {BODY_TIMEOUT:g} s" in line for line in lines)


def test_a_slow_body_without_long_pauses_is_served(served: Served) -> None:
    body = b'{"email": "nobody@example.test", "password": "not-the-password"}'
    head = (
        b"POST /api/v1/session HTTP/1.1\r\nHost: plugboard\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
    )
    with served.connect() as sock:
        sock.sendall(head)
        started = time.monotonic()
        for start in range(0, len(body), len(body) // 4 + 1):  # 4 pieces, 0.4 s apart
            time.sleep(BODY_TIMEOUT * 0.4)
            sock.sendall(body[start : start + len(body) // 4 + 1])
        response = _answer(sock)
    assert time.monotonic() - started > BODY_TIMEOUT  # longer in all than one pause may be
    assert _status(response) == 401


def test_headers_over_the_limit_are_answered_431_and_disconnected(served: Served) -> None:
    mark = len(served.lines)
    with served.connect() as sock:
        sock.sendall(
            b"GET /health HTTP/1.1\r\nHost: plugboard\r\nX-Big: "
            + b"b" * MAX_HEADER_BYTES
            + b"\r\n\r\n"
        )
        response = _answer(sock)
    assert _status(response) == 431
    lines = served.log_since(mark, "answered 431")
    assert any(f"headers over {MAX_HEADER_BYTES} bytes" in line for line in lines)


def test_headers_under_the_limit_are_served(served: Served) -> None:
    response = httpx2.get(
        f"{served.base_url}/health", headers={"X-Big": "b" * (MAX_HEADER_BYTES - 500)}, timeout=5
    )
    assert response.status_code == 200


def test_a_kept_alive_connection_serves_requests_after_an_idle_pause(served: Served) -> None:
    request = b"GET /health HTTP/1.1\r\nHost: plugboard\r\n\r\n"
    with served.connect() as sock:
        for _ in range(2):
            sock.sendall(request)
            assert _status(_one_response(sock)) == 200
            time.sleep(HEADER_TIMEOUT * 1.5)  # idle between requests is the keep-alive's business


def test_the_access_log_never_holds_oauth_codes_or_states(served: Served) -> None:
    mark = len(served.lines)
    code, state = "c0de-Secret-4f9a", "st4te-Secret-77b1"
    httpx2.get(f"{served.base_url}/oauth/callback?code={code}&state={state}", timeout=5)
    lines = served.log_since(mark, "/oauth/callback")
    assert any("/oauth/callback?code=[redacted]&state=[redacted]" in line for line in lines)
    assert not any(code in line or state in line for line in served.lines)
