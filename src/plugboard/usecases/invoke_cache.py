"""The resolution cache of one process: a resolved connection and its Auth, kept for
``invoke_cache_seconds`` so a hot loop of invokes does not read the store every time. A refresh
drops the entries of its account at once; a revocation made elsewhere is seen within the TTL."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2

from plugboard.domain.principal import Principal
from plugboard.usecases.invoke_resolution import Resolved

__all__ = ["Entry", "ResolutionCache"]

CacheKey = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Entry:
    resolved: Resolved
    auth: httpx2.Auth
    # Substituted URLs by template: a hot loop invokes the same few URLs.
    urls: dict[str, str] = field(default_factory=dict)


class ResolutionCache:
    def __init__(self) -> None:
        self._entries: dict[CacheKey, tuple[float, Entry]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(
        actor: Principal,
        link_name: str,
        environment: str | None,
        as_user: str | None,
        workspace: str | None,
    ) -> CacheKey:
        return (
            actor.user_id,
            actor.app_id,  # two apps of one workspace never share a resolution
            actor.workspace_id,
            actor.role,
            actor.acts_for_users,
            workspace,
            link_name,
            environment,
            as_user,
        )

    def get(self, key: CacheKey) -> Entry | None:
        hit = self._entries.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def put(self, key: CacheKey, entry: Entry, ttl: float) -> None:
        if ttl > 0:
            with self._lock:
                self._entries[key] = (time.monotonic() + ttl, entry)

    def forget_account(self, account_id: str) -> None:
        """Drop every entry that uses the account (it was refreshed or expired)."""
        with self._lock:
            stale = [
                k for k, (_, e) in self._entries.items() if e.resolved.account_id == account_id
            ]
            for key in stale:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
