"""Console sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from plugboard.domain.ids import new_id
from plugboard.store.tables import sessions


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    workspace_id: str
    user_id: str
    csrf_hash: str
    expires_at: datetime
    revoked_at: datetime | None


class SessionRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self,
        *,
        token_hash: str,
        csrf_hash: str,
        workspace_id: str,
        user_id: str,
        now: datetime,
        expires_at: datetime,
    ) -> Session:
        session_id = new_id("ses")
        self._conn.execute(
            sessions.insert().values(
                id=session_id,
                token_hash=token_hash,
                csrf_hash=csrf_hash,
                workspace_id=workspace_id,
                user_id=user_id,
                created_at=now,
                expires_at=expires_at,
            )
        )
        return Session(session_id, workspace_id, user_id, csrf_hash, expires_at, None)

    def by_token_hash(self, token_hash: str) -> Session | None:
        row = self._conn.execute(
            select(sessions).where(sessions.c.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        return Session(
            row.id, row.workspace_id, row.user_id, row.csrf_hash, row.expires_at, row.revoked_at
        )

    def revoke(self, session_id: str, now: datetime) -> None:
        self._conn.execute(
            update(sessions)
            .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
