"""The write side of a running sync: pages are written in a thread of their own while the next
ones are fetched (a bounded pipeline: at most ``QUEUED`` batches wait).

Pages go to the writer thread in batches, in page order: a batch closes at ``BATCH_RECORDS``
records, or with the first page that arrives ``BATCH_SECONDS`` after the previous batch was
handed over (so a slow service's pages are written one by one, as they come), or when the
fetching ends, by success or failure. Each batch is one transaction with the sync's progress.
The writer thread is woken, and a transaction paid (on PostgreSQL its round trips), once per
batch instead of once per page -- on a busy machine each wake-up of the other thread costs a
scheduling delay -- and a failure of the fetching still leaves exactly the pages before it
written. Unchanged records are not written; the ids seen are kept
(:attr:`PageWriter.seen_ids`) for the removal of the records a completed sync did not see. The
slot's lease is renewed every ``RENEW_EVERY`` seconds.

The records of a module whose paths SQL can follow are reduced by the database from the pages'
answers as the service sent them (one parameter per batch: store/datasource_records.py), off
the GIL on SQLite; this thread only checks each record's id (the same refusals as
:func:`~plugboard.domain.datasources.kept_records`). Other modules' records, a batch with an id
found twice, and pages the database reads otherwise than Python are reduced here, in Python.
"""

from __future__ import annotations

import asyncio
import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from plugboard.domain.datasources import (
    RecordShape,
    Sync,
    SyncStatus,
    record_shape,
)
from plugboard.errors import StoreUnavailable
from plugboard.store.datasource_records import RawPagesRefused, RecordRepository
from plugboard.store.unit import Unit
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.sync_pages import Page

__all__ = ["PageWriter"]

RENEW_EVERY = 30.0  # seconds; the lease (SLOT_LEASE) is minutes long
BATCH_RECORDS = 500
BATCH_SECONDS = 0.25  # a slow service's pages still show as progress at once
QUEUED = 2
FULL_QUEUE_POLL = 0.002  # seconds between tries to hand a batch to a busy writer


class PageWriter:
    """Writes the pages handed to :meth:`put` in order; :meth:`close` waits for them."""

    def __init__(
        self,
        runtime: Runtime,
        sync: Sync,
        lease: timedelta,
        progress: Callable[[Sync], None] | None,
        known: set[str] | None = None,
    ) -> None:
        """``known``: the digests of the last completed sync's pages, when the caller read them
        (in the transaction that started the sync); else they are read with the first batch."""
        self._runtime = runtime
        self._sync = sync
        self._lease = lease
        self._progress = progress
        self._batches: queue.Queue[list[Page] | None] = queue.Queue(QUEUED)
        self._batch: list[Page] = []
        self._size = 0
        self._since = time.monotonic()  # when the last batch was handed over
        self._error: BaseException | None = None
        self._renewed = time.monotonic()
        self._conn: Connection | None = None  # the writer thread's, for the whole sync
        self.pages = self.seen = self.changed = 0
        self.seen_ids: set[str] = set()  # every record id written or found unchanged
        self._known = known  # the last completed sync's page digests
        self._page_ids: dict[str, list[str]] = {}  # this sync's pages: digest -> record ids
        self._seen_twice: set[str] = set()  # ids found on more than one page of this sync
        self._stored_at = time.monotonic()  # when the progress was last stored (or began)
        self._unstored = False  # progress made since, not stored yet
        self._thread = threading.Thread(target=self._run, name="plugboard-sync-writer")
        self._thread.start()

    def put(self, page: Page) -> None:
        """Add a page to the batch, and hand the batch over when it is complete (waiting while
        ``QUEUED`` batches wait to be written)."""
        if self._add(page):
            self._hand_over()

    async def aput(self, page: Page) -> None:
        """:meth:`put` on an event loop shared with other syncs: a batch that must wait for
        room in the queue waits without blocking the loop."""
        if not self._add(page):
            return
        while True:  # cancellable: a put left waiting in a thread could outlive close()
            try:
                self._batches.put_nowait(self._batch)
                break
            except queue.Full:
                self._raise()  # a writer that failed takes no more batches
                await asyncio.sleep(FULL_QUEUE_POLL)
        self._batch, self._size, self._since = [], 0, time.monotonic()

    def _add(self, page: Page) -> bool:
        """Add a page to the batch: whether the batch is complete."""
        self._raise()
        size = len(page)  # may refuse the page: the batch before it is written by close()
        self._batch.append(page)
        self._size += size
        return self._size >= BATCH_RECORDS or time.monotonic() - self._since >= BATCH_SECONDS

    def close(self, *, store_progress: bool = True) -> None:
        """Wait until every page handed over is written; raise the writer's error, if any (the
        failure of the earliest page that failed). ``store_progress=False``: the caller stores
        the final counts itself (with the sync's completion)."""
        self._hand_over()
        self._batches.put(None)
        self._thread.join()
        if self._unstored and store_progress:  # the last pages' progress (they wrote nothing)
            with self._runtime.unit() as unit:
                unit.datasources.record_progress(self._sync.id, self.pages, self.seen, self.changed)
            self._unstored = False
        self._raise()

    def _hand_over(self) -> None:
        if self._batch:
            self._batches.put(self._batch)
            self._batch, self._size = [], 0
        self._since = time.monotonic()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            while (batch := self._batches.get()) is not None:
                if self._error is None:
                    try:
                        self._write(batch)
                    except BaseException as exc:  # handed to the fetching thread
                        self._error = exc
        finally:
            if self._conn is not None:
                self._conn.close()

    def _connection(self) -> Connection:
        """The connection this thread holds for the whole sync: a checkout per batch would
        cost Python work and, on PostgreSQL, a round trip for the pool's ping. On PostgreSQL it
        is in autocommit: a batch of records reduced by the database is one statement, its own
        transaction (RecordRepository.upsert_raw_pages)."""
        if self._conn is None:
            try:
                conn = self._runtime.database.engine.connect()
            except OperationalError as exc:
                raise StoreUnavailable(f"cannot reach the database: {exc.orig}") from None
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
        return self._conn

    @contextmanager
    def _unit(self) -> Iterator[Unit]:
        """A transaction: on SQLite on the held connection (as :meth:`Runtime.unit` opens one),
        on PostgreSQL a unit of the runtime's (the held connection is in autocommit)."""
        runtime = self._runtime
        conn = self._connection()
        if conn.dialect.name != "sqlite":
            with runtime.unit() as unit:
                yield unit
            return
        conn.info["sqlite_begin"] = "IMMEDIATE"  # the write lock from the start
        with conn.begin():
            unit = Unit(conn, runtime.sealer, runtime.clock)
            yield unit
        unit.run_after_commit()

    def _write(self, batch: Sequence[Page]) -> None:
        """Write the pages of ``batch`` up to the first one whose records are refused, then
        raise that refusal."""
        refused: Exception | None = None
        known = self._known_digests()
        for i, page in enumerate(batch):
            try:
                if page.digest not in known:  # one a completed sync took: the same answer
                    page.check()  # here, outside the transaction
            except Exception as exc:
                batch, refused = batch[:i], exc
                break
        if batch:
            self._commit(batch)
        if refused is not None:
            raise refused

    @property
    def known_digests(self) -> set[str] | None:
        """The digests of the last completed sync's pages, as read when the first batch came
        (None: not read)."""
        return self._known

    def _known_digests(self) -> set[str]:
        if self._known is None:
            with self._runtime.unit(write=False) as unit:
                self._known = unit.datasource_pages.known(self._sync.datasource_id)
        return self._known

    def trusted_digests(self) -> set[str]:
        """The digests of this sync's pages whose records are stored as the page says once it
        completes: pages none of whose ids another page of the sync also had (that page's
        version of the record may be the one stored)."""
        twice = self._seen_twice
        return {d for d, ids in self._page_ids.items() if twice.isdisjoint(ids)}

    def _skipped(self, batch: Sequence[Page]) -> set[int]:
        """The pages of ``batch`` not to write: received exactly as by the last completed sync
        (whose records of them are stored as they say -- see :meth:`trusted_digests`), with no
        id an earlier page of this sync had (that page may have written another version)."""
        known = self._known_digests()
        skipped: set[int] = set()
        earlier = self.seen_ids
        in_batch: set[str] = set()
        for page in batch:
            ids = page.ids
            unique = set(ids)
            twice = unique & earlier | unique & in_batch
            if len(unique) != len(ids):
                twice |= {i for i in unique if ids.count(i) > 1}
            self._seen_twice |= twice
            in_batch |= unique
            digest = page.digest
            if digest is not None:
                self._page_ids[digest] = ids
                if digest in known and not twice:
                    skipped.add(page.number)
        return skipped

    def _commit(self, batch: Sequence[Page]) -> None:
        skipped = self._skipped(batch)
        written = [page for page in batch if page.number not in skipped]
        ids: set[str] = set()
        for page in written:
            ids.update(page.ids)
        shape = record_shape(batch[0].module)
        raw = (
            shape is not None
            and all(page.text is not None for page in written)
            and len(ids) == sum(len(page.ids) for page in written)  # no id twice
        )
        try:
            counts = self._transaction(batch, shape if raw else None, skipped)
        except RawPagesRefused:
            counts = self._transaction(batch, None, skipped)  # records reduced here
        for page in batch:
            if page.number in skipped:
                ids.update(page.ids)
        self.seen_ids |= ids
        if self._progress is not None:
            for pages, seen, changed in counts:
                self._progress(
                    dataclasses.replace(
                        self._sync,
                        status=SyncStatus.ONGOING,
                        pages=pages,
                        records_seen=seen,
                        records_changed=changed,
                    )  # fmt: skip
                )

    def _transaction(
        self, batch: Sequence[Page], shape: RecordShape | None, skipped: set[int]
    ) -> list[tuple[int, int, int]]:
        """Write ``batch`` (but the pages numbered in ``skipped``: seen, not written) and the
        sync's progress in one transaction, the records reduced by the database to ``shape``
        (None: reduced in Python); the progress after each page."""
        sync = self._sync
        now = self._runtime.clock.now()
        pages, seen = batch[-1].number, self.seen + sum(len(page.ids) for page in batch)
        # Nothing to write: the progress is stored at most every BATCH_SECONDS (and by close),
        # as a slow service's pages are.
        stored = len(skipped) < len(batch) or time.monotonic() - self._stored_at >= BATCH_SECONDS
        if not stored:
            written = [0] * len(batch)
        elif shape is not None:
            raw = [
                ("", []) if page.number in skipped else (page.text or "", page.ids)
                for page in batch
            ]
            progress = (pages, seen, self.changed)
            conn = self._connection()
            if conn.dialect.name == "postgresql":  # one statement, in autocommit
                repo = RecordRepository(conn)
                written = repo.upsert_raw_pages(
                    sync.datasource_id, sync.id, shape, raw, now, progress=progress
                )
            else:
                with self._unit() as unit:
                    written = unit.datasource_records.upsert_raw_pages(
                        sync.datasource_id, sync.id, shape, raw, now, progress=progress
                    )
        else:
            with self._unit() as unit:
                unit.datasource_records.commit_unflushed()  # the completing commit flushes
                reduced = [[] if page.number in skipped else page.records for page in batch]
                written = unit.datasource_records.upsert_pages(
                    sync.datasource_id, sync.id, reduced, now
                )
                unit.datasources.record_progress(sync.id, pages, seen, self.changed + sum(written))
        if stored:
            self._stored_at, self._unstored = time.monotonic(), False
        else:
            self._unstored = True
        if time.monotonic() - self._renewed >= RENEW_EVERY:
            with self._runtime.unit() as unit:
                unit.sync_slots.renew(sync.id, now + self._lease)
            self._renewed = time.monotonic()
        counts, seen, changed = [], self.seen, self.changed
        for page, count in zip(batch, written, strict=True):
            seen, changed = seen + len(page.ids), changed + count
            counts.append((page.number, seen, changed))
        self.pages, self.seen, self.changed = pages, seen, changed  # once committed
        return counts
