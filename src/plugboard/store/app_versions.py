"""An app's stage versions (split from store/apps.py: AppRepository inherits these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from plugboard.domain.apps import App, AppVersion
from plugboard.domain.ids import new_id
from plugboard.errors import AlreadyExists
from plugboard.store.tables import app_versions, apps


def _version(row: Any) -> AppVersion:
    return AppVersion(
        id=row.id, app_id=row.app_id, number=row.number, snapshot=dict(row.snapshot),
        digest=row.digest, created_by=row.created_by, created_at=row.created_at,
    )  # fmt: skip


class AppVersionRepository:
    _conn: DbConnection

    def add_version(
        self, app: App, *, snapshot: dict[str, Any], digest: str, actor_id: str | None,
        now: datetime,
    ) -> AppVersion:  # fmt: skip
        number = app.version + 1
        try:
            self._conn.execute(
                app_versions.insert().values(
                    id=new_id("ver"),
                    workspace_id=app.workspace_id,
                    app_id=app.id,
                    number=number,
                    snapshot=snapshot,
                    digest=digest,
                    created_by=actor_id,
                    created_at=now,
                )  # fmt: skip
            )
        except IntegrityError:  # a concurrent publish took the number
            raise AlreadyExists("app version", "number", str(number)) from None
        self._conn.execute(update(apps).where(apps.c.id == app.id).values(version=number))
        latest = self.version(app.id, number)
        assert latest is not None
        return latest

    def version(self, app_id: str, number: int | None = None) -> AppVersion | None:
        """Version ``number``, or the newest when None."""
        query = select(app_versions).where(app_versions.c.app_id == app_id)
        if number is not None:
            query = query.where(app_versions.c.number == number)
        row = self._conn.execute(query.order_by(app_versions.c.number.desc()).limit(1)).first()
        return None if row is None else _version(row)

    def versions(
        self, app_id: str, *, after: int | None = None, limit: int | None = None
    ) -> list[AppVersion]:
        """An app's stage versions by number: numbers after ``after``, at most ``limit``, in one
        query (the unique (app_id, number) index serves it; was one query per version)."""
        query = select(app_versions).where(app_versions.c.app_id == app_id)
        if after is not None:
            query = query.where(app_versions.c.number > after)
        rows = self._conn.execute(query.order_by(app_versions.c.number).limit(limit))
        return [_version(r) for r in rows]
