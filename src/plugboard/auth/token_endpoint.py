"""One request to an OAuth 2 token endpoint (RFC 6749 §4.1.3, §6), with the client
authentication the service declares (client_secret_basic or client_secret_post), via Authlib."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx2
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_token_request

from plugboard.domain.authorizations import oauth_error
from plugboard.errors import PlugboardError

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class TokenEndpointError:
    """A refused or failed token request: `status` 0 when the endpoint was not reached."""

    status: int
    error: str | None
    description: str | None = None

    @property
    def message(self) -> str:
        where = f"HTTP {self.status}" if self.status else "unreachable"
        what = self.error or "no OAuth error code"
        extra = f": {self.description}" if self.description else ""
        return f"token endpoint {where} ({what}){extra}"


def request_token(
    http: httpx2.Client,
    token_url: str,
    grant_type: str,
    params: Mapping[str, str],
    *,
    client_id: str | None,
    client_secret: str | None,
    auth_method: str,
) -> dict[str, Any] | TokenEndpointError:
    """POST the grant; the decoded JSON on success, else what went wrong (never a secret)."""
    body = prepare_token_request(grant_type, **dict(params))
    headers = {"Content-Type": FORM, "Accept": "application/json"}
    if client_id is not None:
        client = ClientAuth(client_id, client_secret, auth_method)
        _, headers, body = client.prepare("POST", token_url, headers, body)
    try:
        response = http.post(token_url, content=body, headers=headers)
    except httpx2.HTTPError as exc:
        return TokenEndpointError(0, type(exc).__name__)
    except PlugboardError as exc:  # the outbound guard refused the token URL
        return TokenEndpointError(0, exc.code, exc.message)
    try:
        data: Any = response.json()
    except ValueError:
        data = None
    if response.status_code == 200 and isinstance(data, dict) and "error" not in data:
        return data
    description = data.get("error_description") if isinstance(data, dict) else None
    return TokenEndpointError(
        response.status_code,
        oauth_error(data),
        str(description)[:300] if description else None,
    )


def revoke_token(
    http: httpx2.Client,
    revoke_url: str,
    token: str,
    token_type_hint: str,
    *,
    client_id: str | None,
    client_secret: str | None,
    auth_method: str,
) -> TokenEndpointError | None:
    """RFC 7009 token revocation; None when the provider accepted it (HTTP 200)."""
    body = f"token={quote(token, safe='')}&token_type_hint={token_type_hint}"
    headers = {"Content-Type": FORM, "Accept": "application/json"}
    if client_id is not None:
        client = ClientAuth(client_id, client_secret, auth_method)
        _, headers, body = client.prepare("POST", revoke_url, headers, body)
    try:
        response = http.post(revoke_url, content=body, headers=headers)
    except httpx2.HTTPError as exc:
        return TokenEndpointError(0, type(exc).__name__)
    except PlugboardError as exc:
        return TokenEndpointError(0, exc.code, exc.message)
    if response.status_code == 200:
        return None
    return TokenEndpointError(response.status_code, None)
