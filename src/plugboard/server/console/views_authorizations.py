"""Authorizing a connection (a credential form, or an OAuth consent with its 90-second window),
switching, revoking and renaming an authorization, and the list of all authorizations."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from plugboard.domain.models import Role, environments_of
from plugboard.domain.oauth import FlowState
from plugboard.domain.permissions import Action, allowed
from plugboard.errors import Conflict, PermissionDenied, PlugboardError, ValidationError
from plugboard.server.console import gateway
from plugboard.server.console.views_connections import details_page
from plugboard.server.console.web import (
    PREFIX,
    ConsoleRoute,
    Form,
    Viewer,
    current_viewer,
    flows_of,
    read_form,
    redirect,
    render,
    runtime_of,
)
from plugboard.server.pagination import cursor_texts, encode_cursor
from plugboard.usecases.authorization_service import Authorizations
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.service_catalog import Services

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
ViewerDep = Annotated[Viewer, Depends(current_viewer)]
FormDep = Annotated[Form, Depends(read_form)]
_CONSENT_TYPES = ("oauth1", "oauth2")


def _authorizations(request: Request, viewer: Viewer) -> Authorizations:
    return Authorizations(runtime_of(request), viewer.principal, flows=flows_of(request))


def _credential_fields(auth_type: str, definition: dict[str, Any]) -> list[dict[str, str]]:
    """The inputs a credential form asks for: name, label, and whether it is secret."""
    if auth_type == "api_key":
        return [
            {"name": p["name"], "label": p["display_name"], "secret": "1"}
            for p in definition.get("api_key", {}).get("parameters", [])
        ]
    if auth_type == "basic":
        labels = definition.get("basic", {})
        return [
            {"name": "username", "label": labels.get("username_label", "Username"), "secret": ""},
            {"name": "password", "label": labels.get("password_label", "Password"), "secret": "1"},
        ]
    if auth_type == "aws_sigv4":
        return [
            {"name": "access_key", "label": "Access key ID", "secret": "1"},
            {"name": "secret_key", "label": "Secret access key", "secret": "1"},
            {"name": "session_token", "label": "Session token (optional)", "secret": "1"},
        ]
    return []


def _authorize_page(
    request: Request,
    viewer: Viewer,
    link_name: str,
    *,
    environment: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    connections = Connections(runtime_of(request), viewer.principal)
    details = connections.get(link_name)
    service = Services(runtime_of(request), viewer.principal).get(details.service)
    mine = connections.own_authorizations(link_name)  # the details hold only a first page
    accounts = sorted({a.account_name for a in mine if a.account_name and a.status == "connected"})
    envs = [e.value for e in environments_of(viewer.session.workspace.kind)]
    context = {
        "title": f"Authorize {details.name}",
        "c": details,
        "service": service,
        "consent": service.auth_type in _CONSENT_TYPES,
        "fields": _credential_fields(service.auth_type, service.definition),
        "environments": envs if details.per_environment else [],
        "environment": environment,
        "accounts": accounts,
        "values": values or {"environments": [environment]},
        "errors": errors or {},
    }
    return render(request, "console/authorize.html", context, viewer=viewer, status=status)


@router.get("/connections/{link_name}/authorize")
def authorize_page(
    request: Request,
    viewer: ViewerDep,
    link_name: str,
    environment: str = "all",
    workspace: str | None = None,
) -> Response:
    if workspace and workspace != viewer.session.workspace.name:
        # A notice's link about another of the viewer's workspaces: switch first.
        here = f"{PREFIX}/connections/{link_name}/authorize?" + urlencode(
            {"environment": environment, "workspace": workspace}
        )
        return redirect(
            f"{PREFIX}/notifications/workspace?" + urlencode({"workspace": workspace, "next": here})
        )
    return _authorize_page(request, viewer, link_name, environment=environment)


def _environments(form: Form) -> list[str]:
    return [e for e in form.getlist("environment") if e and e != "all"]


def _refused(exc: PlugboardError) -> dict[str, str]:
    """A refusal shown at the top of the form; 'contact your admin' when a user cannot act."""
    if isinstance(exc, Conflict) and "primary" in exc.message:
        return {"form": f"{exc.message}. Contact your admin: a super admin authorizes first."}
    return {"form": exc.message}


@router.post("/connections/{link_name}/credentials")
def enter_credential(
    request: Request, viewer: ViewerDep, form: FormDep, link_name: str
) -> Response:
    """Store an API key, Basic or AWS credential (checked by the service's test call). What
    was typed into a secret field is never sent back, not even on an error."""
    envs = _environments(form)
    account_name = form.get("account_name").strip()
    values = {
        key.removeprefix("cred."): value
        for key, value in form.pairs
        if key.startswith("cred.") and value != ""
    }
    kept = {"environments": envs, "account_name": account_name,
            "username": values.get("username", "")}  # fmt: skip
    try:
        stored = _authorizations(request, viewer).enter_credential(
            link_name, values, environments=envs, account_name=account_name or None
        )
    except ValidationError as exc:
        field = exc.field.replace("credential.", "cred.")
        errors = {field: exc.rule} if field.startswith("cred.") else {"form": exc.message}
        return _authorize_page(
            request, viewer, link_name, environment=(envs or ["all"])[0], values=kept,
            errors=errors, status=422,
        )  # fmt: skip
    except (Conflict, PermissionDenied) as exc:
        return _authorize_page(
            request, viewer, link_name, environment=(envs or ["all"])[0], values=kept,
            errors=_refused(exc), status=409 if isinstance(exc, Conflict) else 403,
        )  # fmt: skip
    except PlugboardError as exc:  # the test call failed, or the provider is unreachable
        return _authorize_page(
            request, viewer, link_name, environment=(envs or ["all"])[0], values=kept,
            errors={"form": f"Not connected: {exc.message}"}, status=422,
        )  # fmt: skip
    names = ", ".join(sorted({a.account_name or "the account" for a in stored}))
    return redirect(f"{PREFIX}/connections/{link_name}", f"Connected {names}.")


@router.post("/connections/{link_name}/reuse")
def reuse_account(request: Request, viewer: ViewerDep, form: FormDep, link_name: str) -> Response:
    """Authorize (or switch) an environment with an account already linked."""
    envs = _environments(form) or ["all"]
    account = form.get("account")
    try:
        for env in envs:
            _authorizations(request, viewer).reuse(link_name, account, environment=env)
    except PlugboardError as exc:
        return _authorize_page(
            request, viewer, link_name, environment=envs[0],
            values={"environments": envs, "account": account}, errors=_refused(exc), status=422,
        )  # fmt: skip
    return redirect(f"{PREFIX}/connections/{link_name}", f"Now using {account}.")


@router.post("/connections/{link_name}/consent")
def start_consent(request: Request, viewer: ViewerDep, form: FormDep, link_name: str) -> Response:
    """Start an OAuth consent and show the page that sends the person to the provider and
    counts the 90 seconds down. Answered directly (no redirect): the provider's URL carries
    the flow's single-use state and is shown only here."""
    envs = _environments(form)
    try:
        started = flows_of(request).start(viewer.principal, connection=link_name, environments=envs)
    except (Conflict, PermissionDenied, ValidationError) as exc:
        return _authorize_page(
            request, viewer, link_name, environment=(envs or ["all"])[0],
            values={"environments": envs}, errors=_refused(exc), status=409,
        )  # fmt: skip
    details = Connections(runtime_of(request), viewer.principal).get(link_name)
    context = {
        "title": f"Authorize {details.name}",
        "c": details,
        "flow_id": started.flow_id,
        "authorize_url": started.authorize_url,
        "expires_at": started.expires_at,
        "state": FlowState.PENDING.value,
        "outcome": None,
    }
    return render(request, "console/consent.html", context, viewer=viewer)


@router.get("/consents/{flow_id}")
def consent_page(request: Request, viewer: ViewerDep, flow_id: str) -> HTMLResponse:
    state, outcome, expires_at, link = gateway.consent_state(
        runtime_of(request), flows_of(request), viewer.principal, flow_id
    )
    details = Connections(runtime_of(request), viewer.principal).get(link)
    context = {"title": f"Authorize {details.name}", "c": details, "flow_id": flow_id,
               "authorize_url": None, "expires_at": expires_at, "state": state.value,
               "outcome": outcome}  # fmt: skip
    return render(request, "console/consent.html", context, viewer=viewer)


@router.get("/consents/{flow_id}/status")
def consent_status(request: Request, viewer: ViewerDep, flow_id: str) -> HTMLResponse:
    """The outcome fragment the consent page polls every second until the flow ends."""
    state, outcome, expires_at, link = gateway.consent_state(
        runtime_of(request), flows_of(request), viewer.principal, flow_id
    )
    context = {"flow_id": flow_id, "state": state.value, "outcome": outcome,
               "expires_at": expires_at, "link_name": link}  # fmt: skip
    return render(request, "console/consent_status.html", context, viewer=viewer)


@router.post("/connections/{link_name}/authorizations/revoke")
def revoke(request: Request, viewer: ViewerDep, form: FormDep, link_name: str) -> Response:
    env = form.get("environment") or None
    result = _authorizations(request, viewer).revoke(link_name, environment=env)
    notice = "Authorization revoked."
    if result.primary_warning:
        notice += f" Warning: {result.primary_warning}."
    back = form.get("back") or f"{PREFIX}/connections/{link_name}"
    return redirect(back if back.startswith(PREFIX) else PREFIX, notice)


@router.post("/connections/{link_name}/authorizations/rename")
def rename(request: Request, viewer: ViewerDep, form: FormDep, link_name: str) -> Response:
    env = form.get("environment") or "all"
    name = form.get("name")
    try:
        renamed = _authorizations(request, viewer).rename(link_name, name, environment=env)
    except ValidationError as exc:
        key = f"account_name.{env}"
        return details_page(
            request, viewer, link_name, status=422, errors={key: exc.rule}, values={key: name}
        )
    return redirect(
        f"{PREFIX}/connections/{link_name}", f"The account is now named {renamed.account_name}."
    )


# A page of "all authorizations" (keyset-paged in the store, like the REST list).
PAGE_SIZE = 50


@router.get("/connections/{link_name}/authorizations")
def all_authorizations(
    request: Request,
    viewer: ViewerDep,
    link_name: str,
    search: str = "",
    user_type: str = "",
    environment: str = "",
    cursor: str = "",
) -> HTMLResponse:
    details = Connections(runtime_of(request), viewer.principal).get(link_name)
    after = cursor_texts(cursor, 3)
    found = _authorizations(request, viewer).page(
        link_name, search=search.strip() or None, user_type=user_type or None,
        environment=environment or None,
        after=None if after is None else (after[0], after[1], after[2]), limit=PAGE_SIZE,
    )  # fmt: skip
    context = {
        "title": f"All authorizations of {details.name}",
        "c": details,
        "items": found.items,
        "cursor": cursor,
        "next_cursor": "" if found.next_key is None else encode_cursor(found.next_key),
        "filters": {"search": search, "user_type": user_type, "environment": environment},
        "roles": [r.value for r in Role],
        "environments": [e.value for e in environments_of(viewer.session.workspace.kind)],
        "may_move_primary": allowed(viewer.principal, Action.MOVE_PRIMARY),
        "me": viewer.principal.email,
    }
    return render(request, "console/authorizations.html", context, viewer=viewer)


@router.post("/connections/{link_name}/authorizations/primary")
def mark_primary(request: Request, viewer: ViewerDep, form: FormDep, link_name: str) -> Response:
    owner = form.get("owner")
    env = form.get("environment") or None
    _authorizations(request, viewer).set_primary(link_name, owner=owner, environment=env)
    return redirect(
        f"{PREFIX}/connections/{link_name}/authorizations",
        f"{owner}'s account is now the primary account.",
    )
