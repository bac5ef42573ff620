"""/audit: the workspace's audit log, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from plugboard.errors import ValidationError
from plugboard.server.deps import CurrentPrincipal, RuntimeDep
from plugboard.server.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from plugboard.server.schemas import AuditEventPublic
from plugboard.usecases.audit import list_events

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
def list_audit(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    action: Annotated[str | None, Query(description="e.g. connection.create")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[AuditEventPublic]:
    before = None
    if cursor:
        key = decode_cursor(cursor)
        try:
            before = (datetime.fromisoformat(key[0]), str(key[1]))
        except (IndexError, TypeError, ValueError):
            raise ValidationError(
                "cursor", "must be a next_cursor value from a previous page"
            ) from None
    with runtime.unit(write=False) as unit:
        events = list_events(unit, principal, action=action, before=before, limit=limit + 1)
    page = events[:limit]
    next_cursor = (
        encode_cursor([page[-1].created_at.isoformat(), page[-1].id])
        if len(events) > limit
        else None
    )
    return Page(items=[AuditEventPublic.of(e) for e in page], next_cursor=next_cursor)
