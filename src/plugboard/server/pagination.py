"""Cursor pagination for list endpoints: an opaque cursor names the last item already seen.

Lists are ordered by a stable key; the cursor is that key of the last item (base64 JSON), so a
page never repeats or skips an item when others are added before it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from plugboard.errors import ValidationError
from plugboard.usecases.paging import encode_cursor

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Page",
    "cursor_after",
    "cursor_texts",
    "cursor_time_id",
    "decode_cursor",
    "encode_cursor",
    "paginate",
    "time_id_cursor",
]

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def decode_cursor(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        raise ValidationError(
            "cursor", "must be a next_cursor value from a previous page"
        ) from None
    if not isinstance(key, list):
        raise ValidationError("cursor", "must be a next_cursor value from a previous page")
    return key


def cursor_after(cursor: str | None, key_name: str) -> str | None:
    """The one-part key a cursor names (for lists paged in SQL by one text column)."""
    if not cursor:
        return None
    key = decode_cursor(cursor)
    if len(key) != 1 or not isinstance(key[0], str):
        raise ValidationError(
            "cursor", f"must be a next_cursor value from a previous page ({key_name})"
        )
    return key[0]


def cursor_texts(cursor: str | None, size: int) -> tuple[str, ...] | None:
    """The key of ``size`` strings a cursor names (for lists paged in SQL by text columns)."""
    if not cursor:
        return None
    key = decode_cursor(cursor)
    if len(key) != size or not all(isinstance(part, str) for part in key):
        raise ValidationError("cursor", "must be a next_cursor value from a previous page")
    return tuple(key)


def cursor_time_id(cursor: str | None) -> tuple[datetime, str] | None:
    """The (time, id) key a cursor names (for lists paged in SQL by a timestamp and an id)."""
    if not cursor:
        return None
    key = decode_cursor(cursor)
    try:
        if len(key) != 2:
            raise ValueError
        return datetime.fromisoformat(key[0]), str(key[1])
    except (TypeError, ValueError):
        raise ValidationError(
            "cursor", "must be a next_cursor value from a previous page"
        ) from None


def time_id_cursor(key: tuple[datetime, str] | None) -> str | None:
    """The cursor of a (time, id) key; None (the last page) stays None."""
    return None if key is None else encode_cursor([key[0].isoformat(), key[1]])


def paginate(
    items: Sequence[T], key: Callable[[T], Sequence[Any]], cursor: str | None, limit: int
) -> tuple[list[T], str | None]:
    """The page after `cursor` of `items` sorted by `key`, and the cursor of the next page."""
    ordered = sorted(items, key=lambda item: list(key(item)))
    if cursor:
        after = decode_cursor(cursor)
        ordered = [item for item in ordered if list(key(item)) > after]
    page = ordered[:limit]
    next_cursor = encode_cursor(key(page[-1])) if len(ordered) > limit else None
    return page, next_cursor
