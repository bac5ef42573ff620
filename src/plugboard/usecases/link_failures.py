"""A failed attempt to link an account (SPEC §5 "Statuses, precisely"): the consent was denied,
the code exchange failed or the service's test call refused the credential. The authorization
becomes ``failed`` with the provider's error (never a secret), so whoever looks at it, or
invokes through it, learns why."""

from __future__ import annotations

from collections.abc import Sequence

from plugboard.domain.connections import AuthorizationSummary, Connection
from plugboard.domain.events import EventType
from plugboard.domain.principal import Principal
from plugboard.store.unit import Unit
from plugboard.usecases.events import record_authorization_event

DETAIL_MAX = 500


def record_failed_attempt(
    unit: Unit,
    actor: Principal | str,
    *,
    connection: Connection,
    environments: Sequence[str],
    owner_user_id: str | None,
    error: str,
    attempted_by: str | None,
) -> list[AuthorizationSummary]:
    """Mark each slot of the attempt ``failed`` with ``error``; a connected slot keeps its
    working account. Returns the authorizations that became failed."""
    failed = []
    now = unit.now()
    for environment in environments:
        summary = unit.accounts.mark_failed(
            workspace_id=connection.workspace_id,
            connection_id=connection.id,
            environment=environment,
            owner_user_id=owner_user_id,
            detail=error[:DETAIL_MAX],
            attempted_by=attempted_by,
            now=now,
        )
        if summary is None:
            continue
        failed.append(summary)
        unit.record(
            actor=actor, action="authorization.failed", object_type="connection",
            object_id=connection.id, workspace_id=connection.workspace_id, outcome="failed",
            detail={"connection": connection.link_name, "environment": environment,
                    "owner_user_id": owner_user_id, "error": error[:300]},
        )  # fmt: skip
        record_authorization_event(unit, EventType.AUTHORIZATION_FAILED, actor, summary)
    return failed
