"""A change that makes cached invoke resolutions wrong bumps the process's generation inside its
transaction and again once it commits: a resolution read in between (before the change was
visible) is never kept. A rolled-back change bumps it only once. A caller arriving after a bump
does not share a store read begun before it."""

from __future__ import annotations

import threading

import pytest

from plugboard.usecases.invoke_cache import ResolutionCache
from plugboard.usecases.invoke_invalidation import invalidate_resolutions, resolution_generation
from plugboard.usecases.runtime import Runtime


def test_a_read_between_the_change_and_its_commit_is_stale_after_the_commit(
    runtime: Runtime,
) -> None:
    with runtime.unit() as unit:
        invalidate_resolutions(unit)
        read_meanwhile = resolution_generation()  # what a concurrent invoke would record
    assert resolution_generation() == read_meanwhile + 1


def test_a_rolled_back_change_bumps_once(runtime: Runtime) -> None:
    before = resolution_generation()
    with pytest.raises(RuntimeError), runtime.unit() as unit:
        invalidate_resolutions(unit)
        raise RuntimeError("rolled back")
    assert resolution_generation() == before + 1


def test_a_caller_after_a_change_does_not_share_a_read_begun_before_it(
    runtime: Runtime,
) -> None:
    cache = ResolutionCache()
    started, release = threading.Event(), threading.Event()
    loads: list[str] = []

    def slow_load() -> object:
        loads.append("before")
        started.set()
        release.wait(5)
        return "read before the change"

    def later_load() -> object:
        loads.append("after")
        return "read after the change"

    key = ("k",)  # any hashable key
    first = threading.Thread(target=lambda: cache.single_flight(key, slow_load))  # type: ignore[arg-type]
    first.start()
    started.wait(5)
    with runtime.unit() as unit:
        invalidate_resolutions(unit)
    got: object = cache.single_flight(key, later_load)  # type: ignore[arg-type]
    release.set()
    first.join(5)
    assert got == "read after the change" and loads == ["before", "after"]
