"""/services: the catalog and custom services."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status

from plugboard.records import ServiceClientPublic
from plugboard.server.deps import CurrentPrincipal, RuntimeDep
from plugboard.server.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from plugboard.server.schemas import ServiceChangeResult, ServiceClientSet, ServicePublic
from plugboard.usecases import service_clients, services
from plugboard.usecases.services import ServiceEntry

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
    with runtime.unit(write=False) as unit:
        entries = services.list_services(
            unit, principal, category=category, search=search, custom_only=custom
        )
    items, next_cursor = paginate(
        [ServicePublic.of(e) for e in entries], lambda s: (s.link_name,), cursor, limit
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{link_name}")
def show_service(link_name: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> ServicePublic:
    with runtime.unit(write=False) as unit:
        return ServicePublic.of(services.show_service(unit, principal, link_name))


@router.post("", status_code=status.HTTP_201_CREATED)
def create_service(
    definition: ServiceFile, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ServicePublic:
    """Create a custom service. JSON is YAML, so the usecase parses it like a service file."""
    with runtime.unit() as unit:
        service = services.create_custom_service(
            unit,
            principal,
            json.dumps(definition),
            http_hosts=runtime.settings.allow_http_host_entries,
        )
    return ServicePublic.of(ServiceEntry(service.definition, builtin=False, custom=service))


@router.put("/{link_name}")
def edit_service(
    link_name: str, definition: ServiceFile, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ServiceChangeResult:
    """Edit a custom service (creator only); its connections' authorizations become
    not_connected (their credentials are deleted). `revoked_authorizations` counts them."""
    with runtime.unit() as unit:
        service, revoked = services.edit_custom_service(
            unit,
            principal,
            link_name,
            json.dumps(definition),
            http_hosts=runtime.settings.allow_http_host_entries,
        )
    return ServiceChangeResult(
        service=ServicePublic.of(ServiceEntry(service.definition, builtin=False, custom=service)),
        revoked_authorizations=revoked,
    )


@router.delete("/{link_name}")
def delete_service(
    link_name: str, runtime: RuntimeDep, principal: CurrentPrincipal
) -> dict[str, int | str]:
    with runtime.unit() as unit:
        revoked = services.delete_custom_service(unit, principal, link_name)
    return {"deleted": link_name, "revoked_authorizations": revoked}


@router.put("/{link_name}/client")
def set_service_client(
    link_name: str, body: ServiceClientSet, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ServiceClientPublic:
    """Register the OAuth client (id, and secret) this workspace uses for a service. Register
    an app with the provider first, with redirect URI <base URL>/oauth/callback."""
    with runtime.unit() as unit:
        registration = service_clients.set_service_client(
            unit, principal, service=link_name, client_id=body.client_id,
            client_secret=body.client_secret,
        )  # fmt: skip
    return ServiceClientPublic(
        service=registration.service_link_name,
        client_id=registration.client_id,
        has_client_secret=registration.client_secret is not None,
        modified_at=registration.modified_at,
    )
