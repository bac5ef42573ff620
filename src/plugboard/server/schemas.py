"""Request and response bodies, one `Create` / `Update` / `Public` family per resource.

No `Public` model has a field that could hold a secret: stored credentials appear only as which
fields are set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from plugboard.domain.models import (
    ApiToken,
    AuditEvent,
    ConnectionLevel,
    Invitation,
    Membership,
    Role,
    Workspace,
    WorkspaceKind,
)
from plugboard.usecases.identity import AddedMember


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceCreate(_Body):
    name: str = Field(description="Lower-case name: letters, digits, _ and -.")
    kind: WorkspaceKind = WorkspaceKind.DEVELOPER


class WorkspacePublic(BaseModel):
    id: str
    name: str
    kind: WorkspaceKind
    created_at: datetime

    @classmethod
    def of(cls, ws: Workspace) -> WorkspacePublic:
        return cls(id=ws.id, name=ws.name, kind=ws.kind, created_at=ws.created_at)


class MemberCreate(_Body):
    email: str
    role: Role = Role.USER
    name: str | None = None
    password: str | None = Field(default=None, description="Console password (12+ characters).")


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

    @classmethod
    def of(cls, added: AddedMember) -> MemberAdded:
        return cls(
            email=added.email, name=added.name, role=added.role, workspace=added.workspace,
            status=added.status,
        )  # fmt: skip


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


class TokenCreate(_Body):
    name: str = "api"
    email: str | None = Field(default=None, description="Whose token (default: yours).")
    acts_for_users: bool = False


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
    secret: str = Field(description="The token itself. Shown once, never again.")


class ConnectionCreate(_Body):
    service: str
    name: str | None = None
    link_name: str | None = None
    scopes: list[str] = []
    all_scopes: bool = False
    level: ConnectionLevel = ConnectionLevel.ADMIN
    per_environment: bool = False
    params: dict[str, str] = Field(default={}, description="Dynamic parameter values.")


class ConnectionUpdate(_Body):
    name: str | None = None
    scopes: list[str] | None = Field(default=None, description="The new full set of scopes.")
    all_scopes: bool = False


class AuditEventPublic(BaseModel):
    id: str
    actor: str
    action: str
    object_type: str
    object_id: str | None
    outcome: str
    detail: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, e: AuditEvent) -> AuditEventPublic:
        return cls(
            id=e.id, actor=e.actor, action=e.action, object_type=e.object_type,
            object_id=e.object_id, outcome=e.outcome, detail=e.detail, created_at=e.created_at,
        )  # fmt: skip


class ConsentCreate(_Body):
    environments: list[str] = Field(
        default=[], description="For per-environment connections: which environments to fill."
    )


class ConsentStarted(BaseModel):
    flow_id: str
    authorize_url: str = Field(description="Send the person here to give consent.")
    expires_at: datetime = Field(description="The consent must complete before this time.")


class ConsentStatus(BaseModel):
    flow_id: str
    state: str
    outcome: str | None


class AuthorizationSlot(_Body):
    environment: str | None = Field(default=None, description="Per-environment connections only.")
    owner: str | None = Field(default=None, description="User-level: whose (default: yours).")


class AccountRename(AuthorizationSlot):
    name: str


class AccountReuse(AuthorizationSlot):
    environment: str = "all"
    account: str = Field(description="An account already linked to this connection: id or name.")


class PrimaryMove(_Body):
    owner: str
    environment: str | None = None


class InvokeRequest(_Body):
    connection: str = Field(description="The connection's link name.")
    method: str = "GET"
    url: str = Field(description="Full URL, or a path relative to the service's base URL.")
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    json_body: Any = Field(default=None, alias="json", description="A JSON body.")
    form: dict[str, str] | None = Field(default=None, description="A form body.")
    text: str | None = Field(default=None, description="A raw text body.")
    body_base64: str | None = Field(default=None, description="A raw binary body, base64.")
    environment: str | None = None
    as_user: str | None = Field(
        default=None, description="User-level: whose authorization (tokens that act for users)."
    )
    timeout: float | None = Field(default=None, gt=0, le=600)
    max_attempts: int | None = Field(
        default=None, ge=1, le=10, description="Attempts of an idempotent request (retries)."
    )
    max_retry_seconds: float | None = Field(
        default=None, gt=0, le=300, description="Longest time spent retrying."
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class InvokeResult(BaseModel):
    """The third-party service's answer, whatever its status."""

    status: int
    headers: dict[str, str]
    text: str | None = Field(description="The body, when it is UTF-8 text.")
    body_base64: str | None = Field(description="The body otherwise, base64.")
    url: str = Field(description="The URL called, without its query (it may hold a key).")


class CredentialEntry(_Body):
    values: dict[str, str] = Field(
        description="API key: parameter name → value; Basic: username, password; "
        "AWS: access_key, secret_key, session_token."
    )
    environments: list[str] = []
    owner: str | None = None
    account_name: str | None = None
    test: bool = Field(default=True, description="Call the service's test URL before saving.")


class LoginRequest(_Body):
    email: str
    password: str
    workspace: str | None = Field(default=None, description="Default: `default`.")


class SessionPublic(BaseModel):
    email: str | None
    workspace: str
    role: Role | None
    expires_at: datetime | None = None
    csrf_token: str | None = Field(
        default=None, description="Send it as X-CSRF-Token on every write made with the cookie."
    )


class Problem(BaseModel):
    """RFC 9457 problem details; validation problems add `field` and `rule`."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    rule: str | None = None

    model_config = ConfigDict(extra="allow")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of error answers: problem+json with the `Problem` schema."""
    reasons = {
        401: "No or a bad token or session",
        403: "The role may not do this",
        404: "Not found in your workspace",
        409: "Conflicts with the current state",
        422: "Invalid input: `field` and `rule` say what",
        424: "No usable authorization: `who_must_act` says who",
        429: "Too many attempts",
        502: "The third-party service could not be reached",
        503: "The database is unavailable",
    }
    schema = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {
        status: {"description": reasons[status], "content": {"application/problem+json": schema}}
        for status in statuses
    }


class ServiceClientSet(_Body):
    client_id: str = Field(description="The OAuth client id registered with the provider.")
    client_secret: str | None = Field(
        default=None, description="Its secret (stored sealed, never shown again)."
    )
