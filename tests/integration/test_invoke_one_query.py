"""A resolution cache miss reads the store with one joined SELECT (store/resolution.py): the
workspace, the connection, its candidate authorizations with their accounts, the custom service
and its client registration. Acting for another member (``as_user``) adds the member lookup and
that member's own authorization; nothing else does in these cases."""

# ruff: noqa: F811 -- the fixtures imported from invoke_support are pytest parameters here
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from plugboard.domain.credentials import BasicCredential
from plugboard.errors import AuthorizationRequired, NotFound
from tests.integration.invoke_support import (  # noqa: F401
    World,
    provider,
    running_provider,
    world,
)
from tests.support import snapshot


@contextmanager
def statements(world: World) -> Iterator[list[str]]:
    """The statements run meanwhile, without SQLite's BEGIN (every transaction's)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            seen.append(statement)

    engine = world.runtime.database.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _basic(world: World) -> BasicCredential:
    return BasicCredential(world.state.basic_user, world.state.basic_password)


def _resolver(world: World, as_member: str | None = None) -> Any:
    """What resolves for the client (the test's cache TTL is 0: each call is a miss)."""
    pb = world.client(as_member=as_member)
    return lambda link, **options: pb.invoker.entry(pb.principal, link, **options)


def test_a_shared_connection_resolves_in_one_query(world: World) -> None:
    link = world.connection(world.service("basic"), link="billing")
    world.store(link, _basic(world))
    resolve = _resolver(world)
    with statements(world) as seen:
        entry = resolve(link)
    assert len(seen) == 1 and entry.resolved.connection.link_name == link


def test_an_oauth2_connection_resolves_in_one_query(world: World) -> None:
    link = world.connection(world.service("oauth2"), link="crm")
    world.store(link, world.oauth2_credential())
    resolve = _resolver(world)
    with statements(world) as seen:
        entry = resolve(link, environment="production")
    assert len(seen) == 1 and entry.resolved.oauth_client_id is not None


def test_a_members_own_user_level_authorization_resolves_in_one_query(world: World) -> None:
    link = world.connection(world.service("basic", user_level=True), link="mine", level="user")
    world.store(link, _basic(world), owner=world.members.super_admin)  # the primary
    world.store(link, _basic(world), owner=world.members.user)
    resolve = _resolver(world, world.members.user)
    with statements(world) as seen:
        entry = resolve(link)
    assert len(seen) == 1
    assert entry.resolved.authorization.owner_user_id is not None
    assert not entry.resolved.authorization.is_primary


def test_acting_for_another_member_adds_their_lookup_and_their_authorization(
    world: World,
) -> None:
    link = world.connection(world.service("basic", user_level=True), link="mine", level="user")
    world.store(link, _basic(world), owner=world.members.super_admin)
    world.store(link, _basic(world), owner=world.members.user)
    resolve = _resolver(world)
    with statements(world) as seen:
        entry = resolve(link, as_user=world.members.user)
    # the joined read, the user by e-mail, the membership, that user's authorization
    assert len(seen) == 4 and not entry.resolved.authorization.is_primary


@pytest.mark.parametrize("missing", ["authorization", "connection"])
def test_a_refused_resolution_is_one_query_and_changes_nothing(world: World, missing: str) -> None:
    link = world.connection(world.service("basic"), link="billing")
    before = snapshot(world.runtime.database)
    name = link if missing == "authorization" else "nowhere"
    expected = AuthorizationRequired if missing == "authorization" else NotFound
    resolve = _resolver(world)
    with statements(world) as seen, pytest.raises(expected):
        resolve(name)
    assert len(seen) == 1
    assert snapshot(world.runtime.database) == before


def test_a_built_in_service_takes_the_workspaces_client_registration_from_the_same_query(
    world: World,
) -> None:
    link = world.connection("github", link="gh", params={}, scopes=["repo"])
    world.store(link, world.oauth2_credential())
    with world.runtime.unit() as unit:
        ws = unit.workspaces.get("default")
        unit.service_clients.put(ws.id, "github", "gh-client", "gh-secret", unit.now(), None)
    resolve = _resolver(world)
    with statements(world) as seen:
        resolved = resolve(link).resolved
    assert len(seen) == 1
    assert (resolved.oauth_client_id, resolved.oauth_client_secret) == ("gh-client", "gh-secret")
