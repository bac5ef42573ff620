"""pytest fixtures for the test provider: one server per session, a clean state per test.

Use them from a conftest with ``pytest_plugins = ["plugboard.testing.fixtures"]`` (root conftest)
or by importing the two names.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugboard.testing.server import ProviderServer

__all__ = ["provider", "provider_server"]


@pytest.fixture(scope="session")
def provider_server() -> Iterator[ProviderServer]:
    """The provider, started once for the session (its state is shared: prefer ``provider``)."""
    with ProviderServer() as server:
        yield server


@pytest.fixture
def provider(provider_server: ProviderServer) -> ProviderServer:
    """The session's provider with its state reset: demo registrations, no calls, no switches."""
    provider_server.state.reset()
    return provider_server
