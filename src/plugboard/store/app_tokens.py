"""App tokens: what an app's code calls Plugboard with, stored as SHA-256 hashes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from plugboard.domain.apps import AppToken
from plugboard.domain.ids import new_id
from plugboard.errors import NotFound
from plugboard.store.tables import app_tokens


def _token(row: Any) -> AppToken:
    return AppToken(
        id=row.id, workspace_id=row.workspace_id, app_id=row.app_id, name=row.name,
        prefix=row.prefix, created_by=row.created_by, created_at=row.created_at,
        revoked_at=row.revoked_at, last_used_at=row.last_used_at,
    )  # fmt: skip


class AppTokenRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self,
        *,
        workspace_id: str,
        app_id: str,
        name: str,
        token_hash: str,
        prefix: str,
        actor_id: str | None,
        now: datetime,
    ) -> AppToken:
        token_id = new_id("atk")
        self._conn.execute(
            app_tokens.insert().values(
                id=token_id,
                workspace_id=workspace_id,
                app_id=app_id,
                name=name,
                token_hash=token_hash,
                prefix=prefix,
                created_by=actor_id,
                created_at=now,
            )  # fmt: skip
        )
        return self.by_id(token_id)

    def by_hash(self, token_hash: str) -> AppToken | None:
        row = self._conn.execute(
            select(app_tokens).where(app_tokens.c.token_hash == token_hash)
        ).first()
        return _token(row) if row else None

    def by_id(self, token_id: str) -> AppToken:
        row = self._conn.execute(select(app_tokens).where(app_tokens.c.id == token_id)).first()
        if row is None:
            raise NotFound("app token", token_id)
        return _token(row)

    def of_app(self, app_id: str) -> list[AppToken]:
        rows = self._conn.execute(
            select(app_tokens)
            .where(app_tokens.c.app_id == app_id)
            .order_by(app_tokens.c.created_at, app_tokens.c.id)
        )
        return [_token(r) for r in rows]

    def revoke(self, token_id: str, now: datetime) -> None:
        self._conn.execute(
            update(app_tokens)
            .where(app_tokens.c.id == token_id, app_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def touch(self, token_id: str, now: datetime) -> None:
        self._conn.execute(
            update(app_tokens).where(app_tokens.c.id == token_id).values(last_used_at=now)
        )
