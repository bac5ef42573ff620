"""Issue 9 item 1: a member never acts above their own rank.

Every caller role × every target role × {create a token for, revoke a token of, act as through
`as_user`, act as through `X-Plugboard-User`} in a developer and a client workspace, through the
REST API, on SQLite and PostgreSQL. The target is always another member (`t-<role>@…`), so a
caller and a target of the same role are two people. A refusal is 403 and leaves the store
exactly as it was.

Acting as another member needs a token that acts for users; here every caller holds one (made
by the local operator), so the act-as rows show the rank rule alone: allowed when the target's
role ranks at or below the caller's. A refused invoke is audited as failed (every failed invoke
is): that audit event is the only change it makes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from plugboard.domain.models import Role
from plugboard.domain.permissions import MATRIX, Action, may_act_for
from plugboard.domain.principal import OPERATOR
from plugboard.store.database import Database
from plugboard.usecases import identity
from tests.seeded import seed_once
from tests.stack import API_ROLES, WORKSPACES, World
from tests.support import snapshot

TARGETS = {role.value: role for role in Role}
OPERATIONS = ("create", "revoke", "as_user", "user_header")


def _target(world: World, role: str) -> str:
    return f"t-{role}@{world.workspace}.test"


def _add_targets(world: World) -> None:
    def add() -> None:
        with world.runtime.unit() as unit:
            for role in Role:
                identity.add_user(
                    unit, OPERATOR, email=_target(world, role.value), role=role,
                    workspace=world.workspace,
                )  # fmt: skip

    # Through the usecases once per worker, store and world; then replayed (tests/seeded.py).
    seed_once(world.runtime, ("rank targets", world.workspace), add)


def _caller_token(world: World, name: str, *, acts_for_users: bool) -> str:
    with world.runtime.unit() as unit:
        issued = identity.create_token(
            unit, OPERATOR, email=f"{name}@{world.workspace}.test", workspace=world.workspace,
            name="caller", acts_for_users=acts_for_users,
        )  # fmt: skip
    return issued.secret


def _target_token_id(world: World, target: str) -> str:
    with world.runtime.unit() as unit:
        issued = identity.create_token(
            unit, OPERATOR, email=target, workspace=world.workspace, name="target"
        )
    return issued.token.id


def _send(client: TestClient, operation: str, target: str, target_token: str | None) -> Any:
    if operation == "create":
        return client.post("/api/v1/tokens", json={"email": target, "name": "grabbed"})
    if operation == "revoke":
        return client.delete(f"/api/v1/tokens/{target_token}")
    if operation == "as_user":
        body = {"connection": "c_admin", "url": "/ping", "as_user": target}
        return client.post("/api/v1/invoke", json=body)
    return client.get("/proxy/c_admin/ping", headers={"X-Plugboard-User": target})


def _allowed(operation: str, caller: Role, target: Role, kind: Any) -> bool:
    if (
        operation in ("create", "revoke")
        and caller not in MATRIX[Action.MANAGE_OTHERS_TOKENS][kind]
    ):
        return False
    return may_act_for(caller, target)


CASES = list(itertools.product(WORKSPACES, API_ROLES, TARGETS, OPERATIONS))


@pytest.mark.parametrize(
    ("workspace", "caller", "target", "operation"),
    CASES,
    ids=[f"{o}-{w}-{c}-on-{t}" for w, c, t, o in CASES],
)
def test_a_member_acts_for_another_only_at_or_below_their_own_rank(
    world_factory: Callable[[str], tuple[World, TestClient]],
    database: Database,
    workspace: str,
    caller: str,
    target: str,
    operation: str,
) -> None:
    world, client = world_factory(workspace)
    _add_targets(world)
    acts_for_users = operation in ("as_user", "user_header")
    client.headers["Authorization"] = (
        f"Bearer {_caller_token(world, caller, acts_for_users=acts_for_users)}"
    )
    assert client.get("/api/v1/me").status_code == 200  # stamps the token's first use
    target_email = _target(world, target)
    target_token = _target_token_id(world, target_email) if operation == "revoke" else None
    before = snapshot(database)

    response = _send(client, operation, target_email, target_token)

    kind = WORKSPACES[workspace]
    if (
        operation in ("as_user", "user_header")
        and API_ROLES[caller] not in (MATRIX[Action.INVOKE_SHARED][kind])
    ):
        # item 3: a `user` never invokes an admin connection, for anyone: it stays hidden (404)
        assert response.status_code == 404, response.text
        after = snapshot(database)
        old_events = before.pop("audit_events")
        assert len([e for e in after.pop("audit_events") if e not in old_events]) <= 1
        assert after == before
    elif _allowed(operation, API_ROLES[caller], TARGETS[target], kind):
        assert response.status_code in (200, 201), response.text
        if operation == "create":
            assert response.json()["user_id"] != world.actor(caller).user_id
    else:
        assert response.status_code == 403, response.text
        assert response.json()["type"].endswith("permission_denied")
        after = snapshot(database)
        if acts_for_users:  # a failed invoke is audited, and that is the only change
            old_events = before.pop("audit_events")
            new_events = [e for e in after.pop("audit_events") if e not in old_events]
            assert len(new_events) == 1
            assert {"connection.invoke", "failed"} <= set(new_events[0])
        assert after == before
