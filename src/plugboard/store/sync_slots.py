"""The ten sync slots (SPEC §8): a running sync holds one of ten numbered slots, so "at most ten
syncs at once" is a rule of the database (a primary key and a check), whatever process runs
them. A slot is leased: a run that stops renewing it (its process died) loses it."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import (
    String,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from plugboard.domain.datasources import MAX_RUNNING_SYNCS, SyncStatus
from plugboard.store.tables import datasource_syncs, sync_slots
from plugboard.store.types import UTCDateTime

__all__ = ["SyncSlotRepository"]


@lru_cache(maxsize=4)
def _claim_statements(dialect: str) -> tuple[Any, Any]:
    """For :meth:`SyncSlotRepository.claim`, built once (parameters ``sync_id`` and
    ``lease_until``): insert the lowest free slot for the sync if it is queued or ongoing and
    holds none; and the slots held, whether the sync holds one, whether it is active."""
    sync_id = bindparam("sync_id", type_=String)
    numbers = union_all(
        *(select(literal_column(str(n)).label("n")) for n in range(1, MAX_RUNNING_SYNCS + 1))
    ).subquery("numbers")
    active = exists().where(
        datasource_syncs.c.id == sync_id,
        datasource_syncs.c.status.in_([SyncStatus.QUEUED.value, SyncStatus.ONGOING.value]),
    )
    free = (
        select(numbers.c.n, sync_id, bindparam("lease_until", type_=UTCDateTime))
        .where(
            active,
            numbers.c.n.not_in(select(sync_slots.c.slot)),
            ~exists().where(sync_slots.c.sync_id == sync_id),
        )
        .order_by(numbers.c.n)
        .limit(1)
    )
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    claim = (
        insert(sync_slots)
        .from_select(["slot", "sync_id", "lease_until"], free)
        .on_conflict_do_nothing()
        .returning(sync_slots.c.slot)
    )
    mine = func.coalesce(func.max(case((sync_slots.c.sync_id == sync_id, 1))), 0)
    return claim, select(func.count(), mine, active.label("active"))


class SyncSlotRepository:
    def __init__(self, conn: DbConnection) -> None:
        self._conn = conn

    def claim(self, sync_id: str, now: datetime, lease: timedelta) -> int | None:
        """The lowest free one of the ten slots for ``sync_id``, or None when the sync is not
        queued or ongoing, all ten are held or the sync holds one already (another process
        runs it). One statement: two processes taking the same number meet at the primary key,
        and the one let through holds it, the other tries again (bounded: each try loses only
        to a slot taken meanwhile)."""
        claim, held = _claim_statements(self._conn.dialect.name)
        values = {"sync_id": sync_id, "lease_until": now + lease}
        for _ in range(MAX_RUNNING_SYNCS):
            slot = self._conn.execute(claim, values).scalar()
            if slot is not None:
                return int(slot)
            taken, mine, active = self._conn.execute(held, values).one()
            if mine or not active or taken >= MAX_RUNNING_SYNCS:
                return None
        return None

    def free_lapsed(self, now: datetime) -> None:
        """Take back the slots of runs that stopped renewing them (their process died)."""
        self._conn.execute(delete(sync_slots).where(sync_slots.c.lease_until < now))

    def renew(self, sync_id: str, until: datetime) -> None:
        self._conn.execute(
            update(sync_slots).where(sync_slots.c.sync_id == sync_id).values(lease_until=until)
        )

    def release(self, sync_id: str) -> None:
        self._conn.execute(delete(sync_slots).where(sync_slots.c.sync_id == sync_id))

    def running(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(sync_slots)).scalar_one())
