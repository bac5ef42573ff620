"""The interactive API docs at ``/docs``, with Swagger UI served by this server.

FastAPI's default page loads Swagger UI from a CDN, so it is blank on a machine without internet
access (and leaks every visit to a third party). The files come from the npm package
``swagger-ui-dist`` pinned in ``web-assets/package-lock.json``; ``make install`` (and so
``make run`` / ``make test``) copies them into ``server/web/static/swagger-ui``, which is built,
not committed. Without them ``/docs`` says how to build them instead of showing a blank page.
ReDoc is not offered: its bundle is not among the built assets.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "SWAGGER_DIR", "install_docs"]

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"
SWAGGER_DIR = STATIC_DIR / "swagger-ui"
ASSETS_PATH = "/static/swagger-ui"
_REQUIRED = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")

_MISSING = """<!DOCTYPE html>
<html><head><title>Plugboard API docs</title></head>
<body>
<h1>The API docs page is not built</h1>
<p>Swagger UI's files are not in <code>{folder}</code>. They are built from the npm package
pinned in <code>web-assets/package-lock.json</code>: run <code>make install</code> (it needs
<code>npm</code>) and restart the server.</p>
<p>The OpenAPI document itself is at <a href="{openapi}">{openapi}</a>.</p>
</body></html>
"""


def install_docs(app: FastAPI, *, assets: Path = SWAGGER_DIR, path: str = "/docs") -> None:
    """Serve Swagger UI at ``path`` for ``app.openapi_url``, its files from ``assets``.

    Whether the files exist is checked per request, so building them while the server runs is
    enough (a restart is not needed)."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_PATH, StaticFiles(directory=assets, check_dir=False), name="swagger-ui")

    @app.get(path, include_in_schema=False)
    def docs() -> HTMLResponse:
        if not all((assets / name).is_file() for name in _REQUIRED):
            body = _MISSING.format(folder=assets, openapi=openapi_url)
            return HTMLResponse(body, status_code=503)
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        )
