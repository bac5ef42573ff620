"""Logging in and out of the console, and switching workspace."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from plugboard.errors import AuthenticationFailed, PlugboardError, RateLimited
from plugboard.server.console import gateway
from plugboard.server.console.web import (
    CSRF_COOKIE,
    CSRF_FIELD,
    PREFIX,
    ConsoleRoute,
    Form,
    Viewer,
    current_viewer,
    read_form,
    redirect,
    render,
    runtime_of,
)
from plugboard.server.deps import SESSION_COOKIE
from plugboard.usecases.sessions import NewSession

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
ViewerDep = Annotated[Viewer, Depends(current_viewer)]
FormDep = Annotated[Form, Depends(read_form)]


def safe_next(target: str | None, default: str = f"{PREFIX}/connections") -> str:
    """Only a console path of this server: never another site (no open redirect)."""
    if target and target.startswith(PREFIX) and not target.startswith("//"):
        if "\\" not in target and not urlsplit(target).netloc:
            return target
    return default


def _with_session(response: Response, request: Request, new: NewSession) -> Response:
    settings = runtime_of(request).settings
    secure = settings.base_url.startswith("https://")
    max_age = int(settings.session_hours * 3600)
    response.set_cookie(
        SESSION_COOKIE, new.secret, max_age=max_age, httponly=True, secure=secure,
        samesite="lax", path="/",
    )  # fmt: skip
    response.set_cookie(
        CSRF_COOKIE, new.csrf_token, max_age=max_age, httponly=True, secure=secure,
        samesite="strict", path=PREFIX,
    )  # fmt: skip
    return response


@router.get("")
def home() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/connections", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    target = safe_next(next)
    # A notice's link names its workspace: the form offers it, so the person lands in it.
    workspace = parse_qs(urlsplit(target).query).get("workspace", [""])[0][:100]
    return render(
        request, "console/login.html", {"email": "", "workspace": workspace, "next": target},
        viewer=None,
    )  # fmt: skip


@router.post("/login")
async def login(request: Request, form: FormDep) -> Response:
    email, workspace = form.get("email").strip(), form.get("workspace").strip()
    target = safe_next(form.get("next"))
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.url.netloc:
        error, status = "This login form was sent from another site.", 403
    else:
        client = request.client.host if request.client else ""
        try:
            new = await run_in_threadpool(
                gateway.log_in, runtime_of(request), email=email,
                password=form.get("password"), workspace=workspace or None, client=client,
            )  # fmt: skip
        except RateLimited as exc:
            error, status = f"{exc.message} (wait {exc.retry_after} s).", 429
        except AuthenticationFailed:
            error, status = "Wrong e-mail, password or workspace.", 401
        except PlugboardError as exc:  # a malformed e-mail
            error, status = exc.message, 422
        else:
            return _with_session(redirect(target), request, new)
    return render(
        request, "console/login.html",
        {"email": email, "workspace": workspace, "next": target, "error": error},
        viewer=None, status=status,
    )  # fmt: skip


@router.post("/logout")
def logout(request: Request, viewer: ViewerDep) -> Response:
    gateway.log_out(runtime_of(request), viewer.cookie)
    response = redirect(f"{PREFIX}/login", "You are logged out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/workspace")
def switch_workspace(request: Request, viewer: ViewerDep, form: FormDep) -> Response:
    name = form.get("workspace")
    token = form.get(CSRF_FIELD) or viewer.csrf_token  # the one current_viewer checked
    new = gateway.switch_workspace(runtime_of(request), viewer.cookie, token, name)
    # `next`: where a notice's link was going (see views_notifications.workspace_step).
    target = safe_next(form.get("next") or None)
    return _with_session(redirect(target, f"You are now in workspace {name}."), request, new)
