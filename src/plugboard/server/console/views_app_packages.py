"""Stage and packages: publish an app's chosen components to stage, download a stage version's
package file, and install (client workspace) or import (developer workspace) a package file,
with the report of what arrived."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from plugboard.domain.permissions import Action, require
from plugboard.errors import Conflict, ValidationError
from plugboard.records.apps import AppDetailsPublic, InstallReportPublic
from plugboard.server.api.apps import PACKAGE_MEDIA_TYPE, package_filename
from plugboard.server.console.apps_shared import (
    KIND_LABELS,
    FormDep,
    ViewerDep,
    apps_of,
    is_developer_workspace,
)
from plugboard.server.console.web import (
    PREFIX,
    SECURITY_HEADERS,
    ConsoleRoute,
    Viewer,
    redirect,
    render,
)

# Included by views_apps (under its /console prefix).
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


# -- install / import ---------------------------------------------------------------------------


def _install_page(
    request: Request,
    viewer: Viewer,
    *,
    report: InstallReportPublic | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    importing = is_developer_workspace(viewer)
    context = {
        "title": "Import a package" if importing else "Install a package",
        "importing": importing,
        "report": report,
        "errors": errors or {},
    }
    return render(request, "console/apps_install.html", context, viewer=viewer, status=status)


@router.get("/apps/install")
def install_form(request: Request, viewer: ViewerDep) -> HTMLResponse:
    require(viewer.principal, Action.INSTALL_APPS)
    return _install_page(request, viewer)


@router.post("/apps/install")
def install(request: Request, viewer: ViewerDep, form: FormDep) -> HTMLResponse:
    """Verify and install (or import) the uploaded package file; answer with the report."""
    require(viewer.principal, Action.INSTALL_APPS)
    upload = form.file("package")
    if upload is None or not upload.content:
        return _install_page(
            request, viewer, errors={"package": "choose a package file (.plugboard.json)"},
            status=422,
        )  # fmt: skip
    service = apps_of(request, viewer)
    try:
        if is_developer_workspace(viewer):
            report = service.import_package(upload.content)
        else:
            report = service.install(upload.content)
    except ValidationError as exc:
        where = "" if exc.field == "package" else f"{exc.field} "
        return _install_page(
            request, viewer, errors={"package": f"{upload.filename}: {where}{exc.rule}"},
            status=422,
        )  # fmt: skip
    except Conflict as exc:
        return _install_page(
            request, viewer, errors={"package": f"{upload.filename}: {exc.message}"}, status=409
        )
    return _install_page(request, viewer, report=report)


# -- publish to stage, package file ---------------------------------------------------------------


def _publish_page(
    request: Request,
    viewer: Viewer,
    details: AppDetailsPublic,
    chosen: list[str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "title": f"Publish {details.name} to stage",
        "app": details,
        "chosen": chosen,
        "errors": errors or {},
        "kind_labels": KIND_LABELS,
        "versions": apps_of(request, viewer).versions(details.link_name),
    }
    return render(request, "console/apps_publish.html", context, viewer=viewer, status=status)


@router.get("/apps/{app}/publish")
def publish_form(request: Request, viewer: ViewerDep, app: str) -> HTMLResponse:
    require(viewer.principal, Action.PUBLISH_APPS)
    details = apps_of(request, viewer).get(app, environment="development")
    chosen = [f"{c.kind}/{c.name}" for c in details.components]
    return _publish_page(request, viewer, details, chosen)


@router.post("/apps/{app}/publish")
def publish(request: Request, viewer: ViewerDep, form: FormDep, app: str) -> Response:
    """Publish the chosen components (every one when all are chosen: stage then loses the
    components development no longer has) as the next stage version."""
    require(viewer.principal, Action.PUBLISH_APPS)
    service = apps_of(request, viewer)
    details = service.get(app, environment="development")
    every = [f"{c.kind}/{c.name}" for c in details.components]
    chosen = [c for c in form.getlist("components") if c]
    if not chosen:
        errors = {"components": "choose at least one component to publish"}
        return _publish_page(request, viewer, details, chosen, errors, 422)
    try:
        version = service.publish(app, components=None if set(chosen) == set(every) else chosen)
    except ValidationError as exc:
        return _publish_page(request, viewer, details, chosen, {"components": exc.rule}, 422)
    return redirect(
        f"{PREFIX}/apps/{app}?environment=stage",
        f"Published version {version.number} to stage ({version.components} component(s), "
        f"{version.connections} connection(s)). Download its package file to install it.",
    )


@router.get("/apps/{app}/package")
def download_package(
    request: Request, viewer: ViewerDep, app: str, version: int | None = None
) -> Response:
    """The package file of a stage version (the newest by default), as an attachment."""
    package = apps_of(request, viewer).package(app, version=version)
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{package_filename(package)}"',
    }
    return Response(package, media_type=PACKAGE_MEDIA_TYPE, headers=headers)
