"""The generation of every invoke resolution cache in this process.

A change that can make a cached resolution wrong -- an authorization revoked, a credential
linked or switched, a primary account moved, a connection edited or deleted, an app installed
or updated -- calls :func:`invalidate_resolutions`; every
:class:`~plugboard.usecases.invoke.Invoker` of the process then reads the store again on its
next invoke, whatever ``invoke_cache_seconds`` says. (A change made by another process is seen
within that TTL.)

Only this module's counter is shared: the usecases that change the store import it without
importing the invoke engine. A cache entry keeps the generation read *before* its store read,
so a read that overlaps a change is never kept past it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plugboard.store.unit import Unit

__all__ = ["invalidate_resolutions", "resolution_generation"]

_lock = threading.Lock()
_generation = 0


def resolution_generation() -> int:
    """The current generation (read before a store read; compare with a cached entry's)."""
    return _generation


def invalidate_resolutions(unit: Unit) -> None:
    """Make every cached invoke resolution of this process stale at once, from inside the
    changing transaction, and again once ``unit`` commits: a concurrent invoke that read the
    store between the two (before the change was visible) is not kept either."""
    _bump()
    unit.after_commit(_bump)


def _bump() -> None:
    global _generation
    with _lock:
        _generation += 1
