"""Stage versions, package files, install, update and import (SPEC §6), on SQLite and
PostgreSQL. A refused package installs nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from plugboard.domain.credentials import ApiKeyCredential, OAuth2Credential
from plugboard.domain.packages import digest_of, read_package
from plugboard.domain.principal import Principal
from plugboard.errors import AuthorizationRequired, Conflict, PermissionDenied, ValidationError
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.invoke_resolution import resolve
from plugboard.usecases.runtime import Runtime
from tests.integration.apps.conftest import AppsOf, ConnectionsOf
from tests.stack import Actor
from tests.support import snapshot


@pytest.fixture
def published(builder: Principal, apps_of: AppsOf, connections_of: ConnectionsOf) -> bytes:
    """App `sales` (a form using `ledger`, a workflow using `sheet` and Twilio's system
    connection) published to stage once; returns its package file."""
    connections = connections_of(builder)
    connections.create(service="books", link_name="ledger", scopes=["invoices.read"])
    connections.create(service="sheets", link_name="sheet", level="user")
    apps = apps_of(builder)
    apps.create(name="Sales")
    apps.put_component("sales", kind="form", name="Deal", connections=["ledger"])
    apps.put_component(
        "sales", kind="workflow", name="Sync", connections=["sheet"], services=["twilio"]
    )
    apps.publish("sales")
    return apps.package("sales")


def _resealed(raw: bytes, change: Any) -> bytes:
    """The package with ``change`` applied to its content and the digest computed again, as a
    forger would."""
    document = json.loads(raw)
    document.pop("digest")
    change(document)
    return json.dumps({**document, "digest": digest_of(document)}).encode()


def test_publishing_numbers_versions_and_snapshots_components_with_their_connections(
    published: bytes, builder: Principal, apps_of: AppsOf
) -> None:
    content = read_package(published)

    assert content.app.version == 1
    assert content.app.source == "acme/sales"
    assert [(c.kind.value, c.name, c.connections, c.services) for c in content.components] == [
        ("form", "Deal", ["ledger"], []),
        ("workflow", "Sync", ["sheet"], ["twilio"]),
    ]
    assert [(c.link_name, c.level, c.scopes) for c in content.connections] == [
        ("ledger", "admin", ["invoices.read"]),
        ("sheet", "user", []),
    ]
    stage = apps_of(builder).get("sales", environment="stage")
    assert [c.name for c in stage.components] == ["Deal", "Sync"]
    assert apps_of(builder).publish("sales").number == 2


def test_a_package_holds_no_credential_client_secret_or_system_connection(
    published: bytes, members: Actor, runtime: Runtime
) -> None:
    with runtime.unit() as unit:
        store_credential(
            unit,
            members("root"),
            connection="sheet",
            credential=ApiKeyCredential({"X-Api-Key": "sk-9f8e7d"}),
        )

    text = published.decode()
    assert "books-client-secret" not in text  # the Books service's OAuth client secret
    assert "sk-9f8e7d" not in text
    assert '"system"' not in text
    assert "books-client" in text  # the client's public id travels


def test_a_connection_change_reaches_stage_only_with_a_component_that_uses_it(
    published: bytes, builder: Principal, apps_of: AppsOf, connections_of: ConnectionsOf
) -> None:
    connections_of(builder).edit("ledger", scopes=["invoices.read", "invoices.write"])
    apps = apps_of(builder)

    apps.publish("sales", components=["workflow/Sync"])
    unchanged = read_package(apps.package("sales"))
    apps.publish("sales", components=["form/Deal"])
    changed = read_package(apps.package("sales"))

    assert [c.scopes for c in unchanged.connections if c.link_name == "ledger"] == [
        ["invoices.read"]
    ]
    assert [c.scopes for c in changed.connections if c.link_name == "ledger"] == [
        ["invoices.read", "invoices.write"]
    ]


def test_stage_runs_the_published_definition_until_a_component_publishes_the_change(
    builder: Principal, apps_of: AppsOf, connections_of: ConnectionsOf, runtime: Runtime
) -> None:
    connections_of(builder).create(
        service="books", link_name="ledger", scopes=["invoices.read"], per_environment=True
    )
    apps = apps_of(builder)
    apps.create(name="Sales")
    apps.put_component("sales", kind="form", name="Deal", connections=["ledger"])
    apps.publish("sales")
    with runtime.unit() as unit:
        for env in ("development", "stage"):
            store_credential(
                unit, builder, connection="ledger", environment=env,
                credential=OAuth2Credential(access_token=f"at-{env}"),
            )  # fmt: skip

    connections_of(builder).edit("ledger", scopes=["invoices.read", "invoices.write"])

    with runtime.unit(write=False) as unit:
        staged = resolve(unit, builder, "ledger", environment="stage")
    assert staged.connection.scopes == ("invoices.read",)
    with runtime.unit(write=False) as unit, pytest.raises(AuthorizationRequired):
        resolve(unit, builder, "ledger", environment="development")

    apps.publish("sales")
    with runtime.unit(write=False) as unit, pytest.raises(AuthorizationRequired) as stale:
        resolve(unit, builder, "ledger", environment="stage")
    assert "scopes changed in the published version" in str(stale.value)


def test_the_package_installs_unauthorized_connections_with_the_same_link_names(
    published: bytes, members: Actor, apps_of: AppsOf, connections_of: ConnectionsOf
) -> None:
    admin = members("admin", "globex")

    report = apps_of(admin).install(published)

    assert (report.added, report.renamed, report.environment) == (
        ["ledger", "sheet"], {}, "production",
    )  # fmt: skip
    installed = {c.link_name: c for c in connections_of(admin).list()}
    assert {k: (c.origin, c.status) for k, c in installed.items()} == {
        "ledger": ("installed", "not_connected"),
        "sheet": ("installed", "not_connected"),
    }
    production = apps_of(admin).get("sales")
    assert [(c.name, c.environment) for c in production.components] == [
        ("Deal", "production"), ("Sync", "production"),
    ]  # fmt: skip


def test_a_newer_version_keeps_authorizations_and_asks_again_where_scopes_grew(
    published: bytes, builder: Principal, members: Actor, apps_of: AppsOf,
    connections_of: ConnectionsOf, runtime: Runtime,
) -> None:  # fmt: skip
    admin = members("admin", "globex")
    apps_of(admin).install(published)
    with runtime.unit() as unit:
        store_credential(
            unit, members("root", "globex"), connection="sheet",
            credential=ApiKeyCredential({"X-Api-Key": "k-root"}),
        )  # fmt: skip
        store_credential(
            unit, admin, connection="ledger", credential=OAuth2Credential(access_token="at-2")
        )
    connections_of(builder).edit("ledger", scopes=["invoices.read", "invoices.write"])
    apps_of(builder).publish("sales")

    report = apps_of(admin).install(apps_of(builder).package("sales"))

    assert (report.previous_version, report.app.version) == (1, 2)
    assert (report.updated, report.unchanged, report.needs_reauth) == (
        ["ledger"], ["sheet"], ["ledger"],
    )  # fmt: skip
    statuses = {c.link_name: c.status for c in connections_of(members("root", "globex")).list()}
    assert statuses == {"ledger": "needs_reauth", "sheet": "connected"}


def test_the_same_or_an_older_version_is_refused(
    published: bytes, members: Actor, apps_of: AppsOf, runtime: Runtime
) -> None:
    admin = members("admin", "globex")
    apps_of(admin).install(published)
    before = snapshot(runtime.database)

    with pytest.raises(Conflict) as refused:
        apps_of(admin).install(published)

    assert refused.value.details["rule"] == "newer_version_only"
    assert snapshot(runtime.database) == before


def test_importing_where_link_names_exist_makes_copies_and_rewrites_references(
    published: bytes, builder: Principal, apps_of: AppsOf, connections_of: ConnectionsOf
) -> None:
    report = apps_of(builder).import_package(published)

    assert report.app.link_name == "sales_copy"
    assert report.renamed == {"ledger": "ledger_copy", "sheet": "sheet_copy"}
    copies = {c.link_name: c.name for c in connections_of(builder).list()}
    assert copies["ledger_copy"].endswith("_copy")
    [reference] = connections_of(builder).references("ledger_copy")
    assert (reference.app, reference.component_name, reference.environment) == (
        "sales_copy", "Deal", "development",
    )  # fmt: skip
    again = apps_of(builder).import_package(published)
    assert again.renamed == {"ledger": "ledger_copy_2", "sheet": "sheet_copy_2"}


def _change_one_byte(raw: bytes) -> bytes:
    at = raw.index(b'"Deal"') + 2
    return raw[:at] + b"F" + raw[at + 1 :]


def _add_credential(raw: bytes) -> bytes:
    return _resealed(raw, lambda d: d["connections"][0].update(credential={"token": "stolen"}))


def _add_client_secret(raw: bytes) -> bytes:
    return _resealed(raw, lambda d: d["services"][0]["oauth2"].update(client_secret="leaked"))


def _add_system_connection(raw: bytes) -> bytes:
    def change(d: dict[str, Any]) -> None:
        d["connections"].append(
            {"link_name": "sms", "name": "SMS", "service": "twilio", "level": "system"}
        )

    return _resealed(raw, change)


def _drop_digest(raw: bytes) -> bytes:
    document = json.loads(raw)
    document.pop("digest")
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("tamper", "field"),
    [
        (_change_one_byte, "digest"),
        (_drop_digest, "digest"),
        (_add_credential, "connections[0].credential"),
        (_add_client_secret, "services[0].oauth2.client_secret"),
        (_add_system_connection, "connections[2].level"),
        (lambda raw: b"not json", "package"),
    ],
)
def test_a_tampered_package_is_refused_and_nothing_is_installed(
    published: bytes, tamper: Any, field: str, members: Actor, apps_of: AppsOf, runtime: Runtime
) -> None:
    before = snapshot(runtime.database)

    with pytest.raises(ValidationError) as refused:
        apps_of(members("admin", "globex")).install(tamper(published))

    assert refused.value.field == field
    assert "stolen" not in str(refused.value) and "leaked" not in str(refused.value)
    assert snapshot(runtime.database) == before


def test_a_package_is_installed_into_a_client_workspace_only(
    published: bytes, builder: Principal, apps_of: AppsOf, runtime: Runtime
) -> None:
    before = snapshot(runtime.database)

    with pytest.raises(ValidationError) as refused:
        apps_of(builder).install(published)

    assert refused.value.field == "workspace"
    assert snapshot(runtime.database) == before


def test_a_client_user_cannot_install(
    published: bytes, members: Actor, apps_of: AppsOf, runtime: Runtime
) -> None:
    before = snapshot(runtime.database)

    with pytest.raises(PermissionDenied):
        apps_of(members("user", "globex")).install(published)

    assert snapshot(runtime.database) == before
