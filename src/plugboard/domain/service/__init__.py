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

from plugboard.domain.service.blocks import (
    AccountNameSource,
    ApiKeyConfig,
    ApiKeyParameter,
    AwsSigV4Config,
    BasicConfig,
    DynamicParameter,
    ExpirySignals,
    OAuth1Config,
    OAuth2Config,
    RetrySettings,
    Scope,
    extract_account_name,
)
from plugboard.domain.service.definition import ServiceDefinition
from plugboard.domain.service.fields import (
    ANY_HOST,
    PLACEHOLDER_KEY_PATTERN,
    check_https_url,
    placeholders_in,
)
from plugboard.domain.service.parsing import from_pydantic, load_service_file, parse_service

__all__ = [
    "ANY_HOST",
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
    "from_pydantic",
    "load_service_file",
    "parse_service",
    "placeholders_in",
]
