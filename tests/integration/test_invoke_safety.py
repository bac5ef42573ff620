"""Outbound safety of invoke: hostile dynamic values cannot move the request to another host,
blocked addresses are refused before any connection, redirects are not followed, every request
has a timeout, and idempotent requests alone are retried."""

# ruff: noqa: F811 -- the fixtures imported from invoke_support are pytest parameters here
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from plugboard.domain.credentials import ApiKeyCredential
from plugboard.errors import OutboundBlocked, UpstreamError, ValidationError
from tests.integration.invoke_support import (  # noqa: F401
    World,
    provider,
    running_provider,
    world,
)


def _apikey_connection(world: World, tenant: str = "acme") -> str:
    link = world.connection(world.service("apikey"), link="keys", params={"tenant": tenant})
    world.store(
        link,
        ApiKeyCredential({"X-Api-Key": world.state.api_key, "account": world.state.api_account}),
    )
    return link


def _force_value(world: World, link: str, value: str) -> None:
    """Put a value in the store that connection creation would refuse (as an older version or a
    direct database edit might have), to test the invoke-time defence on its own."""
    with world.runtime.unit() as unit:
        conn = unit.connections.get(unit.workspaces.get("default").id, link)
        unit.connections.update(
            conn, actor_id=None, now=unit.now(), dynamic_values={"tenant": value}
        )


@pytest.mark.parametrize(
    "value", ["evil.com/", "evil.com#", "a@evil.com", "evil.com:443", "..", "a.b", "", "é"]
)
def test_a_hostile_value_in_the_host_is_refused_before_sending(world: World, value: str) -> None:
    link = _apikey_connection(world)
    _force_value(world, link, value)
    with pytest.raises(ValidationError) as raised:
        world.client().invoke_url("/x", connection=link)
    assert raised.value.field == "dynamic_parameters.tenant"
    assert world.state.hits == {}


def test_connection_creation_refuses_a_hostile_value(world: World) -> None:
    with pytest.raises(ValidationError):
        world.connection(world.service("apikey"), link="bad", params={"tenant": "evil.com/x"})


@pytest.mark.parametrize("value", ["../admin", "..", "a/../../b"])
def test_a_value_that_climbs_the_path_is_refused(world: World, value: str) -> None:
    link = _apikey_connection(world)
    url = world.provider.url("/api/apikey/items/{tenant}")
    _force_value(world, link, "acme")
    with world.runtime.unit() as unit:
        conn = unit.connections.get(unit.workspaces.get("default").id, link)
        values = {"tenant": "acme", "x": value}
        unit.connections.update(conn, actor_id=None, now=unit.now(), dynamic_values=values)
    with pytest.raises(ValidationError):
        world.client().invoke_url(url.replace("{tenant}", "{x}"), connection=link)


def test_a_value_in_the_path_is_encoded_and_stays_in_its_segment(world: World) -> None:
    link = _apikey_connection(world)
    with world.runtime.unit() as unit:
        conn = unit.connections.get(unit.workspaces.get("default").id, link)
        unit.connections.update(
            conn, actor_id=None, now=unit.now(), dynamic_values={"tenant": "acme", "x": "a/b?c#d"}
        )
    response = world.client().invoke_url(
        world.provider.url("/api/apikey/items/{x}"), connection=link
    )
    assert response.status == 200
    assert response.json()["host"] == "acme.pbtest-provider.net"
    assert response.json()["raw_path"] == "/api/apikey/items/a%2Fb%3Fc%23d"
    assert response.json()["query"] == ["account"]


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, list[object]]]:
    """A socket on 127.0.0.1 that records every connection made to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            accepted.append(conn)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield sock, accepted
    stop.set()
    thread.join()
    sock.close()


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "10.1.2.3", "169.254.169.254", "[::1]", "2130706433", "0x7f.1"],
)
def test_a_blocked_address_is_refused_without_a_connection(
    world: World, listener: tuple[socket.socket, list[object]], host: str
) -> None:
    sock, accepted = listener
    port = sock.getsockname()[1]
    link = _apikey_connection(world)
    world.runtime.settings = world.runtime.settings.model_copy(update={"outbound_allowlist": ""})
    with pytest.raises(OutboundBlocked):
        world.client().invoke_url(f"http://{host}:{port}/latest/meta-data", connection=link)
    time.sleep(0.05)
    assert accepted == []


def test_a_redirect_is_returned_not_followed(world: World) -> None:
    link = _apikey_connection(world)
    response = world.client().invoke_url(world.provider.url("/redirect"), connection=link)
    assert response.status == 302
    assert response.headers["location"].startswith("https://other.pbtest-provider.net")


def test_a_request_that_gets_no_answer_times_out(
    world: World, listener: tuple[socket.socket, list[object]]
) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts into the backlog, never answers
    try:
        base = f"http://127.0.0.1:{silent.getsockname()[1]}"
        service = world.service("apikey", link="silent_api", base_url=base)
        link = world.connection(service, link="silent")
        world.store(link, ApiKeyCredential({"X-Api-Key": "k", "account": "a"}))
        started = time.monotonic()
        with pytest.raises(UpstreamError) as raised:
            world.client().invoke_url(f"{base}/slow", connection=link, timeout=0.3)
        assert time.monotonic() - started < 2
        assert "ReadTimeout" in raised.value.message
    finally:
        silent.close()


def test_an_idempotent_request_is_retried_on_503(world: World) -> None:
    link = _apikey_connection(world)
    world.state.flaky["a"] = 2
    response = world.client().invoke_url(world.provider.url("/flaky/a"), connection=link)
    assert response.status == 200
    assert world.state.hits["a"] == 3


def test_an_idempotent_request_is_retried_on_429(world: World) -> None:
    link = _apikey_connection(world)
    world.state.flaky["429b"] = 1
    response = world.client().invoke_url(world.provider.url("/flaky/429b"), connection=link)
    assert response.status == 200
    assert world.state.hits["429b"] == 2


def test_a_post_is_never_retried(world: World) -> None:
    link = _apikey_connection(world)
    world.state.flaky["c"] = 1
    response = world.client().invoke_url(world.provider.url("/flaky/c"), "POST", connection=link)
    assert response.status == 503
    assert world.state.hits["c"] == 1


def test_retries_stop_at_the_attempt_limit(world: World) -> None:
    link = _apikey_connection(world)
    world.state.flaky["d"] = 10
    response = world.client().invoke_url(world.provider.url("/flaky/d"), connection=link)
    assert response.status == 503
    assert world.state.hits["d"] == 3  # the default: 3 attempts


def test_a_call_can_turn_retries_off(world: World) -> None:
    link = _apikey_connection(world)
    world.state.flaky["e"] = 1
    response = world.client().invoke_url(
        world.provider.url("/flaky/e"), connection=link, max_attempts=1
    )
    assert response.status == 503
    assert world.state.hits["e"] == 1
