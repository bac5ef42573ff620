"""The records a sync keeps are the same whether the database reduces them from the pages as
sent (RecordRepository.upsert_raw_pages, SQLite json_each / PostgreSQL json_array_elements) or
Python does (kept_records + upsert_pages): the same ids, fields, values and types, the same
counts of new and changed records, and the same refusals. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from plugboard.domain.datasources import kept_records, record_ids, record_shape
from plugboard.domain.service.modules import ServiceModule
from plugboard.errors import ValidationError
from plugboard.store.datasource_records import RawPagesRefused, canonical_json
from plugboard.usecases import sync_writer
from plugboard.usecases.sync_pages import Page
from plugboard.usecases.sync_writer import PageWriter
from tests.integration.datasources.conftest import DsWorld

MODULE = ServiceModule.model_validate(
    {
        "name": "odd",
        "display_name": "Odd records",
        "path": "/records",
        "records": "data.items",
        "id_field": "key",
        "fields": ["key", "name", "amount", "flags", "meta.owner", "meta.tier", "deep.a.b",
                   "empty", "nested"],
        "pagination": {"style": "cursor", "cursor_param": "after", "next_cursor": "next"},
    }
)  # fmt: skip

# Spellings Python would write otherwise (1.50, 1e2, \u00e9, \/, spaces, key order), nulls and
# missing fields, nested fields partly or wholly missing, objects with nulls inside, big and
# negative-zero integer ids, booleans, empty strings.
PAGE_1 = r"""{"next": "c1", "data": {"items": [
  {"key": "a", "name": "caf\u00e9 \/ \"q\" \\ tab\t", "amount": 1.50, "flags": [true, null, 0],
   "meta": {"tier": 2, "owner": "ann", "other": 1}, "deep": {"a": {"b": {"z": null, "y": 1e2}}},
   "empty": "", "nested": {"b": 1, "a": {"x": null}}, "ignored": 5},
  {"amount": 1e+20, "key": 1234567890123456789, "name": null, "meta": {"tier": null},
   "deep": {"a": "not an object"}, "nested": []},
  {"key": -0, "name": "zero", "meta": null, "deep": {"a": {"b": false}}},
  {"key": "ünï ✓ 𝄞", "amount": -0.0, "flags": {}, "meta": {"owner": ""}, "nested": null},
  {"key": 7, "amount": 0.1, "name": "x"}
]}}"""
PAGE_2 = r"""{"next": null, "data": {"items": [
  {"key": "b", "amount": 10, "meta": {"owner": "bob"}},
  {"key": "c", "name": "last"}
]}}"""


def _pages(*texts: str) -> list[tuple[str, Any]]:
    return [(text, json.loads(text)) for text in texts]


def _stored(ds: DsWorld, datasource_id: str) -> dict[str, str]:
    """Each record's data as canonical JSON: 1, 1.0 and true differ, key order does not."""
    with ds.runtime.unit(write=False) as unit:
        rows = unit.datasource_records.page(datasource_id, limit=100)
    return {r.record_id: canonical_json(r.data) for r in rows}


def _write_both(ds: DsWorld, texts: list[str]) -> tuple[list[int], list[int], str, str]:
    raw_source, py_source = ds.datasource("raw").datasource.id, ds.datasource("py").datasource.id
    shape = record_shape(MODULE)
    assert shape is not None
    pages = _pages(*texts)
    with ds.runtime.unit() as unit:
        now, repo = unit.now(), unit.datasource_records
        raw = [(text, record_ids(MODULE, body, n)) for n, (text, body) in enumerate(pages, 1)]
        by_sql = repo.upsert_raw_pages(raw_source, "s1", shape, raw, now)
        reduced = [kept_records(MODULE, body, n) for n, (_, body) in enumerate(pages, 1)]
        by_python = repo.upsert_pages(py_source, "s1", reduced, now)
    return by_sql, by_python, raw_source, py_source


def test_the_database_and_python_keep_the_same_records(ds: DsWorld) -> None:
    by_sql, by_python, raw_source, py_source = _write_both(ds, [PAGE_1, PAGE_2])
    assert by_sql == by_python == [5, 2]
    stored = _stored(ds, raw_source)
    assert stored == _stored(ds, py_source)
    assert set(stored) == {"a", "1234567890123456789", "0", "ünï ✓ 𝄞", "7", "b", "c"}
    assert json.loads(stored["a"]) == {
        "key": "a", "name": 'café / "q" \\ tab\t', "amount": 1.5, "flags": [True, None, 0],
        "meta": {"owner": "ann", "tier": 2}, "deep": {"a": {"b": {"z": None, "y": 100.0}}},
        "empty": "", "nested": {"b": 1, "a": {"x": None}},
    }  # fmt: skip
    assert json.loads(stored["1234567890123456789"]) == {
        "key": 1234567890123456789, "amount": 1e20, "nested": []}  # fmt: skip
    assert json.loads(stored["0"]) == {"key": 0, "name": "zero", "deep": {"a": {"b": False}}}


def test_unchanged_records_are_not_written_and_a_change_is_counted_for_its_page(
    ds: DsWorld,
) -> None:
    _, _, raw_source, _ = _write_both(ds, [PAGE_1, PAGE_2])
    shape = record_shape(MODULE)
    assert shape is not None
    changed = PAGE_2.replace('"name": "last"', '"name": "changed"')
    with ds.runtime.unit() as unit:
        now, repo = unit.now() + timedelta(hours=1), unit.datasource_records
        raw = [(t, record_ids(MODULE, b, n)) for n, (t, b) in enumerate(_pages(PAGE_1, PAGE_2))]
        assert repo.upsert_raw_pages(raw_source, "s2", shape, raw, now) == [0, 0]
        raw = [(t, record_ids(MODULE, b, n)) for n, (t, b) in enumerate(_pages(PAGE_1, changed))]
        assert repo.upsert_raw_pages(raw_source, "s3", shape, raw, now) == [0, 1]
        rows = {r.record_id: r for r in repo.page(raw_source, limit=100)}
    assert (
        rows["c"].data == {"key": "c", "name": "changed"}
        and rows["c"].updated_at > rows["b"].updated_at
    )


def test_a_page_the_database_cannot_read_is_refused_to_the_python_path(ds: DsWorld) -> None:
    text = '{"data": {"items": [{"key": "a", "name": NaN}]}}'  # Python reads NaN, SQL does not
    source = ds.datasource().datasource.id
    shape = record_shape(MODULE)
    assert shape is not None
    with pytest.raises(RawPagesRefused), ds.runtime.unit() as unit:
        ids = record_ids(MODULE, json.loads(text), 1)
        unit.datasource_records.upsert_raw_pages(source, "s1", shape, [(text, ids)], unit.now())
    assert ds.count(source) == 0  # the transaction rolled back: the writer starts another


def test_record_ids_refuse_what_kept_records_refuses() -> None:
    for body, error in [
        ({"data": {"items": [{"key": "a"}, {"key": 1.5}]}}, "record 1 has no key"),
        ({"data": {"items": [{"key": True}]}}, "record 0 has no key"),
        ({"data": {"items": [{"key": ""}]}}, "record 0 has no key"),
        ({"data": {"items": ["a"]}}, "record 0 has no key"),
        ({"data": {"items": {"key": "a"}}}, "no list of records at data.items"),
    ]:
        for reduce in (kept_records, record_ids):
            with pytest.raises(ValidationError) as refused:
                reduce(MODULE, body, 3)
            assert error in str(refused.value)
    assert record_ids(MODULE, {"data": {}}, 1) == []  # an empty page may leave the list out


def test_paths_sql_would_read_otherwise_keep_the_python_path() -> None:
    def shape_of(**kw: Any) -> object:
        paging = {"style": "cursor", "cursor_param": "a", "next_cursor": "n"}
        base = {
            "name": "m",
            "display_name": "M",
            "path": "/r",
            "fields": ["id"],
            "pagination": paging,
        }
        return record_shape(ServiceModule.model_validate({**base, **kw}))

    assert shape_of(records="data.items", fields=["id", "a.b"]) is not None
    assert shape_of(records="items.0") is None  # a list index
    assert shape_of(fields=["id", "a'b"]) is None  # a key SQL would need quoted
    assert shape_of(fields=["id", "a", "a.b"]) is None  # a field inside another kept one


def _writer_run(ds: DsWorld, name: str, pages: list[Page]) -> tuple[PageWriter, str]:
    source = ds.datasource(name).datasource.id
    asked = ds.request(ds.dev, source)
    writer = PageWriter(ds.runtime, asked.sync, timedelta(minutes=5), None)
    for page in pages:
        writer.put(page)
    writer.close()
    return writer, source


def test_a_sync_writes_the_same_records_from_raw_pages_and_from_parsed_ones(
    ds: DsWorld,
) -> None:
    pages = _pages(PAGE_1, PAGE_2)
    raw, raw_source = _writer_run(
        ds, "raw", [Page(MODULE, b, n, text.encode()) for n, (text, b) in enumerate(pages, 1)]
    )
    parsed, py_source = _writer_run(
        ds, "py", [Page(MODULE, b, n) for n, (_, b) in enumerate(pages, 1)]
    )
    assert (raw.pages, raw.seen, raw.changed) == (parsed.pages, parsed.seen, parsed.changed)
    assert raw.seen_ids == parsed.seen_ids and len(raw.seen_ids) == 7
    assert _stored(ds, raw_source) == _stored(ds, py_source)
    with ds.runtime.unit(
        write=False
    ) as unit:  # as sent by the one, as Python writes it by the other
        spelled = (
            unit.conn.exec_driver_sql(
                "SELECT CAST(data AS TEXT) FROM datasource_records WHERE record_id = 'a' "
                "ORDER BY datasource_id = '" + raw_source + "' DESC"
            )
            .scalars()
            .all()
        )
    assert '"amount":1.50' in spelled[0] and '"amount":1.5,' in spelled[1]


def test_a_batch_with_an_id_twice_or_a_page_sql_refuses_is_written_from_python(
    ds: DsWorld,
) -> None:
    twice = '{"data": {"items": [{"key": "a", "name": "first"}, {"key": "b"}]}}'
    again = '{"data": {"items": [{"key": "a", "name": "last"}]}}'
    pages = [Page(MODULE, json.loads(t), n, t.encode()) for n, t in enumerate([twice, again], 1)]
    writer, source = _writer_run(ds, "twice", pages)
    assert (writer.seen, writer.changed) == (3, 2)  # "a" counts once, for its last page
    stored = _stored(ds, source)
    assert json.loads(stored["a"])["name"] == "last" and set(stored) == {"a", "b"}

    # A key twice in one object: Python (and PostgreSQL) read the last one, SQLite the first;
    # the id SQLite reads is not the page's, so the page is written from Python.
    doubled = '{"data": {"items": [{"key": "x", "key": "y", "name": "n"}]}}'
    writer, source = _writer_run(ds, "doubled", [Page(MODULE, json.loads(doubled), 1,
                                                      doubled.encode())])  # fmt: skip
    assert writer.changed == 1 and _stored(ds, source) == {"y": '{"key":"y","name":"n"}'}
    # An integer id beyond 64 bits: SQLite reads it as a REAL, an id the page does not have.
    big = '{"data": {"items": [{"key": 123456789012345678901, "name": "big"}]}}'
    writer, source = _writer_run(ds, "big", [Page(MODULE, json.loads(big), 1, big.encode())])
    assert writer.changed == 1
    assert _stored(ds, source) == {
        "123456789012345678901": '{"key":123456789012345678901,"name":"big"}'
    }
    if ds.runtime.database.engine.dialect.name == "sqlite":  # PostgreSQL's json refuses NaN
        nan = '{"data": {"items": [{"key": "n", "amount": NaN}]}}'
        writer, source = _writer_run(ds, "nan", [Page(MODULE, json.loads(nan), 1, nan.encode())])
        assert writer.changed == 1 and ds.count(source) == 1


def test_after_a_batch_the_database_refused_the_next_ones_are_written_by_it_again(
    ds: DsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NaN outside the records: Python reads the page, neither database does; the writer writes
    # that batch from Python and goes on with the next batches on the same connection.
    monkeypatch.setattr(sync_writer, "BATCH_RECORDS", 1)  # a batch per page
    texts = [
        '{"data": {"items": [{"key": "a", "amount": 1.50}]}, "score": NaN}',
        '{"data": {"items": [{"key": "b", "amount": 2.50}]}}',
        '{"data": {"items": [{"key": "c", "amount": 3.50}]}}',
    ]
    pages = [Page(MODULE, json.loads(t), n, t.encode()) for n, t in enumerate(texts, 1)]
    writer, source = _writer_run(ds, "refused", pages)
    assert (writer.pages, writer.seen, writer.changed) == (3, 3, 3)
    with ds.runtime.unit(write=False) as unit:
        spelled: dict[str, str] = dict(
            unit.conn.exec_driver_sql(
                "SELECT record_id, CAST(data AS TEXT) FROM datasource_records"
            ).all()
        )
        sync = unit.datasources.active_sync(source)  # queued: the writer alone ran
    assert '"amount":1.5,' in spelled["a"]  # written from Python
    assert '"amount":2.50' in spelled["b"] and '"amount":3.50' in spelled["c"]  # by SQL
    assert sync is not None and (sync.pages, sync.records_seen, sync.records_changed) == (3, 3, 3)


def test_a_nested_id_and_records_at_the_root_are_kept_the_same_both_ways(ds: DsWorld) -> None:
    module = ServiceModule.model_validate(
        {
            "name": "rooted",
            "display_name": "Rooted",
            "path": "/r",
            "id_field": "meta.uid",
            "fields": ["name", "meta.uid"],
            "pagination": {"style": "page", "page_param": "p", "page_size": 2},
        }
    )
    shape = record_shape(module)
    assert shape is not None and shape.records is None
    text = '[{"meta": {"uid": 7, "x": 1}, "name": "a"}, {"meta": {"uid": "u-2"}}]'
    body = json.loads(text)
    raw_source, py_source = ds.datasource("raw").datasource.id, ds.datasource("py").datasource.id
    with ds.runtime.unit() as unit:
        repo, now = unit.datasource_records, unit.now()
        ids = record_ids(module, body, 1)
        assert repo.upsert_raw_pages(raw_source, "s", shape, [(text, ids)], now) == [2]
        assert repo.upsert_pages(py_source, "s", [kept_records(module, body, 1)], now) == [2]
        assert repo.upsert_raw_pages(raw_source, "t", shape, [(text, ids)], now) == [0]
    assert (
        _stored(ds, raw_source)
        == _stored(ds, py_source)
        == {
            "7": '{"meta":{"uid":7},"name":"a"}',
            "u-2": '{"meta":{"uid":"u-2"}}',
        }
    )


def _both_ways(ds: DsWorld, texts: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The records stored from ``texts`` as sent (the database may reduce them) and parsed
    (Python reduces them), each written over a first page with records a and c."""
    stored = []
    for name, raw in (("raw", True), ("py", False)):
        first = '{"data": {"items": [{"key": "a", "name": "1"}, {"key": "c", "name": "old"}]}}'
        source = ds.datasource(name).datasource.id
        sync = ds.request(ds.dev, source).sync
        for batch in ([first], texts):
            writer = PageWriter(ds.runtime, sync, timedelta(minutes=5), None)
            for n, text in enumerate(batch, 1):
                writer.put(Page(MODULE, json.loads(text), n, text.encode() if raw else None))
            writer.close()
            with ds.runtime.unit() as unit:  # as a completed sync removes the unseen
                unit.datasource_records.remove_unseen(source, writer.seen_ids)
        stored.append(_stored(ds, source))
    return stored[0], stored[1]


def test_keys_spelled_with_escapes_are_read_as_python_reads_them(ds: DsWorld) -> None:
    escaped = (
        r'{"data": {"items": [{"key": "a", "n\u0061me": "x", "meta": {"own\u0065r": "ann"}}]}}'
    )
    by_sql, by_python = _both_ways(ds, [escaped])
    assert by_sql == by_python
    assert json.loads(by_sql["a"]) == {"key": "a", "name": "x", "meta": {"owner": "ann"}}


def test_an_object_with_its_id_key_twice_is_read_as_python_reads_it(ds: DsWorld) -> None:
    twice = (
        '{"data": {"items": [{"key": "a", "name": "2"}, {"key": "a", "key": "b", "name": "3"}]}}'
    )
    by_sql, by_python = _both_ways(ds, [twice])
    assert by_sql == by_python
    assert set(by_sql) == {"a", "b"}  # c is gone from the service: removed
