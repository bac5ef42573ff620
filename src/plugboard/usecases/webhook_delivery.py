"""Webhook deliveries (SPEC §11): the events outbox's ``webhooks`` consumer, signing, sending.

- :func:`dispatch_webhook_events` reads the events this consumer has not processed and makes one
  delivery per (event, enabled endpoint of its workspace that wants its type and existed when it
  happened), in the transaction that marks the events processed: a second run makes nothing.
- :func:`deliver_due_webhooks` claims due deliveries for a lease and sends each through the
  runtime's outbound stack -- the same guard as invoke: an endpoint on a loopback, private or
  metadata address is refused unless the operator's allowlist names it, and redirects are not
  followed. Each attempt is logged (outcome, status, latency, a response excerpt with the
  endpoint's secrets and signatures removed). A failure is tried again with exponential backoff
  and jitter (domain/webhooks.py) until a day after the delivery was made; then it is given up.
- Signing is the Standard Webhooks way, with the ``standardwebhooks`` package: ``webhook-id``
  (the delivery's id, the same on every attempt and replay), ``webhook-timestamp`` (the injected
  clock's time of the attempt) and ``webhook-signature``, one ``v1,<base64 HMAC-SHA256 of
  id.timestamp.body>`` per secret -- two during a rotation's overlap. The body carries no secret.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx2
from standardwebhooks import Webhook

from plugboard._version import __version__
from plugboard.domain.webhooks import RETRY_WINDOW, EndpointSecrets, backoff_delay, wants
from plugboard.errors import NotFound, OutboundBlocked
from plugboard.store.events import StoredEvent
from plugboard.store.unit import Unit
from plugboard.store.webhooks import StoredAttempt, StoredDelivery
from plugboard.usecases.notifications import authorize_link
from plugboard.usecases.runtime import Runtime

__all__ = [
    "CONSUMER",
    "deliver_due_webhooks",
    "dispatch_webhook_events",
    "payload_of",
    "send_delivery",
    "signature_headers",
]

log = logging.getLogger("plugboard.jobs.webhooks")

CONSUMER = "webhooks"
LEASE = timedelta(minutes=2)
TIMEOUT_SECONDS = 15.0
_EXCERPT = 300
_READ_AT_MOST = 4096
# Event payload fields that are internal ids of people: the webhook names the user instead.
_INTERNAL = frozenset({"actor_user_id", "owner_user_id"})


# -- the outbox consumer ------------------------------------------------------------------------


def payload_of(unit: Unit, base_url: str, event: StoredEvent) -> dict[str, Any]:
    """The JSON a webhook carries for an event: its type, time and public fields (names,
    statuses, the provider's error) -- never a credential. An authorization event carries the
    link to the page that authorizes that connection and environment again."""
    workspace = unit.workspaces.by_id(event.workspace_id)
    data: dict[str, Any] = {k: v for k, v in event.payload.items() if k not in _INTERNAL}
    data.update(event_id=event.id, workspace=workspace.name, actor=event.actor)
    if event.environment is not None:
        data["environment"] = event.environment
    if event.user_id is not None:
        try:
            data["user"] = unit.users.by_id(event.user_id).email
        except NotFound:  # the member is gone since
            data["user"] = None
    if event.type.startswith("authorization.") and isinstance(data.get("connection"), str):
        data["link"] = authorize_link(
            base_url, workspace.name, data["connection"], event.environment
        )
    return {"type": event.type, "timestamp": event.created_at.isoformat(), "data": data}


def dispatch_webhook_events(runtime: Runtime, *, limit: int = 200) -> int:
    """Turn pending events into deliveries (one transaction); returns how many it made."""
    with runtime.unit() as unit:
        now = unit.now()
        pending = unit.events.pending(CONSUMER, now, limit=limit)
        endpoints: dict[str, Any] = {}
        made = 0
        for event in pending:
            if event.workspace_id not in endpoints:
                endpoints[event.workspace_id] = unit.webhooks.endpoints(
                    event.workspace_id, enabled_only=True
                )
            wanted = [
                e for e in endpoints[event.workspace_id]
                if wants(e.event_types, event.type) and e.created_at <= event.created_at
            ]  # fmt: skip
            if not wanted:
                continue
            body = json.dumps(payload_of(unit, runtime.settings.base_url, event))
            for endpoint in wanted:
                made += unit.webhooks.add_delivery(
                    endpoint_id=endpoint.id, workspace_id=event.workspace_id, event_id=event.id,
                    event_type=event.type, body=body, now=now, give_up_at=now + RETRY_WINDOW,
                )  # fmt: skip
        unit.events.mark_processed(CONSUMER, [e.id for e in pending], now)
    return made


# -- signing and sending ------------------------------------------------------------------------


def signature_headers(
    message_id: str, at: datetime, body: str, secrets: Sequence[str]
) -> dict[str, str]:
    """The Standard Webhooks headers of a message, signed with each of ``secrets``."""
    signatures = " ".join(Webhook(s).sign(message_id, at, body) for s in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": f"Plugboard-Webhooks/{__version__}",
    }


@dataclass(frozen=True, slots=True)
class _Outcome:
    outcome: str
    status_code: int | None = None
    excerpt: str | None = None
    error: str | None = None


def _scrub(text: str | None, secrets: EndpointSecrets, headers: dict[str, str]) -> str | None:
    """``text`` without the endpoint's secrets or this attempt's signatures (a receiver may echo
    what it got), cut to the excerpt's length."""
    if text is None:
        return None
    hidden = [s for s in (secrets.current, secrets.previous) if s]
    hidden += [s.removeprefix("whsec_") for s in hidden]
    hidden += [v.split(",", 1)[-1] for v in headers["webhook-signature"].split(" ")]
    for value in hidden:
        text = text.replace(value, "[redacted]")
    return text[:_EXCERPT]


def _post(client: httpx2.Client, url: str, body: str, headers: dict[str, str]) -> _Outcome:
    try:
        with client.stream("POST", url, content=body.encode(), headers=headers) as response:
            read = b""
            for chunk in response.iter_bytes():
                read += chunk
                if len(read) >= _READ_AT_MOST:
                    break
        ok = 200 <= response.status_code < 300
        return _Outcome(
            "delivered" if ok else "failed",
            response.status_code,
            read.decode("utf-8", "replace"),
            None if ok else f"the endpoint answered {response.status_code}",
        )
    except OutboundBlocked as exc:
        return _Outcome("blocked", error=exc.message)
    except httpx2.HTTPError as exc:
        return _Outcome("error", error=f"{type(exc).__name__}: {exc}")


def send_delivery(
    runtime: Runtime,
    client: httpx2.Client,
    delivery: StoredDelivery,
    *,
    cause: str = "scheduled",
    give_up_at: datetime | None = None,
) -> StoredAttempt | None:
    """One attempt of a (claimed) delivery, logged; None when its endpoint is gone."""
    try:
        with runtime.unit(write=False) as unit:
            endpoint = unit.webhooks.endpoint(delivery.workspace_id, delivery.endpoint_id)
            secrets = unit.webhooks.secrets(endpoint.id)
            started_at = unit.now()
    except NotFound:
        return None
    signing = secrets.signing(started_at, endpoint.previous_valid_until)
    headers = signature_headers(delivery.id, started_at, delivery.body, signing)
    began = time.monotonic()
    result = _post(client, endpoint.url, delivery.body, headers)
    latency_ms = int((time.monotonic() - began) * 1000)
    try:
        with runtime.unit() as unit:
            current = unit.webhooks.delivery(delivery.workspace_id, delivery.id)
            now = unit.now()
            deadline = give_up_at or current.give_up_at
            following = now + backoff_delay(current.attempts + 1)
            attempt = unit.webhooks.record_attempt(
                current, cause=cause, started_at=started_at, outcome=result.outcome,
                status_code=result.status_code, latency_ms=latency_ms,
                response_excerpt=_scrub(result.excerpt, secrets, headers),
                error=_scrub(result.error, secrets, headers),
                next_attempt_at=following if following <= deadline else None,
                give_up_at=give_up_at,
            )  # fmt: skip
    except NotFound:
        return None
    log.info(
        "webhook delivery %s (%s) attempt %d: %s %s in %d ms",
        delivery.id, delivery.event_type, attempt.number, attempt.outcome,
        attempt.status_code or "-", latency_ms,
    )  # fmt: skip
    return attempt


def deliver_due_webhooks(runtime: Runtime, *, limit: int = 20) -> int:
    """Send the due deliveries (claimed for a lease); returns how many were delivered."""
    with runtime.unit() as unit:
        claimed = unit.webhooks.claim_due(unit.now(), LEASE, limit=limit)
    if not claimed:
        return 0
    delivered = 0
    with runtime.outbound.client(timeout=TIMEOUT_SECONDS) as client:
        for delivery in claimed:
            attempt = send_delivery(runtime, client, delivery)
            delivered += attempt is not None and attempt.outcome == "delivered"
    return delivered


def replay_delivery(runtime: Runtime, delivery: StoredDelivery) -> StoredAttempt | None:
    """Send a delivery again now (the same id and body, a new timestamp and signature); if it
    fails it is tried again on the backoff schedule for a day from now."""
    with runtime.unit() as unit:
        now = unit.now()
        unit.webhooks.claim([delivery.id], now + LEASE)
    with runtime.outbound.client(timeout=TIMEOUT_SECONDS) as client:
        return send_delivery(
            runtime, client, delivery, cause="replay", give_up_at=now + RETRY_WINDOW
        )


def run_webhooks(runtime: Runtime) -> dict[str, int]:
    """The job: fan out new events, then send what is due."""
    made = dispatch_webhook_events(runtime)
    return {"made": made, "delivered": deliver_due_webhooks(runtime)}
