"""The service definition itself: which block goes with which auth type, the checks that
span blocks (placeholders, hosts, account name), and the helpers connections use."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any

from pydantic import ConfigDict, Field, JsonValue, SecretStr, ValidationInfo, model_validator

from plugboard.domain.models import AuthType
from plugboard.domain.naming import LINK_NAME_PATTERN
from plugboard.domain.origins import origin_pattern_problem
from plugboard.domain.service.blocks import (
    AccountNameSource,
    ApiKeyConfig,
    AwsSigV4Config,
    BasicConfig,
    DynamicParameter,
    OAuth1Config,
    OAuth2Config,
    RetrySettings,
)
from plugboard.domain.service.fields import (
    _BRACES,
    _PLACEHOLDER_PROBE,
    DisplayName,
    HostPattern,
    HttpsUrl,
    _fail,
    _is_builtin,
    _is_stored,
    _Model,
    placeholders_in,
)
from plugboard.domain.service.modules import ServiceModule, check_modules
from plugboard.errors import NotFound, ValidationError

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
    # The lists a datasource can sync (SPEC §8), declared as data (see .modules).
    modules: Annotated[list[ServiceModule], Field(max_length=50)] = []
    # Why connections of this service should no longer be used: they cannot configure a
    # datasource (SPEC §8).
    deprecated: Annotated[str, Field(min_length=1, max_length=300)] | None = None

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
        check_modules(self.modules, keys)
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

    def module(self, name: str) -> ServiceModule:
        for module in self.modules:
            if module.name == name:
                return module
        raise NotFound("module", name, f"service {self.link_name!r} has no module {name!r}")

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
