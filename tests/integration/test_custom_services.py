"""Custom services (SPEC §2): fields, editing table, creator-only changes, revocation on edit."""

from __future__ import annotations

import textwrap

import pytest
from sqlalchemy import select

from plugboard.domain.models import AuthorizationStatus
from plugboard.errors import AlreadyExists, NotFound, PermissionDenied, ValidationError
from plugboard.store.tables import authorizations
from plugboard.usecases.connections import create_connection
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import (
    create_custom_service,
    delete_custom_service,
    edit_custom_service,
    page_services,
    show_service,
)
from tests.stack import Actor
from tests.support import add_authorization, snapshot

SERVICE_FILES = {
    "api_key": """
        name: Acme CRM
        link_name: acme_crm
        base_url: https://api.acme-crm.io
        category: CRM
        auth_type: api_key
        api_key:
          parameters:
            - {param_type: header, name: X-Api-Key, display_name: API key}
    """,
    "basic": """
        name: Acme Basic
        link_name: acme_basic
        base_url: https://api.acme-basic.io
        auth_type: basic
    """,
    "oauth1": """
        name: Acme OAuth1
        link_name: acme_oauth1
        base_url: https://api.acme-oauth1.io
        auth_type: oauth1
        oauth1:
          consumer_key: ck
          consumer_secret: consumer-secret-value
          request_token_url: https://api.acme.io/oauth/request_token
          authorize_url: https://api.acme.io/oauth/authorize
          access_token_url: https://api.acme.io/oauth/access_token
          param_type: header
    """,
    "oauth2": """
        name: Acme OAuth2
        link_name: acme_oauth2
        base_url: https://api.acme-oauth2.io
        auth_type: oauth2
        allow_user_level: true
        oauth2:
          client_id: cid
          client_secret: client-secret-value
          authorize_url: https://auth.acme.io/authorize
          token_url: https://auth.acme.io/token
          scopes:
            - {name: read, description: Read things}
            - {name: write, description: Write things}
    """,
    "aws_sigv4": """
        name: Acme Queue
        link_name: acme_queue
        base_url: https://api.acme-queue.io
        auth_type: aws_sigv4
        aws_sigv4: {aws_service: sqs, region: eu-west-1}
    """,
}


def text(kind: str, **replace: str) -> str:
    body = textwrap.dedent(SERVICE_FILES[kind])
    for old, new in replace.items():
        body = body.replace(old, new)
    return body


@pytest.mark.parametrize("kind", sorted(SERVICE_FILES))
def test_a_custom_service_can_be_created_for_each_auth_type(
    runtime: Runtime, members: Actor, kind: str
) -> None:
    with runtime.unit() as unit:
        service = create_custom_service(unit, members("dev"), text(kind))
    assert service.definition.auth_type.value == kind
    with runtime.unit(write=False) as unit:
        listed = page_services(unit, members("user"), custom_only=True)
    assert [e.link_name for e in listed] == [service.link_name]


def test_a_custom_services_secret_is_read_back_but_never_stored_in_plaintext(
    runtime: Runtime, members: Actor
) -> None:
    with runtime.unit() as unit:
        create_custom_service(unit, members("dev"), text("oauth2"))
    with runtime.unit(write=False) as unit:
        definition = show_service(unit, members("dev"), "acme_oauth2").definition
    assert definition.oauth2 is not None and definition.oauth2.client_secret is not None
    assert definition.oauth2.client_secret.get_secret_value() == "client-secret-value"
    assert "client-secret-value" not in str(snapshot(runtime.database))


@pytest.mark.parametrize(
    ("replace", "field"),
    [
        ({"name: Acme CRM": "name: " + "x" * 51}, "name"),
        ({"link_name: acme_crm": "link_name: Acme-CRM"}, "link_name"),
        ({"link_name: acme_crm": "link_name: " + "a" * 51}, "link_name"),
        ({"auth_type: api_key": "auth_type: kerberos"}, "auth_type"),
        ({"param_type: header": "param_type: cookie"}, "api_key.parameters.0.param_type"),
    ],
)
def test_invalid_service_file_is_refused_naming_the_field_and_stores_nothing(
    runtime: Runtime, members: Actor, replace: dict[str, str], field: str
) -> None:
    before = snapshot(runtime.database)
    with pytest.raises(ValidationError) as raised, runtime.unit() as unit:
        create_custom_service(unit, members("dev"), text("api_key", **replace))
    assert raised.value.field == field
    assert snapshot(runtime.database) == before


def test_a_duplicate_link_name_in_the_workspace_is_refused(
    runtime: Runtime, members: Actor
) -> None:
    with runtime.unit() as unit:
        create_custom_service(unit, members("dev"), text("api_key"))
    before = snapshot(runtime.database)
    with pytest.raises(AlreadyExists) as raised, runtime.unit() as unit:
        create_custom_service(unit, members("dev"), text("api_key", **{"Acme CRM": "Other"}))
    assert raised.value.field == "link_name"
    assert snapshot(runtime.database) == before


def test_the_same_link_name_may_be_used_in_another_workspace(
    runtime: Runtime, members: Actor
) -> None:
    with runtime.unit() as unit:
        create_custom_service(unit, members("dev"), text("api_key"))
        create_custom_service(unit, members("dev", "globex"), text("api_key"))


def test_a_built_in_services_link_name_is_refused(runtime: Runtime, members: Actor) -> None:
    with pytest.raises(ValidationError, match="built-in"), runtime.unit() as unit:
        create_custom_service(unit, members("dev"), text("api_key", acme_crm="slack"))


def test_a_user_cannot_create_a_custom_service(runtime: Runtime, members: Actor) -> None:
    with pytest.raises(PermissionDenied), runtime.unit() as unit:
        create_custom_service(unit, members("user"), text("api_key"))


def test_an_admin_of_a_developer_workspace_cannot_create_a_custom_service(
    runtime: Runtime, members: Actor
) -> None:
    with pytest.raises(PermissionDenied), runtime.unit() as unit:
        create_custom_service(unit, members("admin"), text("api_key"))


def test_an_admin_of_a_client_workspace_can_create_a_custom_service(
    runtime: Runtime, members: Actor
) -> None:
    with runtime.unit() as unit:
        create_custom_service(unit, members("admin", "globex"), text("api_key"))


def test_an_allowed_edit_is_saved(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        create_custom_service(unit, members("dev"), text("oauth2"))
        edited, _ = edit_custom_service(
            unit,
            members("dev"),
            "acme_oauth2",
            text("oauth2", **{"Acme OAuth2": "Acme Two"})
            + "    - {name: admin, description: All}\n",
        )
    assert edited.definition.name == "Acme Two"
    assert edited.definition.oauth2 is not None
    assert [s.name for s in edited.definition.oauth2.scopes] == ["read", "write", "admin"]


@pytest.mark.parametrize(
    ("kind", "replace", "field"),
    [
        ("oauth2", {"- {name: write, description: Write things}": ""}, "oauth2.scopes"),
        ("basic", {"acme_basic": "acme_basic2"}, "link_name"),
    ],
)
def test_the_editing_table_is_enforced(
    runtime: Runtime, members: Actor, kind: str, replace: dict[str, str], field: str | None
) -> None:
    with runtime.unit() as unit:
        service = create_custom_service(unit, members("dev"), text(kind))
    before = snapshot(runtime.database)
    if field is None:  # adding an API key parameter is allowed
        with runtime.unit() as unit:
            edit_custom_service(unit, members("dev"), service.link_name, text(kind, **replace))
        return
    with pytest.raises(ValidationError) as raised, runtime.unit() as unit:
        edit_custom_service(unit, members("dev"), service.link_name, text(kind, **replace))
    assert raised.value.field.startswith(field)
    assert snapshot(runtime.database) == before


def test_an_api_key_parameter_may_be_added(runtime: Runtime, members: Actor) -> None:
    added = "    - {param_type: query, name: k2, display_name: Second key}\n"
    with runtime.unit() as unit:
        create_custom_service(unit, members("dev"), text("api_key"))
        edited, _ = edit_custom_service(unit, members("dev"), "acme_crm", text("api_key") + added)
    assert edited.definition.api_key is not None
    assert [p.name for p in edited.definition.api_key.parameters] == ["X-Api-Key", "k2"]


def test_the_auth_type_of_a_custom_service_never_changes(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        create_custom_service(unit, members("dev"), text("oauth2"))
    before = snapshot(runtime.database)
    as_basic = text("basic", acme_basic="acme_oauth2")
    with pytest.raises(ValidationError) as raised, runtime.unit() as unit:
        edit_custom_service(unit, members("dev"), "acme_oauth2", as_basic)
    assert raised.value.field == "auth_type"
    assert snapshot(runtime.database) == before


def test_only_the_creator_may_edit_a_custom_service(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        create_custom_service(unit, members("dev"), text("basic"))
    with pytest.raises(PermissionDenied, match="only the creator"), runtime.unit() as unit:
        edit_custom_service(unit, members("dev2"), "acme_basic", text("basic", Basic="B"))


def test_only_the_creator_may_delete_a_custom_service(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        create_custom_service(unit, members("dev"), text("basic"))
    with pytest.raises(PermissionDenied, match="only the creator"), runtime.unit() as unit:
        delete_custom_service(unit, members("root"), "acme_basic")


def _statuses(runtime: Runtime) -> list[str]:
    with runtime.unit(write=False) as unit:
        return [r.status for r in unit.conn.execute(select(authorizations.c.status))]


def test_editing_a_custom_service_disconnects_every_authorization_of_its_connections(
    runtime: Runtime, members: Actor
) -> None:
    dev = members("dev")
    with runtime.unit() as unit:
        create_custom_service(unit, dev, text("basic"))
        first = create_connection(unit, dev, service="acme_basic")
        second = create_connection(unit, dev, service="acme_basic")
    for connection in (first, second):
        add_authorization(
            runtime.database, workspace_id=connection.workspace_id, connection_id=connection.id
        )
    with runtime.unit() as unit:
        _, disconnected = edit_custom_service(unit, dev, "acme_basic", text("basic", Basic="B"))
        events = unit.audit.list(first.workspace_id, action="authorization.disconnect")
    assert disconnected == 2
    assert _statuses(runtime) == [AuthorizationStatus.NOT_CONNECTED.value] * 2
    assert snapshot(runtime.database)["accounts"] == []
    assert {e.object_id for e in events} == {first.id, second.id}


def test_deleting_a_custom_service_keeps_its_connections_but_disconnects_them(
    runtime: Runtime, members: Actor
) -> None:
    dev = members("dev")
    with runtime.unit() as unit:
        create_custom_service(unit, dev, text("api_key"))
        connection = create_connection(unit, dev, service="acme_crm")
    add_authorization(
        runtime.database, workspace_id=connection.workspace_id, connection_id=connection.id
    )
    with runtime.unit() as unit:
        assert delete_custom_service(unit, dev, "acme_crm") == 1
    with runtime.unit(write=False) as unit:
        kept = unit.connections.get(connection.workspace_id, connection.link_name)
        with pytest.raises(NotFound):
            show_service(unit, dev, "acme_crm")
    assert kept.custom_service_id is None
    assert _statuses(runtime) == [AuthorizationStatus.NOT_CONNECTED.value]


def test_a_built_in_service_cannot_be_deleted(runtime: Runtime, members: Actor) -> None:
    with pytest.raises(ValidationError, match="built-in"), runtime.unit() as unit:
        delete_custom_service(unit, members("dev"), "slack")


def test_catalog_search_finds_services_by_name_and_category(
    runtime: Runtime, members: Actor
) -> None:
    with runtime.unit(write=False) as unit:
        sales = page_services(unit, members("user"), search="sales")
        crm = page_services(unit, members("user"), category="crm")
    assert "salesforce" in [e.link_name for e in sales]
    assert all(e.definition.category == "CRM" for e in crm) and len(crm) >= 3
