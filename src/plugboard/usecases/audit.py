"""Reading the audit log (SPEC §10)."""

from __future__ import annotations

from datetime import datetime

from plugboard.domain.models import AuditEvent
from plugboard.domain.permissions import Action, require
from plugboard.domain.principal import Principal
from plugboard.store.unit import Unit
from plugboard.usecases.identity import workspace_for


def list_events(
    unit: Unit,
    actor: Principal,
    *,
    workspace: str | None = None,
    action: str | None = None,
    before: tuple[datetime, str] | None = None,
    limit: int = 50,
    outcome: str | None = None,
    actor_contains: str | None = None,
) -> list[AuditEvent]:
    """Newest first; `before` is the (time, id) of the last event of the previous page.
    `outcome` and `actor_contains` (a part of the actor, any case) filter in the store."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.VIEW_AUDIT)
    return unit.audit.list(
        ws.id, action=action, before=before, limit=limit, outcome=outcome,
        actor_contains=actor_contains,
    )  # fmt: skip
