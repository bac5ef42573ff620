"""Which fields of a custom service may be edited (SPEC §2), as data, and the check.

Every field of :class:`~plugboard.domain.service.ServiceDefinition` has exactly one rule per
auth type; a test fails when a field is added to the model without a rule here, so nothing
becomes editable by accident. Fields the SPEC table does not mention are decided in
``docs/services.md`` ("Editing a custom service").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from plugboard.domain.models import AuthType
from plugboard.domain.service import (
    ApiKeyConfig,
    AwsSigV4Config,
    BasicConfig,
    OAuth1Config,
    OAuth2Config,
    ServiceDefinition,
)
from plugboard.errors import ValidationError

__all__ = ["EDITING_TABLE", "EditKind", "FieldRule", "check_service_edit", "rules_for"]


class EditKind(enum.StrEnum):
    EDITABLE = "editable"
    NEVER = "never"  # never editable, named so in the SPEC table
    FIXED = "fixed"  # not in the editable list, so rejected
    ADD_ONLY = "add_only"  # a list: items may be added; existing ones stay exactly as they are
    ADD_OR_EDIT = "add_or_edit"  # a list: items may be added or edited, never deleted
    ENABLE_ONLY = "enable_only"  # a flag that may be switched on but not off
    ADD_OPTIONAL = "add_optional"  # dynamic parameters, see _check_dynamic_parameters
    KEEP_NAMES = "keep_names"  # a list of named items: edit or add, never remove a name


@dataclass(frozen=True, slots=True)
class FieldRule:
    kind: EditKind
    rule: str  # what the error says when the edit breaks the rule

    @property
    def editable(self) -> bool:
        return self.kind not in (EditKind.NEVER, EditKind.FIXED)


def _editable() -> FieldRule:
    return FieldRule(EditKind.EDITABLE, "")


def _fixed(what: str) -> FieldRule:
    return FieldRule(EditKind.FIXED, f"{what} cannot be edited; create a new service instead")


_COMMON: dict[str, FieldRule] = {
    "name": _editable(),
    "link_name": FieldRule(EditKind.NEVER, "the link name of a service can never be changed"),
    "auth_type": FieldRule(
        EditKind.NEVER,
        "the authentication type of a service can never be changed; create a new service",
    ),
    # Presentation only: no credential depends on them.
    "category": _editable(),
    "description": _editable(),
    # Where credentials are sent. Not in the SPEC's editable list, so it stays as created.
    # A service stored before base_url was required may be given one: until then no origin
    # receives its credential (see check_service_edit).
    "base_url": _fixed("the base URL"),
    # The other origins that receive the credential: fixed like the base URL.
    "hosts": _fixed("the hosts that receive the credential"),
    "dynamic_parameters": FieldRule(
        EditKind.ADD_OPTIONAL,
        "existing dynamic parameters may not be deleted and only their display name and "
        "description may change; a new one must be optional or have a default",
    ),
    "allow_user_level": FieldRule(
        EditKind.ENABLE_ONLY,
        "logged-in-user connections may be allowed later but not disallowed, because existing "
        "user-level connections would be stranded",
    ),
    # How Plugboard checks a credential and names the account: diagnostics, not credentials.
    "account_name": _editable(),
    "test_url": _editable(),
    "retry": _editable(),
    # Datasources use a module by name: a module may be edited or added, never removed.
    "modules": FieldRule(
        EditKind.KEEP_NAMES,
        "existing modules may be edited but not removed or renamed (datasources use them by "
        "name); new modules may be added",
    ),
    # A deprecation (and its reason) may be set and lifted: it only stops new configurations.
    "deprecated": _editable(),
}

_BLOCK_RULES: dict[AuthType, dict[str, FieldRule]] = {
    AuthType.BASIC: {
        # Labels of the credential form, like an API key parameter's display name.
        "basic.username_label": _editable(),
        "basic.password_label": _editable(),
    },
    AuthType.API_KEY: {
        "api_key.parameters": FieldRule(
            EditKind.ADD_OR_EDIT,
            "existing parameters may be edited but not deleted; new parameters may be added",
        ),
    },
    AuthType.OAUTH1: {
        "oauth1.consumer_key": _editable(),
        "oauth1.consumer_secret": _editable(),
        "oauth1.request_token_url": _editable(),
        "oauth1.authorize_url": _editable(),
        "oauth1.access_token_url": _editable(),
        "oauth1.param_type": _editable(),
        "oauth1.signature_method": _fixed("the signature method"),
    },
    AuthType.OAUTH2: {
        "oauth2.client_id": _editable(),
        "oauth2.client_secret": _editable(),
        # How the client secret is presented belongs with the secret.
        "oauth2.token_endpoint_auth_method": _editable(),
        "oauth2.authorize_url": _editable(),
        # Part of the authorize request, as a query in the authorize URL would be.
        "oauth2.extra_authorize_params": _editable(),
        "oauth2.token_url": _editable(),
        "oauth2.refresh_url": _editable(),
        "oauth2.param_type": _editable(),
        # Where the token goes is part of the param type setting.
        "oauth2.param_name": _editable(),
        "oauth2.token_prefix": _editable(),
        # When to refresh: behaviour around the credential, not the credential.
        "oauth2.expiry_signals": _editable(),
        "oauth2.scopes": FieldRule(
            EditKind.ADD_ONLY,
            "existing scopes may not be edited or deleted; only new scopes may be added",
        ),
        "oauth2.grant_type": FieldRule(
            EditKind.NEVER, "the grant type of an OAuth 2 service can never be changed"
        ),
        "oauth2.revoke_url": _fixed("the revoke URL"),
        "oauth2.pkce": _fixed("PKCE"),
        "oauth2.scope_separator": _fixed("the scope separator"),
    },
    AuthType.AWS_SIGV4: {
        "aws_sigv4.aws_service": _editable(),
        "aws_sigv4.region": _editable(),
        "aws_sigv4.session_token": _fixed("whether a session token is accepted"),
    },
}

EDITING_TABLE: Mapping[AuthType, Mapping[str, FieldRule]] = MappingProxyType(
    {t: MappingProxyType({**_COMMON, **_BLOCK_RULES[t]}) for t in AuthType}
)
"""For each auth type, every field (dotted, as in the file) and its editing rule."""

_BLOCK_MODELS: dict[str, type[BaseModel]] = {
    "api_key": ApiKeyConfig,
    "basic": BasicConfig,
    "oauth1": OAuth1Config,
    "oauth2": OAuth2Config,
    "aws_sigv4": AwsSigV4Config,
}


def rules_for(auth_type: AuthType) -> Mapping[str, FieldRule]:
    return EDITING_TABLE[auth_type]


def _value(service: ServiceDefinition, field: str) -> Any:
    if "." not in field:
        return getattr(service, field)
    block, name = field.split(".", 1)
    config = getattr(service, block)
    if config is None:
        # A Basic service may omit its (all-default) block; compare against the defaults.
        config = _BLOCK_MODELS[block]()
    return getattr(config, name)


def _check_scopes(field: str, rule: FieldRule, old: list[Any], new: list[Any]) -> None:
    new_by_name = {s.name: s for s in new}
    for scope in old:
        if new_by_name.get(scope.name) != scope:
            raise ValidationError(field, rule.rule)


def _check_parameters(field: str, rule: FieldRule, old: list[Any], new: list[Any]) -> None:
    # Parameters are matched by position: the file has no other identity for them, and an
    # edit may rename one.
    if len(new) < len(old):
        raise ValidationError(field, rule.rule)


def _check_names_kept(field: str, rule: FieldRule, old: list[Any], new: list[Any]) -> None:
    if not {item.name for item in old} <= {item.name for item in new}:
        raise ValidationError(field, rule.rule)


def _check_dynamic_parameters(field: str, rule: FieldRule, old: list[Any], new: list[Any]) -> None:
    new_by_key = {p.key: p for p in new}
    old_keys = {p.key for p in old}
    for param in old:
        replacement = new_by_key.get(param.key)
        if replacement is None:
            raise ValidationError(field, rule.rule)
        fixed = ("required", "pattern", "default")
        if any(getattr(param, a) != getattr(replacement, a) for a in fixed):
            raise ValidationError(field, rule.rule)
    for param in new:
        if param.key not in old_keys and param.required and param.default is None:
            raise ValidationError(field, rule.rule)


def check_service_edit(old: ServiceDefinition, new: ServiceDefinition) -> list[str]:
    """The fields that differ between ``old`` and ``new``, in table order.

    Raises :class:`ValidationError` naming the first change the editing table forbids. The
    link name and auth type are checked first, so changing the auth type is reported as that
    and not as a missing configuration block.
    """
    table = EDITING_TABLE[old.auth_type]
    for field in ("link_name", "auth_type"):
        if getattr(old, field) != getattr(new, field):
            raise ValidationError(field, table[field].rule)

    changed: list[str] = []
    for field, rule in table.items():
        before, after = _value(old, field), _value(new, field)
        if before == after:
            continue
        if field == "base_url" and before is None:
            changed.append(field)
            continue
        if rule.kind in (EditKind.NEVER, EditKind.FIXED):
            raise ValidationError(field, rule.rule)
        if rule.kind is EditKind.ADD_ONLY:
            _check_scopes(field, rule, before, after)
        elif rule.kind is EditKind.ADD_OR_EDIT:
            _check_parameters(field, rule, before, after)
        elif rule.kind is EditKind.ADD_OPTIONAL:
            _check_dynamic_parameters(field, rule, before, after)
        elif rule.kind is EditKind.KEEP_NAMES:
            _check_names_kept(field, rule, before, after)
        elif rule.kind is EditKind.ENABLE_ONLY and before and not after:
            raise ValidationError(field, rule.rule)
        changed.append(field)
    return changed
