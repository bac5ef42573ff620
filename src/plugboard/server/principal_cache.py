"""A short-lived cache of checked API tokens, so a busy client's every request does not re-read
its token, user and membership. Entries live `ttl` seconds; a revocation made through this
process forgets the token at once."""

from __future__ import annotations

import threading
import time

from plugboard.domain.principal import Principal


class PrincipalCache:
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, token_hash: str) -> Principal | None:
        if self._ttl <= 0:
            return None
        with self._lock:
            found = self._entries.get(token_hash)
            if found is None or found[0] < time.monotonic():
                self._entries.pop(token_hash, None)
                return None
            return found[1]

    def put(self, token_hash: str, principal: Principal) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[token_hash] = (time.monotonic() + self._ttl, principal)

    def forget_token(self, token_id: str) -> None:
        with self._lock:
            for key in [k for k, (_, p) in self._entries.items() if p.token_id == token_id]:
                del self._entries[key]
