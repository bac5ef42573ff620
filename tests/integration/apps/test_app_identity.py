"""App tokens act as the app (SPEC §6 "App identity"), and the app's connections panel shows
each viewer what they may do (SPEC §4, §9), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from plugboard.domain.credentials import ApiKeyCredential, OAuth2Credential
from plugboard.domain.models import Role
from plugboard.domain.principal import OPERATOR, Principal
from plugboard.errors import (
    AuthenticationFailed,
    AuthorizationRequired,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from plugboard.usecases import identity
from plugboard.usecases.app_service import Apps
from plugboard.usecases.app_tokens import authenticate
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.invoke_resolution import resolve
from plugboard.usecases.runtime import Runtime
from tests.integration.apps.conftest import AppsOf, ConnectionsOf
from tests.stack import Actor
from tests.support import snapshot


@pytest.fixture
def installed(
    builder: Principal, members: Actor, apps_of: AppsOf, connections_of: ConnectionsOf,
    runtime: Runtime,
) -> Principal:  # fmt: skip
    """`sales` installed in globex: `ledger` (admin) authorized by the admin, `sheet` (user)
    authorized by root (the primary account) and by user@globex, who is granted the app.
    Returns the app's principal (authenticated from a fresh app token)."""
    connections = connections_of(builder)
    connections.create(service="books", link_name="ledger", scopes=["invoices.read"])
    connections.create(service="sheets", link_name="sheet", level="user")
    apps = apps_of(builder)
    apps.create(name="Sales")
    apps.put_component("sales", kind="form", name="Deal", connections=["ledger", "sheet"])
    apps.put_component("sales", kind="workflow", name="Notify", services=["twilio"])
    apps.publish("sales")
    admin = members("admin", "globex")
    apps_of(admin).install(apps.package("sales"))
    apps_of(admin).grant("sales", "user@globex.test")
    with runtime.unit() as unit:
        store_credential(unit, admin, connection="ledger", credential=OAuth2Credential("at-ledger"))
        for who in ("root", "user"):
            store_credential(
                unit, members(who, "globex"), connection="sheet",
                credential=ApiKeyCredential({"X-Api-Key": f"key-of-{who}"}),
            )  # fmt: skip
    secret = apps_of(admin).create_token("sales", name="runtime").secret
    with runtime.unit(write=False) as unit:
        return authenticate(unit, secret)


def _key(resolved: object) -> str:
    return resolved.credential.values["X-Api-Key"]  # type: ignore[attr-defined,no-any-return]


def test_an_app_token_authenticates_as_its_app_not_as_a_member(installed: Principal) -> None:
    assert installed.is_app and not installed.is_operator
    assert (installed.app_link_name, installed.user_id, installed.role) == ("sales", None, None)
    assert installed.label == "app:sales"


def test_an_issued_app_tokens_repr_never_shows_its_secret(
    builder: Principal, apps_of: AppsOf
) -> None:
    apps_of(builder).create(name="Sales")

    issued = apps_of(builder).create_token("sales")

    assert issued.secret.startswith("pba_") and issued.secret not in repr(issued)


def test_a_revoked_app_token_no_longer_authenticates(
    builder: Principal, apps_of: AppsOf, runtime: Runtime
) -> None:
    apps_of(builder).create(name="Sales")
    issued = apps_of(builder).create_token("sales")
    apps_of(builder).revoke_token("sales", issued.id)

    with runtime.unit(write=False) as unit, pytest.raises(AuthenticationFailed):
        authenticate(unit, issued.secret)
    [listed] = apps_of(builder).tokens("sales")
    assert listed.revoked_at is not None
    assert issued.secret not in listed.model_dump_json()


def test_an_app_invokes_its_admin_connection_with_the_shared_authorization(
    installed: Principal, runtime: Runtime
) -> None:
    with runtime.unit(write=False) as unit:
        resolved = resolve(unit, installed, "ledger", as_user="user@globex.test")

    assert resolved.credential.access_token == "at-ledger"  # type: ignore[union-attr]


def test_an_app_invokes_a_user_level_connection_with_that_users_authorization(
    installed: Principal, runtime: Runtime
) -> None:
    with runtime.unit(write=False) as unit:
        for_user = resolve(unit, installed, "sheet", as_user="user@globex.test")
        without_user = resolve(unit, installed, "sheet")

    assert _key(for_user) == "key-of-user"
    assert _key(without_user) == "key-of-root"  # the primary account


def test_an_app_acts_only_for_members_it_is_granted_to(
    installed: Principal, runtime: Runtime
) -> None:
    with runtime.unit() as unit:
        identity.add_user(
            unit, OPERATOR, email="guest@globex.test", role=Role.USER, workspace="globex"
        )

    with runtime.unit(write=False) as unit, pytest.raises(PermissionDenied):
        resolve(unit, installed, "sheet", as_user="guest@globex.test")


def test_an_app_reaches_no_connection_of_another_app(
    installed: Principal, members: Actor, apps_of: AppsOf, connections_of: ConnectionsOf,
    runtime: Runtime,
) -> None:  # fmt: skip
    admin = members("admin", "globex")
    connections_of(admin).create(service="sheets", link_name="other_sheet")
    with runtime.unit() as unit:
        store_credential(
            unit, admin, connection="other_sheet", credential=ApiKeyCredential({"X-Api-Key": "k"})
        )

    with runtime.unit(write=False) as unit, pytest.raises(NotFound):
        resolve(unit, installed, "other_sheet")


def test_an_app_lists_and_reads_only_its_own_connections(
    installed: Principal, members: Actor, connections_of: ConnectionsOf
) -> None:
    admin = members("admin", "globex")
    connections_of(admin).create(service="sheets", link_name="other_sheet", level="user")

    assert [c.link_name for c in connections_of(installed).list()] == ["ledger", "sheet"]
    with pytest.raises(NotFound):
        connections_of(installed).get("other_sheet")


def test_an_app_token_gives_no_consent_and_manages_no_authorization(
    installed: Principal, runtime: Runtime
) -> None:
    from plugboard.usecases import authorizations

    before = snapshot(runtime.database)

    with runtime.unit() as unit, pytest.raises(PermissionDenied):
        authorizations.revoke(unit, installed, connection="sheet")
    with runtime.unit() as unit, pytest.raises(PermissionDenied):
        identity.create_token(unit, installed, name="escalate")

    assert snapshot(runtime.database) == before


def test_an_app_finds_the_system_connection_its_components_name_and_is_told_who_acts(
    installed: Principal, runtime: Runtime
) -> None:
    first = Apps(runtime, installed).system_connection("sales", "twilio")
    again = Apps(runtime, installed).system_connection("sales", "twilio")

    assert first.created and not again.created
    assert first.connection.status == "not_connected"
    assert first.who_must_act == "contact your admin: an admin must authorize this connection"
    with runtime.unit(write=False) as unit, pytest.raises(AuthorizationRequired):
        resolve(unit, installed, first.connection.link_name)


def test_an_app_token_builds_nothing(
    installed: Principal, apps_of: AppsOf, connections_of: ConnectionsOf, runtime: Runtime
) -> None:
    before = snapshot(runtime.database)

    with pytest.raises(PermissionDenied):
        connections_of(installed).create(service="sheets", link_name="sneaky")
    with pytest.raises(PermissionDenied):
        apps_of(installed).create_token("sales")
    with pytest.raises(PermissionDenied):
        apps_of(installed).grant("sales", "dev2@globex.test")

    assert snapshot(runtime.database) == before


def test_the_panel_shows_a_user_only_user_level_connections_and_their_own_status(
    installed: Principal, members: Actor, apps_of: AppsOf
) -> None:
    [entry] = apps_of(members("user", "globex")).panel("sales")

    assert (entry.link_name, entry.level, entry.may_authorize) == ("sheet", "user", True)
    assert [(a.environment, a.status) for a in entry.authorizations] == [
        ("production", "connected")
    ]


def test_the_panel_offers_authorize_to_exactly_those_who_may(
    installed: Principal, members: Actor, apps_of: AppsOf
) -> None:
    by_role = {
        who: {e.link_name: e.may_authorize for e in apps_of(members(who, "globex")).panel("sales")}
        for who in ("root", "admin", "dev", "user")
    }

    assert by_role["root"] == {"ledger": True, "sheet": True}
    assert by_role["admin"] == {"ledger": True, "sheet": True}
    assert by_role["dev"] == {"ledger": True, "sheet": True}
    assert by_role["user"] == {"sheet": True}


def test_the_panel_names_the_environment_rule_it_breaks(
    installed: Principal, members: Actor, apps_of: AppsOf, runtime: Runtime
) -> None:
    with pytest.raises(ValidationError) as unknown:
        apps_of(members("admin", "globex")).panel("sales", environment="prod")
    with pytest.raises(ValidationError) as not_here:
        apps_of(members("admin", "globex")).panel("sales", environment="stage")

    assert unknown.value.field == not_here.value.field == "environment"


def test_a_user_is_told_to_contact_their_admin_before_a_primary_account_exists(
    builder: Principal, members: Actor, apps_of: AppsOf, connections_of: ConnectionsOf
) -> None:
    connections_of(builder).create(service="sheets", link_name="sheet", level="user")
    apps = apps_of(builder)
    apps.create(name="Sales")
    apps.put_component("sales", kind="form", name="Deal", connections=["sheet"])
    apps_of(members("admin")).grant("sales", "user@acme.test")

    [entry] = apps_of(members("user")).panel("sales")

    assert entry.may_authorize is False
    assert entry.who_must_act == (
        "no primary account: contact your admin; a super admin must authorize it first"
    )


def test_the_panel_shows_development_and_stage_where_the_app_is_built(
    builder: Principal, apps_of: AppsOf, connections_of: ConnectionsOf
) -> None:
    connections_of(builder).create(service="sheets", link_name="sheet", level="user")
    apps = apps_of(builder)
    apps.create(name="Sales")
    apps.put_component("sales", kind="form", name="Deal", connections=["sheet"])

    [entry] = apps.panel("sales")

    assert [a.environment for a in entry.authorizations] == ["development", "stage"]
