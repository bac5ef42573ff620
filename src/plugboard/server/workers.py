"""The app factory of a `plugboard serve --workers N` worker process (uvicorn imports it by name
in each spawned worker). The parent has checked the keys, upgraded the schema and put every
setting a worker needs in the environment."""

from __future__ import annotations

from starlette.types import ASGIApp

from plugboard.server.app import create_app, served_app
from plugboard.server.serving import ClientLimits, set_worker_limits
from plugboard.settings import Settings

__all__ = ["worker_app"]


def worker_app() -> ASGIApp:
    settings = Settings()
    # Set before the worker accepts a connection: the factory runs while uvicorn loads the app.
    set_worker_limits(ClientLimits.from_settings(settings))
    return served_app(create_app(settings))
