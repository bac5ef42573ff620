"""The app `plugboard authorize` serves while it waits for a consent when no Plugboard server runs:
the OAuth callback page (the route `plugboard serve` answers it with, server/oauth.py) and
/health, nothing else.

Building the whole server app (create_app) for one redirect cost the command about a second of
start-up: importing and wiring the REST API, console, docs and proxy it never serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from plugboard._version import __version__
from plugboard.server.errors import install_problem_handlers
from plugboard.server.oauth import router as oauth_router
from plugboard.usecases.consent import ConsentFlows
from plugboard.usecases.runtime import Runtime

__all__ = ["create_callback_app"]


def create_callback_app(runtime: Runtime) -> FastAPI:
    """The callback listener's app, on the caller's runtime (which the caller closes)."""
    consent_flows = ConsentFlows(runtime)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        consent_flows.close()

    app = FastAPI(
        title="Plugboard callback listener",
        version=__version__,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.consent_flows = consent_flows
    install_problem_handlers(app)
    app.include_router(oauth_router)

    @app.get("/health")
    def health() -> JSONResponse:
        """Something answers at the base URL: another `authorize` uses this listener."""
        return JSONResponse({"status": "ok", "version": __version__, "serves": "oauth callback"})

    return app
