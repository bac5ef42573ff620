"""The test provider's default clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class ProviderClock:
    """Real time plus an offset (the default), or a fixed start plus an offset.

    Following real time by default keeps SigV4 and OAuth 1 timestamps (signed with the wall
    clock by the client) valid; :meth:`advance` moves the provider into the future so tokens
    expire without sleeping.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            base = self._start if self._start is not None else datetime.now(UTC)
            return base + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta()
