"""Issue 6: every endpoint × every role (and anonymous), in a developer and a client workspace,
answers exactly as the permission matrix (plugboard.domain.permissions.MATRIX) says:
allowed → neither 401 nor 403; refused → 403 (404 where the object is hidden from the role);
anonymous → 401. Each case runs on a freshly seeded store, on SQLite and PostgreSQL.

The apps endpoints (tests/integration/app_matrix.py) walk all their cases for one member on one
seeded world, and add the app token's column: its own app, its panel, its system connections
and its connections' invokes; nothing else."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from plugboard.domain.models import Role, WorkspaceKind
from plugboard.domain.permissions import MATRIX, Action
from plugboard.testing.provider_state import DEMO_API_KEY
from tests.integration.app_matrix import APP_CASES, AppWorld, seed_apps
from tests.stack import API_ROLES, WORKSPACES, World, key_service

Request = Callable[[TestClient, World, str], Any]


@dataclass(frozen=True)
class Case:
    id: str
    send: Request
    action: Action | None  # None: every member may
    hidden_from_users: bool = False  # refused as 404 (the role may not see the object)


def _own_token(c: TestClient, w: World, name: str) -> Any:
    mine = c.get("/api/v1/tokens").json()["items"]
    return c.delete(f"/api/v1/tokens/{mine[0]['id']}")


def _edit_service(c: TestClient, w: World, name: str) -> Any:
    link = w.own_custom_service(name)
    body = {
        "name": "Key renamed",
        "link_name": link,
        "base_url": f"{w.provider_url}/api/apikey",
        "auth_type": "api_key",
        "api_key": {
            "parameters": [{"param_type": "header", "name": "X-Api-Key", "display_name": "API key"}]
        },
    }
    return c.put(f"/api/v1/services/{link}", json=body)


def _revoke_own(c: TestClient, w: World, name: str) -> Any:
    w.authorize_own(name)
    return c.post("/api/v1/connections/c_user/authorizations/revoke", json={})


def _consent_status(c: TestClient, w: World, name: str) -> Any:
    started = c.post("/api/v1/connections/c_user/consents", json={})
    if started.status_code != 201:
        return started  # refused already (e.g. anonymous)
    return c.get(f"/api/v1/consents/{started.json()['flow_id']}")


def _invoke_own(c: TestClient, w: World, name: str) -> Any:
    w.authorize_own(name)
    return c.post("/api/v1/invoke", json={"connection": "c_user", "url": "/ping"})


def _service_body(w: World) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load(key_service(w.provider_url, "newsvc")))


CASES = [
    Case("get me", lambda c, w, n: c.get("/api/v1/me"), None),
    Case("list workspaces", lambda c, w, n: c.get("/api/v1/workspaces"), None),
    Case(
        "create workspace",
        lambda c, w, n: c.post("/api/v1/workspaces", json={"name": f"new-{n}"}),
        Action.CREATE_WORKSPACE,
    ),
    Case("list users", lambda c, w, n: c.get("/api/v1/users"), Action.VIEW_USERS),
    Case(
        "add user",
        lambda c, w, n: c.post("/api/v1/users", json={"email": "new@x.test"}),
        Action.MANAGE_USERS,
    ),
    Case(
        "add super admin",
        lambda c, w, n: c.post(
            "/api/v1/users", json={"email": "new@x.test", "role": "super_admin"}
        ),
        Action.GRANT_SUPER_ADMIN,
    ),
    Case("list own tokens", lambda c, w, n: c.get("/api/v1/tokens"), Action.MANAGE_OWN_TOKENS),
    Case(
        "create own token",
        lambda c, w, n: c.post("/api/v1/tokens", json={}),
        Action.MANAGE_OWN_TOKENS,
    ),
    Case("revoke own token", _own_token, Action.MANAGE_OWN_TOKENS),
    Case(
        "create token acting for users",
        lambda c, w, n: c.post("/api/v1/tokens", json={"acts_for_users": True}),
        Action.MANAGE_OTHERS_TOKENS,
    ),
    Case("list services", lambda c, w, n: c.get("/api/v1/services"), Action.VIEW_SERVICES),
    Case("show service", lambda c, w, n: c.get("/api/v1/services/ksvc"), Action.VIEW_SERVICES),
    Case(
        "create service",
        lambda c, w, n: c.post("/api/v1/services", json=_service_body(w)),
        Action.MANAGE_SERVICES,
    ),
    Case("edit own service", _edit_service, Action.MANAGE_SERVICES),
    Case(
        "delete own service",
        lambda c, w, n: c.delete(f"/api/v1/services/{w.own_custom_service(n)}"),
        Action.MANAGE_SERVICES,
    ),
    Case("list connections", lambda c, w, n: c.get("/api/v1/connections"), None),
    Case(
        "create connection",
        lambda c, w, n: c.post("/api/v1/connections", json={"service": "ksvc"}),
        Action.MANAGE_CONNECTIONS,
    ),
    Case(
        "show admin connection",
        lambda c, w, n: c.get("/api/v1/connections/c_admin"),
        Action.VIEW_ALL_CONNECTIONS,
        hidden_from_users=True,
    ),
    Case(
        "show user connection",
        lambda c, w, n: c.get("/api/v1/connections/c_user"),
        Action.VIEW_USER_CONNECTIONS,
    ),
    Case(
        "edit connection",
        lambda c, w, n: c.patch("/api/v1/connections/c_admin", json={"name": "Renamed"}),
        Action.MANAGE_CONNECTIONS,
    ),
    Case(
        "delete connection",
        lambda c, w, n: c.delete("/api/v1/connections/c_fresh"),
        Action.MANAGE_CONNECTIONS,
    ),
    Case(
        "list references",
        lambda c, w, n: c.get("/api/v1/connections/c_admin/references"),
        Action.VIEW_ALL_CONNECTIONS,
        hidden_from_users=True,
    ),
    Case(
        "start consent (shared)",
        lambda c, w, n: c.post("/api/v1/connections/c_oauth/consents", json={}),
        Action.AUTHORIZE_SHARED,
        hidden_from_users=True,
    ),
    Case(
        "start consent (own)",
        lambda c, w, n: c.post("/api/v1/connections/c_user/consents", json={}),
        Action.AUTHORIZE_OWN,
    ),
    Case(
        "enter credential",
        lambda c, w, n: c.post(
            "/api/v1/connections/c_fresh/credentials",
            json={"values": {"X-Api-Key": DEMO_API_KEY}, "test": False},
        ),
        Action.AUTHORIZE_SHARED,
        hidden_from_users=True,
    ),
    Case(
        "reuse account",
        lambda c, w, n: c.post(
            "/api/v1/connections/c_admin/authorizations/reuse", json={"account": "Shared"}
        ),
        Action.AUTHORIZE_SHARED,
        hidden_from_users=True,
    ),
    Case(
        "list authorizations (user level)",
        lambda c, w, n: c.get("/api/v1/connections/c_user/authorizations"),
        Action.VIEW_USER_CONNECTIONS,
    ),
    Case(
        "revoke shared",
        lambda c, w, n: c.post("/api/v1/connections/c_admin/authorizations/revoke", json={}),
        Action.MANAGE_SHARED_AUTHORIZATIONS,
        hidden_from_users=True,
    ),
    Case(
        "rename shared account",
        lambda c, w, n: c.post(
            "/api/v1/connections/c_admin/authorizations/rename", json={"name": "Ops"}
        ),
        Action.MANAGE_SHARED_AUTHORIZATIONS,
        hidden_from_users=True,
    ),
    Case("revoke own", _revoke_own, Action.MANAGE_OWN_AUTHORIZATION),
    Case(
        "move primary",
        lambda c, w, n: c.post(
            "/api/v1/connections/c_user/authorizations/primary",
            json={"owner": f"dev2@{w.workspace}.test"},
        ),
        Action.MOVE_PRIMARY,
    ),
    Case(
        "invoke",
        lambda c, w, n: c.post("/api/v1/invoke", json={"connection": "c_admin", "url": "/ping"}),
        Action.INVOKE_SHARED,
        hidden_from_users=True,
    ),
    Case("invoke own", _invoke_own, Action.INVOKE_OWN),
    Case("read audit log", lambda c, w, n: c.get("/api/v1/audit"), Action.VIEW_AUDIT),
    Case(
        "proxy",
        lambda c, w, n: c.get("/proxy/c_admin/ping"),
        Action.INVOKE_SHARED,
        hidden_from_users=True,
    ),
    Case("own consent status", _consent_status, Action.AUTHORIZE_OWN),
    Case("current session", lambda c, w, n: c.get("/api/v1/session"), None),
    # Notifications (SPEC §5): every member reads and marks their own; muting names a
    # connection, which must be one the member may see.
    Case("list notifications", lambda c, w, n: c.get("/api/v1/notifications"), None),
    Case(
        "mark notifications read",
        lambda c, w, n: c.post("/api/v1/notifications/read", json={}),
        None,
    ),
    Case(
        "mark one notification read",
        lambda c, w, n: c.post(f"/api/v1/notifications/ntf_{'0' * 16}/read"),
        None,
    ),
    Case("list muted connections", lambda c, w, n: c.get("/api/v1/notifications/mutes"), None),
    Case(
        "mute a user connection",
        lambda c, w, n: c.put("/api/v1/notifications/mutes/c_user"),
        Action.VIEW_USER_CONNECTIONS,
    ),
    Case(
        "mute an admin connection",
        lambda c, w, n: c.put("/api/v1/notifications/mutes/c_admin"),
        Action.VIEW_ALL_CONNECTIONS,
        hidden_from_users=True,
    ),
    Case(
        "unmute a connection",
        lambda c, w, n: c.delete("/api/v1/notifications/mutes/c_user"),
        Action.VIEW_USER_CONNECTIONS,
    ),
]


def _expected(case: Case, role: Role, kind: WorkspaceKind) -> set[int] | None:
    """None: allowed. Otherwise the refusal statuses."""
    if case.action is None or role in MATRIX[case.action][kind]:
        return None
    return {403, 404} if case.hidden_from_users and role is Role.USER else {403}


@pytest.mark.parametrize(
    ("case", "workspace", "name"),
    list(itertools.product(CASES, WORKSPACES, API_ROLES)),
    ids=[f"{c.id}-{w}-{n}" for c, w, n in itertools.product(CASES, WORKSPACES, API_ROLES)],
)
def test_every_endpoint_answers_each_role_as_the_matrix_says(
    world_factory: Callable[[str], tuple[World, TestClient]],
    case: Case,
    workspace: str,
    name: str,
) -> None:
    world, client = world_factory(workspace)
    client.headers["Authorization"] = f"Bearer {world.token(name)}"
    response = case.send(client, world, name)
    refused = _expected(case, API_ROLES[name], WORKSPACES[workspace])
    if refused is None:
        assert response.status_code not in (401, 403, 404), response.text
        assert response.status_code < 500, response.text
    else:
        assert response.status_code in refused, response.text


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_endpoint_refuses_anonymous_callers(
    world_factory: Callable[[str], tuple[World, TestClient]], case: Case
) -> None:
    world, client = world_factory("acme")
    response = (
        case.send(client, world, "user")
        if case.id not in {"revoke own token"}
        else (client.delete("/api/v1/tokens/tok_x"))
    )
    assert response.status_code == 401, response.text


# -- apps (SPEC §6): every member and the app's own token, on one seeded world each ------------


def _walk(client: TestClient, world: AppWorld, name: str, role: Role | None) -> dict[str, str]:
    """The app cases answered otherwise than the matrix says: case -> what came instead."""
    kind = WORKSPACES[world.workspace]
    wrong: dict[str, str] = {}
    for case in APP_CASES:
        response = case.send(client, world, name)
        refused = case.expected(role, kind)
        got = response.status_code
        if refused is None and (got in (401, 403, 404) or got >= 500):
            wrong[case.id] = f"refused {got}: {response.text[:200]}"
        elif refused is not None and got not in refused:
            wrong[case.id] = f"{got} instead of {sorted(refused)}: {response.text[:200]}"
    return wrong


@pytest.mark.parametrize(
    ("workspace", "name"),
    list(itertools.product(WORKSPACES, API_ROLES)),
    ids=[f"{w}-{n}" for w, n in itertools.product(WORKSPACES, API_ROLES)],
)
def test_every_apps_endpoint_answers_each_role_as_the_matrix_says(
    world_factory: Callable[[str], tuple[World, TestClient]], workspace: str, name: str
) -> None:
    world, client = world_factory(workspace)
    apps = seed_apps(world)
    client.headers["Authorization"] = f"Bearer {world.token(name)}"
    assert _walk(client, apps, name, API_ROLES[name]) == {}


# What an app token may do beyond its app's endpoints: say who it is, and list connections (only
# its own app's: tests/integration/apps/test_app_identity.py). Every other member endpoint is
# 403/404.
APP_TOKEN_INTROSPECTION = {"get me", "current session", "list workspaces", "list connections"}
# Member endpoints that do not yet answer an app token with 403/404.
APP_TOKEN_GAPS: set[str] = set()
# Cases whose set-up needs a member's own object (their token list, a service they created).
MEMBER_ONLY = {"revoke own token", "delete own service"}


@pytest.mark.parametrize("workspace", list(WORKSPACES))
def test_an_app_token_reaches_only_its_own_app(
    world_factory: Callable[[str], tuple[World, TestClient]], workspace: str
) -> None:
    world, client = world_factory(workspace)
    apps = seed_apps(world)
    client.headers["Authorization"] = f"Bearer {apps.app_token}"
    wrong = _walk(client, apps, "app", None)
    lenient = TestClient(client.app, raise_server_exceptions=False)
    lenient.headers["Authorization"] = f"Bearer {apps.app_token}"
    answered = {
        case.id: case.send(lenient, world, "dev").status_code
        for case in CASES
        if case.id not in MEMBER_ONLY
    }
    for case_id, got in answered.items():
        allowed = case_id in APP_TOKEN_INTROSPECTION
        if (got < 400) != allowed or (not allowed and got not in (403, 404)):
            wrong[case_id] = str(got)
    assert wrong.keys() - APP_TOKEN_GAPS == set(), wrong
    assert APP_TOKEN_GAPS - wrong.keys() == set(), "fixed: remove them from APP_TOKEN_GAPS"


def test_every_apps_endpoint_refuses_anonymous_callers(
    world_factory: Callable[[str], tuple[World, TestClient]],
) -> None:
    world, client = world_factory("acme")
    apps = seed_apps(world)
    answered = {case.id: case.send(client, apps, "user").status_code for case in APP_CASES}
    assert answered == dict.fromkeys(answered, 401)
