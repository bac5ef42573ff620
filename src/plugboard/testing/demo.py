"""`plugboard serve --demo`: the bundled test provider mounted at /demo of the server, with a
`demo_provider` service for it. Handed to `create_app` as an extension, so the server never
imports the test provider."""

from __future__ import annotations

from typing import Any

from plugboard.domain.oauth import callback_url
from plugboard.testing.provider import create_provider_app
from plugboard.testing.provider_state import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, ProviderState
from plugboard.testing.provider_store import DEMO_STATE_FILE, ProviderStateFile, persisting
from plugboard.usecases.demo import DEMO_PATH, ensure_demo_service
from plugboard.usecases.runtime import Runtime

__all__ = ["mount_demo_provider"]


def mount_demo_provider(app: Any, runtime: Runtime) -> None:
    """Mount the provider on ``app`` (a FastAPI app) and create its service."""
    state = ProviderState(redirect_uris=(callback_url(runtime.settings.base_url),))
    # Issued tokens live in the home, so a restarted demo keeps its authorized connections.
    saved = ProviderStateFile(runtime.settings.home / DEMO_STATE_FILE)
    saved.load(state)
    app.mount(DEMO_PATH, persisting(create_provider_app(state), state, saved))
    app.state.demo_provider = state
    ensure_demo_service(runtime, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
