"""Request plumbing of the console: who is looking (the session cookie), CSRF on every write,
form bodies, rendering with the common layout, redirects with a one-time notice, and one
route class that turns errors into pages.

The session is the API's (``pb_session``, HttpOnly). Its CSRF token is shown once at login, so
the console keeps it in a second HttpOnly cookie (``pb_csrf``) to put it into its forms and into
htmx's ``X-CSRF-Token`` header; a write is accepted only when the *submitted* token matches the
session's stored hash. A page on another site can neither read the cookie nor the page, so it
cannot submit the token.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from plugboard.domain.principal import Principal
from plugboard.errors import AuthenticationFailed, PlugboardError
from plugboard.server.console import gateway
from plugboard.server.console.nav import pages_for
from plugboard.server.deps import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE
from plugboard.server.errors import status_of
from plugboard.usecases.consent import ConsentFlows
from plugboard.usecases.runtime import Runtime

PREFIX = "/console"
CSRF_COOKIE = "pb_csrf"
CSRF_FIELD = "csrf_token"
FLASH_COOKIE = "pb_flash"
MAX_FORM_BYTES = 256 * 1024
MAX_UPLOAD_BYTES = 5 * 1024 * 1024 + 64 * 1024  # a package file (domain.packages) and its form
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "web" / "templates"

# Scripts and styles come from this server only; the console has no inline script or style.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": _CSP,
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


class LoginRequired(Exception):
    """No (live) session: the browser is sent to the login page."""


class CsrfRefused(Exception):
    """A write without the session's CSRF token: refused, nothing changed."""


@dataclass(frozen=True, slots=True)
class Upload:
    """A file sent with a ``multipart/form-data`` form."""

    filename: str
    content: bytes


class Form:
    """A form body: ``application/x-www-form-urlencoded``, or ``multipart/form-data`` when it
    carries a file (the package upload)."""

    def __init__(
        self, pairs: list[tuple[str, str]], files: dict[str, Upload] | None = None
    ) -> None:
        self.pairs = pairs
        self.files = files or {}

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.pairs:
            if key == name:
                return value
        return default

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.pairs)

    def file(self, name: str) -> Upload | None:
        return self.files.get(name)


def _multipart(content_type: str, body: bytes) -> Form:
    """Parse ``multipart/form-data`` with the standard library's MIME parser: text parts
    become pairs, parts with a filename become uploads."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    pairs: list[tuple[str, str]] = []
    files: dict[str, Upload] = {}
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return Form(pairs, files)
    for part in message.iter_parts():
        if not isinstance(part, EmailMessage):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = Upload(filename, content)
        else:
            pairs.append((name, content.decode("utf-8", "replace")))
    return Form(pairs, files)


async def read_form(request: Request) -> Form:
    if request.method in SAFE_METHODS:
        return Form([])
    content_type = request.headers.get("content-type", "")
    multipart = content_type.lower().startswith("multipart/form-data")
    body = await request.body()
    if len(body) > (MAX_UPLOAD_BYTES if multipart else MAX_FORM_BYTES):
        raise CsrfRefused()  # never parsed, never applied
    if multipart:
        return _multipart(content_type, body)
    return Form(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person looking at a page, with what the layout needs."""

    session: gateway.SessionView
    csrf_token: str
    cookie: str

    @property
    def principal(self) -> Principal:
        return self.session.principal


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def flows_of(request: Request) -> ConsentFlows:
    flows: ConsentFlows = request.app.state.consent_flows
    return flows


async def current_viewer(request: Request) -> Viewer:
    """The session behind the cookies; a write must carry the CSRF token in its form
    (``csrf_token``) or in the ``X-CSRF-Token`` header."""
    cookie = request.cookies.get(SESSION_COOKIE)
    csrf_cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not csrf_cookie:
        raise LoginRequired()
    needs_csrf = request.method not in SAFE_METHODS
    submitted: str | None = None
    if needs_csrf:
        form = await read_form(request)
        submitted = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
        if not submitted:
            raise CsrfRefused()
    runtime = runtime_of(request)
    try:
        view = await run_in_threadpool(
            gateway.session_view, runtime, cookie, csrf_token=None, needs_csrf=False
        )
    except AuthenticationFailed:
        raise LoginRequired() from None
    if needs_csrf:
        try:
            await run_in_threadpool(
                gateway.session_view, runtime, cookie, csrf_token=submitted, needs_csrf=True
            )
        except AuthenticationFailed:
            raise CsrfRefused() from None
    return Viewer(view, csrf_cookie, cookie)


def local_time(value: datetime | None) -> Markup:
    """A ``<time>`` element: UTC in the HTML, the viewer's own zone once console.js ran."""
    if value is None:
        return Markup("—")
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return Markup('<time datetime="{iso}">{text}</time>').format(
        iso=utc.isoformat(), text=utc.strftime("%Y-%m-%d %H:%M UTC")
    )


STATUS_LABELS = {
    "connected": "Connected",
    "not_connected": "Not connected",
    "expired": "Expired",
    "revoked": "Revoked",
    "needs_reauth": "Needs re-authorization",
    "failed": "Failed",
}


def status_label(status: object) -> str:
    value = str(getattr(status, "value", status))
    return STATUS_LABELS.get(value, value.replace("_", " "))


def dig(data: Any, path: str) -> Any:
    """``data["a"]["b"][0]`` for the path ``a.b.0``; "" when any step is missing."""
    current = data
    for step in path.split("."):
        if isinstance(current, Mapping) and step in current:
            current = current[step]
        elif isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        else:
            return ""
    return "" if current is None else current


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["localtime"] = local_time
templates.env.filters["status_label"] = status_label
templates.env.globals["urlencode"] = urlencode
templates.env.globals["dig"] = dig


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    viewer: Viewer | None,
    status: int = 200,
) -> HTMLResponse:
    flash = request.cookies.get(FLASH_COOKIE)
    page: dict[str, Any] = {
        "viewer": viewer,
        "nav": pages_for(viewer.principal) if viewer else [],
        "csrf_token": viewer.csrf_token if viewer else "",
        "flash": unquote(flash) if flash else None,
        "path": request.url.path,
        **context,
    }
    response = templates.TemplateResponse(
        request, template, page, status_code=status, headers=SECURITY_HEADERS
    )
    if flash:
        response.delete_cookie(FLASH_COOKIE, path=PREFIX)
    return response


def redirect(url: str, notice: str | None = None) -> RedirectResponse:
    """303 to ``url`` (after a write), with a notice the next page shows once."""
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    if notice:
        response.set_cookie(
            FLASH_COOKIE, quote(notice[:300]), max_age=60, httponly=True, samesite="lax",
            path=PREFIX,
        )  # fmt: skip
    return response


def _login_redirect(request: Request) -> Response:
    target = request.url.path if request.method in SAFE_METHODS else PREFIX
    if request.url.query and request.method in SAFE_METHODS:
        target += "?" + request.url.query
    url = f"{PREFIX}/login?" + urlencode({"next": target})
    if request.headers.get("HX-Request"):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(
        request, "console/error.html", {"title": title, "message": message},
        viewer=None, status=status,
    )  # fmt: skip


_TITLES = {403: "Not allowed", 404: "Not found", 409: "Not possible", 429: "Too many attempts"}


class ConsoleRoute(APIRoute):
    """Every console route: no session → the login page; a write without its CSRF token →
    403; a Plugboard error the view did not handle → a page saying it, with the API's
    status for that error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return _login_redirect(request)
            except CsrfRefused:
                return error_page(
                    request, 403, "Form expired",
                    "This form was not sent with your session's security token, so nothing "
                    "was changed. Reload the page and try again.",
                )  # fmt: skip
            except PlugboardError as exc:
                status = status_of(exc)
                if status == 401:
                    return _login_redirect(request)
                return error_page(request, status, _TITLES.get(status, "Error"), exc.message)

        return handle
