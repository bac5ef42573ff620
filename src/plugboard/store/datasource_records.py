"""The records Plugboard keeps for a datasource (SPEC §8), upserted by their id at the service.

A page is written in one statement per kind of change: new records inserted, changed ones
updated, unchanged ones only marked as seen by the sync (sent to the driver as they are, each
record's JSON serialized once, for its digest and its row). Since the key is (datasource, record
id), a sync that fails half-way and runs again converges on one row per record; when a sync
completes, the records it did not see (gone at the service) are removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import delete, func, select

from plugboard.domain.datasources import KeptRecord
from plugboard.store.tables import datasource_records as records


@dataclass(frozen=True, slots=True)
class StoredRecord:
    record_id: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(data: dict[str, Any]) -> str:
    """The one text of a record: what is stored and what its digest is taken of."""
    return _CANONICAL.encode(data)


def digest_of(data: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Sql:
    """A page's three statements in the driver's own parameter style, sent as they are
    (``exec_driver_sql``: no per-row compilation or type processing by SQLAlchemy). The record's
    JSON is bound as the text already made for its digest (cast on PostgreSQL); the timestamp is
    processed once per page by the column's own type."""

    mark: str
    json_value: str

    def known(self, n: int) -> str:
        return (
            "SELECT record_id, digest FROM datasource_records WHERE datasource_id = "
            f"{self.mark} AND record_id IN ({', '.join([self.mark] * n)})"
        )

    @property
    def insert(self) -> str:
        m = self.mark
        return (
            "INSERT INTO datasource_records (datasource_id, record_id, data, digest, "
            f"seen_sync_id, created_at, updated_at) VALUES ({m}, {m}, {self.json_value}, {m}, "
            f"{m}, {m}, {m})"
        )

    @property
    def change(self) -> str:
        m = self.mark
        return (
            f"UPDATE datasource_records SET data = {self.json_value}, digest = {m}, "
            f"seen_sync_id = {m}, updated_at = {m} WHERE datasource_id = {m} AND record_id = {m}"
        )

    def seen(self, n: int) -> str:
        return (
            f"UPDATE datasource_records SET seen_sync_id = {self.mark} WHERE datasource_id = "
            f"{self.mark} AND record_id IN ({', '.join([self.mark] * n)})"
        )


@lru_cache(maxsize=4)
def _sql(paramstyle: str, dialect: str) -> _Sql:
    mark = "?" if paramstyle == "qmark" else "%s"
    return _Sql(mark, f"CAST({mark} AS JSON)" if dialect == "postgresql" else mark)


class RecordRepository:
    def __init__(self, conn: DbConnection) -> None:
        self._conn = conn

    def upsert_page(
        self, datasource_id: str, sync_id: str, page: Sequence[KeptRecord], now: datetime
    ) -> int:
        """Write one page (at most three statements: new records inserted, changed ones
        updated, unchanged ones marked as seen); returns how many were new or changed."""
        latest = {r.record_id: r for r in page}  # an id twice in a page: the last one wins
        if not latest:
            return 0
        dialect = self._conn.dialect
        sql = _sql(dialect.paramstyle, dialect.name)
        ids = list(latest)
        rows = self._conn.exec_driver_sql(sql.known(len(ids)), (datasource_id, *ids))
        known: dict[str, str] = {rid: digest for rid, digest in rows}
        process = records.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
        stamp = process(now) if process is not None else now
        new: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        unchanged: list[str] = []
        for record_id, record in latest.items():
            text = _CANONICAL.encode(record.data)
            digest = hashlib.sha256(text.encode()).hexdigest()
            before = known.get(record_id)
            if before is None:
                new.append((datasource_id, record_id, text, digest, sync_id, stamp, stamp))
            elif before != digest:
                changed.append((text, digest, sync_id, stamp, datasource_id, record_id))
            else:
                unchanged.append(record_id)
        if new:
            self._conn.exec_driver_sql(sql.insert, new)
        if changed:
            self._conn.exec_driver_sql(sql.change, changed)
        if unchanged:
            self._conn.exec_driver_sql(
                sql.seen(len(unchanged)), (sync_id, datasource_id, *unchanged)
            )
        return len(new) + len(changed)

    def remove_unseen(self, datasource_id: str, sync_id: str) -> int:
        """Remove what the completed sync ``sync_id`` did not see; returns how many."""
        result = self._conn.execute(
            delete(records).where(
                records.c.datasource_id == datasource_id, records.c.seen_sync_id != sync_id
            )
        )
        return int(result.rowcount)

    def page(
        self, datasource_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[StoredRecord]:
        """Records by id (keyset paging: ``after`` is the last id of the previous page)."""
        query = select(records).where(records.c.datasource_id == datasource_id)
        if after is not None:
            query = query.where(records.c.record_id > after)
        rows = self._conn.execute(query.order_by(records.c.record_id).limit(limit))
        return [StoredRecord(r.record_id, dict(r.data), r.created_at, r.updated_at) for r in rows]

    def count(self, datasource_id: str) -> int:
        return int(
            self._conn.execute(
                select(func.count())
                .select_from(records)
                .where(records.c.datasource_id == datasource_id)
            ).scalar_one()
        )
