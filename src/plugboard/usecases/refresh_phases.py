"""The locked part of an OAuth 2 refresh: two short transactions on the locked account row
(see :mod:`plugboard.usecases.refresh` for the whole design).

Phase 1 (:meth:`LockedRefresh._begin`) decides whether to refresh at all and records the
attempt in the journal, committed before anything is sent. Phase 2
(:meth:`LockedRefresh._exchange`) checks the attempt is still this one's, sends it and stores
the provider's answer in that same transaction.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

import httpx2

from plugboard.auth.oauth2 import AccessToken, RefreshReason
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
from plugboard.usecases.events import record_expiry_events, record_refresh_failure_event
from plugboard.usecases.refresh_records import Attempt, Outcome, RefreshTarget
from plugboard.usecases.runtime import Runtime

__all__ = ["LockedRefresh"]

log = logging.getLogger("plugboard.refresh")

_TAKEOVERS = 8  # phase-1/phase-2 rounds before giving up when other processes keep taking over
_MIN_RETRY_PAUSE = 0.2
_POLL_SECONDS = 0.05


class LockedRefresh:
    """The store side of a refresh: the row lock, the attempt journal and the token request
    (through ``http``, a guarded client with the token request's timeout)."""

    def __init__(self, runtime: Runtime, http: httpx2.Client) -> None:
        self._runtime = runtime
        settings = runtime.settings
        self._skew = settings.refresh_skew_seconds
        self._cooldown = settings.refresh_cooldown_seconds
        self._token_timeout = settings.token_request_timeout_seconds
        self._lock_timeout = settings.refresh_lock_timeout_seconds
        self._http = http
        self.token_requests = 0  # how many requests were sent to token endpoints

    @property
    def _lease(self) -> float:
        """How long a recorded attempt of another process is presumed to be in progress."""
        return self._token_timeout + min(1.0, self._token_timeout)

    def run(self, target: RefreshTarget, seen: AccessToken, reason: RefreshReason) -> Outcome:
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
            record_refresh_failure_event(
                unit, account.id, message, first=account.refresh_failed_at is None
            )
            unit.accounts.record_refresh_failure(account.id, message, now)
            log.warning("refresh of connection %r failed: %s", target.connection, message)
            return Outcome(failed=message, still_valid=attempt.still_valid)

    def _pause_for(self, attempt: Attempt, now: datetime) -> None:
        started = attempt.earlier.started_at if attempt.earlier is not None else now
        left = (started - now).total_seconds() + self._token_timeout
        time.sleep(min(max(left, _MIN_RETRY_PAUSE), self._token_timeout))

    def _expire(self, unit: Any, account: Any, detail: str, error: str, now: datetime) -> None:
        record_expiry_events(unit, account.id, detail)
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
