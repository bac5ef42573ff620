"""The audit log as a usecase service bound to (runtime, acting principal): a call owns its
transaction and returns public records, newest first, keyset-paged in SQL on (created_at, id)
(the audit table's index on (workspace_id, created_at) serves it)."""

from __future__ import annotations

from datetime import datetime

from plugboard.domain.principal import Principal
from plugboard.records import AuditEventPublic
from plugboard.usecases.audit import list_events
from plugboard.usecases.paging import KeysetPage, keyset_page
from plugboard.usecases.runtime import Runtime

__all__ = ["AuditLog", "AuditPage"]

AuditPage = KeysetPage[AuditEventPublic, tuple[datetime, str]]


class AuditLog:
    def __init__(self, runtime: Runtime, actor: Principal, workspace: str | None = None) -> None:
        self._runtime = runtime
        self._actor = actor
        self._workspace = workspace

    def page(
        self,
        *,
        action: str | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 50,
        outcome: str | None = None,
        actor_contains: str | None = None,
    ) -> AuditPage:
        """Newest first; ``before`` is the (created_at, id) of the last event already seen,
        and the page's ``next_key`` the one to pass for the next page."""
        with self._runtime.unit(write=False) as unit:
            events = list_events(
                unit, self._actor, workspace=self._workspace, action=action, before=before,
                limit=limit + 1, outcome=outcome, actor_contains=actor_contains,
            )  # fmt: skip
        found = [AuditEventPublic.of(e) for e in events]
        return keyset_page(found, limit, lambda e: (e.created_at, e.id))
