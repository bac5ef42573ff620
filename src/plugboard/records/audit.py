"""The record of an audit log entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from plugboard.domain.models import AuditEvent

__all__ = ["AuditEventPublic"]


class AuditEventPublic(BaseModel):
    id: str
    actor: str
    action: str
    object_type: str
    object_id: str | None
    outcome: str
    detail: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, e: AuditEvent) -> AuditEventPublic:
        return cls(
            id=e.id, actor=e.actor, action=e.action, object_type=e.object_type,
            object_id=e.object_id, outcome=e.outcome, detail=e.detail, created_at=e.created_at,
        )  # fmt: skip
