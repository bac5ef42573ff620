"""A component needs an authorization that does not exist (SPEC §5 "Telling the right person").

When an app's invoke (an app token: the app's components at run time) fails because the
connection has no authorization for that environment and user -- never authorized, or its
service edited away (``not_connected``) --, :func:`tell_required` records one
``authorization.required`` event in the outbox; the notifications and webhook consumers tell
those who can authorize it, as for the other authorization events. One event per state change:
no second one while the last event about that authorization is still this one (a component
retrying every minute is one notice, and a new one only after it was connected again).
Expired, revoked and failed authorizations are not "missing": their own events told already.
"""

from __future__ import annotations

import logging
from typing import Any

from plugboard.domain.authorizations import check_environment, environment_key
from plugboard.domain.events import EventType
from plugboard.domain.models import AuthorizationStatus, ConnectionLevel
from plugboard.domain.principal import Principal
from plugboard.errors import AuthorizationRequired, NotFound, PlugboardError
from plugboard.store.unit import Unit
from plugboard.usecases.events import record_event
from plugboard.usecases.identity import workspace_for
from plugboard.usecases.invoke_apps import app_calling_user
from plugboard.usecases.runtime import Runtime

__all__ = ["record_required_event", "tell_required"]

log = logging.getLogger("plugboard.invoke")

# The events that end or restate "this authorization is missing": the newest of them decides.
_STATE_EVENTS = frozenset(
    {
        EventType.AUTHORIZATION_REQUIRED.value,
        EventType.AUTHORIZATION_CONNECTED.value,
        EventType.AUTHORIZATION_REVOKED.value,
        EventType.AUTHORIZATION_EXPIRED.value,
        EventType.AUTHORIZATION_FAILED.value,
        EventType.AUTHORIZATION_NEEDS_REAUTH.value,
    }
)


def record_required_event(
    unit: Unit,
    actor: Principal,
    link_name: str,
    environment: str,
    as_user: str | None,
    workspace: str | None,
) -> bool:
    """Record ``authorization.required`` when the authorization is missing and the last event
    about it is not this one already; returns whether it recorded one."""
    ws = workspace_for(unit, actor, workspace)
    connection = unit.connections.get(ws.id, link_name)
    # Calls failing at the same instant in several processes decide one at a time: the second
    # reads the first's event once it is committed.
    unit.connections.lock_row(connection.id)
    user_id = app_calling_user(unit, actor, ws, as_user)[0] if actor.is_app else actor.user_id
    user_level = connection.level is ConnectionLevel.USER
    owner = user_id if user_level else None
    env = check_environment(ws.kind, environment)
    key = environment_key(connection.per_environment, env)
    try:
        row = unit.authorizations.get(connection.id, key, owner)
    except NotFound:
        row = None
    if row is not None and row.summary.status is not AuthorizationStatus.NOT_CONNECTED:
        return False
    latest = unit.events.latest_about(connection.id, key, owner, _STATE_EVENTS)
    if latest is not None and latest.type == EventType.AUTHORIZATION_REQUIRED.value:
        return False  # told already; nothing changed since
    payload: dict[str, Any] = {
        "connection": connection.link_name,
        "connection_name": connection.name,
        "service": connection.service_link_name,
        "level": connection.level.value,
        "environment": key,
        "owner_user_id": owner,
        # A user-level call for no user needs the primary account: the super admins are told.
        "was_primary": user_level and owner is None,
        "detail": "no authorization for this connection yet",
    }
    record_event(
        unit, EventType.AUTHORIZATION_REQUIRED, workspace_id=ws.id, actor=actor,
        connection_id=connection.id, environment=key, user_id=owner, payload=payload,
    )  # fmt: skip
    return True


def tell_required(
    runtime: Runtime,
    actor: Principal,
    error: PlugboardError,
    as_user: str | None,
    workspace: str | None,
) -> None:
    """After an app's invoke failed with ``error``: record the event when it says an
    authorization is missing (own transaction; a failure is logged, never raised over the
    invoke's own error)."""
    if not isinstance(error, AuthorizationRequired):
        return
    try:
        with runtime.unit() as unit:
            record_required_event(
                unit, actor, error.connection, error.environment, as_user, workspace
            )
    except PlugboardError as exc:
        log.warning("could not record that %r needs authorizing: %s", error.connection, exc.code)
    except Exception as exc:  # a database error (a lock wait): the invoke's own error stands
        log.warning(
            "could not record that %r needs authorizing: %s", error.connection,
            type(exc).__name__,
        )  # fmt: skip
