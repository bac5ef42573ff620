"""The OAuth 2 token source of one resolved authorization: the stored token, refreshed through
the process's RefreshCoordinator; a refused refresh becomes AuthorizationRequired."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from time import monotonic
from typing import TYPE_CHECKING

import httpx2

from plugboard.auth.factory import static_auth
from plugboard.auth.oauth1 import OAuth1Auth
from plugboard.auth.oauth2 import AccessToken, OAuth2Auth, RefreshReason
from plugboard.domain.authorizations import is_stale
from plugboard.domain.clock import SystemClock
from plugboard.domain.credentials import OAuth1Credential, OAuth2Credential
from plugboard.domain.urls import substitute
from plugboard.errors import ConfigurationError
from plugboard.usecases.invoke_resolution import Resolved
from plugboard.usecases.refresh import RefreshRejected, RefreshTarget
from plugboard.usecases.runtime import Runtime

if TYPE_CHECKING:
    from plugboard.usecases.invoke_entries import Resolutions as Invoker

__all__ = ["ConnectionTokens", "credential_auth"]


class ConnectionTokens:
    """The TokenSource an OAuth2Auth uses: the stored token, refreshed through the process's
    RefreshCoordinator; a refused refresh becomes AuthorizationRequired for this caller."""

    def __init__(self, invoker: Invoker, resolved: Resolved, credential: OAuth2Credential):
        self._invoker = invoker
        self._resolved = resolved
        self._token = AccessToken(credential.access_token, resolved.token_expires_at)
        self._deadline = _fresh_deadline(invoker.runtime, resolved.token_expires_at)
        service = resolved.service
        assert service.oauth2 is not None
        token_url = substitute(
            service.oauth2.effective_refresh_url, resolved.connection.dynamic_values
        )
        self._target = RefreshTarget(
            account_id=resolved.account_id,
            connection=resolved.connection.link_name,
            token_url=token_url,
            client_id=resolved.oauth_client_id,
            client_secret=resolved.oauth_client_secret,
            auth_method=service.oauth2.token_endpoint_auth_method,
        )

    def current(self) -> AccessToken:
        return self._token

    def needs_refresh(self, token: AccessToken) -> bool:
        if token is self._token and self._deadline is not None:
            return monotonic() >= self._deadline  # (inf: no known expiry)
        if token.expires_at is None:  # used until the provider rejects it (no clock read)
            return False
        settings = self._invoker.runtime.settings
        return is_stale(
            token.expires_at, self._invoker.runtime.clock.now(), settings.refresh_skew_seconds
        )

    def refresh(self, token: AccessToken, reason: RefreshReason) -> AccessToken:
        try:
            return self._invoker.refresher.refresh(self._target, token, reason)
        except RefreshRejected as exc:
            raise self._resolved.required(_reason(exc)) from None

    async def arefresh(self, token: AccessToken, reason: RefreshReason) -> AccessToken:
        try:
            return await self._invoker.refresher.arefresh(self._target, token, reason)
        except RefreshRejected as exc:
            raise self._resolved.required(_reason(exc)) from None


def _fresh_deadline(runtime: Runtime, expires_at: datetime | None) -> float | None:
    """When (on the monotonic clock) the resolved token becomes stale -- ``expires_at`` less the
    refresh skew, as :func:`~plugboard.domain.authorizations.is_stale` says -- so each invoke
    compares two floats instead of reading the wall clock. Infinity without a known expiry;
    None when the runtime's clock is not the system's (a test's clock that moves when told):
    that one is asked each time."""
    if expires_at is None:
        return math.inf
    clock = runtime.clock
    if type(clock) is not SystemClock:
        return None
    stale_at = expires_at - timedelta(seconds=runtime.settings.refresh_skew_seconds)
    return monotonic() + (stale_at - clock.now()).total_seconds()


def _reason(exc: RefreshRejected) -> str:
    return exc.message.split(": ", 1)[-1]


def credential_auth(invoker: Invoker, resolved: Resolved) -> httpx2.Auth:
    """The httpx2.Auth that injects the resolved credential (OAuth tokens through the
    invoker's refresh coordinator)."""
    service = resolved.service
    credential = resolved.credential
    if isinstance(credential, OAuth1Credential):
        assert service.oauth1 is not None
        if not resolved.oauth_client_id or resolved.oauth_client_secret is None:
            raise ConfigurationError(
                f"service {service.link_name!r} has no OAuth 1 consumer key registered "
                "in this workspace"
            )
        return OAuth1Auth(
            resolved.oauth_client_id,
            resolved.oauth_client_secret,
            credential.token,
            credential.token_secret,
            placement=service.oauth1.param_type,
        )
    if isinstance(credential, OAuth2Credential):
        assert service.oauth2 is not None
        return OAuth2Auth(
            ConnectionTokens(invoker, resolved, credential),
            placement=service.oauth2.param_type,
            param_name=service.oauth2.effective_param_name,
            token_prefix=service.oauth2.effective_token_prefix,
            expiry_signals=service.oauth2.expiry_signals,
        )
    return static_auth(service, credential, resolved.connection.dynamic_values)
