"""/audit: the workspace's audit log, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from plugboard.records import AuditEventPublic
from plugboard.server.deps import CurrentPrincipal, RuntimeDep
from plugboard.server.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    cursor_time_id,
    time_id_cursor,
)
from plugboard.usecases.audit_service import AuditLog

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
def list_audit(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    action: Annotated[str | None, Query(description="e.g. connection.create")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[AuditEventPublic]:
    found = AuditLog(runtime, principal).page(
        action=action, before=cursor_time_id(cursor), limit=limit
    )
    return Page(items=found.items, next_cursor=time_id_cursor(found.next_key))
