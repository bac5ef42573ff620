"""Syncs share their invoker's event loop (usecases/invoke_loop.py): a sync whose writer is
behind waits for room in its queue without holding up that loop, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import text

from plugboard.usecases.sync_pages import Page
from plugboard.usecases.sync_writer import BATCH_RECORDS, QUEUED, PageWriter
from tests.integration.datasources.conftest import PEOPLE, DsWorld

MODULE = PEOPLE


def _page(number: int) -> Page:
    records = [{"id": f"{number}-{i}", "v": i} for i in range(BATCH_RECORDS)]  # a batch each
    body = json.dumps({"results": records, "next": "c"})
    return Page(MODULE, json.loads(body), number, body.encode())


def test_a_writer_that_is_behind_does_not_hold_up_the_loop_it_shares(ds: DsWorld) -> None:
    source = ds.datasource().datasource.id
    asked = ds.request(ds.dev, source)
    writer = PageWriter(ds.runtime, asked.sync, timedelta(minutes=5), None)
    pages = [_page(n) for n in range(1, QUEUED + 4)]  # more batches than the queue holds
    blocker = ds.runtime.database.engine.connect()  # holds the records' table: writes wait
    if blocker.dialect.name == "sqlite":
        blocker.info["sqlite_begin"] = "IMMEDIATE"  # the database's write lock
        blocker.begin()
    else:
        blocker.begin()
        blocker.execute(text("LOCK TABLE datasource_records IN EXCLUSIVE MODE"))

    async def main() -> tuple[bool, int]:
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        beat = asyncio.create_task(heartbeat())
        putting = asyncio.create_task(_put_all(writer, pages))
        await asyncio.sleep(0.5)
        waiting, beats = not putting.done(), ticks
        blocker.rollback()  # the writer goes on
        await asyncio.wait_for(putting, 30)
        beat.cancel()
        return waiting, beats

    try:
        waiting, beats = asyncio.run(main())
    finally:
        blocker.rollback()
        blocker.close()
    writer.close()
    assert waiting  # the last batch had to wait for room in the queue
    assert beats >= 40  # ~100 ticks of 5 ms in 0.5 s: the loop ran on meanwhile
    assert (writer.pages, writer.seen) == (len(pages), len(pages) * BATCH_RECORDS)
    assert ds.count(source) == len(pages) * BATCH_RECORDS


async def _put_all(writer: PageWriter, pages: list[Page]) -> None:
    for page in pages:
        await writer.aput(page)
