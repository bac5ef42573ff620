"""The audit log. Written on the caller's connection, so it commits or rolls back with the change
it records. A detail value under a secret-sounding key is replaced before it is stored."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from plugboard.domain.ids import new_sortable_id
from plugboard.domain.models import AuditEvent
from plugboard.store.tables import audit_events

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"secret|password|passwd|token|api_?key|credential|authorization|verifier|private", re.I
)


def redact(detail: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the shape of `detail`, drop every value stored under a secret-sounding key (a flag
    such as `client_secret_set: true` says nothing secret and is kept)."""
    clean: dict[str, Any] = {}
    for key, value in detail.items():
        if _SECRET_KEY.search(key) and not isinstance(value, bool):
            clean[key] = REDACTED
        elif isinstance(value, Mapping):
            clean[key] = redact(value)
        else:
            clean[key] = value
    return clean


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        workspace_id=row.workspace_id,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        outcome=row.outcome,
        detail=dict(row.detail),
        created_at=row.created_at,
    )


_INSERT = audit_events.insert()


class AuditRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record(
        self,
        *,
        actor: str,
        action: str,
        object_type: str,
        object_id: str | None,
        workspace_id: str | None,
        now: datetime,
        outcome: str = "ok",
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        event = AuditEvent(
            id=new_sortable_id("evt"),
            workspace_id=workspace_id,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            outcome=outcome,
            detail=redact(detail or {}),
            created_at=now,
        )
        # The table's INSERT with parameters: compiled once, not built per event.
        self._conn.execute(
            _INSERT,
            {
                "id": event.id, "workspace_id": workspace_id, "actor": actor, "action": action,
                "object_type": object_type, "object_id": object_id, "outcome": outcome,
                "detail": event.detail, "created_at": now,
            },
        )  # fmt: skip
        return event

    def list(
        self,
        workspace_id: str | None = None,
        action: str | None = None,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
        outcome: str | None = None,
        actor_contains: str | None = None,
    ) -> list[AuditEvent]:
        """Newest first. `before` = (created_at, id) of the last event already seen;
        `actor_contains` matches a part of the actor, ignoring case."""
        query = select(audit_events)
        if before is not None:
            at, event_id = before
            query = query.where(
                or_(
                    audit_events.c.created_at < at,
                    and_(audit_events.c.created_at == at, audit_events.c.id < event_id),
                )
            )
        if workspace_id is not None:
            query = query.where(audit_events.c.workspace_id == workspace_id)
        if action is not None:
            query = query.where(audit_events.c.action == action)
        if outcome is not None:
            query = query.where(audit_events.c.outcome == outcome)
        if actor_contains:
            query = query.where(
                func.lower(audit_events.c.actor).contains(actor_contains.lower(), autoescape=True)
            )
        query = query.order_by(audit_events.c.created_at.desc(), audit_events.c.id.desc())
        return [_event(r) for r in self._conn.execute(query.limit(limit))]
