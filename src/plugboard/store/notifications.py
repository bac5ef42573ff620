"""Notifications for people (SPEC §5 "Telling the right person"), their e-mail state, and mutes.

One row per (event, person), enforced by a unique constraint: processing an event twice adds
nothing. E-mail is sent at least once: a sender claims a row for a lease
(``email_claimed_until``), sends, then marks it sent; a sender that dies leaves the claim to
expire and the row to be claimed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from plugboard.domain.ids import new_sortable_id
from plugboard.store.tables import notification_mutes, notifications, users

__all__ = ["NotificationRepository", "StoredNotification"]


@dataclass(frozen=True, slots=True)
class StoredNotification:
    id: str
    workspace_id: str
    user_id: str
    event_id: str
    kind: str
    connection_id: str | None
    environment: str | None
    owner_user_id: str | None
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None
    email_status: str
    email_attempts: int
    email_error: str | None
    emailed_at: datetime | None


def _notification(row: Any) -> StoredNotification:
    return StoredNotification(
        **{f: getattr(row, f) for f in StoredNotification.__dataclass_fields__}
    )


class NotificationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self,
        *,
        workspace_id: str,
        user_id: str,
        event_id: str,
        kind: str,
        connection_id: str | None,
        environment: str | None,
        owner_user_id: str | None,
        title: str,
        body: str,
        link: str,
        email: bool,
        now: datetime,
    ) -> bool:
        """Add the notification unless this person already has one for this event."""
        values = {
            "id": new_sortable_id("ntf"),
            "workspace_id": workspace_id,
            "user_id": user_id,
            "event_id": event_id,
            "kind": kind,
            "connection_id": connection_id,
            "environment": environment,
            "owner_user_id": owner_user_id,
            "title": title[:200],
            "body": body[:1000],
            "link": link[:500],
            "created_at": now,
            "email_status": "pending" if email else "none",
        }
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(notifications)
            .values(values)
            .on_conflict_do_nothing(index_elements=["event_id", "user_id"])
            .returning(notifications.c.id)
        )
        # RETURNING, not rowcount: psycopg reports no count for ON CONFLICT DO NOTHING.
        return self._conn.execute(statement).first() is not None

    def get(self, notification_id: str) -> StoredNotification | None:
        row = self._conn.execute(
            select(notifications).where(notifications.c.id == notification_id)
        ).first()
        return _notification(row) if row else None

    def of_user(
        self,
        user_id: str,
        workspace_id: str,
        *,
        unread_only: bool = False,
        before: tuple[datetime, str] | None = None,
        limit: int = 50,
    ) -> list[StoredNotification]:
        """Newest first, keyset-paged on (created_at, id)."""
        query = (
            select(notifications)
            .where(notifications.c.user_id == user_id, notifications.c.workspace_id == workspace_id)
            .order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
            .limit(limit)
        )
        if unread_only:
            query = query.where(notifications.c.read_at.is_(None))
        if before is not None:
            at, last_id = before
            query = query.where(
                or_(
                    notifications.c.created_at < at,
                    and_(notifications.c.created_at == at, notifications.c.id < last_id),
                )
            )
        return [_notification(r) for r in self._conn.execute(query)]

    def unread_count(self, user_id: str, workspace_id: str) -> int:
        query = select(func.count()).where(
            notifications.c.user_id == user_id,
            notifications.c.workspace_id == workspace_id,
            notifications.c.read_at.is_(None),
        )
        return int(self._conn.execute(query).scalar_one())

    def mark_read(
        self, user_id: str, workspace_id: str, ids: Sequence[str] | None, now: datetime
    ) -> int:
        """Mark the person's notifications read: those of ``ids``, or all when None."""
        query = (
            update(notifications)
            .where(
                notifications.c.user_id == user_id,
                notifications.c.workspace_id == workspace_id,
                notifications.c.read_at.is_(None),
            )
            .values(read_at=now)
        )
        if ids is not None:
            query = query.where(notifications.c.id.in_(list(ids)))
        return int(self._conn.execute(query).rowcount)

    # -- e-mail --------------------------------------------------------------------------------

    def claim_email(
        self, now: datetime, lease: timedelta, *, limit: int = 20
    ) -> list[tuple[StoredNotification, str, str]]:
        """Claim up to ``limit`` notifications whose e-mail is due (pending, unclaimed or with
        an expired claim) for ``lease``; returns each with the recipient's address and name."""
        query = (
            select(notifications, users.c.email.label("to_email"), users.c.name.label("to_name"))
            .join(users, users.c.id == notifications.c.user_id)
            .where(
                notifications.c.email_status == "pending",
                or_(
                    notifications.c.email_claimed_until.is_(None),
                    notifications.c.email_claimed_until < now,
                ),
            )
            .order_by(notifications.c.created_at)
            .limit(limit)
        )
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update(of=notifications, skip_locked=True)
        rows = self._conn.execute(query).all()
        if rows:
            self._conn.execute(
                update(notifications)
                .where(notifications.c.id.in_([r.id for r in rows]))
                .values(
                    email_claimed_until=now + lease,
                    email_attempts=notifications.c.email_attempts + 1,
                )
            )
        return [(_notification(r), r.to_email, r.to_name) for r in rows]

    def mark_emailed(self, notification_id: str, now: datetime) -> None:
        self._conn.execute(
            update(notifications)
            .where(notifications.c.id == notification_id)
            .values(email_status="sent", emailed_at=now, email_error=None, email_claimed_until=None)
        )

    def mark_email_failed(
        self, notification_id: str, error: str, *, retry_at: datetime | None
    ) -> None:
        """Record a failed send: retried after ``retry_at``, or given up when it is None."""
        self._conn.execute(
            update(notifications)
            .where(notifications.c.id == notification_id)
            .values(
                email_status="pending" if retry_at is not None else "failed",
                email_error=error[:500],
                email_claimed_until=retry_at,
            )
        )

    # -- mutes ---------------------------------------------------------------------------------

    def is_muted(self, user_id: str, connection_id: str) -> bool:
        query = select(notification_mutes.c.user_id).where(
            notification_mutes.c.user_id == user_id,
            notification_mutes.c.connection_id == connection_id,
        )
        return self._conn.execute(query).first() is not None

    def mute(self, user_id: str, connection_id: str, workspace_id: str, now: datetime) -> bool:
        """Mute the connection for the person, and drop the e-mail of its notices not sent yet
        (waiting or between retries): muting means no more e-mail about it."""
        if self.is_muted(user_id, connection_id):
            return False
        self._conn.execute(
            notification_mutes.insert().values(
                user_id=user_id, connection_id=connection_id, workspace_id=workspace_id,
                created_at=now,
            )
        )  # fmt: skip
        self._conn.execute(
            update(notifications)
            .where(
                notifications.c.user_id == user_id,
                notifications.c.connection_id == connection_id,
                notifications.c.email_status == "pending",
            )
            .values(email_status="none", email_claimed_until=None)
        )
        return True

    def unmute(self, user_id: str, connection_id: str) -> bool:
        result = self._conn.execute(
            delete(notification_mutes).where(
                notification_mutes.c.user_id == user_id,
                notification_mutes.c.connection_id == connection_id,
            )
        )
        return bool(result.rowcount)

    def muted_connections(self, user_id: str, workspace_id: str) -> list[str]:
        query = select(notification_mutes.c.connection_id).where(
            notification_mutes.c.user_id == user_id,
            notification_mutes.c.workspace_id == workspace_id,
        )
        return [r.connection_id for r in self._conn.execute(query)]
