"""The permission matrix as data: role × action (× connection level where it matters).

The API, the CLI and the console all ask `allowed()`; docs/permissions.md is generated from
`MATRIX`. The local operator (the CLI without `--as`) is allowed everything.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from plugboard.domain.models import Role, WorkspaceKind
from plugboard.domain.principal import Principal
from plugboard.errors import PermissionDenied


class Action(enum.StrEnum):
    CREATE_WORKSPACE = "create_workspace"
    MANAGE_USERS = "manage_users"
    GRANT_SUPER_ADMIN = "grant_super_admin"
    VIEW_USERS = "view_users"
    MANAGE_OWN_TOKENS = "manage_own_tokens"
    MANAGE_OTHERS_TOKENS = "manage_others_tokens"
    VIEW_AUDIT = "view_audit"
    MANAGE_SERVICES = "manage_services"
    MANAGE_CONNECTIONS = "manage_connections"
    VIEW_SERVICES = "view_services"
    VIEW_ALL_CONNECTIONS = "view_all_connections"
    MANAGE_SHARED_AUTHORIZATIONS = "manage_shared_authorizations"
    MOVE_PRIMARY = "move_primary"


_ALL = frozenset(Role)
_ADMINS = frozenset({Role.SUPER_ADMIN, Role.ADMIN})
_BUILDERS = frozenset({Role.SUPER_ADMIN, Role.DEVELOPER})

# Who may do what, per workspace kind. A role missing from a set is refused.
MATRIX: Mapping[Action, Mapping[WorkspaceKind, frozenset[Role]]] = {
    Action.CREATE_WORKSPACE: {k: frozenset({Role.SUPER_ADMIN}) for k in WorkspaceKind},
    Action.MANAGE_USERS: {k: _ADMINS for k in WorkspaceKind},
    Action.GRANT_SUPER_ADMIN: {k: frozenset({Role.SUPER_ADMIN}) for k in WorkspaceKind},
    Action.VIEW_USERS: {k: _ADMINS | {Role.DEVELOPER} for k in WorkspaceKind},
    Action.MANAGE_OWN_TOKENS: {k: _ALL for k in WorkspaceKind},
    Action.MANAGE_OTHERS_TOKENS: {k: _ADMINS for k in WorkspaceKind},
    Action.VIEW_AUDIT: {k: _ADMINS | {Role.DEVELOPER} for k in WorkspaceKind},
    # SPEC §1: super admins and developers build; in a client workspace admins do too.
    Action.MANAGE_SERVICES: {
        WorkspaceKind.DEVELOPER: _BUILDERS,
        WorkspaceKind.CLIENT: _BUILDERS | {Role.ADMIN},
    },
    Action.MANAGE_CONNECTIONS: {
        WorkspaceKind.DEVELOPER: _BUILDERS,
        WorkspaceKind.CLIENT: _BUILDERS | {Role.ADMIN},
    },
    Action.VIEW_SERVICES: {k: _ALL for k in WorkspaceKind},
    # A `user` sees only logged-in-user connections (SPEC §1); the others see every connection.
    Action.VIEW_ALL_CONNECTIONS: {k: _ADMINS | {Role.DEVELOPER} for k in WorkspaceKind},
    # SPEC §5: switch and revoke admin/system authorizations — super admins and developers; in a
    # client workspace, where admins authorize installed connections, admins too.
    Action.MANAGE_SHARED_AUTHORIZATIONS: {
        WorkspaceKind.DEVELOPER: _BUILDERS,
        WorkspaceKind.CLIENT: _BUILDERS | {Role.ADMIN},
    },
    # SPEC §4: only a super admin moves the primary account.
    Action.MOVE_PRIMARY: {k: frozenset({Role.SUPER_ADMIN}) for k in WorkspaceKind},
}


def allowed(principal: Principal, action: Action) -> bool:
    if principal.is_operator:
        return True
    if principal.role is None or principal.workspace_kind is None:
        return False
    return principal.role in MATRIX[action][principal.workspace_kind]


def require(principal: Principal, action: Action) -> None:
    if not allowed(principal, action):
        raise PermissionDenied(action.value.replace("_", " "), principal.role)
