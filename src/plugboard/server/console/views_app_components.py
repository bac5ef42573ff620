"""An app's components in development: add one, edit the connections and services it uses, and
remove it. Each save rewrites the component's references (the Apps service does), so a
connection it names becomes enabled for the app, and one enabled for another app is refused."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from plugboard.domain.models import ConnectionLevel
from plugboard.domain.permissions import Action, require
from plugboard.errors import Conflict, NotFound, ValidationError
from plugboard.records.apps import AppDetailsPublic
from plugboard.server.console.apps_shared import (
    KIND_LABELS,
    KINDS,
    LEVEL_LABELS,
    FormDep,
    ViewerDep,
    apps_of,
)
from plugboard.server.console.web import (
    PREFIX,
    ConsoleRoute,
    Viewer,
    redirect,
    render,
    runtime_of,
)
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.service_catalog import Services

# Included by views_apps (under its /console prefix).
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _development(request: Request, viewer: Viewer, app: str) -> AppDetailsPublic:
    require(viewer.principal, Action.MANAGE_APPS)
    return apps_of(request, viewer).get(app, environment="development")


def _form_page(
    request: Request,
    viewer: Viewer,
    details: AppDetailsPublic,
    values: dict[str, Any],
    *,
    editing: bool,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    runtime = runtime_of(request)
    connections = [
        c
        for c in Connections(runtime, viewer.principal).list()
        if c.level is not ConnectionLevel.SYSTEM or c.link_name in values["connections"]
    ]
    context = {
        "title": ("Edit " if editing else "Add a component to ") + details.name,
        "app": details,
        "values": values,
        "editing": editing,
        "errors": errors or {},
        "kinds": KINDS,
        "kind_labels": KIND_LABELS,
        "level_labels": LEVEL_LABELS,
        "connections": connections,
        "services": Services(runtime, viewer.principal).list(),
    }
    return render(request, "console/apps_component.html", context, viewer=viewer, status=status)


@router.get("/apps/{app}/components/new")
def new_component(request: Request, viewer: ViewerDep, app: str, kind: str = "form") -> Response:
    details = _development(request, viewer, app)
    values = {"kind": kind if kind in KINDS else "form", "name": "", "connections": [],
              "services": []}  # fmt: skip
    return _form_page(request, viewer, details, values, editing=False)


@router.get("/apps/{app}/components/edit")
def edit_component(request: Request, viewer: ViewerDep, app: str, kind: str, name: str) -> Response:
    details = _development(request, viewer, app)
    found = next((c for c in details.components if c.kind == kind and c.name == name), None)
    if found is None:
        raise NotFound("component", f"{kind}/{name}")
    values = {"kind": found.kind, "name": found.name, "connections": list(found.connections),
              "services": list(found.services)}  # fmt: skip
    return _form_page(request, viewer, details, values, editing=True)


def _field(error_field: str) -> str:
    """The form input a usecase's error belongs to (``connections[2]`` → ``connections``)."""
    return error_field.split("[", 1)[0] if error_field else "form"


@router.post("/apps/{app}/components")
def save_component(request: Request, viewer: ViewerDep, form: FormDep, app: str) -> Response:
    """Create a component (``editing`` empty) or replace what an existing one uses."""
    details = _development(request, viewer, app)
    editing = form.get("editing") == "1"
    kind, name = form.get("kind"), form.get("name")
    connections = [c for c in form.getlist("connections") if c]
    services = [s for s in form.getlist("services") if s]
    values: dict[str, Any] = {"kind": kind, "name": name, "connections": connections,
                              "services": services}  # fmt: skip
    exists = any(c.kind == kind and c.name == name.strip() for c in details.components)
    if not editing and exists:
        errors = {"name": f"this app already has a {KIND_LABELS.get(kind, 'component').lower()}"
                  f" named {name.strip()!r}: edit that one instead"}  # fmt: skip
        return _form_page(
            request, viewer, details, values, editing=False, errors=errors, status=409
        )
    try:
        saved = apps_of(request, viewer).put_component(
            app, kind=kind, name=name, connections=connections, services=services
        )
    except ValidationError as exc:
        errors = {_field(exc.field): exc.rule}
        return _form_page(
            request, viewer, details, values, editing=editing, errors=errors, status=422
        )
    except Conflict as exc:  # a connection enabled for another app
        return _form_page(
            request, viewer, details, values, editing=editing,
            errors={"connections": exc.message}, status=409,
        )  # fmt: skip
    label = KIND_LABELS.get(saved.kind, saved.kind)
    return redirect(
        f"{PREFIX}/apps/{app}",
        f"Saved {label.lower()} “{saved.name}” ({len(saved.connections)} connection(s), "
        f"{len(saved.services)} service(s)).",
    )


@router.post("/apps/{app}/components/delete")
def delete_component(request: Request, viewer: ViewerDep, form: FormDep, app: str) -> Response:
    kind, name = form.get("kind"), form.get("name")
    apps_of(request, viewer).delete_component(app, kind=kind, name=name)
    label = KIND_LABELS.get(kind, kind).lower()
    return redirect(
        f"{PREFIX}/apps/{app}",
        f"Removed {label} “{name}”; the connections it used keep their app access.",
    )
