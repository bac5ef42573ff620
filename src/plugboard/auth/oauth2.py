"""OAuth 2 access tokens that refresh themselves (SPEC §5 "Refresh", §7 step 4).

:class:`OAuth2Auth` puts the current access token on the request (``Authorization: Bearer``, or
the service's header name and prefix, or a query/form parameter). Its flow is written once, as
a generator that yields either a request to send or a :class:`_Refresh` step:

- before the first send, a token the :class:`TokenSource` calls stale (about to expire) is
  refreshed;
- after a response the service's expiry signals match (a 401 always; some services also
  declare e.g. a 403, or a 200 whose body says ``token_expired``), the token is refreshed
  **once** and the request sent again; a second rejection is returned to the caller as is.
  :meth:`OAuth2Auth.without_replay` skips this step, for a request whose body is a stream that
  cannot be sent twice (the proxy's large uploads): the rejection is the caller's answer.

The sync and async drivers only differ in how they run a refresh step: ``TokenSource.refresh``
or ``await TokenSource.arefresh``. Persisting the refreshed token, single-flight and locking are
the token source's business (a small protocol, so this module never imports the store).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

import httpx2

from plugboard.auth.apikey import Placement, with_header
from plugboard.auth.bearer import BearerAuth
from plugboard.domain.service import ExpirySignals

__all__ = ["AccessToken", "OAuth2Auth", "RefreshReason", "TokenSource"]

RefreshReason = Literal["expiring", "rejected"]


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str = field(repr=False)
    expires_at: datetime | None = None


class TokenSource(Protocol):
    """Where an :class:`OAuth2Auth` gets its token and asks for a new one."""

    def current(self) -> AccessToken:
        """The token to use now."""
        ...

    def needs_refresh(self, token: AccessToken) -> bool:
        """Whether ``token`` should be refreshed before it is sent (it is about to expire)."""
        ...

    def refresh(self, token: AccessToken, reason: RefreshReason) -> AccessToken:
        """A token to use instead of ``token`` (which expired or was rejected). Raises when no
        usable token can be had."""
        ...

    async def arefresh(self, token: AccessToken, reason: RefreshReason) -> AccessToken:
        """:meth:`refresh` for async clients."""
        ...


@dataclass(frozen=True, slots=True)
class _Refresh:
    token: AccessToken
    reason: RefreshReason


_Step = httpx2.Request | _Refresh


class OAuth2Auth(BearerAuth):
    """Bearer injection with refresh-before-expiry and refresh-once-on-rejection."""

    def __init__(
        self,
        tokens: TokenSource,
        *,
        placement: Placement | str = Placement.HEADER,
        param_name: str | None = None,
        token_prefix: str | None = None,
        expiry_signals: ExpirySignals | None = None,
    ) -> None:
        placement = Placement(placement)
        default_name = "Authorization" if placement is Placement.HEADER else "access_token"
        super().__init__("", placement, param_name or default_name)
        self._tokens = tokens
        if token_prefix is None:
            token_prefix = "Bearer " if self.param_name.lower() == "authorization" else ""
        self.token_prefix = token_prefix
        self._signals = expiry_signals or ExpirySignals()
        # The request may be sent twice (after a refresh), so its body must be in memory.
        self.requires_request_body = True
        # Only a body pattern needs the body to recognise an expired token.
        self.requires_response_body = self._signals.body_pattern is not None
        # The statuses that may say "expired" (a 401 always): any other answer is returned
        # without a look at its body.
        self._suspect_statuses = frozenset({401, *self._signals.statuses})
        self._replay = True

    def __repr__(self) -> str:
        return (
            f"OAuth2Auth(placement={self.placement.value!r}, param_name={self.param_name!r}, "
            f"access_token=<redacted>)"
        )

    def without_replay(self) -> OAuth2Auth:
        """The same injection for a request sent at most once: a token about to expire is still
        refreshed first, but neither body is read into memory and a rejection is returned as is
        (the body, a stream, could not be sent again)."""
        clone = copy.copy(self)
        clone._replay = False
        clone.requires_request_body = False
        clone.requires_response_body = False
        return clone

    def current_token(self) -> str:
        return self._tokens.current().value

    def apply(self, request: httpx2.Request, token: str | None = None) -> httpx2.Request:
        token = self.current_token() if token is None else token
        if self.placement is Placement.HEADER:
            with_header(request, self.param_name, f"{self.token_prefix}{token}")
            return request
        return super().apply(request, token)

    def rejected(self, response: httpx2.Response) -> bool:
        """Whether the response says the access token expired (see ExpirySignals)."""
        body = ""
        if self.requires_response_body and response.status_code in self._signals.statuses:
            body = response.content.decode("utf-8", "replace")
        return self._signals.matches(response.status_code, body)

    def _flow(self, request: httpx2.Request) -> Generator[_Step, object, None]:
        token = self._tokens.current()
        if self._tokens.needs_refresh(token):
            token = _token((yield _Refresh(token, "expiring")))
        response = yield self.apply(request, token.value)
        if not self._replay or not self.rejected(_response(response)):
            return
        fresh = _token((yield _Refresh(token, "rejected")))
        yield self.apply(request, fresh.value)

    def sync_auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        if self._replay:
            request.read()
        flow = self._flow(request)
        step = next(flow)
        while True:
            sent: object
            if isinstance(step, _Refresh):
                sent = self._tokens.refresh(step.token, step.reason)
            else:
                response = yield step
                if self.requires_response_body:
                    response.read()
                sent = response
            try:
                step = flow.send(sent)
            except StopIteration:
                return

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        if self._replay:
            await request.aread()
        flow = self._flow(request)
        step = next(flow)
        while True:
            sent: object
            if isinstance(step, _Refresh):
                sent = await self._tokens.arefresh(step.token, step.reason)
            else:
                response = yield step
                if self.requires_response_body:
                    await response.aread()
                sent = response
            try:
                step = flow.send(sent)
            except StopIteration:
                return

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        return self.sync_auth_flow(request)

    # The same steps driven by the caller, for a request whose body is already in memory and
    # an answer that is read (a hot loop's invoke): no httpx2 auth generator around ours.

    def carries_fresh(self, applied: str | None) -> AccessToken | None:
        """The current token, when ``applied`` (the token a prepared request already carries)
        is it and needs no refresh yet: the request can go as it is."""
        if applied is None:
            return None
        token = self._tokens.current()
        if token.value != applied or self._tokens.needs_refresh(token):
            return None
        return token

    def send_with(
        self,
        request: httpx2.Request,
        send: Callable[[httpx2.Request], httpx2.Response],
        *,
        applied: str | None = None,
    ) -> httpx2.Response:
        """Send ``request`` through ``send`` (which must read the answer) as
        :meth:`sync_auth_flow` would: refreshed before expiry, once more after a rejection.
        ``applied``: the token the request already carries (see :meth:`carries_fresh`).

        A request that carries the current, fresh token costs what an API key's does: the
        token check (two calls, no clock read but the source's own) and a status lookup."""
        if applied is not None:
            tokens = self._tokens
            token = tokens.current()
            if token.value == applied and not tokens.needs_refresh(token):
                answer = send(request)
                if answer.status_code not in self._suspect_statuses or not self._replay:
                    return answer
                if not self.rejected(answer):
                    return answer
                answer.close()  # rejected: sent once more with a refreshed token
                fresh = tokens.refresh(token, "rejected")
                return send(self.apply(request, fresh.value))
        flow = self._flow(request)
        step = next(flow)
        response: httpx2.Response | None = None
        while True:
            sent: object
            if isinstance(step, _Refresh):
                sent = self._tokens.refresh(step.token, step.reason)
            else:
                if response is not None:
                    response.close()  # rejected: its successor is sent
                response = send(step)
                sent = response
            try:
                step = flow.send(sent)
            except StopIteration:
                assert response is not None
                return response

    async def asend_with(
        self,
        request: httpx2.Request,
        send: Callable[[httpx2.Request], Awaitable[httpx2.Response]],
        *,
        applied: str | None = None,
    ) -> httpx2.Response:
        """:meth:`send_with` for async clients (:meth:`async_auth_flow`'s steps)."""
        token = self.carries_fresh(applied)
        if token is not None:
            answer = await send(request)
            if answer.status_code not in self._suspect_statuses or not self._replay:
                return answer
            if not self.rejected(answer):
                return answer
            await answer.aclose()
            fresh = await self._tokens.arefresh(token, "rejected")
            return await send(self.apply(request, fresh.value))
        flow = self._flow(request)
        step = next(flow)
        response: httpx2.Response | None = None
        while True:
            sent: object
            if isinstance(step, _Refresh):
                sent = await self._tokens.arefresh(step.token, step.reason)
            else:
                if response is not None:
                    await response.aclose()
                response = await send(step)
                sent = response
            try:
                step = flow.send(sent)
            except StopIteration:
                assert response is not None
                return response


def _token(value: object) -> AccessToken:
    assert isinstance(value, AccessToken)
    return value


def _response(value: object) -> httpx2.Response:
    assert isinstance(value, httpx2.Response)
    return value
