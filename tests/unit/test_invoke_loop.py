"""The invoker's own event loop for blocking callers (usecases/invoke_loop.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from plugboard.usecases.invoke_loop import LoopThread


async def _where() -> tuple[str, asyncio.AbstractEventLoop]:
    return threading.current_thread().name, asyncio.get_running_loop()


def test_a_coroutine_runs_on_the_loop_thread_and_its_result_comes_back() -> None:
    loops = LoopThread("test-loop")
    try:
        name, _ = loops.run(_where())
    finally:
        loops.close()
    assert name == "test-loop" != threading.current_thread().name


def test_the_loop_lasts_from_one_call_to_the_next() -> None:
    loops = LoopThread("test-loop")
    try:
        first, second = loops.run(_where())[1], loops.run(_where())[1]
    finally:
        loops.close()
    assert first is second


def test_an_exception_of_the_coroutine_reaches_the_caller() -> None:
    async def fails() -> None:
        raise ValueError("no")

    loops = LoopThread("test-loop")
    try:
        with pytest.raises(ValueError, match="no"):
            loops.run(fails())
    finally:
        loops.close()


def test_close_runs_the_last_coroutine_on_the_loop_then_stops_the_thread() -> None:
    loops = LoopThread("test-loop")
    _, loop = loops.run(_where())
    ran_on: list[str] = []

    async def last() -> None:
        ran_on.append(threading.current_thread().name)

    loops.close(last)
    assert ran_on == ["test-loop"]
    assert loop.is_closed()
    assert "test-loop" not in {t.name for t in threading.enumerate()}
    with pytest.raises(RuntimeError, match="closed"):
        loops.run(_where())


def test_a_loop_never_used_is_never_started() -> None:
    loops = LoopThread("test-loop-unused")
    loops.close()
    assert "test-loop-unused" not in {t.name for t in threading.enumerate()}
