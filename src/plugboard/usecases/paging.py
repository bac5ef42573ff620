"""One page of records from a usecase service, and the keyset key the next page starts after
(``None`` on the last page). The REST API turns the key into its opaque cursor."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["KeysetPage", "encode_cursor", "fetch_one_more", "keyset_page"]

T = TypeVar("T")
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class KeysetPage(Generic[T, K]):
    items: list[T]
    next_key: K | None


def fetch_one_more(limit: int | None) -> int | None:
    """What to ask the store for: one row past the page tells whether another page follows."""
    return None if limit is None else limit + 1


def keyset_page(found: Sequence[T], limit: int | None, key: Callable[[T], K]) -> KeysetPage[T, K]:
    """The first ``limit`` of ``found`` (fetched with :func:`fetch_one_more`) and the key of
    the last of them when more follow."""
    items = list(found if limit is None else found[:limit])
    more = limit is not None and len(found) > limit and bool(items)
    return KeysetPage(items, key(items[-1]) if more else None)


def encode_cursor(key: Sequence[Any]) -> str:
    """The opaque cursor of a keyset key (base64 JSON): what the REST API's next_cursor holds,
    also put in records that point at a list's next page."""
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")
