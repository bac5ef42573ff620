"""/connections"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from plugboard.domain.models import AuthorizationStatus
from plugboard.records import (
    ConnectionDetailsPublic,
    ConnectionEdited,
    ConnectionPublic,
    ReferencePublic,
)
from plugboard.server.deps import CurrentPrincipal, RuntimeDep
from plugboard.server.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    cursor_after,
    encode_cursor,
    paginate,
)
from plugboard.server.schemas import ConnectionCreate, ConnectionUpdate
from plugboard.usecases import connections

router = APIRouter(prefix="/connections", tags=["connections"])
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.get("")
def list_connections(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    service: str | None = None,
    level: str | None = None,
    search: Annotated[str | None, Query(description="Text in the name or link name.")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ConnectionPublic]:
    after = cursor_after(cursor, "link_name")
    with runtime.unit(write=False) as unit:
        found = connections.list_connections_with_status(
            unit, principal, service=service, level=level, search=search, after=after,
            limit=limit + 1,
        )  # fmt: skip
    items = [ConnectionPublic.of(c, current) for c, current in found[:limit]]
    more = len(found) > limit
    return Page(items=items, next_cursor=encode_cursor([items[-1].link_name]) if more else None)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_connection(
    body: ConnectionCreate, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ConnectionPublic:
    with runtime.unit() as unit:
        connection = connections.create_connection(
            unit, principal, service=body.service, name=body.name, link_name=body.link_name,
            scopes=body.scopes, all_scopes=body.all_scopes, level=body.level,
            per_environment=body.per_environment, params=body.params,
        )  # fmt: skip
    return ConnectionPublic.of(connection, AuthorizationStatus.NOT_CONNECTED)  # none yet


@router.get("/{link_name}")
def show_connection(
    link_name: str, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ConnectionDetailsPublic:
    with runtime.unit(write=False) as unit:
        details = connections.show_connection(unit, principal, link_name)
    return ConnectionDetailsPublic.of_details(
        details.connection,
        details.status,
        service_missing=details.service is None,
        authorizations=details.authorizations,
        references=details.references,
    )


@router.patch("/{link_name}")
def edit_connection(
    link_name: str, body: ConnectionUpdate, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ConnectionEdited:
    """Rename, or change scopes (existing authorizations then need re-authorizing)."""
    with runtime.unit() as unit:
        connection, reauth = connections.edit_connection(
            unit, principal, link_name, name=body.name, scopes=body.scopes,
            all_scopes=body.all_scopes,
        )  # fmt: skip
        current = connections.status_of_connection(unit, principal, connection)
    return ConnectionEdited(
        connection=ConnectionPublic.of(connection, current), needs_reauth=reauth
    )


@router.delete("/{link_name}")
def delete_connection(
    link_name: str, runtime: RuntimeDep, principal: CurrentPrincipal
) -> dict[str, str]:
    """Delete an unreferenced connection; 409 listing the references otherwise."""
    with runtime.unit() as unit:
        connections.delete_connection(unit, principal, link_name)
    return {"deleted": link_name}


@router.get("/{link_name}/references")
def list_references(
    link_name: str,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ReferencePublic]:
    with runtime.unit(write=False) as unit:
        references = connections.list_references(unit, principal, link_name)
    items, next_cursor = paginate(
        [ReferencePublic.of(r) for r in references],
        lambda r: (r.app, r.component_type, r.component_name, r.environment),
        cursor,
        limit,
    )
    return Page(items=items, next_cursor=next_cursor)
