"""Fixtures of the background-work tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugboard.testing.server import ProviderServer
from plugboard.usecases.runtime import Runtime
from tests.integration.jobs.support import OAuthWorld, SmtpServer
from tests.stack import Actor


@pytest.fixture
def oauth(runtime: Runtime, members: Actor, provider: ProviderServer) -> OAuthWorld:
    """Workspaces acme and globex with a member of every role (tests/stack.py `members`), and an
    OAuth 2 custom service `tp` on the test provider in acme; plain http to 127.0.0.1 allowed."""
    runtime.settings = runtime.settings.model_copy(
        update={"allow_http_hosts": "127.0.0.1", "outbound_allowlist": "127.0.0.1"}
    )
    world = OAuthWorld(runtime, provider)
    world.service()
    return world


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server
