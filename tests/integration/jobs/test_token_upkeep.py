"""Tokens stay alive while idle (SPEC §5): the proactive refresh renews OAuth 2 authorizations
nobody uses before they expire, daily without an expiry, a bounded batch per tick, through the
same single-flight refresh as invoke -- on the injected clock, against the test provider."""

from __future__ import annotations

from plugboard.domain.clock import ManualClock
from plugboard.domain.models import AuthorizationStatus
from plugboard.usecases.refresh import RefreshCoordinator
from plugboard.usecases.token_upkeep import refresh_due_tokens
from tests.integration.jobs.support import OAuthWorld


def _tick(oauth: OAuthWorld) -> tuple[int, int, int]:
    coordinator = RefreshCoordinator(oauth.runtime)
    try:
        report = refresh_due_tokens(oauth.runtime, coordinator)
    finally:
        coordinator.close()
    return report.due, report.refreshed, report.expired


def test_an_unused_authorization_is_refreshed_before_it_expires(
    oauth: OAuthWorld, clock: ManualClock
) -> None:
    oauth.provider.state.rotate_refresh_tokens = True
    oauth.connection("crm")
    first = oauth.authorize("crm", expires_in=3600)
    assert _tick(oauth) == (0, 0, 0)  # an hour left: outside the 30-minute horizon
    clock.advance(2000)
    assert _tick(oauth) == (1, 1, 0)
    credential, found = oauth.stored("crm")
    assert credential.refresh_token != first  # rotated, and the new one stored
    assert (found.account.token_expires_at - clock.now()).total_seconds() > 3500
    assert oauth.provider.state.token_calls("refresh_token") == 1
    assert _tick(oauth) == (0, 0, 0)  # idempotent: nothing due any more
    clock.advance(2000)
    assert _tick(oauth) == (1, 1, 0)  # and again before the next expiry, with the new token
    assert oauth.provider.state.token_calls("refresh_token") == 2
    assert found.authorization.status is AuthorizationStatus.CONNECTED


def test_a_token_without_expiry_is_refreshed_daily(oauth: OAuthWorld, clock: ManualClock) -> None:
    oauth.connection("crm")
    oauth.authorize("crm", expires_in=None)
    clock.advance(23 * 3600)
    assert _tick(oauth) == (0, 0, 0)
    clock.advance(3600 + 1)
    assert _tick(oauth) == (1, 1, 0)
    _, found = oauth.stored("crm")
    assert found.account.refreshed_at == clock.now()
    assert _tick(oauth) == (0, 0, 0)


def test_many_expiring_together_are_taken_a_batch_per_tick(
    oauth: OAuthWorld, clock: ManualClock
) -> None:
    oauth.runtime.settings = oauth.runtime.settings.model_copy(update={"refresh_batch": 2})
    for n in range(5):
        oauth.connection(f"crm{n}")
        oauth.authorize(f"crm{n}", expires_in=600)
    assert [_tick(oauth)[1] for _ in range(4)] == [2, 2, 1, 0]
    assert oauth.provider.state.token_calls("refresh_token") == 5


def test_a_rejected_refresh_expires_the_authorization_once(
    oauth: OAuthWorld, clock: ManualClock
) -> None:
    oauth.connection("crm")
    oauth.authorize("crm", expires_in=600)
    oauth.provider.state.reject_refresh = True
    assert _tick(oauth) == (1, 0, 1)
    _, found = oauth.stored("crm")
    assert found.authorization.status is AuthorizationStatus.EXPIRED
    assert [e.type for e in oauth.events("authorization.expired")] == ["authorization.expired"]
    assert _tick(oauth) == (0, 0, 0)  # an expired authorization is not tried again
    assert len(oauth.events("authorization.expired")) == 1


def test_a_passing_failure_is_one_event_and_waits_for_the_cooldown(
    oauth: OAuthWorld, clock: ManualClock
) -> None:
    oauth.connection("crm")
    oauth.authorize("crm", expires_in=600)
    oauth.provider.state.fail_token_endpoint_with = 503
    assert _tick(oauth)[:2] == (1, 0)
    assert _tick(oauth) == (0, 0, 0)  # within the cooldown
    clock.advance(31)
    assert _tick(oauth)[:2] == (1, 0)
    assert len(oauth.events("authorization.refresh_failed")) == 1
    oauth.provider.state.fail_token_endpoint_with = None
    clock.advance(31)
    assert _tick(oauth) == (1, 1, 0)
    _, found = oauth.stored("crm")
    assert found.authorization.status is AuthorizationStatus.CONNECTED
