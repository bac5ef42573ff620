"""The permission matrix as data: role × action × connection level (SPEC §1, §4, §5).

Everything that checks a permission asks :func:`allowed` (or :func:`require`) with an `Action`;
`docs/permissions.md` is generated from `PERMISSIONS` (`make docs`) and a test keeps it
current. The local operator (the CLI without `--as`) may do everything.

Rules that depend on the object, not just the role, are marked `own_only`: a user-level
authorization is authorized, switched, revoked and renamed by its owner alone (super admins
included), and every member manages their own API tokens.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from plugboard.domain.models import ConnectionLevel, Role, WorkspaceKind
from plugboard.domain.principal import Principal
from plugboard.errors import PermissionDenied


class Action(enum.StrEnum):
    CREATE_WORKSPACE = "create_workspace"
    VIEW_USERS = "view_users"
    MANAGE_USERS = "manage_users"
    GRANT_SUPER_ADMIN = "grant_super_admin"
    MANAGE_OWN_TOKENS = "manage_own_tokens"
    MANAGE_OTHERS_TOKENS = "manage_others_tokens"
    VIEW_SERVICES = "view_services"
    MANAGE_SERVICES = "manage_services"
    VIEW_ALL_CONNECTIONS = "view_all_connections"
    VIEW_USER_CONNECTIONS = "view_user_connections"
    MANAGE_CONNECTIONS = "manage_connections"
    AUTHORIZE_SHARED = "authorize_shared"
    AUTHORIZE_OWN = "authorize_own"
    MANAGE_SHARED_AUTHORIZATIONS = "manage_shared_authorizations"
    MANAGE_OWN_AUTHORIZATION = "manage_own_authorization"
    MOVE_PRIMARY = "move_primary"
    INVOKE_SHARED = "invoke_shared"
    INVOKE_OWN = "invoke_own"
    INVOKE_FOR_USERS = "invoke_for_users"
    VIEW_AUDIT = "view_audit"
    VIEW_APPS = "view_apps"
    MANAGE_APPS = "manage_apps"
    PUBLISH_APPS = "publish_apps"
    INSTALL_APPS = "install_apps"
    GRANT_APPS = "grant_apps"
    MANAGE_APP_TOKENS = "manage_app_tokens"
    USE_SYSTEM_CONNECTIONS = "use_system_connections"
    MANAGE_WEBHOOKS = "manage_webhooks"


@dataclass(frozen=True, slots=True)
class Permission:
    action: Action
    summary: str
    roles: Mapping[WorkspaceKind, frozenset[Role]]
    levels: tuple[ConnectionLevel, ...] = ()  # the connection levels the action concerns
    own_only: bool = False  # only on the principal's own object
    app_token: bool = False  # an app token may do it, for its own app only


_ALL = frozenset(Role)
_ADMINS = frozenset({Role.SUPER_ADMIN, Role.ADMIN})
_BUILDERS = frozenset({Role.SUPER_ADMIN, Role.DEVELOPER})
_NOBODY: frozenset[Role] = frozenset()
_SHARED = (ConnectionLevel.ADMIN, ConnectionLevel.SYSTEM)


def _same(roles: frozenset[Role]) -> Mapping[WorkspaceKind, frozenset[Role]]:
    return {kind: roles for kind in WorkspaceKind}


def _builders_and_client_admins() -> Mapping[WorkspaceKind, frozenset[Role]]:
    # SPEC §1: super admins and developers build; in a client workspace admins do too.
    return {
        WorkspaceKind.DEVELOPER: _BUILDERS,
        WorkspaceKind.CLIENT: _BUILDERS | {Role.ADMIN},
    }


PERMISSIONS: tuple[Permission, ...] = (
    Permission(Action.CREATE_WORKSPACE, "create a workspace", _same(frozenset({Role.SUPER_ADMIN}))),
    Permission(Action.VIEW_USERS, "list members", _same(_ADMINS | {Role.DEVELOPER})),
    Permission(Action.MANAGE_USERS, "add members", _same(_ADMINS)),
    Permission(
        Action.GRANT_SUPER_ADMIN, "make a member super admin", _same(frozenset({Role.SUPER_ADMIN}))
    ),
    Permission(
        Action.MANAGE_OWN_TOKENS, "create, list, revoke own API tokens", _same(_ALL), own_only=True
    ),
    Permission(
        Action.MANAGE_OTHERS_TOKENS,
        "manage others' API tokens; tokens that act for users",
        _same(_ADMINS),
    ),
    Permission(Action.VIEW_SERVICES, "view the service catalog", _same(_ALL)),
    Permission(
        Action.MANAGE_SERVICES,
        "create custom services (edit/delete: their creator)",
        _builders_and_client_admins(),
    ),
    Permission(
        Action.VIEW_ALL_CONNECTIONS, "see every connection", _same(_ADMINS | {Role.DEVELOPER})
    ),
    Permission(
        Action.VIEW_USER_CONNECTIONS,
        "see logged-in-user connections",
        _same(_ALL),
        levels=(ConnectionLevel.USER,),
    ),
    Permission(
        Action.MANAGE_CONNECTIONS,
        "create, edit, delete connections",
        _builders_and_client_admins(),
    ),
    Permission(
        Action.AUTHORIZE_SHARED,
        "authorize a connection",
        _same(frozenset({Role.SUPER_ADMIN, Role.ADMIN, Role.DEVELOPER})),
        levels=_SHARED,
    ),
    Permission(
        Action.AUTHORIZE_OWN,
        "authorize a connection for themselves",
        _same(_ALL),
        levels=(ConnectionLevel.USER,),
        own_only=True,
    ),
    Permission(
        Action.MANAGE_SHARED_AUTHORIZATIONS,
        "switch, revoke, rename an authorization",
        _builders_and_client_admins(),
        levels=_SHARED,
    ),
    Permission(
        Action.MANAGE_OWN_AUTHORIZATION,
        "switch, revoke, rename their own authorization",
        _same(_ALL),
        levels=(ConnectionLevel.USER,),
        own_only=True,
    ),
    Permission(
        Action.MOVE_PRIMARY,
        "mark the primary account",
        _same(frozenset({Role.SUPER_ADMIN})),
        levels=(ConnectionLevel.USER,),
    ),
    # Until apps have their own identity, a `user` invokes only what is theirs: admin and
    # system connections are hidden from them (404, as for GET), and acting for other users
    # (or for no user: the primary account) takes a builder or an admin.
    Permission(
        Action.INVOKE_SHARED,
        "invoke with the shared authorization",
        _same(_ADMINS | {Role.DEVELOPER}),
        levels=_SHARED,
        app_token=True,
    ),
    Permission(
        Action.INVOKE_OWN,
        "invoke with their own authorization",
        _same(_ALL),
        levels=(ConnectionLevel.USER,),
        own_only=True,
    ),
    Permission(
        Action.INVOKE_FOR_USERS,
        "invoke for other users (a token that acts for users)",
        _same(_ADMINS | {Role.DEVELOPER}),
        levels=(ConnectionLevel.USER,),
        app_token=True,
    ),
    Permission(Action.VIEW_AUDIT, "read the audit log", _same(_ADMINS | {Role.DEVELOPER})),
    # Apps (SPEC §6). A `user` sees the apps granted to them; an app token sees its own app.
    Permission(
        Action.VIEW_APPS,
        "see apps, their components and connections panel",
        _same(_ALL),
        app_token=True,
    ),
    Permission(
        Action.MANAGE_APPS,
        "create, edit, delete apps and components; app access",
        {WorkspaceKind.DEVELOPER: _BUILDERS, WorkspaceKind.CLIENT: _NOBODY},
    ),
    Permission(
        Action.PUBLISH_APPS,
        "publish an app to stage; write its package",
        {WorkspaceKind.DEVELOPER: _BUILDERS, WorkspaceKind.CLIENT: _NOBODY},
    ),
    Permission(
        Action.INSTALL_APPS,
        "install or update a package (client), import one (developer)",
        {WorkspaceKind.DEVELOPER: _BUILDERS, WorkspaceKind.CLIENT: _ADMINS},
    ),
    Permission(Action.GRANT_APPS, "grant an app to members (app users)", _same(_ADMINS)),
    Permission(
        Action.MANAGE_APP_TOKENS,
        "create, list, revoke app tokens",
        {WorkspaceKind.DEVELOPER: _ADMINS | _BUILDERS, WorkspaceKind.CLIENT: _ADMINS},
    ),
    Permission(
        Action.USE_SYSTEM_CONNECTIONS,
        "find or create the system connection a component needs",
        _same(_ALL),
        app_token=True,
    ),
    Permission(
        Action.MANAGE_WEBHOOKS,
        "create, list, rotate, delete webhook endpoints; see and replay deliveries",
        _same(_ADMINS),
    ),
)

MATRIX: Mapping[Action, Mapping[WorkspaceKind, frozenset[Role]]] = {
    p.action: p.roles for p in PERMISSIONS
}
APP_TOKEN_ACTIONS: frozenset[Action] = frozenset(p.action for p in PERMISSIONS if p.app_token)


def allowed(principal: Principal, action: Action) -> bool:
    if principal.is_operator:
        return True
    if principal.is_app:
        # An app token has no role: only what the matrix grants app tokens, on its own app
        # (the usecases check that the object belongs to the app).
        return action in APP_TOKEN_ACTIONS
    if principal.role is None or principal.workspace_kind is None:
        return False
    return principal.role in MATRIX[action][principal.workspace_kind]


def require(principal: Principal, action: Action) -> None:
    if not allowed(principal, action):
        raise PermissionDenied(action.value.replace("_", " "), principal.role)


def require_person(principal: Principal, action: str) -> None:
    """Refuse an app token what only a person does: consent, own tokens, own authorizations."""
    if principal.is_app:
        raise PermissionDenied(
            action, None, f"an app token may not {action}: a member does that, with their own token"
        )


def may_act_for(caller_role: Role | None, target_role: Role) -> bool:
    """A member never acts above their own rank: another member's tokens are made or revoked,
    and another member is acted as, only when that member's role ranks at or below the
    caller's. `None` (no role) may act for nobody."""
    return caller_role is not None and target_role.rank <= caller_role.rank


def require_rank(principal: Principal, target_role: Role, action: str) -> None:
    """Refuse `action` on a member whose role outranks the principal's (the operator may)."""
    if not principal.is_operator and not may_act_for(principal.role, target_role):
        raise PermissionDenied(
            action,
            principal.role,
            f"role '{principal.role}' may not {action} a member with the higher role"
            f" '{target_role}'",
        )


def authorize_action(level: ConnectionLevel) -> Action:
    return Action.AUTHORIZE_OWN if level is ConnectionLevel.USER else Action.AUTHORIZE_SHARED


def manage_authorization_action(level: ConnectionLevel) -> Action:
    if level is ConnectionLevel.USER:
        return Action.MANAGE_OWN_AUTHORIZATION
    return Action.MANAGE_SHARED_AUTHORIZATIONS


def invoke_action(level: ConnectionLevel, *, for_self: bool) -> Action:
    """The action an invoke needs: the shared authorization of an admin or system connection,
    the caller's own authorization of a user-level one, or another user's (or the primary)."""
    if level is not ConnectionLevel.USER:
        return Action.INVOKE_SHARED
    return Action.INVOKE_OWN if for_self else Action.INVOKE_FOR_USERS


def render_markdown() -> str:
    """docs/permissions.md, from `PERMISSIONS`."""
    roles = list(Role)
    header = [
        "action",
        "levels",
        *(f"{r.value} ({k.value})" for k in WorkspaceKind for r in roles),
        "app token",
    ]
    lines = [
        "# Permissions",
        "",
        "Generated from `plugboard.domain.permissions.PERMISSIONS` by `make docs`; a test keeps",
        "it current.",
        "",
        "✓ allowed, · refused (HTTP 403; an object the role may not see at all is 404).",
        "**own**: only on the member's own authorization or token. The local operator (the CLI",
        "without `--as`) may do everything; anonymous callers may only log in and complete an",
        "OAuth callback. Every member may revoke their own authorization of a user-level",
        "connection they may use.",
        "",
        "**Rank**: super_admin > admin > developer > user. Nobody acts above their own rank:",
        "another member's API token is created or revoked, and another member is acted as",
        "(`as_user`, `X-Plugboard-User`), only when that member's role ranks at or below the",
        "caller's; otherwise 403 and nothing changes.",
        "",
        "**App token**: an app's own token (`pba_…`) acts as the app, not as a member, and only",
        "on that app's connections and components; it may invoke for any member the app is",
        "granted to (`as_user`), or with the primary account when no user is named.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for p in PERMISSIONS:
        levels = ", ".join(level.value for level in p.levels) or "—"
        mark = "own" if p.own_only else "✓"
        cells = [mark if r in p.roles[k] else "·" for k in WorkspaceKind for r in roles]
        cells.append("✓" if p.app_token else "·")
        lines.append(f"| {p.summary} (`{p.action.value}`) | {levels} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
