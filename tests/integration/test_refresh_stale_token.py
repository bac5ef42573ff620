"""No process keeps using a stale token (SPEC §5 "Refresh"): when another process (here another
client sharing only the database: its own refresh coordinator) refreshed the account, a 401 is
answered with the stored token or a refresh of it -- never with the older token this process
refreshed itself earlier."""

# ruff: noqa: F811 -- the fixtures imported from invoke_support are pytest parameters here
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from plugboard.auth.oauth2 import AccessToken
from plugboard.domain.credentials import OAuth2Credential, credential_from_data
from plugboard.usecases.refresh import RefreshTarget
from tests.integration.invoke_support import (  # noqa: F401
    World,
    provider,
    running_provider,
    world,
)

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def _account(world: World, link: str) -> Any:
    with world.runtime.unit(write=False) as unit:
        ws = unit.workspaces.get("default")
        conn = unit.connections.get(ws.id, link)
        found = unit.accounts.authorized_account(conn.id, "all", None)
    assert found is not None and found.account is not None
    return found.account


def _account_id(world: World, link: str) -> str:
    return str(_account(world, link).id)


def _stored_access_token(world: World, link: str) -> str:
    credential = credential_from_data(_account(world, link).credential)
    assert isinstance(credential, OAuth2Credential)
    return credential.access_token


def _refreshed_by_two_clients(world: World) -> tuple[str, object, object]:
    service = world.service("oauth2")
    link = world.connection(service, link="crm")
    world.store(link, world.oauth2_credential(), expires_at=LONG_AGO)
    first, second = world.client(), world.client()  # two coordinators, one database
    assert first.invoke_url("/me", connection=link).status == 200  # first refreshes: T1
    world.state.access_tokens.discard(_stored_access_token(world, link))  # T1 revoked
    assert second.invoke_url("/me", connection=link).status == 200  # second refreshes: T2
    assert world.state.token_calls == 2
    return link, first, second


def test_after_a_401_the_stored_token_is_refreshed_not_this_process_older_one(
    world: World,
) -> None:
    link, first, _ = _refreshed_by_two_clients(world)
    world.state.access_tokens.clear()  # the provider revokes T2 as well
    for _ in range(3):
        assert first.invoke_url("/me", connection=link).status == 200
    assert world.state.token_calls == 3  # one refresh of the stored T2, then its result is used


def test_after_a_401_a_newer_stored_token_is_used_without_a_refresh(world: World) -> None:
    link, first, second = _refreshed_by_two_clients(world)
    rejected = _stored_access_token(world, link)  # T2, which first has just read and sent
    world.state.access_tokens.clear()
    assert second.invoke_url("/me", connection=link).status == 200  # second refreshes: T3
    newest = _stored_access_token(world, link)
    assert newest != rejected and world.state.token_calls == 3
    # first's request with T2 got its 401 while second was refreshing: it gets T3 from the store
    target = RefreshTarget(
        account_id=_account_id(world, link),
        connection=link,
        token_url=world.provider.url("/oauth/token"),
        client_id=world.state.client_id,
        client_secret=world.state.client_secret,
        auth_method="client_secret_basic",
    )
    token = first.invoker.refresher.refresh(target, AccessToken(rejected, None), "rejected")
    assert token.value == newest
    assert world.state.token_calls == 3
    assert first.invoke_url("/me", connection=link).status == 200
