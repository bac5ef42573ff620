"""What the test provider issues and keeps while a flow runs: codes, tokens, consent tickets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from plugboard.testing.provider_state.records import Account


@dataclass(slots=True)
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str | None  # None when the authorize request left it out
    challenge: str | None
    scope: str
    account: Account
    expires_at: datetime
    grant_id: str
    used: bool = False


@dataclass(slots=True)
class AccessToken:
    token: str
    client_id: str
    account: Account
    scope: str
    expires_at: datetime
    grant_id: str
    revoked: bool = False


@dataclass(slots=True)
class RefreshToken:
    token: str
    client_id: str
    account: Account
    scope: str
    grant_id: str
    active: bool = True
    rotated_at: datetime | None = None  # when a rotation replaced it
    reused: bool = False  # accepted once more within refresh_reuse_grace


@dataclass(slots=True)
class ConsentTicket:
    """A consent page shown but not yet answered."""

    kind: Literal["oauth2", "oauth1"]
    params: dict[str, str]
    account: Account


@dataclass(slots=True)
class RequestToken:
    token: str
    secret: str
    consumer_key: str
    callback: str
    verifier: str | None = None
    account: Account | None = None
    used: bool = False


@dataclass(slots=True)
class OAuth1Token:
    token: str
    secret: str
    consumer_key: str
    account: Account
    revoked: bool = False


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(24)}"
