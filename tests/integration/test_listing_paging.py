"""Lists paged in SQL that were paged in memory: everyone's authorizations of a connection read
in index-served parts (the shared rows, then the users' walked by e-mail) keep the list's order
across environments and cursors; a connection's details show the first page, a count and the
cursor of the next page; an app's users are paged by e-mail; `connections list --json` writes
the same JSON a page at a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from plugboard.domain.credentials import OAuth2Credential
from plugboard.domain.ids import new_id
from plugboard.domain.models import ConnectionLevel, Role
from plugboard.domain.principal import OPERATOR
from plugboard.server.pagination import encode_cursor
from plugboard.settings import Settings
from plugboard.store.authorizations import AuthorizationKey, listing_key
from plugboard.store.database import Database
from plugboard.store.tables import authorizations
from plugboard.usecases import connection_details, identity
from plugboard.usecases.apps import create_app, grant_app, put_component
from plugboard.usecases.connections import create_connection
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service
from tests.integration.remote_support import token
from tests.stack import OAUTH_SERVICE, Actor, Stack

LINK = "c_mixed"
PEOPLE = [f"m{i:02d}@acme.test" for i in range(7)]


@pytest.fixture
def mixed(runtime: Runtime, members: Actor) -> Iterator[str]:
    """A per-environment user-level connection authorized in development and production by
    seven users (m00, m01 developers) and `root`, plus shared rows (no owner) in `all` and
    development: every part the store reads a page from. Yields the connection's id."""
    dev = members("dev")
    members("root")
    with runtime.unit() as unit:
        for i, email in enumerate(PEOPLE):
            role = Role.DEVELOPER if i < 2 else Role.USER
            identity.add_user(unit, OPERATOR, email=email, role=role, workspace="acme")
        create_custom_service(unit, dev, OAUTH_SERVICE)
        connection = create_connection(unit, dev, service="osvc", link_name=LINK,
                                       scopes=["read"], level=ConnectionLevel.USER,
                                       per_environment=True)  # fmt: skip
        for email in ["root@acme.test", *PEOPLE]:
            for environment in ("production", "development"):
                store_credential(
                    unit, OPERATOR, connection=LINK, workspace="acme", owner=email,
                    environment=environment, credential=OAuth2Credential(f"t-{email}"),
                )  # fmt: skip
        now = datetime.now(UTC)
        workspace_id = unit.workspaces.get("acme").id
        for environment in ("all", "development"):
            unit.conn.execute(
                authorizations.insert().values(
                    id=new_id("authz"), workspace_id=workspace_id, connection_id=connection.id,
                    environment=environment, owner_user_id=None, account_id=None,
                    status="not_connected", is_primary=False, created_at=now, updated_at=now,
                )
            )  # fmt: skip
    yield connection.id


def _store_pages(runtime: Runtime, connection_id: str, limit: int, **filters: Any) -> list[Any]:
    seen: list[AuthorizationKey] = []
    after: AuthorizationKey | None = None
    for _ in range(100):  # bounded: far more pages than any test makes
        with runtime.unit(write=False) as unit:
            rows = unit.authorizations.page(connection_id, after=after, limit=limit, **filters)
        assert len(rows) <= limit
        seen += [listing_key(r) for r in rows]
        if len(rows) < limit:
            return seen
        after = listing_key(rows[-1])
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 8, 100])
def test_everyones_pages_keep_the_order_across_parts(
    runtime: Runtime, mixed: str, limit: int
) -> None:
    with runtime.unit(write=False) as unit:
        everything = [listing_key(r) for r in unit.authorizations.page(mixed)]
    assert len(everything) == 2 * 8 + 2
    assert everything == sorted(everything)  # (environment, e-mail or "", id)
    assert everything[0][:2] == ("all", "")  # the shared rows first in their environment
    assert [k[1] for k in everything if k[0] == "development"][:1] == [""]
    assert _store_pages(runtime, mixed, limit) == everything


def test_filters_hold_across_the_parts(runtime: Runtime, mixed: str) -> None:
    with runtime.unit(write=False) as unit:
        everything = [(listing_key(r), r) for r in unit.authorizations.page(mixed)]
    production = [k for k, _ in everything if k[0] in ("production", "all")]
    developers = [k for k, r in everything if r.owner_role is Role.DEVELOPER]
    searched = [k for k, _ in everything if "m0" in k[1]]
    assert _store_pages(runtime, mixed, 2, environment="production") == production
    assert _store_pages(runtime, mixed, 1, role=Role.DEVELOPER) == developers
    assert len(developers) == 4
    assert _store_pages(runtime, mixed, 3, search="M0") == searched
    assert len(searched) == 14


def test_one_owners_rows_and_the_count(runtime: Runtime, mixed: str, members: Actor) -> None:
    root = members("root")
    with runtime.unit(write=False) as unit:
        own = unit.authorizations.page(mixed, owner=root.user_id)
        shared = unit.authorizations.page(mixed, owner=None)
        assert unit.authorizations.count(mixed) == 18
        assert unit.authorizations.count(mixed, owner=root.user_id) == 2
        assert unit.authorizations.count(mixed, owner=None) == 2
    assert [listing_key(r)[:2] for r in own] == [
        ("development", "root@acme.test"), ("production", "root@acme.test")
    ]  # fmt: skip
    assert [listing_key(r)[:2] for r in shared] == [("all", ""), ("development", "")]


def _listed(api: httpx2.Client, cursor: str | None) -> list[str]:
    seen: list[str] = []
    for _ in range(100):  # bounded
        if cursor is None:
            return seen
        page = api.get(f"/connections/{LINK}/authorizations", params={"cursor": cursor, "limit": 4})
        assert page.status_code == 200, page.text
        seen += [a["id"] for a in page.json()["items"]]
        cursor = page.json()["next_cursor"]
    raise AssertionError("the cursor never ended")


def test_details_show_the_first_page_a_count_and_where_the_list_goes_on(
    stack: Stack, mixed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection_details, "DETAILS_AUTHORIZATIONS", 5)
    root = stack.api("root")
    every = root.get(f"/connections/{LINK}/authorizations", params={"limit": 200}).json()
    details = root.get(f"/connections/{LINK}").json()
    first = [a["id"] for a in details["authorizations"]]
    assert details["authorization_count"] == 18
    assert first == [a["id"] for a in every["items"][:5]]
    rest = _listed(root, details["authorizations_next_cursor"])
    assert first + rest == [a["id"] for a in every["items"]]  # no gap, no repeat


def test_a_users_details_show_their_own_only(stack: Stack, mixed: str) -> None:
    api = stack.api("user")
    with stack.runtime.unit() as unit:
        store_credential(
            unit, OPERATOR, connection=LINK, workspace="acme", owner="user@acme.test",
            environment="production", credential=OAuth2Credential("t-user"),
        )  # fmt: skip
    details = api.get(f"/connections/{LINK}").json()
    assert details["authorization_count"] == 1
    assert details["authorizations_next_cursor"] is None
    assert [a["environment"] for a in details["authorizations"]] == ["production"]
    assert {a["owner_user_id"] for a in details["authorizations"]} == {
        stack.members("user").user_id
    }


@pytest.fixture
def granted(runtime: Runtime, members: Actor) -> list[str]:
    """An app granted to nine members (and not to two more); their e-mails in order."""
    root = members("root")
    emails = [f"g{i}@acme.test" for i in (5, 3, 8, 1, 0, 7, 2, 6, 4)]
    with runtime.unit() as unit:
        for email in [*emails, "not1@acme.test", "not2@acme.test"]:
            identity.add_user(unit, OPERATOR, email=email, role=Role.USER, workspace="acme")
        create_app(unit, root, name="Paged app", link_name="paged")
        for email in emails:
            grant_app(unit, root, "paged", email, workspace=None)
    return sorted(emails)


def test_an_apps_users_are_paged_by_email(stack: Stack, granted: list[str]) -> None:
    api = stack.api("root")
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    for _ in range(20):  # bounded
        pages += 1
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/apps/paged/users", params=params)
        assert page.status_code == 200, page.text
        seen += [u["email"] for u in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == granted
    assert pages == 5
    whole = api.get("/apps/paged/users").json()
    assert [u["email"] for u in whole["items"]] == granted
    assert whole["next_cursor"] is None


def test_an_apps_users_are_refused_to_a_user_and_a_foreign_cursor(
    stack: Stack, granted: list[str]
) -> None:
    refused = stack.api("user").get("/apps/paged/users")
    assert refused.status_code in (403, 404), refused.text
    bad = stack.api("root").get("/apps/paged/users", params={"cursor": encode_cursor([1, 2])})
    assert bad.status_code == 422
    assert bad.json()["field"] == "cursor"


def _cli_env(home: Path, stack: Stack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env.update(
        PLUGBOARD_HOME=str(home / "nothing-here"),
        PLUGBOARD_SERVER=stack.base_url,
        PLUGBOARD_TOKEN=token(stack, "dev"),
    )
    return env


def test_connections_list_json_is_written_a_page_at_a_time_as_one_list(
    stack: Stack, tmp_path: Path, members: Actor
) -> None:
    dev = members("dev")
    with stack.runtime.unit() as unit:
        create_custom_service(unit, dev, OAUTH_SERVICE)
        for i in range(57):  # two pages of 50
            create_connection(unit, dev, service="osvc", link_name=f"c{i:03d}", scopes=["read"])
    expected = []
    cursor: str | None = None
    api = stack.api("dev")
    for _ in range(10):  # bounded
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = api.get("/connections", params=params)
        expected += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    listed = subprocess.run(
        [sys.executable, "-m", "plugboard.cli", "connections", "list", "--json"],
        env=_cli_env(tmp_path, stack), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == expected
    assert len(expected) == 57
    assert listed.stdout == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
    empty = subprocess.run(
        [sys.executable, "-m", "plugboard.cli", "connections", "list", "--json",
         "--search", "nothing-like-this"],
        env=_cli_env(tmp_path, stack), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout == "[]\n"


def test_a_panel_reads_the_viewers_rows_and_the_primary_only(runtime: Runtime, mixed: str) -> None:
    with runtime.unit(write=False) as unit:
        m03 = unit.users.get("m03@acme.test").id
        mine = unit.authorizations.serving([mixed], user_level={mixed}, viewer=m03)[mixed]
        shared = unit.authorizations.serving([mixed], viewer=m03)[mixed]
        assert unit.authorizations.serving([]) == {}
    # root authorized first: its rows are the primary ones (one per environment)
    assert {(r.owner_email, r.summary.environment, r.summary.is_primary) for r in mine} == {
        ("m03@acme.test", "development", False), ("m03@acme.test", "production", False),
        ("root@acme.test", "development", True), ("root@acme.test", "production", True),
    }  # fmt: skip
    assert {(r.owner_email, r.summary.environment) for r in shared} == {
        (None, "all"), (None, "development"),
        ("root@acme.test", "development"), ("root@acme.test", "production"),
    }  # fmt: skip


COMPONENTS = [
    ("form", "a1"),
    ("function", "f1"),
    ("function", "f2"),
    ("page", "p1"),
    ("page", "p2"),
]


def test_a_connections_references_are_paged_in_sql(stack: Stack, members: Actor) -> None:
    dev = members("dev")
    root = members("root")
    with stack.runtime.unit() as unit:
        create_custom_service(unit, dev, OAUTH_SERVICE)
        create_connection(unit, dev, service="osvc", link_name="shared_c", scopes=["read"])
        create_app(unit, root, name="App zeta", link_name="zeta")
        for kind, name in COMPONENTS[::-1]:
            put_component(unit, root, "zeta", kind=kind, name=name, connections=["shared_c"])
    api = stack.api("root")
    seen: list[tuple[str, str, str]] = []
    cursor: str | None = None
    pages = 0
    for _ in range(20):  # bounded
        pages += 1
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/connections/shared_c/references", params=params)
        assert page.status_code == 200, page.text
        seen += [(r["app"], r["component_type"], r["component_name"]) for r in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    expected = [("zeta", kind, name) for kind, name in COMPONENTS]
    assert seen == expected
    assert pages == 2
    bad = api.get("/connections/shared_c/references", params={"cursor": encode_cursor(["a"])})
    assert bad.status_code == 422
    assert bad.json()["field"] == "cursor"
    hidden = stack.api("user").get("/connections/shared_c/references")
    assert hidden.status_code == 404  # an admin-level connection is not a `user`'s to see


def _service_pages(api: httpx2.Client, limit: int, **filters: Any) -> tuple[list[str], int]:
    seen: list[str] = []
    cursor: str | None = None
    for pages in range(1, 100):  # bounded
        params: dict[str, Any] = {
            "limit": limit,
            **filters,
            **({"cursor": cursor} if cursor else {}),
        }
        page = api.get("/services", params=params)
        assert page.status_code == 200, page.text
        seen += [s["link_name"] for s in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return seen, pages
    raise AssertionError("the cursor never ended")


@pytest.mark.parametrize("limit", [1, 3, 7, 200])
def test_services_merge_custom_pages_with_the_catalog(
    stack: Stack, members: Actor, limit: int
) -> None:
    dev = members("dev")
    customs = ["aaa_first", "gh_mine", "m_sales", "zz_last", "zz_other"]
    with stack.runtime.unit() as unit:
        for link in customs:
            create_custom_service(unit, dev, OAUTH_SERVICE.replace("osvc", link).replace(
                "OAuth svc", f"Svc {link}"))  # fmt: skip
    api = stack.api("user")
    everything, _ = _service_pages(api, 200)
    assert everything == sorted(everything)
    assert set(customs) <= set(everything)
    assert len(everything) == len(set(everything)) > len(customs)
    assert _service_pages(api, limit)[0] == everything
    assert _service_pages(api, limit, custom="true")[0] == customs
    assert _service_pages(api, limit, search="svc zz")[0] == ["zz_last", "zz_other"]


def test_the_openapi_schema_documents_the_details_first_page(stack: Stack) -> None:
    schema = httpx2.get(f"{stack.base_url}/api/v1/openapi.json", timeout=10).json()
    answer = schema["paths"]["/api/v1/connections/{link_name}"]["get"]["responses"]["200"]
    ref = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    fields = schema["components"]["schemas"][ref]["properties"]
    assert "first page" in fields["authorizations"]["description"]
    assert fields["authorization_count"]["type"] == "integer"
    assert "/authorizations" in fields["authorizations_next_cursor"]["description"]


def test_connections_list_json_embedded_pages_through_the_store(
    tmp_path: Path, database: Database
) -> None:
    from tests.cli_inprocess import plugboard_in_process

    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env |= {"PLUGBOARD_HOME": str(tmp_path / "home"), "PLUGBOARD_DATABASE_URL": database.url}
    assert plugboard_in_process(["init"], env, "").returncode == 0
    links = [f"c{i:03d}" for i in range(53)]  # two store pages of 50
    # The scene is set through the store (the command under test is the listing).
    runtime = Runtime.open(Settings(home=tmp_path / "home", database_url=database.url))
    try:
        with runtime.unit() as unit:
            for link in reversed(links):
                create_connection(unit, OPERATOR, service="stripe", link_name=link)
    finally:
        runtime.close()
    listed = plugboard_in_process(["connections", "list", "--json"], env, "")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)
    assert [c["link_name"] for c in items] == links
    assert listed.stdout == json.dumps(items, indent=2, ensure_ascii=False) + "\n"


def test_an_apps_versions_are_paged_in_sql(stack: Stack, members: Actor) -> None:
    from plugboard.usecases.app_publish import publish_to_stage

    dev = members("dev")
    root = members("root")
    with stack.runtime.unit() as unit:
        create_custom_service(unit, dev, OAUTH_SERVICE)
        create_connection(unit, dev, service="osvc", link_name="ver_c", scopes=["read"])
        create_app(unit, root, name="Versioned", link_name="versioned")
    for i in range(5):
        with stack.runtime.unit() as unit:
            put_component(unit, root, "versioned", kind="function", name=f"f{i}",
                          connections=["ver_c"])  # fmt: skip
            publish_to_stage(unit, root, "versioned")
    api = stack.api("root")
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(20):  # bounded
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/apps/versioned/versions", params=params)
        assert page.status_code == 200, page.text
        seen += [v["number"] for v in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4, 5]
    for bad in (encode_cursor(["1"]), encode_cursor([True]), encode_cursor([1, 2])):
        refused = api.get("/apps/versioned/versions", params={"cursor": bad})
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "cursor"
