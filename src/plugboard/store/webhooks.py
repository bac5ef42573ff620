"""Webhook endpoints (their secrets sealed), deliveries and attempts (SPEC §11).

A delivery is made once per (endpoint, event) -- the unique constraint makes the outbox
consumer's fan-out idempotent. A sender claims due deliveries for a lease (``claimed_until``;
``SKIP LOCKED`` on PostgreSQL, so workers never take the same one), sends, and records the
attempt and the next step in one transaction; a sender that dies leaves the claim to lapse and
the delivery to be tried again (at least once).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from plugboard.crypto.sealing import Sealer
from plugboard.domain.ids import new_id, new_sortable_id
from plugboard.domain.webhooks import EndpointSecrets
from plugboard.errors import NotFound
from plugboard.store.sealed import open_json, seal_json
from plugboard.store.tables import webhook_attempts, webhook_deliveries, webhook_endpoints

__all__ = ["StoredAttempt", "StoredDelivery", "StoredEndpoint", "WebhookRepository"]

_SECRET = "secret_sealed"


@dataclass(frozen=True, slots=True)
class StoredEndpoint:
    id: str
    workspace_id: str
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    previous_valid_until: datetime | None
    created_by: str | None
    created_at: datetime
    rotated_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    id: str
    endpoint_id: str
    workspace_id: str
    event_id: str
    event_type: str
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    give_up_at: datetime
    last_status_code: int | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredAttempt:
    id: str
    delivery_id: str
    number: int
    cause: str
    started_at: datetime
    outcome: str
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None


def _endpoint(row: Any) -> StoredEndpoint:
    fields = StoredEndpoint.__dataclass_fields__
    values = {f: getattr(row, f) for f in fields}
    values["event_types"] = list(row.event_types)
    return StoredEndpoint(**values)


def _delivery(row: Any) -> StoredDelivery:
    return StoredDelivery(**{f: getattr(row, f) for f in StoredDelivery.__dataclass_fields__})


def _attempt(row: Any) -> StoredAttempt:
    return StoredAttempt(**{f: getattr(row, f) for f in StoredAttempt.__dataclass_fields__})


class WebhookRepository:
    def __init__(self, conn: Connection, sealer: Sealer) -> None:
        self._conn = conn
        self._sealer = sealer

    # -- endpoints ------------------------------------------------------------------------------

    def add_endpoint(
        self,
        *,
        workspace_id: str,
        url: str,
        event_types: builtins.list[str],
        description: str | None,
        secrets: EndpointSecrets,
        created_by: str | None,
        now: datetime,
    ) -> StoredEndpoint:
        endpoint_id = new_id("whe")
        sealed = seal_json(self._sealer, webhook_endpoints, _SECRET, endpoint_id, secrets.as_data())
        self._conn.execute(
            insert(webhook_endpoints).values(
                id=endpoint_id,
                workspace_id=workspace_id,
                url=url,
                event_types=event_types,
                description=description,
                enabled=True,
                secret_sealed=sealed,
                created_by=created_by,
                created_at=now,
            )  # fmt: skip
        )
        return self.endpoint(workspace_id, endpoint_id)

    def endpoint(self, workspace_id: str, endpoint_id: str) -> StoredEndpoint:
        """The workspace's endpoint; another workspace's is not found."""
        row = self._conn.execute(
            select(webhook_endpoints).where(
                webhook_endpoints.c.id == endpoint_id,
                webhook_endpoints.c.workspace_id == workspace_id,
            )
        ).first()
        if row is None:
            raise NotFound("webhook", endpoint_id)
        return _endpoint(row)

    def endpoints(
        self, workspace_id: str, *, enabled_only: bool = False
    ) -> builtins.list[StoredEndpoint]:
        query = (
            select(webhook_endpoints)
            .where(webhook_endpoints.c.workspace_id == workspace_id)
            .order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id)
        )
        if enabled_only:
            query = query.where(webhook_endpoints.c.enabled.is_(True))
        return [_endpoint(r) for r in self._conn.execute(query)]

    def secrets(self, endpoint_id: str) -> EndpointSecrets:
        sealed = self._conn.execute(
            select(webhook_endpoints.c.secret_sealed).where(webhook_endpoints.c.id == endpoint_id)
        ).scalar_one()
        return EndpointSecrets.of(
            open_json(self._sealer, webhook_endpoints, _SECRET, endpoint_id, sealed)
        )

    def rotate(
        self,
        endpoint_id: str,
        secrets: EndpointSecrets,
        previous_valid_until: datetime,
        now: datetime,
    ) -> None:
        sealed = seal_json(self._sealer, webhook_endpoints, _SECRET, endpoint_id, secrets.as_data())
        self._conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id)
            .values(secret_sealed=sealed, previous_valid_until=previous_valid_until, rotated_at=now)
        )

    def delete_endpoint(self, endpoint_id: str) -> None:
        self._conn.execute(delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))

    # -- deliveries -----------------------------------------------------------------------------

    def add_delivery(
        self,
        *,
        endpoint_id: str,
        workspace_id: str,
        event_id: str,
        event_type: str,
        body: str,
        now: datetime,
        give_up_at: datetime,
    ) -> bool:
        """Make the delivery of this event to this endpoint, due now, unless it exists."""
        values = {
            "id": new_sortable_id("msg"), "endpoint_id": endpoint_id,
            "workspace_id": workspace_id, "event_id": event_id, "event_type": event_type,
            "body": body, "status": "pending", "attempts": 0, "next_attempt_at": now,
            "give_up_at": give_up_at, "created_at": now,
        }  # fmt: skip
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(webhook_deliveries)
            .values(values)
            .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
            .returning(webhook_deliveries.c.id)
        )
        # RETURNING, not rowcount: psycopg reports no count for ON CONFLICT DO NOTHING.
        return self._conn.execute(statement).first() is not None

    def delivery(self, workspace_id: str, delivery_id: str) -> StoredDelivery:
        row = self._conn.execute(
            select(webhook_deliveries).where(
                webhook_deliveries.c.id == delivery_id,
                webhook_deliveries.c.workspace_id == workspace_id,
            )
        ).first()
        if row is None:
            raise NotFound("webhook delivery", delivery_id)
        return _delivery(row)

    def deliveries(
        self, endpoint_id: str, *, status: str | None = None, limit: int = 50
    ) -> builtins.list[StoredDelivery]:
        """Newest first."""
        query = (
            select(webhook_deliveries)
            .where(webhook_deliveries.c.endpoint_id == endpoint_id)
            .order_by(webhook_deliveries.c.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(webhook_deliveries.c.status == status)
        return [_delivery(r) for r in self._conn.execute(query)]

    def claim_due(
        self, now: datetime, lease: timedelta, *, limit: int = 20
    ) -> builtins.list[StoredDelivery]:
        """Claim up to ``limit`` pending deliveries whose attempt is due, for ``lease``."""
        d = webhook_deliveries.c
        query = (
            select(webhook_deliveries)
            .where(
                d.status == "pending",
                d.next_attempt_at <= now,
                or_(d.claimed_until.is_(None), d.claimed_until < now),
            )
            .order_by(d.next_attempt_at, d.id)
            .limit(limit)
        )
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = self._conn.execute(query).all()
        if rows:
            self.claim([r.id for r in rows], now + lease)
        return [_delivery(r) for r in rows]

    def claim(self, delivery_ids: builtins.list[str], until: datetime) -> None:
        self._conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id.in_(delivery_ids))
            .values(claimed_until=until)
        )

    def record_attempt(
        self,
        delivery: StoredDelivery,
        *,
        cause: str,
        started_at: datetime,
        outcome: str,
        status_code: int | None,
        latency_ms: int,
        response_excerpt: str | None,
        error: str | None,
        next_attempt_at: datetime | None,
        give_up_at: datetime | None = None,
    ) -> StoredAttempt:
        """Log an attempt and move the delivery on: delivered, pending until
        ``next_attempt_at``, or failed when there is none."""
        number = delivery.attempts + 1
        attempt: dict[str, Any] = {
            "id": new_sortable_id("wha"), "delivery_id": delivery.id, "number": number,
            "cause": cause, "started_at": started_at, "outcome": outcome,
            "status_code": status_code, "latency_ms": latency_ms,
            "response_excerpt": response_excerpt, "error": error,
        }  # fmt: skip
        self._conn.execute(insert(webhook_attempts).values(attempt))
        if outcome == "delivered":
            status = "delivered"
        else:
            status = "pending" if next_attempt_at is not None else "failed"
        changes: dict[str, Any] = {
            "attempts": number, "status": status, "claimed_until": None,
            "next_attempt_at": next_attempt_at if status == "pending" else None,
            "last_status_code": status_code,
        }  # fmt: skip
        if status == "delivered":
            changes["delivered_at"] = started_at
        if give_up_at is not None:
            changes["give_up_at"] = give_up_at
        self._conn.execute(
            update(webhook_deliveries).where(webhook_deliveries.c.id == delivery.id).values(changes)
        )
        return StoredAttempt(**attempt)

    def attempts(self, delivery_id: str) -> builtins.list[StoredAttempt]:
        query = (
            select(webhook_attempts)
            .where(webhook_attempts.c.delivery_id == delivery_id)
            .order_by(webhook_attempts.c.number)
        )
        return [_attempt(r) for r in self._conn.execute(query)]
