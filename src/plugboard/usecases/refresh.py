"""OAuth 2 refresh with exactly one refresh in flight per account (SPEC §5 "Refresh").

Three layers keep a stampede down to one token request:

1. **In the process**: the first caller for an account starts a *flight* (a
   ``concurrent.futures.Future``); every other thread or task that needs the same account while
   it is open waits on that future instead of starting its own. Async waiters await it without
   holding a worker thread; the async leader runs the flight in one.
2. **Across processes**: the flight locks the account row (``SELECT … FOR UPDATE`` on
   PostgreSQL with ``lock_timeout`` set to ``refresh_lock_timeout_seconds``, which is longer than
   the token request's timeout; on SQLite the ``BEGIN IMMEDIATE`` write lock) in two short
   transactions (below). The token request is made while the lock is held.
3. **Re-read under the lock**: the account is read again and refreshed only if it is still
   stale -- its stored token is about to expire, or it is the very token the provider rejected.
   Otherwise the stored (newer) token is returned without calling the provider.

A token this process refreshed itself is reused without a transaction only for a token that is
about to expire. After a rejection the stored token is always compared under the lock: another
process may have refreshed since, and this process's own older token may be revoked by then.

**Durability: the attempt journal** (``store/refresh_journal.py``). Phase 1, one transaction
under the lock, decides whether to refresh and, if so, records the attempt -- the refresh token
about to be sent, sealed -- and commits before anything is sent. Phase 2, under the lock again,
checks the attempt is still this one's, sends it, and stores the provider's answer (access
token and rotated refresh token together; a response without a refresh token keeps the old one)
in that same short transaction, deleting the record with it; nothing else runs in between, so a
rotated refresh token is on disk the moment it arrives. A record left behind means an answer may
have been lost (the process died while waiting, or the request timed out) and the provider may
already have rotated the token: a later refresh waits while such an attempt is younger than the
token request's timeout (plus a margin; it may still be in progress), then takes it over and
sends the old refresh token; if that is refused with ``invalid_grant`` it waits for the lost
request's timeout and retries the old token once -- providers with a reuse grace period accept
it -- and only then marks the authorization expired. Another process that takes the attempt
over between the two phases makes this one start again (it then finds the refreshed token).

``invalid_grant`` marks every authorization using the account ``expired`` and raises
:class:`RefreshRejected`; a network error, a 5xx or any other error leaves the authorization as
it was and records ``refresh_failed_at`` / ``refresh_error`` on the account: for
``refresh_cooldown_seconds`` after that no caller (in any process) asks the provider again.

The token request is :func:`plugboard.auth.token_endpoint.request_token` (the one the consent
flow's code exchange uses) through the outbound guard; Authlib builds its body and client
authentication. Authlib's own OAuth2Client is not used: its httpx integration is written for
httpx, not httpx2, and it refreshes inside the request it wraps -- outside our row lock.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

import anyio.to_thread
from sqlalchemy.exc import OperationalError

from plugboard.auth.oauth2 import AccessToken, RefreshReason
from plugboard.auth.outbound_stack import Outbound
from plugboard.domain.authorizations import is_stale
from plugboard.errors import UpstreamError
from plugboard.usecases.refresh_phases import LockedRefresh
from plugboard.usecases.refresh_records import RefreshRejected, RefreshTarget
from plugboard.usecases.runtime import Runtime

__all__ = ["RefreshCoordinator", "RefreshRejected", "RefreshTarget"]

log = logging.getLogger("plugboard.refresh")


class RefreshCoordinator:
    """One per process (per client): the in-process flights and the token-request client."""

    def __init__(
        self,
        runtime: Runtime,
        outbound: Outbound | None = None,
        *,
        on_refreshed: Callable[[str], None] | None = None,
    ) -> None:
        self._runtime = runtime
        settings = runtime.settings
        self._skew = settings.refresh_skew_seconds
        self._token_timeout = settings.token_request_timeout_seconds
        self._lock_timeout = settings.refresh_lock_timeout_seconds
        self._http = (outbound or runtime.outbound).client(timeout=self._token_timeout)
        self._locked = LockedRefresh(runtime, self._http)
        self._on_refreshed = on_refreshed
        self._guard = threading.Lock()
        self._flights: dict[str, Future[AccessToken]] = {}
        self._recent: dict[str, AccessToken] = {}

    def close(self) -> None:
        self._http.close()

    @property
    def token_requests(self) -> int:
        """How many requests this coordinator sent to token endpoints."""
        return self._locked.token_requests

    @property
    def _wait_timeout(self) -> float:
        return self._lock_timeout + self._token_timeout + 5.0

    # -- entry points --------------------------------------------------------------------------

    def refresh(
        self, target: RefreshTarget, seen: AccessToken, reason: RefreshReason
    ) -> AccessToken:
        """A token to use instead of ``seen``; see the module docstring."""
        future, leader = self._join(target.account_id, seen, reason)
        if isinstance(future, AccessToken):
            return future
        if leader:
            return self._run_flight(future, target, seen, reason)
        try:
            return future.result(timeout=self._wait_timeout)
        except FutureTimeout:
            raise UpstreamError(
                f"connection {target.connection!r}: timed out waiting for a token refresh"
            ) from None

    async def arefresh(
        self, target: RefreshTarget, seen: AccessToken, reason: RefreshReason
    ) -> AccessToken:
        future, leader = self._join(target.account_id, seen, reason)
        if isinstance(future, AccessToken):
            return future
        if leader:
            return await anyio.to_thread.run_sync(self._run_flight, future, target, seen, reason)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self._wait_timeout)
        except TimeoutError:
            raise UpstreamError(
                f"connection {target.connection!r}: timed out waiting for a token refresh"
            ) from None

    # -- flights -------------------------------------------------------------------------------

    def _join(
        self, account_id: str, seen: AccessToken, reason: RefreshReason
    ) -> tuple[Future[AccessToken] | AccessToken, bool]:
        with self._guard:
            recent = self._recent.get(account_id)
            if (
                reason == "expiring"  # after a rejection only the stored token counts
                and recent is not None
                and recent.value != seen.value
                and not is_stale(recent.expires_at, self._runtime.clock.now(), self._skew)
            ):
                # Refreshed by this process since the caller read its token: no flight needed.
                return recent, False
            flight = self._flights.get(account_id)
            if flight is not None:
                return flight, False
            flight = Future()
            self._flights[account_id] = flight
            return flight, True

    def _run_flight(
        self,
        future: Future[AccessToken],
        target: RefreshTarget,
        seen: AccessToken,
        reason: RefreshReason,
    ) -> AccessToken:
        try:
            token = self._locked_refresh(target, seen, reason)
        except BaseException as exc:
            with self._guard:
                self._flights.pop(target.account_id, None)
            future.set_exception(exc)
            raise
        with self._guard:
            self._recent[target.account_id] = token
            self._flights.pop(target.account_id, None)
        future.set_result(token)
        return token

    # -- the locked part -----------------------------------------------------------------------

    def _locked_refresh(
        self, target: RefreshTarget, seen: AccessToken, reason: RefreshReason
    ) -> AccessToken:
        try:
            outcome = self._locked.run(target, seen, reason)
        except OperationalError as exc:
            # Most likely PostgreSQL's lock_timeout: another process holds the account too long.
            log.warning(
                "refresh of connection %r: could not lock the account (%s)",
                target.connection,
                type(exc.orig or exc).__name__,
            )
            raise UpstreamError(
                f"connection {target.connection!r}: another refresh of this account did not "
                f"finish within {self._lock_timeout:g} s"
            ) from None
        if outcome.token is not None:
            if outcome.token.value != seen.value and self._on_refreshed is not None:
                self._on_refreshed(target.account_id)
            return outcome.token
        if outcome.rejected is not None:
            if self._on_refreshed is not None:
                self._on_refreshed(target.account_id)
            raise RefreshRejected(f"connection {target.connection!r}: {outcome.rejected}")
        if outcome.still_valid is not None:
            return outcome.still_valid
        raise UpstreamError(
            f"connection {target.connection!r}: token refresh failed: {outcome.failed}"
        )
