"""Who uses an app: its app users (the members granted it; super admins and admins grant) and
its app tokens (app code calls Plugboard as the app: create, shown once; list; revoke)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from plugboard.domain.models import Role
from plugboard.domain.permissions import Action, require
from plugboard.errors import NotFound, ValidationError
from plugboard.records.apps import AppTokenIssued
from plugboard.server.console.apps_shared import FormDep, ViewerDep, apps_of
from plugboard.server.console.web import (
    PREFIX,
    SECURITY_HEADERS,
    ConsoleRoute,
    Viewer,
    redirect,
    render,
    runtime_of,
)
from plugboard.usecases.identity_service import Members

# Included by views_apps (under its /console prefix).
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


# -- app users ----------------------------------------------------------------------------------


def _users_page(
    request: Request,
    viewer: Viewer,
    app: str,
    *,
    typed: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    require(viewer.principal, Action.GRANT_APPS)
    details = apps_of(request, viewer).get(app)
    granted = {user.email for user in apps_of(request, viewer).users(app)}
    members = Members(runtime_of(request), viewer.principal).list()
    context = {
        "title": f"Users of {details.name}",
        "app": details,
        "users": [m for m in members if m.email in granted],
        "candidates": [m for m in members if m.email not in granted and m.role is Role.USER],
        "everyone": [m for m in members if m.role is not Role.USER],
        "typed": typed,
        "errors": errors or {},
    }
    return render(request, "console/apps_users.html", context, viewer=viewer, status=status)


@router.get("/apps/{app}/users")
def app_users(request: Request, viewer: ViewerDep, app: str) -> HTMLResponse:
    return _users_page(request, viewer, app)


@router.post("/apps/{app}/users")
def grant(request: Request, viewer: ViewerDep, form: FormDep, app: str) -> Response:
    email = form.get("email").strip()
    try:
        changed = apps_of(request, viewer).grant(app, email)
    except (ValidationError, NotFound) as exc:
        message = exc.rule if isinstance(exc, ValidationError) else "is not a member here"
        return _users_page(request, viewer, app, typed=email, errors={"email": message}, status=422)
    notice = f"{email} can now use the app." if changed else f"{email} already could."
    return redirect(f"{PREFIX}/apps/{app}/users", notice)


@router.post("/apps/{app}/users/remove")
def ungrant(request: Request, viewer: ViewerDep, form: FormDep, app: str) -> Response:
    email = form.get("email")
    apps_of(request, viewer).ungrant(app, email)
    return redirect(f"{PREFIX}/apps/{app}/users", f"{email} no longer uses the app.")


# -- app tokens ---------------------------------------------------------------------------------


def _tokens_page(
    request: Request,
    viewer: Viewer,
    app: str,
    *,
    created: AppTokenIssued | None = None,
    typed: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    require(viewer.principal, Action.MANAGE_APP_TOKENS)
    service = apps_of(request, viewer)
    details = service.get(app)
    context = {
        "title": f"Tokens of {details.name}",
        "app": details,
        "tokens": service.tokens(app),
        "created": created,
        "typed": typed,
        "errors": errors or {},
    }
    return render(request, "console/apps_tokens.html", context, viewer=viewer, status=status)


@router.get("/apps/{app}/tokens")
def app_tokens(request: Request, viewer: ViewerDep, app: str) -> HTMLResponse:
    return _tokens_page(request, viewer, app)


@router.post("/apps/{app}/tokens")
def create_token(request: Request, viewer: ViewerDep, form: FormDep, app: str) -> Response:
    """The new token's secret is on this answer only (stored as a hash, never shown again)."""
    name = form.get("name")
    try:
        issued = apps_of(request, viewer).create_token(app, name=name)
    except ValidationError as exc:
        return _tokens_page(request, viewer, app, typed=name, errors={"name": exc.rule}, status=422)
    response = _tokens_page(request, viewer, app, created=issued)
    response.headers.update(SECURITY_HEADERS)
    return response


@router.post("/apps/{app}/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, viewer: ViewerDep, form: FormDep, app: str, token_id: str
) -> Response:
    revoked = apps_of(request, viewer).revoke_token(app, token_id)
    # As DELETE /apps/{app}/tokens/{id} does: this process stops accepting it at once.
    request.app.state.principal_cache.forget_token(revoked.id)
    return redirect(
        f"{PREFIX}/apps/{app}/tokens", f"Revoked token {revoked.name} ({revoked.prefix}…)."
    )
