"""/apps/{app}/datasources, /datasources and /syncs: datasources of an app, their configuration,
syncs and the records they keep (SPEC §8).

Every route is one call to the `Datasources` usecase service; its records are the response
models. A sync asked for here runs in the background (in-process on SQLite, on a worker on
PostgreSQL): poll ``GET /syncs/{id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from plugboard.domain.models import Environment
from plugboard.records.datasources import (
    DatasourcePublic,
    RecordPage,
    SyncPublic,
    SyncRequested,
)
from plugboard.server.deps import CurrentPrincipal, RuntimeDep
from plugboard.usecases.datasource_service import Datasources
from plugboard.usecases.datasources import RECORDS_PAGE_MAX

router = APIRouter(tags=["datasources"])
EnvironmentQuery = Annotated[
    Environment | None,
    Query(
        description="development, stage or production (default: development where apps are "
        "built, production where they are installed)."
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasourceCreate(_Body):
    name: str = Field(description="The app's `datasource` component it belongs to.")
    connection: str = Field(description="Link name of the connection whose service it reads.")
    module: str = Field(description="A module the connection's service declares.")


class DatasourceConfig(_Body):
    values: dict[str, str] = Field(description="The module's config fields, by key.")


class SyncAsk(_Body):
    as_user: str | None = Field(
        default=None,
        description="The member it runs for (an app token or an acts-for-users token); "
        "default: the caller, or no user (the primary account) for an app token.",
    )


def _env(environment: Environment | None) -> str | None:
    return None if environment is None else environment.value


@router.get("/apps/{app}/datasources")
def list_datasources(
    app: str, runtime: RuntimeDep, principal: CurrentPrincipal, environment: EnvironmentQuery = None
) -> list[DatasourcePublic]:
    """The app's datasources in one environment, with their last sync."""
    return Datasources(runtime, principal).list(app, environment=_env(environment))


@router.post("/apps/{app}/datasources", status_code=status.HTTP_201_CREATED)
def create_datasource(
    app: str,
    body: DatasourceCreate,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    environment: EnvironmentQuery = None,
) -> DatasourcePublic:
    """A datasource on the app's `datasource` component `name` (written in development; it must
    be published or installed elsewhere)."""
    return Datasources(runtime, principal).create(
        app, name=body.name, connection=body.connection, module=body.module,
        environment=_env(environment),
    )  # fmt: skip


@router.get("/apps/{app}/datasources/{name}")
def show_datasource(
    app: str,
    name: str,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    environment: EnvironmentQuery = None,
) -> DatasourcePublic:
    return Datasources(runtime, principal).get(app, name, environment=_env(environment))


@router.put("/apps/{app}/datasources/{name}/config")
def configure_datasource(
    app: str,
    name: str,
    body: DatasourceConfig,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    environment: EnvironmentQuery = None,
) -> DatasourcePublic:
    """Configure (or reconfigure) the datasource; refused (409 naming the rule) unless the
    connection is authorized, has app access, the datasource is enabled and nothing is
    deprecated."""
    return Datasources(runtime, principal).configure(
        app, name, body.values, environment=_env(environment)
    )


@router.post("/apps/{app}/datasources/{name}/enable")
def enable_datasource(
    app: str,
    name: str,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    environment: EnvironmentQuery = None,
) -> DatasourcePublic:
    return Datasources(runtime, principal).enable(app, name, environment=_env(environment))


@router.post("/apps/{app}/datasources/{name}/disable")
def disable_datasource(
    app: str,
    name: str,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    environment: EnvironmentQuery = None,
) -> DatasourcePublic:
    return Datasources(runtime, principal).disable(app, name, environment=_env(environment))


@router.delete("/apps/{app}/datasources/{name}")
def delete_datasource(
    app: str,
    name: str,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    environment: EnvironmentQuery = None,
) -> dict[str, str]:
    """Forget the datasource, its syncs and its records (the component stays)."""
    Datasources(runtime, principal).delete(app, name, environment=_env(environment))
    return {"deleted": name}


@router.post("/datasources/{datasource_id}/syncs", status_code=status.HTTP_202_ACCEPTED)
def request_sync(
    datasource_id: str,
    response: Response,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    body: SyncAsk | None = None,
) -> SyncRequested:
    """Ask for a sync (202). When one is queued or ongoing already it is answered instead (200,
    `started` false); a member gets one per datasource per 24 hours (429)."""
    asked = Datasources(runtime, principal).sync(
        datasource_id, as_user=body.as_user if body else None
    )
    if not asked.started:
        response.status_code = status.HTTP_200_OK
    return asked


@router.get("/syncs/{sync_id}")
def show_sync(sync_id: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> SyncPublic:
    """A sync's state and progress (pages, records seen and changed)."""
    return Datasources(runtime, principal).get_sync(sync_id)


@router.get("/datasources/{datasource_id}/records")
def list_records(
    datasource_id: str,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=RECORDS_PAGE_MAX)] = 100,
) -> RecordPage:
    """The records kept for the datasource, by record id (keyset paging)."""
    return Datasources(runtime, principal).records(datasource_id, after=cursor, limit=limit)
