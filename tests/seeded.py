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


@dataclass(frozen=True)
class _Recorded:
    before: frozenset[tuple[str, tuple[str, ...]]]  # the rows the step started from
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


def _state(rows: Rows) -> frozenset[tuple[str, tuple[str, ...]]]:
    return frozenset(
        (name, tuple(f"{k}={v!r}" for k, v in sorted(row.items())))
        for name, table_rows in rows.items()
        for row in table_rows
    )


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
        before_rows = _rows(conn)
    before = _state(before_rows)
    recorded = _RECORDED.get(full_key)
    if recorded is not None and recorded.before == before:
        _insert(runtime, recorded)
        return
    step()
    with runtime.database.transaction(write=False) as conn:
        after_rows = _rows(conn)
    if not before <= _state(after_rows):
        return  # the step changed or removed rows it found: not replayable by inserts
    added: Rows = {}
    for name, table_rows in after_rows.items():
        old = {_state({name: [row]}) for row in before_rows.get(name, [])}
        new = [row for row in table_rows if _state({name: [row]}) not in old]
        if new:
            added[name] = new
    _RECORDED[full_key] = _Recorded(before, added, runtime.sealer)


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
