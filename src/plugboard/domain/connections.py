"""Connections, their references, and the authorization summary shown with them (SPEC §3–§5)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from plugboard.domain.models import (
    AuthorizationStatus,
    ComponentType,
    ConnectionLevel,
    Environment,
)


@dataclass(frozen=True, slots=True)
class Connection:
    id: str
    workspace_id: str
    link_name: str
    name: str
    service_link_name: str
    custom_service_id: str | None
    level: ConnectionLevel
    per_environment: bool
    scopes: tuple[str, ...]
    all_scopes: bool
    dynamic_values: dict[str, str] = field(hash=False)
    origin: str
    app_id: str | None
    created_by: str | None
    created_at: datetime
    modified_by: str | None
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class Reference:
    """An app component that uses a connection."""

    id: str
    connection_id: str
    app_id: str
    app_link_name: str
    component_type: ComponentType
    component_name: str
    environment: Environment


@dataclass(frozen=True, slots=True)
class AuthorizationSummary:
    """One authorization's public face: never the credential."""

    id: str
    connection_id: str
    environment: str
    owner_user_id: str | None
    account_id: str | None
    account_name: str | None
    status: AuthorizationStatus
    status_detail: str | None
    is_primary: bool
    created_at: datetime
    updated_at: datetime


# Most urgent first: what the viewer must act on shows before what merely works.
_BY_URGENCY = (
    AuthorizationStatus.FAILED,
    AuthorizationStatus.EXPIRED,
    AuthorizationStatus.REVOKED,
    AuthorizationStatus.NEEDS_REAUTH,
    AuthorizationStatus.NOT_CONNECTED,
)


def connection_status(statuses: Iterable[AuthorizationStatus]) -> AuthorizationStatus:
    """One status for a connection, from the authorizations that serve the viewer (all of an
    admin or system connection's; on a user-level one, the viewer's own): the most urgent that
    needs action, `connected` when every one is, `not_connected` when there is none."""
    present = set(statuses)
    if not present:
        return AuthorizationStatus.NOT_CONNECTED
    return next((s for s in _BY_URGENCY if s in present), AuthorizationStatus.CONNECTED)


def statuses_serving(
    connection: Connection,
    authorizations: Iterable[tuple[str | None, AuthorizationStatus]],
    viewer_user_id: str | None,
) -> list[AuthorizationStatus]:
    """The statuses of (owner, status) pairs that serve ``viewer_user_id`` on ``connection``."""
    if connection.level is not ConnectionLevel.USER:
        return [status for _, status in authorizations]
    return [status for owner, status in authorizations if owner == viewer_user_id]
