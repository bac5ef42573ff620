"""/services: the catalog and custom services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status

from plugboard.records import ServiceChangeResult, ServiceClientPublic, ServicePublic
from plugboard.server.deps import CurrentPrincipal, RuntimeDep
from plugboard.server.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    cursor_after,
    encode_cursor,
)
from plugboard.server.schemas import ServiceClientSet
from plugboard.usecases.service_catalog import Services

router = APIRouter(prefix="/services", tags=["services"])
ServiceFile = Annotated[
    dict[str, Any],
    Body(description="A service definition: the same fields as a service file (docs/services.md)."),
]


@router.get("")
def list_services(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    category: str | None = None,
    search: Annotated[
        str | None, Query(description="Text in name, link name, description.")
    ] = None,
    custom: Annotated[bool, Query(description="Only custom services.")] = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[ServicePublic]:
    found = Services(runtime, principal).page(
        category=category, search=search, custom=custom,
        after=cursor_after(cursor, "link_name"), limit=limit,
    )  # fmt: skip
    next_cursor = None if found.next_key is None else encode_cursor([found.next_key])
    return Page(items=found.items, next_cursor=next_cursor)


@router.get("/{link_name}")
def show_service(link_name: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> ServicePublic:
    return Services(runtime, principal).get(link_name)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_service(
    definition: ServiceFile, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ServicePublic:
    """Create a custom service. JSON is YAML, so the usecase parses it like a service file."""
    return Services(runtime, principal).create(definition)


@router.put("/{link_name}")
def edit_service(
    link_name: str, definition: ServiceFile, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ServiceChangeResult:
    """Edit a custom service (creator only); its connections' authorizations become
    not_connected (their credentials are deleted). `revoked_authorizations` counts them."""
    return Services(runtime, principal).edit(link_name, definition)


@router.delete("/{link_name}")
def delete_service(
    link_name: str, runtime: RuntimeDep, principal: CurrentPrincipal
) -> dict[str, int | str]:
    revoked = Services(runtime, principal).delete(link_name)
    return {"deleted": link_name, "revoked_authorizations": revoked}


@router.put("/{link_name}/client")
def set_service_client(
    link_name: str, body: ServiceClientSet, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ServiceClientPublic:
    """Register the OAuth client (id, and secret) this workspace uses for a service. Register
    an app with the provider first, with redirect URI <base URL>/oauth/callback."""
    return Services(runtime, principal).set_client(link_name, body.client_id, body.client_secret)
