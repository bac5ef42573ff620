"""Request bodies (`Create` / `Update` per resource) and the answers only the REST API gives.

The public shape of each resource is its record in :mod:`plugboard.records`, which the routes
use as their response models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from plugboard.domain.models import ConnectionLevel, Role, WorkspaceKind


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceCreate(_Body):
    name: str = Field(description="Lower-case name: letters, digits, _ and -.")
    kind: WorkspaceKind = WorkspaceKind.DEVELOPER


class MemberCreate(_Body):
    email: str
    role: Role = Role.USER
    name: str | None = None
    password: str | None = Field(default=None, description="Console password (12+ characters).")


class TokenCreate(_Body):
    name: str = "api"
    email: str | None = Field(default=None, description="Whose token (default: yours).")
    acts_for_users: bool = False


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


class ConsentCreate(_Body):
    environments: list[str] = Field(
        default=[], description="For per-environment connections: which environments to fill."
    )


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
    headers: dict[str, str] = Field(
        default={},
        description="Request headers (ASCII values). Host, Content-Length, Transfer-Encoding "
        "and hop-by-hop headers are refused: Plugboard sets them from the URL and the body.",
    )
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
