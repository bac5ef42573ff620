"""The events outbox (SPEC §11): each change records its event in its own transaction, with the
connection, environment and user it is about, and never a secret."""

from __future__ import annotations

import json

import pytest

from plugboard.domain.credentials import OAuth2Credential
from plugboard.domain.models import ConnectionLevel
from plugboard.domain.principal import OPERATOR
from plugboard.errors import Conflict
from plugboard.usecases.authorizations import revoke
from plugboard.usecases.connections import delete_connection, edit_connection
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.link_failures import record_failed_attempt
from tests.integration.jobs.support import OAuthWorld
from tests.stack import Actor


def _types(world: OAuthWorld) -> list[str]:
    return [e.type for e in world.events()]


def test_connection_lifecycle_records_its_events(oauth: OAuthWorld, members: Actor) -> None:
    oauth.connection("crm")
    refresh_token = oauth.authorize("crm")
    with oauth.runtime.unit() as unit:
        edit_connection(unit, members("dev"), "crm", scopes=["read", "write"])
    with oauth.runtime.unit() as unit:
        revoke(unit, members("dev"), connection="crm")
    with oauth.runtime.unit() as unit:
        delete_connection(unit, members("dev"), "crm")
    assert _types(oauth) == [
        "connection.created",
        "authorization.connected",
        "authorization.needs_reauth",
        "authorization.revoked",
        "connection.deleted",
    ]
    created, connected, reauth, revoked, deleted = oauth.events()
    assert connected.connection_id == created.connection_id == deleted.connection_id
    assert (connected.environment, connected.user_id) == ("all", None)
    assert connected.payload["connection"] == "crm" and connected.payload["level"] == "admin"
    assert reauth.actor == "user:dev@acme.test"
    assert reauth.payload["actor_user_id"] == members("dev").user_id
    assert revoked.payload["was_primary"] is False
    stored = json.dumps([e.payload for e in oauth.events()])
    assert refresh_token not in stored and "client_secret" not in stored


def test_user_level_events_name_the_user_and_the_primary(oauth: OAuthWorld, members: Actor) -> None:
    oauth.connection("sheet", level=ConnectionLevel.USER)
    oauth.authorize("sheet", owner="root@acme.test")
    oauth.authorize("sheet", owner="user@acme.test")
    with oauth.runtime.unit() as unit:
        revoke(unit, members("root"), connection="sheet")
    connected_root, connected_user, revoked = oauth.events("authorization.connected") + (
        oauth.events("authorization.revoked")
    )
    assert connected_root.user_id == members("root").user_id
    assert connected_user.user_id == members("user").user_id
    assert connected_root.payload["was_primary"] is True
    assert revoked.user_id == members("root").user_id and revoked.payload["was_primary"]


def test_a_failed_link_records_authorization_failed(oauth: OAuthWorld) -> None:
    oauth.connection("crm")
    with oauth.runtime.unit() as unit:
        conn = unit.connections.get(unit.workspaces.get("acme").id, "crm")
        record_failed_attempt(
            unit, "provider", connection=conn, environments=["all"], owner_user_id=None,
            error="access_denied: the user said no", attempted_by=None,
        )  # fmt: skip
    (failed,) = oauth.events("authorization.failed")
    assert failed.payload["detail"] == "access_denied: the user said no"


def test_an_event_rolls_back_with_its_change(oauth: OAuthWorld) -> None:
    oauth.connection("crm")
    before = _types(oauth)
    with pytest.raises(Conflict), oauth.runtime.unit() as unit:
        store_credential(
            unit, OPERATOR, connection="crm", workspace="acme",
            credential=OAuth2Credential("access-1", "refresh-1"),
        )  # fmt: skip
        raise Conflict("the change fails after its event was written")
    assert _types(oauth) == before
