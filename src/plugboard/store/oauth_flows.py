"""Pending consent flows. A flow is consumed at most once: the UPDATE that consumes it only
matches while `consumed_at` is NULL, so two callbacks racing with one state cannot both win."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from plugboard.crypto.sealing import Sealer
from plugboard.domain.ids import new_id
from plugboard.domain.oauth import PendingFlow
from plugboard.errors import NotFound
from plugboard.store.sealed import open_json, seal_json
from plugboard.store.tables import oauth_flows

_COLUMN = "secrets_sealed"


def _flow(row: Any) -> PendingFlow:
    return PendingFlow(
        id=row.id,
        workspace_id=row.workspace_id,
        connection_id=row.connection_id,
        initiated_by=row.initiated_by,
        owner_user_id=row.owner_user_id,
        environments=tuple(row.environments),
        redirect_uri=row.redirect_uri,
        created_at=row.created_at,
        expires_at=row.expires_at,
        consumed_at=row.consumed_at,
        outcome=row.outcome,
        replace_authorization_id=row.replace_authorization_id,
    )


class FlowRepository:
    def __init__(self, conn: Connection, sealer: Sealer) -> None:
        self._conn = conn
        self._sealer = sealer

    def add(
        self,
        *,
        workspace_id: str,
        connection_id: str,
        initiated_by: str,
        owner_user_id: str | None,
        environments: Sequence[str],
        redirect_uri: str,
        state_hash: str,
        secrets: dict[str, str],
        now: datetime,
        expires_at: datetime,
        replace_authorization_id: str | None = None,
    ) -> PendingFlow:
        flow_id = new_id("flow")
        self._conn.execute(
            oauth_flows.insert().values(
                id=flow_id,
                workspace_id=workspace_id,
                connection_id=connection_id,
                initiated_by=initiated_by,
                owner_user_id=owner_user_id,
                state_hash=state_hash,
                environments=list(environments),
                redirect_uri=redirect_uri,
                secrets_sealed=seal_json(self._sealer, oauth_flows, _COLUMN, flow_id, secrets),
                replace_authorization_id=replace_authorization_id,
                created_at=now,
                expires_at=expires_at,
            )
        )
        return self.by_id(flow_id)

    def by_id(self, flow_id: str) -> PendingFlow:
        row = self._conn.execute(select(oauth_flows).where(oauth_flows.c.id == flow_id)).first()
        if row is None:
            raise NotFound("consent", flow_id)
        return _flow(row)

    def by_state_hash(self, state_hash: str) -> PendingFlow | None:
        row = self._conn.execute(
            select(oauth_flows).where(oauth_flows.c.state_hash == state_hash)
        ).first()
        return _flow(row) if row else None

    def secrets_of(self, flow: PendingFlow) -> dict[str, str]:
        row = self._conn.execute(
            select(oauth_flows.c.secrets_sealed).where(oauth_flows.c.id == flow.id)
        ).one()
        if row.secrets_sealed is None:
            return {}
        return {
            k: str(v)
            for k, v in open_json(
                self._sealer, oauth_flows, _COLUMN, flow.id, row.secrets_sealed
            ).items()
        }

    def consume(self, flow: PendingFlow, now: datetime, outcome: str) -> bool:
        """Mark the flow used and drop its secrets; False if someone else consumed it first."""
        result = self._conn.execute(
            update(oauth_flows)
            .where(oauth_flows.c.id == flow.id, oauth_flows.c.consumed_at.is_(None))
            .values(consumed_at=now, outcome=outcome[:500], secrets_sealed=None)
        )
        return int(result.rowcount) == 1

    def set_outcome(self, flow: PendingFlow, outcome: str) -> None:
        """Record how a claimed flow ended (a waiting CLI reads it)."""
        self._conn.execute(
            update(oauth_flows).where(oauth_flows.c.id == flow.id).values(outcome=outcome[:500])
        )

    def purge_older_than(self, cutoff: datetime) -> int:
        """Forget finished or dead flows; their outcome was audited when they ended."""
        result = self._conn.execute(delete(oauth_flows).where(oauth_flows.c.expires_at < cutoff))
        return int(result.rowcount)
