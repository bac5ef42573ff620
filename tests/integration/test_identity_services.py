"""Workspaces, members, tokens, the audit log and consents as usecase services: each call owns
its transaction and returns public records; lists are filtered and keyset-paged by the store,
so pages never repeat or skip an entry -- even among entries made at the same instant."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from plugboard.domain.models import Role
from plugboard.domain.principal import OPERATOR
from plugboard.records import MemberPublic, TokenCreated
from plugboard.server.app import create_app
from plugboard.usecases.audit_service import AuditLog
from plugboard.usecases.identity_service import Members, Tokens, Workspaces
from plugboard.usecases.runtime import Runtime
from tests.integration.test_consent_flows import _consent, _create
from tests.stack import Actor, Stack


def _pages(get: Callable[[dict[str, Any]], httpx2.Response], limit: int) -> list[list[Any]]:
    pages: list[list[Any]] = []
    cursor: str | None = None
    for _ in range(100):  # bounded: far more pages than any test makes
        answer = get({"limit": limit, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        pages.append(answer.json()["items"])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the cursor never ended")


@pytest.fixture
def root_api(runtime: Runtime, members: Actor) -> TestClient:
    issued = Tokens(runtime, members("root")).create(name="paging")
    client = TestClient(create_app(runtime.settings, runtime=runtime))
    client.headers["Authorization"] = f"Bearer {issued.secret}"
    return client


def test_members_are_paged_by_email_without_repeats_or_gaps(
    runtime: Runtime, members: Actor, root_api: TestClient
) -> None:
    for i in range(7):
        Members(runtime, OPERATOR, "acme").add(f"extra{i}@acme.test")
    everyone = [m.email for m in Members(runtime, members("root")).list()]

    pages = _pages(lambda q: root_api.get("/api/v1/users", params=q), limit=3)

    assert [m["email"] for page in pages for m in page] == sorted(everyone)
    assert len(everyone) > 7 and all(len(page) <= 3 for page in pages)


def test_member_filters_hold_across_pages(
    runtime: Runtime, members: Actor, root_api: TestClient
) -> None:
    for i in range(5):
        Members(runtime, OPERATOR, "acme").add(f"ops{i}@acme.test", name=f"Night Shift {i}")
    Members(runtime, OPERATOR, "acme").add("lead@acme.test", role=Role.ADMIN, name="Night Lead")

    def listed(**filters: str) -> list[str]:
        pages = _pages(lambda q: root_api.get("/api/v1/users", params={**q, **filters}), 2)
        return [m["email"] for page in pages for m in page]

    assert listed(search="NIGHT SHIFT") == [f"ops{i}@acme.test" for i in range(5)]
    assert listed(search="night", role="admin") == ["lead@acme.test"]
    assert listed(role="no_such_role") == []


def test_tokens_made_at_one_instant_are_paged_without_repeats_or_gaps(
    runtime: Runtime, members: Actor, root_api: TestClient
) -> None:
    # The test clock stands still: every token has the same created_at, the id breaks the tie.
    made = [Tokens(runtime, members("root")).create(name=f"t{i}").id for i in range(6)]

    pages = _pages(lambda q: root_api.get("/api/v1/tokens", params=q), limit=4)

    listed = [t["id"] for page in pages for t in page]
    assert sorted(listed) == listed and set(made) < set(listed) and len(pages) == 2


def test_audit_entries_of_one_instant_are_paged_without_repeats_or_gaps(
    runtime: Runtime, members: Actor
) -> None:
    root = members("root")
    for i in range(5):
        Tokens(runtime, root).create(name=f"audited{i}")
    log = AuditLog(runtime, root)
    seen: list[str] = []
    page = log.page(action="token.create", limit=2)
    while True:
        seen += [e.detail["name"] for e in page.items]
        if page.next_key is None:
            break
        page = log.page(action="token.create", before=page.next_key, limit=2)

    assert sorted(seen) == [f"audited{i}" for i in range(5)] and len(seen) == 5


def test_a_new_token_record_keeps_its_secret_out_of_repr(runtime: Runtime, members: Actor) -> None:
    issued = Tokens(runtime, members("dev")).create(name="shown-once")
    assert isinstance(issued, TokenCreated) and issued.secret.startswith("pbt_")
    assert issued.secret not in repr(issued)


def test_the_operator_lists_every_workspace_and_a_member_only_their_own(
    runtime: Runtime, members: Actor
) -> None:
    names = [w.name for w in Workspaces(runtime, OPERATOR).list()]
    assert {"acme", "globex"} <= set(names) and names == sorted(names)
    assert Workspaces(runtime, members("dev")).current().name == "acme"


def test_an_added_member_is_listed_as_the_rest_api_shows_them(
    runtime: Runtime, members: Actor, root_api: TestClient
) -> None:
    Members(runtime, members("root")).add("new@acme.test", name="New Person")
    [record] = Members(runtime, members("root")).list(search="new@")
    [shown] = root_api.get("/api/v1/users", params={"search": "new@"}).json()["items"]
    assert isinstance(record, MemberPublic) and record.model_dump(mode="json") == shown


def test_a_consent_someone_else_started_is_not_found(stack: Stack) -> None:
    link = _create(stack, stack.oauth2_service())
    started = _consent(stack, stack.api("dev"), link)

    theirs = stack.api("admin").get(f"/consents/{started['flow_id']}")
    mine = stack.api("dev").get(f"/consents/{started['flow_id']}")

    assert theirs.status_code == 404
    assert mine.status_code == 200 and mine.json()["state"] == "pending"


def test_audit_outcome_and_actor_filters_are_paged_by_the_store(
    runtime: Runtime, members: Actor, root_api: TestClient
) -> None:
    with runtime.unit() as unit:
        ws = unit.workspaces.find("acme")
        assert ws is not None
        for i in range(5):
            for actor, outcome in (("Mallory@evil.test", "denied"), ("alice@acme.test", "ok")):
                unit.record(
                    actor=f"login:{actor}", action="session.login", object_type="login",
                    object_id=f"{actor}-{i}", workspace_id=ws.id, outcome=outcome,
                )  # fmt: skip

    def listed(**filters: str) -> list[str]:
        pages = _pages(lambda q: root_api.get("/api/v1/audit", params={**q, **filters}), 2)
        return [e["object_id"] for page in pages for e in page]

    denied = listed(outcome="denied")
    assert sorted(denied) == sorted(f"Mallory@evil.test-{i}" for i in range(5))
    assert listed(actor="MALLORY", outcome="ok") == []
    assert sorted(listed(actor="alice@")) == sorted(f"alice@acme.test-{i}" for i in range(5))
    # A wildcard in the filter is a character, not a pattern.
    assert listed(actor="%") == []


def test_an_unknown_audit_outcome_is_refused_naming_the_field(root_api: TestClient) -> None:
    answer = root_api.get("/api/v1/audit", params={"outcome": "maybe"})
    assert answer.status_code == 422 and "outcome" in answer.text


def test_a_search_matches_a_name_with_a_letter_casefold_would_rewrite(
    runtime: Runtime, members: Actor, root_api: TestClient
) -> None:
    Members(runtime, OPERATOR, "acme").add("street@acme.test", name="Hauptstraße Team")
    found = root_api.get("/api/v1/users", params={"search": "straße"}).json()["items"]
    assert [m["email"] for m in found] == ["street@acme.test"]
