"""The invoke resolution cache at its default TTL (1 s): a change made in this process reaches
the next invoke of this process at once, and concurrent first invokes of one connection make
one store read (SPEC §7; issue 14)."""

# ruff: noqa: F811 -- the fixtures imported from invoke_support are pytest parameters here
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from plugboard.domain.credentials import BasicCredential
from plugboard.domain.principal import OPERATOR
from plugboard.errors import AuthorizationRequired, NotFound
from plugboard.server.errors import STATUS
from plugboard.usecases import authorizations as authorization_usecases
from tests.integration.invoke_support import (  # noqa: F401
    Provider,
    World,
    invoke_settings,
    provider,
    running_provider,
    seed_workspace,
)


@pytest.fixture
def cached_world(
    settings: Any, database: Any, keyring: Any, clock: Any, provider: Provider
) -> Iterator[World]:
    """The invoke tests' world, with the resolution cache at its default instead of off."""
    from plugboard.crypto.sealing import Sealer
    from plugboard.settings import Settings
    from plugboard.usecases.runtime import Runtime

    default = Settings.model_fields["invoke_cache_seconds"].default
    assert default == 1.0
    runtime = Runtime(
        settings=invoke_settings(settings, invoke_cache_seconds=default),
        database=database,
        sealer=Sealer(keyring),
        clock=clock,
    )
    with runtime.unit() as unit:
        members = seed_workspace(unit)
    world = World(runtime, provider, members)
    yield world
    world.close()


def _connected(world: World, link: str = "billing") -> str:
    link = world.connection(world.service("basic"), link=link)
    world.store(link, BasicCredential(world.state.basic_user, world.state.basic_password))
    return link


def test_a_revoke_through_the_client_stops_the_next_invoke_at_once(cached_world: World) -> None:
    link = _connected(cached_world)
    pb = cached_world.client()
    assert pb.invoke_url("/x", connection=link).status == 200  # now cached for 1 s
    pb.authorizations.revoke(link)
    with pytest.raises(AuthorizationRequired) as raised:
        pb.invoke_url("/x", connection=link)
    assert STATUS[type(raised.value)] == 424  # what the REST API answers
    assert raised.value.reason.startswith("the authorization was revoked")


def test_a_revoke_in_its_own_transaction_stops_invokes_of_every_client(
    cached_world: World,
) -> None:
    link = _connected(cached_world)
    first, second = cached_world.client(), cached_world.client()
    assert first.invoke_url("/x", connection=link).status == 200
    assert second.invoke_url("/x", connection=link).status == 200
    with cached_world.runtime.unit() as unit:  # as the CLI revokes: the usecase in a unit
        authorization_usecases.revoke(unit, OPERATOR, connection=link)
    for pb in (first, second):
        with pytest.raises(AuthorizationRequired):
            pb.invoke_url("/x", connection=link)


def test_async_invokes_stop_at_once_too(cached_world: World) -> None:
    link = _connected(cached_world)
    pb = cached_world.client()

    async def go() -> None:
        assert (await pb.invoke_url_async("/x", connection=link)).status == 200
        pb.authorizations.revoke(link)
        with pytest.raises(AuthorizationRequired):
            await pb.invoke_url_async("/x", connection=link)
        await pb.invoker.aclose()

    asyncio.run(go())


def test_a_new_credential_is_used_by_the_next_invoke(cached_world: World) -> None:
    link = _connected(cached_world)
    pb = cached_world.client()
    assert pb.invoke_url("/x", connection=link).status == 200
    wrong = BasicCredential(cached_world.state.basic_user, "wrong-password-123")
    with cached_world.runtime.unit() as unit:
        authorization_usecases.link_credential(
            unit, OPERATOR, connection=link, credential=wrong, environments=[]
        )
    assert pb.invoke_url("/x", connection=link).status == 401


def test_without_a_change_the_cache_still_serves(cached_world: World) -> None:
    link = _connected(cached_world)
    pb = cached_world.client()
    assert pb.invoke_url("/x", connection=link).status == 200
    with _counting(cached_world) as statements:
        assert pb.invoke_url("/x", connection=link).status == 200
    assert statements == []


class _counting:
    """Every SQL statement the store runs while the block runs."""

    def __init__(self, world: World) -> None:
        self._engine = world.runtime.database.engine
        self._lock = threading.Lock()
        self.statements: list[str] = []

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        with self._lock:
            self.statements.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self._engine, "before_cursor_execute", self._record)
        return self.statements

    def __exit__(self, *exc: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._record)


def test_250_concurrent_first_resolutions_make_one_store_read(cached_world: World) -> None:
    link = _connected(cached_world)
    one, many = cached_world.client(), cached_world.client()
    with _counting(cached_world) as single:
        one.invoker.entry(one.principal, link)
    assert single  # a resolution reads the store
    barrier = threading.Barrier(250)
    results: list[Any] = []

    def call() -> None:
        barrier.wait(timeout=30)
        results.append(many.invoker.entry(many.principal, link))

    threads = [threading.Thread(target=call) for _ in range(250)]
    with _counting(cached_world) as burst:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert len(results) == 250 and len({id(r) for r in results}) == 1
    assert len(burst) == len(single)  # one resolution's statements, not 250


def test_concurrent_first_async_invokes_make_one_store_read(cached_world: World) -> None:
    link = _connected(cached_world)
    probe, pb = cached_world.client(), cached_world.client()
    with _counting(cached_world) as single:
        probe.invoker.entry(probe.principal, link)

    async def go() -> list[int]:
        calls = [pb.invoke_url_async("/x", connection=link) for _ in range(100)]
        statuses = [r.status for r in await asyncio.gather(*calls)]
        await pb.invoker.aclose()
        return statuses

    with _counting(cached_world) as burst:
        statuses = asyncio.run(go())
    assert statuses == [200] * 100
    assert len(burst) == len(single)


def test_a_refused_resolution_is_shared_by_the_waiters_each_raising(cached_world: World) -> None:
    link = cached_world.connection(cached_world.service("basic"), link="unauthorized")
    pb = cached_world.client()
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def call() -> None:
        barrier.wait(timeout=30)
        try:
            pb.invoker.entry(pb.principal, link)
        except AuthorizationRequired as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(errors) == 20
    assert all(e.reason == "not authorized yet" for e in errors)


def test_a_deleted_connection_is_not_invoked_any_more(cached_world: World) -> None:
    link = _connected(cached_world)
    pb = cached_world.client()
    assert pb.invoke_url("/x", connection=link).status == 200
    pb.connections.delete(link)
    with pytest.raises(NotFound):
        pb.invoke_url("/x", connection=link)


def test_sigv4_invokes_in_a_hot_loop_each_carry_a_valid_signature(cached_world: World) -> None:
    from plugboard.domain.credentials import AwsCredential

    state = cached_world.state
    service = cached_world.service("sigv4")
    link = cached_world.connection(
        service, link="aws", params={"tenant": "acme", "region": state.aws_region}
    )
    cached_world.store(link, AwsCredential(state.aws_access_key, state.aws_secret_key))
    pb = cached_world.client()
    url = cached_world.provider.url("/api/sigv4/items/{tenant}")
    # The plan reuses a signature within its second: the provider checks every one.
    responses = [pb.invoke_url(url, connection=link) for _ in range(20)]
    assert [r.status for r in responses] == [200] * 20, responses[-1].text
    assert all(r.json()["path"] == "/api/sigv4/items/acme" for r in responses)
