"""The records Plugboard keeps for a datasource (SPEC §8), upserted by their id at the service.

A page is written in one statement per kind of change: new records inserted, changed ones
updated, unchanged ones only marked as seen by the sync. Since the key is (datasource, record
id), a sync that fails half-way and runs again converges on one row per record; when a sync
completes, the records it did not see (gone at the service) are removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import and_, bindparam, delete, func, select, update

from plugboard.domain.datasources import KeptRecord
from plugboard.store.tables import datasource_records as records


@dataclass(frozen=True, slots=True)
class StoredRecord:
    record_id: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def digest_of(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class RecordRepository:
    def __init__(self, conn: DbConnection) -> None:
        self._conn = conn

    def upsert_page(
        self, datasource_id: str, sync_id: str, page: Sequence[KeptRecord], now: datetime
    ) -> int:
        """Write one page; returns how many records were new or changed."""
        latest = {r.record_id: r for r in page}  # an id twice in a page: the last one wins
        if not latest:
            return 0
        rows = self._conn.execute(
            select(records.c.record_id, records.c.digest).where(
                records.c.datasource_id == datasource_id, records.c.record_id.in_(list(latest))
            )
        )
        known: dict[str, str] = {rid: digest for rid, digest in rows}
        new: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        unchanged: list[str] = []
        for record_id, record in latest.items():
            digest = digest_of(record.data)
            if record_id not in known:
                new.append({
                    "datasource_id": datasource_id, "record_id": record_id,
                    "data": record.data, "digest": digest, "seen_sync_id": sync_id,
                    "created_at": now, "updated_at": now,
                })  # fmt: skip
            elif known[record_id] != digest:
                changed.append(
                    {"rid": record_id, "data": record.data, "digest": digest, "seen": sync_id}
                )
            else:
                unchanged.append(record_id)
        if new:
            self._conn.execute(records.insert(), new)
        if changed:
            self._conn.execute(
                update(records)
                .where(
                    and_(
                        records.c.datasource_id == datasource_id,
                        records.c.record_id == bindparam("rid"),
                    )
                )
                .values(
                    data=bindparam("data"),
                    digest=bindparam("digest"),
                    seen_sync_id=bindparam("seen"),
                    updated_at=now,
                ),  # fmt: skip
                changed,
            )
        if unchanged:
            self._conn.execute(
                update(records)
                .where(records.c.datasource_id == datasource_id, records.c.record_id.in_(unchanged))
                .values(seen_sync_id=sync_id)
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
