"""Syncs over real HTTP from the test provider, on SQLite and PostgreSQL: 5,000 records over 50
pages in every pagination style, a failure on page 30 that a retry converges on, removals."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from plugboard.domain.clock import ManualClock
from plugboard.domain.datasources import KeptRecord, SyncStatus
from plugboard.store.tables import audit_events, datasource_records
from plugboard.testing.provider_state import CannedResponse
from plugboard.usecases.datasources import list_records
from tests.integration.datasources.conftest import DsWorld


def test_a_sync_of_5000_records_over_50_pages_completes(ds: DsWorld) -> None:
    source = ds.datasource()
    seen_pages: list[int] = []
    asked = ds.request(ds.dev, source.datasource.id)
    assert asked.started and asked.sync.status is SyncStatus.QUEUED
    done = ds.run(asked.sync.id, progress=lambda s: seen_pages.append(s.pages))
    assert done.status is SyncStatus.COMPLETED, done.error
    assert (done.pages, done.records_seen, done.records_changed) == (50, 5000, 5000)
    assert seen_pages[:3] == [1, 2, 3] and seen_pages[-1] == 50
    assert ds.count(source.datasource.id) == 5000
    assert ds.provider.state.hits["/api/apikey/records"] == 50
    with ds.runtime.unit(write=False) as unit:
        assert unit.datasources.by_id(source.datasource.id).last_completed_at == done.finished_at
        first, page = list_records(unit, ds.dev, source.datasource.id, limit=3)
        _, after = list_records(unit, ds.dev, source.datasource.id, after=page[-1].record_id,
                                limit=2)  # fmt: skip
        entry = unit.conn.execute(
            select(audit_events).where(audit_events.c.action == "datasource.sync")
        ).one()
    assert [r.record_id for r in page + after] == [f"rec-0000{i}" for i in range(1, 6)]
    assert page[0].data == {"id": "rec-00001", "name": "Record 1", "email": "user1@records.test",
                            "amount": 10, "version": 1}  # fmt: skip
    assert entry.outcome == "ok" and entry.detail["records_seen"] == 5000


@pytest.mark.parametrize("style", ["offset", "page", "link"])
def test_every_pagination_style_reads_every_record_once(ds: DsWorld, style: str) -> None:
    ds.provider.state.records_total = 1050  # 11 pages, the last one short
    source = ds.datasource(module=f"{style}_list")
    done = ds.run(ds.request(ds.dev, source.datasource.id).sync.id)
    assert done.status is SyncStatus.COMPLETED, done.error
    assert (done.pages, done.records_seen) == (11, 1050)
    assert ds.count(source.datasource.id) == 1050


def test_a_failure_on_page_30_leaves_it_failed_and_a_retry_converges(ds: DsWorld) -> None:
    source = ds.datasource()
    ds.provider.state.fail_records_page = 30
    failed = ds.run(ds.request(ds.dev, source.datasource.id).sync.id)
    assert failed.status is SyncStatus.FAILED
    assert failed.error == "page 30: the service answered HTTP 500"
    assert failed.pages == 29 and ds.count(source.datasource.id) == 2900
    with ds.runtime.unit(write=False) as unit:
        assert unit.datasources.by_id(source.datasource.id).last_completed_at is None
        assert unit.sync_slots.running() == 0  # its slot is free again
        entry = unit.conn.execute(
            select(audit_events).where(audit_events.c.action == "datasource.sync")
        ).one()
    assert entry.outcome == "failed" and entry.detail["error"] == failed.error

    # Retryable: the same user asks again at once (a failed sync does not count for 24 hours).
    ds.provider.state.fail_records_page = None
    ds.provider.state.records_version = 2  # and the service changed meanwhile
    again = ds.request(ds.dev, source.datasource.id)
    assert again.started
    done = ds.run(again.sync.id)
    assert done.status is SyncStatus.COMPLETED and done.records_seen == 5000
    assert done.records_changed == 5000  # 2,900 updated in place, 2,100 new
    with ds.runtime.unit(write=False) as unit:
        rows, distinct = unit.conn.execute(
            select(func.count(), func.count(func.distinct(datasource_records.c.record_id)))
        ).one()
        _, page = list_records(unit, ds.dev, source.datasource.id, limit=1)
    assert rows == distinct == 5000
    assert page[0].data["version"] == 2


def test_a_page_refused_before_a_failing_one_is_the_error(ds: DsWorld) -> None:
    # Page 1's records are reduced while page 2 is fetched; page 2 fails too, later.
    source = ds.datasource(module="no_id")
    ds.provider.state.fail_records_page = 2
    failed = ds.run(ds.request(ds.dev, source.datasource.id).sync.id)
    assert failed.status is SyncStatus.FAILED
    assert failed.error is not None and failed.error.startswith("page 1: record 0 has no number")
    assert failed.pages == 0 and ds.count(source.datasource.id) == 0


def test_a_record_refused_on_page_3_leaves_pages_1_and_2_written(ds: DsWorld) -> None:
    # Pages are written in batches: the pages before the refused one, in its batch, still are.
    def page(n: int, item: dict[str, object]) -> CannedResponse:
        return CannedResponse(200, json={"results": [item], "paging": {"next": {"after": f"c{n}"}}})

    ds.provider.state.queue_responses(
        page(1, {"id": "a1"}), page(2, {"id": "a2"}), page(3, {"name": "no id"})
    )
    source = ds.datasource()
    failed = ds.run(ds.request(ds.dev, source.datasource.id).sync.id)
    assert failed.status is SyncStatus.FAILED
    assert failed.error is not None and failed.error.startswith("page 3: record 0 has no id")
    assert (failed.pages, failed.records_seen) == (2, 2) and ds.count(source.datasource.id) == 2


def test_an_unchanged_sync_changes_nothing_and_removals_are_counted(ds: DsWorld) -> None:
    ds.provider.state.records_total = 300
    source = ds.datasource()
    assert ds.run(ds.request(ds.dev, source.datasource.id).sync.id).records_changed == 300
    ds.provider.state.records_total = 250
    admin = ds.members("admin")
    second = ds.run(ds.request(admin, source.datasource.id).sync.id)
    assert (second.records_seen, second.records_changed, second.records_removed) == (250, 0, 50)
    assert ds.count(source.datasource.id) == 250


def _rows(ds: DsWorld) -> dict[str, Any]:
    with ds.runtime.unit(write=False) as unit:
        rows = unit.conn.execute(select(datasource_records)).all()
    return {r.record_id: r for r in rows}


def test_unchanged_records_are_not_written_and_changed_ones_are(
    ds: DsWorld, clock: ManualClock
) -> None:
    ds.provider.state.records_total = 250
    source = ds.datasource()
    first = ds.run(ds.request(ds.dev, source.datasource.id).sync.id)
    before = _rows(ds)
    clock.advance(86400)  # the same user again: another day
    second = ds.run(ds.request(ds.dev, source.datasource.id).sync.id)
    assert (second.records_seen, second.records_changed, second.records_removed) == (250, 0, 0)
    assert _rows(ds) == before  # not one row written: same sync id, same update time
    assert {r.seen_sync_id for r in before.values()} == {first.id}

    ds.provider.state.records_version = 2
    clock.advance(86400)  # the same user again: another day
    third = ds.run(ds.request(ds.dev, source.datasource.id).sync.id)
    assert third.records_changed == 250
    after = _rows(ds)
    for record_id, row in after.items():
        assert row.data["version"] == 2 and row.seen_sync_id == third.id
        assert row.created_at == before[record_id].created_at
        assert row.updated_at > before[record_id].updated_at


def test_a_record_stored_in_another_spelling_is_unchanged(ds: DsWorld, clock: ManualClock) -> None:
    # Rows written by an older version may hold the same JSON spelled otherwise (spaces, key
    # order): the database compares the kept values, each as spelled, so the record is the same.
    ds.provider.state.records_total = 100
    source = ds.datasource()
    ds.run(ds.request(ds.dev, source.datasource.id).sync.id)
    with ds.runtime.unit() as unit:
        unit.conn.execute(
            update(datasource_records)
            .where(datasource_records.c.record_id == "rec-00001")
            .values(
                data={
                    "version": 1,
                    "amount": 10,
                    "email": "user1@records.test",
                    "name": "Record 1",
                    "id": "rec-00001",
                }
            )  # fmt: skip
        )
    before = _rows(ds)
    clock.advance(86400)  # the same user again: another day
    again = ds.run(ds.request(ds.dev, source.datasource.id).sync.id)
    assert again.records_changed == 0 and _rows(ds) == before


def test_records_with_quotes_backslashes_and_unicode_round_trip(ds: DsWorld) -> None:
    # The store's own statements carry a page's JSON texts as they are (on PostgreSQL joined
    # into one JSON document): what comes back must be what went in, and unchanged after.
    source = ds.datasource()
    odd: dict[str, dict[str, Any]] = {
        'quote " and \\ backslash': {"name": 'say "hi"\\n', "nested": {"b": [1, 2.5, None]}},
        "ünïcödé ✓ 𝄞": {"name": "tab\tnewline\nend", "flag": True, "zero": 0, "empty": ""},
        "comma,brace}[": {"list": [{"k": "v"}, "x"], "big": 12345678901234567890},
    }
    page = [KeptRecord(rid, {"id": rid, **data}) for rid, data in odd.items()]
    with ds.runtime.unit() as unit:
        now = unit.now()
        written = unit.datasource_records.upsert_page(source.datasource.id, "sync_a", page, now)
        again = unit.datasource_records.upsert_page(source.datasource.id, "sync_b", page, now)
        stored = unit.datasource_records.page(source.datasource.id, limit=10)
    assert (written, again) == (3, 0)
    assert {r.record_id: r.data for r in stored} == {r.record_id: r.data for r in page}
    # True and 1 are the same to Python, not to JSON: a change from one to the other is seen.
    flipped = [KeptRecord(page[1].record_id, {**page[1].data, "flag": 1})]
    with ds.runtime.unit() as unit:
        assert unit.datasource_records.upsert_page(source.datasource.id, "s", flipped, now) == 1


def test_a_batch_of_pages_counts_each_record_once_for_its_last_page(ds: DsWorld) -> None:
    source = ds.datasource()
    first = [KeptRecord("a", {"id": "a", "v": 1}), KeptRecord("b", {"id": "b"})]
    second = [KeptRecord("c", {"id": "c"}), KeptRecord("a", {"id": "a", "v": 2})]
    with ds.runtime.unit() as unit:
        now, repo = unit.now(), unit.datasource_records
        assert repo.upsert_pages(source.datasource.id, "s1", [first, second], now) == [1, 2]
        assert repo.upsert_pages(source.datasource.id, "s2", [first, second], now) == [0, 0]
        stored = {r.record_id: r.data for r in repo.page(source.datasource.id)}
    assert stored == {"a": {"id": "a", "v": 2}, "b": {"id": "b"}, "c": {"id": "c"}}
