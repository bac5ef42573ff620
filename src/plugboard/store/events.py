"""The events outbox (SPEC §11): rows written on the caller's connection, so an event commits or
rolls back with the change that causes it, and the consumers' marks of what they processed.

A consumer (notifications today; webhook deliveries next) reads :meth:`EventRepository.pending`
for its name and, in the transaction that acts on an event, calls
:meth:`EventRepository.mark_processed`; the primary key (event, consumer) makes a second
processing of the same event fail instead of acting twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, exists, insert, select

from plugboard.domain.ids import new_sortable_id
from plugboard.store.tables import event_consumptions, events

__all__ = ["EventRepository", "StoredEvent"]

# Events older than this are no longer offered to consumers (nor scanned for them).
CONSUMER_WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: str
    workspace_id: str
    type: str
    connection_id: str | None
    environment: str | None
    user_id: str | None
    actor: str
    payload: dict[str, Any]
    created_at: datetime


def _event(row: Any) -> StoredEvent:
    return StoredEvent(
        id=row.id,
        workspace_id=row.workspace_id,
        type=row.type,
        connection_id=row.connection_id,
        environment=row.environment,
        user_id=row.user_id,
        actor=row.actor,
        payload=dict(row.payload),
        created_at=row.created_at,
    )


_INSERT = insert(events)


class EventRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self,
        *,
        workspace_id: str,
        type: str,
        actor: str,
        payload: Mapping[str, Any],
        now: datetime,
        connection_id: str | None = None,
        environment: str | None = None,
        user_id: str | None = None,
    ) -> StoredEvent:
        """Record an event. The payload is built by usecases/events.py from public fields only
        (names, ids, statuses): never a credential."""
        row: dict[str, Any] = {
            "id": new_sortable_id("evt"),
            "workspace_id": workspace_id,
            "type": type,
            "connection_id": connection_id,
            "environment": environment,
            "user_id": user_id,
            "actor": actor,
            "payload": dict(payload),
            "created_at": now,
        }
        self._conn.execute(_INSERT, row)  # compiled once, not built per event
        return StoredEvent(**row)

    def get(self, event_id: str) -> StoredEvent | None:
        row = self._conn.execute(select(events).where(events.c.id == event_id)).first()
        return _event(row) if row else None

    def pending(self, consumer: str, now: datetime, *, limit: int = 100) -> list[StoredEvent]:
        """Events of the last week the consumer has not processed, oldest first."""
        done = exists().where(
            event_consumptions.c.event_id == events.c.id,
            event_consumptions.c.consumer == consumer,
        )
        query = (
            select(events)
            .where(events.c.created_at >= now - CONSUMER_WINDOW, ~done)
            .order_by(events.c.id)
            .limit(limit)
        )
        return [_event(r) for r in self._conn.execute(query)]

    def mark_processed(self, consumer: str, event_ids: Sequence[str], now: datetime) -> None:
        if event_ids:
            self._conn.execute(
                insert(event_consumptions),
                [{"event_id": e, "consumer": consumer, "processed_at": now} for e in event_ids],
            )

    def latest_about(
        self,
        connection_id: str,
        environment: str,
        user_id: str | None,
        types: Collection[str],
    ) -> StoredEvent | None:
        """The newest event of ``types`` about one authorization (connection, environment and
        owner, ``None`` for a shared one)."""
        owner = events.c.user_id.is_(None) if user_id is None else events.c.user_id == user_id
        query = (
            select(events)
            .where(
                events.c.connection_id == connection_id,
                events.c.environment == environment,
                owner,
                events.c.type.in_(list(types)),
            )
            .order_by(events.c.id.desc())
            .limit(1)
        )
        row = self._conn.execute(query).first()
        return None if row is None else _event(row)

    def list(
        self,
        workspace_id: str | None = None,
        *,
        type: str | None = None,
        connection_id: str | None = None,
        limit: int = 100,
    ) -> list[StoredEvent]:
        """Newest first."""
        query = select(events).order_by(events.c.id.desc()).limit(limit)
        if workspace_id is not None:
            query = query.where(events.c.workspace_id == workspace_id)
        if type is not None:
            query = query.where(events.c.type == type)
        if connection_id is not None:
            query = query.where(events.c.connection_id == connection_id)
        return [_event(r) for r in self._conn.execute(query)]
