"""Recording events (SPEC §11) in the transaction of the change that causes them: the outbox.

Every event goes through :func:`record_event`. The helpers below build the payload of an event
about an authorization (connection, environment, user, status -- never a credential) and find
the authorizations a change is about to move, so each call site is one line placed beside the
change. Consumers read the outbox later (``unit.events.pending(consumer, ...)``): notifications
(usecases/notifications.py) today; webhook deliveries can be another consumer.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from plugboard.domain.apps import App
from plugboard.domain.connections import AuthorizationSummary, Connection
from plugboard.domain.events import EventType
from plugboard.domain.models import AuthorizationStatus
from plugboard.domain.principal import Principal
from plugboard.store.events import StoredEvent
from plugboard.store.unit import Unit

__all__ = [
    "record_app_event",
    "record_authorization_event",
    "record_connection_event",
    "record_event",
    "record_expiry_events",
    "record_reauthorization_events",
    "record_refresh_failure_event",
]

_DETAIL_MAX = 300


def _actor(actor: Principal | str) -> tuple[str, str | None]:
    if isinstance(actor, str):
        return actor, None
    return actor.label, actor.user_id


def record_event(
    unit: Unit,
    type: EventType,
    *,
    workspace_id: str,
    actor: Principal | str,
    connection_id: str | None = None,
    environment: str | None = None,
    user_id: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> StoredEvent:
    """Add an event to the outbox on the unit's transaction (it commits with the change)."""
    label, actor_user_id = _actor(actor)
    body = {"actor_user_id": actor_user_id, **(payload or {})}
    return unit.events.add(
        workspace_id=workspace_id, type=EventType(type).value, actor=label, payload=body,
        now=unit.now(), connection_id=connection_id, environment=environment, user_id=user_id,
    )  # fmt: skip


def _connection_payload(connection: Connection) -> dict[str, Any]:
    return {
        "connection": connection.link_name,
        "connection_name": connection.name,
        "service": connection.service_link_name,
        "level": connection.level.value,
    }


def record_connection_event(
    unit: Unit, type: EventType, actor: Principal | str, connection: Connection
) -> StoredEvent:
    """connection.created / connection.deleted."""
    return record_event(
        unit, type, workspace_id=connection.workspace_id, actor=actor,
        connection_id=connection.id, payload=_connection_payload(connection),
    )  # fmt: skip


def record_authorization_event(
    unit: Unit,
    type: EventType,
    actor: Principal | str,
    summary: AuthorizationSummary,
    **extra: Any,
) -> StoredEvent:
    """An event about one authorization, with its connection, environment and owner."""
    connection = unit.connections.by_id(summary.connection_id)
    payload = {
        **_connection_payload(connection),
        "environment": summary.environment,
        "owner_user_id": summary.owner_user_id,
        "authorization_id": summary.id,
        "account_name": summary.account_name,
        "was_primary": summary.is_primary,
        "detail": (summary.status_detail or "")[:_DETAIL_MAX] or None,
        **extra,
    }
    return record_event(
        unit, type, workspace_id=connection.workspace_id, actor=actor,
        connection_id=connection.id, environment=summary.environment,
        user_id=summary.owner_user_id, payload=payload,
    )  # fmt: skip


def record_reauthorization_events(
    unit: Unit,
    actor: Principal | str,
    connection_id: str,
    environments: Collection[str] | None = None,
    *,
    when: bool = True,
    detail: str = "scopes changed: authorize again",
) -> int:
    """authorization.needs_reauth for each authorization that a scope change is about to move
    (call it just before ``unit.connections.require_reauthorization`` with the same arguments:
    the connected and expired ones of ``environments``). Returns how many."""
    if not when:
        return 0
    moving = (AuthorizationStatus.CONNECTED, AuthorizationStatus.EXPIRED)
    count = 0
    for row in unit.authorizations.of_connection(connection_id):
        summary = row.summary
        if summary.status not in moving:
            continue
        if environments is not None and summary.environment not in environments:
            continue
        record_authorization_event(
            unit, EventType.AUTHORIZATION_NEEDS_REAUTH, actor, summary, detail=detail
        )
        count += 1
    return count


def record_expiry_events(unit: Unit, account_id: str, detail: str) -> int:
    """authorization.expired for each authorization of the account that is not expired yet
    (call it just before the refresh marks them expired). Returns how many."""
    count = 0
    for summary in unit.token_upkeep.authorizations_of_account(account_id):
        if summary.status is AuthorizationStatus.EXPIRED:
            continue
        record_authorization_event(
            unit, EventType.AUTHORIZATION_EXPIRED, "system:refresh", summary, detail=detail
        )
        count += 1
    return count


def record_refresh_failure_event(unit: Unit, account_id: str, error: str, *, first: bool) -> int:
    """authorization.refresh_failed when a refresh fails for a passing reason (the
    authorization stays as it is) -- only for the ``first`` failure since the last success,
    so a provider outage is one event per authorization, not one per retry."""
    if not first:
        return 0
    count = 0
    for summary in unit.token_upkeep.authorizations_of_account(account_id):
        record_authorization_event(
            unit, EventType.AUTHORIZATION_REFRESH_FAILED, "system:refresh", summary,
            detail=error[:_DETAIL_MAX],
        )  # fmt: skip
        count += 1
    return count


def record_app_event(
    unit: Unit, type: EventType, actor: Principal | str, app: App, **extra: Any
) -> StoredEvent:
    """app.published / app.installed, with the app's link name and version."""
    payload = {"app": app.link_name, "app_name": app.name, **extra}
    return record_event(unit, type, workspace_id=app.workspace_id, actor=actor, payload=payload)
