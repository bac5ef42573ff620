"""Name rules shared by services and connections (SPEC §2, §3)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from plugboard.errors import ValidationError

LINK_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,49}$"
_LINK_NAME = re.compile(LINK_NAME_PATTERN)
DISPLAY_NAME_MAX = 50
WORKSPACE_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,49}$"
_WORKSPACE_NAME = re.compile(WORKSPACE_NAME_PATTERN)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_link_name(value: str, field: str = "link_name") -> str:
    """A link name is how code refers to a service or connection, so it is an identifier."""
    if not _LINK_NAME.fullmatch(value):
        raise ValidationError(
            field,
            f"must match {LINK_NAME_PATTERN} (start with a lower-case letter; lower-case letters, "
            "digits and _ only; at most 50 characters)",
        )
    return value


def check_display_name(value: str, field: str = "name") -> str:
    stripped = value.strip()
    if not 1 <= len(stripped) <= DISPLAY_NAME_MAX:
        raise ValidationError(field, f"must be 1 to {DISPLAY_NAME_MAX} characters")
    return stripped


def check_workspace_name(value: str, field: str = "workspace") -> str:
    if not _WORKSPACE_NAME.fullmatch(value):
        raise ValidationError(
            field,
            f"must match {WORKSPACE_NAME_PATTERN} (lower-case letters, digits, _ and -; "
            "at most 50 characters)",
        )
    return value


def check_email(value: str, field: str = "email") -> str:
    normalized = value.strip().lower()
    if len(normalized) > 254 or not _EMAIL.fullmatch(normalized):
        raise ValidationError(field, "must be an e-mail address like name@example.com")
    return normalized


def link_name_from(display_name: str) -> str:
    """Derive a link name from a display name: lower case, ASCII, `_` for anything else."""
    ascii_name = (
        unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode("ascii")
    )
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = f"c_{slug}" if slug else "connection"
    return slug[:50].rstrip("_")


def next_free_name(base: str, taken: Iterable[str]) -> str:
    """`base`, else `base 2`, `base 3`, … — the first one not taken (SPEC §3 naming)."""
    taken_set = set(taken)
    if base not in taken_set:
        return base
    n = 2
    while f"{base} {n}" in taken_set:
        n += 1
    return f"{base} {n}"
