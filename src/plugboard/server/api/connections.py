"""/connections"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

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
    cursor_texts,
    encode_cursor,
)
from plugboard.server.schemas import ConnectionCreate, ConnectionUpdate
from plugboard.usecases.connection_service import Connections

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
    found = Connections(runtime, principal).page(
        service=service, level=level, search=search, after=cursor_after(cursor, "link_name"),
        limit=limit,
    )  # fmt: skip
    cursor_next = encode_cursor([found.next_after]) if found.next_after else None
    return Page(items=found.items, next_cursor=cursor_next)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_connection(
    body: ConnectionCreate, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ConnectionPublic:
    return Connections(runtime, principal).create(
        service=body.service, name=body.name, link_name=body.link_name, scopes=body.scopes,
        all_scopes=body.all_scopes, level=body.level, per_environment=body.per_environment,
        params=body.params,
    )  # fmt: skip


@router.get("/{link_name}")
def show_connection(
    link_name: str, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ConnectionDetailsPublic:
    return Connections(runtime, principal).get(link_name)


@router.patch("/{link_name}")
def edit_connection(
    link_name: str, body: ConnectionUpdate, runtime: RuntimeDep, principal: CurrentPrincipal
) -> ConnectionEdited:
    """Rename, or change scopes (existing authorizations then need re-authorizing)."""
    return Connections(runtime, principal).edit(
        link_name, name=body.name, scopes=body.scopes, all_scopes=body.all_scopes
    )


@router.delete("/{link_name}")
def delete_connection(
    link_name: str, runtime: RuntimeDep, principal: CurrentPrincipal
) -> dict[str, str]:
    """Delete an unreferenced connection; 409 listing the references otherwise."""
    Connections(runtime, principal).delete(link_name)
    return {"deleted": link_name}


@router.get("/{link_name}/references")
def list_references(
    link_name: str,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ReferencePublic]:
    key = cursor_texts(cursor, 4)
    after = None if key is None else (key[0], key[1], key[2], key[3])
    found = Connections(runtime, principal).references_page(link_name, after=after, limit=limit)
    next_cursor = None if found.next_key is None else encode_cursor(found.next_key)
    return Page(items=found.items, next_cursor=next_cursor)
