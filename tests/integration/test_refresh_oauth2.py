"""OAuth 2 refresh through invoke (SPEC §5 "Refresh"): before expiry, once on rejection, with
rotation, invalid_grant, failures and their cooldown -- against the provider's token endpoint."""

# ruff: noqa: F811 -- the fixtures imported from invoke_support are pytest parameters here
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from plugboard.domain.credentials import OAuth2Credential, credential_from_data
from plugboard.domain.models import AuthorizationStatus
from plugboard.errors import AuthorizationRequired, UpstreamError
from tests.integration.invoke_support import (  # noqa: F401
    World,
    provider,
    running_provider,
    world,
)


def _setup(world: World, *, expires_in: float | None = 3600, refresh: bool = True) -> str:
    service = world.service("oauth2")
    link = world.connection(service, link="crm")
    expires_at = (
        world.runtime.clock.now() + timedelta(seconds=expires_in)
        if expires_in is not None
        else None
    )
    world.store(link, world.oauth2_credential(refresh=refresh), expires_at=expires_at)
    return link


def _account(world: World, link: str) -> Any:
    with world.runtime.unit(write=False) as unit:
        ws = unit.workspaces.get("default")
        conn = unit.connections.get(ws.id, link)
        found = unit.accounts.authorized_account(conn.id, "all", None)
    assert found is not None and found.account is not None
    return found


def _stored(world: World, link: str) -> OAuth2Credential:
    credential = credential_from_data(_account(world, link).account.credential)
    assert isinstance(credential, OAuth2Credential)
    return credential


def test_an_expired_token_is_refreshed_before_the_request(world: World) -> None:
    link = _setup(world, expires_in=-10)
    response = world.client().invoke_url("/me", connection=link)
    assert response.status == 200
    assert world.state.token_calls == 1


def test_a_token_expiring_within_the_skew_is_refreshed_first(world: World) -> None:
    link = _setup(world, expires_in=30)  # default skew: 60 s
    before = _stored(world, link).access_token
    assert world.client().invoke_url("/me", connection=link).status == 200
    assert world.state.token_calls == 1
    assert _stored(world, link).access_token != before


def test_a_token_outside_the_skew_is_used_as_it_is(world: World) -> None:
    link = _setup(world, expires_in=600)
    assert world.client().invoke_url("/me", connection=link).status == 200
    assert world.state.token_calls == 0


def test_a_401_refreshes_once_and_retries_the_request(world: World) -> None:
    link = _setup(world, expires_in=None)
    world.state.access_tokens.clear()  # the provider forgot the token: 401
    response = world.client().invoke_url("/me", connection=link)
    assert response.status == 200
    assert world.state.token_calls == 1


def test_the_invoke_after_a_refresh_sends_the_new_token(world: World) -> None:
    link = _setup(world, expires_in=None)
    client = world.client()
    assert client.invoke_url("/me", connection=link).status == 200  # the plan keeps the token
    world.state.access_tokens.clear()  # the provider forgot it: 401, refreshed, sent again
    assert client.invoke_url("/me", connection=link).status == 200
    assert client.invoke_url("/me", connection=link).status == 200  # the new one, not the kept
    assert world.state.token_calls == 1


def test_a_second_rejection_after_the_refresh_is_returned_as_it_is(world: World) -> None:
    link = _setup(world, expires_in=None)
    world.state.reject_all_bearer = True
    response = world.client().invoke_url("/me", connection=link)
    assert response.status == 401
    assert world.state.token_calls == 1


def test_an_expiry_signal_the_service_declares_triggers_a_refresh(world: World) -> None:
    link = _setup(world, expires_in=None)
    world.state.access_tokens.clear()
    world.state.bearer_failure_status = 403  # answers 403 {"error": "token_expired"}
    response = world.client().invoke_url("/me", connection=link)
    assert response.status == 200
    assert world.state.token_calls == 1


def test_a_rotated_refresh_token_is_saved_with_the_new_access_token(world: World) -> None:
    link = _setup(world, expires_in=-1)
    old = _stored(world, link)
    world.client().invoke_url("/me", connection=link)
    new = _stored(world, link)
    assert new.refresh_token in world.state.refresh_tokens
    assert old.refresh_token not in world.state.refresh_tokens
    assert new.access_token in world.state.access_tokens
    assert _account(world, link).account.token_expires_at == world.runtime.clock.now() + timedelta(
        seconds=3600
    )


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(world: World) -> None:
    world.state.rotate_refresh_tokens = False
    link = _setup(world, expires_in=-1)
    old = _stored(world, link)
    world.client().invoke_url("/me", connection=link)
    assert _stored(world, link).refresh_token == old.refresh_token
    assert _stored(world, link).access_token != old.access_token


def test_the_rotated_refresh_token_is_the_one_used_next_time(world: World) -> None:
    link = _setup(world, expires_in=-1)
    pb = world.client()
    assert pb.invoke_url("/me", connection=link).status == 200
    world.runtime.clock.advance(7200)  # the new token expired too
    assert pb.invoke_url("/me", connection=link).status == 200
    assert world.state.token_calls == 2


def test_invalid_grant_marks_the_authorization_expired_and_asks_for_authorization(
    world: World,
) -> None:
    link = _setup(world, expires_in=-1)
    world.state.token_mode = "invalid_grant"
    with pytest.raises(AuthorizationRequired) as raised:
        world.client().invoke_url("/me", connection=link)
    assert "invalid_grant" in raised.value.message
    assert raised.value.who_must_act.startswith("an admin must authorize")
    found = _account(world, link)
    assert found.authorization.status is AuthorizationStatus.EXPIRED
    assert [e.action for e in world.audit("authorization.expire")] == ["authorization.expire"]


def test_an_expired_authorization_is_not_refreshed_again(world: World) -> None:
    link = _setup(world, expires_in=-1)
    world.state.token_mode = "invalid_grant"
    pb = world.client()
    with pytest.raises(AuthorizationRequired):
        pb.invoke_url("/me", connection=link)
    with pytest.raises(AuthorizationRequired):
        pb.invoke_url("/me", connection=link)
    assert world.state.token_calls == 1


def test_a_failing_token_endpoint_leaves_the_authorization_connected(world: World) -> None:
    link = _setup(world, expires_in=-1)
    world.state.token_mode = "unavailable"
    with pytest.raises(UpstreamError) as raised:
        world.client().invoke_url("/me", connection=link)
    assert "503" in raised.value.message
    found = _account(world, link)
    assert found.authorization.status is AuthorizationStatus.CONNECTED
    assert found.account.refresh_failed_at == world.runtime.clock.now()
    assert found.account.refresh_error == "token endpoint answered 503 (temporarily_unavailable)"


def test_a_failed_refresh_is_not_retried_during_the_cooldown(world: World) -> None:
    link = _setup(world, expires_in=-1)
    world.state.token_mode = "unavailable"
    pb = world.client()
    for _ in range(3):
        with pytest.raises(UpstreamError):
            pb.invoke_url("/me", connection=link)
    assert world.state.token_calls == 1
    world.runtime.clock.advance(29)
    with pytest.raises(UpstreamError):
        pb.invoke_url("/me", connection=link)
    assert world.state.token_calls == 1


def test_after_the_cooldown_the_refresh_is_tried_again(world: World) -> None:
    link = _setup(world, expires_in=-1)
    world.state.token_mode = "unavailable"
    pb = world.client()
    with pytest.raises(UpstreamError):
        pb.invoke_url("/me", connection=link)
    world.state.token_mode = "ok"
    world.runtime.clock.advance(31)
    assert pb.invoke_url("/me", connection=link).status == 200
    assert world.state.token_calls == 2
    assert _account(world, link).account.refresh_failed_at is None


def test_a_token_that_still_works_is_used_while_its_early_refresh_fails(world: World) -> None:
    link = _setup(world, expires_in=30)  # inside the skew, not yet expired
    world.state.token_mode = "unavailable"
    response = world.client().invoke_url("/me", connection=link)
    assert response.status == 200
    assert world.state.token_calls == 1


def test_a_token_without_refresh_token_expires_the_authorization(world: World) -> None:
    link = _setup(world, expires_in=-1, refresh=False)
    with pytest.raises(AuthorizationRequired):
        world.client().invoke_url("/me", connection=link)
    assert world.state.token_calls == 0
    assert _account(world, link).authorization.status is AuthorizationStatus.EXPIRED


def test_an_unreachable_token_endpoint_is_a_transient_failure(world: World) -> None:
    link = _setup(world, expires_in=-1)
    with world.runtime.unit() as unit:
        ws = unit.workspaces.get("default")
        conn = unit.connections.get(ws.id, link)
        # Tenant "down" lives where nothing listens: the token endpoint refuses connections.
        unit.connections.update(
            conn, actor_id=None, now=unit.now(), dynamic_values={"tenant": "down"}
        )
    with pytest.raises(UpstreamError) as raised:
        world.client().invoke_url("/me", connection=link)  # on the tenant's own origin
    assert "token endpoint unreachable (ConnectError)" in raised.value.message
    found = _account(world, link)
    assert found.authorization.status is AuthorizationStatus.CONNECTED
    assert found.account.refresh_error == "token endpoint unreachable (ConnectError)"
