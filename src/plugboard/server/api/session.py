"""/session: console login with e-mail and password, and logout."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from plugboard.domain.login_throttle import LoginThrottle
from plugboard.server.deps import CSRF_HEADER, SESSION_COOKIE, CurrentPrincipal, RuntimeDep
from plugboard.server.schemas import LoginRequest, SessionPublic
from plugboard.settings import Settings
from plugboard.usecases import sessions
from plugboard.usecases.identity import workspace_for

router = APIRouter(prefix="/session", tags=["session"])


def login_throttle(settings: Settings) -> LoginThrottle:
    return LoginThrottle(
        free_attempts=settings.login_attempts,
        delay=timedelta(seconds=settings.login_delay_seconds),
        max_delay=timedelta(seconds=settings.login_max_delay_seconds),
        window=timedelta(seconds=settings.login_window_seconds),
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def login(
    body: LoginRequest, request: Request, response: Response, runtime: RuntimeDep
) -> SessionPublic:
    """Log in; sets an HttpOnly session cookie. After failed attempts for an e-mail, further
    attempts from the same client address wait a growing delay (429 with Retry-After)."""
    settings = runtime.settings
    with runtime.unit() as unit:
        new = sessions.login(
            unit, email=body.email, password=body.password, workspace=body.workspace,
            lifetime=timedelta(hours=settings.session_hours),
            throttle=login_throttle(settings),
            client=request.client.host if request.client else "",
        )  # fmt: skip
        if not isinstance(new, sessions.LoginDenied):
            workspace = workspace_for(unit, new.principal, None)
    if isinstance(new, sessions.LoginDenied):
        # Raised after the commit: the failed attempt stays recorded and counts to the limit.
        raise new.error
    response.set_cookie(
        SESSION_COOKIE,
        new.secret,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        secure=settings.base_url.startswith("https://"),
        samesite="lax",
        path="/",
    )
    response.headers["Cache-Control"] = "no-store"
    return SessionPublic(
        email=new.principal.email, workspace=workspace.name, role=new.principal.role,
        expires_at=new.expires_at, csrf_token=new.csrf_token,
    )  # fmt: skip


@router.get("")
def current(runtime: RuntimeDep, principal: CurrentPrincipal) -> SessionPublic:
    with runtime.unit(write=False) as unit:
        workspace = workspace_for(unit, principal, None)
    return SessionPublic(email=principal.email, workspace=workspace.name, role=principal.role)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, runtime: RuntimeDep) -> Response:
    """End the cookie session (idempotent). Needs no CSRF token: it can only log you out."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with runtime.unit() as unit:
            sessions.logout(unit, cookie)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


__all__ = ["CSRF_HEADER", "router"]
