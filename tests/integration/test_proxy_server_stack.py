"""What the proxy's requests run on: `plugboard serve` parses with httptools and runs on uvloop
when they are installed (the server extra installs both), keeping the slow-client limits
(tests/integration/test_slow_clients.py drives them over a real `plugboard serve`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugboard.server.serving import (
    ClientLimits,
    WorkerH11Protocol,
    WorkerHttpToolsProtocol,
    server_config,
    set_worker_limits,
)
from plugboard.settings import Settings


def test_serve_parses_with_httptools_and_runs_on_uvloop_when_installed(tmp_path: Path) -> None:
    pytest.importorskip("httptools")
    uvloop = pytest.importorskip("uvloop")
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    settings = Settings(home=tmp_path, max_request_header_bytes=5000)
    config = server_config(object(), settings, "127.0.0.1", 0)

    assert isinstance(config.http, type) and issubclass(config.http, HttpToolsProtocol)
    assert config.http.limits.max_header_bytes == 5000  # type: ignore[attr-defined]
    factory = config.get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_a_workers_limits_reach_both_protocols() -> None:
    before = WorkerHttpToolsProtocol.limits
    limits = ClientLimits(header_timeout=3.0, body_timeout=4.0, max_header_bytes=6000)
    try:
        set_worker_limits(limits)
        assert WorkerHttpToolsProtocol.limits == WorkerH11Protocol.limits == limits
    finally:
        set_worker_limits(before)
