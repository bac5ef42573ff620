"""`create_app(settings)` builds the ASGI app; nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from plugboard._version import __version__
from plugboard.server.api import router as api_router
from plugboard.server.docs_ui import install_docs
from plugboard.server.errors import install_problem_handlers
from plugboard.server.oauth import router as oauth_router
from plugboard.server.principal_cache import PrincipalCache
from plugboard.server.proxy import router as proxy_router
from plugboard.settings import Settings
from plugboard.usecases.consent import ConsentFlows
from plugboard.usecases.invoke import Invoker
from plugboard.usecases.runtime import Runtime


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, demo: bool = False
) -> FastAPI:
    """Build the app. Opening the runtime fails closed (no master key, no start). With `demo`,
    the bundled test provider is mounted at /demo and a service for it is created."""
    settings = settings or Settings()
    rt = runtime or Runtime.open(settings)

    consent_flows = ConsentFlows(rt)
    invoker = Invoker(rt)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await invoker.aclose()
        invoker.close()
        consent_flows.close()
        if runtime is None:
            rt.close()

    app = FastAPI(
        title="Plugboard",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by install_docs, with Swagger UI's files from this server
        redoc_url=None,
    )
    app.state.runtime = rt
    app.state.consent_flows = consent_flows
    app.state.invoker = invoker
    app.state.principal_cache = PrincipalCache(rt.settings.auth_cache_seconds)

    install_problem_handlers(app)
    app.include_router(api_router)
    _document_problem_schema(app)
    app.include_router(oauth_router)
    app.include_router(proxy_router)
    install_docs(app)
    if demo:
        _mount_demo(app, rt)

    @app.get("/health", tags=["health"])
    def health() -> JSONResponse:
        """Liveness and database state; 503 when the database is unreachable or behind."""
        state = rt.database.state()
        body: dict[str, Any] = {
            "status": "ok" if state.up_to_date else "degraded",
            "version": __version__,
            "database": {
                "backend": state.backend,
                "reachable": state.reachable,
                "revision": state.revision,
                "head": state.head,
            },
        }
        if state.error:
            body["database"]["error"] = state.error
        return JSONResponse(body, status_code=200 if state.up_to_date else 503)

    return app


def _mount_demo(app: FastAPI, runtime: Runtime) -> None:
    from plugboard.domain.oauth import callback_url
    from plugboard.testing.provider import create_provider_app
    from plugboard.testing.provider_state import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, ProviderState
    from plugboard.testing.provider_store import DEMO_STATE_FILE, ProviderStateFile, persisting
    from plugboard.usecases.demo import DEMO_PATH, ensure_demo_service

    state = ProviderState(redirect_uris=(callback_url(runtime.settings.base_url),))
    # Issued tokens live in the home, so a restarted demo keeps its authorized connections.
    saved = ProviderStateFile(runtime.settings.home / DEMO_STATE_FILE)
    saved.load(state)
    app.mount(DEMO_PATH, persisting(create_provider_app(state), state, saved))
    app.state.demo_provider = state
    ensure_demo_service(runtime, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)


def _document_problem_schema(app: FastAPI) -> None:
    """Register the Problem schema the error responses refer to."""
    from fastapi.openapi.utils import get_openapi

    from plugboard.server.schemas import Problem

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
