"""Connections (SPEC §3–§4): naming, levels, scopes, dynamic parameters, edits, deletion."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from plugboard.catalog.loader import builtin_services
from plugboard.domain.models import AuthorizationStatus, ConnectionLevel
from plugboard.errors import AlreadyExists, Conflict, NotFound, PermissionDenied, ValidationError
from plugboard.store.tables import authorizations
from plugboard.usecases.connection_details import list_references, show_connection
from plugboard.usecases.connections import (
    create_connection,
    delete_connection,
    edit_connection,
    list_connections,
)
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service
from tests.integration.test_custom_services import text
from tests.stack import Actor
from tests.support import add_authorization, add_reference, snapshot

SPEC_USER_LEVEL = {
    "quickbooks", "salesforce", "zoho_crm", "zoho_recruit", "clickatell", "hoiio",
    "clockwork_sms", "sms_magic", "twilio", "zoho_oauth", "zoho_projects", "zoho_sheet",
}  # fmt: skip


def test_the_name_defaults_to_service_connection_then_counts_up(
    runtime: Runtime, members: Actor
) -> None:
    with runtime.unit() as unit:
        names = [create_connection(unit, members("dev"), service="stripe").name for _ in range(3)]
    assert names == ["Stripe Connection", "Stripe Connection 2", "Stripe Connection 3"]


def test_the_link_name_is_derived_from_the_name(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        first = create_connection(unit, members("dev"), service="stripe")
        second = create_connection(unit, members("dev"), service="stripe")
        named = create_connection(unit, members("dev"), service="stripe", name="Team Alerts!")
    assert [first.link_name, second.link_name, named.link_name] == [
        "stripe_connection",
        "stripe_connection_2",
        "team_alerts",
    ]


def test_a_given_link_name_is_kept(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        connection = create_connection(unit, members("dev"), service="stripe", link_name="crm_sync")
    assert connection.link_name == "crm_sync"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"link_name": "CRM-sync"}, "link_name"),
        ({"link_name": "x" * 51}, "link_name"),
        ({"name": "y" * 51}, "name"),
        ({"name": "   "}, "name"),
        ({"service": "no_such_service"}, None),
        ({"service": "github", "level": ConnectionLevel.USER}, "level"),
        ({"service": "salesforce"}, "dynamic_parameters.domain"),
        (
            {"service": "shopify", "all_scopes": True, "params": {"shop": "evil.com/"}},
            "dynamic_parameters.shop",
        ),
        ({"service": "stripe", "params": {"undeclared": "x"}}, "dynamic_parameters.undeclared"),
        ({"service": "github", "scopes": ["nope"]}, "scopes[0]"),
        ({"service": "github", "scopes": ["repo"], "all_scopes": True}, "scopes"),
        ({"service": "twilio", "scopes": ["anything"]}, "scopes"),
    ],
)
def test_invalid_input_is_refused_naming_the_field_and_changes_nothing(
    runtime: Runtime, members: Actor, kwargs: dict[str, object], field: str | None
) -> None:
    arguments: dict[str, object] = {"service": "stripe", **kwargs}
    before = snapshot(runtime.database)
    expected = NotFound if field is None else ValidationError
    with pytest.raises(expected) as raised, runtime.unit() as unit:
        create_connection(unit, members("dev"), **arguments)  # type: ignore[arg-type]
    if field is not None:
        assert isinstance(raised.value, ValidationError)
        assert raised.value.field == field
    assert snapshot(runtime.database) == before


def test_user_level_is_refused_with_a_message_naming_the_service(
    runtime: Runtime, members: Actor
) -> None:
    with pytest.raises(ValidationError, match="'github' does not allow user-level"):
        with runtime.unit() as unit:
            create_connection(unit, members("dev"), service="github", level=ConnectionLevel.USER)


def test_the_twelve_services_of_the_spec_allow_user_level(runtime: Runtime, members: Actor) -> None:
    services = builtin_services()
    with runtime.unit() as unit:
        for link in sorted(SPEC_USER_LEVEL):
            params = {
                p.key: "zylker" for p in services[link].dynamic_parameters if p.default is None
            }
            connection = create_connection(
                unit,
                members("dev"),
                service=link,
                level=ConnectionLevel.USER,
                params=params,
                all_scopes=services[link].oauth2 is not None,
            )
            assert connection.level is ConnectionLevel.USER


def test_a_custom_service_allows_user_level_when_its_creator_allows_it(
    runtime: Runtime, members: Actor
) -> None:
    with runtime.unit() as unit:
        create_custom_service(unit, members("dev"), text("oauth2"))
        create_custom_service(unit, members("dev"), text("basic"))
        create_connection(
            unit, members("dev"), service="acme_oauth2", scopes=["read"], level=ConnectionLevel.USER
        )
        with pytest.raises(ValidationError, match="does not allow user-level"):
            create_connection(
                unit, members("dev"), service="acme_basic", level=ConnectionLevel.USER
            )


def test_a_duplicate_link_name_is_refused_and_changes_nothing(
    runtime: Runtime, members: Actor
) -> None:
    with runtime.unit() as unit:
        create_connection(unit, members("dev"), service="stripe", link_name="alerts")
    before = snapshot(runtime.database)
    with pytest.raises(AlreadyExists) as raised, runtime.unit() as unit:
        create_connection(
            unit, members("dev"), service="github", scopes=["repo"], link_name="alerts"
        )
    assert raised.value.field == "link_name"
    assert snapshot(runtime.database) == before


def test_a_workspace_has_one_system_connection_per_service(
    runtime: Runtime, members: Actor
) -> None:
    with runtime.unit() as unit:
        create_connection(unit, members("dev"), service="stripe", level=ConnectionLevel.SYSTEM)
    with pytest.raises(AlreadyExists, match="system connection"), runtime.unit() as unit:
        create_connection(unit, members("dev"), service="stripe", level=ConnectionLevel.SYSTEM)


def test_dynamic_parameter_values_are_stored_with_defaults_filled_in(
    runtime: Runtime, members: Actor
) -> None:
    with runtime.unit() as unit:
        shop = create_connection(
            unit, members("dev"), service="shopify", all_scopes=True, params={"shop": "zylker"}
        )
        zoho = create_connection(
            unit, members("dev"), service="zoho_crm", scopes=["ZohoCRM.modules.ALL"]
        )
    assert shop.dynamic_values == {"shop": "zylker"}
    assert zoho.dynamic_values.get("dc") == "com"


def test_all_scopes_selects_every_scope_of_the_service(runtime: Runtime, members: Actor) -> None:
    github = builtin_services()["github"]
    assert github.oauth2 is not None
    with runtime.unit() as unit:
        connection = create_connection(unit, members("dev"), service="github", all_scopes=True)
    assert set(connection.scopes) == {s.name for s in github.oauth2.scopes}
    assert connection.all_scopes


def test_all_scopes_cannot_be_narrowed(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        create_connection(unit, members("dev"), service="github", all_scopes=True, link_name="gh")
    with pytest.raises(ValidationError, match="cannot be narrowed"), runtime.unit() as unit:
        edit_connection(unit, members("dev"), "gh", scopes=["repo"])


def test_an_oauth2_connection_needs_at_least_one_scope(runtime: Runtime, members: Actor) -> None:
    with pytest.raises(ValidationError, match="at least one scope"), runtime.unit() as unit:
        create_connection(unit, members("dev"), service="github")


def test_created_and_modified_by_and_on_are_recorded(runtime: Runtime, members: Actor) -> None:
    dev, dev2 = members("dev"), members("dev2")
    with runtime.unit() as unit:
        created = create_connection(unit, dev, service="stripe", link_name="alerts")
    runtime.clock.advance(60)  # type: ignore[attr-defined]
    with runtime.unit() as unit:
        edited, _ = edit_connection(unit, dev2, "alerts", name="Team Alerts")
    assert (created.created_by, created.modified_by) == (dev.user_id, dev.user_id)
    assert (edited.created_by, edited.modified_by) == (dev.user_id, dev2.user_id)
    assert (edited.modified_at - edited.created_at).total_seconds() == 60
    assert edited.name == "Team Alerts" and edited.link_name == "alerts"


def _status_of(runtime: Runtime, authorization_id: str) -> str:
    with runtime.unit(write=False) as unit:
        query = select(authorizations.c.status).where(authorizations.c.id == authorization_id)
        return str(unit.conn.execute(query).scalar_one())


def test_changing_scopes_requires_reauthorization(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        c = create_connection(
            unit, members("dev"), service="github", scopes=["repo"], link_name="gh"
        )
    auth_id = add_authorization(runtime.database, workspace_id=c.workspace_id, connection_id=c.id)
    with runtime.unit() as unit:
        _, reauth = edit_connection(unit, members("dev"), "gh", scopes=["repo", "read:user"])
    assert reauth == 1
    assert _status_of(runtime, auth_id) == AuthorizationStatus.NEEDS_REAUTH.value


def test_renaming_keeps_authorizations_connected(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        c = create_connection(unit, members("dev"), service="stripe", link_name="alerts")
    auth_id = add_authorization(runtime.database, workspace_id=c.workspace_id, connection_id=c.id)
    with runtime.unit() as unit:
        edit_connection(unit, members("dev"), "alerts", name="Renamed")
    assert _status_of(runtime, auth_id) == AuthorizationStatus.CONNECTED.value


def test_an_unreferenced_connection_is_deleted_at_once(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        c = create_connection(unit, members("dev"), service="stripe", link_name="alerts")
    add_authorization(runtime.database, workspace_id=c.workspace_id, connection_id=c.id)
    with runtime.unit() as unit:
        delete_connection(unit, members("dev"), "alerts")
    with pytest.raises(NotFound), runtime.unit() as unit:
        show_connection(unit, members("dev"), "alerts")


def test_a_referenced_connection_is_not_deleted_and_its_references_are_listed(
    runtime: Runtime, members: Actor
) -> None:
    with runtime.unit() as unit:
        c = create_connection(unit, members("dev"), service="stripe", link_name="alerts")
    add_reference(runtime.database, workspace_id=c.workspace_id, connection_id=c.id)
    add_reference(
        runtime.database,
        workspace_id=c.workspace_id,
        connection_id=c.id,
        component_name="nightly digest",
    )
    before = snapshot(runtime.database)
    with pytest.raises(Conflict) as raised, runtime.unit() as unit:
        delete_connection(unit, members("dev"), "alerts")
    assert "sales/workflow 'sync deals' (development)" in raised.value.message
    assert len(raised.value.details["references"]) == 2
    assert snapshot(runtime.database) == before


def test_references_list_the_components_using_a_connection(
    runtime: Runtime, members: Actor
) -> None:
    with runtime.unit() as unit:
        c = create_connection(unit, members("dev"), service="stripe", link_name="alerts")
    add_reference(runtime.database, workspace_id=c.workspace_id, connection_id=c.id)
    with runtime.unit(write=False) as unit:
        references = list_references(unit, members("dev"), "alerts")
    assert [(r.app_link_name, r.component_type.value, r.component_name) for r in references] == [
        ("sales", "workflow", "sync deals")
    ]


@pytest.mark.parametrize("action", ["create", "edit", "delete"])
def test_a_user_cannot_create_edit_or_delete_connections(
    runtime: Runtime, members: Actor, action: str
) -> None:
    with runtime.unit() as unit:
        create_connection(unit, members("dev"), service="stripe", link_name="alerts")
    user = members("user")
    with pytest.raises(PermissionDenied), runtime.unit() as unit:
        if action == "create":
            create_connection(unit, user, service="stripe")
        elif action == "edit":
            edit_connection(unit, user, "alerts", name="Mine")
        else:
            delete_connection(unit, user, "alerts")


def test_an_admin_of_a_client_workspace_can_manage_connections(
    runtime: Runtime, members: Actor
) -> None:
    admin = members("admin", "globex")
    with runtime.unit() as unit:
        create_connection(unit, admin, service="stripe", link_name="alerts")
        edit_connection(unit, admin, "alerts", name="Alerts")
        delete_connection(unit, admin, "alerts")


def test_an_admin_of_a_developer_workspace_cannot_create_connections(
    runtime: Runtime, members: Actor
) -> None:
    with pytest.raises(PermissionDenied), runtime.unit() as unit:
        create_connection(unit, members("admin"), service="stripe")


def test_a_user_sees_only_logged_in_user_connections(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        create_connection(unit, members("dev"), service="stripe", link_name="alerts")
        create_connection(
            unit,
            members("dev"),
            service="twilio",
            link_name="my_sms",
            level=ConnectionLevel.USER,
        )
    with runtime.unit(write=False) as unit:
        seen_by_user = [c.link_name for c in list_connections(unit, members("user"))]
        seen_by_admin = [c.link_name for c in list_connections(unit, members("admin"))]
        with pytest.raises(NotFound):
            show_connection(unit, members("user"), "alerts")
    assert seen_by_user == ["my_sms"]
    assert sorted(seen_by_admin) == ["alerts", "my_sms"]


def test_a_connection_of_another_workspace_is_not_found(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        create_connection(unit, members("dev", "globex"), service="stripe", link_name="alerts")
    with pytest.raises(NotFound), runtime.unit() as unit:
        show_connection(unit, members("dev"), "alerts")


def test_the_per_environment_choice_is_recorded(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        c = create_connection(unit, members("dev"), service="stripe", per_environment=True)
    assert c.per_environment


def test_creating_a_connection_is_audited(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        c = create_connection(unit, members("dev"), service="stripe")
        events = unit.audit.list(c.workspace_id, action="connection.create")
    assert [(e.actor, e.object_id, e.detail["service"]) for e in events] == [
        ("user:dev@acme.test", c.id, "stripe")
    ]
