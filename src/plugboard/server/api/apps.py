"""/apps and /packages: apps, their components, app access and users, stage versions, package
files, install and import, app tokens, system connections and the connections panel (SPEC §6).

Every route is one call to the `Apps` usecase service; its records are the response models."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from plugboard.domain.models import Environment
from plugboard.errors import ValidationError
from plugboard.records import ConnectionPublic
from plugboard.records.apps import (
    AppDetailsPublic,
    AppPublic,
    AppTokenIssued,
    AppTokenPublic,
    AppUserPublic,
    AppVersionPublic,
    ComponentPublic,
    InstallReportPublic,
    PanelEntryPublic,
    SystemConnectionPublic,
)
from plugboard.server.deps import CurrentPrincipal, RuntimeDep
from plugboard.server.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    cursor_after,
    decode_cursor,
    encode_cursor,
    paginate,
)
from plugboard.usecases.app_service import Apps

router = APIRouter(tags=["apps"])
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
EnvironmentQuery = Annotated[
    Environment | None,
    Query(
        description="development, stage or production (default: development where apps are "
        "built, production where they are installed)."
    ),
]
PACKAGE_MEDIA_TYPE = "application/json"
# The request body of install and import: the package file's bytes, as `apps package` wrote them.
_PACKAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The package file (`<app>-<version>.plugboard.json`), byte for byte.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppCreate(_Body):
    name: str = Field(description="Display name, e.g. 'Property sales'.")
    link_name: str | None = Field(default=None, description="Default: derived from the name.")


class AppUpdate(_Body):
    name: str = Field(description="The new display name (the link name never changes).")


class ComponentPut(_Body):
    connections: list[str] = Field(default=[], description="Link names of the connections used.")
    services: list[str] = Field(
        default=[], description="Services used through the workspace's system connection."
    )


class PublishRequest(_Body):
    components: list[str] | None = Field(
        default=None, description="`kind/name` of the components to publish (default: all)."
    )


class AppTokenCreate(_Body):
    name: str = "app"


class AppUserChange(_Body):
    app: str
    user: str
    changed: bool = Field(description="False when the member already was (or was not) a user.")


# -- apps ---------------------------------------------------------------------------------------


@router.get("/apps")
def list_apps(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[AppPublic]:
    """The apps you may see: every app for builders and admins, those granted to a `user`."""
    found = Apps(runtime, principal).list(after=cursor_after(cursor, "link_name"), limit=limit + 1)
    more = len(found) > limit
    return Page(
        items=found[:limit],
        next_cursor=encode_cursor([found[limit - 1].link_name]) if more else None,
    )


@router.post("/apps", status_code=status.HTTP_201_CREATED)
def create_app(body: AppCreate, runtime: RuntimeDep, principal: CurrentPrincipal) -> AppPublic:
    """Create an app (developer workspace only)."""
    return Apps(runtime, principal).create(name=body.name, link_name=body.link_name)


@router.get("/apps/{app}")
def show_app(
    app: str, runtime: RuntimeDep, principal: CurrentPrincipal, environment: EnvironmentQuery = None
) -> AppDetailsPublic:
    """An app with its components and the connections they use, in one environment."""
    return Apps(runtime, principal).get(app, environment=_value(environment))


@router.patch("/apps/{app}")
def rename_app(
    app: str, body: AppUpdate, runtime: RuntimeDep, principal: CurrentPrincipal
) -> AppPublic:
    return Apps(runtime, principal).rename(app, name=body.name)


@router.delete("/apps/{app}")
def delete_app(app: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> dict[str, str]:
    """Delete an app with its components and versions; its connections stay, enabled for no app."""
    Apps(runtime, principal).delete(app)
    return {"deleted": app}


# -- components, app access, app users -----------------------------------------------------------


@router.put("/apps/{app}/components/{kind}/{name}")
def put_component(
    app: str,
    kind: str,
    name: str,
    body: ComponentPut,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
) -> ComponentPublic:
    """Create or replace a development component; the connections it names become enabled for
    the app (one enabled for another app is refused, 409)."""
    return Apps(runtime, principal).put_component(
        app, kind=kind, name=name, connections=body.connections, services=body.services
    )


@router.delete("/apps/{app}/components/{kind}/{name}")
def delete_component(
    app: str, kind: str, name: str, runtime: RuntimeDep, principal: CurrentPrincipal
) -> dict[str, str]:
    Apps(runtime, principal).delete_component(app, kind=kind, name=name)
    return {"deleted": f"{kind}/{name}"}


@router.put("/apps/{app}/access/{connection}")
def enable_access(
    app: str, connection: str, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ConnectionPublic:
    """Enable a connection for the app (a connection serves exactly one app)."""
    return Apps(runtime, principal).enable_access(app, connection)


@router.delete("/apps/{app}/access/{connection}")
def disable_access(
    app: str, connection: str, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ConnectionPublic:
    """Refused (409, naming the rule) while the app references it or once it was published."""
    return Apps(runtime, principal).disable_access(app, connection)


@router.get("/apps/{app}/users")
def list_app_users(
    app: str,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[AppUserPublic]:
    """The members the app is granted to, by e-mail (admins)."""
    found = Apps(runtime, principal).users_page(
        app, after=cursor_after(cursor, "email"), limit=limit
    )
    next_cursor = None if found.next_key is None else encode_cursor([found.next_key])
    return Page(items=found.items, next_cursor=next_cursor)


@router.put("/apps/{app}/users/{email}")
def grant_app(
    app: str, email: str, runtime: RuntimeDep, principal: CurrentPrincipal
) -> AppUserChange:
    """Make a member a user of the app."""
    changed = Apps(runtime, principal).grant(app, email)
    return AppUserChange(app=app, user=email, changed=changed)


@router.delete("/apps/{app}/users/{email}")
def ungrant_app(
    app: str, email: str, runtime: RuntimeDep, principal: CurrentPrincipal
) -> AppUserChange:
    changed = Apps(runtime, principal).ungrant(app, email)
    return AppUserChange(app=app, user=email, changed=changed)


# -- stage versions, packages, install ------------------------------------------------------------


@router.post("/apps/{app}/publish", status_code=status.HTTP_201_CREATED)
def publish_app(
    app: str, runtime: RuntimeDep, principal: CurrentPrincipal, body: PublishRequest | None = None
) -> AppVersionPublic:
    """Publish to stage: the selected components with every connection they reference, as the
    next numbered version."""
    return Apps(runtime, principal).publish(app, components=body.components if body else None)


@router.get("/apps/{app}/versions")
def list_versions(
    app: str,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[AppVersionPublic]:
    found = Apps(runtime, principal).versions_page(app, after=_number(cursor), limit=limit)
    next_cursor = None if found.next_key is None else encode_cursor([found.next_key])
    return Page(items=found.items, next_cursor=next_cursor)


def _number(cursor: str | None) -> int | None:
    """The version number a versions cursor names (its format: one integer)."""
    if not cursor:
        return None
    key = decode_cursor(cursor)
    if len(key) != 1 or not isinstance(key[0], int) or isinstance(key[0], bool):
        raise ValidationError("cursor", "must be a next_cursor value from a previous page")
    return key[0]


@router.get(
    "/apps/{app}/package",
    response_class=Response,
    responses={
        200: {
            "description": "The package file",
            "content": {PACKAGE_MEDIA_TYPE: {"schema": {"type": "object"}}},
        }
    },
)
def download_package(
    app: str,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    version: Annotated[
        int | None, Query(ge=1, description="A stage version (default: the newest).")
    ] = None,
) -> Response:
    """The package file of a stage version: components and connection definitions, never a
    credential or a system connection, with a SHA-256 digest."""
    package = Apps(runtime, principal).package(app, version=version)
    filename = package_filename(package)
    return Response(
        package,
        media_type=PACKAGE_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def package_filename(package: bytes) -> str:
    """`<app>-<version>.plugboard.json`, from the package's own app entry."""
    app = json.loads(package)["app"]
    return f"{app['link_name']}-{app['version']}.plugboard.json"


@router.post("/packages/install", openapi_extra=_PACKAGE_BODY)
async def install_package(
    request: Request, runtime: RuntimeDep, principal: CurrentPrincipal
) -> InstallReportPublic:
    """Install a package into this client workspace, or update the app it installed before.
    Its connections arrive unauthorized, to be authorized in production."""
    package = await request.body()
    return await run_in_threadpool(Apps(runtime, principal).install, package)


@router.post("/packages/import", openapi_extra=_PACKAGE_BODY)
async def import_package(
    request: Request, runtime: RuntimeDep, principal: CurrentPrincipal
) -> InstallReportPublic:
    """Import a package into this developer workspace as a new app to build on; link names in
    use here get `_copy` names and the app's references follow."""
    package = await request.body()
    return await run_in_threadpool(Apps(runtime, principal).import_package, package)


# -- app tokens, running -------------------------------------------------------------------------


@router.post("/apps/{app}/tokens", status_code=status.HTTP_201_CREATED)
def create_app_token(
    app: str, runtime: RuntimeDep, principal: CurrentPrincipal, body: AppTokenCreate | None = None
) -> AppTokenIssued:
    """A token app code calls Plugboard with, as the app. The secret is in this answer only."""
    return Apps(runtime, principal).create_token(app, name=body.name if body else "app")


@router.get("/apps/{app}/tokens")
def list_app_tokens(
    app: str,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[AppTokenPublic]:
    items, next_cursor = paginate(
        Apps(runtime, principal).tokens(app),
        lambda t: (t.created_at.isoformat(), t.id),
        cursor,
        limit,
    )
    return Page(items=items, next_cursor=next_cursor)


@router.delete("/apps/{app}/tokens/{token_id}")
def revoke_app_token(
    app: str, token_id: str, request: Request, runtime: RuntimeDep, principal: CurrentPrincipal
) -> AppTokenPublic:
    """Revoke an app token: refused from the next request on (this process forgets it now)."""
    revoked = Apps(runtime, principal).revoke_token(app, token_id)
    request.app.state.principal_cache.forget_token(revoked.id)
    return revoked


@router.put("/apps/{app}/system-connections/{service}")
def ensure_system_connection(
    app: str, service: str, response: Response, runtime: RuntimeDep, principal: CurrentPrincipal
) -> SystemConnectionPublic:
    """The workspace's system connection for a service a component of the app uses; made by
    the first call (201), found by the next ones (200)."""
    found = Apps(runtime, principal).system_connection(app, service)
    if found.created:
        response.status_code = status.HTTP_201_CREATED
    return found


@router.get("/apps/{app}/panel")
def app_panel(
    app: str,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    environment: EnvironmentQuery = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[PanelEntryPublic]:
    """The app's connections panel for you: status per environment, the account, whether you
    may authorize, and who must act when it is not connected."""
    entries = Apps(runtime, principal).panel(app, environment=_value(environment))
    items, next_cursor = paginate(entries, lambda e: (e.link_name,), cursor, limit)
    return Page(items=items, next_cursor=next_cursor)


def _value(environment: Environment | None) -> str | None:
    return None if environment is None else environment.value
