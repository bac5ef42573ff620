"""Which authorization an invoke uses, and who must act when there is none (SPEC §4, §5, §7)."""

# ruff: noqa: F811 -- the fixtures imported from invoke_support are pytest parameters here
from __future__ import annotations

import pytest

from plugboard.domain.credentials import BasicCredential
from plugboard.errors import AuthorizationRequired, NotFound, PermissionDenied
from plugboard.store.audit import REDACTED
from tests.integration.invoke_support import (  # noqa: F401
    World,
    provider,
    running_provider,
    world,
)


def _basic(world: World, *, right: bool = True) -> BasicCredential:
    password = world.state.basic_password if right else "wrong-password-123"
    return BasicCredential(world.state.basic_user, password)


def _admin_connection(world: World, *, per_environment: bool = False) -> str:
    return world.connection(world.service("basic"), link="billing", per_environment=per_environment)


def test_without_an_authorization_an_admin_is_told_to_authorize(world: World) -> None:
    link = _admin_connection(world)
    with pytest.raises(AuthorizationRequired) as raised:
        world.client(as_member=world.members.developer).invoke_url("/x", connection=link)
    assert raised.value.who_must_act == (
        "an admin must authorize this connection: you can authorize it"
    )
    assert raised.value.reason == "not authorized yet"


def test_without_an_authorization_a_user_is_told_to_contact_their_admin(world: World) -> None:
    link = _admin_connection(world)
    with pytest.raises(AuthorizationRequired) as raised:  # the operator acting for the user
        world.client().invoke_url("/x", connection=link, as_user=world.members.user)
    assert (
        raised.value.who_must_act == "contact your admin: an admin must authorize this connection"
    )


def test_an_admin_authorization_serves_every_user(world: World) -> None:
    link = _admin_connection(world)
    world.store(link, _basic(world))
    for_a_user = world.client().invoke_url("/x", connection=link, as_user=world.members.user)
    by_a_developer = world.client(as_member=world.members.developer).invoke_url(
        "/x", connection=link
    )
    assert for_a_user.status == by_a_developer.status == 200


def test_one_authorization_serves_every_environment_by_default(world: World) -> None:
    link = _admin_connection(world)
    world.store(link, _basic(world))
    pb = world.client()
    for env in ("development", "stage", "production"):
        assert pb.invoke_url("/x", connection=link, environment=env).status == 200


def test_a_per_environment_connection_uses_only_its_environments_authorization(
    world: World,
) -> None:
    link = _admin_connection(world, per_environment=True)
    world.store(link, _basic(world), environment="stage")
    pb = world.client()
    assert pb.invoke_url("/x", connection=link, environment="stage").status == 200
    with pytest.raises(AuthorizationRequired) as raised:
        pb.invoke_url("/x", connection=link, environment="production")
    assert raised.value.environment == "production"


def test_a_revoked_authorization_asks_for_a_new_one(world: World) -> None:
    link = _admin_connection(world)
    world.store(link, _basic(world))
    with world.runtime.unit() as unit:
        conn = unit.connections.get(unit.workspaces.get("default").id, link)
        unit.connections.revoke_all(conn.id, "service edited", unit.now())
    with pytest.raises(AuthorizationRequired) as raised:
        world.client().invoke_url("/x", connection=link)
    assert raised.value.reason == "the authorization was revoked: service edited"


def _user_connection(world: World) -> str:
    service = world.service("basic", user_level=True)
    link = world.connection(service, link="my_crm", level="user")
    world.store(link, _basic(world), owner=world.members.super_admin)  # becomes primary
    return link


def test_a_user_level_connection_uses_the_calling_users_own_authorization(world: World) -> None:
    link = _user_connection(world)
    world.store(link, _basic(world, right=False), owner=world.members.user)
    pb = world.client()
    assert pb.invoke_url("/x", connection=link, as_user=world.members.user).status == 401
    assert pb.invoke_url("/x", connection=link, as_user=world.members.super_admin).status == 200


def test_without_a_user_a_user_level_connection_uses_the_primary_account(world: World) -> None:
    link = _user_connection(world)
    world.store(link, _basic(world, right=False), owner=world.members.user)
    assert world.client().invoke_url("/x", connection=link).status == 200


def test_a_user_without_an_own_authorization_is_asked_to_authorize(world: World) -> None:
    link = _user_connection(world)
    with pytest.raises(AuthorizationRequired) as raised:
        world.client(as_member=world.members.user).invoke_url("/x", connection=link)
    assert raised.value.who_must_act.startswith("you must authorize this connection for yourself")


def test_without_a_primary_account_a_super_admin_must_authorize_first(world: World) -> None:
    service = world.service("basic", user_level=True)
    link = world.connection(service, link="my_crm", level="user")
    with pytest.raises(AuthorizationRequired) as raised:
        world.client().invoke_url("/x", connection=link)
    assert raised.value.who_must_act.startswith("no primary account")


def test_a_member_cannot_invoke_on_behalf_of_another_member(world: World) -> None:
    link = _user_connection(world)
    pb = world.client(as_member=world.members.user)
    with pytest.raises(PermissionDenied):
        pb.invoke_url("/x", connection=link, as_user=world.members.other_user)


def test_a_failed_invoke_is_in_the_audit_log_without_the_query(world: World) -> None:
    link = _admin_connection(world)
    with pytest.raises(AuthorizationRequired):
        world.client().invoke_url("/reports?apikey=s3cr3t-value", connection=link)
    (event,) = world.audit()
    assert event.outcome == "failed"
    assert event.detail["connection"] == link
    assert event.detail["error"] == "authorization_required"
    assert event.detail["path"] == "/reports"
    assert "s3cr3t-value" not in repr(event)
    assert REDACTED not in repr(event.detail)


def test_an_unknown_connection_is_not_found_and_audited(world: World) -> None:
    with pytest.raises(NotFound):
        world.client().invoke_url("https://acme.pbtest-provider.net/x", connection="nope")
    (event,) = world.audit()
    assert event.detail["error"] == "not_found"
    assert event.object_id is None
