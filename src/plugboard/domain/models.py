"""The vocabulary of the product (SPEC §1–§5) as enums and small frozen dataclasses."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class WorkspaceKind(enum.StrEnum):
    """A developer workspace builds and tests apps; a client workspace runs installed ones."""

    DEVELOPER = "developer"
    CLIENT = "client"


class Role(enum.StrEnum):
    SUPER_ADMIN = "super_admin"
    ADMIN = "admin"
    DEVELOPER = "developer"
    USER = "user"

    @property
    def rank(self) -> int:
        """Higher outranks lower: super_admin 3, admin 2, developer 1, user 0."""
        return _ROLE_RANKS[self]


_ROLE_RANKS = {Role.SUPER_ADMIN: 3, Role.ADMIN: 2, Role.DEVELOPER: 1, Role.USER: 0}


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    STAGE = "stage"
    PRODUCTION = "production"


# An authorization that is not per-environment serves every environment; it is stored under this
# name so one unique index covers both cases.
ALL_ENVIRONMENTS = "all"


def environments_of(kind: WorkspaceKind) -> tuple[Environment, ...]:
    """Client workspaces only run installed apps, so they only have production (SPEC §5)."""
    if kind is WorkspaceKind.CLIENT:
        return (Environment.PRODUCTION,)
    return (Environment.DEVELOPMENT, Environment.STAGE, Environment.PRODUCTION)


class AuthType(enum.StrEnum):
    API_KEY = "api_key"
    BASIC = "basic"
    OAUTH1 = "oauth1"
    OAUTH2 = "oauth2"
    AWS_SIGV4 = "aws_sigv4"


class ConnectionLevel(enum.StrEnum):
    ADMIN = "admin"
    SYSTEM = "system"
    USER = "user"


class AuthorizationStatus(enum.StrEnum):
    CONNECTED = "connected"
    NOT_CONNECTED = "not_connected"
    EXPIRED = "expired"
    REVOKED = "revoked"
    NEEDS_REAUTH = "needs_reauth"
    FAILED = "failed"


class ComponentType(enum.StrEnum):
    FORM = "form"
    WORKFLOW = "workflow"
    FUNCTION = "function"
    PAGE = "page"
    PANEL = "panel"
    SCHEDULE = "schedule"
    DATASOURCE = "datasource"
    SMS_ACTION = "sms_action"


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    name: str
    kind: WorkspaceKind
    created_at: datetime


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    name: str
    created_at: datetime
    has_password: bool = False


@dataclass(frozen=True, slots=True)
class Membership:
    workspace: Workspace
    user: User
    role: Role


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A token's public face: the secret itself is shown once at creation and stored hashed."""

    id: str
    workspace_id: str
    user_id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    acts_for_users: bool = False

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: str
    workspace_id: str | None
    actor: str
    action: str
    object_type: str
    object_id: str | None
    outcome: str
    detail: dict[str, object]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Invitation:
    """An existing account asked to join a workspace; it is a member once it accepts."""

    id: str
    workspace_id: str
    workspace_name: str
    user_id: str
    role: Role
    invited_by: str
    created_at: datetime
