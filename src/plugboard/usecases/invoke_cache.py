"""The resolution cache of one process: a resolved connection and its Auth, kept for
``invoke_cache_seconds`` so a hot loop of invokes does not read the store every time.

- A refresh drops the entries of its account at once; a change made in this process
  (revocation, new credential, connection or app change) makes every entry stale at once
  (:mod:`plugboard.usecases.invoke_invalidation`); one made elsewhere is seen within the TTL.
- One store read per key is in flight at a time (:meth:`ResolutionCache.single_flight`): 250
  concurrent first invokes of one connection make one read, the others wait for its result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

from plugboard.domain.principal import Principal
from plugboard.errors import PlugboardError
from plugboard.usecases.invoke_invalidation import resolution_generation
from plugboard.usecases.invoke_resolution import Resolved

__all__ = ["Entry", "ResolutionCache"]

CacheKey = tuple[Any, ...]

# A bound on what one process keeps: a server resolves many (principal, connection) pairs.
MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class Entry:
    resolved: Resolved
    auth: httpx2.Auth = field(repr=False)
    # Per URL template: what an invoke of it prepares once (see Invoker._plan); they carry
    # the credential, so they stay out of the repr.
    plans: dict[Any, Any] = field(default_factory=dict, repr=False)


class _Flight:
    """One store read in flight: the others wait for its result (or its error)."""

    __slots__ = ("done", "entry", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.entry: Entry | None = None
        self.error: BaseException | None = None


def _clone(error: PlugboardError) -> PlugboardError:
    """A waiter's own copy of the leader's error (one exception object is not raised in two
    threads: each raise writes its traceback into it)."""
    clone = BaseException.__new__(type(error))
    clone.__dict__.update(error.__dict__)
    clone.args = error.args
    return clone


class ResolutionCache:
    def __init__(self) -> None:
        self._entries: dict[CacheKey, tuple[float, int, Entry]] = {}
        # A flight per (key, generation): a caller that comes after a change does not share a
        # read begun before it.
        self._flights: dict[tuple[CacheKey, int], _Flight] = {}
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
        if hit is not None and hit[1] == resolution_generation() and hit[0] > time.monotonic():
            return hit[2]
        return None

    def put(self, key: CacheKey, entry: Entry, ttl: float, generation: int) -> None:
        """Keep ``entry`` for ``ttl`` seconds unless the generation moved since ``generation``
        was read (a change made while the store was being read)."""
        if ttl > 0 and generation == resolution_generation():
            with self._lock:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = (time.monotonic() + ttl, generation, entry)

    def single_flight(self, key: CacheKey, load: Callable[[], Entry]) -> Entry:
        """``load()``'s entry, with at most one ``load`` per key running at a time: a caller
        that finds one running waits for it and shares its result; its PlugboardError is
        raised to every waiter (a copy each)."""
        flight_key = (key, resolution_generation())
        with self._lock:
            flight = self._flights.get(flight_key)
            leader = flight is None
            if flight is None:
                flight = self._flights[flight_key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.entry is not None:
                return flight.entry
            if isinstance(flight.error, PlugboardError):
                raise _clone(flight.error)
            return load()  # the leader failed otherwise (a database error): try on our own
        try:
            flight.entry = load()
            return flight.entry
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                del self._flights[flight_key]
            flight.done.set()

    def forget_account(self, account_id: str) -> None:
        """Drop every entry that uses the account (it was refreshed or expired)."""
        with self._lock:
            stale = [
                k for k, (_, _, e) in self._entries.items() if e.resolved.account_id == account_id
            ]
            for key in stale:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
