from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence

import anyio
import httpx2
import pytest

from plugboard.auth.outbound import (
    AsyncGuardedTransport,
    GuardedTransport,
    OutboundPolicy,
    async_guarded_client,
    guarded_client,
)
from plugboard.errors import ConfigurationError, OutboundBlocked

PUBLIC = "93.184.216.34"


def resolver(table: dict[str, Sequence[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise socket.gaierror("no such host")
        return table[host]

    return resolve


def recording_client(policy: OutboundPolicy) -> tuple[httpx2.Client, list[httpx2.Request]]:
    calls: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        return httpx2.Response(200)

    transport = GuardedTransport(httpx2.MockTransport(handler), policy)
    return httpx2.Client(transport=transport), calls


BLOCKED_URLS = {
    "loopback": "http://127.0.0.1/",
    "loopback-ipv6": "http://[::1]:8080/",
    "ipv4-mapped-ipv6": "http://[::ffff:127.0.0.1]/",
    "decimal-ipv4": "http://2130706433/",
    "hex-ipv4": "http://0x7f.1/",
    "rfc1918-10": "http://10.1.2.3/",
    "rfc1918-172": "https://172.16.0.1/",
    "rfc1918-192": "http://192.168.1.1/",
    "ula": "http://[fd12:3456::1]/",
    "link-local": "http://169.254.10.10/",
    "link-local-ipv6": "http://[fe80::1]/",
    "aws-metadata": "http://169.254.169.254/latest/meta-data/",
    "aws-metadata-ipv6": "http://[fd00:ec2::254]/",
    "alibaba-metadata": "http://100.100.100.200/",
    "gcp-metadata-name": "http://metadata.google.internal/",
    "cgnat": "http://100.64.1.1/",
    "unspecified": "http://0.0.0.0/",
    "multicast": "http://224.0.0.1/",
    "reserved": "http://240.0.0.1/",
    "nat64-loopback": "http://[64:ff9b::7f00:1]/",
    "name-resolving-to-private": "https://intranet.example.com/",
    "name-with-one-private-address": "https://mixed.example.com/",
}
TABLE = {
    "intranet.example.com": ["10.0.0.5"],
    "mixed.example.com": [PUBLIC, "192.168.0.7"],
    "api.example.com": [PUBLIC, "2606:2800:220:1::1"],
}


@pytest.mark.parametrize("name", sorted(BLOCKED_URLS))
def test_blocked_address_is_refused_before_the_inner_transport(name: str) -> None:
    client, calls = recording_client(OutboundPolicy(resolver=resolver(TABLE)))
    with client, pytest.raises(OutboundBlocked):
        client.get(BLOCKED_URLS[name])
    assert calls == []


def test_public_address_passes() -> None:
    client, calls = recording_client(OutboundPolicy(resolver=resolver(TABLE)))
    with client:
        assert client.get("https://api.example.com/v1").status_code == 200
    assert len(calls) == 1


def test_octal_ipv4_is_refused_by_the_policy() -> None:
    with pytest.raises(OutboundBlocked, match="loopback"):
        OutboundPolicy().check_url("http://0177.0.0.1/")


def test_octal_ipv4_never_reaches_the_transport() -> None:
    client, calls = recording_client(OutboundPolicy())
    with client, pytest.raises((OutboundBlocked, httpx2.InvalidURL)):
        client.get("http://0177.0.0.1/")
    assert calls == []


@pytest.mark.parametrize("url", ["ftp://api.example.com/", "file:///etc/passwd", "gopher://x/"])
def test_non_http_schemes_are_refused(url: str) -> None:
    with pytest.raises(OutboundBlocked, match="scheme"):
        OutboundPolicy(resolver=resolver(TABLE)).check_url(url)


def test_allowlisted_host_passes_although_it_resolves_privately() -> None:
    policy = OutboundPolicy(["intranet.example.com"], resolver=resolver(TABLE))
    client, calls = recording_client(policy)
    with client:
        assert client.get("https://intranet.example.com/").status_code == 200
    assert len(calls) == 1


def test_allowlisted_cidr_passes() -> None:
    policy = OutboundPolicy(["10.0.0.0/8"], resolver=resolver(TABLE))
    client, calls = recording_client(policy)
    with client:
        assert client.get("https://intranet.example.com/").status_code == 200
    assert len(calls) == 1


def test_allowlisted_cidr_does_not_open_other_private_ranges() -> None:
    policy = OutboundPolicy(["10.0.0.0/8"], resolver=resolver(TABLE))
    with pytest.raises(OutboundBlocked):
        policy.check_url("https://mixed.example.com/")


def test_allowlist_is_parsed_from_the_environment_value() -> None:
    env = {"PLUGBOARD_OUTBOUND_ALLOWLIST": " intranet.example.com , 192.168.0.0/16,,fd00::/8 "}
    policy = OutboundPolicy.from_env(env)
    assert policy.allowed_hosts == {"intranet.example.com"}
    assert [str(n) for n in policy.allowed_networks] == ["192.168.0.0/16", "fd00::/8"]


def test_invalid_allowlist_entry_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        OutboundPolicy(["http://example.com/"])


def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(OutboundBlocked, match="unresolvable"):
        OutboundPolicy(resolver=resolver({})).check_url("https://nowhere.example/")


def test_refusal_names_host_and_rule_but_not_the_query() -> None:
    client, _ = recording_client(OutboundPolicy(resolver=resolver(TABLE)))
    with client, pytest.raises(OutboundBlocked) as caught:
        client.get("https://intranet.example.com/x?api_key=SECRET123")
    message = str(caught.value)
    assert "intranet.example.com" in message and "private" in message
    assert "SECRET123" not in message and "api_key" not in message


def test_async_guarded_transport_refuses_before_the_inner_transport() -> None:
    calls: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        return httpx2.Response(200)

    async def go() -> None:
        transport = AsyncGuardedTransport(httpx2.MockTransport(handler), OutboundPolicy())
        async with httpx2.AsyncClient(transport=transport) as client:
            with pytest.raises(OutboundBlocked):
                await client.get("http://[::1]/")

    anyio.run(go)
    assert calls == []


# --- a real listener on 127.0.0.1 -------------------------------------------------------------


class Listener:
    """A tiny HTTP server that counts accepted connections."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.sock.close()
        self._thread.join(timeout=5)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def test_guarded_client_never_connects_to_a_blocked_listener(listener: Listener) -> None:
    with guarded_client(OutboundPolicy()) as client, pytest.raises(OutboundBlocked):
        client.get(f"http://127.0.0.1:{listener.port}/")
    assert listener.accepted == 0


def test_guarded_client_reaches_an_allowlisted_listener(listener: Listener) -> None:
    with guarded_client(OutboundPolicy(["127.0.0.0/8"])) as client:
        assert client.get(f"http://127.0.0.1:{listener.port}/").text == "ok"
    assert listener.accepted == 1


class Rebinding:
    """A name that answers a public address first and loopback afterwards."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls += 1
        return [PUBLIC] if self.calls == 1 else ["127.0.0.1"]


# With no DNS cache the connect resolves again and checks that answer; with one (the default)
# it connects to the remembered, checked address (tests/unit/auth/test_outbound_dns_cache.py).
def test_dns_rebinding_between_check_and_connect_is_refused(listener: Listener) -> None:
    policy = OutboundPolicy(resolver=Rebinding(), dns_cache_seconds=0)
    with guarded_client(policy) as client, pytest.raises(OutboundBlocked, match="loopback"):
        client.get(f"http://rebind.example:{listener.port}/")
    assert listener.accepted == 0


def test_async_dns_rebinding_between_check_and_connect_is_refused(listener: Listener) -> None:
    async def go() -> None:
        policy = OutboundPolicy(resolver=Rebinding(), dns_cache_seconds=0)
        async with async_guarded_client(policy) as client:
            with pytest.raises(OutboundBlocked, match="loopback"):
                await client.get(f"http://rebind.example:{listener.port}/")

    anyio.run(go)
    assert listener.accepted == 0


def test_connect_uses_the_checked_address(listener: Listener) -> None:
    policy = OutboundPolicy(
        ["pinned.example"], resolver=resolver({"pinned.example": ["127.0.0.1"]})
    )
    with guarded_client(policy) as client:
        assert client.get(f"http://pinned.example:{listener.port}/").text == "ok"
    assert listener.accepted == 1


def test_guarded_client_does_not_follow_redirects() -> None:
    with guarded_client(OutboundPolicy()) as client:
        assert client.follow_redirects is False
