"""The building blocks of a service definition: one model per auth type, plus the dynamic
parameters, scopes, expiry signals, retry settings and account-name source they use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, model_validator

from plugboard.domain.service.fields import (
    _BRACES,
    _PLACEHOLDER_KEY,
    PLACEHOLDER_KEY_PATTERN,
    DisplayName,
    HttpsUrl,
    ParamName,
    ParamType,
    Regex,
    _fail,
    _is_builtin,
    _Model,
    _secret_may_be_absent,
)
from plugboard.errors import ValidationError

_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_AWS_SERVICE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_RESERVED_AUTHORIZE_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    }
)
# Without its own pattern a dynamic value is limited to what is safe anywhere in a URL, so a
# value can never add a path, a query, a user-info part or another host.
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._~-]{0,252})$")


class DynamicParameter(_Model):
    """A value asked from whoever creates a connection, used as ``{key}`` in URLs."""

    key: Annotated[str, Field(pattern=PLACEHOLDER_KEY_PATTERN)]
    display_name: DisplayName
    description: Annotated[str, Field(max_length=500)] = ""
    required: bool = True
    pattern: Regex | None = None
    default: Annotated[str, Field(min_length=1, max_length=253)] | None = None

    @model_validator(mode="after")
    def _default_matches_pattern(self) -> DynamicParameter:
        if self.default is not None and self.pattern is not None:
            if not re.fullmatch(self.pattern, self.default):
                raise _fail("default", "must match the parameter's pattern")
        return self

    def check_value(self, value: str | None) -> str | None:
        """The value to use for this parameter, or raise naming the key and the rule."""
        field = f"dynamic_parameters.{self.key}"
        if value is None or value == "":
            if self.default is not None:
                return self.default
            if self.required:
                raise ValidationError(field, "a value is required")
            return None
        if self.pattern is not None:
            if not re.fullmatch(self.pattern, value):
                raise ValidationError(field, f"must match {self.pattern}")
        elif not _SAFE_VALUE.fullmatch(value):
            raise ValidationError(
                field, "may only hold letters, digits, '.', '_', '~' and '-' (at most 253)"
            )
        return value


class ApiKeyParameter(_Model):
    param_type: ParamType
    name: ParamName
    display_name: DisplayName
    # Some APIs want a scheme in front of the key (`Authorization: Bearer <key>`).
    prefix: Annotated[str, Field(max_length=50)] = ""


class ApiKeyConfig(_Model):
    parameters: Annotated[list[ApiKeyParameter], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _unique_names(self) -> ApiKeyConfig:
        seen: set[tuple[str, str]] = set()
        for i, p in enumerate(self.parameters):
            # Header names are case-insensitive on the wire; query and form names are not.
            key = (p.param_type, p.name.lower() if p.param_type == "header" else p.name)
            if key in seen:
                raise _fail(f"parameters.{i}.name", "parameter names must be unique")
            seen.add(key)
        return self


class BasicConfig(_Model):
    """Only labels for the credential form: Twilio's user name is an Account SID."""

    username_label: DisplayName = "Username"
    password_label: DisplayName = "Password"


class Scope(_Model):
    name: Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[^\s]+$")]
    description: Annotated[str, Field(min_length=1, max_length=300)]
    # Requested whatever the connection selects (e.g. `offline_access`, without which some
    # providers return no refresh token).
    required: bool = False


class ExpirySignals(_Model):
    """Responses, besides a 401, that mean "the access token expired: refresh and retry".

    A response matches when its status is listed and, if ``body_pattern`` is set, its body
    matches the pattern (Slack answers 200 with ``"error": "token_expired"``).
    """

    statuses: Annotated[list[Annotated[int, Field(ge=200, le=599)]], Field(max_length=10)] = []
    body_pattern: Regex | None = None

    def matches(self, status: int, body: str) -> bool:
        if status == 401:
            return True
        if status not in self.statuses:
            return False
        return self.body_pattern is None or re.search(self.body_pattern, body) is not None


class AccountNameSource(_Model):
    """Where the authorized account's display name comes from (SPEC §5).

    ``userinfo``: a request to ``url`` made with the new credential; ``token_response``: the
    token endpoint's JSON answer; ``test_url``: the answer of the service's ``test_url``.
    ``field`` is a dotted path into the JSON; digits index lists (``users.0.email``).
    """

    source: Literal["userinfo", "token_response", "test_url"]
    url: HttpsUrl | None = None
    method: Literal["GET", "POST"] = "GET"
    field: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^.\s]+(\.[^.\s]+)*$")]

    @model_validator(mode="after")
    def _url_only_for_userinfo(self) -> AccountNameSource:
        if self.source == "userinfo" and self.url is None:
            raise _fail("url", "is required when source is userinfo")
        if self.source != "userinfo" and self.url is not None:
            raise _fail("url", "is only allowed when source is userinfo")
        return self


def extract_account_name(data: Any, path: str) -> str | None:
    """Follow a dotted path into decoded JSON; ``None`` when any step is missing or empty."""
    current = data
    for step in path.split("."):
        if isinstance(current, Mapping):
            if step not in current:
                return None
            current = current[step]
        elif isinstance(current, list) and step.isdigit():
            index = int(step)
            if index >= len(current):
                return None
            current = current[index]
        else:
            return None
    if isinstance(current, str | int) and not isinstance(current, bool):
        return str(current).strip() or None
    return None


class RetrySettings(_Model):
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    max_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0


class OAuth1Config(_Model):
    consumer_key: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    consumer_secret: SecretStr | None = None
    request_token_url: HttpsUrl
    authorize_url: HttpsUrl
    access_token_url: HttpsUrl
    param_type: ParamType = "header"
    signature_method: Literal["HMAC-SHA1"] = "HMAC-SHA1"

    @model_validator(mode="after")
    def _credentials(self, info: ValidationInfo) -> OAuth1Config:
        if not _is_builtin(info):
            if not self.consumer_key:
                raise _fail("consumer_key", "is required for a custom service")
            if not _secret_may_be_absent(info) and (
                self.consumer_secret is None or not self.consumer_secret.get_secret_value()
            ):
                raise _fail("consumer_secret", "is required for a custom service")
        return self


class OAuth2Config(_Model):
    client_id: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    client_secret: SecretStr | None = None
    authorize_url: HttpsUrl
    token_url: HttpsUrl
    refresh_url: HttpsUrl | None = None
    revoke_url: HttpsUrl | None = None
    scopes: Annotated[list[Scope], Field(max_length=200)] = []
    scope_separator: Literal[" ", ","] = " "
    grant_type: Literal["authorization_code"] = "authorization_code"
    param_type: ParamType = "header"
    # Where the access token goes: by default `Authorization: Bearer <token>` for header, and
    # `access_token=<token>` for query and form. Shopify wants `X-Shopify-Access-Token: <token>`,
    # Zoho `Authorization: Zoho-oauthtoken <token>`.
    param_name: ParamName | None = None
    token_prefix: Annotated[str, Field(max_length=50)] | None = None
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post"] = (
        "client_secret_post"
    )
    pkce: bool = True
    extra_authorize_params: dict[ParamName, Annotated[str, Field(max_length=500)]] = {}
    expiry_signals: ExpirySignals = ExpirySignals()

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> OAuth2Config:
        if not _is_builtin(info):
            if not self.client_id:
                raise _fail("client_id", "is required for a custom service")
            if not _secret_may_be_absent(info) and (
                self.client_secret is None or not self.client_secret.get_secret_value()
            ):
                raise _fail("client_secret", "is required for a custom service")
        seen: set[str] = set()
        for i, scope in enumerate(self.scopes):
            if scope.name in seen:
                raise _fail(f"scopes.{i}.name", "scope names must be unique")
            if self.scope_separator in scope.name:
                raise _fail(f"scopes.{i}.name", "must not contain the scope separator")
            seen.add(scope.name)
        for name in self.extra_authorize_params:
            if name.lower() in _RESERVED_AUTHORIZE_PARAMS:
                raise _fail(
                    f"extra_authorize_params.{name}",
                    "is set by the OAuth flow itself and may not be overridden",
                )
        return self

    @property
    def effective_refresh_url(self) -> str:
        return self.refresh_url or self.token_url

    @property
    def effective_param_name(self) -> str:
        if self.param_name:
            return self.param_name
        return "Authorization" if self.param_type == "header" else "access_token"

    @property
    def effective_token_prefix(self) -> str:
        """The text before the token, including its trailing space when there is one."""
        if self.token_prefix is not None:
            return f"{self.token_prefix} " if self.token_prefix else ""
        return "Bearer " if self.effective_param_name.lower() == "authorization" else ""


class AwsSigV4Config(_Model):
    aws_service: Annotated[str, Field(pattern=_AWS_SERVICE.pattern)]
    # Either a region (`eu-west-1`) or one `{key}` placeholder naming a dynamic parameter, so a
    # built-in service can leave the region to whoever creates the connection.
    region: Annotated[str, Field(min_length=1, max_length=60)]
    # Temporary credentials from STS carry a session token, sent (and signed) as the
    # X-Amz-Security-Token header. "optional" asks for it without requiring it.
    session_token: Literal["optional", "required", "not_accepted"] = "optional"

    @model_validator(mode="after")
    def _region_shape(self) -> AwsSigV4Config:
        keys = _BRACES.fullmatch(self.region)
        if keys is not None:
            if not _PLACEHOLDER_KEY.fullmatch(keys.group(1)):
                raise _fail("region", f"a placeholder key must match {PLACEHOLDER_KEY_PATTERN}")
        elif not _AWS_REGION.fullmatch(self.region):
            raise _fail("region", "must be an AWS region like eu-west-1, or one {key} placeholder")
        return self
