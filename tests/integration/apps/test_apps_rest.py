"""/apps over REST: apps, components, app access and app users, one round trip per endpoint,
and the refusals, each leaving the store as it was. On SQLite and PostgreSQL."""

from __future__ import annotations

from plugboard.domain.principal import Principal
from tests.integration.apps.rest_support import APP, Rest, build_property_sales, ok, rest
from tests.support import snapshot

__all__ = ["rest"]


def test_an_app_is_created_listed_page_by_page_shown_renamed_and_deleted(
    rest: Rest, builder: Principal
) -> None:
    dev = rest.as_("dev")
    created = ok(dev.post("/apps", json={"name": "Property sales"}), 201)
    for name in ("Back office", "Customer portal"):
        ok(dev.post("/apps", json={"name": name}), 201)
    first = ok(dev.get("/apps", params={"limit": 2}))
    second = ok(dev.get("/apps", params={"limit": 2, "cursor": first["next_cursor"]}))
    shown = ok(dev.get(f"/apps/{APP}", params={"environment": "stage"}))
    renamed = ok(dev.patch(f"/apps/{APP}", json={"name": "Property sales 2"}))
    deleted = ok(dev.delete("/apps/back_office"))

    assert (created["link_name"], created["name"], created["origin"]) == (
        APP, "Property sales", "created",
    )  # fmt: skip
    assert [a["link_name"] for a in first["items"]] == ["back_office", "customer_portal"]
    assert [a["link_name"] for a in second["items"]] == [APP]
    assert second["next_cursor"] is None
    assert (shown["environment"], shown["components"], shown["connections"]) == ("stage", [], [])
    assert (renamed["link_name"], renamed["name"]) == (APP, "Property sales 2")
    assert deleted == {"deleted": "back_office"}
    assert dev.get("/apps/back_office").status_code == 404
    listed = ok(dev.get("/apps"))["items"]
    assert [(a["link_name"], a["name"]) for a in listed] == [
        ("customer_portal", "Customer portal"), (APP, "Property sales 2"),
    ]  # fmt: skip


def test_a_user_may_not_create_an_app_and_the_store_is_unchanged(
    rest: Rest, builder: Principal
) -> None:
    user = rest.as_("user")
    ok(user.get("/apps"))  # the token's first use is stamped; nothing after may change
    before = snapshot(rest.runtime.database)

    refused = user.post("/apps", json={"name": "Shadow app"})

    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert snapshot(rest.runtime.database) == before
    assert ok(rest.as_("dev").get("/apps"))["items"] == []


def test_an_app_is_not_built_in_a_client_workspace(rest: Rest) -> None:
    refused = rest.as_("admin", "globex").post("/apps", json={"name": "Property sales"})
    assert refused.status_code == 403, refused.text


def test_an_unknown_environment_is_refused_with_422(rest: Rest, builder: Principal) -> None:
    dev = rest.as_("dev")
    ok(dev.post("/apps", json={"name": "Property sales"}), 201)
    for path in (f"/apps/{APP}", f"/apps/{APP}/panel"):
        refused = dev.get(path, params={"environment": "prod"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "query.environment"


def test_components_are_put_and_deleted_and_keep_the_references(
    rest: Rest, builder: Principal
) -> None:
    dev = rest.as_("dev")
    build_property_sales(dev)

    put = ok(dev.put(f"/apps/{APP}/components/page/Dashboard", json={
        "connections": ["books_ledger", "team_sheet"],
    }))  # fmt: skip
    listed = ok(dev.get(f"/apps/{APP}"))
    refs = ok(dev.get("/connections/books_ledger/references"))["items"]
    deleted = ok(dev.delete(f"/apps/{APP}/components/page/Dashboard"))
    refs_after = ok(dev.get("/connections/books_ledger/references"))["items"]

    assert (put["kind"], put["name"], put["environment"]) == ("page", "Dashboard", "development")
    assert put["connections"] == ["books_ledger", "team_sheet"]
    assert sorted((c["kind"], c["name"]) for c in listed["components"]) == [
        ("form", "Listing"), ("page", "Dashboard"), ("workflow", "Sync"),
    ]  # fmt: skip
    assert {c["link_name"] for c in listed["connections"]} == {"books_ledger", "team_sheet"}
    assert sorted(r["component_name"] for r in refs) == ["Dashboard", "Listing"]
    assert deleted == {"deleted": "page/Dashboard"}
    assert [r["component_name"] for r in refs_after] == ["Listing"]
    # the connection a component references cannot be deleted (SPEC §3)
    assert dev.delete("/connections/books_ledger").status_code == 409


def test_a_component_naming_an_unknown_connection_is_refused_and_nothing_changes(
    rest: Rest, builder: Principal
) -> None:
    dev = rest.as_("dev")
    build_property_sales(dev)
    before = snapshot(rest.runtime.database)

    refused = dev.put(f"/apps/{APP}/components/form/Quote", json={"connections": ["nope"]})
    unknown_kind = dev.put(f"/apps/{APP}/components/gadget/Quote", json={})

    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "connections[0]"
    assert unknown_kind.status_code == 422, unknown_kind.text
    assert snapshot(rest.runtime.database) == before
    assert dev.delete(f"/apps/{APP}/components/form/Quote").status_code == 404


def test_app_access_is_enabled_disabled_and_its_rules_refuse_with_409(
    rest: Rest, builder: Principal
) -> None:
    dev = rest.as_("dev")
    build_property_sales(dev)
    ok(dev.post("/connections", json={
        "service": "books", "link_name": "spare_books", "scopes": ["invoices.read"],
    }), 201)  # fmt: skip
    ok(dev.post("/apps", json={"name": "Back office"}), 201)

    enabled = ok(dev.put(f"/apps/{APP}/access/spare_books"))
    taken = dev.put("/apps/back_office/access/spare_books")
    disabled = ok(dev.delete(f"/apps/{APP}/access/spare_books"))
    then_back_office = ok(dev.put("/apps/back_office/access/spare_books"))
    before = snapshot(rest.runtime.database)
    referenced = dev.delete(f"/apps/{APP}/access/books_ledger")

    assert enabled["link_name"] == disabled["link_name"] == "spare_books"
    assert taken.status_code == 409, taken.text
    assert taken.json()["details"] == {"rule": "one_app_per_connection", "app": APP}
    assert then_back_office["link_name"] == "spare_books"
    assert referenced.status_code == 409, referenced.text
    assert referenced.json()["details"]["rule"] == "referenced"
    assert snapshot(rest.runtime.database) == before


def test_members_are_granted_an_app_and_a_user_sees_only_what_is_granted(
    rest: Rest, builder: Principal
) -> None:
    dev, admin, user = rest.as_("dev"), rest.as_("admin"), rest.as_("user")
    build_property_sales(dev)
    assert ok(user.get("/apps"))["items"] == []
    assert user.get(f"/apps/{APP}").status_code == 404

    granted = ok(admin.put(f"/apps/{APP}/users/user@acme.test"))
    again = ok(admin.put(f"/apps/{APP}/users/user@acme.test"))
    seen = ok(user.get("/apps"))["items"]
    panel = ok(user.get(f"/apps/{APP}/panel"))["items"]
    ungranted = ok(admin.delete(f"/apps/{APP}/users/user@acme.test"))

    assert granted == {"app": APP, "user": "user@acme.test", "changed": True}
    assert again["changed"] is False
    assert [a["link_name"] for a in seen] == [APP]
    # a `user` sees only the user-level connections of the app's components
    assert [(e["link_name"], e["level"]) for e in panel] == [("team_sheet", "user")]
    assert ungranted["changed"] is True
    assert user.get(f"/apps/{APP}").status_code == 404
    assert dev.put(f"/apps/{APP}/users/user@acme.test").status_code == 403
    assert admin.put(f"/apps/{APP}/users/nobody@acme.test").status_code == 404


def test_the_panel_shows_each_connection_per_environment_to_a_builder(
    rest: Rest, builder: Principal
) -> None:
    dev = rest.as_("dev")
    build_property_sales(dev)

    panel = ok(dev.get(f"/apps/{APP}/panel"))
    stage = ok(dev.get(f"/apps/{APP}/panel", params={"environment": "stage", "limit": 1}))
    rest_of_stage = ok(dev.get(f"/apps/{APP}/panel", params={"cursor": stage["next_cursor"]}))

    by_link = {e["link_name"]: e for e in panel["items"]}
    assert set(by_link) == {"books_ledger", "team_sheet"}
    ledger = by_link["books_ledger"]
    assert (ledger["service"], ledger["service_name"], ledger["level"]) == (
        "books", "Books", "admin",
    )  # fmt: skip
    assert [(a["environment"], a["status"]) for a in ledger["authorizations"]] == [
        ("development", "not_connected"), ("stage", "not_connected"),
    ]  # fmt: skip
    assert ledger["may_authorize"] is True
    assert [e["link_name"] for e in stage["items"]] == ["books_ledger"]
    assert [e["link_name"] for e in rest_of_stage["items"]] == ["team_sheet"]
    assert [a["environment"] for a in stage["items"][0]["authorizations"]] == ["stage"]
