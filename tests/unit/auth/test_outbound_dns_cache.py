"""The outbound guard remembers checked addresses (PLUGBOARD_DNS_CACHE_SECONDS): a literal
address for good, a name for the TTL; the connection always goes to an address that was
checked, and the async guard needs no worker thread for what it remembers. Loopback only."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence

import anyio
import anyio.to_thread
import pytest

from plugboard.auth.outbound import OutboundPolicy, async_guarded_client, guarded_client
from plugboard.errors import OutboundBlocked
from plugboard.settings import Settings
from plugboard.usecases.runtime import Runtime


class Answers:
    """A resolver that answers from a list, one answer per call, and counts the calls."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self._answers = list(answers)
        self.calls = 0

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls += 1
        return self._answers[min(self.calls, len(self._answers)) - 1]


class Listener:
    """An HTTP server on 127.0.0.1 that answers ok and counts connections."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.sock.close()


# 127.0.0.1 is allowed, 127.0.0.2 is not: a name that "rebinds" from one to the other.
ALLOW = ["127.0.0.1/32"]


def test_a_name_is_resolved_once_within_the_ttl_and_again_after() -> None:
    answers = Answers(["127.0.0.1"])
    policy = OutboundPolicy(ALLOW, resolver=answers, dns_cache_seconds=0.2)
    first = policy.check_url("http://api.example:8080/a")
    assert policy.check_url("http://api.example:8080/b") == first
    assert policy.allowed_addresses("api.example", 8080) == first  # the connect-time check
    assert answers.calls == 1
    time.sleep(0.25)
    policy.check_url("http://api.example:8080/c")
    assert answers.calls == 2


def test_no_cache_resolves_every_time() -> None:
    answers = Answers(["127.0.0.1"])
    policy = OutboundPolicy(ALLOW, resolver=answers, dns_cache_seconds=0)
    for _ in range(3):
        policy.check_url("http://api.example/")
    assert answers.calls == 3
    assert policy.checked_url("http://api.example/") is None  # would need a resolution


def test_the_connection_goes_to_the_checked_address_not_the_rebound_one(
    listener: Listener,
) -> None:
    answers = Answers(["127.0.0.1"], ["127.0.0.2"])
    policy = OutboundPolicy(ALLOW, resolver=answers, dns_cache_seconds=30)
    with guarded_client(policy) as client:
        assert client.get(f"http://rebind.example:{listener.port}/").text == "ok"
    assert answers.calls == 1  # the connect did not ask again: it used the checked answer
    assert listener.accepted == 1


def test_a_refusal_is_not_remembered() -> None:
    answers = Answers(["127.0.0.2"], ["127.0.0.1"])
    policy = OutboundPolicy(ALLOW, resolver=answers, dns_cache_seconds=30)
    with pytest.raises(OutboundBlocked, match="loopback"):
        policy.check_url("http://flaky.example/")
    assert [str(a) for a in policy.check_url("http://flaky.example/")] == ["127.0.0.1"]
    assert answers.calls == 2


def test_a_literal_address_is_checked_without_a_resolver_or_a_thread(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = Answers(["127.0.0.1"])
    policy = OutboundPolicy(ALLOW, resolver=answers)
    hops = 0
    real = anyio.to_thread.run_sync

    async def counting(*args: object, **kwargs: object) -> object:
        nonlocal hops
        hops += 1
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)

    async def go() -> None:
        async with async_guarded_client(policy) as client:
            response = await client.get(f"http://127.0.0.1:{listener.port}/")
            assert response.text == "ok"

    anyio.run(go)
    assert hops == 0 and answers.calls == 0
    assert listener.accepted == 1
    with pytest.raises(OutboundBlocked, match="loopback"):
        policy.check_url("http://127.0.0.2/")  # a blocked literal is still refused


def test_the_async_guard_resolves_a_name_in_a_thread_once_then_remembers(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = Answers(["127.0.0.1"])
    policy = OutboundPolicy(ALLOW, resolver=answers, dns_cache_seconds=30)
    hops = 0
    real = anyio.to_thread.run_sync

    async def counting(*args: object, **kwargs: object) -> object:
        nonlocal hops
        hops += 1
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)

    async def go() -> None:
        async with async_guarded_client(policy) as client:
            for _ in range(3):
                response = await client.get(f"http://named.example:{listener.port}/")
                assert response.text == "ok"

    anyio.run(go)
    assert hops == 1 and answers.calls == 1


def test_the_setting_reaches_the_process_outbound_stack() -> None:
    assert Settings().dns_cache_seconds == 5
    runtime = Runtime(settings=Settings(dns_cache_seconds=1.5), database=None, sealer=None)  # type: ignore[arg-type]
    assert runtime.outbound.policy.dns_cache_seconds == 1.5
