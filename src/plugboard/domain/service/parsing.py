"""Reading a service file: YAML to mapping to :class:`ServiceDefinition`, with pydantic's
errors turned into :class:`plugboard.errors.ValidationError` naming the dotted field path."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import pydantic
import yaml

from plugboard.domain.service.definition import ServiceDefinition
from plugboard.errors import ValidationError


def _path(loc: tuple[int | str, ...], subpath: str) -> str:
    parts = [str(p) for p in loc]
    if subpath:
        parts.append(subpath)
    return ".".join(parts) or "file"


def _rule(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "plugboard":
        return str(ctx["rule"])
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "model_type" or kind == "model_attributes_type":
        return "must be a mapping of fields"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return message[0].lower() + message[1:] if message else kind


def from_pydantic(exc: pydantic.ValidationError) -> ValidationError:
    """Turn pydantic's error into ours: the first problem as field/rule, all of them in the
    message. Built from locations and rules only, so no input value (a secret) can leak."""
    problems: list[tuple[str, str]] = []
    for error in exc.errors(include_input=False, include_url=False):
        ctx = error.get("ctx") or {}
        subpath = str(ctx.get("subpath", "")) if error["type"] == "plugboard" else ""
        problems.append((_path(tuple(error["loc"]), subpath), _rule(error)))
    field, rule = problems[0]
    message = "; ".join(f"{f}: {r}" for f, r in problems)
    return ValidationError(field, rule, message)


def parse_service(
    data: Mapping[str, Any],
    *,
    builtin: bool,
    http_hosts: Collection[str] = (),
    stored: bool = False,
    installed: bool = False,
) -> ServiceDefinition:
    """Validate a decoded service file. ``builtin`` allows leaving the OAuth client out;
    ``http_hosts`` are hosts the operator allows over plain http (see check_https_url);
    ``stored`` reads a custom service from the store, which may predate a required
    ``base_url`` (such a service loads, but no credential of it is sent anywhere);
    ``installed`` reads a custom service from a package, which never carries the OAuth
    client's secret."""
    if not isinstance(data, Mapping):
        raise ValidationError("file", "must be a mapping of service fields")
    context = {
        "builtin": builtin,
        "http_hosts": frozenset(http_hosts),
        "stored": stored,
        "installed": installed,
    }
    try:
        return ServiceDefinition.model_validate(dict(data), context=context)
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc) from None


def load_service_file(
    text: str, *, builtin: bool, http_hosts: Collection[str] = ()
) -> ServiceDefinition:
    """Parse a YAML service file (``plugboard services lint FILE`` runs exactly this)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ValidationError("file", f"must be valid YAML (syntax error{where})") from None
    if not isinstance(data, Mapping):
        raise ValidationError("file", "must be a YAML mapping of service fields")
    return parse_service(data, builtin=builtin, http_hosts=http_hosts)
