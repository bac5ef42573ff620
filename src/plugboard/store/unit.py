"""A unit of work: one transaction and the repositories that run on it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from plugboard.crypto.sealing import Sealer
from plugboard.domain.clock import Clock
from plugboard.domain.models import AuditEvent
from plugboard.domain.principal import Principal
from plugboard.store.accounts import AccountRepository
from plugboard.store.app_tokens import AppTokenRepository
from plugboard.store.apps import AppRepository
from plugboard.store.audit import AuditRepository
from plugboard.store.authorizations import AuthorizationRepository
from plugboard.store.connections import ConnectionRepository
from plugboard.store.custom_services import CustomServiceRepository
from plugboard.store.datasource_pages import PageDigestRepository
from plugboard.store.datasource_records import RecordRepository
from plugboard.store.datasources import DatasourceRepository
from plugboard.store.events import EventRepository
from plugboard.store.identity import (
    MembershipRepository,
    TokenRepository,
    UserRepository,
    WorkspaceRepository,
)
from plugboard.store.invitations import InvitationRepository
from plugboard.store.job_runs import JobRunRepository
from plugboard.store.login_throttle import LoginThrottleRepository
from plugboard.store.notifications import NotificationRepository
from plugboard.store.oauth_flows import FlowRepository
from plugboard.store.refresh_journal import RefreshJournal
from plugboard.store.resolution import ResolutionReader
from plugboard.store.service_clients import ServiceClientRepository
from plugboard.store.sessions import SessionRepository
from plugboard.store.sync_runs import SyncRunReader
from plugboard.store.sync_slots import SyncSlotRepository
from plugboard.store.token_upkeep import TokenUpkeepRepository
from plugboard.store.webhooks import WebhookRepository


class Unit:
    def __init__(self, conn: Connection, sealer: Sealer, clock: Clock) -> None:
        self.conn = conn
        self.sealer = sealer
        self.clock = clock
        self.workspaces = WorkspaceRepository(conn)
        self.users = UserRepository(conn)
        self.memberships = MembershipRepository(conn)
        self.tokens = TokenRepository(conn)
        self.invitations = InvitationRepository(conn)
        self.audit = AuditRepository(conn)
        self.service_clients = ServiceClientRepository(conn, sealer)
        self.custom_services = CustomServiceRepository(conn, sealer)
        self.connections = ConnectionRepository(conn)
        self.flows = FlowRepository(conn, sealer)
        self.authorizations = AuthorizationRepository(conn)
        self.sessions = SessionRepository(conn)
        self.login_throttle = LoginThrottleRepository(conn)
        self.accounts = AccountRepository(conn, sealer)
        self.refresh_journal = RefreshJournal(conn, sealer)
        self.apps = AppRepository(conn)
        self.app_tokens = AppTokenRepository(conn)
        self.datasources = DatasourceRepository(conn)
        self.datasource_records = RecordRepository(conn)
        self.datasource_pages = PageDigestRepository(conn)
        self.sync_slots = SyncSlotRepository(conn)
        self.sync_runs = SyncRunReader(conn, sealer)
        self.events = EventRepository(conn)
        self.notifications = NotificationRepository(conn)
        self.job_runs = JobRunRepository(conn)
        self.token_upkeep = TokenUpkeepRepository(conn)
        self.webhooks = WebhookRepository(conn, sealer)
        self.resolution = ResolutionReader(conn, sealer)
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once this unit's transaction has committed (not if it rolls back);
        the same action asked for twice runs once."""
        if action not in self._after_commit:
            self._after_commit.append(action)

    def run_after_commit(self) -> None:
        """What :meth:`after_commit` asked for (the runtime calls it after the commit)."""
        for action in self._after_commit:
            action()

    def now(self) -> datetime:
        return self.clock.now()

    def record(
        self,
        *,
        actor: Principal | str,
        action: str,
        object_type: str,
        object_id: str | None,
        workspace_id: str | None,
        outcome: str = "ok",
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        """Audit an action in this unit's transaction, at this unit's time."""
        return self.audit.record(
            actor=actor if isinstance(actor, str) else actor.label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            workspace_id=workspace_id,
            now=self.now(),
            outcome=outcome,
            detail=detail,
        )
