"""The custom service form: its inputs are named by the dotted path of the service file's
field (``oauth2.client_id``, ``api_key.parameters.0.name``), so an error of the usecase lands
next to its input. Which inputs are read-only when editing comes from the editing table
(``domain/service_edits.py``), with its reason."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from plugboard.domain.models import AuthType
from plugboard.domain.service_edits import EditKind, rules_for
from plugboard.server.console.web import Form

__all__ = ["AUTH_TYPES", "FieldState", "definition_from_form", "field_states", "rows"]

AUTH_TYPES = {
    "api_key": "API key",
    "basic": "Basic",
    "oauth1": "OAuth 1",
    "oauth2": "OAuth 2",
    "aws_sigv4": "AWS Signature V4",
}
PARAM_TYPES = ("header", "query", "form")
# Blank rows offered for adding list items (API key parameters, scopes, dynamic parameters).
EXTRA_ROWS = 2
_URLS = {
    "oauth1": ("request_token_url", "authorize_url", "access_token_url"),
    "oauth2": ("authorize_url", "token_url", "refresh_url", "revoke_url"),
}


@dataclass(frozen=True, slots=True)
class FieldState:
    """How an input behaves when editing: read-only with a reason, or with a hint."""

    readonly: bool
    reason: str


def field_states(auth_type: str, editing: bool) -> dict[str, FieldState]:
    """Per dotted field of this auth type: read-only (never or not editable) with the reason,
    or editable with the rule as a hint (lists that only grow, flags only switched on)."""
    if not editing:
        return {}
    states: dict[str, FieldState] = {}
    for field, rule in rules_for(AuthType(auth_type)).items():
        states[field] = FieldState(not rule.editable, rule.rule)
    # Secrets are write-only: they are never shown, so an edit must carry them again.
    for secret in ("oauth2.client_secret", "oauth1.consumer_secret"):
        states[secret] = FieldState(
            False, "write-only: type the secret again to save (it is never shown)"
        )
    return states


def is_add_only(auth_type: str, field: str) -> bool:
    rule = rules_for(AuthType(auth_type)).get(field)
    return rule is not None and rule.kind in (EditKind.ADD_ONLY, EditKind.ADD_OPTIONAL)


def rows(items: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any], bool]]:
    """List items plus blank rows to add: (index, values, existing)."""
    out = [(i, item, True) for i, item in enumerate(items)]
    out += [(len(items) + j, {}, False) for j in range(EXTRA_ROWS)]
    return out


def _indexed(form: Form, prefix: str, names: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows ``prefix.N.name`` in index order; a row with every input empty is dropped."""
    found: dict[int, dict[str, str]] = {}
    for key, value in form.pairs:
        if not key.startswith(prefix + "."):
            continue
        index, _, name = key.removeprefix(prefix + ".").partition(".")
        if index.isdigit() and name in names:
            found.setdefault(int(index), {})[name] = value.strip()
    return [found[i] for i in sorted(found) if any(found[i].values())]


def _text(form: Form, name: str) -> str | None:
    value = form.get(name).strip()
    return value or None


def definition_from_form(
    form: Form, existing: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The service file the form describes, and the typed values to show again (never a
    secret). When editing, fields that can never change are taken from ``existing``."""
    auth_type = (existing or {}).get("auth_type") or form.get("auth_type")
    data: dict[str, Any] = {
        "name": form.get("name").strip(),
        "link_name": (existing or {}).get("link_name") or form.get("link_name").strip(),
        "auth_type": auth_type,
        "category": _text(form, "category") or "Other",
    }
    for name in ("description", "base_url"):
        if value := _text(form, name):
            data[name] = value
    if form.has("allow_user_level"):
        data["allow_user_level"] = True
    dynamic = _indexed(form, "dynamic_parameters", ("key", "display_name", "default", "optional"))
    if dynamic:
        data["dynamic_parameters"] = [
            {"key": d.get("key", ""), "display_name": d.get("display_name") or d.get("key", ""),
             **({"default": d["default"]} if d.get("default") else {}),
             **({"required": False} if d.get("optional") else {})}
            for d in dynamic
        ]  # fmt: skip
    block: dict[str, Any] = {}
    if auth_type == "api_key":
        block["parameters"] = _indexed(
            form, "api_key.parameters", ("param_type", "name", "display_name")
        )
    elif auth_type == "basic":
        for label in ("username_label", "password_label"):
            if value := _text(form, f"basic.{label}"):
                block[label] = value
    elif auth_type in ("oauth1", "oauth2"):
        key, secret = (
            ("client_id", "client_secret") if auth_type == "oauth2" else
            ("consumer_key", "consumer_secret")
        )  # fmt: skip
        block[key] = form.get(f"{auth_type}.{key}").strip()
        if form.get(f"{auth_type}.{secret}"):
            block[secret] = form.get(f"{auth_type}.{secret}")
        for url in _URLS[auth_type]:
            if value := _text(form, f"{auth_type}.{url}"):
                block[url] = value
        block["param_type"] = form.get(f"{auth_type}.param_type") or "header"
        if auth_type == "oauth2":
            block["scopes"] = [
                {"name": s.get("name", ""), "description": s.get("description") or s.get("name")}
                for s in _indexed(form, "oauth2.scopes", ("name", "description"))
            ]
    elif auth_type == "aws_sigv4":
        block = {
            "aws_service": form.get("aws_sigv4.aws_service").strip(),
            "region": form.get("aws_sigv4.region").strip(),
        }
    if auth_type in AUTH_TYPES and (block or auth_type != "basic"):
        data[auth_type] = block
    shown = {**data, "auth_type": auth_type}
    if auth_type in ("oauth1", "oauth2"):
        shown[auth_type] = {k: v for k, v in block.items() if not k.endswith("secret")}
    if existing is not None:
        data = _merged(existing, data)
        _keep_fixed(data, existing)
    return data, shown


# What the form edits: anything else of a stored definition (a token endpoint's auth method,
# an account-name source, retry settings …) is kept as it is.
_FORM_TOP = ("name", "category", "description", "base_url", "allow_user_level",
             "dynamic_parameters")  # fmt: skip
_FORM_BLOCK = {
    "api_key": ("parameters",),
    "basic": ("username_label", "password_label"),
    "oauth1": ("consumer_key", "consumer_secret", *_URLS["oauth1"], "param_type"),
    "oauth2": ("client_id", "client_secret", *_URLS["oauth2"], "param_type", "scopes"),
    "aws_sigv4": ("aws_service", "region"),
}


def _merged(existing: dict[str, Any], posted: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(existing)
    for key in _FORM_TOP:
        if key in posted:
            data[key] = posted[key]
        else:
            data.pop(key, None)
    _merge_items(data, existing, "dynamic_parameters", "key")
    auth_type = existing["auth_type"]
    block = data.setdefault(auth_type, {}) if auth_type in posted else data.get(auth_type)
    if block is not None:
        for key in _FORM_BLOCK[auth_type]:
            if key in posted.get(auth_type, {}):
                block[key] = posted[auth_type][key]
            else:
                block.pop(key, None)
        _merge_items(block, existing.get(auth_type, {}), "parameters", None)
        _merge_items(block, existing.get(auth_type, {}), "scopes", None)
    return data


def _merge_items(
    data: dict[str, Any], existing: dict[str, Any], name: str, key: str | None
) -> None:
    """Posted list items over the stored ones (by ``key``, else by position), so what the
    form does not show of an item (a parameter's prefix, a scope's `required`, a dynamic
    parameter's pattern) stays as stored."""
    stored = existing.get(name) or []
    posted = data.get(name)
    if not stored or not posted:
        return
    by_key = {item.get(key): item for item in stored} if key else {}
    merged = []
    for i, item in enumerate(posted):
        base = by_key.get(item.get(key)) if key else (stored[i] if i < len(stored) else None)
        merged.append({**base, **item} if base else item)
    data[name] = merged


def _keep_fixed(data: dict[str, Any], existing: dict[str, Any]) -> None:
    """Fields the table never lets change are taken from the stored definition, whatever was
    posted (a base URL may still be given to a service stored without one)."""
    auth_type = existing["auth_type"]
    for field, rule in rules_for(AuthType(auth_type)).items():
        if rule.editable:
            continue
        head, _, tail = field.partition(".")
        if not tail:
            if field == "base_url" and head not in existing:
                continue
            if head in existing:
                data[head] = existing[head]
            else:
                data.pop(head, None)
        elif isinstance(data.get(head), dict):
            stored = existing.get(head, {})
            if tail in stored:
                data[head][tail] = stored[tail]
            else:
                data[head].pop(tail, None)
