"""The store side of keeping idle OAuth 2 tokens alive (SPEC §5 "Tokens stay alive while idle"):
which accounts are due for a proactive refresh, and the authorizations an account serves.

An account is due when it backs a connected authorization of an OAuth 2 service and either its
token expires within the horizon or, without a known expiry, it was last refreshed (or linked)
a day ago or more -- unless ``token_upkeep`` says to look again later.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from plugboard.domain.connections import AuthorizationSummary
from plugboard.domain.models import AuthorizationStatus
from plugboard.store.accounts import authorization_summary
from plugboard.store.tables import (
    accounts,
    authorizations,
    connections,
    custom_services,
    token_upkeep,
)

__all__ = ["DueAccount", "TokenUpkeepRepository"]

DAILY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DueAccount:
    account_id: str
    workspace_id: str
    connection_id: str
    token_expires_at: datetime | None


class TokenUpkeepRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def due(
        self,
        now: datetime,
        *,
        horizon: timedelta,
        oauth2_builtin_services: Collection[str],
        cooldown: timedelta,
        limit: int,
    ) -> list[DueAccount]:
        """Up to ``limit`` due accounts, the soonest to expire first (then the longest since a
        refresh): a thousand expiring together are taken a batch at a time."""
        serves_connected = exists().where(
            authorizations.c.account_id == accounts.c.id,
            authorizations.c.status == AuthorizationStatus.CONNECTED.value,
        )
        last_refresh = func.coalesce(accounts.c.refreshed_at, accounts.c.created_at)
        query = (
            select(
                accounts.c.id,
                accounts.c.workspace_id,
                accounts.c.connection_id,
                accounts.c.token_expires_at,
            )  # fmt: skip
            .join(connections, connections.c.id == accounts.c.connection_id)
            .outerjoin(custom_services, custom_services.c.id == connections.c.custom_service_id)
            .outerjoin(token_upkeep, token_upkeep.c.account_id == accounts.c.id)
            .where(
                serves_connected,
                or_(
                    custom_services.c.auth_type == "oauth2",
                    and_(
                        connections.c.custom_service_id.is_(None),
                        connections.c.service_link_name.in_(list(oauth2_builtin_services)),
                    ),
                ),
                or_(
                    accounts.c.token_expires_at <= now + horizon,
                    and_(accounts.c.token_expires_at.is_(None), last_refresh <= now - DAILY),
                ),
                or_(token_upkeep.c.next_at.is_(None), token_upkeep.c.next_at <= now),
                or_(
                    accounts.c.refresh_failed_at.is_(None),
                    accounts.c.refresh_failed_at <= now - cooldown,
                ),
            )
            .order_by(
                accounts.c.token_expires_at.is_(None),
                accounts.c.token_expires_at,
                last_refresh,
                accounts.c.id,
            )
            .limit(limit)
        )
        return [
            DueAccount(r.id, r.workspace_id, r.connection_id, r.token_expires_at)
            for r in self._conn.execute(query)
        ]

    def look_again_at(self, account_id: str, at: datetime, note: str) -> None:
        dialect: Any = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(token_upkeep).values(
            account_id=account_id, next_at=at, note=note[:200]
        )
        self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=["account_id"], set_={"next_at": at, "note": note[:200]}
            )
        )

    def forget(self, account_id: str) -> None:
        self._conn.execute(token_upkeep.delete().where(token_upkeep.c.account_id == account_id))

    def authorizations_of_account(self, account_id: str) -> list[AuthorizationSummary]:
        query = (
            select(authorizations, accounts.c.display_name)
            .outerjoin(accounts, accounts.c.id == authorizations.c.account_id)
            .where(authorizations.c.account_id == account_id)
        )
        return [authorization_summary(r, r.display_name) for r in self._conn.execute(query)]
