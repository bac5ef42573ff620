"""Identifiers: a short type prefix and 20 random base32 characters (100 bits).

Ids are made by the application, not the database, because sealed columns bind their ciphertext
to the row id before the row is inserted. Random ids also reveal nothing about other tenants.
"""

from __future__ import annotations

import base64
import secrets
import time


def new_id(prefix: str) -> str:
    token = base64.b32encode(secrets.token_bytes(15)).decode().lower()
    return f"{prefix}_{token}"


_last_sortable = 0


def new_sortable_id(prefix: str) -> str:
    """An id that sorts by creation: nanosecond time (strictly increasing within a process) and
    random bits. The audit log orders by it when timestamps tie inside one transaction."""
    global _last_sortable
    _last_sortable = max(time.time_ns(), _last_sortable + 1)
    return f"{prefix}_{_last_sortable:016x}{secrets.token_hex(4)}"
