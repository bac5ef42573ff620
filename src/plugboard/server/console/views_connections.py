"""Connections: the cards, creating one, its details page, renaming in place and deleting."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from plugboard.domain.authorizations import may_authorize, who_must_act
from plugboard.domain.models import ConnectionLevel, environments_of
from plugboard.domain.permissions import Action, allowed, manage_authorization_action, require
from plugboard.errors import AlreadyExists, Conflict, ValidationError
from plugboard.records import ConnectionDetailsPublic, ServicePublic
from plugboard.server.console import gateway
from plugboard.server.console.web import (
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
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.service_catalog import Services

router = APIRouter(
    prefix=f"{PREFIX}/connections", route_class=ConsoleRoute, include_in_schema=False
)
ViewerDep = Annotated[Viewer, Depends(current_viewer)]
FormDep = Annotated[Form, Depends(read_form)]
PAGE_SIZE = 12
LEVELS = ("admin", "system", "user")


def _connections(request: Request, viewer: Viewer) -> Connections:
    return Connections(runtime_of(request), viewer.principal)


def _services(request: Request, viewer: Viewer) -> Services:
    return Services(runtime_of(request), viewer.principal)


@router.get("")
def list_connections(
    request: Request,
    viewer: ViewerDep,
    search: str = "",
    service: str = "",
    level: str = "",
    after: str = "",
) -> HTMLResponse:
    page = _connections(request, viewer).page(
        service=service or None, level=level or None, search=search.strip() or None,
        after=after or None, limit=PAGE_SIZE,
    )  # fmt: skip
    filters = {"search": search, "service": service, "level": level}
    context = {
        "title": "Connections",
        "page": page,
        "filters": filters,
        "filtered": any(filters.values()),
        "after": after,
        "levels": LEVELS,
        "services": _services(request, viewer).list(),
        "may_create": allowed(viewer.principal, Action.MANAGE_CONNECTIONS),
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "results":
        return render(request, "console/connections_results.html", context, viewer=viewer)
    return render(request, "console/connections.html", context, viewer=viewer)


def _new_form(
    request: Request,
    viewer: Viewer,
    service: ServicePublic | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    context = {
        "title": "New connection",
        "service": service,
        "services": _services(request, viewer).list(),
        "values": values,
        "errors": errors,
        "levels": LEVELS,
    }
    return render(request, "console/connection_new.html", context, viewer=viewer, status=status)


@router.get("/new")
def new_connection(request: Request, viewer: ViewerDep, service: str = "") -> HTMLResponse:
    require(viewer.principal, Action.MANAGE_CONNECTIONS)
    chosen = _services(request, viewer).get(service) if service else None
    values: dict[str, Any] = {"level": "admin", "scopes": [], "params": {}}
    return _new_form(request, viewer, chosen, values, {})


@router.post("/new")
def create_connection(request: Request, viewer: ViewerDep, form: FormDep) -> Response:
    chosen = _services(request, viewer).get(form.get("service"))
    params = {
        key.removeprefix("param."): value
        for key, value in form.pairs
        if key.startswith("param.") and value.strip()
    }
    values: dict[str, Any] = {
        "name": form.get("name"),
        "link_name": form.get("link_name"),
        "level": form.get("level", "admin"),
        "scopes": form.getlist("scope"),
        "all_scopes": form.has("all_scopes"),
        "per_environment": form.has("per_environment"),
        "params": params,
    }
    try:
        created = _connections(request, viewer).create(
            service=chosen.link_name, name=values["name"].strip() or None,
            link_name=values["link_name"].strip() or None, scopes=values["scopes"],
            all_scopes=values["all_scopes"], level=values["level"],
            per_environment=values["per_environment"], params=params,
        )  # fmt: skip
    except ValidationError as exc:
        return _new_form(request, viewer, chosen, values, {_form_field(exc.field): exc.rule}, 422)
    except AlreadyExists as exc:
        return _new_form(request, viewer, chosen, values, {exc.field: exc.message}, 409)
    return redirect(
        f"{PREFIX}/connections/{created.link_name}",
        f"Created {created.name} ({created.link_name}). Authorize it to use it.",
    )


def _form_field(field: str) -> str:
    """The form input a usecase's error field belongs to."""
    if field.startswith("dynamic_parameters."):
        return "param." + field.removeprefix("dynamic_parameters.")
    return "scope" if field.startswith("scopes") else field


def details_context(request: Request, viewer: Viewer, link_name: str) -> dict[str, Any]:
    """What the details page shows, and what the viewer may do there."""
    details: ConnectionDetailsPublic = _connections(request, viewer).get(link_name)
    principal = viewer.principal
    service = None if details.service_missing else _services(request, viewer).get(details.service)
    user_level = details.level is ConnectionLevel.USER
    # The details hold the first page of everyone's; the slots are the viewer's own.
    mine = _connections(request, viewer).own_authorizations(link_name)
    envs = (
        [e.value for e in environments_of(viewer.session.workspace.kind)]
        if details.per_environment
        else ["all"]
    )
    by_env = {a.environment: a for a in mine}
    apps = sorted({r.app for r in details.references})
    return {
        "title": details.name,
        "c": details,
        "service": service,
        "slots": [(env, by_env.get(env)) for env in envs],
        "all_count": details.authorization_count,
        "apps": apps,
        "may_manage": allowed(principal, Action.MANAGE_CONNECTIONS),
        "may_authorize": may_authorize(
            principal, details.level, principal.user_id if user_level else None
        ),
        "may_change_auth": allowed(principal, manage_authorization_action(details.level)),
        "may_view_all": user_level and allowed(principal, Action.VIEW_ALL_CONNECTIONS),
        "who_must_act": who_must_act(
            details.level, role=principal.role, is_operator=False, for_user=user_level
        ),
        "people": gateway.people(runtime_of(request), principal),
        "errors": {},
        "values": {},
    }


def details_page(
    request: Request,
    viewer: Viewer,
    link_name: str,
    *,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    context = details_context(request, viewer, link_name) | extra
    return render(request, "console/connection.html", context, viewer=viewer, status=status)


@router.get("/{link_name}")
def connection_details(
    request: Request, viewer: ViewerDep, link_name: str, edit: str = ""
) -> HTMLResponse:
    return details_page(request, viewer, link_name, editing_name=edit == "name")


@router.get("/{link_name}/name")
def name_fragment(
    request: Request, viewer: ViewerDep, link_name: str, edit: str = ""
) -> HTMLResponse:
    """The name, or its in-place editor (htmx swaps it into the details page)."""
    details = _connections(request, viewer).get(link_name)
    context = {"c": details, "editing_name": bool(edit), "may_manage": True, "errors": {}}
    return render(request, "console/connection_name.html", context, viewer=viewer)


@router.post("/{link_name}/name")
def rename_connection(
    request: Request, viewer: ViewerDep, form: FormDep, link_name: str
) -> Response:
    name = form.get("name")
    htmx = bool(request.headers.get("HX-Request"))
    try:
        edited = _connections(request, viewer).edit(link_name, name=name)
    except ValidationError as exc:
        errors = {"name": exc.rule}
        if htmx:
            details = _connections(request, viewer).get(link_name)
            context = {"c": details, "editing_name": True, "may_manage": True,
                       "errors": errors, "typed_name": name}  # fmt: skip
            return render(request, "console/connection_name.html", context, viewer=viewer)
        return details_page(
            request, viewer, link_name, status=422, editing_name=True, errors=errors,
            typed_name=name,
        )  # fmt: skip
    if htmx:
        details = _connections(request, viewer).get(link_name)
        context = {"c": details, "editing_name": False, "may_manage": True, "errors": {},
                   "saved": True}  # fmt: skip
        return render(request, "console/connection_name.html", context, viewer=viewer)
    return redirect(f"{PREFIX}/connections/{link_name}", f"Renamed to {edited.connection.name}.")


@router.post("/{link_name}/delete")
def delete_connection(
    request: Request, viewer: ViewerDep, form: FormDep, link_name: str
) -> Response:
    try:
        _connections(request, viewer).delete(link_name)
    except Conflict as exc:
        references = (exc.details or {}).get("references", [])
        return details_page(
            request, viewer, link_name, status=409, delete_refused=exc.message,
            refused_references=references,
        )  # fmt: skip
    return redirect(f"{PREFIX}/connections", f"Deleted connection {link_name}.")
