"""Records of workspaces, members, invitations and API tokens.

``TokenCreated`` is the one record that carries a secret: the new token itself, answered once
to whoever created it and stored only as a hash. It is left out of ``repr``.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from plugboard.domain.models import ApiToken, Invitation, Membership, Role, Workspace, WorkspaceKind

__all__ = [
    "InvitationPublic",
    "MePublic",
    "MemberAdded",
    "MemberPublic",
    "TokenCreated",
    "TokenPublic",
    "WorkspacePublic",
]


class WorkspacePublic(BaseModel):
    id: str
    name: str
    kind: WorkspaceKind
    created_at: datetime

    @classmethod
    def of(cls, ws: Workspace) -> WorkspacePublic:
        return cls(id=ws.id, name=ws.name, kind=ws.kind, created_at=ws.created_at)


class MemberPublic(BaseModel):
    user_id: str
    email: str
    name: str
    role: Role
    since: datetime

    @classmethod
    def of(cls, m: Membership) -> MemberPublic:
        return cls(
            user_id=m.user.id, email=m.user.email, name=m.user.name, role=m.role,
            since=m.user.created_at,
        )  # fmt: skip


class MemberAdded(BaseModel):
    """Built from the request only: nothing about an account that already existed."""

    email: str
    name: str
    role: Role
    workspace: str
    status: str = Field(
        description="`member`: a new account, a member now. `invited`: the address already "
        "has an account; it becomes a member when its owner accepts the invitation."
    )


class InvitationPublic(BaseModel):
    id: str
    workspace: str
    role: Role
    invited_by: str
    created_at: datetime

    @classmethod
    def of(cls, i: Invitation) -> InvitationPublic:
        return cls(
            id=i.id, workspace=i.workspace_name, role=i.role, invited_by=i.invited_by,
            created_at=i.created_at,
        )  # fmt: skip


class MePublic(BaseModel):
    user_id: str | None
    email: str | None
    workspace: str
    role: Role | None
    acts_for_users: bool


class TokenPublic(BaseModel):
    id: str
    user_id: str
    name: str
    prefix: str
    acts_for_users: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, t: ApiToken) -> TokenPublic:
        return cls(
            id=t.id, user_id=t.user_id, name=t.name, prefix=t.prefix,
            acts_for_users=t.acts_for_users, created_at=t.created_at,
            last_used_at=t.last_used_at, revoked_at=t.revoked_at,
        )  # fmt: skip


class TokenCreated(TokenPublic):
    secret: str = Field(description="The token itself. Shown once, never again.", repr=False)
