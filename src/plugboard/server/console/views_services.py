"""The service catalog (built-in and custom, category filter, search) and custom services:
create, edit (with the editing rules shown) and delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from plugboard.domain.permissions import Action, allowed, require
from plugboard.errors import AlreadyExists, PermissionDenied, ValidationError
from plugboard.records import ServicePublic
from plugboard.server.console import gateway
from plugboard.server.console.service_form import (
    AUTH_TYPES,
    PARAM_TYPES,
    definition_from_form,
    field_states,
    is_add_only,
    rows,
)
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
from plugboard.usecases.service_catalog import Services

router = APIRouter(prefix=f"{PREFIX}/services", route_class=ConsoleRoute, include_in_schema=False)
ViewerDep = Annotated[Viewer, Depends(current_viewer)]
FormDep = Annotated[Form, Depends(read_form)]
PAGE_SIZE = 24


def _services(request: Request, viewer: Viewer) -> Services:
    return Services(runtime_of(request), viewer.principal)


@router.get("")
def catalog(
    request: Request,
    viewer: ViewerDep,
    search: str = "",
    category: str = "",
    kind: str = "",
    page: int = 1,
) -> HTMLResponse:
    services = _services(request, viewer)
    everything = services.list()
    found = services.list(
        category=category or None, search=search.strip() or None, custom=kind == "custom"
    )
    if kind == "builtin":
        found = [s for s in found if s.builtin]
    page = max(page, 1)
    shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    filters = {"search": search, "category": category, "kind": kind}
    context = {
        "title": "Services",
        "services": shown,
        "total": len(found),
        "page": page,
        "more": len(found) > page * PAGE_SIZE,
        "filters": filters,
        "filtered": any(filters.values()),
        "categories": sorted({s.category for s in everything}),
        "may_create": allowed(viewer.principal, Action.MANAGE_SERVICES),
        "may_connect": allowed(viewer.principal, Action.MANAGE_CONNECTIONS),
    }
    return render(request, "console/services.html", context, viewer=viewer)


def _form_page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    editing: ServicePublic | None,
    status: int = 200,
) -> HTMLResponse:
    auth_type = values.get("auth_type") or "api_key"
    block = values.get(auth_type) or {}
    context = {
        "title": f"Edit {editing.name}" if editing else "New custom service",
        "editing": editing,
        "values": values,
        "errors": errors,
        "auth_type": auth_type,
        "auth_types": AUTH_TYPES,
        "param_types": PARAM_TYPES,
        "states": field_states(auth_type, editing is not None),
        "parameter_rows": rows(block.get("parameters", []) if auth_type == "api_key" else []),
        "scope_rows": rows(block.get("scopes", []) if auth_type == "oauth2" else []),
        "dynamic_rows": rows(values.get("dynamic_parameters", [])),
        "existing_counts": _existing_counts(editing),
        "add_only_scopes": is_add_only(auth_type, "oauth2.scopes"),
    }
    return render(request, "console/service_form.html", context, viewer=viewer, status=status)


def _existing_counts(editing: ServicePublic | None) -> dict[str, int]:
    """How many list items the stored service has: those rows follow the editing rules."""
    if editing is None:
        return {}
    d = editing.definition
    return {
        "parameters": len(d.get("api_key", {}).get("parameters", [])),
        "scopes": len(d.get("oauth2", {}).get("scopes", [])),
        "dynamic_parameters": len(d.get("dynamic_parameters", [])),
    }


@router.get("/new")
def new_service(request: Request, viewer: ViewerDep, auth_type: str = "api_key") -> HTMLResponse:
    require(viewer.principal, Action.MANAGE_SERVICES)
    chosen = auth_type if auth_type in AUTH_TYPES else "api_key"
    return _form_page(request, viewer, values={"auth_type": chosen}, errors={}, editing=None)


@router.post("/new")
def create_service(request: Request, viewer: ViewerDep, form: FormDep) -> Response:
    definition, shown = definition_from_form(form)
    try:
        created = _services(request, viewer).create(definition)
    except ValidationError as exc:
        return _form_page(
            request, viewer, values=shown, errors={exc.field: exc.rule}, editing=None, status=422
        )
    except AlreadyExists as exc:
        return _form_page(
            request, viewer, values=shown, errors={exc.field: exc.message}, editing=None,
            status=409,
        )  # fmt: skip
    return redirect(f"{PREFIX}/services/{created.link_name}", f"Created service {created.name}.")


def _own(request: Request, viewer: Viewer, link_name: str, verb: str) -> ServicePublic:
    service = _services(request, viewer).get(link_name)
    require(viewer.principal, Action.MANAGE_SERVICES)
    if service.builtin or service.created_by != viewer.principal.user_id:
        raise PermissionDenied(
            f"{verb} service {link_name!r}", viewer.principal.role,
            f"only the creator of a custom service may {verb} it"
            if not service.builtin else f"built-in services cannot be {verb}ed",
        )  # fmt: skip
    return service


@router.get("/{link_name}")
def service_details(request: Request, viewer: ViewerDep, link_name: str) -> HTMLResponse:
    service = _services(request, viewer).get(link_name)
    mine = not service.builtin and service.created_by == viewer.principal.user_id
    context = {
        "title": service.name,
        "s": service,
        "d": service.definition,
        "mine": mine and allowed(viewer.principal, Action.MANAGE_SERVICES),
        "may_connect": allowed(viewer.principal, Action.MANAGE_CONNECTIONS),
        "people": gateway.people(runtime_of(request), viewer.principal),
        "auth_types": AUTH_TYPES,
    }
    return render(request, "console/service.html", context, viewer=viewer)


@router.get("/{link_name}/edit")
def edit_service(request: Request, viewer: ViewerDep, link_name: str) -> HTMLResponse:
    service = _own(request, viewer, link_name, "edit")
    return _form_page(request, viewer, values=service.definition, errors={}, editing=service)


@router.post("/{link_name}/edit")
def save_service(request: Request, viewer: ViewerDep, form: FormDep, link_name: str) -> Response:
    service = _own(request, viewer, link_name, "edit")
    definition, shown = definition_from_form(form, service.definition)
    try:
        result = _services(request, viewer).edit(link_name, definition)
    except ValidationError as exc:
        return _form_page(
            request, viewer, values=shown, errors={exc.field: exc.rule}, editing=service,
            status=422,
        )  # fmt: skip
    notice = f"Saved {result.service.name}."
    if result.revoked_authorizations:
        notice += (
            f" {result.revoked_authorizations} authorization(s) of its connections were "
            "disconnected: authorize them again."
        )
    return redirect(f"{PREFIX}/services/{link_name}", notice)


@router.post("/{link_name}/delete")
def delete_service(request: Request, viewer: ViewerDep, form: FormDep, link_name: str) -> Response:
    disconnected = _services(request, viewer).delete(link_name)
    notice = f"Deleted service {link_name}."
    if disconnected:
        notice += f" {disconnected} authorization(s) of its connections were disconnected."
    return redirect(f"{PREFIX}/services", notice)
