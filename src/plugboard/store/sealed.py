"""Reading and writing sealed columns, and re-sealing them all under the newest key."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, func, select, update

from plugboard.crypto.sealing import PREFIX, Sealer, seal_context
from plugboard.store.tables import SEALED_COLUMNS


def seal_json(
    sealer: Sealer, table: Table, column: str, row_id: str, value: Mapping[str, Any]
) -> str:
    return sealer.seal(json.dumps(dict(value)).encode(), seal_context(table.name, column, row_id))


def open_json(
    sealer: Sealer, table: Table, column: str, row_id: str, sealed: str
) -> dict[str, Any]:
    opened = json.loads(sealer.open(sealed, seal_context(table.name, column, row_id)))
    assert isinstance(opened, dict)
    return opened


@dataclass(frozen=True, slots=True)
class SealedCount:
    table: str
    column: str
    by_key: dict[str, int]


def count_by_key(conn: Connection) -> list[SealedCount]:
    counts = []
    for table, column in SEALED_COLUMNS:
        col = table.c[column]
        by_key: dict[str, int] = {}
        for (value,) in conn.execute(select(col).where(col.is_not(None))):
            key_id = Sealer.key_id_of(value)
            by_key[key_id] = by_key.get(key_id, 0) + 1
        counts.append(SealedCount(table.name, column, by_key))
    return counts


def stale_count(conn: Connection, sealer: Sealer) -> int:
    current = f"{PREFIX}.{sealer.keyring.current.id}.%"
    total = 0
    for table, column in SEALED_COLUMNS:
        col = table.c[column]
        query = (
            select(func.count()).select_from(table).where(col.is_not(None), col.not_like(current))
        )
        total += int(conn.execute(query).scalar_one())
    return total


def reseal_batch(conn: Connection, sealer: Sealer, batch_size: int) -> int:
    """Re-seal up to `batch_size` values not sealed with the newest key; return how many."""
    current = f"{PREFIX}.{sealer.keyring.current.id}.%"
    done = 0
    for table, column in SEALED_COLUMNS:
        col = table.c[column]
        rows = conn.execute(
            select(table.c.id, col)
            .where(col.is_not(None), col.not_like(current))
            .order_by(table.c.id)
            .limit(batch_size - done)
        ).all()
        for row_id, sealed in rows:
            context = seal_context(table.name, column, row_id)
            fresh = sealer.seal(sealer.open(sealed, context), context)
            # Guarded on the old value: a concurrent writer's newer value is left alone.
            conn.execute(
                update(table).where(table.c.id == row_id, col == sealed).values({column: fresh})
            )
            done += 1
        if done >= batch_size:
            break
    return done


def reseal_all(
    transactions: Callable[[], Any],
    sealer: Sealer,
    *,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Re-seal every stale value, one transaction per batch, so a long rotation never holds locks
    for long and an interrupted one resumes where it stopped."""
    total = 0
    while True:
        with transactions() as conn:
            done = reseal_batch(conn, sealer, batch_size)
        if done == 0:
            return total
        total += done
        if progress:
            progress(done)


def iter_sealed_values(conn: Connection) -> Iterator[tuple[str, str, str, str]]:
    """(table, column, row id, sealed value) for every sealed value: for audits and tests."""
    for table, column in SEALED_COLUMNS:
        col = table.c[column]
        for row_id, value in conn.execute(select(table.c.id, col).where(col.is_not(None))):
            yield table.name, column, row_id, value
