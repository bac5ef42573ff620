"""Tokens stay alive while idle (SPEC §5): the proactive refresh of OAuth 2 authorizations.

:func:`refresh_due_tokens` takes a bounded batch of due accounts (store/token_upkeep.py: expiring
within ``refresh_ahead_seconds``, or a day since the last refresh when the provider gives no
expiry), soonest first, and refreshes them one after another through the same
:class:`~plugboard.usecases.refresh.RefreshCoordinator` invoke uses -- its row lock and attempt
journal make it single-flight with invoke and with other workers. A thousand tokens expiring
together are taken ``refresh_batch`` per tick, never all at once.

Each account is refreshed unless its stored token changed since it was read (the coordinator's
"rejected" reason with the stored token as the one seen: "refresh this token unless someone
already has"), so a proactive refresh that races an invoke's makes no second token call. An
account that cannot be kept alive yet (no refresh token before its expiry, a deleted service) is
looked at again later instead of heading every batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from plugboard.auth.oauth2 import AccessToken
from plugboard.catalog import builtin_services
from plugboard.domain.credentials import OAuth2Credential, credential_from_data
from plugboard.domain.models import AuthType
from plugboard.domain.urls import substitute
from plugboard.errors import PlugboardError, UpstreamError
from plugboard.store.token_upkeep import DueAccount
from plugboard.store.unit import Unit
from plugboard.usecases.invoke_resolution import _oauth_client
from plugboard.usecases.refresh import RefreshCoordinator, RefreshRejected, RefreshTarget
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import resolve_service

__all__ = ["UpkeepReport", "refresh_due_tokens"]

log = logging.getLogger("plugboard.jobs.refresh")

LATER = timedelta(days=1)


@dataclass
class UpkeepReport:
    due: int = 0
    refreshed: int = 0
    expired: int = 0  # the provider refused: the authorization is expired (and people told)
    failed: int = 0  # a passing failure: tried again after the cooldown
    deferred: int = 0  # nothing to do yet: looked at again later


def _oauth2_builtins() -> list[str]:
    return [s.link_name for s in builtin_services().values() if s.auth_type is AuthType.OAUTH2]


def refresh_due_tokens(runtime: Runtime, coordinator: RefreshCoordinator) -> UpkeepReport:
    """One tick of the proactive refresh (idempotent: a second run finds nothing due)."""
    settings = runtime.settings
    with runtime.unit(write=False) as unit:
        due = unit.token_upkeep.due(
            unit.now(),
            horizon=timedelta(seconds=settings.refresh_ahead_seconds),
            oauth2_builtin_services=_oauth2_builtins(),
            cooldown=timedelta(seconds=settings.refresh_cooldown_seconds),
            limit=settings.refresh_batch,
        )
    report = UpkeepReport(due=len(due))
    for item in due:
        _keep_alive(runtime, coordinator, item, report)
    if due:
        log.info(
            "proactive refresh: %d due, %d refreshed, %d expired, %d failed, %d deferred",
            report.due, report.refreshed, report.expired, report.failed, report.deferred,
        )  # fmt: skip
    return report


def _keep_alive(
    runtime: Runtime, coordinator: RefreshCoordinator, item: DueAccount, report: UpkeepReport
) -> None:
    with runtime.unit(write=False) as unit:
        now = unit.now()
        try:
            planned = _plan(unit, item, now)
        except PlugboardError as exc:  # the service or its client is gone or broken
            planned = _Later(f"cannot refresh: {exc.message}", now + LATER)
    if isinstance(planned, _Later):
        with runtime.unit() as unit:
            unit.token_upkeep.look_again_at(item.account_id, planned.at, planned.note)
        report.deferred += 1
        return
    target = planned.target
    try:
        coordinator.refresh(target, planned.seen, "rejected")
    except RefreshRejected:
        report.expired += 1
        return
    except UpstreamError as exc:
        log.warning("proactive refresh of connection %r failed: %s", target.connection, exc)
        report.failed += 1
        return
    with runtime.unit() as unit:
        unit.token_upkeep.forget(item.account_id)
    report.refreshed += 1


@dataclass(frozen=True, slots=True)
class _Send:
    target: RefreshTarget
    seen: AccessToken


@dataclass(frozen=True, slots=True)
class _Later:
    note: str
    at: datetime


def _plan(unit: Unit, item: DueAccount, now: datetime) -> _Send | _Later:
    """What to send (the target and the token seen), or why not now and when to look again."""
    account = unit.accounts.find(item.account_id)
    if account is None:
        return _Later("the account is gone", now + LATER)
    credential = credential_from_data(account.credential)
    if not isinstance(credential, OAuth2Credential):
        return _Later("not an OAuth 2 credential", now + LATER * 30)
    expires = account.token_expires_at
    if credential.refresh_token is None and (expires is None or expires > now):
        # Nothing to renew it with; once it has expired, the refresh marks it expired (and the
        # people who can authorize it again are told).
        return _Later("no refresh token", expires or now + LATER * 30)
    connection = unit.connections.by_id(item.connection_id)
    definition = resolve_service(unit, item.workspace_id, connection.service_link_name).definition
    if definition.oauth2 is None:
        return _Later("the service is no longer OAuth 2", now + LATER * 30)
    client_id, client_secret = _oauth_client(unit, item.workspace_id, definition)
    target = RefreshTarget(
        account_id=account.id,
        connection=connection.link_name,
        token_url=substitute(definition.oauth2.effective_refresh_url, connection.dynamic_values),
        client_id=client_id,
        client_secret=client_secret,
        auth_method=definition.oauth2.token_endpoint_auth_method,
    )
    return _Send(target, AccessToken(credential.access_token, expires))
