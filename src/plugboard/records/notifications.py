"""The records of notifications (SPEC §5 "Telling the right person") and background jobs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

__all__ = ["JobInfo", "MuteInfo", "NotificationInfo", "NotificationPage"]


class NotificationInfo(BaseModel):
    id: str
    kind: str  # the event type, e.g. authorization.expired
    title: str
    body: str
    link: str  # the console page that authorizes that connection and environment
    connection: str | None  # link name; None once the connection is deleted
    environment: str | None
    created_at: datetime
    read: bool
    email_status: str  # none, pending, sent, failed


class NotificationPage(BaseModel):
    items: list[NotificationInfo]
    unread: int
    next_cursor: str | None = None


class MuteInfo(BaseModel):
    connection: str
    muted: bool


class JobInfo(BaseModel):
    """A background job as `plugboard jobs list` shows it (either queue)."""

    id: str
    task: str
    status: str  # queued, running, failed (and succeeded, when asked for)
    attempts: int
    error: str | None
    scheduled_at: datetime | None
    queue: str  # procrastinate (PostgreSQL) or in-process (SQLite)
