"""`create_app(settings)` builds the ASGI app; nothing is created at import time."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp

from plugboard._version import __version__
from plugboard.jobs.admin import jobs_in_serve
from plugboard.jobs.inprocess import InProcessRunner
from plugboard.server.api import router as api_router
from plugboard.server.console import install_console
from plugboard.server.docs_ui import install_docs
from plugboard.server.errors import install_problem_handlers
from plugboard.server.oauth import router as oauth_router
from plugboard.server.principal_cache import PrincipalCache
from plugboard.server.proxy import ProxyApp, ProxyDispatch
from plugboard.settings import Settings
from plugboard.usecases.consent import ConsentFlows
from plugboard.usecases.invoke import Invoker
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.sessions import prepare_logins

# Called with the built app and its runtime: how `serve --demo` mounts the bundled test provider
# without the server importing it.
AppExtension = Callable[[FastAPI, Runtime], None]


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    extensions: Sequence[AppExtension] = (),
    run_jobs: bool | None = None,
) -> FastAPI:
    """Build the app. Opening the runtime fails closed (no master key, no start). Each of
    `extensions` is called with the app and the runtime once the routes are in place.

    With ``run_jobs`` the lifespan runs the background jobs in-process (jobs/inprocess.py).
    None: when the app opens its own runtime (`plugboard serve`) and the settings say so
    (SQLite, unless PLUGBOARD_JOBS_IN_SERVE says otherwise); an app built around a caller's
    runtime (tests, embedding) runs none unless asked."""
    settings = settings or Settings()
    rt = runtime or Runtime.open(settings)

    consent_flows = ConsentFlows(rt)
    invoker = Invoker(rt)

    if run_jobs is None:
        run_jobs = runtime is None and jobs_in_serve(rt)
    runner = InProcessRunner(rt) if run_jobs else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Beside the start, not before it: a login's answer takes the same time whether or
        # not the e-mail is known only once this is done (usecases/sessions.py).
        threading.Thread(target=prepare_logins, name="plugboard-logins", daemon=True).start()
        if runner is not None:
            runner.start()
        yield
        if runner is not None:
            await anyio.to_thread.run_sync(runner.stop)
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
    app.state.jobs = runner
    app.state.principal_cache = PrincipalCache(rt.settings.auth_cache_seconds)
    app.state.proxy = ProxyApp(rt, invoker, app.state.principal_cache)
    _mount_proxy(app, app.state.proxy)

    install_problem_handlers(app)
    app.include_router(api_router)
    _document_problem_schema(app)
    app.include_router(oauth_router)
    install_docs(app)
    install_console(app)
    for extend in extensions:
        extend(app, rt)

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


def served_app(app: FastAPI) -> ASGIApp:
    """What the server runs: ``/proxy/…`` dispatched before the app is even called, so a
    pass-through pays none of FastAPI's per-request work (its telemetry check reads the
    environment on every call); everything else, lifespan included, goes to the app."""
    return ProxyDispatch(app.state.proxy, app)


def _mount_proxy(app: FastAPI, proxy: ProxyApp) -> None:
    """``/proxy/…`` is answered ahead of the app's middleware and router (server/proxy.py): the
    app builds its stack on its first request, with whatever middleware was added by then, and
    the dispatcher goes in front of that."""
    build = app.build_middleware_stack

    def build_with_proxy() -> ASGIApp:
        return ProxyDispatch(proxy, build())

    app.build_middleware_stack = build_with_proxy  # type: ignore[method-assign]


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
