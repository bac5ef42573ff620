"""The remote client's ``notifications``: the REST API's /notifications, decoded into the same
records the embedded client returns (:mod:`plugboard.records.notifications`)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from plugboard.records.notifications import MuteInfo, NotificationPage

if TYPE_CHECKING:
    from plugboard.client.remote import RemoteClient

__all__ = ["RemoteNotifications"]


def _seg(value: str) -> str:
    return quote(value, safe="")


class RemoteNotifications:
    def __init__(self, client: RemoteClient) -> None:
        self._c = client

    def list(
        self, *, unread_only: bool = False, limit: int = 50, cursor: str | None = None
    ) -> NotificationPage:
        params: dict[str, Any] = {"limit": max(1, min(limit, 200))}
        if unread_only:
            params["unread"] = "true"
        if cursor:
            params["cursor"] = cursor
        answer = self._c.request("GET", "/notifications", params=params)
        return NotificationPage.model_validate(answer.json())

    def mark_read(self, ids: Sequence[str] | None = None) -> int:
        body = {"ids": None if ids is None else list(ids)}
        answer = self._c.request("POST", "/notifications/read", json=body).json()
        return int(answer["marked"])

    def mute(self, connection: str) -> MuteInfo:
        answer = self._c.request("PUT", f"/notifications/mutes/{_seg(connection)}")
        return MuteInfo.model_validate(answer.json())

    def unmute(self, connection: str) -> MuteInfo:
        answer = self._c.request("DELETE", f"/notifications/mutes/{_seg(connection)}")
        return MuteInfo.model_validate(answer.json())

    def muted(self) -> builtins.list[MuteInfo]:
        answer = self._c.request("GET", "/notifications/mutes").json()
        return [MuteInfo.model_validate(m) for m in answer]
