"""Scene-setting replayed: the rows a seeding step wrote, inserted again for the next test.

A seeding step (the `members` of tests/stack.py, a `World`'s services, connections and
credentials) runs through the usecases once per worker, store and starting state; this records
every row it added. A later test that starts from the very same rows (the same store, the same
clock time, the same settings) gets those rows inserted directly instead, in one transaction:
the same ids, the same timestamps, the same audit events. What differs is only what must differ
per test: sealed values are sealed again with this test's keyring, and the invoke resolutions
of the process are made stale, as the usecases would have done.

Used for seeds that hundreds of parametrized cases repeat; the step itself is still exercised
by the first test of each worker and by the tests that are about it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, exists, literal, select, union_all

from plugboard.crypto.sealing import Sealer, seal_context
from plugboard.domain.clock import ManualClock
from plugboard.errors import DecryptionFailed
from plugboard.store.tables import SEALED_COLUMNS, metadata
from plugboard.usecases.invoke_invalidation import invalidate_resolutions
from plugboard.usecases.runtime import Runtime

_WRITTEN = union_all(
    *(
        select(literal(table.name).label("name")).where(exists(select(1).select_from(table)))
        for table in metadata.sorted_tables
    )
)
_SEALED: dict[str, tuple[str, ...]] = {}
for _table, _column in SEALED_COLUMNS:
    _SEALED[_table.name] = (*_SEALED.get(_table.name, ()), _column)

Rows = dict[str, list[dict[str, Any]]]
RowKey = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class _Recorded:
    before: frozenset[RowKey]  # the rows the step started from
    added: Rows  # table -> the rows the step added, parents' tables first
    sealer: Sealer  # what the added rows' sealed values were sealed with


_RECORDED: dict[tuple[Any, ...], _Recorded] = {}


def _rows(conn: Connection) -> Rows:
    written = {row.name for row in conn.execute(_WRITTEN)}
    return {
        table.name: [dict(row) for row in conn.execute(select(table)).mappings()]
        for table in metadata.sorted_tables
        if table.name in written
    }


def _row_key(table: str, row: dict[str, Any], sealer: Sealer) -> RowKey:
    """A row as comparable text; a sealed value by what it holds (each sealing differs)."""
    sealed = _SEALED.get(table, ())
    items = []
    for column, value in sorted(row.items()):
        if column in sealed and value is not None:
            try:
                value = ("opened", sealer.open(value, seal_context(table, column, row["id"])))
            except DecryptionFailed:
                value = ("sealed", value)
        items.append(f"{column}={value!r}")
    return table, tuple(items)


def _keys(rows: Rows, sealer: Sealer) -> dict[RowKey, tuple[str, dict[str, Any]]]:
    return {
        _row_key(name, row, sealer): (name, row)
        for name, table_rows in rows.items()
        for row in table_rows
    }


def seed_once(runtime: Runtime, key: tuple[Any, ...], step: Callable[[], None]) -> None:
    """Run `step` (which writes through `runtime`), or insert the rows it added last time it
    ran from this same state. Anything not known to be the same runs the step."""
    if not isinstance(runtime.clock, ManualClock):
        step()
        return
    full_key = (
        key,
        runtime.database.url,
        runtime.clock.now(),
        runtime.settings.model_dump_json(exclude={"home"}),
    )
    with runtime.database.transaction(write=False) as conn:
        before = _keys(_rows(conn), runtime.sealer)
    recorded = _RECORDED.get(full_key)
    if recorded is not None and recorded.before == frozenset(before):
        _insert(runtime, recorded)
        return
    step()
    with runtime.database.transaction(write=False) as conn:
        after = _keys(_rows(conn), runtime.sealer)
    if not before.keys() <= after.keys():
        return  # the step changed or removed rows it found: not replayable by inserts
    added: Rows = {}
    for row_key, (name, row) in after.items():
        if row_key not in before:
            added.setdefault(name, []).append(row)
    _RECORDED[full_key] = _Recorded(frozenset(before), added, runtime.sealer)


def _insert(runtime: Runtime, recorded: _Recorded) -> None:
    with runtime.unit() as unit:
        for table in metadata.sorted_tables:
            rows = recorded.added.get(table.name)
            if not rows:
                continue
            sealed_columns = _SEALED.get(table.name, ())
            if sealed_columns:
                rows = [_resealed(table.name, row, sealed_columns, recorded.sealer,
                                  runtime.sealer) for row in rows]  # fmt: skip
            unit.conn.execute(table.insert(), rows)
        invalidate_resolutions(unit)


def _resealed(
    table: str, row: dict[str, Any], columns: tuple[str, ...], old: Sealer, new: Sealer
) -> dict[str, Any]:
    row = dict(row)
    for column in columns:
        if row.get(column) is not None:
            context = seal_context(table, column, row["id"])
            row[column] = new.seal(old.open(row[column], context), context)
    return row
