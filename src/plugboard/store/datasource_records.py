"""The records Plugboard keeps for a datasource (SPEC §8), upserted by their id at the service.

Only new and changed records are written; an unchanged one is not touched. One upsert per batch
of pages, which returns the ids it wrote (for the counts). A batch is written one of two ways,
with the same rows as the outcome:

* :meth:`RecordRepository.upsert_raw_pages`, for a module whose paths SQL can follow
  (:func:`plugboard.domain.datasources.record_shape`): the pages' answers, as the service sent
  them, go to the database as ONE parameter, and SQL splits them (SQLite ``json_each``,
  PostgreSQL ``json_array_elements`` and ``json_to_recordset``), reads each record's id and
  kept values, skips the record when they are the stored ones (each value as spelled: the
  stored object's spaces and key order do not matter), and otherwise writes its text -- the
  fields in canonical (sorted) order, missing and null ones left out, each value as the
  service spelled it. No record is built, encoded or compared in Python; on SQLite the work
  runs in C without the GIL, beside the thread fetching the next pages, and on PostgreSQL the
  batch and the sync's progress are one statement.
* :meth:`RecordRepository.upsert_pages`, for records reduced in Python
  (:func:`~plugboard.domain.datasources.kept_records`): each record's canonical JSON is made
  once and compared with the stored text (on SQLite read by primary key and compared in Python,
  then the new and changed ones go in one ``executemany``; on PostgreSQL in the ``ON CONFLICT DO
  UPDATE ... WHERE`` of one statement).

The two spell some values differently (``1.50`` as sent, or ``1.5``; ``\\u00e9`` or ``é``; a
nested object's keys as sent, or sorted); read back, the values and their types are the same. A
record stored by the other way may count as changed once, then is stored in the new spelling.
The database finds each stored record by its primary key (the conflict check, or a LATERAL
lookup with LIMIT 1), whatever the planner thinks of a table never analyzed. Statements go to
the driver as they are (``exec_driver_sql``: no per-row compilation or type processing).

Since the key is (datasource, record id), a sync that fails half-way and runs again converges
on one row per record; when a sync completes, the records it did not see (gone at the service)
are removed (:meth:`RecordRepository.remove_unseen`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from plugboard.domain.datasources import KeptRecord, RecordShape
from plugboard.store.datasource_records_sql import CHANGED_PG, UPSERT, raw_batch_pg, raw_upsert
from plugboard.store.tables import datasource_records as records

CHUNK = 500  # ids per SELECT on SQLite, far below its limit of parameters


@dataclass(frozen=True, slots=True)
class StoredRecord:
    record_id: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class RawPagesRefused(Exception):
    """The database could not split the pages as sent (JSON it reads otherwise than Python, a
    record id that is not what Python read): the batch is to be written from records reduced
    in Python instead. On PostgreSQL the transaction is aborted: write it in a new one."""


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
"""The one text of a record reduced in Python: what is stored and compared."""


# PostgreSQL: the page as one JSON array of [id, record] built by joining the texts already
# made (psycopg would escape an array of JSON texts element by element in Python); the
# statement's text is the same for every page (psycopg converts and prepares a statement once
# per text, but only texts of at most 4 KiB).
_UPSERT_PG = (
    UPSERT.format(
        rows="SELECT %s, e->>0, e->1, %s, %s, %s FROM json_array_elements(CAST(%s AS JSON)) AS e"
    )
    + CHANGED_PG
    + " RETURNING record_id"
)
_UPSERT_SQLITE = UPSERT.format(rows="VALUES (?, ?, ?, ?, ?, ?)")


@lru_cache(maxsize=16)
def _stored_sqlite(ids: int) -> str:
    return (
        "SELECT record_id, data FROM datasource_records WHERE datasource_id = ? AND "
        f"record_id IN ({', '.join(['?'] * ids)})"
    )


class RecordRepository:
    def __init__(self, conn: DbConnection) -> None:
        self._conn = conn

    def _stamp(self, now: datetime) -> Any:
        dialect = self._conn.dialect
        process = records.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
        return process(now) if process is not None else now

    def upsert_raw_pages(
        self,
        datasource_id: str,
        sync_id: str,
        shape: RecordShape,
        pages: Sequence[tuple[str, Sequence[str]]],
        now: datetime,
        *,
        progress: tuple[int, int, int] | None = None,
    ) -> list[int]:
        """Write consecutive pages given as (the service's answer as sent, the ids of its
        records as kept_records reads them), the database reducing the records to ``shape``;
        returns how many records of each page were new or changed. No id may be found twice
        in the batch (the caller writes such a batch with :meth:`upsert_pages`). Raises
        :class:`RawPagesRefused` when the database reads the pages otherwise.

        ``progress`` (the pages and records seen after the batch, the records changed before
        it) is written to the sync too; on PostgreSQL by the same statement, which also lets
        the transaction commit without waiting for the disk (:meth:`commit_unflushed`): on a
        connection in autocommit, the statement is the whole transaction."""
        owner = {rid: number for number, (_, ids) in enumerate(pages) for rid in ids}
        counts = [0] * len(pages)
        texts = [text for text, ids in pages if ids]
        postgres = self._conn.dialect.name == "postgresql"
        stamp = self._stamp(now)
        params: tuple[Any, ...] = (datasource_id, sync_id, stamp, stamp, f"[{','.join(texts)}]")
        params += (datasource_id,)
        if not texts:
            if progress is not None:
                self._progress(sync_id, *progress)
            return counts
        if postgres and progress is not None:
            statement = raw_batch_pg(shape)
            params += (*progress, sync_id)
        else:
            statement = raw_upsert(self._conn.dialect.name, shape)
        try:
            written = self._conn.exec_driver_sql(statement, params).fetchall()
        except DBAPIError as exc:
            raise RawPagesRefused(str(exc.orig)) from exc
        for (record_id,) in written:
            number = owner.get(record_id)
            if number is None:  # e.g. a key twice in an object: SQLite reads the first
                raise RawPagesRefused(f"record id {record_id!r} is not one the page has")
            counts[number] += 1
        if progress is not None and not postgres:
            pages_done, seen, changed = progress
            self._progress(sync_id, pages_done, seen, changed + len(written))
        return counts

    def _progress(self, sync_id: str, pages: int, seen: int, changed: int) -> None:
        # DatasourceRepository.record_progress's statement (PostgreSQL's is in raw_batch_pg).
        m = "?" if self._conn.dialect.paramstyle == "qmark" else "%s"
        self._conn.exec_driver_sql(
            f"UPDATE datasource_syncs SET pages = {m}, records_seen = {m}, records_changed = {m} "
            f"WHERE id = {m}",
            (pages, seen, changed, sync_id),
        )

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
        stamp = self._stamp(now)
        encode = canonical_json
        texts = {record_id: encode(data) for record_id, data in latest.items()}
        if self._conn.dialect.name == "postgresql":
            written = self._write_pg(datasource_id, sync_id, texts, stamp)
        else:
            written = self._write_sqlite(datasource_id, sync_id, texts, stamp)
        for record_id in written:
            counts[owner[record_id]] += 1
        return counts

    def _write_pg(
        self, datasource_id: str, sync_id: str, texts: dict[str, str], stamp: Any
    ) -> list[str]:
        quote = json.encoder.encode_basestring
        page = ",".join(f"[{quote(i)},{t}]" for i, t in texts.items())
        params = (datasource_id, sync_id, stamp, stamp, f"[{page}]")
        return [rid for (rid,) in self._conn.exec_driver_sql(_UPSERT_PG, params).fetchall()]

    def _write_sqlite(
        self, datasource_id: str, sync_id: str, texts: dict[str, str], stamp: Any
    ) -> list[str]:
        ids = list(texts)
        stored: dict[str, str] = {}
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            found = self._conn.exec_driver_sql(_stored_sqlite(len(part)), (datasource_id, *part))
            stored.update(found.fetchall())
        rows = [
            (datasource_id, record_id, text, sync_id, stamp, stamp)
            for record_id, text in texts.items()
            if stored.get(record_id) != text
        ]
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

    def remove_unseen(
        self, datasource_id: str, seen: Collection[str], *, stored: int | None = None
    ) -> int:
        """Remove the records whose ids are not in ``seen`` (every id a completed sync wrote
        or found unchanged); returns how many. Since each of those is stored, as many stored
        (``stored``: counted by the caller in this transaction) as seen means none to remove;
        otherwise the others are deleted by primary key."""
        m = "?" if self._conn.dialect.paramstyle == "qmark" else "%s"
        where = f"WHERE datasource_id = {m}"
        if stored is None:
            stored = self._conn.exec_driver_sql(
                f"SELECT count(*) FROM datasource_records {where}", (datasource_id,)
            ).scalar_one()
        if stored == len(seen):
            return 0
        rows = self._conn.exec_driver_sql(
            f"SELECT record_id FROM datasource_records {where}", (datasource_id,)
        )
        gone = [(datasource_id, rid) for (rid,) in rows if rid not in seen]
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
