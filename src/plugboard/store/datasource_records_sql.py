"""The SQL of a batch of records reduced by the database itself (see store/datasource_records.py):
the statements that split the services' answers as sent, reduce each record to a module's
shape, skip the unchanged ones and upsert the rest -- built once per shape and dialect."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from plugboard.domain.datasources import RecordShape

UPSERT = (
    "INSERT INTO datasource_records (datasource_id, record_id, data, seen_sync_id, created_at, "
    "updated_at) {rows} ON CONFLICT (datasource_id, record_id) DO UPDATE SET "
    "data = excluded.data, seen_sync_id = excluded.seen_sync_id, "
    "updated_at = excluded.updated_at"
)
# PostgreSQL's json type has no equality: its texts are compared.
CHANGED_PG = " WHERE CAST(datasource_records.data AS TEXT) <> CAST(excluded.data AS TEXT)"
CHANGED_SQLITE = " WHERE datasource_records.data <> excluded.data"

# -- records reduced by the database -----------------------------------------------------------
# Every step of a RecordShape matches [A-Za-z0-9_-]+ (domain/datasources.py): it goes into the
# SQL text as it is, inside quotes, and is its own JSON spelling as a key.


def _key(step: str) -> str:
    return f"'\"{step}\":'"  # the SQL literal of the JSON text "step":


def _object(tree: dict[str, Any], leaf: Callable[[tuple[str, ...]], str], top: bool) -> str:
    """The SQL expression of the JSON text of ``tree`` ({key: subtree or steps}): keys sorted,
    each member whose value is NULL left out -- and, below the top, NULL when none is left
    (kept_records creates a nested object only for a value found in it)."""
    members = []
    for key in sorted(tree):
        value = tree[key]
        inner = _object(value, leaf, False) if isinstance(value, dict) else leaf(value)
        members.append(f"coalesce(',' || {_key(key)} || {inner}, '')")
    text = f"'{{' || substr({' || '.join(members)}, 2) || '}}'"
    return text if top else f"nullif({text}, '{{}}')"


def _tree(fields: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for steps in fields:
        node = tree
        for step in steps[:-1]:
            node = node.setdefault(step, {})
        node[steps[-1]] = steps
    return tree


@lru_cache(maxsize=64)
def raw_upsert(dialect: str, shape: RecordShape) -> str:
    """The upsert of a batch of pages sent as one JSON array of the services' answers; its
    parameters: the datasource, the sync, the time twice, the pages (and on PostgreSQL the
    datasource again)."""
    return _raw_upsert_pg(shape) if dialect == "postgresql" else _raw_upsert_sqlite(shape)


def _raw_upsert_pg(shape: RecordShape) -> str:
    # Each record's top-level members split once (json_to_recordset: a column of type json
    # per member read, its text as sent; the last of a key twice, as Python); a step of
    # ``->`` per level below. An ``->`` per field would parse the record's text each time.
    top = sorted({steps[0] for steps in (shape.id_steps, *shape.fields)})

    def at(steps: tuple[str, ...]) -> str:
        return f'x."{steps[0]}"' + "".join(f" -> '{s}'" for s in steps[1:])

    def leaf(steps: tuple[str, ...]) -> str:
        return f"nullif(CAST({at(steps)} AS TEXT), 'null')"

    ident = at(shape.id_steps)
    record_id = (
        f"CASE json_typeof({ident}) WHEN 'string' THEN {ident} #>> '{{}}' "
        f"WHEN 'number' THEN CAST({ident} AS TEXT) END"
    )
    found = "p.page" + "".join(f" -> '{s}'" for s in shape.records or ())
    columns = ", ".join(f'"{step}" json' for step in top)
    source = (
        "json_array_elements(CAST(%s AS JSON)) AS p(page), "
        f"json_to_recordset({found}) AS x({columns})"
    )
    text = _object(_tree(shape.fields), leaf, True)
    # An unchanged record is skipped before the INSERT: one index lookup of its stored text
    # (LATERAL ... LIMIT 1, whatever the planner thinks of a table never analyzed) instead of
    # a speculative insertion, a conflict and a row lock -- a third of the server's time for a
    # batch of unchanged records. Unchanged: the kept values, read from the stored text
    # (json_to_record) and from the record, each as spelled, null for a missing or null one,
    # are the same (as SQLite compares them, below).
    stored_top = sorted({steps[0] for steps in shape.fields})
    stored_columns = ", ".join(f'"{step}" json' for step in stored_top)

    def values(table: str) -> str:
        return (
            "CAST(json_build_array("
            + ", ".join(
                f'{table}."{f[0]}"' + "".join(f" -> '{s}'" for s in f[1:]) for f in shape.fields
            )
            + ") AS TEXT)"
        )

    rows = (
        "SELECT %s, s.rid, CAST(s.data AS JSON), %s, %s, %s FROM (SELECT CASE t.rid WHEN "
        "'-0' THEN '0' ELSE t.rid END AS rid, t.data, t.kept FROM (SELECT "
        f"{record_id} AS rid, {text} AS data, {values('x')} AS kept FROM {source}) AS t) AS s "
        "LEFT JOIN LATERAL (SELECT d.data FROM datasource_records AS d WHERE d.datasource_id = %s "
        "AND d.record_id = s.rid LIMIT 1) AS old ON true WHERE old.data IS NULL OR (CAST(old.data "
        f"AS TEXT) <> s.data AND (SELECT {values('o')} FROM json_to_record(old.data) AS "
        f"o({stored_columns})) <> s.kept)"
    )  # the same text first: the values are read from the stored text only when it is not
    return UPSERT.format(rows=rows) + CHANGED_PG + " RETURNING record_id"


@lru_cache(maxsize=64)
def raw_batch_pg(shape: RecordShape) -> str:
    """The upsert and the sync's progress in one statement, which also lets its transaction
    commit without waiting for the disk (``set_config(..., true)``: this transaction only; the
    sync's last commit is flushed, with everything before it). On a connection in autocommit
    the statement is its transaction: one round trip a batch instead of five (BEGIN, SET
    LOCAL, upsert, progress, COMMIT), each a wake-up of the server process on a busy machine.
    Its parameters: the upsert's, then the pages and records seen after the batch, the records
    changed before it and the sync."""
    return (
        f"WITH written AS ({_raw_upsert_pg(shape)}), progress AS (UPDATE datasource_syncs SET "
        "pages = %s, records_seen = %s, records_changed = %s + (SELECT count(*) FROM written) "
        "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS unflushed WHERE id = %s"
        ") SELECT record_id FROM written"
    )


def _raw_upsert_sqlite(shape: RecordShape) -> str:
    def path(steps: tuple[str, ...]) -> str:
        return "$" + "".join(f'."{s}"' for s in steps)

    def leaf(steps: tuple[str, ...]) -> str:
        return f"nullif(t.rec -> '{path(steps)}', 'null')"

    # The id in one call: a JSON string's text, or an integer's (-0 read as 0, as str(int)
    # does). An integer beyond 64 bits comes out as a REAL: an id the page does not have, so
    # the batch is refused to the Python path (upsert_raw_pages) -- 14% less than asking its
    # type first, for every record.
    record_id = f"CAST(r.value ->> '{path(shape.id_steps)}' AS TEXT)"
    source = f"json_each(?) AS p, json_each(p.value, '{path(shape.records or ())}') AS r"
    text = _object(_tree(shape.fields), leaf, True)
    # Unchanged records are skipped before their text is made (five fields: five JSON calls
    # of SQLite's, each parsing the record): the kept values, read from the stored text and
    # from the record in one call each (json_extract of several paths: a JSON array, null for
    # a missing or null value, each value as spelled), are the same exactly when the texts
    # would be. At least two paths, for an array.
    kept = ", ".join(f"'{path(f)}'" for f in (shape.fields * 2)[: max(2, len(shape.fields))])
    rows = (
        f"SELECT ?, t.rid, {text}, ?, ?, ? FROM (SELECT {record_id} AS rid, r.value AS rec "
        f"FROM {source}) AS t "
        "LEFT JOIN datasource_records AS old ON old.datasource_id = ? AND old.record_id = t.rid "
        f"WHERE old.data IS NULL OR json_extract(old.data, {kept}) <> json_extract(t.rec, {kept})"
    )
    return UPSERT.format(rows=rows) + CHANGED_SQLITE + " RETURNING record_id"
