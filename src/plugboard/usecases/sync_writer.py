"""The write side of a running sync: pages are written in a thread of their own while the next
page is fetched (a bounded one-page pipeline: at most one page waits while one is written).

Each page is upserted in its own transaction with the sync's progress, in page order, so a
failure anywhere leaves exactly the pages before it written. The slot's lease is renewed every
``RENEW_EVERY`` seconds rather than each page.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from plugboard.domain.datasources import KeptRecord, Sync, SyncStatus
from plugboard.usecases.runtime import Runtime

__all__ = ["PageWriter"]

RENEW_EVERY = 30.0  # seconds; the lease (SLOT_LEASE) is minutes long


class PageWriter:
    """Writes the pages handed to :meth:`put` in order; :meth:`close` waits for them."""

    def __init__(
        self,
        runtime: Runtime,
        sync: Sync,
        lease: timedelta,
        progress: Callable[[Sync], None] | None,
    ) -> None:
        self._runtime = runtime
        self._sync = sync
        self._lease = lease
        self._progress = progress
        self._pages: queue.Queue[tuple[int, Sequence[KeptRecord]] | None] = queue.Queue(1)
        self._error: BaseException | None = None
        self._renewed = time.monotonic()
        self.pages = self.seen = self.changed = 0
        self._thread = threading.Thread(target=self._run, name="plugboard-sync-writer")
        self._thread.start()

    def put(self, number: int, kept: Sequence[KeptRecord]) -> None:
        """Hand over a page; waits while the previous one still waits to be written."""
        self._raise()
        self._pages.put((number, kept))

    def close(self, *, check: bool = True) -> None:
        """Wait until every page handed over is written; with ``check``, raise the writer's
        error (without: the caller is raising one of its own)."""
        self._pages.put(None)
        self._thread.join()
        if check:
            self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (item := self._pages.get()) is not None:
            if self._error is None:
                try:
                    self._write(*item)
                except BaseException as exc:  # handed to the fetching thread
                    self._error = exc

    def _write(self, number: int, kept: Sequence[KeptRecord]) -> None:
        sync = self._sync
        with self._runtime.unit() as unit:
            now = unit.now()
            changed = unit.datasource_records.upsert_page(sync.datasource_id, sync.id, kept, now)
            self.pages, self.seen, self.changed = (
                number,
                self.seen + len(kept),
                self.changed + changed,
            )
            unit.datasources.update_sync(
                sync.id, pages=self.pages, records_seen=self.seen, records_changed=self.changed
            )
            if time.monotonic() - self._renewed >= RENEW_EVERY:
                unit.datasources.renew_slot(sync.id, now + self._lease)
                self._renewed = time.monotonic()
        if self._progress is not None:
            self._progress(
                dataclasses.replace(
                    sync,
                    status=SyncStatus.ONGOING,
                    pages=self.pages,
                    records_seen=self.seen,
                    records_changed=self.changed,
                )  # fmt: skip
            )
