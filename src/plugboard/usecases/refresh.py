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
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import Any

import anyio.to_thread
from sqlalchemy.exc import OperationalError

from plugboard.auth.oauth2 import AccessToken, RefreshReason
from plugboard.auth.outbound_stack import Outbound
from plugboard.auth.token_endpoint import request_token
from plugboard.domain.authorizations import (
    cooldown_remaining,
    is_stale,
    merge_grant,
    parse_token_response,
)
from plugboard.domain.credentials import (
    OAuth2Credential,
    credential_from_data,
    credential_to_data,
)
from plugboard.domain.models import AuthorizationStatus
from plugboard.errors import UpstreamError, ValidationError
from plugboard.usecases.refresh_records import Attempt, Outcome, RefreshRejected, RefreshTarget
from plugboard.usecases.runtime import Runtime

__all__ = ["RefreshCoordinator", "RefreshRejected", "RefreshTarget"]

log = logging.getLogger("plugboard.refresh")

_TAKEOVERS = 8  # phase-1/phase-2 rounds before giving up when other processes keep taking over
_MIN_RETRY_PAUSE = 0.2
_POLL_SECONDS = 0.05


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
        self._cooldown = settings.refresh_cooldown_seconds
        self._token_timeout = settings.token_request_timeout_seconds
        self._lock_timeout = settings.refresh_lock_timeout_seconds
        self._http = (outbound or runtime.outbound).client(timeout=self._token_timeout)
        self._on_refreshed = on_refreshed
        self._guard = threading.Lock()
        self._flights: dict[str, Future[AccessToken]] = {}
        self._recent: dict[str, AccessToken] = {}
        self.token_requests = 0  # how many requests this coordinator sent to token endpoints

    def close(self) -> None:
        self._http.close()

    @property
    def _lease(self) -> float:
        """How long a recorded attempt of another process is presumed to be in progress."""
        return self._token_timeout + min(1.0, self._token_timeout)

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
            outcome = self._two_phases(target, seen, reason)
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

    def _two_phases(
        self, target: RefreshTarget, seen: AccessToken, reason: RefreshReason
    ) -> Outcome:
        """Record the attempt (committed), then send it and store the answer. An attempt of
        another process that has just been recorded is waited for (it is about to be sent under
        the lock, or was); one older than the token request's timeout is taken over."""
        waiting_since: float | None = None
        takeovers = 0
        while True:
            take_over = (
                waiting_since is not None and time.monotonic() - waiting_since >= self._lease
            )
            started = self._begin(target, seen, reason, take_over=take_over)
            if started is None:
                waiting_since = waiting_since or time.monotonic()
                time.sleep(_POLL_SECONDS)
                continue
            if isinstance(started, Outcome):
                return started
            outcome = self._exchange(target, started)
            if outcome is not None:
                return outcome
            takeovers += 1
            if takeovers >= _TAKEOVERS:
                raise UpstreamError(
                    f"connection {target.connection!r}: other refreshes of this account kept "
                    "taking over this one"
                )

    def _begin(
        self, target: RefreshTarget, seen: AccessToken, reason: RefreshReason, *, take_over: bool
    ) -> Outcome | Attempt | None:
        """Phase 1, one short transaction on the locked account: decide whether to refresh at
        all and, if so, record the attempt in the journal before anything is sent. None while
        another process's recent attempt is pending."""
        with self._runtime.unit(write=True) as unit:
            account = unit.accounts.lock(target.account_id, lock_timeout_seconds=self._lock_timeout)
            if account is None:
                return Outcome(rejected="the authorization was revoked")
            credential = credential_from_data(account.credential)
            if not isinstance(credential, OAuth2Credential):
                raise ValidationError("credential.type", "only OAuth 2 credentials refresh")
            now = unit.now()
            stored = AccessToken(credential.access_token, account.token_expires_at)
            stale = is_stale(stored.expires_at, now, self._skew)
            if not stale and not (reason == "rejected" and stored.value == seen.value):
                return Outcome(token=stored)  # someone else refreshed it already

            # Transient failures never hide a token that still works.
            still_valid = (
                stored
                if reason == "expiring" and (stored.expires_at is None or stored.expires_at > now)
                else None
            )
            wait = cooldown_remaining(account.refresh_failed_at, now, self._cooldown)
            if wait > 0:
                return Outcome(
                    failed=f"{account.refresh_error or 'the last refresh failed'}; next attempt "
                    f"in {wait:.0f} s",
                    still_valid=still_valid,
                )
            if credential.refresh_token is None:
                detail = "the access token expired and there is no refresh token"
                self._expire(unit, account, detail, "no refresh token", now)
                return Outcome(rejected=detail)
            earlier = unit.refresh_journal.pending(account.id)
            # An earlier attempt with this very refresh token has no stored answer: the
            # provider may have rotated it already (the answer was lost).
            lost = earlier is not None and earlier.refresh_token == credential.refresh_token
            if lost and earlier is not None and not take_over:
                if (now - earlier.started_at).total_seconds() < self._lease:
                    return None
            attempt = unit.refresh_journal.record(account.id, credential.refresh_token, now)
            return Attempt(attempt.id, attempt.refresh_token, lost, earlier, still_valid)

    def _exchange(self, target: RefreshTarget, attempt: Attempt) -> Outcome | None:
        """Phase 2 on the locked account: send the recorded attempt and store the answer the
        moment it arrives, in this short transaction (the journal record goes with it). None
        when another process took the attempt over since phase 1: start again."""
        with self._runtime.unit(write=True) as unit:
            account = unit.accounts.lock(target.account_id, lock_timeout_seconds=self._lock_timeout)
            if account is None:
                return Outcome(rejected="the authorization was revoked")
            pending = unit.refresh_journal.pending(account.id)
            credential = credential_from_data(account.credential)
            if (
                pending is None
                or pending.id != attempt.id
                or not isinstance(credential, OAuth2Credential)
                or credential.refresh_token != attempt.refresh_token
            ):
                return None
            answer = self._token_request(target, attempt.refresh_token)
            if attempt.lost and not isinstance(answer, dict) and answer[1] == "invalid_grant":
                # The lost request may still be in progress at the provider (which may refuse a
                # token in use) or have rotated the token (a reuse grace period accepts the old
                # one): wait until that request's own timeout, then retry the old token once.
                self._pause_for(attempt, unit.now())
                answer = self._token_request(target, attempt.refresh_token)
            now = unit.now()
            if isinstance(answer, dict):
                try:
                    grant = parse_token_response(answer, now)
                except ValidationError as exc:
                    unit.refresh_journal.clear(account.id)
                    unit.accounts.record_refresh_failure(account.id, exc.message, now)
                    return Outcome(failed=exc.message, still_valid=attempt.still_valid)
                merged = merge_grant(credential, grant)
                unit.accounts.save_refreshed(
                    account.id, credential_to_data(merged), grant.expires_at, now
                )
                unit.refresh_journal.clear(account.id)
                log.info("refreshed the access token of connection %r", target.connection)
                return Outcome(token=AccessToken(merged.access_token, grant.expires_at))
            status, error = answer
            if error == "invalid_grant":
                detail = "the provider rejected the refresh token (invalid_grant)"
                unit.refresh_journal.clear(account.id)
                self._expire(unit, account, detail, "invalid_grant", now)
                log.warning("refresh of connection %r: invalid_grant", target.connection)
                return Outcome(rejected=detail)
            message = (
                f"token endpoint answered {status}" + (f" ({error})" if error else "")
                if status
                else f"token endpoint unreachable ({error})"
            )
            if status:
                # An answer that issued nothing; without one (a timeout, a reset) the attempt
                # stays recorded: the provider may have rotated the token all the same.
                unit.refresh_journal.clear(account.id)
            unit.accounts.record_refresh_failure(account.id, message, now)
            log.warning("refresh of connection %r failed: %s", target.connection, message)
            return Outcome(failed=message, still_valid=attempt.still_valid)

    def _pause_for(self, attempt: Attempt, now: datetime) -> None:
        started = attempt.earlier.started_at if attempt.earlier is not None else now
        left = (started - now).total_seconds() + self._token_timeout
        time.sleep(min(max(left, _MIN_RETRY_PAUSE), self._token_timeout))

    def _expire(self, unit: Any, account: Any, detail: str, error: str, now: datetime) -> None:
        unit.accounts.mark_authorizations_of(account.id, AuthorizationStatus.EXPIRED, detail, now)
        unit.accounts.record_refresh_failure(account.id, error, now)
        self._audit_expired(unit, account.workspace_id, account.connection_id, detail)

    def _audit_expired(self, unit: Any, workspace_id: str, connection_id: str, detail: str) -> None:
        unit.audit.record(
            actor="system:refresh",
            action="authorization.expire",
            object_type="connection",
            object_id=connection_id,
            workspace_id=workspace_id,
            now=unit.now(),
            outcome="failed",
            detail={"reason": detail},
        )

    def _token_request(
        self, target: RefreshTarget, refresh_token: str
    ) -> dict[str, Any] | tuple[int, str | None]:
        """The decoded success response, or (status, OAuth error code); status 0 when the
        endpoint could not be reached."""
        self.token_requests += 1
        answer = request_token(
            self._http,
            target.token_url,
            "refresh_token",
            {"refresh_token": refresh_token},
            client_id=target.client_id,
            client_secret=target.client_secret,
            auth_method=target.auth_method,
        )
        return answer if isinstance(answer, dict) else (answer.status, answer.error)
