"""Rows of several tables read by one joined SELECT (store/resolution.py, store/sync_runs.py):
each table's columns under a prefix of its own, and one table's part of a row read back under
its columns' names -- what that table's repository turns into a model."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Label, Table

__all__ = ["part", "prefixed_columns"]


def prefixed_columns(parts: Sequence[tuple[str, Table]]) -> list[Label[Any]]:
    """Every column of each (prefix, table), labelled prefix + its name."""
    return [col.label(prefix + col.name) for prefix, table in parts for col in table.c]


def part(row: Any, prefix: str, table: Table) -> SimpleNamespace:
    """``table``'s columns of a joined row, under their own names."""
    mapping = row._mapping
    return SimpleNamespace(**{col.name: mapping[prefix + col.name] for col in table.c})
