"""A page received exactly as the last completed sync received it is not written again -- and
the records stored are always those a sync writing every page would leave: after a failed
sync, and when an id is on two pages. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select

from plugboard.domain.clock import ManualClock
from plugboard.domain.datasources import SyncStatus
from plugboard.store.tables import datasource_records
from plugboard.usecases.sync_pages import Page
from plugboard.usecases.sync_writer import PageWriter
from tests.integration.datasources.conftest import PEOPLE, DsWorld

MODULE = PEOPLE


_WRITES_RECORDS = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+datasource_records\b", re.I)


def _record_writes(ds: DsWorld) -> list[str]:
    """Every INSERT, UPDATE or DELETE of datasource_records, as the database is asked it."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if _WRITES_RECORDS.search(statement):  # a WITH statement's part too
            seen.append(statement)

    event.listen(ds.runtime.database.engine, "before_cursor_execute", before)
    return seen


def _versions(ds: DsWorld, datasource_id: str) -> dict[str, object]:
    with ds.runtime.unit(write=False) as unit:
        rows = unit.conn.execute(
            select(datasource_records.c.record_id, datasource_records.c.data).where(
                datasource_records.c.datasource_id == datasource_id
            )
        ).all()
    return {record_id: data.get("v", data.get("version")) for record_id, data in rows}


def test_a_sync_of_pages_as_the_last_one_received_them_writes_no_record(
    ds: DsWorld, clock: ManualClock
) -> None:
    source = ds.datasource().datasource.id
    first = ds.run(ds.request(ds.dev, source).sync.id)
    assert first.status is SyncStatus.COMPLETED and first.records_changed == 5000
    writes = _record_writes(ds)
    clock.advance(86400)
    again = ds.run(ds.request(ds.dev, source).sync.id)
    assert again.status is SyncStatus.COMPLETED, again.error
    assert (again.pages, again.records_seen, again.records_changed) == (50, 5000, 0)
    assert again.records_removed == 0 and ds.count(source) == 5000
    assert writes == []


def test_after_a_failed_sync_every_page_is_written_again(ds: DsWorld, clock: ManualClock) -> None:
    source = ds.datasource().datasource.id
    assert ds.run(ds.request(ds.dev, source).sync.id).status is SyncStatus.COMPLETED
    # The service changes and the next sync fails on page 30: pages 1-29 hold version 2.
    ds.provider.state.records_version = 2
    ds.provider.state.fail_records_page = 30
    clock.advance(86400)
    assert ds.run(ds.request(ds.dev, source).sync.id).status is SyncStatus.FAILED
    # The service goes back to version 1: its pages are those the first sync received.
    ds.provider.state.records_version = 1
    ds.provider.state.fail_records_page = None
    clock.advance(86400)
    done = ds.run(ds.request(ds.dev, source).sync.id)
    assert done.status is SyncStatus.COMPLETED and done.records_changed == 2900
    assert set(_versions(ds, source).values()) == {1}


def _page(number: int, *records: tuple[str, int], last: bool = False) -> Page:
    body = {"results": [{"id": i, "v": v} for i, v in records], "next": None if last else "c"}
    text = json.dumps(body)
    return Page(MODULE, json.loads(text), number, text.encode())


def _write(ds: DsWorld, source: str, pages: list[Page], clock: ManualClock) -> None:
    """One sync of ``pages`` to completion, as run_sync completes it."""
    clock.advance(86400)
    asked = ds.request(ds.dev, source)
    writer = PageWriter(ds.runtime, asked.sync, timedelta(minutes=5), None)
    for page in pages:
        writer.put(page)
    writer.close()
    with ds.runtime.unit() as unit:
        unit.datasource_records.remove_unseen(source, writer.seen_ids)
        unit.datasource_pages.replace(source, writer.trusted_digests())


def test_a_page_whose_id_another_page_also_had_is_written_again(
    ds: DsWorld, clock: ManualClock
) -> None:
    source = ds.datasource().datasource.id
    # Record "a" is on two pages: the second's version is the one stored.
    _write(ds, source, [_page(1, ("a", 1), ("b", 1)), _page(2, ("a", 2), last=True)], clock)
    assert _versions(ds, source) == {"a": 2, "b": 1}
    # Page 1 comes again as it was; page 2 no longer has "a": page 1's version is the truth.
    _write(ds, source, [_page(1, ("a", 1), ("b", 1)), _page(2, ("c", 1), last=True)], clock)
    assert _versions(ds, source) == {"a": 1, "b": 1, "c": 1}


def test_a_page_as_before_after_one_that_wrote_its_record_is_written_again(
    ds: DsWorld, clock: ManualClock
) -> None:
    source = ds.datasource().datasource.id
    _write(ds, source, [_page(1, ("x", 1)), _page(2, ("a", 1), last=True)], clock)
    # Page 1 now has "a" at version 2; page 2 comes again as it was, with version 1: a writer
    # of every page leaves page 2's version.
    _write(ds, source, [_page(1, ("a", 2)), _page(2, ("a", 1), last=True)], clock)
    assert _versions(ds, source) == {"a": 1}


def test_a_sync_taken_over_from_a_stopped_run_writes_every_page_again(
    ds: DsWorld, clock: ManualClock
) -> None:
    source = ds.datasource().datasource.id
    assert ds.run(ds.request(ds.dev, source).sync.id).status is SyncStatus.COMPLETED
    clock.advance(86400)
    stopped = ds.request(ds.dev, source).sync.id
    with ds.runtime.unit() as unit:  # a run started it, wrote who knows what, and died
        unit.datasources.start_sync(stopped, unit.now())
    writes = _record_writes(ds)
    done = ds.run(stopped)
    assert done.status is SyncStatus.COMPLETED and done.records_seen == 5000
    assert writes != []
