from __future__ import annotations

from pathlib import Path

import pytest

from plugboard.domain.authorizations import AUTHORIZERS, may_authorize
from plugboard.domain.models import ConnectionLevel, Role, WorkspaceKind
from plugboard.domain.permissions import (
    MATRIX,
    PERMISSIONS,
    Action,
    allowed,
    render_markdown,
)
from plugboard.domain.principal import OPERATOR, Principal, user_principal

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def _member(
    role: Role, kind: WorkspaceKind = WorkspaceKind.DEVELOPER, user: str = "u1"
) -> Principal:
    return user_principal(user, f"{user}@x.test", "ws", kind, role, via="test")


def test_docs_permissions_md_is_generated_from_the_matrix() -> None:
    assert DOC.read_text() == render_markdown(), "regenerate it with `make docs`"


def test_every_action_has_exactly_one_rule() -> None:
    assert sorted(p.action for p in PERMISSIONS) == sorted(Action)
    assert set(MATRIX) == set(Action)


def test_both_workspace_kinds_share_the_authorizers() -> None:
    rule = MATRIX[Action.AUTHORIZE_SHARED]
    assert rule[WorkspaceKind.DEVELOPER] == rule[WorkspaceKind.CLIENT] == AUTHORIZERS


def test_the_operator_may_do_everything() -> None:
    assert all(allowed(OPERATOR, action) for action in Action)


@pytest.mark.parametrize("role", list(Role))
def test_a_user_level_connection_is_authorized_only_by_its_owner(role: Role) -> None:
    member = _member(role)
    assert may_authorize(member, ConnectionLevel.USER, member.user_id)
    assert not may_authorize(member, ConnectionLevel.USER, "someone-else")


@pytest.mark.parametrize("level", [ConnectionLevel.ADMIN, ConnectionLevel.SYSTEM])
def test_users_cannot_authorize_shared_connections(level: ConnectionLevel) -> None:
    assert not may_authorize(_member(Role.USER), level, None)
    assert may_authorize(_member(Role.ADMIN), level, None)


def test_only_a_client_workspaces_admin_manages_connections() -> None:
    assert allowed(_member(Role.ADMIN, WorkspaceKind.CLIENT), Action.MANAGE_CONNECTIONS)
    assert not allowed(_member(Role.ADMIN, WorkspaceKind.DEVELOPER), Action.MANAGE_CONNECTIONS)
