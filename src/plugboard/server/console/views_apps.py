"""Apps (SPEC §6, §9): the list, creating an app, an app's components and connections per
environment, and its connections panel (the "slider"), an htmx side panel that is also a page
of its own. Components, stage and packages, app users and app tokens are the routers of
``views_app_components``, ``views_app_packages`` and ``views_app_access``, included here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from plugboard.domain.permissions import Action, require
from plugboard.errors import AlreadyExists, ValidationError
from plugboard.server.console.apps_shared import (
    KIND_LABELS,
    LEVEL_LABELS,
    FormDep,
    ViewerDep,
    abilities,
    apps_of,
    environments,
    is_developer_workspace,
    prompt,
    visible,
)
from plugboard.server.console.views_app_access import router as access_router
from plugboard.server.console.views_app_components import router as components_router
from plugboard.server.console.views_app_packages import router as packages_router
from plugboard.server.console.web import PREFIX, ConsoleRoute, Viewer, redirect, render

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
# First: /apps/install must not be taken for an app's link name by /apps/{app}.
router.include_router(packages_router)
router.include_router(components_router)
router.include_router(access_router)


@router.get("/apps")
def list_apps(request: Request, viewer: ViewerDep) -> HTMLResponse:
    context = {
        "title": "Apps",
        "apps": apps_of(request, viewer).list(),
        "developer": is_developer_workspace(viewer),
        **abilities(viewer),
    }
    return render(request, "console/apps.html", context, viewer=viewer)


def _new_form(
    request: Request,
    viewer: Viewer,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    context = {"title": "New app", "values": values, "errors": errors}
    return render(request, "console/apps_new.html", context, viewer=viewer, status=status)


@router.get("/apps/new")
def new_app(request: Request, viewer: ViewerDep) -> HTMLResponse:
    _require_builder(viewer)
    return _new_form(request, viewer, {"name": "", "link_name": ""}, {})


@router.post("/apps/new")
def create_app(request: Request, viewer: ViewerDep, form: FormDep) -> Response:
    _require_builder(viewer)
    values = {"name": form.get("name"), "link_name": form.get("link_name")}
    try:
        created = apps_of(request, viewer).create(
            name=values["name"], link_name=values["link_name"].strip() or None
        )
    except ValidationError as exc:
        field = exc.field if exc.field in values else "name"
        return _new_form(request, viewer, values, {field: exc.rule}, 422)
    except AlreadyExists as exc:
        return _new_form(request, viewer, values, {"link_name": exc.message}, 409)
    return redirect(
        f"{PREFIX}/apps/{created.link_name}",
        f"Created app {created.name} ({created.link_name}). Add its components.",
    )


def _require_builder(viewer: Viewer) -> None:
    """Apps are built by super admins and developers, in a developer workspace only (the
    matrix grants nobody in a client workspace)."""
    require(viewer.principal, Action.MANAGE_APPS)


def details_context(
    request: Request, viewer: Viewer, app: str, environment: str | None
) -> dict[str, Any]:
    service = apps_of(request, viewer)
    details = service.get(app, environment=environment or None)
    connections, components = visible(details, viewer)
    may = abilities(viewer)
    developer = is_developer_workspace(viewer)
    return {
        "title": details.name,
        "app": details,
        "environment": details.environment,
        "environments": environments(viewer),
        "connections": connections,
        "components": components,
        "levels": {c.link_name: c.level.value for c in connections},
        "versions": service.versions(app) if developer and may["may_publish"] else [],
        "editable": may["may_build"] and details.environment == "development",
        "kind_labels": KIND_LABELS,
        "level_labels": LEVEL_LABELS,
        **may,
    }


@router.get("/apps/{app}")
def app_details(request: Request, viewer: ViewerDep, app: str, environment: str = "") -> Response:
    context = details_context(request, viewer, app, environment)
    return render(request, "console/apps_details.html", context, viewer=viewer)


@router.get("/apps/{app}/panel")
def app_panel(request: Request, viewer: ViewerDep, app: str, environment: str = "") -> Response:
    """The connections panel: a fragment for htmx (the side panel of the app's page), else a
    page of its own (a link opened in a new tab, or without script)."""
    service = apps_of(request, viewer)
    details = service.get(app)
    entries = service.panel(app, environment=environment or None)
    context = {
        "title": f"Connections of {details.name}",
        "app": details,
        "entries": [(e, prompt(e)) for e in entries],
        "is_user": abilities(viewer)["is_user"],
        "level_labels": LEVEL_LABELS,
    }
    if request.headers.get("HX-Request"):
        return render(request, "console/apps_panel.html", context, viewer=viewer)
    return render(request, "console/apps_panel_page.html", context, viewer=viewer)


@router.post("/apps/{app}/delete")
def delete_app(request: Request, viewer: ViewerDep, form: FormDep, app: str) -> Response:
    """Delete an app with its components and versions; its connections stay."""
    apps_of(request, viewer).delete(app)
    return redirect(f"{PREFIX}/apps", f"Deleted app {app}. Its connections were kept.")
