"""/webhooks: a workspace's webhook endpoints (SPEC §11), their deliveries and replay. Workspace
admins and super admins only. The signing secret is in the answer to create and rotate, once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from plugboard.records.webhooks import (
    WebhookCreated,
    WebhookDeliveryDetails,
    WebhookDeliveryPublic,
    WebhookPublic,
    WebhookSecretIssued,
)
from plugboard.server.deps import CurrentPrincipal, RuntimeDep
from plugboard.usecases.webhooks import Webhooks

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class WebhookCreate(BaseModel):
    url: str = Field(description="https (plain http only for PLUGBOARD_ALLOW_HTTP_HOSTS).")
    events: list[str] | None = Field(
        default=None, description='Event types to receive; omitted or ["*"]: every type.'
    )
    description: str | None = None


class WebhookRotate(BaseModel):
    overlap_seconds: float | None = Field(
        default=None, description="How long the previous secret keeps signing (default a day)."
    )


@router.get("")
def list_webhooks(runtime: RuntimeDep, principal: CurrentPrincipal) -> list[WebhookPublic]:
    return Webhooks(runtime, principal).list()


@router.post("", status_code=201)
def create_webhook(
    runtime: RuntimeDep, principal: CurrentPrincipal, body: WebhookCreate
) -> WebhookCreated:
    """A new endpoint; the answer holds its signing secret, shown this once."""
    return Webhooks(runtime, principal).create(
        url=body.url, events=body.events, description=body.description
    )


@router.get("/deliveries/{delivery_id}")
def get_delivery(
    runtime: RuntimeDep, principal: CurrentPrincipal, delivery_id: str
) -> WebhookDeliveryDetails:
    """A delivery with its payload and every attempt."""
    return Webhooks(runtime, principal).delivery(delivery_id)


@router.post("/deliveries/{delivery_id}/replay")
def replay_delivery(
    runtime: RuntimeDep, principal: CurrentPrincipal, delivery_id: str
) -> WebhookDeliveryDetails:
    """Send the delivery again now (same webhook-id and payload, newly signed)."""
    return Webhooks(runtime, principal).replay(delivery_id)


@router.get("/{webhook_id}")
def get_webhook(runtime: RuntimeDep, principal: CurrentPrincipal, webhook_id: str) -> WebhookPublic:
    return Webhooks(runtime, principal).get(webhook_id)


@router.post("/{webhook_id}/rotate")
def rotate_webhook(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    webhook_id: str,
    body: WebhookRotate | None = None,
) -> WebhookSecretIssued:
    """A new signing secret, shown this once; the previous one signs too for the overlap."""
    overlap = body.overlap_seconds if body is not None else None
    return Webhooks(runtime, principal).rotate(webhook_id, overlap_seconds=overlap)


@router.delete("/{webhook_id}")
def delete_webhook(
    runtime: RuntimeDep, principal: CurrentPrincipal, webhook_id: str
) -> dict[str, str]:
    """The endpoint, its deliveries and their attempts."""
    Webhooks(runtime, principal).delete(webhook_id)
    return {"deleted": webhook_id}


@router.get("/{webhook_id}/deliveries")
def list_deliveries(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    webhook_id: str,
    status: Annotated[str | None, Query(description="pending, delivered or failed")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[WebhookDeliveryPublic]:
    """The endpoint's deliveries, newest first."""
    return Webhooks(runtime, principal).deliveries(webhook_id, status=status, limit=limit)
