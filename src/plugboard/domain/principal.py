"""Who is acting: a user in a workspace (through a session or an API token) or the local operator.

The local operator is whoever runs the CLI on the machine that holds the master key: they can read
every secret anyway, so the CLI without `--as` acts with every permission, and is audited as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from plugboard.domain.models import Role, WorkspaceKind


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str | None
    email: str | None
    workspace_id: str | None
    workspace_kind: WorkspaceKind | None
    role: Role | None
    acts_for_users: bool = False
    via: str = "cli"
    token_id: str | None = None  # the API token used, if any
    token_last_used_at: datetime | None = None
    app_id: str | None = None  # set when an app token calls: the app acts, not a member
    app_link_name: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.user_id is None and self.app_id is None

    @property
    def is_app(self) -> bool:
        return self.app_id is not None

    @property
    def label(self) -> str:
        """How the audit log names the actor (never a token or secret)."""
        if self.is_app:
            return f"app:{self.app_link_name}"
        if self.is_operator:
            return "operator"
        return f"user:{self.email}"


OPERATOR = Principal(
    user_id=None, email=None, workspace_id=None, workspace_kind=None, role=None, via="cli"
)


def user_principal(
    user_id: str,
    email: str,
    workspace_id: str,
    workspace_kind: WorkspaceKind,
    role: Role,
    *,
    via: str,
    acts_for_users: bool = False,
    token_id: str | None = None,
    token_last_used_at: datetime | None = None,
) -> Principal:
    return Principal(
        user_id,
        email,
        workspace_id,
        workspace_kind,
        role,
        acts_for_users,
        via,
        token_id,
        token_last_used_at,
    )


def app_principal(
    app_id: str,
    app_link_name: str,
    workspace_id: str,
    workspace_kind: WorkspaceKind,
    *,
    token_id: str,
    token_last_used_at: datetime | None = None,
    via: str = "api",
) -> Principal:
    """An app calling with its app token: no user and no role, so every role-based permission
    is refused to it except those the matrix grants app tokens (domain/permissions.py)."""
    return Principal(
        None, None, workspace_id, workspace_kind, None, False, via, token_id,
        token_last_used_at, app_id, app_link_name,
    )  # fmt: skip
