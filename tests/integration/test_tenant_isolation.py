"""Issue 6: a super admin of one workspace aims every endpoint at another workspace's link names
and ids. Nothing is read or changed, and the answer is 404 — never a 403 that would reveal that
the object exists."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from plugboard.domain.oauth import expiry, new_state, state_hash
from plugboard.usecases import identity
from tests.stack import World
from tests.support import snapshot

Send = Callable[[TestClient], object]

ADDRESSED: list[tuple[str, str, str, dict[str, object] | None]] = [
    ("get", "/api/v1/services/ksvc", "show a custom service", None),
    ("put", "/api/v1/services/ksvc", "edit a custom service", {"name": "x", "link_name": "ksvc",
                                                               "auth_type": "basic"}),
    ("delete", "/api/v1/services/ksvc", "delete a custom service", None),
    ("get", "/api/v1/connections/c_admin", "show a connection", None),
    ("patch", "/api/v1/connections/c_admin", "edit a connection", {"name": "Mine now"}),
    ("delete", "/api/v1/connections/c_fresh", "delete a connection", None),
    ("get", "/api/v1/connections/c_admin/references", "list references", None),
    ("post", "/api/v1/connections/c_oauth/consents", "start a consent", {}),
    ("post", "/api/v1/connections/c_fresh/credentials", "enter a credential",
     {"values": {"X-Api-Key": "k"}, "test": False}),
    ("get", "/api/v1/connections/c_user/authorizations", "list authorizations", None),
    ("post", "/api/v1/connections/c_admin/authorizations/revoke", "revoke", {}),
    ("post", "/api/v1/connections/c_admin/authorizations/rename", "rename", {"name": "x"}),
    ("post", "/api/v1/connections/c_admin/authorizations/reuse", "reuse", {"account": "Shared"}),
    ("post", "/api/v1/connections/c_user/authorizations/primary", "move primary",
     {"owner": "dev2@acme.test"}),
    ("post", "/api/v1/invoke", "invoke", {"connection": "c_admin", "url": "/ping"}),
    ("get", "/proxy/c_admin/ping", "proxy", None),
]  # fmt: skip


@pytest.fixture
def acme_and_intruder(
    world_factory: Callable[[str], tuple[World, TestClient]],
) -> tuple[World, TestClient]:
    acme, client = world_factory("acme")
    intruder = acme.members("root", "globex")
    with acme.runtime.unit() as unit:
        issued = identity.create_token(unit, intruder, name="intruder")
    client.headers["Authorization"] = f"Bearer {issued.secret}"
    return acme, client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [(m, p, b) for m, p, _, b in ADDRESSED],
    ids=[what for _, _, what, _ in ADDRESSED],
)
def test_another_workspaces_objects_are_not_found(
    acme_and_intruder: tuple[World, TestClient],
    method: str,
    path: str,
    body: dict[str, object] | None,
) -> None:
    acme, client = acme_and_intruder
    before = snapshot(acme.runtime.database)
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == 404, response.text
    assert _acme_rows(acme, snapshot(acme.runtime.database)) == _acme_rows(acme, before)


def _acme_rows(acme: World, rows: dict[str, list[tuple[object, ...]]]) -> object:
    """Everything but what the intruder may touch in its own workspace: its token's
    last-use time and its own audit events (a refused invoke is audited where it came from)."""
    acme_id = acme.actor("dev").workspace_id
    kept = {k: v for k, v in rows.items() if k not in ("api_tokens", "audit_events")}
    kept["audit_events"] = [r for r in rows["audit_events"] if r[1] == acme_id]
    return kept


def test_another_workspaces_token_cannot_be_revoked(
    acme_and_intruder: tuple[World, TestClient],
) -> None:
    acme, client = acme_and_intruder
    with acme.runtime.unit() as unit:
        victim = identity.create_token(unit, acme.actor("dev"), name="victim")
    assert client.delete(f"/api/v1/tokens/{victim.token.id}").status_code == 404
    with acme.runtime.unit(write=False) as unit:
        assert unit.tokens.by_id(victim.token.id).active


def test_another_workspaces_consent_cannot_be_read(
    acme_and_intruder: tuple[World, TestClient],
) -> None:
    acme, client = acme_and_intruder
    dev = acme.actor("dev")
    with acme.runtime.unit() as unit:
        connection = unit.connections.get(dev.workspace_id, "c_oauth")
        flow = unit.flows.add(
            workspace_id=dev.workspace_id, connection_id=connection.id,
            initiated_by=dev.user_id, owner_user_id=None, environments=["all"],
            redirect_uri="http://127.0.0.1/oauth/callback", state_hash=state_hash(new_state()),
            secrets={}, now=unit.now(), expires_at=expiry(unit.now()),
        )  # fmt: skip
    assert client.get(f"/api/v1/consents/{flow.id}").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/api/v1/connections", "/api/v1/services?custom=true", "/api/v1/users", "/api/v1/tokens",
     "/api/v1/audit", "/api/v1/workspaces"],
)  # fmt: skip
def test_lists_show_nothing_of_another_workspace(
    acme_and_intruder: tuple[World, TestClient], path: str
) -> None:
    acme, client = acme_and_intruder
    response = client.get(path)
    assert response.status_code == 200
    text = response.text
    for marker in ("c_admin", "ksvc", "acme", "dev@acme.test", "Shared"):
        assert marker not in text, (path, marker)
