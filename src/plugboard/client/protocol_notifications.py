"""The client protocol of a member's notifications (SPEC §5 "Telling the right person"), which
both clients implement as ``pb.notifications``. Exported from ``plugboard.client.protocol``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Protocol

from plugboard.records.notifications import MuteInfo, NotificationPage

__all__ = ["NotificationsAPI"]


class NotificationsAPI(Protocol):
    """The calling member's notices in their workspace: newest first, a page at a time (pass
    the page's ``next_cursor`` for the next); marking them read; muting a connection."""

    def list(
        self, *, unread_only: bool = False, limit: int = 50, cursor: str | None = None
    ) -> NotificationPage: ...

    def mark_read(self, ids: Sequence[str] | None = None) -> int:
        """Mark these read (every one of the caller's when ``ids`` is None); how many changed."""
        ...

    def mute(self, connection: str) -> MuteInfo: ...

    def unmute(self, connection: str) -> MuteInfo: ...

    def muted(self) -> builtins.list[MuteInfo]: ...
