"""What a connection's details show, and its references: each read in pages by the store, so
the details do not grow with the connection's users (SPEC §3)."""

from __future__ import annotations

from dataclasses import dataclass

from plugboard.domain.connections import AuthorizationSummary, Connection, Reference
from plugboard.domain.models import AuthorizationStatus, ConnectionLevel
from plugboard.domain.permissions import Action, allowed
from plugboard.domain.principal import Principal
from plugboard.errors import NotFound
from plugboard.store.authorizations import AuthorizationKey, Owners, listing_key
from plugboard.store.unit import Unit
from plugboard.usecases.connections import get_connection, status_of_connection
from plugboard.usecases.paging import fetch_one_more, keyset_page
from plugboard.usecases.services import ServiceEntry, resolve_service

# How many authorizations a connection's details show: the first page of its list; the rest
# are paged with the list (GET /connections/{link}/authorizations) from `next_authorization`.
DETAILS_AUTHORIZATIONS = 50


@dataclass(frozen=True, slots=True)
class ConnectionDetails:
    connection: Connection
    service: ServiceEntry | None  # None once its custom service was deleted
    authorizations: list[AuthorizationSummary]  # the first page of those the viewer may see
    references: list[Reference]
    status: AuthorizationStatus  # for the viewer: see connection_status
    authorization_count: int  # every authorization the viewer may see
    next_authorization: AuthorizationKey | None  # the list's key after the page; None: all shown


def show_connection(
    unit: Unit, actor: Principal, link_name: str, *, workspace: str | None = None
) -> ConnectionDetails:
    connection = get_connection(unit, actor, link_name, workspace=workspace)
    try:
        service: ServiceEntry | None = resolve_service(
            unit, connection.workspace_id, connection.service_link_name
        )
    except NotFound:
        service = None
    # Reads what it shows: the viewer's status (their own rows of a user-level connection), the
    # first page of the list in its order (a `user` sees only their own) and a count, so the
    # details do not grow with the connection's users.
    owner = Owners.ANY if allowed(actor, Action.VIEW_ALL_CONNECTIONS) else actor.user_id
    rows = unit.authorizations.page(
        connection.id, owner=owner, limit=fetch_one_more(DETAILS_AUTHORIZATIONS)
    )
    page = keyset_page(rows, DETAILS_AUTHORIZATIONS, listing_key)
    return ConnectionDetails(
        connection, service, [r.summary for r in page.items],
        unit.connections.references(connection.id), status_of_connection(unit, actor, connection),
        authorization_count=unit.authorizations.count(connection.id, owner=owner),
        next_authorization=page.next_key,
    )  # fmt: skip


def own_authorizations(
    unit: Unit, actor: Principal, link_name: str, *, workspace: str | None = None
) -> list[AuthorizationSummary]:
    """The authorizations that serve the viewer: on a user-level connection their own, on
    another the shared ones (what the console's slots show)."""
    connection = get_connection(unit, actor, link_name, workspace=workspace)
    owner = actor.user_id if connection.level is ConnectionLevel.USER else None
    return [r.summary for r in unit.authorizations.page(connection.id, owner=owner)]


# A connection's references are ordered by (app link name, component type, name, environment).
ReferenceKey = tuple[str, str, str, str]


def list_references(
    unit: Unit,
    actor: Principal,
    link_name: str,
    *,
    workspace: str | None = None,
    after: ReferenceKey | None = None,
    limit: int | None = None,
) -> list[Reference]:
    """The components using a connection the actor may see, paged by the store."""
    connection = get_connection(unit, actor, link_name, workspace=workspace)
    return unit.connections.references(connection.id, after=after, limit=limit)
