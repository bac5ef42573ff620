"""The web console (SPEC §9): server-rendered pages under ``/console`` (Jinja2, htmx) that call
the same usecase services as the REST API.

``install_console(app)`` mounts its static files and includes its routers. A page is a router
module plus a :func:`plugboard.server.console.nav.register` entry; ``gateway`` is the one module
that calls usecase functions which have no usecase service yet.

Static files: ``server/web/assets`` (the console's own stylesheet and script, committed) and
``server/web/static/htmx`` (htmx from the npm package pinned in ``web-assets/``, copied there by
``make web-assets``; built, never committed, never loaded from a CDN).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_DIR", "VENDOR_DIR", "install_console"]

_WEB = Path(__file__).resolve().parent.parent / "web"
ASSETS_DIR = _WEB / "assets"
VENDOR_DIR = _WEB / "static" / "htmx"


def install_console(app: FastAPI) -> None:
    from plugboard.server.console.views_admin import router as admin
    from plugboard.server.console.views_apps import router as apps
    from plugboard.server.console.views_authorizations import router as authorizations
    from plugboard.server.console.views_connections import router as connections
    from plugboard.server.console.views_login import router as login
    from plugboard.server.console.views_notifications import router as notifications
    from plugboard.server.console.views_services import router as services

    app.mount("/console/assets", StaticFiles(directory=ASSETS_DIR), name="console-assets")
    app.mount(
        "/console/vendor",
        StaticFiles(directory=VENDOR_DIR, check_dir=False),
        name="console-vendor",
    )
    for router in (login, connections, authorizations, apps, services, admin, notifications):
        app.include_router(router)
