"""The httpx2.Auth for a credential that needs no refresh: API key, Basic, AWS SigV4.

(OAuth credentials need a token source or a consumer registration; the invoker builds those.)
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx2

from plugboard.auth.apikey import ApiKeyAuth, ApiKeyParameter, Placement
from plugboard.auth.basic import BasicAuth
from plugboard.auth.sigv4 import SigV4Auth
from plugboard.domain.credentials import ApiKeyCredential, AwsCredential, BasicCredential
from plugboard.domain.service import ServiceDefinition
from plugboard.errors import ValidationError


def aws_region(service: ServiceDefinition, dynamic_values: Mapping[str, str]) -> str:
    """The region, filled from the connection when the service names a `{placeholder}`."""
    assert service.aws_sigv4 is not None
    region = service.aws_sigv4.region
    if region.startswith("{"):
        key = region[1:-1]
        if key not in dynamic_values:
            raise ValidationError(f"dynamic_parameters.{key}", "a value is required")
        region = dynamic_values[key]
    return region


def static_auth(
    service: ServiceDefinition,
    credential: ApiKeyCredential | BasicCredential | AwsCredential,
    dynamic_values: Mapping[str, str],
) -> httpx2.Auth:
    if isinstance(credential, ApiKeyCredential):
        assert service.api_key is not None
        return ApiKeyAuth(
            [
                ApiKeyParameter(
                    Placement(p.param_type), p.name, credential.values[p.name], p.prefix
                )
                for p in service.api_key.parameters
            ]
        )
    if isinstance(credential, BasicCredential):
        return BasicAuth(credential.username, credential.password)
    assert service.aws_sigv4 is not None
    return SigV4Auth(
        credential.access_key,
        credential.secret_key,
        aws_region(service, dynamic_values),
        service.aws_sigv4.aws_service,
        credential.session_token,
    )
