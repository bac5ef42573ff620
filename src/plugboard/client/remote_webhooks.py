"""The remote client's ``webhooks``: the REST API's /webhooks, decoded into the same records the
embedded client returns (:mod:`plugboard.records.webhooks`)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from plugboard.records.webhooks import (
    WebhookCreated,
    WebhookDeliveryDetails,
    WebhookDeliveryPublic,
    WebhookPublic,
    WebhookSecretIssued,
)

if TYPE_CHECKING:
    from plugboard.client.remote import RemoteClient

__all__ = ["RemoteWebhooks"]


def _seg(value: str) -> str:
    return quote(value, safe="")


class RemoteWebhooks:
    def __init__(self, client: RemoteClient) -> None:
        self._c = client

    def list(self) -> builtins.list[WebhookPublic]:
        answer = self._c.request("GET", "/webhooks").json()
        return [WebhookPublic.model_validate(d) for d in answer]

    def get(self, webhook_id: str) -> WebhookPublic:
        answer = self._c.request("GET", f"/webhooks/{_seg(webhook_id)}")
        return WebhookPublic.model_validate(answer.json())

    def create(
        self, *, url: str, events: Sequence[str] | None = None, description: str | None = None
    ) -> WebhookCreated:
        body: dict[str, Any] = {"url": url, "description": description}
        if events is not None:
            body["events"] = list(events)
        return WebhookCreated.model_validate(self._c.request("POST", "/webhooks", json=body).json())

    def rotate(
        self, webhook_id: str, *, overlap_seconds: float | None = None
    ) -> WebhookSecretIssued:
        answer = self._c.request(
            "POST",
            f"/webhooks/{_seg(webhook_id)}/rotate",
            json={"overlap_seconds": overlap_seconds},
        )
        return WebhookSecretIssued.model_validate(answer.json())

    def delete(self, webhook_id: str) -> None:
        self._c.request("DELETE", f"/webhooks/{_seg(webhook_id)}")

    def deliveries(
        self, webhook_id: str, *, status: str | None = None, limit: int = 50
    ) -> builtins.list[WebhookDeliveryPublic]:
        query: dict[str, Any] = {"limit": limit}
        if status is not None:
            query["status"] = status
        answer = self._c.request("GET", f"/webhooks/{_seg(webhook_id)}/deliveries", params=query)
        return [WebhookDeliveryPublic.model_validate(d) for d in answer.json()]

    def delivery(self, delivery_id: str) -> WebhookDeliveryDetails:
        answer = self._c.request("GET", f"/webhooks/deliveries/{_seg(delivery_id)}")
        return WebhookDeliveryDetails.model_validate(answer.json())

    def replay(self, delivery_id: str) -> WebhookDeliveryDetails:
        answer = self._c.request("POST", f"/webhooks/deliveries/{_seg(delivery_id)}/replay")
        return WebhookDeliveryDetails.model_validate(answer.json())
