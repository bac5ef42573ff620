"""Records of connections, authorizations, references and services.

The REST API answers with them (as response models), both clients return them, the CLI prints
them (`--json` is ``model_dump(mode="json")``). They are built from domain objects with
``of(...)`` and from the REST API's JSON with ``model_validate``. A new field of a resource is
added to the table (and its migration), the domain model and the record here -- the REST API,
the clients and the CLI's JSON follow.

No record has a field that could hold a secret: stored credentials appear only as their status.
Light on purpose: pydantic and the domain, never the store, the crypto or a web framework.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from plugboard.domain.connections import AuthorizationSummary, Connection, Reference
from plugboard.domain.custom_services import CustomService
from plugboard.domain.models import AuthorizationStatus, ConnectionLevel, Role
from plugboard.domain.service import ServiceDefinition

__all__ = [
    "AuthorizationListItem",
    "ConnectionEdited",
    "AuthorizationPublic",
    "ConnectionDetailsPublic",
    "ConnectionPublic",
    "ReferencePublic",
    "RevokeResult",
    "ServiceChangeResult",
    "ServiceClientPublic",
    "ServicePublic",
]


class AuthorizationPublic(BaseModel):
    """One authorization: which account serves an environment (and, user level, whose)."""

    id: str
    environment: str
    owner_user_id: str | None
    account_name: str | None
    status: str
    status_detail: str | None
    is_primary: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: AuthorizationSummary) -> AuthorizationPublic:
        return cls(
            id=a.id, environment=a.environment, owner_user_id=a.owner_user_id,
            account_name=a.account_name, status=a.status.value, status_detail=a.status_detail,
            is_primary=a.is_primary, created_at=a.created_at, updated_at=a.updated_at,
        )  # fmt: skip


class AuthorizationListItem(AuthorizationPublic):
    """An authorization in a connection's list of all authorizations, with its owner."""

    owner_email: str | None = None
    owner_name: str | None = None
    owner_role: str | None = None

    @classmethod
    def listed(
        cls,
        a: AuthorizationSummary,
        owner_email: str | None,
        owner_name: str | None,
        owner_role: Role | None,
    ) -> AuthorizationListItem:
        return cls(
            **AuthorizationPublic.of(a).model_dump(),
            owner_email=owner_email,
            owner_name=owner_name,
            owner_role=owner_role.value if owner_role else None,
        )


class ReferencePublic(BaseModel):
    """An app component that uses a connection."""

    app: str
    component_type: str
    component_name: str
    environment: str

    @classmethod
    def of(cls, r: Reference) -> ReferencePublic:
        return cls(
            app=r.app_link_name, component_type=r.component_type.value,
            component_name=r.component_name, environment=r.environment.value,
        )  # fmt: skip


class ConnectionPublic(BaseModel):
    id: str
    link_name: str
    name: str
    service: str
    level: ConnectionLevel
    per_environment: bool
    scopes: list[str]
    all_scopes: bool
    params: dict[str, str]
    origin: str
    created_by: str | None
    created_at: datetime
    modified_by: str | None
    modified_at: datetime
    status: AuthorizationStatus = Field(
        description="For the caller: on an admin or system connection the most urgent status "
        "among its authorizations (failed, expired, revoked, needs_reauth, not_connected), "
        "`connected` when all are; on a user-level one, the caller's own authorization's; "
        "`not_connected` when there is none."
    )

    @classmethod
    def of(cls, c: Connection, status: AuthorizationStatus) -> ConnectionPublic:
        return cls(
            id=c.id, link_name=c.link_name, name=c.name, service=c.service_link_name,
            level=c.level, per_environment=c.per_environment, scopes=list(c.scopes),
            all_scopes=c.all_scopes, params=dict(c.dynamic_values), origin=c.origin,
            created_by=c.created_by, created_at=c.created_at, modified_by=c.modified_by,
            modified_at=c.modified_at, status=status,
        )  # fmt: skip


class ConnectionDetailsPublic(ConnectionPublic):
    """A connection with the first page of its authorizations (those the caller may see, at
    most 50, in the order of its list of authorizations), how many there are, and references."""

    service_missing: bool = Field(description="Its custom service was deleted.")
    authorizations: list[AuthorizationPublic] = Field(
        description="The first page of the authorizations the caller may see (at most 50)."
    )
    references: list[ReferencePublic]
    authorization_count: int = Field(
        0, description="How many authorizations the caller may see, on every page."
    )
    authorizations_next_cursor: str | None = Field(
        None,
        description="More authorizations follow: pass this as cursor to "
        "GET /connections/{link_name}/authorizations for the next page.",
    )

    @classmethod
    def of_details(
        cls,
        c: Connection,
        status: AuthorizationStatus,
        *,
        service_missing: bool,
        authorizations: list[AuthorizationSummary],
        references: list[Reference],
        authorization_count: int | None = None,
        authorizations_next_cursor: str | None = None,
    ) -> ConnectionDetailsPublic:
        return cls(
            **ConnectionPublic.of(c, status).model_dump(),
            service_missing=service_missing,
            authorizations=[AuthorizationPublic.of(a) for a in authorizations],
            references=[ReferencePublic.of(r) for r in references],
            authorization_count=(
                len(authorizations) if authorization_count is None else authorization_count
            ),
            authorizations_next_cursor=authorizations_next_cursor,
        )


class ConnectionEdited(BaseModel):
    """An edited connection, and how many of its authorizations now need re-authorizing (new
    scopes need new consent)."""

    connection: ConnectionPublic
    needs_reauth: int


class ServiceClientPublic(BaseModel):
    """The OAuth client a workspace registered for a built-in service: its id, and whether a
    secret is stored (never the secret)."""

    service: str
    client_id: str
    has_client_secret: bool
    modified_at: datetime


class ServicePublic(BaseModel):
    """A built-in or custom service as listed; its definition never holds a secret field."""

    link_name: str
    name: str
    category: str
    auth_type: str
    allow_user_level: bool
    builtin: bool
    definition: dict[str, Any] = Field(description="The service file, without secret fields.")
    created_by: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None

    @classmethod
    def of(
        cls, d: ServiceDefinition, *, builtin: bool, custom: CustomService | None = None
    ) -> ServicePublic:
        return cls(
            link_name=d.link_name, name=d.name, category=d.category,
            auth_type=d.auth_type.value, allow_user_level=d.allow_user_level,
            builtin=builtin, definition=d.to_data(),
            created_by=custom.created_by if custom else None,
            created_at=custom.created_at if custom else None,
            modified_at=custom.modified_at if custom else None,
        )  # fmt: skip


class ServiceChangeResult(BaseModel):
    """An edited custom service; ``revoked_authorizations`` of its connections are now
    not_connected (their credentials were deleted)."""

    service: ServicePublic
    revoked_authorizations: int


class RevokeResult(BaseModel):
    """A revoked authorization: its status now, a warning when it was the primary account, and
    what the provider's revoke endpoint answered ("revoked", "not called: …", "failed: …")."""

    status: str
    primary_warning: str | None
    provider: str
