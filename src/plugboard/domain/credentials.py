"""The credential an authorization holds, one dataclass per auth type (SPEC §2, §5).

A credential travels sealed in ``accounts.credential_sealed`` as the JSON that
:func:`credential_to_data` makes; every secret field is left out of ``repr`` so a credential
that ends up in a log line or a traceback shows only its type and non-secret fields.

:func:`check_credential` checks a credential against the service it is for (the type matches,
every API key parameter has a value, the session-token rule of an AWS service, every entered
value can be sent: :func:`check_entered_value`); its errors name fields, never values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plugboard.domain.models import AuthType
from plugboard.domain.service import ServiceDefinition
from plugboard.errors import ValidationError

__all__ = [
    "ApiKeyCredential",
    "AwsCredential",
    "BasicCredential",
    "Credential",
    "OAuth1Credential",
    "OAuth2Credential",
    "auth_type_of",
    "check_credential",
    "check_entered_value",
    "check_sendable",
    "credential_from_data",
    "credential_to_data",
]


@dataclass(frozen=True, slots=True)
class ApiKeyCredential:
    """A value for each API key parameter, keyed by the parameter's name."""

    values: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class BasicCredential:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class OAuth1Credential:
    token: str = field(repr=False)
    token_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class OAuth2Credential:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    token_type: str = "Bearer"
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class AwsCredential:
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


Credential = (
    ApiKeyCredential | BasicCredential | OAuth1Credential | OAuth2Credential | AwsCredential
)

_TYPES: dict[type[Any], AuthType] = {
    ApiKeyCredential: AuthType.API_KEY,
    BasicCredential: AuthType.BASIC,
    OAuth1Credential: AuthType.OAUTH1,
    OAuth2Credential: AuthType.OAUTH2,
    AwsCredential: AuthType.AWS_SIGV4,
}


def auth_type_of(credential: Credential) -> AuthType:
    return _TYPES[type(credential)]


def credential_to_data(credential: Credential) -> dict[str, Any]:
    """The JSON-ready form stored sealed (``type`` says which dataclass reads it back)."""
    kind = auth_type_of(credential).value
    if isinstance(credential, ApiKeyCredential):
        return {"type": kind, "api_key": dict(credential.values)}
    if isinstance(credential, BasicCredential):
        return {"type": kind, "username": credential.username, "password": credential.password}
    if isinstance(credential, OAuth1Credential):
        return {"type": kind, "token": credential.token, "token_secret": credential.token_secret}
    if isinstance(credential, OAuth2Credential):
        data: dict[str, Any] = {
            "type": kind,
            "access_token": credential.access_token,
            "token_type": credential.token_type,
        }
        if credential.refresh_token is not None:
            data["refresh_token"] = credential.refresh_token
        if credential.scope is not None:
            data["scope"] = credential.scope
        return data
    data = {"type": kind, "access_key": credential.access_key, "secret_key": credential.secret_key}
    if credential.session_token is not None:
        data["session_token"] = credential.session_token
    return data


def _text(data: Mapping[str, Any], name: str, *, optional: bool = False) -> Any:
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ValidationError(f"credential.{name}", "must be a non-empty string")
    return value


def credential_from_data(data: Mapping[str, Any]) -> Credential:
    """Read back what :func:`credential_to_data` wrote (also the input of ``store_credential``)."""
    try:
        kind = AuthType(str(data.get("type")))
    except ValueError:
        raise ValidationError(
            "credential.type", f"must be one of {', '.join(t.value for t in AuthType)}"
        ) from None
    if kind is AuthType.API_KEY:
        values = data.get("api_key")
        if not isinstance(values, Mapping) or not values:
            raise ValidationError("credential.api_key", "must map parameter names to values")
        for name, value in values.items():
            if not isinstance(name, str) or not isinstance(value, str) or not value:
                raise ValidationError(f"credential.api_key.{name}", "must be a non-empty string")
        return ApiKeyCredential(dict(values))
    if kind is AuthType.BASIC:
        return BasicCredential(_text(data, "username"), _text(data, "password"))
    if kind is AuthType.OAUTH1:
        return OAuth1Credential(_text(data, "token"), _text(data, "token_secret"))
    if kind is AuthType.OAUTH2:
        token_type = data.get("token_type") or "Bearer"
        return OAuth2Credential(
            _text(data, "access_token"),
            _text(data, "refresh_token", optional=True),
            str(token_type),
            _text(data, "scope", optional=True),
        )
    return AwsCredential(
        _text(data, "access_key"),
        _text(data, "secret_key"),
        _text(data, "session_token", optional=True),
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_entered_value(field: str, value: str, *, ascii_only: bool = False) -> str:
    """``value`` when it can be sent as typed; else ValidationError naming ``field`` and the
    rule -- never the value. A control character would break (or inject into) the header it
    travels in; surrounding whitespace is a paste accident that would fail at every call; a
    header value must be ASCII (``ascii_only``)."""
    if _CONTROL.search(value):
        raise ValidationError(
            field, "control_characters", f"{field}: must not contain control characters"
        )
    if value != value.strip():
        raise ValidationError(
            field, "surrounding_whitespace", f"{field}: must not start or end with whitespace"
        )
    if ascii_only and not value.isascii():
        raise ValidationError(field, "ascii", f"{field}: must be ASCII (it is sent in a header)")
    return value


def check_sendable(service: ServiceDefinition, credential: Credential) -> None:
    """Raise ValidationError unless every entered value of ``credential`` can be sent: API key
    values, Basic username and password, AWS keys (:func:`check_entered_value`)."""
    if isinstance(credential, ApiKeyCredential):
        headers = (
            {p.name for p in service.api_key.parameters if p.param_type == "header"}
            if service.api_key is not None
            else set()
        )
        for name, value in credential.values.items():
            check_entered_value(f"credential.api_key.{name}", value, ascii_only=name in headers)
    elif isinstance(credential, BasicCredential):
        check_entered_value("credential.username", credential.username)
        check_entered_value("credential.password", credential.password)
    elif isinstance(credential, AwsCredential):
        check_entered_value("credential.access_key", credential.access_key, ascii_only=True)
        check_entered_value("credential.secret_key", credential.secret_key, ascii_only=True)
        if credential.session_token is not None:
            check_entered_value(
                "credential.session_token", credential.session_token, ascii_only=True
            )


def check_credential(service: ServiceDefinition, credential: Credential) -> None:
    """Raise ValidationError unless ``credential`` can authenticate against ``service``."""
    kind = auth_type_of(credential)
    if kind is not service.auth_type:
        raise ValidationError(
            "credential.type",
            f"service {service.link_name!r} uses {service.auth_type.value}, not {kind.value}",
        )
    check_sendable(service, credential)
    if isinstance(credential, ApiKeyCredential):
        assert service.api_key is not None
        names = {p.name for p in service.api_key.parameters}
        for name in credential.values:
            if name not in names:
                raise ValidationError(
                    f"credential.api_key.{name}", "is not a parameter of this service"
                )
        for name in sorted(names):
            if name not in credential.values:
                raise ValidationError(f"credential.api_key.{name}", "a value is required")
    elif isinstance(credential, BasicCredential):
        if ":" in credential.username:
            raise ValidationError("credential.username", "must not contain ':'")
    elif isinstance(credential, AwsCredential):
        assert service.aws_sigv4 is not None
        rule = service.aws_sigv4.session_token
        if rule == "required" and credential.session_token is None:
            raise ValidationError("credential.session_token", "is required by this service")
        if rule == "not_accepted" and credential.session_token is not None:
            raise ValidationError("credential.session_token", "is not accepted by this service")
