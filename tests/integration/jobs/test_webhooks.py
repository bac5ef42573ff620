"""Signed webhooks (SPEC §11) on the injected clock, on both databases, against a receiver on
127.0.0.1: an invalid_grant becomes exactly one signed message with the link that fixes it;
retries with backoff; a rotation's overlap; replay; the outbound guard."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from plugboard.domain.clock import ManualClock
from plugboard.domain.webhooks import RETRY_WINDOW
from plugboard.store.tables import webhook_endpoints
from plugboard.usecases.refresh import RefreshCoordinator
from plugboard.usecases.token_upkeep import refresh_due_tokens
from plugboard.usecases.webhooks import Webhooks
from tests.integration.jobs.support import OAuthWorld
from tests.integration.jobs.webhook_support import (
    admin_of,
    hmac_signatures,
    receiving,
    tick,
    verified_by_both,
)
from tests.stack import Actor


@pytest.fixture
def clock() -> ManualClock:
    # Receivers check webhook-timestamp against their own clock (5 minutes either way): the
    # injected clock starts at the real time and the tests move it by minutes at most.
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


def _refresh(oauth: OAuthWorld) -> None:
    coordinator = RefreshCoordinator(oauth.runtime)
    try:
        refresh_due_tokens(oauth.runtime, coordinator)
    finally:
        coordinator.close()


def test_invalid_grant_sends_exactly_one_signed_webhook_with_the_link_and_no_secret(
    oauth: OAuthWorld, members: Actor, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    oauth.connection("crm")
    oauth.authorize("crm", expires_in=600)
    clock.advance(1)
    hooks = Webhooks(oauth.runtime, admin_of(members))
    with receiving() as receiver:
        created = hooks.create(url=receiver.url, description="ops")
        assert created.webhook.events == ["*"] and created.secret.startswith("whsec_")
        clock.advance(1)
        oauth.provider.state.reject_refresh = True
        _refresh(oauth)
        assert tick(oauth.runtime) == {"made": 1, "delivered": 1}
        assert tick(oauth.runtime) == {"made": 0, "delivered": 0}  # idempotent
        assert len(receiver.received) == 1

    message = receiver.received[0]
    payload = verified_by_both(created.secret, message)
    assert payload["type"] == "authorization.expired"
    data = payload["data"]
    assert data["connection"] == "crm" and data["workspace"] == "acme"
    assert "invalid_grant" in data["detail"]
    link = data["link"]
    base = oauth.runtime.settings.base_url
    assert link.startswith(f"{base}/console/connections/crm/authorize?")
    assert parse_qs(urlsplit(link).query) == {"environment": ["all"], "workspace": ["acme"]}
    assert message.headers["content-type"] == "application/json"

    # No secret anywhere: not the provider's tokens, not the client secret, not the signing
    # secret (in the message, the records, the audit log or the logs).
    state = oauth.provider.state
    secrets = [*state.refresh_tokens, *state.access_tokens, created.secret,
               created.secret.removeprefix("whsec_")]  # fmt: skip
    sent = message.text + repr(message.headers)
    assert not any(s in sent for s in secrets) and "client_secret" not in sent
    [delivery] = hooks.deliveries(created.webhook.id)
    details = hooks.delivery(delivery.id)
    assert details.status == "delivered" and details.id == message.headers["webhook-id"]
    assert [(a.outcome, a.status_code, a.cause) for a in details.attempt_log] == [
        ("delivered", 200, "scheduled")
    ]
    shown = details.model_dump_json() + hooks.get(created.webhook.id).model_dump_json()
    with oauth.runtime.unit(write=False) as unit:
        shown += repr([a.detail for a in unit.audit.list(limit=500)])
    assert not any(s in shown or s in caplog.text for s in secrets)
    assert "webhook delivery" in caplog.text


def test_a_receiver_that_fails_twice_gets_the_third_attempt_after_the_backoff(
    oauth: OAuthWorld, members: Actor, clock: ManualClock
) -> None:
    hooks = Webhooks(oauth.runtime, admin_of(members))
    with receiving([500, 500]) as receiver:
        created = hooks.create(url=receiver.url, events=["connection.created"])
        oauth.connection("crm")
        assert tick(oauth.runtime) == {"made": 1, "delivered": 0}
        [pending] = hooks.deliveries(created.webhook.id)
        assert pending.status == "pending" and pending.last_status_code == 500
        assert pending.next_attempt_at is not None
        wait = (pending.next_attempt_at - clock.now()).total_seconds()
        assert 15 <= wait <= 30  # 30 s with jitter
        clock.advance(10)
        assert tick(oauth.runtime)["delivered"] == 0 and len(receiver.received) == 1
        clock.advance(20)
        assert tick(oauth.runtime)["delivered"] == 0 and len(receiver.received) == 2
        clock.advance(60)  # the second pause: 60 s with jitter
        assert tick(oauth.runtime)["delivered"] == 1 and len(receiver.received) == 3
        clock.advance(3600)
        tick(oauth.runtime)
        assert len(receiver.received) == 3  # delivered: never sent again

    ids = {m.headers["webhook-id"] for m in receiver.received}
    assert ids == {pending.id}  # the same message on every attempt
    for message in receiver.received:
        assert verified_by_both(created.secret, message)["type"] == "connection.created"
    log = hooks.delivery(pending.id).attempt_log
    assert [(a.number, a.outcome, a.status_code) for a in log] == [
        (1, "failed", 500), (2, "failed", 500), (3, "delivered", 200),
    ]  # fmt: skip
    assert log[0].response_excerpt == "status 500" and log[0].latency_ms >= 0
    assert log[0].error == "the endpoint answered 500"


def test_a_delivery_is_given_up_a_day_after_it_was_made(
    oauth: OAuthWorld, members: Actor, clock: ManualClock
) -> None:
    hooks = Webhooks(oauth.runtime, admin_of(members))
    with socket.socket() as closed:  # a port nobody listens on: every attempt is refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    created = hooks.create(url=f"http://127.0.0.1:{port}/hook")
    oauth.connection("crm")
    tick(oauth.runtime)
    made = clock.now()
    for _ in range(60):
        [delivery] = hooks.deliveries(created.webhook.id)
        if delivery.next_attempt_at is None:
            break
        clock.advance((delivery.next_attempt_at - clock.now()).total_seconds())
        tick(oauth.runtime)
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    log = hooks.delivery(delivery.id).attempt_log
    assert {a.outcome for a in log} == {"error"} and "ConnectError" in (log[0].error or "")
    assert log[-1].started_at <= made + RETRY_WINDOW
    assert clock.now() - made > RETRY_WINDOW - timedelta(hours=2)  # tried for most of a day
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in pairwise(log)]
    assert gaps[0] <= 30 and max(gaps) <= 2 * 3600 and gaps[5] > gaps[0] * 8  # it grows
    assert len(log) < 30


def test_rotation_signs_with_both_secrets_during_the_overlap_and_the_new_one_after(
    oauth: OAuthWorld, members: Actor, clock: ManualClock
) -> None:
    hooks = Webhooks(oauth.runtime, admin_of(members))
    with receiving() as receiver:
        created = hooks.create(url=receiver.url, events=["connection.created"])
        old = created.secret
        rotated = hooks.rotate(created.webhook.id, overlap_seconds=120)
        new = rotated.secret
        assert new != old and new.startswith("whsec_")
        assert rotated.webhook.previous_secret_valid_until == clock.now() + timedelta(seconds=120)
        oauth.connection("during")
        tick(oauth.runtime)
        clock.advance(121)
        oauth.connection("after")
        tick(oauth.runtime)
    during, after = receiver.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verified_by_both(old, during) == verified_by_both(new, during)
    assert verified_by_both(new, after)["data"]["connection"] == "after"
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)
    expected, carried = hmac_signatures(old, after.headers, after.body)
    assert expected not in carried
    # Neither secret is stored in the clear.
    with oauth.runtime.unit(write=False) as unit:
        [sealed] = unit.conn.execute(select(webhook_endpoints.c.secret_sealed)).scalars()
    assert old not in sealed and new not in sealed and old[6:] not in sealed


def test_replay_sends_the_same_payload_again_and_logs_a_new_attempt(
    oauth: OAuthWorld, members: Actor, clock: ManualClock
) -> None:
    hooks = Webhooks(oauth.runtime, admin_of(members))
    with receiving(echo=True) as receiver:
        created = hooks.create(url=receiver.url)
        oauth.connection("crm")
        tick(oauth.runtime)
        [delivery] = hooks.deliveries(created.webhook.id)
        clock.advance(30)
        replayed = hooks.replay(delivery.id)
    first, again = receiver.received
    assert again.body == first.body
    assert again.headers["webhook-id"] == first.headers["webhook-id"] == delivery.id
    assert int(again.headers["webhook-timestamp"]) == int(first.headers["webhook-timestamp"]) + 30
    assert verified_by_both(created.secret, again) == verified_by_both(created.secret, first)
    assert [(a.number, a.cause, a.outcome) for a in replayed.attempt_log] == [
        (1, "scheduled", "delivered"), (2, "replay", "delivered"),
    ]  # fmt: skip
    assert replayed.status == "delivered" and replayed.attempts == 2
    # The receiver echoed the headers: the signatures are redacted from the logged excerpt.
    signature = again.headers["webhook-signature"].split(",", 1)[1]
    excerpt = replayed.attempt_log[1].response_excerpt or ""
    assert "[redacted]" in excerpt and signature not in excerpt


def test_an_endpoint_on_a_blocked_address_is_refused_by_the_guard_and_logged(
    oauth: OAuthWorld, members: Actor, clock: ManualClock
) -> None:
    hooks = Webhooks(oauth.runtime, admin_of(members))
    created = hooks.create(url="https://169.254.169.254/latest/hook")
    oauth.connection("crm")
    assert tick(oauth.runtime) == {"made": 1, "delivered": 0}
    [delivery] = hooks.deliveries(created.webhook.id)
    [attempt] = hooks.delivery(delivery.id).attempt_log
    assert attempt.outcome == "blocked" and attempt.status_code is None
    assert attempt.error is not None and "169.254.169.254" in attempt.error
    assert delivery.status == "pending"  # the operator may still allow it: tried again later
