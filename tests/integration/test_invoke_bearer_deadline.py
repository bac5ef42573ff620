"""On the system clock an OAuth 2 invoke compares a monotonic deadline (the token's expiry less
the refresh skew, worked out at resolution) instead of reading the wall clock per request: a
token that goes stale while its resolution is still cached is refreshed before the next
request, and one that is not stale yet is sent as it is."""

# ruff: noqa: F811 -- the fixtures imported from invoke_support are pytest parameters here
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from plugboard.crypto.sealing import Sealer
from plugboard.domain.clock import SystemClock
from plugboard.usecases.runtime import Runtime
from tests.integration.invoke_support import (  # noqa: F401
    Provider,
    World,
    invoke_settings,
    provider,
    running_provider,
    seed_workspace,
)

SKEW = 60.0


@pytest.fixture
def system_world(settings: Any, database: Any, keyring: Any, provider: Provider) -> Iterator[World]:
    """A world on the system clock whose resolutions stay cached for the whole test."""
    runtime = Runtime(
        settings=invoke_settings(settings, invoke_cache_seconds=300.0, refresh_skew_seconds=SKEW),
        database=database,
        sealer=Sealer(keyring),
        clock=SystemClock(),
    )
    with runtime.unit() as unit:
        members = seed_workspace(unit)
    world = World(runtime, provider, members)
    yield world
    world.close()


def _link(world: World, stale_in: float) -> str:
    link = world.connection(world.service("oauth2"), link="crm")
    expires_at = datetime.now(UTC) + timedelta(seconds=SKEW + stale_in)
    world.store(link, world.oauth2_credential(), expires_at=expires_at)
    return link


def test_a_cached_token_that_becomes_stale_is_refreshed_before_the_next_request(
    system_world: World,
) -> None:
    link = _link(system_world, stale_in=1.0)
    pb = system_world.client()
    assert pb.invoke_url("/me", connection=link).status == 200
    assert system_world.state.token_calls == 0  # fresh: sent as it is
    time.sleep(1.3)  # past the deadline; the resolution is still cached
    assert pb.invoke_url("/me", connection=link).status == 200
    assert system_world.state.token_calls == 1


def test_a_cached_token_before_its_deadline_is_sent_without_a_refresh(
    system_world: World,
) -> None:
    link = _link(system_world, stale_in=600.0)
    pb = system_world.client()
    for _ in range(3):
        assert pb.invoke_url("/me", connection=link).status == 200
    assert system_world.state.token_calls == 0


def test_a_stale_token_is_refreshed_before_the_first_request(system_world: World) -> None:
    link = _link(system_world, stale_in=-5.0)  # within the skew already
    assert system_world.client().invoke_url("/me", connection=link).status == 200
    assert system_world.state.token_calls == 1
