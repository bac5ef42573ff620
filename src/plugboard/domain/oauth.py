"""Sans-I/O pieces of the consent flows (SPEC §5): state, the 90-second window, the authorize
URL, callback outcomes, and the fallback account name.

The `state` sent to the provider is a 256-bit random value; only its SHA-256 is stored, so a
database reader cannot complete someone else's consent.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from authlib.oauth2.rfc6749.parameters import prepare_grant_uri

from plugboard.domain.service import ServiceDefinition
from plugboard.domain.urls import substitute
from plugboard.errors import ValidationError

CONSENT_WINDOW_SECONDS = 90
CALLBACK_PATH = "/oauth/callback"
# A claimed flow's outcome while its code or verifier is exchanged for tokens; the exchange and
# the account-name call get this long after the window closes before the flow counts as failed.
EXCHANGING = "exchanging"
EXCHANGE_GRACE_SECONDS = 120


def new_state() -> str:
    return secrets.token_urlsafe(32)


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def callback_url(base_url: str) -> str:
    return base_url.rstrip("/") + CALLBACK_PATH


class FlowState(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class PendingFlow:
    """A consent in progress. Its secrets (PKCE verifier, OAuth 1 request-token secret) are kept
    apart, sealed, and handed over only to the code that completes the flow."""

    id: str
    workspace_id: str
    connection_id: str
    initiated_by: str
    owner_user_id: str | None
    environments: tuple[str, ...]
    redirect_uri: str
    created_at: datetime
    expires_at: datetime
    consumed_at: datetime | None = None
    outcome: str | None = None
    replace_authorization_id: str | None = None

    def state_at(self, now: datetime) -> FlowState:
        if self.consumed_at is not None:
            if self.outcome == EXCHANGING:
                # The callback arrived and the code is being exchanged: not done yet, until
                # the exchange had every chance to end (then it never will: a crash).
                late = now >= self.expires_at + timedelta(seconds=EXCHANGE_GRACE_SECONDS)
                return FlowState.FAILED if late else FlowState.PENDING
            return (
                FlowState.FAILED
                if (self.outcome or "").startswith("failed")
                else (FlowState.COMPLETED)
            )
        if now >= self.expires_at:
            return FlowState.EXPIRED
        return FlowState.PENDING


def expiry(now: datetime, window_seconds: float = CONSENT_WINDOW_SECONDS) -> datetime:
    return now + timedelta(seconds=window_seconds)


@dataclass(frozen=True, slots=True)
class CallbackParams:
    """What the provider sent back to the callback."""

    # The single-use values stay out of repr: a log line or traceback must not replay a consent.
    state: str | None = field(repr=False)
    code: str | None = field(default=None, repr=False)
    error: str | None = None
    error_description: str | None = None
    oauth_token: str | None = field(default=None, repr=False)
    oauth_verifier: str | None = field(default=None, repr=False)
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> CallbackParams:
        known = {"state", "code", "error", "error_description", "oauth_token", "oauth_verifier"}
        return cls(
            state=query.get("state"),
            code=query.get("code"),
            error=query.get("error"),
            error_description=query.get("error_description"),
            oauth_token=query.get("oauth_token"),
            oauth_verifier=query.get("oauth_verifier"),
            extra={k: v for k, v in query.items() if k not in known},
        )


def oauth2_authorize_url(
    service: ServiceDefinition,
    *,
    dynamic_values: Mapping[str, str],
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str],
    state: str,
    code_challenge: str | None,
) -> str:
    """The consent URL: authorization code grant, with PKCE S256 when the service uses it."""
    config = service.oauth2
    if config is None:
        raise ValidationError("auth_type", f"{service.link_name} is not an OAuth 2 service")
    base = substitute(config.authorize_url, dynamic_values)
    extra: dict[str, str] = dict(config.extra_authorize_params)
    if config.pkce:
        if code_challenge is None:
            raise ValidationError("pkce", "a code challenge is required for this service")
        extra.update(code_challenge=code_challenge, code_challenge_method="S256")
    scope = config.scope_separator.join(scopes) if scopes else None
    return str(
        prepare_grant_uri(
            base,
            client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=scope,
            state=state,
            **extra,
        )
    )


def fallback_account_name(service_name: str, existing: Iterable[str]) -> str:
    """`<Service name> Account <n>`: the first n not used by this connection's accounts."""
    taken = set(existing)
    n = 1
    while f"{service_name} Account {n}" in taken:
        n += 1
    return f"{service_name} Account {n}"
