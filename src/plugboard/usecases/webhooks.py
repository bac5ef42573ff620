"""Webhook endpoints as a usecase service bound to (runtime, actor), like ``Apps``: each call
owns its transaction, checks ``manage_webhooks`` (workspace admins and super admins), audits
what it changes and returns public records.

The signing secret is answered once, by :meth:`Webhooks.create` and :meth:`Webhooks.rotate`;
it is stored sealed and appears in no other answer, log or audit entry. A rotation keeps the
previous secret signing beside the new one until the overlap ends, so receivers can switch
without losing a message.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence

from plugboard.domain.models import Workspace
from plugboard.domain.permissions import Action, require
from plugboard.domain.principal import Principal
from plugboard.domain.webhooks import (
    EndpointSecrets,
    check_event_types,
    check_overlap,
    check_url,
    new_secret,
)
from plugboard.errors import ValidationError
from plugboard.records.webhooks import (
    WebhookAttemptPublic,
    WebhookCreated,
    WebhookDeliveryDetails,
    WebhookDeliveryPublic,
    WebhookPublic,
    WebhookSecretIssued,
)
from plugboard.store.unit import Unit
from plugboard.store.webhooks import StoredAttempt, StoredDelivery, StoredEndpoint
from plugboard.usecases.identity import workspace_for
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.webhook_delivery import replay_delivery

__all__ = ["Webhooks"]

_STATUSES = ("pending", "delivered", "failed")


def _public(endpoint: StoredEndpoint) -> WebhookPublic:
    return WebhookPublic(
        id=endpoint.id, url=endpoint.url, events=endpoint.event_types,
        description=endpoint.description, enabled=endpoint.enabled,
        created_at=endpoint.created_at, rotated_at=endpoint.rotated_at,
        previous_secret_valid_until=endpoint.previous_valid_until,
    )  # fmt: skip


def _delivery(d: StoredDelivery) -> WebhookDeliveryPublic:
    return WebhookDeliveryPublic(
        id=d.id, webhook_id=d.endpoint_id, event_id=d.event_id, event_type=d.event_type,
        status=d.status, attempts=d.attempts, next_attempt_at=d.next_attempt_at,
        give_up_at=d.give_up_at, last_status_code=d.last_status_code, created_at=d.created_at,
        delivered_at=d.delivered_at,
    )  # fmt: skip


def _attempt(a: StoredAttempt) -> WebhookAttemptPublic:
    return WebhookAttemptPublic(
        number=a.number, cause=a.cause, started_at=a.started_at, outcome=a.outcome,
        status_code=a.status_code, latency_ms=a.latency_ms,
        response_excerpt=a.response_excerpt, error=a.error,
    )  # fmt: skip


def _details(d: StoredDelivery, attempts: Sequence[StoredAttempt]) -> WebhookDeliveryDetails:
    return WebhookDeliveryDetails(
        **_delivery(d).model_dump(),
        payload=json.loads(d.body),
        attempt_log=[_attempt(a) for a in attempts],
    )


class Webhooks:
    """A workspace's webhook endpoints and their deliveries (SPEC §11)."""

    def __init__(self, runtime: Runtime, actor: Principal, workspace: str | None = None) -> None:
        self._runtime = runtime
        self._actor = actor
        self._workspace = workspace

    def _workspace_of(self, unit: Unit) -> Workspace:
        workspace = workspace_for(unit, self._actor, self._workspace)
        require(self._actor, Action.MANAGE_WEBHOOKS)
        return workspace

    def _audit(
        self, unit: Unit, action: str, workspace: Workspace, webhook_id: str, **detail: object
    ) -> None:
        unit.record(
            actor=self._actor, action=f"webhook.{action}", object_type="webhook",
            object_id=webhook_id, workspace_id=workspace.id, detail=detail,
        )  # fmt: skip

    # -- endpoints --------------------------------------------------------------------------------

    def list(self) -> builtins.list[WebhookPublic]:
        with self._runtime.unit(write=False) as unit:
            workspace = self._workspace_of(unit)
            return [_public(e) for e in unit.webhooks.endpoints(workspace.id)]

    def get(self, webhook_id: str) -> WebhookPublic:
        with self._runtime.unit(write=False) as unit:
            workspace = self._workspace_of(unit)
            return _public(unit.webhooks.endpoint(workspace.id, webhook_id))

    def create(
        self,
        *,
        url: str,
        events: Sequence[str] | None = None,
        description: str | None = None,
    ) -> WebhookCreated:
        """A new endpoint and its signing secret, answered this once."""
        checked = check_url(url, self._runtime.settings.allow_http_host_entries)
        types = check_event_types(events)
        if description is not None and len(description) > 200:
            raise ValidationError("description", "must be at most 200 characters")
        secret = new_secret()
        with self._runtime.unit() as unit:
            workspace = self._workspace_of(unit)
            endpoint = unit.webhooks.add_endpoint(
                workspace_id=workspace.id, url=checked, event_types=types,
                description=description or None, secrets=EndpointSecrets(secret),
                created_by=self._actor.user_id, now=unit.now(),
            )  # fmt: skip
            self._audit(unit, "create", workspace, endpoint.id, url=checked, events=types)
        return WebhookCreated(webhook=_public(endpoint), secret=secret)

    def rotate(
        self, webhook_id: str, *, overlap_seconds: float | None = None
    ) -> WebhookSecretIssued:
        """A new secret, answered this once; the current one keeps signing beside it for the
        overlap (default a day; 0 ends it at once)."""
        overlap = check_overlap(overlap_seconds)
        secret = new_secret()
        with self._runtime.unit() as unit:
            workspace = self._workspace_of(unit)
            endpoint = unit.webhooks.endpoint(workspace.id, webhook_id)
            now = unit.now()
            current = unit.webhooks.secrets(endpoint.id).current
            unit.webhooks.rotate(endpoint.id, EndpointSecrets(secret, current), now + overlap, now)
            self._audit(
                unit, "rotate", workspace, endpoint.id, overlap_seconds=overlap.total_seconds()
            )
            endpoint = unit.webhooks.endpoint(workspace.id, webhook_id)
        return WebhookSecretIssued(webhook=_public(endpoint), secret=secret)

    def delete(self, webhook_id: str) -> None:
        """The endpoint, its deliveries and their attempts."""
        with self._runtime.unit() as unit:
            workspace = self._workspace_of(unit)
            endpoint = unit.webhooks.endpoint(workspace.id, webhook_id)
            unit.webhooks.delete_endpoint(endpoint.id)
            self._audit(unit, "delete", workspace, endpoint.id, url=endpoint.url)

    # -- deliveries -------------------------------------------------------------------------------

    def deliveries(
        self, webhook_id: str, *, status: str | None = None, limit: int = 50
    ) -> builtins.list[WebhookDeliveryPublic]:
        """The endpoint's deliveries, newest first."""
        if status is not None and status not in _STATUSES:
            raise ValidationError("status", f"must be one of {', '.join(_STATUSES)}")
        with self._runtime.unit(write=False) as unit:
            workspace = self._workspace_of(unit)
            endpoint = unit.webhooks.endpoint(workspace.id, webhook_id)
            found = unit.webhooks.deliveries(
                endpoint.id, status=status, limit=max(1, min(limit, 200))
            )
        return [_delivery(d) for d in found]

    def delivery(self, delivery_id: str) -> WebhookDeliveryDetails:
        """A delivery with its payload and every attempt."""
        with self._runtime.unit(write=False) as unit:
            workspace = self._workspace_of(unit)
            found = unit.webhooks.delivery(workspace.id, delivery_id)
            return _details(found, unit.webhooks.attempts(found.id))

    def replay(self, delivery_id: str) -> WebhookDeliveryDetails:
        """Send a delivery again now: the same webhook-id and payload, newly signed; the
        attempt is logged (and, if it fails, retried for a day)."""
        with self._runtime.unit() as unit:
            workspace = self._workspace_of(unit)
            found = unit.webhooks.delivery(workspace.id, delivery_id)
            self._audit(unit, "replay", workspace, found.endpoint_id, delivery=found.id)
        replay_delivery(self._runtime, found)
        return self.delivery(delivery_id)
