"""/notifications: the calling member's notices (SPEC §5 "Telling the right person"), marking
them read, and muting a connection."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from plugboard.records.notifications import MuteInfo, NotificationPage
from plugboard.server.deps import CurrentPrincipal, RuntimeDep
from plugboard.usecases.notifications import Notifications

router = APIRouter(prefix="/notifications", tags=["notifications"])


class MarkRead(BaseModel):
    ids: list[str] | None = None  # None: every notification of the caller


class Marked(BaseModel):
    marked: int


@router.get("")
def list_notifications(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    unread: Annotated[bool, Query(description="only those not read yet")] = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationPage:
    """Newest first, with how many are unread."""
    return Notifications(runtime, principal).list(unread_only=unread, limit=limit, cursor=cursor)


@router.post("/read")
def mark_read(runtime: RuntimeDep, principal: CurrentPrincipal, body: MarkRead) -> Marked:
    return Marked(marked=Notifications(runtime, principal).mark_read(body.ids))


@router.post("/{notification_id}/read")
def mark_one_read(runtime: RuntimeDep, principal: CurrentPrincipal, notification_id: str) -> Marked:
    return Marked(marked=Notifications(runtime, principal).mark_read([notification_id]))


@router.get("/mutes")
def list_mutes(runtime: RuntimeDep, principal: CurrentPrincipal) -> list[MuteInfo]:
    return Notifications(runtime, principal).muted()


@router.put("/mutes/{connection}")
def mute(runtime: RuntimeDep, principal: CurrentPrincipal, connection: str) -> MuteInfo:
    """No more notifications about this connection for the caller."""
    return Notifications(runtime, principal).mute(connection)


@router.delete("/mutes/{connection}")
def unmute(runtime: RuntimeDep, principal: CurrentPrincipal, connection: str) -> MuteInfo:
    return Notifications(runtime, principal).unmute(connection)
