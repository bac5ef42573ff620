"""The service definition: how to authenticate against one API (SPEC §2).

One model serves both the built-in catalog files and the files users write for custom services
(``plugboard services create --file F.yaml``). The only difference is ``builtin``: a built-in
file ships publicly inside the package, so it may leave the OAuth client credentials out (the
operator supplies them), while a custom service must carry its own.

Every problem is reported as :class:`plugboard.errors.ValidationError` whose ``field`` is the
dotted path inside the file (``oauth2.scopes.2.name``) and whose ``rule`` says what is required.
Secret values (``client_secret``, ``consumer_secret``) are :class:`pydantic.SecretStr`, so they
never show in ``repr()``, and error messages are built from field paths and rules only, never
from the input.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterator, Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import pydantic
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SecretStr,
    StringConstraints,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from plugboard.domain.models import AuthType
from plugboard.domain.naming import DISPLAY_NAME_MAX, LINK_NAME_PATTERN
from plugboard.domain.origins import origin_pattern_problem
from plugboard.errors import ValidationError

__all__ = [
    "AccountNameSource",
    "ApiKeyConfig",
    "ApiKeyParameter",
    "AwsSigV4Config",
    "BasicConfig",
    "DynamicParameter",
    "ExpirySignals",
    "OAuth1Config",
    "OAuth2Config",
    "PLACEHOLDER_KEY_PATTERN",
    "RetrySettings",
    "Scope",
    "ServiceDefinition",
    "check_https_url",
    "extract_account_name",
    "load_service_file",
    "parse_service",
    "placeholders_in",
]

PLACEHOLDER_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,49}$"
_PLACEHOLDER_KEY = re.compile(PLACEHOLDER_KEY_PATTERN)
_BRACES = re.compile(r"\{([^{}]*)\}")
# A placeholder is checked as if it held this label, so `https://{shop}.myshopify.com` passes
# the real-host rule while `https://{host}/x` (a host made only of a placeholder) does not.
_PLACEHOLDER_PROBE = "placeholder"
_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_AWS_SERVICE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
# Names a user could put in a header or parameter: printable, no separators that would let a
# name smuggle a second header or parameter in.
_PARAM_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
_RESERVED_HOST_SUFFIXES = (
    ".localhost",
    ".local",
    ".internal",
    ".test",
    ".invalid",
    ".example",
    ".home.arpa",
)
_RESERVED_HOSTS = frozenset({"localhost", "example.com", "example.net", "example.org"})
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


def _fail(subpath: str, rule: str) -> PydanticCustomError:
    """A pydantic error that carries the path below the model raising it, so the adapter can
    report ``oauth2.scopes.2.name`` rather than just ``oauth2``."""
    return PydanticCustomError("plugboard", "{rule}", {"rule": rule, "subpath": subpath})


# --- URLs and placeholders -------------------------------------------------------------------


def placeholders_in(template: str) -> list[str]:
    """The ``{key}`` placeholders of a template, in order of appearance, without repeats."""
    seen: list[str] = []
    for key in _BRACES.findall(template):
        if key not in seen:
            seen.append(key)
    return seen


def _check_placeholder_syntax(template: str) -> str | None:
    for key in _BRACES.findall(template):
        if not _PLACEHOLDER_KEY.fullmatch(key):
            return (
                f"placeholders must look like {{key}} with key matching {PLACEHOLDER_KEY_PATTERN}"
            )
    if "{" in _BRACES.sub("", template) or "}" in _BRACES.sub("", template):
        return "braces may only be used for {key} placeholders"
    return None


def _host_problem(host: str) -> str | None:
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return "must name a host, not an IP address"
    if "." not in host:
        return "must name a real host with a dotted domain name"
    if host in _RESERVED_HOSTS or any(host.endswith("." + h) for h in _RESERVED_HOSTS):
        return "must name a real host, not an example or local name"
    if host.endswith(_RESERVED_HOST_SUFFIXES):
        return "must name a real host, not an example or local name"
    return None


ANY_HOST = "*"


def check_https_url(url: str, http_hosts: Collection[str] = ()) -> str | None:
    """Why ``url`` is not an https URL with a real host, or ``None`` when it is fine.

    ``{key}`` placeholders are allowed in the host as long as a literal domain remains
    (``https://{shop}.myshopify.com``). This is a sanity rule for definitions; where a request
    may actually go is the outbound guard's decision. Hosts in ``http_hosts`` (an operator's
    explicit development allowance, e.g. a local test provider; ``*`` for any) may be reached
    over plain http and need not be public names.
    """
    syntax = _check_placeholder_syntax(url)
    if syntax:
        return syntax
    lowered = url.lower()
    local_ok = False
    if http_hosts and lowered.startswith(("http://", "https://")):
        try:
            host = (urlsplit(_BRACES.sub(_PLACEHOLDER_PROBE, url)).hostname or "").lower()
        except ValueError:
            host = ""
        local_ok = ANY_HOST in http_hosts or host in {h.lower() for h in http_hosts}
    if not local_ok and not lowered.startswith("https://"):
        return "must be an https:// URL"
    probe = _BRACES.sub(_PLACEHOLDER_PROBE, url)
    try:
        parts = urlsplit(probe)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        return "must be a well-formed https URL"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if parts.fragment:
        return "must not have a #fragment"
    if any(c.isspace() for c in url):
        return "must not contain white space"
    return None if local_ok else _host_problem(host)


def _https_url(value: str, info: ValidationInfo) -> str:
    http_hosts = info.context.get("http_hosts", ()) if info.context else ()
    problem = check_https_url(value, http_hosts)
    if problem:
        raise _fail("", problem)
    return value


HttpsUrl = Annotated[str, Field(max_length=2000), AfterValidator(_https_url)]


# --- building blocks -------------------------------------------------------------------------


class _Model(BaseModel):
    # Frozen so a loaded catalog cannot be changed by whoever holds a reference; extra keys are
    # rejected because in a hand-written file an unknown key is nearly always a typo.
    model_config = ConfigDict(frozen=True, extra="forbid")


# Only display names are stripped: a prefix such as "Bearer " needs its trailing space.
DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=DISPLAY_NAME_MAX)
]
ParamName = Annotated[str, Field(pattern=_PARAM_NAME.pattern)]
ParamType = Literal["query", "form", "header"]


def _is_builtin(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("builtin"))


def _is_stored(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("stored"))


# One entry of ``hosts``: an https URL here; the service model then checks it is an origin
# pattern (see plugboard.domain.origins) once its dynamic parameters are known.
HostPattern = Annotated[str, Field(max_length=300), AfterValidator(_https_url)]


def _valid_regex(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        re.compile(value)
    except re.error as exc:
        raise _fail("", f"must be a valid regular expression ({exc.msg})") from None
    return value


Regex = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_valid_regex)]


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
            if self.consumer_secret is None or not self.consumer_secret.get_secret_value():
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
            if self.client_secret is None or not self.client_secret.get_secret_value():
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


# --- the service -----------------------------------------------------------------------------

_BLOCKS: dict[AuthType, str] = {
    AuthType.API_KEY: "api_key",
    AuthType.BASIC: "basic",
    AuthType.OAUTH1: "oauth1",
    AuthType.OAUTH2: "oauth2",
    AuthType.AWS_SIGV4: "aws_sigv4",
}


def _block_requirements() -> list[JsonValue]:
    """The one-block-per-auth-type rule in JSON Schema terms, for editors using the schema."""
    rules: list[JsonValue] = []
    for auth_type, block in _BLOCKS.items():
        others = [b for b in _BLOCKS.values() if b != block]
        then: dict[str, Any] = {"not": {"anyOf": [{"required": [o]} for o in others]}}
        if auth_type is not AuthType.BASIC:
            then = {"required": [block], **then}
        rules.append(
            {"if": {"properties": {"auth_type": {"const": auth_type.value}}}, "then": then}
        )
    return rules


class ServiceDefinition(_Model):
    """How to authenticate against one API: a catalog file or a custom service."""

    model_config = ConfigDict(
        title="Plugboard service definition",
        json_schema_extra={"allOf": _block_requirements()},
    )

    name: DisplayName
    link_name: Annotated[str, Field(pattern=LINK_NAME_PATTERN)]
    category: DisplayName = "Other"
    description: Annotated[str, Field(max_length=1000)] = ""
    base_url: HttpsUrl | None = None
    # Origins besides base_url's that receive the credential (`https://uploads.github.com`);
    # a leading `{placeholder}` label stands for one DNS label (`https://{bucket}.s3...`).
    hosts: Annotated[list[HostPattern], Field(max_length=50)] = []
    auth_type: AuthType
    api_key: ApiKeyConfig | None = None
    basic: BasicConfig | None = None
    oauth1: OAuth1Config | None = None
    oauth2: OAuth2Config | None = None
    aws_sigv4: AwsSigV4Config | None = None
    dynamic_parameters: Annotated[list[DynamicParameter], Field(max_length=20)] = []
    allow_user_level: bool = False
    account_name: AccountNameSource | None = None
    test_url: HttpsUrl | None = None
    retry: RetrySettings | None = None

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> ServiceDefinition:
        block = _BLOCKS[self.auth_type]
        for other in _BLOCKS.values():
            if other != block and getattr(self, other) is not None:
                raise _fail(other, f"is not allowed when auth_type is {self.auth_type.value}")
        if self.auth_type is not AuthType.BASIC and getattr(self, block) is None:
            raise _fail(block, f"is required when auth_type is {self.auth_type.value}")

        keys: dict[str, int] = {}
        for i, param in enumerate(self.dynamic_parameters):
            if param.key in keys:
                raise _fail(f"dynamic_parameters.{i}.key", "keys must be unique")
            keys[param.key] = i
        for path, template in self.templates():
            for key in placeholders_in(template):
                if key not in keys:
                    raise _fail(path, f"uses {{{key}}}, which is not a declared dynamic parameter")
        for i, entry in enumerate(self.hosts):
            # Dynamic parameters are filled in per connection; what is left are wildcards.
            probe = _BRACES.sub(
                lambda m: _PLACEHOLDER_PROBE if m.group(1) in keys else m.group(0), entry
            )
            problem = origin_pattern_problem(probe)
            if problem:
                raise _fail(f"hosts.{i}", problem)
        if self.base_url is None and not _is_builtin(info) and not _is_stored(info):
            raise _fail(
                "base_url",
                "is required for a custom service (its credential is only sent to this origin)",
            )

        if self.account_name is not None:
            source = self.account_name.source
            if source == "test_url" and self.test_url is None:
                raise _fail("account_name.source", "test_url needs the service's test_url")
            if source == "token_response" and self.auth_type not in (
                AuthType.OAUTH1,
                AuthType.OAUTH2,
            ):
                raise _fail("account_name.source", "token_response needs an OAuth auth type")
        return self

    def templates(self) -> Iterator[tuple[str, str]]:
        """Every (field path, value) that may hold ``{key}`` placeholders."""
        if self.base_url:
            yield "base_url", self.base_url
        if self.test_url:
            yield "test_url", self.test_url
        if self.account_name is not None and self.account_name.url:
            yield "account_name.url", self.account_name.url
        if self.oauth1 is not None:
            for name in ("request_token_url", "authorize_url", "access_token_url"):
                yield f"oauth1.{name}", getattr(self.oauth1, name)
        if self.oauth2 is not None:
            for name in ("authorize_url", "token_url", "refresh_url", "revoke_url"):
                value = getattr(self.oauth2, name)
                if value:
                    yield f"oauth2.{name}", value
        if self.aws_sigv4 is not None and self.aws_sigv4.region.startswith("{"):
            yield "aws_sigv4.region", self.aws_sigv4.region

    def resolve_dynamic_values(self, given: Mapping[str, str]) -> dict[str, str]:
        """The values to substitute for a connection: defaults filled in, each value checked,
        undeclared keys refused."""
        declared = {p.key: p for p in self.dynamic_parameters}
        for key in given:
            if key not in declared:
                raise ValidationError(
                    f"dynamic_parameters.{key}", "is not a dynamic parameter of this service"
                )
        resolved: dict[str, str] = {}
        for key, param in declared.items():
            value = param.check_value(given.get(key))
            if value is not None:
                resolved[key] = value
        return resolved

    def with_oauth_client(
        self, client_id: str, client_secret: str | None = None
    ) -> ServiceDefinition:
        """A copy carrying the operator's OAuth client (built-in files ship without one)."""
        if self.oauth2 is not None:
            secret = SecretStr(client_secret) if client_secret is not None else None
            new = self.oauth2.model_copy(update={"client_id": client_id, "client_secret": secret})
            return self.model_copy(update={"oauth2": new})
        if self.oauth1 is not None:
            secret = SecretStr(client_secret) if client_secret is not None else None
            new1 = self.oauth1.model_copy(
                update={"consumer_key": client_id, "consumer_secret": secret}
            )
            return self.model_copy(update={"oauth1": new1})
        raise ValidationError("auth_type", "only OAuth services have a client")

    def to_data(self, *, reveal_secrets: bool = False) -> dict[str, Any]:
        """A plain mapping that :func:`parse_service` reads back into an equal definition.

        Secrets are left out unless ``reveal_secrets`` (for the store, which seals them).
        """
        data = self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        data["auth_type"] = self.auth_type.value
        data["name"] = self.name
        data["link_name"] = self.link_name
        for block, field in (("oauth2", "client_secret"), ("oauth1", "consumer_secret")):
            config = getattr(self, block)
            if config is None:
                continue
            secret: SecretStr | None = getattr(config, field)
            section = data.setdefault(block, {})
            if reveal_secrets and secret is not None:
                section[field] = secret.get_secret_value()
            else:
                section.pop(field, None)
        return data


# --- parsing ---------------------------------------------------------------------------------


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
) -> ServiceDefinition:
    """Validate a decoded service file. ``builtin`` allows leaving the OAuth client out;
    ``http_hosts`` are hosts the operator allows over plain http (see check_https_url);
    ``stored`` reads a custom service from the store, which may predate a required
    ``base_url`` (such a service loads, but no credential of it is sent anywhere)."""
    if not isinstance(data, Mapping):
        raise ValidationError("file", "must be a mapping of service fields")
    context = {"builtin": builtin, "http_hosts": frozenset(http_hosts), "stored": stored}
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
