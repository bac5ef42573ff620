"""Datasources, their syncs and the ten sync slots (SPEC §8).

The rules that must hold across processes are the database's: one queued or ongoing sync per
datasource (a partial unique index), at most ten running syncs (ten numbered slots, a primary key
and a check), and one sync per user per datasource per 24 hours (decided while the datasource's
row is locked: ``FOR UPDATE`` on PostgreSQL; SQLite's write transactions take the database's
write lock from their start).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy import Connection as DbConnection
from sqlalchemy.exc import IntegrityError

from plugboard.domain.datasources import Datasource, Sync, SyncStatus
from plugboard.domain.ids import new_id, new_sortable_id
from plugboard.domain.models import Environment
from plugboard.errors import AlreadyExists, NotFound
from plugboard.store.tables import datasource_records, datasource_syncs, datasources, sync_slots
from plugboard.store.types import UTCDateTime

NO_USER = "-"  # the quota key of a sync that runs without a user


def _datasource(row: Any) -> Datasource:
    return Datasource(
        id=row.id, workspace_id=row.workspace_id, app_id=row.app_id,
        environment=Environment(row.environment), name=row.name,
        connection_id=row.connection_id, module=row.module,
        config=dict(row.config) if row.config is not None else None, enabled=row.enabled,
        created_by=row.created_by, created_at=row.created_at, configured_by=row.configured_by,
        configured_at=row.configured_at, last_completed_at=row.last_completed_at,
    )  # fmt: skip


def _sync(row: Any) -> Sync:
    return Sync(
        id=row.id, datasource_id=row.datasource_id, workspace_id=row.workspace_id,
        status=SyncStatus(row.status), requested_by=row.requested_by, created_at=row.created_at,
        started_at=row.started_at, finished_at=row.finished_at, pages=row.pages,
        records_seen=row.records_seen, records_changed=row.records_changed,
        records_removed=row.records_removed, attempts=row.attempts, error=row.error,
    )  # fmt: skip


@lru_cache(maxsize=1)
def _start() -> Any:
    """:meth:`DatasourceRepository.start_sync`'s statement, built once (``p_sync_id``,
    ``p_now``)."""
    s = datasource_syncs
    return (
        update(s)
        .where(
            s.c.id == bindparam("p_sync_id"),
            s.c.status.in_([SyncStatus.QUEUED.value, SyncStatus.ONGOING.value]),
        )
        .values(
            status=SyncStatus.ONGOING.value,
            started_at=bindparam("p_now", type_=UTCDateTime),
            finished_at=None,
            attempts=s.c.attempts + 1,
            pages=0,
            records_seen=0,
            records_changed=0,
            records_removed=0,
            error=None,
        )  # fmt: skip
        .returning(*s.c)
    )


@lru_cache(maxsize=1)
def _completion() -> tuple[Any, Any, Any, Any, Any]:
    """:meth:`DatasourceRepository.complete_sync`'s statements, built once: the sync completed,
    the datasource stamped, the slot released, the records counted -- and the four as one
    statement for PostgreSQL (data-modifying CTEs; the records are not changed by it, so its
    snapshot counts them as they are)."""
    s, now = datasource_syncs, bindparam("p_now", type_=UTCDateTime)
    done = (
        update(s)
        .where(s.c.id == bindparam("p_sync_id"))
        .values(
            status=SyncStatus.COMPLETED.value,
            finished_at=now,
            pages=bindparam("p_pages"),
            records_seen=bindparam("p_seen"),
            records_changed=bindparam("p_changed"),
            records_removed=0,
        )  # fmt: skip
        .returning(*s.c)
    )
    ds_id: BindParameter[str] = bindparam("p_datasource_id")
    stamp = update(datasources).where(datasources.c.id == ds_id).values(last_completed_at=now)
    release = delete(sync_slots).where(sync_slots.c.sync_id == bindparam("p_sync_id"))
    stored = (
        select(func.count())
        .select_from(datasource_records)
        .where(datasource_records.c.datasource_id == ds_id)
    )
    completed = done.cte("completed")
    together = select(completed, stored.scalar_subquery().label("stored")).add_cte(
        stamp.cte("stamped"), release.cte("released")
    )
    return done, stamp, release, stored, together


class DatasourceRepository:
    def __init__(self, conn: DbConnection) -> None:
        self._conn = conn

    # -- datasources ----------------------------------------------------------------------------

    def add(
        self,
        *,
        workspace_id: str,
        app_id: str,
        environment: Environment,
        name: str,
        connection_id: str,
        module: str,
        actor_id: str | None,
        now: datetime,
    ) -> Datasource:
        row_id = new_id("ds")
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    datasources.insert().values(
                        id=row_id,
                        workspace_id=workspace_id,
                        app_id=app_id,
                        environment=environment.value,
                        name=name,
                        connection_id=connection_id,
                        module=module,
                        created_by=actor_id,
                        created_at=now,
                        enabled=True,
                    )  # fmt: skip
                )
        except IntegrityError:
            raise AlreadyExists("datasource", "name", name) from None
        return self.by_id(row_id)

    def by_id(self, datasource_id: str) -> Datasource:
        row = self._conn.execute(select(datasources).where(datasources.c.id == datasource_id))
        found = row.first()
        if found is None:
            raise NotFound("datasource", datasource_id)
        return _datasource(found)

    def find(self, app_id: str, environment: Environment, name: str) -> Datasource | None:
        row = self._conn.execute(
            select(datasources).where(
                datasources.c.app_id == app_id,
                datasources.c.environment == environment.value,
                datasources.c.name == name,
            )
        ).first()
        return _datasource(row) if row else None

    def of_app(self, app_id: str, environment: Environment) -> list[Datasource]:
        rows = self._conn.execute(
            select(datasources)
            .where(datasources.c.app_id == app_id, datasources.c.environment == environment.value)
            .order_by(datasources.c.name)
        )
        return [_datasource(r) for r in rows]

    def update(self, datasource_id: str, **values: Any) -> Datasource:
        row = self._conn.execute(
            update(datasources)
            .where(datasources.c.id == datasource_id)
            .values(**values)
            .returning(*datasources.c)
        ).first()
        if row is None:
            raise NotFound("datasource", datasource_id)
        return _datasource(row)

    def delete(self, datasource_id: str) -> None:
        self._conn.execute(delete(datasources).where(datasources.c.id == datasource_id))

    def lock(self, datasource_id: str) -> Datasource:
        """The datasource, locked until the transaction ends (PostgreSQL; on SQLite the write
        transaction already holds the database's write lock)."""
        query = select(datasources).where(datasources.c.id == datasource_id)
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._conn.execute(query).first()
        if row is None:
            raise NotFound("datasource", datasource_id)
        return _datasource(row)

    # -- syncs ----------------------------------------------------------------------------------

    def add_sync(
        self, datasource: Datasource, requested_by: str | None, now: datetime
    ) -> Sync | None:
        """A queued sync, or None when the datasource already has a queued or ongoing one (the
        database's partial unique index decides, in whatever process)."""
        sync_id = new_sortable_id("sync")
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    datasource_syncs.insert().values(
                        id=sync_id,
                        datasource_id=datasource.id,
                        workspace_id=datasource.workspace_id,
                        status=SyncStatus.QUEUED.value,
                        requested_by=requested_by,
                        quota_key=requested_by or NO_USER,
                        created_at=now,
                    )  # fmt: skip
                )
        except IntegrityError:
            return None
        return self.sync(sync_id)

    def sync(self, sync_id: str) -> Sync:
        row = self._conn.execute(select(datasource_syncs).where(datasource_syncs.c.id == sync_id))
        found = row.first()
        if found is None:
            raise NotFound("sync", sync_id)
        return _sync(found)

    def active_sync(self, datasource_id: str) -> Sync | None:
        row = self._conn.execute(
            select(datasource_syncs).where(
                datasource_syncs.c.datasource_id == datasource_id,
                datasource_syncs.c.status.in_([SyncStatus.QUEUED.value, SyncStatus.ONGOING.value]),
            )
        ).first()
        return _sync(row) if row else None

    def latest_sync(self, datasource_id: str) -> Sync | None:
        row = self._conn.execute(
            select(datasource_syncs)
            .where(datasource_syncs.c.datasource_id == datasource_id)
            .order_by(datasource_syncs.c.created_at.desc(), datasource_syncs.c.id.desc())
            .limit(1)
        ).first()
        return _sync(row) if row else None

    def counted_sync_since(
        self, datasource_id: str, requested_by: str | None, since: datetime
    ) -> Sync | None:
        """The user's newest sync of the datasource since ``since`` that counts against the
        24-hour rule: every one but a failed one (a failed sync may be tried again)."""
        row = self._conn.execute(
            select(datasource_syncs)
            .where(
                datasource_syncs.c.datasource_id == datasource_id,
                datasource_syncs.c.quota_key == (requested_by or NO_USER),
                datasource_syncs.c.created_at > since,
                datasource_syncs.c.status != SyncStatus.FAILED.value,
            )
            .order_by(datasource_syncs.c.created_at.desc())
            .limit(1)
        ).first()
        return _sync(row) if row else None

    def syncs(self, datasource_id: str, *, limit: int = 20) -> list[Sync]:
        rows = self._conn.execute(
            select(datasource_syncs)
            .where(datasource_syncs.c.datasource_id == datasource_id)
            .order_by(datasource_syncs.c.created_at.desc(), datasource_syncs.c.id.desc())
            .limit(limit)
        )
        return [_sync(r) for r in rows]

    def runnable_syncs(self, *, limit: int = 50) -> list[str]:
        """Syncs to run, oldest first: queued, or ongoing without a slot (their run died and
        its slot was taken back)."""
        held = select(sync_slots.c.sync_id)
        rows = self._conn.execute(
            select(datasource_syncs.c.id)
            .where(
                (datasource_syncs.c.status == SyncStatus.QUEUED.value)
                | (
                    (datasource_syncs.c.status == SyncStatus.ONGOING.value)
                    & datasource_syncs.c.id.not_in(held)
                )
            )
            .order_by(datasource_syncs.c.created_at, datasource_syncs.c.id)
            .limit(limit)
        )
        return list(rows.scalars())

    def update_sync(self, sync_id: str, **values: Any) -> Sync:
        row = self._conn.execute(
            update(datasource_syncs)
            .where(datasource_syncs.c.id == sync_id)
            .values(**values)
            .returning(*datasource_syncs.c)
        ).first()
        if row is None:
            raise NotFound("sync", sync_id)
        return _sync(row)

    def complete_sync(
        self, sync_id: str, datasource_id: str, now: datetime, counts: tuple[int, int, int]
    ) -> tuple[Sync, int]:
        """The sync `completed` with ``counts`` (pages, records seen, records changed; none
        removed yet), the datasource's last completion stamped and the slot released: the
        sync, and how many records the datasource holds. One statement on PostgreSQL (each is
        a round trip there), four on SQLite."""
        pages, seen, changed = counts
        params = {
            "p_sync_id": sync_id, "p_datasource_id": datasource_id, "p_now": now,
            "p_pages": pages, "p_seen": seen, "p_changed": changed,
        }  # fmt: skip
        done, stamp, release, stored, together = _completion()
        if self._conn.dialect.name == "postgresql":
            row = self._conn.execute(together, params).first()
            if row is None:
                raise NotFound("sync", sync_id)
            return _sync(row), int(row.stored)
        row = self._conn.execute(done, params).first()
        if row is None:
            raise NotFound("sync", sync_id)
        self._conn.execute(stamp, params)
        self._conn.execute(release, params)
        return _sync(row), int(self._conn.execute(stored, params).scalar_one())

    def record_progress(self, sync_id: str, pages: int, seen: int, changed: int) -> None:
        """A running sync's counts, written with each batch of pages: one statement sent to
        the driver as it is (no compilation each time)."""
        m = "?" if self._conn.dialect.paramstyle == "qmark" else "%s"
        self._conn.exec_driver_sql(
            f"UPDATE datasource_syncs SET pages = {m}, records_seen = {m}, records_changed = {m} "
            f"WHERE id = {m}",
            (pages, seen, changed, sync_id),
        )

    def start_sync(self, sync_id: str, now: datetime) -> Sync | None:
        """queued (or ongoing, taken over from a run that died) → ongoing, one more attempt:
        the sync as started, or None when it was neither."""
        row = self._conn.execute(_start(), {"p_sync_id": sync_id, "p_now": now}).first()
        return _sync(row) if row is not None else None
