"""/audit: the workspace's audit log, newest first."""

from __future__ import annotations

from typing import Annotated, Literal

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
    outcome: Annotated[
        Literal["ok", "denied", "failed"] | None, Query(description="only this outcome")
    ] = None,
    actor: Annotated[
        str | None, Query(max_length=300, description="a part of the actor, any case")
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[AuditEventPublic]:
    found = AuditLog(runtime, principal).page(
        action=action, outcome=outcome, actor_contains=actor or None,
        before=cursor_time_id(cursor), limit=limit,
    )  # fmt: skip
    return Page(items=found.items, next_cursor=time_id_cursor(found.next_key))
