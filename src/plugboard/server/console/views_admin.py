"""The audit log (with filters and pages) and the viewer's API tokens (create: shown once;
list; revoke)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from plugboard.domain.permissions import Action, require
from plugboard.errors import ValidationError
from plugboard.server.console import gateway
from plugboard.server.console.web import (
    PREFIX,
    SECURITY_HEADERS,
    ConsoleRoute,
    Form,
    Viewer,
    current_viewer,
    read_form,
    redirect,
    render,
    runtime_of,
)
from plugboard.server.pagination import cursor_time_id, time_id_cursor
from plugboard.usecases.audit_service import AuditLog

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
ViewerDep = Annotated[Viewer, Depends(current_viewer)]
FormDep = Annotated[Form, Depends(read_form)]
PAGE_SIZE = 25
# The actions the audit log records, offered in its filter.
AUDIT_ACTIONS = (
    "connection.create", "connection.create_system", "connection.edit", "connection.delete",
    "connection.invoke", "authorization.start", "authorization.create", "authorization.link",
    "authorization.failed", "authorization.denied", "authorization.rename",
    "authorization.revoke", "authorization.primary", "authorization.disconnect",
    "authorization.expire", "service.create", "service.edit", "service.delete",
    "service_client.set", "token.create", "token.revoke", "session.login", "session.switch",
    "user.add", "user.invite", "invitation.accept", "workspace.create", "keys.reencrypt",
)  # fmt: skip


@router.get("/audit")
def audit_log(
    request: Request,
    viewer: ViewerDep,
    action: str = "",
    outcome: str = "",
    actor: str = "",
    cursor: str = "",
) -> HTMLResponse:
    require(viewer.principal, Action.VIEW_AUDIT)
    page = AuditLog(runtime_of(request), viewer.principal).page(
        action=action or None, outcome=outcome or None, actor_contains=actor.strip() or None,
        before=cursor_time_id(cursor), limit=PAGE_SIZE,
    )  # fmt: skip
    filters = {"action": action, "outcome": outcome, "actor": actor}
    context = {
        "title": "Audit log",
        "events": page.items,
        "next_cursor": time_id_cursor(page.next_key) or "",
        "cursor": cursor,
        "filters": filters,
        "filtered": any(filters.values()),
        "actions": AUDIT_ACTIONS,
    }
    return render(request, "console/audit.html", context, viewer=viewer)


def _tokens_page(
    request: Request,
    viewer: Viewer,
    *,
    created: tuple[str, str] | None = None,
    errors: dict[str, str] | None = None,
    name: str = "",
    status: int = 200,
) -> HTMLResponse:
    context = {
        "title": "API tokens",
        "tokens": gateway.list_tokens(runtime_of(request), viewer.principal),
        "created": created,
        "errors": errors or {},
        "name": name,
    }
    return render(request, "console/tokens.html", context, viewer=viewer, status=status)


@router.get("/tokens")
def tokens(request: Request, viewer: ViewerDep) -> HTMLResponse:
    return _tokens_page(request, viewer)


@router.post("/tokens")
def create_token(request: Request, viewer: ViewerDep, form: FormDep) -> Response:
    """The new token is on this answer only (never stored in plaintext, never shown again)."""
    name = form.get("name")
    try:
        issued = gateway.create_token(runtime_of(request), viewer.principal, name)
    except ValidationError as exc:
        return _tokens_page(request, viewer, errors={exc.field: exc.rule}, name=name, status=422)
    response = _tokens_page(request, viewer, created=(issued.token.name, issued.secret))
    response.headers.update(SECURITY_HEADERS)
    return response


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, viewer: ViewerDep, form: FormDep, token_id: str) -> Response:
    revoked = gateway.revoke_token(runtime_of(request), viewer.principal, token_id)
    # As DELETE /tokens/{id} does: this process stops accepting it at once.
    request.app.state.principal_cache.forget_token(token_id)
    return redirect(f"{PREFIX}/tokens", f"Revoked token {revoked.name} ({revoked.prefix}…).")
