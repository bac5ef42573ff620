"""/apps/{app}/publish, versions, package, /packages/install and import, app tokens, system
connections over REST, and the refusals: a tampered package, a package in the wrong kind of
workspace. Each refusal leaves the store as it was. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from plugboard.domain.packages import read_package
from plugboard.domain.principal import Principal
from tests.integration.apps.rest_support import (
    APP,
    Rest,
    build_property_sales,
    ok,
    package_of,
    resealed,
    rest,
)
from tests.support import snapshot

__all__ = ["rest"]


def test_publish_lists_versions_and_answers_the_package_file_as_an_attachment(
    rest: Rest, builder: Principal
) -> None:
    dev = rest.as_("dev")
    build_property_sales(dev)

    first = ok(dev.post(f"/apps/{APP}/publish", json={"components": ["form/Listing"]}), 201)
    second = ok(dev.post(f"/apps/{APP}/publish"), 201)
    versions = ok(dev.get(f"/apps/{APP}/versions", params={"limit": 1}))
    more = ok(dev.get(f"/apps/{APP}/versions", params={"cursor": versions["next_cursor"]}))
    newest = dev.get(f"/apps/{APP}/package")
    oldest = dev.get(f"/apps/{APP}/package", params={"version": 1})

    assert (first["number"], first["components"], first["connections"]) == (1, 1, 1)
    assert (second["number"], second["components"], second["connections"]) == (2, 2, 2)
    assert [v["number"] for v in versions["items"] + more["items"]] == [1, 2]
    assert newest.status_code == 200, newest.text
    assert newest.headers["content-type"].startswith("application/json")
    assert newest.headers["content-disposition"] == (
        f'attachment; filename="{APP}-2.plugboard.json"'
    )
    assert oldest.headers["content-disposition"].endswith(f'"{APP}-1.plugboard.json"')
    content = read_package(newest.content)
    assert (content.app.link_name, content.app.version) == (APP, 2)
    assert [c.link_name for c in content.connections] == ["books_ledger", "team_sheet"]
    assert json.loads(newest.content)["digest"] == second["digest"]
    assert [c.name for c in read_package(oldest.content).components] == ["Listing"]
    assert dev.get(f"/apps/{APP}/package", params={"version": 9}).status_code == 404


def test_a_package_installs_into_a_client_workspace_and_a_newer_one_updates_it(
    rest: Rest, builder: Principal
) -> None:
    dev, admin = rest.as_("dev"), rest.as_("admin", "globex")
    build_property_sales(dev)
    package = package_of(dev)

    # any content type: the body is the package file's bytes
    report = ok(admin.post("/packages/install", content=package, headers={
        "Content-Type": "text/plain",
    }))  # fmt: skip
    installed = ok(admin.get(f"/apps/{APP}"))
    panel = ok(admin.get(f"/apps/{APP}/panel"))["items"]
    ok(dev.patch("/connections/books_ledger", json={
        "scopes": ["invoices.read", "invoices.write"],
    }))  # fmt: skip
    update = ok(admin.post("/packages/install", content=package_of(dev)))
    same_again = admin.post("/packages/install", content=package)

    assert (report["app"]["link_name"], report["app"]["origin"], report["environment"]) == (
        APP, "installed", "production",
    )  # fmt: skip
    assert report["previous_version"] is None
    assert report["added"] == ["books_ledger", "team_sheet"]
    assert report["services_created"] == ["books", "sheets"]
    assert (installed["environment"], len(installed["components"])) == ("production", 2)
    assert {e["link_name"]: [a["status"] for a in e["authorizations"]] for e in panel} == {
        "books_ledger": ["not_connected"], "team_sheet": ["not_connected"],
    }  # fmt: skip
    assert (update["previous_version"], update["app"]["version"]) == (1, 2)
    assert update["updated"] == ["books_ledger"]
    assert update["unchanged"] == ["team_sheet"]
    assert same_again.status_code == 409, same_again.text
    assert same_again.json()["details"]["rule"] == "newer_version_only"


def test_importing_where_the_link_names_exist_makes_copies(rest: Rest, builder: Principal) -> None:
    dev = rest.as_("dev")
    build_property_sales(dev)

    report = ok(dev.post("/packages/import", content=package_of(dev)))
    copy = ok(dev.get(f"/apps/{report['app']['link_name']}"))

    assert (report["app"]["link_name"], report["app"]["origin"]) == (f"{APP}_copy", "imported")
    assert report["renamed"] == {
        "books_ledger": "books_ledger_copy", "team_sheet": "team_sheet_copy",
    }  # fmt: skip
    assert copy["environment"] == "development"
    used = sorted(link for c in copy["components"] for link in c["connections"])
    assert used == ["books_ledger_copy", "team_sheet_copy"]


def _credential_added(document: dict[str, Any]) -> None:
    document["connections"][0]["params"] = {"access_token": "s3cr3t-token-value"}


def _system_connection_added(document: dict[str, Any]) -> None:
    document["connections"].append(
        {"link_name": "texts", "name": "Texts", "service": "twilio", "level": "system"}
    )


def _one_byte_changed(package: bytes) -> bytes:
    return package.replace(b'"Books ledger"', b'"Books ledgeR"', 1)


@pytest.mark.parametrize(
    ("tamper", "field"),
    [
        (_one_byte_changed, "digest"),
        (lambda p: resealed(p, _credential_added), "connections[0].params.access_token"),
        (lambda p: resealed(p, _system_connection_added), "connections[2].level"),
        (lambda p: b"not a package", "package"),
    ],
    ids=["one byte changed", "a credential added", "a system connection added", "not json"],
)
def test_a_tampered_package_is_refused_with_422_naming_the_field_and_nothing_installed(
    rest: Rest, builder: Principal, tamper: Any, field: str
) -> None:
    dev, admin = rest.as_("dev"), rest.as_("admin", "globex")
    build_property_sales(dev)
    tampered = tamper(package_of(dev))
    ok(admin.get("/apps"))
    before = snapshot(rest.runtime.database)

    refused = admin.post("/packages/install", content=tampered)

    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field
    assert "s3cr3t-token-value" not in refused.text
    assert snapshot(rest.runtime.database) == before
    assert ok(admin.get("/apps"))["items"] == []


def test_a_package_is_not_installed_into_a_developer_workspace(
    rest: Rest, builder: Principal
) -> None:
    dev, user = rest.as_("dev"), rest.as_("user", "globex")
    build_property_sales(dev)
    package = package_of(dev)
    ok(user.get("/apps"))
    before = snapshot(rest.runtime.database)

    refused = dev.post("/packages/install", content=package)
    by_a_user = user.post("/packages/install", content=package)

    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "workspace"
    assert by_a_user.status_code == 403, by_a_user.text
    assert snapshot(rest.runtime.database) == before


def test_an_app_token_is_shown_once_and_acts_only_for_its_app(
    rest: Rest, builder: Principal
) -> None:
    dev = rest.as_("dev")
    build_property_sales(dev)
    ok(dev.post("/apps", json={"name": "Back office"}), 201)

    issued = ok(dev.post(f"/apps/{APP}/tokens", json={"name": "prod"}), 201)
    listed = dev.get(f"/apps/{APP}/tokens")
    app = rest.as_app_token(issued["secret"])
    own = ok(app.get(f"/apps/{APP}"))
    panel = ok(app.get(f"/apps/{APP}/panel"))["items"]
    made = app.put(f"/apps/{APP}/system-connections/twilio")
    found = app.put(f"/apps/{APP}/system-connections/twilio")
    unused = app.put(f"/apps/{APP}/system-connections/stripe")
    refused = {
        "other app": app.get("/apps/back_office"),
        "create app": app.post("/apps", json={"name": "Mine"}),
        "own tokens": app.get(f"/apps/{APP}/tokens"),
        "publish": app.post(f"/apps/{APP}/publish"),
        "components": app.put(f"/apps/{APP}/components/form/X", json={}),
    }
    revoked = ok(dev.delete(f"/apps/{APP}/tokens/{issued['id']}"))

    assert issued["secret"].startswith("pba_") and issued["prefix"] == issued["secret"][:10]
    assert listed.status_code == 200 and issued["secret"] not in listed.text
    [token] = listed.json()["items"]
    assert "secret" not in token and token["revoked_at"] is None and token["name"] == "prod"
    assert own["link_name"] == APP
    assert {e["link_name"] for e in panel} == {"books_ledger", "team_sheet"}
    assert all(e["may_authorize"] is False for e in panel)
    assert made.status_code == 201, made.text
    assert made.json()["created"] is True and made.json()["connection"]["level"] == "system"
    assert found.status_code == 200 and found.json()["created"] is False
    assert found.json()["connection"]["link_name"] == made.json()["connection"]["link_name"]
    assert unused.status_code == 404, unused.text
    assert {k: r.status_code for k, r in refused.items()} == {
        "other app": 404, "create app": 403, "own tokens": 403, "publish": 403,
        "components": 403,
    }  # fmt: skip
    assert revoked["revoked_at"] is not None and "secret" not in revoked
    assert app.get(f"/apps/{APP}").status_code == 401
    assert dev.delete(f"/apps/back_office/tokens/{issued['id']}").status_code == 404
