"""The test provider's public records: demo credentials, switches' enums, registrations, calls.

These are what a test builds, compares or reads back; what the provider issues itself lives in
:mod:`plugboard.testing.provider_state.issued`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

DEMO_CLIENT_ID = "plugboard-demo"
DEMO_CLIENT_SECRET = "demo-client-secret"
DEMO_REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback"
DEMO_CONSUMER_KEY = "plugboard-demo-consumer"
DEMO_CONSUMER_SECRET = "demo-consumer-secret"
DEMO_API_KEY = "demo-api-key"
DEMO_BASIC_USER = "demo"
DEMO_BASIC_PASSWORD = "demo-password"
DEMO_AWS_ACCESS_KEY = "AKIDPLUGBOARDDEMO"
DEMO_AWS_SECRET_KEY = "demo/aws/secret/key+PLUGBOARD"


class ClientAuth(StrEnum):
    """How an OAuth 2 client authenticates at the token and revoke endpoints (RFC 6749 §2.3)."""

    BASIC = "client_secret_basic"
    POST = "client_secret_post"
    NONE = "none"


class ConsentMode(StrEnum):
    """What the authorize endpoints (OAuth 1 and 2) do with a valid request."""

    APPROVE = "approve"  # redirect back at once, as if the user clicked Approve
    DENY = "deny"  # redirect back with access_denied (OAuth 2) or denied= (OAuth 1)
    PAGE = "page"  # show an HTML page with Approve and Deny buttons (browser tests)


class ExpirySignal(StrEnum):
    """How the OAuth 2 API says a token is expired, revoked or unknown."""

    UNAUTHORIZED = "401"  # RFC 6750: 401 + WWW-Authenticate: Bearer error="invalid_token"
    FORBIDDEN = "403"  # some services answer 403 with a JSON error
    BODY = "body"  # Slack style: 200 {"ok": false, "error": "token_expired"}


@dataclass(frozen=True, slots=True)
class Account:
    """The third-party account a consent links (returned by /oauth2/userinfo)."""

    sub: str
    name: str
    email: str
    preferred_username: str

    def as_dict(self) -> dict[str, str]:
        return {
            "sub": self.sub,
            "name": self.name,
            "email": self.email,
            "preferred_username": self.preferred_username,
        }


DEMO_ACCOUNT = Account("acct-1001", "Ada Lovelace", "ada@provider.test", "ada")


@dataclass(frozen=True, slots=True)
class OAuth2Client:
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: tuple[str, ...]
    auth_method: ClientAuth = ClientAuth.BASIC
    require_pkce: bool = True
    # None: any scope may be asked for; otherwise each requested scope must be in this set.
    allowed_scopes: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class OAuth1Consumer:
    key: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ApiKeyParam:
    """One parameter the API key endpoint requires; every configured one must be present."""

    placement: Literal["header", "query", "form"]
    name: str
    value: str = field(repr=False)
    prefix: str = ""  # e.g. "Bearer " for Authorization: Bearer <key>


@dataclass(frozen=True, slots=True)
class AwsCredential:
    access_key: str
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    account: str = "123456789012"


@dataclass(frozen=True, slots=True)
class CannedResponse:
    """An answer the /api/* endpoints give before (instead of) the real one."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None


@dataclass(frozen=True, slots=True)
class Call:
    """One request the provider received. Holds names and outcomes, never credential values."""

    endpoint: str  # "oauth2.token", "api.oauth2", "oauth1.request_token", ...
    method: str
    path: str
    status: int
    at: datetime
    client_id: str | None = None
    client_auth: str | None = None  # ClientAuth value actually used, when the endpoint has one
    grant_type: str | None = None
    token_type_hint: str | None = None
    token_kind: str | None = None  # what a revoke found: "access_token" | "refresh_token"
    placement: str | None = None  # where the API credential travelled: header | query | form
    account: str | None = None  # sub (or screen name / key owner) the credential belongs to
    scope: str | None = None
    error: str | None = None
    canned: bool = False
