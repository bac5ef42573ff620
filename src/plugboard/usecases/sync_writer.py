"""The write side of a running sync: pages are written in a thread of their own while the next
page is fetched (a bounded one-page pipeline: at most one page waits while one is written).

Each page is upserted in its own transaction with the sync's progress, in page order, so a
failure anywhere leaves exactly the pages before it written. Unchanged records are not written;
the ids seen are kept (:attr:`PageWriter.seen_ids`) for the removal of the records a completed
sync did not see. The slot's lease is renewed every ``RENEW_EVERY`` seconds rather than each
page.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any, overload

from plugboard.domain.datasources import KeptRecord, Sync, SyncStatus, at_path, kept_records
from plugboard.domain.service.modules import ServiceModule
from plugboard.usecases.runtime import Runtime

__all__ = ["Page", "PageWriter"]

RENEW_EVERY = 30.0  # seconds; the lease (SLOT_LEASE) is minutes long


class Page(Sequence[KeptRecord]):
    """One page's answer, its records reduced to the module's fields only when first asked
    for: by the writer thread, off the path from one page's answer to the next page's request
    -- unless the pagination needs them sooner (a cursor taken from the last record's id).
    Its length is the answer's list's: the records keep every item (or refuse the page)."""

    def __init__(self, module: ServiceModule, body: Any, number: int) -> None:
        self.module = module
        self.body = body
        self.number = number

    @cached_property
    def records(self) -> list[KeptRecord]:
        return kept_records(self.module, self.body, self.number)

    def __len__(self) -> int:
        path = self.module.records
        found = self.body if path is None else at_path(self.body, path)
        return len(found) if isinstance(found, list) else len(self.records)

    @overload
    def __getitem__(self, index: int) -> KeptRecord: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[KeptRecord]: ...
    def __getitem__(self, index: int | slice) -> KeptRecord | Sequence[KeptRecord]:
        return self.records[index]


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
        self._pages: queue.Queue[Page | None] = queue.Queue(1)
        self._error: BaseException | None = None
        self._renewed = time.monotonic()
        self.pages = self.seen = self.changed = 0
        self.seen_ids: set[str] = set()  # every record id written or found unchanged
        self._thread = threading.Thread(target=self._run, name="plugboard-sync-writer")
        self._thread.start()

    def put(self, page: Page) -> None:
        """Hand over a page; waits while the previous one still waits to be written."""
        self._raise()
        self._pages.put(page)

    def close(self) -> None:
        """Wait until every page handed over is written; raise the writer's error, if any (the
        failure of the earliest page that failed)."""
        self._pages.put(None)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (item := self._pages.get()) is not None:
            if self._error is None:
                try:
                    self._write(item.number, item.records)
                except BaseException as exc:  # handed to the fetching thread
                    self._error = exc

    def _write(self, number: int, kept: Sequence[KeptRecord]) -> None:
        sync = self._sync
        with self._runtime.unit() as unit:
            now = unit.now()
            unit.datasource_records.commit_unflushed()  # the completing commit flushes
            changed = unit.datasource_records.upsert_page(sync.datasource_id, sync.id, kept, now)
            self.pages, self.seen, self.changed = (
                number,
                self.seen + len(kept),
                self.changed + changed,
            )
            unit.datasources.record_progress(sync.id, self.pages, self.seen, self.changed)
            if time.monotonic() - self._renewed >= RENEW_EVERY:
                unit.datasources.renew_slot(sync.id, now + self._lease)
                self._renewed = time.monotonic()
        self.seen_ids.update(r.record_id for r in kept)  # only once the page is committed
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
