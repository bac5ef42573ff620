"""The records Plugboard keeps for a datasource (SPEC §8), upserted by their id at the service.

Only new and changed records are written; an unchanged one is not touched (its canonical JSON
is made, and compared). A page, or a batch of consecutive pages, is written at once. On SQLite
their stored texts are read by primary key and compared in Python, then the new and changed
records go in one ``executemany`` upsert. On PostgreSQL they are one ``INSERT … ON CONFLICT DO
UPDATE … WHERE`` the digest differs: the database finds
each record by its primary key through the conflict check, whatever the planner thinks of a
table never analyzed (an ``IN`` list of ids, planned without statistics, scanned the whole
datasource for every page). Statements go to the driver as they are (``exec_driver_sql``: no
per-row compilation or type processing); each record's JSON is serialized once.

Since the key is (datasource, record id), a sync that fails half-way and runs again converges
on one row per record; when a sync completes, the records it did not see (gone at the service)
are removed (:meth:`RecordRepository.remove_unseen`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import func, select

from plugboard.domain.datasources import KeptRecord
from plugboard.store.tables import datasource_records as records

CHUNK = 500  # ids per SELECT on SQLite, far below its limit of parameters


@dataclass(frozen=True, slots=True)
class StoredRecord:
    record_id: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _refuse(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is not JSON")


def _reused_encoder() -> Callable[[dict[str, Any]], str]:
    """``_CANONICAL.encode``, without building the C encoder again for every record (that
    construction is most of the cost of encoding a small record). Same output: the same C
    encoder with the same settings; no cycle check, since a record parsed from JSON has none."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator in this Python
        return _CANONICAL.encode
    encode = make(None, _refuse, json.encoder.encode_basestring, None, ":", ",", True, False, True)

    def canonical(data: dict[str, Any]) -> str:
        return "".join(encode(data, 0))

    return canonical


canonical_json = _reused_encoder()
"""The one text of a record: what is stored and what its digest is taken of."""


_UPSERT = (
    "INSERT INTO datasource_records (datasource_id, record_id, data, digest, seen_sync_id, "
    "created_at, updated_at) {rows} ON CONFLICT (datasource_id, record_id) DO UPDATE SET "
    "data = excluded.data, digest = excluded.digest, seen_sync_id = excluded.seen_sync_id, "
    "updated_at = excluded.updated_at"
)
# PostgreSQL: the page as one JSON array of [id, digest, record] built by joining the texts
# already made (psycopg would escape an array of JSON texts element by element in Python); the
# statement's text is the same for every page (psycopg converts and prepares a statement once
# per text, but only texts of at most 4 KiB).
_UPSERT_PG = (
    _UPSERT.format(
        rows="SELECT %s, e->>0, e->2, e->>1, %s, %s, %s FROM json_array_elements(CAST(%s AS "
        "JSON)) AS e"
    )
    + " WHERE datasource_records.digest <> excluded.digest RETURNING record_id"
)
_UPSERT_SQLITE = _UPSERT.format(rows="VALUES (?, ?, ?, ?, ?, ?, ?)")


@lru_cache(maxsize=16)
def _stored_sqlite(ids: int) -> str:
    return (
        "SELECT record_id, data, digest FROM datasource_records WHERE datasource_id = ? AND "
        f"record_id IN ({', '.join(['?'] * ids)})"
    )


class RecordRepository:
    def __init__(self, conn: DbConnection) -> None:
        self._conn = conn

    def upsert_page(
        self, datasource_id: str, sync_id: str, page: Sequence[KeptRecord], now: datetime
    ) -> int:
        """Write one page: new records inserted, changed ones rewritten, unchanged ones left
        as they are; returns how many were new or changed."""
        return self.upsert_pages(datasource_id, sync_id, [page], now)[0]

    def upsert_pages(
        self,
        datasource_id: str,
        sync_id: str,
        pages: Sequence[Sequence[KeptRecord]],
        now: datetime,
    ) -> list[int]:
        """Write consecutive pages at once (as :meth:`upsert_page` each, in one statement or
        two); returns how many records of each page were new or changed. A record id found
        twice is written once, as the last one has it, and counts for the page of the last."""
        latest: dict[str, dict[str, Any]] = {}
        owner: dict[str, int] = {}
        for number, page in enumerate(pages):
            for record in page:
                latest[record.record_id] = record.data
                owner[record.record_id] = number
        counts = [0] * len(pages)
        if not latest:
            return counts
        dialect = self._conn.dialect
        process = records.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
        stamp = process(now) if process is not None else now
        encode = canonical_json
        texts = {record_id: encode(data) for record_id, data in latest.items()}
        if dialect.name == "postgresql":
            written = self._write_pg(datasource_id, sync_id, texts, stamp)
        else:
            written = self._write_sqlite(datasource_id, sync_id, texts, stamp)
        for record_id in written:
            counts[owner[record_id]] += 1
        return counts

    def _write_pg(
        self, datasource_id: str, sync_id: str, texts: dict[str, str], stamp: Any
    ) -> list[str]:
        quote, sha256 = json.encoder.encode_basestring, hashlib.sha256
        page = ",".join(
            f'[{quote(i)},"{sha256(t.encode()).hexdigest()}",{t}]' for i, t in texts.items()
        )
        params = (datasource_id, sync_id, stamp, stamp, f"[{page}]")
        return [rid for (rid,) in self._conn.exec_driver_sql(_UPSERT_PG, params).fetchall()]

    def _write_sqlite(
        self, datasource_id: str, sync_id: str, texts: dict[str, str], stamp: Any
    ) -> list[str]:
        ids = list(texts)
        stored: dict[str, tuple[str, str]] = {}
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            found = self._conn.exec_driver_sql(_stored_sqlite(len(part)), (datasource_id, *part))
            stored.update((rid, (data, digest)) for rid, data, digest in found.fetchall())
        sha256 = hashlib.sha256
        rows = []
        for record_id, text in texts.items():
            before = stored.get(record_id)
            if before is not None and before[0] == text:
                continue  # the same text: no digest needed
            digest = sha256(text.encode()).hexdigest()
            if before is not None and before[1] == digest:
                continue  # the same record stored in another spelling (by an older version)
            rows.append((datasource_id, record_id, text, digest, sync_id, stamp, stamp))
        if rows:
            self._conn.exec_driver_sql(_UPSERT_SQLITE, rows)
        return [row[1] for row in rows]

    def commit_unflushed(self) -> None:
        """Let this transaction's commit return before it reaches the disk (PostgreSQL's
        ``synchronous_commit`` off, for this transaction only; SQLite's WAL already commits so).
        For a sync's batches of pages: a database crash may lose the last ones, but then the
        sync never completed and its next run writes them again, and the commit that completes
        or fails it is flushed with everything written before it. Saves a disk flush a batch."""
        if self._conn.dialect.name == "postgresql":
            self._conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")

    def remove_unseen(self, datasource_id: str, seen: Collection[str]) -> int:
        """Remove the records whose ids are not in ``seen`` (every id a completed sync wrote
        or found unchanged); returns how many. Since each of those is stored, as many stored
        as seen means none to remove; otherwise the others are deleted by primary key."""
        m = "?" if self._conn.dialect.paramstyle == "qmark" else "%s"
        where = f"WHERE datasource_id = {m}"
        if self._conn.exec_driver_sql(
            f"SELECT count(*) FROM datasource_records {where}", (datasource_id,)
        ).scalar_one() == len(seen):
            return 0
        stored = self._conn.exec_driver_sql(
            f"SELECT record_id FROM datasource_records {where}", (datasource_id,)
        )
        gone = [(datasource_id, rid) for (rid,) in stored if rid not in seen]
        if gone:
            self._conn.exec_driver_sql(
                f"DELETE FROM datasource_records {where} AND record_id = {m}", gone
            )
        return len(gone)

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
