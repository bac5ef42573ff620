"""The records of webhooks (SPEC §11): endpoints, deliveries and their attempts.

No record carries a signing secret but :class:`WebhookSecretIssued` (and the endpoint made with
it), the answer to its creation or rotation, shown once and kept out of ``repr``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "WebhookAttemptPublic",
    "WebhookCreated",
    "WebhookDeliveryDetails",
    "WebhookDeliveryPublic",
    "WebhookPublic",
    "WebhookSecretIssued",
]


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[str] = Field(description='The event types it receives; ["*"]: every type.')
    description: str | None
    enabled: bool
    created_at: datetime
    rotated_at: datetime | None
    previous_secret_valid_until: datetime | None = Field(
        description="After a rotation, deliveries are signed with the previous secret too "
        "until then."
    )


class WebhookSecretIssued(BaseModel):
    webhook: WebhookPublic
    secret: str = Field(
        repr=False,
        description="The signing secret (whsec_…), shown once: Plugboard keeps it sealed and "
        "never shows it again.",
    )


class WebhookCreated(WebhookSecretIssued):
    pass


class WebhookAttemptPublic(BaseModel):
    number: int
    cause: str  # scheduled or replay
    started_at: datetime
    outcome: str  # delivered, failed (non-2xx), blocked (the outbound guard), error (network)
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None


class WebhookDeliveryPublic(BaseModel):
    id: str = Field(description="The message id, sent as webhook-id on every attempt.")
    webhook_id: str
    event_id: str
    event_type: str
    status: str  # pending, delivered, failed (given up)
    attempts: int
    next_attempt_at: datetime | None
    give_up_at: datetime
    last_status_code: int | None
    created_at: datetime
    delivered_at: datetime | None


class WebhookDeliveryDetails(WebhookDeliveryPublic):
    payload: dict[str, Any] = Field(description="The JSON body signed and sent.")
    attempt_log: list[WebhookAttemptPublic]
