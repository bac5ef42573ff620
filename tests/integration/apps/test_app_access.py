"""Components, references and app access (SPEC §3, §6), on SQLite and PostgreSQL. Every refusal
leaves the store as it was."""

from __future__ import annotations

import pytest

from plugboard.domain.principal import Principal
from plugboard.errors import Conflict, NotFound, PermissionDenied, ValidationError
from plugboard.usecases.runtime import Runtime
from tests.integration.apps.conftest import AppsOf, ConnectionsOf
from tests.stack import Actor
from tests.support import snapshot


@pytest.fixture
def sales(builder: Principal, apps_of: AppsOf, connections_of: ConnectionsOf) -> Principal:
    """App `sales` and the connections `ledger` (admin, Books) and `sheet` (user, Sheets)."""
    connections = connections_of(builder)
    connections.create(service="books", link_name="ledger", scopes=["invoices.read"])
    connections.create(service="sheets", link_name="sheet", level="user")
    apps_of(builder).create(name="Sales")
    return builder


def test_a_component_records_a_reference_per_connection_it_uses(
    sales: Principal, apps_of: AppsOf, connections_of: ConnectionsOf
) -> None:
    apps_of(sales).put_component("sales", kind="form", name="Deal", connections=["ledger", "sheet"])

    for link in ("ledger", "sheet"):
        [reference] = connections_of(sales).references(link)
        assert (reference.app, reference.component_type, reference.component_name) == (
            "sales", "form", "Deal",
        )  # fmt: skip
        assert reference.environment == "development"


def test_editing_a_component_rewrites_its_references(
    sales: Principal, apps_of: AppsOf, connections_of: ConnectionsOf
) -> None:
    apps = apps_of(sales)
    apps.put_component("sales", kind="workflow", name="Sync", connections=["ledger", "sheet"])
    apps.put_component("sales", kind="workflow", name="Sync", connections=["sheet"])

    assert connections_of(sales).references("ledger") == []
    assert len(connections_of(sales).references("sheet")) == 1


def test_a_referenced_connection_is_not_deleted_and_the_refusal_names_the_component(
    sales: Principal, apps_of: AppsOf, connections_of: ConnectionsOf, runtime: Runtime
) -> None:
    apps_of(sales).put_component("sales", kind="schedule", name="Nightly", connections=["ledger"])
    before = snapshot(runtime.database)

    with pytest.raises(Conflict) as refused:
        connections_of(sales).delete("ledger")

    assert "sales/schedule 'Nightly' (development)" in str(refused.value)
    assert snapshot(runtime.database) == before


def test_removing_the_last_component_that_uses_a_connection_lets_it_be_deleted(
    sales: Principal, apps_of: AppsOf, connections_of: ConnectionsOf
) -> None:
    apps = apps_of(sales)
    apps.put_component("sales", kind="page", name="Home", connections=["sheet"])
    apps.delete_component("sales", kind="page", name="Home")

    connections_of(sales).delete("sheet")

    assert [c.link_name for c in connections_of(sales).list()] == ["ledger"]


def test_a_component_naming_an_unknown_connection_is_refused_naming_the_field(
    sales: Principal, apps_of: AppsOf, runtime: Runtime
) -> None:
    before = snapshot(runtime.database)

    with pytest.raises(ValidationError) as refused:
        apps_of(sales).put_component(
            "sales", kind="form", name="Deal", connections=["ledger", "nope"]
        )

    assert refused.value.field == "connections[1]"
    assert snapshot(runtime.database) == before


def test_using_a_connection_enables_it_for_that_app(
    sales: Principal, apps_of: AppsOf, runtime: Runtime
) -> None:
    apps_of(sales).put_component("sales", kind="form", name="Deal", connections=["ledger"])

    with pytest.raises(Conflict) as refused:
        apps_of(sales).disable_access("sales", "ledger")
    assert refused.value.details["rule"] == "referenced"


def test_a_connection_enabled_for_one_app_is_refused_to_another(
    sales: Principal, apps_of: AppsOf, runtime: Runtime
) -> None:
    apps = apps_of(sales)
    apps.put_component("sales", kind="form", name="Deal", connections=["ledger"])
    apps.create(name="Rentals")
    before = snapshot(runtime.database)

    with pytest.raises(Conflict) as refused:
        apps.put_component("rentals", kind="form", name="Lease", connections=["ledger"])
    with pytest.raises(Conflict):
        apps.enable_access("rentals", "ledger")

    assert refused.value.details == {"rule": "one_app_per_connection", "app": "sales"}
    assert snapshot(runtime.database) == before


def test_access_is_disabled_once_nothing_references_it_and_it_was_never_published(
    sales: Principal, apps_of: AppsOf
) -> None:
    apps = apps_of(sales)
    apps.enable_access("sales", "ledger")
    apps.disable_access("sales", "ledger")
    apps.create(name="Rentals")

    apps.enable_access("rentals", "ledger")  # free again, so another app may have it


def test_access_stays_enabled_once_published_even_when_the_references_go(
    sales: Principal, apps_of: AppsOf, runtime: Runtime
) -> None:
    apps = apps_of(sales)
    apps.put_component("sales", kind="form", name="Deal", connections=["ledger"])
    apps.publish("sales")
    apps.put_component("sales", kind="form", name="Deal", connections=[])
    apps.publish("sales")  # stage no longer references it either
    before = snapshot(runtime.database)

    with pytest.raises(Conflict) as refused:
        apps.disable_access("sales", "ledger")

    assert refused.value.details["rule"] == "published"
    assert snapshot(runtime.database) == before


def test_a_system_connection_serves_every_app_that_names_its_service(
    sales: Principal, apps_of: AppsOf, connections_of: ConnectionsOf
) -> None:
    apps = apps_of(sales)
    apps.create(name="Rentals")
    for app in ("sales", "rentals"):
        apps.put_component(app, kind="workflow", name="Notify", services=["twilio"])

    first = apps.system_connection("sales", "twilio")
    second = apps.system_connection("rentals", "twilio")

    assert first.created and not second.created
    assert first.connection.link_name == second.connection.link_name
    assert first.connection.level == "system"
    references = connections_of(sales).references(first.connection.link_name)
    assert sorted(r.app for r in references) == ["rentals", "sales"]


def test_system_connections_have_no_app_access_to_toggle(
    sales: Principal, apps_of: AppsOf, runtime: Runtime
) -> None:
    apps = apps_of(sales)
    apps.put_component("sales", kind="workflow", name="Notify", services=["twilio"])
    system = apps.system_connection("sales", "twilio").connection.link_name
    before = snapshot(runtime.database)

    with pytest.raises(Conflict):
        apps.enable_access("sales", system)
    with pytest.raises(Conflict):
        apps.disable_access("sales", system)
    assert snapshot(runtime.database) == before


def test_only_a_service_a_component_names_gets_a_system_connection(
    sales: Principal, apps_of: AppsOf, runtime: Runtime
) -> None:
    before = snapshot(runtime.database)

    with pytest.raises(NotFound):
        apps_of(sales).system_connection("sales", "twilio")

    assert snapshot(runtime.database) == before


@pytest.mark.parametrize(
    ("who", "workspace"), [("user", "acme"), ("admin", "acme"), ("admin", "globex")]
)
def test_those_who_do_not_build_cannot_create_apps(
    who: str, workspace: str, members: Actor, apps_of: AppsOf, runtime: Runtime
) -> None:
    before = snapshot(runtime.database)

    with pytest.raises(PermissionDenied):
        apps_of(members(who, workspace)).create(name="Shadow app")

    assert snapshot(runtime.database) == before


def test_apps_are_built_in_a_developer_workspace_only(
    members: Actor, apps_of: AppsOf, runtime: Runtime
) -> None:
    root = members("root", "globex")
    before = snapshot(runtime.database)

    with pytest.raises(PermissionDenied):
        apps_of(root).create(name="Shadow app")

    assert snapshot(runtime.database) == before


def test_a_user_sees_only_the_apps_granted_to_them(
    sales: Principal, members: Actor, apps_of: AppsOf
) -> None:
    apps_of(sales).create(name="Rentals")
    apps_of(members("admin")).grant("rentals", "user@acme.test")

    assert [a.link_name for a in apps_of(members("user")).list()] == ["rentals"]
    with pytest.raises(NotFound):
        apps_of(members("user")).get("sales")


def test_a_user_sees_user_level_connections_of_granted_apps_and_of_no_app(
    sales: Principal, members: Actor, apps_of: AppsOf, connections_of: ConnectionsOf
) -> None:
    connections_of(sales).create(service="sheets", link_name="scratch", level="user")
    apps = apps_of(sales)
    apps.put_component("sales", kind="form", name="Deal", connections=["ledger", "sheet"])
    user = members("user")

    assert [c.link_name for c in connections_of(user).list()] == ["scratch"]
    with pytest.raises(NotFound):
        connections_of(user).get("sheet")

    apps_of(members("admin")).grant("sales", "user@acme.test")
    assert [c.link_name for c in connections_of(user).list()] == ["scratch", "sheet"]


def test_a_user_is_not_shown_the_shared_connections_an_app_uses(
    sales: Principal, members: Actor, apps_of: AppsOf
) -> None:
    apps_of(sales).put_component(
        "sales", kind="form", name="Deal", connections=["ledger", "sheet"], services=["twilio"]
    )
    apps_of(members("admin")).grant("sales", "user@acme.test")

    seen = apps_of(members("user")).get("sales")

    assert [c.link_name for c in seen.connections] == ["sheet"]
    assert [(c.connections, c.services) for c in seen.components] == [(["sheet"], [])]
    assert [c.link_name for c in apps_of(sales).get("sales").connections] == ["ledger", "sheet"]


def test_admins_list_the_members_an_app_is_granted_to(
    sales: Principal, members: Actor, apps_of: AppsOf
) -> None:
    admin = apps_of(members("admin"))
    admin.grant("sales", "user@acme.test")
    admin.grant("sales", "dev2@acme.test")

    assert [(u.email, u.role) for u in admin.users("sales")] == [
        ("dev2@acme.test", "developer"),
        ("user@acme.test", "user"),
    ]
    with pytest.raises(PermissionDenied):
        apps_of(members("user")).users("sales")
