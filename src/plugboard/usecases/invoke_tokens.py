"""The OAuth 2 token source of one resolved authorization: the stored token, refreshed through
the process's RefreshCoordinator; a refused refresh becomes AuthorizationRequired."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugboard.auth.oauth2 import AccessToken, RefreshReason
from plugboard.domain.authorizations import is_stale
from plugboard.domain.credentials import OAuth2Credential
from plugboard.domain.urls import substitute
from plugboard.usecases.invoke_resolution import Resolved
from plugboard.usecases.refresh import RefreshRejected, RefreshTarget

if TYPE_CHECKING:
    from plugboard.usecases.invoke import Invoker

__all__ = ["ConnectionTokens"]


class ConnectionTokens:
    """The TokenSource an OAuth2Auth uses: the stored token, refreshed through the process's
    RefreshCoordinator; a refused refresh becomes AuthorizationRequired for this caller."""

    def __init__(self, invoker: Invoker, resolved: Resolved, credential: OAuth2Credential):
        self._invoker = invoker
        self._resolved = resolved
        self._token = AccessToken(credential.access_token, resolved.token_expires_at)
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


def _reason(exc: RefreshRejected) -> str:
    return exc.message.split(": ", 1)[-1]
