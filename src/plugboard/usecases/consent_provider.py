"""The provider's side of a consent that needs no database: OAuth 1.0a request and access
tokens (RFC 5849), and the account name the provider gives (SPEC §5). Each call goes through the
consent's guarded outbound client."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx2

from plugboard.auth.bearer import BearerAuth
from plugboard.auth.oauth1 import access_token_auth, request_token_auth
from plugboard.domain.connections import Connection
from plugboard.domain.credentials import Credential, OAuth1Credential
from plugboard.domain.oauth import CallbackParams
from plugboard.domain.service import ServiceDefinition, extract_account_name
from plugboard.domain.urls import substitute
from plugboard.errors import PlugboardError, ValidationError

__all__ = ["oauth1_access_token", "oauth1_request_token", "provider_account_name"]


def oauth1_request_token(
    http: httpx2.Client, service: ServiceDefinition, conn: Connection, redirect_uri: str, state: str
) -> tuple[str, dict[str, str]]:
    """Temporary credentials (RFC 5849 §2.1); our state rides in the callback URL."""
    config = service.oauth1
    assert config is not None and config.consumer_key and config.consumer_secret
    callback = f"{redirect_uri}?{urlencode({'state': state})}"
    auth = request_token_auth(
        config.consumer_key, config.consumer_secret.get_secret_value(), callback,
        config.param_type,
    )  # fmt: skip
    url = substitute(config.request_token_url, conn.dynamic_values)
    try:
        response = http.post(url, auth=auth)
    except httpx2.HTTPError as exc:
        raise ValidationError(
            "service", f"the request-token endpoint could not be reached ({type(exc).__name__})"
        ) from None
    fields = dict(parse_qsl(response.text))
    if response.status_code != 200 or "oauth_token" not in fields:
        raise ValidationError(
            "service", f"the request-token endpoint refused (HTTP {response.status_code})"
        )
    authorize = substitute(config.authorize_url, conn.dynamic_values)
    separator = "&" if "?" in authorize else "?"
    consent_url = f"{authorize}{separator}{urlencode({'oauth_token': fields['oauth_token']})}"
    return consent_url, {
        "request_token": fields["oauth_token"],
        "request_token_secret": fields.get("oauth_token_secret", ""),
    }


def oauth1_access_token(
    http: httpx2.Client,
    secrets: Mapping[str, str],
    params: CallbackParams,
    conn: Connection,
    service: ServiceDefinition,
) -> tuple[Credential, str | None, datetime | None]:
    """Token credentials for the verifier the provider sent back (RFC 5849 §2.3), with the
    account name when the service takes it from that answer."""
    config = service.oauth1
    assert config is not None and config.consumer_key and config.consumer_secret
    if not params.oauth_verifier or params.oauth_token != secrets.get("request_token"):
        raise ValidationError("oauth_verifier", "the provider sent no matching verifier")
    auth = access_token_auth(
        config.consumer_key, config.consumer_secret.get_secret_value(),
        secrets["request_token"], secrets.get("request_token_secret", ""),
        params.oauth_verifier, config.param_type,
    )  # fmt: skip
    try:
        response = http.post(substitute(config.access_token_url, conn.dynamic_values), auth=auth)
    except httpx2.HTTPError as exc:
        raise ValidationError(
            "service", f"the access-token endpoint could not be reached ({type(exc).__name__})"
        ) from None
    fields = dict(parse_qsl(response.text))
    if response.status_code != 200 or "oauth_token" not in fields:
        raise ValidationError(
            "oauth_verifier",
            f"the access-token request was refused (HTTP {response.status_code})",
        )
    name = None
    if service.account_name is not None and service.account_name.source == "token_response":
        name = extract_account_name(fields, service.account_name.field)
    credential = OAuth1Credential(fields["oauth_token"], fields.get("oauth_token_secret", ""))
    return credential, name, None


def provider_account_name(
    http: httpx2.Client,
    service: ServiceDefinition,
    conn: Connection,
    token: dict[str, Any],
    access: str,
) -> str | None:
    """The provider's name for the account, per the service's rule; None to fall back."""
    rule = service.account_name
    if rule is None:
        return None
    if rule.source == "token_response":
        return extract_account_name(token, rule.field)
    if rule.source != "userinfo" or rule.url is None:
        return None
    assert service.oauth2 is not None
    auth = BearerAuth(access, placement="header")
    try:
        response = http.request(rule.method, substitute(rule.url, conn.dynamic_values), auth=auth)
        data: Any = response.json() if response.status_code == 200 else None
    except (httpx2.HTTPError, ValueError, PlugboardError):
        return None
    return extract_account_name(data, rule.field) if data is not None else None
