"""The refresh journal: which refresh of an account was started and has no stored answer yet.

A refresh records its attempt (the refresh token it is about to send, sealed and bound to the
attempt's row id) and commits *before* it calls the token endpoint, and deletes the record in the
same transaction that stores the provider's answer. A record left behind therefore means a token
request whose answer may have been lost (the process died while waiting, or the request timed
out): the provider may already have rotated the refresh token it was sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, delete, select

from plugboard.crypto.sealing import Sealer
from plugboard.domain.ids import new_id
from plugboard.store.sealed import open_json, seal_json
from plugboard.store.tables import refresh_attempts

__all__ = ["PendingAttempt", "RefreshJournal"]

_COLUMN = "refresh_token_sealed"


@dataclass(frozen=True, slots=True)
class PendingAttempt:
    id: str
    account_id: str
    refresh_token: str = field(repr=False)
    started_at: datetime


class RefreshJournal:
    def __init__(self, conn: Connection, sealer: Sealer) -> None:
        self._conn = conn
        self._sealer = sealer

    def pending(self, account_id: str) -> PendingAttempt | None:
        row = self._conn.execute(
            select(refresh_attempts).where(refresh_attempts.c.account_id == account_id)
        ).first()
        if row is None:
            return None
        opened = open_json(
            self._sealer, refresh_attempts, _COLUMN, row.id, row.refresh_token_sealed
        )
        return PendingAttempt(row.id, row.account_id, str(opened["refresh_token"]), row.started_at)

    def record(self, account_id: str, refresh_token: str, now: datetime) -> PendingAttempt:
        """Record a new attempt for the account, replacing any earlier one."""
        self.clear(account_id)
        row_id = new_id("rfa")
        sealed = seal_json(
            self._sealer, refresh_attempts, _COLUMN, row_id, {"refresh_token": refresh_token}
        )
        self._conn.execute(
            refresh_attempts.insert().values(
                id=row_id, account_id=account_id, refresh_token_sealed=sealed, started_at=now
            )
        )
        return PendingAttempt(row_id, account_id, refresh_token, now)

    def clear(self, account_id: str) -> None:
        self._conn.execute(
            delete(refresh_attempts).where(refresh_attempts.c.account_id == account_id)
        )
