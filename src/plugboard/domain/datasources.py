"""Datasources and their syncs (SPEC §8) as plain values and pure rules.

A datasource links an app to a module of the service of one of its connections (the app's
`datasource` component of the same name uses that connection). It may be configured with the
module's config fields. A sync pulls every page of the module into the records Plugboard keeps
for the datasource; it never writes back.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from plugboard.domain.connections import Connection
from plugboard.domain.models import ConnectionLevel, Environment
from plugboard.domain.service import ServiceDefinition
from plugboard.domain.service.modules import ServiceModule
from plugboard.errors import Conflict, ValidationError

SYNC_WINDOW = timedelta(hours=24)  # one sync per user per datasource in this window
MAX_RUNNING_SYNCS = 10  # in the whole deployment
CONFIG_VALUE_MAX = 500


class SyncStatus(enum.StrEnum):
    QUEUED = "queued"
    ONGOING = "ongoing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        return self in (SyncStatus.QUEUED, SyncStatus.ONGOING)


@dataclass(frozen=True, slots=True)
class Datasource:
    id: str
    workspace_id: str
    app_id: str
    environment: Environment
    name: str
    connection_id: str
    module: str
    config: dict[str, str] | None  # None: never configured
    enabled: bool
    created_by: str | None
    created_at: datetime
    configured_by: str | None
    configured_at: datetime | None
    last_completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Sync:
    id: str
    datasource_id: str
    workspace_id: str
    status: SyncStatus
    requested_by: str | None  # the user it runs for; None: no user (the primary account)
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    pages: int
    records_seen: int
    records_changed: int
    records_removed: int
    attempts: int
    error: str | None


@dataclass(frozen=True, slots=True)
class KeptRecord:
    record_id: str
    data: dict[str, Any]


def check_config_values(module: ServiceModule, values: Mapping[str, str]) -> dict[str, str]:
    """The configuration to store: every key declared, required ones present, patterns met."""
    declared = {f.key: f for f in module.config_fields}
    for key in values:
        if key not in declared:
            raise ValidationError(f"config.{key}", "is not a config field of the module")
    checked: dict[str, str] = {}
    for key, spec in declared.items():
        value = values.get(key) or spec.default
        if value is None:
            if spec.required:
                raise ValidationError(f"config.{key}", "a value is required")
            continue
        if len(value) > CONFIG_VALUE_MAX or any(c in value for c in "\r\n\x00"):
            raise ValidationError(
                f"config.{key}", f"must be one line of at most {CONFIG_VALUE_MAX} characters"
            )
        if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
            raise ValidationError(f"config.{key}", f"must match {spec.pattern}")
        checked[key] = value
    return checked


def needs_configuration(module: ServiceModule, datasource: Datasource) -> bool:
    return bool(module.required_keys) and datasource.config is None


def configuration_refusal(
    *,
    connection: Connection,
    app_id: str,
    service: ServiceDefinition,
    module: ServiceModule,
    datasource_enabled: bool,
    authorized: bool,
) -> Conflict | None:
    """Why a datasource may not be configured or synced now, or None (SPEC §8; the reference's
    "Configure appears only when…"): each refusal names its rule."""
    if service.deprecated is not None:
        return Conflict(
            f"connection {connection.link_name!r} is deprecated ({service.deprecated}): "
            "replace it before configuring its datasources",
            {"rule": "connection_deprecated"},
        )
    if module.deprecated is not None:
        return Conflict(
            f"module {module.name!r} is deprecated ({module.deprecated})",
            {"rule": "module_deprecated"},
        )
    if connection.level is not ConnectionLevel.SYSTEM and connection.app_id != app_id:
        return Conflict(
            f"connection {connection.link_name!r} has no app access for this app: enable it "
            "first (`plugboard apps access enable`)",
            {"rule": "no_app_access"},
        )
    if not datasource_enabled:
        return Conflict("the datasource is disabled: enable it first", {"rule": "disabled"})
    if not authorized:
        return Conflict(
            f"connection {connection.link_name!r} is not authorized in this environment"
            + (" (its primary account)" if connection.level is ConnectionLevel.USER else ""),
            {"rule": "not_authorized"},
        )
    return None


# -- reading answers ----------------------------------------------------------------------------


def at_path(data: Any, path: str) -> Any:
    """Follow a dotted path into decoded JSON (digits index lists); None when missing."""
    current = data
    for step in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(step)
        elif isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        else:
            return None
        if current is None:
            return None
    return current


def _put(target: dict[str, Any], path: str, value: Any) -> None:
    steps = path.split(".")
    for step in steps[:-1]:
        nested = target.get(step)
        if not isinstance(nested, dict):
            nested = {}
            target[step] = nested
        target = nested
    target[steps[-1]] = value


@dataclass(frozen=True, slots=True)
class _Extractor:
    """A module's field paths split once: top-level fields read with one ``dict.get``, dotted
    ones followed step by step (the same rules as :func:`at_path`)."""

    records: tuple[str, ...] | None
    id_steps: tuple[str, ...]
    flat: tuple[str, ...]  # single-step fields
    nested: tuple[tuple[str, tuple[str, ...]], ...]  # (path, steps) of dotted fields


@lru_cache(maxsize=256)
def _extractor(records: str | None, id_field: str, fields: tuple[str, ...]) -> _Extractor:
    return _Extractor(
        records=tuple(records.split(".")) if records is not None else None,
        id_steps=tuple(id_field.split(".")),
        flat=tuple(f for f in fields if "." not in f),
        nested=tuple((f, tuple(f.split("."))) for f in fields if "." in f),
    )


def _follow(data: Any, steps: tuple[str, ...]) -> Any:
    current = data
    for step in steps:
        if type(current) is dict or isinstance(current, Mapping):
            current = current.get(step)
        elif isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        else:
            return None
        if current is None:
            return None
    return current


def _records_of(ex: _Extractor, module: ServiceModule, body: Any, page: int) -> list[Any]:
    found = body if ex.records is None else _follow(body, ex.records)
    if found is None and ex.records is not None and isinstance(body, Mapping):
        found = []  # an empty page may leave the list out (HubSpot, Zoho CRM's 204)
    if not isinstance(found, list):
        raise ValidationError(
            f"page {page}", f"the answer has no list of records at {module.records or '(root)'}"
        )
    return found


def _id_of(item: Any, ex: _Extractor, module: ServiceModule, page: int, i: int) -> str:
    if item is None:
        record_id = None
    elif len(ex.id_steps) == 1:
        record_id = item.get(ex.id_steps[0])
    else:
        record_id = _follow(item, ex.id_steps)
    if not isinstance(record_id, str | int) or isinstance(record_id, bool) or record_id == "":
        raise ValidationError(f"page {page}", f"record {i} has no {module.id_field}")
    return str(record_id)


def kept_records(module: ServiceModule, body: Any, page: int) -> list[KeptRecord]:
    """The records of one answer, each reduced to the module's fields (nested as in the
    answer). Raises ValidationError when the answer is not the declared shape."""
    ex = _extractor(module.records, module.id_field, tuple(module.fields))
    kept: list[KeptRecord] = []
    flat, nested = ex.flat, ex.nested
    for i, item in enumerate(_records_of(ex, module, body, page)):
        if type(item) is not dict:
            item = dict(item) if isinstance(item, Mapping) else None
        record_id = _id_of(item, ex, module, page, i)
        assert item is not None
        data = {f: v for f in flat if (v := item.get(f)) is not None}
        for path, steps in nested:
            value = _follow(item, steps)
            if value is not None:
                _put(data, path, value)
        kept.append(KeptRecord(record_id, data))
    return kept


def record_ids(module: ServiceModule, body: Any, page: int) -> list[str]:
    """The ids :func:`kept_records` gives the records of one answer, in order, refusing the
    same answers with the same errors -- without reducing the records."""
    ex = _extractor(module.records, module.id_field, tuple(module.fields))
    found = _records_of(ex, module, body, page)
    if len(ex.id_steps) == 1:  # the usual case, in one pass: a dict with a str or int id
        key, ids = ex.id_steps[0], []
        for item in found:
            record_id = item.get(key) if type(item) is dict else None
            kind = type(record_id)
            if kind is str and record_id:
                ids.append(record_id)
            elif kind is int:
                ids.append(str(record_id))
            else:
                break  # anything else: the general rules below, refusal included
        else:
            return ids
    ids = []
    for i, item in enumerate(found):
        if type(item) is not dict:
            item = dict(item) if isinstance(item, Mapping) else None
        ids.append(_id_of(item, ex, module, page, i))
    return ids


# A step the store may write into SQL as it is (a JSON path label, a JSON key): no quote, dot,
# bracket, space or dollar; all digits is a list index at_path would follow, which SQL would not.
_SQL_STEP = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class RecordShape:
    """A module's records as the database can reduce them itself (store/datasource_records.py):
    the path to the list, the id's path and every kept field's path, as steps. Fields are in
    the order canonical JSON writes keys (sorted)."""

    records: tuple[str, ...] | None
    id_steps: tuple[str, ...]
    fields: tuple[tuple[str, ...], ...]


@lru_cache(maxsize=256)
def _shape(records: str | None, id_field: str, fields: tuple[str, ...]) -> RecordShape | None:
    paths = [*([records] if records is not None else []), id_field, *fields]
    steps = [p.split(".") for p in paths]
    if not all(_SQL_STEP.fullmatch(s) and not s.isdigit() for path in steps for s in path):
        return None
    kept = sorted(tuple(f.split(".")) for f in fields)
    for a, b in zip(kept, kept[1:], strict=False):
        if b[: len(a)] == a:  # "a" and "a.b" both kept: _put merges them, SQL would not
            return None
    return RecordShape(
        records=tuple(records.split(".")) if records is not None else None,
        id_steps=tuple(id_field.split(".")),
        fields=tuple(kept),
    )


def record_shape(module: ServiceModule) -> RecordShape | None:
    """The module's :class:`RecordShape`, or None when its paths are beyond what the database
    reduces exactly as :func:`kept_records` does (a list index, a key SQL would need quoted, a
    field inside another kept field): those records are reduced in Python."""
    return _shape(module.records, module.id_field, tuple(module.fields))


_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` target of a Link header (RFC 8288), or None."""
    if not header:
        return None
    for match in _LINK.finditer(header):
        params = match.group(2)
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"').split():
                return match.group(1).strip()
    return None
